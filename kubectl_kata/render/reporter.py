"""The terminal side of services.reporting.Reporter: what a service tells the user while it works.

Steps go to stdout -- or to stderr when stdout carries a -o json|yaml document; warnings always go to
stderr (`warning: ...` + `  hint: ...`); rollout progress goes through render.progress.RolloutPrinter.
"""
from __future__ import annotations

from typing import Optional

from ..services.reporting import Reporter
from .objects import changed_line


class CliReporter(Reporter):
    def __init__(self, env, to_stderr: bool = False) -> None:
        self.env = env
        self.to_stderr = to_stderr
        self.say = env.err if to_stderr else env.out
        self._printer = None

    def step(self, text: str) -> None:
        self.say(text)

    def changed(self, obj: dict, action: str, detail: str = "") -> None:
        self.say(changed_line(obj, action, detail))

    def note(self, text: str) -> None:
        self.env.err(f"note: {text}")

    def warning(self, text: str, hint: Optional[str] = None) -> None:
        self.env.err(f"warning: {text}")
        if hint:
            self.env.err(f"  hint: {hint}")

    def rollout_started(self, pool: str) -> None:
        from .progress import RolloutPrinter

        self._printer = RolloutPrinter(self.env, pool, stderr=self.to_stderr)

    def rollout(self, state) -> None:
        if self._printer is not None:
            self._printer(state)

    def rollout_finished(self, state) -> None:
        if self._printer is not None:
            self._printer.close(state)
            self._printer = None
