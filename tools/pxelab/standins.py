"""Stand-in boot files: what the lab serves in place of the user's files.

For every boot file name a config can hand out the lab writes a small file
into its TFTP root (a path) or HTTP root (a URL's path) that says what the
real file would be.  A client that fetched it reads it and behaves
accordingly, so a user's config runs without the user's files.

What a name stands for is guessed from the name alone (first rule that
applies; the name is the file name of the path or URL, lower-cased, query
dropped):

  kernel     vmlinuz*, bzImage*, linux: a Linux kernel (its initramfs
             asks DHCP: the lab plays klibc's ipconfig, class os)
  shim       shim.efi, shimx64.efi, shimaa64.efi, shimia32.efi: shim, which
             loads grub<arch>.efi from its own directory (no DHCP)
  grub       grub*.efi (grubx64.efi, grubnetx64.efi ...): GRUB's net image;
             it comes with its config, grub/grub.cfg in the TFTP root
             (Debian's netboot GRUB has prefix /grub), which asks DHCP
             (net_dhcp: class grub)
  wdsnbp     wdsnbp.com: Windows Deployment Services' NBP, which asks the
             server again from its address (class wds)
  script     extension .ipxe .php .cgi .pl .py .sh .txt .asp .aspx .jsp
             .cfg, or a URL whose name has no extension (an iPXE script
             served by a web application: /boot, /api/boot?mac=...)
  ipxe       extension .kpxe .kkpxe .kkkpxe .lkrn (iPXE-only formats), or a
             name containing ipxe, undionly, snponly, snp or gpxe with
             extension .efi .pxe .0 .usb .iso .dsk
  nbp        any other extension .0 .efi .com .n12 .pxe .bin .sys:
             another network bootstrap program (pxelinux.0, grubx64.efi,
             bootmgfw.efi, wdsnbp.com); the chain ends there
  nbp/any    anything else (no recognisable extension, TFTP path)

The architecture of a binary comes from the name too:

  efi-arm64  .efi with arm64, aa64 or aarch64 in the name
  efi-x86    .efi with ia32, i386, i686, x86 (not x86_64/x86-64) or a
             lone 32 (ipxe32.efi, bootia32.efi)
  efi-x64    any other .efi
  bios       .kpxe .kkpxe .kkkpxe .pxe .lkrn .0 .com .n12 .usb .iso .dsk
  any        anything else (runs on every client)

`--standin NAME=KIND[:ARCH]` overrides the guess (KIND: ipxe, script, nbp,
or missing to leave the file out and see the fetch fail).
"""

import os
import re
import urllib.parse
from dataclasses import dataclass

from .labconf import URL_RE

KINDS = ("ipxe", "script", "nbp", "kernel", "shim", "grub", "wdsnbp", "missing")
ARCHES = ("bios", "efi-x86", "efi-x64", "efi-arm64", "any")
ARCH_TITLES = {"bios": "x86 BIOS", "efi-x86": "32-bit x86 UEFI", "efi-x64": "x64 UEFI",
               "efi-arm64": "ARM64 UEFI", "any": "any architecture"}

SCRIPT_EXTENSIONS = {".ipxe", ".php", ".cgi", ".pl", ".py", ".sh", ".txt", ".asp", ".aspx",
                     ".jsp", ".cfg"}
IPXE_ONLY_EXTENSIONS = {".kpxe", ".kkpxe", ".kkkpxe", ".lkrn"}
IPXE_NAME_RE = re.compile(r"ipxe|undionly|snponly|snp|gpxe")
IPXE_EXTENSIONS = {".efi", ".pxe", ".0", ".usb", ".iso", ".dsk"}
NBP_EXTENSIONS = {".0", ".efi", ".com", ".n12", ".pxe", ".bin", ".sys"}
BIOS_EXTENSIONS = {".kpxe", ".kkpxe", ".kkkpxe", ".pxe", ".lkrn", ".0", ".com", ".n12", ".usb",
                   ".iso", ".dsk"}
ARM64_RE = re.compile(r"arm64|aa64|aarch64")
IA32_RE = re.compile(r"ia32|i386|i686|x86(?![-_]?64)|(?<!\d)32(?!\d)")

KERNEL_RE = re.compile(r"^(vmlinuz|bzimage)[^/]*$|^linux$")
SHIM_RE = re.compile(r"^shim(x64|aa64|ia32)?\.efi$")
GRUB_RE = re.compile(r"^grub[a-z0-9_]*\.efi$")
WDSNBP_NAME = "wdsnbp.com"
GRUB_CONFIG = "grub/grub.cfg"
SHIM_LOADS = {"efi-x64": "grubx64.efi", "efi-arm64": "grubaa64.efi", "efi-x86": "grubia32.efi"}

MAGIC = "#!pxelab-standin"
SCRIPT_MAGIC = "#!ipxe"


@dataclass(frozen=True)
class StandIn:
    """What a boot file name stands for."""
    kind: str       # ipxe, script, nbp, kernel, shim, grub, grub-cfg, wdsnbp, missing
    arch: str       # bios, efi-x86, efi-x64, efi-arm64, any
    why: str        # which rule decided (for the report)

    def title(self):
        """'x64 UEFI iPXE binary', 'iPXE script', 'BIOS NBP' ..."""
        if self.kind == "script":
            return "iPXE script"
        if self.kind == "missing":
            return "missing file"
        if self.kind == "kernel":
            return "Linux kernel"
        if self.kind == "grub-cfg":
            return "GRUB config (net_dhcp)"
        what = {"ipxe": "iPXE binary", "shim": "shim", "grub": "GRUB net image",
                "wdsnbp": "wdsnbp"}.get(self.kind, "NBP")
        return f"{ARCH_TITLES[self.arch]} {what}" if self.arch != "any" else what


