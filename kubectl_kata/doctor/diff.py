"""``kubectl kata doctor diff BEFORE AFTER``: what changed on the nodes between two offline snapshots. Pure.

Each side is a :class:`Snapshot` built from a kubectl-kata bundle or a must-gather (and its doctor report).
Per node: packages added, removed and changed (compared as RPM versions, ``core.rpm.compare_evr``), the kata
binaries' versions, the booted OS image, the MachineConfig the node runs; findings that are new, resolved and
unchanged; nodes only on one side. Nodes whose changes are identical are folded into one group, as the doctor
report folds nodes with identical problems.

What one side did not collect is never a difference: a must-gather's ``version`` lists only packages matching
``(kata-containers|qemu)`` without epochs, so against a bundle only those packages are compared, on
version-release; a finding whose check was ``not collected`` on the other side is ``notComparable``, not
resolved or new.

Document (``kind: DoctorDiff``), every field always present::

    identical                 bool: no difference at all (exit 0; else 1)
    before/after              {path, kind: bundle|must-gather, version, nodes: int, epochs: bool, packages: full|kata-qemu}
    cluster.version           {before, after} or null when equal
    nodes.onlyBefore/onlyAfter/changed/unchanged   [node names]
    groups[]                  nodes with identical changes: {nodes, count, packages: {added, removed, changed},
                              binaries: [{name, before, after}], bootedImage, osImage, machineConfig ({before, after}
                              or null)}; packages.changed items {name, before, after, direction: upgrade|downgrade|arch}
    findings.new/resolved/unchanged/notComparable   [{checkId, severity, message, subjects: [..]}] (problems only:
                              error and warning)
    notes                     [str]: what could not be compared and why
"""
from __future__ import annotations

import json
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

from kubectl_kata.core.rpm import EVR, NEVRA, compare_evr

__all__ = ["NodeSnapshot", "Snapshot", "diff_snapshots", "snapshot_from_report", "API_VERSION", "KIND",
           "KATA_QEMU", "has_differences"]

API_VERSION = "kata.kubectl.io/v1"
KIND = "DoctorDiff"
KATA_QEMU = "kata-qemu"     # a package list filtered like the operator's must-gather
_PROBLEM = ("error", "warning")


@dataclass
class NodeSnapshot:
    name: str
    packages: Optional[List[NEVRA]] = None     # None = not collected
    binaries: Dict[str, str] = field(default_factory=dict)     # binary -> version it reports
    booted_image: Optional[str] = None         # rpm-ostree booted image (digest or reference)
    os_image: Optional[str] = None             # Node status.nodeInfo.osImage
    machine_config: Optional[str] = None       # currentConfig annotation


@dataclass
class Snapshot:
    path: str
    kind: str                                  # bundle | must-gather
    version: Optional[str]
    nodes: Dict[str, NodeSnapshot]
    findings: List[Mapping[str, Any]]          # the report's findings (dicts as in -o json)
    epochs: bool = True                        # package epochs known (a must-gather's rpm -qa has none)
    package_scope: str = "full"                # full | kata-qemu
    binaries_collected: bool = True
    booted_collected: bool = True

    def describe(self) -> Dict[str, Any]:
        return {"path": self.path, "kind": self.kind, "version": self.version, "nodes": len(self.nodes),
                "epochs": self.epochs, "packages": self.package_scope}


def _meta_name(obj: Mapping[str, Any]) -> str:
    return str(((obj or {}).get("metadata") or {}).get("name") or "")


