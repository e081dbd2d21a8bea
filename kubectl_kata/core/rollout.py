"""MachineConfigPool rollout state (DOMAIN 3), derived only from objects read from the API.

Per-node progress is measured against the pool's ``spec.configuration.name`` (the target rendered config),
not the node's ``desiredConfig``: the MCO sets ``desiredConfig`` only just before it starts on a node (OSC
logic). Pool phase precedence, first match wins:

1. ``render-failed`` -- ``RenderDegraded=True``: no rendered config, no rollout will ever start.
2. ``degraded``      -- ``NodeDegraded``/``Degraded`` True, ``degradedMachineCount > 0`` or a node in state
   Degraded/Unreconcilable.
3. ``rendering``     -- our MC not yet in (enable) / still in (disable) ``spec.configuration.source[*].name``.
   This covers the race right after creating/deleting the MC, when the pool still reports ``Updated=True``
   for the *old* target.
4. ``done``          -- ``status.configuration.name == spec.configuration.name`` and
   updated == ready == machineCount and unavailable == 0.
5. ``paused``        -- ``spec.paused`` with work pending.
6. ``rolling``       -- everything else.
"""
from __future__ import annotations

from typing import List, NamedTuple, Optional

from .constants import (ANN_CURRENT_CONFIG, ANN_DESIRED_CONFIG, ANN_REASON, ANN_STATE,
                        MCD_STATE_DEGRADED, MCD_STATE_DONE, MCD_STATE_REBOOTING,
                        MCD_STATE_UNRECONCILABLE, MCD_STATE_WORKING)

PHASES = ("rendering", "rolling", "done", "degraded", "paused", "render-failed")
NODE_STATES = ("Done", "Working", "Rebooting", "Degraded", "Unreconcilable", "Waiting")
FAILED_PHASES = ("degraded", "render-failed")


class NodeState(NamedTuple):
    name: str
    state: str            # one of NODE_STATES
    current: Optional[str]
    desired: Optional[str]
    reason: Optional[str]
    ready: bool           # Ready=True, no DiskPressure/NetworkUnavailable, schedulable (MCO isNodeReady)
    updated: bool         # current == pool target and MCD Done


class RolloutState(NamedTuple):
    phase: str                 # one of PHASES
    target: Optional[str]      # spec.configuration.name
    current: Optional[str]     # status.configuration.name
    counters: dict             # machineCount, updated, ready, unavailable, degraded
    nodes: list                # [NodeState]
    message: str
    reasons: list              # quoted node reasons / condition messages explaining a failure
    pool: str = ""
    paused: bool = False


def _annotations(node: dict) -> dict:
    return ((node or {}).get("metadata") or {}).get("annotations") or {}


def _conditions(obj: dict) -> list:
    conds = ((obj or {}).get("status") or {}).get("conditions") or []
    return [c for c in conds if isinstance(c, dict)]


def condition(obj: dict, ctype: str) -> Optional[dict]:
    for c in _conditions(obj):
        if c.get("type") == ctype:
            return c
    return None


def condition_true(obj: dict, ctype: str) -> bool:
    c = condition(obj, ctype)
    return bool(c) and c.get("status") == "True"


def node_ready(node: dict) -> bool:
    """MCO ``isNodeReady``, except that a node reporting no Ready condition is not ready."""
    seen_ready = False
    for c in _conditions(node):
        ctype, status = c.get("type"), c.get("status")
        if ctype == "Ready":
            if status != "True":
                return False
            seen_ready = True
        elif ctype in ("DiskPressure", "NetworkUnavailable") and status == "True":
            return False
    if ((node or {}).get("spec") or {}).get("unschedulable"):
        return False
    return seen_ready


