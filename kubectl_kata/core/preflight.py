"""Preflight checks for ``enable`` / ``disable``: pure functions over facts read from the cluster.

``facts`` (plain dicts as returned by the API; missing keys mean "none"):

=================  ===========================================================================
key                meaning
=================  ===========================================================================
openshift          bool: the ``machineconfiguration.openshift.io`` API (MCO) is served
version            ClusterVersion ``status.desired.version`` string, or None if unknown
pools              [MachineConfigPool]
nodes              [Node]
mcs                [MachineConfig] (rendered ones may be included; they are ignored here)
kataconfigs        [KataConfig] instances
kataconfig_crd     bool (optional): CRD ``kataconfigs.kataconfiguration.openshift.io`` exists
osc_namespace      bool: namespace ``openshift-sandboxed-containers-operator`` exists
runtimeclasses     [RuntimeClass]
=================  ===========================================================================

``request`` for enable: ``pool`` (MC role / pool to enable, default ``worker``), ``create_pool`` (custom pool
to create, or None; when set it is the target pool), ``node_names``, ``node_selector`` (LabelSelector dict),
``all_workers`` -- the three node selections label nodes into a custom pool and are mutually exclusive.
A problem with severity ``error`` means refuse and change nothing; ``warning`` means proceed but tell the user.
"""
from __future__ import annotations

from typing import List, NamedTuple, Optional

from . import installkind, support
from .constants import (ARCH_LABEL, EXTENSION, KATACONFIG_CRD, KATACONFIG_KIND, MASTER_POOL,
                        MASTER_ROLE_LABEL, MC_NAME, OSC_MC_NAMES, OSC_NAMESPACE,
                        RUNTIMECLASS_NAME, STANDARD_POOLS, WORKER_POOL, WORKER_ROLE_LABEL,
                        node_role_label)
from .objects import custom_pool, is_ours, mc_role, operator_owner, validate_pool_name
from .rollout import condition
from .selectors import (format_selector, matches, pool_selects_node, primary_pool_for_node,
                        validate_selector)

ERROR = "error"
WARNING = "warning"


class Problem(NamedTuple):
    code: str
    message: str
    hint: str
    severity: str = ERROR

    def to_dict(self) -> dict:
        return {"code": self.code, "severity": self.severity, "message": self.message, "hint": self.hint}


def has_errors(problems: List[Problem]) -> bool:
    return any(p.severity == ERROR for p in problems)


# --- small accessors ------------------------------------------------------------------------------

def _name(obj: Optional[dict]) -> str:
    return (((obj or {}).get("metadata") or {}).get("name")) or ""


def _labels(obj: Optional[dict]) -> dict:
    return (((obj or {}).get("metadata") or {}).get("labels")) or {}


def object_list(facts: dict, key: str) -> list:
    """``facts[key]`` as a list of dicts (missing, null or malformed entries dropped)."""
    v = (facts or {}).get(key) or []
    return [o for o in v if isinstance(o, dict)] if isinstance(v, list) else []


def find(objs: list, name: str) -> Optional[dict]:
    for o in objs:
        if _name(o) == name:
            return o
    return None


def node_arch(node: dict) -> str:
    """``kubernetes.io/arch`` label, else ``status.nodeInfo.architecture``, else ``"unknown"``."""
    arch = _labels(node).get(ARCH_LABEL) or (((node or {}).get("status") or {}).get("nodeInfo") or {}).get(
        "architecture")
    return arch or "unknown"


def operator_signals(facts: dict) -> List[str]:
    """Evidence that the sandboxed containers operator manages kata here (DOMAIN 2.6), human-readable; empty
    unless the install kind (core.installkind) is ``operator`` -- a lone KataConfig CRD or an empty operator
    namespace is left-overs, not an operator at work."""
    kind = installkind.classify(facts)
    return list(kind.evidence) if kind.kind == installkind.KIND_OPERATOR else []


def is_converged(pools: List[dict]) -> bool:
    """OSC heuristic: only master + worker pools and the worker pool has no machines (DOMAIN 2.7)."""
    names = sorted(_name(p) for p in pools)
    if names != [MASTER_POOL, WORKER_POOL]:
        return False
    worker = find(pools, WORKER_POOL) or {}
    return ((worker.get("status") or {}).get("machineCount") or 0) == 0


