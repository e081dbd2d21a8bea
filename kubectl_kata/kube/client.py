"""The only module that imports `kubernetes`. It hands plain dicts to the rest of the plugin.

We use the client for what it does well -- kubeconfig auth (tokens, client certs, exec plugins,
OIDC), TLS, proxies -- and talk REST paths directly, so no generated model classes cross this
boundary (they changed incompatibly between client 36 and 37, DOMAIN.md section 9) and objects
the models would reject still come through.
"""
from __future__ import annotations

import json
import time
from typing import Any, Dict, Iterator, List, Optional, Tuple

from ..errors import ClusterError, ConfigError, Conflict, NotFound
from ..options import ConnectionOptions
from . import kubeconfig
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


class Cluster:
    """A connection to one cluster. All methods take and return plain dicts."""

    def __init__(self, api_client, server: str, context: str, env=None, request_timeout: Optional[float] = None):
        self._api = api_client
        self.server = server
        self.context = context
        self.env = env
        self.request_timeout = request_timeout
        self.request_count = 0

    # -- low level ---------------------------------------------------------
    def _log(self, text: str) -> None:
        if self.env is not None:
            self.env.debug(text, level=2)

    def request(self, method: str, path: str, query: Optional[List[Tuple[str, Any]]] = None, body: Any = None,
                content_type: Optional[str] = None, what: str = "", stream: bool = False,
                timeout: Any = None):
        headers = {"Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        self.request_count += 1
        started = time.monotonic()
        limit = timeout if timeout is not None else self.request_timeout
        if isinstance(limit, (int, float)):
            limit = (float(limit), float(limit))  # the client ignores a bare float; (connect, read) works
        try:
            resp = self._api.call_api(
                path, method, query_params=list(query or []), header_params=headers, body=body,
                auth_settings=["BearerToken"], _preload_content=False, _return_http_data_only=True,
                _request_timeout=limit,
            )
        except Exception as exc:  # translated below into one actionable line
            self._log(f"{method} {path} -> error after {1000 * (time.monotonic() - started):.0f} ms")
            raise self._translate(exc, method, what or path) from None
        self._log(f"{method} {path} -> {resp.status} in {1000 * (time.monotonic() - started):.0f} ms")
        if stream:
            return resp
        try:
            data = resp.data
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
        r = resource(obj["kind"])
        ns = obj.get("metadata", {}).get("namespace")
        query = [("fieldManager", FIELD_MANAGER)] + ([("dryRun", "All")] if dry_run else [])
        return self.request("POST", r.path(namespace=ns), query, body=obj,
                            what=f"{r.qualified} {obj['metadata'].get('name', '')}")

    def patch(self, kind: str, name: str, patch: Any, patch_type: str = "merge", namespace: Optional[str] = None,
              dry_run: bool = False, subresource: Optional[str] = None) -> dict:
        r = resource(kind)
        query = [("fieldManager", FIELD_MANAGER)] + ([("dryRun", "All")] if dry_run else [])
        return self.request("PATCH", r.path(name, namespace, subresource), query, body=patch,
                            content_type=PATCH_TYPES[patch_type], what=f"{r.qualified} {name}")

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
        try:
            self.request("DELETE", r.path(name, namespace), query, body=body, what=f"{r.qualified} {name}")
            return True
        except NotFound:
            return False

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
        server, context = resolved.server, resolved.context_name
        proxy = resolved.config["clusters"][0]["cluster"].get("proxy-url")
        if proxy:  # kubectl honours the cluster's proxy-url; the Python client does not read it
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
    api = k8s_client.ApiClient(configuration=configuration)
    api.user_agent = USER_AGENT
    if conn.as_user:
        api.set_default_header("Impersonate-User", conn.as_user)
    if conn.as_groups:
        if len(conn.as_groups) > 1:
            from ..errors import UsageProblem

            raise UsageProblem("only one --as-group can be sent by this client")
        api.set_default_header("Impersonate-Group", conn.as_groups[0])
    return Cluster(api, server, context, env=env, request_timeout=conn.request_timeout)
