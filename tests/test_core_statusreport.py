"""`kubectl kata status -o json` document: enabled / disabled / operator-managed / every rollout phase."""
from __future__ import annotations

import json
import re

import pytest

from kubectl_kata.core import objects, statusreport
from kubectl_kata.core.statusreport import build_status, detect_pool
from tests.test_core_fixtures_load import by_kind, facts_from, get, load_items

ENABLED = "enabled-kata-oc-4.16.yaml"


def _rendered_names(fixture, pool):
    p = get(load_items(fixture), "MachineConfigPool", pool)
    return p["spec"]["configuration"]["name"], p["status"]["configuration"]["name"]


def test_enabled_by_us_full_document():
    target, current = _rendered_names(ENABLED, "kata-oc")
    facts = facts_from(ENABLED, kata_pods=[{"namespace": "demo", "name": "sandboxed-nginx", "node": "worker-2",
                                            "runtimeClassName": "kata", "phase": "Running"}])
    doc = build_status(facts)
    conds = doc["rollout"].pop("conditions")
    assert doc == {
        "apiVersion": "kata.kubectl.io/v1", "kind": "KataStatus", "enabled": True, "pool": "kata-oc",
        "managedBy": "kubectl-kata",
        "machineConfig": {"name": "50-enable-sandboxed-containers-extension", "present": True, "ours": True,
                          "extensions": ["sandboxed-containers"]},
        "renderedConfig": {"target": target, "current": current, "includesExtension": True},
        "rollout": {"phase": "done", "machineCount": 3, "updated": 3, "ready": 3, "unavailable": 0, "degraded": 0},
        "nodes": [{"name": "worker-%d" % i, "state": "Done", "currentConfig": target, "desiredConfig": target,
                   "kataReady": True, "reason": None} for i in (1, 2, 3)],
        "runtimeClass": {"name": "kata", "present": True, "handler": "kata",
                         "nodeSelector": {"node-role.kubernetes.io/kata-oc": ""}, "matchesPool": True},
        "kataPods": 1,
        "install": {"kind": "plugin", "revision": 2, "currentRevision": 2, "current": True,
                    "evidence": ["MachineConfig 50-enable-sandboxed-containers-extension (revision 2)",
                                 "MachineConfigPool kata-oc (revision 2)", "RuntimeClass kata (revision 2)"],
                    "leftovers": []},
        "problems": [],
    }
    assert [c["type"] for c in conds] == ["RenderDegraded", "Updated", "Updating", "NodeDegraded", "Degraded"]
    assert set(conds[0]) == {"type", "status", "reason", "message"}
    assert conds[1]["status"] == "True" and conds[1]["message"] == "All nodes are updated with MachineConfig " + target
    json.dumps(doc)


def test_disabled_fresh_cluster():
    doc = build_status(facts_from("fresh-4.16.yaml"))
    assert doc["enabled"] is False and doc["managedBy"] is None and doc["pool"] == "worker"
    assert doc["machineConfig"] == {"name": "50-enable-sandboxed-containers-extension", "present": False,
                                    "ours": False, "extensions": []}
    assert doc["renderedConfig"]["includesExtension"] is False
    assert doc["rollout"]["phase"] == "done" and doc["rollout"]["machineCount"] == 4
    assert [n["name"] for n in doc["nodes"]] == ["worker-0", "worker-1", "worker-2", "worker-3"]
    assert all(n["state"] == "Done" and n["kataReady"] is False for n in doc["nodes"])
    assert doc["runtimeClass"] == {"name": "kata", "present": False, "handler": None, "nodeSelector": None,
                                   "matchesPool": False}
    assert doc["problems"] == [] and doc["kataPods"] == 0
    assert doc["install"]["kind"] == "none" and doc["install"]["revision"] is None


def test_install_kind_legacy_and_old_revision_are_reported():
    facts = facts_from("fresh-4.16.yaml", namespaces=[{"metadata": {"name": "kata-operator"}}])
    doc = build_status(facts)
    assert doc["install"]["kind"] == "legacy" and doc["install"]["evidence"] == ["namespace kata-operator"]
    assert [(p["code"], p["severity"]) for p in doc["problems"]] == [("legacy-install", "warning")]
    facts = facts_from(ENABLED)
    for mc in facts["mcs"]:
        (mc["metadata"].get("annotations") or {}).pop("kubectl-kata.io/revision", None)
    doc = build_status(facts)
    assert (doc["install"]["kind"], doc["install"]["revision"], doc["install"]["current"]) == ("plugin", 1, False)
    assert [(p["code"], p["severity"]) for p in doc["problems"]] == [("old-revision", "warning")]


