"""Node checks on nodesim scenarios: exact findings per scenario plus targeted edge cases."""
import json

import pytest

from kubectl_kata.core.closure import expected_closure
from kubectl_kata.core.nodefacts import RawResult, parse_node_facts
from kubectl_kata.core.parse.repodata import parse_primary
from kubectl_kata.core.rpm import NEVRA
from kubectl_kata.doctor.checks_node import NodeContext, check_node, consensus_expected
from kubectl_kata.doctor.findings import (NODE_CHECK_IDS, NODE_CHECKS, Finding, severity_rank, sort_findings,
                                          worst_severity)
from tests import nodesim

ALL_OK = {cid: "ok" for cid in NODE_CHECK_IDS}
KATA_CHECKS = ("node.package-version", "node.closure-complete", "node.rpm-verify", "node.binary-version",
               "node.qemu-path", "node.initrd")


def expected_set(release="4.16", arch="x86_64"):
    return {n: NEVRA.parse(v) for n, v in nodesim.expected_nevras(release, arch).items()}


def run(scenario="healthy", raw=None, expected="repo", release="4.16", arch="x86_64", **ctx):
    raw = raw if raw is not None else nodesim.make_node_raw(scenario, release=release, arch=arch)
    context = dict(nodesim.scenario_context(scenario, release))
    context.update(ctx)
    exp = expected_set(release, arch) if expected == "repo" else expected
    return check_node("worker-0", parse_node_facts(raw), exp, context)


def summary(findings):
    return sorted((f.check_id, f.severity) for f in findings)


def with_changes(base, **changes):
    out = dict(base)
    for cid, sev in changes.items():
        cid = "node." + cid.replace("_", "-")
        if sev is None:
            out.pop(cid, None)
        else:
            out[cid] = sev
    return sorted([(k, v) for k, v in out.items() if not isinstance(v, list)]
                  + [(k, s) for k, v in out.items() if isinstance(v, list) for s in v])


SCENARIO_FINDINGS = {
    "healthy": with_changes(ALL_OK),
    "closure-missing": with_changes(ALL_OK, package_version="error", closure_complete="error"),
    "closure-missing-lib": with_changes(ALL_OK, package_version="error", closure_complete="error"),
    "version-skew": with_changes(ALL_OK, package_version=["error", "error"]),
    "legacy-leftovers": with_changes(ALL_OK, crio_dropin="error", legacy_leftovers="warning"),
    "staged-pending": with_changes(ALL_OK, staged_deployment="warning", os_image="warning"),
    "no-kvm": with_changes(ALL_OK, dev_kvm="error"),
    "modified-binary": with_changes(ALL_OK, rpm_verify="error"),
    "legacy-layered": with_changes(ALL_OK, extension_requested="error", unexpected_layered="error",
                                   crio_dropin="error", legacy_leftovers="warning",
                                   **{c[5:].replace("-", "_"): None for c in KATA_CHECKS}),
    "not-enabled": with_changes(ALL_OK, extension_requested="info", crio_dropin=None,
                                **{c[5:].replace("-", "_"): None for c in KATA_CHECKS}),
}


def test_every_scenario_has_an_expectation():
    assert set(SCENARIO_FINDINGS) == set(nodesim.SCENARIOS)


@pytest.mark.parametrize("scenario", sorted(SCENARIO_FINDINGS))
def test_scenario_exact_findings(scenario):
    findings = run(scenario)
    assert summary(findings) == SCENARIO_FINDINGS[scenario]
    for f in findings:
        assert f.subject == "worker-0" and f.message and "\n" not in f.message
        if f.severity in ("error", "warning"):
            assert f.hint, f        # every problem carries a remediation
        json.dumps(f.to_dict())


@pytest.mark.parametrize("arch", ["s390x", "aarch64"])
def test_healthy_on_other_arches(arch):
    findings = run("healthy", arch=arch)
    sev = dict((f.check_id, f.severity) for f in findings)
    assert all(v == "ok" for v in sev.values()), sev


def test_healthy_414_node_against_its_own_release():
    assert {f.severity for f in run("healthy", release="4.14")} == {"ok"}


