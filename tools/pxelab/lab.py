"""pxeclass lab: play every kind of boot client against a dnsmasq config.

    pxeclass lab [--config FILE] [--json] [--dnsmasq BINARY] [--client NAME]...
                 [--standin NAME=KIND[:ARCH]]... [--verbose] [--keep]

Starts the patched dnsmasq with the config (the user's lines as they are,
plus the lab's interface, TFTP root and logging) in a network namespace,
with stand-in files for every boot file the config can hand out (see
standins.py) behind dnsmasq's TFTP and an HTTP server, and with a plain
DHCP server next to it when the config is a proxyDHCP.  Then every client
type (clients.py) boots in a namespace of its own, all at once, and each
chain is printed with its verdict: script reached, NBP reached, reached
the OS, GRUB reached, wdsnbp reached (boot.py), dead end (and why), LOOP
(still chainloading after boot.HOP_LIMIT hops), or the loop guard's
fallback.

Exit status: 0 no chain loops; 1 a chain loops; 2 bad usage, or dnsmasq
rejects the config (the message names the line); 3 the lab cannot run
(not root, no dnsmasq binary, namespaces unavailable).

Environment (set by the C front end `pxeclass lab`):
  PXC_LAB_DEFAULT_CONFIG   the config used without --config
  PXC_LAB_DNSMASQ          the dnsmasq used without --dnsmasq
  PXC_LAB_CLI              the pxeclass executable, asked for the library's
                           facts and for the config's pxeclass lines (facts.py)
"""

import argparse
import concurrent.futures
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field

from . import boot, clients, facts, lab6, labconf, standins, topology
from .dhcp import DhcpClient
from .netns import Topology
from .servers import Dnsmasq, HttpFileServer, ServerError

EXIT_OK, EXIT_LOOP, EXIT_CONFIG, EXIT_ENVIRONMENT = 0, 1, 2, 3
BRIDGE = "br0"
DNSMASQ_START_TIMEOUT = 10.0
LOG_SETTLE_TIMEOUT = 1.0


class LabError(RuntimeError):
    """The lab cannot run, or dnsmasq refused the config; `status` is the exit code."""

    def __init__(self, message, status, details=None):
        super().__init__(message)
        self.status = status
        self.details = details or {}


@dataclass
class LabResult:
    """Everything a run produced, for the text and JSON reports."""
    config_path: str
    dnsmasq: str
    server: str
    proxy: bool
    standins: list = field(default_factory=list)        # [(name, StandIn, where)]
    chains: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    seconds: float = 0.0

    @property
    def looping(self):
        """The chains that loop."""
        return [c for c in self.chains if c.verdict == boot.VERDICT_LOOP]


