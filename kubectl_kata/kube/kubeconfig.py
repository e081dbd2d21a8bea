"""Load kubeconfig the way kubectl does, without importing `kubernetes`.

kubectl (client-go clientcmd) merges every file in KUBECONFIG in order and **the first file to set
a value wins** -- for named clusters/contexts/users and for `current-context`. The Python client
does the opposite for `current-context` (last file wins) and may write refreshed credentials back
(DOMAIN.md section 7), so we merge ourselves, resolve relative paths against the file that
defined them, apply --context/--cluster/--user, and hand the client one self-contained dict.
Nothing here ever writes to a kubeconfig.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Tuple

from ..errors import ConfigError

_PATH_KEYS = {
    "clusters": ("certificate-authority",),
    "users": ("client-certificate", "client-key", "tokenFile"),
}


@dataclass
class ResolvedConfig:
    config: dict            # a single-context kubeconfig dict ready for the client
    context_name: str
    cluster_name: str
    user_name: str
    server: str
    namespace: Optional[str]
    sources: List[str]      # the files that were merged (for messages)


def kubeconfig_paths(explicit: Optional[str], environ: Mapping[str, str]) -> Tuple[List[str], bool]:
    """Return (paths, explicit). An explicit --kubeconfig must exist; KUBECONFIG entries may be missing."""
    if explicit:
        path = os.path.expanduser(explicit)
        if not os.path.isfile(path):
            raise ConfigError(f"kubeconfig {explicit} does not exist or is not a file",
                              hint="pass an existing file to --kubeconfig")
        return [path], True
    env_value = environ.get("KUBECONFIG", "")
    if env_value:
        paths = [os.path.expanduser(p) for p in env_value.split(os.pathsep) if p]
        return [p for p in paths if os.path.isfile(p)], False
    home = environ.get("HOME") or os.path.expanduser("~")
    default = os.path.join(home, ".kube", "config")
    return ([default] if os.path.isfile(default) else []), False


def _load_file(path: str) -> dict:
    import yaml

    try:
        with open(path, "rb") as fh:
            data = yaml.safe_load(fh)
    except OSError as exc:
        raise ConfigError(f"cannot read kubeconfig {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ConfigError(f"kubeconfig {path} is not valid YAML{where}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"kubeconfig {path} is not a kubeconfig (expected a mapping at the top level)")
    return data


def _absolutize(section: str, item: dict, base_dir: str) -> dict:
    item = dict(item)
    for key in _PATH_KEYS.get(section, ()):
        value = item.get(key)
        if isinstance(value, str) and value and not os.path.isabs(value):
            item[key] = os.path.normpath(os.path.join(base_dir, os.path.expanduser(value)))
    exec_cfg = item.get("exec")
    if section == "users" and isinstance(exec_cfg, dict):
        cmd = exec_cfg.get("command")
        # client-go resolves a relative exec command only when it contains a path separator.
        if isinstance(cmd, str) and os.sep in cmd and not os.path.isabs(cmd):
            exec_cfg = dict(exec_cfg, command=os.path.normpath(os.path.join(base_dir, cmd)))
            item["exec"] = exec_cfg
    return item


def merge_kubeconfigs(paths: List[str]) -> dict:
    """Merge files with clientcmd's rule: the first file to define a name or current-context wins."""
    merged: Dict[str, object] = {"clusters": {}, "contexts": {}, "users": {}, "current-context": ""}
    for path in paths:
        data = _load_file(path)
        base_dir = os.path.dirname(os.path.abspath(path))
        for section, inner in (("clusters", "cluster"), ("contexts", "context"), ("users", "user")):
            entries = data.get(section) or []
            if not isinstance(entries, list):
                raise ConfigError(f"kubeconfig {path}: `{section}` must be a list")
            for entry in entries:
                if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                    raise ConfigError(f"kubeconfig {path}: every entry of `{section}` needs a name")
                name = entry["name"]
                if name in merged[section]:
                    continue
                body = entry.get(inner) or {}
                if not isinstance(body, dict):
                    raise ConfigError(f"kubeconfig {path}: {section[:-1]} {name!r} must be a mapping")
                merged[section][name] = _absolutize(section, body, base_dir)
        current = data.get("current-context")
        if current and not isinstance(current, str):
            raise ConfigError(f"kubeconfig {path}: `current-context` must be a string")
        if current and not merged["current-context"]:
            merged["current-context"] = current
    return merged


def resolve(
    explicit_path: Optional[str],
    environ: Mapping[str, str],
    context: Optional[str] = None,
    cluster: Optional[str] = None,
    user: Optional[str] = None,
) -> Optional[ResolvedConfig]:
    """Resolve the effective configuration. Returns None when no kubeconfig file exists at all."""
    paths, _ = kubeconfig_paths(explicit_path, environ)
    if not paths:
        return None
    merged = merge_kubeconfigs(paths)
    context_name = context or merged["current-context"]
    contexts = merged["contexts"]
    if not context_name:
        if cluster and user:
            ctx: dict = {}
        else:
            raise ConfigError(
                "no current context is set in " + ", ".join(paths),
                hint="pass --context NAME, or select one with `kubectl config use-context NAME` / `oc login`",
            )
    elif context_name not in contexts:
        raise ConfigError(f"context {context_name!r} not found in " + ", ".join(paths),
                          hint="list contexts with `kubectl config get-contexts`")
    else:
        ctx = contexts[context_name]
    for key in ("cluster", "user", "namespace"):
        if ctx.get(key) is not None and not isinstance(ctx.get(key), str):
            raise ConfigError(f"kubeconfig context {context_name!r}: `{key}` must be a string")
    cluster_name = cluster or ctx.get("cluster") or ""
    user_name = user or ctx.get("user") or ""
    if cluster_name not in merged["clusters"]:
        raise ConfigError(f"cluster {cluster_name!r} (context {context_name!r}) not found in the kubeconfig")
    if user_name and user_name not in merged["users"]:
        raise ConfigError(f"user {user_name!r} (context {context_name!r}) not found in the kubeconfig")
    cluster_cfg = merged["clusters"][cluster_name]
    server = cluster_cfg.get("server") or ""
    if not isinstance(server, str):
        raise ConfigError(f"cluster {cluster_name!r}: `server` must be a string in the kubeconfig")
    if not server:
        raise ConfigError(f"cluster {cluster_name!r} has no server address in the kubeconfig")
    effective_ctx = {"cluster": cluster_name, "user": user_name or "kubectl-kata-anonymous"}
    if ctx.get("namespace"):
        effective_ctx["namespace"] = ctx["namespace"]
    name = context_name or "kubectl-kata"
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": name,
        "clusters": [{"name": cluster_name, "cluster": cluster_cfg}],
        "contexts": [{"name": name, "context": effective_ctx}],
        "users": [{"name": effective_ctx["user"], "user": merged["users"].get(user_name, {})}],
    }
    return ResolvedConfig(config, name, cluster_name, effective_ctx["user"], server, ctx.get("namespace"), paths)
