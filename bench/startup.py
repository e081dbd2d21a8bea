#!/usr/bin/env python3
"""Start-up benchmark: `kubectl-kata --help` and `version --client` vs `kubectl version --client`.

Run on demand:  python3 bench/startup.py [--runs 30]
Prints the median wall time of each command and the ratio to kubectl (target: <= 1.5x).
Also checks that `kubernetes` and `rich` are not imported by those commands (-X importtime).
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def plugin_cmd():
    exe = shutil.which("kubectl-kata")
    if exe and "/pyenv/shims/" in exe.replace(".pyenv", "pyenv"):
        # a pyenv shim is a bash script that re-execs through `pyenv exec` (~20 ms): time the real script
        found = subprocess.run(["pyenv", "which", "kubectl-kata"], capture_output=True, text=True)
        exe = found.stdout.strip() or exe
    return [exe] if exe else [sys.executable, "-m", "kubectl_kata"]


def timed(cmd, runs, env=None):
    samples = []
    for _ in range(3):  # warm the page cache
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=False)
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=False)
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)


def heavy_imports(cmd):
    env = dict(os.environ, PYTHONPROFILEIMPORTTIME="1")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    mods = set()
    for line in proc.stderr.splitlines():
        if "|" in line:
            mods.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return sorted(m for m in mods if m in ("kubernetes", "rich", "tabulate", "yaml", "urllib3"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args()
    env = dict(os.environ, KUBECONFIG="/nonexistent")
    kubectl = shutil.which("kubectl")
    base = timed([kubectl, "version", "--client"], args.runs, env) if kubectl else None
    rows = [("kubectl version --client", base)]
    for label, extra in (("kubectl-kata --help", ["--help"]), ("kubectl-kata version --client", ["version", "--client"]),
                         ("kubectl-kata enable --help", ["enable", "--help"])):
        rows.append((label, timed(plugin_cmd() + extra, args.runs, env)))
    print(f"{'command':34} {'median ms':>10} {'x kubectl':>10}")
    for label, value in rows:
        ratio = f"{value / base:.2f}" if base and value else "-"
        print(f"{label:34} {value * 1000 if value else float('nan'):10.1f} {ratio:>10}")
    for extra in (["--help"], ["version", "--client"]):
        print(f"heavy modules imported by {' '.join(extra)}: {heavy_imports(plugin_cmd() + extra) or 'none'}")


if __name__ == "__main__":
    main()
