"""Building the `kubernetes` ApiClient from a kubeconfig and kubectl-style flags (in-cluster config as fallback).

client.connect wraps what `build_api_client` returns in a Cluster.
"""
from __future__ import annotations

from typing import Any, Tuple

from ..connection import ConnectionOptions
from ..errors import ConfigError
from . import kubeconfig
from .failures import _short

USER_AGENT = "kubectl-kata"


def build_api_client(conn: ConnectionOptions, env) -> Tuple[Any, str, str]:
    """The configured ApiClient, the server URL and the context name for these flags."""
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
    return api, server, context


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
