"""Every pxeclass directive, through the replies of the patched dnsmasq.

Scripted clients (tests/dnsmasq/netkit.py: every class and architecture of
the library's crafted-packet tests) talk to the patched dnsmasq over a
veth, from their own namespace:

  - normal mode: each directive sets its own tag, and each tag forces an
    option of its own into the reply, so every OFFER and ACK lists exactly
    the tags the client got; the log's `pxeclass:` line classifies it and
    the `pxeclass tags:` line names the directive behind each tag;
  - option 175 is read as TLV: iPXE 1.20.1's version bytes (01 14 01) make
    stock `dhcp-match=...,175,20` see HTTPS, dhcp-ipxe-feature does not;
  - dhcp-pxe-arch9=ebc turns the x64 reading of option 93 = 9 off;
  - proxy mode: the tags choose the PXE menu on port 67 and on the port-4011
    boot-server request, and dhcp-ignore holds on both ports;
  - the tags work wherever dnsmasq's do: dhcp-boot, pxe-service (normal
    mode, with the 4011 request), dhcp-option, dhcp-option-force, tag-if,
    dhcp-ignore, dhcp-host (tag: and set:), BOOTP and DHCPINFORM.

Needs root.  PXC_DNSMASQ_PATCHED (and PXC_DNSMASQ_STOCK for the byte-scan
comparison and the proxy's address server).
"""

import os
import re
import unittest

from netkit import (BASE_CONFIG, IDENTITY_LINES, PEER, PLAIN_DHCP_CONFIG, PROFILES,
                    PROXY_RANGE, RANGE, SERVER, Lab, forced_tags, tag_options, verdict)
from pxelab import dhcp, testing

PATCHED = os.environ.get("PXC_DNSMASQ_PATCHED", "")
STOCK = os.environ.get("PXC_DNSMASQ_STOCK", "")
HAVE_PATCHED = testing.executable(PATCHED)
HAVE_STOCK = testing.executable(STOCK)

# One line per tag: the directive that sets it; the identities are the
# firmware sheet's (user-class:CSTM; feature:https,version:>=2), which its
# verdicts assume.
MATRIX_RULES = IDENTITY_LINES + """dhcp-pxe-class=set:c-pxe,pxe
dhcp-pxe-class=set:c-http,http-boot
dhcp-pxe-class=set:c-ipxe,ipxe
dhcp-pxe-class=set:c-own,ipxe-own
dhcp-pxe-class=set:c-vendor,ipxe-vendor
dhcp-pxe-class=set:c-gpxe,gpxe
dhcp-pxe-class=set:c-eb,etherboot
dhcp-pxe-class=set:c-uboot,uboot
dhcp-pxe-class=set:c-net,netboot
dhcp-pxe-class=set:c-none,none
dhcp-pxe-arch=set:a-bios,bios
dhcp-pxe-arch=set:a-x64,x64
dhcp-pxe-arch=set:a-ia32,ia32
dhcp-pxe-arch=set:a-arm64,arm64
dhcp-pxe-arch=set:a-efi,efi
dhcp-pxe-arch=set:a-http,http
dhcp-pxe-arch=set:a-uboot,uboot
dhcp-pxe-arch=set:a-rpi,rpi
dhcp-pxe-arch=set:a-7,7
dhcp-pxe-arch=set:a-16,0x10
dhcp-pxe-arch=set:a-ebc,efi-ebc
dhcp-ipxe-feature=set:f-https,https
dhcp-ipxe-feature=set:f-http-dns,http,dns
dhcp-ipxe-feature=set:f-tftp,21
dhcp-ipxe-version=set:v-ge121,>=1.21.1
dhcp-ipxe-version=set:v-lt1,<1
dhcp-ipxe-version=set:v-eq100,=1.0.0
dhcp-ipxe-busid=set:b-virtio,pci:1af4
dhcp-ipxe-busid=set:b-e1000,pci:8086:100e
dhcp-ipxe-busid=set:b-mlx,pci:15b3
dhcp-match=set:m-https,175,20
"""
MATRIX_TAGS = re.findall(r"set:([\w-]+)", MATRIX_RULES)

