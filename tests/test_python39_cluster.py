"""The whole cluster lifecycle under the oldest supported Python (3.9, the RHEL 9 / macOS system python3),
from the krew-installed plugin and its bundled pure-Python dependencies, against the loopback fake cluster.

This is what proves the runtime pins: the same code path as production (kubeconfig merge, the real
`kubernetes` client 35.0.0 over HTTPS, watches, rich progress), on 3.9."""
from __future__ import annotations

import json
import os
import subprocess

from kubectl_kata.core.constants import MC_NAME
from tests.krewlib import oldest_and_newest


def _run(py, link, args, kc):
    env = dict(os.environ, KUBECONFIG=kc, HOME=os.path.dirname(kc))  # no ~/.kube/config fallback
    env.pop("PYTHONPATH", None)
    return subprocess.run([py, link] + args, capture_output=True, text=True, timeout=120, env=env)


def test_enable_status_disable_on_python39(krew_installed, make_fake_cluster, tmp_path):
    py = oldest_and_newest()[0]
    _, link, _ = krew_installed
    fc = make_fake_cluster(workers=2)
    kc = fc.write_kubeconfig(str(tmp_path / "kc"))
    r = _run(py, link, ["enable", "--create-pool", "kata-oc", "--all-workers", "--timeout", "60s"], kc)
    assert r.returncode == 0, r.stderr
    assert "runtimeclass.node.k8s.io/kata created" in r.stdout
    r = _run(py, link, ["status", "-o", "json"], kc)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert (doc["enabled"], doc["pool"], doc["rollout"]["phase"]) == (True, "kata-oc", "done")
    r = _run(py, link, ["disable", "--timeout", "60s"], kc)
    assert r.returncode == 0, r.stderr
    assert fc.store.get("MachineConfig", MC_NAME) is None
    assert fc.store.get("MachineConfigPool", "kata-oc") is None
    r = _run(py, link, ["status", "--request-timeout", "1s"], kc + ".missing")
    assert r.returncode == 3 and "Traceback" not in r.stderr
