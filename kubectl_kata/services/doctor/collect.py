"""Doctor's collection: cluster facts -> scope -> a temporary namespace -> one probe per node -> expectation.

API requests do not grow with the number of nodes: list calls (nodes, pools, MachineConfigs, RuntimeClasses,
KataConfigs), two GETs (osimageurl ConfigMap, pull secret) and the namespace create/delete; the node probes go
through ``oc``/``kubectl``, or (``--via daemonset``, see :mod:`.daemonset`) one DaemonSet, one pod list, one pod
watch and one log GET per node. Probe progress and the warnings of a run go to the injected
:class:`~kubectl_kata.services.reporting.Reporter`.
"""
from __future__ import annotations

import os
import random
import shutil
import string
import threading
from typing import Any, Callable, Dict, List, Optional

from ...core.preflight import find
from ...core.redact import redact_facts
from ...core.selectors import matches, parse_selector_string
from ...core.statusreport import detect_pool
from ...core.support import parse_ocp_version
from ...doctor.checks_cluster import node_ready, pool_nodes
from ...doctor.expected import Expectation
from ...doctor.model import Collected, ProbeRecord, parse_facts
from ...errors import ClusterError, KataError, UsageProblem
from ...kube.workloads import WorkloadAPI
from ...probe.argv import conn_global_flags
from ...probe.daemonset import sigterm_as_interrupt
from ...probe.backend import REASON_CANCELLED, REASON_NOT_READY, ProbeBackend
from ...probe.fanout import ProbesInterrupted, run_probes
from ...status import ExitStatus
from ..reporting import Reporter
from .daemonset import AUTO_THRESHOLD, choose_collector, run_daemonset
from .expectation import choose_expectation, interrupted_expectation
from .request import DoctorRequest

__all__ = ["collect", "resolve_scope", "DoctorCannotRun", "DoctorInterrupted", "NAMESPACE_PREFIX",
           "OSIMAGEURL_CM"]

NAMESPACE_PREFIX = "kata-doctor-"
OSIMAGEURL_CM = ("machine-config-osimageurl", "openshift-machine-config-operator")


class DoctorCannotRun(KataError):
    exit_status = ExitStatus.CLUSTER_ERROR


class DoctorInterrupted(KeyboardInterrupt):
    """Ctrl-C during ``collect`` once the debug pods and the namespace are gone; ``collected`` holds what
    finished (``interrupted`` lists the rest) for a partial report. Still a KeyboardInterrupt (exit 130)."""

    def __init__(self, collected: Collected) -> None:
        super().__init__("interrupted")
        self.collected = collected


def _name(o: dict) -> str:
    return ((o or {}).get("metadata") or {}).get("name") or ""


def resolve_scope(facts: Dict[str, Any], req: DoctorRequest) -> Dict[str, Any]:
    """``{pool, nodes, selector}``: the nodes to diagnose, from --node, --selector or the pool."""
    nodes = {_name(n): n for n in facts.get("nodes") or []}
    pool = req.pool or detect_pool(facts)
    if req.pool and find(facts.get("pools") or [], req.pool) is None:
        raise UsageProblem("MachineConfigPool %s not found" % req.pool, hint="`oc get mcp` lists the pools")
    if req.nodes:
        unknown = [n for n in req.nodes if n not in nodes]
        if unknown:
            raise UsageProblem("node(s) not found: %s" % ", ".join(unknown))
        names = sorted(set(req.nodes))
    elif req.selector:
        sel = parse_selector_string(req.selector)
        names = sorted(n for n, obj in nodes.items() if matches(sel, ((obj.get("metadata") or {}).get("labels"))))
        if not names:
            raise UsageProblem("--selector %s matches no node" % req.selector)
    else:
        if not pool:
            raise UsageProblem("no pool to diagnose (no MachineConfigPool found); pass --pool or --node")
        names = pool_nodes(facts, pool)
    return {"pool": pool, "nodes": names, "selector": req.selector}


def _which(tool: str, environ: Dict[str, str]) -> Optional[str]:
    return shutil.which(tool, path=environ.get("PATH", os.defpath))


def _namespace_object(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name,
                         "labels": {"pod-security.kubernetes.io/enforce": "privileged",
                                    "pod-security.kubernetes.io/audit": "privileged",
                                    "pod-security.kubernetes.io/warn": "privileged",
                                    "security.openshift.io/scc.podSecurityLabelSync": "false",
                                    "app.kubernetes.io/managed-by": "kubectl-kata"},
                         "annotations": {"openshift.io/node-selector": "",
                                         "openshift.io/description": "kubectl kata doctor debug pods (temporary)"}}}


