"""HTTP(S) front end of the loopback fake Kubernetes/OpenShift API server.

Speaks enough of the kube-apiserver REST protocol for the real ``kubernetes`` Python client (35.0.0) and the real
``kubectl`` binary: discovery, get/list/watch/create/update/patch (merge, JSON, strategic, server-side apply)/delete,
status subresources, dryRun, label/field selectors, server-side Table printing, real ``Status`` error bodies,
bearer-token auth, RBAC-style forbids and fault injection. Objects live in :class:`store.ObjectStore`.
"""
from __future__ import annotations

import copy
import datetime
import http.server
import io
import json
import re
import socket
import threading
import time
import urllib.parse
from dataclasses import dataclass, field

import yaml

from . import validation
from .namespaces import NamespaceController, terminating, terminating_message
from .store import AlreadyExists, Conflict, Gone, Invalid, NotFound, StoreError, now_rfc3339

# --------------------------------------------------------------------------------------------- resources


@dataclass
class Resource:
    group: str
    version: str
    plural: str
    singular: str
    kind: str
    namespaced: bool
    short_names: list = field(default_factory=list)
    status: bool = False          # has a status subresource
    builtin: bool = True          # False for CRD-backed kinds (no strategic merge patch)
    categories: list = field(default_factory=list)

    @property
    def group_version(self) -> str:
        return self.version if not self.group else "%s/%s" % (self.group, self.version)

    @property
    def qualified(self) -> str:
        """``machineconfigs.machineconfiguration.openshift.io`` / ``pods`` as in real error messages."""
        return self.plural if not self.group else "%s.%s" % (self.plural, self.group)


VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]

CORE = [
    Resource("", "v1", "namespaces", "namespace", "Namespace", False, ["ns"], status=True),
    Resource("", "v1", "nodes", "node", "Node", False, ["no"], status=True),
    Resource("", "v1", "pods", "pod", "Pod", True, ["po"], status=True, categories=["all"]),
    Resource("", "v1", "configmaps", "configmap", "ConfigMap", True, ["cm"]),
    Resource("", "v1", "secrets", "secret", "Secret", True),
]
NODE_K8S = [Resource("node.k8s.io", "v1", "runtimeclasses", "runtimeclass", "RuntimeClass", False)]
CONFIG_OPENSHIFT = [Resource("config.openshift.io", "v1", "clusterversions", "clusterversion", "ClusterVersion",
                             False, status=True, builtin=False)]
MCO = [
    Resource("machineconfiguration.openshift.io", "v1", "machineconfigs", "machineconfig", "MachineConfig", False,
             ["mc"], status=False, builtin=False),
    Resource("machineconfiguration.openshift.io", "v1", "machineconfigpools", "machineconfigpool",
             "MachineConfigPool", False, ["mcp"], status=True, builtin=False),
    Resource("machineconfiguration.openshift.io", "v1", "controllerconfigs", "controllerconfig", "ControllerConfig",
             False, status=True, builtin=False),
]
KATA = [Resource("kataconfiguration.openshift.io", "v1", "kataconfigs", "kataconfig", "KataConfig", False,
                 status=True, builtin=False)]
# Served only when a test asks for them (APIServer.legacy / .olm), so discovery elsewhere stays as recorded.
APPS = [Resource("apps", "v1", "daemonsets", "daemonset", "DaemonSet", True, ["ds"], status=True)]
KATA_V1ALPHA1 = [Resource("kataconfiguration.openshift.io", "v1alpha1", "kataconfigs", "kataconfig", "KataConfig",
                          False, status=True, builtin=False)]
OLM = [Resource("operators.coreos.com", "v1alpha1", "subscriptions", "subscription", "Subscription", True,
                ["sub", "subs"], status=True, builtin=False),
       Resource("operators.coreos.com", "v1alpha1", "clusterserviceversions", "clusterserviceversion",
                "ClusterServiceVersion", True, ["csv", "csvs"], status=True, builtin=False)]

# printer columns of ClusterVersion (CRD config.openshift.io, openshift/api) -- not vendored as a file
CLUSTERVERSION_COLUMNS = [
    {"name": "Version", "type": "string", "jsonPath": '.status.history[?(@.state=="Completed")].version'},
    {"name": "Available", "type": "string", "jsonPath": '.status.conditions[?(@.type=="Available")].status'},
    {"name": "Progressing", "type": "string", "jsonPath": '.status.conditions[?(@.type=="Progressing")].status'},
    {"name": "Since", "type": "date", "jsonPath": '.status.conditions[?(@.type=="Progressing")].lastTransitionTime'},
    {"name": "Status", "type": "string", "jsonPath": '.status.conditions[?(@.type=="Progressing")].message'},
]

REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed",
           409: "Conflict", 410: "Expired", 415: "UnsupportedMediaType", 422: "Invalid", 429: "TooManyRequests",
           500: "InternalError", 503: "ServiceUnavailable", 504: "Timeout"}

PATCH_TYPES = ("application/json-patch+json", "application/merge-patch+json",
               "application/strategic-merge-patch+json", "application/apply-patch+yaml")


class APIError(Exception):
    def __init__(self, code: int, message: str, reason: str | None = None, details: dict | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason or REASONS.get(code, "Unknown")
        self.details = details


def status_body(code: int, message: str, reason: str | None = None, details: dict | None = None) -> dict:
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
            "reason": reason or REASONS.get(code, "Unknown")}
    if details is not None:
        body["details"] = details
    body["code"] = code
    return body


# --------------------------------------------------------------------------------------------- selectors

_SET_RE = re.compile(r"^\s*([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")


def _split_selector(sel: str) -> list:
    parts, depth, cur = [], 0, ""
    for ch in sel:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


def parse_label_selector(sel: str) -> list:
    """-> list of (key, op, values) with op in =, !=, in, notin, exists, !exists."""
    reqs = []
    for part in _split_selector(sel or ""):
        m = _SET_RE.match(part)
        if m:
            reqs.append((m.group(1), m.group(2), [v.strip() for v in m.group(3).split(",") if v.strip()]))
        elif "!=" in part:
            k, v = part.split("!=", 1)
            reqs.append((k.strip(), "!=", [v.strip()]))
        elif "==" in part:
            k, v = part.split("==", 1)
            reqs.append((k.strip(), "=", [v.strip()]))
        elif "=" in part:
            k, v = part.split("=", 1)
            reqs.append((k.strip(), "=", [v.strip()]))
        elif part.startswith("!"):
            reqs.append((part[1:].strip(), "!exists", []))
        else:
            if not re.match(r"^[A-Za-z0-9./_-]+$", part):
                raise APIError(400, "unable to parse requirement: invalid label selector: %r" % part)
            reqs.append((part, "exists", []))
    return reqs


def labels_match(labels: dict, reqs: list) -> bool:
    labels = labels or {}
    for key, op, vals in reqs:
        has = key in labels
        val = labels.get(key)
        if op == "=" and not (has and val == vals[0]):
            return False
        if op == "!=" and has and val == vals[0]:
            return False
        if op == "in" and not (has and val in vals):
            return False
        if op == "notin" and has and val in vals:
            return False
        if op == "exists" and not has:
            return False
        if op == "!exists" and has:
            return False
    return True


FIELD_GETTERS = {
    "metadata.name": lambda o: o["metadata"].get("name", ""),
    "metadata.namespace": lambda o: o["metadata"].get("namespace", ""),
    "spec.nodeName": lambda o: (o.get("spec") or {}).get("nodeName", ""),
    "status.phase": lambda o: (o.get("status") or {}).get("phase", ""),
    "spec.unschedulable": lambda o: str(bool((o.get("spec") or {}).get("unschedulable"))).lower(),
    "type": lambda o: o.get("type", ""),
}
FIELDS_BY_KIND = {"Pod": {"metadata.name", "metadata.namespace", "spec.nodeName", "status.phase"},
                  "Node": {"metadata.name", "spec.unschedulable"},
                  "Secret": {"metadata.name", "metadata.namespace", "type"}}


