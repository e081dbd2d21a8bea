"""The doctor report of a must-gather: the cluster checks the data allows, the per-node package versions against the
expectation (``--expected FILE`` or the nodes' consensus), and ``not collected`` for everything else. Pure (the
expected file is read through an injected loader)."""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Mapping, Optional, Set

from kubectl_kata.core.constants import ANN_CURRENT_CONFIG, ANN_DESIRED_CONFIG
from kubectl_kata.core.nodefacts import NodeFacts
from kubectl_kata.doctor.mustgather.expectation import adapt_expectation, consensus_from_versions
from kubectl_kata.doctor.mustgather.model import MustGather, MustGatherNode, oname
from kubectl_kata.doctor.mustgather.notcollected import (NODE_CHECKS_FROM_VERSION, NODE_WHY, not_collected,
                                                         restrict_cluster_findings)
from kubectl_kata.doctor.mustgather.versions import node_facts_map

__all__ = ["analyse", "analyse_mustgather", "mustgather_scope"]


def _node_extension(node: str, nf: NodeFacts, mgn: Optional[MustGatherNode], requested: Optional[bool],
                    current: Optional[str]):
    """``node.extension-requested`` from what a must-gather has: does the config the node runs (its
    currentConfig annotation -> rendered MachineConfig) request the extension, and does ``version`` list
    kata-containers."""
    from kubectl_kata.doctor.findings import ERROR, INFO, OK, WARNING, Finding

    cid = "node.extension-requested"
    kata = nf.installed("kata-containers")
    details = {"source": "must-gather", "currentConfig": current, "requested": requested,
               "installed": str(kata[0]) if kata else None}
    if requested is None:
        return not_collected(cid, node, "the must-gather has no rendered MachineConfig for the node's current "
                              "config %s" % (current or "(no annotation)"), **details)
    empty = not (mgn.version or b"").strip()
    if requested and kata:
        return Finding(cid, OK, node, "current config %s requests the extension and rpm -qa lists %s"
                       % (current, kata[0]), "", details)
    if requested and empty:
        return Finding(cid, WARNING, node, "current config %s requests the extension but the must-gather's rpm -qa "
                       "for the node is empty (kata not installed, or `oc debug` failed while gathering)" % current,
                       "run `oc debug node/%s -- chroot /host rpm -q kata-containers`" % node, details)
    if requested:
        return Finding(cid, ERROR, node, "current config %s requests the extension but rpm -qa lists no "
                       "kata-containers" % current,
                       "the extension was not applied (OCPBUGS-65645); check the node's "
                       "machineconfiguration.openshift.io/reason and re-trigger the MCO update", details)
    if kata:
        return Finding(cid, WARNING, node, "%s is installed but the node's current config %s does not request the "
                       "extension" % (kata[0], current), "check for a manual `rpm-ostree install`", details)
    return Finding(cid, INFO, node, "current config %s does not request the sandboxed-containers extension; "
                   "kata-containers is not installed" % current,
                   "enable it with `kubectl kata enable` if this node should run kata pods", details)


def mustgather_scope(mg: MustGather) -> Dict[str, Any]:
    """The pool doctor would pick live, and its nodes; without MachineConfigPools every node the operator's
    must-gather covers."""
    from kubectl_kata.core.statusreport import detect_pool
    from kubectl_kata.doctor.checks_cluster import pool_nodes

    pool = None
    if "pools" in mg.available:
        pool = detect_pool(mg.facts)
    if pool and "nodes" in mg.available:
        return {"pool": pool, "nodes": pool_nodes(mg.facts, pool), "selector": None}
    known = set(mg.nodes) | {oname(n) for n in mg.facts.get("nodes") or []}
    # no pools: the nodes of the role a live doctor would pick (kata-oc, else worker), by their role label
    for role in ("kata-oc", "worker"):
        label = "node-role.kubernetes.io/" + role
        names = sorted(oname(n) for n in mg.facts.get("nodes") or []
                       if label in (((n.get("metadata") or {}).get("labels")) or {}))
        if names:
            return {"pool": None, "nodes": names, "selector": label}
    return {"pool": None, "nodes": sorted(known), "selector": None}


