"""Real-firmware boot scenarios: data, and the runner that plays one.

A Scenario names a firmware profile (pxelab.qemu), the dnsmasq config that
answers it, the files the TFTP/HTTP root holds and the chain it must show:
ordered regexes per observation stream.  Streams:

  dnsmasq   the answering dnsmasq's own log (log-dhcp lines, TFTP "sent" lines)
  peer      the second, plain DHCP server's log (proxyDHCP scenarios)
  http      the HTTP server's access log, one "METHOD /path STATUS" per line
  serial    the guest's serial console, control sequences removed

Expectations of one stream must match in the given order, each after the end
of the previous match; count=N needs N successive matches, count=0 means the
pattern must not appear anywhere in the stream.  Scenarios are plain data so
the same chains can be pointed at the patched dnsmasq and other configs:
PXC_DNSMASQ picks the binary, PXC_FW_CONFIG_DIR/<name>.conf (if present)
replaces a scenario's stock config.

Run by tests/firmware/test_firmware.py; `python3 scenarios.py NAME…` plays
scenarios directly and prints their boot times.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))

from pxelab import qemu  # noqa: E402
from pxelab.netns import Topology  # noqa: E402
from pxelab.servers import Dnsmasq, HttpFileServer, set_config_option  # noqa: E402

SERVER_IP = "10.77.0.1"
SERVER_IPV6 = "fd77::1/64"
PEER_ADDR = "10.77.0.2/24"
TAP = "tap0"
DEBIAN_IPXE_DIR = "/usr/lib/ipxe"
CAPTURES = REPO / "tests" / "captures"
CONFIGS = Path(__file__).resolve().parent / "configs"
BUILD_CSTM = Path(__file__).resolve().parent / "build-ipxe-cstm"
# Lines that cut a boot by ~13 s (iPXE waits for IPv6 configuration unless a
# router advertisement arrives) and skip dnsmasq's ping before an offer.
SPEED_LINES = ("no-ping", "enable-ra", "dhcp-range=fd77::,ra-only,64,10m")
BIOS_TIMEOUT = 60.0
UEFI_TIMEOUT = 120.0


class SourceUnavailable(RuntimeError):
    """A file a scenario needs cannot be had on this machine (test skips)."""


@dataclass(frozen=True)
class Expect:
    """One step of a chain: `pattern` seen `count` times in `stream` (0: never)."""
    stream: str
    pattern: str
    count: int = 1


def dnsmasq(pattern, count=1):
    """An expected line of the answering dnsmasq's log."""
    return Expect("dnsmasq", pattern, count)


def peer(pattern, count=1):
    """An expected line of the plain DHCP server's log."""
    return Expect("peer", pattern, count)


def http(pattern, count=1):
    """An expected HTTP access ("GET /path 200")."""
    return Expect("http", pattern, count)


def serial(pattern, count=1):
    """An expected piece of the guest's serial console."""
    return Expect("serial", pattern, count)


def never(stream, pattern):
    """A pattern that must not appear in `stream` at all."""
    return Expect(stream, pattern, 0)


@dataclass(frozen=True)
class Scenario:
    """One firmware boot against one config, and the chain it must show.

    config       dnsmasq config (repo-relative); /srv/tftp in it is replaced
                 by the scenario's file root, SPEED_LINES are added if absent
    files        {name in the TFTP/HTTP root: FILE_SOURCES key}
    peer_config  config of a second, plain DHCP server at PEER_ADDR (or None)
    stop_at      (serial regex, occurrences) that ends the boot; default: the
                 marker line the script echoes
    """
    name: str
    about: str
    profile: str
    config: str
    expect: tuple
    files: dict = field(default_factory=lambda: {"undionly.kpxe": "debian-undionly",
                                                 "ipxe.efi": "debian-ipxe-efi"})
    peer_config: str = None
    stop_at: tuple = None
    timeout: float = BIOS_TIMEOUT
    romfile: str = None
    device_options: tuple = ()

    @property
    def marker(self):
        """The line the scenario's boot script echoes."""
        return f"PXC-MARKER-{self.name}"

    def stop_condition(self):
        """(regex, occurrences) on the serial console that ends the boot."""
        return self.stop_at or (rf"^{re.escape(self.marker)}$", 1)

    def script(self):
        """The iPXE script served as /boot.ipxe."""
        return f"#!ipxe\necho {self.marker}\n"


