"""DHCPv4 for the lab: build requests, parse replies, play a boot client.

Building is deliberately permissive so tests can send what broken firmware
sends: any option as raw bytes, option 52 overload into file/sname, long
options split per RFC 3396, a missing END, or a completely raw option area.
Parsing is the reverse and never raises on malformed input: it collects what
it could read and lists problems in `errors`.

DhcpClient sends hand-made Ethernet/IPv4/UDP frames over an AF_PACKET socket
inside a client namespace, exactly as a boot ROM does (0.0.0.0:68 ->
255.255.255.255:67, or unicast to a boot server's port 4011), and receives
the replies for its xid the same way, so the client needs no IP address.
"""

import ipaddress
import os
import re
import socket
import struct
import time
from dataclasses import dataclass, field

MAGIC_COOKIE = b"\x63\x82\x53\x63"
BOOTREQUEST, BOOTREPLY = 1, 2
SERVER_PORT, CLIENT_PORT, PXE_PORT = 67, 68, 4011
FIXED_LEN = 236                 # BOOTP header before the cookie
SNAME_OFFSET, SNAME_LEN = 44, 64
FILE_OFFSET, FILE_LEN = 108, 128
BOOTP_MIN_LEN = 300
BROADCAST_FLAG = 0x8000

OPT_PAD, OPT_END = 0, 255
OPT_SUBNET_MASK = 1
OPT_ROUTER = 3
OPT_VENDOR = 43
OPT_REQUESTED_IP = 50
OPT_LEASE_TIME = 51
OPT_OVERLOAD = 52
OPT_MSG_TYPE = 53
OPT_SERVER_ID = 54
OPT_VENDOR_CLASS = 60
OPT_CLIENT_ID = 61
OPT_TFTP_SERVER = 66
OPT_BOOTFILE = 67
OPT_USER_CLASS = 77
OPT_ARCH = 93

MSG_TYPES = {1: "DISCOVER", 2: "OFFER", 3: "REQUEST", 4: "DECLINE", 5: "ACK",
             6: "NAK", 7: "RELEASE", 8: "INFORM"}
MSG_CODES = {name: code for code, name in MSG_TYPES.items()}
DISCOVER, OFFER, REQUEST, DECLINE, ACK, NAK, RELEASE, INFORM = range(1, 9)
# which reply answers which request
REPLY_TO = {DISCOVER: (OFFER,), REQUEST: (ACK, NAK), INFORM: (ACK,)}
# options of a request that belong to one exchange, not to the client's identity
EXCHANGE_OPTIONS = (OPT_MSG_TYPE, OPT_REQUESTED_IP, OPT_SERVER_ID)

# PXE (option 43) sub-options, PXE spec 2.1 table 2-1
PXE_DISCOVERY_CONTROL, PXE_BOOT_SERVERS, PXE_BOOT_MENU, PXE_MENU_PROMPT = 6, 8, 9, 10
PXE_BOOT_ITEM = 71

ETH_P_ALL, ETH_P_IP, ETH_P_ARP = 0x0003, 0x0800, 0x0806
PACKET_OUTGOING = 4
BROADCAST_MAC = "ff:ff:ff:ff:ff:ff"


class DhcpTimeout(TimeoutError):
    """No (suitable) reply arrived in time; `replies` holds what did."""

    def __init__(self, message, replies=()):
        super().__init__(message)
        self.replies = list(replies)


# ---------------------------------------------------------------- encoding
def mac_bytes(mac):
    """'aa:bb:..' (or bytes) -> raw bytes."""
    if isinstance(mac, (bytes, bytearray)):
        return bytes(mac)
    return bytes(int(part, 16) for part in mac.replace("-", ":").split(":"))


def mac_str(raw):
    """Raw bytes -> 'aa:bb:cc:dd:ee:ff'."""
    return ":".join(f"{b:02x}" for b in raw)


def ip_bytes(ip):
    """Dotted quad (or 4 bytes) -> 4 bytes."""
    if isinstance(ip, (bytes, bytearray)):
        return bytes(ip)
    return ipaddress.IPv4Address(ip).packed


def ip_str(raw):
    """4 bytes -> dotted quad."""
    return str(ipaddress.IPv4Address(bytes(raw)))