def test_scenario_messages_are_specific():
    skew = [f for f in run("version-skew") if f.severity == "error"]
    assert {f.details["package"] for f in skew} == {"qemu-kvm-core", "qemu-kvm-common"}
    assert all(f.details["direction"] == "older" and "older than expected 17:8.2.0-11.el9_4" in f.message
               for f in skew)
    cm = [f for f in run("closure-missing") if f.check_id == "node.closure-complete"][0]
    assert "qemu-kvm-common = 17:8.2.0-11.el9_4" in cm.message
    mb = [f for f in run("modified-binary") if f.check_id == "node.rpm-verify"][0]
    assert mb.details["entries"] == [{"flags": "S.5....T.", "attr": "", "path": "/usr/bin/containerd-shim-kata-v2"}]
    nk = [f for f in run("no-kvm") if f.check_id == "node.dev-kvm"][0]
    assert "vmx/svm" in nk.message and nk.details["cpu_has_flag"] is False
    ll = [f for f in run("legacy-leftovers") if f.check_id == "node.crio-dropin"][0]
    assert ll.details["kata_tables"] == 2
    lay = [f for f in run("legacy-layered") if f.check_id == "node.unexpected-layered"][0]
    assert lay.details["packages"] == ["kata-runtime", "kata-osbuilder"] and "rpm-ostree uninstall" in lay.hint


def test_full_pipeline_from_extensions_repo(tmp_path):
    info = nodesim.make_extensions_repo(str(tmp_path))
    with open(info["primary"], "rb") as fh:
        expected = expected_closure(parse_primary(fh.read()), "x86_64").nevras()
    assert summary(run("healthy", expected=expected)) == SCENARIO_FINDINGS["healthy"]
    assert summary(run("version-skew", expected=expected)) == SCENARIO_FINDINGS["version-skew"]


def test_newer_than_expected_and_unknown_expected():
    exp = expected_set()
    exp["qemu-kvm-core"] = NEVRA.parse("qemu-kvm-core-17:8.2.0-9.el9_4.x86_64")
    exp["virtiofsd"] = None
    f = [x for x in run(expected=exp) if x.check_id == "node.package-version"]
    assert [(x.severity, x.details.get("direction")) for x in f] == [("error", "newer"), ("info", None)]
    assert "virtiofsd" in f[1].message and "not compared" in f[1].message


def test_no_expected_set_is_info():
    f = [x for x in run(expected=None) if x.check_id == "node.package-version"]
    assert [x.severity for x in f] == ["info"]


def test_context_as_dataclass_and_unknown_release():
    facts = parse_node_facts(nodesim.make_node_raw())
    f = check_node("n", facts, expected_set(), NodeContext())
    sev = {x.check_id: x.severity for x in f}
    assert sev["node.qemu-path"] == "info" and sev["node.os-image"] == "info"
    assert sev["node.extension-requested"] == "ok"
    with pytest.raises(TypeError):
        check_node("n", facts, None, 42)


def test_qemu_kiwi_release_expects_kiwi_path():
    ctx = dict(nodesim.scenario_context(), release="4.10")
    f = [x for x in check_node("w", facts_for("healthy"), expected_set(), ctx) if x.check_id == "node.qemu-path"]
    assert [x.severity for x in f] == ["error", "error"]
    assert "/usr/libexec/qemu-kiwi" in f[0].message and "configured to use /usr/libexec/qemu-kvm" in f[1].message


# ------------------------------------------------------------------ targeted raw mutations

def mutate(**changes):
    raw = nodesim.make_node_raw()
    for key, value in changes.items():
        key = key.replace("_", "-")
        if value is None:
            raw.pop(key)
        else:
            raw[key] = value
    return raw


def sev_of(findings, cid):
    return [f.severity for f in findings if f.check_id == cid]


def test_truncated_collection_reports_and_skips():
    raw = nodesim.make_node_raw()
    for key in ("rpm-requires", "rpm-V", "osbuilder-unit", "osbuilder-images", "cpu-flags", "paths"):
        raw.pop(key)
    findings = run(raw=raw)
    col = [f for f in findings if f.check_id == "node.collection"][0]
    assert col.severity == "warning" and set(col.details["errors"]) == {
        "rpm-requires", "rpm-V", "osbuilder-unit", "osbuilder-images", "cpu-flags", "paths"}
    assert "node.closure-complete" in col.details["skipped_checks"]
    ids = {f.check_id for f in findings}
    assert not ids & {"node.closure-complete", "node.rpm-verify", "node.dev-kvm", "node.legacy-leftovers"}
    assert "node.package-version" in ids


