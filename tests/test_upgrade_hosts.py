"""`upgrade` node inspection (default on a legacy install, `--inspect-nodes`, `--no-inspect-nodes`, `--clean-nodes`):
host leftovers of a legacy install, per node.

Cluster: the fake API server with a seeded legacy 4.6 install (seeds.legacy_objects). Nodes: the fake `oc debug`
serving nodesim's `legacy-leftovers` (payload files present) and `legacy-layered` (kata-runtime/kata-osbuilder
layered, DOMAIN 5) scenarios. Pure parts (leftovers_of_node, cleanup_commands) are checked on nodesim facts.
"""
from __future__ import annotations

import json

from kubectl_kata.core import installkind as ik
from kubectl_kata.core.constants import MC_NAME
from kubectl_kata.core.nodefacts import parse_node_facts
from kubectl_kata.services.upgrading import NOT_INSPECTED_NOTE
from kubectl_kata.status import ExitStatus
from tests.clirunner import run_cli
from tests.nodesim import make_node_raw
from tests.test_e2e_upgrade import LEGACY_46_WRITES


def _env(fake_oc):
    return {"FAKE_OC_SCENARIO_DIR": fake_oc.scenario_dir, "FAKE_OC_STATE_DIR": fake_oc.state_dir}


def _writes(fc):
    return [(r["method"], r["path"]) for r in fc.requests if r["method"] in ("POST", "PATCH", "PUT", "DELETE")
            and "/namespaces/kata-doctor-" not in r["path"] and not r["path"].endswith("/api/v1/namespaces")]


def _facts(scenario):
    return parse_node_facts(make_node_raw(scenario=scenario, release="4.16"))


def test_leftovers_of_node_from_probed_facts():
    assert ik.leftovers_of_node(_facts("healthy")) == []
    assert ik.leftovers_of_node(_facts("legacy-leftovers")) == [
        "packages.repo", "opt-kata-install", "usr-local-kata", "crio-50-kata.conf", "osbuilder-unit"]
    assert ik.leftovers_of_node(_facts("legacy-layered"))[-1] == "layered-kata-runtime"


def test_cleanup_commands_are_exact():
    cmds = ik.cleanup_commands("worker-1", ["packages.repo", "usr-local-kata", "layered-kata-runtime"])
    assert cmds == [
        "oc debug node/worker-1 -- chroot /host sh -c 'rm -f /etc/yum.repos.d/packages.repo && rm -rf /usr/local/kata'",
        "oc adm drain worker-1 --ignore-daemonsets --delete-emptydir-data",
        "oc debug node/worker-1 -- chroot /host rpm-ostree uninstall --idempotent kata-runtime kata-osbuilder",
        "oc debug node/worker-1 -- chroot /host systemctl reboot",
        "oc adm uncordon worker-1",
    ]
    assert ik.file_cleanup_script(["layered-kata-runtime"]) is None


def test_dry_run_inspect_nodes_lists_leftovers_per_node_and_writes_nothing(make_fake_cluster, tmp_path, fake_oc):
    fc = make_fake_cluster(ocp_version="4.16.3", masters=1, workers=2, legacy="4.6", mco=False)
    kc = fc.write_kubeconfig(str(tmp_path / "kc"))
    fake_oc.configure(nodes={"worker-0": {"scenario": "legacy-leftovers"}, "worker-1": {"scenario": "legacy-layered"}},
                      strict_nodes=False)
    fc.reset_requests()
    res = run_cli(["upgrade", "--dry-run", "--inspect-nodes"], kubeconfig=kc, environ=_env(fake_oc))
    assert res.exit_code == 0, res.stderr
    out = res.stdout
    assert "Host leftovers (pool worker, 2 node(s) inspected):" in out
    assert ("  worker-0: /etc/yum.repos.d/packages.repo, /opt/kata-install, /usr/local/kata, "
            "/etc/crio/crio.conf.d/50-kata.conf, /etc/systemd/system/kata-osbuilder-generate.service") in out
    # files the legacy MachineConfig still writes are left to the MCO, never removed by hand
    assert ("    /etc/crio/crio.conf.d/50-kata.conf is still written by MachineConfig 50-kata-crio-dropin") in out
    assert ("    $ oc debug node/worker-0 -- chroot /host sh -c 'rm -f /etc/yum.repos.d/packages.repo && "
            "rm -rf /opt/kata-install && rm -rf /usr/local/kata'") in out
    assert "    $ oc debug node/worker-1 -- chroot /host rpm-ostree uninstall --idempotent kata-runtime kata-osbuilder" \
        in out
    assert _writes(fc) == []               # only doctor's temporary namespace was created and deleted
    assert fake_oc.live_pods() == [] and fake_oc.count("oc", "debug") == 2


