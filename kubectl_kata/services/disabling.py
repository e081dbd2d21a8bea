"""disable: remove only what kubectl-kata created, in an order that is safe to interrupt and re-run.

Order: refuse on operator-owned objects or running kata pods -> delete RuntimeClass kata (no new
kata pods) -> custom pool: unlabel its nodes, follow `worker` until they run its config (one
reboot each), delete our MachineConfig and the now-empty pool -> standard pool: delete our
MachineConfig and follow the pool until no node runs a config that includes it.
Every step first looks at the cluster, so a re-run after Ctrl-C continues where it stopped.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, List, Optional

from ..core import objects
from ..core.constants import MC_NAME, RUNTIMECLASS_NAME, STANDARD_POOLS, WORKER_POOL, node_role_label
from ..core.rollout import RolloutState
from ..errors import PreflightRefused, RolloutFailed

SHOWN_PODS = 20  # kata pods named when they block disable


@dataclass
class DisableRequest:
    force: bool = False
    dry_run: str = "none"   # none | client (change nothing, say what would go) | server (dryRun=All)
    no_wait: bool = False
    timeout: Optional[float] = None


@dataclass
class DisableOutcome:
    """What `disable` did. `stopped`: `done`, `nothing-to-do`, `dry-run`, `nodes-returning` (--no-wait on a
    custom pool: the nodes go back to worker; a re-run deletes the rest) or `not-waiting` (--no-wait)."""

    pool: Optional[str]
    stopped: str
    deleted: List[dict] = field(default_factory=list)    # the objects deleted (or that would be, on a dry run)
    unlabelled: List[str] = field(default_factory=list)  # node names
    rollout: Optional[RolloutState] = None               # the last rollout followed, if any


class KataPodsRunning(PreflightRefused):
    """Pods with a kata RuntimeClass run on the pool: `pods` holds the first SHOWN_PODS of them."""

    def __init__(self, message: str, hint: str, pods: List[dict]) -> None:
        super().__init__(message, hint=hint)
        self.pods = pods


def disable(cluster, req: DisableRequest, reporter,
            monotonic: Callable[[], float] = time.monotonic) -> DisableOutcome:
    from ..core.preflight import preflight_disable
    from .cluster_facts import gather
    from .follow import RecheckWhileFollowing, follow_pool, pool_nodes
    from .preflight import refuse_on_errors

    if hasattr(cluster, "limit_to"):
        cluster.limit_to(req.timeout)  # retries of transient API errors never wait past --timeout
    facts = gather(cluster)
    mc = next((m for m in facts["mcs"] if m["metadata"]["name"] == MC_NAME), None)
    pools = {p["metadata"]["name"]: p for p in facts["pools"]}
    rc = next((r for r in facts["runtimeclasses"] if r["metadata"]["name"] == RUNTIMECLASS_NAME), None)

    if mc is not None and not objects.is_ours(mc):
        owner = objects.operator_owner(mc) or "someone else"
        raise PreflightRefused(f"machineconfig {MC_NAME} was not created by kubectl-kata (owner: {owner}); "
                               "refusing to delete it",
                               hint="if the sandboxed containers operator manages kata, delete the KataConfig instead")
    ours_pools = [name for name, p in pools.items() if objects.is_ours(p) and name not in STANDARD_POOLS]
    pool = objects.mc_role(mc) if mc is not None else (ours_pools[0] if ours_pools else None)
    if mc is None and pool is None and not (rc is not None and objects.is_ours(rc)):
        return DisableOutcome(pool=None, stopped="nothing-to-do")
    refuse_on_errors(preflight_disable(facts, pool), reporter)

    members = pool_nodes(facts["pools"], facts["nodes"], pool) if pool in pools else []
    member_names = {n["metadata"]["name"] for n in members}
    blocking = [p for p in facts.get("kata_pods") or [] if p.get("node") in member_names]
    if blocking and not req.force:
        more = f" (first {SHOWN_PODS} of {len(blocking)} shown)" if len(blocking) > SHOWN_PODS else ""
        raise KataPodsRunning(f"{len(blocking)} pod(s) with a kata RuntimeClass run on pool {pool}{more}",
                              hint="delete or move them first, or pass --force (they stop working when the "
                                   "nodes reboot without kata)",
                              pods=blocking[:SHOWN_PODS])

    dry = req.dry_run != "none"
    server_dry = req.dry_run == "server"
    detail = "dry run" if req.dry_run == "client" else ("server dry run" if server_dry else "")
    outcome = DisableOutcome(pool=pool, stopped="dry-run" if dry else "done")

    def delete(kind, obj):
        if req.dry_run == "client" or _delete_ours(cluster, kind, obj, server_dry, reporter):
            outcome.deleted.append(obj)
            reporter.changed(_named(kind, obj), "deleted", detail)

    def follow(pool_name):
        try:
            outcome.rollout = follow_pool(cluster, pool_name, MC_NAME, False, req.timeout,
                                          RecheckWhileFollowing(reporter, monotonic,
                                                                lambda: _raise_if_back(cluster)), monotonic)
        except _MachineConfigBack as back:
            raise RolloutFailed(f"machineconfig {MC_NAME} was created again while disable followed the rollout of "
                                f"pool {pool_name} (by {back.owner}); sandboxed containers stay enabled",
                                hint="run `kubectl kata disable` again once that run has finished") from None

    if rc is not None and objects.is_ours(rc):
        delete("RuntimeClass", rc)
    elif rc is not None:
        reporter.warning(f"RuntimeClass {RUNTIMECLASS_NAME} was not created by kubectl-kata; left in place")

    custom = pool is not None and pool not in STANDARD_POOLS
    if custom:
        label = node_role_label(pool)
        labelled = [n for n in facts["nodes"] if label in ((n.get("metadata") or {}).get("labels") or {})]
        for n in labelled:
            name = n["metadata"]["name"]
            if req.dry_run != "client":
                cluster.patch("Node", name, objects.node_label_patch(pool, add=False), dry_run=server_dry)
            outcome.unlabelled.append(name)
            reporter.changed(_named("Node", n), f"unlabeled {label}", detail)
        if not dry and not req.no_wait:
            # Also on a re-run after Ctrl-C (labels already gone): make sure the nodes got back.
            if labelled:
                reporter.step(f"Waiting for {len(labelled)} node(s) to return to pool {WORKER_POOL}...")
            follow(WORKER_POOL)
        elif labelled and req.no_wait and not dry:
            outcome.stopped = "nodes-returning"
            return outcome
        if mc is not None:
            delete("MachineConfig", mc)
        p = pools.get(pool)
        if p is not None and objects.is_ours(p):
            delete("MachineConfigPool", p)
        elif p is not None:
            reporter.warning(f"pool {pool} was not created by kubectl-kata; left in place")
    else:
        if mc is not None:
            delete("MachineConfig", mc)
        if pool and not dry and not req.no_wait:
            follow(pool)
        elif pool and req.no_wait and not dry:
            outcome.stopped = "not-waiting"
    if not dry and not req.no_wait:
        _remove_late_runtimeclass(cluster, reporter, outcome)
    return outcome


def _delete_ours(cluster, kind: str, obj: dict, server_dry: bool, reporter) -> bool:
    """Delete `obj` if it is still the object we inspected (uid precondition). On 409 Conflict (it was replaced
    meanwhile, e.g. by a concurrent `enable`) read it again and delete it once more if it is still ours."""
    from ..errors import Conflict

    name = obj["metadata"]["name"]
    try:
        return cluster.delete(kind, name, dry_run=server_dry, uid=obj["metadata"].get("uid"))
    except Conflict:
        live = cluster.get(kind, name)
        if live is None:
            return False
        if not objects.is_ours(live):
            raise PreflightRefused(f"{kind.lower()} {name} was replaced meanwhile by an object kubectl-kata did not "
                                   "create; left in place") from None
        if live["metadata"].get("uid") == obj["metadata"].get("uid"):
            reporter.step(f"{kind.lower()} {name} changed meanwhile (409 Conflict); read it again, still ours: "
                          "deleting it.")
        else:
            reporter.step(f"{kind.lower()} {name} was replaced meanwhile by another kubectl-kata run; deleting "
                          "the new one.")
        return cluster.delete(kind, name, dry_run=server_dry, uid=live["metadata"].get("uid"))


def _remove_late_runtimeclass(cluster, reporter, outcome) -> None:
    """A concurrent `enable` may create RuntimeClass kata after we looked (its rollout ended before our
    MachineConfig delete). With our MachineConfig gone, such a RuntimeClass would send pods to nodes without
    kata: delete it if it is ours, so the cluster ends in one consistent state."""
    if cluster.get("MachineConfig", MC_NAME) is not None:
        return
    rc = cluster.get("RuntimeClass", RUNTIMECLASS_NAME)
    if rc is None or not objects.is_ours(rc):
        return
    reporter.step(f"runtimeclass {RUNTIMECLASS_NAME} was created meanwhile by another kubectl-kata run "
                  f"(machineconfig {MC_NAME} is gone); deleting it.")
    if cluster.delete("RuntimeClass", RUNTIMECLASS_NAME, uid=rc["metadata"].get("uid")):
        outcome.deleted.append(_named("RuntimeClass", rc))
        reporter.changed(_named("RuntimeClass", rc), "deleted")


class _MachineConfigBack(Exception):
    def __init__(self, owner: str) -> None:
        super().__init__(owner)
        self.owner = owner


def _raise_if_back(cluster) -> None:
    mc = cluster.get("MachineConfig", MC_NAME)
    if mc is not None:
        raise _MachineConfigBack("another kubectl-kata run" if objects.is_ours(mc)
                                 else objects.operator_owner(mc) or "someone else")


def _named(kind: str, obj: dict) -> dict:
    """`obj` with its kind set (list items may lack it), for the reporter's `kind/name`."""
    return obj if obj.get("kind") == kind else dict(obj, kind=kind)
