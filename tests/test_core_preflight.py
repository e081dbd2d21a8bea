"""Preflight refusals and warnings for enable/disable, table-driven over the cluster fixtures."""
from __future__ import annotations

import copy

import pytest

from kubectl_kata.core import objects
from kubectl_kata.core.constants import MC_NAME
from kubectl_kata.core.preflight import (Problem, has_errors, operator_signals, preflight_disable,
                                         preflight_enable, target_nodes)
from tests.test_core_fixtures_load import facts_from

FRESH = "fresh-4.16.yaml"
ENABLED = "enabled-kata-oc-4.16.yaml"
OSC = "osc-managed-4.9.yaml"
CONVERGED = "converged-4.14.yaml"


def req(pool=None, create_pool=None, node_names=None, node_selector=None, all_workers=False):
    return {"pool": pool, "create_pool": create_pool, "node_names": node_names, "node_selector": node_selector,
            "all_workers": all_workers}


def codes(problems, severity=None):
    return sorted(p.code for p in problems if severity is None or p.severity == severity)


def node(facts, name):
    return next(n for n in facts["nodes"] if n["metadata"]["name"] == name)


def pool(facts, name):
    return next(p for p in facts["pools"] if p["metadata"]["name"] == name)


def set_condition(p, ctype, status, message):
    for c in p["status"]["conditions"]:
        if c["type"] == ctype:
            c.update(status=status, message=message)


# --- happy paths -----------------------------------------------------------------------------------

@pytest.mark.parametrize("request_,targets", [
    (req(pool="worker"), ["worker-0", "worker-1", "worker-2", "worker-3"]),
    (req(pool="kata-oc", create_pool="kata-oc", node_names=["worker-1", "worker-2"]), ["worker-1", "worker-2"]),
    (req(create_pool="kata-oc", node_selector={"matchLabels": {"kubernetes.io/hostname": "worker-3"}}), ["worker-3"]),
    (req(create_pool="kata-oc", all_workers=True), ["worker-0", "worker-1", "worker-2", "worker-3"]),
])
def test_fresh_cluster_is_clean(request_, targets):
    facts = facts_from(FRESH)
    assert preflight_enable(facts, request_) == []
    assert target_nodes(facts, request_) == targets


def test_rerun_on_our_own_enabled_cluster_is_clean():
    facts = facts_from(ENABLED)
    r = req(create_pool="kata-oc", node_names=["worker-1", "worker-2", "worker-3"])
    assert preflight_enable(facts, r) == []
    assert target_nodes(facts, req(pool="kata-oc")) == ["worker-1", "worker-2", "worker-3"]   # current members
    assert target_nodes(facts, req(pool="kata-oc", node_names=["worker-0"])) == [
        "worker-0", "worker-1", "worker-2", "worker-3"]


def test_converged_cluster_on_master_is_clean_and_targets_masters():
    facts = facts_from(CONVERGED)
    assert preflight_enable(facts, req(pool="master")) == []
    assert target_nodes(facts, req(pool="master")) == ["master-0", "master-1", "master-2"]


# --- every refusal ----------------------------------------------------------------------------------

def _not_openshift(f):
    f.update(openshift=False, pools=[], mcs=[])


def _version(v):
    return lambda f: f.update(version=v)


def _arch(name, arch):
    def mut(f):
        node(f, name)["metadata"]["labels"]["kubernetes.io/arch"] = arch
        node(f, name)["status"]["nodeInfo"]["architecture"] = arch
    return mut


def _degrade_worker(f):
    p = pool(f, "worker")
    set_condition(p, "NodeDegraded", "True", 'Node worker-2 is reporting: "invalid extensions found: [zsh]"')
    set_condition(p, "Degraded", "True", 'Node worker-2 is reporting: "invalid extensions found: [zsh]"')
    p["status"]["degradedMachineCount"] = 1


def _infra_pool(f):
    infra = objects.custom_pool("infra")
    infra["metadata"]["labels"].pop("app.kubernetes.io/managed-by")
    f["pools"].append(infra)
    node(f, "worker-1")["metadata"]["labels"]["node-role.kubernetes.io/infra"] = ""


def _foreign_kata_pool(selector):
    def mut(f):
        p = copy.deepcopy(pool(f, "worker"))
        p["metadata"]["name"] = "kata-oc"
        p["metadata"]["labels"] = {}
        p["spec"]["nodeSelector"] = selector
        p["status"]["machineCount"] = p["status"]["updatedMachineCount"] = p["status"]["readyMachineCount"] = 0
        f["pools"].append(p)
    return mut


