"""QEMU virtual machines that network-boot real firmware, for pxeclass tests.

A VM boots one firmware profile (SeaBIOS with QEMU's iPXE option ROM, or OVMF
with EDK2's own PXE or HTTP Boot) from a tap device on a Topology's bridge.
QEMU runs under software emulation (TCG: KVM is not available on the
machines this project runs on), inside the server namespace, because a tap
device can only be opened from the namespace it lives in.  The serial
console goes to a file that the VM reads incrementally, so a test can wait
for the line a boot script echoes and then stop QEMU itself (Debian's iPXE
has no `poweroff`).

Only the Python standard library and qemu-system-x86 are needed; OVMF and
the ROMs come from Debian's ovmf, ipxe-qemu and seabios packages.
"""

import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass

from . import netns as netns_mod

QEMU_BINARY = "qemu-system-x86_64"
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"
# The identity the captures in tests/captures were recorded with.
DEFAULT_MAC = "52:54:00:77:00:01"
DEFAULT_UUID = "00112233-4455-6677-8899-aabbccddeeff"
DEFAULT_MEMORY_MB = 256
POLL_INTERVAL = 0.1
# OVMF fw_cfg knobs (OvmfPkg PlatformDxe) that turn off EDK2's PXE base code,
# leaving UEFI HTTP Boot as the first network boot option.
OVMF_NO_PXE = (("opt/org.tianocore/IPv4PXESupport", "n"),
               ("opt/org.tianocore/IPv6PXESupport", "n"))
# PXEv4 off: OVMF tries PXEv4 first, so this leaves PXEv6 the first network
# boot option (tests/captures g1: no minute lost to unanswered DISCOVERs).
OVMF_PXE6_ONLY = (("opt/org.tianocore/IPv4PXESupport", "n"),)

# PCI vendor:device each NIC model shows the firmware.  QEMU patches these
# ids into its own default ROMs only; a custom ROM must carry them itself.
NIC_PCI_IDS = {"virtio-net-pci": (0x1AF4, 0x1000), "e1000": (0x8086, 0x100E)}
# virtio-net with disable-legacy=on is the modern device (the id in Debian's
# /usr/lib/ipxe/virtio-net.rom)
VIRTIO_MODERN_ID = (0x1AF4, 0x1041)
PCI_ROM_CODE_X86 = 0

# ANSI/VT100 control sequences iPXE and OVMF print (colours, clear screen,
# cursor moves); removed before matching so patterns see plain text.
_CONTROL_SEQUENCE = re.compile(rb"\x1b(?:\[[0-9;?=]*[A-Za-z]|[()][A-Za-z0-9]|[=>c])|\r")


@dataclass(frozen=True)
class Profile:
    """How to start QEMU for one kind of boot firmware.

    name      the profile's key in PROFILES
    nic       QEMU network device model
    uefi      True: OVMF from pflash; False: QEMU's default SeaBIOS
    machine   -machine value (SeaBIOS prints to serial only with graphics=off)
    romfile   None: QEMU's default option ROM for the NIC (its iPXE);
              "": no ROM at all, the firmware's own driver (OVMF virtio)
    fw_cfg    (name, string) pairs passed with -fw_cfg
    about     one line for humans (lab output, test names)
    """
    name: str
    nic: str
    uefi: bool
    machine: str
    romfile: str = None
    fw_cfg: tuple = ()
    about: str = ""


PROFILES = {profile.name: profile for profile in (
    Profile("seabios-virtio", "virtio-net-pci", False, "pc,graphics=off", None, (),
            "SeaBIOS + virtio-net with QEMU's iPXE ROM (vendor iPXE)"),
    Profile("seabios-e1000", "e1000", False, "pc,graphics=off", None, (),
            "SeaBIOS + e1000 with QEMU's iPXE ROM (vendor iPXE)"),
    Profile("ovmf-pxe-virtio", "virtio-net-pci", True, "pc", "", (),
            "OVMF, virtio-net without ROM: EDK2's own UEFI PXE (arch 7)"),
    Profile("ovmf-pxe6-virtio", "virtio-net-pci", True, "pc", "", OVMF_PXE6_ONLY,
            "OVMF, virtio-net without ROM, IPv4 PXE off: EDK2's UEFI PXE over IPv6 (arch 7)"),
    Profile("ovmf-httpboot", "virtio-net-pci", True, "pc", "", OVMF_NO_PXE,
            "OVMF UEFI HTTP Boot (arch 16), PXE disabled by fw_cfg"),
)}


