"""What the Python test files share: whether namespaces can be built, the
skip that says so, and how a test file ends.

meson reads exit status 77 as "skipped": a test file whose every test was
skipped (no root, no binary) must say so instead of passing.
"""

import os
import shutil
import sys
import unittest

# Network namespaces need root and iproute2's `ip`.
CAN_USE_NAMESPACES = os.geteuid() == 0 and shutil.which("ip") is not None
needs_namespaces = unittest.skipUnless(CAN_USE_NAMESPACES,
                                       "needs root and iproute2 (network namespaces)")


def executable(path):
    """True if PATH (maybe empty or None) names a program we may run."""
    return bool(path) and os.access(path, os.X_OK)


def main():
    """Run the tests of the running script (__main__); exit 77 (meson:
    skipped) when every test was skipped, 1 on a failure, 0 otherwise."""
    result = unittest.main(module="__main__", exit=False, verbosity=2).result
    if result.testsRun and len(result.skipped) == result.testsRun:
        sys.exit(77)
    sys.exit(0 if result.wasSuccessful() else 1)
