"""Boot programs from Debian's archive for the firmware boots: shim, GRUB, a kernel, an initramfs.

Issue 10's proof boots the programs that ask DHCP after the firmware, as
Debian ships them:

  shimx64.efi    shim-signed (Debian's signed shim)
  grubx64.efi    grub-efi-amd64-signed's grubnetx64.efi: the monolithic
                 netboot GRUB; shim loads it under the name grubx64.efi
                 from the directory shim came from
  core.0         BIOS GRUB's PXE image, made here with grub-common's
                 grub-mkimage (grub-mknetdir's image maker) from grub-pc-bin's
                 i386-pc modules, format i386-pc-pxe, its config embedded
                 (GRUB_PC_CONFIG: net_bootp, GRUB's own DHCP)
  vmlinuz        linux-image-amd64's kernel (Debian builds no IP_PNP into
                 it: `ip=dhcp` on its command line does nothing, so the
                 DHCP of an initramfs is klibc's ipconfig, vendor class
                 "Linux ipconfig", as in Debian's initramfs-tools)
  initrd.gz      built here: busybox-static, klibc-utils' ipconfig with
                 libklibc, the kernel's e1000 module and INIT_SCRIPT

Packages are fetched with `apt-get download` (never installed: shim's and
GRUB's maintainer scripts would touch the host's boot loader) and only the
files named below are extracted, into <cache>/debian-boot/<package>_<version>/
(<cache>: $PXC_FW_CACHE or <repo>/.cache/firmware).  Each run asks apt for
the candidate version; without an answer (no archive) the newest cached
extraction of the package is used.  tools/setup runs `debian_boot.py
--fetch` so the test command finds everything in the cache.
"""

import fnmatch
import glob
import gzip
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
KERNEL_META = "linux-image-amd64"
E1000_MODULE = "kernel/drivers/net/ethernet/intel/e1000/e1000.ko"
# package -> the files we take from it (fnmatch patterns, paths in the .deb)
PACKAGE_FILES = {
    "shim-signed": ("usr/lib/shim/shimx64.efi.signed",),
    "grub-efi-amd64-signed": ("usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed",),
    "busybox-static": ("bin/busybox",),
    "klibc-utils": ("usr/lib/klibc/bin/ipconfig",),
    "libklibc": ("lib/klibc-*.so", "usr/lib/klibc-*.so"),
    "grub-common": ("usr/bin/grub-mkimage",),
    "grub-pc-bin": ("usr/lib/grub/i386-pc/*",),
    KERNEL_META: ("boot/vmlinuz-*", "lib/modules/*/" + E1000_MODULE,
                  "usr/lib/modules/*/" + E1000_MODULE),
}
# The initramfs's /init: load the NIC driver, let klibc's ipconfig ask
# DHCP (the request under test), print the marker the kernel command line
# names (pxcmarker=…), then power off, or reboot with pxcthen=reboot.
INIT_SCRIPT = """#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /run /tmp
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox insmod /lib/e1000.ko
echo PXC-INITRAMFS: ipconfig
/bin/ipconfig -t 20 -c dhcp -d eth0
then=poweroff
for word in $(/bin/busybox cat /proc/cmdline); do
  case "$word" in
    pxcmarker=*) echo "${word#pxcmarker=}" ;;
    pxcthen=reboot) then=reboot ;;
  esac
done
/bin/busybox $then -f
"""

# BIOS GRUB's embedded config (run by its rescue parser: plain commands):
# its own DHCP exchange (net_bootp: DISCOVER with option 53 only,
# REQUEST with 50, 54 and its parameter list), what it learnt, a line
# the boot waits for.
GRUB_PC_CONFIG = """echo PXC-GRUB-PC: net_bootp
net_bootp
net_ls_addr
echo PXC-GRUB-PC: done
"""
# What core.0 holds: the PXE (UNDI) card driver, the network stack and
# TFTP, and the commands of GRUB_PC_CONFIG (grub-mkimage adds what they
# depend on).
GRUB_PC_MODULES = ("pxe", "net", "tftp", "echo")


class Unavailable(RuntimeError):
    """A package can neither be fetched nor found in the cache."""


