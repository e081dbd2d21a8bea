"""What a doctor run collected, shared by collection (services), analysis and bundles (doctor).

A :class:`Collected` is everything the analysis needs and everything a support bundle stores: the redacted
cluster facts, the scope, one :class:`ProbeRecord` per node (with the raw outputs) and the expected versions
used. A live run builds it from the cluster; ``doctor --from`` rebuilds it from a bundle, so both analyse
alike.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional

from kubectl_kata.core.nodefacts import NodeFacts, RawResult, parse_node_facts
from kubectl_kata.doctor.expected import Expectation

__all__ = ["ProbeRecord", "Collected", "parse_facts", "node_facts", "node_arches", "raw_digest"]


@dataclass
class ProbeRecord:
    node: str
    ok: bool
    reason: str
    error: Optional[str]
    raw: Optional[Dict[str, RawResult]]
    notes: List[str] = field(default_factory=list)
    stderr_tail: str = ""
    command: List[str] = field(default_factory=list)
    duration_s: float = 0.0
    # parsed once (in the probe's worker thread, while other nodes are still being probed) and
    # reused by the consensus fallback and by analyse(); never stored in a bundle
    facts: Optional[NodeFacts] = field(default=None, compare=False, repr=False)

    @classmethod
    def from_probe(cls, res: Any, raw: Optional[Mapping[str, RawResult]] = None, facts: Optional[NodeFacts] = None,
                   **extra: Any) -> "ProbeRecord":
        """The record of a probe's result (``res``: a ``NodeProbeResult``); ``raw`` instead of ``res.raw`` when
        given, ``facts`` kept only with outputs; ``extra`` goes to a subclass's constructor."""
        raw = res.raw if raw is None else raw
        return cls(node=res.node, ok=res.ok, reason=res.reason, error=res.error, raw=raw, notes=list(res.notes),
                   stderr_tail=res.stderr_tail, command=list(res.command),
                   duration_s=round(float(res.duration_s), 3), facts=facts if raw else None, **extra)


@dataclass
class Collected:
    facts: Dict[str, Any]
    scope: Dict[str, Any]                       # pool, nodes, selector
    probes: Dict[str, ProbeRecord]
    expectation: Expectation
    via: Optional[str] = None
    commands: List[List[str]] = field(default_factory=list)
    # Ctrl-C: the nodes whose probe was stopped or never started (None = the run was not interrupted)
    interrupted: Optional[List[str]] = None
    # why this collector ran (``--via auto``'s decision); reported as ``collector`` (None: not recorded)
    via_reason: Optional[str] = None


def parse_facts(raw: Mapping[str, RawResult]) -> NodeFacts:
    """The one place doctor parses a node's raw outputs into :class:`NodeFacts` (bad input ends up in
    ``facts.errors``)."""
    return parse_node_facts(raw)


def raw_digest(raw: Mapping[str, RawResult]) -> str:
    """A digest of a node's raw outputs (every item's key, stdout, stderr and rc, length-prefixed): equal digests
    mean byte-identical outputs, hence equal :class:`NodeFacts`. Nodes of one pool often return identical outputs,
    so the analysis parses each distinct set once."""
    h = hashlib.sha256()
    for key in sorted(raw):
        res = raw[key]
        for part in (key.encode(), bytes(res.stdout), bytes(res.stderr or b""), str(res.rc).encode()):
            h.update(b"%d:" % len(part))
            h.update(part)
    return h.hexdigest()


def node_facts(rec: ProbeRecord) -> Optional[NodeFacts]:
    """The record's parsed :class:`NodeFacts` (parsed on first use, then kept); None without raw data."""
    if rec.facts is None and rec.raw:
        rec.facts = parse_facts(rec.raw)
    return rec.facts


def node_arches(records: Mapping[str, ProbeRecord]) -> Dict[str, str]:
    """node -> `uname -m` output (read directly: a full parse of every node is analyse()'s job)."""
    out = {}
    for node, rec in records.items():
        res = (rec.raw or {}).get("uname-m")
        if res is not None and res.rc == 0:
            arch = bytes(res.stdout).decode("utf-8", "replace").strip()
            if arch and len(arch) < 64 and not any(c.isspace() for c in arch):
                out[node] = arch
    return out