def as_bytes(value):
    """An option value given as bytes, str (UTF-8), int (one byte) or IPv4Address."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, int):
        return bytes([value])
    if isinstance(value, ipaddress.IPv4Address):
        return value.packed
    raise TypeError(f"cannot encode option value {value!r}")


@dataclass(frozen=True)
class Raw:
    """Bytes put into an option area verbatim (for malformed packets)."""
    data: bytes


def encode_options(options, end=True, split=True):
    """Encode [(code, value) | Raw] into an option area.

    Values longer than 255 bytes become consecutive instances of the same
    code (RFC 3396) unless split=False, which raises instead.  `end` appends
    the END option.
    """
    out = bytearray()
    for item in options:
        if isinstance(item, Raw):
            out += item.data
            continue
        code, value = item
        if code in (OPT_PAD, OPT_END) and value is None:
            out.append(code)
            continue
        data = as_bytes(value)
        if len(data) > 255 and not split:
            raise ValueError(f"option {code} is {len(data)} bytes; pass split=True")
        chunks = [data[i:i + 255] for i in range(0, len(data), 255)] or [b""]
        for chunk in chunks:
            out += bytes([code, len(chunk)]) + chunk
    if end:
        out.append(OPT_END)
    return bytes(out)


def _field(value, length, name):
    """A fixed BOOTP field (sname/file) from bytes or str, zero padded."""
    data = as_bytes(value) if value else b""
    if len(data) > length:
        raise ValueError(f"{name} is {len(data)} bytes, the field holds {length}")
    return data.ljust(length, b"\0")


def build_packet(msg_type=None, *, xid, chaddr, options=(), op=BOOTREQUEST, htype=1, hlen=6,
                 hops=0, secs=0, flags=0, ciaddr="0.0.0.0", yiaddr="0.0.0.0",
                 siaddr="0.0.0.0", giaddr="0.0.0.0", sname=b"", file=b"", end=True,
                 raw_options=None, cookie=MAGIC_COOKIE, pad_to=BOOTP_MIN_LEN):
    """Build a BOOTP/DHCP packet.

    msg_type     DHCP message type (int or 'DISCOVER'...), put first as
                 option 53 unless `options` already has a 53 (or None: none)
    options      [(code, value) | Raw(bytes)] in wire order
    sname, file  field contents; for option 52 overload pass
                 encode_options([...]) here and (52, 1|2|3) in options
    end          append END to the option area (False: no END at all)
    raw_options  bytes used as the whole option area instead of `options`
    pad_to       zero-pad the packet to at least this length (0: no pad)
    """
    header = struct.pack("!BBBBIHH4s4s4s4s16s", op, htype, hlen, hops, xid, secs, flags,
                         ip_bytes(ciaddr), ip_bytes(yiaddr), ip_bytes(siaddr),
                         ip_bytes(giaddr), mac_bytes(chaddr).ljust(16, b"\0")[:16])
    header += _field(sname, SNAME_LEN, "sname") + _field(file, FILE_LEN, "file")
    if raw_options is not None:
        area = bytes(raw_options)
    else:
        items = list(options)
        if isinstance(msg_type, str):
            msg_type = MSG_CODES[msg_type.upper()]
        has_53 = any(not isinstance(i, Raw) and i[0] == OPT_MSG_TYPE for i in items)
        if msg_type is not None and not has_53:
            items.insert(0, (OPT_MSG_TYPE, bytes([msg_type])))
        area = encode_options(items, end=end)
    packet = header + cookie + area
    return packet.ljust(pad_to, b"\0")


# ----------------------------------------------------------------- parsing
def _walk_options(area, where, errors):
    """Yield (code, value) of one option area; stop at END, note overruns."""
    pos = 0
    while pos < len(area):
        code = area[pos]
        if code == OPT_PAD:
            pos += 1
            continue
        if code == OPT_END:
            return
        if pos + 1 >= len(area):
            errors.append(f"{where}: option {code} has no length byte")
            return
        length = area[pos + 1]
        value = area[pos + 2:pos + 2 + length]
        if len(value) < length:
            errors.append(f"{where}: option {code} length {length} runs past the end")
            yield code, value
            return
        yield code, value
        pos += 2 + length
    if where == "options":
        errors.append("options: no END option")


def _cstring(raw):
    """A NUL-terminated BOOTP field as text."""
    return raw.split(b"\0", 1)[0].decode("latin-1")


@dataclass
class PxeOptions:
    """Option 43 decoded as PXE sub-options (PXE 2.1 spec, table 2-1)."""
    discovery_control: int = None
    boot_servers: list = field(default_factory=list)   # [(type, [ip, ...])]
    menu: list = field(default_factory=list)           # [(type, description)]
    prompt: tuple = None                               # (timeout, text)
    boot_item: tuple = None                            # (type, layer)
    raw: dict = field(default_factory=dict)            # every sub-option as bytes
    errors: list = field(default_factory=list)


def _pxe_boot_servers(value, pxe):
    """Sub-option 8: repeated {type u16, count u8, count x IPv4}."""
    pos = 0
    while pos + 3 <= len(value):
        kind, count = struct.unpack_from("!HB", value, pos)
        ips = [ip_str(value[pos + 3 + 4 * i:pos + 7 + 4 * i]) for i in range(count)
               if pos + 7 + 4 * i <= len(value)]
        pxe.boot_servers.append((kind, ips))
        pos += 3 + 4 * count
    if pos != len(value):
        pxe.errors.append("boot servers (8) truncated")


def _pxe_menu(value, pxe):
    """Sub-option 9: repeated {type u16, len u8, description}."""
    pos = 0
    while pos + 3 <= len(value):
        kind, length = struct.unpack_from("!HB", value, pos)
        pxe.menu.append((kind, value[pos + 3:pos + 3 + length].decode("latin-1")))
        pos += 3 + length
    if pos != len(value):
        pxe.errors.append("boot menu (9) truncated")


def _pxe_scalar(code, value, pxe):
    """Sub-options 6, 10 and 71, each a fixed layout."""
    if code == PXE_DISCOVERY_CONTROL and len(value) == 1:
        pxe.discovery_control = value[0]
    elif code == PXE_MENU_PROMPT and len(value) >= 1:
        pxe.prompt = (value[0], value[1:].decode("latin-1"))
    elif code == PXE_BOOT_ITEM and len(value) == 4:
        pxe.boot_item = struct.unpack("!HH", value)
    else:
        pxe.errors.append(f"sub-option {code} has bad length {len(value)}")


PXE_DECODERS = {
    PXE_DISCOVERY_CONTROL: lambda v, p: _pxe_scalar(PXE_DISCOVERY_CONTROL, v, p),
    PXE_BOOT_SERVERS: _pxe_boot_servers,
    PXE_BOOT_MENU: _pxe_menu,
    PXE_MENU_PROMPT: lambda v, p: _pxe_scalar(PXE_MENU_PROMPT, v, p),
    PXE_BOOT_ITEM: lambda v, p: _pxe_scalar(PXE_BOOT_ITEM, v, p),
}


def parse_pxe_options(value):
    """Decode an option-43 value as PXE sub-options."""
    pxe = PxeOptions()
    errors = []
    for code, sub in _walk_options(value, "option 43", errors):
        pxe.raw[code] = pxe.raw.get(code, b"") + sub
    pxe.errors.extend(e for e in errors if "no END" not in e)
    for code, sub in pxe.raw.items():
        decoder = PXE_DECODERS.get(code)
        if decoder:
            decoder(sub, pxe)
    return pxe


def encode_pxe_options(sub_options, end=True):
    """Encode [(sub-code, bytes)] into an option-43 value (END by default)."""
    return encode_options(sub_options, end=end)


def pxe_boot_item(kind, layer=0):
    """Option 43 value asking a boot server for item `kind` (sub-option 71)."""
    return encode_pxe_options([(PXE_BOOT_ITEM, struct.pack("!HH", kind, layer))])


@dataclass
class DhcpMessage:
    """A parsed BOOTP/DHCP packet.

    `options` maps code -> bytes with repeated instances concatenated
    (RFC 3396) across the option area, then file, then sname when option 52
    overloads them; `option_order` lists codes as they appeared.  `sname`
    and `file` are '' when overloaded.  The src_/dst_ fields are filled in
    by DhcpClient for received packets.
    """
    op: int
    htype: int
    hlen: int
    hops: int
    xid: int
    secs: int
    flags: int
    ciaddr: str
    yiaddr: str
    siaddr: str
    giaddr: str
    chaddr: str
    sname: str
    file: str
    options: dict
    option_order: list
    overload: int
    errors: list
    raw: bytes
    src_ip: str = None
    src_port: int = None
    dst_ip: str = None
    dst_port: int = None
    src_mac: str = None

    def opt(self, code):
        """Raw value of option `code`, or None."""
        return self.options.get(code)

    def opt_str(self, code):
        """Option `code` as text up to a NUL (dnsmasq sends 67 with one), or None."""
        value = self.options.get(code)
        return None if value is None else value.split(b"\0", 1)[0].decode("latin-1")

    def opt_ip(self, code):
        """Option `code` as a dotted quad, or None if absent or not 4 bytes."""
        value = self.options.get(code)
        return ip_str(value) if value is not None and len(value) == 4 else None

    @property
    def msg_type(self):
        """Option 53 as int (None for plain BOOTP)."""
        value = self.options.get(OPT_MSG_TYPE)
        return value[0] if value else None

    @property
    def msg_name(self):
        """Option 53 as 'OFFER', 'ACK', ... ('BOOTP' without 53)."""
        kind = self.msg_type
        return "BOOTP" if kind is None else MSG_TYPES.get(kind, f"TYPE{kind}")

    @property
    def server_id(self):
        """Option 54."""
        return self.opt_ip(OPT_SERVER_ID)

    @property
    def vendor_class(self):
        """Option 60 as text."""
        return self.opt_str(OPT_VENDOR_CLASS)

    @property
    def boot_file(self):
        """Option 67, else the file field (which real firmware reads first)."""
        return self.opt_str(OPT_BOOTFILE) or self.file or None

    @property
    def tftp_server(self):
        """Option 66, else the sname field."""
        return self.opt_str(OPT_TFTP_SERVER) or self.sname or None

    @property
    def pxe(self):
        """Option 43 decoded as PXE sub-options, None when absent."""
        value = self.options.get(OPT_VENDOR)
        return None if value is None else parse_pxe_options(value)

    @property
    def subnet_prefix(self):
        """Prefix length from option 1 (None if absent or not a mask)."""
        mask = self.opt_ip(OPT_SUBNET_MASK)
        if mask is None:
            return None
        try:
            return ipaddress.IPv4Network(f"0.0.0.0/{mask}").prefixlen
        except ValueError:
            return None

    @property
    def is_proxy_offer(self):
        """A proxyDHCP/PXE offer: PXEClient class and no address."""
        return self.yiaddr == "0.0.0.0" and (self.vendor_class or "").startswith("PXEClient")

    def identity_options(self):
        """[(code, bytes)] of a request, minus 53/50/54: what the client is."""
        return [(code, self.options[code]) for code in self.option_order
                if code not in EXCHANGE_OPTIONS]


def parse_packet(data):
    """Parse a BOOTP/DHCP packet; never raises on malformed content.

    A packet shorter than the BOOTP header raises ValueError (nothing to
    report); everything after it is read as far as possible.
    """
    data = bytes(data)
    if len(data) < FIXED_LEN:
        raise ValueError(f"{len(data)} bytes is shorter than a BOOTP header")
    op, htype, hlen, hops, xid, secs, flags = struct.unpack_from("!BBBBIHH", data, 0)
    ips = [ip_str(data[12 + 4 * i:16 + 4 * i]) for i in range(4)]
    chaddr = mac_str(data[28:28 + min(hlen, 16)])
    sname_raw = data[SNAME_OFFSET:SNAME_OFFSET + SNAME_LEN]
    file_raw = data[FILE_OFFSET:FILE_OFFSET + FILE_LEN]
    errors, options, order = [], {}, []
    areas = []
    if data[FIXED_LEN:FIXED_LEN + 4] == MAGIC_COOKIE:
        areas.append(("options", data[FIXED_LEN + 4:]))
    elif len(data) > FIXED_LEN:
        errors.append("no DHCP magic cookie")
    overload = 0
    _collect(areas[0] if areas else None, options, order, errors)
    if OPT_OVERLOAD in options and options[OPT_OVERLOAD]:
        overload = options[OPT_OVERLOAD][0]
        if overload & 1:
            _collect(("file", file_raw), options, order, errors)
        if overload & 2:
            _collect(("sname", sname_raw), options, order, errors)
    return DhcpMessage(op, htype, hlen, hops, xid, secs, flags, *ips, chaddr,
                       "" if overload & 2 else _cstring(sname_raw),
                       "" if overload & 1 else _cstring(file_raw),
                       options, order, overload, errors, data)


def _collect(area, options, order, errors):
    """Add the options of one (name, bytes) area, concatenating repeats."""
    if area is None:
        return
    name, raw = area
    for code, value in _walk_options(raw, name, errors):
        if code not in options:
            order.append(code)
        options[code] = options.get(code, b"") + value


def rewrite_packet(data, *, xid=None, chaddr=None, ciaddr=None, flags=None, secs=None,
                   set_options=None, client_id_follows_chaddr=True):
    """A copy of a captured packet with header fields and options replaced.

    set_options maps code -> new value (None removes the option); codes not
    yet present are added before END.  Only the main option area is
    rewritten (overloaded file/sname stay as they are).  With a new chaddr,
    an option 61 of the form 01+old MAC follows it.
    """
    packet = bytearray(data)
    old_chaddr = bytes(packet[28:34])
    if xid is not None:
        struct.pack_into("!I", packet, 4, xid)
    if secs is not None:
        struct.pack_into("!H", packet, 8, secs)
    if flags is not None:
        struct.pack_into("!H", packet, 10, flags)
    if ciaddr is not None:
        packet[12:16] = ip_bytes(ciaddr)
    changes = dict(set_options or {})
    client_ids = {}
    if chaddr is not None:
        new = mac_bytes(chaddr)
        packet[28:44] = new.ljust(16, b"\0")[:16]
        if client_id_follows_chaddr:
            client_ids[b"\x01" + old_chaddr] = b"\x01" + new
    if not (changes or client_ids) or packet[FIXED_LEN:FIXED_LEN + 4] != MAGIC_COOKIE:
        return bytes(packet)
    area = _rewrite_area(bytes(packet[FIXED_LEN + 4:]), changes, client_ids)
    return bytes(packet[:FIXED_LEN + 4]) + area


def _rewrite_area(area, changes, client_ids):
    """Re-encode an option area up to END applying `changes` (see rewrite_packet).

    client_ids maps an old option-61 value to its replacement.  Everything
    from END on (padding, trailing bytes) is kept as it was.
    """
    out, pos, done = bytearray(), 0, set()
    while pos < len(area) and area[pos] != OPT_END:
        code = area[pos]
        if code == OPT_PAD or pos + 1 >= len(area):
            out.append(code)
            pos += 1
            continue
        length = area[pos + 1]
        value = area[pos + 2:pos + 2 + length]
        pos += 2 + length
        value = client_ids.get(value, value) if code == OPT_CLIENT_ID else value
        if code in changes:
            if code in done or changes[code] is None:
                continue
            done.add(code)
            value = as_bytes(changes[code])
        out += encode_options([(code, value)], end=False)
    for code, value in changes.items():
        if code not in done and value is not None:
            out += encode_options([(code, value)], end=False)
    return bytes(out) + area[pos:]


# ------------------------------------------------------------ raw frames
def inet_checksum(data):
    """RFC 1071 ones' complement sum of 16-bit words."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def udp_frame(payload, *, src_mac, dst_mac=BROADCAST_MAC, src_ip="0.0.0.0",
              dst_ip="255.255.255.255", src_port=CLIENT_PORT, dst_port=SERVER_PORT,
              ip_id=0, ttl=64):
    """An Ethernet/IPv4/UDP frame with correct IP and UDP checksums."""
    src, dst = ip_bytes(src_ip), ip_bytes(dst_ip)
    udp_len = 8 + len(payload)
    pseudo = src + dst + struct.pack("!BBH", 0, socket.IPPROTO_UDP, udp_len)
    udp = struct.pack("!HHHH", src_port, dst_port, udp_len, 0) + payload
    udp_sum = inet_checksum(pseudo + udp) or 0xFFFF
    udp = udp[:6] + struct.pack("!H", udp_sum) + udp[8:]
    ip_header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, ip_id & 0xFFFF, 0, ttl,
                            socket.IPPROTO_UDP, 0, src, dst)
    ip_header = ip_header[:10] + struct.pack("!H", inet_checksum(ip_header)) + ip_header[12:]
    eth = mac_bytes(dst_mac) + mac_bytes(src_mac) + struct.pack("!H", ETH_P_IP)
    return eth + ip_header + udp


