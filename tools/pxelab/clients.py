"""The boot programs the lab plays, as the bytes they put on the wire.

A Program is one piece of boot code that asks DHCP: a firmware's PXE or
HTTP Boot stack, or an iPXE/gPXE build.  It knows its options (values and
the order its family writes them in, for DISCOVER and REQUEST), its header
conventions (flags, padding), what it can fetch (TFTP, HTTP) and run.
A Machine is one client type of the lab: hardware (MAC, SMBIOS UUID, NIC
bus id, architecture) and the Program its firmware starts with.

Where the bytes come from (each profile names its source):
  [cap]  tests/captures (QEMU 7.2, Debian bookworm firmware): OVMF PXE and
         HTTP Boot, QEMU's iPXE ROM = Debian's undionly.kpxe, Debian's
         ipxe.efi.  tests/lab checks the profiles against the captures
         byte for byte.
  [fact] the crafted-packet fact sheet (notes/crafted-packets.md, read from
         the firmware sources): EDK2 on AArch64, VirtualBox's iPXE, gPXE.
  [inf]  inferred, no capture and no source: the legacy BIOS PXE ROM
         (PXE 2.1 spec options 53/55/57/60/93/94/97, option order and
         parameter list as Intel Boot Agent ROMs send them, 548-byte
         BOOTP payload), and iPXE EFI for ARM64 (the x64 build with the
         architecture swapped).
"""

import uuid as uuidlib
from dataclasses import dataclass, field, replace

from . import dhcp

# Option codes used below (decimal, as DHCP names them).
MAX_SIZE, PARAMS, VENDOR_CLASS, CLIENT_ID, USER_CLASS = 57, 55, 60, 61, 77
ARCH, NDI, UUID, IPXE = 93, 94, 97, 175
SERVER_ID, REQUESTED_IP, VENDOR_OPTS = 54, 50, 43

# Option 175 (iPXE) sub-options: bus id, version; feature codes (hex, as
# iPXE's features.h): HTTP and HTTPS decide what an iPXE can fetch.
IPXE_BUSID, IPXE_VERSION = 0xB1, 0xEB
FEATURE_HTTP, FEATURE_HTTPS = 0x13, 0x14

# Parameter request lists (option 55) per family.
PARAMS_PXE_ROM = bytes([1, 2, 3, 5, 6, 11, 12, 13, 15, 16, 17, 18, 43, 54, 60, 67,
                        128, 129, 130, 131, 132, 133, 134, 135])
PARAMS_EDK2_PXE = bytes.fromhex("0102030405060c0d0f111216171c28292a2b3233363a3b3c4243"
                                "618081828384858687")
# EDK2 HTTP Boot: the 25th byte is an uninitialised stack byte; OVMF sent eb.
PARAMS_EDK2_HTTP = bytes.fromhex("0102030405060c0d0f111216171c28292a2b3233363a3b3ceb4361")
PARAMS_IPXE_2019 = bytes.fromhex("010306070c0f111a2b3c4243778081828384858687afcb")
PARAMS_IPXE_1_21 = PARAMS_IPXE_2019
PARAMS_GPXE = bytes.fromhex("010306070c0f112b3c4243afcb")

# Feature lists of option 175, in the order the builds emit them.
FEATURES_IPXE_BIOS_2019 = [(0x17, 1), (0x22, 1), (0x13, 1), (0x11, 1), (0x27, 1), (0x19, 1),
                           (0x29, 1), (0x10, 2), (0x21, 1), (0x15, 1), (0x18, 1), (0x12, 1)]
FEATURES_IPXE_EFI_2019 = [(0x17, 1), (0x24, 1), (0x13, 1), (0x11, 1), (0x27, 1), (0x29, 1),
                          (0x15, 1), (0x1B, 1), (0x12, 1)]
