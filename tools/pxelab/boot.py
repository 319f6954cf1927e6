"""Play one lab client through its boot chain.

A Player drives one Machine: its firmware's Program asks DHCP (directly,
or through a proxyDHCP and the boot server on port 4011, as PXE stacks and
iPXE do), fetches what it was given (TFTP for a path, HTTP for a URL) and
then becomes what it fetched: an iPXE binary becomes the site's iPXE build
and asks DHCP again (one hop), a script or another NBP ends the chain.
Some boot files ask DHCP themselves, and the lab plays that request as the
chain's last stage (the sheet's programs): a Linux kernel's initramfs
(klibc ipconfig: the chain reached the OS), shim, which loads GRUB from its
own directory by TFTP, and GRUB's net image, and wdsnbp.com (its REQUEST
from the address PXE got).  GRUB first reads its config from the next
server of the DHCPACK the firmware cached, as Debian's GRUB 2.06 does
(tests/firmware scenarios m and o): the site's DHCP server under a
proxyDHCP, where a config is rarely found and GRUB stops at its prompt
without asking DHCP; only a config it read asks DHCP (net_dhcp).
Every stage is recorded, with the xids it used so the lab can put dnsmasq's
log lines next to it.

The client side follows the firmware, not the server: the offer a stage
takes, whether it asks port 4011, and what it can fetch and run are the
rules of its family (iPXE's dhcp.c and autoboot.c, EDK2's PxeBc and
HttpBoot drivers), never a peek at the config.
"""

import re
import socket
import time
import urllib.parse
from dataclasses import dataclass, field

from . import clients, dhcp, standins
from .http_client import http_get
from .labconf import URL_RE
from .tftp import TftpError, tftp_fetch

HOP_LIMIT = 8                 # hops after which a chain is called a loop
DISCOVER_TIMEOUT = 3.0        # seconds a stage waits for an address offer
RETRANSMIT = 1.0              # seconds between DISCOVER retransmissions
PROXY_GRACE = 0.3             # extra wait for a proxy offer after an address offer
REPLY_TIMEOUT = 2.0           # REQUEST and port-4011 exchanges
FETCH_TIMEOUT = 3.0

VERDICT_SCRIPT, VERDICT_NBP, VERDICT_DEAD, VERDICT_LOOP = "script", "nbp", "dead-end", "loop"
VERDICT_OS, VERDICT_GRUB, VERDICT_WDS = "os", "grub", "wds"
SUCCESS_VERDICTS = (VERDICT_SCRIPT, VERDICT_NBP, VERDICT_OS, VERDICT_GRUB, VERDICT_WDS)

# A fetched boot file that asks DHCP itself: the sheet's program that
# plays its request.
ASKS_DHCP = {"kernel": "initramfs-ipconfig", "grub": "grub-net-efi", "wdsnbp": "wdsnbp"}
# What a last stage's request makes of the chain, by program kind.
LAST_STAGES = {
    "os": (VERDICT_OS, "reached the OS (the initramfs asked DHCP)"),
    "grub": (VERDICT_GRUB, "GRUB reached (its config asked DHCP)"),
    "wds": (VERDICT_WDS, "wdsnbp reached (its request from the leased address)"),
}
# Where Debian's netboot GRUB (grubnetx64.efi, prefix /grub) reads its
# config: tftp://<next server of the cached DHCPACK>/grub/grub.cfg.
GRUB_CONFIG = standins.GRUB_CONFIG
SHIM = clients.Program(kind="shim", label="shim", arch="any", values={}, order=((), ()),
                       source="shim: loads grub<arch>.efi from its directory by TFTP")

IPXE_SETTING_RE = re.compile(r"\$\{([^}]*)\}")
BUILDARCH = {"bios": "i386", "efi-x86": "i386", "efi-x64": "x86_64", "efi-arm64": "arm64"}
PLATFORM = {"bios": "pcbios"}


