"""doctor's collector choice (``--via auto``) and the DaemonSet collection (``--via daemonset``), with spooling.

``auto`` (the default) takes the DaemonSet when more than :data:`AUTO_THRESHOLD` nodes are to be probed AND
SelfSubjectAccessReviews say the user may create DaemonSets and RoleBindings and use the ``privileged`` SCC (what
the collector needs: the DaemonSet's pods run as a service account bound to that SCC); otherwise ``oc`` (``kubectl``
when oc is not on PATH). The choice and why go into the report (``collector``).

Memory stays flat in the number of nodes: as each node's log arrives, one thread of its own (so the log-fetching
threads go straight back to fetching) writes the node's raw outputs to a private temporary directory and streams
them into the bundle; the analysis reads them back one node at a time and parses each distinct set of outputs
once (a bounded cache, keyed by the outputs' digest, as ``doctor --from`` does). Nothing keeps every node's
outputs or facts in memory at once. (Parsing each node as it arrives, as the oc path does, was measured: at 5,000
nodes it made the collection CPU-bound and the run slower, and keeping every node's facts costs ~60 KB each.)
"""
from __future__ import annotations

import os
import pickle
import queue
import tempfile
import threading
from collections import OrderedDict
from collections import abc
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Tuple

from ...core.nodefacts import NodeFacts, RawResult
from ...core.preflight import find
from ...doctor.model import ProbeRecord, parse_facts, raw_digest

__all__ = ["AUTO_THRESHOLD", "VIAS", "choose_collector", "run_daemonset", "SpooledRecords", "SpooledProbeRecord"]

AUTO_THRESHOLD = 20
FACTS_CACHE = 64                    # distinct parsed output sets kept while analysing spooled nodes
RESIDENT_ITEMS = ("uname-m",)       # raw items kept in memory too (the architecture: read for every node)
VIAS = ("auto", "daemonset", "oc", "kubectl")
# (verb, resource, group, name) the DaemonSet collector needs beyond what every doctor run needs
DAEMONSET_RIGHTS = (
    ("create", "daemonsets", "apps", None),
    ("create", "rolebindings", "rbac.authorization.k8s.io", None),
    ("use", "securitycontextconstraints", "security.openshift.io", "privileged"),
)


def choose_collector(requested: Optional[str], n_nodes: int, workloads, oc_path: Optional[str]
                     ) -> Tuple[str, str]:
    """(collector, why). ``requested`` None means auto; an explicit one is taken as is."""
    if requested and requested != "auto":
        return requested, "--via %s" % requested
    if n_nodes > AUTO_THRESHOLD:
        denied = []
        for verb, res, group, name in DAEMONSET_RIGHTS:
            allowed, _reason = workloads.may(verb, res, group, name=name)
            if not allowed:
                denied.append("%s %s%s" % (verb, res + ("." + group if group else ""),
                                           ("/" + name) if name else ""))
        if not denied:
            return "daemonset", ("auto: %d nodes to probe (more than %d) and the user may create DaemonSets and "
                                 "use the privileged SCC" % (n_nodes, AUTO_THRESHOLD))
        why = ("auto: %d nodes to probe, but the DaemonSet collector is not allowed (SelfSubjectAccessReview "
               "denies: %s)" % (n_nodes, ", ".join(denied)))
    else:
        why = "auto: %d node(s) to probe (the DaemonSet is used for more than %d)" % (n_nodes, AUTO_THRESHOLD)
    if oc_path:
        return "oc", why
    return "kubectl", why + "; oc is not on PATH"


class SpooledRaw(abc.Mapping):
    """One node's raw outputs, kept on disk: the item keys, the (tiny) ``uname-m`` item and the outputs' digest stay
    in memory, so ``if rec.raw``, ``sorted(rec.raw)`` and :func:`~kubectl_kata.doctor.model.node_arches` read no
    file; anything else reads the node's file back (not kept)."""

    __slots__ = ("_spool", "_path", "_keys", "_resident", "digest")

    def __init__(self, spool: "SpooledRecords", path: str, raw: Mapping[str, RawResult]) -> None:
        self._spool = spool
        self._path = path
        self._keys = tuple(sorted(raw))
        self._resident = {k: raw[k] for k in RESIDENT_ITEMS if k in raw}
        self.digest = raw_digest(raw)

    def load(self) -> Dict[str, RawResult]:
        return self._spool.load(self._path)

    def __getitem__(self, key: str) -> RawResult:
        if key in self._resident:
            return self._resident[key]
        if key not in self._keys:
            raise KeyError(key)
        return self.load()[key]

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def items(self):  # type: ignore[override] - one file read, not one per key
        return self.load().items()

    def values(self):  # type: ignore[override]
        return self.load().values()


