"""Fuzzing in depth: every parser and every file the tool reads, with hypothesis.

Default run: KATA_FUZZ_EXAMPLES examples per target (30 when unset), so the suite stays quick.
The dedicated deep run (docs/reliability.md, "Fuzzing", has its counts and time):

    KATA_FUZZ_EXAMPLES=10000 python3 -m pytest -q -p no:randomly tests/test_fuzz_deep.py --hypothesis-show-statistics

Targets and what must hold for any input:
- kubeconfig (a file the user points us at): `connect` builds a client or raises a KataError (one line, exit 3);
  never another exception. Server addresses stay on loopback/closed ports and exec plugins are never generated.
- support bundles (`doctor --from`, directory or .tar.gz, including links, special files, hostile names):
  exit 0/1/2, no traceback, no internal error, and a usage error is one `error:` line.
- `--expected` files (extensions.json, a saved DoctorExpectation, a repodata directory with repomd.xml + primary):
  an Expectation or ExpectationError.
- repodata XML: structured documents parse or raise ParseError; DTDs, entity expansion and external entities
  are refused (ParseError) and no file content leaks into a result.
- framed probe output: parse_framed never raises for odd content; what encode_framed wrote, surrounded by other
  runs' frames and junk, round-trips exactly.
- oc's text (stderr of oc debug / kubectl / oc image extract): classification never raises, and what it returns
  is one line; redaction is idempotent and removes tokens.
- node outputs: every core parser (as tests/test_fuzz_parsers.py, with more mutation operators), node facts and
  node checks.
Seed inputs are the real-format samples the other tests use: tests/nodesim (derived from /work/shared/reference
node outputs), examples/bundle-drifted-node (written by `doctor --bundle`), the fake API server's kubeconfig.
"""
from __future__ import annotations

import base64
import bz2
import gzip
import io
import json
import lzma
import os
import shutil
import tarfile
import tempfile

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from kubectl_kata.context import Environment
from kubectl_kata.core.nodefacts import RawResult, parse_node_facts
from kubectl_kata.core.parse import ParseError
from kubectl_kata.core.parse.repodata import parse_primary, parse_repomd, primary_location
from kubectl_kata.core.rpm import NEVRA
from kubectl_kata.doctor.checks_node import check_node
from kubectl_kata.doctor.expected import ExpectationError, load_expected_file
from kubectl_kata.errors import KataError
from kubectl_kata.kube.client import connect
from kubectl_kata.options import ConnectionOptions
from kubectl_kata.probe.framing import encode_framed, parse_framed
from kubectl_kata.probe.oc import diagnose_oc_stderr
from kubectl_kata.probe.runner import classify_kube_stderr, last_error_line, redact_text, stderr_tail
from tests import nodesim
from tests.clirunner import run_cli
from tests.test_fuzz_parsers import PARSERS, REPO_PRIMARY, REPOMD

EXAMPLES = int(os.environ.get("KATA_FUZZ_EXAMPLES", "30"))
DEEP = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much, HealthCheck.large_base_example])
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE_BUNDLE = os.path.join(ROOT, "examples", "bundle-drifted-node")


