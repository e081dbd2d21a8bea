"""The DaemonSet node collector (kubectl_kata.probe.daemonset) against the fake API server's DaemonSet controller
(tests/fakeapi/daemonset.py), over real HTTP with the real kubernetes client. Node data: tests/nodesim through the
same scenario.json the fake `oc` reads (tests/fakebin/README.md)."""
from __future__ import annotations

import json
import os
import threading

import pytest

from kubectl_kata.context import Environment
from kubectl_kata.kube.client import connect
from kubectl_kata.kube.workloads import WorkloadAPI
from kubectl_kata.options import ConnectionOptions
from kubectl_kata.probe.daemonset import (CONTAINER, RUN_LABEL, DaemonSetCollector, build_objects, placement)
from kubectl_kata.probe.framing import parse_framed
from kubectl_kata.probe.runner import ProbesInterrupted
from tests import nodesim
from tests.fakeapi.daemonset import install_daemonsets, should_run

WORKERS = ["worker-0", "worker-1", "worker-2"]
NS = "kata-doctor-test1"


@pytest.fixture
def ds_cluster(make_fake_cluster, tmp_path, fake_oc):
    fc = make_fake_cluster(mco=False)
    install_daemonsets(fc, start_latency_s=0.05)
    kc = str(fc.write_kubeconfig(tmp_path / "kubeconfig"))
    cluster = connect(ConnectionOptions(kubeconfig=kc), Environment(environ={}))
    fc.store.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    fc.kc = kc
    fc.workloads = WorkloadAPI(cluster)
    yield fc
    fc.daemonsets.stop()


def hostname_affinity(nodes):
    return placement(nodes, None, {n: {"kubernetes.io/hostname": n} for n in nodes})


def collect(fc, nodes=WORKERS, **kw):
    col = DaemonSetCollector(fc.workloads, NS, kw.pop("image", "registry.example/tools:1"),
                             image_pull_grace_s=kw.pop("grace", 45.0), no_pod_grace_s=kw.pop("no_pod_grace", 30.0),
                             stall_s=kw.pop("stall", 10.0))
    where = kw.pop("where", None) or hostname_affinity(nodes)
    results = col.run(nodes, where=where, parallel=kw.pop("parallel", 2),
                      per_node_timeout=kw.pop("timeout", 20.0), **kw)
    return col, results


def create_run_objects(fc, where, script="@@KATA-abcdefgh12345678", run_id="r1", ns=NS):
    """The collector's objects (DaemonSet "probe") created by hand in ``ns``; returns once the fake controller is
    idle."""
    for o in build_objects("probe", ns, "registry.example/tools:1", script, where, run_id):
        fc.workloads.create(o)
    fc.daemonsets.wait_idle()


def log_gets(fc):
    return [r for r in fc.requests if r["method"] == "GET" and r["path"].endswith("/log")]


def pod_requests(fc):
    """Every pod request of the run but the log GETs: (list | watch, path)."""
    return [(("watch" if r["query"].get("watch") == "true" else "list"), r["path"]) for r in fc.requests
            if r["method"] == "GET" and "/pods" in r["path"] and not r["path"].endswith("/log")]


def test_healthy_nodes_one_list_one_watch_one_log_get_each_and_cleanup(ds_cluster, fake_oc):
    fake_oc.configure(nodes={"worker-1": {"scenario": "no-kvm"}})
    ds_cluster.reset_requests()
    seen = []
    col, results = collect(ds_cluster, on_result=lambda r: seen.append(r.node))
    assert [r.node for r in results] == WORKERS and all(r.ok for r in results), [r.error for r in results]
    assert sorted(seen) == WORKERS
    # the raw items are the node's own collection output (nodesim), decoded from the pod log
    want = nodesim.make_node_raw("no-kvm", node="worker-1")
    got = results[1].raw
    assert set(got) == set(want) and got["paths"].stdout == bytes(want["paths"][0])
    assert pod_requests(ds_cluster) == [("list", "/api/v1/namespaces/%s/pods" % NS),
                                        ("watch", "/api/v1/namespaces/%s/pods" % NS)]
    assert sorted(r["path"].split("/")[-2].rsplit("-", 1)[0] for r in log_gets(ds_cluster)) == ["kata-doctor"] * 3
    assert {r["query"]["container"] for r in log_gets(ds_cluster)} == {CONTAINER}
    assert col.stats == {"lists": 1, "watches": 1, "log_gets": 3, "event_lists": 0}
    # DaemonSet deleted; its pods garbage-collected
    ds_cluster.daemonsets.wait_idle()
    assert ds_cluster.store.list("DaemonSet", NS) == []
    assert ds_cluster.store.list("Pod", NS) == []


