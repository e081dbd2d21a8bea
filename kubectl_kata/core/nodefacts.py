"""Raw node probe output -> :class:`NodeFacts` (pure; the probe itself lives elsewhere).

The collection script runs each command once under ``chroot /host`` and returns
``raw: dict[str, RawResult]``. Keys (see ``KEYS``) may be missing (truncated collection) or carry
``rc != 0``; both end up in ``NodeFacts.errors[key]`` (for keys where a non-zero rc is an error)
and never raise. Keys whose rc is data rather than failure:

- ``rpm-V``: non-zero when any mismatch is printed
- ``crio-50-kata``, ``crio-50-kata.conf``: rc 1 when the file is absent (-> ``None``)
- ``kata-runtime-version``, ``shim-version``, ``kata-monitor-version``, ``kata-env``: a failing
  binary is a doctor finding (``binary_errors``), not a collection error
- ``osbuilder-images``: ``find`` exits 1 when the directory does not exist
- ``base-rpmdb`` / ``base-meta`` (optional: probes and bundles made before they existed lack them): the
  base OS image's package names (``rpm-ostree db list <base-checksum>`` of the booted deployment, or
  ``/usr/share/openshift/base/meta.json`` ``rpmdb.pkglist``); when neither is usable and the booted
  deployment is layered, ``NodeFacts.base_packages`` stays ``None`` (unknown) and
  ``base_unknown_reason`` says why. A booted deployment without ``base-checksum`` is not layered: every
  installed package is base.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
import json
from typing import Any, Dict, FrozenSet, List, Mapping, NamedTuple, Optional, Tuple

from kubectl_kata.core.closure import PackageIndex
from kubectl_kata.core.parse.errors import ParseError
from kubectl_kata.core.parse.kata_versions import (KataEnv, MonitorVersion, RuntimeVersion, ShimVersion,
                                                   parse_kata_env, parse_kata_monitor_version,
                                                   parse_kata_runtime_version, parse_shim_version)
from kubectl_kata.core.parse.nodefiles import (CrioDropin, parse_cpu_flags, parse_crio_dropin,
                                               parse_find_list, parse_paths, parse_systemctl_show)
from kubectl_kata.core.parse.osrelease import parse_os_release
from kubectl_kata.core.parse.rpm_ostree import RpmOstreeStatus, parse_rpm_ostree_status
from kubectl_kata.core.parse.rpmdb import (Dep, VerifyResult, parse_deps, parse_file_provides,
                                           parse_rpm_qa, parse_rpm_verify)
from kubectl_kata.core.rpm import NEVRA

__all__ = ["RawResult", "NodeFacts", "parse_node_facts", "KEYS", "OPTIONAL_KEYS", "PROBED_PATHS",
           "parse_db_list", "parse_base_meta"]


class RawResult(NamedTuple):
    stdout: bytes
    stderr: bytes
    rc: int


KEYS = (
    "os-release", "uname-r", "uname-m", "rpm-ostree-status", "rpm-qa", "rpm-provides", "rpm-requires",
    "rpm-file-provides", "rpm-V", "kata-runtime-version", "shim-version", "kata-monitor-version", "kata-env",
    "paths", "crio-50-kata", "crio-50-kata.conf", "cpu-flags", "osbuilder-unit", "osbuilder-images",
    "base-rpmdb", "base-meta",
)
# keys added after the first release of the probe: their absence is not a collection problem
OPTIONAL_KEYS = ("base-rpmdb", "base-meta")

PROBED_PATHS = (
    "/usr/bin/containerd-shim-kata-v2", "/usr/bin/kata-runtime", "/usr/bin/kata-monitor",
    "/usr/libexec/qemu-kvm", "/usr/libexec/qemu-kiwi", "/usr/bin/qemu-system-x86_64", "/usr/libexec/virtiofsd",
    "/dev/kvm", "/etc/crio/crio.conf.d/50-kata", "/etc/crio/crio.conf.d/50-kata.conf",
    "/etc/yum.repos.d/packages.repo", "/opt/kata-install", "/usr/local/kata",
    "/etc/systemd/system/kata-osbuilder-generate.service", "/var/cache/kata-containers/vmlinuz.container",
    "/var/cache/kata-containers/kata-containers-initrd.img",
)

_BINARY_KEYS = ("kata-runtime-version", "shim-version", "kata-monitor-version", "kata-env")
_ABSENT_RC1_KEYS = ("crio-50-kata", "crio-50-kata.conf")


@dataclass
class NodeFacts:
    os_release: Dict[str, str] = field(default_factory=dict)
    kernel: Optional[str] = None
    arch: Optional[str] = None
    rpm_ostree: Optional[RpmOstreeStatus] = None
    packages: Optional[List[NEVRA]] = None                      # None = not collected
    provides: Dict[Tuple[str, str], List[Dep]] = field(default_factory=dict)
    requires: Dict[Tuple[str, str], List[Dep]] = field(default_factory=dict)
    file_owners: Dict[str, List[str]] = field(default_factory=dict)
    verify: Optional[VerifyResult] = None
    runtime_version: Optional[RuntimeVersion] = None
    shim_version: Optional[ShimVersion] = None
    monitor_version: Optional[MonitorVersion] = None
    kata_env: Optional[KataEnv] = None
    binary_errors: Dict[str, str] = field(default_factory=dict)  # key -> why the binary gave no version
    paths: Dict[str, bool] = field(default_factory=dict)
    crio_dropin: Optional[CrioDropin] = None                    # /etc/crio/crio.conf.d/50-kata
    crio_dropin_legacy: Optional[CrioDropin] = None             # /etc/crio/crio.conf.d/50-kata.conf
    cpu_flags: Optional[List[str]] = None
    osbuilder_unit: Optional[Dict[str, str]] = None
    osbuilder_images: Optional[List[str]] = None
    errors: Dict[str, str] = field(default_factory=dict)        # collection/parse problems per raw key
    warnings: List[str] = field(default_factory=list)           # skipped lines etc.
    base_packages: Optional[FrozenSet[str]] = None              # base OS package names (None = unknown)
    base_source: str = ""                                        # where base_packages came from
    base_unknown_reason: str = ""                                # why base_packages is None

    # -- helpers used by the checks
    def installed(self, name: str) -> List[NEVRA]:
        return [p for p in (self.packages or []) if p.name == name]

    def path_present(self, path: str) -> Optional[bool]:
        """True/False from the probe's path list, None when the path was not reported."""
        return self.paths.get(path)

    def package_index(self) -> PackageIndex:
        return PackageIndex.from_installed(self.packages or [], self.provides, self.requires, self.file_owners)

    def to_dict(self) -> Dict[str, Any]:
        def dump(v):
            if v is None:
                return None
            if hasattr(v, "to_dict"):
                return v.to_dict()
            return asdict(v)
        return {
            "os_release": dict(self.os_release),
            "kernel": self.kernel,
            "arch": self.arch,
            "rpm_ostree": dump(self.rpm_ostree),
            "packages": None if self.packages is None else [str(p) for p in self.packages],
            "provides": {"%s.%s" % k: [str(d) for d in v] for k, v in self.provides.items()},
            "requires": {"%s.%s" % k: [str(d) for d in v] for k, v in self.requires.items()},
            "file_owners": {k: list(v) for k, v in self.file_owners.items()},
            "verify": dump(self.verify),
            "runtime_version": dump(self.runtime_version),
            "shim_version": dump(self.shim_version),
            "monitor_version": dump(self.monitor_version),
            "kata_env": dump(self.kata_env),
            "binary_errors": dict(self.binary_errors),
            "paths": dict(self.paths),
            "crio_dropin": dump(self.crio_dropin),
            "crio_dropin_legacy": dump(self.crio_dropin_legacy),
            "cpu_flags": None if self.cpu_flags is None else list(self.cpu_flags),
            "osbuilder_unit": None if self.osbuilder_unit is None else dict(self.osbuilder_unit),
            "osbuilder_images": None if self.osbuilder_images is None else list(self.osbuilder_images),
            "errors": dict(self.errors),
            "warnings": list(self.warnings),
            "base_packages": None if self.base_packages is None else sorted(self.base_packages),
            "base_source": self.base_source,
            "base_unknown_reason": self.base_unknown_reason,
        }


