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
    two hooks take; the mean over HEAP_LAYOUTS heap layouts (below).

With --compare-configs (meson passes it for the newest version only),
also the comparison users care about (issue 9), callgrind only: the
lines a site writes today (seed 002: dhcp-match 175 and six
dhcp-vendorclass PXEClient:Arch lines; and a tuned variant matching
option:client-arch) on stock and on patched dnsmasq, against the
pxeclass directives meaning the same, without and with `chained` and a
chain guard, as a table of instructions and ratios against the goals.

Prints figures, each instruction count against its budget (issue 9:
the tag hook <= 1,300 and the reply hook <= 300 instructions inside
dnsmasq; with --compare-configs the ratios to the stock configs).
Instruction counts are deterministic (but for the tracker's random
hash seed: a bucket shared by two of the 64 machines costs a fraction of
an instruction per request): a budget or goal not met is named on the
last line and fails the benchmark, so the test command (meson test
--benchmark) fails on it.  The counts move with the heap's layout too:
glibc's strcmp takes a slower path when either string lies near a page
end, and dnsmasq strcmp()s tag names, allocated among the library's
config, for every tag-if; one layout against another has moved the
total by 50-90 instructions per request (a malloc chunk of struct
pxc_config grown by 8 bytes did).  So every callgrind figure is the mean
over HEAP_LAYOUTS (8; PXC_BENCH_HEAP_LAYOUTS) runs whose configs start
with 0, 1, ... 7 TXT records of ~530 bytes (heap_padding), which shift
every later allocation across a page: the cost of the code, not of one
layout's luck.  It asserts that the
compared configs are equivalent: every request of the mix gets the same
tags and the same boot file from each (log-dhcp, one extra uncounted run
of each).
Needs root and valgrind (fails otherwise; with PXC_ALLOW_SKIP=1 exits
77, meson's "skipped").  PXC_DNSMASQ_PATCHED, PXC_DNSMASQ_STOCK.
"""

import argparse
import os
import random
import re
import shutil
import struct
import subprocess

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
HEAP_LAYOUTS = int(os.environ.get("PXC_BENCH_HEAP_LAYOUTS", "8"))

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

# --compare-configs.  Seed 002 (a site's proxyDHCP for iPXE, 2016): 175
# means iPXE, the arch comes from the vendor class; its pxe-service lines
# are dhcp-boot lines here (this benchmark serves addresses on a range).
SITE_ARCHES = (("bios", (0,)), ("efi32", (2, 6)), ("efi64", (7, 8, 9)))
SITE_BOOT = """tag-if=set:loadbios,tag:!ipxe,tag:bios
tag-if=set:loadefi32,tag:!ipxe,tag:efi32
tag-if=set:loadefi64,tag:!ipxe,tag:efi64
dhcp-boot=tag:loadbios,undionly.kpxe
dhcp-boot=tag:loadefi32,ipxe32.efi
dhcp-boot=tag:loadefi64,ipxe.efi
dhcp-boot=tag:ipxe,http://10.77.0.1/boot.ipxe
"""
SEED_002_CONFIG = COMMON + "dhcp-match=set:ipxe,175\n" + "".join(
    "dhcp-vendorclass=set:%s,PXEClient:Arch:%05d\n" % (tag, arch)
    for tag, arches in SITE_ARCHES for arch in arches) + SITE_BOOT
# The same, tuned: option 93's two bytes instead of a search of option 60.
TUNED_CONFIG = COMMON + "dhcp-match=set:ipxe,175\n" + "".join(
    "dhcp-match=set:%s,option:client-arch,%d\n" % (tag, arch)
    for tag, arches in SITE_ARCHES for arch in arches) + SITE_BOOT
# The pxeclass directives meaning the same.  A gPXE 2006-2007 snapshot
# (vendor class "Etherboot" with 175) is class etherboot, not gpxe: the
# feature line keeps it tagged ipxe, as its option 175 did.
DIRECTIVES_CONFIG = COMMON + """dhcp-pxe-class=set:ipxe,ipxe,gpxe
dhcp-ipxe-feature=set:ipxe,pxe-ext
""" + "".join("dhcp-pxe-arch=set:%s,%s\n" % (tag, ",".join(str(a) for a in arches))
              for tag, arches in SITE_ARCHES) + SITE_BOOT
GUARD_TAG = "chain-loop"
CHAINED_CONFIG = DIRECTIVES_CONFIG + "dhcp-ipxe-own=chained\ndhcp-chain-guard=3,60\n"
# (config name, dnsmasq: stock or patched, config)
COMPARED = (("seed-002", "stock", SEED_002_CONFIG),
            ("tuned", "stock", TUNED_CONFIG),
            ("seed-002", "patched", SEED_002_CONFIG),
            ("tuned", "patched", TUNED_CONFIG),
            ("directives", "patched", DIRECTIVES_CONFIG),
            ("directives+chained+guard", "patched", CHAINED_CONFIG))
# Issue 9: patched with directives + chained + guard against the stock
# configs, at most this many times their instructions.
GOALS = (("seed-002", 0.90), ("tuned", 1.00))
# Issue 9: instructions per call of each hook inside dnsmasq.
HOOK_BUDGETS = {"pxeclass_tag_request": 1300, "pxeclass_record_reply": 300}


def requests(count, seed=1, named=False):
    """COUNT DISCOVER payloads: every client kind, MACHINES machines,
    broadcast replies (no ARP entries); the same list every run.  NAMED:
    (payload, client kind) pairs."""
    rng = random.Random(seed)
    kinds = sorted(PROFILES.values(), key=lambda p: p.name)
    macs = ["52:54:01:%02x:%02x:%02x" % (n >> 16, (n >> 8) & 0xff, n & 0xff)
            for n in range(MACHINES)]
    out = [(kinds[n % len(kinds)].packet(dhcp.DISCOVER, rng.getrandbits(32),
                                         mac=macs[n % MACHINES], flags=dhcp.BROADCAST_FLAG),
            kinds[n % len(kinds)].name) for n in range(count)]
    return out if named else [payload for payload, _ in out]


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
    profile goes to <workdir>/callgrind.out when it stops.

    The environment is emptied: its size moves dnsmasq's stack, where
    the interface's name lies that every tag name is strcmp()ed with, and
    glibc's strcmp takes a slower path near a page end: up to 280 more
    instructions per request with seed 002's config, depending only on
    who started the benchmark (meson's environment is not a shell's).
    For the same reason dnsmasq is started as <workdir>/dnsmasq, a link
    to the binary, in the root directory: the binary's path and the
    working directory shape its memory too, and the build directory's
    path, or "-stock" in the name, moved the counts by tens of
    instructions."""

    def command(self):
        """env's argv, valgrind's, then dnsmasq's, started by the link."""
        argv = super().command()
        link = os.path.join(self.workdir, "dnsmasq")
        if not os.path.lexists(link):
            os.symlink(os.path.abspath(argv[0]), link)
        return ["env", "-i", "--chdir=/", VALGRIND, "--tool=callgrind", "--toggle-collect=dhcp_packet",
                "--callgrind-out-file=" + self.profile_path(), link] + argv[1:]

    def profile_path(self):
        """Where callgrind writes."""
        return os.path.join(self.workdir, "callgrind.out")

    def stop(self):
        """SIGTERM, and time for callgrind to write its file."""
        return self.process.stop(grace=60) if self.process else None


def heap_padding(layout):
    """Config lines that only move dnsmasq's heap: LAYOUT TXT records of
    ~530 bytes each (DNS data, never read on the DHCP path), put before
    everything else, so each layout shifts every later allocation by
    another ~530 bytes, across a page in HEAP_LAYOUTS steps."""
    text = ",".join(['"%s"' % ("x" * 240)] * 2)
    return "".join("txt-record=pad%d.invalid,%s\n" % (i, text) for i in range(layout))


def callgrind_run(binary, config, payloads):
    """(instructions per request in dhcp_packet, {hook: per request}):
    the mean over HEAP_LAYOUTS heap layouts (heap_padding), so a figure
    is the cost of the code, not of where one layout put a string."""
    runs = []
    for layout in range(HEAP_LAYOUTS):
        with Lab(binary, heap_padding(layout) + config, dnsmasq_class=CallgrindDnsmasq,
                 start_timeout=120) as lab:
            send_all(lab, payloads, lab.server.pid)
            lab.server.stop()
            runs.append(parse_callgrind(lab.server.profile_path(), len(payloads)))
    total = sum(r[0] for r in runs) / len(runs)
    return total, {hook: sum(r[1][hook] for r in runs) / len(runs) for hook in HOOKS}


def parse_callgrind(out_file, count):
    """Per-request instructions: total, and inclusive in each hook."""
    with open(out_file) as f:
        total = int(re.search(r"^summary: (\d+)", f.read(), re.M).group(1))
    hooks = {}
    text = subprocess.run([ANNOTATE, "--inclusive=yes", "--threshold=100", out_file],
                          capture_output=True, text=True, check=True).stdout
    for hook in HOOKS:
        match = re.search(r"^\s*([\d,]+) .*[:\s]%s\b" % hook, text, re.M)
        hooks[hook] = int(match.group(1).replace(",", "")) / count if match else 0.0
    return total / count, hooks


def xid_of(payload):
    """The xid of a BOOTP payload."""
    return struct.unpack_from("!I", payload, 4)[0]


def decisions(binary, config, payloads):
    """What dnsmasq decided for each of PAYLOADS, from log-dhcp:
    {xid: (tags set, boot files sent)}; the boot file is option 67 or
    the `file` field, whichever dnsmasq used."""
    tags, boots = {}, {}
    logged = config.replace("quiet-dhcp\n", "log-dhcp\n")
    with Lab(binary, logged) as lab:
        send_all(lab, payloads, lab.server.pid)
        lab.server.stop()
        for line in lab.server.log_lines():
            found = re.match(r"(\d+) tags: (.*)$", line)
            if found:
                tags[int(found.group(1))] = frozenset(found.group(2).split(", "))
            found = re.match(r"(\d+) (?:bootfile name:|sent size: +\d+ option: 67 "
                             r"bootfile-name) +(\S+)$", line)
            if found:
                boots.setdefault(int(found.group(1)), set()).add(found.group(2))
    return {xid: (tags.get(xid), frozenset(boots.get(xid, ()))) for xid in tags}


def check_equivalent(payloads, binaries):
    """Assert that every config of COMPARED sets the same tags (the
    guard's own aside) and sends the same boot file as stock seed 002 for
    every request of PAYLOADS; how many requests the guard tagged."""
    names = {xid_of(p): kind for p, kind in payloads}
    runs = {(name, label): decisions(binaries[label], config, [p for p, _ in payloads])
            for name, label, config in COMPARED}
    reference = runs[COMPARED[0][:2]]
    missing = set(names) - set(reference)
    if missing:
        raise AssertionError("stock seed-002 logged no tags for %d requests" % len(missing))
    guarded = 0
    for run, got in runs.items():
        differences = []
        for xid, kind in names.items():
            tags, boot = got.get(xid, (None, None))
            if tags is not None and GUARD_TAG in tags:
                guarded += 1
                tags = tags - {GUARD_TAG}
            if (tags, boot) != reference[xid]:
                differences.append("  %s (xid %d): %s %s, stock seed-002 %s %s" % (
                    kind, xid, sorted(tags or ()), sorted(boot or ()),
                    sorted(reference[xid][0]), sorted(reference[xid][1])))
        if differences:
            raise AssertionError("%s on %s dnsmasq is not equivalent to stock seed-002 on %d "
                                 "of %d requests:\n%s" % (run[0], run[1], len(differences),
                                                          len(names),
                                                          "\n".join(differences[:10])))
    return guarded


def hooks_against_budgets(hooks, where):
    """Print each hook's instructions per call (HOOKS) against its budget;
    the list of budgets not met."""
    missed = []
    for hook in HOOKS:
        figure, budget = hooks.get(hook, 0.0), HOOK_BUDGETS[hook]
        met = figure <= budget
        print("  budget: %-22s %6s <= %s: %s" % (
            hook, "{:,.0f}".format(figure), "{:,}".format(budget),
            "met" if met else "NOT met, %s over" % "{:,.0f}".format(figure - budget)))
        if not met:
            missed.append("%s %s (%s)" % (hook, "{:,.0f}".format(figure), where))
    return missed


def compare_configs(binaries):
    """The config comparison: equivalence, then instructions, a table;
    the list of goals and budgets not met."""
    mix = requests(CALLGRIND_REQUESTS, seed=2, named=True)
    guarded = check_equivalent(mix, binaries)
    payloads = [p for p, _ in mix]
    counted = {(name, label): callgrind_run(binaries[label], config, payloads)
               for name, label, config in COMPARED}
    print("\nconfigs compared: instructions in dhcp_packet() per request over %d requests"
          " (callgrind)" % len(payloads))
    print("  every config sets the same tags and sends the same boot file for each request"
          " (log-dhcp)%s" % ("; the guard also tagged %d requests %s"
                             % (guarded, GUARD_TAG) if guarded else ""))
    print("  %-26s %-8s %12s %9s %9s %10s %10s" % ("config", "dnsmasq", "instructions",
                                                  "/seed-002", "/tuned", "tag hook",
                                                  "reply hook"))
    stock = {name: counted[(name, "stock")][0] for name, _ in GOALS}
    for (name, label), (total, hooks) in counted.items():
        hook_cells = ["{:,.0f}".format(hooks[h]) if label == "patched" else "" for h in HOOKS]
        print("  %-26s %-8s %12s %9.3f %9.3f %10s %10s" % (
            name, label, "{:,.0f}".format(total), total / stock["seed-002"],
            total / stock["tuned"], *hook_cells))
    best, best_hooks = counted[COMPARED[-1][:2]]
    missed = []
    for name, goal in GOALS:
        ratio = best / stock[name]
        print("  goal: %s <= %.2fx stock %s: %.3fx, %s" % (
            COMPARED[-1][0], goal, name, ratio,
            "met" if ratio <= goal else "NOT met: %s instructions over" %
            "{:,.0f}".format(best - goal * stock[name])))
        if ratio > goal:
            missed.append("%s %.3fx stock %s" % (COMPARED[-1][0], ratio, name))
    return missed + hooks_against_budgets(best_hooks, COMPARED[-1][0])


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
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--compare-configs", action="store_true",
                        help="also compare site configs with the pxeclass directives")
    args = parser.parse_args()
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
    missed = hooks_against_budgets(counted["pxeclass"][1], "pxeclass")
    if args.compare_configs:
        missed += compare_configs({"stock": STOCK, "patched": PATCHED})
    if missed:
        print("\nnot met: " + "; ".join(missed))
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
