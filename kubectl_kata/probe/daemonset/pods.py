"""What the DaemonSet collector reads from the cluster about its pods, as plain values: the node a pod is for
(:func:`pod_node`), the few fields of a pod it follows (:class:`PodView`), and why the DaemonSet controller created
no pod (:class:`Refusal`, from its ``FailedCreate`` events). Pure: no I/O.
"""
from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

from ..classify import one_line
from .objects import CONTAINER

__all__ = ["pod_node", "PodView", "Refusal", "PULL_REASONS", "STUCK_REASONS"]

PULL_REASONS = ("ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull")
STUCK_REASONS = ("CreateContainerConfigError", "CreateContainerError", "RunContainerError")


def pod_node(pod: Mapping[str, Any]) -> Optional[str]:
    spec = pod.get("spec") or {}
    if spec.get("nodeName"):
        return str(spec["nodeName"])
    # not bound yet: the DaemonSet controller pins each pod with matchFields metadata.name
    for term in (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                 .get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms") or []:
        for f in term.get("matchFields") or []:
            if f.get("key") == "metadata.name" and f.get("values"):
                return str(f["values"][0])
    return None


class PodView:
    """What the collector keeps of a pod: a few fields, not the object."""

    __slots__ = ("name", "ready", "running", "waiting", "waiting_msg", "unschedulable", "terminated",
                 "deleted", "image")

    def __init__(self, pod: Mapping[str, Any], deleted: bool = False) -> None:
        md = pod.get("metadata") or {}
        status = pod.get("status") or {}
        self.name = str(md.get("name") or "")
        self.deleted = deleted or bool(md.get("deletionTimestamp"))
        self.ready = False
        self.running = False
        self.waiting = ""
        self.waiting_msg = ""
        self.terminated = ""
        self.unschedulable = ""
        self.image = ""
        for c in (pod.get("spec") or {}).get("containers") or []:
            if c.get("name") == CONTAINER:
                self.image = str(c.get("image") or "")
        for cs in status.get("containerStatuses") or []:
            if cs.get("name") != CONTAINER:
                continue
            state = cs.get("state") or {}
            self.ready = bool(cs.get("ready"))
            self.running = "running" in state
            if "waiting" in state:
                self.waiting = str((state["waiting"] or {}).get("reason") or "")
                self.waiting_msg = str((state["waiting"] or {}).get("message") or self.waiting)
            if "terminated" in state:
                t = state["terminated"] or {}
                self.terminated = "%s (exit code %s)" % (t.get("reason") or "terminated", t.get("exitCode"))
        for cond in status.get("conditions") or []:
            if cond.get("type") == "PodScheduled" and cond.get("status") == "False":
                self.unschedulable = str(cond.get("message") or cond.get("reason") or "not scheduled")
        if status.get("phase") in ("Failed", "Succeeded") and not self.terminated:
            self.terminated = "pod %s: %s" % (status.get("phase"), status.get("reason") or status.get("message")
                                              or "")


class Refusal:
    """The DaemonSet controller's newest Warning ``FailedCreate`` event: its message (``Error creating: <the API
    error>``), how often it happened, and whether it is final (refused by admission: will not pass by waiting)."""

    _FINAL = (" is forbidden: ", "denied the request", "violates PodSecurity")

    def __init__(self, message: str, count: int) -> None:
        self.message = message
        self.count = count
        self.final = any(f in message for f in self._FINAL)

    @property
    def text(self) -> str:
        return "the DaemonSet controller reports FailedCreate%s: %s" % (
            (" (%d times)" % self.count) if self.count > 1 else "", one_line(self.message, 600))

    @classmethod
    def from_events(cls, events: Sequence[Mapping[str, Any]]) -> Optional["Refusal"]:
        failed = [e for e in events or [] if isinstance(e, Mapping) and e.get("reason") == "FailedCreate"
                  and (e.get("type") or "Warning") == "Warning"]
        if not failed:
            return None

        def when(e):
            return str(e.get("lastTimestamp") or e.get("eventTime") or
                       ((e.get("metadata") or {}).get("creationTimestamp")) or "")

        newest = max(failed, key=when)
        try:
            count = int(newest.get("count") or 1)
        except (TypeError, ValueError):
            count = 1
        return cls(str(newest.get("message") or "FailedCreate"), count)