def test_at_most_parallel_log_gets_are_in_flight(ds_cluster, fake_oc):
    # six nodes whose logs each take 0.2 s to serve, --parallel 2: never more than two log GETs at once
    class Counting:
        def __init__(self, api):
            self.api, self.now, self.most, self.lock = api, 0, 0, threading.Lock()

        def __getattr__(self, name):
            return getattr(self.api, name)

        def pod_log(self, *a, **kw):
            with self.lock:
                self.now += 1
                self.most = max(self.most, self.now)
            try:
                return self.api.pod_log(*a, **kw)
            finally:
                with self.lock:
                    self.now -= 1

    nodes = WORKERS + ["master-0", "master-1", "master-2"]
    counting = Counting(ds_cluster.workloads)
    ds_cluster.daemonsets.log_latency_s = 0.2
    try:
        col = DaemonSetCollector(counting, NS, "registry.example/tools:1")
        results = col.run(nodes, where=hostname_affinity(nodes), parallel=2, per_node_timeout=20.0)
    finally:
        ds_cluster.daemonsets.log_latency_s = 0.0
    assert all(r.ok for r in results), [r.error for r in results]
    assert counting.most == 2 and col.stats["log_gets"] == 6


def test_a_node_whose_log_is_still_being_parsed_is_not_fetched_again(ds_cluster, fake_oc, monkeypatch):
    """Regression: the node left the "fetching" set before its result was recorded, so a full rescan of the nodes
    (every 0.5 s) in that window fetched its log a second time (seen at 5,000 nodes: 5,006 log GETs)."""
    import kubectl_kata.probe.daemonset.collector as ds_mod

    real = ds_mod.build_result

    def slow_build(*a, **kw):          # the window between the log's arrival and the node's result, widened
        import time
        time.sleep(0.7)
        return real(*a, **kw)

    monkeypatch.setattr(ds_mod, "build_result", slow_build)
    ds_cluster.reset_requests()
    col, results = collect(ds_cluster)
    assert all(r.ok for r in results), [r.error for r in results]
    assert len(log_gets(ds_cluster)) == 3 and col.stats["log_gets"] == 3


def test_objects_created_are_the_documented_ones(ds_cluster, fake_oc):
    ds_cluster.reset_requests()
    collect(ds_cluster, nodes=["worker-0"])
    posts = {r["body"]["kind"]: r["body"] for r in ds_cluster.requests if r["method"] == "POST"}
    assert set(posts) == {"ConfigMap", "ServiceAccount", "RoleBinding", "DaemonSet"}
    ds = posts["DaemonSet"]
    spec = ds["spec"]["template"]["spec"]
    assert spec["hostPID"] is True and spec["tolerations"] == [{"operator": "Exists"}]
    c = spec["containers"][0]
    assert c["securityContext"]["privileged"] is True and c["image"] == "registry.example/tools:1"
    assert {"name": "host", "hostPath": {"path": "/", "type": "Directory"}} in spec["volumes"]
    assert {"name": "host", "mountPath": "/host"} in c["volumeMounts"]
    assert "chroot /host" in c["command"][2] and c["readinessProbe"]["exec"]["command"][0] == "cat"
    terms = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms == [{"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In",
                                            "values": ["worker-0"]}]}]
    assert posts["RoleBinding"]["roleRef"]["name"] == "system:openshift:scc:privileged"
    assert posts["RoleBinding"]["subjects"][0]["name"] == spec["serviceAccountName"]
    # the script in the ConfigMap is the framed collection script
    assert "@@KATA-" in posts["ConfigMap"]["data"]["collect.sh"]


