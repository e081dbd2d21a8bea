"""Every place a cluster object can carry a secret is redacted in doctor bundles and recorded cassettes (issue 13).

The objects are composed in the real shapes: MachineConfig Ignition 3.2 ``passwd.users[]`` (``passwordHash``,
``sshAuthorizedKeys``), ``storage.files[].contents.source`` / ``append[].source`` data URLs, ``systemd.units[]``
``contents`` / ``dropins[].contents`` (the MCO's templates put ``Environment=HTTPS_PROXY=...`` lines there), the
cluster ``Proxy`` (config.openshift.io/v1, ``spec``/``status`` ``httpProxy``/``httpsProxy``), ControllerConfig
``spec.proxy`` and ``kubectl.kubernetes.io/last-applied-configuration`` (DOMAIN 12: ``oc adm inspect`` conventions).
Each planted value is unique, so finding any of them anywhere in the bundle is a leak.
"""
import json

from kubectl_kata.core.redact import redact_facts, redact_object
from kubectl_kata.doctor.bundle import load_members, write_bundle
from kubectl_kata.doctor.expected import Expectation
from kubectl_kata.doctor.model import Collected, ProbeRecord
from tests import nodesim
from tests.test_cassettes import _scrub_response
from tests.test_secret_scanner import scan

PLANTED = {
    "passwordHash": "$6$rounds=4096$PLANTEDsalt$PLANTEDhashvalue0123456789",
    "sshAuthorizedKeys": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPLANTEDsshkey0123456789 core@bastion",
    "files.contents.source": "data:;base64,eyJhdXRocyI6eyJxdWF5LmlvIjp7ImF1dGgiOiJQTEFOVEVEIn19fQ==",
    "files.append.source": "data:,PLANTED-append-token-abcdef0123456789",
    "units.contents": "[Service]\nEnvironment=HTTPS_PROXY=http://proxyuser:PLANTEDunitpw@proxy.example.com:3128\n",
    "units.dropins.contents": "[Service]\nEnvironment=HTTP_PROXY=http://dropuser:PLANTEDdropinpw@proxy.example.com:3128\n",
    "proxy.httpProxy": "PLANTEDhttpuser:PLANTEDhttppw",
    "proxy.httpsProxy": "PLANTEDhttpsuser:PLANTEDhttpspw",
    "controllerconfig.proxy": "PLANTEDccuser:PLANTEDccpw",
    "last-applied": "PLANTED-last-applied-secret-value",
}


def _mc(name="99-worker-secrets", with_kind=True):
    mc = {
        "apiVersion": "machineconfiguration.openshift.io/v1",
        "metadata": {"name": name, "labels": {"machineconfiguration.openshift.io/role": "worker"},
                     "annotations": {"kubectl.kubernetes.io/last-applied-configuration": json.dumps(
                         {"apiVersion": "v1", "kind": "Secret", "data": {"x": PLANTED["last-applied"]}})}},
        "spec": {"config": {
            "ignition": {"version": "3.2.0"},
            "passwd": {"users": [{"name": "core", "passwordHash": PLANTED["passwordHash"],
                                  "sshAuthorizedKeys": [PLANTED["sshAuthorizedKeys"]]}]},
            "storage": {"files": [{"path": "/var/lib/kubelet/config.json", "mode": 384, "overwrite": True,
                                   "contents": {"source": PLANTED["files.contents.source"]},
                                   "append": [{"source": PLANTED["files.append.source"]}]}]},
            "systemd": {"units": [{"name": "crio.service", "enabled": True,
                                   "contents": PLANTED["units.contents"],
                                   "dropins": [{"name": "10-proxy.conf",
                                                "contents": PLANTED["units.dropins.contents"]}]}]}},
            "extensions": ["sandboxed-containers"]},
    }
    if with_kind:
        mc["kind"] = "MachineConfig"
    return mc


def _facts():
    hp = "http://%s@proxy.example.com:3128" % PLANTED["proxy.httpProxy"]
    hsp = "https://%s@proxy.example.com:3129" % PLANTED["proxy.httpsProxy"]
    return {
        "version": "4.16.3",
        "mcs": [_mc(), _mc("rendered-worker-0123", with_kind=False)],   # list items come without kind
        "proxy": {"apiVersion": "config.openshift.io/v1", "kind": "Proxy", "metadata": {"name": "cluster"},
                  "spec": {"httpProxy": hp, "httpsProxy": hsp, "noProxy": ".cluster.local"},
                  "status": {"httpProxy": hp, "httpsProxy": hsp}},
        "controllerconfig": {"kind": "ControllerConfig", "metadata": {"name": "machine-config-controller"},
                             "spec": {"proxy": {"httpProxy": "http://%s@p:1" % PLANTED["controllerconfig.proxy"]}}},
        "pools": [], "nodes": [], "runtimeclasses": [], "kataconfigs": [],
    }


