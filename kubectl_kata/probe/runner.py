"""Run one node probe per node, in parallel, and always return a result for every node.

Process model: every ``oc`` / ``kubectl`` child runs in its own session and process group
(``start_new_session=True``), so a terminal Ctrl-C does not reach it directly and a stop is
always *ours*: SIGTERM to the whole group (``oc debug`` then deletes its debug pod, as a user's
Ctrl-C would), a grace period, then SIGKILL to the group.

Results: :class:`NodeProbeResult` per node, in the order the nodes were given (duplicates
removed). ``raw`` holds every framed item recovered, also when the probe failed part-way
(timeout, remote failure, truncated log); ``ok`` means the block was complete and clean and the
command succeeded. ``error`` is one line naming the real cause; ``reason`` is a stable token.
"""
from __future__ import annotations

import abc
import concurrent.futures
import os
import re
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from kubectl_kata.probe.framing import MAX_TOTAL_BYTES, FramingError, RawResult, parse_framed
from kubectl_kata.probe.script import SCRIPT_ITEM_KEY

__all__ = [
    "REASON_OK", "REASON_TIMEOUT", "REASON_CANCELLED", "REASON_IMAGE_PULL", "REASON_CONTAINER_ERROR",
    "REASON_FORBIDDEN", "REASON_POD_SECURITY", "REASON_NOT_ROOT", "REASON_SCHEDULING", "REASON_POD_FAILED",
    "REASON_NOT_READY", "REASON_EXIT_CODE", "REASON_FRAMING", "REASON_SCRIPT_ERROR", "REASON_UNAUTHORIZED",
    "REASON_UNREACHABLE", "REASON_NODE_NOT_FOUND", "REASON_TOOL_MISSING", "REASON_INVALID_NODE",
    "REASON_SKIPPED", "REASON_INTERNAL",
    "NodeProbeResult", "ProcOutcome", "ProbeBackend", "ProbesInterrupted", "CancelEvent",
    "run_command", "run_probes", "redact_argv", "redact_text", "classify_kube_stderr", "build_result",
    "valid_node_name", "DEFAULT_GRACE_S", "kube_global_flags", "conn_global_flags",
]

REASON_OK = "ok"
REASON_TIMEOUT = "timeout"
REASON_CANCELLED = "cancelled"
REASON_IMAGE_PULL = "image-pull"
REASON_CONTAINER_ERROR = "container-error"
REASON_FORBIDDEN = "forbidden"
REASON_POD_SECURITY = "pod-security"
REASON_NOT_ROOT = "not-root"
REASON_SCHEDULING = "scheduling"
REASON_POD_FAILED = "pod-failed"
REASON_NOT_READY = "not-ready"
REASON_EXIT_CODE = "exit-code"
REASON_FRAMING = "framing"
REASON_SCRIPT_ERROR = "script-error"
REASON_UNAUTHORIZED = "unauthorized"
REASON_UNREACHABLE = "cluster-unreachable"
REASON_NODE_NOT_FOUND = "node-not-found"
REASON_TOOL_MISSING = "tool-not-found"
REASON_INVALID_NODE = "invalid-node"
REASON_SKIPPED = "skipped"
REASON_INTERNAL = "internal"

DEFAULT_GRACE_S = 15.0
STDERR_KEEP_BYTES = 1024 * 1024
STDERR_TAIL_CHARS = 4000
PLAIN_CANCEL_CHECK_S = 0.25   # how often a plain threading.Event cancel is looked at
MAIN_THREAD_SIGNAL_CHECK_S = 0.2   # how often a wait in the main thread lets Ctrl-C through

_SKIP_MESSAGES = {
    REASON_NOT_READY: "not probed: the node is not Ready (a debug pod would stay Pending)",
}

_NODE_RE = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")


def valid_node_name(name: str) -> bool:
    """Node names are DNS-1123 subdomains (lower case, digits, '-' and '.')."""
    return isinstance(name, str) and bool(_NODE_RE.match(name))


# --------------------------------------------------------------------------- redaction

_SECRET_FLAGS = ("--token", "--password", "--client-key-data", "--client-certificate-data",
                 "--registry-config", "--auth-token")
_SECRET_TEXT_RES = (
    (re.compile(r"(?i)(authorization:\s*bearer\s+)\S+"), r"\1<redacted>"),
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"), r"\1<redacted>"),
    (re.compile(r"(--(?:token|password)[= ])\S+"), r"\1<redacted>"),
    (re.compile(r"\bsha256~[A-Za-z0-9_-]{20,}"), "sha256~<redacted>"),
)


def redact_text(text: str) -> str:
    """Mask bearer tokens, ``--token=`` values and OpenShift ``sha256~`` tokens in free text."""
    for rx, repl in _SECRET_TEXT_RES:
        text = rx.sub(repl, text)
    return text


