"""The API calls of the DaemonSet node collector (``doctor --via daemonset``), as plain dicts and bytes.

:class:`WorkloadAPI` wraps a :class:`~kubectl_kata.kube.client.Cluster`; ``kubectl_kata.probe.daemonset`` uses it
duck-typed (the probe layer does not import ``kube``): create/delete objects, one pod list + one pod watch per
run, one log GET per pod, and SelfSubjectAccessReviews for ``--via auto``.
"""
from __future__ import annotations

from typing import Any, Dict, Iterator, List, Optional, Tuple

from ..errors import ClusterError
from .client import Cluster, WatchExpired
from .resources import resource

__all__ = ["WorkloadAPI", "WatchExpired", "SSAR_PATH"]

SSAR_PATH = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"


class WorkloadAPI:
    def __init__(self, cluster: Cluster, connections: Optional[int] = None) -> None:
        """``connections``: keep that many connections to the API server open for reuse (the client's pool
        holds 5 per CPU by default; with more parallel log GETs than that, every extra request would pay a new
        TCP+TLS handshake)."""
        self.cluster = cluster
        if connections:
            _widen_pool(cluster, connections)

    # -- objects -------------------------------------------------------------------------------
    def create(self, obj: dict) -> dict:
        return self.cluster.create(obj)

    def delete(self, kind: str, name: str, namespace: Optional[str] = None) -> bool:
        """Delete in the background (the garbage collector removes dependents); False when already gone."""
        return self.cluster.delete(kind, name, namespace)

    # -- pods: one list, then one watch ---------------------------------------------------------
    def list_pods(self, namespace: str, label_selector: str) -> Tuple[List[dict], str]:
        data = self.cluster.list("Pod", namespace=namespace, label_selector=label_selector)
        return data["items"], str((data.get("metadata") or {}).get("resourceVersion") or "")

    def watch_pods(self, namespace: str, label_selector: str, resource_version: str,
                   timeout_seconds: int) -> Iterator[Tuple[str, dict]]:
        """(type, pod) events; raises WatchExpired on 410 (relist)."""
        return self.cluster.watch("Pod", resource_version, namespace=namespace, label_selector=label_selector,
                                  timeout_seconds=timeout_seconds)

    def pod_log(self, namespace: str, name: str, container: str, timeout_s: float) -> bytes:
        """The container's log (GET pods/{name}/log), whole."""
        path = resource("Pod").path(name, namespace, "log")
        resp = self.cluster.request("GET", path, [("container", container)], what="pods/log %s" % name,
                                    stream=True, timeout=timeout_s)
        try:
            return resp.data or b""
        finally:
            resp.release_conn()

    # -- events: why the DaemonSet controller created no pod ----------------------------------------
    def events_about(self, namespace: str, kind: str, name: str) -> List[dict]:
        """The core/v1 Events whose involvedObject is ``kind``/``name`` in ``namespace``: ONE list call with a field
        selector (whatever the number of pods)."""
        data = self.cluster.list("Event", namespace=namespace,
                                 field_selector="involvedObject.kind=%s,involvedObject.name=%s" % (kind, name))
        return list(data.get("items") or [])

    # -- authorization ---------------------------------------------------------------------------
    def may(self, verb: str, resource_plural: str, group: str = "", namespace: Optional[str] = None,
            name: Optional[str] = None) -> Tuple[bool, str]:
        """SelfSubjectAccessReview: (allowed, reason). An error counts as not allowed (reason says why)."""
        attrs: Dict[str, Any] = {"verb": verb, "resource": resource_plural, "group": group}
        if namespace:
            attrs["namespace"] = namespace
        if name:
            attrs["name"] = name
        body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                "spec": {"resourceAttributes": attrs}}
        try:
            out = self.cluster.request("POST", SSAR_PATH, body=body, what="selfsubjectaccessreviews",
                                       idempotent=True)  # an access review changes nothing: retry it as a read
        except ClusterError as exc:
            return False, "access review failed: %s" % exc.message
        status = out.get("status") or {}
        return bool(status.get("allowed")), str(status.get("reason") or status.get("evaluationError") or "")


def _widen_pool(cluster: Cluster, size: int) -> None:
    pool_manager = getattr(getattr(getattr(cluster, "_api", None), "rest_client", None), "pool_manager", None)
    kw = getattr(pool_manager, "connection_pool_kw", None)
    if not isinstance(kw, dict) or int(kw.get("maxsize") or 1) >= size:
        return
    kw["maxsize"] = size
    pool_manager.clear()        # pools made from now on keep ``size`` connections; idle ones are closed
