"""`upgrade --check`: the target release's extensions repo against today's, per architecture of the kata nodes.

The cluster is the fake API server (seeds.py: the osimageurl ConfigMap names the current extensions image); the
registry is the fake `oc` (tests/fakebin: `adm release info` per release pullspec, `image extract` building
nodesim repos, version overrides per image). Package versions follow nodesim's 4.16 set (kata-containers
3.7.0-2.rhaos4.16.el9, qemu-kvm-core 17:8.2.0-11.el9_4) with the z-stream builds overridden per test.
"""
from __future__ import annotations

import json

import pytest

from kubectl_kata.core import objects
from kubectl_kata.core import target_check as tc
from kubectl_kata.core.rpm import NEVRA
from kubectl_kata.status import ExitStatus
from tests.clirunner import run_cli
from tests.fakeapi.seeds import ocp_facts

RELEASE = "quay.io/openshift-release-dev/ocp-release"
TARGET_EXT = "quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:" + "7" * 64


def _cluster(make_fake_cluster, tmp_path, worker_arches=("amd64", "amd64")):
    fc = make_fake_cluster(ocp_version="4.16.3", masters=1, workers=len(worker_arches),
                           worker_arches=list(worker_arches), mco=False)
    fc.store.create(objects.machine_config("worker"))
    return fc, fc.write_kubeconfig(str(tmp_path / "kubeconfig"))


def _current_ext():
    return ocp_facts("4.16.3")["extensions_image"]


def check(fake_oc, args, kc):
    env = {"FAKE_OC_SCENARIO_DIR": fake_oc.scenario_dir, "FAKE_OC_STATE_DIR": fake_oc.state_dir}
    return run_cli(["upgrade", "--check"] + args, kubeconfig=kc, environ=env)


def _writes(fc):
    return [(r["method"], r["path"]) for r in fc.requests if r["method"] in ("POST", "PATCH", "PUT", "DELETE")]


def test_zstream_bump_a_string_compare_gets_backwards(make_fake_cluster, tmp_path, fake_oc):
    fc, kc = _cluster(make_fake_cluster, tmp_path)
    fake_oc.configure(
        images={_current_ext(): {"release": "4.16", "arch": "x86_64", "kata": ["3.9.0", "2.rhaos4.16.el9"],
                                 "qemu": [17, "8.2.0", "9.el9_4"]},
                TARGET_EXT: {"release": "4.16", "arch": "x86_64", "kata": ["3.10.0", "1.rhaos4.16.el9"],
                             "qemu": [17, "8.2.0", "10.el9_4"]}},
        releases={RELEASE + ":4.16.9-x86_64": {"version": "4.16.9", "tags": {"rhel-coreos-extensions": TARGET_EXT}}})
    fc.reset_requests()
    res = check(fake_oc, ["--to-version", "4.16.9"], kc)
    assert res.exit_code == 0, res.stdout + res.stderr
    assert "kata-containers              3.9.0-2.rhaos4.16.el9 -> 3.10.0-1.rhaos4.16.el9  (upgrade)" in res.stdout
    assert "qemu-kvm-core                17:8.2.0-9.el9_4 -> 17:8.2.0-10.el9_4  (upgrade)" in res.stdout
    assert "No problem found" in res.stdout
    # read-only: no write to the API, no debug pod, only release info + image extracts
    assert _writes(fc) == []
    assert fake_oc.count("oc", "debug") == 0 and fake_oc.live_pods() == []
    infos = fake_oc.events("release-info")
    assert infos == [{"event": "release-info", "image_for": "rhel-coreos-extensions",
                      "release": RELEASE + ":4.16.9-x86_64", "output": None, **{k: infos[0][k] for k in infos[0]
                                                                                if k not in ("event", "image_for",
                                                                                             "release", "output")}}]
    assert sorted(e["pullspec"] for e in fake_oc.events("image-extract")) == sorted([TARGET_EXT, _current_ext()])


def test_package_gone_for_one_arch_is_flagged(make_fake_cluster, tmp_path, fake_oc):
    fc, kc = _cluster(make_fake_cluster, tmp_path, ("amd64", "s390x"))
    both = {"release": "4.16", "arches": ["x86_64", "s390x"]}
    fake_oc.configure(
        images={_current_ext(): dict(both),
                TARGET_EXT: dict(both, without_arch={"s390x": ["kata-containers"]})},
        releases={RELEASE + ":4.16.9-multi": {"version": "4.16.9", "tags": {"rhel-coreos-extensions": TARGET_EXT}}})
    res = check(fake_oc, ["--to-version", "4.16.9", "-o", "json"], kc)
    assert res.exit_code == ExitStatus.PROBLEMS_FOUND, res.stderr
    doc = json.loads(res.stdout)
    assert doc["kind"] == "UpgradeCheck" and doc["ok"] is False and doc["extensionAccepted"] is True
    assert doc["target"] == {"version": "4.16.9", "release": RELEASE + ":4.16.9-multi",
                             "tag": "rhel-coreos-extensions", "extensionsImage": TARGET_EXT}
    assert [(p["code"], p["arch"]) for p in doc["problems"] if p["severity"] == "error"] == [("package-gone", "s390x")]
    assert doc["arches"]["s390x"]["nodes"] == ["worker-1"]
    assert doc["arches"]["s390x"]["kataContainers"]["change"] == "removed"
    assert doc["arches"]["x86_64"]["missing"] is None
    assert doc["arches"]["x86_64"]["kataContainers"]["change"] == "same"
    res = check(fake_oc, ["--to-version", "4.16.9"], kc)
    assert res.exit_code == 1
    assert "PROBLEM: kata-containers is not in the extensions repo for s390x" in res.stdout


