"""Loader for tests/fixtures/cluster/*.yaml (shared by the test_core_* modules) and checks that every fixture
is well-formed: a header naming its origin, and objects that validate against the real CRDs."""
from __future__ import annotations

import copy
import functools
import os

import jsonschema
import pytest
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "fixtures", "cluster")
from tests.paths import CRDS, SAMPLES  # noqa: E402
OSC_NAMESPACE = "openshift-sandboxed-containers-operator"

CRD_FILES = {
    "MachineConfig": "machineconfigs.crd.yaml",
    "MachineConfigPool": "machineconfigpools-SelfManagedHA.crd.yaml",
}
# KataConfig is not validated: the fixture carries the OSC 1.1 status shape (kataconfig-describe.capture-osc1.1.txt),
# which sits between the two reference CRDs (release-4.8 requires status.kataImage, devel has kataNodes).


@functools.lru_cache(maxsize=None)
def _load(name: str) -> list:
    with open(os.path.join(FIXTURES, name)) as f:
        doc = yaml.safe_load(f)
    assert doc["kind"] == "List", name
    return doc["items"]


def load_items(name: str) -> list:
    """Deep copy of the fixture's items (tests may mutate them)."""
    return copy.deepcopy(_load(name))


def by_kind(items: list, kind: str) -> list:
    return [o for o in items if o.get("kind") == kind]


def get(items: list, kind: str, name: str) -> dict:
    for o in items:
        if o.get("kind") == kind and o["metadata"]["name"] == name:
            return o
    raise KeyError("%s/%s" % (kind, name))


def release_version(items: list):
    """The cluster version as the MCO stamps it on rendered configs (release-image-version annotation)."""
    for mc in by_kind(items, "MachineConfig"):
        v = ((mc["metadata"].get("annotations") or {}).get("machineconfiguration.openshift.io/release-image-version"))
        if v:
            return v
    return None


def facts_from(name: str, **overrides) -> dict:
    """The facts dict the commands build (services/cluster_facts.gather) from a fixture snapshot."""
    items = load_items(name)
    kcs = by_kind(items, "KataConfig")
    facts = {
        "openshift": True,
        "version": release_version(items),
        "pools": by_kind(items, "MachineConfigPool"),
        "nodes": by_kind(items, "Node"),
        "mcs": by_kind(items, "MachineConfig"),
        "kataconfigs": kcs,
        "kataconfig_crd": bool(kcs),
        "osc_namespace": any(o["metadata"]["name"] == OSC_NAMESPACE for o in by_kind(items, "Namespace")),
        "runtimeclasses": by_kind(items, "RuntimeClass"),
        "kata_pods": [],
    }
    facts.update(overrides)
    return facts


def _allow_null(schema):
    """Draft7 does not know OpenAPI `nullable: true`; translate it to a type union with null."""
    if isinstance(schema, dict):
        out = {k: _allow_null(v) for k, v in schema.items()}
        if out.pop("nullable", False) and "type" in out:
            t = out["type"]
            out["type"] = list(t) + ["null"] if isinstance(t, list) else [t, "null"]
        return out
    if isinstance(schema, list):
        return [_allow_null(s) for s in schema]
    return schema


@functools.lru_cache(maxsize=None)
def crd_validator(kind: str) -> jsonschema.Draft7Validator:
    with open(os.path.join(CRDS, CRD_FILES[kind])) as f:
        crd = yaml.safe_load(f)
    schema = _allow_null(crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"])
    return jsonschema.Draft7Validator(schema)


def validate_against_crd(obj: dict) -> list:
    return sorted(e.message for e in crd_validator(obj["kind"]).iter_errors(obj))


ALL_FIXTURES = sorted(f for f in os.listdir(FIXTURES) if f.endswith(".yaml"))


def test_fixture_set_is_complete():
    assert {"fresh-4.16.yaml", "enabled-kata-oc-4.16.yaml", "osc-managed-4.9.yaml", "converged-4.14.yaml",
            "rollout-race-4.16.yaml", "rollout-rolling-4.16.yaml", "rollout-working-4.16.yaml",
            "rollout-done-4.16.yaml", "rollout-paused-4.16.yaml", "rollout-node-degraded-4.16.yaml",
            "rollout-render-failed-4.16.yaml"} <= set(ALL_FIXTURES)


@pytest.mark.parametrize("name", ALL_FIXTURES)
def test_fixture_has_provenance_header(name):
    with open(os.path.join(FIXTURES, name)) as f:
        head = f.read(2000)
    assert head.startswith("# ")
    assert "shared/reference" in head or "samples/" in head
    assert "Scenario:" in head


@pytest.mark.parametrize("name", ALL_FIXTURES)
def test_fixture_objects_validate_against_crds(name):
    for obj in load_items(name):
        if obj["kind"] in CRD_FILES:
            assert validate_against_crd(obj) == [], "%s %s" % (obj["kind"], obj["metadata"]["name"])


@pytest.mark.parametrize("name", ALL_FIXTURES)
def test_fixture_pools_are_consistent(name):
    """Counters obey the MCO invariants so tests do not pass on impossible pools."""
    for p in by_kind(load_items(name), "MachineConfigPool"):
        st = p["status"]
        assert st["machineCount"] >= st["updatedMachineCount"] >= st["readyMachineCount"]
        assert p["spec"]["configuration"]["name"].startswith("rendered-%s-" % p["metadata"]["name"])


def test_nullable_translation_is_needed_for_the_real_capture():
    """The real OSC capture has kernelArguments: null; it must validate once nullable is honoured."""
    with open(SAMPLES + "machineconfig-50-enable-sandboxed-containers-extension."
              "capture-ocp4.9.yaml") as f:
        mc = yaml.safe_load(f)
    assert validate_against_crd(mc) == []
    with open(os.path.join(CRDS, CRD_FILES["MachineConfig"])) as f:
        raw = yaml.safe_load(f)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    assert list(jsonschema.Draft7Validator(raw).iter_errors(mc))  # the raw schema rejects null
