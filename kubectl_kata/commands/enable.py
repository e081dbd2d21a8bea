"""`kubectl kata enable`: create the extension MachineConfig (and a custom pool if asked) and follow the rollout."""
from __future__ import annotations

import click

from ..options import connection_options, output_option, timeout_option, verbosity_options
from ..status import ExitStatus
from ._common import presenting, prog


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
    from ..render.output import render, to_yaml_stream
    from ..services.enabling import EnableRequest, planned_objects

    req = EnableRequest.from_flags(pool=pool, create_pool=create_pool, node_selector=node_selector, nodes=nodes,
                                   all_workers=all_workers, dry_run=dry_run, no_wait=no_wait, timeout=timeout,
                                   prog=prog(env))
    data_out = output in ("json", "yaml")
    if req.dry_run == "client":  # the plan only: contact nothing
        from ..render.lifecycle import planned_label_note, planned_lines

        docs = planned_objects(req)
        if output == "json":
            env.out(render({"apiVersion": "v1", "kind": "List", "items": docs}, "json"))
        elif output == "yaml":
            env.out(to_yaml_stream(docs))
        else:
            for line in planned_lines(docs):
                env.out(line)
        if req.create_pool:
            env.err(f"note: {planned_label_note(req)}")
        return ExitStatus.SUCCESS

    from ..render.lifecycle import enable_result_lines
    from ..render.reporter import CliReporter
    from ..services.cluster_facts import open_cluster
    from ..services.enabling import enable as run_enable

    # With -o json|yaml stdout carries only the document; the human narrative goes to stderr.
    reporter = CliReporter(env, to_stderr=data_out)
    cluster = open_cluster(conn, env)
    with presenting(env, "enable"):
        outcome = run_enable(cluster, req, reporter, env.monotonic)
    for line in enable_result_lines(outcome, req.prog):
        reporter.step(line)
    if data_out and outcome.stopped == "server-dry-run" and not outcome.already_enabled:
        env.out(render({"apiVersion": "v1", "kind": "List", "items": outcome.created}, output))
    elif data_out and outcome.stopped == "done":
        from ..services.status import status_report

        env.out(render(status_report(cluster, outcome.pool), output))
    return ExitStatus.SUCCESS
