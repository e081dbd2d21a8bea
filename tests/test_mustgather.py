"""doctor --from a must-gather: layout recognition, what is read, `not collected` reporting, hostile input.

Fixtures: tests/fixtures/mustgather/ (composed by tests/mustgather_sim.py from tests/nodesim.py scenarios and the
seeded objects of tests/fakeapi; README beside them names the public layout sources)."""
from __future__ import annotations

import os
import shutil
import tarfile

import pytest
import yaml

from kubectl_kata.doctor import mustgather as mgm
from kubectl_kata.doctor.findings import NODE_CHECK_IDS
from kubectl_kata.errors import BundleError
from kubectl_kata.status import ExitStatus
from tests import mustgather_sim, nodesim
from tests.mustgather_sim import FIXTURES

WORKERS = ["worker-0", "worker-1", "worker-2"]


def fx(name):
    return os.path.join(FIXTURES, name)


def analyse(path, expected=None):
    return mgm.analyse_mustgather(mgm.read_mustgather(path), expected)


def problems(doc):
    return sorted((f["subject"], f["checkId"], f["severity"]) for f in doc["findings"]
                  if f["severity"] in ("error", "warning"))


def by_check(doc, check_id):
    return [f for f in doc["findings"] if f["checkId"] == check_id]


def test_fixtures_are_what_the_generator_writes(tmp_path):
    # the committed fixtures come from the script (node versions from nodesim scenarios)
    text = mustgather_sim.version_text("version-skew", "worker-1")
    assert "qemu-kvm-core-8.2.0-7.el9_4.x86_64\n" in text and "kata-containers-3.7.0-2.rhaos4.16.el9.x86_64\n" in text
    assert "ipxe-roms-qemu-" in text and ":" not in text          # egrep lets ipxe-roms-qemu through; no epochs
    osc = [d for d in os.listdir(fx("merged/must-gather.local.5550003")) if "sandboxed-containers" in d][0]
    with open(os.path.join(fx("merged/must-gather.local.5550003"), osc, "nodes", "worker-1", "version")) as fh:
        assert fh.read() == text


def test_merged_must_gather_runs_every_check_the_data_allows():
    doc = analyse(fx("merged"))
    assert doc["source"]["kind"] == "must-gather"
    assert doc["source"]["contains"] == ["default (MCO resources)", "sandboxed containers operator"]
    assert doc["scope"] == {"pool": "worker", "nodes": WORKERS, "selector": None}
    assert doc["cluster"]["version"] == "4.16.3"
    # worker-1 runs the older qemu z-stream; the other two are the consensus
    assert problems(doc) == [("worker-1", "node.package-version", "error")] * 2
    errs = [f for f in by_check(doc, "node.package-version") if f["severity"] == "error"]
    msgs = sorted(f["message"].split(": ")[0] for f in errs)
    assert msgs == ["qemu-kvm-common-8.2.0-7.el9_4.x86_64 is older than expected 8.2.0-11.el9_4",
                    "qemu-kvm-core-8.2.0-7.el9_4.x86_64 is older than expected 8.2.0-11.el9_4"]
    # without rpm-ostree status the cause is not guessed (no "no override explains it")
    assert all("cause not known from a must-gather" in f["message"] for f in errs)
    assert {f["details"]["cause"] for f in errs} == {"unknown-offline"}
    sev = {f["checkId"]: f["severity"] for f in doc["findings"] if f["subject"] == "cluster"}
    assert sev["cluster.extension-mc"] == sev["cluster.rendered-config"] == sev["cluster.pool-status"] == "ok"
    assert sev["cluster.runtimeclass"] == "ok" and sev["cluster.expected-source"] == "info"
    assert {f["severity"] for f in by_check(doc, "node.extension-requested")} == {"ok"}
    # what a must-gather cannot show is "not collected" (info), on every node, never ok
    for cid in ("node.rpm-verify", "node.closure-complete", "node.os-image", "node.dev-kvm", "node.crio-dropin"):
        fs = by_check(doc, cid)
        assert sorted(f["subject"] for f in fs) == WORKERS, cid
        assert {f["severity"] for f in fs} == {"info"} and all(f["message"].startswith("not collected") for f in fs)
    assert any("no epochs" in n for n in doc["expected"]["notes"])


