#!/usr/bin/env python3
"""The facts of the DHCPv6 captures (tests/captures/g*), read from the pcaps.

Frames are read down to UDP by pxelab.pcap; the DHCPv6 messages (RFC 8415
header and options) and the few DHCPv4 fields used are read here with
struct, bounds-checked.  Each test asserts a fact of the README's g* rows
or of research/dhcpv6.md, so a re-recorded capture that no longer shows it
fails: which stacks spoke, in which order, and the exact bytes of their
client-id (DUID type and UUID byte order), IA_NA, ORO, 15, 16, 61 and 62,
and of the server's replies (59, the HTTPClient echo in 16).
"""

import os
import struct
import sys
import unittest
import zlib
from dataclasses import dataclass

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools"))

from pxelab import pcap, testing  # noqa: E402
from pxelab.dhcp6 import (ADVERTISE, CLIENT_PORT, DUID_UUID, ENTERPRISE_PXE,  # noqa: E402
                          OPT_ARCH, OPT_BOOTFILE_URL, OPT_CLIENTID, OPT_ELAPSED, OPT_IA_NA,
                          OPT_NII, OPT_ORO, OPT_PREFERENCE, OPT_SERVERID, OPT_STATUS,
                          OPT_USER_CLASS, OPT_VENDOR_CLASS, RELEASE, REPLY, REQUEST,
                          SERVER_PORT, SOLICIT)

BOOTPC, BOOTPS, PXE_PORT = 68, 67, 4011

MAC = bytes.fromhex("525400770001")
UUID = bytes.fromhex("00112233445566778899aabbccddeeff")   # QEMU -uuid of every capture


def uuid_mangle(raw):
    """The UUID with its first three fields byte-swapped (SMBIOS order)."""
    return raw[3::-1] + raw[5:3:-1] + raw[7:5:-1] + raw[8:]


def duid_uuid(raw):
    """A DUID-UUID (type 4) over 16 UUID bytes."""
    return struct.pack("!H", DUID_UUID) + raw


def vendor_class(enterprise, *instances):
    """Option 16: enterprise u32, then (u16 length, bytes) per instance."""
    return struct.pack("!I", enterprise) + b"".join(
        struct.pack("!H", len(data)) + data for data in instances)


def crc32_le(seed, data):
    """iPXE's crc32_le(): the reflected CRC-32 without the pre/post inversion."""
    return zlib.crc32(data, seed ^ 0xFFFFFFFF) ^ 0xFFFFFFFF


DUID_EDK2 = duid_uuid(uuid_mangle(UUID))   # raw SMBIOS bytes
DUID_IPXE = duid_uuid(UUID)                # RFC 4122 order
IPXE_IAID = crc32_le(0, MAC)
# Debian ipxe.efi's xid on OVMF: the same in every boot (g1, g1b, g2 and f3)
IPXE_EFI_XID = "5985f4"
HTTPCLIENT_ECHO = b"\x00\x02XY\x00\x0aHTTPClient"   # option6:16,XY,HTTPClient


class MalformedCapture(AssertionError):
    """A DHCPv6 message whose options run past its end."""


@dataclass
class Message:
    """One DHCPv6 message: time, direction, type, xid and options in wire order."""
    ts: float
    from_client: bool
    type: int
    xid: bytes
    options: list

    def codes(self):
        """Option codes in wire order."""
        return [code for code, _ in self.options]

    def get(self, code):
        """The value of the first option `code`, or None."""
        return next((value for c, value in self.options if c == code), None)

    def oro(self):
        """The option codes the ORO asks for, in order."""
        value = self.get(OPT_ORO) or b""
        return list(struct.unpack(f"!{len(value) // 2}H", value))

    def ia_na(self):
        """(IAID, T1, T2) of the IA_NA."""
        return struct.unpack("!III", self.get(OPT_IA_NA)[:12])


def parse_options(data):
    """[(code, value)] of a DHCPv6 option area; raises if a length overruns."""
    options, offset = [], 0
    while offset < len(data):
        if offset + 4 > len(data):
            raise MalformedCapture(f"option header cut at {offset} of {len(data)}")
        code, length = struct.unpack_from("!HH", data, offset)
        if offset + 4 + length > len(data):
            raise MalformedCapture(f"option {code} length {length} past the end")
        options.append((code, data[offset + 4:offset + 4 + length]))
        offset += 4 + length
    return options


