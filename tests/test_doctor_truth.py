"""doctor tells the truth (issue 13): node-level scenarios, each with its healthy variant.

Node data comes from ``tests/nodesim.make_node_raw`` (its module docstring names the real samples it is derived from);
the variants used here (``base``, ``glibc``, ``kernel_type``, ``virtiofsd_alt``, ``local_rpm``) are documented on
``make_node_raw``: the kernel switch follows MCO ``pkg/daemon/update.go`` (DOMAIN 12.1), ``rpm-ostree db list`` and
``base-checksum`` DOMAIN 4.1/4.6.
"""
import json
import os

from kubectl_kata.core.closure import installed_closure
from kubectl_kata.core.nodefacts import RawResult, parse_db_list, parse_node_facts
from kubectl_kata.core.rpm import NEVRA
from kubectl_kata.doctor.checks_node import check_node, consensus_expected
from kubectl_kata.doctor.expected import from_consensus
from tests import nodesim

PROBLEMS = ("error", "warning")


def facts(scenario="healthy", **kw):
    return parse_node_facts(nodesim.make_node_raw(scenario, **kw))


def ctx(scenario="healthy", **kw):
    c = dict(nodesim.scenario_context(scenario))
    c.update(kw)
    return c


def problems(findings):
    return [(f.subject, f.check_id, f.severity) for f in findings if f.severity in PROBLEMS]


def by_id(findings, cid):
    return [f for f in findings if f.check_id == cid]


def repo_expected():
    return {n: NEVRA.parse(v) for n, v in nodesim.expected_nevras().items()}


# ------------------------------------------------------------------ 1. consensus never compares the base OS

def test_base_set_comes_from_rpm_ostree_db_list():
    f = facts()
    assert f.base_source.startswith("rpm-ostree db list ")
    assert {"glibc", "bash", "dracut", "kernel", "glib2"} <= f.base_packages
    assert "kata-containers" not in f.base_packages and "qemu-kvm-core" not in f.base_packages
    unknown = facts(base=False)
    assert unknown.base_packages is None
    assert "rpm-ostree db list failed (exit status 1: error: Could not connect to rpm-ostreed" in \
        unknown.base_unknown_reason
    assert "no /usr/share/openshift/base/meta.json" in unknown.base_unknown_reason
    # the section of the booted deployment's base commit is used, not another deployment's
    raw = nodesim.make_node_raw()
    booted = [d for d in json.loads(raw["rpm-ostree-status"].stdout)["deployments"] if d["booted"]][0]
    sections = parse_db_list(raw["base-rpmdb"].stdout)
    assert booted["base-checksum"] in sections


def test_base_meta_json_is_the_fallback():
    raw = nodesim.make_node_raw(base=False)
    raw["base-meta"] = RawResult(json.dumps({"rpmdb.pkglist": [["glibc", "0", "2.34", "100.el9_4.4", "x86_64"],
                                                               ["bash", "0", "5.1.8", "9.el9", "x86_64"]]}).encode(),
                                 b"", 0)
    f = parse_node_facts(raw)
    assert f.base_packages == {"glibc", "bash"} and f.base_source == "/usr/share/openshift/base/meta.json"


def test_probe_without_base_keys_is_not_a_collection_problem():
    raw = nodesim.make_node_raw()
    del raw["base-rpmdb"], raw["base-meta"]   # a bundle recorded before the probe collected them
    f = parse_node_facts(raw)
    assert f.errors == {} and f.base_packages is None
    assert [x.severity for x in by_id(check_node("w", f, repo_expected(), ctx()), "node.collection")] == ["ok"]


def test_pool_mid_os_update_consensus_has_no_base_packages():
    nodes = {"worker-0": facts(), "worker-1": facts(), "worker-2": facts(glibc=("2.34", "101.el9_4.5"))}
    cons = consensus_expected(nodes)
    assert sorted(cons) == sorted(nodesim.expected_nevras())   # exactly the extension's closure
    assert not {"glibc", "kernel", "bash", "dracut", "glib2"} & set(cons)
    # the node on the newer base image has no problem at all (was: "glibc-... is newer than expected" +
    # `rpm-ostree override reset glibc`)
    findings = check_node("worker-2", nodes["worker-2"], cons, ctx())
    assert problems(findings) == []
    assert all("override reset" not in f.hint for f in findings)
    # healthy variant: the whole pool on one image
    same = {n: facts() for n in ("worker-0", "worker-1", "worker-2")}
    assert problems(check_node("worker-0", same["worker-0"], consensus_expected(same), ctx())) == []


