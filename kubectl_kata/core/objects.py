"""Rendering of the objects kubectl-kata creates, and ownership tests for objects found on the cluster.

Shapes follow what the sandboxed containers operator creates (DOMAIN 2.1, 2.2, 2.4) so that nodes end up
identical; the only differences are ``app.kubernetes.io/managed-by: kubectl-kata`` and the annotation
``kubectl-kata.io/revision: "<CURRENT_REVISION>"`` on everything we create. The revision names the layout the
plugin renders; ``upgrade`` re-renders objects of an older revision. Revision 1 is what the plugin created
before it recorded revisions (the managed-by label and no annotation); bump ``CURRENT_REVISION`` whenever a
rendered object changes shape.
"""
from __future__ import annotations

import re
from typing import Optional

from .constants import (DEFAULT_CUSTOM_POOL, EXTENSION, IGNITION_VERSION, KATACONFIG_KIND,
                        MANAGED_BY_LABEL, MANAGED_BY_VALUE, MANAGER_OPERATOR, MC_KIND, MC_NAME,
                        MCO_API_VERSION, MCP_KIND, OSC_MC_NAMES, OVERHEAD_CPU, OVERHEAD_MEMORY,
                        POOL_LABEL_PREFIX, ROLE_LABEL, RUNTIMECLASS_API_VERSION, RUNTIMECLASS_HANDLER,
                        RUNTIMECLASS_KIND, RUNTIMECLASS_NAME, STANDARD_POOLS, WORKER_POOL,
                        node_role_label, pool_node_selector)

# A pool name becomes part of a label key (node-role.kubernetes.io/<name>) and of the rendered-config
# name, so it must be a DNS label.
_POOL_NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def validate_pool_name(name: str) -> str:
    if not isinstance(name, str) or not _POOL_NAME_RE.match(name):
        raise ValueError("invalid pool name %r: use lower-case letters, digits and '-', at most 63 characters, "
                         "starting and ending with a letter or digit" % (name,))
    return name


REVISION_ANNOTATION = "kubectl-kata.io/revision"
CURRENT_REVISION = 2
UNRECORDED_REVISION = 1   # our label without the annotation: created before revisions were recorded


def _managed_labels(extra: dict) -> dict:
    labels = dict(extra)
    labels[MANAGED_BY_LABEL] = MANAGED_BY_VALUE
    return labels


def _managed_meta(name: str, labels: dict) -> dict:
    return {"name": name, "labels": _managed_labels(labels),
            "annotations": {REVISION_ANNOTATION: str(CURRENT_REVISION)}}


def object_revision(obj: Optional[dict]) -> int:
    """The revision an object of ours was rendered at (``UNRECORDED_REVISION`` without the annotation, 0 when
    the annotation is not a positive integer: treated as older than anything)."""
    raw = (_meta(obj).get("annotations") or {}).get(REVISION_ANNOTATION)
    if raw is None:
        return UNRECORDED_REVISION
    try:
        value = int(str(raw).strip())
    except ValueError:
        return 0
    return value if value > 0 else 0


def machine_config(role: str) -> dict:
    """The extension MachineConfig for pool ``role`` (selected by pools whose machineConfigSelector takes
    ``machineconfiguration.openshift.io/role: <role>``). Ignition version is always set: on 4.19+ an MC
    without ``spec.config`` skips render-time extension validation (DOMAIN 1.3)."""
    validate_pool_name(role)
    return {
        "apiVersion": MCO_API_VERSION,
        "kind": MC_KIND,
        "metadata": _managed_meta(MC_NAME, {ROLE_LABEL: role}),
        "spec": {
            "config": {"ignition": {"version": IGNITION_VERSION}},
            "extensions": [EXTENSION],
        },
    }


