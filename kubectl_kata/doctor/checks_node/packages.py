"""The installed kata-containers packages: versions against the expected set, with the cause of each
difference (``node.package-version``), the dependency closure (``node.closure-complete``) and ``rpm -V``
(``node.rpm-verify``)."""
from __future__ import annotations

from typing import Dict, List, Tuple

from kubectl_kata.core.rpm import compare_evr
from kubectl_kata.doctor.checks_node.deployment import image_matches
from kubectl_kata.doctor.checks_node.state import KATA_PACKAGE, CheckedNode, fmt_list
from kubectl_kata.doctor.findings import ERROR, INFO, OK, WARNING


def _overridden(node: CheckedNode, name: str) -> List[str]:
    """How the booted deployment overrides ``name`` by hand (empty: it does not)."""
    b = node.booted
    if b is None:
        return []
    how = []
    if name in b.requested_packages or any(r.startswith(name + "-") and r[len(name) + 1:][:1].isdigit()
                                           for r in b.requested_packages):
        if name != KATA_PACKAGE:
            how.append("layered by request")
    if any(r.rsplit("-", 2)[0] == name for r in b.base_local_replacements):
        how.append("base package replaced")
    if name in b.requested_base_removals:
        how.append("base package removed")
    if any(r.rsplit("-", 2)[0] == name for r in b.requested_local_packages) or name in b.requested_local_packages:
        how.append("installed from a local RPM")
    return how


def _drift_cause(node: CheckedNode, name: str, direction: str) -> Tuple[str, str, str]:
    """(cause, why, hint) for a package whose version differs from the expected one."""
    how = _overridden(node, name)
    if how:
        return ("override", "%s on this node" % " and ".join(how),
                "remove the manual override (`rpm-ostree override reset %s`, or `rpm-ostree uninstall` for a "
                "layered request) and reboot; the MCO then applies the release's package" % name)
    if node.ctx.rollout_pending:
        return ("rollout", "the node is still on its previous rendered config%s"
                % ((" (" + node.ctx.rollout + ")") if node.ctx.rollout else ""),
                "wait for the pool's rollout to reach this node (`kubectl kata status --watch`)")
    if node.staged:
        return ("staged", "a staged deployment is waiting for a reboot",
                "let the MCO reboot the node (or reboot it once drained) to boot the staged deployment")
    img_same = image_matches(node)
    if img_same is False:
        return ("old-image", "the node's booted OS image is not the release's (see node.os-image), and its "
                "layered packages came with that image",
                "nothing to reset on the node: the MCO brings the release's packages with the OS update; "
                "check node.os-image and the node's machineconfiguration.openshift.io/state")
    return ("unknown", "no override, pending rollout, staged deployment or older OS image explains it%s"
            % ("" if img_same else " (the booted OS image could not be compared)"),
            "compare `rpm-ostree status` of this node with a healthy one and check which extensions image the "
            "expectation came from; do not reset packages the MCO installed")


def package_version(node: CheckedNode) -> None:
    cid = "node.package-version"
    if not node.kata:
        return
    if not node.expected:
        node.add(cid, INFO, "no expected package set for this node (extensions repo not read); "
                 "installed versions not compared", "pass the release's extensions repo (or compare nodes) "
                 "to check versions", installed=str(node.kata))
        return
    unknown: List[str] = []
    alternatives: Dict[str, List[str]] = {}
    compared = 0
    problems = False
    for name in sorted(node.expected):
        exp = node.expected[name]
        if exp is None:
            unknown.append(name)
            continue
        inst = node.installed(name, exp.arch)
        if inst is None:
            alt = node.installed_kata_closure().alternatives.get(name) \
                if not node.missing("rpm-requires") and not node.missing("rpm-provides") else None
            if alt:
                alternatives[name] = alt
                continue
            problems = True
            node.add(cid, ERROR, "%s is not installed (expected %s)" % (name, exp),
                     "re-apply the extension so rpm-ostree installs the release's package set", package=name,
                     expected=str(exp), installed=None)
            continue
        compared += 1
        rc = compare_evr(inst.evr, exp.evr)
        if rc == 0 and inst.arch == exp.arch:
            continue
        problems = True
        direction = "newer" if rc > 0 else ("older" if rc < 0 else "arch")
        if rc == 0:
            what = "has arch %s, expected %s" % (inst.arch, exp.arch)
        else:
            what = "is %s than expected %s" % (direction, exp.evr)
        cause, why, hint = _drift_cause(node, name, direction)
        node.add(cid, ERROR if cause in ("override", "unknown") else WARNING, "%s %s" % (inst, what),
                 "%s: %s" % (why, hint), package=name, expected=str(exp), installed=str(inst),
                 direction=direction, cause=cause, why=why)
    if unknown:
        node.add(cid, INFO, "expected version unknown for %s; not compared" % fmt_list(unknown),
                 "nodes disagree or the repo lacks them; compare with `rpm -q` across nodes", packages=unknown)
    if not problems and (compared or alternatives):
        node.add(cid, OK, "%d package(s) match the expected versions (kata-containers %s)%s"
                 % (compared, node.kata.evr, "; %s" % "; ".join(
                     "%s not installed, its requirement met by %s" % (n, ", ".join(v))
                     for n, v in sorted(alternatives.items())) if alternatives else ""),
                 compared=compared, alternatives=alternatives)


def closure_complete(node: CheckedNode) -> None:
    cid = "node.closure-complete"
    if not node.kata or node.missing("rpm-requires") or node.missing("rpm-provides"):
        return
    clos = node.installed_kata_closure()
    pkgs = [str(p.nevra) for p in clos.packages.values()]
    if node.missing("rpm-file-provides"):
        # without the file-owner list, path requirements (/bin/sh) cannot be judged: not a finding
        clos.unsatisfied = [u for u in clos.unsatisfied if not u.requirement.startswith("/")]
    if clos.unsatisfied:
        unsat = ["%s requires %s (%s)" % (u.package, u.requirement, u.reason) for u in clos.unsatisfied]
        node.add(cid, ERROR, "kata-containers dependency closure is incomplete: %s"
                 % fmt_list(["%s needs %s" % (u.package.rsplit("-", 2)[0], u.requirement)
                              for u in clos.unsatisfied], 4),
                 "re-apply the extension (MCO) so rpm-ostree installs the missing packages; do not install "
                 "them by hand", unsatisfied=[u.to_dict() for u in clos.unsatisfied], closure=pkgs,
                 summary=unsat)
    else:
        node.add(cid, OK, "kata-containers closure complete (%d packages, every requirement satisfied)"
                 % len(pkgs), closure=pkgs)


def rpm_verify(node: CheckedNode) -> None:
    cid = "node.rpm-verify"
    v = node.facts.verify
    if v is None or not node.kata:
        return
    config = [e for e in v.entries if e.path.startswith("/etc/") and not e.missing]
    bad = [e for e in v.entries if e not in config]
    if bad:
        node.add(cid, ERROR, "installed files differ from the RPMs: %s"
                 % fmt_list(["%s %s" % (e.flags, e.path) for e in bad], 4),
                 "a modified kata/QEMU binary is unsupported: re-deploy the node's OS image and attach the "
                 "`rpm -V` output to a support case", entries=[e.to_dict() for e in bad])
    if config:
        node.add(cid, INFO, "configuration files changed locally: %s" % fmt_list(e.path for e in config),
                 "expected if you customised them; `rpm -V kata-containers` on the node shows the details",
                 entries=[e.to_dict() for e in config])
    if not bad and not config:
        node.add(cid, OK, "rpm -V reports no changes to kata-containers and QEMU files")