def test_clean_nodes_runs_only_file_removals_after_the_migration(make_fake_cluster, tmp_path, fake_oc):
    fc = make_fake_cluster(ocp_version="4.16.3", masters=1, workers=2, legacy="4.6")
    kc = fc.write_kubeconfig(str(tmp_path / "kc"))
    fake_oc.configure(nodes={"worker-0": {"scenario": "legacy-leftovers"}, "worker-1": {"scenario": "healthy"}})
    res = run_cli(["upgrade", "--yes", "--clean-nodes", "-o", "json", "--timeout", "60s"], kubeconfig=kc,
                  environ=_env(fake_oc))
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    by_node = {h["node"]: h for h in doc["hostLeftovers"]}
    assert [x["id"] for x in by_node["worker-0"]["leftovers"]][:3] == ["packages.repo", "opt-kata-install",
                                                                       "usr-local-kata"]
    assert by_node["worker-1"]["leftovers"] == []
    assert "node/worker-0: removed /etc/yum.repos.d/packages.repo, /opt/kata-install, /usr/local/kata" in res.stderr
    cleaning = [i["argv"] for i in fake_oc.invocations("oc", "debug") if "rm -f /etc/yum.repos.d/packages.repo" in
                " ".join(i["argv"])]
    assert len(cleaning) == 1 and "node/worker-0" in cleaning[0]
    assert cleaning[0][-1] == "rm -f /etc/yum.repos.d/packages.repo && rm -rf /opt/kata-install && rm -rf /usr/local/kata"
    assert [e["script"] for e in fake_oc.events("node-command")] == [cleaning[0][-1]]
    assert fake_oc.live_pods() == []
    assert fc.store.get("MachineConfig", "50-kata-crio-dropin") is None


NO_TOOL = ("error: cannot inspect the nodes of pool worker for host leftovers: kubectl is not on PATH; doctor probes "
           "nodes with `kubectl debug node/...` (nothing was changed)\n")
SKIP_HINT = ("pass --no-inspect-nodes to go on without looking at the nodes (a node that still has "
             "kata-runtime/kata-osbuilder layered then degrades the pool in the rollout)")


def test_inspect_nodes_without_oc_is_one_line(make_fake_cluster, tmp_path):
    fc = make_fake_cluster(ocp_version="4.16.3", masters=1, workers=1, legacy="4.6", mco=False)
    kc = fc.write_kubeconfig(str(tmp_path / "kc"))
    res = run_cli(["upgrade", "--dry-run", "--inspect-nodes"], kubeconfig=kc, environ={"PATH": "/nonexistent"})
    assert res.exit_code == ExitStatus.CLUSTER_ERROR
    assert res.stderr.startswith(NO_TOOL)
    assert "Traceback" not in res.stderr and res.stdout == ""


def _legacy_intact(fc):
    """Every object of the seeded 4.6 legacy install is still there and nothing of ours was created."""
    assert fc.store.get("MachineConfig", "50-kata-crio-dropin") is not None
    assert fc.store.get("Namespace", "kata-operator") is not None
    assert fc.store.get("KataConfig", "example-kataconfig") is not None
    assert fc.store.get("RuntimeClass", "kata-oc") is not None
    assert fc.store.get("MachineConfig", MC_NAME) is None and fc.store.get("RuntimeClass", "kata") is None
    assert [n["metadata"]["name"] for n in fc.store.list("Namespace") if n["metadata"]["name"].startswith(
        "kata-doctor-")] == []


def test_default_upgrade_without_oc_or_kubectl_exits_3_and_writes_nothing(make_fake_cluster, tmp_path):
    """On a legacy install the inspection is on by default: when it cannot run, upgrade stops before any write
    (no API write at all: not even the debug namespace) and names --no-inspect-nodes."""
    fc = make_fake_cluster(ocp_version="4.16.3", masters=1, workers=2, legacy="4.6", mco=False)
    kc = fc.write_kubeconfig(str(tmp_path / "kc"))
    for args in (["upgrade", "--yes"], ["upgrade", "--dry-run"], ["upgrade", "--yes", "-o", "json"]):
        fc.reset_requests()
        res = run_cli(args, kubeconfig=kc, environ={"PATH": "/nonexistent"})
        assert res.exit_code == ExitStatus.CLUSTER_ERROR, (args, res.stderr)
        assert res.stderr == NO_TOOL + "hint: install oc (or kubectl), or " + SKIP_HINT + "\n", args
        assert res.stdout == ""
        assert [r for r in fc.requests if r["method"] != "GET"] == []
    _legacy_intact(fc)


