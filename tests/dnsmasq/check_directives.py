#!/usr/bin/env python3
"""dnsmasq --test on configs using the pxeclass directives (TAP output).

  check_directives.py PATCHED_DNSMASQ STOCK_DNSMASQ

Every bad line must stop dnsmasq like its own bad lines do: exit code 1
and "dnsmasq: <what is wrong> at line N of FILE", naming the offending
value.  Good configs must pass.  The stock binary must refuse the new
directives as unknown (so the patched binary is what gives them meaning).
No network, no root: --test only parses.
"""

import ctypes
import os
import re
import subprocess
import sys
import tempfile

# A plain DHCP config around the line under test, so the test line's
# number is known and everything else in the file is valid.
PREAMBLE = ["port=0", "dhcp-range=10.9.0.10,10.9.0.20", "log-dhcp"]
LINE = len(PREAMBLE) + 1

# (name, directive line, words the message must contain)
BAD_LINES = [
    ("unknown class", "dhcp-pxe-class=set:t,bogusclass", ["bogusclass"]),
    ("class without set:", "dhcp-pxe-class=ipxe", ["set:"]),
    ("class without any class", "dhcp-pxe-class=set:t", []),
    ("class with an empty tag", "dhcp-pxe-class=set:,ipxe", []),
    ("unknown arch name", "dhcp-pxe-arch=set:t,efi-z80", ["efi-z80"]),
    ("arch number too large", "dhcp-pxe-arch=set:t,70000", ["70000"]),
    ("unknown feature", "dhcp-ipxe-feature=set:t,teleport", ["teleport"]),
    ("version not a version", "dhcp-ipxe-version=set:t,>=1.x.2", ["1.x.2"]),
    ("version without operator", "dhcp-ipxe-version=set:t,banana", ["banana"]),
    ("unknown bus", "dhcp-ipxe-busid=set:t,pcx:8086", ["pcx"]),
    ("bus vendor not hex", "dhcp-ipxe-busid=set:t,pci:zzzz", ["zzzz"]),
    ("unknown own criterion", "dhcp-ipxe-own=colour:blue", ["colour"]),
    ("arch9 neither x64 nor ebc", "dhcp-pxe-arch9=arm", ["arm"]),
    ("guard hop count out of range", "dhcp-chain-guard=0,60", ["'0'"]),
    ("guard without a window", "dhcp-chain-guard=3", ["chain-guard"]),
    ("guard window not a number", "dhcp-chain-guard=3,abc", ["abc"]),
    ("guard table too small", "dhcp-chain-guard=3,60,10", ["'10'"]),
    ("peer not an address", "dhcp-chain-peer=10.0.0.300", ["10.0.0.300"]),
]

GOOD_CONFIGS = [
    ("every directive", [
        "dhcp-ipxe-own=user-class:site-ipxe",
        "dhcp-ipxe-own=feature:https,version:>=1.21.1",
        "dhcp-ipxe-own=chained",
        "dhcp-chain-guard=3,60,4096,set:loop",
        "dhcp-pxe-arch9=ebc",
        "dhcp-chain-peer=10.77.0.2,10.77.0.3",
        "dhcp-pxe-class=set:pxe,pxe",
        "dhcp-pxe-class=set:boot,pxe,http-boot,ipxe",
        "dhcp-pxe-class=set:own,ipxe-own",
        "dhcp-pxe-class=set:vendor,ipxe-vendor",
        "dhcp-pxe-class=set:any,netboot",
        "dhcp-pxe-arch=set:efi64,efi-x64",
        "dhcp-pxe-arch=set:bios,x86-bios",
        "dhcp-pxe-arch=set:arm,efi-arm64,11",
        "dhcp-ipxe-feature=set:good,http,https",
        "dhcp-ipxe-version=set:new,>=1.21.1",
        "dhcp-ipxe-busid=set:virtio,pci:1af4",
        "dhcp-ipxe-busid=set:e1000,pci:8086:100e",
        # the tags work where dnsmasq's own do
        "tag-if=set:weak,tag:vendor,tag:!good",
        "dhcp-boot=tag:weak,undionly.kpxe",
        "dhcp-boot=tag:own,http://10.9.0.1/boot.ipxe",
        "pxe-service=tag:bios,x86PC,BIOS,undionly",
        "dhcp-ignore=tag:loop",
    ]),
    # quoted values have their metacharacters hidden by dnsmasq's reader
    ("quoted value", ['dhcp-pxe-class="set:q,ipxe"']),
    ("no new directive", []),
]


class Tap:
    """Minimal TAP producer."""

    def __init__(self):
        self.count = 0
        self.failed = 0

    def check(self, ok, name, detail=""):
        self.count += 1
        if not ok:
            self.failed += 1
        print("%s %d - %s" % ("ok" if ok else "not ok", self.count, name))
        if not ok and detail:
            for line in detail.rstrip().splitlines():
                print("#   " + line)

    def finish(self):
        print("1..%d" % self.count)
        return 1 if self.failed else 0


def run_test(binary, lines, directory, extra_args=()):
    """dnsmasq --test on a config of PREAMBLE + LINES; (rc, output, path)."""
    fd, path = tempfile.mkstemp(suffix=".conf", dir=directory)
    with os.fdopen(fd, "w") as conf:
        conf.write("\n".join(PREAMBLE + list(lines)) + "\n")
    result = subprocess.run([binary, "--test", "--conf-file=" + path]
                            + list(extra_args), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            timeout=30)
    return result.returncode, result.stdout.strip(), path


