"""Real-firmware boot scenarios: data, and the runner that plays one.

A Scenario names a firmware profile (pxelab.qemu), the dnsmasq config that
answers it, the files the TFTP/HTTP root holds and the chain it must show:
ordered regexes per observation stream.  Streams:

  dnsmasq   the answering dnsmasq's own log (log-dhcp lines, TFTP "sent" lines)
  peer      the second, plain DHCP server's log (proxyDHCP scenarios)
  http      the HTTP server's access log, one "METHOD /path STATUS" per line
  serial    the guest's serial console, control sequences removed

Expectations of one stream must match in the given order, each after the end
of the previous match; count=N needs N successive matches, count=0 means the
pattern must not appear anywhere in the stream.  Expectations with a
`thread` are ordered only among those of the same thread (in_thread): two
exchanges that run at once, such as iPXE's DHCPv4 and DHCPv6, interleave in
one log in any order.  Scenarios are plain data so
the same chains can be pointed at the patched dnsmasq and other configs:
PXC_DNSMASQ picks the binary, PXC_FW_CONFIG_DIR/<name>.conf (if present)
replaces a scenario's stock config, PXC_DNSMASQ_PEER the binary of the
plain DHCP server next to a proxy (default: PXC_DNSMASQ).

Configs are either captured stock configs (tests/captures/*/dnsmasq.conf) or
the project's examples/*.conf as a reader would paste them: the harness adds
what only the lab needs (LAB_LINES: interface, no DNS, log-dhcp, its TFTP
root) and the speed lines, nothing that changes a boot decision.

Run by tests/firmware/test_firmware.py; `python3 scenarios.py NAME…` plays
scenarios directly and prints their boot times.
"""

import dataclasses
import functools
import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))

from pxelab import firmware, qemu, topology  # noqa: E402
from pxelab.netns import SERVER_IPV6, Topology  # noqa: E402
from pxelab.servers import (Dnsmasq, HttpFileServer, range_families,  # noqa: E402
                            set_config_option)

sys.path.insert(0, str(Path(__file__).resolve().parent))
import debian_boot  # noqa: E402

SERVER_IP = "10.77.0.1"
PEER_ADDR = "10.77.0.2/24"
TAP = "tap0"
DEBIAN_IPXE_DIR = "/usr/lib/ipxe"
CAPTURES = REPO / "tests" / "captures"
CONFIGS = Path(__file__).resolve().parent / "configs"
BUILD_CSTM = Path(__file__).resolve().parent / "build-ipxe-cstm"
# Lines that cut a boot by ~13 s (iPXE waits for IPv6 configuration unless a
# router advertisement arrives) and skip dnsmasq's ping before an offer.
# The RA-only range only where the config serves no DHCPv6 of its own (its
# range then makes the RA, with the M flag iPXE's DHCPv6 needs).
RA_ONLY_RANGE = "dhcp-range=fd77::,ra-only,64,10m"
SPEED_LINES = ("no-ping", "enable-ra", RA_ONLY_RANGE)
# What a config needs to run in the lab at all, added when its key is absent
# (the examples leave these to the reader's dnsmasq.conf): serve only the
# bridge, no DNS, log every DHCP decision (incl. the pxeclass lines), read
# the TFTP root in a temp directory as root.
LAB_LINES = ("interface=br0", "bind-interfaces", "port=0", "log-dhcp", "user=root", "group=root")
BIOS_TIMEOUT = 60.0
UEFI_TIMEOUT = 120.0


class SourceUnavailable(RuntimeError):
    """A file a scenario needs cannot be had on this machine (test skips)."""


@dataclass(frozen=True)
class Expect:
    """One step of a chain: `pattern` seen `count` times in `stream` (0: never).

    thread  "" (the stream's main order) or the name of an order of its own
    """
    stream: str
    pattern: str
    count: int = 1
    thread: str = ""


def dnsmasq(pattern, count=1):
    """An expected line of the answering dnsmasq's log."""
    return Expect("dnsmasq", pattern, count)


def peer(pattern, count=1):
    """An expected line of the plain DHCP server's log."""
    return Expect("peer", pattern, count)


def http(pattern, count=1):
    """An expected HTTP access ("GET /path 200")."""
    return Expect("http", pattern, count)


def serial(pattern, count=1):
    """An expected piece of the guest's serial console."""
    return Expect("serial", pattern, count)


def never(stream, pattern):
    """A pattern that must not appear in `stream` at all."""
    return Expect(stream, pattern, 0)


def in_thread(thread, *expects):
    """`expects`, ordered among themselves only (not against the rest of their stream)."""
    return tuple(replace(expect, thread=thread) for expect in expects)


@dataclass(frozen=True)
class Scenario:
    """One firmware boot against one config, and the chain it must show.

    config       dnsmasq config (repo-relative); /srv/tftp in it is replaced
                 by the scenario's file root, SPEED_LINES are added if absent
    files        {name in the TFTP/HTTP root: FILE_SOURCES key}
    peer_config  config of a second, plain DHCP server at PEER_ADDR (or None)
    stop_at      (serial regex, occurrences) that ends the boot; default: the
                 marker line the script echoes
    scripts      {name in the root: iPXE script}; "{marker}" in a script is
                 replaced by the scenario's marker
    """
    name: str
    about: str
    profile: str
    config: str
    expect: tuple
    files: dict = field(default_factory=lambda: {"undionly.kpxe": "debian-undionly",
                                                 "ipxe.efi": "debian-ipxe-efi"})
    peer_config: str = None
    stop_at: tuple = None
    timeout: float = BIOS_TIMEOUT
    romfile: str = None
    device_options: tuple = ()
    scripts: dict = field(default_factory=lambda: {"boot.ipxe": "#!ipxe\necho {marker}\n"})
    relay: bool = False          # the boot server behind ISC dhcrelay (stream "relay")
    hold_offers: int = 0         # seconds the boot server holds its offers (a rival first)

    @property
    def marker(self):
        """The line the scenario's boot script echoes."""
        return f"PXC-MARKER-{self.name}"

    def stop_condition(self):
        """(regex, occurrences) on the serial console that ends the boot."""
        return self.stop_at or (rf"^{re.escape(self.marker)}$", 1)

    def script_files(self):
        """{name: text} of the iPXE scripts the root holds."""
        return {name: text.replace("{marker}", self.marker) for name, text in self.scripts.items()}


MAC = re.escape(qemu.DEFAULT_MAC)
ACK = rf"DHCPACK\(br0\) 10\.77\.0\.\d+ {MAC}"
SCRIPT_URL = re.escape(f"http://{SERVER_IP}/boot.ipxe")
TFTP_SENT = r"sent \S*/{} to 10\.77\.0\.\d+"
# What the firmware sends, from the firmware fact sheet (tools/pxelab/firmware.sheet).
ROM_VENDOR_CLASS = "vendor class: " + re.escape(firmware.text_option("ipxe-bios", 60))
# dnsmasq logs a dhcp-option-force value given without a type as hex.
HTTPCLIENT_HEX = ":".join(f"{byte:02x}" for byte in b"HTTPClient")
IPXE_BANNER = r"iPXE 1\.\d+\.\d+\S*(?: \(\w+\))? -- Open Source Network Boot Firmware"
IPXE_GOT_SCRIPT = (serial(rf"Filename: {SCRIPT_URL}"), serial(rf"{SCRIPT_URL}\.\.\. ok"),
                   serial(r"boot\.ipxe : \d+ bytes \[script\]"))
# QEMU's iPXE ROM taking over from SeaBIOS.
ROM_STARTS = serial(r"iPXE \(PCI 00:02\.0\) starting execution")
# iPXE's lease from the plain DHCP server next to a proxy (its router).
PEER_LEASE = serial(r"net0: 10\.77\.0\.\d+/255\.255\.255\.0 gw 10\.77\.0\.2")


def _marker(name):
    """The serial expectation of the marker line of scenario `name`."""
    return serial(rf"^PXC-MARKER-{name}$")


def _vendor_rom_gets_script(name, ipxe_driver):
    """Chain of QEMU's iPXE ROM handed the script URL at once: never chainloaded."""
    return (dnsmasq(ROM_VENDOR_CLASS), dnsmasq(r"user class: iPXE"), dnsmasq(ACK),
            dnsmasq(rf"option: 67 bootfile-name\s+{SCRIPT_URL}"),
            never("dnsmasq", r"^sent /"),
            http(r"^GET /boot\.ipxe 200$"),
            ROM_STARTS,
            serial(rf"net0: {MAC} using {ipxe_driver}"), *IPXE_GOT_SCRIPT, _marker(name),
            never("serial", r"undionly"))


# -- the project's examples on real firmware, patched dnsmasq ------------------
# What the pxeclass hooks log (log-dhcp) for each request: the classification
# with the chain when a tracker runs, and the tag each directive set.
EXAMPLES = "examples"
PEER_CONFIG = "tests/firmware/configs/proxy-peer-dhcp.conf"
TAG_BIOS = r"bios \(dhcp-pxe-arch=set:bios,bios\)"
TAG_OWN = r"own \(dhcp-pxe-class=set:own,ipxe-own\)"
TAG_IPXE = r"ipxe \(dhcp-pxe-class=set:ipxe,ipxe\)"
TAG_HTTP = r"http \(dhcp-ipxe-feature=set:http,http\)"
TAG_X64 = r"x64 \(dhcp-pxe-arch=set:x64,x64\)"
TAG_EFI64 = r"efi64 \(dhcp-pxe-arch=set:efi64,x64\)"
EDK2_PXE_VENDOR_CLASS = "vendor class: " + re.escape(firmware.text_option("edk2-pxe-efi-x64", 60))
IPXE_EFI_VENDOR_CLASS = "vendor class: " + re.escape(firmware.text_option("ipxe-efi-x64", 60))
IPXE_BIOS_SUMMARY = (r"class=ipxe{own} arch=0\(x86-bios\) version="
                     + re.escape(firmware.ipxe_version_text("ipxe-bios"))
                     + r" busid={busid} user-class={uc} ")
IPXE_EFI_SUMMARY = (r"class=ipxe{own} arch=7\(efi-x64\) version="
                    + re.escape(firmware.ipxe_version_text("ipxe-efi-x64"))
                    + r" busid=pci:1af4:1000 user-class={uc} ")
NIC_BUSIDS = {name: f"pci:{vendor:04x}:{device:04x}"
              for name, (vendor, device) in qemu.NIC_PCI_IDS.items()}
LOOP_SCRIPT = "#!ipxe\necho PXC-LOOP-GUARD-TRIPPED\necho {marker}\n"


def pxeclass(summary, hops=None):
    """A `pxeclass:` line starting with `summary`; with `hops`, ending in " hops=<hops>".

    The hops field and the chain after it appear only when the config runs
    the chain tracker (dhcp-ipxe-own=chained or dhcp-chain-guard).
    """
    if hops is None:
        return dnsmasq(rf"pxeclass: {summary}")
    return dnsmasq(rf"pxeclass: {summary}.* hops={hops}$")