def node_state(node: dict, target: Optional[str]) -> NodeState:
    """Classify one node against the pool target ``target`` (``spec.configuration.name``).

    - MCD state Degraded / Unreconcilable / Rebooting / Working -> that state;
    - Done and current == target -> ``Done``;
    - Done, current != target, desiredConfig already == target -> ``Working`` (the controller picked the
      node, the MCD is about to start);
    - Done, current != target otherwise, or no MCD state yet -> ``Waiting``.
    With no target (pool never rendered) a node that is Done on its desired config counts as ``Done``.
    """
    ann = _annotations(node)
    name = ((node or {}).get("metadata") or {}).get("name") or ""
    current = ann.get(ANN_CURRENT_CONFIG) or None
    desired = ann.get(ANN_DESIRED_CONFIG) or None
    mcd = ann.get(ANN_STATE) or None
    reason = ann.get(ANN_REASON) or None
    if target is None:
        on_target = current is not None and (desired is None or current == desired)
    else:
        on_target = current == target
    updated = mcd == MCD_STATE_DONE and on_target and (desired is None or desired == current)
    if mcd in (MCD_STATE_DEGRADED, MCD_STATE_UNRECONCILABLE, MCD_STATE_REBOOTING, MCD_STATE_WORKING):
        state = mcd
    elif mcd == MCD_STATE_DONE and updated:
        state = "Done"
    elif mcd == MCD_STATE_DONE and target is not None and desired == target and current != target:
        state = "Working"
    else:
        state = "Waiting"
    return NodeState(name, state, current, desired, reason, node_ready(node), updated)


def _int(v: object) -> int:
    return v if isinstance(v, int) and not isinstance(v, bool) else 0


def pool_counters(pool: dict) -> dict:
    st = (pool or {}).get("status") or {}
    return {
        "machineCount": _int(st.get("machineCount")),
        "updated": _int(st.get("updatedMachineCount")),
        "ready": _int(st.get("readyMachineCount")),
        "unavailable": _int(st.get("unavailableMachineCount")),
        "degraded": _int(st.get("degradedMachineCount")),
    }


def source_names(pool: dict) -> List[str]:
    """Names of the MachineConfigs merged into the pool's target (``spec.configuration.source[*].name``)."""
    src = (((pool or {}).get("spec") or {}).get("configuration") or {}).get("source") or []
    return [s.get("name") for s in src if isinstance(s, dict) and s.get("name")]


def pool_target(pool: dict) -> Optional[str]:
    return (((pool or {}).get("spec") or {}).get("configuration") or {}).get("name") or None


def pool_current(pool: dict) -> Optional[str]:
    return (((pool or {}).get("status") or {}).get("configuration") or {}).get("name") or None


def _degraded_reasons(pool: dict, nstates: List[NodeState]) -> List[str]:
    reasons = ["node %s is %s: %s" % (n.name, n.state, n.reason)
               for n in nstates if n.state in (MCD_STATE_DEGRADED, MCD_STATE_UNRECONCILABLE) and n.reason]
    if reasons:
        return reasons
    for ctype in ("NodeDegraded", "Degraded"):
        c = condition(pool, ctype)
        if c and c.get("status") == "True" and c.get("message"):
            return [c["message"]]
    bare = ["node %s is %s" % (n.name, n.state)
            for n in nstates if n.state in (MCD_STATE_DEGRADED, MCD_STATE_UNRECONCILABLE)]
    if bare:
        return bare
    for ctype in ("NodeDegraded", "Degraded"):
        c = condition(pool, ctype)
        if c and c.get("status") == "True":
            return [c.get("reason") or "%s=True" % ctype]
    n = pool_counters(pool)["degraded"]
    return ["%d node(s) reported degraded (degradedMachineCount)" % n] if n else []


