"""doctor orchestration: facts -> scope -> namespace -> probes -> expected -> checks -> report (-> bundle).

Two phases so a bundle re-analyses exactly like a live run:

* ``collect(env, conn, req)`` talks to the cluster and the nodes and returns a :class:`Collected`
  (redacted cluster facts, scope, per-node probe results with raw outputs, the expectation used);
* ``analyse(collected)`` is pure and returns the report document.

API requests do not grow with the number of nodes: list calls (nodes, pools, MachineConfigs,
RuntimeClasses, KataConfigs), two GETs (osimageurl ConfigMap, pull secret) and the namespace
create/delete; the node probes go through ``oc``/``kubectl``.
"""
from __future__ import annotations

import base64
import json
import os
import random
import shutil
import string
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional

from ..core.closure import installed_closure
from ..core.nodefacts import NodeFacts, RawResult, parse_node_facts
from ..doctor.checks_cluster import SUBJECT, check_cluster, node_ready, pool_nodes
from ..doctor.checks_node import KATA_PACKAGE, NodeContext, check_node
from ..doctor.expected import Expectation, ExpectationError
from ..doctor.findings import ERROR, INFO, OK, WARNING, Finding
from ..doctor.report import PROBE_CHECK, build_report
from ..errors import ClusterError, KataError, UsageProblem
from ..status import ExitStatus

__all__ = ["DoctorRequest", "Collected", "ProbeRecord", "DoctorInterrupted", "collect", "analyse", "run_doctor",
           "exit_status_for", "redact_object", "NAMESPACE_PREFIX", "DEFAULT_PARALLEL", "DEFAULT_NODE_TIMEOUT"]

NAMESPACE_PREFIX = "kata-doctor-"
DEFAULT_PARALLEL = 10
DEFAULT_NODE_TIMEOUT = 300.0
OSIMAGEURL_CM = ("machine-config-osimageurl", "openshift-machine-config-operator")
PULL_SECRET = ("pull-secret", "openshift-config")
# probe failures that mean "doctor cannot work here", not "this node is broken"
ENVIRONMENT_REASONS = ("forbidden", "unauthorized", "pod-security", "not-root", "tool-not-found",
                       "cluster-unreachable")


class DoctorCannotRun(KataError):
    exit_status = ExitStatus.CLUSTER_ERROR


@dataclass
class DoctorRequest:
    pool: Optional[str] = None
    nodes: List[str] = field(default_factory=list)
    selector: Optional[str] = None
    via: Optional[str] = None
    image: Optional[str] = None
    parallel: int = DEFAULT_PARALLEL
    node_timeout: float = DEFAULT_NODE_TIMEOUT
    expected: Optional[str] = None
    output: str = "table"
    bundle: Optional[str] = None
    from_path: Optional[str] = None

    def validate(self) -> "DoctorRequest":
        if self.from_path and (self.nodes or self.selector or self.via or self.image or self.pool):
            raise UsageProblem("--from re-analyses a bundle offline: --pool/--node/--selector/--via/--image "
                               "do not apply")
        if self.nodes and self.selector:
            raise UsageProblem("--node and --selector are mutually exclusive")
        if self.parallel < 1:
            raise UsageProblem("--parallel must be at least 1")
        if self.node_timeout is None or self.node_timeout <= 0:
            raise UsageProblem("--node-timeout must be a positive duration")
        if self.selector:
            from ..core.selectors import parse_selector_string

            try:
                parse_selector_string(self.selector)
            except ValueError as exc:
                raise UsageProblem("--selector: %s" % exc) from None
        return self


@dataclass
class ProbeRecord:
    node: str
    ok: bool
    reason: str
    error: Optional[str]
    raw: Optional[Dict[str, RawResult]]
    notes: List[str] = field(default_factory=list)
    stderr_tail: str = ""
    command: List[str] = field(default_factory=list)
    duration_s: float = 0.0
    # parsed once (in the probe's worker thread, while other nodes are still being probed) and
    # reused by the consensus fallback and by analyse(); never stored in a bundle
    facts: Optional[NodeFacts] = field(default=None, compare=False, repr=False)


def node_facts(rec: ProbeRecord) -> Optional[NodeFacts]:
    """The record's parsed :class:`NodeFacts` (parsed on first use, then kept); None without raw data."""
    if rec.facts is None and rec.raw:
        rec.facts = parse_node_facts(rec.raw)
    return rec.facts


