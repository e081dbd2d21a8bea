"""Hypothesis fuzzing: every parser either returns a value or raises ParseError -- nothing else.

Inputs: random bytes, truncations/bit-flips of valid nodesim outputs, non-UTF-8, and deep or huge
documents. The whole module is kept to a few seconds (small max_examples, no deadline).
"""
import gzip
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kubectl_kata.core.closure import parse_rich
from kubectl_kata.core.nodefacts import parse_node_facts
from kubectl_kata.core.parse import ParseError
from kubectl_kata.core.parse.kata_versions import (parse_kata_env, parse_kata_monitor_version,
                                                   parse_kata_runtime_version, parse_shim_version)
from kubectl_kata.core.parse.nodefiles import (parse_cpu_flags, parse_crio_dropin, parse_find_list, parse_paths,
                                               parse_systemctl_show)
from kubectl_kata.core.parse.osrelease import parse_os_release
from kubectl_kata.core.parse.repodata import (parse_extensions_json, parse_primary, parse_repomd,
                                              primary_location)
from kubectl_kata.core.parse.rpm_ostree import parse_rpm_ostree_status
from kubectl_kata.core.parse.rpmdb import parse_deps, parse_file_provides, parse_rpm_qa, parse_rpm_verify
from kubectl_kata.core.rpm import EVR, NEVRA, rpmvercmp
from kubectl_kata.doctor.checks_node import check_node
from tests import nodesim

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

RAW = nodesim.make_node_raw("healthy")
REPO_PRIMARY = nodesim.render_primary([p for p in nodesim.package_set() if p.in_repo])
REPOMD = (b'<?xml version="1.0" encoding="UTF-8"?>\n<repomd xmlns="http://linux.duke.edu/metadata/repo">'
          b'<data type="primary"><location href="repodata/x-primary.xml.gz"/><size>10</size></data></repomd>\n')
EXT_JSON = json.dumps(nodesim.expected_nevras()).encode()

# parser -> a valid input for it
PARSERS = [
    (parse_rpm_ostree_status, RAW["rpm-ostree-status"].stdout),
    (parse_rpm_qa, RAW["rpm-qa"].stdout),
    (parse_deps, RAW["rpm-requires"].stdout),
    (parse_file_provides, RAW["rpm-file-provides"].stdout),
    (parse_rpm_verify, b"S.5....T.  c /etc/crio/crio.conf.d/50-kata\nmissing     /usr/bin/x\n"),
    (parse_kata_runtime_version, RAW["kata-runtime-version"].stdout),
    (parse_shim_version, RAW["shim-version"].stdout),
    (parse_kata_monitor_version, RAW["kata-monitor-version"].stdout),
    (parse_kata_env, RAW["kata-env"].stdout),
    (parse_os_release, RAW["os-release"].stdout),
    (parse_paths, RAW["paths"].stdout),
    (parse_systemctl_show, RAW["osbuilder-unit"].stdout),
    (parse_cpu_flags, RAW["cpu-flags"].stdout),
    (parse_find_list, RAW["osbuilder-images"].stdout),
    (parse_crio_dropin, RAW["crio-50-kata"].stdout),
    (parse_repomd, REPOMD),
    (primary_location, REPOMD),
    (parse_primary, REPO_PRIMARY),
    (parse_extensions_json, EXT_JSON),
]


def only_parse_error(fn, data):
    try:
        fn(data)
    except ParseError:
        pass


def test_valid_inputs_parse():
    for fn, data in PARSERS:
        fn(data)


@FAST
@given(st.binary(max_size=512))
def test_random_bytes(data):
    for fn, _ in PARSERS:
        only_parse_error(fn, data)


@FAST
@given(st.data())
def test_truncations_and_bitflips(data):
    for fn, valid in PARSERS:
        cut = data.draw(st.integers(0, len(valid)))
        only_parse_error(fn, valid[:cut])
        pos = data.draw(st.integers(0, max(0, len(valid) - 1)))
        flipped = bytearray(valid)
        if flipped:
            flipped[pos] ^= data.draw(st.integers(1, 255))
        only_parse_error(fn, bytes(flipped))


