"""The fake API server, driven by the real kubernetes 35.0.0 client over real HTTP(S).

These tests pin the apiserver behaviours plugin tests rely on (status codes, Status bodies and messages,
resourceVersion/generation bookkeeping, watch/410, patch flavours, subresources, dryRun, auth, faults).
Objects created here follow the shape of shared/reference/samples/
machineconfig-50-enable-sandboxed-containers-extension.capture-ocp4.9.yaml.
"""
from __future__ import annotations

import json
import threading
import time

import kubernetes
import pytest
import urllib3
from kubernetes.client.rest import ApiException

from tests.fakeapi import FakeCluster, seeds, validation
from tests.fakeapi.store import Conflict, Gone, ObjectStore

MCG, V1 = "machineconfiguration.openshift.io", "v1"


def client_for(fc: FakeCluster, tmp_path, token: str | None = None):
    path = fc.write_kubeconfig(tmp_path / "kubeconfig")
    if token is not None:
        import yaml
        cfg = yaml.safe_load(open(path))
        cfg["users"][0]["user"]["token"] = token
        yaml.safe_dump(cfg, open(path, "w"))
    return kubernetes.config.new_client_from_config(str(path), persist_config=False)


def mc_body(name="50-test-kata", extensions=("sandboxed-containers",), role="worker"):
    return {"apiVersion": "machineconfiguration.openshift.io/v1", "kind": "MachineConfig",
            "metadata": {"name": name, "labels": {"machineconfiguration.openshift.io/role": role}},
            "spec": {"config": {"ignition": {"version": "3.2.0"}}, "extensions": list(extensions)}}


def err_body(exc: ApiException) -> dict:
    return json.loads(exc.body)


@pytest.fixture
def fc(make_fake_cluster):
    return make_fake_cluster(mco=False)


@pytest.fixture
def api(fc, tmp_path):
    return client_for(fc, tmp_path)


@pytest.fixture
def co(api):
    return kubernetes.client.CustomObjectsApi(api)


@pytest.fixture
def core(api):
    return kubernetes.client.CoreV1Api(api)


# ------------------------------------------------------------------------------------------------ reads


def test_list_nodes_deserializes_into_models(core):
    nodes = core.list_node()
    assert isinstance(nodes, kubernetes.client.V1NodeList)
    names = [n.metadata.name for n in nodes.items]
    assert names == ["master-0", "master-1", "master-2", "worker-0", "worker-1", "worker-2"]
    w = nodes.items[3]
    assert w.status.node_info.os_image.startswith("Red Hat Enterprise Linux CoreOS 416.94.")
    assert w.status.node_info.architecture == "amd64"
    assert w.metadata.labels["node-role.kubernetes.io/worker"] == ""
    assert w.metadata.labels["node.openshift.io/os_id"] == "rhcos"
    ann = w.metadata.annotations
    assert ann["machineconfiguration.openshift.io/state"] == "Done"
    assert ann["machineconfiguration.openshift.io/currentConfig"] == ann["machineconfiguration.openshift.io/desiredConfig"]
    assert ann["machineconfiguration.openshift.io/currentConfig"].startswith("rendered-worker-")
    assert [c.type for c in w.status.conditions if c.status == "True"] == ["Ready"]
    assert int(nodes.metadata.resource_version) > 0


def test_label_and_field_selectors(core, make_fake_cluster, tmp_path):
    assert [n.metadata.name for n in core.list_node(label_selector="node-role.kubernetes.io/master").items] == [
        "master-0", "master-1", "master-2"]
    assert [n.metadata.name for n in core.list_node(
        label_selector="node-role.kubernetes.io/worker,kubernetes.io/hostname in (worker-1,worker-2,master-0)").items
    ] == ["worker-1", "worker-2"]
    assert [n.metadata.name for n in core.list_node(
        label_selector="!node-role.kubernetes.io/worker,kubernetes.io/hostname notin (master-1)").items] == [
        "master-0", "master-2"]
    assert [n.metadata.name for n in core.list_node(field_selector="metadata.name=worker-2").items] == ["worker-2"]
    fc2 = make_fake_cluster(mco=False, kata_pods=4)
    core2 = kubernetes.client.CoreV1Api(client_for(fc2, tmp_path))
    pods = core2.list_pod_for_all_namespaces(field_selector="spec.nodeName=worker-1,status.phase=Running")
    assert [p.metadata.name for p in pods.items] == ["kata-demo-1"]
    assert pods.items[0].spec.runtime_class_name == "kata"
    with pytest.raises(ApiException) as e:
        core2.list_pod_for_all_namespaces(field_selector="spec.bogus=x")
    assert e.value.status == 400


