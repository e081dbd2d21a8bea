"""Secret scanner: every artifact the tool writes is searched for credentials.

One run drives each verb against the fake API server (tests/fakeapi) with a kubeconfig whose user carries a
bearer token AND a client certificate/key pair, at -v and -vv, plus `--token` on the command line (kubectl
users type it by habit; the plugin has no such flag, so it must be refused without echoing the value). It
collects: stdout and stderr of every run, enable's dry-run YAML, doctor's support bundle (the .tar.gz and
each member), the argv of every `oc`/`kubectl` the run started (tests/fakebin logs them), and the recorded
cassettes in cassettes/. The cluster's pull secret carries a `last-applied-configuration` annotation that holds
the whole Secret (what `kubectl apply` of a Secret leaves), so copying that object anywhere would be caught.

Fails on: a bearer token (the kubeconfig's, any `sha256~` OpenShift token, any JWT, `Bearer <value>`), a
client-key PEM block (armoured or base64 in a kubeconfig field), a pull secret's `auths` (JSON, YAML or
base64), a `last-applied-configuration` holding a Secret, and the `--token` value given on the command line.
The planted-secret tests prove each rule fires on a real artifact.
"""
from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import tarfile

import pytest

from tests.clirunner import run_cli
from tests.fakeapi import PULL_SECRET_AUTH, PULL_SECRET_PASSWORD

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CASSETTES = os.path.join(ROOT, "cassettes")
CLI_TOKEN = "sha256~cli-flag-token-Zq8d1Lw3Pp5Xy7Vb9Nm2"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

# --------------------------------------------------------------------------- the scanner

_RULES = [
    ("bearer token", re.compile(r"(?i)\bbearer\s+(?!<redacted>|\*+|\[redacted\])[A-Za-z0-9._~+/=-]{8,}")),
    ("bearer token", re.compile(r"\bsha256~(?!<redacted>)[A-Za-z0-9_-]{8,}")),
    ("bearer token", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),  # JWT
    ("bearer token", re.compile(r"(?i)[\"']?\btoken[\"']?\s*[:=]\s*[\"']?(?!<redacted>)[A-Za-z0-9._~+/-]{16,}")),
    ("client-key PEM block", re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----")),
    ("client-key PEM block", re.compile(r"LS0tLS1CRUdJTi[A-Za-z0-9+/]{0,8}(?:QUklWQVRFIEtFWS0tLS0t|UFJJVkFURSBLRVkt|"
                                        r"Q[A-Za-z0-9+/]{4}BSSVZBVEUgS0VZLS0tLS)")),
    ("client-key PEM block", re.compile(r"(?i)client-key-data[\"']?\s*:\s*[\"']?(?!<redacted>)[A-Za-z0-9+/=]{16,}")),
    ("pull secret auths", re.compile(r"[\"']?\bauths[\"']?\s*:\s*\{?\s*[\"']?[a-z0-9.-]+\.[a-z]{2,}")),
    ("pull secret auths", re.compile(r"eyJhdXRocyI6|ImF1dGhzIjo|\"auths\"\s*:")),  # base64 of {"auths": / "auths":
    ("pull secret auths", re.compile(r"\.dockerconfigjson[\"']?\s*:\s*[\"']?[A-Za-z0-9+/=]{16,}")),
]


def _last_applied_values(text: str):
    """The values of every last-applied-configuration annotation: one JSON/YAML line, or a YAML block scalar."""
    for m in re.finditer(re.escape(LAST_APPLIED) + r"[\"']?\s*:\s*", text):
        rest = text[m.end():]
        if rest[:1] in "|>":                                   # YAML block scalar: the more-indented lines after
            lines = rest.split("\n")[1:]
            indent = None
            body = []
            for line in lines:
                if not line.strip():
                    body.append(line)
                    continue
                lead = len(line) - len(line.lstrip())
                indent = lead if indent is None else indent
                if lead < indent:
                    break
                body.append(line)
            yield "\n".join(body)
        else:
            yield rest.split("\n", 1)[0]


def scan(artifacts: dict, exact: tuple = ()) -> list:
    """[(artifact name, rule, excerpt)] for every secret found. `exact`: literal values that must never appear
    (the kubeconfig's token and key, the --token value, the pull secret's credentials)."""
    found = []
    for name, text in artifacts.items():
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        for rule, rx in _RULES:
            for m in rx.finditer(text):
                found.append((name, rule, text[max(0, m.start() - 30):m.end() + 30]))
        for value in _last_applied_values(text):
            if re.search(r"kind\\*[\"']?\s*:\s*\\*[\"']?Secret\b", value):
                found.append((name, "last-applied-configuration holding a Secret", value[:120]))
        for value in exact:
            if value and value in text:
                found.append((name, "known secret value", value[:12] + "..."))
    return found


# --------------------------------------------------------------------------- the cluster and its credentials

def _client_cert(tmp_path):
    """A throwaway client certificate and EC key (openssl, as the fake server's own TLS material)."""
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", "client.key", "-out", "client.crt", "-days", "2",
                    "-subj", "/O=system:masters/CN=scanner-user"], cwd=tmp_path, check=True, capture_output=True)
    return (tmp_path / "client.crt").read_bytes(), (tmp_path / "client.key").read_bytes()


