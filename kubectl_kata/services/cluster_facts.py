"""Gather cluster facts as plain dicts, with as few requests as possible (list calls, never per-node GETs)."""
from __future__ import annotations

from typing import Any, Dict, Optional

from ..errors import ClusterError
from ..kube.resources import KATA_GROUP, MCO_GROUP

OSC_NAMESPACE = "openshift-sandboxed-containers-operator"


def open_cluster(conn, env):
    from ..kube.client import connect

    return connect(conn, env)


def openshift_version(cluster) -> Optional[str]:
    cv = cluster.get("ClusterVersion", "version")
    if not cv:
        return None
    status = cv.get("status") or {}
    desired = (status.get("desired") or {}).get("version")
    if desired:
        # desired is the target during an upgrade; the last Completed history entry is what runs.
        for entry in status.get("history") or []:
            if entry.get("state") == "Completed" and entry.get("version"):
                return entry["version"]
        return desired
    return None


def cluster_versions(conn, env) -> Dict[str, Any]:
    cluster = open_cluster(conn, env)
    k8s = cluster.server_version().get("gitVersion", "unknown")
    ocp = None
    if cluster.served("config.openshift.io"):
        ocp = openshift_version(cluster)
    return {"openshift": ocp, "kubernetes": k8s}


def gather(cluster, with_pods: bool = True) -> Dict[str, Any]:
    """Everything preflight/status need, as plain dicts.

    Keys: openshift (MCO API served), version, pools, nodes, mcs, kataconfigs, kataconfig_crd,
    osc_namespace, runtimeclasses, kata_pods.
    """
    facts: Dict[str, Any] = {"openshift": cluster.served(MCO_GROUP)}
    facts["version"] = openshift_version(cluster) if cluster.served("config.openshift.io") else None
    facts["nodes"] = cluster.items("Node")
    if facts["openshift"]:
        facts["pools"] = cluster.items("MachineConfigPool")
        facts["mcs"] = [mc for mc in cluster.items("MachineConfig")]
    else:
        facts["pools"], facts["mcs"] = [], []
    facts["kataconfig_crd"] = cluster.served(KATA_GROUP)
    facts["kataconfigs"] = cluster.items("KataConfig") if facts["kataconfig_crd"] else []
    facts["osc_namespace"] = cluster.get("Namespace", OSC_NAMESPACE) is not None
    facts["runtimeclasses"] = cluster.items("RuntimeClass")
    if with_pods:
        facts["kata_pods"] = kata_pods(cluster, facts["runtimeclasses"])
    return facts


def kata_pods(cluster, runtimeclasses=None):
    """Pods that use a kata RuntimeClass (name starting with `kata`), not finished. One list call."""
    pods = cluster.items("Pod")
    out = []
    for pod in pods:
        rc = (pod.get("spec") or {}).get("runtimeClassName") or ""
        phase = (pod.get("status") or {}).get("phase")
        if rc.startswith("kata") and phase not in ("Succeeded", "Failed"):
            meta = pod.get("metadata") or {}
            out.append({"namespace": meta.get("namespace"), "name": meta.get("name"),
                        "node": (pod.get("spec") or {}).get("nodeName"), "runtimeClassName": rc, "phase": phase})
    return out


def require_openshift(facts) -> None:
    if not facts.get("openshift"):
        raise ClusterError("this cluster does not serve the machineconfiguration.openshift.io API",
                           hint="kubectl kata needs OpenShift with the Machine Config Operator")
