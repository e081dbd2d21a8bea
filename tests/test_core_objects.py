"""Rendered objects (DOMAIN 2.1, 2.2, 2.4) and ownership tests on real / fixture objects."""
from __future__ import annotations

import copy

import pytest
import yaml

from kubectl_kata.core import objects
from kubectl_kata.core.constants import MC_NAME
from kubectl_kata.core.selectors import matches
from tests.test_core_fixtures_load import by_kind, get, load_items, validate_against_crd

from tests.paths import SAMPLES  # noqa: E402


def _sample(name):
    with open(SAMPLES + name) as f:
        return yaml.safe_load(f)


@pytest.mark.parametrize("role", ["kata-oc", "worker", "master"])
def test_machine_config(role):
    mc = objects.machine_config(role)
    assert validate_against_crd(mc) == []
    assert mc["metadata"] == {"name": "50-enable-sandboxed-containers-extension",
                              "labels": {"machineconfiguration.openshift.io/role": role,
                                         "app.kubernetes.io/managed-by": "kubectl-kata"},
                              "annotations": {"kubectl-kata.io/revision": "2"}}
    assert mc["spec"] == {"config": {"ignition": {"version": "3.2.0"}}, "extensions": ["sandboxed-containers"]}
    assert objects.is_ours(mc) and objects.operator_owner(mc) is None


def test_machine_config_matches_the_operator_and_mco_shape():
    """Same spec as the OSC capture (minus read-back defaults) and the MCO e2e template."""
    osc = _sample("machineconfig-50-enable-sandboxed-containers-extension.capture-ocp4.9.yaml")
    ours = objects.machine_config("worker")
    assert ours["spec"]["extensions"] == osc["spec"]["extensions"]
    assert ours["spec"]["config"]["ignition"]["version"] == osc["spec"]["config"]["ignition"]["version"]
    tmpl = _sample("mco-test-extension-mc-template.yaml")["objects"][0]
    assert set(ours["spec"]) == set(tmpl["spec"])
    assert ours["apiVersion"] == tmpl["apiVersion"] and ours["kind"] == tmpl["kind"]


def test_custom_pool():
    p = objects.custom_pool()
    assert validate_against_crd(p) == []
    assert p["metadata"]["name"] == "kata-oc"
    assert p["metadata"]["labels"] == {"pools.operator.machineconfiguration.openshift.io/kata-oc": "",
                                       "app.kubernetes.io/managed-by": "kubectl-kata"}
    assert p["metadata"]["annotations"] == {"kubectl-kata.io/revision": "2"}
    assert p["spec"] == {
        "machineConfigSelector": {"matchExpressions": [{"key": "machineconfiguration.openshift.io/role",
                                                        "operator": "In", "values": ["kata-oc", "worker"]}]},
        "nodeSelector": {"matchLabels": {"node-role.kubernetes.io/kata-oc": ""}}}


def test_custom_pool_selects_worker_and_own_mcs_but_not_master():
    """The 4.18+ admission policy needs custom pools to inherit worker MCs; our MC must be selected too."""
    p = objects.custom_pool("kata-gpu")
    sel = p["spec"]["machineConfigSelector"]
    role = "machineconfiguration.openshift.io/role"
    assert matches(sel, objects.machine_config("kata-gpu")["metadata"]["labels"])
    assert matches(sel, {role: "worker"})
    assert not matches(sel, {role: "master"})
    assert not matches(sel, {role: "kata-oc"})
    assert matches(p["spec"]["nodeSelector"], {"node-role.kubernetes.io/kata-gpu": "",
                                               "node-role.kubernetes.io/worker": ""})


def test_custom_pool_matches_the_osc_fixture_pool_shape():
    osc_pool = get(load_items("osc-managed-4.9.yaml"), "MachineConfigPool", "kata-oc")
    assert objects.custom_pool()["spec"]["machineConfigSelector"] == osc_pool["spec"]["machineConfigSelector"]


@pytest.mark.parametrize("bad", ["worker", "master", "Kata", "kata_oc", "", "-kata", "k" * 64, None])
def test_custom_pool_refuses_bad_names(bad):
    with pytest.raises(ValueError):
        objects.custom_pool(bad)


@pytest.mark.parametrize("pool,selector", [
    ("kata-oc", {"node-role.kubernetes.io/kata-oc": ""}),
    ("worker", {"node-role.kubernetes.io/worker": ""}),
    ("master", {"node-role.kubernetes.io/master": ""}),
])
def test_runtime_class(pool, selector):
    from kubectl_kata.core.constants import pool_node_selector
    rc = objects.runtime_class(pool_node_selector(pool))
    assert rc == {"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass",
                  "metadata": {"name": "kata", "labels": {"app.kubernetes.io/managed-by": "kubectl-kata"},
                               "annotations": {"kubectl-kata.io/revision": "2"}},
                  "handler": "kata", "overhead": {"podFixed": {"cpu": "250m", "memory": "350Mi"}},
                  "scheduling": {"nodeSelector": selector}}


