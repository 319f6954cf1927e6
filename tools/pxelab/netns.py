"""Network namespaces for pxeclass tests and the lab.

A Topology is one isolated Ethernet segment: a server namespace holding a
bridge (the server's address lives on the bridge), N client namespaces each
joined to the bridge by a veth pair, optional "peer" server namespaces (a
second DHCP server with its own MAC, like the proxyDHCP capture), and
optional tap devices on the bridge for QEMU.  Interface names inside the
namespaces are fixed and short (br0, eth0, tap0 ...): namespaces isolate
them, so only the namespace names need to be unique, and they carry the pid
plus a counter so several topologies can run side by side.

Everything created is removed again on exit, also when the body raises.
Only iproute2 (`ip`) is needed; all else is the Python standard library.
"""

import atexit
import ctypes
import itertools
import os
import random
import signal
import socket
import subprocess
import threading
from dataclasses import dataclass, field

CLONE_NEWNET = 0x40000000
NETNS_RUN_DIR = "/run/netns"
DEFAULT_SERVER_ADDR = "10.77.0.1/24"
SERVER_IPV6 = "fd77::1/64"             # the bridge's IPv6 (lab, captures, firmware tests)
BRIDGE_NAME = "br0"
CLIENT_IFACE = "eth0"

_libc = ctypes.CDLL(None, use_errno=True)
_name_counter = itertools.count()
_name_lock = threading.Lock()
_open_topologies = set()


@atexit.register
def _close_leftovers():
    """Tear down topologies a caller forgot to close (e.g. on sys.exit)."""
    for topo in list(_open_topologies):
        topo.close()


class CommandError(RuntimeError):
    """A command run in a namespace exited non-zero; carries its output."""

    def __init__(self, cmd, returncode, stdout, stderr):
        super().__init__(f"{' '.join(cmd)} exited {returncode}: {stderr.strip() or stdout.strip()}")
        self.cmd, self.returncode, self.stdout, self.stderr = cmd, returncode, stdout, stderr


def run_host(cmd, check=True, timeout=30, input=None):
    """Run a command in the caller's namespace; return its stdout (text)."""
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, input=input)
    if check and proc.returncode != 0:
        raise CommandError(cmd, proc.returncode, proc.stdout, proc.stderr)
    return proc.stdout


def random_mac():
    """A random locally administered unicast MAC (02:...), as a string."""
    octets = [0x02] + [random.randrange(256) for _ in range(5)]
    return ":".join(f"{o:02x}" for o in octets)


def unique_prefix():
    """A namespace name prefix not used by any existing namespace.

    pid + counter is unique among live processes; the existence check skips
    leftovers of a crashed run whose pid was reused.
    """
    with _name_lock:
        while True:
            prefix = f"pxc{os.getpid()}-{next(_name_counter)}"
            taken = os.listdir(NETNS_RUN_DIR) if os.path.isdir(NETNS_RUN_DIR) else []
            if not any(owned_by(prefix, name) for name in taken):
                return prefix


def owned_by(prefix, namespace):
    """True if `namespace` is one a Topology with `prefix` names (<prefix><role>)."""
    role = namespace[len(prefix):]
    return namespace.startswith(prefix) and role[:1] in ("s", "c", "p") and \
        (role == "s" or role[1:].isdigit())