@dataclass
class Capture:
    """The DHCPv6 messages and the DHCPv4/4011 datagrams of one pcap."""
    v6: list
    v4: list        # pcap.UdpRecord, ports 67/68/4011

    def client(self, select=lambda m: True):
        """Client messages for which select(m) holds, in capture order."""
        return [m for m in self.v6 if m.from_client and select(m)]

    def answers(self, message):
        """The server messages with the xid of client `message`, up to the next
        client message with that xid (iPXE keeps one xid for SOLICIT and REQUEST)."""
        later = self.v6[self.v6.index(message) + 1:]
        found = []
        for m in later:
            if m.xid == message.xid:
                if m.from_client:
                    break
                found.append(m)
        return found


def read_capture(folder):
    """Parse tests/captures/<folder>/dhcp.pcap."""
    v6, v4 = [], []
    for record in pcap.read_udp(os.path.join(HERE, folder, "dhcp.pcap")):
        ports = {record.src_port, record.dst_port}
        if ports == {CLIENT_PORT, SERVER_PORT}:
            data = record.payload
            if len(data) < 4:
                raise MalformedCapture(f"DHCPv6 message of {len(data)} bytes")
            v6.append(Message(record.ts, record.dst_port == SERVER_PORT, data[0], data[1:4],
                              parse_options(data[4:])))
        elif ports & {BOOTPC, BOOTPS, PXE_PORT}:
            v4.append(record)
    return Capture(v6, v4)


def dhcp4_option(record, wanted):
    """The value of option `wanted` of a DHCPv4 datagram (None if absent)."""
    data, offset = record.payload, 240
    while offset + 2 <= len(data) and data[offset] != 255:
        if data[offset] == 0:
            offset += 1
            continue
        code, length = data[offset], data[offset + 1]
        if offset + 2 + length > len(data):
            raise MalformedCapture(f"DHCPv4 option {code} length {length} past the end")
        if code == wanted:
            return data[offset + 2:offset + 2 + length]
        offset += 2 + length
    return None


def dhcp4_type(record):
    """Option 53 (message type) of a DHCPv4 datagram, None if absent."""
    value = dhcp4_option(record, 53)
    return value[0] if value and len(value) == 1 else None


def has_vendor_class(data):
    """A selector: client messages whose option 16 is exactly `data`."""
    return lambda m: m.get(OPT_VENDOR_CLASS) == data


def edk2_bare(m):
    """EDK2's Ip6Config: the firmware's DUID and no vendor class."""
    return m.get(OPT_CLIENTID) == DUID_EDK2 and m.get(OPT_VENDOR_CLASS) is None


EDK2_PXE_X64 = vendor_class(ENTERPRISE_PXE, b"PXEClient:Arch:00007:UNDI:003000")
EDK2_HTTP_X64 = vendor_class(ENTERPRISE_PXE, b"HTTPClient:Arch:00016:UNDI:003000")
IPXE_EFI_X64 = vendor_class(ENTERPRISE_PXE, b"PXEClient:Arch:00007:UNDI:003010")
IPXE_BIOS = vendor_class(ENTERPRISE_PXE, b"PXEClient:Arch:00000:UNDI:002001")