def test_consensus_with_unknown_base_compares_only_what_is_known_layered():
    # no node knows its base: only kata-containers itself is known to be the extension's
    nodes = {"worker-0": facts(base=False), "worker-2": facts(base=False, glibc=("2.34", "101.el9_4.5"))}
    cons = consensus_expected(nodes)
    assert sorted(cons) == ["kata-containers"]
    assert sorted(cons.base_unknown) == ["worker-0", "worker-2"]
    exp = from_consensus(nodes, lambda n: "x86_64")
    assert any(n.startswith("base OS package set unknown on worker-0, worker-2 (rpm-ostree db list failed")
               for n in exp.notes)
    assert problems(check_node("worker-2", nodes["worker-2"], exp.for_node("x86_64"), ctx())) == []
    # one node knows its base: the others vote on the packages it showed to be layered, never on glibc
    nodes["worker-1"] = facts()
    cons = consensus_expected(nodes)
    assert sorted(cons) == sorted(nodesim.expected_nevras()) and list(cons.base_unknown) == ["worker-0", "worker-2"]


def test_consensus_still_catches_a_drifted_extension_package():
    nodes = {"a": facts(), "b": facts(), "c": facts("version-skew")}
    found = check_node("c", nodes["c"], consensus_expected(nodes), ctx())
    pv = [f for f in by_id(found, "node.package-version") if f.severity in PROBLEMS]
    assert [(f.details["package"], f.severity, f.details["cause"]) for f in pv] == [
        ("qemu-kvm-common", "error", "unknown"), ("qemu-kvm-core", "error", "unknown")]


# ------------------------------------------------------------------ 3. kernelType realtime / 64k-pages is managed

def _rt_context(kernel_types, **kw):
    return ctx(rendered_extensions=["sandboxed-containers"], kernel_types=kernel_types, **kw)


def test_realtime_kernel_node_is_managed_by_the_mco():
    f = facts(kernel_type="realtime")
    assert f.rpm_ostree.booted.requested_base_removals == ["kernel", "kernel-core", "kernel-modules",
                                                           "kernel-modules-extra"]
    findings = check_node("worker-rt", f, repo_expected(), _rt_context(["realtime"]))
    assert problems(findings) == []
    ul = by_id(findings, "node.unexpected-layered")
    assert [x.severity for x in ul] == ["ok"]
    assert "kernel-rt-core" in ul[0].details["managed"] and "kernel" in ul[0].details["managed"]
    assert all("uninstall" not in x.hint and "reset --all" not in x.hint for x in findings)


def test_64k_kernel_node_is_managed_by_the_mco():
    f = facts(kernel_type="64k-pages", arch="aarch64")
    exp = {n: NEVRA.parse(v) for n, v in nodesim.expected_nevras("4.16", "aarch64").items()}
    findings = check_node("worker-arm", f, exp, _rt_context(["64k-pages"]))
    assert [x.severity for x in by_id(findings, "node.unexpected-layered")] == ["ok"]


def test_kernel_switch_the_rendered_config_does_not_ask_for_is_reported():
    findings = check_node("worker-rt", facts(kernel_type="realtime"), repo_expected(), _rt_context(["default"]))
    ul = by_id(findings, "node.unexpected-layered")
    assert [(x.severity, x.details.get("packages") or x.details.get("overrides")) for x in ul] == [
        ("warning", ["kernel-rt-core", "kernel-rt-modules", "kernel-rt-modules-extra", "kernel-rt-kvm"]),
        ("warning", ["kernel", "kernel-core", "kernel-modules", "kernel-modules-extra"])]
    assert "rpm-ostree override reset kernel kernel-core kernel-modules kernel-modules-extra" in ul[1].hint
    assert "--all" not in ul[1].hint


