"""enable: complete -> validate -> run (the sample-cli-plugin options pattern).

`EnableRequest.from_flags` completes and validates; `planned_objects` is the plan (what --dry-run=client
prints); `enable` changes the cluster, follows the rollout and returns an `EnableOutcome`. What happens
on the way is told to the injected reporter (services.reporting); the command prints the outcome.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, List, Optional

from ..core import objects
from ..core.constants import MC_NAME, RUNTIMECLASS_NAME, WORKER_POOL, node_role_label, pool_node_selector
from ..core.rollout import RolloutState
from ..errors import PreflightRefused, RolloutFailed, UsageProblem


@dataclass
class EnableRequest:
    pool: str = WORKER_POOL
    create_pool: Optional[str] = None
    node_selector: Optional[dict] = None
    node_selector_text: Optional[str] = None
    nodes: Optional[List[str]] = None
    all_workers: bool = False
    dry_run: str = "none"
    no_wait: bool = False
    timeout: Optional[float] = None
    pool_explicit: bool = False
    prog: str = "kubectl kata"  # how the user runs us, for hints that name a command

    @classmethod
    def from_flags(cls, pool, create_pool, node_selector, nodes, all_workers, dry_run, no_wait, timeout,
                   prog="kubectl kata"):
        """complete + validate: every flag combination problem is a usage error (exit 2)."""
        from ..core.selectors import parse_selector_string

        if pool and create_pool:
            raise UsageProblem("--pool and --create-pool are mutually exclusive")
        choosers = [bool(node_selector), bool(nodes), bool(all_workers)]
        if create_pool:
            try:
                objects.validate_pool_name(create_pool)
            except ValueError as exc:
                raise UsageProblem(str(exc)) from None
            if create_pool in ("master", "worker"):
                raise UsageProblem(f"--create-pool {create_pool}: master and worker already exist; use --pool")
            if sum(choosers) != 1:
                raise UsageProblem("--create-pool needs exactly one of --node-selector, --nodes or --all-workers")
        elif any(choosers):
            raise UsageProblem("--node-selector, --nodes and --all-workers only make sense with --create-pool")
        selector = None
        if node_selector:
            try:
                selector = parse_selector_string(node_selector)
            except ValueError as exc:
                raise UsageProblem(f"--node-selector: {exc}") from None
        names = None
        if nodes:
            names = [n.strip() for n in nodes.split(",") if n.strip()]
            if not names:
                raise UsageProblem("--nodes: give at least one node name")
        return cls(pool=create_pool or pool or WORKER_POOL, create_pool=create_pool, node_selector=selector,
                   node_selector_text=node_selector, nodes=names, all_workers=all_workers, dry_run=dry_run,
                   no_wait=no_wait, timeout=timeout, pool_explicit=bool(pool), prog=prog)

    def preflight_request(self) -> dict:
        return {"pool": self.pool, "create_pool": self.create_pool, "node_names": self.nodes,
                "node_selector": self.node_selector, "all_workers": self.all_workers}


def planned_objects(req: EnableRequest) -> List[dict]:
    """The objects enable creates, in creation order (pool, MachineConfig, RuntimeClass)."""
    out = []
    if req.create_pool:
        out.append(objects.custom_pool(req.create_pool))
    out.append(objects.machine_config(req.pool))
    out.append(objects.runtime_class(pool_node_selector(req.pool)))
    return out


@dataclass
class EnableOutcome:
    """What `enable` did. `stopped` says why it returned: `done` (rolled out, RuntimeClass ensured),
    `server-dry-run`, `paused` (the pool is paused: nothing rolls out) or `not-waiting` (--no-wait)."""

    pool: str
    stopped: str
    already_enabled: bool = False
    created: List[dict] = field(default_factory=list)   # as the API returned them (pool, MachineConfig, ...)
    labelled: List[str] = field(default_factory=list)   # node names given the pool's role label
    rollout: Optional[RolloutState] = None              # the final state when `done`
    runtime_class: Optional[dict] = None                # created, updated or found, when `done`


def enable(cluster, req: EnableRequest, reporter, monotonic: Callable[[], float] = time.monotonic) -> EnableOutcome:
    """Create what `req` asks for (server dry run: send it with dryRun=All), follow the rollout, create the
    RuntimeClass. Idempotent: a re-run reports what is there and follows a rollout in progress."""
    from ..core.preflight import preflight_enable, target_nodes
    from .cluster_facts import gather
    from .preflight import refuse_on_errors

    from .install_facts import add_install_facts

    if hasattr(cluster, "limit_to"):
        cluster.limit_to(req.timeout)  # retries of transient API errors never wait past --timeout
    facts = gather(cluster, with_pods=False)  # preflight needs no pods: skip a cluster-wide list
    add_install_facts(cluster, facts)          # the install kind: legacy installs are refused (issue 11)
    mcs = {mc["metadata"]["name"]: mc for mc in facts["mcs"]}
    existing = mcs.get(MC_NAME)
    server_dry = req.dry_run == "server"
    detail = "server dry run" if server_dry else ""

    # Idempotency: our MachineConfig already there?
    if existing is not None and objects.is_ours(existing):
        role = objects.mc_role(existing)
        if role != req.pool and (req.pool_explicit or req.create_pool):
            raise PreflightRefused(f"sandboxed containers are already enabled on pool {role} by kubectl-kata",
                                   hint=f"run `{req.prog} disable` first to move to pool {req.pool}")
        req.pool = role or req.pool  # a bare re-run follows whatever pool it was enabled on
        reporter.step(f"Sandboxed containers are already enabled on pool {req.pool} "
                      f"(machineconfig {MC_NAME} exists).")
        outcome = EnableOutcome(pool=req.pool, stopped="server-dry-run", already_enabled=True)
        if server_dry:
            return outcome
        pools = {p["metadata"]["name"]: p for p in facts["pools"]}
        if req.create_pool and req.create_pool in pools:
            outcome.labelled = _label_nodes(reporter, cluster, facts, req, dry_run=False)
        return _finish(cluster, req, facts, outcome, reporter, monotonic)

    refuse_on_errors(preflight_enable(facts, req.preflight_request()), reporter)
    nodes_to_label = target_nodes(facts, req.preflight_request()) if req.create_pool else []

    outcome = EnableOutcome(pool=req.pool, stopped="server-dry-run")
    created = outcome.created
    pools = {p["metadata"]["name"]: p for p in facts["pools"]}
    if req.create_pool and req.create_pool not in pools:
        pool_obj, made = cluster.create_or_get(objects.custom_pool(req.create_pool), dry_run=server_dry)
        if made:
            created.append(pool_obj)
            reporter.changed(created[-1], "created", detail)
        else:
            _accept_concurrent(pool_obj, req, reporter)
    mc_obj, made = cluster.create_or_get(objects.machine_config(req.pool), dry_run=server_dry)
    if made:
        created.append(mc_obj)
        reporter.changed(created[-1], "created", detail)
    else:  # another run created it between our look and our create (409 AlreadyExists)
        _accept_concurrent(mc_obj, req, reporter)
        outcome.already_enabled = True
    if req.create_pool:
        outcome.labelled = _label_nodes(reporter, cluster, facts, req, dry_run=server_dry, names=nodes_to_label)
    if server_dry:
        rc = objects.runtime_class(pool_node_selector(req.pool))
        created.append(cluster.create(rc, dry_run=True) if not _runtimeclass(facts) else rc)
        reporter.changed(rc, "created", "server dry run; really created only after the rollout")
        return outcome
    return _finish(cluster, req, facts, outcome, reporter, monotonic)


def _accept_concurrent(found: dict, req: EnableRequest, reporter) -> None:
    """Our create met an object of the same name created meanwhile. Go on as an idempotent re-run would when
    it is what we would have created (ours, same pool); refuse otherwise -- never overwrite it."""
    kind, name = found.get("kind") or "object", (found.get("metadata") or {}).get("name")
    if not objects.is_ours(found):
        owner = objects.operator_owner(found) or "someone else"
        raise PreflightRefused(f"{kind.lower()} {name} was created meanwhile by {owner} (not by kubectl-kata); "
                               "left as it is", hint="see who manages sandboxed containers on this cluster "
                                                     f"(`{req.prog} status`) before enabling")
    if kind == "MachineConfig":
        role = objects.mc_role(found)
        if role != req.pool:
            raise PreflightRefused(f"machineconfig {name} was created meanwhile by another kubectl-kata run, for "
                                   f"pool {role}", hint=f"run `{req.prog} disable` first to move to pool {req.pool}")
    reporter.step(f"{kind.lower()} {name} was created meanwhile by another kubectl-kata run; using it "
                  f"(resourceVersion {(found.get('metadata') or {}).get('resourceVersion')}).")


def _raise_if_gone(cluster) -> None:
    if cluster.get("MachineConfig", MC_NAME) is None:
        raise _MachineConfigGone()


class _MachineConfigGone(Exception):
    pass


def _gone_error(req: EnableRequest) -> RolloutFailed:
    return RolloutFailed(f"machineconfig {MC_NAME} was deleted while enable followed the rollout of pool "
                         f"{req.pool} (a concurrent `{req.prog} disable`?); sandboxed containers are not enabled",
                         hint=f"run `{req.prog} enable` again to enable them, or leave them disabled")


def _runtimeclass(facts) -> Optional[dict]:
    for rc in facts.get("runtimeclasses") or []:
        if rc["metadata"]["name"] == RUNTIMECLASS_NAME:
            return rc
    return None


def _label_nodes(reporter, cluster, facts, req, dry_run, names=None) -> List[str]:
    from ..core.preflight import target_nodes

    label = node_role_label(req.pool)
    if names is None:
        names = target_nodes(facts, req.preflight_request())
    by_name = {n["metadata"]["name"]: n for n in facts["nodes"]}
    done = []
    for name in names:
        labels = (by_name.get(name, {}).get("metadata") or {}).get("labels") or {}
        if label in labels:
            continue
        cluster.patch("Node", name, objects.node_label_patch(req.pool, add=True), dry_run=dry_run)
        reporter.changed({"kind": "Node", "metadata": {"name": name}}, f"labeled {label}",
                         "server dry run" if dry_run else "")
        done.append(name)
    return done


def _finish(cluster, req, facts, outcome: EnableOutcome, reporter, monotonic) -> EnableOutcome:
    from .follow import RecheckWhileFollowing, follow_pool

    pool_obj = next((p for p in facts["pools"] if p["metadata"]["name"] == req.pool), None)
    if not req.no_wait and pool_obj is not None and (pool_obj.get("spec") or {}).get("paused"):
        outcome.stopped = "paused"
        return outcome
    if req.no_wait:
        outcome.stopped = "not-waiting"
        return outcome
    try:
        outcome.rollout = follow_pool(cluster, req.pool, MC_NAME, True, req.timeout,
                                      RecheckWhileFollowing(reporter, monotonic, lambda: _raise_if_gone(cluster)),
                                      monotonic)
    except _MachineConfigGone:
        raise _gone_error(req) from None
    outcome.runtime_class = _ensure_runtimeclass(reporter, cluster, req)
    # A `disable` may have deleted our MachineConfig after the rollout finished and before the RuntimeClass
    # existed (it saw no RuntimeClass to delete): do not leave a RuntimeClass for nodes without kata.
    if cluster.get("MachineConfig", MC_NAME) is None:
        rc = outcome.runtime_class or {}
        if objects.is_ours(rc):
            cluster.delete("RuntimeClass", RUNTIMECLASS_NAME, uid=(rc.get("metadata") or {}).get("uid"))
            reporter.changed(rc, "deleted", f"machineconfig {MC_NAME} is gone")
        raise _gone_error(req)
    outcome.stopped = "done"
    return outcome


def _ensure_runtimeclass(reporter, cluster, req) -> Optional[dict]:
    wanted = objects.runtime_class(pool_node_selector(req.pool))
    current = cluster.get("RuntimeClass", RUNTIMECLASS_NAME)
    if current is None:
        current, made = cluster.create_or_get(wanted)
        if made:
            reporter.changed(wanted, "created")
            return current
        reporter.step(f"runtimeclass {RUNTIMECLASS_NAME} was created meanwhile"
                      f"{' by another kubectl-kata run' if objects.is_ours(current) else ''}; checking it.")
    if objects.is_ours(current):
        sel = ((current.get("scheduling") or {}).get("nodeSelector")) or {}
        if sel != wanted["scheduling"]["nodeSelector"]:
            cluster.patch("RuntimeClass", RUNTIMECLASS_NAME, {"scheduling": {"nodeSelector": None}})
            cluster.patch("RuntimeClass", RUNTIMECLASS_NAME, {"scheduling": wanted["scheduling"]})
            reporter.changed(wanted, "updated", f"nodeSelector now matches pool {req.pool}")
        return current
    reporter.warning(f"RuntimeClass {RUNTIMECLASS_NAME} exists and was not created by kubectl-kata; left as is "
                     f"(handler {current.get('handler')!r})")
    return current
