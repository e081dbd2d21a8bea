"""Which package versions the nodes are compared against, in this order of preference:

1. ``--expected FILE`` (an extensions.json, a repodata directory or a saved expectation);
2. the cluster release's extensions image, read with ``oc image extract`` (with the cluster's pull secret);
3. the consensus of the probed nodes, with a note saying why the release could not be read.

After Ctrl-C nothing more is fetched from the cluster or a registry (see :func:`interrupted_expectation`).
"""
from __future__ import annotations

import base64
import os
from typing import Any, Dict, List, Optional

from ...core.preflight import find
from ...doctor import expected as ex
from ...doctor.expected import Expectation, ExpectationError
from ...doctor.model import ProbeRecord, node_arches, node_facts
from ...errors import ClusterError, UsageProblem
from ...probe.process import run_command
from .request import DoctorRequest

__all__ = ["choose_expectation", "interrupted_expectation", "expectation_from_file", "read_pull_secret", "PULL_SECRET"]

PULL_SECRET = ("pull-secret", "openshift-config")


def read_pull_secret(cluster) -> Optional[bytes]:
    """The cluster pull secret's `.dockerconfigjson` (for `oc image extract`), or None when it is absent or
    not readable (then the image is tried anonymously)."""
    try:
        ps = cluster.get("Secret", PULL_SECRET[0], PULL_SECRET[1])
    except ClusterError:
        return None
    raw = ((ps or {}).get("data") or {}).get(".dockerconfigjson")
    return base64.b64decode(raw) if raw else None


def _arches(records: Dict[str, ProbeRecord]) -> List[str]:
    return sorted(set(node_arches(records).values())) or ["x86_64"]


def expectation_from_file(path: str, records: Dict[str, ProbeRecord]) -> Expectation:
    """``--expected FILE`` for the architectures of ``records``; a bad file is a usage problem."""
    try:
        return ex.load_expected_file(path, _arches(records))
    except ExpectationError as exc:
        raise UsageProblem("--expected: %s" % exc) from None


def _consensus(records: Dict[str, ProbeRecord], why: str, note: str) -> Expectation:
    facts_by_node = {n: node_facts(r) for n, r in records.items() if r.raw}
    exp = ex.from_consensus(facts_by_node, node_arches(records).get, why)
    exp.notes.insert(0, note)
    return exp


def interrupted_expectation(req: DoctorRequest, records: Dict[str, ProbeRecord], why: str) -> Expectation:
    """After Ctrl-C nothing more is fetched from the cluster or a registry: ``--expected FILE`` if given (local),
    else the consensus of the nodes that finished."""
    if req.expected:
        try:
            return ex.load_expected_file(req.expected, _arches(records))
        except ExpectationError:
            pass
    return _consensus(records, why, "release expectation not read: %s" % why)


def choose_expectation(cluster, req: DoctorRequest, facts: Dict[str, Any], scope: Dict[str, Any],
                       records: Dict[str, ProbeRecord], oc_path: Optional[str], global_flags: List[str],
                       environ: Dict[str, str]) -> Expectation:
    """The expectation of a live run (every node is in): the file, else the release (``oc image extract`` with
    ``oc_path``, the same connection flags and environment as the probes), else consensus."""
    if req.expected:
        return expectation_from_file(req.expected, records)
    why = ""
    info = ex.locate_extensions_image(facts.get("osimageurl"), _rendered_for_pool(facts, scope.get("pool")),
                                      facts.get("version"))
    if info is None:
        why = "the release's extensions image is not named in the cluster"
    elif not oc_path:
        why = "oc is not on PATH (needed for `oc image extract`)"
    else:
        secret = read_pull_secret(cluster)

        def run(argv, timeout):
            # the command is built (and recorded) with the binary's name; it runs from where PATH has it
            return run_command([oc_path] + list(argv[1:]), timeout_s=timeout, env=environ, grace_s=5.0)

        try:
            return ex.extract_from_release(info, _arches(records), oc_path=os.path.basename(oc_path),
                                           pull_secret=secret, run=run, global_flags=global_flags,
                                           version=facts.get("version"))
        except ExpectationError as exc:
            why = str(exc)
        finally:
            secret = None
    return _consensus(records, why, "release expectation unavailable: %s" % why)


def _rendered_for_pool(facts, pool) -> Optional[dict]:
    p = find(facts.get("pools") or [], pool) if pool else None
    target = (((p or {}).get("spec") or {}).get("configuration") or {}).get("name")
    return find(facts.get("mcs") or [], target) if target else None
