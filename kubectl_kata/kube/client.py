"""A connection to one cluster: the request path (retries, logging, error translation) and `connect`.

Only kube/ imports `kubernetes`, and it hands plain dicts to the rest of the plugin. We use the client for what it
does well -- kubeconfig auth (tokens, client certs, exec plugins, OIDC), TLS, proxies -- and talk REST paths
directly, so no generated model classes cross this boundary (they changed incompatibly between client 36 and 37,
DOMAIN.md section 9) and objects the models would reject still come through.
"""
from __future__ import annotations

import json
import time
from typing import Any, List, Optional, Tuple

from ..connection import ConnectionOptions
from ..errors import ClusterError, ConfigError
from . import retry
from .apiclient import USER_AGENT, _GroupImpersonatingPool, _impersonate_groups, build_api_client  # noqa: F401
from .failures import (OutcomeUnknown, WatchExpired, _Failed, _classify, _header, _short,  # noqa: F401
                       translate_status)
from .verbs import FIELD_MANAGER, PATCH_TYPES, ObjectVerbs, _iter_lines, contains, merge_patched  # noqa: F401

# The names above are re-exported: services, tests and tools import them from kubectl_kata.kube.client.
# failures.py: how a request failed and what the user is told; verbs.py: get/list/create/patch/delete/watch;
# apiclient.py: kubeconfig + flags -> ApiClient. This module: the request path (retries, logging) and connect().


class Cluster(ObjectVerbs):
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


def connect(conn: ConnectionOptions, env) -> Cluster:
    """Build a Cluster from kubectl-style flags; in-cluster config is the fallback."""
    api, server, context = build_api_client(conn, env)
    return Cluster(api, server, context, env=env, request_timeout=conn.request_timeout)