# ------------------------------------------------------------------ the lab
class Lab:
    """One run: config, stand-ins, namespaces, servers and the players."""

    def __init__(self, config_path, dnsmasq, workdir, machine_names=None, overrides=None,
                 site_next_server=None, shape="flat", second_config=None):
        self.shape = topology.make(shape, second_config)
        self.config_path = config_path
        self.site_next_server = site_next_server
        self.dnsmasq_binary = dnsmasq
        self.workdir = workdir
        self.machine_names = machine_names
        self.overrides = overrides or {}
        self.config = None
        self.own_programs = {}

    # -- preparation --------------------------------------------------------
    def prepare(self):
        """Read the config and write the lab's copy; check it (dnsmasq
        first, so its own words name a bad line); learn its pxeclass lines
        from the library; write the stand-ins."""
        confdir = os.path.join(self.workdir, "conf")
        os.makedirs(confdir)
        try:
            self.config = labconf.load(self.config_path, confdir)
            lab6.learn(self.config)
        except labconf.ConfigError as exc:
            raise LabError(str(exc), EXIT_CONFIG)
        self.tftp_root = os.path.join(self.workdir, "tftp")
        self.http_root = os.path.join(self.workdir, "http")
        os.makedirs(self.tftp_root)
        os.makedirs(self.http_root)
        self.server_addr = labconf.server_address(self.config)
        self.server_ip = self.server_addr.split("/")[0]
        labconf.write_main(self.config, BRIDGE, self.tftp_root)
        self._syntax_check()
        self._read_pxeclass()
        self.machines = self._machines()
        self.written = self.write_standins(self.config)
        self._prepare_shape()

    def _read_pxeclass(self):
        """The config's pxeclass lines as the library reads them (the
        user's files, so a message names them as dnsmasq would)."""
        try:
            labconf.learn_pxeclass(self.config, facts.read_config(self.config.path))
        except facts.ConfigRejected as exc:
            raise self.config_problem(f"dnsmasq: {exc}")
        except facts.FactsError as exc:
            raise LabError(str(exc), EXIT_ENVIRONMENT)

    def _machines(self):
        """The client types to play (all, or those named)."""
        own = self.own_build("bios")
        every = clients.machines(own)
        if not self.machine_names:
            return lab6.default_machines(every, self.config)
        unknown = set(self.machine_names) - {m.name for m in every}
        if unknown:
            raise LabError(f"unknown client type(s) {', '.join(sorted(unknown))} (known: "
                           f"{', '.join(clients.machine_names())})", EXIT_CONFIG)
        return [m for m in every if m.name in self.machine_names]

    def own_build(self, arch, machine=None):
        """The iPXE a fetched iPXE binary runs: the site's own build for
        `arch` (from dhcp-ipxe-own), with `machine`'s identity."""
        if arch not in self.own_programs:
            base = clients.ipxe_build(arch)
            self.own_programs[arch] = clients.own_build(base, self.config.identities)
        program = self.own_programs[arch][0]
        return machine.with_identity(program) if machine else program

    def own_description(self):
        """How the site's own iPXE was derived (for the report)."""
        return self.own_programs.get("bios", (None, "plain iPXE"))[1]

    def _prepare_shape(self):
        """The topology's own preparation (a second config, a transit net)."""
        try:
            self.shape.prepare(self)
        except topology.TopologyError as exc:
            raise LabError(str(exc), EXIT_CONFIG)

    def write_standins(self, config, exclude=()):
        """A stand-in for every boot name of `config` but those in
        `exclude`: URLs into the HTTP root (with ${settings} expanded per
        client), paths into the TFTP root."""
        written, seen = [], set(exclude)
        for boot_name in config.boot_names:
            name = boot_name.name
            if name in seen:
                continue
            seen.add(name)
            standin = standins.decide(name, self.overrides)
            is_url = bool(labconf.URL_RE.match(name)) and not name.lower().startswith("tftp://")
            root = self.http_root if is_url else self.tftp_root
            variants = {boot.expand_settings(name, m) for m in self.machines} \
                if "${" in name else {name}
            for variant in sorted(variants):
                standins.write(root, variant, standin)
            written.append((name, standin, "http" if is_url else "tftp", boot_name.line))
        return written

    def _syntax_check(self):
        """dnsmasq --test on the lab's copy: a bad line stops the lab with
        dnsmasq's own message, pointed back at the user's file."""
        proc = subprocess.run([self.dnsmasq_binary, "--test",
                               f"--conf-file={self.config.main_copy}"],
                              capture_output=True, text=True, timeout=30)
        if proc.returncode != 0:
            raise self.config_problem(proc.stderr + proc.stdout)

    def config_problem(self, output):
        """A LabError for dnsmasq's complaint in `output`, with the user's
        file, line number and text."""
        message = "\n".join(l for l in output.splitlines() if l.strip()) or "dnsmasq failed"
        lines = [l for l in message.splitlines() if l.startswith("dnsmasq:")]
        message = lines[0] if lines else message.splitlines()[0]
        for copy, original in self.config.copies.items():
            message = message.replace(copy, original)
        details = {"message": message}
        match = re.search(r"at line (\d+) of (\S+)", message)
        line = None
        if match:
            number, path = int(match.group(1)), match.group(2)
            line = next((l for l in self.config.lines
                         if l.path == path and l.number == number), None)
            details.update(file=path, line=number)
        else:
            line = quoted_line(self.config.lines, message)
        if line:
            details.update(file=line.path, line=line.number, text=line.text)
            if "bad option" in message and is_pxeclass_directive(line.key):
                details["hint"] = (f"{self.dnsmasq_binary} does not know {line.key}: "
                                   "is it the pxeclass-patched dnsmasq? (--dnsmasq)")
        return LabError(message, EXIT_CONFIG, details)

    # -- running --------------------------------------------------------------
    def run(self):
        """Prepare, start the network and servers, play every client; a LabResult."""
        started = time.monotonic()
        self.prepare()
        result = LabResult(self.config_path, self.dnsmasq_binary,
                           " and ".join((self.server_addr,) + lab6.bridge_addresses(self.config)),
                           self.config.proxy)
        result.standins = self.written
        result.notes = self._notes()
        peers = (labconf.peer_address(self.config, self.server_addr),) if self.config.proxy \
            else ()
        peers += self._shape_peers(peers)
        result.notes += self.shape.notes(self)
        extras = labconf.extra_addresses(self.config, self.server_addr) + \
            list(lab6.bridge_addresses(self.config))
        with Topology(clients=len(self.machines), client_macs=[m.mac for m in self.machines],
                      server_addr=self.server_addr, server_extra=tuple(extras),
                      peers=peers) as topo, self.shape.network(self, topo):
            server = self._start_dnsmasq(topo)
            try:
                with self._address_server(topo), self._http_servers(topo), \
                        self.shape.servers(self, topo):
                    result.chains = self._play_all(topo)
                    self.shape.settle(self, server, result.chains)
                    self._annotate(result.chains, server)
                    self.shape.annotate(self, result, server)
                result.notes += server_complaints(server.log_lines(), self.workdir)
            finally:
                server.stop()
        result.seconds = time.monotonic() - started
        return result

    def _shape_peers(self, peers):
        """The topology's peer addresses, after the lab's own."""
        taken = {self.server_ip, *(p.split("/")[0] for p in peers),
                 *(str(a) for a in self.config.server_addresses)}
        try:
            return tuple(self.shape.peers(self, taken))
        except topology.TopologyError as exc:
            raise LabError(str(exc), EXIT_CONFIG)

    def _notes(self):
        """Remarks on the config the lab had to make."""
        notes = []
        if not self.config.has_range and not self.config.dhcp6:
            notes.append("the config has no IPv4 dhcp-range: dnsmasq answers no DHCP")
        notes += lab6.notes(self.config)
        if self.config.proxy:
            notes.append("proxyDHCP config: a plain DHCP server next to it hands out addresses"
                         + (f" and names {self.site_next_server} as next server"
                            if self.site_next_server else ""))
        if not self.config.boot_names:
            notes.append("the config hands out no boot file (no dhcp-boot, pxe-service or "
                         "option 67)")
        return notes

    def _start_dnsmasq(self, topo):
        """The patched dnsmasq in the server namespace, started and ready."""
        with open(self.config.main_copy) as f:
            text = self.shape.server_text(self, f.read())
        ports = {69}
        if self.config.has_range:
            ports.add(67)
        ports |= lab6.wait_ports(self.config)
        workdir = os.path.join(self.workdir, "dnsmasq")
        os.makedirs(workdir)
        server = Dnsmasq(self.dnsmasq_binary, self.shape.server_ns(topo), text,
                         workdir=workdir, wait_ports=ports)
        self.config.copies[server.conf_path] = self.config.path
        try:
            server.start(timeout=DNSMASQ_START_TIMEOUT)
        except ServerError as exc:
            raise self.config_problem(str(exc))
        return server

    def _address_server(self, topo):
        """A plain dnsmasq handing out addresses next to a proxyDHCP config:
        the site's DHCP server.  Its ACK names itself as next server (as
        dnsmasq's does), or --site-next-server's address (dhcp-boot=,,IP:
        no file); it serves TFTP from an empty root, so a GRUB that reads
        its config there finds none at once (tests/firmware scenario o)."""
        if not self.config.proxy:
            return _Nothing()
        hosts = [h for h in self.config.subnet.hosts()
                 if str(h) not in (self.server_ip, topo.peer.ip)]
        span = hosts[len(hosts) // 2:]
        workdir = os.path.join(self.workdir, "address-server")
        root = os.path.join(workdir, "tftp")
        os.makedirs(root)
        text = ("port=0\ninterface=eth0\nbind-interfaces\nuser=root\ngroup=root\nno-ping\n"
                f"dhcp-range={span[0]},{span[-1]},{self.config.subnet.netmask},10m\n"
                f"enable-tftp\ntftp-root={root}\n")
        if self.site_next_server:
            text += f"dhcp-boot=,,{self.site_next_server}\n"
        text += self.shape.address_server_lines(self)
        return Dnsmasq(self.dnsmasq_binary, topo.peer.ns, text, workdir=workdir,
                       wait_ports={67})

    def _http_servers(self, topo):
        """One HTTP file server per port the config's URLs use."""
        ports = {80}
        for name, _, where, _ in self.written:
            if where == "http":
                port = _url_port(name)
                if port:
                    ports.add(port)
        return _Servers([HttpFileServer(topo.server.ns, self.http_root,
                                        address=lab6.http_address(self.config), port=p)
                         for p in sorted(ports)])

    def _play_all(self, topo):
        """Every machine's chain, played at the same time."""
        def play(machine, node):
            if lab6.is_v6(machine):
                return lab6.play(self, machine, node)
            with DhcpClient(node, mac=machine.mac) as client:
                player = boot.Player(machine, client, self.own_build, self.config.proxy,
                                     self.resolve_host)
                return player.run()

        with concurrent.futures.ThreadPoolExecutor(len(self.machines)) as pool:
            futures = [pool.submit(play, m, n)
                       for m, n in zip(self.machines, topo.client_nodes)]
        return [f.result() for f in futures]

    def resolve_host(self, host):
        """The address a URL host is served at: an IPv4 literal as it is
        (the lab put it on its bridge), any name at the lab's server."""
        if host and labconf.ipv4(host):
            return host
        return self.server_ip

    # -- reading dnsmasq's log ----------------------------------------------
    def _annotate(self, chains, server):
        """Put dnsmasq's pxeclass lines, tags and loop warnings next to the
        stages they belong to; judge the loop guard."""
        xids = [x for c in chains for s in c.stages for x in s.xids]
        _wait_for_log(server, xids)
        lines = server.log_lines()
        for chain in chains:
            for stage in chain.stages:
                stage.log = [l for l in lines if _xid_of(l) in stage.xids and "pxeclass" in l]
                stage.tags = _tags(lines, stage.xids)
                stage.label = _label(stage.log) or stage.label
            chain.reason = chain.reason.replace(self.tftp_root, "<tftp-root>")
            mac = chain.machine.mac
            chain.warnings = [l for l in lines if "chainload loop" in l and mac in l]
            chain.warnings += [f"{_xid_of(l)} {l.split(' ', 1)[1]}" for s in chain.stages
                               for l in s.log if re.search(r"\b(warnings|errors)=", l)]
            self._judge_guard(chain)

    def _judge_guard(self, chain):
        """Mark a chain whose request carried the guard's tag, and say what
        came of it (and what would end a loop nothing guards)."""
        tag = self.config.guard_tag
        tripped = [i for i, s in enumerate(chain.stages) if tag and tag in s.tags]
        if chain.verdict == boot.VERDICT_LOOP and not tripped:
            chain.hints.append(
                f"the dhcp-chain-guard did not trip within {boot.HOP_LIMIT} hops" if tag else
                "a dhcp-chain-guard=<hops>,<seconds> line and a dhcp-boot (DHCPv6: an "
                "option6:bootfile-url) for its tag (chain-loop) would end this loop")
        if not tripped:
            return
        chain.guard_tripped = True
        stage = chain.stages[tripped[0]]
        if chain.verdict in boot.SUCCESS_VERDICTS:
            chain.reason = (f"guard tripped ({tag}): fallback {boot.file_label(stage.file)} "
                            f"reached" if stage.file else f"guard tripped ({tag})")
        elif chain.verdict == boot.VERDICT_LOOP:
            chain.reason += f"; the guard tripped ({tag}) but nothing stopped the chain"
            chain.hints.append(f"no dhcp-boot (or pxe-service) hands out something else for "
                               f"tag:{tag}")
        else:
            chain.reason += f" (after the guard tripped: {tag})"


def is_pxeclass_directive(key):
    """True if KEY is one of the library's directives: stock dnsmasq calling
    one a "bad option" means the binary is not the patched one."""
    try:
        return key in facts.library()["directives"]
    except facts.FactsError:
        return False


def quoted_line(lines, message):
    """The config line a message without a line number is about: the line
    it quotes whole, else the line whose value it names (the longest)."""
    whole = [l for l in lines if l.text and l.text in message]
    if whole:
        return whole[0]
    named = [l for l in lines if len(l.value) >= 4 and l.value in message]
    return max(named, key=lambda l: len(l.value), default=None)


class _Nothing:
    """A context manager that does nothing (no address server needed)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class _Servers:
    """Several servers started and stopped together."""

    def __init__(self, servers):
        self.servers = servers

    def __enter__(self):
        for server in self.servers:
            server.start()
        return self

    def __exit__(self, *exc):
        for server in self.servers:
            server.stop()
        return False


SERVER_COMPLAINT_RE = re.compile(r"cannot|failed|bad |warning|error|illegal|unknown|"
                                 r"not supported|too large|no address range")


def server_complaints(lines, workdir):
    """dnsmasq's own complaints in its log (start-up and later), except the
    per-request lines and the loop warnings the chains already show."""
    complaints = []
    for line in lines:
        if _xid_of(line) is not None or "chainload loop" in line:
            continue
        if SERVER_COMPLAINT_RE.search(line) and "compile time options" not in line:
            complaints.append("dnsmasq: " + line.replace(workdir, "<lab>"))
    return complaints


def _url_port(name):
    """The explicit port of a URL boot name (None for the default)."""
    try:
        return urllib.parse.urlsplit(name).port
    except ValueError:
        return None


def _xid_of(line):
    """The xid a log-dhcp line starts with, or None."""
    head = line.split(" ", 1)[0]
    return int(head) if head.isdigit() else None


def _wait_for_log(server, xids):
    """Poll until dnsmasq has logged a pxeclass line for every xid (the log
    is written right after the reply, but by another process)."""
    deadline = time.monotonic() + LOG_SETTLE_TIMEOUT
    wanted = set(xids)
    while time.monotonic() < deadline:
        seen = {_xid_of(l) for l in server.log_lines() if "pxeclass" in l}
        if wanted <= seen:
            return
        time.sleep(0.02)


def _tags(lines, xids):
    """Every tag dnsmasq's 'tags:' lines list for these xids, once each."""
    tags = {}
    for line in lines:
        match = re.match(r"^(\d+) tags: (.*)$", line)
        if match and int(match.group(1)) in xids:
            tags.update((t.strip(), None) for t in match.group(2).split(",") if t.strip())
    return list(tags)


def _label(log):
    """'ipxe(own)' from the last classification line of a stage."""
    for line in reversed(log):
        match = re.search(r"pxeclass: class=(\S+)(?: family=\S+)?(?: own=(\S+))?", line)
        if match:
            cls, own = match.groups()
            return f"{cls}({own})" if own in ("own", "vendor") else cls
    return None


# ------------------------------------------------------------------ reports
def chain_tokens(chain):
    """The chain as tokens: stage, file, stage, file ... (4011 / proxy marked)."""
    tokens = []
    for stage in chain.stages:
        via = {"4011": "[4011]", "proxy": "[proxy]", "proxy+4011": "[proxy+4011]"}.get(
            stage.via, "")
        tokens.append(stage.name() + via + lab6.family_suffix(stage)
                      + (f"@{stage.source}" if stage.source else ""))
        if stage.file:
            tokens.append(boot.file_label(stage.file))
    return tokens


def compress(tokens, min_repeats=3, max_period=4):
    """Tokens with a run of >= min_repeats repetitions of a short unit
    written once: ['pxe', '(undionly.kpxe → ipxe) ×8', ...]."""
    out, index = [], 0
    while index < len(tokens):
        best = None
        for period in range(1, max_period + 1):
            unit = tokens[index:index + period]
            count = 1
            while tokens[index + count * period:index + (count + 1) * period] == unit:
                count += 1
            if len(unit) == period and count >= min_repeats and \
                    (best is None or count * period > best[0] * best[1]):
                best = (count, period)
        if best:
            count, period = best
            out.append(f"({' → '.join(tokens[index:index + period])}) ×{count}")
            index += count * period
        else:
            out.append(tokens[index])
            index += 1
    return out


def verdict_text(chain):
    """'script reached', 'dead end: …', 'LOOP: …'."""
    if chain.verdict == boot.VERDICT_DEAD:
        return f"dead end: {chain.reason}"
    return chain.reason


def text_report(result, verbose=False, out=sys.stdout):
    """One line per client type, warnings under it, a summary line."""
    print(f"pxeclass lab: {result.config_path} with {result.dnsmasq}", file=out)
    print(f"  server {result.server}, dnsmasq's TFTP and HTTP serve stand-ins for "
          f"{len(result.standins)} boot file name(s)", file=out)
    for note in result.notes:
        print(f"  note: {note}", file=out)
    if verbose:
        for name, standin, where, line in result.standins:
            print(f"  stand-in {where}: {name} = {standin.title()} ({standin.why}; "
                  f"line {line.number})", file=out)
    chains = [(c, " → ".join(compress(chain_tokens(c)))) for c in result.chains]
    width = max((len(text) for _, text in chains), default=0)
    name_width = max((len(c.machine.name) for c, _ in chains), default=0) + 1
    for chain, text in chains:
        hops = f"{chain.hops} hop" + ("" if chain.hops == 1 else "s")
        print(f"{chain.machine.name + ':':<{name_width}} {text:<{width}}  [{hops}] "
              f"{verdict_text(chain)}", file=out)
        for warning in chain.warnings:
            print(f"    ! {warning}", file=out)
        if verbose or chain.verdict not in boot.SUCCESS_VERDICTS:
            _print_details(chain, verbose, out)
    loops = len(result.looping)
    dead = sum(1 for c in result.chains if c.verdict == boot.VERDICT_DEAD)
    good = len(result.chains) - loops - dead
    kinds = "client type" + ("" if len(result.chains) == 1 else "s")
    print(f"{len(result.chains)} {kinds}: {good} reached a script, NBP or the OS, {dead} dead "
          f"end(s), {loops} loop(s) ({result.seconds:.1f} s)", file=out)


def _print_details(chain, verbose, out):
    """The server's view of a chain's stages: every exchange and log line
    (verbose), else the last classification line of each of the last two
    stages, and a hint for a loop nothing guards."""
    for stage in chain.stages if verbose else chain.stages[-2:]:
        for exchange in stage.exchanges if verbose else []:
            print(f"      {stage.name()}: {exchange}", file=out)
        lines = stage.log if verbose else list({_xid_of(l): l for l in stage.log
                                                 if " pxeclass: " in l}.values())
        for line in lines:
            print(f"      {line}", file=out)
    for hint in chain.hints:
        print(f"      hint: {hint}", file=out)


def chain_json(chain):
    """One client type as a JSON-ready dict."""
    return {
        "client": chain.machine.name,
        "title": chain.machine.title,
        "mac": chain.machine.mac,
        "arch": chain.machine.arch,
        "source": (chain.machine.firmware or chain.machine.firmware6).source,
        "family": chain.machine.families,
        "chain": chain_tokens(chain),
        "hops": chain.hops,
        "verdict": chain.verdict,
        "reason": chain.reason,
        "guard_tripped": chain.guard_tripped,
        "warnings": chain.warnings,
        "hints": chain.hints,
        "seconds": round(chain.seconds, 3),
        "stages": [{
            "label": s.name(), "program": s.program.label, "via": s.via,
            "family": s.family, "file_family": s.file_family, "address6": s.address6,
            "exchanges": s.exchanges, "xids": s.xids, "address": s.address,
            "file": s.file, "next_server": s.next_server, "fetch": s.fetch,
            "source": s.source, "address_source": s.address_source,
            "fetched": {"kind": s.fetched[0], "arch": s.fetched[1]} if s.fetched else None,
            "tags": s.tags, "log": s.log,
        } for s in chain.stages],
    }


def json_report(result, out=sys.stdout):
    """One JSON object per client type, one per line; the run's notes go
    to stderr."""
    for note in result.notes:
        print(f"pxeclass lab: note: {note}", file=sys.stderr)
    for chain in result.chains:
        print(json.dumps(chain_json(chain), ensure_ascii=False), file=out)


# ------------------------------------------------------------------ command line
def parse_args(argv):
    """The command line (see the module doc)."""
    parser = argparse.ArgumentParser(
        prog="pxeclass lab",
        description="Play every kind of network-boot client against a dnsmasq config "
                    "in network namespaces and show each boot chain.")
    parser.add_argument("--config", help="dnsmasq config to run (default: the lab's own, "
                        "examples/lab.conf)")
    parser.add_argument("--dnsmasq", help="patched dnsmasq binary (default: the newest "
                        "patched build)")
    parser.add_argument("--json", action="store_true", help="one JSON object per client type")
    parser.add_argument("--client", action="append", metavar="NAME",
                        help="play only this client type (repeatable): "
                        + ", ".join(clients.machine_names()))
    parser.add_argument("--standin", action="append", default=[], metavar="NAME=KIND[:ARCH]",
                        help="what a boot file stands for, instead of the name's guess "
                        "(KIND: ipxe, script, nbp, kernel, shim, grub, wdsnbp, missing; "
                        "ARCH: bios, efi-x86, efi-x64, efi-arm64, any)")
    parser.add_argument("--site-next-server", metavar="IPV4",
                        help="with a proxyDHCP config: the next server the site's DHCP "
                        "server (the lab's address server) names in its ACK (default: "
                        "itself, as dnsmasq's does); where GRUB reads its config")
    parser.add_argument("--topology", choices=topology.TOPOLOGIES, default="flat",
                        help="where the boot server sits: flat (on the clients' link), "
                        "relay (behind ISC dhcrelay), relay-dnsmasq (behind dnsmasq's "
                        "dhcp-relay), rival (a plain DHCP server answers first), pair "
                        "(two instances of the config)")
    parser.add_argument("--pair-config", metavar="FILE",
                        help="with --topology pair: the second instance's config "
                        "(default: the same config)")
    parser.add_argument("--verbose", "-v", action="store_true",
                        help="show stand-ins, every exchange and every pxeclass log line")
    parser.add_argument("--keep", action="store_true",
                        help="keep the lab's work directory (configs, logs, roots)")
    return parser.parse_args(argv)


def check_environment(args):
    """The config and dnsmasq to use; LabError if the lab cannot run."""
    if os.geteuid() != 0:
        raise LabError("needs root: it creates network namespaces (run it with sudo)",
                       EXIT_ENVIRONMENT)
    if not shutil.which("ip"):
        raise LabError("pxeclass lab needs iproute2's `ip` command", EXIT_ENVIRONMENT)
    config = args.config or os.environ.get("PXC_LAB_DEFAULT_CONFIG")
    if not config:
        raise LabError("no config: pass --config FILE", EXIT_CONFIG)
    dnsmasq = args.dnsmasq or os.environ.get("PXC_LAB_DNSMASQ")
    if not dnsmasq:
        raise LabError("no dnsmasq: pass --dnsmasq BINARY (a pxeclass-patched build)",
                       EXIT_ENVIRONMENT)
    found = shutil.which(dnsmasq)
    if not found:
        raise LabError(f"dnsmasq binary {dnsmasq} not found or not executable (build it "
                       "with ninja, or pass --dnsmasq)", EXIT_ENVIRONMENT)
    return config, os.path.abspath(found)


def report_error(error, as_json, out=sys.stdout):
    """Print a LabError: dnsmasq's message, and the user's line under it."""
    if as_json:
        print(json.dumps({"error": str(error), **error.details}), file=out)
        return
    print(f"pxeclass lab: {error}", file=sys.stderr)
    if "text" in error.details:
        print(f"  line {error.details['line']} of {error.details['file']}: "
              f"{error.details['text']}", file=sys.stderr)
    if "hint" in error.details:
        print(f"  hint: {error.details['hint']}", file=sys.stderr)


def _terminated(signum, frame):
    """SIGTERM unwinds like Ctrl-C: servers stop, namespaces go."""
    raise SystemExit(128 + signum)


def main(argv=None):
    """Run the lab; returns the exit status."""
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)   # `| head` ends the report quietly
    signal.signal(signal.SIGTERM, _terminated)
    args = parse_args(argv)
    try:
        overrides = dict(standins.parse_override(o) for o in args.standin)
        config, dnsmasq = check_environment(args)
        if args.site_next_server and not labconf.ipv4(args.site_next_server):
            raise ValueError(f"--site-next-server {args.site_next_server!r}: not an IPv4 "
                             "address")
    except ValueError as exc:
        print(f"pxeclass lab: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except LabError as exc:
        report_error(exc, args.json)
        return exc.status
    workdir = tempfile.mkdtemp(prefix="pxeclass-lab-")
    try:
        lab = Lab(config, dnsmasq, workdir, args.client, overrides, args.site_next_server,
                  args.topology, args.pair_config)
        result = lab.run()
    except ValueError as exc:               # --pair-config without pair
        print(f"pxeclass lab: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except topology.TopologyError as exc:   # no relay program, the relay died
        report_error(LabError(str(exc), EXIT_ENVIRONMENT), args.json)
        return EXIT_ENVIRONMENT
    except LabError as exc:
        report_error(exc, args.json)
        return exc.status
    except facts.FactsError as exc:          # the CLI is missing or too old
        report_error(LabError(str(exc), EXIT_ENVIRONMENT), args.json)
        return EXIT_ENVIRONMENT
    finally:
        if args.keep:
            print(f"pxeclass lab: work directory kept: {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        json_report(result)
    else:
        text_report(result, args.verbose)
    return EXIT_LOOP if result.looping else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
