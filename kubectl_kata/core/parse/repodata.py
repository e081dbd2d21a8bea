"""Extensions-repo metadata (DOMAIN 1.6): repomd.xml, primary.xml and the flat extensions.json.

``primary.xml`` may be plain or gzip/bzip2/xz compressed (zstd only when the optional
``zstandard`` module is importable). It is parsed with defusedxml (no DTDs, entities or external
references) as a stream with a cap on the decompressed size, so a hostile or corrupt file yields a
ParseError instead of exhausting memory.
"""
from __future__ import annotations

import bz2
import gzip
import io
import lzma
import zlib
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Optional
from xml.etree import ElementTree as _ET

import defusedxml
import defusedxml.ElementTree as DET

from kubectl_kata.core.parse._util import Data, load_json, short
from kubectl_kata.core.parse.errors import ParseError
from kubectl_kata.core.parse.rpmdb import Dep
from kubectl_kata.core.rpm import EVR, NEVRA, parse_flags

__all__ = [
    "RepomdEntry", "parse_repomd", "primary_location", "RepoPackage", "parse_primary",
    "parse_extensions_json", "MAX_PRIMARY_BYTES",
]

NS_REPO = "http://linux.duke.edu/metadata/repo"
NS_COMMON = "http://linux.duke.edu/metadata/common"
NS_RPM = "http://linux.duke.edu/metadata/rpm"

MAX_REPOMD_BYTES = 4 * 1024 * 1024
MAX_PRIMARY_BYTES = 256 * 1024 * 1024   # decompressed
MAX_PACKAGES = 200_000

_XML_ERRORS = (_ET.ParseError, defusedxml.DefusedXmlException, OSError, EOFError, lzma.LZMAError,
               zlib.error, ValueError, UnicodeError, LookupError)


@dataclass(frozen=True)
class RepomdEntry:
    type: str
    location: str
    checksum: Optional[str] = None
    size: Optional[int] = None
    open_size: Optional[int] = None


def _tag(elem) -> str:
    t = elem.tag if isinstance(elem.tag, str) else ""
    return t.rsplit("}", 1)[-1]


def _to_bytes(data: Data, what: str, cap: int) -> bytes:
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass") if data else b""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ParseError("%s: expected bytes, got %s" % (what, type(data).__name__))
    raw = bytes(data)
    if len(raw) > cap:
        raise ParseError("%s: larger than %d bytes" % (what, cap))
    if not raw.strip():
        raise ParseError("%s: empty" % what)
    return raw


def parse_repomd(data: Data) -> Dict[str, RepomdEntry]:
    raw = _to_bytes(data, "repomd.xml", MAX_REPOMD_BYTES)
    try:
        root = DET.fromstring(raw, forbid_dtd=True)
    except RecursionError:
        raise ParseError("repomd.xml: nested too deeply") from None
    except _XML_ERRORS as exc:
        raise ParseError("repomd.xml: %s" % short(str(exc), 200)) from None
    if _tag(root) != "repomd":
        raise ParseError("repomd.xml: root element is <%s>, not <repomd>" % short(_tag(root)))
    out: Dict[str, RepomdEntry] = {}
    for data_el in root:
        if _tag(data_el) != "data":
            continue
        typ = data_el.get("type")
        href = None
        checksum = size = open_size = None
        for child in data_el:
            t = _tag(child)
            if t == "location":
                href = child.get("href")
            elif t == "checksum":
                checksum = (child.text or "").strip() or None
            elif t in ("size", "open-size"):
                txt = (child.text or "").strip()
                val = int(txt) if txt.isdigit() and len(txt) < 20 else None
                if t == "size":
                    size = val
                else:
                    open_size = val
        if typ and href:
            out[typ] = RepomdEntry(typ, href, checksum, size, open_size)
    return out


def primary_location(data: Data) -> str:
    """``href`` of the ``primary`` entry (relative to the repo root, e.g. ``repodata/...-primary.xml.gz``)."""
    entries = parse_repomd(data)
    entry = entries.get("primary")
    if entry is None:
        raise ParseError("repomd.xml has no 'primary' data entry (types: %s)" % (", ".join(sorted(entries)) or "none"))
    loc = entry.location
    if loc.startswith("/") or ".." in loc.split("/") or "://" in loc:
        raise ParseError("repomd.xml: refusing primary location %r outside the repo" % short(loc))
    return loc


@dataclass
class RepoPackage:
    name: str
    arch: str
    epoch: int
    version: str
    release: str
    provides: List[Dep] = field(default_factory=list)
    requires: List[Dep] = field(default_factory=list)
    files: List[str] = field(default_factory=list)
    location: Optional[str] = None

    @property
    def nevra(self) -> NEVRA:
        return NEVRA(self.name, self.epoch, self.version, self.release, self.arch)

    @property
    def evr(self) -> EVR:
        return EVR(self.epoch, self.version, self.release)


class _CappedReader(io.RawIOBase):
    """File-like wrapper that refuses to deliver more than ``cap`` bytes."""

    def __init__(self, inner, cap: int):
        super().__init__()
        self._inner = inner
        self._cap = cap
        self._read = 0

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = 1 << 20
        chunk = self._inner.read(min(n, self._cap - self._read + 1))
        self._read += len(chunk)
        if self._read > self._cap:
            raise ParseError("primary.xml: more than %d bytes once decompressed" % self._cap)
        return chunk

    def readinto(self, b) -> int:
        chunk = self.read(len(b))
        b[:len(chunk)] = chunk
        return len(chunk)


