"""`kubectl kata doctor --from <must-gather>` and `kubectl kata doctor diff` through the real CLI: exit codes,
output formats, one-line errors, the examples the README shows. No cluster (no kubeconfig at all)."""
from __future__ import annotations

import json
import os
import shutil

import pytest
import yaml

from kubectl_kata.completion_entry import complete
from kubectl_kata.status import ExitStatus
from tests import mustgather_sim
from tests.clirunner import run_cli
from tests.mustgather_sim import FIXTURES

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EX = os.path.join(ROOT, "examples")
NO_CLUSTER = {"KUBECONFIG": "/nonexistent/kubeconfig"}


def cli(*args):
    return run_cli(["doctor"] + list(args), environ=NO_CLUSTER)


def test_from_must_gather_table_json_yaml():
    res = cli("--from", os.path.join(FIXTURES, "merged"))
    assert res.exit_code == ExitStatus.PROBLEMS_FOUND, res.stderr
    assert res.stdout.startswith("From must-gather %s (default (MCO resources), sandboxed containers operator)"
                                 % os.path.join(FIXTURES, "merged"))
    assert "node.rpm-verify           info        3 of 3 nodes: not collected" in res.stdout
    assert "error   worker-1  node.package-version: qemu-kvm-core-8.2.0-7.el9_4.x86_64 is older" in res.stdout
    doc = json.loads(cli("--from", os.path.join(FIXTURES, "merged"), "-o", "json").stdout)
    assert doc["source"]["kind"] == "must-gather" and doc["healthy"] is False
    ydoc = yaml.safe_load(cli("--from", os.path.join(FIXTURES, "merged"), "-o", "yaml").stdout)
    assert ydoc["findings"] == doc["findings"]
    ok = cli("--from", os.path.join(FIXTURES, "default-only"))
    assert ok.exit_code == ExitStatus.SUCCESS
    assert ok.stdout.rstrip().endswith("No problems found in what the must-gather holds.")


def test_from_must_gather_tarball_and_expected_file(tmp_path):
    tgz = mustgather_sim.tar_gz(os.path.join(FIXTURES, "operator-only", "must-gather.local.5550001"),
                                str(tmp_path / "case-01234567.tgz"))
    res = cli("--from", tgz, "-o", "json")
    assert res.exit_code == ExitStatus.PROBLEMS_FOUND, res.stderr
    assert {f["subject"] for f in json.loads(res.stdout)["findings"] if f["severity"] == "error"} == {"worker-1"}
    bad = tmp_path / "expected.json"
    bad.write_text("{not json")
    res = cli("--from", tgz, "--expected", str(bad))
    assert res.exit_code == ExitStatus.USAGE and res.stderr.startswith("error: --expected:")


@pytest.mark.parametrize("case", ["traversal", "symlink", "device", "oversized"])
def test_hostile_must_gathers_give_one_line_and_exit_2(case):
    res = cli("--from", os.path.join(FIXTURES, "hostile", case + ".tar.gz"))
    assert res.exit_code == ExitStatus.USAGE
    assert res.stdout == "" and "Traceback" not in res.stderr
    assert res.stderr.startswith("error: ") and len(res.stderr.strip().splitlines()) <= 2


def test_neither_bundle_nor_must_gather(tmp_path):
    (tmp_path / "notes.txt").write_text("case notes\n")
    res = cli("--from", str(tmp_path))
    assert res.exit_code == ExitStatus.USAGE
    assert res.stderr.strip().splitlines()[0] == (
        "error: %s: expected a kubectl-kata doctor bundle (manifest.json not found) or a must-gather (no "
        "cluster-scoped-resources/, namespaces/ or sandboxed containers operator nodes/<node>/version found)"
        % tmp_path)


def test_bundle_flag_is_refused_for_a_must_gather(tmp_path):
    res = cli("--from", os.path.join(FIXTURES, "merged"), "--bundle", str(tmp_path / "b.tar.gz"))
    assert res.exit_code == ExitStatus.USAGE and "--bundle does not apply to a must-gather" in res.stderr
    assert os.listdir(tmp_path) == []


def test_bundles_still_work_as_before():
    res = cli("--from", os.path.join(EX, "bundle-drifted-node"), "-o", "json")
    assert res.exit_code == ExitStatus.PROBLEMS_FOUND
    doc = json.loads(res.stdout)
    assert "source" not in doc
    assert {(f["subject"], f["checkId"]) for f in doc["findings"] if f["severity"] == "error"} == {
        ("worker-1", "node.package-version")}


