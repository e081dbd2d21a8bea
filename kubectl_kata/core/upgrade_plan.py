"""The plan of ``kubectl kata upgrade``: pure, from the facts gathered once (core.installkind lists the keys).

A plan is an ordered list of actions (create / change / delete one object), each in a stage: ``before-rollout``
(run first, in order) or ``after-rollout`` (run once the pool has rolled out, as ``enable`` creates the
RuntimeClass only then). The plan is recomputed from the cluster on every run, so whatever a previous,
interrupted run already did is simply not in it any more: a re-run finishes the job.

Per install kind:

- ``operator``: refused (exit 4, as ``enable``); nothing of the operator's is touched.
- ``legacy`` (OCP 4.6/4.7 kata-operator), in this order: adopt a legacy RuntimeClass ``kata`` (labels, revision,
  overhead and nodeSelector re-rendered, the owner reference to the legacy KataConfig dropped so deleting that
  KataConfig does not garbage-collect it); delete the 4.6 RuntimeClass ``kata-oc`` (its handler disappears with
  the legacy CRI-O drop-in); delete the ``kata-operator*`` namespaces (the legacy operator, payload DaemonSets,
  ConfigMap and Secret go with them); delete the legacy KataConfig and then remove its finalizer (its controller,
  the legacy operator, is going away; a deleted object takes no new finalizer, so it cannot re-add one); create the
  extension MachineConfig for the legacy MachineConfig's pool *before* deleting ``50-kata-crio-dropin`` (so an
  interruption between the two still leaves a recognisable legacy install); follow the rollout; create
  RuntimeClass ``kata``.
- ``plugin``: every object of ours whose managed fields differ from what this plugin renders is changed (a merge
  patch of exactly those fields); a missing RuntimeClass (an ``enable`` interrupted during its rollout) is
  created after the rollout. At the current revision with nothing differing: nothing to do.
- ``operator-leftovers`` / ``none``: nothing to do.

Only objects the classification attributes to the legacy install or to the plugin appear in a plan.
"""
from __future__ import annotations

import copy
import difflib
from typing import List, NamedTuple, Optional

import yaml

from . import installkind
from .constants import (DEFAULT_CUSTOM_POOL, MC_NAME, RUNTIMECLASS_NAME, WORKER_POOL, pool_node_selector)
from .installkind import InstallKind, ObjectRef
from .objects import CURRENT_REVISION, custom_pool, is_ours, machine_config, mc_role, runtime_class
from .preflight import ERROR, WARNING, Problem

CREATE, CHANGE, DELETE = "create", "change", "delete"
BEFORE, AFTER = "before-rollout", "after-rollout"
API_VERSION = "kata.kubectl.io/v1"
KIND = "UpgradePlan"

# Maps replaced as a whole (a merge patch nulls the keys that are not wanted any more).
_ATOMIC = {("scheduling", "nodeSelector"), ("overhead", "podFixed"), ("spec", "nodeSelector"),
           ("spec", "machineConfigSelector"), ("spec", "extensions")}
_RERENDER = "re-render as this plugin renders it (revision %d)" % CURRENT_REVISION
_NOISE = ("uid", "resourceVersion", "generation", "creationTimestamp", "managedFields", "selfLink")


class Action(NamedTuple):
    op: str
    ref: ObjectRef
    stage: str
    why: str
    before: Optional[dict]     # the live object (delete), or the fields we manage of it (change); None for create
    after: Optional[dict]      # what we render; None for delete
    patch: Optional[dict] = None            # JSON merge patch (change)
    strip_finalizers: bool = False          # delete: then remove the finalizers (their controller is gone)
    uid: Optional[str] = None               # delete precondition

    def describe(self) -> str:
        return "%s %s" % (self.op, self.ref)

    def to_dict(self) -> dict:
        d = {"op": self.op, "object": self.ref.to_dict(), "stage": self.stage, "why": self.why}
        if self.patch is not None:
            d["patch"] = self.patch
        if self.strip_finalizers:
            d["removeFinalizers"] = True
        return d


class UpgradePlan(NamedTuple):
    install: InstallKind
    pool: Optional[str]
    actions: List[Action]
    follow: bool               # a rollout of ``pool`` is to be followed between the stages
    notes: List[str]
    refusal: Optional[Problem]

    @property
    def nothing_to_do(self) -> bool:
        return self.refusal is None and not self.actions

    def stage(self, stage: str) -> List[Action]:
        return [a for a in self.actions if a.stage == stage]

    def to_dict(self, with_diff: bool = False) -> dict:
        d = {"apiVersion": API_VERSION, "kind": KIND, "install": self.install.to_dict(), "pool": self.pool,
             "nothingToDo": self.nothing_to_do, "followRollout": self.follow,
             "actions": [a.to_dict() for a in self.actions], "notes": list(self.notes),
             "refusal": self.refusal.to_dict() if self.refusal else None}
        if with_diff:
            d["diff"] = plan_diff(self)
        return d


