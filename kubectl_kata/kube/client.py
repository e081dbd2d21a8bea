"""The only module that imports `kubernetes`. It hands plain dicts to the rest of the plugin.

We use the client for what it does well -- kubeconfig auth (tokens, client certs, exec plugins,
OIDC), TLS, proxies -- and talk REST paths directly, so no generated model classes cross this
boundary (they changed incompatibly between client 36 and 37, DOMAIN.md section 9) and objects
the models would reject still come through.
"""
from __future__ import annotations

import copy
import json
import time
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from ..errors import ClusterError, ConfigError, Conflict, NotFound
from ..connection import ConnectionOptions
from . import kubeconfig, retry
from .resources import resource

FIELD_MANAGER = "kubectl-kata"
USER_AGENT = "kubectl-kata"

PATCH_TYPES = {
    "merge": "application/merge-patch+json",
    "json": "application/json-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "apply": "application/apply-patch+yaml",
}


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


class Cluster:
    """A connection to one cluster. All methods take and return plain dicts."""

    def __init__(self, api_client, server: str, context: str, env=None, request_timeout: Optional[float] = None):
        self._api = api_client
        self.server = server
        self.context = context
        self.env = env
        self.request_timeout = request_timeout
        self.request_count = 0
        self.retries = 0               # retries made (all requests)
        self.retry_policy = retry.RetryPolicy()
        self.deadline: Optional[float] = None  # time.monotonic() after which no retry waits (the command's --timeout)
        self._answered = False         # has the server answered anything yet (a refusal after that is retried)
        self._sleep = time.sleep

    def limit_to(self, seconds: Optional[float]) -> None:
        """Retries never wait past `seconds` from now (the command's overall --timeout); None: no overall limit."""
        self.deadline = None if not seconds else time.monotonic() + seconds

    # -- low level ---------------------------------------------------------
    def _log(self, text: str) -> None:
        if self.env is not None:
            self.env.debug(text, level=2)

    def request(self, method: str, path: str, query: Optional[List[Tuple[str, Any]]] = None, body: Any = None,
                content_type: Optional[str] = None, what: str = "", stream: bool = False,
                timeout: Any = None, idempotent: Optional[bool] = None):
        """One API call, retried as kube/retry.py says. Raises a translated ClusterError, or OutcomeUnknown for
        a mutating request whose connection broke after it was sent (the verbs below resolve that).

        `idempotent=True` marks a POST without side effects (e.g. a SelfSubjectAccessReview): retried as a read.
        """
        retry_as = "GET" if idempotent else method
        policy = self.retry_policy
        first_start = time.monotonic()
        # --request-timeout bounds the request together with its retries (client-go does the same)
        request_deadline = first_start + self.request_timeout if timeout is None and self.request_timeout else None
        attempt = 1
        while True:
            limit = timeout
            if limit is None and request_deadline is not None:
                limit = max(0.001, request_deadline - time.monotonic())
            try:
                return self._request_once(method, path, query, body, content_type, stream, limit)
            except _Failed as failed:
                error = self._translate(failed.exc, method, what or path)
                retry_after = None
                if failed.status is not None:
                    retry_after = retry.parse_retry_after(failed.retry_after, time.time())
                if failed.kind in ("broken", "timeout") and retry_as not in retry.IDEMPOTENT_METHODS:
                    raise OutcomeUnknown(error) from None
                if not self._may_retry(retry_as, failed):
                    raise error from None
                wait = policy.wait_for(attempt, retry_after)
                now = time.monotonic()
                deadlines = [d for d in (request_deadline, self.deadline) if d is not None]
                why = None
                if attempt >= policy.attempts:
                    why = f"gave up after {attempt} attempts"
                elif retry_after is not None and retry_after > policy.max_retry_after:
                    why = f"the server asked to retry after {retry_after:.0f}s"
                elif deadlines and now + wait > min(deadlines):
                    why = f"no time left to retry after {attempt} attempt(s)"
                if why is not None:
                    self._log(f"{method} {path}: not retrying ({why})")
                    if isinstance(error, ClusterError):
                        error.message = f"{error.message} ({why})"
                        error.args = (error.message,)
                    raise error from None
                asked = f", server asked {retry_after:g}s" if retry_after is not None else ""
                self._log(f"{method} {path}: {failed.describe()}; retry {attempt} of {policy.attempts - 1} "
                          f"in {wait:.2f}s{asked}")
                self.retries += 1
                self._sleep(wait)
                attempt += 1

    def _may_retry(self, method: str, failed: "_Failed") -> bool:
        if failed.status is not None:
            return retry.retryable_status(method, failed.status)
        if failed.kind == "refused":
            # nothing was sent; a server that answered before is restarting. One that never did is reported at once.
            return self._answered
        if failed.kind == "broken":
            return method in retry.IDEMPOTENT_METHODS
        return False

    def _request_once(self, method, path, query, body, content_type, stream, limit):
        from kubernetes.client.exceptions import ApiException

        headers = {"Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        self.request_count += 1
        started = time.monotonic()
        if isinstance(limit, (int, float)):
            limit = (float(limit), float(limit))  # the client ignores a bare float; (connect, read) works
        try:
            resp = self._api.call_api(
                path, method, query_params=list(query or []), header_params=headers, body=body,
                auth_settings=["BearerToken"], _preload_content=False, _return_http_data_only=True,
                _request_timeout=limit,
            )
        except ApiException as exc:
            if exc.status:
                self._answered = True
            self._log(f"{method} {path} -> {exc.status} in {1000 * (time.monotonic() - started):.0f} ms")
            raise _Failed(exc, _classify(exc), exc.status or None, _header(exc.headers, "Retry-After")) from None
        except Exception as exc:  # translated by request() into one actionable line
            self._log(f"{method} {path} -> error after {1000 * (time.monotonic() - started):.0f} ms")
            raise _Failed(exc, _classify(exc)) from None
        self._answered = True
        self._log(f"{method} {path} -> {resp.status} in {1000 * (time.monotonic() - started):.0f} ms")
        if stream:
            return resp
        try:
            data = resp.data
        except Exception as exc:  # the connection broke while the body was read
            raise _Failed(exc, _classify(exc)) from None
        finally:
            resp.release_conn()
        if not data:
            return {}
        try:
            return json.loads(data)
        except ValueError:
            raise ClusterError(f"{method} {path}: the server answered with something that is not JSON",
                               hint="is --server / the kubeconfig pointing at a Kubernetes API server?") from None

    def _translate(self, exc: Exception, method: str, what: str) -> Exception:
        from kubernetes.client.exceptions import ApiException
        import urllib3.exceptions as u3

        server = self.server
        if isinstance(exc, ApiException):
            return translate_status(exc.status, exc.body, method, what, server)
        if isinstance(exc, u3.MaxRetryError):
            exc = exc.reason or exc
        text = str(exc)
        # NewConnectionError subclasses ConnectTimeoutError in urllib3 2.x: test for it first.
        if isinstance(exc, (u3.NewConnectionError, ConnectionError)) or "Connection refused" in text \
                or isinstance(exc, u3.NameResolutionError if hasattr(u3, "NameResolutionError") else ()):
            return ClusterError(f"cannot connect to {server}: {_short(exc)}",
                                hint="is the cluster reachable from here (VPN, proxy)? check --context / KUBECONFIG")
        if isinstance(exc, (u3.ReadTimeoutError, u3.ConnectTimeoutError)) or "timed out" in text:
            limit = f" after {self.request_timeout:g}s" if self.request_timeout else ""
            return ClusterError(f"request to {server} timed out{limit} ({method} {what})",
                                hint="the API server is slow or unreachable; retry, or raise --request-timeout")
        if isinstance(exc, u3.SSLError) or "CERTIFICATE_VERIFY_FAILED" in text or "SSL" in type(exc).__name__:
            return ClusterError(f"TLS verification failed for {server}: {_short(exc)}",
                                hint="check certificate-authority(-data) for this cluster in the kubeconfig")
        if isinstance(exc, u3.ProtocolError):
            return ClusterError(f"the connection to {server} broke: {_short(exc)}",
                                hint="is the cluster reachable from here (VPN, proxy)? retry")
        if isinstance(exc, u3.HTTPError):
            return ClusterError(f"{method} {what} on {server} failed: {_short(exc)}")
        if isinstance(exc, ValueError):  # e.g. bad server URL in the kubeconfig
            return ConfigError(f"cannot use server address {server!r}: {_short(exc)}")
        return exc

    # -- verbs ---------------------------------------------------------------
    def get(self, kind: str, name: str, namespace: Optional[str] = None) -> Optional[dict]:
        r = resource(kind)
        try:
            return self.request("GET", r.path(name, namespace), what=f"{r.qualified} {name}")
        except NotFound:
            return None

    def list(self, kind: str, namespace: Optional[str] = None, label_selector: Optional[str] = None,
             field_selector: Optional[str] = None) -> dict:
        r = resource(kind)
        query = []
        if label_selector:
            query.append(("labelSelector", label_selector))
        if field_selector:
            query.append(("fieldSelector", field_selector))
        data = self.request("GET", r.path(namespace=namespace), query, what=r.qualified)
        data.setdefault("items", [])
        for item in data["items"]:  # lists omit kind/apiVersion on items
            item.setdefault("kind", kind)
            item.setdefault("apiVersion", r.api_version)
        return data

    def items(self, kind: str, **kw) -> List[dict]:
        return self.list(kind, **kw)["items"]

    def create(self, obj: dict, dry_run: bool = False) -> dict:
        """Create; 409 AlreadyExists raises Conflict (reason "AlreadyExists"). See create_or_get."""
        r = resource(obj["kind"])
        ns = obj.get("metadata", {}).get("namespace")
        name = obj.get("metadata", {}).get("name", "")
        query = [("fieldManager", FIELD_MANAGER)] + ([("dryRun", "All")] if dry_run else [])
        what = f"{r.qualified} {name}"
        try:
            return self.request("POST", r.path(namespace=ns), query, body=obj, what=what)
        except OutcomeUnknown as unknown:
            if dry_run:  # nothing is stored on a dry run: asking again is harmless
                return self._once_more(unknown, "POST", r.path(namespace=ns), query, body=obj, what=what)
            live = self.get(obj["kind"], name, ns)
            if live is None:
                self._log(f"create {what}: no answer, and it is not there: creating it again")
                return self._once_more(unknown, "POST", r.path(namespace=ns), query, body=obj, what=what)
            if contains(live, obj):
                self._log(f"create {what}: no answer, but it is there as sent")
                return live
            raise Conflict(f"conflict: {what} already exists", code=409, reason="AlreadyExists",
                           hint="someone else created it meanwhile; run the command again") from None

    def create_or_get(self, obj: dict, dry_run: bool = False) -> Tuple[dict, bool]:
        """Create `obj`, or -- when it already exists (409 AlreadyExists) -- return the existing object.

        Returns (object, created). The caller decides whether an existing object is acceptable (is it ours,
        does it match?); nothing is overwritten here.
        """
        kind = obj["kind"]
        name = obj.get("metadata", {}).get("name", "")
        ns = obj.get("metadata", {}).get("namespace")
        for _ in range(2):
            try:
                return self.create(obj, dry_run=dry_run), True
            except Conflict as exc:
                if exc.reason != "AlreadyExists":
                    raise
            live = self.get(kind, name, ns)
            if live is not None:
                self._log(f"create {kind} {name}: it already exists (resourceVersion "
                          f"{live.get('metadata', {}).get('resourceVersion')}); using it")
                return live, False
            # deleted between our create and our read: create once more
        raise Conflict(f"conflict: {resource(kind).qualified} {name} keeps appearing and disappearing", code=409,
                       reason="AlreadyExists", hint="something else creates and deletes it; run the command again")

    def replace(self, obj: dict, dry_run: bool = False) -> dict:
        """PUT `obj` (its metadata.resourceVersion makes it conditional: 409 Conflict when it changed)."""
        r = resource(obj["kind"])
        md = obj.get("metadata", {})
        query = [("fieldManager", FIELD_MANAGER)] + ([("dryRun", "All")] if dry_run else [])
        what = f"{r.qualified} {md.get('name', '')}"
        path = r.path(md["name"], md.get("namespace"))
        try:
            return self.request("PUT", path, query, body=obj, what=what)
        except OutcomeUnknown as unknown:
            live = self.get(obj["kind"], md["name"], md.get("namespace"))
            if live is not None and contains(live, obj, ignore_metadata=("resourceVersion",)):
                return live
            raise unknown.error from None

    def modify(self, kind: str, name: str, change: Callable[[dict], Optional[dict]],
               namespace: Optional[str] = None, dry_run: bool = False) -> Tuple[Optional[dict], bool]:
        """Read-modify-write with optimistic concurrency. `change(obj)` returns the new object, or None when
        the intended change no longer applies (already done, or the object is not what we expected).

        On 409 Conflict (someone changed it between our read and our write) the object is read again and
        `change` applied once more. Returns (object, written); (None, False) when the object does not exist.
        """
        for attempt in (1, 2):
            live = self.get(kind, name, namespace)
            if live is None:
                return None, False
            wanted = change(copy.deepcopy(live))
            if wanted is None:
                return live, False
            wanted.setdefault("metadata", {})["resourceVersion"] = live["metadata"].get("resourceVersion")
            try:
                return self.replace(wanted, dry_run=dry_run), True
            except Conflict as exc:
                if exc.reason == "AlreadyExists" or attempt == 2:
                    raise
                self._log(f"update {kind} {name}: changed meanwhile (409 Conflict); reading it again")
        raise AssertionError("unreachable")

    def patch(self, kind: str, name: str, patch: Any, patch_type: str = "merge", namespace: Optional[str] = None,
              dry_run: bool = False, subresource: Optional[str] = None) -> dict:
        r = resource(kind)
        query = [("fieldManager", FIELD_MANAGER)] + ([("dryRun", "All")] if dry_run else [])
        path = r.path(name, namespace, subresource)
        what = f"{r.qualified} {name}"
        try:
            return self.request("PATCH", path, query, body=patch, content_type=PATCH_TYPES[patch_type], what=what)
        except OutcomeUnknown as unknown:
            if dry_run or patch_type != "merge":
                raise unknown.error from None
            live = self.get(kind, name, namespace)
            if live is None:
                raise unknown.error from None
            if merge_patched(live, patch) == live:
                self._log(f"patch {what}: no answer, but the change is there")
                return live
            # a merge patch gives the same result however often it is applied: sending it again is safe
            self._log(f"patch {what}: no answer, and the change is not there: sending it again")
            return self._once_more(unknown, "PATCH", path, query, body=patch,
                                   content_type=PATCH_TYPES[patch_type], what=what)

    def patch_if(self, kind: str, name: str, patch: dict, still_applies: Callable[[dict], bool],
                 namespace: Optional[str] = None, dry_run: bool = False) -> Tuple[Optional[dict], bool]:
        """Merge-patch `name` only while `still_applies(live object)`; the patch carries the resourceVersion
        that was checked, so a concurrent change gives 409 Conflict -- then re-read and re-apply once.

        Returns (object, patched); (None, False) when the object does not exist.
        """
        for attempt in (1, 2):
            live = self.get(kind, name, namespace)
            if live is None:
                return None, False
            if not still_applies(live):
                return live, False
            guarded = copy.deepcopy(patch)
            guarded.setdefault("metadata", {})["resourceVersion"] = live["metadata"].get("resourceVersion")
            try:
                return self.patch(kind, name, guarded, namespace=namespace, dry_run=dry_run), True
            except Conflict:
                if attempt == 2:
                    raise
                self._log(f"patch {kind} {name}: changed meanwhile (409 Conflict); reading it again")
        raise AssertionError("unreachable")

    def delete(self, kind: str, name: str, namespace: Optional[str] = None, dry_run: bool = False,
               uid: Optional[str] = None, resource_version: Optional[str] = None) -> bool:
        """Delete; False when it was already gone. Preconditions make sure we delete what we inspected."""
        r = resource(kind)
        body: Dict[str, Any] = {"kind": "DeleteOptions", "apiVersion": "v1"}
        pre = {}
        if uid:
            pre["uid"] = uid
        if resource_version:
            pre["resourceVersion"] = resource_version
        if pre:
            body["preconditions"] = pre
        query = [("dryRun", "All")] if dry_run else []
        what = f"{r.qualified} {name}"
        try:
            self.request("DELETE", r.path(name, namespace), query, body=body, what=what)
            return True
        except NotFound:
            return False
        except OutcomeUnknown as unknown:
            live = self.get(kind, name, namespace)
            meta = (live or {}).get("metadata") or {}
            if live is None or (uid and meta.get("uid") != uid) or meta.get("deletionTimestamp"):
                if not dry_run:
                    self._log(f"delete {what}: no answer, but it is gone (or going)")
                    return True
            self._log(f"delete {what}: no answer, and it is still there: asking again")
            try:
                self._once_more(unknown, "DELETE", r.path(name, namespace), query, body=body, what=what)
                return True
            except NotFound:
                return False

    def _once_more(self, unknown: OutcomeUnknown, method: str, path: str, query, **kw):
        """Send a mutating request a second time after reading back showed it is needed; no third time."""
        try:
            return self.request(method, path, query, **kw)
        except OutcomeUnknown as again:
            raise again.error from None

    def served(self, group: str, version: str = "v1") -> bool:
        """Does the API server serve this group/version (discovery)?"""
        try:
            self.request("GET", f"/apis/{group}/{version}", what=f"API group {group}/{version}")
            return True
        except NotFound:
            return False

    def server_version(self) -> dict:
        return self.request("GET", "/version", what="server version")

    def watch(self, kind: str, resource_version: Optional[str], namespace: Optional[str] = None,
              name: Optional[str] = None, label_selector: Optional[str] = None,
              timeout_seconds: int = 60) -> Iterator[Tuple[str, dict]]:
        """Yield (type, object) events until the server closes the watch (after timeout_seconds).

        Raises WatchExpired on 410 so the caller can relist. BOOKMARK events are swallowed.
        """
        r = resource(kind)
        query: List[Tuple[str, Any]] = [("watch", "true"), ("timeoutSeconds", int(timeout_seconds)),
                                         ("allowWatchBookmarks", "true")]
        if resource_version:
            query.append(("resourceVersion", resource_version))
        if name:
            query.append(("fieldSelector", f"metadata.name={name}"))
        if label_selector:
            query.append(("labelSelector", label_selector))
        try:
            resp = self.request("GET", r.path(namespace=namespace), query, what=f"watch {r.qualified}",
                                stream=True, timeout=(30, timeout_seconds + 30))
        except ClusterError as exc:
            if exc.code == 410:
                raise WatchExpired(exc.message) from None
            raise
        try:
            for line in _iter_lines(resp):
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                etype, obj = event.get("type"), event.get("object") or {}
                if etype == "ERROR":
                    if obj.get("code") == 410:
                        raise WatchExpired(obj.get("message", "resource version too old"))
                    raise translate_status(obj.get("code") or 500, json.dumps(obj), "WATCH", r.qualified, self.server)
                if etype == "BOOKMARK":
                    continue
                obj.setdefault("kind", kind)
                yield etype, obj
        except Exception as exc:
            import urllib3.exceptions as u3

            if isinstance(exc, (u3.ReadTimeoutError, u3.ProtocolError)):
                return  # the stream ended; the caller re-watches from its last resourceVersion
            raise
        finally:
            resp.release_conn()


def contains(live: Any, sent: Any, ignore_metadata: Tuple[str, ...] = ()) -> bool:
    """Does the live object hold everything we sent? Maps: every key sent is there with a matching value
    (the server may add defaults and its own metadata); other values: equal. metadata: labels,
    annotations and name only (besides `ignore_metadata`, nothing else in it is ours)."""
    if isinstance(sent, dict) and isinstance(live, dict):
        for key, value in sent.items():
            if key == "metadata" and isinstance(value, dict):
                mine = {k: v for k, v in value.items() if k in ("name", "namespace", "labels", "annotations")
                        and k not in ignore_metadata}
                if not contains(live.get("metadata") or {}, mine):
                    return False
            elif key == "status":
                continue
            elif key not in live or not contains(live[key], value):
                return False
        return True
    return live == sent


def merge_patched(obj: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch applied to a copy of `obj` (to tell whether a patch is already in place)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(obj) if isinstance(obj, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patched(out.get(key), value)
    return out


def _iter_lines(resp) -> Iterator[bytes]:
    pending = b""
    for chunk in resp.stream(4096, decode_content=True):
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            if line.strip():
                yield line
    if pending.strip():
        yield pending


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


def connect(conn: ConnectionOptions, env) -> Cluster:
    """Build a Cluster from kubectl-style flags; in-cluster config is the fallback."""
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config

    configuration = k8s_client.Configuration()
    resolved = kubeconfig.resolve(conn.kubeconfig, env.environ, conn.context, conn.cluster, conn.user)
    if resolved is not None:
        try:
            loader = k8s_config.kube_config.KubeConfigLoader(
                config_dict=resolved.config, active_context=resolved.context_name,
                config_base_path=None,
            )
            loader.load_and_set(configuration)
        except k8s_config.ConfigException as exc:
            raise ConfigError(f"kubeconfig context {resolved.context_name!r} is unusable: {_short(exc)}") from None
        except OSError as exc:  # tokenFile / client-certificate / certificate-authority unreadable
            raise ConfigError(f"kubeconfig context {resolved.context_name!r} is unusable: cannot read "
                              f"{exc.filename or 'a file it names'}: {exc.strerror or exc}") from None
        except (TypeError, ValueError, AttributeError, KeyError) as exc:  # a field of the wrong type or format
            raise ConfigError(f"kubeconfig context {resolved.context_name!r} is unusable: "
                              f"malformed field ({type(exc).__name__}: {_short(exc)})") from None
        server, context = resolved.server, resolved.context_name
        proxy = resolved.config["clusters"][0]["cluster"].get("proxy-url")
        if proxy:  # kubectl honours the cluster's proxy-url; the Python client does not read it
            if not isinstance(proxy, str):
                raise ConfigError(f"kubeconfig cluster {resolved.cluster_name!r}: `proxy-url` must be a string")
            configuration.proxy = proxy
    elif env.environ.get("KUBERNETES_SERVICE_HOST"):
        try:
            from kubernetes.config import incluster_config

            incluster_config.InClusterConfigLoader(
                token_filename=incluster_config.SERVICE_TOKEN_FILENAME,
                cert_filename=incluster_config.SERVICE_CERT_FILENAME,
                environ=env.environ,
            ).load_and_set(configuration)
        except k8s_config.ConfigException as exc:
            raise ConfigError(f"in-cluster configuration is unusable: {_short(exc)}") from None
        server, context = configuration.host, "in-cluster"
    else:
        raise ConfigError("no kubeconfig found (looked at --kubeconfig, $KUBECONFIG, ~/.kube/config) "
                          "and not running inside a cluster",
                          hint="log in with `oc login`, or pass --kubeconfig PATH")
    configuration.retries = 0  # fail fast with our own message; urllib3 retries only add noise and delay
    import logging

    if env.verbosity < 2:
        logging.getLogger("urllib3").setLevel(logging.ERROR)
        logging.getLogger("kubernetes").setLevel(logging.ERROR)
    try:
        api = k8s_client.ApiClient(configuration=configuration)
    except (TypeError, ValueError) as exc:   # e.g. a proxy-url urllib3 cannot parse
        raise ConfigError(f"kubeconfig context {context!r} is unusable: {_short(exc)}") from None
    api.user_agent = USER_AGENT
    if conn.as_user:
        api.set_default_header("Impersonate-User", conn.as_user)
    if conn.as_groups:
        _impersonate_groups(api, list(conn.as_groups))
    return Cluster(api, server, context, env=env, request_timeout=conn.request_timeout)


# --- impersonation of several groups (issue 13) -------------------------------------------------------------
# client-go sends one Impersonate-Group header per group. The Python client keeps its default headers in a plain
# dict (one value per name) and flattens header lists into one comma-joined value, which the API server would read
# as a single group named "a,b". So the groups are added below the client, on the urllib3 pool manager, as
# repeated headers of an HTTPHeaderDict (urllib3 sends every value of a multi-valued header).

class _GroupImpersonatingPool:
    """Wraps the client's urllib3 pool manager: every request carries one ``Impersonate-Group`` per group."""

    def __init__(self, inner, groups):
        self._inner = inner
        self._groups = list(groups)

    def request(self, method, url, *args, **kwargs):
        import urllib3

        headers = urllib3.HTTPHeaderDict(kwargs.get("headers") or {})
        headers.discard("Impersonate-Group")
        for group in self._groups:
            headers.add("Impersonate-Group", group)
        kwargs["headers"] = headers
        return self._inner.request(method, url, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._inner, name)


def _impersonate_groups(api, groups) -> None:
    if len(groups) == 1:
        api.set_default_header("Impersonate-Group", groups[0])
        return
    rest = api.rest_client
    rest.pool_manager = _GroupImpersonatingPool(rest.pool_manager, groups)