def test_pods_that_do_not_run_are_reported_with_their_cause_and_hold_nobody_up(ds_cluster, fake_oc):
    fake_oc.configure(nodes={"worker-0": {"behaviour": "imagepullbackoff"},
                             "worker-1": {"behaviour": "unschedulable"},
                             "worker-2": {"behaviour": "hang"}}, default={})
    nodes = WORKERS + ["master-0"]
    col, results = collect(ds_cluster, nodes=nodes, image="mirror.local/tools:1", timeout=2.0, grace=0.5)
    by = {r.node: r for r in results}
    assert by["master-0"].ok
    assert by["worker-0"].reason == "image-pull" and "mirror.local/tools:1" in by["worker-0"].error
    assert "ImagePullBackOff" in by["worker-0"].error
    assert by["worker-1"].reason == "scheduling" and "Insufficient memory" in by["worker-1"].error
    assert by["worker-2"].reason == "timeout" and "collection not finished" in by["worker-2"].error
    # the failing nodes got no log GET; the healthy one got one
    assert col.stats["log_gets"] == 1
    ds_cluster.daemonsets.wait_idle()
    assert ds_cluster.store.list("Pod", NS) == [] and ds_cluster.store.list("DaemonSet", NS) == []


def event_lists(fc):
    return [r for r in fc.requests if r["method"] == "GET" and r["path"] == "/api/v1/namespaces/%s/events" % NS]


def test_a_pod_refused_by_admission_is_reported_at_once_with_the_controllers_event(ds_cluster, fake_oc, tmp_path):
    # the DaemonSet controller cannot create worker-1's pod (an SCC denial); it says so only in a FailedCreate event
    fake_oc.configure(nodes={"worker-1": {"behaviour": "pod-refused"}})
    ds_cluster.reset_requests()
    col, results = collect(ds_cluster, timeout=60.0, no_pod_grace=0.3, stall=0.3)
    by = {r.node: r for r in results}
    assert by["worker-0"].ok and by["worker-2"].ok
    # reported as refused, with the controller's words, long before the 60 s deadline (a timeout would say so)
    assert by["worker-1"].reason == "pod-refused", by["worker-1"].error
    assert "FailedCreate" in by["worker-1"].error and 'pods "kata-doctor-" is forbidden: unable to validate ' \
        "against any security context constraint" in by["worker-1"].error
    [ev] = event_lists(ds_cluster)          # one event list, selected by field, whatever the number of pods
    assert ev["query"]["fieldSelector"] == "involvedObject.kind=DaemonSet,involvedObject.name=kata-doctor"
    assert col.stats["event_lists"] == 1 and col.stats["log_gets"] == 2
    # the real kubectl reads the same event through the same field selector
    import subprocess

    kubectl = "/usr/bin/kubectl"             # the real one (the fake kubectl is first on PATH in these tests)
    assert os.path.exists(kubectl), "the real kubectl is part of this test environment"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "KUBECONFIG": ds_cluster.kc}
    argv = [kubectl, "get", "events", "-n", NS, "--cache-dir", str(tmp_path / "cache"), "--field-selector",
            "involvedObject.kind=DaemonSet,involvedObject.name=kata-doctor", "-o", "json"]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=30, env=env)
    assert proc.returncode == 0, proc.stderr
    items = json.loads(proc.stdout)["items"]
    assert [(e["reason"], e["type"], e["involvedObject"]["kind"]) for e in items] == [
        ("FailedCreate", "Warning", "DaemonSet")] and items[0]["message"].startswith("Error creating: pods ")
    bad = subprocess.run(argv[:-4] + ["--field-selector", "spec.nodeName=worker-1"], capture_output=True,
                         text=True, timeout=30, env=env)
    assert bad.returncode != 0 and "is not a known field selector" in bad.stderr


def test_an_admission_webhook_denial_is_a_refusal_too(ds_cluster, fake_oc):
    denial = ('admission webhook "validation.gatekeeper.sh" denied the request: [psp-privileged-container] '
              "Privileged container is not allowed: collect, securityContext: {\"privileged\": true}")
    fake_oc.configure(nodes={n: {"behaviour": "pod-refused", "refusal": denial} for n in WORKERS})
    _, results = collect(ds_cluster, timeout=60.0, no_pod_grace=0.3, stall=0.3)
    assert {r.reason for r in results} == {"pod-refused"}
    assert all("validation.gatekeeper.sh" in r.error for r in results)


def test_other_creation_failures_are_waited_out_and_quoted_in_the_timeout(ds_cluster, fake_oc):
    # not a refusal by admission: it may pass (the controller retries), so the node keeps its deadline
    fake_oc.configure(nodes={"worker-2": {"behaviour": "pod-refused",
                                          "refusal": "Internal error occurred: resource quota evaluation timed out"}})
    ds_cluster.reset_requests()
    col, results = collect(ds_cluster, timeout=2.0, no_pod_grace=0.3, stall=0.3)
    by = {r.node: r for r in results}
    assert by["worker-0"].ok and by["worker-1"].ok
    assert by["worker-2"].reason == "timeout" and "no pod of DaemonSet" in by["worker-2"].error
    assert "resource quota evaluation timed out" in by["worker-2"].error
    assert 1 <= len(event_lists(ds_cluster)) == col.stats["event_lists"] <= 2


