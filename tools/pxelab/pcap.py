"""Classic pcap reading (and writing) down to UDP payloads.

Reads libpcap's classic format in both byte orders with microsecond or
nanosecond timestamps, link types Ethernet (1, with 802.1Q/802.1ad tags),
Linux cooked SLL (113) and SLL2 (276), plus raw IP (101, 228, 229).
A file cut off mid-record (a capture still being written, or truncated by
hand) ends the iteration quietly; a file that is not classic pcap raises
PcapError.  The writer exists so tests can build captures of any flavour.
"""

import ipaddress
import struct
from dataclasses import dataclass

LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229
LINKTYPE_LINUX_SLL2 = 276

ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_IPV6 = 0x86DD
ETHERTYPE_VLAN = (0x8100, 0x88A8, 0x9100)
IPPROTO_UDP = 17

# magic as read little-endian -> (struct byte order, ticks per second)
MAGICS = {
    0xA1B2C3D4: ("<", 1_000_000),
    0xD4C3B2A1: (">", 1_000_000),
    0xA1B23C4D: ("<", 1_000_000_000),
    0x4D3CB2A1: (">", 1_000_000_000),
}
GLOBAL_HEADER_LEN = 24
RECORD_HEADER_LEN = 16


class PcapError(ValueError):
    """The file is not a classic pcap file this reader understands."""


@dataclass
class Frame:
    """One captured frame: time (s), link type, captured bytes, wire length."""
    ts: float
    linktype: int
    data: bytes
    orig_len: int


@dataclass
class UdpRecord:
    """One UDP datagram found in a capture.

    `payload` is what was captured of the UDP payload; `truncated` is True
    when the capture holds less than the UDP header announced.  MACs are
    None when the link type does not carry them (SLL has only the source).
    """
    ts: float
    src_ip: str
    dst_ip: str
    src_port: int
    dst_port: int
    payload: bytes
    src_mac: str = None
    dst_mac: str = None
    truncated: bool = False


def read_frames(path):
    """Yield every Frame of a classic pcap file, stopping at a cut-off record."""
    with open(path, "rb") as f:
        header = f.read(GLOBAL_HEADER_LEN)
        if len(header) < GLOBAL_HEADER_LEN:
            raise PcapError(f"{path}: shorter than a pcap header")
        magic = struct.unpack("<I", header[:4])[0]
        if magic not in MAGICS:
            raise PcapError(f"{path}: not classic pcap (magic {magic:#010x}; "
                            "pcapng is not supported)")
        order, ticks = MAGICS[magic]
        linktype = struct.unpack(order + "I", header[20:24])[0] & 0xFFFF
        while True:
            rec = f.read(RECORD_HEADER_LEN)
            if len(rec) < RECORD_HEADER_LEN:
                return
            sec, frac, incl_len, orig_len = struct.unpack(order + "IIII", rec)
            data = f.read(incl_len)
            if len(data) < incl_len:
                return
            yield Frame(sec + frac / ticks, linktype, data, orig_len)


def _mac(raw):
    """Format 6 bytes as aa:bb:cc:dd:ee:ff."""
    return ":".join(f"{b:02x}" for b in raw)


def _strip_vlan(data, offset, ethertype):
    """Skip stacked VLAN tags; return (offset of payload, real ethertype)."""
    while ethertype in ETHERTYPE_VLAN and len(data) >= offset + 4:
        ethertype = struct.unpack_from("!H", data, offset + 2)[0]
        offset += 4
    return offset, ethertype