MAC = re.escape(qemu.DEFAULT_MAC)
ACK = rf"DHCPACK\(br0\) 10\.77\.0\.\d+ {MAC}"
SCRIPT_URL = re.escape(f"http://{SERVER_IP}/boot.ipxe")
TFTP_SENT = r"sent \S*/{} to 10\.77\.0\.\d+"
ROM_VENDOR_CLASS = r"vendor class: PXEClient:Arch:00000:UNDI:002001"
# dnsmasq logs a dhcp-option-force value given without a type as hex.
HTTPCLIENT_HEX = ":".join(f"{byte:02x}" for byte in b"HTTPClient")
IPXE_BANNER = r"iPXE 1\.\d+\.\d+\S*(?: \(\w+\))? -- Open Source Network Boot Firmware"
IPXE_GOT_SCRIPT = (serial(rf"Filename: {SCRIPT_URL}"), serial(rf"{SCRIPT_URL}\.\.\. ok"),
                   serial(r"boot\.ipxe : \d+ bytes \[script\]"))


def _marker(name):
    """The serial expectation of the marker line of scenario `name`."""
    return serial(rf"^PXC-MARKER-{name}$")


def _vendor_rom_gets_script(name, ipxe_driver):
    """Chain of QEMU's iPXE ROM handed the script URL at once: never chainloaded."""
    return (dnsmasq(ROM_VENDOR_CLASS), dnsmasq(r"user class: iPXE"), dnsmasq(ACK),
            dnsmasq(rf"option: 67 bootfile-name\s+{SCRIPT_URL}"),
            never("dnsmasq", r"^sent /"),
            http(r"^GET /boot\.ipxe 200$"),
            serial(r"iPXE \(PCI 00:02\.0\) starting execution"),
            serial(rf"net0: {MAC} using {ipxe_driver}"), *IPXE_GOT_SCRIPT, _marker(name),
            never("serial", r"undionly"))


