#!/usr/bin/env python3
"""The man pages (tools/man) against what they document: pxeclass(1)
names every subcommand and every option the CLI's own usage texts list,
and every key of its JSON outputs; dnsmasq-pxeclass(5) names every
directive, class selector, architecture (with its code), family, feature
(with its code), bus, error and warning flag `pxeclass facts --json`
lists.  Both render without a groff warning.  So a new option, directive
or table entry fails here until its page says it."""
import json
import os
import re
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(TOP, "tools"))

from pxelab import testing  # noqa: E402

PXECLASS = os.environ.get("PXC_CLI", "build/tools/pxeclass")
MAN = os.path.join(TOP, "tools", "man")
CAPTURE = os.path.join(TOP, "tests", "captures", "a-seabios-virtio", "dhcp.pcap")
LAB_CONF = os.path.join(TOP, "examples", "lab.conf")
# An option as usage texts write it: a dash after a blank, a bracket or
# a comma (not the dash inside a name such as efi-x64).
OPTION = re.compile(r"(?<![\w-])(--?[a-zA-Z][\w-]*)")


def run(*args):
    """stdout of the CLI with ARGS; it must succeed."""
    p = subprocess.run([PXECLASS, *args], capture_output=True, text=True)
    if p.returncode != 0:
        raise AssertionError("pxeclass %s: %d %s" % (" ".join(args), p.returncode,
                                                     p.stderr))
    return p.stdout


def plain(roff):
    """Roff source as the reader sees its words: escapes of dashes and
    fonts dropped, macro names removed, quotes of macro arguments gone."""
    text = roff.replace("\\-", "-").replace("\\(bu", "")
    text = re.sub(r"\\f[BIRP]", "", text)
    text = re.sub(r"^\.[A-Z]{1,2}\b ?", "", text, flags=re.M)
    return text.replace('"', "")


def page(name):
    """The roff source of tools/man/NAME."""
    with open(os.path.join(MAN, name)) as f:
        return f.read()


def sections(roff):
    """{subsection name: its plain text} of the .SS subsections."""
    parts = re.split(r"^\.S[SH] (.*)$", roff, flags=re.M)
    return {parts[i].strip(): plain(parts[i + 1]) for i in range(1, len(parts), 2)}


def has_word(text, word):
    """True if WORD stands alone in TEXT (not inside a longer name)."""
    return re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(word), text) is not None


def json_keys(value):
    """Every key of every object in VALUE, nested ones too."""
    keys = set()
    if isinstance(value, dict):
        for key, item in value.items():
            keys.add(key)
            keys |= json_keys(item)
    elif isinstance(value, list):
        for item in value:
            keys |= json_keys(item)
    return keys


class Render(unittest.TestCase):
    def test_no_groff_warnings(self):
        """groff with every warning on says nothing about either page."""
        for name in ("pxeclass.1", "dnsmasq-pxeclass.5"):
            with self.subTest(name):
                p = subprocess.run(["groff", "-man", "-ww", "-z",
                                    os.path.join(MAN, name)],
                                   capture_output=True, text=True)
                self.assertEqual((p.returncode, p.stderr), (0, ""))


class CommandPage(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.roff = page("pxeclass.1")
        cls.text = plain(cls.roff)
        cls.sections = sections(cls.roff)
        usage = run("--help")
        cls.commands = re.findall(r"^  (\w+) ", usage, flags=re.M)

    def test_commands_found(self):
        """The usage lists the five commands (so the checks below see them)."""
        self.assertEqual(sorted(self.commands), ["config", "explain", "facts", "lab", "watch"])

    def test_every_command_has_its_section(self):
        for command in self.commands:
            with self.subTest(command):
                self.assertIn(command, self.sections)
                self.assertIn("pxeclass " + command, self.sections["SYNOPSIS"])

    def test_every_option_is_documented(self):
        """Each option of each command's --help is in that command's
        section (lab, facts and config: in the synopsis too), and the
        top-level ones are in OPTIONS."""
        for option in OPTION.findall(run("--help") + "--version"):
            with self.subTest(option=option):
                self.assertTrue(has_word(self.sections["OPTIONS"], option))
        for command in self.commands:
            options = set(OPTION.findall(run(command, "--help"))) - {"-h", "--help"}
            self.assertTrue(options or command == "facts", command)
            for option in sorted(options):
                with self.subTest(command=command, option=option):
                    self.assertTrue(has_word(self.sections[command], option),
                                    "%s %s not in its section" % (command, option))
                    self.assertTrue(has_word(self.sections["SYNOPSIS"], option))
        self.assertTrue(has_word(self.sections["OPTIONS"], "-h"))

    def test_json_keys_are_documented(self):
        """Every key of explain's, facts' and config's JSON is named in
        the command's section."""
        outputs = {
            "explain": [json.loads(line) for line in
                        run("explain", "--json", "--config", LAB_CONF,
                            CAPTURE).splitlines()],
            "facts": json.loads(run("facts", "--json")),
            "config": json.loads(run("config", "--json", LAB_CONF)),
        }
        for command, document in outputs.items():
            keys = json_keys(document)
            self.assertGreater(len(keys), 5, command)
            for key in sorted(keys):
                with self.subTest(command=command, key=key):
                    self.assertTrue(has_word(self.sections[command], key),
                                    "%s --json key %s not in its section"
                                    % (command, key))


class DirectivePage(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.roff = page("dnsmasq-pxeclass.5")
        cls.text = re.sub(r"\s+", " ", plain(cls.roff))
        cls.facts = json.loads(run("facts", "--json"))

    def assert_names(self, what, names):
        self.assertTrue(names, what)
        for name in names:
            with self.subTest(what=what, name=name):
                self.assertTrue(has_word(self.text, name),
                                "%s %s not in dnsmasq-pxeclass(5)" % (what, name))

    def test_directives(self):
        """Each directive in the synopsis and with its own entry."""
        synopsis = sections(self.roff)["SYNOPSIS"]
        for name in self.facts["directives"]:
            with self.subTest(name):
                self.assertIn(name + "=", synopsis)
                self.assertRegex(self.roff, r"(?m)^\.TP\n\.B[IR]? %s="
                                 % re.escape(name.replace("-", "\\-")))

    def test_tables(self):
        f = self.facts
        self.assert_names("class selector", f["class_selectors"])
        self.assert_names("family", [x["name"] for x in f["families"]])
        self.assert_names("bus", [x["name"] for x in f["buses"]])
        self.assert_names("error flag", [x["name"] for x in f["errors"]])
        self.assert_names("warning flag", [x["name"] for x in f["warnings"]])

    def test_codes(self):
        """Architectures as "code name", features as "name code": the
        numbers are right too."""
        for arch in self.facts["architectures"]:
            with self.subTest(arch=arch["name"]):
                self.assertTrue("%d %s" % (arch["code"], arch["name"]) in self.text)
        for feature in self.facts["features"]:
            with self.subTest(feature=feature["name"]):
                self.assertTrue("%s %d" % (feature["name"], feature["code"]) in self.text)
        first, last = (self.facts["feature_range"][k] for k in ("first", "last"))
        self.assertTrue("%d-%d" % (first, last) in self.text,
                        "the feature codes' range %d-%d not given" % (first, last))


if __name__ == "__main__":
    testing.main()
