"""Parsers on the real samples (shared/reference/samples) and on nodesim outputs."""
import bz2
import gzip
import json
import lzma
import os

import pytest

from kubectl_kata.core.parse import ParseError
from kubectl_kata.core.parse.kata_versions import (parse_kata_env, parse_kata_monitor_version,
                                                   parse_kata_runtime_version, parse_shim_version)
from kubectl_kata.core.parse.nodefiles import (KATA_TABLE, parse_cpu_flags, parse_crio_dropin, parse_find_list,
                                               parse_paths, parse_systemctl_show)
from kubectl_kata.core.parse.osrelease import parse_os_release
from kubectl_kata.core.parse.repodata import (parse_extensions_json, parse_primary, parse_repomd,
                                              primary_location)
from kubectl_kata.core.parse.rpm_ostree import image_digest, parse_rpm_ostree_status, strip_transport
from kubectl_kata.core.parse.rpmdb import (parse_deps, parse_file_provides, parse_rpm_qa, parse_rpm_verify)
from kubectl_kata.core.rpm import EVR, NEVRA, RPMSENSE_EQUAL, RPMSENSE_GREATER
from tests import nodesim

from tests.paths import SAMPLES  # noqa: E402


def sample(name):
    with open(os.path.join(SAMPLES, name), "rb") as fh:
        return fh.read()


def strip_comments(data: bytes) -> bytes:
    return b"".join(l for l in data.splitlines(True) if not l.startswith(b"#"))


# ------------------------------------------------------------------ rpm-ostree status

def test_fcos_container_sample_booted_is_second_and_first_is_staged():
    st = parse_rpm_ostree_status(sample("rpm-ostree-status.rpmostree-client-go.fcos-container-status.json"))
    assert len(st.deployments) == 2
    assert st.deployments[0].staged and not st.deployments[0].booted
    assert st.booted is st.deployments[1]
    assert st.booted.version == "36.20220820.3.0"
    assert st.booted.origin == "fedora:fedora/x86_64/coreos/stable"
    assert [d.id for d in st.staged] == [st.deployments[0].id]
    assert st.deployments[0].image_digest == \
        "sha256:25d3a07d53835c6c738fb4dcba149dc0b64a9bc4ec9c3431750cabd3596ab233"
    assert st.deployments[0].image_reference == "quay.io/fedora/fedora-coreos:testing-devel"
    assert st.booted.image_digest is None


def test_fcos_overrides_sample_layered_staged():
    st = parse_rpm_ostree_status(sample("rpm-ostree-status.rpmostree-client-go.fcos-with-overrides-status.json"))
    staged = st.staged[0]
    assert staged.requested_packages == ["strace"] and staged.packages == ["strace"]
    assert staged.base_removals == ["moby-engine-20.10.22-1.fc37.x86_64"]
    assert staged.requested_base_removals == ["moby-engine"]
    assert staged.base_checksum.startswith("23bfcb63")
    assert st.booted.requested_packages == []


def test_workstation_sample_parses_and_has_one_booted():
    st = parse_rpm_ostree_status(sample("rpm-ostree-status.rpmostree-client-go.workstation-status.json"))
    assert sum(d.booted for d in st.deployments) == 1


def test_missing_keys_default_to_false_and_empty():
    st = parse_rpm_ostree_status(b'{"deployments": [{"id": "a"}, {"id": "b", "booted": true}]}')
    assert st.booted.id == "b" and st.staged == []
    assert st.deployments[0].requested_packages == [] and st.deployments[0].staged is False
    assert parse_rpm_ostree_status(b'{"deployments": []}').booted is None


def test_nodesim_rhcos_status_shape():
    st = parse_rpm_ostree_status(nodesim.make_node_raw("staged-pending")["rpm-ostree-status"].stdout)
    assert st.booted is st.deployments[1]
    assert st.booted.requested_packages == ["kata-containers"]
    assert st.booted.image_reference.startswith("quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:")
    assert st.staged[0].image_digest == image_digest(nodesim.os_image_url("4.16", 1))


@pytest.mark.parametrize("doc", [b"[]", b'{"deployments": {}}', b'{"deployments": [1]}',
                                 b'{"deployments": [{"booted": "yes"}]}', b'{"deployments": [{"requested-packages": "x"}]}',
                                 b"", b"{", b"\xff\xfe"])
def test_rpm_ostree_bad_input(doc):
    with pytest.raises(ParseError):
        parse_rpm_ostree_status(doc)