class CaptureFacts:
    """Checks shared by the g* captures (mixed into one TestCase per capture)."""
    folder = None

    @classmethod
    def setUpClass(cls):
        cls.cap = read_capture(cls.folder)

    def stack(self, select, types):
        """The client messages `select` picks; asserts their message types."""
        messages = self.cap.client(select)
        self.assertEqual([m.type for m in messages], list(types))
        return messages

    def assert_answered(self, message, types, bootfile_url=None, vendor_class=None):
        """The server answered `message` with `types`; 59 and 16 in them as given."""
        answers = self.cap.answers(message)
        self.assertEqual([m.type for m in answers], list(types))
        for answer in answers:
            self.assertEqual(answer.get(OPT_CLIENTID), message.get(OPT_CLIENTID))
            if answer.type in (ADVERTISE, REPLY) and message.type != RELEASE:
                self.assertEqual(answer.get(OPT_BOOTFILE_URL), bootfile_url)
                self.assertEqual(answer.get(OPT_VENDOR_CLASS), vendor_class)

    def assert_edk2_boot_stack(self, messages, vclass, arch, url, echo=None):
        """EDK2 PXEv6 / HTTPv6: SOLICIT + REQUEST with 62, 61, 16; the reply's 59 (and 16)."""
        solicit, request = messages[:2]
        self.assertEqual(solicit.codes(), [OPT_CLIENTID, OPT_ELAPSED, OPT_IA_NA, OPT_ORO,
                                           OPT_NII, OPT_ARCH, OPT_VENDOR_CLASS])
        self.assertEqual(request.codes(), [OPT_CLIENTID, OPT_ELAPSED, OPT_SERVERID, OPT_IA_NA,
                                           OPT_ORO, OPT_NII, OPT_ARCH, OPT_VENDOR_CLASS])
        for m in (solicit, request):
            self.assertEqual(m.get(OPT_CLIENTID), DUID_EDK2)
            self.assertEqual(m.get(OPT_VENDOR_CLASS), vclass)
            self.assertEqual(m.get(OPT_ARCH), arch)
            self.assertEqual(m.get(OPT_NII), b"\x01\x03\x00")
            self.assertEqual(m.oro(), [OPT_BOOTFILE_URL, 60, 23, OPT_VENDOR_CLASS])
            self.assertIsNone(m.get(OPT_USER_CLASS))
        self.assertEqual(solicit.ia_na()[1:], (0xFFFFFFFF, 0xFFFFFFFF))
        self.assertEqual(request.ia_na()[0], solicit.ia_na()[0])
        self.assert_answered(solicit, [ADVERTISE], url, echo)
        self.assert_answered(request, [REPLY], url, echo)

    def assert_edk2_bare_stack(self, messages, boot_iaid):
        """Ip6Config: SOLICIT/REQUEST, ORO {23} only, no class options, its own IAID, no 59."""
        for m in messages:
            self.assertEqual(m.get(OPT_CLIENTID), DUID_EDK2)
            for code in (OPT_USER_CLASS, OPT_VENDOR_CLASS, OPT_ARCH, OPT_NII):
                self.assertIsNone(m.get(code))
        self.assertEqual(messages[0].codes(), [OPT_CLIENTID, OPT_ELAPSED, OPT_IA_NA, OPT_ORO])
        self.assertEqual(messages[0].oro(), [23])
        self.assertNotEqual(messages[0].ia_na()[0], boot_iaid)
        self.assert_answered(messages[0], [ADVERTISE])
        self.assert_answered(messages[1], [REPLY])

    def assert_edk2_xids_step(self):
        """EDK2's xid is one 24-bit counter for all its stacks, written little-endian:
        +1 per message read that way (the first wire byte, carrying into the second)."""
        xids = [int.from_bytes(m.xid, "little") for m in self.cap.client(
            lambda m: m.get(OPT_CLIENTID) == DUID_EDK2)]
        self.assertGreaterEqual(len(xids), 4)
        self.assertEqual([(b - a) & 0xFFFFFF for a, b in zip(xids, xids[1:])],
                         [1] * (len(xids) - 1))

    def assert_edk2_releases(self, messages, bare_iaid, boot_iaid):
        """RELEASE of the Ip6Config IA first, then of the boot IA; T1/T2 back to ffffffff."""
        self.assertEqual([m.ia_na()[0] for m in messages], [bare_iaid, boot_iaid])
        for m in messages:
            self.assertEqual(m.ia_na()[1:], (0xFFFFFFFF, 0xFFFFFFFF))
            self.assert_answered(m, [REPLY])

    def assert_ipxe_stack(self, vclass, arch, nii, url):
        """iPXE's SOLICIT + REQUEST: one xid, its DUID order, crc32 IAID, 15 = iPXE."""
        solicit, request = self.stack(lambda m: m.get(OPT_USER_CLASS) is not None,
                                      [SOLICIT, REQUEST])
        self.assertEqual(solicit.xid, request.xid)
        self.assertEqual(solicit.codes(), [OPT_CLIENTID, OPT_IA_NA, OPT_ORO, OPT_VENDOR_CLASS,
                                           OPT_ARCH, OPT_NII, OPT_USER_CLASS, OPT_ELAPSED])
        self.assertEqual(request.codes(), [OPT_CLIENTID, OPT_SERVERID, OPT_IA_NA, OPT_ORO,
                                           OPT_VENDOR_CLASS, OPT_ARCH, OPT_NII, OPT_USER_CLASS,
                                           OPT_ELAPSED])
        for m in (solicit, request):
            self.assertEqual(m.get(OPT_CLIENTID), DUID_IPXE)
            self.assertEqual(m.get(OPT_USER_CLASS), b"\x00\x04iPXE")
            self.assertEqual(m.get(OPT_VENDOR_CLASS), vclass)
            self.assertEqual(m.get(OPT_ARCH), arch)
            self.assertEqual(m.get(OPT_NII), nii)
            self.assertEqual(m.oro(), [23, 24, OPT_BOOTFILE_URL, 60])
            self.assertEqual(m.ia_na(), (IPXE_IAID, 0, 0))
        self.assert_answered(solicit, [ADVERTISE], url)
        self.assert_answered(request, [REPLY], url)
        return solicit

    def assert_discover_with(self, solicit, answered):
        """iPXE's DISCOVER leaves with its SOLICIT (within 0.1 s); answered or not."""
        discovers = [r for r in self.cap.v4 if r.dst_port == BOOTPS and dhcp4_type(r) == 1]
        self.assertLess(min(abs(r.ts - solicit.ts) for r in discovers), 0.1)
        self.assertEqual(discovers[0].src_mac, "52:54:00:77:00:01")
        replies = [r for r in self.cap.v4 if r.src_port == BOOTPS]
        self.assertEqual(bool(replies), answered)

    def test_no_port_4011_and_server_never_sends_pxeclient(self):
        self.assertFalse([r for r in self.cap.v4 if PXE_PORT in (r.src_port, r.dst_port)])
        for m in self.cap.v6:
            if not m.from_client:
                self.assertNotIn(b"PXEClient", m.get(OPT_VENDOR_CLASS) or b"")

    def test_duid_uuid_byte_orders_differ(self):
        self.assertEqual(DUID_EDK2.hex(), "000433221100554477668899aabbccddeeff")
        self.assertEqual(DUID_IPXE.hex(), "000400112233445566778899aabbccddeeff")
        duids = {m.get(OPT_CLIENTID) for m in self.cap.client()}
        self.assertLessEqual(duids, {DUID_EDK2, DUID_IPXE})
        self.assertTrue(all(struct.unpack("!H", d[:2])[0] == DUID_UUID for d in duids))


