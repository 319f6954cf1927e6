#!/usr/bin/env python3
"""Derive an iPXE with another DHCP user class from Debian's own iPXE binaries.

Seed 000 needs an iPXE that sends user class "CSTM" instead of "iPXE".  The
first choice is to build it from Debian's ipxe source package
(build-ipxe-cstm); when that source cannot be fetched, this module makes the
same one-field change in the binaries of Debian's installed `ipxe` package:

  iPXE sends its user class from a static DHCP option template in its data,
  option 77, length 4, "iPXE": the bytes 4d 04 69 50 58 45.  The change
  replaces them by 4d 04 43 53 54 4d ("CSTM"), exactly what the one-line
  source change (src/net/udp/dhcp.c, DHCP_USER_CLASS_ID) compiles to.

ipxe.efi (a PE file) holds the template uncompressed: it is patched in place
(the PE checksum field is 0, nothing signs the file).  undionly.kpxe holds
its code and data in packed blocks, each laid out by iPXE's zbin as

  u32 length (stream + 4) | raw LZMA1 stream (lc=2 lp=0 pb=0) | u32 CRC32

where the CRC32 (reflected, seed 0xffffffff, no final inversion) makes the
CRC over stream + CRC zero, which the prefix checks before it decompresses.
Before compression zbin rewrote the rel32 targets of E8/E9 opcodes to
absolute addresses (a BCJ filter the prefix undoes after decompression).
The block holding the template is decoded, un-filtered, patched,
re-filtered and recompressed with the parameters that reproduce Debian's
own stream byte for byte (checked, not assumed); the new stream is shorter,
so it is padded with zeros to the old length and given a new CRC: every
length field in the file stays valid.  Only the file's last block is ever
rewritten, because the prefix finds a block's successor from where the
decompressor stopped, and padding would move that.

Every step is verified: the result is decoded again and must hold the new
template once and the old one nowhere, with every other byte unchanged.
Nothing here comes from fetched code: it is a derivation from a Debian binary.

  python3 ipxe_cstm.py kpxe /usr/lib/ipxe/undionly.kpxe out.kpxe [--user-class CSTM]
  python3 ipxe_cstm.py efi  /usr/lib/ipxe/ipxe.efi      out.efi  [--user-class CSTM]
"""

import argparse
import lzma
import os
import struct
import sys
import zlib

USER_CLASS_OPTION = 77
STOCK_USER_CLASS = b"iPXE"
# zbin's compressor settings (lc/lp/pb are what the prefix's decoder is built
# for; preset 9e is what reproduces Debian's streams).
LZMA_FILTERS = [{"id": lzma.FILTER_LZMA1, "lc": 2, "lp": 0, "pb": 0,
                 "dict_size": 1 << 20, "preset": 9 | lzma.PRESET_EXTREME}]
LZMA_DECODE_FILTERS = [{"id": lzma.FILTER_LZMA1, "lc": 2, "lp": 0, "pb": 0,
                        "dict_size": 1 << 20}]
CRC_SEED = 0xFFFFFFFF
U32 = struct.Struct("<I")
SMALLEST_STREAM = 5          # an LZMA1 stream starts with 5 range-coder bytes
BCJ_OPCODES = (0xE8, 0xE9)   # call rel32, jmp rel32
BCJ_JUMP_SIZE = 5            # opcode + rel32


class DeriveError(RuntimeError):
    """The binary does not have the shape the derivation relies on."""


def template(user_class):
    """The DHCP option bytes iPXE sends for `user_class` (option 77, length, text)."""
    return bytes((USER_CLASS_OPTION, len(user_class))) + user_class


def check_user_class(user_class):
    """The class as bytes; it must be as long as "iPXE" to fit the template in place."""
    raw = user_class.encode("ascii")
    if len(raw) != len(STOCK_USER_CLASS) or not raw.isalnum():
        raise DeriveError(f"user class must be {len(STOCK_USER_CLASS)} letters or digits to "
                          f"replace '{STOCK_USER_CLASS.decode()}' in place: {user_class!r}")
    return raw


# -- zbin's block format ---------------------------------------------------
def crc32_le(data):
    """zbin's CRC32: reflected, seed 0xffffffff, no final inversion."""
    return zlib.crc32(data) ^ CRC_SEED


