"""Record the DHCPv6 captures (g*) of tests/captures: real firmware, stock dnsmasq.

How the v4 captures were made, for IPv6: QEMU (TCG) boots a firmware profile
from a tap on the server namespace's bridge (10.77.0.1/24 and fd77::1/64),
stock dnsmasq answers (RA, DHCPv6, TFTP), `python3 -m http.server` serves
HTTP on both families, and tcpdump on the bridge writes the DHCP ports only
(UDP 546/547, 67/68, 4011; default snaplen) to <folder>/dhcp.pcap.  The boot
ends when the serial console shows the capture's stop pattern (the marker
of the script, for chains that reach it) or at its time limit; QEMU,
dnsmasq, tcpdump and the HTTP server are stopped by PID.

    python3 tests/captures/record_v6.py NAME [--dnsmasq PATH] [--keep]

writes tests/captures/NAME/dhcp.pcap (the config is read from there) and
prints the times from QEMU start: first captured DHCP frame, stop pattern.
Needs root, qemu-system-x86, ovmf, ipxe, ipxe-qemu, tcpdump, dnsmasq 2.90.
"""

import argparse
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "tools"))
sys.path.insert(0, str(REPO / "tests" / "firmware"))

from pxelab import pcap, qemu  # noqa: E402
from pxelab.netns import SERVER_IPV6, Topology  # noqa: E402
from pxelab.servers import Dnsmasq, wait_until  # noqa: E402
import scenarios  # noqa: E402

STOCK_DNSMASQ = "/usr/sbin/dnsmasq"
TCPDUMP_FILTER = "udp and (port 546 or port 547 or port 67 or port 68 or port 4011)"


@dataclass(frozen=True)
class Capture:
    """One recording: firmware profile, boot files, stop pattern, time limit.

    wait_ports  UDP ports the config makes dnsmasq bind (readiness)
    files       (name in the root, scenarios.FILE_SOURCES key) pairs
    scripts     (name in the root, text) iPXE scripts; "{marker}" is replaced
                by PXC-MARKER-<name>
    """
    name: str
    profile: str
    stop_at: str
    timeout: float
    wait_ports: frozenset
    files: tuple = (("ipxe.efi", "debian-ipxe-efi"),)
    scripts: tuple = (("boot.ipxe", "#!ipxe\necho {marker}\n"),)

    @property
    def marker(self):
        """The line the capture's scripts echo."""
        return f"PXC-MARKER-{self.name}"


CAPTURES = {capture.name: capture for capture in (
    Capture("g1-ovmf-pxev6", "ovmf-pxe6-virtio", r"^PXC-MARKER-g1-ovmf-pxev6$", 240.0,
            frozenset({547, 69})),
    # g1 with dhcp-authoritative: ADVERTISE preference 255
    Capture("g1b-ovmf-pxev6-authoritative", "ovmf-pxe6-virtio",
            r"^PXC-MARKER-g1b-ovmf-pxev6-authoritative$", 240.0, frozenset({547, 69})),
    Capture("g2-ovmf-httpv6", "ovmf-httpboot", r"^PXC-MARKER-g2-ovmf-httpv6$", 300.0,
            frozenset({547})),
    # no option 16 echo: does OVMF take a plain DHCPv6 offer with an http URL?
    Capture("g2b-ovmf-httpv6-noecho", "ovmf-httpboot",
            r"^PXC-MARKER-g2b-ovmf-httpv6-noecho$|failed to load Boot0002", 300.0,
            frozenset({547})),
    # both families offer a script: the marker says which one iPXE ran
    Capture("g3-seabios-ipxe-dualstack", "seabios-virtio",
            r"^PXC-MARKER-g3-seabios-ipxe-dualstack-v[46]$", 120.0, frozenset({67, 547}), (),
            (("boot.ipxe", "#!ipxe\necho {marker}-v4\n"),
             ("boot6.ipxe", "#!ipxe\necho {marker}-v6\n"))),
    Capture("g3b-seabios-ipxe-v6only", "seabios-virtio",
            r"^PXC-MARKER-g3b-seabios-ipxe-v6only$", 120.0, frozenset({547}), ()),
)}


def populate(capture, root):
    """The TFTP/HTTP root: the capture's boot files and scripts."""
    os.makedirs(root, exist_ok=True)
    for name, source in capture.files:
        shutil.copyfile(scenarios.FILE_SOURCES[source](), os.path.join(root, name))
    for name, text in capture.scripts:
        with open(os.path.join(root, name), "w") as f:
            f.write(text.replace("{marker}", capture.marker))


def first_frame_time(pcap_path):
    """Unix time of the first frame of a pcap, or None if it holds none."""
    first = next(pcap.read_frames(pcap_path), None)
    return None if first is None else first.ts


def record(capture, binary, workdir):
    """Boot once and write the pcap; return (reached, seconds to stop, first-frame offset)."""
    folder = HERE / capture.name
    root = os.path.join(workdir, "root")
    populate(capture, root)
    config = scenarios.prepare_config((folder / "dnsmasq.conf").read_text(), root, speed=False)
    pcap_path = os.path.join(workdir, "dhcp.pcap")
    with Topology(clients=0, taps=1, server_extra=(SERVER_IPV6,)) as topo:
        ns = topo.server.ns
        dump = ns.start(["tcpdump", "-i", "br0", "-U", "-w", pcap_path, TCPDUMP_FILTER],
                        os.path.join(workdir, "tcpdump.out"))
        wait_until(lambda: "listening on" in dump.output(), 10, what="tcpdump")
        web = ns.start(["python3", "-m", "http.server", "--bind", "::", "--directory", root, "80"],
                       os.path.join(workdir, "http.log"))
        server = Dnsmasq(binary, ns, config, workdir=os.path.join(workdir, "dnsmasq"),
                         wait_ports=capture.wait_ports)
        os.makedirs(server.workdir, exist_ok=True)
        server.start()
        vm = qemu.VM(capture.profile, os.path.join(workdir, "vm"), "tap0", ns)
        started = time.time()
        try:
            with vm:
                reached = vm.wait_for(capture.stop_at, capture.timeout) is not None
                seconds = vm.elapsed()
                time.sleep(1.0)         # let the last replies reach tcpdump
        finally:
            server.stop()
            web.stop()
            dump.stop()
    first = first_frame_time(pcap_path)
    shutil.copyfile(pcap_path, folder / "dhcp.pcap")
    return reached, seconds, None if first is None else first - started


def main(argv):
    """Record the named capture; keep the work directory with --keep or on failure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=sorted(CAPTURES))
    parser.add_argument("--dnsmasq", default=STOCK_DNSMASQ)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    scenarios.interrupt_on_sigterm()
    workdir = tempfile.mkdtemp(prefix=f"pxc-v6cap-{args.name}-")
    reached, seconds, first = record(CAPTURES[args.name], args.dnsmasq, workdir)
    state = "reached" if reached else "TIMED OUT before"
    print(f"{args.name}: {state} /{CAPTURES[args.name].stop_at}/ after {seconds:.1f} s; "
          f"first DHCP frame at {first if first is None else round(first, 1)} s; work {workdir}")
    if reached and not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if reached else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
