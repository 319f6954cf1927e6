"""Debian's autopkgtest for dnsmasq (get-address+query-dns+check-utils),
on the patched binary, in namespaces.

As debian/tests/functions does, with the patched dnsmasq instead of the
installed package, a namespace instead of the container, and dnsmasq's own
local records instead of the bind9 zone (no upstream at all):

  - a real DHCP client (ISC dhclient, the one bookworm's ifupdown uses)
    gets a lease over the veth: address in the range, netmask, the server
    as DNS server, the domain, the lease time on the interface;
  - DNS from the patched dnsmasq answers the client: a host-record, an
    address=, the DHCP client's own name (DHCP-DNS integration), and
    NXDOMAIN inside the local zone (nothing is forwarded); with dig when
    installed, and with a stdlib query always;
  - contrib/lease-tools built from the fetched source of the same version:
    dhcp_lease_time reads the lease over loopback, dhcp_release ends it
    (the lease file empties, dnsmasq logs the DHCPRELEASE), and
    dhcp_lease_time then finds no lease.

The config carries pxeclass directives, so the hooks are active: the
ordinary client is classified as class none and gets no pxeclass tag.

Needs root, dhclient (isc-dhcp-client).  Environment: PXC_DNSMASQ_PATCHED,
PXC_DHCP_RELEASE, PXC_DHCP_LEASE_TIME.
"""

import os
import re
import shutil
import socket
import struct
import subprocess
import tempfile
import unittest

from netkit import SERVER
from pxelab import testing
from pxelab.netns import Topology
from pxelab.servers import Dnsmasq, wait_until

PATCHED = os.environ.get("PXC_DNSMASQ_PATCHED", "")
RELEASE = os.environ.get("PXC_DHCP_RELEASE", "")
LEASE_TIME = os.environ.get("PXC_DHCP_LEASE_TIME", "")
HAVE_TOOLS = all(testing.executable(p) for p in (PATCHED, RELEASE, LEASE_TIME))
DHCLIENT = shutil.which("dhclient")
DIG = shutil.which("dig")

HOSTNAME = "autopkgclient"
# Debian's dnsmasq-autopkgtest.conf, with local records for its bind9 zone.
CONFIG = """no-resolv
listen-address=10.77.0.1,127.0.0.1
bind-interfaces
dhcp-range=10.77.0.2,10.77.0.6,255.255.255.0,1h
dhcp-authoritative
user=root
group=root
log-dhcp
domain=autopkg.test
local=/autopkg.test/
host-record=ns.autopkg.test,10.77.1.1
address=/dhcp3.autopkg.test/10.77.0.5
dhcp-pxe-class=set:netboot,netboot
dhcp-chain-guard=3,60
"""
DHCLIENT_CONF = """send host-name "%s";
request subnet-mask, broadcast-address, routers, domain-name, domain-name-servers,
        host-name, dhcp-lease-time;
""" % HOSTNAME
# dhclient's -sf script: record what dhclient was told, configure the
# address the way dhclient-script does, never touch the host's files.
# The environment is written last (renamed into place), so a test that
# sees env.BOUND also finds the address configured.
DHCLIENT_SCRIPT = """#!/bin/sh
case "$reason" in
BOUND|RENEW|REBIND|REBOOT)
    ip -4 addr add "$new_ip_address/$new_subnet_mask" dev "$interface" \\
        valid_lft "$new_dhcp_lease_time" preferred_lft "$new_dhcp_lease_time"
    ;;
esac
env | grep -E '^(reason|interface|new_)' | sort > "%(dir)s/env.$reason.tmp"
mv "%(dir)s/env.$reason.tmp" "%(dir)s/env.$reason"
exit 0
"""


def dns_query(sock, name, qtype=1, server=SERVER, timeout=2.0):
    """Ask SERVER for NAME (type A) over SOCK; (rcode, [addresses])."""
    qid = int.from_bytes(os.urandom(2), "big")
    question = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    sock.settimeout(timeout)
    sock.sendto(struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + question +
                struct.pack("!HH", qtype, 1), (server, 53))
    while True:
        reply = sock.recv(4096)
        if struct.unpack_from("!H", reply)[0] == qid:
            return parse_answer(reply, len(question) + 4)


def parse_answer(reply, question_len):
    """(rcode, [IPv4 of each A record]) of a DNS reply to one question."""
    flags, _, answers = struct.unpack_from("!HHH", reply, 2)
    pos, addresses = 12 + question_len, []
    for _ in range(answers):
        while reply[pos] and reply[pos] < 0xc0:          # owner name labels
            pos += 1 + reply[pos]
        pos += 2 if reply[pos] >= 0xc0 else 1
        rtype, _, _, length = struct.unpack_from("!HHIH", reply, pos)
        pos += 10
        if rtype == 1 and length == 4:
            addresses.append(socket.inet_ntoa(reply[pos:pos + 4]))
        pos += length
    return flags & 0xf, addresses


def read_env(path):
    """KEY=VALUE lines of a recorded environment, as a dict."""
    with open(path) as f:
        return dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line)


@testing.needs_namespaces
@unittest.skipUnless(HAVE_TOOLS, "set PXC_DNSMASQ_PATCHED, PXC_DHCP_RELEASE, "
                     "PXC_DHCP_LEASE_TIME")
