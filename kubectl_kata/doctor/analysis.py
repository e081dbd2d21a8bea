"""Doctor's analysis: what was collected -> findings -> the report document and the exit status. Pure.

Cluster checks (:mod:`.checks_cluster`) and node checks (:mod:`.checks_node`) against the expected versions,
plus the findings about the run itself: nodes that could not be probed, where the expected versions came from
and whether the release has the extension for every architecture in scope.
"""
from __future__ import annotations

from typing import Any, Dict, List

from kubectl_kata.core.closure import dep_from_text, installed_closure, unprovided_by_base
from kubectl_kata.core.constants import ANN_CURRENT_CONFIG
from kubectl_kata.core.preflight import find
from kubectl_kata.core.statusreport import rendered_includes_extension
from kubectl_kata.doctor.checks_cluster import SUBJECT, check_cluster
from kubectl_kata.doctor.checks_node import KATA_PACKAGE, NodeContext, check_node
from kubectl_kata.doctor.findings import ERROR, INFO, OK, WARNING, Finding
from kubectl_kata.doctor.model import Collected, ProbeRecord, parse_facts
from kubectl_kata.doctor.report import PROBE_CHECK, build_report
from kubectl_kata.status import ExitStatus

__all__ = ["analyse", "exit_status_for", "probe_finding", "expected_source_finding", "node_context",
           "ENVIRONMENT_REASONS"]

# probe failures that mean "doctor cannot work here", not "this node is broken"
ENVIRONMENT_REASONS = ("forbidden", "unauthorized", "pod-security", "not-root", "tool-not-found",
                       "cluster-unreachable", "pod-refused")


def _name(o: dict) -> str:
    return ((o or {}).get("metadata") or {}).get("name") or ""


_PROBE_HINTS = {
    "not-ready": "check the node (`oc describe node {n}`); doctor probes it once it is Ready",
    "timeout": "raise --node-timeout, or check `oc debug node/{n}` by hand (image pull, node load)",
    "image-pull": "pass --image with a support-tools image from a registry the nodes can pull from",
    "forbidden": "doctor needs cluster-admin (privileged debug pods on nodes)",
    "pod-security": "the debug namespace must allow privileged pods",
    "pod-refused": "the cluster refused to create the collector's pod (quoted above: an admission webhook, SCC or "
                   "quota); exempt the kata-doctor-* namespaces from that policy, or use --via oc where it allows "
                   "debug pods",
    "unauthorized": "log in again (`oc login`)",
    "tool-not-found": "install oc (or pass --via kubectl)",
}


def probe_finding(rec: ProbeRecord) -> Finding:
    """The ``node.probe`` finding of a node that could not be (fully) probed."""
    sev = WARNING if rec.reason == "not-ready" else ERROR
    hint = _PROBE_HINTS.get(rec.reason, "re-run with -v; check `oc debug node/{n} -- chroot /host true` works")
    return Finding(PROBE_CHECK, sev, rec.node, "node could not be probed (%s): %s" % (rec.reason, rec.error or
                                                                                     rec.reason),
                   hint.format(n=rec.node), {"reason": rec.reason, "notes": list(rec.notes),
                                             "partialItems": sorted(rec.raw) if rec.raw else []})


ANN_CURRENT_IMAGE = "machineconfiguration.openshift.io/currentImage"


def _rendered_spec(mc) -> dict:
    spec = (mc or {}).get("spec")
    return spec if isinstance(spec, dict) else {}


