"""The boot programs the lab plays, as the bytes they put on the wire.

A Program is one piece of boot code that asks DHCP: a firmware's PXE or
HTTP Boot stack, or an iPXE/gPXE build.  It knows its options (values and
the order its family writes them in, for DISCOVER and REQUEST), its header
conventions (flags, padding), what it can fetch (TFTP, HTTP) and run.
A Machine is one client type of the lab: hardware (MAC, SMBIOS UUID, NIC
bus id, architecture) and the Program its firmware starts with.

What each program sends comes from the firmware fact sheet
(firmware.sheet, read by firmware.py), which the C unit tests and the
dnsmasq network tests read too; its header says where the bytes come from.
"""

from dataclasses import dataclass, field, replace

from . import dhcp, dhcp6, facts, firmware

# Option codes used below (decimal, as DHCP names them).
MAX_SIZE, PARAMS, VENDOR_CLASS, CLIENT_ID, USER_CLASS = 57, 55, 60, 61, 77
ARCH, NDI, UUID, IPXE = 93, 94, 97, 175
SERVER_ID, REQUESTED_IP, VENDOR_OPTS = 54, 50, 43

# Option 175 (iPXE) sub-options: bus id, version.
IPXE_BUSID, IPXE_VERSION = firmware.IPXE_BUSID, firmware.IPXE_VERSION


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
    secs      BOOTP secs: a number, or firmware.SECS_XID_LOW (GRUB)
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
    secs: object = 0
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
        if self.kind == "shim":
            return scheme in ("tftp", "http", "https")
        if scheme == "tftp":
            return True
        if scheme not in ("http", "https"):
            return False
        return facts.feature_code(scheme) in self.features()

    def runs_scripts(self):
        """iPXE and gPXE run iPXE scripts; firmware does not."""
        return self.kind in ("ipxe", "gpxe")

    def handles_proxy(self):
        """PXE stacks and iPXE take proxyDHCP offers; EDK2 HTTP Boot never
        gets one from dnsmasq (it proxies PXEClient only), and what runs
        after a boot program (GRUB, an initramfs) wants an address only."""
        return self.kind in ("pxe", "ipxe", "gpxe")

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
                                 secs=firmware.secs_for(self.secs, xid), pad_to=self.pad_to)


@dataclass(frozen=True)
class Machine:
    """A lab client type: its hardware and the Program its firmware runs."""
    name: str
    title: str
    arch: str
    mac: str
    uuid: str
    busid: tuple            # (bus type, vendor, device) of the NIC
    firmware: Program       # None: it asks DHCPv6 only
    firmware6: object = None   # its dhcp6.Program6 (None: DHCPv4 only)

    @property
    def families(self):
        """'v4', 'v6' or 'v4+v6': what its firmware asks."""
        return "+".join(f for f, p in (("v4", self.firmware), ("v6", self.firmware6)) if p)

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
smbios_uuid = firmware.smbios_uuid


def _tlv(raw):
    """(code, int value) of the sub-options of an option-175 value."""
    pos = 0
    while pos + 2 <= len(raw):
        code, length = raw[pos], raw[pos + 1]
        value = raw[pos + 2:pos + 2 + length]
        yield code, int.from_bytes(value, "big") if value else 0
        pos += 2 + length


def with_busid(raw, busid):
    """An option-175 value with its bus id replaced (inserted if absent)."""
    parts = [(raw[p], raw[p + 2:p + 2 + raw[p + 1]]) for p in _positions(raw)]
    bus, vendor, device = busid
    new = bytes([bus]) + vendor.to_bytes(2, "big") + device.to_bytes(2, "big")
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


# ------------------------------------------------------------------ programs
def program(name):
    """The Program of the sheet's `program NAME` block."""
    entry = firmware.load().programs[name]
    values = {o.code: firmware.option_value(entry, o) for o in entry.options
              if o.kind != "msg-type"}
    overrides = {o.code: firmware.option_value(entry, o) for o in entry.request_options}
    discover = [o.code for o in entry.options]
    return Program(kind=entry.kind, label=entry.label, arch=entry.arch, values=values,
                   order=(discover, entry.request_order or discover), source=entry.source,
                   request_overrides=overrides, flags=entry.flags, pad_to=entry.pad_to,
                   secs=entry.secs, short_class_4011=entry.short_class_4011)