def packed_blocks(image):
    """(offset of the length field, length) of every packed block in a .kpxe.

    A block is found, not assumed: a little-endian length n at offset o such
    that the n bytes after it end inside the file and their CRC residue is
    zero (the stream followed by its own CRC).  Blocks do not overlap.
    """
    blocks, offset = [], 0
    while offset + U32.size + SMALLEST_STREAM + U32.size <= len(image):
        (length,) = U32.unpack_from(image, offset)
        end = offset + U32.size + length
        if length >= SMALLEST_STREAM + U32.size and end <= len(image) and \
                crc32_le(image[offset + U32.size:end]) == 0 and _decodes(image, offset, length):
            blocks.append((offset, length))
            offset = end
            continue
        offset += 1
    return blocks


def block_stream(image, offset, length):
    """The LZMA stream of a block (its CRC dropped)."""
    start = offset + U32.size
    return image[start:start + length - U32.size]


def decompress(stream):
    """Raw LZMA1 decode of a whole stream; raises DeriveError unless it ends cleanly."""
    decoder = lzma.LZMADecompressor(format=lzma.FORMAT_RAW, filters=LZMA_DECODE_FILTERS)
    try:
        data = decoder.decompress(stream)
    except lzma.LZMAError as exc:
        raise DeriveError(f"not an LZMA1 stream: {exc}") from None
    if not decoder.eof:
        raise DeriveError("LZMA1 stream has no end marker")
    if decoder.unused_data.strip(b"\0"):
        raise DeriveError(f"{len(decoder.unused_data)} bytes after the LZMA1 end marker")
    return data


def _decodes(image, offset, length):
    """True if the candidate block's stream is a complete LZMA1 stream."""
    try:
        decompress(block_stream(image, offset, length))
    except DeriveError:
        return False
    return True


def decoded_block(image, offset, length):
    """The image a block holds: decompressed, branch filter undone."""
    return bcj_decode(decompress(block_stream(image, offset, length)))


def compress(data):
    """Raw LZMA1 stream of `data` with zbin's settings."""
    return lzma.compress(data, format=lzma.FORMAT_RAW, filters=LZMA_FILTERS)


# -- zbin's branch filter --------------------------------------------------
def _bcj(data, encode):
    """zbin's E8/E9 filter (encode) or the prefix's inverse (decode), on a copy.

    Scanning left to right, an E8/E9 byte starts a jump whose next four
    bytes are a rel32 target; the scan resumes after them.  Encoding turns a
    target t in [-offset, limit-offset) into t+offset (absolute, in
    [0, limit)) and one in [limit-offset, limit) into t-limit (so every value
    stays reversible); decoding undoes exactly that.  limit = len - 5.
    """
    out = bytearray(data)
    limit = len(out) - BCJ_JUMP_SIZE
    offset = 0
    while offset <= limit:
        if out[offset] not in BCJ_OPCODES:
            offset += 1
            continue
        (target,) = struct.unpack_from("<i", out, offset + 1)
        target = _bcj_encode_target(target, offset, limit) if encode else \
            _bcj_decode_target(target, offset, limit)
        struct.pack_into("<I", out, offset + 1, target & 0xFFFFFFFF)
        offset += BCJ_JUMP_SIZE
    return bytes(out)


def _bcj_encode_target(target, offset, limit):
    """Relative jump target as zbin stores it."""
    if -offset <= target < limit - offset:
        return target + offset
    if limit - offset <= target < limit:
        return target - limit
    return target


def _bcj_decode_target(target, offset, limit):
    """Stored jump target back to the relative one (inverse of the above)."""
    if 0 <= target < limit:
        return target - offset
    if -offset <= target < 0:
        return target + limit
    return target


def bcj_encode(data):
    """Filtered form of an image, as zbin compresses it."""
    return _bcj(data, encode=True)


def bcj_decode(data):
    """Image from its filtered form, as the prefix restores it."""
    return _bcj(data, encode=False)


# -- patching ----------------------------------------------------------------
def replace_once(data, old, new, what):
    """`data` with the single occurrence of `old` replaced by `new`."""
    count = data.count(old)
    if count != 1:
        raise DeriveError(f"{what}: template {old.hex(' ')} found {count} times, expected once")
    return data.replace(old, new)


def changed_bytes(before, after):
    """Offsets at which two equally long byte strings differ."""
    return [i for i, (a, b) in enumerate(zip(before, after)) if a != b]


def derive_efi(original, user_class):
    """ipxe.efi with the user class template changed in place."""
    old, new = template(STOCK_USER_CLASS), template(user_class)
    result = replace_once(original, old, new, "ipxe.efi")
    verify_efi(original, result, user_class)
    return result