def test_operator_managed_osc_1_1():
    doc = build_status(facts_from("osc-managed-4.9.yaml"))
    assert doc["managedBy"] == "sandboxed-containers-operator"
    assert doc["enabled"] is True and doc["pool"] == "worker"    # OSC 1.1 put role=worker on its MC
    assert doc["machineConfig"]["ours"] is False and doc["machineConfig"]["present"] is True
    assert doc["renderedConfig"]["includesExtension"] is True
    assert [(n["name"], n["kataReady"]) for n in doc["nodes"]] == [("worker-0", True), ("worker-1", True)]
    assert doc["runtimeClass"]["nodeSelector"] == {"node-role.kubernetes.io/worker": ""}
    assert doc["runtimeClass"]["matchesPool"] is False     # also selects worker-2 (pool kata-oc)
    assert [(p["code"], p["severity"]) for p in doc["problems"]] == [("operator-present", "warning")]
    assert "KataConfig cluster-kataconfig" in doc["problems"][0]["message"]
    assert doc["install"]["kind"] == "operator" and doc["install"]["revision"] is None

    kata = build_status(facts_from("osc-managed-4.9.yaml"), "kata-oc")
    assert kata["pool"] == "kata-oc"
    assert kata["renderedConfig"]["target"] == "rendered-kata-oc-7ce66b5e9e1c51753ebf99c1d9603bd8"  # capture
    assert [(n["name"], n["kataReady"], n["state"]) for n in kata["nodes"]] == [("worker-2", True, "Done")]


@pytest.mark.parametrize("fixture,phase,kata_ready,problem", [
    ("rollout-race-4.16.yaml", "rendering", [False, False, False], None),
    ("rollout-working-4.16.yaml", "rolling", [False, False, False], None),
    ("rollout-rolling-4.16.yaml", "rolling", [True, False, False], None),
    ("rollout-done-4.16.yaml", "done", [True, True, True], None),
    ("rollout-paused-4.16.yaml", "paused", [False, False, False], ("pool-paused", "warning")),
    ("rollout-node-degraded-4.16.yaml", "degraded", [False, False, False], ("rollout-degraded", "error")),
    ("rollout-render-failed-4.16.yaml", "render-failed", [False, False, False], ("rollout-render-failed", "error")),
])
def test_rollout_phases_in_status(fixture, phase, kata_ready, problem):
    doc = build_status(facts_from(fixture, version="4.16.3"))
    assert doc["pool"] == "kata-oc" and doc["enabled"] is True
    assert doc["rollout"]["phase"] == phase
    assert [n["kataReady"] for n in doc["nodes"]] == kata_ready
    got = [(p["code"], p["severity"]) for p in doc["problems"] if p["code"] != "runtimeclass-missing"]
    assert got == ([problem] if problem else [])


def test_race_reports_old_target_without_the_extension():
    doc = build_status(facts_from("rollout-race-4.16.yaml"))
    assert doc["renderedConfig"]["includesExtension"] is False
    assert doc["renderedConfig"]["target"] == doc["renderedConfig"]["current"]


def test_degraded_problem_quotes_the_node_reason():
    doc = build_status(facts_from("rollout-node-degraded-4.16.yaml"))
    prob = [p for p in doc["problems"] if p["code"] == "rollout-degraded"][0]
    assert "error running rpm-ostree update --install kata-containers" in prob["message"]
    node = doc["nodes"][0]
    assert node["state"] == "Degraded" and node["reason"].startswith("error running rpm-ostree")


def test_render_failed_problem_quotes_the_condition():
    doc = build_status(facts_from("rollout-render-failed-4.16.yaml"))
    prob = [p for p in doc["problems"] if p["code"] == "rollout-render-failed"][0]
    assert "invalid extensions found: [zsh]" in prob["message"]


def test_runtimeclass_missing_and_mismatch():
    facts = facts_from(ENABLED)
    facts["runtimeclasses"] = []
    assert [p["code"] for p in build_status(facts)["problems"]] == ["runtimeclass-missing"]
    facts["runtimeclasses"] = [objects.runtime_class({"node-role.kubernetes.io/worker": ""})]
    doc = build_status(facts)
    assert doc["runtimeClass"]["matchesPool"] is False
    assert [p["code"] for p in doc["problems"]] == ["runtimeclass-mismatch"]