# --------------------------------------------------------------------------- diff

def test_diff_of_the_example_bundles():
    res = cli("diff", os.path.join(EX, "bundle-drifted-node"), os.path.join(EX, "bundle-after-update"))
    assert res.exit_code == ExitStatus.PROBLEMS_FOUND, res.stderr
    out = res.stdout
    assert "  worker-1 (1 node):\n    ~ qemu-kvm-common 17:8.2.0-7.el9_4 \u2192 17:8.2.0-11.el9_4\n" \
           "    ~ qemu-kvm-core 17:8.2.0-7.el9_4 \u2192 17:8.2.0-11.el9_4\n" in out
    assert "Unchanged: 2 nodes (worker-0, worker-2)" in out
    assert "New findings:\n  warning worker-2  node.staged-deployment:" in out
    assert out.rstrip().endswith("Differences: 1 node changed, 1 new finding, 2 resolved.")
    doc = json.loads(cli("diff", os.path.join(EX, "bundle-drifted-node"), os.path.join(EX, "bundle-after-update"),
                         "-o", "json").stdout)
    assert doc["kind"] == "DoctorDiff" and doc["identical"] is False
    assert [f["checkId"] for f in doc["findings"]["resolved"]] == ["node.package-version"] * 2
    y = yaml.safe_load(cli("diff", os.path.join(EX, "bundle-drifted-node"), os.path.join(EX, "bundle-after-update"),
                           "-o", "yaml").stdout)
    assert y == doc


