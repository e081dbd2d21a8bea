"""One classification of how sandboxed containers are installed on a cluster, from facts gathered once.

Used by ``upgrade`` (what to migrate), ``status`` (what to show), ``enable``/``disable`` (what to refuse).
The kinds (DOMAIN 2.6 and 5; issue 11):

``operator``
    The sandboxed containers operator (OSC) is at work: a KataConfig instance exists (one that is not the
    legacy operator's), or the operator runs -- its namespace ``openshift-sandboxed-containers-operator``
    holds a Subscription or a ClusterServiceVersion -- or a MachineConfig carries an OSC owner. Never touched.
``legacy``
    The OCP 4.6/4.7 RPM-payload install ("kata-operator"): MachineConfig ``50-kata-crio-dropin``, namespaces
    ``kata-operator*``, a ``v1alpha1`` KataConfig, the payload DaemonSets ``kata-operator-daemon-*``; on
    nodes (when probed) layered ``kata-runtime``/``kata-osbuilder`` and the payload files.
``plugin``
    Objects carrying ``app.kubernetes.io/managed-by: kubectl-kata``; ``revision`` is the oldest
    ``kubectl-kata.io/revision`` among them (an object without it predates revisions: revision 1).
``operator-leftovers``
    Only what OLM leaves behind after the operator was uninstalled: the KataConfig CRD (OLM never deletes
    CRDs), or an empty operator namespace. Not an operator at work: tools warn and go on.
``none``
    Nothing of the above.

Precedence when several apply: operator > legacy > plugin > operator-leftovers > none. A cluster with both
legacy objects and ours is a migration in progress (kind ``legacy``, ``revision`` still reported); leftovers
are always listed in ``leftovers`` whatever the kind.

``facts`` keys (all optional; the ones :mod:`kubectl_kata.core.preflight` documents plus):

====================  ============================================================================
namespaces            [Namespace] (or names): every namespace, one list call
daemonsets            [DaemonSet] from the ``kata-operator*`` namespaces
kataconfig_versions   [str]: versions of ``kataconfiguration.openshift.io`` the API serves
legacy_kataconfigs    [KataConfig] read through ``v1alpha1``
osc_subscriptions     [Subscription] in the operator namespace
osc_csvs              [ClusterServiceVersion] in the operator namespace
node_leftovers        {node: [leftover id]} from the host inspection (:data:`HOST_LEFTOVERS`)
====================  ============================================================================
"""
from __future__ import annotations

from typing import Dict, List, NamedTuple, Optional

from .constants import (KATACONFIG_CRD, KATACONFIG_KIND, MC_NAME, OSC_IMAGE_MC_NAME, OSC_NAMESPACE,
                        RUNTIMECLASS_NAME)
from .objects import CURRENT_REVISION, is_ours, object_revision, operator_owner

KIND_OPERATOR = "operator"
KIND_LEGACY = "legacy"
KIND_PLUGIN = "plugin"
KIND_LEFTOVERS = "operator-leftovers"
KIND_NONE = "none"
KINDS = (KIND_OPERATOR, KIND_LEGACY, KIND_PLUGIN, KIND_LEFTOVERS, KIND_NONE)

LABELS = {
    KIND_OPERATOR: "managed by the sandboxed containers operator",
    KIND_LEGACY: "legacy RPM-payload install (kata-operator, OCP 4.6/4.7)",
    KIND_PLUGIN: "managed by kubectl-kata",
    KIND_LEFTOVERS: "operator left-overs only (no operator at work)",
    KIND_NONE: "not installed",
}

# --- legacy names (DOMAIN 5; OSC release-4.6/4.7) ------------------------------------------------
LEGACY_MC_NAME = "50-kata-crio-dropin"
LEGACY_NAMESPACE_PREFIX = "kata-operator"           # kata-operator (4.6), kata-operator-system (4.7)
LEGACY_DAEMONSET_PREFIX = "kata-operator-daemon-"   # -install / -uninstall / -upgrade
LEGACY_API_VERSION = "v1alpha1"
LEGACY_RUNTIMECLASS_NAMES = (RUNTIMECLASS_NAME, "kata-oc")   # 4.7 "kata"; 4.6 "kata-oc" (handler kata-oc)

# Host leftovers an MCO rollout does not clean (DOMAIN 5): id -> (what, remove command run via chroot /host).
HOST_LEFTOVERS = {
    "packages.repo": ("/etc/yum.repos.d/packages.repo", "rm -f /etc/yum.repos.d/packages.repo"),
    "opt-kata-install": ("/opt/kata-install", "rm -rf /opt/kata-install"),
    "usr-local-kata": ("/usr/local/kata", "rm -rf /usr/local/kata"),
    "crio-50-kata.conf": ("/etc/crio/crio.conf.d/50-kata.conf", "rm -f /etc/crio/crio.conf.d/50-kata.conf"),
    "osbuilder-unit": ("/etc/systemd/system/kata-osbuilder-generate.service",
                       "rm -f /etc/systemd/system/kata-osbuilder-generate.service && systemctl daemon-reload"),
    "layered-kata-runtime": ("layered packages kata-runtime/kata-osbuilder",
                             "rpm-ostree uninstall --idempotent kata-runtime kata-osbuilder"),
}


