"""Text view of a ``doctor diff`` document (kind DoctorDiff, built by ``doctor.diff``). Pure."""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Sequence

from .doctor_report import escaped_document

__all__ = ["render_diff_table"]

_NAMES = 8
_ARROW = "\u2192"


def _names(names: Sequence[str], limit: int = _NAMES) -> str:
    names = list(names)
    if len(names) <= limit:
        return ", ".join(names)
    return ", ".join(names[:limit]) + " (+%d more)" % (len(names) - limit)


def _side(label: str, s: Mapping[str, Any]) -> str:
    what = "bundle" if s["kind"] == "bundle" else "must-gather"
    extra = "" if s["packages"] == "full" else ", packages: kata/qemu only, no epochs"
    return "%s %s %s (OpenShift %s, %d node%s%s)" % (label, what, s["path"], s["version"] or "unknown",
                                                    s["nodes"], "" if s["nodes"] == 1 else "s", extra)


def _group_lines(g: Mapping[str, Any]) -> List[str]:
    out = []
    head = "%s (%d node%s):" % (_names(g["nodes"]), g["count"], "" if g["count"] == 1 else "s")
    out.append(head)
    p = g["packages"]
    for c in p["changed"]:
        out.append("  ~ %s %s %s %s%s" % (c["name"], c["before"], _ARROW, c["after"],
                                          "" if c["direction"] == "upgrade" else "  (%s)" % c["direction"]))
    for a in p["added"]:
        out.append("  + %s" % a)
    for r in p["removed"]:
        out.append("  - %s" % r)
    for b in g["binaries"]:
        out.append("  ~ %s reports %s %s %s" % (b["name"], b["before"] or "nothing", _ARROW, b["after"] or "nothing"))
    for key, label in (("bootedImage", "booted OS image"), ("osImage", "OS (node status)"),
                       ("machineConfig", "MachineConfig")):
        if g.get(key):
            out.append("  ~ %s %s %s %s" % (label, g[key]["before"] or "-", _ARROW, g[key]["after"] or "-"))
    return out


def _finding_lines(title: str, items: List[Dict[str, Any]]) -> List[str]:
    if not items:
        return []
    out = ["%s:" % title]
    for f in items:
        out.append("  %-7s %s  %s: %s" % (f["severity"], _names(f["subjects"], 4), f["checkId"], f["message"]))
    return out


def render_diff_table(doc: Mapping[str, Any]) -> str:
    doc = escaped_document(doc)   # text from the bundles/must-gathers: control characters printed as escapes
    out = [_side("Before:", doc["before"]), _side("After: ", doc["after"])]
    v = doc["cluster"]["version"]
    if v:
        out.append("OpenShift %s %s %s" % (v["before"] or "unknown", _ARROW, v["after"] or "unknown"))
    n = doc["nodes"]
    out.append("")
    if n["onlyBefore"]:
        out.append("Only before: %s" % _names(n["onlyBefore"]))
    if n["onlyAfter"]:
        out.append("Only after:  %s" % _names(n["onlyAfter"]))
    if doc["groups"]:
        out.append("Changed nodes:")
        for g in doc["groups"]:
            out.extend("  " + line for line in _group_lines(g))
    if n["unchanged"]:
        out.append("Unchanged: %d node%s (%s)" % (len(n["unchanged"]), "" if len(n["unchanged"]) == 1 else "s",
                                                 _names(n["unchanged"])))
    f = doc["findings"]
    for title, key in (("New findings", "new"), ("Resolved findings", "resolved"),
                       ("Unchanged findings", "unchanged"),
                       ("Not comparable (not collected on one side)", "notComparable")):
        lines = _finding_lines(title, f[key])
        if lines:
            out.append("")
            out.extend(lines)
    if doc["notes"]:
        out.append("")
    for note in doc["notes"]:
        out.append("note: %s" % note)
    out.append("")
    if doc["identical"]:
        out.append("No differences.")
    else:
        parts = []
        if n["changed"]:
            parts.append("%d node%s changed" % (len(n["changed"]), "" if len(n["changed"]) == 1 else "s"))
        if n["onlyBefore"] or n["onlyAfter"]:
            parts.append("%d only on one side" % (len(n["onlyBefore"]) + len(n["onlyAfter"])))
        if f["new"]:
            parts.append("%d new finding%s" % (len(f["new"]), "" if len(f["new"]) == 1 else "s"))
        if f["resolved"]:
            parts.append("%d resolved" % len(f["resolved"]))
        if v:
            parts.append("cluster version changed")
        out.append("Differences: %s." % ", ".join(parts))
    return "\n".join(out)
