"""Tests of `pxeclass lab` over IPv6: the DHCPv6 client types, dual stack,
and the v6 configs.

Without root only the offline checks run: the sheet's program6 blocks
rebuild the g* captures' SOLICITs and REQUESTs byte for byte (elapsed time
aside), the DHCPv6 reader refuses malformed messages, and the lab reads a
config's IPv6 side (ranges, option-59 URLs, which client types play).
With root the real command runs against the patched dnsmasq in network
namespaces: every v6 client type's chain and verdict, the family in text
and JSON, dual stack as one stage with the DHCPv4 file winning, a loop over
DHCPv6 and the guard stopping it, and the firmware's IPv6 traps.

The configs with their expected chains are one table (V6_CONFIGS): an
example for real firmware is one more line there.

Run: PXC_CLI=build/tools/pxeclass python3 tests/lab/test_lab6.py
"""

import os
import struct
import sys
import tempfile
import unittest
from types import SimpleNamespace

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, HERE)

from pxelab import boot, boot6, clients, dhcp6, lab6, labconf, pcap, testing  # noqa: E402
from test_lab import CONFIGS, EXAMPLES, IS_ROOT, run_json, run_lab  # noqa: E402

CAPTURES = os.path.join(ROOT, "tests", "captures")
CAPTURE_MACHINE = SimpleNamespace(uuid="00112233-4455-6677-8899-aabbccddeeff",
                                  mac="52:54:00:77:00:01")
V6_CLIENTS = ["uefi-x64-pxe6", "uefi-x64-http6", "arm64-http6", "ipxe-v6only",
              "ipxe-dualstack"]
OWN6 = ["ipxe(own)[v6]", "boot.ipxe"]
# Chains of the v6 client types through the site's iPXE to boot.ipxe.
PXE6 = ["pxe[v6]", "ipxe.efi"] + OWN6
HTTP6_X64 = ["http-boot[v6]", "ipxe.efi"] + OWN6
HTTP6_ARM64 = ["http-boot[v6]", "ipxe-arm64.efi"] + OWN6
IPXE6_ROM = ["ipxe(vendor)[v6]", "undionly.kpxe"] + OWN6

# (config, --client names (none: the lab's default choice), expected chains).
# Every chain must reach its last token with a success verdict, and every
# stage must be a DHCPv6 one.
V6_CONFIGS = [
    ("examples/lab6.conf", (), {"uefi-x64-pxe6": PXE6, "uefi-x64-http6": HTTP6_X64,
                                "arm64-http6": HTTP6_ARM64, "ipxe-v6only": IPXE6_ROM,
                                "ipxe-dualstack": IPXE6_ROM}),
    # the real-firmware examples (tests/firmware scenarios p, q, r): no own
    # identity there, so the site's iPXE is plain ipxe
    ("examples/07-ipv6-only.conf", ("uefi-x64-pxe6", "ipxe-v6only"),
     {"uefi-x64-pxe6": ["pxe[v6]", "ipxe.efi", "ipxe[v6]", "boot.ipxe"],
      "ipxe-v6only": ["ipxe[v6]", "boot.ipxe"]}),
    ("examples/08-http-boot-ipv6.conf", ("uefi-x64-http6", "arm64-http6"),
     {"uefi-x64-http6": ["http-boot[v6]", "ipxe.efi", "ipxe[v6]", "boot.ipxe"],
      "arm64-http6": ["http-boot[v6]", "ipxe-arm64.efi", "ipxe[v6]", "boot.ipxe"]}),
    ("examples/09-dual-stack.conf", ("uefi-x64-pxe6", "ipxe-dualstack"),
     {"uefi-x64-pxe6": ["pxe[v6]", "ipxe.efi", "ipxe[v4+v6]", "boot.ipxe"],
      "ipxe-dualstack": ["ipxe[v4+v6]", "boot.ipxe"]}),
]


def capture_messages(folder):
    """The DHCPv6 messages of a capture folder's pcap, in order."""
    path = os.path.join(CAPTURES, folder, "dhcp.pcap")
    return [dhcp6.parse(r.payload) for r in pcap.read_udp(path, ports={546, 547})
            if r.dst_port in (546, 547)]


