"""Names decided for kubectl-kata and the OpenShift names it has to match (DOMAIN sections 2 and 3).

Everything the plugin creates carries ``MANAGED_BY_LABEL: MANAGED_BY_VALUE``; that label, not the object
name, is what tells our objects apart from the sandboxed containers operator's (OSC), which uses the same
MachineConfig name.
"""
from __future__ import annotations

# --- our objects -------------------------------------------------------------------------------
MC_NAME = "50-enable-sandboxed-containers-extension"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE = "kubectl-kata"
MANAGER_OPERATOR = "sandboxed-containers-operator"   # value of KataStatus.managedBy for OSC installs

EXTENSION = "sandboxed-containers"
EXTENSION_PACKAGE = "kata-containers"   # the one RPM the MCO maps the extension to (4.8+)
IGNITION_VERSION = "3.2.0"

DEFAULT_CUSTOM_POOL = "kata-oc"
MASTER_POOL = "master"
WORKER_POOL = "worker"
STANDARD_POOLS = (MASTER_POOL, WORKER_POOL)

RUNTIMECLASS_NAME = "kata"
RUNTIMECLASS_HANDLER = "kata"
OVERHEAD_CPU = "250m"
OVERHEAD_MEMORY = "350Mi"

# --- API groups / kinds --------------------------------------------------------------------------
MCO_API_VERSION = "machineconfiguration.openshift.io/v1"
MC_KIND = "MachineConfig"
MCP_KIND = "MachineConfigPool"
RUNTIMECLASS_API_VERSION = "node.k8s.io/v1"
RUNTIMECLASS_KIND = "RuntimeClass"

# --- labels ------------------------------------------------------------------------------------
ROLE_LABEL = "machineconfiguration.openshift.io/role"
NODE_ROLE_PREFIX = "node-role.kubernetes.io/"
POOL_LABEL_PREFIX = "pools.operator.machineconfiguration.openshift.io/"
ARCH_LABEL = "kubernetes.io/arch"
WORKER_ROLE_LABEL = NODE_ROLE_PREFIX + WORKER_POOL
MASTER_ROLE_LABEL = NODE_ROLE_PREFIX + MASTER_POOL

# --- MCO node annotations (MCO pkg/daemon/constants/constants.go) --------------------------------
MCO_ANNOTATION_PREFIX = "machineconfiguration.openshift.io/"
ANN_CURRENT_CONFIG = MCO_ANNOTATION_PREFIX + "currentConfig"
ANN_DESIRED_CONFIG = MCO_ANNOTATION_PREFIX + "desiredConfig"
ANN_STATE = MCO_ANNOTATION_PREFIX + "state"
ANN_REASON = MCO_ANNOTATION_PREFIX + "reason"

MCD_STATE_DONE = "Done"
MCD_STATE_WORKING = "Working"
MCD_STATE_DEGRADED = "Degraded"
MCD_STATE_REBOOTING = "Rebooting"
MCD_STATE_UNRECONCILABLE = "Unreconcilable"

# --- sandboxed containers operator (DOMAIN 2.6) -------------------------------------------------
KATACONFIG_KIND = "KataConfig"
KATACONFIG_CRD = "kataconfigs.kataconfiguration.openshift.io"
OSC_NAMESPACE = "openshift-sandboxed-containers-operator"
OSC_IMAGE_MC_NAME = "50-enable-sandboxed-containers-image"
OSC_MC_NAMES = (MC_NAME, OSC_IMAGE_MC_NAME)

# --- versions -----------------------------------------------------------------------------------
MIN_EXTENSION_VERSION = (4, 8)       # MCO allow-list gained sandboxed-containers (MCO PR #2456)
MIN_S390X_VERSION = (4, 14)          # openshift/os f496bb7 added s390x to the extension
MIN_RENDER_VALIDATION_VERSION = (4, 16)


def node_role_label(pool: str) -> str:
    """``node-role.kubernetes.io/<pool>``: the node label a pool's nodeSelector uses."""
    return NODE_ROLE_PREFIX + pool


def pool_node_selector(pool: str) -> dict:
    """The label map selecting a pool's nodes (also the RuntimeClass scheduling.nodeSelector)."""
    return {node_role_label(pool): ""}
