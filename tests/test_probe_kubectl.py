"""KubectlDebugBackend against the fake `kubectl` (tests/fakebin/kubectl).

The fake keeps pods as files in its state dir and answers `debug node/`, `get pod -o json`,
`get pods -o name`, `logs -f` and `delete pod` with kubectl's real output shapes (DOMAIN.md 6.2),
so "the pod is always deleted" is checked against what a cluster would still hold.
"""
import threading
import time

import pytest

from kubectl_kata.probe.framing import RawResult
from kubectl_kata.probe.kubectl import KubectlDebugBackend
from kubectl_kata.probe.runner import (
    REASON_CANCELLED, REASON_EXIT_CODE, REASON_FORBIDDEN, REASON_FRAMING, REASON_IMAGE_PULL, REASON_OK,
    REASON_TIMEOUT, run_probes,
)
from tests.fakebin import _fakecommon

NS = "kata-doctor-x7k2p"
IMAGE = "registry.redhat.io/rhel9/support-tools:latest"


def backend(**kw):
    kw.setdefault("image_pull_grace_s", 0.3)
    kw.setdefault("poll_interval_s", 0.05)
    return KubectlDebugBackend(NS, IMAGE, **kw)


def expected_raw(node):
    return {k: RawResult(*v) for k, v in _fakecommon.node_raw(dict(_fakecommon.DEFAULT_NODE), node).items()}


def test_ok_nodes_are_collected_and_pods_deleted(fake_oc):
    fake_oc.configure(default={"latency_s": 0.3})
    results = run_probes(["w1", "w2", "w3"], backend(), parallel=3, per_node_timeout=30)
    for r in results:
        assert r.ok and r.reason == REASON_OK, r
        assert r.raw == expected_raw(r.node)
    debug = fake_oc.invocations("kubectl", "debug")
    assert len(debug) == 3
    for inv in debug:
        argv = inv["argv"]
        assert "--profile=sysadmin" in argv and "--image=" + IMAGE in argv
        assert argv[argv.index("-n") + 1] == NS
        assert not any(a in argv for a in ("--attach", "-i", "-it", "--stdin"))
    assert fake_oc.live_pods() == []
    assert len(fake_oc.events("pod-delete")) == 3


def test_hang_times_out_and_the_pod_is_deleted(fake_oc):
    fake_oc.configure(nodes={"w1": {"behaviour": "hang"}})
    start = time.monotonic()
    [r] = run_probes(["w1"], backend(), per_node_timeout=1.0, grace_s=2)
    assert time.monotonic() - start < 6
    assert r.reason == REASON_TIMEOUT
    assert fake_oc.live_pods() == []


def test_image_pull_names_the_image_and_the_pod_is_deleted(fake_oc):
    fake_oc.configure(nodes={"w1": {"behaviour": "imagepullbackoff"}})
    [r] = run_probes(["w1"], backend(), per_node_timeout=30)
    assert r.reason == REASON_IMAGE_PULL
    assert r.error.startswith('the debug pod image "%s" cannot be pulled (ImagePullBackOff: ' % IMAGE)
    assert fake_oc.live_pods() == []


def test_not_ready_node_pending_pod_times_out_and_is_deleted(fake_oc):
    fake_oc.configure(nodes={"w1": {"behaviour": "notready"}})
    [r] = run_probes(["w1"], backend(), per_node_timeout=0.8)
    assert r.reason == REASON_TIMEOUT
    assert r.error == "no result within 0.8s (debug pod never started)"
    assert fake_oc.live_pods() == []


def test_forbidden_creates_nothing(fake_oc):
    fake_oc.configure(nodes={"w1": {"behaviour": "forbidden"}})
    [r] = run_probes(["w1"], backend(), per_node_timeout=30)
    assert r.reason == REASON_FORBIDDEN
    assert 'cannot create pods in namespace "%s"' % NS in r.error
    assert fake_oc.events("pod-create") == []
    assert fake_oc.count("kubectl", "delete") == 0


def test_remote_failure_uses_the_container_exit_code_and_keeps_partial_data(fake_oc):
    fake_oc.configure(nodes={"w1": {"behaviour": "remote-fail"}})
    [r] = run_probes(["w1"], backend(), per_node_timeout=30)
    assert r.reason == REASON_EXIT_CODE
    assert r.raw and all(r.raw[k] == expected_raw("w1")[k] for k in r.raw)
    assert len(r.raw) < len(expected_raw("w1"))
    assert fake_oc.live_pods() == []


def test_truncated_logs_are_a_framing_failure(fake_oc):
    fake_oc.configure(nodes={"w1": {"behaviour": "truncate"}})
    [r] = run_probes(["w1"], backend(), per_node_timeout=30)
    assert r.reason == REASON_FRAMING
    assert fake_oc.live_pods() == []


def test_cancel_while_following_logs_deletes_the_pods(fake_oc):
    fake_oc.configure(default={"behaviour": "hang"})
    cancel = threading.Event()
    timer = threading.Timer(0.8, cancel.set)
    timer.start()
    try:
        results = run_probes(["w1", "w2"], backend(), parallel=2, per_node_timeout=60, cancel_event=cancel,
                             grace_s=2)
    finally:
        timer.cancel()
    assert [r.reason for r in results] == [REASON_CANCELLED] * 2
    assert len(fake_oc.events("pod-create")) == 2
    assert fake_oc.live_pods() == []


def test_image_is_required():
    with pytest.raises(ValueError, match="needs an image"):
        KubectlDebugBackend(NS, "")
