"""The firmware fact sheet (firmware.sheet): what each boot client sends.

One file says, for every boot program the tests and the lab play, which
DHCP options it sends in which order and with which bytes, and what the
library must make of it (class, architecture, own/vendor).  The Python lab
(clients.py), the dnsmasq network tests (tests/dnsmasq/netkit.py) and the
C unit tests (tests/unit/factsheet.c) all read it; nobody else describes
a firmware.  The format is in the sheet's own header.

Names in the sheet (architectures, iPXE features, bus types) are the
library's: they are resolved through `pxeclass facts --json` (facts.py).
"""

import os
import uuid as uuidlib
from dataclasses import dataclass, field

from . import facts

SHEET = os.path.join(os.path.dirname(os.path.abspath(__file__)), "firmware.sheet")
BROADCAST_FLAG = 0x8000
IPXE_BUSID, IPXE_VERSION = 0xB1, 0xEB
SECS_XID_LOW = "xid-low"               # secs = the low 16 bits of the xid (GRUB)
PLACEHOLDER_BUSID = (1, 0, 0)          # (bus type, vendor, device)


class SheetError(ValueError):
    """A line of the sheet that does not read."""


@dataclass
class Option:
    """One `option CODE TYPE ARGS` line."""
    code: int
    kind: str
    args: list


@dataclass
class Program:
    """One `program` block: a boot program's requests."""
    name: str
    kind: str = None
    label: str = None
    arch: str = None
    source: str = ""
    flags: int = 0
    pad_to: int = 0
    secs: object = 0           # BOOTP secs: a number, or SECS_XID_LOW
    short_class_4011: bool = False
    options: list = field(default_factory=list)          # [Option], DISCOVER order
    request_order: list = None                            # [code] or None: as DISCOVER
    request_options: list = field(default_factory=list)  # [Option] a REQUEST sends instead
    request_drops: list = field(default_factory=list)    # [code] a REQUEST leaves out
    ipxe_version: tuple = None
    ipxe_features: list = field(default_factory=list)    # [(name or code, value)]
    expect: dict = field(default_factory=dict)           # class, arch, own


@dataclass
class Program6:
    """One `program6` block: a boot program's DHCPv6 requests (dhcp6.py
    builds them)."""
    name: str
    kind: str = None
    label: str = None
    arch: str = None
    source: str = ""
    iaid: str = "random"       # random (EDK2) or crc32-mac (iPXE)
    xid: str = "session"       # per-message (EDK2) or session (iPXE)
    options: list = field(default_factory=list)          # [Option], SOLICIT order
    request_order: list = None                            # [code]; 2 = server id
    request_ia: str = "zero"   # copy: a REQUEST repeats the advertised T1/T2, lifetimes


@dataclass
class Machine:
    """One `machine` block: a client of the lab (group 'lab') or of the
    network tests (group 'net'): hardware and the program it boots."""
    group: str
    name: str
    title: str = ""
    mac: str = None
    uuid: str = None
    busid: str = None          # 'pci:8086:100e'
    program: str = None
    program6: str = None       # its DHCPv6 program (None: DHCPv4 only)


@dataclass
class Sheet:
    programs: dict = field(default_factory=dict)          # name -> Program
    programs6: dict = field(default_factory=dict)         # name -> Program6
    machines: list = field(default_factory=list)          # [Machine]
    identities: list = field(default_factory=list)        # dhcp-ipxe-own values

    def machine(self, group, name):
        """The machine NAME of GROUP; KeyError if none."""
        for machine in self.machines:
            if machine.group == group and machine.name == name:
                return machine
        raise KeyError(name)


def _number(text):
    """'548', '0x8000' -> int."""
    return int(text, 0)


def _option(words, where):
    """An Option from the words after `option`."""
    if len(words) < 2:
        raise SheetError(f"{where}: option needs a code and a type")
    return Option(_number(words[0]), words[1], words[2:])


