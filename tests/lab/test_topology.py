"""Network tests of `pxeclass lab --topology` with one patched dnsmasq.

Each topology plays a few client types through the real command (PXC_CLI)
against the patched dnsmasq PXC_DNSMASQ (meson runs this file once per
built version) and checks what reaches the report: the chains of the flat
lab, each stage's server, and the dead ends a topology causes.

  relay, relay-dnsmasq  the boot server behind ISC dhcrelay or dnsmasq's
                        dhcp-relay: the flat chains, every answer from the
                        boot server's transit address, `chained` (lab.conf's
                        own iPXE) kept through relayed requests; a
                        proxyDHCP config's 4011 requests routed through
  rival                 a plain server answering first: the offer without a
                        boot file taken, and the boot server's log showing
                        the REQUEST naming the rival struck its offer; a
                        proxyDHCP config boots from the boot server with its
                        address from the rival
  pair                  lab.conf twice with dhcp-chain-peer: the flat chains
                        (no extra hop) whichever instance answers, both
                        instances judging every request; a second config

Run: PXC_CLI=build/tools/pxeclass PXC_DNSMASQ=build/patches/dnsmasq-2.93 \
     python3 tests/lab/test_topology.py
"""

import json
import os
import shutil
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools"))

from pxelab import testing, topology  # noqa: E402

CLI = os.environ.get("PXC_CLI", os.path.join(ROOT, "build", "tools", "pxeclass"))
DNSMASQ = os.environ.get("PXC_DNSMASQ", "")
EXAMPLES = os.path.join(ROOT, "examples")
CONFIGS = os.path.join(HERE, "configs")
PROXY_CONFIG = os.path.join(EXAMPLES, "03-proxy-by-arch.conf")
PAIR_CONFIG = os.path.join(CONFIGS, "pair.conf")

# lab.conf's chains (test_lab.py's DEFAULT_CHAINS) for the clients played
# here: the bare labels, without the topology's @server.
OWN = ["undionly.kpxe", "ipxe(own)", "boot.ipxe"]
FLAT_CHAINS = {
    "bios-pxe": ["pxe"] + OWN,
    "uefi-x64-pxe": ["pxe", "ipxe.efi", "ipxe(own)", "boot.ipxe"],
    "qemu-ipxe": ["ipxe(vendor)"] + OWN,
    "own-ipxe": ["ipxe(vendor)"] + OWN,
}
PROXY_CHAINS = {
    "bios-pxe": ["pxe[proxy+4011]", "undionly.kpxe", "ipxe[proxy+4011]", "boot.ipxe"],
    "qemu-ipxe": ["ipxe[proxy+4011]", "boot.ipxe"],
}


def lab(*args):
    """Run `pxeclass lab --json --dnsmasq PXC_DNSMASQ ARGS`: (status,
    {client: object}, stderr)."""
    proc = subprocess.run([CLI, "lab", "--json", "--dnsmasq", DNSMASQ, *args],
                          capture_output=True, text=True, timeout=180)
    objects = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    return proc.returncode, {o["client"]: o for o in objects if "client" in o}, proc.stderr


def clients(names):
    """--client arguments for NAMES."""
    return [a for name in names for a in ("--client", name)]


def bare(token):
    """A chain token without the topology's @server."""
    return token.split("@", 1)[0]


def sources(chain):
    """The server name of each stage that has one."""
    return [s["source"] for s in chain["stages"] if s["source"]]


needs_lab = unittest.skipUnless(
    testing.CAN_USE_NAMESPACES and testing.executable(CLI) and testing.executable(DNSMASQ),
    "needs root, PXC_CLI and PXC_DNSMASQ (a patched dnsmasq)")


@needs_lab
class RelayTest(unittest.TestCase):
    """The boot server behind a relay."""

    def check_relayed(self, shape):
        status, chains, err = lab("--topology", shape, *clients(FLAT_CHAINS))
        self.assertEqual(status, 0, err)
        transit = "198.18.0.1"
        for name, want in FLAT_CHAINS.items():
            chain = chains[name]
            self.assertEqual([bare(t) for t in chain["chain"]], want, name)
            self.assertEqual(chain["verdict"], "script", name)
            self.assertEqual(set(sources(chain)), {"boot"}, name)
            # every answer came from the boot server's side of the relay
            offers = [e for s in chain["stages"] for e in s["exchanges"]]
            self.assertTrue(offers and all(transit in e for e in offers), offers)
        self.assertIn(f"topology {shape}", err)

    def test_isc_dhcrelay(self):
        """ISC dhcrelay: the flat chains; `chained` holds on relayed requests
        (the tracker keys on chaddr, not giaddr)."""
        if not shutil.which("dhcrelay"):
            self.fail("ISC dhcrelay missing: tools/setup installs isc-dhcp-relay")
        self.check_relayed("relay")

    def test_dnsmasq_dhcp_relay(self):
        """dnsmasq's own dhcp-relay: the same."""
        self.check_relayed("relay-dnsmasq")

    def test_proxy_behind_relay(self):
        """A proxyDHCP config behind the relay: its proxy offers come back
        through it, the 4011 requests are routed to it."""
        status, chains, err = lab("--topology", "relay", "--config", PROXY_CONFIG,
                                  *clients(PROXY_CHAINS))
        self.assertEqual(status, 0, err)
        for name, want in PROXY_CHAINS.items():
            self.assertEqual([bare(t) for t in chains[name]["chain"]], want, name)
            self.assertEqual(set(sources(chains[name])), {"boot"}, name)
            self.assertEqual({s["address_source"] for s in chains[name]["stages"]},
                             {"address-server"}, name)


