"""`upgrade --inspect-nodes / --clean-nodes`: host leftovers of a legacy install, per node.

Cluster: the fake API server with a seeded legacy 4.6 install (seeds.legacy_objects). Nodes: the fake `oc debug`
serving nodesim's `legacy-leftovers` (payload files present) and `legacy-layered` (kata-runtime/kata-osbuilder
layered, DOMAIN 5) scenarios. Pure parts (leftovers_of_node, cleanup_commands) are checked on nodesim facts.
"""
from __future__ import annotations

import json

from kubectl_kata.core import installkind as ik
from kubectl_kata.core.nodefacts import parse_node_facts
from kubectl_kata.status import ExitStatus
from tests.clirunner import run_cli
from tests.nodesim import make_node_raw


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


def test_inspect_nodes_without_oc_is_one_line(make_fake_cluster, tmp_path):
    fc = make_fake_cluster(ocp_version="4.16.3", masters=1, workers=1, legacy="4.6", mco=False)
    kc = fc.write_kubeconfig(str(tmp_path / "kc"))
    res = run_cli(["upgrade", "--dry-run", "--inspect-nodes"], kubeconfig=kc, environ={"PATH": "/nonexistent"})
    assert res.exit_code == ExitStatus.CLUSTER_ERROR
    assert res.stderr.startswith("error: kubectl is not on PATH; doctor probes nodes with `kubectl debug node/...`")
    assert "Traceback" not in res.stderr and res.stdout == ""


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