def test_operator_must_gather_alone():
    doc = analyse(fx("operator-only"))
    assert doc["source"]["contains"] == ["sandboxed containers operator"]
    # no pools in it: the worker-labelled nodes, as a live doctor would pick the worker pool
    assert doc["scope"] == {"pool": None, "nodes": WORKERS, "selector": "node-role.kubernetes.io/worker"}
    assert problems(doc) == [("worker-1", "node.package-version", "error")] * 2
    for cid in ("cluster.extension-mc", "cluster.rendered-config", "cluster.pool-status", "cluster.runtimeclass"):
        (f,) = by_check(doc, cid)
        assert f["severity"] == "info" and f["message"].startswith("not collected: the must-gather has no ")
        assert f["details"]["notCollected"] is True
    # the node's current config cannot be resolved without MachineConfigs
    assert {f["severity"] for f in by_check(doc, "node.extension-requested")} == {"info"}


def test_default_must_gather_alone_collects_no_node_data():
    doc = analyse(fx("default-only"))
    assert doc["source"]["contains"] == ["default (MCO resources)"]
    assert problems(doc) == []
    for cid in NODE_CHECK_IDS:
        fs = by_check(doc, cid)
        assert sorted(f["subject"] for f in fs) == WORKERS
        assert {f["severity"] for f in fs} == {"info"}
        assert all("no sandboxed containers operator must-gather" in f["message"] for f in fs)
    assert not [f for f in doc["findings"] if f["subject"] != "cluster" and f["severity"] == "ok"]
    assert by_check(doc, "cluster.rendered-config")[0]["severity"] == "ok"
    (rc,) = by_check(doc, "cluster.runtimeclass")
    assert rc["severity"] == "info" and "RuntimeClasses" in rc["message"]


def test_cluster_without_kata():
    doc = analyse(fx("no-kata"))
    assert problems(doc) == [("cluster", "cluster.extension-mc", "error"), ("cluster", "cluster.rendered-config",
                                                                          "error")]
    for f in by_check(doc, "node.extension-requested"):
        assert f["severity"] == "info" and "does not request" in f["message"]
    # an operator must-gather image ran, but nothing says the operator is installed
    (op,) = by_check(doc, "cluster.operator")
    assert "no install owner found" in op["message"]


@pytest.mark.parametrize("form", ["tar.gz", "tgz", "image-dir", "below-image-dir"])
def test_every_form_of_the_same_must_gather(tmp_path, form):
    src = fx("merged/must-gather.local.5550003")
    if form in ("tar.gz", "tgz"):
        path = mustgather_sim.tar_gz(src, str(tmp_path / ("mg." + form)))
        want = problems(analyse(fx("merged")))
        assert problems(analyse(path)) == want
        return
    osc = [d for d in os.listdir(src) if "sandboxed-containers" in d][0]
    path = os.path.join(src, osc) if form == "image-dir" else os.path.join(src, osc, "nodes")
    doc = analyse(path)
    assert doc["source"]["contains"] == ["sandboxed containers operator"]
    assert problems(doc) == [("worker-1", "node.package-version", "error")] * 2


def test_expected_file_is_compared_without_epochs_and_only_for_listed_packages(tmp_path):
    repo = str(tmp_path / "repo")
    nodesim.make_extensions_repo(repo, "4.16", "x86_64")
    doc = analyse(fx("merged"), expected=repo)
    assert doc["expected"]["source"] == "file"
    pk = doc["expected"]["packages"]["x86_64"]
    # edk2-ovmf, virtiofsd... are in the closure but never in the operator's `version`: not expected there
    assert sorted(pk) == ["ipxe-roms-qemu", "kata-containers", "qemu-kvm-common", "qemu-kvm-core"]
    assert pk["qemu-kvm-core"] == "qemu-kvm-core-8.2.0-11.el9_4.x86_64"
    assert problems(doc) == [("worker-1", "node.package-version", "error")] * 2
    assert any("not in that list" in n for n in doc["expected"]["notes"])


