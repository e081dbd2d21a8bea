"""The rollout follower: watch-based (bounded requests), relists on 410, and its printer."""
from __future__ import annotations

import threading

from kubectl_kata.context import Environment
from kubectl_kata.core.constants import MC_NAME
from kubectl_kata.core import objects
from kubectl_kata.connection import ConnectionOptions
from kubectl_kata.services.cluster_facts import open_cluster
from kubectl_kata.services.follow import follow_rollout
from tests.clirunner import run_cli


def _enable_requests(make_fake_cluster, tmp_path, workers):
    fc = make_fake_cluster(workers=workers)
    kc = fc.write_kubeconfig(str(tmp_path / f"kc{workers}"))
    fc.reset_requests()
    res = run_cli(["enable", "--timeout", "60s"], kubeconfig=kc)
    assert res.exit_code == 0, res.stderr
    reqs = list(fc.requests)
    watches = [r for r in reqs if r["query"].get("watch") in ("true", "1", "True")]
    return len(reqs), len(watches), res.stdout.count("\n[")


def test_rollout_wait_makes_the_same_number_of_requests_for_2_and_6_nodes(make_fake_cluster, tmp_path):
    small, small_watches, small_lines = _enable_requests(make_fake_cluster, tmp_path, 2)
    big, big_watches, big_lines = _enable_requests(make_fake_cluster, tmp_path, 6)
    assert big_lines > small_lines  # the longer rollout really produced more progress...
    assert big == small              # ...but not one more API request
    assert small_watches == big_watches == 2  # one watch on pools, one on nodes


def test_follower_relists_after_410_and_still_finishes(make_fake_cluster, tmp_path):
    fc = make_fake_cluster(workers=3)
    env = Environment(environ={"KUBECONFIG": fc.write_kubeconfig(str(tmp_path / "kc"))})
    cluster = open_cluster(ConnectionOptions(), env)
    stop = threading.Event()

    def compactor():  # keep forgetting history so every re-watch (1 s windows) gets 410 Gone
        while not stop.wait(0.15):
            fc.compact()

    t = threading.Thread(target=compactor, daemon=True)
    t.start()
    fc.mco.step_delay = 0.4  # a rollout of ~3 s spans several 1 s watch windows
    cluster.create(objects.machine_config("worker"))
    fc.reset_requests()
    states = []
    try:
        final = follow_rollout(cluster, "worker", MC_NAME, True, 60, states.append, env.monotonic, window=1)
    finally:
        stop.set()
    assert final.phase == "done"
    assert final.counters["updated"] == 3
    watches = [r for r in fc.requests if "watch" in r["query"]]
    lists = [r for r in fc.requests if r["method"] == "GET" and "watch" not in r["query"]]
    assert len(watches) >= 4  # the 1 s windows made it re-watch...
    assert len(lists) >= 3    # ...and an expired resourceVersion (410) made it relist beyond the two initial lists
    phases = [s.phase for s in states]
    assert phases[-1] == "done" and "rolling" in phases


def test_status_watch_follows_until_done_and_tty_progress(make_fake_cluster, tmp_path):
    fc = make_fake_cluster(workers=2)
    kc = fc.write_kubeconfig(str(tmp_path / "kc"))
    res = run_cli(["enable", "--no-wait"], kubeconfig=kc)
    assert res.exit_code == 0 and "Not waiting" in res.stdout
    res = run_cli(["status", "--watch", "--timeout", "60s"], kubeconfig=kc, tty=True)
    assert res.exit_code == 0, res.stderr
    assert "worker: done 2/2 updated" in res.stdout  # the live panel's last frame
    for node in fc.store.list("Node"):
        if "node-role.kubernetes.io/worker" in node["metadata"]["labels"]:
            assert node["metadata"]["name"] in res.stdout


def test_ctrl_c_stops_following_not_the_rollout(make_fake_cluster, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    fc = make_fake_cluster(workers=3)
    fc.mco.step_delay = 0.5
    kc = fc.write_kubeconfig(str(tmp_path / "kc"))
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.Popen([sys.executable, "-m", "kubectl_kata", "enable", "--timeout", "60s"],
                            cwd=root, env=dict(os.environ, KUBECONFIG=kc, PYTHONPATH=root),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and fc.store.get("MachineConfig", MC_NAME) is None:
            time.sleep(0.05)
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, (out, err)
    assert "status --watch" in err and "Traceback" not in err
    assert fc.store.get("MachineConfig", MC_NAME) is not None  # the change stays; the rollout carries on
    assert fc.mco.wait_idle(30)
    pool = fc.store.get("MachineConfigPool", "worker")
    assert MC_NAME in [s["name"] for s in pool["spec"]["configuration"]["source"]]
