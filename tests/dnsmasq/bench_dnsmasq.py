"""Benchmark: what the pxeclass patches cost dnsmasq per DHCP request.

The same requests (DISCOVERs of every scripted client kind, netkit.py,
from a fixed set of machines) are sent, in one run, to:

  stock     stock dnsmasq with a dhcp-match config (the captures' kind:
            175 for iPXE, client-arch 7/9, the HTTPClient vendor class)
  idle      the patched dnsmasq with that same config (hooks idle)
  pxeclass  the patched dnsmasq with the pxeclass directives meaning the
            same, plus dhcp-ipxe-own=chained and a chain guard (every
            request classified, evaluated and tracked, every reply recorded)

and measured twice:

  - CPU time of the dnsmasq process (/proc/<pid>/schedstat, ns) over
    CPU_REQUESTS requests, sent in batches the socket never overflows,
    the three runs interleaved CPU_ROUNDS times, the best of each kept
    (this machine's other work only ever adds);
  - instructions (valgrind --tool=callgrind, collecting only inside
    dhcp_packet(), i.e. from reading a request to sending its reply) over
    CALLGRIND_REQUESTS requests: deterministic, and split into what the
    two hooks take.

Prints figures, asserts nothing.  Needs root and valgrind (fails
otherwise; with PXC_ALLOW_SKIP=1 exits 77, meson's "skipped").
PXC_DNSMASQ_PATCHED, PXC_DNSMASQ_STOCK.
"""

import os
import random
import re
import shutil
import subprocess
import sys

from netkit import BASE_CONFIG, PROFILES, RANGE, Lab
from pxelab import dhcp, testing
from pxelab.servers import Dnsmasq, wait_until

PATCHED = os.environ.get("PXC_DNSMASQ_PATCHED", "")
STOCK = os.environ.get("PXC_DNSMASQ_STOCK", "")
CPU_REQUESTS = int(os.environ.get("PXC_BENCH_REQUESTS", "10000"))
CPU_ROUNDS = 3                  # interleaved rounds; the best of each is shown
CALLGRIND_REQUESTS = int(os.environ.get("PXC_BENCH_CALLGRIND_REQUESTS", "1000"))
MACHINES = 64
BATCH = 100
VALGRIND = shutil.which("valgrind")
ANNOTATE = shutil.which("callgrind_annotate")
HOOKS = ("pxeclass_tag_request", "pxeclass_record_reply")

# No per-packet log lines: the processing, not the syslog formatting.
COMMON = BASE_CONFIG.replace("log-dhcp\n", "quiet-dhcp\n") + RANGE
MATCH_CONFIG = COMMON + """dhcp-match=set:ipxe,175
dhcp-match=set:efi64,option:client-arch,7
dhcp-match=set:efi64,option:client-arch,9
dhcp-vendorclass=set:httpclient,HTTPClient
dhcp-boot=tag:!ipxe,tag:!efi64,undionly.kpxe
dhcp-boot=tag:!ipxe,tag:efi64,ipxe.efi
dhcp-boot=tag:ipxe,http://10.77.0.1/boot.ipxe
dhcp-option-force=tag:httpclient,60,HTTPClient
"""
PXECLASS_CONFIG = COMMON + """dhcp-ipxe-own=chained
dhcp-pxe-class=set:ipxe,ipxe,gpxe
dhcp-pxe-class=set:own,ipxe-own
dhcp-pxe-arch=set:efi64,efi-x64
dhcp-pxe-class=set:httpclient,http-boot
dhcp-chain-guard=3,60
dhcp-boot=tag:!ipxe,tag:!efi64,undionly.kpxe
dhcp-boot=tag:!ipxe,tag:efi64,ipxe.efi
dhcp-boot=tag:ipxe,http://10.77.0.1/boot.ipxe
dhcp-option-force=tag:httpclient,60,HTTPClient
"""
RUNS = (("stock", STOCK, MATCH_CONFIG), ("idle", PATCHED, MATCH_CONFIG),
        ("pxeclass", PATCHED, PXECLASS_CONFIG))


def requests(count, seed=1):
    """COUNT DISCOVER payloads: every client kind, MACHINES machines,
    broadcast replies (no ARP entries); the same list every run."""
    rng = random.Random(seed)
    kinds = sorted(PROFILES.values(), key=lambda p: p.name)
    macs = ["52:54:01:%02x:%02x:%02x" % (n >> 16, (n >> 8) & 0xff, n & 0xff)
            for n in range(MACHINES)]
    return [kinds[n % len(kinds)].packet(dhcp.DISCOVER, rng.getrandbits(32),
                                         mac=macs[n % MACHINES], flags=dhcp.BROADCAST_FLAG)
            for n in range(count)]


def queued(pid):
    """Bytes waiting on dnsmasq's DHCP socket (port 67)."""
    with open("/proc/%d/net/udp" % pid) as f:
        for line in f.read().splitlines()[1:]:
            fields = line.split()
            if fields[1].endswith(":0043"):
                return int(fields[4].split(":")[1], 16)
    return 0


def cpu_ns(pid):
    """CPU time the process has used, in ns (schedstat's first field)."""
    with open("/proc/%d/schedstat" % pid) as f:
        return int(f.read().split()[0])


