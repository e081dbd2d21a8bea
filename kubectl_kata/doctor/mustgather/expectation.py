"""The expected versions a must-gather's nodes are compared with: ``--expected FILE`` (read by
:func:`load_expected`, the one function here that does I/O) or the majority of the nodes' package lists, cut down
to what the operator's ``version`` file can show (:func:`adapt_expectation`)."""
from __future__ import annotations

from typing import Dict, List, Optional, Set, Tuple

from kubectl_kata.core.nodefacts import NodeFacts
from kubectl_kata.core.rpm import NEVRA
from kubectl_kata.doctor.mustgather.versions import VERSION_FILTER

__all__ = ["adapt_expectation", "consensus_from_versions", "load_expected"]


def adapt_expectation(exp, installed: Dict[str, Set[str]]):
    """The expectation as a must-gather can be compared with it: only packages ``egrep
    '(kata-containers|qemu)'`` lets through (the rest is not in ``version``), epochs dropped (``rpm -qa``
    prints none), and for a flat manifest only the names some node of that arch has (``installed``:
    arch -> names)."""
    from kubectl_kata.doctor.expected import Expectation

    out = Expectation(source=exp.source, detail=exp.detail, image=exp.image, closure_known=True,
                      missing=dict(exp.missing), notes=list(exp.notes), commands=list(exp.commands))
    dropped = 0
    for arch, pk in exp.packages.items():
        have = installed.get(arch, set())
        kept: Dict[str, Optional[NEVRA]] = {}
        for name, nevra in pk.items():
            line = ("%s-%s-%s.%s" % (name, nevra.version, nevra.release, nevra.arch)) if nevra else name
            if not VERSION_FILTER.search(line) or (not exp.closure_known and name not in have):
                dropped += 1
                continue
            kept[name] = NEVRA(nevra.name, 0, nevra.version, nevra.release, nevra.arch) if nevra else None
        out.packages[arch] = kept
    out.notes.append("must-gather: the operator's `version` lists only packages matching "
                     "'(kata-containers|qemu)' and no epochs; compared on version-release%s"
                     % (" (%d expected package(s) not in that list)" % dropped if dropped else ""))
    return out


def consensus_from_versions(facts_by_node: Dict[str, NodeFacts], why: str = ""):
    """Majority NEVRA per package across the nodes whose ``version`` lists kata-containers, per arch; an even
    split yields None for that package (not compared) and a note."""
    from collections import Counter

    from kubectl_kata.doctor.expected import Expectation

    voters = {n: f for n, f in facts_by_node.items() if f.installed("kata-containers")}
    exp = Expectation(source="consensus", detail="majority across %d node(s) of the must-gather%s"
                      % (len(voters), ("; " + why) if why else ""))
    by_arch: Dict[str, Dict[str, Counter]] = {}
    holders: Dict[Tuple[str, str, NEVRA], List[str]] = {}
    for node in sorted(voters):
        nf = voters[node]
        arch = nf.arch or ""
        for p in nf.packages or []:
            by_arch.setdefault(arch, {}).setdefault(p.name, Counter())[p] += 1
            holders.setdefault((arch, p.name, p), []).append(node)
    for arch, names in sorted(by_arch.items()):
        pk: Dict[str, Optional[NEVRA]] = {}
        for name, votes in sorted(names.items()):
            ranked = votes.most_common()
            winners = [v for v, c in ranked if c == ranked[0][1]]
            if len(winners) == 1:
                pk[name] = winners[0]
            else:
                pk[name] = None
                exp.notes.append("%s: nodes disagree evenly (%s); not compared" % (name, "; ".join(
                    "%s on %s" % (w, ", ".join(holders[(arch, name, w)])) for w in sorted(winners, key=str))))
        exp.packages[arch] = pk
    return exp


def load_expected(path: str, arches: List[str]):
    """Read ``--expected FILE`` (I/O); a bad file is a ``UsageProblem`` line."""
    from kubectl_kata.doctor.expected import ExpectationError, load_expected_file
    from kubectl_kata.errors import UsageProblem

    try:
        return load_expected_file(path, arches)
    except ExpectationError as exc:
        raise UsageProblem("--expected: %s" % exc) from None
