"""``doctor --from`` on a must-gather: recognise the layout, read what doctor can use, safely.

What arrives on a support case is a must-gather (DOMAIN 12.2): the directory ``oc adm must-gather`` writes
(``must-gather.local.<n>/`` with one sub-directory per image; openshift/oc ``pkg/cli/admin/mustgather``), any
directory below it, or a ``.tar.gz``/``.tgz`` of it. Inside, ``oc adm inspect``'s layout (oc
``pkg/cli/admin/inspect``)::

    cluster-scoped-resources/<group>/<plural>/<name>.yaml     one object ("core" is the core group)
    cluster-scoped-resources/<group>/<plural>.yaml            a List (e.g. config.openshift.io/clusterversions.yaml)
    namespaces/<ns>/<group>/<plural>.yaml                     a List of namespaced objects
    namespaces/<ns>/<group>/<plural>/<name>.yaml              one namespaced object

and, from the sandboxed containers operator's must-gather (its ``collection-scripts/gather_nodes`` and
``gather_sandboxed_containers_logs``)::

    nodes/<node>/version                  `chroot /host rpm -qa | egrep '(kata-containers|qemu)' | sort` (NVRA, no epoch)
    nodes/<node>/<node>_logs_crio         `oc adm node-logs <node> -u crio` (also _logs_kubelet)
    nodes/<node>/run/vc/...               the node's /run/vc, where present
    nodes/skipped_nodes.txt               nodes whose node-gather pod never ran
    sandboxed-containers/kataconfig_description, sandboxed-containers/mcps/<pool>_description

Files are recognised by these path suffixes wherever they sit, so every image sub-directory of one
must-gather (the default one and the operator's) is merged. Only the files doctor uses are read, into memory;
nothing is extracted or written. Member names that are absolute or contain ``..`` make the whole archive
refused; links and special files are never followed (one at a path doctor would read is refused, elsewhere
ignored); a file doctor reads must stay under ``MAX_FILE_BYTES``. YAML is parsed with ``yaml.safe_load``
semantics (the C loader when available) and objects sharing structure (YAML aliases) are refused.

The result is the same facts shape a live ``doctor`` gathers (``nodes``, ``pools``, ``mcs`` incl. rendered,
``version`` from the ClusterVersion, ``runtimeclasses``, ``kataconfigs``, ``osimageurl``) plus per-node package
lists; ``available`` names what the must-gather holds, so every check the data does not allow is reported as
``not collected`` (severity info, never ok) instead of passing silently.
"""
from __future__ import annotations

import os
import re
import stat
import tarfile
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Set, Tuple

from kubectl_kata.core.constants import ANN_CURRENT_CONFIG, ANN_DESIRED_CONFIG
from kubectl_kata.core.nodefacts import NodeFacts
from kubectl_kata.core.errors import ParseError
from kubectl_kata.core.rpm import NEVRA
from kubectl_kata.errors import BundleError

__all__ = ["MustGather", "MustGatherNode", "read_mustgather", "looks_like_mustgather", "parse_version_file",
           "MAX_FILE_BYTES", "MAX_READ_BYTES", "MAX_ENTRIES", "NOT_A_MUSTGATHER", "VERSION_FILTER",
           "OPERATOR_FILES", "node_facts_from_versions", "arch_from_node"]

MAX_FILE_BYTES = 32 * 1024 * 1024          # one file doctor reads (a rendered MachineConfig is ~1 MiB)
MAX_READ_BYTES = 1024 * 1024 * 1024        # everything doctor reads from one must-gather
MAX_ENTRIES = 1_000_000                    # archive/dir entries scanned (a default must-gather has ~10^4-10^5)
MAX_DECLARED_BYTES = 64 * 1024 * 1024 * 1024   # sum of member sizes a tarball may declare
# the operator's `version` file: `rpm -qa | egrep '(kata-containers|qemu)'` (a substring of the NVRA line)
VERSION_FILTER = re.compile(r"(kata-containers|qemu)")
NOT_A_MUSTGATHER = ("expected a kubectl-kata doctor bundle (manifest.json not found) or a must-gather "
                    "(no cluster-scoped-resources/, namespaces/ or sandboxed containers operator "
                    "nodes/<node>/version found)")

# (group, plural) of cluster-scoped objects doctor uses -> facts key
CLUSTER_KINDS = {
    ("core", "nodes"): "nodes",
    ("machineconfiguration.openshift.io", "machineconfigpools"): "pools",
    ("machineconfiguration.openshift.io", "machineconfigs"): "mcs",
    ("node.k8s.io", "runtimeclasses"): "runtimeclasses",
    ("kataconfiguration.openshift.io", "kataconfigs"): "kataconfigs",
    ("config.openshift.io", "clusterversions"): "clusterversions",
    ("apiextensions.k8s.io", "customresourcedefinitions"): "crds",
}
MCO_NS = "openshift-machine-config-operator"
OSC_NS = "openshift-sandboxed-containers-operator"
OSIMAGEURL_CM = "machine-config-osimageurl"
KATACONFIG_CRD = "kataconfigs.kataconfiguration.openshift.io"
OPERATOR_FILES = ("version", "_logs_crio", "_logs_kubelet", "run/vc")
_NODE_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")
_ARCH = {"amd64": "x86_64", "arm64": "aarch64", "s390x": "s390x", "ppc64le": "ppc64le"}


# --------------------------------------------------------------------------- results