LEGACY_PACKAGES = ("kata-runtime", "kata-osbuilder")
_LEFTOVER_PATHS = ("packages.repo", "opt-kata-install", "usr-local-kata", "crio-50-kata.conf", "osbuilder-unit")


def leftovers_of_node(node_facts) -> List[str]:
    """Leftover ids (:data:`HOST_LEFTOVERS`) seen in one node's probed facts (core.nodefacts.NodeFacts): the
    payload files present, and the legacy packages layered in the booted deployment."""
    found = []
    if node_facts is None:
        return found
    for key in _LEFTOVER_PATHS:
        path = HOST_LEFTOVERS[key][0]
        if node_facts.path_present(path) is True or (key == "crio-50-kata.conf"
                                                      and node_facts.crio_dropin_legacy is not None):
            found.append(key)
    rs = node_facts.rpm_ostree
    booted = rs.booted if rs is not None else None
    if booted is not None and any(p in LEGACY_PACKAGES for p in booted.requested_packages):
        found.append("layered-kata-runtime")
    return found


def cleanup_commands(node: str, leftovers: List[str], prog: str = "oc") -> List[str]:
    """The exact commands that remove ``leftovers`` from ``node``. Files go with one ``oc debug`` command;
    layered packages need a drained node and a reboot (an rpm-ostree change only takes effect then)."""
    out = []
    files = [HOST_LEFTOVERS[k][1] for k in leftovers if k != "layered-kata-runtime"]
    if files:
        out.append("%s debug node/%s -- chroot /host sh -c '%s'" % (prog, node, " && ".join(files)))
    if "layered-kata-runtime" in leftovers:
        out.extend([
            "%s adm drain %s --ignore-daemonsets --delete-emptydir-data" % (prog, node),
            "%s debug node/%s -- chroot /host rpm-ostree uninstall --idempotent %s"
            % (prog, node, " ".join(LEGACY_PACKAGES)),
            "%s debug node/%s -- chroot /host systemctl reboot" % (prog, node),
            "%s adm uncordon %s" % (prog, node),
        ])
    return out


def file_cleanup_script(leftovers: List[str]) -> Optional[str]:
    """The shell command ``--clean-nodes`` runs on a node (files only; never packages, never a reboot)."""
    files = [HOST_LEFTOVERS[k][1] for k in leftovers if k != "layered-kata-runtime"]
    return " && ".join(files) if files else None


class ObjectRef(NamedTuple):
    kind: str
    name: str
    namespace: Optional[str] = None
    api_version: Optional[str] = None

    def __str__(self) -> str:
        where = "%s/%s" % (self.namespace, self.name) if self.namespace else self.name
        return "%s %s" % (self.kind, where)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "name": self.name, "namespace": self.namespace, "apiVersion": self.api_version}


class InstallKind(NamedTuple):
    kind: str
    revision: Optional[int]          # oldest revision among our objects; None without any
    current: Optional[bool]          # revision == CURRENT_REVISION; None without our objects
    evidence: List[str]              # human-readable, why this kind
    legacy_objects: List[ObjectRef]  # cluster objects attributable to the legacy install
    ours: List[ObjectRef]            # objects carrying our managed-by label
    leftovers: List[str]             # operator left-overs seen (whatever the kind)

    @property
    def label(self) -> str:
        return LABELS[self.kind]

    def to_dict(self) -> dict:
        return {"kind": self.kind, "revision": self.revision, "currentRevision": CURRENT_REVISION,
                "current": self.current, "evidence": list(self.evidence),
                "legacyObjects": [r.to_dict() for r in self.legacy_objects],
                "leftovers": list(self.leftovers)}


# --- accessors -----------------------------------------------------------------------------------

def _meta(obj) -> dict:
    m = obj.get("metadata") if isinstance(obj, dict) else None
    return m if isinstance(m, dict) else {}


def _name(obj) -> str:
    if isinstance(obj, str):
        return obj
    return _meta(obj).get("name") or ""


def _list(facts: dict, key: str) -> list:
    v = (facts or {}).get(key) or []
    return [o for o in v if isinstance(o, (dict, str))] if isinstance(v, list) else []


def _terminating(obj) -> bool:
    return bool(_meta(obj).get("deletionTimestamp"))


