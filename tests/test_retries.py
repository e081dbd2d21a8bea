"""Transient API failures are retried (reads; 429 for everything), mutations are never blindly repeated,
and 409s are resolved by reading the object again (issue 12). Real HTTP against the fake API server;
waits are asserted on the times the *server* recorded, never on our own clock."""
from __future__ import annotations

import email.utils
import io
import threading
import time

import pytest

from kubectl_kata.context import Environment
from kubectl_kata.core.constants import MC_NAME
from kubectl_kata.errors import ClusterError, Conflict
from kubectl_kata.kube import retry
from kubectl_kata.kube.client import connect
from kubectl_kata.options import ConnectionOptions
from kubectl_kata.status import ExitStatus
from tests.clirunner import run_cli

POOLS = r"/apis/machineconfiguration.openshift.io/v1/machineconfigpools$"
MCS = r"/apis/machineconfiguration.openshift.io/v1/machineconfigs$"


def _kc(fc, tmp_path):
    return str(fc.write_kubeconfig(str(tmp_path / "kubeconfig")))


def _hits(fc, method, suffix):
    return [r for r in fc.requests if r["method"] == method and r["path"].endswith(suffix)
            and r["query"].get("watch") != "true"]


def _cluster(fc, tmp_path, verbosity=0, request_timeout=None):
    err = io.StringIO()
    env = Environment(stdout=io.StringIO(), stderr=err, environ={"HOME": str(tmp_path)})
    env.verbosity = verbosity
    return connect(ConnectionOptions(kubeconfig=_kc(fc, tmp_path), request_timeout=request_timeout), env), err


# ----------------------------------------------------------------------------------------- reads


def test_two_503_on_the_pool_list_then_status_succeeds(make_fake_cluster, tmp_path):
    fc = make_fake_cluster(workers=2)
    fc.fail_next("GET", POOLS, 503, times=2)
    res = run_cli(["status"], kubeconfig=_kc(fc, tmp_path))
    assert res.exit_code == 0, res.stderr
    assert "worker" in res.stdout
    assert [r["status"] for r in _hits(fc, "GET", "/machineconfigpools")] == [503, 503, 200]


@pytest.mark.parametrize("code", [500, 502, 504])
def test_other_transient_codes_are_retried_for_reads(make_fake_cluster, tmp_path, code):
    fc = make_fake_cluster(workers=1)
    fc.fail_next("GET", POOLS, code, times=1)
    res = run_cli(["status"], kubeconfig=_kc(fc, tmp_path))
    assert res.exit_code == 0, res.stderr
    assert [r["status"] for r in _hits(fc, "GET", "/machineconfigpools")] == [code, 200]


def test_429_waits_at_least_what_retry_after_asks(make_fake_cluster, tmp_path):
    fc = make_fake_cluster(workers=1)
    fc.fail_next("GET", POOLS, 429, times=1, headers={"Retry-After": "1"})
    res = run_cli(["status"], kubeconfig=_kc(fc, tmp_path))
    assert res.exit_code == 0, res.stderr
    first, second = _hits(fc, "GET", "/machineconfigpools")
    assert first["status"] == 429 and second["status"] == 200
    assert second["time"] - first["time"] >= 1.0


def test_retry_after_as_an_http_date(make_fake_cluster, tmp_path):
    fc = make_fake_cluster(workers=1)
    when = email.utils.formatdate(time.time() + 2.5, usegmt=True)  # whole seconds: >= 1.5 s from now
    fc.fail_next("GET", POOLS, 503, times=1, headers={"Retry-After": when})
    res = run_cli(["status"], kubeconfig=_kc(fc, tmp_path))
    assert res.exit_code == 0, res.stderr
    first, second = _hits(fc, "GET", "/machineconfigpools")
    assert second["time"] >= email.utils.parsedate_to_datetime(when).timestamp() - 0.05
    assert second["time"] - first["time"] >= 1.0


