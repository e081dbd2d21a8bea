"""``upgrade --check``: compare what the extension layers now with what a target release would layer. Pure.

Inputs are package sets per RPM architecture (``{arch: {name: NEVRA or None}}``, as doctor's expectation
holds them: the closure of ``kata-containers`` in the extensions repo), the reasons ``kata-containers`` is
missing for an architecture, and the target version (None when unknown). Versions are compared as RPM
versions with epochs (core.rpm), never as strings: ``3.9.0 -> 3.10.0`` and release ``9 -> 10`` are upgrades.

Problems (``severity: error`` -> exit 1):

- ``package-gone``: ``kata-containers`` is not in the target's extensions repo for an architecture of the kata
  nodes (it happened: openshift/os #1911, DOMAIN 1.2). The MCO accepts the extension name anyway, so nodes
  would degrade inside rpm-ostree after the cluster upgrade.
- ``dependency-missing``: a package of the closure cannot be resolved from the target repo.
- ``extension-not-accepted``: the target's MCO allow-list does not know ``sandboxed-containers``, or RHCOS does
  not ship it for the architecture (core.support).
Warnings: ``downgrade`` of kata-containers; ``current-unknown`` when today's set could not be read.
"""
from __future__ import annotations

from typing import Dict, List, Optional

from . import support
from .constants import EXTENSION
from .rpm import NEVRA, compare_evr

API_VERSION = "kata.kubectl.io/v1"
KIND = "UpgradeCheck"
KATA = "kata-containers"
UNAME_TO_GOARCH = {"x86_64": "amd64", "aarch64": "arm64", "s390x": "s390x", "ppc64le": "ppc64le"}


def change(old: Optional[NEVRA], new: Optional[NEVRA]) -> str:
    if old is None and new is None:
        return "unknown"
    if old is None:
        return "added"
    if new is None:
        return "removed"
    c = compare_evr(old.evr, new.evr)
    return "same" if c == 0 else ("upgrade" if c < 0 else "downgrade")


def _evr(n: Optional[NEVRA]) -> Optional[str]:
    return str(n.evr) if n is not None else None


def compare(current: Optional[Dict[str, Dict[str, Optional[NEVRA]]]], target: Dict[str, Dict[str, Optional[NEVRA]]],
            target_missing: Dict[str, str], arches: Dict[str, List[str]], target_version: Optional[str],
            current_note: Optional[str] = None) -> dict:
    """The report: ``arches`` maps an RPM arch to the kata node names of that arch."""
    problems = []  # type: List[dict]

    def problem(code, severity, message, arch=None):
        problems.append({"code": code, "severity": severity, "message": message, "arch": arch})

    accepted = None
    if target_version:
        try:
            ver = support.parse_ocp_version(target_version)
        except ValueError:
            ver = None
        if ver is not None:
            accepted = support.extension_supported(ver)
            if not accepted:
                problem("extension-not-accepted", "error",
                        "the MCO of OpenShift %s does not accept the extension name %s: the kata pools would "
                        "degrade with 'invalid extensions found: [%s]'" % (target_version, EXTENSION, EXTENSION))
    if current is None:
        problem("current-unknown", "warning", "what the nodes run today could not be read (%s); only the target "
                "is checked" % (current_note or "unknown reason"))

    out_arches = {}
    for arch in sorted(arches):
        nodes = sorted(arches[arch])
        entry = {"nodes": nodes, "kataContainers": None, "packages": [], "missing": None}
        if accepted and target_version and not support.arch_supported(target_version,
                                                                     UNAME_TO_GOARCH.get(arch, arch)):
            problem("extension-not-accepted", "error", "RHCOS %s does not ship the %s extension for %s (nodes %s)"
                    % (target_version, EXTENSION, arch, ", ".join(nodes)), arch)
        tgt = target.get(arch) or {}
        cur = (current or {}).get(arch) or {}
        if target_missing.get(arch) or KATA not in tgt or tgt.get(KATA) is None:
            why = target_missing.get(arch) or "kata-containers is not in the target's extensions repo for %s" % arch
            entry["missing"] = why
            problem("package-gone", "error", "%s: after the upgrade nodes %s could not layer the extension "
                    "(rpm-ostree would fail and the pool degrade)" % (why, ", ".join(nodes)), arch)
        names = sorted(set(tgt) | set(cur), key=lambda n: (n != KATA, n))
        for name in names:
            old, new = cur.get(name), tgt.get(name)
            if name in tgt and new is None:
                problem("dependency-missing", "error", "%s (needed by kata-containers) cannot be resolved from the "
                        "target's extensions repo for %s" % (name, arch), arch)
            row = {"name": name, "from": _evr(old), "to": _evr(new),
                   "change": change(old, new) if current is not None else ("unknown" if new is None else "target")}
            entry["packages"].append(row)
            if name == KATA:
                entry["kataContainers"] = row
                if row["change"] == "downgrade":
                    problem("downgrade", "warning", "kata-containers goes back from %s to %s on %s"
                            % (row["from"], row["to"], arch), arch)
        out_arches[arch] = entry
    errors = [p for p in problems if p["severity"] == "error"]
    return {"apiVersion": API_VERSION, "kind": KIND, "ok": not errors, "extensionAccepted": accepted,
            "arches": out_arches, "problems": problems}


def report_lines(doc: dict) -> List[str]:
    t = doc.get("target") or {}
    c = doc.get("current") or {}
    lines = ["Target: OpenShift %s (release %s)" % (t.get("version") or "unknown", t.get("release") or "?"),
             "  extensions image: %s (tag %s)" % (t.get("extensionsImage") or "?", t.get("tag") or "?"),
             "Current: OpenShift %s, extensions image %s" % (c.get("version") or "unknown",
                                                          c.get("extensionsImage") or "unknown")]
    acc = doc.get("extensionAccepted")
    lines.append("Extension name %s accepted by the target's MCO: %s" % (
        EXTENSION, "unknown" if acc is None else ("yes" if acc else "NO")))
    for arch, entry in sorted((doc.get("arches") or {}).items()):
        lines.append("")
        lines.append("%s (%d node(s): %s)" % (arch, len(entry["nodes"]), ", ".join(entry["nodes"])))
        if entry.get("missing"):
            lines.append("  !! %s" % entry["missing"])
        for row in entry["packages"]:
            lines.append("  %-28s %s -> %s  (%s)" % (row["name"], row["from"] or "-", row["to"] or "-", row["change"]))
    probs = doc.get("problems") or []
    lines.append("")
    if not probs:
        lines.append("No problem found: the target release still ships kata-containers for every kata node.")
    for p in probs:
        lines.append("%s: %s" % ("PROBLEM" if p["severity"] == "error" else "warning", p["message"]))
    return lines
