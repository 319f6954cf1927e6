"""Robustness: a malformed-packet flood and a random-MAC flood against the
patched dnsmasq, which must keep running and keep serving.

One dnsmasq (log-dhcp on, so the classification of every packet is also
formatted into the log) with every kind of pxeclass directive and a chain
guard whose table holds 16 clients:

  1. a machine gets half way through its chain (PXE ROM, then its chained
     iPXE: one hop);
  2. tens of thousands of malformed requests (MALFORMED_COUNT, seeded, so
     every run sends the same bytes) to ports 67 and 4011: truncated
     packets, option lengths past the end, option 52 overloading garbage,
     empty and odd option 93, option 175 sub-option overruns, packets of
     the largest size the link carries, random bytes, RFC 3396 splits in
     awkward places, broken headers, user classes and vendor classes;
  3. thousands of well-formed PXE ROM requests from random MACs (each
     handed a file, so each is tracked): far more clients than the table;
  4. then dnsmasq is still running, the classifier saw the malformed
     packets (errors= in the log), a new PXE client still gets its file and
     its chained iPXE the script, an ordinary client a lease, and the
     machine of step 1 is still tracked: its next stage is hop 2 and the
     one after trips the guard.

Needs root.  PXC_DNSMASQ_PATCHED; PXC_FLOOD_COUNT overrides the number of
malformed packets.
"""

import os
import random
import re
import time
import unittest

from netkit import BASE_CONFIG, PROFILES, SERVER, Lab
from pxelab import dhcp, testing
from pxelab.servers import wait_until

PATCHED = os.environ.get("PXC_DNSMASQ_PATCHED", "")
HAVE_PATCHED = testing.executable(PATCHED)
MALFORMED_COUNT = int(os.environ.get("PXC_FLOOD_COUNT", "30000"))
RANDOM_MAC_COUNT = 5000
BATCH = 100                     # packets sent before waiting for dnsmasq to drain
MAX_PAYLOAD = 1472              # the largest UDP payload a 1500-byte link carries
SCRIPT = "http://10.77.0.1/boot.ipxe"
CLIENT_ADDRESS = "10.77.250.1"

# A /16 so the flood's requests can never use up the range.
CONFIG = BASE_CONFIG + """dhcp-range=10.77.1.1,10.77.249.254,255.255.0.0,10m
leasefile-ro
dhcp-lease-max=100000
dhcp-ipxe-own=chained
dhcp-ipxe-own=user-class:CSTM
dhcp-pxe-class=set:own,ipxe-own
dhcp-pxe-class=set:loader,ipxe,gpxe,etherboot
dhcp-pxe-arch=set:bios,bios
dhcp-pxe-arch=set:efi,efi,0x13,arm64
dhcp-ipxe-feature=set:https,https,http
dhcp-ipxe-version=set:new,>=1.21.1
dhcp-ipxe-busid=set:virtio,pci:1af4
dhcp-chain-guard=2,60,16
tag-if=set:both,tag:loader,tag:bios
dhcp-boot=tag:!own,undionly.kpxe
dhcp-boot=tag:own,http://10.77.0.1/boot.ipxe
dhcp-boot=tag:chain-loop,http://10.77.0.1/loop.ipxe
pxe-service=tag:bios,x86PC,"menu",undionly
dhcp-option-force=tag:https,224,https
"""


# ------------------------------------------------------------- malformed
def random_mac(rng):
    """A random locally administered unicast MAC."""
    return bytes([0x02] + [rng.randrange(256) for _ in range(5)])


def base_request(rng, msg_type=dhcp.DISCOVER):
    """A well-formed request of a random profile from a random MAC."""
    profile = rng.choice(list(PROFILES.values()))
    return profile.packet(msg_type, rng.getrandbits(32), mac=random_mac(rng))


def option_offsets(packet):
    """Offsets of the options' code bytes in the main option area."""
    offsets, pos = [], dhcp.FIXED_LEN + 4
    while pos + 1 < len(packet) and packet[pos] != dhcp.OPT_END:
        if packet[pos] == dhcp.OPT_PAD:
            pos += 1
            continue
        offsets.append(pos)
        pos += 2 + packet[pos + 1]
    return offsets


