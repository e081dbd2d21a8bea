"""`kubectl kata doctor`: diagnose nodes and cluster objects against the release's expected packages."""
from __future__ import annotations

import click

from ..options import _duration_callback, connection_options, output_option, verbosity_options


def _positive_duration(ctx, param, value):
    seconds = _duration_callback(ctx, param, value)
    if seconds is None:
        raise click.BadParameter("must be a positive duration (e.g. 5m, 300s)", param_hint="--node-timeout")
    return seconds


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--pool", default=None, metavar="NAME",
              help="Pool to diagnose (default: the pool kata is enabled on, else kata-oc, else worker).")
@click.option("--node", "nodes", multiple=True, metavar="NAME", help="Diagnose this node (repeatable).")
@click.option("--selector", "-l", default=None, metavar="SELECTOR", help="Diagnose the nodes matching this "
              "label selector (e.g. 'node-role.kubernetes.io/kata-oc=').")
@click.option("--via", type=click.Choice(["oc", "kubectl"]), default=None,
              help="How to reach nodes: `oc debug node/N` (default when oc is on PATH) or `kubectl debug node/N`.")
@click.option("--image", default=None, metavar="IMAGE",
              help="Debug pod image (air-gapped/mirrored clusters). Default: oc's default; with kubectl the "
                   "support-tools image of the release.")
@click.option("--parallel", default=10, show_default=True, type=int, metavar="N",
              help="Nodes probed at the same time.")
@click.option("--node-timeout", default="5m", show_default=True, callback=_positive_duration, metavar="DURATION",
              help="Give up on a node after this long (it is reported with the cause; the rest goes on).")
@click.option("--expected", "expected", default=None, metavar="FILE",
              help="Expected versions from an extensions.json, a repodata directory or a saved expectation "
                   "(default: the cluster release's extensions image, else pool consensus).")
@click.option("--bundle", default=None, metavar="PATH", help="Also write a support bundle (.tar.gz) to PATH.")
@click.option("--from", "from_path", default=None, metavar="PATH",
              help="Re-analyse a support bundle (tarball or directory) offline; no cluster needed.")
@output_option()
@connection_options
@verbosity_options
@click.pass_obj
def doctor(env, pool, nodes, selector, via, image, parallel, node_timeout, expected, bundle, from_path, output,
           conn):
    """Diagnose sandboxed containers on the pool's nodes: one debug pod per node, every check at once.

    \b
    Exit status: 0 no problems, 1 problems found (including nodes that could
    not be probed -- they are reported), 2 bad usage or unreadable bundle,
    3 doctor could not run (cluster unreachable, no node could be probed for
    lack of permissions or tools), 130 interrupted (debug pods and the
    namespace are removed first).
    """
    from ..services.doctor import DoctorRequest, run_doctor

    req = DoctorRequest(pool=pool, nodes=list(nodes), selector=selector, via=via, image=image, parallel=parallel,
                        node_timeout=node_timeout, expected=expected, output=output, bundle=bundle,
                        from_path=from_path)
    return run_doctor(env, conn, req)
