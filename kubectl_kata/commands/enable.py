"""`kubectl kata enable`: create the extension MachineConfig (and a custom pool if asked) and follow the rollout."""
from __future__ import annotations

import click

from ..options import connection_options, output_option, timeout_option, verbosity_options
from ..status import ExitStatus


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--pool", default=None, metavar="NAME",
              help="Existing pool to enable on (default: worker; master on a converged cluster is refused "
                   "unless you name it).")
@click.option("--create-pool", default=None, metavar="NAME",
              help="Create a custom pool (normally kata-oc) the way the sandboxed containers operator does, "
                   "and move the chosen nodes into it.")
@click.option("--node-selector", default=None, metavar="SELECTOR",
              help="With --create-pool: label selector choosing the nodes (e.g. 'kata=true').")
@click.option("--nodes", default=None, metavar="N1,N2", help="With --create-pool: comma-separated node names.")
@click.option("--all-workers", is_flag=True, help="With --create-pool: every worker node.")
@click.option("--dry-run", type=click.Choice(["none", "client", "server"]), default="none", show_default=True,
              help="client: print the objects, contact nothing; server: send them with dryRun=All.")
@click.option("--no-wait", is_flag=True, help="Create the objects and return without following the rollout.")
@timeout_option()
@output_option()
@connection_options
@verbosity_options
@click.pass_obj
def enable(env, pool, create_pool, node_selector, nodes, all_workers, dry_run, no_wait, timeout, output, conn):
    """Turn on sandboxed containers (Kata) through the RHCOS `sandboxed-containers` extension.

    Creates MachineConfig 50-enable-sandboxed-containers-extension for the pool, waits until every
    node of the pool runs a rendered config that includes it, then creates RuntimeClass `kata`.
    Re-running it is safe: it reports what is already there and follows a rollout in progress.
    """
    from ..services.enabling import EnableRequest, run_enable

    req = EnableRequest.from_flags(pool=pool, create_pool=create_pool, node_selector=node_selector, nodes=nodes,
                                   all_workers=all_workers, dry_run=dry_run, no_wait=no_wait, timeout=timeout,
                                   output=output)
    return run_enable(env, conn, req) or ExitStatus.SUCCESS
