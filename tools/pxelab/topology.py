"""pxeclass lab --topology: where the boot server sits on the clients' network.

    flat           the boot server on the clients' link (the lab's default)
    relay          the clients' link reaches the boot server only through a
                   DHCP relay: ISC dhcrelay (Debian's isc-dhcp-relay)
    relay-dnsmasq  the same with dnsmasq's own dhcp-relay as the relay
    rival          a plain DHCP server on the clients' link that answers
                   first (for a proxyDHCP config: its address server)
    pair           two instances of the config on one link (or the config
                   and a second one, --pair-config)

Each shape builds on netns.Topology (the clients' segment, a bridge in the
"server" namespace) and tells the lab where the boot server runs, what the
lab adds to its config, which other servers run, and which name each
server has in the verdicts: a stage's chain token says which server its
answer came from (`pxe@rival`), and the dead ends these networks cause
are named (an offer without a boot file taken; a proxy reply the relay
never brought back).

relay: the clients' bridge lives in the relay's namespace with the lab's
server address on it (the relay's giaddr); the boot server's namespace
hangs off the relay on a transit link (TRANSIT_NETS) whose interface is
named like the lab's bridge, so the lab's config lines stand; the relay
routes, so TFTP and the 4011 requests reach the boot server by unicast.
"""

import contextlib
import ipaddress
import os
import re
import shutil

from . import boot, labconf
from .netns import Netns, run_host
from .servers import Dnsmasq, wait_until

TOPOLOGIES = ("flat", "relay", "relay-dnsmasq", "rival", "pair")
TRANSIT_NETS = ("198.18.0.0/24", "198.19.0.0/24")   # RFC 2544 benchmarking space
BOOT_ROLE = "p99"               # the boot server's namespace behind a relay
RELAY_UPLINK = "up0"            # the relay's interface towards the boot server
PEER_IFACE = "eth0"             # a peer namespace's interface on the bridge
RIVAL_DELAY = 1                 # seconds the boot server holds its offers (rival)
RELAY_START_TIMEOUT = 5.0


class TopologyError(RuntimeError):
    """The shape cannot be built (a missing relay program, a bad second config)."""


def make(name, second_config=None):
    """The shape called `name` (ValueError for an unknown one)."""
    shapes = {"flat": Flat, "relay": IscRelay, "relay-dnsmasq": DnsmasqRelay,
              "rival": Rival, "pair": Pair}
    if name not in shapes:
        raise ValueError(f"unknown topology {name} (known: {', '.join(TOPOLOGIES)})")
    if second_config and name != "pair":
        raise ValueError("--pair-config goes with --topology pair")
    return shapes[name](second_config) if name == "pair" else shapes[name]()


def free_address(config, taken):
    """The subnet's first host (with prefix) that is not in `taken` nor in
    the config's leased span."""
    low, high = config.range_hosts or (None, None)
    for host in config.subnet.hosts():
        if str(host) in taken or (low is not None and low <= host <= high):
            continue
        return f"{host}/{config.subnet.prefixlen}"
    raise TopologyError(f"no free address in {config.subnet}")


def plain_server_text(span, netmask, log=True):
    """A plain DHCP server's config (no boot information): a router's."""
    return ("port=0\ninterface=eth0\nbind-interfaces\nuser=root\ngroup=root\nno-ping\n"
            f"dhcp-range={span[0]},{span[-1]},{netmask},10m\n" + ("log-dhcp\n" if log else ""))