# profile -> the tags it must get; its class, own/vendor and arch (in the
# log) are the firmware sheet's verdict (netkit.verdict).
# m-https is stock dnsmasq's byte scan, for comparison.
EXPECTED = {
    "pxe-bios": "c-pxe c-net a-bios",
    "uefi-x64": "c-pxe c-net a-x64 a-efi a-7",
    "uefi-ia32": "c-pxe c-net a-ia32 a-efi",
    "uefi-x64-sends-9": "c-pxe c-net a-x64 a-efi a-7",
    "uefi-two-arch": "c-pxe c-net a-x64 a-efi a-7 a-16 a-http",
    "arch-only-in-60": "c-pxe c-net a-arm64 a-efi",
    "uefi-arm64": "c-pxe c-net a-arm64 a-efi",
    "httpboot-arm64": "c-http c-net a-arm64 a-efi a-http",
    "httpboot-x64": "c-http c-net a-x64 a-efi a-http a-16",
    "uboot-armv8": "c-uboot c-net a-arm64 a-uboot",
    "rpi4": "c-pxe c-net a-bios a-rpi",
    "etherboot-5.4": "c-eb c-net b-e1000",
    "gpxe-0.9.7": "c-gpxe c-net a-bios b-e1000 f-http-dns f-tftp v-lt1",
    "gpxe-0.9.3": "c-gpxe c-net a-bios b-e1000 f-http-dns f-tftp",
    "gpxe-2007": "c-eb c-net",
    "virtualbox-ipxe": "c-ipxe c-vendor c-net a-bios b-e1000 f-tftp v-ge121",
    # FlexBoot is its own class (issue 10): a boot program, not iPXE
    "flexboot": "c-net a-bios b-mlx f-http-dns f-tftp v-eq100",
    "qemu-ipxe": "c-ipxe c-vendor c-net a-bios b-virtio f-http-dns f-tftp v-eq100",
    "ipxe-1.20.1": "c-ipxe c-vendor c-net a-bios b-virtio f-http-dns f-tftp m-https",
    # HTTPS but older than 2: not own (criteria on one line are ANDed)
    "ipxe-https-bios": ("c-ipxe c-vendor c-net a-bios b-virtio f-https f-http-dns f-tftp "
                        "v-ge121 m-https"),
    "ipxe-2.0-efi": ("c-ipxe c-own c-net a-x64 a-efi a-7 b-virtio f-https f-http-dns f-tftp "
                     "v-ge121 m-https"),
    "ipxe-cstm": "c-ipxe c-own c-net a-bios b-virtio f-http-dns f-tftp v-ge121",
    "ordinary": "c-none",
}


def rule_of(tag):
    """The config line that sets TAG."""
    return next(line for line in MATRIX_RULES.splitlines() if "set:%s," % tag in line)


def logged_tags(lines):
    """{tag: directive} from a `pxeclass tags:` log line."""
    return dict(re.findall(r"([\w-]+) \((dhcp-[\w-]+=[^)]*)\)", lines[0])) if lines else {}


