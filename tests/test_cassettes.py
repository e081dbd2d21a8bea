"""vcrpy cassettes pin the exact API traffic of the main scenarios.

Replay (default, CI): record mode `none`, no server at all -- the kubeconfig points at
https://api.cluster.invalid:6443 and every request must match a recorded one (method, path, query and
JSON-semantic body), or the test fails.

Re-record against the fake cluster:      KATA_RECORD=1 python3 -m pytest -q tests/test_cassettes.py
Re-record against a real (disposable!) cluster: also set KATA_RECORD_KUBECONFIG=/path/to/kubeconfig.

Recording filters the Authorization header, rewrites every host to api.cluster.invalid and scrubs
Secret data from bodies. Watches are not recorded here (vcrpy buffers a watch body until the server
closes it, DOMAIN.md section 10); live rollouts are covered by test_e2e_*.py against the fake server.
"""
from __future__ import annotations

import json
import os
import re

import pytest
import yaml

from kubectl_kata.core.redact import redact_object
from kubectl_kata.status import ExitStatus
from tests.clirunner import run_cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CASSETTES = os.path.join(ROOT, "cassettes")
HOST = "https://api.cluster.invalid:6443"
RECORD = os.environ.get("KATA_RECORD") == "1"
REAL_KUBECONFIG = os.environ.get("KATA_RECORD_KUBECONFIG")


_DOCTOR_NS = re.compile(r"kata-doctor-[a-z0-9]{5}")


def _rewrite(request):
    """Runs on recorded and on replayed requests alike (before matching): host-agnostic, and doctor's
    random per-run namespace name normalised."""
    request.uri = _DOCTOR_NS.sub("kata-doctor-xxxxx", re.sub(r"^https?://[^/]+", HOST, request.uri))
    body = request.body
    if isinstance(body, bytes) and b"kata-doctor-" in body:
        request.body = _DOCTOR_NS.sub("kata-doctor-xxxxx", body.decode("utf-8")).encode("utf-8")
    return request


def _scrub_response(response):
    """Recorded bodies go through the plugin's own redaction (core.redact: Secret data, Ignition password
    hashes/SSH keys/file and unit contents, proxy user info, last-applied-configuration), so a cassette recorded
    against a real cluster holds no more than a support bundle; Secret bodies are dropped entirely."""
    body = response.get("body", {}).get("string")
    if isinstance(body, bytes) and b'"kind":"Secret"' in body.replace(b" ", b""):
        response["body"]["string"] = b'{"kind":"Status","message":"secret body scrubbed by the recorder"}'
    elif isinstance(body, bytes) and body[:1] == b"{":
        try:
            doc = json.loads(body.decode("utf-8"))
        except ValueError:
            return response
        response["body"]["string"] = json.dumps(redact_object(doc), separators=(",", ":")).encode("utf-8")
    return response


def _json_body(r1, r2):
    """Bodies compare as JSON for every JSON-ish content type (merge-patch+json, json-patch+json, ...)."""
    def load(r):
        body = r.body or b""
        if isinstance(body, bytes):
            body = body.decode("utf-8", "replace")
        if not body:
            return None
        try:
            return json.loads(body)
        except ValueError:
            try:
                return yaml.safe_load(body)
            except yaml.YAMLError:
                return body
    a, b = load(r1), load(r2)
    assert a == b, f"request bodies differ: {a!r} != {b!r}"


def _vcr():
    import vcr

    v = vcr.VCR(
        cassette_library_dir=CASSETTES,
        record_mode="all" if RECORD else "none",
        match_on=("method", "path", "query", "json_body"),
        filter_headers=["authorization", "Impersonate-User", "Impersonate-Group"],
        before_record_request=_rewrite,
        before_record_response=_scrub_response,
        decode_compressed_response=True,
        record_on_exception=False,
    )
    v.register_matcher("json_body", _json_body)
    return v


@pytest.fixture
def cluster_kubeconfig(make_fake_cluster, tmp_path):
    """Replay: a kubeconfig for a host that does not exist. Record: the fake (or a real) cluster."""
    if RECORD:
        if REAL_KUBECONFIG:
            yield REAL_KUBECONFIG, None
            return
        fc = make_fake_cluster(workers=2, node_names="aws")
        yield fc.write_kubeconfig(str(tmp_path / "kc")), fc
        return
    path = tmp_path / "kc"
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "replay",
        "clusters": [{"name": "replay", "cluster": {"server": HOST, "insecure-skip-tls-verify": True}}],
        "contexts": [{"name": "replay", "context": {"cluster": "replay", "user": "replay"}}],
        "users": [{"name": "replay", "user": {"token": "sha256~replay-only-not-a-secret"}}]}))
    yield str(path), None