def parse_udp_frame(frame):
    """(src_mac, src_ip, dst_ip, src_port, dst_port, payload) of an IPv4/UDP frame, or None."""
    if len(frame) < 42 or struct.unpack_from("!H", frame, 12)[0] != ETH_P_IP:
        return None
    ip = frame[14:]
    ihl = (ip[0] & 0x0F) * 4
    if ip[0] >> 4 != 4 or ip[9] != socket.IPPROTO_UDP or len(ip) < ihl + 8:
        return None
    total = struct.unpack_from("!H", ip, 2)[0]
    sport, dport, ulen = struct.unpack_from("!HHH", ip, ihl)
    payload = ip[ihl + 8:min(ihl + ulen, total)]
    return mac_str(frame[6:12]), ip_str(ip[12:16]), ip_str(ip[16:20]), sport, dport, payload


def arp_request_frame(src_mac, src_ip, target_ip):
    """A broadcast ARP who-has frame."""
    body = struct.pack("!HHBBH6s4s6s4s", 1, ETH_P_IP, 6, 4, 1, mac_bytes(src_mac),
                       ip_bytes(src_ip), b"\0" * 6, ip_bytes(target_ip))
    return mac_bytes(BROADCAST_MAC) + mac_bytes(src_mac) + struct.pack("!H", ETH_P_ARP) + body


