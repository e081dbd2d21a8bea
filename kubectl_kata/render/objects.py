"""Objects named the way kubectl names them in its own messages (`machineconfig.machineconfiguration...`)."""
from __future__ import annotations


def describe(obj: dict) -> str:
    """`machineconfig.machineconfiguration.openshift.io/<name>`, `node/<name>`: kind.group/name as kubectl prints it."""
    from ..kube.resources import resource

    r = resource(obj["kind"])
    kind = obj["kind"].lower()
    return f"{kind}.{r.group}/{obj['metadata']['name']}" if r.group else f"{kind}/{obj['metadata']['name']}"


def changed_line(obj: dict, action: str, detail: str = "") -> str:
    """`node/worker-0 labeled node-role.kubernetes.io/kata-oc (server dry run)`."""
    return f"{describe(obj)} {action}" + (f" ({detail})" if detail else "")