def _stderr_hint(res: RawResult) -> str:
    try:
        err = bytes(res.stderr or b"").decode("utf-8", "replace").strip()
    except (TypeError, ValueError):
        err = ""
    first = err.splitlines()[0] if err else ""
    return (": " + first[:200]) if first else ""


def _coerce(value: Any) -> Optional[RawResult]:
    """Accept RawResult or any 3-sequence; anything else is unusable."""
    try:
        out, err, rc = value
    except (TypeError, ValueError):
        return None
    if not isinstance(rc, int) or isinstance(rc, bool):
        return None
    if isinstance(out, str):
        out = out.encode("utf-8", "surrogateescape")
    if isinstance(err, str):
        err = err.encode("utf-8", "surrogateescape")
    if not isinstance(out, (bytes, bytearray)) or not isinstance(err, (bytes, bytearray, type(None))):
        return None
    return RawResult(bytes(out), bytes(err or b""), rc)


def parse_node_facts(raw: Mapping[str, Any]) -> NodeFacts:
    facts = NodeFacts()
    if not isinstance(raw, Mapping):
        facts.errors["*"] = "collection returned no results"
        return facts

    def get(key: str, ok_rcs: Tuple[int, ...] = (0,)) -> Optional[RawResult]:
        if key not in raw:
            facts.errors[key] = "not collected (missing from the probe output; collection truncated?)"
            return None
        res = _coerce(raw[key])
        if res is None:
            facts.errors[key] = "unusable probe result"
            return None
        if res.rc not in ok_rcs:
            facts.errors[key] = "command failed with exit status %d%s" % (res.rc, _stderr_hint(res))
            return None
        return res

    def parse(key: str, fn, res: Optional[RawResult]):
        if res is None:
            return None
        try:
            return fn(res.stdout)
        except ParseError as exc:
            facts.errors[key] = str(exc)
            return None

    res = get("os-release")
    facts.os_release = parse("os-release", parse_os_release, res) or {}
    for key, attr in (("uname-r", "kernel"), ("uname-m", "arch")):
        res = get(key)
        if res is not None:
            text = res.stdout.decode("utf-8", "replace").strip()
            if text and len(text) < 256 and not any(c.isspace() for c in text):
                setattr(facts, attr, text)
            else:
                facts.errors[key] = "unexpected output %r" % text[:80]

    facts.rpm_ostree = parse("rpm-ostree-status", parse_rpm_ostree_status, get("rpm-ostree-status"))

    res = get("rpm-qa")
    facts.packages = parse("rpm-qa", lambda b: parse_rpm_qa(b, facts.warnings), res)
    facts.provides = parse("rpm-provides", lambda b: parse_deps(b, "rpm provides", facts.warnings),
                           get("rpm-provides")) or {}
    facts.requires = parse("rpm-requires", lambda b: parse_deps(b, "rpm requires", facts.warnings),
                           get("rpm-requires")) or {}
    facts.file_owners = parse("rpm-file-provides", lambda b: parse_file_provides(b, facts.warnings),
                              get("rpm-file-provides")) or {}

    # rpm -V: rc != 0 just means "something differs"; a failure with no output at all is an error
    res = get("rpm-V", ok_rcs=tuple(range(0, 256)))
    if res is not None:
        if res.rc != 0 and not res.stdout.strip():
            facts.errors["rpm-V"] = "rpm -V failed with exit status %d and no output%s" % (res.rc, _stderr_hint(res))
        else:
            facts.verify = parse("rpm-V", parse_rpm_verify, res)

    for key, fn, attr in (("kata-runtime-version", parse_kata_runtime_version, "runtime_version"),
                          ("shim-version", parse_shim_version, "shim_version"),
                          ("kata-monitor-version", parse_kata_monitor_version, "monitor_version"),
                          ("kata-env", parse_kata_env, "kata_env")):
        if key not in raw:
            facts.errors[key] = "not collected (missing from the probe output; collection truncated?)"
            continue
        r = _coerce(raw[key])
        if r is None:
            facts.errors[key] = "unusable probe result"
            continue
        if r.rc != 0:
            facts.binary_errors[key] = "exit status %d%s" % (r.rc, _stderr_hint(r))
            continue
        try:
            setattr(facts, attr, fn(r.stdout))
        except ParseError as exc:
            facts.binary_errors[key] = str(exc)

    facts.paths = parse("paths", parse_paths, get("paths")) or {}

    for key, attr in (("crio-50-kata", "crio_dropin"), ("crio-50-kata.conf", "crio_dropin_legacy")):
        res = get(key, ok_rcs=(0, 1))
        if res is not None and res.rc == 0:
            setattr(facts, attr, parse(key, parse_crio_dropin, res))

    facts.cpu_flags = parse("cpu-flags", parse_cpu_flags, get("cpu-flags"))
    facts.osbuilder_unit = parse("osbuilder-unit", parse_systemctl_show, get("osbuilder-unit"))
    res = get("osbuilder-images", ok_rcs=(0, 1))
    facts.osbuilder_images = parse("osbuilder-images", parse_find_list, res)
    _base_set(facts, raw)
    return facts


