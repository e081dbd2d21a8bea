"""One interruption path for SIGINT, SIGTERM and SIGHUP.

Ctrl-C (SIGINT), `timeout`/CI runners/systemd/wrapping scripts (SIGTERM) and a closing terminal (SIGHUP) all
mean "stop now, cleanly". The CLI installs :func:`handle` for the three while a command runs: the first signal
raises KeyboardInterrupt in the main thread, so every verb's existing Ctrl-C handling runs unchanged (stop
following and say how to resume; doctor stops its ``oc debug`` children -- each in its own process group:
SIGTERM, grace, SIGKILL -- removes the debug pods and namespace and prints the partial report). The CLI's
error boundary then exits ``128 + signal number``: 130 (SIGINT), 143 (SIGTERM), 129 (SIGHUP).

While that cleanup runs, a repeated SIGTERM or SIGHUP is ignored (``timeout`` and systemd follow up with
SIGKILL when they will not wait); a second Ctrl-C raises again, as it always did, for a user who will not
wait either.
"""
from __future__ import annotations

import signal
import threading
from typing import Callable, Dict, Optional

__all__ = ["SIGNALS", "handle", "install", "received", "exit_status", "signal_name"]

SIGNALS = tuple(s for s in (getattr(signal, n, None) for n in ("SIGINT", "SIGTERM", "SIGHUP")) if s is not None)

_lock = threading.Lock()
_first: Optional[int] = None


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return "signal %d" % signum


def handle(signum, frame) -> None:
    """The handler for all three: the first interrupts, later ones let the cleanup finish (see module doc)."""
    global _first
    with _lock:
        first = _first is None
        if first:
            _first = signum
    if first or signum == signal.SIGINT:
        raise KeyboardInterrupt(signal_name(signum))


def received() -> Optional[int]:
    """The signal that interrupted this run, if any (None also for a KeyboardInterrupt raised in-process)."""
    return _first


def exit_status(default: int) -> int:
    """``128 + signal number`` once a signal interrupted the run, else ``default``."""
    return 128 + int(_first) if _first is not None else default


def install() -> Callable[[], None]:
    """Route SIGINT, SIGTERM and SIGHUP to :func:`handle` (main thread only); returns a function that puts the
    previous handlers back. A signal the process ignored when it started (``nohup`` ignores SIGHUP) stays
    ignored, as POSIX tools do."""
    global _first
    with _lock:
        _first = None
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous: Dict[int, object] = {}
    for sig in SIGNALS:
        try:
            old = signal.getsignal(sig)
            if old is signal.SIG_IGN:
                continue
            signal.signal(sig, handle)
            previous[sig] = old
        except (ValueError, OSError):   # not the main interpreter, or not settable here
            continue

    def restore() -> None:
        for sig, old in previous.items():
            try:
                signal.signal(sig, old if old is not None else signal.SIG_DFL)
            except (ValueError, OSError, TypeError):
                pass

    return restore