FEATURES_VBOX = [(0x10, 2), (0x15, 1), (0x17, 1), (0x21, 1)]
FEATURES_GPXE_097 = [(0x10, 2), (0x11, 1), (0x12, 1), (0x13, 1), (0x15, 1), (0x17, 1),
                     (0x18, 1), (0x19, 1), (0x21, 1), (0x22, 1), (0x23, 1)]

# Option order on the wire per family ([fact] §1); 50/54 mark where a
# REQUEST puts the requested address and server id.
ORDER_IPXE = ([53, 57, 93, 94, 60, 77, 55, 175, 61, 97],
              [53, 57, 93, 94, 60, 77, 55, 175, 61, 97, 54, 50])
ORDER_GPXE_097 = ([97, 61, 175, 53, 57, 93, 94, 60, 77, 55],
                  [50, 54, 97, 61, 175, 53, 57, 93, 94, 60, 77, 55])
ORDER_EDK2 = ([53, 57, 55, 97, 94, 93, 60], [53, 54, 50, 57, 55, 97, 94, 93, 60])
ORDER_PXE_ROM = ([53, 57, 93, 94, 97, 55, 60], [53, 50, 54, 57, 93, 94, 97, 55, 60])

# UEFI / BIOS architecture numbers (option 93) and the lab's arch names.
ARCH_CODES = {"bios": 0, "efi-x86": 6, "efi-x64": 7, "efi-arm64": 11}
HTTP_ARCH_CODES = {"efi-x86": 15, "efi-x64": 16, "efi-arm64": 19}

PXE_NDI_BIOS = bytes([1, 2, 1])       # UNDI 2.1
EDK2_NDI = bytes([1, 3, 0])           # no NII: DEFAULT_UNDI 3.0
IPXE_EFI_NDI = bytes([1, 3, 10])      # iPXE EFI: UNDI 3.10


@dataclass(frozen=True)
class Program:
    """One piece of boot code and the DHCP requests it makes.

    kind      'pxe' (PXE ROM / EDK2 PXE), 'http' (UEFI HTTP Boot), 'ipxe', 'gpxe'
    label     how the lab names it when dnsmasq's log does not say
    arch      bios, efi-x86, efi-x64, efi-arm64: what it can run
    values    {code: bytes} of its identity options (61/97 filled per machine)
    order     (DISCOVER order, REQUEST order) of option codes
    request_overrides  {code: bytes} a REQUEST sends instead (EDK2 PXE's 57)
    flags, pad_to      BOOTP header flags, minimum packet length (0: none)
    short_class_4011   sends vendor class 'PXEClient' to port 4011 (iPXE)
    source    where the bytes come from
    """
    kind: str
    label: str
    arch: str
    values: dict
    order: tuple
    source: str
    request_overrides: dict = field(default_factory=dict)
    flags: int = 0
    pad_to: int = 0
    short_class_4011: bool = False

    # -- capabilities ---------------------------------------------------
    def features(self):
        """{feature code: value} of option 175 (empty without one)."""
        raw = self.values.get(IPXE, b"")
        return {code: value for code, value in _tlv(raw) if code not in (IPXE_BUSID,
                                                                       IPXE_VERSION)}

    def can_fetch(self, scheme):
        """True if this program can load a file by `scheme` (tftp, http, https)."""
        if self.kind == "pxe":
            return scheme == "tftp"
        if self.kind == "http":
            return scheme in ("http", "https")
        features = self.features()
        wanted = {"tftp": None, "http": FEATURE_HTTP, "https": FEATURE_HTTPS}.get(scheme, -1)
        return wanted is None or wanted in features

    def runs_scripts(self):
        """iPXE and gPXE run iPXE scripts; firmware does not."""
        return self.kind in ("ipxe", "gpxe")

    def handles_proxy(self):
        """PXE stacks and iPXE take proxyDHCP offers; EDK2 HTTP Boot never
        gets one from dnsmasq (it proxies PXEClient only)."""
        return self.kind != "http"

    # -- packets ----------------------------------------------------------
    def options(self, msg_type, extra=None):
        """[(code, bytes)] of a DISCOVER or REQUEST in this family's order;
        `extra` adds 50/54 (REQUEST) or 43 and others (appended if not in
        the order)."""
        extra = dict(extra or {})
        order = self.order[1] if msg_type == dhcp.REQUEST else self.order[0]
        values = dict(self.values)
        if msg_type == dhcp.REQUEST:
            values.update(self.request_overrides)
        values.update(extra)
        values[53] = bytes([msg_type])
        out = [(code, values[code]) for code in order if code in values]
        out += [(code, value) for code, value in extra.items() if code not in order]
        return out

    def packet(self, msg_type, xid, mac, extra=None, ciaddr="0.0.0.0", flags=None):
        """The whole BOOTP payload of one request."""
        return dhcp.build_packet(None, xid=xid, chaddr=mac, options=self.options(msg_type, extra),
                                 flags=self.flags if flags is None else flags, ciaddr=ciaddr,
                                 pad_to=self.pad_to)


