"""`kubectl kata status`: where sandboxed containers stand, at a glance."""
from __future__ import annotations

import click

from ..options import connection_options, output_option, timeout_option, verbosity_options
from ..status import ExitStatus
from ._common import presenting


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--pool", default=None, metavar="NAME",
              help="Pool to report on (default: the pool kata is enabled on, else kata-oc, else worker).")
@click.option("-w", "--watch", is_flag=True,
              help="After printing, follow the pool's rollout until it is done or degraded.")
@timeout_option(default="0", help_text="With --watch: stop following after this long (0 = until done or Ctrl-C).")
@output_option()
@connection_options
@verbosity_options
@click.pass_obj
def status(env, pool, watch, timeout, output, conn):
    """Show whether kata is enabled, on which pool, the rollout, the nodes, RuntimeClass and kata pods.

    Exit status 0 when the report could be made (whatever it says); with --watch, the rollout's
    outcome decides (5 degraded, 6 timeout).
    """
    from ..render.output import render
    from ..render.status_view import render_status
    from ..services.cluster_facts import open_cluster
    from ..services.status import status_report

    cluster = open_cluster(conn, env)
    doc = status_report(cluster, pool)
    if output in ("json", "yaml"):
        env.out(render(doc, output))
    else:
        env.out(render_status(doc, wide=output == "wide"))
    if watch and doc.get("pool"):
        from ..render.reporter import CliReporter
        from ..services.status import watch_status

        env.out("")
        with presenting(env):
            watch_status(cluster, doc, timeout, CliReporter(env), env.monotonic)
    return ExitStatus.SUCCESS