@dataclass
class Collected:
    facts: Dict[str, Any]
    scope: Dict[str, Any]                       # pool, nodes, selector
    probes: Dict[str, ProbeRecord]
    expectation: Expectation
    via: Optional[str] = None
    commands: List[List[str]] = field(default_factory=list)
    # Ctrl-C: the nodes whose probe was stopped or never started (None = the run was not interrupted)
    interrupted: Optional[List[str]] = None


class DoctorInterrupted(KeyboardInterrupt):
    """Ctrl-C during ``collect`` once the debug pods and the namespace are gone; ``collected`` holds what
    finished (``interrupted`` lists the rest) for a partial report. Still a KeyboardInterrupt (exit 130)."""

    def __init__(self, collected: "Collected") -> None:
        super().__init__("interrupted")
        self.collected = collected


# --------------------------------------------------------------------------- redaction

_KEEP_SECRET_KEYS = ("tls.crt", "ca.crt", "service-ca.crt")
_BLANK_ANNOTATIONS = ("openshift.io/token-secret.value", "kubectl.kubernetes.io/last-applied-configuration")


def redact_object(obj: Any) -> Any:
    """A copy safe to store: Secret data as ``oc adm inspect`` does it ("<n> bytes long" except certificates),
    MachineConfig file contents replaced by their size (00-worker carries the pull secret), secret-bearing
    annotations blanked, managedFields dropped."""
    if isinstance(obj, list):
        return [redact_object(o) for o in obj]
    if not isinstance(obj, dict):
        return obj
    out = json.loads(json.dumps(obj))
    meta = out.get("metadata")
    if isinstance(meta, dict):
        meta.pop("managedFields", None)
        ann = meta.get("annotations")
        if isinstance(ann, dict):
            for k in _BLANK_ANNOTATIONS:
                if k in ann:
                    ann[k] = ""
    if out.get("kind") == "Secret":
        for key in ("data", "stringData"):
            data = out.get(key)
            if isinstance(data, dict):
                for k, v in list(data.items()):
                    if k in _KEEP_SECRET_KEYS:
                        continue
                    n = len(base64.b64decode(v)) if key == "data" and isinstance(v, str) and _b64ok(v) else \
                        len(str(v).encode())
                    data[k] = "%d bytes long" % n
    if out.get("kind") == "MachineConfig":
        files = ((((out.get("spec") or {}).get("config") or {}).get("storage") or {}).get("files"))
        if isinstance(files, list):
            for f in files:
                if isinstance(f, dict) and isinstance(f.get("contents"), dict) and "source" in f["contents"]:
                    f["contents"]["source"] = "%d bytes long" % len(str(f["contents"]["source"]).encode())
    return out


def _b64ok(v: str) -> bool:
    try:
        base64.b64decode(v, validate=True)
        return True
    except ValueError:
        return False


FACT_LISTS = ("nodes", "pools", "mcs", "runtimeclasses", "kataconfigs")


def redact_facts(facts: Dict[str, Any]) -> Dict[str, Any]:
    out = {}
    for k, v in facts.items():
        out[k] = redact_object(v) if isinstance(v, (dict, list)) else v
    return json.loads(json.dumps(out))


# --------------------------------------------------------------------------- scope

def _name(o: dict) -> str:
    return ((o or {}).get("metadata") or {}).get("name") or ""


def resolve_scope(facts: Dict[str, Any], req: DoctorRequest) -> Dict[str, Any]:
    from ..core.preflight import find
    from ..core.selectors import matches, parse_selector_string
    from ..core.statusreport import detect_pool

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


# --------------------------------------------------------------------------- collection

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
    from ..core.support import parse_ocp_version

    try:
        old = tuple(parse_ocp_version(version)[:2]) <= (4, 15) if version else False
    except ValueError:
        old = False
    return "registry.redhat.io/rhel8/support-tools" if old else "registry.redhat.io/rhel9/support-tools"


class _Progress:
    """done/running/failed of total on a terminal (one redrawn line); nothing otherwise."""

    def __init__(self, env, total: int, via: str):
        self.env = env
        self.total = total
        self.live = env.interactive
        self.lock = threading.Lock()
        self.drawn = False
        self.via = via

    def __call__(self, done: int, running: int, failed: int, total: int) -> None:
        if not self.live:
            return
        with self.lock:
            self.env.stderr.write("\r\x1b[2Kprobing nodes via %s: %d/%d done, %d running, %d failed"
                                  % (self.via, done, total, running, failed))
            self.env.stderr.flush()
            self.drawn = True

    def close(self) -> None:
        if self.live and self.drawn:
            self.env.stderr.write("\r\x1b[2K")
            self.env.stderr.flush()