def profile_named(name):
    """The Profile called `name`; a KeyError lists the known names."""
    try:
        return PROFILES[name]
    except KeyError:
        raise KeyError(f"unknown firmware profile {name!r}; known: {', '.join(PROFILES)}") from None


def clean_console(raw):
    """Serial bytes as plain text: control sequences and CRs removed."""
    return _CONTROL_SEQUENCE.sub(b"", raw).decode("utf-8", errors="replace")


def rom_images(path):
    """(vendor, device, code type) of every image in a PCI option ROM file."""
    with open(path, "rb") as f:
        data = f.read()
    images, offset = [], 0
    while offset + 0x1A <= len(data) and data[offset:offset + 2] == b"\x55\xaa":
        pcir = offset + int.from_bytes(data[offset + 0x18:offset + 0x1A], "little")
        if data[pcir:pcir + 4] != b"PCIR" or pcir + 0x16 > len(data):
            break
        vendor = int.from_bytes(data[pcir + 4:pcir + 6], "little")
        device = int.from_bytes(data[pcir + 6:pcir + 8], "little")
        images.append((vendor, device, data[pcir + 0x14]))
        length = int.from_bytes(data[pcir + 0x10:pcir + 0x12], "little") * 512
        if data[pcir + 0x15] & 0x80 or length == 0:
            break
        offset += length
    return images


def nic_pci_id(nic, device_options=()):
    """(vendor, device) the NIC presents, or None for a model not in the table."""
    if nic == "virtio-net-pci" and "disable-legacy=on" in device_options:
        return VIRTIO_MODERN_ID
    return NIC_PCI_IDS.get(nic)


def check_bios_rom(path, nic, device_options=()):
    """Raise ValueError if SeaBIOS would silently skip ROM `path` on this NIC.

    SeaBIOS runs a ROM image only if its PCI ids equal the device's, and QEMU
    fixes the ids up for its default ROMs only, so a mismatched custom ROM
    would just leave the VM at "No bootable device".
    """
    wanted = nic_pci_id(nic, device_options)
    if wanted is None:
        return
    images = rom_images(path)
    if (*wanted, PCI_ROM_CODE_X86) not in images:
        found = ", ".join(f"{v:04x}:{d:04x}/type{t}" for v, d, t in images) or "no PCI image"
        raise ValueError(f"ROM {path} has {found}; {nic} is {wanted[0]:04x}:{wanted[1]:04x} "
                         "(for 1af4:1041 ROMs pass device_options=('disable-legacy=on',))")


def qemu_available():
    """None if QEMU and the firmware files are installed, else what is missing."""
    missing = [path for path in (OVMF_CODE, OVMF_VARS) if not os.path.exists(path)]
    if shutil.which(QEMU_BINARY) is None:
        missing.insert(0, QEMU_BINARY)
    return ", ".join(missing) or None


class QemuExited(RuntimeError):
    """QEMU ended before the awaited console output; carries its own output."""