def parse_arp_reply(frame):
    """(sender MAC, sender IP) of an ARP reply frame, or None."""
    if len(frame) < 42 or struct.unpack_from("!H", frame, 12)[0] != ETH_P_ARP:
        return None
    oper = struct.unpack_from("!H", frame, 20)[0]
    if oper != 2:
        return None
    return mac_str(frame[22:28]), ip_str(frame[28:32])


def new_xid():
    """A random transaction id."""
    return struct.unpack("!I", os.urandom(4))[0]


# ----------------------------------------------------------------- client
@dataclass
class Transaction:
    """What one client conversation produced.

    offers      every OFFER seen for the xid (address and proxy offers)
    offer       the address offer the client took
    proxy_offer the proxyDHCP offer (PXEClient, no address), if any
    ack         the ACK (or NAK) of the address server
    boot_ack    the boot server's ACK on port 4011 (proxy_transaction only)
    """
    xid: int
    offers: list = field(default_factory=list)
    offer: DhcpMessage = None
    proxy_offer: DhcpMessage = None
    ack: DhcpMessage = None
    boot_ack: DhcpMessage = None

    @property
    def address(self):
        """The leased address (None without an ACK)."""
        return self.ack.yiaddr if self.ack and self.ack.msg_type == ACK else None

    @property
    def boot_reply(self):
        """The reply whose boot file the firmware would use."""
        for reply in (self.boot_ack, self.proxy_offer, self.ack, self.offer):
            if reply is not None and reply.boot_file:
                return reply
        return None

    @property
    def boot_file(self):
        """The boot file (67 or file field) the firmware would load."""
        reply = self.boot_reply
        return reply.boot_file if reply else None

    @property
    def next_server(self):
        """siaddr of the reply carrying the boot file (TFTP server)."""
        reply = self.boot_reply
        return reply.siaddr if reply else None


