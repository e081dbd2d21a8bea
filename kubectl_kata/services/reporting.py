"""The one interface through which a service tells the user what happens while it works.

Services (enable, disable, upgrade, doctor...) take a request and return a result; they never print,
never pick an output format and never import ``commands``/``render``. What cannot wait for the result --
a step done, a warning, rollout progress, probe progress -- goes through a :class:`Reporter` that the
command injects. The base class says nothing, so a service runs silently (tests, a future API).
"""
from __future__ import annotations

from typing import Any, Optional


class Reporter:
    """Silent default; the CLI supplies an implementation that writes to the terminal."""

    def step(self, text: str) -> None:
        """A narrative line about something done or found (e.g. ``machineconfig.../x created``)."""

    def changed(self, obj: dict, action: str, detail: str = "") -> None:
        """An object was created, updated, deleted or (un)labelled: ``obj`` has ``kind`` and ``metadata.name``;
        ``action`` is the past-tense verb (``created``, ``labeled node-role.kubernetes.io/kata-oc``), ``detail``
        a qualifier such as ``server dry run``. The CLI prints it as kubectl does (``node/x labeled ...``)."""

    def note(self, text: str) -> None:
        """Side information that is not part of the result (printed on stderr by the CLI)."""

    def warning(self, text: str, hint: Optional[str] = None) -> None:
        """Something the user should know; the service goes on."""

    # -- rollout following ------------------------------------------------------------------
    def rollout_started(self, pool: str) -> None:
        """A rollout of ``pool`` is about to be followed; ``rollout`` calls follow."""

    def rollout(self, state: Any) -> None:
        """A new :class:`kubectl_kata.core.rollout.RolloutState` (the reporter decides what changed)."""

    def rollout_finished(self, state: Optional[Any]) -> None:
        """Following stopped (done, failed, timed out or interrupted); ``state`` is the last one seen."""

    # -- node probes (doctor, upgrade's host inspection) -------------------------------------
    def probes(self, done: int, running: int, failed: int, total: int, via: str) -> None:
        """Progress of the per-node collection."""

    def probes_finished(self) -> None:
        """The per-node collection ended (clear any progress line)."""
