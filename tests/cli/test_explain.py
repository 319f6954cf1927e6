#!/usr/bin/env python3
"""Tests of `pxeclass explain` on the real captures: text and JSON output,
--config tag evaluation (with conf-file/conf-dir and dnsmasq-style errors),
--hex, other link types and damaged capture files."""
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

CONFIG = """\
# a dnsmasq.conf with pxeclass directives among dnsmasq's own
dhcp-range=10.77.0.100,10.77.0.199,10m
dhcp-pxe-class=set:firmware,pxe,http-boot
dhcp-pxe-class=set:vendor,ipxe-vendor   # a comment
dhcp-ipxe-own = user-class:CSTM
dhcp-pxe-arch=set:efi,efi
dhcp-ipxe-feature=set:https,https
dhcp-boot=tag:vendor,undionly.kpxe
"""


def capture(name):
    return os.path.join(CAPTURES, name, "dhcp.pcap")


def run(*args, check=True):
    p = subprocess.run([PXECLASS, *args], capture_output=True, text=True)
    if check and p.returncode != 0:
        raise AssertionError("pxeclass %s failed: %s" % (args, p.stderr))
    return p


def explain_json(*args):
    return [json.loads(l) for l in run("explain", "--json", *args).stdout.splitlines()]


def bootp(options, *, xid=0x5f5e1234, secs=0, ciaddr=b"\0" * 4, htype=1,
          cookie=True, pad_to=0):
    """A BOOTREQUEST: the header, the cookie and OPTIONS (bytes, END
    included), zero-padded to PAD_TO bytes."""
    mac = bytes.fromhex("525400fa0010")
    head = struct.pack(">BBBBIHH4s4s4s4s16s64s128s", 1, htype, 6, 0, xid, secs, 0,
                       ciaddr, b"\0" * 4, b"\0" * 4, b"\0" * 4, mac, b"", b"")
    data = head + (bytes.fromhex("63825363") if cookie else b"") + options
    return data + b"\0" * max(0, pad_to - len(data))


def opt(code, value):
    value = value.encode() if isinstance(value, str) else bytes(value)
    return bytes([code, len(value)]) + value


# One request of each program of issue 10, built from its source's layout
# (test_classify.c cites the sources): (class, agent, payload).
FIELD = [
    # grub-core/net/bootp.c: DISCOVER with 53 alone, secs = low half of xid
    ("grub", None, bootp(opt(53, [1]) + b"\xff", xid=0x5f5e1234, secs=0x1234, pad_to=300)),
    # ... its REQUEST: 54, 50 and the 7-byte parameter list
    ("grub", None, bootp(opt(53, [3]) + opt(54, [10, 77, 0, 1]) + opt(50, [10, 77, 0, 100])
                         + opt(55, [1, 3, 6, 15, 12, 17, 18]) + b"\xff",
                         xid=0x5f5e1234, secs=0x1236, pad_to=300)),
    # GRUB 2.02: plain BOOTP, the vendor area zeroed
    ("grub", "grub-bootp", bootp(b"", xid=0x5f5e1234, secs=0x1234, cookie=False, pad_to=300)),
    # wdsnbp: REQUEST from its address, bare PXEClient, option 250
    ("wds", None, bootp(opt(53, [3]) + opt(60, "PXEClient") + opt(250, [1, 2, 0, 0, 0xff])
                        + b"\xff", secs=0xffff, ciaddr=bytes([10, 77, 0, 100]))),
    ("bsdp", None, bootp(opt(53, [8]) + opt(60, "AAPLBSDPC/i386/MacBookPro11,1")
                         + opt(43, [1, 1, 1]) + b"\xff")),
    ("loader", "freebsd-pxeboot", bootp(opt(53, [1]) + opt(60, "PXEClient")
                                        + opt(77, b"\x07FreeBSD") + b"\xff")),
    ("loader", "u-root", bootp(opt(53, [1]) + opt(60, "PXE UROOT") + b"\xff")),
    ("agent", "onie", bootp(opt(53, [1]) + opt(60, "onie_vendor:x86_64-accton_as7326_56x-r0")
                            + b"\xff")),
    ("agent", "ilo", bootp(opt(53, [1]) + opt(60, "CPQRIB3") + b"\xff")),
    ("os", "udhcpc", bootp(opt(53, [1]) + opt(60, "udhcp 1.36.1") + b"\xff")),
    ("os", "linux-ipconfig", bootp(opt(53, [1]) + opt(60, "Linux ipconfig") + b"\xff")),
    ("os", "windows", bootp(opt(53, [1]) + opt(60, "MSFT 5.0") + b"\xff")),
]


