"""Rollout progress: a live redrawn panel on a terminal, one plain line per change otherwise."""
from __future__ import annotations

from typing import Optional

from ..core.rollout import progress_line, state_changed


class RolloutPrinter:
    """Call with each RolloutState; `close()` when done. Output goes to stdout (or stderr, see `stderr`)."""

    def __init__(self, env, pool: str, stderr: bool = False):
        self.env = env
        self.pool = pool
        self.prev = None
        self.started = env.monotonic()
        self.live = None
        self.write = env.err if stderr else env.out
        tty = env.stderr_isatty if stderr else env.stdout_isatty
        if tty and env.environ.get("TERM") != "dumb":
            from rich.live import Live

            self.live = Live(console=env.console(stderr=stderr), refresh_per_second=4, transient=False)
            self.live.start()

    def __call__(self, state) -> None:
        if self.live is not None:
            self.live.update(self._panel(state))
            self.prev = state
            return
        if self.prev is None or state_changed(self.prev, state):
            elapsed = self.env.monotonic() - self.started
            self.write(f"[{_clock(elapsed)}] {progress_line(state)}")
        self.prev = state

    def _panel(self, state):
        from rich.table import Table
        from rich.text import Text

        grid = Table.grid(padding=(0, 2))
        elapsed = _clock(self.env.monotonic() - self.started)
        grid.add_row(Text(f"[{elapsed}] {progress_line(state)}"))
        nodes = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
        for col in ("NODE", "STATE", "CURRENT", "DESIRED", "REASON"):
            nodes.add_column(col, no_wrap=col != "REASON", overflow="fold")
        style = {"Done": "green", "Working": "yellow", "Rebooting": "yellow", "Degraded": "red",
                 "Unreconcilable": "red", "Waiting": "dim"}
        for n in state.nodes:
            nodes.add_row(n.name, Text(n.state, style=style.get(n.state, "")), _short(n.current),
                          _short(n.desired), n.reason or "")
        grid.add_row(nodes)
        return grid

    def close(self, final: Optional[object] = None) -> None:
        if self.live is not None:
            if final is not None:
                self.live.update(self._panel(final))
            self.live.stop()
            self.live = None


def _short(rendered: Optional[str]) -> str:
    if not rendered:
        return "-"
    # rendered-worker-<32 hex>: keep it recognisable but short, as `oc get mcp` users read it
    return rendered if len(rendered) <= 30 else rendered[:26] + "…"


def _clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 60:02d}:{s % 60:02d}"