class OfflineTest6(unittest.TestCase):
    """The v6 parts that need no network."""

    def test_programs_rebuild_the_captures(self):
        """Each program6 of a capture rebuilds that capture's SOLICITs and
        REQUESTs: same options, same order, same bytes but elapsed time
        (the IAID of EDK2's random one and the server's DUID and address
        taken from the capture)."""
        cases = {"g1-ovmf-pxev6": ("edk2-pxe6-efi-x64", "ipxe6-efi-x64"),
                 "g1b-ovmf-pxev6-authoritative": ("edk2-pxe6-efi-x64", "ipxe6-efi-x64"),
                 "g2-ovmf-httpv6": ("edk2-http6-efi-x64", "ipxe6-efi-x64"),
                 "g3-seabios-ipxe-dualstack": ("ipxe6-bios",),
                 "g3b-seabios-ipxe-v6only": ("ipxe6-bios",)}
        for folder, names in cases.items():
            messages = capture_messages(folder)
            for name in names:
                program = dhcp6.program6(name)
                mark = program.values(CAPTURE_MACHINE, 0)[dhcp6.OPT_VENDOR_CLASS]
                sent = [m for m in messages if m.msg_type in (dhcp6.SOLICIT, dhcp6.REQUEST)
                        and m.option(dhcp6.OPT_VENDOR_CLASS) == mark]
                self.assertEqual({m.msg_type for m in sent}, {dhcp6.SOLICIT, dhcp6.REQUEST},
                                 f"{folder}: {name} sent no SOLICIT and REQUEST")
                for message in sent:
                    with self.subTest(capture=folder, program=name, msg=message.msg_name):
                        self._rebuilds(program, message)

    def _rebuilds(self, program, message):
        """PROGRAM's bytes for MESSAGE's type equal MESSAGE's (but option 8)."""
        ia = dhcp6.read_ia_na(message.option(dhcp6.OPT_IA_NA))
        iaid = ia.iaid if program.iaid == "random" else program.iaid_for(CAPTURE_MACHINE.mac)
        request = message.msg_type == dhcp6.REQUEST
        built = dhcp6.parse(program.message(
            message.msg_type, message.xid.to_bytes(3, "big"), CAPTURE_MACHINE, iaid,
            server_id=message.option(dhcp6.OPT_SERVERID) if request else None,
            advertised=ia if request else None))
        self.assertEqual([c for c, _ in built.options], [c for c, _ in message.options])
        self.assertEqual([(c, d.hex()) for c, d in built.options if c != dhcp6.OPT_ELAPSED],
                         [(c, d.hex()) for c, d in message.options if c != dhcp6.OPT_ELAPSED])

    def test_xid_rules_follow_the_captures(self):
        """EDK2's REQUEST xid is its SOLICIT's counter + 1 read little-endian;
        iPXE keeps one xid for SOLICIT and REQUEST: XidSource does the same."""
        messages = capture_messages("g1-ovmf-pxev6")
        for name in ("edk2-pxe6-efi-x64", "ipxe6-efi-x64"):
            with self.subTest(program=name):
                program = dhcp6.program6(name)
                mark = program.values(CAPTURE_MACHINE, 0)[dhcp6.OPT_VENDOR_CLASS]
                sent = [m for m in messages if m.option(dhcp6.OPT_VENDOR_CLASS) == mark]
                solicit = next(m for m in sent if m.msg_type == dhcp6.SOLICIT)
                request = next(m for m in sent if m.msg_type == dhcp6.REQUEST)
                source = dhcp6.XidSource(program.xid)
                source.counter = int.from_bytes(solicit.xid.to_bytes(3, "big"), "little") - 1
                self.assertEqual(source.next(session_start=True), solicit.xid.to_bytes(3, "big"))
                self.assertEqual(source.next(), request.xid.to_bytes(3, "big"))

    def test_arm64_http_is_x64_with_arch_19(self):
        """The ARM64 HTTP Boot program differs from the captured x64 one in
        option 61 (19) and the arch digits of option 16 only."""
        x64 = dhcp6.program6("edk2-http6-efi-x64").values(CAPTURE_MACHINE, 1)
        arm = dhcp6.program6("edk2-http6-efi-arm64").values(CAPTURE_MACHINE, 1)
        self.assertEqual(arm[dhcp6.OPT_ARCH], struct.pack("!H", 19))
        self.assertEqual(arm[dhcp6.OPT_VENDOR_CLASS],
                         dhcp6.vendor_class(343, b"HTTPClient:Arch:00019:UNDI:003000"))
        self.assertEqual({c for c in x64 if x64[c] != arm[c]},
                         {dhcp6.OPT_ARCH, dhcp6.OPT_VENDOR_CLASS})

    def test_reader_refuses_malformed_messages(self):
        """Lengths past the end, short headers, short IA_NA and IAADDR,
        list entries past their option, relays: Dhcp6Error, never a read
        past the data."""
        good = dhcp6.build(dhcp6.ADVERTISE, b"\x01\x02\x03",
                           [(dhcp6.OPT_IA_NA, dhcp6.ia_na(7, 0, 0, "fd77::105", (60, 120))),
                            (dhcp6.OPT_BOOTFILE_URL, b"tftp://[fd77::1]/x")])
        message = dhcp6.parse(good)
        self.assertEqual((message.xid, message.leased_address(), message.bootfile_url),
                         (0x010203, "fd77::105", "tftp://[fd77::1]/x"))
        bad = {
            "short header": b"\x02\x00\x01",
            "option past the end": good[:-1],
            "option header cut": good + b"\x00\x3b\x00",
            "relay": bytes([dhcp6.RELAY_REPL]) + bytes(40),
        }
        for what, data in bad.items():
            with self.subTest(what=what):
                with self.assertRaises(dhcp6.Dhcp6Error):
                    dhcp6.parse(data)
        fields = {
            "short IA_NA": (dhcp6.OPT_IA_NA, bytes(11), "ia_na"),
            "short IAADDR": (dhcp6.OPT_IA_NA, bytes(12) + dhcp6.option(5, bytes(23)), "ia_na"),
            "class entry past its option": (dhcp6.OPT_VENDOR_CLASS,
                                            struct.pack("!IH", 343, 9) + b"PXE", "vendor_class"),
            "no enterprise": (dhcp6.OPT_VENDOR_CLASS, b"\x00\x00\x01", "vendor_class"),
            "short status": (dhcp6.OPT_STATUS, b"\x00", "status"),
            "param cut in a length": (dhcp6.OPT_BOOTFILE_PARAM, b"\x00\x01a\x00",
                                      "bootfile_param"),
        }
        for what, (code, data, attribute) in fields.items():
            with self.subTest(what=what):
                parsed = dhcp6.parse(dhcp6.build(dhcp6.REPLY, b"\0\0\1", [(code, data)]))
                with self.assertRaises(dhcp6.Dhcp6Error):
                    getattr(parsed, attribute)

    def test_lab_reads_the_ipv6_side_of_a_config(self):
        """Ranges, option-59 URLs as boot names and the default client
        types: v6 ones for a v6-only config, v4 ones without a v6 range,
        both for dual stack; RA-only ranges start no DHCPv6."""
        every = clients.machines()
        v4 = [m.name for m in every if m.firmware6 is None]
        cases = {
            os.path.join(EXAMPLES, "lab6.conf"): (True, V6_CLIENTS),
            os.path.join(EXAMPLES, "lab.conf"): (False, v4),
            os.path.join(CONFIGS, "dual-stack.conf"): (True, v4 + V6_CLIENTS),
        }
        for path, (dhcp6_on, names) in cases.items():
            with self.subTest(config=os.path.basename(path)), \
                    tempfile.TemporaryDirectory() as work:
                config = labconf.load(path, work)
                lab6.learn(config)
                self.assertEqual(config.dhcp6, dhcp6_on)
                self.assertEqual([m.name for m in lab6.default_machines(every, config)], names)
        with tempfile.TemporaryDirectory() as work:
            path = os.path.join(work, "ra.conf")
            with open(path, "w") as f:
                f.write("dhcp-range=10.77.0.100,10.77.0.199,10m\nenable-ra\n"
                        "dhcp-range=fd77::,ra-only,64,10m\n"
                        "dhcp-option=tag:a,tag:!b,option6:59,tftp://[fd77::1]/a,b.efi\n")
            os.makedirs(os.path.join(work, "w"))
            config = labconf.load(path, os.path.join(work, "w"))
            lab6.learn(config)
            self.assertFalse(config.dhcp6)
            self.assertEqual(len(config.stateless6), 1)
            self.assertIn("tftp://[fd77::1]/a,b.efi", [b.name for b in config.boot_names])
            self.assertEqual([m.name for m in lab6.default_machines(every, config)], v4)

    def test_dual_stack_file_precedence(self):
        """iPXE's rule as Player6 applies it: the DHCPv4 file when there is
        one, else DHCPv6's URL; both failing names both reasons."""
        player = boot6.Player6.__new__(boot6.Player6)
        stage = boot.Stage(None)
        self.assertEqual(player._choose(stage, {"v4": ("a.kpxe", "10.77.0.1"),
                                                "v6": "http://[fd77::1]/b"}),
                         ("a.kpxe", "10.77.0.1"))
        self.assertEqual(stage.file_family, "v4")
        self.assertEqual(player._choose(stage, {"v4": boot.DeadEnd("no file"),
                                                "v6": "http://[fd77::1]/b"}),
                         ("http://[fd77::1]/b", None))
        self.assertEqual(stage.file_family, "v6")
        with self.assertRaisesRegex(boot.DeadEnd, "DHCPv4: x; DHCPv6: y"):
            player._choose(stage, {"v4": boot.DeadEnd("x"), "v6": boot.DeadEnd("y")})


