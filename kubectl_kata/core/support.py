"""Release support tables: which OCP versions and node architectures can run the extension.

Sources: DOMAIN 1.1 (MCO allow-list per release), 1.2 (openshift/os ``architectures:``), 1.3 (render-time
validation), 1.5 (where the extensions repo lives), 4.3 (QEMU binary). Versions may be given as strings
(``"4.16.3"``, ``"4.18.0-rc.2"``, ``"4.19.0-0.nightly-2025-01-01-000000"``) or as ``(major, minor[, patch])``
tuples. Unparseable versions raise ``ValueError`` with the offending text.
"""
from __future__ import annotations

import re
from typing import NamedTuple, Tuple, Union

from .constants import (EXTENSION, MIN_EXTENSION_VERSION, MIN_RENDER_VALIDATION_VERSION,
                        MIN_S390X_VERSION)

Version = Tuple[int, int, int]
VersionLike = Union[str, tuple, list]

_VERSION_RE = re.compile(r"^\s*v?(\d+)\.(\d+)(?:\.(\d+))?(?:[-+][0-9A-Za-z.+-]*)?\s*$")

# (first version, names added, names removed); applied cumulatively in order (DOMAIN 1.1).
_EXTENSION_HISTORY = (
    ((4, 6), {"usbguard", "kernel-devel"}, set()),
    ((4, 8), {EXTENSION}, set()),
    ((4, 11), {"kerberos"}, set()),
    ((4, 14), {"wasm", "ipsec"}, set()),
    ((4, 18), {"sysstat"}, set()),
    ((4, 19), {"two-node-ha"}, set()),
    ((4, 22), set(), {"wasm"}),
)

# Node label kubernetes.io/arch values; aliases accept the uname/RPM spelling too.
_ARCH_ALIASES = {"x86_64": "amd64", "aarch64": "arm64", "ppc64el": "ppc64le"}
_ARCH_SINCE = {"amd64": MIN_EXTENSION_VERSION, "s390x": MIN_S390X_VERSION}


def parse_ocp_version(s: VersionLike) -> Version:
    """``"4.16.3"`` -> ``(4, 16, 3)``; pre-release/nightly suffixes are ignored, a missing patch is 0."""
    if isinstance(s, (tuple, list)):
        if not 2 <= len(s) <= 3 or not all(isinstance(p, int) and not isinstance(p, bool) and p >= 0 for p in s):
            raise ValueError("version tuple must be (major, minor[, patch]) of non-negative ints, got %r" % (s,))
        return (s[0], s[1], s[2] if len(s) == 3 else 0)
    if not isinstance(s, str):
        raise ValueError("OpenShift version must be a string like '4.16.3', got %r" % (s,))
    m = _VERSION_RE.match(s)
    if not m:
        raise ValueError("cannot parse OpenShift version %r (expected e.g. '4.16.3' or '4.18.0-rc.2')" % s)
    return (int(m.group(1)), int(m.group(2)), int(m.group(3) or 0))


def _mm(ver: VersionLike) -> Tuple[int, int]:
    v = parse_ocp_version(ver)
    return (v[0], v[1])


def format_version(ver: VersionLike) -> str:
    v = parse_ocp_version(ver)
    return "%d.%d.%d" % v


def supported_extensions(ver: VersionLike) -> set:
    """Extension names the MCO accepts on this release (empty before 4.6). 4.23+ and 5.x use the newest set."""
    mm = _mm(ver)
    names = set()  # type: set
    for since, added, removed in _EXTENSION_HISTORY:
        if mm >= since:
            names |= added
            names -= removed
    return names


def extension_supported(ver: VersionLike) -> bool:
    """True when the MCO allow-list knows ``sandboxed-containers`` (OCP 4.8 and later)."""
    return EXTENSION in supported_extensions(ver)


def normalize_arch(arch: str) -> str:
    a = (arch or "").strip().lower()
    return _ARCH_ALIASES.get(a, a)


def arch_supported(ver: VersionLike, arch: str) -> bool:
    """Whether RHCOS ships the extension for a node ``kubernetes.io/arch`` value on this release.

    amd64 from 4.8, s390x from 4.14; arm64, ppc64le and anything else never (openshift/os lists only
    x86_64 and s390x).
    """
    since = _ARCH_SINCE.get(normalize_arch(arch))
    return since is not None and _mm(ver) >= since


def supported_arches(ver: VersionLike) -> list:
    mm = _mm(ver)
    return sorted(a for a, since in _ARCH_SINCE.items() if mm >= since)


def render_time_validation(ver: VersionLike) -> bool:
    """True from 4.16: an invalid extension shows up as pool ``RenderDegraded`` instead of a node ``Degraded``.

    (The check reached 4.16 in a z-stream whose exact number is not confirmed; 4.16.0 itself may still
    fail on the node, so callers should watch both.)
    """
    return _mm(ver) >= MIN_RENDER_VALIDATION_VERSION


def qemu_binary_for(ver: VersionLike) -> str:
    """Path of the QEMU binary kata uses on RHCOS: qemu-kiwi on 4.8-4.10, qemu-kvm otherwise (DOMAIN 4.3)."""
    mm = _mm(ver)
    if (4, 8) <= mm <= (4, 10):
        return "/usr/libexec/qemu-kiwi"
    return "/usr/libexec/qemu-kvm"


def qemu_package_for(ver: VersionLike) -> str:
    """RPM providing :func:`qemu_binary_for` (``qemu-kiwi`` on 4.8-4.10, ``qemu-kvm-core`` later)."""
    mm = _mm(ver)
    if (4, 8) <= mm <= (4, 10):
        return "qemu-kiwi"
    return "qemu-kvm-core"


class ExtensionsImageSource(NamedTuple):
    """Where a release keeps the extensions repo (DOMAIN 1.5).

    ``tags``: release-payload tags holding the repo, preferred first; ``repo_path``: directory of the RPM
    repo inside that image; ``os_tags``: matching OS image tags; ``in_os_image``: True when the repo is
    inside the OS image itself (``machine-os-content``, 4.11 and older).
    """
    tags: tuple
    repo_path: str
    os_tags: tuple
    in_os_image: bool


def extensions_image_source(ver: VersionLike) -> ExtensionsImageSource:
    mm = _mm(ver)
    if mm <= (4, 11):
        return ExtensionsImageSource(("machine-os-content",), "/extensions/", ("machine-os-content",), True)
    path = "/usr/share/rpm-ostree/extensions/"
    if mm == (4, 12):
        return ExtensionsImageSource(("rhel-coreos-8-extensions",), path, ("rhel-coreos-8",), False)
    if mm < (4, 21):
        return ExtensionsImageSource(("rhel-coreos-extensions",), path, ("rhel-coreos",), False)
    return ExtensionsImageSource(("rhel-coreos-extensions", "rhel-coreos-10-extensions"), path,
                                 ("rhel-coreos", "rhel-coreos-10"), False)
