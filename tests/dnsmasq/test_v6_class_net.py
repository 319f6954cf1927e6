"""dnsmasq's DHCPv6 user/vendor-class loop, stock against the series'
fixes (patches/0006, patches/0007), over real UDP in namespaces.

The cycle (0006, every version): in dhcp6_no_relay() the `break` after a
dhcp-userclass/dhcp-vendorclass match leaves only the byte loop, so a
second instance of a matching class in the same option 15 (or 16)
pushes the same tag node again: its `next` points at itself, and the
next tag lookup that misses walks that cycle forever.  A SOLICIT with
option 15 = "iPXE","iPXE" under the classic `dhcp-userclass=set:ipxe,
iPXE` (or option 16 = 343 "PXEClient","PXEClient" under
`dhcp-vendorclass=set:…,enterprise:343,PXEClient`) is enough:

  - stock: no ADVERTISE to it, then none to an ordinary client's SOLICIT
    and no answer to a DNS query (bounded waits); dnsmasq is still
    alive, burning CPU.  The test then kills it by its PID.  If stock
    does answer, the test fails: it is there to prove the fix.
  - patched: an ADVERTISE to it (with the option its tag selects, the
    tag set once), then to an ordinary client, and DNS answers.

The enterprise-only break (0007, 2.93 only: dnsmasq 2.90/2.91 read
`enterprise:343` alone as a string): a `dhcp-vendorclass=set:…,
enterprise:343` line ends the class loop, so every class line above it
in the config is skipped.  Stock 2.93 does not set the user-class tag of
a client that sends both classes; patched sets both.

The client sends from its link-local address, port 546, to ff02::1:2
port 547 on a veth into the server's bridge; dnsmasq serves fd77::/64
there and DNS on fd77::1.

Needs root.  PXC_DNSMASQ_PATCHED and PXC_DNSMASQ_STOCK, one version.
"""

import os
import re
import select
import signal
import socket
import struct
import subprocess
import time
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools"))

from pxelab import testing                             # noqa: E402
from pxelab.dhcp6 import (ADVERTISE, CLIENT_PORT, ENTERPRISE_PXE,  # noqa: E402
                          OPT_BOOTFILE_URL, OPT_CLIENTID, OPT_ELAPSED, OPT_IA_NA,
                          OPT_USER_CLASS, OPT_VENDOR_CLASS, SERVER_PORT, SOLICIT)
from pxelab.netns import Topology                      # noqa: E402
from pxelab.servers import Dnsmasq, wait_until         # noqa: E402

PATCHED = os.environ.get("PXC_DNSMASQ_PATCHED", "")
STOCK = os.environ.get("PXC_DNSMASQ_STOCK", "")
HAVE_BINARIES = testing.executable(PATCHED) and testing.executable(STOCK)

SERVER6 = "fd77::1"
CLIENT6 = "fd77::2"
DHCP6_SERVERS = "ff02::1:2"
DNS_PORT = 53
PROBE_NAME = "probe.test"
PROBE_ADDRESS = "fd77::53"
SCRIPT_URL = "http://[fd77::1]/boot.ipxe"
EFI_URL = "tftp://[fd77::1]/ipxe.efi"
REPLY_WAIT = 2.0        # a live dnsmasq answers in milliseconds
SILENCE_WAIT = 3.0      # how long a hung one is given

CONFIG = """interface=br0
bind-interfaces
user=root
group=root
log-dhcp
dhcp-range=fd77::10,fd77::ff,64,10m
host-record=%s,%s
dhcp-option=tag:ipxe6,option6:bootfile-url,%s
dhcp-option=tag:pxe343,option6:bootfile-url,%s
""" % (PROBE_NAME, PROBE_ADDRESS, SCRIPT_URL, EFI_URL)
USER_CLASS_LINE = "dhcp-userclass=set:ipxe6,iPXE\n"
VENDOR_CLASS_LINE = "dhcp-vendorclass=set:pxe343,enterprise:343,PXEClient\n"
# dnsmasq keeps class lines in reverse config order: the enterprise-only
# line below is looked at first.
ENTERPRISE_ONLY_LINE = "dhcp-vendorclass=set:ent343,enterprise:343\n"


