"""Install-kind classification (core.installkind) on facts built from seeded stores.

The seeds (tests/fakeapi/seeds.py) derive the legacy objects from the OSC release-4.6/4.7 sources and the
reference samples (legacy-*.toml/.repo, kataconfig-v1alpha1-cr...), the operator objects from
kataconfig-sample.osc-devel.yaml and the MachineConfig capture.
"""
from __future__ import annotations

import copy

import pytest

from kubectl_kata.core import installkind as ik
from kubectl_kata.core import objects
from kubectl_kata.core.constants import pool_node_selector
from tests.fakeapi.seeds import seed
from tests.fakeapi.store import ObjectStore


def facts_of(store, legacy=None, crd=None, namespaces=True):
    """The facts services.cluster_facts.gather builds, from a store (one list per kind)."""
    kcs = store.list("KataConfig")
    alpha = [k for k in kcs if k["apiVersion"].endswith("/v1alpha1")]
    v1 = [k for k in kcs if not k["apiVersion"].endswith("/v1alpha1")]
    versions = sorted({k["apiVersion"].split("/")[1] for k in kcs})
    facts = {
        "openshift": True, "version": "4.10.3",
        "pools": store.list("MachineConfigPool"), "nodes": store.list("Node"), "mcs": store.list("MachineConfig"),
        "kataconfigs": v1, "legacy_kataconfigs": alpha,
        "kataconfig_versions": versions if crd is None else crd,
        "kataconfig_crd": bool(versions) if crd is None else bool(crd),
        "osc_namespace": store.get("Namespace", "openshift-sandboxed-containers-operator") is not None,
        "osc_subscriptions": store.list("Subscription", "openshift-sandboxed-containers-operator"),
        "osc_csvs": store.list("ClusterServiceVersion", "openshift-sandboxed-containers-operator"),
        "runtimeclasses": store.list("RuntimeClass"),
        "daemonsets": store.list("DaemonSet"),
    }
    if namespaces:
        facts["namespaces"] = store.list("Namespace")
    return facts


def seeded(**kw):
    store = ObjectStore()
    seed(store, ocp_version="4.10.3", workers=2, masters=1, **kw)
    return store


def enable_ours(store, pool="worker", revision=None):
    for obj in (objects.machine_config(pool), objects.runtime_class(pool_node_selector(pool))):
        if revision is not None:
            if revision == 1:
                obj["metadata"].pop("annotations")
            else:
                obj["metadata"]["annotations"][objects.REVISION_ANNOTATION] = str(revision)
        store.create(obj)


def test_fresh_cluster_is_none():
    k = ik.classify(facts_of(seeded()))
    assert (k.kind, k.revision, k.current, k.evidence, k.leftovers) == ("none", None, None, [], [])


@pytest.mark.parametrize("era,ns,rc", [("4.6", "kata-operator", "kata-oc"), ("4.7", "kata-operator-system", "kata")])
def test_legacy_install(era, ns, rc):
    k = ik.classify(facts_of(seeded(legacy=era)))
    assert k.kind == "legacy"
    refs = {(r.kind, r.name, r.namespace) for r in k.legacy_objects}
    assert refs == {("MachineConfig", "50-kata-crio-dropin", None), ("Namespace", ns, None),
                    ("KataConfig", "example-kataconfig", None), ("RuntimeClass", rc, None)}
    kc = [r for r in k.legacy_objects if r.kind == "KataConfig"][0]
    assert kc.api_version == "kataconfiguration.openshift.io/" + ("v1alpha1" if era == "4.6" else "v1")
    assert "DaemonSet %s/kata-operator-daemon-install" % ns in k.evidence
    assert k.revision is None and k.leftovers == []


def test_legacy_kataconfig_is_not_taken_for_the_operator():
    """The 4.7 legacy KataConfig is v1 like the operator's: the kata-operator-system namespace tells them apart."""
    k = ik.classify(facts_of(seeded(legacy="4.7")))
    assert k.kind == "legacy"
    assert not any("owned by" in e and "operator" in e for e in k.evidence)


def test_mixed_legacy_and_plugin_is_a_migration_in_progress():
    store = seeded(legacy="4.6")
    store.delete("RuntimeClass", "kata-oc")
    enable_ours(store)
    k = ik.classify(facts_of(store))
    assert k.kind == "legacy" and k.revision == objects.CURRENT_REVISION
    assert {r.kind for r in k.ours} == {"MachineConfig", "RuntimeClass"}
    assert {r.name for r in k.legacy_objects} == {"50-kata-crio-dropin", "kata-operator", "example-kataconfig"}


def test_only_a_legacy_node_leftover_is_legacy():
    facts = facts_of(seeded())
    facts["node_leftovers"] = {"worker-1": ["packages.repo", "not-a-leftover-id"]}
    k = ik.classify(facts)
    assert k.kind == "legacy" and k.legacy_objects == []
    assert k.evidence == ["node worker-1: /etc/yum.repos.d/packages.repo"]


def test_terminating_legacy_namespace_alone_is_not_legacy():
    store = seeded()
    facts = facts_of(store)
    facts["namespaces"].append({"metadata": {"name": "kata-operator", "deletionTimestamp": "2026-01-01T00:00:00Z"}})
    assert ik.classify(facts).kind == "none"


def test_namespace_prefix_is_exact():
    assert ik.is_legacy_namespace("kata-operator") and ik.is_legacy_namespace("kata-operator-system")
    assert not ik.is_legacy_namespace("kata-operatorx") and not ik.is_legacy_namespace("my-kata-operator")