def _default_image(version: Optional[str]) -> str:
    try:
        old = tuple(parse_ocp_version(version)[:2]) <= (4, 15) if version else False
    except ValueError:
        old = False
    return "registry.redhat.io/rhel8/support-tools" if old else "registry.redhat.io/rhel9/support-tools"


def _recording_backend(inner: ProbeBackend, sink: Dict[str, ProbeRecord],
                       on_node: Optional[Callable[[str, ProbeRecord], None]]) -> ProbeBackend:
    """Wrap a probe backend so each node's result becomes its :class:`ProbeRecord` in the worker thread
    as soon as it arrives: the raw output is parsed (and handed to ``on_node``, e.g. the bundle writer)
    while the other nodes are still being collected, instead of adding to the end of the run."""

    class _RecordAsYouGo(ProbeBackend):
        name = inner.name

        def probe(self, node, *, timeout_s, cancel_event, grace_s):
            res = inner.probe(node, timeout_s=timeout_s, cancel_event=cancel_event, grace_s=grace_s)
            facts = None
            if res.raw:
                try:
                    facts = parse_facts(res.raw)   # bad input -> facts.errors, not an exception
                except Exception:  # noqa: BLE001 - analyse() parses again and reports it; the probe result stays
                    facts = None
            rec = ProbeRecord.from_probe(res, facts=facts)
            sink[node] = rec
            if on_node is not None:
                try:
                    on_node(node, rec)
                except Exception:  # noqa: BLE001 - e.g. the bundle writer fails: it reports that at the end
                    pass
            return res

    return _RecordAsYouGo()


def _backend(via: str, tool_path: str, namespace: Optional[str], req: DoctorRequest, facts, conn,
             environ: Dict[str, str]) -> ProbeBackend:
    if via == "oc":
        from ...probe.oc import OcDebugBackend

        return OcDebugBackend(namespace or "unused", oc_path=tool_path, image=req.image,
                              kubeconfig=conn.kubeconfig, context=conn.context, cluster=conn.cluster,
                              user=conn.user, as_user=conn.as_user, as_groups=conn.as_groups, env=environ)
    from ...probe.kubectl import KubectlDebugBackend

    return KubectlDebugBackend(namespace or "unused", req.image or _default_image(facts.get("version")),
                               kubectl_path=tool_path, kubeconfig=conn.kubeconfig,
                               context=conn.context, cluster=conn.cluster, user=conn.user,
                               as_user=conn.as_user, as_groups=conn.as_groups, env=environ)


def _in_background(fn: Callable[..., None], *args: Any) -> threading.Thread:
    def run() -> None:
        try:
            fn(*args)
        except Exception:  # noqa: BLE001 - the bundle writer remembers its failure and reports it at the end
            pass

    t = threading.Thread(target=run, name="kata-doctor-bundle-facts", daemon=True)
    t.start()
    return t


def _join(thread: threading.Thread) -> None:
    while True:
        try:
            thread.join()
            return
        except KeyboardInterrupt:       # a second Ctrl-C: the writer is only formatting JSON, let it end
            continue


