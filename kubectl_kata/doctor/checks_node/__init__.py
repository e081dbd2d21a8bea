"""Per-node diagnosis: :class:`NodeFacts` (+ expected package set + cluster context) -> findings.

Pure: no I/O. Every check in ``findings.NODE_CHECKS`` is implemented in this package, one module per
concern (see ``CHECKS`` below for which); each emits at least one finding (``ok`` when it passes) unless the
data it needs was not collected -- then ``node.collection`` names the skipped checks instead. When
kata-containers is not installed on the booted deployment, the checks that inspect an installed kata (package
versions, closure, rpm -V, binaries, QEMU path, initrd) are skipped and ``node.extension-requested`` says why.
"""
from __future__ import annotations

from typing import Any, Callable, List, Mapping, Optional, Tuple

from kubectl_kata.core.nodefacts import NodeFacts
from kubectl_kata.core.rpm import NEVRA
from kubectl_kata.doctor.checks_node.collection import KEY_CHECKS, collection
from kubectl_kata.doctor.checks_node.consensus import Consensus, consensus_expected
from kubectl_kata.doctor.checks_node.context import NodeContext
from kubectl_kata.doctor.checks_node.deployment import extension_requested, os_image, staged_deployment
from kubectl_kata.doctor.checks_node.layering import (DEFAULT_KERNEL_PACKAGES, EXTENSION_PACKAGES,
                                                      KERNEL_TYPE_INSTALLS, KERNEL_VARIANT_PREFIXES,
                                                      unexpected_layered)
from kubectl_kata.doctor.checks_node.legacy import LEGACY_CRIO_CONF, LEGACY_FILES, LEGACY_PACKAGES, legacy_leftovers
from kubectl_kata.doctor.checks_node.packages import closure_complete, package_version, rpm_verify
from kubectl_kata.doctor.checks_node.runtime import (CRIO_DROPIN, DEFAULT_INITRD, DEFAULT_KERNEL, OSBUILDER_DIR,
                                                     SHIM_PATH, binary_version, crio_dropin, dev_kvm, initrd,
                                                     qemu_path)
from kubectl_kata.doctor.checks_node.state import KATA_PACKAGE, CheckedNode
from kubectl_kata.doctor.findings import Finding

__all__ = ["NodeContext", "check_node", "consensus_expected", "Consensus", "EXTENSION_PACKAGES",
           "LEGACY_PACKAGES", "KATA_PACKAGE", "CHECKS", "KEY_CHECKS", "SHIM_PATH", "DEFAULT_KERNEL",
           "DEFAULT_INITRD", "OSBUILDER_DIR", "LEGACY_CRIO_CONF", "CRIO_DROPIN", "LEGACY_FILES",
           "KERNEL_TYPE_INSTALLS", "DEFAULT_KERNEL_PACKAGES", "KERNEL_VARIANT_PREFIXES"]

# every node check in the order its findings are reported
CHECKS: Tuple[Callable[[CheckedNode], None], ...] = (
    collection,            # collection.py
    extension_requested,   # deployment.py
    staged_deployment,     # deployment.py
    unexpected_layered,    # layering.py
    package_version,       # packages.py
    closure_complete,      # packages.py
    rpm_verify,            # packages.py
    binary_version,        # runtime.py
    qemu_path,             # runtime.py
    crio_dropin,           # runtime.py
    dev_kvm,               # runtime.py
    initrd,                # runtime.py
    os_image,              # deployment.py
    legacy_leftovers,      # legacy.py
)


def check_node(node_name: str, facts: NodeFacts, expected: Optional[Mapping[str, Optional[NEVRA]]] = None,
               context: Any = None) -> List[Finding]:
    """Run every node check. ``expected`` maps package name -> NEVRA (None = unknown: not compared)."""
    node = CheckedNode(node_name, facts, expected, NodeContext.coerce(context))
    for check in CHECKS:
        check(node)
    return node.out
