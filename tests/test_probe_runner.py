"""run_probes + OcDebugBackend against the fake `oc` (tests/fakebin/oc) on PATH.

The fake prints oc's real stderr notices and failure lines (DOMAIN.md 6.1) and records every
invocation and debug-pod create/delete in its state dir, so the tests can assert "one oc debug
per node" and "no pod left behind" the way a cluster would show them.
"""
import os
import signal
import threading
import time

import pytest

from kubectl_kata.probe import runner
from kubectl_kata.probe.oc import OcDebugBackend, diagnose_oc_stderr, simple_name
from kubectl_kata.probe.runner import (
    REASON_CANCELLED, REASON_EXIT_CODE, REASON_FORBIDDEN, REASON_FRAMING, REASON_IMAGE_PULL,
    REASON_INVALID_NODE, REASON_NOT_READY, REASON_NOT_ROOT, REASON_OK, REASON_POD_SECURITY,
    REASON_SCHEDULING, REASON_TIMEOUT, REASON_TOOL_MISSING, REASON_UNAUTHORIZED, REASON_UNREACHABLE,
    ProbesInterrupted, redact_argv, run_probes,
)
from kubectl_kata.probe.framing import RawResult
from tests.fakebin import _fakecommon

NS = "kata-doctor-x7k2p"


def backend(**kw):
    kw.setdefault("image_pull_grace_s", 0.3)
    return OcDebugBackend(NS, **kw)


def expected_raw(node, **spec):
    full = dict(_fakecommon.DEFAULT_NODE)
    full.update(spec)
    return {k: RawResult(*v) for k, v in _fakecommon.node_raw(full, node).items()}


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is gone for our purposes; read its state
    try:
        with open("/proc/%d/stat" % pid) as fh:
            return fh.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


def debug_pids(fake_oc):
    return [inv["pid"] for inv in fake_oc.invocations("oc", "debug")]


def test_six_nodes_three_at_a_time_all_ok(fake_oc):
    nodes = ["worker-%d.example.internal" % i for i in range(6)]
    fake_oc.configure(default={"latency_s": 0.4})
    progress = []
    results = run_probes(nodes, backend(), parallel=3, per_node_timeout=30,
                         on_progress=lambda *a: progress.append(a))
    assert [r.node for r in results] == nodes
    for r in results:
        assert r.ok and r.reason == REASON_OK and r.error is None, r
        assert r.raw == expected_raw(r.node)
        assert r.notes == []
    # exactly one oc debug per node, each into our namespace, no temporary namespaces
    invs = fake_oc.invocations("oc", "debug")
    assert sorted(a for inv in invs for a in inv["argv"] if a.startswith("node/")) == \
        sorted("node/" + n for n in nodes)
    assert all("--to-namespace=" + NS in inv["argv"] for inv in invs)
    assert all("-q" not in inv["argv"] and "--quiet" not in inv["argv"] for inv in invs)
    assert fake_oc.events("namespace-create") == []
    # oc names pods after the simplified node name
    assert sorted(e["pod"][:-6] for e in fake_oc.events("pod-create")) == \
        sorted(simple_name(n) + "-debug" for n in nodes)
    assert fake_oc.live_pods() == []
    # never more than 3 debug pods at the same time, and really parallel
    spans = []
    for e in fake_oc.events("pod-create"):
        end = next(d["t"] for d in fake_oc.events("pod-delete") if d["pod"] == e["pod"])
        spans.append((e["t"], end))
    peak = max(sum(1 for s, e in spans if s <= t < e) for t, _ in spans)
    assert 2 <= peak <= 3
    # progress: ends with all done, never more than 3 running
    assert progress[-1] == (6, 0, 0, 6)
    assert max(p[1] for p in progress) <= 3
    assert [p[0] for p in progress] == sorted(p[0] for p in progress)


def test_command_shape_and_redaction(fake_oc):
    fake_oc.configure()
    b = backend(kubeconfig="/home/u/.kube/config", context="admin", image="quay.example/tools:1")
    [r] = run_probes(["w1"], b, per_node_timeout=30)
    assert r.ok
    assert r.command[:7] == ["oc", "--kubeconfig=/home/u/.kube/config", "--context=admin", "debug",
                             "node/w1", "--to-namespace=" + NS, "--image=quay.example/tools:1"]
    assert r.command[7:12] == ["--", "chroot", "/host", "sh", "-c"]
    assert r.command[12].startswith("<collection script, ")
    assert fake_oc.events("pod-create")[0]["image"] == "quay.example/tools:1"
    assert redact_argv(["oc", "--token=sha256~abcdefghijklmnopqrstuvwxyz", "--token", "xyz", "get"]) == \
        ["oc", "--token=<redacted>", "--token", "<redacted>", "get"]


