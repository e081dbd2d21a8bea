"""Cluster-side doctor checks: facts (plain dicts, as ``services.cluster_facts.gather`` returns them) -> findings.

Pure: no I/O. Subject of every finding is ``"cluster"``. Ids are stable and listed in ``CLUSTER_CHECKS``
(the README copies that table).
"""
from __future__ import annotations

from typing import Dict, Iterable, List, Optional

from kubectl_kata.core.constants import (ANN_REASON, ANN_STATE, EXTENSION, MANAGED_BY_VALUE, MC_NAME,
                                         RUNTIMECLASS_HANDLER, RUNTIMECLASS_NAME)
from kubectl_kata.core.objects import is_ours, mc_extensions, mc_role
from kubectl_kata.core import installkind
from kubectl_kata.core.preflight import find, object_list, operator_signals
from kubectl_kata.core.rollout import condition
from kubectl_kata.core.selectors import MultiplePoolsError, matches, matches_label_map, pools_for_node
from kubectl_kata.core.statusreport import rendered_includes_extension
from kubectl_kata.core.support import parse_ocp_version, supported_extensions
from kubectl_kata.doctor.findings import ERROR, INFO, OK, WARNING, Finding

__all__ = ["CLUSTER_CHECKS", "CLUSTER_CHECK_IDS", "check_cluster", "pool_nodes", "node_ready", "SUBJECT"]

SUBJECT = "cluster"

CLUSTER_CHECKS = (
    ("cluster.extension-mc", "error",
     "a MachineConfig selected by the pool's `machineConfigSelector` (the operator's kata-oc pool selects "
     "role `In [kata-oc, worker]`) requests `sandboxed-containers`, and every extension it lists is valid "
     "for the cluster version (MCO allow-list)",
     "`kubectl kata enable --pool <pool>`; remove extension names the release does not know"),
    ("cluster.rendered-config", "error",
     "the pool's target rendered MachineConfig (and the one fully rolled out) include the extension",
     "check `oc get mcp <pool> -o yaml` spec.configuration.source lists the extension MachineConfig"),
    ("cluster.pool-status", "error",
     "the pool is updated and not degraded (RenderDegraded/NodeDegraded messages and node reasons quoted)",
     "fix the quoted reason; `kubectl kata status --watch` follows the rollout"),
    ("cluster.runtimeclass", "error",
     "RuntimeClass `kata` exists, its handler is `kata` and its nodeSelector selects the pool's nodes and "
     "no node whose own pool's target rendered config lacks the extension (a worker-role extension "
     "MachineConfig reaches every worker)",
     "`kubectl kata enable` recreates it; or edit scheduling.nodeSelector to the pool's node-role label"),
    ("cluster.node-pools", "error",
     "no node is selected by two custom pools (`node X belongs to 2 custom roles`)",
     "change the labels so each node matches at most one custom pool's nodeSelector"),
    ("cluster.operator", "info",
     "who owns the install: kubectl-kata, the sandboxed containers operator (KataConfig) or someone else; a "
     "warning for a legacy RPM-payload (kata-operator) install",
     "with the operator, manage kata through the KataConfig, not by hand; a legacy install: `kubectl kata "
     "upgrade --dry-run --inspect-nodes`"),
    ("cluster.node-ready", "warning",
     "the nodes in scope are Ready (NotReady nodes are reported, not probed)",
     "check the node (`oc describe node <node>`); doctor probes it once it is Ready"),
    ("cluster.extension-available", "error",
     "the release's extensions repo has kata-containers for every node architecture, and every requirement "
     "of its closure the repo does not carry is provided by the base OS of a probed node of that "
     "architecture (warning otherwise; not checked when no node's base package set is known)",
     "the extension does not exist for this architecture/release: see DOMAIN 1.2; use a supported "
     "architecture"),
    ("cluster.expected-source", "info",
     "where the expected package versions came from (release extensions image, --expected file, pool consensus)",
     "when the release could not be read, pass `--expected FILE` (extensions.json or a repodata dir)"),
)
CLUSTER_CHECK_IDS = tuple(r[0] for r in CLUSTER_CHECKS)


