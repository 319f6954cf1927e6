"""`pxeclass lab` over IPv6: what the lab adds for a config with DHCPv6.

The lab network gets IPv6 when the config has a DHCPv6 range: the server
bridge carries netns.SERVER_IPV6 (fd77::1/64; for a range outside fd77::/64
the first host of the range's /64), dnsmasq serves DHCPv6 (UDP 547 on
ff02::1:2) and TFTP on it, and the HTTP stand-in server listens on both
families.  The router advertisement is the config's own (`enable-ra`, and
the range's mode): the lab adds no line that changes a boot decision, so a
config without `enable-ra` shows iPXE doing no DHCPv6, as it would.

Client types: every sheet machine with a `program6` (EDK2 PXEv6, HTTPv6
x64 and ARM64, iPXE v6-only, iPXE dual stack).  By default the lab plays
the DHCPv4 client types when the config has a DHCPv4 range (or no range
at all, as before) and the DHCPv6 ones when it has a DHCPv6 range; so a
config with only IPv6 ranges runs the v6 clients.  `--client NAME` plays
any.  A v6 client's iPXE stages ask DHCPv4 too when the config has a
DHCPv4 range (without one, the DISCOVER iPXE sends is never answered and
the lab does not wait for it), except the v6-only iPXE's: an iPXE that
asks DHCPv6 only (`ifconf -c ipv6`, or a link without DHCPv4) goes on so.
(Were its chainloaded iPXE to ask DHCPv4 too, the lab's millisecond
chainload would put that DISCOVER within the tracker's JOIN_SECONDS of
the ROM's DHCPv6 stage, whose bytes it shares, and the tracker would take
it for the ROM's own DHCPv4 half: lib/tracker.c.)

The option-59 URLs of the config (`dhcp-option[-force]=…,option6:59,URL` or
`option6:bootfile-url`) are boot names like dhcp-boot's: stand-ins are
written for them, tftp:// ones into the TFTP root.
"""

import ipaddress

from . import boot6, clients, dhcp6, labconf
from .dhcp import DhcpClient
from .netns import SERVER_IPV6

# dhcp-range modes that start no stateful DHCPv6 (RA only, or stateless:
# iPXE would ask INFORMATION-REQUEST, which the lab does not play).
NOT_STATEFUL = {"ra-only", "ra-names", "ra-stateless", "ra-advrouter"}
BOOTFILE_URL = ("option6:59", "option6:bootfile-url")
DHCP6_PORT = 547


def ranges6(config):
    """(Line, first address or None for constructor:, modes) of each IPv6
    dhcp-range of the config."""
    found = []
    for line in config.lines_of("dhcp-range"):
        fields = [f for f in labconf.untagged(labconf.split_values(line.value)) if f]
        if not fields:
            continue
        constructor = fields[0].startswith("constructor:")
        if constructor:
            fields = fields[1:]
        start = labconf.ipv6(fields[0]) if fields else None
        if start is None:
            continue
        modes = {f.lower() for f in fields[1:] if not labconf.ipv6(f) and not f[:1].isdigit()}
        found.append((line, None if constructor else start, modes))
    return found


def learn(config):
    """What the lab needs of a config's IPv6 side: its DHCPv6 ranges
    (`config.dhcp6`: stateful ones), the server address on the bridge
    (`config.server6`), and the boot names of its option-59 lines."""
    stateful = [r for r in ranges6(config) if not r[2] & NOT_STATEFUL]
    config.dhcp6 = bool(stateful)
    config.stateless6 = [r[0] for r in ranges6(config) if r[2] & NOT_STATEFUL]
    config.server6 = SERVER_IPV6
    first = next((start for _, start, _ in stateful if start is not None), None)
    if first is not None and first not in ipaddress.IPv6Network(SERVER_IPV6, strict=False):
        net = ipaddress.IPv6Network(f"{first}/64", strict=False)
        config.server6 = f"{net.network_address + 1}/64"
    for line in config.lines_of("dhcp-option") + config.lines_of("dhcp-option-force"):
        url = bootfile_url(line.value)
        if url:
            config.boot_names.append(labconf.BootName(url, line))