class VM:
    """One QEMU guest booting `profile` from tap device `tap`.

    workdir   directory for the serial log, QEMU's output and OVMF's private
              VARS copy (each VM must own its VARS: OVMF writes boot entries)
    netns     pxelab.netns.Netns the tap lives in (None: caller's namespace)
    romfile   overrides the profile's option ROM (a custom iPXE .rom; its PCI
              ids must match the NIC, see check_bios_rom)
    device_options  more NIC properties, e.g. ("disable-legacy=on",)
    """

    def __init__(self, profile, workdir, tap, netns=None, mac=DEFAULT_MAC, uuid=DEFAULT_UUID,
                 romfile=None, memory_mb=DEFAULT_MEMORY_MB, device_options=(), extra_args=()):
        self.profile = profile_named(profile) if isinstance(profile, str) else profile
        self.workdir = workdir
        self.tap = tap
        self.netns = netns
        self.mac = mac
        self.uuid = uuid
        self.romfile = self.profile.romfile if romfile is None else romfile
        self.memory_mb = memory_mb
        self.device_options = tuple(device_options)
        self.extra_args = tuple(extra_args)
        self.serial_path = os.path.join(workdir, "serial.log")
        self.output_path = os.path.join(workdir, "qemu.out")
        self.vars_path = os.path.join(workdir, "OVMF_VARS.fd")
        self.process = None
        self.started_at = None
        self._raw = bytearray()
        self._read_offset = 0

    # -- command line ------------------------------------------------------
    def command(self):
        """The QEMU argv for this VM."""
        return [QEMU_BINARY, "-accel", "tcg", "-machine", self.profile.machine,
                "-m", str(self.memory_mb), "-nodefaults", "-no-user-config",
                "-display", "none", "-monitor", "none",
                "-serial", f"file:{self.serial_path}",
                "-uuid", self.uuid,
                *self._firmware_args(), *self._network_args(), *self._fw_cfg_args(),
                *self.extra_args]

    def _firmware_args(self):
        """pflash drives for OVMF (code read-only, VARS private); none for SeaBIOS."""
        if not self.profile.uefi:
            return []
        return ["-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={OVMF_CODE}",
                "-drive", f"if=pflash,format=raw,unit=1,file={self.vars_path}"]

    def _network_args(self):
        """The tap backend and the NIC with its fixed MAC and option ROM choice."""
        device = ",".join((self.profile.nic, "netdev=net0", f"mac={self.mac}", *self.device_options))
        if self.romfile is not None:
            device += f",romfile={self.romfile}"
        return ["-netdev", f"tap,id=net0,ifname={self.tap},script=no,downscript=no",
                "-device", device]

    def _fw_cfg_args(self):
        """-fw_cfg name=…,string=… for each of the profile's knobs."""
        args = []
        for name, value in self.profile.fw_cfg:
            args += ["-fw_cfg", f"name={name},string={value}"]
        return args

    # -- lifecycle ---------------------------------------------------------
    def start(self):
        """Prepare the workdir and start QEMU in the background."""
        os.makedirs(self.workdir, exist_ok=True)
        if self.romfile and not os.path.isfile(self.romfile):
            raise FileNotFoundError(f"option ROM {self.romfile} does not exist")
        if self.romfile and not self.profile.uefi:
            check_bios_rom(self.romfile, self.profile.nic, self.device_options)
        if self.profile.uefi:
            shutil.copyfile(OVMF_VARS, self.vars_path)
        open(self.serial_path, "wb").close()
        self._raw.clear()
        self._read_offset = 0
        self.started_at = time.monotonic()
        if self.netns is not None:
            self.process = self.netns.start(self.command(), self.output_path)
        else:
            log_file = open(self.output_path, "wb")
            popen = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=log_file,
                                     stderr=subprocess.STDOUT, start_new_session=True)
            self.process = netns_mod.BackgroundProcess(popen, self.output_path, log_file)
        return self

    def running(self):
        """True while QEMU has not exited."""
        return self.process is not None and self.process.running()

    def stop(self):
        """Stop QEMU by its PID (SIGTERM, then SIGKILL); keep the logs."""
        if self.process is not None:
            self.process.stop()
        self.read_serial()

    def elapsed(self):
        """Seconds since start()."""
        return time.monotonic() - self.started_at

    def qemu_output(self):
        """What QEMU itself printed (errors about the tap, the ROM, …)."""
        try:
            with open(self.output_path, "r", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- serial console ----------------------------------------------------
    def read_serial(self):
        """Append what the guest printed since the last call; return it as text."""
        try:
            with open(self.serial_path, "rb") as f:
                f.seek(self._read_offset)
                chunk = f.read()
        except FileNotFoundError:
            return ""
        self._read_offset += len(chunk)
        self._raw += chunk
        return clean_console(chunk)

    def console(self):
        """The whole serial console so far, as plain text."""
        self.read_serial()
        return clean_console(bytes(self._raw))

    def count(self, pattern):
        """How many times regex `pattern` occurs on the console so far."""
        return len(re.findall(pattern, self.console(), re.MULTILINE))

    def wait_for(self, pattern, timeout, occurrences=1):
        """Wait until regex `pattern` appeared `occurrences` times on the console.

        Returns the last match, or None on timeout.  Raises QemuExited if QEMU
        ends first, so a broken command line fails at once with its message.
        """
        deadline = time.monotonic() + timeout
        while True:
            matches = list(re.finditer(pattern, self.console(), re.MULTILINE))
            if len(matches) >= occurrences:
                return matches[occurrences - 1]
            if not self.running() and len(re.findall(pattern, self.console(), re.MULTILINE)) < occurrences:
                raise QemuExited(f"QEMU exited ({self.process.popen.returncode}) before "
                                 f"{pattern!r}: {self.qemu_output().strip()}")
            if time.monotonic() >= deadline:
                return None
            time.sleep(POLL_INTERVAL)
