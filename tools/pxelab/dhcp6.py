"""DHCPv6 for the lab: build and read messages, play SOLICIT/ADVERTISE/
REQUEST/REPLY from a client namespace, and ask for a router advertisement.

Messages (RFC 8415 §8): message type (1 byte), transaction id (3 bytes),
then options (u16 code, u16 length, data).  `parse` is bounds-checked: an
option running past the end of the message, a short header, a short IA_NA
or a vendor class whose instances run past their option raise Dhcp6Error,
never read past the data.  Relay messages are not played (the lab's
clients sit on the server's link).

What a program sends comes from the firmware fact sheet's `program6`
blocks (firmware.py); the bytes of each are checked against the g*
captures by tests/lab/test_lab6.py.
"""

import ipaddress
import os
import select
import socket
import struct
import time
import uuid as uuidlib
import zlib
from dataclasses import dataclass, field, replace

from . import facts, firmware

CLIENT_PORT, SERVER_PORT = 546, 547
ALL_SERVERS = "ff02::1:2"            # All_DHCP_Relay_Agents_and_Servers
ALL_ROUTERS = "ff02::2"
SOLICIT, ADVERTISE, REQUEST, REPLY, RELEASE = 1, 2, 3, 7, 8
RELAY_FORW, RELAY_REPL = 12, 13
MSG_NAMES = {1: "SOLICIT", 2: "ADVERTISE", 3: "REQUEST", 4: "CONFIRM", 5: "RENEW",
             6: "REBIND", 7: "REPLY", 8: "RELEASE", 9: "DECLINE", 10: "RECONFIGURE",
             11: "INFORMATION-REQUEST", 12: "RELAY-FORW", 13: "RELAY-REPL"}
OPT_CLIENTID, OPT_SERVERID, OPT_IA_NA, OPT_IAADDR, OPT_ORO = 1, 2, 3, 5, 6
OPT_PREFERENCE, OPT_ELAPSED, OPT_STATUS = 7, 8, 13
OPT_USER_CLASS, OPT_VENDOR_CLASS = 15, 16
OPT_BOOTFILE_URL, OPT_BOOTFILE_PARAM, OPT_ARCH, OPT_NII = 59, 60, 61, 62
OPT_RELAY_MSG, OPT_CLIENT_LINKLAYER = 9, 79
STATUS_SUCCESS = 0
STATUS_NAMES = {0: "Success", 1: "UnspecFail", 2: "NoAddrsAvail", 3: "NoBinding",
                4: "NotOnLink", 5: "UseMulticast", 6: "NoPrefixAvail"}
ENTERPRISE_PXE = 343                 # EDK2's and iPXE's vendor class enterprise
DUID_UUID = 4
HEADER_LEN = 4
IA_NA_HEAD = 12                      # IAID, T1, T2
IAADDR_HEAD = 24                     # address, preferred, valid
ICMP6_RS, ICMP6_RA = 133, 134
RA_MANAGED, RA_OTHER = 0x80, 0x40


class Dhcp6Error(ValueError):
    """A DHCPv6 message that does not read (truncated or malformed)."""


# ------------------------------------------------------------------ reading
@dataclass
class IaNa:
    """An IA_NA of a reply: IAID, T1/T2, addresses, status (None: absent)."""
    iaid: int
    t1: int
    t2: int
    addresses: list = field(default_factory=list)    # [(address text, preferred, valid)]
    status: int = None


@dataclass
class Message6:
    """One DHCPv6 message: type, xid (the 3 wire bytes read big-endian, as
    dnsmasq logs it) and its options [(code, bytes)] in wire order."""
    msg_type: int
    xid: int
    options: list
    src: str = None

    @property
    def msg_name(self):
        """'ADVERTISE' ..."""
        return MSG_NAMES.get(self.msg_type, str(self.msg_type))

    def option(self, code):
        """The data of the first option CODE, or None."""
        return next((data for c, data in self.options if c == code), None)

    def all(self, code):
        """The data of every option CODE, in order."""
        return [data for c, data in self.options if c == code]

    @property
    def status(self):
        """The top-level status code (None: absent)."""
        return status_code(self.option(OPT_STATUS))

    @property
    def preference(self):
        """The preference option's value (0 when absent, as RFC 8415 says)."""
        data = self.option(OPT_PREFERENCE)
        return data[0] if data else 0

    @property
    def bootfile_url(self):
        """Option 59 as text (no NUL on the wire), or None."""
        data = self.option(OPT_BOOTFILE_URL)
        return data.decode("latin-1") if data is not None else None

    @property
    def bootfile_param(self):
        """Option 60 as its list of strings (RFC 5970), or None."""
        data = self.option(OPT_BOOTFILE_PARAM)
        return None if data is None else [p.decode("latin-1") for p in length_list(data)]

    @property
    def vendor_class(self):
        """(enterprise, [instances]) of the first option 16, or None."""
        data = self.option(OPT_VENDOR_CLASS)
        if data is None:
            return None
        if len(data) < 4:
            raise Dhcp6Error(f"vendor class of {len(data)} bytes: no enterprise number")
        return struct.unpack_from("!I", data)[0], length_list(data[4:])

    @property
    def ia_na(self):
        """The first IA_NA as an IaNa, or None."""
        data = self.option(OPT_IA_NA)
        return None if data is None else read_ia_na(data)

    def leased_address(self):
        """The address an ADVERTISE or REPLY gives (top status and the IA's
        Success or absent, an IAADDR with a valid lifetime), else None."""
        ia = self.ia_na
        if self.status not in (None, STATUS_SUCCESS) or ia is None:
            return None
        if ia.status not in (None, STATUS_SUCCESS):
            return None
        return next((a for a, _, valid in ia.addresses if valid), None)