def test_get_missing_is_404_with_real_status(co):
    with pytest.raises(ApiException) as e:
        co.get_cluster_custom_object(MCG, V1, "machineconfigs", "x")
    assert e.value.status == 404
    body = err_body(e.value)
    assert body == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                    "message": 'machineconfigs.machineconfiguration.openshift.io "x" not found',
                    "reason": "NotFound",
                    "details": {"name": "x", "group": MCG, "kind": "machineconfigs"}, "code": 404}


# ------------------------------------------------------------------------------------------------ writes


def test_create_conflict_patch_delete_cycle(co, fc):
    created = co.create_cluster_custom_object(MCG, V1, "machineconfigs", mc_body())
    md = created["metadata"]
    assert md["generation"] == 1 and md["uid"] and int(md["resourceVersion"]) > 0
    assert fc.requests[-1]["status"] == 201

    with pytest.raises(ApiException) as e:
        co.create_cluster_custom_object(MCG, V1, "machineconfigs", mc_body())
    assert e.value.status == 409
    body = err_body(e.value)
    assert body["reason"] == "AlreadyExists"
    assert body["message"] == 'machineconfigs.machineconfiguration.openshift.io "50-test-kata" already exists'

    # merge patch (the client's default for custom objects): metadata-only change keeps generation
    p1 = co.patch_cluster_custom_object(MCG, V1, "machineconfigs", "50-test-kata",
                                        {"metadata": {"labels": {"app": "kubectl-kata"}}})
    assert p1["metadata"]["labels"] == {"machineconfiguration.openshift.io/role": "worker", "app": "kubectl-kata"}
    assert p1["metadata"]["generation"] == 1
    assert int(p1["metadata"]["resourceVersion"]) > int(md["resourceVersion"])
    assert fc.requests[-1]["headers"]["Content-Type"] == "application/merge-patch+json"

    # JSON patch: a spec change bumps generation
    api = co.api_client
    data = api.call_api("/apis/%s/%s/machineconfigs/50-test-kata" % (MCG, V1), "PATCH",
                        header_params={"Content-Type": "application/json-patch+json", "Accept": "application/json"},
                        body=[{"op": "add", "path": "/spec/extensions/-", "value": "usbguard"},
                              {"op": "test", "path": "/metadata/name", "value": "50-test-kata"}],
                        response_type="object", auth_settings=["BearerToken"], _return_http_data_only=True)
    assert data["spec"]["extensions"] == ["sandboxed-containers", "usbguard"]
    assert data["metadata"]["generation"] == 2

    # a failing JSON-patch test op changes nothing
    with pytest.raises(ApiException) as e:
        api.call_api("/apis/%s/%s/machineconfigs/50-test-kata" % (MCG, V1), "PATCH",
                     header_params={"Content-Type": "application/json-patch+json"},
                     body=[{"op": "test", "path": "/spec/fips", "value": True}], auth_settings=["BearerToken"])
    assert e.value.status == 422

    # strategic merge patch is refused for custom resources, as the real server does
    with pytest.raises(ApiException) as e:
        api.call_api("/apis/%s/%s/machineconfigs/50-test-kata" % (MCG, V1), "PATCH",
                     header_params={"Content-Type": "application/strategic-merge-patch+json"},
                     body={"spec": {"fips": True}}, auth_settings=["BearerToken"])
    assert e.value.status == 415
    assert err_body(e.value)["reason"] == "UnsupportedMediaType"

    deleted = co.delete_cluster_custom_object(MCG, V1, "machineconfigs", "50-test-kata")
    assert deleted["metadata"]["name"] == "50-test-kata"
    with pytest.raises(ApiException) as e:
        co.delete_cluster_custom_object(MCG, V1, "machineconfigs", "50-test-kata")
    assert e.value.status == 404
    with pytest.raises(ApiException) as e:
        co.patch_cluster_custom_object(MCG, V1, "machineconfigs", "50-test-kata", {"metadata": {"labels": {}}})
    assert e.value.status == 404