# --- object helpers ---------------------------------------------------------------------------------

def _meta(obj) -> dict:
    m = obj.get("metadata") if isinstance(obj, dict) else None
    return m if isinstance(m, dict) else {}


def _find(facts: dict, key: str, name: str, namespace: Optional[str] = None) -> Optional[dict]:
    for o in (facts or {}).get(key) or []:
        if isinstance(o, dict) and _meta(o).get("name") == name and (
                namespace is None or _meta(o).get("namespace") == namespace):
            return o
    return None


def clean(obj: Optional[dict]) -> Optional[dict]:
    """The object as a user would write it: no status, no server bookkeeping in metadata."""
    if not isinstance(obj, dict):
        return None
    out = copy.deepcopy(obj)
    out.pop("status", None)
    md = out.get("metadata")
    if isinstance(md, dict):
        for k in _NOISE:
            md.pop(k, None)
        ann = md.get("annotations")
        if isinstance(ann, dict):
            ann.pop("kubectl.kubernetes.io/last-applied-configuration", None)
            if not ann:
                md.pop("annotations")
    return out


def project(live, desired, path: tuple = ()):
    """The part of ``live`` that ``desired`` manages: keys of ``desired`` only (labels and annotations we do
    not set stay out of view and untouched), whole values on atomic paths."""
    if isinstance(desired, dict) and isinstance(live, dict) and path not in _ATOMIC:
        return {k: project(live[k], v, path + (k,)) for k, v in desired.items() if k in live}
    return copy.deepcopy(live)


def merge_patch(before, after):
    """JSON merge patch (RFC 7386) turning ``before`` into ``after``."""
    if not isinstance(before, dict) or not isinstance(after, dict):
        return copy.deepcopy(after)
    patch = {}
    for k in before:
        if k not in after:
            patch[k] = None
    for k, v in after.items():
        if k not in before:
            patch[k] = copy.deepcopy(v)
        elif before[k] != v:
            patch[k] = merge_patch(before[k], v)
    return patch


def _change(ref: ObjectRef, live: dict, desired: dict, why: str, stage: str = BEFORE,
            drop: tuple = ()) -> Optional[Action]:
    before = project(live, desired)
    for key in drop:   # metadata keys to remove (e.g. a legacy ownerReference)
        if key in _meta(live):
            before.setdefault("metadata", {})[key] = copy.deepcopy(_meta(live)[key])
    if before == desired:
        return None
    return Action(CHANGE, ref, stage, why, before, copy.deepcopy(desired), merge_patch(before, desired))


def _delete(ref: ObjectRef, live: Optional[dict], why: str, strip: bool = False) -> Action:
    fins = bool(_meta(live).get("finalizers")) and strip
    return Action(DELETE, ref, BEFORE, why, clean(live), None, None, fins, _meta(live).get("uid"))


def _create(obj: dict, why: str, stage: str) -> Action:
    ref = ObjectRef(obj["kind"], obj["metadata"]["name"], obj["metadata"].get("namespace"), obj["apiVersion"])
    return Action(CREATE, ref, stage, why, None, copy.deepcopy(obj))


# --- planning ----------------------------------------------------------------------------------------

def _legacy_pool(facts: dict, ours_mc: Optional[dict]) -> Optional[str]:
    if ours_mc is not None:
        return mc_role(ours_mc)
    dropin = _find(facts, "mcs", installkind.LEGACY_MC_NAME)
    if dropin is not None:
        return mc_role(dropin) or WORKER_POOL
    return None


def _runtimeclass_actions(facts: dict, pool: str, legacy_refs: set, kind: InstallKind) -> List[Action]:
    out = []
    desired = runtime_class(pool_node_selector(pool))
    rc = _find(facts, "runtimeclasses", RUNTIMECLASS_NAME)
    ref = ObjectRef("RuntimeClass", RUNTIMECLASS_NAME, None, desired["apiVersion"])
    if rc is None:
        out.append(_create(desired, "RuntimeClass for the kata nodes, created once the pool has rolled out",
                           AFTER))
    elif ("RuntimeClass", RUNTIMECLASS_NAME) in legacy_refs:
        if rc.get("handler") == desired["handler"]:
            a = _change(ref, rc, desired, "adopt the legacy RuntimeClass: overhead and nodeSelector as the "
                        "extension install renders them, owner reference to the legacy KataConfig dropped so "
                        "deleting that KataConfig does not garbage-collect it", drop=("ownerReferences",))
            if a:
                out.append(a)
        else:   # handler is immutable
            out.append(_delete(ref, rc, "legacy RuntimeClass with handler %r; recreated after the rollout"
                               % rc.get("handler")))
            out.append(_create(desired, "RuntimeClass for the kata nodes, created once the pool has rolled out",
                               AFTER))
    elif is_ours(rc):
        a = _change(ref, rc, desired, _RERENDER)
        if a:
            out.append(a)
    return out