def test_diff_identical_is_exit_0(tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(os.path.join(EX, "bundle-drifted-node"), copy)
    res = cli("diff", os.path.join(EX, "bundle-drifted-node"), str(copy))
    assert res.exit_code == ExitStatus.SUCCESS and res.stdout.rstrip().endswith("No differences.")


def test_diff_must_gather_against_bundle():
    mg = os.path.join(EX, "must-gather-drifted-node")
    res = cli("diff", mg, os.path.join(EX, "bundle-drifted-node"), "-o", "json")
    assert res.exit_code == ExitStatus.SUCCESS, res.stdout + res.stderr
    doc = json.loads(res.stdout)
    assert doc["before"]["kind"] == "must-gather" and doc["after"]["kind"] == "bundle"
    assert [f["checkId"] for f in doc["findings"]["unchanged"]] == ["node.package-version"] * 2
    res = cli("diff", mg, os.path.join(EX, "bundle-after-update"))
    assert res.exit_code == ExitStatus.PROBLEMS_FOUND
    assert "~ qemu-kvm-core 8.2.0-7.el9_4 \u2192 17:8.2.0-11.el9_4" in res.stdout


def test_diff_errors(tmp_path):
    res = cli("diff", os.path.join(EX, "bundle-drifted-node"), str(tmp_path / "missing"))
    assert res.exit_code == ExitStatus.USAGE and "does not exist" in res.stderr and "Traceback" not in res.stderr
    res = cli("diff", os.path.join(EX, "bundle-drifted-node"))
    assert res.exit_code == ExitStatus.USAGE and "Missing argument 'AFTER'" in res.stderr
    res = cli("-o", "json", "diff", "a", "b")
    assert res.exit_code == ExitStatus.USAGE and "doctor's options do not apply to `diff`" in res.stderr
    res = cli("diff", os.path.join(FIXTURES, "hostile", "traversal.tar.gz"), os.path.join(EX, "bundle-drifted-node"))
    assert res.exit_code == ExitStatus.USAGE and "path traversal" in res.stderr


def test_help_and_completion_offer_diff(capsys):
    res = cli("--help")
    assert res.exit_code == 0
    out = capsys.readouterr().out      # click prints --help itself
    assert out.startswith("Usage: kubectl kata doctor [OPTIONS]\n   or: kubectl kata doctor diff [OPTIONS] "
                          "BEFORE AFTER\n")
    for opt in ("--pool", "--node", "--selector", "--via", "--image", "--parallel", "--node-timeout", "--expected",
                "--bundle", "--from", "--output", "--kubeconfig"):
        assert opt in out
    cands, _ = complete(["doctor", "d"], environ={})
    assert [c[0] for c in cands] == ["diff"]
    # BEFORE/AFTER are paths: the shell completes file names (directive 0)
    assert complete(["doctor", "diff", ""], environ={}) == ([], 0)


README_COMMANDS = [
    "kubectl kata doctor --from examples/bundle-drifted-node",
    "kubectl kata doctor --from examples/must-gather-drifted-node/must-gather.local.8013482101",
    "kubectl kata doctor diff examples/bundle-drifted-node examples/bundle-after-update",
]


def _readme_blocks(text, command):
    head, rest = text.split("$ " + command + "\n", 1)
    shown, tail = rest.split("\n```", 1)
    return head, shown, tail


@pytest.mark.parametrize("command", README_COMMANDS)
def test_readme_shows_the_real_output(command, monkeypatch):
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as fh:
        _, shown, _ = _readme_blocks(fh.read(), command)
    monkeypatch.chdir(ROOT)
    res = run_cli(command.split()[2:], environ=NO_CLUSTER)
    assert res.exit_code == ExitStatus.PROBLEMS_FOUND
    assert res.stdout.rstrip("\n") == shown, \
        "README shows stale output of `%s`: run `python3 -m tests.test_doctor_offline_cli`" % command


def _refresh_readme():
    """`python3 -m tests.test_doctor_offline_cli`: rewrite the README's output blocks of README_COMMANDS."""
    os.chdir(ROOT)
    with open("README.md", encoding="utf-8") as fh:
        text = fh.read()
    for command in README_COMMANDS:
        head, _, tail = _readme_blocks(text, command)
        out = run_cli(command.split()[2:], environ=NO_CLUSTER).stdout.rstrip("\n")
        text = head + "$ " + command + "\n" + out + "\n```" + tail
    with open("README.md", "w", encoding="utf-8") as fh:
        fh.write(text)



def test_offline_doctor_on_python39(krew_installed, tmp_path):
    """The must-gather reader, the diff and the group command on the oldest supported Python, from the krew
    archive (its locked wheels)."""
    import subprocess

    from tests.krewlib import oldest_and_newest

    py = oldest_and_newest()[0]
    _, link, _ = krew_installed
    env = dict(os.environ, KUBECONFIG=str(tmp_path / "none"), HOME=str(tmp_path))
    env.pop("PYTHONPATH", None)
    tgz = mustgather_sim.tar_gz(os.path.join(FIXTURES, "merged", "must-gather.local.5550003"), str(tmp_path / "m.tgz"))
    r = subprocess.run([py, link, "doctor", "--from", tgz, "-o", "json"], capture_output=True, text=True,
                       timeout=120, env=env)
    assert r.returncode == 1, r.stderr
    assert json.loads(r.stdout)["source"]["kind"] == "must-gather"
    r = subprocess.run([py, link, "doctor", "diff", os.path.join(EX, "bundle-drifted-node"),
                        os.path.join(EX, "bundle-after-update")], capture_output=True, text=True, timeout=120,
                       env=env)
    assert r.returncode == 1, r.stderr
    assert "~ qemu-kvm-core 17:8.2.0-7.el9_4 \u2192 17:8.2.0-11.el9_4" in r.stdout
    r = subprocess.run([py, link, "doctor", "--from", os.path.join(FIXTURES, "hostile", "traversal.tar.gz")],
                       capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 2 and "path traversal" in r.stderr and "Traceback" not in r.stderr


def test_diff_with_one_expected_set_and_wide_must_gather_report(tmp_path):
    repo = str(tmp_path / "repo")
    from tests import nodesim

    nodesim.make_extensions_repo(repo, "4.16", "x86_64")
    res = cli("diff", os.path.join(EX, "must-gather-drifted-node"), os.path.join(EX, "bundle-drifted-node"),
              "--expected", repo, "-o", "json")
    assert res.exit_code == ExitStatus.SUCCESS, res.stderr
    doc = json.loads(res.stdout)
    # both sides judged against the same repo: worker-1's qemu is the same problem on both
    assert [(f["checkId"], f["subjects"]) for f in doc["findings"]["unchanged"]] == [
        ("node.package-version", ["worker-1"])] * 2
    wide = cli("--from", os.path.join(EX, "must-gather-drifted-node"), "-o", "wide")
    assert wide.exit_code == ExitStatus.PROBLEMS_FOUND
    import re

    assert re.search(r"^worker-1\s+problems\s+error\s+node\.package-version$", wide.stdout, re.M)
    assert re.search(r"^worker-0\s+ok\s+info\s+-$", wide.stdout, re.M)     # not collected is info, never ok


if __name__ == "__main__":
    _refresh_readme()