def custom_pool(name: str = DEFAULT_CUSTOM_POOL) -> dict:
    """A custom MachineConfigPool inheriting the worker MCs (required by the 4.18+ admission policy
    ``custom-machine-config-pool-selector``) and selecting nodes labelled ``node-role.kubernetes.io/<name>``."""
    validate_pool_name(name)
    if name in STANDARD_POOLS:
        raise ValueError("%r is a standard pool; only custom pools can be created" % name)
    return {
        "apiVersion": MCO_API_VERSION,
        "kind": MCP_KIND,
        "metadata": _managed_meta(name, {POOL_LABEL_PREFIX + name: ""}),
        "spec": {
            "machineConfigSelector": {
                "matchExpressions": [{"key": ROLE_LABEL, "operator": "In", "values": [name, WORKER_POOL]}],
            },
            "nodeSelector": {"matchLabels": pool_node_selector(name)},
        },
    }


def runtime_class(node_selector: dict) -> dict:
    """RuntimeClass ``kata`` scheduling pods onto nodes matching ``node_selector`` (a plain label map,
    e.g. ``pool_node_selector("kata-oc")``)."""
    if not isinstance(node_selector, dict) or not node_selector:
        raise ValueError("RuntimeClass nodeSelector must be a non-empty label map, got %r" % (node_selector,))
    for k, v in node_selector.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise ValueError("RuntimeClass nodeSelector entries must be strings, got %r: %r" % (k, v))
    return {
        "apiVersion": RUNTIMECLASS_API_VERSION,
        "kind": RUNTIMECLASS_KIND,
        "metadata": _managed_meta(RUNTIMECLASS_NAME, {}),
        "handler": RUNTIMECLASS_HANDLER,
        "overhead": {"podFixed": {"cpu": OVERHEAD_CPU, "memory": OVERHEAD_MEMORY}},
        "scheduling": {"nodeSelector": dict(node_selector)},
    }


def node_label_patch(pool_name: str, add: bool) -> dict:
    """JSON merge patch adding (``""``) or removing (``null``) ``node-role.kubernetes.io/<pool>`` on a node.
    Refused for master/worker: those role labels belong to the installer, never to us."""
    validate_pool_name(pool_name)
    if pool_name in STANDARD_POOLS:
        raise ValueError("refusing to %s the %s role label; only custom pool labels are managed"
                         % ("add" if add else "remove", pool_name))
    return {"metadata": {"labels": {node_role_label(pool_name): "" if add else None}}}


def _meta(obj: Optional[dict]) -> dict:
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    return meta if isinstance(meta, dict) else {}


def is_ours(obj: Optional[dict]) -> bool:
    """True when the object carries ``app.kubernetes.io/managed-by: kubectl-kata``."""
    labels = _meta(obj).get("labels")
    return isinstance(labels, dict) and labels.get(MANAGED_BY_LABEL) == MANAGED_BY_VALUE


def operator_owner(obj: Optional[dict]) -> Optional[str]:
    """Who in the sandboxed containers operator owns ``obj``, or ``None``.

    Returns ``"KataConfig/<name>"`` for an ownerReference of kind KataConfig or an ``app`` label (OSC sets
    ``app: <KataConfig name>`` on its MachineConfig), and ``"sandboxed-containers-operator"`` for the OSC
    MachineConfig names without our managed-by label. Objects we manage are never operator-owned.
    """
    if not isinstance(obj, dict) or is_ours(obj):
        return None
    meta = _meta(obj)
    for ref in meta.get("ownerReferences") or []:
        if isinstance(ref, dict) and ref.get("kind") == KATACONFIG_KIND:
            return "%s/%s" % (KATACONFIG_KIND, ref.get("name") or "?")
    app = (meta.get("labels") or {}).get("app")
    if app:
        return "%s/%s" % (KATACONFIG_KIND, app)
    if meta.get("name") in OSC_MC_NAMES and obj.get("kind", MC_KIND) == MC_KIND:
        return MANAGER_OPERATOR
    return None


def mc_extensions(mc: Optional[dict]) -> list:
    """``spec.extensions`` of a MachineConfig as a list of strings (read-back may give ``null``)."""
    if not isinstance(mc, dict) or not isinstance(mc.get("spec"), dict):
        return []
    ext = mc["spec"].get("extensions") or []
    return [e for e in ext if isinstance(e, str)] if isinstance(ext, list) else []


def mc_role(mc: Optional[dict]) -> Optional[str]:
    return (_meta(mc).get("labels") or {}).get(ROLE_LABEL)

