"""The krew archive and manifest: krew's validation rules, a krew-style install, and the unpacked
executables running under the oldest (3.9) and newest pyenv Pythons."""
from __future__ import annotations

import copy
import hashlib
import os
import re
import subprocess
import tarfile
import zipfile

import pytest
import yaml

from kubectl_kata import __version__
from krew import build as kbuild
from tests.krewlib import (LICENSE_NAMES, ManifestError, krew_extract, krew_install, oldest_and_newest,
                           pyenv_older_than_39, validate_manifest)

ROOT = kbuild.ROOT


def _doc(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def _run(py, exe, *args, env=None):
    e = dict(os.environ)
    e.pop("PYTHONPATH", None)
    e.update(env or {})
    return subprocess.run([py, exe, *args], capture_output=True, text=True, timeout=60, env=e)


# -- manifest -------------------------------------------------------------------------------------
def test_built_manifest_passes_krew_validation_and_names_the_archive(krew_build):
    archive, digest, manifest = krew_build
    doc = _doc(manifest)
    validate_manifest(doc, "kata.yaml")
    spec = doc["spec"]
    assert doc["metadata"]["name"] == "kata"
    assert spec["version"] == f"v{__version__}"
    assert digest == hashlib.sha256(open(archive, "rb").read()).hexdigest()
    for p in spec["platforms"]:
        assert p["sha256"] == digest
        assert p["uri"].endswith("/" + os.path.basename(archive))
        assert p["bin"] == "kubectl-kata"
        assert {"from": "LICENSE", "to": "."} in p["files"]
    pairs = sorted((p["selector"]["matchLabels"]["os"], p["selector"]["matchLabels"]["arch"])
                   for p in spec["platforms"])
    assert pairs == [("darwin", "amd64"), ("darwin", "arm64"), ("linux", "amd64"), ("linux", "arm64")]


def test_manifest_texts_follow_the_reviewers_expectations(krew_build):
    spec = _doc(krew_build[2])["spec"]
    assert 0 < len(spec["shortDescription"]) <= 50
    lines = spec["description"].rstrip("\n").split("\n")
    assert all(len(line) <= 80 for line in lines), [line for line in lines if len(line) > 80]
    assert not any(line.lstrip().startswith(("-", "kubectl ", "$")) for line in lines), "no usage or option lists"
    assert "kube-" not in spec["shortDescription"].lower()
    caveats = spec["caveats"]
    assert re.search(r"python3.*\n?.*3\.9 or newer", caveats)
    assert "`oc`" in caveats and "doctor" in caveats
    assert all(len(line) <= 80 for line in caveats.split("\n"))


def test_committed_manifest_is_the_generated_one(krew_build):
    """krew/kata.yaml is only ever written by the build: everything but the sha256 must match."""
    committed = open(kbuild.MANIFEST, encoding="utf-8").read()
    shas = set(re.findall(r"sha256: (\S+)", committed))
    assert len(shas) == 1
    sha = shas.pop()
    assert re.match(r"^[a-f0-9]{64}$", sha)
    assert committed == kbuild.render_manifest(__version__, sha)
    validate_manifest(_doc(kbuild.MANIFEST), kbuild.MANIFEST)


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d["spec"]["platforms"][0].update(sha256=d["spec"]["platforms"][0]["sha256"].upper()), "sha256"),
    (lambda d: d["spec"].update(version="0.1.0"), "semver"),
    (lambda d: d["metadata"].update(name="kubectl-kata"), "should be named"),
    (lambda d: d.update(apiVersion="krew.googlecontainertools.github.com/v1alpha1"), "apiVersion"),
    (lambda d: d["spec"].update(shortDescription="two\nlines"), "line breaks"),
    (lambda d: d["spec"]["platforms"][1]["selector"].update(matchLabels={"os": "linux"}), "matched by 2"),
    (lambda d: d["spec"]["platforms"][0]["selector"]["matchLabels"].update(distro="rhel"), "not supported"),
    (lambda d: d["spec"]["platforms"][0].update(files=[]), "non-empty"),
    (lambda d: d["spec"]["platforms"][0]["files"][0].update(to=""), "have to be set"),
    (lambda d: d["spec"]["platforms"][0].update(bin=""), "`bin`"),
    (lambda d: d["spec"]["platforms"].append(
        dict(d["spec"]["platforms"][0], selector={"matchLabels": {"os": "windows"}})), ".exe"),
])
def test_the_validator_rejects_what_krew_rejects(krew_build, mutate, message):
    doc = copy.deepcopy(_doc(krew_build[2]))
    mutate(doc)
    with pytest.raises(ManifestError, match=re.escape(message)):
        validate_manifest(doc, "kata.yaml")