def test_kernel_switch_with_unknown_rendered_config_is_not_called_unmanaged():
    findings = check_node("worker-rt", facts(kernel_type="realtime"), repo_expected(), ctx())
    ul = by_id(findings, "node.unexpected-layered")
    assert [x.severity for x in ul] == ["info"] and ul[0].hint == ""
    assert ul[0].details["packages"] == ["kernel", "kernel-core", "kernel-modules", "kernel-modules-extra",
                                         "kernel-rt-core", "kernel-rt-kvm", "kernel-rt-modules",
                                         "kernel-rt-modules-extra"]
    assert problems(findings) == []


def test_extension_packages_the_rendered_config_does_not_request_are_unmanaged():
    raw = nodesim.make_node_raw()
    doc = json.loads(raw["rpm-ostree-status"].stdout)
    booted = [d for d in doc["deployments"] if d["booted"]][0]
    booted["requested-packages"] = ["kata-containers", "usbguard"]
    raw["rpm-ostree-status"] = RawResult(json.dumps(doc).encode(), b"", 0)
    ul = by_id(check_node("w", parse_node_facts(raw), repo_expected(),
                          ctx(rendered_extensions=["sandboxed-containers"], kernel_types=["default"])),
               "node.unexpected-layered")
    assert [(x.severity, x.details["packages"]) for x in ul] == [("warning", ["usbguard"])]
    ul = by_id(check_node("w", parse_node_facts(raw), repo_expected(),
                          ctx(rendered_extensions=["sandboxed-containers", "usbguard"], kernel_types=["default"])),
               "node.unexpected-layered")
    assert [x.severity for x in ul] == ["ok"]


# ------------------------------------------------------------------ 4. one hint per cause

def _skew(**kw):
    return [f for f in by_id(check_node("worker-1", facts("version-skew", **kw.pop("fkw", {})), repo_expected(),
                                        ctx(**kw)), "node.package-version") if f.severity in PROBLEMS]


def test_drift_from_a_local_rpm_gets_the_reset_hint():
    pv = _skew(fkw={"local_rpm": "qemu-kvm-core"})
    core = [f for f in pv if f.details["package"] == "qemu-kvm-core"]
    assert [(f.severity, f.details["cause"]) for f in core] == [("error", "override")]
    assert "`rpm-ostree override reset qemu-kvm-core`" in core[0].hint
    assert core[0].hint.startswith("installed from a local RPM on this node: ")


def test_drift_on_a_node_waiting_for_the_rollout():
    pv = _skew(rollout_pending=True, rollout="1 of 3 nodes updated to rendered-worker-2")
    assert {(f.severity, f.details["cause"]) for f in pv} == {("warning", "rollout")}
    assert all(f.hint == "the node is still on its previous rendered config (1 of 3 nodes updated to "
               "rendered-worker-2): wait for the pool's rollout to reach this node (`kubectl kata status --watch`)"
               for f in pv)


def test_drift_with_a_staged_deployment():
    raw = nodesim.make_node_raw("version-skew")
    raw["rpm-ostree-status"] = nodesim.make_node_raw("staged-pending")["rpm-ostree-status"]
    found = check_node("w", parse_node_facts(raw), repo_expected(), ctx("staged-pending"))
    pv = [f for f in by_id(found, "node.package-version") if f.severity in PROBLEMS]
    assert {(f.severity, f.details["cause"]) for f in pv} == {("warning", "staged")}
    assert all("reboot" in f.hint and "override reset" not in f.hint for f in pv)


def test_drift_on_a_node_booted_from_an_older_os_image():
    pv = _skew(os_image_url=nodesim.os_image_url("4.16", 1))
    assert {(f.severity, f.details["cause"]) for f in pv} == {("warning", "old-image")}
    assert all("override reset" not in f.hint for f in pv)


def test_unexplained_drift_is_an_error_without_reset_advice():
    pv = _skew()
    assert {(f.severity, f.details["cause"]) for f in pv} == {("error", "unknown")}
    assert all("override reset" not in f.hint and "do not reset" in f.hint for f in pv)


