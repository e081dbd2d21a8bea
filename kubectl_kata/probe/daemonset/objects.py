"""The objects of ``doctor --via daemonset``: where its pods go (:func:`placement`) and what is created in the run's
namespace (:func:`build_objects`): the ConfigMap holding the collection script, a ServiceAccount bound to the
``privileged`` SCC (ClusterRole ``system:openshift:scc:privileged``: a DaemonSet's pods are admitted with the pod's
service account, not the user's rights), and the DaemonSet whose container runs the script once under
``chroot /host`` (as ``oc debug`` does), prints ``kata-doctor-exit rc=<status>`` after the framed block, touches
``/tmp/kata-doctor-done`` (its readiness probe) and then sleeps until it is deleted, so it is never restarted.
Pure: no I/O.
"""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence

from ...core.selectors import matches

__all__ = ["placement", "build_objects", "CONTAINER", "RUN_LABEL", "DONE_FILE", "SCRIPT_DIR", "SCRIPT_KEY",
           "SCC_CLUSTER_ROLE", "HOSTNAME_LABEL", "WRAPPER"]

CONTAINER = "collect"
RUN_LABEL = "kata-doctor.kubectl-kata.io/run"
DONE_FILE = "/tmp/kata-doctor-done"
SCRIPT_DIR = "/kata-doctor"
SCRIPT_KEY = "collect.sh"
SCC_CLUSTER_ROLE = "system:openshift:scc:privileged"
HOSTNAME_LABEL = "kubernetes.io/hostname"

# the container's command: run the script once under chroot /host, say how it ended, mark it done, then idle
# (the DaemonSet's restartPolicy is Always: the container must not exit)
WRAPPER = (
    "trap 'exit 0' TERM INT\n"
    'chroot /host /bin/sh -c "$(cat ' + SCRIPT_DIR + "/" + SCRIPT_KEY + ')" 2>&1\n'
    "rc=$?\n"
    "printf 'kata-doctor-exit rc=%s\\n' \"$rc\"\n"
    ": >" + DONE_FILE + "\n"
    "while :; do sleep 3600 & wait $!; done\n"
)


def placement(nodes: Sequence[str], pool_selector: Optional[dict], node_labels: Mapping[str, Mapping[str, str]]
              ) -> Dict[str, Any]:
    """Pod-spec fields that put the DaemonSet on exactly ``nodes``: the pool's ``nodeSelector`` when it selects
    exactly those nodes among ``node_labels`` (every node of the cluster), else required node affinity on
    ``kubernetes.io/hostname`` (when those labels tell the nodes apart), else on ``metadata.name``."""
    want = set(nodes)
    if pool_selector and (pool_selector.get("matchLabels") or pool_selector.get("matchExpressions")):
        selected = {n for n, labels in node_labels.items() if matches(pool_selector, labels)}
        if selected == want:
            out: Dict[str, Any] = {}
            if pool_selector.get("matchLabels"):
                out["nodeSelector"] = dict(pool_selector["matchLabels"])
            if pool_selector.get("matchExpressions"):
                out["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [{"matchExpressions": [dict(e) for e in pool_selector["matchExpressions"]]}]
                }}}
            return out
    hostnames = {n: (node_labels.get(n) or {}).get(HOSTNAME_LABEL) for n in nodes}
    values = sorted({h for h in hostnames.values() if h})
    chosen = {n for n, labels in node_labels.items() if (labels or {}).get(HOSTNAME_LABEL) in set(values)}
    if all(hostnames.values()) and chosen == want:
        term = {"matchExpressions": [{"key": HOSTNAME_LABEL, "operator": "In", "values": values}]}
    else:
        term = {"matchFields": [{"key": "metadata.name", "operator": "In", "values": sorted(want)}]}
    return {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [term]}}}}


def build_objects(name: str, namespace: str, image: str, script: str, where: Mapping[str, Any],
                  run_id: str) -> List[dict]:
    """ConfigMap (script), ServiceAccount + RoleBinding (privileged SCC), DaemonSet; created in this order."""
    labels = {RUN_LABEL: run_id, "app.kubernetes.io/managed-by": "kubectl-kata",
              "app.kubernetes.io/name": "kata-doctor"}
    meta = {"name": name, "namespace": namespace, "labels": dict(labels)}
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": dict(meta), "data": {SCRIPT_KEY: script}}
    sa = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": dict(meta)}
    rb = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": dict(meta),
          "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": SCC_CLUSTER_ROLE},
          "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": namespace}]}
    pod_spec: Dict[str, Any] = {
        "serviceAccountName": name,
        "automountServiceAccountToken": False,
        "hostPID": True,
        "terminationGracePeriodSeconds": 5,
        "tolerations": [{"operator": "Exists"}],
        "containers": [{
            "name": CONTAINER,
            "image": image,
            "imagePullPolicy": "IfNotPresent",
            "command": ["/bin/sh", "-c", WRAPPER],
            "securityContext": {"privileged": True, "runAsUser": 0},
            "readinessProbe": {"exec": {"command": ["cat", DONE_FILE]}, "initialDelaySeconds": 1,
                               "periodSeconds": 2, "failureThreshold": 1},
            "resources": {"requests": {"cpu": "10m", "memory": "50Mi"}},
            "volumeMounts": [{"name": "host", "mountPath": "/host"},
                             {"name": "script", "mountPath": SCRIPT_DIR, "readOnly": True}],
        }],
        "volumes": [{"name": "host", "hostPath": {"path": "/", "type": "Directory"}},
                    {"name": "script", "configMap": {"name": name, "defaultMode": 0o444}}],
    }
    pod_spec.update({k: v for k, v in where.items()})
    ds = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": dict(meta),
          "spec": {"selector": {"matchLabels": {RUN_LABEL: run_id}},
                   "updateStrategy": {"type": "OnDelete"},
                   # no priority class and no workload-partitioning annotation: both can be refused by a
                   # cluster's quota/admission policy for an ordinary namespace, and a refused pod is a lost node
                   "template": {"metadata": {"labels": dict(labels)}, "spec": pod_spec}}}
    return [cm, sa, rb, ds]
