"""rpm version semantics.

RPMVERCMP_VECTORS is every RPMVERCMP(...) line of rpm's tests/rpmvercmp.at
(rpm-software-management/rpm @ 7f3fdf6868d72fbdef3386345ff39b3744fa4b14), including the tilde and caret
sections; ODDITIES are the commented-out "current, arguably buggy behaviors" block of the same file.
"""
import pytest

from kubectl_kata.core.parse import ParseError
from kubectl_kata.core.rpm import (EVR, NEVRA, RPMSENSE_EQUAL, RPMSENSE_GREATER, RPMSENSE_LESS, compare_evr,
                                   format_flags, parse_flags, ranges_overlap, rpmvercmp, satisfies)

RPMVERCMP_VECTORS = [
    ("1.0", "1.0", 0), ("1.0", "2.0", -1), ("2.0", "1.0", 1),
    ("2.0.1", "2.0.1", 0), ("2.0", "2.0.1", -1), ("2.0.1", "2.0", 1),
    ("2.0.1a", "2.0.1a", 0), ("2.0.1a", "2.0.1", 1), ("2.0.1", "2.0.1a", -1),
    ("5.5p1", "5.5p1", 0), ("5.5p1", "5.5p2", -1), ("5.5p2", "5.5p1", 1),
    ("5.5p10", "5.5p10", 0), ("5.5p1", "5.5p10", -1), ("5.5p10", "5.5p1", 1),
    ("10xyz", "10.1xyz", -1), ("10.1xyz", "10xyz", 1),
    ("xyz10", "xyz10", 0), ("xyz10", "xyz10.1", -1), ("xyz10.1", "xyz10", 1),
    ("xyz.4", "xyz.4", 0), ("xyz.4", "8", -1), ("8", "xyz.4", 1), ("xyz.4", "2", -1), ("2", "xyz.4", 1),
    ("5.5p2", "5.6p1", -1), ("5.6p1", "5.5p2", 1),
    ("5.6p1", "6.5p1", -1), ("6.5p1", "5.6p1", 1),
    ("6.0.rc1", "6.0", 1), ("6.0", "6.0.rc1", -1),
    ("10b2", "10a1", 1), ("10a2", "10b2", -1),
    ("1.0aa", "1.0aa", 0), ("1.0a", "1.0aa", -1), ("1.0aa", "1.0a", 1),
    ("10.0001", "10.0001", 0), ("10.0001", "10.1", 0), ("10.1", "10.0001", 0),
    ("10.0001", "10.0039", -1), ("10.0039", "10.0001", 1),
    ("4.999.9", "5.0", -1), ("5.0", "4.999.9", 1),
    ("20101121", "20101121", 0), ("20101121", "20101122", -1), ("20101122", "20101121", 1),
    ("2_0", "2_0", 0), ("2.0", "2_0", 0), ("2_0", "2.0", 0),
    # RhBug:178798 case
    ("a", "a", 0), ("a+", "a+", 0), ("a+", "a_", 0), ("a_", "a+", 0), ("+a", "+a", 0), ("+a", "_a", 0),
    ("_a", "+a", 0), ("+_", "+_", 0), ("_+", "+_", 0), ("_+", "_+", 0), ("+", "_", 0), ("_", "+", 0),
    # tilde
    ("1.0~rc1", "1.0~rc1", 0), ("1.0~rc1", "1.0", -1), ("1.0", "1.0~rc1", 1), ("1.0~rc1", "1.0~rc2", -1),
    ("1.0~rc2", "1.0~rc1", 1), ("1.0~rc1~git123", "1.0~rc1~git123", 0), ("1.0~rc1~git123", "1.0~rc1", -1),
    ("1.0~rc1", "1.0~rc1~git123", 1),
    # caret
    ("1.0^", "1.0^", 0), ("1.0^", "1.0", 1), ("1.0", "1.0^", -1), ("1.0^git1", "1.0^git1", 0),
    ("1.0^git1", "1.0", 1), ("1.0", "1.0^git1", -1), ("1.0^git1", "1.0^git2", -1), ("1.0^git2", "1.0^git1", 1),
    ("1.0^git1", "1.01", -1), ("1.01", "1.0^git1", 1), ("1.0^20160101", "1.0^20160101", 0),
    ("1.0^20160101", "1.0.1", -1), ("1.0.1", "1.0^20160101", 1), ("1.0^20160101^git1", "1.0^20160101^git1", 0),
    ("1.0^20160102", "1.0^20160101^git1", 1), ("1.0^20160101^git1", "1.0^20160102", -1),
    # tilde and caret
    ("1.0~rc1^git1", "1.0~rc1^git1", 0), ("1.0~rc1^git1", "1.0~rc1", 1), ("1.0~rc1", "1.0~rc1^git1", -1),
    ("1.0^git1~pre", "1.0^git1~pre", 0), ("1.0^git1", "1.0^git1~pre", 1), ("1.0^git1~pre", "1.0^git1", -1),
]