@dataclass
class MustGatherNode:
    name: str
    version: Optional[bytes] = None           # nodes/<node>/version, verbatim (None = not in the must-gather)
    logs: List[str] = field(default_factory=list)     # which journal extracts exist (crio, kubelet)
    run_vc: bool = False                      # nodes/<node>/run/vc/ collected


@dataclass
class MustGather:
    path: str
    facts: Dict[str, Any]
    available: Set[str]                       # fact keys present: nodes, pools, mcs, version, runtimeclasses, ...
    nodes: Dict[str, MustGatherNode]          # operator's per-node data (empty without its must-gather)
    operator: bool                            # the sandboxed containers operator's must-gather is in there
    default: bool                             # the default must-gather's MCO objects (pools, MachineConfigs...)
    skipped_nodes: List[str] = field(default_factory=list)
    descriptions: Dict[str, bytes] = field(default_factory=dict)   # sandboxed-containers/*_description
    images: List[str] = field(default_factory=list)                # image sub-directories merged
    ignored: List[str] = field(default_factory=list)               # links/special files skipped (first few)
    warnings: List[str] = field(default_factory=list)

    def source_doc(self) -> Dict[str, Any]:
        """What the report says about where its data came from."""
        parts = []
        if self.default:
            parts.append("default (MCO resources)")
        if self.operator:
            parts.append("sandboxed containers operator")
        return {"kind": "must-gather", "path": self.path, "contains": parts, "images": list(self.images),
                "available": sorted(self.available), "skippedNodes": list(self.skipped_nodes),
                "warnings": list(self.warnings)}


# --------------------------------------------------------------------------- member walking

def _check_name(name: str) -> List[str]:
    if not name or "\x00" in name or name.startswith("/") or "\\" in name or re.match(r"^[A-Za-z]:", name):
        raise BundleError("unsafe path in must-gather: %r (absolute paths are refused)" % name)
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise BundleError("unsafe path in must-gather: %r (path traversal with '..' is refused)" % name)
    return parts


def _relevant(parts: List[str]) -> Optional[Tuple[str, ...]]:
    """What a must-gather path is to doctor, judged by its last components; None = not used."""
    n = len(parts)
    if n == 0:
        return None
    last = parts[-1]
    # cluster-scoped-resources/<group>/<plural>/<name>.yaml and .../<group>/<plural>.yaml (a List)
    if n >= 4 and parts[-4] == "cluster-scoped-resources" and last.endswith((".yaml", ".yml")):
        key = CLUSTER_KINDS.get((parts[-3], parts[-2]))
        if key:
            return ("cluster", key)
    if n >= 3 and parts[-3] == "cluster-scoped-resources" and last.endswith((".yaml", ".yml")):
        key = CLUSTER_KINDS.get((parts[-2], last.rsplit(".", 1)[0]))
        if key:
            return ("cluster", key)
    # namespaces/openshift-machine-config-operator/core/configmaps.yaml or .../configmaps/<name>.yaml
    if n >= 4 and parts[-4] == "namespaces" and parts[-3] == MCO_NS and parts[-2] == "core" \
            and last in ("configmaps.yaml", "configmaps.yml"):
        return ("configmaps",)
    if n >= 5 and parts[-5] == "namespaces" and parts[-4] == MCO_NS and parts[-3] == "core" \
            and parts[-2] == "configmaps" and last.rsplit(".", 1)[0] == OSIMAGEURL_CM:
        return ("configmaps",)
    if n >= 3 and parts[-3] == "namespaces" and parts[-2] == OSC_NS:
        return ("osc-namespace",)
    # the operator's node data
    if n >= 3 and parts[-3] == "nodes" and last == "version":
        return ("node-version", parts[-2])
    if n >= 3 and parts[-3] == "nodes" and last in (parts[-2] + "_logs_crio", parts[-2] + "_logs_kubelet"):
        return ("node-log", parts[-2], last.rsplit("_", 1)[1])
    if n >= 2 and parts[-2] == "nodes" and last == "skipped_nodes.txt":
        return ("skipped",)
    if "nodes" in parts[:-1]:
        i = len(parts) - 1 - parts[::-1].index("nodes")
        if i + 3 < n and parts[i + 2] == "run" and parts[i + 3] == "vc":
            return ("node-vc", parts[i + 1])
    if n >= 2 and parts[-2] == "sandboxed-containers" and last.endswith("_description"):
        return ("description", last)
    if n >= 3 and parts[-3] == "sandboxed-containers" and parts[-2] == "mcps" and last.endswith("_description"):
        return ("description", "mcps/" + last)
    return None


# what is only noted (existence), never read
_NOTE_ONLY = ("node-log", "node-vc", "osc-namespace")


@dataclass
class _Member:
    parts: List[str]
    what: Tuple[str, ...]
    data: Optional[bytes]


def _image_of(parts: List[str]) -> Optional[str]:
    """The image sub-directory of must-gather.local.<n>/ the member sits in, if the path shows it."""
    for i, p in enumerate(parts[:-1]):
        if p.startswith("must-gather.local.") and i + 1 < len(parts) - 1:
            return parts[i + 1]
    return None


def _run_of(parts: List[str]) -> Optional[Tuple[str, ...]]:
    """The path of the ``must-gather.local.<n>`` directory the member sits in, if any."""
    for i, p in enumerate(parts[:-1]):
        if p.startswith("must-gather.local."):
            return tuple(parts[:i + 1])
    return None


