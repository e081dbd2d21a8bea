#!/usr/bin/env python3
"""Build the krew archive ``dist/kubectl-kata-v<version>.tar.gz`` and fill the manifest's sha256.

    python3 krew/build.py                   # offline, from the committed wheelhouse krew/wheels/
    python3 krew/build.py --refresh-wheels  # re-resolve the runtime deps for Python 3.9 with pip first

Layout (DOMAIN.md sections 8 and 9). The archive is unpacked by krew into its store and stays there,
so a plain directory beats a zipapp: Python caches bytecode in ``lib/__pycache__`` after the first
run, which a zipapp never does. Top level of the archive::

    kubectl-kata, oc-kata                       launchers: `#!/usr/bin/env python3`, need Python >= 3.9
    kubectl_complete-kata, oc_complete-kata     completion helpers for kubectl 1.26+ / oc
    lib/                                        kubectl_kata + its pure-Python dependencies
    man/man1/*.1                                the man pages
    LICENSE

Dependencies are resolved for the LOWEST supported Python (3.9): pure-Python wheels only, except
PyYAML, whose compiled accelerator is dropped (PyYAML falls back to pure Python,
``yaml.__with_libyaml__ == False``). The wheels and their sha256 sums are committed
(``krew/wheels/``, ``krew/wheels.lock``) so a build is offline and reproducible; the tar is written
deterministically (sorted entries, fixed mtime and owners), so the same inputs give the same sha256.
"""
from __future__ import annotations

import argparse
import configparser
import gzip
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import textwrap
import zipfile
from typing import Dict, List, Optional, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KREW_DIR = os.path.join(ROOT, "krew")
WHEEL_DIR = os.path.join(KREW_DIR, "wheels")
LOCK_FILE = os.path.join(KREW_DIR, "wheels.lock")
MANIFEST = os.path.join(KREW_DIR, "kata.yaml")

LOWEST_PYTHON = "3.9"
#: Distributions whose compiled parts may be dropped because a pure-Python fallback exists.
PURE_FALLBACK = {"pyyaml"}
BINARY_SUFFIXES = (".so", ".pyd", ".dylib", ".dll")
#: Fixed timestamp for every archive entry (2025-01-01T00:00:00Z): reproducible sha256.
ARCHIVE_MTIME = 1735689600

PLUGIN = "kata"
HOMEPAGE = "https://github.com/kubectl-kata/kubectl-kata"
URI_BASE = HOMEPAGE + "/releases/download/v{version}"
SHORT_DESCRIPTION = "Enable and diagnose OpenShift sandboxed containers"
DESCRIPTION = (
    "Turns OpenShift sandboxed containers (Kata Containers) on and off the supported way: through "
    "the Machine Config Operator's RHCOS extension (a MachineConfig with the sandboxed-containers "
    "extension), following the MachineConfigPool rollout until every node runs it, then creating the "
    "kata RuntimeClass. It shows where things stand on the cluster and diagnoses nodes against the "
    "packages the release's extensions image should have installed. It refuses to act on clusters "
    "managed by the OpenShift sandboxed containers operator."
)
CAVEATS = """\
This plugin is written in Python and runs with the python3 on your PATH,
which must be Python 3.9 or newer (RHEL 9 and macOS ship one).
`kubectl kata doctor` also needs the `oc` client on PATH.

Tab completion (kubectl 1.26+, oc) needs the completion helpers on PATH:
  cd "${KREW_ROOT:-$HOME/.krew}/bin"
  ln -sf ../store/kata/{version}/kubectl_complete-kata .
  ln -sf ../store/kata/{version}/oc_complete-kata .
"""
PLATFORMS = [("linux", "amd64"), ("linux", "arm64"), ("darwin", "amd64"), ("darwin", "arm64")]
EXECUTABLES = {
    "kubectl-kata": "kubectl_kata.cli:main",
    "oc-kata": "kubectl_kata.cli:main",
    "kubectl_complete-kata": "kubectl_kata.completion_entry:main",
    "oc_complete-kata": "kubectl_kata.completion_entry:main",
}
TOP_LEVEL = sorted(EXECUTABLES) + ["LICENSE", "lib", "man"]

