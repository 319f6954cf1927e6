#!/usr/bin/env python3
"""The series changes at most BUDGET lines of dnsmasq VERSION (TAP).

  check_series_budget.py BUILD_DNSMASQ VERSION

Counts the added and removed lines of every patch the series applies to
VERSION (read through build-dnsmasq, the one reader of the series'
format); issue 8 gives the whole series 80 changed lines per version.
The hooks in dnsmasq-hooks/ are files of our own, not counted.
"""

import importlib.machinery
import importlib.util
import os
import sys

BUDGET = 80


def load_build_dnsmasq(path):
    """build-dnsmasq as a module (it has no .py suffix)."""
    loader = importlib.machinery.SourceFileLoader("build_dnsmasq", path)
    spec = importlib.util.spec_from_loader("build_dnsmasq", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def changed_lines(path):
    """(added, removed) lines of the hunks of the patch in PATH (its
    DEP-3 header and file headers are not counted)."""
    added = removed = 0
    in_hunk = False
    with open(path) as patch:
        for line in patch:
            if line.startswith("@@ "):
                in_hunk = True
            elif line.startswith(("--- ", "diff ")):
                in_hunk = False
            elif in_hunk and line.startswith("+"):
                added += 1
            elif in_hunk and line.startswith("-"):
                removed += 1
    return added, removed


def main(argv):
    if len(argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    build_dnsmasq, version = argv
    module = load_build_dnsmasq(build_dnsmasq)
    names = module.read_series(version)
    total = 0
    for name in names:
        added, removed = changed_lines(os.path.join(module.HERE, name))
        print("# %-48s +%-3d -%d" % (name, added, removed))
        total += added + removed
    ok = bool(names) and total <= BUDGET
    print("%s 1 - the series changes %d lines of dnsmasq %s (budget %d)"
          % ("ok" if ok else "not ok", total, version, BUDGET))
    print("1..1")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
