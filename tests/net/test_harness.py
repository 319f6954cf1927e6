"""Tests of the pxelab network harness (tools/pxelab).

Offline tests (pcap reader, DHCP codec) always run.  Namespace tests need
root and iproute2.  dnsmasq tests also need PXC_DNSMASQ=<path of a dnsmasq
binary>; against a stock dnsmasq they prove the harness reproduces the real
captures in tests/captures: every client request replayed gets the same
replies (boot file, option 60 echo, option 43 menu, every option) from
dnsmasq running that capture's own config.

Run:  PXC_DNSMASQ=/path/to/dnsmasq python3 -m unittest tests/net/test_harness.py -v
"""

import concurrent.futures
import contextlib
import glob
import re
import os
import struct
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools"))

from pxelab import dhcp, pcap, replay, testing, tftp   # noqa: E402
from pxelab.http_client import http_get                # noqa: E402
from pxelab.netns import NETNS_RUN_DIR, Topology, owned_by  # noqa: E402
from pxelab.record import PacketRecorder                # noqa: E402
from pxelab.servers import Dnsmasq, HttpFileServer, set_config_option  # noqa: E402

CAPTURES = os.path.join(ROOT, "tests", "captures")
CAPTURE_DIRS = sorted(glob.glob(os.path.join(CAPTURES, "*", "")))
DNSMASQ = os.environ.get("PXC_DNSMASQ")
HAVE_DNSMASQ = testing.executable(DNSMASQ)
NEED_DNSMASQ = ("set PXC_DNSMASQ to the path of a dnsmasq binary (e.g. a stock 2.90 build) "
                "to run the dnsmasq network tests")
PROXY_CAPTURE = "f2a-proxy-seabios-virtio"


def capture(name):
    """Path of one capture folder."""
    return os.path.join(CAPTURES, name)


def first_request(name, port=dhcp.SERVER_PORT):
    """The first client request of a capture, parsed."""
    for record in pcap.read_udp(os.path.join(capture(name), "dhcp.pcap")):
        if record.dst_port == port:
            return dhcp.parse_packet(record.payload)
    raise LookupError(f"{name}: no request to port {port}")


def capture_config(name, tftp_root, bridge, extra=()):
    """A capture's dnsmasq.conf adapted to a topology, EXTRA lines added."""
    config = replay.capture_config(capture(name), tftp_root, bridge)
    return config + "".join(line + "\n" for line in extra)


def namespaces_with_prefix(prefix):
    """Existing namespaces of the Topology with this prefix."""
    return [n for n in os.listdir(NETNS_RUN_DIR) if owned_by(prefix, n)] \
        if os.path.isdir(NETNS_RUN_DIR) else []