@dataclass(frozen=True)
class Machine:
    """A lab client type: its hardware and the Program its firmware runs."""
    name: str
    title: str
    arch: str
    mac: str
    uuid: str
    busid: tuple            # (PCI vendor, device) of the NIC
    firmware: Program

    def with_identity(self, program):
        """`program` with this machine's MAC, UUID and NIC filled in."""
        values = dict(program.values)
        if CLIENT_ID in values:
            values[CLIENT_ID] = b"\x01" + dhcp.mac_bytes(self.mac)
        if UUID in values:
            values[UUID] = b"\x00" + smbios_uuid(self.uuid)
        if IPXE in values:
            values[IPXE] = with_busid(values[IPXE], self.busid)
        return replace(program, values=values)


# ------------------------------------------------------------------ helpers
def smbios_uuid(text):
    """The 16 bytes SMBIOS ≥ 2.6 stores (first three fields little-endian),
    which EDK2, iPXE and PXE ROMs put into option 97 after a 00 type byte."""
    return uuidlib.UUID(text).bytes_le


def _tlv(raw):
    """(code, int value) of the sub-options of an option-175 value."""
    pos = 0
    while pos + 2 <= len(raw):
        code, length = raw[pos], raw[pos + 1]
        value = raw[pos + 2:pos + 2 + length]
        yield code, int.from_bytes(value, "big") if value else 0
        pos += 2 + length


def ipxe_option(busid, version, features):
    """Option 175: bus id first, version, then features, as iPXE emits them."""
    vendor, device = busid
    out = bytes([IPXE_BUSID, 5, 1]) + vendor.to_bytes(2, "big") + device.to_bytes(2, "big")
    if version is not None:
        out += bytes([IPXE_VERSION, 3, *version])
    for code, value in features:
        out += bytes([code, 1, value])
    return out


def with_busid(raw, busid):
    """An option-175 value with its bus id replaced (inserted if absent)."""
    parts = [(raw[p], raw[p + 2:p + 2 + raw[p + 1]]) for p in _positions(raw)]
    vendor, device = busid
    new = bytes([1]) + vendor.to_bytes(2, "big") + device.to_bytes(2, "big")
    parts = [(IPXE_BUSID, new)] + [(c, v) for c, v in parts if c != IPXE_BUSID]
    return b"".join(bytes([c, len(v)]) + v for c, v in parts)


def _positions(raw):
    """Start offsets of the sub-options of a TLV area."""
    pos = 0
    while pos + 2 <= len(raw):
        yield pos
        pos += 2 + raw[pos + 1]


def ipxe_version(raw):
    """(major, minor, patch) of an option-175 value, or None."""
    for pos in _positions(raw):
        if raw[pos] == IPXE_VERSION and raw[pos + 1] == 3:
            return tuple(raw[pos + 2:pos + 5])
    return None