def pin_apart(pid):
    """dnsmasq on the last CPU, this process on the others (when there are
    two or more): the sender's work does not land on dnsmasq's CPU."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) > 1:
        os.sched_setaffinity(pid, {cpus[-1]})
        os.sched_setaffinity(0, set(cpus[:-1]))


def send_all(lab, payloads, pid):
    """Send PAYLOADS in batches, each read by dnsmasq before the next."""
    for start in range(0, len(payloads), BATCH):
        for payload in payloads[start:start + BATCH]:
            lab.client.send(payload)
        wait_until(lambda: queued(pid) == 0, 60, interval=0.001, what="dnsmasq to drain")
        lab.flush()


def cpu_run(binary, config, payloads):
    """dnsmasq's CPU ns per request over PAYLOADS (one warm-up pass of 200)."""
    with Lab(binary, config) as lab:
        pid = lab.server.pid
        pin_apart(pid)
        send_all(lab, payloads[:200], pid)
        before = cpu_ns(pid)
        send_all(lab, payloads, pid)
        wait_until(lambda: queued(pid) == 0, 60, what="dnsmasq to drain")
        used = cpu_ns(pid) - before
        return used / len(payloads)


class CallgrindDnsmasq(Dnsmasq):
    """dnsmasq under callgrind, counting only inside dhcp_packet(); the
    profile goes to <workdir>/callgrind.out when it stops."""

    def command(self):
        """valgrind's argv, then dnsmasq's."""
        return [VALGRIND, "--tool=callgrind", "--toggle-collect=dhcp_packet",
                "--callgrind-out-file=" + self.profile_path()] + super().command()

    def profile_path(self):
        """Where callgrind writes."""
        return os.path.join(self.workdir, "callgrind.out")

    def stop(self):
        """SIGTERM, and time for callgrind to write its file."""
        return self.process.stop(grace=60) if self.process else None


def callgrind_run(binary, config, payloads):
    """(instructions per request in dhcp_packet, {hook: per request})."""
    with Lab(binary, config, dnsmasq_class=CallgrindDnsmasq, start_timeout=120) as lab:
        send_all(lab, payloads, lab.server.pid)
        lab.server.stop()
        return parse_callgrind(lab.server.profile_path(), len(payloads))


def parse_callgrind(out_file, count):
    """Per-request instructions: total, and inclusive in each hook."""
    with open(out_file) as f:
        total = int(re.search(r"^summary: (\d+)", f.read(), re.M).group(1))
    hooks = {}
    if ANNOTATE:
        text = subprocess.run([ANNOTATE, "--inclusive=yes", out_file],
                              capture_output=True, text=True, check=True).stdout
        for hook in HOOKS:
            match = re.search(r"^\s*([\d,]+) .*[:\s]%s\b" % hook, text, re.M)
            hooks[hook] = int(match.group(1).replace(",", "")) / count if match else 0.0
    return total / count, hooks


def version_of(binary):
    """dnsmasq's version line, first words."""
    out = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
    return out.splitlines()[0] if out else binary


def report(title, rows, unit, fmt):
    """Print one table: each run's figure and its difference to stock."""
    print("\n%s (%s per request)" % (title, unit))
    base = rows["stock"]
    for name, value in rows.items():
        sign = "+" if value >= base else "-"
        diff = "" if name == "stock" else "  %s%s (%+.1f%%)" % (
            sign, fmt(abs(value - base)), 100.0 * (value - base) / base)
        print("  %-9s %12s%s" % (name, fmt(value), diff))


def main():
    """Run every measurement and print the figures."""
    if not (testing.CAN_USE_NAMESPACES and testing.executable(PATCHED)
            and testing.executable(STOCK)):
        testing.skip_file("needs root, PXC_DNSMASQ_PATCHED and PXC_DNSMASQ_STOCK")
    if not (VALGRIND and ANNOTATE):
        testing.skip_file("needs valgrind and callgrind_annotate (tools/setup installs them)")
    print("%s  vs  %s" % (version_of(PATCHED), os.path.basename(STOCK)))
    print("requests: DISCOVERs of %d client kinds from %d machines, no per-packet logging"
          % (len(PROFILES), MACHINES))
    payloads = requests(CPU_REQUESTS)
    rounds = [{name: cpu_run(binary, config, payloads) for name, binary, config in RUNS}
              for _ in range(CPU_ROUNDS)]
    cpu = {name: min(r[name] for r in rounds) for name, _, _ in RUNS}
    report("CPU time of dnsmasq over %d requests, best of %d rounds"
           % (CPU_REQUESTS, CPU_ROUNDS), cpu, "µs", lambda ns: "%.2f µs" % (ns / 1000.0))
    print("  every round: " + "; ".join(", ".join("%s %.2f" % (n, r[n] / 1000.0) for n in r)
                                        for r in rounds))
    print("  (most of this is the kernel receiving and sending for dnsmasq, and it moves\n"
          "   by several µs between rounds; the instruction counts below are exact)")
    payloads = requests(CALLGRIND_REQUESTS, seed=2)
    counted = {name: callgrind_run(binary, config, payloads) for name, binary, config in RUNS}
    report("instructions in dhcp_packet() over %d requests (callgrind)" % CALLGRIND_REQUESTS,
           {name: value[0] for name, value in counted.items()}, "instructions",
           lambda n: "{:,.0f}".format(n))
    for hook in HOOKS:
        print("  of which %-22s %10s" % (hook, "{:,.0f}".format(counted["pxeclass"][1]
                                                                  .get(hook, 0.0))))


if __name__ == "__main__":
    main()