ODDITIES = [
    ("1b.fc17", "1b.fc17", 0), ("1b.fc17", "1.fc17", -1), ("1.fc17", "1b.fc17", 1),
    ("1g.fc17", "1g.fc17", 0), ("1g.fc17", "1.fc17", 1), ("1.fc17", "1g.fc17", -1),
    # non-ASCII characters are separators, so these all compare equal
    ("1.1.\u03b1", "1.1.\u03b1", 0), ("1.1.\u03b1", "1.1.\u03b2", 0), ("1.1.\u03b2", "1.1.\u03b1", 0),
    ("1.1.\u03b1\u03b1", "1.1.\u03b1", 0), ("1.1.\u03b1", "1.1.\u03b2\u03b2", 0), ("1.1.\u03b2\u03b2", "1.1.\u03b1\u03b1", 0),
]


def test_vector_table_is_complete():
    assert len(RPMVERCMP_VECTORS) == 91   # 49 basic + 12 RhBug:178798 + 8 tilde + 16 caret + 6 mixed


@pytest.mark.parametrize("a,b,expected", RPMVERCMP_VECTORS)
def test_rpmvercmp_upstream_vectors(a, b, expected):
    assert rpmvercmp(a, b) == expected


@pytest.mark.parametrize("a,b,expected", ODDITIES)
def test_rpmvercmp_documented_oddities(a, b, expected):
    assert rpmvercmp(a, b) == expected


@pytest.mark.parametrize("a,b,expected", [
    ("8.2.0", "8.2.0", 0), ("11.el9_4", "7.el9_4", 1), ("7.el9_4", "11.el9_4", -1),
    ("59.module_el8.5.0+1063+c9b9feff.1", "59.module_el8.5.0+1063+c9b9feff", 1),
    ("3.7.0", "3.31.0", -1), ("", "", 0), ("", "1", -1),
])
def test_rpmvercmp_real_world(a, b, expected):
    assert rpmvercmp(a, b) == expected


def test_evr_parse_and_format():
    e = EVR.parse("17:8.2.0-11.el9_4")
    assert e == EVR(17, "8.2.0", "11.el9_4")
    assert str(e) == "17:8.2.0-11.el9_4"
    assert str(EVR.parse("0:3.7.0-2.rhaos4.16.el9")) == "3.7.0-2.rhaos4.16.el9"   # epoch 0 hidden like %{evr}
    assert EVR.parse("8.2.0") == EVR(0, "8.2.0", None)
    assert EVR.parse("1:2").full() == "1:2"
    for bad in ("", "a:1.0", "1.0-", ":1", "1 0", "1:2:3"):
        with pytest.raises(ParseError):
            EVR.parse(bad)


def test_compare_evr_epoch_dominates():
    assert compare_evr(EVR.parse("1:1.0-1"), EVR.parse("9.9-9")) == 1
    assert compare_evr(EVR.parse("8.2.0-7.el9_4"), EVR.parse("8.2.0-11.el9_4")) == -1
    assert compare_evr(EVR.parse("8.2.0"), EVR.parse("8.2.0-11")) == 0   # missing release matches any
    assert EVR.parse("1.0-1") < EVR.parse("1.0-2") <= EVR.parse("1.0-2")


