"""The pxeclass DHCPv6 hooks, through the replies of the patched dnsmasq:
tag hook (patches/0008), start-up warning (0009), reply hook (0010).

Real firmware SOLICITs, byte for byte from the captures (tests/captures:
EDK2 PXEv6 and iPXE EFI from g1-ovmf-pxev6, EDK2 HTTPv6 from
g2-ovmf-httpv6, QEMU's iPXE BIOS ROM from g3b-seabios-ipxe-v6only), are
sent from a client namespace's link-local address to ff02::1:2 port 547
over a veth; dnsmasq serves fd77::/64 with a config whose boot files are
chosen by dhcp-pxe-class and dhcp-pxe-arch tags only (no dhcp-userclass,
dhcp-vendorclass or dhcp-match):

  - each ADVERTISE carries the bootfile-url (59) its class and arch earn:
    tftp:// for PXEv6 (and no bootfile-param, no PXEClient echo), the
    HTTPClient echo (16) for HTTP Boot, the script for iPXE (whatever its
    arch); EDK2's bare SOLICIT (its IP stack) gets an address and no 59;
  - the tags work where v6 tags work: tag-if (the HTTPClient echo and
    iPXE's bootfile-param come through derived tags), dhcp-range tags
    (HTTP Boot gets its address from its own range), dhcp-ignore (an ARM64
    HTTP Boot SOLICIT gets no answer);
  - log-dhcp: a `pxeclass:` line per SOLICIT with the class, family=ipv6,
    the arch and the MAC dnsmasq found in its neighbour table (the veth's,
    `caller`), and a `pxeclass tags:` line naming each tag's directive;
  - relayed (RELAY-FORW with option 79): the hook classifies the client's
    message and keys it by the relay's MAC; the RELAY-REPL carries 59;
  - the chain over DHCPv6 (`dhcp-ipxe-own=chained`): EDK2 PXEv6 is
    handed ipxe.efi in its ADVERTISE, its IP stack's bare SOLICIT changes
    nothing, the iPXE that follows is our own (hops=1) and gets the
    script; an iPXE with nothing before it is a vendor build, handed
    ipxe.efi, and its next transaction is ours;
  - start-up: a dhcp-ipxe-own line that needs features or a version is
    warned about (DHCPv6 has no option 175), one with a user class alone
    is not;
  - a bad directive in a DHCPv6 config still stops dnsmasq with its line;
  - configs without pxeclass lines (the g* captures' own): stock and
    patched dnsmasq answer every captured SOLICIT with the same ADVERTISE
    (the server's DUID aside, made at start-up from the clock) and log
    the same transaction lines (the pxeclass ones aside).

Needs root.  PXC_DNSMASQ_PATCHED (one version), PXC_DNSMASQ_STOCK.
"""

import ipaddress
import os
import re
import socket
import struct
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools"))
sys.path.insert(0, os.path.join(HERE, "..", "captures"))

from pxelab import pcap, testing                       # noqa: E402
from pxelab.dhcp6 import (ADVERTISE, CLIENT_PORT, OPT_ARCH,  # noqa: E402
                          OPT_BOOTFILE_PARAM, OPT_BOOTFILE_URL, OPT_CLIENT_LINKLAYER,
                          OPT_IA_NA, OPT_IAADDR, OPT_RELAY_MSG, OPT_SERVERID,
                          OPT_VENDOR_CLASS, RELAY_FORW, RELAY_REPL, SERVER_PORT, SOLICIT)
from pxelab.netns import Topology                      # noqa: E402
from pxelab.replay import capture_config               # noqa: E402
from pxelab.servers import Dnsmasq, ServerError, wait_until         # noqa: E402
from test_v6_captures import (EDK2_HTTP_X64, EDK2_PXE_X64, IPXE_BIOS,  # noqa: E402
                              IPXE_EFI_X64, edk2_bare, read_capture)
from test_v6_class_net import (DHCP6_SERVERS, link_local, no_tentative,  # noqa: E402
                               option, options_of, receive)