def read_options(data, start=0):
    """[(code, bytes)] of an option area; Dhcp6Error if one runs past the end."""
    options, pos = [], start
    while pos < len(data):
        if pos + 4 > len(data):
            raise Dhcp6Error(f"option header cut at byte {pos} of {len(data)}")
        code, length = struct.unpack_from("!HH", data, pos)
        if pos + 4 + length > len(data):
            raise Dhcp6Error(f"option {code} of {length} bytes runs past the end "
                             f"({len(data) - pos - 4} left)")
        options.append((code, data[pos + 4:pos + 4 + length]))
        pos += 4 + length
    return options


def length_list(data):
    """The instances of a (u16 length, bytes) list (options 15, 16, 60)."""
    out, pos = [], 0
    while pos < len(data):
        if pos + 2 > len(data):
            raise Dhcp6Error("length-prefixed list cut inside a length")
        length = struct.unpack_from("!H", data, pos)[0]
        if pos + 2 + length > len(data):
            raise Dhcp6Error(f"list entry of {length} bytes runs past its option")
        out.append(data[pos + 2:pos + 2 + length])
        pos += 2 + length
    return out


def status_code(data):
    """The code of a status option's data, or None."""
    if data is None:
        return None
    if len(data) < 2:
        raise Dhcp6Error("status code option shorter than 2 bytes")
    return struct.unpack_from("!H", data)[0]


def read_ia_na(data):
    """An IaNa of an IA_NA option's data."""
    if len(data) < IA_NA_HEAD:
        raise Dhcp6Error(f"IA_NA of {len(data)} bytes (needs {IA_NA_HEAD})")
    iaid, t1, t2 = struct.unpack_from("!III", data)
    ia = IaNa(iaid, t1, t2)
    for code, sub in read_options(data, IA_NA_HEAD):
        if code == OPT_IAADDR:
            if len(sub) < IAADDR_HEAD:
                raise Dhcp6Error(f"IAADDR of {len(sub)} bytes (needs {IAADDR_HEAD})")
            preferred, valid = struct.unpack_from("!II", sub, 16)
            ia.addresses.append((str(ipaddress.IPv6Address(sub[:16])), preferred, valid))
        elif code == OPT_STATUS:
            ia.status = status_code(sub)
    return ia


def parse(data, src=None):
    """A Message6 of a client/server message; Dhcp6Error if malformed."""
    if len(data) < HEADER_LEN:
        raise Dhcp6Error(f"DHCPv6 message of {len(data)} bytes")
    if data[0] in (RELAY_FORW, RELAY_REPL):
        raise Dhcp6Error("relay message: the lab's clients are on the server's link")
    return Message6(data[0], int.from_bytes(data[1:4], "big"), read_options(data, HEADER_LEN),
                    src)


# ------------------------------------------------------------------ building
def option(code, data):
    """One option's bytes."""
    if len(data) > 0xFFFF:
        raise ValueError(f"option {code} of {len(data)} bytes")
    return struct.pack("!HH", code, len(data)) + data


def build(msg_type, xid_bytes, options):
    """A message: type, the 3 xid bytes as on the wire, [(code, bytes)]."""
    if len(xid_bytes) != 3:
        raise ValueError("a DHCPv6 xid is 3 bytes")
    return bytes([msg_type]) + xid_bytes + b"".join(option(c, d) for c, d in options)