def _record(res, facts: Optional[NodeFacts] = None) -> ProbeRecord:
    return ProbeRecord(node=res.node, ok=res.ok, reason=res.reason, error=res.error, raw=res.raw,
                       notes=list(res.notes), stderr_tail=res.stderr_tail, command=list(res.command),
                       duration_s=round(float(res.duration_s), 3), facts=facts if res.raw else None)


def _recording_backend(inner, sink: Dict[str, ProbeRecord], on_node: Optional[Callable[[str, ProbeRecord], None]]):
    """Wrap a probe backend so each node's result becomes its :class:`ProbeRecord` in the worker thread
    as soon as it arrives: the raw output is parsed (and handed to ``on_node``, e.g. the bundle writer)
    while the other nodes are still being collected, instead of adding to the end of the run."""
    from ..probe.runner import ProbeBackend

    class _RecordAsYouGo(ProbeBackend):
        name = inner.name

        def probe(self, node, *, timeout_s, cancel_event, grace_s):
            res = inner.probe(node, timeout_s=timeout_s, cancel_event=cancel_event, grace_s=grace_s)
            facts = None
            if res.raw:
                try:
                    facts = parse_node_facts(res.raw)   # bad input -> facts.errors, not an exception
                except Exception:  # noqa: BLE001 - analyse() parses again and reports it; the probe result stays
                    facts = None
            rec = _record(res, facts)
            sink[node] = rec
            if on_node is not None:
                try:
                    on_node(node, rec)
                except Exception:  # noqa: BLE001 - e.g. the bundle writer fails: it reports that at the end
                    pass
            return res

    return _RecordAsYouGo()


def collect(env, conn, req: DoctorRequest,
            on_node: Optional[Callable[[str, ProbeRecord], None]] = None) -> Collected:
    """Talk to the cluster and the nodes. ``on_node(node, record)`` is called from the probe workers as each
    node finishes (the bundle writer streams the node's files then)."""
    from ..probe.runner import (REASON_CANCELLED, REASON_NOT_READY, ProbesInterrupted, conn_global_flags,
                                run_command, run_probes)
    from .cluster_facts import gather, open_cluster, require_openshift

    cluster = open_cluster(conn, env)
    facts = gather(cluster, with_pods=False)
    require_openshift(facts)
    facts["osimageurl"] = cluster.get("ConfigMap", OSIMAGEURL_CM[0], OSIMAGEURL_CM[1])
    facts = redact_facts(facts)
    scope = resolve_scope(facts, req)
    by_name = {_name(n): n for n in facts.get("nodes") or []}
    skip = {n: REASON_NOT_READY for n in scope["nodes"] if node_ready(by_name.get(n, {})) is not True}

    via = req.via
    oc_path = _which("oc", env.environ)
    if via is None:
        via = "oc" if oc_path else "kubectl"
    tool_path = oc_path if via == "oc" else _which("kubectl", env.environ)
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
    progress = _Progress(env, len(to_probe), via)
    try:
        if via == "oc":
            from ..probe.oc import OcDebugBackend

            backend = OcDebugBackend(namespace or "unused", oc_path=tool_path, image=req.image,
                                     kubeconfig=conn.kubeconfig, context=conn.context, cluster=conn.cluster,
                                     user=conn.user, as_user=conn.as_user, as_groups=conn.as_groups,
                                     env=env.environ)
        else:
            from ..probe.kubectl import KubectlDebugBackend

            backend = KubectlDebugBackend(namespace or "unused", req.image or _default_image(facts.get("version")),
                                          kubectl_path=tool_path, kubeconfig=conn.kubeconfig,
                                          context=conn.context, cluster=conn.cluster, user=conn.user,
                                          as_user=conn.as_user, as_groups=conn.as_groups, env=env.environ)
        made: Dict[str, ProbeRecord] = {}
        try:
            results = run_probes(to_probe, _recording_backend(backend, made, on_node), parallel=req.parallel,
                                 per_node_timeout=req.node_timeout, on_progress=progress, skip=skip, grace_s=5.0)
        except ProbesInterrupted as exc:
            progress.close()
            results = exc.results
            # stopped mid-probe or never started; the nodes that finished (even with an error) are reported
            interrupted = [r.node for r in results if r.reason == REASON_CANCELLED]
        progress.close()
        for res in results:
            rec = made.get(res.node)
            records[res.node] = rec if rec is not None and rec.node == res.node else _record(res)
            if res.command:
                commands.append(list(res.command))
    finally:
        if namespace:
            try:
                cluster.delete("Namespace", namespace)
                commands.append(["(API) delete namespace " + namespace])
            except ClusterError as exc:
                env.err("warning: could not delete namespace %s: %s; delete it with `oc delete namespace %s`"
                        % (namespace, exc.message, namespace))

    if interrupted is None:
        try:
            expectation = _expectation(env, cluster, conn, req, facts, scope, records, oc_path, global_flags,
                                       run_command)
        except KeyboardInterrupt:   # Ctrl-C while reading the release: every node is in, compare with the pool
            interrupted = []
            expectation = _interrupted_expectation(req, records, "interrupted while reading the release's "
                                                                 "expected versions")
    else:
        expectation = _interrupted_expectation(req, records, "interrupted before every node was probed")
    commands.extend(expectation.commands)
    col = Collected(facts=facts, scope=scope, probes=records, expectation=expectation, via=via, commands=commands,
                    interrupted=interrupted)
    if interrupted is not None:
        raise DoctorInterrupted(col)
    return col


