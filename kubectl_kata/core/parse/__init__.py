"""Pure parsers for what the node probe and the extensions repo return.

Every parser takes ``bytes`` or ``str`` and either returns a value or raises :class:`ParseError`.
"""
from __future__ import annotations

from kubectl_kata.core.parse.errors import ParseError

__all__ = ["ParseError"]
