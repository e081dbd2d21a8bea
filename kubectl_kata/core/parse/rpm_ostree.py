"""``rpm-ostree status --json`` -> deployments (DOMAIN 4.1).

Rules: select the deployment with ``booted: true`` (never index 0 -- a staged deployment is listed
first); keys may be absent (``staged`` is missing in some outputs): missing = false/empty.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional

from kubectl_kata.core.parse._util import Data, load_json
from kubectl_kata.core.parse.errors import ParseError

__all__ = ["Deployment", "RpmOstreeStatus", "parse_rpm_ostree_status", "image_digest"]


@dataclass
class Deployment:
    id: str = ""
    osname: str = ""
    checksum: str = ""
    version: str = ""
    booted: bool = False
    staged: bool = False
    pinned: bool = False
    requested_packages: List[str] = field(default_factory=list)
    packages: List[str] = field(default_factory=list)
    requested_local_packages: List[str] = field(default_factory=list)
    requested_base_removals: List[str] = field(default_factory=list)
    requested_base_local_replacements: List[str] = field(default_factory=list)
    base_removals: List[str] = field(default_factory=list)          # NEVRA strings
    base_local_replacements: List[str] = field(default_factory=list)  # "new (replaces old)"
    origin: Optional[str] = None
    custom_origin: Optional[str] = None   # first element of custom-origin (e.g. pivot://...)
    container_image_reference: Optional[str] = None
    container_image_reference_digest: Optional[str] = None
    base_checksum: Optional[str] = None

    @property
    def image_digest(self) -> Optional[str]:
        """``sha256:...`` of the booted OS image, from the digest key or the pull spec."""
        if self.container_image_reference_digest:
            return self.container_image_reference_digest
        for ref in (self.container_image_reference, self.custom_origin):
            d = image_digest(ref)
            if d:
                return d
        return None

    @property
    def image_reference(self) -> Optional[str]:
        """Pull spec without the ostree transport prefix (``ostree-unverified-registry:``, ``pivot://``)."""
        ref = self.container_image_reference or self.custom_origin
        return strip_transport(ref) if ref else None

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


@dataclass
class RpmOstreeStatus:
    deployments: List[Deployment] = field(default_factory=list)
    transaction: Optional[str] = None   # description of an in-flight transaction, if any

    @property
    def booted(self) -> Optional[Deployment]:
        for d in self.deployments:
            if d.booted:
                return d
        return None

    @property
    def staged(self) -> List[Deployment]:
        return [d for d in self.deployments if d.staged]

    def to_dict(self) -> Dict[str, Any]:
        return {"deployments": [d.to_dict() for d in self.deployments], "transaction": self.transaction}


_TRANSPORTS = ("ostree-unverified-registry:", "ostree-unverified-image:", "ostree-image-signed:",
               "ostree-remote-registry:", "ostree-remote-image:", "pivot://", "docker://", "registry:")


def strip_transport(ref: str) -> str:
    s = ref.strip()
    changed = True
    while changed:
        changed = False
        for prefix in _TRANSPORTS:
            if s.startswith(prefix):
                s = s[len(prefix):]
                changed = True
        # ostree-remote-image:<remote>:docker://... forms
        if s.startswith("ostree-remote-"):
            parts = s.split(":", 2)
            if len(parts) == 3:
                s = parts[2]
                changed = True
    return s


def image_digest(ref: Optional[str]) -> Optional[str]:
    """The ``sha256:<hex>`` part of a pull spec, or None when it is tag-only."""
    if not ref or "@" not in ref:
        return None
    digest = ref.rsplit("@", 1)[1].strip()
    algo, _, hexpart = digest.partition(":")
    if algo and hexpart and all(c in "0123456789abcdef" for c in hexpart.lower()):
        return algo + ":" + hexpart.lower()
    return None


def _str(d: dict, key: str) -> str:
    v = d.get(key)
    if v is None:
        return ""
    if isinstance(v, (str, int, float)) and not isinstance(v, bool):
        return str(v)
    raise ParseError("rpm-ostree status: %r is not a string" % key)


def _opt_str(d: dict, key: str) -> Optional[str]:
    v = d.get(key)
    if v is None:
        return None
    if isinstance(v, str):
        return v
    raise ParseError("rpm-ostree status: %r is not a string" % key)


def _bool(d: dict, key: str) -> bool:
    v = d.get(key)
    if v is None:
        return False
    if isinstance(v, bool):
        return v
    raise ParseError("rpm-ostree status: %r is not a boolean" % key)


def _strlist(d: dict, key: str) -> List[str]:
    v = d.get(key)
    if v is None:
        return []
    if not isinstance(v, list):
        raise ParseError("rpm-ostree status: %r is not a list" % key)
    out = []
    for item in v:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, list) and item and isinstance(item[0], str):
            # base-removals: [nevra, name, epoch, version, release, arch]
            # base-local-replacements: [[new nevra...], [old nevra...]] pairs
            out.append(item[0])
        elif isinstance(item, list) and item and isinstance(item[0], list) and item[0] \
                and isinstance(item[0][0], str):
            out.append(item[0][0])
        else:
            raise ParseError("rpm-ostree status: unexpected entry in %r" % key)
    return out


def _deployment(d: Any) -> Deployment:
    if not isinstance(d, dict):
        raise ParseError("rpm-ostree status: a deployment is not an object")
    custom = d.get("custom-origin")
    custom_origin = None
    if isinstance(custom, list) and custom and isinstance(custom[0], str):
        custom_origin = custom[0]
    elif custom is not None and not isinstance(custom, list):
        raise ParseError("rpm-ostree status: 'custom-origin' is not a list")
    return Deployment(
        id=_str(d, "id"), osname=_str(d, "osname"), checksum=_str(d, "checksum"),
        version=_str(d, "version"), booted=_bool(d, "booted"), staged=_bool(d, "staged"),
        pinned=_bool(d, "pinned"),
        requested_packages=_strlist(d, "requested-packages"),
        packages=_strlist(d, "packages"),
        requested_local_packages=_strlist(d, "requested-local-packages"),
        requested_base_removals=_strlist(d, "requested-base-removals"),
        requested_base_local_replacements=_strlist(d, "requested-base-local-replacements"),
        base_removals=_strlist(d, "base-removals"),
        base_local_replacements=_strlist(d, "base-local-replacements"),
        origin=_opt_str(d, "origin"), custom_origin=custom_origin,
        container_image_reference=_opt_str(d, "container-image-reference"),
        container_image_reference_digest=_opt_str(d, "container-image-reference-digest"),
        base_checksum=_opt_str(d, "base-checksum"),
    )


def parse_rpm_ostree_status(data: Data) -> RpmOstreeStatus:
    doc = load_json(data, "rpm-ostree status")
    if not isinstance(doc, dict):
        raise ParseError("rpm-ostree status: top level is not an object")
    deps = doc.get("deployments")
    if not isinstance(deps, list):
        raise ParseError("rpm-ostree status: no 'deployments' list")
    txn = doc.get("transaction")
    transaction = None
    if isinstance(txn, list) and txn:
        transaction = " ".join(str(x) for x in txn if isinstance(x, (str, int)))
    elif isinstance(txn, (str, dict)) and txn:
        transaction = str(txn) if isinstance(txn, str) else "in progress"
    return RpmOstreeStatus(deployments=[_deployment(d) for d in deps], transaction=transaction)