def redact_argv(argv: Sequence[str], script: Optional[str] = None) -> List[str]:
    """A copy of ``argv`` safe to show: secret flag values masked, the script abbreviated."""
    out: List[str] = []
    hide_next = False
    for a in argv:
        if hide_next:
            out.append("<redacted>")
            hide_next = False
            continue
        if script is not None and a == script:
            out.append("<collection script, %d bytes>" % len(script.encode("utf-8")))
            continue
        flag, eq, _ = a.partition("=")
        if flag in _SECRET_FLAGS:
            if eq:
                out.append(flag + "=<redacted>")
            else:
                out.append(a)
                hide_next = True
            continue
        out.append(redact_text(a))
    return out


# --------------------------------------------------------------------------- oc/kubectl global flags

def kube_global_flags(kubeconfig: Optional[str] = None, context: Optional[str] = None,
                      cluster: Optional[str] = None, user: Optional[str] = None,
                      as_user: Optional[str] = None, as_groups: Iterable[str] = ()) -> List[str]:
    """The connection flags oc and kubectl both accept as global flags, in ``--flag=value`` form (a value
    can never be taken for another flag). Only names and paths: a token never goes on argv (it would be
    visible in ``ps``); oc/kubectl read it from the kubeconfig."""
    flags: List[str] = []
    for name, value in (("--kubeconfig", kubeconfig), ("--context", context), ("--cluster", cluster),
                        ("--user", user), ("--as", as_user)):
        if value:
            flags.append("%s=%s" % (name, value))
    flags.extend("--as-group=%s" % g for g in as_groups if g)
    return flags


def conn_global_flags(conn) -> List[str]:
    """:func:`kube_global_flags` from a ``kubectl_kata.options.ConnectionOptions``."""
    return kube_global_flags(conn.kubeconfig, conn.context, getattr(conn, "cluster", None),
                             getattr(conn, "user", None), getattr(conn, "as_user", None),
                             list(getattr(conn, "as_groups", None) or ()))


# --------------------------------------------------------------------------- processes

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


# --------------------------------------------------------------------------- results

@dataclass
class NodeProbeResult:
    node: str
    ok: bool
    raw: Optional[Dict[str, RawResult]]
    error: Optional[str]
    reason: str
    stderr_tail: str
    duration_s: float
    command: List[str]
    notes: List[str] = field(default_factory=list)   # framing problems, cleanup warnings


class ProbesInterrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`run_probes`; every probe was stopped and cleaned up first.

    Subclasses KeyboardInterrupt so callers' Ctrl-C handling keeps working; ``results``
    holds one result per node (``reason == "cancelled"`` for the interrupted ones).
    """

    def __init__(self, results: List[NodeProbeResult]) -> None:
        super().__init__("interrupted")
        self.results = results


def one_line(text: str, limit: int = 400) -> str:
    s = " ".join(text.split())
    return s if len(s) <= limit else s[: limit - 3] + "..."


def stderr_tail(stderr: bytes) -> str:
    text = stderr.decode("utf-8", "replace")
    return redact_text(text[-STDERR_TAIL_CHARS:])


_FORBIDDEN_DETAIL = re.compile(
    r'User "(?P<user>[^"]*)" cannot (?P<verb>[a-z]+) resource "(?P<res>[^"]+)"'
    r'(?: in API group "(?P<group>[^"]*)")?'
    r'(?: in the namespace "(?P<ns>[^"]+)"| at the cluster scope)?')
_ERR_LINE = re.compile(r"^(?:error: |Error from server|Error: |F\d{4} )", re.M)


def _line_with(text: str, needle: str) -> str:
    for line in text.splitlines():
        if needle in line:
            return line.strip()
    return needle


def classify_kube_stderr(text: str) -> Optional[Tuple[str, str]]:
    """Map the API errors oc and kubectl print alike to ``(reason, one-line message)``."""
    if "violates PodSecurity" in text or "PodSecurity violation" in text:
        line = _line_with(text, "PodSecurity")
        return REASON_POD_SECURITY, one_line(
            "the debug namespace does not allow privileged pods (label it "
            "pod-security.kubernetes.io/enforce=privileged): " + line)
    if "unable to validate against any security context constraint" in text:
        line = _line_with(text, "security context constraint")
        return REASON_FORBIDDEN, one_line(
            "not allowed to run privileged pods (needs the privileged SCC, e.g. cluster-admin): " + line)
    if "Error from server (Forbidden)" in text or " is forbidden: " in text:
        line = _line_with(text, "Forbidden") if "Forbidden" in text else _line_with(text, "is forbidden")
        m = _FORBIDDEN_DETAIL.search(text)
        if m:
            where = ('in namespace "%s"' % m.group("ns")) if m.group("ns") else "at cluster scope"
            group = m.group("group")
            res = m.group("res") if not group else "%s.%s" % (m.group("res"), group)
            msg = 'permission denied: user "%s" cannot %s %s %s (needs RBAC "%s" on "%s")' % (
                m.group("user"), m.group("verb"), res, where, m.group("verb"), res)
        else:
            msg = "permission denied: " + line
        return REASON_FORBIDDEN, one_line(msg)
    if "Unauthorized" in text or "You must be logged in" in text:
        return REASON_UNAUTHORIZED, one_line(
            "not logged in or credentials expired: " + _line_with(text, "nauthorized"
                                                                  if "nauthorized" in text else "logged in"))
    if "Unable to connect to the server" in text or "connection refused" in text \
            or "no such host" in text or "i/o timeout" in text:
        needle = "Unable to connect" if "Unable to connect" in text else (
            "connection refused" if "connection refused" in text else (
                "no such host" if "no such host" in text else "i/o timeout"))
        return REASON_UNREACHABLE, one_line("cannot reach the API server: " + _line_with(text, needle))
    m = re.search(r'Error from server \(NotFound\): nodes "([^"]+)" not found', text)
    if m:
        return REASON_NODE_NOT_FOUND, 'node "%s" not found' % m.group(1)
    return None


def last_error_line(text: str) -> Optional[str]:
    lines = [ln.strip() for ln in text.splitlines() if _ERR_LINE.match(ln.strip())]
    return lines[-1] if lines else None


def build_result(
    node: str,
    outcome: ProcOutcome,
    *,
    nonce: str,
    command: List[str],
    diagnose: Callable[[str], Optional[Tuple[str, str]]],
    timeout_s: float,
    duration_s: Optional[float] = None,
    stdout: Optional[bytes] = None,
    stderr: Optional[bytes] = None,
    remote_rc: Optional[int] = None,
    notes: Optional[List[str]] = None,
) -> NodeProbeResult:
    """Turn a finished probe into a :class:`NodeProbeResult` (shared by the backends).

    ``diagnose(stderr_text)`` is the backend's stderr classifier; ``remote_rc`` overrides the
    exit status used for the "exit-code" decision (kubectl: the container's exit code).
    """
    out = outcome.stdout if stdout is None else stdout
    err = outcome.stderr if stderr is None else stderr
    err_text = err.decode("utf-8", "replace")
    notes = list(notes or [])
    try:
        items, problems = parse_framed(out, nonce)
    except FramingError as exc:
        items, problems = {}, [str(exc)]
    if outcome.stdout_truncated:
        problems.append("output larger than %d bytes was cut" % MAX_TOTAL_BYTES)
    diag = diagnose(err_text)
    rc = outcome.rc if remote_rc is None else remote_rc

    def res(reason: str, error: Optional[str]) -> NodeProbeResult:
        raw = {k: v for k, v in items.items()} or None
        return NodeProbeResult(
            node=node, ok=reason == REASON_OK, raw=raw, error=error, reason=reason,
            stderr_tail=stderr_tail(err), duration_s=outcome.duration_s if duration_s is None else duration_s,
            command=command,
            # framing remarks only matter when some framed output arrived or it is the cause
            notes=(problems if (items or reason == REASON_FRAMING) else []) + notes)

    partial = " (partial data kept: %d items)" % len(items) if items else ""
    if outcome.start_error:
        return res(REASON_TOOL_MISSING, "cannot run %s" % outcome.start_error)
    if outcome.cancelled:
        why = ("; before that: " + diag[1]) if diag else ""
        return res(REASON_CANCELLED, one_line("cancelled after %.0fs%s%s" % (outcome.duration_s, partial, why)))
    if outcome.aborted and diag:
        return res(diag[0], diag[1])
    if outcome.timed_out:
        if diag:
            return res(diag[0], one_line("no result within %gs: %s" % (timeout_s, diag[1])))
        return res(REASON_TIMEOUT, "no result within %gs%s" % (timeout_s, partial))
    script_item = items.get(SCRIPT_ITEM_KEY)
    script_failed = script_item is not None and script_item.rc != 0
    if (rc == 0 or rc is None) and not problems and not script_failed:
        if diag:  # e.g. a pull back-off that resolved itself, or an API hiccup: data is complete
            notes.append(diag[1])
        return res(REASON_OK, None)
    if diag and diag[0] not in (REASON_IMAGE_PULL, REASON_CONTAINER_ERROR):
        return res(diag[0], diag[1])
    if script_failed:
        return res(REASON_SCRIPT_ERROR, one_line("collection script failed on the node: "
                                                 + script_item.stderr.decode("utf-8", "replace")))
    if rc is not None and rc != 0:
        if "non-zero exit code from debug container" in err_text or remote_rc is not None:
            msg = "the collection script exited non-zero on the node"
        else:
            msg = last_error_line(err_text) or ("exited with status %d" % rc)
        if diag:
            msg += "; " + diag[1]
        return res(REASON_EXIT_CODE, one_line(msg + partial))
    return res(REASON_FRAMING, one_line("incomplete collection output: " + problems[0] + partial))


# --------------------------------------------------------------------------- backends

class ProbeBackend(abc.ABC):
    """Runs the collection on one node. Implementations must clean up their pods on every path."""

    name = "backend"

    @abc.abstractmethod
    def probe(self, node: str, *, timeout_s: float, cancel_event: threading.Event,
              grace_s: float) -> NodeProbeResult:
        """Probe ``node``; return (never raise) a result."""


def _not_probed(node: str, reason: str, error: str) -> NodeProbeResult:
    return NodeProbeResult(node=node, ok=False, raw=None, error=error, reason=reason,
                           stderr_tail="", duration_s=0.0, command=[])


ProgressFn = Callable[[int, int, int, int], None]


def run_probes(
    nodes: Iterable[str],
    backend: ProbeBackend,
    *,
    parallel: int = 10,
    per_node_timeout: float = 300.0,
    on_progress: Optional[ProgressFn] = None,
    cancel_event: Optional[threading.Event] = None,
    skip: Optional[Mapping[str, str]] = None,
    grace_s: float = DEFAULT_GRACE_S,
) -> List[NodeProbeResult]:
    """Probe every node with ``backend``; one result per (distinct) node, in input order.

    ``skip`` maps node -> reason token (e.g. ``"not-ready"``) for nodes the caller decided not
    to probe. ``on_progress(done, running, failed, total)`` is called whenever a probe starts
    or finishes (errors in it are ignored). Setting ``cancel_event`` stops running probes (their
    pods are cleaned up) and marks the rest cancelled. Ctrl-C in the calling thread does the
    same and then raises :class:`ProbesInterrupted` carrying the results.
    """
    if parallel < 1:
        raise ValueError("parallel must be at least 1")
    if per_node_timeout <= 0:
        raise ValueError("per_node_timeout must be positive")
    order: List[str] = []
    for n in nodes:
        if n not in order:
            order.append(n)
    skip = dict(skip or {})
    cancel = cancel_event if cancel_event is not None else CancelEvent()
    results: Dict[str, NodeProbeResult] = {}
    lock = threading.Lock()
    state = {"done": 0, "running": 0, "failed": 0}
    total = len(order)

    def progress() -> None:
        if on_progress is None:
            return
        try:
            on_progress(state["done"], state["running"], state["failed"], total)
        except Exception:  # a broken progress display must not strand debug pods
            pass

    def finish(res: NodeProbeResult, was_running: bool) -> None:
        with lock:
            results[res.node] = res
            if was_running:
                state["running"] -= 1
            state["done"] += 1
            if not res.ok:
                state["failed"] += 1
            progress()

    def work(node: str) -> None:
        if cancel.is_set():
            finish(_not_probed(node, REASON_CANCELLED, "not probed: cancelled before start"), False)
            return
        with lock:
            state["running"] += 1
            progress()
        try:
            res = backend.probe(node, timeout_s=per_node_timeout, cancel_event=cancel, grace_s=grace_s)
        except Exception as exc:  # a backend bug must not lose the other nodes' results
            res = _not_probed(node, REASON_INTERNAL, one_line("internal error: %s: %s"
                                                              % (type(exc).__name__, exc)))
        finish(res, True)

    to_run: List[str] = []
    for node in order:
        if node in skip:
            r = skip[node]
            finish(_not_probed(node, r, _SKIP_MESSAGES.get(r, "not probed: %s" % r)), False)
        elif not valid_node_name(node):
            finish(_not_probed(node, REASON_INVALID_NODE, "invalid node name %r" % (node,)), False)
        else:
            to_run.append(node)

    interrupted = False
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=min(parallel, max(1, len(to_run))),
                                                 thread_name_prefix="kata-probe")
    try:
        pending = {pool.submit(work, n) for n in to_run}
        while pending:
            _, pending = concurrent.futures.wait(pending, timeout=0.2)
    except KeyboardInterrupt:
        interrupted = True
        cancel.set()
    except BaseException:
        cancel.set()
        raise
    finally:
        # normal end, Ctrl-C, or any other escape: wait until every worker has stopped its
        # child processes and cleaned up its pod (a further Ctrl-C only re-sets the cancel)
        while True:
            try:
                pool.shutdown(wait=True)
                break
            except KeyboardInterrupt:
                interrupted = True
                cancel.set()
    out = [results.get(n) or _not_probed(n, REASON_CANCELLED, "not probed: cancelled") for n in order]
    if interrupted:
        raise ProbesInterrupted(out)
    return out
