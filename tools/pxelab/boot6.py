"""Play one lab client through its boot chain over IPv6 (and dual stack).

A Player6 is a boot.Player whose stages ask DHCPv6 (SOLICIT, ADVERTISE,
REQUEST, REPLY), and DHCPv4 at the same moment when the program asks both
(iPXE: its DISCOVER and SOLICIT leave together; the DHCPv4 file wins when
both answers name one, as iPXE's settings order makes it, dhcpv6.md §5).
Fetching (TFTP and HTTP over IPv6, or IPv4 for a v4 file) and becoming
what was fetched are boot.Player's: one chain, one set of verdicts.

The client side follows the firmware (dhcpv6.md §2-3 and the g* captures),
never a peek at the config:
  EDK2 PXEv6    takes an ADVERTISE with an address; one whose vendor class
                says PXEClient (enterprise 343) is a BINL offer, and EDK2
                then asks UDP port 4011, which dnsmasq does not serve; boots
                tftp:// URLs only; reads option 60 as a size in 512-byte
                blocks (anything else aborts the boot)
  EDK2 HTTPv6   takes only an ADVERTISE whose option 16 says HTTPClient at
                bytes 6-15 (the enterprise is not checked) with a URL; no
                echo, no REQUEST (capture g2b)
  iPXE          does DHCPv6 only after a router advertisement with the M
                (or O) flag; takes the first ADVERTISE; needs an absolute
                URI (DHCPv6 has no next-server)
What the lab leaves out: EDK2's wait for a better ADVERTISE (preference
below 255: about 4 s), its Ip6Config exchange and its RELEASEs, iPXE's
stateless INFORMATION-REQUEST (an RA with O but not M), relays.
"""

import re
import threading
import time
from dataclasses import dataclass

from . import boot, dhcp6
from .boot import DeadEnd, Stage
from .labconf import URL_RE

SOLICIT_TIMEOUT = 3.0         # seconds a stage waits for an ADVERTISE
RETRANSMIT = 1.0
REPLY_TIMEOUT = 2.0
RA_TIMEOUT = 2.0
BLOCKS_RE = re.compile(r"^[0-9]{1,5}$")


@dataclass(frozen=True)
class DualProgram:
    """A stage's program in a chain that speaks IPv6: its DHCPv4 side (a
    clients.Program, or None: not asked) and its DHCPv6 side (a
    dhcp6.Program6, or None)."""
    v4: object
    v6: object

    @property
    def main(self):
        """The side that names the program (DHCPv6's when there is one)."""
        return self.v6 or self.v4

    @property
    def kind(self):
        return self.main.kind

    @property
    def label(self):
        return self.main.label

    @property
    def arch(self):
        return self.main.arch

    @property
    def source(self):
        return self.main.source

    @property
    def family(self):
        """'v4', 'v6' or 'v4+v6'."""
        return "+".join(f for f, p in (("v4", self.v4), ("v6", self.v6)) if p)

    def can_fetch(self, scheme):
        """As the DHCPv4 side says (it knows iPXE's features), else the v6 side."""
        return (self.v4 or self.v6).can_fetch(scheme)

    def runs_scripts(self):
        return self.kind in ("ipxe", "gpxe")

    def handles_proxy(self):
        return bool(self.v4) and self.v4.handles_proxy()


