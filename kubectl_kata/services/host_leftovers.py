"""Host-level leftovers of a legacy install, which an MCO rollout does not clean (DOMAIN 5).

Inspection reuses doctor's collection: one debug pod per node through ``oc debug node`` (or ``kubectl debug``)
in a temporary namespace that is removed afterwards, read-only (services.doctor.collect). Each node's probed
facts give its leftovers (core.installkind.leftovers_of_node) and the exact commands that remove them
(core.installkind.cleanup_commands).

Cleaning (``--clean-nodes``) runs, per node, only the file removals -- never a package change, never a
reboot -- with ``oc debug node/<n> -- chroot /host sh -c '<rm ...>'``. Files that a MachineConfig still
writes (``50-kata-crio-dropin`` writes ``/etc/crio/crio.conf.d/50-kata.conf`` and the osbuilder unit) are
never removed by hand: the MCD would find its on-disk state changed and degrade the node; the MCO removes them
itself when the MachineConfig goes.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from ..core import installkind as ik
from ..errors import KataError
from ..status import ExitStatus
from .reporting import Reporter

__all__ = ["NodeLeftovers", "inspect_nodes", "clean_nodes", "MC_MANAGED"]

# leftover ids whose file the legacy MachineConfig writes while it exists
MC_MANAGED = ("crio-50-kata.conf", "osbuilder-unit")


class CleanFailed(KataError):
    exit_status = ExitStatus.CLUSTER_ERROR


@dataclass
class NodeLeftovers:
    node: str
    leftovers: Optional[List[str]]          # None: the node could not be inspected
    error: Optional[str] = None
    held_by_mc: List[str] = field(default_factory=list)   # present, but still written by a MachineConfig
    commands: List[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"node": self.node, "leftovers": [{"id": k, "what": ik.HOST_LEFTOVERS[k][0]}
                                                 for k in (self.leftovers or [])] if self.leftovers is not None
                else None,
                "heldByMachineConfig": list(self.held_by_mc), "commands": list(self.commands), "error": self.error}


def inspect_nodes(env, conn, pool: str, legacy_mc_present: bool, reporter: Reporter) -> List[NodeLeftovers]:
    from ..doctor.model import node_facts
    from .doctor.collect import collect
    from .doctor.request import DoctorRequest

    col = collect(env, conn, DoctorRequest(pool=pool), reporter)
    out = []
    for node in sorted(col.probes):
        rec = col.probes[node]
        nf = node_facts(rec)
        if nf is None:
            out.append(NodeLeftovers(node, None, error=rec.error or rec.reason or "not probed"))
            continue
        found = ik.leftovers_of_node(nf)
        held = [k for k in found if legacy_mc_present and k in MC_MANAGED]
        removable = [k for k in found if k not in held]
        out.append(NodeLeftovers(node, found, held_by_mc=held, commands=ik.cleanup_commands(node, removable)))
    return out


def clean_nodes(env, conn, results: List[NodeLeftovers], reporter: Reporter, timeout_s: float = 300.0) -> List[str]:
    """Run the file removals on every node that has some; returns the nodes cleaned. Raises CleanFailed
    naming the first node whose command failed (the others are still attempted)."""
    from ..probe.argv import conn_global_flags
    from ..probe.process import run_command

    oc = shutil.which("oc", path=env.environ.get("PATH", os.defpath))
    if oc is None:
        raise CleanFailed("oc is not on PATH (needed for `oc debug node/...` to remove the leftovers)")
    flags = conn_global_flags(conn)
    cleaned, failed = [], []
    for r in results:
        removable = [k for k in (r.leftovers or []) if k not in r.held_by_mc]
        script = ik.file_cleanup_script(removable)
        if not script:
            continue
        out = run_command([oc] + flags + ["debug", "node/" + r.node, "--", "chroot", "/host", "sh", "-c", script],
                          timeout_s=timeout_s, env=env.environ, grace_s=5.0)
        if out.rc == 0 and not getattr(out, "start_error", None) and not getattr(out, "stopped", False):
            cleaned.append(r.node)
            reporter.step("node/%s: removed %s" % (r.node, ", ".join(
                ik.HOST_LEFTOVERS[k][0] for k in removable if k != "layered-kata-runtime")))
        else:
            err = (out.stderr or b"").decode("utf-8", "replace").strip().splitlines()
            failed.append("%s (%s)" % (r.node, err[-1] if err else "exit status %s" % out.rc))
    if failed:
        raise CleanFailed("removing the leftovers failed on %s" % "; ".join(failed),
                          hint="run the printed commands by hand, or `kubectl kata upgrade --clean-nodes` again")
    return cleaned
