"""Expected package versions for doctor: from the release's extensions image, a file, or pool consensus.

Sources (the report names the one used, ``Expectation.source``):

* ``release``: the extensions image of the running release (DOMAIN 1.5) -- ConfigMap
  ``openshift-machine-config-operator/machine-config-osimageurl`` key ``baseOSExtensionsContainerImage``, else
  the pool's rendered MachineConfig ``spec.baseOSExtensionsContainerImage``; on 4.11 and older the repo sits in
  ``machine-os-content`` (the ConfigMap's / rendered ``osImageURL``) under ``/extensions/``. The repo metadata is
  copied out with ``oc image extract IMAGE --path SRC:DIR --confirm --filter-by-os=linux/<arch>`` (4.12+:
  ``/usr/share/rpm-ostree/`` holding ``extensions/repodata`` and, 4.19+, the flat ``extensions.json``; DOMAIN
  1.6). The cluster pull secret goes to oc with ``--registry-config`` from a 0600 file in a private temp
  directory that is removed in a ``finally``; its path and content are never printed or recorded.
  ``primary.xml`` is parsed with defusedxml and the closure of ``kata-containers`` computed per arch.
* ``file`` (``--expected FILE``): an ``extensions.json`` flat manifest, a repodata directory (containing
  ``repodata/repomd.xml``) or a saved expectation (``kind: DoctorExpectation``, what ``--bundle`` stores).
* ``consensus``: the majority NEVRA across the probed nodes of each package the extension layers (its closure
  beyond the base OS image, which each node's probe lists); base OS packages are never "expected".

A flat manifest has no dependency data: then only the packages a node actually has in its kata closure (and
kata-containers itself) are compared (``closure_known = False``).
"""
from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional

from kubectl_kata.core.closure import expected_closure
from kubectl_kata.core.parse.errors import ParseError
from kubectl_kata.core.parse.repodata import parse_extensions_json, parse_primary, primary_location
from kubectl_kata.core.rpm import NEVRA
from kubectl_kata.core.support import extensions_image_source, parse_ocp_version

__all__ = ["Expectation", "ExpectationError", "load_expected_file", "from_repo_dir", "from_flat_manifest",
           "from_consensus", "locate_extensions_image", "extract_from_release", "goarch", "API_VERSION",
           "KIND", "KATA"]

API_VERSION = "kata.kubectl.io/v1"
KIND = "DoctorExpectation"
KATA = "kata-containers"
MAX_FILE_BYTES = 64 * 1024 * 1024
_GOARCH = {"x86_64": "amd64", "aarch64": "arm64", "s390x": "s390x", "ppc64le": "ppc64le"}


class ExpectationError(Exception):
    """The expected package set could not be obtained (message is one line, safe to print)."""


def goarch(arch: str) -> str:
    return _GOARCH.get(arch, arch)