@testing.needs_namespaces
@unittest.skipUnless(HAVE_PATCHED, "set PXC_DNSMASQ_PATCHED")
class NormalModeMatrixTest(unittest.TestCase):
    """Every client against one dnsmasq holding every directive."""

    @classmethod
    def setUpClass(cls):
        cls.codes, force = tag_options(MATRIX_TAGS)
        config = BASE_CONFIG + RANGE + MATRIX_RULES + force
        cls.lab = cls.enterClassContext(Lab(PATCHED, config))

    def test_every_client_gets_exactly_its_tags(self):
        self.assertEqual(set(EXPECTED), set(PROFILES))
        for name, tags in EXPECTED.items():
            fw_class, own, arch = verdict(name)
            with self.subTest(client=name):
                offer, ack = self.lab.dora(PROFILES[name])
                self.assertEqual(forced_tags(offer, self.codes), set(tags.split()))
                self.assertEqual(forced_tags(ack, self.codes), set(tags.split()))
                self.check_log(offer.xid, fw_class, own, arch, set(tags.split()) - {"m-https"})

    def check_log(self, xid, fw_class, own, arch, tags):
        """Both requests of XID logged their class and named each tag's line."""
        summary = self.lab.server.log_lines(r"^%d pxeclass: " % xid)
        self.assertEqual(len(summary), 2, self.lab.log())
        for line in summary:
            self.assertIn(" pxeclass: class=%s" % fw_class, line)
            self.assertEqual(" own=%s" % own in line, own is not None, line)
            self.assertEqual(" arch=%s" % arch in line if arch else " arch=" not in line,
                             True, line)
        named = self.lab.server.log_lines(r"^%d pxeclass tags: " % xid)
        self.assertEqual(len(named), 2, self.lab.log())
        self.assertEqual(logged_tags(named), {tag: rule_of(tag) for tag in tags}, named[0])

    def test_175_is_read_as_tlv_not_scanned_for_bytes(self):
        """iPXE 1.20.1 (version 01 14 01, no HTTPS): dnsmasq's byte scan
        `175,20` says HTTPS, dhcp-ipxe-feature=https does not; a build that
        has the flag gets both."""
        offer = self.lab.discover(PROFILES["ipxe-1.20.1"])[0]
        self.assertIn("m-https", forced_tags(offer, self.codes))
        self.assertNotIn("f-https", forced_tags(offer, self.codes))
        offer = self.lab.discover(PROFILES["ipxe-2.0-efi"])[0]
        self.assertLessEqual({"m-https", "f-https"}, forced_tags(offer, self.codes))


@testing.needs_namespaces
@unittest.skipUnless(HAVE_PATCHED and HAVE_STOCK, "set PXC_DNSMASQ_PATCHED and _STOCK")
class StockByteScanTest(unittest.TestCase):
    """The false positive is stock dnsmasq's own, on the same bytes."""

    def test_stock_dhcp_match_175_20_tags_ipxe_1_20_1(self):
        codes, force = tag_options(["m-https"])
        config = BASE_CONFIG + RANGE + "dhcp-match=set:m-https,175,20\n" + force
        with Lab(STOCK, config) as lab:
            offer = lab.discover(PROFILES["ipxe-1.20.1"])[0]
            self.assertEqual(forced_tags(offer, codes), {"m-https"})


@testing.needs_namespaces
@unittest.skipUnless(HAVE_PATCHED, "set PXC_DNSMASQ_PATCHED")
class Arch9Test(unittest.TestCase):
    """dhcp-pxe-arch9=ebc: 93 = 9 is EFI byte code again, not x64."""

    def test_arch9_ebc(self):
        codes, force = tag_options(["a-x64", "a-ebc", "a-9"])
        config = BASE_CONFIG + RANGE + force + "dhcp-pxe-arch9=ebc\n" \
            "dhcp-pxe-arch=set:a-x64,x64\ndhcp-pxe-arch=set:a-ebc,ebc\n" \
            "dhcp-pxe-arch=set:a-9,9\n"
        with Lab(PATCHED, config) as lab:
            offer = lab.discover(PROFILES["uefi-x64-sends-9"])[0]
            self.assertEqual(forced_tags(offer, codes), {"a-ebc", "a-9"})
            self.assertTrue(lab.server.log_lines(r"^%d pxeclass: .* arch=9\(efi-ebc\)"
                                                 % offer.xid), lab.log())
            offer = lab.discover(PROFILES["uefi-x64"])[0]
            self.assertEqual(forced_tags(offer, codes), {"a-x64"})


# Proxy mode: one menu entry per tag and client system architecture, its
# text the tag; a PXE menu then lists the tags the client got.
PROXY_TAGS = ("c-pxe", "c-ipxe", "c-own", "c-vendor", "c-gpxe", "a-bios", "a-x64", "a-ia32",
              "a-rpi", "f-https", "v-ge121", "b-virtio")