class _Walker:
    def __init__(self) -> None:
        self.read_bytes = 0
        self.entries = 0
        self.ignored: List[str] = []
        self.seen_any = False

    def count(self) -> None:
        self.entries += 1
        if self.entries > MAX_ENTRIES:
            raise BundleError("must-gather has more than %d entries" % MAX_ENTRIES)

    def take(self, name: str, size: int) -> None:
        if size > MAX_FILE_BYTES:
            raise BundleError("must-gather file %r is %d bytes, more than the %d-byte limit"
                              % (name, size, MAX_FILE_BYTES))
        self.read_bytes += size
        if self.read_bytes > MAX_READ_BYTES:
            raise BundleError("must-gather files doctor reads exceed %d bytes" % MAX_READ_BYTES)

    def ignore(self, name: str, what: str, relevant: bool) -> None:
        if relevant:
            raise BundleError("refusing %s %r in must-gather (only regular files are read)" % (what, name))
        if len(self.ignored) < 20:
            self.ignored.append("%s (%s)" % (name, what))


def _walk_tar(path: str, w: _Walker) -> Iterator[_Member]:
    declared = 0
    try:
        # streamed (r|*): members are read in order and never kept, so memory does not grow with the archive
        with tarfile.open(path, mode="r|*") as tar:
            for m in tar:
                tar.members = []
                w.count()
                parts = _check_name(m.name)
                if m.isdir():
                    continue
                what = _relevant(parts)
                if not m.isfile():
                    kind = "link" if (m.issym() or m.islnk()) else "special file"
                    w.ignore(m.name, kind, what is not None and what[0] not in _NOTE_ONLY)
                    continue
                declared += max(0, m.size)
                if declared > MAX_DECLARED_BYTES:
                    raise BundleError("must-gather archive declares more than %d bytes" % MAX_DECLARED_BYTES)
                if what is None:
                    continue
                if what[0] in _NOTE_ONLY:
                    yield _Member(parts, what, None)
                    continue
                w.take(m.name, m.size)
                fh = tar.extractfile(m)
                data = fh.read(MAX_FILE_BYTES + 1) if fh else b""
                if len(data) != m.size:
                    raise BundleError("must-gather member %r is truncated" % m.name)
                yield _Member(parts, what, data)
    except (tarfile.TarError, EOFError, OSError, ValueError) as exc:
        if isinstance(exc, BundleError):
            raise
        raise BundleError("cannot read must-gather %s: %s" % (path, exc)) from None


def _prefix(root: str) -> List[str]:
    """The input directory's own trailing path components (so a directory below the image root, e.g.
    ``.../cluster-scoped-resources/core``, still shows where its files sit)."""
    parts = [p for p in os.path.abspath(root).replace(os.sep, "/").split("/") if p]
    return parts[-5:]


