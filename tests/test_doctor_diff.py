"""doctor diff (pure part): package/binary/image/MachineConfig changes per node, folding, findings, what is not
comparable. Node data: tests/nodesim.py scenarios; must-gathers: tests/fixtures/mustgather (tests/mustgather_sim.py)."""
from __future__ import annotations

from kubectl_kata.core.nodefacts import parse_node_facts
from kubectl_kata.doctor import mustgather as mgm
from kubectl_kata.doctor.diff import KATA_QEMU, diff_snapshots, snapshot_from_report
from kubectl_kata.render.diff_view import render_diff_table
from tests import nodesim
from tests.mustgather_sim import FIXTURES


def _facts(nodes, config="rendered-worker-a", os_image="Red Hat Enterprise Linux CoreOS 416.94.202410211619-0"):
    return {"nodes": [{"metadata": {"name": n, "annotations": {
        "machineconfiguration.openshift.io/currentConfig": config}}, "status": {"nodeInfo": {"osImage": os_image}}}
        for n in nodes]}


def _finding(subject, check, sev, msg):
    return {"checkId": check, "severity": sev, "subject": subject, "message": msg, "hint": "", "details": {}}


def snap(scenarios, findings=(), path="x", **kw):
    """scenarios: node -> nodesim scenario."""
    nfs = {n: parse_node_facts(nodesim.make_node_raw(s, node=n)) for n, s in scenarios.items()}
    doc = {"scope": {"nodes": sorted(scenarios)}, "cluster": {"version": kw.pop("version", "4.16.3")},
           "findings": list(findings)}
    return snapshot_from_report(path, "bundle", _facts(sorted(scenarios), **kw), doc, nfs)


def test_identical_snapshots():
    s = {"worker-0": "healthy", "worker-1": "version-skew"}
    d = diff_snapshots(snap(s), snap(s))
    assert d["identical"] is True
    assert d["nodes"] == {"onlyBefore": [], "onlyAfter": [], "changed": [], "unchanged": ["worker-0", "worker-1"]}
    assert "No differences." in render_diff_table(d)


def test_qemu_update_is_a_version_change_compared_as_rpm_versions():
    skew = _finding("worker-1", "node.package-version", "error",
                    "qemu-kvm-core-17:8.2.0-7.el9_4.x86_64 is older than expected 17:8.2.0-11.el9_4")
    before = snap({"worker-0": "healthy", "worker-1": "version-skew"}, [skew])
    after = snap({"worker-0": "healthy", "worker-1": "healthy"})
    d = diff_snapshots(before, after)
    assert d["identical"] is False
    assert d["nodes"]["changed"] == ["worker-1"] and d["nodes"]["unchanged"] == ["worker-0"]
    (g,) = d["groups"]
    assert g["nodes"] == ["worker-1"]
    changed = {c["name"]: c for c in g["packages"]["changed"]}
    assert changed["qemu-kvm-core"] == {"name": "qemu-kvm-core", "before": "17:8.2.0-7.el9_4",
                                        "after": "17:8.2.0-11.el9_4", "direction": "upgrade"}
    assert g["packages"]["added"] == [] and g["packages"]["removed"] == []
    assert [f["checkId"] for f in d["findings"]["resolved"]] == ["node.package-version"]
    text = render_diff_table(d)
    assert "~ qemu-kvm-core 17:8.2.0-7.el9_4 \u2192 17:8.2.0-11.el9_4" in text
    assert "Resolved findings:" in text and "Differences: 1 node changed, 1 resolved." in text
    # the other way round it is a downgrade, and the finding is new
    back = diff_snapshots(after, before)
    ch = {c["name"]: c for c in back["groups"][0]["packages"]["changed"]}
    assert ch["qemu-kvm-core"]["direction"] == "downgrade"
    assert [f["subjects"] for f in back["findings"]["new"]] == [["worker-1"]]


