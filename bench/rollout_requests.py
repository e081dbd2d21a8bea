#!/usr/bin/env python3
"""How many API requests does `enable` make while it follows a rollout? (watch-based: must not grow)

Run on demand:  python3 bench/rollout_requests.py
Starts the loopback fake cluster with N workers (N = 3, 12, 48), runs `kubectl kata enable`, and prints
the requests made, the watch requests among them, the rollout's wall time and the progress lines printed.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tests.clirunner import run_cli  # noqa: E402
from tests.fakeapi import FakeCluster  # noqa: E402


def main():
    print(f"{'workers':>7} {'requests':>9} {'watches':>8} {'progress lines':>15} {'wall s':>7}")
    base = None
    for n in (3, 12, 48):
        with FakeCluster(workers=n, masters=3) as fc, tempfile.TemporaryDirectory() as tmp:
            kc = fc.write_kubeconfig(os.path.join(tmp, "kc"))
            fc.reset_requests()
            t = time.perf_counter()
            res = run_cli(["enable", "--timeout", "10m"], kubeconfig=kc)
            wall = time.perf_counter() - t
            assert res.exit_code == 0, res.stderr
            reqs = fc.requests
            watches = sum(1 for r in reqs if "watch" in r["query"])
            lines = res.stdout.count("\n[")
            base = base or len(reqs)
            print(f"{n:7d} {len(reqs):9d} {watches:8d} {lines:15d} {wall:7.2f}   ratio to 3 workers: "
                  f"{len(reqs) / base:.2f}")


if __name__ == "__main__":
    main()
