"""Parsers for the rpm queries the node probe runs (DOMAIN 4.6).

- ``rpm -qa --qf '%{NAME}\\t%{EPOCH}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\n'`` (epoch ``(none)`` = 0)
- ``rpm -qa --qf '[%{NAME}\\t%{ARCH}\\t%{PROVIDENAME}\\t%{PROVIDEFLAGS:depflags}\\t%{PROVIDEVERSION}\\n]'``
  and the same for REQUIRE* (rich deps appear verbatim as the name; rpmlib()/config() are skipped)
- file-provides: ``<path>\\t<owning package name>``
- ``rpm -V``: only mismatches, ``S.5....T.  c /etc/x`` / ``missing     /usr/bin/x``

Line-oriented parsers keep going past a malformed line (a truncated collection still yields
everything before the cut) and record the line in ``warnings`` when a list is passed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from kubectl_kata.core.parse._util import Data, short, to_text
from kubectl_kata.core.parse.errors import ParseError
from kubectl_kata.core.rpm import EVR, NEVRA, format_flags, parse_flags

__all__ = [
    "Dep", "parse_rpm_qa", "parse_deps", "parse_file_provides", "VerifyEntry", "VerifyResult",
    "parse_rpm_verify", "parse_dep_string",
]

MAX_LINES = 2_000_000


@dataclass(frozen=True)
class Dep:
    """One provide/require: ``name [flags evr]``. ``name`` may be a rich dep ``(a or b)`` or a path."""

    name: str
    flags: int = 0
    evr: Optional[EVR] = None

    @property
    def is_rich(self) -> bool:
        return self.name.startswith("(")

    @property
    def is_file(self) -> bool:
        return self.name.startswith("/")

    def __str__(self) -> str:
        if self.flags and self.evr is not None:
            return "%s %s %s" % (self.name, format_flags(self.flags), self.evr)
        return self.name


def _lines(text: str):
    lines = text.splitlines()
    if len(lines) > MAX_LINES:
        raise ParseError("too many lines (%d)" % len(lines))
    return lines


def _warn(warnings: Optional[List[str]], msg: str) -> None:
    if warnings is not None and len(warnings) < 100:
        warnings.append(msg)


def _valid_token(s: str) -> bool:
    return bool(s) and not any(c.isspace() for c in s)


def parse_rpm_qa(data: Data, warnings: Optional[List[str]] = None) -> List[NEVRA]:
    text = to_text(data, "rpm -qa")
    out: List[NEVRA] = []
    for n, line in enumerate(_lines(text), 1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != 5 or not all(_valid_token(p) for p in parts):
            _warn(warnings, "rpm -qa line %d malformed: %r" % (n, short(line)))
            continue
        name, epoch, version, release, arch = parts
        if epoch == "(none)":
            epoch_i = 0
        elif epoch.isdigit() and len(epoch) <= 10:
            epoch_i = int(epoch)
        else:
            _warn(warnings, "rpm -qa line %d: bad epoch %r" % (n, short(epoch)))
            continue
        if ":" in version or "-" in version or "-" in release:
            _warn(warnings, "rpm -qa line %d: bad version/release" % n)
            continue
        out.append(NEVRA(name, epoch_i, version, release, arch))
    return out


def parse_dep_string(name: str, flags: str, version: str) -> Dep:
    """Build a Dep from the three rpm fields; raises ParseError when inconsistent."""
    bits = parse_flags(flags)
    evr = EVR.parse(version) if version.strip() else None
    if bits and evr is None:
        raise ParseError("dependency %r has flags but no version" % short(name))
    if evr is not None and not bits:
        raise ParseError("dependency %r has a version but no flags" % short(name))
    return Dep(name, bits, evr)


def _skip_dep(name: str) -> bool:
    return name.startswith("rpmlib(") or name.startswith("config(")


def parse_deps(data: Data, what: str = "rpm deps",
               warnings: Optional[List[str]] = None) -> Dict[Tuple[str, str], List[Dep]]:
    """PROVIDE*/REQUIRE* listing -> {(package name, arch): [Dep, ...]} (order kept, duplicates dropped).

    Two installed versions of one name+arch (installonly kernels) share a key.
    """
    text = to_text(data, what)
    out: Dict[Tuple[str, str], List[Dep]] = {}
    seen = set()
    for n, line in enumerate(_lines(text), 1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != 5:
            _warn(warnings, "%s line %d malformed: %r" % (what, n, short(line)))
            continue
        pkg, arch, name, flags, version = parts
        if not _valid_token(pkg) or not _valid_token(arch) or not name.strip():
            _warn(warnings, "%s line %d malformed: %r" % (what, n, short(line)))
            continue
        name = name.strip()
        if _skip_dep(name):
            continue
        try:
            dep = parse_dep_string(name, flags, version)
        except ParseError as exc:
            _warn(warnings, "%s line %d: %s" % (what, n, exc))
            continue
        key = (pkg, arch)
        if (key, dep) in seen:
            continue
        seen.add((key, dep))
        out.setdefault(key, []).append(dep)
    return out


def parse_file_provides(data: Data, warnings: Optional[List[str]] = None) -> Dict[str, List[str]]:
    """``<path>\\t<owner>`` lines -> {path: [owner names]}; a path with no owner maps to []."""
    text = to_text(data, "rpm file provides")
    out: Dict[str, List[str]] = {}
    for n, line in enumerate(_lines(text), 1):
        if not line.strip():
            continue
        path, sep, owner = line.partition("\t")
        path, owner = path.strip(), owner.strip()
        if not path.startswith("/"):
            _warn(warnings, "file provides line %d malformed: %r" % (n, short(line)))
            continue
        owners = out.setdefault(path, [])
        # "file /x is not owned by any package" style answers leave the owner list empty
        if owner and _valid_token(owner) and owner not in owners:
            owners.append(owner)
    return out


@dataclass(frozen=True)
class VerifyEntry:
    flags: str          # e.g. "S.5....T." or "missing"
    attr: str           # "c" config, "d" doc, "g" ghost, "l" license, "r" readme, "" none
    path: str

    @property
    def missing(self) -> bool:
        return self.flags == "missing"

    @property
    def is_config(self) -> bool:
        return self.attr == "c"

    def to_dict(self) -> Dict[str, str]:
        return {"flags": self.flags, "attr": self.attr, "path": self.path}


@dataclass
class VerifyResult:
    entries: List[VerifyEntry] = field(default_factory=list)
    not_installed: List[str] = field(default_factory=list)   # "package X is not installed"
    unsatisfied: List[str] = field(default_factory=list)     # dependency lines rpm -V printed
    other: List[str] = field(default_factory=list)           # anything unrecognised (kept verbatim)

    def to_dict(self):
        return {"entries": [e.to_dict() for e in self.entries], "not_installed": list(self.not_installed),
                "unsatisfied": list(self.unsatisfied), "other": list(self.other)}


_VERIFY_RE = re.compile(r"^(?P<flags>[SM5DLUGTPV.?]{8,9}|missing)\s+(?:(?P<attr>[cdglr])\s+)?(?P<path>/.*)$")
_NOT_INSTALLED_RE = re.compile(r"^package (\S+) is not installed$")


def parse_rpm_verify(data: Data) -> VerifyResult:
    text = to_text(data, "rpm -V")
    res = VerifyResult()
    for line in _lines(text):
        s = line.rstrip()
        if not s.strip():
            continue
        m = _VERIFY_RE.match(s)
        if m:
            res.entries.append(VerifyEntry(m.group("flags"), m.group("attr") or "", m.group("path")))
            continue
        m = _NOT_INSTALLED_RE.match(s.strip())
        if m:
            res.not_installed.append(m.group(1))
            continue
        if s.startswith("Unsatisfied dependencies") or " is needed by " in s:
            res.unsatisfied.append(s.strip())
            continue
        if len(res.other) < 100:
            res.other.append(short(s, 200))
    return res