def node_context(facts, node_obj, version) -> NodeContext:
    """What the cluster says the node should have: the pool's *target* rendered config decides whether the extension
    is requested (a node still on the previous config is waiting in the rollout, DOMAIN 3); the node's current and
    the target rendered configs together say what the MCO itself layers (extensions, kernelType; DOMAIN 12.1); the
    current one names the OS image the node should be running."""
    from kubectl_kata.core.selectors import primary_pool_for_node

    ann = ((node_obj or {}).get("metadata") or {}).get("annotations") or {}
    current = ann.get(ANN_CURRENT_CONFIG)
    mcs = facts.get("mcs") or []
    pools = facts.get("pools") or []
    pool_name = primary_pool_for_node(node_obj, pools) if node_obj else None
    pool = find(pools, pool_name) if pool_name else None
    target = (((pool or {}).get("spec") or {}).get("configuration") or {}).get("name")
    r_current = find(mcs, current) if current else None
    r_target = find(mcs, target) if target else None
    os_url = _rendered_spec(r_current).get("osImageURL") if r_current else None
    if target:
        requested = rendered_includes_extension(facts, pool, target)
    else:
        requested = rendered_includes_extension(facts, None, current) if r_current else None
    known = [r for r in (r_current, r_target) if r is not None]
    exts = kts = None
    if known:
        exts = frozenset(e for r in known for e in (_rendered_spec(r).get("extensions") or []) if isinstance(e, str))
        kts = frozenset((_rendered_spec(r).get("kernelType") or "default") for r in known
                        if isinstance(_rendered_spec(r).get("kernelType") or "default", str))
    pending = (current != target) if (current and target) else None
    rollout = ""
    if pending:
        st = (pool or {}).get("status") or {}
        rollout = "pool %s: %s of %s nodes updated to %s" % (pool_name, st.get("updatedMachineCount", "?"),
                                                             st.get("machineCount", "?"), target)
    return NodeContext(release=version, os_image_url=os_url or None, extension_requested=requested,
                       current_image=ann.get(ANN_CURRENT_IMAGE) or None, rendered_extensions=exts, kernel_types=kts,
                       rollout_pending=pending, rollout=rollout)


def expected_source_finding(exp) -> Finding:
    """``cluster.expected-source``: where the expected versions came from (info for pool consensus, which says
    nothing about the release)."""
    detail = {"source": exp.source, "detail": exp.detail, "image": exp.image}
    if exp.source == "consensus":
        return Finding("cluster.expected-source", INFO, SUBJECT, "expected versions from pool consensus (%s)"
                       % exp.detail, "pass --expected FILE to compare against the release", detail)
    return Finding("cluster.expected-source", OK, SUBJECT, "expected versions from %s: %s%s" % (
        exp.source, exp.detail, (" " + exp.image) if exp.image else ""), "", detail)


def analyse(col: Collected) -> Dict[str, Any]:
    """The report document (see :mod:`kubectl_kata.doctor.report`) of what was collected. Pure."""
    facts, scope, exp = col.facts, col.scope, col.expectation
    version = facts.get("version")
    by_name = {_name(n): n for n in facts.get("nodes") or []}
    cluster_findings = check_cluster(facts, scope.get("pool"), scope.get("nodes") or [])
    node_findings: Dict[str, List[Finding]] = {}
    arch_nodes: Dict[str, List[str]] = {}
    # the repo closure's requirements the repo does not carry must come from the base OS: which of them some
    # probed node's base packages provide, per arch (checked one node at a time; None = no node's base known)
    base_provided: Dict[str, set] = {}
    for node in scope.get("nodes") or []:
        rec = col.probes.get(node)
        fs: List[Finding] = []
        if rec is None:
            rec = ProbeRecord(node, False, "skipped", "not probed", None)
        if not rec.ok:
            fs.append(probe_finding(rec))
        if rec.raw:
            # facts parsed during the run are reused; otherwise (--from) parse without keeping them, so
            # memory holds one node's facts at a time
            nf = rec.facts if rec.facts is not None else parse_facts(rec.raw)
            if nf.arch:
                arch_nodes.setdefault(nf.arch, []).append(node)
            names = ()
            if not exp.closure_known and nf.installed(KATA_PACKAGE):
                names = installed_closure(nf.package_index(), base=nf.base_packages).packages.keys()
            expected = exp.for_node(nf.arch, names)
            reqs = exp.unsatisfied.get(nf.arch or "") if exp.source != "consensus" else None
            if reqs and nf.base_packages is not None:
                texts = sorted({r["requirement"] for r in reqs})
                gaps = set(unprovided_by_base(nf.package_index(), nf.base_packages,
                                              [dep_from_text(t) for t in texts]))
                base_provided.setdefault(nf.arch, set()).update(t for t in texts if t not in gaps)
            ctx = node_context(facts, by_name.get(node), version)
            fs.extend(check_node(node, nf, expected, ctx))
        elif rec.ok:
            fs.append(Finding(PROBE_CHECK, ERROR, node, "probe returned no data", "re-run doctor"))
        node_findings[node] = fs
    # where the expected versions came from, and whether the release has kata for each arch
    cluster_findings.append(expected_source_finding(exp))
    if exp.source != "consensus":
        for arch, nodes in sorted(arch_nodes.items()):
            if arch in exp.missing or not exp.packages.get(arch):
                why = exp.missing.get(arch) or "no expected packages for %s" % arch
                cluster_findings.append(Finding(
                    "cluster.extension-available", ERROR, SUBJECT, "%s (nodes: %s)" % (why, ", ".join(sorted(nodes))),
                    "the sandboxed-containers extension cannot be installed on %s nodes of this release; run kata "
                    "on a supported architecture" % arch, {"arch": arch, "nodes": sorted(nodes)}))
            else:
                cluster_findings.append(_availability(exp, arch, sorted(nodes), base_provided.get(arch)))
    doc = build_report(cluster_findings=cluster_findings, node_findings=node_findings, scope=scope,
                       version=version, expected=exp.to_dict())
    if col.via and col.via_reason:
        # which collector ran and why; the one field in which a DaemonSet report differs from an oc report
        doc["collector"] = {"name": col.via, "reason": col.via_reason}
    if col.interrupted is not None:
        nodes = scope.get("nodes") or []
        doc["interrupted"] = {"nodes": sorted(col.interrupted),
                              "finished": len([n for n in nodes if n not in set(col.interrupted)]),
                              "total": len(nodes)}
    return doc