def is_legacy_namespace(name: str) -> bool:
    return name == LEGACY_NAMESPACE_PREFIX or name.startswith(LEGACY_NAMESPACE_PREFIX + "-")


def _kataconfig_names(facts: dict) -> List[str]:
    return sorted(_name(k) for k in _list(facts, "kataconfigs") if isinstance(k, dict))


def _legacy_namespaces(facts: dict) -> List[dict]:
    out = []
    for ns in _list(facts, "namespaces"):
        name = _name(ns)
        if is_legacy_namespace(name):
            out.append(ns if isinstance(ns, dict) else {"metadata": {"name": name}})
    return sorted(out, key=_name)


def _legacy_kataconfig_owned(obj, legacy_kc_names: set) -> bool:
    """An ownerReference or ``app`` label naming a KataConfig of the legacy install."""
    meta = _meta(obj)
    for ref in meta.get("ownerReferences") or []:
        if isinstance(ref, dict) and ref.get("kind") == KATACONFIG_KIND and ref.get("name") in legacy_kc_names:
            return True
    app = (meta.get("labels") or {}).get("app")
    return bool(app) and app in legacy_kc_names


def _orphan_kataconfig_owned(obj, existing_kc: set) -> bool:
    """Owned by a KataConfig that no longer exists (the legacy KataConfig deleted mid-migration)."""
    refs = [r for r in (_meta(obj).get("ownerReferences") or [])
            if isinstance(r, dict) and r.get("kind") == KATACONFIG_KIND]
    return bool(refs) and all(r.get("name") not in existing_kc for r in refs)