def pxeclass_tags(*tags):
    """The `pxeclass tags:` line naming exactly these tags, in this order."""
    return dnsmasq(rf"pxeclass tags: {', '.join(tags) if tags else 'none'}$")


def bootfile(name):
    """dnsmasq's log of option 67 in a reply (a DHCP server's, not a proxy's)."""
    return dnsmasq(rf"option: 67 bootfile-name\s+{name}$")


def sent_once(file_regex, sent=TFTP_SENT):
    """The TFTP download of a file (`sent`: the line's form), and never a second one."""
    return (dnsmasq(sent.format(file_regex)),
            never("dnsmasq", rf"sent \S*/{file_regex} (?s:.*)sent \S*/{file_regex} "))


def only_http(*paths):
    """HTTP: these GETs in order, and nothing else fetched with GET."""
    alternatives = "|".join(paths)
    return (*(http(rf"^GET {path} 200$") for path in paths),
            never("http", rf"^GET (?!(?:{alternatives}) 200$)"))


def _chained_02b(name, profile, ipxe_driver):
    """02b on a vendor iPXE ROM: chainloaded once into undionly.kpxe, which gets the script.

    The two iPXEs send the same bytes; only the chain tells them apart:
    own=vendor with no own tag first, own=own one hop later.
    """
    busid = NIC_BUSIDS[qemu.PROFILES[profile].nic]
    summary = IPXE_BIOS_SUMMARY.format(busid=busid, uc="iPXE", own="{own}")
    return Scenario(
        name, f"02b-qemu-ipxe-chained: {qemu.PROFILES[profile].about} -> chainloaded once into "
        "Debian's undionly.kpxe (own by the chain) -> script",
        profile, f"{EXAMPLES}/02b-qemu-ipxe-chained.conf",
        (pxeclass(summary.format(own=" own=vendor"), r"0 chain=ipxe/vendor@0s"),
         pxeclass_tags(TAG_BIOS), dnsmasq(ROM_VENDOR_CLASS), dnsmasq(r"user class: iPXE"),
         dnsmasq(ACK), bootfile(r"undionly\.kpxe"),
         *sent_once(r"undionly\.kpxe"),
         pxeclass(summary.format(own=" own=own"),
                  r"1 chain=ipxe/vendor@0s>undionly\.kpxe ipxe/own@\d+s"),
         pxeclass_tags(TAG_OWN, TAG_BIOS), dnsmasq(ACK), bootfile(SCRIPT_URL),
         never("dnsmasq", r"own=own(?s:.*)^sent "),
         never("dnsmasq", r"^sent (?s:.*)own=vendor"),
         never("dnsmasq", r"chainload loop"),
         *only_http(r"/boot\.ipxe"),
         ROM_STARTS,
         serial(rf"net0: {MAC} using {ipxe_driver}"), serial(r"Filename: undionly\.kpxe"),
         serial(r"undionly\.kpxe : \d+ bytes \[PXE-NBP\]"), serial(IPXE_BANNER),
         serial(rf"net0: {MAC} using undionly"), *IPXE_GOT_SCRIPT, _marker(name),
         never("serial", r"Filename: undionly\.kpxe(?s:.*)Filename: undionly\.kpxe")))


def _cstm01_seabios(name):
    """01 on QEMU's vendor ROM: chainloaded into undionly-cstm.kpxe, whose CSTM gets the script."""
    summary = IPXE_BIOS_SUMMARY.format(busid=NIC_BUSIDS["virtio-net-pci"], uc="{uc}", own="{own}")
    return Scenario(
        name, "01-vendor-ipxe-custom-user-class: vendor ROM (iPXE) -> undionly-cstm.kpxe "
        "(user class CSTM, own) -> script",
        "seabios-virtio", f"{EXAMPLES}/01-vendor-ipxe-custom-user-class.conf",
        (pxeclass(summary.format(own=" own=vendor", uc="iPXE")), pxeclass_tags(TAG_BIOS),
         dnsmasq(ROM_VENDOR_CLASS), dnsmasq(r"user class: iPXE$"), dnsmasq(ACK),
         bootfile(r"undionly-cstm\.kpxe"), *sent_once(r"undionly-cstm\.kpxe"),
         pxeclass(summary.format(own=" own=own", uc="CSTM")), pxeclass_tags(TAG_OWN, TAG_BIOS),
         dnsmasq(r"user class: CSTM$"), dnsmasq(ACK), bootfile(SCRIPT_URL),
         never("dnsmasq", r"user-class=CSTM(?s:.*)user-class=iPXE"),
         *only_http(r"/boot\.ipxe"),
         ROM_STARTS,
         serial(r"Filename: undionly-cstm\.kpxe"),
         serial(r"undionly-cstm\.kpxe : \d+ bytes \[PXE-NBP\]"), serial(IPXE_BANNER),
         serial(rf"net0: {MAC} using undionly"), *IPXE_GOT_SCRIPT, _marker(name)),
        files={"undionly-cstm.kpxe": "cstm-undionly"})


def _uefi_pxe_to_ipxe(efi_file):
    """Serial console of OVMF's UEFI PXE loading `efi_file`, then iPXE over SNP."""
    return (serial(r"Start PXE over IPv4"), serial(rf"NBP filename is {efi_file}"),
            serial(r"NBP file downloaded successfully"), serial(IPXE_BANNER),
            serial(rf"net0: {MAC} using SNP"))


def _cstm01_ovmf(name):
    """01 on OVMF UEFI PXE: ipxe-cstm.efi, whose CSTM gets the script."""
    return Scenario(
        name, "01-vendor-ipxe-custom-user-class: OVMF UEFI PXE -> ipxe-cstm.efi "
        "(user class CSTM, own) -> script",
        "ovmf-pxe-virtio", f"{EXAMPLES}/01-vendor-ipxe-custom-user-class.conf",
        (pxeclass(r"class=pxe arch=7\(efi-x64\)$"), pxeclass_tags(TAG_EFI64),
         dnsmasq(EDK2_PXE_VENDOR_CLASS), dnsmasq(ACK), bootfile(r"ipxe-cstm\.efi"),
         *sent_once(r"ipxe-cstm\.efi"),
         pxeclass(IPXE_EFI_SUMMARY.format(own=" own=own", uc="CSTM")),
         pxeclass_tags(TAG_OWN, TAG_EFI64), dnsmasq(IPXE_EFI_VENDOR_CLASS),
         dnsmasq(r"user class: CSTM$"), dnsmasq(ACK), bootfile(SCRIPT_URL),
         never("dnsmasq", r"own=vendor|user class: iPXE"),
         *only_http(r"/boot\.ipxe"),
         *_uefi_pxe_to_ipxe(r"ipxe-cstm\.efi"), *IPXE_GOT_SCRIPT, _marker(name)),
        files={"ipxe-cstm.efi": "cstm-ipxe-efi"}, timeout=UEFI_TIMEOUT)


def _lab_ovmf_pxe(name):
    """lab.conf on OVMF UEFI PXE: ipxe.efi, own by the chain (one hop), gets the script."""
    return Scenario(
        name, "lab.conf: OVMF UEFI PXE -> Debian's ipxe.efi (own: chained, one hop) -> script",
        "ovmf-pxe-virtio", f"{EXAMPLES}/lab.conf",
        (pxeclass(r"class=pxe arch=7\(efi-x64\) hops=0 chain=pxe@0s$"), pxeclass_tags(TAG_X64),
         dnsmasq(EDK2_PXE_VENDOR_CLASS), dnsmasq(ACK), bootfile(r"ipxe\.efi"),
         *sent_once(r"ipxe\.efi"),
         pxeclass(IPXE_EFI_SUMMARY.format(own=" own=own", uc="iPXE"),
                  r"1 chain=pxe@0s>ipxe\.efi ipxe/own@\d+s"),
         pxeclass_tags(TAG_OWN, TAG_X64), dnsmasq(IPXE_EFI_VENDOR_CLASS), dnsmasq(ACK),
         bootfile(SCRIPT_URL),
         never("dnsmasq", r"own=vendor|undionly|chainload loop"),
         *only_http(r"/boot\.ipxe"),
         *_uefi_pxe_to_ipxe(r"ipxe\.efi"), *IPXE_GOT_SCRIPT, _marker(name)),
        files={"ipxe.efi": "debian-ipxe-efi"}, timeout=UEFI_TIMEOUT)


def _httpboot06(name):
    """06 on OVMF HTTP Boot: 60 HTTPClient echoed, ipxe.efi by URL, then the script."""
    efi_url = re.escape(f"http://{SERVER_IP}/ipxe.efi")
    return Scenario(
        name, "06-http-boot-and-arm64: OVMF UEFI HTTP Boot -> ipxe.efi over HTTP "
        "(60 HTTPClient echoed) -> script",
        "ovmf-httpboot", f"{EXAMPLES}/06-http-boot-and-arm64.conf",
        (pxeclass(r"class=http-boot arch=16\(efi-x64-http\)$"),
         pxeclass_tags(r"httpboot \(dhcp-pxe-class=set:httpboot,http-boot\)", TAG_X64),
         dnsmasq(r"vendor class: HTTPClient:Arch:00016:UNDI:003000"), dnsmasq(ACK),
         bootfile(efi_url), dnsmasq(rf"option: 60 vendor-class\s+(HTTPClient|{HTTPCLIENT_HEX})$"),
         pxeclass(IPXE_EFI_SUMMARY.format(own="", uc="iPXE")), pxeclass_tags(TAG_IPXE, TAG_X64),
         dnsmasq(IPXE_EFI_VENDOR_CLASS), dnsmasq(ACK), bootfile(SCRIPT_URL),
         never("dnsmasq", r"^sent /"),
         *only_http(r"/ipxe\.efi", r"/boot\.ipxe"),
         serial(r"Start HTTP Boot over IPv4"), serial(rf"URI: {efi_url}"), serial(IPXE_BANNER),
         serial(rf"net0: {MAC} using SNP"), *IPXE_GOT_SCRIPT, _marker(name)),
        files={"ipxe.efi": "debian-ipxe-efi"}, timeout=UEFI_TIMEOUT)


def _plain_peer(*chain):
    """The stock DHCP server next to the proxy: addresses only, no boot file, no pxeclass."""
    return (*chain, never("peer", r"option: 67 bootfile-name|bootfile name:|pxeclass"))


PEER_ACK = ACK.replace("br0", "eth0")


