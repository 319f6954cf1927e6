"""Real-firmware tests: QEMU boots SeaBIOS/iPXE and OVMF PXE/HTTP Boot against dnsmasq.

Each scenario of scenarios.SCENARIOS becomes one test method that boots the
firmware through the dnsmasq binary named by PXC_DNSMASQ (stock or patched)
and asserts the whole chain from the servers' own logs and the serial
console.  The boots need root (namespaces, tap) and QEMU; without them, or
without PXC_DNSMASQ, they are skipped with the reason, which fails the file
unless PXC_ALLOW_SKIP=1 (pxelab.testing).  The checks of the chain matcher
itself run everywhere.

  PXC_DNSMASQ=/path/to/dnsmasq python3 -m unittest tests/firmware/test_firmware.py -v
  PXC_DNSMASQ_PEER=FILE      the plain DHCP server next to a proxy (a stock build)
  PXC_FW_SCENARIOS=a-seabios-virtio,e-loop-seabios   only these scenarios
  PXC_FW_CONFIG_DIR=DIR      DIR/<scenario>.conf replaces the stock config
  PXC_FW_RESULTS=FILE        append boot times as JSON lines
  PXC_FW_KEEP=1              keep every work directory (failed ones are always kept)
  PXC_IPXE_CSTM=FILE         a prebuilt CSTM undionly.kpxe (else build-ipxe-cstm)
  PXC_IPXE_CSTM_EFI=FILE     a prebuilt CSTM ipxe.efi (else build-ipxe-cstm)
"""

import os
import shutil
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))

import scenarios  # noqa: E402
from pxelab import testing  # noqa: E402
from scenarios import Expect, check_chain, dnsmasq, in_thread, never, serial  # noqa: E402


def setUpModule():
    """Let a SIGTERM unwind the running boot so its processes are stopped."""
    scenarios.interrupt_on_sigterm()


def boot_skip_reason():
    """Why real-firmware boots cannot run here, or None if they can."""
    binary = os.environ.get("PXC_DNSMASQ")
    if not binary:
        return "PXC_DNSMASQ is not set (path of the dnsmasq binary to boot against)"
    if not os.access(binary, os.X_OK):
        return f"PXC_DNSMASQ={binary} is not an executable file"
    if os.geteuid() != 0:
        return "needs root (network namespaces, tap device)"
    missing = scenarios.qemu.qemu_available()
    if missing:
        return f"QEMU/firmware missing: {missing}"
    return None


def selected_scenarios():
    """The scenarios PXC_FW_SCENARIOS lists (all when unset); a name that
    is no scenario is an error, not an empty run."""
    wanted = os.environ.get("PXC_FW_SCENARIOS")
    if not wanted:
        return list(scenarios.SCENARIOS.values())
    names = [item.strip() for item in wanted.split(",") if item.strip()]
    unknown = [name for name in names if name not in scenarios.SCENARIOS]
    if unknown:
        raise SystemExit("PXC_FW_SCENARIOS: no scenario %s (known: %s)"
                         % (", ".join(unknown), ", ".join(scenarios.SCENARIOS)))
    return [scenarios.SCENARIOS[name] for name in names]


class ChainMatcherTest(unittest.TestCase):
    """The matcher must fail on wrong order, missing counts and forbidden lines."""

    STREAMS = {"dnsmasq": "DHCPACK one\nsent /r/undionly.kpxe to x\nsent /r/undionly.kpxe to x\n",
               "serial": "iPXE starting\nFilename: undionly.kpxe\nPXC-MARKER-z\n"}

    def test_in_order_chain_holds(self):
        expects = (dnsmasq("DHCPACK"), dnsmasq(r"sent \S+undionly", count=2),
                   serial("starting"), serial("^PXC-MARKER-z$"))
        self.assertEqual(check_chain(expects, self.STREAMS), [])

    def test_wrong_order_fails(self):
        problems = check_chain((serial("PXC-MARKER"), serial("starting")), self.STREAMS)
        self.assertEqual(len(problems), 1)
        self.assertIn("/starting/ seen 0 of 1", problems[0])

    def test_count_beyond_what_happened_fails(self):
        problems = check_chain((dnsmasq(r"sent \S+undionly", count=3),), self.STREAMS)
        self.assertIn("seen 2 of 3", problems[0])

    def test_forbidden_pattern_fails(self):
        problems = check_chain((never("serial", "undionly"),), self.STREAMS)
        self.assertEqual(problems, ["serial: unexpected /undionly/"])

    def test_threads_are_ordered_only_within_themselves(self):
        # DHCPv4 and DHCPv6 of one iPXE interleave: each thread in order, any mix
        log = {"dnsmasq": "DISCOVER\nSOLICIT\nOFFER\nADVERTISE\n"}
        v4 = in_thread("v4", dnsmasq("DISCOVER"), dnsmasq("OFFER"))
        v6 = in_thread("v6", dnsmasq("SOLICIT"), dnsmasq("ADVERTISE"))
        self.assertEqual(check_chain((*v6, *v4), log), [])
        # within a thread the order still holds
        backwards = in_thread("v6", dnsmasq("ADVERTISE"), dnsmasq("SOLICIT"))
        self.assertEqual(len(check_chain(backwards, log)), 1)
        # and the main order is not moved by a thread
        self.assertEqual(check_chain((*v6, dnsmasq("DISCOVER")), log), [])

    def test_missing_stream_fails(self):
        self.assertTrue(check_chain((Expect("http", "GET"),), self.STREAMS))

    def test_every_scenario_waits_for_something_and_checks_each_source(self):
        for scenario in scenarios.SCENARIOS.values():
            streams = {expect.stream for expect in scenario.expect}
            self.assertLessEqual({"dnsmasq", "serial"}, streams, scenario.name)
            if scenario.peer_config:
                self.assertIn("peer", streams, scenario.name)
                self.assertTrue((scenarios.REPO / scenario.peer_config).is_file())
            self.assertIn(scenario.profile, scenarios.qemu.PROFILES, scenario.name)
            self.assertTrue((scenarios.REPO / scenario.config).is_file(), scenario.config)
            for source in scenario.files.values():
                self.assertIn(source, scenarios.FILE_SOURCES, scenario.name)

    def test_every_scenario_script_echoes_its_marker(self):
        """A script (iPXE's, or GRUB's grub.cfg) echoes the marker the boot
        waits for; every other script is an iPXE script."""
        for scenario in scenarios.SCENARIOS.values():
            files = scenario.script_files()
            ipxe = [text for name, text in files.items() if not name.endswith("grub.cfg")]
            self.assertTrue(all(text.startswith("#!ipxe\n") for text in ipxe), scenario.name)
            if scenario.stop_at:
                continue
            echoes = [text for text in files.values() if f"echo {scenario.marker}\n" in text]
            self.assertTrue(echoes, scenario.name)

    def test_example_configs_are_used_unchanged(self):
        """The harness adds lab lines only; no example directive is replaced."""
        for scenario in scenarios.SCENARIOS.values():
            if not scenario.config.startswith("examples/"):
                continue
            original = (scenarios.REPO / scenario.config).read_text().splitlines()
            prepared = scenarios.prepare_config("\n".join(original), "/root-dir").splitlines()
            kept = [line for line in original
                    if scenarios.option_key(line) not in ("", "tftp-root")]
            for line in kept:
                self.assertIn(line, prepared, scenario.name)
            added = [line for line in prepared if line not in original]
            self.assertLessEqual({scenarios.option_key(line) for line in added},
                                 {"tftp-root", "no-ping", "enable-ra", "dhcp-range",
                                  *map(scenarios.option_key, scenarios.LAB_LINES)}, scenario.name)