@pytest.fixture(scope="module")
def scratch():
    d = tempfile.mkdtemp(prefix="kata-fuzz-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def _fresh(scratch: str, name: str) -> str:
    path = os.path.join(scratch, name)
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.unlink(path)
    return path


# --------------------------------------------------------------------------- generic mutation

JSON = st.recursive(st.none() | st.booleans() | st.integers(-2**63, 2**64) | st.floats(allow_nan=True)
                    | st.text(max_size=12),
                    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
                    max_leaves=12)


def mutate_bytes(data, valid: bytes, other: bytes = b"") -> bytes:
    """One of several operators applied 1-3 times: truncate, bit flip, insert junk/non-UTF-8, delete a span,
    duplicate or drop a line, splice another valid input, replace everything with random bytes."""
    out = bytearray(valid)
    for _ in range(data.draw(st.integers(1, 3))):
        op = data.draw(st.sampled_from(["cut", "flip", "insert", "delete", "dupline", "dropline", "splice",
                                        "random", "crlf"]))
        n = len(out)
        if op == "cut":
            del out[data.draw(st.integers(0, n)):]
        elif op == "flip" and n:
            out[data.draw(st.integers(0, n - 1))] ^= data.draw(st.integers(1, 255))
        elif op == "insert":
            pos = data.draw(st.integers(0, n))
            out[pos:pos] = data.draw(st.sampled_from([b"\xc3\x28\xff", b"\x00", b"\n", b"\"", b"{", b"<", b"]]>",
                                                      b"\t:\t", b"\\u0000"]) | st.binary(max_size=16))
        elif op == "delete" and n:
            a = data.draw(st.integers(0, n - 1))
            del out[a:a + data.draw(st.integers(1, 64))]
        elif op in ("dupline", "dropline"):
            lines = bytes(out).split(b"\n")
            i = data.draw(st.integers(0, len(lines) - 1))
            if op == "dupline":
                lines.insert(i, lines[i])
            else:
                del lines[i]
            out = bytearray(b"\n".join(lines))
        elif op == "splice" and other:
            a = data.draw(st.integers(0, len(other)))
            out[data.draw(st.integers(0, n)):] = other[a:a + 200]
        elif op == "random":
            out = bytearray(data.draw(st.binary(max_size=256)))
        elif op == "crlf":
            out = bytearray(bytes(out).replace(b"\n", b"\r\n"))
    return bytes(out)


def mutate_json(data, doc):
    """Replace, delete or retype one value at a random path of a JSON document (a deep copy)."""
    doc = json.loads(json.dumps(doc))
    holder, key = None, None
    node = doc
    for _ in range(data.draw(st.integers(0, 6))):
        if isinstance(node, dict) and node:
            k = data.draw(st.sampled_from(sorted(node)))
        elif isinstance(node, list) and node:
            k = data.draw(st.integers(0, len(node) - 1))
        else:
            break
        holder, key, node = node, k, node[k]
    if holder is None:
        return data.draw(JSON)
    op = data.draw(st.sampled_from(["replace", "delete", "retype"]))
    if op == "delete":
        del holder[key]
    elif op == "retype":
        holder[key] = data.draw(st.sampled_from([[], {}, None, "", 0, -1, True, "x" * 300, [None], {"": None}]))
    else:
        holder[key] = data.draw(JSON)
    return doc


# --------------------------------------------------------------------------- node outputs (core parsers)

VALID = [v for _, v in PARSERS]


@DEEP
@given(st.data())
def test_every_node_parser_returns_or_raises_parse_error(data):
    blob = mutate_bytes(data, data.draw(st.sampled_from(VALID)), data.draw(st.sampled_from(VALID)))
    for fn, _ in PARSERS:
        try:
            fn(blob)
        except ParseError:
            pass


@DEEP
@given(st.data())
def test_node_facts_and_checks_never_raise(data):
    raw = dict(nodesim.make_node_raw(data.draw(st.sampled_from(nodesim.SCENARIOS))))
    for key in data.draw(st.lists(st.sampled_from(sorted(raw)), max_size=8, unique=True)):
        out, err, rc = raw[key]
        action = data.draw(st.sampled_from(["drop", "mutate", "rc", "stderr"]))
        if action == "drop":
            del raw[key]
        elif action == "mutate":
            raw[key] = RawResult(mutate_bytes(data, out), err, rc)
        elif action == "rc":
            raw[key] = RawResult(out, err, data.draw(st.integers(-1, 255)))
        else:
            raw[key] = RawResult(out, data.draw(st.binary(max_size=64)), rc)
    facts = parse_node_facts(raw)
    json.dumps(facts.to_dict())
    findings = check_node("n", facts, {n: NEVRA.parse(v) for n, v in nodesim.expected_nevras().items()},
                          nodesim.scenario_context())
    assert findings and all(f.message and "\n" not in f.check_id for f in findings)


# --------------------------------------------------------------------------- repodata XML

PRIMARY_TAGS = ["metadata", "package", "name", "arch", "version", "format", "rpm:requires", "rpm:provides",
                "rpm:entry", "location", "checksum", "rpm:sourcerpm", "file", "x"]
PRIMARY_ATTRS = ["type", "epoch", "ver", "rel", "name", "flags", "pre", "href", "packages", "arch", "pkgid"]
XML_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)


