"""disable: remove only what kubectl-kata created, in an order that is safe to interrupt and re-run.

Order: refuse on operator-owned objects or running kata pods -> delete RuntimeClass kata (no new
kata pods) -> custom pool: unlabel its nodes, follow `worker` until they run its config (one
reboot each), delete our MachineConfig and the now-empty pool -> standard pool: delete our
MachineConfig and follow the pool until no node runs a config that includes it.
Every step first looks at the cluster, so a re-run after Ctrl-C continues where it stopped.
"""
from __future__ import annotations

from ..core import objects
from ..core.constants import MC_NAME, RUNTIMECLASS_NAME, STANDARD_POOLS, WORKER_POOL, node_role_label
from ..errors import PreflightRefused
from ..status import ExitStatus


def run_disable(env, conn, force: bool, dry_run: str, no_wait: bool, timeout) -> int:
    from ..commands._common import follow, prog, report_problems
    from ..core.preflight import preflight_disable
    from .cluster_facts import gather, open_cluster
    from .follow import pool_nodes

    cluster = open_cluster(conn, env)
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
        env.out("Sandboxed containers are not enabled by kubectl-kata on this cluster; nothing to do.")
        return ExitStatus.SUCCESS
    report_problems(env, preflight_disable(facts, pool))

    members = pool_nodes(facts["pools"], facts["nodes"], pool) if pool in pools else []
    member_names = {n["metadata"]["name"] for n in members}
    blocking = [p for p in facts.get("kata_pods") or [] if p.get("node") in member_names]
    if blocking and not force:
        for p in blocking[:20]:
            env.err(f"  {p['namespace']}/{p['name']} on {p['node']} (runtimeClassName {p['runtimeClassName']})")
        more = f" (first 20 of {len(blocking)} shown)" if len(blocking) > 20 else ""
        raise PreflightRefused(f"{len(blocking)} pod(s) with a kata RuntimeClass run on pool {pool}{more}",
                               hint="delete or move them first, or pass --force (they stop working when the "
                                    "nodes reboot without kata)")

    dry = dry_run != "none"
    server_dry = dry_run == "server"
    suffix = " (dry run)" if dry_run == "client" else (" (server dry run)" if server_dry else "")

    def delete(kind, obj, label):
        if dry_run == "client":
            env.out(f"{label} deleted{suffix}")
            return
        if cluster.delete(kind, obj["metadata"]["name"], dry_run=server_dry, uid=obj["metadata"].get("uid")):
            env.out(f"{label} deleted{suffix}")

    if rc is not None and objects.is_ours(rc):
        delete("RuntimeClass", rc, f"runtimeclass.node.k8s.io/{RUNTIMECLASS_NAME}")
    elif rc is not None:
        env.err(f"warning: RuntimeClass {RUNTIMECLASS_NAME} was not created by kubectl-kata; left in place")

    custom = pool is not None and pool not in STANDARD_POOLS
    if custom:
        label = node_role_label(pool)
        labelled = [n for n in facts["nodes"] if label in ((n.get("metadata") or {}).get("labels") or {})]
        for n in labelled:
            name = n["metadata"]["name"]
            if dry_run != "client":
                cluster.patch("Node", name, objects.node_label_patch(pool, add=False), dry_run=server_dry)
            env.out(f"node/{name} unlabeled {label}{suffix}")
        if not dry and not no_wait:
            # Also on a re-run after Ctrl-C (labels already gone): make sure the nodes got back.
            if labelled:
                env.out(f"Waiting for {len(labelled)} node(s) to return to pool {WORKER_POOL}...")
            follow(env, cluster, WORKER_POOL, MC_NAME, False, timeout)
        elif labelled and no_wait and not dry:
            env.out(f"Not waiting. The nodes return to pool {WORKER_POOL}; run `{prog(env)} disable` again "
                    f"afterwards to delete machineconfig {MC_NAME} and pool {pool}.")
            return ExitStatus.SUCCESS
        if mc is not None:
            delete("MachineConfig", mc, f"machineconfig.machineconfiguration.openshift.io/{MC_NAME}")
        p = pools.get(pool)
        if p is not None and objects.is_ours(p):
            delete("MachineConfigPool", p, f"machineconfigpool.machineconfiguration.openshift.io/{pool}")
        elif p is not None:
            env.err(f"warning: pool {pool} was not created by kubectl-kata; left in place")
    else:
        if mc is not None:
            delete("MachineConfig", mc, f"machineconfig.machineconfiguration.openshift.io/{MC_NAME}")
        if pool and not dry and not no_wait:
            follow(env, cluster, pool, MC_NAME, False, timeout)
        elif pool and no_wait and not dry:
            env.out(f"Not waiting for the rollout. Follow it with `{prog(env)} status --watch`.")
            return ExitStatus.SUCCESS
    if not dry:
        env.out(f"Sandboxed containers are disabled{' on pool ' + pool if pool else ''}.")
    return ExitStatus.SUCCESS