class ConfigPreparationTest(unittest.TestCase):
    """Stock configs get the test's TFTP root and the speed lines exactly once."""

    def test_tftp_root_replaced_and_speed_lines_added_once(self):
        text = "enable-tftp\ntftp-root=/srv/tftp\nno-ping\n"
        prepared = scenarios.prepare_config(text, "/tmp/root")
        lines = prepared.splitlines()
        self.assertIn("tftp-root=/tmp/root", lines)
        self.assertNotIn("tftp-root=/srv/tftp", lines)
        for line in scenarios.SPEED_LINES:
            self.assertEqual(lines.count(line), 1, line)

    def test_lab_lines_added_only_where_missing(self):
        prepared = scenarios.prepare_config("interface=eth0\nenable-tftp\n", "/r", speed=False)
        lines = prepared.splitlines()
        self.assertIn("interface=eth0", lines)
        self.assertNotIn("interface=br0", lines)
        self.assertIn("log-dhcp", lines)
        self.assertIn("tftp-root=/r", lines)
        self.assertNotIn("no-ping", lines)

    def test_dhcpv6_config_gets_no_ra_only_range(self):
        # its own range makes the RA (M flag); an RA-only one would compete
        for name in ("07-ipv6-only", "08-http-boot-ipv6", "09-dual-stack"):
            text = (scenarios.REPO / "examples" / f"{name}.conf").read_text()
            lines = scenarios.prepare_config(text, "/r").splitlines()
            self.assertNotIn(scenarios.RA_ONLY_RANGE, lines, name)
            self.assertEqual(lines.count("enable-ra"), 1, name)
        lines = scenarios.prepare_config("dhcp-range=10.77.0.100,10.77.0.199\n", "/r")
        self.assertIn(scenarios.RA_ONLY_RANGE, lines.splitlines())

    def test_no_tftp_root_added_to_a_config_without_one(self):
        prepared = scenarios.prepare_config("dhcp-range=10.77.0.100,10.77.0.199\n", "/x",
                                            speed=False)
        self.assertNotIn("tftp-root", prepared)


class FirmwareBootTest(unittest.TestCase):
    """One method per scenario, generated below: boot it, check the chain."""

    def play(self, scenario):
        """Boot `scenario`, record its time, assert every expectation."""
        reason = boot_skip_reason()
        if reason:
            self.skipTest(reason)
        workdir = tempfile.mkdtemp(prefix=f"pxc-fw-{scenario.name}-")
        try:
            result = scenarios.play(scenario, os.environ["PXC_DNSMASQ"], workdir)
        except scenarios.SourceUnavailable as exc:
            shutil.rmtree(workdir, ignore_errors=True)
            self.skipTest(str(exc))
        scenarios.record(result)
        if result.problems:
            self.fail("\n" + result.report())
        if not os.environ.get("PXC_FW_KEEP"):
            shutil.rmtree(workdir, ignore_errors=True)


def _boot_test(scenario):
    """A test method booting `scenario`, documented by its description."""
    def test(self):
        self.play(scenario)
    test.__doc__ = f"{scenario.name}: {scenario.about}"
    return test


# Only the scenarios asked for become tests: a subset is the user's
# choice, not a skip.
for _scenario in selected_scenarios():
    setattr(FirmwareBootTest, f"test_{_scenario.name.replace('-', '_')}", _boot_test(_scenario))


if __name__ == "__main__":
    testing.main()
