"""RPM version semantics: rpmvercmp, EVR/NEVRA, dependency-range matching.

Behaviour follows rpm itself (rpmio/rpmvercmp.c, lib/rpmver.c, lib/rpmds.c) so that the doctor
compares versions exactly as rpm/rpm-ostree on the node would -- not semver, not PEP 440.
Tested against every vector of rpm's tests/rpmvercmp.at.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from kubectl_kata.core.errors import ParseError

__all__ = [
    "rpmvercmp", "EVR", "NEVRA", "compare_evr", "parse_flags", "format_flags",
    "ranges_overlap", "satisfies", "RPMSENSE_LESS", "RPMSENSE_GREATER", "RPMSENSE_EQUAL",
]

# rpm's sense bits (lib/rpmds.h)
RPMSENSE_LESS = 1 << 1
RPMSENSE_GREATER = 1 << 2
RPMSENSE_EQUAL = 1 << 3
RPMSENSE_SENSEMASK = RPMSENSE_LESS | RPMSENSE_GREATER | RPMSENSE_EQUAL

_ASCII_DIGITS = frozenset("0123456789")
_ASCII_ALPHA = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_ASCII_ALNUM = _ASCII_DIGITS | _ASCII_ALPHA


def rpmvercmp(a: str, b: str) -> int:
    """Compare two version (or release) strings like rpm: -1, 0 or 1.

    Segments are maximal runs of ASCII digits or ASCII letters; everything else separates them
    (non-ASCII characters included, as rpm's ``risalnum`` is ASCII-only). Numeric segments compare
    numerically and beat alphabetic ones. ``~`` sorts before anything (even the end of the string);
    ``^`` sorts after the end of the string but before any further segment.
    """
    if a == b:
        return 0
    i = j = 0
    la, lb = len(a), len(b)
    while i < la or j < lb:
        while i < la and a[i] not in _ASCII_ALNUM and a[i] not in "~^":
            i += 1
        while j < lb and b[j] not in _ASCII_ALNUM and b[j] not in "~^":
            j += 1

        ca = a[i] if i < la else ""
        cb = b[j] if j < lb else ""

        # tilde: sorts before everything else, including the end of the string
        if ca == "~" or cb == "~":
            if ca != "~":
                return 1
            if cb != "~":
                return -1
            i += 1
            j += 1
            continue

        # caret: like tilde, except that the end of the string sorts before it
        if ca == "^" or cb == "^":
            if not ca:
                return -1
            if not cb:
                return 1
            if ca != "^":
                return 1
            if cb != "^":
                return -1
            i += 1
            j += 1
            continue

        if not (ca and cb):
            break

        si, sj = i, j
        if ca in _ASCII_DIGITS:
            while i < la and a[i] in _ASCII_DIGITS:
                i += 1
            while j < lb and b[j] in _ASCII_DIGITS:
                j += 1
            isnum = True
        else:
            while i < la and a[i] in _ASCII_ALPHA:
                i += 1
            while j < lb and b[j] in _ASCII_ALPHA:
                j += 1
            isnum = False

        seg_a, seg_b = a[si:i], b[sj:j]
        if not seg_a:  # cannot happen (ca is alnum), kept for parity with rpm
            return -1
        if not seg_b:
            # different segment types: numeric is newer than alphabetic
            return 1 if isnum else -1

        if isnum:
            seg_a = seg_a.lstrip("0")
            seg_b = seg_b.lstrip("0")
            if len(seg_a) != len(seg_b):
                return 1 if len(seg_a) > len(seg_b) else -1
        if seg_a != seg_b:
            return 1 if seg_a > seg_b else -1

    if i >= la and j >= lb:
        return 0
    return -1 if i >= la else 1


_EPOCH_RE = re.compile(r"^([0-9]+):(.*)$", re.S)


@dataclass(frozen=True)
class EVR:
    """``[epoch:]version[-release]``. ``release`` is None when omitted (e.g. in a requirement)."""

    epoch: int
    version: str
    release: Optional[str] = None

    @classmethod
    def parse(cls, text: str) -> "EVR":
        if not isinstance(text, str):
            raise ParseError("EVR must be a string")
        s = text.strip()
        if not s or any(c.isspace() for c in s):
            raise ParseError("invalid EVR %r" % _short(text))
        epoch = 0
        m = _EPOCH_RE.match(s)
        if m:
            if len(m.group(1)) > 10:
                raise ParseError("epoch too large in %r" % _short(text))
            epoch = int(m.group(1))
            s = m.group(2)
        elif ":" in s:
            raise ParseError("invalid epoch in EVR %r" % _short(text))
        version, sep, release = s.rpartition("-")
        if not sep:
            version, release = s, None
        if not version or (sep and not release) or ":" in version or ":" in (release or ""):
            raise ParseError("invalid EVR %r" % _short(text))
        return cls(epoch, version, release)

    def __str__(self) -> str:  # like %{evr}: epoch only when non-zero
        out = ("%d:" % self.epoch if self.epoch else "") + self.version
        if self.release is not None:
            out += "-" + self.release
        return out

    def full(self) -> str:
        """Always with the epoch, as rpm prints it in dependency messages (``17:8.2.0-11.el9_4``)."""
        out = "%d:%s" % (self.epoch, self.version)
        if self.release is not None:
            out += "-" + self.release
        return out

    def cmp(self, other: "EVR") -> int:
        return compare_evr(self, other)

    def __lt__(self, other: "EVR") -> bool:
        return compare_evr(self, other) < 0

    def __le__(self, other: "EVR") -> bool:
        return compare_evr(self, other) <= 0

    def __gt__(self, other: "EVR") -> bool:
        return compare_evr(self, other) > 0

    def __ge__(self, other: "EVR") -> bool:
        return compare_evr(self, other) >= 0


def compare_evr(a: EVR, b: EVR) -> int:
    """Full EVR ordering (rpmVersionCompare): epoch, then version, then release.

    A missing release compares equal to any release (as rpm does when one side omits it).
    """
    if a.epoch != b.epoch:
        return 1 if a.epoch > b.epoch else -1
    rc = rpmvercmp(a.version, b.version)
    if rc or a.release is None or b.release is None:
        return rc
    return rpmvercmp(a.release, b.release)


@dataclass(frozen=True)
class NEVRA:
    name: str
    epoch: int
    version: str
    release: str
    arch: str

    @property
    def evr(self) -> EVR:
        return EVR(self.epoch, self.version, self.release)

    @classmethod
    def parse(cls, text: str) -> "NEVRA":
        """Parse ``name-[epoch:]version-release.arch`` (names may contain dashes)."""
        if not isinstance(text, str):
            raise ParseError("NEVRA must be a string")
        s = text.strip()
        if not s or any(c.isspace() for c in s):
            raise ParseError("invalid NEVRA %r" % _short(text))
        rest, dot, arch = s.rpartition(".")
        if not dot or not arch or "-" in arch:
            raise ParseError("NEVRA %r has no .arch suffix" % _short(text))
        rest, dash, release = rest.rpartition("-")
        if not dash or not release:
            raise ParseError("NEVRA %r has no release" % _short(text))
        name, dash, ev = rest.rpartition("-")
        if not dash or not name or not ev:
            raise ParseError("NEVRA %r has no name-version" % _short(text))
        evr = EVR.parse(ev)
        return cls(name, evr.epoch, evr.version, release, arch)

    @classmethod
    def from_evra(cls, name: str, evra: str) -> "NEVRA":
        """From the flat manifest form ``{"name": "evr.arch"}`` (extensions.json)."""
        if not isinstance(name, str) or not name or any(c.isspace() for c in name):
            raise ParseError("invalid package name %r" % _short(str(name)))
        return cls.parse("%s-%s" % (name, evra))

    def __str__(self) -> str:
        return "%s-%s.%s" % (self.name, self.evr, self.arch)


def parse_flags(text: str) -> int:
    """rpm ``depflags`` / primary.xml ``flags`` -> sense bits. Accepts ``<``, ``>=``, ``EQ``, ``GE``, ''."""
    s = (text or "").strip()
    named = {"EQ": RPMSENSE_EQUAL, "LT": RPMSENSE_LESS, "GT": RPMSENSE_GREATER,
             "LE": RPMSENSE_LESS | RPMSENSE_EQUAL, "GE": RPMSENSE_GREATER | RPMSENSE_EQUAL}
    if s in named:
        return named[s]
    if s == "==":
        return RPMSENSE_EQUAL
    flags = 0
    for ch in s:
        if ch == "<":
            flags |= RPMSENSE_LESS
        elif ch == ">":
            flags |= RPMSENSE_GREATER
        elif ch == "=":
            flags |= RPMSENSE_EQUAL
        else:
            raise ParseError("invalid dependency flags %r" % _short(text))
    if flags == RPMSENSE_LESS | RPMSENSE_GREATER:
        raise ParseError("invalid dependency flags %r" % _short(text))
    return flags


def format_flags(flags: int) -> str:
    out = ""
    if flags & RPMSENSE_LESS:
        out += "<"
    if flags & RPMSENSE_GREATER:
        out += ">"
    if flags & RPMSENSE_EQUAL:
        out += "="
    return out


def ranges_overlap(a: Optional[EVR], a_flags: int, b: Optional[EVR], b_flags: int) -> bool:
    """Do the ranges ``a a_flags`` and ``b b_flags`` overlap? (rpmdsCompare + rpmverOverlap).

    An existence test (no sense flags) or a missing EVR on either side always overlaps.
    A release omitted on one side matches any release when the other side includes equality.
    """
    if not (a_flags & RPMSENSE_SENSEMASK and b_flags & RPMSENSE_SENSEMASK):
        return True
    if a is None or b is None:
        return True
    sense = 0
    if a.epoch != b.epoch:
        sense = 1 if a.epoch > b.epoch else -1
    if sense == 0:
        sense = rpmvercmp(a.version, b.version)
        if sense == 0:
            if a.release and b.release:
                sense = rpmvercmp(a.release, b.release)
            elif (a.release and b_flags & RPMSENSE_EQUAL) or (b.release and a_flags & RPMSENSE_EQUAL):
                return True
    if sense < 0 and (a_flags & RPMSENSE_GREATER or b_flags & RPMSENSE_LESS):
        return True
    if sense > 0 and (a_flags & RPMSENSE_LESS or b_flags & RPMSENSE_GREATER):
        return True
    if sense == 0 and (
        (a_flags & RPMSENSE_EQUAL and b_flags & RPMSENSE_EQUAL)
        or (a_flags & RPMSENSE_LESS and b_flags & RPMSENSE_LESS)
        or (a_flags & RPMSENSE_GREATER and b_flags & RPMSENSE_GREATER)
    ):
        return True
    return False


def satisfies(provide_evr: Optional[EVR], flags: int, required_evr: Optional[EVR],
              provide_flags: int = RPMSENSE_EQUAL) -> bool:
    """Does a provide (``= provide_evr``, or unversioned when None) satisfy ``flags required_evr``?

    A provide without a version satisfies any requirement; a requirement without flags/version is
    satisfied by any provide of the name; a requirement omitting the release matches any release.
    """
    if provide_evr is None:
        return True
    return ranges_overlap(provide_evr, provide_flags, required_evr, flags)


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit] + "..."
