"""`kubectl kata disable`: remove what enable created and follow the rollout back."""
from __future__ import annotations

import click

from ..options import connection_options, timeout_option, verbosity_options
from ..status import ExitStatus


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
    from ..services.disabling import run_disable

    return run_disable(env, conn, force=force, dry_run=dry_run, no_wait=no_wait, timeout=timeout) \
        or ExitStatus.SUCCESS
