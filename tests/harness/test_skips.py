#!/usr/bin/env python3
"""A skipped test fails the test command: tests/meson-test (what
tests/run-all runs every meson test through) and pxelab.testing.main
(how every Python test file ends), on a tiny meson project whose tests
skip in each way a real one can.

  meson's own exit status is checked too: that it is 0 for a test that
  exits 77 is the reason tests/meson-test exists.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
MESON_TEST = os.path.join(ROOT, "tests", "meson-test")
sys.path.insert(0, os.path.join(ROOT, "tools"))

from pxelab import testing  # noqa: E402

# name -> the test file's text.  Files ending with testing.main() are the
# Python test files of this project in small.
UNITTEST_HEAD = "import unittest\nfrom pxelab import testing\n\n"
TESTS = {
    "passes": UNITTEST_HEAD + """
class T(unittest.TestCase):
    def test_a(self):
        self.assertTrue(True)

testing.main()
""",
    "some-skipped": UNITTEST_HEAD + """
class T(unittest.TestCase):
    def test_runs(self):
        self.assertTrue(True)

    @unittest.skip("needs a thing this machine lacks")
    def test_skipped(self):
        self.fail("never runs")

testing.main()
""",
    "all-skipped": UNITTEST_HEAD + """
@testing.needs_namespaces
@unittest.skipUnless(False, "forced: no namespaces here")
class T(unittest.TestCase):
    def test_a(self):
        self.fail("never runs")

testing.main()
""",
    "fails": UNITTEST_HEAD + """
class T(unittest.TestCase):
    def test_a(self):
        self.fail("a real failure")

testing.main()
""",
    # a script that cannot run here: bench_dnsmasq.py without root
    "skip-file": "from pxelab import testing\ntesting.skip_file('forced: not root')\n",
    # any other program meson reads as skipped (exit status 77)
    "exit-77": "import sys\nsys.exit(77)\n",
}
TAP_TEST = "print('1..2')\nprint('ok 1 - works')\nprint('ok 2 - parser # SKIP no parser here')\n"

MESON_BUILD = """project('skips', meson_version : '>=0.57')
python3 = find_program('python3')
env = {'PYTHONPATH' : '%s'}
foreach name : %s
  test(name, python3, args : [files(name + '.py')], env : env)
endforeach
test('tap-skip', python3, args : [files('tap-skip.py')], protocol : 'tap')
"""


class SkipsFailTheRun(unittest.TestCase):
    """tests/meson-test on a project whose tests skip: each kind of skip
    fails it, PXC_ALLOW_SKIP=1 lets them through loudly."""

    @classmethod
    def setUpClass(cls):
        cls.top = tempfile.mkdtemp(prefix="pxc-skips-")
        source = os.path.join(cls.top, "src")
        os.mkdir(source)
        for name, text in dict(TESTS, **{"tap-skip": TAP_TEST}).items():
            with open(os.path.join(source, name + ".py"), "w") as f:
                f.write(text)
        with open(os.path.join(source, "meson.build"), "w") as f:
            f.write(MESON_BUILD % (os.path.join(ROOT, "tools"), list(TESTS)))
        cls.build = os.path.join(cls.top, "build")
        subprocess.run(["meson", "setup", cls.build, source], check=True,
                       capture_output=True, env=cls.env(False))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.top, ignore_errors=True)

    @staticmethod
    def env(allow):
        """The environment of a run, PXC_ALLOW_SKIP=1 if ALLOW, else unset."""
        env = {k: v for k, v in os.environ.items() if k != "PXC_ALLOW_SKIP"}
        if allow:
            env["PXC_ALLOW_SKIP"] = "1"
        return env

    def run_tests(self, *names, allow=False, tool=(MESON_TEST,)):
        """(exit status, output) of TOOL on the tests NAMES of the project."""
        proc = subprocess.run([*tool, self.build, "--print-errorlogs", *names],
                              capture_output=True, text=True, env=self.env(allow))
        return proc.returncode, proc.stdout + proc.stderr

    def assert_run(self, names, status, allow=False, listed=()):
        """tests/meson-test on NAMES exits STATUS and lists LISTED as skipped."""
        got, output = self.run_tests(*names, allow=allow)
        self.assertEqual(got, status, output)
        for name in listed:
            self.assertRegex(output, r"(?m)^  %s: " % name, output)
        if listed:
            self.assertIn("SKIPPED in", output)
        return output

    def test_meson_alone_passes_a_test_that_exits_77(self):
        # the defect: meson exits 0 and counts it as skipped
        status, output = self.run_tests("exit-77", tool=("meson", "test", "-C"))
        self.assertEqual(status, 0, output)
        self.assertRegex(output, r"Skipped:\s+1")

    def test_a_clean_run_passes(self):
        output = self.assert_run(["passes"], 0)
        self.assertIn("none skipped", output)

    def test_a_test_exiting_77_fails_the_run(self):
        self.assert_run(["passes", "exit-77"], 1, listed=["exit-77"])

    def test_a_python_file_whose_tests_all_skip_fails_the_run(self):
        output = self.assert_run(["all-skipped"], 1)
        self.assertIn("forced: no namespaces here", output)

    def test_one_skipped_test_of_a_file_fails_the_run(self):
        output = self.assert_run(["some-skipped"], 1)
        self.assertIn("needs a thing this machine lacks", output)

    def test_a_script_that_cannot_run_fails_the_run(self):
        output = self.assert_run(["skip-file"], 1)
        self.assertIn("forced: not root", output)

    def test_a_tap_test_skipping_a_part_fails_the_run(self):
        self.assert_run(["tap-skip"], 1, listed=["tap-skip"])

    def test_a_failure_stays_a_failure_when_skips_are_allowed(self):
        self.assert_run(["fails"], 1, allow=True)

    def test_allowed_skips_are_listed_and_exit_3(self):
        output = self.assert_run(
            ["passes", "some-skipped", "all-skipped", "skip-file", "exit-77", "tap-skip"],
            3, allow=True,
            listed=["some-skipped", "all-skipped", "skip-file", "exit-77", "tap-skip"])
        self.assertIn("allowed by PXC_ALLOW_SKIP=1", output)
        self.assertNotRegex(output, r"(?m)^  passes: ")

    def test_allowed_whole_file_skips_are_meson_skips(self):
        # with PXC_ALLOW_SKIP=1 a file of only skips exits 77, one with a
        # test run exits 0: meson then shows what ran
        status, output = self.run_tests("all-skipped", "skip-file", "some-skipped",
                                        allow=True, tool=("meson", "test", "-C"))
        self.assertEqual(status, 0, output)
        self.assertRegex(output, r"Skipped:\s+2")
        self.assertRegex(output, r"Ok:\s+1")

    def test_the_log_read_is_the_runs_own(self):
        # a skip in an earlier run's log does not fail a clean run
        self.assert_run(["exit-77"], 1)
        self.assert_run(["passes"], 0)

    def test_options_that_move_the_log_are_refused(self):
        status, output = self.run_tests("passes", "--setup=other")
        self.assertEqual(status, 2, output)


if __name__ == "__main__":
    testing.main()