def test_runtime_class_equals_the_capture_apart_from_our_label_and_revision():
    cap = _sample("runtimeclass-kata.capture-ocp4.9.yaml")
    ours = objects.runtime_class({"node-role.kubernetes.io/worker": ""})
    ours["metadata"].pop("labels")
    ours["metadata"].pop("annotations")
    assert ours == cap


def test_runtime_class_copies_the_selector():
    sel = {"node-role.kubernetes.io/kata-oc": ""}
    rc = objects.runtime_class(sel)
    sel["x"] = "y"
    assert rc["scheduling"]["nodeSelector"] == {"node-role.kubernetes.io/kata-oc": ""}


@pytest.mark.parametrize("bad", [{}, None, {"a": 1}, "node-role.kubernetes.io/kata-oc="])
def test_runtime_class_refuses_bad_selectors(bad):
    with pytest.raises(ValueError):
        objects.runtime_class(bad)


def test_node_label_patch():
    assert objects.node_label_patch("kata-oc", True) == {"metadata": {"labels": {"node-role.kubernetes.io/kata-oc": ""}}}
    assert objects.node_label_patch("kata-oc", False) == {"metadata": {"labels": {"node-role.kubernetes.io/kata-oc": None}}}
    for std in ("worker", "master"):
        with pytest.raises(ValueError):
            objects.node_label_patch(std, False)


def test_ownership_of_fixture_objects():
    osc = load_items("osc-managed-4.9.yaml")
    ours = load_items("enabled-kata-oc-4.16.yaml")
    osc_mc = get(osc, "MachineConfig", MC_NAME)
    assert not objects.is_ours(osc_mc)
    assert objects.operator_owner(osc_mc) == "KataConfig/cluster-kataconfig"        # app label
    assert objects.operator_owner(get(osc, "RuntimeClass", "kata")) == "KataConfig/cluster-kataconfig"  # ownerRef
    our_mc = get(ours, "MachineConfig", MC_NAME)
    assert objects.is_ours(our_mc) and objects.operator_owner(our_mc) is None
    assert objects.is_ours(get(ours, "MachineConfigPool", "kata-oc"))
    assert objects.is_ours(get(ours, "RuntimeClass", "kata"))
    for o in by_kind(ours, "MachineConfig"):
        if o["metadata"]["name"] != MC_NAME:
            assert not objects.is_ours(o) and objects.operator_owner(o) is None, o["metadata"]["name"]


@pytest.mark.parametrize("name,labels,expected", [
    (MC_NAME, {"machineconfiguration.openshift.io/role": "kata-oc"}, "sandboxed-containers-operator"),
    ("50-enable-sandboxed-containers-image", {}, "sandboxed-containers-operator"),
    ("50-enable-sandboxed-containers-image", {"app.kubernetes.io/managed-by": "kubectl-kata"}, None),
    ("99-worker-ssh", {"machineconfiguration.openshift.io/role": "worker"}, None),
    ("99-custom", {"app": "example-kataconfig"}, "KataConfig/example-kataconfig"),
    (MC_NAME, {"app": "x", "app.kubernetes.io/managed-by": "kubectl-kata"}, None),  # ours wins
])
def test_operator_owner_table(name, labels, expected):
    mc = {"apiVersion": "machineconfiguration.openshift.io/v1", "kind": "MachineConfig",
          "metadata": {"name": name, "labels": labels}, "spec": {}}
    assert objects.operator_owner(mc) == expected


@pytest.mark.parametrize("junk", [None, {}, [], "x", {"metadata": None}, {"metadata": {"labels": None}}])
def test_ownership_helpers_tolerate_junk(junk):
    assert objects.is_ours(junk) is False
    assert objects.operator_owner(junk) is None
    assert objects.mc_extensions(junk) == []


def test_mc_extensions_reads_back_defaults():
    mc = copy.deepcopy(_sample("machineconfig-50-enable-sandboxed-containers-extension.capture-ocp4.9.yaml"))
    assert objects.mc_extensions(mc) == ["sandboxed-containers"]
    mc["spec"]["extensions"] = None
    assert objects.mc_extensions(mc) == []
    assert objects.mc_role(mc) == "worker"


def test_every_rendered_object_records_the_current_revision():
    from kubectl_kata.core.constants import pool_node_selector
    for obj in (objects.machine_config("worker"), objects.custom_pool(), objects.runtime_class(pool_node_selector("kata-oc"))):
        assert obj["metadata"]["annotations"][objects.REVISION_ANNOTATION] == str(objects.CURRENT_REVISION)
        assert objects.object_revision(obj) == objects.CURRENT_REVISION


@pytest.mark.parametrize("annotations,expected", [
    (None, 1), ({}, 1), ({"kubectl-kata.io/revision": "1"}, 1), ({"kubectl-kata.io/revision": " 7 "}, 7),
    ({"kubectl-kata.io/revision": "two"}, 0), ({"kubectl-kata.io/revision": "-3"}, 0),
])
def test_object_revision_reads_the_annotation(annotations, expected):
    obj = {"metadata": {"name": "x", "labels": {"app.kubernetes.io/managed-by": "kubectl-kata"}}}
    if annotations is not None:
        obj["metadata"]["annotations"] = annotations
    assert objects.object_revision(obj) == expected