def test_plain_upgrade_refuses_when_a_node_still_has_kata_runtime_layered(make_fake_cluster, tmp_path, fake_oc):
    """The main use case: a 4.6 legacy cluster whose nodes still have kata-runtime/kata-osbuilder layered. A plain
    `upgrade --yes` looks at the nodes first (no flag needed) and refuses before writing anything."""
    fc = make_fake_cluster(ocp_version="4.16.3", masters=1, workers=2, legacy="4.6")
    kc = fc.write_kubeconfig(str(tmp_path / "kc"))
    fake_oc.configure(nodes={"worker-0": {"scenario": "not-enabled"}, "worker-1": {"scenario": "legacy-layered"}})
    fc.reset_requests()
    res = run_cli(["upgrade", "--yes"], kubeconfig=kc, environ=_env(fake_oc))
    assert res.exit_code == ExitStatus.PREFLIGHT_REFUSED, res.stderr
    assert "error: node(s) worker-1 still have the legacy kata-runtime/kata-osbuilder layered" in res.stderr
    assert "Host leftovers (pool worker, 2 node(s) inspected):\n  worker-0: none\n" in res.stdout
    assert "    $ oc debug node/worker-1 -- chroot /host rpm-ostree uninstall --idempotent kata-runtime " \
           "kata-osbuilder" in res.stdout
    assert _writes(fc) == []
    # the only writes: the debug namespace, created and deleted again; its pods are gone
    ns = [(r["method"], r["path"]) for r in fc.requests if r["method"] != "GET"]
    assert len(ns) == 2 and ns[0] == ("POST", "/api/v1/namespaces")
    assert ns[1][0] == "DELETE" and ns[1][1].startswith("/api/v1/namespaces/kata-doctor-")
    assert fake_oc.count("oc", "debug") == 2 and fake_oc.live_pods() == []
    _legacy_intact(fc)
    # read-only and node facts only: neither the pull secret nor the release image is read
    assert not any("/secrets/pull-secret" in r["path"] for r in fc.requests)
    assert fake_oc.count("oc", "extract") == 0 and fake_oc.count("oc", "release") == 0


def test_plain_upgrade_on_clean_legacy_nodes_migrates_and_leaves_no_debug_pod(make_fake_cluster, tmp_path, fake_oc):
    fc = make_fake_cluster(ocp_version="4.16.3", masters=1, workers=2, legacy="4.6")
    kc = fc.write_kubeconfig(str(tmp_path / "kc"))
    fake_oc.configure(nodes={"worker-0": {"scenario": "not-enabled"}, "worker-1": {"scenario": "not-enabled"}},
                      strict_nodes=True)
    fc.reset_requests()
    res = run_cli(["upgrade", "--yes", "--timeout", "60s"], kubeconfig=kc, environ=_env(fake_oc))
    assert res.exit_code == 0, res.stderr
    assert "Host leftovers (pool worker, 2 node(s) inspected):\n  worker-0: none\n  worker-1: none\n" in res.stdout
    assert "nodes were not inspected" not in res.stdout
    assert "Upgrade done: 6 step(s); pool worker: 2 node(s) run rendered-worker-" in res.stdout
    mutating = [(r["method"], r["path"]) for r in fc.requests if r["method"] in ("POST", "PATCH", "PUT", "DELETE")]
    # the inspection (debug namespace created, then deleted) comes before the first write of the migration
    assert mutating[0] == ("POST", "/api/v1/namespaces")
    assert mutating[1][0] == "DELETE" and mutating[1][1].startswith("/api/v1/namespaces/kata-doctor-")
    assert mutating[2:] == LEGACY_46_WRITES
    assert len(fake_oc.events("pod-create")) == 2 and fake_oc.live_pods() == []
    assert [n["metadata"]["name"] for n in fc.store.list("Namespace") if n["metadata"]["name"].startswith(
        "kata-doctor-")] == []
    assert fc.store.get("MachineConfig", "50-kata-crio-dropin") is None
    assert fc.store.get("MachineConfig", MC_NAME)["spec"]["extensions"] == ["sandboxed-containers"]
    assert fc.store.get("RuntimeClass", "kata") is not None