def pool_degraded_message(pool: dict) -> Optional[str]:
    """The quoted reason a pool is degraded, or None when it is healthy."""
    for ctype in ("RenderDegraded", "NodeDegraded", "Degraded"):
        c = condition(pool, ctype)
        if c and c.get("status") == "True":
            return "%s: %s" % (ctype, c.get("message") or c.get("reason") or "True")
    n = ((pool or {}).get("status") or {}).get("degradedMachineCount") or 0
    if n:
        return "degradedMachineCount is %d" % n
    return None


def _unpause_hint(pool: str) -> str:
    return "nothing will roll out until `oc patch mcp %s --type merge -p '{\"spec\":{\"paused\":false}}'`" % pool


def _target_pool(request: dict) -> str:
    return (request or {}).get("create_pool") or (request or {}).get("pool") or WORKER_POOL


def _selections(request: dict) -> List[str]:
    r = request or {}
    chosen = []
    if r.get("node_names"):
        chosen.append("node names")
    if r.get("node_selector") is not None:
        chosen.append("a node selector")
    if r.get("all_workers"):
        chosen.append("all workers")
    return chosen


def _is_worker(node: dict) -> bool:
    lab = _labels(node)
    return WORKER_ROLE_LABEL in lab and MASTER_ROLE_LABEL not in lab


def target_nodes(facts: dict, request: dict) -> List[str]:
    """Sorted names of the nodes that will run kata after ``enable``.

    Standard pool (worker/master): the nodes the MCO assigns to it. Custom pool: its current members plus the
    selected nodes (``node_names`` that exist, nodes matching ``node_selector``, or with ``all_workers`` every
    node labelled worker and not master). An invalid selector selects nothing (preflight reports it).
    """
    pools, nodes = object_list(facts, "pools"), object_list(facts, "nodes")
    pool = _target_pool(request)
    r = request or {}
    if pool in STANDARD_POOLS:
        return sorted(_name(n) for n in nodes if primary_pool_for_node(n, pools) == pool)
    names = {_name(n) for n in nodes if primary_pool_for_node(n, pools) == pool}
    if r.get("node_names"):
        wanted = set(r["node_names"])
        names |= {_name(n) for n in nodes if _name(n) in wanted}
    elif r.get("node_selector") is not None:
        try:
            names |= {_name(n) for n in nodes if matches(r["node_selector"], _labels(n))}
        except ValueError:
            pass
    elif r.get("all_workers"):
        names |= {_name(n) for n in nodes if _is_worker(n)}
    return sorted(names)


# --- checks -------------------------------------------------------------------------------------

def _check_openshift(facts: dict) -> List[Problem]:
    if (facts or {}).get("openshift"):
        return []
    return [Problem("not-openshift",
                    "the MachineConfig API (machineconfiguration.openshift.io) is not served: this is not an "
                    "OpenShift cluster or its Machine Config Operator is missing",
                    "kubectl kata enables the RHCOS sandboxed-containers extension, which needs OpenShift 4.8+ "
                    "with the Machine Config Operator; check the current context (`kubectl config current-context`)")]


def _version_problems(facts: dict) -> tuple:
    """(problems, parsed version or None)."""
    raw = (facts or {}).get("version")
    if not raw:
        return [Problem("version-unknown",
                        "the OpenShift version is unknown (ClusterVersion 'version' not readable)",
                        "the sandboxed-containers extension needs OpenShift 4.8 or later; check "
                        "`oc get clusterversion version` and your permissions to read it")], None
    try:
        ver = support.parse_ocp_version(raw)
    except ValueError:
        return [Problem("version-unknown", "cannot parse the OpenShift version %r" % (raw,),
                        "the sandboxed-containers extension needs OpenShift 4.8 or later; check "
                        "`oc get clusterversion version`")], None
    if not support.extension_supported(ver):
        return [Problem("version-too-old",
                        "OpenShift %s does not know the %s extension: it was added in 4.8, so the pool would "
                        "degrade with 'invalid extensions found: [%s]'" % (raw, EXTENSION, EXTENSION),
                        "upgrade the cluster to OpenShift 4.8 or later")], ver
    return [], ver