def _proxy03_seabios(name):
    """03 on QEMU's vendor ROM: proxy offer, then the ROM's boot-server request to port 4011."""
    summary = IPXE_BIOS_SUMMARY.format(busid=NIC_BUSIDS["virtio-net-pci"], uc="iPXE", own="")
    return Scenario(
        name, "03-proxy-by-arch: SeaBIOS vendor ROM, address from a stock dnsmasq at 10.77.0.2, "
        "proxy offer, boot-server request on port 4011 -> script",
        "seabios-virtio", f"{EXAMPLES}/03-proxy-by-arch.conf",
        (*_plain_peer(peer(ROM_VENDOR_CLASS), peer(PEER_ACK)),
         pxeclass(summary), pxeclass_tags(TAG_IPXE, TAG_HTTP, TAG_BIOS), dnsmasq(ROM_VENDOR_CLASS),
         dnsmasq(rf"PXE\(br0\) {MAC} proxy$"), dnsmasq(rf"bootfile name: {SCRIPT_URL}$"),
         # the port-4011 exchange: iPXE's PXEBS with the short vendor class,
         # answered by dnsmasq's boot-server path (logged with the address)
         pxeclass(summary), pxeclass_tags(TAG_IPXE, TAG_HTTP, TAG_BIOS), dnsmasq(r"vendor class: PXEClient$"),
         dnsmasq(rf"PXE\(br0\) 10\.77\.0\.\d+ {MAC} {SCRIPT_URL}$"),
         dnsmasq(rf"bootfile name: {SCRIPT_URL}$"),
         never("dnsmasq", r"DHCPACK|DHCPOFFER|^sent /"),
         *only_http(r"/boot\.ipxe"),
         ROM_STARTS,
         PEER_LEASE,
         serial(r"PXEBS \(net0 type \d+\)\.\.\. ok"), serial(rf"Next server: {SERVER_IP}"),
         *IPXE_GOT_SCRIPT, _marker(name)),
        peer_config=PEER_CONFIG)


def _proxy03_ovmf(name):
    """03 on OVMF UEFI PXE: both EDK2 and iPXE get their file from the port-4011 exchange."""
    server_name = rf"server name: {re.escape(SERVER_IP)}$"
    return Scenario(
        name, "03-proxy-by-arch: OVMF UEFI PXE, address from a stock dnsmasq at 10.77.0.2, "
        "boot file on port 4011 -> ipxe.efi -> iPXE, script on port 4011",
        "ovmf-pxe-virtio", f"{EXAMPLES}/03-proxy-by-arch.conf",
        (*_plain_peer(peer(EDK2_PXE_VENDOR_CLASS), peer(PEER_ACK), peer(IPXE_EFI_VENDOR_CLASS),
                      peer(PEER_ACK)),
         pxeclass(r"class=pxe arch=7\(efi-x64\)$"), pxeclass_tags(TAG_EFI64),
         dnsmasq(EDK2_PXE_VENDOR_CLASS), dnsmasq(rf"PXE\(br0\) {MAC} proxy$"),
         # UEFI clients are sent to port 4011 (no file in the port-67 offer);
         # only the port-4011 reply carries the server name
         dnsmasq(rf"PXE\(br0\) {MAC} proxy$"), dnsmasq(r"bootfile name: ipxe\.efi$"),
         dnsmasq(server_name),
         *sent_once(r"ipxe\.efi"),
         pxeclass(IPXE_EFI_SUMMARY.format(own="", uc="iPXE")), pxeclass_tags(TAG_IPXE, TAG_HTTP, TAG_EFI64),
         dnsmasq(rf"PXE\(br0\) {MAC} proxy$"), dnsmasq(rf"bootfile name: {SCRIPT_URL}$"),
         dnsmasq(server_name),
         never("dnsmasq", r"DHCPACK|DHCPOFFER|undionly"),
         *only_http(r"/boot\.ipxe"),
         *_uefi_pxe_to_ipxe(r"ipxe\.efi"),
         PEER_LEASE,
         serial(rf"Next server: {SERVER_IP}"), *IPXE_GOT_SCRIPT, _marker(name)),
        peer_config=PEER_CONFIG, files={"ipxe.efi": "debian-ipxe-efi"}, timeout=UEFI_TIMEOUT)


def _proxy05b_seabios(name):
    """05b on QEMU's vendor ROM: the per-machine URL, expanded by iPXE itself."""
    url = re.escape(f"http://{SERVER_IP}/ipxe.php?mac=${{mac}}&uuid=${{uuid}}")
    mac_escaped = qemu.DEFAULT_MAC.replace(":", "%3A")
    return Scenario(
        name, "05b-proxy-per-mac-script: SeaBIOS vendor ROM via proxyDHCP and port 4011 -> "
        "per-machine script URL, ${mac} and ${uuid} expanded by iPXE",
        "seabios-virtio", f"{EXAMPLES}/05b-proxy-per-mac-script.conf",
        (*_plain_peer(peer(ROM_VENDOR_CLASS), peer(PEER_ACK)),
         pxeclass_tags(TAG_IPXE, TAG_HTTP), dnsmasq(rf"PXE\(br0\) {MAC} proxy$"),
         dnsmasq(rf"bootfile name: {url}$"),
         dnsmasq(r"vendor class: PXEClient$"), dnsmasq(rf"PXE\(br0\) 10\.77\.0\.\d+ {MAC} {url}$"),
         never("dnsmasq", r"DHCPACK|DHCPOFFER|^sent /|chainload loop"),
         # the port-4011 request is part of the stage, not a hop
         never("dnsmasq", r"pxeclass: .* hops=[1-9]"),
         *only_http(rf"/ipxe\.php\?mac={mac_escaped}&uuid={qemu.DEFAULT_UUID}"),
         serial(r"PXEBS \(net0 type \d+\)\.\.\. ok"),
         serial(r"ipxe\.php : \d+ bytes \[script\]"), _marker(name)),
        peer_config=PEER_CONFIG, files={"undionly.kpxe": "debian-undionly"},
        scripts={"ipxe.php": "#!ipxe\necho {marker}\n"})


def _guard_loop(name):
    """A looping config broken by dhcp-chain-guard=2,120: the fallback script runs."""
    summary = IPXE_BIOS_SUMMARY.format(busid=NIC_BUSIDS["virtio-net-pci"], uc="iPXE", own="")
    stages = r"ipxe@0s>undionly\.kpxe ipxe@\d+s>undionly\.kpxe ipxe@\d+s>undionly\.kpxe ipxe@\d+s"
    return Scenario(
        name, "dhcp-chain-guard=2,120 on a config that loops: ROM -> undionly.kpxe x3, "
        "then the guard's tag hands out the fallback script",
        "seabios-virtio", "tests/firmware/configs/guard-loop.conf",
        (pxeclass(summary, r"0 chain=ipxe@0s"), pxeclass_tags(), dnsmasq(ROM_VENDOR_CLASS),
         dnsmasq(ACK), bootfile(r"undionly\.kpxe"),
         dnsmasq(TFTP_SENT.format(r"undionly\.kpxe"), count=3),
         dnsmasq(rf"pxeclass: chainload loop: {MAC} made 3 hops within 120s \(more than 2\), "
                 rf"tag chain-loop set; chain: {stages}$"),
         pxeclass(summary, rf"3 chain={stages}"),
         pxeclass_tags(r"chain-loop \(dhcp-chain-guard=2,120\)"), dnsmasq(ACK),
         bootfile(re.escape(f"http://{SERVER_IP}/loop.ipxe")),
         never("dnsmasq", r"chainload loop(?s:.*)^sent "),
         *only_http(r"/loop\.ipxe"),
         ROM_STARTS,
         serial(r"undionly\.kpxe : \d+ bytes \[PXE-NBP\]", count=3),
         serial(re.escape(f"http://{SERVER_IP}/loop.ipxe... ok")),
         serial(r"^PXC-LOOP-GUARD-TRIPPED$"), _marker(name)),
        scripts={"boot.ipxe": "#!ipxe\necho {marker}\n", "loop.ipxe": LOOP_SCRIPT})



# -- issue 8: the IPv6 examples on real firmware, patched dnsmasq --------------
# DHCPv6: dnsmasq logs the options of each reply ("option:  59 …") and the
# pxeclass hook the request's class with family=ipv6; TFTP and HTTP over
# IPv6 from fd77::1, the server's address on the bridge (SERVER_IPV6).
SERVER6 = SERVER_IPV6.split("/")[0]
LEASE6 = r"fd77::1[0-9a-f][0-9a-f]"
REPLY6 = rf"DHCPREPLY\(br0\) {LEASE6} "
ADVERTISE6 = rf"DHCPADVERTISE\(br0\) {LEASE6} "
TFTP6_SENT = rf"sent \S*/{{}} to {LEASE6}$"
SCRIPT6_URL = re.escape(f"http://[{SERVER6}]/boot.ipxe")
TAG_PXE6 = r"pxe6 \(dhcp-pxe-class=set:pxe6,pxe\)"
TAG_IPXE6 = r"ipxe6 \(dhcp-pxe-class=set:ipxe6,ipxe\)"
TAG_HTTP6 = r"http6 \(dhcp-pxe-class=set:http6,http-boot\)"
MAC_CALLER = rf"mac={MAC}\(caller\)"


def bootfile_url(url_regex):
    """dnsmasq's log of option 59 (bootfile-url) in a DHCPv6 reply."""
    return dnsmasq(rf"option:\s*59 bootfile-url\s+{url_regex}$")


IPXE6_GOT_SCRIPT = (serial(rf"Filename: {SCRIPT6_URL}"), serial(rf"{SCRIPT6_URL}\.\.\. ok"),
                    serial(r"boot\.ipxe : \d+ bytes \[script\]"))