def test_invalid_body_is_422_with_causes(co, fc):
    bad = mc_body(name="x")
    bad["spec"]["extensions"] = "string"
    with pytest.raises(ApiException) as e:
        co.create_cluster_custom_object(MCG, V1, "machineconfigs", bad)
    assert e.value.status == 422
    body = err_body(e.value)
    assert body["reason"] == "Invalid"
    assert body["message"] == ('MachineConfig.machineconfiguration.openshift.io "x" is invalid: spec.extensions: '
                               'Invalid value: "string": spec.extensions in body must be of type array: "string"')
    assert body["details"]["causes"] == [{"reason": "FieldValueInvalid", "field": "spec.extensions",
                                          "message": 'Invalid value: "string": spec.extensions in body must be of '
                                                     'type array: "string"'}]
    assert fc.store.get("MachineConfig", "x") is None

    with pytest.raises(ApiException) as e:
        co.create_cluster_custom_object(MCG, V1, "machineconfigs", mc_body(name="Not_A_DNS_Name"))
    assert e.value.status == 422
    assert "metadata.name: Invalid value: \"Not_A_DNS_Name\": a lowercase RFC 1123 subdomain" in err_body(
        e.value)["message"]

    # invalid patch result is rejected too and the stored object is untouched
    co.create_cluster_custom_object(MCG, V1, "machineconfigs", mc_body())
    with pytest.raises(ApiException) as e:
        co.patch_cluster_custom_object(MCG, V1, "machineconfigs", "50-test-kata", {"spec": {"fips": "yes"}})
    assert e.value.status == 422
    assert fc.store.get("MachineConfig", "50-test-kata")["spec"].get("fips") is None


def test_dry_run_persists_nothing(co, fc):
    rv_before = fc.store.resource_version
    out = co.create_cluster_custom_object(MCG, V1, "machineconfigs", mc_body(), dry_run="All")
    assert out["metadata"]["name"] == "50-test-kata"
    assert fc.store.get("MachineConfig", "50-test-kata") is None
    bad = mc_body()
    bad["spec"]["extensions"] = 5
    with pytest.raises(ApiException) as e:  # dry run still validates
        co.create_cluster_custom_object(MCG, V1, "machineconfigs", bad, dry_run="All")
    assert e.value.status == 422
    out = co.patch_cluster_custom_object(MCG, V1, "machineconfigpools", "worker", {"spec": {"paused": True}},
                                         dry_run="All")
    assert out["spec"]["paused"] is True
    assert fc.store.get("MachineConfigPool", "worker")["spec"]["paused"] is False
    co.delete_cluster_custom_object(MCG, V1, "machineconfigs", "00-worker", dry_run="All")
    assert fc.store.get("MachineConfig", "00-worker") is not None
    assert fc.store.resource_version == rv_before


def test_stale_update_is_conflict(co):
    pool = co.get_cluster_custom_object(MCG, V1, "machineconfigpools", "worker")
    fresh = co.patch_cluster_custom_object(MCG, V1, "machineconfigpools", "worker",
                                           {"metadata": {"labels": {"custom": "1"}}})
    pool["spec"]["paused"] = True
    with pytest.raises(ApiException) as e:
        co.replace_cluster_custom_object(MCG, V1, "machineconfigpools", "worker", pool)
    assert e.value.status == 409
    assert err_body(e.value)["message"] == (
        'Operation cannot be fulfilled on machineconfigpools.machineconfiguration.openshift.io "worker": the object '
        'has been modified; please apply your changes to the latest version and try again')
    fresh["spec"]["paused"] = True
    out = co.replace_cluster_custom_object(MCG, V1, "machineconfigpools", "worker", fresh)
    assert out["spec"]["paused"] is True and out["metadata"]["generation"] == fresh["metadata"]["generation"] + 1


