#!/usr/bin/env python3
"""Debian's autopkgtest for dnsmasq, unmodified, on our packages.

  test_autopkgtest.py VERSION WORKDIR

Builds Debian's dnsmasq VERSION with the series (patches/debian-build, so
the packages carry our debian/tests/pxeclass too), builds or reuses the
QEMU testbed (build-testbed, cached in /var/cache/pxeclass/testbed), runs
every test of the package's debian/tests with autopkgtest on it, and, when
a test fails (always with PXC_DEBIAN_STOCK=always), Debian's stock
packages of VERSION on the same testbed, so that a fault of the testbed is
told from ours.  Prints both summaries side by side with the time of each
step.

Fails (never skips) when it cannot run: not root, no deb-src, no testbed.
Fails when any test fails for the patched packages; a test that fails for
stock too is named as the testbed's fault in the output.

Environment: PXC_DEBIAN_STOCK=always (run stock every time),
PXC_TESTBED_KVM=1 (let autopkgtest use /dev/kvm; by default QEMU emulates,
see qemu-tcg), PXC_TESTBED_CACHE (cache directory).
"""

import glob
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
DEBIAN_BUILD = os.path.join(TOP, "patches", "debian-build")
BUILD_TESTBED = os.path.join(HERE, "build-testbed")
QEMU_TCG = os.path.join(HERE, "qemu-tcg")
# What a slow (emulated, shared) machine needs to boot the testbed.
BOOT_TIMEOUT = 300
# autopkgtest-virt-qemu (5.28) sets the VM shell's prompt to "<uuid>[N]# ",
# sends `type python3`, reads up to "/python" and then, unless "\n# " was in
# what it read, waits 5 s for a "# ": when the prompt came in the same read
# as "/python", it never comes again and the boot is a "testbed failure"
# (here: every second boot, under emulation).  The runner uses a copy of
# the installed script with that one test reading "# " (the prompt it
# already has), made afresh from the installed one each run; if the
# installed one no longer has the line, it is used as it is.
VIRT_QEMU = "/usr/bin/autopkgtest-virt-qemu"
PROMPT_RACE = ("if b'\\n# ' not in out:", "if b'# ' not in out:")
# The same copy waits longer in one more place: after each boot the virt
# server copies the host's /etc/timezone into the VM and runs
# `dpkg-reconfigure tzdata` there, giving it 30 s.  Emulated on a loaded
# machine (load average 7) it took longer, twice in one run (the fifth
# boot of the patched half and of the stock half, 2026-12-01), and the
# boot was a testbed failure.  The copy gives it BOOT_TIMEOUT.
_TZ_STEP = ("dpkg-reconfigure tzdata; %s\\n' % prompt.set_next_ps1())\n"
            "            VirtSubproc.expect(term, prompt.expected_prompt, 30)")
TZ_WAIT = (_TZ_STEP, _TZ_STEP.replace("prompt, 30)", "prompt, %d)" % BOOT_TIMEOUT))
# autopkgtest's exit status for "testbed failure", and how often the
# unfinished tests are run again after one.
TESTBED_FAILURE = 16
RETRIES = 2
STOCK_PACKAGES = ["dnsmasq", "dnsmasq-base", "dnsmasq-base-lua",
                  "dnsmasq-utils"]


class Timer:
    """Wall-clock time of each named step, for the final report."""

    def __init__(self):
        self.steps = []

    def run(self, name, cmd, **kw):
        """Run CMD as step NAME; the CompletedProcess (output captured)."""
        print("--- %s: %s" % (name, " ".join(cmd)), flush=True)
        start = time.monotonic()
        result = subprocess.run(cmd, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, **kw)
        self.steps.append((name, time.monotonic() - start))
        return result


def read_summary(path, tests):
    """{test name: result word} of an autopkgtest --summary-file, for the
    names in TESTS only: a run cut short by a testbed failure ends its
    summary with "testbed failure: …", which is no test's result (read as
    one, it made a test named "testbed" fail)."""
    results = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                words = line.split()
                if len(words) >= 2 and words[0] in tests:
                    results[words[0]] = words[1]
    return results


def virt_server(workdir):
    """autopkgtest's qemu virt server, the prompt race fixed and the
    timezone step given time (see above): a copy with each fix whose line
    the installed one has, or the installed one if it has neither."""
    with open(VIRT_QEMU) as f:
        text = f.read()
    fixed = text
    for old, new in (PROMPT_RACE, TZ_WAIT):
        fixed = fixed.replace(old, new)
    if fixed == text:
        return VIRT_QEMU
    path = os.path.join(workdir, "autopkgtest-virt-qemu")
    with open(path, "w") as f:
        f.write(fixed)
    os.chmod(path, 0o755)
    return path


def control_tests(dsc):
    """Names of the tests in the debian/tests/control of DSC, in order."""
    with tempfile.TemporaryDirectory(prefix="pxc-dsc-") as tmp:
        tree = os.path.join(tmp, "tree")
        subprocess.run(["dpkg-source", "--skip-patches", "-x", dsc, tree],
                       check=True, stdout=subprocess.DEVNULL)
        with open(os.path.join(tree, "debian", "tests", "control")) as f:
            text = f.read()
    names = []
    for field in re.findall(r"^Tests:((?:.*\n?)(?:[ \t].*\n?)*)", text, re.M):
        names += [n for n in re.split(r"[\s,]+", field) if n]
    return names


