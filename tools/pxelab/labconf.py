"""Read a user's dnsmasq.conf for the lab: what to neutralise, what it hands out.

The lab runs the user's config as it is, except for the lines that say
where and as whom dnsmasq runs (interfaces, TFTP root, log and lease files,
user): those belong to the lab.  They are commented out *in place*, so every
line keeps its number and dnsmasq's "at line N of FILE" still points into
the user's file once the copy's path is swapped back.  Files pulled in with
conf-file= and conf-dir= are copied and neutralised the same way.

From dnsmasq's own lines the lab learns what it must stand in for: every
boot file name the config can hand out (dhcp-boot, pxe-service, option 67),
the addresses servers are expected at (URL hosts, next-server fields), the
subnet of the first IPv4 dhcp-range and whether dnsmasq is only a proxy.
The pxeclass lines are the library's to read: learn_pxeclass() takes what
`pxeclass config --json` says of them (the identities of the site's own
iPXE, the loop guard's tag), so the lab never re-parses their grammar.
"""

import fnmatch
import ipaddress
import os
import re
import urllib.parse
from dataclasses import dataclass, field

# Options whose value the lab decides; a user's line of these is commented
# out in the copy dnsmasq reads (reason in the comment left there).
LAB_OWNED = {
    "interface": "the lab's dnsmasq listens on its own bridge",
    "except-interface": "the lab's dnsmasq listens on its own bridge",
    "listen-address": "the lab's dnsmasq listens on its own bridge",
    "no-dhcp-interface": "the lab's dnsmasq listens on its own bridge",
    "bind-interfaces": "the lab binds its own interfaces",
    "bind-dynamic": "the lab binds its own interfaces",
    "port": "the lab runs no DNS (port=0)",
    "tftp-root": "the lab serves stand-in files from its own TFTP root",
    "enable-tftp": "the lab enables dnsmasq's TFTP on its bridge",
    "user": "the lab runs dnsmasq as root",
    "group": "the lab runs dnsmasq as root",
    "log-facility": "the lab reads dnsmasq's log from its own file",
    "log-async": "the lab reads dnsmasq's log as it is written",
    "dhcp-leasefile": "the lab keeps leases in its own directory",
    "dhcp-lease-file": "the lab keeps leases in its own directory",
    "leasefile-ro": "the lab keeps leases in its own directory",
    "pid-file": "the lab keeps the pid file in its own directory",
    "dhcp-script": "the lab runs no lease scripts",
    "dhcp-luascript": "the lab runs no lease scripts",
    "dhcp-scriptuser": "the lab runs no lease scripts",
    "keep-in-foreground": "the lab runs dnsmasq in the foreground itself",
    "no-daemon": "the lab runs dnsmasq in the foreground itself",
}

# Lines the lab appends after the user's (format fields filled by the lab).
LAB_LINES = (
    "# --- added by pxeclass lab ---",
    "interface={bridge}",
    "bind-interfaces",
    "port=0",
    "user=root",
    "group=root",
    "enable-tftp",
    "tftp-root={tftp_root}",
    "log-dhcp",
    "no-ping",
)

DEFAULT_SUBNET = ipaddress.IPv4Network("10.77.0.0/24")
TAG_PREFIXES = ("tag:", "net:", "set:")
URL_RE = re.compile(r"^[a-z][a-z0-9+.-]*://", re.I)


class ConfigError(RuntimeError):
    """The config cannot be read at all (a file is missing)."""


@dataclass
class Line:
    """One directive line of a config file: where it is and what it says."""
    path: str
    number: int
    key: str
    value: str
    text: str


@dataclass
class BootName:
    """A boot file name the config can hand out, and the line that does."""
    name: str               # as the client receives it (file or URL)
    line: Line
    server: str = None      # next-server / boot-server address, if the line names one


