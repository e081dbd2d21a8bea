"""`kubectl kata upgrade`: migrate a legacy install to the extension, re-render an older plugin install,
or (`--check`) check a target release before the cluster upgrades."""
from __future__ import annotations

import click

from ..options import connection_options, output_option, timeout_option, verbosity_options
from ..status import ExitStatus


def _stdin_tty(env) -> bool:
    try:
        return bool(env.stdin.isatty())
    except (AttributeError, ValueError):
        return False


def _ask(env) -> bool:
    env.stderr.write("Carry out this plan? [y/N] ")
    env.stderr.flush()
    return env.stdin.readline().strip().lower() in ("y", "yes")


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--dry-run", is_flag=True,
              help="Print the plan and a unified diff of every object it would create, change or delete; "
                   "write nothing.")
@click.option("-y", "--yes", is_flag=True, help="Carry out the plan without asking (needed when not on a terminal).")
@click.option("--inspect-nodes", is_flag=True,
              help="Look for host leftovers of a legacy install on the pool's nodes (one debug pod per node, "
                   "read-only, as doctor) and print the commands that remove them. The default on a legacy "
                   "install; this forces it for the other kinds.")
@click.option("--no-inspect-nodes", is_flag=True,
              help="Do not look at the nodes, even on a legacy install (the plan then says what that risks).")
@click.option("--clean-nodes", is_flag=True,
              help="Inspect the nodes, then run the file removals shown (never packages, never a reboot); "
                   "with --dry-run only shows them.")
@click.option("--check", is_flag=True,
              help="Check a target release (--to-version or --to-image) before the cluster upgrades: "
                   "writes nothing, starts no pod.")
@click.option("--to-version", default=None, metavar="4.Y.Z", help="With --check: the target OpenShift version.")
@click.option("--to-image", default=None, metavar="PULLSPEC", help="With --check: the target release image.")
@timeout_option()
@output_option(choices=("table", "json", "yaml"))
@connection_options
@verbosity_options
@click.pass_obj
def upgrade(env, dry_run, yes, inspect_nodes, no_inspect_nodes, clean_nodes, check, to_version, to_image, timeout, output, conn):
    """Bring a kata install to the current extension-based layout.

    \b
    A legacy RPM-payload install (OCP 4.6/4.7 kata-operator) is migrated: its
    cluster objects are removed, the extension MachineConfig is created, the
    rollout is followed as `enable` does, then RuntimeClass `kata` is created.
    An install of an older kubectl-kata revision is re-rendered. At the current
    revision nothing is written. An operator-managed install is refused (exit 4).
    On a legacy install the pool's nodes are inspected first (read-only, one
    debug pod per node) and a node that still has kata-runtime layered stops
    the migration before anything is written.
    Safe to re-run after an interruption: a re-run finishes the job.
    """
    from ..context import prog_name
    from ..errors import KataError, UsageProblem

    if inspect_nodes and no_inspect_nodes:
        raise UsageProblem("--inspect-nodes and --no-inspect-nodes are mutually exclusive")
    if clean_nodes and no_inspect_nodes:
        raise UsageProblem("--clean-nodes inspects the nodes: it does not go with --no-inspect-nodes")
    if check or to_version or to_image:
        if not check:
            raise UsageProblem("--to-version and --to-image need --check")
        if bool(to_version) == bool(to_image):
            raise UsageProblem("--check needs exactly one of --to-version or --to-image")
        if dry_run or yes or inspect_nodes or clean_nodes:
            raise UsageProblem("--check writes nothing and starts no pod: --dry-run, --yes, --inspect-nodes and "
                               "--clean-nodes do not apply")
        return _check(env, conn, to_version, to_image, output)

    from ..core import upgrade_plan as up
    from ..render.output import render
    from ..services.cluster_facts import open_cluster
    from ..services.upgrading import NOT_INSPECTED_NOTE, execute, inspects_nodes, plan_for

    from ..render.reporter import CliReporter

    cluster = open_cluster(conn, env)
    plan = plan_for(cluster)
    data_out = output in ("json", "yaml")
    reporter = CliReporter(env, to_stderr=data_out)
    from ..core.installkind import KIND_LEGACY, LEGACY_MC_NAME

    if not dry_run and not yes and not plan.nothing_to_do and not _stdin_tty(env):
        # refused before any debug pod is started: nobody could confirm what the inspection would show
        raise UsageProblem("not a terminal, so nobody can confirm the plan: nothing was changed",
                           hint="pass --yes to carry it out (`--dry-run` shows the diff first)")
    hosts = None
    legacy = plan.install.kind == KIND_LEGACY
    if inspects_nodes(plan, True if (inspect_nodes or clean_nodes) else (False if no_inspect_nodes else None)):
        from ..services.host_leftovers import inspect_nodes as inspect

        legacy_mc = any(a.ref.kind == "MachineConfig" and a.ref.name == LEGACY_MC_NAME for a in plan.actions)
        # on a legacy install the inspection is a safety check: every node must be looked at
        hosts = inspect(env, conn, plan.pool or "worker", legacy_mc, reporter, required=legacy)
    elif legacy:
        plan = plan._replace(notes=list(plan.notes) + [NOT_INSPECTED_NOTE])
    if data_out:
        doc = plan.to_dict(with_diff=dry_run)
        if hosts is not None:
            doc["hostLeftovers"] = [h.to_dict() for h in hosts]
        env.out(render(doc, output))
    else:
        env.out("\n".join(up.plan_lines(plan)))
        if hosts is not None:
            env.out("\n".join(_host_lines(hosts, plan.pool or "worker")))
        if dry_run and plan.actions:
            env.out("")
            env.out(up.plan_diff(plan).rstrip("\n"))
    layered = [h.node for h in (hosts or []) if "layered-kata-runtime" in (h.leftovers or [])]
    creates_mc = any(a.ref.kind == "MachineConfig" and a.op in ("create", "change") and a.ref.name != LEGACY_MC_NAME
                     for a in plan.actions) if hosts is not None else False
    if layered and creates_mc and not dry_run:
        from ..errors import PreflightRefused

        raise PreflightRefused("node(s) %s still have the legacy kata-runtime/kata-osbuilder layered; kata-containers "
                               "conflicts with them, so layering the extension would fail in rpm-ostree and degrade "
                               "the pool (nothing was changed)" % ", ".join(layered),
                               hint="remove them first with the drain/uninstall/reboot commands printed above, "
                                    "then run upgrade again")
    to_clean = clean_nodes and any(h.commands and any(k != "layered-kata-runtime" for k in (h.leftovers or [])
                                                      if k not in h.held_by_mc) for h in (hosts or []))
    if (plan.nothing_to_do and not to_clean) or dry_run:
        return ExitStatus.SUCCESS
    if not yes:
        if not _stdin_tty(env):
            raise UsageProblem("not a terminal, so nobody can confirm the plan: nothing was changed",
                               hint="pass --yes to carry it out (`--dry-run` shows the diff first)")
        if not _ask(env):
            env.err("Not confirmed: nothing was changed.")
            return ExitStatus.PREFLIGHT_REFUSED
    try:
        result = execute(cluster, plan, reporter, timeout, env.monotonic)
        if to_clean:
            from ..services.host_leftovers import clean_nodes as clean

            clean(env, conn, hosts, reporter)
    except KeyboardInterrupt as exc:
        from ..services.follow import FollowInterrupted

        if isinstance(exc, FollowInterrupted):
            from ..render.lifecycle import interrupted_lines

            for line in interrupted_lines(exc.pool, prog_name()):
                env.err(line)
        env.err("Upgrade interrupted; what was done stays done. Run `%s upgrade` again to finish the job."
                % prog_name())
        raise
    except KataError as exc:
        if not exc.hint:
            exc.hint = "fix the cause, then run `%s upgrade` again: it carries on where this run stopped" % prog_name()
        raise
    say = env.err if data_out else env.out
    if result.paused:
        say("Pool %s is paused: nothing rolls out until it is unpaused (oc patch mcp %s --type merge -p "
            "'{\"spec\":{\"paused\":false}}'). Then run `%s upgrade` again to follow it and finish (%d step(s) "
            "done so far)." % (plan.pool, plan.pool, prog_name(), len(result.done)))
        return ExitStatus.SUCCESS
    if result.final is not None:
        say("Upgrade done: %d step(s); pool %s: %d node(s) run %s."
            % (len(result.done), plan.pool, result.final.counters.get("machineCount", 0), result.final.target))
    else:
        say("Upgrade done: %d step(s)." % len(result.done))
    return ExitStatus.SUCCESS


