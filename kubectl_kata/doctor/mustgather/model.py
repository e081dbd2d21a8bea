"""What doctor reads from a must-gather: :class:`MustGather` (the cluster facts, what is available, the sandboxed
containers operator's per-node data) and :class:`MustGatherNode`. Data only."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Set

__all__ = ["MustGather", "MustGatherNode", "oname"]


def oname(obj: dict) -> str:
    """An object's metadata.name ("" when it has none)."""
    return str(((obj.get("metadata") or {}).get("name")) or "")


@dataclass
class MustGatherNode:
    name: str
    version: Optional[bytes] = None           # nodes/<node>/version, verbatim (None = not in the must-gather)
    logs: List[str] = field(default_factory=list)     # which journal extracts exist (crio, kubelet)
    run_vc: bool = False                      # nodes/<node>/run/vc/ collected


@dataclass
class MustGather:
    path: str
    facts: Dict[str, Any]
    available: Set[str]                       # fact keys present: nodes, pools, mcs, version, runtimeclasses, ...
    nodes: Dict[str, MustGatherNode]          # operator's per-node data (empty without its must-gather)
    operator: bool                            # the sandboxed containers operator's must-gather is in there
    default: bool                             # the default must-gather's MCO objects (pools, MachineConfigs...)
    skipped_nodes: List[str] = field(default_factory=list)
    descriptions: Dict[str, bytes] = field(default_factory=dict)   # sandboxed-containers/*_description
    images: List[str] = field(default_factory=list)                # image sub-directories merged
    ignored: List[str] = field(default_factory=list)               # links/special files skipped (first few)
    warnings: List[str] = field(default_factory=list)

    def source_doc(self) -> Dict[str, Any]:
        """What the report says about where its data came from."""
        parts = []
        if self.default:
            parts.append("default (MCO resources)")
        if self.operator:
            parts.append("sandboxed containers operator")
        return {"kind": "must-gather", "path": self.path, "contains": parts, "images": list(self.images),
                "available": sorted(self.available), "skippedNodes": list(self.skipped_nodes),
                "warnings": list(self.warnings)}