@pytest.fixture(scope="module")
def collected(tmp_path_factory):
    """Drive every verb and collect every artifact: -> (artifacts {name: text|bytes}, exact secret values)."""
    from tests.fakeapi import FakeCluster
    from tests.fakebin.plugin import FAKEBIN, FakeOc

    tmp = tmp_path_factory.mktemp("scanner")
    fc = FakeCluster(workers=3)
    fc.start()
    try:
        # the pull secret as `kubectl apply` leaves it: the annotation holds the whole Secret again
        ps = fc.store.get("Secret", "pull-secret", "openshift-config")
        applied = {k: ps[k] for k in ("apiVersion", "kind", "type", "data")}
        applied["metadata"] = {"name": "pull-secret", "namespace": "openshift-config"}
        ps["metadata"].setdefault("annotations", {})[LAST_APPLIED] = json.dumps(applied, separators=(",", ":"))
        fc.store.update(ps)
        fc.boot_release_os_image("4.16")

        crt, key = _client_cert(tmp)
        cfg = fc.kubeconfig_dict()
        cfg["users"][0]["user"].update({"client-certificate-data": base64.b64encode(crt).decode(),
                                        "client-key-data": base64.b64encode(key).decode()})
        kc = tmp / "kubeconfig"
        import yaml
        kc.write_text(yaml.safe_dump(cfg, sort_keys=False))
        os.chmod(kc, 0o600)

        scen, state = tmp / "oc-scenario", tmp / "oc-state"
        scen.mkdir()
        state.mkdir()
        oc = FakeOc(str(scen), str(state))
        env = {"PATH": FAKEBIN + os.pathsep + os.environ.get("PATH", ""),
               "FAKE_OC_SCENARIO_DIR": str(scen), "FAKE_OC_STATE_DIR": str(state)}
        artifacts = {}
        codes = {}

        def run(tag, args, ok=(0,)):
            res = run_cli(args, kubeconfig=str(kc), environ=env)
            artifacts[tag + " stdout"] = res.stdout
            artifacts[tag + " stderr"] = res.stderr
            codes[tag] = res.exit_code
            assert res.exit_code in ok, (tag, res.exit_code, res.stderr[-2000:])
            return res

        for v in ("-v", "-vv"):
            run(f"status {v}", ["status", v])
            run(f"status -o yaml {v}", ["status", "-o", "yaml", v])
            run(f"status -o json {v}", ["status", "-o", "json", v])
            run(f"version {v}", ["version", v])
            run(f"enable dry-run=client yaml {v}", ["enable", "--dry-run=client", "-o", "yaml", v])
            run(f"enable dry-run=server yaml {v}", ["enable", "--dry-run=server", "-o", "yaml", v])
            run(f"enable dry-run=server json {v}", ["enable", "--dry-run=server", "-o", "json", v])
            # --token as kubectl users type it (both spellings): refused as usage, the value never echoed
            run(f"status --token= {v}", ["status", v, f"--token={CLI_TOKEN}"], ok=(2,))
            run(f"enable --token {v}", ["enable", v, "--token", CLI_TOKEN], ok=(2,))
            run(f"doctor --token {v}", ["doctor", v, "--token", CLI_TOKEN], ok=(2,))
        # a real change followed to the end at -vv (watches logged), then doctor on the enabled pool
        run("enable -vv", ["enable", "--timeout", "60s", "-vv"])
        run("enable again -v", ["enable", "--timeout", "60s", "-v"])
        ext_image = fc.store.get("ConfigMap", "machine-config-osimageurl",
                                 "openshift-machine-config-operator")["data"]["baseOSExtensionsContainerImage"]
        oc.configure(nodes={"worker-1": {"scenario": "version-skew"}},
                     images={ext_image: {"release": "4.16", "arch": "x86_64"}})
        bundles = []
        for v in ("-v", "-vv"):
            bundle = tmp / f"bundle{v}.tar.gz"
            bundles.append(bundle)
            run(f"doctor {v}", ["doctor", v, "--bundle", str(bundle)], ok=(1,))
            run(f"doctor -o json {v}", ["doctor", "-o", "json", v], ok=(1,))
            run(f"doctor --from {v}", ["doctor", "--from", str(bundle), v], ok=(1,))
            run(f"doctor --via kubectl {v}", ["doctor", "--via", "kubectl", "--image", "registry.example/tools:1",
                                              "--user", "fake", "--as", "system:admin", v], ok=(1,))
        for v in ("-v", "-vv"):   # upgrade's plan and diff (nothing to upgrade on a current install)
            run(f"upgrade --dry-run {v}", ["upgrade", "--dry-run", v])
            run(f"upgrade --dry-run -o yaml {v}", ["upgrade", "--dry-run", "-o", "yaml", v])
        run("disable -vv", ["disable", "--timeout", "60s", "-vv"])
        run("disable --no-wait -v", ["disable", "--no-wait", "-v"])
        # failures at -vv: a wrong token (401), refused connection
        bad = dict(cfg)
        bad["users"] = [{"name": "fake", "user": dict(cfg["users"][0]["user"], token="sha256~wrong-Token-For-401-abc")}]
        (tmp / "bad").write_text(yaml.safe_dump(bad))
        res = run_cli(["status", "-vv"], kubeconfig=str(tmp / "bad"), environ=env)
        artifacts["status 401 -vv stderr"], codes["401"] = res.stderr, res.exit_code
        assert res.exit_code == 3

        for bundle in bundles:
            artifacts[bundle.name] = bundle.read_bytes()
            with tarfile.open(bundle) as tar:
                for m in tar:
                    artifacts[f"{bundle.name}:{m.name}"] = tar.extractfile(m).read() if m.isfile() else m.name
        for inv in oc.invocations():
            artifacts[f"argv of {inv['argv'][0]} {inv['argv'][1:3]}"] = " ".join(inv["argv"])
        for f in sorted(os.listdir(CASSETTES)):
            with open(os.path.join(CASSETTES, f), encoding="utf-8") as fh:
                artifacts["cassettes/" + f] = fh.read()
        exact = (fc.token, CLI_TOKEN, "cli-flag-token-Zq8d1Lw3Pp5Xy7Vb9Nm2", PULL_SECRET_PASSWORD, PULL_SECRET_AUTH,
                 base64.b64encode(key).decode(), base64.b64encode(crt).decode()[:40],
                 key.decode().split("\n")[1], *fc.secret_values())
        yield artifacts, exact
    finally:
        fc.stop()


