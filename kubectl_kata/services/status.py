"""status: read the cluster once into the KataStatus document (core.statusreport), and optionally follow
the reported pool's rollout until it is done or degraded."""
from __future__ import annotations

import time
from typing import Callable, Optional

from ..core.constants import MC_NAME


def status_report(cluster, pool: Optional[str] = None) -> dict:
    """The KataStatus document for `pool` (default: the pool kata is enabled on, else kata-oc, else worker)."""
    from ..core.statusreport import build_status
    from .cluster_facts import gather, require_openshift
    from .install_facts import add_install_facts

    facts = gather(cluster)
    require_openshift(facts)
    add_install_facts(cluster, facts)   # install kind and revision (issue 11)
    return build_status(facts, pool)


def watch_status(cluster, doc: dict, timeout: Optional[float], reporter,
                 monotonic: Callable[[], float] = time.monotonic):
    """Follow the rollout of the pool `doc` reports on; the final RolloutState (None when it names no pool).

    Raises RolloutFailed / RolloutTimeout / follow.FollowInterrupted like `follow.follow_pool`."""
    from .follow import follow_pool

    if not doc.get("pool"):
        return None
    return follow_pool(cluster, doc["pool"], MC_NAME, doc["machineConfig"]["present"], timeout, reporter, monotonic)