# ------------------------------------------------------------- packets
def option(code, data):
    """One DHCPv6 option."""
    return struct.pack("!HH", code, len(data)) + data


def class_list(*instances):
    """RFC 8415 user/vendor class data: each instance length-prefixed."""
    return b"".join(struct.pack("!H", len(i)) + i for i in instances)


def solicit(xid, mac, extra=b""):
    """A SOLICIT of the client MAC (DUID-LL, one IA_NA), no ORO: dnsmasq
    then sends every option a tag selects."""
    duid = struct.pack("!HH", 3, 1) + mac
    return (struct.pack("!I", (SOLICIT << 24) | xid)
            + option(OPT_CLIENTID, duid)
            + option(OPT_IA_NA, struct.pack("!III", xid & 0xffff, 0, 0))
            + option(OPT_ELAPSED, b"\0\0") + extra)


def options_of(message):
    """{code: data} of a DHCPv6 message (the first of each code)."""
    out, at = {}, 4
    while at + 4 <= len(message):
        code, length = struct.unpack_from("!HH", message, at)
        out.setdefault(code, message[at + 4:at + 4 + length])
        at += 4 + length
    return out


def dns_query(ident, name):
    """A recursive AAAA query for NAME."""
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.split("."))
    return struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0) + labels + b"\0\0\x1c\0\x01"


# ------------------------------------------------------------- the link
class Client:
    """A DHCPv6 client socket on one client namespace's link-local address
    (port 546), and a DNS socket on its fd77::/64 address."""

    def __init__(self, node, ifindex):
        self.node = node
        self.ifindex = ifindex
        self.mac = bytes.fromhex(node.mac.replace(":", ""))
        self.link_local = wait_until(lambda: link_local(node), 5.0,
                                     what="a link-local address on " + node.name)
        self.dhcp = node.ns.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        self.dhcp.bind((self.link_local, CLIENT_PORT, 0, ifindex))
        self.dhcp.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, ifindex)
        self.dns = node.ns.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        self.dns.bind((CLIENT6 if node.ip6 else "::", 0))

    def close(self):
        self.dhcp.close()
        self.dns.close()

    def solicit(self, xid, extra=b"", timeout=REPLY_WAIT):
        """Send a SOLICIT to ff02::1:2; the ADVERTISE's options or None."""
        self.dhcp.sendto(solicit(xid, self.mac, extra),
                         (DHCP6_SERVERS, SERVER_PORT, 0, self.ifindex))
        for reply in receive(self.dhcp, timeout):
            if len(reply) >= 4 and struct.unpack("!I", reply[:4])[0] == (ADVERTISE << 24) | xid:
                return options_of(reply)
        return None

    def resolve(self, ident, timeout=REPLY_WAIT):
        """The rcode of dnsmasq's answer to an AAAA query, or None."""
        self.dns.sendto(dns_query(ident, PROBE_NAME), (SERVER6, DNS_PORT))
        for reply in receive(self.dns, timeout):
            if len(reply) >= 12 and struct.unpack("!H", reply[:2])[0] == ident:
                return reply[3] & 0x0f
        return None


def receive(sock, timeout):
    """Datagrams arriving on SOCK within TIMEOUT seconds, as they come."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([sock], [], [], left)[0]:
            return
        yield sock.recv(65535)


def link_local(node):
    """NODE's link-local address once DAD is done (None before)."""
    out = node.ns.ip("-6", "-o", "addr", "show", "dev", node.iface, "scope", "link")
    for line in out.splitlines():
        if "tentative" not in line:
            return line.split()[3].split("/")[0]
    return None


def no_tentative(ns, iface):
    """True once IFACE in NS has no address in duplicate address detection."""
    return not ns.ip("-6", "-o", "addr", "show", "dev", iface, "tentative").strip()