def snapshot_from_report(path: str, kind: str, facts: Mapping[str, Any], doc: Mapping[str, Any],
                         node_facts: Mapping[str, Any], *, epochs: bool = True, package_scope: str = "full",
                         binaries_collected: bool = True, booted_collected: bool = True) -> Snapshot:
    """A snapshot from cluster facts, the doctor report and each node's :class:`~kubectl_kata.core.nodefacts.NodeFacts`
    (None for a node without data). Nodes are those of the report's scope."""
    from kubectl_kata.core.constants import ANN_CURRENT_CONFIG

    objs = {_meta_name(n): n for n in facts.get("nodes") or [] if isinstance(n, Mapping)}
    nodes: Dict[str, NodeSnapshot] = {}
    for name in (doc.get("scope") or {}).get("nodes") or []:
        obj = objs.get(name) or {}
        ns = NodeSnapshot(name)
        ns.machine_config = (((obj.get("metadata") or {}).get("annotations")) or {}).get(ANN_CURRENT_CONFIG)
        ns.os_image = (((obj.get("status") or {}).get("nodeInfo")) or {}).get("osImage")
        nf = node_facts.get(name)
        if nf is not None:
            ns.packages = list(nf.packages) if nf.packages is not None else None
            for label, v in (("kata-runtime", nf.runtime_version), ("containerd-shim-kata-v2", nf.shim_version),
                             ("kata-monitor", nf.monitor_version)):
                if v is not None:
                    ns.binaries[label] = v.version
            booted = nf.rpm_ostree.booted if nf.rpm_ostree is not None else None
            if booted is not None:
                ns.booted_image = booted.image_digest or booted.image_reference or booted.version or None
        nodes[name] = ns
    return Snapshot(path=path, kind=kind, version=(doc.get("cluster") or {}).get("version"), nodes=nodes,
                    findings=list(doc.get("findings") or []), epochs=epochs, package_scope=package_scope,
                    binaries_collected=binaries_collected, booted_collected=booted_collected)


# --------------------------------------------------------------------------- packages

def _evr_text(p: NEVRA, epochs: bool) -> str:
    """``17:8.2.0-11.el9_4`` (epoch shown when known and set), arch appended only when asked."""
    if epochs and p.epoch:
        return "%d:%s-%s" % (p.epoch, p.version, p.release)
    return "%s-%s" % (p.version, p.release)


def _pkg_map(pkgs: Iterable[NEVRA], filtered: bool) -> Dict[str, List[NEVRA]]:
    from kubectl_kata.doctor.mustgather import VERSION_FILTER

    out: Dict[str, List[NEVRA]] = {}
    for p in pkgs:
        if filtered and not VERSION_FILTER.search("%s-%s-%s.%s" % (p.name, p.version, p.release, p.arch)):
            continue
        out.setdefault(p.name, []).append(p)
    for v in out.values():
        v.sort(key=lambda p: (p.arch, p.epoch, p.version, p.release))
    return out


def _cmp(a: NEVRA, b: NEVRA, epochs: bool) -> int:
    if epochs:
        return compare_evr(a.evr, b.evr)
    return compare_evr(EVR(0, a.version, a.release), EVR(0, b.version, b.release))


def _package_changes(before: List[NEVRA], after: List[NEVRA], epochs_b: bool, epochs_a: bool,
                     filtered: bool) -> Dict[str, List[Any]]:
    both_epochs = epochs_b and epochs_a
    mb, ma = _pkg_map(before, filtered), _pkg_map(after, filtered)
    added = ["%s %s.%s" % (n, _evr_text(p, epochs_a), p.arch) for n in sorted(set(ma) - set(mb)) for p in ma[n]]
    removed = ["%s %s.%s" % (n, _evr_text(p, epochs_b), p.arch) for n in sorted(set(mb) - set(ma)) for p in mb[n]]
    changed = []
    for n in sorted(set(mb) & set(ma)):
        b, a = mb[n], ma[n]
        if len(b) == len(a) and all(_cmp(x, y, both_epochs) == 0 and x.arch == y.arch for x, y in zip(b, a)):
            continue
        # one version each (the usual case): a direction; several (multilib, installonly kernels): both lists
        if len(b) == 1 and len(a) == 1:
            rc = _cmp(b[0], a[0], both_epochs)
            direction = "upgrade" if rc < 0 else ("downgrade" if rc > 0 else "arch")
            bt = _evr_text(b[0], epochs_b) + ("" if b[0].arch == a[0].arch else "." + b[0].arch)
            at = _evr_text(a[0], epochs_a) + ("" if b[0].arch == a[0].arch else "." + a[0].arch)
        else:
            direction = "changed"
            bt = ", ".join("%s.%s" % (_evr_text(p, epochs_b), p.arch) for p in b)
            at = ", ".join("%s.%s" % (_evr_text(p, epochs_a), p.arch) for p in a)
        changed.append({"name": n, "before": bt, "after": at, "direction": direction})
    return {"added": added, "removed": removed, "changed": changed}