def test_status_subresource_rules(co, fc):
    pool = co.get_cluster_custom_object(MCG, V1, "machineconfigpools", "worker")
    # the main resource ignores status changes
    out = co.patch_cluster_custom_object(MCG, V1, "machineconfigpools", "worker",
                                         {"spec": {"paused": True}, "status": {"machineCount": 99}})
    assert out["spec"]["paused"] is True and out["status"]["machineCount"] == 3
    # /status changes only status
    out = co.patch_cluster_custom_object_status(MCG, V1, "machineconfigpools", "worker",
                                                {"spec": {"paused": False}, "status": {"degradedMachineCount": 1}})
    assert out["status"]["degradedMachineCount"] == 1 and out["spec"]["paused"] is True
    assert out["metadata"]["generation"] == pool["metadata"]["generation"] + 1
    # MachineConfig has no status subresource
    with pytest.raises(ApiException) as e:
        co.get_cluster_custom_object_status(MCG, V1, "machineconfigs", "00-worker")
    assert e.value.status == 404


def test_core_strategic_merge_and_namespaces(core, fc):
    cm = core.create_namespaced_config_map("default", {"metadata": {"name": "c"}, "data": {"a": "1"}})
    assert cm.metadata.namespace == "default"
    cm = core.patch_namespaced_config_map("c", "default", {"data": {"b": "2"}})
    assert cm.data == {"a": "1", "b": "2"}
    assert fc.requests[-1]["headers"]["Content-Type"] == "application/strategic-merge-patch+json"
    cm = core.patch_namespaced_config_map("c", "default", [{"op": "remove", "path": "/data/a"}])
    assert cm.data == {"b": "2"}
    with pytest.raises(ApiException) as e:
        core.create_namespaced_config_map("nope", {"metadata": {"name": "c"}})
    assert e.value.status == 404 and err_body(e.value)["message"] == 'namespaces "nope" not found'
    ns = core.create_namespace({"metadata": {"name": "openshift-debug-abcde"}})
    assert ns.status.phase == "Active"
    core.create_namespaced_config_map("openshift-debug-abcde", {"metadata": {"name": "x"}})
    core.delete_namespace("openshift-debug-abcde")
    # answered at once (Terminating); the namespace controller empties it in the background, as a real one does
    assert fc.api.namespaces.wait_idle()
    assert fc.store.list("ConfigMap", "openshift-debug-abcde") == []


def test_server_side_apply_creates_then_merges(co, fc):
    api = co.api_client
    path = "/apis/%s/%s/machineconfigs/50-ssa" % (MCG, V1)

    def apply(body, manager="kubectl-kata"):
        q = [("fieldManager", manager)] if manager else []
        return api.call_api(path, "PATCH", query_params=q, body=body,
                            header_params={"Content-Type": "application/apply-patch+yaml",
                                           "Accept": "application/json"},
                            response_type="object", auth_settings=["BearerToken"], _return_http_data_only=False)

    with pytest.raises(ApiException) as e:
        apply(mc_body("50-ssa"), manager=None)
    assert e.value.status == 422 and "fieldManager: Required value" in err_body(e.value)["message"]
    out, code, _ = apply(mc_body("50-ssa"))
    assert code == 201
    assert out["metadata"]["managedFields"][0]["manager"] == "kubectl-kata"
    assert out["metadata"]["managedFields"][0]["operation"] == "Apply"
    out, code, _ = apply({"apiVersion": MCG + "/v1", "kind": "MachineConfig",
                          "metadata": {"name": "50-ssa", "labels": {"app": "x"}}, "spec": {"fips": False}})
    assert code == 200
    assert out["metadata"]["labels"] == {"machineconfiguration.openshift.io/role": "worker", "app": "x"}
    assert out["spec"]["extensions"] == ["sandboxed-containers"] and out["spec"]["fips"] is False
    assert len(out["metadata"]["managedFields"]) == 1


