"""Small helpers shared by the cluster-changing commands (no kubernetes import here)."""
from __future__ import annotations

from typing import List

from ..errors import PreflightRefused

RESUME_HINT = "the rollout carries on in the cluster; follow it with `{prog} status --watch`"


def prog(env) -> str:
    from ..cli import prog_name

    return prog_name()


def report_problems(env, problems) -> None:
    """Print warnings; raise PreflightRefused listing every error (nothing has been changed yet)."""
    errors = [p for p in problems if p.severity == "error"]
    for p in problems:
        if p.severity != "error":
            env.err(f"warning: {p.message}")
            if p.hint:
                env.err(f"  hint: {p.hint}")
    if not errors:
        return
    if len(errors) == 1:
        raise PreflightRefused(f"{errors[0].message} (nothing was changed)", hint=errors[0].hint)
    for p in errors[1:]:
        env.err(f"error: {p.message}")
        if p.hint:
            env.err(f"  hint: {p.hint}")
    first = errors[0]
    raise PreflightRefused(f"{first.message} (and {len(errors) - 1} more problem(s) above; nothing was changed)",
                           hint=first.hint)


def describe(obj: dict) -> str:
    """`machineconfig.machineconfiguration.openshift.io/<name>` as kubectl prints it."""
    from ..kube.resources import resource

    r = resource(obj["kind"])
    kind = obj["kind"].lower()
    return f"{kind}.{r.group}/{obj['metadata']['name']}" if r.group else f"{kind}/{obj['metadata']['name']}"


def follow(env, cluster, pool: str, mc_name: str, expect_present: bool, timeout, to_stderr: bool = False):
    """Follow the pool's rollout with live progress; Ctrl-C stops following, not the rollout.

    `to_stderr` keeps stdout clean for a -o json|yaml document printed afterwards."""
    from ..render.progress import RolloutPrinter
    from ..services.follow import follow_rollout

    printer = RolloutPrinter(env, pool, stderr=to_stderr)
    final = None
    try:
        final = follow_rollout(cluster, pool, mc_name, expect_present, timeout, printer, env.monotonic)
        return final
    except KeyboardInterrupt:
        printer.close(final)
        env.err("")
        env.err(f"Stopped following pool {pool}. " + RESUME_HINT.format(prog=prog(env)) + ".")
        raise
    finally:
        printer.close(final)


def node_names(nodes: List[dict]) -> List[str]:
    return [n["metadata"]["name"] for n in nodes]
