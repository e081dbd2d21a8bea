"""`kubectl kata version`: plugin version, and with a cluster the OpenShift and Kubernetes versions."""
from __future__ import annotations

import click

from .. import __version__
from ..options import connection_options, output_option, verbosity_options
from ..status import ExitStatus


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--client", "client_only", is_flag=True, help="Print only the plugin version; do not contact the cluster.")
@output_option(choices=("table", "json", "yaml"))
@connection_options
@verbosity_options
@click.pass_obj
def version(env, client_only, output, conn):
    """Print the plugin version and the OpenShift / Kubernetes versions of the cluster."""
    from ..render.output import render

    data = {"kubectlKata": f"v{__version__}"}
    error = None
    if not client_only:
        from ..errors import KataError
        from ..services.cluster_facts import cluster_versions

        try:
            data.update(cluster_versions(conn, env))
        except KataError as exc:
            error = exc
    if output == "table":
        from ..render.version_view import render_version

        env.out(render_version(data))
    else:
        env.out(render(data, output))
    if error is not None:
        raise error
    return ExitStatus.SUCCESS