def _xml_escape(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


@st.composite
def xml_element(draw, depth=0):
    tag = draw(st.sampled_from(PRIMARY_TAGS))
    attrs = draw(st.dictionaries(st.sampled_from(PRIMARY_ATTRS),
                                 st.sampled_from(["0", "1", "-1", "EQ", "GE", "LT", "x86_64", "noarch", "kata",
                                                  "99999999999999999999", ""]) | XML_TEXT, max_size=4))
    kids = draw(st.lists(xml_element(depth + 1), max_size=3)) if depth < 4 else []
    text = _xml_escape(draw(XML_TEXT))
    a = "".join(' %s="%s"' % (k, _xml_escape(v)) for k, v in attrs.items())
    return "<%s%s>%s%s</%s>" % (tag, a, text, "".join(kids), tag)


XMLNS = ('xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" '
         'packages="%d"')


def _compress(data, raw: bytes) -> bytes:
    how = data.draw(st.sampled_from(["none", "gzip", "bz2", "xz"]))
    return {"none": lambda b: b, "gzip": gzip.compress, "bz2": bz2.compress, "xz": lzma.compress}[how](raw)


@DEEP
@given(st.data())
def test_repodata_structured_xml(data):
    body = "".join(data.draw(st.lists(xml_element(), max_size=4)))
    doc = '<?xml version="1.0" encoding="UTF-8"?>\n<metadata %s>%s</metadata>' % (XMLNS % 1, body)
    for fn, blob in ((parse_primary, _compress(data, doc.encode())),
                     (parse_repomd, doc.replace("metadata", "repomd").encode()),
                     (primary_location, doc.replace("metadata", "repomd").encode())):
        try:
            fn(blob)
        except ParseError:
            pass


SECRET_FILE_MARK = "KATA-FUZZ-LOCAL-FILE-CONTENT"


@st.composite
def hostile_xml(draw, local_file):
    """A DTD the parser must refuse: entity expansion (billion laughs / quadratic blow-up), external entities
    (file, http, parameter entities), an external DTD."""
    kind = draw(st.sampled_from(["laughs", "quadratic", "external-file", "external-http", "parameter",
                                 "external-dtd", "internal-entity"]))
    root = draw(st.sampled_from(["metadata", "repomd"]))
    ns = XMLNS % 1 if root == "metadata" else 'xmlns="http://linux.duke.edu/metadata/repo"'
    inner = "<package type=\"rpm\"><name>&e;</name></package>" if root == "metadata" else \
        "<data type=\"primary\"><location href=\"&e;\"/></data>"
    if kind == "laughs":
        depth, width = draw(st.integers(2, 9)), draw(st.integers(2, 10))
        ents = ['<!ENTITY e0 "lol">'] + ['<!ENTITY e%d "%s">' % (i, ("&e%d;" % (i - 1)) * width)
                                         for i in range(1, depth)]
        ents.append('<!ENTITY e "&e%d;">' % (depth - 1))
        dtd = "<!DOCTYPE %s [%s]>" % (root, "".join(ents))
    elif kind == "quadratic":
        dtd = '<!DOCTYPE %s [<!ENTITY e "%s">]>' % (root, "A" * draw(st.integers(1, 50000)))
        inner = inner.replace("&e;", "&e;" * draw(st.integers(1, 2000)))
    elif kind == "external-file":
        dtd = '<!DOCTYPE %s [<!ENTITY e SYSTEM "file://%s">]>' % (root, local_file)
    elif kind == "external-http":
        dtd = '<!DOCTYPE %s [<!ENTITY e SYSTEM "http://127.0.0.1:1/x.xml">]>' % root
    elif kind == "parameter":
        dtd = ('<!DOCTYPE %s [<!ENTITY %% p SYSTEM "file://%s"> %%p; <!ENTITY e "x">]>' % (root, local_file))
    elif kind == "external-dtd":
        dtd = '<!DOCTYPE %s SYSTEM "file://%s">' % (root, local_file)
        inner = inner.replace("&e;", "x")
    else:
        dtd = '<!DOCTYPE %s [<!ENTITY e "%s">]>' % (root, draw(st.text(alphabet="abc", max_size=8)))
    prolog = draw(st.sampled_from(['<?xml version="1.0" encoding="UTF-8"?>\n', "", '<?xml version="1.0"?>']))
    return root, (prolog + dtd + "<%s %s>%s</%s>" % (root, ns, inner, root)).encode()


@DEEP
@given(st.data())
def test_repodata_refuses_entities_and_external_references(scratch, data):
    local = os.path.join(scratch, "local-file.xml")
    if not os.path.exists(local):
        with open(local, "w") as fh:
            fh.write(SECRET_FILE_MARK)
    root, doc = data.draw(hostile_xml(local))
    fns = [parse_primary] if root == "metadata" else [parse_repomd, primary_location]
    for fn in fns:
        blob = _compress(data, doc) if fn is parse_primary else doc
        with pytest.raises(ParseError) as info:
            fn(blob)
        assert SECRET_FILE_MARK not in str(info.value)


# --------------------------------------------------------------------------- framed probe output

NONCE = "Fz9a8b7c6d5e4f30"
KEYS = st.from_regex(r"\A[A-Za-z0-9_.:-]{1,20}\Z")
ITEMS = st.dictionaries(KEYS, st.builds(RawResult, st.binary(max_size=64), st.binary(max_size=32),
                                        st.integers(-999, 999)), max_size=6)
JUNK_LINE = st.sampled_from([b"Starting pod/worker-0-debug-x ...", b"To use host binaries, run `chroot /host`",
                             b"Removing debug pod ...", b"2026-12-04T20:00:00.000000000Z ", b"\r", b"",
                             b"@@KATA-OtherNonce123 ITEM k rc=0 out= err=", b"@@KATA-" + NONCE.encode()[:6],
                             b"sh: 1: rpm: not found"]) | st.binary(max_size=80).map(lambda b: b.replace(b"\n", b""))


@DEEP
@given(ITEMS, st.lists(JUNK_LINE, max_size=6), st.data())
def test_framed_round_trip_amid_other_output(items, junk, data):
    framed = encode_framed(NONCE, items).split(b"\n")[:-1]
    lines = list(framed)
    for j in junk:                                   # interleave oc's notices and other runs' frames
        if NONCE.encode() in j:
            continue
        lines.insert(data.draw(st.integers(0, len(lines))), j)
    prefix = data.draw(st.sampled_from([b"", b"2026-12-04T20:00:00.1Z "]))
    text = b"\n".join((prefix + ln) if ln in framed else ln for ln in lines) + b"\n"
    got, problems = parse_framed(text, NONCE)
    assert problems == []
    assert got == items


@DEEP
@given(ITEMS, st.data())
def test_framed_damage_is_reported_never_raised(items, data):
    valid = encode_framed(NONCE, items)
    blob = mutate_bytes(data, valid, encode_framed(NONCE, {"x": RawResult(b"a", b"", 0)}))
    as_text = data.draw(st.booleans())
    got, problems = parse_framed(blob.decode("utf-8", "surrogateescape") if as_text else blob, NONCE)
    assert isinstance(got, dict) and isinstance(problems, list)
    assert all(isinstance(p, str) and "\n" not in p for p in problems)
    for key, res in got.items():
        assert isinstance(res.stdout, bytes) and isinstance(res.stderr, bytes) and isinstance(res.rc, int)
    if blob != valid and got == items and not problems:
        # a mutation the parser accepted silently must have left what it reads from every framed line intact
        # (junk before the marker, CRLF endings, repeated or trailing blanks and unknown attributes are tolerated
        # by design)
        assert _framed_fields(blob) == _framed_fields(valid)


def _framed_fields(blob: bytes):
    mark = b"@@KATA-" + NONCE.encode() + b" "
    out = []
    for ln in blob.split(b"\n"):
        pos = ln.find(mark)
        if pos < 0:
            continue
        body = ln[pos + len(mark):].rstrip(b"\r")
        fields = [f for f in body.split(b" ") if f]
        if body.startswith(b"BEGIN"):
            fields = [b"BEGIN", body[len(b"BEGIN"):].strip()]
        elif body == b"END" or body.startswith(b"END "):
            fields = [b"END"]
        elif fields[:1] == [b"ITEM"]:
            attrs = {}
            for f in fields[2:]:
                name, _, value = f.partition(b"=")
                attrs.setdefault(name, value)
            fields = fields[:2] + [attrs.get(b"rc"), attrs.get(b"out"), attrs.get(b"err")]
        out.append(fields)
    return out


# --------------------------------------------------------------------------- oc's text

OC_FRAGMENTS = [
    "Starting pod/worker-0-debug-abcde ...", "To use host binaries, run `chroot /host`",
    "Removing debug pod ...", "error: can't debug nodes without running as the root user",
    'Error from server (Forbidden): pods "x" is forbidden: User "jane" cannot create resource "pods" in API group ""'
    ' in the namespace "kata-doctor-x"', "error: You must be logged in to the server (Unauthorized)",
    "Unable to connect to the server: dial tcp 10.0.0.1:6443: i/o timeout", "connection refused",
    'warning: Container container-00 is unable to start due to an error: Back-off pulling image '
    '"registry.redhat.io/rhel9/support-tools:latest"', 'error: unable to create the debug pod "x-debug"',
    "error: debug pod could not be scheduled: 0/6 nodes are available", 'Error from server (NotFound): nodes '
    '"worker-9" not found', 'pods "x" violates PodSecurity "restricted:latest": privileged', "F1204 fatal",
    "unable to validate against any security context constraint", "Authorization: Bearer sha256~abcdefghijklmnop"
    "qrstuvwxyz", "--token=sha256~abcdefghijklmnopqrstuvwxyz0123", "error: image extract: manifest unknown",
]


@DEEP
@given(st.lists(st.sampled_from(OC_FRAGMENTS) | st.text(max_size=60), max_size=8), st.sampled_from(["\n", "\r\n", " "]))
def test_oc_text_classification(parts, sep):
    text = sep.join(parts)
    for fn in (diagnose_oc_stderr, classify_kube_stderr):
        got = fn(text)
        assert got is None or (isinstance(got[0], str) and isinstance(got[1], str) and "\n" not in got[1])
    line = last_error_line(text)
    assert line is None or "\n" not in line
    red = redact_text(text)
    assert redact_text(red) == red
    assert "abcdefghijklmnopqrstuvwxyz" not in red
    assert "abcdefghijklmnopqrstuvwxyz" not in stderr_tail(text.encode("utf-8", "surrogateescape"))


# --------------------------------------------------------------------------- kubeconfig

SERVERS = st.sampled_from(["https://127.0.0.1:1", "http://127.0.0.1:1", "https://[::1]:1", "", "127.0.0.1:1",
                           "https://", "https://127.0.0.1:1/prefix?x=1", "ftp://127.0.0.1:1", "https://[::1",
                           "https://127.0.0.1:99999", "\x00"]) | st.builds(
    lambda p: "https://127.0.0.1:1/" + p, st.text(max_size=10))
B64 = st.sampled_from(["", "!!!", "bm90IGEgY2VydA==", base64.b64encode(b"-----BEGIN CERTIFICATE-----\nMIIB\n"
                                                                     b"-----END CERTIFICATE-----\n").decode()]) \
    | st.binary(max_size=40).map(lambda b: base64.b64encode(b).decode())
ANY = st.none() | st.booleans() | st.integers() | st.text(max_size=8) | st.lists(st.text(max_size=4), max_size=2)


@st.composite
def kubeconfig_doc(draw):
    names = st.sampled_from(["a", "b", "fake", ""])
    cluster = draw(st.fixed_dictionaries({"server": SERVERS}, optional={
        "certificate-authority-data": B64, "insecure-skip-tls-verify": ANY | st.booleans(),
        "certificate-authority": st.sampled_from(["/nonexistent/ca", "ca.crt", "/dev/null", ""]) | ANY,
        "tls-server-name": ANY, "proxy-url": st.sampled_from(["http://127.0.0.1:1", "socks5://127.0.0.1:1", ""])
        | ANY, "extensions": ANY}))
    user = draw(st.fixed_dictionaries({}, optional={
        "token": ANY, "tokenFile": st.sampled_from(["/nonexistent", "/dev/null", "tok"]) | ANY,
        "client-certificate-data": B64, "client-key-data": B64, "username": ANY, "password": ANY,
        "client-certificate": st.sampled_from(["/nonexistent/c", "c.crt"]) | ANY,
        "client-key": st.sampled_from(["/nonexistent/k", "k.key"]) | ANY,
        "as": ANY, "as-groups": ANY}))
    ctx = draw(st.fixed_dictionaries({"cluster": names | ANY, "user": names | ANY},
                                     optional={"namespace": ANY}))
    doc = {"apiVersion": draw(st.sampled_from(["v1", "", None])), "kind": "Config",
           "current-context": draw(names | ANY),
           "clusters": [{"name": draw(names), "cluster": cluster}],
           "users": [{"name": draw(names), "user": user}],
           "contexts": [{"name": draw(names), "context": ctx}]}
    if draw(st.booleans()):
        doc = mutate_json(draw(st.data()), doc)
    return doc


def _no_exec(doc) -> bool:
    text = json.dumps(doc, default=str)
    return "exec" not in text and "auth-provider" not in text


def _connect(path: str, data):
    conn = ConnectionOptions(kubeconfig=path, context=data.draw(st.sampled_from([None, "a", "fake"])),
                             cluster=data.draw(st.sampled_from([None, "a"])), user=data.draw(st.sampled_from([None, "a"])),
                             as_user=data.draw(st.sampled_from([None, "system:admin"])),
                             as_groups=data.draw(st.sampled_from([[], ["g"], ["g", "h"]])))
    env = Environment(stdout=io.StringIO(), stderr=io.StringIO(), environ={"HOME": "/nonexistent"})
    try:
        connect(conn, env)
    except KataError as exc:
        assert exc.message and "\n" not in exc.message and "Traceback" not in exc.message


@DEEP
@given(kubeconfig_doc(), st.data())
def test_kubeconfig_structured(scratch, doc, data):
    assume(_no_exec(doc))
    path = _fresh(scratch, "kubeconfig")
    with open(path, "w") as fh:
        yaml.safe_dump(doc, fh, allow_unicode=True)
    _connect(path, data)


VALID_KUBECONFIG = yaml.safe_dump({
    "apiVersion": "v1", "kind": "Config", "current-context": "fake",
    "clusters": [{"name": "fake", "cluster": {"server": "https://127.0.0.1:1", "certificate-authority-data":
                                              base64.b64encode(b"-----BEGIN CERTIFICATE-----\n").decode()}}],
    "users": [{"name": "fake", "user": {"token": "sha256~fuzz"}}],
    "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake", "namespace": "default"}}]},
    sort_keys=False).encode()