@needs_lab
class RivalTest(unittest.TestCase):
    """A plain DHCP server on the clients' link answering first."""

    def test_offer_without_boot_file_taken(self):
        """Every client takes the rival's plain offer: the dead end says so,
        and the boot server's tracker struck its own offer when the client's
        REQUEST named the rival."""
        names = ["bios-pxe", "qemu-ipxe"]
        status, chains, err = lab("--topology", "rival", *clients(names))
        self.assertEqual(status, 0, err)
        for name in names:
            chain = chains[name]
            self.assertEqual(chain["verdict"], "dead-end", name)
            self.assertTrue(chain["reason"].startswith("an offer without a boot file taken"),
                            chain["reason"])
            self.assertEqual(sources(chain), ["rival"])
            logged = [l for l in chain["stages"][0]["log"] if " pxeclass: " in l]
            self.assertEqual(len(logged), 2, logged)       # DISCOVER, REQUEST
            self.assertTrue(logged[0].endswith("@0s"), logged[0])
            self.assertTrue(logged[1].endswith("@0s>(another server's)"), logged[1])

    def test_proxy_next_to_rival(self):
        """A proxyDHCP config: the address from the rival, the boot file
        from the boot server, the proxy chains."""
        status, chains, err = lab("--topology", "rival", "--config", PROXY_CONFIG,
                                  *clients(PROXY_CHAINS))
        self.assertEqual(status, 0, err)
        for name, want in PROXY_CHAINS.items():
            chain = chains[name]
            self.assertEqual([bare(t) for t in chain["chain"]], want, name)
            self.assertEqual(set(sources(chain)), {"boot"}, name)
            self.assertEqual({s["address_source"] for s in chain["stages"]}, {"rival"})


@needs_lab
class PairTest(unittest.TestCase):
    """Two instances of a config on one link."""

    def test_two_instances_one_verdict(self):
        """lab.conf with dhcp-chain-peer, twice: the flat chains whichever
        instance answers each stage (a byte-identical chainload answered by
        the other instance is still chained: no extra hop), and both
        instances judged every request."""
        for _ in range(2):          # which instance answers is a race: twice
            status, chains, err = lab("--topology", "pair", "--config", PAIR_CONFIG,
                                      "--verbose", *clients(FLAT_CHAINS))
            self.assertEqual(status, 0, err)
            self.assertIn("each instance names the other's lab address", err)
            for name, want in FLAT_CHAINS.items():
                chain = chains[name]
                self.assertEqual([bare(t) for t in chain["chain"]], want, name)
                self.assertLessEqual(set(sources(chain)), {"boot", "boot#2"})
                for stage in chain["stages"]:
                    seconds = [l for l in stage["log"] if l.startswith("[boot#2] ")]
                    self.assertTrue(seconds, stage)

    def test_second_config(self):
        """--pair-config: the second instance runs another config (here
        guard.conf: undionly.kpxe for every ROM, a loop guard); the note
        names it, the BIOS client still reaches a script, and the second
        instance, running guard.conf, judged every stage (its log lines)."""
        status, chains, err = lab("--topology", "pair", "--pair-config",
                                  os.path.join(CONFIGS, "guard.conf"), "--verbose",
                                  *clients(["bios-pxe"]))
        self.assertEqual(status, 0, err)
        self.assertIn("guard.conf on the same link", err)
        chain = chains["bios-pxe"]
        self.assertEqual(chain["verdict"], "script")
        self.assertEqual(bare(chain["chain"][-1]), "boot.ipxe")
        for stage in chain["stages"]:
            self.assertTrue([l for l in stage["log"] if l.startswith("[boot#2] ")], stage)

    def test_pair_config_needs_pair(self):
        """--pair-config without --topology pair is a usage error."""
        status, _, err = lab("--topology", "rival", "--pair-config", PAIR_CONFIG)
        self.assertEqual(status, 2)
        self.assertIn("--pair-config goes with --topology pair", err)


class OfflineTest(unittest.TestCase):
    """The parts that need no network."""

    def test_topology_names(self):
        """Every shape is made by its name; an unknown one is refused."""
        for name in topology.TOPOLOGIES:
            self.assertEqual(topology.make(name).name, name)
        with self.assertRaises(ValueError):
            topology.make("mesh")


if __name__ == "__main__":
    testing.main()