class Player6(boot.Player):
    """boot.Player for a machine that asks DHCPv6 (and maybe DHCPv4 too).

    client6    a dhcp6.Dhcp6Client in the machine's namespace
    play_v4    ask DHCPv4 too where the program does (False when the config
               has no DHCPv4 range: the answer iPXE waits for never comes)
    server6    the lab server's IPv6 address (URL host names resolve to it)
    own_build  fn(arch, machine) -> DualProgram: what a fetched iPXE runs
    """

    def __init__(self, machine, client, client6, own_build, expect_proxy, resolve_host,
                 play_v4, server6):
        super().__init__(machine, client, own_build, expect_proxy, resolve_host)
        self.client6 = client6
        self.play_v4 = play_v4
        self.server6 = server6
        self.resolve_host = self._resolve
        self._resolve_v4 = resolve_host
        self._v6_file = False

    def first_program(self):
        """The firmware's DHCPv6 program, with its DHCPv4 one if it asks both."""
        v4 = self.machine.firmware if self.play_v4 else None
        return DualProgram(v4, self.machine.firmware6)

    def _resolve(self, host):
        """An IP literal as it is; a name at the lab's server of the family
        the file came from."""
        if host and ":" in host:
            return host
        if self._v6_file and not (host and re.match(r"^[0-9.]+$", host)):
            return self.server6
        return self._resolve_v4(host)

    # ------------------------------------------------------------ DHCP
    def boot_dhcp(self, stage):
        """Both families at once where the program asks both; (file, server)
        with the DHCPv4 file first."""
        program = stage.program
        if not isinstance(program, DualProgram):
            self._v6_file = False
            return super().boot_dhcp(stage)
        stage.family = program.family
        if program.v6 is None:
            sub = Stage(program.v4)
            result = self._v4(sub)
            self._merge(stage, sub)
            if isinstance(result, DeadEnd):
                raise result
            stage.file_family, self._v6_file = "v4", False
            return result
        outcome = {}
        sub = Stage(program.v4) if program.v4 else None
        thread = None
        if sub is not None:
            thread = threading.Thread(target=lambda: outcome.update(v4=self._v4(sub)))
            thread.start()
        try:
            outcome["v6"] = self.dhcp6(stage, program.v6)
        except DeadEnd as end:
            outcome["v6"] = end
        if thread:
            thread.join()
            self._merge(stage, sub)
        return self._choose(stage, outcome)

    def _v4(self, sub):
        """boot.Player's DHCPv4 part for the sub-stage: (file, server) or the DeadEnd."""
        try:
            return boot.Player.boot_dhcp(self, sub)
        except DeadEnd as end:
            return end

    @staticmethod
    def _merge(stage, sub):
        """The DHCPv4 sub-stage's record in the stage."""
        stage.xids[:0] = sub.xids
        stage.exchanges[:0] = sub.exchanges
        stage.address, stage.server, stage.via = sub.address, sub.server, sub.via

    def _choose(self, stage, outcome):
        """iPXE's rule: the DHCPv4 file if there is one, else DHCPv6's URL."""
        v4, v6 = outcome.get("v4"), outcome["v6"]
        if v4 is not None and not isinstance(v4, DeadEnd):
            stage.file_family, self._v6_file = "v4", False
            return v4
        if not isinstance(v6, DeadEnd):
            stage.file_family, self._v6_file = "v6", True
            return v6, None
        if v4 is None:
            raise v6
        raise DeadEnd(f"DHCPv4: {v4}; DHCPv6: {v6}")

    def dhcp6(self, stage, program):
        """SOLICIT/ADVERTISE/REQUEST/REPLY for PROGRAM; the boot URL (option
        59) the program takes, the lease put on the client."""
        if program.kind == "ipxe":
            self._router_advertisement()
        xids = dhcp6.XidSource(program.xid)
        iaid = program.iaid_for(self.machine.mac)
        wire = xids.next(session_start=True)
        xid = int.from_bytes(wire, "big")
        stage.xids.append(xid)
        solicit = program.message(dhcp6.SOLICIT, wire, self.machine, iaid)
        advertises = self._solicit(solicit, xid)
        advertise = self._take(program, advertises)
        stage.exchanges.append(f"SOLICIT→{_describe(advertise)}")
        wire = xids.next()
        xid = int.from_bytes(wire, "big")
        if xid not in stage.xids:
            stage.xids.append(xid)
        request = program.message(dhcp6.REQUEST, wire, self.machine, iaid,
                                  server_id=advertise.option(dhcp6.OPT_SERVERID),
                                  advertised=advertise.ia_na)
        reply = self._request(request, xid)
        stage.exchanges.append(f"REQUEST→{_describe(reply)}")
        leased = reply.leased_address()
        if leased is None:
            raise DeadEnd(f"DHCPv6 REPLY without an address ({_status(reply)})")
        stage.address6 = leased
        dhcp6.set_address(self.client6.node, leased)
        url = reply.bootfile_url if reply.bootfile_url is not None else advertise.bootfile_url
        return _check_url(program, url, reply)

    def _router_advertisement(self):
        """iPXE asks DHCPv6 only after an RA with the M or O flag."""
        flags = dhcp6.router_flags(self.client6.node, timeout=RA_TIMEOUT)
        if flags is None:
            raise DeadEnd("iPXE does no DHCPv6: no router advertisement (the config needs "
                          "enable-ra)")
        managed, other = flags
        if not managed and not other:
            raise DeadEnd("iPXE does no DHCPv6: the router advertisement has neither the "
                          "M nor the O flag")
        if not managed:
            raise DeadEnd("the router advertisement has O but not M: iPXE would send an "
                          "INFORMATION-REQUEST, which the lab does not play")

    def _solicit(self, packet, xid):
        """SOLICIT (retransmitted) until an ADVERTISE comes or the time is up."""
        deadline, got = time.monotonic() + SOLICIT_TIMEOUT, []
        while not got and time.monotonic() < deadline:
            self.client6.send(packet)
            wait = min(RETRANSMIT, deadline - time.monotonic())
            got = [m for m in self.client6.receive(xid, wait, until=_has(dhcp6.ADVERTISE))
                   if m.msg_type == dhcp6.ADVERTISE]
        if not got:
            raise DeadEnd("no reply: no DHCPv6 ADVERTISE (is there a DHCPv6 dhcp-range?)")
        return got

    def _request(self, packet, xid):
        """REQUEST (twice at most); the REPLY."""
        for _ in range(2):
            self.client6.send(packet)
            replies = [m for m in self.client6.receive(xid, REPLY_TIMEOUT,
                                                       until=_has(dhcp6.REPLY))
                       if m.msg_type == dhcp6.REPLY]
            if replies:
                return replies[0]
        raise DeadEnd("no DHCPv6 REPLY to the REQUEST")

    @staticmethod
    def _take(program, advertises):
        """The ADVERTISE the program takes (its firmware's rules), or DeadEnd."""
        with_address = [a for a in advertises if a.leased_address()]
        if not with_address:
            raise DeadEnd(f"no DHCPv6 address: the ADVERTISE says {_status(advertises[0])}")
        if program.kind == "http":
            echoing = [a for a in with_address if _says(a, "HTTPClient", any_enterprise=True)]
            if not echoing:
                raise DeadEnd("UEFI HTTP Boot ignores the ADVERTISE: vendor class HTTPClient "
                              "(option 16) not echoed, so no REQUEST follows")
            with_url = [a for a in echoing if a.bootfile_url]
            if not with_url:
                raise DeadEnd("UEFI HTTP Boot: the ADVERTISE echoes HTTPClient but has no "
                              "bootfile-url (option 59)")
            return with_url[0]
        advertise = with_address[0]
        if program.kind == "pxe" and _says(advertise, "PXEClient", any_enterprise=False):
            raise DeadEnd("EDK2 PXEv6 takes the ADVERTISE for a BINL offer (vendor class "
                          "PXEClient, enterprise 343) and asks UDP port 4011, which dnsmasq "
                          "does not serve")
        return advertise


