"""``doctor --from`` on a must-gather: read what doctor can use into a :class:`MustGather`, safely.

What arrives on a support case is a must-gather (DOMAIN 12.2): the directory ``oc adm must-gather`` writes
(``must-gather.local.<n>/`` with one sub-directory per image; openshift/oc ``pkg/cli/admin/mustgather``), any
directory below it, or a ``.tar.gz``/``.tgz`` of it (layout: :mod:`.layout`). Only the files doctor uses are read,
into memory, within the caps of :mod:`.walk`; objects are redacted as they are loaded (:mod:`.objects`).

The result is the same facts shape a live ``doctor`` gathers (``nodes``, ``pools``, ``mcs`` incl. rendered,
``version`` from the ClusterVersion, ``runtimeclasses``, ``kataconfigs``, ``osimageurl``) plus per-node package
lists; ``available`` names what the must-gather holds, so every check the data does not allow is reported as
``not collected`` (severity info, never ok) instead of passing silently.
"""
from __future__ import annotations

import os
import re
from typing import Any, Dict, List, Optional, Set, Tuple

from kubectl_kata.doctor.mustgather.layout import (KATACONFIG_CRD, NOT_A_MUSTGATHER, OSIMAGEURL_CM, image_of,
                                                   run_of)
from kubectl_kata.doctor.mustgather.model import MustGather, MustGatherNode, oname
from kubectl_kata.doctor.mustgather.objects import load_objects
from kubectl_kata.doctor.mustgather.walk import Walker, members
from kubectl_kata.errors import BundleError

__all__ = ["read_mustgather"]

_NODE_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")


class _Found:
    """What the walk turned up, before it becomes facts."""

    def __init__(self) -> None:
        self.objects: Dict[str, Dict[Tuple[str, str], dict]] = {}
        self.clusterversions: List[dict] = []
        self.nodes: Dict[str, MustGatherNode] = {}
        self.descriptions: Dict[str, bytes] = {}
        self.skipped: List[str] = []
        self.images: Set[str] = set()
        self.osc_ns = False
        self.osimageurl: Optional[dict] = None
        self.warnings: List[str] = []

    def node(self, name: str) -> Optional[MustGatherNode]:
        if not _NODE_NAME.match(name):
            self.warnings.append("ignored node directory %r (not a node name)" % name[:80])
            return None
        return self.nodes.setdefault(name, MustGatherNode(name))

    def add(self, what: Tuple[str, ...], data: Optional[bytes], name: str) -> None:
        kind = what[0]
        if kind == "cluster":
            for obj in load_objects(data or b"", name):
                key = what[1]
                if key == "clusterversions":
                    self.clusterversions.append(obj)
                    continue
                ns = str((obj.get("metadata") or {}).get("namespace") or "")
                self.objects.setdefault(key, {}).setdefault((ns, oname(obj)), obj)
        elif kind == "configmaps":
            for obj in load_objects(data or b"", name):
                if oname(obj) == OSIMAGEURL_CM and self.osimageurl is None:
                    self.osimageurl = obj
            self.objects.setdefault("configmaps", {})
        elif kind == "osc-namespace":
            self.osc_ns = True
        elif kind == "node-version":
            n = self.node(what[1])
            if n is not None and n.version is None:
                n.version = data or b""
        elif kind == "node-log":
            n = self.node(what[1])
            if n is not None and what[2] not in n.logs:
                n.logs.append(what[2])
        elif kind == "node-vc":
            n = self.node(what[1])
            if n is not None:
                n.run_vc = True
        elif kind == "skipped":
            for line in (data or b"").decode("utf-8", "replace").splitlines():
                # "Failed to collect node-gather data from node <node> due to pod scheduling failure."
                mm = re.search(r"from node (\S+)", line)
                if mm and mm.group(1) not in self.skipped:
                    self.skipped.append(mm.group(1))
        elif kind == "description":
            self.descriptions.setdefault(what[1], data or b"")


