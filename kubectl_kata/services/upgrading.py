"""upgrade: gather facts once, plan (core.upgrade_plan), and carry the plan out.

Request -> result; progress goes through the injected :class:`~kubectl_kata.services.reporting.Reporter`.
Every step is idempotent against the state a previous, interrupted run may have left: a create that finds
the object already there reads it back, a delete of something already gone is fine, a change is a merge
patch of the managed fields only. The plan itself is recomputed from the cluster on each run, so a re-run
only does what is left.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, List, Optional

from ..core import installkind
from ..core import upgrade_plan as up
from ..core.constants import MC_NAME
from ..core.upgrade_plan import UpgradePlan
from ..errors import NotFound, PreflightRefused
from ..kube.resources import LEGACY_KATACONFIG
from .reporting import Reporter

__all__ = ["UpgradeRequest", "UpgradeResult", "gather_upgrade_facts", "plan_for", "execute", "inspects_nodes",
           "NOT_INSPECTED_NOTE"]

# said in the plan when a legacy install's nodes were not inspected (--no-inspect-nodes)
NOT_INSPECTED_NOTE = ("the nodes were not inspected (--no-inspect-nodes): a node that still has the legacy "
                      "kata-runtime/kata-osbuilder layered cannot layer the extension (kata-containers conflicts "
                      "with them), so its rpm-ostree update fails and the pool degrades in the rollout (exit 5); "
                      "payload files left on the nodes stay there")


@dataclass
class UpgradeRequest:
    dry_run: bool = False
    yes: bool = False
    timeout: Optional[float] = None
    output: str = "table"


@dataclass
class UpgradeResult:
    plan: UpgradePlan
    done: List[str] = field(default_factory=list)     # "<op> <Kind> <name>" of every action carried out
    final: Optional[Any] = None                       # last RolloutState when a rollout was followed
    paused: bool = False                              # the pool is paused: stopped before following it


def gather_upgrade_facts(cluster) -> dict:
    from .cluster_facts import gather
    from .install_facts import add_install_facts

    facts = gather(cluster)
    return add_install_facts(cluster, facts)


def plan_for(cluster) -> UpgradePlan:
    plan = up.plan_upgrade(gather_upgrade_facts(cluster))
    if plan.refusal is not None:
        raise PreflightRefused("%s (nothing was changed)" % plan.refusal.message, hint=plan.refusal.hint)
    return plan


def inspects_nodes(plan: UpgradePlan, inspect: Optional[bool]) -> bool:
    """Whether upgrade looks at the pool's nodes before anything is written. ``inspect`` is the user's choice
    (``--inspect-nodes`` True, ``--no-inspect-nodes`` False, neither None). By default only a legacy install (or a
    migration from one still in progress, which classifies as legacy) is inspected: its nodes may still carry the
    layered kata-runtime/kata-osbuilder that the extension conflicts with. On the other kinds no host leftover can
    be attributed to anything, so nothing is looked at unless asked."""
    if inspect is not None:
        return inspect
    return plan.install.kind == installkind.KIND_LEGACY


def _kind_key(action: up.Action) -> str:
    if action.ref.kind == "KataConfig" and (action.ref.api_version or "").endswith("/v1alpha1"):
        return LEGACY_KATACONFIG
    return action.ref.kind


def _describe(action: up.Action) -> str:
    ref = action.ref
    group = (ref.api_version or "").rpartition("/")[0]
    kind = ref.kind.lower() + ("." + group if group else "")
    return "%s/%s" % (kind, ref.name)


def apply_action(cluster, action: up.Action, reporter: Reporter) -> None:
    """Carry out one action; safe to repeat."""
    key, name, ns = _kind_key(action), action.ref.name, action.ref.namespace
    if action.op == up.CREATE:
        _, created = cluster.create_or_get(action.after)
        reporter.step("%s %s" % (_describe(action), "created" if created else "already exists"))
    elif action.op == up.CHANGE:
        cluster.patch(key, name, action.patch, "merge", namespace=ns)
        reporter.step("%s changed" % _describe(action))
    elif action.op == up.DELETE:
        gone = not cluster.delete(key, name, ns, uid=action.uid)
        if action.strip_finalizers:
            try:
                cluster.patch(key, name, {"metadata": {"finalizers": None}}, "merge", namespace=ns)
            except NotFound:
                pass
        reporter.step("%s %s" % (_describe(action), "already gone" if gone else "deleted"))


def execute(cluster, plan: UpgradePlan, reporter: Reporter, timeout: Optional[float], monotonic) -> UpgradeResult:
    """Run the plan: the before-rollout actions in order, follow the pool's rollout, then the rest."""
    from .follow import follow_pool

    result = UpgradeResult(plan)
    for action in plan.stage(up.BEFORE):
        apply_action(cluster, action, reporter)
        result.done.append(action.describe())
    if plan.follow and plan.pool:
        pool = cluster.get("MachineConfigPool", plan.pool) or {}
        if (pool.get("spec") or {}).get("paused"):
            # nothing rolls out on a paused pool: do not wait for it; a re-run finishes (as enable does)
            result.paused = True
            return result
        result.final = follow_pool(cluster, plan.pool, MC_NAME, True, timeout, reporter, monotonic)
    for action in plan.stage(up.AFTER):
        apply_action(cluster, action, reporter)
        result.done.append(action.describe())
    return result