def test_to_image_of_a_release_without_the_extension(make_fake_cluster, tmp_path, fake_oc):
    """A 4.7 payload: the MCO there does not know sandboxed-containers (machine-os-content layout)."""
    fc, kc = _cluster(make_fake_cluster, tmp_path)
    img = RELEASE + "@sha256:" + "4" * 64
    mosc = "quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:" + "5" * 64
    fake_oc.configure(images={_current_ext(): {"release": "4.16", "arch": "x86_64"},
                              mosc: {"release": "4.10", "arch": "x86_64"}},
                      releases={img: {"version": "4.7.60", "tags": {"machine-os-content": mosc}}})
    res = check(fake_oc, ["--to-image", img], kc)
    assert res.exit_code == ExitStatus.PROBLEMS_FOUND, res.stdout + res.stderr
    assert "Extension name sandboxed-containers accepted by the target's MCO: NO" in res.stdout
    assert "PROBLEM: the MCO of OpenShift 4.7.60 does not accept the extension name sandboxed-containers" in res.stdout
    assert [e["image_for"] for e in fake_oc.events("release-info")] == [None, "machine-os-content"]


@pytest.mark.parametrize("args,fragment", [
    (["--to-version", "4.99.0"], "error: oc adm release info %s:4.99.0-x86_64 --image-for=rhel-coreos-extensions "
                                 "failed: error: unable to read image" % RELEASE),
    (["--to-version", "four"], "error: unknown target version: cannot parse OpenShift version 'four'"),
])
def test_could_not_check_is_one_line_exit_3(make_fake_cluster, tmp_path, fake_oc, args, fragment):
    fc, kc = _cluster(make_fake_cluster, tmp_path)
    fake_oc.configure(releases={RELEASE + ":4.16.9-x86_64": {"version": "4.16.9", "tags": {}}})
    res = check(fake_oc, args, kc)
    assert res.exit_code == ExitStatus.CLUSTER_ERROR
    assert res.stderr.startswith(fragment), res.stderr
    assert "Traceback" not in res.stderr and res.stdout == ""


@pytest.mark.parametrize("args", [["--to-version", "4.16.9"], ["--check"],
                                  ["--check", "--to-version", "4.16.9", "--to-image", "x"],
                                  ["--check", "--to-version", "4.16.9", "--yes"]])
def test_check_usage_errors(args):
    res = run_cli(["upgrade"] + args)
    assert res.exit_code == ExitStatus.USAGE and res.stderr.startswith("error: ")


def _set(**kw):
    return {n: NEVRA.parse(v) if v else None for n, v in kw.items()}


def test_compare_orders_as_rpm_does():
    cur = {"x86_64": {"kata-containers": NEVRA.parse("kata-containers-3.9.0-9.el9.x86_64"),
                      "qemu-kvm-core": NEVRA.parse("qemu-kvm-core-17:8.2.0-9.el9_4.x86_64"),
                      "old-dep": NEVRA.parse("old-dep-1.0-1.el9.x86_64")}}
    tgt = {"x86_64": {"kata-containers": NEVRA.parse("kata-containers-3.10.0-1.el9.x86_64"),
                      "qemu-kvm-core": NEVRA.parse("qemu-kvm-core-8.2.0-10.el9_4.x86_64"),
                      "new-dep": NEVRA.parse("new-dep-2.0-1.el9.x86_64"), "broken": None}}
    doc = tc.compare(cur, tgt, {}, {"x86_64": ["w1"]}, "4.18.2")
    rows = {r["name"]: r["change"] for r in doc["arches"]["x86_64"]["packages"]}
    assert rows == {"kata-containers": "upgrade", "qemu-kvm-core": "downgrade",   # epoch 17 -> 0
                    "old-dep": "removed", "new-dep": "added", "broken": "unknown"}
    assert [p["code"] for p in doc["problems"]] == ["dependency-missing"]
    assert doc["ok"] is False and doc["extensionAccepted"] is True


def test_compare_arch_not_shipped_and_downgrade_warning():
    cur = {"aarch64": {"kata-containers": NEVRA.parse("kata-containers-3.10.0-1.el9.aarch64")}}
    tgt = {"aarch64": {"kata-containers": NEVRA.parse("kata-containers-3.9.0-1.el9.aarch64")}}
    doc = tc.compare(cur, tgt, {}, {"aarch64": ["a1"]}, "4.18.2")
    codes = [(p["code"], p["severity"]) for p in doc["problems"]]
    assert ("extension-not-accepted", "error") in codes and ("downgrade", "warning") in codes


def test_compare_without_current_still_checks_the_target():
    doc = tc.compare(None, {"x86_64": {}}, {"x86_64": "kata-containers is not in the extensions repo for x86_64"},
                     {"x86_64": ["w1"]}, None, "image not named")
    assert doc["extensionAccepted"] is None
    assert [p["code"] for p in doc["problems"]] == ["current-unknown", "package-gone"]