PATCHED = os.environ.get("PXC_DNSMASQ_PATCHED", "")
HAVE_PATCHED = testing.executable(PATCHED)
STOCK = os.environ.get("PXC_DNSMASQ_STOCK", "")
CAPTURES = os.path.join(HERE, "..", "captures")

SERVER6 = "fd77::1"
RELAYED_MAC = "52:54:00:77:00:aa"
REPLY_WAIT = 3.0

PXE_URL = "tftp://[fd77::1]/ipxe.efi"
HTTP_URL = "http://[fd77::1]/ipxe.efi"
SCRIPT_URL = "http://[fd77::1]/boot.ipxe"
SCRIPT_PARAM = "autoboot"
ECHO = b"\x00\x02XY\x00\x0aHTTPClient"      # dhcp-option=...,option6:16,XY,HTTPClient
HTTP_RANGE = ("fd77::200", "fd77::2ff")

RULES = """dhcp-pxe-class=set:pxe6,pxe
dhcp-pxe-class=set:http6,http-boot
dhcp-pxe-class=set:ipxe6,ipxe
dhcp-pxe-arch=set:x64,x64
dhcp-pxe-arch=set:arm64,arm64
dhcp-ipxe-own=user-class:CSTM
dhcp-ipxe-own=feature:https,version:>=2
"""
CONFIG = """interface=br0
bind-interfaces
user=root
group=root
port=0
log-dhcp
dhcp-range=tag:http6,%s,%s,64,10m
dhcp-range=tag:!http6,fd77::10,fd77::ff,64,10m
%stag-if=set:echo,tag:http6
tag-if=set:script6,tag:ipxe6
dhcp-ignore=tag:arm64
dhcp-option=tag:pxe6,tag:x64,option6:bootfile-url,%s
dhcp-option=tag:http6,tag:x64,option6:bootfile-url,%s
dhcp-option=tag:echo,option6:16,XY,HTTPClient
dhcp-option=tag:ipxe6,option6:bootfile-url,%s
dhcp-option=tag:script6,option6:bootfile-param,"%s"
""" % (HTTP_RANGE + (RULES, PXE_URL, HTTP_URL, SCRIPT_URL, SCRIPT_PARAM))


# ------------------------------------------------------------- the SOLICITs
def raw_solicits(folder):
    """The client SOLICITs of a capture, as sent: {index: bytes} in order,
    paired with read_capture()'s parsed messages."""
    raw = [r.payload for r in pcap.read_udp(os.path.join(HERE, "..", "captures", folder,
                                                         "dhcp.pcap"))
           if r.dst_port == SERVER_PORT and r.src_port == CLIENT_PORT]
    parsed = read_capture(folder).client()
    return list(zip(parsed, raw))


def first_solicit(folder, select):
    """The bytes of the first SOLICIT of FOLDER that SELECT picks."""
    for message, data in raw_solicits(folder):
        if message.type == SOLICIT and select(message):
            return data
    raise AssertionError("no such SOLICIT in " + folder)


def vendor_class_is(value):
    """A selector: option 16 is exactly VALUE."""
    return lambda m: m.get(OPT_VENDOR_CLASS) == value


def arm64(solicit):
    """An EDK2 HTTP Boot SOLICIT turned into ARM64's: option 61 = 19 and
    Arch:00019 in option 16 (same lengths, so the message stays valid),
    and a transaction id of its own (for the log)."""
    out = bytearray(solicit)
    out[3] ^= 0x01
    at = 4
    while at + 4 <= len(out):
        code, length = struct.unpack_from("!HH", out, at)
        if code == OPT_ARCH:
            struct.pack_into("!H", out, at + 4, 19)
        at += 4 + length
    return bytes(out).replace(b"Arch:00016", b"Arch:00019")


SOLICITS = {
    "edk2-pxev6": first_solicit("g1-ovmf-pxev6", vendor_class_is(EDK2_PXE_X64)),
    "edk2-bare": first_solicit("g1-ovmf-pxev6", edk2_bare),
    "ipxe-efi": first_solicit("g1-ovmf-pxev6", vendor_class_is(IPXE_EFI_X64)),
    "edk2-httpv6": first_solicit("g2-ovmf-httpv6", vendor_class_is(EDK2_HTTP_X64)),
    "ipxe-bios": first_solicit("g3b-seabios-ipxe-v6only", vendor_class_is(IPXE_BIOS)),
}
SOLICITS["edk2-httpv6-arm64"] = arm64(SOLICITS["edk2-httpv6"])

