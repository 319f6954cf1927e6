"""Scripted boot clients and a one-server lab for the dnsmasq network tests.

Each Profile is one kind of network-boot client: its DHCP options in the
order and with the bytes that client sends.  They come from the firmware
fact sheet (tools/pxelab/firmware.sheet, its `machine net` blocks), which
the lab and the C unit tests read too; the QEMU iPXE ROM comes from our
own capture.  Here the same clients are sent over a veth to a real
dnsmasq.

Lab puts one dnsmasq (any binary, any config) in a server namespace and
plays profiles from a client namespace: DISCOVER/OFFER, the REQUEST/ACK
that follows (also next to a proxy), a proxyDHCP boot-server request to
port 4011, BOOTP and DHCPINFORM.  Nothing here asserts: the tests do.
"""

import os
import shutil
import struct
import sys
import tempfile
from dataclasses import dataclass, field, replace

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools"))

from pxelab import dhcp, facts, firmware, replay       # noqa: E402
from pxelab.netns import Topology                      # noqa: E402
from pxelab.servers import Dnsmasq                     # noqa: E402

SERVER = "10.77.0.1"
PEER = replay.PEER_ADDRESS

# What every test config starts with: the bridge, no DNS, root (temp
# files), a range on the lab subnet, and no ping before an offer (dnsmasq
# waits for an echo reply of each new address otherwise).
BASE_CONFIG = """port=0
interface=br0
bind-interfaces
user=root
group=root
log-dhcp
no-ping
dhcp-authoritative
"""
RANGE = "dhcp-range=10.77.0.100,10.77.0.199,255.255.255.0,10m\n"
PROXY_RANGE = "dhcp-range=10.77.0.0,proxy\n"

# The plain DHCP server next to a proxy (a second, unpatched role): the
# one of the proxy capture, without the ping before an offer.
PLAIN_DHCP_CONFIG = replay.PLAIN_DHCP_CONFIG + "no-ping\n"


def u16(value):
    """Big-endian 16-bit option bytes."""
    return struct.pack("!H", value)


def pxe_vendor_class(arch, undi="002001", prefix="PXEClient"):
    """Option 60 of a PXE/HTTP client: 'PXEClient:Arch:00007:UNDI:003000'."""
    return b"%s:Arch:%05d:UNDI:%s" % (prefix.encode(), arch, undi.encode())


@dataclass(frozen=True)
class Profile:
    """One scripted boot client.

    options   [(code, bytes)] in wire order; a (53, DISCOVER) entry marks
              where the message type goes (gPXE <= 0.9.9 puts it after 175)
    pad_to    zero-pad the BOOTP payload (Etherboot 548, U-Boot 300, Pi 322)
    flags     BOOTP flags (EDK2 sets broadcast)
    request_drops  option codes its REQUEST leaves out (the Pi drops 60)
    """
    name: str
    mac: str
    options: tuple
    pad_to: int = 0
    flags: int = 0
    request_drops: tuple = ()

    def identity(self, msg_type):
        """Options of a message of MSG_TYPE, 53 in its place."""
        out = []
        for code, value in self.options:
            if code == dhcp.OPT_MSG_TYPE:
                value = bytes([msg_type])
            elif msg_type != dhcp.DISCOVER and code in self.request_drops:
                continue
            out.append((code, value))
        if not any(code == dhcp.OPT_MSG_TYPE for code, _ in out):
            out.insert(0, (dhcp.OPT_MSG_TYPE, bytes([msg_type])))
        return out

    def packet(self, msg_type, xid, extra=(), mac=None, **fields):
        """A DISCOVER/REQUEST/INFORM of this client; EXTRA goes after 53."""
        options = self.identity(msg_type)
        at = next(i for i, (code, _) in enumerate(options) if code == dhcp.OPT_MSG_TYPE)
        options[at + 1:at + 1] = list(extra)
        fields.setdefault("flags", self.flags)
        return dhcp.build_packet(None, xid=xid, chaddr=mac or self.mac, options=options,
                                 pad_to=self.pad_to or dhcp.BOOTP_MIN_LEN, **fields)

    def without(self, *codes):
        """This client minus some options (e.g. a BOOTP client without 53)."""
        return replace(self, options=tuple((c, v) for c, v in self.options if c not in codes))

    def replacing(self, changes):
        """This client with some option values replaced ({code: bytes})."""
        return replace(self, options=tuple((c, changes.get(c, v)) for c, v in self.options))

    def with_mac(self, mac):
        """The same client on another machine."""
        return replace(self, mac=mac)


