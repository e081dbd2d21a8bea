"""Node probes for ``doctor``: one ``oc debug node/N`` (or ``kubectl debug node/N``) per node.

- :mod:`.script`: the POSIX-sh collection script and ``COLLECTION_KEYS``
- :mod:`.framing`: its framed stdout format and the tolerant parser
- :mod:`.backend`: ``ProbeBackend`` (what a backend implements), ``NodeProbeResult``, the ``REASON_*`` tokens
- :mod:`.process`: ``run_command`` (one child in its own process group; cancel/timeout/watch)
- :mod:`.classify`: oc/kubectl stderr and exit status -> ``NodeProbeResult``
- :mod:`.argv`: connection flags and the redacted command as recorded
- :mod:`.fanout`: ``run_probes`` (every node in parallel, one result each)
- :mod:`.oc` / :mod:`.kubectl`: the two backends
- :mod:`.runner`: the names above under their former module, for existing imports
"""
from __future__ import annotations

from kubectl_kata.probe.backend import NodeProbeResult, ProbeBackend
from kubectl_kata.probe.fanout import ProbesInterrupted, run_probes
from kubectl_kata.probe.framing import FramingError, RawResult, parse_framed
from kubectl_kata.probe.kubectl import KubectlDebugBackend
from kubectl_kata.probe.oc import OcDebugBackend
from kubectl_kata.probe.script import COLLECTION_KEYS, build_script

__all__ = [
    "COLLECTION_KEYS", "FramingError", "KubectlDebugBackend", "NodeProbeResult", "OcDebugBackend",
    "ProbeBackend", "ProbesInterrupted", "RawResult", "build_script", "parse_framed", "run_probes",
]