@pytest.mark.parametrize("text,expected", [
    ("kata-containers-3.7.0-2.rhaos4.16.el9.x86_64", ("kata-containers", 0, "3.7.0", "2.rhaos4.16.el9", "x86_64")),
    ("qemu-kvm-core-17:8.2.0-11.el9_4.x86_64", ("qemu-kvm-core", 17, "8.2.0", "11.el9_4", "x86_64")),
    ("ipxe-roms-qemu-20181214-8.git133f4c47.el8.noarch", ("ipxe-roms-qemu", 0, "20181214", "8.git133f4c47.el8", "noarch")),
    ("qemu-kvm-block-curl-4.2.0-59.module_el8.5.0+1063+c9b9feff.1.x86_64",
     ("qemu-kvm-block-curl", 0, "4.2.0", "59.module_el8.5.0+1063+c9b9feff.1", "x86_64")),
])
def test_nevra_parse_roundtrip(text, expected):
    n = NEVRA.parse(text)
    assert (n.name, n.epoch, n.version, n.release, n.arch) == expected
    assert str(n) == text


def test_nevra_from_flat_manifest_and_errors():
    assert str(NEVRA.from_evra("qemu-kvm-core", "17:8.2.0-11.el9_4.x86_64")) == "qemu-kvm-core-17:8.2.0-11.el9_4.x86_64"
    for bad in ("kata", "kata-1.0.x86_64", "kata-1.0-1", "-1.0-1.x86_64", "a b-1-1.x86_64"):
        with pytest.raises(ParseError):
            NEVRA.parse(bad)


def test_flags():
    assert parse_flags(">=") == RPMSENSE_GREATER | RPMSENSE_EQUAL
    assert parse_flags("GE") == parse_flags(">=")
    assert parse_flags(" = ") == RPMSENSE_EQUAL
    assert parse_flags("") == 0
    assert format_flags(parse_flags("<=")) == "<="
    for bad in ("<>", "x", "=>x"):
        with pytest.raises(ParseError):
            parse_flags(bad)


GE, LE, EQ, LT, GT = (parse_flags(x) for x in (">=", "<=", "=", "<", ">"))


@pytest.mark.parametrize("provide,req_flags,req,expected", [
    (None, GE, "9.0", True),                         # unversioned provide satisfies anything
    ("17:8.2.0-11.el9_4", 0, None, True),            # unversioned requirement
    ("17:8.2.0-11.el9_4", GE, "8.2.0-1", True),      # a higher epoch satisfies >= of an epoch-less requirement
    ("17:8.2.0-11.el9_4", LE, "8.2.0-1", False),
    ("0:8.2.0-11.el9_4", GE, "8.2.0-1", True),
    ("0:8.1.0-5.el9", GE, "8.2.0-1", False),
    ("17:8.2.0-11.el9_4", EQ, "17:8.2.0-11.el9_4", True),
    ("17:8.2.0-7.el9_4", EQ, "17:8.2.0-11.el9_4", False),
    ("17:8.2.0-7.el9_4", EQ, "17:8.2.0", True),      # release omitted in the requirement: any release
    ("17:8.2.0-7.el9_4", LT, "17:8.2.0", False),
    ("1.0-1", LT, "1.0-2", True),
    ("1.0-2", LE, "1.0-2", True),
    ("1.0-3", GT, "1.0-2", True),
    ("1.0-2", GT, "1.0-2", False),
])
def test_satisfies(provide, req_flags, req, expected):
    p = EVR.parse(provide) if provide else None
    r = EVR.parse(req) if req else None
    assert satisfies(p, req_flags, r) is expected


def test_ranges_overlap_between_two_ranges():
    assert ranges_overlap(EVR.parse("1.0"), GE, EVR.parse("2.0"), LE) is True
    assert ranges_overlap(EVR.parse("3.0"), GE, EVR.parse("2.0"), LE) is False
    assert ranges_overlap(EVR.parse("2.0"), LT, EVR.parse("2.0"), GT) is False