def _operator_problems(facts: dict, action: str) -> List[Problem]:
    """Refusals and warnings that follow from the install kind (core.installkind)."""
    kind = installkind.classify(facts)
    out = []
    if kind.kind == installkind.KIND_OPERATOR:
        out.append(Problem("operator-present",
                           "the sandboxed containers operator manages kata here; use the KataConfig (found: %s)"
                           % ", ".join(kind.evidence),
                           "%s kata through the operator's KataConfig (`oc get kataconfig`); kubectl kata will not "
                           "modify operator-managed objects" % action))
        return out
    if kind.kind == installkind.KIND_LEGACY:
        msg = ("a legacy RPM-payload kata install (kata-operator, OCP 4.6/4.7) is on this cluster (found: %s)"
               % ", ".join(kind.evidence))
        if action == "enable":
            out.append(Problem("legacy-install", msg,
                               "run `kubectl kata upgrade` to migrate it to the sandboxed-containers extension "
                               "(`kubectl kata upgrade --dry-run` shows the plan first)"))
        else:
            out.append(Problem("legacy-install", msg + "; only objects created by kubectl-kata are touched",
                               "`kubectl kata upgrade` migrates or removes the legacy install", WARNING))
    if kind.leftovers:
        out.append(Problem("operator-leftovers",
                           "left-overs of an uninstalled sandboxed containers operator: %s; no operator is at "
                           "work, going on" % ", ".join(kind.leftovers),
                           "OLM does not delete CRDs; if no other cluster component needs it: "
                           "`oc delete crd %s`" % KATACONFIG_CRD, WARNING))
    return out


def _pool_health(pool: dict, degraded_severity: str) -> List[Problem]:
    out = []
    name = _name(pool)
    if (pool.get("spec") or {}).get("paused"):
        out.append(Problem("pool-paused", "pool %s is paused" % name, _unpause_hint(name), WARNING))
    msg = pool_degraded_message(pool)
    if msg:
        out.append(Problem("pool-degraded", "pool %s is degraded: %s" % (name, msg),
                           "fix the degraded pool first (`oc describe mcp %s`, then the node's "
                           "machineconfiguration.openshift.io/reason annotation)" % name, degraded_severity))
    return out


def _name_conflicts(facts: dict, pool: str, creating: bool) -> List[Problem]:
    out = []
    # A foreign MachineConfig with our name counts as the operator's (objects.operator_owner) and is refused
    # by the operator check; here only our own MC for another pool matters.
    mc = find(object_list(facts, "mcs"), MC_NAME)
    if mc is not None and is_ours(mc) and mc_role(mc) != pool:
        out.append(Problem("mc-other-pool",
                           "kubectl-kata already enabled kata for pool %s (MachineConfig %s has role %s)"
                           % (mc_role(mc), MC_NAME, mc_role(mc)),
                           "run `kubectl kata disable` first, then enable for pool %s" % pool))
    if creating:
        existing = find(object_list(facts, "pools"), pool)
        if existing is not None and not is_ours(existing):
            out.append(Problem("name-conflict",
                               "MachineConfigPool %s already exists and was not created by kubectl-kata" % pool,
                               "use it as is with `--pool %s` (without creating it), or pick another pool name"
                               % pool))
    rc = find(object_list(facts, "runtimeclasses"), RUNTIMECLASS_NAME)
    if rc is not None and not is_ours(rc) and not operator_owner(rc):
        out.append(Problem("name-conflict",
                           "RuntimeClass %s already exists and was not created by kubectl-kata" % RUNTIMECLASS_NAME,
                           "inspect it (`kubectl get runtimeclass %s -o yaml`) and delete it if it is stale"
                           % RUNTIMECLASS_NAME))
    return out