def test_hang_times_out_and_oc_deletes_its_pod(fake_oc):
    fake_oc.configure(nodes={"w1": {}, "w2": {"behaviour": "hang"}})
    start = time.monotonic()
    r1, r2 = run_probes(["w1", "w2"], backend(), parallel=2, per_node_timeout=1.5, grace_s=5)
    assert time.monotonic() - start < 6
    assert r1.ok
    assert not r2.ok and r2.reason == REASON_TIMEOUT
    assert r2.error == "no result within 1.5s"
    assert r2.raw is None
    assert "Starting pod/w2-debug-" in r2.stderr_tail and "Removing debug pod ..." in r2.stderr_tail
    assert fake_oc.live_pods() == []  # SIGTERM made oc clean up, as a real oc does
    assert not any(pid_alive(p) for p in debug_pids(fake_oc))


def test_sigterm_ignored_escalates_to_sigkill(fake_oc):
    fake_oc.configure(nodes={"w1": {"behaviour": "stubborn"}})
    start = time.monotonic()
    [r] = run_probes(["w1"], backend(), per_node_timeout=0.5, grace_s=0.5)
    assert time.monotonic() - start < 4
    assert r.reason == REASON_TIMEOUT
    assert not any(pid_alive(p) for p in debug_pids(fake_oc))
    # a SIGKILLed oc cannot clean up: this pod is what the caller's namespace deletion is for
    assert len(fake_oc.live_pods()) == 1


def test_image_pull_backoff_names_the_image_and_stops_early(fake_oc):
    fake_oc.configure(nodes={"w1": {"behaviour": "imagepullbackoff"}})
    start = time.monotonic()
    [r] = run_probes(["w1"], backend(image="mirror.local:5000/rhel9/support-tools:latest"),
                     per_node_timeout=60, grace_s=5)
    assert time.monotonic() - start < 10  # the pull grace, not the 60 s node timeout
    assert r.reason == REASON_IMAGE_PULL
    assert 'the debug pod image "mirror.local:5000/rhel9/support-tools:latest" cannot be pulled' in r.error
    assert "--image" in r.error
    assert "\n" not in r.error
    assert fake_oc.live_pods() == []


def test_image_pull_without_early_stop_reports_at_the_deadline(fake_oc):
    fake_oc.configure(nodes={"w1": {"behaviour": "imagepullbackoff"}})
    [r] = run_probes(["w1"], backend(image_pull_grace_s=None), per_node_timeout=1.0)
    assert r.reason == REASON_IMAGE_PULL
    assert r.error.startswith('no result within 1s: the debug pod image "registry.redhat.io/rhel9/support-tools"')
    assert fake_oc.live_pods() == []


def test_forbidden_says_which_permission(fake_oc):
    fake_oc.configure(nodes={"w1": {"behaviour": "forbidden"}})
    [r] = run_probes(["w1"], backend(), per_node_timeout=30)
    assert r.reason == REASON_FORBIDDEN
    assert r.error == ('permission denied: user "developer" cannot create pods in namespace "%s" '
                       '(needs RBAC "create" on "pods")' % NS)
    assert fake_oc.events("pod-create") == []


def test_pod_security_and_not_root(fake_oc):
    fake_oc.configure(nodes={"w1": {"behaviour": "podsecurity"}, "w2": {"behaviour": "notroot"}})
    r1, r2 = run_probes(["w1", "w2"], backend(), per_node_timeout=30)
    assert r1.reason == REASON_POD_SECURITY
    assert "pod-security.kubernetes.io/enforce=privileged" in r1.error
    assert r2.reason == REASON_NOT_ROOT


def test_remote_failure_keeps_partial_data(fake_oc):
    fake_oc.configure(nodes={"w1": {"behaviour": "remote-fail"}})
    [r] = run_probes(["w1"], backend(), per_node_timeout=30)
    assert not r.ok and r.reason == REASON_EXIT_CODE
    full = expected_raw("w1")
    assert r.raw and set(r.raw) < set(full)
    assert all(r.raw[k] == full[k] for k in r.raw)
    assert r.error == "the collection script exited non-zero on the node (partial data kept: %d items)" % len(r.raw)
    assert r.notes == ["END marker missing (output truncated)"]
    assert fake_oc.live_pods() == []


def test_truncated_log_with_exit_zero_is_a_framing_failure(fake_oc):
    fake_oc.configure(nodes={"w1": {"behaviour": "truncate"}})
    [r] = run_probes(["w1"], backend(), per_node_timeout=30)
    assert not r.ok and r.reason == REASON_FRAMING
    assert r.error.startswith("incomplete collection output: END marker missing (output truncated)")
    assert r.raw and all(r.raw[k] == expected_raw("w1")[k] for k in r.raw)


