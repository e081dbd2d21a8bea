"""End to end: `kubectl kata upgrade` with the real CLI and kubernetes client against the fake API server and its
simulated MCO. Legacy clusters are seeded by tests/fakeapi/seeds.py (legacy_objects / legacy_crio_dropin_mc,
derived from OSC release-4.6/4.7). Every migration asserts the exact writes the server received. On a legacy
install upgrade inspects the nodes first (one debug pod per node): those tests run the fake `oc` (tests/fakebin)
with clean nodes, or pass --no-inspect-nodes where the test is about the plan's own writes."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml

from kubectl_kata.core.constants import MC_NAME
from kubectl_kata.status import ExitStatus
from tests.clirunner import run_cli

FAST = ["--timeout", "60s"]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MC_PATH = "/apis/machineconfiguration.openshift.io/v1/machineconfigs"


def _kc(fc, tmp_path):
    return fc.write_kubeconfig(str(tmp_path / "kubeconfig"))


def writes(fc):
    """(method, path) of every mutating request, in order."""
    return [(r["method"], r["path"]) for r in fc.requests if r["method"] in ("POST", "PATCH", "PUT", "DELETE")]


def _oc_env(fake_oc):
    return {"FAKE_OC_SCENARIO_DIR": fake_oc.scenario_dir, "FAKE_OC_STATE_DIR": fake_oc.state_dir}


def split_inspection(w):
    """The writes of a legacy run that inspected its nodes: the debug namespace is created and deleted before the
    migration's first write. Returns the migration's writes."""
    assert w[0] == ("POST", "/api/v1/namespaces"), w
    assert w[1][0] == "DELETE" and w[1][1].startswith("/api/v1/namespaces/kata-doctor-"), w
    return w[2:]


def _assert_migrated(fc, legacy_ns):
    assert fc.api.namespaces.wait_idle()        # a deleted namespace is Terminating until its controller ran
    assert fc.store.get("Namespace", legacy_ns) is None
    assert fc.store.get("KataConfig", "example-kataconfig") is None
    assert fc.store.get("MachineConfig", "50-kata-crio-dropin") is None
    mc = fc.store.get("MachineConfig", MC_NAME)
    assert mc["spec"]["extensions"] == ["sandboxed-containers"]
    assert mc["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "kubectl-kata"
    assert mc["metadata"]["annotations"]["kubectl-kata.io/revision"] == "2"
    assert fc.store.get("RuntimeClass", "kata-oc") is None
    rc = fc.store.get("RuntimeClass", "kata")
    assert rc["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "kubectl-kata"
    assert "ownerReferences" not in rc["metadata"]
    assert rc["overhead"]["podFixed"] == {"cpu": "250m", "memory": "350Mi"}
    assert rc["scheduling"]["nodeSelector"] == {"node-role.kubernetes.io/worker": ""}
    pool = fc.store.get("MachineConfigPool", "worker")
    sources = [s["name"] for s in pool["spec"]["configuration"]["source"]]
    assert MC_NAME in sources and "50-kata-crio-dropin" not in sources
    assert pool["status"]["configuration"]["name"] == pool["spec"]["configuration"]["name"]


LEGACY_46_WRITES = [
    ("DELETE", "/apis/node.k8s.io/v1/runtimeclasses/kata-oc"),
    ("DELETE", "/api/v1/namespaces/kata-operator"),
    ("DELETE", "/apis/kataconfiguration.openshift.io/v1alpha1/kataconfigs/example-kataconfig"),
    ("PATCH", "/apis/kataconfiguration.openshift.io/v1alpha1/kataconfigs/example-kataconfig"),
    ("POST", MC_PATH),
    ("DELETE", MC_PATH + "/50-kata-crio-dropin"),
    ("POST", "/apis/node.k8s.io/v1/runtimeclasses"),
]


def test_legacy_46_migration_then_nothing_to_do(make_fake_cluster, tmp_path, fake_oc):
    fc = make_fake_cluster(ocp_version="4.10.3", masters=1, workers=2, legacy="4.6")
    fake_oc.configure(default={"scenario": "not-enabled", "release": "4.10"})
    kc = _kc(fc, tmp_path)
    doc = json.loads(run_cli(["status", "-o", "json"], kubeconfig=kc).stdout)
    assert doc["install"]["kind"] == "legacy"
    assert "Install:              legacy RPM payload (kata-operator)" in run_cli(["status"], kubeconfig=kc).stdout
    res = run_cli(["enable"] + FAST, kubeconfig=kc)
    assert res.exit_code == ExitStatus.PREFLIGHT_REFUSED and "kubectl kata upgrade" in res.stderr
    fc.reset_requests()

    res = run_cli(["upgrade", "--yes"] + FAST, kubeconfig=kc, environ=_oc_env(fake_oc))
    assert res.exit_code == 0, res.stderr
    assert split_inspection(writes(fc)) == LEGACY_46_WRITES
    assert fake_oc.count("oc", "debug") == 2 and fake_oc.live_pods() == []
    assert "Host leftovers (pool worker, 2 node(s) inspected):\n  worker-0: none\n  worker-1: none\n" in res.stdout
    assert "Install: legacy RPM-payload install" in res.stdout
    assert "namespace/kata-operator deleted" in res.stdout
    assert "machineconfig.machineconfiguration.openshift.io/%s created" % MC_NAME in res.stdout
    assert "runtimeclass.node.k8s.io/kata created" in res.stdout
    assert "Upgrade done: 6 step(s); pool worker: 2 node(s) run rendered-worker-" in res.stdout
    _assert_migrated(fc, "kata-operator")

    fc.reset_requests()
    res = run_cli(["upgrade", "--yes"] + FAST, kubeconfig=kc, environ=_oc_env(fake_oc))
    assert res.exit_code == 0 and "Nothing to do." in res.stdout, res.stderr
    assert writes(fc) == []
    assert fake_oc.count("oc", "debug") == 2        # a plugin install: its nodes are not inspected again
    doc = json.loads(run_cli(["status", "-o", "json"], kubeconfig=kc).stdout)
    assert doc["install"]["kind"] == "plugin" and doc["install"]["current"] is True
    assert "Install:              kubectl-kata, revision 2\n" in run_cli(["status"], kubeconfig=kc).stdout


def test_legacy_47_migration_adopts_the_runtimeclass(make_fake_cluster, tmp_path, fake_oc):
    fc = make_fake_cluster(ocp_version="4.10.3", masters=1, workers=2, legacy="4.7")
    fake_oc.configure(default={"scenario": "not-enabled", "release": "4.10"})
    kc = _kc(fc, tmp_path)
    fc.reset_requests()
    res = run_cli(["upgrade", "--yes", "-o", "json"] + FAST, kubeconfig=kc, environ=_oc_env(fake_oc))
    assert res.exit_code == 0, res.stderr
    plan = json.loads(res.stdout)
    assert plan["kind"] == "UpgradePlan" and plan["install"]["kind"] == "legacy"
    assert [(h["node"], h["leftovers"]) for h in plan["hostLeftovers"]] == [("worker-0", []), ("worker-1", [])]
    assert [(a["op"], a["object"]["kind"]) for a in plan["actions"]] == [
        ("change", "RuntimeClass"), ("delete", "Namespace"), ("delete", "KataConfig"), ("create", "MachineConfig"),
        ("delete", "MachineConfig")]
    assert split_inspection(writes(fc)) == [
        ("PATCH", "/apis/node.k8s.io/v1/runtimeclasses/kata"),
        ("DELETE", "/api/v1/namespaces/kata-operator-system"),
        ("DELETE", "/apis/kataconfiguration.openshift.io/v1/kataconfigs/example-kataconfig"),
        ("PATCH", "/apis/kataconfiguration.openshift.io/v1/kataconfigs/example-kataconfig"),
        ("POST", MC_PATH),
        ("DELETE", MC_PATH + "/50-kata-crio-dropin"),
    ]
    assert "runtimeclass.node.k8s.io/kata changed" in res.stderr   # narrative on stderr with -o json
    _assert_migrated(fc, "kata-operator-system")


def test_dry_run_prints_plan_and_diff_and_writes_nothing(make_fake_cluster, tmp_path):
    fc = make_fake_cluster(ocp_version="4.10.3", masters=1, workers=2, legacy="4.6", mco=False)
    kc = _kc(fc, tmp_path)
    fc.reset_requests()
    res = run_cli(["upgrade", "--dry-run", "--no-inspect-nodes"], kubeconfig=kc)
    assert res.exit_code == 0, res.stderr
    assert writes(fc) == []
    out = res.stdout
    assert "note: the nodes were not inspected (--no-inspect-nodes): " in out
    assert "  1. delete RuntimeClass kata-oc: " in out
    assert "--- /dev/null\n+++ b/machineconfig/%s\n@@ " % MC_NAME in out
    assert "--- a/namespace/kata-operator\n+++ /dev/null\n@@ " in out
    assert "-  name: 50-kata-crio-dropin\n" in out
    res = run_cli(["upgrade", "--dry-run", "-o", "yaml", "--no-inspect-nodes"], kubeconfig=kc)
    doc = yaml.safe_load(res.stdout)
    assert doc["kind"] == "UpgradePlan" and doc["diff"].startswith("--- a/runtimeclass/kata-oc\n")
    assert writes(fc) == []


def test_without_a_terminal_it_asks_for_yes(make_fake_cluster, tmp_path):
    fc = make_fake_cluster(ocp_version="4.10.3", masters=1, workers=1, legacy="4.6", mco=False)
    kc = _kc(fc, tmp_path)
    fc.reset_requests()
    res = run_cli(["upgrade"], kubeconfig=kc)
    assert res.exit_code == ExitStatus.USAGE
    assert "pass --yes" in res.stderr and writes(fc) == []


def test_operator_managed_is_refused(make_fake_cluster, tmp_path):
    fc = make_fake_cluster(workers=2, operator=True, olm=True, mco=False)
    kc = _kc(fc, tmp_path)
    fc.reset_requests()
    res = run_cli(["upgrade", "--yes"], kubeconfig=kc)
    assert res.exit_code == ExitStatus.PREFLIGHT_REFUSED
    assert "sandboxed containers operator manages kata here" in res.stderr and "nothing was changed" in res.stderr
    assert "hint: upgrade kata through the operator" in res.stderr
    assert writes(fc) == []


def test_current_plugin_install_writes_nothing(make_fake_cluster, tmp_path):
    fc = make_fake_cluster(workers=2)
    kc = _kc(fc, tmp_path)
    assert run_cli(["enable"] + FAST, kubeconfig=kc).exit_code == 0
    fc.reset_requests()
    res = run_cli(["upgrade", "--yes"] + FAST, kubeconfig=kc)
    assert res.exit_code == 0 and "Nothing to do." in res.stdout
    assert writes(fc) == []


def test_older_plugin_revision_is_re_rendered(make_fake_cluster, tmp_path):
    fc = make_fake_cluster(workers=2)
    kc = _kc(fc, tmp_path)
    assert run_cli(["enable"] + FAST, kubeconfig=kc).exit_code == 0
    for kind, name in (("MachineConfig", MC_NAME), ("RuntimeClass", "kata")):
        obj = fc.store.get(kind, name)
        del obj["metadata"]["annotations"]["kubectl-kata.io/revision"]
        fc.store.update(obj)
    assert fc.mco.wait_idle(10)
    fc.reset_requests()
    res = run_cli(["upgrade", "--yes"] + FAST, kubeconfig=kc)
    assert res.exit_code == 0, res.stderr
    assert writes(fc) == [("PATCH", MC_PATH + "/" + MC_NAME), ("PATCH", "/apis/node.k8s.io/v1/runtimeclasses/kata")]
    for kind, name in (("MachineConfig", MC_NAME), ("RuntimeClass", "kata")):
        assert fc.store.get(kind, name)["metadata"]["annotations"]["kubectl-kata.io/revision"] == "2"


def test_crd_only_cluster_enable_warns_and_goes_on(make_fake_cluster, tmp_path):
    fc = make_fake_cluster(workers=2)
    fc.install_operator()          # the KataConfig API is served, no KataConfig, no operator namespace
    kc = _kc(fc, tmp_path)
    res = run_cli(["upgrade", "--yes"], kubeconfig=kc)
    assert res.exit_code == 0 and "Nothing to do." in res.stdout
    assert "CRD kataconfigs.kataconfiguration.openshift.io" in res.stdout
    res = run_cli(["enable"] + FAST, kubeconfig=kc)
    assert res.exit_code == 0, res.stderr
    assert "warning: left-overs of an uninstalled sandboxed containers operator" in res.stderr
    assert fc.store.get("RuntimeClass", "kata") is not None
    doc = json.loads(run_cli(["status", "-o", "json"], kubeconfig=kc).stdout)
    assert doc["install"]["kind"] == "plugin" and doc["install"]["leftovers"]


def test_mixed_legacy_cluster_with_our_mc_finishes_the_migration(make_fake_cluster, tmp_path, fake_oc):
    fc = make_fake_cluster(ocp_version="4.10.3", masters=1, workers=2, legacy="4.6")
    fake_oc.configure(default={"scenario": "not-enabled", "release": "4.10"})
    kc = _kc(fc, tmp_path)
    from kubectl_kata.core import objects
    fc.store.create(objects.machine_config("worker"))   # e.g. someone ran an older enable next to the legacy install
    fc.reset_requests()
    res = run_cli(["upgrade", "--yes"] + FAST, kubeconfig=kc, environ=_oc_env(fake_oc))
    assert res.exit_code == 0, res.stderr
    # a migration in progress is still a legacy install: its nodes are inspected first
    assert ("POST", MC_PATH) not in split_inspection(writes(fc))
    assert fake_oc.count("oc", "debug") == 2 and fake_oc.live_pods() == []
    _assert_migrated(fc, "kata-operator")


@pytest.mark.parametrize("method,path_re,failed_step", [
    ("POST", r"/machineconfigs$", ("POST", MC_PATH)),
    ("DELETE", r"/namespaces/kata-operator$", ("DELETE", "/api/v1/namespaces/kata-operator")),
    ("DELETE", r"/machineconfigs/50-kata-crio-dropin$", ("DELETE", MC_PATH + "/50-kata-crio-dropin")),
    ("POST", r"/runtimeclasses$", ("POST", "/apis/node.k8s.io/v1/runtimeclasses")),
])
def test_failed_api_call_then_rerun_finishes(make_fake_cluster, tmp_path, method, path_re, failed_step):
    fc = make_fake_cluster(ocp_version="4.10.3", masters=1, workers=2, legacy="4.6")
    kc = _kc(fc, tmp_path)
    fc.fail_next(method, path_re, 403, message="injected refusal")
    fc.reset_requests()
    res = run_cli(["upgrade", "--yes", "--no-inspect-nodes"] + FAST, kubeconfig=kc)
    assert res.exit_code == ExitStatus.CLUSTER_ERROR, res.stderr
    assert "Traceback" not in res.stderr
    first = writes(fc)
    assert first == LEGACY_46_WRITES[:LEGACY_46_WRITES.index(failed_step) + 1]
    fc.reset_requests()
    res = run_cli(["upgrade", "--yes", "--no-inspect-nodes"] + FAST, kubeconfig=kc)
    assert res.exit_code == 0, res.stderr
    # the second run does exactly what the first left undone
    assert writes(fc) == LEGACY_46_WRITES[LEGACY_46_WRITES.index(failed_step):]
    _assert_migrated(fc, "kata-operator")


def test_sigint_in_the_rollout_then_rerun_creates_the_runtimeclass(make_fake_cluster, tmp_path, fake_oc):
    fc = make_fake_cluster(ocp_version="4.10.3", masters=1, workers=3, legacy="4.6")
    fake_oc.configure(default={"scenario": "not-enabled", "release": "4.10"})   # on PATH for the subprocess
    fc.mco.step_delay = 0.5
    kc = _kc(fc, tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "kubectl_kata", "upgrade", "--yes", "--timeout", "60s"],
                            cwd=ROOT, env=dict(os.environ, KUBECONFIG=kc, PYTHONPATH=ROOT),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and fc.store.get("MachineConfig", "50-kata-crio-dropin") is not None:
            time.sleep(0.05)
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, (out, err)
    assert "Run `kubectl kata upgrade` again to finish the job." in err and "Traceback" not in err
    assert fake_oc.count("oc", "debug") == 3 and fake_oc.live_pods() == []
    assert fc.store.get("RuntimeClass", "kata") is None      # not created before the rollout finished
    fc.mco.step_delay = 0.02
    fc.reset_requests()
    res = run_cli(["upgrade", "--yes"] + FAST, kubeconfig=kc)
    assert res.exit_code == 0, res.stderr
    assert writes(fc) == [("POST", "/apis/node.k8s.io/v1/runtimeclasses")]
    _assert_migrated(fc, "kata-operator")


def test_nothing_installed_has_nothing_to_do(make_fake_cluster, tmp_path):
    fc = make_fake_cluster(workers=2, mco=False)
    kc = _kc(fc, tmp_path)
    fc.reset_requests()
    res = run_cli(["upgrade", "-o", "json"], kubeconfig=kc)
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["install"]["kind"] == "none" and doc["nothingToDo"] is True and doc["actions"] == []
    assert writes(fc) == []
    # facts are read once: list calls and discovery only, independent of the node count
    assert all(r["method"] == "GET" for r in fc.requests) and len(fc.requests) <= 16


def test_paused_pool_stops_before_following_and_a_rerun_finishes(make_fake_cluster, tmp_path, fake_oc):
    fc = make_fake_cluster(ocp_version="4.10.3", masters=1, workers=2, legacy="4.6")
    fake_oc.configure(default={"scenario": "not-enabled", "release": "4.10"})
    kc = _kc(fc, tmp_path)
    pool = fc.store.get("MachineConfigPool", "worker")
    pool["spec"]["paused"] = True
    fc.store.update(pool)
    res = run_cli(["upgrade", "--yes"] + FAST, kubeconfig=kc, environ=_oc_env(fake_oc))
    assert res.exit_code == 0, res.stderr
    assert "Pool worker is paused: nothing rolls out until it is unpaused" in res.stdout
    assert fc.store.get("MachineConfig", MC_NAME) is not None and fc.store.get("RuntimeClass", "kata") is None
    pool = fc.store.get("MachineConfigPool", "worker")
    pool["spec"]["paused"] = False
    fc.store.update(pool)
    fc.reset_requests()
    res = run_cli(["upgrade", "--yes"] + FAST, kubeconfig=kc)
    assert res.exit_code == 0, res.stderr
    assert writes(fc) == [("POST", "/apis/node.k8s.io/v1/runtimeclasses")]
    _assert_migrated(fc, "kata-operator")