def test_missing_file_provides_does_not_fake_unsatisfied_paths():
    raw = nodesim.make_node_raw()
    del raw["rpm-file-provides"]
    assert sev_of(run(raw=raw), "node.closure-complete") == ["ok"]
    raw = nodesim.make_node_raw("closure-missing")
    del raw["rpm-file-provides"]
    assert sev_of(run("closure-missing", raw=raw), "node.closure-complete") == ["error"]


def test_failed_commands_and_garbage_results_never_raise():
    raw = nodesim.make_node_raw()
    raw["rpm-ostree-status"] = RawResult(b"", b"error: Couldn't connect to rpm-ostreed\n", 1)
    raw["rpm-qa"] = RawResult(b"\xff\xfe garbage", b"", 0)
    raw["kata-env"] = "not a tuple"
    raw["paths"] = (b"x", b"", "1")
    findings = run(raw=raw)
    col = [f for f in findings if f.check_id == "node.collection"][0]
    assert "rpm-ostreed" in col.details["errors"]["rpm-ostree-status"]
    assert "UTF-8" in col.details["errors"]["rpm-qa"]
    assert col.details["errors"]["kata-env"] == "unusable probe result"
    assert parse_node_facts(None).errors == {"*": "collection returned no results"}
    assert summary(check_node("n", parse_node_facts({}), None, None)) == [("node.collection", "warning")]
    assert sev_of(check_node("n", parse_node_facts(None), None, None), "node.collection") == ["error"]


def test_rpm_verify_config_only_is_info():
    findings = run(raw=mutate(rpm_V=RawResult(b"S.5....T.  c /etc/crio/crio.conf.d/50-kata\n", b"", 1)))
    assert sev_of(findings, "node.rpm-verify") == ["info"]
    findings = run(raw=mutate(rpm_V=RawResult(b"missing     /usr/bin/kata-monitor\n", b"", 1)))
    assert sev_of(findings, "node.rpm-verify") == ["error"]
    findings = run(raw=mutate(rpm_V=RawResult(b"", b"rpm: error\n", 2)))
    assert "rpm-V" in [f for f in findings if f.check_id == "node.collection"][0].details["errors"]


def test_binary_version_mismatch_and_missing():
    shim = b'Kata Containers containerd shim (Golang): id: "io.containerd.kata.v2", version: 3.6.0, commit: abc\n'
    findings = run(raw=mutate(shim_version=RawResult(shim, b"", 0)))
    bv = [f for f in findings if f.check_id == "node.binary-version"]
    assert [f.severity for f in bv] == ["error"] and "reports 3.6.0" in bv[0].message
    raw = mutate(kata_runtime_version=RawResult(b"", b"No such file or directory\n", 127))
    raw["paths"] = RawResult(raw["paths"].stdout.replace(b"/usr/bin/kata-runtime\tpresent",
                                                         b"/usr/bin/kata-runtime\tabsent"), b"", 0)
    bv = [f for f in run(raw=raw) if f.check_id == "node.binary-version"]
    assert [f.details["path"] for f in bv] == ["/usr/bin/kata-runtime"] and "missing" in bv[0].message


def test_crio_dropin_missing_or_wrong():
    findings = run(raw=mutate(crio_50_kata=RawResult(b"", b"No such file\n", 1)))
    assert sev_of(findings, "node.crio-dropin") == ["error"]
    wrong = nodesim.CRIO_DROPIN.replace("/usr/bin/containerd-shim-kata-v2", "/usr/local/bin/shim").encode()
    f = [x for x in run(raw=mutate(crio_50_kata=RawResult(wrong, b"", 0))) if x.check_id == "node.crio-dropin"]
    assert f[0].severity == "error" and f[0].details["runtime_path"] == "/usr/local/bin/shim"


def test_initrd_failed_and_stale():
    unit = RawResult(b"ActiveState=failed\nSubState=failed\nResult=exit-code\nUnitFileState=enabled\n", b"", 0)
    f = [x for x in run(raw=mutate(osbuilder_unit=unit)) if x.check_id == "node.initrd"]
    assert [x.severity for x in f] == ["error"] and "Result=exit-code" in f[0].message
    f = [x for x in run(raw=mutate(uname_r=RawResult(b"5.14.0-427.50.1.el9_4.x86_64\n", b"", 0)))
         if x.check_id == "node.initrd"]
    assert [x.severity for x in f] == ["warning"] and "5.14.0-427.50.1" in f[0].message


def test_os_image_mismatch_without_staged_is_error():
    f = [x for x in run(os_image_url=nodesim.os_image_url("4.16", 7)) if x.check_id == "node.os-image"]
    assert [x.severity for x in f] == ["error"]


