#!/usr/bin/env python3
"""doctor benchmark (issue 3 "Performance"): fan-out wall time, API requests vs N, offline re-analysis.

    python3 bench/doctor_bench.py [--nodes 300] [--latency 1.0] [--parallel 10]

1. N simulated worker nodes (fake API server of tests/fakeapi), each answering `oc debug node/...` after a fixed
   latency L (fake oc of tests/fakebin); doctor runs with --parallel P. Prints the wall time against the bound
   1.2 * ceil(N/P) * L + 2 s.
2. API requests made by doctor for N=3 and for N (must not grow: list calls only).
3. `doctor --from` on the N-node bundle written in step 1, in a fresh process: wall time (< 5 s) and max RSS
   (< 300 MB).
Exit status 0 when every bound holds, 1 otherwise.
"""
import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tests import nodesim  # noqa: E402
from tests.clirunner import run_cli  # noqa: E402
from tests.fakeapi import FakeCluster  # noqa: E402


FAST_OC = r"""#!/bin/sh
# bench-only oc: `debug node/N` sleeps $BENCH_LATENCY then prints the pre-rendered framed block for the node's
# scenario with this run's nonce (a real oc is a Go binary: starting the Python fake 300 times on a small box
# would measure the fake, not doctor). Everything else goes to the full fake oc of tests/fakebin.
case "$*" in
  *" debug node/"*|"debug node/"*) ;;
  *) exec "$BENCH_REAL_OC" "$@" ;;
esac
for a in "$@"; do last="$a"; case "$a" in node/*) node="${a#node/}" ;; esac; done
nonce=$(printf '%s' "$last" | sed -n "s/.*M='@@KATA-\([A-Za-z0-9]*\)'.*/\1/p" | head -n 1)
tpl="$BENCH_TEMPLATES/healthy"
[ -f "$BENCH_TEMPLATES/node-$node" ] && tpl="$BENCH_TEMPLATES/node-$node"
printf 'Starting pod/%s-debug-bench0 ...\n' "$node" >&2
sleep "$BENCH_LATENCY"
sed "s/@@NONCE@@/$nonce/g" "$tpl"
printf '\nRemoving debug pod ...\n' >&2
"""


def make_fast_oc(tmp, latency):
    import importlib.util
    spec = importlib.util.spec_from_file_location("_fakecommon", os.path.join(ROOT, "tests", "fakebin", "_fakecommon.py"))
    common = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(common)
    bindir, tpl = os.path.join(tmp, "bin"), os.path.join(tmp, "tpl")
    os.makedirs(bindir, exist_ok=True)
    os.makedirs(tpl, exist_ok=True)
    for name, scenario in (("healthy", "healthy"), ("node-worker-1", "version-skew")):
        raw = {k: (bytes(v[0]), bytes(v[1]), int(v[2])) for k, v in nodesim.make_node_raw(scenario).items()}
        with open(os.path.join(tpl, name), "wb") as fh:
            fh.write(b"".join(common.framed_lines("NONCEPLACEHOLDER", raw)).replace(b"NONCEPLACEHOLDER", b"@@NONCE@@"))
    path = os.path.join(bindir, "oc")
    with open(path, "w") as fh:
        fh.write(FAST_OC)
    os.chmod(path, 0o755)
    return bindir, {"BENCH_TEMPLATES": tpl, "BENCH_LATENCY": str(latency),
                    "BENCH_REAL_OC": os.path.join(ROOT, "tests", "fakebin", "oc")}