def test_pods_still_being_created_are_not_blamed_on_an_event(ds_cluster, fake_oc):
    # no grace at all, but pods keep appearing (creation has not stalled): nothing is looked up, and once every node
    # has its pod there is nothing to look up
    ds_cluster.reset_requests()
    col, results = collect(ds_cluster, timeout=20.0, no_pod_grace=0.0, stall=5.0)
    assert all(r.ok for r in results) and event_lists(ds_cluster) == [] and col.stats["event_lists"] == 0


def test_partial_and_failed_collections_keep_their_data(ds_cluster, fake_oc):
    fake_oc.configure(nodes={"worker-0": {"behaviour": "remote-fail"}, "worker-1": {"behaviour": "truncate"},
                             "worker-2": {"behaviour": "noise"}})
    _, results = collect(ds_cluster)
    by = {r.node: r for r in results}
    assert by["worker-0"].reason == "exit-code" and "exited non-zero" in by["worker-0"].error
    assert by["worker-0"].raw and len(by["worker-0"].raw) < len(nodesim.make_node_raw("healthy"))
    assert by["worker-1"].reason == "framing" and "END marker missing" in by["worker-1"].error
    assert by["worker-2"].ok


def test_ctrl_c_deletes_the_daemonset_and_reports_what_finished(ds_cluster, fake_oc):
    fake_oc.configure(nodes={"worker-1": {"behaviour": "hang"}, "worker-2": {"behaviour": "hang"}})
    import _thread

    timer = threading.Timer(1.0, _thread.interrupt_main)
    timer.start()
    try:
        with pytest.raises(ProbesInterrupted) as exc:
            collect(ds_cluster, timeout=30.0)
    finally:
        timer.cancel()
    by = {r.node: r for r in exc.value.results}
    assert by["worker-0"].ok and by["worker-1"].reason == by["worker-2"].reason == "cancelled"
    ds_cluster.daemonsets.wait_idle()
    assert ds_cluster.store.list("DaemonSet", NS) == [] and ds_cluster.store.list("Pod", NS) == []


def test_skipped_and_invalid_nodes_are_not_put_in_the_daemonset(ds_cluster, fake_oc):
    ds_cluster.reset_requests()
    _, results = collect(ds_cluster, nodes=["worker-0", "worker-1", "Bad_Name"], skip={"worker-1": "not-ready"},
                         where=hostname_affinity(["worker-0"]))
    assert [(r.node, r.reason) for r in results] == [("worker-0", "ok"), ("worker-1", "not-ready"),
                                                     ("Bad_Name", "invalid-node")]
    assert len(log_gets(ds_cluster)) == 1


# --------------------------------------------------------------------------- placement and the fake controller

def _labels(name, role):
    return {"kubernetes.io/hostname": name, "node-role.kubernetes.io/" + role: ""}


def test_placement_uses_the_pool_selector_only_when_it_selects_exactly_the_nodes():
    labels = {"worker-0": _labels("worker-0", "worker"), "worker-1": _labels("worker-1", "worker"),
              "master-0": _labels("master-0", "master")}
    pool = {"matchLabels": {"node-role.kubernetes.io/worker": ""}}
    assert placement(["worker-0", "worker-1"], pool, labels) == {
        "nodeSelector": {"node-role.kubernetes.io/worker": ""}}
    # one of the pool's nodes is left out (e.g. NotReady): pin the exact hostnames instead
    one = placement(["worker-0"], pool, labels)
    assert one["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"] \
        == [{"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In", "values": ["worker-0"]}]}]
    # hostname labels that do not tell the nodes apart: node names (matchFields) are exact
    labels["worker-1"]["kubernetes.io/hostname"] = "worker-0"
    same = placement(["worker-0"], None, labels)
    assert same["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"] == [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["worker-0"]}]}]


