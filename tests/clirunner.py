"""Run the real CLI in-process with injected streams (the httpie Environment pattern)."""
from __future__ import annotations

import io
import os
from typing import Dict, List, NamedTuple, Optional

from kubectl_kata.cli import main
from kubectl_kata.context import Environment


class Result(NamedTuple):
    exit_code: int
    stdout: str
    stderr: str


def run_cli(args: List[str], kubeconfig: Optional[str] = None, environ: Optional[Dict[str, str]] = None,
            tty: bool = False) -> Result:
    env_vars = {"HOME": os.environ.get("HOME", "/nonexistent"), "PATH": os.environ.get("PATH", "")}
    if kubeconfig:
        env_vars["KUBECONFIG"] = kubeconfig
    env_vars.update(environ or {})
    out, err = io.StringIO(), io.StringIO()
    env = Environment(stdout=out, stderr=err, environ=env_vars, stdout_isatty=tty, stderr_isatty=tty)
    code = main(list(args), env=env)
    return Result(int(code), out.getvalue(), err.getvalue())