@dataclass
class LabConfig:
    """What the lab learnt from the config, and the neutralised copies."""
    path: str
    lines: list = field(default_factory=list)           # every directive Line
    copies: dict = field(default_factory=dict)          # copy path -> original path
    main_copy: str = None
    boot_names: list = field(default_factory=list)      # [BootName]
    subnet: ipaddress.IPv4Network = DEFAULT_SUBNET
    range_hosts: tuple = ()                              # (first, last) leased address
    proxy: bool = False
    has_range: bool = False
    identities: list = field(default_factory=list)      # [identity], see learn_pxeclass
    guard_tag: str = None                                # None: no dhcp-chain-guard
    pxeclass: list = field(default_factory=list)        # the library's directive list
    server_addresses: list = field(default_factory=list)  # IPv4 the clients expect servers at
    notes: list = field(default_factory=list)

    def lines_of(self, key):
        """The directive lines with option name `key`."""
        return [line for line in self.lines if line.key == key]

    def original_path(self, path):
        """The user's path for a copy the lab wrote (else `path`)."""
        return self.copies.get(path, path)


# ------------------------------------------------------------------ reading
def split_directive(text):
    """(key, value) of a config line; key without leading dashes; value '' if none."""
    key, _, value = text.partition("=")
    return key.strip().lstrip("-"), value.strip()


def strip_comment(text):
    """A line without its comment: dnsmasq starts comments at '#' outside quotes."""
    quoted = False
    for index, char in enumerate(text):
        if char == '"':
            quoted = not quoted
        elif char == "#" and not quoted and (index == 0 or text[index - 1].isspace()):
            return text[:index]
    return text


def split_values(value):
    """The comma-separated fields of a value, quotes kept together and removed."""
    fields, current, quoted = [], [], False
    for char in value:
        if char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            fields.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    fields.append("".join(current).strip())
    return fields


def untagged(fields):
    """Fields after the leading tag:/net:/set: ones."""
    index = 0
    while index < len(fields) and fields[index].startswith(TAG_PREFIXES):
        index += 1
    return fields[index:]


def load(path, workdir):
    """Read `path` (following conf-file/conf-dir), write neutralised copies into
    `workdir`, and return the LabConfig."""
    if not os.path.isfile(path):
        raise ConfigError(f"cannot read config file {path}")
    config = LabConfig(path=path)
    config.main_copy = _copy_file(config, path, workdir)
    _learn(config)
    return config


def _copy_file(config, path, workdir):
    """Copy one config file into workdir with lab-owned lines commented out
    (includes copied recursively); returns the copy's path.  Included paths
    are opened as dnsmasq opens them, relative to the working directory; a
    missing one keeps its line, so dnsmasq --test reports it."""
    with open(path, errors="replace") as f:
        source = f.read().splitlines()
    copy_path = os.path.join(workdir, f"conf{len(config.copies)}-{os.path.basename(path)}")
    config.copies[copy_path] = path
    out = []
    for number, raw in enumerate(source, 1):
        text = strip_comment(raw).strip()
        if not text:
            out.append(raw)
            continue
        key, value = split_directive(text)
        line = Line(path, number, key, value, raw.strip())
        if key in LAB_OWNED:
            config.lines.append(line)
            out.append(f"# pxeclass lab: {LAB_OWNED[key]}: {raw}")
        elif key == "conf-file" and value and os.path.isfile(value):
            out.append(f"conf-file={_copy_file(config, value, workdir)}")
        elif key == "conf-dir" and value and os.path.isdir(split_values(value)[0]):
            out.append(f"conf-file={_copy_dir(config, value, workdir)}")
        else:
            config.lines.append(line)
            out.append(raw)
    with open(copy_path, "w") as f:
        f.write("\n".join(out) + "\n")
    return copy_path