# ------------------------------------------------------------------ 5. waiting nodes (node side)

def test_node_waiting_for_the_enable_rollout_is_pending():
    c = ctx("not-enabled", extension_requested=True, rollout_pending=True,
            rollout="1 of 3 nodes updated to rendered-kata-oc-new")
    found = check_node("worker-2", facts("not-enabled"), repo_expected(), c)
    er = by_id(found, "node.extension-requested")
    assert [x.severity for x in er] == ["info"]
    assert er[0].message.startswith("pending: waiting for the rollout") and "1 of 3 nodes updated" in er[0].message
    assert "enable" not in er[0].hint
    assert problems(found) == []
    # not rolling: the pool asks for it and the node does not have it: an error
    c.update(rollout_pending=False)
    er = by_id(check_node("worker-2", facts("not-enabled"), repo_expected(), c), "node.extension-requested")
    assert [x.severity for x in er] == ["error"]


# ------------------------------------------------------------------ 6. node.os-image on multi-arch payloads

def _with_booted(raw, **changes):
    doc = json.loads(raw["rpm-ostree-status"].stdout)
    booted = [d for d in doc["deployments"] if d["booted"]][0]
    for k, v in changes.items():
        if v is None:
            booted.pop(k, None)
        else:
            booted[k] = v
    raw["rpm-ostree-status"] = RawResult(json.dumps(doc).encode(), b"", 0)
    return raw


def _os_image(raw, **kw):
    return [(f.severity, f.message) for f in by_id(check_node("w", parse_node_facts(raw), repo_expected(), ctx(**kw)),
                                                   "node.os-image")]


def test_manifest_list_digest_vs_per_arch_digest_is_not_an_error():
    # the rendered osImageURL names the manifest list; rpm-ostree keeps that pull spec as the reference and
    # records the per-arch manifest as container-image-reference-digest
    raw = _with_booted(nodesim.make_node_raw(),
                       **{"container-image-reference-digest": "sha256:" + "ab" * 32})
    assert _os_image(raw) == [("ok", "booted OS image matches the rendered osImageURL (booted pull spec is the "
                                     "rendered osImageURL)")]


def test_node_current_image_annotation_confirms_the_image():
    url = nodesim.os_image_url()
    raw = _with_booted(nodesim.make_node_raw(), **{"container-image-reference":
                                                   "ostree-unverified-registry:mirror.example.com/ocp/release@sha256:"
                                                   + "cd" * 32, "container-image-reference-digest": "sha256:" + "12" * 32})
    assert _os_image(raw, current_image=url)[0][0] == "ok"
    sev, msg = _os_image(raw)[0]
    assert sev == "error" and "is not the rendered osImageURL" in msg


def test_tag_only_reference_is_unknown_not_an_error():
    raw = _with_booted(nodesim.make_node_raw(), **{
        "container-image-reference": "ostree-unverified-registry:quay.io/openshift-release-dev/ocp-v4.0-art-dev:4.16",
        "container-image-reference-digest": "sha256:" + "ef" * 32})
    sev, msg = _os_image(raw)[0]
    assert sev == "info" and "tag-only pull spec cannot be compared" in msg


# ------------------------------------------------------------------ 7. rich `or` dependencies

def test_or_dependency_met_by_the_second_alternative():
    f = facts(virtiofsd_alt=True)
    clos = installed_closure(f.package_index(), base=f.base_packages)
    assert clos.complete and "qemu-virtiofsd" in clos.packages
    assert clos.alternatives == {"virtiofsd": ["qemu-virtiofsd"]}
    found = check_node("w", f, repo_expected(), ctx())
    assert problems(found) == []
    pv = by_id(found, "node.package-version")
    assert [x.severity for x in pv] == ["ok"]
    assert "virtiofsd not installed, its requirement met by qemu-virtiofsd" in pv[0].message
    # neither alternative: the closure and the version check both say so
    raw = nodesim.make_node_raw()
    f = parse_node_facts(raw)
    f.packages = [p for p in f.packages if p.name != "virtiofsd"]
    found = check_node("w", f, repo_expected(), ctx())
    assert ("w", "node.package-version", "error") in problems(found)
    assert ("w", "node.closure-complete", "error") in problems(found)


