"""What a must-gather cannot show: every check whose input it lacks is reported ``not collected`` (severity info,
never ok), so a missing file never reads as a healthy or a broken cluster. Pure."""
from __future__ import annotations

from typing import Any, List, Set

__all__ = ["NOT_COLLECTED", "CLUSTER_NEEDS", "NODE_CHECKS_FROM_VERSION", "NODE_WHY", "not_collected",
           "restrict_cluster_findings"]

NOT_COLLECTED = "not collected"
# cluster check -> the facts it needs; without them the check is reported "not collected"
CLUSTER_NEEDS = {
    "cluster.extension-mc": ("pools", "mcs"),
    "cluster.rendered-config": ("pools", "mcs"),
    "cluster.pool-status": ("pools", "nodes"),
    "cluster.runtimeclass": ("runtimeclasses", "nodes", "pools"),
    "cluster.node-pools": ("nodes", "pools"),
    "cluster.operator": ("mcs", "kataconfigs"),
    "cluster.node-ready": ("nodes",),
}
_UNKNOWN_CHECK_NEEDS = ("nodes", "pools", "mcs", "runtimeclasses", "kataconfigs", "version")
_FACT_WHAT = {
    "nodes": "Node objects (cluster-scoped-resources/core/nodes)",
    "pools": "MachineConfigPools (cluster-scoped-resources/machineconfiguration.openshift.io/machineconfigpools)",
    "mcs": "MachineConfigs (cluster-scoped-resources/machineconfiguration.openshift.io/machineconfigs)",
    "runtimeclasses": "RuntimeClasses (cluster-scoped-resources/node.k8s.io/runtimeclasses)",
    "kataconfigs": "KataConfigs (kataconfiguration.openshift.io or sandboxed-containers/kataconfig_description)",
    "version": "the ClusterVersion (cluster-scoped-resources/config.openshift.io/clusterversions)",
}
# node checks a must-gather's `version` file allows; every other node check is "not collected"
NODE_CHECKS_FROM_VERSION = ("node.package-version",)
# what each node check would need that a must-gather never has
NODE_WHY = {
    "node.collection": "the must-gather holds no doctor probe output",
    "node.extension-requested": "no `rpm-ostree status` in a must-gather",
    "node.staged-deployment": "no `rpm-ostree status` in a must-gather",
    "node.unexpected-layered": "no `rpm-ostree status` in a must-gather",
    "node.closure-complete": "no rpm Requires/Provides in a must-gather",
    "node.rpm-verify": "no `rpm -V` in a must-gather",
    "node.binary-version": "no kata binary versions in a must-gather",
    "node.qemu-path": "no file list or `kata-runtime env` in a must-gather",
    "node.crio-dropin": "no CRI-O drop-ins in a must-gather",
    "node.dev-kvm": "no /dev/kvm or CPU flags in a must-gather",
    "node.initrd": "no kata-osbuilder state in a must-gather",
    "node.os-image": "no booted OS image (rpm-ostree) in a must-gather",
    "node.legacy-leftovers": "no file list in a must-gather",
}


def not_collected(check_id: str, subject: str, why: str, **details: Any):
    from kubectl_kata.doctor.findings import INFO, Finding

    return Finding(check_id, INFO, subject, "%s: %s" % (NOT_COLLECTED, why),
                   "collect a kubectl-kata bundle (`kubectl kata doctor --bundle`) for this check",
                   dict(details, notCollected=True))


def restrict_cluster_findings(findings: List[Any], available: Set[str]) -> List[Any]:
    """Replace the findings of every cluster check whose input the must-gather lacks by one
    ``not collected`` finding (info), so a missing file never reads as a healthy or a broken cluster."""
    from kubectl_kata.doctor.checks_cluster import SUBJECT

    out: List[Any] = []
    replaced: Set[str] = set()

    def lacking(check_id: str) -> List[str]:
        return [k for k in CLUSTER_NEEDS.get(check_id, _UNKNOWN_CHECK_NEEDS) if k not in available]

    for f in findings:
        missing = lacking(f.check_id)
        if not missing:
            out.append(f)
        elif f.check_id not in replaced:
            replaced.add(f.check_id)
            out.append(not_collected(f.check_id, SUBJECT, "the must-gather has no %s"
                                      % " and no ".join(_FACT_WHAT.get(k, k) for k in missing), missing=missing))
    # a check that said nothing for lack of data (e.g. no pool at all) is reported too
    for check_id in CLUSTER_NEEDS:
        missing = lacking(check_id)
        if missing and check_id not in replaced:
            out.append(not_collected(check_id, SUBJECT, "the must-gather has no %s"
                                      % " and no ".join(_FACT_WHAT.get(k, k) for k in missing), missing=missing))
    return out