def test_persistent_503_gives_up_with_one_line(make_fake_cluster, tmp_path):
    fc = make_fake_cluster(workers=1)
    fc.fail_next("GET", POOLS, 503, times=None)
    res = run_cli(["status"], kubeconfig=_kc(fc, tmp_path))
    assert res.exit_code == ExitStatus.CLUSTER_ERROR
    lines = res.stderr.splitlines()
    assert lines[0].startswith("error: server error 503 on get machineconfigpools")
    assert "gave up after 5 attempts" in lines[0]
    assert all(line.startswith("hint:") for line in lines[1:]) and "Traceback" not in res.stderr
    assert len(_hits(fc, "GET", "/machineconfigpools")) == retry.RetryPolicy().attempts


def test_vv_shows_each_retry_and_its_wait_without_secrets(make_fake_cluster, tmp_path):
    fc = make_fake_cluster(workers=1)
    fc.fail_next("GET", POOLS, 503, times=2, headers={"Retry-After": "0"})
    res = run_cli(["status", "-vv"], kubeconfig=_kc(fc, tmp_path))
    assert res.exit_code == 0, res.stderr
    retries = [line for line in res.stderr.splitlines() if "retry" in line and "machineconfigpools" in line]
    assert len(retries) == 2
    assert "HTTP 503; retry 1 of 4 in" in retries[0] and "server asked 0s" in retries[0]
    assert "retry 2 of 4 in" in retries[1]
    for secret in fc.secret_values():
        assert secret not in res.stderr
    assert "Authorization" not in res.stderr and "Retry-After" not in res.stderr


def test_request_timeout_bounds_the_retries(make_fake_cluster, tmp_path):
    """The server asks for 5 s; --request-timeout 2s covers the request with its retries: give up at once."""
    fc = make_fake_cluster(workers=1)
    fc.fail_next("GET", POOLS, 429, times=1, headers={"Retry-After": "5"})
    res = run_cli(["status", "--request-timeout", "2s"], kubeconfig=_kc(fc, tmp_path))
    assert res.exit_code == ExitStatus.CLUSTER_ERROR
    assert "error: server error 429" in res.stderr.splitlines()[0]
    assert len(_hits(fc, "GET", "/machineconfigpools")) == 1


def test_a_long_retry_after_is_not_waited_for(make_fake_cluster, tmp_path):
    fc = make_fake_cluster(workers=1)
    fc.fail_next("GET", POOLS, 429, times=1, headers={"Retry-After": "3600"})
    res = run_cli(["status"], kubeconfig=_kc(fc, tmp_path))
    assert res.exit_code == ExitStatus.CLUSTER_ERROR
    assert "the server asked to retry after 3600s" in res.stderr.splitlines()[0]
    assert len(_hits(fc, "GET", "/machineconfigpools")) == 1


def test_a_dropped_connection_on_a_read_is_retried(make_fake_cluster, tmp_path):
    fc = make_fake_cluster(workers=1)
    fc.drop_next("GET", POOLS, times=2)
    res = run_cli(["status"], kubeconfig=_kc(fc, tmp_path))
    assert res.exit_code == 0, res.stderr
    assert [r["status"] for r in _hits(fc, "GET", "/machineconfigpools")] == ["dropped", "dropped", 200]


def test_watch_setup_is_retried(make_fake_cluster, tmp_path):
    fc = make_fake_cluster(workers=1)
    cluster, _ = _cluster(fc, tmp_path)
    rv = cluster.list("MachineConfigPool")["metadata"]["resourceVersion"]
    fc.fail_next("GET", POOLS, 503, times=1)
    events = list(cluster.watch("MachineConfigPool", rv, timeout_seconds=1))
    assert events == []  # nothing changed; what matters is that the watch was set up after the 503
    watches = [r for r in fc.requests if r["query"].get("watch") == "true"]
    assert [r["status"] for r in watches] == [503, 200]