@dataclass
class Stage:
    """One program of the chain and what its DHCP and fetch came to."""
    program: object
    label: str = None           # class as dnsmasq's log says (ipxe(own) ...)
    via: str = "dhcp"           # dhcp, 4011 (boot server), proxy, proxy+4011
    exchanges: list = field(default_factory=list)   # "DISCOVER→OFFER(10.77.0.1)" ...
    xids: list = field(default_factory=list)
    file: str = None
    next_server: str = None
    fetch: str = None            # "tftp://10.77.0.1/undionly.kpxe"
    fetched: tuple = None        # (kind, arch) the file said it is
    address: str = None
    server: str = None           # the DHCP server that leased the address
    acked_next_server: str = None   # siaddr of the DHCPACK the firmware keeps
    answer: str = None           # server id of the reply whose boot settings it took
    source: str = None           # ...that server as the lab's topology names it
    address_source: str = None   # the leasing server's name, when another
    log: list = field(default_factory=list)
    tags: list = field(default_factory=list)
    family: str = "v4"           # what the stage asked: v4, v6, v4+v6 (boot6.py)
    file_family: str = None      # whose answer named the file (dual stack: v4 wins)
    address6: str = None         # the DHCPv6 lease

    def name(self):
        """The label for the chain line."""
        return self.label or self.program.label


@dataclass
class Chain:
    """A machine's whole boot chain and the lab's verdict on it."""
    machine: object
    stages: list = field(default_factory=list)
    verdict: str = None
    reason: str = ""
    guard_tripped: bool = False
    warnings: list = field(default_factory=list)
    hints: list = field(default_factory=list)
    seconds: float = 0.0

    @property
    def hops(self):
        """Chainloads that made a new DHCP stage."""
        return max(0, len(self.stages) - 1)


class DeadEnd(Exception):
    """A stage cannot go on; the message says why."""


def file_label(name):
    """How a boot file appears in a chain: the last element of its path
    (a URL's without the query), case kept."""
    if URL_RE.match(name):
        path = urllib.parse.urlsplit(name).path.rstrip("/")
        return path.rsplit("/", 1)[-1] or name
    return name.replace("\\", "/").rsplit("/", 1)[-1]