def test_image_digest_helpers():
    assert image_digest("pivot://quay.io/x/y@sha256:ABCDEF") == "sha256:abcdef"
    assert image_digest("quay.io/x/y:tag") is None
    assert strip_transport("ostree-unverified-registry:quay.io/a@sha256:1") == "quay.io/a@sha256:1"
    assert strip_transport("pivot://quay.io/a@sha256:1") == "quay.io/a@sha256:1"


# ------------------------------------------------------------------ rpmdb

def test_rpm_qa_epoch_none_and_set():
    warnings = []
    pkgs = parse_rpm_qa(b"kata-containers\t(none)\t3.7.0\t2.rhaos4.16.el9\tx86_64\n"
                        b"qemu-kvm-core\t17\t8.2.0\t11.el9_4\tx86_64\n"
                        b"broken line\n"
                        b"truncated\t(none)\t1.0", warnings)
    assert pkgs == [NEVRA("kata-containers", 0, "3.7.0", "2.rhaos4.16.el9", "x86_64"),
                    NEVRA("qemu-kvm-core", 17, "8.2.0", "11.el9_4", "x86_64")]
    assert len(warnings) == 2


def test_rpm_qa_el8_sample_nevras_roundtrip():
    # the capture is `rpm -qa` NEVRA style; render it in the probe's --qf format and parse back
    lines = [l for l in sample("rpm-qa-qemu.el8-host.capture.txt").decode().splitlines()
             if l and not l.startswith("#") and l.count("-") >= 2 and l.endswith((".x86_64", ".noarch"))]
    nevras = [NEVRA.parse(l) for l in lines]
    assert len(nevras) == 12
    qf = "".join("%s\t(none)\t%s\t%s\t%s\n" % (n.name, n.version, n.release, n.arch) for n in nevras)
    assert [str(n) for n in parse_rpm_qa(qf.encode())] == lines


def test_deps_provides_requires_and_skips():
    raw = nodesim.make_node_raw()
    req = parse_deps(raw["rpm-requires"].stdout)
    kata = req[("kata-containers", "x86_64")]
    names = [d.name for d in kata]
    assert "(virtiofsd or qemu-virtiofsd)" in names
    assert not any(n.startswith(("rpmlib(", "config(")) for n in names)
    q = [d for d in kata if d.name == "qemu-kvm-core"][0]
    assert q.flags == RPMSENSE_GREATER | RPMSENSE_EQUAL and q.evr == EVR(0, "8.2.0", "1")
    prov = parse_deps(raw["rpm-provides"].stdout)
    common = prov[("qemu-kvm-common", "x86_64")]
    assert common[0].name == "qemu-kvm-common" and common[0].flags == RPMSENSE_EQUAL
    assert common[0].evr == EVR(17, "8.2.0", "11.el9_4")


def test_deps_bad_lines_are_skipped_with_warning():
    w = []
    out = parse_deps(b"a\tx86_64\tb\t>=\t\nc\tx86_64\td\t\t1.0\ne\tnoarch\tf\t\t\nshort\tline\n", warnings=w)
    assert out == {("e", "noarch"): [out[("e", "noarch")][0]]} and len(w) == 3


def test_file_provides():
    fp = parse_file_provides(b"/bin/sh\tbash\n/usr/bin/x\t\n/bin/sh\tbash\nnot-a-path\tfoo\n")
    assert fp == {"/bin/sh": ["bash"], "/usr/bin/x": []}


def test_rpm_verify_lines():
    v = parse_rpm_verify(b"S.5....T.  c /etc/crio/crio.conf.d/50-kata\n"
                         b"S.5....T.    /usr/bin/containerd-shim-kata-v2\n"
                         b"missing     /usr/bin/kata-monitor\n"
                         b"missing   c /etc/kata-containers/x.toml\n"
                         b"package qemu-kiwi is not installed\n"
                         b"Unsatisfied dependencies for qemu-kvm-core-17:8.2.0-11.el9_4.x86_64:\n"
                         b"\tqemu-kvm-common = 17:8.2.0-11.el9_4 is needed by (installed) qemu-kvm-core\n"
                         b"something odd\n")
    assert [(e.flags, e.attr, e.path) for e in v.entries] == [
        ("S.5....T.", "c", "/etc/crio/crio.conf.d/50-kata"),
        ("S.5....T.", "", "/usr/bin/containerd-shim-kata-v2"),
        ("missing", "", "/usr/bin/kata-monitor"),
        ("missing", "c", "/etc/kata-containers/x.toml")]
    assert v.entries[2].missing and v.entries[0].is_config
    assert v.not_installed == ["qemu-kiwi"] and len(v.unsatisfied) == 2 and v.other == ["something odd"]


