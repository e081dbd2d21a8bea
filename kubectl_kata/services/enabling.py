"""enable: complete -> validate -> run (the sample-cli-plugin options pattern)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional

from ..core import objects
from ..core.constants import (MC_NAME, RUNTIMECLASS_NAME, WORKER_POOL, node_role_label,
                              pool_node_selector)
from ..errors import PreflightRefused, UsageProblem
from ..status import ExitStatus


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
    output: str = "table"
    pool_explicit: bool = False

    @classmethod
    def from_flags(cls, pool, create_pool, node_selector, nodes, all_workers, dry_run, no_wait, timeout, output):
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
                   no_wait=no_wait, timeout=timeout, output=output, pool_explicit=bool(pool))

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


def run_enable(env, conn, req: EnableRequest) -> int:
    from ..commands._common import describe, prog, report_problems
    from ..render.output import render, to_yaml_stream

    # With -o json|yaml stdout carries only the document; the human narrative goes to stderr.
    say = env.out if req.output in ("table", "wide") else env.err

    if req.dry_run == "client":
        docs = planned_objects(req)
        if req.output == "json":
            env.out(render({"apiVersion": "v1", "kind": "List", "items": docs}, "json"))
        elif req.output == "yaml":
            env.out(to_yaml_stream(docs))
        else:
            for d in docs:
                env.out(f"{describe(d)} created (dry run)")
        if req.create_pool and req.nodes:
            env.err(f"note: would label nodes {', '.join(req.nodes)} with {node_role_label(req.pool)}=\"\"")
        elif req.create_pool:
            env.err(f"note: would label the selected nodes with {node_role_label(req.pool)}=\"\" "
                    "(which ones needs the cluster: use --dry-run=server)")
        return ExitStatus.SUCCESS

    from ..core.preflight import preflight_enable, target_nodes
    from .cluster_facts import gather, open_cluster

    cluster = open_cluster(conn, env)
    facts = gather(cluster, with_pods=False)  # preflight needs no pods: skip a cluster-wide list
    mcs = {mc["metadata"]["name"]: mc for mc in facts["mcs"]}
    existing = mcs.get(MC_NAME)
    server_dry = req.dry_run == "server"

    # Idempotency: our MachineConfig already there?
    if existing is not None and objects.is_ours(existing):
        role = objects.mc_role(existing)
        if role != req.pool and (req.pool_explicit or req.create_pool):
            raise PreflightRefused(f"sandboxed containers are already enabled on pool {role} by kubectl-kata",
                                   hint=f"run `{prog(env)} disable` first to move to pool {req.pool}")
        req.pool = role or req.pool  # a bare re-run follows whatever pool it was enabled on
        say(f"Sandboxed containers are already enabled on pool {req.pool} "
            f"(machineconfig {MC_NAME} exists).")
        if server_dry:
            return ExitStatus.SUCCESS
        pools = {p["metadata"]["name"]: p for p in facts["pools"]}
        if req.create_pool and req.create_pool in pools:
            _label_nodes(say, cluster, facts, req, dry_run=False)
        return _finish(env, cluster, req, facts, wait=not req.no_wait)

    report_problems(env, preflight_enable(facts, req.preflight_request()))
    nodes_to_label = target_nodes(facts, req.preflight_request()) if req.create_pool else []

    created = []
    pools = {p["metadata"]["name"]: p for p in facts["pools"]}
    if req.create_pool and req.create_pool not in pools:
        created.append(cluster.create(objects.custom_pool(req.create_pool), dry_run=server_dry))
        say(f"{describe(created[-1])} created{' (server dry run)' if server_dry else ''}")
    created.append(cluster.create(objects.machine_config(req.pool), dry_run=server_dry))
    say(f"{describe(created[-1])} created{' (server dry run)' if server_dry else ''}")
    if req.create_pool:
        _label_nodes(say, cluster, facts, req, dry_run=server_dry, names=nodes_to_label)
    if server_dry:
        rc = objects.runtime_class(pool_node_selector(req.pool))
        created.append(cluster.create(rc, dry_run=True) if not _runtimeclass(facts) else rc)
        say(f"{describe(rc)} created (server dry run; really created only after the rollout)")
        if req.output in ("json", "yaml"):
            env.out(render({"apiVersion": "v1", "kind": "List", "items": created}, req.output))
        return ExitStatus.SUCCESS
    return _finish(env, cluster, req, facts, wait=not req.no_wait)


def _runtimeclass(facts) -> Optional[dict]:
    for rc in facts.get("runtimeclasses") or []:
        if rc["metadata"]["name"] == RUNTIMECLASS_NAME:
            return rc
    return None


def _label_nodes(say, cluster, facts, req, dry_run, names=None) -> None:
    from ..core.preflight import target_nodes

    label = node_role_label(req.pool)
    if names is None:
        names = target_nodes(facts, req.preflight_request())
    by_name = {n["metadata"]["name"]: n for n in facts["nodes"]}
    for name in names:
        labels = (by_name.get(name, {}).get("metadata") or {}).get("labels") or {}
        if label in labels:
            continue
        cluster.patch("Node", name, objects.node_label_patch(req.pool, add=True), dry_run=dry_run)
        say(f"node/{name} labeled {label}{' (server dry run)' if dry_run else ''}")


def _finish(env, cluster, req, facts, wait: bool) -> int:
    from ..commands._common import follow, prog
    from ..render.output import render

    data_out = req.output in ("json", "yaml")
    say = env.err if data_out else env.out

    pool_obj = next((p for p in facts["pools"] if p["metadata"]["name"] == req.pool), None)
    if wait and pool_obj is not None and (pool_obj.get("spec") or {}).get("paused"):
        say(f"Pool {req.pool} is paused: nothing rolls out until it is unpaused "
                f"(oc patch mcp {req.pool} --type merge -p '{{\"spec\":{{\"paused\":false}}}}'). "
                f"Then run `{prog(env)} enable` again to follow it and create RuntimeClass {RUNTIMECLASS_NAME}.")
        return ExitStatus.SUCCESS
    if not wait:
        say(f"Not waiting for the rollout. Follow it with `{prog(env)} status --watch`; "
                f"run `{prog(env)} enable` again afterwards to create RuntimeClass {RUNTIMECLASS_NAME}.")
        return ExitStatus.SUCCESS
    final = follow(env, cluster, req.pool, MC_NAME, True, req.timeout, to_stderr=data_out)
    rc = _ensure_runtimeclass(env, say, cluster, req)
    n = final.counters.get("machineCount", 0)
    say(f"Sandboxed containers are enabled on pool {req.pool}: {n} node(s) run {final.target}.")
    if rc:
        say(f"Pods with `runtimeClassName: {RUNTIMECLASS_NAME}` now run in Kata VMs on those nodes.")
    if data_out:
        from ..core.statusreport import build_status
        from .cluster_facts import gather

        env.out(render(build_status(gather(cluster), req.pool), req.output))
    return ExitStatus.SUCCESS


def _ensure_runtimeclass(env, say, cluster, req) -> Optional[dict]:
    from ..commands._common import describe

    wanted = objects.runtime_class(pool_node_selector(req.pool))
    current = cluster.get("RuntimeClass", RUNTIMECLASS_NAME)
    if current is None:
        created = cluster.create(wanted)
        say(f"{describe(wanted)} created")
        return created
    if objects.is_ours(current):
        sel = ((current.get("scheduling") or {}).get("nodeSelector")) or {}
        if sel != wanted["scheduling"]["nodeSelector"]:
            cluster.patch("RuntimeClass", RUNTIMECLASS_NAME, {"scheduling": {"nodeSelector": None}})
            cluster.patch("RuntimeClass", RUNTIMECLASS_NAME, {"scheduling": wanted["scheduling"]})
            say(f"{describe(wanted)} updated (nodeSelector now matches pool {req.pool})")
        return current
    env.err(f"warning: RuntimeClass {RUNTIMECLASS_NAME} exists and was not created by kubectl-kata; left as is "
            f"(handler {current.get('handler')!r})")
    return current
