"""Tests of the simulated Machine Config Operator (tests/fakeapi/mco.py) against the real ObjectStore and seeds.

The base cluster comes from tests/fakeapi/seeds.py. Objects added here follow real shapes: the custom pools are
OSC's ``kata-oc`` (DOMAIN 2.2, OSC ``newMCPforCR``) laid over the MCO fixture
shared/reference/samples/mco-fixture-machineconfigpool.yaml; the extension MachineConfig is the real OCP 4.9
capture samples/machineconfig-50-enable-sandboxed-containers-extension.capture-ocp4.9.yaml with its role label
changed (as in the MCO e2e template samples/mco-test-extension-mc-template.yaml).
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
import time

import pytest
import yaml

from tests.fakeapi import mco as M
from tests.fakeapi.seeds import seed
from tests.fakeapi.store import ObjectStore

from tests.paths import SAMPLES  # noqa: E402
STEP = 0.004
RENDER = 0.03
OSC_MC = "50-enable-sandboxed-containers-extension"
WORKERS = ["worker-0", "worker-1", "worker-2"]


# ----------------------------------------------------------------------------------------- object builders
def _load_sample(name):
    with open(os.path.join(SAMPLES, name)) as f:
        return yaml.safe_load(f)


def pool_obj(name, mc_selector, node_selector, **spec):
    obj = _load_sample("mco-fixture-machineconfigpool.yaml")
    obj["metadata"] = {"name": name, "labels": {"pools.operator.machineconfiguration.openshift.io/" + name: ""}}
    obj["spec"] = {"machineConfigSelector": mc_selector, "nodeSelector": node_selector,
                   "maxUnavailable": None, "paused": False}
    obj["spec"].update(spec)
    obj["status"] = {}
    return obj


def custom_pool(name):
    """OSC newMCPforCR shape (DOMAIN 2.2): selects its own and the worker MCs."""
    return pool_obj(name,
                    {"matchExpressions": [{"key": M.ROLE_LABEL, "operator": "In", "values": [name, "worker"]}]},
                    {"matchLabels": {"node-role.kubernetes.io/" + name: ""}})


def extension_mc(role, extensions, name=OSC_MC):
    """The real OCP 4.9 capture of OSC's MachineConfig, re-labelled for ``role``."""
    obj = _load_sample("machineconfig-50-enable-sandboxed-containers-extension.capture-ocp4.9.yaml")
    obj["metadata"] = {"name": name, "labels": {M.ROLE_LABEL: role, "app": "example-kataconfig"}}
    obj["spec"]["extensions"] = list(extensions)
    return obj


def build_store(version="4.14.0", worker_arches=("amd64", "amd64", "amd64"), extra_pools=()):
    store = ObjectStore()
    seed(store, ocp_version=version, masters=1, workers=len(worker_arches), worker_arches=list(worker_arches))
    for p in extra_pools:
        store.create(p)
    return store


# ----------------------------------------------------------------------------------------- harness
class Recorder:
    """Subscribes to the store and keeps every event in order."""

    def __init__(self, store):
        self.events = []
        self.lock = threading.Lock()
        store.subscribe(self)

    def __call__(self, etype, obj):
        with self.lock:
            self.events.append((etype, obj))

    def of(self, kind, name=None):
        with self.lock:
            return [o for _, o in self.events
                    if o.get("kind") == kind and (name is None or o["metadata"]["name"] == name)]


@pytest.fixture
def cluster():
    made = []

    def make(version="4.14.0", step_delay=STEP, render_delay=RENDER, **kw):
        store = build_store(version=version, **kw)
        rec = Recorder(store)
        sim = M.SimulatedMCO(store, version, step_delay=step_delay, render_delay=render_delay)
        made.append((store, sim))
        sim.start()
        assert sim.wait_idle(5)
        return store, sim, rec

    yield make
    for store, sim in made:
        sim.stop()
        store.close()
        assert sim.errors == []


