"""Command lines of the probes: the connection flags oc/kubectl are given, and the form a command is shown
and recorded in (secrets masked, the collection script abbreviated, the binary named, not its path)."""
from __future__ import annotations

import os
from typing import Iterable, List, Optional, Sequence

from kubectl_kata.core.redact import redact_text

__all__ = ["redact_argv", "command_as_run", "kube_global_flags", "conn_global_flags"]

_SECRET_FLAGS = ("--token", "--password", "--client-key-data", "--client-certificate-data",
                 "--registry-config", "--auth-token")


def redact_argv(argv: Sequence[str], script: Optional[str] = None) -> List[str]:
    """A copy of ``argv`` safe to show: secret flag values masked, the script abbreviated."""
    out: List[str] = []
    hide_next = False
    for a in argv:
        if hide_next:
            out.append("<redacted>")
            hide_next = False
            continue
        if script is not None and a == script:
            out.append("<collection script, %d bytes>" % len(script.encode("utf-8")))
            continue
        flag, eq, _ = a.partition("=")
        if flag in _SECRET_FLAGS:
            if eq:
                out.append(flag + "=<redacted>")
            else:
                out.append(a)
                hide_next = True
            continue
        out.append(redact_text(a))
    return out


def command_as_run(argv: Sequence[str], script: Optional[str] = None) -> List[str]:
    """:func:`redact_argv` with the binary named as a user would type it (``oc debug node/...``): the
    path it was found at belongs to the machine that ran doctor, not in a report or a bundle."""
    shown = redact_argv(argv, script)
    if shown:
        shown[0] = os.path.basename(shown[0]) or shown[0]
    return shown


def kube_global_flags(kubeconfig: Optional[str] = None, context: Optional[str] = None,
                      cluster: Optional[str] = None, user: Optional[str] = None,
                      as_user: Optional[str] = None, as_groups: Iterable[str] = ()) -> List[str]:
    """The connection flags oc and kubectl both accept as global flags, in ``--flag=value`` form (a value
    can never be taken for another flag). Only names and paths: a token never goes on argv (it would be
    visible in ``ps``); oc/kubectl read it from the kubeconfig."""
    flags: List[str] = []
    for name, value in (("--kubeconfig", kubeconfig), ("--context", context), ("--cluster", cluster),
                        ("--user", user), ("--as", as_user)):
        if value:
            flags.append("%s=%s" % (name, value))
    flags.extend("--as-group=%s" % g for g in as_groups if g)
    return flags


def conn_global_flags(conn) -> List[str]:
    """:func:`kube_global_flags` from a ``kubectl_kata.options.ConnectionOptions``."""
    return kube_global_flags(conn.kubeconfig, conn.context, getattr(conn, "cluster", None),
                             getattr(conn, "user", None), getattr(conn, "as_user", None),
                             list(getattr(conn, "as_groups", None) or ()))
