"""Turn preflight problems (core.preflight) into what a service does with them: warnings go to the
reporter and the work goes on; any error refuses the change before anything was modified."""
from __future__ import annotations

from typing import Iterable, List

from ..core.preflight import ERROR, Problem
from ..errors import PreflightRefused


class PreflightProblems(PreflightRefused):
    """Several preflight errors: the message names the first one, ``others`` holds the rest.

    The command shows ``others`` before the error line, which points up at them."""

    def __init__(self, message: str, hint, others: Iterable[Problem]) -> None:
        super().__init__(message, hint=hint)
        self.others: List[Problem] = list(others)


def refuse_on_errors(problems: List[Problem], reporter) -> None:
    """Report the warnings; raise PreflightRefused (one error) or PreflightProblems (several)."""
    errors = [p for p in problems if p.severity == ERROR]
    for p in problems:
        if p.severity != ERROR:
            reporter.warning(p.message, p.hint)
    if not errors:
        return
    first = errors[0]
    if len(errors) == 1:
        raise PreflightRefused(f"{first.message} (nothing was changed)", hint=first.hint)
    raise PreflightProblems(f"{first.message} (and {len(errors) - 1} more problem(s) above; nothing was changed)",
                            first.hint, errors[1:])