# ------------------------------------------------------------------------------------------------ watch


def test_watch_custom_objects_sees_changes_in_order(co, fc):
    w = kubernetes.watch.Watch()
    seen = []

    def mutate():
        time.sleep(0.3)
        co.create_cluster_custom_object(MCG, V1, "machineconfigs", mc_body())
        co.patch_cluster_custom_object(MCG, V1, "machineconfigs", "50-test-kata",
                                       {"metadata": {"labels": {"step": "2"}}})
        co.delete_cluster_custom_object(MCG, V1, "machineconfigs", "50-test-kata")

    start_rv = co.list_cluster_custom_object(MCG, V1, "machineconfigs")["metadata"]["resourceVersion"]
    t = threading.Thread(target=mutate)
    t.start()
    for ev in w.stream(co.list_cluster_custom_object, MCG, V1, "machineconfigs", resource_version=start_rv,
                       timeout_seconds=5):
        seen.append((ev["type"], ev["object"]["metadata"]["name"], ev["object"]["metadata"]["resourceVersion"]))
        if ev["type"] == "DELETED":
            w.stop()
    t.join()
    assert [s[:2] for s in seen] == [("ADDED", "50-test-kata"), ("MODIFIED", "50-test-kata"),
                                     ("DELETED", "50-test-kata")]
    rvs = [int(s[2]) for s in seen]
    assert rvs == sorted(rvs) and rvs[0] > int(start_rv)
    assert fc.requests[-4]["query"]["watch"] == "True"


def test_watch_without_resource_version_starts_with_added(co):
    w = kubernetes.watch.Watch()
    names = [ev["object"]["metadata"]["name"] for ev in w.stream(
        co.list_cluster_custom_object, MCG, V1, "machineconfigpools", timeout_seconds=1)]
    assert names == ["master", "worker"]


def test_watch_label_selector_filters(co):
    w = kubernetes.watch.Watch()
    names = [ev["object"]["metadata"]["name"] for ev in w.stream(
        co.list_cluster_custom_object, MCG, V1, "machineconfigs", timeout_seconds=1,
        label_selector="machineconfiguration.openshift.io/role=master")]
    assert names == ["00-master", "01-master-container-runtime", "01-master-kubelet",
                     "99-master-generated-registries", "99-master-ssh"]


def test_watch_after_compact_is_410(co, fc):
    old_rv = co.list_cluster_custom_object(MCG, V1, "machineconfigs")["metadata"]["resourceVersion"]
    co.create_cluster_custom_object(MCG, V1, "machineconfigs", mc_body())
    fc.compact()
    w = kubernetes.watch.Watch()
    with pytest.raises(ApiException) as e:
        for _ in w.stream(co.list_cluster_custom_object, MCG, V1, "machineconfigs", resource_version=old_rv,
                          timeout_seconds=2):
            pass
    assert e.value.status == 410
    assert "Expired: too old resource version: %s (" % old_rv in e.value.reason
    # the raw stream: one ERROR event carrying a Status 410, then the server closes it
    resp = co.list_cluster_custom_object(MCG, V1, "machineconfigs", watch=True, resource_version=old_rv,
                                         _preload_content=False)
    lines = [json.loads(x) for x in resp.data.decode().splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0]["type"] == "ERROR"
    assert lines[0]["object"]["code"] == 410 and lines[0]["object"]["reason"] == "Expired"
    # a current resourceVersion still works
    cur = co.list_cluster_custom_object(MCG, V1, "machineconfigs")["metadata"]["resourceVersion"]
    assert list(w.stream(co.list_cluster_custom_object, MCG, V1, "machineconfigs", resource_version=cur,
                         timeout_seconds=1)) == []


