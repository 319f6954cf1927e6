#!/usr/bin/env python3
"""The patched tree built WITHOUT HAVE_PXECLASS is stock dnsmasq (TAP).

  check_stock_equivalence.py BUILD_DNSMASQ WORKDIR VERSION

Builds VERSION twice with build-dnsmasq (from WORKDIR's fetched Debian
source): `stock`, and `patched-off` (series and hooks applied, no
HAVE_PXECLASS).  Both use the same CFLAGS, with __LINE__ pinned to 0:
dnsmasq 2.93's malloc logging records __LINE__, and the patch shifts the
lines of option.c and rfc2131.c.  Then the machine code and data of the
two binaries must be identical, and so must their --help.
"""

import os
import subprocess
import sys
import tempfile

CFLAGS = "-Wall -W -O2 -Wno-builtin-macro-redefined -D__LINE__=0"
SECTIONS = (".text", ".rodata", ".data")


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
        number = 3
        for name in SECTIONS:
            ok = bool(stock and off) and (section(stock, name, directory)
                                          == section(off, name, directory))
            results.append(tap_line(number, ok, "%s identical to stock" % name))
            number += 1
        ok = bool(stock and off) and help_text(stock) == help_text(off)
        results.append(tap_line(number, ok, "--help identical to stock"))
    print("1..%d" % len(results))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
