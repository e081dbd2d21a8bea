"""Rollout phases and node states (DOMAIN 3), driven by the rollout fixtures, including the race."""
from __future__ import annotations

import copy

import pytest

from kubectl_kata.core.constants import MC_NAME
from kubectl_kata.core.rollout import (NodeState, node_ready, node_state, pool_rollout_state, progress_line,
                                       state_changed)
from kubectl_kata.core.selectors import primary_pool_for_node
from tests.test_core_fixtures_load import by_kind, get, load_items

ANN = "machineconfiguration.openshift.io/"


def scenario(name):
    items = load_items(name)
    pools = by_kind(items, "MachineConfigPool")
    pool = get(items, "MachineConfigPool", "kata-oc")
    nodes = [n for n in by_kind(items, "Node") if primary_pool_for_node(n, pools) == "kata-oc"]
    return pool, nodes


def rollout(name, **kw):
    pool, nodes = scenario(name)
    return pool_rollout_state(pool, nodes, MC_NAME, **kw)


def states(st):
    return {n.name: n.state for n in st.nodes}


def test_race_pool_still_updated_for_old_target_is_rendering_not_done():
    pool, nodes = scenario("rollout-race-4.16.yaml")
    updated = [c for c in pool["status"]["conditions"] if c["type"] == "Updated"][0]
    assert updated["status"] == "True"                       # the trap: the pool looks finished
    assert pool["status"]["configuration"]["name"] == pool["spec"]["configuration"]["name"]
    st = pool_rollout_state(pool, nodes, MC_NAME)
    assert st.phase == "rendering"
    assert "includes %s" % MC_NAME in st.message
    assert st.target == st.current == pool["spec"]["configuration"]["name"]
    assert states(st) == {"worker-1": "Done", "worker-2": "Done", "worker-3": "Done"}


def test_race_ends_when_target_changes_even_before_source_is_rewritten():
    pool, nodes = scenario("rollout-race-4.16.yaml")
    old = pool["spec"]["configuration"]["name"]
    pool["spec"]["configuration"]["name"] = "rendered-kata-oc-0123456789abcdef0123456789abcdef"
    st = pool_rollout_state(pool, nodes, MC_NAME, previous_target=old)
    assert st.phase == "rolling"
    assert pool_rollout_state(pool, nodes, MC_NAME).phase == "rendering"   # without the hint: keep waiting


def test_working_first_node():
    st = rollout("rollout-working-4.16.yaml")
    assert st.phase == "rolling"
    assert states(st) == {"worker-1": "Working", "worker-2": "Waiting", "worker-3": "Waiting"}
    assert "worker-1 Working" in st.message
    assert not any(n.updated for n in st.nodes)


def test_rolling_mid_way():
    st = rollout("rollout-rolling-4.16.yaml")
    assert st.phase == "rolling"
    assert states(st) == {"worker-1": "Done", "worker-2": "Rebooting", "worker-3": "Waiting"}
    assert st.counters == {"machineCount": 3, "updated": 1, "ready": 1, "unavailable": 1, "degraded": 0}
    by = {n.name: n for n in st.nodes}
    assert by["worker-1"].updated and by["worker-1"].ready
    assert not by["worker-2"].ready                   # cordoned for the reboot
    assert by["worker-2"].desired == st.target and by["worker-2"].current == st.current
    assert "1/3 node(s) updated" in st.message


def test_done():
    st = rollout("rollout-done-4.16.yaml")
    assert st.phase == "done"
    assert all(n.state == "Done" and n.updated and n.ready for n in st.nodes)
    assert st.reasons == []
    assert st.target == st.current


def test_done_requires_status_to_catch_up():
    pool, nodes = scenario("rollout-done-4.16.yaml")
    pool["status"]["configuration"]["name"] = "rendered-kata-oc-ffffffffffffffffffffffffffffffff"
    assert pool_rollout_state(pool, nodes, MC_NAME).phase == "rolling"


@pytest.mark.parametrize("counter,value", [("updatedMachineCount", 2), ("readyMachineCount", 2),
                                           ("unavailableMachineCount", 1)])
def test_done_requires_all_counters(counter, value):
    pool, nodes = scenario("rollout-done-4.16.yaml")
    pool["status"][counter] = value
    assert pool_rollout_state(pool, nodes, MC_NAME).phase == "rolling"


def test_disable_race_mc_still_in_source_is_rendering():
    st = rollout("rollout-done-4.16.yaml", expect_present=False)
    assert st.phase == "rendering"
    assert "no longer includes" in st.message


def test_disable_done_when_mc_left_the_source():
    pool, nodes = scenario("rollout-race-4.16.yaml")   # source without our MC, all nodes on it
    assert pool_rollout_state(pool, nodes, MC_NAME, expect_present=False).phase == "done"