def _program_line(program, key, rest, where):
    """Apply one indented line of a program block."""
    words = rest.split()
    if key in ("kind", "label", "arch"):
        setattr(program, key, rest)
    elif key == "source":
        program.source = rest
    elif key == "flags":
        program.flags = BROADCAST_FLAG if rest == "broadcast" else _number(rest)
    elif key == "pad-to":
        program.pad_to = _number(rest)
    elif key == "secs":
        program.secs = SECS_XID_LOW if rest == SECS_XID_LOW else _number(rest)
    elif key == "short-class-4011":
        program.short_class_4011 = True
    elif key == "option":
        program.options.append(_option(_text_aware_split(rest), where))
    elif key == "request-option":
        program.request_options.append(_option(_text_aware_split(rest), where))
    elif key == "request-order":
        program.request_order = [_number(w) for w in words]
    elif key == "request-drops":
        program.request_drops = [_number(w) for w in words]
    elif key == "ipxe-version":
        program.ipxe_version = tuple(int(p) for p in rest.split("."))
    elif key == "ipxe-features":
        for word in words:
            name, _, value = word.partition("=")
            program.ipxe_features.append((name, int(value) if value else 1))
    elif key == "expect":
        if len(words) % 2:
            raise SheetError(f"{where}: expect needs KEY VALUE pairs")
        program.expect = dict(zip(words[::2], words[1::2]))
    else:
        raise SheetError(f"{where}: unknown program line '{key}'")


def _text_aware_split(rest):
    """CODE TYPE ARGS; a text value is the rest of the line as it is."""
    parts = rest.split(None, 2)
    if len(parts) == 3 and parts[1] == "text":
        return parts[:2] + [parts[2]]
    return rest.split()


def _program6_line(program, key, rest, where):
    """Apply one indented line of a program6 block."""
    if key in ("kind", "label", "arch", "source", "iaid", "xid", "request-ia"):
        key = key.replace("-", "_")
        setattr(program, key, rest)
    elif key == "option6":
        words = rest.split(None, 3) if " vendor-class " in f" {rest} " else \
            rest.split(None, 2)
        program.options.append(_option(words, where))
    elif key == "request-order6":
        program.request_order = [_number(w) for w in rest.split()]
    else:
        raise SheetError(f"{where}: unknown program6 line '{key}'")


def _machine_line(machine, key, rest, where):
    """Apply one indented line of a machine block."""
    if key in ("title", "mac", "uuid", "busid", "program", "program6"):
        setattr(machine, key, rest)
    else:
        raise SheetError(f"{where}: unknown machine line '{key}'")


def parse(text, name="firmware.sheet"):
    """The Sheet of TEXT."""
    sheet, block = Sheet(), None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        where = f"{name}:{number}"
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, _, rest = line.strip().partition(" ")
        rest = rest.strip()
        if not line[0].isspace():
            if key == "program":
                block = Program(rest)
                sheet.programs[rest] = block
            elif key == "program6":
                block = Program6(rest)
                sheet.programs6[rest] = block
            elif key == "machine":
                group, _, mname = rest.partition(" ")
                block = Machine(group, mname.strip())
                sheet.machines.append(block)
            elif key == "identity":
                sheet.identities.append(rest)
                block = None
            else:
                raise SheetError(f"{where}: unknown block '{key}'")
        elif isinstance(block, Program):
            _program_line(block, key, rest, where)
        elif isinstance(block, Program6):
            _program6_line(block, key, rest, where)
        elif isinstance(block, Machine):
            _machine_line(block, key, rest, where)
        else:
            raise SheetError(f"{where}: indented line outside a block")
    for machine in sheet.machines:
        if machine.program6 is not None and machine.program6 not in sheet.programs6:
            raise SheetError(f"{name}: machine {machine.name} runs unknown program6 "
                             f"{machine.program6}")
        if machine.program is None and machine.program6 is not None:
            continue
        if machine.program not in sheet.programs and machine.program != "own":
            raise SheetError(f"{name}: machine {machine.name} runs unknown program "
                             f"{machine.program}")
    return sheet