def parse_field_selector(sel: str, kind: str) -> list:
    reqs = []
    allowed = FIELDS_BY_KIND.get(kind, {"metadata.name", "metadata.namespace"})
    for part in _split_selector(sel or ""):
        m = re.match(r"^([^=!]+)(==|=|!=)(.*)$", part)
        if not m:
            raise APIError(400, 'invalid selector: %r; can\'t understand %r' % (sel, part))
        key, op, val = m.group(1).strip(), m.group(2), m.group(3).strip()
        if key not in allowed:
            raise APIError(400, '"%s" is not a known field selector: only "%s"' % (key, '", "'.join(sorted(allowed))))
        reqs.append((key, "!=" if op == "!=" else "=", val))
    return reqs


def fields_match(obj: dict, reqs: list) -> bool:
    for key, op, val in reqs:
        got = FIELD_GETTERS[key](obj)
        if (got == val) != (op == "="):
            return False
    return True


# --------------------------------------------------------------------------------------------- patches


def merge_patch(target, patch):
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def _merge_key(items: list):
    for key in ("name", "type", "containerPort", "mountPath", "devicePath", "ip", "topologyKey"):
        if items and all(isinstance(i, dict) and key in i for i in items):
            return key
    return None


def strategic_merge_patch(target, patch):
    """Approximation of strategic merge patch: lists of named/typed maps merge by that key; $patch directives."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if patch.get("$patch") == "delete":
        return None
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if k.startswith("$setElementOrder/") or k.startswith("$retainKeys") or k == "$patch":
            continue
        if k.startswith("$deleteFromPrimitiveList/"):
            real = k.split("/", 1)[1]
            out[real] = [x for x in out.get(real) or [] if x not in v]
            continue
        if v is None:
            out.pop(k, None)
        elif isinstance(v, list) and isinstance(out.get(k), list):
            cur = out[k]
            key = _merge_key([i for i in v if not (isinstance(i, dict) and i.get("$patch"))] + cur)
            if key is None:
                out[k] = copy.deepcopy(v)
                continue
            merged = copy.deepcopy(cur)
            for item in v:
                idx = next((i for i, c in enumerate(merged) if c.get(key) == item.get(key)), None)
                if isinstance(item, dict) and item.get("$patch") == "delete":
                    if idx is not None:
                        merged.pop(idx)
                elif idx is None:
                    merged.append(strategic_merge_patch({}, item))
                else:
                    merged[idx] = strategic_merge_patch(merged[idx], item)
            out[k] = merged
        else:
            out[k] = strategic_merge_patch(out.get(k), v)
    return out


def _ptr(path: str) -> list:
    if path == "":
        return []
    if not path.startswith("/"):
        raise ValueError("JSON pointer must start with '/': %r" % path)
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _walk(doc, parts):
    for p in parts:
        if isinstance(doc, list):
            doc = doc[int(p)]
        elif isinstance(doc, dict):
            if p not in doc:
                raise KeyError(p)
            doc = doc[p]
        else:
            raise KeyError(p)
    return doc


def json_patch(doc, ops):
    """RFC 6902 JSON patch."""
    doc = copy.deepcopy(doc)
    if not isinstance(ops, list):
        raise ValueError("json patch must be a list of operations")
    for op in ops:
        kind = op.get("op")
        path = _ptr(op.get("path", ""))
        if kind in ("add", "replace", "test"):
            value = copy.deepcopy(op.get("value"))
        if kind == "test":
            try:
                cur = _walk(doc, path)
            except (KeyError, IndexError, ValueError):
                raise ValueError('testing value %s failed: path does not exist' % op.get("path"))
            if cur != value:
                raise ValueError("testing value %s failed: test failed" % op.get("path"))
            continue
        if kind in ("move", "copy"):
            src = _ptr(op.get("from", ""))
            try:
                value = copy.deepcopy(_walk(doc, src))
            except (KeyError, IndexError, ValueError):
                raise ValueError("%s operation does not apply: doc is missing from path: %s" % (kind, op.get("from")))
            if kind == "move":
                parent = _walk(doc, src[:-1])
                if isinstance(parent, list):
                    parent.pop(int(src[-1]))
                else:
                    del parent[src[-1]]
            kind = "add"
        if not path:
            if kind in ("add", "replace"):
                doc = value
                continue
            raise ValueError("cannot remove the root")
        try:
            parent = _walk(doc, path[:-1])
        except (KeyError, IndexError, ValueError):
            raise ValueError("%s operation does not apply: doc is missing path: \"%s\": missing value"
                             % (kind, op.get("path")))
        last = path[-1]
        if isinstance(parent, list):
            if kind == "add":
                idx = len(parent) if last == "-" else int(last)
                if idx > len(parent):
                    raise ValueError("add operation does not apply: index out of range")
                parent.insert(idx, value)
            else:
                idx = int(last)
                if idx >= len(parent):
                    raise ValueError("%s operation does not apply: doc is missing path: \"%s\": missing value"
                                     % (kind, op.get("path")))
                if kind == "remove":
                    parent.pop(idx)
                else:
                    parent[idx] = value
        elif isinstance(parent, dict):
            if kind == "add":
                parent[last] = value
            elif last not in parent:
                raise ValueError("%s operation does not apply: doc is missing path: \"%s\": missing value"
                                 % (kind, op.get("path")))
            elif kind == "remove":
                del parent[last]
            elif kind == "replace":
                parent[last] = value
            else:
                raise ValueError("Unexpected kind: %s" % kind)
        else:
            raise ValueError("%s operation does not apply: doc is missing path: \"%s\"" % (kind, op.get("path")))
    return doc


def apply_merge(live, applied, builtin: bool):
    """Server-side apply, simplified: maps merge recursively; lists replace (built-ins merge keyed lists)."""
    if not isinstance(applied, dict):
        return copy.deepcopy(applied)
    out = copy.deepcopy(live) if isinstance(live, dict) else {}
    for k, v in applied.items():
        if isinstance(v, dict):
            out[k] = apply_merge(out.get(k), v, builtin)
        elif builtin and isinstance(v, list) and isinstance(out.get(k), list) and _merge_key(v + out[k]):
            out[k] = strategic_merge_patch({k: out[k]}, {k: v})[k]
        else:
            out[k] = copy.deepcopy(v)
    return out


def fields_v1(obj) -> dict:
    """Simplified managedFields.fieldsV1 for an applied configuration."""
    if not isinstance(obj, dict):
        return {}
    out = {}
    for k, v in obj.items():
        if k in ("apiVersion", "kind"):
            continue
        if isinstance(v, dict):
            out["f:" + k] = fields_v1(v) if k != "metadata" else fields_v1(
                {mk: mv for mk, mv in v.items() if mk in ("labels", "annotations")})
        elif isinstance(v, list):
            out["f:" + k] = {}
        else:
            out["f:" + k] = {}
    return out


# --------------------------------------------------------------------------------------------- tables


def human_duration(seconds: float) -> str:
    """k8s.io/apimachinery/pkg/util/duration.HumanDuration."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return "%ds" % s
    minutes = s // 60
    if minutes < 10:
        sec = s % 60
        return "%dm" % minutes if sec == 0 else "%dm%ds" % (minutes, sec)
    if minutes < 180:
        return "%dm" % minutes
    hours = s // 3600
    if hours < 8:
        m = minutes % 60
        return "%dh" % hours if m == 0 else "%dh%dm" % (hours, m)
    if hours < 48:
        return "%dh" % hours
    if hours < 24 * 8:
        h = hours % 24
        return "%dd" % (hours // 24) if h == 0 else "%dd%dh" % (hours // 24, h)
    if hours < 24 * 365 * 2:
        return "%dd" % (hours // 24)
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        return "%dy" % (hours // 24 // 365) if dy == 0 else "%dy%dd" % (hours // 24 // 365, dy)
    return "%dy" % (hours // 24 // 365)


def age(ts: str | None) -> str:
    if not ts:
        return "<unknown>"
    try:
        t = datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        return "<invalid>"
    return human_duration((datetime.datetime.now(datetime.timezone.utc) - t).total_seconds())


_JP_TOKEN = re.compile(r'\.((?:\\\.|[^.\[])+)|\[\?\(@\.([A-Za-z0-9_]+)\s*==\s*["\']([^"\']*)["\']\)\]|\[(\d+)\]')


def jsonpath(obj, expr: str):
    """Tiny JSONPath subset used by CRD printer columns: .a.b, escaped dots, [?(@.k=="v")], [n]."""
    cur = [obj]
    pos = 0
    while pos < len(expr):
        m = _JP_TOKEN.match(expr, pos)
        if not m:
            return None
        pos = m.end()
        nxt = []
        for c in cur:
            if m.group(1) is not None:
                key = m.group(1).replace("\\.", ".")
                if isinstance(c, dict) and key in c:
                    nxt.append(c[key])
                elif isinstance(c, list):
                    nxt.extend(i[key] for i in c if isinstance(i, dict) and key in i)
            elif m.group(2) is not None:
                if isinstance(c, list):
                    nxt.extend(i for i in c if isinstance(i, dict) and str(i.get(m.group(2))) == m.group(3))
            else:
                idx = int(m.group(4))
                if isinstance(c, list) and idx < len(c):
                    nxt.append(c[idx])
        cur = nxt
    if not cur:
        return None
    return cur[0]


def _col(name, typ="string", fmt="", desc="", priority=0):
    return {"name": name, "type": typ, "format": fmt, "description": desc or name, "priority": priority}


def _node_row(o):
    st = o.get("status") or {}
    ready = next((c for c in st.get("conditions") or [] if c.get("type") == "Ready"), None)
    status = "Ready" if ready and ready.get("status") == "True" else ("NotReady" if ready else "Unknown")
    if (o.get("spec") or {}).get("unschedulable"):
        status += ",SchedulingDisabled"
    labels = o["metadata"].get("labels") or {}
    roles = sorted(k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/"))
    info = st.get("nodeInfo") or {}
    addrs = {a.get("type"): a.get("address") for a in st.get("addresses") or []}
    return [o["metadata"]["name"], status, ",".join(roles) or "<none>", age(o["metadata"].get("creationTimestamp")),
            info.get("kubeletVersion", ""), addrs.get("InternalIP", "<none>"), addrs.get("ExternalIP", "<none>"),
            info.get("osImage", ""), info.get("kernelVersion", ""), info.get("containerRuntimeVersion", "")]


def _pod_row(o):
    st = o.get("status") or {}
    cs = st.get("containerStatuses") or []
    total = len((o.get("spec") or {}).get("containers") or [])
    ready = sum(1 for c in cs if c.get("ready"))
    restarts = sum(int(c.get("restartCount", 0)) for c in cs)
    phase = st.get("phase", "Pending")
    if o["metadata"].get("deletionTimestamp"):
        phase = "Terminating"
    return [o["metadata"]["name"], "%d/%d" % (ready, total), phase, restarts,
            age(o["metadata"].get("creationTimestamp")), st.get("podIP", "<none>"),
            (o.get("spec") or {}).get("nodeName", "<none>"), "<none>", "<none>"]


BUILTIN_TABLES = {
    "Node": ([_col("Name", fmt="name"), _col("Status"), _col("Roles"), _col("Age"), _col("Version"),
              _col("Internal-IP", priority=1), _col("External-IP", priority=1), _col("OS-Image", priority=1),
              _col("Kernel-Version", priority=1), _col("Container-Runtime", priority=1)], _node_row),
    "Pod": ([_col("Name", fmt="name"), _col("Ready"), _col("Status"), _col("Restarts", "string"), _col("Age"),
             _col("IP", priority=1), _col("Node", priority=1), _col("Nominated Node", priority=1),
             _col("Readiness Gates", priority=1)], _pod_row),
    "Namespace": ([_col("Name", fmt="name"), _col("Status"), _col("Age")],
                  lambda o: [o["metadata"]["name"], (o.get("status") or {}).get("phase", "Active"),
                             age(o["metadata"].get("creationTimestamp"))]),
    "ConfigMap": ([_col("Name", fmt="name"), _col("Data", "integer"), _col("Age")],
                  lambda o: [o["metadata"]["name"], len(o.get("data") or {}) + len(o.get("binaryData") or {}),
                             age(o["metadata"].get("creationTimestamp"))]),
    "Secret": ([_col("Name", fmt="name"), _col("Type"), _col("Data", "integer"), _col("Age")],
               lambda o: [o["metadata"]["name"], o.get("type", "Opaque"), len(o.get("data") or {}),
                          age(o["metadata"].get("creationTimestamp"))]),
    "RuntimeClass": ([_col("Name", fmt="name"), _col("Handler"), _col("Age")],
                     lambda o: [o["metadata"]["name"], o.get("handler", ""),
                                age(o["metadata"].get("creationTimestamp"))]),
}


def printer_columns(kind: str) -> list | None:
    if kind == "ClusterVersion":
        return CLUSTERVERSION_COLUMNS
    if kind in validation.CRD_FILES:
        return validation.crd_version(kind).get("additionalPrinterColumns")
    return None


def table_for(kind: str, objs: list, include_object: str, rv: str, with_columns: bool = True) -> dict:
    if kind in BUILTIN_TABLES:
        cols, rowfn = BUILTIN_TABLES[kind]
    else:
        pcs = printer_columns(kind)
        if pcs:
            cols = [_col("Name", fmt="name", desc="Name must be unique within a namespace.")] + [
                _col(c["name"], c.get("type", "string") if c.get("type") != "date" else "date", c.get("format", ""),
                     c.get("description", ""), c.get("priority", 0)) for c in pcs]

            def rowfn(o, pcs=pcs):
                cells = [o["metadata"]["name"]]
                for c in pcs:
                    v = jsonpath(o, c["jsonPath"])
                    if c.get("type") == "date":
                        v = age(v) if v else None
                    cells.append(v)
                return cells
        else:
            cols = [_col("Name", fmt="name"), _col("Created At", "date")]

            def rowfn(o):
                return [o["metadata"]["name"], age(o["metadata"].get("creationTimestamp"))]
    rows = []
    for o in objs:
        row = {"cells": rowfn(o)}
        if include_object == "Object":
            row["object"] = o
        elif include_object != "None":
            row["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                             "metadata": o["metadata"]}
        rows.append(row)
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": rv},
            "columnDefinitions": cols if with_columns else None, "rows": rows}


def wants_table(accept: str) -> bool:
    first = (accept or "").split(",")[0]
    return "as=Table" in first


# --------------------------------------------------------------------------------------------- server


class _Fault:
    """One programmed fault. ``action``: "status" (answer ``code`` with a real Status body and ``headers``),
    "drop" (close the connection without answering, request not processed) or "drop-after" (process the
    request, then close the connection without answering: the client cannot know the outcome)."""

    def __init__(self, method, path_regex, code=None, times=None, seconds=None, action="status", headers=None,
                 reason=None, message=None, query=None):
        self.query = dict(query or {})  # also match these query parameters (e.g. {"watch": "true"})
        self.method = method.upper() if method else None
        self.regex = re.compile(path_regex)
        self.code = code
        self.times = times
        self.seconds = seconds
        self.action = action
        self.headers = dict(headers or {})
        self.reason = reason
        self.message = message

    def matches(self, method, path, query=None):
        if self.query and any((query or {}).get(k) != v for k, v in self.query.items()):
            return False
        return (self.method in (None, "*", method)) and self.regex.search(path) is not None


class _HTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):  # quiet on client disconnects
        pass


class APIServer:
    """The fake API server. ``FakeCluster`` (package __init__) wires it to seeds and the simulated MCO."""

    def __init__(self, store, *, token: str, user: str = "kube:admin", openshift: bool = True,
                 operator: bool = False, k8s_version: str = "v1.29.6", tls_files: tuple | None = None,
                 bookmark_interval: float = 5.0, max_watch_seconds: float = 600.0):
        self.store = store
        self.token = token
        self.user = user
        self.openshift = openshift
        self.operator = operator
        self.legacy: str | None = None   # "4.6": serve kataconfiguration.openshift.io/v1alpha1 (+ apps/v1)
        self.olm = False                 # serve operators.coreos.com/v1alpha1 Subscriptions and CSVs
        self.apps = False                # serve apps/v1 DaemonSets
        self.k8s_version = k8s_version
        self.tls_files = tls_files
        self.bookmark_interval = bookmark_interval
        self.max_watch_seconds = max_watch_seconds
        self._lock = threading.Lock()
        self._requests: list = []
        self._faults: list = []
        self._delays: list = []
        self._forbidden: set = set()
        self._connections: set = set()
        # extension points (tests/fakeapi/daemonset.py): more resources, routes tried first, object validators
        self.extra_resources: list = []
        self.route_hooks: list = []       # fn(handler, method, path, query, raw) -> True when it answered
        self.object_hooks: list = []      # fn(resource, obj) -> raise store.Invalid to reject
        self._httpd = None
        self._thread = None
        self.stopping = threading.Event()
        self.namespaces = NamespaceController(self)     # namespace deletion in the background (namespaces.py)

    # ---------------------------------------------------------------- lifecycle
    def start(self, port: int = 0) -> str:
        """Listen on ``port`` (0: any free one); restarting on the previous port models an apiserver restart."""
        handler = type("Handler", (_Handler,), {"api": self})
        self.stopping.clear()
        self._httpd = _HTTPServer(("127.0.0.1", port), handler)
        scheme = "http"
        if self.tls_files:
            import ssl
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(self.tls_files[0], self.tls_files[1])
            self._httpd.socket = ctx.wrap_socket(self._httpd.socket, server_side=True,
                                                 do_handshake_on_connect=False)
            scheme = "https"
        self.port = self._httpd.server_address[1]
        self.url = "%s://127.0.0.1:%d" % (scheme, self.port)
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fakeapi-http", daemon=True)
        self._thread.start()
        return self.url

    def stop(self) -> None:
        self.stopping.set()
        with self.store.lock:
            self.store._cond.notify_all()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        with self._lock:  # a stopped apiserver keeps no connection open (clients see resets, then refusals)
            conns, self._connections = list(self._connections), set()
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    # ---------------------------------------------------------------- observation / faults
    @property
    def requests(self) -> list:
        with self._lock:
            return list(self._requests)

    def reset_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def _log(self, entry: dict) -> None:
        with self._lock:
            self._requests.append(entry)

    def fail_next(self, method: str, path_regex: str, code: int, times: int = 1, message: str | None = None,
                  headers: dict | None = None, reason: str | None = None, query: dict | None = None):
        """The next ``times`` matching requests get HTTP ``code`` with a Status body (and ``headers``, e.g.
        ``{"Retry-After": "1"}``). ``times=None``: every matching request until clear_faults()."""
        with self._lock:
            self._faults.append(_Fault(method, path_regex, code=code, times=times, headers=headers, reason=reason,
                                       message=message, query=query))

    def drop_next(self, method: str, path_regex: str, times: int = 1, after: bool = False):
        """Close the connection of the next ``times`` matching requests without an answer; with ``after`` the
        request is carried out first (a create/update whose outcome the client cannot know)."""
        with self._lock:
            self._faults.append(_Fault(method, path_regex, times=times, action="drop-after" if after else "drop"))

    def delay(self, method: str, path_regex: str, seconds: float, times: int | None = None):
        with self._lock:
            self._delays.append(_Fault(method, path_regex, times=times, seconds=seconds))

    def forbid(self, verb: str, plural: str) -> None:
        with self._lock:
            self._forbidden.add((verb, plural))

    def allow(self, verb: str, plural: str) -> None:
        with self._lock:
            self._forbidden.discard((verb, plural))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
            self._delays.clear()
            self._forbidden.clear()

    def _take_fault(self, method, path, query=None):
        with self._lock:
            for f in self._faults:
                if f.matches(method, path, query):
                    if f.times is not None:
                        f.times -= 1
                        if f.times <= 0:
                            self._faults.remove(f)
                    return f
        return None

    def _take_delay(self, method, path):
        with self._lock:
            for d in self._delays:
                if d.matches(method, path):
                    if d.times is not None:
                        d.times -= 1
                        if d.times <= 0:
                            self._delays.remove(d)
                    return d.seconds
        return 0.0

    def _is_forbidden(self, verb, plural):
        with self._lock:
            return (verb, plural) in self._forbidden or ("*", plural) in self._forbidden

    # ---------------------------------------------------------------- resources
    def resources(self) -> list:
        res = CORE + NODE_K8S
        if self.openshift:
            res = res + CONFIG_OPENSHIFT + MCO
        if (self.apps or self.legacy) and not any(r.kind == "DaemonSet" for r in self.extra_resources):
            res = res + APPS
        if self.operator or self.legacy == "4.7":
            res = res + KATA
        if self.legacy == "4.6":
            res = res + KATA_V1ALPHA1
        if self.olm:
            res = res + OLM
        return res + self.extra_resources

    def groups(self) -> dict:
        out: dict = {}
        for r in self.resources():
            if r.group:
                out.setdefault(r.group, []).append(r)
        return out

    def find(self, group: str, version: str, plural: str) -> Resource | None:
        for r in self.resources():
            if r.group == group and r.version == version and r.plural == plural:
                return r
        return None

    def resource_for_kind(self, kind: str) -> Resource | None:
        for r in CORE + NODE_K8S + CONFIG_OPENSHIFT + MCO + KATA + self.extra_resources + APPS + OLM:
            if r.kind == kind:
                return r
        return None


# --------------------------------------------------------------------------------------------- handler


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-kube-apiserver"
    # TCP_NODELAY, as Go's net/http (the real kube-apiserver) sets on every connection: with Nagle on, a body
    # written after its headers waits for the client's delayed ACK (~40 ms per response on Linux loopback)
    disable_nagle_algorithm = True
    api: APIServer = None  # set by APIServer.start

    def log_message(self, format, *args):  # noqa: A002 - silence stderr access log
        pass

    def setup(self):
        super().setup()
        self.connection.settimeout(30)
        with self.api._lock:
            self.api._connections.add(self.connection)

    def finish(self):
        try:
            super().finish()
        finally:
            with self.api._lock:
                self.api._connections.discard(self.connection)

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (ConnectionError, socket.timeout, OSError):
            self.close_connection = True

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_PATCH(self):
        self._dispatch("PATCH")

    def do_DELETE(self):
        self._dispatch("DELETE")

    # ---------------------------------------------------------------- plumbing
    def _send_json(self, code: int, body: dict, headers: dict | None = None) -> None:
        data = json.dumps(body).encode()
        # recorded before the answer leaves: a client that acts on the answer finds it in the request log
        self._entry["status"] = code
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "no-cache, private")
        for name, value in (headers or {}).items():
            self.send_header(name, str(value))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _error(self, err: APIError) -> None:
        extra, self._fault_headers = getattr(self, "_fault_headers", None) or {}, None
        self._send_json(err.code, status_body(err.code, err.message, err.reason, err.details), extra)

    def _drop(self) -> None:
        """Close the connection without an answer (what a crashing apiserver or a cut load balancer does)."""
        self.close_connection = True
        self._entry["status"] = "dropped"
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _read_body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            return self.rfile.read(n)
        if (self.headers.get("Transfer-Encoding") or "").lower() == "chunked":
            out = b""
            while True:
                line = self.rfile.readline().strip()
                size = int(line.split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    break
                out += self.rfile.read(size)
                self.rfile.readline()
            return out
        return b""

    def _user(self) -> str:
        return self.headers.get("Impersonate-User") or self.api.user

    def _dispatch(self, method: str) -> None:
        api = self.api
        parsed = urllib.parse.urlsplit(self.path)
        path = parsed.path.rstrip("/") or "/"
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(parsed.query, keep_blank_values=True).items()}
        raw = self._read_body() if method in ("POST", "PUT", "PATCH", "DELETE") else b""
        headers = {}
        for h in ("Accept", "Content-Type", "User-Agent", "Impersonate-User"):
            if self.headers.get(h) is not None:
                headers[h] = self.headers.get(h)
        groups = self.headers.get_all("Impersonate-Group")
        if groups:
            headers["Impersonate-Group"] = list(groups)
        self._entry = {"method": method, "path": path, "query": query, "headers": headers,
                       "time": time.time(), "status": None}
        if raw:
            try:
                self._entry["body"] = json.loads(raw)
            except ValueError:
                try:
                    self._entry["body"] = yaml.safe_load(raw)
                except yaml.YAMLError:
                    self._entry["body"] = raw.decode("utf-8", "replace")
        api._log(self._entry)
        try:
            secs = api._take_delay(method, path)
            if secs:
                self._entry["delayed"] = secs
                time.sleep(secs)
            auth = self.headers.get("Authorization") or ""
            scheme, _, credential = auth.partition(" ")
            # the apiserver's bearer authenticator takes the scheme case-insensitively (client-go and the
            # Python in-cluster loader send "bearer")
            if not (scheme.lower() == "bearer" and credential.strip() == api.token) and not (not auth and path in ("/version", "/healthz", "/readyz",
                                                                            "/livez")):
                raise APIError(401, "Unauthorized")
            fault = api._take_fault(method, path, query)
            if fault is not None and fault.action == "status":
                self._entry["fault"] = fault.code
                self._fault_headers = fault.headers
                raise APIError(fault.code, fault.message or self._fault_message(fault.code), fault.reason)
            if fault is not None:
                self._entry["fault"] = fault.action
                if fault.action == "drop-after":
                    real, self.wfile = self.wfile, io.BytesIO()  # carry it out, throw the answer away
                    try:
                        self._route(method, path, query, raw)
                    except APIError:
                        pass
                    finally:
                        self.wfile = real
                self._drop()
                return
            self._route(method, path, query, raw)
        except APIError as e:
            self._error(e)
        except OSError:  # client went away (broken pipe, reset, TLS EOF, timeout)
            self.close_connection = True
        except Exception as e:  # a bug in the fake must show up as a 500, not a hang
            import traceback
            traceback.print_exc()
            self._error(APIError(500, "fake apiserver internal error: %s: %s" % (type(e).__name__, e)))

    @staticmethod
    def _fault_message(code: int) -> str:
        return {500: "Internal error occurred: injected failure", 503: "the server is currently unable to handle the"
                " request", 429: "the server has received too many requests and has asked us to try again later",
                504: "the server was unable to return a response in the time allotted, but may still be processing "
                "the request", 403: "forbidden: injected failure", 409: "conflict: injected failure",
                404: "the server could not find the requested resource"}.get(code, "injected failure")

    # ---------------------------------------------------------------- routing
    def _route(self, method, path, query, raw):
        api = self.api
        for hook in api.route_hooks:
            if hook(self, method, path, query, raw):
                return None
        segs = [s for s in path.split("/") if s]
        if method == "GET":
            if path == "/version":
                return self._send_json(200, self._version())
            if path in ("/healthz", "/readyz", "/livez"):
                data = b"ok"
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(data)
                self._entry["status"] = 200
                return None
            if path == "/openapi/v3":
                return self._send_json(200, {"paths": {
                    gv: {"serverRelativeURL": "/openapi/v3/%s?hash=%s" % (gv, "F" * 16)}
                    for gv in sorted({("api/" if not r.group else "apis/") + r.group_version
                                      for r in api.resources()})}})
            if path.startswith("/openapi/v3/"):
                doc = self._openapi_v3(path[len("/openapi/v3/"):])
                if doc is not None:
                    return self._send_json(200, doc)
            if path == "/api":
                return self._send_json(200, {"kind": "APIVersions", "versions": ["v1"],
                                             "serverAddressByClientCIDRs": [
                                                 {"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:%d" % api.port}]})
            if path == "/apis":
                return self._send_json(200, {"kind": "APIGroupList", "apiVersion": "v1",
                                             "groups": [self._group(g) for g in api.groups()]})
            if path == "/api/v1":
                return self._send_json(200, self._resource_list("", "v1"))
            if len(segs) == 2 and segs[0] == "apis" and segs[1] in api.groups():
                return self._send_json(200, dict(self._group(segs[1]), kind="APIGroup", apiVersion="v1"))
            if len(segs) == 3 and segs[0] == "apis" and segs[1] in api.groups() and \
                    segs[2] in self._group_versions(segs[1]):
                return self._send_json(200, self._resource_list(segs[1], segs[2]))
        if segs[:2] == ["api", "v1"]:
            group, version, rest = "", "v1", segs[2:]
        elif len(segs) >= 3 and segs[0] == "apis":
            group, version, rest = segs[1], segs[2], segs[3:]
        else:
            raise APIError(404, "the server could not find the requested resource", details={})
        ns = None
        if len(rest) >= 3 and rest[0] == "namespaces" and rest[2] not in ("status", "finalize"):
            ns, rest = rest[1], rest[2:]
        if not rest:
            raise APIError(404, "the server could not find the requested resource", details={})
        res = api.find(group, version, rest[0])
        if res is None or (ns is not None and not res.namespaced):
            raise APIError(404, "the server could not find the requested resource", details={})
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if len(rest) > 3 or (sub is not None and not (sub == "status" and res.status)):
            raise APIError(404, "the server could not find the requested resource", details={})
        if res.namespaced and name is not None and ns is None:
            raise APIError(404, "the server could not find the requested resource", details={})
        verb = {"GET": "get" if name else "list", "POST": "create", "PUT": "update", "PATCH": "patch",
                "DELETE": "delete" if name else "deletecollection"}[method]
        if verb == "list" and query.get("watch") in ("true", "1", "True"):
            verb = "watch"
        if (method == "POST" and name) or (method in ("PUT", "PATCH") and not name):
            raise APIError(405, "the server does not allow this method on the requested resource")
        plural_sub = res.plural + ("/" + sub if sub else "")
        if api._is_forbidden(verb, plural_sub) or api._is_forbidden(verb, res.plural) and not sub:
            self._forbidden(res, verb, name, ns, sub)
        if query.get("dryRun") not in (None, "All"):
            raise APIError(400, 'Invalid dry run value: %s' % query.get("dryRun"))
        handler = getattr(self, "_do_" + verb.replace("deletecollection", "delete_collection"))
        return handler(res, ns, name, sub, query, raw)

    def _forbidden(self, res, verb, name, ns, sub):
        scope = 'in the namespace "%s"' % ns if ns else "at the cluster scope"
        plural = res.plural + ("/" + sub if sub else "")
        subject = res.qualified + (' "%s"' % name if name else "")
        msg = '%s is forbidden: User "%s" cannot %s resource "%s" in API group "%s" %s' % (
            subject, self._user(), verb, plural, res.group, scope)
        details = {"group": res.group, "kind": res.plural}
        if name:
            details = {"name": name, "group": res.group, "kind": res.plural}
        raise APIError(403, msg, details=details)

    # ---------------------------------------------------------------- discovery
    def _version(self):
        v = self.api.k8s_version
        major, minor = v.lstrip("v").split(".")[:2]
        return {"major": major, "minor": minor, "gitVersion": v, "gitCommit": "0" * 40, "gitTreeState": "clean",
                "buildDate": "2024-06-25T19:23:00Z", "goVersion": "go1.21.11", "compiler": "gc",
                "platform": "linux/amd64"}

    def _group_versions(self, group):
        return sorted({r.version for r in self.api.resources() if r.group == group}, key=lambda v: v != "v1")

    def _group(self, group):
        gvs = [{"groupVersion": group + "/" + v, "version": v} for v in self._group_versions(group)]
        return {"name": group, "versions": gvs, "preferredVersion": gvs[0]}

    def _resource_list(self, group, version):
        out = []
        for r in self.api.resources():
            if r.group != group or r.version != version:
                continue
            entry = {"name": r.plural, "singularName": r.singular, "namespaced": r.namespaced, "kind": r.kind,
                     "verbs": VERBS}
            if r.short_names:
                entry["shortNames"] = r.short_names
            if r.categories:
                entry["categories"] = r.categories
            if not r.builtin:
                entry["storageVersionHash"] = ""
            out.append(entry)
            if r.status:
                out.append({"name": r.plural + "/status", "singularName": "", "namespaced": r.namespaced,
                            "kind": r.kind, "verbs": ["get", "patch", "update"]})
        return {"kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": version if not group else group + "/" + version, "resources": out}

    # ---------------------------------------------------------------- openapi
    def _openapi_v3(self, gvpath):
        """Minimal OpenAPI v3 document of one group/version: enough for kubectl's fieldValidation support check
        (PATCH operations carrying x-kubernetes-group-version-kind and a fieldValidation query parameter) and
        for ``kubectl explain`` of the custom kinds (their CRD schemas)."""
        res = [r for r in self.api.resources() if ("api/" if not r.group else "apis/") + r.group_version == gvpath]
        if not res:
            return None
        q = lambda n: {"name": n, "in": "query", "schema": {"type": "string", "uniqueItems": True}}  # noqa: E731
        paths, schemas = {}, {}
        for r in res:
            gvk = {"group": r.group, "version": r.version, "kind": r.kind}
            if r.group:
                rev = ".".join(reversed(r.group.split(".")))
                sname = "%s.%s.%s" % (rev, r.version, r.kind)
            else:
                sname = "io.k8s.api.%s.%s.%s" % ("core" if not r.group else r.group.split(".")[0], r.version,
                                                 r.kind)
            if r.kind in validation.CRD_FILES:
                schema = copy.deepcopy(validation.crd_version(r.kind)["schema"]["openAPIV3Schema"])
            else:
                schema = {"type": "object", "description": "%s (schema not modelled by the fake)" % r.kind}
            schema["x-kubernetes-group-version-kind"] = [gvk]
            schemas[sname] = schema
            ref = {"$ref": "#/components/schemas/" + sname}
            body = {"content": {"application/json": {"schema": ref}}}
            resp = {"200": {"description": "OK", "content": {"application/json": {"schema": ref}}}}
            prefix = "/" + gvpath + ("/namespaces/{namespace}" if r.namespaced else "")
            item = prefix + "/" + r.plural + "/{name}"

            def op(action, params=(), with_body=False, r=r, gvk=gvk):
                o = {"operationId": action + r.kind, "parameters": [q(p) for p in params], "responses": resp,
                     "x-kubernetes-action": action, "x-kubernetes-group-version-kind": gvk}
                if with_body:
                    o["requestBody"] = body
                return o
            paths[prefix + "/" + r.plural] = {
                "get": op("list", ("labelSelector", "fieldSelector", "resourceVersion", "watch")),
                "post": op("post", ("dryRun", "fieldManager", "fieldValidation"), True)}
            paths[item] = {
                "get": op("get"), "put": op("put", ("dryRun", "fieldManager", "fieldValidation"), True),
                "patch": op("patch", ("dryRun", "fieldManager", "fieldValidation", "force"), True),
                "delete": op("delete", ("dryRun",))}
            if r.status:
                paths[item + "/status"] = {
                    "get": op("get"), "put": op("put", ("dryRun", "fieldManager", "fieldValidation"), True),
                    "patch": op("patch", ("dryRun", "fieldManager", "fieldValidation", "force"), True)}
        return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": self.api.k8s_version},
                "paths": paths, "components": {"schemas": schemas}}

    # ---------------------------------------------------------------- helpers
    def _not_found(self, res, name):
        raise APIError(404, '%s "%s" not found' % (res.qualified, name),
                       details={"name": name, "group": res.group, "kind": res.plural})

    def _store_error(self, res, e: StoreError):
        details = {"name": e.name, "group": res.group, "kind": res.plural}
        if isinstance(e, NotFound):
            raise APIError(404, '%s "%s" not found' % (res.qualified, e.name), details=details)
        if isinstance(e, AlreadyExists):
            raise APIError(409, '%s "%s" already exists' % (res.qualified, e.name), "AlreadyExists",
                           details=details)
        if isinstance(e, Conflict):
            raise APIError(409, 'Operation cannot be fulfilled on %s "%s": the object has been modified; please '
                                'apply your changes to the latest version and try again' % (res.qualified, e.name),
                           "Conflict", details=details)
        if isinstance(e, Invalid):
            d = dict(details, kind=res.kind, causes=e.causes)
            raise APIError(422, e.message, "Invalid", details=d)
        if isinstance(e, Gone):
            raise APIError(410, e.message, "Expired")
        raise APIError(500, str(e))

    def _parse_body(self, raw: bytes, yaml_ok: bool = False):
        try:
            if yaml_ok:
                return yaml.safe_load(raw)
            return json.loads(raw or b"null")
        except (ValueError, yaml.YAMLError) as e:
            raise APIError(400, "the object provided is unrecognized (must be of type %s): %s" % ("Object", e))

    def _check_kind(self, res, obj):
        if not isinstance(obj, dict):
            raise APIError(400, "the object provided is unrecognized: expected an object")
        kind = obj.get("kind") or res.kind
        apiv = obj.get("apiVersion") or res.group_version
        if kind != res.kind or apiv != res.group_version:
            raise APIError(400, "the API version in the data (%s) does not match the expected API version (%s)" % (
                apiv, res.group_version) if apiv != res.group_version else
                "the kind in the data (%s) does not match the expected kind (%s)" % (kind, res.kind))
        obj["kind"], obj["apiVersion"] = kind, apiv
        obj.setdefault("metadata", {})
        return obj

    def _check_namespace(self, ns, res=None, name=None):
        obj = self.api.store.get("Namespace", ns) if ns else None
        if ns and obj is None:
            raise APIError(404, 'namespaces "%s" not found' % ns,
                           details={"name": ns, "group": "", "kind": "namespaces"})
        if res is not None and terminating(obj):      # NamespaceLifecycle admission
            msg = terminating_message(res.qualified, name or "", ns)
            raise APIError(403, msg, "Forbidden", details={
                "name": name or "", "group": res.group, "kind": res.plural,
                "causes": [{"reason": "NamespaceTerminating", "message": msg.split(" is forbidden: ", 1)[1],
                            "field": "metadata.namespace"}]})

    def _validate(self, res, obj):
        validation.apply_defaults(obj)
        try:
            validation.validate(obj, res.group)
            for hook in self.api.object_hooks:
                hook(res, obj)
        except Invalid as e:
            self._store_error(res, e)

    def _respond_obj(self, code, res, obj, query):
        if wants_table(self.headers.get("Accept", "")):
            return self._send_json(code, table_for(res.kind, [obj], query.get("includeObject", "Metadata"),
                                                   obj["metadata"].get("resourceVersion", "")))
        return self._send_json(code, obj)

    def _defaults_for_new(self, res, obj):
        if res.kind == "Namespace":
            obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"].get("name", "")
            obj.setdefault("spec", {"finalizers": ["kubernetes"]})
            obj["status"] = {"phase": "Active"}
        elif res.kind == "Pod":
            obj.setdefault("status", {})
            obj["status"].setdefault("phase", "Pending")
        elif res.kind == "Secret":
            obj.setdefault("type", "Opaque")

    def _dry_run_result(self, obj, old=None):
        obj = copy.deepcopy(obj)
        md = obj["metadata"]
        if old is None:
            md.setdefault("uid", "00000000-0000-0000-0000-000000000000")
            md["creationTimestamp"] = now_rfc3339()
            md["generation"] = 1
            md.pop("resourceVersion", None)
        else:
            for f in ("uid", "creationTimestamp", "resourceVersion", "generation"):
                if f in old["metadata"]:
                    md[f] = old["metadata"][f]
        return obj

    # ---------------------------------------------------------------- verbs
    def _do_get(self, res, ns, name, sub, query, raw):
        obj = self.api.store.get(res.kind, name, ns)
        if obj is None:
            self._not_found(res, name)
        return self._respond_obj(200, res, obj, query)

    def _selected(self, res, ns, query):
        lsel = parse_label_selector(query.get("labelSelector", ""))
        fsel = parse_field_selector(query.get("fieldSelector", ""), res.kind)
        return lambda o: ((ns is None or o["metadata"].get("namespace") == ns)
                          and labels_match(o["metadata"].get("labels"), lsel) and fields_match(o, fsel))

    def _do_list(self, res, ns, name, sub, query, raw):
        sel = self._selected(res, ns, query)
        store = self.api.store
        with store.lock:
            items = [o for o in store.list(res.kind, ns) if sel(o)]
            rv = store.resource_version
        if wants_table(self.headers.get("Accept", "")):
            return self._send_json(200, table_for(res.kind, items, query.get("includeObject", "Metadata"), rv))
        return self._send_json(200, {"kind": res.kind + "List", "apiVersion": res.group_version,
                                     "metadata": {"resourceVersion": rv}, "items": items})

    def _do_create(self, res, ns, name, sub, query, raw):
        obj = self._check_kind(res, self._parse_body(raw))
        md = obj["metadata"]
        if res.namespaced:
            if md.get("namespace") and ns and md["namespace"] != ns:
                raise APIError(400, "the namespace of the provided object does not match the namespace sent on the "
                                    "request")
            md["namespace"] = ns or md.get("namespace") or "default"
            self._check_namespace(md["namespace"], res, md.get("name") or md.get("generateName") or "")
        for f in ("uid", "resourceVersion", "creationTimestamp", "deletionTimestamp", "generation"):
            md.pop(f, None)
        self._defaults_for_new(res, obj)
        self._validate(res, obj)
        store = self.api.store
        with store.lock:
            if query.get("dryRun") == "All":
                if md.get("name") and store.get(res.kind, md["name"], md.get("namespace")) is not None:
                    self._store_error(res, AlreadyExists(res.kind, md["name"]))
                return self._respond_obj(201, res, self._dry_run_result(obj), query)
            try:
                created = store.create(obj)
            except StoreError as e:
                self._store_error(res, e)
        return self._respond_obj(201, res, created, query)

    def _merge_subresource(self, res, old, new, sub):
        """Status subresource rules: main resource ignores status; /status takes only status."""
        if sub == "status":
            merged = copy.deepcopy(old)
            if "status" in new:
                merged["status"] = new["status"]
            else:
                merged.pop("status", None)
            merged["metadata"]["resourceVersion"] = new["metadata"].get("resourceVersion",
                                                                        old["metadata"]["resourceVersion"])
            return merged
        if res.status:
            new = copy.deepcopy(new)
            if "status" in old:
                new["status"] = old["status"]
            else:
                new.pop("status", None)
        return new

    def _write(self, res, ns, name, sub, query, new, old, code=200):
        """Validate and persist ``new`` as the next version of ``old`` (store lock held by caller)."""
        new = self._merge_subresource(res, old, new, sub)
        new["kind"], new["apiVersion"] = res.kind, res.group_version
        md = new.setdefault("metadata", {})
        md["name"] = name
        if res.namespaced:
            md["namespace"] = ns
        self._validate(res, new)
        if query.get("dryRun") == "All":
            if md.get("resourceVersion") and md["resourceVersion"] != old["metadata"]["resourceVersion"]:
                self._store_error(res, Conflict(res.kind, name))
            return self._respond_obj(code, res, self._dry_run_result(new, old), query)
        try:
            updated = self.api.store.update(new)
        except StoreError as e:
            self._store_error(res, e)
        return self._respond_obj(code, res, updated, query)

    def _do_update(self, res, ns, name, sub, query, raw):
        obj = self._check_kind(res, self._parse_body(raw))
        md = obj["metadata"]
        if md.get("name") and md["name"] != name:
            raise APIError(400, "the name of the object (%s) does not match the name on the URL (%s)" % (
                md["name"], name))
        store = self.api.store
        with store.lock:
            old = store.get(res.kind, name, ns)
            if old is None:
                self._not_found(res, name)
            if not res.builtin and not md.get("resourceVersion"):
                causes = [{"reason": "FieldValueInvalid", "message": "Invalid value: 0x0: must be specified for an "
                                                                      "update", "field": "metadata.resourceVersion"}]
                self._store_error(res, Invalid(res.kind, name, ns, '%s "%s" is invalid: metadata.resourceVersion: '
                                                                   'Invalid value: 0x0: must be specified for an update'
                                               % (validation.qualified_kind(res.kind, res.group), name), causes))
            return self._write(res, ns, name, sub, query, obj, old)

    def _do_patch(self, res, ns, name, sub, query, raw):
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        if ctype not in PATCH_TYPES or (ctype == "application/strategic-merge-patch+json" and not res.builtin):
            accepted = [t for t in PATCH_TYPES if res.builtin or "strategic" not in t]
            raise APIError(415, "the body of the request was in an unknown format - accepted media types include: "
                           + ", ".join(accepted), "UnsupportedMediaType")
        store = self.api.store
        with store.lock:
            old = store.get(res.kind, name, ns)
            if ctype == "application/apply-patch+yaml":
                return self._apply(res, ns, name, sub, query, raw, old)
            if old is None:
                self._not_found(res, name)
            patch = self._parse_body(raw)
            try:
                if ctype == "application/json-patch+json":
                    new = json_patch(old, patch)
                elif ctype == "application/merge-patch+json":
                    new = merge_patch(old, patch)
                else:
                    new = strategic_merge_patch(old, patch)
            except (ValueError, KeyError, IndexError, TypeError) as e:
                raise APIError(422, str(e), "Invalid")
            if not isinstance(new, dict):
                raise APIError(422, "patch produced a non-object", "Invalid")
            return self._write(res, ns, name, sub, query, new, old)

    def _apply(self, res, ns, name, sub, query, raw, old):
        manager = query.get("fieldManager")
        if not manager:
            causes = [{"reason": "FieldValueRequired", "message": "Required value: is required for apply patch",
                       "field": "fieldManager"}]
            raise APIError(422, 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required '
                                'for apply patch', "Invalid",
                           details={"group": "meta.k8s.io", "kind": "PatchOptions", "causes": causes})
        applied = self._check_kind(res, self._parse_body(raw, yaml_ok=True))
        amd = applied["metadata"]
        if amd.get("name") and amd["name"] != name:
            raise APIError(400, "the name of the object (%s) does not match the name on the URL (%s)" % (
                amd["name"], name))
        entry = {"manager": manager, "operation": "Apply", "apiVersion": res.group_version,
                 "time": now_rfc3339(), "fieldsType": "FieldsV1", "fieldsV1": fields_v1(applied)}
        if sub:
            entry["subresource"] = sub
        if old is None:
            if sub:
                self._not_found(res, name)
            amd["name"] = name
            if res.namespaced:
                amd["namespace"] = ns
                self._check_namespace(ns, res, name)
            new = copy.deepcopy(applied)
            new["metadata"]["managedFields"] = [entry]
            self._defaults_for_new(res, new)
            self._validate(res, new)
            if query.get("dryRun") == "All":
                return self._respond_obj(201, res, self._dry_run_result(new), query)
            try:
                created = self.api.store.create(new)
            except StoreError as e:
                self._store_error(res, e)
            return self._respond_obj(201, res, created, query)
        new = apply_merge(old, applied, res.builtin)
        mfs = [m for m in old["metadata"].get("managedFields") or []
               if not (m.get("manager") == manager and m.get("operation") == "Apply"
                       and m.get("subresource") == entry.get("subresource"))]
        new["metadata"]["managedFields"] = mfs + [entry]
        return self._write(res, ns, name, sub, query, new, old)

    def _do_delete(self, res, ns, name, sub, query, raw):
        if sub:
            raise APIError(405, "the server does not allow this method on the requested resource")
        store = self.api.store
        opts = {}
        if raw:
            opts = self._parse_body(raw) or {}
        pre = (opts.get("preconditions") or {}) if isinstance(opts, dict) else {}
        with store.lock:
            old = store.get(res.kind, name, ns)
            if old is None:
                self._not_found(res, name)
            if pre.get("resourceVersion") and pre["resourceVersion"] != old["metadata"]["resourceVersion"]:
                raise APIError(409, 'Operation cannot be fulfilled on %s "%s": the ResourceVersion in the '
                                    'precondition (%s) does not match the ResourceVersion in record (%s). The object '
                                    'might have been modified' % (res.qualified, name, pre["resourceVersion"],
                                                                  old["metadata"]["resourceVersion"]), "Conflict",
                               details={"name": name, "group": res.group, "kind": res.plural})
            if pre.get("uid") and pre["uid"] != old["metadata"]["uid"]:
                raise APIError(409, 'Operation cannot be fulfilled on %s "%s": Precondition failed: UID in '
                                    'precondition: %s, UID in object meta: %s' % (
                                        res.qualified, name, pre["uid"], old["metadata"]["uid"]), "Conflict",
                               details={"name": name, "group": res.group, "kind": res.plural})
            if query.get("dryRun") == "All":
                return self._respond_obj(200, res, old, query)
            try:
                if res.kind == "Namespace":
                    # answered at once: Terminating; the namespace controller empties and removes it (namespaces.py;
                    # every namespace made through the API has the `kubernetes` finalizer)
                    gone = self.api.namespaces.mark(name)
                else:
                    gone = store.delete(res.kind, name, ns)
            except StoreError as e:
                self._store_error(res, e)
        return self._respond_obj(200, res, gone, query)

    def _do_delete_collection(self, res, ns, name, sub, query, raw):
        sel = self._selected(res, ns, query)
        store = self.api.store
        with store.lock:
            items = [o for o in store.list(res.kind, ns) if sel(o)]
            if query.get("dryRun") != "All":
                for o in items:
                    store.delete(res.kind, o["metadata"]["name"], o["metadata"].get("namespace"))
            rv = store.resource_version
        return self._send_json(200, {"kind": res.kind + "List", "apiVersion": res.group_version,
                                     "metadata": {"resourceVersion": rv}, "items": items})

    # ---------------------------------------------------------------- watch
    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _do_watch(self, res, ns, name, sub, query, raw):
        api = self.api
        store = api.store
        sel = self._selected(res, ns, query)
        table = wants_table(self.headers.get("Accept", ""))
        include = query.get("includeObject", "Metadata")
        try:
            timeout = float(query.get("timeoutSeconds") or api.max_watch_seconds)
        except ValueError:
            raise APIError(400, "invalid timeoutSeconds")
        timeout = min(timeout, api.max_watch_seconds)
        bookmarks = query.get("allowWatchBookmarks") in ("true", "1", "True")
        rv_param = query.get("resourceVersion")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self._entry["status"] = 200
        first = [True]

        def send(event_type, obj):
            if table and event_type in ("ADDED", "MODIFIED", "DELETED"):
                obj = table_for(res.kind, [obj], include, obj["metadata"].get("resourceVersion", ""))
            self._chunk(json.dumps({"type": event_type, "object": obj}).encode() + b"\n")
            first[0] = False

        def send_gone(err: Gone):
            self._chunk(json.dumps({"type": "ERROR", "object": status_body(410, err.message, "Expired")}).encode()
                        + b"\n")

        deadline = time.monotonic() + timeout
        try:
            with store.lock:
                if not rv_param or rv_param == "0":
                    events = [("ADDED", o) for o in store.list(res.kind, ns)]
                    cur = int(store.resource_version)
                else:
                    try:
                        events = store.history_since(res.kind, rv_param)
                    except Gone as g:
                        events = None
                        gone = g
                    except ValueError:
                        events = None
                        gone = Gone(0, store.compacted_resource_version)
                    cur = int(store.resource_version)
            if events is None:
                send_gone(gone)
                self._chunk(b"")
                return
            for t, o in events:
                if sel(o):
                    send(t, o)
            last_bookmark = time.monotonic()
            while not api.stopping.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                store.wait_for_change(cur, min(remaining, 0.25))
                with store.lock:
                    try:
                        events = store.history_since(res.kind, cur)
                    except Gone as g:
                        send_gone(g)
                        break
                    cur = int(store.resource_version)
                for t, o in events:
                    if sel(o):
                        send(t, o)
                if bookmarks and time.monotonic() - last_bookmark >= api.bookmark_interval:
                    self._chunk(json.dumps({"type": "BOOKMARK", "object": {
                        "kind": res.kind, "apiVersion": res.group_version,
                        "metadata": {"resourceVersion": str(cur)}}}).encode() + b"\n")
                    last_bookmark = time.monotonic()
            self._chunk(b"")
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True