def _leaks(members):
    out = []
    for name, data in members.items():
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
        for field, value in PLANTED.items():
            probe = value.split("\n")[1] if "\n" in value else value
            for part in (probe, probe.split("@")[0].rsplit("/", 1)[-1] if "@" in probe else probe):
                if part and part in text:
                    out.append((name, field))
    return sorted(set(out))


def _bundle(tmp_path, facts):
    col = Collected(facts=facts, scope={"pool": "worker", "nodes": ["worker-0"], "selector": None},
                    probes={"worker-0": ProbeRecord("worker-0", True, "ok", None, nodesim.make_node_raw())},
                    expectation=Expectation(source="none"))
    path = write_bundle(str(tmp_path / "b.tar.gz"), col, {"findings": []})
    return load_members(path)


def test_bundle_from_collected_facts_holds_no_planted_secret(tmp_path):
    members = _bundle(tmp_path, redact_facts(_facts()))   # what collect() stores
    assert "cluster/facts.json" in members
    assert _leaks(members) == []
    assert scan(members) == []


def test_bundle_writer_redacts_even_unredacted_facts(tmp_path):
    # doctor --from / must-gather input re-written as a bundle: redaction happens at write time too
    members = _bundle(tmp_path, _facts())
    assert _leaks(members) == []
    facts = json.loads(members["cluster/facts.json"])
    user = facts["mcs"][0]["spec"]["config"]["passwd"]["users"][0]
    assert user["passwordHash"] == "%d bytes long" % len(PLANTED["passwordHash"])
    assert user["sshAuthorizedKeys"] == ["%d bytes long" % len(PLANTED["sshAuthorizedKeys"])]
    unit = facts["mcs"][1]["spec"]["config"]["systemd"]["units"][0]
    assert unit["contents"].endswith("bytes long") and unit["dropins"][0]["contents"].endswith("bytes long")
    assert facts["proxy"]["spec"]["httpProxy"] == "http://<redacted>@proxy.example.com:3128"
    assert facts["proxy"]["status"]["httpsProxy"] == "https://<redacted>@proxy.example.com:3129"
    assert facts["proxy"]["spec"]["noProxy"] == ".cluster.local"
    assert facts["mcs"][0]["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] == ""
    # what doctor needs is kept
    assert facts["mcs"][0]["spec"]["extensions"] == ["sandboxed-containers"]


def test_bundle_from_collected_facts_keeps_the_real_sizes(tmp_path):
    # collect() redacts the facts and the bundle writer redacts them again: the second pass must keep the first
    # one's "<n> bytes long" (it used to write "13 bytes long", the length of "56 bytes long", for every value)
    members = _bundle(tmp_path, redact_facts(_facts()))
    facts = json.loads(members["cluster/facts.json"])
    config = facts["mcs"][0]["spec"]["config"]
    user = config["passwd"]["users"][0]
    assert user["passwordHash"] == "%d bytes long" % len(PLANTED["passwordHash"])
    assert user["sshAuthorizedKeys"] == ["%d bytes long" % len(PLANTED["sshAuthorizedKeys"])]
    f = config["storage"]["files"][0]
    assert f["contents"]["source"] == "%d bytes long" % len(PLANTED["files.contents.source"])
    assert f["append"][0]["source"] == "%d bytes long" % len(PLANTED["files.append.source"])
    unit = config["systemd"]["units"][0]
    assert unit["contents"] == "%d bytes long" % len(PLANTED["units.contents"])
    assert unit["dropins"][0]["contents"] == "%d bytes long" % len(PLANTED["units.dropins.contents"])
    assert facts == redact_facts(_facts())


def test_secret_data_redacted_twice_keeps_its_size():
    import base64

    secret = {"kind": "Secret", "metadata": {"name": "pull-secret"},
              "data": {".dockerconfigjson": base64.b64encode(b"x" * 300).decode()},
              "stringData": {"token": "abcdef"}}
    once = redact_object(secret)
    assert once["data"] == {".dockerconfigjson": "300 bytes long"} and once["stringData"] == {"token": "6 bytes long"}
    assert redact_object(once) == once


def test_unredacted_facts_would_be_caught():
    # the check above can fail: the raw objects do contain every planted value
    raw = {"cluster/facts.json": json.dumps(_facts()).encode()}
    assert {f for _, f in _leaks(raw)} == set(PLANTED)


def test_recorded_cassette_bodies_are_redacted():
    body = json.dumps({"kind": "MachineConfigList", "apiVersion": "machineconfiguration.openshift.io/v1",
                       "items": [_mc(with_kind=False)]}).encode()
    rec = _scrub_response({"body": {"string": body}})
    assert _leaks({"cassette": rec["body"]["string"]}) == []
    proxy = json.dumps(_facts()["proxy"]).encode()
    rec = _scrub_response({"body": {"string": proxy}})
    assert _leaks({"cassette": rec["body"]["string"]}) == []
    assert json.loads(rec["body"]["string"])["spec"]["noProxy"] == ".cluster.local"


def test_redact_object_is_a_copy():
    mc = _mc()
    redact_object(mc)
    assert mc["spec"]["config"]["passwd"]["users"][0]["passwordHash"] == PLANTED["passwordHash"]
