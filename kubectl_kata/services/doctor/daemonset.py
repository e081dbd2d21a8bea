"""doctor's collector choice (``--via auto``) and the DaemonSet collection (``--via daemonset``), with spooling.

``auto`` (the default) takes the DaemonSet when more than :data:`AUTO_THRESHOLD` nodes are to be probed AND
SelfSubjectAccessReviews say the user may create DaemonSets and RoleBindings and use the ``privileged`` SCC (what
the collector needs: the DaemonSet's pods run as a service account bound to that SCC); otherwise ``oc`` (``kubectl``
when oc is not on PATH). The choice and why go into the report (``collector``).

Memory stays flat in the number of nodes: each node's raw outputs are written to a private temporary directory as
the node's log arrives and read back one node at a time by the analysis (and the bundle writer); nothing keeps
every node's outputs in memory at once. (Parsing each node as it arrives, as the oc path does, was measured: at
5,000 nodes it made the collection CPU-bound and the run slower, and keeping every node's facts costs ~60 KB each.)
"""
from __future__ import annotations

import os
import pickle
import tempfile
from typing import Any, Callable, Dict, List, Optional, Tuple

from ...core.nodefacts import RawResult, parse_node_facts

__all__ = ["AUTO_THRESHOLD", "VIAS", "choose_collector", "run_daemonset", "SpooledRecords"]

AUTO_THRESHOLD = 20
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


class SpooledRecords:
    """A private temporary directory holding each node's raw outputs (pickled by us, read back by us)."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="kata-doctor-spool-")

    def put(self, node: str, raw: Dict[str, RawResult]) -> str:
        path = os.path.join(self._dir.name, "%s.raw" % node)
        with open(path, "wb") as fh:
            pickle.dump({k: (bytes(v.stdout), bytes(v.stderr), int(v.rc)) for k, v in raw.items()}, fh,
                        protocol=pickle.HIGHEST_PROTOCOL)
        return path

    @staticmethod
    def get(path: str) -> Dict[str, RawResult]:
        with open(path, "rb") as fh:
            data = pickle.load(fh)
        return {k: RawResult(v[0], v[1], v[2]) for k, v in data.items()}

    def close(self) -> None:
        self._dir.cleanup()


def spooled_record(record_cls, spool: SpooledRecords, res):
    """A ``record_cls`` (ProbeRecord) whose ``raw`` lives in ``spool``: read from disk on each access."""
    cls = _spooled_class(record_cls)
    rec = cls.__new__(cls)
    object.__setattr__(rec, "_spool", spool)
    object.__setattr__(rec, "_path", spool.put(res.node, res.raw) if res.raw else None)
    record_cls.__init__(rec, node=res.node, ok=res.ok, reason=res.reason, error=res.error, raw=None,
                        notes=list(res.notes), stderr_tail=res.stderr_tail, command=list(res.command),
                        duration_s=round(float(res.duration_s), 3))
    return rec


_CLASSES: Dict[type, type] = {}
_LAST_FACTS: Dict[str, Any] = {}


def _spooled_class(record_cls):
    if record_cls not in _CLASSES:
        def _get(self):
            hot = self.__dict__.get("_hot")
            if hot is not None:             # the node's outputs while its on_node (bundle writer) runs
                return hot
            path = self.__dict__.get("_path")
            return SpooledRecords.get(path) if path else None

        def _set(self, value):
            if value is not None:
                self.__dict__["_path"] = self.__dict__["_spool"].put(self.node, value)

        def _get_facts(self):
            # parsed on demand and never kept for every node: the last record's facts only (analysis asks
            # for one node's facts a few times in a row, then moves on)
            last = _LAST_FACTS.get("rec")
            if last is not None and last[0] is self:
                return last[1]
            raw = self.raw
            facts = parse_node_facts(raw) if raw else None
            _LAST_FACTS["rec"] = (self, facts)
            return facts

        def _set_facts(self, value):
            pass

        _CLASSES[record_cls] = type("Spooled" + record_cls.__name__, (record_cls,), {
            "raw": property(_get, _set), "facts": property(_get_facts, _set_facts),
            "__doc__": "A probe record whose raw outputs are on disk (doctor --via daemonset)."})
    return _CLASSES[record_cls]


def run_daemonset(cluster, namespace: str, image: str, req, facts: Dict[str, Any], scope: Dict[str, Any],
                  skip: Dict[str, str], progress: Callable[[int, int, int, int], None], record_cls,
                  on_node: Optional[Callable[[str, Any], None]] = None):
    """Collect through one DaemonSet. Returns (results, records, spool); raises ProbesInterrupted (with
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
        for p in facts.get("pools") or []:
            if ((p.get("metadata") or {}).get("name")) == scope["pool"]:
                pool_selector = (p.get("spec") or {}).get("nodeSelector")
    where = placement(to_run, pool_selector, labels)
    spool = SpooledRecords()
    records: Dict[str, Any] = {}

    def on_result(res) -> None:
        rec = spooled_record(record_cls, spool, res)
        records[res.node] = rec
        if on_node is not None:
            # the outputs just written are handed over from memory, not read back from the spool
            rec.__dict__["_hot"] = res.raw
            try:
                on_node(res.node, rec)
            except Exception:  # noqa: BLE001 - the bundle writer reports its own failure at the end
                pass
            finally:
                rec.__dict__.pop("_hot", None)
        res.raw = None              # on disk now; the collector keeps no node's outputs

    collector = DaemonSetCollector(WorkloadAPI(cluster, connections=req.parallel + 2), namespace, image)
    try:
        results = collector.run(nodes, where=where, parallel=req.parallel, per_node_timeout=req.node_timeout,
                                skip=skip, on_result=on_result, on_progress=progress)
    except ProbesInterrupted as exc:
        exc.records = records
        exc.spool = spool
        raise
    return results, records, spool, collector


def commands_for(results) -> List[List[str]]:
    return [list(r.command) for r in results if r.command]
