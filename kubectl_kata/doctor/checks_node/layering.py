"""``node.unexpected-layered``: packages layered, removed or replaced on the booted deployment that the MCO did
not put there. The MCO layers the packages of the rendered config's extensions and kernelType (DOMAIN 1.1,
12.1); anything else (legacy kata-operator packages, a hand-installed kata, local RPMs, base overrides) is
drift."""
from __future__ import annotations

from typing import FrozenSet

from kubectl_kata.core.support import supported_extensions
from kubectl_kata.doctor.checks_node.legacy import LEGACY_PACKAGES
from kubectl_kata.doctor.checks_node.state import KATA_PACKAGE, CheckedNode, fmt_list
from kubectl_kata.doctor.findings import ERROR, INFO, OK, WARNING

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


def allowed_packages(node: CheckedNode) -> FrozenSet[str]:
    """Layered packages the MCO manages for this node: the extensions (and kernelType packages) of its
    rendered configs when known, else every package of an extension the release accepts."""
    pkgs = set(node.ctx.allowed_packages)
    if node.ctx.rendered_extensions is not None:
        # an extension name the MCO does not map is passed to rpm-ostree as the package name (FCOS/OKD,
        # DOMAIN 1.1)
        for n in node.ctx.rendered_extensions:
            pkgs.update(EXTENSION_PACKAGES.get(n, (n,)))
    else:
        names = set(supported_extensions(node.release_mm)) if node.release_mm is not None \
            else set(EXTENSION_PACKAGES)
        for n in names:
            pkgs.update(EXTENSION_PACKAGES.get(n, ()))
    for kt in node.ctx.kernel_types or ():
        pkgs.update(KERNEL_TYPE_INSTALLS.get(kt, ()))
    return frozenset(pkgs)


def managed_removals(node: CheckedNode) -> FrozenSet[str]:
    """Base packages the MCO itself removes (the default kernel, for a realtime / 64k-pages kernelType)."""
    if any(kt in KERNEL_TYPE_INSTALLS for kt in node.ctx.kernel_types or ()):
        return frozenset(DEFAULT_KERNEL_PACKAGES)
    return frozenset()


def unexpected_layered(node: CheckedNode) -> None:
    cid = "node.unexpected-layered"
    if node.booted is None:
        return
    allowed = allowed_packages(node)
    removals_ok = managed_removals(node)
    requested = list(node.booted.requested_packages)
    kernel_unknown = node.ctx.kernel_types is None

    def known(name: str) -> bool:   # "libreswan-4.6-3.el9_0.3" style pins map to their name
        return name in allowed or any(name.startswith(a + "-") and name[len(a) + 1:][:1].isdigit()
                                      for a in allowed)

    def kernel_variant(name: str) -> bool:
        return name.startswith(KERNEL_VARIANT_PREFIXES)
    legacy = [p for p in requested if p in LEGACY_PACKAGES]
    unrequested_kata = (KATA_PACKAGE in requested and node.ctx.extension_requested is False
                        and not node.ctx.rollout_pending)
    unknown = [p for p in requested if p not in LEGACY_PACKAGES and not known(p)
               and not (kernel_unknown and kernel_variant(p))]
    local = list(node.booted.requested_local_packages)
    removals = list(node.booted.requested_base_removals)
    replacements = list(node.booted.base_local_replacements)
    bad_removals = [r for r in removals if r not in removals_ok
                    and not (kernel_unknown and r in DEFAULT_KERNEL_PACKAGES)]
    undecided = sorted({p for p in requested if kernel_unknown and kernel_variant(p) and not known(p)}
                       | {r for r in removals if kernel_unknown and r in DEFAULT_KERNEL_PACKAGES
                          and r not in removals_ok})
    found = False
    if legacy:
        found = True
        node.add(cid, ERROR, "legacy kata-operator packages layered: %s" % fmt_list(legacy),
                 "remove them: `rpm-ostree uninstall %s` on the node (or `kubectl kata upgrade`), then reboot"
                 % " ".join(legacy), packages=legacy)
    if unrequested_kata:
        found = True
        node.add(cid, ERROR, "kata-containers is layered but no MachineConfig of the pool requests the extension",
                 "either enable the extension (`kubectl kata enable`) or `rpm-ostree uninstall kata-containers` "
                 "and reboot; manual installs conflict with the MCO", packages=[KATA_PACKAGE])
    if unknown:
        found = True
        node.add(cid, WARNING, "layered packages the MCO does not manage: %s" % fmt_list(unknown),
                 "remove them (`rpm-ostree uninstall %s`) or they show up in mcd_local_unsupported_packages "
                 "and can block updates" % " ".join(unknown), packages=unknown)
    if local or bad_removals or replacements:
        found = True
        node.add(cid, WARNING, "local packages or base overrides on the node: %s"
                 % fmt_list(local + bad_removals + replacements),
                 "undo them with `rpm-ostree uninstall` / `rpm-ostree override reset %s` and reboot"
                 % " ".join(bad_removals + [r.rsplit("-", 2)[0] for r in replacements]) if
                 (bad_removals or replacements) else "undo them with `rpm-ostree uninstall` and reboot",
                 local_packages=local, overrides=bad_removals + replacements)
    if undecided:
        found = True
        node.add(cid, INFO, "kernel packages swapped on the node (%s); the pool's rendered kernelType is unknown, "
                 "so whether the MCO asked for them was not checked" % fmt_list(undecided), "",
                 packages=undecided)
    if not found:
        managed = [p for p in requested if known(p)] + [r for r in removals if r in removals_ok]
        node.add(cid, OK, "no unexpected layered packages (%s)" % (fmt_list(requested) or "none layered"),
                 requested_packages=requested, managed=managed,
                 kernel_types=sorted(node.ctx.kernel_types or ()))