def test_refused_after_the_server_answered_is_retried(make_fake_cluster, tmp_path):
    """An API server restarting (refusing for a moment) after it answered: the read waits for it."""
    fc = make_fake_cluster(workers=1)
    cluster, _ = _cluster(fc, tmp_path)
    assert cluster.get("MachineConfigPool", "worker") is not None
    port = fc.api.port
    fc.api.stop()
    restart = threading.Timer(0.5, fc.api.start, kwargs={"port": port})
    restart.start()
    try:
        assert cluster.get("MachineConfigPool", "master")["metadata"]["name"] == "master"
    finally:
        restart.join()
    assert cluster.retries >= 1


# ----------------------------------------------------------------------------------------- mutations


def test_5xx_on_a_create_is_not_repeated(make_fake_cluster, tmp_path):
    fc = make_fake_cluster(workers=1)
    fc.fail_next("POST", MCS, 503, times=1)
    res = run_cli(["enable", "--no-wait"], kubeconfig=_kc(fc, tmp_path))
    assert res.exit_code == ExitStatus.CLUSTER_ERROR
    assert len(_hits(fc, "POST", "/machineconfigs")) == 1
    assert fc.store.get("MachineConfig", MC_NAME) is None


def test_429_on_a_create_is_retried(make_fake_cluster, tmp_path):
    """Priority and fairness rejects before doing anything: sending the create again is safe."""
    fc = make_fake_cluster(workers=1)
    fc.fail_next("POST", MCS, 429, times=1, headers={"Retry-After": "1"})
    res = run_cli(["enable", "--no-wait"], kubeconfig=_kc(fc, tmp_path))
    assert res.exit_code == 0, res.stderr
    first, second = _hits(fc, "POST", "/machineconfigs")
    assert second["time"] - first["time"] >= 1.0 and second["status"] == 201


def test_create_whose_answer_was_lost_is_read_back_not_repeated(make_fake_cluster, tmp_path):
    fc = make_fake_cluster(workers=1)
    fc.drop_next("POST", MCS, times=1, after=True)
    res = run_cli(["enable", "--no-wait", "-vv"], kubeconfig=_kc(fc, tmp_path))
    assert res.exit_code == 0, res.stderr
    assert len(_hits(fc, "POST", "/machineconfigs")) == 1  # the create was not sent twice
    assert [r["status"] for r in _hits(fc, "GET", "/machineconfigs/" + MC_NAME)] == [200]
    assert "no answer, but it is there as sent" in res.stderr
    assert fc.store.get("MachineConfig", MC_NAME) is not None


def test_create_lost_before_it_was_carried_out_is_sent_again_after_reading(make_fake_cluster, tmp_path):
    fc = make_fake_cluster(workers=1)
    fc.drop_next("POST", MCS, times=1, after=False)
    res = run_cli(["enable", "--no-wait"], kubeconfig=_kc(fc, tmp_path))
    assert res.exit_code == 0, res.stderr
    posts = _hits(fc, "POST", "/machineconfigs")
    gets = _hits(fc, "GET", "/machineconfigs/" + MC_NAME)
    assert [r["status"] for r in posts] == ["dropped", 201]
    assert [r["status"] for r in gets] == [404] and posts[0]["time"] < gets[0]["time"] < posts[1]["time"]
    assert len([m for m in fc.store.list("MachineConfig") if m["metadata"]["name"] == MC_NAME]) == 1


def test_patch_whose_answer_was_lost_is_checked(make_fake_cluster, tmp_path):
    fc = make_fake_cluster(workers=1)
    cluster, _ = _cluster(fc, tmp_path)
    fc.drop_next("PATCH", r"/machineconfigpools/worker$", times=1, after=True)
    out = cluster.patch("MachineConfigPool", "worker", {"metadata": {"labels": {"h4": "x"}}})
    assert out["metadata"]["labels"]["h4"] == "x"
    assert [r["status"] for r in fc.requests if r["method"] == "PATCH"] == ["dropped"]