@DEEP
@given(st.data())
def test_kubeconfig_raw_bytes(scratch, data):
    blob = mutate_bytes(data, VALID_KUBECONFIG, b"- {name: x}\n&a [*a]\n!!python/object:os.system\n")
    try:
        parsed = yaml.safe_load(blob)
    except yaml.YAMLError:
        parsed = None
    # only loopback addresses: a mutated host name must not send the client to the network (such inputs are
    # discarded, not counted as passing examples)
    assume(_no_exec(parsed) and (b"127.0.0." in blob or b"server" not in blob))
    path = _fresh(scratch, "kubeconfig-raw")
    with open(path, "wb") as fh:
        fh.write(blob)
    _connect(path, data)


# --------------------------------------------------------------------------- support bundles (doctor --from)

def _example_members():
    out = {}
    for dirpath, _, files in os.walk(EXAMPLE_BUNDLE):
        for f in files:
            full = os.path.join(dirpath, f)
            out[os.path.relpath(full, EXAMPLE_BUNDLE).replace(os.sep, "/")] = open(full, "rb").read()
    return out


BUNDLE = _example_members()
BUNDLE_JSON = sorted(n for n in BUNDLE if n.endswith(".json"))
HOSTILE_NAMES = ["../escape", "/abs/path", "a/../../b", "C:/win", "a\\b", "nodes/../../x", "nodes/worker-0/raw/\x01",
                 "./manifest.json", "kata-doctor-bundle/../x"]