def test_machineconfig_file_contents_are_redacted():
    mg = mgm.read_mustgather(fx("merged"))
    sources = [f["contents"]["source"] for mc in mg.facts["mcs"]
               for f in ((mc.get("spec") or {}).get("config") or {}).get("storage", {}).get("files") or []]
    assert sources and all(s.endswith("bytes long") for s in sources)


def test_version_file_parsing():
    warnings = []
    pk = mgm.parse_version_file(b"kata-containers-3.7.0-2.rhaos4.16.el9.x86_64\n\nnot a package\n"
                                b"qemu-kvm-core-17:8.2.0-11.el9_4.x86_64\n", warnings)
    assert [str(p) for p in pk] == ["kata-containers-3.7.0-2.rhaos4.16.el9.x86_64"]
    assert len(warnings) == 2      # a line without NVRA shape, and one with an epoch (not rpm -qa's format)


# --------------------------------------------------------------------------- refusing bad input

@pytest.mark.parametrize("case, needle", [
    ("traversal", "path traversal with '..' is refused"),
    ("symlink", "refusing link"),
    ("device", "refusing special file"),
    ("oversized", "more than the 33554432-byte limit"),
])
def test_hostile_archives_are_refused_and_nothing_is_written(tmp_path, case, needle):
    before = set(os.listdir("/tmp"))
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        with pytest.raises(BundleError) as exc:
            mgm.read_mustgather(fx("hostile/%s.tar.gz" % case))
    finally:
        os.chdir(cwd)
    assert needle in exc.value.message
    assert exc.value.exit_status == ExitStatus.USAGE
    assert os.listdir(tmp_path) == []
    assert set(os.listdir("/tmp")) - before == set()


def _copy_osc(tmp_path):
    src = fx("operator-only/must-gather.local.5550001")
    dst = tmp_path / "mg"
    shutil.copytree(src, dst)
    osc = [d for d in os.listdir(dst) if "sandboxed-containers" in d][0]
    return dst, dst / osc


def test_links_in_a_directory(tmp_path):
    dst, osc = _copy_osc(tmp_path)
    # a link where doctor reads nothing is ignored (never followed) ...
    os.symlink("/etc/passwd", osc / "nodes" / "worker-0" / "dmesg")
    assert problems(analyse(str(dst))) == [("worker-1", "node.package-version", "error")] * 2
    # ... a link at a path doctor reads is refused
    os.unlink(osc / "nodes" / "worker-0" / "version")
    os.symlink("/etc/passwd", osc / "nodes" / "worker-0" / "version")
    with pytest.raises(BundleError, match="refusing link"):
        mgm.read_mustgather(str(dst))


def test_fifo_and_oversized_file_in_a_directory(tmp_path):
    dst, osc = _copy_osc(tmp_path)
    os.unlink(osc / "nodes" / "worker-2" / "version")
    os.mkfifo(osc / "nodes" / "worker-2" / "version")
    with pytest.raises(BundleError, match="refusing special file"):
        mgm.read_mustgather(str(dst))
    os.unlink(osc / "nodes" / "worker-2" / "version")
    with open(osc / "nodes" / "worker-2" / "version", "wb") as fh:
        fh.truncate(mgm.MAX_FILE_BYTES + 1)
    with pytest.raises(BundleError, match="byte limit"):
        mgm.read_mustgather(str(dst))


def test_yaml_aliases_and_bad_yaml_are_refused(tmp_path):
    d = tmp_path / "cluster-scoped-resources" / "core" / "nodes"
    d.mkdir(parents=True)
    (d / "worker-0.yaml").write_text("a: &x [1, 2]\nb: *x\nmetadata: {name: worker-0}\n")
    with pytest.raises(BundleError, match="YAML aliases are not accepted"):
        mgm.read_mustgather(str(tmp_path))
    (d / "worker-0.yaml").write_text("metadata: {name: [\n")
    with pytest.raises(BundleError, match="not valid YAML"):
        mgm.read_mustgather(str(tmp_path))
    (d / "worker-0.yaml").write_text("!!python/object/apply:os.system ['true']\n")
    with pytest.raises(BundleError, match="not valid YAML"):
        mgm.read_mustgather(str(tmp_path))


