#!/usr/bin/env python3
"""doctor --via daemonset at cluster scale (issue 14 "Performance").

    python3 bench/daemonset_bench.py [--nodes 300,1000,5000] [--start 5] [--log 0.2] [--parallel 50]

For each N: a fake API server (tests/fakeapi) with N simulated workers and its DaemonSet controller
(tests/fakeapi/daemonset.py) whose pods start S seconds after the DaemonSet is created and whose log GETs take
l seconds each (node data: tests/nodesim, the same as the fake oc). `kubectl kata doctor --via daemonset --parallel P
--bundle B` runs in its own process (so its peak RSS is its own), then `doctor --from B` on that bundle (T).

Bounds checked (exit 1 when one fails):
* wall time <= S + ceil(N/P) * l + T + 10 s;
* pod list and pod watch calls do not grow with N (1 + 1), exactly one log GET per node, and the API calls that
  are not log GETs are the same in number for every N;
* peak RSS of the doctor process < 1 GB at N = 5,000 (reported for every N).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tests.fakeapi import FakeCluster  # noqa: E402
from tests.fakeapi.daemonset import install_daemonsets  # noqa: E402


def run_one(n, start_s, log_s, parallel, tmp, profile=None):
    fc = FakeCluster(workers=n, masters=3, mco=False).start()
    ctl = install_daemonsets(fc, start_latency_s=start_s, log_latency_s=log_s, status_interval_s=1.0)
    try:
        kc = str(fc.write_kubeconfig(os.path.join(tmp, "kc-%d" % n)))
        ext = fc.store.get("ConfigMap", "machine-config-osimageurl",
                           "openshift-machine-config-operator")["data"]["baseOSExtensionsContainerImage"]
        scen, state = tempfile.mkdtemp(dir=tmp), tempfile.mkdtemp(dir=tmp)
        with open(os.path.join(scen, "scenario.json"), "w") as fh:
            json.dump({"nodes": {"worker-1": {"scenario": "version-skew"}}, "default": {},
                       "release": {}, "images": {ext: {"release": "4.16", "arch": "x86_64"}}}, fh)
        ctl.scenario_dir = scen
        env = {"PATH": os.path.join(ROOT, "tests", "fakebin") + os.pathsep + os.environ.get("PATH", ""),
               "HOME": tmp, "KUBECONFIG": kc, "PYTHONPATH": ROOT,
               "FAKE_OC_SCENARIO_DIR": scen, "FAKE_OC_STATE_DIR": state}
        bundle = os.path.join(tmp, "bundle-%d.tar.gz" % n)
        fc.reset_requests()
        # not `-m cProfile`: it swallows SystemExit, so the run would always exit 0 (and its rc would differ from
        # that of `doctor --from` on its bundle although the reports are the same)
        prof = ["-c", _PROFILED % os.path.join(profile, "doctor-%d.prof" % n)] if profile else ["-m", "kubectl_kata"]
        argv = [sys.executable] + prof + ["doctor", "--via", "daemonset", "--pool", "worker",
                "--parallel", str(parallel), "--node-timeout", "10m", "--bundle", bundle, "-o", "json"]
        t_start = time.time()
        wall, rc, out, err, rss = _measured(argv, env)
        t_end = t_start + wall
        if rc not in (0, 1):
            raise SystemExit("doctor failed (%d): %s" % (rc, err.decode()[-2000:]))
        doc = json.loads(out)
        reqs = fc.requests
        pod_lists = [r for r in reqs if r["method"] == "GET" and r["path"].endswith("/pods")
                     and r["query"].get("watch") != "true" and "/namespaces/kata-doctor-" in r["path"]]
        pod_watches = [r for r in reqs if r["query"].get("watch") == "true" and r["path"].endswith("/pods")]
        logs = [r for r in reqs if r["path"].endswith("/log")]
        per_node_log = {r["path"].split("/")[-2] for r in logs}
        others = [r for r in reqs if not r["path"].endswith("/log")]
        phases = _phases(reqs, t_start, t_end)
        # the fake's namespace controller may still be emptying the run's namespace (as a real one would, on other
        # machines): let it finish so it does not share the CPUs with the measurement of T
        fc.api.namespaces.wait_idle(600)
        ns_left = [n for n in fc.store.names("Namespace") if n.startswith("kata-doctor-")]
        ns_after_exit = round(max(0.0, time.time() - t_end), 2)     # namespace gone this long after exit
        t_wall, t_rc, t_out, t_err, t_rss = _measured(
            [sys.executable, "-m", "kubectl_kata", "doctor", "--from", bundle, "-o", "json"],
            {"PATH": os.environ.get("PATH", ""), "HOME": tmp, "PYTHONPATH": ROOT})
        same = t_rc == rc and json.loads(t_out) == doc
        if not same:
            offline = json.loads(t_out) if t_out else {}
            print("reports differ (rc %s vs %s) in: %s" % (rc, t_rc, sorted(
                k for k in set(doc) | set(offline) if doc.get(k) != offline.get(k))), file=sys.stderr)
            with open(os.path.join(ROOT, "bench", ".last-diff-%d.json" % n), "w") as fh:
                json.dump({"live": doc, "offline": offline}, fh)
        return {"N": n, "wall_s": round(wall, 2), "T_s": round(t_wall, 2),
                "bound_s": round(start_s + math.ceil(n / parallel) * log_s + t_wall + 10, 2),
                "rss_mb": round(rss, 1), "from_rss_mb": round(t_rss, 1), "pod_lists": len(pod_lists),
                "pod_watches": len(pod_watches), "log_gets": len(logs), "distinct_pods_logged": len(per_node_log),
                "other_api_calls": len(others), "bundle_mb": round(os.path.getsize(bundle) / 1e6, 1),
                "report_nodes": len(doc["nodes"]), "collector": doc.get("collector", {}).get("name"),
                "same_report_from_bundle": same, "phases_s": phases, "namespaces_left": ns_left,
                "ns_deletion_after_exit_s": ns_after_exit}
    finally:
        ctl.stop()
        fc.stop()


_PROFILED = """import cProfile, runpy, sys
sys.argv = ["kubectl_kata"] + sys.argv[1:]
prof, code = cProfile.Profile(), 0
try:
    prof.runcall(runpy.run_module, "kubectl_kata", run_name="__main__", alter_sys=True)
