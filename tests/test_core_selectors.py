"""LabelSelector matching, kubectl selector strings, MCO pool membership (DOMAIN 2.3)."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kubectl_kata.core.selectors import (MultiplePoolsError, format_selector, matches, matches_label_map,
                                         parse_selector_string, pools_for_node, primary_pool_for_node)
from tests.test_core_fixtures_load import by_kind, get, load_items

WORKER = {"kubernetes.io/arch": "amd64", "node-role.kubernetes.io/worker": "", "kata": "true"}

MATCH_TABLE = [
    # (selector, labels, expected)
    ({}, {}, True),
    ({}, WORKER, True),
    (None, WORKER, False),
    (None, {}, False),
    ({"matchLabels": {}}, WORKER, True),
    ({"matchLabels": {"node-role.kubernetes.io/worker": ""}}, WORKER, True),
    ({"matchLabels": {"node-role.kubernetes.io/kata-oc": ""}}, WORKER, False),
    ({"matchLabels": {"kata": "false"}}, WORKER, False),
    ({"matchLabels": {"kata": "true", "kubernetes.io/arch": "amd64"}}, WORKER, True),
    ({"matchLabels": {"kata": "true", "kubernetes.io/arch": "s390x"}}, WORKER, False),
    ({"matchExpressions": [{"key": "kata", "operator": "In", "values": ["true", "yes"]}]}, WORKER, True),
    ({"matchExpressions": [{"key": "kata", "operator": "In", "values": ["no"]}]}, WORKER, False),
    ({"matchExpressions": [{"key": "absent", "operator": "In", "values": [""]}]}, WORKER, False),
    ({"matchExpressions": [{"key": "kata", "operator": "NotIn", "values": ["true"]}]}, WORKER, False),
    ({"matchExpressions": [{"key": "kata", "operator": "NotIn", "values": ["no"]}]}, WORKER, True),
    ({"matchExpressions": [{"key": "absent", "operator": "NotIn", "values": ["x"]}]}, WORKER, True),
    ({"matchExpressions": [{"key": "node-role.kubernetes.io/worker", "operator": "Exists"}]}, WORKER, True),
    ({"matchExpressions": [{"key": "absent", "operator": "Exists"}]}, WORKER, False),
    ({"matchExpressions": [{"key": "absent", "operator": "DoesNotExist"}]}, WORKER, True),
    ({"matchExpressions": [{"key": "kata", "operator": "DoesNotExist"}]}, WORKER, False),
    # matchLabels and matchExpressions are ANDed
    ({"matchLabels": {"kata": "true"},
      "matchExpressions": [{"key": "node-role.kubernetes.io/master", "operator": "Exists"}]}, WORKER, False),
    # the kata-oc machineConfigSelector against MC labels
    ({"matchExpressions": [{"key": "machineconfiguration.openshift.io/role", "operator": "In",
                            "values": ["kata-oc", "worker"]}]},
     {"machineconfiguration.openshift.io/role": "worker"}, True),
    ({"matchExpressions": [{"key": "machineconfiguration.openshift.io/role", "operator": "In",
                            "values": ["kata-oc", "worker"]}]},
     {"machineconfiguration.openshift.io/role": "master"}, False),
    ({"matchLabels": {"a": "b"}}, None, False),
    ({"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]}, None, True),
]


@pytest.mark.parametrize("selector,labels,expected", MATCH_TABLE)
def test_matches(selector, labels, expected):
    assert matches(selector, labels) is expected


@pytest.mark.parametrize("selector,fragment", [
    ({"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]}, "unsupported operator 'Gt'"),
    ({"matchExpressions": [{"key": "a", "operator": "In", "values": []}]}, "needs at least one value"),
    ({"matchExpressions": [{"key": "a", "operator": "NotIn"}]}, "needs at least one value"),
    ({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]}, "takes no values"),
    ({"matchExpressions": [{"operator": "Exists"}]}, "has no key"),
    ({"matchExpressions": "a"}, "must be a list"),
    ({"matchLabels": ["a"]}, "must be a mapping"),
    ({"matchLabels": {"a": 1}}, "must be strings"),
    ({"nodeSelectorTerms": []}, "unknown field"),
    ("a=b", "must be a mapping"),
])
def test_malformed_selectors_raise_clear_value_error(selector, fragment):
    with pytest.raises(ValueError) as e:
        matches(selector, {"a": "b"})
    assert fragment in str(e.value)


PARSE_TABLE = [
    ("", {}),
    ("   ", {}),
    ("kata=true", {"matchLabels": {"kata": "true"}}),
    ("kata==true", {"matchLabels": {"kata": "true"}}),
    ("node-role.kubernetes.io/worker=", {"matchLabels": {"node-role.kubernetes.io/worker": ""}}),
    ("node-role.kubernetes.io/worker", {"matchExpressions": [{"key": "node-role.kubernetes.io/worker",
                                                              "operator": "Exists"}]}),
    ("!node-role.kubernetes.io/master", {"matchExpressions": [{"key": "node-role.kubernetes.io/master",
                                                               "operator": "DoesNotExist"}]}),
    ("a!=b", {"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["b"]}]}),
    ("zone in (b, a)", {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a", "b"]}]}),
    ("zone notin (a)", {"matchExpressions": [{"key": "zone", "operator": "NotIn", "values": ["a"]}]}),
    ("a=b,c in (d,e),!f", {"matchLabels": {"a": "b"},
                           "matchExpressions": [{"key": "c", "operator": "In", "values": ["d", "e"]},
                                                {"key": "f", "operator": "DoesNotExist"}]}),
    (" a = b , c ", {"matchLabels": {"a": "b"}, "matchExpressions": [{"key": "c", "operator": "Exists"}]}),
    ("a in ()", {"matchExpressions": [{"key": "a", "operator": "In", "values": [""]}]}),
    ("a notin (b,,c)", {"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["", "b", "c"]}]}),
    ("a=b,a=c", {"matchLabels": {"a": "b"}, "matchExpressions": [{"key": "a", "operator": "In", "values": ["c"]}]}),
]


@pytest.mark.parametrize("text,expected", PARSE_TABLE)
def test_parse_selector_string(text, expected):
    assert parse_selector_string(text) == expected


@pytest.mark.parametrize("text,fragment", [
    ("a=b,", "empty requirement"),
    (",a", "empty requirement"),
    ("a in (b", "missing ')'"),
    ("a in b)", "unbalanced"),
    ("a in ((b))", "nested"),
    ("a>1", "'<' and '>'"),
    ("a=b=c", "more than one '='"),
    ("=b", "empty label key"),
    ("-a=b", "name part"),
    ("a=-b", "value '-b'"),
    ("Bad_Prefix/a=b", "DNS subdomain"),
    ("/a=b", "DNS subdomain"),
    ("a b", "cannot parse"),
    ("x" * 64 + "=1", "name part"),
    ("a=" + "v" * 64, "at most 63"),
    ("a foo (b)", "cannot parse"),
])
def test_parse_selector_string_errors_name_the_problem(text, fragment):
    with pytest.raises(ValueError) as e:
        parse_selector_string(text)
    assert fragment in str(e.value)
    assert "invalid label selector" in str(e.value)


def test_parse_selector_string_rejects_non_strings():
    with pytest.raises(ValueError):
        parse_selector_string(None)


def test_parsed_selector_selects_the_right_fixture_nodes():
    nodes = by_kind(load_items("enabled-kata-oc-4.16.yaml"), "Node")
    sel = parse_selector_string("node-role.kubernetes.io/worker,!node-role.kubernetes.io/kata-oc")
    assert [n["metadata"]["name"] for n in nodes if matches(sel, n["metadata"]["labels"])] == ["worker-0"]


_key = st.sampled_from(["a", "kata", "example.com/x", "node-role.kubernetes.io/worker"])
_val = st.sampled_from(["", "1", "true", "b-c", "x.y"])
_labels = st.dictionaries(_key, _val, max_size=4)
_expr = st.one_of(
    st.builds(lambda k, vs, op: {"key": k, "operator": op, "values": sorted(set(vs))},
              _key, st.lists(_val, min_size=1, max_size=3), st.sampled_from(["In", "NotIn"])),
    st.builds(lambda k, op: {"key": k, "operator": op}, _key, st.sampled_from(["Exists", "DoesNotExist"])),
)
_selector = st.builds(lambda ml, me: {**({"matchLabels": ml} if ml else {}), **({"matchExpressions": me} if me else {})},
                      _labels, st.lists(_expr, max_size=3))


@settings(max_examples=300, deadline=None)
@given(_selector, _labels)
def test_format_then_parse_keeps_meaning(selector, labels):
    """format_selector/parse_selector_string round-trip: same decision for every label set."""
    reparsed = parse_selector_string(format_selector(selector))
    assert matches(reparsed, labels) == matches(selector, labels)


def test_matches_label_map():
    assert matches_label_map({"node-role.kubernetes.io/kata-oc": ""}, {"node-role.kubernetes.io/kata-oc": ""})
    assert not matches_label_map({"node-role.kubernetes.io/kata-oc": ""}, {"node-role.kubernetes.io/worker": ""})
    assert matches_label_map(None, {"a": "b"}) and matches_label_map({}, None)


def _pool(name, match_labels):
    return {"metadata": {"name": name}, "spec": {"nodeSelector": {"matchLabels": match_labels}}}


MASTER = _pool("master", {"node-role.kubernetes.io/master": ""})
WORKERP = _pool("worker", {"node-role.kubernetes.io/worker": ""})
KATA = _pool("kata-oc", {"node-role.kubernetes.io/kata-oc": ""})
INFRA = _pool("infra", {"node-role.kubernetes.io/infra": ""})


@pytest.mark.parametrize("roles,expected", [
    (["worker"], ["worker"]),
    (["worker", "kata-oc"], ["kata-oc", "worker"]),
    (["kata-oc"], ["kata-oc"]),
    (["master"], ["master"]),
    (["master", "worker"], ["master"]),          # converged: master wins
    (["master", "worker", "kata-oc"], ["master"]),  # custom on a master: silently ignored by the MCO
    ([], []),
])
def test_pools_for_node(roles, expected):
    labels = {"node-role.kubernetes.io/" + r: "" for r in roles}
    assert pools_for_node("n1", labels, [MASTER, WORKERP, KATA, INFRA]) == expected


def test_two_custom_pools_is_the_mco_error():
    labels = {"node-role.kubernetes.io/worker": "", "node-role.kubernetes.io/kata-oc": "",
              "node-role.kubernetes.io/infra": ""}
    with pytest.raises(MultiplePoolsError) as e:
        pools_for_node("worker-3", labels, [MASTER, WORKERP, KATA, INFRA])
    assert "node worker-3 belongs to 2 custom roles, cannot proceed with this Node" in str(e.value)
    node = {"metadata": {"name": "worker-3", "labels": labels}}
    assert primary_pool_for_node(node, [MASTER, WORKERP, KATA, INFRA]) is None


def test_empty_pool_selector_matches_no_node():
    everything = {"metadata": {"name": "catch-all"}, "spec": {"nodeSelector": {}}}
    assert pools_for_node("n", {"node-role.kubernetes.io/worker": ""}, [WORKERP, everything]) == ["worker"]


def test_fixture_membership():
    items = load_items("enabled-kata-oc-4.16.yaml")
    pools = by_kind(items, "MachineConfigPool")
    got = {n["metadata"]["name"]: primary_pool_for_node(n, pools) for n in by_kind(items, "Node")}
    assert got == {"master-0": "master", "master-1": "master", "master-2": "master", "worker-0": "worker",
                   "worker-1": "kata-oc", "worker-2": "kata-oc", "worker-3": "kata-oc"}
    conv = load_items("converged-4.14.yaml")
    assert primary_pool_for_node(get(conv, "Node", "master-0"), by_kind(conv, "MachineConfigPool")) == "master"
