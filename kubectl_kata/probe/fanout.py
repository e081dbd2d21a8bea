"""Probe every node with one backend, in parallel, and always return a result for every node.

Results come in the order the nodes were given (duplicates removed). Nodes the caller skips (e.g. NotReady)
and invalid node names get a result without being probed; a backend that raises gets an ``internal`` result
instead of losing the other nodes. Ctrl-C stops every running probe (their pods are cleaned up) before
:class:`ProbesInterrupted` carries the results up.
"""
from __future__ import annotations

import concurrent.futures
import re
import threading
from typing import Callable, Dict, Iterable, List, Mapping, Optional

from kubectl_kata.probe.backend import (
    REASON_CANCELLED, REASON_INTERNAL, REASON_INVALID_NODE, REASON_NOT_READY, NodeProbeResult, ProbeBackend,
)
from kubectl_kata.probe.classify import one_line
from kubectl_kata.probe.process import DEFAULT_GRACE_S, CancelEvent

__all__ = ["run_probes", "ProbesInterrupted", "ProgressFn", "valid_node_name"]

_SKIP_MESSAGES = {
    REASON_NOT_READY: "not probed: the node is not Ready (a debug pod would stay Pending)",
}

_NODE_RE = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")


def valid_node_name(name: str) -> bool:
    """Node names are DNS-1123 subdomains (lower case, digits, '-' and '.')."""
    return isinstance(name, str) and bool(_NODE_RE.match(name))


class ProbesInterrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`run_probes`; every probe was stopped and cleaned up first.

    Subclasses KeyboardInterrupt so callers' Ctrl-C handling keeps working; ``results``
    holds one result per node (``reason == "cancelled"`` for the interrupted ones).
    """

    def __init__(self, results: List[NodeProbeResult]) -> None:
        super().__init__("interrupted")
        self.results = results


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