class Explain(testing.TempDirTest):
    def test_json_keys_and_values_seabios(self):
        reqs = explain_json(capture("a-seabios-virtio"))
        self.assertEqual([r["msg"] for r in reqs], ["DISCOVER", "DISCOVER", "REQUEST"])
        r = reqs[0]
        for key in ("mac", "xid", "msg", "class", "own", "arch", "arch_name",
                    "ipxe_version", "features", "busid", "user_class",
                    "vendor_class", "warnings", "tags"):
            self.assertIn(key, r)
        self.assertEqual(r["mac"], "52:54:00:77:00:01")
        self.assertEqual(r["xid"], "0x7faf941a")
        self.assertEqual(r["class"], "ipxe")
        self.assertIsNone(r["own"])
        self.assertEqual((r["arch"], r["arch_name"]), (0, "x86-bios"))
        self.assertEqual(r["ipxe_version"], "1.0.0")
        self.assertEqual(r["busid"], "pci:1af4:1000")
        self.assertEqual(r["features"], ["pxe-ext", "iscsi", "aoe", "http", "tftp",
                                         "dns", "bzimage", "multiboot", "pxe",
                                         "elf", "menu", "nfs"])
        self.assertEqual(r["user_class"], "iPXE")
        self.assertEqual(r["msg"], "DISCOVER")
        self.assertEqual(r["uuid"], "00112233-4455-6677-8899-aabbccddeeff")
        self.assertEqual(r["warnings"], [])
        self.assertEqual(r["tags"], [])

    def test_config_tags_on_every_capture(self):
        conf = self.write("dnsmasq.conf", CONFIG)
        want = {
            "a-seabios-virtio": [("ipxe", False, ["vendor"])] * 3,
            "c2-ovmf-virtio-norom": [("pxe", None, ["firmware", "efi"])] * 2
                                    + [("ipxe", False, ["vendor", "efi"])] * 3,
            "f1-ovmf-httpboot": [("http-boot", None, ["firmware", "efi"])] * 2
                                + [("ipxe", False, ["vendor", "efi"])] * 3,
            "f2a-proxy-seabios-virtio": [("ipxe", False, ["vendor"])] * 4,
            "e3-loop-fast-seabios-virtio": [("ipxe", False, ["vendor"])] * 18,
        }
        for name, stages in want.items():
            reqs = explain_json("--config", conf, capture(name))
            got = [(r["class"], r["own"], r["tags"]) for r in reqs]
            self.assertEqual(got, stages, name)
        r = explain_json("--config", conf, capture("c2-ovmf-virtio-norom"))[0]
        self.assertEqual(r["tag_rules"], ["dhcp-pxe-class=set:firmware,pxe,http-boot",
                                          "dhcp-pxe-arch=set:efi,efi"])

    def test_port_4011_request(self):
        reqs = explain_json(capture("f2a-proxy-seabios-virtio"))
        self.assertEqual(reqs[-1]["port"], 4011)
        self.assertEqual(reqs[-1]["vendor_class"], "PXEClient")
        self.assertEqual(reqs[-1]["xid"], "0x00000000")

    def test_text_output(self):
        conf = self.write("dnsmasq.conf", CONFIG)
        out = run("explain", "--config", conf, capture("f1-ovmf-httpboot")).stdout
        self.assertIn("class http-boot  arch 16 efi-x64-http", out)
        self.assertIn("vendor-class HTTPClient:Arch:00016:UNDI:003000", out)
        self.assertIn("tag firmware  (dhcp-pxe-class=set:firmware,pxe,http-boot)", out)
        self.assertIn("class ipxe (vendor)  arch 7 efi-x64", out)

    def test_conf_file_and_conf_dir_are_followed(self):
        d = os.path.join(self.tmp, "d")
        os.mkdir(d)
        with open(os.path.join(d, "10-arch.conf"), "w") as f:
            f.write('dhcp-pxe-arch="set:bios",bios\n')
        with open(os.path.join(d, "20-skip.bak"), "w") as f:
            f.write("dhcp-pxe-class=broken\n")
        inc = self.write("inc.conf", "dhcp-pxe-class=set:ipxe,ipxe\n")
        main = self.write("main.conf", "conf-file=%s\nconf-dir=%s,*.conf\n" % (inc, d))
        r = explain_json("--config", main, capture("a-seabios-virtio"))[0]
        self.assertEqual(r["tags"], ["ipxe", "bios"])

    def test_config_error_names_the_line(self):
        conf = self.write("bad.conf", "# ok\ndhcp-range=1.2.3.4,proxy\ndhcp-pxe-arch=set:x,efi-x65\n")
        p = run("explain", "--config", conf, capture("a-seabios-virtio"), check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("bad dhcp-pxe-arch: unknown architecture 'efi-x65'", p.stderr)
        self.assertIn("at line 3 of %s" % conf, p.stderr)
        self.assertEqual(p.stdout, "")

    def test_config_unterminated_quote(self):
        conf = self.write("bad.conf", 'dhcp-pxe-class="set:x,pxe\n')
        p = run("explain", "--config", conf, capture("a-seabios-virtio"), check=False)
        self.assertIn('missing " at line 1 of', p.stderr)

    def test_hex(self):
        with open(capture("c2-ovmf-virtio-norom"), "rb") as f:
            data = f.read()
        payload = data[24 + 16 + 14 + 20 + 8:24 + 16 + struct.unpack("<I", data[32:36])[0]]
        r = explain_json("--hex", payload.hex(":"))[0]
        self.assertEqual((r["class"], r["arch"], r["undi"]), ("pxe", 7, "3.0"))
        p = run("explain", "--hex", "0a0", check=False)
        self.assertEqual(p.returncode, 2)

    def test_field_clients_are_named(self):
        """explain names each program of issue 10, text and JSON, and a
        config's dhcp-pxe-class selects it by class, netboot or agent."""
        conf = self.write("field.conf", "dhcp-pxe-class=set:boot,netboot\n"
                                        "dhcp-pxe-class=set:host,os,agent\n"
                                        "dhcp-pxe-class=set:bmc,idrac,ilo\n")
        for cls, agent, payload in FIELD:
            with self.subTest(cls=cls, agent=agent):
                r = explain_json("--config", conf, "--hex", payload.hex())[0]
                self.assertEqual((r["class"], r["agent"]), (cls, agent))
                tags = set(r["tags"])
                self.assertEqual("boot" in tags, cls not in ("os", "agent"))
                self.assertEqual("host" in tags, cls in ("os", "agent"))
                self.assertEqual("bmc" in tags, agent == "ilo")
                text = run("explain", "--hex", payload.hex()).stdout
                self.assertIn("  class %s" % cls, text)
                if agent:
                    self.assertIn("agent %s" % agent, text)
                else:
                    self.assertNotIn("agent", text)

    def test_bsdp_sub_options(self):
        """An Apple NetBoot INFORM[SELECT] (Apple's bootp,
        BSDPClient/BSDPClient.c BSDPClientSendSelectRequest(): 1, 2, 5, 3,
        8 in option 43): explain shows its BSDP, text and JSON; a bad
        length is the error bsdp; anyone else's bsdp is null."""
        bsdp = [1, 1, 2, 2, 2, 1, 1, 5, 2, 3, 0xe8, 3, 4, 10, 0, 0, 1, 8, 4, 0x81, 0, 0, 7]
        select = bootp(opt(53, [8]) + opt(55, [60, 43]) + opt(57, [5, 0xdc])
                       + opt(60, "AAPLBSDPC/i386/MacBookPro11,1") + opt(43, bsdp) + b"\xff",
                       ciaddr=bytes([10, 0, 0, 5]))
        r = explain_json("--hex", select.hex())[0]
        self.assertEqual(r["bsdp"], {"msg": "select", "version": "1.1", "netboot_1_0": False,
                                     "reply_port": 1000, "max_message_size": None,
                                     "server_id": "10.0.0.1", "selected_image": "0x81000007"})
        self.assertEqual(r["errors"], [])
        text = run("explain", "--hex", select.hex()).stdout
        self.assertIn("\n  bsdp select  version 1.1  reply-port 1000  server 10.0.0.1  "
                      "image 0x81000007\n", text)
        bad = bootp(opt(53, [8]) + opt(60, "AAPLBSDPC/arm/Mac14,2")
                    + opt(43, [1, 1, 1, 12, 1, 0x20, 10, 0]) + b"\xff")
        r = explain_json("--hex", bad.hex())[0]
        self.assertEqual((r["bsdp"]["msg"], r["bsdp"]["max_message_size"],
                          r["bsdp"]["netboot_1_0"], r["errors"]), ("list", None, True, ["bsdp"]))
        self.assertIn("\n  bsdp list  netboot-1.0\n", run("explain", "--hex", bad.hex()).stdout)
        for cls, _, payload in FIELD:
            if cls != "bsdp":
                self.assertIsNone(explain_json("--hex", payload.hex())[0]["bsdp"], cls)

    def test_linux_cooked_capture(self):
        """Rewrite the Ethernet capture as Linux cooked (SLL) frames."""
        with open(capture("a-seabios-virtio"), "rb") as f:
            data = f.read()
        out = bytearray(data[:20] + struct.pack("<I", 113))
        off = 24
        while off < len(data):
            ts, tu, cl, ol = struct.unpack("<IIII", data[off:off + 16])
            frame = data[off + 16:off + 16 + cl]
            sll = struct.pack(">HHH8sH", 0, 1, 6, frame[6:12] + b"\0\0", 0x0800) + frame[14:]
            out += struct.pack("<IIII", ts, tu, len(sll), len(sll)) + sll
            off += 16 + cl
        path = os.path.join(self.tmp, "sll.pcap")
        with open(path, "wb") as f:
            f.write(out)
        reqs = explain_json(path)
        self.assertEqual(len(reqs), 3)
        self.assertEqual(reqs[0]["busid"], "pci:1af4:1000")

    def test_truncated_capture_file(self):
        """A capture cut mid-packet: the whole packets are explained, then
        the damage is reported."""
        with open(capture("a-seabios-virtio"), "rb") as f:
            data = f.read()
        offsets, off = [], 24
        while off < len(data):
            offsets.append(off)
            off += 16 + struct.unpack("<I", data[off + 8:off + 12])[0]
        path = os.path.join(self.tmp, "cut.pcap")
        with open(path, "wb") as f:
            f.write(data[:offsets[4] + 100])  # inside the REQUEST, frame 5
        p = run("explain", "--json", path, check=False)
        self.assertEqual(len(p.stdout.splitlines()), 2)
        self.assertEqual(p.returncode, 1)
        self.assertIn("truncated", p.stderr)

    def test_snaplen_cut_frames_are_flagged(self):
        with open(capture("a-seabios-virtio"), "rb") as f:
            data = bytearray(f.read())
        out = bytearray(data[:24])
        off = 24
        while off < len(data):
            ts, tu, cl, ol = struct.unpack("<IIII", data[off:off + 16])
            keep = min(cl, 300)
            out += struct.pack("<IIII", ts, tu, keep, ol) + data[off + 16:off + 16 + keep]
            off += 16 + cl
        path = os.path.join(self.tmp, "snap.pcap")
        with open(path, "wb") as f:
            f.write(out)
        r = explain_json(path)[0]
        self.assertTrue(r["truncated"])
        self.assertIn("opt-overrun", r["errors"])
        self.assertEqual(r["msg"], "DISCOVER")

    def test_loop_capture_replayed_through_tracker(self):
        """--config replays requests and replies in time order: the e3
        loop shows its hops and trips the guard at the fifth stage."""
        conf = self.write("loop.conf", "dhcp-chain-guard=3,60,set:looping\n"
                                       "dhcp-ipxe-own=chained\n")
        reqs = explain_json("--config", conf, capture("e3-loop-fast-seabios-virtio"))
        self.assertEqual([r["chain"]["hops"] for r in reqs[::3]], [0, 1, 2, 3, 4, 5])
        self.assertEqual([r["own"] for r in reqs[::3]], [False, True, False, True, False, True])
        self.assertEqual([r["tags"] for r in reqs[::3]],
                         [[], [], [], [], ["looping"], ["looping"]])
        self.assertTrue(reqs[12]["chain"]["looping"])
        self.assertEqual(reqs[-1]["chain"]["history"].split()[0], "ipxe/vendor@0s>undionly.kpxe")
        text = run("explain", "--config", conf, capture("e3-loop-fast-seabios-virtio")).stdout
        self.assertEqual(text.count("loop guard tripped"), 2)
        self.assertIn("chain: new stage 5, 4 hops within 60s, LOOP", text)

    def test_no_tracker_means_null_chain(self):
        self.assertIsNone(explain_json(capture("a-seabios-virtio"))[0]["chain"])

    def test_missing_file(self):
        p = run("explain", os.path.join(self.tmp, "nope.pcap"), check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("nope.pcap", p.stderr)


if __name__ == "__main__":
    testing.main()
