"""Checks of ipxe_cstm: the CSTM iPXE derived from Debian's binaries (no root needed).

The pieces (CRC, branch filter, block finder) on crafted data everywhere;
the derivation itself on the installed Debian ipxe package's files (tools/setup
installs it; without it those tests skip, which fails the file unless
PXC_ALLOW_SKIP=1).  The real proof, a boot
whose DHCP request says CSTM, is in test_firmware.py (f, h, h2).

  python3 -m unittest tests/firmware/test_ipxe_cstm.py -v
"""

import os
import random
import struct
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))

import ipxe_cstm  # noqa: E402
from pxelab import testing  # noqa: E402
from ipxe_cstm import DeriveError  # noqa: E402

DEBIAN_KPXE = "/usr/lib/ipxe/undionly.kpxe"
DEBIAN_EFI = "/usr/lib/ipxe/ipxe.efi"
OLD = ipxe_cstm.template(b"iPXE")
NEW = ipxe_cstm.template(b"CSTM")


def read_or_skip(test, path):
    """Bytes of a Debian ipxe file, or skip the test saying the package is missing."""
    if not os.path.isfile(path):
        test.skipTest(f"{path} missing (Debian package ipxe not installed)")
    with open(path, "rb") as f:
        return f.read()


def packed_block(payload, pad_to=16):
    """A zbin-style block (length, LZMA1 stream, CRC) of `payload`, after `pad_to` 0xff bytes."""
    stream = ipxe_cstm.compress(ipxe_cstm.bcj_encode(payload))
    crc = struct.pack("<I", ipxe_cstm.crc32_le(stream))
    block = struct.pack("<I", len(stream) + 4) + stream + crc
    return b"\xff" * pad_to + block


class PiecesTest(unittest.TestCase):
    """CRC, branch filter and block finder on crafted data."""

    def test_crc_appended_gives_zero_residue(self):
        data = bytes(range(200))
        self.assertEqual(ipxe_cstm.crc32_le(data + struct.pack("<I", ipxe_cstm.crc32_le(data))), 0)

    def test_branch_filter_round_trips_and_changes_jumps(self):
        rng = random.Random(5)
        data = bytearray(rng.randbytes(4096))
        for offset in range(0, 4000, 97):        # calls/jumps to in-image targets
            data[offset] = 0xE8 if offset % 2 else 0xE9
            struct.pack_into("<i", data, offset + 1, rng.randrange(-offset, 4096 - offset))
        data = bytes(data)
        encoded = ipxe_cstm.bcj_encode(data)
        self.assertGreater(len(ipxe_cstm.changed_bytes(data, encoded)), 40)
        self.assertTrue(ipxe_cstm.bcj_decode(encoded) == data, "decode(encode(x)) != x")

    def test_branch_filter_makes_near_targets_absolute(self):
        # a call at offset 10 to relative target 6: stored as absolute 16
        data = bytes(10) + b"\xe8" + struct.pack("<i", 6) + bytes(20)
        encoded = ipxe_cstm.bcj_encode(data)
        self.assertEqual(struct.unpack_from("<i", encoded, 11)[0], 16)

    def test_block_finder_finds_crafted_blocks_and_ignores_a_bad_crc(self):
        first, second = packed_block(b"A" * 300), packed_block(b"B" * 500)
        image = first + second
        self.assertEqual([length for _, length in ipxe_cstm.packed_blocks(image)],
                         [len(first) - 20, len(second) - 20])
        broken = bytearray(image)
        broken[-1] ^= 1
        self.assertEqual(len(ipxe_cstm.packed_blocks(bytes(broken))), 1)

    def test_user_class_must_fit_in_place(self):
        for bad in ("CST", "CUSTOM", "C-TM"):
            with self.assertRaises(DeriveError):
                ipxe_cstm.check_user_class(bad)
        self.assertEqual(ipxe_cstm.check_user_class("CSTM"), b"CSTM")

    def test_crafted_kpxe_is_patched_in_its_last_block(self):
        payload = b"code" * 50 + OLD + b"data" * 50
        image = packed_block(b"prefix" * 20) + packed_block(payload)
        result = ipxe_cstm.derive_kpxe(image, b"CSTM")
        offset, length = ipxe_cstm.packed_blocks(result)[-1]
        self.assertEqual(ipxe_cstm.decoded_block(result, offset, length),
                         payload.replace(OLD, NEW))

    def test_template_twice_is_refused(self):
        image = packed_block(OLD + b"x" * 100 + OLD)
        with self.assertRaises(DeriveError):
            ipxe_cstm.derive_kpxe(image, b"CSTM")

    def test_image_without_template_is_refused(self):
        with self.assertRaises(DeriveError):
            ipxe_cstm.derive_kpxe(packed_block(b"nothing here" * 30), b"CSTM")
        with self.assertRaises(DeriveError):
            ipxe_cstm.derive_efi(b"MZ" + bytes(1000), b"CSTM")


class DebianBinariesTest(unittest.TestCase):
    """The derivation on the installed Debian ipxe package's files."""

    def test_debian_blocks_recompress_byte_for_byte(self):
        image = read_or_skip(self, DEBIAN_KPXE)
        blocks = ipxe_cstm.packed_blocks(image)
        self.assertGreaterEqual(len(blocks), 2)
        offset, length = blocks[-1]
        self.assertEqual(offset + 4 + length, len(image), "last block ends the file")
        for offset, length in blocks:
            stream = ipxe_cstm.block_stream(image, offset, length)
            self.assertEqual(ipxe_cstm.compress(ipxe_cstm.decompress(stream)), stream, offset)

    def test_kpxe_derivation_changes_only_the_template(self):
        image = read_or_skip(self, DEBIAN_KPXE)
        result = ipxe_cstm.derive_kpxe(image, b"CSTM")
        self.assertEqual(len(result), len(image))
        offset, length = ipxe_cstm.packed_blocks(result)[-1]
        self.assertEqual(result[:offset + 4], image[:offset + 4], "prefix and length unchanged")
        old = ipxe_cstm.decoded_block(image, offset, length)
        new = ipxe_cstm.decoded_block(result, offset, length)
        self.assertEqual(new, old.replace(OLD, NEW))
        self.assertEqual(new.count(NEW), 1)
        self.assertEqual(ipxe_cstm.crc32_le(result[offset + 4:offset + 4 + length]), 0)

    def test_corrupted_result_fails_verification(self):
        image = read_or_skip(self, DEBIAN_KPXE)
        result = bytearray(ipxe_cstm.derive_kpxe(image, b"CSTM"))
        result[-10] ^= 0x40
        with self.assertRaises(DeriveError):
            ipxe_cstm.verify_kpxe(image, bytes(result), b"CSTM")

    def test_efi_derivation_changes_four_bytes(self):
        image = read_or_skip(self, DEBIAN_EFI)
        result = ipxe_cstm.derive_efi(image, b"CSTM")
        changed = ipxe_cstm.changed_bytes(image, result)
        self.assertEqual(len(changed), 4)
        self.assertEqual(result[changed[0] - 2:changed[0] + 4], NEW)


if __name__ == "__main__":
    testing.main()
