"""Turn what an ``oc``/``kubectl`` probe process did into a :class:`NodeProbeResult`.

``classify_kube_stderr`` maps the API errors oc and kubectl print alike (forbidden, PodSecurity, not logged
in, unreachable, node not found) to a stable reason and one line naming the real cause; ``build_result``
combines that with the framed output and the exit status. ``raw`` keeps every framed item recovered, also
when the probe failed part-way (timeout, remote failure, truncated log); ``ok`` means the block was complete
and clean and the command succeeded.
"""
from __future__ import annotations

import re
from typing import Callable, List, Optional, Tuple

from kubectl_kata.core.redact import redact_text
from kubectl_kata.probe.backend import (
    REASON_CANCELLED, REASON_CONTAINER_ERROR, REASON_EXIT_CODE, REASON_FORBIDDEN, REASON_FRAMING,
    REASON_IMAGE_PULL, REASON_NODE_NOT_FOUND, REASON_OK, REASON_POD_SECURITY, REASON_SCRIPT_ERROR,
    REASON_TIMEOUT, REASON_TOOL_MISSING, REASON_UNAUTHORIZED, REASON_UNREACHABLE, NodeProbeResult,
)
from kubectl_kata.probe.framing import MAX_TOTAL_BYTES, FramingError, parse_framed
from kubectl_kata.probe.process import ProcOutcome
from kubectl_kata.probe.script import SCRIPT_ITEM_KEY

__all__ = ["one_line", "stderr_tail", "classify_kube_stderr", "last_error_line", "build_result",
           "STDERR_TAIL_CHARS"]

STDERR_TAIL_CHARS = 4000


def one_line(text: str, limit: int = 400) -> str:
    s = " ".join(text.split())
    return s if len(s) <= limit else s[: limit - 3] + "..."


def stderr_tail(stderr: bytes) -> str:
    text = stderr.decode("utf-8", "replace")
    return redact_text(text[-STDERR_TAIL_CHARS:])


_FORBIDDEN_DETAIL = re.compile(
    r'User "(?P<user>[^"]*)" cannot (?P<verb>[a-z]+) resource "(?P<res>[^"]+)"'
    r'(?: in API group "(?P<group>[^"]*)")?'
    r'(?: in the namespace "(?P<ns>[^"]+)"| at the cluster scope)?')
_ERR_LINE = re.compile(r"^(?:error: |Error from server|Error: |F\d{4} )", re.M)


def _line_with(text: str, needle: str) -> str:
    for line in text.splitlines():
        if needle in line:
            return line.strip()
    return needle


def classify_kube_stderr(text: str) -> Optional[Tuple[str, str]]:
    """Map the API errors oc and kubectl print alike to ``(reason, one-line message)``."""
    if "violates PodSecurity" in text or "PodSecurity violation" in text:
        line = _line_with(text, "PodSecurity")
        return REASON_POD_SECURITY, one_line(
            "the debug namespace does not allow privileged pods (label it "
            "pod-security.kubernetes.io/enforce=privileged): " + line)
    if "unable to validate against any security context constraint" in text:
        line = _line_with(text, "security context constraint")
        return REASON_FORBIDDEN, one_line(
            "not allowed to run privileged pods (needs the privileged SCC, e.g. cluster-admin): " + line)
    if "Error from server (Forbidden)" in text or " is forbidden: " in text:
        line = _line_with(text, "Forbidden") if "Forbidden" in text else _line_with(text, "is forbidden")
        m = _FORBIDDEN_DETAIL.search(text)
        if m:
            where = ('in namespace "%s"' % m.group("ns")) if m.group("ns") else "at cluster scope"
            group = m.group("group")
            res = m.group("res") if not group else "%s.%s" % (m.group("res"), group)
            msg = 'permission denied: user "%s" cannot %s %s %s (needs RBAC "%s" on "%s")' % (
                m.group("user"), m.group("verb"), res, where, m.group("verb"), res)
        else:
            msg = "permission denied: " + line
        return REASON_FORBIDDEN, one_line(msg)
    if "Unauthorized" in text or "You must be logged in" in text:
        return REASON_UNAUTHORIZED, one_line(
            "not logged in or credentials expired: " + _line_with(text, "nauthorized"
                                                                  if "nauthorized" in text else "logged in"))
    if "Unable to connect to the server" in text or "connection refused" in text \
            or "no such host" in text or "i/o timeout" in text:
        needle = "Unable to connect" if "Unable to connect" in text else (
            "connection refused" if "connection refused" in text else (
                "no such host" if "no such host" in text else "i/o timeout"))
        return REASON_UNREACHABLE, one_line("cannot reach the API server: " + _line_with(text, needle))
    m = re.search(r'Error from server \(NotFound\): nodes "([^"]+)" not found', text)
    if m:
        return REASON_NODE_NOT_FOUND, 'node "%s" not found' % m.group(1)
    return None