def test_remote_noise_in_the_log_is_ignored(fake_oc):
    fake_oc.configure(nodes={"w1": {"behaviour": "noise"}})
    [r] = run_probes(["w1"], backend(), per_node_timeout=30)
    assert r.ok and r.raw == expected_raw("w1")


def test_cancel_mid_run_stops_everything_and_leaves_no_pod(fake_oc):
    nodes = ["w%d" % i for i in range(5)]
    fake_oc.configure(default={"behaviour": "hang"})
    cancel = threading.Event()
    timer = threading.Timer(0.8, cancel.set)
    timer.start()
    start = time.monotonic()
    try:
        results = run_probes(nodes, backend(), parallel=2, per_node_timeout=60, cancel_event=cancel,
                             grace_s=5)
    finally:
        timer.cancel()
    assert time.monotonic() - start < 8
    assert [r.reason for r in results] == [REASON_CANCELLED] * 5
    started = [r for r in results if r.command]
    assert len(started) == 2 and len(fake_oc.invocations("oc", "debug")) == 2
    assert all(r.error.startswith("cancelled after") for r in started)
    assert sum(1 for r in results if r.error == "not probed: cancelled before start") == 3
    assert not any(pid_alive(p) for p in debug_pids(fake_oc))
    assert fake_oc.live_pods() == []