# ---------------------------------------------------------------- offline
class PcapReaderTest(unittest.TestCase):
    """The pcap reader on the real captures and on rewritten flavours of them."""

    def test_reads_every_capture(self):
        for folder in CAPTURE_DIRS:
            with self.subTest(capture=os.path.basename(folder.rstrip("/"))):
                records = list(pcap.read_udp(os.path.join(folder, "dhcp.pcap")))
                requests = [r for r in records if r.dst_port in (67, 4011)]
                self.assertTrue(requests, "no client requests found")
                first = dhcp.parse_packet(requests[0].payload)
                self.assertEqual(first.chaddr, "52:54:00:77:00:01")
                self.assertEqual(requests[0].src_mac, "52:54:00:77:00:01")
                self.assertEqual((requests[0].src_ip, requests[0].dst_ip),
                                 ("0.0.0.0", "255.255.255.255"))
                self.assertFalse(any(r.truncated for r in records))

    def test_proxy_capture_shape(self):
        records = list(pcap.read_udp(os.path.join(capture(PROXY_CAPTURE), "dhcp.pcap")))
        boot = [r for r in records if r.dst_port == 4011]
        self.assertEqual(len(boot), 1)
        self.assertEqual((boot[0].src_ip, boot[0].src_port, boot[0].dst_ip),
                         ("10.77.0.130", 68, "10.77.0.1"))

    def _rewrite(self, path, **writer_args):
        """Copy capture 'a' into `path` with another byte order/resolution/link type."""
        link = writer_args.pop("link", pcap.LINKTYPE_ETHERNET)
        source = os.path.join(capture("a-seabios-virtio"), "dhcp.pcap")
        stored_as = pcap.LINKTYPE_ETHERNET if link == "vlan" else link
        with pcap.PcapWriter(path, linktype=stored_as, **writer_args) as writer:
            for frame in pcap.read_frames(source):
                writer.write(frame.ts, wrap_frame(frame.data, link))

    def test_byte_orders_resolutions_and_link_types(self):
        source = list(pcap.read_udp(os.path.join(capture("a-seabios-virtio"), "dhcp.pcap")))
        flavours = {
            "big-endian-us": dict(big_endian=True),
            "little-endian-ns": dict(nanoseconds=True),
            "big-endian-ns": dict(big_endian=True, nanoseconds=True),
            "sll": dict(link=pcap.LINKTYPE_LINUX_SLL),
            "sll2": dict(link=pcap.LINKTYPE_LINUX_SLL2, big_endian=True),
            "raw-ip": dict(link=pcap.LINKTYPE_RAW),
            "vlan": dict(link="vlan"),
        }
        with tempfile.TemporaryDirectory() as tmp:
            for name, args in flavours.items():
                with self.subTest(flavour=name):
                    path = os.path.join(tmp, name + ".pcap")
                    self._rewrite(path, **args)
                    got = list(pcap.read_udp(path))
                    self.assertEqual([r.payload for r in got], [r.payload for r in source])
                    self.assertEqual([(r.src_ip, r.dst_port) for r in got],
                                     [(r.src_ip, r.dst_port) for r in source])
                    for want, have in zip(source, got):
                        self.assertAlmostEqual(want.ts, have.ts, places=5)
                    if name in ("sll", "sll2"):
                        self.assertEqual(got[0].src_mac, "52:54:00:77:00:01")

    def test_truncated_file_stops_cleanly(self):
        source = os.path.join(capture("a-seabios-virtio"), "dhcp.pcap")
        with open(source, "rb") as f:
            data = f.read()
        complete = list(pcap.read_udp(source))
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "cut.pcap")
            for cut in (len(data) - 1, len(data) - 200, 24 + 16 + 5, 24 + 7):
                with self.subTest(cut=cut):
                    with open(path, "wb") as f:
                        f.write(data[:cut])
                    got = list(pcap.read_udp(path))
                    self.assertEqual([r.payload for r in got],
                                     [r.payload for r in complete[:len(got)]])
                    self.assertLess(len(got), len(complete))
            with open(path, "wb") as f:
                f.write(b"\x0a\x0d\x0d\x0a" + data[4:])
            with self.assertRaises(pcap.PcapError):
                list(pcap.read_udp(path))


def wrap_frame(ethernet, link):
    """Re-wrap an Ethernet frame for another link type (test helper)."""
    if link == pcap.LINKTYPE_ETHERNET:
        return ethernet
    if link == "vlan":
        return ethernet[:12] + struct.pack("!HH", 0x8100, 77) + ethernet[12:]
    if link == pcap.LINKTYPE_LINUX_SLL:
        return struct.pack("!HHH", 0, 1, 6) + ethernet[6:12] + b"\0\0" + ethernet[12:]
    if link == pcap.LINKTYPE_LINUX_SLL2:
        return (ethernet[12:14] + b"\0\0" + struct.pack("!IHBB", 2, 1, 0, 6) +
                ethernet[6:12] + b"\0\0" + ethernet[14:])
    if link == pcap.LINKTYPE_RAW:
        return ethernet[14:]
    raise ValueError(link)


