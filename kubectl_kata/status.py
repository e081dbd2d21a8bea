"""Exit statuses: the contract documented in the README (section "Exit codes").

Follows ``kubectl diff``: 0 = nothing wrong, 1 = problems found, anything greater = the
tool could not do what was asked.
"""
import enum


class ExitStatus(enum.IntEnum):
    SUCCESS = 0
    PROBLEMS_FOUND = 1      # doctor found drift / problems; status --check found not-ready
    USAGE = 2               # bad flags or arguments (click's UsageError uses 2 as well)
    CLUSTER_ERROR = 3       # cannot talk to the cluster, or the API refused a request
    PREFLIGHT_REFUSED = 4   # a preflight check refused the change; nothing was modified
    ROLLOUT_FAILED = 5      # the pool degraded (node or render) while we followed it
    TIMEOUT = 6             # the rollout did not finish within --timeout
    INTERNAL = 7            # a bug in kubectl-kata (run with -v for the traceback)
    INTERRUPTED = 130       # Ctrl-C (128 + SIGINT)
