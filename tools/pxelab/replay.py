"""Replay the client side of a DHCP capture and compare the answers.

A capture is cut into exchanges: one client request (retransmissions of it
dropped) and the distinct replies it got, one per server.  Replaying sends
each request again from a DhcpClient with a fresh xid and the client's MAC
(option 61 follows), follows the conversation (option 50 takes the address
the same server offered now, ciaddr/source the address leased now) and
collects the replies until every server that answered in the capture has
answered again.  compare_replies() then lists what differs.
replay_capture() does all of it against a dnsmasq running the capture's
own config, in a topology of its own.
"""

import contextlib
import os
import struct
import tempfile
from dataclasses import dataclass, field

from . import dhcp, pcap
from .netns import SERVER_IPV6, Topology
from .servers import Dnsmasq, set_config_option

DHCP_PORTS = {dhcp.SERVER_PORT, dhcp.CLIENT_PORT, dhcp.PXE_PORT}
REQUEST_OF_REPLY = {dhcp.OFFER: dhcp.DISCOVER, dhcp.ACK: dhcp.REQUEST, dhcp.NAK: dhcp.REQUEST}
# header fields a reply must reproduce (xid and chaddr are substituted)
COMPARED_FIELDS = ("op", "msg_type", "flags", "yiaddr", "siaddr", "giaddr", "sname", "file")


@dataclass
class Exchange:
    """One captured request and the distinct replies to it (per server id)."""
    request: dhcp.DhcpMessage
    src_ip: str
    dst_ip: str
    dst_port: int
    replies: list = field(default_factory=list)

    @property
    def key(self):
        """(xid, message type, server port): what makes requests the same exchange."""
        return (self.request.xid, self.request.msg_type, self.dst_port)

    @property
    def server_ids(self):
        """Server ids (or source IPs) of the captured replies."""
        return {_server_of(r) for r in self.replies}


@dataclass
class Replayed:
    """An exchange as replayed: the packet sent and the replies received."""
    exchange: Exchange
    sent: bytes
    replies: list


def _server_of(reply):
    """Who sent a reply: option 54, else its source IP."""
    return reply.server_id or reply.src_ip


def load_exchanges(pcap_path):
    """Cut a capture into Exchanges, in the order the client made them."""
    exchanges = []
    for record in pcap.read_udp(pcap_path, ports=DHCP_PORTS):
        try:
            message = dhcp.parse_packet(record.payload)
        except ValueError:
            continue
        message.src_ip, message.dst_ip = record.src_ip, record.dst_ip
        message.src_port, message.dst_port = record.src_port, record.dst_port
        message.src_mac = record.src_mac
        if message.op == dhcp.BOOTREQUEST and record.dst_port != dhcp.CLIENT_PORT:
            exchange = Exchange(message, record.src_ip, record.dst_ip, record.dst_port)
            _add_request(exchanges, exchange)
        elif message.op == dhcp.BOOTREPLY and record.src_port != dhcp.CLIENT_PORT:
            _add_reply(exchanges, message, record.src_port)
    return exchanges


def _add_request(exchanges, exchange):
    """Start a new exchange unless this is a retransmission of the last one."""
    if not exchanges or exchanges[-1].key != exchange.key:
        exchanges.append(exchange)


def _add_reply(exchanges, reply, server_port):
    """Attach a reply to the latest exchange it answers (one per server)."""
    wanted_type = REQUEST_OF_REPLY.get(reply.msg_type)
    for exchange in reversed(exchanges):
        request_type = exchange.request.msg_type
        if exchange.request.xid == reply.xid and exchange.dst_port == server_port and \
                (wanted_type is None or request_type in (wanted_type, dhcp.INFORM)):
            if _server_of(reply) not in exchange.server_ids:
                exchange.replies.append(reply)
            return