def random_bytes(rng, n):
    """N random bytes."""
    return rng.getrandbits(8 * n).to_bytes(n, "big") if n > 0 else b""


def header(rng, options, **fields):
    """A request header with OPTIONS [(code, bytes) | Raw] and no padding."""
    fields.setdefault("xid", rng.getrandbits(32))
    fields.setdefault("chaddr", random_mac(rng))
    return dhcp.build_packet(None, options=options, pad_to=0, **fields)


def truncated(rng):
    """A real request cut anywhere, the header included."""
    packet = base_request(rng)
    return packet[:rng.randrange(len(packet))]


def length_past_end(rng):
    """One option's length byte pointing past the end of the packet."""
    packet = bytearray(base_request(rng))
    offsets = option_offsets(packet)
    at = rng.choice(offsets)
    packet[at + 1] = rng.randrange(len(packet) - at - 1, 256) \
        if len(packet) - at - 1 < 256 else 255
    return bytes(packet[:rng.randrange(at + 2, len(packet) + 1)])


def overload_garbage(rng):
    """Option 52 sending the reader into file/sname full of garbage, or of
    options that overrun, never END."""
    area = rng.choice([lambda n: random_bytes(rng, n),
                       lambda n: bytes([175, 255]) + random_bytes(rng, n - 2),
                       lambda n: bytes([93, 200, 0, 7]) + b"\0" * (n - 4),
                       lambda n: bytes([52, 1, 3]) + random_bytes(rng, n - 3)])
    return header(rng, [(53, b"\1"), (52, bytes([rng.choice([1, 2, 3, 0, 4, 255])])),
                        (60, b"PXEClient:Arch:00000:UNDI:002001")],
                  file=area(128), sname=area(64), end=rng.random() < 0.5)


def odd_arch(rng):
    """Option 93 empty, odd-sized, huge or split; with or without 60."""
    value = random_bytes(rng, rng.choice([0, 1, 3, 5, 7, 255]))
    options = [(53, b"\1"), (93, value), (94, random_bytes(rng, rng.choice([0, 1, 3, 9])))]
    if rng.random() < 0.5:
        options.append((60, b"PXEClient:Arch:%s:UNDI:003000" % random_bytes(rng, 5)))
    return header(rng, options)


def encap_overrun(rng):
    """Option 175 whose sub-options overrun it, in every way."""
    subs = []
    for _ in range(rng.randrange(1, 12)):
        code = rng.choice([0xb1, 0xeb, 0x10, 0x13, 0x14, 0x15, 0x24, 0, 255,
                           rng.randrange(256)])
        length = rng.choice([0, 1, 2, 3, 5, 255, rng.randrange(256)])
        subs.append(bytes([code, length]) + random_bytes(rng, min(length, rng.randrange(8))))
    value = b"".join(subs)[:255]
    return header(rng, [(53, b"\1"), (77, b"iPXE"), (93, b"\0\0"), (175, value)],
                  end=rng.random() < 0.7)


def huge(rng):
    """The largest payload: long options, each split per RFC 3396."""
    options = [(53, b"\1"), (60, b"PXEClient:Arch:00007:" + random_bytes(rng, 500)),
               (77, b"\4iPXE" * 120), (175, bytes([0x13, 1, 1]) * 200),
               (97, random_bytes(rng, 300))]
    return header(rng, options)[:MAX_PAYLOAD]


def random_payload(rng):
    """Random bytes; half of them behind a plausible header and cookie."""
    n = rng.randrange(MAX_PAYLOAD + 1)
    if rng.random() < 0.5:
        return random_bytes(rng, n)
    return header(rng, [dhcp.Raw(random_bytes(rng, max(0, n - 240)))], end=False)


def split_3396(rng):
    """Identity options split per RFC 3396 at random places (inside 175's
    sub-options, zero-length pieces), interleaved with others."""
    packet = dhcp.parse_packet(base_request(rng))
    options = [(53, b"\1")]
    for code in packet.option_order:
        value = packet.options[code]
        if code == 53:
            continue
        cuts = sorted(rng.randrange(len(value) + 1) for _ in range(rng.randrange(4)))
        pieces = [value[a:b] for a, b in zip([0] + cuts, cuts + [len(value)])]
        for piece in pieces:
            options.append((code, piece))
            if rng.random() < 0.3:
                options.append((rng.choice([12, 55, 61]), random_bytes(rng, 3)))
    return header(rng, options)