def test_includes_extension_from_source_when_rendered_mc_not_listed():
    facts = facts_from(ENABLED)
    facts["mcs"] = [m for m in facts["mcs"] if not m["metadata"]["name"].startswith("rendered-")]
    doc = build_status(facts)
    assert doc["renderedConfig"]["includesExtension"] is True
    assert all(n["kataReady"] for n in doc["nodes"])   # current == target, target includes it
    facts["mcs"] = [m for m in facts["mcs"] if m["metadata"]["name"] != "00-worker"]
    facts["mcs"] = [m for m in facts["mcs"] if m["metadata"]["name"] != "50-enable-sandboxed-containers-extension"]
    assert build_status(facts)["renderedConfig"]["includesExtension"] is None      # cannot tell


def test_not_openshift():
    doc = build_status({"openshift": False, "nodes": by_kind(load_items("fresh-4.16.yaml"), "Node")})
    assert doc["pool"] is None and doc["rollout"]["phase"] is None and doc["nodes"] == []
    assert [p["code"] for p in doc["problems"]] == ["not-openshift"]


def test_named_pool_missing():
    doc = build_status(facts_from("fresh-4.16.yaml"), "kata-oc")
    assert doc["pool"] == "kata-oc" and doc["rollout"]["phase"] is None
    assert [p["code"] for p in doc["problems"]] == ["pool-missing"]


def test_version_and_arch_problems_when_enabled():
    facts = facts_from(ENABLED, version="4.7.2")
    assert "version-too-old" in [p["code"] for p in build_status(facts)["problems"]]
    facts = facts_from(ENABLED, version="4.13.4")
    for n in facts["nodes"]:
        if n["metadata"]["name"] == "worker-3":
            n["metadata"]["labels"]["kubernetes.io/arch"] = "s390x"
    probs = build_status(facts)["problems"]
    assert [p["code"] for p in probs] == ["arch-unsupported"] and "worker-3 (s390x)" in probs[0]["message"]


def test_node_in_two_custom_pools_is_reported():
    facts = facts_from(ENABLED)
    infra = objects.custom_pool("infra")
    facts["pools"].append(infra)
    for n in facts["nodes"]:
        if n["metadata"]["name"] == "worker-2":
            n["metadata"]["labels"]["node-role.kubernetes.io/infra"] = ""
    doc = build_status(facts)
    assert [n["name"] for n in doc["nodes"]] == ["worker-1", "worker-3"]
    assert "node worker-2 belongs to 2 custom roles" in [p for p in doc["problems"]
                                                         if p["code"] == "multiple-custom-pools"][0]["message"]


@pytest.mark.parametrize("pods,count", [(None, 0), ([], 0), ([{}, {}], 2), (5, 5), (-1, 0), (True, 0), ("x", 0)])
def test_kata_pods_count(pods, count):
    assert build_status(facts_from(ENABLED, kata_pods=pods))["kataPods"] == count


@pytest.mark.parametrize("fixture,pool", [
    ("enabled-kata-oc-4.16.yaml", "kata-oc"),      # our MC's role label
    ("osc-managed-4.9.yaml", "worker"),            # the operator MC's role label wins over kata-oc
    ("fresh-4.16.yaml", "worker"),
    ("converged-4.14.yaml", "master"),
])
def test_detect_pool(fixture, pool):
    assert detect_pool(facts_from(fixture)) == pool


def test_detect_pool_kata_oc_without_mc():
    facts = facts_from(ENABLED)
    facts["mcs"] = [m for m in facts["mcs"] if m["metadata"]["name"] != "50-enable-sandboxed-containers-extension"]
    assert detect_pool(facts) == "kata-oc"
    assert detect_pool({"openshift": True}) is None


def _keys(doc, prefix=""):
    for k, v in doc.items():
        if not isinstance(v, dict) or k == "nodeSelector":
            yield prefix + k     # leaves (and lists) must each have a row
        if isinstance(v, dict) and k not in ("nodeSelector",):
            yield from _keys(v, prefix + k + ".")
        if isinstance(v, list) and v and isinstance(v[0], dict) and k == "nodes":
            yield from _keys(v[0], "nodes[].")


def test_every_field_is_documented():
    doc = build_status(facts_from(ENABLED))
    documented = statusreport.__doc__
    for key in _keys(doc):
        if key in ("apiVersion", "kind"):
            continue
        assert re.search(r"^%s(\[\])?\s" % re.escape(key), documented, re.M), key


@pytest.mark.parametrize("junk", [None, {}, {"openshift": True, "pools": [None], "mcs": "x", "nodes": [{}]}])
def test_junk_facts(junk):
    doc = build_status(junk)
    assert doc["kind"] == "KataStatus"
    json.dumps(doc)