class Replayer:
    """Plays the exchanges of a capture through one DhcpClient.

    set_address  put an ACKed address on the client's interface (needed for
                 unicast exchanges such as proxyDHCP port 4011)
    timeout      how long to wait for all expected servers per exchange
    silence      how long to listen for an exchange that got no reply in
                 the capture
    """

    def __init__(self, client, set_address=True, timeout=8.0, silence=1.0):
        self.client = client
        self.set_address = set_address
        self.timeout = timeout
        self.silence = silence
        self.xids = {}              # captured xid -> replay xid
        self.offered = {}           # server id -> yiaddr it offered now
        self.address = None         # address leased now

    def run(self, exchanges, stop_on_missing=True):
        """Replay the exchanges in order; return a list of Replayed.

        With stop_on_missing, the replay ends after the first exchange that
        lacks a reply the capture had: the conversation cannot go on sensibly
        and every later exchange would only wait out its timeout.
        """
        played = []
        for exchange in exchanges:
            played.append(self.play(exchange))
            got = {_server_of(r) for r in played[-1].replies}
            if stop_on_missing and not exchange.server_ids <= got:
                break
        return played

    def play(self, exchange):
        """Send one exchange's request and wait for its servers' replies."""
        packet = self.packet_for(exchange)
        unicast = exchange.dst_ip != "255.255.255.255"
        src_ip = self.address if unicast and self.address else "0.0.0.0"
        self.client.send(packet, dst_ip=exchange.dst_ip, dst_port=exchange.dst_port,
                         src_ip=src_ip)
        expected = exchange.server_ids
        xid = struct.unpack_from("!I", packet, 4)[0]
        if expected:
            until = lambda replies: expected <= {_server_of(r) for r in replies}
            replies = self.client.receive(xid, until=until, timeout=self.timeout)
        else:
            replies = self.client.receive(xid, until=lambda replies: False, timeout=self.silence)
        self._learn(replies)
        return Replayed(exchange, packet, replies)

    def packet_for(self, exchange):
        """The captured request rewritten for this client and this conversation."""
        request = exchange.request
        xid = self.xids.setdefault(request.xid, dhcp.new_xid())
        changes = {}
        server = request.server_id
        if dhcp.OPT_REQUESTED_IP in request.options and server in self.offered:
            changes[dhcp.OPT_REQUESTED_IP] = dhcp.ip_bytes(self.offered[server])
        ciaddr = self.address if request.ciaddr != "0.0.0.0" and self.address else None
        return dhcp.rewrite_packet(request.raw, xid=xid, chaddr=self.client.mac, ciaddr=ciaddr,
                                   set_options=changes)

    def _learn(self, replies):
        """Remember offered and leased addresses from the replies."""
        for reply in replies:
            if reply.msg_type == dhcp.OFFER and reply.yiaddr != "0.0.0.0":
                self.offered[_server_of(reply)] = reply.yiaddr
            if reply.msg_type == dhcp.ACK and reply.yiaddr != "0.0.0.0" and \
                    reply.src_port == dhcp.SERVER_PORT:
                self.address = reply.yiaddr
                if self.set_address:
                    self.client.node.set_ip(reply.yiaddr, reply.subnet_prefix)


def compare_replies(expected, got, ignore_options=(), fields=COMPARED_FIELDS):
    """Differences between a captured reply and a replayed one, as text lines.

    Compares the header fields in `fields`, the option 43 PXE decoding, and
    every option value except those in `ignore_options`.  Empty list: same.
    """
    diffs = []
    for name in fields:
        want, have = getattr(expected, name), getattr(got, name)
        if want != have:
            diffs.append(f"{name}: captured {want!r}, got {have!r}")
    want_pxe, have_pxe = expected.pxe, got.pxe
    if (want_pxe and want_pxe.raw) != (have_pxe and have_pxe.raw):
        diffs.append(f"option 43 (PXE): captured {want_pxe}, got {have_pxe}")
    codes = (set(expected.options) | set(got.options)) - set(ignore_options)
    for code in sorted(codes):
        want, have = expected.options.get(code), got.options.get(code)
        if want != have:
            diffs.append(f"option {code}: captured {_hex(want)}, got {_hex(have)}")
    return diffs


