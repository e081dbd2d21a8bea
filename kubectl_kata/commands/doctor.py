"""`kubectl kata doctor`: diagnose nodes and cluster objects against the release's expected packages."""
from __future__ import annotations

import click

from ..options import _duration_callback, connection_options, output_option, verbosity_options
from ..status import ExitStatus


def _positive_duration(ctx, param, value):
    seconds = _duration_callback(ctx, param, value)
    if seconds is None:
        raise click.BadParameter("must be a positive duration (e.g. 5m, 300s)", param_hint="--node-timeout")
    return seconds


class DoctorGroup(click.Group):
    """`doctor` diagnoses when run alone; `doctor diff` is its one subcommand. Options given to `doctor` before
    `diff` are refused rather than silently ignored."""

    def format_usage(self, ctx, formatter):
        formatter.write_usage(ctx.command_path, "[OPTIONS]")
        formatter.write_usage(ctx.command_path, "diff [OPTIONS] BEFORE AFTER", prefix="   or: ")


@click.group(cls=DoctorGroup, invoke_without_command=True, subcommand_metavar="[diff BEFORE AFTER]",
             context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--pool", default=None, metavar="NAME",
              help="Pool to diagnose (default: the pool kata is enabled on, else kata-oc, else worker).")
@click.option("--node", "nodes", multiple=True, metavar="NAME", help="Diagnose this node (repeatable).")
@click.option("--selector", "-l", default=None, metavar="SELECTOR", help="Diagnose the nodes matching this "
              "label selector (e.g. 'node-role.kubernetes.io/kata-oc=').")
@click.option("--via", type=click.Choice(["auto", "daemonset", "oc", "kubectl"]), default="auto", show_default=True,
              help="How to reach nodes: one DaemonSet pod per node (daemonset), `oc debug node/N` (oc) or "
                   "`kubectl debug node/N` (kubectl); auto takes the DaemonSet for more than 20 nodes when the "
                   "user may create DaemonSets and use the privileged SCC, else oc (kubectl without oc).")
@click.option("--image", default=None, metavar="IMAGE",
              help="Debug pod image (air-gapped/mirrored clusters). Default: oc's default; with kubectl and the "
                   "DaemonSet the support-tools image of the release.")
@click.option("--parallel", default=10, show_default=True, type=int, metavar="N",
              help="Nodes probed at the same time.")
@click.option("--node-timeout", default="5m", show_default=True, callback=_positive_duration, metavar="DURATION",
              help="Give up on a node after this long (it is reported with the cause; the rest goes on).")
@click.option("--expected", "expected", default=None, metavar="FILE",
              help="Expected versions from an extensions.json, a repodata directory or a saved expectation "
                   "(default: the cluster release's extensions image, else pool consensus).")
@click.option("--bundle", default=None, metavar="PATH", help="Also write a support bundle (.tar.gz) to PATH.")
@click.option("--from", "from_path", default=None, metavar="PATH",
              help="Analyse a support bundle or a must-gather (tarball or directory) offline; no cluster needed.")
@output_option()
@connection_options
@verbosity_options
@click.pass_context
def doctor(ctx, pool, nodes, selector, via, image, parallel, node_timeout, expected, bundle, from_path, output,
           conn):
    """Diagnose sandboxed containers on the pool's nodes: one debug pod per node, every check at once.

    `doctor --from PATH` analyses a support bundle or a must-gather instead;
    `doctor diff BEFORE AFTER` shows what changed between two of them.

    \b
    Exit status: 0 no problems, 1 problems found (including nodes that could
    not be probed -- they are reported), 2 bad usage or unreadable bundle
    or must-gather, 3 doctor could not run (cluster unreachable, no node
    could be probed for lack of permissions or tools), 130 interrupted
    (debug pods and the namespace are removed first).
    """
    if ctx.invoked_subcommand:
        given = [p.opts[0] for p in ctx.command.params
                 if isinstance(p, click.Option) and ctx.get_parameter_source(p.name) == click.core.ParameterSource.COMMANDLINE]
        if given:
            raise click.UsageError("%s: doctor's options do not apply to `diff`; put diff's own options after it "
                                   "(`doctor diff -o json BEFORE AFTER`)" % ", ".join(given), ctx=ctx)
        return None
    env = ctx.obj
    from ..render.doctor_progress import DoctorTerminalReporter
    from ..services.doctor import DoctorRequest, run_doctor

    req = DoctorRequest(pool=pool, nodes=list(nodes), selector=selector, via=via, image=image, parallel=parallel,
                        node_timeout=node_timeout, expected=expected, bundle=bundle, from_path=from_path)
    result = run_doctor(env, conn, req, reporter=DoctorTerminalReporter(env))
    if result.bundle:
        env.err("support bundle written to %s" % result.bundle)
    _print(env, result.report, output)
    if result.interrupted:
        done = result.report["interrupted"]
        left = done["nodes"]
        env.err("Interrupted: partial report, %d of %d node(s) finished%s. Debug pods and namespace removed.%s"
                % (done["finished"], done["total"], ("; not finished: " + ", ".join(left)) if left else "",
                   " No support bundle written." if result.bundle_dropped else ""))
    elif result.status == ExitStatus.CLUSTER_ERROR:
        env.err("error: no node could be probed (%s); the report above is incomplete"
                % ", ".join(result.failed_reasons))
    return result.status


def _print(env, doc, output: str) -> None:
    if output in ("json", "yaml"):
        from ..render.output import render

        env.out(render(doc, output))
    else:
        from ..render.doctor_report import render_table

        env.out(render_table(doc, wide=output == "wide"))


@doctor.command("diff", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("before", metavar="BEFORE", type=click.Path())
@click.argument("after", metavar="AFTER", type=click.Path())
@click.option("--expected", "expected", default=None, metavar="FILE",
              help="Expected versions for both sides' findings (an extensions.json, a repodata directory or a "
                   "saved expectation); default: what each side used.")
@output_option(choices=("table", "json", "yaml"))
@verbosity_options
@click.pass_obj
def diff(env, before, after, expected, output):
    """Show what changed on the nodes between two bundles or must-gathers.

    BEFORE and AFTER are each a kubectl-kata support bundle or a must-gather
    (tarball or directory). No cluster is needed.

    Per node: packages added, removed and changed (compared as RPM versions), the kata binaries' versions, the
    booted OS image, the MachineConfig the node runs; findings new, resolved and unchanged; nodes only on one
    side. Nodes with identical changes are folded together.

    \b
    Exit status (as kubectl diff): 0 no differences, 1 differences,
    2 bad usage or an unreadable/unsafe bundle or must-gather.
    """
    from ..services.doctor.offline import diff_sources

    doc = diff_sources(before, after, expected)
    if output in ("json", "yaml"):
        from ..render.output import render

        env.out(render(doc, output))
    else:
        from ..render.diff_view import render_diff_table

        env.out(render_diff_table(doc))
    return ExitStatus.SUCCESS if doc["identical"] else ExitStatus.PROBLEMS_FOUND
