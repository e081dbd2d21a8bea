"""``doctor --via daemonset``: one DaemonSet, so Kubernetes does the fan-out to the nodes.

* :mod:`.objects`: where the pods go and the objects created (pure);
* :mod:`.pods`: what is read back about the pods and the DaemonSet's events (pure);
* :mod:`.collector`: :class:`DaemonSetCollector`, which creates the objects, follows the pods with one list and one
  watch, fetches each node's log once and deletes the DaemonSet on every way out.
"""
from __future__ import annotations

from .collector import DaemonSetCollector, sigterm_as_interrupt
from .objects import (CONTAINER, DONE_FILE, HOSTNAME_LABEL, RUN_LABEL, SCC_CLUSTER_ROLE, SCRIPT_DIR, SCRIPT_KEY,
                      WRAPPER, build_objects, placement)

__all__ = ["DaemonSetCollector", "build_objects", "placement", "CONTAINER", "RUN_LABEL", "DONE_FILE",
           "SCC_CLUSTER_ROLE", "sigterm_as_interrupt", "HOSTNAME_LABEL", "SCRIPT_DIR", "SCRIPT_KEY", "WRAPPER"]