class PxeV6Chain(CaptureFacts):
    """OVMF PXEv6 -> ipxe.efi over TFTP -> iPXE v6-only (no DHCPv4 server)."""

    def test_message_sequence(self):
        self.assertEqual([m.type for m in self.cap.client()],
                         [SOLICIT, REQUEST, SOLICIT, REQUEST, RELEASE, RELEASE, SOLICIT, REQUEST])
        self.assertEqual([m.type for m in self.cap.v6 if not m.from_client],
                         [ADVERTISE, REPLY, ADVERTISE, REPLY, REPLY, REPLY, ADVERTISE, REPLY])

    def test_edk2_pxe_and_ip6config(self):
        boot = self.stack(has_vendor_class(EDK2_PXE_X64), [SOLICIT, REQUEST])
        self.assert_edk2_boot_stack(boot, EDK2_PXE_X64, b"\x00\x07", b"tftp://[fd77::1]/ipxe.efi")
        bare = self.stack(edk2_bare, [SOLICIT, REQUEST, RELEASE, RELEASE])
        self.assertLess(bare[1].ts, boot[0].ts)     # Ip6Config first, here
        self.assert_edk2_bare_stack(bare[:2], boot[0].ia_na()[0])
        self.assert_edk2_releases(bare[2:], bare[0].ia_na()[0], boot[0].ia_na()[0])
        self.assert_edk2_xids_step()

    def test_ip6config_requests_at_once_whatever_the_preference(self):
        bare = self.cap.client(edk2_bare)
        advertise = self.cap.answers(bare[0])[0]
        self.assertEqual(advertise.get(OPT_PREFERENCE), self.preference)
        self.assertLess(bare[1].ts - advertise.ts, 0.5)

    def test_pxe_request_waits_unless_preference_255(self):
        boot = self.cap.client(has_vendor_class(EDK2_PXE_X64))
        advertise = self.cap.answers(boot[0])[0]
        self.assertEqual(advertise.get(OPT_PREFERENCE), self.preference)
        if self.preference == b"\xff":
            self.assertLess(boot[1].ts - advertise.ts, 0.5)
        else:
            self.assertGreater(boot[1].ts - advertise.ts, 3.5)

    def test_ipxe_efi_v6_only(self):
        solicit = self.assert_ipxe_stack(IPXE_EFI_X64, b"\x00\x07", b"\x01\x03\x0a",
                                         b"http://[fd77::1]/boot.ipxe")
        self.assertEqual(solicit.xid.hex(), IPXE_EFI_XID)
        self.assert_discover_with(solicit, answered=False)