CSAS = (0, 6, 7, 9)
PROXY_EXPECTED = {
    # client: (tags in the menu, where the menu comes from)
    "pxe-bios": ("c-pxe a-bios", 67),
    "rpi4": ("c-pxe a-bios a-rpi", 67),
    "qemu-ipxe": ("c-ipxe c-vendor a-bios b-virtio", 67),
    "virtualbox-ipxe": ("c-ipxe c-vendor a-bios v-ge121", 67),
    "ipxe-cstm": ("c-ipxe c-own a-bios v-ge121 b-virtio", 67),
    "uefi-x64": ("c-pxe a-x64", 4011),
    "uefi-x64-sends-9": ("c-pxe a-x64", 4011),
    "uefi-ia32": ("c-pxe a-ia32", 4011),
    # HTTPS, but older than 2: not own
    "ipxe-https-bios": ("c-ipxe c-vendor a-bios f-https v-ge121 b-virtio", 67),
    "ipxe-2.0-efi": ("c-ipxe c-own a-x64 f-https v-ge121 b-virtio", 4011),
}


def proxy_config():
    """Proxy-mode config: MATRIX_RULES' directives for PROXY_TAGS, a menu
    entry per tag and CSA, and gPXE ignored."""
    rules = "".join(rule_of(tag) + "\n" for tag in PROXY_TAGS)
    services = "".join('pxe-service=tag:%s,%d,"%s",%s\n' % (tag, csa, tag, tag)
                       for tag in PROXY_TAGS for csa in CSAS)
    return BASE_CONFIG + PROXY_RANGE + "dhcp-ipxe-own=user-class:CSTM\n" \
        "dhcp-ipxe-own=feature:https,version:>=2\n" + rules + services + \
        "dhcp-ignore=tag:c-gpxe\n"


@testing.needs_namespaces
@unittest.skipUnless(HAVE_PATCHED and HAVE_STOCK, "set PXC_DNSMASQ_PATCHED and _STOCK")
class ProxyModeTest(unittest.TestCase):
    """proxyDHCP next to a plain DHCP server: the tags choose the menu on
    port 67 (BIOS) and on the port-4011 request (UEFI is sent there)."""

    @classmethod
    def setUpClass(cls):
        cls.lab = cls.enterClassContext(Lab(PATCHED, proxy_config(), peer_binary=STOCK,
                                            peer_config=PLAIN_DHCP_CONFIG))

    def proxy_exchange(self, profile):
        """DISCOVER (address + proxy offer), REQUEST to the address server:
        (proxy offer, leased address)."""
        proxy, address, ack = self.lab.proxy_dora(profile)
        self.assertEqual((len(proxy), len(address)), (1, 1), self.lab.log())
        self.assertEqual(proxy[0].yiaddr, "0.0.0.0")
        self.assertEqual(ack.msg_type, dhcp.ACK)
        return proxy[0], ack.yiaddr

    def test_menus_follow_the_tags_on_67_and_4011(self):
        for name, (tags, port) in PROXY_EXPECTED.items():
            with self.subTest(client=name):
                profile = PROFILES[name]
                proxy, address = self.proxy_exchange(profile)
                self.assertEqual(proxy.vendor_class, "PXEClient")
                if port == 4011:
                    # UEFI: no menu on 67, sent to the boot server instead
                    self.assertIsNone(proxy.pxe, "UEFI gets its menu on 4011")
                    self.assertEqual(proxy.siaddr, SERVER)
                    reply = self.lab.boot_server_request(profile, SERVER, address)
                    self.assertIsNotNone(reply, self.lab.log())
                else:
                    reply = proxy
                menu = [text for _, text in reply.pxe.menu]
                self.assertEqual(sorted(menu), sorted(tags.split()), self.lab.log())

    def test_boot_item_on_4011(self):
        """The PXE ROM picks its c-pxe entry: the boot server on 4011 hands
        out that entry's file."""
        profile = PROFILES["pxe-bios"]
        proxy, address = self.proxy_exchange(profile)
        item = next(kind for kind, text in proxy.pxe.menu if text == "c-pxe")
        ack = self.lab.boot_server_request(profile, SERVER, address, boot_item=(item, 0))
        self.assertIsNotNone(ack, self.lab.log())
        self.assertEqual(ack.boot_file, "c-pxe.0")
        self.assertEqual(ack.pxe.boot_item, (item, 0))
        self.assertTrue(self.lab.server.log_lines(
            r"^%d pxeclass: class=pxe arch=0" % ack.xid), self.lab.log())

    def test_dhcp_ignore_on_67_and_4011(self):
        """gPXE is ignored by the proxy (the address server still answers),
        also when it asks the boot server directly."""
        profile = PROFILES["gpxe-0.9.7"]
        xid = dhcp.new_xid()
        offers = self.lab.discover(profile, xid, wait_for=2, timeout=1.0)
        self.assertEqual([o.server_id for o in offers], [PEER])
        ack = self.lab.request(profile, offers[0], xid)
        boot_xid = dhcp.new_xid()
        self.assertIsNone(self.lab.boot_server_request(profile, SERVER, ack.yiaddr,
                                                       boot_item=(32768, 0), xid=boot_xid,
                                                       timeout=1.0))
        # classified and tagged on 4011 too, and not answered
        for xid in (offers[0].xid, boot_xid):
            self.assertTrue(self.lab.server.log_lines(r"^%d pxeclass tags: c-gpxe " % xid),
                            self.lab.log())
        self.assertTrue(self.lab.server.log_lines(r"^%d PXE.* proxy-ignored" % offers[0].xid))
        self.assertFalse(self.lab.server.log_lines(r"^%d PXE" % boot_xid), self.lab.log())


