"""Command registry and the single error boundary.

Commands are imported only when invoked (click's LazyGroup pattern), so ``--help``, ``version``
and completion stay close to kubectl's own start-up time.
"""
from __future__ import annotations

import importlib
import importlib.util
import signal
import sys
from typing import List, Optional

import click

from . import interrupts
from .context import Environment, prog_name
from .errors import KataError
from .status import ExitStatus

# name -> "module:attribute"; the order is the order shown in --help.
COMMANDS = {
    "enable": ("kubectl_kata.commands.enable:enable", "Turn on sandboxed containers on a pool and follow the rollout."),
    "disable": ("kubectl_kata.commands.disable:disable", "Turn off sandboxed containers and follow the rollout."),
    "status": ("kubectl_kata.commands.status:status", "Show where sandboxed containers stand on the cluster."),
    "upgrade": ("kubectl_kata.commands.upgrade:upgrade", "Migrate or re-render a kata install; --check a target release."),
    "doctor": ("kubectl_kata.commands.doctor:doctor", "Diagnose nodes against the release's expected packages."),
    "version": ("kubectl_kata.commands.version:version", "Print the plugin, OpenShift and Kubernetes versions."),
    "completion": ("kubectl_kata.commands.completion:completion", "Print a shell completion script (bash, zsh, fish)."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return [name for name in COMMANDS if self._available(name)]

    def _available(self, name):
        module = COMMANDS[name][0].split(":")[0]
        return importlib.util.find_spec(module) is not None

    def get_command(self, ctx, name):
        if name not in COMMANDS or not self._available(name):
            return None
        module_name, attr = COMMANDS[name][0].split(":")
        return getattr(importlib.import_module(module_name), attr)

    def format_commands(self, ctx, formatter):
        # Short help comes from the registry so --help never imports the command modules.
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(cls=LazyGroup, context_settings=CONTEXT_SETTINGS)
@click.option("-v", "--verbose", count=True, help="Repeat for more detail: -v shows tracebacks, -vv API requests.")
@click.option("--no-color", is_flag=True, help="Do not colour output (also: NO_COLOR environment variable).")
@click.pass_context
def cli(ctx, verbose, no_color):
    """Manage OpenShift sandboxed containers (Kata) through the RHCOS extension.

    \b
    enable/disable create or remove the MachineConfig that layers the
    `sandboxed-containers` extension (kata-containers + QEMU) and follow the pool
    rollout; status shows where things stand; doctor diagnoses nodes.
    """
    env = ctx.obj
    env.verbosity = max(env.verbosity, verbose)
    env.no_color_flag = env.no_color_flag or no_color


def main(argv: Optional[List[str]] = None, env: Optional[Environment] = None) -> int:
    """Run the CLI and return the exit status. The one place exceptions become exit codes.

    SIGINT, SIGTERM and SIGHUP take one path (``interrupts``): each becomes a KeyboardInterrupt, so every verb
    cleans up as on Ctrl-C, and the run exits 128 + the signal's number (130, 143, 129)."""
    env = env or Environment()
    args = list(sys.argv[1:] if argv is None else argv)
    restore = interrupts.install()
    try:
        rv = _run(args, env)
    except KeyboardInterrupt:           # a second Ctrl-C while the boundary was printing
        rv = ExitStatus.INTERRUPTED
    except OSError:                     # e.g. EIO: the terminal went away (SIGHUP) while we printed
        if interrupts.received() is None:
            raise
        rv = ExitStatus.INTERRUPTED
    finally:
        restore()
    if rv == ExitStatus.INTERRUPTED:
        return interrupts.exit_status(rv)
    return rv


def _interrupted_line() -> str:
    sig = interrupts.received()
    if sig is None or sig == signal.SIGINT:
        return "Interrupted."
    return "Interrupted by %s." % interrupts.signal_name(sig)


def _run(args: List[str], env: Environment) -> int:
    try:
        rv = cli.main(args=args, prog_name=prog_name(), obj=env, standalone_mode=False)
        if isinstance(rv, int):
            return int(rv)
        return ExitStatus.SUCCESS
    except click.exceptions.Exit as exc:  # --help, --version
        return exc.exit_code
    except click.exceptions.Abort as exc:   # click turns a KeyboardInterrupt (any of our signals) into Abort
        try:
            env.err(_interrupted_line() if isinstance(exc.__cause__, KeyboardInterrupt) else "Aborted.")
        except OSError:
            pass
        return ExitStatus.INTERRUPTED
    except click.ClickException as exc:
        env.err(f"error: {exc.format_message()}")
        ctx_hint = getattr(exc, "ctx", None)
        if ctx_hint is not None:
            env.err(f"See '{ctx_hint.command_path} --help'.")
        return ExitStatus.USAGE
    except KataError as exc:
        env.err(f"error: {exc.message}")
        if exc.hint:
            env.err(f"hint: {exc.hint}")
        if env.verbosity >= 1:
            import traceback

            env.err(traceback.format_exc().rstrip())
        return exc.exit_status
    except KeyboardInterrupt:
        try:
            env.err(_interrupted_line())
        except OSError:
            pass
        return ExitStatus.INTERRUPTED
    except BrokenPipeError:
        return ExitStatus.SUCCESS
    except Exception as exc:  # the boundary: a bug must still end in one line, not a traceback
        env.err(f"error: internal error: {type(exc).__name__}: {exc}")
        if env.verbosity >= 1:
            import traceback

            env.err(traceback.format_exc().rstrip())
        else:
            env.err("hint: run again with -v for the traceback and report it.")
        return ExitStatus.INTERNAL