def spare_span(config, taken):
    """Addresses for a second address server: hosts outside the config's
    span and `taken` (split ranges), else the subnet's upper half."""
    low, high = config.range_hosts or (None, None)
    hosts = [h for h in config.subnet.hosts() if str(h) not in taken]
    outside = [h for h in hosts if low is None or not low <= h <= high]
    outside = outside[len(outside) // 2:]
    return outside if len(outside) >= 4 else hosts[len(hosts) // 2:]


class Flat:
    """The boot server on the clients' link: what the lab always did."""
    name = "flat"

    def prepare(self, lab):
        """Read what the shape needs of the config (after lab.prepare())."""

    def peers(self, lab, taken):
        """More peer namespaces on the clients' bridge (addresses/prefix)."""
        return ()

    def server_ns(self, topo):
        """The namespace the boot server (the user's config) runs in."""
        return topo.server.ns

    def server_text(self, lab, text):
        """The boot server's config text as the lab runs it."""
        return text

    def notes(self, lab):
        """Lines for the report's head."""
        return []

    def address_server_lines(self, lab):
        """Lines the address server of a proxyDHCP config adds."""
        return ""

    @contextlib.contextmanager
    def network(self, lab, topo):
        """Extra namespaces and links, before the boot server starts."""
        yield

    @contextlib.contextmanager
    def servers(self, lab, topo):
        """Extra servers, running while the clients play."""
        yield

    def names(self, lab, topo):
        """{server address: name in the verdicts}."""
        return {}

    def settle(self, lab, server, chains):
        """Wait for the boot server's log to catch up (before the lab reads it)."""

    def annotate(self, lab, result, server):
        """Name each stage's server; explain the dead ends the shape causes
        (flat: nothing, its chains read as they always did)."""


class _Named(Flat):
    """A shape whose servers are named in the chain tokens."""
    _names = {}

    def annotate(self, lab, result, server):
        names = self._names
        for chain in result.chains:
            for stage in chain.stages:
                answer = stage.answer or stage.server
                stage.source = names.get(answer, answer) if answer else None
                if stage.server and stage.server != answer:
                    stage.address_source = names.get(stage.server, stage.server)
            self.explain(lab, chain, server)

    def explain(self, lab, chain, server):
        """Rewrite a dead end this shape causes."""


# ------------------------------------------------------------------ relay
class Relay(_Named):
    """Clients | bridge in the relay's namespace | transit link | boot server."""
    name = "relay"
    relay_title = "a relay"

    def __init__(self):
        self.transit = None
        self.boot_ns = None
        self.relay = None

    def _transit(self, lab):
        """The transit network: one that is not the config's subnet."""
        for text in TRANSIT_NETS:
            net = ipaddress.IPv4Network(text)
            if not net.overlaps(lab.config.subnet):
                return net
        raise TopologyError("no transit network for the relay outside the config's subnet")

    def prepare(self, lab):
        self.transit = self._transit(lab)
        hosts = list(self.transit.hosts())
        self.boot_ip, self.uplink_ip = str(hosts[0]), str(hosts[1])

    def server_ns(self, topo):
        return self.boot_ns

    def address_server_lines(self, lab):
        """The relay is the clients' router (to the boot server's 4011)."""
        return f"dhcp-option=3,{lab.server_ip}\n"

    def notes(self, lab):
        return [f"topology {self.name}: the clients reach the boot server ({self.boot_ip}) only "
                f"through {self.relay_title} at {lab.server_ip} (giaddr)"]

    @contextlib.contextmanager
    def network(self, lab, topo):
        """The boot server's namespace behind the relay, routed both ways."""
        self.boot_ns = relay_link(topo, lab.config.subnet, labconf_bridge(lab), self.transit)
        yield

    @contextlib.contextmanager
    def servers(self, lab, topo):
        self._names = self.names(lab, topo)
        self.relay = self.start_relay(lab, topo)
        try:
            yield
        finally:
            self.relay.stop()

    def names(self, lab, topo):
        return {self.boot_ip: "boot", lab.server_ip: "boot"} | (
            {topo.peer.ip: "address-server"} if lab.config.proxy else {})

    def start_relay(self, lab, topo):
        raise NotImplementedError

    def explain(self, lab, chain, server):
        """A proxy offer the boot server logged that the client never got:
        the relay did not bring it back."""
        if chain.verdict != boot.VERDICT_DEAD or not lab.config.proxy:
            return
        stage = chain.stages[-1]
        if any("(proxy)" in e for e in stage.exchanges):
            return
        sent = [l for l in server.log_lines() if " proxy" in l and
                _xid(l) in stage.xids]
        if sent:
            chain.reason = (f"a proxy reply sent where the relay drops it: the boot server "
                            f"answered ({len(sent)} proxy line(s) in its log) but no proxy "
                            f"offer came back through {self.relay_title}")


def relay_link(topo, subnet, boot_iface, transit):
    """A namespace for the boot server behind TOPO's server namespace, which
    becomes the relay (and router) between the clients' bridge and a
    transit link: the relay's end is RELAY_UPLINK at transit's second
    host, the boot server's BOOT_IFACE at its first, routed back to the
    clients' SUBNET.  Returns the boot server's Netns (TOPO deletes it)."""
    relay_ns = topo.server.ns
    boot_ns = Netns(f"{topo.prefix}{BOOT_ROLE}")
    boot_ns.create()
    topo.namespaces.append(boot_ns)
    hosts = list(transit.hosts())
    boot_ip, uplink_ip = str(hosts[0]), str(hosts[1])
    run_host(["ip", "link", "add", "name", RELAY_UPLINK, "netns", relay_ns.name,
              "type", "veth", "peer", "name", boot_iface, "netns", boot_ns.name])
    relay_ns.add_address(RELAY_UPLINK, f"{uplink_ip}/{transit.prefixlen}")
    relay_ns.ip("link", "set", RELAY_UPLINK, "up")
    boot_ns.add_address(boot_iface, f"{boot_ip}/{transit.prefixlen}")
    boot_ns.ip("link", "set", boot_iface, "up")
    boot_ns.ip("route", "add", str(subnet), "via", uplink_ip)
    relay_ns.run(["sysctl", "-qw", "net.ipv4.ip_forward=1"])
    return boot_ns


def start_isc_relay(ns, workdir, downlink, server_ip):
    """ISC dhcrelay in NS between DOWNLINK (the clients' side, whose address
    is the giaddr) and RELAY_UPLINK, to SERVER_IP; its log (-d: foreground,
    every forwarded packet) in WORKDIR/dhcrelay.log.  Returns the process
    once it listens."""
    binary = shutil.which("dhcrelay")
    if not binary:
        raise TopologyError("the relay topology needs ISC dhcrelay (apt-get install "
                            "isc-dhcp-relay; tools/setup installs it)")
    os.makedirs(workdir, exist_ok=True)
    process = ns.start([binary, "-4", "-d", "-pf", os.path.join(workdir, "dhcrelay.pid"),
                        "-id", downlink, "-iu", RELAY_UPLINK, server_ip],
                       os.path.join(workdir, "dhcrelay.log"))
    _wait_listening(process, "dhcrelay")
    return process


def labconf_bridge(lab):
    """The interface name the lab's config lines listen on."""
    from .lab import BRIDGE
    return BRIDGE


class IscRelay(Relay):
    """ISC dhcrelay (Debian's isc-dhcp-relay) as the relay."""
    name = "relay"
    relay_title = "ISC dhcrelay"

    def start_relay(self, lab, topo):
        return start_isc_relay(topo.server.ns, os.path.join(lab.workdir, "relay"),
                               topo.bridge, self.boot_ip)


class DnsmasqRelay(Relay):
    """dnsmasq's own dhcp-relay as the relay (the lab's dnsmasq binary,
    no DHCP service of its own)."""
    name = "relay-dnsmasq"
    relay_title = "dnsmasq's dhcp-relay"

    def start_relay(self, lab, topo):
        workdir = os.path.join(lab.workdir, "relay")
        os.makedirs(workdir, exist_ok=True)
        text = (f"port=0\ninterface={topo.bridge}\ninterface={RELAY_UPLINK}\nuser=root\n"
                f"group=root\ndhcp-relay={lab.server_ip},{self.boot_ip}\nlog-dhcp\n")
        relay = Dnsmasq(lab.dnsmasq_binary, topo.server.ns, text, workdir=workdir,
                        wait_ports={67})
        relay.start()
        return relay


def _wait_listening(process, what):
    """Until `process` has bound UDP 67 (or exited: TopologyError)."""
    from .servers import listening_ports

    def ready():
        if not process.running():
            raise TopologyError(f"{what} exited: {process.output().strip()}")
        return 67 in listening_ports(process.pid)
    wait_until(ready, RELAY_START_TIMEOUT, what=f"{what} on UDP 67")


# ------------------------------------------------------------------ rival
class Rival(_Named):
    """A plain DHCP server on the clients' link that answers first."""
    name = "rival"

    def peers(self, lab, taken):
        if lab.config.proxy:            # its address server is the rival
            return ()
        self.address = free_address(lab.config, taken)
        return (self.address,)

    def server_text(self, lab, text):
        if lab.config.proxy:
            return text
        return text + ("# --- pxeclass lab --topology rival: the rival answers first ---\n"
                       f"dhcp-reply-delay={RIVAL_DELAY}\n")

    def notes(self, lab):
        if lab.config.proxy:
            return ["topology rival: the proxyDHCP config's address server is the rival "
                    "(a plain DHCP server; it answers, the proxy adds boot information)"]
        return [f"topology rival: a plain DHCP server ({self.address.split('/')[0]}) answers "
                f"before the boot server (whose offers the lab holds {RIVAL_DELAY} s)"]

    @contextlib.contextmanager
    def servers(self, lab, topo):
        self._names = self.names(lab, topo)
        if lab.config.proxy:
            yield
            return
        node = topo.peer_nodes[-1]
        span = spare_span(lab.config, {lab.server_ip, node.ip})
        workdir = os.path.join(lab.workdir, "rival")
        os.makedirs(workdir)
        with Dnsmasq(lab.dnsmasq_binary, node.ns, plain_server_text(span, lab.config.subnet.netmask),
                     workdir=workdir, wait_ports={67}):
            yield

    def names(self, lab, topo):
        return {lab.server_ip: "boot", topo.peer_nodes[-1].ip: "rival"}

    def settle(self, lab, server, chains):
        """The boot server held each DISCOVER RIVAL_DELAY s, one after the
        other: its log of the REQUESTs naming the rival comes late."""
        if lab.config.proxy:
            return
        wanted = {x for c in chains for s in c.stages for x in s.xids}

        def requests_logged():          # the DISCOVER's line, and the REQUEST's
            seen = [_xid(l) for l in server.log_lines() if " pxeclass: " in l]
            return all(seen.count(x) >= 2 for x in wanted)
        with contextlib.suppress(TimeoutError):
            wait_until(requests_logged,
                       (2 * RIVAL_DELAY + 1) * len(chains) + 2, interval=0.1,
                       what="the boot server's log")

    def explain(self, lab, chain, server):
        """A stage that took the rival's offer and got no boot file."""
        stage = chain.stages[-1]
        if chain.verdict != boot.VERDICT_DEAD or not chain.reason.startswith("no boot file") \
                or stage.source != "rival":
            return
        boot_offer = [e for e in stage.exchanges if lab.server_ip in e and "file=" in e]
        chain.reason = ("an offer without a boot file taken: the rival answered first "
                        "with an address only"
                        + ("; the boot server's offer came later" if boot_offer else
                           "; the boot server's offer came too late to be seen"))
        chain.hints.append("the lab's clients take the first offer, the worst case (real iPXE "
                           "and EDK2 wait for one with a boot file); a client that does needs "
                           "the boot server first, or a proxyDHCP next to the rival")


# ------------------------------------------------------------------ pair
class Pair(_Named):
    """Two boot servers on one link: the config twice, or config + second."""
    name = "pair"

    def __init__(self, second_config=None):
        self.second_path = second_config
        self.second = None

    def prepare(self, lab):
        if not self.second_path:
            return
        confdir = os.path.join(lab.workdir, "conf2")
        os.makedirs(confdir)
        try:
            self.second = labconf.load(self.second_path, confdir)
        except labconf.ConfigError as exc:
            raise TopologyError(f"--pair-config: {exc}")
        labconf.write_main(self.second, PEER_IFACE, lab.tftp_root)
        lab.written += lab.write_standins(self.second, exclude={n for n, *_ in lab.written})

    def peers(self, lab, taken):
        self.address = free_address(lab.config, taken)
        return (self.address,)

    def notes(self, lab):
        second = self.second_path or lab.config_path
        notes = [f"topology pair: a second patched dnsmasq ({self.address.split('/')[0]}) "
                 f"runs {second} on the same link"]
        if self._peered(lab.config):
            notes.append("dhcp-chain-peer: each instance names the other's lab address")
        elif lab.config.has_range:
            notes.append("no dhcp-chain-peer: an instance strikes its offer when the client "
                         "takes the other's, so a byte-identical chainload (QEMU's ROM → "
                         "undionly.kpxe) answered by the other may not be chained")
        return notes

    @staticmethod
    def _peered(config):
        """True if the config names peers (the lab then names its own)."""
        return bool(config.lines_of("dhcp-chain-peer"))

    def server_text(self, lab, text):
        if not self._peered(lab.config):
            return text
        return text + f"dhcp-chain-peer={self.address.split('/')[0]}\n"

    @contextlib.contextmanager
    def servers(self, lab, topo):
        self._names = self.names(lab, topo)
        node = topo.peer_nodes[-1]
        if self.second:
            with open(self.second.main_copy) as f:
                text = f.read()
        else:
            with open(lab.config.main_copy) as f:
                text = re.sub(r"(?m)^interface=.*$", f"interface={PEER_IFACE}", f.read())
        if self._peered(self.second or lab.config):
            text += f"dhcp-chain-peer={lab.server_ip}\n"
        workdir = os.path.join(lab.workdir, "second")
        os.makedirs(workdir)
        ports = {67, 69} if (self.second or lab.config).has_range else {69}
        self.instance = Dnsmasq(lab.dnsmasq_binary, node.ns, text, workdir=workdir,
                                wait_ports=ports)
        with self.instance:
            yield

    def names(self, lab, topo):
        return {lab.server_ip: "boot", topo.peer_nodes[-1].ip: "boot#2"} | (
            {topo.peer_nodes[0].ip: "address-server"} if lab.config.proxy else {})

    def annotate(self, lab, result, server):
        """Names, and the second instance's log lines next to its stages."""
        super().annotate(lab, result, server)
        lines = self.instance.log_lines()
        for chain in result.chains:
            for stage in chain.stages:
                stage.log += [f"[boot#2] {l}" for l in lines
                              if _xid(l) in stage.xids and "pxeclass" in l]


def _xid(line):
    """The xid a log-dhcp line (as log_lines() gives it) starts with, or None."""
    head = line.split(" ", 1)[0]
    return int(head) if head.isdigit() else None
