"""The probe runner's public names, from the modules that hold them (kept so existing imports work):

- :mod:`.backend`: ``ProbeBackend``, ``NodeProbeResult`` and the ``REASON_*`` tokens
- :mod:`.process`: ``run_command`` (own process group, timeout/cancel/watch, SIGTERM then SIGKILL)
- :mod:`.classify`: ``classify_kube_stderr`` and ``build_result`` (what a probe process did -> a result)
- :mod:`.argv`: connection flags for oc/kubectl and the redacted form commands are shown in
- :mod:`.fanout`: ``run_probes`` (every node, in parallel, one result each) and ``ProbesInterrupted``
"""
from __future__ import annotations

from kubectl_kata.core.redact import redact_text
from kubectl_kata.probe.argv import command_as_run, conn_global_flags, kube_global_flags, redact_argv
from kubectl_kata.probe.backend import (
    REASON_CANCELLED, REASON_CONTAINER_ERROR, REASON_EXIT_CODE, REASON_FORBIDDEN, REASON_FRAMING,
    REASON_IMAGE_PULL, REASON_INTERNAL, REASON_INVALID_NODE, REASON_NODE_NOT_FOUND, REASON_NOT_READY,
    REASON_NOT_ROOT, REASON_OK, REASON_POD_FAILED, REASON_POD_REFUSED, REASON_POD_SECURITY, REASON_SCHEDULING,
    REASON_SCRIPT_ERROR, REASON_SKIPPED, REASON_TIMEOUT, REASON_TOOL_MISSING, REASON_UNAUTHORIZED, REASON_UNREACHABLE, NodeProbeResult,
    ProbeBackend,
)
from kubectl_kata.probe.classify import build_result, classify_kube_stderr, last_error_line, one_line, stderr_tail
from kubectl_kata.probe.fanout import ProbesInterrupted, ProgressFn, run_probes, valid_node_name
from kubectl_kata.probe.process import DEFAULT_GRACE_S, CancelEvent, ProcOutcome, WatchFn, run_command

__all__ = [
    "REASON_OK", "REASON_TIMEOUT", "REASON_CANCELLED", "REASON_IMAGE_PULL", "REASON_CONTAINER_ERROR",
    "REASON_FORBIDDEN", "REASON_POD_SECURITY", "REASON_NOT_ROOT", "REASON_SCHEDULING", "REASON_POD_FAILED",
    "REASON_POD_REFUSED", "REASON_NOT_READY", "REASON_EXIT_CODE", "REASON_FRAMING", "REASON_SCRIPT_ERROR", "REASON_UNAUTHORIZED",
    "REASON_UNREACHABLE", "REASON_NODE_NOT_FOUND", "REASON_TOOL_MISSING", "REASON_INVALID_NODE",
    "REASON_SKIPPED", "REASON_INTERNAL",
    "NodeProbeResult", "ProcOutcome", "ProbeBackend", "ProbesInterrupted", "CancelEvent", "WatchFn", "ProgressFn",
    "run_command", "run_probes", "redact_argv", "redact_text", "command_as_run", "classify_kube_stderr",
    "build_result", "one_line", "stderr_tail", "last_error_line", "valid_node_name", "DEFAULT_GRACE_S",
    "kube_global_flags", "conn_global_flags",
]