def plan_upgrade(facts: dict) -> UpgradePlan:
    facts = facts if isinstance(facts, dict) else {}
    kind = installkind.classify(facts)
    notes = []  # type: List[str]
    if not facts.get("openshift"):
        return UpgradePlan(kind, None, [], False, notes, Problem(
            "not-openshift", "the MachineConfig API (machineconfiguration.openshift.io) is not served: this is not "
            "an OpenShift cluster", "check the current context (`kubectl config current-context`)"))
    if kind.kind == installkind.KIND_OPERATOR:
        return UpgradePlan(kind, None, [], False, notes, Problem(
            "operator-present", "the sandboxed containers operator manages kata here (found: %s); upgrade touches "
            "nothing of the operator's" % ", ".join(kind.evidence),
            "upgrade kata through the operator (OLM Subscription / `oc get kataconfig`); kubectl kata will not "
            "modify operator-managed objects"))
    if kind.leftovers:
        notes.append("left-overs of an uninstalled sandboxed containers operator (%s) are not touched"
                     % ", ".join(kind.leftovers))
    if kind.kind in (installkind.KIND_NONE, installkind.KIND_LEFTOVERS):
        notes.append("kata is not installed here; `kubectl kata enable` installs it")
        return UpgradePlan(kind, None, [], False, notes, None)

    ours_mc = _find(facts, "mcs", MC_NAME)
    ours_mc = ours_mc if ours_mc is not None and is_ours(ours_mc) else None
    actions = []  # type: List[Action]
    follow = False

    if kind.kind == installkind.KIND_LEGACY:
        legacy_refs = {(r.kind, r.name) for r in kind.legacy_objects}
        pool = _legacy_pool(facts, ours_mc)
        by_kind = {}
        for r in kind.legacy_objects:
            by_kind.setdefault(r.kind, []).append(r)
        if pool is not None:
            actions.extend(a for a in _runtimeclass_actions(facts, pool, legacy_refs, kind) if a.stage == BEFORE
                           and a.op == CHANGE)
        for r in by_kind.get("RuntimeClass", []):
            live = _find(facts, "runtimeclasses", r.name)
            if r.name != RUNTIMECLASS_NAME:
                actions.append(_delete(r, live, "RuntimeClass of the legacy install (handler %r goes away with "
                                       "the legacy CRI-O drop-in); pods must use RuntimeClass %s"
                                       % ((live or {}).get("handler"), RUNTIMECLASS_NAME)))
            elif pool is not None and (live or {}).get("handler") != RUNTIMECLASS_NAME:
                actions.extend(a for a in _runtimeclass_actions(facts, pool, legacy_refs, kind) if a.op == DELETE)
        for r in by_kind.get("Namespace", []):
            actions.append(_delete(r, _find(facts, "namespaces", r.name),
                                   "namespace of the legacy kata-operator: its operator, payload DaemonSets, "
                                   "payload-config ConfigMap and payload-secret Secret go with it"))
        for r in by_kind.get("KataConfig", []):
            live = _find(facts, "legacy_kataconfigs", r.name) or _find(facts, "kataconfigs", r.name)
            actions.append(_delete(r, live, "KataConfig of the legacy kata-operator (%s)" % (r.api_version or "?"),
                                   strip=True))
        if pool is not None:
            desired = machine_config(pool)
            if ours_mc is None:
                actions.append(_create(desired, "the sandboxed-containers extension for pool %s, where the legacy "
                                       "install ran" % pool, BEFORE))
            else:
                a = _change(ObjectRef("MachineConfig", MC_NAME, None, desired["apiVersion"]), ours_mc, desired,
                            _RERENDER)
                if a:
                    actions.append(a)
            follow = True
        for r in by_kind.get("MachineConfig", []):
            actions.append(_delete(r, _find(facts, "mcs", r.name),
                                   "legacy CRI-O drop-in /etc/crio/crio.conf.d/50-kata.conf and the kata-osbuilder "
                                   "unit; the MCO removes both files from the nodes in the same rollout"))
        if pool is not None:
            actions.extend(a for a in _runtimeclass_actions(facts, pool, legacy_refs, kind) if a.stage == AFTER)
        else:
            notes.append("no MachineConfig of the legacy install is left, so no pool to migrate: only its remaining "
                         "objects are removed; `kubectl kata enable` turns kata on afterwards")
        notes.append("nodes of a legacy install may still carry its payload (layered kata-runtime/kata-osbuilder, "
                     "/opt/kata-install, /usr/local/kata, /etc/yum.repos.d/packages.repo): an MCO rollout does not "
                     "remove them, and kata-containers conflicts with the layered kata-runtime/kata-osbuilder, so "
                     "the extension cannot be layered on a node that still has them; upgrade looks for them on "
                     "the nodes first (unless --no-inspect-nodes) and lists them per node with the commands that "
                     "remove them")
        kata_pods = facts.get("kata_pods")
        if isinstance(kata_pods, list) and kata_pods:
            notes.append("%d pod(s) use a kata RuntimeClass; they restart on the new runtime as their nodes reboot"
                         % len(kata_pods))
        return UpgradePlan(kind, pool, actions, follow, notes, None)

    # plugin-managed
    pool = mc_role(ours_mc) if ours_mc is not None else None
    for p in (facts.get("pools") or []):
        if isinstance(p, dict) and is_ours(p):
            desired = custom_pool(_meta(p).get("name"))
            a = _change(ObjectRef("MachineConfigPool", _meta(p).get("name"), None, desired["apiVersion"]), p,
                        desired, _RERENDER)
            if a:
                actions.append(a)
            if pool is None:
                pool = _meta(p).get("name")
    if ours_mc is not None:
        desired = machine_config(pool)
        a = _change(ObjectRef("MachineConfig", MC_NAME, None, desired["apiVersion"]), ours_mc, desired,
                    _RERENDER)
        if a:
            actions.append(a)
            follow = follow or (a.patch or {}).get("spec") is not None
    if pool is None:
        pool = DEFAULT_CUSTOM_POOL
    rc_actions = []
    if ours_mc is not None:
        rc_actions = _runtimeclass_actions(facts, pool, set(), kind)
    else:
        rc = _find(facts, "runtimeclasses", RUNTIMECLASS_NAME)
        if rc is not None and is_ours(rc):
            notes.append("MachineConfig %s is gone (kata disabled?) while other objects of ours remain; "
                         "`kubectl kata disable` removes them, `kubectl kata enable` turns kata back on" % MC_NAME)
    actions.extend(rc_actions)
    if any(a.stage == AFTER for a in actions):
        follow = True
    return UpgradePlan(kind, pool if (actions or ours_mc is not None) else None, actions, follow, notes, None)


