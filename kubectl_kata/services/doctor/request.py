"""What ``doctor`` is asked to do, and the checks on that request that need no cluster."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import List, Optional

from ...errors import UsageProblem

__all__ = ["DoctorRequest", "DEFAULT_PARALLEL", "DEFAULT_NODE_TIMEOUT"]

# a container image reference (distribution/reference grammar, loosely): refused before anything is created, so a
# value like "-o yaml" or "img --privileged" can never reach `oc debug --image=` / a pod spec as something else
_IMAGE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/:@-]{0,1023}$")

DEFAULT_PARALLEL = 10
DEFAULT_NODE_TIMEOUT = 300.0


@dataclass
class DoctorRequest:
    pool: Optional[str] = None
    nodes: List[str] = field(default_factory=list)
    selector: Optional[str] = None
    via: Optional[str] = None
    image: Optional[str] = None
    parallel: int = DEFAULT_PARALLEL
    node_timeout: float = DEFAULT_NODE_TIMEOUT
    expected: Optional[str] = None
    bundle: Optional[str] = None
    from_path: Optional[str] = None

    def validate(self) -> "DoctorRequest":
        if self.from_path and (self.nodes or self.selector or self.via not in (None, "auto") or self.image
                               or self.pool):
            raise UsageProblem("--from re-analyses a bundle offline: --pool/--node/--selector/--via/--image "
                               "do not apply")
        if self.nodes and self.selector:
            raise UsageProblem("--node and --selector are mutually exclusive")
        if self.parallel < 1:
            raise UsageProblem("--parallel must be at least 1")
        if self.node_timeout is None or self.node_timeout <= 0:
            raise UsageProblem("--node-timeout must be a positive duration")
        if self.image is not None and not _IMAGE_RE.match(self.image):
            raise UsageProblem("--image %r is not an image reference (registry/repository[:tag][@digest]: no spaces, "
                               "no leading '-')" % self.image[:200])
        if self.selector:
            from ...core.selectors import parse_selector_string

            try:
                parse_selector_string(self.selector)
            except ValueError as exc:
                raise UsageProblem("--selector: %s" % exc) from None
        return self