class Player:
    """Plays one Machine against the lab's servers.

    client        a dhcp.DhcpClient in the machine's namespace
    own_build     fn(arch, machine) -> Program: what a fetched iPXE binary runs
    expect_proxy  wait a moment for proxyDHCP offers (the config has a proxy)
    resolve_host  fn(host) -> IPv4 the lab serves a URL host at
    """

    def __init__(self, machine, client, own_build, expect_proxy, resolve_host):
        self.machine = machine
        self.client = client
        self.own_build = own_build
        self.expect_proxy = expect_proxy
        self.resolve_host = resolve_host

    # ------------------------------------------------------------ the chain
    def run(self):
        """Play the chain to its end; returns a Chain."""
        started = time.monotonic()
        chain = Chain(self.machine)
        program = self.first_program()
        while True:
            stage = Stage(program)
            chain.stages.append(stage)
            try:
                program = self._play_stage(stage, chain)
            except DeadEnd as end:
                chain.verdict, chain.reason = VERDICT_DEAD, str(end)
            if chain.verdict:
                break
        chain.seconds = time.monotonic() - started
        return chain

    def first_program(self):
        """What the machine's firmware runs (boot6.Player6: both families)."""
        return self.machine.firmware

    def _play_stage(self, stage, chain):
        """DHCP, fetch and judge one stage; the next Program, or None with
        the chain's verdict set."""
        program = stage.program
        if program.kind in LAST_STAGES:
            if program.kind == "grub":
                self.grub_config(stage, chain.stages[-2])
            self.last_dhcp(stage, chain.stages[-2])
            chain.verdict, chain.reason = LAST_STAGES[program.kind]
            return None
        if program.kind == "shim":
            before = chain.stages[-2]
            stage.file = standins.shim_loads(before.file, self.machine.arch)
            stage.next_server, stage.address = before.next_server, before.address
            stage.acked_next_server, stage.server = before.acked_next_server, before.server
            stage.via = "tftp"
        else:
            stage.file, stage.next_server = self.boot_dhcp(stage)
        data = self.fetch(stage)
        kind, arch = stage.fetched = standins.read(data)
        if kind == "script":
            if not program.runs_scripts():
                raise DeadEnd(f"{_firmware_name(program)} cannot run an iPXE script "
                              f"({file_label(stage.file)})")
            chain.verdict, chain.reason = VERDICT_SCRIPT, "script reached"
            return None
        if arch not in ("any", self.machine.arch):
            raise DeadEnd(f"wrong architecture: {file_label(stage.file)} is "
                          f"{_a(standins.StandIn(kind, arch, '').title())}, the client is "
                          f"{standins.ARCH_TITLES[self.machine.arch]}")
        if kind == "kernel" and not program.runs_scripts():
            raise DeadEnd(f"{_firmware_name(program)} cannot boot a Linux kernel "
                          f"({file_label(stage.file)})")
        if kind == "shim":
            return SHIM
        if kind in ASKS_DHCP:
            return clients.program(ASKS_DHCP[kind])
        if kind != "ipxe":
            chain.verdict, chain.reason = VERDICT_NBP, f"NBP reached ({file_label(stage.file)})"
            return None
        if chain.hops >= HOP_LIMIT:
            chain.verdict = VERDICT_LOOP
            chain.reason = f"LOOP: still chainloading after {HOP_LIMIT} hops"
            return None
        return self.own_build(self.machine.arch, self.machine)

    # ------------------------------------------------------------ DHCP
    def boot_dhcp(self, stage):
        """The DHCP part of a stage: (boot file, next server)."""
        program = stage.program
        offer, proxy_offer = self.discover(stage)
        ack = self.request(stage, offer)
        stage.address, stage.server = ack.yiaddr, offer.server_id
        stage.acked_next_server = ack.siaddr
        self._configure(ack)
        settings = self._first_settings(stage, offer, ack, proxy_offer)
        settings = self._menu_boot(stage, settings, ack.yiaddr)
        stage.answer = settings.server_id or settings.src_ip
        if program.kind == "http":
            self._check_http_offer(settings)
        name = settings.boot_file
        if not name:
            raise DeadEnd(_no_file_reason(stage, settings, proxy_offer))
        server = settings.siaddr if settings.siaddr != "0.0.0.0" else settings.server_id
        return name, server

    def grub_config(self, stage, before):
        """GRUB's config, read by TFTP from the next server of the DHCPACK
        the firmware cached (BEFORE's), never from a proxy offer: Debian's
        GRUB 2.06 as boots m and o saw it.  A DeadEnd when it is not there:
        GRUB then stops at its prompt and sends no DHCP."""
        server = before.acked_next_server
        if not server or server == "0.0.0.0":
            raise DeadEnd("GRUB reads its config from the next server of the DHCPACK the "
                          "firmware kept, and that ACK names none (next-server 0.0.0.0): "
                          "GRUB stops at its prompt without asking DHCP")
        stage.fetch = f"tftp://{server}/{GRUB_CONFIG}"
        try:
            data = tftp_fetch(self.client.node.ns, server, GRUB_CONFIG, timeout=1.0,
                              retries=2).data
        except (OSError, TftpError) as exc:
            why = "not found" if getattr(exc, "code", None) == 1 else _reason(exc)
            raise DeadEnd(_grub_config_missing(server, before, why))
        if standins.read(data)[0] != "grub-cfg":
            raise DeadEnd(f"GRUB's config {stage.fetch} is not the lab's stand-in for one")

    def last_dhcp(self, stage, before):
        """The DHCP of a program that ends the chain: an address (DISCOVER,
        REQUEST), or for wdsnbp one REQUEST from the address the stage
        BEFORE leased, to the server that leased it."""
        if stage.program.kind != "wds":
            stage.address = self.request(stage, self.discover(stage)[0]).yiaddr
            return
        xid = dhcp.new_xid()
        stage.xids.append(xid)
        stage.address = before.address
        packet = stage.program.packet(dhcp.REQUEST, xid, self.machine.mac, ciaddr=before.address)
        answered = (dhcp.ACK, dhcp.NAK)
        for _ in range(2):
            self.client.send(packet, dst_ip=before.server, src_ip=before.address)
            replies = self.client.receive(xid, timeout=REPLY_TIMEOUT, until=lambda rs: any(
                r.msg_type in answered for r in rs))
            answers = [r for r in replies if r.msg_type in answered]
            if answers:
                stage.exchanges.append(f"REQUEST(ciaddr {before.address})"
                                       f"→{_describe(answers[0])}")
                if answers[0].msg_type == dhcp.NAK:
                    raise DeadEnd(f"DHCPNAK to wdsnbp's request from {before.server}")
                return
        raise DeadEnd(f"no answer to wdsnbp's request from {before.server}")

    def discover(self, stage):
        """DISCOVER (retransmitted) until an address offer has come and a
        proxy offer too, or the grace for one has passed: (offer, proxy offer)."""
        program, xid = stage.program, dhcp.new_xid()
        stage.xids.append(xid)
        packet = program.packet(dhcp.DISCOVER, xid, self.machine.mac)
        offers, deadline = [], time.monotonic() + DISCOVER_TIMEOUT
        next_send, address_seen = 0.0, None
        while True:
            now = time.monotonic()
            if now >= next_send:
                self.client.send(packet)
                next_send = now + RETRANSMIT
            if _address_offer(offers, program) and address_seen is None:
                address_seen = now
            if address_seen is not None and (
                    _proxy_offer(offers) or not self.expect_proxy
                    or now - address_seen >= PROXY_GRACE):
                break
            if now >= deadline:
                break
            until = min(next_send, deadline,
                        address_seen + PROXY_GRACE if address_seen else deadline)
            for reply in self.client.receive(xid, timeout=max(0.01, until - now)):
                if reply.msg_type == dhcp.OFFER and not _seen(offers, reply):
                    offers.append(reply)
        address, proxy = _address_offer(offers, program), _proxy_offer(offers)
        stage.exchanges += [f"DISCOVER→{_describe(o)}" for o in offers]
        if not offers:
            raise DeadEnd("no reply: no DHCP offer")
        if not address:
            raise DeadEnd("no address offer (only a proxyDHCP answered)" if proxy
                          else "no usable offer")
        return address, proxy if program.handles_proxy() else None

    def request(self, stage, offer):
        """REQUEST the offered address from its server; the ACK."""
        program, xid = stage.program, stage.xids[-1]
        extra = {dhcp.OPT_SERVER_ID: dhcp.ip_bytes(offer.server_id),
                 dhcp.OPT_REQUESTED_IP: dhcp.ip_bytes(offer.yiaddr)}
        packet = program.packet(dhcp.REQUEST, xid, self.machine.mac, extra=extra)
        for _ in range(2):
            self.client.send(packet)
            replies = self.client.receive(xid, timeout=REPLY_TIMEOUT, until=lambda rs: any(
                r.msg_type in (dhcp.ACK, dhcp.NAK) and r.server_id == offer.server_id
                for r in rs))
            answers = [r for r in replies if r.msg_type in (dhcp.ACK, dhcp.NAK)
                       and r.server_id == offer.server_id]
            if answers:
                stage.exchanges.append(f"REQUEST→{_describe(answers[0])}")
                if answers[0].msg_type == dhcp.NAK:
                    raise DeadEnd(f"DHCPNAK from {offer.server_id}")
                return answers[0]
        raise DeadEnd(f"no ACK from {offer.server_id}")

    def _configure(self, ack):
        """Put the leased address on the client; route via the server."""
        node = self.client.node
        node.set_ip(ack.yiaddr, ack.subnet_prefix)
        router = ack.opt_ip(dhcp.OPT_ROUTER) or ack.server_id
        if router:
            node.ns.ip("route", "replace", "default", "via", router, check=False)

    def _first_settings(self, stage, offer, ack, proxy_offer):
        """The reply whose boot settings apply: the ACK (else the offer), or
        with a proxyDHCP offer that offer, or when it carries no PXE boot
        information the answer of a request to the proxy's port 4011
        (iPXE's ProxyDHCPREQUEST, EDK2's BINL request)."""
        settings = ack if (ack.boot_file or ack.pxe) else offer
        if proxy_offer is None:
            return settings
        stage.via = "proxy"
        if _has_pxe_options(proxy_offer):
            return proxy_offer
        stage.via = "proxy+4011"
        return self.request_4011(stage, proxy_offer, ack.yiaddr, boot_item=None)

    def _menu_boot(self, stage, settings, ciaddr):
        """With a PXE boot menu (and no 'skip discovery' plus file), ask the
        boot server for the menu's first (default) item on port 4011."""
        pxe = settings.pxe
        if stage.program.kind == "http" or not pxe or not pxe.menu:
            return settings
        if pxe.discovery_control and pxe.discovery_control & 8 and settings.boot_file:
            return settings
        item, text = pxe.menu[0]
        if item == 0:
            raise DeadEnd(f"the PXE menu's first entry ('{text}') boots from local disk")
        stage.via = "proxy+4011" if stage.via.startswith("proxy") else "4011"
        return self.request_4011(stage, settings, ciaddr, boot_item=item)

    def request_4011(self, stage, settings, ciaddr, boot_item):
        """A REQUEST to port 4011: for a boot item (43.71) to the boot server
        the menu lists for it, or without one to the proxy itself.

        xids: iPXE's ProxyDHCPREQUEST keeps its DHCP session's xid; its
        boot-server request goes out with xid 0 (f2a capture) and firmware
        picks a new one: the lab uses a fresh xid for both, which the chain
        tracker treats the same (any xid but the stage's), and which keeps
        dnsmasq's log lines of parallel clients apart."""
        program = stage.program
        xid = dhcp.new_xid() if boot_item is not None or program.kind == "pxe" \
            else stage.xids[0]
        stage.xids.append(xid)
        extra = {}
        server = settings.server_id or settings.siaddr
        if boot_item is not None:
            extra[dhcp.OPT_VENDOR] = dhcp.pxe_boot_item(boot_item, 0)
            server = _boot_server(settings.pxe, boot_item) or server
        else:
            extra[dhcp.OPT_SERVER_ID] = dhcp.ip_bytes(server)
        if program.short_class_4011:
            extra[dhcp.OPT_VENDOR_CLASS] = b"PXEClient"
        packet = program.packet(dhcp.REQUEST, xid, self.machine.mac, extra=extra,
                                ciaddr=ciaddr, flags=dhcp.BROADCAST_FLAG)
        what = f"4011 item {boot_item:#06x}" if boot_item is not None else "4011 proxy REQUEST"
        for _ in range(2):
            self.client.send(packet, dst_ip=server, dst_port=dhcp.PXE_PORT, src_ip=ciaddr)
            replies = [r for r in self.client.receive(xid, timeout=REPLY_TIMEOUT, until=lambda rs: any(
                r.src_port == dhcp.PXE_PORT for r in rs)) if r.src_port == dhcp.PXE_PORT]
            if replies:
                stage.exchanges.append(f"{what}→{_describe(replies[0])}")
                return replies[0]
        stage.exchanges.append(f"{what}→no reply")
        raise DeadEnd(f"no reply from boot server {server}:4011"
                      + (f" for menu item {boot_item:#06x}" if boot_item is not None else ""))

    def _check_http_offer(self, settings):
        """EDK2 HTTP Boot takes only an offer that echoes vendor class
        HTTPClient and carries a URL."""
        echoed = (settings.vendor_class or "").startswith("HTTPClient")
        url = bool(URL_RE.match(settings.boot_file or ""))
        if not echoed and not settings.boot_file:
            raise DeadEnd("UEFI HTTP Boot got an address only: no URL, and vendor class "
                          "HTTPClient (option 60) not echoed")
        if not echoed:
            raise DeadEnd("UEFI HTTP Boot ignores the offer: it does not echo vendor class "
                          "HTTPClient (option 60)")
        if settings.boot_file and not url:
            raise DeadEnd(f"UEFI HTTP Boot needs a URL, was offered '{settings.boot_file}'")

    # ------------------------------------------------------------ fetching
    def fetch(self, stage):
        """Load the stage's boot file the way its program can; its bytes."""
        program, name = stage.program, stage.file
        if program.runs_scripts():
            name = self.expand(name, stage)
        scheme = urllib.parse.urlsplit(name).scheme.lower() if URL_RE.match(name) else "tftp"
        if not program.can_fetch(scheme):
            raise DeadEnd(_cannot_fetch(program, scheme, name))
        try:
            if scheme in ("http", "https"):
                return self._http(stage, name, scheme)
            if scheme == "tftp":
                return self._tftp(stage, name)
        except DeadEnd:
            raise
        except (OSError, TftpError, ValueError) as exc:
            raise DeadEnd(f"fetch failed: {stage.fetch}: {_reason(exc)}")
        raise DeadEnd(f"fetch failed: no way to fetch {scheme}:// URLs in the lab")

    def _tftp(self, stage, name):
        """TFTP from the next server (or a tftp:// URL's host)."""
        server, path = stage.next_server, name
        if URL_RE.match(name):
            parts = urllib.parse.urlsplit(name)
            server, path = self.resolve_host(parts.hostname), parts.path
        stage.fetch = f"tftp://{_host(server)}/{path.lstrip('/')}"
        if not server or server == "0.0.0.0":
            raise DeadEnd(f"fetch failed: no TFTP server for {path} (next-server 0.0.0.0)")
        return tftp_fetch(self.client.node.ns, server, path, timeout=1.0, retries=2).data

    def _http(self, stage, name, scheme):
        """HTTP GET from the lab's server at the URL's host (https is
        fetched as http: the lab plays the TLS part)."""
        parts = urllib.parse.urlsplit(name)
        address = self.resolve_host(parts.hostname)
        port = f":{parts.port}" if parts.port else ""
        url = f"http://{_host(address)}{port}{parts.path or '/'}" + (
            f"?{parts.query}" if parts.query else "")
        stage.fetch = name
        response = http_get(self.client.node.ns, url, timeout=FETCH_TIMEOUT,
                            headers={"Host": parts.netloc})
        if response.status != 200:
            raise DeadEnd(f"fetch failed: {name}: HTTP {response.status}")
        return response.body

    def expand(self, name, stage):
        """iPXE expands ${settings} in the boot file name; the lab knows the
        common ones (mac, uuid, ip, buildarch, platform), others are empty."""
        return expand_settings(name, self.machine, stage.address or self.client.node.ip)