@DEEP
@given(st.data())
def test_bundle_from(scratch, data):
    members = dict(BUNDLE)
    for _ in range(data.draw(st.integers(1, 3))):
        op = data.draw(st.sampled_from(["json", "json", "bytes", "drop", "add", "nodes"]))
        if op == "json":
            name = data.draw(st.sampled_from(BUNDLE_JSON))
            try:
                doc = json.loads(members.get(name, b"{}"))
            except ValueError:
                doc = {}
            members[name] = json.dumps(mutate_json(data, doc)).encode()
        elif op == "bytes":
            name = data.draw(st.sampled_from(sorted(BUNDLE)))
            members[name] = mutate_bytes(data, members.get(name, b""))
        elif op == "drop" and members:
            members.pop(data.draw(st.sampled_from(sorted(members))))
        elif op == "add":
            members[data.draw(st.sampled_from(HOSTILE_NAMES) | st.text(max_size=20))] = b"x"
        else:
            man = json.loads(BUNDLE["manifest.json"])
            man["scope"]["nodes"] = data.draw(st.lists(st.sampled_from(
                ["worker-0", "worker-9", "../x", "", "a/b", "w" * 300, "worker-0"]) | ANY, max_size=4))
            members["manifest.json"] = json.dumps(man).encode()
    form = data.draw(st.sampled_from(["dir", "tar.gz", "tar", "tar-link", "tar-dev"]))
    top = data.draw(st.sampled_from(["kata-doctor-bundle/", ""]))
    if form == "dir":
        path = _fresh(scratch, "bundle-dir")
        os.mkdir(path)
        for name, blob in members.items():
            full = os.path.normpath(os.path.join(path, name))
            if not full.startswith(path + os.sep) or "\x00" in name:
                continue   # a directory cannot hold a hostile name; tar forms carry those
            try:
                os.makedirs(os.path.dirname(full), exist_ok=True)
                with open(full, "wb") as fh:
                    fh.write(blob)
            except (OSError, ValueError):
                continue
        if data.draw(st.booleans()):
            os.symlink(data.draw(st.sampled_from(["/etc/passwd", "manifest.json", ".."])),
                       os.path.join(path, "nodes-link"))
    else:
        path = _fresh(scratch, "bundle.tar.gz")
        with tarfile.open(path, "w:gz" if form != "tar" else "w") as tar:
            for name, blob in members.items():
                info = tarfile.TarInfo(top + name if not name.startswith(("/", "..")) else name)
                info.size = len(blob)
                tar.addfile(info, io.BytesIO(blob))
            if form == "tar-link":
                info = tarfile.TarInfo(top + "nodes/worker-0/raw/rpm-qa.stdout")
                info.type = data.draw(st.sampled_from([tarfile.SYMTYPE, tarfile.LNKTYPE]))
                info.linkname = data.draw(st.sampled_from(["/etc/passwd", "../../../etc/shadow", "manifest.json"]))
                tar.addfile(info)
            elif form == "tar-dev":
                info = tarfile.TarInfo(top + "nodes/worker-0/raw/x")
                info.type = data.draw(st.sampled_from([tarfile.CHRTYPE, tarfile.FIFOTYPE, tarfile.BLKTYPE]))
                tar.addfile(info)
    fmt = data.draw(st.sampled_from(["table", "json", "yaml"]))
    res = run_cli(["doctor", "--from", path, "-o", fmt])
    assert res.exit_code in (0, 1, 2), (res.exit_code, res.stderr[-500:])
    assert "Traceback" not in res.stderr and "internal error" not in res.stderr, res.stderr[-1500:]
    if res.exit_code == 2:
        assert len([ln for ln in res.stderr.splitlines() if ln.startswith("error:")]) == 1, res.stderr
    else:
        assert res.stdout


