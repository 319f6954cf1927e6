"""Tests of `pxeclass lab`: the command as a user runs it, and its parts.

Without root only the offline checks run (client bytes against the real
captures, stand-in guesses, chain compression); with root every scenario
runs the real command (PXC_CLI, the built `pxeclass`) against the patched
dnsmasq in network namespaces and checks what it reports: the chains,
hops and verdicts, the exit status, dnsmasq's own lines (classification,
loop warning) next to the stages, and config errors with their line.

Run: PXC_CLI=build/tools/pxeclass python3 tests/lab/test_lab.py
"""

import json
import os
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools"))

from pxelab import (boot, clients, dhcp, facts, firmware, lab, replay, standins,  # noqa: E402
                    testing)

CLI = os.environ.get("PXC_CLI", os.path.join(ROOT, "build", "tools", "pxeclass"))
STOCK = os.environ.get("PXC_DNSMASQ_STOCK", "")
CONFIGS = os.path.join(HERE, "configs")
EXAMPLES = os.path.join(ROOT, "examples")
CAPTURES = os.path.join(ROOT, "tests", "captures")
IS_ROOT = os.geteuid() == 0
DEFAULT_RUN_BUDGET = 15.0      # seconds the default run may take

# The default config (examples/lab.conf): every client type's chain.
OWN_CHAIN_BIOS = ["undionly.kpxe", "ipxe(own)", "boot.ipxe"]
DEFAULT_CHAINS = {
    "bios-pxe": ["pxe"] + OWN_CHAIN_BIOS,
    "uefi-x64-pxe": ["pxe", "ipxe.efi", "ipxe(own)", "boot.ipxe"],
    "uefi-x64-http": ["http-boot", "ipxe.efi", "ipxe(own)", "boot.ipxe"],
    "arm64-pxe": ["pxe", "ipxe-arm64.efi", "ipxe(own)", "boot.ipxe"],
    "arm64-http": ["http-boot", "ipxe-arm64.efi", "ipxe(own)", "boot.ipxe"],
    "qemu-ipxe": ["ipxe(vendor)"] + OWN_CHAIN_BIOS,
    "vbox-ipxe": ["ipxe(vendor)"] + OWN_CHAIN_BIOS,
    "own-ipxe": ["ipxe(vendor)"] + OWN_CHAIN_BIOS,
    "gpxe": ["gpxe"] + OWN_CHAIN_BIOS,
    "flexboot": ["flexboot"] + OWN_CHAIN_BIOS,
}


def run_lab(*args, user=None):
    """Run `pxeclass lab ARGS`; (exit status, stdout, stderr, seconds)."""
    command = [CLI, "lab", *args]
    if user is not None:
        command = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *command]
    started = time.monotonic()
    proc = subprocess.run(command, capture_output=True, text=True, timeout=120)
    return proc.returncode, proc.stdout, proc.stderr, time.monotonic() - started


def run_json(*args):
    """Run the lab with --json; (exit status, {client: object}, stderr)."""
    status, out, err, _ = run_lab("--json", *args)
    objects = [json.loads(line) for line in out.splitlines() if line.strip()]
    return status, {o["client"]: o for o in objects if "client" in o}, err, objects


