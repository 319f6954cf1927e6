#!/usr/bin/env python3
"""The patched tree built WITHOUT HAVE_PXECLASS is stock dnsmasq plus the
series' fixes of dnsmasq bugs, and nothing else (TAP).

  check_stock_equivalence.py BUILD_DNSMASQ WORKDIR VERSION

The series carries fixes of dnsmasq itself (its `fix` patches, applied
with or without HAVE_PXECLASS): 0006 stops the DHCPv6 user/vendor-class
loop from linking a tag to itself (a remote hang, every version), 0007
stops 2.93's enterprise-only dhcp-vendorclass from ending that loop.
They are the one intended difference from stock.

Builds VERSION three times with build-dnsmasq (from WORKDIR's fetched
Debian source): `stock`, `fixed` (the fixes alone) and `patched-off`
(series and hooks applied, no HAVE_PXECLASS), all with the same CFLAGS,
__LINE__ pinned to 0: dnsmasq 2.93's malloc logging records __LINE__,
and the patches shift lines.  Then:

  - patched-off and fixed: identical machine code, data and --help;
  - fixed and stock: every object file identical but the ones the fixes
    patch (rfc3315.o), which must differ (the fix is compiled in), and
    --help identical.
"""

import os
import subprocess
import sys
import tempfile

CFLAGS = "-Wall -W -O2 -Wno-builtin-macro-redefined -D__LINE__=0"
SECTIONS = (".text", ".rodata", ".data")
# The object files the fix patches change.
FIXED_OBJECTS = {"rfc3315.o"}


def tap_line(number, ok, name, detail=""):
    """Print one TAP result; returns OK."""
    print("%s %d - %s" % ("ok" if ok else "not ok", number, name))
    if not ok:
        for line in detail.rstrip().splitlines()[-40:]:
            print("#   " + line)
    return ok


def build(build_dnsmasq, workdir, version, variant, directory):
    """Build VARIANT into DIRECTORY; (binary or None, build output)."""
    output = os.path.join(directory, "dnsmasq-" + variant)
    result = subprocess.run(
        [build_dnsmasq, "--workdir", workdir, "--cflags", CFLAGS,
         "--build-dir", os.path.join(directory, variant),
         "--output", output, "build", version, variant],
        text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return (output if result.returncode == 0 else None), result.stdout


def section(binary, name, directory):
    """Raw bytes of section NAME of BINARY."""
    dump = os.path.join(directory, "section.bin")
    subprocess.run(["objcopy", "-O", "binary", "--only-section=" + name,
                    binary, dump], check=True)
    with open(dump, "rb") as data:
        return data.read()


def object_differences(stock_tree, fixed_tree):
    """Names of the object files of src/ that differ between two trees
    (or exist in one only)."""
    names = set()
    for tree in (stock_tree, fixed_tree):
        names |= {n for n in os.listdir(os.path.join(tree, "src")) if n.endswith(".o")}
    differ = set()
    for name in sorted(names):
        paths = [os.path.join(tree, "src", name) for tree in (stock_tree, fixed_tree)]
        if not all(os.path.exists(p) for p in paths):
            differ.add(name)
            continue
        with open(paths[0], "rb") as one, open(paths[1], "rb") as two:
            if one.read() != two.read():
                differ.add(name)
    return differ


def help_text(binary):
    return subprocess.run([binary, "--help"], text=True, timeout=30,
                          stdout=subprocess.PIPE).stdout


def main(argv):
    if len(argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    build_dnsmasq, workdir, version = argv
    results = []
    with tempfile.TemporaryDirectory(prefix="pxc-equiv-") as directory:
        stock, log = build(build_dnsmasq, workdir, version, "stock", directory)
        results.append(tap_line(1, stock is not None,
                                "stock %s builds" % version, log))
        off, log = build(build_dnsmasq, workdir, version, "patched-off",
                         directory)
        results.append(tap_line(2, off is not None,
                                "patched %s without HAVE_PXECLASS builds"
                                % version, log))
        fixed, log = build(build_dnsmasq, workdir, version, "fixed",
                           directory)
        results.append(tap_line(3, fixed is not None,
                                "stock %s with the fixes alone builds"
                                % version, log))
        number = 4
        for name in SECTIONS:
            ok = bool(fixed and off) and (section(fixed, name, directory)
                                          == section(off, name, directory))
            results.append(tap_line(number, ok, "%s identical to stock plus "
                                    "the fixes" % name))
            number += 1
        ok = bool(fixed and off) and help_text(fixed) == help_text(off)
        results.append(tap_line(number, ok, "--help identical to stock plus "
                                "the fixes"))
        differ = (object_differences(os.path.join(directory, "stock"),
                                     os.path.join(directory, "fixed"))
                  if stock and fixed else None)
        results.append(tap_line(number + 1, differ == FIXED_OBJECTS,
                                "the fixes change %s and nothing else"
                                % ", ".join(sorted(FIXED_OBJECTS)),
                                "objects differing from stock: %s" % differ))
        ok = bool(stock and fixed) and help_text(stock) == help_text(fixed)
        results.append(tap_line(number + 2, ok, "--help of the fixed build "
                                "identical to stock"))
    print("1..%d" % len(results))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
