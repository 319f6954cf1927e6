"""Network tests of the patched dnsmasq against stock, on the real captures.

Each capture's client side (tests/captures) is replayed through network
namespaces (tools/pxelab) against two dnsmasq binaries of one version:

  - stock and patched, both with the capture's own config (no pxeclass
    directive): the replies must be identical, field by field and option
    by option, and so must the logs (apart from xids, temp paths and the
    periodic router advertisements).  The patched tree is stock plus the
    series' dnsmasq fixes (patches/0006, 0007: the DHCPv6 class loop),
    their one intended difference, which no capture exercises (a
    doubled user/vendor class; an enterprise-only dhcp-vendorclass):
    test_v6_class_net.py shows it, check_stock_equivalence.py that the
    machine code differs from stock there only;
  - stock with the capture's config, patched with the same config where
    every dhcp-match/dhcp-vendorclass line is replaced by the pxeclass
    directive meaning the same: identical replies (so the tags reach
    dhcp-boot, pxe-service and dhcp-option-force, on ports 67 and 4011),
    and the patched log has a classification line for every request and
    names the directive behind each tag it set;
  - the chain tracker fed by both hooks: on the loop capture, a
    dhcp-chain-guard breaks the loop (and warns without log-dhcp), and
    dhcp-ipxe-own=chained tells the chainloaded iPXE from the identical ROM;
  - the chain tracker with scripted clients (netkit.py), where the capture
    has nothing to show: a firmware request resets the chain and the
    guard's count, an iPXE ROM's reboot goes back to vendor, and in proxy
    mode the 4011 hand-out makes the next stage chained and the 4011
    request stays in its stage.

Needs root and iproute2.  Environment:
  PXC_DNSMASQ_PATCHED  the patched binary
  PXC_DNSMASQ_STOCK    stock dnsmasq of the same version

Run: PXC_DNSMASQ_PATCHED=… PXC_DNSMASQ_STOCK=… python3 tests/dnsmasq/test_net.py
"""

import concurrent.futures
import glob
import os
import re
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools"))

import netkit                                          # noqa: E402
from pxelab import replay, testing                     # noqa: E402

CAPTURES = os.path.join(ROOT, "tests", "captures")
# The captures with DHCPv4 replies to compare (not the DHCPv6-only g* ones).
CAPTURE_NAMES = sorted(os.path.basename(d.rstrip("/"))
                       for d in glob.glob(os.path.join(CAPTURES, "*", ""))
                       if replay.has_dhcpv4_reply(d))
PROXY_CAPTURE = "f2a-proxy-seabios-virtio"
PATCHED = os.environ.get("PXC_DNSMASQ_PATCHED", "")
STOCK = os.environ.get("PXC_DNSMASQ_STOCK", "")
HAVE_BINARIES = testing.executable(PATCHED) and testing.executable(STOCK)

# dnsmasq's own matching lines in the captures' configs, and the pxeclass
# directives that mean the same.  Option 175 marks iPXE (and gPXE); arch 9
# is read as x64 by default, as the configs' second client-arch line does.
TRANSLATIONS = {
    "dhcp-match=set:ipxe,175": ["dhcp-pxe-class=set:ipxe,ipxe,gpxe"],
    "dhcp-match=set:efi64,option:client-arch,7":
        ["dhcp-pxe-arch=set:efi64,efi-x64"],
    "dhcp-match=set:efi64,option:client-arch,9": [],
    "dhcp-vendorclass=set:httpclient,HTTPClient":
        ["dhcp-pxe-class=set:httpclient,http-boot"],
}

# Log lines that depend on timing, not on the requests.
UNTIMED = re.compile(r"RTR-ADVERT|RTR-SOLICIT|SLAAC")


def translate(config):
    """CONFIG with dnsmasq's matching lines replaced by pxeclass ones;
    (new config, the pxeclass lines used)."""
    out, used = [], []
    for line in config.splitlines():
        if line.strip() in TRANSLATIONS:
            out += TRANSLATIONS[line.strip()]
            used += TRANSLATIONS[line.strip()]
        else:
            out.append(line)
    return "\n".join(out) + "\n", used


