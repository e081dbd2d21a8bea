"""How a request to the API server failed, and the one actionable line the user sees for it.

`_Failed` carries one failed attempt (classified by `_classify`) to the retry loop in client.py; `translate_status`
turns an HTTP status with its `Status` body into a ClusterError; `OutcomeUnknown` and `WatchExpired` are what the
verbs raise or resolve.
"""
from __future__ import annotations

import json
from typing import Any, Dict, Optional

from ..errors import ClusterError, Conflict, NotFound


class WatchExpired(Exception):
    """The watch's resourceVersion is too old (HTTP 410 / ERROR event): relist and watch again."""


class OutcomeUnknown(ClusterError):
    """A mutating request was sent but no answer came (connection broken, or slower than --request-timeout).

    Raised by Cluster.request; create/patch/delete resolve it by reading the object back, so callers of the
    verbs never see it. Whoever calls `request` with a write directly gets it as the ClusterError it wraps.
    """

    def __init__(self, error: Exception) -> None:
        message = getattr(error, "message", None) or str(error)
        super().__init__(message, hint=getattr(error, "hint", None), code=getattr(error, "code", None),
                         reason=getattr(error, "reason", None))
        self.error = error


class _Failed(Exception):
    """One attempt failed: the low-level exception, how it failed, and the status / Retry-After if any."""

    def __init__(self, exc: Exception, kind: str, status: Optional[int] = None, retry_after: Optional[str] = None):
        super().__init__(str(exc))
        self.exc = exc
        self.kind = kind
        self.status = status
        self.retry_after = retry_after

    def describe(self) -> str:
        if self.status is not None:
            return f"HTTP {self.status}"
        return {"refused": "connection refused", "broken": "connection broken before an answer",
                "timeout": "timed out"}.get(self.kind, type(self.exc).__name__)


def _classify(exc: Exception) -> str:
    """status | refused | connect-timeout | timeout | broken | tls | other."""
    import http.client

    import urllib3.exceptions as u3

    if getattr(exc, "status", None):
        return "status"
    if isinstance(exc, u3.MaxRetryError) and exc.reason is not None:
        exc = exc.reason
    text = str(exc)
    if isinstance(exc, ConnectionRefusedError) or "Connection refused" in text:
        return "refused"
    if isinstance(exc, u3.SSLError) or "CERTIFICATE_VERIFY_FAILED" in text or "SSL" in type(exc).__name__:
        return "tls"
    if isinstance(exc, (u3.NewConnectionError, u3.ConnectTimeoutError)):
        return "connect-timeout" if "timed out" in text else "other"
    if isinstance(exc, u3.ReadTimeoutError) or "timed out" in text:
        return "timeout"
    if isinstance(exc, (u3.ProtocolError, ConnectionError, http.client.HTTPException)):
        return "broken"
    return "other"


def _header(headers, name: str) -> Optional[str]:
    if not headers:
        return None
    try:
        value = headers.get(name)
    except AttributeError:
        return None
    return value if value is None else str(value)

def _short(exc: Exception) -> str:
    """The useful part of a low-level error message, on one line."""
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "certificate verify failed",
                   "No route to host", "Network is unreachable", "nodename nor servname provided",
                   "Temporary failure in name resolution"):
        if marker in text:
            return marker.lower()
    return text.splitlines()[0][:200] if text else type(exc).__name__


def translate_status(code: int, body: Any, method: str, what: str, server: str) -> ClusterError:
    """Turn an API error (with its `Status` body) into one line that says what to do."""
    status: Dict[str, Any] = {}
    if isinstance(body, (bytes, bytearray)):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str) and body:
        try:
            status = json.loads(body)
        except ValueError:
            status = {}
    if not isinstance(status, dict):
        status = {}
    message = str(status.get("message") or "").strip()
    reason = status.get("reason")
    verb = {"GET": "get", "POST": "create", "PATCH": "patch", "PUT": "update", "DELETE": "delete",
            "WATCH": "watch"}.get(method, method.lower())
    if code == 401:
        return ClusterError(f"unauthorized: {server} rejected the credentials ({verb} {what})", code=code,
                            reason=reason, hint="log in again (`oc login`) or check the user in the kubeconfig")
    if code == 403:
        return ClusterError(f"forbidden: {message or f'you cannot {verb} {what}'}", code=code, reason=reason,
                            hint=f"ask a cluster admin for permission to {verb} {what.split(' ')[0]} "
                                 "(kubectl kata needs cluster-admin-like rights on MachineConfigs and pools)")
    if code == 404:
        return NotFound(f"not found: {message or what}", code=code, reason=reason)
    if code == 409:
        return Conflict(f"conflict: {message or what}", code=code, reason=reason,
                        hint="someone else changed it meanwhile; run the command again")
    if code == 410:
        return ClusterError(f"expired: {message or what}", code=code, reason=reason)
    if code == 422:
        return ClusterError(f"the server rejected {what}: {message or 'invalid'}", code=code, reason=reason)
    if code == 429 or code >= 500:
        return ClusterError(f"server error {code} on {verb} {what}: {message or reason or 'no details'}",
                            code=code, reason=reason, hint="the API server is overloaded or failing; retry shortly")
    return ClusterError(f"{verb} {what} failed with HTTP {code}: {message or reason or 'no details'}",
                        code=code, reason=reason)