def test_the_manifest_must_be_named_after_the_plugin(krew_build):
    with pytest.raises(ManifestError, match="should be named"):
        validate_manifest(_doc(krew_build[2]), "kubectl-kata.yaml")


# -- archive --------------------------------------------------------------------------------------
def test_archive_is_reproducible_and_holds_only_files_and_directories(krew_build, tmp_path):
    archive, digest, _ = krew_build
    again, digest2 = kbuild.build(str(tmp_path), manifest_path=None)
    assert digest2 == digest, "same inputs must give the same sha256"
    with tarfile.open(archive) as tar:
        members = tar.getmembers()
    names = {m.name for m in members}
    assert all(m.isreg() or m.isdir() for m in members)
    assert {"kubectl-kata", "oc-kata", "kubectl_complete-kata", "oc_complete-kata", "LICENSE"} <= names
    modes = {m.name: m.mode for m in members}
    for exe in ("kubectl-kata", "oc-kata", "kubectl_complete-kata", "oc_complete-kata"):
        assert modes[exe] == 0o755, "krew keeps tar mode bits: the executables must be +x inside"
    assert modes["LICENSE"] == 0o644
    assert "lib/kubectl_kata/cli.py" in names and "lib/kubernetes/__init__.py" in names
    assert "lib/yaml/__init__.py" in names
    assert not [n for n in names if n.endswith((".so", ".pyd", ".dylib")) or "__pycache__" in n]
    assert {f"man/man1/{f}" for f in os.listdir(os.path.join(ROOT, "man")) if f.endswith(".1")} <= names
    assert {m.uid for m in members} == {0} and {m.mtime for m in members} == {kbuild.ARCHIVE_MTIME}


def test_krew_style_install_on_every_platform_lays_out_correctly(krew_build, tmp_path):
    archive, _, manifest = krew_build
    doc = _doc(manifest)
    for os_name, arch in [("linux", "amd64"), ("linux", "arm64"), ("darwin", "amd64"), ("darwin", "arm64")]:
        root = tmp_path / f"{os_name}-{arch}"
        install_dir, link = krew_install(doc, archive, str(root), os_name, arch)
        assert install_dir == str(root / "store" / "kata" / f"v{__version__}")
        assert sorted(os.listdir(install_dir)) == sorted(kbuild.TOP_LEVEL)
        assert any(f.lower() in LICENSE_NAMES for f in os.listdir(install_dir))
        assert os.readlink(link).endswith("/kubectl-kata") and os.access(link, os.X_OK)
        assert os.path.isfile(os.path.join(install_dir, "lib", "kubectl_kata", "__init__.py"))
    with pytest.raises(ManifestError, match="no single platform"):
        krew_install(doc, archive, str(tmp_path / "win"), "windows", "amd64")


def test_krew_extraction_refuses_links_and_escaping_paths(tmp_path):
    import io

    for kind in ("symlink", "dotdot"):
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w:gz") as tar:
            info = tarfile.TarInfo("kubectl-kata" if kind == "symlink" else "../evil")
            if kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, "lib/x"
                tar.addfile(info)
            else:
                tar.addfile(info, io.BytesIO(b""))
        with pytest.raises(ManifestError):
            krew_extract(raw.getvalue(), str(tmp_path / kind))


def test_wheelhouse_matches_its_lock_and_is_pure_python_for_39():
    wheels = kbuild.verified_wheels()
    names = {kbuild._wheel_name_version(os.path.basename(w))[0] for w in wheels}
    assert {"click", "kubernetes", "tabulate", "rich", "packaging", "pyyaml", "defusedxml", "urllib3",
            "requests", "python-dateutil"} <= names
    for w in wheels:
        fn = os.path.basename(w)
        name, ver = kbuild._wheel_name_version(fn)
        if not kbuild.is_pure_wheel(fn):
            assert name in kbuild.PURE_FALLBACK, f"{fn} is compiled and has no pure-Python fallback"
        with zipfile.ZipFile(w) as zf:
            meta = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
            requires = re.search(r"^Requires-Python: (.+)$", zf.read(meta).decode(), re.M)
        if requires:
            from packaging.specifiers import SpecifierSet

            assert "3.9.18" in SpecifierSet(requires.group(1)), f"{fn} requires Python {requires.group(1)}"
    assert kbuild.pip_download_args("d", ["x"])[kbuild.pip_download_args("d", ["x"]).index("--python-version") + 1] \
        == "3.9"