def _ipv6_only07(name):
    """07 on OVMF PXEv6 (IPv4 PXE off), no IPv4 on the link: ipxe.efi by tftp://, then
    the script over IPv6 to the iPXE it loaded (class ipxe, never handed ipxe.efi)."""
    pxe_url = re.escape(f"tftp://[{SERVER6}]/ipxe.efi")
    pxe = (dnsmasq(r"vendor class: 343$"),
           pxeclass(rf"class=pxe family=ipv6 arch=7\(efi-x64\) .*{MAC_CALLER}$"),
           pxeclass_tags(TAG_PXE6, TAG_X64))
    ipxe = (pxeclass(rf"class=ipxe family=ipv6 arch=7\(efi-x64\) user-class=iPXE {MAC_CALLER}$"),
            pxeclass_tags(TAG_IPXE6, TAG_X64))
    return Scenario(
        name, "07-ipv6-only: OVMF UEFI PXE over IPv6 -> ipxe.efi over TFTP/IPv6 -> "
        "Debian iPXE, DHCPv6 with user class iPXE -> script over HTTP/IPv6",
        "ovmf-pxe6-virtio", f"{EXAMPLES}/07-ipv6-only.conf",
        (# EDK2's IP stack asks first: no class, no boot file
         pxeclass(rf"class=none family=ipv6 .*{MAC_CALLER}$"), pxeclass_tags(),
         # PXEv6: preference 255 (dhcp-authoritative), 59 tftp:// in both replies
         *pxe, dnsmasq(rf"DHCPSOLICIT\(br0\) "), dnsmasq(ADVERTISE6),
         dnsmasq(r"option:\s*7 preference\s+255$"), bootfile_url(pxe_url),
         *pxe, dnsmasq(rf"DHCPREQUEST\(br0\) "), dnsmasq(REPLY6), bootfile_url(pxe_url),
         *sent_once(r"ipxe\.efi", TFTP6_SENT),
         *ipxe, dnsmasq(rf"DHCPSOLICIT\(br0\) "), dnsmasq(ADVERTISE6), bootfile_url(SCRIPT6_URL),
         *ipxe, dnsmasq(rf"DHCPREQUEST\(br0\) "), dnsmasq(REPLY6), bootfile_url(SCRIPT6_URL),
         # no IPv4 anywhere, no option 60 or 16 for PXEv6, iPXE never gets tftp://
         never("dnsmasq", r"DHCPOFFER|DHCPACK|option:\s*(60|16) "),
         never("dnsmasq", r"class=ipxe (?s:.*)bootfile-url\s+tftp://"),
         *only_http(r"/boot\.ipxe"),
         serial(r"Start PXE over IPv6"), serial(r"NBP filename is ipxe\.efi"),
         serial(r"NBP file downloaded successfully"), serial(IPXE_BANNER),
         serial(rf"net0: {MAC} using SNP"), serial(rf"net0: {LEASE6}/64 "),
         *IPXE6_GOT_SCRIPT, _marker(name),
         never("serial", r"Start PXE over IPv4|net0: 10\.")),
        files={"ipxe.efi": "debian-ipxe-efi"}, timeout=UEFI_TIMEOUT)


def _http_boot_ipv6_08(name):
    """08 on OVMF HTTP Boot (PXE off), no IPv4 on the link: HTTPv6 takes the offer
    only because of the HTTPClient echo in 16, fetches ipxe.efi, whose iPXE gets the script.

    The slowest boot (~90 s): OVMF tries HTTP Boot over IPv4 first and gives
    up on it after ~60 s of unanswered DISCOVERs (tests/captures g2).  Turning
    IPv4 off by fw_cfg (opt/org.tianocore/IPv4Support=n, which Debian's OVMF
    2022.11 honours: no "HTTP Boot over IPv4" line) does not help: HTTPv6
    then fails at once, "Error: Unexpected network error." at 7.7 s, without
    a single SOLICIT of its own reaching dnsmasq (twice; once only EDK2's IP
    stack asked).  Why was not found out; presumably HTTPv6 starts before the
    firmware's IPv6 configuration is done, which the minute of HTTPv4 hides.
    """
    efi_url = re.escape(f"http://[{SERVER6}]/ipxe.efi")
    http_boot = (dnsmasq(r"vendor class: 343$"),
                 pxeclass(rf"class=http-boot family=ipv6 arch=16\(efi-x64-http\) .*{MAC_CALLER}$"),
                 pxeclass_tags(TAG_HTTP6, TAG_X64))
    echo = dnsmasq(r"option:\s*16 vendor-class\s+XY,HTTPClient$")
    ipxe = (pxeclass(rf"class=ipxe family=ipv6 arch=7\(efi-x64\) user-class=iPXE {MAC_CALLER}$"),
            pxeclass_tags(TAG_IPXE6, TAG_X64))
    return Scenario(
        name, "08-http-boot-ipv6: OVMF UEFI HTTP Boot over IPv6 (HTTPClient echo in 16) -> "
        "ipxe.efi over HTTP/IPv6 -> Debian iPXE -> script over HTTP/IPv6",
        "ovmf-httpboot", f"{EXAMPLES}/08-http-boot-ipv6.conf",
        (*http_boot, dnsmasq(r"DHCPSOLICIT\(br0\) "), dnsmasq(ADVERTISE6),
         bootfile_url(efi_url), echo,
         *http_boot, dnsmasq(r"DHCPREQUEST\(br0\) "), dnsmasq(REPLY6), bootfile_url(efi_url),
         echo,
         *ipxe, dnsmasq(r"DHCPSOLICIT\(br0\) "), dnsmasq(ADVERTISE6), bootfile_url(SCRIPT6_URL),
         *ipxe, dnsmasq(r"DHCPREQUEST\(br0\) "), dnsmasq(REPLY6), bootfile_url(SCRIPT6_URL),
         # no IPv4 answer, no TFTP; the echo never reaches iPXE
         never("dnsmasq", r"DHCPOFFER|DHCPACK|^sent /"),
         never("dnsmasq", r"class=ipxe (?s:.*)option:\s*16 "),
         *only_http(r"/ipxe\.efi", r"/boot\.ipxe"),
         serial(r"Start HTTP Boot over IPv6"), serial(rf"URI: {efi_url}"),
         serial(r"File Size: \d+ Bytes"), serial(IPXE_BANNER),
         serial(rf"net0: {MAC} using SNP"), serial(rf"net0: {LEASE6}/64 "),
         *IPXE6_GOT_SCRIPT, _marker(name)),
        files={"ipxe.efi": "debian-ipxe-efi"}, timeout=UEFI_TIMEOUT + 180)


def _dual_stack09(name):
    """09 on QEMU's iPXE ROM: DISCOVER and SOLICIT at once, one stage; the v4 script runs."""
    summary4 = IPXE_BIOS_SUMMARY.format(busid=NIC_BUSIDS["virtio-net-pci"], uc="iPXE", own="")
    # whichever family's hand-out the tracker recorded first: still stage 0
    stage0 = r"0 chain=ipxe@0s(?:>boot\.ipxe)?"
    tags = pxeclass_tags(r"ipxe \(dhcp-pxe-class=set:ipxe,ipxe\)", TAG_BIOS)
    return Scenario(
        name, "09-dual-stack: SeaBIOS + QEMU's iPXE ROM asks DHCPv4 and DHCPv6 at once, one "
        "stage (hops=0 in both); both name the script, iPXE runs the IPv4 one",
        "seabios-virtio", f"{EXAMPLES}/09-dual-stack.conf",
        (*in_thread("v4", pxeclass(summary4, stage0), tags, dnsmasq(rf"DHCPDISCOVER\(br0\) {MAC}"),
                    dnsmasq(rf"DHCPOFFER\(br0\) 10\.77\.0\.\d+ {MAC}"), bootfile(SCRIPT_URL),
                    pxeclass(summary4, stage0), tags, dnsmasq(ACK), bootfile(SCRIPT_URL)),
         *in_thread("v6", pxeclass(rf"class=ipxe family=ipv6 arch=0\(x86-bios\) user-class=iPXE "
                                   rf"{MAC_CALLER}", stage0), tags,
                    dnsmasq(rf"DHCPSOLICIT\(br0\) "), dnsmasq(ADVERTISE6),
                    bootfile_url(SCRIPT6_URL),
                    pxeclass(r"class=ipxe family=ipv6 ", stage0), tags,
                    dnsmasq(rf"DHCPREQUEST\(br0\) "), dnsmasq(REPLY6),
                    bootfile_url(SCRIPT6_URL)),
         never("dnsmasq", r"hops=[1-9]|chainload loop|^sent /|bootfile-url\s+tftp://"),
         *only_http(r"/boot\.ipxe"),
         ROM_STARTS, serial(r"net0: 10\.77\.0\.\d+/255\.255\.255\.0 gw 10\.77\.0\.1"),
         serial(rf"net0: {LEASE6}/64 "),
         *IPXE_GOT_SCRIPT, _marker(name), never("serial", r"Filename: http://\[")),
        files={})


IPXE6_SUMMARY = rf"class=ipxe family=ipv6 {{own}}arch=0\(x86-bios\) user-class=iPXE {MAC_CALLER}"
UNDIONLY6_URL = re.escape(f"tftp://[{SERVER6}]/undionly.kpxe")


def _ipxe6_stage(summary, chain, tags, url, handed):
    """One iPXE stage over DHCPv6: SOLICIT and REQUEST, each classified and answered with `url`.

    `chain` is the tracker's chain when the stage starts (hops=N chain=…);
    the REQUEST's ends in the file the ADVERTISE handed out (`handed`).
    """
    return (pxeclass(summary, chain), tags, dnsmasq(r"DHCPSOLICIT\(br0\) "), dnsmasq(ADVERTISE6),
            bootfile_url(url),
            pxeclass(summary, rf"{chain}>{handed}"), tags, dnsmasq(r"DHCPREQUEST\(br0\) "),
            dnsmasq(REPLY6), bootfile_url(url))


def _chained_lab6(name):
    """lab6.conf on SeaBIOS + QEMU's iPXE ROM, no IPv4 on the link: the vendor ROM is
    handed Debian's undionly.kpxe by tftp:// once (chained), that iPXE the script.

    Debian's undionly.kpxe (ipxe 1.0.0+git-20190125) does DHCPv6, TFTP and
    HTTP over IPv6 (its ipxe.pxe is not needed).  Each iPXE stage waits out
    DHCPv4 before it boots, and neither the ROM nor Debian's undionly.kpxe
    can be told otherwise (their autoboot configures every family; iPXE's
    `ifconf --configurator ipv6` would skip DHCPv4, not tried here: these
    stages run before any script).  Measured with tcpdump on the bridge (t's boot, every stage
    alike): SOLICIT, ADVERTISE, REQUEST, REPLY all within 0.1 s of the
    first DISCOVER, then DISCOVERs at 1, 3 and 7 s, nothing answers port
    67, and the next stage's first packet comes at 17.7 s.  So this
    two-stage boot takes ~36 s where 02b's over IPv4 takes ~12 s.
    """
    vendor, own = IPXE6_SUMMARY.format(own="own=vendor "), IPXE6_SUMMARY.format(own="own=own ")
    return Scenario(
        name, "lab6.conf: SeaBIOS + QEMU's iPXE ROM over IPv6 only -> Debian's undionly.kpxe "
        "by tftp:// (own by the chain, one hop) -> script over HTTP/IPv6",
        "seabios-virtio", f"{EXAMPLES}/lab6.conf",
        (*_ipxe6_stage(vendor, r"0 chain=ipxe/vendor@0s", pxeclass_tags(TAG_BIOS),
                       UNDIONLY6_URL, r"undionly\.kpxe"),
         *sent_once(r"undionly\.kpxe", TFTP6_SENT),
         *_ipxe6_stage(own, r"1 chain=ipxe/vendor@0s>undionly\.kpxe ipxe/own@\d+s",
                       pxeclass_tags(TAG_OWN, TAG_BIOS), SCRIPT6_URL, r"boot\.ipxe"),
         never("dnsmasq", r"DHCPOFFER|DHCPACK|chainload loop|hops=[2-9]"),
         never("dnsmasq", r"own=own(?s:.*)^sent "),
         never("dnsmasq", r"^sent (?s:.*)own=vendor"),
         *only_http(r"/boot\.ipxe"),
         ROM_STARTS, serial(IPXE_BANNER), serial(rf"net0: {MAC} using virtio-net"),
         serial(rf"net0: {LEASE6}/64 "), serial(rf"Filename: {UNDIONLY6_URL}"),
         serial(r"undionly\.kpxe : \d+ bytes \[PXE-NBP\]"), serial(IPXE_BANNER),
         serial(rf"net0: {MAC} using undionly"), serial(rf"net0: {LEASE6}/64 "),
         *IPXE6_GOT_SCRIPT, _marker(name),
         never("serial", r"Filename: tftp:(?s:.*)Filename: tftp:|net0: 10\.")),
        files={"undionly.kpxe": "debian-undionly"}, timeout=BIOS_TIMEOUT + 30)