def _copy_dir(config, value, workdir):
    """conf-dir=<dir>[,<ext>...]: the matching files (dnsmasq's rules: names
    ending in a listed extension are skipped, *-patterns select; dot files and
    ~ files skipped), in name order, copied and joined by one include file."""
    fields = split_values(value)
    directory, filters = fields[0], fields[1:]
    wanted = [f for f in filters if f.startswith("*")]
    skipped = [f for f in filters if not f.startswith("*")]
    names = []
    if os.path.isdir(directory):
        names = sorted(n for n in os.listdir(directory)
                       if os.path.isfile(os.path.join(directory, n)) and not n.startswith(".")
                       and not n.endswith("~") and not (n.startswith("#") and n.endswith("#")))
    names = [n for n in names if not any(n.endswith(s) for s in skipped)]
    if wanted:
        names = [n for n in names if any(fnmatch.fnmatch(n, w) for w in wanted)]
    joined = os.path.join(workdir, f"confdir{len(config.copies)}.conf")
    with open(joined, "w") as f:
        for name in names:
            f.write(f"conf-file={_copy_file(config, os.path.join(directory, name), workdir)}\n")
    return joined


# ------------------------------------------------------------------ learning
def _learn(config):
    """Fill in ranges, boot names and server addresses."""
    _learn_range(config)
    for line in config.lines:
        handler = LINE_HANDLERS.get(line.key)
        if handler:
            handler(config, line)
    _learn_server_addresses(config)


def ipv4(text):
    """`text` as an IPv4Address, or None."""
    return _address(ipaddress.IPv4Address, text)


def ipv6(text):
    """`text` as an IPv6Address, or None."""
    return _address(ipaddress.IPv6Address, text)


def _address(kind, text):
    """`text` as a KIND (ipaddress.IPv4Address or IPv6Address), or None."""
    try:
        return kind(text)
    except ValueError:
        return None


def _learn_range(config):
    """Subnet and leased span of the first IPv4 dhcp-range; proxy mode."""
    for line in config.lines_of("dhcp-range"):
        fields = [f for f in untagged(split_values(line.value)) if f]
        if fields and fields[0].startswith("constructor:"):
            continue                     # IPv6 only
        start = ipv4(fields[0]) if fields else None
        if start is None:
            continue
        rest = fields[1:]
        end = ipv4(rest[0]) if rest else None
        mode = rest[0].lower() if rest and end is None else ""
        masks = [ipv4(f) for f in (rest[1:] if end else rest) if ipv4(f)]
        prefix = ipaddress.IPv4Network(f"0.0.0.0/{masks[0]}").prefixlen if masks else 24
        config.has_range = True
        config.subnet = ipaddress.IPv4Network(f"{start}/{prefix}", strict=False)
        config.proxy = mode == "proxy"
        config.range_hosts = () if config.proxy else (start, end or start)
        return


def _boot_line(config, line):
    """dhcp-boot=[tags,]<file>[,<servername>[,<address>|<tftp name>]]"""
    fields = untagged(split_values(line.value))
    if fields and fields[0]:
        server = fields[2] if len(fields) > 2 else None
        config.boot_names.append(BootName(fields[0], line, server))


def _pxe_service_line(config, line):
    """pxe-service=[tags,]<CSA>,<menu text>[,<basename>|<type>][,<server>]:
    a basename without a dot is fetched as <basename>.0 (layer 0)."""
    fields = untagged(split_values(line.value))
    if len(fields) < 3 or not fields[2] or fields[2].isdigit():
        return
    basename = fields[2]
    name = basename if "." in basename else f"{basename}.0"
    server = fields[3] if len(fields) > 3 else None
    config.boot_names.append(BootName(name, line, server))


def _option_line(config, line):
    """dhcp-option[-force]=[tags,][encap:..,]67|option:bootfile-name,<file>"""
    fields = untagged(split_values(line.value))
    while fields and re.match(r"^(encap|vi-encap|vendor):", fields[0]):
        fields = fields[1:]
    if len(fields) >= 2 and fields[0].lower() in ("67", "option:bootfile-name"):
        config.boot_names.append(BootName(fields[1], line))