@dataclass
class Expectation:
    source: str                                   # release | file | consensus | none
    detail: str = ""
    image: Optional[str] = None
    closure_known: bool = True
    packages: Dict[str, Dict[str, Optional[NEVRA]]] = field(default_factory=dict)   # arch -> name -> NEVRA
    missing: Dict[str, str] = field(default_factory=dict)   # arch -> why kata-containers has no expectation
    # arch -> requirements of the repo's closure the repo itself does not satisfy ({package, requirement}); they
    # must come from the base OS (analysis checks them against the probed nodes' base packages)
    unsatisfied: Dict[str, List[Dict[str, str]]] = field(default_factory=dict)
    notes: List[str] = field(default_factory=list)
    commands: List[List[str]] = field(default_factory=list)  # redacted argv of what ran

    def for_node(self, arch: Optional[str], closure_names: Iterable[str] = ()) -> Optional[Dict[str, Optional[NEVRA]]]:
        """The expected set for a node of ``arch`` (None = nothing known: versions are not compared)."""
        pk = self.packages.get(arch or "")
        if pk is None and len(self.packages) == 1 and self.source == "consensus":
            pk = next(iter(self.packages.values()))
        if not pk:
            return None
        if self.closure_known:
            return dict(pk)
        wanted = set(closure_names) | {KATA}
        return {n: v for n, v in pk.items() if n in wanted}

    def to_dict(self) -> Dict[str, Any]:
        return {
            "apiVersion": API_VERSION, "kind": KIND, "source": self.source, "detail": self.detail,
            "image": self.image, "closureKnown": self.closure_known,
            "arches": {a: {"packages": {n: (str(v) if v is not None else None) for n, v in sorted(p.items())},
                           "missing": self.missing.get(a)}
                       for a, p in sorted(self.packages.items())},
            "missing": dict(sorted(self.missing.items())),
            "unsatisfied": {a: list(u) for a, u in sorted(self.unsatisfied.items())},
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, doc: Any, what: str = "expectation") -> "Expectation":
        if not isinstance(doc, dict) or doc.get("kind") != KIND:
            raise ExpectationError("%s: not a %s document" % (what, KIND))
        arches = doc.get("arches") or {}
        if not isinstance(arches, dict):
            raise ExpectationError("%s: 'arches' is not an object" % what)
        out = cls(source=str(doc.get("source") or "file"), detail=str(doc.get("detail") or ""),
                  image=doc.get("image") if isinstance(doc.get("image"), str) else None,
                  closure_known=bool(doc.get("closureKnown", True)))
        for arch, body in arches.items():
            if body is not None and not isinstance(body, dict):
                raise ExpectationError("%s: field arches.%s is not an object" % (what, arch))
            pk = (body or {}).get("packages") or {}
            if not isinstance(pk, dict):
                raise ExpectationError("%s: field arches.%s.packages is not an object" % (what, arch))
            out.packages[str(arch)] = {}
            for n, v in pk.items():
                try:
                    out.packages[str(arch)][str(n)] = NEVRA.parse(v) if v is not None else None
                except (ParseError, AttributeError, TypeError) as exc:
                    raise ExpectationError("%s: field arches.%s.packages.%s: %s" % (what, arch, n, exc)) from None
        missing = doc.get("missing") or {}
        if isinstance(missing, dict):
            out.missing = {str(k): str(v) for k, v in missing.items()}
        unsat = doc.get("unsatisfied") or {}
        if isinstance(unsat, dict):
            for arch, rows in unsat.items():
                if isinstance(rows, list):
                    out.unsatisfied[str(arch)] = [
                        {"package": str(r.get("package", "")), "requirement": str(r.get("requirement", ""))}
                        for r in rows if isinstance(r, dict) and isinstance(r.get("requirement"), str)]
        notes = doc.get("notes") or []
        out.notes = [str(n) for n in notes] if isinstance(notes, list) else []
        return out


# --------------------------------------------------------------------------- repo / manifest readers

def _read(path: str, limit: int = MAX_FILE_BYTES) -> bytes:
    st = os.stat(path)
    if not stat.S_ISREG(st.st_mode):
        raise ExpectationError("%s is not a regular file" % path)
    if st.st_size > limit:
        raise ExpectationError("%s is larger than %d bytes" % (path, limit))
    with open(path, "rb") as fh:
        return fh.read(limit + 1)


def _inside(root: str, rel: str) -> str:
    full = os.path.realpath(os.path.join(root, rel))
    base = os.path.realpath(root)
    if not (full == base or full.startswith(base + os.sep)):
        raise ExpectationError("repomd.xml points outside the repo: %s" % rel)
    return full


def repo_packages(repo_dir: str):
    """Parsed ``primary.xml`` packages of the repo at ``repo_dir`` (holding ``repodata/repomd.xml``)."""
    try:
        loc = primary_location(_read(os.path.join(repo_dir, "repodata", "repomd.xml")))
        return parse_primary(_read(_inside(repo_dir, loc)))
    except ParseError as exc:
        raise ExpectationError("repo %s: %s" % (repo_dir, exc)) from None
    except OSError as exc:
        raise ExpectationError("repo %s: %s" % (repo_dir, exc.strerror or exc)) from None


