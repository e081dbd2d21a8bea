"""Two runs at once (issue 12): real `kubectl kata` subprocesses against one fake API server.

Two concurrent `enable`s both exit 0 with one MachineConfig (the loser meets 409 AlreadyExists, reads the
object and goes on like a re-run, saying what it found); a `disable` during an `enable` rollout ends in one
consistent state (disabled: no MachineConfig, no RuntimeClass) with the enable saying what happened.
The interleaving is forced with the fake server's delays, not with sleeps in the code under test.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time

from kubectl_kata.core.constants import MC_NAME, RUNTIMECLASS_NAME
from kubectl_kata.status import ExitStatus

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MCS = r"/apis/machineconfiguration.openshift.io/v1/machineconfigs$"


def _spawn(args, kubeconfig, tmp_path):
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "KUBECONFIG": kubeconfig,
           "PYTHONPATH": ROOT, "NO_COLOR": "1"}
    return subprocess.Popen([sys.executable, "-m", "kubectl_kata"] + args, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=str(tmp_path))


def _wait(proc, timeout=120):
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def test_two_enables_at_once_both_succeed_with_one_machineconfig(make_fake_cluster, tmp_path):
    fc = make_fake_cluster(workers=2)
    kc = str(fc.write_kubeconfig(str(tmp_path / "kubeconfig")))
    # both creates are held until both runs have looked at the cluster (and found no MachineConfig)
    fc.delay("POST", MCS, 2.0, times=2)
    a = _spawn(["enable", "--timeout", "90s"], kc, tmp_path)
    b = _spawn(["enable", "--timeout", "90s"], kc, tmp_path)
    (ca, oa, ea), (cb, ob, eb) = _wait(a), _wait(b)
    assert (ca, cb) == (0, 0), ea + eb
    posts = [r for r in fc.requests if r["method"] == "POST" and r["path"].endswith("/machineconfigs")]
    assert sorted(r["status"] for r in posts) == [201, 409]
    assert len([m for m in fc.store.list("MachineConfig") if m["metadata"]["name"] == MC_NAME]) == 1
    said = f"machineconfig {MC_NAME} was created meanwhile by another kubectl-kata run; using it"
    assert (said in oa + ea) != (said in ob + eb)  # exactly one lost the race, and it says what it found
    # (either may also find RuntimeClass kata created by the other: whoever's rollout wait ends first makes it)
    for text in (oa, ob):
        assert "Sandboxed containers are enabled on pool worker" in text
    assert fc.store.get("RuntimeClass", RUNTIMECLASS_NAME) is not None
    assert "Traceback" not in ea + eb
    # nothing was overwritten: one create of each object, no update of the MachineConfig
    assert not [r for r in fc.requests if r["method"] in ("PUT", "PATCH") and "/machineconfigs/" in r["path"]]


def test_disable_during_an_enable_rollout_ends_disabled(make_fake_cluster, tmp_path):
    fc = make_fake_cluster(workers=3)
    fc.mco.step_delay = 0.4  # a rollout long enough for disable to start in the middle of it
    kc = str(fc.write_kubeconfig(str(tmp_path / "kubeconfig")))
    enable = _spawn(["enable", "--timeout", "120s"], kc, tmp_path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # wait until the pool rolls out a config that includes our MC
        pool = fc.store.get("MachineConfigPool", "worker")
        sources = {s.get("name") for s in ((pool.get("spec") or {}).get("configuration") or {}).get("source") or []}
        if MC_NAME in sources and (pool.get("status") or {}).get("updatedMachineCount", 0) < 3:
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the enable rollout never started")
    assert enable.poll() is None  # enable is still following
    code, out, err = _wait(_spawn(["disable", "--timeout", "120s"], kc, tmp_path))
    assert code == 0, err
    assert "Sandboxed containers are disabled on pool worker." in out
    ecode, eout, eerr = _wait(enable)
    assert ecode == ExitStatus.ROLLOUT_FAILED, eout + eerr
    assert f"error: machineconfig {MC_NAME} was deleted while enable followed the rollout of pool worker" in eerr
    assert "Traceback" not in err + eerr
    fc.mco.wait_idle()
    assert fc.store.get("MachineConfig", MC_NAME) is None
    assert fc.store.get("RuntimeClass", RUNTIMECLASS_NAME) is None
    pool = fc.store.get("MachineConfigPool", "worker")
    assert MC_NAME not in {s.get("name") for s in pool["spec"]["configuration"].get("source") or []}


def _when_request(fc, method, suffix, action, timeout=60):
    """Run `action()` in a thread as soon as the fake server has received `method ...suffix`."""
    import threading

    def watch():
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(r["method"] == method and r["path"].endswith(suffix) for r in fc.requests):
                action()
                return
            time.sleep(0.01)

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    return t


def test_enable_removes_its_runtimeclass_when_the_machineconfig_went_away_meanwhile(make_fake_cluster, tmp_path):
    """A `disable` deletes the MachineConfig after enable's rollout ended and before its RuntimeClass exists:
    enable finds the MachineConfig gone after creating RuntimeClass kata, deletes it again and says so."""
    from tests.clirunner import run_cli

    fc = make_fake_cluster(workers=1)
    kc = str(fc.write_kubeconfig(str(tmp_path / "kubeconfig")))
    fc.delay("POST", r"/runtimeclasses$", 1.0, times=1)  # the window in which the other run deletes the MC
    t = _when_request(fc, "POST", "/runtimeclasses", lambda: fc.store.delete("MachineConfig", MC_NAME))
    res = run_cli(["enable", "--timeout", "60s"], kubeconfig=kc)
    t.join()
    assert res.exit_code == ExitStatus.ROLLOUT_FAILED, res.stderr
    assert f"error: machineconfig {MC_NAME} was deleted while enable followed the rollout" in res.stderr
    assert "runtimeclass.node.k8s.io/kata deleted" in res.stdout
    assert fc.store.get("RuntimeClass", RUNTIMECLASS_NAME) is None
    assert fc.store.get("MachineConfig", MC_NAME) is None


def test_disable_removes_a_runtimeclass_created_meanwhile(make_fake_cluster, tmp_path):
    """An `enable` creates RuntimeClass kata while `disable` follows the removal: disable deletes it at the end."""
    from kubectl_kata.core import objects
    from kubectl_kata.core.constants import pool_node_selector
    from tests.clirunner import run_cli

    fc = make_fake_cluster(workers=1)
    kc = str(fc.write_kubeconfig(str(tmp_path / "kubeconfig")))
    assert run_cli(["enable", "--timeout", "60s"], kubeconfig=kc).exit_code == 0
    fc.mco.wait_idle()
    fc.reset_requests()
    late = objects.runtime_class(pool_node_selector("worker"))
    t = _when_request(fc, "DELETE", "/machineconfigs/" + MC_NAME, lambda: fc.store.create(late))
    res = run_cli(["disable", "--timeout", "60s"], kubeconfig=kc)
    t.join()
    assert res.exit_code == 0, res.stderr
    assert "runtimeclass kata was created meanwhile by another kubectl-kata run" in res.stdout + res.stderr
    assert fc.store.get("RuntimeClass", RUNTIMECLASS_NAME) is None
    deletes = [r for r in fc.requests if r["method"] == "DELETE" and r["path"].endswith("/runtimeclasses/kata")]
    assert len(deletes) == 2  # the one disable inspected, then the late one
