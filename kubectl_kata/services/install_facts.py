"""The facts core.installkind needs beyond services.cluster_facts.gather, read once (list calls only).

Adds: ``namespaces`` (one list), ``kataconfig_versions`` and ``legacy_kataconfigs`` (the v1alpha1 API of the
legacy 4.6 operator, when served), ``daemonsets`` (only in ``kata-operator*`` namespaces that exist),
``osc_subscriptions`` / ``osc_csvs`` (only when the operator namespace exists). A group the cluster does not
serve (404) or a list we may not read (403) counts as empty: the classification then relies on the rest.
"""
from __future__ import annotations

from typing import Any, Dict

from ..core.constants import OSC_NAMESPACE
from ..core.installkind import is_legacy_namespace
from ..errors import ClusterError
from ..kube.resources import KATA_GROUP, LEGACY_KATACONFIG

__all__ = ["add_install_facts"]


def _items(cluster, kind: str, **kw) -> list:
    try:
        return cluster.items(kind, **kw)
    except ClusterError as exc:
        if exc.code in (403, 404):
            return []
        raise


def add_install_facts(cluster, facts: Dict[str, Any]) -> Dict[str, Any]:
    facts["namespaces"] = _items(cluster, "Namespace")
    versions = []
    if facts.get("kataconfig_crd"):
        versions.append("v1")
    alpha = cluster.served(KATA_GROUP, "v1alpha1")
    if alpha:
        versions.append("v1alpha1")
    facts["kataconfig_versions"] = versions
    facts["legacy_kataconfigs"] = _items(cluster, LEGACY_KATACONFIG) if alpha else []
    for kc in facts["legacy_kataconfigs"]:
        kc.setdefault("apiVersion", KATA_GROUP + "/v1alpha1")
        kc["kind"] = "KataConfig"
    names = [((ns.get("metadata") or {}).get("name") or "") for ns in facts["namespaces"]]
    facts["daemonsets"] = []
    for name in names:
        if is_legacy_namespace(name):
            facts["daemonsets"].extend(_items(cluster, "DaemonSet", namespace=name))
    osc = OSC_NAMESPACE in names
    facts["osc_namespace"] = facts.get("osc_namespace") or osc
    facts["osc_subscriptions"] = _items(cluster, "Subscription", namespace=OSC_NAMESPACE) if osc else []
    facts["osc_csvs"] = _items(cluster, "ClusterServiceVersion", namespace=OSC_NAMESPACE) if osc else []
    return facts
