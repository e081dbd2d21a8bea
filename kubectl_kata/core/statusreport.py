"""``kubectl kata status -o json``: one stable, documented document built from cluster facts.

``build_status(facts, pool_name=None)`` takes the facts described in :mod:`kubectl_kata.core.preflight`
(plus optional ``kata_pods``: a list of pods/pod summaries using a ``kata*`` RuntimeClass, or their count).

Pool auto-detection (``pool_name=None``), first match wins:

1. the ``machineconfiguration.openshift.io/role`` label of MachineConfig
   ``50-enable-sandboxed-containers-extension`` (ours or the operator's) -- the pool kata was enabled for;
2. pool ``kata-oc`` if it exists (operator default / our default custom pool);
3. ``master`` on a converged cluster (only master + worker pools, worker has no machines);
4. ``worker`` if it exists; otherwise ``None`` (no MCO).

Schema (``apiVersion: kata.kubectl.io/v1``, ``kind: KataStatus``); fields are always present, ``null`` where
unknown:

=================================  ================================================================================
field                              meaning
=================================  ================================================================================
enabled                            bool: MachineConfig 50-enable-sandboxed-containers-extension exists and lists
                                   ``sandboxed-containers`` (whoever created it); says nothing about rollout progress
pool                               str|null: the pool reported on (given or auto-detected as above)
managedBy                          ``"kubectl-kata"`` (our managed-by label on the MC), ``"sandboxed-containers-operator"``
                                   (any operator signal: KataConfig CRD/instance, OSC namespace, operator-owned MC), or null
machineConfig.name                 always ``50-enable-sandboxed-containers-extension``
machineConfig.present              bool: the MC exists
machineConfig.ours                 bool: it carries ``app.kubernetes.io/managed-by: kubectl-kata``
machineConfig.extensions           [str]: its ``spec.extensions`` (``[]`` when absent)
renderedConfig.target              str|null: pool ``spec.configuration.name`` (what nodes are moving to)
renderedConfig.current             str|null: pool ``status.configuration.name`` (last config fully rolled out)
renderedConfig.includesExtension   bool|null: the target rendered config requests ``sandboxed-containers`` (from the
                                   rendered MC if listed in facts, else from the MCs named in its source); null = unknown
rollout.phase                      rendering|rolling|done|degraded|paused|render-failed (see core.rollout), null
                                   without a pool; measured against "our MC present" when it exists, else "absent"
rollout.machineCount               int: pool status.machineCount (0 without a pool, as are the counters below)
rollout.updated                    int: status.updatedMachineCount (on the target and MCD Done)
rollout.ready                      int: status.readyMachineCount (updated and Ready)
rollout.unavailable                int: status.unavailableMachineCount (NotReady or updating)
rollout.degraded                   int: status.degradedMachineCount (node state Degraded/Unreconcilable)
rollout.conditions                 [{type, status, reason, message}] copied from the pool, in API order
nodes[]                            the pool's nodes (MCO membership: master wins, custom pool over worker), by name
nodes[].name                       node name
nodes[].state                      Done|Working|Rebooting|Degraded|Unreconcilable|Waiting against the pool target
nodes[].currentConfig              node annotation machineconfiguration.openshift.io/currentConfig (null if unset)
nodes[].desiredConfig              node annotation .../desiredConfig (null if unset)
nodes[].kataReady                  bool: MCD state Done on its current config (current == desired) and that rendered
                                   config includes the extension (known from the rendered MC, or it is the pool
                                   target and the target includes it)
nodes[].reason                     node annotation .../reason (the MCD's error text) or null
runtimeClass.name                  always ``kata``
runtimeClass.present               bool
runtimeClass.handler               str|null
runtimeClass.nodeSelector          {str: str}|null: ``scheduling.nodeSelector``
runtimeClass.matchesPool           bool: present, and the nodes its nodeSelector selects are exactly the pool's nodes
                                   (non-empty) -- so kata pods land on kata nodes only
kataPods                           int: pods (not finished) whose runtimeClassName starts with ``kata``, cluster-wide
install.kind                       operator|legacy|plugin|operator-leftovers|none (core.installkind)
install.revision                   int|null: oldest kubectl-kata.io/revision among our objects (1 = before revisions
                                   were recorded); null without objects of ours
install.currentRevision            int: the revision this plugin renders
install.current                    bool|null: revision == currentRevision (null without objects of ours)
install.evidence                   [str]: why this kind (objects found)
install.leftovers                  [str]: operator left-overs seen (lone KataConfig CRD, empty operator namespace)
problems                           [{code, severity, message, hint}]: findings (same shape as preflight problems)
=================================  ================================================================================
"""
from __future__ import annotations

