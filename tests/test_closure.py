"""Closure of kata-containers over an installed rpmdb and over an extensions repo."""
import gzip
import os

import pytest

from kubectl_kata.core.closure import (BoolOp, Cond, PackageIndex, Pkg, Simple, compute_closure, expected_closure,
                                       installed_closure, parse_rich)
from kubectl_kata.core.nodefacts import parse_node_facts
from kubectl_kata.core.parse import ParseError
from kubectl_kata.core.parse.repodata import parse_primary
from kubectl_kata.core.parse.rpmdb import Dep
from kubectl_kata.core.rpm import EVR, NEVRA, parse_flags
from tests import nodesim

LAYERED = ["kata-containers", "qemu-kvm-core", "virtiofsd", "qemu-kvm-common", "pixman", "libslirp", "edk2-ovmf",
           "seabios-bin", "seavgabios-bin", "ipxe-roms-qemu"]
BASE = {"glibc", "bash", "libseccomp", "libcap-ng", "glib2", "kernel", "kernel-core", "dracut", "cri-o"}


def d(name, flags="", ver=""):
    return Dep(name, parse_flags(flags), EVR.parse(ver) if ver else None)


def pkg(nevra, requires=(), provides=(), files=()):
    return Pkg(NEVRA.parse(nevra), tuple(provides), tuple(requires), tuple(files))


# ------------------------------------------------------------------ rich dependency syntax

@pytest.mark.parametrize("text,expected", [
    ("(virtiofsd or qemu-virtiofsd)", BoolOp("or", (Simple(d("virtiofsd")), Simple(d("qemu-virtiofsd"))))),
    ("(a >= 1.0-1 and (b or c))", BoolOp("and", (Simple(d("a", ">=", "1.0-1")),
                                                 BoolOp("or", (Simple(d("b")), Simple(d("c"))))))),
    ("(a if b else c)", Cond("if", Simple(d("a")), Simple(d("b")), Simple(d("c")))),
    ("(a unless b)", Cond("unless", Simple(d("a")), Simple(d("b")))),
    ("(a with b with c)", BoolOp("with", (Simple(d("a")), Simple(d("b")), Simple(d("c"))))),
    ("(a without b)", BoolOp("without", (Simple(d("a")), Simple(d("b"))))),
    ("(libc.so.6(GLIBC_2.34)(64bit) or x)", BoolOp("or", (Simple(d("libc.so.6(GLIBC_2.34)(64bit)")), Simple(d("x"))))),
    ("((a or b) and c = 17:8.2.0)", BoolOp("and", (BoolOp("or", (Simple(d("a")), Simple(d("b")))),
                                                   Simple(d("c", "=", "17:8.2.0"))))),
    ("(a)", Simple(d("a"))),
])
def test_parse_rich(text, expected):
    assert parse_rich(text) == expected


@pytest.mark.parametrize("text", ["(a or b and c)", "(a or", "a or b", "(a without b without c)", "(a if)",
                                  "()", "(a >=)", "(a if b foo c)", "(a or b))", "(and b)", "(a xor b)",
                                  "(" * 40 + "a" + ")" * 40, "(a or " + "b or " * 2000 + "c)"])
def test_parse_rich_errors(text):
    with pytest.raises(ParseError):
        parse_rich(text)


# ------------------------------------------------------------------ rich dependency semantics

def _rich_index(*extra):
    base = [pkg("kata-containers-3.7.0-1.el9.x86_64", requires=list(extra))]
    return base


def test_or_takes_the_installed_alternative():
    pkgs = _rich_index(d("(virtiofsd or qemu-virtiofsd)")) + [pkg("qemu-virtiofsd-7.2.0-1.el9.x86_64")]
    c = installed_closure(PackageIndex(pkgs))
    assert c.complete and list(c.packages) == ["kata-containers", "qemu-virtiofsd"]
    c = installed_closure(PackageIndex(_rich_index(d("(virtiofsd or qemu-virtiofsd)"))))
    assert not c.complete and c.unsatisfied[0].requirement == "(virtiofsd or qemu-virtiofsd)"


def test_and_needs_all_and_versions_are_checked():
    pkgs = _rich_index(d("(qemu-kvm-core >= 8.2.0-1 and virtiofsd)")) + [
        pkg("qemu-kvm-core-17:8.2.0-11.el9_4.x86_64"), pkg("virtiofsd-1.10.1-1.el9.x86_64")]
    assert installed_closure(PackageIndex(pkgs)).complete
    old = _rich_index(d("(qemu-kvm-core >= 18:8.2.0 and virtiofsd)")) + pkgs[1:]
    assert not installed_closure(PackageIndex(old)).complete