def _selection_problems(facts: dict, request: dict, pool: str) -> List[Problem]:
    nodes = object_list(facts, "nodes")
    r = request or {}
    chosen = _selections(r)
    if pool in STANDARD_POOLS:
        if chosen:
            return [Problem("bad-request",
                            "node selection (%s) needs a custom pool: the %s pool applies to all its nodes"
                            % (", ".join(chosen), pool),
                            "add --create-pool kata-oc to run kata on selected nodes only, or drop the selection")]
        return []
    if len(chosen) > 1:
        return [Problem("bad-request", "choose one way to select nodes, got %s" % " and ".join(chosen),
                        "use only one of --nodes, --selector, --all-workers")]
    out = []
    if r.get("node_names"):
        known = {_name(n) for n in nodes}
        missing = [n for n in r["node_names"] if n not in known]
        if missing:
            out.append(Problem("nodes-not-found", "node(s) not found: %s" % ", ".join(missing),
                               "list nodes with `kubectl get nodes -l node-role.kubernetes.io/worker`"))
    elif r.get("node_selector") is not None:
        try:
            validate_selector(r["node_selector"])
        except ValueError as e:
            return [Problem("bad-selector", "invalid node selector: %s" % e, "use kubectl label-selector syntax")]
        if not any(matches(r["node_selector"], _labels(n)) for n in nodes):
            out.append(Problem("selector-matches-nothing", "the node selector matches no node",
                               "check it with `kubectl get nodes -l <selector>`"))
    return out


def _node_problems(facts: dict, pool: str, names: List[str], ver: Optional[tuple]) -> List[Problem]:
    pools, nodes = object_list(facts, "pools"), object_list(facts, "nodes")
    by_name = {_name(n): n for n in nodes}
    targets = [by_name[n] for n in names if n in by_name]
    out = []
    if pool not in STANDARD_POOLS:
        not_workers = [_name(n) for n in targets if not _is_worker(n)]
        if not_workers:
            out.append(Problem("node-not-worker",
                               "node(s) not plain workers (no node-role.kubernetes.io/worker label, or also "
                               "master): %s" % ", ".join(not_workers),
                               "custom pools inherit from the worker pool; select worker nodes only"))
        sim_pools = list(pools)
        if find(pools, pool) is None:
            sim_pools.append(custom_pool(pool))
        two, master_wins, not_joining = [], [], []
        for n in targets:
            labels = dict(_labels(n))
            labels[node_role_label(pool)] = ""
            try:
                matched = [_name(p) for p in sim_pools if pool_selects_node(p, labels)]
            except ValueError:
                matched = []
            custom = sorted(m for m in matched if m not in STANDARD_POOLS)
            if len(custom) > 1:
                two.append("%s (%s)" % (_name(n), ", ".join(custom)))
            elif MASTER_POOL in matched:
                master_wins.append(_name(n))
            elif pool not in custom:
                not_joining.append(_name(n))
        if two:
            out.append(Problem("multiple-custom-pools",
                               "node(s) would be in two custom pools and the MCO would stop managing them "
                               "('node <n> belongs to 2 custom roles, cannot proceed with this Node'): %s"
                               % "; ".join(two),
                               "a node may be in only one custom pool; remove the other pool's label from these "
                               "nodes or pick other nodes"))
        if master_wins:
            out.append(Problem("master-pool-wins",
                               "node(s) also match the master pool and would silently get no %s config: %s"
                               % (pool, ", ".join(master_wins)),
                               "the MCO does not apply custom pools to masters; select worker nodes only"))
        if not_joining:
            sel = ((find(pools, pool) or {}).get("spec") or {}).get("nodeSelector")
            try:
                sel_text = format_selector(sel)
            except ValueError:
                sel_text = repr(sel)
            out.append(Problem("pool-selector-mismatch",
                               "node(s) would not join pool %s even after labelling them %s: %s (pool nodeSelector "
                               "%r)" % (pool, node_role_label(pool), ", ".join(not_joining), sel_text),
                               "the existing pool selects nodes differently; label the nodes to match its "
                               "nodeSelector or use another pool"))
    if ver is not None and support.extension_supported(ver):   # too old: already refused, arch is moot
        bad = ["%s (%s)" % (_name(n), node_arch(n)) for n in targets if not support.arch_supported(ver, node_arch(n))]
        if bad:
            out.append(Problem("arch-unsupported",
                               "the %s extension is not shipped for these nodes' architecture on OpenShift %d.%d: %s"
                               % (EXTENSION, ver[0], ver[1], ", ".join(bad)),
                               "supported: %s; select other nodes" % (", ".join(support.supported_arches(ver))
                                                                      or "none on this release")))
    return out