@unittest.skipUnless(DHCLIENT, "needs dhclient (apt-get install isc-dhcp-client)")
class AutopkgtestTest(unittest.TestCase):
    """get-address+query-dns+check-utils, one step per test, in order."""

    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="pxc-autopkg-")
        cls.topo = Topology(clients=1).__enter__()
        try:
            cls.server = Dnsmasq(PATCHED, cls.topo.server.ns, CONFIG).start()
            cls.client = cls.topo.client
            cls.lease = cls.get_address()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "dhclient", None):
            cls.dhclient.stop()
        if getattr(cls, "server", None):
            cls.server.stop()
            cls.server.cleanup()
        cls.topo.close()
        shutil.rmtree(cls.work, ignore_errors=True)

    @classmethod
    def get_address(cls):
        """Run dhclient in the client namespace until it is BOUND; what
        it was told (its script's environment)."""
        paths = {name: os.path.join(cls.work, name)
                 for name in ("dhclient.conf", "script", "leases", "pid", "log")}
        with open(paths["dhclient.conf"], "w") as f:
            f.write(DHCLIENT_CONF)
        with open(paths["script"], "w") as f:
            f.write(DHCLIENT_SCRIPT % {"dir": cls.work})
        os.chmod(paths["script"], 0o755)
        cls.dhclient = cls.client.ns.start(
            [DHCLIENT, "-d", "-v", "-1", "-4", "-cf", paths["dhclient.conf"],
             "-sf", paths["script"], "-lf", paths["leases"], "-pf", paths["pid"],
             cls.client.iface], paths["log"])
        bound = os.path.join(cls.work, "env.BOUND")
        wait_until(lambda: os.path.exists(bound) and os.path.getsize(bound), 20,
                   what="dhclient BOUND")
        return read_env(bound)

    def test_1_address_on_the_client(self):
        lease = self.lease
        self.assertRegex(lease["new_ip_address"], r"^10\.77\.0\.[2-6]$")
        self.assertEqual(lease["new_subnet_mask"], "255.255.255.0")
        self.assertEqual(lease["new_domain_name_servers"], SERVER)
        self.assertEqual(lease["new_domain_name"], "autopkg.test")
        self.assertEqual(lease["new_dhcp_server_identifier"], SERVER)
        shown = self.client.ns.ip("-4", "addr", "show", "dev", self.client.iface)
        self.assertRegex(shown, r"inet %s/24 .*\n\s+valid_lft 3[56]\d\dsec"
                         % re.escape(lease["new_ip_address"]))
        rows = [row for row in self.server.leases() if row[2] == lease["new_ip_address"]]
        self.assertEqual(len(rows), 1, self.server.leases())
        self.assertEqual((rows[0][1], rows[0][3]), (self.client.mac, HOSTNAME))
        # the hooks saw an ordinary client: class none, no pxeclass tag
        self.assertTrue(self.server.log_lines(r"pxeclass: class=none"), self.server.log_text())
        self.assertFalse(self.server.log_lines(r"pxeclass tags: (?!none)"))

    def dns_wanted(self):
        """{name: (rcode, addresses)} the server must answer from the lease."""
        return {"ns.autopkg.test": (0, ["10.77.1.1"]),
                "dhcp3.autopkg.test": (0, ["10.77.0.5"]),
                HOSTNAME + ".autopkg.test": (0, [self.lease["new_ip_address"]]),
                "nothere.autopkg.test": (3, [])}

    def test_2_dns_answers(self):
        address = self.lease["new_ip_address"]
        want = self.dns_wanted()
        sock = self.client.ns.socket()
        try:
            sock.bind((address, 0))
            got = {name: dns_query(sock, name) for name in want}
        finally:
            sock.close()
        self.assertEqual(got, want, self.server.log_text())

    @unittest.skipUnless(DIG, "needs dig (apt-get install bind9-dnsutils)")
    def test_2_dns_answers_to_dig(self):
        address = self.lease["new_ip_address"]
        for name, (_, addresses) in self.dns_wanted().items():
            out = self.client.ns.run([DIG, "-b", address, "@" + SERVER, "+short",
                                      "+tries=1", "+time=2", "A", name])
            self.assertEqual(out.split(), addresses, name)

    def test_3_lease_tools(self):
        address, mac = self.lease["new_ip_address"], self.client.mac
        server_ns = self.topo.server.ns
        remaining = server_ns.run([LEASE_TIME, address]).strip()
        self.assertRegex(remaining, r"^(1h|59m\d*s?|[1-5]?\dm\d+s)$")
        server_ns.run([RELEASE, self.topo.bridge, address, mac])
        wait_until(lambda: not [r for r in self.server.leases() if r[2] == address], 5,
                   what="the lease file to drop the released lease")
        self.assertTrue(self.server.log_lines(r"DHCPRELEASE\(\w+\) %s %s"
                                              % (re.escape(address), mac)),
                        self.server.log_text())
        gone = subprocess.run(["ip", "netns", "exec", server_ns.name, LEASE_TIME, address],
                              capture_output=True, text=True, timeout=10)
        self.assertEqual((gone.returncode, gone.stdout), (1, ""))


if __name__ == "__main__":
    testing.main()
