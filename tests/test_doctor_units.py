"""doctor's pure parts and bundle reader: report folding/schema, cluster checks, redaction, unsafe bundles,
and the shipped example bundle. Cluster objects come from tests/fakeapi/seeds.py (schema-valid seeds)."""
from __future__ import annotations

import io
import json
import os
import tarfile

import pytest

from kubectl_kata.doctor import bundle as bundle_mod
from kubectl_kata.doctor.checks_cluster import CLUSTER_CHECK_IDS, check_cluster
from kubectl_kata.doctor.findings import Finding
from kubectl_kata.core.redact import redact_object
from kubectl_kata.doctor.analysis import analyse
from kubectl_kata.doctor.report import build_report
from kubectl_kata.render.doctor_report import render_table
from kubectl_kata.status import ExitStatus
from tests.clirunner import run_cli
from tests.fakeapi.seeds import seed
from tests.fakeapi.store import ObjectStore

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(ROOT, "examples", "bundle-drifted-node")


# --------------------------------------------------------------------------- report

def _ok(node, cid="node.dev-kvm"):
    return Finding(cid, "ok", node, "/dev/kvm present")


def test_report_folds_identical_nodes_300():
    nodes = {"worker-%03d" % i: [_ok("worker-%03d" % i)] for i in range(300)}
    nodes["worker-007"] = [Finding("node.dev-kvm", "error", "worker-007", "/dev/kvm is missing", "load kvm")]
    nodes["worker-123"] = [Finding("node.dev-kvm", "error", "worker-123", "/dev/kvm is missing", "load kvm")]
    doc = build_report(cluster_findings=[], node_findings=nodes, scope={"pool": "worker"}, version="4.16.3",
                       expected=None)
    assert doc["rollup"] == "298 nodes OK, 2 differ: worker-007, worker-123 (node.dev-kvm)"
    assert [g["count"] for g in doc["groups"]] == [298, 2]
    assert doc["summary"]["nodes"] == {"total": 300, "ok": 298, "problems": 2, "unreachable": 0}
    text = render_table(doc)
    assert "1 of 300" not in text and "2 of 300 nodes: /dev/kvm is missing (worker-007, worker-123)" in text
    # folded: one problem line for both nodes; wide lists each node
    assert text.count("/dev/kvm is missing") == 2
    assert len(text.splitlines()) < 20
    wide = render_table(doc, wide=True)
    assert "worker-299" in wide and wide.count("node.dev-kvm: /dev/kvm is missing") == 2


def test_report_healthy_says_so_and_schema_fields_present():
    doc = build_report(cluster_findings=[Finding("cluster.node-pools", "ok", "cluster", "fine")],
                       node_findings={"w": [_ok("w")]}, scope={"pool": "worker", "selector": None},
                       version=None, expected=None)
    assert doc["healthy"] and doc["rollup"] == "1 node OK"
    assert set(doc) == {"apiVersion", "kind", "healthy", "summary", "rollup", "scope", "cluster", "expected",
                        "findings", "nodes", "groups"}
    assert doc["expected"]["source"] == "none"
    assert render_table(doc).endswith("No problems found.")


# --------------------------------------------------------------------------- cluster checks

def _facts(**kw):
    store = ObjectStore()
    seed(store, ocp_version="4.16.3", workers=3, operator=True, **kw)
    facts = {"version": "4.16.3", "nodes": store.list("Node"), "pools": store.list("MachineConfigPool"),
             "mcs": store.list("MachineConfig"), "runtimeclasses": store.list("RuntimeClass"),
             "kataconfigs": store.list("KataConfig"), "kataconfig_crd": True, "osc_namespace": True}
    return facts


def _by_id(findings):
    return {f.check_id: f for f in findings}


WORKERS = ["worker-0", "worker-1", "worker-2"]


def test_cluster_checks_operator_install_is_healthy():
    fs = _by_id(check_cluster(_facts(), "worker", WORKERS))
    assert set(fs) == set(CLUSTER_CHECK_IDS) - {"cluster.extension-available", "cluster.expected-source"}
    assert {k: f.severity for k, f in fs.items() if f.severity not in ("ok",)} == {"cluster.operator": "info"}
    assert "KataConfig example-kataconfig" in fs["cluster.operator"].message