def _play(name, steps, kubeconfig):
    """Run CLI steps inside one cassette; return their results."""
    results = []
    if RECORD and os.path.exists(os.path.join(CASSETTES, f"{name}.yaml")):
        os.remove(os.path.join(CASSETTES, f"{name}.yaml"))  # re-record from scratch, never append
    with _vcr().use_cassette(f"{name}.yaml", allow_playback_repeats=False) as cassette:
        for args in steps:
            results.append(run_cli(args, kubeconfig=kubeconfig))
        if not RECORD:
            assert cassette.all_played, f"{name}: not every recorded request was made again"
    return results


def test_cassette_status_version_not_enabled(cluster_kubeconfig):
    kc, _ = cluster_kubeconfig
    status, version = _play("status-not-enabled", [["status", "-o", "json"], ["version", "-o", "json"]], kc)
    assert status.exit_code == 0, status.stderr
    doc = json.loads(status.stdout)
    assert doc["enabled"] is False and doc["pool"] == "worker" and doc["rollout"]["phase"] == "done"
    assert json.loads(version.stdout)["openshift"] == "4.16.3"


def test_cassette_enable_no_wait_then_disable_no_wait(cluster_kubeconfig):
    kc, _ = cluster_kubeconfig
    enable, status, disable = _play("enable-disable-no-wait", [
        ["enable", "--no-wait"], ["status", "-o", "json"], ["disable", "--no-wait"]], kc)
    assert enable.exit_code == 0, enable.stderr
    assert "machineconfig.machineconfiguration.openshift.io/50-enable-sandboxed-containers-extension created" \
        in enable.stdout
    assert json.loads(status.stdout)["enabled"] is True
    assert disable.exit_code == 0, disable.stderr
    assert "50-enable-sandboxed-containers-extension deleted" in disable.stdout


def test_cassette_enable_dry_run_server(cluster_kubeconfig):
    kc, _ = cluster_kubeconfig
    (res,) = _play("enable-dry-run-server", [
        ["enable", "--create-pool", "kata-oc", "--all-workers", "--dry-run=server", "-o", "json"]], kc)
    assert res.exit_code == 0, res.stderr
    kinds = [i["kind"] for i in json.loads(res.stdout)["items"]]  # stdout holds only the document
    assert kinds == ["MachineConfigPool", "MachineConfig", "RuntimeClass"]


def test_cassette_forbidden(cluster_kubeconfig):
    kc, fc = cluster_kubeconfig
    if fc is not None:
        fc.forbid("create", "machineconfigs")
    (res,) = _play("enable-forbidden", [["enable", "--no-wait"]], kc)
    assert res.exit_code == ExitStatus.CLUSTER_ERROR
    assert 'cannot create resource "machineconfigs"' in res.stderr


def test_cassette_doctor_cluster_side(cluster_kubeconfig, fake_oc):
    """doctor's API traffic (facts, one namespace created and deleted, pull secret read for oc) is pinned too;
    the node side runs through the fake `oc` on PATH, which needs no API."""
    from tests.fakeapi import FakeCluster

    kc, fc = cluster_kubeconfig
    seeded = fc if fc is not None else FakeCluster(workers=2, node_names="aws")  # same deterministic seeds
    ext = seeded.store.get("ConfigMap", "machine-config-osimageurl",
                           "openshift-machine-config-operator")["data"]["baseOSExtensionsContainerImage"]
    if fc is not None:  # recording: enable kata, and boot the nodes' OS image as the release's (as in a healthy pool)
        fc.boot_release_os_image("4.16")
        assert run_cli(["enable", "--timeout", "60s"], kubeconfig=kc).exit_code == 0
    fake_oc.configure(nodes={}, images={ext: {"release": "4.16", "arch": "x86_64"}}, default=None)
    (res,) = _play("doctor", [["doctor", "-o", "json"]], kc)
    assert res.exit_code in (0, 1), res.stderr
    doc = json.loads(res.stdout)
    assert doc["rollup"] == "2 nodes OK"
    assert [f for f in doc["findings"] if f["checkId"] == "cluster.extension-mc"][0]["severity"] == "ok"
    assert fake_oc.live_pods() == []


def test_cassettes_hold_no_credentials():
    texts = [open(os.path.join(CASSETTES, f), encoding="utf-8").read() for f in sorted(os.listdir(CASSETTES))
             if f.endswith(".yaml")]
    assert len(texts) >= 5
    for text in texts:
        assert not re.search(r"(?i)authorization:", text)
        assert "sha256~" not in text and "PRIVATE KEY" not in text
        assert "127.0.0.1" not in text and "localhost" not in text
        assert '"auths"' not in text  # no pull secret