# What each one earns: (class, arch in the log, tags, 59, 16, 60, range)
EXPECTED = {
    "edk2-pxev6": ("pxe", "7(efi-x64)", {"pxe6", "x64"}, PXE_URL, None, None, False),
    "edk2-httpv6": ("http-boot", "16(efi-x64-http)", {"http6", "x64"}, HTTP_URL, ECHO,
                    None, True),
    "ipxe-efi": ("ipxe", "7(efi-x64)", {"ipxe6", "x64"}, SCRIPT_URL, None, SCRIPT_PARAM,
                 False),
    "ipxe-bios": ("ipxe", "0(x86-bios)", {"ipxe6"}, SCRIPT_URL, None, SCRIPT_PARAM, False),
    "edk2-bare": ("none", None, set(), None, None, None, False),
}


def relay_message(options):
    """The data of the relay-message option (9) in OPTIONS, or None."""
    at = 0
    while at + 4 <= len(options):
        code, length = struct.unpack_from("!HH", options, at)
        if code == OPT_RELAY_MSG:
            return options[at + 4:at + 4 + length]
        at += 4 + length
    return None


def xid_of(message):
    """The transaction id of a DHCPv6 message, as dnsmasq logs it."""
    return struct.unpack("!I", message[:4])[0] & 0xffffff


def ia_address(options):
    """The first IAADDR of the ADVERTISE's IA_NA, or None."""
    ia = options.get(OPT_IA_NA, b"")
    at = 12
    while at + 4 <= len(ia):
        code, length = struct.unpack_from("!HH", ia, at)
        if code == OPT_IAADDR and length >= 16:
            return ia[at + 4:at + 20]
        at += 4 + length
    return None


def in_range(address, first, last):
    """True if the 16 bytes ADDRESS lie in [FIRST, LAST] (text)."""
    value = ipaddress.IPv6Address(address)
    return ipaddress.IPv6Address(first) <= value <= ipaddress.IPv6Address(last)


# ------------------------------------------------------------- the lab
class Lab:
    """The server namespace (br0, fd77::1/64) with the patched dnsmasq and
    one client namespace on its link-local address, port 546."""

    def __init__(self, config, binary=PATCHED):
        self.config, self.binary = config, binary
        self.topo = self.server = self.sock = self.relay_sock = None

    def __enter__(self):
        try:
            self.topo = Topology(clients=1, server_extra=(SERVER6 + "/64",))
            self.topo.__enter__()
            node = self.topo.client_nodes[0]
            self.mac = node.mac.lower()
            wait_until(lambda: no_tentative(self.topo.server.ns, "br0"), 5.0,
                       what="DAD on br0")
            self.server = Dnsmasq(self.binary, self.topo.server.ns, self.config,
                                  wait_ports={SERVER_PORT})
            self.server.start()
            self.ifindex = node.ns.ifindex("eth0")
            address = wait_until(lambda: link_local(node), 5.0,
                                 what="a link-local address on " + node.name)
            self.sock = node.ns.socket(socket.AF_INET6, socket.SOCK_DGRAM)
            self.sock.bind((address, CLIENT_PORT, 0, self.ifindex))
            self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, self.ifindex)
            # the same namespace as a relay agent (port 547)
            self.relay_sock = node.ns.socket(socket.AF_INET6, socket.SOCK_DGRAM)
            self.relay_sock.bind((address, SERVER_PORT, 0, self.ifindex))
            self.relay_sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF,
                                       self.ifindex)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        for sock in (self.sock, self.relay_sock):
            if sock:
                sock.close()
        if self.server:
            self.server.stop()
            self.server.cleanup()
        if self.topo:
            self.topo.close()

    def solicit(self, message, timeout=REPLY_WAIT):
        """Send MESSAGE to ff02::1:2; the ADVERTISE's options or None."""
        self.sock.sendto(message, (DHCP6_SERVERS, SERVER_PORT, 0, self.ifindex))
        want = (ADVERTISE << 24) | xid_of(message)
        for reply in receive(self.sock, timeout):
            if len(reply) >= 4 and struct.unpack("!I", reply[:4])[0] == want:
                return options_of(reply)
        return None

    def relay(self, message, mac, timeout=REPLY_WAIT):
        """Send MESSAGE in a RELAY-FORW (link-address fd77::1, option 79 =
        Ethernet MAC) from port 547; the relayed ADVERTISE's options or
        None."""
        want = (ADVERTISE << 24) | xid_of(message)
        forward = (bytes([RELAY_FORW, 0]) + socket.inet_pton(socket.AF_INET6, SERVER6)
                   + socket.inet_pton(socket.AF_INET6, "fe80::5054:ff:fe77:aa")
                   + option(OPT_CLIENT_LINKLAYER, struct.pack("!H", 1)
                            + bytes.fromhex(mac.replace(":", "")))
                   + option(OPT_RELAY_MSG, message))
        self.relay_sock.sendto(forward, (DHCP6_SERVERS, SERVER_PORT, 0, self.ifindex))
        for reply in receive(self.relay_sock, timeout):
            if len(reply) < 34 or reply[0] != RELAY_REPL:
                continue
            inner = relay_message(reply[34:])
            if inner and len(inner) >= 4 and struct.unpack("!I", inner[:4])[0] == want:
                return options_of(inner)
        return None

    def log_of(self, xid, what):
        """The text after '<xid> pxeclass<WHAT>: ' of the log lines of XID."""
        prefix = "%d pxeclass%s: " % (xid, what)
        return [line[len(prefix):] for line in self.server.log_lines()
                if line.startswith(prefix)]