def pxe_rom():
    """A legacy BIOS PXE 2.1 ROM (Intel Boot Agent style)."""
    return program("pxe-rom")


def edk2_pxe(arch):
    """EDK2 UefiPxeBcDxe (OVMF, ArmVirtQemu) for efi-x64 or efi-arm64."""
    return program(f"edk2-pxe-{arch}")


def edk2_http(arch):
    """EDK2 HttpBootDxe for efi-x64 or efi-arm64."""
    return program(f"edk2-http-{arch}")


def ipxe_build(arch):
    """Debian's iPXE 1.0.0+git-20190125 for `arch` (bios, efi-x86,
    efi-x64, efi-arm64)."""
    return program(f"ipxe-{arch}")


def vbox_ipxe():
    """VirtualBox's built-in iPXE ROM (1.21.1 sources, no HTTP)."""
    return program("vbox-ipxe")


def gpxe_097():
    """gPXE 0.9.7 undionly.kpxe (options prepended: reversed order)."""
    return program("gpxe-0.9.7")


# ------------------------------------------------------------------ the site's own iPXE
def version_meeting(op, bound):
    """A version (major, minor, patch) that passes `op bound` (op as the
    library names it: >=, <=, !=, =, >, <; bound a (major, minor, patch)),
    or None if none does (<0.0.0)."""
    as_int = (bound[0] << 16) | (bound[1] << 8) | bound[2]
    step = {"<": -1, ">": 1, "!=": 1}.get(op, 0)
    if op == "!=" and as_int == 0xFFFFFF:
        step = -1
    value = as_int + step
    if not 0 <= value <= 0xFFFFFF:
        return None
    return (value >> 16, (value >> 8) & 0xFF, value & 0xFF)


def own_build(base, identities):
    """The site's own iPXE: `base` (a plain build of the client's arch)
    changed to meet the first identity of dhcp-ipxe-own that can be met.
    IDENTITIES are the library's reading of those lines (`pxeclass config
    --json`: user_class, features [{code, name}], version {op, value},
    chained); `chained` needs no bytes.  Returns (program, description)."""
    for identity in identities:
        try:
            program, said = _apply_identity(base, identity)
        except ValueError:
            continue
        return replace(program, label="ipxe"), said
    return base, "plain iPXE (no dhcp-ipxe-own identity)"


def _apply_identity(base, identity):
    """`base` changed to meet every criterion of one identity; ValueError
    if a version test no version passes."""
    values = dict(base.values)
    said = []
    if identity.get("user_class") is not None:
        values[USER_CLASS] = identity["user_class"].encode()
        said.append(f"user class {identity['user_class']}")
    for feature in identity.get("features", ()):
        values[IPXE] = add_ipxe_feature(values[IPXE], feature["code"])
        said.append(f"feature {feature['name'] or hex(feature['code'])}")
    if identity.get("version"):
        bound = tuple(int(p) for p in identity["version"]["value"].split("."))
        version = version_meeting(identity["version"]["op"], bound)
        if version is None:
            raise ValueError(identity["text"])
        values[IPXE] = set_ipxe_version(values[IPXE], version)
        said.append("version " + ".".join(map(str, version)))
    if identity.get("chained"):
        said.append("chained")
    return replace(base, values=values), "own iPXE (" + ", ".join(said or ["plain"]) + ")"


# ------------------------------------------------------------------ the lab's client types
def machines(own_program=None):
    """Every client type of the sheet's `machine lab` blocks, in the order
    the lab reports them.  `own_program` is the site's own iPXE for the
    machine that runs `own` (default: plain BIOS iPXE)."""
    result = []
    for entry in firmware.load().machines:
        if entry.group != "lab":
            continue
        runs6 = dhcp6.program6(entry.program6) if entry.program6 else None
        runs = own_program or ipxe_build("bios") if entry.program == "own" else \
            program(entry.program) if entry.program else None
        machine = Machine(entry.name, entry.title, (runs or runs6).arch, entry.mac, entry.uuid,
                          firmware.parse_busid(entry.busid), runs, runs6)
        result.append(replace(machine, firmware=runs and machine.with_identity(runs)))
    return result


def machine_names():
    """The lab's client type names, in report order."""
    return [m.name for m in firmware.load().machines if m.group == "lab"]
