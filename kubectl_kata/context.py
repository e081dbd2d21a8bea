"""The one environment object every command receives (the httpie pattern).

All I/O streams, the process environment and the clock come from here, so tests swap them
instead of patching globals.
"""
from __future__ import annotations

import os
import sys
import time
from typing import IO, Callable, Mapping, Optional


class Environment:
    """Streams, environment variables, terminal facts and time for one invocation."""

    def __init__(
        self,
        stdout: Optional[IO[str]] = None,
        stderr: Optional[IO[str]] = None,
        stdin: Optional[IO[str]] = None,
        environ: Optional[Mapping[str, str]] = None,
        stdout_isatty: Optional[bool] = None,
        stderr_isatty: Optional[bool] = None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.stdout = stdout if stdout is not None else sys.stdout
        self.stderr = stderr if stderr is not None else sys.stderr
        self.stdin = stdin if stdin is not None else sys.stdin
        self.environ = dict(os.environ if environ is None else environ)
        self.stdout_isatty = _isatty(self.stdout) if stdout_isatty is None else stdout_isatty
        self.stderr_isatty = _isatty(self.stderr) if stderr_isatty is None else stderr_isatty
        self.monotonic = monotonic
        self.sleep = sleep
        self.no_color_flag = False
        self.verbosity = 0

    # -- colour / terminal -------------------------------------------------
    @property
    def color(self) -> bool:
        """Colour only on a terminal, never with --no-color or NO_COLOR (https://no-color.org)."""
        if self.no_color_flag or "NO_COLOR" in self.environ:
            return False
        if self.environ.get("TERM") == "dumb":
            return False
        return self.stdout_isatty

    @property
    def interactive(self) -> bool:
        """Live (redrawn) progress is allowed only when stderr is a terminal."""
        return self.stderr_isatty and self.environ.get("TERM") != "dumb"

    def console(self, stderr: bool = False):
        """A rich Console bound to our streams (imported lazily: rich costs ~40 ms)."""
        from rich.console import Console

        stream = self.stderr if stderr else self.stdout
        tty = self.stderr_isatty if stderr else self.stdout_isatty
        return Console(
            file=stream,
            force_terminal=tty and self.color,
            no_color=not self.color,
            color_system="standard" if self.color else None,
            highlight=False,
            soft_wrap=False,
            width=None if tty else 200,
        )

    # -- output helpers ----------------------------------------------------
    def out(self, text: str = "") -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()

    def err(self, text: str = "") -> None:
        self.stderr.write(text + "\n")
        self.stderr.flush()

    def debug(self, text: str, level: int = 1) -> None:
        if self.verbosity >= level:
            self.err(text)


def prog_name(argv0: Optional[str] = None) -> str:
    """`kubectl kata` or `oc kata`, as the user typed it (kubectl/oc exec us as kubectl-kata / oc-kata)."""
    base = os.path.basename(argv0 or sys.argv[0] or "kubectl-kata")
    if base.startswith("oc-") or base.startswith("oc_"):
        return "oc kata"
    return "kubectl kata"


def _isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