@testing.needs_namespaces
@unittest.skipUnless(HAVE_PATCHED, "set PXC_DNSMASQ_PATCHED")
class BootFileTest(unittest.TestCase):
    """Each firmware's SOLICIT gets what its class and arch earn."""

    @classmethod
    def setUpClass(cls):
        cls.lab = Lab(CONFIG).__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.lab.__exit__(None, None, None)

    def test_every_firmware_gets_its_boot_file(self):
        for name, (fw_class, arch, tags, url, echo, param, own_range) in EXPECTED.items():
            with self.subTest(client=name):
                message = SOLICITS[name]
                reply = self.lab.solicit(message)
                self.assertIsNotNone(reply, self.lab.server.log_text())
                self.assertEqual(reply.get(OPT_BOOTFILE_URL), url and url.encode())
                # No PXEClient (343) echo for PXEv6: EDK2 would go to 4011.
                self.assertEqual(reply.get(OPT_VENDOR_CLASS), echo)
                self.assertEqual(reply.get(OPT_BOOTFILE_PARAM),
                                 param and struct.pack("!H", len(param)) + param.encode())
                address = ia_address(reply)
                self.assertIsNotNone(address, reply)
                self.assertEqual(in_range(address, *HTTP_RANGE), own_range)
                self.check_log(xid_of(message), fw_class, arch, tags)

    def check_log(self, xid, fw_class, arch, tags):
        """The pxeclass lines of XID: class, family, arch, MAC, the tags."""
        lines = self.lab.log_of(xid, "")
        self.assertEqual(len(lines), 1, self.lab.server.log_text())
        words = lines[0].split()
        self.assertEqual(words[:2], ["class=" + fw_class, "family=ipv6"], lines[0])
        self.assertEqual("arch=" + arch in words if arch else
                         not any(w.startswith("arch=") for w in words), True, lines[0])
        self.assertIn("mac=%s(caller)" % self.lab.mac, words, lines[0])
        tag_lines = self.lab.log_of(xid, " tags")
        self.assertEqual(len(tag_lines), 1, self.lab.server.log_text())
        logged = dict(re.findall(r"([\w-]+) \(([^)]*)\)", tag_lines[0]))
        self.assertEqual(set(logged), tags, tag_lines[0])
        for tag, rule in logged.items():
            self.assertIn(rule, RULES.splitlines())
            self.assertIn("set:%s," % tag, rule)
        # dnsmasq's own tags: line sees them too (with tag-if's).
        own = [l for l in self.lab.server.log_lines(r"^%d tags: " % xid)]
        self.assertTrue(own, self.lab.server.log_text())
        self.assertTrue(tags <= set(own[-1].split(": ", 1)[1].split(", ")), own[-1])

    def test_relayed_mac_from_option_79(self):
        """A RELAY-FORW with option 79: the tag hook gets the client's
        message and the relay's MAC (dnsmasq's state->mac), not the
        veth's; the RELAY-REPL carries the PXEv6 boot file."""
        inner = bytearray(SOLICITS["edk2-pxev6"])
        inner[3] ^= 0x02                  # a transaction id of its own
        reply = self.lab.relay(bytes(inner), RELAYED_MAC)
        self.assertIsNotNone(reply, self.lab.server.log_text())
        self.assertEqual(reply.get(OPT_BOOTFILE_URL), PXE_URL.encode())
        lines = self.lab.log_of(xid_of(inner), "")
        self.assertEqual(len(lines), 1, self.lab.server.log_text())
        self.assertIn("class=pxe", lines[0].split())
        self.assertIn("mac=%s(caller)" % RELAYED_MAC, lines[0].split())

    def test_dhcp_ignore_arm64(self):
        message = SOLICITS["edk2-httpv6-arm64"]
        self.assertIsNone(self.lab.solicit(message))
        lines = wait_until(lambda: self.lab.log_of(xid_of(message), ""), 3.0,
                           what="the pxeclass line of the ARM64 SOLICIT")
        self.assertIn("arch=19(efi-arm64-http)", lines[-1].split())
        self.assertIn("arm64", self.lab.log_of(xid_of(message), " tags")[-1])


