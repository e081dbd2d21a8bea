"""Kata version outputs (DOMAIN 4.4) and ``kata-runtime env --json`` (DOMAIN 4.2).

- ``kata-runtime --version``: ``kata-runtime  : <ver>`` / ``   commit   : <sha>`` / ``   OCI specs: <ver>``
- ``containerd-shim-kata-v2 --version``: ``Kata Containers containerd shim (Golang): id:
  "io.containerd.kata.v2", version: <ver>, commit: <sha>`` (3.x; 2.x lacks ``(Golang)``)
- ``kata-monitor --version``: ``kata-monitor`` then tab-separated ``Version:``, ``Go version:``,
  ``Git commit:``, ``OS/Arch:`` lines. kata-monitor carries its own version number (e.g. 0.3.0),
  not the kata release.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any, Optional

from kubectl_kata.core.parse._util import Data, load_json, short, to_text
from kubectl_kata.core.parse.errors import ParseError

__all__ = ["RuntimeVersion", "ShimVersion", "MonitorVersion", "KataEnv", "parse_kata_runtime_version",
           "parse_shim_version", "parse_kata_monitor_version", "parse_kata_env"]

MAX_VERSION_BYTES = 64 * 1024
_VER_TOKEN = r"[0-9A-Za-z][0-9A-Za-z.+~^_-]*"


@dataclass(frozen=True)
class RuntimeVersion:
    version: str
    commit: Optional[str] = None
    oci: Optional[str] = None

    def to_dict(self):
        return asdict(self)


@dataclass(frozen=True)
class ShimVersion:
    version: str
    commit: Optional[str] = None
    golang: bool = False       # 3.x prints "(Golang)"; 2.x does not

    def to_dict(self):
        return asdict(self)


@dataclass(frozen=True)
class MonitorVersion:
    version: str
    go_version: Optional[str] = None
    commit: Optional[str] = None
    os_arch: Optional[str] = None

    def to_dict(self):
        return asdict(self)


_RUNTIME_RE = re.compile(r"^\s*kata-runtime\s*:\s*(" + _VER_TOKEN + r")\s*$", re.M)
_COMMIT_RE = re.compile(r"^\s*commit\s*:\s*(\S+)\s*$", re.M)
_OCI_RE = re.compile(r"^\s*OCI specs\s*:\s*(\S+)\s*$", re.M)


def parse_kata_runtime_version(data: Data) -> RuntimeVersion:
    text = to_text(data, "kata-runtime --version", MAX_VERSION_BYTES)
    m = _RUNTIME_RE.search(text)
    if not m:
        raise ParseError("kata-runtime --version: no 'kata-runtime : <version>' line in %r" % short(text.strip()))
    c = _COMMIT_RE.search(text)
    o = _OCI_RE.search(text)
    return RuntimeVersion(m.group(1), c.group(1) if c else None, o.group(1) if o else None)


_SHIM_RE = re.compile(
    r"Kata Containers containerd shim(?P<golang> \(Golang\))?\s*:\s*id:\s*\"?[^\",]*\"?\s*,\s*"
    r"version:\s*(?P<ver>" + _VER_TOKEN + r")\s*(?:,\s*commit:\s*(?P<commit>[0-9A-Za-z._-]+))?")


def parse_shim_version(data: Data) -> ShimVersion:
    text = to_text(data, "containerd-shim-kata-v2 --version", MAX_VERSION_BYTES)
    m = _SHIM_RE.search(text)
    if not m:
        raise ParseError("containerd-shim-kata-v2 --version: unrecognised output %r" % short(text.strip()))
    return ShimVersion(m.group("ver"), m.group("commit"), bool(m.group("golang")))


def _field(text: str, label: str) -> Optional[str]:
    m = re.search(r"^\s*" + re.escape(label) + r":\s*(\S.*?)\s*$", text, re.M)
    return m.group(1) if m else None


def parse_kata_monitor_version(data: Data) -> MonitorVersion:
    text = to_text(data, "kata-monitor --version", MAX_VERSION_BYTES)
    if "kata-monitor" not in text:
        raise ParseError("kata-monitor --version: unrecognised output %r" % short(text.strip()))
    ver = _field(text, "Version")
    if not ver or not re.match("^" + _VER_TOKEN + "$", ver):
        raise ParseError("kata-monitor --version: no 'Version:' line")
    return MonitorVersion(ver, _field(text, "Go version"), _field(text, "Git commit"), _field(text, "OS/Arch"))


@dataclass(frozen=True)
class KataEnv:
    kernel_path: Optional[str] = None
    initrd_path: Optional[str] = None
    image_path: Optional[str] = None
    hypervisor_path: Optional[str] = None
    hypervisor_version: Optional[str] = None
    virtiofs_daemon: Optional[str] = None
    config_path: Optional[str] = None
    runtime_version: Optional[str] = None
    meta_version: Optional[str] = None

    def to_dict(self):
        return asdict(self)


def _get(doc: Any, *path: str) -> Any:
    cur = doc
    for key in path:
        if not isinstance(cur, dict):
            return None
        cur = cur.get(key)
    return cur


def _s(value: Any) -> Optional[str]:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    raise ParseError("kata-env: expected a string, got %s" % type(value).__name__)


def parse_kata_env(data: Data) -> KataEnv:
    """``kata-runtime env --json``: Kernel/Initrd/Image/Hypervisor paths, runtime config and version."""
    doc = load_json(data, "kata-runtime env --json", 8 * 1024 * 1024)
    if not isinstance(doc, dict):
        raise ParseError("kata-runtime env --json: top level is not an object")
    if not any(k in doc for k in ("Runtime", "Hypervisor", "Kernel", "Meta")):
        raise ParseError("kata-runtime env --json: none of Runtime/Hypervisor/Kernel/Meta present")
    semver = _get(doc, "Runtime", "Version", "Version", "Semver")   # 2.x/3.x
    if semver is None:
        semver = _get(doc, "Runtime", "Version", "Semver")           # 1.x
    return KataEnv(
        kernel_path=_s(_get(doc, "Kernel", "Path")),
        initrd_path=_s(_get(doc, "Initrd", "Path")),
        image_path=_s(_get(doc, "Image", "Path")),
        hypervisor_path=_s(_get(doc, "Hypervisor", "Path")),
        hypervisor_version=_s(_get(doc, "Hypervisor", "Version")),
        virtiofs_daemon=_s(_get(doc, "Hypervisor", "VirtioFSDaemon")),
        config_path=_s(_get(doc, "Runtime", "Config", "Path")),
        runtime_version=_s(semver),
        meta_version=_s(_get(doc, "Meta", "Version")),
    )