@FAST
@given(st.data())
def test_non_utf8_injected(data):
    for fn, valid in PARSERS:
        pos = data.draw(st.integers(0, len(valid)))
        only_parse_error(fn, valid[:pos] + b"\xc3\x28\xff" + valid[pos:])


@FAST
@given(st.text(max_size=200))
def test_random_text(text):
    for fn, _ in PARSERS:
        only_parse_error(fn, text)
    only_parse_error(parse_rich, text)
    only_parse_error(EVR.parse, text)
    only_parse_error(NEVRA.parse, text)


@FAST
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.sampled_from(
                        ["deployments", "booted", "staged", "requested-packages", "Hypervisor", "Path", "Runtime",
                         "Version", "custom-origin", "base-removals", "transaction", "a"]), c, max_size=4),
                    max_leaves=20))
def test_structured_json(doc):
    blob = json.dumps(doc).encode()
    for fn in (parse_rpm_ostree_status, parse_kata_env, parse_extensions_json):
        only_parse_error(fn, blob)
    only_parse_error(parse_rpm_ostree_status, json.dumps({"deployments": [doc, {"booted": True}]}).encode())


def test_deep_and_huge_inputs():
    deep_json = b"[" * 100000 + b"]" * 100000
    for fn in (parse_rpm_ostree_status, parse_kata_env, parse_extensions_json):
        only_parse_error(fn, deep_json)
    deep_xml = b"<metadata>" + b"<a>" * 50000 + b"</a>" * 50000 + b"</metadata>"
    only_parse_error(parse_primary, deep_xml)
    only_parse_error(parse_repomd, b"<repomd>" + b"<a>" * 50000 + b"</a>" * 50000 + b"</repomd>")
    # a gzip bomb stops at the cap instead of inflating fully
    bomb = gzip.compress(b"<metadata>" + b" " * (8 * 1024 * 1024) + b"</metadata>")
    try:
        parse_primary(bomb, max_bytes=1024 * 1024)
        raise AssertionError("cap not enforced")
    except ParseError as exc:
        assert "decompressed" in str(exc)
    huge = b"x" * (33 * 1024 * 1024)
    for fn in (parse_rpm_qa, parse_rpm_ostree_status, parse_os_release):
        only_parse_error(fn, huge)
    only_parse_error(parse_rich, "(" * 5000 + "a" + ")" * 5000)


@FAST
@given(st.text(alphabet="0123456789abcXYZ.~^_+", max_size=12), st.text(alphabet="0123456789abcXYZ.~^_+", max_size=12))
def test_rpmvercmp_antisymmetric(a, b):
    assert rpmvercmp(a, b) == -rpmvercmp(b, a)
    assert rpmvercmp(a, a) == 0


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_node_facts_and_checks_never_raise(data):
    raw = dict(nodesim.make_node_raw(data.draw(st.sampled_from(nodesim.SCENARIOS))))
    for key in data.draw(st.lists(st.sampled_from(sorted(raw)), max_size=6, unique=True)):
        action = data.draw(st.sampled_from(["drop", "truncate", "rc", "garbage"]))
        out, err, rc = raw[key]
        if action == "drop":
            del raw[key]
        elif action == "truncate":
            raw[key] = (out[:data.draw(st.integers(0, len(out)))], err, rc)
        elif action == "rc":
            raw[key] = (out, b"boom", data.draw(st.integers(-1, 255)))
        else:
            raw[key] = (data.draw(st.binary(max_size=64)), err, rc)
    facts = parse_node_facts(raw)
    json.dumps(facts.to_dict())
    findings = check_node("n", facts, {n: NEVRA.parse(v) for n, v in nodesim.expected_nevras().items()},
                          nodesim.scenario_context())
    assert findings and all(f.message for f in findings)