from typing import List, Optional

from . import installkind, support
from .constants import (ANN_CURRENT_CONFIG, ANN_DESIRED_CONFIG, ANN_STATE, DEFAULT_CUSTOM_POOL, EXTENSION,
                        MANAGED_BY_VALUE, MANAGER_OPERATOR, MASTER_POOL, MC_NAME, MCD_STATE_DONE,
                        RUNTIMECLASS_NAME, WORKER_POOL)
from .objects import is_ours, mc_extensions, mc_role
from .preflight import WARNING, Problem, find, is_converged, node_arch, object_list, operator_signals
from .rollout import pool_rollout_state, source_names
from .selectors import MultiplePoolsError, matches_label_map, pools_for_node

API_VERSION = "kata.kubectl.io/v1"
KIND = "KataStatus"


def detect_pool(facts: dict) -> Optional[str]:
    """The pool ``status`` reports on when none is given (order documented in the module docstring)."""
    pools = object_list(facts, "pools")
    mc = find(object_list(facts, "mcs"), MC_NAME)
    role = mc_role(mc) if mc is not None else None
    if role:
        return role
    if find(pools, DEFAULT_CUSTOM_POOL) is not None:
        return DEFAULT_CUSTOM_POOL
    if is_converged(pools):
        return MASTER_POOL
    if find(pools, WORKER_POOL) is not None:
        return WORKER_POOL
    return None


def rendered_includes_extension(facts: dict, pool: Optional[dict], rendered_name: Optional[str]) -> Optional[bool]:
    """Does rendered config ``rendered_name`` request the extension? None when it cannot be told."""
    if not rendered_name:
        return None
    mcs = object_list(facts, "mcs")
    rendered = find(mcs, rendered_name)
    if rendered is not None:
        return EXTENSION in mc_extensions(rendered)
    target = ((((pool or {}).get("spec") or {}).get("configuration") or {}).get("name"))
    if pool is None or rendered_name != target:
        return None
    names = source_names(pool)
    if not names:
        return None
    sources = [find(mcs, n) for n in names]
    if any(EXTENSION in mc_extensions(s) for s in sources if s is not None):
        return True
    return False if all(s is not None for s in sources) else None


def _count_kata_pods(facts: dict) -> int:
    pods = (facts or {}).get("kata_pods")
    if isinstance(pods, bool):
        return 0
    if isinstance(pods, int):
        return max(pods, 0)
    if isinstance(pods, list):
        return len(pods)
    return 0


def _node_membership(facts: dict, pool_name: Optional[str]) -> tuple:
    """(nodes of the pool, problems for nodes matching two custom pools)."""
    pools, members, conflicts = object_list(facts, "pools"), [], []
    for n in object_list(facts, "nodes"):
        meta = n.get("metadata") or {}
        try:
            names = pools_for_node(meta.get("name") or "", meta.get("labels"), pools)
        except MultiplePoolsError as e:
            conflicts.append(str(e))
            continue
        except ValueError:
            continue
        if names and names[0] == pool_name:
            members.append(n)
    probs = []
    if conflicts:
        probs.append(Problem("multiple-custom-pools", "; ".join(conflicts),
                             "a node may be in only one custom pool; remove one pool's label from these nodes"))
    return sorted(members, key=lambda n: (n.get("metadata") or {}).get("name") or ""), probs