def wait_for(pred, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.002)
    raise AssertionError("condition not reached in %.1fs" % timeout)


def cond(pool, ctype):
    return next(c for c in pool["status"]["conditions"] if c["type"] == ctype)


def ann(node, key):
    return (node["metadata"].get("annotations") or {}).get(M.PREFIX + key)


def target(store, pool="worker"):
    return store.get("MachineConfigPool", pool)["spec"]["configuration"]["name"]


def members_on(store, names, config):
    return all(ann(store.get("Node", n), "currentConfig") == config for n in names)


def sources(store, pool="worker"):
    return [x["name"] for x in store.get("MachineConfigPool", pool)["spec"]["configuration"]["source"]]


# ----------------------------------------------------------------------------------------- render
def test_startup_adopts_the_seeded_rendered_configs(cluster):
    store, sim, rec = cluster()
    old = target(store)
    # the controller accepts the seeded targets (rendered from the same MCs): nothing re-rendered, no node touched
    assert rec.of("Node") == [] and rec.of("MachineConfig") == []
    pool = store.get("MachineConfigPool", "worker")
    assert cond(pool, "Updated")["status"] == "True"
    assert cond(pool, "Updated")["message"] == "All nodes are updated with MachineConfig " + old
    assert pool["status"]["configuration"]["name"] == old
    assert (pool["status"]["machineCount"], pool["status"]["updatedMachineCount"]) == (3, 3)
    assert "00-worker" in sources(store) and all(n.startswith(("00-", "01-", "99-")) for n in sources(store))