def _qemu_ipxe_options():
    """QEMU's iPXE ROM (Debian ipxe-qemu, iPXE 1.0.0+git): the capture's DISCOVER."""
    path = os.path.join(ROOT, "tests", "captures", "a-seabios-virtio", "dhcp.pcap")
    request = replay.load_exchanges(path)[0].request
    return tuple((code, request.options[code]) for code in request.option_order
                 if code != dhcp.OPT_CLIENT_ID)


def _sheet_profile(machine):
    """The Profile of one `machine net` block of the firmware sheet."""
    program = firmware.load().programs[machine.program]
    return Profile(machine.name, machine.mac,
                   tuple(firmware.discover_options(program, machine)),
                   pad_to=program.pad_to, flags=program.flags,
                   request_drops=tuple(program.request_drops))


def _profiles():
    """Every scripted client, by name: the sheet's, and QEMU's iPXE ROM
    as captured."""
    profiles = {m.name: _sheet_profile(m) for m in firmware.load().machines
                if m.group == "net"}
    profiles["qemu-ipxe"] = Profile("qemu-ipxe", "52:54:00:7a:00:12", _qemu_ipxe_options())
    return profiles


PROFILES = _profiles()
# The dhcp-ipxe-own lines the sheet's verdicts assume.
IDENTITY_LINES = "".join(f"dhcp-ipxe-own={v}\n" for v in firmware.load().identities)


def verdict(name):
    """(class, own or None, arch as the pxeclass log line writes it or None)
    the firmware sheet expects of profile NAME under IDENTITY_LINES; QEMU's
    ROM is the sheet's ipxe-bios (its capture is of that build)."""
    sheet = firmware.load()
    program = "ipxe-bios" if name == "qemu-ipxe" else sheet.machine("net", name).program
    expect = sheet.programs[program].expect
    own = None if expect["own"] == "unknown" else expect["own"]
    arch = None
    if expect["arch"] != "-":
        code = int(expect["arch"])
        arch = f"{code}({facts.arch_name(code)})"
    return expect["class"], own, arch


