"""The doctor report document (:mod:`kubectl_kata.doctor.report`) as the tables ``doctor`` prints by default
and with ``-o wide``. Pure: document in, text out."""
from __future__ import annotations

import re
from collections import OrderedDict
from typing import Any, List, Mapping, Tuple

from ..doctor.findings import ERROR, WARNING, severity_rank
from ..doctor.report import short_names
from .output import table

__all__ = ["render_table", "escape_controls", "escaped_document"]

# C0 controls, DEL, C1 controls and the bidi overrides/isolates: text from a node or a bundle (package names,
# rpm -V paths, script stderr) must not move the cursor, retitle or clear the reader's terminal, or reorder
# what they see
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _escape_char(m) -> str:
    c = ord(m.group(0))
    return "\\x%02x" % c if c <= 0xff else "\\u%04x" % c


def escape_controls(text: str) -> str:
    """``text`` with every control character written as a visible escape (``\\x1b``, ``\\u202e``)."""
    return _CONTROL.sub(_escape_char, text)


def escaped_document(value: Any) -> Any:
    """A copy of a report document with :func:`escape_controls` applied to every string (keys included)."""
    if isinstance(value, str):
        return escape_controls(value)
    if isinstance(value, (list, tuple)):
        return [escaped_document(v) for v in value]
    if isinstance(value, Mapping):
        return {escaped_document(k): escaped_document(v) for k, v in value.items()}
    return value


def _check_rows(doc: Mapping[str, Any]) -> List[List[str]]:
    """One row per check id: cluster checks as they are, node checks rolled up over the nodes."""
    by_id: "OrderedDict[str, List[dict]]" = OrderedDict()
    for f in sorted(doc["findings"], key=lambda f: (f["subject"] != "cluster", f["checkId"])):
        by_id.setdefault(f["checkId"], []).append(f)
    total = doc["summary"]["nodes"]["total"]
    rows = []
    for cid, fs in by_id.items():
        worst = max(fs, key=lambda f: severity_rank(f["severity"]))["severity"]
        if fs[0]["subject"] == "cluster":
            shown = [f for f in fs if f["severity"] == worst]
            rows.append([cid, worst, "; ".join(f["message"] for f in shown)])
            continue
        nodes_with = sorted({f["subject"] for f in fs})
        bad = sorted({f["subject"] for f in fs if f["severity"] == worst})
        first = next(f for f in fs if f["severity"] == worst)
        msg = first["message"]
        if worst in (ERROR, WARNING):
            text = "%d of %d node%s: %s (%s)" % (len(bad), total, "" if total == 1 else "s", msg, short_names(bad, 4))
        elif len(nodes_with) == total and len({f["message"] for f in fs}) == 1:
            text = "%d of %d node%s: %s" % (total, total, "" if total == 1 else "s", msg)
        else:
            text = "%d of %d node%s checked, no problem (e.g. %s)" % (len(nodes_with), total,
                                                                     "" if total == 1 else "s", msg)
        rows.append([cid, worst, text])
    return rows


def _expected_line(doc: Mapping[str, Any]) -> str:
    e = doc["expected"]
    src = e["source"]
    if src == "none":
        return "Expected versions: none (not compared)"
    parts = []
    for arch, pk in sorted(e["packages"].items()):
        kata = pk.get("kata-containers")
        if kata:
            parts.append("%s: %s (+%d closure package%s)" % (arch or "?", kata, len(pk) - 1, "" if len(pk) == 2 else "s"))
        elif arch in e["missing"]:
            parts.append("%s: %s" % (arch, e["missing"][arch]))
    line = "Expected versions from %s: %s" % (src, e["detail"])
    if e.get("image"):
        line += " %s" % e["image"]
    if parts:
        line += "\n  " + "\n  ".join(parts)
    for n in e["notes"]:
        line += "\n  note: " + n
    return line


def _partial_line(doc: Mapping[str, Any]) -> str:
    """The PARTIAL marker of an interrupted run (doc["interrupted"]), or ""."""
    intr = doc.get("interrupted")
    if not isinstance(intr, Mapping):
        return ""
    left = list(intr.get("nodes") or [])
    return "PARTIAL REPORT (interrupted): %d of %d node(s) finished%s" % (
        intr.get("finished", 0), intr.get("total", 0), ("; not finished: " + short_names(left, 10)) if left else "")


def render_table(doc: Mapping[str, Any], wide: bool = False) -> str:
    """The report as doctor prints it by default (``-o wide``: every problem with its hint, one row per node).
    Every string of the document is printed with its control characters escaped."""
    doc = escaped_document(doc)
    out = []
    scope = doc["scope"]
    source = doc.get("source") or {}
    if source.get("kind") == "must-gather":
        out.append("From must-gather %s (%s); checks its data does not allow are reported as `not collected`"
                   % (source.get("path"), ", ".join(source.get("contains") or []) or "no known part"))
    out.append("Pool %s, %d node(s)%s, OpenShift %s" % (scope["pool"] or "-", len(scope["nodes"]),
                                                        (", selector " + scope["selector"]) if scope["selector"] else "",
                                                        doc["cluster"]["version"] or "unknown"))
    out.append(_expected_line(doc))
    partial = _partial_line(doc)
    if partial:
        out.append(partial)
    out.append("")
    out.append(table(["check", "severity", "result"], _check_rows(doc)))
    problems = [f for f in doc["findings"] if f["severity"] in (ERROR, WARNING)]
    if problems:
        out.append("")
        out.append("Problems:")
        if wide:
            for f in problems:
                out.append("  %-7s %s  %s: %s" % (f["severity"], f["subject"], f["checkId"], f["message"]))
                if f["hint"]:
                    out.append("          hint: %s" % f["hint"])
        else:
            folded: "OrderedDict[Tuple[str, str, str, str], List[str]]" = OrderedDict()
            for f in problems:
                msg = f["message"].replace(f["subject"], "<node>") if f["subject"] != "cluster" else f["message"]
                hint = f["hint"].replace(f["subject"], "<node>") if f["subject"] != "cluster" else f["hint"]
                folded.setdefault((f["severity"], f["checkId"], msg, hint), []).append(f["subject"])
            for (sev, cid, msg, hint), subjects in folded.items():
                out.append("  %-7s %s  %s: %s" % (sev, short_names(subjects, 4), cid, msg))
                if hint:
                    out.append("          hint: %s" % hint)
    if wide:
        out.append("")
        out.append(table(["node", "status", "worst", "problems"],
                         [[n["name"], n["status"], n["worst"], ", ".join(n["problems"]) or "-"] for n in doc["nodes"]]))
    out.append("")
    out.append("Nodes: " + doc["rollup"])
    if partial:
        out.append(partial)
    s = doc["summary"]
    if doc["healthy"]:
        out.append("No problems found in what the must-gather holds." if source.get("kind") == "must-gather"
                   else "No problems found.")
    else:
        n = s["errors"] + s["warnings"]
        out.append("%d problem%s found (%d error%s, %d warning%s)." % (
            n, "" if n == 1 else "s", s["errors"], "" if s["errors"] == 1 else "s", s["warnings"],
            "" if s["warnings"] == 1 else "s"))
    return "\n".join(out)