def test_render_race_then_new_target(cluster):
    store, sim, rec = cluster(render_delay=0.4)
    old, base = target(store), sources(store)
    store.create(extension_mc("worker", ["sandboxed-containers"]))
    # the race: right after the create the pool still reports the old target as fully updated
    pool = store.get("MachineConfigPool", "worker")
    assert pool["spec"]["configuration"]["name"] == old
    assert OSC_MC not in [s["name"] for s in pool["spec"]["configuration"]["source"]]
    assert cond(pool, "Updated")["status"] == "True"
    assert old in cond(pool, "Updated")["message"]

    new = wait_for(lambda: target(store) != old and target(store))
    pool = store.get("MachineConfigPool", "worker")
    assert pool["spec"]["configuration"]["source"] == [
        {"apiVersion": M.MC_API, "kind": "MachineConfig", "name": n}
        for n in sorted(base + [OSC_MC])]
    assert new.startswith("rendered-worker-") and len(new) == len("rendered-worker-") + 32
    rendered = store.get("MachineConfig", new)
    assert rendered["spec"]["extensions"] == ["sandboxed-containers"]
    assert M.ROLE_LABEL not in (rendered["metadata"].get("labels") or {})
    assert rendered["metadata"]["annotations"][M.ANN_GENERATED_BY]
    owner, = rendered["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["controller"]) == ("MachineConfigPool", "worker", True)
    assert owner["uid"] == pool["metadata"]["uid"]
    # name = md5 of the canonical JSON of the merged spec
    canon = json.dumps(rendered["spec"], sort_keys=True, separators=(",", ":"))
    assert new == "rendered-worker-" + hashlib.md5(canon.encode()).hexdigest()
    # the master pool does not select worker MCs
    assert OSC_MC not in [s["name"] for s in
                          store.get("MachineConfigPool", "master")["spec"]["configuration"]["source"]]
    assert sim.wait_idle(10)
    # deleting the MC renders back to the very same name (deterministic hash) and rolls back
    store.delete("MachineConfig", OSC_MC)
    wait_for(lambda: target(store) == old)
    assert sim.wait_idle(10)
    assert members_on(store, WORKERS, old)


def test_duplicate_extension_requests_merge_into_one_set(cluster):
    store, sim, rec = cluster()
    store.create(extension_mc("worker", ["sandboxed-containers"]))
    store.create(extension_mc("worker", ["sandboxed-containers"], name="60-plugin-kata"))
    assert sim.wait_idle(10)
    rendered = store.get("MachineConfig", target(store))
    assert rendered["spec"]["extensions"] == ["sandboxed-containers", "sandboxed-containers"]
    assert members_on(store, WORKERS, target(store))
    with_both = target(store)
    # deleting one of them still leaves the extension requested
    store.delete("MachineConfig", "60-plugin-kata")
    wait_for(lambda: target(store) != with_both)
    assert store.get("MachineConfig", target(store))["spec"]["extensions"] == ["sandboxed-containers"]


# ----------------------------------------------------------------------------------------- rollout
def test_full_rollout_one_node_at_a_time(cluster):
    store, sim, rec = cluster()
    old = target(store)
    store.create(extension_mc("worker", ["sandboxed-containers"]))
    new = wait_for(lambda: target(store) != old and target(store))
    assert sim.wait_idle(10)

    # replay every Node event in order: never more than maxUnavailable=1 worker away from Done/schedulable
    latest, worst, seen_states = {}, 0, {n: [] for n in WORKERS}
    ready_flaps = set()
    last_rv = {}
    for n in rec.of("Node"):
        name = n["metadata"]["name"]
        assert int(n["metadata"]["resourceVersion"]) > last_rv.get(name, 0)
        last_rv[name] = int(n["metadata"]["resourceVersion"])
        latest[name] = n
        busy = [x for x in latest.values()
                if ann(x, "state") != "Done" or x["spec"].get("unschedulable")
                or ann(x, "currentConfig") != ann(x, "desiredConfig")]
        worst = max(worst, len(busy))
        if not seen_states[name] or seen_states[name][-1] != ann(n, "state"):
            seen_states[name].append(ann(n, "state"))
        if any(c["type"] == "Ready" and c["status"] != "True" for c in n["status"]["conditions"]):
            ready_flaps.add(name)
    assert worst == 1
    assert seen_states == {n: ["Done", "Working", "Rebooting", "Done"] for n in WORKERS}
    assert ready_flaps == set(WORKERS)
    drains = [ann(n, "desiredDrain") for n in rec.of("Node", "worker-1")]
    assert "drain-" + new in drains and drains[-1] == "uncordon-" + new

    for n in WORKERS:
        node = store.get("Node", n)
        assert ann(node, "currentConfig") == ann(node, "desiredConfig") == new
        assert ann(node, "state") == "Done" and ann(node, "reason") == ""
        assert ann(node, "lastAppliedDrain") == "uncordon-" + new
        assert not node["spec"].get("unschedulable") and not node["spec"].get("taints")
        assert cond(node, "Ready")["status"] == "True"

    pool = store.get("MachineConfigPool", "worker")
    st = pool["status"]
    assert (st["machineCount"], st["updatedMachineCount"], st["readyMachineCount"],
            st["unavailableMachineCount"], st["degradedMachineCount"]) == (3, 3, 3, 0, 0)
    assert st["observedGeneration"] == pool["metadata"]["generation"]
    assert st["configuration"] == pool["spec"]["configuration"]
    assert cond(pool, "Updated")["status"] == "True"
    assert cond(pool, "Updated")["message"] == "All nodes are updated with MachineConfig " + new
    assert cond(pool, "Updating")["status"] == "False"
    for t in ("Degraded", "NodeDegraded", "RenderDegraded"):
        assert cond(pool, t)["status"] == "False"

    # while rolling, the pool said Updating with the new target and kept the old status.configuration
    mid = [p for p in rec.of("MachineConfigPool", "worker")
           if p["spec"]["configuration"]["name"] == new and cond(p, "Updating")["status"] == "True"]
    assert mid
    assert cond(mid[0], "Updating")["message"] == "All nodes are updating to MachineConfig " + new
    assert mid[0]["status"]["configuration"]["name"] == old
    assert cond(mid[0], "Updated")["status"] == "False"
    # the master pool was not touched
    assert members_on(store, ["master-0"], target(store, "master"))


def test_max_unavailable_percent_allows_two(cluster):
    store, sim, rec = cluster(worker_arches=["amd64"] * 4)
    pool = store.get("MachineConfigPool", "worker")
    pool["spec"]["maxUnavailable"] = "50%"
    store.update(pool)
    store.create(extension_mc("worker", ["sandboxed-containers"]))
    assert sim.wait_idle(10)
    latest, worst = {}, 0
    for n in rec.of("Node"):
        latest[n["metadata"]["name"]] = n
        worst = max(worst, sum(1 for x in latest.values() if ann(x, "state") != "Done"))
    assert worst == 2
    assert store.get("MachineConfigPool", "worker")["status"]["updatedMachineCount"] == 4


def test_pre_414_condition_messages():
    pool = {"metadata": {"name": "worker", "generation": 2},
            "spec": {"configuration": {"name": "rendered-worker-" + "a" * 32}}, "status": {}}
    st = M.calculate_status(pool, [], "4.13.0")
    assert next(c for c in st["conditions"] if c["type"] == "Updated")["message"] == \
        "All nodes are updated with rendered-worker-" + "a" * 32
    st = M.calculate_status(pool, [], "4.14.0")
    assert next(c for c in st["conditions"] if c["type"] == "Updated")["message"] == \
        "All nodes are updated with MachineConfig rendered-worker-" + "a" * 32


# ----------------------------------------------------------------------------------------- pools
def test_custom_pool_label_moves_nodes_and_deletion_returns_them(cluster):
    store, sim, rec = cluster()
    worker_target, base = target(store), sources(store)
    store.create(custom_pool("kata-oc"))
    store.create(extension_mc("kata-oc", ["sandboxed-containers"]))
    kata = wait_for(lambda: (store.get("MachineConfigPool", "kata-oc").get("spec", {})
                             .get("configuration", {}).get("name")))
    assert kata.startswith("rendered-kata-oc-")
    assert sources(store, "kata-oc") == sorted(base + [OSC_MC])
    # the worker pool does not select the kata-oc MC: its target is unchanged
    assert target(store) == worker_target
    for n in ("worker-0", "worker-1"):
        node = store.get("Node", n)
        node["metadata"]["labels"]["node-role.kubernetes.io/kata-oc"] = ""
        store.update(node)
    assert sim.wait_idle(10)
    kpool, wpool = store.get("MachineConfigPool", "kata-oc"), store.get("MachineConfigPool", "worker")
    assert (kpool["status"]["machineCount"], kpool["status"]["updatedMachineCount"]) == (2, 2)
    assert kpool["status"]["configuration"]["name"] == kata
    assert (wpool["status"]["machineCount"], wpool["status"]["updatedMachineCount"]) == (1, 1)
    assert members_on(store, ["worker-0", "worker-1"], kata)
    assert members_on(store, ["worker-2"], worker_target)

    # removing the label returns that node to the worker pool
    node = store.get("Node", "worker-1")
    del node["metadata"]["labels"]["node-role.kubernetes.io/kata-oc"]
    store.update(node)
    assert sim.wait_idle(10)
    assert members_on(store, ["worker-1"], worker_target)
    assert store.get("MachineConfigPool", "kata-oc")["status"]["machineCount"] == 1

    # deleting the pool returns its nodes (label still set) to worker; its rendered configs are collected
    store.delete("MachineConfigPool", "kata-oc")
    assert sim.wait_idle(10)
    assert members_on(store, WORKERS, worker_target)
    st = store.get("MachineConfigPool", "worker")["status"]
    assert (st["machineCount"], st["updatedMachineCount"], st["readyMachineCount"]) == (3, 3, 3)
    assert not [m for m in store.list("MachineConfig") if m["metadata"]["name"].startswith("rendered-kata-oc-")]


def test_master_wins_and_two_custom_pools_block_a_node(cluster):
    store, sim, rec = cluster(extra_pools=[custom_pool("kata-oc"), custom_pool("infra")])
    for name, labels in (("master-0", ["kata-oc"]), ("worker-0", ["kata-oc", "infra"]), ("worker-1", ["kata-oc"])):
        node = store.get("Node", name)
        for lab in labels:
            node["metadata"]["labels"]["node-role.kubernetes.io/" + lab] = ""
        store.update(node)
    assert sim.wait_idle(10)
    count = {p: store.get("MachineConfigPool", p)["status"]["machineCount"]
             for p in ("master", "worker", "kata-oc", "infra")}
    # master-0 stays in master; worker-0 is in no pool at all; worker-1 moved to kata-oc
    assert count == {"master": 1, "worker": 1, "kata-oc": 1, "infra": 0}
    assert sim.membership_errors() == {
        "worker-0": "node worker-0 belongs to 2 custom roles, cannot proceed with this Node"}
    assert ann(store.get("Node", "master-0"), "currentConfig") == target(store, "master")


def test_paused_pool_holds_until_unpaused(cluster):
    store, sim, rec = cluster()
    old = target(store)
    pool = store.get("MachineConfigPool", "worker")
    pool["spec"]["paused"] = True
    store.update(pool)
    store.create(extension_mc("worker", ["sandboxed-containers"]))
    new = wait_for(lambda: target(store) != old and target(store))
    assert sim.wait_idle(10)
    time.sleep(10 * STEP)
    assert members_on(store, WORKERS, old)
    assert all(ann(store.get("Node", n), "desiredConfig") == old for n in WORKERS)
    pool = store.get("MachineConfigPool", "worker")
    assert cond(pool, "Updated")["status"] == "False"
    assert (cond(pool, "Updating")["status"], cond(pool, "Updating")["message"]) == \
        ("False", "Pool is paused; will not update to MachineConfig " + new)
    assert pool["status"]["configuration"]["name"] == old
    assert pool["status"]["updatedMachineCount"] == 0 and pool["status"]["unavailableMachineCount"] == 0

    pool["spec"]["paused"] = False
    store.update(pool)
    assert sim.wait_idle(10)
    assert members_on(store, WORKERS, new)
    assert store.get("MachineConfigPool", "worker")["status"]["configuration"]["name"] == new


# ----------------------------------------------------------------------------------------- failures
def test_degrade_node_mid_rollout_halts_the_pool(cluster):
    store, sim, rec = cluster(step_delay=0.02)
    old = target(store)
    store.create(extension_mc("worker", ["sandboxed-containers"]))
    first = wait_for(lambda: next((n for n in WORKERS if ann(store.get("Node", n), "state") == "Working"), None))
    reason = 'failed to drain node: %s after 1h0m0s: error when evicting pods "x"' % first
    sim.degrade_node(first, reason)
    node = wait_for(lambda: ann(store.get("Node", first), "state") == "Degraded" and store.get("Node", first))
    assert ann(node, "reason") == reason
    assert sim.wait_idle(10)
    time.sleep(0.1)
    node = store.get("Node", first)
    assert ann(node, "state") == "Degraded" and ann(node, "currentConfig") == old
    # the rollout stops: the failing node counts against maxUnavailable
    others = [n for n in WORKERS if n != first]
    assert members_on(store, others, old)
    assert all(ann(store.get("Node", n), "state") == "Done" for n in others)
    pool = store.get("MachineConfigPool", "worker")
    st = pool["status"]
    assert st["degradedMachineCount"] == 1 and st["updatedMachineCount"] == 0
    nd = cond(pool, "NodeDegraded")
    assert (nd["status"], nd["reason"]) == ("True", "1 nodes are reporting degraded status on sync")
    assert nd["message"] == 'Node %s is reporting: "%s"' % (first, reason.replace('"', '\\"'))
    assert cond(pool, "Degraded")["status"] == "True"
    assert cond(pool, "Updated")["status"] == "False"
    assert cond(pool, "RenderDegraded")["status"] == "False"


def test_degrade_node_hook_waits_for_next_update(cluster):
    store, sim, rec = cluster()
    sim.degrade_node("worker-2", "unexpected on-disk state validating against " + target(store))
    assert sim.wait_idle(5)
    assert ann(store.get("Node", "worker-2"), "state") == "Done"  # idle node: nothing happens yet
    store.create(extension_mc("worker", ["sandboxed-containers"]))
    wait_for(lambda: ann(store.get("Node", "worker-2"), "state") == "Degraded", timeout=10)
    assert ann(store.get("Node", "worker-2"), "reason").startswith("unexpected on-disk state")


@pytest.mark.parametrize("version", ["4.16.0", "4.19.3"])
def test_invalid_extension_is_render_degraded_from_416(cluster, version):
    store, sim, rec = cluster(version=version)
    old = target(store)
    rendered_before = sorted(m["metadata"]["name"] for m in store.list("MachineConfig"))
    store.create(extension_mc("worker", ["sandboxed-containers", "zsh"], name="99-worker-zsh"))
    pool = wait_for(lambda: (lambda p: cond(p, "RenderDegraded")["status"] == "True" and p)(
        store.get("MachineConfigPool", "worker")))
    assert cond(pool, "RenderDegraded")["message"] == \
        "Failed to render configuration for pool worker: invalid extensions found: [zsh]"
    assert sim.wait_idle(10)
    pool = store.get("MachineConfigPool", "worker")
    assert cond(pool, "Degraded")["status"] == "True"
    assert cond(pool, "Updated")["status"] == "True"           # counters stay healthy (MCO PR #4977 capture)
    assert cond(pool, "NodeDegraded")["status"] == "False"
    st = pool["status"]
    assert (st["machineCount"], st["readyMachineCount"], st["updatedMachineCount"], st["degradedMachineCount"]) \
        == (3, 3, 3, 0)
    assert pool["spec"]["configuration"]["name"] == old
    assert sorted(m["metadata"]["name"] for m in store.list("MachineConfig")) == \
        sorted(rendered_before + ["99-worker-zsh"])
    assert all(ann(store.get("Node", n), "state") == "Done" for n in WORKERS)
    # fixing the input clears RenderDegraded and Degraded
    store.delete("MachineConfig", "99-worker-zsh")
    wait_for(lambda: cond(store.get("MachineConfigPool", "worker"), "RenderDegraded")["status"] == "False")
    assert sim.wait_idle(10)
    assert cond(store.get("MachineConfigPool", "worker"), "Degraded")["status"] == "False"


@pytest.mark.parametrize("version,extension", [("4.12.0", "zsh"), ("4.7.0", "sandboxed-containers")])
def test_invalid_extension_degrades_the_node_before_416(cluster, version, extension):
    store, sim, rec = cluster(version=version)
    old = target(store)
    store.create(extension_mc("worker", [extension]))
    new = wait_for(lambda: target(store) != old and target(store))  # rendering succeeds
    assert sim.wait_idle(10)
    bad = [n for n in WORKERS if ann(store.get("Node", n), "state") == "Degraded"]
    assert bad == ["worker-0"]  # the failing node blocks the others (maxUnavailable 1)
    node = store.get("Node", "worker-0")
    assert ann(node, "reason") == "invalid extensions found: [%s]" % extension
    assert ann(node, "desiredConfig") == new and ann(node, "currentConfig") == old
    assert not node["spec"].get("unschedulable")  # validation happens before the drain
    assert members_on(store, ["worker-1", "worker-2"], old)
    pool = store.get("MachineConfigPool", "worker")
    assert cond(pool, "RenderDegraded")["status"] == "False"
    assert cond(pool, "NodeDegraded")["message"] == \
        'Node worker-0 is reporting: "invalid extensions found: [%s]"' % extension
    assert cond(pool, "Degraded")["status"] == "True"
    assert pool["status"]["degradedMachineCount"] == 1
    # deleting the MC retargets the failing node back and it recovers (OSC issue #113 clean-up)
    store.delete("MachineConfig", OSC_MC)
    wait_for(lambda: target(store) == old)
    assert sim.wait_idle(10)
    assert all(ann(store.get("Node", n), "state") == "Done" for n in WORKERS)
    assert cond(store.get("MachineConfigPool", "worker"), "Degraded")["status"] == "False"


@pytest.mark.parametrize("version,arch,fails", [("4.14.0", "arm64", True), ("4.12.0", "s390x", True),
                                                ("4.14.0", "s390x", False)])
def test_kata_package_missing_for_node_arch(cluster, version, arch, fails):
    store, sim, rec = cluster(version=version, worker_arches=[arch, "amd64"])
    old = target(store)
    store.create(extension_mc("worker", ["sandboxed-containers"]))
    new = wait_for(lambda: target(store) != old and target(store))
    assert sim.wait_idle(10)
    node = store.get("Node", "worker-0")
    if not fails:
        assert members_on(store, ["worker-0", "worker-1"], new)
        return
    assert ann(node, "state") == "Degraded"
    assert ann(node, "reason") == ("error running rpm-ostree update --install kata-containers: "
                                   "error: Packages not found: kata-containers: exit status 1")
    assert node["spec"].get("unschedulable") is True  # failed after the drain: stays cordoned
    assert ann(node, "currentConfig") == old
    assert ann(store.get("Node", "worker-1"), "currentConfig") == old  # pool halted
    st = store.get("MachineConfigPool", "worker")["status"]
    assert (st["degradedMachineCount"], st["unavailableMachineCount"]) == (1, 1)


# ----------------------------------------------------------------------------------------- lifecycle
def test_stop_is_prompt_and_final(cluster):
    store, sim, rec = cluster(step_delay=0.05)
    store.create(extension_mc("worker", ["sandboxed-containers"]))
    wait_for(lambda: any(ann(store.get("Node", n), "state") == "Working" for n in WORKERS))
    t0 = time.monotonic()
    sim.stop()
    assert time.monotonic() - t0 < 1.0
    rv = store.resource_version
    time.sleep(0.2)
    assert store.resource_version == rv


def test_selector_semantics():
    labels = {"a": "1", "b": "2"}
    assert M.selector_matches({"matchLabels": {"a": "1"}}, labels)
    assert not M.selector_matches({}, labels) and not M.selector_matches(None, labels)
    assert M.selector_matches({"matchExpressions": [{"key": "a", "operator": "In", "values": ["1", "3"]}]}, labels)
    assert not M.selector_matches({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]},
                                  labels)
    assert M.selector_matches({"matchExpressions": [{"key": "c", "operator": "NotIn", "values": ["1"]}]}, labels)
    assert M.selector_matches({"matchExpressions": [{"key": "b", "operator": "Exists"}]}, labels)
    assert not M.selector_matches({"matchExpressions": [{"key": "b", "operator": "DoesNotExist"}]}, labels)
    assert not M.selector_matches({"matchLabels": {"a": "1"},
                                   "matchExpressions": [{"key": "z", "operator": "Exists"}]}, labels)


def test_allow_list_by_release():
    assert "sandboxed-containers" not in M.supported_extensions("4.7")
    assert M.supported_extensions("4.8.2")["sandboxed-containers"] == ["kata-containers"]
    assert "wasm" in M.supported_extensions("4.21") and "wasm" not in M.supported_extensions("4.22")
    assert M.kata_supported_archs("4.13") == {"amd64"} and M.kata_supported_archs("4.14") == {"amd64", "s390x"}
    assert M.invalid_extensions(["usbguard", "zsh", "sysstat"], "4.17") == ["zsh", "sysstat"]