def _open_stream(raw: bytes, cap: int):
    bio = io.BytesIO(raw)
    if raw[:2] == b"\x1f\x8b":
        inner = gzip.GzipFile(fileobj=bio)
    elif raw[:3] == b"BZh":
        inner = bz2.BZ2File(bio)
    elif raw[:6] == b"\xfd7zXZ\x00":
        inner = lzma.LZMAFile(bio)
    elif raw[:4] == b"\x28\xb5\x2f\xfd":
        try:
            import zstandard  # type: ignore[import-not-found]
        except ImportError:
            raise ParseError(
                "primary.xml is zstd-compressed and the optional 'zstandard' Python module is not "
                "installed; install it (pip install zstandard) or decompress the file first") from None
        inner = zstandard.ZstdDecompressor().stream_reader(bio)
    else:
        inner = bio
    return _CappedReader(inner, cap)


def _int_attr(elem, key: str, default: int = 0) -> int:
    v = elem.get(key)
    if v is None or v == "":
        return default
    if not v.isdigit() or len(v) > 10:
        raise ParseError("primary.xml: bad %s=%r" % (key, short(v)))
    return int(v)


def _entry_dep(elem) -> Dep:
    name = (elem.get("name") or "").strip()
    if not name:
        raise ParseError("primary.xml: rpm:entry without a name")
    flags = elem.get("flags")
    if not flags:
        return Dep(name)
    ver = elem.get("ver")
    if not ver:
        raise ParseError("primary.xml: entry %r has flags but no ver" % short(name))
    rel = elem.get("rel") or None
    epoch = _int_attr(elem, "epoch")
    evr = EVR(epoch, ver, rel)
    if any(c.isspace() for c in str(evr)):
        raise ParseError("primary.xml: bad version in entry %r" % short(name))
    return Dep(name, parse_flags(flags), evr)


def _package(elem) -> RepoPackage:
    name = arch = None
    epoch = 0
    version = release = None
    location = None
    provides: List[Dep] = []
    requires: List[Dep] = []
    files: List[str] = []
    for child in elem:
        t = _tag(child)
        if t == "name":
            name = (child.text or "").strip()
        elif t == "arch":
            arch = (child.text or "").strip()
        elif t == "version":
            epoch = _int_attr(child, "epoch")
            version = child.get("ver")
            release = child.get("rel")
        elif t == "location":
            location = child.get("href")
        elif t == "format":
            for f in child:
                ft = _tag(f)
                if ft in ("provides", "requires"):
                    target = provides if ft == "provides" else requires
                    for entry in f:
                        if _tag(entry) != "entry":
                            continue
                        dep = _entry_dep(entry)
                        if dep.name.startswith("rpmlib(") or dep.name.startswith("config("):
                            continue
                        if dep not in target:
                            target.append(dep)
                elif ft == "file":
                    path = (f.text or "").strip()
                    if path.startswith("/"):
                        files.append(path)
    for label, value in (("name", name), ("arch", arch), ("version", version), ("release", release)):
        if not value or any(c.isspace() for c in value):
            raise ParseError("primary.xml: package with missing/invalid %s" % label)
    return RepoPackage(name, arch, epoch, version, release, provides, requires, files, location)  # type: ignore[arg-type]


def _iter_packages(stream) -> Iterator[RepoPackage]:
    root = None
    count = 0
    for event, elem in DET.iterparse(stream, events=("start", "end"), forbid_dtd=True):
        if root is None:
            root = elem
            if _tag(root) != "metadata":
                raise ParseError("primary.xml: root element is <%s>, not <metadata>" % short(_tag(root)))
            continue
        if event == "end" and _tag(elem) == "package":
            count += 1
            if count > MAX_PACKAGES:
                raise ParseError("primary.xml: more than %d packages" % MAX_PACKAGES)
            yield _package(elem)
            elem.clear()
            root.clear()
    if root is None:
        raise ParseError("primary.xml: no XML content")


def parse_primary(data: Data, *, max_bytes: int = MAX_PRIMARY_BYTES) -> List[RepoPackage]:
    """primary.xml (plain or compressed) -> packages with provides/requires (rich deps verbatim) and files."""
    raw = _to_bytes(data, "primary.xml", max_bytes)
    stream = _open_stream(raw, max_bytes)
    try:
        return list(_iter_packages(stream))
    except ParseError:
        raise
    except RecursionError:
        raise ParseError("primary.xml: nested too deeply") from None
    except _XML_ERRORS as exc:
        raise ParseError("primary.xml: %s" % short(str(exc) or type(exc).__name__, 200)) from None


def parse_extensions_json(data: Data) -> Dict[str, NEVRA]:
    """Flat manifest ``{"<name>": "<evr>.<arch>", ...}`` (4.19+ ``/usr/share/rpm-ostree/extensions.json``)."""
    doc = load_json(data, "extensions.json", MAX_REPOMD_BYTES)
    if not isinstance(doc, dict):
        raise ParseError("extensions.json: top level is not an object")
    out: Dict[str, NEVRA] = {}
    for name, evra in doc.items():
        if not isinstance(evra, str):
            raise ParseError("extensions.json: value for %r is not a string" % short(str(name)))
        out[name] = NEVRA.from_evra(name, evra)
    return out