class SpooledRecords:
    """A private temporary directory holding each node's raw outputs (pickled by us, read back by us), and the
    parsed facts of the last :data:`FACTS_CACHE` distinct output sets (nodes of one pool often return identical
    outputs: each distinct set is parsed once, as ``doctor --from`` does, and memory stays bounded)."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="kata-doctor-spool-")
        self._lock = threading.Lock()
        self._facts: "OrderedDict[str, NodeFacts]" = OrderedDict()

    def put(self, node: str, raw: Mapping[str, RawResult]) -> SpooledRaw:
        path = os.path.join(self._dir.name, "%s.raw" % node)
        with open(path, "wb") as fh:
            pickle.dump({k: (bytes(v.stdout), bytes(v.stderr), int(v.rc)) for k, v in raw.items()}, fh,
                        protocol=pickle.HIGHEST_PROTOCOL)
        return SpooledRaw(self, path, raw)

    @staticmethod
    def load(path: str) -> Dict[str, RawResult]:
        with open(path, "rb") as fh:
            data = pickle.load(fh)
        return {k: RawResult(v[0], v[1], v[2]) for k, v in data.items()}

    def facts(self, raw: SpooledRaw) -> NodeFacts:
        with self._lock:
            nf = self._facts.get(raw.digest)
            if nf is not None:
                self._facts.move_to_end(raw.digest)
                return nf
        nf = parse_facts(raw.load())
        with self._lock:
            self._facts[raw.digest] = nf
            while len(self._facts) > FACTS_CACHE:
                self._facts.popitem(last=False)
        return nf

    def close(self) -> None:
        self._dir.cleanup()


class SpooledProbeRecord(ProbeRecord):
    """A probe record whose raw outputs are on disk (doctor --via daemonset): ``raw`` is a :class:`SpooledRaw`
    and ``facts`` are parsed on demand (see :meth:`SpooledRecords.facts`), never kept for every node."""

    def __init__(self, *args: Any, spool: SpooledRecords, **kw: Any) -> None:
        self.__dict__["_spool"] = spool
        super().__init__(*args, **kw)

    @property  # type: ignore[override]
    def raw(self) -> Optional[SpooledRaw]:
        return self.__dict__.get("_raw")

    @raw.setter
    def raw(self, value) -> None:
        if value is not None and not isinstance(value, SpooledRaw):
            value = self.__dict__["_spool"].put(self.node, value)
        self.__dict__["_raw"] = value or None

    @property  # type: ignore[override]
    def facts(self) -> Optional[NodeFacts]:
        raw = self.__dict__.get("_raw")
        return self.__dict__["_spool"].facts(raw) if raw is not None else None

    @facts.setter
    def facts(self, value) -> None:
        pass


class _Sink:
    """Takes each finished node off the log-fetching threads: one thread of its own spools the node's outputs and
    hands them to ``on_node`` (the bundle writer), so a fetching thread goes back to fetching at once. The queue
    holds at most ``bound`` nodes' outputs (a full queue makes the fetchers wait: memory stays bounded)."""

    def __init__(self, handle: Callable[[Any], None], bound: int) -> None:
        self._handle = handle
        self._queue: "queue.Queue[Any]" = queue.Queue(maxsize=max(1, bound))
        self._thread = threading.Thread(target=self._run, name="kata-ds-sink", daemon=True)
        self._thread.start()

    def put(self, res) -> None:
        self._queue.put(res)

    def _run(self) -> None:
        while True:
            res = self._queue.get()
            if res is None:
                return
            try:
                self._handle(res)
            except BaseException:  # noqa: BLE001 - the thread must live on, or the fetchers would block
                pass

    def close(self) -> None:
        """Handle what is queued, then stop (again: nothing)."""
        while self._thread.is_alive():
            try:
                self._queue.put(None)
                self._thread.join()
                return
            except KeyboardInterrupt:      # a second Ctrl-C: the queued nodes are still reported
                continue


def _keeper(spool: SpooledRecords, records: Dict[str, Any],
            on_node: Optional[Callable[[str, Any], None]]) -> Callable[[Any], None]:
    """What the sink does with each finished node: spool its outputs into ``records[node]`` (kept in memory
    when the spool cannot be written, e.g. a full disk) and hand them, from memory, to ``on_node``."""
    def keep(res) -> None:
        raw = res.raw
        try:
            rec = SpooledProbeRecord.from_probe(res, spool=spool)
        except OSError:
            rec = ProbeRecord.from_probe(res)
        records[res.node] = rec
        res.raw = None              # the collector keeps no node's outputs
        if on_node is not None:
            on_node(res.node, ProbeRecord.from_probe(res, raw=raw))

    return keep


def run_daemonset(cluster, namespace: str, image: str, req, facts: Dict[str, Any], scope: Dict[str, Any],
                  skip: Dict[str, str], progress: Callable[[int, int, int, int], None],
                  on_node: Optional[Callable[[str, Any], None]] = None,
                  on_started: Optional[Callable[[], None]] = None):
    """Collect through one DaemonSet. Returns (results, records, spool, collector); raises ProbesInterrupted (with
    ``.records`` set) on Ctrl-C/SIGTERM after the DaemonSet is gone."""
    from ...kube.workloads import WorkloadAPI
    from ...probe.daemonset import DaemonSetCollector, placement
    from ...probe.fanout import ProbesInterrupted

    nodes = list(scope.get("nodes") or [])
    to_run = [n for n in nodes if n not in skip]
    labels = {((o.get("metadata") or {}).get("name") or ""): ((o.get("metadata") or {}).get("labels") or {})
              for o in facts.get("nodes") or []}
    pool_selector = None
    if scope.get("pool") and not req.nodes and not req.selector:
        pool_selector = ((find(facts.get("pools") or [], scope["pool"]) or {}).get("spec") or {}).get("nodeSelector")
    where = placement(to_run, pool_selector, labels)
    spool = SpooledRecords()
    records: Dict[str, Any] = {}

    sink = _Sink(_keeper(spool, records, on_node), 2 * req.parallel)
    collector = DaemonSetCollector(WorkloadAPI(cluster, connections=req.parallel + 2), namespace, image)
    try:
        results = collector.run(nodes, where=where, parallel=req.parallel, per_node_timeout=req.node_timeout,
                                skip=skip, on_result=sink.put, on_progress=progress,
                                on_started=on_started)
    except ProbesInterrupted as exc:
        sink.close()                # the nodes that finished are reported
        exc.records = records
        exc.spool = spool
        raise
    finally:
        sink.close()
    return results, records, spool, collector


def commands_for(results) -> List[List[str]]:
    return [list(r.command) for r in results if r.command]
