"""man pages: generated from the click definitions, never stale, lint-clean, and `man -l` renders them."""
from __future__ import annotations

import filecmp
import os
import re
import shutil
import subprocess

import click
import pytest

from kubectl_kata.cli import cli
from tools import manpages

MAN = manpages.MAN_DIR
REQUIRED = ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS", "ENVIRONMENT", "EXAMPLES", "SEE ALSO"]


def _pages():
    return sorted(f for f in os.listdir(MAN) if f.endswith(".1"))


def test_one_page_per_subcommand():
    names = cli.list_commands(click.Context(cli))
    # and one per subcommand of a command group (`doctor diff` -> kubectl-kata-doctor-diff.1)
    nested = [n for n in manpages.subcommand_names() if " " in n]
    assert nested == ["doctor diff"]
    assert _pages() == sorted(["kubectl-kata.1"] + [f"kubectl-kata-{n}.1" for n in names]
                              + ["kubectl-kata-%s.1" % n.replace(" ", "-") for n in nested])
    assert {"enable", "disable", "status", "doctor", "version", "completion"} <= set(names)


def test_man_pages_are_not_stale(tmp_path):
    """Regenerate into a temp dir: any difference means `python3 -m tools.manpages` was not run."""
    manpages.generate(str(tmp_path))
    fresh = sorted(os.listdir(tmp_path))
    assert fresh == _pages(), "a page is missing or left over: run `python3 -m tools.manpages`"
    stale = [f for f in fresh if not filecmp.cmp(os.path.join(MAN, f), os.path.join(tmp_path, f), shallow=False)]
    assert not stale, f"stale man pages {stale}: run `python3 -m tools.manpages`"


def test_every_page_has_the_sections_and_every_option():
    root = click.Context(cli, info_name="kubectl kata")
    for f in _pages():
        text = open(os.path.join(MAN, f), encoding="utf-8").read()
        heads = re.findall(r"^\.SH (.+)$", text, re.M)
        for sec in REQUIRED:
            assert sec in heads, f"{f} lacks {sec}"
        assert heads[:3] == ["NAME", "SYNOPSIS", "DESCRIPTION"]
        name = f[len("kubectl-kata-"):-2] if f != "kubectl-kata.1" else None
        cmd = cli if name is None else cli.get_command(root, name)
        if cmd is None:   # a subcommand's page: kubectl-kata-doctor-diff.1
            parent, sub = name.split("-", 1)
            pcmd = cli.get_command(root, parent)
            cmd = pcmd.get_command(click.Context(pcmd, info_name=parent, parent=root), sub)
        for p in cmd.params:
            if isinstance(p, click.Option):
                for opt in p.opts:
                    assert f"\\fB{manpages.esc(opt)}\\fR" in text, f"{f} does not document {opt}"
        codes = re.findall(r"^\.TP\n\\fB(\d+)\\fR", text.split(".SH EXIT STATUS")[1].split(".SH ")[0], re.M)
        assert "0" in codes and "2" in codes
    assert ".SH FILES" in open(os.path.join(MAN, "kubectl-kata.1")).read()


def test_roff_escaping():
    assert manpages.esc("a\\b-c") == "a\\eb\\-c"
    assert manpages.text_lines(".hidden dot") == ["\\&.hidden dot"]
    assert manpages.inline("use `--pool`") == "use \\fB\\-\\-pool\\fR"


def test_lint_is_clean():
    linters = []
    if shutil.which("mandoc"):
        linters.append(["mandoc", "-T", "lint", "-W", "warning"])
    if shutil.which("groff"):
        linters.append(["groff", "-ww", "-z", "-man"])
    assert linters, "neither mandoc nor groff is installed (.ci/run installs them)"
    for cmd in linters:
        for f in _pages():
            r = subprocess.run(cmd + [os.path.join(MAN, f)], capture_output=True, text=True)
            assert (r.returncode, r.stdout + r.stderr) == (0, ""), f"{cmd[0]} on {f}: {r.stdout}{r.stderr}"


def test_man_renders_the_main_page():
    env = dict(os.environ, MANPAGER="cat", PAGER="cat", MANWIDTH="80", LANG="C.UTF-8")
    if shutil.which("man"):
        r = subprocess.run(["man", "-l", os.path.join(MAN, "kubectl-kata.1")], capture_output=True, text=True,
                           env=env, timeout=30)
    else:
        pytest.fail("man is not installed")
    assert r.returncode == 0, r.stderr
    out = re.sub(r".\x08", "", r.stdout)
    assert out.splitlines()[0].split() == ["KUBECTL-KATA(1)", "User", "Commands", "KUBECTL-KATA(1)"]
    for sec in REQUIRED:
        assert f"\n{sec}\n" in out
    assert "kubectl kata [OPTIONS] COMMAND [ARGS]..." in out
    assert "kubectl-kata-doctor(1)" in out
