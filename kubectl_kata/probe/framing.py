"""Framed output of the node collection script: encoding and tolerant parsing.

The collection script (``kubectl_kata.probe.script``) prints, to stdout::

    @@KATA-<nonce> BEGIN v1
    @@KATA-<nonce> ITEM <key> rc=<int> out=<base64 -w0 of stdout> err=<base64 -w0 of stderr>
    ...
    @@KATA-<nonce> END

``oc debug`` streams the pod log, where the remote stdout and stderr are interleaved, and a
caller may even merge oc's own stderr notices (``Starting pod/...``, ``Removing debug pod ...``)
into the same text. Every line that does not carry the marker for *this run's* nonce is
therefore ignored. The marker may be preceded by junk on its line (e.g. ``kubectl logs
--timestamps``); everything before it is skipped.

``parse_framed`` never raises for odd content; it reports what was wrong as a list of
one-line *problems* and returns the items it could decode. It raises ``FramingError`` only
for unusable input: a value that is neither ``bytes`` nor ``str``, an invalid nonce, or input
larger than ``MAX_TOTAL_BYTES``.
"""
from __future__ import annotations

import base64
import binascii
import re
from typing import Dict, List, Mapping, Tuple, Union

from kubectl_kata.core.nodefacts import RawResult

__all__ = [
    "FRAME_VERSION",
    "MAX_ITEM_BYTES",
    "MAX_TOTAL_BYTES",
    "FramingError",
    "RawResult",
    "encode_framed",
    "marker",
    "parse_framed",
    "valid_nonce",
]

FRAME_VERSION = "v1"
MAX_TOTAL_BYTES = 256 * 1024 * 1024       # whole captured stdout
MAX_ITEM_BYTES = 64 * 1024 * 1024         # one decoded stream of one item

_NONCE_RE = re.compile(r"^[A-Za-z0-9]{8,64}$")
_KEY_RE = re.compile(rb"^[A-Za-z0-9_.:-]{1,128}$")
_RC_RE = re.compile(rb"^-?[0-9]{1,6}$")
# base64 alphabet, possibly empty; checked before decoding so that junk is reported, not guessed
_B64_RE = re.compile(rb"^[A-Za-z0-9+/]*={0,2}$")


class FramingError(ValueError):
    """The input cannot be parsed at all (wrong type, bad nonce, or too large)."""


def valid_nonce(nonce: str) -> bool:
    """A nonce is 8-64 ASCII letters/digits (safe inside a single-quoted shell word)."""
    return isinstance(nonce, str) and bool(_NONCE_RE.match(nonce))


def marker(nonce: str) -> str:
    """The line prefix the script uses for this nonce, without the trailing space."""
    if not valid_nonce(nonce):
        raise FramingError("invalid nonce %r: expected 8-64 letters or digits" % (nonce,))
    return "@@KATA-" + nonce


def encode_framed(nonce: str, items: Mapping[str, RawResult]) -> bytes:
    """The exact bytes the collection script prints for ``items`` (used by fakes and tests)."""
    m = marker(nonce).encode("ascii")
    lines = [m + b" BEGIN " + FRAME_VERSION.encode("ascii")]
    for key, res in items.items():
        kb = key.encode("ascii")
        if not _KEY_RE.match(kb):
            raise FramingError("invalid item key %r" % (key,))
        lines.append(
            m + b" ITEM " + kb
            + b" rc=" + str(int(res.rc)).encode("ascii")
            + b" out=" + base64.b64encode(bytes(res.stdout))
            + b" err=" + base64.b64encode(bytes(res.stderr))
        )
    lines.append(m + b" END")
    return b"\n".join(lines) + b"\n"


def _as_bytes(data: Union[bytes, bytearray, memoryview, str]) -> bytes:
    if isinstance(data, str):
        return data.encode("utf-8", "surrogateescape")
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    raise FramingError("framed output must be bytes or str, not %s" % type(data).__name__)


def _short(b: bytes, limit: int = 60) -> str:
    s = b.decode("ascii", "backslashreplace")
    return s if len(s) <= limit else s[:limit] + "..."