@pytest.mark.parametrize("tolerations,taint,runs", [
    ([], {"key": "node-role.kubernetes.io/master", "effect": "NoSchedule"}, False),
    ([{"operator": "Exists"}], {"key": "node-role.kubernetes.io/master", "effect": "NoSchedule"}, True),
    ([], {"key": "dedicated", "value": "gpu", "effect": "PreferNoSchedule"}, True),
    ([{"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoExecute"}],
     {"key": "dedicated", "value": "gpu", "effect": "NoExecute"}, True),
    ([{"key": "dedicated", "operator": "Equal", "value": "cpu"}], {"key": "dedicated", "value": "gpu",
                                                                   "effect": "NoSchedule"}, False),
    # the controller's own tolerations: cordoned and NotReady nodes still get a daemon pod
    ([], {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}, True),
    ([], {"key": "node.kubernetes.io/not-ready", "effect": "NoExecute"}, True),
])
def test_fake_controller_applies_taints_as_the_scheduler_does(tolerations, taint, runs):
    node = {"metadata": {"name": "n1", "labels": {"kubernetes.io/hostname": "n1"}}, "spec": {"taints": [taint]}}
    assert should_run({"tolerations": tolerations}, node) is runs


def test_fake_controller_status_and_selector_scoping(ds_cluster, fake_oc):
    where = {"nodeSelector": {"node-role.kubernetes.io/worker": ""}}
    create_run_objects(ds_cluster, where, run_id="r1")
    ds = ds_cluster.store.get("DaemonSet", "probe", NS)
    assert ds["status"]["desiredNumberScheduled"] == 3 and ds["status"]["numberReady"] == 3
    pods = ds_cluster.store.list("Pod", NS)
    assert sorted(p["spec"]["nodeName"] for p in pods) == WORKERS
    assert all(p["metadata"]["labels"][RUN_LABEL] == "r1" and p["status"]["phase"] == "Running" for p in pods)
    assert all(p["metadata"]["ownerReferences"][0]["uid"] == ds["metadata"]["uid"] for p in pods)
    # a tainted worker gets no pod from a DaemonSet without tolerations; the status says so
    node = ds_cluster.store.get("Node", "worker-2")
    node["spec"]["taints"] = [{"key": "dedicated", "value": "x", "effect": "NoSchedule"}]
    ds_cluster.store.update(node)
    ds["spec"]["template"]["spec"]["tolerations"] = []
    ds_cluster.store.update(ds)
    ds_cluster.daemonsets.wait_idle()
    assert sorted(p["spec"]["nodeName"] for p in ds_cluster.store.list("Pod", NS)) == ["worker-0", "worker-1"]
    assert ds_cluster.store.get("DaemonSet", "probe", NS)["status"]["desiredNumberScheduled"] == 2
    # the namespace's deletion removes the DaemonSet and its pods
    ds_cluster.store.flush()
    ds_cluster.workloads.cluster.delete("Namespace", NS)
    assert ds_cluster.api.namespaces.wait_idle()
    ds_cluster.daemonsets.wait_idle()
    assert ds_cluster.store.list("DaemonSet", NS) == [] and ds_cluster.store.list("Pod", NS) == []
    assert ds_cluster.store.list("ConfigMap", NS) == []
    assert ds_cluster.store.get("Namespace", NS) is None