# Normal mode: the tags in every place dnsmasq takes tags.
PLACES_CONFIG = BASE_CONFIG + RANGE + """bootp-dynamic
dhcp-pxe-class=set:ipxe,ipxe
dhcp-pxe-class=set:gpxe,gpxe
dhcp-pxe-class=set:uboot,uboot
dhcp-pxe-class=set:http,http-boot
dhcp-pxe-class=set:eb,etherboot
dhcp-pxe-class=set:rom,pxe
dhcp-pxe-arch=set:bios,bios
dhcp-ipxe-feature=set:https,https
dhcp-boot=tag:eb,eb-next.nbi
dhcp-boot=tag:ipxe,tag:!https,http://10.77.0.1/plain.ipxe
dhcp-boot=tag:https,https://10.77.0.1/secure.ipxe
pxe-service=tag:rom,tag:bios,x86PC,"Install",installer
pxe-service=tag:!rom,x86PC,"Not for ROMs",wrong
dhcp-option=tag:uboot,209,uboot.cfg
dhcp-option=tag:ipxe,209,never-requested.cfg
dhcp-option-force=tag:http,60,HTTPClient
tag-if=set:ipxe-bios,tag:ipxe,tag:bios
dhcp-option-force=tag:ipxe-bios,224,ipxe-on-bios
dhcp-option-force=tag:https,225,has-https
dhcp-ignore=tag:gpxe
dhcp-host=52:54:00:7a:01:01,tag:eb,set:eb-host,10.77.0.150
dhcp-option-force=tag:eb-host,226,host-line
"""


