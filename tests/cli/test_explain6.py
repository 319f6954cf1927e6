#!/usr/bin/env python3
"""Tests of `pxeclass explain` on DHCPv6: pcaps of IPv6/UDP (Ethernet,
with extension headers, Linux cooked, raw IPv6), relayed messages, text
and JSON output, --hex with its DHCPv4/DHCPv6 rule and --v4/--v6, and the
chain tracker fed only requests with a MAC.  The messages follow the
layouts of shared/research/dhcpv6.md §2 (EDK2 PxeBcDhcp6.c, iPXE
dhcpv6.c, U-Boot net/dhcpv6.c)."""
import json
import os
import struct
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from pxelab import testing  # noqa: E402

PXECLASS = os.environ.get("PXC_CLI", "build/tools/pxeclass")
CAPTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "captures")

CLIENT_MAC = bytes.fromhex("525400770001")
RELAY_MAC = bytes.fromhex("5254000000aa")
SERVER_MAC = bytes.fromhex("525400000001")
CLIENT_LL = bytes.fromhex("fe80000000000000505400fffe770001")
SERVER_IP = bytes.fromhex("fd770000000000000000000000000001")
ALL_SERVERS = bytes.fromhex("ff020000000000000000000000010002")
UUID = "00112233-4455-6677-8899-aabbccddeeff"


def opt(code, data):
    return struct.pack(">HH", code, len(data)) + data


def vendor_class(enterprise, text):
    t = text.encode()
    return opt(16, struct.pack(">IH", enterprise, len(t)) + t)


def ipxe_solicit():
    """iPXE dhcpv6_tx(): 1, 3, 6, 16, 61, 62, 15, 8 (f3's iPXE SOLICIT)."""
    return (bytes([1]) + bytes.fromhex("5985f4")
            + opt(1, bytes.fromhex("000400112233445566778899aabbccddeeff"))
            + opt(3, struct.pack(">III", 0xaa6c8eb4, 0, 0))
            + opt(6, struct.pack(">4H", 23, 24, 59, 60))
            + vendor_class(343, "PXEClient:Arch:00007:UNDI:003010")
            + opt(61, struct.pack(">H", 7)) + opt(62, bytes([1, 3, 10]))
            + opt(15, struct.pack(">H", 4) + b"iPXE") + opt(8, b"\0\0"))


def edk2_solicit():
    """EDK2 PxeBcBuildDhcp6Options() + Dhcp6Dxe: 1, 8, 3, 6, 62, 61, 16."""
    return (bytes([1]) + bytes.fromhex("640da6")
            + opt(1, bytes.fromhex("000433221100554477668899aabbccddeeff"))
            + opt(8, b"\0\0") + opt(3, struct.pack(">III", 0x776c5fdf, 0xffffffff, 0xffffffff))
            + opt(6, struct.pack(">4H", 59, 60, 23, 16)) + opt(62, bytes([1, 3, 0]))
            + opt(61, struct.pack(">H", 7))
            + vendor_class(343, "PXEClient:Arch:00007:UNDI:003000"))


def advertise():
    return bytes([2]) + bytes.fromhex("640da6") + opt(59, b"tftp://[fd77::1]/ipxe.efi")


def relay_forw(inner, extra=b""):
    return (bytes([12, 0]) + bytes.fromhex("20010db8000000000000000000000011")
            + CLIENT_LL + extra + opt(9, inner))


def udp6(src, dst, sport, dport, payload, ext=b""):
    """An IPv6 packet carrying UDP; EXT: extension headers, the first
    one's next-header already pointing at UDP (17)."""
    udp = struct.pack(">HHHH", sport, dport, 8 + len(payload), 0) + payload
    first = 0 if ext else 17  # hop-by-hop first, if any
    return (struct.pack(">IHBB", 0x60000000, len(ext) + len(udp), first, 255)
            + src + dst + ext + udp)


def ether(src, ip6):
    return b"\xff" * 6 + src + struct.pack(">H", 0x86dd) + ip6


