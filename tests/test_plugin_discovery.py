"""The krew-installed plugin seen through the real kubectl on this machine (/usr/bin/kubectl):
discovery without warnings, dispatch, exit codes, and kubectl 1.26+ plugin completion.

No `oc` binary can be had from PyPI or Debian on these machines, so `oc kata` is covered by the
oc-kata name in test_krew.py (oc looks for oc-kata, then kubectl-kata).
"""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from kubectl_kata import __version__
from tests.krewlib import oldest_and_newest


@pytest.fixture(scope="module")
def kubectl():
    path = shutil.which("kubectl")
    if not path:
        pytest.fail("kubectl is not installed (.ci/run installs Debian's kubernetes-client when it is missing)")
    return path


@pytest.fixture
def plugin_env(krew_installed, tmp_path):
    """PATH as a krew user has it: krew's bin (with the completion helpers linked as the caveats say),
    a python3 (the oldest supported, 3.9), and the system directories -- nothing else named kubectl-*."""
    install_dir, link, krew_root = krew_installed
    bin_dir = os.path.dirname(link)
    for helper in ("kubectl_complete-kata", "oc_complete-kata"):
        dest = os.path.join(bin_dir, helper)
        if not os.path.lexists(dest):
            os.symlink(os.path.join(install_dir, helper), dest)
    py_dir = tmp_path / "python"
    py_dir.mkdir()
    os.symlink(oldest_and_newest()[0], py_dir / "python3")
    return {"PATH": os.pathsep.join([bin_dir, str(py_dir), "/usr/bin", "/bin"]), "HOME": str(tmp_path),
            "KUBECONFIG": str(tmp_path / "no-kubeconfig")}


def _kubectl(kubectl, env, *args):
    return subprocess.run([kubectl, *args], capture_output=True, text=True, env=env, timeout=60)


def test_plugin_list_finds_it_without_warnings(kubectl, plugin_env, krew_installed):
    r = _kubectl(kubectl, plugin_env, "plugin", "list")
    assert r.returncode == 0, r.stderr
    assert krew_installed[1] in r.stdout.splitlines()
    assert "warning" not in (r.stdout + r.stderr).lower()
    # the completion helpers are not plugins (no `kubectl-` prefix) and create no overshadow warnings
    assert "complete" not in r.stdout


def test_kubectl_dispatches_and_passes_exit_codes_through(kubectl, plugin_env):
    r = _kubectl(kubectl, plugin_env, "kata", "--help")
    assert r.returncode == 0 and r.stdout.startswith("Usage: kubectl kata [OPTIONS] COMMAND [ARGS]..."), r.stderr
    r = _kubectl(kubectl, plugin_env, "kata", "version", "--client")
    assert (r.returncode, r.stdout) == (0, f"kubectl-kata: v{__version__}\n")
    r = _kubectl(kubectl, plugin_env, "kata", "enable", "--bogus")
    assert r.returncode == 2 and "No such option: --bogus" in r.stderr
    bundle = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples",
                          "bundle-drifted-node")
    r = _kubectl(kubectl, plugin_env, "kata", "doctor", "--from", bundle)  # problems found
    assert r.returncode == 1 and "worker-1" in r.stdout, r.stderr
    r = _kubectl(kubectl, plugin_env, "kata", "status")  # no kubeconfig: cluster error
    assert r.returncode == 3 and r.stderr.startswith("error: ") and "Traceback" not in r.stderr
    # kubectl itself rejects flags placed before the plugin name (DOMAIN.md section 7)
    r = _kubectl(kubectl, plugin_env, "-n", "foo", "kata")
    assert r.returncode == 1 and "flags cannot be placed before plugin name" in r.stderr


def test_kubectl_plugin_completion_uses_the_helper(kubectl, plugin_env, fake_kubeconfig):
    r = _kubectl(kubectl, plugin_env, "__complete", "kata", "st")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["status\tShow where sandboxed containers stand on the cluster.", ":4"]
    env = dict(plugin_env, KUBECONFIG=fake_kubeconfig)
    r = _kubectl(kubectl, env, "__complete", "kata", "status", "--pool", "")
    assert r.stdout.splitlines() == ["master\tpool", "worker\tpool", ":4"], r.stderr