def test_watch_bookmarks(make_fake_cluster, tmp_path):
    fc = make_fake_cluster(mco=False, tls=False, bookmark_interval=0.2)
    co = kubernetes.client.CustomObjectsApi(client_for(fc, tmp_path))
    cur = co.list_cluster_custom_object(MCG, V1, "machineconfigpools")["metadata"]["resourceVersion"]
    events = list(kubernetes.watch.Watch().stream(co.list_cluster_custom_object, MCG, V1, "machineconfigpools",
                                                  resource_version=cur, allow_watch_bookmarks=True,
                                                  timeout_seconds=1))
    assert events and {e["type"] for e in events} == {"BOOKMARK"}
    assert events[0]["raw_object"]["metadata"]["resourceVersion"] == cur


# ------------------------------------------------------------------------------------------------ auth & faults


def test_wrong_token_is_401(fc, tmp_path):
    api = client_for(fc, tmp_path, token="not-the-token")
    with pytest.raises(ApiException) as e:
        kubernetes.client.CoreV1Api(api).list_node()
    assert e.value.status == 401
    assert err_body(e.value) == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                 "message": "Unauthorized", "reason": "Unauthorized", "code": 401}
    assert all("Authorization" not in r["headers"] for r in fc.requests)
    assert fc.token not in json.dumps(fc.requests)


def test_forbid_uses_impersonated_user(co, fc):
    fc.forbid("create", "machineconfigs")
    with pytest.raises(ApiException) as e:
        co.create_cluster_custom_object(MCG, V1, "machineconfigs", mc_body())
    assert e.value.status == 403
    assert err_body(e.value)["message"] == (
        'machineconfigs.machineconfiguration.openshift.io is forbidden: User "kube:admin" cannot create resource '
        '"machineconfigs" in API group "machineconfiguration.openshift.io" at the cluster scope')
    co.api_client.set_default_header("Impersonate-User", "alice")
    co.api_client.set_default_header("Impersonate-Group", "system:authenticated")
    with pytest.raises(ApiException) as e:
        co.create_cluster_custom_object(MCG, V1, "machineconfigs", mc_body())
    assert 'User "alice" cannot create' in err_body(e.value)["message"]
    assert fc.requests[-1]["headers"]["Impersonate-User"] == "alice"
    assert fc.requests[-1]["headers"]["Impersonate-Group"] == ["system:authenticated"]
    # other verbs still work
    assert co.get_cluster_custom_object(MCG, V1, "machineconfigs", "00-worker")["metadata"]["name"] == "00-worker"
    fc.forbid("list", "pods")
    with pytest.raises(ApiException) as e:
        kubernetes.client.CoreV1Api(co.api_client).list_namespaced_pod("default")
    assert err_body(e.value)["message"] == ('pods is forbidden: User "alice" cannot list resource "pods" in API '
                                            'group "" in the namespace "default"')


def test_fail_next_and_delay(co, fc):
    fc.fail_next("GET", r"/machineconfigpools/worker$", 503, times=2)
    for _ in range(2):
        with pytest.raises(ApiException) as e:
            co.get_cluster_custom_object(MCG, V1, "machineconfigpools", "worker")
        assert e.value.status == 503 and err_body(e.value)["reason"] == "ServiceUnavailable"
    assert co.get_cluster_custom_object(MCG, V1, "machineconfigpools", "worker")["metadata"]["name"] == "worker"
    fc.delay("GET", r"/machineconfigpools/master$", 1.0)
    t0 = time.monotonic()
    with pytest.raises(urllib3.exceptions.HTTPError) as e:  # (connect, read) timeout; floats are ignored by 35.0.0
        co.get_cluster_custom_object(MCG, V1, "machineconfigpools", "master", _request_timeout=(0.2, 0.2))
    assert "timed out" in str(e.value)
    assert time.monotonic() - t0 < 0.9 or isinstance(e.value, urllib3.exceptions.MaxRetryError)
    fc.clear_faults()
    assert co.get_cluster_custom_object(MCG, V1, "machineconfigpools", "master")["metadata"]["name"] == "master"


