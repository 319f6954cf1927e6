#!/usr/bin/env python3
"""`meson install` into a --destdir, and the installed CLI run from it.

Checks that the install holds the library (static and shared, with its
soname link), the header, pxeclass.pc, the CLI, the lab's Python package
and examples, the patched dnsmasq the lab runs, and both man pages
(tools/man's, which must render without warnings).  Then, in a private
mount namespace where the install is bind-mounted over the prefix and the
source and build trees are hidden under empty tmpfs mounts, it runs the
installed `pxeclass`: --version, explain on a capture, lab --help, and one
lab client through the whole chain with the installed dnsmasq, so the
installed lab finds its files, config and dnsmasq without the tree.

Needs root (mount namespace, the lab's network namespaces).  Environment:
PXC_BUILD_ROOT, PXC_SOURCE_ROOT, PXC_PREFIX (the build's prefix).
"""

import glob
import os
import shutil
import subprocess
import tempfile
import unittest

BUILD = os.environ.get("PXC_BUILD_ROOT", "build")
SOURCE = os.environ.get("PXC_SOURCE_ROOT", ".")
PREFIX = os.environ.get("PXC_PREFIX", "/usr/local")
CAPTURE = os.path.join(SOURCE, "tests", "captures", "a-seabios-virtio",
                       "dhcp.pcap")

# What must be installed, as globs under the prefix.
EXPECTED = {
    "static library": "lib*/**/libpxeclass.a",
    "shared library": "lib*/**/libpxeclass.so.*",
    "shared library link": "lib*/**/libpxeclass.so",
    "header": "include/pxeclass.h",
    "pkg-config file": "lib*/**/pkgconfig/pxeclass.pc",
    "CLI": "bin/pxeclass",
    "lab": "share/pxeclass/pxelab/lab.py",
    "lab default config": "share/pxeclass/examples/lab.conf",
    "examples": "share/pxeclass/examples/03-proxy-by-arch.conf",
    "pxeclass(1)": "share/man/man1/pxeclass.1",
    "dnsmasq-pxeclass(5)": "share/man/man5/dnsmasq-pxeclass.5",
}


class InstallTest(unittest.TestCase):
    """One install, checked file by file, then run with the tree hidden."""

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise AssertionError("needs root (mount namespace, network "
                                 "namespaces)")
        if os.path.realpath(PREFIX) in ("/", "/usr"):
            raise AssertionError("configure with a prefix other than / or "
                                 "/usr (default /usr/local): the test mounts "
                                 "the install over it")
        cls.destdir = tempfile.mkdtemp(prefix="pxc-install-")
        cls.root = cls.destdir + PREFIX
        subprocess.run(["meson", "install", "-C", BUILD, "--no-rebuild",
                        "--quiet", "--destdir", cls.destdir], check=True,
                       stdout=subprocess.DEVNULL)
        cls.capture = os.path.join(cls.destdir, "capture.pcap")
        shutil.copy(CAPTURE, cls.capture)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.destdir, ignore_errors=True)

    def installed(self, pattern):
        """Paths under the installed prefix matching PATTERN."""
        return glob.glob(os.path.join(self.root, pattern), recursive=True)

    def hidden_run(self, *args):
        """Run the installed pxeclass with ARGS, the trees hidden."""
        hide = {os.path.realpath(SOURCE), os.path.realpath(BUILD)}
        script = ["set -e", 'mount --bind "$1" "$2"']
        for path in sorted(hide):
            if not any(path.startswith(h + "/") for h in hide):
                script.append("mount -t tmpfs pxc-hidden %s" % path)
        script += ["cd /", 'shift 2', 'exec "$@"']
        cmd = (["unshare", "--mount", "--propagation", "private", "sh", "-c",
                "\n".join(script), "sh", self.root, PREFIX,
                os.path.join(PREFIX, "bin", "pxeclass")] + list(args))
        return subprocess.run(cmd, capture_output=True, text=True, timeout=300)

    def test_files(self):
        """Every part of the product is installed."""
        for what, pattern in EXPECTED.items():
            with self.subTest(what):
                self.assertTrue(self.installed(pattern),
                                "%s not installed (%s)" % (what, pattern))

    def test_soname(self):
        """The shared library carries a soname, and its link exists."""
        libs = [p for p in self.installed("lib*/**/libpxeclass.so.*")
                if not os.path.islink(p)]
        self.assertEqual(len(libs), 1, libs)
        dyn = subprocess.run(["readelf", "-d", libs[0]], capture_output=True,
                             text=True, check=True).stdout
        self.assertIn("SONAME", dyn)

    def test_pkg_config(self):
        """pxeclass.pc points at the installed header and library."""
        pcdir = os.path.dirname(self.installed("lib*/**/pkgconfig/pxeclass.pc")[0])
        env = dict(os.environ, PKG_CONFIG_PATH=pcdir,
                   PKG_CONFIG_SYSROOT_DIR=self.destdir)
        out = subprocess.run(["pkg-config", "--cflags", "--libs", "pxeclass"],
                             capture_output=True, text=True, env=env,
                             check=True).stdout
        self.assertIn("-I%s/include" % self.root, out)
        self.assertIn("-lpxeclass", out)

    def test_man_pages_render(self):
        """Both man pages, tools/man's, render without a groff warning."""
        for page in ("share/man/man1/pxeclass.1",
                     "share/man/man5/dnsmasq-pxeclass.5"):
            with self.subTest(page):
                with open(os.path.join(self.root, page), "rb") as installed, \
                        open(os.path.join(SOURCE, "tools", "man",
                                          os.path.basename(page)),
                             "rb") as source:
                    self.assertEqual(installed.read(), source.read(),
                                     "%s is not tools/man's" % page)
                p = subprocess.run(["man", "--warnings", "-l",
                                    os.path.join(self.root, page)],
                                   capture_output=True, text=True,
                                   env=dict(os.environ, MANWIDTH="80",
                                            MAN_KEEP_STDERR="1"))
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertEqual(p.stderr, "")
                self.assertIn("SYNOPSIS", p.stdout)

    def test_installed_cli(self):
        """--version and explain work from the install alone; the version
        is pxeclass.pc's (meson's project version, which debian-build
        writes into the Debian changelog)."""
        p = self.hidden_run("--version")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(p.stdout.startswith("pxeclass "), p.stdout)
        pcdir = os.path.dirname(self.installed("lib*/**/pkgconfig/pxeclass.pc")[0])
        pc_version = subprocess.run(
            ["pkg-config", "--modversion", "pxeclass"], capture_output=True,
            text=True, check=True,
            env=dict(os.environ, PKG_CONFIG_PATH=pcdir)).stdout.strip()
        self.assertEqual(p.stdout.split()[1], pc_version)
        p = self.hidden_run("explain", self.capture)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("class", p.stdout)

    def test_installed_lab_help(self):
        """lab --help is the installed Python lab's."""
        p = self.hidden_run("lab", "--help")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("usage: pxeclass lab", p.stdout)

    def test_installed_lab_runs(self):
        """The installed lab plays a client with the installed dnsmasq and
        its own default config."""
        self.assertTrue(self.installed("libexec/pxeclass/dnsmasq-*"),
                        "no patched dnsmasq installed")
        p = self.hidden_run("lab", "--client", "bios-pxe")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn(os.path.join(PREFIX, "share/pxeclass/examples/lab.conf"),
                      p.stdout)
        self.assertIn(os.path.join(PREFIX, "libexec/pxeclass/dnsmasq-"),
                      p.stdout)
        self.assertIn("script reached", p.stdout)


if __name__ == "__main__":
    unittest.main()
