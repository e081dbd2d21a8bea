"""Small node outputs: path presence list, ``systemctl show``, cpuinfo flags, ``find`` listings and
CRI-O drop-ins (DOMAIN 2.5, 4.2, 5).

The CRI-O parser is a deliberately small TOML subset (table headers and ``key = value`` scalars):
enough to find ``[crio.runtime.runtimes.kata]`` tables and their ``runtime_path`` without a TOML
dependency on Python 3.9.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, List

from kubectl_kata.core.parse._util import Data, short, to_text
from kubectl_kata.core.parse.errors import ParseError

__all__ = ["parse_paths", "parse_systemctl_show", "parse_cpu_flags", "parse_find_list",
           "CrioDropin", "parse_crio_dropin", "KATA_TABLE"]

KATA_TABLE = "crio.runtime.runtimes.kata"
MAX_SMALL = 4 * 1024 * 1024


def parse_paths(data: Data) -> Dict[str, bool]:
    """``<path>\\tpresent|absent`` lines -> {path: present}."""
    text = to_text(data, "paths", MAX_SMALL)
    out: Dict[str, bool] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        path, sep, state = line.rpartition("\t")
        path, state = path.strip(), state.strip()
        if not sep or not path.startswith("/") or state not in ("present", "absent"):
            raise ParseError("paths: malformed line %r" % short(line))
        out[path] = state == "present"
    return out


def parse_systemctl_show(data: Data) -> Dict[str, str]:
    text = to_text(data, "systemctl show", MAX_SMALL)
    out: Dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        if not sep or not re.match(r"^[A-Za-z][A-Za-z0-9]*$", key):
            raise ParseError("systemctl show: malformed line %r" % short(line))
        out[key] = value.strip()
    if not out:
        raise ParseError("systemctl show: no properties")
    return out


def parse_cpu_flags(data: Data) -> List[str]:
    """``flags : fpu vme ... vmx`` (x86) or ``features : esan3 zarch ... sie`` (s390x) -> tokens."""
    text = to_text(data, "cpu flags", MAX_SMALL)
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() in ("flags", "features", "Features"):
            return value.split()
    raise ParseError("cpu flags: no 'flags'/'features' line in %r" % short(text.strip()))


def parse_find_list(data: Data) -> List[str]:
    text = to_text(data, "find", MAX_SMALL)
    return [line for line in text.splitlines() if line.startswith("/")]


@dataclass
class CrioDropin:
    tables: List[str] = field(default_factory=list)                 # headers in order (repeats kept)
    values: Dict[str, Dict[str, str]] = field(default_factory=dict)  # last value per table/key

    @property
    def kata_tables(self) -> int:
        return self.tables.count(KATA_TABLE)

    def to_dict(self):
        return {"tables": list(self.tables), "values": {k: dict(v) for k, v in self.values.items()}}


_HEADER = re.compile(r"^\[\s*([A-Za-z0-9_.\-\"' ]+?)\s*\]\s*(?:#.*)?$")
_KV = re.compile(r"^([A-Za-z0-9_\-]+)\s*=\s*(.*?)\s*$")


def _scalar(raw: str) -> str:
    s = raw
    if s.startswith('"'):
        end = s.find('"', 1)
        return s[1:end] if end > 0 else s[1:]
    if s.startswith("'"):
        end = s.find("'", 1)
        return s[1:end] if end > 0 else s[1:]
    return s.split("#", 1)[0].strip()


def parse_crio_dropin(data: Data) -> CrioDropin:
    text = to_text(data, "crio drop-in", MAX_SMALL)
    res = CrioDropin()
    current = ""
    for line in text.splitlines():
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        if s.startswith("[["):
            current = ""   # array-of-tables: not used by CRI-O runtime tables
            continue
        if s.startswith("["):
            m = _HEADER.match(s)
            if not m:
                raise ParseError("crio drop-in: malformed table header %r" % short(s))
            current = ".".join(p.strip().strip("\"'") for p in m.group(1).split("."))
            res.tables.append(current)
            continue
        m = _KV.match(s)
        if m and current:
            res.values.setdefault(current, {})[m.group(1)] = _scalar(m.group(2))
    return res