def _availability(exp, arch: str, nodes: List[str], provided) -> Finding:
    """cluster.extension-available for an arch whose repo has kata-containers: its closure is complete when every
    requirement the repo does not carry is provided by the base OS of some probed node of that arch."""
    kata = exp.packages[arch].get(KATA_PACKAGE)
    reqs = exp.unsatisfied.get(arch) or []
    details: Dict[str, Any] = {"arch": arch}
    if not reqs:
        msg = "extensions repo has %s for %s" % (kata, arch)
        if arch in exp.unsatisfied:
            msg += " and its closure is complete within the repo"
        return Finding("cluster.extension-available", OK, SUBJECT, msg, "", details)
    if provided is None:
        details["notChecked"] = sorted({r["requirement"] for r in reqs})
        return Finding("cluster.extension-available", OK, SUBJECT,
                       "extensions repo has %s for %s; the %d requirement(s) its closure leaves to the base OS were "
                       "not checked (no node's base package set known)" % (kata, arch, len(details["notChecked"])),
                       "", details)
    gaps: Dict[str, List[str]] = {}
    for r in reqs:
        if r["requirement"] not in provided:
            gaps.setdefault(r["requirement"], []).append(r["package"].rsplit("-", 2)[0])
    details["fromBase"] = sorted(provided)
    if not gaps:
        return Finding("cluster.extension-available", OK, SUBJECT,
                       "extensions repo has %s for %s and its closure is complete with the nodes' base OS "
                       "(%d requirement(s) from the base)" % (kata, arch, len(provided)), "", details)
    details["unprovided"] = {k: sorted(set(v)) for k, v in sorted(gaps.items())}
    return Finding("cluster.extension-available", WARNING, SUBJECT,
                   "extensions repo's kata-containers closure for %s is incomplete: %s -- neither the repo nor the base "
                   "OS of the probed %s nodes (%s) provides it" % (
                       arch, "; ".join("%s needs %s" % (", ".join(sorted(set(v))), k) for k, v in sorted(gaps.items())),
                       arch, ", ".join(nodes[:8])),
                   "rpm-ostree cannot resolve the extension on these nodes as they are: check the nodes run the "
                   "release's OS image (node.os-image) -- a pool in the middle of an OS update may still be on the "
                   "older base -- and that the expectation names this release's extensions image", details)


def exit_status_for(col: Collected, doc: Dict[str, Any]) -> int:
    """0 healthy, 1 problems found (also when some nodes were unreachable: those are reported), 3 when no node
    at all could be probed for a reason that is about doctor's access (forbidden, not logged in, no oc...)."""
    probed = [r for r in col.probes.values() if r.reason != "not-ready"]
    if probed and all((not r.ok) and r.reason in ENVIRONMENT_REASONS for r in probed):
        return ExitStatus.CLUSTER_ERROR
    return ExitStatus.SUCCESS if doc["healthy"] else ExitStatus.PROBLEMS_FOUND