LAUNCHER = '''#!/usr/bin/env python3
# {name}: launcher from the kubectl-kata krew archive.
# Runs {target} from the lib/ directory next to the real path of this file
# (krew links only the executable into its bin/ directory).
import os
import sys

if sys.version_info < (3, 9):
    sys.stderr.write("error: kubectl-kata needs Python 3.9 or newer, but python3 is %d.%d (%s)\\n"
                     % (sys.version_info[0], sys.version_info[1], sys.executable))
    sys.stderr.write("hint: put a python3 >= 3.9 first on PATH (RHEL 9 and macOS ship one)\\n")
    sys.exit(2)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), "lib"))

from {module} import {func}  # noqa: E402

sys.exit({func}())
'''


def version() -> str:
    text = open(os.path.join(ROOT, "kubectl_kata", "__init__.py"), encoding="utf-8").read()
    return re.search(r'^__version__ = "([^"]+)"', text, re.M).group(1)


def install_requires() -> List[str]:
    cfg = configparser.ConfigParser()
    cfg.read(os.path.join(ROOT, "setup.cfg"), encoding="utf-8")
    lines = cfg.get("options", "install_requires").splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.strip().startswith("#")]


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _wheel_name_version(filename: str) -> Tuple[str, str]:
    parts = filename[:-4].split("-")
    return re.sub(r"[-_.]+", "-", parts[0]).lower(), parts[1]


def is_pure_wheel(filename: str) -> bool:
    tags = filename[:-4].split("-")[-3:]
    return tags[1] == "none" and tags[2] == "any"


# -- wheelhouse ------------------------------------------------------------------------------
def _pip(args: List[str], quiet: bool = False) -> None:
    cmd = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "-q"] + args
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL if quiet else None,
                   stderr=subprocess.DEVNULL if quiet else None)


def pip_download_args(dest: str, requirements: List[str]) -> List[str]:
    """pip arguments resolving `requirements` for CPython 3.9 as binary wheels only."""
    return ["-d", dest, "--only-binary=:all:", "--python-version", LOWEST_PYTHON,
            "--implementation", "cp", "--abi", "cp39", "--abi", "abi3", "--abi", "none",
            "--platform", "manylinux2014_x86_64", "--platform", "any"] + requirements


def refresh_wheels(wheel_dir: str = WHEEL_DIR, lock_file: str = LOCK_FILE) -> Dict[str, str]:
    """Resolve the runtime deps for Python 3.9 with pip and replace the wheelhouse and its lock."""
    with tempfile.TemporaryDirectory() as tmp:
        _pip(pip_download_args(tmp, install_requires()))
        chosen = []
        for fn in sorted(os.listdir(tmp)):
            if not fn.endswith(".whl"):
                raise SystemExit(f"error: pip produced a non-wheel {fn}")
            if is_pure_wheel(fn):
                chosen.append(os.path.join(tmp, fn))
                continue
            name, ver = _wheel_name_version(fn)
            pure_dir = os.path.join(tmp, "pure-" + name)
            try:  # a py3-none-any build of the same release (charset_normalizer ships one)
                _pip(["-d", pure_dir, "--no-deps", "--only-binary=:all:", "--python-version", LOWEST_PYTHON,
                      "--implementation", "py", "--platform", "any", f"{name}=={ver}"], quiet=True)
                chosen.extend(os.path.join(pure_dir, f) for f in os.listdir(pure_dir))
            except subprocess.CalledProcessError:
                if name not in PURE_FALLBACK:
                    raise SystemExit(f"error: {fn} is compiled and {name} has no pure-Python wheel") from None
                chosen.append(os.path.join(tmp, fn))
        if os.path.isdir(wheel_dir):
            shutil.rmtree(wheel_dir)
        os.makedirs(wheel_dir)
        for path in chosen:
            shutil.copy2(path, wheel_dir)
    lock = {fn: sha256_file(os.path.join(wheel_dir, fn)) for fn in sorted(os.listdir(wheel_dir))}
    with open(lock_file, "w", encoding="utf-8") as f:
        f.write(f"# Runtime wheels of the krew archive, resolved for Python {LOWEST_PYTHON} by "
                "`python3 krew/build.py --refresh-wheels`.\n# <wheel file> <sha256>\n")
        for fn, digest in lock.items():
            f.write(f"{fn} {digest}\n")
    return lock