def test_unpack_drops_compiled_modules_only_where_a_fallback_exists(tmp_path):
    def wheel(fn, files):
        path = tmp_path / fn
        with zipfile.ZipFile(path, "w") as zf:
            for name, data in files.items():
                zf.writestr(name, data)
        return str(path)

    ok = wheel("pyyaml-6.0.3-cp39-cp39-manylinux2014_x86_64.whl",
               {"yaml/__init__.py": "x = 1\n", "yaml/_yaml.cpython-39-x86_64-linux-gnu.so": b"\x7fELF"})
    assert kbuild.unpack_wheel(ok, str(tmp_path / "lib")) == ["yaml/_yaml.cpython-39-x86_64-linux-gnu.so"]
    assert os.listdir(tmp_path / "lib" / "yaml") == ["__init__.py"]
    bad = wheel("fastthing-1.0-cp39-cp39-manylinux2014_x86_64.whl", {"fast/_c.so": b"\x7fELF"})
    with pytest.raises(SystemExit, match="no pure-Python fallback"):
        kbuild.unpack_wheel(bad, str(tmp_path / "lib2"))


# -- running the unpacked plugin ------------------------------------------------------------------
@pytest.mark.parametrize("which", ["oldest", "newest"])
def test_unpacked_executables_run_on_oldest_and_newest_python(krew_installed, which):
    py = oldest_and_newest()[0 if which == "oldest" else -1]
    install_dir, link, _ = krew_installed
    version = subprocess.run([py, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                             capture_output=True, text=True).stdout.strip()
    if which == "oldest":
        assert version == "3.9"
    r = _run(py, link, "--help")  # through krew's bin symlink
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("Usage: kubectl kata [OPTIONS] COMMAND [ARGS]...")
    assert "enable" in r.stdout and "doctor" in r.stdout
    r = _run(py, link, "version", "--client")
    assert (r.returncode, r.stdout) == (0, f"kubectl-kata: v{__version__}\n"), r.stderr
    r = _run(py, os.path.join(install_dir, "oc-kata"), "status", "--help")
    assert r.returncode == 0 and r.stdout.startswith("Usage: oc kata status"), r.stderr
    r = _run(py, link, "enable", "--no-such-flag")
    assert r.returncode == 2 and "No such option: --no-such-flag" in r.stderr
    # the main job, offline, on the example bundle: a real report and exit 1 (problems found)
    r = _run(py, link, "doctor", "--from", os.path.join(ROOT, "examples", "bundle-drifted-node"))
    assert r.returncode == 1, r.stderr
    assert "node.package-version" in r.stdout and "worker-1" in r.stdout and "Traceback" not in r.stderr
    r = _run(py, os.path.join(install_dir, "kubectl_complete-kata"), "sta")
    assert r.stdout.splitlines()[0].split("\t")[0] == "status" and r.stdout.endswith(":4\n")
    # the vendored YAML runs without its C accelerator
    r = subprocess.run([py, "-c", f"import sys; sys.path.insert(0, {os.path.join(install_dir, 'lib')!r}); "
                                  "import yaml, kubernetes; print(yaml.__with_libyaml__, kubernetes.__version__)"],
                       capture_output=True, text=True, env={"PATH": os.environ["PATH"], "HOME": "/nonexistent"})
    assert r.stdout.split() == ["False", "35.0.0"], r.stderr


def test_launcher_refuses_a_too_old_python_with_a_clear_message(krew_installed):
    old = pyenv_older_than_39()
    if old is None:
        pytest.fail("no pyenv Python 3.6-3.8 to check the launcher's version guard with")
    r = _run(old, krew_installed[1], "--help")
    assert r.returncode == 2
    assert "kubectl-kata needs Python 3.9 or newer" in r.stderr and "Traceback" not in r.stderr
