"""Servers inside a namespace: a dnsmasq binary and a small HTTP file server.

Dnsmasq runs in the foreground from a private temp directory (config, log,
lease file, pid file), so several instances never share state.  Readiness is
observed, not slept for: the sockets the config implies are polled in
/proc/<pid>/net/{udp,tcp}, which shows the namespace of that process.
"""

import http.server
import os
import re
import shutil
import socket
import socketserver
import tempfile
import threading
import time

DHCP_PORT, TFTP_PORT, PXE_PORT, DNS_PORT, DHCP6_PORT = 67, 69, 4011, 53, 547


class ServerError(RuntimeError):
    """A server failed to start; the message carries its output."""


def listening_ports(pid, proto="udp"):
    """Local ports bound by sockets in the namespace of process `pid`.

    Reads /proc/<pid>/net/<proto> and <proto>6 (all sockets of that network
    namespace, not only the process's own).  UDP: any bound socket; TCP:
    sockets in LISTEN state.
    """
    ports = set()
    for name in (proto, proto + "6"):
        try:
            with open(f"/proc/{pid}/net/{name}") as f:
                lines = f.read().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            fields = line.split()
            if proto == "tcp" and fields[3] != "0A":      # 0A = TCP_LISTEN
                continue
            ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def wait_until(condition, timeout, interval=0.02, what="condition"):
    """Poll condition() until it returns a true value; return that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def config_lines(config_text):
    """The directive lines of a dnsmasq config (comments and blanks dropped)."""
    lines = []
    for line in config_text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


def range_families(config_text):
    """The address families (4, 6) the config's dhcp-range lines serve DHCP in.

    A range is IPv6 when one of its fields (tags and mode words aside) is an
    IPv6 address: `fd77::100,fd77::1ff,64,10m`, `tag:x,::,constructor:br0`.
    """
    families = set()
    for line in config_lines(config_text):
        key, _, value = line.partition("=")
        if key.strip() != "dhcp-range":
            continue
        fields = [field.strip() for field in value.split(",")]
        addresses = [field for field in fields if not re.match(r"^(tag|set|constructor):", field)]
        if not any(":" in field for field in addresses):
            families.add(4)
        elif not {"ra-only", "ra-names"} & set(fields):
            families.add(6)         # (an RA-only range serves no DHCPv6)
    return families


def expected_udp_ports(config_text):
    """UDP ports a dnsmasq with this config opens at start.

    67 with an IPv4 dhcp-range, 547 with an IPv6 one, 4011 with pxe-service,
    69 with enable-tftp, 53 unless port=0 (or the port given).
    """
    keys = {line.split("=", 1)[0]: line.split("=", 1)[-1] for line in config_lines(config_text)}
    ports = set()
    dns_port = int(keys.get("port", DNS_PORT))
    if dns_port:
        ports.add(dns_port)
    families = range_families(config_text)
    if 4 in families:
        ports.add(DHCP_PORT)
    if 6 in families:
        ports.add(DHCP6_PORT)
    if "pxe-service" in keys:
        ports.add(PXE_PORT)
    if "enable-tftp" in keys:
        ports.add(TFTP_PORT)
    return ports


def set_config_option(config_text, key, value):
    """Replace every `key=...` line (or add one) with key=value."""
    lines = [line for line in config_text.splitlines()
             if line.strip().split("=", 1)[0] != key]
    lines.append(f"{key}={value}")
    return "\n".join(lines) + "\n"


class Dnsmasq:
    """A dnsmasq binary running in a namespace with a given config text.

    binary   path to the dnsmasq executable
    ns       netns.Netns to run it in
    config   dnsmasq.conf text; written to <workdir>/dnsmasq.conf
    workdir  directory for config, log, leases, pid (default: a new temp dir)
    extra_args  more command-line arguments

    The config is passed with --conf-file, the log goes to <workdir>/dnsmasq.log
    (--log-facility), stderr (start-up errors) to <workdir>/stderr.log.
    Use as a context manager or call start()/stop().
    """

    def __init__(self, binary, ns, config, workdir=None, extra_args=(), wait_ports=None):
        self.binary = binary
        self.ns = ns
        self.config = config
        self.own_workdir = workdir is None
        self.workdir = workdir or tempfile.mkdtemp(prefix="pxelab-dnsmasq-")
        self.extra_args = list(extra_args)
        self.wait_ports = wait_ports
        self.conf_path = os.path.join(self.workdir, "dnsmasq.conf")
        self.log_path = os.path.join(self.workdir, "dnsmasq.log")
        self.stderr_path = os.path.join(self.workdir, "stderr.log")
        self.lease_path = os.path.join(self.workdir, "dnsmasq.leases")
        self.pid_path = os.path.join(self.workdir, "dnsmasq.pid")
        self.process = None

    def command(self):
        """The argv that starts this dnsmasq."""
        return [self.binary, "--keep-in-foreground", f"--conf-file={self.conf_path}",
                f"--log-facility={self.log_path}", f"--dhcp-leasefile={self.lease_path}",
                f"--pid-file={self.pid_path}", *self.extra_args]

    def start(self, timeout=10.0):
        """Write the config, start dnsmasq, wait until its sockets are bound."""
        with open(self.conf_path, "w") as f:
            f.write(self.config)
        self.process = self.ns.start(self.command(), self.stderr_path)
        ports = self.wait_ports if self.wait_ports is not None else expected_udp_ports(self.config)
        try:
            wait_until(self._ready(ports), timeout, what=f"dnsmasq on UDP {sorted(ports)}")
        except TimeoutError as exc:
            output = self.stderr()
            self.stop()
            raise ServerError(f"dnsmasq did not start: {exc}\n{output}\n{self.log_text()}")
        return self

    def _ready(self, ports):
        """A condition: dnsmasq's ports are bound and its log says it started.

        Raises ServerError at once if the process exited.
        """
        def condition():
            if not self.process.running():
                raise ServerError(f"dnsmasq exited with {self.process.popen.returncode}:\n"
                                  f"{self.stderr()}\n{self.log_text()}")
            return ports <= listening_ports(self.process.pid, "udp") and \
                "started, version" in self.log_text()
        return condition

    def stop(self):
        """Stop dnsmasq by its PID; return its exit code."""
        return self.process.stop() if self.process else None

    def cleanup(self):
        """Remove the work directory if this object created it."""
        if self.own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.cleanup()
            raise

    def __exit__(self, *exc):
        self.stop()
        self.cleanup()

    @property
    def pid(self):
        """PID of the running dnsmasq."""
        return self.process.pid

    def running(self):
        """True while dnsmasq runs."""
        return bool(self.process) and self.process.running()

    def stderr(self):
        """What dnsmasq wrote to stdout/stderr."""
        return self.process.output() if self.process else ""

    def log_text(self):
        """The whole log file so far."""
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def log_lines(self, pattern=None):
        """Log lines (prefix 'dnsmasq[-dhcp][pid]: ' removed), optionally regex-filtered."""
        lines = [re.sub(r"^\w{3} +\d+ [\d:]+ ", "", line) for line in self.log_text().splitlines()]
        lines = [re.sub(r"^dnsmasq(-\w+)?\[\d+\]: ", "", line) for line in lines]
        if pattern:
            lines = [line for line in lines if re.search(pattern, line)]
        return lines

    def wait_log(self, pattern, timeout=5.0):
        """Wait until a log line matches `pattern`; return the matching lines."""
        return wait_until(lambda: self.log_lines(pattern), timeout, what=f"log line /{pattern}/")

    def leases(self):
        """Lease file rows: [(expiry, mac, ip, hostname, client-id)]."""
        try:
            with open(self.lease_path) as f:
                return [tuple(line.split()) for line in f if line.strip()]
        except FileNotFoundError:
            return []


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files from the server's directory; records requests instead of printing."""

    def log_message(self, fmt, *args):
        """Error and other messages: kept out of stderr (tests read `requests`)."""

    def log_request(self, code="-", size="-"):
        """One (method, path, status) entry per answered request."""
        self.server.request_log.append((self.command, self.path, int(code)))


