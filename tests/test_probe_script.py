"""The real collection script, executed by /bin/sh (dash) and bash on this machine.

`rpm`, `rpm-ostree` and `systemctl` are stub scripts on PATH. Their canned output keeps the
real formats: rpm query formats from DOMAIN.md 4.6, package names/NEVRAs from
shared/reference/samples/rpm-qa-qemu.el8-host.capture.txt, `rpm -V` lines from DOMAIN.md 4.6,
`rpm -qf` "not owned" wording from rpm, `systemctl show -p` key=value lines.
"""
import os
import shutil
import subprocess
import textwrap
import time

import pytest

from kubectl_kata.probe.framing import parse_framed
from kubectl_kata.probe.runner import REASON_SCRIPT_ERROR, ProcOutcome, build_result
from kubectl_kata.probe.oc import diagnose_oc_stderr
from kubectl_kata.probe.script import COLLECTION_KEYS, PROBED_PATHS, SCRIPT_ITEM_KEY, build_script

NONCE = "a1b2c3d4e5f60718293a4b5c"
SHELLS = [s for s in ("dash", "bash") if shutil.which(s)]

RPM_STUB = r"""#!/bin/sh
# stub rpm: records its argv, answers the queries the collection script makes
printf '%s\n' "$*" >>"$STUB_LOG"
case "$*" in
  "-qa --qf %{NAME}\t%{EPOCH}\t%{VERSION}\t%{RELEASE}\t%{ARCH}\n")
    printf 'kata-containers\t(none)\t3.7.0\t6.rhaos4.16.el9\tx86_64\n'
    printf 'qemu-kvm-core\t17\t8.2.0\t11.el9_4.4\tx86_64\n'
    printf 'qemu-kvm-common\t17\t8.2.0\t11.el9_4.4\tx86_64\n'
    printf 'virtiofsd\t(none)\t1.10.1\t1.el9\tx86_64\n'
    echo "warning: rpmdb: stale lock" >&2 ;;
  "-qa --qf [%{=NAME}\t%{=ARCH}\t%{PROVIDENAME}\t%{PROVIDEFLAGS:depflags}\t%{PROVIDEVERSION}\n]")
    printf 'qemu-kvm-core\tx86_64\tqemu-kvm-core\t=\t17:8.2.0-11.el9_4.4\n' ;;
  "-qa --qf [%{=NAME}\t%{=ARCH}\t%{REQUIRENAME}\t%{REQUIREFLAGS:depflags}\t%{REQUIREVERSION}\n]")
    printf 'kata-containers\tx86_64\tqemu-kvm-core\t>=\t8.2.0-1\n'
    printf 'kata-containers\tx86_64\t(virtiofsd or qemu-virtiofsd)\t\t\n' ;;
  "-qa --requires")
    printf '/bin/sh\nlibc.so.6()(64bit)\n/usr/bin/python3\n/bin/sh\n/usr/libexec/not-owned\n(virtiofsd or qemu-virtiofsd)\n' ;;
  "-qf --qf %{NAME}\n /bin/sh") printf 'bash\n' ;;
  "-qf --qf %{NAME}\n /usr/bin/python3") printf 'python3\npython-unversioned-command\n' ;;
  "-qf --qf %{NAME}\n /usr/libexec/not-owned")
    echo "file /usr/libexec/not-owned is not owned by any package"; exit 1 ;;
  "-qa --qf %{NAME}\n qemu* virtiofsd") printf 'qemu-kvm-core\nqemu-kvm-common\nvirtiofsd\n' ;;
  "-V kata-containers qemu-kvm-common qemu-kvm-core virtiofsd")
    printf 'S.5....T.  c /etc/kata-containers/configuration.toml\nmissing     /usr/libexec/virtiofsd\n'
    exit 1 ;;
  *) echo "stub rpm: unexpected arguments: $*" >&2; exit 64 ;;
esac
"""

RPM_OSTREE_STUB = r"""#!/bin/sh
printf '%s\n' "rpm-ostree $*" >>"$STUB_LOG"
if [ -n "$STUB_HANG" ]; then exec sleep 30; fi
printf '{"deployments":[{"booted":true,"requested-packages":["kata-containers"],"packages":["kata-containers"]}],"transaction":null}\n'
echo "note: this is stderr, not JSON" >&2
"""