def cache_root():
    """<cache>/debian-boot: $PXC_FW_CACHE or <repo>/.cache/firmware."""
    base = os.environ.get("PXC_FW_CACHE") or str(REPO / ".cache" / "firmware")
    return Path(base) / "debian-boot"


def say(text):
    """Progress on stderr (the test log)."""
    print(f"debian_boot: {text}", file=sys.stderr)


def _apt(*args):
    """stdout of an apt command, or None when it fails."""
    try:
        proc = subprocess.run(args, capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout if proc.returncode == 0 else None


def candidate(package):
    """(real package, version) apt would install, or None.

    linux-image-amd64 is a metapackage: the kernel is its dependency.
    """
    if package == KERNEL_META:
        depends = _apt("apt-cache", "depends", KERNEL_META) or ""
        match = re.search(r"Depends: (linux-image-\S+-amd64)", depends)
        if not match:
            return None
        package = match.group(1)
    policy = _apt("apt-cache", "policy", package) or ""
    match = re.search(r"Candidate: (\S+)", policy)
    if not match or match.group(1) == "(none)":
        return None
    return package, match.group(1)


def _extract(deb, patterns, target):
    """Extract the members of DEB matching PATTERNS into TARGET; their count.

    The data archive is read as a stream: a kernel package unpacks to
    hundreds of MB of which two files are wanted.
    """
    count = 0
    with subprocess.Popen(["dpkg-deb", "--fsys-tarfile", deb], stdout=subprocess.PIPE) as proc:
        with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
            for member in tar:
                name = member.name.lstrip("./")
                if not (member.isfile() and any(fnmatch.fnmatch(name, p) for p in patterns)):
                    continue
                out = target / name
                out.parent.mkdir(parents=True, exist_ok=True)
                with tar.extractfile(member) as src, open(out, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                out.chmod(0o755 if member.mode & 0o111 else 0o644)
                count += 1
        proc.stdout.read()
    if proc.returncode != 0:
        raise RuntimeError(f"dpkg-deb --fsys-tarfile {deb} failed ({proc.returncode})")
    return count


def _download(package, version, patterns, target):
    """apt-get download PACKAGE=VERSION and extract PATTERNS into TARGET."""
    with tempfile.TemporaryDirectory(prefix="pxc-deb-") as work:
        os.chmod(work, 0o755)  # apt drops privileges to _apt for the download
        proc = subprocess.run(["apt-get", "download", f"{package}={version}"], cwd=work,
                              capture_output=True, text=True, timeout=900)
        debs = glob.glob(os.path.join(work, "*.deb"))
        if proc.returncode != 0 or len(debs) != 1:
            say(f"apt-get download {package}={version} failed: "
                + (proc.stderr.strip().splitlines() or ["?"])[-1])
            return False
        partial = target.with_name(target.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        if _extract(debs[0], patterns, partial) == 0:
            raise RuntimeError(f"{package} {version} holds none of {patterns}")
        partial.rename(target)
        return True


def package_dir(package):
    """The directory holding PACKAGE's files (fetched now if need be)."""
    root = cache_root()
    patterns = PACKAGE_FILES[package]
    wanted = candidate(package)
    if wanted:
        real, version = wanted
        target = root / f"{real}_{version.replace(':', '%3a')}"
        if target.is_dir():
            return target
        say(f"fetching {real} {version}")
        root.mkdir(parents=True, exist_ok=True)
        if _download(real, version, patterns, target):
            return target
    prefix = "linux-image-" if package == KERNEL_META else f"{package}_"
    cached = sorted((p for p in root.glob(f"{prefix}*") if p.is_dir()
                     and not p.name.endswith(".partial")), key=lambda p: p.stat().st_mtime)
    if not cached:
        raise Unavailable(f"{package}: apt cannot fetch it and {root} holds no copy")
    say(f"{package}: using cached {cached[-1].name}")
    return cached[-1]


def one_file(package, pattern):
    """The single file of PACKAGE matching PATTERN (a glob under its directory)."""
    found = sorted(package_dir(package).glob(pattern))
    if len(found) != 1:
        raise Unavailable(f"{package}: {len(found)} files match {pattern}")
    return found[0]


def shim():
    """Debian's signed shimx64.efi."""
    return one_file("shim-signed", "usr/lib/shim/shimx64.efi.signed")


def grub_net():
    """Debian's signed monolithic netboot GRUB (grubnetx64.efi)."""
    return one_file("grub-efi-amd64-signed", "usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed")


def grub_pc_core():
    """BIOS GRUB's core.0 (i386-pc-pxe) with GRUB_PC_CONFIG embedded, made
    by Debian's grub-mkimage from Debian's i386-pc modules; cached by the
    versions and config that go into it."""
    pc_bin, common = package_dir("grub-pc-bin"), package_dir("grub-common")
    modules, mkimage = pc_bin / "usr/lib/grub/i386-pc", common / "usr/bin/grub-mkimage"
    key = "\0".join((pc_bin.name, common.name, GRUB_PC_CONFIG, *GRUB_PC_MODULES))
    path = cache_root() / f"grub-pc-core-{hashlib.sha256(key.encode()).hexdigest()[:16]}.0"
    if path.is_file():
        return path
    with tempfile.TemporaryDirectory(prefix="pxc-grub-pc-") as work:
        config = Path(work) / "embedded.cfg"
        config.write_text(GRUB_PC_CONFIG)
        out = Path(work) / "core.0"
        proc = subprocess.run([str(mkimage), "-O", "i386-pc-pxe", "-d", str(modules),
                               "-p", "(pxe)/grub", "-c", str(config), "-o", str(out),
                               *GRUB_PC_MODULES], capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise RuntimeError(f"grub-mkimage failed ({proc.returncode}): {proc.stderr}")
        shutil.copyfile(out, path)
    return path


def kernel():
    """Debian's amd64 kernel image."""
    return one_file(KERNEL_META, "boot/vmlinuz-*")


def _cpio_entry(name, mode, data=b"", rdev=(0, 0)):
    """One newc cpio record."""
    name_bytes = name.encode() + b"\0"
    fields = (0, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(name_bytes), 0)
    header = b"070701" + b"".join(f"{value:08x}".encode() for value in fields)
    record = header + name_bytes
    record += b"\0" * (-len(record) % 4) + data
    return record + b"\0" * (-len(record) % 4)


def cpio_archive(entries):
    """A newc archive of [(name, mode, data, rdev)], with its trailer."""
    body = b"".join(_cpio_entry(*entry) for entry in entries)
    return body + _cpio_entry("TRAILER!!!", 0)


def initramfs_entries():
    """The initramfs's records: directories, /dev/console, programs, module, /init."""
    klibc = one_file("libklibc", "**/klibc-*.so")
    module = one_file(KERNEL_META, "**/modules/*/" + E1000_MODULE)
    directories = ("bin", "dev", "lib", "proc", "sys", "run", "tmp")
    entries = [(d, 0o040755, b"", (0, 0)) for d in directories]
    entries.append(("dev/console", 0o020600, b"", (5, 1)))
    files = (("bin/busybox", one_file("busybox-static", "bin/busybox")),
             ("bin/ipconfig", one_file("klibc-utils", "usr/lib/klibc/bin/ipconfig")),
             (f"lib/{klibc.name}", klibc), ("lib/e1000.ko", module))
    for name, path in files:
        entries.append((name, 0o100755, path.read_bytes(), (0, 0)))
    entries.append(("init", 0o100755, INIT_SCRIPT.encode(), (0, 0)))
    return entries


def initramfs():
    """The gzip'd initramfs, cached by the hash of what goes into it."""
    entries = initramfs_entries()
    digest = hashlib.sha256()
    for name, mode, data, rdev in entries:
        digest.update(f"{name}\0{mode}\0{rdev}\0{len(data)}\0".encode() + data)
    path = cache_root() / f"initrd-{digest.hexdigest()[:16]}.gz"
    if not path.is_file():
        buffer = io.BytesIO()
        with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as out:
            out.write(cpio_archive(entries))
        path.write_bytes(buffer.getvalue())
    return path


def main(argv):
    """--fetch: fetch every package and build the initramfs; print the paths."""
    if argv != ["--fetch"]:
        print("usage: debian_boot.py --fetch", file=sys.stderr)
        return 2
    try:
        for path in (shim(), grub_net(), grub_pc_core(), kernel(), initramfs()):
            print(path)
    except Unavailable as exc:
        say(str(exc))
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