def read_mustgather(path: str) -> MustGather:
    """Read a must-gather (directory or tarball) -> :class:`MustGather`. ``BundleError`` (exit 2) when it is
    unsafe, unreadable or not a must-gather at all."""
    if not os.path.exists(path):
        raise BundleError("%s does not exist" % path)
    w = Walker()
    found = _Found()
    seen_any = False
    runs: Set[Tuple[str, ...]] = set()
    for m in members(path, w):
        seen_any = True
        run = run_of(m.parts)
        if run is not None and run not in runs:
            runs.add(run)
            if len(runs) > 1:
                raise BundleError("%s holds more than one must-gather (%s); pass one of them"
                                  % (path, ", ".join(sorted("/".join(r[-2:]) for r in runs))))
        img = image_of(m.parts)
        if img:
            found.images.add(img)
        found.add(m.what, m.data, "/".join(m.parts[-4:]))
    if not seen_any:
        raise BundleError("%s: %s" % (path, NOT_A_MUSTGATHER))
    return _mustgather(path, found, w.ignored)


def _mustgather(path: str, found: _Found, ignored: List[str]) -> MustGather:
    """The facts a live doctor would have gathered, from what the walk found, and what is available."""
    facts: Dict[str, Any] = {"openshift": True}
    available: Set[str] = set()
    for key in ("nodes", "pools", "mcs", "runtimeclasses", "kataconfigs"):
        objs = found.objects.get(key)
        facts[key] = sorted(objs.values(), key=oname) if objs else []
        if objs is not None:
            available.add(key)
    facts["version"] = _cluster_version(found.clusterversions)
    if found.clusterversions:
        available.add("version")
    facts["osimageurl"] = found.osimageurl
    if "configmaps" in found.objects:
        available.add("osimageurl")
    crds = found.objects.get("crds") or {}
    facts["kataconfig_crd"] = any(name == KATACONFIG_CRD for _, name in crds)
    nodes, descriptions, skipped = found.nodes, found.descriptions, found.skipped
    operator = bool(nodes) or bool(descriptions) or bool(skipped)
    kc_desc = descriptions.get("kataconfig_description")
    if "kataconfigs" not in available and kc_desc is not None:
        # `oc describe kataconfig` (empty when there is none): the names are all doctor takes from it
        names = re.findall(r"^Name:\s+(\S+)\s*$", kc_desc.decode("utf-8", "replace"), flags=re.M)
        facts["kataconfigs"] = [{"apiVersion": "kataconfiguration.openshift.io/v1", "kind": "KataConfig",
                                 "metadata": {"name": n}} for n in names]
        available.add("kataconfigs")
        if names:
            facts["kataconfig_crd"] = True
    # the namespace's own files (inspect's namespaces/<ns>/..., the operator pods' logs), not an empty directory:
    # the operator's must-gather image also runs on clusters without the operator
    facts["osc_namespace"] = found.osc_ns
    if operator:
        available.add("operator")
    if nodes:
        available.add("node-versions")
    return MustGather(path=path, facts=facts, available=available, nodes=nodes, operator=operator,
                      default=bool(available & {"pools", "mcs", "version", "osimageurl"}),
                      skipped_nodes=sorted(skipped), descriptions=descriptions, images=sorted(found.images),
                      ignored=list(ignored), warnings=found.warnings)


def _cluster_version(cvs: List[dict]) -> Optional[str]:
    """What runs: the last Completed history entry, else the desired version (as a live doctor reads it)."""
    for cv in cvs:
        if oname(cv) not in ("version", ""):
            continue
        status = cv.get("status") or {}
        for entry in status.get("history") or []:
            if isinstance(entry, dict) and entry.get("state") == "Completed" and entry.get("version"):
                return str(entry["version"])
        desired = (status.get("desired") or {}).get("version")
        if desired:
            return str(desired)
    return None