def _decode_stream(value: bytes, what: str, key: str, problems: List[str]) -> Union[bytes, None]:
    if len(value) > (MAX_ITEM_BYTES * 4) // 3 + 4:
        problems.append("item %r: %s larger than %d bytes, dropped" % (key, what, MAX_ITEM_BYTES))
        return None
    if not _B64_RE.match(value) or len(value) % 4:
        problems.append("item %r: %s is not valid base64 (line damaged or truncated)" % (key, what))
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        problems.append("item %r: %s is not valid base64" % (key, what))
        return None


def parse_framed(data: Union[bytes, str], nonce: str) -> Tuple[Dict[str, RawResult], List[str]]:
    """Decode the items framed with ``nonce`` from ``data``.

    Returns ``(items, problems)``. ``items`` holds every well-formed ITEM line (first one wins
    for a duplicated key). ``problems`` is empty exactly when the block was complete and clean:
    BEGIN v1 seen, END seen, no damaged, duplicate or out-of-block items.
    """
    m = marker(nonce).encode("ascii") + b" "
    raw = _as_bytes(data)
    if len(raw) > MAX_TOTAL_BYTES:
        raise FramingError("framed output is %d bytes, more than the %d byte limit"
                           % (len(raw), MAX_TOTAL_BYTES))

    items: Dict[str, RawResult] = {}
    head: List[str] = []        # problems with the block as a whole, reported first
    problems: List[str] = []    # problems with single lines
    begins = 0
    ended = False
    early: List[str] = []       # items seen before any BEGIN
    lines = raw.split(b"\n")
    cut_line = len(lines) - 1 if lines and lines[-1] else -1   # no final newline: last line cut
    for idx, line in enumerate(lines):
        pos = line.find(m)
        if pos < 0:
            continue
        if idx == cut_line:
            problems.append("output cut off in the middle of a framed line")
            continue
        body = line[pos + len(m):].rstrip(b"\r")
        if body.startswith(b"BEGIN"):
            begins += 1
            version = body[len(b"BEGIN"):].strip()
            if begins > 1:
                problems.append("BEGIN marker seen more than once")
            elif version != FRAME_VERSION.encode("ascii"):
                head.append("unsupported frame version %r (expected %s)" % (_short(version), FRAME_VERSION))
            continue
        if body == b"END" or body.startswith(b"END "):
            if ended:
                problems.append("END marker seen more than once")
            ended = True
            continue
        if not body.startswith(b"ITEM "):
            problems.append("unknown framed line %r" % (_short(body),))
            continue
        fields = body[len(b"ITEM "):].split(b" ")
        key_b = fields[0]
        if not _KEY_RE.match(key_b):
            problems.append("framed item with invalid key %r" % (_short(key_b),))
            continue
        key = key_b.decode("ascii")
        attrs: Dict[bytes, bytes] = {}
        for f in fields[1:]:
            name, sep, value = f.partition(b"=")
            if sep and name not in attrs:
                attrs[name] = value
        if b"rc" not in attrs or b"out" not in attrs or b"err" not in attrs:
            problems.append("item %r: incomplete line" % key)
            continue
        if not _RC_RE.match(attrs[b"rc"]):
            problems.append("item %r: bad exit status %r" % (key, _short(attrs[b"rc"])))
            continue
        out = _decode_stream(attrs[b"out"], "stdout", key, problems)
        err = _decode_stream(attrs[b"err"], "stderr", key, problems)
        if out is None or err is None:
            continue
        if key in items:
            problems.append("item %r appears more than once; the first one is kept" % key)
            continue
        if ended:
            problems.append("item %r appears after the END marker" % key)
        elif not begins:
            early.append(key)
        items[key] = RawResult(out, err, int(attrs[b"rc"]))

    if begins and early:   # out of the block: the BEGIN line came later (lines reordered or spliced)
        problems.append("item(s) %s appear before the BEGIN marker" % ", ".join(repr(k) for k in early))

    if not begins:
        if items or ended:
            head.insert(0, "BEGIN marker missing (start of the output lost)")
        else:
            head.insert(0, "no framed output found (BEGIN marker missing)")
    if not ended and (begins or items):
        head.append("END marker missing (output truncated)")
    return items, head + problems
