"""Re-export: parsers and their callers import ParseError from here (it lives in core.errors so that
core.rpm, which the parsers use, does not import the parse package back)."""
from __future__ import annotations

from kubectl_kata.core.errors import ParseError

__all__ = ["ParseError"]
