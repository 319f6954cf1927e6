#!/usr/bin/env python3
"""Tests of `pxeclass facts --json` and `pxeclass config --json`: the
library's tables as one document, every name in it read back by the
directive parser, and a dnsmasq.conf's pxeclass lines with their file and
line (conf-file and conf-dir followed), identities, guard and errors."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools"))

from pxelab import facts as pyfacts, testing  # noqa: E402

PXECLASS = os.environ.get("PXC_CLI", "build/tools/pxeclass")
DIRECTIVES = ("dhcp-pxe-class", "dhcp-pxe-arch", "dhcp-ipxe-feature", "dhcp-ipxe-version",
              "dhcp-ipxe-busid", "dhcp-ipxe-own", "dhcp-pxe-arch9", "dhcp-chain-guard",
              "dhcp-chain-peer")


def run(*args):
    return subprocess.run([PXECLASS, *args], capture_output=True, text=True)


def facts():
    p = run("facts", "--json")
    if p.returncode != 0:
        raise AssertionError("pxeclass facts failed: " + p.stderr)
    return json.loads(p.stdout)


class Facts(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.facts = facts()

    def test_tables_are_there(self):
        f = self.facts
        self.assertRegex(f["version"], r"^\d+\.\d+\.\d+$")
        self.assertEqual(f["abi"], 1)
        archs = {a["code"]: a for a in f["architectures"]}
        self.assertEqual(archs[7]["name"], "efi-x64")
        self.assertEqual(archs[7]["iana"], "x64 UEFI")
        self.assertEqual(set(archs[16]["families"]), {"efi", "http", "x86", "x64"})
        self.assertEqual({x["name"]: x["code"] for x in f["features"]}["https"], 0x14)
        self.assertEqual({b["name"]: b["type"] for b in f["buses"]}["pci"], 1)
        self.assertEqual([c["name"] for c in f["classes"]],
                         ["none", "pxe", "http-boot", "ipxe", "gpxe", "etherboot", "uboot",
                          "grub", "wds", "bsdp", "flexboot", "loader", "agent", "os"])
        starts = {c["name"] for c in f["classes"] if c["starts_chain"]}
        self.assertEqual(starts, {"pxe", "http-boot", "etherboot", "uboot", "bsdp", "flexboot"})
        not_netboot = {c["name"] for c in f["classes"] if not c["netboot"]}
        self.assertEqual(not_netboot, {"none", "agent", "os"})
        self.assertEqual(f["own"], ["unknown", "vendor", "own"])
        self.assertEqual(f["ip_families"], ["ipv4", "ipv6"])
        self.assertEqual(f["mac_sources"], ["chaddr", "none", "relay", "duid-ll",
                                            "duid-llt", "caller"])
        self.assertEqual(sorted(f["directives"]), sorted(DIRECTIVES))
        self.assertIn("netboot", f["class_selectors"])

    def test_agents_are_listed_and_selectable(self):
        f = self.facts
        agents = {a["name"]: a for a in f["agents"]}
        self.assertEqual(agents["udhcpc"]["class"], "os")
        self.assertEqual(agents["idrac"]["class"], "agent")
        self.assertEqual(agents["freebsd-pxeboot"]["class"], "loader")
        self.assertNotIn("", agents)
        classes = {c["name"] for c in f["classes"]}
        self.assertFalse(classes & set(agents))
        # every agent name is a dhcp-pxe-class selector, after the others
        self.assertEqual(f["class_selectors"][-len(agents):], [a["name"] for a in f["agents"]])

    def test_families_and_flags_are_bits(self):
        f = self.facts
        for key in ("families", "errors", "warnings"):
            with self.subTest(table=key):
                items = f[key]
                self.assertTrue(items)
                self.assertEqual(len({i["name"] for i in items}), len(items))
                for item in items:
                    self.assertEqual(item["mask"], 1 << item["bit"])
        errors = {e["name"]: e for e in f["errors"]}
        self.assertEqual(errors["short"]["bit"], 0)
        self.assertEqual(errors["short"]["text"],
                         "packet shorter than its header (BOOTP's; DHCPv6's or a relay's)")
        self.assertIn("arch-mismatch", {w["name"] for w in f["warnings"]})
        family_names = {x["name"] for x in f["families"]}
        for arch in f["architectures"]:
            self.assertLessEqual(set(arch["families"]), family_names, arch["name"])

    def test_features_are_in_the_range_ipxe_sends(self):
        f = self.facts
        first, last = f["feature_range"]["first"], f["feature_range"]["last"]
        codes = [x["code"] for x in f["features"]]
        self.assertEqual(len(set(codes)), len(codes))
        for code in codes:
            self.assertTrue(first <= code <= last, code)

    def test_every_name_parses_back_through_the_directives(self):
        """A config of one line per name in the facts: the library takes
        every one, and config --json lists them in order with their tags."""
        f = self.facts
        lines = []
        for a in f["architectures"]:
            lines.append(("dhcp-pxe-arch", a["name"]))
        for fam in f["families"]:
            lines.append(("dhcp-pxe-arch", fam["name"]))
        for x in f["features"]:
            lines.append(("dhcp-ipxe-feature", x["name"]))
        for b in f["buses"]:
            lines.append(("dhcp-ipxe-busid", b["name"] + ":1af4"))
        for s in f["class_selectors"]:
            lines.append(("dhcp-pxe-class", s))
        text = "dhcp-ipxe-own=chained\n" + "".join(
            "%s=set:t%d,%s\n" % (d, i, v) for i, (d, v) in enumerate(lines))
        with tempfile.TemporaryDirectory() as tmp:
            conf = os.path.join(tmp, "all.conf")
            with open(conf, "w") as fh:
                fh.write(text)
            p = run("config", "--json", conf)
        self.assertEqual(p.returncode, 0, p.stderr)
        got = json.loads(p.stdout)["directives"]
        self.assertEqual(len(got), len(lines) + 1)
        for i, ((directive, value), d) in enumerate(zip(lines, got[1:])):
            self.assertEqual((d["directive"], d["value"], d["tag"], d["line"], d["file"]),
                             (directive, "set:t%d,%s" % (i, value), "t%d" % i, i + 2, conf))

    def test_usage(self):
        self.assertEqual(run("facts").returncode, 2)
        self.assertEqual(run("config").returncode, 2)
        self.assertIn("facts", run("--help").stdout)

    def test_python_reads_the_same_facts(self):
        """The lab's reader (tools/pxelab/facts.py) asks this CLI."""
        os.environ["PXC_CLI"] = PXECLASS
        pyfacts.library.cache_clear()
        self.assertEqual(pyfacts.feature_code("https"), 0x14)
        self.assertEqual(pyfacts.arch_code("efi-arm64-http"), 19)
        with self.assertRaises(KeyError):
            pyfacts.arch_code("efi-x65")