def expand_settings(name, machine, ip=None):
    """`name` with iPXE ${setting[:type]} references replaced for `machine`."""
    mac = machine.mac
    values = {"mac": mac, "mac:hex": mac, "mac:hexhyp": mac.replace(":", "-"),
              "mac:hexraw": mac.replace(":", ""), "uuid": machine.uuid, "uuid:uuid": machine.uuid,
              "ip": ip or "", "buildarch": BUILDARCH.get(machine.arch, ""),
              "platform": PLATFORM.get(machine.arch, "efi")}

    def value(match):
        key = match.group(1).split("/", 1)[-1] if "/" in match.group(1) else match.group(1)
        return values.get(key, values.get(key.split(":", 1)[0], ""))
    return IPXE_SETTING_RE.sub(value, name)


# ------------------------------------------------------------------ helpers
def _host(address):
    """An address as a URL host: an IPv6 literal in brackets."""
    return f"[{address}]" if address and ":" in address else address


def _address_offer(offers, program):
    """The offer a program takes: the first with an address (HTTP Boot
    prefers one that echoes HTTPClient and has a URL, as EDK2 ranks them)."""
    candidates = [o for o in offers if o.yiaddr != "0.0.0.0"]
    if program.kind == "http":
        preferred = [o for o in candidates if (o.vendor_class or "").startswith("HTTPClient")
                     and URL_RE.match(o.boot_file or "")]
        if preferred:
            return preferred[0]
    return candidates[0] if candidates else None