# --- output ------------------------------------------------------------------------------------------

def _yaml_lines(obj: Optional[dict]) -> List[str]:
    if obj is None:
        return []
    return yaml.safe_dump(obj, default_flow_style=False, sort_keys=False).splitlines(keepends=True)


def action_diff(action: Action) -> str:
    """A unified diff of one action (git style: /dev/null for a created or deleted object)."""
    ref = action.ref
    path = "%s/%s%s" % (ref.kind.lower(), (ref.namespace + "/") if ref.namespace else "", ref.name)
    before = action.before
    a_name = "/dev/null" if action.op == CREATE else "a/" + path
    b_name = "/dev/null" if action.op == DELETE else "b/" + path
    lines = list(difflib.unified_diff(_yaml_lines(before), _yaml_lines(action.after), a_name, b_name))
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def plan_diff(plan: UpgradePlan) -> str:
    return "".join(action_diff(a) for a in plan.actions)


def plan_lines(plan: UpgradePlan) -> List[str]:
    """The plan as text lines (without the diff)."""
    k = plan.install
    head = "Install: %s" % k.label
    if k.revision is not None:
        head += " (revision %d, this plugin renders %d)" % (k.revision, installkind.CURRENT_REVISION)
    lines = [head]
    if k.evidence:
        lines.append("  found: %s" % ", ".join(k.evidence))
    if plan.refusal is not None:
        return lines
    if plan.nothing_to_do:
        lines.append("Nothing to do.")
    else:
        lines.append("Plan%s:" % (" (pool %s)" % plan.pool if plan.pool else ""))
        n = 0
        for stage in (BEFORE, AFTER):
            acts = plan.stage(stage)
            if not acts:
                continue
            if stage == AFTER:
                lines.append("  -- follow the rollout of pool %s, then:" % plan.pool)
            for a in acts:
                n += 1
                extra = " (then its finalizers removed)" if a.strip_finalizers else ""
                lines.append("  %d. %s%s: %s" % (n, a.describe(), extra, a.why))
        if plan.follow and not plan.stage(AFTER):
            lines.append("  -- then follow the rollout of pool %s" % plan.pool)
    for note in plan.notes:
        lines.append("note: %s" % note)
    return lines


__all__ = ["Action", "UpgradePlan", "plan_upgrade", "plan_diff", "action_diff", "plan_lines", "merge_patch",
           "project", "clean", "CREATE", "CHANGE", "DELETE", "BEFORE", "AFTER", "ERROR", "WARNING"]
