"""The README's test command is ./run-tests, CI runs exactly that, and it installs every tool the tests drive.

A test that starts needing a new program (shutil.which("x") / subprocess of "x") without run-tests installing
it would pass on a developer's machine and fail on a fresh one: this catches that at review time.
"""
from __future__ import annotations

import os
import re
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# program -> the Debian package run-tests installs it from
INSTALLED = {"kubectl": "kubernetes-client", "openssl": "openssl", "mandoc": "mandoc", "zsh": "zsh", "fish": "fish"}
# programs tests look up but do not need: an alternative to one installed above, or part of every Debian
OPTIONAL = {"groff": "man page lint alternative to mandoc", "man": "extra man page check when present",
            "dash": "/bin/sh on Debian (essential)", "bash": "essential", "nohup": "coreutils (essential)",
            "sh": "essential", "pyenv": "the packaging tests' interpreters (see README)", "git": "the session's",
            "tar": "essential"}
# programs that come with a package of setup.cfg's test extra (installed by run-tests' pip step)
FROM_TEST_EXTRA = {"lint-imports": "import-linter"}


def _read(*parts):
    with open(os.path.join(ROOT, *parts), encoding="utf-8") as fh:
        return fh.read()


def test_readme_test_command_is_the_script_ci_runs():
    readme = _read("README.md")
    section = readme.split("## Test command", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1).strip()
    assert block == "./run-tests"
    ci = [ln for ln in _read(".ci", "run").splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    assert ci[-1].strip() == "exec ./run-tests"
    assert os.access(os.path.join(ROOT, "run-tests"), os.X_OK)
    subprocess.run(["bash", "-n", os.path.join(ROOT, "run-tests")], check=True)


def test_every_program_the_tests_look_up_is_installed_by_run_tests():
    script = "\n".join(re.sub(r"(^|\s)#.*$", "", ln) for ln in _read("run-tests").splitlines())  # code only
    wanted = set()
    for name in os.listdir(os.path.join(ROOT, "tests")):
        if name.endswith(".py") and name != os.path.basename(__file__):
            wanted |= set(re.findall(r"""shutil\.which\(\s*["']([\w.-]+)["']""", _read("tests", name)))
    wanted |= {"openssl"}                     # tests/fakeapi makes the fake server's certificates with it
    assert {"kubectl", "zsh", "fish", "mandoc"} <= wanted      # the scan still sees what it must
    extra = _read("setup.cfg").split("test =", 1)[1].split("\n[", 1)[0]
    missing = sorted(p for p in wanted if p not in OPTIONAL
                     and not (p in INSTALLED and re.search(r"\b%s\b" % re.escape(INSTALLED[p]), script))
                     and not (p in FROM_TEST_EXTRA and FROM_TEST_EXTRA[p] in extra))
    assert missing == [], "tests use programs that ./run-tests does not install: %s" % missing


def test_setup_cfg_test_extra_has_what_the_tests_import():
    cfg = _read("setup.cfg")
    extra = cfg.split("test =", 1)[1].split("\n[", 1)[0]
    for req in ("pytest", "vcrpy", "hypothesis", "jsonschema", "import-linter"):
        assert re.search(r"^\s+%s\b" % re.escape(req), extra, re.M), req