# ------------------------------------------------------------------ lab
@dataclass
class Lab:
    """A topology, one dnsmasq under test, and a raw client on it.

    binary   dnsmasq to run in the server namespace
    config   its config text (BASE_CONFIG is not added: pass it yourself)
    peer_config  a second (plain, stock) dnsmasq at 10.77.0.2, e.g. the
             address server next to a proxy
    server_addr  the server's address/prefix on the bridge
    dnsmasq_class  runs the binary (a subclass of Dnsmasq may wrap it)
    """
    binary: str
    config: str
    peer_binary: str = None
    peer_config: str = None
    extra_args: tuple = ()
    server_addr: str = SERVER + "/24"
    dnsmasq_class: type = Dnsmasq
    start_timeout: float = 10.0
    topo: Topology = None
    server: Dnsmasq = None
    peer: Dnsmasq = None
    client: dhcp.DhcpClient = None
    tftp_root: str = None
    _exits: list = field(default_factory=list)

    def __enter__(self):
        try:
            self.tftp_root = tempfile.mkdtemp(prefix="pxc-net2-tftp-")
            self.topo = Topology(clients=1, server_addr=self.server_addr,
                                 peers=(PEER + "/24",) if self.peer_config else ())
            self.topo.__enter__()
            config = self.config.replace("@TFTP@", self.tftp_root)
            self.server = self.dnsmasq_class(self.binary, self.topo.server.ns, config,
                                             extra_args=self.extra_args)
            self.server.start(timeout=self.start_timeout)
            if self.peer_config:
                self.peer = Dnsmasq(self.peer_binary or self.binary, self.topo.peer.ns,
                                    self.peer_config).start()
            self.client = dhcp.DhcpClient(self.topo.client)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        if self.client:
            self.client.close()
        for server in (self.peer, self.server):
            if server:
                server.stop()
                server.cleanup()
        if self.topo:
            self.topo.close()
        if self.tftp_root:
            shutil.rmtree(self.tftp_root, ignore_errors=True)

    # -- conversations ------------------------------------------------------
    def discover(self, profile, xid=None, timeout=2.0, wait_for=1, mac=None):
        """DISCOVER of PROFILE; the OFFERs (at most WAIT_FOR awaited)."""
        xid = dhcp.new_xid() if xid is None else xid
        replies = self.client.exchange(profile.packet(dhcp.DISCOVER, xid, mac=mac),
                                       until=lambda rs: len(rs) >= wait_for,
                                       timeout=timeout)
        return [r for r in replies if r.msg_type == dhcp.OFFER]

    def request(self, profile, offer, xid, timeout=2.0, mac=None):
        """REQUEST of PROFILE taking OFFER; the ACK/NAK or None."""
        extra = [(dhcp.OPT_SERVER_ID, dhcp.ip_bytes(offer.server_id)),
                 (dhcp.OPT_REQUESTED_IP, dhcp.ip_bytes(offer.yiaddr))]
        replies = self.client.exchange(profile.packet(dhcp.REQUEST, xid, extra, mac=mac),
                                       timeout=timeout)
        return replies[0] if replies else None

    def dora(self, profile, timeout=2.0, mac=None):
        """DISCOVER, OFFER, REQUEST, ACK with one xid: (offer, ack).

        Raises DhcpTimeout when either reply is missing."""
        xid = dhcp.new_xid()
        offers = self.discover(profile, xid, timeout, mac=mac)
        if not offers:
            raise dhcp.DhcpTimeout(f"{profile.name}: no OFFER")
        ack = self.request(profile, offers[0], xid, timeout, mac=mac)
        if ack is None:
            raise dhcp.DhcpTimeout(f"{profile.name}: no ACK")
        return offers[0], ack

    def proxy_dora(self, profile, timeout=2.0):
        """DISCOVER next to a proxy (both servers' offers awaited), then
        REQUEST of the address server's offer with the same xid: (proxy
        offers, address server offers, its reply or None)."""
        xid = dhcp.new_xid()
        offers = self.discover(profile, xid, timeout, wait_for=2)
        proxies = [o for o in offers if o.server_id == SERVER]
        addresses = [o for o in offers if o.server_id == PEER]
        ack = self.request(profile, addresses[0], xid, timeout) if addresses else None
        return proxies, addresses, ack

    def bootp(self, profile, timeout=2.0):
        """A BOOTP request (no option 53) of PROFILE; the reply or None."""
        xid = dhcp.new_xid()
        packet = dhcp.build_packet(None, xid=xid, chaddr=profile.mac,
                                   options=profile.without(53).options, flags=profile.flags)
        replies = self.client.exchange(packet, timeout=timeout)
        return replies[0] if replies else None

    def inform(self, profile, address, timeout=2.0):
        """DHCPINFORM from ADDRESS (put on the client's interface); the ACK."""
        self.topo.client.set_ip(address, 24)
        xid = dhcp.new_xid()
        packet = profile.packet(dhcp.INFORM, xid, ciaddr=address, flags=0)
        self.client.send(packet, src_ip=address)
        replies = self.client.receive(xid, timeout=timeout)
        return replies[0] if replies else None

    def boot_server_request(self, profile, server, ciaddr, boot_item=None, xid=None,
                            timeout=2.0):
        """A REQUEST to SERVER:4011 from CIADDR, with option 43 sub-option 71
        for BOOT_ITEM (type, layer) or without option 43; the ACK or None."""
        self.topo.client.set_ip(ciaddr, 24)
        extra = [(dhcp.OPT_VENDOR, dhcp.pxe_boot_item(*boot_item))] if boot_item else []
        xid = dhcp.new_xid() if xid is None else xid
        packet = profile.packet(dhcp.REQUEST, xid, extra, ciaddr=ciaddr,
                                flags=dhcp.BROADCAST_FLAG)
        self.client.send(packet, dst_ip=server, dst_port=dhcp.PXE_PORT, src_ip=ciaddr)
        replies = self.client.receive(xid, timeout=timeout, until=lambda rs: any(
            r.src_port == dhcp.PXE_PORT for r in rs))
        replies = [r for r in replies if r.src_port == dhcp.PXE_PORT]
        return replies[0] if replies else None

    def flush(self):
        """Drop every frame waiting on the client's socket (after a flood:
        a full socket buffer would drop the next reply); how many."""
        dropped = 0
        self.client.sock.setblocking(False)
        try:
            while True:
                self.client.sock.recv(65535)
                dropped += 1
        except BlockingIOError:
            return dropped
        finally:
            self.client.sock.setblocking(True)

    # -- the server's side ----------------------------------------------------
    def log(self):
        """The whole log, one string (for failure messages)."""
        return self.server.log_text()


def forced_tags(reply, codes):
    """Tags whose dhcp-option-force code (CODES: tag -> code) is in REPLY."""
    return {tag for tag, code in codes.items()
            if reply is not None and reply.opt_str(code) == tag}


def tag_options(tags, first_code=200):
    """({tag: option code}, config lines forcing each tag's own option
    with the tag's name as value): the reply then lists the tags set."""
    codes = {tag: first_code + i for i, tag in enumerate(tags)}
    lines = "".join("dhcp-option-force=tag:%s,%d,%s\n" % (tag, code, tag)
                    for tag, code in codes.items())
    return codes, lines
