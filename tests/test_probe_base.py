"""The collection script's base-image items (issue 13), executed by dash and bash with stub node tools.

`rpm-ostree status --json` here has the key layout of the FCOS samples (DOMAIN 4.1): a staged deployment listed
first, the booted one layered (`base-checksum`), and `rpm-ostree db list <checksum>` prints `ostree commit:
<checksum>` followed by one ` <nevra>` line per package (rpm-ostree src/app/rpmostree-db-builtin-list.cxx). The stubs record their argv so the test sees exactly what ran.
"""
import subprocess

import pytest

from kubectl_kata.core.nodefacts import parse_db_list
from kubectl_kata.probe.framing import parse_framed
from kubectl_kata.probe.script import build_script
from tests.test_probe_script import NONCE, RPM_STUB, SHELLS, SYSTEMCTL_STUB

BOOTED_BASE = "a" * 64
STAGED_BASE = "b" * 64

RPM_OSTREE_LAYERED = r"""#!/bin/sh
printf '%s\n' "rpm-ostree $*" >>"$STUB_LOG"
case "$1" in
  status)
    cat <<'JSON'
{
  "deployments" : [
    {
      "staged" : true,
      "booted" : false,
      "base-checksum" : "STAGED",
      "requested-packages" : [ "kata-containers" ]
    },
    {
      "booted" : true,
      "base-checksum" : "BOOTED",
      "checksum" : "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc",
      "requested-packages" : [ "kata-containers" ]
    }
  ],
  "transaction" : null
}
JSON
    ;;
  db)
    shift 2
    [ $# -eq 1 ] || { echo "stub: one commit per call" >&2; exit 64; }
    printf 'ostree commit: %s\n' "$1"
    printf ' bash-5.1.8-9.el9.x86_64\n glibc-2.34-100.el9_4.4.x86_64\n' ;;
  *) exit 64 ;;
esac
""".replace("STAGED", STAGED_BASE).replace("BOOTED", BOOTED_BASE)

RPM_OSTREE_PLAIN = r"""#!/bin/sh
printf '%s\n' "rpm-ostree $*" >>"$STUB_LOG"
printf '{"deployments":[{"booted":true,"requested-packages":[]}],"transaction":null}\n'
"""


def _run(tmp_path, shell, rpm_ostree):
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    for name, body in (("rpm", RPM_STUB), ("rpm-ostree", rpm_ostree), ("systemctl", SYSTEMCTL_STUB)):
        p = bindir / name
        p.write_text(body)
        p.chmod(0o755)
    (tmp_path / "tmp").mkdir(exist_ok=True)
    env = {"PATH": "%s:/usr/bin:/bin" % bindir, "STUB_LOG": str(tmp_path / "stub.log"),
           "TMPDIR": str(tmp_path / "tmp"), "LANG": "C"}
    proc = subprocess.run([shell, "-c", build_script(NONCE)], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=60, check=False)
    assert proc.returncode == 0 and proc.stderr == b""
    items, problems = parse_framed(proc.stdout, NONCE)
    assert problems == []
    return items, (tmp_path / "stub.log").read_text().splitlines()


@pytest.mark.parametrize("shell", SHELLS)
def test_base_rpmdb_lists_every_base_commit(tmp_path, shell):
    items, log = _run(tmp_path, shell, RPM_OSTREE_LAYERED)
    # every base-checksum in the status, each once, one call each (db list would read a commit it cannot
    # resolve, and everything after it, as name patterns)
    assert [line for line in log if line.startswith("rpm-ostree db")] == [
        "rpm-ostree db list %s" % BOOTED_BASE, "rpm-ostree db list %s" % STAGED_BASE]
    base = items["base-rpmdb"]
    assert base.rc == 0
    assert parse_db_list(base.stdout) == {BOOTED_BASE: ["bash", "glibc"], STAGED_BASE: ["bash", "glibc"]}
    # meta.json is absent on this "node": cat fails, which is data, not an error
    assert items["base-meta"].rc != 0


@pytest.mark.parametrize("shell", SHELLS)
def test_base_rpmdb_on_a_node_that_is_not_layered(tmp_path, shell):
    items, log = _run(tmp_path, shell, RPM_OSTREE_PLAIN)
    assert not any(line.startswith("rpm-ostree db") for line in log)
    assert items["base-rpmdb"].rc == 3
    assert items["base-rpmdb"].stderr == b"kata-doctor: no layered deployment (no base-checksum)\n"


def test_db_list_parser_ignores_what_it_does_not_know():
    out = ("ostree commit: rhcos/x86_64 (%s)\n bash-5.1.8-9.el9.x86_64\n not a nevra\n\nnoise line\n"
           " glibc-2.34-100.el9_4.4.x86_64\n" % BOOTED_BASE).encode()
    assert parse_db_list(out) == {BOOTED_BASE: ["bash"]}
