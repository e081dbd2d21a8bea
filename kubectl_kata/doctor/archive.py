"""Safe reading of a tarball or a directory tree, shared by support bundles and must-gathers.

:func:`tar_entries` and :func:`dir_entries` list what is there as :class:`Entry` (a file, a directory, a link or a
special file), never following a link and never writing anything: an entry's content is read into memory only
when the caller asks for it (:meth:`Entry.read`), capped at the size the caller allows. Member names that are
absolute or contain ``..`` raise at once. What to refuse, ignore or count is the caller's policy (a bundle
refuses every link, a must-gather ignores those where it reads nothing); every error is a ``BundleError``
naming the ``label`` (``bundle``, ``must-gather``).
"""
from __future__ import annotations

import os
import re
import stat
import tarfile
from typing import Callable, Iterator, List, Optional

from kubectl_kata.errors import BundleError

__all__ = ["Entry", "check_name", "tar_entries", "dir_entries", "is_tarball", "FILE", "DIR", "LINK", "SPECIAL"]

FILE, DIR, LINK, SPECIAL = "file", "dir", "link", "special file"
_TAR_ERRORS = (tarfile.TarError, EOFError, OSError, ValueError)


def check_name(name: str, label: str) -> List[str]:
    """The components of a relative member name; ``BundleError`` for an absolute one or one with ``..``."""
    if not name or "\x00" in name or name.startswith("/") or "\\" in name or re.match(r"^[A-Za-z]:", name):
        raise BundleError("unsafe path in %s: %r (absolute paths are refused)" % (label, name))
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise BundleError("unsafe path in %s: %r (path traversal with '..' is refused)" % (label, name))
    return parts


class Entry:
    """One member: ``name`` as the archive spells it (relative to the directory for a tree), its checked
    ``parts``, ``kind`` (FILE, DIR, LINK, SPECIAL), the ``size`` it declares, ``path`` on disk (trees only)."""

    __slots__ = ("name", "parts", "kind", "size", "path", "_reader")

    def __init__(self, name: str, parts: List[str], kind: str, size: int, path: Optional[str],
                 reader: Callable[[int], bytes]) -> None:
        self.name, self.parts, self.kind, self.size, self.path = name, parts, kind, size, path
        self._reader = reader

    def read(self, limit: int) -> bytes:
        """The file's content, at most ``limit`` bytes (the caller has checked ``size`` against it)."""
        return self._reader(limit)


def _kind_of_member(m: tarfile.TarInfo) -> str:
    if m.isdir():
        return DIR
    if m.isfile():
        return FILE
    return LINK if (m.issym() or m.islnk()) else SPECIAL


def tar_entries(path: str, label: str, stream: bool = True) -> Iterator[Entry]:
    """The members of a tarball (any compression tarfile knows) in archive order. ``stream`` reads it in one
    pass (``r|*``) keeping no member list, so memory does not grow with the archive."""
    try:
        with tarfile.open(path, mode="r|*" if stream else "r:*") as tar:
            for m in tar:
                if stream:
                    tar.members = []
                parts = check_name(m.name, label)

                def reader(limit: int, m: tarfile.TarInfo = m) -> bytes:
                    try:
                        fh = tar.extractfile(m)
                        data = fh.read(limit + 1) if fh else b""
                    except _TAR_ERRORS as exc:
                        raise BundleError("cannot read %s %s: %s" % (label, path, exc)) from None
                    if len(data) != m.size:
                        raise BundleError("%s member %r is truncated" % (label, m.name))
                    return data

                yield Entry(m.name, parts, _kind_of_member(m), m.size, None, reader)
    except _TAR_ERRORS as exc:
        if isinstance(exc, BundleError):
            raise
        raise BundleError("cannot read %s %s: %s" % (label, path, exc)) from None


def _read_regular(full: str, rel: str, label: str, limit: int) -> bytes:
    """A regular file's content, opened without following a link (a file swapped for a link or a FIFO after it
    was listed is refused, never followed or blocked on)."""
    try:
        fd = os.open(full, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise BundleError("cannot read %s file %s: %s" % (label, rel, exc.strerror or exc)) from None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise BundleError("refusing special file %r in %s" % (rel, label))
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise BundleError("%s file %r grew past the %d-byte limit" % (label, rel, limit))
    return data


def dir_entries(root: str, label: str) -> Iterator[Entry]:
    """Everything below ``root`` (directories first at each level, then files, each sorted), by ``lstat``:
    links are reported as links, never followed; an entry that vanishes while listed is skipped."""
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for name in list(dirnames) + sorted(filenames):
            full = os.path.join(dirpath, name)
            try:
                st = os.lstat(full)
            except OSError:
                continue
            rel = os.path.relpath(full, root).replace(os.sep, "/")
            if stat.S_ISLNK(st.st_mode):
                kind = LINK
            elif stat.S_ISDIR(st.st_mode):
                kind = DIR
            elif stat.S_ISREG(st.st_mode):
                kind = FILE
            else:
                kind = SPECIAL

            def reader(limit: int, full: str = full, rel: str = rel) -> bytes:
                return _read_regular(full, rel, label, limit)

            yield Entry(rel, check_name(rel, label), kind, st.st_size, full, reader)


def is_tarball(path: str) -> bool:
    """Whether the file starts like a tarball: gzip, bzip2 or xz magic, or a bare tar's ``ustar`` header."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(262)
    except OSError:
        return False
    return head[:2] == b"\x1f\x8b" or head[257:262] == b"ustar" or head[:3] == b"BZh" or head[:6] == b"\xfd7zXZ\x00"