# ------------------------------------------------------------------ 2. pools select MachineConfigs by machineConfigSelector

from kubectl_kata.doctor.analysis import analyse  # noqa: E402
from kubectl_kata.doctor.checks_cluster import check_cluster  # noqa: E402
from kubectl_kata.doctor.expected import Expectation  # noqa: E402
from kubectl_kata.doctor.model import Collected, ProbeRecord  # noqa: E402
from tests.test_core_fixtures_load import facts_from  # noqa: E402

OSC49 = "osc-managed-4.9.yaml"   # the operator's kata-oc pool selects role In [kata-oc, worker]


def _cluster(facts, pool="kata-oc", nodes=("worker-2",)):
    return check_cluster(facts, pool, list(nodes))


def test_operator_kata_oc_pool_selected_by_in_kata_oc_worker_is_healthy():
    found = _cluster(facts_from(OSC49))
    assert problems(found) == []
    mc = by_id(found, "cluster.extension-mc")
    assert [(f.severity, f.details["machineConfigs"]) for f in mc] == [
        ("ok", ["50-enable-sandboxed-containers-extension"])]
    rc = by_id(found, "cluster.runtimeclass")
    # the RuntimeClass selects every worker: worker-0/1 are outside kata-oc but their worker pool requests the
    # extension too (the MachineConfig has role worker)
    assert [f.severity for f in rc] == ["ok"]
    assert rc[0].details["outsidePool"] == ["worker-0", "worker-1"] and rc[0].details["outsideWithoutExtension"] == []


def test_runtimeclass_selecting_nodes_whose_pool_lacks_the_extension():
    facts = facts_from(OSC49)
    for mc in facts["mcs"]:
        if mc["metadata"]["name"] == "rendered-worker-ef33778f5cce7c2968078d241a7da154":
            mc["spec"]["extensions"] = []
    rc = by_id(_cluster(facts), "cluster.runtimeclass")
    assert [(f.subject, f.check_id, f.severity) for f in rc] == [("cluster", "cluster.runtimeclass", "error")]
    assert rc[0].message == ("RuntimeClass kata: its nodeSelector also selects nodes outside pool kata-oc whose own "
                             "pool does not request the extension: worker-0, worker-1")


def test_pool_whose_selector_misses_the_extension_mc():
    facts = facts_from(OSC49)
    for p in facts["pools"]:
        if p["metadata"]["name"] == "kata-oc":
            p["spec"]["machineConfigSelector"] = {"matchLabels": {"machineconfiguration.openshift.io/role": "kata-oc"}}
    mc = by_id(_cluster(facts), "cluster.extension-mc")
    assert [(f.severity, f.message) for f in mc] == [
        ("error", "no MachineConfig for pool kata-oc requests the sandboxed-containers extension; found: "
                  "50-enable-sandboxed-containers-extension (role worker)")]


# ------------------------------------------------------------------ 5. waiting nodes (analysis: the pool's target)

ROLLING = "rollout-rolling-4.16.yaml"   # worker-1 updated, worker-2 rebooting, worker-3 waiting


def _rolling_collected(raws):
    facts = facts_from(ROLLING)
    url = [m for m in facts["mcs"] if m["metadata"]["name"].startswith("rendered-kata-oc-")][0]["spec"]["osImageURL"]
    probes = {}
    for node, raw in raws.items():
        raw = _with_booted(raw, **{"container-image-reference": "ostree-unverified-registry:" + url,
                                   "container-image-reference-digest": url.rsplit("@", 1)[1]})
        probes[node] = ProbeRecord(node, True, "ok", None, raw)
    exp = Expectation(source="file", detail="test", packages={"x86_64": repo_expected()})
    return Collected(facts=facts, scope={"pool": "kata-oc", "nodes": sorted(raws), "selector": None},
                     probes=probes, expectation=exp)