def _foreign_runtimeclass(f):
    rc = objects.runtime_class({"node-role.kubernetes.io/worker": ""})
    rc["metadata"]["labels"] = {}
    f["runtimeclasses"].append(rc)


def _operator_image_mc(f):
    f["mcs"].append({"apiVersion": "machineconfiguration.openshift.io/v1", "kind": "MachineConfig",
                     "metadata": {"name": "50-enable-sandboxed-containers-image",
                                  "labels": {"machineconfiguration.openshift.io/role": "kata-oc"}},
                     "spec": {"osImageURL": "quay.io/openshift_sandboxed_containers/coco-layer@sha256:" + "0" * 64}})


def _hand_made_mc(f):
    mc = objects.machine_config("worker")
    del mc["metadata"]["labels"]["app.kubernetes.io/managed-by"]
    f["mcs"].append(mc)


def _our_pool_without_members(f):
    f["pools"].append(objects.custom_pool("kata-oc"))


def _pause_worker(f):
    pool(f, "worker")["spec"]["paused"] = True


KATA = dict(create_pool="kata-oc")

# (id, fixture, mutation, request, expected error codes, substrings that must appear in the messages)
REFUSALS = [
    ("not-openshift", FRESH, _not_openshift, req(pool="worker"), ["not-openshift"], ["not served"]),
    ("version-unknown", FRESH, _version(None), req(pool="worker"), ["version-unknown"], ["unknown"]),
    ("version-garbage", FRESH, _version("latest"), req(pool="worker"), ["version-unknown"], ["'latest'"]),
    ("version-too-old", FRESH, _version("4.7.60"), req(pool="worker"), ["version-too-old"],
     ["4.7.60", "added in 4.8", "invalid extensions found: [sandboxed-containers]"]),
    ("arch-arm64", FRESH, _arch("worker-1", "arm64"), req(node_names=["worker-1", "worker-2"], **KATA),
     ["arch-unsupported"], ["worker-1 (arm64)"]),
    ("arch-s390x-before-4.14", FRESH, lambda f: (_arch("worker-2", "s390x")(f), f.update(version="4.13.40")),
     req(pool="worker"), ["arch-unsupported"], ["worker-2 (s390x)", "4.13"]),
    ("pool-missing", FRESH, None, req(pool="kata-oc"), ["pool-missing"],
     ["kata-oc does not exist"]),
    ("pool-degraded", FRESH, _degrade_worker, req(pool="worker"), ["pool-degraded"],
     ['invalid extensions found: [zsh]']),
    ("two-custom-pools", FRESH, _infra_pool, req(node_names=["worker-1"], **KATA), ["multiple-custom-pools"],
     ["worker-1 (infra, kata-oc)", "belongs to 2 custom roles"]),
    ("master-target", FRESH, None, req(node_names=["master-0"], **KATA), ["master-pool-wins", "node-not-worker"],
     ["master-0", "silently get no kata-oc config"]),
    ("converged-worker", CONVERGED, None, req(pool="worker"), ["converged-cluster"], ["--pool master", "converged"]),
    ("converged-custom", CONVERGED, None, req(all_workers=True, **KATA),
     ["converged-cluster", "no-target-nodes"], ["master pool"]),
    ("converged-custom-masters", CONVERGED, None, req(node_names=["master-1"], **KATA),
     ["converged-cluster", "master-pool-wins", "node-not-worker"], ["master-1"]),
    ("operator-osc", OSC, None, req(pool="worker"), ["operator-present"],
     ["use the KataConfig", "KataConfig cluster-kataconfig", "namespace openshift-sandboxed-containers-operator",
      "MachineConfig 50-enable-sandboxed-containers-extension (owned by KataConfig/cluster-kataconfig)",
      "RuntimeClass kata (owned by KataConfig/cluster-kataconfig)"]),
    ("operator-running-no-kataconfig", FRESH,
     lambda f: f.update(osc_namespace=True, osc_subscriptions=[{"metadata": {"name": "sandboxed-containers-operator"}}]),
     req(pool="worker"), ["operator-present"],
     ["namespace openshift-sandboxed-containers-operator with Subscription sandboxed-containers-operator"]),
    ("legacy-install", FRESH, lambda f: f.update(namespaces=[{"metadata": {"name": "kata-operator"}}]),
     req(pool="worker"), ["legacy-install"], ["namespace kata-operator", "kubectl kata upgrade"]),
    ("operator-image-mc", FRESH, _operator_image_mc, req(pool="worker"), ["operator-present"],
     ["50-enable-sandboxed-containers-image"]),
    ("hand-made-mc-with-our-name", FRESH, _hand_made_mc, req(pool="worker"), ["operator-present"],
     ["MachineConfig 50-enable-sandboxed-containers-extension"]),
    ("pool-name-taken", FRESH, _foreign_kata_pool({"matchLabels": {"node-role.kubernetes.io/kata-oc": ""}}),
     req(node_names=["worker-1"], **KATA), ["name-conflict"], ["MachineConfigPool kata-oc already exists"]),
    ("runtimeclass-name-taken", FRESH, _foreign_runtimeclass, req(pool="worker"), ["name-conflict"],
     ["RuntimeClass kata already exists"]),
    ("ours-for-other-pool", ENABLED, None, req(pool="worker"), ["mc-other-pool"], ["already enabled kata for pool kata-oc"]),
    ("nodes-not-found", FRESH, None, req(node_names=["worker-1", "worker-9"], **KATA), ["nodes-not-found"],
     ["worker-9"]),
    ("selector-matches-nothing", FRESH, None, req(node_selector={"matchLabels": {"kata": "true"}}, **KATA),
     ["selector-matches-nothing"], ["matches no node"]),
    ("bad-selector", FRESH, None,
     req(node_selector={"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]}, **KATA),
     ["bad-selector"], ["unsupported operator 'Gt'"]),
    ("selection-on-worker", FRESH, None, req(pool="worker", node_names=["worker-1"]), ["bad-request"],
     ["needs a custom pool"]),
    ("two-selections", FRESH, None, req(node_names=["worker-1"], all_workers=True, **KATA), ["bad-request"],
     ["node names and all workers"]),
    ("pool-vs-create", FRESH, None, req(pool="worker", create_pool="kata-oc"), ["bad-request"], ["disagree"]),
    ("create-standard-pool", FRESH, None, req(create_pool="worker", all_workers=True), ["bad-request"],
     ["always exists"]),
    ("create-without-selection", FRESH, None, req(create_pool="kata-oc"), ["no-target-nodes"],
     ["no node would run kata in pool kata-oc", "--nodes"]),
    ("bad-pool-name", FRESH, None, req(create_pool="Kata_OC"), ["bad-request"], ["invalid pool name"]),
    ("no-target-nodes", FRESH, _our_pool_without_members, req(pool="kata-oc"), ["no-target-nodes"],
     ["no node would run kata in pool kata-oc"]),
    ("pool-selector-mismatch", FRESH, _foreign_kata_pool({"matchLabels": {"kata": "true"}}),
     req(pool="kata-oc", node_names=["worker-1"]), ["pool-selector-mismatch"],
     ["worker-1", "'kata=true'"]),
]


@pytest.mark.parametrize("fixture,mutate,request_,expected,fragments",
                         [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS])
def test_refusals(fixture, mutate, request_, expected, fragments):
    facts = facts_from(fixture)
    if mutate:
        mutate(facts)
    problems = preflight_enable(facts, request_)
    assert codes(problems, "error") == sorted(expected)
    assert has_errors(problems)
    text = "\n".join(p.message + "\n" + p.hint for p in problems)
    for frag in fragments:
        assert frag in text
    for p in problems:
        assert isinstance(p, Problem)
        assert p.message and p.hint and "\n" not in p.message
        assert p.severity in ("error", "warning")


def test_s390x_is_fine_from_4_14():
    facts = facts_from(FRESH)
    _arch("worker-2", "s390x")(facts)
    assert preflight_enable(facts, req(pool="worker")) == []


def test_arch_falls_back_to_node_info_and_unknown_is_refused():
    facts = facts_from(FRESH)
    del node(facts, "worker-1")["metadata"]["labels"]["kubernetes.io/arch"]
    assert preflight_enable(facts, req(pool="worker")) == []
    node(facts, "worker-1")["status"]["nodeInfo"].pop("architecture")
    probs = preflight_enable(facts, req(pool="worker"))
    assert codes(probs) == ["arch-unsupported"] and "worker-1 (unknown)" in probs[0].message


def test_paused_pool_is_only_a_warning_with_the_unpause_command():
    facts = facts_from(FRESH)
    _pause_worker(facts)
    probs = preflight_enable(facts, req(pool="worker"))
    assert [(p.code, p.severity) for p in probs] == [("pool-paused", "warning")]
    assert "oc patch mcp worker --type merge -p '{\"spec\":{\"paused\":false}}'" in probs[0].hint
    assert not has_errors(probs)


def test_master_on_a_cluster_with_workers_is_a_warning():
    probs = preflight_enable(facts_from(FRESH), req(pool="master"))
    assert [(p.code, p.severity) for p in probs] == [("master-pool", "warning")]


def test_not_openshift_stops_early():
    facts = facts_from(FRESH, openshift=False, version=None)
    assert codes(preflight_enable(facts, req(pool="worker"))) == ["not-openshift"]


def test_two_custom_pools_uses_the_would_be_label():
    """The conflict only exists after we label: the node matches infra now, kata-oc only with our label."""
    facts = facts_from(FRESH)
    _infra_pool(facts)
    assert preflight_enable(facts, req(node_names=["worker-2"], **KATA)) == []
    assert codes(preflight_enable(facts, req(node_names=["worker-1"], **KATA))) == ["multiple-custom-pools"]


@pytest.mark.parametrize("junk_facts,junk_req", [(None, None), ({}, {}), ({"openshift": True}, {}),
                                                 ({"openshift": True, "pools": "x", "nodes": [None, 3]}, None)])
def test_junk_gives_problems_not_tracebacks(junk_facts, junk_req):
    probs = preflight_enable(junk_facts, junk_req)
    assert has_errors(probs)
    assert preflight_disable(junk_facts) is not None


@pytest.mark.parametrize("mutate,fragment", [
    (lambda f: f.update(kataconfig_crd=True), "CRD kataconfigs.kataconfiguration.openshift.io"),
    (lambda f: f.update(osc_namespace=True), "namespace openshift-sandboxed-containers-operator (no Subscription"),
])
def test_operator_leftovers_only_warn_and_enable_goes_on(mutate, fragment):
    """OLM leaves the CRD (and maybe the namespace) behind on uninstall: not an operator at work (issue 11)."""
    facts = facts_from(FRESH)
    mutate(facts)
    probs = preflight_enable(facts, req(pool="worker"))
    assert [(p.code, p.severity) for p in probs] == [("operator-leftovers", "warning")]
    assert fragment in probs[0].message and "oc delete crd kataconfigs.kataconfiguration.openshift.io" in probs[0].hint
    assert operator_signals(facts) == []


def test_disable_on_a_legacy_cluster_only_warns():
    facts = facts_from(ENABLED, namespaces=[{"metadata": {"name": "kata-operator-system"}}])
    probs = preflight_disable(facts)
    assert [(p.code, p.severity) for p in probs] == [("legacy-install", "warning")]


def test_operator_signals_fresh_is_empty():
    assert operator_signals(facts_from(FRESH)) == []
    assert operator_signals(facts_from(ENABLED)) == []


# --- disable ------------------------------------------------------------------------------------------

def test_disable_our_install_is_clean():
    assert preflight_disable(facts_from(ENABLED)) == []
    assert preflight_disable(facts_from(ENABLED), "kata-oc") == []


@pytest.mark.parametrize("fixture,mutate,pool_,expected_errors,expected_warnings", [
    (OSC, None, None, ["operator-present"], []),
    (FRESH, None, None, [], ["not-enabled"]),
    (ENABLED, None, "worker", ["mc-other-pool"], []),
    (FRESH, _not_openshift, None, ["not-openshift"], []),
    (FRESH, _hand_made_mc, "worker", ["operator-present"], []),
    (ENABLED, lambda f: f["pools"].remove(pool(f, "kata-oc")), None, [], ["pool-missing"]),
    (ENABLED, lambda f: pool(f, "kata-oc")["spec"].update(paused=True), None, [], ["pool-paused"]),
])
def test_disable_table(fixture, mutate, pool_, expected_errors, expected_warnings):
    facts = facts_from(fixture)
    if mutate:
        mutate(facts)
    probs = preflight_disable(facts, pool_)
    assert codes(probs, "error") == expected_errors
    assert codes(probs, "warning") == expected_warnings


def test_disable_on_a_degraded_pool_warns_because_disabling_may_be_the_fix():
    facts = facts_from(ENABLED)
    p = pool(facts, "kata-oc")
    set_condition(p, "RenderDegraded", "True",
                  "Failed to render configuration for pool kata-oc: invalid extensions found: [sandboxed-containers]")
    probs = preflight_disable(facts)
    assert [(x.code, x.severity) for x in probs] == [("pool-degraded", "warning")]
    assert "invalid extensions found: [sandboxed-containers]" in probs[0].message


def test_problem_to_dict():
    p = Problem("x", "m", "h")
    assert p.to_dict() == {"code": "x", "severity": "error", "message": "m", "hint": "h"}
    assert MC_NAME == "50-enable-sandboxed-containers-extension"