LINE_HANDLERS = {
    "dhcp-boot": _boot_line,
    "pxe-service": _pxe_service_line,
    "dhcp-option": _option_line,
    "dhcp-option-force": _option_line,
}


def learn_pxeclass(config, parsed):
    """Take the pxeclass lines as the library read them (`pxeclass config
    --json`, see facts.read_config): the identities of dhcp-ipxe-own (each
    {user_class, features [{code, name}], version {op, value}, chained,
    text, file, line}) and the tag of the loop guard, if there is one."""
    config.pxeclass = parsed["directives"]
    config.identities = parsed["identities"]
    tracker = parsed["tracker"]
    config.guard_tag = tracker["tag"] if tracker and tracker["guard"] else None


def url_host(name):
    """Host part of a URL boot name (None for a TFTP path)."""
    if not URL_RE.match(name):
        return None
    return urllib.parse.urlsplit(name).hostname


def _learn_server_addresses(config):
    """IPv4 addresses the config expects servers at: URL hosts, next-server
    fields and the addresses in option 66/dhcp-boot server fields."""
    found = []
    for boot in config.boot_names:
        for text in (url_host(boot.name), boot.server):
            address = ipv4(text) if text else None
            if address and address not in found:
                found.append(address)
    config.server_addresses = found


# ------------------------------------------------------------------ the lab's network
def server_address(config):
    """The lab server's own address (with prefix): an address the config
    names inside its DHCP subnet, else the subnet's first host outside the
    leased span."""
    subnet = config.subnet
    low, high = config.range_hosts or (None, None)
    inside = [a for a in config.server_addresses if a in subnet]
    candidates = inside + list(_first_hosts(subnet, 64)) + list(_last_hosts(subnet, 64))
    for address in candidates:
        if low is not None and low <= address <= high:
            continue
        if address in (subnet.network_address, subnet.broadcast_address):
            continue
        return f"{address}/{subnet.prefixlen}"
    raise ConfigError(f"no free address for the lab's server in {subnet}")


def _first_hosts(subnet, count):
    """The first `count` host addresses of a subnet."""
    for offset in range(1, min(count, subnet.num_addresses - 1) + 1):
        yield subnet.network_address + offset


def _last_hosts(subnet, count):
    """The last `count` host addresses of a subnet (before the broadcast)."""
    for offset in range(2, min(count, subnet.num_addresses - 1) + 2):
        yield subnet.broadcast_address - offset + 1


def extra_addresses(config, primary):
    """More addresses for the server bridge: every server address the config
    names, other than the primary (inside the subnet with its prefix, else /32)."""
    primary_ip = ipaddress.IPv4Address(primary.split("/")[0])
    extras = []
    for address in config.server_addresses:
        if address == primary_ip:
            continue
        prefix = config.subnet.prefixlen if address in config.subnet else 32
        extras.append(f"{address}/{prefix}")
    return extras


def peer_address(config, primary):
    """Address of the plain DHCP server next to a proxy (the first free host)."""
    taken = {ipaddress.IPv4Address(primary.split("/")[0]), *config.server_addresses}
    for address in _first_hosts(config.subnet, 64):
        if address not in taken:
            return f"{address}/{config.subnet.prefixlen}"
    raise ConfigError(f"no free address for the address server in {config.subnet}")


def lab_lines(bridge, tftp_root):
    """The lines appended to the user's config."""
    return "\n".join(LAB_LINES).format(bridge=bridge, tftp_root=tftp_root) + "\n"


def write_main(config, bridge, tftp_root):
    """Append the lab's lines to the main copy; return its path."""
    with open(config.main_copy, "a") as f:
        f.write(lab_lines(bridge, tftp_root))
    return config.main_copy


def find_line(config, text):
    """The Line whose text contains `text` (for messages without a line number)."""
    text = text.strip()
    for line in config.lines:
        if text and (text in line.text or line.text in text):
            return line
    return None
