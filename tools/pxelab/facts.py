"""What libpxeclass knows and reads, asked of the pxeclass CLI.

The lab keeps no copy of the library's tables or of its directives'
grammar: `pxeclass facts --json` gives the tables (architectures, iPXE
features, classes …) and `pxeclass config --json FILE` the pxeclass lines
of a dnsmasq.conf as the library parsed them (each with its file and line,
the dhcp-ipxe-own identities, the chain tracker's parameters).

The CLI is the one that started the lab (`pxeclass lab` sets
PXC_LAB_CLI), else the one the tests name (PXC_CLI), else the build
tree's (build/tools/pxeclass next to these sources).
"""

import functools
import json
import os
import re
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD_TREE_CLI = os.path.join(HERE, "..", "..", "build", "tools", "pxeclass")
CLI_ENVIRONMENT = ("PXC_LAB_CLI", "PXC_CLI")
CLI_TIMEOUT = 30
PLACE_RE = re.compile(r" at line (\d+) of (.+)$")


class FactsError(RuntimeError):
    """The pxeclass CLI cannot be found or run, or said something unreadable."""


class ConfigRejected(RuntimeError):
    """The library refused a line of the config (or the config as a whole):
    `message` as dnsmasq words it, `file` and `line` when it names them."""

    def __init__(self, message):
        super().__init__(message)
        match = PLACE_RE.search(message)
        self.line = int(match.group(1)) if match else None
        self.file = match.group(2) if match else None


def cli_path():
    """The pxeclass executable to ask; FactsError naming every place tried."""
    tried = []
    for name in CLI_ENVIRONMENT:
        path = os.environ.get(name)
        if path:
            if os.access(path, os.X_OK):
                return path
            tried.append(f"{name}={path}")
    path = os.path.abspath(BUILD_TREE_CLI)
    if os.access(path, os.X_OK):
        return path
    tried.append(path)
    raise FactsError("cannot find the pxeclass CLI, which the lab asks for the "
                     f"library's facts (tried {', '.join(tried)}): run the lab as "
                     "`pxeclass lab`, set PXC_CLI, or build it (ninja -C build)")


def _run(*args):
    """(exit status, stdout, stderr) of `pxeclass ARGS`."""
    path = cli_path()
    try:
        proc = subprocess.run([path, *args], capture_output=True, text=True,
                              timeout=CLI_TIMEOUT)
    except OSError as exc:
        raise FactsError(f"cannot run {path}: {exc}") from exc
    return proc.returncode, proc.stdout, proc.stderr


def _json(text, command):
    """TEXT parsed, or FactsError naming the command that printed it."""
    try:
        return json.loads(text)
    except ValueError as exc:
        raise FactsError(f"pxeclass {command} printed no JSON ({exc}): is "
                         f"{cli_path()} a pxeclass with `{command}`?") from exc


@functools.lru_cache(maxsize=None)
def library():
    """The library's fact tables (`pxeclass facts --json`), read once."""
    status, out, err = _run("facts", "--json")
    if status != 0:
        raise FactsError(f"pxeclass facts failed ({status}): {err.strip()}")
    return _json(out, "facts")


def feature_codes():
    """{name: code} of the iPXE option-175 features the library knows."""
    return {f["name"]: f["code"] for f in library()["features"]}


def feature_code(name):
    """The code of iPXE feature NAME ('https'); KeyError if unknown."""
    return feature_codes()[name]


def arch_code(name):
    """The option 93 value of architecture NAME ('efi-x64'); KeyError if none."""
    for arch in library()["architectures"]:
        if arch["name"] == name:
            return arch["code"]
    raise KeyError(name)


def arch_name(code):
    """The library's name of option 93 value CODE ('efi-x64'); KeyError if none."""
    for arch in library()["architectures"]:
        if arch["code"] == code:
            return arch["name"]
    raise KeyError(code)


def read_config(path):
    """The pxeclass lines of the dnsmasq.conf at PATH as the library reads
    them (`pxeclass config --json`); ConfigRejected if it refuses one."""
    status, out, err = _run("config", "--json", path)
    if status == 0:
        return _json(out, "config")
    try:
        message = json.loads(out)["error"]
    except (ValueError, KeyError, TypeError):
        raise FactsError(f"pxeclass config failed ({status}): {err.strip()}")
    raise ConfigRejected(message)