class Config(testing.TempDirTest):
    def config(self, path):
        p = run("config", "--json", path)
        self.assertEqual(p.returncode, 0, p.stderr)
        return json.loads(p.stdout)

    def test_file_and_line_through_conf_file_and_conf_dir(self):
        d = os.path.join(self.tmp, "d")
        os.mkdir(d)
        in_dir = os.path.join(d, "10-arch.conf")
        with open(in_dir, "w") as f:
            f.write("# arch\n\ndhcp-pxe-arch = \"set:bios\",bios   # quoted tag\n")
        with open(os.path.join(d, "20-skip.bak"), "w") as f:
            f.write("dhcp-pxe-class=broken\n")
        inc = self.write("inc.conf", "dhcp-range=1.2.3.4,proxy\ndhcp-pxe-class=set:ipxe,ipxe\n")
        main = self.write("main.conf", "enable-tftp\nconf-file=%s\ndhcp-ipxe-own=chained\n"
                          "conf-dir=%s,*.conf\ndhcp-boot=tag:bios,x.0\n" % (inc, d))
        c = self.config(main)
        self.assertEqual(c["config"], main)
        got = [(d["file"], d["line"], d["directive"], d["value"], d["tag"])
               for d in c["directives"]]
        self.assertEqual(got, [
            (inc, 2, "dhcp-pxe-class", "set:ipxe,ipxe", "ipxe"),
            (main, 3, "dhcp-ipxe-own", "chained", None),
            (in_dir, 3, "dhcp-pxe-arch", "set:bios,bios", "bios"),
        ])
        self.assertEqual((c["identities"][0]["file"], c["identities"][0]["line"]), (main, 3))

    def test_identities_as_the_library_reads_them(self):
        conf = self.write("own.conf", "dhcp-ipxe-own=user-class:CSTM,feature:https,"
                          "version:>=1.21.1\ndhcp-ipxe-own=chained\n"
                          "dhcp-ipxe-own=feature:0x13,version:<2\n")
        ids = self.config(conf)["identities"]
        self.assertEqual(len(ids), 3)
        first, chained, third = ids
        self.assertEqual(first["user_class"], "CSTM")
        self.assertEqual(first["features"], [{"code": 0x14, "name": "https"}])
        self.assertEqual(first["version"], {"op": ">=", "value": "1.21.1"})
        self.assertFalse(first["chained"])
        self.assertIn("user-class:CSTM", first["text"])
        self.assertEqual((chained["chained"], chained["user_class"], chained["features"],
                          chained["version"]), (True, None, [], None))
        self.assertEqual(third["features"], [{"code": 0x13, "name": "http"}])
        self.assertEqual(third["version"], {"op": "<", "value": "2.0.0"})
        self.assertEqual([i["line"] for i in ids], [1, 2, 3])

    def test_tracker_and_arch9(self):
        plain = self.config(self.write("plain.conf", "dhcp-pxe-class=set:p,pxe\n"))
        self.assertIsNone(plain["tracker"])
        self.assertEqual(plain["arch9"], "x64")
        guard = self.config(self.write("guard.conf", "dhcp-chain-guard=4,60,set:loop\n"
                                       "dhcp-pxe-arch9=ebc\n"))
        self.assertEqual(guard["arch9"], "ebc")
        t = guard["tracker"]
        self.assertEqual((t["guard"], t["hops"], t["window"], t["tag"]), (True, 4, 60, "loop"))
        self.assertGreater(t["capacity"], 0)
        chained = self.config(self.write("chained.conf", "dhcp-ipxe-own=chained\n"))
        self.assertFalse(chained["tracker"]["guard"])
        self.assertIsNone(chained["tracker"]["tag"])

    def test_error_names_the_line_as_dnsmasq_does(self):
        inc = self.write("inc.conf", "# ok\ndhcp-pxe-arch=set:x,efi-x65\n")
        main = self.write("main.conf", "dhcp-pxe-class=set:p,pxe\nconf-file=%s\n" % inc)
        p = run("config", "--json", main)
        self.assertEqual(p.returncode, 1)
        self.assertIn("unknown architecture 'efi-x65'", p.stderr)
        self.assertTrue(p.stderr.endswith(" at line 2 of %s\n" % inc), p.stderr)
        self.assertTrue(json.loads(p.stdout)["error"].endswith(" at line 2 of %s" % inc))
        with self.assertRaises(pyfacts.ConfigRejected) as caught:
            os.environ["PXC_CLI"] = PXECLASS
            pyfacts.read_config(main)
        self.assertEqual((caught.exception.file, caught.exception.line), (inc, 2))

    def test_whole_config_error(self):
        conf = self.write("own.conf", "dhcp-pxe-class=set:own,ipxe-own\n")
        p = run("config", "--json", conf)
        self.assertEqual(p.returncode, 1)
        self.assertIn("dhcp-ipxe-own", json.loads(p.stdout)["error"])

    def test_missing_file(self):
        p = run("config", "--json", os.path.join(self.tmp, "nope.conf"))
        self.assertEqual(p.returncode, 1)
        self.assertIn("cannot read", p.stderr)

    def test_text_output(self):
        conf = self.write("t.conf", "dhcp-pxe-class=set:p,pxe\n")
        p = run("config", conf)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, "%s:1: dhcp-pxe-class=set:p,pxe  (sets p)\n" % conf)


if __name__ == "__main__":
    testing.main()
