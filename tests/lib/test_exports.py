#!/usr/bin/env python3
"""The shared library's ABI is what lib/pxeclass.h says it is: it exports
exactly the functions marked PXC_PUBLIC there (the library is built with
hidden visibility), and its soname carries PXC_ABI.

  PXC_LIBRARY=build/lib/libpxeclass.so PXC_HEADER=lib/pxeclass.h test_exports.py
"""

import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "tools"))
from pxelab import testing  # noqa: E402

LIBRARY = os.environ.get("PXC_LIBRARY", "")
HEADER = os.environ.get("PXC_HEADER", "")


def header_text():
    """The public header, comments and preprocessor lines removed."""
    with open(HEADER) as f:
        text = f.read()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"^\s*#(?:[^\n]*\\\n)*[^\n]*$", " ", text, flags=re.M)


def declared_functions():
    """Names of the functions the header marks PXC_PUBLIC."""
    names = set()
    for decl in re.findall(r"PXC_PUBLIC\b([^;{]*?)\(", header_text()):
        names.add(re.findall(r"\w+", decl)[-1])
    return names


def exported_symbols():
    """(type, name) of every symbol the shared library exports, but those
    of the compiler's coverage runtime, which a --coverage build links in
    with default visibility (libgcov's own, named by the libgcov.a the
    compiler uses)."""
    out = subprocess.run(["nm", "-D", "--defined-only", LIBRARY],
                         capture_output=True, text=True, check=True).stdout
    symbols = [tuple(line.split()[1:]) for line in out.splitlines()
               if len(line.split()) == 3]
    if not any(name.startswith("__gcov_") for _, name in symbols):
        return symbols
    gcov = subprocess.run(["gcc", "-print-file-name=libgcov.a"],
                          capture_output=True, text=True,
                          check=True).stdout.strip()
    out = subprocess.run(["nm", "-g", "--defined-only", gcov],
                         capture_output=True, text=True, check=True).stdout
    runtime = {line.split()[2] for line in out.splitlines()
               if len(line.split()) == 3}
    return [(kind, name) for kind, name in symbols if name not in runtime]


def exported_functions():
    """Names of the functions the shared library exports."""
    return {name for kind, name in exported_symbols() if kind in "TtWi"}


def soname():
    """The DT_SONAME of the shared library."""
    out = subprocess.run(["objdump", "-p", LIBRARY], capture_output=True,
                         text=True, check=True).stdout
    match = re.search(r"^\s*SONAME\s+(\S+)", out, re.M)
    return match.group(1) if match else None


class Exports(unittest.TestCase):
    def test_exports_are_the_public_functions(self):
        declared = declared_functions()
        self.assertGreater(len(declared), 40, "the header parse found too little")
        self.assertEqual(exported_functions(), declared)

    def test_no_data_is_exported(self):
        data = [name for kind, name in exported_symbols() if kind in "BDGRSV"]
        self.assertEqual(data, [])

    def test_soname_carries_the_abi(self):
        with open(HEADER) as f:
            abi = re.search(r"#define\s+PXC_ABI\s+(\d+)", f.read()).group(1)
        self.assertEqual(soname(), "libpxeclass.so.%s" % abi)


if __name__ == "__main__":
    if not LIBRARY or not HEADER:
        sys.exit("set PXC_LIBRARY and PXC_HEADER")
    testing.main()