def test_paused_with_pending_work():
    st = rollout("rollout-paused-4.16.yaml")
    assert st.phase == "paused" and st.paused
    assert "oc patch mcp kata-oc --type merge -p '{\"spec\":{\"paused\":false}}'" in st.message
    assert states(st) == {"worker-1": "Waiting", "worker-2": "Waiting", "worker-3": "Waiting"}


def test_paused_but_nothing_pending_is_done_and_paused_before_render_is_rendering():
    pool, nodes = scenario("rollout-done-4.16.yaml")
    pool["spec"]["paused"] = True
    assert pool_rollout_state(pool, nodes, MC_NAME).phase == "done"
    pool, nodes = scenario("rollout-race-4.16.yaml")
    pool["spec"]["paused"] = True
    assert pool_rollout_state(pool, nodes, MC_NAME).phase == "rendering"


def test_node_degraded_quotes_the_node_reason():
    st = rollout("rollout-node-degraded-4.16.yaml")
    assert st.phase == "degraded"
    assert states(st)["worker-1"] == "Degraded"
    assert len(st.reasons) == 1
    assert st.reasons[0].startswith("node worker-1 is Degraded: error running rpm-ostree update --install "
                                    "kata-containers: error: Packages not found: kata-containers")
    assert "rpm-ostree" in st.message


def test_degraded_falls_back_to_the_pool_condition_message():
    pool, nodes = scenario("rollout-node-degraded-4.16.yaml")
    for n in nodes:
        n["metadata"]["annotations"][ANN + "reason"] = ""
    st = pool_rollout_state(pool, nodes, MC_NAME)
    assert st.phase == "degraded"
    assert st.reasons == [c["message"] for c in pool["status"]["conditions"] if c["type"] == "NodeDegraded"]
    assert st.reasons[0].startswith('Node worker-1 is reporting: "error running rpm-ostree')


def test_degraded_from_counter_alone_and_from_unreconcilable_node():
    pool, nodes = scenario("rollout-rolling-4.16.yaml")
    pool["status"]["degradedMachineCount"] = 1
    st = pool_rollout_state(pool, nodes, MC_NAME)
    assert st.phase == "degraded" and st.reasons == ["1 node(s) reported degraded (degradedMachineCount)"]

    pool, nodes = scenario("rollout-rolling-4.16.yaml")
    ann = nodes[2]["metadata"]["annotations"]
    ann[ANN + "state"] = "Unreconcilable"
    ann[ANN + "reason"] = "can't reconcile config rendered-kata-oc-a with rendered-kata-oc-b: ignition file changes"
    st = pool_rollout_state(pool, nodes, MC_NAME)
    assert st.phase == "degraded"
    assert st.reasons == ["node worker-3 is Unreconcilable: can't reconcile config rendered-kata-oc-a with "
                          "rendered-kata-oc-b: ignition file changes"]


def test_degraded_condition_without_node_degraded():
    pool, nodes = scenario("rollout-done-4.16.yaml")
    for c in pool["status"]["conditions"]:
        if c["type"] == "Degraded":
            c.update(status="True", message="Failed to populate pinned image sets: foo")
    st = pool_rollout_state(pool, nodes, MC_NAME)
    assert st.phase == "degraded" and st.reasons == ["Failed to populate pinned image sets: foo"]


def test_render_failed_quotes_the_condition():
    st = rollout("rollout-render-failed-4.16.yaml")
    assert st.phase == "render-failed"
    assert st.reasons == ["Failed to render configuration for pool kata-oc: invalid extensions found: [zsh]"]
    assert st.counters["degraded"] == 0            # node counters stay healthy on a render failure


def test_render_failed_wins_over_rendering_and_degraded():
    pool, nodes = scenario("rollout-render-failed-4.16.yaml")
    assert MC_NAME not in [s["name"] for s in pool["spec"]["configuration"]["source"]]   # would be "rendering"
    nodes[0]["metadata"]["annotations"][ANN + "state"] = "Degraded"
    assert pool_rollout_state(pool, nodes, MC_NAME).phase == "render-failed"


def _node(**ann):
    n = copy.deepcopy(scenario("rollout-done-4.16.yaml")[1][0])
    a = n["metadata"]["annotations"]
    for k, v in ann.items():
        key = ANN + k
        if v is None:
            a.pop(key, None)
        else:
            a[key] = v
    return n


T, OLD = "rendered-kata-oc-new", "rendered-kata-oc-old"

