"""``doctor --via daemonset``: Kubernetes does the fan-out, one DaemonSet pod per node.

The collection script, its framing and everything after it are those of ``--via oc``; only the transport differs.
The objects (:mod:`.objects`) are created in the run's namespace (which the caller creates privileged and deletes
at the end), then:

* the pods are followed with ONE list and ONE watch on the namespace (label selector of the run), never a GET per
  pod; a Ready pod has printed its END marker (or died trying), and its log is fetched exactly once, at most
  ``parallel`` log GETs at a time;
* a node whose pod does not run is reported with the pod's own cause (:mod:`.pods`): ``ImagePullBackOff``/
  ``ErrImagePull`` (naming the image) or ``CreateContainerError`` once it lasted ``image_pull_grace_s``,
  ``Unschedulable`` (with the scheduler's message) at the node's deadline; a node that got no pod at all with the
  DaemonSet controller's own ``FailedCreate`` event (one event list, only when pod creation stalls; a refusal by
  admission is reported at once, as ``pod-refused``), else as "no pod was created"; nobody waits on it beyond
  ``--node-timeout`` and it holds no other node up;
* the DaemonSet is deleted on every way out (``finally``); SIGTERM while collecting is turned into the same
  interruption as Ctrl-C, so cleanup runs then too.
"""
from __future__ import annotations

import concurrent.futures
import re
import signal
import threading
import time
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

from ... import interrupts
from ..runner import (
    REASON_CANCELLED, REASON_CONTAINER_ERROR, REASON_IMAGE_PULL, REASON_INTERNAL, REASON_INVALID_NODE,
    REASON_POD_FAILED, REASON_POD_REFUSED, REASON_SCHEDULING, REASON_TIMEOUT, NodeProbeResult, ProbesInterrupted,
    ProcOutcome, build_result, one_line, valid_node_name,
)
from ..script import DEFAULT_ITEM_TIMEOUT_S, build_script, new_nonce
from .objects import CONTAINER, RUN_LABEL, build_objects
from .pods import PULL_REASONS, STUCK_REASONS, PodView, Refusal, pod_node

__all__ = ["DaemonSetCollector", "sigterm_as_interrupt"]

_EXIT_RE = re.compile(rb"^kata-doctor-exit rc=(-?[0-9]{1,6})\s*$", re.M)