def _proxy_offer(offers):
    """A proxyDHCP offer: vendor class PXEClient and no address."""
    return next((o for o in offers if o.is_proxy_offer), None)


def _seen(offers, reply):
    """True if this server already offered (retransmission answers)."""
    return any(o.server_id == reply.server_id and o.yiaddr == reply.yiaddr for o in offers)


def _has_pxe_options(message):
    """iPXE's dhcp_has_pxeopts(): next-server and file, or a PXE menu."""
    pxe = message.pxe
    return bool(message.siaddr != "0.0.0.0" and message.boot_file) or bool(pxe and pxe.menu)


def _boot_server(pxe, item):
    """The first server sub-option 8 lists for boot item `item`."""
    for kind, ips in (pxe.boot_servers if pxe else []):
        if kind == item and ips:
            return ips[0]
    return None


def _describe(reply):
    """'OFFER(10.77.0.1 file=undionly.kpxe)' for a reply."""
    bits = [reply.server_id or reply.src_ip or "?"]
    if reply.yiaddr != "0.0.0.0":
        bits.append(f"ip={reply.yiaddr}")
    if reply.boot_file:
        bits.append(f"file={reply.boot_file}")
    if reply.pxe and reply.pxe.menu:
        bits.append("menu=" + "|".join(f"{k:#06x}:{t}" for k, t in reply.pxe.menu))
    name = reply.msg_name + ("(proxy)" if reply.is_proxy_offer else "")
    return f"{name}({' '.join(bits)})"


