"""Completion: the kubectl 1.26+ plugin completion helper and the bash/zsh/fish scripts, driven for real."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time

import pytest
import yaml

from kubectl_kata.commands.completion import SCRIPTS
from kubectl_kata.completion_entry import complete
from tests.clirunner import run_cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def values(args, environ=None):
    cands, directive = complete(args, environ=environ if environ is not None else {"HOME": "/nonexistent"})
    return [v for v, _ in cands], directive


@pytest.fixture
def helper_bin(tmp_path):
    """A PATH directory with kubectl_complete-kata / oc_complete-kata running this checkout."""
    d = tmp_path / "bin"
    d.mkdir()
    for name in ("kubectl_complete-kata", "oc_complete-kata"):
        p = d / name
        p.write_text(f"#!/bin/sh\nPYTHONPATH={ROOT} exec {sys.executable} -m kubectl_kata.completion_entry \"$@\"\n")
        p.chmod(0o755)
    return str(d)


def _closed_port_kubeconfig(tmp_path):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    cfg = {"apiVersion": "v1", "kind": "Config", "current-context": "gone",
           "clusters": [{"name": "gone", "cluster": {"server": f"https://127.0.0.1:{port}"}}],
           "users": [{"name": "gone", "user": {"token": "x"}}],
           "contexts": [{"name": "gone", "context": {"cluster": "gone", "user": "gone"}}]}
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


# -- the protocol --------------------------------------------------------------------------------
def test_subcommands_with_descriptions_and_no_file_directive():
    cands, directive = complete([""], environ={})
    names = [v for v, _ in cands]
    assert names == ["enable", "disable", "status", "upgrade", "doctor", "version", "completion"]
    assert dict(cands)["status"] == "Show where sandboxed containers stand on the cluster."
    assert directive == 4
    assert values(["d"]) == (["disable", "doctor"], 4)


def test_flags_and_choice_values():
    flags, _ = values(["enable", "--"])
    assert {"--pool", "--nodes", "--dry-run", "--kubeconfig", "--context", "--help"} <= set(flags)
    assert values(["enable", "--dry-run", ""]) == (["none", "client", "server"], 4)
    assert values(["enable", "--dry-run=cl"]) == (["client"], 4)
    assert values(["doctor", "--via", ""]) == (["auto", "daemonset", "oc", "kubectl"], 4)
    assert values(["doctor", "--via", "d"]) == (["daemonset"], 4)
    assert values(["completion", ""]) == (["bash", "fish", "zsh"], 4)
    assert values(["status", "-o", "j"]) == (["json"], 4)


def test_path_flags_leave_completion_to_the_shell():
    assert values(["enable", "--kubeconfig", ""]) == ([], 0)
    assert values(["doctor", "--from", ""]) == ([], 0)


def test_pool_and_node_names_come_from_the_cluster(fake_cluster, fake_kubeconfig):
    env = {"KUBECONFIG": fake_kubeconfig, "HOME": "/nonexistent"}
    assert values(["status", "--pool", ""], env) == (["master", "worker"], 4)
    assert values(["enable", "--pool=w"], env) == (["worker"], 4)
    got, _ = values(["doctor", "--node", ""], env)
    assert len(got) == 6 and got == sorted(got)  # 3 masters + 3 workers
    workers = [n for n in got if "worker" in n]
    assert values(["enable", "--create-pool", "kata-oc", "--nodes", workers[0][:3]], env)[0] == \
        [n for n in got if n.startswith(workers[0][:3])]
    # --nodes is comma-separated: complete the last element, keep the others, do not repeat them
    got2, _ = values(["enable", "--nodes", workers[0] + ","], env)
    assert got2 == [f"{workers[0]},{n}" for n in got if n != workers[0]]


def test_the_flags_typed_so_far_select_the_cluster(make_fake_cluster, tmp_path):
    a = make_fake_cluster(workers=1, node_names="simple")
    path = a.write_kubeconfig(tmp_path / "a.yaml", context="alpha")
    env = {"KUBECONFIG": "/nonexistent/none", "HOME": "/nonexistent"}
    assert values(["status", "--kubeconfig", str(path), "--pool", ""], env) == (["master", "worker"], 4)
    assert values(["status", "--pool", ""], env) == ([], 4)
    assert values(["status", "--kubeconfig", str(path), "--context", ""], env) == (["alpha"], 4)


def test_no_cluster_means_no_candidates_quickly(tmp_path):
    start = time.monotonic()
    assert values(["status", "--pool", ""], {"KUBECONFIG": _closed_port_kubeconfig(tmp_path)}) == ([], 4)
    assert values(["status", "--pool", ""], {"HOME": str(tmp_path)}) == ([], 4)  # no kubeconfig at all
    assert time.monotonic() - start < 2.0


def test_a_hanging_api_server_is_given_up_on(fake_cluster, fake_kubeconfig):
    fake_cluster.delay("GET", r"/machineconfigpools", 10.0, times=1)
    start = time.monotonic()
    assert values(["status", "--pool", ""], {"KUBECONFIG": fake_kubeconfig}) == ([], 4)
    assert time.monotonic() - start < 3.0


def test_helper_executable_prints_protocol_lines_and_never_a_traceback(helper_bin, tmp_path):
    env = {"PATH": helper_bin + os.pathsep + os.environ["PATH"], "HOME": str(tmp_path)}
    for exe in ("kubectl_complete-kata", "oc_complete-kata"):
        r = subprocess.run([exe, "version", "--"], capture_output=True, text=True, env=env, timeout=30)
        lines = r.stdout.splitlines()
        assert r.returncode == 0 and r.stderr == ""
        assert lines[-1] == ":4"
        assert "--client\tPrint only the plugin version; do not contact the cluster." in lines
    r = subprocess.run(["kubectl_complete-kata", "status", "--pool", ""], capture_output=True, text=True,
                       env=dict(env, KUBECONFIG=str(tmp_path / "missing")), timeout=30)
    assert (r.returncode, r.stdout, r.stderr) == (0, ":4\n", "")
    # garbage in: still a directive line, exit 0, nothing on stderr
    r = subprocess.run(["kubectl_complete-kata", "--request-timeout", "bogus", "status", "--pool=", "'\"\\"],
                       capture_output=True, text=True, env=env, timeout=30)
    assert r.returncode == 0 and r.stdout.splitlines()[-1].startswith(":") and "Traceback" not in r.stderr


# -- the scripts ---------------------------------------------------------------------------------
def test_completion_command_prints_each_script():
    for shell in ("bash", "zsh", "fish"):
        r = run_cli(["completion", shell])
        assert r.exit_code == 0 and r.stdout == SCRIPTS[shell]
        assert "kubectl_complete-kata" in r.stdout and "oc-kata" in r.stdout
    r = run_cli(["completion", "tcsh"])
    assert r.exit_code == 2 and "'tcsh' is not one of" in r.stderr


def _bash_complete(helper_bin, line, tmp_path, extra_env=None):
    script = tmp_path / "kata.bash"
    script.write_text(SCRIPTS["bash"])
    prog = f"""