def _interrupted_expectation(req, records: Dict[str, ProbeRecord], why: str) -> Expectation:
    """After Ctrl-C nothing more is fetched from the cluster or a registry: ``--expected FILE`` if given (local),
    else the consensus of the nodes that finished."""
    from ..doctor import expected as ex

    if req.expected:
        try:
            return ex.load_expected_file(req.expected, sorted(set(_node_arches(records).values())) or ["x86_64"])
        except ExpectationError:
            pass
    facts_by_node = {n: node_facts(r) for n, r in records.items() if r.raw}
    exp = ex.from_consensus(facts_by_node, _node_arches(records).get, why)
    exp.notes.insert(0, "release expectation not read: %s" % why)
    return exp


def _node_arches(records: Dict[str, ProbeRecord]) -> Dict[str, str]:
    """node -> `uname -m` output (read directly: a full parse of every node is analyse()'s job)."""
    out = {}
    for node, rec in records.items():
        res = (rec.raw or {}).get("uname-m")
        if res is not None and res.rc == 0:
            arch = bytes(res.stdout).decode("utf-8", "replace").strip()
            if arch and len(arch) < 64 and not any(c.isspace() for c in arch):
                out[node] = arch
    return out


def _expectation(env, cluster, conn, req, facts, scope, records, oc_path, global_flags, run_command) -> Expectation:
    from ..doctor import expected as ex

    arches = sorted(set(_node_arches(records).values())) or ["x86_64"]
    if req.expected:
        try:
            return ex.load_expected_file(req.expected, arches)
        except ExpectationError as exc:
            raise UsageProblem("--expected: %s" % exc) from None
    why = ""
    info = ex.locate_extensions_image(facts.get("osimageurl"), _rendered_for_pool(facts, scope.get("pool")),
                                      facts.get("version"))
    if info is None:
        why = "the release's extensions image is not named in the cluster"
    elif not oc_path:
        why = "oc is not on PATH (needed for `oc image extract`)"
    else:
        secret = None
        try:
            ps = cluster.get("Secret", PULL_SECRET[0], PULL_SECRET[1])
            raw = ((ps or {}).get("data") or {}).get(".dockerconfigjson")
            secret = base64.b64decode(raw) if raw else None
        except ClusterError:
            secret = None   # not allowed to read it: try anonymously

        def run(argv, timeout):
            return run_command(argv, timeout_s=timeout, env=env.environ, grace_s=5.0)

        try:
            return ex.extract_from_release(info, arches, oc_path=oc_path, pull_secret=secret, run=run,
                                           global_flags=global_flags, version=facts.get("version"))
        except ExpectationError as exc:
            why = str(exc)
        finally:
            secret = None
    facts_by_node = {n: node_facts(r) for n, r in records.items() if r.raw}
    arch_of = _node_arches(records)
    exp = ex.from_consensus(facts_by_node, arch_of.get, why)
    exp.notes.insert(0, "release expectation unavailable: %s" % why)
    return exp


