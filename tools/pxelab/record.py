"""Record the traffic of a segment into a pcap file, without tcpdump.

An AF_PACKET socket on the server's bridge, put in promiscuous mode so that
unicast between two other stations (a second DHCP server answering a client)
is seen too, like `tcpdump -i br0`.  The file can be fed to
`pxeclass explain` or read back with pxelab.pcap.
"""

import socket
import struct
import threading
import time

from . import dhcp, pcap

SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_MR_PROMISC = 1
DHCP_PORTS = frozenset({67, 68, 4011})


def _udp_ports(frame):
    """(src port, dst port) of an IPv4/UDP Ethernet frame, else None."""
    udp = dhcp.parse_udp_frame(frame)
    return None if udp is None else (udp[3], udp[4])


class PacketRecorder:
    """Writes frames seen on `iface` in namespace `ns` to `path` (Ethernet pcap).

    ports  only UDP frames from/to these ports (default: DHCP 67/68/4011);
           None records every frame
    Frames are written as they arrive; `frames` counts them.  Start/stop or
    use as a context manager.
    """

    def __init__(self, ns, iface, path, ports=DHCP_PORTS):
        self.ns, self.iface, self.path, self.ports = ns, iface, path, ports
        self.frames = 0
        self._stop = threading.Event()
        self._thread = None
        self._sock = None
        self._writer = None

    def start(self):
        """Open the socket (promiscuous) and start the recording thread."""
        self._sock = self.ns.socket(socket.AF_PACKET, socket.SOCK_RAW,
                                    socket.htons(dhcp.ETH_P_ALL))
        self._sock.bind((self.iface, dhcp.ETH_P_ALL))
        ifindex = self.ns.ifindex(self.iface)
        mreq = struct.pack("iHH8s", ifindex, PACKET_MR_PROMISC, 0, b"")
        self._sock.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq)
        self._sock.settimeout(0.1)
        self._writer = pcap.PcapWriter(self.path)
        self._thread = threading.Thread(target=self._loop, daemon=True,
                                        name=f"record-{self.ns.name}-{self.iface}")
        self._thread.start()
        return self

    def _loop(self):
        """Receive and write frames until stopped."""
        while not self._stop.is_set():
            try:
                frame = self._sock.recv(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            if self.ports is not None:
                ports = _udp_ports(frame)
                if ports is None or not (set(ports) & self.ports):
                    continue
            self._writer.write(time.time(), frame)
            self._writer.file.flush()
            self.frames += 1

    def stop(self):
        """Stop recording, close the file; return the number of frames."""
        if self._thread:
            self._stop.set()
            self._thread.join()
            self._thread = None
            self._sock.close()
            self._writer.close()
        return self.frames

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