def test_request_log(co, fc):
    fc.reset_requests()
    co.list_cluster_custom_object(MCG, V1, "machineconfigs", label_selector="app=x")
    (r,) = fc.requests
    assert r["method"] == "GET" and r["path"] == "/apis/%s/v1/machineconfigs" % MCG
    assert r["query"] == {"labelSelector": "app=x"} and r["status"] == 200


# ------------------------------------------------------------------------------------------------ scenarios


def test_plain_kubernetes_serves_no_openshift_groups(make_fake_cluster, tmp_path):
    fc = make_fake_cluster(openshift=False, mco=False, tls=False)
    api = client_for(fc, tmp_path)
    groups = [g.name for g in kubernetes.client.ApisApi(api).get_api_versions().groups]
    assert groups == ["node.k8s.io"]
    with pytest.raises(ApiException) as e:
        kubernetes.client.CustomObjectsApi(api).list_cluster_custom_object(MCG, V1, "machineconfigs")
    assert e.value.status == 404
    nodes = kubernetes.client.CoreV1Api(api).list_node().items
    assert "machineconfiguration.openshift.io/state" not in (nodes[0].metadata.annotations or {})
    assert kubernetes.client.VersionApi(api).get_code().git_version.startswith("v1.29.")  # OCP 4.16 = k8s 1.29


def test_operator_scenario(make_fake_cluster, tmp_path):
    fc = make_fake_cluster(operator=True, mco=False)
    co = kubernetes.client.CustomObjectsApi(client_for(fc, tmp_path))
    kcs = co.list_cluster_custom_object("kataconfiguration.openshift.io", "v1", "kataconfigs")["items"]
    assert [k["metadata"]["name"] for k in kcs] == ["example-kataconfig"]
    mc = co.get_cluster_custom_object(MCG, V1, "machineconfigs", "50-enable-sandboxed-containers-extension")
    assert mc["metadata"]["labels"]["app"] == "example-kataconfig"
    assert mc["spec"]["extensions"] == ["sandboxed-containers"]
    assert fc.store.get("Namespace", "openshift-sandboxed-containers-operator") is not None
    fc2 = make_fake_cluster(mco=False, tls=False)
    with pytest.raises(ApiException) as e:
        kubernetes.client.CustomObjectsApi(client_for(fc2, tmp_path)).list_cluster_custom_object(
            "kataconfiguration.openshift.io", "v1", "kataconfigs")
    assert e.value.status == 404


@pytest.mark.parametrize("version", ["4.8.2", "4.11.9", "4.12.30", "4.14.10", "4.16.3", "4.19.1"])
def test_seeds_are_schema_valid_and_release_shaped(version):
    store = ObjectStore()
    seeds.seed(store, ocp_version=version, operator=True, kata_pods=1)
    for kind in validation.CRD_FILES:
        for obj in store.list(kind):
            validation.validate(obj, MCG)
    cm = store.get("ConfigMap", "machine-config-osimageurl", "openshift-machine-config-operator")
    minor = int(version.split(".")[1])
    assert ("baseOSExtensionsContainerImage" in cm["data"]) == (minor >= 12)
    assert cm["data"]["releaseVersion"] == version
    for pool in store.list("MachineConfigPool"):
        name = pool["spec"]["configuration"]["name"]
        assert store.get("MachineConfig", name)["metadata"]["ownerReferences"][0]["name"] == pool["metadata"]["name"]
        updated = [c for c in pool["status"]["conditions"] if c["type"] == "Updated"][0]
        assert updated["message"] == "All nodes are updated with %s%s" % (
            "MachineConfig " if minor >= 14 else "", name)
    cv = store.get("ClusterVersion", "version")
    assert cv["status"]["desired"]["version"] == version
    assert cv["status"]["history"][0]["state"] == "Completed"


