"""The operator's ``nodes/<node>/version`` files -> :class:`~kubectl_kata.core.nodefacts.NodeFacts`. Pure.

The file is ``chroot /host rpm -qa | egrep '(kata-containers|qemu)' | sort``: rpm's default ``%{nvra}`` lines
(name-version-release.arch, no epoch), only the packages whose line matches :data:`VERSION_FILTER`.
"""
from __future__ import annotations

import re
from typing import Dict, List, Optional

from kubectl_kata.core.errors import ParseError
from kubectl_kata.core.nodefacts import NodeFacts
from kubectl_kata.core.rpm import NEVRA
from kubectl_kata.doctor.mustgather.model import MustGather, MustGatherNode, oname

__all__ = ["VERSION_FILTER", "parse_version_file", "arch_from_node", "node_facts_from_versions", "node_facts_map"]

# the operator's `version` file: `rpm -qa | egrep '(kata-containers|qemu)'` (a substring of the NVRA line)
VERSION_FILTER = re.compile(r"(kata-containers|qemu)")
_ARCH = {"amd64": "x86_64", "arm64": "aarch64", "s390x": "s390x", "ppc64le": "ppc64le"}


def parse_version_file(data: bytes, warnings: Optional[List[str]] = None) -> List[NEVRA]:
    """``rpm -qa`` default output (``%{nvra}``: name-version-release.arch, no epoch) -> NEVRA with epoch 0."""
    out: List[NEVRA] = []
    text = bytes(data).decode("utf-8", "replace")
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        try:
            nevra = NEVRA.parse(line)
        except ParseError:
            nevra = None
        if nevra is None or ":" in line:
            if warnings is not None:
                warnings.append("version line %d is not an rpm NVRA: %r" % (n, line[:120]))
            continue
        out.append(nevra)
    return out


def arch_from_node(node_obj: Optional[dict]) -> Optional[str]:
    """`uname -m` of the node from its Node object (status.nodeInfo.architecture is GOARCH)."""
    goarch = ((((node_obj or {}).get("status") or {}).get("nodeInfo") or {}).get("architecture"))
    return _ARCH.get(goarch or "") or None


def node_facts_from_versions(node: MustGatherNode, node_obj: Optional[dict]) -> NodeFacts:
    """NodeFacts of what the must-gather knows about a node: the filtered package list (epochs unknown),
    the architecture and kernel from the Node object. Every probe item it lacks is in ``errors``."""
    from kubectl_kata.core.nodefacts import KEYS

    nf = NodeFacts()
    for key in KEYS:
        nf.errors[key] = "not in a must-gather"
    if node.version is not None:
        nf.packages = parse_version_file(node.version, nf.warnings)
        del nf.errors["rpm-qa"]
    info = (((node_obj or {}).get("status") or {}).get("nodeInfo") or {})
    nf.arch = arch_from_node(node_obj)
    if not nf.arch and nf.packages:
        arches = sorted({p.arch for p in nf.packages if p.arch != "noarch"})
        nf.arch = arches[0] if len(arches) == 1 else None
    nf.kernel = info.get("kernelVersion") or None
    return nf


def node_facts_map(mg: MustGather, names: List[str]) -> Dict[str, NodeFacts]:
    """NodeFacts of each named node whose ``version`` file the must-gather holds."""
    by_name = {oname(n): n for n in mg.facts.get("nodes") or []}
    return {n: node_facts_from_versions(mg.nodes[n], by_name.get(n)) for n in names
            if n in mg.nodes and mg.nodes[n].version is not None}