class OfflineTest(unittest.TestCase):
    """The lab's parts that need no network."""

    def test_capture_profiles_are_byte_exact(self):
        """Programs sourced from captures rebuild the captured requests
        (every byte but secs), port-4011 boot-server request included."""
        machine = clients.Machine("x", "x", "bios", "52:54:00:77:00:01",
                                  "00112233-4455-6677-8899-aabbccddeeff",
                                  firmware.parse_busid("pci:1af4:1000"), None)
        cases = {
            "a-seabios-virtio": [clients.ipxe_build("bios")] * 2,
            "c2-ovmf-virtio-norom": [clients.edk2_pxe("efi-x64")] * 2
            + [clients.ipxe_build("efi-x64")] * 2,
            "f1-ovmf-httpboot": [clients.edk2_http("efi-x64")] * 2
            + [clients.ipxe_build("efi-x64")] * 2,
            "f2a-proxy-seabios-virtio": [clients.ipxe_build("bios")] * 3,
        }
        checked = 0
        for name, programs in cases.items():
            exchanges = replay.load_exchanges(os.path.join(CAPTURES, name, "dhcp.pcap"))
            self.assertEqual(len(exchanges), len(programs), name)
            for exchange, program in zip(exchanges, programs):
                with self.subTest(capture=name, request=exchange.request.msg_name,
                                  port=exchange.dst_port):
                    self.assertEqual(self.rebuild(machine, program, exchange),
                                     exchange.request.raw)
                    checked += 1
        self.assertEqual(checked, 13)

    @staticmethod
    def rebuild(machine, program, exchange):
        """The lab's packet for a captured request (captured xid and secs)."""
        request = exchange.request
        program = machine.with_identity(program)
        extra, flags, ciaddr = {}, None, "0.0.0.0"
        if exchange.dst_port == dhcp.PXE_PORT:
            extra = {dhcp.OPT_VENDOR: request.options[dhcp.OPT_VENDOR],
                     dhcp.OPT_VENDOR_CLASS: b"PXEClient"}
            flags, ciaddr = dhcp.BROADCAST_FLAG, request.ciaddr
        elif request.msg_type == dhcp.REQUEST:
            extra = {c: request.options[c] for c in (dhcp.OPT_SERVER_ID, dhcp.OPT_REQUESTED_IP)}
        packet = program.packet(request.msg_type, request.xid, machine.mac, extra=extra,
                                ciaddr=ciaddr, flags=flags)
        return packet[:8] + request.raw[8:10] + packet[10:]

    def test_fact_sheet_profiles(self):
        """Spot checks of the profiles built from the fact sheet."""
        vbox = clients.vbox_ipxe().values[clients.IPXE]
        self.assertEqual(clients.ipxe_version(vbox), (1, 21, 1))
        self.assertFalse(clients.vbox_ipxe().can_fetch("http"))
        self.assertTrue(clients.ipxe_build("bios").can_fetch("http"))
        gpxe = clients.gpxe_097()
        self.assertEqual(gpxe.options(dhcp.DISCOVER)[0][0], 97, "gPXE 0.9.7 prepends")
        self.assertEqual(gpxe.values[clients.USER_CLASS], b"gPXE")
        arm = clients.edk2_pxe("efi-arm64")
        self.assertEqual(arm.values[clients.VENDOR_CLASS], b"PXEClient:Arch:00011:UNDI:003000")
        self.assertEqual(clients.edk2_http("efi-arm64").values[clients.ARCH], b"\x00\x13")

    def test_own_build_from_identities(self):
        """The site's iPXE meets the first identity that can be met."""
        base = clients.ipxe_build("bios")
        identity = {"text": "user-class:CSTM,feature:https,version:>=1.21.1",
                    "user_class": "CSTM", "features": [{"code": 0x14, "name": "https"}],
                    "version": {"op": ">=", "value": "1.21.1"}, "chained": False}
        own, said = clients.own_build(base, [identity])
        self.assertEqual(own.values[clients.USER_CLASS], b"CSTM")
        self.assertIn(0x14, own.features())
        self.assertEqual(clients.ipxe_version(own.values[clients.IPXE]), (1, 21, 1))
        self.assertIn("CSTM", said)
        chained = {"text": "chained", "user_class": None, "features": [], "version": None,
                   "chained": True}
        plain, _ = clients.own_build(base, [chained])
        self.assertEqual(plain.values, base.values)
        never = dict(chained, version={"op": "<", "value": "0.0.0"}, chained=False)
        first, _ = clients.own_build(base, [never, identity])
        self.assertEqual(first.values[clients.USER_CLASS], b"CSTM", "unmeetable: the next")
        self.assertEqual(clients.version_meeting("<", (2, 0, 0)), (1, 255, 255))
        self.assertEqual(clients.version_meeting(">", (1, 0, 255)), (1, 1, 0))
        self.assertIsNone(clients.version_meeting("<", (0, 0, 0)))

    def test_firmware_sheet(self):
        """The sheet's lab machines, in report order, each with a program the
        lab can play; a line the reader does not know is named."""
        sheet = firmware.load()
        self.assertEqual(clients.machine_names(),
                         ["bios-pxe", "uefi-x64-pxe", "uefi-x64-http", "arm64-pxe",
                          "arm64-http", "qemu-ipxe", "vbox-ipxe", "own-ipxe", "gpxe",
                          "flexboot", "uefi-x64-pxe6", "uefi-x64-http6", "arm64-http6",
                          "ipxe-v6only", "ipxe-dualstack"])
        for machine in sheet.machines:
            with self.subTest(machine=machine.name):
                if machine.group == "lab" and machine.program6:
                    self.assertIn(machine.program6, sheet.programs6)
                if machine.group == "lab" and machine.program not in ("own", None):
                    program = sheet.programs[machine.program]
                    self.assertIn(program.kind, ("pxe", "http", "ipxe", "gpxe"))
                    self.assertTrue(program.label and program.arch and program.source)
        for name in boot.ASKS_DHCP.values():
            with self.subTest(program=name):
                program = sheet.programs[name]
                self.assertIn(program.kind, boot.LAST_STAGES)
                self.assertTrue(program.label and program.arch and program.source)
                self.assertIn(machine.group, ("lab", "net"))
        with self.assertRaisesRegex(firmware.SheetError, r"x\.sheet:3: unknown program line"):
            firmware.parse("program a\n  kind pxe\n  colour blue\n", "x.sheet")
        with self.assertRaisesRegex(firmware.SheetError, "unknown program b"):
            firmware.parse("machine lab m\n  program b\n", "x.sheet")

    def test_missing_cli_is_named(self):
        """Without a CLI to ask, the lab says where it looked."""
        saved = {k: os.environ.pop(k, None) for k in facts.CLI_ENVIRONMENT}
        old_tree = facts.BUILD_TREE_CLI
        try:
            os.environ["PXC_LAB_CLI"] = "/nonexistent/pxeclass"
            facts.BUILD_TREE_CLI = "/nonexistent/build/tools/pxeclass"
            with self.assertRaisesRegex(facts.FactsError,
                                        r"cannot find the pxeclass CLI.*PXC_LAB_CLI="
                                        r"/nonexistent/pxeclass"):
                facts.cli_path()
        finally:
            facts.BUILD_TREE_CLI = old_tree
            os.environ.pop("PXC_LAB_CLI", None)
            os.environ.update({k: v for k, v in saved.items() if v is not None})

    def test_standin_guesses(self):
        """Names decide what a stand-in is (the rules in standins.py)."""
        expected = {
            "undionly.kpxe": ("ipxe", "bios"),
            "ipxe.efi": ("ipxe", "efi-x64"),
            "snponly.efi": ("ipxe", "efi-x64"),
            "ipxe-arm64.efi": ("ipxe", "efi-arm64"),
            "ipxe32.efi": ("ipxe", "efi-x86"),
            "ipxe-x86_64.efi": ("ipxe", "efi-x64"),
            "http://10.77.0.1/ipxe-arm64.efi": ("ipxe", "efi-arm64"),
            "pxelinux.0": ("nbp", "bios"),
            "grubaa64.efi": ("nbp", "efi-arm64"),
            "bootmgfw.efi": ("nbp", "efi-x64"),
            "boot.ipxe": ("script", "any"),
            "http://10.77.0.1/ipxe.php?mac=${mac}": ("script", "any"),
            "http://boot.example/api/boot": ("script", "any"),
            "vmlinuz": ("kernel", "any"),
            "vmlinuz-6.1.0-13-amd64": ("kernel", "any"),
            "shimx64.efi": ("shim", "efi-x64"),
            "grubx64.efi": ("grub", "efi-x64"),
            "grubaa64.efi": ("grub", "efi-arm64"),
            "grubnetx64.efi": ("grub", "efi-x64"),
            "boot/wdsnbp.com": ("wdsnbp", "bios"),
            "pxeboot.n12": ("nbp", "bios"),
        }
        for name, (kind, arch) in expected.items():
            with self.subTest(name=name):
                guess = standins.guess(name)
                self.assertEqual((guess.kind, guess.arch), (kind, arch))
                data = standins.content(name, guess)
                self.assertEqual(standins.read(data), (kind, arch), "content must say it")

    def test_shim_stand_in_brings_its_grub(self):
        """A shim's stand-in comes with the GRUB it loads, from its directory."""
        with tempfile.TemporaryDirectory() as root:
            standins.write(root, "efi/shimaa64.efi", standins.guess("efi/shimaa64.efi"))
            with open(os.path.join(root, "efi", "grubaa64.efi"), "rb") as f:
                self.assertEqual(standins.read(f.read()), ("grub", "efi-arm64"))
            # and that GRUB with its config, at its prefix /grub of the root
            with open(os.path.join(root, "grub", "grub.cfg"), "rb") as f:
                self.assertEqual(standins.read(f.read()), ("grub-cfg", "any"))

    def test_programs_after_a_boot_file(self):
        """GRUB's DISCOVER: option 53 alone in 300 bytes, secs the low half
        of the xid; its REQUEST the eight-byte list.  wdsnbp: ciaddr, secs
        65535, bare PXEClient, 250.  The initramfs: Linux ipconfig."""
        grub = clients.program("grub-net-efi")
        discover = grub.packet(dhcp.DISCOVER, 0x6b0e3cfc, "52:54:00:77:00:02")
        self.assertEqual(len(discover), 300)
        self.assertEqual(discover[8:10], b"\x3c\xfc")
        self.assertEqual(discover[240:244], b"\x35\x01\x01\xff")
        request = dhcp.parse_packet(grub.packet(
            dhcp.REQUEST, 0x6b0e3cfc, "52:54:00:77:00:02",
            extra={dhcp.OPT_SERVER_ID: dhcp.ip_bytes("10.77.0.1"),
                   dhcp.OPT_REQUESTED_IP: dhcp.ip_bytes("10.77.0.130")}))
        self.assertEqual(list(request.options), [53, 54, 50, 55])
        self.assertEqual(request.options[55], bytes([1, 3, 6, 15, 12, 17, 18, 60]))
        wds = clients.program("wdsnbp").packet(dhcp.REQUEST, 7, "00:1b:21:77:00:01",
                                               ciaddr="10.77.0.100")
        parsed = dhcp.parse_packet(wds)
        self.assertEqual((wds[8:10], parsed.ciaddr), (b"\xff\xff", "10.77.0.100"))
        self.assertEqual(parsed.options[60], b"PXEClient")
        self.assertEqual(parsed.options[250][:2], b"\x01\x02")
        initramfs = clients.program("initramfs-ipconfig")
        self.assertEqual(initramfs.values[clients.VENDOR_CLASS], b"Linux ipconfig")
        self.assertFalse(initramfs.handles_proxy())

    def test_chain_compression(self):
        """A loop's repeats are written once with a count."""
        tokens = ["pxe"] + ["undionly.kpxe", "ipxe"] * 8 + ["undionly.kpxe"]
        self.assertEqual(lab.compress(tokens),
                         ["pxe", "(undionly.kpxe → ipxe) ×8", "undionly.kpxe"])
        self.assertEqual(lab.compress(["pxe", "a", "ipxe"]), ["pxe", "a", "ipxe"])

    def test_ipxe_settings_expansion(self):
        """iPXE's ${mac} and friends in boot file names."""
        machine = clients.machines()[0]
        self.assertEqual(boot.expand_settings("x?m=${mac:hexhyp}&u=${uuid}&z=${nope}", machine),
                         f"x?m={machine.mac.replace(':', '-')}&u={machine.uuid}&z=")


