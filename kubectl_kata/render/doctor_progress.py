"""What doctor tells the user while it works: the CLI reporter plus a redrawn probe progress line."""
from __future__ import annotations

import threading

from .reporter import CliReporter

__all__ = ["DoctorTerminalReporter"]


class DoctorTerminalReporter(CliReporter):
    """:class:`CliReporter` on stderr (stdout carries the report) that also shows done/running/failed of total
    on one redrawn stderr line when stderr is a terminal, nothing otherwise. ``probes`` is called from the
    probe worker threads."""

    def __init__(self, env) -> None:
        super().__init__(env, to_stderr=True)
        self.live = env.interactive
        self.lock = threading.Lock()
        self.drawn = False

    def probes(self, done: int, running: int, failed: int, total: int, via: str) -> None:
        if not self.live:
            return
        with self.lock:
            self.env.stderr.write("\r\x1b[2Kprobing nodes via %s: %d/%d done, %d running, %d failed"
                                  % (via, done, total, running, failed))
            self.env.stderr.flush()
            self.drawn = True

    def probes_finished(self) -> None:
        if self.live and self.drawn:
            self.env.stderr.write("\r\x1b[2K")
            self.env.stderr.flush()
