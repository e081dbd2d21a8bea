"""The upgrade plan (core.upgrade_plan) per install kind, its merge patches and its unified diff.

Facts come from seeded stores (tests/fakeapi/seeds.py: legacy objects derived from OSC release-4.6/4.7,
operator objects from the OSC samples); see tests/test_installkind.py for facts_of.
"""
from __future__ import annotations

import pytest

from kubectl_kata.core import objects
from kubectl_kata.core import upgrade_plan as up
from tests.test_installkind import enable_ours, facts_of, seeded


def summary(plan):
    return [(a.op, a.ref.kind, a.ref.name, a.stage) for a in plan.actions]


def test_fresh_cluster_has_nothing_to_do():
    plan = up.plan_upgrade(facts_of(seeded()))
    assert plan.nothing_to_do and plan.refusal is None and not plan.follow
    assert "kata is not installed here" in plan.notes[0]
    assert up.plan_lines(plan)[-2:] == ["Nothing to do.", plan_note(plan, 0)]


def plan_note(plan, i):
    return "note: " + plan.notes[i]


def test_current_plugin_install_has_nothing_to_do():
    store = seeded()
    enable_ours(store)
    plan = up.plan_upgrade(facts_of(store))
    assert plan.nothing_to_do and plan.pool == "worker" and plan.install.current is True
    assert up.plan_diff(plan) == ""


def test_lone_crd_is_left_alone():
    plan = up.plan_upgrade(facts_of(seeded(), crd=["v1"]))
    assert plan.nothing_to_do
    assert any("CRD kataconfigs.kataconfiguration.openshift.io" in n and "not touched" in n for n in plan.notes)


def test_operator_is_refused():
    plan = up.plan_upgrade(facts_of(seeded(operator=True, olm=True)))
    assert plan.refusal is not None and plan.refusal.code == "operator-present" and plan.actions == []
    assert not plan.nothing_to_do
    assert "KataConfig example-kataconfig" in plan.refusal.message


def test_not_openshift_is_refused():
    facts = facts_of(seeded())
    facts["openshift"] = False
    assert up.plan_upgrade(facts).refusal.code == "not-openshift"


def test_older_revision_patches_only_the_annotation():
    store = seeded()
    enable_ours(store, revision=1)
    plan = up.plan_upgrade(facts_of(store))
    assert summary(plan) == [("change", "MachineConfig", objects.MC_NAME, "before-rollout"),
                             ("change", "RuntimeClass", "kata", "before-rollout")]
    for a in plan.actions:
        assert a.patch == {"metadata": {"annotations": {"kubectl-kata.io/revision": "2"}}}
    assert not plan.follow   # no spec changed: no rollout
    diff = up.plan_diff(plan)
    assert "--- a/machineconfig/%s\n+++ b/machineconfig/%s\n" % (objects.MC_NAME, objects.MC_NAME) in diff
    assert "+  annotations:\n+    kubectl-kata.io/revision: '2'\n" in diff


def test_our_runtimeclass_with_a_stale_selector_is_replaced_not_merged():
    store = seeded()
    enable_ours(store, pool="worker")
    rc = store.get("RuntimeClass", "kata")
    rc["scheduling"]["nodeSelector"] = {"node-role.kubernetes.io/kata-oc": ""}
    store.update(rc)
    plan = up.plan_upgrade(facts_of(store))
    assert summary(plan) == [("change", "RuntimeClass", "kata", "before-rollout")]
    assert plan.actions[0].patch == {"scheduling": {"nodeSelector": {"node-role.kubernetes.io/kata-oc": None,
                                                                     "node-role.kubernetes.io/worker": ""}}}


def test_foreign_labels_are_not_touched():
    store = seeded()
    enable_ours(store)
    mc = store.get("MachineConfig", objects.MC_NAME)
    mc["metadata"]["labels"]["team"] = "platform"
    mc["metadata"]["annotations"]["note"] = "keep me"
    store.update(mc)
    assert up.plan_upgrade(facts_of(store)).nothing_to_do


def test_enable_interrupted_in_its_rollout_gets_its_runtimeclass():
    store = seeded()
    store.create(objects.machine_config("worker"))
    plan = up.plan_upgrade(facts_of(store))
    assert summary(plan) == [("create", "RuntimeClass", "kata", "after-rollout")]
    assert plan.follow and plan.pool == "worker"


def test_legacy_46_migration_plan_in_order():
    plan = up.plan_upgrade(facts_of(seeded(legacy="4.6")))
    assert plan.refusal is None and plan.pool == "worker" and plan.follow
    assert summary(plan) == [
        ("delete", "RuntimeClass", "kata-oc", "before-rollout"),
        ("delete", "Namespace", "kata-operator", "before-rollout"),
        ("delete", "KataConfig", "example-kataconfig", "before-rollout"),
        ("create", "MachineConfig", objects.MC_NAME, "before-rollout"),
        ("delete", "MachineConfig", "50-kata-crio-dropin", "before-rollout"),
        ("create", "RuntimeClass", "kata", "after-rollout"),
    ]
    kc = plan.actions[2]
    assert kc.strip_finalizers and kc.ref.api_version == "kataconfiguration.openshift.io/v1alpha1" and kc.uid
    assert plan.actions[3].after == objects.machine_config("worker")
    assert any("kata-containers conflicts with the layered kata-runtime" in n for n in plan.notes)