def autopkgtest(timer, name, debs, dsc, testbed, outdir):
    """Run the tests of DSC with DEBS on TESTBED; {test: result}.

    autopkgtest boots the testbed afresh for each test, and gives up on the
    whole run when a boot is slower than it waits for (5 s for the root
    shell after login, hard-coded): on a loaded machine, under emulation,
    that happens.  Such a run ends with exit status 16 (testbed failure);
    the tests it did not finish are then run again, up to RETRIES times."""
    tests = control_tests(dsc)
    results = {}
    for old in glob.glob(glob.escape(outdir) + "-*"):    # earlier runs
        subprocess.run(["rm", "-rf", old], check=True)
    virt = [virt_server(os.path.dirname(outdir)), "--timeout-reboot", str(BOOT_TIMEOUT),
            "--qemu-options=-readconfig %s/qemu.cfg" % testbed]
    if os.environ.get("PXC_TESTBED_KVM") != "1":
        virt += ["--qemu-command", QEMU_TCG]
    for attempt in range(1 + RETRIES):
        remaining = [t for t in tests if t not in results]
        if not remaining:
            break
        run_dir = "%s-%d" % (outdir, attempt)
        summary = run_dir + ".summary"
        subprocess.run(["rm", "-rf", run_dir, summary], check=True)
        select = [] if attempt == 0 else ["--test-name=" + t for t in remaining]
        cmd = (["autopkgtest", "--no-built-binaries", "--output-dir", run_dir,
                "--summary-file", summary] + select + debs + [dsc, "--"] +
               virt + [os.path.join(testbed, "root.ext4")])
        result = timer.run("autopkgtest %s #%d" % (name, attempt + 1), cmd)
        with open(run_dir + ".log", "w") as log:
            log.write(result.stdout)
        results.update(read_summary(summary, tests))
        if result.returncode != TESTBED_FAILURE:
            break
        print("autopkgtest %s: testbed failure (see %s.log)%s"
              % (name, run_dir, ", running the rest again"
                 if attempt < RETRIES else ""))
    for test in tests:
        results.setdefault(test, "NOT-RUN")
    return results


def stock_packages(timer, version, pkgdir):
    """Debian's binary packages of VERSION, downloaded into PKGDIR/stock."""
    stock = os.path.join(pkgdir, "stock")
    os.makedirs(stock, exist_ok=True)
    for old in glob.glob(os.path.join(stock, "*.deb")):
        os.remove(old)
    result = timer.run("download stock", ["apt-get", "download", "-q"] +
                       ["%s=%s" % (p, version) for p in STOCK_PACKAGES],
                       cwd=stock)
    if result.returncode:
        print(result.stdout)
        return []
    return sorted(glob.glob(os.path.join(stock, "*.deb")))


def table(patched, stock):
    """Lines of the side-by-side summary; stock None when not run."""
    names = sorted(set(patched) | set(stock or {}))
    width = max([len(n) for n in names] + [4])
    lines = ["%-*s  %-8s  %s" % (width, "test", "stock", "patched")]
    for name in names:
        lines.append("%-*s  %-8s  %s" % (
            width, name,
            "(not run)" if stock is None else stock.get(name, "-"),
            patched.get(name, "-")))
    return lines


def main(argv):
    if len(argv) != 2:
        sys.exit("usage: test_autopkgtest.py VERSION WORKDIR")
    version, workdir = argv
    if os.geteuid() != 0:
        print("FAIL: needs root (apt-get build-dep, mmdebstrap, QEMU)")
        return 1
    timer = Timer()
    pkgdir = os.path.abspath(os.path.join(workdir, "packages"))

    result = timer.run("testbed", [BUILD_TESTBED])
    if result.returncode:
        print(result.stdout)
        print("FAIL: could not build the testbed")
        return 1
    print(result.stdout.strip().splitlines()[-2] if
          len(result.stdout.strip().splitlines()) > 1 else "")
    testbed = result.stdout.strip().splitlines()[-1]

    result = timer.run("package build", [DEBIAN_BUILD, version, pkgdir])
    print(result.stdout[-1500:])
    if result.returncode:
        print("FAIL: patches/debian-build %s failed" % version)
        return 1
    local = "%s+pxeclass1" % version
    debs = sorted(d for d in glob.glob(os.path.join(pkgdir, "*_%s_*.deb"
                                                    % glob.escape(local)))
                  if "-dbgsym_" not in d)
    dsc = os.path.join(pkgdir, "dnsmasq_%s.dsc" % local)
    stock_dsc = os.path.join(pkgdir, "dnsmasq_%s.dsc" % version)

    patched = autopkgtest(timer, "patched", debs, dsc, testbed,
                          os.path.join(workdir, "autopkgtest-patched"))
    failed = [n for n in patched if patched[n] not in ("PASS",)]
    stock = None
    if failed or not patched or os.environ.get("PXC_DEBIAN_STOCK") == "always":
        stock_debs = stock_packages(timer, version, pkgdir)
        stock = autopkgtest(timer, "stock", stock_debs, stock_dsc, testbed,
                            os.path.join(workdir, "autopkgtest-stock"))

    print("\nDebian's autopkgtest for dnsmasq %s (QEMU testbed %s):"
          % (version, os.path.basename(testbed)))
    for line in table(patched, stock):
        print("  " + line)
    print("\ntimes:")
    for name, seconds in timer.steps:
        print("  %-22s %6.0f s" % (name, seconds))

    for name in failed:
        if stock is not None and stock.get(name) not in (None, "PASS"):
            print("FAIL: %s fails for stock too: the testbed's fault "
                  "(see %s/autopkgtest-stock-*.log)" % (name, workdir))
        else:
            print("FAIL: %s passes for stock, fails for patched "
                  "(see %s/autopkgtest-patched-*.log)" % (name, workdir))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
