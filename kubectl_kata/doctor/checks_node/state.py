"""The node under check: its facts, what the cluster expects of it, and the findings emitted so far.

Every check module takes a :class:`CheckedNode`, reads what it needs and calls :meth:`CheckedNode.add`;
``check_node`` runs them in the order the findings are reported.
"""
from __future__ import annotations

from typing import Any, FrozenSet, Iterable, List, Mapping, Optional, Tuple

from kubectl_kata.core.closure import installed_closure
from kubectl_kata.core.nodefacts import NodeFacts
from kubectl_kata.core.rpm import NEVRA, compare_evr
from kubectl_kata.core.support import parse_ocp_version
from kubectl_kata.doctor.checks_node.context import NodeContext
from kubectl_kata.doctor.findings import Finding

KATA_PACKAGE = "kata-containers"

_MAX_LIST = 8


def fmt_list(items: Iterable[str], limit: int = _MAX_LIST) -> str:
    items = list(items)
    if len(items) <= limit:
        return ", ".join(items)
    return ", ".join(items[:limit]) + " (+%d more)" % (len(items) - limit)


class CheckedNode:
    """One node's facts, expected package versions and cluster context, plus the findings so far."""

    def __init__(self, name: str, facts: NodeFacts, expected: Optional[Mapping[str, Optional[NEVRA]]],
                 ctx: NodeContext):
        self.name = name
        self.facts = facts
        self.expected = expected
        self.ctx = ctx
        self.out: List[Finding] = []
        self.release_mm: Optional[Tuple[int, int]] = None
        if ctx.release:
            try:
                v = parse_ocp_version(ctx.release)
                self.release_mm = (v[0], v[1])
            except ValueError:
                self.release_mm = None
        rs = facts.rpm_ostree
        self.booted = rs.booted if rs is not None else None
        self.staged = rs.staged if rs is not None else []
        self.kata = self.installed(KATA_PACKAGE)
        self._closure = None

    def add(self, check_id: str, severity: str, message: str, hint: str = "", **details: Any) -> None:
        self.out.append(Finding(check_id, severity, self.name, message, hint, details))

    def installed(self, name: str, arch: Optional[str] = None) -> Optional[NEVRA]:
        cands = self.facts.installed(name)
        if arch:
            same = [p for p in cands if p.arch == arch]
            cands = same or cands
        if not cands:
            return None
        best = cands[0]
        for p in cands[1:]:
            if compare_evr(p.evr, best.evr) > 0:
                best = p
        return best

    def missing(self, key: str) -> bool:
        return key in self.facts.errors

    @property
    def kata_installed(self) -> Optional[bool]:
        if self.facts.packages is None:
            return None
        return self.kata is not None

    def base_packages(self) -> Optional[FrozenSet[str]]:
        if self.ctx.base_packages is not None:
            return self.ctx.base_packages
        return self.facts.base_packages

    def installed_kata_closure(self):
        """The kata-containers dependency closure beyond the base OS (computed once per node)."""
        if self._closure is None:
            self._closure = installed_closure(self.facts.package_index(), base=self.base_packages())
        return self._closure
