#!/usr/bin/env python3
"""Tests of `pxeclass watch` on a veth pair: the frames of a real capture
are sent, as captured, from one end ("replay" namespace) while watch
listens on the other ("watch" namespace).  Its lines must be explain's
for the same capture (explain --json of the file is the reference: the
same code prints both), with the e3 loop's chain hops and the guard
tripping at the fifth stage, and DHCPv6 requests of g3 with family
ipv6; and watch must send nothing (frames counted on the replay end,
the watch end's transmit counter read).  Needs root (namespaces): a
skip fails the test command.

Run:  PXC_CLI=build/tools/pxeclass python3 tests/net/test_watch.py -v
"""

import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools"))

from pxelab import pcap, testing                  # noqa: E402
from pxelab.netns import Netns, run_host, unique_prefix  # noqa: E402

PXECLASS = os.environ.get("PXC_CLI", os.path.join(ROOT, "build", "tools", "pxeclass"))
CAPTURES = os.path.join(ROOT, "tests", "captures")
LOOP = "e3-loop-fast-seabios-virtio"
DUALSTACK = "g3-seabios-ipxe-dualstack"
IFACE = "eth0"
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
# The capture's gaps, scaled: the e3 loop's 44 s replay in about 2 s,
# in order, a few ms apart at least.
TIME_SCALE = 0.05
MIN_GAP = 0.003
# Keys that say where and when a line was seen: the file's frame number
# and time differ from the live ones, and the chain history's offsets
# shrink with the replay's gaps.
PLACE_KEYS = ("file", "iface", "frame", "time")
# Capture rights and nothing more: every capability but CAP_NET_RAW out
# of the bounding set (the uid stays, so the build tree stays readable).
ONLY_NET_RAW = ("setpriv", "--bounding-set=-all,+net_raw")
NO_CAPS = ("setpriv", "--bounding-set=-all")

CONFIG = """\
dhcp-range=10.77.0.100,10.77.0.199,10m
dhcp-chain-guard=3,60,set:looping
dhcp-ipxe-own=chained
dhcp-pxe-class=set:ipxe,ipxe-vendor
"""


def capture(name):
    """Path of a capture's pcap."""
    return os.path.join(CAPTURES, name, "dhcp.pcap")


def explain_json(config, path):
    """explain --json of a capture file: the reference lines."""
    out = subprocess.run([PXECLASS, "explain", "--json", "--config", config, path],
                         check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines()]


def comparable(line):
    """A JSON line without its place and time (see PLACE_KEYS)."""
    line = {k: v for k, v in line.items() if k not in PLACE_KEYS}
    if line.get("chain"):
        line["chain"] = {k: v for k, v in line["chain"].items() if k != "history"}
    return line


def ethernet_frames(path):
    """(time, bytes) of every frame of an Ethernet capture."""
    frames = list(pcap.read_frames(path))
    assert all(f.linktype == pcap.LINKTYPE_ETHERNET for f in frames), path
    return [(f.ts, f.data) for f in frames]


def vlan_tagged(frame, vid, tpid=0x8100):
    """FRAME with a VLAN tag (802.1Q, or TPID's) of VLAN VID after its
    MAC addresses."""
    return frame[:12] + struct.pack("!HH", tpid, vid) + frame[12:]


def tx_packets(ns):
    """Frames the kernel counted as sent on IFACE in namespace NS."""
    stats = json.loads(ns.ip("-s", "-j", "link", "show", "dev", IFACE))
    return stats[0]["stats64"]["tx"]["packets"]


class FrameCounter:
    """Counts the frames arriving (not leaving) at IFACE of namespace NS:
    on the replay end, whatever the watch end sends."""

    def __init__(self, ns):
        self.sock = ns.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.sock.bind((IFACE, ETH_P_ALL))
        self.sock.setblocking(False)
        self.frames = []

    def drain(self):
        """Read what has arrived; the frames received so far."""
        while True:
            try:
                data, addr = self.sock.recvfrom(65535)
            except BlockingIOError:
                return self.frames
            if addr[2] != PACKET_OUTGOING:
                self.frames.append(data)

    def close(self):
        self.sock.close()


