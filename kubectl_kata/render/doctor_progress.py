"""What doctor tells the user while it works: a redrawn probe progress line on a terminal, warnings on stderr."""
from __future__ import annotations

import threading
from typing import Optional

from ..services.reporting import Reporter

__all__ = ["DoctorTerminalReporter"]


class DoctorTerminalReporter(Reporter):
    """done/running/failed of total on one redrawn stderr line when stderr is a terminal, nothing otherwise
    (it is called from the probe worker threads); warnings as ``warning: ...`` lines on stderr."""

    def __init__(self, env) -> None:
        self.env = env
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

    def warning(self, text: str, hint: Optional[str] = None) -> None:
        self.env.err("warning: %s" % text)
        if hint:
            self.env.err("  hint: %s" % hint)

    def note(self, text: str) -> None:
        self.env.err(text)
