"""Text for what enable/disable did (services.enabling.EnableOutcome, services.disabling.DisableOutcome),
for what an enable would do (--dry-run=client), and for why they stopped. Data in, lines out."""
from __future__ import annotations

from typing import List, Optional

from ..core.constants import MC_NAME, RUNTIMECLASS_NAME, WORKER_POOL, node_role_label

RESUME_HINT = "the rollout carries on in the cluster; follow it with `{prog} status --watch`"


def planned_lines(docs: List[dict]) -> List[str]:
    from .objects import changed_line

    return [changed_line(d, "created", "dry run") for d in docs]


def planned_label_note(req) -> str:
    """What --dry-run=client cannot show: which nodes a new custom pool would take."""
    label = node_role_label(req.pool)
    if req.nodes:
        return f"would label nodes {', '.join(req.nodes)} with {label}=\"\""
    return f"would label the selected nodes with {label}=\"\" (which ones needs the cluster: use --dry-run=server)"


def enable_result_lines(outcome, prog: str) -> List[str]:
    pool = outcome.pool
    if outcome.stopped == "paused":
        return [f"Pool {pool} is paused: nothing rolls out until it is unpaused "
                f"(oc patch mcp {pool} --type merge -p '{{\"spec\":{{\"paused\":false}}}}'). "
                f"Then run `{prog} enable` again to follow it and create RuntimeClass {RUNTIMECLASS_NAME}."]
    if outcome.stopped == "not-waiting":
        return [f"Not waiting for the rollout. Follow it with `{prog} status --watch`; "
                f"run `{prog} enable` again afterwards to create RuntimeClass {RUNTIMECLASS_NAME}."]
    if outcome.stopped != "done":
        return []
    final = outcome.rollout
    n = final.counters.get("machineCount", 0)
    lines = [f"Sandboxed containers are enabled on pool {pool}: {n} node(s) run {final.target}."]
    if outcome.runtime_class:
        lines.append(f"Pods with `runtimeClassName: {RUNTIMECLASS_NAME}` now run in Kata VMs on those nodes.")
    return lines


def disable_result_lines(outcome, prog: str) -> List[str]:
    pool = outcome.pool
    if outcome.stopped == "nothing-to-do":
        return ["Sandboxed containers are not enabled by kubectl-kata on this cluster; nothing to do."]
    if outcome.stopped == "nodes-returning":
        return [f"Not waiting. The nodes return to pool {WORKER_POOL}; run `{prog} disable` again "
                f"afterwards to delete machineconfig {MC_NAME} and pool {pool}."]
    if outcome.stopped == "not-waiting":
        return [f"Not waiting for the rollout. Follow it with `{prog} status --watch`."]
    if outcome.stopped == "done":
        return [f"Sandboxed containers are disabled{' on pool ' + pool if pool else ''}."]
    return []


def problem_lines(problems) -> List[str]:
    """The preflight errors shown above the one the error line names."""
    lines = []
    for p in problems:
        lines.append(f"error: {p.message}")
        if p.hint:
            lines.append(f"  hint: {p.hint}")
    return lines


def kata_pod_lines(pods: List[dict]) -> List[str]:
    return [f"  {p['namespace']}/{p['name']} on {p['node']} (runtimeClassName {p['runtimeClassName']})" for p in pods]


def interrupted_lines(pool: str, prog: str, verb: Optional[str] = None) -> List[str]:
    lines = ["", f"Stopped following pool {pool}. " + RESUME_HINT.format(prog=prog) + "."]
    if verb:
        lines.append(rerun_line(verb, prog))
    return lines


def rerun_line(verb: str, prog: str) -> str:
    """How to finish after an interruption (Ctrl-C, SIGTERM, SIGHUP): both verbs are safe to re-run."""
    then = {"enable": "it reports what is already there, follows the rollout and then creates RuntimeClass kata",
            "disable": "it deletes what this run did not get to and follows the nodes back, or says nothing is left"}.get(verb, "it is safe to re-run")
    return f"To finish, run `{prog} {verb}` again with the same flags: {then}."


def stopped_lines(verb: str, prog: str) -> List[str]:
    """Interrupted outside the rollout wait (preflight, while creating or deleting objects)."""
    return ["", f"Interrupted before {verb} finished; what it already changed stays in the cluster.",
            rerun_line(verb, prog)]