def set_ipxe_version(raw, version):
    """An option-175 value with its version sub-option replaced."""
    parts = [(raw[p], raw[p + 2:p + 2 + raw[p + 1]]) for p in _positions(raw)]
    out, done = [], False
    for code, value in parts:
        if code == IPXE_VERSION:
            value, done = bytes(version), True
        out.append((code, value))
    if not done:
        out.insert(1, (IPXE_VERSION, bytes(version)))
    return b"".join(bytes([c, len(v)]) + v for c, v in out)


def add_ipxe_feature(raw, code, value=1):
    """An option-175 value with feature `code` present."""
    if any(raw[p] == code for p in _positions(raw)):
        return raw
    return raw + bytes([code, 1, value])


def vendor_class(prefix, arch_code, undi):
    """'PXEClient:Arch:00007:UNDI:003000' (decimal digits, as the spec says)."""
    return f"{prefix}:Arch:{arch_code:05d}:UNDI:{undi}".encode()


# ------------------------------------------------------------------ programs
PLACEHOLDER_BUSID = (0, 0)


def pxe_identity(arch_code, ndi, undi, prefix="PXEClient"):
    """Options 93, 94 and 60 of a PXE or HTTP Boot stack: its architecture,
    its network interface (UNDI) version, and the vendor class repeating both."""
    return {ARCH: arch_code.to_bytes(2, "big"), NDI: ndi,
            VENDOR_CLASS: vendor_class(prefix, arch_code, undi)}


# A legacy BIOS PXE stack (x86, UNDI 2.1): PXE ROMs and BIOS iPXE/gPXE builds.
BIOS_PXE_IDENTITY = pxe_identity(ARCH_CODES["bios"], PXE_NDI_BIOS, "002001")


def pxe_rom():
    """A legacy BIOS PXE 2.1 ROM (Intel Boot Agent style) [inf]."""
    return Program(
        kind="pxe", label="pxe", arch="bios", order=ORDER_PXE_ROM,
        values={MAX_SIZE: (1260).to_bytes(2, "big"), UUID: b"", PARAMS: PARAMS_PXE_ROM,
                **BIOS_PXE_IDENTITY},
        flags=dhcp.BROADCAST_FLAG, pad_to=548,
        source="[inf] PXE 2.1 spec options, Intel Boot Agent order and 548-byte payload")


def _edk2(kind, label, arch, identity, params, source, **program):
    """A Program of EDK2's network stack: PXE and HTTP Boot send the same
    options, apart from the identity (93, 94, 60) and the parameter list."""
    return Program(
        kind=kind, label=label, arch=arch, order=ORDER_EDK2,
        values={MAX_SIZE: (1472).to_bytes(2, "big"), PARAMS: params, UUID: b"", **identity},
        flags=dhcp.BROADCAST_FLAG, source=source, **program)


def edk2_pxe(arch):
    """EDK2 UefiPxeBcDxe (OVMF, ArmVirtQemu): [cap c2] x64, [fact §7] ARM64."""
    return _edk2("pxe", "pxe", arch, pxe_identity(ARCH_CODES[arch], EDK2_NDI, "003000"),
                 PARAMS_EDK2_PXE,
                 "[cap] c2-ovmf-virtio-norom" if arch == "efi-x64" else
                 "[fact] §7 EDK2 PXE on AArch64",
                 request_overrides={MAX_SIZE: (65280).to_bytes(2, "big")})


def edk2_http(arch):
    """EDK2 HttpBootDxe: [cap f1] x64, [fact §7] ARM64."""
    return _edk2("http", "http-boot", arch,
                 pxe_identity(HTTP_ARCH_CODES[arch], EDK2_NDI, "003000", prefix="HTTPClient"),
                 PARAMS_EDK2_HTTP,
                 "[cap] f1-ovmf-httpboot" if arch == "efi-x64" else
                 "[fact] §7 EDK2 HTTP Boot on AArch64")


