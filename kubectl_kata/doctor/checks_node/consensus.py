"""The pool's expected package versions when no extensions repo was read: the majority NEVRA across the
nodes that have kata-containers installed (:func:`consensus_expected`)."""
from __future__ import annotations

from collections import Counter
from typing import Dict, FrozenSet, Iterable, List, Mapping, Optional

from kubectl_kata.core.closure import installed_closure
from kubectl_kata.core.nodefacts import NodeFacts
from kubectl_kata.core.rpm import NEVRA, compare_evr
from kubectl_kata.doctor.checks_node.state import KATA_PACKAGE


class Consensus(dict):
    """``{name: NEVRA or None}``; ``ties`` maps names whose top NEVRAs tie to {nevra: [nodes]};
    ``base_unknown`` maps nodes whose base OS package set is unknown to why."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.ties: Dict[str, Dict[str, List[str]]] = {}
        self.base_unknown: Dict[str, str] = {}


def _layered_names(facts: NodeFacts, base: Optional[FrozenSet[str]]) -> Optional[FrozenSet[str]]:
    """Names of the kata closure packages that are not part of the node's base OS image (None = unknown)."""
    if base is None:
        return None
    clos = installed_closure(facts.package_index(), base=base)
    return frozenset(clos.packages)


def consensus_expected(facts_by_node: Mapping[str, NodeFacts],
                       base: Optional[Iterable[str]] = None) -> Consensus:
    """Majority NEVRA per package the extension layers, across nodes (plurality with a unique winner).

    Only the extension's own packages and the closure they pull in beyond the base OS image are compared: base
    packages (glibc, kernel, bash...) follow the OS image, and a pool in the middle of an OS update legitimately
    has two versions of them. The base set comes from ``base`` or each node's own facts; a node whose base set is
    unknown only votes on the packages other nodes showed to be layered (or, when no node knows its base, on
    kata-containers itself) -- its other packages are ``unknown``, never "expected".

    Only nodes with kata-containers installed vote. A tie yields ``None`` for that package (and an
    entry in ``.ties``) -- doctor must not guess which side is right.
    """
    votes: Dict[str, Counter] = {}
    voters: Dict[str, Dict[NEVRA, List[str]]] = {}
    given = frozenset(base) if base is not None else None
    result = Consensus()
    layered: Dict[str, FrozenSet[str]] = {}
    unknown_nodes: List[str] = []
    for node in sorted(facts_by_node):
        facts = facts_by_node[node]
        if not facts.installed(KATA_PACKAGE):
            continue
        names = _layered_names(facts, given if given is not None else facts.base_packages)
        if names is None:
            unknown_nodes.append(node)
            result.base_unknown[node] = facts.base_unknown_reason or "base OS package set not collected"
        else:
            layered[node] = names
    known_layered = frozenset().union(*layered.values()) if layered else frozenset({KATA_PACKAGE})
    for node in sorted(layered) + unknown_nodes:
        facts = facts_by_node[node]
        names = layered.get(node, known_layered)
        for name in sorted(names):
            inst = [p for p in facts.installed(name)]
            if not inst:
                continue
            best = inst[0]
            for p in inst[1:]:
                if compare_evr(p.evr, best.evr) > 0:
                    best = p
            votes.setdefault(name, Counter())[best] += 1
            voters.setdefault(name, {}).setdefault(best, []).append(node)
    for name in sorted(votes):
        ranked = votes[name].most_common()
        top = ranked[0][1]
        winners = [n for n, c in ranked if c == top]
        if len(winners) == 1:
            result[name] = winners[0]
        else:
            result[name] = None
            result.ties[name] = {str(n): voters[name][n] for n in sorted(winners, key=str)}
    return result