class DhcpCodecTest(unittest.TestCase):
    """Building and parsing DHCP packets, including malformed ones."""

    def test_captured_frame_rebuilt_byte_for_byte(self):
        frame = next(pcap.read_frames(os.path.join(capture("a-seabios-virtio"), "dhcp.pcap")))
        ip_id = struct.unpack_from("!H", frame.data, 18)[0]
        rebuilt = dhcp.udp_frame(frame.data[42:], src_mac="52:54:00:77:00:01", ip_id=ip_id)
        self.assertEqual(rebuilt, frame.data)

    def test_build_parse_round_trip_with_split_option(self):
        long_value = bytes(range(256)) + b"tail"
        packet = dhcp.build_packet("DISCOVER", xid=0x11223344, chaddr="02:00:00:00:00:01",
                                   options=[(60, "PXEClient"), (175, long_value), (93, b"\0\7")])
        on_wire = [packet[i] for i in range(240, len(packet))]
        self.assertEqual(bytes(on_wire[:3]), b"\x35\x01\x01")
        message = dhcp.parse_packet(packet)
        self.assertEqual(message.msg_type, dhcp.DISCOVER)
        self.assertEqual(message.xid, 0x11223344)
        self.assertEqual(message.chaddr, "02:00:00:00:00:01")
        self.assertEqual(message.options[175], long_value)
        self.assertEqual(message.option_order, [53, 60, 175, 93])
        self.assertEqual(packet.count(b"\xaf\xff"), 1)     # first instance of 175: 255 bytes
        self.assertEqual(message.errors, [])
        self.assertGreaterEqual(len(packet), dhcp.BOOTP_MIN_LEN)

    def test_overload_file_and_sname(self):
        packet = dhcp.build_packet(
            dhcp.OFFER, op=dhcp.BOOTREPLY, xid=1, chaddr="02:00:00:00:00:02",
            options=[(dhcp.OPT_OVERLOAD, 3), (54, dhcp.ip_bytes("10.77.0.1"))],
            file=dhcp.encode_options([(67, "from-file.efi")]),
            sname=dhcp.encode_options([(66, "10.77.0.9"), (60, "PXE")]))
        message = dhcp.parse_packet(packet)
        self.assertEqual((message.file, message.sname), ("", ""))
        self.assertEqual(message.boot_file, "from-file.efi")
        self.assertEqual(message.tftp_server, "10.77.0.9")
        self.assertEqual(message.option_order, [53, 52, 54, 67, 66, 60])

    def test_malformed_packets_parse_without_raising(self):
        no_end = dhcp.build_packet(dhcp.DISCOVER, xid=2, chaddr="02:00:00:00:00:03",
                                   options=[(60, "PXEClient")], end=False, pad_to=0)
        message = dhcp.parse_packet(no_end)
        self.assertEqual(message.vendor_class, "PXEClient")
        self.assertIn("options: no END option", message.errors)
        overrun = dhcp.build_packet(xid=3, chaddr="02:00:00:00:00:04", pad_to=0,
                                    raw_options=b"\x35\x01\x01\x5d\x09\x00\x07")
        message = dhcp.parse_packet(overrun)
        self.assertEqual(message.options[93], b"\x00\x07")
        self.assertTrue(any("runs past the end" in e for e in message.errors))
        garbage_overload = dhcp.build_packet(dhcp.DISCOVER, xid=4, chaddr="02:00:00:00:00:05",
                                             options=[(52, 3)], file=b"\x43\xff" + b"x" * 100)
        message = dhcp.parse_packet(garbage_overload)
        self.assertTrue(message.errors)
        with self.assertRaises(ValueError):
            dhcp.parse_packet(b"\x01" * 100)

    def test_rewrite_substitutes_identity(self):
        request = first_request("a-seabios-virtio")
        packet = dhcp.rewrite_packet(request.raw, xid=0xABCDEF01, chaddr="02:aa:bb:cc:dd:ee",
                                     set_options={50: dhcp.ip_bytes("10.77.0.150"), 97: None})
        message = dhcp.parse_packet(packet)
        self.assertEqual(message.xid, 0xABCDEF01)
        self.assertEqual(message.chaddr, "02:aa:bb:cc:dd:ee")
        self.assertEqual(message.options[61], b"\x01" + dhcp.mac_bytes("02:aa:bb:cc:dd:ee"))
        self.assertEqual(message.opt_ip(50), "10.77.0.150")
        self.assertNotIn(97, message.options)
        self.assertEqual(message.options[175], request.options[175])

    def test_pxe_menu_of_the_proxy_offer(self):
        records = pcap.read_udp(os.path.join(capture(PROXY_CAPTURE), "dhcp.pcap"))
        offer = next(dhcp.parse_packet(r.payload) for r in records if r.src_ip == "10.77.0.1")
        self.assertTrue(offer.is_proxy_offer)
        pxe = offer.pxe
        self.assertEqual(pxe.discovery_control, 3)
        self.assertEqual(pxe.boot_servers, [(0x8002, ["10.77.0.1"])])
        self.assertEqual(pxe.menu, [(0x8002, "iPXE: script")])
        self.assertEqual(pxe.prompt, (0, "proxyDHCP menu"))
        self.assertEqual(dhcp.parse_pxe_options(dhcp.pxe_boot_item(0x8002)).boot_item, (0x8002, 0))


