"""Scale (issue 12): the API requests `status` makes do not depend on the node count (list calls, no per-node
GETs). Counted on the fake API server at 3 and at 1,000 worker nodes; timing and memory are measured in
bench/scale.py, not here."""
from __future__ import annotations

import json

from tests.clirunner import run_cli


def _status_requests(make_fake_cluster, tmp_path, workers):
    fc = make_fake_cluster(workers=workers, masters=3)
    kc = str(fc.write_kubeconfig(str(tmp_path / f"kubeconfig-{workers}")))
    fc.reset_requests()
    res = run_cli(["status", "-o", "json"], kubeconfig=kc)
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    return [(r["method"], r["path"]) for r in fc.requests], doc


def test_status_requests_do_not_grow_with_the_node_count(make_fake_cluster, tmp_path):
    small, small_doc = _status_requests(make_fake_cluster, tmp_path, 3)
    large, large_doc = _status_requests(make_fake_cluster, tmp_path, 1000)
    assert large == small  # the same requests, in the same order
    assert not [p for _, p in large if "/nodes/" in p]  # never one GET per node
    assert json.dumps(large_doc).count("worker-999") >= 1  # and the 1,000 nodes were really there
    assert "worker-999" not in json.dumps(small_doc)
