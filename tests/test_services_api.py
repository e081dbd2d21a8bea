"""The service API on its own (issue 10): services take a request and a Reporter and return an outcome,
without printing; the CLI reporter routes what they tell to stdout or stderr. Real kubernetes client
against the loopback fake API server (tests/fakeapi) with its simulated MCO; nothing here is mocked."""
from __future__ import annotations

import datetime
import io

import pytest

from kubectl_kata.connection import ConnectionOptions
from kubectl_kata.context import Environment
from kubectl_kata.core.constants import MC_NAME
from kubectl_kata.render.reporter import CliReporter
from kubectl_kata.services.cluster_facts import open_cluster
from kubectl_kata.services.disabling import DisableRequest, KataPodsRunning, disable
from kubectl_kata.services.enabling import EnableRequest, enable
from kubectl_kata.services.follow import FollowInterrupted, follow_pool
from kubectl_kata.services.preflight import PreflightProblems
from kubectl_kata.services.reporting import Reporter
from kubectl_kata.services.status import status_report, watch_status


class Recorder(Reporter):
    """Keeps every call, so a test can say what a service told the user."""

    def __init__(self):
        self.calls = []

    def step(self, text):
        self.calls.append(("step", text))

    def changed(self, obj, action, detail=""):
        self.calls.append(("changed", obj["kind"], obj["metadata"]["name"], action, detail))

    def warning(self, text, hint=None):
        self.calls.append(("warning", text, hint))

    def rollout_started(self, pool):
        self.calls.append(("rollout_started", pool))

    def rollout_finished(self, state):
        self.calls.append(("rollout_finished", None if state is None else state.phase))


def _cluster(fc, tmp_path):
    env = Environment(environ={"KUBECONFIG": str(fc.write_kubeconfig(str(tmp_path / "kc")))},
                      stdout=io.StringIO(), stderr=io.StringIO())
    return open_cluster(ConnectionOptions(), env), env


def _workers(fc):
    return sorted(n["metadata"]["name"] for n in fc.store.list("Node")
                  if "node-role.kubernetes.io/worker" in n["metadata"]["labels"])


def test_enable_and_disable_return_what_they_did_and_print_nothing(make_fake_cluster, tmp_path, capsys):
    fc = make_fake_cluster(workers=2)
    cluster, env = _cluster(fc, tmp_path)
    out = enable(cluster, EnableRequest(timeout=60), Reporter())
    assert out.stopped == "done" and out.pool == "worker" and not out.already_enabled
    assert [(o["kind"], o["metadata"]["name"]) for o in out.created] == [("MachineConfig", MC_NAME)]
    assert out.rollout.phase == "done" and out.rollout.counters["machineCount"] == 2
    assert out.runtime_class["metadata"]["name"] == "kata" and fc.store.get("RuntimeClass", "kata") is not None
    again = enable(cluster, EnableRequest(timeout=60), Reporter())
    assert again.already_enabled and again.created == [] and again.stopped == "done"

    gone = disable(cluster, DisableRequest(timeout=60), Reporter())
    assert gone.stopped == "done" and gone.pool == "worker"
    assert [o["metadata"]["name"] for o in gone.deleted] == ["kata", MC_NAME]
    assert fc.store.get("MachineConfig", MC_NAME) is None
    assert disable(cluster, DisableRequest(timeout=60), Reporter()).stopped == "nothing-to-do"
    # a silent reporter and no streams touched: the service itself never prints
    assert capsys.readouterr() == ("", "")
    assert env.stdout.getvalue() == "" and env.stderr.getvalue() == ""


def test_enable_tells_the_reporter_each_change_and_the_rollout(make_fake_cluster, tmp_path):
    fc = make_fake_cluster(workers=3)
    cluster, _ = _cluster(fc, tmp_path)
    chosen = _workers(fc)[:2]
    rec = Recorder()
    req = EnableRequest.from_flags(pool=None, create_pool="kata-oc", node_selector=None, nodes=",".join(chosen),
                                   all_workers=False, dry_run="none", no_wait=False, timeout=60)
    out = enable(cluster, req, rec)
    assert out.labelled == chosen
    label = "labeled node-role.kubernetes.io/kata-oc"
    assert rec.calls == [
        ("changed", "MachineConfigPool", "kata-oc", "created", ""),
        ("changed", "MachineConfig", MC_NAME, "created", ""),
        ("changed", "Node", chosen[0], label, ""),
        ("changed", "Node", chosen[1], label, ""),
        ("rollout_started", "kata-oc"),
        ("rollout_finished", "done"),
        ("changed", "RuntimeClass", "kata", "created", ""),
    ]


def test_server_dry_run_and_no_wait_outcomes(make_fake_cluster, tmp_path):
    fc = make_fake_cluster(workers=2)
    cluster, _ = _cluster(fc, tmp_path)
    dry = enable(cluster, EnableRequest(dry_run="server"), Reporter())
    assert dry.stopped == "server-dry-run"
    assert [o["kind"] for o in dry.created] == ["MachineConfig", "RuntimeClass"]
    assert fc.store.get("MachineConfig", MC_NAME) is None
    nowait = enable(cluster, EnableRequest(no_wait=True), Reporter())
    assert nowait.stopped == "not-waiting" and nowait.rollout is None and nowait.runtime_class is None
    assert fc.store.get("MachineConfig", MC_NAME) is not None and fc.store.get("RuntimeClass", "kata") is None