def file_name(name):
    """The last path element of a TFTP path or URL, lower-cased, no query."""
    path = urllib.parse.urlsplit(name).path if URL_RE.match(name) else name
    return path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1].lower()


def extension(base):
    """'.efi' of 'ipxe.efi'; '' without a dot."""
    return os.path.splitext(base)[1]


def guess_arch(base):
    """The architecture a binary's name suggests (see the module doc)."""
    ext = extension(base)
    if ext == ".efi":
        if ARM64_RE.search(base):
            return "efi-arm64"
        if IA32_RE.search(base):
            return "efi-x86"
        return "efi-x64"
    return "bios" if ext in BIOS_EXTENSIONS else "any"


def guess(name):
    """The StandIn a boot file name stands for, by the rules of the module doc."""
    base = file_name(name)
    ext = extension(base)
    if KERNEL_RE.match(base):
        return StandIn("kernel", "any", "name of a Linux kernel")
    if SHIM_RE.match(base):
        return StandIn("shim", guess_arch(base), "name shim")
    if GRUB_RE.match(base):
        return StandIn("grub", guess_arch(base), "name grub")
    if base == WDSNBP_NAME:
        return StandIn("wdsnbp", "bios", "name wdsnbp")
    if ext in SCRIPT_EXTENSIONS:
        return StandIn("script", "any", f"extension {ext}")
    if URL_RE.match(name) and not ext:
        return StandIn("script", "any", "URL without an extension")
    if ext in IPXE_ONLY_EXTENSIONS:
        return StandIn("ipxe", guess_arch(base), f"extension {ext}")
    if ext in IPXE_EXTENSIONS and IPXE_NAME_RE.search(base):
        return StandIn("ipxe", guess_arch(base), f"name {IPXE_NAME_RE.search(base).group()}")
    if ext in NBP_EXTENSIONS:
        return StandIn("nbp", guess_arch(base), f"extension {ext}")
    return StandIn("nbp", "any", "no known extension")


def parse_override(text):
    """'NAME=KIND[:ARCH]' -> (NAME, StandIn); ValueError with the reason."""
    name, sep, spec = text.rpartition("=")
    if not sep or not name:
        raise ValueError(f"--standin {text!r}: expected NAME=KIND[:ARCH]")
    kind, _, arch = spec.partition(":")
    if kind not in KINDS:
        raise ValueError(f"--standin {text!r}: kind must be one of {', '.join(KINDS)}")
    arch = arch or ("any" if kind in ("script", "missing") else None)
    if arch is None:
        arch = guess_arch(file_name(name))
    if arch not in ARCHES:
        raise ValueError(f"--standin {text!r}: arch must be one of {', '.join(ARCHES)}")
    return name, StandIn(kind, arch, "--standin")


def decide(name, overrides):
    """The StandIn for `name`: an override naming it (whole or file name), else the guess."""
    for key, standin in overrides.items():
        if key == name or ("/" not in key and file_name(key) == file_name(name)):
            return standin
    return guess(name)


def content(name, standin):
    """The bytes of a stand-in file: a script is a real (tiny) iPXE script,
    anything else a marker line naming kind and arch."""
    if standin.kind == "script":
        return (f"{SCRIPT_MAGIC}\n# pxeclass lab stand-in for {name}\n"
                f"echo pxeclass lab: reached {name}\n").encode()
    return f"{MAGIC} kind={standin.kind} arch={standin.arch} name={name}\n".encode()


def read(data):
    """(kind, arch) of fetched bytes: a stand-in marker, an iPXE script
    (#!ipxe, as iPXE itself recognises one), else an unknown NBP."""
    text = data[:256].decode("latin-1")
    if text.startswith(SCRIPT_MAGIC):
        return "script", "any"
    if text.startswith(MAGIC):
        fields = dict(item.split("=", 1) for item in text.split("\n", 1)[0].split()[1:]
                      if "=" in item)
        return fields.get("kind", "nbp"), fields.get("arch", "any")
    return "nbp", "any"


def relative_path(name):
    """Where a TFTP path or URL path lives under a root (no leading '/',
    backslashes as dnsmasq reads them)."""
    path = urllib.parse.urlsplit(name).path if URL_RE.match(name) else name
    path = path.replace("\\", "/").lstrip("/")
    return os.path.normpath(path) if path else "index"


def shim_loads(name, arch):
    """The GRUB a shim at NAME loads: grub<arch>.efi from its directory."""
    head, sep, _ = name.replace("\\", "/").rpartition("/")
    return head + sep + SHIM_LOADS.get(arch, "grubx64.efi")


def write(root, name, standin):
    """Write the stand-in for `name` under `root` (nothing for 'missing'),
    for a shim the GRUB it loads too; returns the path written or None."""
    if standin.kind == "missing":
        return None
    if standin.kind == "shim":
        grub = shim_loads(name, standin.arch)
        write(root, grub, StandIn("grub", standin.arch, f"loaded by {file_name(name)}"))
    if standin.kind == "grub":
        write(root, GRUB_CONFIG, StandIn("grub-cfg", "any", f"read by {file_name(name)}"))
    path = os.path.join(root, relative_path(name))
    if not os.path.abspath(path).startswith(os.path.abspath(root) + os.sep):
        return None
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(content(name, standin))
    return path