class DhcpClient:
    """A DHCP client speaking raw Ethernet from inside a namespace.

    node   a netns.Node (namespace + interface + MAC); the client uses the
           node's MAC as chaddr and source MAC unless `mac` is given
    pcap   optional pxelab.pcap.PcapWriter recording every frame sent and
           received (Ethernet link type)
    """

    def __init__(self, node, mac=None, pcap=None):
        self.node = node
        self.mac = mac or node.mac
        self.pcap = pcap
        self.ip_id = 1
        self.received = []              # every DHCP reply seen, any xid
        self.sock = node.ns.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.sock.bind((node.iface, ETH_P_ALL))

    def close(self):
        """Close the raw socket."""
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- frames -------------------------------------------------------------
    def send_frame(self, frame):
        """Send one raw Ethernet frame (and record it)."""
        if self.pcap:
            self.pcap.write(time.time(), frame)
        self.sock.send(frame)

    def send(self, payload, *, dst_ip="255.255.255.255", dst_port=SERVER_PORT,
             src_ip="0.0.0.0", src_port=CLIENT_PORT, dst_mac=None):
        """Send a DHCP payload in a UDP frame; unicast resolves dst_mac by ARP."""
        if dst_mac is None:
            dst_mac = BROADCAST_MAC if dst_ip == "255.255.255.255" else \
                self.resolve(self.next_hop(dst_ip), src_ip)
        self.ip_id += 1
        self.send_frame(udp_frame(payload, src_mac=self.mac, dst_mac=dst_mac, src_ip=src_ip,
                                  dst_ip=dst_ip, src_port=src_port, dst_port=dst_port,
                                  ip_id=self.ip_id))

    def _frames(self, deadline):
        """Yield incoming frames until `deadline` (time.monotonic())."""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self.sock.settimeout(remaining)
            try:
                frame, addr = self.sock.recvfrom(65535)
            except socket.timeout:
                return
            if addr[2] == PACKET_OUTGOING:
                continue
            if self.pcap:
                self.pcap.write(time.time(), frame)
            yield frame

    def next_hop(self, ip):
        """Whom to ARP for to reach `ip`: the router the namespace's routes
        name for an off-link address (a boot server behind a relay), else
        `ip` itself."""
        out = self.node.ns.ip("-4", "route", "get", ip, check=False)
        match = re.search(r"\bvia (\S+)", out)
        return match.group(1) if match else ip

    def resolve(self, ip, src_ip, timeout=3.0):
        """MAC of `ip` by ARP, asking as `src_ip` (retries once a second)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.send_frame(arp_request_frame(self.mac, src_ip, ip))
            for frame in self._frames(min(deadline, time.monotonic() + 1.0)):
                answer = parse_arp_reply(frame)
                if answer and answer[1] == ip:
                    return answer[0]
        raise DhcpTimeout(f"no ARP reply from {ip}")

    # -- DHCP replies ---------------------------------------------------------
    def receive(self, xid, until=None, timeout=5.0, port=CLIENT_PORT):
        """Collect BOOTREPLYs for `xid` until until(replies) is true or timeout.

        Default `until`: the first reply.  Returns the list (possibly short
        of what `until` wanted: callers assert on it).
        """
        until = until or (lambda replies: len(replies) >= 1)
        replies = []
        for frame in self._frames(time.monotonic() + timeout):
            message = self._dhcp_reply(frame, port)
            if message is None:
                continue
            self.received.append(message)
            if message.xid == xid:
                replies.append(message)
                if until(replies):
                    break
        return replies

    @staticmethod
    def _dhcp_reply(frame, port):
        """The parsed BOOTREPLY in `frame` if it is UDP to `port`, else None."""
        udp = parse_udp_frame(frame)
        if udp is None or udp[4] != port:
            return None
        src_mac, src_ip, dst_ip, sport, dport, payload = udp
        try:
            message = parse_packet(payload)
        except ValueError:
            return None
        if message.op != BOOTREPLY:
            return None
        message.src_mac, message.src_ip, message.dst_ip = src_mac, src_ip, dst_ip
        message.src_port, message.dst_port = sport, dport
        return message

    def exchange(self, payload, until=None, timeout=5.0, **send_args):
        """Send `payload` and return the replies for its xid (see receive)."""
        xid = struct.unpack_from("!I", payload, 4)[0]
        self.send(payload, **send_args)
        return self.receive(xid, until=until, timeout=timeout)

    # -- conversations --------------------------------------------------------
    def request_packet(self, msg_type, options, xid, extra=(), **fields):
        """A request from this client: 53, then identity `options`, then `extra`."""
        identity = [(c, v) for c, v in options if c not in EXCHANGE_OPTIONS]
        return build_packet(msg_type, xid=xid, chaddr=self.mac,
                            options=identity + list(extra), **fields)

    def discover(self, options, xid, until, timeout, flags=0):
        """Send DISCOVER, collect OFFERs until until(offers); raise if none."""
        offers = self.exchange(self.request_packet(DISCOVER, options, xid, flags=flags),
                               until=until, timeout=timeout)
        offers = [o for o in offers if o.msg_type == OFFER]
        if not offers:
            raise DhcpTimeout(f"xid {xid:#x}: no OFFER within {timeout}s")
        return offers

    def request(self, options, offer, xid, timeout, flags=0):
        """Send REQUEST for `offer` (50/54 added); return the ACK/NAK."""
        packet = self.request_packet(REQUEST, options, xid, flags=flags, extra=[
            (OPT_SERVER_ID, ip_bytes(offer.server_id)),
            (OPT_REQUESTED_IP, ip_bytes(offer.yiaddr))])
        replies = self.exchange(packet, timeout=timeout, until=lambda rs: any(
            r.msg_type in (ACK, NAK) and r.server_id == offer.server_id for r in rs))
        answers = [r for r in replies if r.msg_type in (ACK, NAK)
                   and r.server_id == offer.server_id]
        if not answers:
            raise DhcpTimeout(f"xid {xid:#x}: no ACK from {offer.server_id}", replies)
        return answers[0]

    def transaction(self, options, *, xid=None, timeout=5.0, set_address=False, flags=0,
                    accept=None):
        """DISCOVER -> OFFER -> REQUEST -> ACK, as boot firmware does it.

        `options` are the client's identity options [(code, value)], sent in
        both DISCOVER and REQUEST (REQUEST adds 54 and 50).  The first
        address offer that `accept(offer)` (default: any) allows is taken.
        set_address: put the leased address on the client's interface so
        TFTP/HTTP can follow.
        """
        xid = new_xid() if xid is None else xid
        accept = accept or (lambda offer: True)
        result = Transaction(xid)
        wanted = lambda rs: any(_is_address_offer(r) and accept(r) for r in rs)
        result.offers = self.discover(options, xid, wanted, timeout, flags)
        result.proxy_offer = next((o for o in result.offers if o.is_proxy_offer), None)
        result.offer = next((o for o in result.offers if _is_address_offer(o) and accept(o)),
                            None)
        if result.offer is None:
            raise DhcpTimeout(f"xid {xid:#x}: no acceptable address offer", result.offers)
        result.ack = self.request(options, result.offer, xid, timeout, flags)
        if set_address and result.address:
            self.node.set_ip(result.address, result.ack.subnet_prefix)
        return result

    def proxy_transaction(self, options, *, xid=None, timeout=5.0, boot_item=None, layer=0,
                          boot_vendor_class=None, boot_xid=None, boot_flags=BROADCAST_FLAG):
        """Address from a DHCP server plus boot file from a proxyDHCP on 4011.

        DISCOVER collects an address offer and a proxy offer, REQUEST/ACK
        leases the address (put on the interface: the boot server answers
        unicast), then a REQUEST from ciaddr:68 to the proxy's port 4011
        carries option 43 sub-option 71 (boot item `boot_item`, default: the
        first menu entry of the proxy offer; layer `layer`) — like iPXE in
        the f2a capture, which also shortens option 60 to `PXEClient`
        (pass boot_vendor_class='PXEClient' for that).
        """
        xid = new_xid() if xid is None else xid
        result = Transaction(xid)
        both = lambda rs: any(_is_address_offer(r) for r in rs) and \
            any(r.is_proxy_offer for r in rs)
        result.offers = self.discover(options, xid, both, timeout)
        result.offer = next((o for o in result.offers if _is_address_offer(o)), None)
        result.proxy_offer = next((o for o in result.offers if o.is_proxy_offer), None)
        if result.offer is None or result.proxy_offer is None:
            raise DhcpTimeout(f"xid {xid:#x}: need an address and a proxy offer", result.offers)
        result.ack = self.request(options, result.offer, xid, timeout)
        if result.address is None:
            raise DhcpTimeout(f"xid {xid:#x}: address server sent {result.ack.msg_name}")
        self.node.set_ip(result.address, result.ack.subnet_prefix)
        result.boot_ack = self.boot_request(options, result.proxy_offer, result.address,
                                            boot_item=boot_item, layer=layer,
                                            vendor_class=boot_vendor_class,
                                            xid=boot_xid, flags=boot_flags, timeout=timeout)
        return result

    def boot_request(self, options, proxy_offer, ciaddr, *, boot_item=None, layer=0,
                     vendor_class=None, xid=None, flags=BROADCAST_FLAG, timeout=5.0):
        """REQUEST to a PXE boot server (port 4011) for one boot item; its ACK."""
        pxe = proxy_offer.pxe or PxeOptions()
        if boot_item is None:
            boot_item = pxe.menu[0][0] if pxe.menu else 0
        server = _boot_server_ip(pxe, boot_item) or proxy_offer.server_id or proxy_offer.siaddr
        identity = [(c, v) for c, v in options if c not in (OPT_VENDOR, *EXCHANGE_OPTIONS)]
        if vendor_class is not None:
            identity = [(c, vendor_class if c == OPT_VENDOR_CLASS else v) for c, v in identity]
        xid = new_xid() if xid is None else xid
        packet = build_packet(REQUEST, xid=xid, chaddr=self.mac, ciaddr=ciaddr, flags=flags,
                              options=identity + [(OPT_VENDOR, pxe_boot_item(boot_item, layer))])
        self.send(packet, dst_ip=server, dst_port=PXE_PORT, src_ip=ciaddr)
        replies = self.receive(xid, timeout=timeout, until=lambda rs: any(
            r.src_port == PXE_PORT for r in rs))
        answers = [r for r in replies if r.src_port == PXE_PORT]
        if not answers:
            raise DhcpTimeout(f"xid {xid:#x}: no reply from boot server {server}:4011", replies)
        return answers[0]


def _is_address_offer(message):
    """An OFFER that leases an address."""
    return message.msg_type == OFFER and message.yiaddr != "0.0.0.0"


def _boot_server_ip(pxe, boot_item):
    """The first boot server listed for `boot_item` in sub-option 8, if any."""
    for kind, ips in pxe.boot_servers:
        if kind == boot_item and ips:
            return ips[0]
    return None