except SystemExit as exc:
    code = exc.code
finally:
    prof.dump_stats(%r)
sys.exit(code)
"""


def _phases(reqs, t_start, t_end):
    """Where the live run's time went, from the fake API server's request log (each entry has its arrival time):
    facts (start -> namespace create), setup (-> DaemonSet create), collection (-> DaemonSet delete: the last
    node's log is in), namespace (-> namespace DELETE answered), after (-> exit: expectation, analysis, bundle)."""
    def first(pred):
        return next((r["time"] for r in reqs if pred(r)), None)

    ns_post = first(lambda r: r["method"] == "POST" and r["path"] == "/api/v1/namespaces")
    ds_post = first(lambda r: r["method"] == "POST" and r["path"].endswith("/daemonsets"))
    ds_del = first(lambda r: r["method"] == "DELETE" and "/daemonsets/" in r["path"])
    ns_del = first(lambda r: r["method"] == "DELETE" and r["path"].startswith("/api/v1/namespaces/kata-doctor-"))
    logs = [r["time"] for r in reqs if r["path"].endswith("/log")]
    marks = [("facts", ns_post), ("setup", ds_post), ("first_log", logs[0] if logs else None),
             ("last_log", logs[-1] if logs else None), ("ds_delete", ds_del), ("ns_delete", ns_del),
             ("exit", t_end)]
    out, prev = {}, t_start
    for name, t in marks:
        if t is not None:
            out[name] = round(t - prev, 2)
            prev = t
    return out


def _measured(argv, env):
    """Run argv in a child; (wall s, rc, stdout, stderr, peak RSS MB of that child alone, from wait4)."""
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out_chunks, err_chunks = [], []
    import threading

    def pump(stream, sink):
        for chunk in iter(lambda: stream.read(65536), b""):
            sink.append(chunk)

    threads = [threading.Thread(target=pump, args=(proc.stdout, out_chunks)),
               threading.Thread(target=pump, args=(proc.stderr, err_chunks))]
    for t in threads:
        t.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - t0
    for t in threads:
        t.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, proc.returncode, b"".join(out_chunks), b"".join(err_chunks), usage.ru_maxrss / 1024.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", default="300,1000,5000")
    ap.add_argument("--start", type=float, default=5.0, help="pod start latency S (s)")
    ap.add_argument("--log", type=float, default=0.2, help="log fetch latency l (s)")
    ap.add_argument("--parallel", type=int, default=50)
    ap.add_argument("--profile", metavar="DIR", help="run the live doctor under cProfile, write DIR/doctor-N.prof "
                                                      "(the wall time is then not comparable to the bound)")
    a = ap.parse_args()
    ok = True
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in [int(x) for x in a.nodes.split(",")]:
            r = run_one(n, a.start, a.log, a.parallel, tmp, a.profile)
            rows.append(r)
            good = (r["wall_s"] <= r["bound_s"] and r["pod_lists"] == 1 and r["pod_watches"] == 1
                    and r["log_gets"] == r["distinct_pods_logged"] == n and r["report_nodes"] == n
                    and r["same_report_from_bundle"] and not r["namespaces_left"] and (n < 5000 or r["rss_mb"] < 1024))
            r["ok"] = good
            ok &= good
            print(json.dumps(r), flush=True)
    if len({r["other_api_calls"] for r in rows}) > 1:
        print("API calls other than log GETs differ between N: %s" % [r["other_api_calls"] for r in rows])
        ok = False
    print("\n| N | wall (s) | bound S+ceil(N/P)*l+T+10 (s) | T = doctor --from (s) | peak RSS (MB) | pod lists | "
          "pod watches | log GETs | other API calls |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print("| %d | %.1f | %.1f | %.1f | %.0f | %d | %d | %d | %d |" % (
            r["N"], r["wall_s"], r["bound_s"], r["T_s"], r["rss_mb"], r["pod_lists"], r["pod_watches"],
            r["log_gets"], r["other_api_calls"]))
    print("RESULT: %s" % ("all bounds hold" if ok else "a bound was exceeded"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
