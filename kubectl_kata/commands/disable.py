"""`kubectl kata disable`: remove what enable created and follow the rollout back."""
from __future__ import annotations

import click

from ..options import connection_options, timeout_option, verbosity_options
from ..status import ExitStatus
from ._common import presenting, prog


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--force", is_flag=True, help="Disable even while pods with a kata RuntimeClass run on the pool.")
@click.option("--dry-run", type=click.Choice(["none", "client", "server"]), default="none", show_default=True,
              help="client/server: say what would be removed; server also sends the deletes with dryRun=All.")
@click.option("--no-wait", is_flag=True, help="Remove the objects and return without following the rollout.")
@timeout_option()
@connection_options
@verbosity_options
@click.pass_obj
def disable(env, force, dry_run, no_wait, timeout, conn):
    """Turn off sandboxed containers that kubectl kata enabled.

    Deletes RuntimeClass `kata` and MachineConfig 50-enable-sandboxed-containers-extension (only
    objects kubectl-kata created; operator-owned ones are refused) and follows the rollout. For a
    custom pool it moves the nodes back to worker first, then deletes the pool. Safe to re-run.
    """
    from ..render.lifecycle import disable_result_lines
    from ..render.reporter import CliReporter
    from ..services.cluster_facts import open_cluster
    from ..services.disabling import DisableRequest
    from ..services.disabling import disable as run_disable

    req = DisableRequest(force=force, dry_run=dry_run, no_wait=no_wait, timeout=timeout)
    reporter = CliReporter(env)
    cluster = open_cluster(conn, env)
    with presenting(env, "disable"):
        outcome = run_disable(cluster, req, reporter, env.monotonic)
    for line in disable_result_lines(outcome, prog(env)):
        reporter.step(line)
    return ExitStatus.SUCCESS