SCENARIOS = {s.name: s for s in (
    Scenario(
        "a-seabios-virtio",
        "SeaBIOS + QEMU's virtio iPXE ROM is tagged ipxe and gets the script directly",
        "seabios-virtio", "tests/captures/a-seabios-virtio/dnsmasq.conf",
        _vendor_rom_gets_script("a-seabios-virtio", "virtio-net")),
    Scenario(
        "a2-seabios-e1000",
        "SeaBIOS + QEMU's e1000 iPXE ROM: the same chain through another NIC and ROM",
        "seabios-e1000", "tests/captures/a-seabios-virtio/dnsmasq.conf",
        _vendor_rom_gets_script("a2-seabios-e1000", "82540em")),
    Scenario(
        "b-ovmf-pxe",
        "OVMF UEFI PXE (arch 7) -> ipxe.efi over TFTP -> Debian iPXE -> script over HTTP",
        "ovmf-pxe-virtio", "tests/captures/c2-ovmf-virtio-norom/dnsmasq.conf",
        (dnsmasq(r"vendor class: PXEClient:Arch:00007:UNDI:003000"), dnsmasq(ACK),
         dnsmasq(TFTP_SENT.format(r"ipxe\.efi")),
         dnsmasq(r"vendor class: PXEClient:Arch:00007:UNDI:003010"), dnsmasq(r"user class: iPXE"),
         dnsmasq(ACK), dnsmasq(rf"option: 67 bootfile-name\s+{SCRIPT_URL}"),
         never("dnsmasq", r"undionly"),
         http(r"^GET /boot\.ipxe 200$"),
         serial(r"Start PXE over IPv4"), serial(r"NBP filename is ipxe\.efi"),
         serial(r"NBP file downloaded successfully"), serial(IPXE_BANNER),
         serial(rf"net0: {MAC} using SNP"), *IPXE_GOT_SCRIPT, _marker("b-ovmf-pxe")),
        timeout=UEFI_TIMEOUT),
    Scenario(
        "c-ovmf-httpboot",
        "OVMF UEFI HTTP Boot (arch 16) -> ipxe.efi over HTTP (60 HTTPClient echoed) -> script",
        "ovmf-httpboot", "tests/captures/f1-ovmf-httpboot/dnsmasq.conf",
        (dnsmasq(r"vendor class: HTTPClient:Arch:00016:UNDI:003000"), dnsmasq(ACK),
         dnsmasq(rf"option: 67 bootfile-name\s+{re.escape(f'http://{SERVER_IP}/ipxe.efi')}"),
         dnsmasq(rf"option: 60 vendor-class\s+(HTTPClient|{HTTPCLIENT_HEX})$"),
         dnsmasq(r"vendor class: PXEClient:Arch:00007:UNDI:003010"), dnsmasq(r"user class: iPXE"),
         dnsmasq(ACK), dnsmasq(rf"option: 67 bootfile-name\s+{SCRIPT_URL}"),
         never("dnsmasq", r"^sent /"),
         http(r"^GET /ipxe\.efi 200$"), http(r"^GET /boot\.ipxe 200$"),
         serial(r"Start HTTP Boot over IPv4"),
         serial(rf"URI: {re.escape(f'http://{SERVER_IP}/ipxe.efi')}"), serial(IPXE_BANNER),
         *IPXE_GOT_SCRIPT, _marker("c-ovmf-httpboot")),
        timeout=UEFI_TIMEOUT),
    Scenario(
        "d-proxy-seabios",
        "proxyDHCP next to a plain DHCP server: address from 10.77.0.2, boot via port 4011",
        "seabios-virtio", "tests/captures/f2a-proxy-seabios-virtio/dnsmasq.conf",
        (peer(ROM_VENDOR_CLASS), peer(ACK.replace("br0", "eth0")),
         never("peer", r"option: 67 bootfile-name|bootfile name:"),
         dnsmasq(ROM_VENDOR_CLASS), dnsmasq(rf"PXE\(br0\) {MAC} proxy"),
         dnsmasq(r"vendor class: PXEClient$"),
         dnsmasq(rf"PXE\(br0\) 10\.77\.0\.\d+ {MAC} {SCRIPT_URL}"),
         dnsmasq(rf"bootfile name: {SCRIPT_URL}"),
         never("dnsmasq", r"DHCPACK|^sent /"),
         http(r"^GET /boot\.ipxe 200$"),
         serial(r"iPXE \(PCI 00:02\.0\) starting execution"),
         serial(r"net0: 10\.77\.0\.\d+/255\.255\.255\.0 gw 10\.77\.0\.2"),
         serial(r"PXEBS \(net0 type \d+\)\.\.\. ok"), serial(rf"Next server: {SERVER_IP}"),
         *IPXE_GOT_SCRIPT, _marker("d-proxy-seabios")),
        peer_config="tests/firmware/configs/proxy-peer-dhcp.conf"),
    Scenario(
        "e-loop-seabios",
        "a config that always hands out undionly.kpxe loops: ROM -> undionly -> undionly -> ...",
        "seabios-virtio", "tests/captures/e3-loop-fast-seabios-virtio/dnsmasq.conf",
        (dnsmasq(ROM_VENDOR_CLASS), dnsmasq(ACK),
         dnsmasq(TFTP_SENT.format(r"undionly\.kpxe"), count=3),
         never("http", r"."),
         serial(r"iPXE \(PCI 00:02\.0\) starting execution"),
         serial(r"Filename: undionly\.kpxe", count=3), never("serial", r"PXC-MARKER")),
        stop_at=(r"tftp://10\.77\.0\.1/undionly\.kpxe\.\.\. ok(?s:.*?)" + IPXE_BANNER, 3)),
    Scenario(
        "f-cstm-seabios",
        "vendor ROM (user class iPXE) -> own undionly.kpxe (user class CSTM) -> script",
        "seabios-virtio", "tests/firmware/configs/cstm-seabios-virtio.conf",
        (dnsmasq(ROM_VENDOR_CLASS), dnsmasq(r"user class: iPXE"), dnsmasq(ACK),
         dnsmasq(TFTP_SENT.format(r"undionly\.kpxe")),
         dnsmasq(r"user class: CSTM"), dnsmasq(ACK),
         dnsmasq(rf"option: 67 bootfile-name\s+{SCRIPT_URL}"),
         never("dnsmasq", r"sent \S*/undionly\.kpxe(?s:.*)sent \S*/undionly\.kpxe"),
         http(r"^GET /boot\.ipxe 200$"),
         serial(r"iPXE \(PCI 00:02\.0\) starting execution"),
         serial(r"Filename: undionly\.kpxe"), serial(r"undionly\.kpxe\.\.\. ok"),
         serial(IPXE_BANNER), *IPXE_GOT_SCRIPT, _marker("f-cstm-seabios")),
        files={"undionly.kpxe": "cstm-undionly", "ipxe.efi": "debian-ipxe-efi"}),
)}