def _host_lines(hosts, pool):
    from ..core.installkind import HOST_LEFTOVERS

    lines = ["Host leftovers (pool %s, %d node(s) inspected):" % (pool, len(hosts))]
    for h in hosts:
        if h.leftovers is None:
            lines.append("  %s: not inspected (%s)" % (h.node, h.error))
            continue
        if not h.leftovers:
            lines.append("  %s: none" % h.node)
            continue
        lines.append("  %s: %s" % (h.node, ", ".join(HOST_LEFTOVERS[k][0] for k in h.leftovers)))
        for k in h.held_by_mc:
            lines.append("    %s is still written by MachineConfig 50-kata-crio-dropin: the MCO removes it when "
                         "upgrade deletes that MachineConfig" % HOST_LEFTOVERS[k][0])
        for c in h.commands:
            lines.append("    $ %s" % c)
    if any("layered-kata-runtime" in (h.leftovers or []) for h in hosts):
        lines.append("  note: --clean-nodes removes files only; layered packages need the drain/uninstall/reboot "
                     "commands above, one node at a time, before the extension can be layered")
    return lines


def _check(env, conn, to_version, to_image, output) -> int:
    from ..core.target_check import report_lines
    from ..render.output import render
    from ..services.target_check import TargetCheckRequest, check_target

    doc = check_target(env, conn, TargetCheckRequest(to_version=to_version, to_image=to_image, output=output))
    if output in ("json", "yaml"):
        env.out(render(doc, output))
    else:
        env.out("\n".join(report_lines(doc)))
        for n in doc.get("notes") or []:
            env.out("note: %s" % n)
    return ExitStatus.SUCCESS if doc["ok"] else ExitStatus.PROBLEMS_FOUND
