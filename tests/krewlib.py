"""Helpers for the packaging tests: krew's validator and installer rules, pyenv interpreters.

The rules mirror krew v0.4.x (internal/index/validation/validate.go, cmd/validate-krew-manifest,
internal/download/downloader.go extractTARGZ, internal/installation/move.go) as summarised in
DOMAIN.md section 8. They are reimplemented here because the krew binary cannot be fetched on
these machines.
"""
from __future__ import annotations

import glob
import io
import os
import posixpath
import re
import shutil
import subprocess
import tarfile
from typing import Dict, List, Optional, Tuple

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

API_VERSION = "krew.googlecontainertools.github.com/v1alpha2"
NAME_RE = re.compile(r"^[\w-]+$")
SHA_RE = re.compile(r"^[a-f0-9]{64}$")
# semver 2.0.0 with krew's mandatory leading "v"
SEMVER_RE = re.compile(r"^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
                       r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
                       r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$")
WINDOWS_FORBIDDEN = {"CON", "PRN", "AUX", "NUL"} | {f"COM{i}" for i in range(1, 10)} | {f"LPT{i}" for i in range(1, 10)}
LICENSE_NAMES = {"license", "license.txt", "license.md", "licenses", "licenses.txt", "licenses.md", "copying",
                 "copying.txt"}
# os/arch pairs cmd/validate-krew-manifest installs for (one platform at most may match each)
ALL_PLATFORMS = [("darwin", "amd64"), ("darwin", "arm64"), ("linux", "386"), ("linux", "amd64"), ("linux", "arm"),
                 ("linux", "arm64"), ("linux", "ppc64le"), ("windows", "386"), ("windows", "amd64"),
                 ("windows", "arm64")]


class ManifestError(Exception):
    pass


def selector_matches(sel: dict, labels: Dict[str, str]) -> bool:
    for k, v in (sel.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for expr in sel.get("matchExpressions") or []:
        op, key, values = expr.get("operator"), expr.get("key"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def validate_manifest(doc: dict, file_name: str) -> None:
    """Raise ManifestError on anything krew's validator (and validate-krew-manifest) rejects."""
    name = os.path.splitext(os.path.basename(file_name))[0]
    if doc.get("apiVersion") != API_VERSION:
        raise ManifestError(f"apiVersion {doc.get('apiVersion')!r}")
    if doc.get("kind") != "Plugin":
        raise ManifestError(f"kind {doc.get('kind')!r}")
    if not NAME_RE.match(name) or name.upper() in WINDOWS_FORBIDDEN:
        raise ManifestError(f"plugin name {name!r} not allowed")
    if (doc.get("metadata") or {}).get("name") != name:
        raise ManifestError(f"plugin should be named {name!r}")
    spec = doc.get("spec") or {}
    short = spec.get("shortDescription") or ""
    if not short or "\n" in short or "\r" in short:
        raise ManifestError("shortDescription empty or with line breaks")
    if not spec.get("version") or not SEMVER_RE.match(str(spec["version"])):
        raise ManifestError(f"version {spec.get('version')!r} is not semver with a leading v")
    platforms = spec.get("platforms") or []
    if not platforms:
        raise ManifestError("no platform")
    for p in platforms:
        for key in ("uri", "sha256", "bin"):
            if not p.get(key):
                raise ManifestError(f"`{key}` has to be set")
        if not SHA_RE.match(p["sha256"]):
            raise ManifestError(f"sha256 {p['sha256']} does not match {SHA_RE.pattern}")
        if "files" in p:
            if not p["files"]:
                raise ManifestError("`files` has to be unspecified or non-empty")
            for op in p["files"]:
                if not op.get("from") or not op.get("to"):
                    raise ManifestError("`from` and `to` have to be set")
                if op["to"] != posixpath.normpath(op["to"]):
                    raise ManifestError(f"the provided path is not clean: {op['to']}")
        sel = p.get("selector")
        if not sel or (sel.get("matchLabels") is None and not sel.get("matchExpressions")):
            raise ManifestError("nil or empty selector")
        keys = list((sel.get("matchLabels") or {}).keys()) + [e.get("key") for e in sel.get("matchExpressions") or []]
        if any(k not in ("os", "arch") for k in keys):
            raise ManifestError(f"selector keys {keys} not supported")
        if sel.get("matchLabels") is not None and not sel["matchLabels"]:
            raise ManifestError("`matchLabels` specified but empty")
    for os_name, arch in ALL_PLATFORMS:
        matched = [p for p in platforms if selector_matches(p["selector"], {"os": os_name, "arch": arch})]
        if len(matched) > 1:
            raise ManifestError(f"{os_name}/{arch} is matched by {len(matched)} platforms")
        if matched and os_name == "windows" and not matched[0]["bin"].endswith(".exe"):
            raise ManifestError("windows bin must end in .exe")


def krew_extract(archive_bytes: bytes, target: str) -> None:
    """extractArchive: sniff gzip, then only directories and regular files, no suspicious paths."""
    if archive_bytes[:2] != b"\x1f\x8b":
        raise ManifestError("not a gzip archive (krew accepts only zip or tar.gz)")
    with tarfile.open(fileobj=io.BytesIO(archive_bytes), mode="r:gz") as tar:
        for m in tar.getmembers():
            if m.name == "pax_global_header":
                continue
            if ".." in m.name or m.name.startswith(("/", "\\")):
                raise ManifestError(f"refusing suspicious entry {m.name}")
            path = os.path.join(target, *m.name.split("/"))
            if m.isdir():
                os.makedirs(path, mode=m.mode, exist_ok=True)
            elif m.isreg():
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with tar.extractfile(m) as src, open(path, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                os.chmod(path, m.mode)
            else:
                raise ManifestError(f"unable to handle file type {m.type!r} for {m.name!r} in tar")


def krew_move(src_dir: str, install_dir: str, files: Optional[List[dict]]) -> None:
    """moveToInstallDir: each from/to (direct file or glob) into the install dir."""
    ops = files if files is not None else [{"from": "*", "to": "."}]
    os.makedirs(install_dir, exist_ok=True)
    for op in ops:
        direct = os.path.normpath(os.path.join(src_dir, op["from"]))
        if os.path.exists(direct):
            to = os.path.basename(direct) if os.path.normpath(op["to"]) == "." else op["to"]
            dest = os.path.join(install_dir, to)
            moves = [(direct, dest)]
        else:
            matches = glob.glob(os.path.join(src_dir, op["from"]))
            if not matches:
                raise ManifestError(f"no files in the plugin archive matched the glob pattern={op['from']}")
            moves = [(m, os.path.join(install_dir, op["to"], os.path.basename(m))) for m in matches]
        for frm, to in moves:
            if not os.path.abspath(to).startswith(os.path.abspath(install_dir) + os.sep):
                raise ManifestError(f"move target {to} out of bounds")
            os.makedirs(os.path.dirname(to), exist_ok=True)
            shutil.move(frm, to)


def krew_install(doc: dict, archive: str, krew_root: str, os_name: str, arch: str) -> Tuple[str, str]:
    """Install like `kubectl krew install --manifest --archive`; returns (install dir, bin symlink)."""
    spec = doc["spec"]
    platform = [p for p in spec["platforms"] if selector_matches(p["selector"], {"os": os_name, "arch": arch})]
    if len(platform) != 1:
        raise ManifestError(f"no single platform for {os_name}/{arch}")
    p = platform[0]
    data = open(archive, "rb").read()
    import hashlib

    if hashlib.sha256(data).hexdigest() != p["sha256"]:
        raise ManifestError("archive sha256 does not match the manifest")
    name = doc["metadata"]["name"]
    staging = os.path.join(krew_root, "staging", name)
    krew_extract(data, staging)
    install_dir = os.path.join(krew_root, "store", name, spec["version"])
    krew_move(staging, install_dir, p.get("files"))
    if not any(f.lower() in LICENSE_NAMES for f in os.listdir(install_dir)):
        raise ManifestError("no license file in the install directory")
    bin_path = os.path.join(install_dir, *p["bin"].split("/"))
    if not os.path.isfile(bin_path):
        raise ManifestError(f"bin {p['bin']} not found in the archive")
    bin_dir = os.path.join(krew_root, "bin")
    os.makedirs(bin_dir, exist_ok=True)
    link = os.path.join(bin_dir, "kubectl-" + name.replace("-", "_"))
    os.symlink(bin_path, link)  # krew links only `bin`
    return install_dir, link


# -- interpreters -----------------------------------------------------------------------------
def pyenv_pythons() -> List[Tuple[Tuple[int, int], str]]:
    """[(version, python3 path)] of every pyenv CPython >= 3.9, sorted; fails clearly if pyenv is missing."""
    root = os.environ.get("PYENV_ROOT")
    if not root:
        try:
            root = subprocess.run(["pyenv", "root"], capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            root = os.path.expanduser("~/.pyenv")
    found = []
    for path in glob.glob(os.path.join(root, "versions", "*", "bin", "python3")):
        m = re.match(r"^(\d+)\.(\d+)\.(\d+)$", os.path.basename(os.path.dirname(os.path.dirname(path))))
        if m and (int(m.group(1)), int(m.group(2))) >= (3, 9):
            found.append(((int(m.group(1)), int(m.group(2))), path))
    if not found:
        pytest.fail(f"no pyenv CPython >= 3.9 under {root}/versions: the packaging tests need the oldest (3.9) "
                    "and newest Python from pyenv (install pyenv and `pyenv install 3.9 3.13`)")
    return sorted(found)


def oldest_and_newest() -> List[str]:
    pys = pyenv_pythons()
    if pys[0][0] != (3, 9):
        pytest.fail(f"the oldest pyenv Python is {pys[0][0]}, the packaging tests need 3.9 (the lowest supported)")
    return [pys[0][1], pys[-1][1]] if len(pys) > 1 else [pys[0][1]]


def pyenv_older_than_39() -> Optional[str]:
    root = os.path.dirname(os.path.dirname(os.path.dirname(pyenv_pythons()[0][1])))
    for path in sorted(glob.glob(os.path.join(root, "*", "bin", "python3"))):
        m = re.match(r"^3\.(\d+)\.", os.path.basename(os.path.dirname(os.path.dirname(path))))
        if m and 6 <= int(m.group(1)) < 9:
            return path
    return None


@pytest.fixture(scope="session")
def krew_build(tmp_path_factory):
    """Build the archive once per session (offline, from krew/wheels) -> (archive, sha256, manifest path)."""
    from krew.build import build

    out = str(tmp_path_factory.mktemp("krew-dist"))
    archive, digest = build(out, manifest_path=None)
    return archive, digest, os.path.join(out, "kata.yaml")


@pytest.fixture(scope="session")
def krew_installed(krew_build, tmp_path_factory):
    """The archive installed as krew would for linux/amd64 -> (install dir, bin symlink, krew root)."""
    import yaml

    archive, _, manifest = krew_build
    root = str(tmp_path_factory.mktemp("krew-root"))
    doc = yaml.safe_load(open(manifest))
    install_dir, link = krew_install(doc, archive, root, "linux", "amd64")
    return install_dir, link, root
