"""End to end: the real CLI and the real kubernetes client against the loopback fake API server
with its simulated MCO. Nothing here mocks kubectl-kata's own code."""
from __future__ import annotations

import datetime
import json

import pytest
import yaml

from kubectl_kata.core.constants import MC_NAME
from kubectl_kata.status import ExitStatus
from tests.clirunner import run_cli

FAST = ["--timeout", "60s"]


def _kc(fc, tmp_path):
    return fc.write_kubeconfig(str(tmp_path / "kubeconfig"))


def _status(fc, kc):
    res = run_cli(["status", "-o", "json"], kubeconfig=kc)
    assert res.exit_code == 0, res.stderr
    return json.loads(res.stdout)


def _posts(fc, fragment):
    return [r for r in fc.requests if r["method"] == "POST" and fragment in r["path"]]


def test_enable_rollout_runtimeclass_status_disable_on_worker(make_fake_cluster, tmp_path):
    fc = make_fake_cluster(workers=3)
    kc = _kc(fc, tmp_path)

    res = run_cli(["enable"] + FAST, kubeconfig=kc)
    assert res.exit_code == ExitStatus.SUCCESS, res.stderr
    assert f"machineconfig.machineconfiguration.openshift.io/{MC_NAME} created" in res.stdout
    assert "runtimeclass.node.k8s.io/kata created" in res.stdout
    assert "enabled on pool worker: 3 node(s)" in res.stdout

    mc = fc.store.get("MachineConfig", MC_NAME)
    assert mc["spec"]["extensions"] == ["sandboxed-containers"]
    assert mc["metadata"]["labels"]["machineconfiguration.openshift.io/role"] == "worker"
    assert mc["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "kubectl-kata"
    assert mc["spec"]["config"]["ignition"]["version"] == "3.2.0"
    # RuntimeClass only exists once every worker runs a rendered config that includes the extension
    rc = fc.store.get("RuntimeClass", "kata")
    assert rc["handler"] == "kata"
    assert rc["overhead"]["podFixed"] == {"cpu": "250m", "memory": "350Mi"}
    assert rc["scheduling"]["nodeSelector"] == {"node-role.kubernetes.io/worker": ""}
    pool = fc.store.get("MachineConfigPool", "worker")
    target = pool["spec"]["configuration"]["name"]
    assert MC_NAME in [s["name"] for s in pool["spec"]["configuration"]["source"]]
    for node in fc.store.list("Node"):
        if "node-role.kubernetes.io/worker" in node["metadata"]["labels"]:
            assert node["metadata"]["annotations"]["machineconfiguration.openshift.io/currentConfig"] == target

    doc = _status(fc, kc)
    assert doc["enabled"] is True and doc["pool"] == "worker" and doc["managedBy"] == "kubectl-kata"
    assert doc["rollout"]["phase"] == "done"
    assert doc["renderedConfig"]["includesExtension"] is True
    assert [n["kataReady"] for n in doc["nodes"]] == [True, True, True]
    assert doc["runtimeClass"]["present"] and doc["runtimeClass"]["matchesPool"]

    res = run_cli(["disable"] + FAST, kubeconfig=kc)
    assert res.exit_code == 0, res.stderr
    assert fc.store.get("MachineConfig", MC_NAME) is None
    assert fc.store.get("RuntimeClass", "kata") is None
    pool = fc.store.get("MachineConfigPool", "worker")
    assert MC_NAME not in [s["name"] for s in pool["spec"]["configuration"]["source"]]
    assert pool["status"]["configuration"]["name"] == pool["spec"]["configuration"]["name"]
    doc = _status(fc, kc)
    assert doc["enabled"] is False and doc["renderedConfig"]["includesExtension"] is False


def test_enable_and_disable_with_custom_pool(make_fake_cluster, tmp_path):
    fc = make_fake_cluster(workers=3)
    kc = _kc(fc, tmp_path)
    workers = sorted(n["metadata"]["name"] for n in fc.store.list("Node")
                     if "node-role.kubernetes.io/worker" in n["metadata"]["labels"])
    chosen = workers[:2]
    res = run_cli(["enable", "--create-pool", "kata-oc", "--nodes", ",".join(chosen)] + FAST, kubeconfig=kc)
    assert res.exit_code == 0, res.stderr + res.stdout
    pool = fc.store.get("MachineConfigPool", "kata-oc")
    assert pool["spec"]["machineConfigSelector"]["matchExpressions"] == [
        {"key": "machineconfiguration.openshift.io/role", "operator": "In", "values": ["kata-oc", "worker"]}]
    assert pool["spec"]["nodeSelector"] == {"matchLabels": {"node-role.kubernetes.io/kata-oc": ""}}
    assert pool["status"]["machineCount"] == 2 and pool["status"]["updatedMachineCount"] == 2
    labelled = sorted(n["metadata"]["name"] for n in fc.store.list("Node")
                      if "node-role.kubernetes.io/kata-oc" in n["metadata"]["labels"])
    assert labelled == chosen
    assert fc.store.get("RuntimeClass", "kata")["scheduling"]["nodeSelector"] == {"node-role.kubernetes.io/kata-oc": ""}
    untouched = fc.store.get("Node", workers[2])
    assert "kata-oc" not in untouched["metadata"]["annotations"]["machineconfiguration.openshift.io/currentConfig"]

    doc = _status(fc, kc)
    assert doc["pool"] == "kata-oc" and doc["rollout"]["phase"] == "done"
    assert sorted(n["name"] for n in doc["nodes"]) == chosen

    res = run_cli(["disable"] + FAST, kubeconfig=kc)
    assert res.exit_code == 0, res.stderr + res.stdout
    assert fc.store.get("MachineConfigPool", "kata-oc") is None
    assert fc.store.get("MachineConfig", MC_NAME) is None
    worker_target = fc.store.get("MachineConfigPool", "worker")["spec"]["configuration"]["name"]
    for name in chosen:
        node = fc.store.get("Node", name)
        assert "node-role.kubernetes.io/kata-oc" not in node["metadata"]["labels"]
        assert node["metadata"]["annotations"]["machineconfiguration.openshift.io/currentConfig"] == worker_target
        assert node["metadata"]["annotations"]["machineconfiguration.openshift.io/state"] == "Done"


def test_enable_is_idempotent_and_disable_too(make_fake_cluster, tmp_path):
    fc = make_fake_cluster(workers=2)
    kc = _kc(fc, tmp_path)
    assert run_cli(["enable"] + FAST, kubeconfig=kc).exit_code == 0
    fc.reset_requests()
    res = run_cli(["enable"] + FAST, kubeconfig=kc)
    assert res.exit_code == 0, res.stderr
    assert "already enabled on pool worker" in res.stdout
    assert _posts(fc, "machineconfigs") == [] and _posts(fc, "runtimeclasses") == []
    assert run_cli(["disable"] + FAST, kubeconfig=kc).exit_code == 0
    res = run_cli(["disable"] + FAST, kubeconfig=kc)
    assert res.exit_code == 0
    assert "nothing to do" in res.stdout


def test_dry_run_client_contacts_nothing_and_prints_valid_objects(make_fake_cluster, tmp_path):
    from tests.fakeapi.validation import validate

    fc = make_fake_cluster(workers=1)
    kc = _kc(fc, tmp_path)
    fc.reset_requests()
    res = run_cli(["enable", "--create-pool", "kata-oc", "--all-workers", "--dry-run=client", "-o", "yaml"],
                  kubeconfig=kc)
    assert res.exit_code == 0, res.stderr
    assert fc.requests == []
    docs = list(yaml.safe_load_all(res.stdout))
    assert [d["kind"] for d in docs] == ["MachineConfigPool", "MachineConfig", "RuntimeClass"]
    for d in docs[:2]:
        validate(d, "machineconfiguration.openshift.io")  # the same CRD-schema validation the fake API server applies
    res = run_cli(["enable", "--dry-run=client", "-o", "json"], kubeconfig=kc)
    assert [d["kind"] for d in json.loads(res.stdout)["items"]] == ["MachineConfig", "RuntimeClass"]


def test_dry_run_server_sends_dryrun_and_changes_nothing(make_fake_cluster, tmp_path):
    fc = make_fake_cluster(workers=2)
    kc = _kc(fc, tmp_path)
    before = fc.store.get("MachineConfigPool", "worker")["spec"]
    fc.reset_requests()
    res = run_cli(["enable", "--create-pool", "kata-oc", "--all-workers", "--dry-run=server"], kubeconfig=kc)
    assert res.exit_code == 0, res.stderr
    writes = [r for r in fc.requests if r["method"] in ("POST", "PATCH", "PUT", "DELETE")]
    assert writes and all(r["query"].get("dryRun") == "All" for r in writes)
    assert fc.store.get("MachineConfig", MC_NAME) is None
    assert fc.store.get("MachineConfigPool", "kata-oc") is None
    assert not any("node-role.kubernetes.io/kata-oc" in n["metadata"]["labels"] for n in fc.store.list("Node"))
    assert fc.store.get("MachineConfigPool", "worker")["spec"] == before
    assert fc.store.get("RuntimeClass", "kata") is None


@pytest.mark.parametrize("kw, args, code, needle", [
    (dict(openshift=False), [], ExitStatus.PREFLIGHT_REFUSED, "not an OpenShift cluster"),
    (dict(ocp_version="4.7.30"), [], ExitStatus.PREFLIGHT_REFUSED, "added in 4.8"),
    (dict(arch="arm64"), [], ExitStatus.PREFLIGHT_REFUSED, "arm64"),
    (dict(operator=True), [], ExitStatus.PREFLIGHT_REFUSED, "operator manages kata"),
    (dict(converged=True), [], ExitStatus.PREFLIGHT_REFUSED, "converged"),
])
def test_preflight_refusals_change_nothing(make_fake_cluster, tmp_path, kw, args, code, needle):
    fc = make_fake_cluster(**kw)
    kc = _kc(fc, tmp_path)
    fc.reset_requests()
    res = run_cli(["enable"] + args + FAST, kubeconfig=kc)
    assert res.exit_code == code, (res.stdout, res.stderr)
    assert needle in res.stderr
    assert "Traceback" not in res.stderr
    assert [r for r in fc.requests if r["method"] in ("POST", "PATCH", "PUT", "DELETE")] == []


def test_degraded_pool_is_refused(make_fake_cluster, tmp_path):
    fc = make_fake_cluster(workers=2)
    kc = _kc(fc, tmp_path)
    # Freeze the simulated MCO and leave the cluster as a degraded node leaves it: the daemon's state and
    # reason annotations, and the pool conditions/counters the MCO derives from them.
    fc.mco.stop()
    name = sorted(n["metadata"]["name"] for n in fc.store.list("Node")
                  if "node-role.kubernetes.io/worker" in n["metadata"]["labels"])[0]
    node = fc.store.get("Node", name)
    node["metadata"]["annotations"]["machineconfiguration.openshift.io/state"] = "Degraded"
    node["metadata"]["annotations"]["machineconfiguration.openshift.io/reason"] = "unexpected on-disk state"
    fc.store.update(node)
    pool = fc.store.get("MachineConfigPool", "worker")
    for c in pool["status"]["conditions"]:
        if c["type"] in ("Degraded", "NodeDegraded"):
            c["status"] = "True"
            c["message"] = 'Node %s is reporting: "unexpected on-disk state"' % name
    pool["status"]["degradedMachineCount"] = 1
    fc.store.update(pool)
    res = run_cli(["enable"] + FAST, kubeconfig=kc)
    assert res.exit_code == ExitStatus.PREFLIGHT_REFUSED
    assert "unexpected on-disk state" in res.stderr


def test_paused_pool_warns_and_explains(make_fake_cluster, tmp_path):
    fc = make_fake_cluster(workers=2)
    kc = _kc(fc, tmp_path)
    pool = fc.store.get("MachineConfigPool", "worker")
    pool["spec"]["paused"] = True
    fc.store.update(pool)
    res = run_cli(["enable"] + FAST, kubeconfig=kc)
    assert res.exit_code == 0, res.stderr
    assert "warning: pool worker is paused" in res.stderr
    assert "nothing rolls out until it is unpaused" in res.stdout
    assert fc.store.get("RuntimeClass", "kata") is None


def test_node_degraded_mid_rollout_stops_with_its_reason(make_fake_cluster, tmp_path):
    fc = make_fake_cluster(workers=3)
    kc = _kc(fc, tmp_path)
    reason = "error running rpm-ostree update --install kata-containers: error: Could not depsolve transaction"
    workers = sorted(n["metadata"]["name"] for n in fc.store.list("Node")
                     if "node-role.kubernetes.io/worker" in n["metadata"]["labels"])
    armed = []

    def arm(etype, obj):  # degrade worker-1 once the pool's target includes our MachineConfig
        if obj.get("kind") == "MachineConfigPool" and obj["metadata"]["name"] == "worker" and not armed and \
                MC_NAME in [s["name"] for s in obj["spec"].get("configuration", {}).get("source", [])]:
            armed.append(True)
            fc.mco.degrade_node(workers[1], reason)

    fc.store.subscribe(arm)
    res = run_cli(["enable"] + FAST, kubeconfig=kc)
    assert res.exit_code == ExitStatus.ROLLOUT_FAILED, (res.stdout, res.stderr)
    assert reason in res.stderr
    assert fc.store.get("RuntimeClass", "kata") is None


def test_kata_pods_block_disable_unless_forced(make_fake_cluster, tmp_path):
    fc = make_fake_cluster(workers=2)
    kc = _kc(fc, tmp_path)
    assert run_cli(["enable"] + FAST, kubeconfig=kc).exit_code == 0
    node = sorted(n["metadata"]["name"] for n in fc.store.list("Node")
                  if "node-role.kubernetes.io/worker" in n["metadata"]["labels"])[0]
    from tests.fakeapi.seeds import _kata_pod

    pod = _kata_pod(0, node, "demo", datetime.datetime(2026, 11, 26, 10, 0, 0))
    pod["metadata"]["name"] = "sandboxed-nginx"
    fc.store.create(pod)
    res = run_cli(["disable"] + FAST, kubeconfig=kc)
    assert res.exit_code == ExitStatus.PREFLIGHT_REFUSED
    assert "demo/sandboxed-nginx" in res.stderr
    assert fc.store.get("MachineConfig", MC_NAME) is not None
    res = run_cli(["disable", "--force"] + FAST, kubeconfig=kc)
    assert res.exit_code == 0, res.stderr
    assert fc.store.get("MachineConfig", MC_NAME) is None


def test_json_output_keeps_stdout_a_document_and_bare_rerun_follows_the_custom_pool(make_fake_cluster, tmp_path):
    fc = make_fake_cluster(workers=2)
    kc = _kc(fc, tmp_path)
    res = run_cli(["enable", "--create-pool", "kata-oc", "--all-workers", "-o", "json"] + FAST, kubeconfig=kc)
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)  # progress and narrative went to stderr
    assert doc["kind"] == "KataStatus" and doc["pool"] == "kata-oc" and doc["rollout"]["phase"] == "done"
    assert "kata-oc: done" in res.stderr
    res = run_cli(["enable"] + FAST, kubeconfig=kc)  # no flags: adopt the pool it was enabled on
    assert res.exit_code == 0, res.stderr
    assert "already enabled on pool kata-oc" in res.stdout
    res = run_cli(["enable", "--pool", "worker"] + FAST, kubeconfig=kc)  # explicit other pool: refuse
    assert res.exit_code == ExitStatus.PREFLIGHT_REFUSED
    assert "already enabled on pool kata-oc" in res.stderr