def duid_uuid(text, order):
    """DUID-UUID of a UUID: 'rfc4122' (iPXE) or 'smbios' (EDK2: the raw
    SMBIOS bytes, first three fields little-endian)."""
    value = uuidlib.UUID(text)
    raw = value.bytes if order == "rfc4122" else value.bytes_le
    return struct.pack("!H", DUID_UUID) + raw


def crc32_le(seed, data):
    """iPXE's crc32_le(): reflected CRC-32 without the pre/post inversion."""
    return zlib.crc32(data, seed ^ 0xFFFFFFFF) ^ 0xFFFFFFFF


def vendor_class(enterprise, *instances):
    """Option 16's data: enterprise, then (u16 length, bytes) per instance."""
    return struct.pack("!I", enterprise) + b"".join(
        struct.pack("!H", len(i)) + i for i in instances)


def user_class(*instances):
    """Option 15's data: (u16 length, bytes) per instance."""
    return b"".join(struct.pack("!H", len(i)) + i for i in instances)


def ia_na(iaid, t1, t2, address=None, lifetimes=(0, 0)):
    """IA_NA data; with ADDRESS one IAADDR with LIFETIMES (preferred, valid)."""
    data = struct.pack("!III", iaid, t1, t2)
    if address:
        data += option(OPT_IAADDR, ipaddress.IPv6Address(address).packed
                       + struct.pack("!II", *lifetimes))
    return data


@dataclass(frozen=True)
class Program6:
    """A boot program's DHCPv6 requests (a sheet `program6` block).

    kind, label, arch   as clients.Program (pxe, http, ipxe)
    iaid      'random' (EDK2) or 'crc32-mac' (iPXE)
    xid       'per-message' (EDK2's counter) or 'session' (iPXE)
    options   ((code, type, args), ...) in SOLICIT order
    request_order   option codes of a REQUEST (2: the server id)
    request_ia  'copy': a REQUEST's IA_NA repeats the advertised T1/T2 and
              address lifetimes (EDK2); 'zero': all 0 (iPXE)
    """
    name: str
    kind: str
    label: str
    arch: str
    source: str
    iaid: str
    xid: str
    options: tuple
    request_order: tuple
    request_ia: str = "zero"
    user_class: str = None      # replaces option 15's instance (the site's own build)

    def iaid_for(self, mac):
        """The IAID this program puts into its IA_NA on MAC's NIC."""
        if self.iaid == "crc32-mac":
            return crc32_le(0, firmware.mac_bytes(mac))
        return int.from_bytes(os.urandom(4), "big")

    def values(self, machine, iaid, server_id=None, advertised=None):
        """{code: bytes} of this program's options for MACHINE; with
        ADVERTISED (an IaNa) those of a REQUEST for its address."""
        out = {}
        for code, kind, args in self.options:
            out[code] = self._value(code, kind, args, machine, iaid, advertised)
        if server_id is not None:
            out[OPT_SERVERID] = server_id
        return out

    def _value(self, code, kind, args, machine, iaid, advertised):
        """The bytes of one sheet option6 line."""
        if kind == "duid-uuid":
            return duid_uuid(machine.uuid, args[0])
        if kind == "ia-na":
            t1, t2 = (int(w, 16) for w in " ".join(args).split())
            if advertised is None:
                return ia_na(iaid, t1, t2)
            address, preferred, valid = advertised.addresses[0]
            if self.request_ia != "copy":
                return ia_na(iaid, 0, 0, address)
            return ia_na(iaid, advertised.t1, advertised.t2, address, (preferred, valid))
        if kind == "u16":
            return int(args[0], 0).to_bytes(2, "big")
        if kind == "hex":
            return bytes.fromhex("".join(args))
        if kind == "arch":
            return b"".join(facts.arch_code(a).to_bytes(2, "big")
                            for a in " ".join(args).split())
        if kind == "vendor-class":
            return vendor_class(int(args[0]), args[1].encode())
        if kind == "user-class":
            return user_class((self.user_class or args[0]).encode())
        raise firmware.SheetError(f"program6 {self.name}: unknown option6 type '{kind}'")

    def message(self, msg_type, xid_bytes, machine, iaid, server_id=None, advertised=None):
        """The bytes of a SOLICIT, or of a REQUEST to SERVER_ID (a DUID)
        for the address of ADVERTISED (the IaNa of the ADVERTISE taken)."""
        values = self.values(machine, iaid, server_id, advertised)
        order = self.request_order if msg_type == REQUEST else \
            tuple(code for code, _, _ in self.options)
        return build(msg_type, xid_bytes, [(c, values[c]) for c in order if c in values])

    def can_fetch(self, scheme):
        """EDK2 PXE: tftp only; HTTP Boot: http(s); iPXE: tftp and http."""
        return {"pxe": ("tftp",), "http": ("http", "https"),
                "ipxe": ("tftp", "http")}.get(self.kind, ()).__contains__(scheme)