def _firmware_name(program):
    """How a report names a program's kind."""
    return {"pxe": "PXE firmware", "http": "UEFI HTTP Boot"}.get(program.kind, program.label)


def _no_file_reason(stage, settings, proxy_offer):
    """Why a stage has no boot file."""
    if stage.program.kind == "http":
        return "no boot file: the offer has no URL for UEFI HTTP Boot"
    if proxy_offer is not None:
        return "no boot file: the proxy's answer names none (no pxe-service or dhcp-boot " \
               "matched this client)"
    return "no boot file: an address, but no dhcp-boot or pxe-service matched this client"


def _grub_config_missing(server, before, why):
    """Why GRUB found no config at SERVER, the next server of the ACK
    BEFORE's firmware kept: under a proxyDHCP the site's server."""
    if server != before.next_server:
        site = "the site's DHCP server" if server == before.server else "the ACK's next server"
        return (f"GRUB reads its config from {site} ({server}, next server of the DHCPACK "
                f"the firmware kept), not from the boot server that sent it "
                f"({before.next_server}): tftp://{server}/{GRUB_CONFIG}: {why}; GRUB stops "
                f"at its prompt and never asks DHCP (the fix is on the site's server: "
                f"next-server {before.next_server}, examples/03b-proxy-shim-grub.conf)")
    return (f"GRUB reads its config from {server} (next server of the DHCPACK the firmware "
            f"kept): tftp://{server}/{GRUB_CONFIG}: {why}; GRUB stops at its prompt and "
            f"never asks DHCP")


def _cannot_fetch(program, scheme, name):
    """Why `program` cannot load `name`."""
    if program.kind == "pxe":
        return f"fetch failed: PXE firmware loads by TFTP only, was given {name}"
    if program.kind == "http":
        return f"fetch failed: UEFI HTTP Boot loads URLs only, was given {name}"
    feature = {"http": "HTTP", "https": "HTTPS"}.get(scheme)
    if feature:
        return (f"fetch failed: this {program.label} build has no {feature} "
                f"(not in its option 175 features), was given {name}")
    return f"fetch failed: {program.label} cannot fetch {scheme}:// ({name})"


def _a(noun):
    """`noun` with its indefinite article."""
    return ("an " if noun[:1].lower() in "aeiox" else "a ") + noun


def _reason(exc):
    """A short text for a fetch exception."""
    if isinstance(exc, socket.timeout):
        return "timed out"
    return str(exc) or exc.__class__.__name__