def cpu_seconds(pid):
    """User+system CPU time of PID so far."""
    with open("/proc/%d/stat" % pid) as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_share(pid, window=1.5):
    """Fraction of WINDOW seconds PID spent on a CPU."""
    before = cpu_seconds(pid)
    time.sleep(window)
    return (cpu_seconds(pid) - before) / window


def version_of(binary):
    """dnsmasq's upstream version as a tuple, from --version."""
    out = subprocess.run([binary, "--version"], capture_output=True, text=True,
                         timeout=30).stdout
    return tuple(int(n) for n in re.search(r"version (\d+)\.(\d+)", out).groups())


# ------------------------------------------------------------- the lab
class V6Lab:
    """Server namespace (bridge br0, fd77::1/64) with one dnsmasq, and two
    client namespaces on it: the class-sending client and an ordinary one."""

    def __init__(self, binary, class_lines):
        self.binary = binary
        self.config = CONFIG + class_lines
        self.topo = self.server = None
        self.clients = []

    def __enter__(self):
        try:
            self.topo = Topology(clients=2, server_extra=(SERVER6 + "/64",))
            self.topo.__enter__()
            for node in self.topo.client_nodes:
                node.ip6 = None
            self.topo.client_nodes[1].ns.add_address("eth0", CLIENT6 + "/64")
            self.topo.client_nodes[1].ip6 = CLIENT6
            wait_until(lambda: no_tentative(self.topo.server.ns, "br0"), 5.0,
                       what="DAD on br0")
            self.server = Dnsmasq(self.binary, self.topo.server.ns, self.config,
                                  wait_ports={DNS_PORT, SERVER_PORT})
            self.server.start()
            self.clients = [Client(node, node.ns.ifindex("eth0"))
                            for node in self.topo.client_nodes]
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        for client in self.clients:
            client.close()
        if self.server:
            self.server.stop()
            self.server.cleanup()
        if self.topo:
            self.topo.close()

    @property
    def booting(self):
        """The client that sends the classes."""
        return self.clients[0]

    @property
    def ordinary(self):
        """The client that sends none (and asks DNS)."""
        return self.clients[1]

    def tag_lines(self):
        """dnsmasq's log-dhcp `tags:` lines so far."""
        return self.server.log_lines(r"^\d+ tags: ")

    def kill(self):
        """SIGKILL dnsmasq by its PID (a spinning dnsmasq never reaches
        its SIGTERM handler) and reap it."""
        os.kill(self.server.pid, signal.SIGKILL)
        self.server.stop()


# Two instances of a matching class in one option: (option, class line,
# tag, bootfile URL the tag selects).
TRIGGERS = {
    "user class": (option(OPT_USER_CLASS, class_list(b"iPXE", b"iPXE")),
                   USER_CLASS_LINE, "ipxe6", SCRIPT_URL),
    "vendor class": (option(OPT_VENDOR_CLASS, struct.pack("!I", ENTERPRISE_PXE)
                            + class_list(b"PXEClient", b"PXEClient")),
                     VENDOR_CLASS_LINE, "pxe343", EFI_URL),
}


