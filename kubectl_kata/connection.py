"""How to reach the cluster: the kubeconfig flags as plain data (no click, no kubernetes), so the `kube`
layer can take them without importing the command-line layer that parses them (`options.py`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional


@dataclass
class ConnectionOptions:
    """The kubeconfig flags kubectl users type by habit (cli-runtime ConfigFlags subset)."""

    kubeconfig: Optional[str] = None
    context: Optional[str] = None
    cluster: Optional[str] = None
    user: Optional[str] = None
    as_user: Optional[str] = None
    as_groups: List[str] = field(default_factory=list)
    request_timeout: Optional[float] = None  # seconds; None = no timeout (kubectl's "0")
