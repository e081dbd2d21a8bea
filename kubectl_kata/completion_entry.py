"""`kubectl_complete-kata` / `oc_complete-kata`: the plugin completion protocol of kubectl 1.26+ and oc.

On TAB after `kubectl kata ...`, kubectl runs ``kubectl_complete-kata`` from PATH with the words typed
after the plugin name (the last one ``""`` when a new word starts) and the user's environment. We
print one candidate per line (``value<TAB>description``), then a Cobra directive line ``:<n>``
(DOMAIN.md section 7). The same executable drives the scripts of ``kubectl kata completion``.

Subcommands, flags and choice values come from the click definitions (click's own completion
resolver); ``--pool`` values are MachineConfigPool names and ``--nodes``/``--node`` values node names,
read from the cluster with a short deadline; ``--context``/``--cluster``/``--user`` come from the
kubeconfig. Whatever goes wrong -- no kubeconfig, no cluster, a hanging credential plugin -- we print
what we have (often nothing) within about two seconds and never a traceback.
"""
from __future__ import annotations

import os
import sys
import threading
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

# Cobra ShellCompDirective bits (spf13/cobra completions.go).
DIRECTIVE_ERROR = 1
DIRECTIVE_NO_SPACE = 2
DIRECTIVE_NO_FILE = 4

#: Per-request timeout and overall deadline for cluster look-ups (seconds).
REQUEST_TIMEOUT = 1.5
DEADLINE = 2.0

POOL_PARAMS = frozenset({"pool"})
NODE_PARAMS = frozenset({"nodes", "node"})
KUBECONFIG_NAME_PARAMS = {"context": "contexts", "cluster": "clusters", "user": "users"}
PATH_PARAMS = frozenset({"kubeconfig", "certificate_authority"})
PATH_METAVARS = frozenset({"PATH", "FILE", "DIR"})

Candidate = Tuple[str, str]  # (value, description)
Fetcher = Callable[[str, Dict[str, object], Mapping[str, str]], List[str]]


def cluster_names(kind: str, params: Dict[str, object], environ: Mapping[str, str]) -> List[str]:
    """Names of `kind` objects ("MachineConfigPool" or "Node") from the cluster the typed flags select.

    Runs the request in a daemon thread and gives up after DEADLINE: an exec credential plugin or
    a black-holed server must not hang the user's shell.
    """
    result: List[str] = []

    def work() -> None:
        from .context import Environment
        from .kube.client import connect
        from .options import ConnectionOptions

        devnull = open(os.devnull, "w")
        try:
            env = Environment(stdout=devnull, stderr=devnull, environ=environ,
                              stdout_isatty=False, stderr_isatty=False)
            conn = ConnectionOptions(
                kubeconfig=_str(params.get("kubeconfig")), context=_str(params.get("context")),
                cluster=_str(params.get("cluster")), user=_str(params.get("user")),
                as_user=_str(params.get("as_user")), request_timeout=REQUEST_TIMEOUT,
            )
            cluster = connect(conn, env)
            names = [item.get("metadata", {}).get("name", "") for item in cluster.items(kind)]
            result.extend(sorted(n for n in names if n))
        except BaseException:  # completion must stay silent: no cluster means no candidates
            pass
        finally:
            devnull.close()

    thread = threading.Thread(target=work, name="kata-complete", daemon=True)
    thread.start()
    thread.join(DEADLINE)
    if thread.is_alive():
        return []
    return result


def kubeconfig_names(section: str, params: Dict[str, object], environ: Mapping[str, str]) -> List[str]:
    """Context/cluster/user names from the merged kubeconfig (no network)."""
    try:
        from .kube.kubeconfig import kubeconfig_paths, merge_kubeconfigs

        paths, _ = kubeconfig_paths(_str(params.get("kubeconfig")), environ)
        merged = merge_kubeconfigs(paths)
        return sorted(str(name) for name in merged.get(section) or {})
    except Exception:
        return []


def _str(value) -> Optional[str]:
    return value if isinstance(value, str) and value else None


