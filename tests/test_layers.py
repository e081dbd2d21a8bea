"""The layer contract (issue 10) is enforced: `lint-imports` with the repository's `.importlinter` passes, and
it really fails when an upward, kubernetes or I/O import is added (checked on a copy of the package).

Also the start-up promise: `--help` and `version --client` import neither `kubernetes` nor `rich`."""
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LINT = shutil.which("lint-imports") or os.path.join(os.path.dirname(sys.executable), "lint-imports")


def _lint(cwd):
    env = dict(os.environ, PYTHONPATH=cwd)
    return subprocess.run([LINT, "--config", os.path.join(cwd, ".importlinter"), "--no-cache"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_layer_contract_holds():
    r = _lint(ROOT)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "Contracts: 4 kept, 0 broken." in out


@pytest.mark.parametrize("module, line, contract", [
    # a lower layer reaching up to the CLI
    ("kubectl_kata/services/reporting.py", "from kubectl_kata.commands import _common",
     "Layers point down"),
    # core talking to a node
    ("kubectl_kata/core/rpm.py", "import subprocess", "core does no I/O"),
    # the kubernetes client outside kube/
    ("kubectl_kata/doctor/findings.py", "import kubernetes", "Only kubectl_kata.kube imports the kubernetes client"),
    # a cycle between two siblings of core (core/objects.py imports core.constants already)
    ("kubectl_kata/core/constants.py", "from kubectl_kata.core import objects", "No import cycles"),
])
def test_contract_fails_when_a_forbidden_import_is_added(tmp_path, module, line, contract):
    shutil.copytree(os.path.join(ROOT, "kubectl_kata"), tmp_path / "kubectl_kata",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(os.path.join(ROOT, ".importlinter"), tmp_path / ".importlinter")
    assert _lint(str(tmp_path)).returncode == 0   # the copy itself is clean
    target = tmp_path / module
    target.write_text(target.read_text() + "\n" + line + "  # added by the test\n")
    r = _lint(str(tmp_path))
    out = r.stdout + r.stderr
    assert r.returncode != 0, out
    summary, _, details = out.partition("Broken contracts")
    assert contract in details, out           # the contract is listed among the broken ones...
    assert "0 broken" not in summary, out
    # ...and its explanation names the import the test added
    assert os.path.basename(module)[:-3] in details, out


@pytest.mark.parametrize("args", [["--help"], ["version", "--client"], ["enable", "--help"], ["doctor", "--help"]])
def test_startup_imports_neither_kubernetes_nor_rich(args):
    code = ("import sys\n"
            "from kubectl_kata.cli import main\n"
            "rc = main(%r)\n"
            "heavy = sorted(m for m in ('kubernetes', 'rich') if m in sys.modules)\n"
            "sys.stderr.write('HEAVY=%%s RC=%%s\\n' %% (','.join(heavy), rc))\n" % (args,))
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT),
                       capture_output=True, text=True, timeout=60)
    assert "HEAVY= RC=0" in r.stderr, r.stderr