class G1OvmfPxev6(PxeV6Chain, unittest.TestCase):
    """PXEv6 chain against dnsmasq's default preference 0."""
    folder = "g1-ovmf-pxev6"
    preference = b"\x00"


class G1bOvmfPxev6Authoritative(PxeV6Chain, unittest.TestCase):
    """The same chain with dhcp-authoritative: preference 255, no wait."""
    folder = "g1b-ovmf-pxev6-authoritative"
    preference = b"\xff"


class G2OvmfHttpv6(CaptureFacts, unittest.TestCase):
    """OVMF HTTP Boot: HTTPv4 times out, HTTPv6 with the XY,HTTPClient echo boots."""
    folder = "g2-ovmf-httpv6"

    def test_httpv4_gives_up_before_httpv6(self):
        discovers = [r for r in self.cap.v4 if dhcp4_type(r) == 1]
        first_v6 = self.cap.v6[0].ts
        before = [r for r in discovers if r.ts < first_v6]
        self.assertEqual(len(before), 4)
        self.assertFalse([r for r in self.cap.v4 if r.src_port == BOOTPS])
        self.assertGreater(first_v6 - before[0].ts, 55)

    def test_edk2_http_with_echo(self):
        boot = self.stack(has_vendor_class(EDK2_HTTP_X64), [SOLICIT, REQUEST])
        self.assertEqual(len(EDK2_HTTP_X64), 4 + 2 + 33)
        self.assert_edk2_boot_stack(boot, EDK2_HTTP_X64, b"\x00\x10", b"http://[fd77::1]/ipxe.efi",
                                    echo=HTTPCLIENT_ECHO)
        # EDK2 checks only Data[6..15] == "HTTPClient", not the enterprise
        self.assertEqual(HTTPCLIENT_ECHO[6:16], b"HTTPClient")
        self.assertNotEqual(struct.unpack("!I", HTTPCLIENT_ECHO[:4])[0], ENTERPRISE_PXE)

    def test_http_request_waits_for_preference_0_ip6config_does_not(self):
        boot = self.cap.client(has_vendor_class(EDK2_HTTP_X64))
        advertise = self.cap.answers(boot[0])[0]
        self.assertEqual(advertise.get(OPT_PREFERENCE), b"\x00")
        self.assertGreater(boot[1].ts - advertise.ts, 3.5)
        bare = self.cap.client(edk2_bare)
        self.assertLess(bare[1].ts - self.cap.answers(bare[0])[0].ts, 0.5)

    def test_edk2_ip6config_after_the_http_solicit(self):
        boot = self.cap.client(has_vendor_class(EDK2_HTTP_X64))
        bare = self.stack(edk2_bare, [SOLICIT, REQUEST, RELEASE, RELEASE])
        self.assertLess(boot[0].ts, bare[0].ts)
        self.assert_edk2_bare_stack(bare[:2], boot[0].ia_na()[0])
        self.assert_edk2_releases(bare[2:], bare[0].ia_na()[0], boot[0].ia_na()[0])
        self.assert_edk2_xids_step()

    def test_ipxe_efi_after_http_boot(self):
        solicit = self.assert_ipxe_stack(IPXE_EFI_X64, b"\x00\x07", b"\x01\x03\x0a",
                                         b"http://[fd77::1]/boot.ipxe")
        self.assertEqual(solicit.xid.hex(), IPXE_EFI_XID)
        self.assert_discover_with(solicit, answered=False)