NODE_TABLE = [
    # annotations, target -> state, updated
    (dict(currentConfig=T, desiredConfig=T, state="Done"), T, "Done", True),
    (dict(currentConfig=OLD, desiredConfig=OLD, state="Done"), T, "Waiting", False),
    (dict(currentConfig=OLD, desiredConfig=T, state="Done"), T, "Working", False),    # picked, MCD not started
    (dict(currentConfig=OLD, desiredConfig=T, state="Working"), T, "Working", False),
    (dict(currentConfig=OLD, desiredConfig=T, state="Rebooting"), T, "Rebooting", False),
    (dict(currentConfig=OLD, desiredConfig=T, state="Degraded", reason="boom"), T, "Degraded", False),
    (dict(currentConfig=OLD, desiredConfig=T, state="Unreconcilable"), T, "Unreconcilable", False),
    (dict(currentConfig=None, desiredConfig=None, state=None, reason=None), T, "Waiting", False),   # new node
    (dict(currentConfig=T, desiredConfig=T, state=None), T, "Waiting", False),
    (dict(currentConfig=T, desiredConfig=OLD, state="Done"), T, "Waiting", False),   # rolling back elsewhere
    (dict(currentConfig=OLD, desiredConfig=OLD, state="Done"), None, "Done", True),  # pool never rendered
]


@pytest.mark.parametrize("ann,target,state,updated", NODE_TABLE)
def test_node_state_table(ann, target, state, updated):
    ns = node_state(_node(**ann), target)
    assert (ns.state, ns.updated) == (state, updated)
    assert ns.name == "worker-1"
    assert ns.current == ann.get("currentConfig") and ns.desired == ann.get("desiredConfig")


def test_node_state_reason_empty_is_none():
    assert node_state(_node(reason=""), T).reason is None
    assert node_state(_node(state="Degraded", reason="x"), T).reason == "x"


def _cond(node, ctype, status):
    for c in node["status"]["conditions"]:
        if c["type"] == ctype:
            c["status"] = status
            return node
    node["status"]["conditions"].append({"type": ctype, "status": status})
    return node


def test_node_ready():
    assert node_ready(_node())
    assert not node_ready(_cond(_node(), "Ready", "Unknown"))
    assert not node_ready(_cond(_node(), "Ready", "False"))
    assert not node_ready(_cond(_node(), "DiskPressure", "True"))
    assert not node_ready(_cond(_node(), "NetworkUnavailable", "True"))
    assert node_ready(_cond(_node(), "MemoryPressure", "True"))   # MCO ignores memory pressure
    n = _node()
    n["spec"]["unschedulable"] = True
    assert not node_ready(n)
    n = _node()
    n["status"]["conditions"] = []
    assert not node_ready(n)


def test_junk_input_does_not_raise():
    st = pool_rollout_state({}, [], MC_NAME)
    assert st.phase == "rendering" and st.target is None
    st = pool_rollout_state(None, [{"metadata": None}], MC_NAME)
    assert st.nodes[0].state == "Waiting"
    assert pool_rollout_state({"status": {"machineCount": "3"}}, [], MC_NAME).counters["machineCount"] == 0


def test_progress_line_is_plain_and_informative():
    line = progress_line(rollout("rollout-rolling-4.16.yaml"))
    assert line.startswith("kata-oc: rolling 1/3 updated, 1 ready, 1 unavailable, 0 degraded -> rendered-kata-oc-")
    assert "worker-2 Rebooting" in line and "worker-3 Waiting" in line and "worker-1" not in line
    assert "\x1b" not in line and "\n" not in line
    line = progress_line(rollout("rollout-render-failed-4.16.yaml"))
    assert line.endswith(": Failed to render configuration for pool kata-oc: invalid extensions found: [zsh]")
    assert "rendering" in progress_line(rollout("rollout-race-4.16.yaml"))


def test_progress_line_keeps_one_line_for_multiline_reasons():
    st = rollout("rollout-node-degraded-4.16.yaml")
    assert "\n" in st.reasons[0]                   # the MCD error really is multi-line
    line = progress_line(st)
    assert "\n" not in line
    assert "node worker-1 is Degraded: error running rpm-ostree" in line
    assert line.endswith("Packages not found: kata-containers : exit status 1")


def test_state_changed():
    a = rollout("rollout-rolling-4.16.yaml")
    assert state_changed(None, a)
    assert not state_changed(a, rollout("rollout-rolling-4.16.yaml"))
    assert state_changed(a, rollout("rollout-done-4.16.yaml"))
    pool, nodes = scenario("rollout-rolling-4.16.yaml")
    nodes[2]["metadata"]["annotations"][ANN + "desiredConfig"] = pool["spec"]["configuration"]["name"]
    b = pool_rollout_state(pool, nodes, MC_NAME)
    assert b.phase == a.phase and b.counters == a.counters
    assert state_changed(a, b)                       # worker-3 went Waiting -> Working


def test_node_state_is_a_namedtuple_with_the_documented_fields():
    assert NodeState._fields == ("name", "state", "current", "desired", "reason", "ready", "updated")
