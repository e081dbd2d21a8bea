"""The one exception every node/repo parser raises on bad input."""
from __future__ import annotations


class ParseError(ValueError):
    """Malformed, truncated, oversized or undecodable input.

    Parsers raise only this (never KeyError/TypeError/UnicodeDecodeError...), so callers can turn
    any parse failure into a finding with one ``except ParseError``.
    """
