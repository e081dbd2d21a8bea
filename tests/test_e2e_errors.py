"""API failures become one actionable line and the documented exit code; kubeconfig like kubectl."""
from __future__ import annotations

import json
import os
import socket

import yaml

from kubectl_kata.status import ExitStatus
from tests.clirunner import run_cli


def _kc(fc, tmp_path, name="kubeconfig"):
    return fc.write_kubeconfig(str(tmp_path / name))


def test_forbidden_names_the_verb_and_resource(make_fake_cluster, tmp_path):
    fc = make_fake_cluster(workers=1)
    kc = _kc(fc, tmp_path)
    fc.forbid("create", "machineconfigs")
    res = run_cli(["enable", "--timeout", "30s"], kubeconfig=kc)
    assert res.exit_code == ExitStatus.CLUSTER_ERROR
    first = res.stderr.splitlines()[0]
    assert first.startswith("error: forbidden:")
    assert 'cannot create resource "machineconfigs"' in first
    assert "hint:" in res.stderr and "Traceback" not in res.stderr


def test_request_timeout_is_reported(make_fake_cluster, tmp_path):
    fc = make_fake_cluster(workers=1)
    kc = _kc(fc, tmp_path)
    fc.delay("GET", r"/apis/machineconfiguration.openshift.io/v1/machineconfigpools$", 3)
    res = run_cli(["status", "--request-timeout", "1s"], kubeconfig=kc)
    assert res.exit_code == ExitStatus.CLUSTER_ERROR
    assert "timed out after 1s" in res.stderr
    assert "Traceback" not in res.stderr


def test_unauthorized(make_fake_cluster, tmp_path):
    fc = make_fake_cluster(workers=1)
    kc = _kc(fc, tmp_path)
    cfg = yaml.safe_load(open(kc))
    cfg["users"][0]["user"]["token"] = "sha256~not-the-right-token"
    with open(kc, "w") as fh:
        yaml.safe_dump(cfg, fh)
    res = run_cli(["status"], kubeconfig=kc)
    assert res.exit_code == ExitStatus.CLUSTER_ERROR
    assert "unauthorized" in res.stderr and "not-the-right-token" not in res.stderr


def test_connection_refused_and_missing_kubeconfig(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    kc = tmp_path / "dead"
    kc.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "dead",
        "clusters": [{"name": "dead", "cluster": {"server": f"https://127.0.0.1:{port}",
                                                  "insecure-skip-tls-verify": True}}],
        "contexts": [{"name": "dead", "context": {"cluster": "dead", "user": "u"}}],
        "users": [{"name": "u", "user": {"token": "sha256~abc"}}]}))
    res = run_cli(["status"], kubeconfig=str(kc))
    assert res.exit_code == ExitStatus.CLUSTER_ERROR
    assert f"cannot connect to https://127.0.0.1:{port}" in res.stderr
    res = run_cli(["status", "--kubeconfig", str(tmp_path / "nope")])
    assert res.exit_code == ExitStatus.CLUSTER_ERROR and "does not exist" in res.stderr
    res = run_cli(["status"], environ={"HOME": str(tmp_path), "KUBECONFIG": ""})
    assert res.exit_code == ExitStatus.CLUSTER_ERROR and "no kubeconfig found" in res.stderr
    bad = tmp_path / "bad"
    bad.write_text("clusters: [\n")
    res = run_cli(["status"], kubeconfig=str(bad))
    assert res.exit_code == ExitStatus.CLUSTER_ERROR and "not valid YAML" in res.stderr


def test_kubeconfig_with_two_files_first_current_context_wins(make_fake_cluster, tmp_path):
    """kubectl semantics (the Python client would pick the last file's current-context)."""
    fc = make_fake_cluster(workers=1)
    good = _kc(fc, tmp_path, "good")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    other = tmp_path / "other"
    other.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "other",
        "clusters": [{"name": "other", "cluster": {"server": f"https://127.0.0.1:{port}"}}],
        "contexts": [{"name": "other", "context": {"cluster": "other", "user": "other"}}],
        "users": [{"name": "other", "user": {"token": "sha256~other"}}]}))
    before = open(good).read(), other.read_text()
    res = run_cli(["status", "-o", "json"], kubeconfig=os.pathsep.join([good, str(other)]))
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout)["kind"] == "KataStatus"
    res = run_cli(["status"], kubeconfig=os.pathsep.join([str(other), good]))
    assert res.exit_code == ExitStatus.CLUSTER_ERROR and str(port) in res.stderr
    # --context picks from the merged set regardless of order
    ctx = yaml.safe_load(open(good))["current-context"]
    res = run_cli(["status", "--context", ctx], kubeconfig=os.pathsep.join([str(other), good]))
    assert res.exit_code == 0, res.stderr
    assert (open(good).read(), other.read_text()) == before  # never written back


def test_impersonation_headers_are_sent(make_fake_cluster, tmp_path):
    fc = make_fake_cluster(workers=1)
    kc = _kc(fc, tmp_path)
    fc.reset_requests()
    res = run_cli(["status", "--as", "jane", "--as-group", "system:cluster-admins"], kubeconfig=kc)
    assert res.exit_code == 0, res.stderr
    assert fc.requests and all(r["headers"].get("Impersonate-User") == "jane" for r in fc.requests)


def test_usage_errors_exit_2(tmp_path):
    res = run_cli(["enable", "--pool", "worker", "--create-pool", "kata-oc"])
    assert res.exit_code == ExitStatus.USAGE and "mutually exclusive" in res.stderr
    res = run_cli(["enable", "--create-pool", "kata-oc"])
    assert res.exit_code == ExitStatus.USAGE and "exactly one of" in res.stderr
    res = run_cli(["enable", "--timeout", "soon"])
    assert res.exit_code == ExitStatus.USAGE and "is not a duration" in res.stderr
    res = run_cli(["enable", "--create-pool", "kata-oc", "--node-selector", "a in (b"])
    assert res.exit_code == ExitStatus.USAGE and "--node-selector" in res.stderr
    res = run_cli(["frobnicate"])
    assert res.exit_code == ExitStatus.USAGE
