"""Release support tables (DOMAIN 1.1, 1.2, 1.3, 1.5, 4.3)."""
from __future__ import annotations

import pytest

from kubectl_kata.core import support


@pytest.mark.parametrize("text,expected", [
    ("4.16.3", (4, 16, 3)),
    ("4.18.0-rc.2", (4, 18, 0)),
    ("4.19.0-0.nightly-2025-03-04-123456", (4, 19, 0)),
    ("4.8", (4, 8, 0)),
    ("v4.14.30", (4, 14, 30)),
    (" 4.12.1 ", (4, 12, 1)),
    ("5.0.0-ec.1", (5, 0, 0)),
    ((4, 9), (4, 9, 0)),
    ((4, 9, 5), (4, 9, 5)),
])
def test_parse_ocp_version(text, expected):
    assert support.parse_ocp_version(text) == expected


@pytest.mark.parametrize("bad", ["", "four", "4", "4.x.1", "4.16.3 garbage", None, 4.16, (4,), (4, "16"), (True, 1)])
def test_parse_ocp_version_rejects_with_clear_error(bad):
    with pytest.raises(ValueError) as e:
        support.parse_ocp_version(bad)
    assert "version" in str(e.value)


# (version, names that must be accepted, names that must not)
EXTENSION_TABLE = [
    ("4.5.0", set(), {"usbguard", "sandboxed-containers"}),
    ("4.6.1", {"usbguard", "kernel-devel"}, {"sandboxed-containers"}),
    ("4.7.60", {"usbguard", "kernel-devel"}, {"sandboxed-containers", "kerberos"}),
    ("4.8.0", {"usbguard", "kernel-devel", "sandboxed-containers"}, {"kerberos"}),
    ("4.10.67", {"sandboxed-containers"}, {"kerberos", "wasm"}),
    ("4.11.0", {"sandboxed-containers", "kerberos"}, {"wasm", "ipsec"}),
    ("4.13.0", {"kerberos"}, {"wasm"}),
    ("4.14.0", {"wasm", "ipsec", "kerberos", "sandboxed-containers"}, {"sysstat"}),
    ("4.17.9", {"wasm", "ipsec"}, {"sysstat", "two-node-ha"}),
    ("4.18.0-rc.2", {"sysstat", "wasm"}, {"two-node-ha"}),
    ("4.19.0", {"two-node-ha", "sysstat", "wasm"}, set()),
    ("4.21.3", {"two-node-ha", "wasm"}, set()),
    ("4.22.0", {"two-node-ha", "ipsec", "sandboxed-containers"}, {"wasm"}),
    ("4.23.0", {"sandboxed-containers", "ipsec"}, {"wasm"}),
    ("5.0.0", {"sandboxed-containers"}, {"wasm"}),
]


@pytest.mark.parametrize("ver,present,absent", EXTENSION_TABLE)
def test_supported_extensions_table(ver, present, absent):
    names = support.supported_extensions(ver)
    assert present <= names
    assert not (absent & names)


def test_full_sets_at_table_boundaries():
    assert support.supported_extensions("4.7.0") == {"usbguard", "kernel-devel"}
    assert support.supported_extensions("4.18.1") == {"usbguard", "kernel-devel", "sandboxed-containers",
                                                      "kerberos", "wasm", "ipsec", "sysstat"}
    assert support.supported_extensions("4.22.1") == {"usbguard", "kernel-devel", "sandboxed-containers",
                                                      "kerberos", "ipsec", "sysstat", "two-node-ha"}


@pytest.mark.parametrize("ver,ok", [("4.7.60", False), ("4.8.0", True), ("4.8.0-rc.3", True), ("4.16.3", True),
                                    ("3.11.0", False), ("5.0.0", True)])
def test_extension_supported(ver, ok):
    assert support.extension_supported(ver) is ok


@pytest.mark.parametrize("ver,arch,ok", [
    ("4.8.0", "amd64", True), ("4.7.0", "amd64", False), ("4.8.0", "x86_64", True),
    ("4.13.9", "s390x", False), ("4.14.0", "s390x", True), ("4.19.1", "s390x", True),
    ("4.16.3", "arm64", False), ("4.16.3", "aarch64", False), ("4.16.3", "ppc64le", False),
    ("4.16.3", "", False), ("4.16.3", "AMD64", True), ("4.16.3", "riscv64", False),
])
def test_arch_supported(ver, arch, ok):
    assert support.arch_supported(ver, arch) is ok


def test_supported_arches():
    assert support.supported_arches("4.10.0") == ["amd64"]
    assert support.supported_arches("4.14.0") == ["amd64", "s390x"]
    assert support.supported_arches("4.7.0") == []


@pytest.mark.parametrize("ver,ok", [("4.15.30", False), ("4.16.0", True), ("4.19.2", True), ("4.8.0", False)])
def test_render_time_validation(ver, ok):
    assert support.render_time_validation(ver) is ok


@pytest.mark.parametrize("ver,binary,package", [
    ("4.8.0", "/usr/libexec/qemu-kiwi", "qemu-kiwi"),
    ("4.10.67", "/usr/libexec/qemu-kiwi", "qemu-kiwi"),
    ("4.11.0", "/usr/libexec/qemu-kvm", "qemu-kvm-core"),
    ("4.16.3", "/usr/libexec/qemu-kvm", "qemu-kvm-core"),
])
def test_qemu_binary(ver, binary, package):
    assert support.qemu_binary_for(ver) == binary
    assert support.qemu_package_for(ver) == package


@pytest.mark.parametrize("ver,tags,path,in_os", [
    ("4.8.0", ("machine-os-content",), "/extensions/", True),
    ("4.11.59", ("machine-os-content",), "/extensions/", True),
    ("4.12.0", ("rhel-coreos-8-extensions",), "/usr/share/rpm-ostree/extensions/", False),
    ("4.13.0", ("rhel-coreos-extensions",), "/usr/share/rpm-ostree/extensions/", False),
    ("4.20.5", ("rhel-coreos-extensions",), "/usr/share/rpm-ostree/extensions/", False),
    ("4.21.0", ("rhel-coreos-extensions", "rhel-coreos-10-extensions"), "/usr/share/rpm-ostree/extensions/", False),
])
def test_extensions_image_source(ver, tags, path, in_os):
    src = support.extensions_image_source(ver)
    assert src.tags == tags
    assert src.repo_path == path
    assert src.in_os_image is in_os
    assert len(src.os_tags) == len(src.tags)


def test_functions_raise_value_error_on_garbage():
    for fn in (support.supported_extensions, support.extension_supported, support.render_time_validation,
               support.qemu_binary_for, support.extensions_image_source):
        with pytest.raises(ValueError):
            fn("latest")
    with pytest.raises(ValueError):
        support.arch_supported("latest", "amd64")