def classify(facts: dict) -> InstallKind:
    """The install kind (module docstring) of the cluster described by ``facts``."""
    facts = facts if isinstance(facts, dict) else {}
    evidence = {k: [] for k in KINDS}  # type: Dict[str, List[str]]
    legacy_objs = []  # type: List[ObjectRef]
    leftovers = []  # type: List[str]

    legacy_ns = [ns for ns in _legacy_namespaces(facts)]
    live_legacy_ns = [ns for ns in legacy_ns if not _terminating(ns)]
    osc_ns = bool(facts.get("osc_namespace"))
    subs = [s for s in _list(facts, "osc_subscriptions") if isinstance(s, dict)]
    csvs = [c for c in _list(facts, "osc_csvs") if isinstance(c, dict)]
    versions = [v for v in _list(facts, "kataconfig_versions") if isinstance(v, str)]
    alpha_kcs = [k for k in _list(facts, "legacy_kataconfigs") if isinstance(k, dict)]
    v1_kcs = [k for k in _list(facts, "kataconfigs") if isinstance(k, dict)]
    operator_runs = osc_ns and bool(subs or csvs)

    # KataConfigs: v1alpha1 ones are legacy; v1 ones are legacy only on a 4.7 legacy install (kata-operator-system
    # namespace, no operator running), else the operator's.
    legacy_kc = {_name(k) for k in alpha_kcs}
    for k in alpha_kcs:
        legacy_objs.append(ObjectRef(KATACONFIG_KIND, _name(k), None, "kataconfiguration.openshift.io/v1alpha1"))
        evidence[KIND_LEGACY].append("KataConfig %s (%s)" % (_name(k), LEGACY_API_VERSION))
    for k in v1_kcs:
        if _name(k) in legacy_kc:
            continue   # the same object read through both versions
        if live_legacy_ns and not operator_runs:
            legacy_kc.add(_name(k))
            legacy_objs.append(ObjectRef(KATACONFIG_KIND, _name(k), None, "kataconfiguration.openshift.io/v1"))
            evidence[KIND_LEGACY].append("KataConfig %s beside namespace %s" % (_name(k), _name(live_legacy_ns[0])))
        else:
            evidence[KIND_OPERATOR].append("KataConfig %s" % _name(k))
    if operator_runs:
        evidence[KIND_OPERATOR].append("namespace %s with %s" % (
            OSC_NAMESPACE, ", ".join(["Subscription %s" % _name(s) for s in subs]
                                     + ["ClusterServiceVersion %s" % _name(c) for c in csvs])))
    existing_kc = legacy_kc | {_name(k) for k in v1_kcs}
    supporting = []  # operator evidence that does not make an operator on its own
    if osc_ns and not operator_runs:
        supporting.append("namespace %s" % OSC_NAMESPACE)

    # MachineConfigs
    ours = []  # type: List[ObjectRef]
    revisions = []  # type: List[int]
    for mc in _list(facts, "mcs"):
        if not isinstance(mc, dict):
            continue
        name = _name(mc)
        if is_ours(mc):
            ours.append(ObjectRef("MachineConfig", name))
            revisions.append(object_revision(mc))
            continue
        if name == LEGACY_MC_NAME:
            legacy_objs.append(ObjectRef("MachineConfig", name))
            evidence[KIND_LEGACY].append("MachineConfig %s" % name)
            continue
        if _legacy_kataconfig_owned(mc, legacy_kc):
            continue   # some other MC the legacy KataConfig labelled: not ours to judge, not the operator's
        owner = operator_owner(mc)
        if owner and (name in (MC_NAME, OSC_IMAGE_MC_NAME) or owner.startswith(KATACONFIG_KIND + "/")):
            evidence[KIND_OPERATOR].append("MachineConfig %s (owned by %s)" % (name, owner))

    for pool in _list(facts, "pools"):
        if isinstance(pool, dict) and is_ours(pool):
            ours.append(ObjectRef("MachineConfigPool", _name(pool)))
            revisions.append(object_revision(pool))

    for rc in _list(facts, "runtimeclasses"):
        if not isinstance(rc, dict):
            continue
        name = _name(rc)
        if is_ours(rc):
            if name == RUNTIMECLASS_NAME:
                ours.append(ObjectRef("RuntimeClass", name))
                revisions.append(object_revision(rc))
            continue
        if name not in LEGACY_RUNTIMECLASS_NAMES:
            continue
        if _legacy_kataconfig_owned(rc, legacy_kc) or (
                _orphan_kataconfig_owned(rc, existing_kc) and (live_legacy_ns or evidence[KIND_LEGACY])):
            legacy_objs.append(ObjectRef("RuntimeClass", name))
            evidence[KIND_LEGACY].append("RuntimeClass %s (owned by the legacy KataConfig)" % name)
        elif operator_owner(rc) and not _orphan_kataconfig_owned(rc, existing_kc):
            evidence[KIND_OPERATOR].append("RuntimeClass %s (owned by %s)" % (name, operator_owner(rc)))

    for ns in legacy_ns:
        if _terminating(ns):
            evidence[KIND_LEGACY].append("namespace %s (terminating)" % _name(ns))
            continue
        legacy_objs.append(ObjectRef("Namespace", _name(ns)))
        evidence[KIND_LEGACY].append("namespace %s" % _name(ns))
    for ds in _list(facts, "daemonsets"):
        if isinstance(ds, dict) and _name(ds).startswith(LEGACY_DAEMONSET_PREFIX) \
                and is_legacy_namespace(_meta(ds).get("namespace") or ""):
            evidence[KIND_LEGACY].append("DaemonSet %s/%s" % (_meta(ds).get("namespace"), _name(ds)))
    nl = facts.get("node_leftovers") or {}
    if isinstance(nl, dict):
        for node in sorted(nl):
            items = [i for i in (nl[node] or []) if i in HOST_LEFTOVERS]
            if items:
                evidence[KIND_LEGACY].append("node %s: %s" % (node, ", ".join(HOST_LEFTOVERS[i][0] for i in items)))

    # Left-overs of an uninstalled operator (noted whatever the kind).
    crd = bool(facts.get("kataconfig_crd")) or bool(versions)
    if crd and not v1_kcs and not alpha_kcs:
        leftovers.append("CRD %s" % KATACONFIG_CRD)
    if osc_ns and not operator_runs:
        leftovers.append("namespace %s (no Subscription or ClusterServiceVersion)" % OSC_NAMESPACE)
    if LEGACY_API_VERSION in versions and not alpha_kcs and live_legacy_ns:
        evidence[KIND_LEGACY].append("KataConfig CRD serves %s" % LEGACY_API_VERSION)

    revision = min(revisions) if revisions else None
    current = (revision == CURRENT_REVISION) if revision is not None else None
    if evidence[KIND_OPERATOR]:
        kind = KIND_OPERATOR
        evidence[KIND_OPERATOR].extend(supporting)
    elif legacy_objs or any(not e.endswith("(terminating)") for e in evidence[KIND_LEGACY]):
        kind = KIND_LEGACY
    elif ours:
        kind = KIND_PLUGIN
        evidence[KIND_PLUGIN] = ["%s (revision %d)" % (r, v) for r, v in zip(ours, revisions)]
    elif leftovers:
        kind = KIND_LEFTOVERS
    else:
        kind = KIND_NONE
    ev = evidence[kind] if kind != KIND_LEFTOVERS else list(leftovers)
    return InstallKind(kind, revision, current, ev, legacy_objs if kind == KIND_LEGACY else [], ours, leftovers)


__all__ = ["leftovers_of_node", "cleanup_commands", "file_cleanup_script", "LEGACY_PACKAGES", "classify", "InstallKind", "ObjectRef", "KINDS", "KIND_OPERATOR", "KIND_LEGACY", "KIND_PLUGIN",
           "KIND_LEFTOVERS", "KIND_NONE", "HOST_LEFTOVERS", "LEGACY_MC_NAME", "is_legacy_namespace"]