def analyse(mg: MustGather, load_expected: Optional[Callable[[List[str]], Any]] = None) -> Dict[str, Any]:
    """The doctor report of a must-gather (same document as a live run, plus ``source``). Pure: the expected versions
    come from ``load_expected(arches)`` when given (it reads ``--expected FILE``), else from the nodes' consensus."""
    from kubectl_kata.core.statusreport import rendered_includes_extension
    from kubectl_kata.doctor.analysis import expected_source_finding, node_context
    from kubectl_kata.doctor.checks_cluster import SUBJECT, check_cluster
    from kubectl_kata.doctor.checks_node import check_node
    from kubectl_kata.doctor.findings import ERROR, INFO, OK, NODE_CHECK_IDS, Finding
    from kubectl_kata.doctor.report import build_report

    facts = mg.facts
    scope = mustgather_scope(mg)
    names = scope["nodes"]
    version = facts.get("version")
    by_name = {oname(n): n for n in facts.get("nodes") or []}
    nfs = node_facts_map(mg, names)
    arches = sorted({f.arch for f in nfs.values() if f.arch}) or ["x86_64"]
    if load_expected is not None:
        exp = load_expected(arches)
    else:
        exp = consensus_from_versions(nfs, "no release data offline; pass --expected FILE to compare with the "
                                           "release" if nfs else "the must-gather has no node package lists")
    installed: Dict[str, Set[str]] = {}
    for nf in nfs.values():
        installed.setdefault(nf.arch or "", set()).update(p.name for p in nf.packages or [])
    exp = adapt_expectation(exp, installed)

    cluster = restrict_cluster_findings(check_cluster(facts, scope["pool"], names), mg.available)
    cluster.append(expected_source_finding(exp))
    if exp.source != "consensus":
        for arch in sorted({f.arch for f in nfs.values() if f.arch}):
            nodes = sorted(n for n, f in nfs.items() if f.arch == arch)
            if arch in exp.missing or not exp.packages.get(arch):
                why = exp.missing.get(arch) or "no expected packages for %s" % arch
                cluster.append(Finding("cluster.extension-available", ERROR, SUBJECT, "%s (nodes: %s)"
                                       % (why, ", ".join(nodes)), "the sandboxed-containers extension cannot be "
                                       "installed on %s nodes of this release" % arch, {"arch": arch, "nodes": nodes}))
            else:
                cluster.append(Finding("cluster.extension-available", OK, SUBJECT, "expected set has %s for %s"
                                       % (exp.packages[arch].get("kata-containers"), arch), "", {"arch": arch}))

    node_findings: Dict[str, List[Any]] = {}
    for node in names:
        fs: List[Any] = []
        mgn = mg.nodes.get(node)
        nf = nfs.get(node)
        if nf is None:
            why = ("the operator's must-gather has no nodes/%s/version" % node) if mg.operator else \
                "no sandboxed containers operator must-gather (nodes/<node>/version)"
            for cid in NODE_CHECK_IDS:
                fs.append(not_collected(cid, node, why))
            node_findings[node] = fs
            continue
        if nf.warnings:
            fs.append(Finding("node.collection", INFO, node, "%d line(s) of nodes/%s/version could not be parsed "
                              "and were skipped" % (len(nf.warnings), node), "", {"warnings": list(nf.warnings)}))
        ann = ((by_name.get(node) or {}).get("metadata") or {}).get("annotations") or {}
        current = ann.get(ANN_CURRENT_CONFIG)
        requested = rendered_includes_extension(facts, None, current) if ("mcs" in mg.available and current) \
            else None
        fs.append(_node_extension(node, nf, mgn, requested, current))
        expected = exp.for_node(nf.arch, ())
        # what the cluster objects say the node should have, exactly as a live run computes it (missing objects
        # leave the fields unknown)
        ctx = node_context(facts, by_name.get(node), version)
        if ctx.rollout_pending is None:
            ctx.rollout_pending = _rollout_pending(ann)
        for f in check_node(node, nf, expected, ctx):
            if f.check_id in NODE_CHECKS_FROM_VERSION:
                fs.append(_offline_cause(f))
        ran = {f.check_id for f in fs}
        for cid in NODE_CHECK_IDS:
            if cid not in ran and cid not in NODE_CHECKS_FROM_VERSION:
                fs.append(not_collected(cid, node, NODE_WHY.get(cid, "not in a must-gather")))
        if "node.package-version" not in ran and not nf.installed("kata-containers"):
            fs.append(Finding("node.package-version", INFO, node, "no kata-containers in the node's rpm -qa; "
                              "versions not compared", "", {"packages": [str(p) for p in nf.packages or []]}))
        node_findings[node] = fs
    doc = build_report(cluster_findings=cluster, node_findings=node_findings, scope=scope, version=version,
                       expected=exp.to_dict())
    doc["source"] = mg.source_doc()
    return doc


def _rollout_pending(ann: Mapping[str, Any]) -> Optional[bool]:
    """Without the pools: the node's currentConfig is not its desiredConfig (the MCO is updating it)."""
    current, desired = ann.get(ANN_CURRENT_CONFIG), ann.get(ANN_DESIRED_CONFIG)
    return (current != desired) if (current and desired) else None


def _offline_cause(f):
    """A package finding whose cause the checks could not name: say why (no rpm-ostree status offline) instead
    of listing causes a must-gather cannot rule out."""
    from kubectl_kata.doctor.findings import Finding

    if f.check_id != "node.package-version" or (f.details or {}).get("cause") != "unknown":
        return f
    head = f.message.split(": ", 1)[0]
    return Finding(f.check_id, f.severity, f.subject,
                   "%s: cause not known from a must-gather (no rpm-ostree status: overrides, a staged deployment "
                   "and the booted OS image cannot be checked)" % head,
                   "run `kubectl kata doctor --node %s` on the cluster (or `rpm-ostree status` on the node) to see "
                   "whether an override, a staged deployment or the OS image explains it" % f.subject,
                   dict(f.details, cause="unknown-offline"))


def analyse_mustgather(mg: MustGather, expected_file: Optional[str] = None,
                       load_expected: Optional[Callable[..., Any]] = None) -> Dict[str, Any]:
    """:func:`analyse` with ``--expected FILE`` read by ``load_expected(path, arches)`` (default
    :func:`.expectation.load_expected`, the one place an analysis reads a file) once the nodes' arches are known."""
    if not expected_file:
        return analyse(mg)
    loader = load_expected or _read_expected
    return analyse(mg, lambda arches: loader(expected_file, arches))


def _read_expected(path: str, arches: List[str]):
    from kubectl_kata.doctor.mustgather.expectation import load_expected

    return load_expected(path, arches)