@unittest.skipUnless(IS_ROOT, "needs root (network namespaces)")
@unittest.skipUnless(os.access(CLI, os.X_OK), f"no pxeclass CLI at {CLI} (set PXC_CLI)")
class LabRunTest(unittest.TestCase):
    """`pxeclass lab` run as a user runs it."""

    def test_default_config_reaches_the_script_everywhere(self):
        """Without --config: examples/lab.conf, every client type reaches
        boot.ipxe by the expected chain, within the time budget."""
        status, out, err, seconds = run_lab("--json")
        self.assertEqual(status, 0, err)
        self.assertLess(seconds, DEFAULT_RUN_BUDGET)
        chains = {o["client"]: o for o in map(json.loads, out.splitlines())}
        self.assertEqual(sorted(chains), sorted(DEFAULT_CHAINS))
        for name, expected in DEFAULT_CHAINS.items():
            with self.subTest(client=name):
                chain = chains[name]
                self.assertEqual(chain["chain"], expected)
                self.assertEqual((chain["verdict"], chain["hops"]), ("script", 1))
                self.assertFalse(chain["guard_tripped"])
                own = chain["stages"][1]
                self.assertTrue(any(" pxeclass: class=ipxe own=own" in l for l in own["log"]),
                                "the label must come from dnsmasq's own log")
                self.assertEqual(own["fetched"], {"kind": "script", "arch": "any"})
        self.assertEqual(chains["bios-pxe"]["stages"][0]["fetch"],
                         "tftp://10.77.0.1/undionly.kpxe")
        self.assertEqual(chains["arm64-http"]["stages"][0]["fetch"],
                         "http://10.77.0.1/ipxe-arm64.efi")

    def test_default_text_output(self):
        """The text report: one line per client type and a summary."""
        status, out, err, _ = run_lab("--client", "bios-pxe", "--client", "uefi-x64-http")
        self.assertEqual(status, 0, err)
        self.assertRegex(out, r"(?m)^bios-pxe: +pxe → undionly\.kpxe → ipxe\(own\) → "
                              r"boot\.ipxe +\[1 hop\] script reached$")
        self.assertRegex(out, r"(?m)^2 client types: 2 reached a script, NBP or the OS")

    def test_loop_is_reported_and_fails(self):
        """A config that hands iPXE undionly.kpxe again loops: LOOP after
        the hop limit, a non-zero exit status."""
        config = os.path.join(CONFIGS, "loop.conf")
        status, chains, err, _ = run_json("--config", config, "--client", "bios-pxe",
                                          "--client", "uefi-x64-pxe")
        self.assertEqual(status, 1, err)
        bios = chains["bios-pxe"]
        self.assertEqual((bios["verdict"], bios["hops"]), ("loop", boot.HOP_LIMIT))
        self.assertEqual(bios["chain"][:3], ["pxe", "undionly.kpxe", "ipxe"])
        self.assertEqual(len(bios["stages"]), boot.HOP_LIMIT + 1)
        self.assertTrue(all(s["file"] == "undionly.kpxe" for s in bios["stages"]))
        self.assertTrue(bios["hints"])
        self.assertEqual(chains["uefi-x64-pxe"]["verdict"], "dead-end")
        status, out, _, _ = run_lab("--config", config, "--client", "bios-pxe")
        self.assertEqual(status, 1)
        self.assertIn("(undionly.kpxe → ipxe) ×8", out)
        self.assertIn("LOOP", out)

    def test_guard_trips_and_the_fallback_is_reached(self):
        """The loop guard's tag leads to the fallback script; dnsmasq's loop
        warning is shown with the chain."""
        status, chains, err, _ = run_json("--config", os.path.join(CONFIGS, "guard.conf"),
                                          "--client", "bios-pxe", "--client", "qemu-ipxe")
        self.assertEqual(status, 0, err)
        for name in ("bios-pxe", "qemu-ipxe"):
            with self.subTest(client=name):
                chain = chains[name]
                self.assertTrue(chain["guard_tripped"])
                self.assertEqual(chain["verdict"], "script")
                self.assertEqual(chain["chain"][-1], "loop.ipxe")
                self.assertEqual(chain["hops"], 3)
                self.assertIn("fallback loop.ipxe reached", chain["reason"])
                self.assertTrue(any("chainload loop: " + chain["mac"] in w
                                    for w in chain["warnings"]), chain["warnings"])
                self.assertIn("chain-loop", chain["stages"][-1]["tags"])

    def test_broken_line_names_the_line(self):
        """dnsmasq's complaint about a bad line, pointed at the user's file."""
        config = os.path.join(CONFIGS, "broken-line.conf")
        status, out, err, _ = run_lab("--config", config)
        self.assertEqual(status, 2)
        self.assertIn(f"at line 6 of {config}", err)
        self.assertIn("unknown architecture 'efi-x65'", err)
        self.assertIn("dhcp-pxe-arch=set:efi,efi-x65", err)
        status, _, _, objects = run_json("--config", config)
        self.assertEqual(status, 2)
        self.assertEqual((objects[0]["line"], objects[0]["file"]), (6, config))

    def test_whole_config_error_finds_its_line(self):
        """An error without a line number (ipxe-own without an identity) is
        placed by the line it quotes; the lab's own lines (interface=) are
        not the problem."""
        config = os.path.join(CONFIGS, "no-identity.conf")
        status, _, _, objects = run_json("--config", config)
        self.assertEqual(status, 2)
        self.assertIn("ipxe-own needs at least one dhcp-ipxe-own", objects[0]["error"])
        self.assertEqual(objects[0]["line"], 6)

    def test_arm64_given_the_x64_binary_is_a_wrong_arch_dead_end(self):
        """The stand-in's architecture (from its name) against the client's."""
        status, chains, err, _ = run_json(
            "--config", os.path.join(CONFIGS, "arm64-gets-x64.conf"),
            "--client", "arm64-pxe", "--client", "uefi-x64-pxe")
        self.assertEqual(status, 0, err)
        arm = chains["arm64-pxe"]
        self.assertEqual((arm["verdict"], arm["chain"]), ("dead-end", ["pxe", "ipxe.efi"]))
        self.assertIn("wrong architecture", arm["reason"])
        self.assertIn("x64 UEFI iPXE binary", arm["reason"])
        self.assertEqual(arm["stages"][0]["fetched"], {"kind": "ipxe", "arch": "efi-x64"})
        self.assertEqual(chains["uefi-x64-pxe"]["verdict"], "script")

    def assert_last_stage(self, chain, cls):
        """The chain's last stage is the program's own request, and
        dnsmasq's log classified it as CLS."""
        last = chain["stages"][-1]
        self.assertEqual(last["label"], cls)
        self.assertTrue(any(f" pxeclass: class={cls}" in l for l in last["log"]), last["log"])
        self.assertTrue(last["address"].startswith("10.77.0."))

    def test_kernel_initramfs_reaches_the_os(self):
        """PXE → iPXE → kernel: the initramfs's DHCP (klibc ipconfig) is
        class os, and the chain reached the OS."""
        status, chains, err, _ = run_json("--config", os.path.join(CONFIGS, "kernel.conf"),
                                          "--client", "bios-pxe", "--client", "qemu-ipxe")
        self.assertEqual(status, 0, err)
        for name, first in (("bios-pxe", "pxe"), ("qemu-ipxe", "ipxe(vendor)")):
            with self.subTest(client=name):
                chain = chains[name]
                self.assertEqual(chain["chain"], [first, "undionly.kpxe", "ipxe(own)",
                                                  "vmlinuz", "os"])
                self.assertEqual((chain["verdict"], chain["hops"]), ("os", 2))
                self.assertIn("reached the OS", chain["reason"])
                self.assert_last_stage(chain, "os")
        status, out, _, _ = run_lab("--config", os.path.join(CONFIGS, "kernel.conf"),
                                    "--client", "bios-pxe")
        self.assertRegex(out, r"(?m)^bios-pxe: +pxe → undionly\.kpxe → ipxe\(own\) → "
                              r"vmlinuz → os +\[2 hops\] reached the OS")

    def test_uefi_shim_grub(self):
        """UEFI PXE → shim → GRUB: shim loads grubx64.efi by TFTP, GRUB's
        own DISCOVER and REQUEST are class grub."""
        status, chains, err, _ = run_json("--config", os.path.join(CONFIGS, "shim-grub.conf"),
                                          "--client", "uefi-x64-pxe")
        self.assertEqual(status, 0, err)
        chain = chains["uefi-x64-pxe"]
        self.assertEqual(chain["chain"], ["pxe", "shimx64.efi", "shim", "grubx64.efi", "grub"])
        self.assertEqual(chain["verdict"], "grub")
        self.assertIn("GRUB reached (its config asked DHCP)", chain["reason"])
        self.assertEqual(chain["stages"][1]["fetch"], "tftp://10.77.0.1/grubx64.efi")
        self.assertEqual(chain["stages"][-1]["fetch"], "tftp://10.77.0.1/grub/grub.cfg")
        self.assert_last_stage(chain, "grub")

    def test_uefi_shim_grub_under_a_proxy(self):
        """Proxy mode, as Debian's GRUB behaves (tests/firmware scenario o):
        shim from the boot server on port 4011, then GRUB reads grub.cfg
        from the next server of the site's DHCPACK, finds none there and
        stops: no GRUB DHCP, nothing for the proxy to see."""
        status, chains, err, _ = run_json(
            "--config", os.path.join(CONFIGS, "shim-grub-proxy.conf"), "--client", "uefi-x64-pxe")
        self.assertEqual(status, 0, err)
        chain = chains["uefi-x64-pxe"]
        self.assertEqual(chain["chain"], ["pxe[proxy+4011]", "shimx64.efi", "shim",
                                          "grubx64.efi", "grub"])
        self.assertEqual(chain["verdict"], "dead-end")
        self.assertRegex(chain["reason"], r"^GRUB reads its config from the site's DHCP server "
                                          r"\(10\.77\.0\.2, next server of the DHCPACK")
        self.assertIn("tftp://10.77.0.2/grub/grub.cfg", chain["reason"])
        self.assertIn("next-server 10.77.0.1", chain["reason"])
        grub = chain["stages"][-1]
        self.assertEqual(grub["fetch"], "tftp://10.77.0.2/grub/grub.cfg")
        self.assertEqual((grub["xids"], grub["exchanges"], grub["log"]), ([], [], []))
        status, out, _, _ = run_lab("--config", os.path.join(CONFIGS, "shim-grub-proxy.conf"),
                                    "--client", "uefi-x64-pxe")
        self.assertRegex(out, r"(?m)^uefi-x64-pxe: .* → grub +\[\d hops?\] dead end: GRUB "
                              r"reads its config from the site's DHCP server")

    def test_proxy_shim_grub_fixed_on_the_site_server(self):
        """examples/03b with the site's fix (its ACK names the boot server as
        next server): GRUB reads grub.cfg from the proxy's TFTP, its config
        asks DHCP, the site's server answers and the proxy logs class grub."""
        status, chains, err, _ = run_json(
            "--config", os.path.join(EXAMPLES, "03b-proxy-shim-grub.conf"),
            "--client", "uefi-x64-pxe", "--site-next-server", "10.77.0.1")
        self.assertEqual(status, 0, err)
        chain = chains["uefi-x64-pxe"]
        self.assertEqual(chain["chain"], ["pxe[proxy+4011]", "shimx64.efi", "shim",
                                          "grubx64.efi", "grub"])
        self.assertEqual(chain["verdict"], "grub", chain["reason"])
        self.assertIn("its config asked DHCP", chain["reason"])
        grub = chain["stages"][-1]
        self.assertEqual(grub["fetch"], "tftp://10.77.0.1/grub/grub.cfg")
        self.assertTrue(grub["exchanges"] and all("10.77.0.2 " in e for e in grub["exchanges"]),
                        grub["exchanges"])
        self.assertFalse(any("proxy" in e for e in grub["exchanges"]), grub["exchanges"])
        self.assert_last_stage(chain, "grub")
        # the same config without the fix is the dead end
        status, chains, err, _ = run_json(
            "--config", os.path.join(EXAMPLES, "03b-proxy-shim-grub.conf"),
            "--client", "uefi-x64-pxe")
        self.assertEqual(chains["uefi-x64-pxe"]["verdict"], "dead-end", err)

    def test_site_next_server_must_be_an_address(self):
        """--site-next-server takes an IPv4 address, nothing else."""
        status, _, err, _ = run_lab("--config", os.path.join(EXAMPLES, "03b-proxy-shim-grub.conf"),
                                    "--site-next-server", "bootserver")
        self.assertNotEqual(status, 0)
        self.assertIn("--site-next-server 'bootserver': not an IPv4 address", err)

    def test_bios_pxe_wdsnbp(self):
        """BIOS PXE → wdsnbp.com: its REQUEST from the leased address is class wds."""
        status, chains, err, _ = run_json("--config", os.path.join(CONFIGS, "wds.conf"),
                                          "--client", "bios-pxe")
        self.assertEqual(status, 0, err)
        chain = chains["bios-pxe"]
        self.assertEqual(chain["chain"], ["pxe", "wdsnbp.com", "wds"])
        self.assertEqual(chain["verdict"], "wds")
        self.assertEqual(chain["stages"][1]["address"], chain["stages"][0]["address"])
        self.assert_last_stage(chain, "wds")

    def test_proxy_config_chains_through_port_4011(self):
        """examples/03: addresses from a plain DHCP server, boot files from
        the proxy's boot server on port 4011."""
        status, chains, err, _ = run_json(
            "--config", os.path.join(EXAMPLES, "03-proxy-by-arch.conf"),
            "--client", "bios-pxe", "--client", "uefi-x64-pxe", "--client", "vbox-ipxe")
        self.assertEqual(status, 0, err)
        self.assertEqual(chains["bios-pxe"]["chain"],
                         ["pxe[proxy+4011]", "undionly.kpxe", "ipxe[proxy+4011]", "boot.ipxe"])
        self.assertEqual(chains["uefi-x64-pxe"]["chain"],
                         ["pxe[proxy+4011]", "ipxe.efi", "ipxe[proxy+4011]", "boot.ipxe"])
        for name in ("bios-pxe", "uefi-x64-pxe"):
            with self.subTest(client=name):
                chain = chains[name]
                self.assertEqual(chain["verdict"], "script")
                first = chain["stages"][0]
                self.assertTrue(any(e.startswith("4011 ") and "file=" in e
                                    for e in first["exchanges"]), first["exchanges"])
                address = [e for e in first["exchanges"] if e.startswith("REQUEST→ACK")]
                self.assertIn("10.77.0.2", address[0], "the address comes from the other server")
        # VirtualBox's iPXE has no HTTP: the example chainloads it too.
        vbox = chains["vbox-ipxe"]
        self.assertEqual(vbox["chain"], ["ipxe[proxy+4011]", "undionly.kpxe",
                                         "ipxe[proxy+4011]", "boot.ipxe"])
        self.assertEqual(vbox["verdict"], "script")

    def test_a_site_config_runs_as_it_is(self):
        """A site's config: another subnet, its own interface/TFTP root/user
        and log lines (the lab's to decide), an include, a TFTP server
        address, a host name and port in the script URL, dhcp-ignore."""
        with tempfile.TemporaryDirectory() as tmp:
            include = os.path.join(tmp, "pxe.conf")
            with open(include, "w") as f:
                f.write("dhcp-match=set:ipxe,175\n"
                        "dhcp-match=set:efi-x64,option:client-arch,7\n"
                        "dhcp-boot=tag:!ipxe,tag:!efi-x64,pxelinux/undionly.kpxe,boot,"
                        "192.168.50.5\n"
                        "dhcp-boot=tag:!ipxe,tag:efi-x64,efi/snponly.efi,boot,192.168.50.5\n"
                        "dhcp-boot=tag:ipxe,http://boot.example.com:8080/menu/boot.ipxe\n"
                        "dhcp-vendorclass=set:http,HTTPClient\n"
                        "dhcp-ignore=tag:http\n")
            site = os.path.join(tmp, "site.conf")
            with open(site, "w") as f:
                f.write("interface=eth1\nlisten-address=192.168.50.2\nuser=dnsmasq\n"
                        "log-facility=/var/log/pxe.log\ntftp-root=/srv/tftp\n"
                        "enable-tftp=eth1\n"
                        "dhcp-range=192.168.50.100,192.168.50.200,255.255.255.0,12h\n"
                        f"conf-file={include}\n")
            status, chains, err, _ = run_json("--config", site, "--client", "bios-pxe",
                                              "--client", "uefi-x64-pxe", "--client",
                                              "uefi-x64-http")
        self.assertEqual(status, 0, err)
        bios = chains["bios-pxe"]
        self.assertEqual(bios["chain"], ["pxe", "undionly.kpxe", "ipxe", "boot.ipxe"])
        self.assertEqual(bios["stages"][0]["fetch"], "tftp://192.168.50.5/pxelinux/undionly.kpxe")
        self.assertTrue(bios["stages"][0]["address"].startswith("192.168.50."))
        self.assertEqual(bios["stages"][1]["fetch"], "http://boot.example.com:8080/menu/boot.ipxe")
        self.assertEqual(chains["uefi-x64-pxe"]["verdict"], "script")
        http = chains["uefi-x64-http"]
        self.assertEqual((http["verdict"], http["reason"]), ("dead-end", "no reply: no DHCP offer"))

    @unittest.skipUnless(os.access(STOCK, os.X_OK), "set PXC_DNSMASQ_STOCK")
    def test_stock_dnsmasq_is_called_out(self):
        """Stock dnsmasq rejects the first pxeclass line: the lab says why."""
        status, _, err, _ = run_lab("--dnsmasq", STOCK)
        self.assertEqual(status, 2)
        self.assertIn("bad option at line", err)
        self.assertIn("is it the pxeclass-patched dnsmasq?", err)

    def test_needs_root(self):
        """Run as an unprivileged user: a clear message and status 3."""
        status, _, err, _ = run_lab(user=65534)
        self.assertEqual(status, 3)
        self.assertIn("needs root", err)


if __name__ == "__main__":
    testing.main()
