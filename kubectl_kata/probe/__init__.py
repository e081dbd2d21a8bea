"""Node probes for ``doctor``: one ``oc debug node/N`` (or ``kubectl debug node/N``) per node.

- :mod:`.script`: the POSIX-sh collection script and ``COLLECTION_KEYS``
- :mod:`.framing`: its framed stdout format and the tolerant parser
- :mod:`.runner`: ``run_probes`` (parallel, process groups, cancel/timeout) and ``NodeProbeResult``
- :mod:`.oc` / :mod:`.kubectl`: the two backends
"""
from __future__ import annotations

from kubectl_kata.probe.framing import FramingError, RawResult, parse_framed
from kubectl_kata.probe.kubectl import KubectlDebugBackend
from kubectl_kata.probe.oc import OcDebugBackend
from kubectl_kata.probe.runner import NodeProbeResult, ProbeBackend, ProbesInterrupted, run_probes
from kubectl_kata.probe.script import COLLECTION_KEYS, build_script

__all__ = [
    "COLLECTION_KEYS", "FramingError", "KubectlDebugBackend", "NodeProbeResult", "OcDebugBackend",
    "ProbeBackend", "ProbesInterrupted", "RawResult", "build_script", "parse_framed", "run_probes",
]
