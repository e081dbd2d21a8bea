"""Shared input guards for the parsers: size cap, strict UTF-8, JSON without recursion blow-ups."""
from __future__ import annotations

import json
from typing import Any, Union

from kubectl_kata.core.parse.errors import ParseError

Data = Union[bytes, bytearray, memoryview, str]

# Node command outputs are small; a cap keeps a runaway (or hostile) output from eating memory.
DEFAULT_MAX_BYTES = 32 * 1024 * 1024


def to_text(data: Data, what: str, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """Decode ``data`` as strict UTF-8 (``str`` passes through) within ``max_bytes``."""
    if isinstance(data, str):
        if len(data) > max_bytes:
            raise ParseError("%s: input larger than %d bytes" % (what, max_bytes))
        return data
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ParseError("%s: expected bytes or str, got %s" % (what, type(data).__name__))
    raw = bytes(data)
    if len(raw) > max_bytes:
        raise ParseError("%s: input larger than %d bytes" % (what, max_bytes))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParseError("%s: not valid UTF-8 at byte %d" % (what, exc.start)) from None


def load_json(data: Data, what: str, max_bytes: int = DEFAULT_MAX_BYTES) -> Any:
    text = to_text(data, what, max_bytes)
    if not text.strip():
        raise ParseError("%s: empty output" % what)
    try:
        return json.loads(text)
    except RecursionError:
        raise ParseError("%s: JSON nested too deeply" % what) from None
    except ValueError as exc:  # json.JSONDecodeError is a ValueError
        raise ParseError("%s: invalid JSON (%s)" % (what, exc)) from None


def short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit] + "..."