def _name(obj: Optional[dict]) -> str:
    return (((obj or {}).get("metadata") or {}).get("name")) or ""


def _labels(obj: Optional[dict]) -> dict:
    return (((obj or {}).get("metadata") or {}).get("labels")) or {}


def _ann(obj: Optional[dict]) -> dict:
    return (((obj or {}).get("metadata") or {}).get("annotations")) or {}


def node_ready(node: dict) -> Optional[bool]:
    for c in ((node or {}).get("status") or {}).get("conditions") or []:
        if isinstance(c, dict) and c.get("type") == "Ready":
            return c.get("status") == "True"
    return None


def pool_nodes(facts: dict, pool: str) -> List[str]:
    """Names of the nodes the MCO assigns to ``pool`` (primary pool; conflicting nodes excluded)."""
    pools = object_list(facts, "pools")
    out = []
    for node in object_list(facts, "nodes"):
        try:
            names = pools_for_node(_name(node), _labels(node), pools)
        except MultiplePoolsError:
            continue
        if names and names[0] == pool:
            out.append(_name(node))
    return sorted(out)


def _mm(version: Optional[str]):
    if not version:
        return None
    try:
        v = parse_ocp_version(version)
        return (v[0], v[1])
    except ValueError:
        return None


class _Cluster:
    def __init__(self, facts: dict, pool: Optional[str], nodes: Iterable[str]):
        self.facts = facts or {}
        self.pool_name = pool
        self.pool = find(object_list(self.facts, "pools"), pool) if pool else None
        self.nodes = sorted(set(nodes))
        self.out: List[Finding] = []
        self.version = self.facts.get("version")
        self.mm = _mm(self.version)

    def add(self, cid: str, severity: str, message: str, hint: str = "", **details) -> None:
        self.out.append(Finding(cid, severity, SUBJECT, message, hint, details))

    def selects_mc(self, mc: dict) -> bool:
        """Does the pool's ``machineConfigSelector`` select ``mc`` (what the render controller merges, DOMAIN 2.1)?
        The operator's kata-oc pool selects role ``In [kata-oc, worker]`` (DOMAIN 2.2). Without the pool object the
        role label naming the pool is all there is to go by."""
        sel = ((self.pool or {}).get("spec") or {}).get("machineConfigSelector") if self.pool else None
        if sel is None:
            return mc_role(mc) == self.pool_name
        try:
            return matches(sel, _labels(mc))
        except ValueError:
            return mc_role(mc) == self.pool_name

    # ------------------------------------------------------------------ extension MC
    def extension_mc(self) -> None:
        cid = "cluster.extension-mc"
        if not self.pool_name:
            self.add(cid, ERROR, "no MachineConfigPool to check (no worker pool and no pool given)",
                     "pass --pool NAME")
            return
        mcs = [mc for mc in object_list(self.facts, "mcs") if not _name(mc).startswith("rendered-")]
        carrying = [mc for mc in mcs if EXTENSION in mc_extensions(mc)]
        selected = [mc for mc in mcs if self.selects_mc(mc)]
        for_pool = [mc for mc in carrying if mc in selected]
        allowed = supported_extensions(self.mm) if self.mm else None
        invalid: Dict[str, List[str]] = {}
        if allowed is not None:
            for mc in mcs:
                bad = [e for e in mc_extensions(mc) if e not in allowed]
                if bad and (mc in selected or mc in carrying):
                    invalid[_name(mc)] = bad
        if invalid:
            what = "; ".join("%s lists %s" % (n, ", ".join(b)) for n, b in sorted(invalid.items()))
            self.add(cid, ERROR, "extension names not valid on OpenShift %s: %s (the pool degrades with "
                     "`invalid extensions found`)" % (self.version, what),
                     "remove the invalid names from the MachineConfig (valid here: %s)"
                     % ", ".join(sorted(allowed or ())), invalid=invalid)
        if not for_pool:
            others = ["%s (role %s)" % (_name(mc), mc_role(mc) or "none") for mc in carrying]
            self.add(cid, ERROR, "no MachineConfig for pool %s requests the %s extension%s"
                     % (self.pool_name, EXTENSION, ("; found: " + ", ".join(others)) if others else ""),
                     "`kubectl kata enable --pool %s`" % self.pool_name, others=others)
        elif not invalid:
            names = sorted(_name(mc) for mc in for_pool)
            self.add(cid, OK, "MachineConfig %s requests %s for pool %s" % (", ".join(names), EXTENSION,
                                                                           self.pool_name), machineConfigs=names)

    # ------------------------------------------------------------------ rendered config
    def rendered_config(self) -> None:
        cid = "cluster.rendered-config"
        if self.pool is None:
            if self.pool_name:
                self.add(cid, ERROR, "MachineConfigPool %s does not exist" % self.pool_name,
                         "`oc get mcp` lists the pools; pass --pool")
            return
        target = ((self.pool.get("spec") or {}).get("configuration") or {}).get("name")
        current = ((self.pool.get("status") or {}).get("configuration") or {}).get("name")
        inc_t = rendered_includes_extension(self.facts, self.pool, target)
        inc_c = rendered_includes_extension(self.facts, self.pool, current) if current != target else inc_t
        details = {"target": target, "current": current, "targetIncludes": inc_t, "currentIncludes": inc_c}
        if inc_t is False:
            self.add(cid, ERROR, "target rendered config %s of pool %s does not include %s"
                     % (target, self.pool_name, EXTENSION),
                     "the pool's machineConfigSelector must select the extension MachineConfig (check its "
                     "machineconfiguration.openshift.io/role label against `oc get mcp %s -o yaml`)"
                     % self.pool_name, **details)
        elif inc_t is None:
            self.add(cid, WARNING, "cannot tell whether rendered config %s includes %s (rendered MachineConfig "
                     "not readable)" % (target, EXTENSION), "check `oc get mc %s -o yaml`" % target, **details)
        elif inc_c is False:
            self.add(cid, WARNING, "target %s includes %s but the rolled-out config %s does not yet (rollout in "
                     "progress)" % (target, EXTENSION, current), "follow it with `kubectl kata status --watch`",
                     **details)
        else:
            self.add(cid, OK, "rendered config %s of pool %s includes %s" % (target, self.pool_name, EXTENSION),
                     **details)

    # ------------------------------------------------------------------ pool status
    def pool_status(self) -> None:
        cid = "cluster.pool-status"
        if self.pool is None:
            return
        st = self.pool.get("status") or {}
        reasons = []
        for ctype in ("RenderDegraded", "NodeDegraded", "Degraded"):
            c = condition(self.pool, ctype)
            if c and c.get("status") == "True":
                reasons.append("%s: %s" % (ctype, c.get("message") or c.get("reason") or "True"))
        node_reasons = {}
        for node in object_list(self.facts, "nodes"):
            if _name(node) in self.nodes:
                ann = _ann(node)
                if ann.get(ANN_STATE) in ("Degraded", "Unreconcilable"):
                    node_reasons[_name(node)] = "%s: %s" % (ann.get(ANN_STATE), ann.get(ANN_REASON) or "")
        counts = {k: st.get(k) for k in ("machineCount", "updatedMachineCount", "readyMachineCount",
                                         "unavailableMachineCount", "degradedMachineCount")}
        paused = bool((self.pool.get("spec") or {}).get("paused"))
        details = dict(counts, paused=paused, conditions=reasons, nodeReasons=node_reasons)
        if reasons or node_reasons or (st.get("degradedMachineCount") or 0) > 0:
            parts = reasons + ["node %s %s" % (n, r) for n, r in sorted(node_reasons.items())]
            self.add(cid, ERROR, "pool %s is degraded: %s" % (self.pool_name, "; ".join(parts) or
                                                              "degradedMachineCount > 0"),
                     "fix the quoted reason on the node (`oc describe node <node>`, MCD logs), then the MCO retries",
                     **details)
            return
        mc = counts["machineCount"] or 0
        updated = (counts["updatedMachineCount"] == mc and counts["readyMachineCount"] == mc
                   and not counts["unavailableMachineCount"])
        if paused and not updated:
            self.add(cid, WARNING, "pool %s is paused with %s of %s machines updated" % (
                self.pool_name, counts["updatedMachineCount"], mc),
                "unpause: `oc patch mcp %s --type merge -p '{\"spec\":{\"paused\":false}}'`" % self.pool_name,
                **details)
        elif not updated:
            self.add(cid, WARNING, "pool %s is updating: %s of %s machines updated, %s unavailable" % (
                self.pool_name, counts["updatedMachineCount"], mc, counts["unavailableMachineCount"]),
                "wait for the rollout (`kubectl kata status --watch`); node results may change", **details)
        else:
            self.add(cid, OK, "pool %s is updated (%d machines) and not degraded" % (self.pool_name, mc), **details)

    # ------------------------------------------------------------------ RuntimeClass
    def runtimeclass(self) -> None:
        cid = "cluster.runtimeclass"
        rc = find(object_list(self.facts, "runtimeclasses"), RUNTIMECLASS_NAME)
        if rc is None:
            self.add(cid, ERROR, "RuntimeClass %s does not exist: pods cannot request kata" % RUNTIMECLASS_NAME,
                     "`kubectl kata enable` creates it once the rollout is done")
            return
        handler = rc.get("handler")
        selector = ((rc.get("scheduling") or {}).get("nodeSelector")) or {}
        selected = sorted(_name(n) for n in object_list(self.facts, "nodes")
                          if matches_label_map(selector, _labels(n)))
        pool_set = set(pool_nodes(self.facts, self.pool_name)) if self.pool_name else set()
        details = {"handler": handler, "nodeSelector": selector, "selects": selected, "poolNodes": sorted(pool_set)}
        problems = []
        if handler != RUNTIMECLASS_HANDLER:
            problems.append("handler is %r, CRI-O's drop-in declares %r" % (handler, RUNTIMECLASS_HANDLER))
        outside = sorted(set(selected) - pool_set)
        # a node outside the pool is fine when its own pool's target rendered config requests the extension too
        # (e.g. the extension MachineConfig has role worker and the RuntimeClass selects every worker)
        without, unknown = self._without_extension(outside)
        details["outsidePool"] = outside
        details["outsideWithoutExtension"] = without
        details["outsideUnknown"] = unknown
        if not selected:
            problems.append("its nodeSelector %s selects no node" % (selector or "{}"))
        elif without and pool_set:
            problems.append("its nodeSelector also selects nodes outside pool %s whose own pool does not request "
                            "the extension: %s" % (self.pool_name, ", ".join(without[:8])))
        if problems:
            self.add(cid, ERROR, "RuntimeClass %s: %s" % (RUNTIMECLASS_NAME, "; ".join(problems)),
                     "set handler: kata and scheduling.nodeSelector to the pool's node-role label", **details)
        else:
            missing = sorted(pool_set - set(selected))
            if missing:
                self.add(cid, WARNING, "RuntimeClass %s does not select pool nodes %s" % (
                    RUNTIMECLASS_NAME, ", ".join(missing[:8])), "widen scheduling.nodeSelector", **details)
            else:
                self.add(cid, OK, "RuntimeClass %s (handler %s) selects the pool's %d node(s)"
                         % (RUNTIMECLASS_NAME, handler, len(selected)), **details)

    def _without_extension(self, names: List[str]):
        """(nodes whose pool's target rendered config does not request the extension, nodes where that is unknown)."""
        pools = object_list(self.facts, "pools")
        by_name = {_name(n): n for n in object_list(self.facts, "nodes")}
        without, unknown = [], []
        for n in names:
            try:
                owners = pools_for_node(n, _labels(by_name.get(n)), pools)
            except MultiplePoolsError:
                owners = []
            pool = find(pools, owners[0]) if owners else None
            target = (((pool or {}).get("spec") or {}).get("configuration") or {}).get("name")
            inc = rendered_includes_extension(self.facts, pool, target) if pool is not None else False
            if inc is False:
                without.append(n)
            elif inc is None:
                unknown.append(n)
        return without, unknown

    # ------------------------------------------------------------------ node pools
    def node_pools(self) -> None:
        cid = "cluster.node-pools"
        pools = object_list(self.facts, "pools")
        conflicts = {}
        for node in object_list(self.facts, "nodes"):
            try:
                pools_for_node(_name(node), _labels(node), pools)
            except MultiplePoolsError as exc:
                conflicts[_name(node)] = str(exc)
        if conflicts:
            self.add(cid, ERROR, "%d node(s) belong to two custom pools: %s" % (
                len(conflicts), "; ".join(v for _, v in sorted(conflicts.items()))),
                "relabel the nodes so each matches one custom pool; the MCO ignores them meanwhile",
                nodes=sorted(conflicts))
        else:
            self.add(cid, OK, "every node belongs to at most one custom pool")

    # ------------------------------------------------------------------ operator
    def operator(self) -> None:
        cid = "cluster.operator"
        mc = find(object_list(self.facts, "mcs"), MC_NAME)
        signals = operator_signals(self.facts)
        if mc is not None and is_ours(mc):
            if signals:
                self.add(cid, WARNING, "installed by kubectl-kata, but the sandboxed containers operator is present "
                         "too: %s" % ", ".join(signals), "let only one of them manage the extension", signals=signals)
            else:
                self.add(cid, OK, "install managed by kubectl-kata (label app.kubernetes.io/managed-by=%s)"
                         % MANAGED_BY_VALUE, managedBy=MANAGED_BY_VALUE)
        elif signals:
            kcs = object_list(self.facts, "kataconfigs")
            state = []
            for kc in kcs:
                c = condition(kc, "InProgress")
                if c is not None:
                    state.append("%s InProgress=%s" % (_name(kc), c.get("status")))
            self.add(cid, INFO, "install managed by the sandboxed containers operator (%s)%s"
                     % (", ".join(signals), ("; " + ", ".join(state)) if state else ""),
                     "change it through the KataConfig, not by editing the MachineConfig", signals=signals)
        elif installkind.classify(self.facts).kind == installkind.KIND_LEGACY:
            legacy = installkind.classify(self.facts)
            self.add(cid, WARNING, "legacy RPM-payload install (kata-operator, OCP 4.6/4.7) found: %s"
                     % ", ".join(legacy.evidence),
                     "`kubectl kata upgrade --dry-run --inspect-nodes` shows how it would be migrated to the "
                     "extension", evidence=legacy.evidence)
        elif mc is not None:
            self.add(cid, INFO, "MachineConfig %s exists but no manager label or operator owns it" % MC_NAME,
                     "it was created by hand; kubectl kata disable will not remove it", managedBy=None)
        else:
            self.add(cid, INFO, "no install owner found (MachineConfig %s absent)" % MC_NAME, managedBy=None)

    # ------------------------------------------------------------------ node readiness
    def node_readiness(self) -> None:
        cid = "cluster.node-ready"
        by_name = {_name(n): n for n in object_list(self.facts, "nodes")}
        not_ready = sorted(n for n in self.nodes if n in by_name and node_ready(by_name[n]) is not True)
        unknown = sorted(n for n in self.nodes if n not in by_name)
        if not_ready or unknown:
            parts = []
            if not_ready:
                parts.append("NotReady (not probed): %s" % ", ".join(not_ready))
            if unknown:
                parts.append("not found: %s" % ", ".join(unknown))
            self.add(cid, WARNING, "; ".join(parts), "check the node(s) with `oc describe node`; re-run doctor "
                     "once they are Ready", notReady=not_ready, notFound=unknown)
        elif self.nodes:
            self.add(cid, OK, "all %d node(s) in scope are Ready" % len(self.nodes))
        else:
            self.add(cid, WARNING, "no nodes in scope", "check --pool/--node/--selector")

    def run(self) -> List[Finding]:
        self.extension_mc()
        self.rendered_config()
        self.pool_status()
        self.runtimeclass()
        self.node_pools()
        self.operator()
        self.node_readiness()
        return self.out


def check_cluster(facts: dict, pool: Optional[str], nodes: Iterable[str]) -> List[Finding]:
    """Every cluster check for ``pool`` with ``nodes`` in scope."""
    return _Cluster(facts, pool, nodes).run()