def test_neither_bundle_nor_must_gather(tmp_path):
    (tmp_path / "notes.txt").write_text("hello\n")
    assert not mgm.looks_like_mustgather(str(tmp_path))
    with pytest.raises(BundleError) as exc:
        mgm.read_mustgather(str(tmp_path))
    assert "expected a kubectl-kata doctor bundle (manifest.json not found) or a must-gather" in exc.value.message
    plain = tmp_path / "notes.txt"
    with pytest.raises(BundleError, match="not a directory or a tarball"):
        mgm.read_mustgather(str(plain))
    with tarfile.open(tmp_path / "empty.tar.gz", "w:gz") as tar:
        info = tarfile.TarInfo("readme")
        tar.addfile(info)
    with pytest.raises(BundleError, match="expected a kubectl-kata doctor bundle"):
        mgm.read_mustgather(str(tmp_path / "empty.tar.gz"))


def test_skipped_nodes_and_missing_version_files(tmp_path):
    store = mustgather_sim.seeded_store(operator=True)
    root = mustgather_sim.write_mustgather(str(tmp_path), store, mustgather_sim.SCENARIOS,
                                           skipped=["worker-2"], no_version=["worker-0"])
    mg = mgm.read_mustgather(root)
    assert mg.skipped_nodes == ["worker-2"]
    doc = mgm.analyse_mustgather(mg)
    assert doc["source"]["skippedNodes"] == ["worker-2"]
    w0 = [f for f in doc["findings"] if f["subject"] == "worker-0"]
    assert len(w0) == len(NODE_CHECK_IDS) and {f["severity"] for f in w0} == {"info"}
    assert all("has no nodes/worker-0/version" in f["message"] for f in w0)
    # worker-1 alone against worker-2: an even split is not compared (never a guess)
    assert problems(doc) == []
    assert any("nodes disagree evenly" in n for n in doc["expected"]["notes"])