def collect(env, conn, req: DoctorRequest, reporter: Optional[Reporter] = None,
            on_node: Optional[Callable[[str, ProbeRecord], None]] = None, read_release: bool = True,
            on_facts: Optional[Callable[[Dict[str, Any]], None]] = None) -> Collected:
    """Talk to the cluster and the nodes. ``on_node(node, record)`` is called from the probe workers as each
    node finishes (the bundle writer streams the node's files then); ``on_facts(facts)`` with the run's final
    (redacted) cluster facts, on a thread of its own while the nodes are probed (the bundle writer writes them
    then, instead of after the last node). Raises :class:`DoctorInterrupted` on
    Ctrl-C once the debug pods and the namespace are gone. ``read_release=False`` (a caller that only needs the
    node facts, e.g. upgrade's host-leftover inspection): no pull secret read, no ``oc image extract``; the
    expectation is the nodes' consensus."""
    from ..cluster_facts import gather, open_cluster, require_openshift

    reporter = reporter if reporter is not None else Reporter()
    cluster = open_cluster(conn, env)
    facts = gather(cluster, with_pods=False)
    require_openshift(facts)
    facts["osimageurl"] = cluster.get("ConfigMap", OSIMAGEURL_CM[0], OSIMAGEURL_CM[1])
    facts = redact_facts(facts)
    scope = resolve_scope(facts, req)
    by_name = {_name(n): n for n in facts.get("nodes") or []}
    skip = {n: REASON_NOT_READY for n in scope["nodes"] if node_ready(by_name.get(n, {})) is not True}

    oc_path = _which("oc", env.environ)
    n_to_probe = len([n for n in scope["nodes"] if n not in skip])
    via, via_reason = choose_collector(req.via, n_to_probe,
                                       WorkloadAPI(cluster) if n_to_probe > AUTO_THRESHOLD else None, oc_path)
    tool_path = oc_path if via == "oc" else _which("kubectl", env.environ)
    if via == "daemonset":
        tool_path = "(API)"         # no tool: the collection goes through the API server
    if tool_path is None:
        raise DoctorCannotRun("%s is not on PATH; doctor probes nodes with `%s debug node/...`" % (via, via),
                              hint="install oc (or kubectl and pass --via kubectl)")
    # the same cluster/identity as the API calls: --kubeconfig/--context/--cluster/--user/--as/--as-group
    global_flags = conn_global_flags(conn)

    commands: List[List[str]] = []
    records: Dict[str, ProbeRecord] = {}
    interrupted: Optional[List[str]] = None
    to_probe = [n for n in scope["nodes"]]
    namespace = None
    if any(n not in skip for n in to_probe):
        namespace = NAMESPACE_PREFIX + "".join(random.choice(string.ascii_lowercase + string.digits)
                                               for _ in range(5))
        try:
            cluster.create(_namespace_object(namespace))
        except ClusterError as exc:
            raise DoctorCannotRun("cannot create the debug namespace %s: %s" % (namespace, exc.message),
                                  hint=exc.hint) from None
        commands.append(["(API) create namespace " + namespace])

    def progress(done: int, running: int, failed: int, total: int) -> None:
        reporter.probes(done, running, failed, total, via)

    restore_sigterm = None
    facts_writer: List[threading.Thread] = []

    def write_facts() -> None:     # once the node pods are being started: the CPU is free until they run
        if on_facts is not None and not facts_writer:
            facts_writer.append(_in_background(on_facts, facts))

    try:
        made: Dict[str, ProbeRecord] = {}
        if via == "daemonset":
            restore_sigterm = sigterm_as_interrupt()   # SIGTERM, like Ctrl-C, removes the DaemonSet and namespace
            try:
                results, made, _spool, _ = run_daemonset(
                    cluster, namespace or "unused", req.image or _default_image(facts.get("version")), req, facts,
                    scope, skip, progress, on_node, on_started=write_facts)
            except ProbesInterrupted as exc:
                reporter.probes_finished()
                results, made = exc.results, dict(getattr(exc, "records", {}))
                interrupted = [r.node for r in results if r.reason == REASON_CANCELLED]
        else:
            backend = _backend(via, tool_path, namespace, req, facts, conn, env.environ)
            write_facts()
            try:
                results = run_probes(to_probe, _recording_backend(backend, made, on_node), parallel=req.parallel,
                                     per_node_timeout=req.node_timeout, on_progress=progress, skip=skip,
                                     grace_s=5.0)
            except ProbesInterrupted as exc:
                reporter.probes_finished()
                results = exc.results
                # stopped mid-probe or never started; the nodes that finished (even with an error) are reported
                interrupted = [r.node for r in results if r.reason == REASON_CANCELLED]
        reporter.probes_finished()
        for res in results:
            rec = made.get(res.node)
            records[res.node] = rec if rec is not None and rec.node == res.node else ProbeRecord.from_probe(res)
            if res.command:
                commands.append(list(res.command))
    finally:
        if namespace:
            try:
                cluster.delete("Namespace", namespace)
                commands.append(["(API) delete namespace " + namespace])
            except ClusterError as exc:
                reporter.warning("could not delete namespace %s: %s; delete it with `oc delete namespace %s`"
                                 % (namespace, exc.message, namespace))
        if restore_sigterm is not None:
            restore_sigterm()
        for t in facts_writer:
            _join(t)

    expectation: Expectation
    if interrupted is None and not read_release:
        expectation = interrupted_expectation(req, records, "not needed by the caller")
    elif interrupted is None:
        try:
            expectation = choose_expectation(cluster, req, facts, scope, records, oc_path, global_flags,
                                             env.environ)
        except KeyboardInterrupt:   # Ctrl-C while reading the release: every node is in, compare with the pool
            interrupted = []
            expectation = interrupted_expectation(req, records, "interrupted while reading the release's "
                                                                "expected versions")
    else:
        expectation = interrupted_expectation(req, records, "interrupted before every node was probed")
    commands.extend(expectation.commands)
    col = Collected(facts=facts, scope=scope, probes=records, expectation=expectation, via=via, commands=commands,
                    interrupted=interrupted, via_reason=via_reason)
    if interrupted is not None:
        raise DoctorInterrupted(col)
    return col