def test_legacy_47_adopts_its_runtimeclass_before_deleting_the_kataconfig():
    plan = up.plan_upgrade(facts_of(seeded(legacy="4.7")))
    assert summary(plan) == [
        ("change", "RuntimeClass", "kata", "before-rollout"),
        ("delete", "Namespace", "kata-operator-system", "before-rollout"),
        ("delete", "KataConfig", "example-kataconfig", "before-rollout"),
        ("create", "MachineConfig", objects.MC_NAME, "before-rollout"),
        ("delete", "MachineConfig", "50-kata-crio-dropin", "before-rollout"),
    ]
    patch = plan.actions[0].patch
    assert patch["metadata"]["ownerReferences"] is None
    assert patch["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "kubectl-kata"}
    assert patch["overhead"] == {"podFixed": {"memory": "350Mi"}}
    assert "scheduling" not in patch   # legacy selector was already the worker role
    assert plan.follow


def test_legacy_migration_resumed_after_the_mc_was_created():
    store = seeded(legacy="4.6")
    store.delete("KataConfig", "example-kataconfig")   # finalizer: marked only -> remove it as upgrade does
    kc = store.get("KataConfig", "example-kataconfig")
    kc["metadata"]["finalizers"] = []
    store.update(kc)   # no finalizer left on a deleted object: gone, as in the apiserver
    assert store.get("KataConfig", "example-kataconfig") is None
    store.delete("RuntimeClass", "kata-oc")
    store.delete("Namespace", "kata-operator")
    store.create(objects.machine_config("worker"))
    plan = up.plan_upgrade(facts_of(store))
    assert plan.install.kind == "legacy"
    assert summary(plan) == [("delete", "MachineConfig", "50-kata-crio-dropin", "before-rollout"),
                             ("create", "RuntimeClass", "kata", "after-rollout")]


def test_legacy_without_machineconfig_only_cleans_up():
    store = seeded(legacy="4.6")
    store.delete("MachineConfig", "50-kata-crio-dropin")
    plan = up.plan_upgrade(facts_of(store))
    assert plan.pool is None and not plan.follow
    assert [a.op for a in plan.actions] == ["delete", "delete", "delete"]
    assert any("no MachineConfig of the legacy install is left" in n for n in plan.notes)


def test_diff_of_a_legacy_plan():
    plan = up.plan_upgrade(facts_of(seeded(legacy="4.6")))
    diff = up.plan_diff(plan)
    assert "--- /dev/null\n+++ b/machineconfig/%s\n@@ " % objects.MC_NAME in diff
    assert "--- a/machineconfig/50-kata-crio-dropin\n+++ /dev/null\n@@ " in diff
    assert "-  name: 50-kata-crio-dropin\n" in diff
    assert "+    - sandboxed-containers\n" in diff or "+  - sandboxed-containers\n" in diff
    assert "resourceVersion" not in diff and "\n-  uid:" not in diff and "creationTimestamp" not in diff
    assert diff.count("\n--- ") + diff.startswith("--- ") == len(plan.actions)


def test_plan_as_data():
    plan = up.plan_upgrade(facts_of(seeded(legacy="4.7")))
    d = plan.to_dict(with_diff=True)
    assert d["apiVersion"] == "kata.kubectl.io/v1" and d["kind"] == "UpgradePlan"
    assert d["install"]["kind"] == "legacy" and d["nothingToDo"] is False and d["followRollout"] is True
    assert d["actions"][2] == {"op": "delete", "object": {"kind": "KataConfig", "name": "example-kataconfig",
                                                          "namespace": None,
                                                          "apiVersion": "kataconfiguration.openshift.io/v1"},
                               "stage": "before-rollout", "why": d["actions"][2]["why"],
                               "removeFinalizers": True}
    assert d["diff"].startswith("--- a/runtimeclass/kata\n")


@pytest.mark.parametrize("before,after,patch", [
    ({"a": 1, "b": {"c": 1, "d": 2}}, {"a": 1, "b": {"c": 2}}, {"b": {"c": 2, "d": None}}),
    ({"a": [1, 2]}, {"a": [2]}, {"a": [2]}),
    ({}, {"x": {"y": 1}}, {"x": {"y": 1}}),
    ({"x": 1}, {"x": 1}, {}),
])
def test_merge_patch(before, after, patch):
    assert up.merge_patch(before, after) == patch


def test_plan_lines_number_actions_and_show_the_rollout():
    lines = up.plan_lines(up.plan_upgrade(facts_of(seeded(legacy="4.6"))))
    assert lines[0] == "Install: legacy RPM-payload install (kata-operator, OCP 4.6/4.7)"
    assert lines[2] == "Plan (pool worker):"
    assert lines[5].startswith("  3. delete KataConfig example-kataconfig (then its finalizers removed): ")
    assert "  -- follow the rollout of pool worker, then:" in lines
    assert lines[lines.index("  -- follow the rollout of pool worker, then:") + 1].startswith(
        "  6. create RuntimeClass kata: ")
