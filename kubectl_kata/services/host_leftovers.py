"""Host-level leftovers of a legacy install, which an MCO rollout does not clean (DOMAIN 5).

Inspection reuses doctor's collection: one debug pod per node through ``oc debug node`` (or ``kubectl debug``)
in a temporary namespace that is removed afterwards, read-only (services.doctor.collect, without reading the
release: no pull secret, no image pull). Each node's probed facts give its leftovers
(core.installkind.leftovers_of_node) and the exact commands that remove them (core.installkind.cleanup_commands).

``required=True`` (a legacy install, where the inspection is what stops upgrade from layering the extension on a
node that still has the conflicting kata-runtime/kata-osbuilder): every node of the pool must be inspected, else
:class:`InspectionImpossible` (exit 3) names the cause and ``--no-inspect-nodes``. A node whose probe did not
finish cleanly counts as not inspected: partial data could hide a layered package.

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
from typing import List, Optional

from ..core import installkind as ik
from ..errors import KataError
from ..status import ExitStatus
from .reporting import Reporter

__all__ = ["NodeLeftovers", "inspect_nodes", "clean_nodes", "MC_MANAGED", "InspectionImpossible", "SKIP_HINT"]

# leftover ids whose file the legacy MachineConfig writes while it exists
MC_MANAGED = ("crio-50-kata.conf", "osbuilder-unit")


SKIP_HINT = ("pass --no-inspect-nodes to go on without looking at the nodes (a node that still has kata-runtime/"
             "kata-osbuilder layered then degrades the pool in the rollout)")


def _hint(first: Optional[str]) -> str:
    return "%s, or %s" % (first, SKIP_HINT) if first else SKIP_HINT[0].upper() + SKIP_HINT[1:]


class CleanFailed(KataError):
    exit_status = ExitStatus.CLUSTER_ERROR


class InspectionImpossible(KataError):
    """The nodes of a legacy install could not all be inspected; nothing was changed."""

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


def inspect_nodes(env, conn, pool: str, legacy_mc_present: bool, reporter: Reporter,
                  required: bool = False) -> List[NodeLeftovers]:
    from ..doctor.model import node_facts
    from ..errors import UsageProblem
    from .doctor.collect import DoctorCannotRun, collect
    from .doctor.request import DoctorRequest

    try:
        col = collect(env, conn, DoctorRequest(pool=pool), reporter, read_release=False)
    except (DoctorCannotRun, UsageProblem) as exc:
        if not required:
            raise
        first = "install oc (or kubectl)" if "not on PATH" in exc.message else exc.hint
        raise InspectionImpossible("cannot inspect the nodes of pool %s for host leftovers: %s (nothing was changed)"
                                   % (pool, exc.message), hint=_hint(first)) from None
    out = []
    for node in sorted(col.probes):
        rec = col.probes[node]
        nf = node_facts(rec) if rec.ok else None
        if nf is None:
            out.append(NodeLeftovers(node, None, error=rec.error or rec.reason or "not probed"))
            continue
        found = ik.leftovers_of_node(nf)
        held = [k for k in found if legacy_mc_present and k in MC_MANAGED]
        removable = [k for k in found if k not in held]
        out.append(NodeLeftovers(node, found, held_by_mc=held, commands=ik.cleanup_commands(node, removable)))
    missing = [h for h in out if h.leftovers is None]
    if required and missing:
        by_error = {}  # type: Dict[str, List[str]]
        for h in missing:
            by_error.setdefault(h.error or "not probed", []).append(h.node)
        causes = ["%s: %s" % (", ".join(nodes[:5]) + (", ..." if len(nodes) > 5 else ""), err)
                  for err, nodes in list(by_error.items())[:3]]
        raise InspectionImpossible(
            "cannot inspect %d of %d node(s) of pool %s for host leftovers (%s); nothing was changed"
            % (len(missing), len(out), pool, "; ".join(causes) + ("; ..." if len(by_error) > 3 else "")),
            hint=_hint("fix that (`kubectl kata doctor --node %s` shows the details)" % missing[0].node))
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