@testing.needs_namespaces
@unittest.skipUnless(HAVE_PATCHED, "set PXC_DNSMASQ_PATCHED")
class TagPlacesTest(unittest.TestCase):
    """The pxeclass tags wherever dnsmasq takes tags."""

    @classmethod
    def setUpClass(cls):
        cls.lab = cls.enterClassContext(Lab(PATCHED, PLACES_CONFIG))

    def test_dhcp_boot(self):
        offer, ack = self.lab.dora(PROFILES["qemu-ipxe"])
        self.assertEqual((offer.boot_file, ack.boot_file), ("http://10.77.0.1/plain.ipxe",) * 2)
        offer, ack = self.lab.dora(PROFILES["ipxe-2.0-efi"])
        self.assertEqual(ack.boot_file, "https://10.77.0.1/secure.ipxe")

    def test_dhcp_option_when_requested_and_force_always(self):
        offer, ack = self.lab.dora(PROFILES["uboot-armv8"])     # its 55 asks for 209
        self.assertEqual(ack.opt_str(209), "uboot.cfg")
        offer, ack = self.lab.dora(PROFILES["qemu-ipxe"])       # iPXE does not ask
        self.assertIsNone(ack.opt(209))
        offer, ack = self.lab.dora(PROFILES["httpboot-x64"])
        self.assertEqual(ack.vendor_class, "HTTPClient")
        offer, ack = self.lab.dora(PROFILES["uefi-x64"])
        self.assertEqual(ack.vendor_class, "PXEClient")

    def test_tag_if(self):
        self.assertEqual(self.lab.dora(PROFILES["qemu-ipxe"])[1].opt_str(224), "ipxe-on-bios")
        self.assertIsNone(self.lab.dora(PROFILES["ipxe-2.0-efi"])[1].opt(224))
        self.assertIsNone(self.lab.dora(PROFILES["pxe-bios"])[1].opt(224))

    def test_dhcp_ignore(self):
        self.assertEqual(self.lab.discover(PROFILES["gpxe-0.9.7"], timeout=1.0), [])
        lines = self.lab.server.log_lines(r"DHCPDISCOVER.*ignored")
        self.assertTrue(lines, self.lab.log())
        # the same machine's PXE ROM is answered
        machine = PROFILES["gpxe-0.9.7"].mac
        self.assertTrue(self.lab.discover(PROFILES["pxe-bios"].with_mac(machine)))

    def test_dhcp_host_tag_and_set(self):
        """dhcp-host=<mac>,tag:eb,set:eb-host,10.77.0.150: the machine's PXE
        ROM is not that host (pool address); its Etherboot is (fixed
        address, and the host line's own tag reaches the reply)."""
        mac = "52:54:00:7a:01:01"
        rom = self.lab.discover(PROFILES["pxe-bios"].with_mac(mac))[0]
        self.assertNotEqual(rom.yiaddr, "10.77.0.150")
        self.assertIsNone(rom.opt(226))
        offer, ack = self.lab.dora(PROFILES["etherboot-5.4"].with_mac(mac))
        self.assertEqual((offer.yiaddr, ack.yiaddr), ("10.77.0.150",) * 2)
        self.assertEqual(ack.opt_str(226), "host-line")
        self.assertEqual(ack.boot_file, "eb-next.nbi")

    def test_pxe_service_and_boot_server(self):
        """Normal mode: the PXE ROM's OFFER has the menu its tags allow; its
        boot-server request to 4011 gets the entry's file."""
        profile = PROFILES["pxe-bios"].with_mac("52:54:00:7a:01:02")
        offer, ack = self.lab.dora(profile)
        self.assertEqual([text for _, text in ack.pxe.menu], ["Install"])
        item = ack.pxe.menu[0][0]
        boot = self.lab.boot_server_request(profile, SERVER, ack.yiaddr, boot_item=(item, 0))
        self.assertIsNotNone(boot, self.lab.log())
        self.assertEqual(boot.boot_file, "installer.0")
        offer, ack = self.lab.dora(PROFILES["virtualbox-ipxe"])
        self.assertEqual([text for _, text in ack.pxe.menu], ["Not for ROMs"])

    def test_bootp(self):
        """A BOOTP request (no option 53) is classified too: Etherboot's
        BOOTP gets the Etherboot boot file."""
        reply = self.lab.bootp(PROFILES["etherboot-5.4"].with_mac("52:54:00:7a:01:03"))
        self.assertIsNotNone(reply, self.lab.log())
        self.assertIsNone(reply.msg_type)
        self.assertEqual(reply.boot_file, "eb-next.nbi")
        self.assertTrue(self.lab.server.log_lines(r"^%d pxeclass: class=etherboot" % reply.xid),
                        self.lab.log())

    def test_dhcpinform(self):
        """An iPXE with an address asks DHCPINFORM: its ACK carries the
        options of its tags."""
        profile = PROFILES["ipxe-2.0-efi"].with_mac("52:54:00:7a:01:04")
        ack = self.lab.inform(profile, "10.77.0.60")
        self.assertIsNotNone(ack, self.lab.log())
        self.assertEqual((ack.msg_type, ack.yiaddr), (dhcp.ACK, "0.0.0.0"))
        self.assertEqual(ack.opt_str(225), "has-https")
        self.assertTrue(self.lab.server.log_lines(
            r"^%d pxeclass tags: .*https \(dhcp-ipxe-feature=set:https,https\)" % ack.xid),
            self.lab.log())


if __name__ == "__main__":
    testing.main()
