"""API failures become one actionable line and the documented exit code; kubeconfig like kubectl."""
from __future__ import annotations

import json
import os
import socket

import pytest
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
    assert all(r["headers"].get("Impersonate-Group") == ["system:cluster-admins"] for r in fc.requests)
    # --as-group is repeatable: one Impersonate-Group header per group, as client-go sends them
    fc.reset_requests()
    res = run_cli(["status", "--as", "jane", "--as-group", "system:cluster-admins", "--as-group", "ops"],
                  kubeconfig=kc)
    assert res.exit_code == 0, res.stderr
    assert fc.requests and all(r["headers"].get("Impersonate-Group") == ["system:cluster-admins", "ops"]
                               for r in fc.requests)
    # without --as-group no group header at all
    fc.reset_requests()
    assert run_cli(["status", "--as", "jane"], kubeconfig=kc).exit_code == 0
    assert fc.requests and all("Impersonate-Group" not in r["headers"] for r in fc.requests)


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


def test_tls_verification_failure(make_fake_cluster, tmp_path):
    fc = make_fake_cluster(workers=1)
    cfg = fc.kubeconfig_dict()
    cfg["clusters"][0]["cluster"].pop("certificate-authority-data")  # system CAs do not know the fake's CA
    kc = tmp_path / "kc"
    kc.write_text(yaml.safe_dump(cfg))
    res = run_cli(["status"], kubeconfig=str(kc))
    assert res.exit_code == ExitStatus.CLUSTER_ERROR
    assert res.stderr.startswith(f"error: TLS verification failed for {fc.url}")
    assert "certificate-authority" in res.stderr


@pytest.mark.parametrize("code, message, needle", [
    (409, 'machineconfigs.machineconfiguration.openshift.io "50-enable-sandboxed-containers-extension" already exists',
     "error: conflict: machineconfigs"),
    (422, 'MachineConfig.machineconfiguration.openshift.io "50-enable-sandboxed-containers-extension" is invalid: '
          'spec.extensions: Invalid value: "string"', "is invalid: spec.extensions"),
    (503, "the server is currently unable to handle the request", "error: server error 503 on create"),
    (500, "etcdserver: request timed out", "etcdserver: request timed out"),
])
def test_api_failures_on_create(make_fake_cluster, tmp_path, code, message, needle):
    fc = make_fake_cluster(workers=1)
    kc = _kc(fc, tmp_path)
    fc.fail_next("POST", r"/machineconfigs$", code, message=message)
    res = run_cli(["enable", "--no-wait"], kubeconfig=kc)
    assert res.exit_code == ExitStatus.CLUSTER_ERROR, res.stderr
    assert needle in res.stderr.splitlines()[0]
    assert "Traceback" not in res.stderr


def test_not_openshift_status_and_missing_api(make_fake_cluster, tmp_path):
    fc = make_fake_cluster(openshift=False)
    kc = _kc(fc, tmp_path)
    res = run_cli(["status"], kubeconfig=kc)
    assert res.exit_code == ExitStatus.CLUSTER_ERROR
    assert "does not serve the machineconfiguration.openshift.io API" in res.stderr
    res = run_cli(["version"], kubeconfig=kc)
    assert res.exit_code == 0 and "Kubernetes:" in res.stdout


def test_no_color_and_no_escape_codes_off_terminal(make_fake_cluster, tmp_path):
    fc = make_fake_cluster(workers=1)
    kc = _kc(fc, tmp_path)
    res = run_cli(["enable", "--timeout", "60s"], kubeconfig=kc, tty=True, environ={"NO_COLOR": "1"})
    assert res.exit_code == 0, res.stderr
    assert "\x1b[3" not in res.stdout  # no colour codes
    res = run_cli(["disable", "--timeout", "60s"], kubeconfig=kc, tty=False)
    assert res.exit_code == 0 and "\x1b[" not in res.stdout  # no cursor movement either when piped