# The chain over DHCPv6 (patches/0010 and the tracker): iPXE is our own
# when it follows a hand-out (`chained`), vendor otherwise.
CHAIN_CONFIG = """interface=br0
bind-interfaces
user=root
group=root
port=0
log-dhcp
dhcp-range=fd77::10,fd77::ff,64,10m
dhcp-ipxe-own=chained
dhcp-pxe-class=set:pxe6,pxe
dhcp-pxe-class=set:own6,ipxe-own
dhcp-pxe-class=set:vendor6,ipxe-vendor
dhcp-option=tag:pxe6,option6:bootfile-url,%s
dhcp-option=tag:vendor6,option6:bootfile-url,%s
dhcp-option=tag:own6,option6:bootfile-url,%s
""" % (PXE_URL, PXE_URL, SCRIPT_URL)


def with_xid(message, xid):
    """MESSAGE with transaction id XID: the next program's own request."""
    return message[:1] + struct.pack("!I", xid)[1:] + message[4:]


@testing.needs_namespaces
@unittest.skipUnless(HAVE_PATCHED, "set PXC_DNSMASQ_PATCHED")
class ChainTest(unittest.TestCase):
    """The chain tracker over DHCPv6: an ADVERTISE's bootfile-url (with an
    address) is a hand-out, the next program's SOLICIT a hop."""

    def boot_file(self, lab, message):
        """The 59 of the ADVERTISE to MESSAGE (asserting there is one)."""
        reply = lab.solicit(message)
        self.assertIsNotNone(reply, lab.server.log_text())
        self.assertIsNotNone(ia_address(reply), reply)
        return reply.get(OPT_BOOTFILE_URL)

    def test_pxev6_then_ipxe_is_own(self):
        """EDK2 PXEv6 is handed ipxe.efi; its IP stack's bare SOLICIT
        changes nothing; the iPXE that follows is ours: the script."""
        with Lab(CHAIN_CONFIG) as lab:
            self.assertEqual(self.boot_file(lab, SOLICITS["edk2-pxev6"]), PXE_URL.encode())
            self.assertIsNotNone(lab.solicit(SOLICITS["edk2-bare"]))
            ipxe = SOLICITS["ipxe-efi"]
            self.assertEqual(self.boot_file(lab, ipxe), SCRIPT_URL.encode())
            line = lab.log_of(xid_of(ipxe), "")[-1].split()
            self.assertIn("own=own", line)
            self.assertIn("hops=1", line)
            self.assertIn("own6", lab.log_of(xid_of(ipxe), " tags")[-1])

    def test_vendor_ipxe_chainloads_once(self):
        """iPXE with nothing before it is a vendor build: handed ipxe.efi;
        the next iPXE (a new transaction) follows that hand-out: ours."""
        with Lab(CHAIN_CONFIG) as lab:
            rom = SOLICITS["ipxe-bios"]
            self.assertEqual(self.boot_file(lab, rom), PXE_URL.encode())
            self.assertIn("own=vendor", lab.log_of(xid_of(rom), "")[-1].split())
            again = with_xid(rom, xid_of(rom) ^ 0x10)
            self.assertEqual(self.boot_file(lab, again), SCRIPT_URL.encode())
            self.assertIn("own=own", lab.log_of(xid_of(again), "")[-1].split())


