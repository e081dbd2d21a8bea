"""doctor end to end: the real CLI + real kubernetes client against the fake API server (tests/fakeapi) and the
fake `oc`/`kubectl` on PATH (tests/fakebin, node data from tests/nodesim). Each scenario asserts the exact set of
problem findings (check id, subject, severity)."""
from __future__ import annotations

import json
import threading
import _thread

import pytest
import yaml

from kubectl_kata.status import ExitStatus
from tests import nodesim
from tests.clirunner import run_cli
from tests.enabled import enabled_cluster

WORKERS = ["worker-0", "worker-1", "worker-2"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """OCP 4.16.3, 3 workers, kata enabled on `worker` by `kubectl kata enable`; the release OS image is the
    one nodesim's nodes boot (so node.os-image can pass)."""
    fc = enabled_cluster(tmp_path_factory.mktemp("kc") / "kubeconfig")
    yield fc
    fc.stop()


def doctor(cluster, fake_oc, *args, nodes=None, images=None, default=None):
    if images is None:
        images = {cluster.ext_image: {"release": "4.16", "arch": "x86_64"}}
    fake_oc.configure(nodes=nodes or {}, images=images, default=default)
    env = {"FAKE_OC_SCENARIO_DIR": fake_oc.scenario_dir, "FAKE_OC_STATE_DIR": fake_oc.state_dir}
    res = run_cli(["doctor"] + list(args), kubeconfig=cluster.kc, environ=env)
    return res


def report(cluster, fake_oc, *args, **kw):
    res = doctor(cluster, fake_oc, "-o", "json", *args, **kw)
    assert res.exit_code in (0, 1), res.stderr
    return res, json.loads(res.stdout)


def problems(doc):
    return {(f["subject"], f["checkId"], f["severity"]) for f in doc["findings"] if f["severity"] in ("error", "warning")}


def assert_clean(cluster, fake_oc):
    assert fake_oc.live_pods() == []
    assert cluster.api.namespaces.wait_idle()       # a deleted namespace is Terminating until its controller ran
    assert not [n for n in cluster.store.list("Namespace") if n["metadata"]["name"].startswith("kata-doctor-")]
    assert not fake_oc.events("namespace-create")   # oc never made its own temporary namespaces


def test_healthy_pool(cluster, fake_oc):
    cluster.reset_requests()
    res, doc = report(cluster, fake_oc)
    assert res.exit_code == ExitStatus.SUCCESS
    assert problems(doc) == set()
    assert doc["healthy"] is True and doc["rollup"] == "3 nodes OK"
    assert doc["scope"] == {"pool": "worker", "nodes": WORKERS, "selector": None}
    assert doc["expected"]["source"] == "release" and doc["expected"]["image"] == cluster.ext_image
    assert doc["expected"]["packages"]["x86_64"]["kata-containers"] == "kata-containers-3.7.0-2.rhaos4.16.el9.x86_64"
    # one oc debug per node, into the run's namespace, and nothing left behind
    debug = fake_oc.invocations("oc", "debug")
    assert sorted(a["argv"][a["argv"].index("debug") + 1] for a in debug) == ["node/" + n for n in WORKERS]
    ns = {a for inv in debug for a in inv["argv"] if a.startswith("--to-namespace=")}
    assert len(ns) == 1 and ns.pop().startswith("--to-namespace=kata-doctor-")
    assert fake_oc.count("oc", "extract") == 1
    posts = [r for r in cluster.requests if r["method"] == "POST" and r["path"].endswith("/namespaces")]
    deletes = [r for r in cluster.requests if r["method"] == "DELETE" and "/namespaces/kata-doctor-" in r["path"]]
    assert len(posts) == 1 and len(deletes) == 1
    assert_clean(cluster, fake_oc)
    table = doctor(cluster, fake_oc)
    assert table.exit_code == 0
    assert "No problems found." in table.stdout and "Nodes: 3 nodes OK" in table.stdout


@pytest.mark.parametrize("scenario,expected", [
    ("legacy-leftovers", {("worker-1", "node.legacy-leftovers", "warning"), ("worker-1", "node.crio-dropin", "error")}),
    ("no-kvm", {("worker-1", "node.dev-kvm", "error")}),
    ("modified-binary", {("worker-1", "node.rpm-verify", "error")}),
    ("staged-pending", {("worker-1", "node.staged-deployment", "warning")}),
])
def test_node_scenarios(cluster, fake_oc, scenario, expected):
    res, doc = report(cluster, fake_oc, nodes={"worker-1": {"scenario": scenario}})
    assert res.exit_code == ExitStatus.PROBLEMS_FOUND
    assert problems(doc) == expected
    assert doc["rollup"].startswith("2 nodes OK, 1 differs: worker-1 (")
    assert_clean(cluster, fake_oc)


def test_closure_missing_and_version_skew_against_release(cluster, fake_oc):
    res, doc = report(cluster, fake_oc, nodes={"worker-1": {"scenario": "closure-missing"},
                                               "worker-2": {"scenario": "version-skew"}})
    assert res.exit_code == 1
    assert problems(doc) == {("worker-1", "node.closure-complete", "error"),
                             ("worker-1", "node.package-version", "error"),
                             ("worker-2", "node.package-version", "error")}
    skew = sorted(f["details"]["package"] for f in doc["findings"]
                  if f["subject"] == "worker-2" and f["checkId"] == "node.package-version")
    assert skew == ["qemu-kvm-common", "qemu-kvm-core"]
    assert all(f["details"]["direction"] == "older" for f in doc["findings"]
               if f["subject"] == "worker-2" and f["checkId"] == "node.package-version")


def test_kata_absent_from_extensions_repo_for_arch(cluster, fake_oc):
    images = {cluster.ext_image: {"release": "4.16", "arch": "x86_64", "without": ["kata-containers"]}}
    res, doc = report(cluster, fake_oc, images=images)
    assert res.exit_code == 1
    assert problems(doc) == {("cluster", "cluster.extension-available", "error")}
    f = [f for f in doc["findings"] if f["checkId"] == "cluster.extension-available"][0]
    assert f["details"] == {"arch": "x86_64", "nodes": WORKERS}
    assert "not in the extensions repo for x86_64" in f["message"]


def test_unreachable_nodes_are_reported_and_the_rest_still_comes_out(cluster, fake_oc):
    res, doc = report(cluster, fake_oc, "--node-timeout", "1s",
                      nodes={"worker-0": {"behaviour": "imagepullbackoff", "image": "mirror.local/tools:1"},
                             "worker-1": {"behaviour": "hang"}})
    assert res.exit_code == ExitStatus.PROBLEMS_FOUND
    assert problems(doc) == {("worker-0", "node.probe", "error"), ("worker-1", "node.probe", "error")}
    by = {f["subject"]: f for f in doc["findings"] if f["checkId"] == "node.probe"}
    assert by["worker-0"]["details"]["reason"] == "image-pull"
    assert "mirror.local/tools:1" in by["worker-0"]["message"]
    assert by["worker-1"]["details"]["reason"] == "timeout"
    assert [n["status"] for n in doc["nodes"]] == ["unreachable", "unreachable", "ok"]
    assert doc["summary"]["nodes"] == {"total": 3, "ok": 1, "problems": 0, "unreachable": 2}
    assert fake_oc.count("oc", "debug") == 3
    assert_clean(cluster, fake_oc)


def test_mixed_pool_consensus_finds_the_outlier(cluster, fake_oc):
    # the extensions image cannot be read (disconnected): doctor falls back to the pool majority
    res, doc = report(cluster, fake_oc, images={}, nodes={"worker-0": {"scenario": "version-skew"}})
    assert res.exit_code == 1
    assert doc["expected"]["source"] == "consensus"
    assert "manifest unknown" in doc["expected"]["notes"][0]
    assert problems(doc) == {("worker-0", "node.package-version", "error")}
    assert doc["expected"]["packages"]["x86_64"]["qemu-kvm-core"] == "qemu-kvm-core-17:8.2.0-11.el9_4.x86_64"
    src = [f for f in doc["findings"] if f["checkId"] == "cluster.expected-source"][0]
    assert src["severity"] == "info" and "consensus" in src["message"]


def test_via_kubectl(cluster, fake_oc):
    res, doc = report(cluster, fake_oc, "--via", "kubectl", "--image", "registry.example/support-tools:1")
    assert res.exit_code == 0, res.stderr
    assert problems(doc) == set()
    assert fake_oc.count("kubectl", "debug") == 3 and fake_oc.count("oc", "debug") == 0
    assert {e["image"] for e in fake_oc.events("pod-create")} == {"registry.example/support-tools:1"}
    assert_clean(cluster, fake_oc)


def test_ctrl_c_cleans_up_pods_and_namespace(cluster, fake_oc):
    timer = threading.Timer(1.5, _thread.interrupt_main)
    timer.start()
    try:
        res = doctor(cluster, fake_oc, nodes={n: {"behaviour": "hang"} for n in WORKERS})
    finally:
        timer.cancel()
    assert res.exit_code == ExitStatus.INTERRUPTED
    assert fake_oc.count("oc", "debug") == 3
    assert_clean(cluster, fake_oc)


def test_not_ready_node_is_reported_without_probing(cluster, fake_oc):
    node = cluster.store.get("Node", "worker-2")
    saved = json.loads(json.dumps(node))
    for c in node["status"]["conditions"]:
        if c["type"] == "Ready":
            c["status"], c["reason"] = "Unknown", "NodeStatusUnknown"
    cluster.store.update(node)
    try:
        res, doc = report(cluster, fake_oc)
    finally:
        cur = cluster.store.get("Node", "worker-2")
        cur["status"] = saved["status"]
        cluster.store.update(cur)
        cluster.mco.wait_idle()
    # the MCO counts the NotReady node as unavailable, so the pool is not "updated" either
    assert problems(doc) == {("worker-2", "node.probe", "warning"), ("cluster", "cluster.node-ready", "warning"),
                             ("cluster", "cluster.pool-status", "warning")}
    assert fake_oc.count("oc", "debug") == 2


@pytest.mark.parametrize("fmt", ["table", "wide", "json", "yaml"])
def test_every_option_in_every_format(cluster, fake_oc, fmt, tmp_path):
    res = doctor(cluster, fake_oc, "-o", fmt, "--node", "worker-1", "--parallel", "1", "--node-timeout", "30s",
                 "--bundle", str(tmp_path / "b.tar.gz"), nodes={"worker-1": {"scenario": "no-kvm"}})
    assert res.exit_code == 1, res.stderr
    if fmt == "json":
        assert json.loads(res.stdout)["scope"]["nodes"] == ["worker-1"]
    elif fmt == "yaml":
        assert yaml.safe_load(res.stdout)["scope"]["nodes"] == ["worker-1"]
    else:
        assert "worker-1" in res.stdout and "node.dev-kvm" in res.stdout
        assert "1 problem found (1 error, 0 warnings)." in res.stdout
    if fmt == "wide":
        assert "NODE" in res.stdout
    assert (tmp_path / "b.tar.gz").exists()
    assert fake_oc.count("oc", "debug") == 1


def test_selector_scope(cluster, fake_oc):
    res, doc = report(cluster, fake_oc, "--selector", "kubernetes.io/hostname in (worker-0,worker-2)")
    assert doc["scope"]["nodes"] == ["worker-0", "worker-2"]
    assert fake_oc.count("oc", "debug") == 2


@pytest.mark.parametrize("args,needle", [
    (["--node", "worker-0", "--selector", "a=b"], "mutually exclusive"),
    (["--node-timeout", "0"], "--node-timeout"),
    (["--parallel", "0"], "--parallel"),
    (["--node", "nope"], "node(s) not found: nope"),
    (["--pool", "nope"], "MachineConfigPool nope not found"),
    (["--image", "registry.example/support-tools:1 --privileged"], "is not an image reference"),
    (["--image=-o yaml"], "is not an image reference"),
    (["--image", "--help"], "is not an image reference"),
    (["--via", "kubectl", "--image", "img\tx"], "is not an image reference"),
])
def test_usage_errors(cluster, fake_oc, args, needle):
    cluster.reset_requests()
    res = doctor(cluster, fake_oc, *args)
    assert res.exit_code == ExitStatus.USAGE
    assert needle in res.stderr
    assert len(res.stderr.strip().splitlines()) <= 2 and "Traceback" not in res.stderr
    assert fake_oc.count("oc", "debug") == 0
    # refused before anything was created
    assert [r for r in cluster.requests if r["method"] in ("POST", "PUT", "PATCH", "DELETE")] == []


def test_forbidden_everywhere_means_doctor_could_not_run(cluster, fake_oc):
    res = doctor(cluster, fake_oc, nodes={n: {"behaviour": "forbidden"} for n in WORKERS})
    assert res.exit_code == ExitStatus.CLUSTER_ERROR
    assert "no node could be probed (forbidden)" in res.stderr
    assert "permission denied" in res.stdout
    assert_clean(cluster, fake_oc)


# --------------------------------------------------------------------------- bundles

def _bundle_bytes(path):
    """Every byte of the bundle: the compressed file and each decompressed member."""
    import tarfile

    blobs = [open(path, "rb").read()]
    with tarfile.open(path) as tar:
        for m in tar:
            blobs.append(m.name.encode())
            if m.isfile():
                blobs.append(tar.extractfile(m).read())
    return blobs


def test_bundle_round_trip_gives_the_same_report(cluster, fake_oc, tmp_path):
    path = tmp_path / "support.tar.gz"
    res, live = report(cluster, fake_oc, "--bundle", str(path),
                       nodes={"worker-1": {"scenario": "version-skew"}, "worker-2": {"behaviour": "remote-fail"}})
    assert "support bundle written to" in res.stderr
    offline = run_cli(["doctor", "--from", str(path), "-o", "json"], environ={"PATH": ""})
    assert offline.exit_code == res.exit_code == 1, offline.stderr
    assert json.loads(offline.stdout) == live
    # unpacked directory works too, and the layout is the documented one
    import tarfile

    with tarfile.open(path) as tar:
        names = set(tar.getnames())
        tar.extractall(tmp_path / "x")
    for member in ("manifest.json", "report.json", "cluster/facts.json", "expected/expectation.json",
                   "nodes/worker-0/probe.json", "nodes/worker-0/raw/rpm-ostree-status.stdout"):
        assert "kata-doctor-bundle/" + member in names
    manifest = json.loads((tmp_path / "x/kata-doctor-bundle/manifest.json").read_text())
    assert manifest["nodes"]["worker-2"]["ok"] is False and manifest["nodes"]["worker-0"]["ok"] is True
    assert manifest["pluginVersion"] and manifest["createdAt"].endswith("Z")
    again = run_cli(["doctor", "--from", str(tmp_path / "x/kata-doctor-bundle"), "-o", "json"])
    assert json.loads(again.stdout) == live
    # the bundle's expectation file is accepted by --expected
    exp = run_cli(["doctor", "--from", str(path), "--expected",
                   str(tmp_path / "x/kata-doctor-bundle/expected/expectation.json"), "-o", "json"])
    assert json.loads(exp.stdout)["expected"]["source"] == "file"
    assert problems(json.loads(exp.stdout)) == problems(live)


def test_bundle_and_output_never_contain_secrets(cluster, fake_oc, tmp_path):
    path = tmp_path / "b.tar.gz"
    res = doctor(cluster, fake_oc, "--bundle", str(path), "-v")
    assert res.exit_code == 0, res.stderr
    secrets = [s for s in cluster.secret_values() if s] + [cluster.token]
    # the pull secret was handed to `oc image extract` (from a temp file that is gone now)
    extract = fake_oc.invocations("oc", "extract")[0]["argv"]
    auth = [a.split("=", 1)[1] for a in extract if a.startswith("--registry-config=")]
    assert auth and not __import__("os").path.exists(auth[0])
    blobs = _bundle_bytes(str(path)) + [res.stdout.encode(), res.stderr.encode()]
    for secret in secrets:
        assert not any(secret.encode() in b for b in blobs), "secret leaked into the bundle/output"
    assert not any(b"BEGIN" in b and b"PRIVATE KEY" in b for b in blobs)
    assert not any(b"certificate-authority-data" in b or b"client-key-data" in b for b in blobs)


def test_each_node_is_parsed_once_even_with_the_consensus_fallback(cluster, fake_oc, monkeypatch):
    # the consensus fallback and analyse() share the NodeFacts parsed in the probe workers (every parse
    # of a node's raw outputs in doctor goes through kubectl_kata.doctor.model)
    import kubectl_kata.doctor.model as model

    parsed = []
    real = model.parse_node_facts

    def counting(raw):
        parsed.append(raw["uname-m"].stdout)
        return real(raw)

    monkeypatch.setattr(model, "parse_node_facts", counting)
    res, doc = report(cluster, fake_oc, images={}, nodes={"worker-0": {"scenario": "version-skew"}})
    assert doc["expected"]["source"] == "consensus"
    assert problems(doc) == {("worker-0", "node.package-version", "error")}
    assert len(parsed) == len(WORKERS)


def test_bundle_is_streamed_during_the_probes_and_removed_on_failure(cluster, fake_oc, tmp_path, monkeypatch):
    # node files go into the bundle as each probe ends; if the run then fails, no partial bundle remains
    import kubectl_kata.services.doctor as service

    def broken(col):
        raise RuntimeError("analysis bug")

    monkeypatch.setattr(service, "analyse", broken)
    out = tmp_path / "bundles"
    out.mkdir()
    res = doctor(cluster, fake_oc, "--bundle", str(out / "b.tar.gz"))
    assert res.exit_code != 0 and "analysis bug" in res.stderr
    assert list(out.iterdir()) == []
    assert_clean(cluster, fake_oc)


@pytest.mark.parametrize("via", ["oc", "kubectl"])
def test_connection_flags_reach_oc_and_kubectl(cluster, fake_oc, via):
    # the probes and `oc image extract` talk to the same cluster as the same identity as the API calls
    conn = ["--context", "fake", "--cluster", "fake", "--user", "fake", "--as", "system:admin",
            "--as-group", "system:masters", "--as-group", "system:authenticated"]
    extra = ["--via", via] + (["--image", "registry.example/support-tools:1"] if via == "kubectl" else [])
    cluster.reset_requests()
    res, doc = report(cluster, fake_oc, *(conn + extra))
    assert res.exit_code == 0, res.stderr
    assert problems(doc) == set()
    # the API calls impersonate the same user and every group (one Impersonate-Group header each)
    api = [r for r in cluster.requests if r["path"].startswith(("/api", "/apis"))]
    assert api and all(r["headers"].get("Impersonate-User") == "system:admin" and
                       r["headers"].get("Impersonate-Group") == ["system:masters", "system:authenticated"]
                       for r in api)
    # (the kubeconfig itself comes from $KUBECONFIG here, which oc/kubectl inherit)
    want = ["--context=fake", "--cluster=fake", "--user=fake", "--as=system:admin",
            "--as-group=system:masters", "--as-group=system:authenticated"]
    calls = fake_oc.invocations(via)
    assert len(calls) >= 3
    for inv in calls:                        # debug (oc) / debug, get, logs, delete (kubectl)
        assert inv["argv"][1:1 + len(want)] == want, inv["argv"]
    extract = fake_oc.invocations("oc", "extract")
    assert len(extract) == 1 and extract[0]["argv"][1:1 + len(want)] == want
    assert not any(a.startswith(("--token", "--password")) for inv in fake_oc.invocations() for a in inv["argv"])
    assert_clean(cluster, fake_oc)


@pytest.mark.parametrize("fmt", ["table", "json"])
def test_ctrl_c_prints_the_partial_report_of_the_nodes_that_finished(cluster, fake_oc, tmp_path, fmt):
    # worker-0 answers at once (with a drift), worker-1/2 hang: Ctrl-C after 1.5 s -> worker-0's findings are
    # printed, the report is marked partial and names the interrupted nodes; exit 130; nothing left behind
    out = tmp_path / "bundles"
    out.mkdir()
    timer = threading.Timer(1.5, _thread.interrupt_main)
    timer.start()
    try:
        res = doctor(cluster, fake_oc, "-o", fmt, "--bundle", str(out / "b.tar.gz"),
                     nodes={"worker-0": {"scenario": "no-kvm"}, "worker-1": {"behaviour": "hang"},
                            "worker-2": {"behaviour": "hang"}})
    finally:
        timer.cancel()
    assert res.exit_code == ExitStatus.INTERRUPTED
    assert fake_oc.count("oc", "debug") == 3
    assert_clean(cluster, fake_oc)
    assert list(out.iterdir()) == []          # no half-made bundle
    assert ("Interrupted: partial report, 1 of 3 node(s) finished; not finished: worker-1, worker-2. "
            "Debug pods and namespace removed. No support bundle written.") in res.stderr
    if fmt == "json":
        doc = json.loads(res.stdout)
        assert doc["interrupted"] == {"nodes": ["worker-1", "worker-2"], "finished": 1, "total": 3}
        assert problems(doc) == {("worker-0", "node.dev-kvm", "error"), ("worker-1", "node.probe", "error"),
                                 ("worker-2", "node.probe", "error")}
        assert {f["details"]["reason"] for f in doc["findings"] if f["checkId"] == "node.probe"} == {"cancelled"}
        # no registry access after Ctrl-C: the finished node is its own consensus
        assert doc["expected"]["source"] == "consensus" and fake_oc.count("oc", "extract") == 0
    else:
        marker = "PARTIAL REPORT (interrupted): 1 of 3 node(s) finished; not finished: worker-1, worker-2"
        lines = res.stdout.rstrip().splitlines()
        assert marker in lines[:6] and marker in lines[-3:]     # under the header and again at the end
        assert "No problems found." not in lines
        assert "node.dev-kvm" in res.stdout


def test_ocp_4_10_expected_versions_come_from_machine_os_content(make_fake_cluster, fake_oc, tmp_path):
    # <= 4.11 (DOMAIN 1.5/1.6): no extensions image; the repo is /extensions/ inside machine-os-content, which
    # is the OS image itself (osImageURL). Nodes: qemu-kiwi, kata 2.x, custom-origin pivot:// (nodesim "4.10")
    fc = make_fake_cluster(ocp_version="4.10.3")
    kc = str(fc.write_kubeconfig(tmp_path / "kubeconfig"))
    mosc = nodesim.os_image_url("4.10")
    cc = fc.store.get("ControllerConfig", "machine-config-controller")
    cc["spec"]["osImageURL"] = mosc
    fc.store.update(cc)
    cm = fc.store.get("ConfigMap", "machine-config-osimageurl", "openshift-machine-config-operator")
    cm["data"]["osImageURL"] = mosc
    fc.store.update(cm)
    assert "baseOSExtensionsContainerImage" not in cm["data"]
    res = run_cli(["enable", "--timeout", "60s"], kubeconfig=kc)
    assert res.exit_code == 0, res.stderr
    fake_oc.configure(default={"release": "4.10"}, nodes={"worker-1": {"scenario": "version-skew"}},
                      images={mosc: {"release": "4.10", "arch": "x86_64"}})
    res = run_cli(["doctor", "-o", "json"], kubeconfig=kc,
                  environ={"FAKE_OC_SCENARIO_DIR": fake_oc.scenario_dir, "FAKE_OC_STATE_DIR": fake_oc.state_dir})
    assert res.exit_code == ExitStatus.PROBLEMS_FOUND, res.stderr
    doc = json.loads(res.stdout)
    exp = doc["expected"]
    assert exp["source"] == "release" and exp["image"] == mosc, exp["notes"]
    assert "osImageURL" in exp["detail"]
    assert exp["packages"]["x86_64"] == nodesim.expected_nevras("4.10")
    assert exp["packages"]["x86_64"]["qemu-kiwi"] == "qemu-kiwi-15:5.2.0-16.module+el8.4.0+13460+2e130eec.13.x86_64"
    [extract] = fake_oc.invocations("oc", "extract")
    assert [a for a in extract["argv"] if a.startswith("/extensions/:")]      # --path /extensions/:<dir>
    assert fake_oc.events("image-extract")[0]["pullspec"] == mosc
    # only the skewed node differs (qemu-kiwi family older than the release's); the healthy 4.10 nodes pass
    # every check: qemu-kiwi path, kata 2.x shim version, booted pivot:// image = rendered osImageURL
    assert problems(doc) == {("worker-1", "node.package-version", "error")}
    skew = sorted(f["details"]["package"] for f in doc["findings"]
                  if f["subject"] == "worker-1" and f["checkId"] == "node.package-version")
    assert skew == ["qemu-kiwi", "qemu-kvm-common"]
    ok = {(f["subject"], f["checkId"]): f for f in doc["findings"] if f["severity"] == "ok"}
    assert ok[("worker-0", "node.qemu-path")]["details"]["expected"] == "/usr/libexec/qemu-kiwi"
    assert ("worker-0", "node.binary-version") in ok and ("worker-0", "node.os-image") in ok
    assert ok[("worker-0", "node.os-image")]["details"]["booted"] == mosc
    assert fake_oc.live_pods() == []


def test_progress_on_a_terminal_and_none_when_piped(cluster, fake_oc):
    fake_oc.configure(nodes={}, images={cluster.ext_image: {"release": "4.16", "arch": "x86_64"}}, default=None)
    env = {"FAKE_OC_SCENARIO_DIR": fake_oc.scenario_dir, "FAKE_OC_STATE_DIR": fake_oc.state_dir}
    res = run_cli(["doctor"], kubeconfig=cluster.kc, environ=env, tty=True)
    assert res.exit_code == ExitStatus.SUCCESS, res.stderr
    assert "probing nodes via oc: 3/3 done, 0 running, 0 failed" in res.stderr
    res = run_cli(["doctor"], kubeconfig=cluster.kc, environ=env, tty=False)
    assert res.exit_code == ExitStatus.SUCCESS, res.stderr
    assert "probing nodes" not in res.stderr and "\x1b[" not in res.stderr + res.stdout