# ------------------------------------------------------------------ repodata

@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    d = tmp_path_factory.mktemp("ext")
    info = nodesim.make_extensions_repo(str(d))
    return d, info


def test_repomd_primary_location(repo):
    d, info = repo
    with open(info["repomd"], "rb") as fh:
        data = fh.read()
    loc = primary_location(data)
    assert loc.startswith("repodata/") and loc.endswith("-primary.xml.gz")
    assert os.path.join(str(d), loc) == info["primary"]
    entry = parse_repomd(data)["primary"]
    assert entry.size == os.path.getsize(info["primary"])


def _primary_bytes(info):
    with open(info["primary"], "rb") as fh:
        return gzip.decompress(fh.read())


@pytest.mark.parametrize("compress", [lambda b: b, gzip.compress, bz2.compress, lzma.compress])
def test_primary_all_compressions(repo, compress):
    _, info = repo
    pkgs = parse_primary(compress(_primary_bytes(info)))
    by = {p.name: p for p in pkgs}
    assert {p.name: str(p.nevra) for p in pkgs} == info["nevras"]
    kata = by["kata-containers"]
    assert "(virtiofsd or qemu-virtiofsd)" in [r.name for r in kata.requires]
    assert not any(r.name.startswith("rpmlib(") for r in kata.requires)
    q = [r for r in kata.requires if r.name == "qemu-kvm-core"][0]
    assert str(q) == "qemu-kvm-core >= 8.2.0-1"
    assert "/usr/bin/containerd-shim-kata-v2" in kata.files
    assert by["qemu-kvm-core"].epoch == 17


def test_primary_zstd_without_module_is_clear_error():
    with pytest.raises(ParseError, match="zstandard"):
        parse_primary(b"\x28\xb5\x2f\xfd" + b"\x00" * 32)


