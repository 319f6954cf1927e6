#!/usr/bin/env python3
"""The Debian suite's runner (test_autopkgtest.py) on its own, without a
testbed: how it reads autopkgtest's summaries, what it calls a failure,
and the copy of autopkgtest-virt-qemu it runs."""
import importlib.util
import os
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools"))

from pxelab import testing  # noqa: E402

SPEC = importlib.util.spec_from_file_location(
    "test_autopkgtest", os.path.join(HERE, "test_autopkgtest.py"))
runner = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(runner)

TESTS = ["compile-time-options", "compile-time-options+lua",
         "get-address+query-dns+check-utils", "pxeclass"]


class Summary(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="pxc-runner-")
        self.path = os.path.join(self.tmp.name, "summary")

    def tearDown(self):
        self.tmp.cleanup()

    def summary(self, text):
        with open(self.path, "w") as f:
            f.write(text)
        return runner.read_summary(self.path, TESTS)

    def test_results(self):
        self.assertEqual(
            self.summary("compile-time-options PASS\n"
                         "compile-time-options+lua FAIL non-zero exit status 1\n"
                         "pxeclass             SKIP Test needs root\n"),
            {"compile-time-options": "PASS", "compile-time-options+lua": "FAIL",
             "pxeclass": "SKIP"})

    def test_testbed_failure_is_no_result(self):
        """The line autopkgtest writes when a boot fails names no test
        (as run on 2026-12-01, when it made the suite fail on "testbed")."""
        self.assertEqual(
            self.summary("compile-time-options PASS\n"
                         "testbed failure: unexpected eof from the testbed\n"),
            {"compile-time-options": "PASS"})

    def test_missing_summary(self):
        self.assertEqual(runner.read_summary(self.path, TESTS), {})


class Table(unittest.TestCase):
    def test_side_by_side(self):
        lines = runner.table({"a": "PASS", "pxeclass": "PASS"}, {"a": "PASS"})
        self.assertEqual(lines[0].split(), ["test", "stock", "patched"])
        self.assertEqual(lines[1].split(), ["a", "PASS", "PASS"])
        self.assertEqual(lines[2].split(), ["pxeclass", "-", "PASS"])

    def test_stock_not_run(self):
        lines = runner.table({"a": "PASS"}, None)
        self.assertEqual(lines[1].split(), ["a", "(not", "run)", "PASS"])


class VirtServer(unittest.TestCase):
    def test_fixes_in_the_copy(self):
        """Where the installed virt server has the racy prompt test or the
        30 s timezone wait, the copy has the fixed line instead, and
        nothing else differs; with neither, the installed one is used."""
        with open(runner.VIRT_QEMU) as f:
            installed = f.read()
        with tempfile.TemporaryDirectory(prefix="pxc-runner-") as tmp:
            path = runner.virt_server(tmp)
            with open(path) as f:
                text = f.read()
        expected = installed
        for old, new in (runner.PROMPT_RACE, runner.TZ_WAIT):
            self.assertNotIn(old, text)
            self.assertNotEqual(old, new)
            expected = expected.replace(old, new)
        self.assertEqual(text, expected)
        self.assertEqual(path == runner.VIRT_QEMU, expected == installed)

    def test_timezone_wait_is_the_boot_timeout(self):
        self.assertIn("prompt, %d)" % runner.BOOT_TIMEOUT, runner.TZ_WAIT[1])


if __name__ == "__main__":
    testing.main()