SYSTEMCTL_STUB = r"""#!/bin/sh
printf '%s\n' "systemctl $*" >>"$STUB_LOG"
[ "$*" = "show kata-osbuilder-generate.service -p ActiveState,SubState,Result,UnitFileState" ] || exit 64
printf 'Result=success\nUnitFileState=enabled\nActiveState=active\nSubState=exited\n'
"""


@pytest.fixture
def stubs(tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for name, body in (("rpm", RPM_STUB), ("rpm-ostree", RPM_OSTREE_STUB), ("systemctl", SYSTEMCTL_STUB)):
        p = bindir / name
        p.write_text(body)
        p.chmod(0o755)
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    env = {
        "PATH": "%s:/usr/bin:/bin" % bindir,
        "STUB_LOG": str(tmp_path / "stub.log"),
        "TMPDIR": str(tmpdir),
        "LANG": "C",
    }
    return env, tmp_path


def run_script(shell, env, script=None, timeout=60):
    script = script or build_script(NONCE)
    return subprocess.run([shell, "-c", script], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=timeout, check=False)


@pytest.mark.parametrize("shell", SHELLS)
def test_script_is_valid_posix_sh(shell):
    subprocess.run([shell, "-n", "-c", build_script(NONCE)], check=True)


def test_both_shells_are_available():
    # the execution tests below must not silently shrink to nothing
    assert "dash" in SHELLS and "bash" in SHELLS


@pytest.mark.parametrize("shell", SHELLS)
def test_script_end_to_end(shell, stubs):
    env, tmp_path = stubs
    proc = run_script(shell, env)
    assert proc.returncode == 0
    assert proc.stderr == b""  # the script's own stderr is captured, never leaked into the log
    marker = ("@@KATA-%s " % NONCE).encode()
    lines = proc.stdout.split(b"\n")
    assert lines[-1] == b""
    assert all(ln.startswith(marker) for ln in lines[:-1]), "stray stdout line"

    items, problems = parse_framed(proc.stdout, NONCE)
    assert problems == []
    assert list(items) == list(COLLECTION_KEYS)  # every key, in order, nothing extra

    # stdout and stderr of one command stay apart, rc is the command's own
    qa = items["rpm-qa"]
    assert qa.rc == 0
    assert qa.stdout.startswith(b"kata-containers\t(none)\t3.7.0\t6.rhaos4.16.el9\tx86_64\n")
    assert qa.stderr == b"warning: rpmdb: stale lock\n"
    st = items["rpm-ostree-status"]
    assert st.stdout.startswith(b'{"deployments"') and st.stderr == b"note: this is stderr, not JSON\n"

    # rpm -qa --qf with scalar tags inside the array iterator written %{=NAME}
    assert items["rpm-provides"].stdout == b"qemu-kvm-core\tx86_64\tqemu-kvm-core\t=\t17:8.2.0-11.el9_4.4\n"
    assert b"(virtiofsd or qemu-virtiofsd)" in items["rpm-requires"].stdout

    # file requirements: sorted unique paths, one line per owner, empty owner when unowned
    assert items["rpm-file-provides"].rc == 0
    assert items["rpm-file-provides"].stdout == (
        b"/bin/sh\tbash\n"
        b"/usr/bin/python3\tpython3\n"
        b"/usr/bin/python3\tpython-unversioned-command\n"
        b"/usr/libexec/not-owned\t\n")

    # rpm -V on kata-containers plus every installed qemu*/virtiofsd package; rc is data
    v = items["rpm-V"]
    assert v.rc == 1
    assert v.stdout.startswith(b"S.5....T.  c /etc/kata-containers/configuration.toml\n")

    assert items["osbuilder-unit"].stdout.splitlines()[0] == b"Result=success"
    assert items["uname-m"].stdout.strip() == os.uname().machine.encode()
    assert items["os-release"].stdout == open("/etc/os-release", "rb").read()

    # paths: every probed path, in order, with present/absent matching this machine
    rows = [ln.split(b"\t") for ln in items["paths"].stdout.splitlines()]
    assert [r[0].decode() for r in rows] == list(PROBED_PATHS)
    for path, state in rows:
        expected = os.path.lexists(path.decode())
        assert state == (b"present" if expected else b"absent")

    # a binary that does not exist: the shell's error lands in that item's stderr
    for key in ("kata-runtime-version", "shim-version", "kata-monitor-version", "kata-env"):
        if not os.path.exists("/usr/bin/kata-runtime"):
            assert items[key].rc == 127
            assert items[key].stderr  # "No such file or directory" wording differs per tool

    assert items["crio-50-kata.conf"].rc == 1 and b"No such file" in items["crio-50-kata.conf"].stderr

    log = (tmp_path / "stub.log").read_text().splitlines()
    assert "-V kata-containers qemu-kvm-common qemu-kvm-core virtiofsd" in log
    assert sum(1 for ln in log if ln.startswith("-qf ")) == 3  # one rpm -qf per unique path

    # the temp directory is gone
    assert os.listdir(env["TMPDIR"]) == []

    # what the script really prints is what core.nodefacts parses
    from kubectl_kata.core.nodefacts import parse_node_facts
    facts = parse_node_facts(items)
    assert [str(p) for p in facts.installed("kata-containers")] and facts.packages is not None
    assert facts.file_owners["/usr/bin/python3"] == ["python3", "python-unversioned-command"]
    assert facts.file_owners["/usr/libexec/not-owned"] == []
    assert facts.paths and set(facts.paths) == set(PROBED_PATHS)
    assert facts.osbuilder_unit == {"Result": "success", "UnitFileState": "enabled", "ActiveState": "active",
                                    "SubState": "exited"}
    assert facts.arch == os.uname().machine
    assert "rpm-qa" not in facts.errors and "rpm-file-provides" not in facts.errors


@pytest.mark.parametrize("shell", SHELLS)
def test_binary_safe_and_item_timeout(shell, stubs):
    env, tmp_path = stubs
    env = dict(env, STUB_HANG="1")
    start = time.monotonic()
    proc = run_script(shell, env, build_script(NONCE, item_timeout_s=1))
    assert time.monotonic() - start < 20
    items, problems = parse_framed(proc.stdout, NONCE)
    assert problems == []
    st = items["rpm-ostree-status"]
    assert st.rc == 124
    assert st.stderr.endswith(b"kata-doctor: timed out after 1s\n")
    assert items["uname-r"].rc == 0  # later items still ran
    assert os.listdir(env["TMPDIR"]) == []


@pytest.mark.parametrize("shell", SHELLS)
def test_mktemp_failure_is_a_framed_script_error(shell, stubs):
    env, tmp_path = stubs
    env = dict(env, TMPDIR=str(tmp_path / "does-not-exist"))
    proc = run_script(shell, env)
    assert proc.returncode == 0
    items, problems = parse_framed(proc.stdout, NONCE)
    assert problems == []
    assert list(items) == [SCRIPT_ITEM_KEY]
    assert items[SCRIPT_ITEM_KEY].rc == 1
    outcome = ProcOutcome(["oc"], proc.stdout, b"", 0, 0.1)
    res = build_result("w1", outcome, nonce=NONCE, command=["oc"], diagnose=diagnose_oc_stderr, timeout_s=10)
    assert not res.ok and res.reason == REASON_SCRIPT_ERROR
    assert res.error == "collection script failed on the node: kata-doctor: mktemp -d failed (no writable temporary directory)"


@pytest.mark.parametrize("shell", SHELLS)
def test_sigterm_removes_the_temp_dir(shell, stubs):
    env, tmp_path = stubs
    env = dict(env, STUB_HANG="1")
    proc = subprocess.Popen([shell, "-c", build_script(NONCE)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while not os.listdir(env["TMPDIR"]) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert os.listdir(env["TMPDIR"]), "script never created its temp dir"
    time.sleep(0.2)
    proc.terminate()
    proc.communicate(timeout=20)
    assert os.listdir(env["TMPDIR"]) == []


def test_script_text_contract():
    s = build_script(NONCE, item_timeout_s=77)
    assert "M='@@KATA-%s'" % NONCE in s
    assert "IT=77" in s
    assert "%{NAME}\\t%{EPOCH}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\n" in s
    # rpm rejects plain %{NAME} next to an array tag inside [...]; the scalar form must be used
    assert "[%{NAME}" not in s and "[%{=NAME}\\t%{=ARCH}\\t%{PROVIDENAME}" in s
    assert textwrap.dedent(s) == s
    with pytest.raises(ValueError):
        build_script("bad nonce'; rm -rf /")
    with pytest.raises(ValueError):
        build_script(NONCE, item_timeout_s=0)


def test_keys_and_paths_match_what_nodefacts_parses():
    # the script's contract with kubectl_kata.core.nodefacts (written separately)
    from kubectl_kata.core.nodefacts import KEYS, PROBED_PATHS as NODEFACTS_PATHS
    assert tuple(COLLECTION_KEYS) == tuple(KEYS)
    assert tuple(PROBED_PATHS) == tuple(NODEFACTS_PATHS)