# --------------------------------------------------------------------------- findings

_EPOCH = re.compile(r"(?<=[-\s])\d+:(?=\d)")


def _sig(f: Mapping[str, Any], strip_epochs: bool = False) -> Tuple[str, str, str]:
    """What makes two findings "the same problem": check, severity and the message with the node name (and,
    when one side has no epochs, epochs) taken out; a package finding is identified by its package and
    direction, since its message also explains the cause from whatever data the side holds."""
    subj = str(f.get("subject") or "")
    msg = str(f.get("message") or "")
    details = f.get("details") or {}
    if isinstance(details, Mapping) and isinstance(details.get("package"), str):
        msg = "package %s %s" % (details["package"], details.get("direction") or "")
    if subj and subj != "cluster":
        msg = msg.replace(subj, "<node>")
    if strip_epochs:   # "qemu-kvm-core-17:8.2.0-7.el9_4" == "qemu-kvm-core-8.2.0-7.el9_4" when one side has no epochs
        msg = _EPOCH.sub("", msg)
    return (str(f.get("checkId") or ""), str(f.get("severity") or ""), msg)


def _not_collected(f: Mapping[str, Any]) -> bool:
    return bool((f.get("details") or {}).get("notCollected"))


def _fold(items: Iterable[Tuple[Tuple[str, str, str], str, str]]) -> List[Dict[str, Any]]:
    """(signature, subject, message shown) -> findings folded over the subjects that share a signature."""
    groups: "OrderedDict[Tuple[str, str, str], List[str]]" = OrderedDict()
    shown: Dict[Tuple[str, str, str], str] = {}
    for sig, subject, message in sorted(items, key=lambda t: ({"error": 0, "warning": 1}.get(t[0][1], 2), t[0][0],
                                                               t[0][2], t[1])):
        groups.setdefault(sig, [])
        shown.setdefault(sig, message)   # the first subject's own words (the AFTER side's for unchanged ones)
        if subject not in groups[sig]:
            groups[sig].append(subject)
    return [{"checkId": c, "severity": s, "message": shown[(c, s, m)], "subjects": subs}
            for (c, s, m), subs in groups.items()]


def _finding_changes(before: Snapshot, after: Snapshot, common_subjects: set) -> Dict[str, List[Dict[str, Any]]]:
    strip = not (before.epochs and after.epochs)

    def index(snap: Snapshot):
        problems, uncollected = {}, set()
        for f in snap.findings:
            subj = str(f.get("subject") or "")
            if subj != "cluster" and subj not in common_subjects:
                continue
            if _not_collected(f):
                uncollected.add((subj, str(f.get("checkId") or "")))
            elif f.get("severity") in _PROBLEM:
                problems[(subj, _sig(f, strip))] = f
        return problems, uncollected

    pb, ub = index(before)
    pa, ua = index(after)
    new, resolved, same, unknown = [], [], [], []
    for key, f in pb.items():
        subj, sig = key
        if key in pa:
            same.append((sig, subj, str(pa[key].get("message") or "")))
        elif (subj, sig[0]) in ua:
            unknown.append((sig, subj, str(f.get("message") or "")))
        else:
            resolved.append((sig, subj, str(f.get("message") or "")))
    for key, f in pa.items():
        subj, sig = key
        if key in pb:
            continue
        if (subj, sig[0]) in ub:
            unknown.append((sig, subj, str(f.get("message") or "")))
        else:
            new.append((sig, subj, str(f.get("message") or "")))
    return {"new": _fold(new), "resolved": _fold(resolved), "unchanged": _fold(same), "notComparable": _fold(unknown)}