def test_cluster_checks_find_each_problem():
    facts = _facts()
    rc = facts["runtimeclasses"][0]
    rc["handler"] = "kata-qemu"
    rc["scheduling"]["nodeSelector"] = {"kubernetes.io/os": "linux"}
    mc = [m for m in facts["mcs"] if m["metadata"]["name"] == "50-enable-sandboxed-containers-extension"][0]
    mc["spec"]["extensions"] = ["sandboxed-containers", "not-an-extension"]
    pool = [p for p in facts["pools"] if p["metadata"]["name"] == "worker"][0]
    pool["status"]["conditions"] = [c for c in pool["status"]["conditions"] if c["type"] != "NodeDegraded"] + [
        {"type": "NodeDegraded", "status": "True", "reason": "1 nodes are reporting degraded status on sync",
         "message": 'Node worker-1 is reporting: "boom"'}]
    pool["status"]["degradedMachineCount"] = 1
    # two custom pools selecting worker-2
    for name in ("kata-oc", "infra"):
        facts["pools"].append({"metadata": {"name": name}, "spec": {"nodeSelector": {"matchLabels": {
            "kubernetes.io/hostname": "worker-2"}}}, "status": {}})
    fs = _by_id(check_cluster(facts, "worker", WORKERS))
    assert fs["cluster.extension-mc"].severity == "error" and "not-an-extension" in fs["cluster.extension-mc"].message
    assert fs["cluster.pool-status"].severity == "error" and 'Node worker-1 is reporting: "boom"' in \
        fs["cluster.pool-status"].message
    assert fs["cluster.runtimeclass"].severity == "error"
    assert "handler is 'kata-qemu'" in fs["cluster.runtimeclass"].message
    assert "outside pool worker" in fs["cluster.runtimeclass"].message
    assert fs["cluster.node-pools"].severity == "error"
    assert "worker-2 belongs to 2 custom roles" in fs["cluster.node-pools"].message


def test_cluster_checks_not_enabled():
    store = ObjectStore()
    seed(store, ocp_version="4.16.3", workers=2)
    facts = {"version": "4.16.3", "nodes": store.list("Node"), "pools": store.list("MachineConfigPool"),
             "mcs": store.list("MachineConfig"), "runtimeclasses": [], "kataconfigs": []}
    fs = _by_id(check_cluster(facts, "worker", ["worker-0", "worker-1"]))
    assert fs["cluster.extension-mc"].severity == "error"
    assert fs["cluster.rendered-config"].severity == "error"
    assert fs["cluster.runtimeclass"].severity == "error"
    assert fs["cluster.operator"].severity == "info"


# --------------------------------------------------------------------------- redaction

def test_secret_redaction_like_oc_adm_inspect():
    import base64

    secret = {"kind": "Secret", "metadata": {"name": "s", "annotations": {
        "openshift.io/token-secret.value": "tok", "kubectl.kubernetes.io/last-applied-configuration": "{..}"}},
        "data": {"token": base64.b64encode(b"abcdef").decode(), "tls.crt": "Q0VSVA==", "ca.crt": "Q0E="}}
    out = redact_object(secret)
    assert out["data"] == {"token": "6 bytes long", "tls.crt": "Q0VSVA==", "ca.crt": "Q0E="}
    assert out["metadata"]["annotations"] == {"openshift.io/token-secret.value": "",
                                              "kubectl.kubernetes.io/last-applied-configuration": ""}
    mc = {"kind": "MachineConfig", "metadata": {"name": "00-worker"}, "spec": {"config": {"storage": {"files": [
        {"path": "/var/lib/kubelet/config.json", "contents": {"source": "data:,SECRET"}}]}}}}
    assert redact_object(mc)["spec"]["config"]["storage"]["files"][0]["contents"]["source"] == "12 bytes long"


# --------------------------------------------------------------------------- unsafe bundles

def _tar(path, entries):
    with tarfile.open(path, "w:gz") as tar:
        for name, data, kind in entries:
            ti = tarfile.TarInfo(name)
            if kind == "sym":
                ti.type, ti.linkname = tarfile.SYMTYPE, data
                tar.addfile(ti)
            else:
                ti.size = len(data)
                tar.addfile(ti, io.BytesIO(data))


MANIFEST = json.dumps({"kind": "DoctorBundle", "layoutVersion": 1}).encode()


@pytest.mark.parametrize("entries,needle", [
    ([("../../etc/evil", b"x", "file"), ("kata-doctor-bundle/manifest.json", MANIFEST, "file")], "path traversal"),
    ([("/etc/evil", b"x", "file")], "absolute paths are refused"),
    ([("kata-doctor-bundle/manifest.json", MANIFEST, "file"), ("kata-doctor-bundle/x", "/etc/passwd", "sym")],
     "refusing link"),
    ([("kata-doctor-bundle/other.json", b"{}", "file")], "manifest.json not found"),
])
def test_unsafe_tarballs_are_refused(tmp_path, entries, needle):
    path = tmp_path / "bad.tar.gz"
    _tar(path, entries)
    res = run_cli(["doctor", "--from", str(path)])
    assert res.exit_code == ExitStatus.USAGE
    assert needle in res.stderr and "Traceback" not in res.stderr