def replay_capture(binary, name, edit_config=None):
    """Replay capture NAME against BINARY in a topology of its own;
    returns (replayed exchanges, normalised log lines).  The proxy capture
    gets its plain DHCP server next to the proxy, always the stock binary."""
    run = replay.replay_capture(os.path.join(CAPTURES, name), binary, STOCK, edit_config)
    return run.replayed, normalised_log(run.log_lines, run.tftp_root)


def normalised_log(lines, tftp_root):
    """Log lines with what differs between two identical runs replaced:
    xids (fresh per replay) by their order of appearance, the temp TFTP
    root by a name; timing-driven router advertisements dropped."""
    xids = {}

    def xid_token(match):
        return "xid%d " % xids.setdefault(match.group(1), len(xids) + 1)

    out = []
    for line in lines:
        if UNTIMED.search(line):
            continue
        line = line.replace(tftp_root, "<tftp-root>")
        out.append(re.sub(r"^(\d+) ", xid_token, line))
    return out


def reply_differences(stock_run, patched_run):
    """Every difference between two replays of the same exchanges."""
    diffs = []
    if len(stock_run) != len(patched_run):
        diffs.append("replayed %d exchanges with stock, %d with patched"
                     % (len(stock_run), len(patched_run)))
    for number, (want, have) in enumerate(zip(stock_run, patched_run)):
        request = want.exchange.request
        label = "exchange %d (%s to port %d)" % (number, request.msg_name,
                                                 want.exchange.dst_port)
        stock_replies = {r.server_id: r for r in want.replies}
        patched_replies = {r.server_id: r for r in have.replies}
        if set(stock_replies) != set(patched_replies):
            diffs.append("%s: replies from %s with stock, %s with patched"
                         % (label, sorted(stock_replies), sorted(patched_replies)))
        for server in set(stock_replies) & set(patched_replies):
            diffs += ["%s from %s: %s" % (label, server, d) for d in
                      replay.compare_replies(stock_replies[server],
                                             patched_replies[server])]
    return diffs


def replay_stock_and_patched(names, patched_edit=None):
    """Replay every capture of NAMES against stock (its own config) and
    patched (its config through PATCHED_EDIT), in parallel;
    {(name, "stock" or "patched"): replay_capture's result}."""
    jobs = {}
    for name in names:
        jobs[name, "stock"] = (STOCK, name, None)
        jobs[name, "patched"] = (PATCHED, name, patched_edit)
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        futures = {key: pool.submit(replay_capture, *job)
                   for key, job in jobs.items()}
    return {key: future.result() for key, future in futures.items()}


@testing.needs_namespaces
@unittest.skipUnless(HAVE_BINARIES, "set PXC_DNSMASQ_PATCHED and PXC_DNSMASQ_STOCK")
class StockVersusPatchedTest(unittest.TestCase):
    """Without pxeclass directives the patched dnsmasq is stock dnsmasq
    (plus the series' fixes of the DHCPv6 class loop, the intended
    difference, which these captures do not reach)."""

    def test_same_replies_and_logs_on_every_capture(self):
        self.assertGreaterEqual(len(CAPTURE_NAMES), 5)
        results = replay_stock_and_patched(CAPTURE_NAMES)
        for name in CAPTURE_NAMES:
            with self.subTest(capture=name):
                stock_run, stock_log = results[name, "stock"]
                patched_run, patched_log = results[name, "patched"]
                self.assertTrue(any(item.replies for item in stock_run),
                                "stock answered nothing: the comparison "
                                "would prove nothing")
                self.assertEqual(reply_differences(stock_run, patched_run), [])
                self.assertEqual(stock_log, patched_log)
                self.assertFalse([l for l in patched_log if "pxeclass" in l])