def test_extension_requested_but_kata_missing_from_rpm_qa(tmp_path):
    store = mustgather_sim.seeded_store(operator=True)
    scen = dict(mustgather_sim.SCENARIOS, **{"worker-2": "closure-missing"})
    root = mustgather_sim.write_mustgather(str(tmp_path), store, scen)
    osc = [d for d in os.listdir(root) if "sandboxed-containers" in d][0]
    vfile = os.path.join(root, osc, "nodes", "worker-2", "version")
    with open(vfile) as fh:
        lines = [x for x in fh.read().splitlines() if not x.startswith("kata-containers-")]
    with open(vfile, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    with open(os.path.join(root, osc, "nodes", "worker-0", "version"), "w") as fh:
        fh.write("")
    doc = analyse(root)
    got = {(f["subject"], f["severity"]) for f in by_check(doc, "node.extension-requested")}
    # kata missing while qemu is listed: the extension was not applied; an empty list may be a failed `oc debug`
    assert got == {("worker-0", "warning"), ("worker-1", "ok"), ("worker-2", "error")}


def test_mustgather_sim_writes_yaml_oc_would_write(tmp_path):
    root = mustgather_sim.write_mustgather(str(tmp_path), mustgather_sim.seeded_store(), {}, operator=False)
    img = os.listdir(root)
    d = [x for x in img if x.startswith("quay-io-")][0]
    with open(os.path.join(root, d, "cluster-scoped-resources", "config.openshift.io", "clusterversions.yaml")) as fh:
        doc = yaml.safe_load(fh)
    assert doc["kind"] == "ClusterVersionList" and doc["items"][0]["metadata"]["name"] == "version"


def test_a_node_still_waiting_in_the_rollout_is_not_called_drifted(tmp_path):
    store = mustgather_sim.seeded_store(operator=True)
    node = store.get("Node", "worker-1")
    ann = node["metadata"]["annotations"]
    target = ann["machineconfiguration.openshift.io/currentConfig"]
    ann["machineconfiguration.openshift.io/currentConfig"] = "rendered-worker-0123456789abcdef0123456789abcdef"
    ann["machineconfiguration.openshift.io/desiredConfig"] = target
    store.update(node)
    root = mustgather_sim.write_mustgather(str(tmp_path), store, mustgather_sim.SCENARIOS)
    doc = analyse(root)
    # worker-1's older qemu is explained by the rollout it waits in: a warning, not an error
    assert problems(doc) == [("worker-1", "node.package-version", "warning")] * 2
    assert {f["details"]["cause"] for f in by_check(doc, "node.package-version") if f["subject"] == "worker-1"} \
        == {"rollout"}


# --------------------------------------------------------------------------- redaction and YAML values

# A MachineConfig as the MCO/an admin writes it (Ignition 3.2 in spec.config: passwd.users with an SSH key and a
# password hash, a systemd unit whose drop-in sets proxy credentials, a file appended from a data URL), and the
# cluster ClusterVersion's upstream with user info: every field core/redact.py lists as secret-bearing (issue 13).
_SECRETS = ("AAAAB3NzaC1yc2EAAAADAQABsecretkey", "$6$rounds=4096$hashedsecret", "proxyuser:proxypass",
            "appended-secret-data")
_SECRET_MC = """apiVersion: machineconfiguration.openshift.io/v1
kind: MachineConfig
metadata:
  name: 99-worker-ssh
  labels: {machineconfiguration.openshift.io/role: worker}
spec:
  config:
    ignition: {version: 3.2.0}
    passwd:
      users:
      - name: core
        passwordHash: "$6$rounds=4096$hashedsecret"
        sshAuthorizedKeys: ["ssh-rsa AAAAB3NzaC1yc2EAAAADAQABsecretkey admin@example"]
    storage:
      files:
      - path: /etc/extra
        append: [{source: "data:,appended-secret-data"}]
    systemd:
      units:
      - name: crio.service
        dropins:
        - name: 10-proxy.conf
          contents: "[Service]\\nEnvironment=HTTPS_PROXY=http://proxyuser:proxypass@proxy.example:3128\\n"
"""


def test_every_secret_bearing_field_of_a_must_gather_is_redacted(tmp_path):
    import json

    dst = tmp_path / "mg"
    shutil.copytree(fx("merged/must-gather.local.5550003"), dst)
    img = [d for d in os.listdir(dst) if d.startswith("quay-io-")][0]
    mcs = dst / img / "cluster-scoped-resources" / "machineconfiguration.openshift.io" / "machineconfigs"
    (mcs / "99-worker-ssh.yaml").write_text(_SECRET_MC)
    cv = dst / img / "cluster-scoped-resources" / "config.openshift.io" / "clusterversions.yaml"
    doc = yaml.safe_load(cv.read_text())
    doc["items"][0].setdefault("spec", {})["upstream"] = "https://proxyuser:proxypass@updates.example/graph"
    cv.write_text(yaml.safe_dump(doc))
    mg = mgm.read_mustgather(str(dst))
    assert "99-worker-ssh" in [m["metadata"]["name"] for m in mg.facts["mcs"]]
    text = json.dumps(mg.facts)
    assert [s for s in _SECRETS if s in text] == []
    report = json.dumps(mgm.analyse_mustgather(mg))
    assert [s for s in _SECRETS if s in report] == []


def test_unquoted_timestamps_are_strings_and_non_json_values_are_refused(tmp_path):
    d = tmp_path / "cluster-scoped-resources" / "core" / "nodes"
    d.mkdir(parents=True)
    # a hand-made file may leave timestamps unquoted (oc quotes them): they stay the strings the API serves
    (d / "worker-0.yaml").write_text("apiVersion: v1\nkind: Node\n"
                                     "metadata: {name: worker-0, creationTimestamp: 2024-06-01T10:00:00Z}\n")
    mg = mgm.read_mustgather(str(tmp_path))
    assert mg.facts["nodes"][0]["metadata"]["creationTimestamp"] == "2024-06-01T10:00:00Z"
    # a value no API server serves and no bundle can hold is one clear line, not a traceback later
    (d / "worker-0.yaml").write_text("apiVersion: v1\nkind: Node\nmetadata: {name: worker-0}\n"
                                     "status: {blob: !!binary aGVsbG8=}\n")
    with pytest.raises(BundleError, match="holds a value that is not JSON data"):
        mgm.read_mustgather(str(tmp_path))
