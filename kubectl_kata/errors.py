"""Exceptions that carry their exit status; the CLI's single error boundary maps them."""
from __future__ import annotations

from typing import Optional

from .status import ExitStatus


class KataError(Exception):
    """An error the user can act on: printed as one line (plus an optional hint line)."""

    exit_status = ExitStatus.INTERNAL

    def __init__(self, message: str, hint: Optional[str] = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageProblem(KataError):
    exit_status = ExitStatus.USAGE


class ConfigError(KataError):
    """kubeconfig missing or unusable."""

    exit_status = ExitStatus.CLUSTER_ERROR


class ClusterError(KataError):
    """The cluster could not be reached or refused a request."""

    exit_status = ExitStatus.CLUSTER_ERROR

    def __init__(self, message: str, hint: Optional[str] = None, code: Optional[int] = None,
                 reason: Optional[str] = None) -> None:
        super().__init__(message, hint)
        self.code = code
        self.reason = reason


class NotFound(ClusterError):
    pass


class Conflict(ClusterError):
    pass


class PreflightRefused(KataError):
    exit_status = ExitStatus.PREFLIGHT_REFUSED


class RolloutFailed(KataError):
    exit_status = ExitStatus.ROLLOUT_FAILED


class RolloutTimeout(KataError):
    exit_status = ExitStatus.TIMEOUT


class BundleError(KataError):
    """A support bundle could not be read or written."""

    exit_status = ExitStatus.USAGE