def read_lock(lock_file: str = LOCK_FILE) -> Dict[str, str]:
    lock = {}
    with open(lock_file, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                fn, digest = line.split()
                lock[fn] = digest
    return lock


def verified_wheels(wheel_dir: str = WHEEL_DIR, lock_file: str = LOCK_FILE) -> List[str]:
    """The wheelhouse, checked against the lock (no missing, extra or altered wheel)."""
    lock = read_lock(lock_file)
    present = sorted(f for f in os.listdir(wheel_dir) if f.endswith(".whl"))
    if sorted(lock) != present:
        raise SystemExit(f"error: {wheel_dir} does not match {lock_file}; run with --refresh-wheels")
    for fn in present:
        if sha256_file(os.path.join(wheel_dir, fn)) != lock[fn]:
            raise SystemExit(f"error: {fn} does not match its sha256 in {lock_file}")
    return [os.path.join(wheel_dir, f) for f in present]


def unpack_wheel(path: str, lib: str) -> List[str]:
    """Extract a wheel's importable files into `lib`; drop compiled modules (returns what was dropped)."""
    fn = os.path.basename(path)
    name, _ = _wheel_name_version(fn)
    dropped = []
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            member = info.filename
            if member.endswith("/") or "__pycache__" in member.split("/") or member.split("/")[0].endswith(".data"):
                continue
            if member.endswith(BINARY_SUFFIXES) or ".so." in member:
                if name not in PURE_FALLBACK and not is_pure_wheel(fn):
                    raise SystemExit(f"error: {fn} contains compiled {member} and no pure-Python fallback")
                dropped.append(member)
                continue
            if member.startswith("/") or ".." in member.split("/"):
                raise SystemExit(f"error: suspicious path {member} in {fn}")
            target = os.path.join(lib, *member.split("/"))
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst)
    return dropped