@testing.needs_namespaces
@unittest.skipUnless(HAVE_BINARIES, "set PXC_DNSMASQ_PATCHED and PXC_DNSMASQ_STOCK")
class DirectivesTest(unittest.TestCase):
    """pxeclass directives set tags that dnsmasq's machinery uses."""

    def test_directives_replace_dhcp_match(self):
        names = []
        for name in CAPTURE_NAMES:
            config = replay.capture_config(os.path.join(CAPTURES, name), "/unused", "br0")
            if translate(config)[1]:
                names.append(name)
        self.assertIn(PROXY_CAPTURE, names)
        results = replay_stock_and_patched(names, lambda c: translate(c)[0])
        for name in names:
            with self.subTest(capture=name):
                stock_run, _ = results[name, "stock"]
                patched_run, log = results[name, "patched"]
                self.assertTrue(any(item.replies for item in stock_run))
                self.assertEqual(reply_differences(stock_run, patched_run), [],
                                 "\n".join(log))
                self.check_log(name, patched_run, log)

    def check_log(self, name, replayed, log):
        """A classification line per request; tag lines name directives."""
        requests = len(replayed)
        classified = [l for l in log if re.match(r"xid\d+ pxeclass: ", l)]
        self.assertEqual(len(classified), requests, "\n".join(log))
        tag_lines = [l for l in log if re.match(r"xid\d+ pxeclass tags: ", l)]
        self.assertEqual(len(tag_lines), requests, "\n".join(log))
        if name in ("a-seabios-virtio", PROXY_CAPTURE):
            # QEMU's iPXE ROM: every request is iPXE
            for line in tag_lines:
                self.assertIn("ipxe (dhcp-pxe-class=set:ipxe,ipxe,gpxe)", line)
            dnsmasq_tags = [l for l in log if re.match(r"xid\d+ tags: ", l)]
            self.assertTrue(dnsmasq_tags)
            for line in dnsmasq_tags:
                self.assertRegex(line, r"\bipxe\b")
        if name == "c2-ovmf-virtio-norom":
            self.assertTrue(any("efi64 (dhcp-pxe-arch=set:efi64,efi-x64)" in l
                                for l in tag_lines), "\n".join(log))

    def test_loop_guard_breaks_the_chainload_loop(self):
        """The loop capture (undionly.kpxe for ever) with a guard of 2 hops:
        from the third hop on the client gets the guard's file instead,
        and each looping stage logs a warning, even without log-dhcp."""
        def edit(config):
            config = "\n".join(l for l in config.splitlines() if l != "log-dhcp")
            return config + "\ndhcp-chain-guard=2,120\n" \
                "dhcp-boot=tag:chain-loop,http://10.77.0.1/stop.ipxe\n"
        replayed, log = replay_capture(PATCHED, "e3-loop-fast-seabios-virtio", edit)
        files = [[r.boot_file for r in item.replies] for item in replayed]
        self.assertEqual(files, [["undionly.kpxe"]] * 6 +
                         [["http://10.77.0.1/stop.ipxe"]] * 6, "\n".join(log))
        warnings = [l for l in log if "chainload loop" in l]
        self.assertEqual(len(warnings), 3, "\n".join(log))
        self.assertTrue(warnings[0].startswith(
            "pxeclass: chainload loop: 52:54:00:77:00:01 made 3 hops within "
            "120s (more than 2), tag chain-loop set; chain: "
            "ipxe@0s>undionly.kpxe"), warnings[0])
        self.assertFalse([l for l in log if re.match(r"xid\d+ ", l)],
                         "log-dhcp lines without log-dhcp")

    def test_chained_ipxe_is_own(self):
        """QEMU's iPXE ROM and Debian's undionly.kpxe send identical
        requests: with dhcp-ipxe-own=chained the ROM is chainloaded and
        the iPXE that follows the hand-out gets the script."""
        def edit(config):
            config = "\n".join(l for l in config.splitlines()
                               if not l.startswith("dhcp-boot="))
            return config + "\ndhcp-ipxe-own=chained\n" \
                "dhcp-pxe-class=set:own,ipxe-own\n" \
                "dhcp-boot=tag:!own,undionly.kpxe\n" \
                "dhcp-boot=tag:own,http://10.77.0.1/boot.ipxe\n"
        replayed, log = replay_capture(PATCHED, "e3-loop-fast-seabios-virtio", edit)
        files = [[r.boot_file for r in item.replies] for item in replayed[:4]]
        self.assertEqual(files, [["undionly.kpxe"]] * 2 +
                         [["http://10.77.0.1/boot.ipxe"]] * 2, "\n".join(log))
        own = [l for l in log if re.match(r"xid2 pxeclass: .* own=own", l)]
        self.assertEqual(len(own), 2, "\n".join(log))
        self.assertTrue([l for l in log if re.match(
            r"xid1 pxeclass: .* own=vendor", l)], "\n".join(log))


