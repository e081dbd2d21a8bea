"""Pure text rendering of the KataStatus document (core.statusreport) for `status -o table|wide`."""
from __future__ import annotations

from typing import List

from .output import table


def _yn(value) -> str:
    return "unknown" if value is None else ("yes" if value else "no")


def _short(name, wide: bool) -> str:
    if not name:
        return "-"
    return name if wide or len(name) <= 30 else name[:26] + "…"


def render_status(doc: dict, wide: bool = False) -> str:
    lines: List[str] = []
    mc = doc["machineConfig"]
    pool = doc.get("pool")
    manager = doc.get("managedBy")
    if doc["enabled"]:
        head = f"enabled on pool {pool}" if pool else "enabled"
    else:
        head = "not enabled"
    if manager:
        head += f" (managed by {manager})"
    rows = [("Sandboxed containers", head)]
    inst = doc.get("install") or {}
    if inst.get("kind"):
        kinds = {"operator": "sandboxed containers operator", "legacy": "legacy RPM payload (kata-operator)",
                 "plugin": "kubectl-kata", "operator-leftovers": "none (operator left-overs only)", "none": "none"}
        text = kinds.get(inst["kind"], inst["kind"])
        if inst.get("revision") is not None:
            text += ", revision %s" % inst["revision"]
            if inst.get("current") is False:
                text += " (this plugin renders %s: run upgrade)" % inst.get("currentRevision")
        rows.append(("Install", text))
    if mc["present"]:
        owner = "ours" if mc["ours"] else "not created by kubectl-kata"
        ext = ", ".join(mc["extensions"]) or "none"
        rows.append(("MachineConfig", f"{mc['name']} ({owner}; extensions: {ext})"))
    else:
        rows.append(("MachineConfig", f"{mc['name']} absent"))
    rendered = doc["renderedConfig"]
    ro = doc["rollout"]
    if pool:
        rows.append(("Rendered config", f"target {_short(rendered['target'], wide)}, current "
                                        f"{_short(rendered['current'], wide)}; includes the extension: "
                                        f"{_yn(rendered['includesExtension'])}"))
        rows.append(("Rollout", f"{ro['phase']}: {ro['updated']}/{ro['machineCount']} updated, {ro['ready']} ready, "
                                f"{ro['unavailable']} unavailable, {ro['degraded']} degraded"))
        conds = [c for c in ro.get("conditions") or [] if c.get("type") in
                 ("Updated", "Updating", "Degraded", "NodeDegraded", "RenderDegraded")]
        if conds:
            rows.append(("Conditions", " ".join(f"{c['type']}={c['status']}" for c in conds)))
        for c in ro.get("conditions") or []:
            if c.get("status") == "True" and c.get("type") in ("NodeDegraded", "RenderDegraded", "Degraded") \
                    and c.get("message"):
                rows.append((f"  {c['type']}", c["message"]))
    rc = doc["runtimeClass"]
    if rc["present"]:
        sel = ",".join(f"{k}={v}" for k, v in sorted((rc.get("nodeSelector") or {}).items())) or "none"
        rows.append(("RuntimeClass", f"{rc['name']} (handler {rc.get('handler')}, nodeSelector {sel}); "
                                     f"matches the pool's nodes: {_yn(rc.get('matchesPool'))}"))
    else:
        rows.append(("RuntimeClass", f"{rc['name']} absent"))
    rows.append(("Kata pods", str(doc.get("kataPods", 0))))
    width = max(len(k) for k, _ in rows) + 2
    lines.extend(f"{k + ':':<{width}}{v}" for k, v in rows)
    nodes = doc.get("nodes") or []
    if nodes:
        lines.append("")
        headers = ["node", "state", "current config", "desired config", "kata ready"]
        if wide:
            headers.append("reason")
        body = []
        for n in nodes:
            row = [n["name"], n["state"], _short(n.get("currentConfig"), wide), _short(n.get("desiredConfig"), wide),
                   _yn(n.get("kataReady"))]
            if wide:
                row.append(n.get("reason") or "")
            body.append(row)
        lines.append(table(headers, body))
    problems = doc.get("problems") or []
    if problems:
        lines.append("")
        for p in problems:
            lines.append(f"{p['severity']}: {p['message']}")
            if p.get("hint"):
                lines.append(f"  hint: {p['hint']}")
    return "\n".join(lines)