def preflight_enable(facts: dict, request: dict) -> List[Problem]:
    """Everything that makes ``enable`` unsafe or pointless, errors first in check order."""
    facts = facts if isinstance(facts, dict) else {}
    request = request if isinstance(request, dict) else {}
    out = _check_openshift(facts)
    if out:
        return out
    r_pool, r_create = request.get("pool"), request.get("create_pool")
    if r_pool and r_create and r_pool != r_create:
        return [Problem("bad-request", "--pool %s and --create-pool %s disagree" % (r_pool, r_create),
                        "the created pool is the target pool; pass only --create-pool %s" % r_create)]
    if r_create in STANDARD_POOLS:
        return [Problem("bad-request", "--create-pool %s: the %s pool always exists" % (r_create, r_create),
                        "use --pool %s" % r_create)]
    pool = _target_pool(request)
    try:
        validate_pool_name(pool)
    except ValueError as e:
        return [Problem("bad-request", str(e), "pool names are DNS labels, e.g. kata-oc")]
    pools = object_list(facts, "pools")
    creating = bool(r_create)

    vprobs, ver = _version_problems(facts)
    out.extend(vprobs)
    out.extend(_operator_problems(facts, "enable"))
    out.extend(_name_conflicts(facts, pool, creating))

    existing = find(pools, pool)
    if existing is None and not creating:
        hint = ("create it with --create-pool %s" % pool) if pool not in STANDARD_POOLS else \
            "check `oc get mcp`; the %s pool should always exist on OpenShift" % pool
        out.append(Problem("pool-missing", "MachineConfigPool %s does not exist" % pool, hint))
    elif existing is not None:
        out.extend(_pool_health(existing, ERROR))

    if is_converged(pools):
        if pool != MASTER_POOL:
            out.append(Problem("converged-cluster",
                               "this is a converged (compact) cluster: the worker pool has no machines and workloads "
                               "run on the masters, so kata must be enabled on the master pool, not %s" % pool,
                               "rerun with --pool master (the control-plane nodes will reboot one by one)"))
    elif pool == MASTER_POOL:
        out.append(Problem("master-pool",
                           "enabling kata on the master pool of a cluster that has workers",
                           "use --pool worker or --create-pool kata-oc unless you really want kata on "
                           "control-plane nodes", WARNING))

    sel_probs = _selection_problems(facts, request, pool)
    out.extend(sel_probs)
    names = target_nodes(facts, request)
    if not names and not sel_probs and not (pool == WORKER_POOL and is_converged(pools)) \
            and (existing is not None or creating):
        out.append(Problem("no-target-nodes", "no node would run kata in pool %s" % pool,
                           "select nodes with --nodes, --selector or --all-workers" if pool not in STANDARD_POOLS
                           else "the %s pool has no nodes" % pool))
    out.extend(_node_problems(facts, pool, names, ver))
    return out


def preflight_disable(facts: dict, pool: Optional[str] = None) -> List[Problem]:
    """Checks before ``disable``; ``pool`` defaults to the role of our MachineConfig. Kata pods still running
    are the caller's business (it needs to list pods)."""
    facts = facts if isinstance(facts, dict) else {}
    out = _check_openshift(facts)
    if out:
        return out
    out.extend(_operator_problems(facts, "disable"))
    # A foreign MC with our name is operator-owned by definition (objects.operator_owner): refused above.
    mc = find(object_list(facts, "mcs"), MC_NAME)
    if mc is None:
        out.append(Problem("not-enabled", "MachineConfig %s does not exist: kata is not enabled by kubectl-kata"
                           % MC_NAME, "nothing to roll back; leftover pool labels or RuntimeClass are cleaned up "
                                      "if they are ours", WARNING))
    elif is_ours(mc) and pool and mc_role(mc) != pool:
        out.append(Problem("mc-other-pool", "kubectl-kata enabled kata for pool %s, not %s" % (mc_role(mc), pool),
                           "run disable with --pool %s" % mc_role(mc)))
    pool_name = pool or (mc_role(mc) if mc is not None else None)
    if pool_name:
        p = find(object_list(facts, "pools"), pool_name)
        if p is None:
            out.append(Problem("pool-missing", "MachineConfigPool %s does not exist" % pool_name,
                               "check `oc get mcp`", WARNING))
        else:
            out.extend(_pool_health(p, WARNING))
    return out
