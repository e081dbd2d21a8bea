#!/usr/bin/env python3
"""Scale benchmark (issue 12 "Scale"): API requests, peak RSS and wall time of `status`, `enable` (following
its rollout) and `doctor` on fake clusters of 3, 300 and 1,000 worker nodes.

    python3 bench/scale.py [--nodes 3,300,1000] [--verbs status,enable,doctor] [--parallel 50]

Each verb runs as its own process (`python3 -m kubectl_kata ...`) against the loopback fake API server of
tests/fakeapi; its peak RSS is the child's ru_maxrss (os.wait4), its requests are what the fake server logged
while it ran. The worker pool gets maxUnavailable 100% so the simulated MCO rolls all nodes at once (the
rollout's length is the MCO's business; what is measured is how the plugin follows it). doctor reaches the
nodes through the bench-only fast `oc` of bench/doctor_bench.py (latency 0, every node healthy; a real oc is a
Go binary), with the simulated MCO stopped once enable's rollout is over.
Exit status 0 when every verb's request count is the same at every size, 1 otherwise.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tests.fakeapi import FakeCluster  # noqa: E402


def _doctor_bench():
    spec = importlib.util.spec_from_file_location("doctor_bench", os.path.join(ROOT, "bench", "doctor_bench.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def run(args, env):
    """Run the CLI in a child process -> (exit code, wall s, peak RSS MiB, stderr tail)."""
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "kubectl_kata"] + args, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=env)
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, time.perf_counter() - t, usage.ru_maxrss / 1024.0, err.decode()[-300:]


def prepare(n: int, tmp: str):
    fc = FakeCluster(workers=n, masters=3)
    fc.start()
    pool = fc.store.get("MachineConfigPool", "worker")
    pool["spec"]["maxUnavailable"] = "100%"
    fc.store.update(pool)
    fc.boot_release_os_image("4.16")  # the OS image the fake nodes boot
    fc.mco.wait_idle()
    kc = str(fc.write_kubeconfig(os.path.join(tmp, "kubeconfig")))
    env = {"PATH": os.environ.get("PATH", ""), "HOME": tmp, "KUBECONFIG": kc, "PYTHONPATH": ROOT, "NO_COLOR": "1"}
    return fc, env


def measure(n: int, verbs, parallel: int):
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        fc, env = prepare(n, tmp)
        try:
            for verb in verbs:
                if verb == "status":
                    args = ["status"]
                elif verb == "enable":
                    args = ["enable", "--timeout", "20m"]
                else:
                    bench = _doctor_bench()
                    bindir, extra = bench.make_fast_oc(tmp, 0.0)
                    os.remove(os.path.join(extra["BENCH_TEMPLATES"], "node-worker-1"))  # every node healthy
                    fc.mco.stop()  # the rollout is over: measure doctor, not the simulator's threads
                    env = dict(env, PATH=bindir + os.pathsep + env["PATH"], **extra)
                    ext = fc.store.get("ConfigMap", "machine-config-osimageurl", "openshift-machine-config-operator")
                    scen = os.path.join(tmp, "scenario")
                    os.makedirs(scen, exist_ok=True)
                    import json

                    with open(os.path.join(scen, "scenario.json"), "w") as fh:
                        json.dump({"nodes": {}, "default": {}, "release": {}, "strict_nodes": False,
                                   "images": {ext["data"]["baseOSExtensionsContainerImage"]:
                                              {"release": "4.16", "arch": "x86_64"}}}, fh)
                    state = os.path.join(tmp, "state")
                    os.makedirs(state, exist_ok=True)
                    env.update(FAKE_OC_SCENARIO_DIR=scen, FAKE_OC_STATE_DIR=state)
                    # the oc path (--via auto adds three access reviews above 20 nodes); the DaemonSet has its own
                    # bench, bench/daemonset_bench.py
                    args = ["doctor", "--via", "oc", "--parallel", str(parallel), "--node-timeout", "10m", "-o",
                            "json"]
                fc.reset_requests()
                code, wall, rss, err = run(args, env)
                reqs = fc.requests
                watches = sum(1 for r in reqs if r["query"].get("watch") == "true")
                out[verb] = {"exit": code, "requests": len(reqs), "watches": watches, "wall": wall, "rss": rss,
                             "err": err}
                if fc.mco is not None and verb != "doctor":
                    fc.mco.wait_idle()
        finally:
            fc.stop()
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nodes", default="3,300,1000")
    ap.add_argument("--verbs", default="status,enable,doctor")
    ap.add_argument("--parallel", type=int, default=50, help="doctor --parallel")
    opts = ap.parse_args(argv)
    sizes = [int(x) for x in opts.nodes.split(",")]
    verbs = opts.verbs.split(",")
    results = {n: measure(n, verbs, opts.parallel) for n in sizes}
    print(f"{'verb':8} {'workers':>7} {'exit':>4} {'requests':>8} {'watches':>7} {'peak RSS MiB':>12} {'wall s':>7}")
    ok = True
    for verb in verbs:
        counts = set()
        for n in sizes:
            r = results[n][verb]
            counts.add(r["requests"])
            print(f"{verb:8} {n:7d} {r['exit']:4d} {r['requests']:8d} {r['watches']:7d} {r['rss']:12.1f} "
                  f"{r['wall']:7.2f}")
            if r["exit"] not in (0,):
                print(f"         stderr: {r['err']!r}")
                ok = False
        if len(counts) != 1:
            print(f"         {verb}: request count depends on the node count: {sorted(counts)}")
            ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