def _walk_dir(root: str, w: _Walker) -> Iterator[_Member]:
    prefix = _prefix(root)
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for name in list(dirnames) + sorted(filenames):
            w.count()
            full = os.path.join(dirpath, name)
            try:
                st = os.lstat(full)
            except OSError:
                continue
            rel = os.path.relpath(full, root).replace(os.sep, "/")
            parts = prefix + _check_name(rel)
            what = _relevant(parts)
            if stat.S_ISLNK(st.st_mode):
                w.ignore(rel, "link", what is not None and what[0] not in _NOTE_ONLY)
                continue
            if stat.S_ISDIR(st.st_mode):
                if what is not None and what[0] == "node-vc":
                    yield _Member(parts, what, None)
                continue
            if not stat.S_ISREG(st.st_mode):
                w.ignore(rel, "special file", what is not None and what[0] not in _NOTE_ONLY)
                continue
            if what is None:
                continue
            if what[0] in _NOTE_ONLY:
                yield _Member(parts, what, None)
                continue
            w.take(rel, st.st_size)
            try:
                fd = os.open(full, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
            except OSError as exc:
                raise BundleError("cannot read must-gather file %s: %s" % (rel, exc.strerror or exc)) from None
            with os.fdopen(fd, "rb") as fh:
                if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                    raise BundleError("refusing special file %r in must-gather" % rel)
                data = fh.read(MAX_FILE_BYTES + 1)
            if len(data) > MAX_FILE_BYTES:
                raise BundleError("must-gather file %r grew past the %d-byte limit" % (rel, MAX_FILE_BYTES))
            yield _Member(parts, what, data)


# --------------------------------------------------------------------------- YAML

def _yaml_loader():
    import yaml

    return getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader


def _no_shared(obj: Any) -> None:
    """Refuse documents whose containers are shared (YAML anchors/aliases): ``oc adm inspect`` never writes
    them, and a few aliases can expand to gigabytes once the objects are copied (billion laughs)."""
    seen: Set[int] = set()
    stack = [obj]
    while stack:
        o = stack.pop()
        if isinstance(o, (dict, list)):
            if id(o) in seen:
                raise ValueError("YAML aliases are not accepted")
            seen.add(id(o))
            stack.extend(o.values() if isinstance(o, dict) else o)


def load_yaml(data: bytes, name: str) -> Any:
    import yaml

    try:
        doc = yaml.load(data, Loader=_yaml_loader())   # noqa: S506 - a SafeLoader (C or Python)
        _no_shared(doc)
        return doc
    except (yaml.YAMLError, ValueError, RecursionError, UnicodeDecodeError) as exc:
        raise BundleError("must-gather file %s is not valid YAML: %s" % (name, str(exc).splitlines()[0][:160])) \
            from None


def _objects(doc: Any) -> List[dict]:
    """One object, or the items of a List."""
    if not isinstance(doc, dict):
        return []
    if isinstance(doc.get("items"), list) and str(doc.get("kind") or "").endswith("List"):
        return [o for o in doc["items"] if isinstance(o, dict)]
    return [doc] if doc.get("metadata") else []


def _oname(obj: dict) -> str:
    return str(((obj.get("metadata") or {}).get("name")) or "")


# --------------------------------------------------------------------------- redaction

def _redact(obj: dict) -> dict:
    """What a must-gather may hold that doctor must never print or bundle: MachineConfig file contents
    (00-worker carries the pull secret) become "<n> bytes long", managedFields and the secret-bearing
    annotations go (the same rules as ``doctor --bundle``)."""
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        meta.pop("managedFields", None)
        ann = meta.get("annotations")
        if isinstance(ann, dict):
            for k in ("openshift.io/token-secret.value", "kubectl.kubernetes.io/last-applied-configuration"):
                if k in ann:
                    ann[k] = ""
    if obj.get("kind") == "MachineConfig":
        files = ((((obj.get("spec") or {}).get("config") or {}).get("storage") or {}).get("files"))
        if isinstance(files, list):
            for f in files:
                if isinstance(f, dict) and isinstance(f.get("contents"), dict) and "source" in f["contents"]:
                    f["contents"]["source"] = "%d bytes long" % len(str(f["contents"]["source"]).encode())
    return obj


# --------------------------------------------------------------------------- version files

def parse_version_file(data: bytes, warnings: Optional[List[str]] = None) -> List[NEVRA]:
    """``rpm -qa`` default output (``%{nvra}``: name-version-release.arch, no epoch) -> NEVRA with epoch 0."""
    out: List[NEVRA] = []
    text = bytes(data).decode("utf-8", "replace")
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        try:
            nevra = NEVRA.parse(line)
        except ParseError:
            nevra = None
        if nevra is None or ":" in line:
            if warnings is not None:
                warnings.append("version line %d is not an rpm NVRA: %r" % (n, line[:120]))
            continue
        out.append(nevra)
    return out


def arch_from_node(node_obj: Optional[dict]) -> Optional[str]:
    """`uname -m` of the node from its Node object (status.nodeInfo.architecture is GOARCH)."""
    goarch = ((((node_obj or {}).get("status") or {}).get("nodeInfo") or {}).get("architecture"))
    return _ARCH.get(goarch or "") or None


def node_facts_from_versions(node: MustGatherNode, node_obj: Optional[dict]) -> NodeFacts:
    """NodeFacts of what the must-gather knows about a node: the filtered package list (epochs unknown),
    the architecture and kernel from the Node object. Every probe item it lacks is in ``errors``."""
    from kubectl_kata.core.nodefacts import KEYS

    nf = NodeFacts()
    for key in KEYS:
        nf.errors[key] = "not in a must-gather"
    if node.version is not None:
        nf.packages = parse_version_file(node.version, nf.warnings)
        del nf.errors["rpm-qa"]
    info = (((node_obj or {}).get("status") or {}).get("nodeInfo") or {})
    nf.arch = arch_from_node(node_obj)
    if not nf.arch and nf.packages:
        arches = sorted({p.arch for p in nf.packages if p.arch != "noarch"})
        nf.arch = arches[0] if len(arches) == 1 else None
    nf.kernel = info.get("kernelVersion") or None
    return nf


# --------------------------------------------------------------------------- reading

def _is_tarball(path: str) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(262)
    except OSError:
        return False
    return head[:2] == b"\x1f\x8b" or head[257:262] == b"ustar" or head[:3] == b"BZh" or head[:6] == b"\xfd7zXZ\x00"


def looks_like_mustgather(path: str) -> bool:
    """Cheap recognition for the ``--from`` dispatch (directories: a bounded look at the tree)."""
    if not os.path.isdir(path):
        return False
    budget = 5000
    prefix = _prefix(path)
    for dirpath, dirnames, filenames in os.walk(path, followlinks=False):
        rel = os.path.relpath(dirpath, path).replace(os.sep, "/")
        base = prefix + ([p for p in rel.split("/") if p not in ("", ".")])
        if base and base[-1] in ("cluster-scoped-resources", "namespaces", "sandboxed-containers"):
            return True
        for f in filenames:
            budget -= 1
            if _relevant(base + [f]) is not None:
                return True
        budget -= len(dirnames)
        if budget <= 0:
            return False
    return False


def read_mustgather(path: str) -> MustGather:
    """Read a must-gather (directory or tarball) -> :class:`MustGather`. ``BundleError`` (exit 2) when it is
    unsafe, unreadable or not a must-gather at all."""
    if not os.path.exists(path):
        raise BundleError("%s does not exist" % path)
    w = _Walker()
    if os.path.isdir(path):
        members: Iterator[_Member] = _walk_dir(path, w)
    elif _is_tarball(path):
        members = _walk_tar(path, w)
    else:
        raise BundleError("%s is not a directory or a tarball: %s" % (path, NOT_A_MUSTGATHER))
    found: Dict[str, Dict[Tuple[str, str], dict]] = {}
    clusterversions: List[dict] = []
    nodes: Dict[str, MustGatherNode] = {}
    descriptions: Dict[str, bytes] = {}
    skipped: List[str] = []
    images: Set[str] = set()
    osc_ns = False
    osimageurl: Optional[dict] = None
    warnings: List[str] = []
    seen_any = False

    def node(name: str) -> Optional[MustGatherNode]:
        if not _NODE_NAME.match(name):
            warnings.append("ignored node directory %r (not a node name)" % name[:80])
            return None
        return nodes.setdefault(name, MustGatherNode(name))

    runs: Set[Tuple[str, ...]] = set()
    for m in members:
        seen_any = True
        run = _run_of(m.parts)
        if run is not None and run not in runs:
            runs.add(run)
            if len(runs) > 1:
                raise BundleError("%s holds more than one must-gather (%s); pass one of them"
                                  % (path, ", ".join(sorted("/".join(r[-2:]) for r in runs))))
        img = _image_of(m.parts)
        if img:
            images.add(img)
        kind = m.what[0]
        name = "/".join(m.parts[-4:])
        if kind == "cluster":
            for obj in _objects(load_yaml(m.data or b"", name)):
                key = m.what[1]
                if key == "clusterversions":
                    clusterversions.append(obj)
                    continue
                ns = str((obj.get("metadata") or {}).get("namespace") or "")
                found.setdefault(key, {}).setdefault((ns, _oname(obj)), _redact(obj))
        elif kind == "configmaps":
            for obj in _objects(load_yaml(m.data or b"", name)):
                if _oname(obj) == OSIMAGEURL_CM and osimageurl is None:
                    osimageurl = _redact(obj)
            found.setdefault("configmaps", {})
        elif kind == "osc-namespace":
            osc_ns = True
        elif kind == "node-version":
            n = node(m.what[1])
            if n is not None and n.version is None:
                n.version = m.data or b""
        elif kind == "node-log":
            n = node(m.what[1])
            if n is not None and m.what[2] not in n.logs:
                n.logs.append(m.what[2])
        elif kind == "node-vc":
            n = node(m.what[1])
            if n is not None:
                n.run_vc = True
        elif kind == "skipped":
            for line in (m.data or b"").decode("utf-8", "replace").splitlines():
                # "Failed to collect node-gather data from node <node> due to pod scheduling failure."
                mm = re.search(r"from node (\S+)", line)
                if mm and mm.group(1) not in skipped:
                    skipped.append(mm.group(1))
        elif kind == "description":
            descriptions.setdefault(m.what[1], m.data or b"")
    if not seen_any:
        raise BundleError("%s: %s" % (path, NOT_A_MUSTGATHER))

    facts: Dict[str, Any] = {"openshift": True}
    available: Set[str] = set()
    for key in ("nodes", "pools", "mcs", "runtimeclasses", "kataconfigs"):
        objs = found.get(key)
        facts[key] = sorted(objs.values(), key=_oname) if objs else []
        if objs is not None:
            available.add(key)
    facts["version"] = _cluster_version(clusterversions)
    if clusterversions:
        available.add("version")
    facts["osimageurl"] = osimageurl
    if "configmaps" in found:
        available.add("osimageurl")
    crds = found.get("crds") or {}
    facts["kataconfig_crd"] = any(name == KATACONFIG_CRD for _, name in crds)
    operator = bool(nodes) or bool(descriptions) or bool(skipped)
    kc_desc = descriptions.get("kataconfig_description")
    if "kataconfigs" not in available and kc_desc is not None:
        # `oc describe kataconfig` (empty when there is none): the names are all doctor takes from it
        names = re.findall(r"^Name:\s+(\S+)\s*$", kc_desc.decode("utf-8", "replace"), flags=re.M)
        facts["kataconfigs"] = [{"apiVersion": "kataconfiguration.openshift.io/v1", "kind": "KataConfig",
                                 "metadata": {"name": n}} for n in names]
        available.add("kataconfigs")
        if names:
            facts["kataconfig_crd"] = True
    # the namespace's own files (inspect's namespaces/<ns>/..., the operator pods' logs), not an empty directory:
    # the operator's must-gather image also runs on clusters without the operator
    facts["osc_namespace"] = osc_ns
    if operator:
        available.add("operator")
    if nodes:
        available.add("node-versions")
    return MustGather(path=path, facts=facts, available=available, nodes=nodes, operator=operator,
                      default=bool(available & {"pools", "mcs", "version", "osimageurl"}),
                      skipped_nodes=sorted(skipped), descriptions=descriptions, images=sorted(images),
                      ignored=list(w.ignored), warnings=warnings)


def _cluster_version(cvs: List[dict]) -> Optional[str]:
    """What runs: the last Completed history entry, else the desired version (as a live doctor reads it)."""
    for cv in cvs:
        if _oname(cv) not in ("version", ""):
            continue
        status = cv.get("status") or {}
        for entry in status.get("history") or []:
            if isinstance(entry, dict) and entry.get("state") == "Completed" and entry.get("version"):
                return str(entry["version"])
        desired = (status.get("desired") or {}).get("version")
        if desired:
            return str(desired)
    return None


# --------------------------------------------------------------------------- analysis (pure)

NOT_COLLECTED = "not collected"
# cluster check -> the facts it needs; without them the check is reported "not collected"
CLUSTER_NEEDS = {
    "cluster.extension-mc": ("pools", "mcs"),
    "cluster.rendered-config": ("pools", "mcs"),
    "cluster.pool-status": ("pools", "nodes"),
    "cluster.runtimeclass": ("runtimeclasses", "nodes", "pools"),
    "cluster.node-pools": ("nodes", "pools"),
    "cluster.operator": ("mcs", "kataconfigs"),
    "cluster.node-ready": ("nodes",),
}
_UNKNOWN_CHECK_NEEDS = ("nodes", "pools", "mcs", "runtimeclasses", "kataconfigs", "version")
_FACT_WHAT = {
    "nodes": "Node objects (cluster-scoped-resources/core/nodes)",
    "pools": "MachineConfigPools (cluster-scoped-resources/machineconfiguration.openshift.io/machineconfigpools)",
    "mcs": "MachineConfigs (cluster-scoped-resources/machineconfiguration.openshift.io/machineconfigs)",
    "runtimeclasses": "RuntimeClasses (cluster-scoped-resources/node.k8s.io/runtimeclasses)",
    "kataconfigs": "KataConfigs (kataconfiguration.openshift.io or sandboxed-containers/kataconfig_description)",
    "version": "the ClusterVersion (cluster-scoped-resources/config.openshift.io/clusterversions)",
}
# node checks a must-gather's `version` file allows; every other node check is "not collected"
NODE_CHECKS_FROM_VERSION = ("node.package-version",)
# what each node check would need that a must-gather never has
_NODE_WHY = {
    "node.collection": "the must-gather holds no doctor probe output",
    "node.extension-requested": "no `rpm-ostree status` in a must-gather",
    "node.staged-deployment": "no `rpm-ostree status` in a must-gather",
    "node.unexpected-layered": "no `rpm-ostree status` in a must-gather",
    "node.closure-complete": "no rpm Requires/Provides in a must-gather",
    "node.rpm-verify": "no `rpm -V` in a must-gather",
    "node.binary-version": "no kata binary versions in a must-gather",
    "node.qemu-path": "no file list or `kata-runtime env` in a must-gather",
    "node.crio-dropin": "no CRI-O drop-ins in a must-gather",
    "node.dev-kvm": "no /dev/kvm or CPU flags in a must-gather",
    "node.initrd": "no kata-osbuilder state in a must-gather",
    "node.os-image": "no booted OS image (rpm-ostree) in a must-gather",
    "node.legacy-leftovers": "no file list in a must-gather",
}


def _not_collected(check_id: str, subject: str, why: str, **details: Any):
    from kubectl_kata.doctor.findings import INFO, Finding

    return Finding(check_id, INFO, subject, "%s: %s" % (NOT_COLLECTED, why),
                   "collect a kubectl-kata bundle (`kubectl kata doctor --bundle`) for this check",
                   dict(details, notCollected=True))


def restrict_cluster_findings(findings: List[Any], available: Set[str]) -> List[Any]:
    """Replace the findings of every cluster check whose input the must-gather lacks by one
    ``not collected`` finding (info), so a missing file never reads as a healthy or a broken cluster."""
    from kubectl_kata.doctor.checks_cluster import SUBJECT

    out: List[Any] = []
    replaced: Set[str] = set()

    def lacking(check_id: str) -> List[str]:
        return [k for k in CLUSTER_NEEDS.get(check_id, _UNKNOWN_CHECK_NEEDS) if k not in available]

    for f in findings:
        missing = lacking(f.check_id)
        if not missing:
            out.append(f)
        elif f.check_id not in replaced:
            replaced.add(f.check_id)
            out.append(_not_collected(f.check_id, SUBJECT, "the must-gather has no %s"
                                      % " and no ".join(_FACT_WHAT.get(k, k) for k in missing), missing=missing))
    # a check that said nothing for lack of data (e.g. no pool at all) is reported too
    for check_id in CLUSTER_NEEDS:
        missing = lacking(check_id)
        if missing and check_id not in replaced:
            out.append(_not_collected(check_id, SUBJECT, "the must-gather has no %s"
                                      % " and no ".join(_FACT_WHAT.get(k, k) for k in missing), missing=missing))
    return out


def adapt_expectation(exp, installed: Dict[str, Set[str]]):
    """The expectation as a must-gather can be compared with it: only packages ``egrep
    '(kata-containers|qemu)'`` lets through (the rest is not in ``version``), epochs dropped (``rpm -qa``
    prints none), and for a flat manifest only the names some node of that arch has (``installed``:
    arch -> names)."""
    from kubectl_kata.doctor.expected import Expectation

    out = Expectation(source=exp.source, detail=exp.detail, image=exp.image, closure_known=True,
                      missing=dict(exp.missing), notes=list(exp.notes), commands=list(exp.commands))
    dropped = 0
    for arch, pk in exp.packages.items():
        have = installed.get(arch, set())
        kept: Dict[str, Optional[NEVRA]] = {}
        for name, nevra in pk.items():
            line = ("%s-%s-%s.%s" % (name, nevra.version, nevra.release, nevra.arch)) if nevra else name
            if not VERSION_FILTER.search(line) or (not exp.closure_known and name not in have):
                dropped += 1
                continue
            kept[name] = NEVRA(nevra.name, 0, nevra.version, nevra.release, nevra.arch) if nevra else None
        out.packages[arch] = kept
    out.notes.append("must-gather: the operator's `version` lists only packages matching "
                     "'(kata-containers|qemu)' and no epochs; compared on version-release%s"
                     % (" (%d expected package(s) not in that list)" % dropped if dropped else ""))
    return out


def consensus_from_versions(facts_by_node: Dict[str, NodeFacts], why: str = ""):
    """Majority NEVRA per package across the nodes whose ``version`` lists kata-containers, per arch; an even
    split yields None for that package (not compared) and a note."""
    from collections import Counter

    from kubectl_kata.doctor.expected import Expectation

    voters = {n: f for n, f in facts_by_node.items() if f.installed("kata-containers")}
    exp = Expectation(source="consensus", detail="majority across %d node(s) of the must-gather%s"
                      % (len(voters), ("; " + why) if why else ""))
    by_arch: Dict[str, Dict[str, Counter]] = {}
    holders: Dict[Tuple[str, str, NEVRA], List[str]] = {}
    for node in sorted(voters):
        nf = voters[node]
        arch = nf.arch or ""
        for p in nf.packages or []:
            by_arch.setdefault(arch, {}).setdefault(p.name, Counter())[p] += 1
            holders.setdefault((arch, p.name, p), []).append(node)
    for arch, names in sorted(by_arch.items()):
        pk: Dict[str, Optional[NEVRA]] = {}
        for name, votes in sorted(names.items()):
            ranked = votes.most_common()
            winners = [v for v, c in ranked if c == ranked[0][1]]
            if len(winners) == 1:
                pk[name] = winners[0]
            else:
                pk[name] = None
                exp.notes.append("%s: nodes disagree evenly (%s); not compared" % (name, "; ".join(
                    "%s on %s" % (w, ", ".join(holders[(arch, name, w)])) for w in sorted(winners, key=str))))
        exp.packages[arch] = pk
    return exp


def _node_extension(node: str, nf: NodeFacts, mgn: Optional[MustGatherNode], requested: Optional[bool],
                    current: Optional[str]):
    """``node.extension-requested`` from what a must-gather has: does the config the node runs (its
    currentConfig annotation -> rendered MachineConfig) request the extension, and does ``version`` list
    kata-containers."""
    from kubectl_kata.doctor.findings import ERROR, INFO, OK, WARNING, Finding

    cid = "node.extension-requested"
    kata = nf.installed("kata-containers")
    details = {"source": "must-gather", "currentConfig": current, "requested": requested,
               "installed": str(kata[0]) if kata else None}
    if requested is None:
        return _not_collected(cid, node, "the must-gather has no rendered MachineConfig for the node's current "
                              "config %s" % (current or "(no annotation)"), **details)
    empty = not (mgn.version or b"").strip()
    if requested and kata:
        return Finding(cid, OK, node, "current config %s requests the extension and rpm -qa lists %s"
                       % (current, kata[0]), "", details)
    if requested and empty:
        return Finding(cid, WARNING, node, "current config %s requests the extension but the must-gather's rpm -qa "
                       "for the node is empty (kata not installed, or `oc debug` failed while gathering)" % current,
                       "run `oc debug node/%s -- chroot /host rpm -q kata-containers`" % node, details)
    if requested:
        return Finding(cid, ERROR, node, "current config %s requests the extension but rpm -qa lists no "
                       "kata-containers" % current,
                       "the extension was not applied (OCPBUGS-65645); check the node's "
                       "machineconfiguration.openshift.io/reason and re-trigger the MCO update", details)
    if kata:
        return Finding(cid, WARNING, node, "%s is installed but the node's current config %s does not request the "
                       "extension" % (kata[0], current), "check for a manual `rpm-ostree install`", details)
    return Finding(cid, INFO, node, "current config %s does not request the sandboxed-containers extension; "
                   "kata-containers is not installed" % current,
                   "enable it with `kubectl kata enable` if this node should run kata pods", details)


def mustgather_scope(mg: MustGather) -> Dict[str, Any]:
    """The pool doctor would pick live, and its nodes; without MachineConfigPools every node the operator's
    must-gather covers."""
    from kubectl_kata.core.statusreport import detect_pool
    from kubectl_kata.doctor.checks_cluster import pool_nodes

    pool = None
    if "pools" in mg.available:
        pool = detect_pool(mg.facts)
    if pool and "nodes" in mg.available:
        return {"pool": pool, "nodes": pool_nodes(mg.facts, pool), "selector": None}
    known = set(mg.nodes) | {_oname(n) for n in mg.facts.get("nodes") or []}
    # no pools: the nodes of the role a live doctor would pick (kata-oc, else worker), by their role label
    for role in ("kata-oc", "worker"):
        label = "node-role.kubernetes.io/" + role
        names = sorted(_oname(n) for n in mg.facts.get("nodes") or []
                       if label in (((n.get("metadata") or {}).get("labels")) or {}))
        if names:
            return {"pool": None, "nodes": names, "selector": label}
    return {"pool": None, "nodes": sorted(known), "selector": None}


def node_facts_map(mg: MustGather, names: List[str]) -> Dict[str, NodeFacts]:
    by_name = {_oname(n): n for n in mg.facts.get("nodes") or []}
    return {n: node_facts_from_versions(mg.nodes[n], by_name.get(n)) for n in names
            if n in mg.nodes and mg.nodes[n].version is not None}


def analyse_mustgather(mg: MustGather, expected_file: Optional[str] = None,
                       load_expected: Optional[Callable[..., Any]] = None) -> Dict[str, Any]:
    """The doctor report of a must-gather (same document as a live run, plus ``source``)."""
    from kubectl_kata.core.statusreport import rendered_includes_extension
    from kubectl_kata.doctor.checks_cluster import SUBJECT, check_cluster
    from kubectl_kata.doctor.checks_node import check_node
    from kubectl_kata.doctor.findings import ERROR, INFO, OK, NODE_CHECK_IDS, Finding
    from kubectl_kata.doctor.report import build_report

    from kubectl_kata.doctor.analysis import _node_context as node_context

    facts = mg.facts
    scope = mustgather_scope(mg)
    names = scope["nodes"]
    version = facts.get("version")
    by_name = {_oname(n): n for n in facts.get("nodes") or []}
    nfs = node_facts_map(mg, names)
    arches = sorted({f.arch for f in nfs.values() if f.arch}) or ["x86_64"]
    if expected_file:
        exp = (load_expected or _load_expected)(expected_file, arches)
    else:
        exp = consensus_from_versions(nfs, "no release data offline; pass --expected FILE to compare with the "
                                           "release" if nfs else "the must-gather has no node package lists")
    installed: Dict[str, Set[str]] = {}
    for nf in nfs.values():
        installed.setdefault(nf.arch or "", set()).update(p.name for p in nf.packages or [])
    exp = adapt_expectation(exp, installed)

    cluster = restrict_cluster_findings(check_cluster(facts, scope["pool"], names), mg.available)
    detail = {"source": exp.source, "detail": exp.detail, "image": exp.image}
    if exp.source == "consensus":
        cluster.append(Finding("cluster.expected-source", INFO, SUBJECT,
                               "expected versions from pool consensus (%s)" % exp.detail,
                               "pass --expected FILE to compare against the release", detail))
    else:
        cluster.append(Finding("cluster.expected-source", OK, SUBJECT, "expected versions from %s: %s%s" % (
            exp.source, exp.detail, (" " + exp.image) if exp.image else ""), "", detail))
        for arch in sorted({f.arch for f in nfs.values() if f.arch}):
            nodes = sorted(n for n, f in nfs.items() if f.arch == arch)
            if arch in exp.missing or not exp.packages.get(arch):
                why = exp.missing.get(arch) or "no expected packages for %s" % arch
                cluster.append(Finding("cluster.extension-available", ERROR, SUBJECT, "%s (nodes: %s)"
                                       % (why, ", ".join(nodes)), "the sandboxed-containers extension cannot be "
                                       "installed on %s nodes of this release" % arch, {"arch": arch, "nodes": nodes}))
            else:
                cluster.append(Finding("cluster.extension-available", OK, SUBJECT, "expected set has %s for %s"
                                       % (exp.packages[arch].get("kata-containers"), arch), "", {"arch": arch}))

    node_findings: Dict[str, List[Any]] = {}
    for node in names:
        fs: List[Any] = []
        mgn = mg.nodes.get(node)
        nf = nfs.get(node)
        if nf is None:
            why = ("the operator's must-gather has no nodes/%s/version" % node) if mg.operator else \
                "no sandboxed containers operator must-gather (nodes/<node>/version)"
            for cid in NODE_CHECK_IDS:
                fs.append(_not_collected(cid, node, why))
            node_findings[node] = fs
            continue
        if nf.warnings:
            fs.append(Finding("node.collection", INFO, node, "%d line(s) of nodes/%s/version could not be parsed "
                              "and were skipped" % (len(nf.warnings), node), "", {"warnings": list(nf.warnings)}))
        ann = ((by_name.get(node) or {}).get("metadata") or {}).get("annotations") or {}
        current = ann.get(ANN_CURRENT_CONFIG)
        requested = rendered_includes_extension(facts, None, current) if ("mcs" in mg.available and current) \
            else None
        fs.append(_node_extension(node, nf, mgn, requested, current))
        expected = exp.for_node(nf.arch, ())
        # what the cluster objects say the node should have, exactly as a live run computes it (missing objects
        # leave the fields unknown)
        ctx = node_context(facts, by_name.get(node), version)
        if ctx.rollout_pending is None:
            ctx.rollout_pending = _rollout_pending(ann)
        for f in check_node(node, nf, expected, ctx):
            if f.check_id in NODE_CHECKS_FROM_VERSION:
                fs.append(_offline_cause(f))
        ran = {f.check_id for f in fs}
        for cid in NODE_CHECK_IDS:
            if cid not in ran and cid not in NODE_CHECKS_FROM_VERSION:
                fs.append(_not_collected(cid, node, _NODE_WHY.get(cid, "not in a must-gather")))
        if "node.package-version" not in ran and not nf.installed("kata-containers"):
            fs.append(Finding("node.package-version", INFO, node, "no kata-containers in the node's rpm -qa; "
                              "versions not compared", "", {"packages": [str(p) for p in nf.packages or []]}))
        node_findings[node] = fs
    doc = build_report(cluster_findings=cluster, node_findings=node_findings, scope=scope, version=version,
                       expected=exp.to_dict())
    doc["source"] = mg.source_doc()
    return doc


def _rollout_pending(ann: Mapping[str, Any]) -> Optional[bool]:
    """Without the pools: the node's currentConfig is not its desiredConfig (the MCO is updating it)."""
    current, desired = ann.get(ANN_CURRENT_CONFIG), ann.get(ANN_DESIRED_CONFIG)
    return (current != desired) if (current and desired) else None


def _offline_cause(f):
    """A package finding whose cause the checks could not name: say why (no rpm-ostree status offline) instead
    of listing causes a must-gather cannot rule out."""
    from kubectl_kata.doctor.findings import Finding

    if f.check_id != "node.package-version" or (f.details or {}).get("cause") != "unknown":
        return f
    head = f.message.split(": ", 1)[0]
    return Finding(f.check_id, f.severity, f.subject,
                   "%s: cause not known from a must-gather (no rpm-ostree status: overrides, a staged deployment "
                   "and the booted OS image cannot be checked)" % head,
                   "run `kubectl kata doctor --node %s` on the cluster (or `rpm-ostree status` on the node) to see "
                   "whether an override, a staged deployment or the OS image explains it" % f.subject,
                   dict(f.details, cause="unknown-offline"))


def _load_expected(path: str, arches: List[str]):
    from kubectl_kata.doctor.expected import ExpectationError, load_expected_file
    from kubectl_kata.errors import UsageProblem

    try:
        return load_expected_file(path, arches)
    except ExpectationError as exc:
        raise UsageProblem("--expected: %s" % exc) from None