# ------------------------------------------------------------ namespaces
@testing.needs_namespaces
class TopologyTest(unittest.TestCase):
    """Topologies are isolated from each other and leave nothing behind."""

    def test_parallel_topologies_are_isolated_and_cleaned_up(self):
        with Topology(clients=2, peers=("10.77.0.2/24",), taps=1) as one, Topology() as two:
            self.assertNotEqual(one.prefix, two.prefix)
            sockets = []
            for topo in (one, two):
                server = topo.server.ns.socket()
                server.bind(("10.77.0.1", 9999))
                server.settimeout(5)
                sockets.append(server)
                topo.client.set_ip("10.77.0.50")
            for index, topo in enumerate((one, two)):
                sender = topo.client.ns.socket()
                sender.sendto(f"hello {index}".encode(), ("10.77.0.1", 9999))
                sender.close()
            self.assertEqual(sockets[0].recvfrom(100)[0], b"hello 0")
            self.assertEqual(sockets[1].recvfrom(100)[0], b"hello 1")
            peer_socket = one.peer.ns.socket()
            peer_socket.bind(("10.77.0.2", 9999))
            peer_socket.settimeout(5)
            sender = one.client_nodes[1].ns.socket()
            sender.bind(("0.0.0.0", 0))
            one.client_nodes[1].set_ip("10.77.0.51")
            sender.sendto(b"to peer", ("10.77.0.2", 9999))
            self.assertEqual(peer_socket.recvfrom(100),
                             (b"to peer", ("10.77.0.51", sender.getsockname()[1])))
            self.assertIn("master br0", one.server.ns.ip("link", "show", "tap0"))
            with tempfile.TemporaryDirectory() as tmp:
                sleeper = one.server.ns.start(["sleep", "300"], os.path.join(tmp, "sleep.log"))
            for s in sockets + [peer_socket, sender]:
                s.close()
        self.assertEqual(namespaces_with_prefix(one.prefix), [])
        self.assertEqual(namespaces_with_prefix(two.prefix), [])
        self.assertFalse(sleeper.running())
        self.assertFalse(os.path.exists(f"/proc/{sleeper.pid}/status") and
                         "sleep" in open(f"/proc/{sleeper.pid}/comm").read())

    def test_cleanup_on_exception(self):
        with self.assertRaises(RuntimeError):
            with Topology(clients=1) as topo:
                prefix = topo.prefix
                self.assertTrue(namespaces_with_prefix(prefix))
                raise RuntimeError("boom")
        self.assertEqual(namespaces_with_prefix(prefix), [])

    def test_run_reports_output_and_failure(self):
        with Topology(clients=1) as topo:
            self.assertIn("br0", topo.server.ns.run(["ip", "-o", "link"]))
            self.assertNotIn("br0", topo.client.ns.run(["ip", "-o", "link"]))
            with self.assertRaises(Exception):
                topo.client.ns.run(["ip", "link", "show", "br0"])