# ------------------------------------------------------------------ helpers
def _has(msg_type):
    """An `until` for Dhcp6Client.receive: a message of MSG_TYPE came."""
    return lambda messages: any(m.msg_type == msg_type for m in messages)


def _says(message, text, any_enterprise):
    """True if option 16 carries TEXT at bytes 6.. of its data (EDK2's
    check: HTTP Boot ignores the enterprise, PXE wants 343)."""
    data = message.option(dhcp6.OPT_VENDOR_CLASS)
    if data is None or len(data) < 6 + len(text):
        return False
    if not any_enterprise and int.from_bytes(data[:4], "big") != dhcp6.ENTERPRISE_PXE:
        return False
    return data[6:6 + len(text)] == text.encode()


def _check_url(program, url, reply):
    """The URL if the program can boot it, else DeadEnd (why)."""
    if not url:
        return _no_url(program)
    if program.kind == "pxe":
        if not url.startswith("tftp://"):
            raise DeadEnd(f"EDK2 PXEv6 boots tftp:// URLs only, was given {url}")
        params = reply.bootfile_param
        if params and not BLOCKS_RE.match(params[0]):
            raise DeadEnd(f"EDK2 PXEv6 reads bootfile-param (option 60) as the file's size "
                          f"in 512-byte blocks and aborts on '{params[0]}'")
    elif program.kind == "http" and not re.match(r"^https?://", url, re.I):
        raise DeadEnd(f"UEFI HTTP Boot needs an http(s) URL, was given {url}")
    elif program.kind == "ipxe" and not URL_RE.match(url):
        raise DeadEnd(f"iPXE needs an absolute URI over DHCPv6 (there is no next-server), "
                      f"was given '{url}': Nothing to boot")
    return url


def _no_url(program):
    """DeadEnd for a REPLY without option 59."""
    raise DeadEnd("no boot file: the DHCPv6 REPLY has no bootfile-url (option 59) for "
                  f"this client{' (iPXE: Nothing to boot)' if program.kind == 'ipxe' else ''}")


def _status(message):
    """'NoAddrsAvail' ... for a message's top-level or IA status."""
    ia = message.ia_na
    code = message.status if message.status is not None else (ia.status if ia else None)
    return dhcp6.STATUS_NAMES.get(code, f"status {code}") if code is not None else "no IA_NA"


def _describe(message):
    """'ADVERTISE(ip=fd77::1a5 url=tftp://[fd77::1]/ipxe.efi echo=HTTPClient)'."""
    bits = []
    leased = message.leased_address()
    if leased:
        bits.append(f"ip={leased}")
    if message.bootfile_url:
        bits.append(f"url={message.bootfile_url}")
    data = message.option(dhcp6.OPT_VENDOR_CLASS)
    if data is not None and len(data) > 6:
        bits.append("class16=" + data[6:].decode("latin-1"))
    if message.preference:
        bits.append(f"pref={message.preference}")
    return f"{message.msg_name}({' '.join(bits)})"
