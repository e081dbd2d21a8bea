"""Run one ``oc``/``kubectl`` child process in its own process group, and stop it cleanly.

Every child runs in its own session and process group (``start_new_session=True``), so a terminal Ctrl-C does
not reach it directly and a stop is always *ours*: SIGTERM to the whole group (``oc debug`` then deletes its
debug pod, as a user's Ctrl-C would), a grace period, then SIGKILL to the group.
"""
from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from typing import Callable, List, Mapping, Optional, Sequence, Union

from kubectl_kata.probe.framing import MAX_TOTAL_BYTES

__all__ = ["ProcOutcome", "CancelEvent", "WatchFn", "run_command", "DEFAULT_GRACE_S", "STDERR_KEEP_BYTES",
           "PLAIN_CANCEL_CHECK_S", "MAIN_THREAD_SIGNAL_CHECK_S"]

DEFAULT_GRACE_S = 15.0
STDERR_KEEP_BYTES = 1024 * 1024
PLAIN_CANCEL_CHECK_S = 0.25   # how often a plain threading.Event cancel is looked at
MAIN_THREAD_SIGNAL_CHECK_S = 0.2   # how often a wait in the main thread lets Ctrl-C through


@dataclass
class ProcOutcome:
    """What one child process did. ``rc`` is None when it could not be started."""

    argv: List[str]
    stdout: bytes
    stderr: bytes
    rc: Optional[int]
    duration_s: float
    timed_out: bool = False
    cancelled: bool = False
    aborted: bool = False
    start_error: Optional[str] = None
    stdout_truncated: bool = False

    @property
    def stopped(self) -> bool:
        """True when we stopped the process (timeout, cancel or abort)."""
        return self.timed_out or self.cancelled or self.aborted


class _Capture:
    def __init__(self, cap: int, keep_tail: bool) -> None:
        self.buf = bytearray()
        self.cap = cap
        self.keep_tail = keep_tail
        self.truncated = False
        self.total = 0
        self.lock = threading.Lock()

    def feed(self, chunk: bytes) -> None:
        with self.lock:
            self.total += len(chunk)
            if self.keep_tail:
                self.buf += chunk
                if len(self.buf) > self.cap:
                    del self.buf[: len(self.buf) - self.cap]
                    self.truncated = True
            elif len(self.buf) < self.cap:
                room = self.cap - len(self.buf)
                self.buf += chunk[:room]
                if len(chunk) > room:
                    self.truncated = True
            else:
                self.truncated = True

    def snapshot(self) -> bytes:
        with self.lock:
            return bytes(self.buf)


def _pump(fd: int, cap: _Capture, on_data: Optional[Callable[[], None]] = None) -> None:
    try:
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            cap.feed(chunk)
            if on_data is not None:
                on_data()
    except OSError:
        pass
    finally:
        try:
            os.close(fd)
        except OSError:
            pass


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


class CancelEvent(threading.Event):
    """A :class:`threading.Event` that also wakes registered listeners when it is set.

    :func:`run_command` blocks until something happens (process exit, stderr data, deadline) and
    registers itself here, so a cancel wakes it at once; with a plain ``threading.Event`` it has to
    look at the event every ``PLAIN_CANCEL_CHECK_S`` instead.
    """

    def __init__(self) -> None:
        super().__init__()
        self._listeners: List[threading.Event] = []
        self._listeners_lock = threading.Lock()

    def add_listener(self, ev: threading.Event) -> None:
        with self._listeners_lock:
            self._listeners.append(ev)
        if self.is_set():
            ev.set()

    def remove_listener(self, ev: threading.Event) -> None:
        with self._listeners_lock:
            try:
                self._listeners.remove(ev)
            except ValueError:
                pass

    def set(self) -> None:
        super().set()
        with self._listeners_lock:
            listeners = list(self._listeners)
        for ev in listeners:
            ev.set()


# watch(stdout_bytes_so_far, stderr_so_far, elapsed_s) -> True to abort; False/None: nothing to do
# until more stderr arrives; a number: ask again in that many seconds (even without new stderr)
WatchFn = Callable[[int, bytes, float], Union[bool, float, None]]