def test_primary_size_cap(repo):
    _, info = repo
    plain = _primary_bytes(info)
    with pytest.raises(ParseError, match="decompressed"):
        parse_primary(gzip.compress(plain), max_bytes=len(plain) // 2 + len(gzip.compress(plain)))


def test_primary_billion_laughs_and_xxe_refused():
    laughs = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
              b'<metadata xmlns="http://linux.duke.edu/metadata/common"><package><name>&lol2;</name></package></metadata>')
    with pytest.raises(ParseError):
        parse_primary(laughs)
    xxe = (b'<?xml version="1.0"?><!DOCTYPE m [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           b'<metadata><package><name>&x;</name></package></metadata>')
    with pytest.raises(ParseError):
        parse_primary(xxe)


@pytest.mark.parametrize("doc", [b"", b"<metadata>", b"<other/>", b"\x1f\x8b\x08\x00garbage",
                                 b'<metadata><package><name>x</name></package></metadata>'])
def test_primary_bad(doc):
    with pytest.raises(ParseError):
        parse_primary(doc)


def test_repomd_errors():
    with pytest.raises(ParseError, match="primary"):
        primary_location(b'<repomd xmlns="http://linux.duke.edu/metadata/repo"><data type="other">'
                         b'<location href="x"/></data></repomd>')
    with pytest.raises(ParseError, match="outside"):
        primary_location(b'<repomd><data type="primary"><location href="../../etc/x"/></data></repomd>')


def test_extensions_json(repo):
    _, info = repo
    with open(info["extensions_json"], "rb") as fh:
        m = parse_extensions_json(fh.read())
    assert {k: str(v) for k, v in m.items()} == info["nevras"]
    assert str(m["qemu-kvm-core"].evr) == "17:8.2.0-11.el9_4"
    for bad in (b"[]", b'{"a": 1}', b'{"a": "nover"}'):
        with pytest.raises(ParseError):
            parse_extensions_json(bad)


# ------------------------------------------------------------------ kata versions

def test_runtime_version():
    v = parse_kata_runtime_version(b"kata-runtime  : 3.7.0\n   commit   : abc123\n   OCI specs: 1.1.0+dev\n")
    assert (v.version, v.commit, v.oci) == ("3.7.0", "abc123", "1.1.0+dev")


@pytest.mark.parametrize("text,golang", [
    ('Kata Containers containerd shim (Golang): id: "io.containerd.kata.v2", version: 3.7.0, commit: 6ac2e8b', True),
    ('Kata Containers containerd shim: id: "io.containerd.kata.v2", version: 2.5.2, commit: 0bcb3a6', False),
])
def test_shim_versions_2x_and_3x(text, golang):
    v = parse_shim_version(text.encode())
    assert v.golang is golang and v.version in ("3.7.0", "2.5.2") and v.commit


def test_monitor_version_from_capture():
    text = sample("rpm-qa-qemu.el8-host.capture.txt").decode()
    block = text[text.index("kata-monitor\n"):]
    v = parse_kata_monitor_version(block.encode())
    assert (v.version, v.go_version, v.commit, v.os_arch) == (
        "0.3.0", "go1.22.2", "6dd038fd585c38bfe26de19f108cce688bc725ec", "linux/amd64")


@pytest.mark.parametrize("fn", [parse_kata_runtime_version, parse_shim_version, parse_kata_monitor_version])
def test_version_garbage(fn):
    with pytest.raises(ParseError):
        fn(b"bash: kata: command not found\n")


def test_kata_env_3x_and_1x():
    env = parse_kata_env(nodesim.kata_env_json("4.16", "x86_64"))
    assert env.hypervisor_path == "/usr/libexec/qemu-kvm" and env.runtime_version == "3.7.0"
    assert env.initrd_path == "/var/cache/kata-containers/kata-containers-initrd.img"
    assert env.virtiofs_daemon == "/usr/libexec/virtiofsd" and env.meta_version == "1.0.27"
    old = parse_kata_env(json.dumps({"Meta": {"Version": "1.0.23"}, "Runtime": {"Version": {"Semver": "1.7.2"}},
                                     "Hypervisor": {"Path": "/usr/bin/qemu-lite-system-x86_64"}}))
    assert old.runtime_version == "1.7.2" and old.hypervisor_path.endswith("qemu-lite-system-x86_64")
    for bad in (b"{}", b"[]", b'{"Kernel": {"Path": 5.5e400}}', b'{"Kernel": {"Path": ["x"]}}'):
        with pytest.raises(ParseError):
            parse_kata_env(bad)


# ------------------------------------------------------------------ os-release, small files

def test_os_release_rhcos():
    osr = parse_os_release(nodesim.os_release_text("4.16"))
    assert osr["ID"] == "rhcos" and osr["VERSION_ID"] == "4.16" and osr["VARIANT_ID"] == "coreos"
    assert osr["PRETTY_NAME"] == "Red Hat Enterprise Linux CoreOS 416.94.202410211619-0"
    with pytest.raises(ParseError):
        parse_os_release(b"\n# nothing\n")


def test_crio_dropins_samples_two_kata_tables():
    rpm = parse_crio_dropin(strip_comments(sample("crio-50-kata.rpm-dropin.capture-ocp4.9.toml")))
    legacy = parse_crio_dropin(strip_comments(sample("legacy-crio-50-kata.conf.osc-release-4.6.toml")))
    assert rpm.tables == [KATA_TABLE]
    assert rpm.values[KATA_TABLE] == {"runtime_path": "/usr/bin/containerd-shim-kata-v2", "runtime_type": "vm",
                                      "runtime_root": "/run/vc", "privileged_without_host_devices": "true"}
    assert legacy.tables == ["crio.runtime", KATA_TABLE, "crio.runtime.runtimes.runc"]
    assert rpm.kata_tables + legacy.kata_tables == 2
    with pytest.raises(ParseError):
        parse_crio_dropin(b"[crio.runtime\n")


def test_small_node_files():
    assert parse_paths(b"/dev/kvm\tpresent\n/opt/kata-install\tabsent\n") == {"/dev/kvm": True,
                                                                              "/opt/kata-install": False}
    with pytest.raises(ParseError):
        parse_paths(b"/dev/kvm maybe\n")
    unit = parse_systemctl_show(b"ActiveState=failed\nSubState=failed\nResult=exit-code\nUnitFileState=enabled\n")
    assert unit["Result"] == "exit-code"
    assert "vmx" in parse_cpu_flags(nodesim.CPU_FLAGS["x86_64"].encode())
    assert "sie" in parse_cpu_flags(nodesim.CPU_FLAGS["s390x"].encode())
    with pytest.raises(ParseError):
        parse_cpu_flags(b"processor : 0\n")
    assert parse_find_list(b"/a\nfind: x\n/b\n") == ["/a", "/b"]