@testing.needs_namespaces
@unittest.skipUnless(HAVE_PATCHED, "set PXC_DNSMASQ_PATCHED")
class StartUpTest(unittest.TestCase):
    """What dnsmasq says before serving."""

    def test_identity_needing_option_175_is_warned_about(self):
        with Lab(CONFIG) as lab:
            lines = lab.server.log_lines(r"pxeclass: dhcp-ipxe-own")
        self.assertEqual(len(lines), 1, lines)
        self.assertIn("dhcp-ipxe-own=feature:https,version:>=2 needs", lines[0])
        self.assertIn("never matches a DHCPv6 request", lines[0])

    def test_bad_directive_stops_dnsmasq_with_its_line(self):
        lines = CONFIG.splitlines()
        at = lines.index("dhcp-pxe-arch=set:x64,x64")
        lines.insert(at, "dhcp-pxe-class=set:x,no-such-class")
        with Topology(clients=0, server_extra=(SERVER6 + "/64",)) as topo:
            server = Dnsmasq(PATCHED, topo.server.ns, "\n".join(lines) + "\n",
                             wait_ports={SERVER_PORT})
            try:
                with self.assertRaises(ServerError):
                    server.start()
                self.assertEqual(server.process.popen.returncode, 1)
                out = server.stderr().strip()
            finally:
                server.stop()
                server.cleanup()
        self.assertIn("no-such-class", out)
        self.assertTrue(out.endswith("at line %d of %s" % (at + 1, server.conf_path)), out)


def answers(binary, folder):
    """BINARY running capture FOLDER's own config: the ADVERTISE options of
    each captured SOLICIT (the server's DUID left out) and the log lines
    of the transactions (pxeclass's and the DUID's left out, the client
    namespace's random MAC as "MAC")."""
    with tempfile.TemporaryDirectory() as root, \
            Lab(capture_config(os.path.join(CAPTURES, folder), root, "br0"), binary) as lab:
        replies = []
        for message, data in raw_solicits(folder):
            if message.type == SOLICIT:
                options = lab.solicit(data)
                if options is not None:
                    options.pop(OPT_SERVERID, None)
                replies.append(options)
        lines = [line.replace(lab.mac, "MAC") for line in lab.server.log_lines()
                 if re.match(r"\d+ ", line) and "pxeclass" not in line
                 and "server-id" not in line]
    return replies, lines


@testing.needs_namespaces
@unittest.skipUnless(HAVE_PATCHED and testing.executable(STOCK),
                     "set PXC_DNSMASQ_PATCHED and PXC_DNSMASQ_STOCK")
class StockEquivalenceTest(unittest.TestCase):
    """Without pxeclass lines, patched answers DHCPv6 as stock does."""

    def test_captures_configs_answer_alike(self):
        for folder in sorted(f for f in os.listdir(CAPTURES) if f.startswith("g")):
            with self.subTest(capture=folder):
                stock, patched = answers(STOCK, folder), answers(PATCHED, folder)
                self.assertTrue(any(stock[0]), "stock answered no SOLICIT of " + folder)
                self.assertTrue(stock[1], "stock logged no transaction of " + folder)
                self.assertEqual(stock, patched)


if __name__ == "__main__":
    testing.main()