def test_converged_and_mixed_arch():
    store = ObjectStore()
    seeds.seed(store, converged=True)
    worker = store.get("MachineConfigPool", "worker")
    assert worker["status"]["machineCount"] == 0
    assert [n["metadata"]["name"] for n in store.list("Node")] == ["master-0", "master-1", "master-2"]
    store = ObjectStore()
    seeds.seed(store, workers=2, worker_arches=["arm64", "amd64"], node_names="aws")
    w = store.get("Node", "ip-10-0-2-30.ec2.internal")
    assert w["metadata"]["labels"]["kubernetes.io/arch"] == "arm64"
    assert w["status"]["nodeInfo"]["kernelVersion"].endswith(".aarch64")


def test_pull_secret_is_real_shaped():
    import base64
    store = ObjectStore()
    seeds.seed(store)
    s = store.get("Secret", "pull-secret", "openshift-config")
    assert s["type"] == "kubernetes.io/dockerconfigjson"
    auths = json.loads(base64.b64decode(s["data"][".dockerconfigjson"]))["auths"]
    assert auths["quay.io"]["auth"] == seeds.PULL_SECRET_AUTH
    assert base64.b64decode(seeds.PULL_SECRET_AUTH).decode().endswith(seeds.PULL_SECRET_PASSWORD)


# ------------------------------------------------------------------------------------------------ store


def test_store_semantics():
    s = ObjectStore()
    events = []
    s.subscribe(lambda t, o: events.append((t, o["metadata"]["name"], o["metadata"]["resourceVersion"])))
    a = s.create({"kind": "MachineConfig", "apiVersion": MCG + "/v1", "metadata": {"name": "a"}, "spec": {}})
    same = s.update(a)
    assert same["metadata"]["resourceVersion"] == a["metadata"]["resourceVersion"]  # no-op update
    b = s.update({**a, "spec": {"fips": True}})
    assert b["metadata"]["generation"] == 2
    with pytest.raises(Conflict):
        s.update({**a, "spec": {"fips": False}})
    # finalizers keep the object until they are removed
    s.update({**b, "metadata": {**b["metadata"], "finalizers": ["x"], "resourceVersion": None}})
    d = s.delete("MachineConfig", "a")
    assert d["metadata"]["deletionTimestamp"] and s.get("MachineConfig", "a") is not None
    s.update({**d, "metadata": {**d["metadata"], "finalizers": []}})
    assert s.get("MachineConfig", "a") is None
    s.flush()
    assert [e[0] for e in events] == ["ADDED", "MODIFIED", "MODIFIED", "MODIFIED", "DELETED"]
    assert [int(e[2]) for e in events] == sorted(int(e[2]) for e in events)
    hist = s.history_since("MachineConfig", "1")
    assert [t for t, _ in hist] == ["MODIFIED", "MODIFIED", "MODIFIED", "DELETED"]
    s.compact()
    with pytest.raises(Gone):
        s.history_since("MachineConfig", "1")
    assert s.history_since("MachineConfig", s.resource_version) == []
    s.close()


def test_fake_cluster_fixture_with_mco_reacts_to_api_writes(fake_cluster, fake_kubeconfig):
    """Writes through HTTP reach store subscribers: the simulated MCO re-renders the worker pool."""
    assert fake_cluster.mco is not None and fake_cluster.url.startswith("https://127.0.0.1:")
    co = kubernetes.client.CustomObjectsApi(
        kubernetes.config.new_client_from_config(fake_kubeconfig, persist_config=False))
    co.create_cluster_custom_object(MCG, V1, "machineconfigs", mc_body())
    deadline = time.monotonic() + 10
    sources = []
    while time.monotonic() < deadline:
        pool = co.get_cluster_custom_object(MCG, V1, "machineconfigpools", "worker")
        sources = [s["name"] for s in pool["spec"]["configuration"].get("source") or []]
        if "50-test-kata" in sources:
            break
        time.sleep(0.05)
    assert "50-test-kata" in sources
    secrets = fake_cluster.secret_values()
    assert fake_cluster.token in secrets and seeds.PULL_SECRET_PASSWORD in secrets
    assert not any(s in json.dumps(fake_cluster.requests) for s in secrets)