def test_namespace_deletion_answers_terminating_and_empties_it_in_the_background(ds_cluster, tmp_path):
    # as a real cluster: the DELETE answers at once with the namespace Terminating (kubectl shows it so); nothing
    # new may be created in it meanwhile (403 NamespaceTerminating, and the DaemonSet controller makes no pod);
    # the namespace controller then deletes the content, removes the `kubernetes` finalizer and the namespace
    import json
    import subprocess

    from kubectl_kata.errors import ClusterError

    fc = ds_cluster
    NS = "kata-doctor-test2"        # made through the API: it has the `kubernetes` finalizer
    fc.workloads.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    create_run_objects(fc, {"nodeSelector": {"node-role.kubernetes.io/worker": ""}}, run_id="r2", ns=NS)
    assert len(fc.store.list("Pod", NS)) == 3
    fc.store.flush()
    fc.reset_requests()
    stall = threading.Event()
    orig = fc.api.namespaces._delete_content

    def slow(name):
        stall.wait(10)          # the controller has not got to it yet: what a client sees right after DELETE
        orig(name)

    fc.api.namespaces._delete_content = slow
    try:
        answer = fc.workloads.cluster.request("DELETE", "/api/v1/namespaces/" + NS, what="namespace")
        assert answer["status"]["phase"] == "Terminating" and answer["metadata"]["deletionTimestamp"]
        assert [r["status"] for r in fc.requests if r["method"] == "DELETE"] == [200]
        live = fc.store.get("Namespace", NS)
        assert live["status"]["phase"] == "Terminating" and live["spec"]["finalizers"] == ["kubernetes"]
        assert len(fc.store.list("Pod", NS)) == 3          # content still there until the controller runs
        out = subprocess.run(["/usr/bin/kubectl", "--kubeconfig", fc.kc, "get", "ns", NS, "--no-headers"],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0 and out.stdout.split()[:2] == [NS, "Terminating"], out
        with pytest.raises(ClusterError) as exc:
            fc.workloads.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "late", "namespace": NS}})
        assert "unable to create new content in namespace %s because it is being terminated" % NS in exc.value.message
        again = fc.workloads.cluster.request("DELETE", "/api/v1/namespaces/" + NS, what="namespace")
        assert again["metadata"]["deletionTimestamp"] == answer["metadata"]["deletionTimestamp"]
        # a pod the DaemonSet controller would now recreate is refused too
        pod = fc.store.list("Pod", NS)[0]
        fc.store.delete("Pod", pod["metadata"]["name"], NS)
        fc.store.flush()
        ds = fc.store.get("DaemonSet", "probe", NS)
        fc.daemonsets._reconcile(NS, "probe")
        assert len(fc.store.list("Pod", NS)) == 2 and ds is not None
    finally:
        stall.set()
    assert fc.api.namespaces.wait_idle()
    fc.daemonsets.wait_idle()
    assert fc.store.get("Namespace", NS) is None
    assert fc.store.list("Pod", NS) == [] and fc.store.list("DaemonSet", NS) == []
    assert fc.store.list("ConfigMap", NS) == [] and fc.store.list("ServiceAccount", NS) == []
    # the watch saw Terminating (MODIFIED), the finalize (MODIFIED, no finalizer) and then DELETED
    events = [(t, o["status"].get("phase"), tuple(o["spec"].get("finalizers") or ()))
              for t, o in fc.store.history_since("Namespace", 0) if o["metadata"]["name"] == NS]
    assert events == [("ADDED", "Active", ("kubernetes",)), ("MODIFIED", "Terminating", ("kubernetes",)),
                      ("MODIFIED", "Terminating", ()), ("DELETED", "Terminating", ())], json.dumps(events)


def test_access_review_follows_the_policy_and_forbidden_verbs(ds_cluster):
    api = ds_cluster.workloads
    assert api.may("create", "daemonsets", "apps")[0] is True
    ds_cluster.forbid("create", "daemonsets")
    assert api.may("create", "daemonsets", "apps")[0] is False
    ds_cluster.clear_faults()
    ds_cluster.daemonsets.policy = lambda a: not (a.get("resource") == "securitycontextconstraints")
    assert api.may("use", "securitycontextconstraints", "security.openshift.io", name="privileged")[0] is False
    assert ds_cluster.daemonsets.reviews[-1] == {"verb": "use", "resource": "securitycontextconstraints",
                                                 "group": "security.openshift.io", "name": "privileged"}


def test_log_of_a_container_that_never_started_is_a_400_like_kubelet(ds_cluster, fake_oc):
    fake_oc.configure(nodes={"worker-0": {"behaviour": "imagepullbackoff"}})
    create_run_objects(ds_cluster, hostname_affinity(["worker-0"]), run_id="r2")
    [pod] = ds_cluster.store.list("Pod", NS)
    from kubectl_kata.errors import ClusterError

    with pytest.raises(ClusterError) as exc:
        ds_cluster.workloads.pod_log(NS, pod["metadata"]["name"], CONTAINER, 5)
    assert 'is waiting to start: ImagePullBackOff' in exc.value.message


def test_framed_log_round_trips_through_the_parser(ds_cluster, fake_oc):
    create_run_objects(ds_cluster, hostname_affinity(["worker-0"]), script="M='@@KATA-abcdefgh12345678'",
                       run_id="r3")
    [pod] = ds_cluster.store.list("Pod", NS)
    data = ds_cluster.workloads.pod_log(NS, pod["metadata"]["name"], CONTAINER, 5)
    items, problems = parse_framed(data, "abcdefgh12345678")
    assert problems == [] and set(items) == set(nodesim.make_node_raw("healthy"))
    assert data.endswith(b"kata-doctor-exit rc=0\n")
