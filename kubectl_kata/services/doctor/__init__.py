"""The doctor service: a :class:`DoctorRequest` in, a :class:`DoctorResult` (report document, exit status) out.

Two phases so a bundle re-analyses exactly like a live run:

* :func:`~.collect.collect` talks to the cluster and the nodes and returns a
  :class:`~kubectl_kata.doctor.model.Collected` (redacted cluster facts, scope, per-node probe results with raw
  outputs, the expectation used; see :mod:`.expectation` for how that is chosen);
* :func:`~kubectl_kata.doctor.analysis.analyse` is pure and returns the report document.

``doctor --from`` replaces the first phase by reading a bundle. The service never prints: probe progress and
warnings go to the injected :class:`~kubectl_kata.services.reporting.Reporter`, and the command prints the
result.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from ...doctor.analysis import analyse, exit_status_for
from ...doctor.expected import Expectation
from ...doctor.model import Collected, ProbeRecord
from ...errors import BundleError, UsageProblem
from ...status import ExitStatus
from ..reporting import Reporter
from . import offline
from .collect import NAMESPACE_PREFIX, DoctorCannotRun, DoctorInterrupted, collect, resolve_scope
from .expectation import expectation_from_file
from .request import DEFAULT_NODE_TIMEOUT, DEFAULT_PARALLEL, DoctorRequest

__all__ = ["DoctorRequest", "DoctorResult", "Collected", "ProbeRecord", "DoctorCannotRun", "DoctorInterrupted",
           "collect", "resolve_scope", "analyse", "exit_status_for", "run_doctor", "NAMESPACE_PREFIX",
           "DEFAULT_PARALLEL", "DEFAULT_NODE_TIMEOUT"]


@dataclass
class DoctorResult:
    """What a doctor run produced. ``report`` is the document ``-o json`` prints (with an ``interrupted``
    section after Ctrl-C); ``status`` the exit status."""

    report: Dict[str, Any]
    status: int
    collected: Collected
    bundle: Optional[str] = None     # where the support bundle was written
    bundle_dropped: bool = False     # --bundle was asked for, but the run was interrupted: none written

    @property
    def interrupted(self) -> bool:
        return "interrupted" in self.report

    @property
    def failed_reasons(self) -> List[str]:
        """The distinct reasons of the nodes that could not be probed."""
        return sorted({r.reason for r in self.collected.probes.values() if not r.ok})


def run_doctor(env, conn, req: DoctorRequest, reporter: Optional[Reporter] = None) -> DoctorResult:
    """Run doctor live, or re-analyse a bundle (``req.from_path``); write the bundle if asked."""
    from ...doctor import bundle as bundle_mod

    req.validate()
    reporter = reporter if reporter is not None else Reporter()
    written = None
    if req.from_path and offline.source_kind(req.from_path) == offline.MUSTGATHER:
        if req.bundle:
            raise UsageProblem("--bundle does not apply to a must-gather: it is the support data already; "
                               "re-run `doctor --from` on it")
        res = offline.analyse_source(req.from_path, req.expected, kind=offline.MUSTGATHER)
        mg = res.collected
        col = Collected(facts=mg.facts, scope=res.doc["scope"], probes={}, expectation=Expectation("none"))
        status = ExitStatus.SUCCESS if res.doc["healthy"] else ExitStatus.PROBLEMS_FOUND
        return DoctorResult(res.doc, status, col)
    if req.from_path:
        try:
            col = bundle_mod.read_bundle(req.from_path)
            if req.expected:
                col.expectation = expectation_from_file(req.expected, col.probes)
            doc = analyse(col)
        except (AttributeError, TypeError, KeyError, IndexError, ValueError) as exc:
            # a bundle is untrusted input: objects of the wrong shape are its fault, reported in one line
            detail = (str(exc).splitlines() or [""])[0][:200]
            raise BundleError("bundle %s holds malformed cluster or node data (%s: %s)"
                              % (req.from_path, type(exc).__name__, detail)) from None
        if req.bundle:
            written = bundle_mod.write_bundle(req.bundle, col, doc)
    else:
        writer = _open_bundle(req.bundle) if req.bundle else None
        try:
            col = collect(env, conn, req, reporter, on_node=writer.add_node if writer else None,
                          on_facts=writer.add_facts if writer else None)
            doc = analyse(col)
            if writer:
                written = writer.finish(col, doc)
        except DoctorInterrupted as exc:
            if writer:
                writer.abort()
            # the debug pods and the namespace are gone; what finished is reported, marked partial
            col = exc.collected
            return DoctorResult(analyse(col), ExitStatus.INTERRUPTED, col, bundle_dropped=writer is not None)
        except BaseException:
            if writer:
                writer.abort()
            raise
    return DoctorResult(doc, exit_status_for(col, doc), col, bundle=written)


def _open_bundle(path: str):
    from ...doctor.bundle import BundleWriter

    try:
        return BundleWriter(path)
    except OSError as exc:
        raise UsageProblem("--bundle %s: cannot write there: %s" % (path, exc.strerror or exc)) from None