def test_if_unless_else():
    q = pkg("qemu-kvm-core-17:8.2.0-11.el9_4.x86_64")
    ovmf = pkg("edk2-ovmf-20231122-6.el9_4.3.noarch")
    # (edk2-ovmf if qemu-kvm-core): qemu installed -> ovmf required
    c = installed_closure(PackageIndex(_rich_index(d("(edk2-ovmf if qemu-kvm-core)")) + [q]))
    assert not c.complete
    c = installed_closure(PackageIndex(_rich_index(d("(edk2-ovmf if qemu-kvm-core)")) + [q, ovmf]))
    assert c.complete and "edk2-ovmf" in c.packages
    # condition false -> nothing required
    assert installed_closure(PackageIndex(_rich_index(d("(edk2-ovmf if qemu-kiwi)")))).complete
    # else branch
    c = installed_closure(PackageIndex(_rich_index(d("(edk2-ovmf if qemu-kiwi else virtiofsd)"))))
    assert not c.complete
    # unless: required when the condition is absent
    assert not installed_closure(PackageIndex(_rich_index(d("(edk2-ovmf unless qemu-kvm-core)")))).complete
    assert installed_closure(PackageIndex(_rich_index(d("(edk2-ovmf unless qemu-kvm-core)")) + [q])).complete


def test_with_and_without_need_one_package():
    both = pkg("qemu-kvm-core-17:8.2.0-11.el9_4.x86_64", provides=[d("qemu-kvm-core", "=", "17:8.2.0-11.el9_4"),
                                                                     d("qemu(virtiofs)")])
    other = pkg("qemu-kiwi-15:5.2.0-16.el8.x86_64", provides=[d("qemu(virtiofs)")])
    ok = installed_closure(PackageIndex(_rich_index(d("(qemu-kvm-core with qemu(virtiofs))")) + [both]))
    assert ok.complete and "qemu-kvm-core" in ok.packages
    only_split = pkg("qemu-kvm-core-17:8.2.0-11.el9_4.x86_64")
    assert not installed_closure(PackageIndex(_rich_index(d("(qemu-kvm-core with qemu(virtiofs))"))
                                              + [only_split, other])).complete
    c = installed_closure(PackageIndex(_rich_index(d("(qemu(virtiofs) without qemu-kvm-core)")) + [both, other]))
    assert c.complete and "qemu-kiwi" in c.packages and "qemu-kvm-core" not in c.packages


def test_unparseable_rich_dep_is_reported_not_raised():
    c = installed_closure(PackageIndex(_rich_index(d("(a or b and c)"))))
    assert not c.complete and c.unsatisfied[0].reason.startswith("unparseable")


def test_missing_root_reported():
    c = installed_closure(PackageIndex([pkg("bash-5.1.8-9.el9.x86_64")]))
    assert c.missing_roots == ["kata-containers"] and not c.complete and not c.packages


# ------------------------------------------------------------------ installed rpmdb (nodesim)

def test_healthy_node_closure_with_and_without_base():
    facts = parse_node_facts(nodesim.make_node_raw("healthy"))
    c = installed_closure(facts.package_index())
    assert c.complete
    assert set(c.packages) == set(LAYERED) | (BASE - {"cri-o"})   # cri-o is not a dependency
    c = installed_closure(facts.package_index(), base=BASE)
    assert c.complete and list(c.packages)[0] == "kata-containers"
    assert set(c.packages) == set(LAYERED)
    assert c.base_reached == {"glibc", "bash", "dracut", "kernel", "libseccomp", "libcap-ng", "glib2"}


def test_file_requirement_resolved_through_file_provides():
    facts = parse_node_facts(nodesim.make_node_raw("healthy"))
    assert facts.file_owners["/bin/sh"] == ["bash"]
    c = installed_closure(facts.package_index())
    assert "bash" in c.packages
    facts.file_owners = {}
    c = installed_closure(facts.package_index())
    assert [u.requirement for u in c.unsatisfied] == ["/bin/sh"] * 4


@pytest.mark.parametrize("scenario,unsat", [
    ("closure-missing", [("qemu-kvm-core-17:8.2.0-11.el9_4.x86_64", "qemu-kvm-common = 17:8.2.0-11.el9_4")]),
    ("closure-missing-lib", [("qemu-kvm-core-17:8.2.0-11.el9_4.x86_64", "libpixman-1.so.0()(64bit)")]),
])
def test_broken_node_closure(scenario, unsat):
    c = installed_closure(parse_node_facts(nodesim.make_node_raw(scenario)).package_index(), base=BASE)
    assert [(u.package, u.requirement) for u in c.unsatisfied] == unsat


