"""An HTTP GET client whose connection starts inside a namespace.

Boot clients fetch iPXE binaries and scripts by HTTP; this lets a simulated
client do the same from its own namespace with the address DHCP gave it.
"""

import http.client
import socket
import urllib.parse
from dataclasses import dataclass


@dataclass
class HttpResponse:
    """Status, headers (lower-case names) and body of one response."""
    status: int
    headers: dict
    body: bytes


class _NamespacedConnection(http.client.HTTPConnection):
    """HTTPConnection whose socket is created in a given namespace."""

    def __init__(self, ns, host, port, timeout):
        super().__init__(host, port, timeout=timeout)
        self.ns = ns

    def connect(self):
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        self.sock = self.ns.socket(family, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect((self.host, self.port))


def http_get(ns, url, timeout=10.0, headers=None):
    """GET `url` (http:// only) from inside namespace `ns`; return HttpResponse."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "http":
        raise ValueError(f"only http:// URLs are supported, not {url!r}")
    conn = _NamespacedConnection(ns, parts.hostname, parts.port or 80, timeout)
    try:
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        body = response.read()
        return HttpResponse(response.status, {k.lower(): v for k, v in response.getheaders()}, body)
    finally:
        conn.close()