# --------------------------------------------------------------------------- --expected files

EXPECTATION = json.loads(BUNDLE["expected/expectation.json"])
EXT_JSON = json.dumps(nodesim.expected_nevras()).encode()
REPOMD_PLAIN = REPOMD.replace(b"x-primary.xml.gz", b"primary.xml")


@DEEP
@given(st.data())
def test_expected_files(scratch, data):
    kind = data.draw(st.sampled_from(["extensions.json", "expectation", "repodata", "dir-extensions.json", "raw"]))
    arches = data.draw(st.lists(st.sampled_from(["x86_64", "aarch64", "s390x", "ppc64le", "bogus"]),
                                min_size=1, max_size=3))
    if kind == "repodata":
        path = _fresh(scratch, "expected-repo")
        os.makedirs(os.path.join(path, "repodata"))
        repomd = REPOMD_PLAIN
        if data.draw(st.booleans()):
            href = data.draw(st.sampled_from(["repodata/primary.xml", "../../../etc/passwd", "/etc/passwd",
                                              "repodata/missing.xml", "", "repodata", "repodata/../repodata/primary.xml"]))
            repomd = REPOMD_PLAIN.replace(b"repodata/primary.xml", href.encode())
        if data.draw(st.booleans()):
            repomd = mutate_bytes(data, repomd)
        primary = _compress(data, mutate_bytes(data, REPO_PRIMARY) if data.draw(st.booleans()) else REPO_PRIMARY)
        with open(os.path.join(path, "repodata", "repomd.xml"), "wb") as fh:
            fh.write(repomd)
        with open(os.path.join(path, "repodata", "primary.xml"), "wb") as fh:
            fh.write(primary)
    elif kind == "dir-extensions.json":
        path = _fresh(scratch, "expected-dir")
        os.mkdir(path)
        with open(os.path.join(path, "extensions.json"), "wb") as fh:
            fh.write(mutate_bytes(data, EXT_JSON))
    else:
        path = _fresh(scratch, "expected.json")
        if kind == "extensions.json":
            blob = json.dumps(mutate_json(data, json.loads(EXT_JSON))).encode()
        elif kind == "expectation":
            blob = json.dumps(mutate_json(data, EXPECTATION)).encode()
        else:
            blob = mutate_bytes(data, data.draw(st.sampled_from([EXT_JSON, json.dumps(EXPECTATION).encode()])))
        with open(path, "wb") as fh:
            fh.write(blob)
    try:
        exp = load_expected_file(path, arches)
    except ExpectationError as exc:
        assert str(exc) and "root:x:" not in str(exc)
        return
    json.dumps(exp.to_dict() if hasattr(exp, "to_dict") else vars(exp), default=str)


def test_item_before_begin_is_reported():
    """Found by the 10k run: a block whose lines were spliced so an ITEM precedes BEGIN was accepted as clean."""
    valid = encode_framed(NONCE, {"0": RawResult(b"", b"", 0)}).split(b"\n")
    got, problems = parse_framed(b"\n".join([valid[1], valid[0], valid[2], b""]), NONCE)
    assert problems == ["item(s) '0' appear before the BEGIN marker"]