def test_ctrl_c_in_the_caller_cleans_up_then_raises(fake_oc):
    fake_oc.configure(default={"behaviour": "hang"})
    main = threading.main_thread().ident
    timer = threading.Timer(0.8, lambda: signal.pthread_kill(main, signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(ProbesInterrupted) as info:
            run_probes(["w1", "w2", "w3"], backend(), parallel=3, per_node_timeout=60, grace_s=5)
    finally:
        timer.cancel()
    assert isinstance(info.value, KeyboardInterrupt)
    assert [r.reason for r in info.value.results] == [REASON_CANCELLED] * 3
    assert not any(pid_alive(p) for p in debug_pids(fake_oc))
    assert fake_oc.live_pods() == []


def test_skip_invalid_and_duplicate_nodes(fake_oc):
    fake_oc.configure()
    results = run_probes(["w1", "w2", "w1", "Bad_Name", "-q"], backend(), per_node_timeout=30,
                         skip={"w2": REASON_NOT_READY})
    assert [r.node for r in results] == ["w1", "w2", "Bad_Name", "-q"]
    assert results[0].ok
    assert results[1].reason == REASON_NOT_READY and results[1].error.startswith("not probed: the node is not Ready")
    assert [r.reason for r in results[2:]] == [REASON_INVALID_NODE] * 2
    assert fake_oc.count("oc", "debug") == 1


def test_missing_oc_binary(fake_oc, tmp_path):
    [r] = run_probes(["w1"], backend(oc_path=str(tmp_path / "no-such-oc")), per_node_timeout=5)
    assert r.reason == REASON_TOOL_MISSING
    assert r.error.startswith("cannot run %s" % (tmp_path / "no-such-oc"))


def test_a_crashing_backend_does_not_lose_other_results():
    class Flaky(runner.ProbeBackend):
        def probe(self, node, *, timeout_s, cancel_event, grace_s):
            if node == "w2":
                raise RuntimeError("boom")
            return runner.NodeProbeResult(node, True, {}, None, REASON_OK, "", 0.0, [])

    results = run_probes(["w1", "w2", "w3"], Flaky(), parallel=2, on_progress=lambda *a: 1 / 0)
    assert [r.reason for r in results] == [REASON_OK, runner.REASON_INTERNAL, REASON_OK]
    assert results[1].error == "internal error: RuntimeError: boom"


def test_argument_validation():
    with pytest.raises(ValueError):
        OcDebugBackend("Not_A_Namespace")
    with pytest.raises(ValueError):
        OcDebugBackend(NS, image="--privileged")
    with pytest.raises(ValueError):
        run_probes(["w1"], backend(), parallel=0)


# --- stderr classification on real-shaped oc output (DOMAIN.md 6.1) -------------------------

@pytest.mark.parametrize("stderr, reason, fragment", [
    ("error: can't debug nodes without running as the root user\n", REASON_NOT_ROOT, "root user"),
    ('Starting pod/w1-debug-abcde ...\nerror: debug pod could not be scheduled: 0/6 nodes are available. '
     'Try: oc adm new-project --node-selector="" debug\n', REASON_SCHEDULING, "could not be scheduled"),
    ("error: You must be logged in to the server (Unauthorized)\n", REASON_UNAUTHORIZED, "not logged in"),
    ("Unable to connect to the server: dial tcp 10.0.0.1:6443: i/o timeout\n", REASON_UNREACHABLE,
     "cannot reach the API server"),
    ('Error from server (Forbidden): nodes "w1" is forbidden: User "dev" cannot get resource "nodes" in API '
     'group "" at the cluster scope\n', REASON_FORBIDDEN, 'cannot get nodes at cluster scope'),
    ('Error from server (NotFound): nodes "w9" not found\n', runner.REASON_NODE_NOT_FOUND, 'node "w9" not found'),
    ('Error from server (Forbidden): pods "w1-debug-abcde" is forbidden: unable to validate against any '
     'security context constraint: [provider "anyuid": Forbidden: not usable by user or serviceaccount]\n',
     REASON_FORBIDDEN, "privileged SCC"),
    ('warning: Container container-00 is unable to start due to an error: Back-off pulling image '
     '"registry.redhat.io/rhel9/support-tools": dial tcp: lookup registry.redhat.io: no such host\n',
     REASON_IMAGE_PULL, '"registry.redhat.io/rhel9/support-tools" cannot be pulled'),
    ("warning: Container container-00 is unable to start due to an error: CreateContainerError\n",
     runner.REASON_CONTAINER_ERROR, "cannot start: CreateContainerError"),
])
def test_diagnose_oc_stderr(stderr, reason, fragment):
    got = diagnose_oc_stderr(stderr)
    assert got is not None and got[0] == reason
    assert fragment in got[1]


def test_benign_oc_notices_are_not_diagnosed():
    assert diagnose_oc_stderr(
        "Starting pod/w1-debug-abcde ...\nTo use host binaries, run `chroot /host`\n\nRemoving debug pod ...\n") is None


def test_simple_name_matches_oc():
    assert simple_name("ip-10-0-1-2.ec2.internal") == "ip-10-0-1-2ec2internal"
    assert simple_name("-Node_A-") == "nodea"
    assert len(simple_name("a" * 100)) == 63


# --------------------------------------------------------------------------- blocking waits (no polling)

def test_watch_is_called_on_stderr_data_not_on_a_timer():
    # the old runner polled watch every 50 ms (~30 calls here); now it runs when stderr grows
    calls = []

    def watch(stdout_len, stderr, elapsed):
        calls.append(stderr)
        return False

    out = runner.run_command(["sh", "-c", "echo starting >&2; sleep 1.5; echo done"], timeout_s=30,
                             watch=watch, cancel_event=runner.CancelEvent())
    assert out.rc == 0 and out.stdout == b"done\n" and not out.stopped
    assert 1 <= len(calls) <= 2 and calls[-1] == b"starting\n"


def test_watch_asks_to_be_called_again_after_a_delay():
    calls = []

    def watch(stdout_len, stderr, elapsed):
        if not stderr:
            return False      # called before the child wrote anything: nothing to wait for yet
        calls.append(elapsed)
        return True if len(calls) >= 2 else 0.4   # "ask me again in 0.4 s", then abort

    start = time.monotonic()
    out = runner.run_command(["sh", "-c", "echo pulling >&2; exec sleep 30"], timeout_s=30, watch=watch,
                             grace_s=2)
    assert out.aborted and time.monotonic() - start < 5
    assert len(calls) == 2 and calls[1] - calls[0] >= 0.35


def test_cancel_event_wakes_a_blocked_command_at_once():
    cancel = runner.CancelEvent()
    threading.Timer(0.3, cancel.set).start()
    start = time.monotonic()
    out = runner.run_command(["sleep", "30"], timeout_s=60, cancel_event=cancel, grace_s=2)
    assert out.cancelled and out.rc is not None
    assert time.monotonic() - start < 1.5


def test_plain_event_cancel_still_works():
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    start = time.monotonic()
    out = runner.run_command(["sleep", "30"], timeout_s=60, cancel_event=cancel, grace_s=2)
    assert out.cancelled and time.monotonic() - start < 2


def test_ctrl_c_while_waiting_in_the_main_thread_stops_the_child(tmp_path):
    # e.g. Ctrl-C during `oc image extract`: the child has its own session, the terminal's SIGINT never
    # reaches it, so run_command must stop its process group before letting the interrupt through
    import _thread

    pidfile = tmp_path / "pid"
    timer = threading.Timer(0.5, _thread.interrupt_main)
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        try:
            runner.run_command(["sh", "-c", "echo $$ > %s; exec sleep 30" % pidfile], timeout_s=60, grace_s=2)
        finally:
            timer.cancel()
    pid = int(pidfile.read_text())
    deadline = time.monotonic() + 3
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not pid_alive(pid)


def test_kube_global_flags_name_only_connection_settings():
    assert runner.kube_global_flags("/k/c", "ctx", "cl", "u", "system:admin", ["g1", "g2"]) == [
        "--kubeconfig=/k/c", "--context=ctx", "--cluster=cl", "--user=u", "--as=system:admin",
        "--as-group=g1", "--as-group=g2"]
    assert runner.kube_global_flags() == []