# A naive chain config: every iPXE that is not ours gets undionly.kpxe again.
CHAIN_CONFIG = """dhcp-ipxe-own=chained
dhcp-pxe-class=set:own,ipxe-own
dhcp-boot=tag:!own,undionly.kpxe
dhcp-boot=tag:own,http://10.77.0.1/boot.ipxe
dhcp-boot=tag:chain-loop,http://10.77.0.1/loop.ipxe
"""
SCRIPT = "http://10.77.0.1/boot.ipxe"


def logged_hops(lab, xid):
    """The hops= values of the pxeclass lines of XID, in order."""
    return [int(re.search(r" hops=(\d+)", line).group(1))
            for line in lab.server.log_lines(r"^%d pxeclass: " % xid)]


@testing.needs_namespaces
@unittest.skipUnless(HAVE_BINARIES, "set PXC_DNSMASQ_PATCHED and PXC_DNSMASQ_STOCK")
class ChainTrackerTest(unittest.TestCase):
    """The chain tracker with scripted clients, beyond the loop capture
    above: reboots reset a chain, and a proxy's port-4011 request belongs
    to the stage whose DISCOVER came before it."""

    def stage(self, lab, profile, boot_file):
        """One transaction; asserts both replies name BOOT_FILE; its xid."""
        offer, ack = lab.dora(profile)
        self.assertEqual((offer.boot_file, ack.boot_file), (boot_file, boot_file), lab.log())
        return offer.xid

    def test_reboot_resets_the_chain(self):
        """PXE ROM -> undionly.kpxe -> chained iPXE -> script, three boots
        in a row under a guard of 2 hops: each firmware request starts the
        chain again (hops 0, 1 each boot), so the guard never trips and the
        iPXE of every boot is chained."""
        pc = netkit.PROFILES["pxe-bios"]
        ipxe = netkit.PROFILES["qemu-ipxe"].with_mac(pc.mac)
        config = netkit.BASE_CONFIG + netkit.RANGE + CHAIN_CONFIG + \
            "dhcp-chain-guard=2,60\n"
        with netkit.Lab(PATCHED, config) as lab:
            hops = []
            for _ in range(3):
                for profile, boot_file in ((pc, "undionly.kpxe"), (ipxe, SCRIPT)):
                    hops += logged_hops(lab, self.stage(lab, profile, boot_file))
            self.assertEqual(hops, [0, 0, 1, 1] * 3, lab.log())
            self.assertEqual(len(lab.server.log_lines(r"pxeclass: class=ipxe own=own")), 6)
            self.assertFalse(lab.server.log_lines("chainload loop"), lab.log())

    def test_reboot_of_an_ipxe_rom_goes_back_to_vendor(self):
        """QEMU: the firmware is an iPXE ROM sending what our iPXE sends.
        After our iPXE was handed the script, the same bytes again are the
        ROM after a reboot (vendor, chainloaded again), then ours again."""
        rom = netkit.PROFILES["qemu-ipxe"]
        config = netkit.BASE_CONFIG + netkit.RANGE + CHAIN_CONFIG
        with netkit.Lab(PATCHED, config) as lab:
            xids = [self.stage(lab, rom, boot_file)
                    for boot_file in ("undionly.kpxe", SCRIPT) * 2]
            owners = [re.search(r" own=(\w+)", lab.server.log_lines(
                r"^%d pxeclass: " % xid)[0]).group(1) for xid in xids]
            self.assertEqual(owners, ["vendor", "own"] * 2, lab.log())

    def test_looping_rom_resets_only_on_firmware(self):
        """The same iPXE bytes again and again (a ROM handed itself): the
        guard (2 hops) trips at hop 3, one warning per looping stage; a PXE
        firmware request then starts the count again."""
        pc = netkit.PROFILES["pxe-bios"]
        ipxe = netkit.PROFILES["virtualbox-ipxe"].with_mac(pc.mac)
        loop = "http://10.77.0.1/loop.ipxe"
        config = netkit.BASE_CONFIG + netkit.RANGE + \
            "dhcp-boot=undionly.kpxe\ndhcp-chain-guard=2,60\n" \
            "dhcp-boot=tag:chain-loop,%s\n" % loop
        with netkit.Lab(PATCHED, config) as lab:
            for profile, boot_file in ((pc, "undionly.kpxe"), (ipxe, "undionly.kpxe"),
                                       (ipxe, "undionly.kpxe"), (ipxe, loop), (ipxe, loop)):
                self.stage(lab, profile, boot_file)
            warnings = lab.server.log_lines("chainload loop: %s made" % pc.mac)
            self.assertEqual([w.split(" made ")[1][:6] for w in warnings],
                             ["3 hops", "4 hops"], lab.log())
            for profile, boot_file in ((pc, "undionly.kpxe"), (ipxe, "undionly.kpxe"),
                                       (ipxe, "undionly.kpxe")):
                self.stage(lab, profile, boot_file)
            self.assertEqual(len(lab.server.log_lines("chainload loop")), 2, lab.log())

    def proxy_chain(self, boot_vendor_class=None, boot_xid=None):
        """A QEMU machine through a proxy with `chained` and a guard of 1:
        per stage, (menu, file in the proxy offer, file on 4011, hops of
        DISCOVER + REQUEST + 4011, own= of the 4011 request)."""
        config = netkit.BASE_CONFIG + netkit.PROXY_RANGE + """dhcp-ipxe-own=chained
dhcp-pxe-class=set:own,ipxe-own
dhcp-chain-guard=1,60
pxe-service=tag:!own,x86PC,"chain",undionly.kpxe
pxe-service=tag:own,x86PC,"script",http://10.77.0.1/boot.ipxe
dhcp-boot=tag:own,http://10.77.0.1/boot.ipxe
"""
        rom = netkit.PROFILES["qemu-ipxe"]
        stages = []
        with netkit.Lab(PATCHED, config, peer_binary=STOCK,
                        peer_config=netkit.PLAIN_DHCP_CONFIG) as lab:
            for _ in range(2):
                proxies, _addresses, ack = lab.proxy_dora(rom)
                proxy = proxies[0]
                boot_rom = rom if boot_vendor_class is None else \
                    rom.replacing({60: boot_vendor_class})
                boot = lab.boot_server_request(boot_rom, netkit.SERVER, ack.yiaddr,
                                               boot_item=(proxy.pxe.menu[0][0], 0),
                                               xid=boot_xid)
                self.assertIsNotNone(boot, lab.log())
                boot_log = lab.server.log_lines(r"^%d pxeclass: " % boot.xid)[-1]
                stages.append(([text for _, text in proxy.pxe.menu], proxy.boot_file,
                               boot.boot_file,
                               logged_hops(lab, proxy.xid)[:2] + logged_hops(lab, boot.xid)[-1:],
                               re.search(r" own=(\w+)", boot_log).group(1)))
            loops = lab.server.log_lines("chainload loop")
        return stages, loops

    def test_proxy_4011_hand_out_makes_the_next_stage_chained(self):
        """The ROM's file comes from the boot server (4011): that hand-out
        makes the next DISCOVER chained (script in the proxy offer)."""
        stages, _ = self.proxy_chain()
        self.assertEqual([stage[:3] for stage in stages],
                         [(["chain"], None, "undionly.kpxe"), (["script"], SCRIPT, SCRIPT)])
        self.assertEqual([stage[3][0] for stage in stages], [0, 1])

    def test_proxy_4011_request_stays_in_its_stage(self):
        """README: "the DISCOVER/REQUEST pair and a PXE boot-server request
        to port 4011 are one stage", also when the proxy offer already
        carried a boot file (dhcp-boot for iPXE, as in examples 03 and
        05b) and the 4011 request has another xid (iPXE sends 0 there and
        shortens 60 to PXEClient, capture f2a): no extra hop, and the
        request stays chained (own) under a guard of 1."""
        stages, loops = self.proxy_chain(boot_vendor_class=b"PXEClient", boot_xid=0)
        self.assertEqual([stage[3:] for stage in stages],
                         [([0, 0, 0], "vendor"), ([1, 1, 1], "own")])
        self.assertEqual(loops, [])


if __name__ == "__main__":
    testing.main()