def test_oversized_member_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "big.tar.gz"
    _tar(path, [("kata-doctor-bundle/manifest.json", MANIFEST, "file"),
                ("kata-doctor-bundle/nodes/w/raw/rpm-qa.stdout", b"x" * 5000, "file")])
    monkeypatch.setattr(bundle_mod, "MAX_MEMBER_BYTES", 4096)
    res = run_cli(["doctor", "--from", str(path)])
    assert res.exit_code == ExitStatus.USAGE
    assert "more than the 4096-byte limit" in res.stderr


def test_directory_with_escaping_link_and_garbage_are_refused(tmp_path):
    d = tmp_path / "b"
    d.mkdir()
    (d / "manifest.json").write_bytes(MANIFEST)
    os.symlink("/etc/passwd", d / "facts.json")
    res = run_cli(["doctor", "--from", str(d)])
    assert res.exit_code == ExitStatus.USAGE and "points outside the bundle" in res.stderr
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"\x1f\x8b not really gzip")
    res = run_cli(["doctor", "--from", str(junk)])
    assert res.exit_code == ExitStatus.USAGE and "cannot read bundle" in res.stderr
    res = run_cli(["doctor", "--from", str(tmp_path / "missing")])
    assert res.exit_code == ExitStatus.USAGE and "does not exist" in res.stderr


# --------------------------------------------------------------------------- the shipped example

def test_example_bundle_report():
    res = run_cli(["doctor", "--from", EXAMPLE, "-o", "json"], environ={"PATH": ""})
    assert res.exit_code == ExitStatus.PROBLEMS_FOUND, res.stderr
    doc = json.loads(res.stdout)
    probs = {(f["subject"], f["checkId"], f["severity"]) for f in doc["findings"] if f["severity"] in ("error", "warning")}
    assert probs == {("worker-1", "node.package-version", "error")}
    assert doc["rollup"] == "2 nodes OK, 1 differs: worker-1 (node.package-version)"
    assert doc["expected"]["source"] == "release"
    with open(os.path.join(EXAMPLE, "report.json")) as fh:
        assert json.load(fh) == doc
    table = run_cli(["doctor", "--from", EXAMPLE])
    assert "Nodes: 2 nodes OK, 1 differs: worker-1 (node.package-version)" in table.stdout


def test_bundle_writer_with_nodes_added_from_threads_equals_write_bundle(tmp_path):
    # what `doctor --bundle` does (node files added by the probe workers as they finish) gives the same
    # members as writing the whole bundle at the end; abort() leaves nothing behind
    import threading

    col = bundle_mod.read_bundle(EXAMPLE)
    doc = analyse(col)
    whole = bundle_mod.load_members(bundle_mod.write_bundle(str(tmp_path / "whole.tar.gz"), col, doc))
    writer = bundle_mod.BundleWriter(str(tmp_path / "streamed.tar.gz"))
    threads = [threading.Thread(target=writer.add_node, args=(n, r)) for n, r in sorted(col.probes.items())[:-1]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    streamed = bundle_mod.load_members(writer.finish(col, doc))   # finish adds the last node itself
    whole.pop("manifest.json"), streamed.pop("manifest.json")     # creation times differ
    assert streamed == whole
    aborted = bundle_mod.BundleWriter(str(tmp_path / "aborted.tar.gz"))
    aborted.add_node(*sorted(col.probes.items())[0])
    aborted.abort()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["streamed.tar.gz", "whole.tar.gz"]


def test_bundle_writer_facts_written_early_are_written_once_and_only_for_the_runs_facts(tmp_path):
    # doctor hands the cluster facts to the writer while the nodes are probed; finish() must not write them again
    col = bundle_mod.read_bundle(EXAMPLE)
    doc = analyse(col)
    whole = bundle_mod.load_members(bundle_mod.write_bundle(str(tmp_path / "whole.tar.gz"), col, doc))
    writer = bundle_mod.BundleWriter(str(tmp_path / "early.tar.gz"))
    writer.add_facts(col.facts)
    writer.add_facts(col.facts)                                   # a second call writes nothing more
    path = writer.finish(col, doc)
    with tarfile.open(path) as tf:
        names = tf.getnames()
    assert names.count("kata-doctor-bundle/cluster/facts.json") == 1
    early = bundle_mod.load_members(path)
    whole.pop("manifest.json"), early.pop("manifest.json")
    assert early == whole
    # facts written from another object than the run's: refused, and no bundle is left half written
    other = bundle_mod.BundleWriter(str(tmp_path / "other.tar.gz"))
    other.add_facts(dict(col.facts))
    with pytest.raises(RuntimeError, match="other facts"):
        other.finish(col, doc)
    assert not (tmp_path / "other.tar.gz").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["early.tar.gz", "whole.tar.gz"]