def from_repo_dir(repo_dir: str, arches: Iterable[str], source: str, detail: str,
                  image: Optional[str] = None) -> Expectation:
    pkgs = repo_packages(repo_dir)
    exp = Expectation(source=source, detail=detail, image=image)
    for arch in sorted(set(arches)):
        clos = expected_closure(pkgs, arch)
        if clos.missing_roots:
            exp.packages[arch] = {}
            have = sorted({p.arch for p in pkgs if p.name == KATA})
            exp.missing[arch] = ("kata-containers is not in the extensions repo for %s%s" % (
                arch, (" (only for %s)" % ", ".join(have)) if have else ""))
            continue
        exp.packages[arch] = dict(clos.nevras())
        exp.unsatisfied[arch] = [{"package": u.package, "requirement": u.requirement} for u in clos.unsatisfied]
    return exp


def from_flat_manifest(data: bytes, arches: Iterable[str], source: str, detail: str,
                       image: Optional[str] = None) -> Expectation:
    try:
        manifest = parse_extensions_json(data)
    except ParseError as exc:
        raise ExpectationError(str(exc)) from None
    exp = Expectation(source=source, detail=detail, image=image, closure_known=False)
    for arch in sorted(set(arches)):
        pk = {n: v for n, v in manifest.items() if v.arch in (arch, "noarch")}
        if KATA not in pk:
            exp.missing[arch] = "kata-containers is not in extensions.json for %s" % arch
            exp.packages[arch] = {}
        else:
            exp.packages[arch] = pk
    return exp


def load_expected_file(path: str, arches: Iterable[str]) -> Expectation:
    """``--expected PATH``: a repodata dir, an extensions.json or a saved DoctorExpectation."""
    arches = list(arches)
    if os.path.isdir(path):
        for cand in (path, os.path.join(path, "extensions")):
            if os.path.isfile(os.path.join(cand, "repodata", "repomd.xml")):
                return from_repo_dir(cand, arches, "file", "repodata directory %s" % path)
        if os.path.isfile(os.path.join(path, "extensions.json")):
            return from_flat_manifest(_read(os.path.join(path, "extensions.json")), arches, "file",
                                      "extensions.json in %s" % path)
        raise ExpectationError("%s holds neither repodata/repomd.xml nor extensions.json" % path)
    try:
        data = _read(path)
    except OSError as exc:
        raise ExpectationError("cannot read %s: %s" % (path, exc.strerror or exc)) from None
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ExpectationError("%s is not JSON (expected extensions.json, a DoctorExpectation or a repodata "
                               "directory)" % path) from None
    if isinstance(doc, dict) and doc.get("kind") == KIND:
        exp = Expectation.from_dict(doc, path)
        exp.notes.append("loaded from %s (originally: %s%s)" % (path, exp.source, (", " + exp.detail) if exp.detail
                                                                 else ""))
        exp.source, exp.detail = "file", "saved expectation %s" % path
        return exp
    return from_flat_manifest(data, arches, "file", "extensions.json %s" % path)


def from_consensus(facts_by_node: Mapping[str, Any], arch_of: Callable[[str], Optional[str]],
                   why: str = "") -> Expectation:
    """Majority NEVRA per closure package, per architecture."""
    from kubectl_kata.doctor.checks_node import consensus_expected

    exp = Expectation(source="consensus", detail="majority across %d probed node(s)%s" % (
        len(facts_by_node), ("; " + why) if why else ""))
    by_arch: Dict[str, Dict[str, Any]] = {}
    for node, facts in facts_by_node.items():
        by_arch.setdefault(arch_of(node) or "", {})[node] = facts
    for arch, group in sorted(by_arch.items()):
        cons = consensus_expected(group)
        exp.packages[arch] = dict(cons)
        if cons.base_unknown:
            exp.notes.append("base OS package set unknown on %s (%s): only packages shown to be layered were "
                             "compared there" % (", ".join(sorted(cons.base_unknown)),
                                                 "; ".join(sorted(set(cons.base_unknown.values())))))
        for name, sides in sorted(cons.ties.items()):
            exp.notes.append("%s: nodes disagree evenly (%s); not compared" % (
                name, "; ".join("%s on %s" % (n, ", ".join(v)) for n, v in sorted(sides.items()))))
    return exp


# --------------------------------------------------------------------------- release

