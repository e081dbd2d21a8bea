"""Framing v1: encode/parse round trip, noise tolerance, truncation and damage reports.

The noise lines are oc's real stderr notices (DOMAIN.md 6.1, openshift/oc pkg/cli/debug/debug.go)
and shell/rpm complaints that a remote command may write into the pod log.
"""
import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kubectl_kata.probe import framing
from kubectl_kata.probe.framing import FramingError, RawResult, encode_framed, parse_framed

NONCE = "0123456789abcdef01234567"
OC_NOISE = [
    b"Temporary namespace openshift-debug-x7k2p is created for debugging node...",
    b"Starting pod/ip-10-0-1-2ec2internal-debug-4x9vq ...",
    b"To use host binaries, run `chroot /host`. Instead, if you need to access host namespaces, "
    b"run `nsenter -a -t 1`.",
    b"",
    b"Removing debug pod ...",
    b"Temporary namespace openshift-debug-x7k2p was removed.",
]

ITEMS = {
    "os-release": RawResult(b'NAME="Red Hat Enterprise Linux CoreOS"\nID="rhcos"\n', b"", 0),
    "rpm-V": RawResult(b"S.5....T.  c /etc/kata-containers/configuration.toml\n", b"", 1),
    "kata-env": RawResult(b"", b"sh: /usr/bin/kata-runtime: No such file or directory\n", 127),
    "binary": RawResult(bytes(range(256)), b"\xff\xfe not utf-8", 0),
}


def test_round_trip_keeps_bytes_rc_and_order():
    items, problems = parse_framed(encode_framed(NONCE, ITEMS), NONCE)
    assert problems == []
    assert items == ITEMS
    assert list(items) == list(ITEMS)


def test_str_input_is_accepted():
    text = encode_framed(NONCE, ITEMS).decode("ascii")
    items, problems = parse_framed(text, NONCE)
    assert problems == [] and items == ITEMS


def test_interleaved_noise_and_crlf_are_ignored():
    lines = encode_framed(NONCE, ITEMS).split(b"\n")
    mixed = []
    for i, line in enumerate(lines):
        mixed.append(OC_NOISE[i % len(OC_NOISE)])
        mixed.append(line + b"\r" if line else line)
    mixed.append(b"sh: warning: setlocale: LC_ALL: cannot change locale (en_US.UTF-8)")
    items, problems = parse_framed(b"\n".join(mixed), NONCE)
    assert problems == []
    assert items == ITEMS


def test_prefix_before_the_marker_is_skipped():
    # kubectl logs --timestamps puts an RFC3339 stamp in front of every line
    stamped = b"\n".join(b"2024-06-20T10:00:01.123456789Z " + ln if ln else ln
                         for ln in encode_framed(NONCE, ITEMS).split(b"\n"))
    items, problems = parse_framed(stamped, NONCE)
    assert problems == [] and items == ITEMS


def test_other_nonce_is_ignored_entirely():
    other = encode_framed("ffffffffffffffff", {"os-release": RawResult(b"forged", b"", 0)})
    mine = encode_framed(NONCE, {"uname-r": RawResult(b"5.14.0\n", b"", 0)})
    items, problems = parse_framed(other + mine, NONCE)
    assert problems == []
    assert items == {"uname-r": RawResult(b"5.14.0\n", b"", 0)}


def test_truncation_without_end_is_reported_and_partial_items_kept():
    data = encode_framed(NONCE, ITEMS)
    last_item = data.rindex(b"@@KATA-" + NONCE.encode() + b" ITEM binary")
    items, problems = parse_framed(data[:last_item], NONCE)
    assert set(items) == {"os-release", "rpm-V", "kata-env"}
    assert problems == ["END marker missing (output truncated)"]


def test_cut_in_the_middle_of_an_item_line():
    data = encode_framed(NONCE, ITEMS)
    cut = data.rindex(b" ITEM binary") + 40
    items, problems = parse_framed(data[:cut], NONCE)
    assert "binary" not in items
    assert problems[0] == "END marker missing (output truncated)"
    assert "output cut off in the middle of a framed line" in problems


def test_missing_begin_still_yields_items():
    # container log rotation can drop the head of a large output
    lines = encode_framed(NONCE, ITEMS).split(b"\n")
    items, problems = parse_framed(b"\n".join(lines[2:]), NONCE)
    assert "os-release" not in items and "binary" in items
    assert problems == ["BEGIN marker missing (start of the output lost)"]