# --------------------------------------------------------------------------- tests

def test_no_artifact_holds_a_secret(collected):
    artifacts, exact = collected
    # the collection really covers what the issue lists
    names = " | ".join(artifacts)
    for what in ("status -v", "status -o yaml -vv", "enable dry-run=client yaml -vv", "enable -vv", "disable -vv",
                 "doctor -vv", "bundle-vv.tar.gz:kata-doctor-bundle/manifest.json", "doctor --via kubectl",
                 "cassettes/doctor.yaml", "status --token= -vv", "argv of oc", "upgrade --dry-run -vv"):
        assert what in names, what
    assert sum(1 for n in artifacts if n.startswith("cassettes/")) >= 5
    assert sum(1 for n in artifacts if ".tar.gz:" in n) >= 10
    assert "GET" in artifacts["status -vv stderr"]              # -vv really logged the API requests
    assert "kind: MachineConfig" in artifacts["enable dry-run=client yaml -v stdout"]
    found = scan(artifacts, exact)
    assert found == [], "\n".join(f"{n}: {rule}: {ex!r}" for n, rule, ex in found)


def _plant(kind: str, key_pem: str) -> str:
    return {
        "bearer header": "header: Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345",
        "sha256 token": 'user:\n  token: sha256~QWERTYUIOPasdfghjklZXCVBNM123456',
        "jwt": "token eyJhbGciOiJSUzI1NiIsImtpZCI6IiJ9.eyJpc3MiOiJrdWJlcm5ldGVzL3NlcnZpY2VhY2NvdW50In0.c2lnbmF0dXJlMTIzNA",
        "pem block": key_pem,
        "client-key-data": "client-key-data: " + base64.b64encode(key_pem.encode()).decode(),
        "auths json": json.dumps({"auths": {"quay.io": {"auth": "Zm9vOmJhcg=="}}}),
        "auths yaml": "auths:\n  registry.redhat.io:\n    auth: Zm9vOmJhcg==\n",
        "auths base64": base64.b64encode(json.dumps({"auths": {"quay.io": {"auth": "x"}}}).encode()).decode(),
        "last-applied json": json.dumps({"metadata": {"annotations": {LAST_APPLIED: json.dumps(
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"k": "v"}})}}}),
        "last-applied yaml block": "metadata:\n  annotations:\n    %s: |\n      {\"apiVersion\":\"v1\",\"kind\":"
                                   "\"Secret\",\"metadata\":{\"name\":\"s\"}}\n  name: s\n" % LAST_APPLIED,
        "--token value": "running oc --server=https://x --token " + CLI_TOKEN,
    }[kind]