def verify_efi(original, result, user_class):
    """The new template once, the old one gone, nothing else changed."""
    old, new = template(STOCK_USER_CLASS), template(user_class)
    at = result.find(new)
    if len(result) != len(original) or result.count(new) != 1 or old in result:
        raise DeriveError("ipxe.efi: patched file does not hold the new template exactly once")
    expected = [at + 2 + i for i in range(len(new) - 2) if new[2 + i] != old[2 + i]]
    if changed_bytes(original, result) != expected:
        raise DeriveError("ipxe.efi: bytes other than the user class changed")


def template_block(image, old):
    """(offset, length, filtered data, image) of the one block holding `old`."""
    found = []
    for offset, length in packed_blocks(image):
        filtered = decompress(block_stream(image, offset, length))
        decoded = bcj_decode(filtered)
        if bcj_encode(decoded) != filtered:
            raise DeriveError(f"block at {offset}: branch filter does not round-trip")
        if old in decoded:
            found.append((offset, length, filtered, decoded))
    if len(found) != 1:
        raise DeriveError(f"undionly.kpxe: {len(found)} packed blocks hold the template, "
                          "expected one")
    return found[0]


def derive_kpxe(original, user_class):
    """undionly.kpxe with the user class template changed inside its packed block."""
    old, new = template(STOCK_USER_CLASS), template(user_class)
    offset, length, filtered, decoded = template_block(original, old)
    stream = block_stream(original, offset, length)
    if compress(filtered) != stream:
        raise DeriveError("recompressing the unchanged block does not reproduce Debian's "
                          "stream: the LZMA parameters are not the ones zbin used")
    if offset + U32.size + length != len(original):
        raise DeriveError("the block holding the template is not the file's last one")
    patched = replace_once(decoded, old, new, "undionly.kpxe block")
    new_stream = compress(bcj_encode(patched))
    room = length - U32.size
    if len(new_stream) > room:
        raise DeriveError(f"recompressed block is {len(new_stream) - room} bytes longer than "
                          "the original; it cannot be put in place")
    new_stream += bytes(room - len(new_stream))
    block = U32.pack(length) + new_stream + U32.pack(crc32_le(new_stream))
    result = original[:offset] + block
    verify_kpxe(original, result, user_class)
    return result


def verify_kpxe(original, result, user_class):
    """Decode the result again: same blocks, the new template once, the rest unchanged."""
    old, new = template(STOCK_USER_CLASS), template(user_class)
    before, after = packed_blocks(original), packed_blocks(result)
    if len(result) != len(original) or before != after:
        raise DeriveError("undionly.kpxe: block layout changed")
    last_offset, last_length = after[-1]
    if result[:last_offset] != original[:last_offset]:
        raise DeriveError("undionly.kpxe: bytes before the patched block changed")
    old_image = decoded_block(original, *before[-1])
    new_image = decoded_block(result, last_offset, last_length)
    at = new_image.find(new)
    if new_image.count(new) != 1 or old in new_image or len(new_image) != len(old_image):
        raise DeriveError("undionly.kpxe: patched block does not hold the new template once")
    expected = [at + 2 + i for i in range(len(new) - 2) if new[2 + i] != old[2 + i]]
    if changed_bytes(old_image, new_image) != expected:
        raise DeriveError("undionly.kpxe: bytes other than the user class changed")


DERIVERS = {"kpxe": derive_kpxe, "efi": derive_efi}


def derive_file(kind, source, destination, user_class):
    """Write the derived `kind` binary of `source` to `destination` (atomically)."""
    with open(source, "rb") as f:
        original = f.read()
    result = DERIVERS[kind](original, check_user_class(user_class))
    partial = destination + ".tmp"
    with open(partial, "wb") as f:
        f.write(result)
    os.replace(partial, destination)
    return result


def main(argv):
    """Command line: derive one file, print what changed on stderr."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("kind", choices=sorted(DERIVERS))
    parser.add_argument("source")
    parser.add_argument("destination")
    parser.add_argument("--user-class", default="CSTM")
    args = parser.parse_args(argv)
    try:
        derive_file(args.kind, args.source, args.destination, args.user_class)
    except DeriveError as exc:
        print(f"ipxe_cstm: {args.source}: {exc}", file=sys.stderr)
        return 1
    print(f"ipxe_cstm: {args.destination}: user class template "
          f"{template(STOCK_USER_CLASS).hex(' ')} -> {template(args.user_class.encode()).hex(' ')} "
          f"in {os.path.basename(args.source)}, verified by decoding the result", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