# --------------------------------------------------------------- dnsmasq
@testing.needs_namespaces
@unittest.skipUnless(HAVE_DNSMASQ, NEED_DNSMASQ)
class CaptureReplayTest(unittest.TestCase):
    """Each capture's requests replayed against dnsmasq with its own config."""

    def test_every_capture_replays_identically(self):
        names = [os.path.basename(d.rstrip("/")) for d in CAPTURE_DIRS
                 if replay.has_dhcpv4_reply(d)]
        self.assertGreaterEqual(len(names), 5)
        with concurrent.futures.ThreadPoolExecutor(len(names)) as pool:
            futures = {name: pool.submit(replay.replay_capture, capture(name), DNSMASQ)
                       for name in names}
        for name, future in futures.items():
            with self.subTest(capture=name):
                run = future.result()
                self.assertTrue(run.exchanges)
                self.assertEqual(len(run.replayed), len(run.exchanges), "replay stopped early")
                for item in run.replayed:
                    self.check_exchange(item, "\n".join(run.log_lines))
                if name == PROXY_CAPTURE:
                    boot = [r for r in run.replayed if r.exchange.dst_port == 4011]
                    self.assertEqual(len(boot), 1, "the 4011 boot-server request is replayed")
                    self.assertEqual(boot[0].replies[0].boot_file, "http://10.77.0.1/boot.ipxe")
                    self.assertEqual(boot[0].replies[0].pxe.boot_item, (0x8002, 0))

    def check_exchange(self, item, log):
        """Every captured reply came back with the same boot data and options."""
        request = item.exchange.request
        label = f"{request.msg_name} xid {request.xid:#x} -> port {item.exchange.dst_port}"
        got = {r.server_id: r for r in item.replies}
        for want in item.exchange.replies:
            have = got.get(want.server_id)
            self.assertIsNotNone(have, f"{label}: no {want.msg_name} from {want.server_id}\n{log}")
            self.assertEqual(have.msg_name, want.msg_name, label)
            self.assertEqual(have.boot_file, want.boot_file, f"{label}: boot file")
            self.assertEqual(have.vendor_class, want.vendor_class, f"{label}: option 60 echo")
            self.assertEqual(have.pxe, want.pxe, f"{label}: option 43 PXE menu")
            self.assertEqual(replay.compare_replies(want, have), [], label)

    def test_replay_notices_a_different_answer(self):
        # the loop capture's config hands out undionly.kpxe; hand out ipxe.efi
        run = replay.replay_capture(
            capture("e3-loop-fast-seabios-virtio"), DNSMASQ,
            edit_config=lambda config: set_config_option(config, "dhcp-boot", "ipxe.efi"))
        diffs = [d for item in run.replayed for d in replay.compare_exchange(item)]
        self.assertTrue(diffs)
        self.assertTrue(any("option 67" in d for d in diffs), diffs)


