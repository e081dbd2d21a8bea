"""The must-gather layout: which paths doctor uses and what each is, judged by its last components, so every
image sub-directory of one ``must-gather.local.<n>/`` (the default one and the operator's) is recognised wherever
it sits. Pure (looking at a directory is :mod:`.walk`'s).

``oc adm inspect``'s layout (openshift/oc ``pkg/cli/admin/inspect``)::

    cluster-scoped-resources/<group>/<plural>/<name>.yaml     one object ("core" is the core group)
    cluster-scoped-resources/<group>/<plural>.yaml            a List (e.g. config.openshift.io/clusterversions.yaml)
    namespaces/<ns>/<group>/<plural>.yaml                     a List of namespaced objects
    namespaces/<ns>/<group>/<plural>/<name>.yaml              one namespaced object

and the sandboxed containers operator's must-gather (its ``collection-scripts/gather_nodes`` and
``gather_sandboxed_containers_logs``)::

    nodes/<node>/version                  `chroot /host rpm -qa | egrep '(kata-containers|qemu)' | sort`
                                          (NVRA, no epoch)
    nodes/<node>/<node>_logs_crio         `oc adm node-logs <node> -u crio` (also _logs_kubelet)
    nodes/<node>/run/vc/...               the node's /run/vc, where present
    nodes/skipped_nodes.txt               nodes whose node-gather pod never ran
    sandboxed-containers/kataconfig_description, sandboxed-containers/mcps/<pool>_description
"""
from __future__ import annotations

from typing import List, Optional, Tuple

__all__ = ["relevant", "image_of", "run_of", "NOTE_ONLY", "CLUSTER_KINDS",
           "MCO_NS", "OSC_NS", "OSIMAGEURL_CM", "KATACONFIG_CRD", "OPERATOR_FILES", "NOT_A_MUSTGATHER"]

NOT_A_MUSTGATHER = ("expected a kubectl-kata doctor bundle (manifest.json not found) or a must-gather "
                    "(no cluster-scoped-resources/, namespaces/ or sandboxed containers operator "
                    "nodes/<node>/version found)")

# (group, plural) of cluster-scoped objects doctor uses -> facts key
CLUSTER_KINDS = {
    ("core", "nodes"): "nodes",
    ("machineconfiguration.openshift.io", "machineconfigpools"): "pools",
    ("machineconfiguration.openshift.io", "machineconfigs"): "mcs",
    ("node.k8s.io", "runtimeclasses"): "runtimeclasses",
    ("kataconfiguration.openshift.io", "kataconfigs"): "kataconfigs",
    ("config.openshift.io", "clusterversions"): "clusterversions",
    ("apiextensions.k8s.io", "customresourcedefinitions"): "crds",
}
MCO_NS = "openshift-machine-config-operator"
OSC_NS = "openshift-sandboxed-containers-operator"
OSIMAGEURL_CM = "machine-config-osimageurl"
KATACONFIG_CRD = "kataconfigs.kataconfiguration.openshift.io"
OPERATOR_FILES = ("version", "_logs_crio", "_logs_kubelet", "run/vc")
# what is only noted (existence), never read
NOTE_ONLY = ("node-log", "node-vc", "osc-namespace")


def relevant(parts: List[str]) -> Optional[Tuple[str, ...]]:
    """What a must-gather path is to doctor, judged by its last components; None = not used."""
    n = len(parts)
    if n == 0:
        return None
    last = parts[-1]
    # cluster-scoped-resources/<group>/<plural>/<name>.yaml and .../<group>/<plural>.yaml (a List)
    if n >= 4 and parts[-4] == "cluster-scoped-resources" and last.endswith((".yaml", ".yml")):
        key = CLUSTER_KINDS.get((parts[-3], parts[-2]))
        if key:
            return ("cluster", key)
    if n >= 3 and parts[-3] == "cluster-scoped-resources" and last.endswith((".yaml", ".yml")):
        key = CLUSTER_KINDS.get((parts[-2], last.rsplit(".", 1)[0]))
        if key:
            return ("cluster", key)
    # namespaces/openshift-machine-config-operator/core/configmaps.yaml or .../configmaps/<name>.yaml
    if n >= 4 and parts[-4] == "namespaces" and parts[-3] == MCO_NS and parts[-2] == "core" \
            and last in ("configmaps.yaml", "configmaps.yml"):
        return ("configmaps",)
    if n >= 5 and parts[-5] == "namespaces" and parts[-4] == MCO_NS and parts[-3] == "core" \
            and parts[-2] == "configmaps" and last.rsplit(".", 1)[0] == OSIMAGEURL_CM:
        return ("configmaps",)
    if n >= 3 and parts[-3] == "namespaces" and parts[-2] == OSC_NS:
        return ("osc-namespace",)
    # the operator's node data
    if n >= 3 and parts[-3] == "nodes" and last == "version":
        return ("node-version", parts[-2])
    if n >= 3 and parts[-3] == "nodes" and last in (parts[-2] + "_logs_crio", parts[-2] + "_logs_kubelet"):
        return ("node-log", parts[-2], last.rsplit("_", 1)[1])
    if n >= 2 and parts[-2] == "nodes" and last == "skipped_nodes.txt":
        return ("skipped",)
    if "nodes" in parts[:-1]:
        i = len(parts) - 1 - parts[::-1].index("nodes")
        if i + 3 < n and parts[i + 2] == "run" and parts[i + 3] == "vc":
            return ("node-vc", parts[i + 1])
    if n >= 2 and parts[-2] == "sandboxed-containers" and last.endswith("_description"):
        return ("description", last)
    if n >= 3 and parts[-3] == "sandboxed-containers" and parts[-2] == "mcps" and last.endswith("_description"):
        return ("description", "mcps/" + last)
    return None


def image_of(parts: List[str]) -> Optional[str]:
    """The image sub-directory of must-gather.local.<n>/ the member sits in, if the path shows it."""
    for i, p in enumerate(parts[:-1]):
        if p.startswith("must-gather.local.") and i + 1 < len(parts) - 1:
            return parts[i + 1]
    return None


def run_of(parts: List[str]) -> Optional[Tuple[str, ...]]:
    """The path of the ``must-gather.local.<n>`` directory the member sits in, if any."""
    for i, p in enumerate(parts[:-1]):
        if p.startswith("must-gather.local."):
            return tuple(parts[:i + 1])
    return None