def last_error_line(text: str) -> Optional[str]:
    lines = [ln.strip() for ln in text.splitlines() if _ERR_LINE.match(ln.strip())]
    return lines[-1] if lines else None


def build_result(
    node: str,
    outcome: ProcOutcome,
    *,
    nonce: str,
    command: List[str],
    diagnose: Callable[[str], Optional[Tuple[str, str]]],
    timeout_s: float,
    duration_s: Optional[float] = None,
    stdout: Optional[bytes] = None,
    stderr: Optional[bytes] = None,
    remote_rc: Optional[int] = None,
    notes: Optional[List[str]] = None,
) -> NodeProbeResult:
    """Turn a finished probe into a :class:`NodeProbeResult` (shared by the backends).

    ``diagnose(stderr_text)`` is the backend's stderr classifier; ``remote_rc`` overrides the
    exit status used for the "exit-code" decision (kubectl: the container's exit code).
    """
    out = outcome.stdout if stdout is None else stdout
    err = outcome.stderr if stderr is None else stderr
    err_text = err.decode("utf-8", "replace")
    notes = list(notes or [])
    try:
        items, problems = parse_framed(out, nonce)
    except FramingError as exc:
        items, problems = {}, [str(exc)]
    if outcome.stdout_truncated:
        problems.append("output larger than %d bytes was cut" % MAX_TOTAL_BYTES)
    diag = diagnose(err_text)
    rc = outcome.rc if remote_rc is None else remote_rc

    def res(reason: str, error: Optional[str]) -> NodeProbeResult:
        raw = {k: v for k, v in items.items()} or None
        return NodeProbeResult(
            node=node, ok=reason == REASON_OK, raw=raw, error=error, reason=reason,
            stderr_tail=stderr_tail(err), duration_s=outcome.duration_s if duration_s is None else duration_s,
            command=command,
            # framing remarks only matter when some framed output arrived or it is the cause
            notes=(problems if (items or reason == REASON_FRAMING) else []) + notes)

    partial = " (partial data kept: %d items)" % len(items) if items else ""
    if outcome.start_error:
        return res(REASON_TOOL_MISSING, "cannot run %s" % outcome.start_error)
    if outcome.cancelled:
        why = ("; before that: " + diag[1]) if diag else ""
        return res(REASON_CANCELLED, one_line("cancelled after %.0fs%s%s" % (outcome.duration_s, partial, why)))
    if outcome.aborted and diag:
        return res(diag[0], diag[1])
    if outcome.timed_out:
        if diag:
            return res(diag[0], one_line("no result within %gs: %s" % (timeout_s, diag[1])))
        return res(REASON_TIMEOUT, "no result within %gs%s" % (timeout_s, partial))
    script_item = items.get(SCRIPT_ITEM_KEY)
    script_failed = script_item is not None and script_item.rc != 0
    if (rc == 0 or rc is None) and not problems and not script_failed:
        if diag:  # e.g. a pull back-off that resolved itself, or an API hiccup: data is complete
            notes.append(diag[1])
        return res(REASON_OK, None)
    if diag and diag[0] not in (REASON_IMAGE_PULL, REASON_CONTAINER_ERROR):
        return res(diag[0], diag[1])
    if script_failed:
        return res(REASON_SCRIPT_ERROR, one_line("collection script failed on the node: "
                                                 + script_item.stderr.decode("utf-8", "replace")))
    if rc is not None and rc != 0:
        if "non-zero exit code from debug container" in err_text or remote_rc is not None:
            msg = "the collection script exited non-zero on the node"
        else:
            msg = last_error_line(err_text) or ("exited with status %d" % rc)
        if diag:
            msg += "; " + diag[1]
        return res(REASON_EXIT_CODE, one_line(msg + partial))
    return res(REASON_FRAMING, one_line("incomplete collection output: " + problems[0] + partial))
