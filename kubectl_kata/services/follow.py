"""Follow a MachineConfigPool rollout with watches (not polling) until done, degraded or timed out.

Two watches run in background threads (all pools, all nodes) and feed one queue; the main thread
recomputes the pure rollout state after each event. Requests made are: one list per kind, one
watch per kind per `WATCH_WINDOW` seconds, plus one relist per `410 Gone` -- independent of how
many nodes change or how often.
"""
from __future__ import annotations

import queue
import threading
from typing import Callable, Dict, Optional

from ..core.rollout import pool_rollout_state
from ..core.selectors import primary_pool_for_node
from ..errors import ClusterError, RolloutFailed, RolloutTimeout

WATCH_WINDOW = 300  # seconds a single watch request stays open before the server ends it


class FollowInterrupted(KeyboardInterrupt):
    """Ctrl-C while following ``pool``: following stopped, the rollout goes on in the cluster.

    Still a KeyboardInterrupt (exit 130); the command says how to pick the rollout up again."""

    def __init__(self, pool: str) -> None:
        super().__init__(pool)
        self.pool = pool


class _Snapshot:
    def __init__(self):
        self.pools: Dict[str, dict] = {}
        self.nodes: Dict[str, dict] = {}


def pool_nodes(pools, nodes, pool_name):
    """Nodes whose primary pool is `pool_name` (a custom pool takes its nodes out of `worker`)."""
    return [n for n in nodes if primary_pool_for_node(n, pools) == pool_name]


def _watcher(cluster, kind: str, rv: Optional[str], events: "queue.Queue", stop: threading.Event, window: int):
    from ..kube.client import WatchExpired

    while not stop.is_set():
        try:
            for etype, obj in cluster.watch(kind, rv, timeout_seconds=window):
                if stop.is_set():
                    return
                rv = (obj.get("metadata") or {}).get("resourceVersion") or rv
                events.put((kind, etype, obj))
        except WatchExpired:
            try:
                listing = cluster.list(kind)
            except ClusterError as exc:
                events.put((kind, "FAILED", exc))
                return
            rv = (listing.get("metadata") or {}).get("resourceVersion")
            events.put((kind, "RELIST", listing["items"]))
        except ClusterError as exc:
            events.put((kind, "FAILED", exc))
            return
        except Exception as exc:  # never die silently in a thread
            events.put((kind, "FAILED", ClusterError(f"watching {kind} failed: {exc}")))
            return


def follow_rollout(cluster, pool_name: str, mc_name: str, expect_present: bool, timeout: Optional[float],
                   on_state: Callable, monotonic, window: int = WATCH_WINDOW):
    """Return the final RolloutState when done; raise RolloutFailed / RolloutTimeout otherwise.

    `on_state(state)` is called with each new state (the printer decides what changed).
    """
    snap = _Snapshot()
    pools_list = cluster.list("MachineConfigPool")
    nodes_list = cluster.list("Node")
    for p in pools_list["items"]:
        snap.pools[p["metadata"]["name"]] = p
    for n in nodes_list["items"]:
        snap.nodes[n["metadata"]["name"]] = n
    if pool_name not in snap.pools:
        raise ClusterError(f"machine config pool {pool_name!r} does not exist")

    events: "queue.Queue" = queue.Queue()
    stop = threading.Event()
    threads = [
        threading.Thread(target=_watcher, name=f"watch-{kind}", daemon=True,
                         args=(cluster, kind, (lst.get("metadata") or {}).get("resourceVersion"), events, stop, window))
        for kind, lst in (("MachineConfigPool", pools_list), ("Node", nodes_list))
    ]
    deadline = None if not timeout else monotonic() + timeout
    watching = False
    try:
        while True:
            pool = snap.pools.get(pool_name)
            if pool is None:
                raise RolloutFailed(f"machine config pool {pool_name!r} was deleted while we followed it")
            pools = list(snap.pools.values())
            members = pool_nodes(pools, list(snap.nodes.values()), pool_name)
            state = pool_rollout_state(pool, members, mc_name, expect_present=expect_present)
            on_state(state)
            # Trust our own per-node view too: right after a node changes pool (label change) the pool
            # counters can still describe the old membership.
            if state.phase == "done" and all(n.updated for n in state.nodes):
                return state
            if state.phase in ("degraded", "render-failed"):
                why = "; ".join(state.reasons) or state.message
                raise RolloutFailed(f"pool {pool_name} is degraded: {why}",
                                    hint=_degraded_hint(state))
            if not watching:
                # Only now: a rollout that is already finished costs two list calls and no watch.
                for t in threads:
                    t.start()
                watching = True
            remaining = None if deadline is None else deadline - monotonic()
            if remaining is not None and remaining <= 0:
                raise RolloutTimeout(
                    f"pool {pool_name} did not finish rolling out within the timeout ({state.message})",
                    hint="the rollout carries on in the cluster; follow it with `kubectl kata status --watch`")
            try:
                kind, etype, obj = events.get(timeout=min(remaining, 1.0) if remaining is not None else 1.0)
            except queue.Empty:
                continue
            _apply(snap, kind, etype, obj)
            # drain whatever else is queued before recomputing (one state per burst)
            while True:
                try:
                    kind, etype, obj = events.get_nowait()
                except queue.Empty:
                    break
                _apply(snap, kind, etype, obj)
    finally:
        stop.set()