def _hex(value):
    """Option bytes for a message (None stays None)."""
    return None if value is None else value.hex()


def compare_exchange(replayed, ignore_options=()):
    """Differences for one replayed exchange: missing servers and per-reply diffs."""
    got = {_server_of(r): r for r in replayed.replies}
    diffs = []
    for want in replayed.exchange.replies:
        server = _server_of(want)
        if server not in got:
            diffs.append(f"no {want.msg_name} from {server}")
            continue
        diffs += [f"{want.msg_name} from {server}: {d}"
                  for d in compare_replies(want, got[server], ignore_options)]
    return diffs


# ------------------------------------------------- a capture against dnsmasq
# The plain DHCP server next to the proxy in the proxy capture (f2a), at
# PEER_ADDRESS: its replies there show a 10.77.0.100-199 range, 10m leases
# and no boot information.
PEER_ADDRESS = "10.77.0.2"
PLAIN_DHCP_CONFIG = """port=0
interface=eth0
bind-interfaces
user=root
group=root
dhcp-range=10.77.0.100,10.77.0.199,255.255.255.0,10m
"""
# The server's IPv6 address on the bridge (netns.SERVER_IPV6): the loop
# capture's config sends router advertisements for fd77::/64 (iPXE boots
# faster with one).


@dataclass
class CaptureRun:
    """A capture replayed against dnsmasq: its exchanges, what the replay
    got, dnsmasq's log lines and the (since removed) TFTP root they name."""
    exchanges: list
    replayed: list
    log_lines: list
    tftp_root: str


def capture_config(capture_dir, tftp_root, bridge):
    """The capture's dnsmasq.conf adapted to a topology: its bridge and TFTP root."""
    with open(os.path.join(capture_dir, "dnsmasq.conf")) as conf:
        config = conf.read()
    config = set_config_option(config, "interface", bridge)
    return set_config_option(config, "tftp-root", tftp_root)


def has_dhcpv4_reply(capture_dir):
    """True if CAPTURE_DIR/dhcp.pcap holds a DHCPv4 reply, i.e. something
    replay_capture can compare.  The DHCPv6 captures (g*) mostly hold none:
    their configs have no v4 range, so dnsmasq would never open port 67."""
    return any(exchange.replies
               for exchange in load_exchanges(os.path.join(capture_dir, "dhcp.pcap")))


def replay_capture(capture_dir, binary, peer_binary=None, edit_config=None):
    """Replay the client side of CAPTURE_DIR/dhcp.pcap against BINARY running
    the capture's own config (EDIT_CONFIG(text) -> text may change it), in a
    topology of its own with the captured client's MAC; returns a CaptureRun.

    Where the capture has replies from PEER_ADDRESS (a proxy next to a plain
    DHCP server), PEER_BINARY (default: BINARY) runs PLAIN_DHCP_CONFIG there.
    """
    exchanges = load_exchanges(os.path.join(capture_dir, "dhcp.pcap"))
    with_peer = any(PEER_ADDRESS in exchange.server_ids for exchange in exchanges)
    with tempfile.TemporaryDirectory() as tftp_root, \
            Topology(clients=1, client_macs=(exchanges[0].request.chaddr,),
                     server_extra=(SERVER_IPV6,),
                     peers=(PEER_ADDRESS + "/24",) if with_peer else ()) as topo:
        config = capture_config(capture_dir, tftp_root, topo.bridge)
        config = edit_config(config) if edit_config else config
        peer = Dnsmasq(peer_binary or binary, topo.peer.ns, PLAIN_DHCP_CONFIG) \
            if with_peer else contextlib.nullcontext()
        with Dnsmasq(binary, topo.server.ns, config) as server:
            with peer, dhcp.DhcpClient(topo.client) as client:
                replayed = Replayer(client).run(exchanges)
            return CaptureRun(exchanges, replayed, server.log_lines(), tftp_root)