def test_no_framed_output_at_all():
    items, problems = parse_framed(b"\n".join(OC_NOISE), NONCE)
    assert items == {}
    assert problems == ["no framed output found (BEGIN marker missing)"]


def test_duplicate_key_keeps_first_and_reports():
    m = b"@@KATA-" + NONCE.encode()
    data = b"\n".join([
        m + b" BEGIN v1",
        m + b" ITEM uname-r rc=0 out=" + base64.b64encode(b"first") + b" err=",
        m + b" ITEM uname-r rc=0 out=" + base64.b64encode(b"second") + b" err=",
        m + b" END", b""])
    items, problems = parse_framed(data, NONCE)
    assert items["uname-r"].stdout == b"first"
    assert problems == ["item 'uname-r' appears more than once; the first one is kept"]


@pytest.mark.parametrize("line, expected", [
    (b"ITEM uname-r rc=0 out=@@@@ err=", "item 'uname-r': stdout is not valid base64 (line damaged or truncated)"),
    (b"ITEM uname-r rc=0 out=YWJj err=YW", "item 'uname-r': stderr is not valid base64 (line damaged or truncated)"),
    (b"ITEM uname-r rc=x out= err=", "item 'uname-r': bad exit status 'x'"),
    (b"ITEM uname-r rc=0 out=", "item 'uname-r': incomplete line"),
    (b"ITEM bad/key rc=0 out= err=", "framed item with invalid key 'bad/key'"),
    (b"HELLO", "unknown framed line 'HELLO'"),
])
def test_damaged_lines_are_reported_not_raised(line, expected):
    m = b"@@KATA-" + NONCE.encode()
    data = b"\n".join([m + b" BEGIN v1", m + b" " + line,
                       m + b" ITEM uname-m rc=0 out=eDg2XzY0Cg== err=", m + b" END", b""])
    items, problems = parse_framed(data, NONCE)
    assert problems == [expected]
    assert items == {"uname-m": RawResult(b"x86_64\n", b"", 0)}


def test_unsupported_version_is_reported():
    m = b"@@KATA-" + NONCE.encode()
    items, problems = parse_framed(m + b" BEGIN v2\n" + m + b" END\n", NONCE)
    assert problems == ["unsupported frame version 'v2' (expected v1)"]


def test_item_after_end_is_kept_but_reported():
    m = b"@@KATA-" + NONCE.encode()
    data = m + b" BEGIN v1\n" + m + b" END\n" + m + b" ITEM uname-m rc=0 out= err=\n"
    items, problems = parse_framed(data, NONCE)
    assert "uname-m" in items
    assert problems == ["item 'uname-m' appears after the END marker"]


def test_per_item_cap(monkeypatch):
    monkeypatch.setattr(framing, "MAX_ITEM_BYTES", 30)
    data = encode_framed(NONCE, {"big": RawResult(b"x" * 100, b"", 0), "small": RawResult(b"ok", b"", 0)})
    items, problems = parse_framed(data, NONCE)
    assert set(items) == {"small"}
    assert problems == ["item 'big': stdout larger than 30 bytes, dropped"]


def test_unusable_input_raises_framing_error_only(monkeypatch):
    with pytest.raises(FramingError):
        parse_framed(12345, NONCE)
    with pytest.raises(FramingError):
        parse_framed(b"", "short")
    with pytest.raises(FramingError):
        parse_framed(b"", "has space in it!")
    monkeypatch.setattr(framing, "MAX_TOTAL_BYTES", 100)
    with pytest.raises(FramingError, match="more than the 100 byte limit"):
        parse_framed(b"x" * 101, NONCE)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.from_regex(r"[A-Za-z0-9_.:-]{1,20}", fullmatch=True),
                       st.tuples(st.binary(max_size=300), st.binary(max_size=100),
                                 st.integers(min_value=-255, max_value=255)),
                       max_size=8),
       st.lists(st.binary(max_size=80), max_size=5))
def test_property_round_trip_with_arbitrary_bytes_and_noise(raw, noise):
    items_in = {k: RawResult(*v) for k, v in raw.items()}
    data = b"\n".join(noise) + b"\n" + encode_framed(NONCE, items_in) + b"\n".join(noise)
    items, problems = parse_framed(data, NONCE)
    assert items == items_in
    assert problems == []


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=2000))
def test_property_garbage_never_raises(blob):
    items, problems = parse_framed(b"@@KATA-" + NONCE.encode() + b" " + blob, NONCE)
    assert isinstance(items, dict) and isinstance(problems, list)