def follow_pool(cluster, pool_name: str, mc_name: str, expect_present: bool, timeout: Optional[float],
                reporter, monotonic):
    """`follow_rollout` with its progress going to `reporter` (a services.reporting.Reporter).

    Returns the final RolloutState; raises RolloutFailed / RolloutTimeout, or FollowInterrupted on Ctrl-C.
    The reporter hears `rollout_finished` before any of those leaves this function."""
    reporter.rollout_started(pool_name)
    final = None
    try:
        final = follow_rollout(cluster, pool_name, mc_name, expect_present, timeout, reporter.rollout, monotonic)
        return final
    except KeyboardInterrupt:
        raise FollowInterrupted(pool_name) from None
    finally:
        reporter.rollout_finished(final)


def _apply(snap: _Snapshot, kind: str, etype: str, obj) -> None:
    if etype == "FAILED":
        raise obj
    target = snap.pools if kind == "MachineConfigPool" else snap.nodes
    if etype == "RELIST":
        target.clear()
        for item in obj:
            target[item["metadata"]["name"]] = item
        return
    name = (obj.get("metadata") or {}).get("name")
    if not name:
        return
    if etype == "DELETED":
        target.pop(name, None)
    else:
        target[name] = obj


def _degraded_hint(state) -> str:
    if state.phase == "render-failed":
        return "fix or remove the MachineConfig named in the message; `oc describe mcp` shows the condition"
    return ("inspect the node with `oc describe node` and the machine-config-daemon logs "
            "(`oc logs -n openshift-machine-config-operator -l k8s-app=machine-config-daemon`); "
            "`kubectl kata doctor` checks the node's packages")


class RecheckWhileFollowing:
    """Reporter wrapper used while a verb follows its rollout. When the pool's target goes back to `rendering`
    after a rendered one, or stays `rendering` for long, ``recheck()`` is called once: a concurrent run may
    have created or deleted our MachineConfig, and then the rollout being waited for never comes.
    ``recheck`` raises to stop following."""

    RECHECK_S = 10.0

    def __init__(self, inner, monotonic: Callable[[], float], recheck: Callable[[], None]):
        self._inner, self._monotonic, self._recheck = inner, monotonic, recheck
        self._last_phase = None
        self._checked = monotonic()

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def rollout(self, state) -> None:
        self._inner.rollout(state)
        phase = getattr(state, "phase", None)
        now = self._monotonic()
        if phase == "rendering" and (self._last_phase not in (None, "rendering")
                                     or now - self._checked >= self.RECHECK_S):
            self._checked = now
            self._recheck()
        self._last_phase = phase