def _guard_loop6(name):
    """configs/guard-loop6.conf on SeaBIOS + QEMU's iPXE ROM, no IPv4 on the link:
    undionly.kpxe for every iPXE, hops 0, 1, 2, then the guard's tag hands loop.ipxe.

    Each stage waits ~17 s for its DHCPv4 to time out (see the lab6 boot),
    hence the guard at 1 hop (2 downloads, ~55 s) rather than 2 as in the
    IPv4 guard boot (3 downloads, measured 73 s over IPv6).
    """
    summary = IPXE6_SUMMARY.format(own="")
    loop_url = re.escape(f"http://[{SERVER6}]/loop.ipxe")
    chain = r"ipxe@0s"
    stages = []
    for hop in range(2):
        stages += _ipxe6_stage(summary, rf"{hop} chain={chain}", pxeclass_tags(), UNDIONLY6_URL,
                               r"undionly\.kpxe")
        stages.append(dnsmasq(TFTP6_SENT.format(r"undionly\.kpxe")))
        chain += r">undionly\.kpxe ipxe@\d+s"
    sent = r"^sent \S*/undionly\.kpxe "
    return Scenario(
        name, "guard-loop6.conf: QEMU's iPXE ROM over IPv6 only, undionly.kpxe for every iPXE, "
        "dhcp-chain-guard=1,60 trips on hop 2 -> loop.ipxe over HTTP/IPv6",
        "seabios-virtio", "tests/firmware/configs/guard-loop6.conf",
        (*stages,
         dnsmasq(rf"pxeclass: chainload loop: {MAC} made 2 hops within 60s \(more than 1\), "
                 rf"tag chain-loop set; chain: {chain}$"),
         *_ipxe6_stage(summary, rf"2 chain={chain}",
                       pxeclass_tags(r"chain-loop \(dhcp-chain-guard=1,60\)"), loop_url,
                       r"loop\.ipxe"),
         never("dnsmasq", rf"{sent}(?s:.*){sent}(?s:.*){sent}"),
         never("dnsmasq", r"chainload loop(?s:.*)^sent "),
         never("dnsmasq", r"DHCPOFFER|DHCPACK|own=|hops=[3-9]"),
         *only_http(r"/loop\.ipxe"),
         ROM_STARTS, serial(rf"net0: {MAC} using virtio-net"),
         serial(r"undionly\.kpxe : \d+ bytes \[PXE-NBP\]", count=2),
         serial(rf"Filename: {loop_url}"), serial(rf"{loop_url}\.\.\. ok"),
         serial(r"^PXC-LOOP-GUARD-TRIPPED$"), _marker(name),
         never("serial", r"(?:bytes \[PXE-NBP\](?s:.*)){3}|net0: 10\.")),
        files={"undionly.kpxe": "debian-undionly"},
        scripts={"loop.ipxe": LOOP_SCRIPT}, timeout=BIOS_TIMEOUT + 60)


# -- issue 10: programs after the firmware that ask DHCP themselves ------------
# Debian's own binaries (tests/firmware/debian_boot.py): the signed shim and
# netboot GRUB, a kernel whose initramfs runs klibc's ipconfig.
TAG_GRUB = r"grub \(dhcp-pxe-class=set:grub,grub\)"
TAG_OS = r"os \(dhcp-pxe-class=set:os,os\)"
TAG_IPXE_TRACKED = r"ipxe \(dhcp-pxe-class=set:ipxe,ipxe\)"
# GRUB's config: its own DHCP exchange (net_dhcp: DISCOVER with option 53
# only, REQUEST with 50, 54 and its 7-byte 55), what it learnt, the marker.
# The parameter request list of GRUB's REQUEST as dnsmasq logs it (three
# lines): upstream's seven and the 60 Debian's build appends.
GRUB_REQUESTED_OPTIONS = (
    r"requested options: 1:netmask, 3:router, 6:dns-server, 15:domain-name, \n"
    r"\d+ requested options: 12:hostname, 17:root-path, 18:extension-path, \n"
    r"\d+ requested options: 60:vendor-class$")
GRUB_CFG = """echo PXC-GRUB: config read from $prefix
net_dhcp
net_ls_addr
echo {marker}
halt
"""


def _grub_dhcp(chain):
    """GRUB's own DHCP, one hop on (CHAIN: its pxeclass line's chain): the
    DISCOVER and the REQUEST each classified grub and tagged, offered,
    acknowledged, GRUB's parameter list."""
    return (pxeclass(r"class=grub", chain), pxeclass_tags(TAG_GRUB),
            dnsmasq(rf"DHCPDISCOVER\(br0\) {MAC}"),
            dnsmasq(rf"DHCPOFFER\(br0\) 10\.77\.0\.\d+ {MAC}"),
            pxeclass(r"class=grub", chain), pxeclass_tags(TAG_GRUB),
            dnsmasq(rf"DHCPREQUEST\(br0\) 10\.77\.0\.\d+ {MAC}"),
            dnsmasq(ACK), dnsmasq(GRUB_REQUESTED_OPTIONS))


def _shim_grub(name):
    """UEFI PXE -> Debian's signed shim -> netboot GRUB, whose own DHCP request is class grub."""
    server = re.escape(SERVER_IP)
    return Scenario(
        name, "configs/shim-grub.conf: OVMF UEFI PXE -> Debian's shimx64.efi -> grubx64.efi "
        "(grubnetx64) -> grub.cfg over TFTP -> GRUB's own DHCP (net_dhcp), class grub, one hop",
        "ovmf-pxe-virtio", "tests/firmware/configs/shim-grub.conf",
        (pxeclass(r"class=pxe arch=7\(efi-x64\) hops=0 chain=pxe@0s$"), pxeclass_tags(TAG_X64),
         dnsmasq(EDK2_PXE_VENDOR_CLASS), dnsmasq(ACK), bootfile(r"shimx64\.efi"),
         *sent_once(r"shimx64\.efi"), *sent_once(r"grubx64\.efi"),
         dnsmasq(TFTP_SENT.format(r"grub/grub\.cfg")),
         *_grub_dhcp(r"1 chain=pxe@0s>shimx64\.efi grub@\d+s"),
         never("dnsmasq", r"pxeclass: class=(?!pxe |grub )"),
         serial(r"Start PXE over IPv4"), serial(r"NBP filename is shimx64\.efi"),
         serial(rf"PXC-GRUB: config read from \(tftp,{server}\)/grub"),
         serial(r"efinet\d+:dhcp 52:54:00:77:00:01 10\.77\.0\.\d+"), _marker(name)),
        files={"shimx64.efi": "debian-shim", "grubx64.efi": "debian-grubnet"},
        scripts={"grub/grub.cfg": GRUB_CFG}, timeout=UEFI_TIMEOUT)


def _proxy_shim_grub(name):
    """The dead end next to a plain DHCP+TFTP server: GRUB follows its ACK, not the proxy."""
    peer_missing = r"file \S*/peer-root/{} not found for 10\.77\.0\.\d+"
    return Scenario(
        name, "configs/proxy-shim-grub.conf + stock DHCP/TFTP at 10.77.0.2: UEFI PXE -> shim -> "
        "GRUB, which takes its server from the site's DHCPACK (next server 10.77.0.2), never "
        "asks the proxy for grub.cfg and stops at its prompt",
        "ovmf-pxe-virtio", "tests/firmware/configs/proxy-shim-grub.conf",
        (*_plain_peer(peer(EDK2_PXE_VENDOR_CLASS), peer(PEER_ACK),
                      peer(r"next server: 10\.77\.0\.2$"),
                      peer(peer_missing.format(r"grub/x86_64-efi/command\.lst")),
                      peer(peer_missing.format(r"grub/grub\.cfg"))),
         pxeclass(r"class=pxe arch=7\(efi-x64\) hops=0 chain=pxe@0s$"), pxeclass_tags(TAG_X64),
         dnsmasq(EDK2_PXE_VENDOR_CLASS), dnsmasq(rf"PXE\(br0\) {MAC} proxy$"),
         dnsmasq(r"bootfile name: shimx64\.efi$"),
         *sent_once(r"shimx64\.efi"), *sent_once(r"grubx64\.efi"),
         # GRUB never reads its config, so never runs net_dhcp: the proxy
         # sees no GRUB request and no request for a GRUB file
         never("dnsmasq", r"grub/|class=grub|DHCPACK|DHCPOFFER"),
         serial(r"NBP filename is shimx64\.efi"), serial(r"Fetching Netboot Image grubx64\.efi"),
         serial(r"Welcome to GRUB!"), serial(r"GNU GRUB  version 2\.\d+"),
         serial(r"grub> "), never("serial", r"PXC-GRUB")),
        peer_config="tests/firmware/configs/proxy-peer-dhcp-tftp.conf",
        files={"shimx64.efi": "debian-shim", "grubx64.efi": "debian-grubnet"},
        scripts={"grub/grub.cfg": GRUB_CFG}, timeout=UEFI_TIMEOUT, stop_at=(r"grub> ", 1))