def test_unrequested_and_unknown_layered_packages():
    findings = run(extension_requested=False)
    assert sev_of(findings, "node.unexpected-layered") == ["error"]
    assert sev_of(findings, "node.extension-requested") == ["info"]
    raw = nodesim.make_node_raw()
    raw["rpm-ostree-status"] = RawResult(raw["rpm-ostree-status"].stdout.replace(
        b'"requested-packages": [\n        "kata-containers"\n      ]',
        b'"requested-packages": [\n        "kata-containers",\n        "htop",\n        "usbguard"\n      ]', 1), b"", 0)
    f = [x for x in run(raw=raw) if x.check_id == "node.unexpected-layered"]
    assert [(x.severity, x.details["packages"]) for x in f] == [("warning", ["htop"])]
    f = [x for x in run(raw=raw, allowed_packages=["htop"]) if x.check_id == "node.unexpected-layered"]
    assert [x.severity for x in f] == ["ok"]


def test_kata_only_in_staged_deployment():
    raw = nodesim.make_node_raw("staged-pending")
    doc = json.loads(raw["rpm-ostree-status"].stdout)
    doc["deployments"][1]["requested-packages"] = []
    raw["rpm-ostree-status"] = RawResult(json.dumps(doc).encode(), b"", 0)
    f = [x for x in run("staged-pending", raw=raw) if x.check_id == "node.extension-requested"]
    assert [x.severity for x in f] == ["warning"] and "staged" in f[0].message


def test_requested_but_not_in_rpmdb():
    raw = nodesim.make_node_raw()
    qa = b"".join(l for l in raw["rpm-qa"].stdout.splitlines(True) if not l.startswith(b"kata-containers\t"))
    raw["rpm-qa"] = RawResult(qa, b"", 0)
    findings = run(raw=raw)
    assert sev_of(findings, "node.extension-requested") == ["error"]
    assert not [f for f in findings if f.check_id in KATA_CHECKS]


# ------------------------------------------------------------------ consensus

def facts_for(scenario):
    return parse_node_facts(nodesim.make_node_raw(scenario))


def test_consensus_majority_and_ties():
    c = consensus_expected({"a": facts_for("healthy"), "b": facts_for("healthy"), "c": facts_for("version-skew"),
                            "d": facts_for("not-enabled")})
    assert str(c["qemu-kvm-core"]) == "qemu-kvm-core-17:8.2.0-11.el9_4.x86_64"
    assert c.ties == {}
    c = consensus_expected({"a": facts_for("healthy"), "b": facts_for("version-skew")})
    assert c["qemu-kvm-core"] is None and c["qemu-kvm-common"] is None
    assert c.ties["qemu-kvm-core"] == {"qemu-kvm-core-17:8.2.0-11.el9_4.x86_64": ["a"],
                                       "qemu-kvm-core-17:8.2.0-7.el9_4.x86_64": ["b"]}
    assert str(c["kata-containers"]) == "kata-containers-3.7.0-2.rhaos4.16.el9.x86_64"
    # the tie becomes "unknown" in the node check instead of a guess
    f = [x for x in check_node("b", facts_for("version-skew"), c, nodesim.scenario_context())
         if x.check_id == "node.package-version"]
    assert [x.severity for x in f] == ["info", "ok"]
    assert consensus_expected({}) == {}


# ------------------------------------------------------------------ findings module

def test_findings_table_and_ordering():
    assert len(set(NODE_CHECK_IDS)) == len(NODE_CHECKS) == 14
    assert all(len(row) == 4 and row[1] in ("error", "warning") and row[3] for row in NODE_CHECKS)
    emitted = {f.check_id for s in nodesim.SCENARIOS for f in run(s)}
    assert emitted == set(NODE_CHECK_IDS)
    assert severity_rank("error") > severity_rank("warning") > severity_rank("info") > severity_rank("ok")
    with pytest.raises(ValueError):
        Finding("x", "fatal", "n", "m")
    fs = [Finding("b", "ok", "n", "m"), Finding("a", "error", "n", "m\nmore"), Finding("c", "warning", "n", "m")]
    assert [f.check_id for f in sort_findings(fs)] == ["a", "c", "b"]
    assert worst_severity(fs) == "error" and worst_severity([]) is None
    assert fs[1].message == "m more"


def test_node_facts_json_serializable():
    for s in nodesim.SCENARIOS:
        json.dumps(parse_node_facts(nodesim.make_node_raw(s)).to_dict())
