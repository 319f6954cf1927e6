"""Every example config (examples/*.conf) through its boot chain.

Each example runs unchanged in the patched dnsmasq (only the lab lines
are added: bridge, no DNS, root, log-dhcp, tftp-root) and scripted clients
play one machine's whole chain on one MAC: the firmware asks, gets the
iPXE binary, then the client sends what that iPXE build sends and gets the
script.  Every step's reply is asserted, not only the last.  The proxy
examples (03, 05b) run next to a plain stock dnsmasq handing out the
addresses (10.77.0.2), with the port-4011 boot-server exchange.  The IPv6
examples (07-09) get the firmware's own SOLICITs, byte for byte from the
captures (as test_v6_hooks_net.py sends them), from one client on fd77::/64;
09 plays its DHCPv4 chains too.

Needs root.  PXC_DNSMASQ_PATCHED, PXC_DNSMASQ_STOCK (the address server).
"""

import os
import shutil
import struct
import tempfile
import unittest

from netkit import (BASE_CONFIG, PEER, PLAIN_DHCP_CONFIG, PROFILES, ROOT, SERVER,
                    Lab, Profile, pxe_vendor_class, u16)
from pxelab import dhcp, firmware, testing
from test_v6_hooks_net import (ECHO, OPT_BOOTFILE_PARAM, OPT_BOOTFILE_URL,  # noqa: E402
                               OPT_VENDOR_CLASS, SOLICITS, ia_address, xid_of)
from test_v6_hooks_net import Lab as Lab6  # noqa: E402

PATCHED = os.environ.get("PXC_DNSMASQ_PATCHED", "")
STOCK = os.environ.get("PXC_DNSMASQ_STOCK", "")
HAVE_BINARIES = testing.executable(PATCHED) and testing.executable(STOCK)
EXAMPLES = os.path.join(ROOT, "examples")
SCRIPT = "http://10.77.0.1/boot.ipxe"
SCRIPT6 = "http://[fd77::1]/boot.ipxe"
PXE6_URL = "tftp://[fd77::1]/ipxe.efi"


def example_config(name):
    """examples/NAME.conf with the lab's lines in front."""
    with open(os.path.join(EXAMPLES, name + ".conf")) as conf:
        return BASE_CONFIG + "tftp-root=@TFTP@\n" + conf.read()


def machine(name, mac):
    """Profile NAME on the machine with MAC (one chain = one MAC)."""
    return PROFILES[name].with_mac(mac)


def sheet_program(name, mac):
    """The DISCOVER of the sheet's program NAME (no machine of its own:
    what runs after a boot file) on the machine with MAC."""
    program = firmware.load().programs[name]
    return Profile(name, mac, tuple(firmware.discover_options(program)),
                   pad_to=program.pad_to, flags=program.flags)


