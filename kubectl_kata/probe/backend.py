"""What a node probe backend is and what it returns: :class:`ProbeBackend`, :class:`NodeProbeResult` and the
stable ``REASON_*`` tokens that say why a probe did not succeed.

A backend (``oc debug``, ``kubectl debug``, a DaemonSet...) runs the collection script on one node and turns
what happened into one :class:`NodeProbeResult`; :func:`kubectl_kata.probe.fanout.run_probes` runs it for
every node.
"""
from __future__ import annotations

import abc
import threading
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from kubectl_kata.probe.framing import RawResult

__all__ = [
    "REASON_OK", "REASON_TIMEOUT", "REASON_CANCELLED", "REASON_IMAGE_PULL", "REASON_CONTAINER_ERROR",
    "REASON_FORBIDDEN", "REASON_POD_SECURITY", "REASON_NOT_ROOT", "REASON_SCHEDULING", "REASON_POD_FAILED",
    "REASON_POD_REFUSED", "REASON_NOT_READY", "REASON_EXIT_CODE", "REASON_FRAMING", "REASON_SCRIPT_ERROR", "REASON_UNAUTHORIZED",
    "REASON_UNREACHABLE", "REASON_NODE_NOT_FOUND", "REASON_TOOL_MISSING", "REASON_INVALID_NODE",
    "REASON_SKIPPED", "REASON_INTERNAL", "NodeProbeResult", "ProbeBackend",
]

REASON_OK = "ok"
REASON_TIMEOUT = "timeout"
REASON_CANCELLED = "cancelled"
REASON_IMAGE_PULL = "image-pull"
REASON_CONTAINER_ERROR = "container-error"
REASON_FORBIDDEN = "forbidden"
REASON_POD_SECURITY = "pod-security"
REASON_NOT_ROOT = "not-root"
REASON_SCHEDULING = "scheduling"
REASON_POD_FAILED = "pod-failed"
REASON_POD_REFUSED = "pod-refused"      # the cluster refused to create the node's pod (admission, quota)
REASON_NOT_READY = "not-ready"
REASON_EXIT_CODE = "exit-code"
REASON_FRAMING = "framing"
REASON_SCRIPT_ERROR = "script-error"
REASON_UNAUTHORIZED = "unauthorized"
REASON_UNREACHABLE = "cluster-unreachable"
REASON_NODE_NOT_FOUND = "node-not-found"
REASON_TOOL_MISSING = "tool-not-found"
REASON_INVALID_NODE = "invalid-node"
REASON_SKIPPED = "skipped"
REASON_INTERNAL = "internal"


@dataclass
class NodeProbeResult:
    node: str
    ok: bool
    raw: Optional[Dict[str, RawResult]]
    error: Optional[str]
    reason: str
    stderr_tail: str
    duration_s: float
    command: List[str]
    notes: List[str] = field(default_factory=list)   # framing problems, cleanup warnings


class ProbeBackend(abc.ABC):
    """Runs the collection on one node. Implementations must clean up their pods on every path."""

    name = "backend"

    @abc.abstractmethod
    def probe(self, node: str, *, timeout_s: float, cancel_event: threading.Event,
              grace_s: float) -> NodeProbeResult:
        """Probe ``node``; return (never raise) a result."""