def _rendered_for_pool(facts, pool) -> Optional[dict]:
    from ..core.preflight import find

    p = find(facts.get("pools") or [], pool) if pool else None
    target = (((p or {}).get("spec") or {}).get("configuration") or {}).get("name")
    return find(facts.get("mcs") or [], target) if target else None


# --------------------------------------------------------------------------- analysis (pure)

_PROBE_HINTS = {
    "not-ready": "check the node (`oc describe node {n}`); doctor probes it once it is Ready",
    "timeout": "raise --node-timeout, or check `oc debug node/{n}` by hand (image pull, node load)",
    "image-pull": "pass --image with a support-tools image from a registry the nodes can pull from",
    "forbidden": "doctor needs cluster-admin (privileged debug pods on nodes)",
    "pod-security": "the debug namespace must allow privileged pods",
    "unauthorized": "log in again (`oc login`)",
    "tool-not-found": "install oc (or pass --via kubectl)",
}


def _probe_finding(rec: ProbeRecord) -> Finding:
    sev = WARNING if rec.reason == "not-ready" else ERROR
    hint = _PROBE_HINTS.get(rec.reason, "re-run with -v; check `oc debug node/{n} -- chroot /host true` works")
    return Finding(PROBE_CHECK, sev, rec.node, "node could not be probed (%s): %s" % (rec.reason, rec.error or
                                                                                     rec.reason),
                   hint.format(n=rec.node), {"reason": rec.reason, "notes": list(rec.notes),
                                             "partialItems": sorted(rec.raw) if rec.raw else []})


def _node_context(facts, node_obj, version) -> NodeContext:
    from ..core.preflight import find
    from ..core.statusreport import rendered_includes_extension
    from ..core.constants import ANN_CURRENT_CONFIG

    ann = ((node_obj or {}).get("metadata") or {}).get("annotations") or {}
    current = ann.get(ANN_CURRENT_CONFIG)
    rendered = find(facts.get("mcs") or [], current) if current else None
    os_url = ((rendered or {}).get("spec") or {}).get("osImageURL") if rendered else None
    requested = rendered_includes_extension(facts, None, current) if rendered else None
    return NodeContext(release=version, os_image_url=os_url or None, extension_requested=requested)


def analyse(col: Collected) -> Dict[str, Any]:
    facts, scope, exp = col.facts, col.scope, col.expectation
    version = facts.get("version")
    by_name = {_name(n): n for n in facts.get("nodes") or []}
    cluster_findings = check_cluster(facts, scope.get("pool"), scope.get("nodes") or [])
    node_findings: Dict[str, List[Finding]] = {}
    arch_nodes: Dict[str, List[str]] = {}
    for node in scope.get("nodes") or []:
        rec = col.probes.get(node)
        fs: List[Finding] = []
        if rec is None:
            rec = ProbeRecord(node, False, "skipped", "not probed", None)
        if not rec.ok:
            fs.append(_probe_finding(rec))
        if rec.raw:
            # facts parsed during the run are reused; otherwise (--from) parse without keeping them, so
            # memory holds one node's facts at a time
            nf = rec.facts if rec.facts is not None else parse_node_facts(rec.raw)
            if nf.arch:
                arch_nodes.setdefault(nf.arch, []).append(node)
            names = ()
            if not exp.closure_known and nf.installed(KATA_PACKAGE):
                names = installed_closure(nf.package_index()).packages.keys()
            expected = exp.for_node(nf.arch, names)
            ctx = _node_context(facts, by_name.get(node), version)
            fs.extend(check_node(node, nf, expected, ctx))
        elif rec.ok:
            fs.append(Finding(PROBE_CHECK, ERROR, node, "probe returned no data", "re-run doctor"))
        node_findings[node] = fs
    # where the expected versions came from, and whether the release has kata for each arch
    detail = {"source": exp.source, "detail": exp.detail, "image": exp.image}
    if exp.source == "consensus":
        cluster_findings.append(Finding("cluster.expected-source", INFO, SUBJECT,
                                        "expected versions from pool consensus (%s)" % exp.detail,
                                        "pass --expected FILE to compare against the release", detail))
    else:
        cluster_findings.append(Finding("cluster.expected-source", OK, SUBJECT, "expected versions from %s: %s%s" % (
            exp.source, exp.detail, (" " + exp.image) if exp.image else ""), "", detail))
    if exp.source != "consensus":
        for arch, nodes in sorted(arch_nodes.items()):
            if arch in exp.missing or not exp.packages.get(arch):
                why = exp.missing.get(arch) or "no expected packages for %s" % arch
                cluster_findings.append(Finding(
                    "cluster.extension-available", ERROR, SUBJECT, "%s (nodes: %s)" % (why, ", ".join(sorted(nodes))),
                    "the sandboxed-containers extension cannot be installed on %s nodes of this release; run kata "
                    "on a supported architecture" % arch, {"arch": arch, "nodes": sorted(nodes)}))
            else:
                cluster_findings.append(Finding(
                    "cluster.extension-available", OK, SUBJECT, "extensions repo has %s for %s"
                    % (exp.packages[arch].get(KATA_PACKAGE), arch), "", {"arch": arch}))
    doc = build_report(cluster_findings=cluster_findings, node_findings=node_findings, scope=scope,
                       version=version, expected=exp.to_dict())
    if col.interrupted is not None:
        nodes = scope.get("nodes") or []
        doc["interrupted"] = {"nodes": sorted(col.interrupted),
                              "finished": len([n for n in nodes if n not in set(col.interrupted)]),
                              "total": len(nodes)}
    return doc