# -- tree --------------------------------------------------------------------------------------
def stage(tree: str, wheels: List[str]) -> None:
    """Lay out the archive's content in `tree`."""
    lib = os.path.join(tree, "lib")
    os.makedirs(lib)
    for wheel in wheels:
        unpack_wheel(wheel, lib)
    shutil.copytree(os.path.join(ROOT, "kubectl_kata"), os.path.join(lib, "kubectl_kata"),
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for dirpath, _, files in os.walk(lib):
        for f in files:
            if f.endswith(BINARY_SUFFIXES):
                raise SystemExit(f"error: compiled file left in lib: {os.path.join(dirpath, f)}")
    for name, target in EXECUTABLES.items():
        module, func = target.split(":")
        path = os.path.join(tree, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(LAUNCHER.format(name=name, target=target, module=module, func=func))
        os.chmod(path, 0o755)
    shutil.copy2(os.path.join(ROOT, "LICENSE"), os.path.join(tree, "LICENSE"))
    man_src = os.path.join(ROOT, "man")
    man_dst = os.path.join(tree, "man", "man1")
    os.makedirs(man_dst)
    for f in sorted(os.listdir(man_src)):
        if f.endswith(".1"):
            shutil.copy2(os.path.join(man_src, f), man_dst)


def write_tar(tree: str, archive: str) -> None:
    """Deterministic .tar.gz of `tree`: regular files and directories only (krew rejects links)."""
    entries = []
    for dirpath, dirnames, files in os.walk(tree):
        dirnames.sort()
        for d in dirnames:
            entries.append(os.path.join(dirpath, d))
        for f in sorted(files):
            entries.append(os.path.join(dirpath, f))
    entries.sort(key=lambda p: os.path.relpath(p, tree))
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for path in entries:
            rel = os.path.relpath(path, tree).replace(os.sep, "/")
            info = tarfile.TarInfo(rel)
            info.mtime = ARCHIVE_MTIME
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if os.path.islink(path):
                raise SystemExit(f"error: symlink {rel}: krew cannot unpack links")
            if os.path.isdir(path):
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tar.addfile(info)
            else:
                info.mode = 0o755 if os.access(path, os.X_OK) else 0o644
                info.size = os.path.getsize(path)
                with open(path, "rb") as f:
                    tar.addfile(info, f)
    with open(archive, "wb") as out:
        with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=9) as gz:
            gz.write(raw.getvalue())


# -- manifest ------------------------------------------------------------------------------------
def render_manifest(ver: str, sha256: str, uri_base: str = URI_BASE) -> str:
    uri = uri_base.format(version=ver).rstrip("/") + f"/kubectl-kata-v{ver}.tar.gz"
    desc = "\n".join("    " + ln for ln in textwrap.wrap(DESCRIPTION, width=76))
    caveats = "\n".join(("    " + ln).rstrip() for ln in CAVEATS.replace("{version}", f"v{ver}").splitlines())
    files = "".join(f"      - from: {name}\n        to: .\n" for name in TOP_LEVEL)
    platforms = ""
    for os_name, arch in PLATFORMS:
        platforms += (
            f"  - selector:\n"
            f"      matchLabels:\n"
            f"        os: {os_name}\n"
            f"        arch: {arch}\n"
            f"    uri: {uri}\n"
            f"    sha256: {sha256}\n"
            f"    bin: kubectl-kata\n"
            f"    files:\n{files}"
        )
    return (
        "# krew plugin manifest for kubectl-kata. Generated by `python3 krew/build.py` (which fills in sha256);\n"
        "# edit the texts in krew/build.py, not here.\n"
        "apiVersion: krew.googlecontainertools.github.com/v1alpha2\n"
        "kind: Plugin\n"
        "metadata:\n"
        f"  name: {PLUGIN}\n"
        "spec:\n"
        f"  version: v{ver}\n"
        f"  homepage: {HOMEPAGE}\n"
        f"  shortDescription: {SHORT_DESCRIPTION}\n"
        "  description: |\n"
        f"{desc}\n"
        "  caveats: |\n"
        f"{caveats}\n"
        "  platforms:\n"
        f"{platforms}"
    )


def build(out_dir: str, manifest_path: Optional[str] = MANIFEST, uri_base: str = URI_BASE,
          wheel_dir: str = WHEEL_DIR, lock_file: str = LOCK_FILE) -> Tuple[str, str]:
    """Build the archive into `out_dir`, write `out_dir`/kata.yaml (and `manifest_path`). Returns (archive, sha)."""
    ver = version()
    wheels = verified_wheels(wheel_dir, lock_file)
    os.makedirs(out_dir, exist_ok=True)
    archive = os.path.join(out_dir, f"kubectl-kata-v{ver}.tar.gz")
    with tempfile.TemporaryDirectory() as tmp:
        tree = os.path.join(tmp, "tree")
        os.makedirs(tree)
        stage(tree, wheels)
        write_tar(tree, archive)
    digest = sha256_file(archive)
    text = render_manifest(ver, digest, uri_base)
    for path in {os.path.join(out_dir, "kata.yaml"), manifest_path} - {None}:
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    return archive, digest


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python3 krew/build.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=os.path.join(ROOT, "dist"), help="output directory (default: dist/)")
    p.add_argument("--refresh-wheels", action="store_true",
                   help=f"re-resolve the runtime deps for Python {LOWEST_PYTHON} with pip (network) first")
    p.add_argument("--uri-base", default=URI_BASE, help="release download URL prefix ({version} is replaced)")
    p.add_argument("--no-manifest-update", action="store_true",
                   help="do not rewrite krew/kata.yaml (the manifest is still written to --out)")
    args = p.parse_args(argv)
    if args.refresh_wheels:
        refresh_wheels()
    archive, digest = build(args.out, None if args.no_manifest_update else MANIFEST, args.uri_base)
    print(f"{archive}\nsha256 {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