def test_delete_whose_answer_was_lost_is_checked(make_fake_cluster, tmp_path):
    fc = make_fake_cluster(workers=1)
    cluster, _ = _cluster(fc, tmp_path)
    cluster.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "default"}})
    fc.drop_next("DELETE", r"/configmaps/x$", times=1, after=True)
    assert cluster.delete("ConfigMap", "x", namespace="default") is True
    assert [r["status"] for r in fc.requests if r["method"] == "DELETE"] == ["dropped"]


# ----------------------------------------------------------------------------------------- conflicts


def _cm(name="c", data=None):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default"},
            "data": data or {"a": "1"}}


def test_create_or_get_returns_the_existing_object(make_fake_cluster, tmp_path):
    fc = make_fake_cluster(workers=1)
    cluster, _ = _cluster(fc, tmp_path)
    first, created = cluster.create_or_get(_cm())
    assert created
    again, created = cluster.create_or_get(_cm(data={"a": "2"}))
    assert not created and again["metadata"]["uid"] == first["metadata"]["uid"]
    assert again["data"] == {"a": "1"}  # nothing overwritten
    with pytest.raises(Conflict) as exc:
        cluster.create(_cm())
    assert exc.value.reason == "AlreadyExists"


def test_an_injected_conflict_on_create_is_not_taken_for_already_exists(make_fake_cluster, tmp_path):
    fc = make_fake_cluster(workers=1)
    cluster, _ = _cluster(fc, tmp_path)
    fc.fail_next("POST", r"/configmaps$", 409, times=1)
    with pytest.raises(Conflict) as exc:
        cluster.create_or_get(_cm())
    assert exc.value.reason == "Conflict"


def test_modify_rereads_and_reapplies_once_on_conflict(make_fake_cluster, tmp_path):
    fc = make_fake_cluster(workers=1)
    cluster, _ = _cluster(fc, tmp_path)
    cluster.create(_cm())
    calls = []

    def change(obj):
        calls.append(dict(obj["data"]))
        if len(calls) == 1:  # someone else writes between our read and our write
            other = fc.store.get("ConfigMap", "c", "default")
            other["data"]["b"] = "theirs"
            fc.store.update(other)
        if obj["data"].get("a") == "mine":
            return None
        obj["data"]["a"] = "mine"
        return obj

    out, written = cluster.modify("ConfigMap", "c", change, namespace="default")
    assert written and out["data"] == {"a": "mine", "b": "theirs"}  # their change kept, ours applied
    assert calls == [{"a": "1"}, {"a": "1", "b": "theirs"}]
    puts = [r["status"] for r in fc.requests if r["method"] == "PUT"]
    assert puts == [409, 200]


def test_modify_stops_when_the_change_no_longer_applies(make_fake_cluster, tmp_path):
    fc = make_fake_cluster(workers=1)
    cluster, _ = _cluster(fc, tmp_path)
    cluster.create(_cm())

    def change(obj):
        if obj["data"].get("a") == "done":
            return None
        other = fc.store.get("ConfigMap", "c", "default")
        other["data"]["a"] = "done"  # someone else did it meanwhile
        fc.store.update(other)
        obj["data"]["a"] = "done"
        return obj

    out, written = cluster.modify("ConfigMap", "c", change, namespace="default")
    assert not written and out["data"]["a"] == "done"
    assert [r["status"] for r in fc.requests if r["method"] == "PUT"] == [409]


def test_patch_if_conflict_rereads_and_checks_again(make_fake_cluster, tmp_path):
    fc = make_fake_cluster(workers=1)
    cluster, _ = _cluster(fc, tmp_path)
    cluster.create(_cm())
    seen = []

    def still_applies(obj):
        seen.append(obj["metadata"]["resourceVersion"])
        if len(seen) == 1:
            other = fc.store.get("ConfigMap", "c", "default")
            other["data"]["b"] = "theirs"
            fc.store.update(other)
        return "gone" not in obj["data"]

    out, patched = cluster.patch_if("ConfigMap", "c", {"data": {"a": "2"}}, still_applies, namespace="default")
    assert patched and out["data"] == {"a": "2", "b": "theirs"}
    assert len(seen) == 2 and seen[0] != seen[1]
    assert [r["status"] for r in fc.requests if r["method"] == "PATCH"] == [409, 200]