def check_bad_lines(tap, binary, directory):
    """Each bad line fails --test with dnsmasq's located message."""
    for name, line, words in BAD_LINES:
        rc, out, path = run_test(binary, [line], directory)
        located = "at line %d of %s" % (LINE, path)
        missing = [w for w in words if w not in out]
        tap.check(rc == 1 and out.startswith("dnsmasq: ")
                  and out.endswith(located) and not missing
                  and "syntax check OK" not in out,
                  "bad line refused: %s" % name,
                  "line: %s\nrc: %d\noutput: %s\nwanted: ... %s, naming %s"
                  % (line, rc, out, located, missing))


def check_missing_value(tap, binary, directory):
    """A directive without '=value' gets dnsmasq's own message."""
    rc, out, path = run_test(binary, ["dhcp-pxe-class"], directory)
    tap.check(rc == 1 and out == "dnsmasq: missing parameter at line %d of %s"
              % (LINE, path), "directive without a value", out)


def check_conf_dir(tap, binary, directory):
    """An error in a conf-dir file names that file and its line."""
    subdir = tempfile.mkdtemp(dir=directory)
    inner = os.path.join(subdir, "pxe.conf")
    with open(inner, "w") as conf:
        conf.write("# comment\n\ndhcp-pxe-arch=set:a,efi-z80\n")
    rc, out, _ = run_test(binary, ["conf-dir=%s,*.conf" % subdir], directory)
    tap.check(rc == 1 and out.endswith("at line 3 of %s" % inner)
              and "efi-z80" in out, "error located in a conf-dir file", out)


def check_command_line(tap, binary, directory):
    """On the command line: dnsmasq's 'bad command line options' form."""
    rc, out, _ = run_test(binary, [], directory,
                          ["--dhcp-pxe-class=set:t,bogusclass"])
    tap.check(rc == 1 and out.startswith("dnsmasq: bad command line options: ")
              and "bogusclass" in out, "bad directive on the command line", out)
    rc, out, _ = run_test(binary, [], directory,
                          ["--dhcp-pxe-class=set:t,ipxe"])
    tap.check(rc == 0 and out == "dnsmasq: syntax check OK.",
              "good directive on the command line", out)


def check_long_value(tap, binary, directory):
    """A 1000-byte bad value: refused, message bounded, no crash."""
    value = "x" * 1000
    rc, out, path = run_test(binary, ["dhcp-ipxe-feature=set:t," + value],
                             directory)
    tap.check(rc == 1 and out.endswith("at line %d of %s" % (LINE, path))
              and len(out) < 1200, "very long bad value", out[:300])


def check_cross_line(tap, binary, directory):
    """ipxe-own tags without any dhcp-ipxe-own identity: refused after
    the whole file is read, quoting the offending line."""
    rc, out, _ = run_test(binary, ["dhcp-pxe-class=set:own,ipxe-own"],
                          directory)
    tap.check(rc == 1 and out.startswith("dnsmasq: ")
              and "dhcp-pxe-class=set:own,ipxe-own" in out
              and "dhcp-ipxe-own" in out, "ipxe-own without an identity", out)


def check_good(tap, binary, directory):
    """Good configs pass --test."""
    for name, lines in GOOD_CONFIGS:
        rc, out, _ = run_test(binary, lines, directory)
        tap.check(rc == 0 and out == "dnsmasq: syntax check OK.",
                  "good config passes: %s" % name, out)


def library_directives():
    """The directive names libpxeclass parses, asked of the library itself
    (PXC_LIBPXECLASS: the shared library), so the hooks' table and the
    library's cannot drift apart unnoticed."""
    lib = ctypes.CDLL(os.environ["PXC_LIBPXECLASS"])
    lib.pxc_directive_name.restype = ctypes.c_char_p
    lib.pxc_directive_name.argtypes = [ctypes.c_size_t]
    names, i = [], 0
    while (name := lib.pxc_directive_name(i)) is not None:
        names.append(name.decode())
        i += 1
    return names


def check_help(tap, binary):
    """--help lists every directive the library parses."""
    out = subprocess.run([binary, "--help"], text=True, timeout=30,
                         stdout=subprocess.PIPE).stdout
    names = library_directives()
    missing = [n for n in names if not re.search(r"--%s=" % n, out)]
    tap.check(len(names) == 9 and not missing, "--help lists the directives",
              "library: %s; missing: %s" % (names, missing))


def check_second_guard(tap, binary, directory):
    """Only one loop guard: the second line is the one refused."""
    rc, out, path = run_test(binary, ["dhcp-chain-guard=3,60",
                                      "dhcp-chain-guard=2,30"], directory)
    tap.check(rc == 1 and out.endswith("at line %d of %s" % (LINE + 1, path))
              and "dhcp-chain-guard" in out, "a second dhcp-chain-guard", out)


def check_stock_refuses(tap, stock, directory):
    """Stock dnsmasq does not know the directives at all."""
    rc, out, path = run_test(stock, ["dhcp-pxe-class=set:t,ipxe"], directory)
    tap.check(rc == 1 and out == "dnsmasq: bad option at line %d of %s"
              % (LINE, path), "stock dnsmasq refuses the directives", out)


def main(argv):
    if len(argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    patched, stock = argv
    tap = Tap()
    with tempfile.TemporaryDirectory(prefix="pxc-dnsmasq-") as directory:
        check_bad_lines(tap, patched, directory)
        check_missing_value(tap, patched, directory)
        check_conf_dir(tap, patched, directory)
        check_command_line(tap, patched, directory)
        check_long_value(tap, patched, directory)
        check_cross_line(tap, patched, directory)
        check_second_guard(tap, patched, directory)
        check_good(tap, patched, directory)
        check_help(tap, patched)
        check_stock_refuses(tap, stock, directory)
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
