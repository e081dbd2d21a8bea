"""Walking a must-gather safely: the members doctor uses (:func:`members`), from a directory or a tarball, read into
memory within the size caps; nothing is extracted or written.

Names that are absolute or contain ``..`` make the whole must-gather refused; links and special files are never
followed (one at a path doctor would read is refused, elsewhere ignored); a file doctor reads must stay under
``MAX_FILE_BYTES`` and all of them under ``MAX_READ_BYTES``; a tarball may declare at most ``MAX_DECLARED_BYTES``.
The safe listing itself is :mod:`kubectl_kata.doctor.archive`, which support bundles share.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterator, List, Optional, Tuple

from kubectl_kata.doctor.archive import DIR, FILE, Entry, dir_entries, is_tarball, tar_entries
from kubectl_kata.doctor.mustgather.layout import NOT_A_MUSTGATHER, NOTE_ONLY, relevant
from kubectl_kata.errors import BundleError

__all__ = ["Member", "Walker", "members", "looks_like_mustgather", "prefix_of", "MAX_FILE_BYTES", "MAX_READ_BYTES", "MAX_ENTRIES", "MAX_DECLARED_BYTES"]

MAX_FILE_BYTES = 32 * 1024 * 1024          # one file doctor reads (a rendered MachineConfig is ~1 MiB)
MAX_READ_BYTES = 1024 * 1024 * 1024        # everything doctor reads from one must-gather
MAX_ENTRIES = 1_000_000                    # archive/dir entries scanned (a default must-gather has ~10^4-10^5)
MAX_DECLARED_BYTES = 64 * 1024 * 1024 * 1024   # sum of member sizes a tarball may declare
LABEL = "must-gather"


@dataclass
class Member:
    parts: List[str]
    what: Tuple[str, ...]
    data: Optional[bytes]


class Walker:
    """The budget of one walk (entries seen, bytes read) and the links/special files it ignored."""

    def __init__(self) -> None:
        self.read_bytes = 0
        self.entries = 0
        self.ignored: List[str] = []

    def count(self) -> None:
        self.entries += 1
        if self.entries > MAX_ENTRIES:
            raise BundleError("must-gather has more than %d entries" % MAX_ENTRIES)

    def take(self, name: str, size: int) -> None:
        if size > MAX_FILE_BYTES:
            raise BundleError("must-gather file %r is %d bytes, more than the %d-byte limit"
                              % (name, size, MAX_FILE_BYTES))
        self.read_bytes += size
        if self.read_bytes > MAX_READ_BYTES:
            raise BundleError("must-gather files doctor reads exceed %d bytes" % MAX_READ_BYTES)

    def ignore(self, name: str, what: str, relevant: bool) -> None:
        if relevant:
            raise BundleError("refusing %s %r in must-gather (only regular files are read)" % (what, name))
        if len(self.ignored) < 20:
            self.ignored.append("%s (%s)" % (name, what))


def _select(entries: Iterator[Entry], w: Walker, prefix: List[str], tarball: bool) -> Iterator[Member]:
    declared = 0
    for e in entries:
        w.count()
        parts = prefix + e.parts
        if tarball and e.kind == DIR:
            continue        # a tarball's run/vc shows in the files below it
        what = relevant(parts)
        if e.kind not in (FILE, DIR):
            w.ignore(e.name, e.kind, what is not None and what[0] not in NOTE_ONLY)   # a link or special file
            continue
        if e.kind == DIR:
            if what is not None and what[0] == "node-vc":
                yield Member(parts, what, None)
            continue
        if tarball:
            declared += max(0, e.size)
            if declared > MAX_DECLARED_BYTES:
                raise BundleError("must-gather archive declares more than %d bytes" % MAX_DECLARED_BYTES)
        if what is None:
            continue
        if what[0] in NOTE_ONLY:
            yield Member(parts, what, None)
            continue
        w.take(e.name, e.size)
        yield Member(parts, what, e.read(MAX_FILE_BYTES))


def members(path: str, w: Walker) -> Iterator[Member]:
    """The members of the must-gather at ``path`` (a directory or a tarball) doctor uses, in walk order."""
    if os.path.isdir(path):
        return _select(dir_entries(path, LABEL), w, prefix_of(path), tarball=False)
    if is_tarball(path):
        return _select(tar_entries(path, LABEL, stream=True), w, [], tarball=True)
    raise BundleError("%s is not a directory or a tarball: %s" % (path, NOT_A_MUSTGATHER))


def prefix_of(root: str) -> List[str]:
    """The input directory's own trailing path components (so a directory below the image root, e.g.
    ``.../cluster-scoped-resources/core``, still shows where its files sit)."""
    parts = [p for p in os.path.abspath(root).replace(os.sep, "/").split("/") if p]
    return parts[-5:]


def looks_like_mustgather(path: str) -> bool:
    """Cheap recognition for the ``--from`` dispatch (directories: a bounded look at the tree)."""
    if not os.path.isdir(path):
        return False
    budget = 5000
    prefix = prefix_of(path)
    for dirpath, dirnames, filenames in os.walk(path, followlinks=False):
        rel = os.path.relpath(dirpath, path).replace(os.sep, "/")
        base = prefix + ([p for p in rel.split("/") if p not in ("", ".")])
        if base and base[-1] in ("cluster-scoped-resources", "namespaces", "sandboxed-containers"):
            return True
        for f in filenames:
            budget -= 1
            if relevant(base + [f]) is not None:
                return True
        budget -= len(dirnames)
        if budget <= 0:
            return False
    return False