class HttpFileServer:
    """http.server on a thread, its listening socket inside a namespace.

    `address` may be IPv6; "::" serves both families on one socket
    (IPV6_V6ONLY off).  `requests` lists (method, path, status) in arrival
    order, so a test or the lab can see which files a client fetched.
    """

    def __init__(self, ns, directory, address="0.0.0.0", port=80):
        self.ns, self.directory, self.address, self.port = ns, directory, address, port
        self.httpd = None
        self.thread = None

    def start(self):
        """Bind in the namespace and serve on a daemon thread."""
        directory = self.directory

        class Handler(_QuietHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=directory, **kwargs)

        self.httpd = http.server.ThreadingHTTPServer((self.address, self.port), Handler,
                                                      bind_and_activate=False)
        self.httpd.socket.close()
        family = socket.AF_INET6 if ":" in self.address else socket.AF_INET
        self.httpd.address_family = family
        self.httpd.socket = self.ns.socket(family, socket.SOCK_STREAM)
        self.httpd.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            self.httpd.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        # TCPServer's bind, not HTTPServer's: that one does a getfqdn() lookup
        socketserver.TCPServer.server_bind(self.httpd)
        self.httpd.server_name, self.httpd.server_port = self.address, self.httpd.server_address[1]
        self.httpd.server_activate()
        self.httpd.request_log = []
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True,
                                       name=f"http-{self.ns.name}")
        self.thread.start()
        return self

    @property
    def requests(self):
        """[(method, path, status)] served so far."""
        return list(self.httpd.request_log)

    def stop(self):
        """Stop serving and close the socket."""
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.thread.join()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
