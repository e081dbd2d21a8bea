"""Offline doctor sources: ``--from`` a kubectl-kata bundle or a must-gather, and ``doctor diff BEFORE AFTER``.

``source_kind(path)`` tells the two apart by layout (a bundle has ``manifest.json`` at its top, or one directory
below); ``analyse_source(path, expected)`` returns the report document and a :class:`~kubectl_kata.doctor.diff.Snapshot`
of either; ``diff_sources`` compares two. No cluster is contacted.
"""
from __future__ import annotations

import os
import tarfile
from dataclasses import dataclass
from typing import Any, Dict, Optional

from ...doctor.model import parse_facts, raw_digest
from ...doctor import mustgather as mg_mod
from ...doctor.diff import KATA_QEMU, Snapshot, diff_snapshots, snapshot_from_report
from ...errors import BundleError

__all__ = ["source_kind", "OfflineResult", "analyse_source", "diff_sources", "BUNDLE", "MUSTGATHER"]

BUNDLE = "bundle"
MUSTGATHER = "must-gather"


def _tar_has_manifest(path: str) -> bool:
    """Whether the tarball is a bundle. kubectl-kata writes ``kata-doctor-bundle/`` first and ``manifest.json``
    last, so a first member under ``kata-doctor-bundle`` or ``must-gather.local.<n>`` decides without reading
    the whole archive; otherwise every member name is looked at (data is skipped, not read)."""
    try:
        with tarfile.open(path, mode="r|*") as tar:
            for i, m in enumerate(tar):
                tar.members = []
                parts = [p for p in m.name.split("/") if p not in ("", ".")]
                if parts and parts[-1] == "manifest.json" and len(parts) <= 2:
                    return True
                if i == 0 and parts and parts[0] == "kata-doctor-bundle":
                    return True
                if any(p.startswith("must-gather.local.") for p in parts[:2]) or mg_mod._relevant(parts):
                    return False
                if i > 2_000_000:
                    break
    except (tarfile.TarError, EOFError, OSError, ValueError) as exc:
        raise BundleError("cannot read bundle or must-gather %s: %s" % (path, exc)) from None
    return False


def source_kind(path: str) -> str:
    """``bundle`` or ``must-gather``; ``BundleError`` (exit 2) with what was expected otherwise."""
    if not os.path.exists(path):
        raise BundleError("%s does not exist" % path)
    if os.path.isdir(path):
        if os.path.isfile(os.path.join(path, "manifest.json")):
            return BUNDLE
        try:
            subs = [e for e in os.listdir(path) if os.path.isfile(os.path.join(path, e, "manifest.json"))]
        except OSError as exc:
            raise BundleError("cannot read %s: %s" % (path, exc.strerror or exc)) from None
        if len(subs) == 1 and len(os.listdir(path)) == 1:
            return BUNDLE
        if mg_mod.looks_like_mustgather(path):
            return MUSTGATHER
        raise BundleError("%s: %s" % (path, mg_mod.NOT_A_MUSTGATHER))
    if not mg_mod._is_tarball(path):
        raise BundleError("%s is neither a directory nor a tarball: %s" % (path, mg_mod.NOT_A_MUSTGATHER))
    return BUNDLE if _tar_has_manifest(path) else MUSTGATHER


@dataclass
class OfflineResult:
    kind: str
    doc: Dict[str, Any]
    snapshot: Snapshot
    collected: Any = None      # the bundle's Collected, or the MustGather read


def _bundle(path: str, expected: Optional[str]) -> OfflineResult:
    from ...doctor import bundle as bundle_mod
    from ...doctor.analysis import analyse
    from .expectation import expectation_from_file

    col = bundle_mod.read_bundle(path)
    if expected:
        col.expectation = expectation_from_file(expected, col.probes)
    # nodes of one pool mostly return byte-identical outputs: parse each distinct set once (the checks only
    # read NodeFacts), so a 300-node bundle costs a handful of parses instead of 300
    parsed: Dict[str, Any] = {}
    for rec in col.probes.values():
        if rec.raw and rec.facts is None:
            digest = raw_digest(rec.raw)
            if digest not in parsed:
                parsed[digest] = parse_facts(rec.raw)
            rec.facts = parsed[digest]
    doc = analyse(col)
    snap = snapshot_from_report(path, BUNDLE, col.facts, doc,
                                {n: rec.facts for n, rec in col.probes.items() if rec.facts is not None})
    for rec in col.probes.values():
        rec.facts = None
    return OfflineResult(BUNDLE, doc, snap, col)


def _mustgather(path: str, expected: Optional[str]) -> OfflineResult:
    mg = mg_mod.read_mustgather(path)
    doc = mg_mod.analyse_mustgather(mg, expected)
    nfs = mg_mod.node_facts_map(mg, (doc.get("scope") or {}).get("nodes") or [])
    snap = snapshot_from_report(path, MUSTGATHER, mg.facts, doc, nfs, epochs=False, package_scope=KATA_QEMU,
                                binaries_collected=False, booted_collected=False)
    return OfflineResult(MUSTGATHER, doc, snap, mg)


def analyse_source(path: str, expected: Optional[str] = None, kind: Optional[str] = None) -> OfflineResult:
    kind = kind or source_kind(path)
    return _bundle(path, expected) if kind == BUNDLE else _mustgather(path, expected)


def diff_sources(before: str, after: str, expected: Optional[str] = None) -> Dict[str, Any]:
    b = analyse_source(before, expected)
    a = analyse_source(after, expected)
    return diff_snapshots(b.snapshot, a.snapshot)