def pool_rollout_state(pool: dict, nodes: List[dict], mc_name: str, expect_present: bool = True,
                       previous_target: Optional[str] = None) -> RolloutState:
    """Phase of ``pool``'s rollout of the change "``mc_name`` added" (``expect_present=True``) or removed.

    ``nodes`` are the pool's nodes (the caller selects them, e.g. with
    :func:`kubectl_kata.core.selectors.primary_pool_for_node`). ``previous_target``, if given, is the pool's
    ``spec.configuration.name`` from before the change: a different target also proves the render happened.
    """
    pool = pool if isinstance(pool, dict) else {}
    name = (pool.get("metadata") or {}).get("name") or ""
    target, current = pool_target(pool), pool_current(pool)
    counters = pool_counters(pool)
    nstates = sorted((node_state(n, target) for n in nodes or []), key=lambda s: s.name)
    paused = bool((pool.get("spec") or {}).get("paused"))

    def result(phase: str, message: str, reasons: Optional[list] = None) -> RolloutState:
        return RolloutState(phase, target, current, counters, nstates, message, reasons or [], name, paused)

    rd = condition(pool, "RenderDegraded")
    if rd and rd.get("status") == "True":
        msg = rd.get("message") or rd.get("reason") or "RenderDegraded=True"
        return result("render-failed", "pool %s failed to render its configuration: %s" % (name, msg), [msg])

    node_degraded = any(n.state in (MCD_STATE_DEGRADED, MCD_STATE_UNRECONCILABLE) for n in nstates)
    if (condition_true(pool, "NodeDegraded") or condition_true(pool, "Degraded")
            or counters["degraded"] > 0 or node_degraded):
        reasons = _degraded_reasons(pool, nstates)
        return result("degraded", "pool %s is degraded: %s" % (name, "; ".join(reasons)), reasons)

    in_source = mc_name in source_names(pool)
    rendered = in_source == expect_present or (previous_target is not None and target is not None
                                               and target != previous_target)
    if not rendered:
        what = "includes" if expect_present else "no longer includes"
        return result("rendering", "waiting for the MCO to render a configuration for pool %s that %s %s "
                                   "(pool still targets %s)" % (name, what, mc_name, target or "nothing"))

    mc = counters["machineCount"]
    all_updated = (current is not None and current == target and counters["updated"] == mc
                   and counters["ready"] == mc and counters["unavailable"] == 0)
    if all_updated:
        return result("done", "all %d node(s) in pool %s run %s" % (mc, name, target))
    progress = "%d/%d node(s) updated to %s" % (counters["updated"], mc, target)
    if paused:
        return result("paused", "pool %s is paused; %s; nothing rolls out until "
                                "`oc patch mcp %s --type merge -p '{\"spec\":{\"paused\":false}}'`"
                      % (name, progress, name))
    busy = ["%s %s" % (n.name, n.state) for n in nstates if n.state in ("Working", "Rebooting")]
    return result("rolling", "pool %s: %s%s" % (name, progress, ("; " + ", ".join(busy)) if busy else ""))


def progress_line(state: RolloutState) -> str:
    """One plain-text line for the rollout follower, e.g.
    ``kata-oc: rolling 1/3 updated, 1 ready, 1 unavailable, 0 degraded -> rendered-kata-oc-... [worker-1 Rebooting]``."""
    c = state.counters
    head = "%s: %s %d/%d updated, %d ready, %d unavailable, %d degraded" % (
        state.pool or "pool", state.phase, c.get("updated", 0), c.get("machineCount", 0), c.get("ready", 0),
        c.get("unavailable", 0), c.get("degraded", 0))
    if state.target:
        head += " -> %s" % state.target
    busy = ["%s %s" % (n.name, n.state) for n in state.nodes if n.state != "Done"]
    if busy:
        head += " [%s]" % ", ".join(busy)
    if state.phase in ("rendering", "paused") or state.phase in FAILED_PHASES:
        head += ": " + (state.reasons[0] if state.reasons else state.message)
    return " ".join(head.split())   # reasons may quote multi-line MCD errors; keep one line


def _fingerprint(state: RolloutState) -> tuple:
    return (state.phase, state.target, state.current, tuple(sorted(state.counters.items())),
            tuple((n.name, n.state, n.current, n.reason, n.ready) for n in state.nodes), tuple(state.reasons))


def state_changed(prev: Optional[RolloutState], cur: RolloutState) -> bool:
    """True when ``cur`` differs from ``prev`` in anything the follower prints (``prev=None`` -> True)."""
    return prev is None or _fingerprint(prev) != _fingerprint(cur)
