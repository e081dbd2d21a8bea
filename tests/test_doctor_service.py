"""The doctor service after issue 10's split: it returns a result and prints nothing (the command prints), and
what a bundle records is free of the collecting machine's paths. Live runs use the real CLI + real kubernetes
client against the fake API server (tests/fakeapi) and the fake `oc`/`kubectl` (tests/fakebin)."""
from __future__ import annotations

import io
import json
import os
import tarfile

import pytest

from kubectl_kata.context import Environment
from kubectl_kata.services.doctor import DoctorRequest, run_doctor
from kubectl_kata.services.reporting import Reporter
from kubectl_kata.status import ExitStatus
from tests.clirunner import run_cli
from tests.enabled import enabled_cluster
from tests.fakebin.plugin import FAKEBIN

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(ROOT, "examples", "bundle-drifted-node")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """OCP 4.16.3, 3 workers, kata enabled on `worker` (as in test_doctor_e2e)."""
    fc = enabled_cluster(tmp_path_factory.mktemp("kc") / "kubeconfig")
    yield fc
    fc.stop()


def _members(path):
    with tarfile.open(path) as tar:
        return {m.name.split("/", 1)[1]: tar.extractfile(m).read() for m in tar if m.isfile()}


@pytest.mark.parametrize("via", ["oc", "kubectl"])
def test_bundle_records_commands_with_the_binary_name_not_its_path(cluster, fake_oc, tmp_path, via):
    fake_oc.configure(images={cluster.ext_image: {"release": "4.16", "arch": "x86_64"}})
    env = {"FAKE_OC_SCENARIO_DIR": fake_oc.scenario_dir, "FAKE_OC_STATE_DIR": fake_oc.state_dir}
    extra = ["--image", "registry.example/support-tools:1"] if via == "kubectl" else []
    path = tmp_path / "b.tar.gz"
    res = run_cli(["doctor", "--via", via, "--bundle", str(path), "-o", "json"] + extra, kubeconfig=cluster.kc,
                  environ=env)
    assert res.exit_code == ExitStatus.SUCCESS, res.stderr
    files = _members(str(path))
    commands = json.loads(files["manifest.json"])["commands"]
    run = [c for c in commands if not c[0].startswith("(API)")]
    # one probe command per node, then `oc image extract` (always oc: kubectl has no image extract)
    assert [c[0] for c in run] == [via] * 3 + ["oc"]
    assert run[-1][1:3] == ["image", "extract"]
    for node in ("worker-0", "worker-1", "worker-2"):
        assert json.loads(files["nodes/%s/probe.json" % node])["command"][0] == via
    # the binaries really ran from the fake's directory; that path is in no bundle file
    assert FAKEBIN.encode() not in b"".join(files.values())
    assert fake_oc.invocations(via)


def test_the_shipped_example_names_no_path_of_the_machine_that_made_it():
    found = []
    for dirpath, _, names in os.walk(EXAMPLE):
        for name in names:
            with open(os.path.join(dirpath, name), "rb") as fh:
                data = fh.read()
            for marker in (b"/tests/fakebin/", ROOT.encode() + b"/", b"/home/", b"/tmp/"):
                if marker in data:
                    found.append((os.path.relpath(os.path.join(dirpath, name), EXAMPLE), marker))
    assert found == []
    manifest = json.load(open(os.path.join(EXAMPLE, "manifest.json")))
    assert {c[0] for c in manifest["commands"] if not c[0].startswith("(API)")} == {"oc"}


class _Recorder(Reporter):
    def __init__(self):
        self.calls = []

    def probes(self, done, running, failed, total, via):
        self.calls.append(("probes", done, running, failed, total, via))

    def probes_finished(self):
        self.calls.append(("finished",))

    def warning(self, text, hint=None):
        self.calls.append(("warning", text))


def _silent_env(environ):
    out, err = io.StringIO(), io.StringIO()
    return Environment(stdout=out, stderr=err, environ=environ, stdout_isatty=True, stderr_isatty=True), out, err


def test_service_returns_the_report_and_prints_nothing_offline(tmp_path):
    env, out, err = _silent_env({"PATH": ""})
    bundle = tmp_path / "again.tar.gz"
    result = run_doctor(env, None, DoctorRequest(from_path=EXAMPLE, bundle=str(bundle)), _Recorder())
    assert out.getvalue() == "" and err.getvalue() == ""
    assert result.status == ExitStatus.PROBLEMS_FOUND and not result.interrupted
    assert result.bundle == str(bundle) and bundle.is_file()
    with open(os.path.join(EXAMPLE, "report.json")) as fh:
        assert result.report == json.load(fh)


def test_live_service_reports_progress_through_the_reporter_only(cluster, fake_oc):
    from kubectl_kata.connection import ConnectionOptions

    fake_oc.configure(images={cluster.ext_image: {"release": "4.16", "arch": "x86_64"}},
                      nodes={"worker-2": {"scenario": "version-skew"}})
    env, out, err = _silent_env({"PATH": FAKEBIN + os.pathsep + os.environ.get("PATH", ""),
                                 "HOME": os.environ.get("HOME", "/nonexistent"),
                                 "FAKE_OC_SCENARIO_DIR": fake_oc.scenario_dir,
                                 "FAKE_OC_STATE_DIR": fake_oc.state_dir})
    rec = _Recorder()
    result = run_doctor(env, ConnectionOptions(kubeconfig=cluster.kc), DoctorRequest(), rec)
    # stdout/stderr are a terminal here, yet the service wrote nothing: progress went to the reporter
    assert out.getvalue() == "" and err.getvalue() == ""
    assert result.status == ExitStatus.PROBLEMS_FOUND
    assert result.report["rollup"] == "2 nodes OK, 1 differs: worker-2 (node.package-version)"
    probes = [c for c in rec.calls if c[0] == "probes"]
    assert probes[-1] == ("probes", 3, 0, 0, 3, "oc") and rec.calls[-1] == ("finished",)
    assert not [c for c in rec.calls if c[0] == "warning"]
    assert fake_oc.live_pods() == []


def test_a_namespace_that_cannot_be_deleted_is_a_warning_through_the_reporter(cluster, fake_oc):
    # the run still reports; the user learns on stderr which namespace is left and how to delete it
    fake_oc.configure(images={cluster.ext_image: {"release": "4.16", "arch": "x86_64"}})
    env = {"FAKE_OC_SCENARIO_DIR": fake_oc.scenario_dir, "FAKE_OC_STATE_DIR": fake_oc.state_dir}
    cluster.forbid("delete", "namespaces")
    try:
        res = run_cli(["doctor", "-o", "json"], kubeconfig=cluster.kc, environ=env)
    finally:
        cluster.allow("delete", "namespaces")
    left = [n["metadata"]["name"] for n in cluster.store.list("Namespace")
            if n["metadata"]["name"].startswith("kata-doctor-")]
    for name in left:
        cluster.store.delete("Namespace", name)
    assert res.exit_code == ExitStatus.SUCCESS, res.stderr
    assert json.loads(res.stdout)["healthy"] is True
    assert len(left) == 1
    warning = [ln for ln in res.stderr.splitlines() if ln.startswith("warning: ")]
    assert len(warning) == 1
    assert warning[0].startswith("warning: could not delete namespace %s: " % left[0])
    assert warning[0].endswith("; delete it with `oc delete namespace %s`" % left[0])
    assert fake_oc.live_pods() == []
