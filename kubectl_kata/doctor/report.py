"""Doctor report: findings -> one stable document (``-o json``/``yaml``). Pure. (Its table view is
:mod:`kubectl_kata.render.doctor_report`.)

Schema (``apiVersion: kata.kubectl.io/v1``, ``kind: DoctorReport``); every field is always present:

==========================  =====================================================================================
field                       meaning
==========================  =====================================================================================
healthy                     bool: no finding with severity error or warning
summary.errors/warnings     int: number of findings with that severity (info/ok are not problems)
summary.nodes.total         int: nodes in scope
summary.nodes.ok            int: nodes without an error/warning finding
summary.nodes.problems      int: probed nodes with at least one error/warning finding
summary.nodes.unreachable   int: nodes that could not be probed (NotReady, timeout, pull failure, forbidden ...)
rollup                      str: "3 nodes OK" / "298 nodes OK, 2 differ: worker-7 (node.package-version) ..."
scope.pool                  str|null: pool whose nodes were examined (given or auto-detected)
scope.nodes                 [str]: node names in scope, sorted
scope.selector              str|null: --selector as given
cluster.version             str|null: OpenShift version (ClusterVersion)
expected.source             release|file|consensus|none
expected.detail             str: where exactly (image, file path, number of nodes)
expected.image              str|null: extensions image pull spec (source release)
expected.closureKnown       bool: false for a flat extensions.json (only installed closure packages compared)
expected.packages           {arch: {name: NEVRA|null}}: the expected set per architecture
expected.missing            {arch: why}: architectures for which the repo has no kata-containers
expected.notes              [str]: remarks (consensus ties, why the release could not be read)
findings[]                  every finding: {checkId, severity, subject, message, hint, details}; subject is
                            "cluster" or a node name; sorted by severity (error first), subject, checkId
nodes[]                     {name, status: ok|problems|unreachable, worst: severity, problems: [checkId]}, by name
groups[]                    nodes folded by identical problem findings: {nodes: [str], count, worst,
                            problems: [{checkId, severity, message}]}; the all-OK group has problems []
==========================  =====================================================================================
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from kubectl_kata.doctor.findings import (ERROR, INFO, OK, SEVERITIES, WARNING, Finding, severity_rank,
                                          sort_findings, worst_severity)

__all__ = ["API_VERSION", "KIND", "PROBE_CHECK", "build_report", "exit_healthy", "rollup_text", "short_names"]

API_VERSION = "kata.kubectl.io/v1"
KIND = "DoctorReport"
PROBE_CHECK = "node.probe"
_NAMES_SHOWN = 8


def _sig(f: Finding) -> Tuple[str, str, str]:
    msg = f.message.replace(f.subject, "<node>") if f.subject != "cluster" else f.message
    return (f.check_id, f.severity, msg)


def short_names(names: Sequence[str], limit: int = _NAMES_SHOWN) -> str:
    """``a, b, c`` or, past ``limit`` names, ``a, b (+3 more)``."""
    names = list(names)
    if len(names) <= limit:
        return ", ".join(names)
    return ", ".join(names[:limit]) + " (+%d more)" % (len(names) - limit)


def build_report(*, cluster_findings: Iterable[Finding], node_findings: Mapping[str, Iterable[Finding]],
                 scope: Mapping[str, Any], version: Optional[str], expected: Optional[Mapping[str, Any]]) -> Dict:
    """The report document. ``node_findings`` must hold every node in scope (unreachable ones carry a
    ``node.probe`` finding). ``expected`` is ``Expectation.to_dict()`` (or None)."""
    cluster = list(cluster_findings)
    per_node = {n: list(fs) for n, fs in node_findings.items()}
    all_findings = sort_findings(cluster + [f for fs in per_node.values() for f in fs])
    nodes = []
    groups: "OrderedDict[Tuple, List[str]]" = OrderedDict()
    unreachable = ok_nodes = problem_nodes = 0
    for name in sorted(per_node):
        fs = per_node[name]
        problems = [f for f in fs if f.is_problem]
        probe_failed = any(f.check_id == PROBE_CHECK and f.is_problem for f in fs)
        if probe_failed:
            status = "unreachable"
            unreachable += 1
        elif problems:
            status = "problems"
            problem_nodes += 1
        else:
            status = "ok"
            ok_nodes += 1
        nodes.append({"name": name, "status": status, "worst": worst_severity(fs) or OK,
                      "problems": sorted({f.check_id for f in problems})})
        key = tuple(sorted({_sig(f) for f in problems}, key=lambda s: (-severity_rank(s[1]), s[0], s[2])))
        groups.setdefault(key, []).append(name)
    group_docs = []
    for key, members in sorted(groups.items(), key=lambda kv: (len(kv[0]) > 0, -len(kv[1]), kv[1][0])):
        group_docs.append({"nodes": members, "count": len(members),
                           "worst": key[0][1] if key else OK,
                           "problems": [{"checkId": c, "severity": s, "message": m} for c, s, m in key]})
    counts = {s: 0 for s in SEVERITIES}
    for f in all_findings:
        counts[f.severity] += 1
    exp = dict(expected) if expected else {"source": "none", "detail": "", "image": None, "closureKnown": True,
                                           "arches": {}, "missing": {}, "notes": []}
    doc = {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "healthy": counts[ERROR] == 0 and counts[WARNING] == 0,
        "summary": {"errors": counts[ERROR], "warnings": counts[WARNING], "infos": counts[INFO],
                    "nodes": {"total": len(per_node), "ok": ok_nodes, "problems": problem_nodes,
                              "unreachable": unreachable}},
        "rollup": "",
        "scope": {"pool": scope.get("pool"), "nodes": sorted(per_node), "selector": scope.get("selector")},
        "cluster": {"version": version},
        "expected": {"source": exp.get("source"), "detail": exp.get("detail", ""), "image": exp.get("image"),
                     "closureKnown": exp.get("closureKnown", True),
                     "packages": {a: dict(b.get("packages") or {}) for a, b in (exp.get("arches") or {}).items()},
                     "missing": dict(exp.get("missing") or {}), "notes": list(exp.get("notes") or [])},
        "findings": [f.to_dict() for f in all_findings],
        "nodes": nodes,
        "groups": group_docs,
    }
    doc["rollup"] = rollup_text(doc)
    return doc


def rollup_text(doc: Mapping[str, Any]) -> str:
    total = doc["summary"]["nodes"]["total"]
    if total == 0:
        return "no nodes in scope"
    ok = [g for g in doc["groups"] if not g["problems"]]
    ok_n = sum(g["count"] for g in ok)
    differ = [g for g in doc["groups"] if g["problems"]]
    diff_n = total - ok_n
    head = "%d node%s OK" % (ok_n, "" if ok_n == 1 else "s")
    if not differ:
        return head if ok_n != total or total != 1 else "1 node OK"
    parts = []
    for g in differ:
        ids = sorted({p["checkId"] for p in g["problems"]})
        parts.append("%s (%s)" % (short_names(g["nodes"], 5), ", ".join(ids)))
    return "%s, %d differ%s: %s" % (head, diff_n, "s" if diff_n == 1 else "", "; ".join(parts))


def exit_healthy(doc: Mapping[str, Any]) -> bool:
    return bool(doc["healthy"])