def exit_status_for(col: Collected, doc: Dict[str, Any]) -> int:
    """0 healthy, 1 problems found (also when some nodes were unreachable: those are reported), 3 when no node
    at all could be probed for a reason that is about doctor's access (forbidden, not logged in, no oc...)."""
    probed = [r for r in col.probes.values() if r.reason != "not-ready"]
    if probed and all((not r.ok) and r.reason in ENVIRONMENT_REASONS for r in probed):
        return ExitStatus.CLUSTER_ERROR
    return ExitStatus.SUCCESS if doc["healthy"] else ExitStatus.PROBLEMS_FOUND


# --------------------------------------------------------------------------- command entry

def run_doctor(env, conn, req: DoctorRequest) -> int:
    from ..doctor import bundle as bundle_mod

    req.validate()
    if req.from_path:
        col = bundle_mod.read_bundle(req.from_path)
        if req.expected:
            from ..doctor import expected as ex

            arches = sorted(set(_node_arches(col.probes).values())) or ["x86_64"]
            try:
                col.expectation = ex.load_expected_file(req.expected, arches)
            except ExpectationError as exc:
                raise UsageProblem("--expected: %s" % exc) from None
        doc = analyse(col)
        if req.bundle:
            env.err("support bundle written to %s" % bundle_mod.write_bundle(req.bundle, col, doc))
    else:
        writer = _open_bundle(req.bundle) if req.bundle else None
        try:
            col = collect(env, conn, req, on_node=writer.add_node if writer else None)
            doc = analyse(col)
            if writer:
                env.err("support bundle written to %s" % writer.finish(col, doc))
        except DoctorInterrupted as exc:
            if writer:
                writer.abort()
            return _partial(env, exc.collected, req, bundle_dropped=writer is not None)
        except BaseException:
            if writer:
                writer.abort()
            raise
    _print(env, doc, req.output)
    status = exit_status_for(col, doc)
    if status == ExitStatus.CLUSTER_ERROR:
        reasons = sorted({r.reason for r in col.probes.values() if not r.ok})
        env.err("error: no node could be probed (%s); the report above is incomplete" % ", ".join(reasons))
    return status


def _partial(env, col: Collected, req: DoctorRequest, bundle_dropped: bool) -> int:
    """Ctrl-C: the debug pods and the namespace are gone; print what finished, marked partial, and exit 130."""
    doc = analyse(col)
    _print(env, doc, req.output)
    left = doc["interrupted"]["nodes"]
    env.err("Interrupted: partial report, %d of %d node(s) finished%s. Debug pods and namespace removed.%s"
            % (doc["interrupted"]["finished"], doc["interrupted"]["total"],
               ("; not finished: " + ", ".join(left)) if left else "",
               " No support bundle written." if bundle_dropped else ""))
    return ExitStatus.INTERRUPTED


def _open_bundle(path: str):
    from ..doctor.bundle import BundleWriter

    try:
        return BundleWriter(path)
    except OSError as exc:
        raise UsageProblem("--bundle %s: cannot write there: %s" % (path, exc.strerror or exc)) from None


def _print(env, doc, output) -> None:
    from ..doctor.report import render_table
    from ..render.output import render

    if output in ("json", "yaml"):
        env.out(render(doc, output))
    else:
        env.out(render_table(doc, wide=output == "wide"))