class G2bOvmfHttpv6NoEcho(CaptureFacts, unittest.TestCase):
    """The same HTTP Boot without the option 16 echo: EDK2 never REQUESTs the offer."""
    folder = "g2b-ovmf-httpv6-noecho"

    def test_offer_without_httpclient_is_dropped(self):
        solicit, = self.stack(has_vendor_class(EDK2_HTTP_X64), [SOLICIT])
        self.assertEqual(solicit.get(OPT_ARCH), b"\x00\x10")
        self.assert_answered(solicit, [ADVERTISE], b"http://[fd77::1]/ipxe.efi")
        self.assertEqual(self.cap.answers(solicit)[0].get(OPT_STATUS), b"\x00\x00success")

    def test_only_ip6config_binds_and_nothing_is_released(self):
        boot = self.cap.client(has_vendor_class(EDK2_HTTP_X64))
        bare = self.stack(edk2_bare, [SOLICIT, REQUEST])
        self.assert_edk2_bare_stack(bare, boot[0].ia_na()[0])
        self.assertFalse(self.cap.client(lambda m: m.get(OPT_USER_CLASS) is not None))


class G3SeabiosIpxeDualStack(CaptureFacts, unittest.TestCase):
    """QEMU's BIOS iPXE ROM, both families answered (the v4 script wins, per the console)."""
    folder = "g3-seabios-ipxe-dualstack"

    def test_bios_rom_dual_stack(self):
        solicit = self.assert_ipxe_stack(IPXE_BIOS, b"\x00\x00", b"\x01\x02\x01",
                                         b"http://[fd77::1]/boot6.ipxe")
        self.assert_discover_with(solicit, answered=True)
        self.assertEqual([m.type for m in self.cap.v6], [SOLICIT, ADVERTISE, REQUEST, REPLY])

    def test_v4_offer_names_the_v4_script(self):
        offers = [r for r in self.cap.v4 if r.src_port == BOOTPS and dhcp4_type(r) == 2]
        self.assertTrue(offers)
        for offer in offers:
            # in option 67 (iPXE asks for it), NUL-terminated; the file field is empty
            self.assertEqual(dhcp4_option(offer, 67), b"http://10.77.0.1/boot.ipxe\x00")


class G3bSeabiosIpxeV6Only(CaptureFacts, unittest.TestCase):
    """QEMU's BIOS iPXE ROM on a link with DHCPv6 only."""
    folder = "g3b-seabios-ipxe-v6only"

    def test_bios_rom_v6_only(self):
        solicit = self.assert_ipxe_stack(IPXE_BIOS, b"\x00\x00", b"\x01\x02\x01",
                                         b"http://[fd77::1]/boot.ipxe")
        self.assert_discover_with(solicit, answered=False)


class Reader(unittest.TestCase):
    """The reader itself: a length past the end is an error, not a short read."""

    def test_overrun_raises(self):
        with self.assertRaises(MalformedCapture):
            parse_options(b"\x00\x01\x00\x05abc")
        with self.assertRaises(MalformedCapture):
            parse_options(b"\x00\x01\x00")
        self.assertEqual(parse_options(b"\x00\x0f\x00\x00"), [(15, b"")])

    def test_ipxe_iaid_is_crc32_le_of_the_mac(self):
        self.assertEqual(IPXE_IAID, 0xAA6C8EB4)     # dhcpv6.md 2.5, f3


if __name__ == "__main__":
    testing.main()