def test_node_waiting_in_the_enable_rollout_is_pending_not_told_to_enable():
    doc = analyse(_rolling_collected({"worker-1": nodesim.make_node_raw(node="worker-1"),
                                      "worker-3": nodesim.make_node_raw("not-enabled", node="worker-3")}))
    w3 = [f for f in doc["findings"] if f["subject"] == "worker-3" and f["checkId"] == "node.extension-requested"]
    assert [f["severity"] for f in w3] == ["info"]
    assert w3[0]["message"] == (
        "pending: waiting for the rollout; the pool's target rendered config requests the sandboxed-containers "
        "extension and this node has not been updated yet (pool kata-oc: 1 of 3 nodes updated to "
        "rendered-kata-oc-29eac52a5a8a22e3f30db021be479b13)")
    assert "kubectl kata enable" not in w3[0]["hint"]
    node_problems = [(f["subject"], f["checkId"], f["severity"]) for f in doc["findings"]
                     if f["subject"] != "cluster" and f["severity"] in PROBLEMS]
    assert node_problems == []
    # healthy variant: the updated node reports the extension as requested and installed
    w1 = [f for f in doc["findings"] if f["subject"] == "worker-1" and f["checkId"] == "node.extension-requested"]
    assert [f["severity"] for f in w1] == ["ok"]


# ------------------------------------------------------------------ 10. text from a node never drives the terminal

def test_control_characters_from_a_bundle_are_escaped_in_tables(tmp_path):
    from kubectl_kata.doctor.bundle import write_bundle
    from kubectl_kata.status import ExitStatus
    from tests.clirunner import run_cli

    evil_path = "/usr/bin/kata-\x1b]0;pwned\x07runtime\x1b[2J\x1b[H\u202e"
    raw = nodesim.make_node_raw("modified-binary")
    raw["rpm-V"] = RawResult(("S.5....T.    %s\n" % evil_path).encode(), b"", 1)
    col = _rolling_collected({"worker-1": raw})
    col.probes["worker-3"] = ProbeRecord("worker-3", False, "script-error",
                                         "collection script failed: \x1b[31mboom\x1b[0m\r\x08", None)
    col.scope["nodes"] = ["worker-1", "worker-3"]
    bundle = write_bundle(str(tmp_path / "evil.tar.gz"), col, analyse(col))
    for fmt in ("table", "wide"):
        res = run_cli(["doctor", "--from", bundle, "-o", fmt], environ={"PATH": ""})
        assert res.exit_code == ExitStatus.PROBLEMS_FOUND, res.stderr
        assert not any(c in res.stdout for c in "\x1b\x07\x08\r\u202e"), fmt
        assert "/usr/bin/kata-\\x1b]0;pwned\\x07runtime\\x1b[2J\\x1b[H\\u202e" in res.stdout
        assert "\\x1b[31mboom\\x1b[0m \\x08" in res.stdout   # (\r became a space: one-line messages)
    res = run_cli(["doctor", "--from", bundle, "-o", "json"], environ={"PATH": ""})
    assert "\x1b" not in res.stdout and "\\u001b" in res.stdout          # JSON-escaped, the data intact
    doc = json.loads(res.stdout)
    assert any(evil_path in f["message"] for f in doc["findings"])


# ------------------------------------------------------------------ 11. a malformed bundle: exit 2, one line naming file and field

import shutil  # noqa: E402

import pytest  # noqa: E402

EXAMPLE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples",
                       "bundle-drifted-node")


def _edit(root, rel, fn):
    path = os.path.join(root, rel)
    with open(path) as fh:
        doc = json.load(fh)
    doc = fn(doc) or doc
    with open(path, "w") as fh:
        json.dump(doc, fh)