# -- files -------------------------------------------------------------------
def debian_file(name):
    """A file of Debian's ipxe package (skips the scenario if not installed)."""
    def resolve():
        path = os.path.join(DEBIAN_IPXE_DIR, name)
        if not os.path.isfile(path):
            raise SourceUnavailable(f"{path} missing (apt-get install ipxe)")
        return path
    return resolve


def cstm_undionly():
    """undionly.kpxe with user class CSTM: $PXC_IPXE_CSTM or build-ipxe-cstm (cached)."""
    given = os.environ.get("PXC_IPXE_CSTM")
    if given:
        return given
    proc = subprocess.run([str(BUILD_CSTM)], capture_output=True, text=True, timeout=1800)
    if proc.returncode == 3:
        raise SourceUnavailable("build-ipxe-cstm cannot get the ipxe source: "
                                + proc.stderr.strip().splitlines()[-1])
    if proc.returncode != 0:
        raise RuntimeError(f"build-ipxe-cstm failed ({proc.returncode}):\n{proc.stderr}")
    return proc.stdout.strip().splitlines()[-1]


FILE_SOURCES = {
    "debian-undionly": debian_file("undionly.kpxe"),
    "debian-ipxe-efi": debian_file("ipxe.efi"),
    "cstm-undionly": cstm_undionly,
}


# -- configs -----------------------------------------------------------------
def config_path(scenario):
    """The config file to use: $PXC_FW_CONFIG_DIR/<name>.conf if present, else the stock one."""
    override_dir = os.environ.get("PXC_FW_CONFIG_DIR")
    if override_dir:
        candidate = Path(override_dir) / f"{scenario.name}.conf"
        if candidate.is_file():
            return candidate
    return REPO / scenario.config


def prepare_config(text, file_root, speed=True):
    """Config text with its TFTP root moved to `file_root` and SPEED_LINES added."""
    if any(line.strip().startswith("tftp-root=") for line in text.splitlines()):
        text = set_config_option(text, "tftp-root", file_root)
    present = {line.strip() for line in text.splitlines()}
    extra = [line for line in SPEED_LINES if speed and line not in present]
    return text.rstrip("\n") + "\n" + "".join(f"{line}\n" for line in extra)


# -- checking ----------------------------------------------------------------
def check_stream(text, expects):
    """Problems (strings) found checking ordered expectations against one stream."""
    problems, position = [], 0
    for expect in expects:
        if expect.count == 0:
            if re.search(expect.pattern, text, re.MULTILINE):
                problems.append(f"{expect.stream}: unexpected /{expect.pattern}/")
            continue
        for seen in range(expect.count):
            match = re.compile(expect.pattern, re.MULTILINE).search(text, position)
            if match is None:
                problems.append(f"{expect.stream}: /{expect.pattern}/ seen {seen} of "
                                f"{expect.count} times after offset {position}")
                break
            position = match.end()
    return problems


def check_chain(expectations, streams):
    """All problems of a chain, stream by stream (empty list: the chain holds)."""
    problems = []
    for name in dict.fromkeys(expect.stream for expect in expectations):
        ordered = [expect for expect in expectations if expect.stream == name]
        problems += check_stream(streams.get(name, ""), ordered)
    return problems


# -- running -----------------------------------------------------------------
@dataclass
class BootResult:
    """What one boot showed: whether it reached its stop condition, in how long."""
    scenario: str
    profile: str
    reached: bool
    seconds: float
    streams: dict
    workdir: str
    problems: list = field(default_factory=list)

    def summary(self):
        """One line for the test log."""
        state = "reached stop condition" if self.reached else "TIMED OUT"
        return f"{self.scenario} ({self.profile}): {state} after {self.seconds:.1f} s"

    def report(self, tail=3000):
        """Problems plus the end of every stream, for a failure message."""
        parts = [self.summary(), *self.problems, f"artifacts: {self.workdir}"]
        for name, text in self.streams.items():
            parts.append(f"--- {name} (last {tail} chars) ---\n{text[-tail:]}")
        return "\n".join(parts)