@testing.needs_namespaces
@unittest.skipUnless(HAVE_BINARIES, "set PXC_DNSMASQ_PATCHED and PXC_DNSMASQ_STOCK")
class ClassCycleTest(unittest.TestCase):
    """Two instances of a matching class: stock hangs, patched serves."""

    def baseline(self, lab):
        """The ordinary client is served and DNS answers: the silence that
        follows is the trigger's doing."""
        self.assertIsNotNone(lab.ordinary.solicit(0x000101), lab.server.log_text())
        self.assertEqual(lab.ordinary.resolve(1), 0)

    def test_stock_spins(self):
        for name, (trigger, line, _, _) in TRIGGERS.items():
            with self.subTest(trigger=name), V6Lab(STOCK, line) as lab:
                self.baseline(lab)
                started = time.monotonic()
                self.assertIsNone(lab.booting.solicit(0x000202, trigger),
                                  "stock dnsmasq answered: the bug did not reproduce")
                self.assertIsNone(lab.ordinary.solicit(0x000303, timeout=SILENCE_WAIT))
                self.assertIsNone(lab.ordinary.resolve(2))
                silent = time.monotonic() - started
                self.assertTrue(lab.server.running(), "stock dnsmasq exited")
                share = cpu_share(lab.server.pid)
                lab.kill()
                print("stock %s: silent %.1f s, then %.0f %% CPU, killed"
                      % (name, silent, 100 * share), flush=True)
                # An idle dnsmasq takes none; a spinning one all a core
                # gives it (a share of a busy shared machine).
                self.assertGreater(share, 0.15, "stock dnsmasq hung but is not spinning")

    def test_patched_serves(self):
        for name, (trigger, line, tag, url) in TRIGGERS.items():
            with self.subTest(trigger=name), V6Lab(PATCHED, line) as lab:
                self.baseline(lab)
                started = time.monotonic()
                reply = lab.booting.solicit(0x000202, trigger)
                self.assertIsNotNone(reply, lab.server.log_text())
                self.assertEqual(reply.get(OPT_BOOTFILE_URL), url.encode())
                other = lab.ordinary.solicit(0x000303)
                self.assertIsNotNone(other, lab.server.log_text())
                self.assertNotIn(OPT_BOOTFILE_URL, other)
                self.assertEqual(lab.ordinary.resolve(2), 0)
                served = time.monotonic() - started
                tags = [l for l in lab.tag_lines() if l.startswith("%d " % 0x000202)]
                self.assertEqual(len(tags), 1, lab.server.log_text())
                self.assertEqual(tags[0].split(": ", 1)[1].split(", ").count(tag), 1,
                                 tags[0])
                share = cpu_share(lab.server.pid)
                print("patched %s: both served in %.2f s, then %.0f %% CPU"
                      % (name, served, 100 * share), flush=True)
                self.assertLess(share, 0.1)


@testing.needs_namespaces
@unittest.skipUnless(HAVE_BINARIES, "set PXC_DNSMASQ_PATCHED and PXC_DNSMASQ_STOCK")
class EnterpriseOnlyTest(unittest.TestCase):
    """2.93: an enterprise-only dhcp-vendorclass no longer hides the class
    lines above it.  2.90/2.91 have no enterprise-only match (the line is
    the string "enterprise:343"): the same config must give them the
    user-class tag, stock and patched alike."""

    def tags_of(self, binary):
        """The tags dnsmasq sets for a client with both classes, and the
        bootfile URL it is offered."""
        trigger = (option(OPT_USER_CLASS, class_list(b"iPXE"))
                   + option(OPT_VENDOR_CLASS, struct.pack("!I", ENTERPRISE_PXE)
                            + class_list(b"PXEClient:Arch:00007:UNDI:003016")))
        with V6Lab(binary, USER_CLASS_LINE + ENTERPRISE_ONLY_LINE) as lab:
            reply = lab.booting.solicit(0x000404, trigger)
            self.assertIsNotNone(reply, lab.server.log_text())
            line = [l for l in lab.tag_lines() if l.startswith("%d " % 0x000404)]
            self.assertEqual(len(line), 1, lab.server.log_text())
            return (set(line[0].split(": ", 1)[1].split(", ")),
                    reply.get(OPT_BOOTFILE_URL))

    def test_user_class_above_enterprise_only_line(self):
        stock_tags, stock_url = self.tags_of(STOCK)
        patched_tags, patched_url = self.tags_of(PATCHED)
        self.assertIn("ipxe6", patched_tags)
        self.assertEqual(patched_url, SCRIPT_URL.encode())
        if version_of(STOCK) >= (2, 93):
            self.assertIn("ent343", patched_tags)
            self.assertIn("ent343", stock_tags)
            self.assertNotIn("ipxe6", stock_tags,
                             "stock 2.93 matched the line above: the bug did not reproduce")
            self.assertIsNone(stock_url)
        else:
            self.assertEqual(stock_tags, patched_tags)
            self.assertNotIn("ent343", patched_tags)
            self.assertEqual(stock_url, patched_url)


if __name__ == "__main__":
    testing.main()
