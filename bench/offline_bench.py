#!/usr/bin/env python3
"""Offline doctor benchmark (issue 15 "Performance"): `doctor --from` on an N-node must-gather and `doctor diff` of
two N-node bundles, each in a fresh process; wall time (< 5 s) and peak RSS (< 300 MB).

    python3 bench/offline_bench.py [--nodes 300]

Data (no cluster): the cluster objects of tests/fakeapi's seeds (OpenShift 4.16.3, 3 masters, N workers, kata
enabled by the sandboxed containers operator); node outputs from tests/nodesim.py (worker-1 runs an older qemu
z-stream). The must-gather (default + operator images, as a .tar.gz) is written by tests/mustgather_sim.py; the
two bundles by kubectl-kata's own bundle writer from the same objects: BEFORE with worker-1 drifted, AFTER with
worker-1 fixed and worker-2 waiting for a reboot (staged deployment). Exit status 0 when every bound holds.
"""
import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from kubectl_kata.core.redact import redact_facts  # noqa: E402
from kubectl_kata.doctor.analysis import analyse  # noqa: E402
from kubectl_kata.doctor.bundle import write_bundle  # noqa: E402
from kubectl_kata.doctor.expected import from_consensus  # noqa: E402
from kubectl_kata.doctor.model import Collected, ProbeRecord, node_arches, node_facts  # noqa: E402
from tests import mustgather_sim, nodesim  # noqa: E402

WALL_BOUND_S = 5.0
RSS_BOUND_MB = 300.0


def facts_of(store):
    get = store.list
    return redact_facts({
        "openshift": True, "version": "4.16.3", "nodes": get("Node"), "pools": get("MachineConfigPool"),
        "mcs": get("MachineConfig"), "runtimeclasses": get("RuntimeClass"), "kataconfigs": get("KataConfig"),
        "kataconfig_crd": True, "osc_namespace": True,
        "osimageurl": store.get("ConfigMap", "machine-config-osimageurl", "openshift-machine-config-operator")})


def make_bundle(path, store, workers, scenarios):
    facts = facts_of(store)
    cache = {}
    probes = {}
    for w in workers:
        scen = scenarios.get(w, "healthy")
        if scen not in cache:
            cache[scen] = nodesim.make_node_raw(scen)
        probes[w] = ProbeRecord(node=w, ok=True, reason="", error=None, raw=dict(cache[scen]),
                                command=["oc", "debug", "node/" + w], duration_s=1.0)
    exp = from_consensus({n: node_facts(r) for n, r in probes.items()}, node_arches(probes).get, "bench")
    col = Collected(facts=facts, scope={"pool": "worker", "nodes": list(workers), "selector": None}, probes=probes,
                    expectation=exp, via="oc")
    for rec in probes.values():
        rec.facts = None   # the writer stores raw outputs only; --from parses them again
    return write_bundle(path, col, analyse(col))


def run(argv):
    """Wall time and the child's peak RSS (ru_maxrss of the waited-for child, in MB)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "kubectl_kata"] + argv, cwd=ROOT, capture_output=True, text=True,
                          env=dict(os.environ, KUBECONFIG="/nonexistent", PYTHONPATH=ROOT))
    wall = time.monotonic() - t0
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return proc, wall, max(rss, before) / 1024.0, rss > before


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=300)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="kata-offline-bench-")
    try:
        return _bench(args.nodes, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _bench(n, tmp) -> int:
    t0 = time.monotonic()
    store = mustgather_sim.seeded_store(workers=n, operator=True)
    workers = ["worker-%d" % i for i in range(n)]
    mg_dir = mustgather_sim.write_mustgather(tmp, store, {w: ("version-skew" if w == "worker-1" else "healthy")
                                                          for w in workers})
    mg = mustgather_sim.tar_gz(mg_dir, os.path.join(tmp, "must-gather.tar.gz"))
    before = make_bundle(os.path.join(tmp, "before.tar.gz"), store, workers, {"worker-1": "version-skew"})
    after = make_bundle(os.path.join(tmp, "after.tar.gz"), store, workers, {"worker-2": "staged-pending"})
    print("data: %d-node must-gather %.1f MB, bundles %.1f / %.1f MB (made in %.1f s)" % (
        n, os.path.getsize(mg) / 1e6, os.path.getsize(before) / 1e6, os.path.getsize(after) / 1e6,
        time.monotonic() - t0))
    ok = True
    # RUSAGE_CHILDREN's ru_maxrss is the largest child so far: measure the smaller job first
    for label, argv, want in (
            ("doctor --from must-gather", ["doctor", "--from", mg, "-o", "json"], 1),
            ("doctor diff of two bundles", ["doctor", "diff", before, after, "-o", "json"], 1)):
        proc, wall, rss, fresh = run(argv)
        good = proc.returncode == want and wall < WALL_BOUND_S and rss < RSS_BOUND_MB
        ok = ok and good
        print("%-28s exit %d  wall %.2f s (< %.0f)  peak RSS %s MB (< %.0f)  %s" % (
            label, proc.returncode, wall, WALL_BOUND_S, ("%.0f" % rss) if fresh else "<= %.0f" % rss, RSS_BOUND_MB,
            "ok" if good else "FAIL"))
        if proc.returncode != want:
            sys.stderr.write(proc.stderr[-2000:])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