def test_rpmvercmp_not_string_order():
    # 8.2.0-9 -> 8.2.0-11 is an upgrade although "11" < "9" as strings
    b = snap({"worker-0": "healthy"})
    a = snap({"worker-0": "healthy"})
    from kubectl_kata.core.rpm import NEVRA
    b.nodes["worker-0"].packages = [NEVRA("qemu-kvm-core", 17, "8.2.0", "9.el9_4", "x86_64")]
    a.nodes["worker-0"].packages = [NEVRA("qemu-kvm-core", 17, "8.2.0", "11.el9_4", "x86_64"),
                                    NEVRA("virtiofsd", 0, "1.10.1", "1.el9", "x86_64")]
    g = diff_snapshots(b, a)["groups"][0]
    assert g["packages"]["changed"][0]["direction"] == "upgrade"
    assert g["packages"]["added"] == ["virtiofsd 1.10.1-1.el9.x86_64"]


def test_identical_changes_fold_and_nodes_only_on_one_side():
    nodes_b = {"worker-%d" % i: "version-skew" for i in range(6)}
    nodes_a = {"worker-%d" % i: "healthy" for i in range(1, 7)}
    d = diff_snapshots(snap(nodes_b), snap(nodes_a))
    assert d["nodes"]["onlyBefore"] == ["worker-0"] and d["nodes"]["onlyAfter"] == ["worker-6"]
    assert len(d["groups"]) == 1 and d["groups"][0]["count"] == 5
    assert "worker-1, worker-2, worker-3, worker-4, worker-5 (5 nodes):" in render_diff_table(d)


def test_booted_image_machine_config_and_binaries():
    b = snap({"worker-0": "healthy"}, config="rendered-worker-a")
    a = snap({"worker-0": "staged-pending"}, config="rendered-worker-b",
             os_image="Red Hat Enterprise Linux CoreOS 416.94.202411010000-0")
    a.nodes["worker-0"].binaries["kata-runtime"] = "3.8.0"
    a.nodes["worker-0"].booted_image = "sha256:" + "b" * 64
    g = diff_snapshots(b, a)["groups"][0]
    assert g["machineConfig"] == {"before": "rendered-worker-a", "after": "rendered-worker-b"}
    assert g["osImage"]["after"].endswith("202411010000-0")
    assert g["bootedImage"]["after"] == "sha256:" + "b" * 64
    assert {"name": "kata-runtime", "before": "3.7.0", "after": "3.8.0"} in g["binaries"]


def test_must_gather_against_bundle_compares_only_what_both_have():
    mg = mgm.read_mustgather(FIXTURES + "/merged")
    doc = mgm.analyse_mustgather(mg)
    before = snapshot_from_report("mg", "must-gather", mg.facts, doc, mgm.node_facts_map(mg, doc["scope"]["nodes"]),
                                  epochs=False, package_scope=KATA_QEMU, binaries_collected=False,
                                  booted_collected=False)
    skew = [dict(_finding("worker-1", "node.package-version", "error",
                          "%s-17:8.2.0-7.el9_4.x86_64 is older than expected 17:8.2.0-11.el9_4: no override, pending "
                          "rollout, staged deployment or older OS image explains it" % p),
                 details={"package": p, "direction": "older", "cause": "unknown"})
            for p in ("qemu-kvm-common", "qemu-kvm-core")]
    rpmv = _finding("worker-0", "node.rpm-verify", "error", "installed files differ from the RPMs: S.5....T. x")
    after = snap({"worker-0": "healthy", "worker-1": "version-skew", "worker-2": "healthy"}, skew + [rpmv],
                 config=mg.facts["nodes"][3]["metadata"]["annotations"][
                     "machineconfiguration.openshift.io/currentConfig"],
                 os_image=mg.facts["nodes"][3]["status"]["nodeInfo"]["osImage"])
    d = diff_snapshots(before, after)
    # the bundle's hundreds of base packages are not "added"; epochs do not make versions differ; the same
    # package problem is the same finding although each side words its cause from the data it holds
    assert d["nodes"]["changed"] == [] and d["identical"] is True
    assert [f["checkId"] for f in d["findings"]["unchanged"]] == ["node.package-version"] * 2
    # rpm -V was not collected in the must-gather: not a new finding
    assert [(f["checkId"], f["subjects"]) for f in d["findings"]["notComparable"]] == [("node.rpm-verify",
                                                                                         ["worker-0"])]
    assert any("no epochs" in n for n in d["notes"])