_HEX = set("0123456789abcdef")


def parse_db_list(data: bytes) -> Dict[str, List[str]]:
    """``rpm-ostree db list REV...`` -> {commit checksum: [package names]}.

    A line that does not start with whitespace opens the section of the first 64-hex word in it
    (``ostree commit: <rev> (<checksum>)``); indented lines are package NEVRAs of that section.
    """
    out: Dict[str, List[str]] = {}
    cur: Optional[List[str]] = None
    for line in data.decode("utf-8", "replace").splitlines():
        if not line.strip():
            continue
        if not line[:1].isspace():
            cur = None
            for word in line.replace("(", " ").replace(")", " ").split():
                if len(word) == 64 and set(word) <= _HEX:
                    cur = out.setdefault(word, [])
                    break
            continue
        if cur is None:
            continue
        try:
            cur.append(NEVRA.parse(line.strip()).name)
        except ParseError:
            continue
    return out


def parse_base_meta(data: bytes) -> List[str]:
    """``/usr/share/openshift/base/meta.json`` -> base package names (``rpmdb.pkglist`` rows ``[name, e, v, r, a]``)."""
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ParseError("base meta.json is not JSON") from None
    rows = doc.get("rpmdb.pkglist") if isinstance(doc, dict) else None
    if not isinstance(rows, list) or not rows:
        raise ParseError("base meta.json has no rpmdb.pkglist")
    names = [r[0] for r in rows if isinstance(r, list) and r and isinstance(r[0], str)]
    if not names:
        raise ParseError("base meta.json rpmdb.pkglist holds no [name, epoch, version, release, arch] rows")
    return names