def test_disable_resumes_after_an_interruption_past_the_unlabel_step(make_fake_cluster, tmp_path):
    fc = make_fake_cluster(workers=2)
    kc = _kc(fc, tmp_path)
    assert run_cli(["enable", "--create-pool", "kata-oc", "--all-workers"] + FAST, kubeconfig=kc).exit_code == 0
    # as if a first `disable` was interrupted right after deleting the RuntimeClass and unlabelling the nodes
    fc.store.delete("RuntimeClass", "kata")
    for node in fc.store.list("Node"):
        if "node-role.kubernetes.io/kata-oc" in node["metadata"]["labels"]:
            del node["metadata"]["labels"]["node-role.kubernetes.io/kata-oc"]
            fc.store.update(node)
    res = run_cli(["disable"] + FAST, kubeconfig=kc)
    assert res.exit_code == 0, res.stderr
    assert fc.store.get("MachineConfig", MC_NAME) is None
    assert fc.store.get("MachineConfigPool", "kata-oc") is None
    worker = fc.store.get("MachineConfigPool", "worker")
    assert worker["status"]["updatedMachineCount"] == worker["status"]["machineCount"] == 2


def test_status_reports_an_operator_managed_install(make_fake_cluster, tmp_path):
    fc = make_fake_cluster(workers=2, operator=True)
    kc = _kc(fc, tmp_path)
    doc = _status(fc, kc)
    assert doc["managedBy"] == "sandboxed-containers-operator"
    assert doc["machineConfig"]["present"] is True and doc["machineConfig"]["ours"] is False
    res = run_cli(["disable"] + FAST, kubeconfig=kc)
    assert res.exit_code == ExitStatus.PREFLIGHT_REFUSED
    assert fc.store.get("MachineConfig", MC_NAME) is not None