@testing.needs_namespaces
@unittest.skipUnless(HAVE_DNSMASQ, NEED_DNSMASQ)
class BootClientTest(unittest.TestCase):
    """Scripted boot clients: transactions, proxyDHCP with 4011, TFTP and HTTP."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = self.tmp.name
        self.files = {"ipxe.efi": os.urandom(1468 * 5),         # exact multiple of blksize
                      "undionly.kpxe": os.urandom(70001),
                      "boot.ipxe": b"#!ipxe\necho reached the script\n"}
        for name, data in self.files.items():
            with open(os.path.join(self.root, name), "wb") as f:
                f.write(data)

    def tearDown(self):
        self.tmp.cleanup()

    @contextlib.contextmanager
    def capture_a_scene(self):
        """One client, dnsmasq with capture a's config serving the test's
        files (no ping), a DhcpClient: yields (topology, dnsmasq, client)."""
        with Topology(clients=1) as topo, \
                Dnsmasq(DNSMASQ, topo.server.ns,
                        capture_config("a-seabios-virtio", self.root, topo.bridge,
                                       ["no-ping"])) as server, \
                dhcp.DhcpClient(topo.client) as client:
            yield topo, server, client

    def test_uefi_pxe_gets_ipxe_efi_then_fetches_it_by_tftp(self):
        identity = first_request("c2-ovmf-virtio-norom").identity_options()
        with self.capture_a_scene() as (topo, server, client):
            result = client.transaction(identity, set_address=True)
            self.assertEqual(result.boot_file, "ipxe.efi")
            self.assertEqual(result.ack.yiaddr, result.offer.yiaddr)
            self.assertEqual(topo.client.ns.addresses("eth0"), [f"{result.address}/24"])
            for blksize in (None, 1468):
                transfer = tftp.tftp_fetch(topo.client.ns, result.next_server, result.boot_file,
                                           blksize=blksize, tsize=True)
                self.assertEqual(transfer.data, self.files["ipxe.efi"])
                self.assertEqual(transfer.options.get("tsize"), str(len(self.files["ipxe.efi"])))
            self.assertEqual(transfer.options.get("blksize"), "1468")
            self.assertEqual(transfer.blocks, 6)     # 5 full blocks + the empty last one
            with self.assertRaises(tftp.TftpError) as missing:
                tftp.tftp_get(topo.client.ns, "10.77.0.1", "no-such-file")
            self.assertEqual(missing.exception.code, 1)
            server.wait_log(r"sent .*ipxe\.efi to " + result.address.replace(".", r"\."))

    def test_ipxe_gets_the_script_url_and_fetches_it_by_http(self):
        identity = first_request("a-seabios-virtio").identity_options()
        with self.capture_a_scene() as (topo, _, client), \
                HttpFileServer(topo.server.ns, self.root) as web:
            result = client.transaction(identity, set_address=True)
            self.assertEqual(result.boot_file, "http://10.77.0.1/boot.ipxe")
            response = http_get(topo.client.ns, result.boot_file)
            self.assertEqual((response.status, response.body), (200, self.files["boot.ipxe"]))
            self.assertEqual(http_get(topo.client.ns, "http://10.77.0.1/nothing").status, 404)
            self.assertEqual(web.requests, [("GET", "/boot.ipxe", 200), ("GET", "/nothing", 404)])

    def test_proxy_dhcp_with_boot_server_request_on_4011(self):
        ipxe = first_request(PROXY_CAPTURE).identity_options()
        pxe_rom = [(code, value) for code, value in ipxe if code not in (77, 175)]
        recording = os.path.join(self.root, "proxy.pcap")
        with Topology(clients=2, peers=("10.77.0.2/24",)) as topo, \
                Dnsmasq(DNSMASQ, topo.server.ns,
                        capture_config(PROXY_CAPTURE, self.root, topo.bridge)) as proxy, \
                Dnsmasq(DNSMASQ, topo.peer.ns, replay.PLAIN_DHCP_CONFIG + "no-ping\n"), \
                PacketRecorder(topo.server.ns, topo.bridge, recording):
            cases = [(topo.client_nodes[0], ipxe, "PXEClient", "http://10.77.0.1/boot.ipxe"),
                     (topo.client_nodes[1], pxe_rom, None, "undionly.kpxe")]
            for node, identity, boot_class, boot_file in cases:
                with self.subTest(boot_file=boot_file), dhcp.DhcpClient(node) as client:
                    result = client.proxy_transaction(identity, boot_vendor_class=boot_class)
                    self.assertEqual(result.ack.server_id, "10.77.0.2")
                    self.assertEqual(result.proxy_offer.server_id, "10.77.0.1")
                    self.assertEqual(result.proxy_offer.pxe.boot_servers[0][1], ["10.77.0.1"])
                    self.assertEqual(result.boot_ack.src_port, 4011)
                    self.assertEqual(result.boot_ack.boot_file, boot_file)
                    self.assertEqual(result.boot_file, boot_file)
                    self.assertEqual(node.ns.addresses("eth0"), [f"{result.address}/24"])
                    proxy.wait_log(r"PXE\(br0\) " + re.escape(f"{result.address} {client.mac} "
                                                           f"{boot_file}"))
        # the bridge recording has the same shape as the real proxy capture
        shape = [(e.request.msg_name, e.dst_port, sorted(e.server_ids))
                 for e in replay.load_exchanges(recording)]
        conversation = [("DISCOVER", 67, ["10.77.0.1", "10.77.0.2"]),
                        ("REQUEST", 67, ["10.77.0.2"]), ("REQUEST", 4011, ["10.77.0.1"])]
        self.assertEqual(shape, conversation * 2)


if __name__ == "__main__":
    testing.main()