@pytest.mark.parametrize("rel,edit,line", [
    ("nodes/worker-0/probe.json", lambda d: d.update(ok="yes"),
     "bundle file nodes/worker-0/probe.json: field ok is a string, expected a boolean"),
    ("nodes/worker-1/probe.json", lambda d: d.update(notes={"a": 1}),
     "bundle file nodes/worker-1/probe.json: field notes is an object, expected a list of strings"),
    ("cluster/facts.json", lambda d: d.update(nodes="worker-0"),
     "bundle file cluster/facts.json: field nodes is a string, expected a list"),
    ("cluster/facts.json", lambda d: [1, 2],
     "bundle file cluster/facts.json: field (top level) is a list, expected an object"),
    ("cluster/facts.json", lambda d: d["mcs"][0]["spec"].update(extensions="sandboxed-containers"),
     "bundle file cluster/facts.json: field mcs[0].spec.extensions is a string, expected a list"),
    ("cluster/facts.json", lambda d: d["pools"][0]["metadata"].update(labels=["a"]),
     "bundle file cluster/facts.json: field pools[0].metadata.labels is a list, expected an object"),
    ("manifest.json", lambda d: d["scope"].update(nodes="worker-0"),
     "bundle file manifest.json: field scope.nodes is a string, expected a list of node names"),
    ("expected/expectation.json", lambda d: d["arches"]["x86_64"]["packages"].update({"kata-containers": 5}),
     "bundle file expected/expectation.json: field arches.x86_64.packages.kata-containers: NEVRA must be a string"),
])
def test_malformed_bundle_exits_2_naming_file_and_field(tmp_path, rel, edit, line):
    from kubectl_kata.status import ExitStatus
    from tests.clirunner import run_cli

    root = str(tmp_path / "b")
    shutil.copytree(EXAMPLE, root)
    _edit(root, rel, edit)
    res = run_cli(["doctor", "--from", root], environ={"PATH": ""})
    assert res.exit_code == ExitStatus.USAGE, res.stderr
    assert res.stderr.strip().splitlines() == ["error: " + line]


def test_readme_check_table_is_the_code_table():
    # the README copies the check tables: a changed behaviour must change both
    from kubectl_kata.doctor.checks_cluster import CLUSTER_CHECKS
    from kubectl_kata.doctor.findings import NODE_CHECKS

    with open(os.path.join(os.path.dirname(EXAMPLE), "..", "README.md"), encoding="utf-8") as fh:
        readme = fh.read()
    missing = [row[0] for row in NODE_CHECKS + CLUSTER_CHECKS if "| `%s` | %s | %s | %s |" % row not in readme]
    assert missing == []
    assert "(and a complete closure)" not in readme


# ------------------------------------------------------------------ 8. cluster.extension-available checks the closure

def _availability_findings(tmp_path, without=(), base=True):
    from kubectl_kata.doctor.expected import from_repo_dir

    repo = str(tmp_path / "repo")
    nodesim.make_extensions_repo(repo, without=without)
    col = _rolling_collected({"worker-1": nodesim.make_node_raw(node="worker-1", base=base)})
    col.expectation = from_repo_dir(repo, ["x86_64"], "release", "test repo")
    return [f for f in analyse(col)["findings"] if f["checkId"] == "cluster.extension-available"]


def test_repo_closure_complete_with_the_nodes_base_os(tmp_path):
    found = _availability_findings(tmp_path)
    assert [(f["severity"], f["message"]) for f in found] == [
        ("ok", "extensions repo has kata-containers-3.7.0-2.rhaos4.16.el9.x86_64 for x86_64 and its closure is "
               "complete with the nodes' base OS (9 requirement(s) from the base)")]
    assert "libc.so.6()(64bit)" in found[0]["details"]["fromBase"] and "kernel" in found[0]["details"]["fromBase"]


def test_repo_closure_gap_is_reported(tmp_path):
    # the repo lacks pixman, which is not in the base OS either: rpm-ostree could not resolve the extension
    found = _availability_findings(tmp_path, without=("pixman",))
    assert [(f["severity"], f["details"]["unprovided"]) for f in found] == [
        ("warning", {"libpixman-1.so.0()(64bit)": ["qemu-kvm-core"]})]
    assert found[0]["message"].startswith("extensions repo's kata-containers closure for x86_64 is incomplete: "
                                          "qemu-kvm-core needs libpixman-1.so.0()(64bit) -- neither the repo nor")