def _proxy_shim_grub_fixed(name):
    """o with examples/03b's fix on the site's server: GRUB reads grub.cfg from the proxy."""
    server = re.escape(SERVER_IP)
    return Scenario(
        name, "examples/03b-proxy-shim-grub.conf + stock DHCP/TFTP at 10.77.0.2 naming the boot "
        "server as next server (dhcp-boot=,,10.77.0.1): UEFI PXE -> shim -> GRUB, which reads "
        "grub.cfg from the proxy's TFTP; its net_dhcp is answered by the site's server and "
        "logged class=grub by the proxy",
        "ovmf-pxe-virtio", "examples/03b-proxy-shim-grub.conf",
        (*_plain_peer(peer(EDK2_PXE_VENDOR_CLASS), peer(PEER_ACK),
                      peer(rf"next server: {server}$"),
                      peer(rf"DHCPDISCOVER\(eth0\) {MAC}"), peer(PEER_ACK),
                      never("peer", r"grub/")),
         pxeclass(r"class=pxe arch=7\(efi-x64\)$"), pxeclass_tags(TAG_X64),
         dnsmasq(EDK2_PXE_VENDOR_CLASS), dnsmasq(rf"PXE\(br0\) {MAC} proxy$"),
         dnsmasq(r"bootfile name: shimx64\.efi$"),
         *sent_once(r"shimx64\.efi"), *sent_once(r"grubx64\.efi"),
         dnsmasq(TFTP_SENT.format(r"grub/grub\.cfg")),
         # GRUB's own DISCOVER and REQUEST reach the proxy, which names
         # and tags each (the site's server answers both) and answers
         # neither: no PXEClient, so no proxy reply, not even a log line
         pxeclass(r"class=grub$"), pxeclass_tags(TAG_GRUB),
         pxeclass(r"class=grub$"), pxeclass_tags(TAG_GRUB),
         never("dnsmasq", r"DHCPOFFER|DHCPACK|DHCPDISCOVER|DHCPREQUEST"),
         peer(GRUB_REQUESTED_OPTIONS.replace("br0", "eth0")),
         serial(r"NBP filename is shimx64\.efi"), serial(r"Fetching Netboot Image grubx64\.efi"),
         serial(rf"PXC-GRUB: config read from \(tftp,{server}\)/grub"),
         serial(r"efinet\d+:dhcp 52:54:00:77:00:01 10\.77\.0\.1\d\d"), _marker(name)),
        peer_config="tests/firmware/configs/proxy-peer-next-server.conf",
        files={"shimx64.efi": "debian-shim", "grubx64.efi": "debian-grubnet"},
        scripts={"grub/grub.cfg": GRUB_CFG}, timeout=UEFI_TIMEOUT)


def _grub_pc(name):
    """SeaBIOS + QEMU's iPXE ROM (the PXE stack) -> Debian's BIOS GRUB, whose net_bootp is class grub."""
    return Scenario(
        name, "configs/grub-pc.conf: SeaBIOS + QEMU's virtio iPXE ROM -> core.0 (Debian's BIOS "
        "GRUB: grub-pc-bin's modules, grub-mkimage -O i386-pc-pxe, config embedded) -> GRUB's "
        "own DHCP (net_bootp), class grub, one hop after the ROM",
        "seabios-virtio", "tests/firmware/configs/grub-pc.conf",
        (pxeclass(r"class=ipxe .*", r"0 chain=ipxe@0s"), dnsmasq(ACK),
         bootfile(r"core\.0"), *sent_once(r"core\.0"),
         *_grub_dhcp(r"1 chain=ipxe@0s>core\.0 grub@\d+s"),
         never("dnsmasq", r"pxeclass: class=(?!ipxe |grub)"),
         # the tag keeps core.0 out of GRUB's replies: no second GRUB
         never("dnsmasq", r"pxeclass: class=grub(?s:.*)option: 67 bootfile-name"),
         ROM_STARTS, serial(r"^PXC-GRUB-PC: net_bootp$"),
         serial(r"pxe\d*:dhcp 52:54:00:77:00:01 10\.77\.0\.\d+"),
         serial(r"^PXC-GRUB-PC: done$")),
        files={"core.0": "debian-grub-pc-core"}, stop_at=(r"^PXC-GRUB-PC: done$", 1),
        timeout=BIOS_TIMEOUT)


def _ipxe_kernel(name):
    """QEMU's iPXE ROM -> script -> Debian kernel + initramfs whose ipconfig asks: class os."""
    script = re.escape(f"http://{SERVER_IP}/boot.ipxe")
    ipxe = r"class=ipxe arch=0\(x86-bios\) version=\S+ busid=pci:8086:100e user-class=iPXE "
    return Scenario(
        name, "configs/ipxe-kernel.conf: QEMU's e1000 iPXE ROM -> script -> Debian's kernel + "
        "initramfs, klibc ipconfig asks DHCP (class os, agent linux-ipconfig: the chain ends); "
        "the reboot's ROM request starts a new chain (hops=0, not a hop of the old one)",
        "seabios-e1000", "tests/firmware/configs/ipxe-kernel.conf",
        (pxeclass(ipxe, r"0 chain=ipxe@0s"), pxeclass_tags(TAG_IPXE_TRACKED), dnsmasq(ACK),
         bootfile(script),
         pxeclass(r"class=os agent=linux-ipconfig$"), pxeclass_tags(TAG_OS),
         dnsmasq(r"vendor class: Linux ipconfig$"), dnsmasq(ACK),
         never("dnsmasq", r"agent=linux-ipconfig.*hops="),
         # the reboot: the same ROM, a new chain (the os request ended the
         # old one; without that this would be hop 1 of it)
         pxeclass(ipxe, r"0 chain=ipxe@0s"), dnsmasq(ACK), bootfile(script),
         never("dnsmasq", r"hops=[1-9]"),
         *only_http(r"/boot\.ipxe", r"/vmlinuz", r"/initrd\.gz"),
         ROM_STARTS, *IPXE_GOT_SCRIPT,
         # iPXE shows a percentage (erased by backspaces) while a download lasts
         serial(r"vmlinuz\.\.\.[ \d%\x08]* ok$"), serial(r"initrd\.gz\.\.\.[ \d%\x08]* ok$"),
         serial(r"^PXC-INITRAMFS: ipconfig$"),
         serial(r"IP-Config: eth0 complete \(dhcp from 10\.77\.0\.1\)"),
         _marker(name), serial(r"reboot: Restarting system"), ROM_STARTS),
        files={"vmlinuz": "debian-kernel", "initrd.gz": "debian-initramfs"},
        scripts={"boot.ipxe": "#!ipxe\nkernel vmlinuz console=ttyS0 quiet pxcmarker={marker} "
                              "pxcthen=reboot\n"
                              "initrd initrd.gz\nboot\n"},
        stop_at=(rf"{script}\.\.\. ok", 2), timeout=BIOS_TIMEOUT + 120)


FIELD_SCENARIOS = (
    _shim_grub("m-shim-grub-ovmf-pxe"),
    _ipxe_kernel("n-ipxe-kernel-os"),
    _grub_pc("n2-grub-pc-seabios"),
    _proxy_shim_grub("o-proxy-shim-grub"),
    _proxy_shim_grub_fixed("o2-proxy03b-shim-grub"),
)

IPV6_SCENARIOS = (
    _ipv6_only07("p-ipv6only07-ovmf-pxe6"),
    _http_boot_ipv6_08("q-httpboot6-08-ovmf"),
    _dual_stack09("r-dualstack09-seabios"),
    _chained_lab6("s-chained-lab6-seabios"),
    _guard_loop6("s2-guard6-seabios"),
)

EXAMPLE_SCENARIOS = (
    _chained_02b("g-chained02b-seabios-virtio", "seabios-virtio", "virtio-net"),
    _chained_02b("g2-chained02b-seabios-e1000", "seabios-e1000", "82540em"),
    _cstm01_seabios("h-cstm01-seabios"),
    _cstm01_ovmf("h2-cstm01-ovmf-pxe"),
    _lab_ovmf_pxe("i-lab-ovmf-pxe"),
    _httpboot06("j-httpboot06-ovmf"),
    _proxy03_seabios("k-proxy03-seabios"),
    _proxy03_ovmf("k2-proxy03-ovmf-pxe"),
    _proxy05b_seabios("k3-proxy05b-seabios"),
    _guard_loop("l-guard-seabios"),
    *FIELD_SCENARIOS,
    *IPV6_SCENARIOS,
)


# -- relays and rivals (issue 11) -------------------------------------------
# The boot server behind ISC dhcrelay (the relay's namespace holds the
# guest's bridge and 10.77.0.1, the giaddr; the boot server answers from
# RELAY_BOOT_IP on a transit link and is reached through the relay), and
# next to a plain DHCP server that answers first (PEER_CONFIG, the proxy
# scenarios' plain server; the boot server holds its offers a second).
RELAY_TRANSIT = ipaddress.IPv4Network(topology.TRANSIT_NETS[0])
RELAY_BOOT_IP = str(next(RELAY_TRANSIT.hosts()))
RELAYED = rf"Forwarded BOOTREQUEST for {MAC} to {re.escape(RELAY_BOOT_IP)}"
RELAYED_BACK = rf"Forwarded BOOTREPLY for {MAC} to 10\.77\.0\.\d+"


def _through_relay(base, after, shows_transit):
    """BASE's chain, unchanged in dnsmasq's log and on the console, with the
    boot server behind the relay: the relay forwarded both ways, and the
    console line SHOWS_TRANSIT (the transit address) right after the
    console expectation whose pattern is AFTER."""
    expect = []
    for e in base.expect:
        expect.append(e)
        if e.stream == "serial" and e.pattern == after:
            expect.append(shows_transit)
    assert shows_transit in expect, after
    return dataclasses.replace(
        base, about=f"through ISC dhcrelay: {base.about}", relay=True,
        expect=(*expect, relay(RELAYED), relay(RELAYED_BACK), relay(RELAYED),
                relay(RELAYED_BACK)))


def relay(pattern, count=1):
    """An expected line of the relay's log (dhcrelay -d)."""
    return Expect("relay", pattern, count)


def _rival_lab_seabios(name):
    """lab.conf on QEMU's vendor ROM next to a plain server answering first.

    The plain server (PEER_CONFIG, authoritative) offers a second before
    the boot server; iPXE waits for the offer with boot information and
    REQUESTs the boot server's (the plain one NAKs that REQUEST: not its
    server id).  The chain is the one of a flat link: vendor, undionly.kpxe
    once, own by the chain, the script; the boot server's tracker never
    strikes its offer (every REQUEST names it), no loop.
    """
    summary = IPXE_BIOS_SUMMARY.format(busid=NIC_BUSIDS["virtio-net-pci"], uc="iPXE",
                                       own="{own}")
    return Scenario(
        name, "lab.conf next to a plain DHCP server answering first: QEMU's vendor ROM "
        "waits for the boot server's offer, chainloaded once -> own (chained) -> script",
        "seabios-virtio", f"{EXAMPLES}/lab.conf",
        (*_plain_peer(peer(ROM_VENDOR_CLASS), peer(rf"DHCPOFFER\(eth0\) 10\.77\.0\.\d+ {MAC}"),
                      peer(rf"DHCPNAK\(eth0\) 10\.77\.0\.\d+ {MAC} wrong server-ID")),
         pxeclass(summary.format(own=" own=vendor"), r"0 chain=ipxe/vendor@0s"),
         dnsmasq(r"reply delay: 1"), dnsmasq(r"DHCPOFFER\(br0\)"),
         pxeclass(summary.format(own=" own=vendor"), r"0 chain=ipxe/vendor@0s>undionly\.kpxe"),
         dnsmasq(ACK), *sent_once(r"undionly\.kpxe"),
         pxeclass(summary.format(own=" own=own"),
                  r"1 chain=ipxe/vendor@0s>undionly\.kpxe ipxe/own@\d+s"),
         dnsmasq(ACK), bootfile(SCRIPT_URL),
         never("dnsmasq", r"another server's|chainload loop"),
         *only_http(r"/boot\.ipxe"),
         ROM_STARTS, serial(r"net0: 10\.77\.0\.\d+/255\.255\.255\.0 gw 10\.77\.0\.1$"),
         serial(r"Filename: undionly\.kpxe"), serial(IPXE_BANNER), *IPXE_GOT_SCRIPT,
         _marker(name), never("serial", r"gw 10\.77\.0\.2")),
        peer_config=PEER_CONFIG, hold_offers=1)