source {script}
COMP_LINE={line!r}; COMP_POINT=${{#COMP_LINE}}
read -r -a COMP_WORDS <<< "$COMP_LINE"; COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
__kubectl_kata_complete
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    env = {"PATH": helper_bin + os.pathsep + os.environ["PATH"], "HOME": str(tmp_path)}
    env.update(extra_env or {})
    r = subprocess.run(["bash", "--norc", "--noprofile", "-c", prog], capture_output=True, text=True, env=env,
                       timeout=30)
    assert r.returncode == 0, r.stderr
    return [x for x in r.stdout.splitlines() if x]


def test_bash_script_completes_commands_flags_and_pools(helper_bin, tmp_path, fake_kubeconfig):
    assert _bash_complete(helper_bin, "kubectl-kata sta", tmp_path) == ["status"]
    assert _bash_complete(helper_bin, "oc-kata ", tmp_path)[:3] == ["enable", "disable", "status"]
    assert _bash_complete(helper_bin, "kubectl-kata enable --dry-run ", tmp_path) == ["none", "client", "server"]
    assert _bash_complete(helper_bin, "kubectl-kata status --pool ", tmp_path,
                          {"KUBECONFIG": fake_kubeconfig}) == ["master", "worker"]


def test_zsh_script_feeds_describe(helper_bin, tmp_path):
    zsh = shutil.which("zsh")
    assert zsh, "zsh is needed (installed by .ci/run)"
    script = tmp_path / "_kubectl-kata"
    script.write_text(SCRIPTS["zsh"])
    prog = f"""
compdef() {{ print -r -- "compdef $*" }}
_describe() {{ print -rl -- "${{(@P)${{@[-1]}}}}" }}
_files() {{ print -r -- FILES }}
compset() {{ : }}
source {script}
words=(kubectl-kata enable --dry); CURRENT=3; PREFIX=--dry
_kubectl-kata
words=(kubectl-kata doctor --from ''); CURRENT=4; PREFIX=''
_kubectl-kata
"""
    env = {"PATH": helper_bin + os.pathsep + os.environ["PATH"], "HOME": str(tmp_path)}
    r = subprocess.run([zsh, "-f", "-c", prog], capture_output=True, text=True, env=env, timeout=30)
    assert r.returncode == 0, r.stderr
    out = r.stdout.splitlines()
    assert out[0] == "compdef _kubectl-kata kubectl-kata oc-kata"
    assert out[1].startswith("--dry-run:client: print the objects")  # value:description for _describe
    assert out[2] == "FILES"


def test_fish_script_completes_through_the_helper(helper_bin, tmp_path):
    fish = shutil.which("fish")
    assert fish, "fish is needed (installed by .ci/run)"
    script = tmp_path / "kubectl-kata.fish"
    script.write_text(SCRIPTS["fish"])
    env = {"PATH": helper_bin + os.pathsep + os.environ["PATH"], "HOME": str(tmp_path),
           "XDG_CONFIG_HOME": str(tmp_path / "cfg"), "XDG_DATA_HOME": str(tmp_path / "data")}
    r = subprocess.run([fish, "--no-config", "-c", f"source {script}; complete -C 'kubectl-kata ver'; "
                        f"complete -C 'oc-kata enable --dry-run='"],
                       capture_output=True, text=True, env=env, timeout=30)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split("\t")[0] == "version"
    # fish shows candidates sorted; the `--flag=` prefix is put back in front of each value
    assert [x.split("\t")[0] for x in lines[1:]] == ["--dry-run=client", "--dry-run=none", "--dry-run=server"]