def test_several_preflight_errors_travel_in_the_refusal(make_fake_cluster, tmp_path):
    fc = make_fake_cluster(operator=True, converged=True)
    cluster, _ = _cluster(fc, tmp_path)
    rec = Recorder()
    with pytest.raises(PreflightProblems) as info:
        enable(cluster, EnableRequest(), rec)
    exc = info.value
    assert exc.exit_status == 4 and exc.others
    assert f"and {len(exc.others)} more problem(s) above; nothing was changed" in exc.message
    assert all(p.severity == "error" for p in exc.others)
    assert [r for r in fc.requests if r["method"] in ("POST", "PATCH", "PUT", "DELETE")] == []


def test_kata_pods_blocking_disable_are_named_in_the_refusal(make_fake_cluster, tmp_path):
    from tests.fakeapi.seeds import _kata_pod

    fc = make_fake_cluster(workers=2)
    cluster, _ = _cluster(fc, tmp_path)
    enable(cluster, EnableRequest(timeout=60), Reporter())
    for i in range(22):
        fc.store.create(_kata_pod(i, _workers(fc)[0], "demo", datetime.datetime(2026, 11, 26, 10, 0, 0)))
    with pytest.raises(KataPodsRunning) as info:
        disable(cluster, DisableRequest(timeout=60), Reporter())
    assert len(info.value.pods) == 20 and "first 20 of 22 shown" in info.value.message
    assert fc.store.get("MachineConfig", MC_NAME) is not None


def test_ctrl_c_while_following_says_which_pool_and_closes_the_progress(make_fake_cluster, tmp_path):
    fc = make_fake_cluster(workers=2)
    cluster, env = _cluster(fc, tmp_path)

    class CtrlC(Recorder):
        def rollout(self, state):
            raise KeyboardInterrupt

    rec = CtrlC()
    with pytest.raises(FollowInterrupted) as info:
        follow_pool(cluster, "worker", MC_NAME, False, 60, rec, env.monotonic)
    assert isinstance(info.value, KeyboardInterrupt) and info.value.pool == "worker"
    assert rec.calls == [("rollout_started", "worker"), ("rollout_finished", None)]


def test_status_report_and_watch(make_fake_cluster, tmp_path):
    fc = make_fake_cluster(workers=2)
    cluster, _ = _cluster(fc, tmp_path)
    doc = status_report(cluster)
    assert doc["kind"] == "KataStatus" and doc["pool"] == "worker" and doc["enabled"] is False
    rec = Recorder()
    final = watch_status(cluster, doc, 60, rec)
    assert final.phase == "done" and rec.calls == [("rollout_started", "worker"), ("rollout_finished", "done")]
    assert watch_status(cluster, dict(doc, pool=None), 60, rec) is None


@pytest.mark.parametrize("to_stderr", [False, True])
def test_cli_reporter_routes_steps_and_warnings(to_stderr):
    out, err = io.StringIO(), io.StringIO()
    rep = CliReporter(Environment(stdout=out, stderr=err, environ={}), to_stderr=to_stderr)
    rep.changed({"kind": "MachineConfig", "metadata": {"name": MC_NAME}}, "created", "server dry run")
    rep.changed({"kind": "Node", "metadata": {"name": "w0"}}, "labeled node-role.kubernetes.io/kata-oc")
    rep.step("Waiting.")
    rep.warning("pool worker is paused", "unpause it")
    rep.warning("left in place")
    steps = (f"machineconfig.machineconfiguration.openshift.io/{MC_NAME} created (server dry run)\n"
             "node/w0 labeled node-role.kubernetes.io/kata-oc\nWaiting.\n")
    warnings = "warning: pool worker is paused\n  hint: unpause it\nwarning: left in place\n"
    if to_stderr:  # -o json|yaml: stdout keeps only the document
        assert out.getvalue() == "" and err.getvalue() == steps + warnings
    else:
        assert out.getvalue() == steps and err.getvalue() == warnings


def test_cli_prints_the_other_preflight_errors_above_the_error_line(make_fake_cluster, tmp_path):
    from tests.clirunner import run_cli

    fc = make_fake_cluster(operator=True, converged=True)
    res = run_cli(["enable", "-o", "json"], kubeconfig=str(fc.write_kubeconfig(str(tmp_path / "kc"))))
    assert res.exit_code == 4 and res.stdout == ""
    lines = res.stderr.splitlines()
    # the extra error (with its indented hint) comes first, then the error line that points up at it
    assert lines[0].startswith("error: this is a converged (compact) cluster")
    assert lines[1].startswith("  hint: rerun with --pool master")
    assert lines[2].startswith("error: ") and lines[2].endswith("(and 1 more problem(s) above; nothing was changed)")
    assert lines[3].startswith("hint: ") and len(lines) == 4