def _rival_lab_ovmf(name):
    """lab.conf on OVMF UEFI PXE next to a plain server answering first:
    EDK2 and then iPXE each take the boot server's offer (the one with a
    boot file), the chain of a flat link."""
    return Scenario(
        name, "lab.conf next to a plain DHCP server answering first: OVMF UEFI PXE takes "
        "the boot server's offer -> ipxe.efi -> own (chained) -> script",
        "ovmf-pxe-virtio", f"{EXAMPLES}/lab.conf",
        (*_plain_peer(peer(EDK2_PXE_VENDOR_CLASS), peer(rf"DHCPOFFER\(eth0\) 10\.77\.0\.\d+ {MAC}"),
                      peer(rf"DHCPNAK\(eth0\) 10\.77\.0\.\d+ {MAC} wrong server-ID")),
         pxeclass(r"class=pxe arch=7\(efi-x64\) hops=0 chain=pxe@0s$"),
         dnsmasq(r"reply delay: 1"), dnsmasq(r"DHCPOFFER\(br0\)"),
         pxeclass(r"class=pxe arch=7\(efi-x64\) hops=0 chain=pxe@0s>ipxe\.efi$"),
         dnsmasq(ACK), *sent_once(r"ipxe\.efi"),
         pxeclass(IPXE_EFI_SUMMARY.format(own=" own=own", uc="iPXE"),
                  r"1 chain=pxe@0s>ipxe\.efi ipxe/own@\d+s"),
         dnsmasq(ACK), bootfile(SCRIPT_URL),
         never("dnsmasq", r"another server's|chainload loop|own=vendor"),
         *only_http(r"/boot\.ipxe"),
         *_uefi_pxe_to_ipxe(r"ipxe\.efi"), *IPXE_GOT_SCRIPT, _marker(name),
         never("serial", r"gw 10\.77\.0\.2")),
        peer_config=PEER_CONFIG, hold_offers=1, files={"ipxe.efi": "debian-ipxe-efi"},
        timeout=UEFI_TIMEOUT)


TOPOLOGY_SCENARIOS = (
    _through_relay(_chained_02b("t-relay-chained02b-seabios", "seabios-virtio", "virtio-net"),
                   r"Filename: undionly\.kpxe",
                   serial(rf"tftp://{re.escape(RELAY_BOOT_IP)}/undionly\.kpxe\.\.\. ok")),
    _through_relay(_lab_ovmf_pxe("t2-relay-lab-ovmf-pxe"), r"Start PXE over IPv4",
                   serial(rf"Server IP address is {re.escape(RELAY_BOOT_IP)}")),
    _rival_lab_seabios("t3-rival-lab-seabios"),
    _rival_lab_ovmf("t4-rival-lab-ovmf-pxe"),
)

SCENARIOS = {s.name: s for s in (
    Scenario(
        "a-seabios-virtio",
        "SeaBIOS + QEMU's virtio iPXE ROM is tagged ipxe and gets the script directly",
        "seabios-virtio", "tests/captures/a-seabios-virtio/dnsmasq.conf",
        _vendor_rom_gets_script("a-seabios-virtio", "virtio-net")),
    Scenario(
        "a2-seabios-e1000",
        "SeaBIOS + QEMU's e1000 iPXE ROM: the same chain through another NIC and ROM",
        "seabios-e1000", "tests/captures/a-seabios-virtio/dnsmasq.conf",
        _vendor_rom_gets_script("a2-seabios-e1000", "82540em")),
    Scenario(
        "b-ovmf-pxe",
        "OVMF UEFI PXE (arch 7) -> ipxe.efi over TFTP -> Debian iPXE -> script over HTTP",
        "ovmf-pxe-virtio", "tests/captures/c2-ovmf-virtio-norom/dnsmasq.conf",
        (dnsmasq(EDK2_PXE_VENDOR_CLASS), dnsmasq(ACK),
         dnsmasq(TFTP_SENT.format(r"ipxe\.efi")),
         dnsmasq(IPXE_EFI_VENDOR_CLASS), dnsmasq(r"user class: iPXE"),
         dnsmasq(ACK), dnsmasq(rf"option: 67 bootfile-name\s+{SCRIPT_URL}"),
         never("dnsmasq", r"undionly"),
         http(r"^GET /boot\.ipxe 200$"),
         *_uefi_pxe_to_ipxe(r"ipxe\.efi"), *IPXE_GOT_SCRIPT, _marker("b-ovmf-pxe")),
        timeout=UEFI_TIMEOUT),
    Scenario(
        "c-ovmf-httpboot",
        "OVMF UEFI HTTP Boot (arch 16) -> ipxe.efi over HTTP (60 HTTPClient echoed) -> script",
        "ovmf-httpboot", "tests/captures/f1-ovmf-httpboot/dnsmasq.conf",
        (dnsmasq(r"vendor class: HTTPClient:Arch:00016:UNDI:003000"), dnsmasq(ACK),
         dnsmasq(rf"option: 67 bootfile-name\s+{re.escape(f'http://{SERVER_IP}/ipxe.efi')}"),
         dnsmasq(rf"option: 60 vendor-class\s+(HTTPClient|{HTTPCLIENT_HEX})$"),
         dnsmasq(IPXE_EFI_VENDOR_CLASS), dnsmasq(r"user class: iPXE"),
         dnsmasq(ACK), dnsmasq(rf"option: 67 bootfile-name\s+{SCRIPT_URL}"),
         never("dnsmasq", r"^sent /"),
         http(r"^GET /ipxe\.efi 200$"), http(r"^GET /boot\.ipxe 200$"),
         serial(r"Start HTTP Boot over IPv4"),
         serial(rf"URI: {re.escape(f'http://{SERVER_IP}/ipxe.efi')}"), serial(IPXE_BANNER),
         *IPXE_GOT_SCRIPT, _marker("c-ovmf-httpboot")),
        timeout=UEFI_TIMEOUT),
    Scenario(
        "d-proxy-seabios",
        "proxyDHCP next to a plain DHCP server: address from 10.77.0.2, boot via port 4011",
        "seabios-virtio", "tests/captures/f2a-proxy-seabios-virtio/dnsmasq.conf",
        (peer(ROM_VENDOR_CLASS), peer(PEER_ACK),
         never("peer", r"option: 67 bootfile-name|bootfile name:"),
         dnsmasq(ROM_VENDOR_CLASS), dnsmasq(rf"PXE\(br0\) {MAC} proxy"),
         dnsmasq(r"vendor class: PXEClient$"),
         dnsmasq(rf"PXE\(br0\) 10\.77\.0\.\d+ {MAC} {SCRIPT_URL}"),
         dnsmasq(rf"bootfile name: {SCRIPT_URL}"),
         never("dnsmasq", r"DHCPACK|^sent /"),
         http(r"^GET /boot\.ipxe 200$"),
         ROM_STARTS,
         PEER_LEASE,
         serial(r"PXEBS \(net0 type \d+\)\.\.\. ok"), serial(rf"Next server: {SERVER_IP}"),
         *IPXE_GOT_SCRIPT, _marker("d-proxy-seabios")),
        peer_config=PEER_CONFIG),
    Scenario(
        "e-loop-seabios",
        "a config that always hands out undionly.kpxe loops: ROM -> undionly -> undionly -> ...",
        "seabios-virtio", "tests/captures/e3-loop-fast-seabios-virtio/dnsmasq.conf",
        (dnsmasq(ROM_VENDOR_CLASS), dnsmasq(ACK),
         dnsmasq(TFTP_SENT.format(r"undionly\.kpxe"), count=3),
         never("http", r"."),
         ROM_STARTS,
         serial(r"Filename: undionly\.kpxe", count=3), never("serial", r"PXC-MARKER")),
        stop_at=(r"tftp://10\.77\.0\.1/undionly\.kpxe\.\.\. ok(?s:.*?)" + IPXE_BANNER, 3)),
    Scenario(
        "f-cstm-seabios",
        "vendor ROM (user class iPXE) -> own undionly.kpxe (user class CSTM) -> script",
        "seabios-virtio", "tests/firmware/configs/cstm-seabios-virtio.conf",
        (dnsmasq(ROM_VENDOR_CLASS), dnsmasq(r"user class: iPXE"), dnsmasq(ACK),
         dnsmasq(TFTP_SENT.format(r"undionly\.kpxe")),
         dnsmasq(r"user class: CSTM"), dnsmasq(ACK),
         dnsmasq(rf"option: 67 bootfile-name\s+{SCRIPT_URL}"),
         never("dnsmasq", r"sent \S*/undionly\.kpxe(?s:.*)sent \S*/undionly\.kpxe"),
         http(r"^GET /boot\.ipxe 200$"),
         ROM_STARTS,
         serial(r"Filename: undionly\.kpxe"), serial(r"undionly\.kpxe\.\.\. ok"),
         serial(IPXE_BANNER), *IPXE_GOT_SCRIPT, _marker("f-cstm-seabios")),
        files={"undionly.kpxe": "cstm-undionly", "ipxe.efi": "debian-ipxe-efi"}),
    *EXAMPLE_SCENARIOS,
    *TOPOLOGY_SCENARIOS,
)}


# -- files -------------------------------------------------------------------
def debian_file(name):
    """A file of Debian's ipxe package (skips the scenario if not installed)."""
    def resolve():
        path = os.path.join(DEBIAN_IPXE_DIR, name)
        if not os.path.isfile(path):
            raise SourceUnavailable(f"{path} missing (apt-get install ipxe)")
        return path
    return resolve


def cstm_build(target, variable):
    """A CSTM iPXE `target`: $`variable`, else build-ipxe-cstm's (cached) result.

    build-ipxe-cstm builds from Debian's ipxe source, or derives the binary
    from Debian's own when the source cannot be fetched; what it did is
    printed to stderr (the test log) once per process.
    """
    @functools.cache
    def resolve():
        given = os.environ.get(variable)
        if given:
            return given
        proc = subprocess.run([str(BUILD_CSTM), "--target", target], capture_output=True,
                              text=True, timeout=1800)
        if proc.returncode == 3:
            raise SourceUnavailable("build-ipxe-cstm can get neither the ipxe source nor "
                                    "Debian's binary: " + proc.stderr.strip().splitlines()[-1])
        if proc.returncode != 0:
            raise RuntimeError(f"build-ipxe-cstm failed ({proc.returncode}):\n{proc.stderr}")
        how = [line for line in proc.stderr.splitlines() if "NOT BUILT FROM SOURCE" in line
               or "cached:" in line or "built in" in line]
        print("\n".join(how), file=sys.stderr)
        return proc.stdout.strip().splitlines()[-1]
    return resolve