def bad_header(rng):
    """hlen/htype/op/cookie/message type out of line."""
    packet = bytearray(base_request(rng))
    what = rng.randrange(5)
    if what == 0:
        packet[2] = rng.choice([0, 17, 255])            # hlen
    elif what == 1:
        packet[1] = rng.randrange(256)                  # htype
    elif what == 2:
        packet[0] = rng.choice([0, 2, 255])             # op
    elif what == 3:
        packet[236:240] = random_bytes(rng, 4)          # cookie
    else:
        return header(rng, [(53, random_bytes(rng, rng.choice([0, 1, 2]))), (93, b"\0\7")])
    return bytes(packet)


def classes(rng):
    """User class with counts that do not add up, vendor classes at the
    edges of the Arch field, Etherboot's 150 as garbage."""
    user = rng.choice([b"", b"\0", b"\5iPXE", b"\4iPXE\0", b"\xffiPXE", b"\1\0" * 60])
    vendor = rng.choice([b"PXEClient:Arch:", b"PXEClient:Arch:99999999:UNDI:",
                         b"HTTPClient:Arch:000\0", b"Etherboot-", b"U-Boot", b"PXEClient" * 28])
    return header(rng, [(53, b"\1"), (77, user), (60, vendor),
                        (150, random_bytes(rng, rng.choice([0, 2, 11, 40])))])


MUTATORS = (truncated, length_past_end, overload_garbage, odd_arch, encap_overrun, huge,
            random_payload, split_3396, bad_header, classes)


def with_broadcast_flag(payload):
    """PAYLOAD asking for broadcast replies.  Unicast replies make dnsmasq
    put each client's MAC into the ARP table, which the kernel shares
    between namespaces: thousands of random MACs would overflow it for the
    whole machine."""
    if len(payload) < 12:
        return payload
    return payload[:10] + bytes([payload[10] | 0x80]) + payload[11:]


def malformed_packets(count, seed=20240611):
    """COUNT malformed payloads, the same ones every run."""
    rng = random.Random(seed)
    for n in range(count):
        yield with_broadcast_flag(MUTATORS[n % len(MUTATORS)](rng)[:MAX_PAYLOAD])


# ------------------------------------------------------------------ test
def socket_queue(pid, port):
    """(bytes queued, datagrams dropped) of the UDP socket on PORT in the
    namespace of PID (the DHCP socket: 0.0.0.0:PORT)."""
    with open("/proc/%d/net/udp" % pid) as f:
        for line in f.read().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port:
                return int(fields[4].split(":")[1], 16), int(fields[12])
    return 0, 0


