"""Per-node diagnosis: :class:`NodeFacts` (+ expected package set + cluster context) -> findings.

Pure: no I/O. Every check in ``findings.NODE_CHECKS`` is implemented here; each emits at least one
finding (``ok`` when it passes) unless the data it needs was not collected -- then
``node.collection`` names the skipped checks instead. When kata-containers is not installed on the
booted deployment, the checks that inspect an installed kata (package versions, closure, rpm -V,
binaries, QEMU path, initrd) are skipped and ``node.extension-requested`` says why.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Dict, FrozenSet, Iterable, List, Mapping, Optional, Tuple

from kubectl_kata.core.closure import installed_closure
from kubectl_kata.core.nodefacts import NodeFacts
from kubectl_kata.core.parse.nodefiles import KATA_TABLE
from kubectl_kata.core.parse.rpm_ostree import image_digest, strip_transport
from kubectl_kata.core.rpm import NEVRA, compare_evr, rpmvercmp
from kubectl_kata.core.support import parse_ocp_version, qemu_binary_for, supported_extensions
from kubectl_kata.doctor.findings import ERROR, INFO, OK, WARNING, Finding

__all__ = ["NodeContext", "check_node", "consensus_expected", "Consensus", "EXTENSION_PACKAGES",
           "LEGACY_PACKAGES", "KATA_PACKAGE"]

KATA_PACKAGE = "kata-containers"
SHIM_PATH = "/usr/bin/containerd-shim-kata-v2"
DEFAULT_KERNEL = "/var/cache/kata-containers/vmlinuz.container"
DEFAULT_INITRD = "/var/cache/kata-containers/kata-containers-initrd.img"
OSBUILDER_DIR = "/var/cache/kata-containers/osbuilder-images/"
LEGACY_CRIO_CONF = "/etc/crio/crio.conf.d/50-kata.conf"
CRIO_DROPIN = "/etc/crio/crio.conf.d/50-kata"

# MCO extension name -> RPM packages it layers (DOMAIN 1.1)
EXTENSION_PACKAGES = {
    "usbguard": ("usbguard",),
    "kernel-devel": ("kernel-devel", "kernel-headers"),
    "sandboxed-containers": (KATA_PACKAGE,),
    "kerberos": ("krb5-workstation", "libkadm5"),
    "wasm": ("crun-wasm",),
    "ipsec": ("NetworkManager-libreswan", "libreswan", "openvswitch3.5-ipsec"),
    "sysstat": ("sysstat",),
    "two-node-ha": ("pacemaker", "pcs", "fence-agents-all"),
}

# kata-operator (OCP 4.6/4.7) payload packages and what kata-containers Conflicts with (DOMAIN 4.5, 5)
LEGACY_PACKAGES = ("kata-runtime", "kata-osbuilder", "kata-agent", "kata-shim", "kata-proxy", "kata-ksm-throttler")

LEGACY_FILES = (
    ("/etc/yum.repos.d/packages.repo", "kata-operator payload repo file"),
    ("/opt/kata-install", "kata-operator payload directory"),
    ("/usr/local/kata", "kata-operator unpacked payload"),
    ("/etc/systemd/system/kata-osbuilder-generate.service", "kata-operator 'Hacky service' unit override"),
)

# raw probe key -> checks that cannot run without it (for node.collection)
KEY_CHECKS = {
    "rpm-ostree-status": ("node.extension-requested", "node.staged-deployment", "node.unexpected-layered",
                          "node.os-image"),
    "rpm-qa": ("node.extension-requested", "node.package-version", "node.closure-complete", "node.binary-version",
               "node.rpm-verify", "node.qemu-path", "node.initrd"),
    "rpm-provides": ("node.closure-complete",),
    "rpm-requires": ("node.closure-complete",),
    "rpm-file-provides": ("node.closure-complete",),
    "rpm-V": ("node.rpm-verify",),
    "kata-runtime-version": ("node.binary-version",),
    "shim-version": ("node.binary-version",),
    "kata-monitor-version": ("node.binary-version",),
    "kata-env": ("node.qemu-path", "node.initrd"),
    "paths": ("node.binary-version", "node.qemu-path", "node.crio-dropin", "node.dev-kvm", "node.initrd",
              "node.legacy-leftovers"),
    "crio-50-kata": ("node.crio-dropin",),
    "crio-50-kata.conf": ("node.crio-dropin",),
    "cpu-flags": ("node.dev-kvm",),
    "osbuilder-unit": ("node.initrd",),
    "osbuilder-images": ("node.initrd",),
    "uname-r": ("node.initrd",),
}

_MAX_LIST = 8


# MachineConfig kernelType -> what the MCD layers for it (MCO pkg/daemon/update.go, the kernel switch; DOMAIN
# 12.1): it removes the default kernel packages from the base and installs the variant's packages
KERNEL_TYPE_INSTALLS = {
    "realtime": ("kernel-rt-core", "kernel-rt-modules", "kernel-rt-modules-extra", "kernel-rt-modules-core",
                 "kernel-rt-kvm"),
    "64k-pages": ("kernel-64k-core", "kernel-64k-modules", "kernel-64k-modules-extra", "kernel-64k-modules-core"),
}
DEFAULT_KERNEL_PACKAGES = ("kernel", "kernel-core", "kernel-modules", "kernel-modules-extra",
                           "kernel-modules-core")
KERNEL_VARIANT_PREFIXES = ("kernel-rt-", "kernel-64k-")


@dataclass
class NodeContext:
    """What the cluster side knows about the node.

    release: OCP ``x.y`` (or ``x.y.z``) of the cluster; picks the QEMU path and the allow-list.
    os_image_url: the ``spec.osImageURL`` of the rendered MachineConfig the node is on (its currentConfig).
    current_image: the node's ``machineconfiguration.openshift.io/currentImage`` annotation, where the release
    sets it (the image the MCO recorded as applied).
    extension_requested: whether the pool's *target* rendered config (``spec.configuration.name``) requests
    ``sandboxed-containers`` (None = unknown).
    base_packages: names of base-OS packages, when known from the cluster side (else the node's own facts).
    allowed_packages: extra layered package names the admin accepts (never flagged).
    rendered_extensions / kernel_types: ``spec.extensions`` and ``spec.kernelType`` of the node's current and
    the pool's target rendered configs (None = unknown): what the MCO itself layers, never drift.
    rollout_pending: the node's currentConfig differs from the pool's target (the node waits or is updating);
    rollout: how far the pool's rollout is, e.g. "1 of 3 nodes updated to rendered-kata-oc-..." (for messages).
    """

    release: Optional[str] = None
    os_image_url: Optional[str] = None
    extension_requested: Optional[bool] = None
    base_packages: Optional[FrozenSet[str]] = None
    allowed_packages: FrozenSet[str] = field(default_factory=frozenset)
    current_image: Optional[str] = None
    rendered_extensions: Optional[FrozenSet[str]] = None
    kernel_types: Optional[FrozenSet[str]] = None
    rollout_pending: Optional[bool] = None
    rollout: str = ""

    @classmethod
    def coerce(cls, ctx: Any) -> "NodeContext":
        if ctx is None:
            return cls()
        if isinstance(ctx, cls):
            return ctx
        if isinstance(ctx, Mapping):
            base = ctx.get("base_packages")
            exts = ctx.get("rendered_extensions")
            kts = ctx.get("kernel_types")
            return cls(release=ctx.get("release"), os_image_url=ctx.get("os_image_url"),
                       extension_requested=ctx.get("extension_requested"),
                       base_packages=frozenset(base) if base is not None else None,
                       allowed_packages=frozenset(ctx.get("allowed_packages") or ()),
                       current_image=ctx.get("current_image"),
                       rendered_extensions=frozenset(exts) if exts is not None else None,
                       kernel_types=frozenset(kts) if kts is not None else None,
                       rollout_pending=ctx.get("rollout_pending"), rollout=str(ctx.get("rollout") or ""))
        raise TypeError("context must be a NodeContext or a mapping, got %s" % type(ctx).__name__)


def _fmt_list(items: Iterable[str], limit: int = _MAX_LIST) -> str:
    items = list(items)
    if len(items) <= limit:
        return ", ".join(items)
    return ", ".join(items[:limit]) + " (+%d more)" % (len(items) - limit)


class _Checker:
    def __init__(self, node: str, facts: NodeFacts, expected: Optional[Mapping[str, Optional[NEVRA]]],
                 ctx: NodeContext):
        self.node = node
        self.facts = facts
        self.expected = expected
        self.ctx = ctx
        self.out: List[Finding] = []
        self.release_mm: Optional[Tuple[int, int]] = None
        if ctx.release:
            try:
                v = parse_ocp_version(ctx.release)
                self.release_mm = (v[0], v[1])
            except ValueError:
                self.release_mm = None
        rs = facts.rpm_ostree
        self.booted = rs.booted if rs is not None else None
        self.staged = rs.staged if rs is not None else []
        self.kata = self._installed(KATA_PACKAGE)
        self._closure = None

    def add(self, check_id: str, severity: str, message: str, hint: str = "", **details: Any) -> None:
        self.out.append(Finding(check_id, severity, self.node, message, hint, details))

    def _installed(self, name: str, arch: Optional[str] = None) -> Optional[NEVRA]:
        cands = self.facts.installed(name)
        if arch:
            same = [p for p in cands if p.arch == arch]
            cands = same or cands
        if not cands:
            return None
        best = cands[0]
        for p in cands[1:]:
            if compare_evr(p.evr, best.evr) > 0:
                best = p
        return best

    def missing(self, key: str) -> bool:
        return key in self.facts.errors

    @property
    def kata_installed(self) -> Optional[bool]:
        if self.facts.packages is None:
            return None
        return self.kata is not None

    # ------------------------------------------------------------------ node.collection
    def collection(self) -> None:
        errors = self.facts.errors
        if "*" in errors:
            self.add("node.collection", ERROR, "no probe output for the node: %s" % errors["*"],
                     "check `oc debug node/%s -- chroot /host true` works, then re-run doctor" % self.node,
                     errors=dict(errors))
            return
        if errors:
            skipped = sorted({c for k in errors for c in KEY_CHECKS.get(k, ())})
            self.add("node.collection", WARNING,
                     "%d probe output(s) missing or unreadable: %s" % (len(errors), _fmt_list(sorted(errors))),
                     "re-run `kubectl kata doctor` for this node with -v; a truncated collection usually means the "
                     "debug pod was killed or timed out (try a longer --timeout)",
                     errors=dict(errors), skipped_checks=skipped)
        elif self.facts.warnings:
            self.add("node.collection", INFO,
                     "%d probe output line(s) could not be parsed and were skipped" % len(self.facts.warnings),
                     "attach `kubectl kata doctor -o json` output to a bug report for kubectl-kata",
                     warnings=list(self.facts.warnings))
        else:
            self.add("node.collection", OK, "all probe outputs collected and parsed")

    # ------------------------------------------------------------------ node.extension-requested
    def extension_requested(self) -> None:
        cid = "node.extension-requested"
        if self.facts.rpm_ostree is None:
            return
        if self.booted is None:
            self.add(cid, ERROR, "rpm-ostree status lists no booted deployment",
                     "run `rpm-ostree status` on the node and open a case with its output",
                     deployments=[d.id for d in self.facts.rpm_ostree.deployments])
            return
        requested = KATA_PACKAGE in self.booted.requested_packages
        staged_has = [d.id for d in self.staged if KATA_PACKAGE in d.requested_packages]
        installed = self.kata_installed
        skipped = ["node.package-version", "node.closure-complete", "node.rpm-verify", "node.binary-version",
                   "node.qemu-path", "node.initrd"]
        details = {"booted": self.booted.id, "requested_packages": list(self.booted.requested_packages),
                   "installed": str(self.kata) if self.kata else None}
        progress = (" (%s)" % self.ctx.rollout) if self.ctx.rollout else ""
        if self.ctx.rollout_pending and self.ctx.extension_requested is True and not requested and not staged_has:
            details["skipped_checks"] = [] if installed else skipped
            self.add(cid, INFO, "pending: waiting for the rollout; the pool's target rendered config requests the "
                     "sandboxed-containers extension and this node has not been updated yet%s" % progress,
                     "follow the rollout with `kubectl kata status --watch`", pending=True, **details)
            return
        if self.ctx.rollout_pending and self.ctx.extension_requested is False and (requested or installed):
            self.add(cid, INFO, "pending: waiting for the rollout; the pool's target rendered config no longer "
                     "requests the extension and this node has not been updated yet%s" % progress,
                     "follow the rollout with `kubectl kata status --watch`", pending=True, **details)
            return
        if self.ctx.extension_requested is False:
            msg = "the pool's MachineConfigs do not request the sandboxed-containers extension"
            if not requested and not installed:
                msg += "; kata-containers is not installed (kata checks skipped)"
                details["skipped_checks"] = skipped
            self.add(cid, INFO, msg,
                     "enable it with `kubectl kata enable` if this node should run kata pods", **details)
            return
        pool = "the pool requests it, but " if self.ctx.extension_requested else ""
        if requested and installed is not False:
            self.add(cid, OK, "booted deployment requests kata-containers%s"
                     % ((" and %s is installed" % self.kata) if self.kata else ""), **details)
        elif requested:
            details["skipped_checks"] = skipped
            self.add(cid, ERROR, "booted deployment requests kata-containers but the rpm database does not have it",
                     "the extension was not applied (OCPBUGS-65645); check the node's "
                     "machineconfiguration.openshift.io/reason and re-trigger the MCO update", **details)
        elif staged_has:
            details["staged"] = staged_has
            details["skipped_checks"] = [] if installed else skipped
            self.add(cid, WARNING, "%skata-containers is only in the staged deployment; the node has not "
                     "rebooted into it yet" % pool,
                     "let the MCO drain and reboot the node (check PodDisruptionBudgets if it is stuck)", **details)
        elif installed:
            self.add(cid, WARNING, "%skata-containers %s is installed but not requested as a layered package "
                     "(part of the OS image or a local install)" % (pool, self.kata),
                     "check the pool's osImageURL and `rpm-ostree status` requested-local-packages", **details)
        else:
            details["skipped_checks"] = skipped if installed is False else []
            self.add(cid, ERROR, "%sthe booted deployment does not request kata-containers" % pool,
                     "check the pool's rendered MachineConfig has extensions: [sandboxed-containers] and the "
                     "node state is Done (`oc describe node %s`)" % self.node, **details)

    # ------------------------------------------------------------------ node.staged-deployment
    def staged_deployment(self) -> None:
        cid = "node.staged-deployment"
        rs = self.facts.rpm_ostree
        if rs is None:
            return
        if self.staged:
            d = self.staged[0]
            if self.ctx.rollout_pending:   # the pool's rollout is updating this node: the MCO staged it
                msg, hint = ("staged deployment %s pending: the MCO is updating this node to the pool's target and "
                             "reboots it next%s" % (d.version or d.id, (" (%s)" % self.ctx.rollout)
                                                    if self.ctx.rollout else ""),
                             "let the MCO drain and reboot the node (check PodDisruptionBudgets if it is stuck)")
            else:
                msg, hint = ("staged deployment %s pending: the node will change at its next reboot"
                             % (d.version or d.id),
                             "if the MCO is updating the node, wait for it to reboot; otherwise inspect with "
                             "`rpm-ostree status` and drop a manual change with `rpm-ostree cleanup -p`")
            self.add(cid, WARNING, msg, hint,
                     staged=[{"id": s.id, "version": s.version, "requested_packages": s.requested_packages,
                              "image": s.image_reference} for s in self.staged])
        elif rs.transaction:
            self.add(cid, WARNING, "an rpm-ostree transaction is in progress: %s" % rs.transaction,
                     "wait for it to finish (`rpm-ostree status`), then re-run doctor", transaction=rs.transaction)
        else:
            self.add(cid, OK, "no staged deployment; nothing pending a reboot")

    # ------------------------------------------------------------------ node.unexpected-layered
    def allowed_packages(self) -> FrozenSet[str]:
        """Layered packages the MCO manages for this node: the extensions (and kernelType packages) of its
        rendered configs when known, else every package of an extension the release accepts."""
        pkgs = set(self.ctx.allowed_packages)
        if self.ctx.rendered_extensions is not None:
            # an extension name the MCO does not map is passed to rpm-ostree as the package name (FCOS/OKD,
            # DOMAIN 1.1)
            for n in self.ctx.rendered_extensions:
                pkgs.update(EXTENSION_PACKAGES.get(n, (n,)))
        else:
            names = set(supported_extensions(self.release_mm)) if self.release_mm is not None \
                else set(EXTENSION_PACKAGES)
            for n in names:
                pkgs.update(EXTENSION_PACKAGES.get(n, ()))
        for kt in self.ctx.kernel_types or ():
            pkgs.update(KERNEL_TYPE_INSTALLS.get(kt, ()))
        return frozenset(pkgs)

    def managed_removals(self) -> FrozenSet[str]:
        """Base packages the MCO itself removes (the default kernel, for a realtime / 64k-pages kernelType)."""
        if any(kt in KERNEL_TYPE_INSTALLS for kt in self.ctx.kernel_types or ()):
            return frozenset(DEFAULT_KERNEL_PACKAGES)
        return frozenset()

    def unexpected_layered(self) -> None:
        cid = "node.unexpected-layered"
        if self.booted is None:
            return
        allowed = self.allowed_packages()
        removals_ok = self.managed_removals()
        requested = list(self.booted.requested_packages)
        kernel_unknown = self.ctx.kernel_types is None

        def known(name: str) -> bool:   # "libreswan-4.6-3.el9_0.3" style pins map to their name
            return name in allowed or any(name.startswith(a + "-") and name[len(a) + 1:][:1].isdigit()
                                          for a in allowed)

        def kernel_variant(name: str) -> bool:
            return name.startswith(KERNEL_VARIANT_PREFIXES)
        legacy = [p for p in requested if p in LEGACY_PACKAGES]
        unrequested_kata = (KATA_PACKAGE in requested and self.ctx.extension_requested is False
                            and not self.ctx.rollout_pending)
        unknown = [p for p in requested if p not in LEGACY_PACKAGES and not known(p)
                   and not (kernel_unknown and kernel_variant(p))]
        local = list(self.booted.requested_local_packages)
        removals = list(self.booted.requested_base_removals)
        replacements = list(self.booted.base_local_replacements)
        bad_removals = [r for r in removals if r not in removals_ok
                        and not (kernel_unknown and r in DEFAULT_KERNEL_PACKAGES)]
        undecided = sorted({p for p in requested if kernel_unknown and kernel_variant(p) and not known(p)}
                           | {r for r in removals if kernel_unknown and r in DEFAULT_KERNEL_PACKAGES
                              and r not in removals_ok})
        found = False
        if legacy:
            found = True
            self.add(cid, ERROR, "legacy kata-operator packages layered: %s" % _fmt_list(legacy),
                     "remove them: `rpm-ostree uninstall %s` on the node (or `kubectl kata upgrade`), then reboot"
                     % " ".join(legacy), packages=legacy)
        if unrequested_kata:
            found = True
            self.add(cid, ERROR, "kata-containers is layered but no MachineConfig of the pool requests the extension",
                     "either enable the extension (`kubectl kata enable`) or `rpm-ostree uninstall kata-containers` "
                     "and reboot; manual installs conflict with the MCO", packages=[KATA_PACKAGE])
        if unknown:
            found = True
            self.add(cid, WARNING, "layered packages the MCO does not manage: %s" % _fmt_list(unknown),
                     "remove them (`rpm-ostree uninstall %s`) or they show up in mcd_local_unsupported_packages "
                     "and can block updates" % " ".join(unknown), packages=unknown)
        if local or bad_removals or replacements:
            found = True
            self.add(cid, WARNING, "local packages or base overrides on the node: %s"
                     % _fmt_list(local + bad_removals + replacements),
                     "undo them with `rpm-ostree uninstall` / `rpm-ostree override reset %s` and reboot"
                     % " ".join(bad_removals + [r.rsplit("-", 2)[0] for r in replacements]) if
                     (bad_removals or replacements) else "undo them with `rpm-ostree uninstall` and reboot",
                     local_packages=local, overrides=bad_removals + replacements)
        if undecided:
            found = True
            self.add(cid, INFO, "kernel packages swapped on the node (%s); the pool's rendered kernelType is unknown, "
                     "so whether the MCO asked for them was not checked" % _fmt_list(undecided), "",
                     packages=undecided)
        if not found:
            managed = [p for p in requested if known(p)] + [r for r in removals if r in removals_ok]
            self.add(cid, OK, "no unexpected layered packages (%s)" % (_fmt_list(requested) or "none layered"),
                     requested_packages=requested, managed=managed,
                     kernel_types=sorted(self.ctx.kernel_types or ()))

    # ------------------------------------------------------------------ node.package-version
    def base_packages(self) -> Optional[FrozenSet[str]]:
        if self.ctx.base_packages is not None:
            return self.ctx.base_packages
        return self.facts.base_packages

    def installed_kata_closure(self):
        if self._closure is None:
            self._closure = installed_closure(self.facts.package_index(), base=self.base_packages())
        return self._closure

    def _overridden(self, name: str) -> List[str]:
        """How the booted deployment overrides ``name`` by hand (empty: it does not)."""
        b = self.booted
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

    def _drift_cause(self, name: str, direction: str) -> Tuple[str, str, str]:
        """(cause, why, hint) for a package whose version differs from the expected one."""
        how = self._overridden(name)
        if how:
            return ("override", "%s on this node" % " and ".join(how),
                    "remove the manual override (`rpm-ostree override reset %s`, or `rpm-ostree uninstall` for a "
                    "layered request) and reboot; the MCO then applies the release's package" % name)
        if self.ctx.rollout_pending:
            return ("rollout", "the node is still on its previous rendered config%s"
                    % ((" (" + self.ctx.rollout + ")") if self.ctx.rollout else ""),
                    "wait for the pool's rollout to reach this node (`kubectl kata status --watch`)")
        if self.staged:
            return ("staged", "a staged deployment is waiting for a reboot",
                    "let the MCO reboot the node (or reboot it once drained) to boot the staged deployment")
        img_same = self._image_matches()
        if img_same is False:
            return ("old-image", "the node's booted OS image is not the release's (see node.os-image), and its "
                    "layered packages came with that image",
                    "nothing to reset on the node: the MCO brings the release's packages with the OS update; "
                    "check node.os-image and the node's machineconfiguration.openshift.io/state")
        return ("unknown", "no override, pending rollout, staged deployment or older OS image explains it%s"
                % ("" if img_same else " (the booted OS image could not be compared)"),
                "compare `rpm-ostree status` of this node with a healthy one and check which extensions image the "
                "expectation came from; do not reset packages the MCO installed")

    def package_version(self) -> None:
        cid = "node.package-version"
        if not self.kata:
            return
        if not self.expected:
            self.add(cid, INFO, "no expected package set for this node (extensions repo not read); "
                     "installed versions not compared", "pass the release's extensions repo (or compare nodes) "
                     "to check versions", installed=str(self.kata))
            return
        unknown: List[str] = []
        alternatives: Dict[str, List[str]] = {}
        compared = 0
        problems = False
        for name in sorted(self.expected):
            exp = self.expected[name]
            if exp is None:
                unknown.append(name)
                continue
            inst = self._installed(name, exp.arch)
            if inst is None:
                alt = self.installed_kata_closure().alternatives.get(name) \
                    if not self.missing("rpm-requires") and not self.missing("rpm-provides") else None
                if alt:
                    alternatives[name] = alt
                    continue
                problems = True
                self.add(cid, ERROR, "%s is not installed (expected %s)" % (name, exp),
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
            cause, why, hint = self._drift_cause(name, direction)
            self.add(cid, ERROR if cause in ("override", "unknown") else WARNING, "%s %s" % (inst, what),
                     "%s: %s" % (why, hint), package=name, expected=str(exp), installed=str(inst),
                     direction=direction, cause=cause, why=why)
        if unknown:
            self.add(cid, INFO, "expected version unknown for %s; not compared" % _fmt_list(unknown),
                     "nodes disagree or the repo lacks them; compare with `rpm -q` across nodes", packages=unknown)
        if not problems and (compared or alternatives):
            self.add(cid, OK, "%d package(s) match the expected versions (kata-containers %s)%s"
                     % (compared, self.kata.evr, "; %s" % "; ".join(
                         "%s not installed, its requirement met by %s" % (n, ", ".join(v))
                         for n, v in sorted(alternatives.items())) if alternatives else ""),
                     compared=compared, alternatives=alternatives)

    def _image_matches(self) -> Optional[bool]:
        """Does the booted OS image match the node's rendered osImageURL? None when it cannot be told."""
        verdict = self._os_image_verdict()
        return None if verdict[0] == "unknown" else verdict[0] == "same"

    # ------------------------------------------------------------------ node.closure-complete
    def closure_complete(self) -> None:
        cid = "node.closure-complete"
        if not self.kata or self.missing("rpm-requires") or self.missing("rpm-provides"):
            return
        clos = self.installed_kata_closure()
        pkgs = [str(p.nevra) for p in clos.packages.values()]
        if self.missing("rpm-file-provides"):
            # without the file-owner list, path requirements (/bin/sh) cannot be judged: not a finding
            clos.unsatisfied = [u for u in clos.unsatisfied if not u.requirement.startswith("/")]
        if clos.unsatisfied:
            unsat = ["%s requires %s (%s)" % (u.package, u.requirement, u.reason) for u in clos.unsatisfied]
            self.add(cid, ERROR, "kata-containers dependency closure is incomplete: %s"
                     % _fmt_list(["%s needs %s" % (u.package.rsplit("-", 2)[0], u.requirement)
                                  for u in clos.unsatisfied], 4),
                     "re-apply the extension (MCO) so rpm-ostree installs the missing packages; do not install "
                     "them by hand", unsatisfied=[u.to_dict() for u in clos.unsatisfied], closure=pkgs,
                     summary=unsat)
        else:
            self.add(cid, OK, "kata-containers closure complete (%d packages, every requirement satisfied)"
                     % len(pkgs), closure=pkgs)

    # ------------------------------------------------------------------ node.rpm-verify
    def rpm_verify(self) -> None:
        cid = "node.rpm-verify"
        v = self.facts.verify
        if v is None or not self.kata:
            return
        config = [e for e in v.entries if e.path.startswith("/etc/") and not e.missing]
        bad = [e for e in v.entries if e not in config]
        if bad:
            self.add(cid, ERROR, "installed files differ from the RPMs: %s"
                     % _fmt_list(["%s %s" % (e.flags, e.path) for e in bad], 4),
                     "a modified kata/QEMU binary is unsupported: re-deploy the node's OS image and attach the "
                     "`rpm -V` output to a support case", entries=[e.to_dict() for e in bad])
        if config:
            self.add(cid, INFO, "configuration files changed locally: %s" % _fmt_list(e.path for e in config),
                     "expected if you customised them; `rpm -V kata-containers` on the node shows the details",
                     entries=[e.to_dict() for e in config])
        if not bad and not config:
            self.add(cid, OK, "rpm -V reports no changes to kata-containers and QEMU files")

    # ------------------------------------------------------------------ node.binary-version
    def binary_version(self) -> None:
        cid = "node.binary-version"
        if not self.kata:
            return
        f = self.facts
        rpm_ver = self.kata.version
        problems = []
        reported = {}
        for key, path, value in (("kata-runtime-version", "/usr/bin/kata-runtime", f.runtime_version),
                                 ("shim-version", SHIM_PATH, f.shim_version),
                                 ("kata-monitor-version", "/usr/bin/kata-monitor", f.monitor_version)):
            if self.missing(key):
                continue
            if f.path_present(path) is False:
                problems.append((path, "missing"))
                continue
            if key in f.binary_errors:
                problems.append((path, "does not report a version (%s)" % f.binary_errors[key]))
                continue
            if value is None:
                continue
            reported[path] = value.version
            # kata-monitor has its own version number (e.g. 0.3.0); only runtime and shim carry kata's
            if key != "kata-monitor-version" and rpmvercmp(value.version, rpm_ver) != 0:
                problems.append((path, "reports %s but the kata-containers RPM is %s" % (value.version, rpm_ver)))
        for path, why in problems:
            self.add(cid, ERROR, "%s %s" % (path, why),
                     "remove hand-copied kata binaries and re-apply the extension; if the RPM file itself changed "
                     "see node.rpm-verify", path=path, rpm_version=rpm_ver, reported=reported)
        if not problems and reported:
            self.add(cid, OK, "kata binaries present and report %s (RPM %s)" % (
                _fmt_list(sorted(set(v for p, v in reported.items() if not p.endswith("kata-monitor")))), rpm_ver),
                reported=reported, rpm_version=rpm_ver)

    # ------------------------------------------------------------------ node.qemu-path
    def qemu_path(self) -> None:
        cid = "node.qemu-path"
        if not self.kata or self.missing("paths"):
            return
        env_path = self.facts.kata_env.hypervisor_path if self.facts.kata_env else None
        if self.release_mm is None:
            found = [p for p in ("/usr/libexec/qemu-kvm", "/usr/libexec/qemu-kiwi")
                     if self.facts.path_present(p)]
            self.add(cid, INFO, "cluster release unknown; QEMU found at %s, not checked against the release"
                     % (_fmt_list(found) or "no known path"),
                     "pass the cluster version so doctor can check the QEMU path", found=found, kata_uses=env_path)
            return
        want = qemu_binary_for(self.release_mm)
        details = {"expected": want, "kata_uses": env_path, "release": "%d.%d" % self.release_mm}
        ok = True
        if self.facts.path_present(want) is False:
            ok = False
            self.add(cid, ERROR, "QEMU binary %s for OCP %d.%d is missing" % ((want,) + self.release_mm),
                     "the extension's QEMU package is not installed: re-apply the extension (see "
                     "node.closure-complete)", **details)
        if env_path and env_path != want:
            ok = False
            self.add(cid, ERROR, "kata is configured to use %s, expected %s on OCP %d.%d"
                     % ((env_path, want) + self.release_mm),
                     "remove the hypervisor path override from /etc/kata-containers/configuration.toml "
                     "(or its config.d drop-ins)", **details)
        if ok:
            self.add(cid, OK, "QEMU binary %s present%s" % (want, " and used by kata" if env_path else ""),
                     **details)

    # ------------------------------------------------------------------ node.crio-dropin
    def crio_dropin(self) -> None:
        cid = "node.crio-dropin"
        f = self.facts
        legacy_present = f.crio_dropin_legacy is not None or f.path_present(LEGACY_CRIO_CONF) is True
        main = f.crio_dropin
        tables = (main.kata_tables if main else 0) + (f.crio_dropin_legacy.kata_tables if f.crio_dropin_legacy else 0)
        problem = False
        if legacy_present:
            problem = True
            self.add(cid, ERROR, "legacy %s present: CRI-O reads %d [%s] table(s)" % (LEGACY_CRIO_CONF, tables, KATA_TABLE),
                     "delete MachineConfig 50-kata-crio-dropin if it exists, remove %s on the node and restart "
                     "crio" % LEGACY_CRIO_CONF, path=LEGACY_CRIO_CONF, kata_tables=tables)
        if self.kata and not self.missing("crio-50-kata"):
            if main is None:
                problem = True
                self.add(cid, ERROR, "CRI-O drop-in %s is missing" % CRIO_DROPIN,
                         "the kata-containers RPM ships it: check `rpm -V kata-containers` and re-apply the extension",
                         path=CRIO_DROPIN)
            elif main.kata_tables == 0:
                problem = True
                self.add(cid, ERROR, "%s does not declare [%s]" % (CRIO_DROPIN, KATA_TABLE),
                         "restore the file shipped by the kata-containers RPM (see node.rpm-verify)",
                         path=CRIO_DROPIN, tables=main.tables)
            else:
                rp = main.values.get(KATA_TABLE, {}).get("runtime_path")
                if rp != SHIM_PATH:
                    problem = True
                    self.add(cid, ERROR, "%s sets runtime_path=%s, expected %s" % (CRIO_DROPIN, rp, SHIM_PATH),
                             "restore the file shipped by the kata-containers RPM", path=CRIO_DROPIN,
                             runtime_path=rp)
        if not problem and main is not None:
            self.add(cid, OK, "CRI-O drop-in %s declares the kata runtime (%s)" % (CRIO_DROPIN, SHIM_PATH))

    # ------------------------------------------------------------------ node.dev-kvm
    def dev_kvm(self) -> None:
        cid = "node.dev-kvm"
        f = self.facts
        kvm = f.path_present("/dev/kvm")
        if kvm is None:
            return
        arch = f.arch or ""
        wanted = {"x86_64": ("vmx", "svm"), "s390x": ("sie",)}.get(arch)
        flag_ok: Optional[bool] = None
        if wanted and f.cpu_flags is not None:
            flag_ok = any(w in f.cpu_flags for w in wanted)
        details = {"dev_kvm": kvm, "arch": arch, "virt_flags": list(wanted or ()), "cpu_has_flag": flag_ok}
        if not kvm and flag_ok is False:
            self.add(cid, ERROR, "no /dev/kvm and the CPU does not expose %s: this node cannot run kata VMs"
                     % "/".join(wanted or ()),
                     "use bare-metal nodes or enable nested virtualization on the hypervisor; otherwise use "
                     "peer pods (kata-remote)", **details)
        elif not kvm:
            self.add(cid, ERROR, "/dev/kvm is missing", "load the kvm module (`modprobe kvm_intel` / `kvm_amd`) and "
                     "check virtualization is enabled in the firmware", **details)
        elif flag_ok is False:
            self.add(cid, WARNING, "/dev/kvm exists but the CPU flags lack %s" % "/".join(wanted or ()),
                     "check the hypervisor exposes virtualization extensions to this node", **details)
        else:
            self.add(cid, OK, "/dev/kvm present%s" % (" and CPU exposes %s" % "/".join(wanted) if flag_ok else ""),
                     **details)

    # ------------------------------------------------------------------ node.initrd
    def initrd(self) -> None:
        cid = "node.initrd"
        f = self.facts
        if not self.kata:
            return
        unit = f.osbuilder_unit
        env = f.kata_env
        kernel_path = (env.kernel_path if env and env.kernel_path else DEFAULT_KERNEL)
        initrd_path = (env.initrd_path if env and env.initrd_path else DEFAULT_INITRD)
        images = f.osbuilder_images or []
        hint = ("run `systemctl restart kata-osbuilder-generate.service` on the node and check "
                "`journalctl -u kata-osbuilder-generate`")
        problem = False
        if unit is not None:
            active, result = unit.get("ActiveState", ""), unit.get("Result", "")
            if active == "failed" or (result and result != "success"):
                problem = True
                self.add(cid, ERROR, "kata-osbuilder-generate.service failed (ActiveState=%s, Result=%s)"
                         % (active, result), hint, unit=unit)
            elif active == "activating":
                problem = True
                self.add(cid, WARNING, "kata-osbuilder-generate.service is still building the guest image",
                         "wait a minute and re-run doctor", unit=unit)
        missing = []
        for path in (kernel_path, initrd_path):
            present = f.path_present(path)
            if present is None and f.osbuilder_images is not None:
                present = path in images
            if present is False:
                missing.append(path)
        if missing and not problem:
            problem = True
            self.add(cid, ERROR, "guest kernel/initrd missing: %s" % _fmt_list(missing), hint, missing=missing, unit=unit)
        built = sorted({p[len(OSBUILDER_DIR):].split("/", 1)[0] for p in images
                        if p.startswith(OSBUILDER_DIR) and len(p) > len(OSBUILDER_DIR)})
        if not problem and f.kernel and built and f.kernel not in built:
            problem = True
            self.add(cid, WARNING, "guest initrd built for kernel %s but the node runs %s" % (_fmt_list(built), f.kernel),
                     hint, built_for=built, running=f.kernel)
        if not problem and (unit is not None or images):
            self.add(cid, OK, "guest kernel and initrd built for %s" % (f.kernel or "the running kernel"),
                     built_for=built, kernel=kernel_path, initrd=initrd_path)

    # ------------------------------------------------------------------ node.os-image
    def _os_image_verdict(self) -> Tuple[str, str]:
        """("same" | "different" | "unknown", why). Compared as the MCO does: the booted deployment's
        container-image-reference (the pull spec rpm-ostree was given) against the rendered osImageURL. On a
        multi-arch payload the osImageURL digest names a manifest list while rpm-ostree's
        container-image-reference-digest is the per-arch manifest, so that digest only ever confirms a match."""
        b = self.booted
        want_url = self.ctx.os_image_url
        if b is None:
            return "unknown", "no booted deployment"
        if not want_url:
            return "unknown", "rendered osImageURL unknown"
        want = strip_transport(want_url)
        have_ref = b.image_reference
        want_digest = image_digest(want)
        ref_digest = image_digest(have_ref)
        if have_ref and have_ref == want:
            return "same", "booted pull spec is the rendered osImageURL"
        if want_digest and ref_digest and want_digest == ref_digest:
            return "same", "booted pull spec has the rendered osImageURL's digest"
        if want_digest and b.container_image_reference_digest == want_digest:
            return "same", "booted image manifest digest is the rendered osImageURL's"
        cur = self.ctx.current_image
        if cur and strip_transport(cur) == want:
            return "same", "the node's currentImage annotation is the rendered osImageURL"
        if not have_ref:
            return "unknown", "rpm-ostree reports no image reference for the booted deployment"
        if not want_digest or not ref_digest:
            return "unknown", "a tag-only pull spec cannot be compared by digest (%s vs %s)" % (have_ref, want)
        return "different", "booted %s, rendered %s" % (have_ref, want)

    def os_image(self) -> None:
        cid = "node.os-image"
        if self.booted is None:
            return
        have_ref = self.booted.image_reference
        want_url = self.ctx.os_image_url
        if not want_url:
            self.add(cid, INFO, "rendered osImageURL unknown; booted image %s not compared"
                     % (have_ref or self.booted.image_digest), "", booted=have_ref)
            return
        verdict, why = self._os_image_verdict()
        details = {"booted": have_ref, "booted_digest": self.booted.container_image_reference_digest,
                   "rendered": want_url, "current_image": self.ctx.current_image, "why": why}
        if verdict == "same":
            self.add(cid, OK, "booted OS image matches the rendered osImageURL (%s)" % why, **details)
            return
        if verdict == "unknown":
            self.add(cid, INFO, "booted OS image not compared with the rendered osImageURL: %s" % why, "",
                     **details)
            return
        want = strip_transport(want_url)
        want_digest = image_digest(want)
        staged_match = [d.id for d in self.staged
                        if d.image_reference == want or (want_digest and image_digest(d.image_reference) == want_digest)
                        or (want_digest and d.container_image_reference_digest == want_digest)]
        if staged_match:
            self.add(cid, WARNING, "booted OS image %s differs from the rendered one; the staged deployment has it "
                     "(reboot pending)" % have_ref, "let the MCO reboot the node", staged=staged_match,
                     **details)
        elif self.ctx.rollout_pending:
            self.add(cid, INFO, "booted OS image %s is not yet the pool's: pending, waiting for the rollout%s"
                     % (have_ref, (" (" + self.ctx.rollout + ")") if self.ctx.rollout else ""),
                     "follow it with `kubectl kata status --watch`", **details)
        else:
            self.add(cid, ERROR, "booted OS image %s is not the rendered osImageURL %s" % (have_ref, want),
                     "check the node's machineconfiguration.openshift.io/state and reason; the MCO has not updated "
                     "this node's OS (`oc describe node %s`)" % self.node, **details)

    # ------------------------------------------------------------------ node.legacy-leftovers
    def legacy_leftovers(self) -> None:
        cid = "node.legacy-leftovers"
        if self.missing("paths"):
            return
        found = [(p, what) for p, what in LEGACY_FILES if self.facts.path_present(p)]
        if found:
            self.add(cid, WARNING, "legacy kata-operator leftovers on the node: %s" % _fmt_list(p for p, _ in found),
                     "remove them on the node (`rm -rf %s`) and delete MC 50-kata-crio-dropin if present"
                     % " ".join(p for p, _ in found), files=[{"path": p, "what": w} for p, w in found])
        else:
            self.add(cid, OK, "no legacy kata-operator leftovers")

    def run(self) -> List[Finding]:
        self.collection()
        self.extension_requested()
        self.staged_deployment()
        self.unexpected_layered()
        self.package_version()
        self.closure_complete()
        self.rpm_verify()
        self.binary_version()
        self.qemu_path()
        self.crio_dropin()
        self.dev_kvm()
        self.initrd()
        self.os_image()
        self.legacy_leftovers()
        return self.out


def check_node(node_name: str, facts: NodeFacts, expected: Optional[Mapping[str, Optional[NEVRA]]] = None,
               context: Any = None) -> List[Finding]:
    """Run every node check. ``expected`` maps package name -> NEVRA (None = unknown: not compared)."""
    return _Checker(node_name, facts, expected, NodeContext.coerce(context)).run()


class Consensus(dict):
    """``{name: NEVRA or None}``; ``ties`` maps names whose top NEVRAs tie to {nevra: [nodes]};
    ``base_unknown`` maps nodes whose base OS package set is unknown to why."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.ties: Dict[str, Dict[str, List[str]]] = {}
        self.base_unknown: Dict[str, str] = {}


def _layered_names(facts: NodeFacts, base: Optional[FrozenSet[str]]) -> Optional[FrozenSet[str]]:
    """Names of the kata closure packages that are not part of the node's base OS image (None = unknown)."""
    if base is None:
        return None
    clos = installed_closure(facts.package_index(), base=base)
    return frozenset(clos.packages)


def consensus_expected(facts_by_node: Mapping[str, NodeFacts],
                       base: Optional[Iterable[str]] = None) -> Consensus:
    """Majority NEVRA per package the extension layers, across nodes (plurality with a unique winner).

    Only the extension's own packages and the closure they pull in beyond the base OS image are compared: base
    packages (glibc, kernel, bash...) follow the OS image, and a pool in the middle of an OS update legitimately
    has two versions of them. The base set comes from ``base`` or each node's own facts; a node whose base set is
    unknown only votes on the packages other nodes showed to be layered (or, when no node knows its base, on
    kata-containers itself) -- its other packages are ``unknown``, never "expected".

    Only nodes with kata-containers installed vote. A tie yields ``None`` for that package (and an
    entry in ``.ties``) -- doctor must not guess which side is right.
    """
    votes: Dict[str, Counter] = {}
    voters: Dict[str, Dict[NEVRA, List[str]]] = {}
    given = frozenset(base) if base is not None else None
    result = Consensus()
    layered: Dict[str, FrozenSet[str]] = {}
    unknown_nodes: List[str] = []
    for node in sorted(facts_by_node):
        facts = facts_by_node[node]
        if not facts.installed(KATA_PACKAGE):
            continue
        names = _layered_names(facts, given if given is not None else facts.base_packages)
        if names is None:
            unknown_nodes.append(node)
            result.base_unknown[node] = facts.base_unknown_reason or "base OS package set not collected"
        else:
            layered[node] = names
    known_layered = frozenset().union(*layered.values()) if layered else frozenset({KATA_PACKAGE})
    for node in sorted(layered) + unknown_nodes:
        facts = facts_by_node[node]
        names = layered.get(node, known_layered)
        for name in sorted(names):
            inst = [p for p in facts.installed(name)]
            if not inst:
                continue
            best = inst[0]
            for p in inst[1:]:
                if compare_evr(p.evr, best.evr) > 0:
                    best = p
            votes.setdefault(name, Counter())[best] += 1
            voters.setdefault(name, {}).setdefault(best, []).append(node)
    for name in sorted(votes):
        ranked = votes[name].most_common()
        top = ranked[0][1]
        winners = [n for n, c in ranked if c == top]
        if len(winners) == 1:
            result[name] = winners[0]
        else:
            result[name] = None
            result.ties[name] = {str(n): voters[name][n] for n in sorted(winners, key=str)}
    return result