def debian_package_file(function):
    """A file debian_boot makes from Debian's packages (skips if apt and cache fail)."""
    @functools.cache
    def resolve():
        try:
            return str(function())
        except debian_boot.Unavailable as exc:
            raise SourceUnavailable(str(exc)) from None
    return resolve


FILE_SOURCES = {
    "debian-undionly": debian_file("undionly.kpxe"),
    "debian-ipxe-efi": debian_file("ipxe.efi"),
    "cstm-undionly": cstm_build("undionly.kpxe", "PXC_IPXE_CSTM"),
    "cstm-ipxe-efi": cstm_build("ipxe.efi", "PXC_IPXE_CSTM_EFI"),
    "debian-shim": debian_package_file(debian_boot.shim),
    "debian-grubnet": debian_package_file(debian_boot.grub_net),
    "debian-grub-pc-core": debian_package_file(debian_boot.grub_pc_core),
    "debian-kernel": debian_package_file(debian_boot.kernel),
    "debian-initramfs": debian_package_file(debian_boot.initramfs),
}


# -- configs -----------------------------------------------------------------
def config_path(scenario):
    """The config file to use: $PXC_FW_CONFIG_DIR/<name>.conf if present, else the stock one."""
    override_dir = os.environ.get("PXC_FW_CONFIG_DIR")
    if override_dir:
        candidate = Path(override_dir) / f"{scenario.name}.conf"
        if candidate.is_file():
            return candidate
    return REPO / scenario.config


def option_key(line):
    """The option name of a config line ("dhcp-boot" of "dhcp-boot=x"), "" for comments."""
    line = line.strip()
    return "" if line.startswith("#") else line.split("=", 1)[0]


def prepare_config(text, file_root, speed=True):
    """Config text ready for the lab: TFTP root `file_root`, LAB_LINES, SPEED_LINES.

    A config that serves TFTP gets `file_root` as its root (replacing any
    tftp-root); LAB_LINES are added when their option is absent, SPEED_LINES
    (with `speed`) when the exact line is absent (the RA-only range also
    when the config has a DHCPv6 range).
    """
    keys = {option_key(line) for line in text.splitlines()}
    if keys & {"tftp-root", "enable-tftp"}:
        text = set_config_option(text, "tftp-root", file_root)
    present = {line.strip() for line in text.splitlines()}
    if 6 in range_families(text):
        present.add(RA_ONLY_RANGE)
    extra = [line for line in LAB_LINES if option_key(line) not in keys]
    extra += [line for line in SPEED_LINES if speed and line not in present]
    return text.rstrip("\n") + "\n" + "".join(f"{line}\n" for line in extra)


# -- checking ----------------------------------------------------------------
def check_stream(text, expects):
    """Problems (strings) found checking ordered expectations against one stream.

    Each thread keeps its own position; the main order is thread "".
    """
    problems, positions = [], {}
    for expect in expects:
        position = positions.get(expect.thread, 0)
        if expect.count == 0:
            if re.search(expect.pattern, text, re.MULTILINE):
                problems.append(f"{expect.stream}: unexpected /{expect.pattern}/")
            continue
        for seen in range(expect.count):
            match = re.compile(expect.pattern, re.MULTILINE).search(text, position)
            if match is None:
                problems.append(f"{expect.stream}: /{expect.pattern}/ seen {seen} of "
                                f"{expect.count} times after offset {position}")
                break
            position = match.end()
        positions[expect.thread] = position
    return problems


def check_chain(expectations, streams):
    """All problems of a chain, stream by stream (empty list: the chain holds)."""
    problems = []
    for name in dict.fromkeys(expect.stream for expect in expectations):
        ordered = [expect for expect in expectations if expect.stream == name]
        problems += check_stream(streams.get(name, ""), ordered)
    return problems


# -- running -----------------------------------------------------------------
@dataclass
class BootResult:
    """What one boot showed: whether it reached its stop condition, in how long."""
    scenario: str
    profile: str
    reached: bool
    seconds: float
    streams: dict
    workdir: str
    problems: list = field(default_factory=list)

    def summary(self):
        """One line for the test log."""
        state = "reached stop condition" if self.reached else "TIMED OUT"
        return f"{self.scenario} ({self.profile}): {state} after {self.seconds:.1f} s"

    def report(self, tail=3000):
        """Problems plus the end of every stream, for a failure message."""
        parts = [self.summary(), *self.problems, f"artifacts: {self.workdir}"]
        for name, text in self.streams.items():
            parts.append(f"--- {name} (last {tail} chars) ---\n{text[-tail:]}")
        return "\n".join(parts)


def populate_root(scenario, root):
    """Fill the TFTP/HTTP root: the scenario's boot files and scripts."""
    os.makedirs(root, exist_ok=True)
    for name, source in scenario.files.items():
        shutil.copyfile(FILE_SOURCES[source](), os.path.join(root, name))
    for name, text in scenario.script_files().items():
        os.makedirs(os.path.dirname(os.path.join(root, name)), exist_ok=True)
        with open(os.path.join(root, name), "w") as f:
            f.write(text)


def _start_dnsmasq(binary, ns, config_file, root, workdir, speed, hold=0):
    """A started Dnsmasq with the prepared config, its files in `workdir`;
    HOLD: seconds its offers are held (dhcp-reply-delay, a rival first)."""
    os.makedirs(workdir, exist_ok=True)
    text = prepare_config(Path(config_file).read_text(), root, speed)
    if hold:
        text += f"dhcp-reply-delay={hold}\n"
    return Dnsmasq(binary, ns, text, workdir=workdir).start()


def save_streams(streams, workdir):
    """Write each stream to <workdir>/<name>.stream, the artifacts of a kept boot."""
    for name, text in streams.items():
        with open(os.path.join(workdir, f"{name}.stream"), "w") as f:
            f.write(text + "\n")


def peer_binary(dnsmasq_binary):
    """The plain DHCP server's binary: $PXC_DNSMASQ_PEER (a stock build), else the same."""
    return os.environ.get("PXC_DNSMASQ_PEER") or dnsmasq_binary


def play(scenario, dnsmasq_binary, workdir):
    """Boot `scenario` once; return a BootResult with every stream and its checks."""
    root = os.path.join(workdir, "root")
    populate_root(scenario, root)
    peers = (PEER_ADDR,) if scenario.peer_config else ()
    servers = []
    with Topology(clients=0, taps=1, server_extra=(SERVER_IPV6,), peers=peers) as topo:
        try:
            peer_server = None
            if scenario.peer_config:
                # the plain server's TFTP root (if it serves TFTP) holds nothing
                peer_root = os.path.join(workdir, "peer-root")
                os.makedirs(peer_root, exist_ok=True)
                peer_server = _start_dnsmasq(peer_binary(dnsmasq_binary), topo.peer.ns,
                                             REPO / scenario.peer_config, peer_root,
                                             os.path.join(workdir, "peer"), speed=False)
                servers.append(peer_server)
            server_ns, relay_process = topo.server.ns, None
            if scenario.relay:
                server_ns = topology.relay_link(topo, ipaddress.IPv4Network(f"{SERVER_IP}/24",
                                                                           strict=False),
                                                topo.bridge, RELAY_TRANSIT)
                relay_process = topology.start_isc_relay(
                    topo.server.ns, os.path.join(workdir, "relay"), topo.bridge, RELAY_BOOT_IP)
                servers.append(relay_process)
            main_server = _start_dnsmasq(dnsmasq_binary, server_ns, config_path(scenario),
                                         root, os.path.join(workdir, "dnsmasq"), speed=True,
                                         hold=scenario.hold_offers)
            servers.append(main_server)
            # both families on one socket: the IPv6 scenarios fetch over IPv6
            web = HttpFileServer(topo.server.ns, root, address="::", port=80).start()
            servers.append(web)
            vm = qemu.VM(scenario.profile, os.path.join(workdir, "vm"), TAP, topo.server.ns,
                         romfile=scenario.romfile, device_options=scenario.device_options)
            pattern, occurrences = scenario.stop_condition()
            with vm:
                reached = vm.wait_for(pattern, scenario.timeout, occurrences) is not None
                seconds = vm.elapsed()
            streams = {"dnsmasq": "\n".join(main_server.log_lines()),
                       "http": "\n".join(f"{m} {p} {s}" for m, p, s in web.requests),
                       "serial": vm.console()}
            if peer_server:
                streams["peer"] = "\n".join(peer_server.log_lines())
            if relay_process:
                streams["relay"] = relay_process.output()
        finally:
            for server in reversed(servers):
                server.stop()
    save_streams(streams, workdir)
    result = BootResult(scenario.name, scenario.profile, reached, seconds, streams, workdir)
    if not reached:
        result.problems.append(f"serial: stop condition /{pattern}/ x{occurrences} not reached "
                               f"within {scenario.timeout:.0f} s")
    result.problems += check_chain(scenario.expect, streams)
    return result


def record(result):
    """Append the boot time to $PXC_FW_RESULTS (JSON lines) and print it on stderr."""
    print(f"firmware boot {result.summary()}", file=sys.stderr)
    path = os.environ.get("PXC_FW_RESULTS")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps({"scenario": result.scenario, "profile": result.profile,
                                "reached": result.reached, "seconds": round(result.seconds, 2),
                                "ok": not result.problems, "time": time.time()}) + "\n")


def interrupt_on_sigterm():
    """Turn SIGTERM (a CI time-out, `kill`) into KeyboardInterrupt.

    Without this the interpreter dies at once and leaves QEMU, dnsmasq and the
    namespaces behind; as an exception it unwinds through the VM, server and
    Topology context managers, which stop what they started.
    """
    def handler(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, handler)


def main(argv):
    """Play the named scenarios (default: all) with $PXC_DNSMASQ; print times."""
    interrupt_on_sigterm()
    binary = os.environ.get("PXC_DNSMASQ")
    if not binary:
        print("set PXC_DNSMASQ to a dnsmasq binary", file=sys.stderr)
        return 2
    failed = 0
    for name in argv or list(SCENARIOS):
        workdir = tempfile.mkdtemp(prefix=f"pxc-fw-{name}-")
        result = play(SCENARIOS[name], binary, workdir)
        record(result)
        if result.problems:
            failed += 1
            print(result.report(), file=sys.stderr)
        elif os.environ.get("PXC_FW_KEEP"):
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
