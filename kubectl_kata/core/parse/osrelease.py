"""``/etc/os-release`` (shell-style KEY=value, os-release(5))."""
from __future__ import annotations

import re
import shlex
from typing import Dict

from kubectl_kata.core.parse._util import Data, to_text
from kubectl_kata.core.parse.errors import ParseError

__all__ = ["parse_os_release"]

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def parse_os_release(data: Data) -> Dict[str, str]:
    """Return the key/value pairs; unparseable lines are skipped, no pairs at all is an error."""
    text = to_text(data, "os-release", 256 * 1024)
    out: Dict[str, str] = {}
    for line in text.splitlines():
        s = line.strip()
        if not s or s.startswith("#") or "=" not in s:
            continue
        key, _, value = s.partition("=")
        key = key.strip()
        if not _KEY.match(key):
            continue
        try:
            parts = shlex.split(value, posix=True)
        except ValueError:
            parts = [value.strip().strip("\"'")]
        out[key] = " ".join(parts) if parts else ""
    if not out:
        raise ParseError("os-release: no KEY=value lines")
    return out