def test_operator_install_with_olm():
    k = ik.classify(facts_of(seeded(operator=True, olm=True)))
    assert k.kind == "operator"
    assert "KataConfig example-kataconfig" in k.evidence
    assert any(e.startswith("namespace openshift-sandboxed-containers-operator with Subscription "
                            "sandboxed-containers-operator, ClusterServiceVersion ") for e in k.evidence)
    assert any(e.startswith("MachineConfig 50-enable-sandboxed-containers-extension (owned by KataConfig/")
               for e in k.evidence)


def test_operator_running_without_kataconfig_yet():
    store = seeded(operator=True, olm=True)
    store.delete("KataConfig", "example-kataconfig")   # finalizer: only marked
    facts = facts_of(store)
    facts["kataconfigs"] = []
    facts["mcs"] = [m for m in facts["mcs"] if m["metadata"]["name"] != "50-enable-sandboxed-containers-extension"]
    facts["runtimeclasses"] = []
    k = ik.classify(facts)
    assert k.kind == "operator" and len(k.evidence) == 1 and "Subscription" in k.evidence[0]


def test_lone_crd_is_leftovers_not_operator():
    facts = facts_of(seeded(), crd=["v1"])
    k = ik.classify(facts)
    assert k.kind == "operator-leftovers"
    assert k.leftovers == ["CRD kataconfigs.kataconfiguration.openshift.io"]


def test_empty_operator_namespace_is_leftovers():
    store = seeded()
    facts = facts_of(store, crd=["v1"])
    facts["osc_namespace"] = True
    k = ik.classify(facts)
    assert k.kind == "operator-leftovers" and len(k.leftovers) == 2
    assert "no Subscription or ClusterServiceVersion" in k.leftovers[1]


def test_plugin_current_and_leftovers_still_listed():
    store = seeded()
    enable_ours(store)
    k = ik.classify(facts_of(store, crd=["v1"]))
    assert (k.kind, k.revision, k.current) == ("plugin", objects.CURRENT_REVISION, True)
    assert k.leftovers == ["CRD kataconfigs.kataconfiguration.openshift.io"]
    assert k.evidence == ["MachineConfig 50-enable-sandboxed-containers-extension (revision 2)",
                          "RuntimeClass kata (revision 2)"]


@pytest.mark.parametrize("revision", [1, "garbage"])
def test_plugin_older_revision(revision):
    store = seeded()
    enable_ours(store, revision=revision)
    k = ik.classify(facts_of(store))
    assert k.kind == "plugin" and k.current is False
    assert k.revision == (1 if revision == 1 else 0)


def test_one_old_object_makes_the_install_old():
    store = seeded()
    enable_ours(store)
    rc = store.get("RuntimeClass", "kata")
    del rc["metadata"]["annotations"]
    store.update(rc)
    k = ik.classify(facts_of(store))
    assert (k.revision, k.current) == (1, False)


def test_our_pool_counts_as_ours():
    store = seeded()
    store.create(objects.custom_pool("kata-oc"))
    k = ik.classify(facts_of(store))
    assert k.kind == "plugin" and [str(r) for r in k.ours] == ["MachineConfigPool kata-oc"]


def test_operator_wins_over_plugin_and_legacy():
    store = seeded(operator=True, olm=True)
    facts = facts_of(store)
    legacy = facts_of(seeded(legacy="4.6"))
    facts["mcs"] = facts["mcs"] + [m for m in legacy["mcs"] if m["metadata"]["name"] == "50-kata-crio-dropin"]
    assert ik.classify(facts).kind == "operator"


def test_hand_made_runtimeclass_is_neither_legacy_nor_operator():
    facts = facts_of(seeded())
    facts["runtimeclasses"] = [{"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass", "handler": "kata",
                                "metadata": {"name": "kata"}}]
    assert ik.classify(facts).kind == "none"


def test_legacy_runtimeclass_orphaned_mid_migration_stays_legacy():
    """KataConfig deleted by an interrupted upgrade, RuntimeClass still owned by it: attributable to legacy."""
    store = seeded(legacy="4.7")
    facts = facts_of(store)
    facts["kataconfigs"] = []
    facts["mcs"] = [m for m in facts["mcs"] if m["metadata"]["name"] != "50-kata-crio-dropin"]
    k = ik.classify(facts)
    assert k.kind == "legacy"
    assert ("RuntimeClass", "kata") in {(r.kind, r.name) for r in k.legacy_objects}


def test_to_dict_is_plain_data():
    d = ik.classify(facts_of(seeded(legacy="4.6"))).to_dict()
    assert d["kind"] == "legacy" and d["currentRevision"] == objects.CURRENT_REVISION
    assert {"kind": "Namespace", "name": "kata-operator", "namespace": None, "apiVersion": None} in d["legacyObjects"]
    copy.deepcopy(d)


def test_garbage_facts_do_not_crash():
    assert ik.classify(None).kind == "none"
    assert ik.classify({"mcs": "x", "namespaces": [None, 3, "kata-operator"], "runtimeclasses": [1]}).kind == "legacy"


def test_doctor_reports_a_legacy_install():
    from kubectl_kata.doctor.checks_cluster import check_cluster

    facts = facts_of(seeded(legacy="4.6"))
    found = [f for f in check_cluster(facts, "worker", ["worker-0", "worker-1"]) if f.check_id == "cluster.operator"]
    assert len(found) == 1 and found[0].severity == "warning"
    assert found[0].message.startswith("legacy RPM-payload install (kata-operator, OCP 4.6/4.7) found: ")
    assert "MachineConfig 50-kata-crio-dropin" in found[0].message
    assert "kubectl kata upgrade --dry-run --inspect-nodes" in found[0].hint