@testing.needs_namespaces
@unittest.skipUnless(HAVE_BINARIES, "set PXC_DNSMASQ_PATCHED and PXC_DNSMASQ_STOCK")
class ExamplesTest(unittest.TestCase):
    """One test per example, one chain per machine."""

    def lab(self, name, proxy=False):
        """A Lab running example NAME (proxy: with the address server)."""
        if proxy:
            return Lab(PATCHED, example_config(name), peer_binary=STOCK,
                       peer_config=PLAIN_DHCP_CONFIG)
        return Lab(PATCHED, example_config(name))

    def boot(self, lab, profile, boot_file):
        """One normal-mode stage: DISCOVER..ACK, both replies naming BOOT_FILE."""
        offer, ack = lab.dora(profile)
        self.assertEqual((offer.boot_file, ack.boot_file), (boot_file, boot_file),
                         "%s: %s" % (profile.name, lab.log()))
        return ack

    def chain(self, lab, *stages):
        """Stages [(profile, boot file)] of one machine, in order."""
        return [self.boot(lab, profile, boot_file) for profile, boot_file in stages]

    def proxy_stage(self, lab, profile):
        """DISCOVER (address + proxy offer) and REQUEST to the address
        server; (proxy offer, leased address)."""
        proxy, address, ack = lab.proxy_dora(profile)
        self.assertEqual((len(proxy), len(address)), (1, 1), lab.log())
        self.assertEqual(ack.msg_type, dhcp.ACK)
        return proxy[0], ack.yiaddr

    def boot_server(self, lab, profile, address, proxy=None, menu_text=None):
        """The port-4011 request: for the item of PROXY's menu entry
        MENU_TEXT (BIOS), or without option 43 (UEFI, redirected there);
        the ACK's boot file."""
        item = None
        if menu_text:
            item = (next(kind for kind, text in proxy.pxe.menu if text == menu_text), 0)
        ack = lab.boot_server_request(profile, SERVER, address, boot_item=item)
        self.assertIsNotNone(ack, lab.log())
        return ack.boot_file

    def proxy_boot(self, lab, profile, menu_text=None):
        """A whole proxy-mode stage: proxy_stage, then boot_server for the
        item of MENU_TEXT (or without option 43); (proxy offer, the port-4011
        ACK's boot file)."""
        proxy, address = self.proxy_stage(lab, profile)
        return proxy, self.boot_server(lab, profile, address, proxy, menu_text)

    def lab6(self, name):
        """A DHCPv6 Lab (test_v6_hooks_net) running example NAME; its TFTP
        root is a temporary directory, removed with the test."""
        root = tempfile.mkdtemp(prefix="pxc-ex6-")
        self.addCleanup(shutil.rmtree, root, ignore_errors=True)
        return Lab6(example_config(name).replace("@TFTP@", root))

    def solicit(self, lab, client, url, echo=None):
        """CLIENT's SOLICIT (a key of SOLICITS): an ADVERTISE with an
        address, bootfile-url URL (None: none), vendor class ECHO (None:
        none) and never a bootfile-param (EDK2 reads it as a size)."""
        reply = lab.solicit(SOLICITS[client])
        self.assertIsNotNone(reply, "%s: %s" % (client, lab.server.log_text()))
        self.assertIsNotNone(ia_address(reply), client)
        got = (reply.get(OPT_BOOTFILE_URL), reply.get(OPT_VENDOR_CLASS),
               reply.get(OPT_BOOTFILE_PARAM))
        self.assertEqual(got, (url and url.encode(), echo, None), client)
        return reply

    def pxeclass6(self, lab, client):
        """The `pxeclass:` log line of CLIENT's SOLICIT."""
        lines = lab.log_of(xid_of(SOLICITS[client]), "")
        self.assertEqual(len(lines), 1, lab.server.log_text())
        return lines[0]

    # -- the examples ---------------------------------------------------------
    def test_01_vendor_ipxe_custom_user_class(self):
        with self.lab("01-vendor-ipxe-custom-user-class") as lab:
            # VirtualBox: its iPXE ROM, then our CSTM build
            self.chain(lab, (machine("virtualbox-ipxe", "08:00:27:01:00:01"),
                             "undionly-cstm.kpxe"),
                       (machine("ipxe-cstm", "08:00:27:01:00:01"), SCRIPT))
            # a PC's PXE ROM, and a UEFI x64 machine: the build of each arch
            self.chain(lab, (machine("pxe-bios", "52:54:00:01:00:02"), "undionly-cstm.kpxe"),
                       (machine("ipxe-cstm", "52:54:00:01:00:02"), SCRIPT))
            self.boot(lab, machine("uefi-x64", "52:54:00:01:00:03"), "ipxe-cstm.efi")
            self.boot(lab, machine("uefi-x64-sends-9", "52:54:00:01:00:04"), "ipxe-cstm.efi")

    def test_02a_qemu_ipxe_by_features(self):
        with self.lab("02a-qemu-ipxe-by-features") as lab:
            self.chain(lab, (machine("qemu-ipxe", "52:54:00:02:00:01"), "undionly-https.kpxe"),
                       (machine("ipxe-https-bios", "52:54:00:02:00:01"), SCRIPT))
            self.chain(lab, (machine("uefi-x64", "52:54:00:02:00:02"), "ipxe-https.efi"),
                       (machine("ipxe-2.0-efi", "52:54:00:02:00:02"), SCRIPT))
            # 1.20.1 has 0x14 in its version, not the HTTPS flag: chainloaded
            self.boot(lab, machine("ipxe-1.20.1", "52:54:00:02:00:03"), "undionly-https.kpxe")

    def test_02b_qemu_ipxe_chained(self):
        mac = "52:54:00:02:01:01"
        with self.lab("02b-qemu-ipxe-chained") as lab:
            rom = machine("qemu-ipxe", mac)
            # three boots within the guard's window: each a whole chain,
            # ROM (vendor) -> undionly.kpxe (own) -> script, never a loop
            acks = self.chain(lab, *[(rom, "undionly.kpxe"), (rom, SCRIPT)] * 3)
            owners = [lab.server.log_lines(r"^%d pxeclass: .* own=(\w+)" % a.xid)[0]
                      for a in acks]
            self.assertEqual([line.split(" own=")[1].split()[0] for line in owners],
                             ["vendor", "own"] * 3, lab.log())
            self.assertFalse(lab.server.log_lines("chainload loop"))
            self.chain(lab, (machine("uefi-x64", "52:54:00:02:01:02"), "ipxe.efi"),
                       (machine("ipxe-2.0-efi", "52:54:00:02:01:02"), SCRIPT))

    def test_03_proxy_by_arch(self):
        with self.lab("03-proxy-by-arch", proxy=True) as lab:
            proxy, boot_file = self.proxy_boot(lab, machine("pxe-bios", "52:54:00:03:00:01"),
                                               "iPXE (BIOS)")
            self.assertEqual([text for _, text in proxy.pxe.menu], ["iPXE (BIOS)"])
            self.assertEqual(boot_file, "undionly.kpxe")
            # the chainloaded iPXE: the script in the proxy offer and on 4011
            proxy, boot_file = self.proxy_boot(lab, machine("qemu-ipxe", "52:54:00:03:00:01"),
                                               "iPXE script")
            self.assertEqual((proxy.boot_file, boot_file), (SCRIPT, SCRIPT))
            # VirtualBox's iPXE has no HTTP: chainloaded like a PXE ROM
            vbox = machine("virtualbox-ipxe", "08:00:27:03:00:01")
            proxy, boot_file = self.proxy_boot(lab, vbox, "iPXE (BIOS)")
            self.assertEqual((proxy.boot_file, [t for _, t in proxy.pxe.menu]),
                             (None, ["iPXE (BIOS)"]))
            self.assertEqual(boot_file, "undionly.kpxe")
            proxy, _ = self.proxy_stage(lab, machine("qemu-ipxe", vbox.mac))
            self.assertEqual(proxy.boot_file, SCRIPT)
            # UEFI machines are sent to 4011 and get their arch's build there
            for name, mac, build in (("uefi-x64", "52:54:00:03:00:02", "ipxe.efi"),
                                     ("uefi-x64-sends-9", "52:54:00:03:00:03", "ipxe.efi"),
                                     ("uefi-ia32", "52:54:00:03:00:04", "ipxe32.efi")):
                proxy, boot_file = self.proxy_boot(lab, machine(name, mac))
                self.assertEqual((proxy.siaddr, proxy.boot_file), (SERVER, None))
                self.assertEqual(boot_file, build, name)

    def test_04_gpxe_loop_breaking(self):
        with self.lab("04-gpxe-loop-breaking") as lab:
            mac = "52:54:00:04:00:01"
            script = "http://10.77.0.1/real_boot_script.php"
            self.chain(lab, (machine("pxe-bios", mac), "undionly.kpxe"),
                       (machine("gpxe-0.9.7", mac), script))
            self.boot(lab, machine("gpxe-0.9.3", "52:54:00:04:00:02"), script)
            self.boot(lab, machine("etherboot-5.4", "52:54:00:04:00:03"), "undionly.kpxe")
            self.boot(lab, machine("gpxe-2007", "52:54:00:04:00:04"), "undionly.kpxe")
            # an iPXE without HTTP (VirtualBox) is chainloaded; UEFI gets ipxe.efi
            self.chain(lab, (machine("virtualbox-ipxe", "08:00:27:04:00:06"), "undionly.kpxe"),
                       (machine("qemu-ipxe", "08:00:27:04:00:06"), script))
            self.chain(lab, (machine("uefi-x64", "52:54:00:04:00:07"), "ipxe.efi"),
                       (machine("ipxe-2.0-efi", "52:54:00:04:00:07"), script))
            # a script that chains gPXE again: hops 1..3 pass, the 4th is a loop
            mac = "52:54:00:04:00:05"
            gpxe = machine("gpxe-0.9.7", mac)
            self.chain(lab, (machine("pxe-bios", mac), "undionly.kpxe"),
                       (gpxe, script), (gpxe, script), (gpxe, script),
                       (gpxe, "http://10.77.0.1/loop.ipxe"))
            warnings = lab.server.log_lines("chainload loop: %s made 4 hops" % mac)
            self.assertTrue(warnings, lab.log())

    def test_05a_pxelinux_real_dhcp(self):
        with self.lab("05a-pxelinux-real-dhcp") as lab:
            mac = "52:54:00:05:00:01"
            rom, ipxe = self.chain(lab, (machine("pxe-bios", mac), "undionly.kpxe"),
                                   (machine("qemu-ipxe", mac), "pxelinux.0"))
            self.assertEqual((rom.opt(209), rom.opt(210)), (None, None))
            # forced: iPXE's parameter list asks for neither
            self.assertFalse({209, 210} & set(dict(PROFILES["qemu-ipxe"].options)[55]))
            self.assertEqual(ipxe.opt_str(209), "pxelinux.cfg/default")
            self.assertEqual(ipxe.opt_str(210), "http://10.77.0.1/")

    def test_05b_proxy_per_mac_script(self):
        url = "http://10.77.0.1/ipxe.php?mac=${mac}&uuid=${uuid}"
        with self.lab("05b-proxy-per-mac-script", proxy=True) as lab:
            _, boot_file = self.proxy_boot(lab, machine("pxe-bios", "52:54:00:05:01:01"),
                                           "splashtop")
            self.assertEqual(boot_file, "undionly.kpxe")
            proxy, boot_file = self.proxy_boot(lab, machine("qemu-ipxe", "52:54:00:05:01:01"),
                                               "script")
            self.assertEqual((proxy.boot_file, boot_file), (url, url))
            _, boot_file = self.proxy_boot(lab, machine("virtualbox-ipxe", "08:00:27:05:01:03"),
                                           "splashtop")
            self.assertEqual(boot_file, "undionly.kpxe")
            _, boot_file = self.proxy_boot(lab, machine("uefi-x64", "52:54:00:05:01:02"))
            self.assertEqual(boot_file, "ipxe.efi")
            self.assertFalse(lab.server.log_lines("chainload loop"))

    def test_06_http_boot_and_arm64(self):
        with self.lab("06-http-boot-and-arm64") as lab:
            ipxe_arm64 = PROFILES["ipxe-2.0-efi"].replacing(
                {93: u16(11), 60: pxe_vendor_class(11, "003010")})
            for name, ipxe, mac, url in (
                    ("httpboot-x64", PROFILES["ipxe-2.0-efi"], "52:54:00:06:00:01",
                     "http://10.77.0.1/ipxe.efi"),
                    ("httpboot-arm64", ipxe_arm64, "52:54:00:06:00:02",
                     "http://10.77.0.1/ipxe-arm64.efi")):
                # HTTP Boot takes only an offer that echoes HTTPClient
                ack = self.boot(lab, machine(name, mac), url)
                self.assertEqual(ack.vendor_class, "HTTPClient", name)
                self.chain(lab, (ipxe.with_mac(mac), SCRIPT))
            for name, mac, boot_file in (("uefi-x64", "52:54:00:06:00:03", "ipxe.efi"),
                                         ("uefi-arm64", "52:54:00:06:00:04", "ipxe-arm64.efi"),
                                         ("arch-only-in-60", "52:54:00:06:00:05",
                                          "ipxe-arm64.efi")):
                ack = self.boot(lab, machine(name, mac), boot_file)
                self.assertIsNone(ack.vendor_class, name)

    def test_03b_proxy_shim_grub(self):
        # the site's server with the example's fix: the boot server as
        # next server (siaddr), no boot file
        site = PLAIN_DHCP_CONFIG + f"dhcp-boot=,,{SERVER}\n"
        with Lab(PATCHED, example_config("03b-proxy-shim-grub"), peer_binary=STOCK,
                 peer_config=site) as lab:
            uefi = machine("uefi-x64", "52:54:00:07:01:01")
            proxy, address, ack = lab.proxy_dora(uefi)
            self.assertEqual((len(proxy), len(address)), (1, 1), lab.log())
            # the ACK GRUB reads its server from names this proxy; the
            # firmware still takes its file from the proxy, on port 4011
            self.assertEqual((ack.server_id, ack.siaddr, ack.boot_file), (PEER, SERVER, None))
            self.assertEqual(self.boot_server(lab, uefi, ack.yiaddr), "shimx64.efi")
            # GRUB's net_dhcp: only the site's server offers; the proxy logs
            # and tags it (grubnetx64: secs is the xid's low half)
            grub, xid = sheet_program("grub-net-efi", uefi.mac), dhcp.new_xid()
            replies = lab.client.exchange(grub.packet(dhcp.DISCOVER, xid, secs=xid & 0xffff),
                                          until=lambda rs: len(rs) >= 2, timeout=2.0)
            self.assertEqual([r.server_id for r in replies if r.msg_type == dhcp.OFFER], [PEER])
            self.assertTrue(lab.server.log_lines(f"{xid} pxeclass tags: grub "), lab.log())

    def test_07_ipv6_only(self):
        with self.lab6("07-ipv6-only") as lab:
            # EDK2's IP stack first (no class: an address, nothing to boot)
            self.solicit(lab, "edk2-bare", None)
            # PXEv6: tftp:// only, no PXEClient echo (port 4011), no 60
            self.solicit(lab, "edk2-pxev6", PXE6_URL)
            # the iPXE it loads sends PXEClient too, but class ipxe wins
            self.solicit(lab, "ipxe-efi", SCRIPT6)
            self.solicit(lab, "ipxe-bios", SCRIPT6)
            # no HTTP Boot served: no URL, and never the tftp:// one
            self.solicit(lab, "edk2-httpv6", None)
            self.assertIn("class=ipxe family=ipv6", self.pxeclass6(lab, "ipxe-efi"))

    def test_08_http_boot_ipv6(self):
        with self.lab6("08-http-boot-ipv6") as lab:
            # the HTTPClient echo: enterprise 0x00025859 ("XY"), then the
            # entry HTTPClient at byte 6, where EDK2 looks
            self.assertEqual(struct.unpack("!IH", ECHO[:6]), (0x00025859, 10))
            self.assertEqual(ECHO[6:], b"HTTPClient")
            self.solicit(lab, "edk2-httpv6", "http://[fd77::1]/ipxe.efi", ECHO)
            self.solicit(lab, "edk2-httpv6-arm64", "http://[fd77::1]/ipxe-arm64.efi", ECHO)
            self.solicit(lab, "ipxe-efi", SCRIPT6)
            # no PXE served over IPv6: no URL, no echo (the echo is HTTP Boot's only)
            self.solicit(lab, "edk2-pxev6", None)

    def test_09_dual_stack(self):
        # DHCPv4: each firmware's iPXE build, then the script
        with self.lab("09-dual-stack") as lab:
            self.chain(lab, (machine("pxe-bios", "52:54:00:09:00:01"), "undionly.kpxe"),
                       (machine("qemu-ipxe", "52:54:00:09:00:01"), SCRIPT))
            self.chain(lab, (machine("uefi-x64", "52:54:00:09:00:02"), "ipxe.efi"),
                       (machine("ipxe-2.0-efi", "52:54:00:09:00:02"), SCRIPT))
            self.assertFalse(lab.server.log_lines("chainload loop"))
        # DHCPv6, one machine: PXEv6 is handed ipxe.efi, the iPXE that asks
        # next is one hop further (the tracker runs: dhcp-chain-guard)
        with self.lab6("09-dual-stack") as lab:
            self.solicit(lab, "edk2-pxev6", PXE6_URL)
            self.assertIn(" hops=0 ", self.pxeclass6(lab, "edk2-pxev6"))
            self.solicit(lab, "ipxe-efi", SCRIPT6)
            self.assertIn(" hops=1 ", self.pxeclass6(lab, "ipxe-efi"))
            self.solicit(lab, "ipxe-bios", SCRIPT6)
            self.solicit(lab, "edk2-httpv6", None)
            self.assertFalse(lab.server.log_lines("chainload loop"))

    def test_lab(self):
        with self.lab("lab") as lab:
            mac = "52:54:00:07:00:01"
            self.chain(lab, (machine("pxe-bios", mac), "undionly.kpxe"),
                       (machine("qemu-ipxe", mac), SCRIPT))
            self.chain(lab, (machine("qemu-ipxe", "52:54:00:07:00:02"), "undionly.kpxe"),
                       (machine("qemu-ipxe", "52:54:00:07:00:02"), SCRIPT))
            self.boot(lab, machine("uefi-ia32", "52:54:00:07:00:03"), "ipxe-ia32.efi")
            self.boot(lab, machine("uefi-arm64", "52:54:00:07:00:04"), "ipxe-arm64.efi")
            ack = self.boot(lab, machine("httpboot-arm64", "52:54:00:07:00:05"),
                            "http://10.77.0.1/ipxe-arm64.efi")
            self.assertEqual(ack.vendor_class, "HTTPClient")

    def test_lab6(self):
        with self.lab6("lab6") as lab:
            # PXEv6 gets ipxe.efi; the iPXE it loads is the site's own by
            # the chain (dhcp-ipxe-own=chained) and gets the script
            self.solicit(lab, "edk2-pxev6", PXE6_URL)
            self.solicit(lab, "ipxe-efi", SCRIPT6)
            self.assertIn(" hops=1 ", self.pxeclass6(lab, "ipxe-efi"))
            # a vendor iPXE never handed a file here: its arch's build
            self.solicit(lab, "ipxe-bios", "tftp://[fd77::1]/undionly.kpxe")
            self.solicit(lab, "edk2-httpv6", "http://[fd77::1]/ipxe.efi", ECHO)
            self.solicit(lab, "edk2-httpv6-arm64", "http://[fd77::1]/ipxe-arm64.efi", ECHO)

    def test_every_example_is_tested(self):
        names = sorted(f[:-5] for f in os.listdir(EXAMPLES) if f.endswith(".conf"))
        tested = sorted(n[5:].replace("_", "-") for n in dir(self) if n.startswith("test_")
                        and n != "test_every_example_is_tested")
        self.assertEqual(names, tested)


if __name__ == "__main__":
    testing.main()