def test_in_cluster_config_is_the_fallback(make_fake_cluster, tmp_path):
    """No kubeconfig anywhere + a pod's service account -> the plugin uses in-cluster config."""
    import os
    import shutil
    from urllib.parse import urlparse

    fc = make_fake_cluster(workers=1)
    sa = "/var/run/secrets/kubernetes.io/serviceaccount"
    if os.path.exists(sa):
        pytest.fail(f"{sa} exists on this machine; refusing to overwrite it")
    os.makedirs(sa)
    try:
        shutil.copy(fc.ca_file, os.path.join(sa, "ca.crt"))
        with open(os.path.join(sa, "token"), "w") as fh:
            fh.write(fc.token)
        url = urlparse(fc.url)
        res = run_cli(["status", "-o", "json"], environ={
            "HOME": str(tmp_path), "KUBECONFIG": "", "KUBERNETES_SERVICE_HOST": url.hostname,
            "KUBERNETES_SERVICE_PORT": str(url.port)})
    finally:
        shutil.rmtree("/var/run/secrets/kubernetes.io")
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout)["kind"] == "KataStatus"


def test_kubeconfig_proxy_url_is_used(make_fake_cluster, tmp_path):
    """A cluster's proxy-url routes requests through the proxy (here: a dead port -> a clear error naming it)."""
    fc = make_fake_cluster(workers=1)
    cfg = fc.kubeconfig_dict()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg["clusters"][0]["cluster"]["proxy-url"] = f"http://127.0.0.1:{port}"
    kc = tmp_path / "kc"
    kc.write_text(yaml.safe_dump(cfg))
    res = run_cli(["status"], kubeconfig=str(kc))
    assert res.exit_code == ExitStatus.CLUSTER_ERROR
    assert fc.requests == []  # nothing went straight to the server: everything was sent to the (dead) proxy
    assert "Traceback" not in res.stderr


class _ConnectProxy:
    """A loopback HTTP CONNECT proxy that records every tunnel it opens and relays bytes both ways."""

    def __init__(self):
        import threading

        self.targets = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self._threading = threading
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            self._threading.Thread(target=self._tunnel, args=(client,), daemon=True).start()

    def _tunnel(self, client):
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = client.recv(4096)
            if not chunk:
                client.close()
                return
            head += chunk
        line = head.split(b"\r\n", 1)[0].decode("latin-1").split()
        if len(line) < 2 or line[0] != "CONNECT":
            client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            client.close()
            return
        self.targets.append(line[1])
        host, _, port = line[1].rpartition(":")
        upstream = socket.create_connection((host, int(port)))
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")

        def pump(src, dst):
            try:
                while True:
                    data = src.recv(65536)
                    if not data:
                        break
                    dst.sendall(data)
            except OSError:
                pass
            finally:
                for s in (src, dst):
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
        self._threading.Thread(target=pump, args=(upstream, client), daemon=True).start()
        pump(client, upstream)

    def close(self):
        self.sock.close()


def test_kubeconfig_proxy_url_carries_the_traffic(make_fake_cluster, tmp_path):
    """The positive side: with a working proxy every API call is tunnelled through it (a client that ignored
    proxy-url would leave the proxy's log empty)."""
    from urllib.parse import urlsplit

    fc = make_fake_cluster(workers=1)
    proxy = _ConnectProxy()
    try:
        cfg = fc.kubeconfig_dict()
        cfg["clusters"][0]["cluster"]["proxy-url"] = f"http://127.0.0.1:{proxy.port}"
        kc = tmp_path / "kc"
        kc.write_text(yaml.safe_dump(cfg))
        fc.reset_requests()
        res = run_cli(["status", "-o", "json"], kubeconfig=str(kc))
        assert res.exit_code == 0, res.stderr
        api = urlsplit(cfg["clusters"][0]["cluster"]["server"])
        assert proxy.targets and set(proxy.targets) == {"%s:%d" % (api.hostname, api.port)}
        assert fc.requests   # the calls reached the API server, through the tunnel
    finally:
        proxy.close()
