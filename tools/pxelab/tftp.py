"""A TFTP read client (RFC 1350 with RFC 2347/2348/2349 options).

The socket lives in the client's namespace, so a simulated boot client can
fetch the file DHCP pointed it to, exactly as its firmware would.
"""

import socket
import struct
from dataclasses import dataclass, field

TFTP_PORT = 69
OP_RRQ, OP_DATA, OP_ACK, OP_ERROR, OP_OACK = 1, 3, 4, 5, 6
DEFAULT_BLKSIZE = 512


class TftpError(RuntimeError):
    """The server answered with an ERROR packet (or the transfer broke)."""

    def __init__(self, message, code=None):
        super().__init__(message)
        self.code = code


@dataclass
class TftpTransfer:
    """Result of one download: data, options the server acknowledged, blocks."""
    data: bytes
    options: dict = field(default_factory=dict)
    blocks: int = 0
    server: tuple = None


def rrq_packet(filename, mode="octet", options=None):
    """A read request: filename, mode, then option/value pairs."""
    parts = [filename, mode]
    for key, value in (options or {}).items():
        parts += [key, str(value)]
    return struct.pack("!H", OP_RRQ) + b"".join(p.encode() + b"\0" for p in parts)


def _parse_oack(payload):
    """Option/value pairs of an OACK body."""
    items = payload.split(b"\0")[:-1]
    return {items[i].decode().lower(): items[i + 1].decode() for i in range(0, len(items) - 1, 2)}


def tftp_fetch(ns, server, filename, *, blksize=None, tsize=False, timeout=2.0, retries=5,
               port=TFTP_PORT):
    """Download `filename` from `server` from inside namespace `ns`.

    blksize  ask for this block size (RFC 2348); tsize: ask for the size
    (RFC 2349).  A lost packet is retransmitted after `timeout` seconds, up
    to `retries` times.  Raises TftpError on an ERROR packet or a timeout.
    """
    options = {}
    if blksize:
        options["blksize"] = blksize
    if tsize:
        options["tsize"] = 0
    sock = ns.socket(socket.AF_INET6 if ":" in server else socket.AF_INET, socket.SOCK_DGRAM)
    try:
        return _transfer(sock, (server, port), rrq_packet(filename, options=options),
                         timeout, retries)
    finally:
        sock.close()


def tftp_get(ns, server, filename, **kwargs):
    """Download `filename` and return its bytes (see tftp_fetch)."""
    return tftp_fetch(ns, server, filename, **kwargs).data


def _transfer(sock, server, request, timeout, retries):
    """Run the lock-step RRQ/DATA/ACK exchange; return a TftpTransfer."""
    result = TftpTransfer(b"")
    chunks, blksize, expected = [], DEFAULT_BLKSIZE, 1
    last_sent, dest, peer = request, server, None
    sock.sendto(request, dest)
    while True:
        packet, sender = _receive(sock, last_sent, dest, timeout, retries, peer)
        peer = peer or sender
        dest = peer
        opcode = struct.unpack_from("!H", packet)[0]
        if opcode == OP_ERROR:
            code = struct.unpack_from("!H", packet, 2)[0]
            text = packet[4:].split(b"\0", 1)[0].decode(errors="replace")
            raise TftpError(f"TFTP error {code}: {text}", code)
        if opcode == OP_OACK and expected == 1 and not chunks:
            result.options = _parse_oack(packet[2:])
            blksize = int(result.options.get("blksize", DEFAULT_BLKSIZE))
            last_sent = struct.pack("!HH", OP_ACK, 0)
            sock.sendto(last_sent, dest)
            continue
        if opcode != OP_DATA:
            raise TftpError(f"unexpected TFTP opcode {opcode}")
        block = struct.unpack_from("!H", packet, 2)[0]
        if block == expected:
            chunks.append(packet[4:])
            last_sent = struct.pack("!HH", OP_ACK, block)
            sock.sendto(last_sent, dest)
            expected = (expected + 1) & 0xFFFF
            if len(packet) - 4 < blksize:
                result.data, result.blocks, result.server = b"".join(chunks), len(chunks), peer
                return result
        else:       # duplicate of an earlier block: re-ACK it (RFC 1350 §4 lock step)
            sock.sendto(struct.pack("!HH", OP_ACK, block), dest)


def _receive(sock, last_sent, dest, timeout, retries, peer):
    """Next packet from the server (from `peer` once known), retransmitting on timeout."""
    for _ in range(retries + 1):
        sock.settimeout(timeout)
        try:
            while True:
                packet, sender = sock.recvfrom(65536)
                if len(packet) >= 4 and (peer is None or sender == peer):
                    return packet, sender
        except socket.timeout:
            sock.sendto(last_sent, dest)
    raise TftpError(f"TFTP timeout talking to {dest}")
