"""Fidelity test of the fake API server: the REAL kubectl binary talks to it over HTTPS.

If kubectl can discover, print server-side tables, server-side apply, patch, delete and watch against the fake,
the fake speaks the apiserver protocol well enough for the plugin's own tests.  The MachineConfig applied here
has the shape of shared/reference/samples/mco-test-extension-mc-template.yaml; the expected `get mcp` header
is the one in shared/reference/samples/oc-get-mcp-kata-oc.capture-ocp4.9.txt.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import time

import pytest

KUBECTL = "/usr/bin/kubectl"

MC_YAML = """\
apiVersion: machineconfiguration.openshift.io/v1
kind: MachineConfig
metadata:
  name: 50-kubectl-kata-test
  labels:
    machineconfiguration.openshift.io/role: worker
spec:
  config:
    ignition:
      version: 3.2.0
  extensions:
  - sandboxed-containers
"""


@pytest.fixture
def kubectl(make_fake_cluster, tmp_path):
    assert shutil.which(KUBECTL), "the real kubectl is part of this test environment"
    fc = make_fake_cluster(mco=False)
    kubeconfig = str(fc.write_kubeconfig(tmp_path / "kubeconfig"))
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "KUBECONFIG": kubeconfig}
    base = [KUBECTL, "--cache-dir", str(tmp_path / "cache"), "--request-timeout", "10s"]

    def run(*args, check=True, timeout=20):
        proc = subprocess.run(base + list(args), env=env, capture_output=True, text=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError("kubectl %s failed (%d):\n%s\n%s" % (" ".join(args), proc.returncode, proc.stdout,
                                                                     proc.stderr))
        return proc

    def popen(*args):
        return subprocess.Popen(base + list(args), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)

    run.popen = popen
    run.fc = fc
    run.path = tmp_path
    return run


def test_get_mcp_prints_crd_printer_columns(kubectl):
    out = kubectl("get", "mcp").stdout.splitlines()
    assert out[0].split() == ["NAME", "CONFIG", "UPDATED", "UPDATING", "DEGRADED", "MACHINECOUNT",
                              "READYMACHINECOUNT", "UPDATEDMACHINECOUNT", "DEGRADEDMACHINECOUNT", "AGE"]
    rows = {line.split()[0]: line.split() for line in out[1:]}
    assert set(rows) == {"master", "worker"}
    worker = rows["worker"]
    assert re.fullmatch(r"rendered-worker-[0-9a-f]{32}", worker[1])
    assert worker[2:9] == ["True", "False", "False", "3", "3", "3", "0"]
    assert re.fullmatch(r"\dh\d+m", worker[9])  # seeded about 3h43m ago
    # the table was computed by the server, as for the real apiserver
    assert any("as=Table" in r["headers"].get("Accept", "") for r in kubectl.fc.requests)


def test_get_mc_nodes_and_wide(kubectl):
    out = kubectl("get", "mc").stdout.splitlines()
    assert out[0].split() == ["NAME", "GENERATEDBYCONTROLLER", "IGNITIONVERSION", "AGE"]
    names = [line.split()[0] for line in out[1:]]
    assert "00-worker" in names and "99-worker-ssh" in names
    assert any(re.fullmatch(r"rendered-master-[0-9a-f]{32}", n) for n in names)
    out = kubectl("get", "nodes", "-o", "wide").stdout.splitlines()
    assert out[0].split()[:5] == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    row = [line for line in out if line.startswith("worker-0 ")][0]
    assert row.split()[1:3] == ["Ready", "worker"]
    assert "Red Hat Enterprise Linux CoreOS 416.94" in row
    masters = kubectl("get", "no", "-l", "node-role.kubernetes.io/master", "-o", "name").stdout.split()
    assert masters == ["node/master-0", "node/master-1", "node/master-2"]


def test_apply_server_side_patch_delete(kubectl, tmp_path):
    f = tmp_path / "mc.yaml"
    f.write_text(MC_YAML)
    out = kubectl("apply", "--server-side", "-f", str(f)).stdout
    assert out.strip() == "machineconfig.machineconfiguration.openshift.io/50-kubectl-kata-test serverside-applied"
    stored = kubectl.fc.store.get("MachineConfig", "50-kubectl-kata-test")
    assert stored["spec"]["extensions"] == ["sandboxed-containers"]
    assert stored["metadata"]["managedFields"][0]["manager"] == "kubectl"

    out = kubectl("patch", "mc", "50-kubectl-kata-test", "--type", "merge",
                  "-p", '{"metadata":{"labels":{"app.kubernetes.io/managed-by":"kubectl-kata"}}}').stdout
    assert out.strip() == "machineconfig.machineconfiguration.openshift.io/50-kubectl-kata-test patched"
    got = kubectl("get", "mc", "50-kubectl-kata-test", "-o",
                  "jsonpath={.metadata.labels.app\\.kubernetes\\.io/managed-by}").stdout
    assert got == "kubectl-kata"

    bad = kubectl("patch", "mc", "50-kubectl-kata-test", "--type", "merge", "-p",
                  '{"spec":{"extensions":"string"}}', check=False)
    assert bad.returncode == 1
    assert ('spec.extensions: Invalid value: "string": spec.extensions in body must be of type array: "string"'
            in bad.stderr)

    out = kubectl("delete", "mc", "50-kubectl-kata-test").stdout
    assert out.strip() == 'machineconfig.machineconfiguration.openshift.io "50-kubectl-kata-test" deleted'
    gone = kubectl("get", "mc", "50-kubectl-kata-test", check=False)
    assert gone.returncode == 1
    assert ('Error from server (NotFound): machineconfigs.machineconfiguration.openshift.io '
            '"50-kubectl-kata-test" not found') in gone.stderr


def test_get_watch_streams_changes(kubectl):
    proc = kubectl.popen("get", "mcp", "-w", "--output-watch-events")
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(
                r["query"].get("watch") in ("true", "1", "True") for r in kubectl.fc.requests):
            time.sleep(0.05)
        kubectl("patch", "mcp", "worker", "--type", "json",
                "-p", '[{"op":"replace","path":"/spec/paused","value":true}]')
        time.sleep(0.5)
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=10)
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["EVENT", "NAME", "CONFIG"]
    assert [ln.split()[:2] for ln in lines[1:]] == [["ADDED", "master"], ["ADDED", "worker"],
                                                     ["MODIFIED", "worker"]], out + err
    assert kubectl.fc.store.get("MachineConfigPool", "worker")["spec"]["paused"] is True


def test_forbidden_and_unauthorized_as_kubectl_prints_them(kubectl, tmp_path):
    kubectl.fc.forbid("delete", "machineconfigs")
    res = kubectl("delete", "mc", "99-worker-ssh", check=False)
    assert res.returncode == 1
    assert ('Error from server (Forbidden): machineconfigs.machineconfiguration.openshift.io "99-worker-ssh" is '
            'forbidden: User "kube:admin" cannot delete resource "machineconfigs" in API group '
            '"machineconfiguration.openshift.io" at the cluster scope') in res.stderr
    res = kubectl("--token", "wrong", "get", "nodes", check=False)
    assert res.returncode == 1
    assert "Unauthorized" in res.stderr
    assert "wrong" not in repr(kubectl.fc.requests)


def test_explain_uses_crd_schema(kubectl):
    out = kubectl("explain", "mc.spec.extensions").stdout
    assert "FIELD: extensions <[]string>" in out