def _base_set(facts: NodeFacts, raw: Mapping[str, Any]) -> None:
    rs = facts.rpm_ostree
    booted = rs.booted if rs is not None else None
    if booted is None:
        facts.base_unknown_reason = "no booted deployment in rpm-ostree status"
        return
    if not booted.base_checksum:
        if facts.packages is not None:   # not layered: everything installed is the base image
            facts.base_packages = frozenset(p.name for p in facts.packages)
            facts.base_source = "booted deployment is not layered"
        else:
            facts.base_unknown_reason = "rpm -qa not collected"
        return
    why = []
    res = _coerce(raw.get("base-rpmdb")) if "base-rpmdb" in raw else None
    if res is None:
        why.append("rpm-ostree db list not collected")
    elif res.rc != 0:
        why.append("rpm-ostree db list failed (exit status %d%s)" % (res.rc, _stderr_hint(res)))
    else:
        names = parse_db_list(res.stdout).get(booted.base_checksum)
        if names:
            facts.base_packages = frozenset(names)
            facts.base_source = "rpm-ostree db list %s" % booted.base_checksum[:12]
            return
        why.append("rpm-ostree db list has no package list for base commit %s" % booted.base_checksum[:12])
    res = _coerce(raw.get("base-meta")) if "base-meta" in raw else None
    if res is not None and res.rc == 0:
        try:
            facts.base_packages = frozenset(parse_base_meta(res.stdout))
            facts.base_source = "/usr/share/openshift/base/meta.json"
            return
        except ParseError as exc:
            why.append(str(exc))
    else:
        why.append("no /usr/share/openshift/base/meta.json")
    facts.base_unknown_reason = "; ".join(why)