def sigterm_as_interrupt() -> Callable[[], None]:
    """From now on SIGTERM takes Ctrl-C's path (:func:`kubectl_kata.interrupts.handle`: the first one raises
    KeyboardInterrupt in the main thread, later ones are ignored while the cleanup runs), so ``finally`` blocks
    delete the DaemonSet and the namespace: the default action would end the process on the spot and leave them
    behind. The CLI already routes SIGTERM there; this covers other callers. Returns the function that restores
    the previous handler (a no-op when nothing was changed)."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    if signal.getsignal(signal.SIGTERM) is interrupts.handle:   # the CLI's one interruption path is in place
        return lambda: None
    try:
        old = signal.signal(signal.SIGTERM, interrupts.handle)
    except ValueError:          # not the main interpreter
        return lambda: None

    def restore() -> None:
        try:
            signal.signal(signal.SIGTERM, old)
        except (ValueError, TypeError):
            pass

    return restore


# --------------------------------------------------------------------------- collector

ResultFn = Callable[[NodeProbeResult], None]
ProgressFn = Callable[[int, int, int, int], None]


class DaemonSetCollector:
    """One DaemonSet for the whole run; see the module docstring. ``api`` is a ``kube.workloads.WorkloadAPI``
    (or anything with its methods)."""

    name = "daemonset"

    def __init__(self, api, namespace: str, image: str, *, item_timeout_s: int = DEFAULT_ITEM_TIMEOUT_S,
                 image_pull_grace_s: float = 45.0, openshift: bool = True, tick_s: float = 0.2,
                 no_pod_grace_s: float = 30.0, stall_s: float = 10.0) -> None:
        if not image or any(c.isspace() for c in image) or image.startswith("-"):
            raise ValueError("the DaemonSet collector needs an image; got %r" % (image,))
        self.api = api
        self.namespace = namespace
        self.image = image
        self.item_timeout_s = item_timeout_s
        self.image_pull_grace_s = image_pull_grace_s
        self.openshift = openshift
        self.tick_s = tick_s
        self.no_pod_grace_s = no_pod_grace_s
        self.stall_s = stall_s
        self.name_in_cluster = "kata-doctor"
        self.stats: Dict[str, int] = {"lists": 0, "watches": 0, "log_gets": 0, "event_lists": 0}

    # ---------------------------------------------------------------- public
    def run(self, nodes: Sequence[str], *, where: Mapping[str, Any], parallel: int = 10,
            per_node_timeout: float = 300.0, skip: Optional[Mapping[str, str]] = None,
            on_result: Optional[ResultFn] = None, on_progress: Optional[ProgressFn] = None,
            cancel_event: Optional[threading.Event] = None,
            on_started: Optional[Callable[[], None]] = None) -> List[NodeProbeResult]:
        """One result per distinct node, in input order. Ctrl-C (or SIGTERM, see :func:`sigterm_as_interrupt`)
        stops the run, deletes the DaemonSet and raises :class:`ProbesInterrupted` with the results so far.
        ``on_started()`` is called once the DaemonSet exists (while its pods start, the caller's CPU is free)."""
        if parallel < 1:
            raise ValueError("parallel must be at least 1")
        order: List[str] = []
        for n in nodes:
            if n not in order:
                order.append(n)
        run = _Run(self, order, dict(skip or {}), parallel, per_node_timeout, on_result, on_progress,
                   cancel_event or threading.Event())
        run.on_started = on_started
        return run.go(where)


class _Run:
    def __init__(self, owner: DaemonSetCollector, order: List[str], skip: Dict[str, str], parallel: int,
                 timeout_s: float, on_result: Optional[ResultFn], on_progress: Optional[ProgressFn],
                 cancel: threading.Event) -> None:
        self.o = owner
        self.api = owner.api
        self.ns = owner.namespace
        self.order = order
        self.skip = skip
        self.parallel = parallel
        self.timeout_s = timeout_s
        self.on_result = on_result
        self.on_progress = on_progress
        self.cancel = cancel
        self.lock = threading.Condition()
        self.results: Dict[str, NodeProbeResult] = {}
        self.pods: Dict[str, PodView] = {}
        self.changed: set = set()
        self.fetching: set = set()
        self.pull_seen: Dict[str, float] = {}
        self.watch_error: Optional[str] = None
        self.stop_watch = threading.Event()
        self.start = time.monotonic()
        self.nonce = new_nonce()
        self.run_id = self.nonce[:12]
        self.name = owner.name_in_cluster
        self.failed = 0
        self.last_progress = 0.0
        self.on_started: Optional[Callable[[], None]] = None
        self.last_new_pod = self.start     # when a selected node last got its first pod
        self.refusal: Optional[Refusal] = None
        self.refusal_checks = 0

    # ---------------------------------------------------------------- results
    def _finish(self, res: NodeProbeResult) -> None:
        with self.lock:
            if res.node in self.results:
                return
            self.results[res.node] = res
            if not res.ok:
                self.failed += 1
            self.lock.notify_all()
        if self.on_result is not None:
            try:
                self.on_result(res)
            except Exception:  # noqa: BLE001 - a broken consumer must not strand the DaemonSet
                pass

    def _fail(self, node: str, reason: str, error: str, command: Optional[List[str]] = None) -> None:
        self._finish(NodeProbeResult(node=node, ok=False, raw=None, error=one_line(error), reason=reason,
                                     stderr_tail="", duration_s=round(time.monotonic() - self.start, 3),
                                     command=command or []))

    def _progress(self, force: bool = False) -> None:
        if self.on_progress is None:
            return
        now = time.monotonic()
        if not force and now - self.last_progress < 0.2:
            return
        self.last_progress = now
        with self.lock:
            done = len(self.results)
            running = len([n for n, p in self.pods.items() if n not in self.results and p.running])
            failed = self.failed
        try:
            self.on_progress(done, running, failed, len(self.order))
        except Exception:  # noqa: BLE001
            pass

    # ---------------------------------------------------------------- main
    def go(self, where: Mapping[str, Any]) -> List[NodeProbeResult]:
        targets: List[str] = []
        for node in self.order:
            if node in self.skip:
                r = self.skip[node]
                msg = ("not probed: the node is not Ready (its pod would stay Pending)" if r == "not-ready"
                       else "not probed: %s" % r)
                self._finish(NodeProbeResult(node=node, ok=False, raw=None, error=msg, reason=r, stderr_tail="",
                                             duration_s=0.0, command=[]))
            elif not valid_node_name(node):
                self._fail(node, REASON_INVALID_NODE, "invalid node name %r" % (node,))
            else:
                targets.append(node)
        self.targets = set(targets)
        interrupted = False
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=self.parallel, thread_name_prefix="kata-ds-log")
        watcher: Optional[threading.Thread] = None
        created = False
        try:
            if targets:
                script = build_script(self.nonce, item_timeout_s=self.o.item_timeout_s)
                objs = build_objects(self.name, self.ns, self.o.image, script, where, self.run_id)
                for obj in objs:
                    if obj["kind"] == "RoleBinding" and not self.o.openshift:
                        continue
                    if obj["kind"] == "DaemonSet":
                        created = True
                    self.api.create(obj)
                self.start = self.last_new_pod = time.monotonic()
                watcher = threading.Thread(target=self._watch, name="kata-ds-watch", daemon=True)
                watcher.start()
                if self.on_started is not None:
                    self.on_started()
                self._loop(pool)
        except KeyboardInterrupt:
            interrupted = True
            self.cancel.set()
        except BaseException:
            self.cancel.set()
            raise
        finally:
            self.stop_watch.set()
            # running log GETs end on their own (bounded by their request timeout); queued ones are dropped
            pool.shutdown(wait=not self.cancel.is_set(), cancel_futures=True)
            if created:
                self._delete_daemonset()
            for node in self.order:
                if node not in self.results:
                    self._fail(node, REASON_CANCELLED, "cancelled after %.0fs" % (time.monotonic() - self.start)
                               if self.cancel.is_set() else "not probed")
            self._progress(force=True)
        out = [self.results[n] for n in self.order]
        if interrupted:
            raise ProbesInterrupted(out)
        return out

    def _delete_daemonset(self) -> None:
        while True:
            try:
                self.api.delete("DaemonSet", self.name, self.ns)
                return
            except KeyboardInterrupt:      # a second Ctrl-C must not skip the cleanup
                continue
            except Exception:  # noqa: BLE001 - the namespace deletion (caller) removes it anyway
                return

    def _loop(self, pool) -> None:
        in_main = threading.current_thread() is threading.main_thread()
        next_scan = 0.0
        while True:
            with self.lock:
                if len(self.results) >= len(self.order):
                    return
                if self.cancel.is_set():
                    return
                if self.watch_error:
                    err = self.watch_error
                    self.watch_error = None
                else:
                    err = None
                changed, self.changed = self.changed, set()
                if not changed:
                    self.lock.wait(self.o.tick_s if in_main else 1.0)
                    changed, self.changed = self.changed, set()
            if err:
                for n in self.order:
                    if n not in self.results and n not in self.fetching:
                        self._fail(n, REASON_INTERNAL, "following the DaemonSet's pods failed: %s" % err)
                continue
            now = time.monotonic()
            scan = changed
            if now >= next_scan:
                scan = set(self.targets)
                next_scan = now + 0.5
                self._look_for_refusal(now)
            for node in scan:
                self._consider(node, now, pool)
            self._progress()

    def _consider(self, node: str, now: float, pool) -> None:
        if node in self.results or node in self.fetching or node not in self.targets:
            return
        pod = self.pods.get(node)
        deadline_passed = now - self.start >= self.timeout_s
        if pod is not None and pod.ready and not pod.deleted:
            self.fetching.add(node)
            pool.submit(self._fetch, node, pod.name)
            return
        if pod is not None and pod.waiting in PULL_REASONS:
            first = self.pull_seen.setdefault(node, now)
            if deadline_passed or now - first >= self.o.image_pull_grace_s:
                self._fail(node, REASON_IMAGE_PULL,
                           'the debug pod image "%s" cannot be pulled (%s: %s); on disconnected clusters pass '
                           "--image with a support-tools image from a reachable registry"
                           % (pod.image or self.o.image, pod.waiting, pod.waiting_msg))
            return
        if pod is not None and pod.waiting in STUCK_REASONS:
            first = self.pull_seen.setdefault(node, now)
            if deadline_passed or now - first >= self.o.image_pull_grace_s:
                self._fail(node, REASON_CONTAINER_ERROR, "debug container %s cannot start: %s: %s"
                           % (CONTAINER, pod.waiting, pod.waiting_msg))
            return
        if pod is not None and pod.terminated:
            self._fail(node, REASON_POD_FAILED, "the DaemonSet pod %s on the node ended: %s"
                       % (pod.name, pod.terminated))
            return
        if pod is None and self.refusal is not None and self.refusal.final:
            self._fail(node, REASON_POD_REFUSED, "no pod of DaemonSet %s/%s was created for the node: %s"
                       % (self.ns, self.name, self.refusal.text))
            return
        if not deadline_passed:
            return
        if pod is None:
            self._fail(node, REASON_TIMEOUT, "no result within %gs: no pod of DaemonSet %s/%s was created for the "
                                             "node%s" % (self.timeout_s, self.ns, self.name,
                                                         ("; " + self.refusal.text) if self.refusal else ""))
        elif pod.unschedulable:
            self._fail(node, REASON_SCHEDULING, "debug pod not scheduled: " + pod.unschedulable)
        elif pod.running:
            self._fail(node, REASON_TIMEOUT, "no result within %gs (pod %s running, collection not finished)"
                       % (self.timeout_s, pod.name))
        else:
            self._fail(node, REASON_TIMEOUT, "no result within %gs (pod %s never started%s)"
                       % (self.timeout_s, pod.name, (": " + pod.waiting_msg) if pod.waiting else ""))

    # ---------------------------------------------------------------- pods never created
    def _look_for_refusal(self, now: float) -> None:
        """Why has a selected node no pod? The DaemonSet controller says so only in Warning ``FailedCreate`` events on
        the DaemonSet. Looked up with ONE event list, at most twice per run and only while some node has no pod: once
        pod creation has stalled (no node got its first pod for ``stall_s``) past ``no_pod_grace_s``, and at the
        nodes' deadline. A refusal by admission (``... is forbidden: ...``, ``... denied the request ...``) does not
        pass by itself: those nodes are reported at once; any other cause is quoted when they time out."""
        if self.refusal_checks >= 2 or (self.refusal is not None and self.refusal.final):
            return
        elapsed = now - self.start
        if self.refusal_checks == 0:
            due = elapsed >= self.timeout_s or (elapsed >= self.o.no_pod_grace_s
                                                and now - self.last_new_pod >= self.o.stall_s)
        else:
            due = elapsed >= self.timeout_s
        if not due:
            return
        with self.lock:
            podless = any(n not in self.results and n not in self.pods for n in self.targets)
        if not podless:
            return
        self.refusal_checks += 1
        self.o.stats["event_lists"] += 1
        try:
            events = self.api.events_about(self.ns, "DaemonSet", self.name)
        except Exception:  # noqa: BLE001 - no events to read (e.g. forbidden): the nodes time out as before
            return
        self.refusal = Refusal.from_events(events) or self.refusal

    # ---------------------------------------------------------------- log
    def _fetch(self, node: str, pod: str) -> None:
        try:
            self._fetch_once(node, pod)
        finally:
            # only now that the node has its result: until then the main loop must not fetch its log again
            with self.lock:
                self.fetching.discard(node)

    def _fetch_once(self, node: str, pod: str) -> None:
        if self.cancel.is_set():
            return
        command = ["(API) GET pods/%s/log?container=%s -n %s" % (pod, CONTAINER, self.ns)]
        t0 = time.monotonic()
        try:
            with self.lock:
                self.o.stats["log_gets"] += 1
            data = self.api.pod_log(self.ns, pod, CONTAINER, max(5.0, self.timeout_s))
        except Exception as exc:  # noqa: BLE001 - reported for this node only
            msg = getattr(exc, "message", None) or str(exc)
            self._fail(node, REASON_POD_FAILED, "reading the log of pod %s failed: %s" % (pod, msg), command)
            return
        m = None
        for m in _EXIT_RE.finditer(data):
            pass
        remote_rc = int(m.group(1)) if m else None
        outcome = ProcOutcome(command, data, b"", 0, time.monotonic() - t0)
        try:
            res = build_result(node, outcome, nonce=self.nonce, command=command, diagnose=lambda _t: None,
                               timeout_s=self.timeout_s, duration_s=round(time.monotonic() - self.start, 3),
                               remote_rc=remote_rc if remote_rc else None)
        except Exception as exc:  # noqa: BLE001
            self._fail(node, REASON_INTERNAL, "internal error: %s: %s" % (type(exc).__name__, exc), command)
            return
        data = b""
        self._finish(res)

    # ---------------------------------------------------------------- watch
    def _apply(self, etype: str, pod: Mapping[str, Any]) -> None:
        node = pod_node(pod)
        if node is None or node not in self.targets:
            return
        view = PodView(pod, deleted=etype == "DELETED")
        with self.lock:
            cur = self.pods.get(node)
            if cur is None and etype != "DELETED":
                self.last_new_pod = time.monotonic()
            if etype == "DELETED":
                if cur is not None and cur.name == view.name:
                    del self.pods[node]
            else:
                self.pods[node] = view
            self.changed.add(node)
            self.lock.notify_all()

    def _watch(self) -> None:
        from_rv: Optional[str] = None
        selector = "%s=%s" % (RUN_LABEL, self.run_id)
        while not self.stop_watch.is_set() and not self.cancel.is_set():
            try:
                if from_rv is None:
                    self.o.stats["lists"] += 1
                    items, from_rv = self.api.list_pods(self.ns, selector)
                    for pod in items:
                        self._apply("ADDED", pod)
                left = max(5, int(self.timeout_s - (time.monotonic() - self.start)) + 30)
                self.o.stats["watches"] += 1
                for etype, pod in self.api.watch_pods(self.ns, selector, from_rv, timeout_seconds=left):
                    rv = ((pod.get("metadata") or {}).get("resourceVersion"))
                    if rv:
                        from_rv = str(rv)
                    self._apply(etype, pod)
                    if self.stop_watch.is_set():
                        return
            except Exception as exc:  # noqa: BLE001
                if type(exc).__name__ == "WatchExpired":
                    from_rv = None                  # relist
                    continue
                if self.stop_watch.is_set():
                    return
                with self.lock:
                    self.watch_error = getattr(exc, "message", None) or str(exc)
                    self.lock.notify_all()
                return