def complete(args: Sequence[str], environ: Optional[Mapping[str, str]] = None,
             fetch: Fetcher = None) -> Tuple[List[Candidate], int]:
    """Candidates and Cobra directive for the words after the plugin name (last = word being typed)."""
    import click
    from click.shell_completion import _resolve_context, _resolve_incomplete

    from .cli import cli
    from .context import Environment

    environ = dict(os.environ if environ is None else environ)
    fetch = fetch or cluster_names
    words = list(args) or [""]
    typed, incomplete = words[:-1], words[-1]
    env = Environment(environ=environ, stdout_isatty=False, stderr_isatty=False)
    ctx = _resolve_context(cli, {"obj": env}, "kubectl kata", list(typed))
    obj, incomplete = _resolve_incomplete(ctx, list(typed), incomplete)

    if isinstance(obj, click.Parameter) and isinstance(obj, click.Option) and not obj.is_flag:
        name = obj.name or ""
        if name in POOL_PARAMS:
            return _filter(fetch("MachineConfigPool", ctx.params, environ), incomplete, "pool"), DIRECTIVE_NO_FILE
        if name in NODE_PARAMS:
            return _node_list(fetch("Node", ctx.params, environ), incomplete, comma=obj.name == "nodes")
        if name in KUBECONFIG_NAME_PARAMS:
            names = kubeconfig_names(KUBECONFIG_NAME_PARAMS[name], ctx.params, environ)
            return _filter(names, incomplete, name), DIRECTIVE_NO_FILE
        if name in PATH_PARAMS or obj.metavar in PATH_METAVARS or isinstance(obj.type, (click.Path, click.File)):
            return [], 0  # let the shell complete file names
    if isinstance(obj, click.Argument) and isinstance(obj.type, (click.Path, click.File)):
        return [], 0

    items = obj.shell_complete(ctx, incomplete)
    from .cli import COMMANDS

    out: List[Candidate] = []
    seen = set()
    for item in items:
        if item.type in ("file", "dir"):
            return [], 0
        value = str(item.value)
        if value in seen:
            continue
        seen.add(value)
        help_text = item.help or ""
        if obj is cli and value in COMMANDS:
            help_text = COMMANDS[value][1]  # the registry's one-liner, as `kubectl kata --help` shows it
        out.append((value, _one_line(help_text)))
    return out, DIRECTIVE_NO_FILE


def _filter(names: List[str], incomplete: str, what: str) -> List[Candidate]:
    return [(n, what) for n in names if n.startswith(incomplete)]


def _node_list(names: List[str], incomplete: str, comma: bool) -> Tuple[List[Candidate], int]:
    """`--nodes a,b,<TAB>` completes the last element and keeps the ones already typed."""
    if not comma or "," not in incomplete:
        return _filter(names, incomplete, "node"), DIRECTIVE_NO_FILE
    head, _, last = incomplete.rpartition(",")
    done = set(head.split(","))
    cands = [(f"{head},{n}", "node") for n in names if n.startswith(last) and n not in done]
    return cands, DIRECTIVE_NO_FILE


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 80 else text[:77].rstrip() + "..."


def format_output(cands: List[Candidate], directive: int) -> str:
    lines = [f"{v}\t{d}" if d else v for v, d in cands]
    lines.append(f":{directive}")
    return "\n".join(lines) + "\n"


def main(argv: Optional[List[str]] = None) -> None:
    """Entry point of `kubectl_complete-kata` / `oc_complete-kata`. Always exits 0 quickly."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        cands, directive = complete(args)
        text = format_output(cands, directive)
    except BaseException:  # a completion helper must never print a traceback into the user's prompt
        text = f":{DIRECTIVE_ERROR}\n"
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except (BrokenPipeError, OSError):
        pass
    # A still-running look-up thread (hung credential plugin) must not delay the exit.
    if any(t.name == "kata-complete" and t.is_alive() for t in threading.enumerate()):
        os._exit(0)


if __name__ == "__main__":
    main()