_loaded = None


def load():
    """The sheet next to this module, read once."""
    global _loaded
    if _loaded is None:
        with open(SHEET) as f:
            _loaded = parse(f.read(), SHEET)
    return _loaded


# ------------------------------------------------------------------ bytes
def mac_bytes(mac):
    """'52:54:00:..' -> 6 bytes."""
    return bytes(int(p, 16) for p in mac.split(":"))


def smbios_uuid(text):
    """The 16 bytes SMBIOS >= 2.6 stores (first three fields little-endian),
    which EDK2, iPXE and PXE ROMs put into option 97 after a 00 type byte."""
    return uuidlib.UUID(text).bytes_le


def parse_busid(text):
    """'pci:8086:100e' -> (bus type, vendor, device), the bus by the
    library's name."""
    bus, vendor, device = text.split(":")
    types = {b["name"]: b["type"] for b in facts.library()["buses"]}
    return types[bus], int(vendor, 16), int(device, 16)


def feature_number(name):
    """A feature of the sheet (the library's name, or a number) as its code."""
    return _number(name) if name[:1].isdigit() else facts.feature_code(name)


def ipxe_option(program, busid=PLACEHOLDER_BUSID):
    """Option 175 as iPXE emits it: bus id first, version, then features."""
    bus, vendor, device = busid
    out = bytes([IPXE_BUSID, 5, bus]) + vendor.to_bytes(2, "big") + device.to_bytes(2, "big")
    if program.ipxe_version is not None:
        out += bytes([IPXE_VERSION, 3, *program.ipxe_version])
    for name, value in program.ipxe_features:
        out += bytes([feature_number(name), 1, value])
    return out


def option_value(program, option, machine=None, msg_type=1):
    """The bytes of one option line.  Without MACHINE, the machine's parts
    (uuid, client-id, the bus id in 175) are placeholders: b"" and a zero
    bus id, as clients.Machine.with_identity fills them in."""
    kind, args = option.kind, option.args
    if kind == "msg-type":
        return bytes([msg_type])
    if kind == "u16":
        return _number(args[0]).to_bytes(2, "big")
    if kind == "hex":
        return bytes.fromhex("".join(args))
    if kind == "text":
        return args[0].encode() if args else b""
    if kind == "arch":
        return b"".join(facts.arch_code(a).to_bytes(2, "big") for a in args)
    if kind == "uuid":
        return b"\0" + smbios_uuid(machine.uuid) if machine else b""
    if kind == "client-id":
        kind_byte = _number(args[0]) if args else 1
        return bytes([kind_byte]) + mac_bytes(machine.mac) if machine else b""
    if kind == "ipxe":
        return ipxe_option(program, parse_busid(machine.busid) if machine else
                           PLACEHOLDER_BUSID)
    raise SheetError(f"program {program.name}: unknown option type '{kind}'")


def secs_for(secs, xid):
    """The BOOTP secs field of a request with XID: a sheet `secs` value
    (a number, or xid-low: GRUB fills xid and secs from one clock reading)."""
    return xid & 0xFFFF if secs == SECS_XID_LOW else secs


def discover_options(program, machine=None):
    """[(code, bytes)] of the program's DISCOVER, in its order."""
    return [(o.code, option_value(program, o, machine)) for o in program.options]


def text_option(name, code):
    """The text of option CODE of program NAME (for log expectations:
    'PXEClient:Arch:00000:UNDI:002001'); KeyError if it has none."""
    for option in load().programs[name].options:
        if option.code == code and option.kind == "text":
            return option.args[0]
    raise KeyError(f"{name} has no text option {code}")


def ipxe_version_text(name):
    """The option 175 version of program NAME as iPXE logs it: '1.0.0'."""
    return ".".join(map(str, load().programs[name].ipxe_version))