def _ipxe_family(kind, label, arch, identity, user_class, params, ipxe, order, source):
    """A Program of an iPXE or gPXE build: the family's option set with the
    build's identity (93, 94, 60), user class, parameter list and option 175
    (61 and 97 are filled per machine)."""
    values = {MAX_SIZE: (1472).to_bytes(2, "big"), USER_CLASS: user_class, PARAMS: params,
              CLIENT_ID: b"", UUID: b"", IPXE: ipxe, **identity}
    return Program(kind=kind, label=label, arch=arch, values=values, order=order,
                   short_class_4011=True, source=source)


def ipxe_build(arch, label="ipxe"):
    """Debian's iPXE 1.0.0+git-20190125 for `arch`: undionly.kpxe (= QEMU's
    ROM, [cap a]), ipxe.efi ([cap c2]), and for ARM64/IA32 the EFI build
    with the architecture swapped [inf]."""
    if arch == "bios":
        identity, features = BIOS_PXE_IDENTITY, FEATURES_IPXE_BIOS_2019
        source = "[cap] a-seabios-virtio (QEMU iPXE ROM = Debian undionly.kpxe)"
    else:
        identity = pxe_identity(ARCH_CODES[arch], IPXE_EFI_NDI, "003010")
        features = FEATURES_IPXE_EFI_2019
        source = "[cap] c2-ovmf-virtio-norom (Debian ipxe.efi)" if arch == "efi-x64" else \
            "[inf] Debian ipxe.efi with the architecture of " + arch
    return _ipxe_family("ipxe", label, arch, identity, b"iPXE", PARAMS_IPXE_2019,
                        ipxe_option(PLACEHOLDER_BUSID, (1, 0, 0), features), ORDER_IPXE, source)


def vbox_ipxe():
    """VirtualBox's built-in iPXE ROM (1.21.1 sources, no HTTP) [fact §8]."""
    return _ipxe_family("ipxe", "ipxe", "bios", BIOS_PXE_IDENTITY, b"iPXE", PARAMS_IPXE_1_21,
                        ipxe_option(PLACEHOLDER_BUSID, (1, 21, 1), FEATURES_VBOX), ORDER_IPXE,
                        "[fact] §8 VirtualBox iPXE")


def gpxe_097():
    """gPXE 0.9.7 undionly.kpxe (options prepended: reversed order) [fact §2]."""
    return _ipxe_family("gpxe", "gpxe", "bios", BIOS_PXE_IDENTITY, b"gPXE", PARAMS_GPXE,
                        ipxe_option(PLACEHOLDER_BUSID, (0, 9, 7), FEATURES_GPXE_097),
                        ORDER_GPXE_097, "[fact] §2 gPXE 0.9.7")


# ------------------------------------------------------------------ the site's own iPXE
VERSION_OPS = (">=", "<=", "!=", "==", ">", "<", "=")


def parse_version(text):
    """'1.21.1' -> (1, 21, 1); missing parts are 0."""
    parts = [int(p) for p in text.split(".")]
    return tuple((parts + [0, 0, 0])[:3])


def version_meeting(test):
    """A version that passes `test` ('>=1.21.1', '<2', '!=1.0.0' ...)."""
    op = next((o for o in VERSION_OPS if test.startswith(o)), "=")
    bound = parse_version(test[len(op):] if test.startswith(op) else test)
    as_int = (bound[0] << 16) | (bound[1] << 8) | bound[2]
    step = {"<": -1, ">": 1, "!=": 1}.get(op, 0)
    value = max(0, min(0xFFFFFF, as_int + step))
    return (value >> 16, (value >> 8) & 0xFF, value & 0xFF)


