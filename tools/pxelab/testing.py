"""What the Python test files share: whether namespaces can be built, the
skip that says so, and how a test file ends.

A skipped test proves nothing, so a skip fails the file: every
prerequisite of the test command is something tools/setup installs or
the build provides.  Only a user who asks for it (PXC_ALLOW_SKIP=1, e.g.
on a machine without root) gets skips through, listed loudly; a file
whose every test was then skipped exits 77, meson's "skipped".
"""

import os
import shutil
import sys
import tempfile
import unittest

# Network namespaces need root and iproute2's `ip`.
CAN_USE_NAMESPACES = os.geteuid() == 0 and shutil.which("ip") is not None
needs_namespaces = unittest.skipUnless(CAN_USE_NAMESPACES,
                                       "needs root and iproute2 (network namespaces)")

class TempDirTest(unittest.TestCase):
    """A test case with a fresh directory per test (self.tmp), removed
    after it, and write() to put a file in it."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp()

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def write(self, name, data):
        """Write DATA (text or bytes) to NAME in the test's directory;
        returns its path."""
        path = os.path.join(self.tmp, name)
        with open(path, "wb" if isinstance(data, bytes) else "w") as f:
            f.write(data)
        return path


# meson's exit status for a skipped test.
EXIT_SKIPPED = 77


def executable(path):
    """True if PATH (maybe empty or None) names a program we may run."""
    return bool(path) and os.access(path, os.X_OK)


def skips_allowed():
    """True if the user asked for skips to pass (PXC_ALLOW_SKIP=1)."""
    return os.environ.get("PXC_ALLOW_SKIP") == "1"


def announce_skips(what, reasons):
    """Print, to stderr and hard to miss, WHAT was skipped and why
    (REASONS: lines), and whether that fails the run."""
    verdict = ("allowed by PXC_ALLOW_SKIP=1: these prove nothing on this machine"
               if skips_allowed() else
               "this fails the test (set PXC_ALLOW_SKIP=1 to let skips through)")
    bar = "!" * 72
    lines = [bar, "SKIPPED: %s -- %s" % (what, verdict)]
    lines += ["  " + reason for reason in reasons] + [bar]
    print("\n".join(lines), file=sys.stderr, flush=True)


def skip_file(reason):
    """End a script that cannot run here (a benchmark without root):
    exit 77 if skips are allowed, 1 otherwise, saying why."""
    announce_skips(os.path.basename(sys.argv[0]), [reason])
    sys.exit(EXIT_SKIPPED if skips_allowed() else 1)


def main():
    """Run the tests of the running script (__main__).  Exit 1 on a
    failure or on any skipped test; with PXC_ALLOW_SKIP=1 a skip passes,
    and a file whose every test was skipped exits 77 (meson: skipped)."""
    result = unittest.main(module="__main__", exit=False, verbosity=2).result
    if not result.wasSuccessful():
        sys.exit(1)
    if not result.skipped:
        sys.exit(0)
    announce_skips("%d of %d tests of %s" % (len(result.skipped), result.testsRun,
                                            os.path.basename(sys.argv[0])),
                   ["%s: %s" % (test.id(), reason) for test, reason in result.skipped])
    if not skips_allowed():
        sys.exit(1)
    sys.exit(EXIT_SKIPPED if len(result.skipped) == result.testsRun else 0)
