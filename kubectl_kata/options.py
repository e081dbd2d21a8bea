"""Flags shared by the commands: kubeconfig flags as kubectl spells them, output and verbosity.

Only click is imported here, so ``--help`` stays fast.
"""
from __future__ import annotations

import functools
import re
from typing import Optional

import click

from .connection import ConnectionOptions  # the data lives low (kube takes it); the flags that fill it live here


_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)(h|m|s|ms)?)+$")
_PART = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s)?")


def parse_duration(value: str, flag: str) -> Optional[float]:
    """Parse kubectl-style durations: ``0``, ``30``, ``30s``, ``1m30s``, ``500ms``. Returns seconds (0 -> None)."""
    text = str(value).strip()
    if not text or not _DURATION.match(text):
        raise click.BadParameter(f"{value!r} is not a duration (examples: 30s, 2m, 1h30m, 0)", param_hint=flag)
    total = 0.0
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, None: 1.0}
    for number, unit in _PART.findall(text):
        total += float(number) * units[unit or None]
    return total or None


def _duration_callback(ctx, param, value):
    if value is None:
        return None
    return parse_duration(value, "--" + param.name.replace("_", "-"))


def connection_options(fn):
    """Add --kubeconfig/--context/--cluster/--user/--as/--as-group/--request-timeout."""

    @click.option("--kubeconfig", metavar="PATH", help="Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config).")
    @click.option("--context", metavar="NAME", help="The kubeconfig context to use.")
    @click.option("--cluster", metavar="NAME", help="The kubeconfig cluster to use (overrides the context's).")
    @click.option("--user", metavar="NAME", help="The kubeconfig user to use (overrides the context's).")
    @click.option("--as", "as_user", metavar="USER", help="Username to impersonate for the operation.")
    @click.option("--as-group", "as_groups", metavar="GROUP", multiple=True,
                  help="Group to impersonate for the operation (repeatable).")
    @click.option("--request-timeout", default="0", callback=_duration_callback, metavar="DURATION",
                  help="How long to wait for a single API request (e.g. 30s, 1m). 0 means no limit.")
    @functools.wraps(fn)
    def wrapper(*args, kubeconfig, context, cluster, user, as_user, as_groups, request_timeout, **kwargs):
        kwargs["conn"] = ConnectionOptions(
            kubeconfig=kubeconfig, context=context, cluster=cluster, user=user,
            as_user=as_user, as_groups=list(as_groups), request_timeout=request_timeout,
        )
        return fn(*args, **kwargs)

    return wrapper


def verbosity_options(fn):
    """-v (traceback on error), -vv (each API request), --no-color."""

    @click.option("-v", "--verbose", count=True, help="Repeat for more detail: -v shows tracebacks, -vv API requests.")
    @click.option("--no-color", is_flag=True, help="Do not colour output (also: NO_COLOR environment variable).")
    @functools.wraps(fn)
    def wrapper(*args, verbose, no_color, **kwargs):
        env = click.get_current_context().obj
        if env is not None:
            env.verbosity = max(env.verbosity, verbose)
            env.no_color_flag = env.no_color_flag or no_color
        return fn(*args, **kwargs)

    return wrapper


def output_option(choices=("table", "wide", "json", "yaml"), default="table"):
    def deco(fn):
        return click.option("-o", "--output", type=click.Choice(list(choices)), default=default, show_default=True,
                            help="Output format.")(fn)
    return deco


def timeout_option(default="30m", help_text="How long to follow the rollout before giving up."):
    def deco(fn):
        return click.option("--timeout", default=default, show_default=True, callback=_duration_callback,
                            metavar="DURATION", help=help_text)(fn)
    return deco