def bootfile_url(value):
    """The URL of a dhcp-option value that sets option 59 (after its tags;
    dnsmasq takes the rest of the line as it is), else None."""
    fields = value.split(",")
    for index, field in enumerate(fields):
        word = field.strip().lower()
        if word.startswith(labconf.TAG_PREFIXES):
            continue
        return ",".join(fields[index + 1:]).strip() or None if word in BOOTFILE_URL else None
    return None


def server_ip6(config):
    """The lab server's IPv6 address, without the prefix."""
    return config.server6.split("/")[0]


def default_machines(every, config):
    """The client types played without --client (see the module doc)."""
    v6_only = config.dhcp6 and not config.has_range
    return [m for m in every
            if (m.firmware6 is None and not v6_only) or (m.firmware6 and config.dhcp6)]


def bridge_addresses(config):
    """Addresses the bridge gets for IPv6: the server's, and every other
    IPv6 literal the config's URLs name (/128)."""
    if not (config.dhcp6 or config.stateless6):
        return ()
    out = [config.server6]
    own = ipaddress.IPv6Address(server_ip6(config))
    for boot in config.boot_names:
        host = labconf.url_host(boot.name)
        address = labconf.ipv6(host) if host else None
        if address and address != own and f"{address}/128" not in out:
            out.append(f"{address}/128")
    return tuple(out)


def wait_ports(config):
    """UDP ports dnsmasq opens for DHCPv6."""
    return {DHCP6_PORT} if config.dhcp6 else set()


def http_address(config):
    """Where the stand-in HTTP server listens: both families with DHCPv6."""
    return "::" if config.dhcp6 else "0.0.0.0"


def notes(config):
    """Remarks on the config's IPv6 side."""
    out = []
    for line in config.stateless6:
        out.append(f"{line.path}:{line.number}: a stateless or RA-only IPv6 range: the lab "
                   "plays no DHCPv6 for it (EDK2 needs an address; iPXE would send an "
                   "INFORMATION-REQUEST)")
    if config.dhcp6 and not config.lines_of("enable-ra"):
        out.append("DHCPv6 without enable-ra: iPXE does no DHCPv6 without a router "
                   "advertisement (EDK2 asks anyway)")
    return out


def own_build(lab, arch, machine, play_v4):
    """The site's own iPXE for a v6 client: its DHCPv4 side from the lab
    (dhcp-ipxe-own) when DHCPv4 is asked, its DHCPv6 side Debian's iPXE
    with the identity's user class (the `user-class` setting changes both
    families; features and a version do not exist in DHCPv6)."""
    v4 = lab.own_build(arch, machine) if play_v4 else None
    program = dhcp6.ipxe6_build(arch)
    user_class = next((i["user_class"] for i in lab.config.identities
                       if i.get("user_class")), None)
    if user_class:
        program = dhcp6.with_user_class(program, user_class)
    return boot6.DualProgram(v4, program)


def play(lab, machine, node):
    """One v6 (or dual-stack) machine's chain."""
    play_v4 = lab.config.has_range and machine.firmware is not None
    own_v4 = lab.config.has_range and (machine.firmware is not None
                                       or machine.firmware6.kind != "ipxe")
    with DhcpClient(node, mac=machine.mac) as client, dhcp6.Dhcp6Client(node) as client6:
        player = boot6.Player6(machine, client, client6,
                               lambda arch, m: own_build(lab, arch, m, own_v4),
                               lab.config.proxy, lab.resolve_host, play_v4,
                               server_ip6(lab.config))
        return player.run()


def is_v6(machine):
    """True for a client type the lab plays with boot6."""
    return isinstance(machine, clients.Machine) and machine.firmware6 is not None


def family_suffix(stage):
    """'[v6]', '[v4+v6]' for a chain token; '' for a DHCPv4 stage."""
    return "" if stage.family == "v4" else f"[{stage.family}]"