def locate_extensions_image(osimageurl_cm: Optional[dict], rendered_mc: Optional[dict],
                            version: Optional[str]) -> Optional[Dict[str, str]]:
    """``{"image", "repo_path", "found_in"}`` for the release, or None when nothing names it."""
    data = ((osimageurl_cm or {}).get("data")) or {}
    spec = ((rendered_mc or {}).get("spec")) or {}
    old = False
    if version:
        try:
            old = tuple(parse_ocp_version(version)[:2]) <= (4, 11)
        except ValueError:
            old = False
    if old:
        src = extensions_image_source(version)
        for where, img in (("ConfigMap machine-config-osimageurl osImageURL", data.get("osImageURL")),
                           ("rendered MachineConfig osImageURL", spec.get("osImageURL"))):
            if img:
                return {"image": img, "repo_path": src.repo_path, "found_in": where}
        return None
    for where, img in (("ConfigMap machine-config-osimageurl baseOSExtensionsContainerImage",
                        data.get("baseOSExtensionsContainerImage")),
                       ("rendered MachineConfig baseOSExtensionsContainerImage",
                        spec.get("baseOSExtensionsContainerImage"))):
        if img:
            return {"image": img, "repo_path": "/usr/share/rpm-ostree/", "found_in": where}
    return None


RunFn = Callable[[List[str], float], Any]   # (argv, timeout) -> ProcOutcome-like (rc, stderr, stopped...)


def extract_from_release(image_info: Dict[str, str], arches: Iterable[str], *, oc_path: str,
                         pull_secret: Optional[bytes], run: RunFn, global_flags: List[str],
                         version: Optional[str], timeout_s: float = 300.0) -> Expectation:
    """``oc image extract`` the repo metadata per arch and compute the expected closure."""
    image, repo_path = image_info["image"], image_info["repo_path"]
    detail = "extensions image of OpenShift %s (named in %s)" % (version or "?", image_info.get("found_in", ""))
    merged = Expectation(source="release", detail=detail, image=image)
    tmp = tempfile.mkdtemp(prefix="kata-doctor-expected-")
    try:
        os.chmod(tmp, 0o700)
        auth_args: List[str] = []
        if pull_secret:
            auth = os.path.join(tmp, "auth.json")
            fd = os.open(auth, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(pull_secret)
            auth_args = ["--registry-config=" + auth]
        for arch in sorted(set(arches)):
            dest = os.path.join(tmp, "x-" + goarch(arch))
            os.mkdir(dest)
            argv = [oc_path] + global_flags + ["image", "extract", image, "--path", "%s:%s" % (repo_path, dest),
                                               "--confirm", "--filter-by-os=linux/" + goarch(arch)] + auth_args
            shown = [a if not a.startswith("--registry-config=") else "--registry-config=<pull secret>"
                     for a in argv]
            shown = [a.replace(dest, "<tmpdir>") for a in shown]
            merged.commands.append(shown)
            out = run(argv, timeout_s)
            if getattr(out, "start_error", None):
                raise ExpectationError("cannot run %s" % out.start_error)
            if getattr(out, "stopped", False):
                raise ExpectationError("oc image extract %s took longer than %gs" % (image, timeout_s))
            if out.rc != 0:
                err = out.stderr.decode("utf-8", "replace").strip().splitlines()
                line = next((ln for ln in reversed(err) if ln.startswith("error")), err[-1] if err else "")
                raise ExpectationError("oc image extract %s failed: %s" % (image, line.replace(tmp, "<tmpdir>")))
            repo = dest if os.path.isfile(os.path.join(dest, "repodata", "repomd.xml")) else \
                os.path.join(dest, "extensions")
            if os.path.isfile(os.path.join(repo, "repodata", "repomd.xml")):
                one = from_repo_dir(repo, [arch], "release", detail, image)
            elif os.path.isfile(os.path.join(dest, "extensions.json")):
                one = from_flat_manifest(_read(os.path.join(dest, "extensions.json")), [arch], "release", detail,
                                         image)
            else:
                raise ExpectationError("image %s has no extensions repo at %s" % (image, repo_path))
            merged.packages.update(one.packages)
            merged.missing.update(one.missing)
            merged.unsatisfied.update(one.unsatisfied)
            merged.closure_known = merged.closure_known and one.closure_known
        return merged
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