PLANTS = ["bearer header", "sha256 token", "jwt", "pem block", "client-key-data", "auths json", "auths yaml",
          "auths base64", "last-applied json", "last-applied yaml block", "--token value"]


@pytest.mark.parametrize("kind", PLANTS)
@pytest.mark.parametrize("where", ["status -vv stderr", "enable dry-run=server yaml -vv stdout",
                                   "bundle-v.tar.gz:kata-doctor-bundle/manifest.json", "cassettes/doctor.yaml"])
def test_scanner_catches_a_planted_secret(collected, kind, where):
    artifacts, exact = collected
    key_pem = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n"
    text = artifacts[where]
    if isinstance(text, bytes):
        text = text.decode()
    mid = len(text) // 2
    planted = dict(artifacts)
    planted[where] = text[:mid] + "\n" + _plant(kind, key_pem) + "\n" + text[mid:]
    found = scan(planted, exact)
    assert found and {n for n, _, _ in found} == {where}, found


def test_scanner_ignores_redacted_and_harmless_text():
    harmless = {
        "redacted": "Authorization: Bearer <redacted>\noc --token=<redacted> get nodes\nsha256~<redacted>\n",
        "digest": "quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:" + "a" * 64,
        "last-applied of a MachineConfig": json.dumps({"metadata": {"annotations": {LAST_APPLIED: json.dumps(
            {"apiVersion": "machineconfiguration.openshift.io/v1", "kind": "MachineConfig"})}}}),
        "words": "the pull secret is read only to hand it to oc image extract; tokens are never printed",
    }
    assert scan(harmless) == []


def test_the_exact_values_are_what_the_run_used(collected):
    """The literal secrets the scan looks for are the ones the runs had: a leak cannot slip past by a typo."""
    artifacts, exact = collected
    assert CLI_TOKEN in exact and PULL_SECRET_PASSWORD in exact
    assert any(v.startswith("sha256~fake-token") for v in exact)
    key_b64 = [v for v in exact if v.startswith("LS0tLS1CRUdJTi")]
    assert key_b64 and "PRIVATE KEY" in base64.b64decode(key_b64[0]).decode()