def _link_layer(frame):
    """Split a frame into (ethertype, network payload, src MAC, dst MAC).

    Returns None for link types or frames this reader does not handle.
    """
    data, lt = frame.data, frame.linktype
    if lt == LINKTYPE_ETHERNET and len(data) >= 14:
        ethertype = struct.unpack_from("!H", data, 12)[0]
        offset, ethertype = _strip_vlan(data, 14, ethertype)
        return ethertype, data[offset:], _mac(data[6:12]), _mac(data[0:6])
    if lt == LINKTYPE_LINUX_SLL and len(data) >= 16:
        addr_len = struct.unpack_from("!H", data, 4)[0]
        ethertype = struct.unpack_from("!H", data, 14)[0]
        src = _mac(data[6:12]) if addr_len == 6 else None
        return ethertype, data[16:], src, None
    if lt == LINKTYPE_LINUX_SLL2 and len(data) >= 20:
        ethertype = struct.unpack_from("!H", data, 0)[0]
        src = _mac(data[12:18]) if data[11] == 6 else None
        return ethertype, data[20:], src, None
    if lt in (LINKTYPE_RAW, LINKTYPE_IPV4, LINKTYPE_IPV6) and data:
        version = data[0] >> 4
        return {4: ETHERTYPE_IPV4, 6: ETHERTYPE_IPV6}.get(version), data, None, None
    return None


def _ipv4_udp(packet):
    """(src, dst, udp bytes) of an unfragmented-first IPv4 UDP packet, else None."""
    if len(packet) < 20 or packet[0] >> 4 != 4:
        return None
    ihl = (packet[0] & 0x0F) * 4
    total_len = struct.unpack_from("!H", packet, 2)[0]
    frag_offset = struct.unpack_from("!H", packet, 6)[0] & 0x1FFF
    if packet[9] != IPPROTO_UDP or frag_offset or ihl < 20 or len(packet) < ihl:
        return None
    src = str(ipaddress.IPv4Address(packet[12:16]))
    dst = str(ipaddress.IPv4Address(packet[16:20]))
    return src, dst, packet[ihl:max(total_len, ihl)]


def _ipv6_udp(packet):
    """(src, dst, udp bytes) of an IPv6 packet whose next header is UDP, else None."""
    if len(packet) < 40 or packet[0] >> 4 != 6 or packet[6] != IPPROTO_UDP:
        return None
    payload_len = struct.unpack_from("!H", packet, 4)[0]
    src = str(ipaddress.IPv6Address(packet[8:24]))
    dst = str(ipaddress.IPv6Address(packet[24:40]))
    return src, dst, packet[40:40 + payload_len]


def udp_from_frame(frame):
    """The UdpRecord carried by one Frame, or None if it carries no UDP."""
    link = _link_layer(frame)
    if link is None:
        return None
    ethertype, packet, src_mac, dst_mac = link
    parser = {ETHERTYPE_IPV4: _ipv4_udp, ETHERTYPE_IPV6: _ipv6_udp}.get(ethertype)
    found = parser(packet) if parser else None
    if found is None:
        return None
    src, dst, udp = found
    if len(udp) < 8:
        return None
    src_port, dst_port, udp_len = struct.unpack_from("!HHH", udp, 0)
    udp_len = max(udp_len, 8)
    payload = udp[8:udp_len]
    return UdpRecord(frame.ts, src, dst, src_port, dst_port, payload, src_mac, dst_mac,
                     truncated=len(payload) < udp_len - 8)


def read_udp(path, ports=None):
    """Yield a UdpRecord per UDP datagram in `path`.

    With `ports` (a set), only datagrams whose source or destination port is
    in it.
    """
    for frame in read_frames(path):
        record = udp_from_frame(frame)
        if record is None:
            continue
        if ports is None or record.src_port in ports or record.dst_port in ports:
            yield record


class PcapWriter:
    """Write a classic pcap file (any byte order, µs or ns, any link type)."""

    def __init__(self, path, linktype=LINKTYPE_ETHERNET, big_endian=False, nanoseconds=False,
                 snaplen=262144):
        self.order = ">" if big_endian else "<"
        self.ticks = 1_000_000_000 if nanoseconds else 1_000_000
        magic = 0xA1B23C4D if nanoseconds else 0xA1B2C3D4
        self.file = open(path, "wb")
        self.file.write(struct.pack(self.order + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype))

    def write(self, ts, data, orig_len=None):
        """Append one frame captured at time `ts` (seconds)."""
        sec = int(ts)
        frac = int(round((ts - sec) * self.ticks))
        orig = len(data) if orig_len is None else orig_len
        self.file.write(struct.pack(self.order + "IIII", sec, frac, len(data), orig))
        self.file.write(data)

    def close(self):
        """Flush and close the file."""
        self.file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