class Watch:
    """pxeclass watch ARGS… IFACE running in namespace NS with RIGHTS
    (a command prefix: CAP_NET_RAW only by default), stdout and stderr
    kept apart; started when its "listening" line came."""

    def __init__(self, ns, *args, rights=ONLY_NET_RAW):
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", ns.name, *rights, PXECLASS, "watch", *args, IFACE],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, start_new_session=True)
        self.stderr = []
        ready, _, _ = select.select([self.proc.stderr], [], [], 10)
        line = self.proc.stderr.readline() if ready else ""
        self.stderr.append(line)
        if "listening on " + IFACE not in line:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("watch did not start: %r %r" % (line, self.proc.stderr.read()))
        self.lines = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line)

    def wait_lines(self, n, timeout=15):
        """Wait until N lines are out (or TIMEOUT); the lines so far."""
        end = time.monotonic() + timeout
        while len(self.lines) < n and time.monotonic() < end:
            time.sleep(0.05)
        return list(self.lines)

    def finish(self, timeout=20):
        """Wait for the exit; (status, stdout lines, stderr text)."""
        try:
            status = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise
        self._reader.join(5)
        stderr = "".join(self.stderr) + self.proc.stderr.read()
        self.close()
        return status, list(self.lines), stderr

    def close(self):
        """Close the pipes (once the reader is done)."""
        self.proc.stdout.close()
        self.proc.stderr.close()

    def stop(self):
        """Kill it if a failed test left it running (by its pid only)."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            self._reader.join(5)
        self.close()


@testing.needs_namespaces
class WatchOnVeth(unittest.TestCase):
    """A veth pair between two namespaces: watch on one end, the replay
    on the other.  IPv6 is off on both before the link exists, so the
    kernel sends nothing on its own (no router solicitation, no DAD):
    every frame arriving at the replay end would be watch's."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="pxc-watch-")
        self.config = os.path.join(self.tmp, "dnsmasq.conf")
        with open(self.config, "w") as f:
            f.write(CONFIG)
        prefix = unique_prefix()
        self.watch_ns, self.replay_ns = Netns(prefix + "s"), Netns(prefix + "c0")
        self.watches = []
        for ns in (self.watch_ns, self.replay_ns):
            ns.create()
            self.addCleanup(ns.delete)
            for scope in ("all", "default"):
                ns.run(["sysctl", "-qw", "net.ipv6.conf.%s.disable_ipv6=1" % scope])
        run_host(["ip", "link", "add", "name", IFACE, "netns", self.watch_ns.name,
                  "type", "veth", "peer", "name", IFACE, "netns", self.replay_ns.name])
        for ns in (self.watch_ns, self.replay_ns):
            ns.ip("link", "set", IFACE, "up")
        self.sender = self.replay_ns.socket(socket.AF_PACKET, socket.SOCK_RAW)
        self.sender.bind((IFACE, 0))
        self.addCleanup(self.sender.close)
        self.counter = FrameCounter(self.replay_ns)
        self.addCleanup(self.counter.close)
        self.tx_before = tx_packets(self.watch_ns)

    def tearDown(self):
        for watch in self.watches:
            watch.stop()

    def start_watch(self, *args):
        watch = Watch(self.watch_ns, *args)
        self.watches.append(watch)
        return watch

    def replay(self, frames):
        """Send FRAMES ((time, bytes)) from the replay end, the capture's
        gaps scaled by TIME_SCALE."""
        previous = frames[0][0] if frames else 0
        for ts, data in frames:
            time.sleep(max((ts - previous) * TIME_SCALE, MIN_GAP))
            previous = ts
            self.sender.send(data)

    def assert_sent_nothing(self):
        """Nothing reached the replay end and the watch end sent nothing;
        then a probe sent from the watch end shows both would see it."""
        time.sleep(0.2)
        self.assertEqual(self.counter.drain(), [])
        self.assertEqual(tx_packets(self.watch_ns), self.tx_before)
        probe = self.watch_ns.socket(socket.AF_PACKET, socket.SOCK_RAW)
        try:
            probe.bind((IFACE, 0))
            probe.send(b"\xff" * 6 + b"\x02\x00\x00\x00\x00\x01" + b"\x88\xb5" + b"probe" * 10)
        finally:
            probe.close()
        time.sleep(0.2)
        self.assertEqual(len(self.counter.drain()), 1)
        self.assertEqual(tx_packets(self.watch_ns), self.tx_before + 1)

    def watch_capture(self, name):
        """Replay capture NAME under watch --json --count (its requests);
        (watch's lines as JSON, explain's for the file, stderr)."""
        expected = explain_json(self.config, capture(name))
        watch = self.start_watch("--json", "--config", self.config,
                                 "--count", str(len(expected)))
        self.replay(ethernet_frames(capture(name)))
        status, lines, stderr = watch.finish()
        self.assertEqual(status, 0, stderr)
        return [json.loads(line) for line in lines], expected, stderr

    def test_loop_capture(self):
        """The e3 loop: every request as explain prints it, the hops
        climbing stage by stage and the guard tripping at the fifth."""
        got, expected, stderr = self.watch_capture(LOOP)
        self.assertEqual(len(got), 18)
        self.assertEqual([comparable(g) for g in got], [comparable(e) for e in expected])
        self.assertTrue(all(g["iface"] == IFACE and "file" not in g for g in got))
        self.assertEqual({g["class"] for g in got}, {"ipxe"})
        self.assertEqual({g["family"] for g in got}, {"ipv4"})
        self.assertEqual([g["chain"]["hops"] for g in got[::3]], [0, 1, 2, 3, 4, 5])
        self.assertEqual([g["own"] for g in got[::3]], [False, True, False, True, False, True])
        looping = [g["chain"]["looping"] for g in got]
        self.assertEqual(looping.index(True), 12)
        self.assertTrue(all(looping[12:]))
        self.assertEqual(got[12]["tags"], ["looping", "ipxe"])
        self.assertEqual(got[-1]["chain"]["history"].split()[0], "ipxe/vendor@0s>undionly.kpxe")
        self.assertEqual(len(got[-1]["chain"]["history"].split()), 6)
        self.assertIn("eth0: 18 requests, 1 client, 2 loops", stderr)
        self.assert_sent_nothing()

    def test_dualstack_capture(self):
        """g3: DHCPv4 and DHCPv6 requests, the v6 ones with family ipv6
        and the MAC taken from the frame, as explain prints them."""
        got, expected, stderr = self.watch_capture(DUALSTACK)
        self.assertEqual([comparable(g) for g in got], [comparable(e) for e in expected])
        self.assertEqual([(g["family"], g["msg"]) for g in got],
                         [("ipv4", "DISCOVER"), ("ipv6", "SOLICIT"), ("ipv6", "REQUEST"),
                          ("ipv4", "DISCOVER"), ("ipv4", "REQUEST")])
        self.assertEqual({g["class"] for g in got}, {"ipxe"})
        v6 = [g for g in got if g["family"] == "ipv6"]
        self.assertTrue(all(g["mac"] == "52:54:00:77:00:01" and g["duid"] for g in v6))
        self.assertTrue(all(g["port"] == 547 for g in v6))
        self.assertIn("eth0: 5 requests, 1 client, 0 loops", stderr)
        self.assert_sent_nothing()

    def test_text_lines_and_sigterm(self):
        """Without --json the lines are explain's text; SIGTERM ends the
        watch with its summary, status 0."""
        frames = ethernet_frames(capture(LOOP))
        watch = self.start_watch("--config", self.config)
        self.replay(frames[:6])
        lines = watch.wait_lines(1)
        self.assertTrue(lines and lines[0].startswith("eth0 #1  +0.000s  52:54:00:77:00:01"),
                        lines)
        time.sleep(0.5)
        os.kill(watch.proc.pid, signal.SIGTERM)
        status, lines, stderr = watch.finish()
        self.assertEqual(status, 0, stderr)
        text = "".join(lines)
        self.assertEqual(text.count("  class ipxe (vendor)"), 3)
        self.assertIn("chain: new stage 1, 0 hops within 60s", text)
        self.assertIn("eth0: 3 requests, 1 client, 0 loops", stderr)
        self.assert_sent_nothing()

    def test_vlan_tagged_frames(self):
        """Requests under an 802.1Q tag pass the capture filter too."""
        frames = [(ts, vlan_tagged(data, 77)) for ts, data in ethernet_frames(capture(LOOP))]
        watch = self.start_watch("--json", "--count", "2")
        self.replay(frames[:3])
        status, lines, stderr = watch.finish()
        self.assertEqual(status, 0, stderr)
        got = [json.loads(line) for line in lines]
        self.assertEqual([g["msg"] for g in got], ["DISCOVER", "DISCOVER"])
        self.assertIsNone(got[0]["chain"])  # no config, no tracker

    def test_qinq_tagged_frames(self):
        """Under two tags (802.1ad outside 802.1Q) too: the kernel takes
        the outer one off, the inner one stays in the frame the filter
        reads."""
        frames = [(ts, vlan_tagged(vlan_tagged(data, 77), 100, 0x88a8))
                  for ts, data in ethernet_frames(capture(LOOP))]
        watch = self.start_watch("--json", "--count", "2")
        self.replay(frames[:3])
        status, lines, stderr = watch.finish()
        self.assertEqual(status, 0, stderr)
        self.assertEqual([json.loads(line)["msg"] for line in lines], ["DISCOVER", "DISCOVER"])

    def test_seconds_ends_a_quiet_watch(self):
        """--seconds stops a watch that saw nothing, with its summary."""
        start = time.monotonic()
        watch = self.start_watch("--seconds", "1")
        status, lines, stderr = watch.finish()
        self.assertEqual(status, 0, stderr)
        self.assertLess(time.monotonic() - start, 5)
        self.assertEqual(lines, [])
        self.assertIn("eth0: 0 requests, 0 clients, 0 loops", stderr)


    def test_needs_capture_rights(self):
        """Without CAP_NET_RAW watch says so and ends, status 1."""
        p = subprocess.run(["ip", "netns", "exec", self.watch_ns.name, *NO_CAPS, PXECLASS,
                            "watch", "--seconds", "1", IFACE], capture_output=True, text=True)
        self.assertEqual(p.returncode, 1)
        self.assertIn("eth0: no capture rights (needs CAP_NET_RAW)", p.stderr)


class WatchArguments(unittest.TestCase):
    """What needs no namespace: the usage errors."""

    def run_watch(self, *args):
        return subprocess.run([PXECLASS, "watch", *args], capture_output=True, text=True)

    def test_usage(self):
        self.assertEqual(self.run_watch().returncode, 2)
        self.assertEqual(self.run_watch("a", "b").returncode, 2)
        p = self.run_watch("--count", "0", "lo")
        self.assertEqual(p.returncode, 2)
        self.assertIn("--count needs a positive number", p.stderr)
        self.assertEqual(self.run_watch("--seconds", "x", "lo").returncode, 2)
        p = self.run_watch("--help")
        self.assertEqual(p.returncode, 0)
        self.assertIn("never sends", p.stdout)

    def test_unknown_interface(self):
        p = self.run_watch("--seconds", "1", "pxcnosuch0")
        self.assertEqual(p.returncode, 1)
        self.assertIn("pxeclass watch: pxcnosuch0", p.stderr)


if __name__ == "__main__":
    testing.main()