def populate_root(scenario, root):
    """Fill the TFTP/HTTP root: the scenario's files plus boot.ipxe."""
    os.makedirs(root, exist_ok=True)
    for name, source in scenario.files.items():
        shutil.copyfile(FILE_SOURCES[source](), os.path.join(root, name))
    with open(os.path.join(root, "boot.ipxe"), "w") as f:
        f.write(scenario.script())


def _start_dnsmasq(binary, ns, config_file, root, workdir, speed):
    """A started Dnsmasq with the prepared config, its files in `workdir`."""
    os.makedirs(workdir, exist_ok=True)
    text = prepare_config(Path(config_file).read_text(), root, speed)
    return Dnsmasq(binary, ns, text, workdir=workdir).start()


def play(scenario, dnsmasq_binary, workdir):
    """Boot `scenario` once; return a BootResult with every stream and its checks."""
    root = os.path.join(workdir, "root")
    populate_root(scenario, root)
    peers = (PEER_ADDR,) if scenario.peer_config else ()
    servers = []
    with Topology(clients=0, taps=1, server_extra=(SERVER_IPV6,), peers=peers) as topo:
        try:
            peer_server = None
            if scenario.peer_config:
                peer_server = _start_dnsmasq(dnsmasq_binary, topo.peer.ns, REPO / scenario.peer_config,
                                             root, os.path.join(workdir, "peer"), speed=False)
                servers.append(peer_server)
            main_server = _start_dnsmasq(dnsmasq_binary, topo.server.ns, config_path(scenario),
                                         root, os.path.join(workdir, "dnsmasq"), speed=True)
            servers.append(main_server)
            web = HttpFileServer(topo.server.ns, root, address=SERVER_IP, port=80).start()
            servers.append(web)
            vm = qemu.VM(scenario.profile, os.path.join(workdir, "vm"), TAP, topo.server.ns,
                         romfile=scenario.romfile, device_options=scenario.device_options)
            pattern, occurrences = scenario.stop_condition()
            with vm:
                reached = vm.wait_for(pattern, scenario.timeout, occurrences) is not None
                seconds = vm.elapsed()
            streams = {"dnsmasq": "\n".join(main_server.log_lines()),
                       "http": "\n".join(f"{m} {p} {s}" for m, p, s in web.requests),
                       "serial": vm.console()}
            if peer_server:
                streams["peer"] = "\n".join(peer_server.log_lines())
        finally:
            for server in reversed(servers):
                server.stop()
    result = BootResult(scenario.name, scenario.profile, reached, seconds, streams, workdir)
    if not reached:
        result.problems.append(f"serial: stop condition /{pattern}/ x{occurrences} not reached "
                               f"within {scenario.timeout:.0f} s")
    result.problems += check_chain(scenario.expect, streams)
    return result


def record(result):
    """Append the boot time to $PXC_FW_RESULTS (JSON lines) and print it on stderr."""
    print(f"firmware boot {result.summary()}", file=sys.stderr)
    path = os.environ.get("PXC_FW_RESULTS")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps({"scenario": result.scenario, "profile": result.profile,
                                "reached": result.reached, "seconds": round(result.seconds, 2),
                                "ok": not result.problems, "time": time.time()}) + "\n")


def interrupt_on_sigterm():
    """Turn SIGTERM (a CI time-out, `kill`) into KeyboardInterrupt.

    Without this the interpreter dies at once and leaves QEMU, dnsmasq and the
    namespaces behind; as an exception it unwinds through the VM, server and
    Topology context managers, which stop what they started.
    """
    def handler(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, handler)


def main(argv):
    """Play the named scenarios (default: all) with $PXC_DNSMASQ; print times."""
    interrupt_on_sigterm()
    binary = os.environ.get("PXC_DNSMASQ")
    if not binary:
        print("set PXC_DNSMASQ to a dnsmasq binary", file=sys.stderr)
        return 2
    failed = 0
    for name in argv or list(SCENARIOS):
        workdir = tempfile.mkdtemp(prefix=f"pxc-fw-{name}-")
        result = play(SCENARIOS[name], binary, workdir)
        record(result)
        if result.problems:
            failed += 1
            print(result.report(), file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
