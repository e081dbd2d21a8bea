"""doctor through the DaemonSet collector, end to end: the real CLI + real kubernetes client against the fake API
server with its DaemonSet controller (tests/fakeapi/daemonset.py); node data from the same scenario.json as the
fake `oc` (tests/fakebin/README.md, tests/nodesim). Every scenario the oc e2e tests (tests/test_doctor_e2e.py) run
through `oc` runs here through both collectors, and the reports must agree: identical documents apart from the
`collector` field when every node answers, the same findings (subject, check, severity, reason) otherwise."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import _thread

import pytest
import yaml

from kubectl_kata.status import ExitStatus
from tests.clirunner import run_cli
from tests.enabled import enabled_cluster
from tests.fakeapi.daemonset import install_daemonsets

WORKERS = ["worker-0", "worker-1", "worker-2"]
KUBECTL = "/usr/bin/kubectl"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """OCP 4.16.3, 3 workers, kata enabled on `worker`; DaemonSets served and run (pod start 0.05 s)."""
    fc = enabled_cluster(tmp_path_factory.mktemp("kc") / "kubeconfig")
    install_daemonsets(fc, start_latency_s=0.05)
    yield fc
    fc.daemonsets.stop()
    fc.stop()


def doctor(cluster, fake_oc, *args, nodes=None, images=None, default=None):
    if images is None:
        images = {cluster.ext_image: {"release": "4.16", "arch": "x86_64"}}
    fake_oc.configure(nodes=nodes or {}, images=images, default=default)
    env = {"FAKE_OC_SCENARIO_DIR": fake_oc.scenario_dir, "FAKE_OC_STATE_DIR": fake_oc.state_dir}
    return run_cli(["doctor"] + list(args), kubeconfig=cluster.kc, environ=env)


def report(cluster, fake_oc, *args, **kw):
    res = doctor(cluster, fake_oc, "-o", "json", *args, **kw)
    assert res.exit_code in (0, 1), res.stderr
    return res, json.loads(res.stdout)


def problems(doc):
    return {(f["subject"], f["checkId"], f["severity"], (f.get("details") or {}).get("reason"))
            for f in doc["findings"] if f["severity"] in ("error", "warning")}


def assert_clean(cluster):
    # the namespace's DELETE answers at once (Terminating); the namespace controller empties and removes it
    assert cluster.api.namespaces.wait_idle()
    cluster.daemonsets.wait_idle()
    assert cluster.store.list("DaemonSet") == []
    assert not [p for p in cluster.store.list("Pod") if p["metadata"]["namespace"].startswith("kata-doctor-")]
    assert not [n for n in cluster.store.list("Namespace") if n["metadata"]["name"].startswith("kata-doctor-")]


def both(cluster, fake_oc, *args, **kw):
    """The same run via oc and via the DaemonSet: (oc result, oc doc, ds result, ds doc)."""
    r_oc, d_oc = report(cluster, fake_oc, "--via", "oc", *args, **kw)
    cluster.reset_requests()
    r_ds, d_ds = report(cluster, fake_oc, "--via", "daemonset", *args, **kw)
    assert_clean(cluster)
    assert fake_oc.live_pods() == []
    assert d_oc["collector"] == {"name": "oc", "reason": "--via oc"}
    assert d_ds["collector"] == {"name": "daemonset", "reason": "--via daemonset"}
    assert r_oc.exit_code == r_ds.exit_code
    return r_oc, d_oc, r_ds, d_ds


def without_collector(doc):
    return {k: v for k, v in doc.items() if k != "collector"}


SCENARIOS = [
    ("healthy", {}),
    ("legacy-leftovers", {"worker-1": {"scenario": "legacy-leftovers"}}),
    ("no-kvm", {"worker-1": {"scenario": "no-kvm"}}),
    ("modified-binary", {"worker-1": {"scenario": "modified-binary"}}),
    ("staged-pending", {"worker-1": {"scenario": "staged-pending"}}),
    ("closure-and-skew", {"worker-1": {"scenario": "closure-missing"}, "worker-2": {"scenario": "version-skew"}}),
    ("not-enabled", {"worker-0": {"scenario": "not-enabled"}}),
    ("noise", {"worker-2": {"behaviour": "noise"}}),
]


@pytest.mark.parametrize("name,nodes", SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_daemonset_report_is_the_oc_report(cluster, fake_oc, name, nodes):
    _, d_oc, _, d_ds = both(cluster, fake_oc, nodes=nodes)
    assert without_collector(d_ds) == without_collector(d_oc)
    # one list and one watch of pods, one log GET per node, nothing else per node
    reqs = [r for r in cluster.requests if "/pods" in r["path"]]
    assert len([r for r in reqs if r["path"].endswith("/log")]) == 3
    assert sorted((r["method"], r["query"].get("watch", "")) for r in reqs if not r["path"].endswith("/log")) \
        == [("GET", ""), ("GET", "true")]


def test_consensus_and_missing_kata_agree(cluster, fake_oc):
    _, d_oc, _, d_ds = both(cluster, fake_oc, images={}, nodes={"worker-0": {"scenario": "version-skew"}})
    assert d_ds["expected"]["source"] == "consensus" and without_collector(d_ds) == without_collector(d_oc)
    images = {cluster.ext_image: {"release": "4.16", "arch": "x86_64", "without": ["kata-containers"]}}
    _, d_oc, _, d_ds = both(cluster, fake_oc, images=images)
    assert without_collector(d_ds) == without_collector(d_oc)


def test_unreachable_nodes_same_findings_and_the_real_cause(cluster, fake_oc):
    nodes = {"worker-0": {"behaviour": "imagepullbackoff"}, "worker-1": {"behaviour": "hang"},
             "worker-2": {"behaviour": "remote-fail"}}
    started = time.monotonic()
    _, d_oc, r_ds, d_ds = both(cluster, fake_oc, "--node-timeout", "2s", "--image", "mirror.local/tools:1",
                               nodes=nodes)
    assert problems(d_ds) == problems(d_oc) == {
        ("worker-0", "node.probe", "error", "image-pull"), ("worker-1", "node.probe", "error", "timeout"),
        ("worker-2", "node.probe", "error", "exit-code"), ("worker-2", "node.collection", "warning", None)}
    assert time.monotonic() - started < 30
    by = {f["subject"]: f for f in d_ds["findings"] if f["checkId"] == "node.probe"}
    assert "mirror.local/tools:1" in by["worker-0"]["message"] and "ImagePullBackOff" in by["worker-0"]["message"]
    assert d_ds["summary"] == d_oc["summary"] and d_ds["nodes"] == d_oc["nodes"]


def test_unschedulable_pod_names_the_scheduler_message(cluster, fake_oc):
    res, doc = report(cluster, fake_oc, "--via", "daemonset", "--node-timeout", "1s",
                      nodes={"worker-2": {"behaviour": "unschedulable"}})
    assert problems(doc) == {("worker-2", "node.probe", "error", "scheduling")}
    f = [f for f in doc["findings"] if f["checkId"] == "node.probe"][0]
    assert "0/6 nodes are available: 1 Insufficient memory" in f["message"]
    assert_clean(cluster)


def test_not_ready_node_is_left_out_of_the_daemonset(cluster, fake_oc):
    node = cluster.store.get("Node", "worker-2")
    saved = json.loads(json.dumps(node))
    for c in node["status"]["conditions"]:
        if c["type"] == "Ready":
            c["status"], c["reason"] = "Unknown", "NodeStatusUnknown"
    cluster.store.update(node)
    try:
        cluster.reset_requests()
        res, doc = report(cluster, fake_oc, "--via", "daemonset")
    finally:
        cur = cluster.store.get("Node", "worker-2")
        cur["status"] = saved["status"]
        cluster.store.update(cur)
        cluster.mco.wait_idle()
    assert ("worker-2", "node.probe", "warning", "not-ready") in problems(doc)
    [ds] = [r["body"] for r in cluster.requests if r["method"] == "POST" and r["path"].endswith("/daemonsets")]
    terms = ds["spec"]["template"]["spec"]["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms == [{"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In",
                                            "values": ["worker-0", "worker-1"]}]}]
    assert len([r for r in cluster.requests if r["path"].endswith("/log")]) == 2
    assert_clean(cluster)


def test_whole_pool_uses_the_pool_node_selector_and_selector_scope_pins_hostnames(cluster, fake_oc):
    cluster.reset_requests()
    report(cluster, fake_oc, "--via", "daemonset")
    [ds] = [r["body"] for r in cluster.requests if r["method"] == "POST" and r["path"].endswith("/daemonsets")]
    spec = ds["spec"]["template"]["spec"]
    assert spec["nodeSelector"] == {"node-role.kubernetes.io/worker": ""} and "affinity" not in spec
    cluster.reset_requests()
    res, doc = report(cluster, fake_oc, "--via", "daemonset", "--selector",
                      "kubernetes.io/hostname in (worker-0,worker-2)")
    assert doc["scope"]["nodes"] == ["worker-0", "worker-2"]
    [ds] = [r["body"] for r in cluster.requests if r["method"] == "POST" and r["path"].endswith("/daemonsets")]
    assert ds["spec"]["template"]["spec"]["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]["matchExpressions"][0][
        "values"] == ["worker-0", "worker-2"]
    assert len([r for r in cluster.requests if r["path"].endswith("/log")]) == 2
    assert_clean(cluster)


def test_bundle_round_trip_and_table_output(cluster, fake_oc, tmp_path):
    path = tmp_path / "b.tar.gz"
    res, live = report(cluster, fake_oc, "--via", "daemonset", "--bundle", str(path),
                       nodes={"worker-1": {"scenario": "version-skew"}, "worker-2": {"behaviour": "remote-fail"}})
    offline = run_cli(["doctor", "--from", str(path), "-o", "json"], environ={"PATH": ""})
    assert offline.exit_code == res.exit_code == 1, offline.stderr
    assert json.loads(offline.stdout) == live
    assert live["collector"]["name"] == "daemonset"
    # the cluster facts went into the bundle while the nodes were probed: once, and the run's own
    import tarfile
    with tarfile.open(path) as tf:
        names = tf.getnames()
        facts = json.load(tf.extractfile("kata-doctor-bundle/cluster/facts.json"))
    assert names.count("kata-doctor-bundle/cluster/facts.json") == 1
    assert sorted(n["metadata"]["name"] for n in facts["nodes"]) == sorted(
        o["metadata"]["name"] for o in cluster.store.list("Node"))
    table = doctor(cluster, fake_oc, "--via", "daemonset", "-o", "wide", nodes={"worker-1": {"scenario": "no-kvm"}})
    assert table.exit_code == 1 and "node.dev-kvm" in table.stdout
    assert_clean(cluster)


# --------------------------------------------------------------------------- cleanup on every way out

def test_cleanup_when_a_node_times_out(cluster, fake_oc):
    res, doc = report(cluster, fake_oc, "--via", "daemonset", "--node-timeout", "1s",
                      nodes={n: {"behaviour": "hang"} for n in WORKERS})
    assert {r for (_, _, _, r) in problems(doc)} == {"timeout"}
    assert_clean(cluster)


def test_cleanup_when_the_daemonset_cannot_be_created(cluster, fake_oc):
    cluster.fail_next("POST", r"/daemonsets$", 500)
    res = doctor(cluster, fake_oc, "--via", "daemonset")
    assert res.exit_code == ExitStatus.CLUSTER_ERROR and "server error 500" in res.stderr
    assert_clean(cluster)


def test_pods_refused_by_admission_are_named_with_the_controllers_words_and_exit_3(cluster, fake_oc):
    # a policy refuses every collector pod: the DaemonSet exists but no pod ever does; doctor says why (from the
    # DaemonSet's FailedCreate event) instead of a bare timeout, and that is "doctor cannot work here" (exit 3)
    cluster.reset_requests()
    res = doctor(cluster, fake_oc, "--via", "daemonset", "--node-timeout", "3s", "-o", "json",
                 nodes={n: {"behaviour": "pod-refused"} for n in WORKERS})
    assert res.exit_code == ExitStatus.CLUSTER_ERROR, res.stderr
    doc = json.loads(res.stdout)
    probe = [f for f in doc["findings"] if f["checkId"] == "node.probe"]
    assert sorted(f["subject"] for f in probe) == WORKERS
    for f in probe:
        assert f["details"]["reason"] == "pod-refused" and "FailedCreate" in f["message"]
        assert "is forbidden: unable to validate against any security context constraint" in f["message"]
        assert "exempt the kata-doctor-* namespaces" in f["hint"]
    assert len([r for r in cluster.requests if r["path"].endswith("/events")]) == 1
    assert_clean(cluster)


def test_cleanup_when_forbidden_to_create_daemonsets(cluster, fake_oc):
    cluster.forbid("create", "daemonsets")
    try:
        res = doctor(cluster, fake_oc, "--via", "daemonset")
    finally:
        cluster.clear_faults()
    assert res.exit_code == ExitStatus.CLUSTER_ERROR and "forbidden" in res.stderr
    assert_clean(cluster)


def test_cleanup_when_the_analysis_fails(cluster, fake_oc, monkeypatch):
    import kubectl_kata.services.doctor as service

    def broken(col):
        raise RuntimeError("analysis bug")

    monkeypatch.setattr(service, "analyse", broken)
    res = doctor(cluster, fake_oc, "--via", "daemonset")
    assert res.exit_code != 0 and "analysis bug" in res.stderr
    assert_clean(cluster)


def test_ctrl_c_removes_the_daemonset_and_namespace_and_prints_the_partial_report(cluster, fake_oc):
    timer = threading.Timer(1.5, _thread.interrupt_main)
    timer.start()
    try:
        res = doctor(cluster, fake_oc, "--via", "daemonset", "-o", "json",
                     nodes={"worker-0": {"scenario": "no-kvm"}, "worker-1": {"behaviour": "hang"},
                            "worker-2": {"behaviour": "hang"}})
    finally:
        timer.cancel()
    assert res.exit_code == ExitStatus.INTERRUPTED
    doc = json.loads(res.stdout)
    assert doc["interrupted"] == {"nodes": ["worker-1", "worker-2"], "finished": 1, "total": 3}
    assert ("worker-0", "node.dev-kvm", "error", None) in problems(doc)
    assert_clean(cluster)


def test_sigterm_removes_the_daemonset_and_namespace(cluster, fake_oc, tmp_path):
    fake_oc.configure(nodes={n: {"behaviour": "hang"} for n in WORKERS},
                      images={cluster.ext_image: {"release": "4.16", "arch": "x86_64"}})
    env = dict(os.environ, KUBECONFIG=cluster.kc, PYTHONPATH=ROOT, FAKE_OC_SCENARIO_DIR=fake_oc.scenario_dir,
               FAKE_OC_STATE_DIR=fake_oc.state_dir)
    proc = subprocess.Popen([sys.executable, "-m", "kubectl_kata", "doctor", "--via", "daemonset", "-o", "json"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=str(tmp_path))
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            pods = [p for p in cluster.store.list("Pod") if p["metadata"]["namespace"].startswith("kata-doctor-")
                    and (p.get("status") or {}).get("phase") == "Running"]
            if len(pods) == 3:
                break
            time.sleep(0.05)
        assert len(pods) == 3, "the DaemonSet's pods never ran"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM, err.decode()       # the CLI: 128 + signal number
    assert "Debug pods and namespace removed" in err.decode()
    assert_clean(cluster)


# --------------------------------------------------------------------------- --via auto

def _run_auto(fc, kc, fake_oc, *args):
    fake_oc.configure(nodes={}, images={})
    env = {"FAKE_OC_SCENARIO_DIR": fake_oc.scenario_dir, "FAKE_OC_STATE_DIR": fake_oc.state_dir}
    res = run_cli(["doctor", "-o", "json"] + list(args), kubeconfig=kc, environ=env)
    assert res.exit_code in (0, 1), res.stderr
    return json.loads(res.stdout)


def test_auto_picks_the_daemonset_above_20_nodes_when_allowed(make_fake_cluster, fake_oc, tmp_path):
    fc = make_fake_cluster(workers=21, mco=False)
    ctl = install_daemonsets(fc)
    kc = str(fc.write_kubeconfig(tmp_path / "kubeconfig"))
    try:
        doc = _run_auto(fc, kc, fake_oc)
        assert doc["collector"]["name"] == "daemonset" and "21 nodes to probe" in doc["collector"]["reason"]
        assert fake_oc.count("oc", "debug") == 0 and len(doc["nodes"]) == 21
        assert {(r["verb"], r["resource"]) for r in ctl.reviews} == {
            ("create", "daemonsets"), ("create", "rolebindings"), ("use", "securitycontextconstraints")}
        # not allowed to use the privileged SCC: oc, and the report says why
        ctl.policy = lambda a: a.get("resource") != "securitycontextconstraints"
        doc = _run_auto(fc, kc, fake_oc)
        assert doc["collector"]["name"] == "oc"
        assert "denies: use securitycontextconstraints.security.openshift.io/privileged" in \
            doc["collector"]["reason"]
        assert fake_oc.count("oc", "debug") == 21
        # 20 nodes or fewer: oc without asking
        ctl.reviews.clear()
        doc = _run_auto(fc, kc, fake_oc, "--selector",
                        "node-role.kubernetes.io/worker,kubernetes.io/hostname notin (worker-0)")
        assert doc["collector"] == {"name": "oc", "reason": "auto: 20 node(s) to probe (the DaemonSet is used "
                                                             "for more than 20)"}
        assert ctl.reviews == []
    finally:
        ctl.stop()


# --------------------------------------------------------------------------- the real kubectl checks our objects

def test_real_kubectl_accepts_the_objects_and_shows_the_daemonset(cluster, tmp_path):
    import shutil

    from kubectl_kata.probe.daemonset import build_objects, placement
    from kubectl_kata.probe.script import build_script
    from kubectl_kata.services.doctor.collect import _namespace_object

    assert shutil.which(KUBECTL), "the real kubectl is part of this test environment"
    ns = "kata-doctor-kctl1"
    where = placement(WORKERS, {"matchLabels": {"node-role.kubernetes.io/worker": ""}},
                      {n["metadata"]["name"]: n["metadata"]["labels"] for n in cluster.store.list("Node")})
    objs = build_objects("kata-doctor", ns, "registry.example/tools:1", build_script("abcdefgh12345678"), where,
                         "abcdefgh1234")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "KUBECONFIG": cluster.kc}
    base = [KUBECTL, "--cache-dir", str(tmp_path / "cache"), "--request-timeout", "10s"]

    def kubectl(*args):
        proc = subprocess.run(base + list(args), env=env, capture_output=True, text=True, timeout=30)
        assert proc.returncode == 0, "kubectl %s: %s%s" % (" ".join(args), proc.stdout, proc.stderr)
        return proc.stdout

    nsfile = tmp_path / "ns.yaml"
    nsfile.write_text(yaml.safe_dump(_namespace_object(ns)))
    kubectl("apply", "--dry-run=server", "-f", str(nsfile))
    kubectl("create", "-f", str(nsfile))
    try:
        f = tmp_path / "objs.yaml"
        f.write_text(yaml.safe_dump_all(objs))
        out = kubectl("apply", "--dry-run=server", "-f", str(f))
        assert "daemonset.apps/kata-doctor created (server dry run)" in out
        assert cluster.store.list("DaemonSet", ns) == []
        kubectl("create", "-f", str(f))
        cluster.daemonsets.wait_idle()
        wide = kubectl("get", "ds", "-o", "wide", "-n", ns)
        header, row = wide.splitlines()[:2]
        assert header.split()[:6] == ["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE"]
        assert row.split()[:7] == ["kata-doctor", "3", "3", "3", "3", "3", "node-role.kubernetes.io/worker="]
        assert "registry.example/tools:1" in row
        pods = kubectl("get", "pods", "-o", "wide", "-n", ns, "-l", "kata-doctor.kubectl-kata.io/run=abcdefgh1234")
        assert sorted(line.split()[6] for line in pods.splitlines()[1:]) == WORKERS
        # a DaemonSet whose selector does not match its template is refused, as by the real apiserver
        bad = json.loads(json.dumps(objs[-1]))
        bad["metadata"]["name"] = "bad"
        bad["spec"]["selector"]["matchLabels"] = {"other": "x"}
        (tmp_path / "bad.yaml").write_text(yaml.safe_dump(bad))
        proc = subprocess.run(base + ["apply", "--dry-run=server", "-f", str(tmp_path / "bad.yaml")], env=env,
                              capture_output=True, text=True, timeout=30)
        assert proc.returncode != 0 and "`selector` does not match template `labels`" in proc.stderr
    finally:
        kubectl("delete", "namespace", ns, "--wait=false")
    assert_clean(cluster)