def test_unknown_errors_are_still_one_line(make_fake_cluster, tmp_path):
    fc = make_fake_cluster(workers=1)
    cluster, _ = _cluster(fc, tmp_path)
    fc.fail_next("GET", r"/configmaps/nope$", 400, times=1)
    with pytest.raises(ClusterError) as exc:
        cluster.get("ConfigMap", "nope", "default")
    assert "\n" not in exc.value.message


# ----------------------------------------------------------------------------------------- policy (pure)


def test_parse_retry_after():
    now = 1_000_000_000.0
    assert retry.parse_retry_after("1", now) == 1.0
    assert retry.parse_retry_after(" 120 ", now) == 120.0
    assert retry.parse_retry_after(email.utils.formatdate(now + 30, usegmt=True), now) == pytest.approx(30, abs=1)
    assert retry.parse_retry_after(email.utils.formatdate(now - 30, usegmt=True), now) == 0.0
    for bad in (None, "", "soon", "-1", "1.5e3"):
        assert retry.parse_retry_after(bad, now) is None


def test_backoff_is_capped_jittered_and_never_below_retry_after():
    policy = retry.RetryPolicy(base=0.25, cap=4.0)
    assert [policy.backoff(n, rand=lambda: 0.0) for n in (1, 2, 3, 4, 5, 9)] == [0.125, 0.25, 0.5, 1.0, 2.0, 2.0]
    assert [policy.backoff(n, rand=lambda: 1.0) for n in (1, 2, 3, 4, 5, 9)] == [0.25, 0.5, 1.0, 2.0, 4.0, 4.0]
    for r in (0.0, 0.5, 0.999):
        assert policy.wait_for(1, 3.0, rand=lambda r=r: r) >= 3.0
    assert retry.retryable_status("POST", 429) and not retry.retryable_status("POST", 503)
    assert retry.retryable_status("GET", 503) and not retry.retryable_status("GET", 501)


def test_an_access_review_is_retried_like_a_read(make_fake_cluster, tmp_path):
    """A SelfSubjectAccessReview is a POST that changes nothing: a lost answer is simply asked again."""
    from kubectl_kata.kube.workloads import WorkloadAPI

    from tests.fakeapi.daemonset import DaemonSetController

    fc = make_fake_cluster(workers=1)
    controller = DaemonSetController(fc.api).install()  # serves SelfSubjectAccessReviews
    try:
        cluster, _ = _cluster(fc, tmp_path)
        fc.drop_next("POST", r"/selfsubjectaccessreviews$", times=1)
        allowed, reason = WorkloadAPI(cluster).may("create", "pods", namespace="default")
    finally:
        controller.stop()
    assert allowed, reason
    posts = [r["status"] for r in fc.requests if r["method"] == "POST"]
    assert posts[0] == "dropped" and len(posts) == 2 and posts[1] in (200, 201)


def test_a_lost_write_answer_seen_by_a_direct_caller_is_one_cluster_error(make_fake_cluster, tmp_path):
    fc = make_fake_cluster(workers=1)
    cluster, _ = _cluster(fc, tmp_path)
    fc.drop_next("POST", r"/configmaps$", times=1, after=True)
    with pytest.raises(ClusterError) as exc:
        cluster.request("POST", "/api/v1/namespaces/default/configmaps", body=_cm("d"), what="configmaps d")
    assert "connection" in exc.value.message and "\n" not in exc.value.message
    assert exc.value.exit_status == ExitStatus.CLUSTER_ERROR