def pcap(frames, link=1):
    out = struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, link)
    for i, f in enumerate(frames):
        out += struct.pack("<IIII", 1000 + i, 0, len(f), len(f)) + f
    return out


def run(*args, check=True):
    p = subprocess.run([PXECLASS, *args], capture_output=True, text=True)
    if check and p.returncode != 0:
        raise AssertionError("pxeclass %s failed: %s" % (args, p.stderr))
    return p


def explain_json(*args):
    return [json.loads(l) for l in run("explain", "--json", *args).stdout.splitlines()]


class Explain6(testing.TempDirTest):
    def dual_capture(self):
        """EDK2 PXEv6 SOLICIT, the server's ADVERTISE, iPXE's SOLICIT
        (a hop-by-hop header in front of UDP), a relayed iPXE SOLICIT with
        option 79 (relay to server, 547 to 547)."""
        hop_by_hop = bytes([17, 0, 5, 2, 0, 0, 1, 0])  # router alert
        frames = [
            ether(CLIENT_MAC, udp6(CLIENT_LL, ALL_SERVERS, 546, 547, edk2_solicit())),
            ether(SERVER_MAC, udp6(SERVER_IP, CLIENT_LL, 547, 546, advertise())),
            ether(CLIENT_MAC, udp6(CLIENT_LL, ALL_SERVERS, 546, 547, ipxe_solicit(),
                                   hop_by_hop)),
            ether(RELAY_MAC, udp6(SERVER_IP, SERVER_IP, 547, 547,
                                  relay_forw(ipxe_solicit(),
                                             opt(18, b"eth0")
                                             + opt(79, b"\0\x01" + bytes.fromhex("5254007700bb"))))),
        ]
        return self.write("v6.pcap", pcap(frames))

    def test_json_of_each_request(self):
        reqs = explain_json(self.dual_capture())
        self.assertEqual([r["frame"] for r in reqs], [1, 3, 4])  # no ADVERTISE
        edk2, ipxe, relayed = reqs
        for r in reqs:
            self.assertEqual(r["family"], "ipv6")
            self.assertEqual(r["msg"], "SOLICIT")
            self.assertEqual(r["port"], 547)
            self.assertEqual(r["uuid"], UUID)
            self.assertEqual((r["arch"], r["arch_source"]), (7, "option-61"))
            self.assertEqual(r["enterprise"], 343)
            self.assertEqual(r["errors"], [])
        self.assertEqual(edk2["class"], "pxe")
        self.assertEqual(edk2["warnings"], ["uuid-edk2-order"])
        self.assertEqual(edk2["xid"], "0x640da6")
        self.assertEqual(edk2["duid_type"], 4)
        self.assertEqual(edk2["iaid"], "0x776c5fdf")
        self.assertEqual(ipxe["iaid"], "0xaa6c8eb4")
        self.assertEqual(edk2["duid"], "000433221100554477668899aabbccddeeff")
        # sent directly: the frame's source, as dnsmasq's neighbour table
        self.assertEqual((edk2["mac"], edk2["mac_source"]), ("52:54:00:77:00:01", "caller"))
        self.assertIsNone(edk2["relay"])
        self.assertEqual(ipxe["class"], "ipxe")
        self.assertEqual(ipxe["user_classes"], ["iPXE"])
        self.assertIsNone(ipxe["ipxe_version"])
        self.assertIsNone(ipxe["features"])  # unknown without 175, not none
        self.assertIsNone(ipxe["busid"])
        self.assertEqual(ipxe["undi"], "3.10")
        # relayed: the MAC of option 79, never the relay's frame
        self.assertEqual((relayed["mac"], relayed["mac_source"]), ("52:54:00:77:00:bb", "relay"))
        self.assertEqual(relayed["relay"], {"depth": 1, "link_address": "2001:db8::11",
                                            "peer_address": "fe80::5054:ff:fe77:1",
                                            "interface_id": b"eth0".hex()})
        self.assertEqual(relayed["class"], "ipxe")

    def test_text_output(self):
        out = run("explain", self.dual_capture()).stdout
        self.assertIn("xid 0x640da6  SOLICIT  port 547  DHCPv6", out)
        self.assertIn("  class pxe  arch 7 efi-x64", out)
        self.assertIn("uuid %s" % UUID, out)
        self.assertIn("mac from caller", out)
        self.assertIn("relay 1 deep  link 2001:db8::11  peer fe80::5054:ff:fe77:1"
                      "  interface-id eth0", out)
        self.assertIn("ipxe: version, features and bus id unknown", out)
        self.assertIn("warning: uuid-edk2-order", out)
        self.assertNotIn("ADVERTISE", out)

    def test_dhcpv4_captures_unchanged_by_v6(self):
        r = explain_json(os.path.join(CAPTURES, "a-seabios-virtio", "dhcp.pcap"))[0]
        self.assertEqual((r["family"], r["mac_source"]), ("ipv4", "chaddr"))
        self.assertEqual(r["xid"], "0x7faf941a")
        self.assertIsNone(r["relay"])
        self.assertIsNone(r["duid"])
        self.assertIsNone(r["iaid"])
        self.assertEqual(r["arch_source"], "option-93")
        self.assertIsInstance(r["features"], list)

    def test_real_capture_g3_dual_stack(self):
        """QEMU's BIOS iPXE ROM asking both families at once (branch
        v6cap's g3): both requests of one client, one class and arch."""
        reqs = explain_json(os.path.join(CAPTURES, "g3-seabios-ipxe-dualstack", "dhcp.pcap"))
        self.assertEqual([(r["family"], r["msg"]) for r in reqs],
                         [("ipv4", "DISCOVER"), ("ipv6", "SOLICIT"), ("ipv6", "REQUEST"),
                          ("ipv4", "DISCOVER"), ("ipv4", "REQUEST")])
        for r in reqs:
            self.assertEqual((r["class"], r["arch"], r["undi"], r["uuid"], r["mac"]),
                             ("ipxe", 0, "2.1", UUID, "52:54:00:77:00:01"))
            self.assertEqual(r["errors"], [])
        self.assertEqual(reqs[1]["mac_source"], "caller")

    def test_linux_cooked_and_raw_ipv6(self):
        ip = udp6(CLIENT_LL, ALL_SERVERS, 546, 547, ipxe_solicit())
        sll = struct.pack(">HHH8sH", 0, 1, 6, CLIENT_MAC + b"\0\0", 0x86dd) + ip
        r = explain_json(self.write("sll.pcap", pcap([sll], link=113)))[0]
        self.assertEqual((r["class"], r["mac"], r["mac_source"]),
                         ("ipxe", "52:54:00:77:00:01", "caller"))
        r = explain_json(self.write("raw.pcap", pcap([ip], link=229)))[0]
        self.assertEqual((r["class"], r["mac"], r["mac_source"]), ("ipxe", "", "none"))

    def chain_conf(self):
        return self.write("d.conf", "dhcp-pxe-class=set:fw,pxe\n"
                                    "dhcp-ipxe-own=chained\n"
                                    "dhcp-pxe-class=set:own,ipxe-own\n"
                                    "dhcp-chain-guard=3,60\n")

    def capture_json(self, name):
        return explain_json("--config", self.chain_conf(),
                            os.path.join(CAPTURES, name, "dhcp.pcap"))

    def test_g1_pxev6_to_ipxe_is_one_chain(self):
        """g1: EDK2 PXEv6 is handed ipxe.efi by option 59 (a REPLY with an
        address); its RELEASEs and its IP stack's bare SOLICIT/REQUEST
        neither begin a stage nor end the chain; iPXE's DISCOVER is the
        hop (follows a chainload, so `chained` makes it ours) and its
        SOLICIT, 0.013 s later, the same stage, handed boot.ipxe."""
        reqs = self.capture_json("g1-ovmf-pxev6")
        pxe = [r for r in reqs if r["class"] == "pxe"]
        self.assertEqual([(r["family"], r["chain"]["new_stage"]) for r in pxe],
                         [("ipv6", True), ("ipv6", False)])
        self.assertEqual(pxe[1]["chain"]["history"], "pxe@0s>ipxe.efi")
        bare = [r for r in reqs if r["class"] == "none"]
        self.assertEqual(len(bare), 4)  # Ip6Config SOLICIT, REQUEST; 2 RELEASEs
        self.assertTrue(all(not r["chain"]["tracked"] for r in bare))
        ipxe = [r for r in reqs if r["class"] == "ipxe"]
        self.assertEqual([r["family"] for r in ipxe[:3]], ["ipv4", "ipv6", "ipv6"])
        self.assertEqual([r["chain"]["new_stage"] for r in ipxe],
                         [True] + [False] * (len(ipxe) - 1))
        self.assertTrue(all(r["chain"]["follows_chainload"] for r in ipxe))
        self.assertTrue(all(r["tags"] == ["own"] for r in ipxe))
        self.assertTrue(all(r["chain"]["hops"] == 1 for r in ipxe))
        self.assertRegex(ipxe[-1]["chain"]["history"],
                         r"^pxe@0s>ipxe\.efi ipxe/own@1[89]s>boot\.ipxe$")
        out = run("explain", "--config", self.chain_conf(),
                  os.path.join(CAPTURES, "g1-ovmf-pxev6", "dhcp.pcap")).stdout
        self.assertNotIn("rebooted", out)
        self.assertNotIn("new chain", out.split("ipxe.efi", 1)[1])

    def test_g3_dual_stack_is_one_stage_v4_file_wins(self):
        """g3: QEMU's iPXE ROM asks DHCPv4 and DHCPv6 at once: one stage,
        handed the DHCPv4 file (boot.ipxe), not the v6 boot6.ipxe."""
        reqs = self.capture_json("g3-seabios-ipxe-dualstack")
        self.assertEqual({r["family"] for r in reqs}, {"ipv4", "ipv6"})
        self.assertEqual([r["chain"]["new_stage"] for r in reqs],
                         [True] + [False] * (len(reqs) - 1))
        self.assertTrue(all(r["chain"]["stages"] == 1 for r in reqs))
        self.assertEqual(reqs[-1]["chain"]["history"], "ipxe/vendor@0s>boot.ipxe")

    def test_g3b_v6_file_counts_when_v4_gives_none(self):
        reqs = self.capture_json("g3b-seabios-ipxe-v6only")
        self.assertEqual([r["chain"]["new_stage"] for r in reqs],
                         [True] + [False] * (len(reqs) - 1))
        self.assertEqual(reqs[-1]["chain"]["history"], "ipxe/vendor@0s>boot.ipxe")

    def test_g2_httpv6_retries_the_httpv4_stage(self):
        """g2: HTTP Boot over IPv4 times out, then over IPv6: the same
        stage, not a reboot; iPXE follows the ipxe.efi of option 59."""
        reqs = self.capture_json("g2-ovmf-httpv6")
        http = [r for r in reqs if r["class"] == "http-boot"]
        self.assertEqual([r["chain"]["new_stage"] for r in http],
                         [True] + [False] * (len(http) - 1))
        self.assertFalse(any(r["chain"]["rebooted"] for r in reqs))
        ipxe = [r for r in reqs if r["class"] == "ipxe"]
        self.assertTrue(ipxe[0]["chain"]["new_stage"])
        self.assertTrue(all(r["chain"]["follows_chainload"] for r in ipxe))
        self.assertRegex(ipxe[-1]["chain"]["history"],
                         r"^http-boot@0s>ipxe\.efi ipxe/own@\d+s>boot\.ipxe$")

    def test_g2b_advertise_without_request_is_a_handout(self):
        """g2b: the ADVERTISE gave an address and option 59: a hand-out,
        though EDK2 never REQUESTs (it needs the HTTPClient echo)."""
        reqs = self.capture_json("g2b-ovmf-httpv6-noecho")
        http = [r for r in reqs if r["class"] == "http-boot"]
        self.assertEqual(http[-1]["family"], "ipv6")
        self.assertTrue(all(r["chain"]["stages"] == 1 for r in http))

    def test_v6_without_mac_is_keyed_by_uuid(self):
        """A relayed SOLICIT without option 79 names no MAC: keyed by its
        UUID; without a UUID it is not tracked, and the text says why."""
        conf = self.chain_conf()
        out = run("explain", "--config", conf, "--hex", edk2_solicit().hex()).stdout
        self.assertIn("chain: new stage 1", out)
        duid_en = opt(1, bytes.fromhex("00020000015701"))
        no_uuid = edk2_solicit().replace(
            opt(1, bytes.fromhex("000433221100554477668899aabbccddeeff")), duid_en)
        self.assertIn(duid_en, no_uuid)
        out = run("explain", "--config", conf, "--hex", no_uuid.hex()).stdout
        self.assertIn("chain: not tracked (DHCPv6 with no MAC and no UUID to key it by)",
                      out)
    def test_identity_needing_175_is_named(self):
        conf = self.write("own.conf", "dhcp-ipxe-own=user-class:CSTM,feature:https\n"
                                      "dhcp-ipxe-own=chained\n"
                                      "dhcp-ipxe-own=version:>=1.21.1\n")
        out = run("explain", "--config", conf, "--hex", ipxe_solicit().hex()).stdout
        notes = [l for l in out.splitlines() if "note:" in l]
        self.assertEqual(len(notes), 2, out)
        self.assertIn("feature:https", notes[0])
        self.assertIn("never matches over DHCPv6", notes[0])
        self.assertIn("version:>=1.21.1", notes[1])
        out = run("explain", "--config", conf, "--hex", edk2_solicit().hex()).stdout
        self.assertNotIn("note:", out)  # not iPXE

    def test_hex_rule_and_flags(self):
        r = explain_json("--hex", ipxe_solicit().hex())[0]
        self.assertEqual((r["family"], r["class"], r["msg"]), ("ipv6", "ipxe", "SOLICIT"))
        r = explain_json("--hex", relay_forw(edk2_solicit()).hex(":"))[0]
        self.assertEqual((r["family"], r["class"], r["relay"]["depth"]), ("ipv6", "pxe", 1))
        # a DHCPv4 packet (cookie at 236) stays DHCPv4
        with open(os.path.join(CAPTURES, "c2-ovmf-virtio-norom", "dhcp.pcap"), "rb") as f:
            data = f.read()
        payload = data[24 + 16 + 14 + 20 + 8:24 + 16 + struct.unpack("<I", data[32:36])[0]]
        r = explain_json("--hex", payload.hex())[0]
        self.assertEqual((r["family"], r["class"]), ("ipv4", "pxe"))
        # the flags override the rule
        r = explain_json("--v4", "--hex", ipxe_solicit().hex())[0]
        self.assertEqual(r["family"], "ipv4")
        self.assertIn("short", r["errors"])
        r = explain_json("--v6", "--hex", payload.hex())[0]
        self.assertEqual(r["family"], "ipv6")
        self.assertEqual(r["class"], "none")
        # a BOOTP-sized packet without a cookie, first byte 1: DHCPv4
        r = explain_json("--hex", (b"\x01" + b"\0" * 299).hex())[0]
        self.assertEqual((r["family"], r["errors"]), ("ipv4", ["no-cookie"]))
        self.assertIn("--v6", run("explain", "--help").stdout)

    def test_malformed_v6_flagged(self):
        deep = ipxe_solicit()
        for _ in range(33):
            deep = relay_forw(deep)
        r = explain_json("--v6", "--hex", deep.hex())[0]
        self.assertEqual((r["errors"], r["class"], r["msg"]), (["relay-depth"], "none", "RELAY-FORW"))
        cut = ipxe_solicit()[:-3]
        r = explain_json("--hex", cut.hex())[0]
        self.assertEqual((r["errors"], r["class"]), (["opt-overrun"], "ipxe"))
        empty = bytes([1, 0, 0, 1]) + opt(15, b"\0\0")
        r = explain_json("--hex", empty.hex())[0]
        self.assertEqual(r["errors"], ["user-class"])


if __name__ == "__main__":
    testing.main()