def run_command(
    argv: Sequence[str],
    *,
    timeout_s: float,
    cancel_event: Optional[threading.Event] = None,
    grace_s: float = DEFAULT_GRACE_S,
    watch: Optional[WatchFn] = None,
    env: Optional[Mapping[str, str]] = None,
    stdout_cap: int = MAX_TOTAL_BYTES,
) -> ProcOutcome:
    """Run ``argv`` in its own process group; stop it on timeout, cancel or ``watch`` abort.

    No polling: the calling thread blocks on one event that the process-exit waiter, the stderr
    reader (when ``watch`` is given) and a :class:`CancelEvent` set; it wakes up otherwise only
    at the deadline or when ``watch`` asked to be called again after some seconds (see
    ``WatchFn``); in the main thread it also looks up every ``MAIN_THREAD_SIGNAL_CHECK_S`` so
    Ctrl-C is handled (the child is then stopped as below and KeyboardInterrupt re-raised).
    Stopping = SIGTERM to the group, ``grace_s`` to exit, then SIGKILL to the group. Never
    raises for a missing executable (``start_error`` is set).
    """
    argv = list(argv)
    start = time.monotonic()
    try:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=True, close_fds=True, env=dict(env) if env is not None else None,
        )
    except OSError as exc:
        return ProcOutcome(argv, b"", b"", None, time.monotonic() - start,
                           start_error="%s: %s" % (argv[0], exc.strerror or exc))
    out_cap = _Capture(stdout_cap, keep_tail=False)
    err_cap = _Capture(STDERR_KEEP_BYTES, keep_tail=True)
    assert proc.stdout is not None and proc.stderr is not None
    wake = threading.Event()
    exited = threading.Event()

    def wait_exit() -> None:
        try:
            proc.wait()
        finally:
            exited.set()
            wake.set()

    # the threads own the descriptors from here on
    out_fd, err_fd = os.dup(proc.stdout.fileno()), os.dup(proc.stderr.fileno())
    proc.stdout.close()
    proc.stderr.close()
    readers = [threading.Thread(target=_pump, args=(out_fd, out_cap), daemon=True),
               threading.Thread(target=_pump, args=(err_fd, err_cap, wake.set if watch is not None else None),
                                daemon=True)]
    waiter = threading.Thread(target=wait_exit, daemon=True)
    for t in readers + [waiter]:
        t.start()
    listening = isinstance(cancel_event, CancelEvent)
    # Python runs signal handlers (Ctrl-C) in the main thread only, and a blocked wait there is not
    # woken when the kernel hands SIGINT to another thread: the main thread looks up regularly
    in_main = threading.current_thread() is threading.main_thread()
    if listening:
        cancel_event.add_listener(wake)  # type: ignore[union-attr]

    timed_out = cancelled = aborted = False
    deadline = start + max(0.0, timeout_s)
    watch_again: Optional[float] = None      # monotonic time watch asked to be called again
    seen_err = -1
    try:
        while not exited.is_set():
            wake.clear()
            now = time.monotonic()
            if cancel_event is not None and cancel_event.is_set():
                cancelled = True
            elif now >= deadline:
                timed_out = True
            elif watch is not None and (err_cap.total != seen_err or
                                        (watch_again is not None and now >= watch_again)):
                seen_err = err_cap.total
                verdict = watch(out_cap.total, err_cap.snapshot(), now - start)
                if verdict is True:
                    aborted = True
                elif verdict is not None and verdict is not False and float(verdict) >= 0:
                    watch_again = now + max(0.05, float(verdict))
                else:
                    watch_again = None
            if cancelled or timed_out or aborted:
                _signal_group(proc.pid, signal.SIGTERM)
                if not exited.wait(max(0.0, grace_s)):
                    _signal_group(proc.pid, signal.SIGKILL)
                    exited.wait()
                break
            wait_s = deadline - now
            if watch_again is not None:
                wait_s = min(wait_s, max(0.0, watch_again - now))
            if cancel_event is not None and not listening:
                wait_s = min(wait_s, PLAIN_CANCEL_CHECK_S)
            if in_main:
                wait_s = min(wait_s, MAIN_THREAD_SIGNAL_CHECK_S)
            wake.wait(max(0.0, wait_s))
    except BaseException:
        # Ctrl-C (or any escape) while waiting in the caller's thread: the child is in its own
        # session, so the terminal's SIGINT never reached it -- stop it the same way, then re-raise
        _signal_group(proc.pid, signal.SIGTERM)
        if not exited.wait(max(0.0, grace_s)):
            _signal_group(proc.pid, signal.SIGKILL)
        raise
    finally:
        if listening:
            cancel_event.remove_listener(wake)  # type: ignore[union-attr]
    waiter.join()
    # leftovers in the group (a child that outlived its parent) must not survive us
    _signal_group(proc.pid, signal.SIGKILL)
    for t in readers:
        t.join(timeout=5.0)
    return ProcOutcome(
        argv, out_cap.snapshot(), err_cap.snapshot(), proc.returncode, time.monotonic() - start,
        timed_out=timed_out, cancelled=cancelled, aborted=aborted,
        stdout_truncated=out_cap.truncated,
    )