@unittest.skipUnless(IS_ROOT, "needs root (network namespaces)")
class LabTest6(unittest.TestCase):
    """The real command over IPv6."""

    def test_v6_configs_reach_their_chains(self):
        """Each V6_CONFIGS config: the client types it plays (the default
        choice for a v6-only config: every v6 type), each chain, a success
        verdict, the family of every stage, dnsmasq's v6 classification."""
        for path, names, expected in V6_CONFIGS:
            args = ["--config", os.path.join(ROOT, path)]
            for name in names:
                args += ["--client", name]
            with self.subTest(config=path):
                status, chains, err, _ = run_json(*args)
                self.assertEqual(status, 0, err)
                self.assertEqual(sorted(chains), sorted(expected))
                for name, tokens in expected.items():
                    with self.subTest(client=name):
                        chain = chains[name]
                        self.assertEqual(chain["chain"], tokens)
                        self.assertIn(chain["verdict"], boot.SUCCESS_VERDICTS)
                        self.assertFalse(chain["guard_tripped"])
                        self.assertIn("v6", chain["family"])
                        for stage in chain["stages"]:
                            self.assertIn("v6", stage["family"])
                            self.assertTrue(any("family=ipv6" in l for l in stage["log"]),
                                            stage["log"])

    def test_every_client_type_and_its_firmware_rules(self):
        """examples/lab6.conf: EDK2 PXEv6 fetches by TFTP over IPv6, HTTP
        Boot by HTTP over IPv6 after the HTTPClient echo, the leases are
        v6, and the own stage is dnsmasq's `own` by the chain."""
        status, chains, err, _ = run_json("--config", os.path.join(EXAMPLES, "lab6.conf"))
        self.assertEqual(status, 0, err)
        pxe = chains["uefi-x64-pxe6"]["stages"]
        self.assertEqual(pxe[0]["fetch"], "tftp://[fd77::1]/ipxe.efi")
        self.assertTrue(pxe[0]["address6"].startswith("fd77::"))
        self.assertEqual(len(pxe[0]["xids"]), 2, "EDK2: a new xid for its REQUEST")
        http = chains["arm64-http6"]["stages"]
        self.assertEqual(http[0]["fetch"], "http://[fd77::1]/ipxe-arm64.efi")
        self.assertIn("class16=HTTPClient", http[0]["exchanges"][0])
        self.assertTrue(any("arch=19(efi-arm64-http)" in l for l in http[0]["log"]))
        for name in V6_CLIENTS:
            with self.subTest(client=name):
                own = chains[name]["stages"][-1]
                self.assertTrue(any(" own=own " in l and "family=ipv6" in l
                                    for l in own["log"]), own["log"])
                self.assertEqual(own["fetched"], {"kind": "script", "arch": "any"})
                self.assertEqual(own["fetch"], "http://[fd77::1]/boot.ipxe")

    def test_text_output_shows_the_family(self):
        """One line per client type with [v6] on its DHCPv6 stages, and the
        bridge's IPv6 address in the header."""
        status, out, err, _ = run_lab("--config", os.path.join(EXAMPLES, "lab6.conf"),
                                      "--client", "uefi-x64-pxe6")
        self.assertEqual(status, 0, err)
        self.assertIn("fd77::1/64", out.splitlines()[1])
        self.assertRegex(out, r"(?m)^uefi-x64-pxe6: +pxe\[v6\] → ipxe\.efi → ipxe\(own\)\[v6\] "
                              r"→ boot\.ipxe +\[1 hop\] script reached$")

    def test_dual_stack_is_one_stage_and_the_v4_file_wins(self):
        """iPXE asking both families at once: one stage per program (the
        tracker's hops agree in both families' lines), the DHCPv4 file
        taken although DHCPv6 names another; EDK2 PXEv6 to a dual-stack
        iPXE is one hop across the families; a v6-only iPXE stays v6."""
        status, chains, err, _ = run_json("--config", os.path.join(CONFIGS, "dual-stack.conf"),
                                          "--client", "ipxe-dualstack", "--client",
                                          "uefi-x64-pxe6", "--client", "ipxe-v6only")
        self.assertEqual(status, 0, err)
        cross = chains["uefi-x64-pxe6"]
        self.assertEqual(cross["chain"], ["pxe[v6]", "ipxe.efi", "ipxe(own)[v4+v6]", "boot.ipxe"])
        self.assertEqual((cross["verdict"], cross["hops"]), ("script", 1))
        self.assertTrue(any(" own=own " in l and "hops=1 " in l and "family=" not in l
                            for l in cross["stages"][1]["log"]), cross["stages"][1]["log"])
        self.assertEqual(chains["ipxe-v6only"]["chain"],
                         ["ipxe(vendor)[v6]", "undionly6.kpxe", "ipxe(own)[v6]", "boot6.ipxe"])
        chain = chains["ipxe-dualstack"]
        self.assertEqual(chain["chain"], ["ipxe(vendor)[v4+v6]", "undionly.kpxe",
                                          "ipxe(own)[v4+v6]", "boot.ipxe"])
        self.assertEqual((chain["verdict"], chain["hops"]), ("script", 1))
        self.assertEqual(chain["stages"][1]["fetch"], "http://10.77.0.1/boot.ipxe")
        self.assertFalse(any("chainload loop" in w for w in chain["warnings"]))
        for hops, stage in enumerate(chain["stages"]):
            with self.subTest(stage=stage["label"]):
                self.assertEqual((stage["family"], stage["file_family"]), ("v4+v6", "v4"))
                self.assertTrue(any("6.kpxe" in e or "boot6.ipxe" in e
                                    for e in stage["exchanges"]), "DHCPv6 named its own file")
                v4 = [l for l in stage["log"] if " pxeclass: " in l and "family=" not in l]
                v6 = [l for l in stage["log"] if " pxeclass: " in l and "family=ipv6" in l]
                self.assertTrue(v4 and v6, stage["log"])
                for line in v4 + v6:
                    self.assertIn(f" hops={hops} ", line)

    def test_v6_loop_fails_and_the_guard_stops_it(self):
        """ipxe.efi for every x64 request over DHCPv6: LOOP (exit 1) without
        a guard; with dhcp-chain-guard=3 the fallback script after 4 hops,
        dnsmasq's loop warning next to the chain."""
        status, chains, err, _ = run_json("--config", os.path.join(CONFIGS, "loop6.conf"),
                                          "--client", "uefi-x64-pxe6")
        self.assertEqual(status, 1, err)
        chain = chains["uefi-x64-pxe6"]
        self.assertEqual((chain["verdict"], chain["hops"]), ("loop", boot.HOP_LIMIT))
        self.assertEqual(chain["chain"][:4], ["pxe[v6]", "ipxe.efi", "ipxe[v6]", "ipxe.efi"])
        status, chains, err, _ = run_json("--config", os.path.join(CONFIGS, "guard6.conf"),
                                          "--client", "uefi-x64-pxe6")
        self.assertEqual(status, 0, err)
        chain = chains["uefi-x64-pxe6"]
        self.assertTrue(chain["guard_tripped"])
        self.assertEqual((chain["verdict"], chain["hops"], chain["chain"][-1]),
                         ("script", 4, "loop.ipxe"))
        self.assertTrue(any("chainload loop: " + chain["mac"] in w for w in chain["warnings"]),
                        chain["warnings"])
        self.assertIn("chain-loop", chain["stages"][-1]["tags"])

    def test_firmware_traps_are_dead_ends(self):
        """No enable-ra: iPXE does no DHCPv6; an http:// URL for EDK2
        PXEv6; no HTTPClient echo for HTTP Boot (capture g2b)."""
        status, chains, err, _ = run_json("--config", os.path.join(CONFIGS, "v6-traps.conf"),
                                          "--client", "uefi-x64-pxe6", "--client",
                                          "uefi-x64-http6", "--client", "ipxe-v6only")
        self.assertEqual(status, 0, err)
        reasons = {name: (c["verdict"], c["reason"]) for name, c in chains.items()}
        self.assertEqual(reasons["uefi-x64-pxe6"],
                         ("dead-end", "EDK2 PXEv6 boots tftp:// URLs only, was given "
                                      "http://[fd77::1]/ipxe.efi"))
        self.assertEqual(reasons["uefi-x64-http6"][0], "dead-end")
        self.assertIn("HTTPClient (option 16) not echoed", reasons["uefi-x64-http6"][1])
        self.assertEqual(reasons["ipxe-v6only"][0], "dead-end")
        self.assertIn("no router advertisement", reasons["ipxe-v6only"][1])
        self.assertIn("without enable-ra", err)


if __name__ == "__main__":
    testing.main()