def test_dry_run_inspects_legacy_nodes_by_default(make_fake_cluster, tmp_path, fake_oc):
    fc = make_fake_cluster(ocp_version="4.16.3", masters=1, workers=2, legacy="4.7", mco=False)
    kc = fc.write_kubeconfig(str(tmp_path / "kc"))
    fake_oc.configure(nodes={"worker-0": {"scenario": "legacy-leftovers"}, "worker-1": {"scenario": "not-enabled"}})
    fc.reset_requests()
    res = run_cli(["upgrade", "--dry-run", "-o", "json"], kubeconfig=kc, environ=_env(fake_oc))
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    by_node = {h["node"]: h for h in doc["hostLeftovers"]}
    assert [x["id"] for x in by_node["worker-0"]["leftovers"]] == [
        "packages.repo", "opt-kata-install", "usr-local-kata", "crio-50-kata.conf", "osbuilder-unit"]
    assert by_node["worker-1"]["leftovers"] == [] and by_node["worker-1"]["commands"] == []
    assert not any("not inspected" in n for n in doc["notes"])
    assert _writes(fc) == [] and fake_oc.count("oc", "debug") == 2 and fake_oc.live_pods() == []


def test_no_inspect_nodes_skips_the_inspection_and_says_what_that_risks(make_fake_cluster, tmp_path, fake_oc):
    fc = make_fake_cluster(ocp_version="4.16.3", masters=1, workers=2, legacy="4.6")
    kc = fc.write_kubeconfig(str(tmp_path / "kc"))
    fake_oc.configure(nodes={"worker-0": {"scenario": "legacy-layered"}, "worker-1": {"scenario": "legacy-layered"}})
    res = run_cli(["upgrade", "--dry-run", "--no-inspect-nodes", "-o", "json"], kubeconfig=kc, environ=_env(fake_oc))
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    assert "hostLeftovers" not in doc
    assert doc["notes"][-1] == NOT_INSPECTED_NOTE
    fc.reset_requests()
    res = run_cli(["upgrade", "--yes", "--no-inspect-nodes", "--timeout", "60s"], kubeconfig=kc,
                  environ=_env(fake_oc))
    assert res.exit_code == 0, res.stderr
    assert "note: " + NOT_INSPECTED_NOTE + "\n" in res.stdout
    assert "Host leftovers" not in res.stdout
    # no debug pod, no debug namespace: exactly the migration's writes
    assert fake_oc.count("oc", "debug") == 0 and fake_oc.count("kubectl", "debug") == 0
    assert fake_oc.events("pod-create") == []
    assert [(r["method"], r["path"]) for r in fc.requests
            if r["method"] in ("POST", "PATCH", "PUT", "DELETE")] == LEGACY_46_WRITES
    assert not any(r["path"].startswith("/api/v1/namespaces/kata-doctor-") for r in fc.requests)


def test_inspection_forbidden_on_the_nodes_exits_3_and_writes_nothing(make_fake_cluster, tmp_path, fake_oc):
    fc = make_fake_cluster(ocp_version="4.16.3", masters=1, workers=2, legacy="4.6")
    kc = fc.write_kubeconfig(str(tmp_path / "kc"))
    fake_oc.configure(default={"behaviour": "forbidden"})
    fc.reset_requests()
    res = run_cli(["upgrade", "--yes"], kubeconfig=kc, environ=_env(fake_oc))
    assert res.exit_code == ExitStatus.CLUSTER_ERROR, res.stderr
    lines = res.stderr.splitlines()
    assert lines[-2].startswith("error: cannot inspect 2 of 2 node(s) of pool worker for host leftovers (worker-0, "
                                "worker-1: permission denied: ")
    assert lines[-2].endswith("; nothing was changed")
    assert lines[-1] == ("hint: fix that (`kubectl kata doctor --node worker-0` shows the details), or "
                         + SKIP_HINT)
    assert res.stdout == "" and "Traceback" not in res.stderr
    assert _writes(fc) == [] and fake_oc.live_pods() == []
    _legacy_intact(fc)


def test_one_node_not_inspected_stops_a_legacy_migration(make_fake_cluster, tmp_path, fake_oc):
    """A node whose probe did not finish cleanly may still hide a layered kata-runtime: not inspected, so stop."""
    fc = make_fake_cluster(ocp_version="4.16.3", masters=1, workers=2, legacy="4.6")
    kc = fc.write_kubeconfig(str(tmp_path / "kc"))
    fake_oc.configure(nodes={"worker-0": {"scenario": "not-enabled"},
                             "worker-1": {"scenario": "legacy-layered", "behaviour": "remote-fail"}})
    fc.reset_requests()
    res = run_cli(["upgrade", "--yes"], kubeconfig=kc, environ=_env(fake_oc))
    assert res.exit_code == ExitStatus.CLUSTER_ERROR, res.stderr
    assert "error: cannot inspect 1 of 2 node(s) of pool worker for host leftovers (worker-1: " in res.stderr
    assert _writes(fc) == [] and fake_oc.live_pods() == []
    _legacy_intact(fc)