def test_repo_closure_not_checked_without_a_base_set(tmp_path):
    found = _availability_findings(tmp_path, without=("pixman",), base=False)
    assert [f["severity"] for f in found] == ["ok"]
    assert "were not checked (no node's base package set known)" in found[0]["message"]


def test_control_characters_are_escaped_in_the_diff_table():
    from kubectl_kata.doctor.diff import diff_snapshots
    from kubectl_kata.render.diff_view import render_diff_table
    from tests.test_doctor_diff import snap

    evil = {"checkId": "node.rpm-verify", "severity": "error", "subject": "worker-1", "hint": "", "details": {},
            "message": "installed files differ: S.5....T. /usr/bin/x\x1b]0;owned\x07\x1b[2J"}
    d = diff_snapshots(snap({"worker-1": "healthy"}), snap({"worker-1": "healthy"}, [evil]))
    text = render_diff_table(d)
    assert "\x1b" not in text and "\x07" not in text
    assert "/usr/bin/x\\x1b]0;owned\\x07\\x1b[2J" in text


def test_staged_deployment_during_the_rollout_is_the_mcos_not_a_manual_change():
    c = ctx("staged-pending", rollout_pending=True, rollout="pool worker: 1 of 3 nodes updated to rendered-worker-2")
    sd = by_id(check_node("w", facts("staged-pending"), repo_expected(), c), "node.staged-deployment")
    assert [x.severity for x in sd] == ["warning"]
    assert "the MCO is updating this node" in sd[0].message and "1 of 3 nodes updated" in sd[0].message
    assert "cleanup" not in sd[0].hint
    # not in a rollout: a staged deployment may be a manual change, and that is what the hint covers
    sd = by_id(check_node("w", facts("staged-pending"), repo_expected(), ctx("staged-pending")),
               "node.staged-deployment")
    assert "`rpm-ostree cleanup -p`" in sd[0].hint


# ------------------------------------------------------------------ 3. a realtime-kernel pool, end to end through analysis

def _enabled_collected(kernel_type):
    facts = facts_from("enabled-kata-oc-4.16.yaml")   # kata-oc pool, 3 nodes, all on the target config
    for mc in facts["mcs"]:
        if mc["metadata"]["name"].startswith("rendered-kata-oc-"):
            mc["spec"]["kernelType"] = kernel_type
    target = [p for p in facts["pools"] if p["metadata"]["name"] == "kata-oc"][0]["spec"]["configuration"]["name"]
    url = [m for m in facts["mcs"] if m["metadata"]["name"] == target][0]["spec"]["osImageURL"]
    nodes = ["worker-1", "worker-2", "worker-3"]
    probes = {}
    for n in nodes:
        raw = _with_booted(nodesim.make_node_raw(node=n, kernel_type="realtime"),
                           **{"container-image-reference": "ostree-unverified-registry:" + url,
                              "container-image-reference-digest": url.rsplit("@", 1)[1]})
        probes[n] = ProbeRecord(n, True, "ok", None, raw)
    return Collected(facts=facts, scope={"pool": "kata-oc", "nodes": nodes, "selector": None}, probes=probes,
                     expectation=Expectation(source="file", detail="test", packages={"x86_64": repo_expected()}))


def test_realtime_kernel_pool_reports_no_problem_at_all():
    doc = analyse(_enabled_collected("realtime"))
    assert [(f["subject"], f["checkId"], f["severity"]) for f in doc["findings"] if f["severity"] in PROBLEMS] == []
    assert doc["healthy"] is True
    ul = [f for f in doc["findings"] if f["checkId"] == "node.unexpected-layered"]
    assert {f["severity"] for f in ul} == {"ok"} and all(f["details"]["kernel_types"] == ["realtime"] for f in ul)


def test_realtime_kernel_on_a_pool_that_does_not_ask_for_it():
    doc = analyse(_enabled_collected("default"))
    probs = sorted((f["subject"], f["checkId"], f["severity"]) for f in doc["findings"] if f["severity"] in PROBLEMS)
    assert probs == [(n, "node.unexpected-layered", "warning") for n in ("worker-1", "worker-2", "worker-3")
                     for _ in range(2)]