def run_doctor(n, latency, parallel, tmp, bundle=None):
    fc = FakeCluster(workers=n, masters=3).start()
    try:
        kc = str(fc.write_kubeconfig(os.path.join(tmp, "kc-%d" % n)))
        # A realistic pool: kata enabled by `kubectl kata enable` (all nodes at once so set-up stays short) and
        # the release OS image the simulated nodes boot, so a healthy node really comes out healthy.
        fc.boot_release_os_image("4.16")
        pool = fc.store.get("MachineConfigPool", "worker")
        pool["spec"]["maxUnavailable"] = "100%"
        fc.store.update(pool)
        res = run_cli(["enable", "--timeout", "10m"], kubeconfig=kc)
        if res.exit_code != 0:
            raise SystemExit("enable failed (%d): %s" % (res.exit_code, res.stderr))
        fc.mco.stop()  # the rollout is over; measure doctor, not the simulator's thread
        ext = fc.store.get("ConfigMap", "machine-config-osimageurl",
                           "openshift-machine-config-operator")["data"]["baseOSExtensionsContainerImage"]
        scen, state = tempfile.mkdtemp(dir=tmp), tempfile.mkdtemp(dir=tmp)
        with open(os.path.join(scen, "scenario.json"), "w") as fh:
            json.dump({"nodes": {"worker-1": {"scenario": "version-skew"}}, "default": {"latency_s": latency},
                       "release": {}, "images": {ext: {"release": "4.16", "arch": "x86_64"}}}, fh)
        bindir, extra = make_fast_oc(tmp, latency)
        env = {"PATH": bindir + os.pathsep + os.environ.get("PATH", ""),
               "FAKE_OC_SCENARIO_DIR": scen, "FAKE_OC_STATE_DIR": state}
        env.update(extra)
        # the oc fan-out is what this bench measures (--via auto would take the DaemonSet above 20 nodes, or spend
        # three access reviews deciding not to): bench/daemonset_bench.py measures the DaemonSet
        args = ["doctor", "--via", "oc", "--pool", "worker", "--parallel", str(parallel), "-o", "json"]
        if bundle:
            args += ["--bundle", bundle]
        fc.reset_requests()
        t0 = time.monotonic()
        res = run_cli(args, kubeconfig=kc, environ=env)
        wall = time.monotonic() - t0
        if res.exit_code not in (0, 1):
            raise SystemExit("doctor failed (%d): %s" % (res.exit_code, res.stderr))
        reqs = [(r["method"], r["path"]) for r in fc.requests]
        return wall, reqs, json.loads(res.stdout)
    finally:
        fc.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=300)
    ap.add_argument("--latency", type=float, default=1.0)
    ap.add_argument("--parallel", type=int, default=10)
    a = ap.parse_args()
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        bundle = os.path.join(tmp, "bundle-%d.tar.gz" % a.nodes)
        wall, reqs_n, doc = run_doctor(a.nodes, a.latency, a.parallel, tmp, bundle)
        bound = 1.2 * math.ceil(a.nodes / a.parallel) * a.latency + 2
        print("fan-out: N=%d L=%.2fs P=%d wall=%.2fs bound=%.2fs %s (report: %s)"
              % (a.nodes, a.latency, a.parallel, wall, bound, "OK" if wall <= bound else "EXCEEDED", doc["rollup"][:80]))
        ok &= wall <= bound
        _, reqs_3, _ = run_doctor(3, 0.0, a.parallel, tmp)
        print("API requests: N=3 -> %d, N=%d -> %d %s" % (len(reqs_3), a.nodes, len(reqs_n),
                                                         "OK" if len(reqs_n) == len(reqs_3) else "GREW"))
        for m, p in reqs_n:
            print("  %s %s" % (m, p))
        ok &= len(reqs_n) == len(reqs_3)
        size = os.path.getsize(bundle)
        t0 = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "kubectl_kata", "doctor", "--from", bundle, "-o", "json"],
                              cwd=ROOT, capture_output=True, env={"PATH": os.environ.get("PATH", "")})
        wall_from = time.monotonic() - t0
        rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
        same = proc.returncode in (0, 1) and json.loads(proc.stdout) == doc
        print("doctor --from (%d nodes, bundle %.1f MB): %.2fs (bound 5s) max RSS %.0f MB (bound 300 MB) "
              "same report: %s" % (a.nodes, size / 1e6, wall_from, rss_mb, same))
        ok &= wall_from < 5 and rss_mb < 300 and same
    print("RESULT: %s" % ("all bounds hold" if ok else "a bound was exceeded"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