class BackgroundProcess:
    """A process started in a namespace, stopped by its PID only.

    stdout and stderr go to `log_path`; `output()` reads them back.
    """

    def __init__(self, popen, log_path, log_file):
        self.popen = popen
        self.pid = popen.pid
        self.log_path = log_path
        self._log_file = log_file

    def running(self):
        """True while the process has not exited."""
        return self.popen.poll() is None

    def output(self):
        """Everything the process has written to stdout/stderr so far."""
        with open(self.log_path, "r", errors="replace") as f:
            return f.read()

    def stop(self, grace=3.0):
        """SIGTERM, then SIGKILL after `grace` seconds; return the exit code."""
        if self.popen.poll() is None:
            _signal_pid(self.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                _signal_pid(self.pid, signal.SIGKILL)
                self.popen.wait(timeout=grace)
        if not self._log_file.closed:
            self._log_file.close()
        return self.popen.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def _signal_pid(pid, sig):
    """Send `sig` to exactly `pid`, ignoring a process that is already gone."""
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


class Netns:
    """One named network namespace (created by `ip netns add`)."""

    def __init__(self, name):
        self.name = name
        self.path = os.path.join(NETNS_RUN_DIR, name)
        self.processes = []

    def __repr__(self):
        return f"Netns({self.name!r})"

    def create(self):
        """Create the namespace and bring up its loopback."""
        if os.path.exists(self.path):
            raise FileExistsError(f"namespace {self.name} already exists")
        run_host(["ip", "netns", "add", self.name])
        self.ip("link", "set", "lo", "up")

    def delete(self):
        """Stop the processes started here, then delete the namespace."""
        for proc in reversed(self.processes):
            proc.stop()
        self.processes.clear()
        if os.path.exists(self.path):
            run_host(["ip", "netns", "del", self.name], check=False)

    def ip(self, *args, check=True):
        """Run `ip -n <ns> ARGS...`; return its stdout."""
        return run_host(["ip", "-n", self.name, *args], check=check)

    def run(self, cmd, check=True, timeout=30, input=None):
        """Run `cmd` (argv list) inside the namespace; return its stdout."""
        return run_host(["ip", "netns", "exec", self.name, *cmd],
                        check=check, timeout=timeout, input=input)

    def start(self, cmd, log_path, env=None):
        """Start `cmd` in the background inside the namespace.

        Its stdout+stderr go to `log_path`.  `ip netns exec` execs the
        command, so the returned handle's pid is the command's own pid.
        The namespace (and its Topology) stops it at teardown if the caller
        did not.
        """
        log_file = open(log_path, "wb")
        popen = subprocess.Popen(["ip", "netns", "exec", self.name, *cmd],
                                 stdin=subprocess.DEVNULL, stdout=log_file,
                                 stderr=subprocess.STDOUT, env=env,
                                 start_new_session=True)
        proc = BackgroundProcess(popen, log_path, log_file)
        self.processes.append(proc)
        return proc

    def call(self, fn, *args, **kwargs):
        """Call fn(*args, **kwargs) on a thread that has entered this namespace.

        Python 3.11 has no os.setns, so the thread calls libc setns(2) itself.
        setns only moves the calling thread, so the rest of the process stays
        where it is.  Sockets made in `fn` stay in this namespace for life and
        can be used from any thread afterwards.
        """
        result = {}

        def body():
            try:
                fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
                try:
                    if _libc.setns(fd, CLONE_NEWNET) != 0:
                        err = ctypes.get_errno()
                        raise OSError(err, f"setns({self.name}): {os.strerror(err)}")
                finally:
                    os.close(fd)
                result["value"] = fn(*args, **kwargs)
            except BaseException as exc:  # re-raised in the caller's thread
                result["error"] = exc

        thread = threading.Thread(target=body, name=f"netns-{self.name}")
        thread.start()
        thread.join()
        if "error" in result:
            raise result["error"]
        return result["value"]

    def socket(self, family=socket.AF_INET, type=socket.SOCK_DGRAM, proto=0):
        """A socket living in this namespace (usable from any thread)."""
        return self.call(socket.socket, family, type, proto)

    def ifindex(self, iface):
        """Interface index of `iface` inside this namespace."""
        return self.call(socket.if_nametoindex, iface)

    def mac(self, iface):
        """MAC address of `iface` inside this namespace, as a string."""
        fields = self.ip("-o", "link", "show", "dev", iface).split()
        return fields[fields.index("link/ether") + 1]

    def addresses(self, iface, family="inet"):
        """Addresses (with prefix) configured on `iface`, e.g. ['10.77.0.1/24']."""
        out = self.ip("-o", "-f", family, "addr", "show", "dev", iface)
        return [line.split()[3] for line in out.splitlines() if len(line.split()) > 3]

    def add_address(self, iface, addr):
        """Add `addr` (with prefix) to `iface`; IPv6 without DAD delay."""
        extra = ["nodad"] if ":" in addr else []
        self.ip("addr", "add", addr, "dev", iface, *extra)

    def flush_addresses(self, iface):
        """Remove every IPv4 address from `iface`."""
        self.ip("-4", "addr", "flush", "dev", iface)


@dataclass
class Node:
    """One station on the segment: its namespace, interface, MAC and IPv4."""
    ns: Netns
    iface: str
    mac: str
    ip: str = None          # without prefix, None if unconfigured
    prefix: int = 24

    @property
    def name(self):
        """The namespace name (what `ip netns exec` wants)."""
        return self.ns.name

    def set_ip(self, ip, prefix=None):
        """Replace the node's IPv4 address (e.g. with a DHCP lease)."""
        self.ns.flush_addresses(self.iface)
        self.prefix = prefix or self.prefix
        self.ns.add_address(self.iface, f"{ip}/{self.prefix}")
        self.ip = ip


@dataclass(eq=False)
class Topology:
    """A bridged segment: server namespace + clients + peers + taps.

    clients       number of client namespaces (iface `eth0`, no address)
    client_macs   optional MACs for the clients, in order
    server_addr   address/prefix put on the server's bridge
    server_extra  more addresses on the bridge (e.g. 'fd77::1/64')
    peers         addresses/prefix of extra server namespaces (each its own
                  MAC, e.g. '10.77.0.2/24' for a second DHCP server)
    taps          number of tap devices (tap0..) on the bridge, for QEMU
                  run inside the server namespace
    """
    clients: int = 1
    client_macs: tuple = ()
    server_addr: str = DEFAULT_SERVER_ADDR
    server_extra: tuple = ()
    peers: tuple = ()
    taps: int = 0
    prefix: str = field(default_factory=unique_prefix)

    def __post_init__(self):
        self.namespaces = []
        self.server = None
        self.client_nodes = []
        self.peer_nodes = []
        self.tap_names = []
        self.bridge = BRIDGE_NAME

    # -- lifecycle ---------------------------------------------------------
    def __enter__(self):
        _open_topologies.add(self)
        try:
            self._build()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """Stop tracked processes and delete every namespace we created."""
        for ns in reversed(self.namespaces):
            ns.delete()
        self.namespaces.clear()
        _open_topologies.discard(self)

    # -- building ----------------------------------------------------------
    def _new_ns(self, role):
        """Create and remember a namespace named <prefix><role>."""
        ns = Netns(f"{self.prefix}{role}")
        ns.create()
        self.namespaces.append(ns)
        return ns

    def _build(self):
        """Create the server bridge, then clients, peers and taps on it."""
        server_ns = self._new_ns("s")
        server_ns.ip("link", "add", self.bridge, "address", random_mac(), "type", "bridge",
                     "stp_state", "0", "forward_delay", "0", "mcast_snooping", "0")
        server_ns.ip("link", "set", self.bridge, "up")
        ip, plen = self.server_addr.split("/")
        server_ns.add_address(self.bridge, self.server_addr)
        for addr in self.server_extra:
            server_ns.add_address(self.bridge, addr)
        self.server = Node(server_ns, self.bridge, server_ns.mac(self.bridge), ip, int(plen))
        for index in range(self.clients):
            mac = self.client_macs[index] if index < len(self.client_macs) else None
            self.client_nodes.append(self._attach(f"c{index}", f"vc{index}", mac, None))
        for index, addr in enumerate(self.peers):
            self.peer_nodes.append(self._attach(f"p{index}", f"vp{index}", None, addr))
        for index in range(self.taps):
            self.add_tap(f"tap{index}")

    def _attach(self, role, port_name, mac, addr):
        """New namespace joined to the bridge by a veth; returns its Node."""
        ns = self._new_ns(role)
        run_host(["ip", "link", "add", "name", port_name, "netns", self.server.ns.name,
                  "type", "veth", "peer", "name", CLIENT_IFACE, "netns", ns.name])
        self.server.ns.ip("link", "set", port_name, "master", self.bridge)
        self.server.ns.ip("link", "set", port_name, "up")
        if mac:
            ns.ip("link", "set", CLIENT_IFACE, "address", mac)
        ns.ip("link", "set", CLIENT_IFACE, "up")
        node = Node(ns, CLIENT_IFACE, ns.mac(CLIENT_IFACE))
        if addr:
            ip, plen = addr.split("/")
            node.prefix = int(plen)
            ns.add_address(CLIENT_IFACE, addr)
            node.ip = ip
        return node

    def add_tap(self, name):
        """Create a persistent tap device on the bridge (for QEMU -netdev tap)."""
        self.server.ns.ip("tuntap", "add", "dev", name, "mode", "tap")
        self.server.ns.ip("link", "set", name, "master", self.bridge)
        self.server.ns.ip("link", "set", name, "up")
        self.tap_names.append(name)
        return name

    # -- conveniences ------------------------------------------------------
    @property
    def client(self):
        """The first client node."""
        return self.client_nodes[0]

    @property
    def peer(self):
        """The first peer server node."""
        return self.peer_nodes[0]