def test_no_inspection_by_default_on_plugin_operator_and_none(make_fake_cluster, tmp_path, fake_oc):
    # plugin-managed at an older revision: re-rendered, nodes not looked at, no note about them
    fc = make_fake_cluster(workers=2)
    kc = fc.write_kubeconfig(str(tmp_path / "kc"))
    assert run_cli(["enable", "--timeout", "60s"], kubeconfig=kc, environ=_env(fake_oc)).exit_code == 0
    for kind, name in (("MachineConfig", MC_NAME), ("RuntimeClass", "kata")):
        obj = fc.store.get(kind, name)
        del obj["metadata"]["annotations"]["kubectl-kata.io/revision"]
        fc.store.update(obj)
    assert fc.mco.wait_idle(10)
    res = run_cli(["upgrade", "--yes", "--timeout", "60s"], kubeconfig=kc, environ=_env(fake_oc))
    assert res.exit_code == 0, res.stderr
    assert "Host leftovers" not in res.stdout and "not inspected" not in res.stdout
    # none
    fc2 = make_fake_cluster(workers=2, mco=False)
    res = run_cli(["upgrade", "--dry-run"], kubeconfig=fc2.write_kubeconfig(str(tmp_path / "kc2")),
                  environ=_env(fake_oc))
    assert res.exit_code == 0 and "Nothing to do." in res.stdout and "not inspected" not in res.stdout
    # operator: refused before anything else
    fc3 = make_fake_cluster(workers=2, operator=True, olm=True, mco=False)
    res = run_cli(["upgrade", "--dry-run"], kubeconfig=fc3.write_kubeconfig(str(tmp_path / "kc3")),
                  environ=_env(fake_oc))
    assert res.exit_code == ExitStatus.PREFLIGHT_REFUSED
    assert fake_oc.count("oc", "debug") == 0 and fake_oc.count("kubectl", "debug") == 0
    # --inspect-nodes still forces it on a plugin install
    res = run_cli(["upgrade", "--dry-run", "--inspect-nodes"], kubeconfig=kc, environ=_env(fake_oc))
    assert res.exit_code == 0, res.stderr
    assert "Host leftovers (pool worker, 2 node(s) inspected):" in res.stdout
    assert fake_oc.count("oc", "debug") == 2 and fake_oc.live_pods() == []


def test_inspection_flags_that_contradict_each_other_are_usage_errors(make_fake_cluster, tmp_path):
    fc = make_fake_cluster(ocp_version="4.16.3", masters=1, workers=1, legacy="4.6", mco=False)
    kc = fc.write_kubeconfig(str(tmp_path / "kc"))
    fc.reset_requests()
    for args, msg in ((["--inspect-nodes", "--no-inspect-nodes"],
                       "error: --inspect-nodes and --no-inspect-nodes are mutually exclusive\n"),
                      (["--clean-nodes", "--no-inspect-nodes"],
                       "error: --clean-nodes inspects the nodes: it does not go with --no-inspect-nodes\n")):
        res = run_cli(["upgrade", "--dry-run"] + args, kubeconfig=kc)
        assert res.exit_code == ExitStatus.USAGE and res.stderr == msg, res.stderr
    assert fc.requests == []


def test_layered_legacy_packages_stop_the_migration_before_any_write(make_fake_cluster, tmp_path, fake_oc):
    """kata-containers conflicts with the legacy kata-runtime/kata-osbuilder: creating the extension MC would
    degrade the pool inside rpm-ostree, so a migration that found them refuses (exit 4) and changes nothing."""
    fc = make_fake_cluster(ocp_version="4.16.3", masters=1, workers=2, legacy="4.6", mco=False)
    kc = fc.write_kubeconfig(str(tmp_path / "kc"))
    fake_oc.configure(nodes={"worker-0": {"scenario": "healthy"}, "worker-1": {"scenario": "legacy-layered"}})
    fc.reset_requests()
    res = run_cli(["upgrade", "--yes", "--inspect-nodes"], kubeconfig=kc, environ=_env(fake_oc))
    assert res.exit_code == ExitStatus.PREFLIGHT_REFUSED, res.stderr
    assert "node(s) worker-1 still have the legacy kata-runtime/kata-osbuilder layered" in res.stderr
    assert "$ oc adm drain worker-1 --ignore-daemonsets --delete-emptydir-data" in res.stdout
    assert _writes(fc) == []
    assert fc.store.get("MachineConfig", "50-kata-crio-dropin") is not None