def program6(name):
    """The Program6 of the sheet's `program6 NAME` block."""
    entry = firmware.load().programs6[name]
    options = tuple((o.code, o.kind, tuple(o.args)) for o in entry.options)
    order = tuple(entry.request_order or [c for c, _, _ in options])
    return Program6(entry.name, entry.kind, entry.label, entry.arch, entry.source,
                    entry.iaid, entry.xid, options, order, entry.request_ia)


def ipxe6_build(arch):
    """The DHCPv6 side of Debian's iPXE for ARCH (bios, efi-x64, efi-arm64)."""
    return program6(f"ipxe6-{arch}")


def with_user_class(program, text):
    """PROGRAM sending TEXT as its user class (iPXE's `user-class` setting,
    which changes DHCPv4 and DHCPv6 together)."""
    return replace(program, user_class=text)


class XidSource:
    """The xids of one program run: EDK2 counts (one 24-bit counter,
    written little-endian, +1 per message); iPXE keeps one per session."""

    def __init__(self, rule):
        self.rule = rule
        self.counter = int.from_bytes(os.urandom(3), "little")

    def next(self, session_start=False):
        """The 3 wire bytes of the next message's xid."""
        if self.rule == "per-message" or session_start:
            self.counter = (self.counter + 1) & 0xFFFFFF
        return self.counter.to_bytes(3, "little")


# ------------------------------------------------------------------ the wire
class Dhcp6Client:
    """A DHCPv6 client socket in a node's namespace: UDP 546 on its
    interface, multicast to ff02::1:2 port 547 from its link-local address."""

    def __init__(self, node):
        self.node = node
        self.sock = None

    def __enter__(self):
        self.ifindex = self.node.ns.ifindex(self.node.iface)
        wait_link_local(self.node)
        self.sock = self.node.ns.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE,
                             self.node.iface.encode())
        self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, self.ifindex)
        self.sock.bind(("::", CLIENT_PORT))
        return self

    def __exit__(self, *exc):
        if self.sock:
            self.sock.close()
        return False

    def send(self, packet):
        """Send one message to All_DHCP_Relay_Agents_and_Servers."""
        self.sock.sendto(packet, (ALL_SERVERS, SERVER_PORT, 0, self.ifindex))

    def receive(self, xid, timeout, until=None):
        """Messages for XID (the int dnsmasq logs) until TIMEOUT passes or
        until(messages) is true; a malformed one is skipped."""
        got, deadline = [], time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or (until and until(got)):
                return got
            ready, _, _ = select.select([self.sock], [], [], left)
            if not ready:
                continue
            data, sender = self.sock.recvfrom(65535)
            try:
                message = parse(data, sender[0])
            except Dhcp6Error:
                continue
            if message.xid == xid:
                got.append(message)


def wait_link_local(node, timeout=3.0):
    """Wait until the node's link-local address has left DAD ('tentative')."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = node.ns.ip("-6", "-o", "addr", "show", "dev", node.iface, "scope", "link")
        if out.strip() and "tentative" not in out:
            return
        time.sleep(0.05)


def set_address(node, address, prefix=64):
    """Put a leased IPv6 address on the node (its global ones replaced)."""
    node.ns.ip("-6", "addr", "flush", "dev", node.iface, "scope", "global", check=False)
    node.ns.add_address(node.iface, f"{address}/{prefix}")


def router_flags(node, timeout=2.0):
    """Send a router solicitation from NODE and wait for an advertisement:
    (M, O) flags of the first RA, or None if none came (iPXE starts
    DHCPv6 only on an RA with M or O: ndp.c)."""
    wait_link_local(node)
    ifindex = node.ns.ifindex(node.iface)
    sock = node.ns.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    try:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, ifindex)
        solicit = struct.pack("!BBHI", ICMP6_RS, 0, 0, 0)
        deadline, next_send = time.monotonic() + timeout, 0.0
        while True:
            now = time.monotonic()
            if now >= deadline:
                return None
            if now >= next_send:
                sock.sendto(solicit, (ALL_ROUTERS, 0, 0, ifindex))
                next_send = now + 0.5
            ready, _, _ = select.select([sock], [], [], min(deadline, next_send) - now)
            if not ready:
                continue
            data, _ = sock.recvfrom(2048)
            if len(data) >= 16 and data[0] == ICMP6_RA:
                return bool(data[5] & RA_MANAGED), bool(data[5] & RA_OTHER)
    finally:
        sock.close()