# --------------------------------------------------------------------------- the diff

def _pair(b: Optional[str], a: Optional[str]) -> Optional[Dict[str, Optional[str]]]:
    return None if b == a else {"before": b, "after": a}


def diff_snapshots(before: Snapshot, after: Snapshot) -> Dict[str, Any]:
    notes: List[str] = []
    filtered = KATA_QEMU in (before.package_scope, after.package_scope)
    epochs = before.epochs and after.epochs
    if filtered and before.package_scope != after.package_scope:
        notes.append("one side is a must-gather: packages compared only where its `version` list has them "
                     "(names matching kata-containers or qemu)")
    if not epochs:
        notes.append("a must-gather's rpm -qa lists no epochs: versions compared on version-release")
    cmp_binaries = before.binaries_collected and after.binaries_collected
    cmp_booted = before.booted_collected and after.booted_collected
    if not cmp_binaries:
        notes.append("kata binary versions not compared (a must-gather does not collect them)")
    if not cmp_booted:
        notes.append("booted OS image (rpm-ostree) not compared (a must-gather does not collect it); the Node's "
                     "status.nodeInfo.osImage is compared instead")

    names_b, names_a = set(before.nodes), set(after.nodes)
    common = sorted(names_b & names_a)
    changes: Dict[str, Dict[str, Any]] = {}
    for n in common:
        nb, na = before.nodes[n], after.nodes[n]
        ch: Dict[str, Any] = {"packages": {"added": [], "removed": [], "changed": []}, "binaries": [],
                              "bootedImage": None, "osImage": _pair(nb.os_image, na.os_image),
                              "machineConfig": _pair(nb.machine_config, na.machine_config)}
        if nb.packages is not None and na.packages is not None:
            ch["packages"] = _package_changes(nb.packages, na.packages, before.epochs, after.epochs, filtered)
        elif (nb.packages is None) != (na.packages is None):
            notes.append("%s: packages collected on one side only; not compared" % n)
        if cmp_binaries:
            for b in sorted(set(nb.binaries) | set(na.binaries)):
                if nb.binaries.get(b) != na.binaries.get(b):
                    ch["binaries"].append({"name": b, "before": nb.binaries.get(b), "after": na.binaries.get(b)})
        if cmp_booted and nb.booted_image and na.booted_image:
            ch["bootedImage"] = _pair(nb.booted_image, na.booted_image)
        changes[n] = ch

    def empty(ch: Dict[str, Any]) -> bool:
        p = ch["packages"]
        return not (p["added"] or p["removed"] or p["changed"] or ch["binaries"] or ch["bootedImage"]
                    or ch["osImage"] or ch["machineConfig"])

    unchanged = [n for n in common if empty(changes[n])]
    changed = [n for n in common if not empty(changes[n])]
    groups: "OrderedDict[str, List[str]]" = OrderedDict()
    for n in changed:
        groups.setdefault(json.dumps(changes[n], sort_keys=True), []).append(n)
    group_docs = []
    for key, members in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[1][0])):
        g = json.loads(key)
        group_docs.append(dict(g, nodes=members, count=len(members)))
    findings = _finding_changes(before, after, set(common))
    version = _pair(before.version, after.version)
    doc = {
        "apiVersion": API_VERSION, "kind": KIND, "identical": False,
        "before": before.describe(), "after": after.describe(),
        "cluster": {"version": version},
        "nodes": {"onlyBefore": sorted(names_b - names_a), "onlyAfter": sorted(names_a - names_b),
                  "changed": changed, "unchanged": unchanged},
        "groups": group_docs,
        "findings": findings,
        "notes": notes,
    }
    doc["identical"] = not has_differences(doc)
    return doc


def has_differences(doc: Mapping[str, Any]) -> bool:
    n = doc["nodes"]
    f = doc["findings"]
    return bool(n["onlyBefore"] or n["onlyAfter"] or n["changed"] or f["new"] or f["resolved"]
                or doc["cluster"]["version"])
