"""What the cluster-changing commands share: how they run a service and show what it could not return
(no kubernetes import here)."""
from __future__ import annotations

import contextlib


def prog(env=None) -> str:
    """`kubectl kata` or `oc kata`, as the user typed it."""
    from ..context import prog_name

    return prog_name()


@contextlib.contextmanager
def presenting(env, verb=None):
    """Around a service call: print what its refusals and interruptions carry, then let them go on to the
    CLI's error boundary (which prints the error line and picks the exit status). ``verb`` (enable/disable):
    an interruption at any phase also says how to finish the job."""
    from ..render.lifecycle import interrupted_lines, kata_pod_lines, problem_lines, stopped_lines
    from ..services.disabling import KataPodsRunning
    from ..services.follow import FollowInterrupted
    from ..services.preflight import PreflightProblems

    try:
        yield
    except PreflightProblems as exc:
        _err(env, problem_lines(exc.others))
        raise
    except KataPodsRunning as exc:
        _err(env, kata_pod_lines(exc.pods))
        raise
    except FollowInterrupted as exc:
        _err(env, interrupted_lines(exc.pool, prog(env), verb))
        raise
    except KeyboardInterrupt:             # Ctrl-C, SIGTERM or SIGHUP (kubectl_kata.interrupts)
        if verb:
            _err(env, stopped_lines(verb, prog(env)))
        raise


def _err(env, lines) -> None:
    for line in lines:
        try:
            env.err(line)
        except OSError:   # the terminal is gone (SIGHUP): the exit status still tells
            pass