def own_build(base, identities, feature_codes):
    """The site's own iPXE: `base` (a plain build of the client's arch)
    changed to meet the first identity of dhcp-ipxe-own that can be met
    (user class, features, version; `chained` needs no bytes).  Returns
    (program, description)."""
    for identity in identities:
        try:
            program, said = _apply_identity(base, identity, feature_codes)
        except ValueError:
            continue
        return replace(program, label="ipxe"), said
    return base, "plain iPXE (no dhcp-ipxe-own identity)"


def _apply_identity(base, identity, feature_codes):
    """`base` changed to meet every criterion of one identity."""
    values = dict(base.values)
    said = []
    for criterion in identity:
        name, _, arg = criterion.partition(":")
        if name == "user-class":
            values[USER_CLASS] = arg.encode()
            said.append(f"user class {arg}")
        elif name == "feature":
            code = feature_codes.get(arg)
            if code is None:
                code = int(arg, 0)
            values[IPXE] = add_ipxe_feature(values[IPXE], code)
            said.append(f"feature {arg}")
        elif name == "version":
            version = version_meeting(arg)
            values[IPXE] = set_ipxe_version(values[IPXE], version)
            said.append("version " + ".".join(map(str, version)))
        elif criterion == "chained":
            said.append("chained")
        else:
            raise ValueError(criterion)
    return replace(base, values=values), "own iPXE (" + ", ".join(said or ["plain"]) + ")"


# ------------------------------------------------------------------ the lab's client types
BUSID_E1000 = (0x8086, 0x100E)
BUSID_VIRTIO = (0x1AF4, 0x1000)


def machines(own_program=None):
    """Every client type, in the order the lab reports them.  `own_program`
    is the site's own iPXE for the own-ipxe machine (default: plain BIOS)."""
    own = own_program or ipxe_build("bios")
    table = [
        ("bios-pxe", "BIOS PXE ROM (Intel PXE 2.1)", "bios", "00:1b:21:77:00:01",
         BUSID_E1000, pxe_rom()),
        ("uefi-x64-pxe", "UEFI x64 PXE (OVMF)", "efi-x64", "52:54:00:77:00:02",
         BUSID_VIRTIO, edk2_pxe("efi-x64")),
        ("uefi-x64-http", "UEFI x64 HTTP Boot (OVMF)", "efi-x64", "52:54:00:77:00:03",
         BUSID_VIRTIO, edk2_http("efi-x64")),
        ("arm64-pxe", "ARM64 UEFI PXE (ArmVirtQemu)", "efi-arm64", "52:54:00:77:00:04",
         BUSID_VIRTIO, edk2_pxe("efi-arm64")),
        ("arm64-http", "ARM64 UEFI HTTP Boot (ArmVirtQemu)", "efi-arm64", "52:54:00:77:00:05",
         BUSID_VIRTIO, edk2_http("efi-arm64")),
        ("qemu-ipxe", "QEMU's iPXE ROM (virtio)", "bios", "52:54:00:77:00:06",
         BUSID_VIRTIO, ipxe_build("bios")),
        ("vbox-ipxe", "VirtualBox's iPXE ROM", "bios", "08:00:27:77:00:07",
         BUSID_E1000, vbox_ipxe()),
        ("own-ipxe", "the site's own iPXE, booted directly", own.arch, "52:54:00:77:00:08",
         BUSID_VIRTIO, own),
        ("gpxe", "gPXE 0.9.7 (undionly)", "bios", "00:1b:21:77:00:09",
         BUSID_E1000, gpxe_097()),
    ]
    result = []
    for index, (name, title, arch, mac, busid, program) in enumerate(table, 1):
        machine = Machine(name, title, arch, mac, f"00112233-4455-6677-8899-aabbccdd{index:04x}",
                          busid, program)
        result.append(replace(machine, firmware=machine.with_identity(program)))
    return result


MACHINE_NAMES = ("bios-pxe", "uefi-x64-pxe", "uefi-x64-http", "arm64-pxe", "arm64-http",
                 "qemu-ipxe", "vbox-ipxe", "own-ipxe", "gpxe")