# ------------------------------------------------------------------ expected closure over the repo

def _repo_packages(tmp_path, **kw):
    info = nodesim.make_extensions_repo(str(tmp_path), **kw)
    with open(info["primary"], "rb") as fh:
        return parse_primary(fh.read()), info


@pytest.mark.parametrize("arch", ["x86_64", "s390x"])
def test_expected_closure_matches_repo_for_arch(tmp_path, arch):
    pkgs, info = _repo_packages(tmp_path, arch=arch)
    c = expected_closure(pkgs, arch)
    assert {n: str(v) for n, v in c.nevras().items()} == info["nevras"]
    # everything the repo does not carry is a base-OS capability
    assert {u.requirement for u in c.unsatisfied} >= {"/bin/sh", "dracut", "kernel", "libc.so.6()(64bit)"}
    assert all(u.reason.startswith("not in the repo") for u in c.unsatisfied)


def test_expected_closure_filters_other_arches(tmp_path):
    x86, _ = _repo_packages(tmp_path / "x")
    s390, _ = _repo_packages(tmp_path / "s", arch="s390x")
    c = expected_closure(x86 + s390, "s390x")
    assert {p.arch for p in c.packages.values()} == {"s390x"}
    assert "edk2-ovmf" not in c.packages


def test_expected_closure_reports_missing_rich_alternatives(tmp_path):
    pkgs, _ = _repo_packages(tmp_path, without=("virtiofsd",))
    c = expected_closure(pkgs, "x86_64")
    assert "(virtiofsd or qemu-virtiofsd)" in [u.requirement for u in c.unsatisfied]
    assert "virtiofsd" not in c.packages


def test_expected_closure_prefers_newest_build(tmp_path):
    pkgs, _ = _repo_packages(tmp_path)
    older = [p for p in pkgs if p.name == "qemu-kvm-core"][0]
    import copy
    old = copy.copy(older)
    old.release = "7.el9_4"
    c = expected_closure(pkgs + [old], "x86_64")
    assert str(c.packages["qemu-kvm-core"].nevra) == "qemu-kvm-core-17:8.2.0-11.el9_4.x86_64"
    # the older build listed first: keeping whichever build came first must fail here
    c = expected_closure([old] + pkgs, "x86_64")
    assert str(c.packages["qemu-kvm-core"].nevra) == "qemu-kvm-core-17:8.2.0-11.el9_4.x86_64"
    # and a newer build listed last wins over the one listed first
    newer = copy.copy(older)
    newer.release = "12.el9_4"
    c = expected_closure(pkgs + [newer], "x86_64")
    assert str(c.packages["qemu-kvm-core"].nevra) == "qemu-kvm-core-17:8.2.0-12.el9_4.x86_64"


def test_compute_closure_repo_mode_if_condition_uses_selected(tmp_path):
    a = pkg("kata-containers-3.7.0-1.el9.x86_64", requires=[d("(edk2-ovmf if qemu-kvm-core)"), d("qemu-kvm-core")])
    q = pkg("qemu-kvm-core-17:8.2.0-11.el9_4.x86_64")
    o = pkg("edk2-ovmf-20231122-6.el9_4.3.noarch")
    c = compute_closure(PackageIndex([a, q, o]), installed_mode=False)
    # the condition becomes true only after qemu-kvm-core is selected: still pulls ovmf
    assert set(c.packages) == {"kata-containers", "qemu-kvm-core", "edk2-ovmf"} and c.complete
    a2 = pkg("kata-containers-3.7.0-1.el9.x86_64", requires=[d("qemu-kvm-core"), d("(edk2-ovmf if qemu-kvm-core)")])
    c = compute_closure(PackageIndex([a2, q, o]), installed_mode=False)
    assert set(c.packages) == {"kata-containers", "qemu-kvm-core", "edk2-ovmf"}
    c = compute_closure(PackageIndex([a2, q]), installed_mode=False)
    assert [u.requirement for u in c.unsatisfied] == ["(edk2-ovmf if qemu-kvm-core)"]
    assert compute_closure(PackageIndex([pkg("kata-containers-3.7.0-1.el9.x86_64",
                                             requires=[d("(edk2-ovmf if qemu-kiwi)")])]), installed_mode=False).complete