def _conditions(pool: Optional[dict]) -> List[dict]:
    out = []
    for c in (((pool or {}).get("status") or {}).get("conditions") or []):
        if isinstance(c, dict):
            out.append({"type": c.get("type"), "status": c.get("status"), "reason": c.get("reason") or "",
                        "message": c.get("message") or ""})
    return out


def build_status(facts: dict, pool_name: Optional[str] = None) -> dict:
    """Build the KataStatus document (schema in the module docstring)."""
    facts = facts if isinstance(facts, dict) else {}
    problems = []  # type: List[Problem]
    openshift = bool(facts.get("openshift"))
    pool_name = pool_name or (detect_pool(facts) if openshift else None)
    pools = object_list(facts, "pools")
    pool = find(pools, pool_name) if pool_name else None

    mc = find(object_list(facts, "mcs"), MC_NAME)
    ours = mc is not None and is_ours(mc)
    extensions = mc_extensions(mc)
    enabled = mc is not None and EXTENSION in extensions
    signals = operator_signals(facts)
    managed_by = MANAGED_BY_VALUE if ours else (MANAGER_OPERATOR if signals else None)
    kind = installkind.classify(facts)

    if not openshift:
        problems.append(Problem("not-openshift", "the MachineConfig API (machineconfiguration.openshift.io) is not "
                                "served: not an OpenShift cluster", "check the current kubectl context"))
    if signals:
        problems.append(Problem("operator-present",
                                "the sandboxed containers operator manages kata here (found: %s)" % ", ".join(signals),
                                "use `oc get kataconfig` / `oc describe kataconfig` for its view; kubectl kata "
                                "enable/disable will not touch operator-managed objects", WARNING))
    if kind.kind == installkind.KIND_LEGACY:
        problems.append(Problem("legacy-install", "a legacy RPM-payload kata install (kata-operator) is on this "
                                "cluster (found: %s)" % ", ".join(kind.evidence),
                                "`kubectl kata upgrade --dry-run` shows how it would be migrated to the extension",
                                WARNING))
    elif kind.kind == installkind.KIND_PLUGIN and kind.current is False:
        problems.append(Problem("old-revision", "objects of kubectl-kata are at revision %s, this plugin renders "
                                "revision %d" % (kind.revision, installkind.CURRENT_REVISION),
                                "`kubectl kata upgrade` re-renders them", WARNING))
    if pool_name and pool is None and openshift:
        problems.append(Problem("pool-missing", "MachineConfigPool %s does not exist" % pool_name,
                                "check `oc get mcp`"))

    members, member_probs = _node_membership(facts, pool_name)
    problems.extend(member_probs)
    target = current = None
    state = None
    if pool is not None:
        state = pool_rollout_state(pool, members, MC_NAME, expect_present=mc is not None)
        target, current = state.target, state.current
        if state.phase in ("degraded", "render-failed"):
            problems.append(Problem("rollout-" + state.phase, state.message,
                                    "`oc describe mcp %s`; for a node, its machineconfiguration.openshift.io/reason "
                                    "annotation and the machine-config-daemon logs; `kubectl kata doctor`" % pool_name))
        elif state.phase == "paused":
            problems.append(Problem("pool-paused", "pool %s is paused with changes pending" % pool_name,
                                    "`oc patch mcp %s --type merge -p '{\"spec\":{\"paused\":false}}'`" % pool_name,
                                    WARNING))
    includes = rendered_includes_extension(facts, pool, target)

    version = facts.get("version")
    if enabled and version:
        try:
            ver = support.parse_ocp_version(version)
        except ValueError:
            ver = None
        if ver is not None and not support.extension_supported(ver):
            problems.append(Problem("version-too-old", "OpenShift %s does not know the %s extension (added in 4.8)"
                                    % (version, EXTENSION), "upgrade to 4.8 or later, or disable kata"))
        elif ver is not None:
            bad = ["%s (%s)" % (n["metadata"].get("name"), node_arch(n)) for n in members
                   if not support.arch_supported(ver, node_arch(n))]
            if bad:
                problems.append(Problem("arch-unsupported", "the %s extension is not shipped for: %s"
                                        % (EXTENSION, ", ".join(bad)), "run kata only on supported nodes (%s)"
                                        % ", ".join(support.supported_arches(ver))))

    nodes_out = []
    nstates = {s.name: s for s in (state.nodes if state else [])}
    for n in members:
        meta = n.get("metadata") or {}
        ann = meta.get("annotations") or {}
        name = meta.get("name") or ""
        ns = nstates.get(name)
        cur = ann.get(ANN_CURRENT_CONFIG) or None
        des = ann.get(ANN_DESIRED_CONFIG) or None
        cur_includes = rendered_includes_extension(facts, pool, cur)
        kata_ready = bool(ann.get(ANN_STATE) == MCD_STATE_DONE and cur is not None
                          and (des is None or des == cur) and cur_includes is True)
        nodes_out.append({"name": name, "state": ns.state if ns else None, "currentConfig": cur,
                          "desiredConfig": des, "kataReady": kata_ready, "reason": ns.reason if ns else None})

    rc = find(object_list(facts, "runtimeclasses"), RUNTIMECLASS_NAME)
    rc_sel = (((rc or {}).get("scheduling") or {}).get("nodeSelector")) if rc is not None else None
    if rc is not None:
        selected = {(n.get("metadata") or {}).get("name") for n in object_list(facts, "nodes")
                    if matches_label_map(rc_sel, (n.get("metadata") or {}).get("labels"))}
        member_names = {(n.get("metadata") or {}).get("name") for n in members}
        matches_pool = bool(member_names) and selected == member_names
    else:
        matches_pool = False
    # RuntimeClass findings only for our installs: the operator owns (and reconciles) its RuntimeClass.
    if ours and rc is None and state is not None and state.phase == "done":
        problems.append(Problem("runtimeclass-missing", "RuntimeClass %s does not exist although the rollout is done"
                                % RUNTIMECLASS_NAME, "run `kubectl kata enable` again to create it", WARNING))
    elif ours and rc is not None and not matches_pool and members:
        problems.append(Problem("runtimeclass-mismatch",
                                "RuntimeClass %s nodeSelector %s does not select exactly the nodes of pool %s"
                                % (RUNTIMECLASS_NAME, rc_sel, pool_name),
                                "kata pods could be scheduled on nodes without kata (or on none)", WARNING))

    counters = state.counters if state else {}
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "enabled": enabled,
        "pool": pool_name,
        "managedBy": managed_by,
        "machineConfig": {"name": MC_NAME, "present": mc is not None, "ours": ours, "extensions": extensions},
        "renderedConfig": {"target": target, "current": current, "includesExtension": includes},
        "rollout": {
            "phase": state.phase if state else None,
            "machineCount": counters.get("machineCount", 0),
            "updated": counters.get("updated", 0),
            "ready": counters.get("ready", 0),
            "unavailable": counters.get("unavailable", 0),
            "degraded": counters.get("degraded", 0),
            "conditions": _conditions(pool),
        },
        "nodes": nodes_out,
        "runtimeClass": {"name": RUNTIMECLASS_NAME, "present": rc is not None,
                         "handler": (rc or {}).get("handler") if rc is not None else None,
                         "nodeSelector": dict(rc_sel) if isinstance(rc_sel, dict) else None,
                         "matchesPool": matches_pool},
        "kataPods": _count_kata_pods(facts),
        "install": {k: v for k, v in kind.to_dict().items() if k != "legacyObjects"},
        "problems": [p.to_dict() for p in problems],
    }


__all__ = ["API_VERSION", "KIND", "build_status", "detect_pool", "rendered_includes_extension"]
