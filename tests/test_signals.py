"""SIGINT, SIGTERM and SIGHUP: one interruption path in every verb, at every phase.

Each test starts the real CLI as a subprocess (`python -m kubectl_kata`) against the loopback fake API server
(tests/fakeapi) and, for doctor, the fake `oc` on PATH (tests/fakebin), waits until the run is in the phase
under test (a request of that phase has reached the server, or the fake oc's debug pods exist), sends a real
signal, and then asserts:
- the exit status: 130 (SIGINT), 143 (SIGTERM), 129 (SIGHUP); no traceback; how to finish (enable/disable)
  or the partial report (doctor) is printed;
- on the fake API server: nothing the run created is left behind except what the README says stays (the
  extension MachineConfig, whose rollout goes on); doctor's debug pods and kata-doctor-* namespace are gone,
  no `oc` child is still running, and no half-written support bundle is left;
- a second run completes the job.
Phases are pinned by delaying one request of the phase on the fake server (fc.delay), so the signal lands
while that request is in flight.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from kubectl_kata.core.constants import MC_NAME, RUNTIMECLASS_NAME
from tests.clirunner import run_cli
from tests.enabled import enabled_cluster as make_enabled_cluster

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIGNALS = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP]
EXPECTED_STATUS = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGHUP: 129}
WORKERS = ["worker-0", "worker-1", "worker-2"]


def spawn(args, kubeconfig):
    env = dict(os.environ, KUBECONFIG=str(kubeconfig), PYTHONPATH=ROOT, NO_COLOR="1")
    return subprocess.Popen([sys.executable, "-m", "kubectl_kata", *args], cwd=ROOT, env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(pred, what, timeout=30.0, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        if proc is not None and proc.poll() is not None:
            raise AssertionError("the run ended before %s: rc=%s\n%s" % (what, proc.returncode, proc.stderr.read()))
        time.sleep(0.02)
    raise AssertionError("timed out waiting for " + what)


def interrupt(proc, sig, timeout=60):
    proc.send_signal(sig)
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == EXPECTED_STATUS[sig], (proc.returncode, out, err)
    assert "Traceback" not in err and "internal error" not in err, err
    return out, err


def seen(fc, method, fragment):
    return lambda: any(r["method"] == method and fragment in r["path"] for r in fc.requests)


def sig_id(sig):
    return signal.Signals(sig).name


# --------------------------------------------------------------------------- enable

def _assert_enable_left(fc, mc_expected):
    assert (fc.store.get("MachineConfig", MC_NAME) is not None) == mc_expected
    assert fc.store.get("RuntimeClass", RUNTIMECLASS_NAME) is None      # only created after the rollout
    assert [p["metadata"]["name"] for p in fc.store.list("MachineConfigPool")] == ["master", "worker"]
    for node in fc.store.list("Node"):                                  # no node moved or labelled
        assert not [k for k in node["metadata"]["labels"] if k.startswith("node-role.kubernetes.io/kata")]


def _finish_enable(fc, kc):
    res = run_cli(["enable", "--timeout", "60s"], kubeconfig=str(kc))
    assert res.exit_code == 0, res.stderr
    assert fc.store.get("RuntimeClass", RUNTIMECLASS_NAME) is not None
    assert [m["metadata"]["name"] for m in fc.store.list("MachineConfig")].count(MC_NAME) == 1
    pool = fc.store.get("MachineConfigPool", "worker")
    assert MC_NAME in [s["name"] for s in pool["spec"]["configuration"]["source"]]


@pytest.mark.parametrize("sig", SIGNALS, ids=sig_id)
@pytest.mark.parametrize("phase", ["preflight", "create", "rollout-wait"])
def test_enable_interrupted(make_fake_cluster, tmp_path, phase, sig):
    fc = make_fake_cluster(workers=3)
    kc = fc.write_kubeconfig(tmp_path / "kc")
    if phase == "preflight":
        fc.api.delay("GET", r"/machineconfigpools$", 3.0, times=1)
    elif phase == "create":
        fc.api.delay("POST", r"/machineconfigs$", 1.5, times=1)
    else:
        fc.mco.step_delay = 0.5
    proc = spawn(["enable", "--timeout", "60s"], kc)
    if phase == "preflight":
        wait_for(seen(fc, "GET", "/machineconfigpools"), "the preflight's pool list", proc=proc)
    elif phase == "create":
        wait_for(seen(fc, "POST", "/machineconfigs"), "the MachineConfig create", proc=proc)
    else:
        wait_for(lambda: fc.store.get("MachineConfig", MC_NAME) is not None, "the MachineConfig", proc=proc)
        wait_for(seen(fc, "GET", "/machineconfigpools"), "the rollout watch", proc=proc)
        time.sleep(0.3)
    time.sleep(0.1)
    out, err = interrupt(proc, sig)
    assert "To finish, run `kubectl kata enable` again with the same flags" in err, err
    if phase == "rollout-wait":
        assert "Stopped following pool worker." in err and "status --watch" in err
    else:
        assert "Interrupted before enable finished" in err
    time.sleep(1.6)   # a create in flight completes on the server (its outcome was unknown to the client)
    # what stays: the MachineConfig, once its create was sent (the README says so); nothing else
    _assert_enable_left(fc, mc_expected=phase != "preflight")
    if phase == "rollout-wait":
        assert fc.mco.wait_idle(30)    # the rollout went on without us
    _finish_enable(fc, kc)


# --------------------------------------------------------------------------- disable

@pytest.mark.parametrize("sig", SIGNALS, ids=sig_id)
@pytest.mark.parametrize("phase", ["preflight", "delete", "rollout-wait"])
def test_disable_interrupted(make_fake_cluster, tmp_path, phase, sig):
    fc = make_fake_cluster(workers=2)
    kc = fc.write_kubeconfig(tmp_path / "kc")
    res = run_cli(["enable", "--timeout", "60s"], kubeconfig=str(kc))
    assert res.exit_code == 0, res.stderr
    fc.reset_requests()
    if phase == "preflight":
        fc.api.delay("GET", r"/machineconfigpools$", 3.0, times=1)
    elif phase == "delete":
        fc.api.delay("DELETE", r"/machineconfigs/" + MC_NAME, 1.5, times=1)
    else:
        fc.mco.step_delay = 0.5
    proc = spawn(["disable", "--timeout", "60s"], kc)
    if phase == "preflight":
        wait_for(seen(fc, "GET", "/machineconfigpools"), "the preflight's pool list", proc=proc)
    elif phase == "delete":
        wait_for(seen(fc, "DELETE", "/machineconfigs/"), "the MachineConfig delete", proc=proc)
    else:
        wait_for(lambda: fc.store.get("MachineConfig", MC_NAME) is None, "the MachineConfig delete", proc=proc)
        time.sleep(0.3)
    time.sleep(0.1)
    out, err = interrupt(proc, sig)
    assert "To finish, run `kubectl kata disable` again with the same flags" in err, err
    time.sleep(1.6)
    if phase == "preflight":          # nothing was touched
        assert fc.store.get("MachineConfig", MC_NAME) is not None
        assert fc.store.get("RuntimeClass", RUNTIMECLASS_NAME) is not None
    assert [p["metadata"]["name"] for p in fc.store.list("MachineConfigPool")] == ["master", "worker"]
    res = run_cli(["disable", "--timeout", "60s"], kubeconfig=str(kc))
    assert res.exit_code == 0, res.stderr
    assert fc.store.get("MachineConfig", MC_NAME) is None
    assert fc.store.get("RuntimeClass", RUNTIMECLASS_NAME) is None
    if phase == "rollout-wait":    # the first run had deleted everything: the rollout went on without it
        assert "nothing to do" in res.stdout
    assert fc.mco.wait_idle(30)
    pool = fc.store.get("MachineConfigPool", "worker")
    assert MC_NAME not in [s["name"] for s in pool["spec"]["configuration"]["source"]]
    assert pool["status"]["updatedMachineCount"] == pool["status"]["machineCount"] == 2


# --------------------------------------------------------------------------- doctor

@pytest.fixture(scope="module")
def enabled_cluster(tmp_path_factory):
    """OCP 4.16.3, 3 workers, kata enabled by `kubectl kata enable`; nodes boot the release OS image."""
    fc = make_enabled_cluster(tmp_path_factory.mktemp("kc") / "kubeconfig")
    yield fc
    fc.stop()


def _alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _assert_doctor_clean(fc, fake_oc):
    assert fake_oc.live_pods() == []
    assert fc.api.namespaces.wait_idle()        # a deleted namespace is Terminating until its controller ran
    assert not [n for n in fc.store.list("Namespace") if n["metadata"]["name"].startswith("kata-doctor-")]
    left = [inv for inv in fake_oc.invocations() if _alive(inv["pid"])]
    assert left == [], left     # no oc/kubectl child outlives the run


@pytest.mark.parametrize("sig", SIGNALS, ids=sig_id)
@pytest.mark.parametrize("phase", ["probing", "bundle-writing"])
def test_doctor_interrupted(enabled_cluster, fake_oc, tmp_path, phase, sig):
    fc = enabled_cluster
    images = {fc.ext_image: {"release": "4.16", "arch": "x86_64"}}
    out_dir = tmp_path / "bundles"
    out_dir.mkdir()
    args = ["doctor"]
    if phase == "probing":
        fake_oc.configure(nodes={n: {"behaviour": "hang"} for n in WORKERS}, images=images)
    else:
        # worker-0 finishes (its files are streamed into the bundle being written), the others hang
        fake_oc.configure(nodes={"worker-0": {"scenario": "no-kvm"}, "worker-1": {"behaviour": "hang"},
                                 "worker-2": {"behaviour": "hang"}}, images=images)
        args += ["--bundle", str(out_dir / "support.tar.gz")]
    proc = spawn(args, fc.kc)
    wait_for(lambda: len(fake_oc.events("pod-create")) >= 3, "three debug pods", proc=proc)
    if phase == "bundle-writing":
        wait_for(lambda: any(e["pod"].startswith("worker-0") for e in fake_oc.events("pod-delete")),
                 "worker-0's probe to finish", proc=proc)
        time.sleep(0.3)
    out, err = interrupt(proc, sig)
    assert "PARTIAL REPORT (interrupted)" in out
    assert "Interrupted: partial report" in err and "Debug pods and namespace removed." in err
    if phase == "bundle-writing":
        assert "1 of 3 node(s) finished" in err and "No support bundle written." in err
        assert "node.dev-kvm" in out
    _assert_doctor_clean(fc, fake_oc)
    assert list(out_dir.iterdir()) == []          # no bundle, no temporary file
    # a second run completes
    fake_oc.configure(nodes={"worker-0": {"scenario": "no-kvm"}}, images=images)
    res = run_cli(["doctor", "-o", "json", "--bundle", str(out_dir / "support.tar.gz")], kubeconfig=str(fc.kc),
                  environ={"FAKE_OC_SCENARIO_DIR": fake_oc.scenario_dir, "FAKE_OC_STATE_DIR": fake_oc.state_dir})
    assert res.exit_code == 1, res.stderr
    doc = json.loads(res.stdout)
    assert "interrupted" not in doc and doc["scope"]["nodes"] == WORKERS
    assert (out_dir / "support.tar.gz").is_file()
    _assert_doctor_clean(fc, fake_oc)


# --------------------------------------------------------------------------- status --watch, nohup

@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=sig_id)
def test_status_watch_interrupted(make_fake_cluster, tmp_path, sig):
    fc = make_fake_cluster(workers=2)
    fc.mco.step_delay = 0.5
    kc = fc.write_kubeconfig(tmp_path / "kc")
    assert run_cli(["enable", "--no-wait"], kubeconfig=str(kc)).exit_code == 0
    fc.reset_requests()
    proc = spawn(["status", "--watch", "--timeout", "60s"], kc)
    wait_for(lambda: any(r["query"].get("watch") in ("true", "1") for r in fc.requests), "the watch", proc=proc)
    out, err = interrupt(proc, sig)
    assert "Stopped following pool worker." in err
    assert fc.mco.wait_idle(30)


def test_sighup_ignored_under_nohup_keeps_running(make_fake_cluster, tmp_path):
    """`nohup kubectl kata enable` must survive the terminal closing: an ignored SIGHUP stays ignored."""
    fc = make_fake_cluster(workers=2)
    fc.mco.step_delay = 0.3
    kc = fc.write_kubeconfig(tmp_path / "kc")
    env = dict(os.environ, KUBECONFIG=str(kc), PYTHONPATH=ROOT)
    proc = subprocess.Popen(["nohup", sys.executable, "-m", "kubectl_kata", "enable", "--timeout", "60s"],
                            cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: fc.store.get("MachineConfig", MC_NAME) is not None, "the MachineConfig", proc=proc)
        proc.send_signal(signal.SIGHUP)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, (out, err)
    assert fc.store.get("RuntimeClass", RUNTIMECLASS_NAME) is not None


# --------------------------------------------------------------------------- the handler itself

def test_first_signal_interrupts_repeats_let_cleanup_finish_second_ctrl_c_forces():
    from kubectl_kata import interrupts

    before = {s: signal.getsignal(s) for s in interrupts.SIGNALS}
    restore = interrupts.install()
    try:
        assert all(signal.getsignal(s) is interrupts.handle for s in interrupts.SIGNALS)
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)
        assert interrupts.received() == signal.SIGTERM and interrupts.exit_status(130) == 143
        os.kill(os.getpid(), signal.SIGHUP)      # during cleanup: ignored
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)
        assert interrupts.exit_status(130) == 143   # the first signal decides the status
        with pytest.raises(KeyboardInterrupt):      # a second Ctrl-C still stops at once
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)
    finally:
        restore()
    assert {s: signal.getsignal(s) for s in interrupts.SIGNALS} == before
    restore = interrupts.install()                  # a new run starts uninterrupted
    restore()
    assert interrupts.received() is None and interrupts.exit_status(130) == 130


# --------------------------------------------------------------------------- upgrade (legacy migration)

@pytest.mark.parametrize("sig", SIGNALS, ids=sig_id)
@pytest.mark.parametrize("phase", ["preflight", "change", "rollout-wait"])
def test_upgrade_interrupted(make_fake_cluster, tmp_path, phase, sig, fake_oc):
    from tests.test_e2e_upgrade import _assert_migrated

    fc = make_fake_cluster(ocp_version="4.10.3", masters=1, workers=2, legacy="4.6")
    # upgrade inspects a legacy install's nodes first: the fake oc (on PATH for the subprocess) serves clean nodes
    fake_oc.configure(default={"scenario": "not-enabled", "release": "4.10"})
    kc = fc.write_kubeconfig(tmp_path / "kc")
    if phase == "preflight":
        fc.api.delay("GET", r"/machineconfigpools$", 3.0, times=1)
    elif phase == "change":
        fc.api.delay("DELETE", r"/namespaces/kata-operator$", 1.5, times=1)
    else:
        fc.mco.step_delay = 0.5
    proc = spawn(["upgrade", "--yes", "--timeout", "60s"], kc)
    if phase == "preflight":
        wait_for(seen(fc, "GET", "/machineconfigpools"), "the plan's pool list", proc=proc)
    elif phase == "change":
        wait_for(seen(fc, "DELETE", "/namespaces/kata-operator"), "the legacy namespace delete", proc=proc)
    else:
        wait_for(lambda: fc.store.get("MachineConfig", MC_NAME) is not None, "the MachineConfig", proc=proc)
        time.sleep(0.3)
    time.sleep(0.1)
    out, err = interrupt(proc, sig)
    if phase == "preflight":
        assert fc.store.get("Namespace", "kata-operator") is not None     # nothing changed yet
    else:
        assert "Run `kubectl kata upgrade` again to finish the job" in err, err
    time.sleep(1.6)
    assert fc.store.get("RuntimeClass", RUNTIMECLASS_NAME) is None       # created only after the rollout
    res = run_cli(["upgrade", "--yes", "--timeout", "60s"], kubeconfig=str(kc),
                  environ={"FAKE_OC_SCENARIO_DIR": fake_oc.scenario_dir, "FAKE_OC_STATE_DIR": fake_oc.state_dir})
    assert res.exit_code == 0, res.stderr
    _assert_migrated(fc, "kata-operator")
    assert fake_oc.live_pods() == []