@testing.needs_namespaces
@unittest.skipUnless(HAVE_PATCHED, "set PXC_DNSMASQ_PATCHED")
class FloodTest(unittest.TestCase):
    """Still running, still serving, chain state kept."""

    def stage(self, lab, profile, boot_file):
        """One transaction whose replies must name BOOT_FILE; its xid."""
        offer, ack = lab.dora(profile, timeout=5.0)
        self.assertEqual((offer.boot_file, ack.boot_file), (boot_file, boot_file),
                         "%s: %s" % (profile.name, lab.log()[-3000:]))
        return offer.xid

    def drain(self, lab):
        """Wait until dnsmasq has read everything queued on 67 and 4011."""
        wait_until(lambda: all(socket_queue(lab.server.pid, port)[0] == 0
                               for port in (67, 4011)), 30, interval=0.005,
                   what="dnsmasq to read its queued requests")

    def flood(self, lab, packets, server_mac):
        """Send PACKETS (every tenth to 4011), draining after each batch;
        the number sent."""
        sent = 0
        for payload in packets:
            if sent % 10 == 9:
                lab.client.send(payload, dst_ip=SERVER, dst_port=dhcp.PXE_PORT,
                                src_ip=CLIENT_ADDRESS, dst_mac=server_mac)
            else:
                lab.client.send(payload)
            sent += 1
            if sent % BATCH == 0:
                self.drain(lab)
        self.drain(lab)
        return sent

    def log_since(self, lab, offset, pattern):
        """Log lines written after byte OFFSET that match PATTERN (the
        flood's hundreds of thousands of lines are not read again)."""
        with open(lab.server.log_path, "rb") as f:
            f.seek(offset)
            text = f.read().decode(errors="replace")
        lines = [re.sub(r"^.*?dnsmasq(-\w+)?\[\d+\]: ", "", l) for l in text.splitlines()]
        return [l for l in lines if re.search(pattern, l)]

    def test_flood(self):
        machine = PROFILES["pxe-bios"]
        ipxe = PROFILES["qemu-ipxe"].with_mac(machine.mac)
        with Lab(PATCHED, CONFIG, server_addr=SERVER + "/16") as lab:
            # 1. half way through a chain: one hop, our iPXE offered the
            #    script; its REQUEST comes after the flood
            self.stage(lab, machine, "undionly.kpxe")
            xid = dhcp.new_xid()
            ipxe_offer = lab.discover(ipxe, xid, timeout=5.0)[0]
            self.assertEqual(ipxe_offer.boot_file, SCRIPT, lab.log()[-3000:])
            self.assertRegex(lab.server.log_lines(r"^%d pxeclass: " % xid)[0],
                             r" own=own .* hops=1 ")
            lab.topo.client.set_ip(CLIENT_ADDRESS, 16)
            server_mac = lab.client.resolve(SERVER, CLIENT_ADDRESS)

            # 2. the malformed flood, 3. the random-MAC flood
            started = time.monotonic()
            malformed = self.flood(lab, malformed_packets(MALFORMED_COUNT), server_mac)
            rng = random.Random(7)
            pxe = PROFILES["pxe-bios"]
            valid = self.flood(lab, (pxe.packet(dhcp.DISCOVER, rng.getrandbits(32),
                                                mac=random_mac(rng),
                                                flags=dhcp.BROADCAST_FLAG)
                                     for _ in range(RANDOM_MAC_COUNT)), server_mac)
            seconds = time.monotonic() - started
            dropped = socket_queue(lab.server.pid, 67)[1] + socket_queue(lab.server.pid,
                                                                         4011)[1]
            print("\nflood: %d malformed + %d random-MAC requests in %.1f s, %d dropped "
                  "by the kernel" % (malformed, valid, seconds, dropped))

            # 4. alive, and the classifier saw the flood
            self.assertTrue(lab.server.running(), lab.server.stderr())
            self.assertEqual(malformed, MALFORMED_COUNT)
            log = lab.server.log_text()
            flagged = len(re.findall(r" pxeclass: .* errors=", log))
            self.assertGreater(flagged, MALFORMED_COUNT // 10)
            offers = len(re.findall(r"DHCPOFFER\(br0\) 10\.77\.\d+\.\d+ 02:", log))
            self.assertGreater(offers, RANDOM_MAC_COUNT // 2)
            self.assertNotIn("chainload loop: 02:", log, "random MACs loop")
            print("%d requests classified with errors=, %d offers to random MACs"
                  % (flagged, offers))
            offset = len(log.encode())

            # a new machine is served and tracked: its iPXE is chained
            # (the replies to the flood, unread, would crowd out its OFFER)
            lab.flush()
            fresh = PROFILES["pxe-bios"].with_mac("52:54:00:fe:00:01")
            self.stage(lab, fresh, "undionly.kpxe")
            self.stage(lab, PROFILES["qemu-ipxe"].with_mac(fresh.mac), SCRIPT)
            ordinary = lab.dora(PROFILES["ordinary"])[1]
            self.assertEqual(ordinary.msg_type, dhcp.ACK)
            self.assertTrue(ordinary.yiaddr.startswith("10.77."))

            # the machine mid-chain kept its state: its REQUEST continues
            # the stage (our iPXE, one hop) and gets the script
            ack = lab.request(ipxe, ipxe_offer, xid, timeout=5.0)
            self.assertEqual(ack.boot_file, SCRIPT, lab.log()[-3000:])
            self.assertRegex(self.log_since(lab, offset, r"^%d pxeclass: " % xid)[0],
                             r" own=own .* hops=1 ")
            self.assertTrue(lab.server.running())
            self.assertFalse(re.search(r"(?i)segfault|assert|abort", lab.server.stderr()))


if __name__ == "__main__":
    testing.main()
