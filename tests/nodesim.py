"""Node probe simulator: realistic raw outputs of the doctor's node collection, per scenario.

Derived from (see shared/reference/PROVENANCE.md and DOMAIN.md):
- ``rpm-ostree status --json``: the FCOS samples ``rpm-ostree-status.rpmostree-client-go.fcos-container-status.json``
  (staged-before-booted ordering, key set) and ``...fcos-with-overrides-status.json`` (layered: ``requested-packages``,
  ``packages``, ``base-checksum``, ``layered-commit-meta``), adapted to the RHCOS 4.12+ shape of DOMAIN 4.1
  (``container-image-reference: ostree-unverified-registry:quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:...``,
  ``version: 416.94.<timestamp>-0``, osname ``rhcos``, no Zincati update driver).
- rpm NEVRAs: ``rpm-qa-qemu.el8-host.capture.txt`` (qemu-kvm family naming) moved to el9 per DOMAIN 4.4/4.5
  (``kata-containers-<v>-<r>.rhaos4.16.el9``, ``qemu-kvm-core-17:8.2.0-11.el9_4``); dependency shapes per DOMAIN 4.5
  (kata Requires ``qemu-kvm-core >= 8.2.0-1`` and the rich dep ``(virtiofsd or qemu-virtiofsd)``; qemu-kvm-core
  Requires ``qemu-kvm-common = E:V-R``, edk2-ovmf and soname deps; qemu-kvm-common Requires seabios-bin,
  seavgabios-bin, ipxe-roms-qemu). Exact z-stream numbers are illustrative, not from a real RHCOS build.
- query formats exactly as the probe runs them (DOMAIN 4.6): ``rpm -qa --qf`` with ``(none)`` epochs, PROVIDE*/REQUIRE*
  with ``depflags``, ``rpm -V`` mismatch lines.
- ``kata-runtime``/shim/``kata-monitor --version``: DOMAIN 4.4 formats; kata-monitor block from
  ``rpm-qa-qemu.el8-host.capture.txt``. ``kata-runtime env --json`` keys per DOMAIN 4.2.
- CRI-O drop-ins: ``crio-50-kata.rpm-dropin.capture-ocp4.9.toml`` and ``legacy-crio-50-kata.conf.osc-release-4.6.toml``;
  legacy paths and the "Hacky service" unit from DOMAIN 5 / ``legacy-kata-operator-node.capture-ocp4.5.txt``.
- osbuilder image layout from ``legacy-kata-operator-node.capture-ocp4.5.txt`` (``osbuilder-images/<kver>/"rhcos"-kata-<kver>.initrd``).
- extensions repo: createrepo_c layout (``repodata/repomd.xml`` -> gzip ``primary.xml``) and the flat
  ``extensions.json`` ``{"name": "evr.arch"}`` of DOMAIN 1.6.
- release "4.10" (RHEL 8.4 advanced-virt era, DOMAIN 1.2/4.3): the 9-RPM set of
  ``sandboxed-containers-extension-rpm-set.ocp4.8.md`` (kata-containers, qemu-kiwi, qemu-kvm-common, ipxe-roms-qemu,
  libpmem, pixman, seabios-bin, seavgabios-bin, sgabios-bin), QEMU at ``/usr/libexec/qemu-kiwi``
  (``qemu-processes.capture-ocp4.9.txt``), kata 2.x whose shim prints no ``(Golang)`` (DOMAIN 4.4), and an
  rpm-ostree deployment with ``custom-origin: ["pivot://<machine-os-content>", "Managed by machine-config-operator"]``
  instead of ``container-image-reference`` (DOMAIN 4.1). Its z-stream numbers are illustrative as well.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import os
from typing import Dict, Iterable, List, Optional, Tuple
from xml.sax.saxutils import quoteattr

from kubectl_kata.core.nodefacts import PROBED_PATHS, RawResult

SCENARIOS = ("healthy", "closure-missing", "closure-missing-lib", "version-skew", "legacy-leftovers",
             "staged-pending", "no-kvm", "modified-binary", "legacy-layered", "not-enabled")

# per release: RHEL minor, kata NVR, qemu EVR, kernel, RHCOS build, kata's qemu floor
RELEASES = {
    "4.10": {"rhel": "8.4", "kata": ("2.3.3", "2.el8"), "qemu": (15, "5.2.0", "16.module+el8.4.0+13460+2e130eec.13"),
             "qemu_floor": "5.1.0", "kernel": "4.18.0-305.40.2.el8_4", "rhcos": "410.84.202205191234-0",
             "qemu_pkg": "qemu-kiwi", "pixman": ("0.38.4", "1.el8"), "libpmem": ("1.6.1", "1.el8"),
             "glibc": ("2.28", "151.el8"), "seabios": ("1.14.0", "1.module+el8.4.0+8855+a9e237a9"),
             "sgabios": (1, "0.20170427git", "3.module+el8.4.0+8855+a9e237a9"),
             "ipxe": ("20181214", "8.git133f4c47.el8")},
    "4.14": {"rhel": "9.2", "kata": ("3.1.3", "4.rhaos4.14.el9"), "qemu": (17, "7.2.0", "14.el9_2.5"),
             "qemu_floor": "7.2.0-1", "kernel": "5.14.0-284.52.1.el9_2", "rhcos": "414.92.202402130420-0",
             "virtiofsd": ("1.5.0", "1.el9"), "edk2": ("20221207gitfff6d81270b5", "9.el9_2"),
             "pixman": ("0.40.0", "5.el9"), "libslirp": ("4.4.0", "7.el9"), "glibc": ("2.34", "60.el9_2.7")},
    "4.16": {"rhel": "9.4", "kata": ("3.7.0", "2.rhaos4.16.el9"), "qemu": (17, "8.2.0", "11.el9_4"),
             "qemu_floor": "8.2.0-1", "kernel": "5.14.0-427.40.1.el9_4", "rhcos": "416.94.202410211619-0",
             "virtiofsd": ("1.10.1", "1.el9"), "edk2": ("20231122", "6.el9_4.3"),
             "pixman": ("0.40.0", "6.el9_3"), "libslirp": ("4.4.0", "8.el9"), "glibc": ("2.34", "100.el9_4.4")},
}
SKEW_QEMU_RELEASE = {"4.16": "7.el9_4", "4.14": "9.el9_2.1", "4.10": "16.module+el8.4.0+12596+209e4022.10"}   # an older z-stream build of the same qemu

SHIM_COMMIT = "6ac2e8b2a1d5e1c2f9f3d2a1b8c7e6f5a4b3c2d1"
MONITOR_BLOCK = "kata-monitor\n Version:\t0.3.0\n Go version:\tgo1.22.2\n Git commit:\t%s\n OS/Arch:\tlinux/%s\n"

CRIO_DROPIN = """[crio.runtime.runtimes.kata]
  runtime_path = "/usr/bin/containerd-shim-kata-v2"
  runtime_type = "vm"
  runtime_root = "/run/vc"
  privileged_without_host_devices = true
"""

LEGACY_CRIO_CONF = """[crio.runtime]
  manage_ns_lifecycle = true

[crio.runtime.runtimes.kata]
  runtime_path = "/usr/bin/containerd-shim-kata-v2"
  runtime_type = "vm"
  runtime_root = "/run/vc"
  
[crio.runtime.runtimes.runc]
  runtime_path = ""
  runtime_type = "oci"
  runtime_root = "/run/runc"
"""

CPU_FLAGS = {
    "x86_64": "flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush dts acpi "
              "mmx fxsr sse sse2 ss ht tm pbe syscall nx pdpe1gb rdtscp lm constant_tsc arch_perfmon pebs bts "
              "rep_good nopl xtopology nonstop_tsc cpuid aperfmperf pni pclmulqdq dtes64 monitor ds_cpl vmx smx "
              "est tm2 ssse3 sdbg fma cx16 xtpr pdcm pcid dca sse4_1 sse4_2 x2apic movbe popcnt aes xsave avx "
              "f16c rdrand lahf_lm abm 3dnowprefetch cpuid_fault epb invpcid_single ssbd ibrs ibpb stibp "
              "tpr_shadow vnmi flexpriority ept vpid ept_ad fsgsbase tsc_adjust bmi1 avx2 smep bmi2 erms invpcid "
              "rdseed adx smap clflushopt xsaveopt xsavec xgetbv1 xsaves dtherm ida arat pln pts md_clear flush_l1d",
    "s390x": "features\t: esan3 zarch stfle msa ldisp eimm dfp edat etf3eh highgprs te vx vxd vxe gs vxe2 vxp sort "
             "dflt sie",
    "aarch64": "Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc "
               "dcpop asimddp ssbs",
}
# a VM without nested virtualization: hypervisor flag, no vmx/svm
CPU_FLAGS_NO_VIRT = ("flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx "
                     "fxsr sse sse2 ss syscall nx pdpe1gb rdtscp lm constant_tsc rep_good nopl xtopology nonstop_tsc "
                     "cpuid tsc_known_freq pni pclmulqdq ssse3 fma cx16 pcid sse4_1 sse4_2 x2apic movbe popcnt aes "
                     "xsave avx f16c rdrand hypervisor lahf_lm abm 3dnowprefetch invpcid_single ssbd ibrs ibpb stibp "
                     "fsgsbase bmi1 avx2 smep bmi2 erms invpcid rdseed adx smap xsaveopt arat md_clear arch_capabilities")

# ----------------------------------------------------------------------------- package model
# dep tuple: (name, depflags, version) with depflags as rpm's :depflags formatter prints it ("", "=", ">=", ...)
Dep = Tuple[str, str, str]


class SimPkg:
    def __init__(self, name: str, epoch: int, version: str, release: str, arch: str,
                 requires: Iterable[Dep] = (), provides: Iterable[Dep] = (), files: Iterable[str] = (),
                 in_repo: bool = True):
        self.name, self.epoch, self.version, self.release, self.arch = name, epoch, version, release, arch
        self.requires = list(requires)
        self.files = list(files)
        self.in_repo = in_repo
        evr = self.evr_full
        own = [(name, "=", evr)]
        if arch != "noarch":
            own.append(("%s(%s)" % (name, arch.replace("_", "-")), "=", evr))
        self.provides = own + list(provides)

    @property
    def evr_full(self) -> str:   # as rpm prints PROVIDEVERSION: epoch only when set
        return ("%d:" % self.epoch if self.epoch else "") + "%s-%s" % (self.version, self.release)

    @property
    def evra(self) -> str:       # %{evr}.%{arch} as in extensions.json
        return "%s.%s" % (self.evr_full, self.arch)

    @property
    def nevra(self) -> str:
        return "%s-%s" % (self.name, self.evra)


def _libc(arch: str) -> List[Dep]:
    if arch == "x86_64":
        return [("libc.so.6()(64bit)", "", ""), ("libc.so.6(GLIBC_2.34)(64bit)", "", ""), ("rtld(GNU_HASH)", "", "")]
    return [("libc.so.6()(64bit)", "", ""), ("libc.so.6(GLIBC_2.34)(64bit)", "", "")]


def libc_req(arch: str) -> List[Dep]:
    return _libc(arch)


def package_set(release: str = "4.16", arch: str = "x86_64", *, qemu_release: Optional[str] = None) -> List[SimPkg]:
    """Installed packages of a node with the extension: layered closure (in_repo) + a few base packages."""
    if release not in RELEASES:
        raise ValueError("nodesim knows releases %s, not %r" % (", ".join(sorted(RELEASES)), release))
    if arch not in ("x86_64", "s390x", "aarch64"):
        raise ValueError("nodesim supports x86_64, s390x and aarch64, not %r" % arch)
    r = RELEASES[release]
    qe, qv, qr = r["qemu"]
    qr = qemu_release or qr
    qevr = "%d:%s-%s" % (qe, qv, qr)
    kv, kr = r["kata"]
    libc = _libc(arch)
    kernel_v, kernel_r = r["kernel"].split("-", 1)
    if r.get("qemu_pkg") == "qemu-kiwi":
        return _package_set_kiwi(r, arch, qe, qv, qr, qevr, libc)
    pk = [
        SimPkg("kata-containers", 0, kv, kr, arch,
               requires=[("/bin/sh", "", ""), ("rpmlib(CompressedFileNames)", "<=", "3.0.4-1"),
                         ("rpmlib(PayloadFilesHavePrefix)", "<=", "4.0-1"),
                         ("config(kata-containers)", "=", "%s-%s" % (kv, kr)),
                         ("qemu-kvm-core", ">=", r["qemu_floor"]), ("(virtiofsd or qemu-virtiofsd)", "", ""),
                         ("dracut", "", ""), ("kernel", "", "")] + libc,
               provides=[("config(kata-containers)", "=", "%s-%s" % (kv, kr))],
               files=["/etc/crio/crio.conf.d/50-kata", "/usr/bin/containerd-shim-kata-v2", "/usr/bin/kata-collect-data.sh",
                      "/usr/bin/kata-monitor", "/usr/bin/kata-runtime"]),
        SimPkg("qemu-kvm-core", qe, qv, qr, arch,
               requires=[("qemu-kvm-common", "=", qevr), ("libseccomp.so.2()(64bit)", "", ""),
                         ("libpixman-1.so.0()(64bit)", "", ""), ("libslirp.so.0()(64bit)", "", ""),
                         ("libslirp.so.0(SLIRP_4.0)(64bit)", "", ""), ("libglib-2.0.so.0()(64bit)", "", "")]
               + ([("edk2-ovmf", "", "")] if arch == "x86_64" else [])
               + ([("edk2-aarch64", "", "")] if arch == "aarch64" else []) + libc,
               files=["/usr/libexec/qemu-kvm"]),
        SimPkg("qemu-kvm-common", qe, qv, qr, arch,
               requires=[("/bin/sh", "", ""), ("rpmlib(FileDigests)", "<=", "4.6.0-1")]
               + ([("seabios-bin", "", ""), ("seavgabios-bin", "", ""), ("ipxe-roms-qemu", "", "")]
                  if arch == "x86_64" else []) + libc),
        SimPkg("virtiofsd", 0, r["virtiofsd"][0], r["virtiofsd"][1], arch,
               requires=[("libseccomp.so.2()(64bit)", "", ""), ("libcap-ng.so.0()(64bit)", "", "")] + libc,
               files=["/usr/libexec/virtiofsd"]),
        SimPkg("pixman", 0, r["pixman"][0], r["pixman"][1], arch,
               provides=[("libpixman-1.so.0()(64bit)", "", "")], requires=libc),
        SimPkg("libslirp", 0, r["libslirp"][0], r["libslirp"][1], arch,
               provides=[("libslirp.so.0()(64bit)", "", ""), ("libslirp.so.0(SLIRP_4.0)(64bit)", "", "")],
               requires=[("libglib-2.0.so.0()(64bit)", "", "")] + libc),
    ]
    if arch == "x86_64":
        pk += [
            SimPkg("edk2-ovmf", 0, r["edk2"][0], r["edk2"][1], "noarch"),
            SimPkg("seabios-bin", 0, "1.16.3", "2.el9", "noarch"),
            SimPkg("seavgabios-bin", 0, "1.16.3", "2.el9", "noarch"),
            SimPkg("ipxe-roms-qemu", 0, "20200823", "9.git4bd064de.el9", "noarch"),
        ]
    if arch == "aarch64":
        pk.append(SimPkg("edk2-aarch64", 0, r["edk2"][0], r["edk2"][1], "noarch"))
    glibc_v, glibc_r = r["glibc"]
    pk += [
        SimPkg("glibc", 0, glibc_v, glibc_r, arch, provides=[(n, "", "") for n, _, _ in libc], in_repo=False),
        SimPkg("bash", 0, "5.1.8", "9.el9", arch, requires=libc, files=["/bin/sh", "/usr/bin/bash"], in_repo=False),
        SimPkg("libseccomp", 0, "2.5.2", "2.el9", arch, provides=[("libseccomp.so.2()(64bit)", "", "")],
               requires=libc, in_repo=False),
        SimPkg("libcap-ng", 0, "0.8.2", "7.el9", arch, provides=[("libcap-ng.so.0()(64bit)", "", "")],
               requires=libc, in_repo=False),
        SimPkg("glib2", 0, "2.68.4", "14.el9_4.1", arch, provides=[("libglib-2.0.so.0()(64bit)", "", "")],
               requires=libc, in_repo=False),
        SimPkg("kernel", 0, kernel_v, kernel_r, arch, requires=[("kernel-core", "=", r["kernel"])], in_repo=False),
        SimPkg("kernel-core", 0, kernel_v, kernel_r, arch, requires=[("/bin/sh", "", "")], in_repo=False),
        SimPkg("dracut", 0, "057", "53.git20240104.el9", arch, requires=[("/bin/sh", "", "")] + libc, in_repo=False),
        SimPkg("cri-o", 0, "1.29.9", "5.rhaos4.16.git2b7ed5c.el9", arch, requires=libc, in_repo=False),
    ]
    return pk


def _package_set_kiwi(r, arch, qe, qv, qr, qevr, libc) -> List[SimPkg]:
    """OCP 4.8-4.10 (RHEL 8.4 AV): kata 2.x pulls qemu-kiwi; virtiofsd ships in qemu-kvm-common; x86_64 only."""
    if arch != "x86_64":
        raise ValueError("the 4.8-4.10 extension exists for x86_64 only (DOMAIN 1.2), not %r" % arch)
    kv, kr = r["kata"]
    kernel_v, kernel_r = r["kernel"].split("-", 1)
    sb_v, sb_r = r["seabios"]
    sg_e, sg_v, sg_r = r["sgabios"]
    pk = [
        SimPkg("kata-containers", 0, kv, kr, arch,
               requires=[("/bin/sh", "", ""), ("rpmlib(CompressedFileNames)", "<=", "3.0.4-1"),
                         ("rpmlib(PayloadFilesHavePrefix)", "<=", "4.0-1"),
                         ("config(kata-containers)", "=", "%s-%s" % (kv, kr)),
                         ("qemu-kiwi", ">=", r["qemu_floor"]), ("dracut", "", ""), ("kernel", "", "")] + libc,
               provides=[("config(kata-containers)", "=", "%s-%s" % (kv, kr))],
               files=["/etc/crio/crio.conf.d/50-kata", "/usr/bin/containerd-shim-kata-v2", "/usr/bin/kata-collect-data.sh",
                      "/usr/bin/kata-monitor", "/usr/bin/kata-runtime"]),
        SimPkg("qemu-kiwi", qe, qv, qr, arch,
               requires=[("qemu-kvm-common", "=", qevr), ("libpmem.so.1()(64bit)", "", ""),
                         ("libpixman-1.so.0()(64bit)", "", ""), ("libseccomp.so.2()(64bit)", "", ""),
                         ("libglib-2.0.so.0()(64bit)", "", "")] + libc,
               files=["/usr/libexec/qemu-kiwi"]),
        SimPkg("qemu-kvm-common", qe, qv, qr, arch,
               requires=[("/bin/sh", "", ""), ("rpmlib(FileDigests)", "<=", "4.6.0-1"), ("seabios-bin", "", ""),
                         ("seavgabios-bin", "", ""), ("sgabios-bin", "", ""), ("ipxe-roms-qemu", "", "")] + libc,
               files=["/usr/libexec/virtiofsd"]),
        SimPkg("libpmem", 0, r["libpmem"][0], r["libpmem"][1], arch,
               provides=[("libpmem.so.1()(64bit)", "", "")], requires=libc),
        SimPkg("pixman", 0, r["pixman"][0], r["pixman"][1], arch,
               provides=[("libpixman-1.so.0()(64bit)", "", "")], requires=libc),
        SimPkg("seabios-bin", 0, sb_v, sb_r, "noarch"),
        SimPkg("seavgabios-bin", 0, sb_v, sb_r, "noarch"),
        SimPkg("sgabios-bin", sg_e, sg_v, sg_r, "noarch"),
        SimPkg("ipxe-roms-qemu", 0, r["ipxe"][0], r["ipxe"][1], "noarch"),
    ]
    glibc_v, glibc_r = r["glibc"]
    pk += [
        SimPkg("glibc", 0, glibc_v, glibc_r, arch, provides=[(n, "", "") for n, _, _ in libc], in_repo=False),
        SimPkg("bash", 0, "4.4.20", "1.el8_4", arch, requires=libc, files=["/bin/sh", "/usr/bin/bash"], in_repo=False),
        SimPkg("libseccomp", 0, "2.5.1", "1.el8", arch, provides=[("libseccomp.so.2()(64bit)", "", "")],
               requires=libc, in_repo=False),
        SimPkg("glib2", 0, "2.56.4", "10.el8_4", arch, provides=[("libglib-2.0.so.0()(64bit)", "", "")],
               requires=libc, in_repo=False),
        SimPkg("kernel", 0, kernel_v, kernel_r, arch, requires=[("kernel-core", "=", r["kernel"])], in_repo=False),
        SimPkg("kernel-core", 0, kernel_v, kernel_r, arch, requires=[("/bin/sh", "", "")], in_repo=False),
        SimPkg("dracut", 0, "049", "135.git20210121.el8", arch, requires=[("/bin/sh", "", "")] + libc, in_repo=False),
        SimPkg("cri-o", 0, "1.23.2", "12.rhaos4.10.git5fe1720.el8", arch, requires=libc, in_repo=False),
    ]
    return pk


def expected_nevras(release: str = "4.16", arch: str = "x86_64") -> Dict[str, str]:
    """NEVRA strings of the extension closure a healthy node has (= the repo content)."""
    return {p.name: p.nevra for p in package_set(release, arch) if p.in_repo}


# ----------------------------------------------------------------------------- raw output renderers

def _digest(seed: str) -> str:
    return "sha256:" + hashlib.sha256(seed.encode()).hexdigest()


def os_image_url(release: str = "4.16", generation: int = 0) -> str:
    """Rendered osImageURL for the release; generation 1 = the next z-stream image."""
    return "quay.io/openshift-release-dev/ocp-v4.0-art-dev@" + _digest("rhcos-%s-%d" % (release, generation))


def scenario_context(scenario: str = "healthy", release: str = "4.16") -> Dict[str, object]:
    """NodeContext keyword values that go with ``make_node_raw(scenario, release=...)``."""
    gen = 1 if scenario == "staged-pending" else 0
    return {"release": release, "os_image_url": os_image_url(release, gen),
            "extension_requested": scenario != "not-enabled"}


def _deployment(release: str, arch: str, *, booted: bool, staged: bool, generation: int,
                requested: List[str]) -> dict:
    r = RELEASES[release]
    digest = _digest("rhcos-%s-%d" % (release, generation))
    version = r["rhcos"] if generation == 0 else r["rhcos"].replace("-0", "-%d" % generation)
    base_checksum = hashlib.sha256(("base-%s-%d" % (release, generation)).encode()).hexdigest()
    checksum = hashlib.sha256(("layer-%s-%d-%s" % (release, generation, ",".join(requested))).encode()).hexdigest()
    d = {
        "unlocked": "none",
        "requested-local-packages": [],
        "base-removals": [],
        "requested-modules": [],
        "requested-modules-enabled": [],
        "pinned": False,
        "osname": "rhcos",
        "base-remote-replacements": {},
        "regenerate-initramfs": False,
        "checksum": checksum if requested else base_checksum,
        "container-image-reference-digest": digest,
        "requested-base-local-replacements": [],
        "id": "rhcos-%s.0" % (checksum if requested else base_checksum),
        "version": version,
        "modules": [],
        "requested-local-fileoverride-packages": [],
        "requested-base-removals": [],
        "requested-packages": list(requested),
        "serial": 0,
        "timestamp": 1729527600 + generation * 86400,
        "booted": booted,
        "container-image-reference":
            "ostree-unverified-registry:quay.io/openshift-release-dev/ocp-v4.0-art-dev@" + digest,
        "packages": list(requested),
        "base-local-replacements": [],
    }
    if _old_os(release):   # RHCOS <= 4.11: pivot from machine-os-content (DOMAIN 4.1)
        del d["container-image-reference"], d["container-image-reference-digest"]
        d["custom-origin"] = ["pivot://quay.io/openshift-release-dev/ocp-v4.0-art-dev@" + digest,
                              "Managed by machine-config-operator"]
    if staged:   # the key is absent in some outputs (DOMAIN 4.1): only emit it when true
        d["staged"] = True
    if requested:
        d.update({
            "base-checksum": base_checksum,
            "base-version": version,
            "base-timestamp": d["timestamp"] - 3600,
            "base-commit-meta": {"coreos-assembler.basearch": arch, "ostree.bootable": True, "version": version,
                                 "ostree.linux": "%s.%s" % (r["kernel"], arch)},
            "layered-commit-meta": {"rpmostree.clientlayer": True, "version": version,
                                    "rpmostree.clientlayer_version": 6, "ostree.bootable": True,
                                    "ostree.linux": "%s.%s" % (r["kernel"], arch), "rpmostree.rpmmd-repos": []},
        })
    return d


def render_rpm_ostree_status(release: str, arch: str, deployments: List[dict]) -> bytes:
    doc = {"deployments": deployments, "transaction": None, "cached-update": None, "update-driver": None}
    return (json.dumps(doc, indent=2) + "\n").encode()


def render_rpm_qa(pkgs: Iterable[SimPkg]) -> bytes:
    lines = ["%s\t%s\t%s\t%s\t%s" % (p.name, p.epoch if p.epoch else "(none)", p.version, p.release, p.arch)
             for p in pkgs]
    return ("\n".join(lines) + "\n").encode()


def render_deps(pkgs: Iterable[SimPkg], kind: str) -> bytes:
    lines = []
    for p in pkgs:
        for name, flags, ver in (p.provides if kind == "provides" else p.requires):
            lines.append("%s\t%s\t%s\t%s\t%s" % (p.name, p.arch, name, flags, ver))
    return ("\n".join(lines) + "\n").encode()


def render_file_provides(pkgs: List[SimPkg]) -> bytes:
    wanted = sorted({n for p in pkgs for n, _, _ in p.requires if n.startswith("/")})
    lines = []
    for path in wanted:
        owners = [p.name for p in pkgs if path in p.files]
        lines.append("%s\t%s" % (path, owners[0] if owners else ""))
    return ("\n".join(lines) + "\n").encode()


def _old_os(release: str) -> bool:
    return tuple(int(x) for x in release.split(".")[:2]) <= (4, 11)


def os_release_text(release: str) -> str:
    r = RELEASES[release]
    el = r["rhel"].split(".")[0]
    return (
        'NAME="Red Hat Enterprise Linux CoreOS"\nID="rhcos"\nID_LIKE="rhel fedora"\nVERSION="%(b)s"\n'
        'VERSION_ID="%(rel)s"\nVARIANT="CoreOS"\nVARIANT_ID=coreos\nPLATFORM_ID="platform:el%(el)s"\n'
        'PRETTY_NAME="Red Hat Enterprise Linux CoreOS %(b)s"\nANSI_COLOR="0;31"\n'
        'CPE_NAME="cpe:/o:redhat:enterprise_linux:%(el)s::coreos"\nHOME_URL="https://www.redhat.com/"\n'
        'BUG_REPORT_URL="https://issues.redhat.com/"\nREDHAT_BUGZILLA_PRODUCT="OpenShift Container Platform"\n'
        'REDHAT_BUGZILLA_PRODUCT_VERSION="%(rel)s"\nREDHAT_SUPPORT_PRODUCT="OpenShift Container Platform"\n'
        'REDHAT_SUPPORT_PRODUCT_VERSION="%(rel)s"\nOPENSHIFT_VERSION="%(rel)s"\nRHEL_VERSION="%(rhel)s"\n'
        'OSTREE_VERSION="%(b)s"\n' % {"b": r["rhcos"], "rel": release, "rhel": r["rhel"], "el": el})


def qemu_binary(release: str) -> str:
    """DOMAIN 4.3: qemu-kiwi on 4.8-4.10, qemu-kvm later."""
    return "/usr/libexec/qemu-kiwi" if RELEASES[release].get("qemu_pkg") == "qemu-kiwi" else "/usr/libexec/qemu-kvm"


def kata_env_json(release: str, arch: str) -> bytes:
    r = RELEASES[release]
    qe, qv, qr = r["qemu"]
    doc = {
        "Kernel": {"Path": "/var/cache/kata-containers/vmlinuz.container", "Parameters": "scsi_mod.scan=none"},
        "Meta": {"Version": "1.0.27"},
        "Image": {"Path": ""},
        "Initrd": {"Path": "/var/cache/kata-containers/kata-containers-initrd.img"},
        "Hypervisor": {"MachineType": "q35" if arch == "x86_64" else "s390-ccw-virtio",
                       "Version": "QEMU emulator version %s (qemu-kvm-%s-%s)\nCopyright (c) 2003-2023 Fabrice "
                                  "Bellard and the QEMU Project developers" % (qv, qv, qr),
                       "Path": qemu_binary(release), "BlockDeviceDriver": "virtio-scsi",
                       "EntropySource": "/dev/urandom", "SharedFS": "virtio-fs",
                       "VirtioFSDaemon": "/usr/libexec/virtiofsd", "SocketPath": "", "Msize9p": 8192,
                       "MemorySlots": 10, "HotPlugVFIO": "no-port", "ColdPlugVFIO": "no-port", "Debug": False},
        "Runtime": {"Path": "/usr/bin/kata-runtime", "Debug": False, "Trace": False,
                    "DisableGuestSeccomp": True, "DisableNewNetNs": False, "SandboxCgroupOnly": True,
                    "Experimental": [],
                    "Config": {"Path": "/usr/share/kata-containers/defaults/configuration.toml"},
                    "Version": {"OCI": "1.1.0+dev",
                                "Version": {"Semver": r["kata"][0], "Commit": SHIM_COMMIT,
                                            "Major": int(r["kata"][0].split(".")[0]),
                                            "Minor": int(r["kata"][0].split(".")[1]),
                                            "Patch": int(r["kata"][0].split(".")[2])}}},
        "Host": {"Kernel": "%s.%s" % (r["kernel"], arch), "Architecture": {"x86_64": "amd64"}.get(arch, arch),
                 "VMContainerCapable": True, "SupportVSocks": True},
        "Agent": {"Debug": False, "Trace": False},
    }
    return (json.dumps(doc, indent=2) + "\n").encode()


def _ok(text) -> RawResult:
    return RawResult(text if isinstance(text, bytes) else text.encode(), b"", 0)


def render_db_list(deployments: List[dict], base_pkgs: List[SimPkg]) -> bytes:
    """``rpm-ostree db list <base-checksum>`` once per base commit: an ``ostree commit: <checksum>`` header (the rev
    given is the checksum itself) and one `` <nevra>`` line per package (rpm-ostree
    ``src/app/rpmostree-db-builtin-list.cxx``)."""
    out = []
    for cs in sorted({d["base-checksum"] for d in deployments if d.get("base-checksum")}):
        out.append("ostree commit: %s\n" % cs)
        out.extend(" %s\n" % p.nevra for p in sorted(base_pkgs, key=lambda p: p.name))
    return "".join(out).encode()


def make_node_raw(scenario: str = "healthy", *, node: str = "worker-0", arch: str = "x86_64",
                  release: str = "4.16", base: bool = True, glibc: Optional[Tuple[str, str]] = None,
                  kernel_type: str = "default", virtiofsd_alt: bool = False,
                  local_rpm: Optional[str] = None) -> Dict[str, RawResult]:
    """The ``raw`` dict the probe returns for one node in ``scenario`` (see SCENARIOS).

    Variants: ``base=False`` -- the base-image package list could not be read (no ``rpm-ostree db list``, no
    meta.json); ``glibc=(version, release)`` -- the node booted a newer base image (mid OS update);
    ``kernel_type`` ``realtime`` / ``64k-pages`` -- the MCO's kernel switch (``rpm-ostree override remove kernel
    kernel-core ... --install kernel-rt-core ...``, MCO ``pkg/daemon/update.go``; DOMAIN 12.1);
    ``virtiofsd_alt`` -- ``(virtiofsd or qemu-virtiofsd)`` met by ``qemu-virtiofsd``;
    ``local_rpm=<name>`` -- that layered package was swapped by hand for an older local RPM (``rpm-ostree install
    ./<nevra>.rpm``), so the booted deployment lists it in ``requested-local-packages``."""
    if scenario not in SCENARIOS:
        raise ValueError("unknown scenario %r (known: %s)" % (scenario, ", ".join(SCENARIOS)))
    r = RELEASES.get(release)
    skew = SKEW_QEMU_RELEASE.get(release) if scenario == "version-skew" else None
    pkgs = package_set(release, arch, qemu_release=skew)
    kver = "%s.%s" % (r["kernel"], arch)
    requested = ["kata-containers"]
    kata_installed = True
    if scenario == "closure-missing":
        pkgs = [p for p in pkgs if p.name != "qemu-kvm-common"]
    elif scenario == "closure-missing-lib":
        pkgs = [p for p in pkgs if p.name != "pixman"]
    elif scenario in ("legacy-layered", "not-enabled"):
        pkgs = [p for p in pkgs if not p.in_repo]
        requested = ["kata-runtime", "kata-osbuilder"] if scenario == "legacy-layered" else []
        kata_installed = False
        if scenario == "legacy-layered":   # kata 1.x payload RPMs of the 4.6/4.7 kata-operator (DOMAIN 5)
            pkgs += [SimPkg("kata-runtime", 0, "1.11.3", "1.el8", arch, requires=libc_req(arch), in_repo=False),
                     SimPkg("kata-osbuilder", 0, "1.11.3", "1.el8", arch, requires=[("/bin/sh", "", "")],
                            in_repo=False)]

    base_pkgs = [p for p in pkgs if not p.in_repo and p.name not in ("kata-runtime", "kata-osbuilder")]
    if glibc is not None:
        pkgs = [SimPkg(p.name, p.epoch, glibc[0], glibc[1], p.arch, requires=p.requires,
                       provides=p.provides[2 if p.arch != "noarch" else 1:], files=p.files, in_repo=False)
                if p.name == "glibc" else p for p in pkgs]
        base_pkgs = [p for p in pkgs if not p.in_repo and p.name not in ("kata-runtime", "kata-osbuilder")]
    removals: List[str] = []
    if kernel_type != "default":
        variant = {"realtime": "rt", "64k-pages": "64k"}[kernel_type]
        kernel_v, kernel_r = r["kernel"].split("-", 1)
        kr = kernel_r + (".rt" if variant == "rt" else "")
        removed = [p for p in pkgs if p.name in ("kernel", "kernel-core")]
        removals = [p.name for p in removed] + ["kernel-modules", "kernel-modules-extra"]
        pkgs = [p for p in pkgs if p not in removed]
        kevr = "%s-%s" % (kernel_v, kr)
        added = [SimPkg("kernel-%s-core" % variant, 0, kernel_v, kr, arch, requires=[("/bin/sh", "", "")],
                        provides=[("kernel", "=", kevr)], in_repo=False),
                 SimPkg("kernel-%s-modules" % variant, 0, kernel_v, kr, arch,
                        requires=[("kernel-%s-core" % variant, "=", kevr)], in_repo=False),
                 SimPkg("kernel-%s-modules-extra" % variant, 0, kernel_v, kr, arch,
                        requires=[("kernel-%s-modules" % variant, "=", kevr)], in_repo=False)]
        if variant == "rt":
            added.append(SimPkg("kernel-rt-kvm", 0, kernel_v, kr, arch,
                                requires=[("kernel-rt-core", "=", kevr)], in_repo=False))
        pkgs += added
        requested = requested + [p.name for p in added]
        kver = "%s-%s.%s" % (kernel_v, kr, arch)
    if local_rpm:
        pkgs = [SimPkg(p.name, p.epoch, p.version, "1.el9", p.arch, requires=p.requires,
                       provides=p.provides[2 if p.arch != "noarch" else 1:], files=p.files, in_repo=p.in_repo)
                if p.name == local_rpm else p for p in pkgs]
    if virtiofsd_alt:
        vf = [p for p in pkgs if p.name == "virtiofsd"][0]
        pkgs = [p for p in pkgs if p.name != "virtiofsd"] + [
            SimPkg("qemu-virtiofsd", 17, "8.2.0", "11.el9_4", arch, requires=vf.requires,
                   provides=[("virtiofsd", "=", "17:8.2.0-11.el9_4")], files=["/usr/libexec/virtiofsd"],
                   in_repo=False)]

    deployments = []
    if scenario == "staged-pending":
        deployments.append(_deployment(release, arch, booted=False, staged=True, generation=1, requested=requested))
    deployments.append(_deployment(release, arch, booted=True, staged=False, generation=0, requested=requested))
    if scenario == "healthy":   # rollback deployment from before the extension was enabled
        deployments.append(_deployment(release, arch, booted=False, staged=False, generation=0, requested=[]))
    booted = [d for d in deployments if d["booted"]][0]
    if removals:
        booted["requested-base-removals"] = list(removals)
        booted["base-removals"] = [[p.nevra, p.name, p.epoch, p.version, p.release, p.arch]
                                   for p in base_pkgs if p.name in removals]
    if local_rpm:
        booted["requested-local-packages"] = [p.nevra for p in pkgs if p.name == local_rpm]

    other_qemu = "/usr/libexec/qemu-kvm" if qemu_binary(release).endswith("kiwi") else "/usr/libexec/qemu-kiwi"
    present = set(PROBED_PATHS) - {"/usr/bin/qemu-system-x86_64", other_qemu,
                                   "/etc/crio/crio.conf.d/50-kata.conf", "/etc/yum.repos.d/packages.repo",
                                   "/opt/kata-install", "/usr/local/kata",
                                   "/etc/systemd/system/kata-osbuilder-generate.service"}
    if not kata_installed:
        present -= {"/usr/bin/containerd-shim-kata-v2", "/usr/bin/kata-runtime", "/usr/bin/kata-monitor",
                    "/usr/libexec/qemu-kvm", "/usr/libexec/qemu-kiwi", "/usr/libexec/virtiofsd",
                    "/etc/crio/crio.conf.d/50-kata",
                    "/var/cache/kata-containers/vmlinuz.container",
                    "/var/cache/kata-containers/kata-containers-initrd.img"}
    if scenario in ("legacy-leftovers", "legacy-layered"):
        present |= {"/etc/crio/crio.conf.d/50-kata.conf", "/etc/yum.repos.d/packages.repo", "/opt/kata-install",
                    "/usr/local/kata", "/etc/systemd/system/kata-osbuilder-generate.service"}
    if scenario == "no-kvm":
        present.discard("/dev/kvm")
    paths = "".join("%s\t%s\n" % (p, "present" if p in present else "absent") for p in PROBED_PATHS)

    verify = RawResult(b"", b"", 0)
    if scenario == "modified-binary":
        verify = RawResult(b"S.5....T.    /usr/bin/containerd-shim-kata-v2\n", b"", 1)

    kata_v = r["kata"][0]
    goarch = {"x86_64": "amd64", "aarch64": "arm64"}.get(arch, arch)
    missing_bin = RawResult(b"", b"chroot: failed to run command '/usr/bin/kata-runtime': No such file or directory\n", 127)
    images = ("/var/cache/kata-containers\n/var/cache/kata-containers/osbuilder-images\n"
              "/var/cache/kata-containers/osbuilder-images/%(k)s\n"
              "/var/cache/kata-containers/osbuilder-images/%(k)s/\"rhcos\"-kata-%(k)s.initrd\n"
              "/var/cache/kata-containers/vmlinuz.container\n"
              "/var/cache/kata-containers/kata-containers-initrd.img\n" % {"k": kver})
    raw = {
        "os-release": _ok(os_release_text(release)),
        "uname-r": _ok(kver + "\n"),
        "uname-m": _ok(arch + "\n"),
        "rpm-ostree-status": _ok(render_rpm_ostree_status(release, arch, deployments)),
        "rpm-qa": _ok(render_rpm_qa(pkgs)),
        "rpm-provides": _ok(render_deps(pkgs, "provides")),
        "rpm-requires": _ok(render_deps(pkgs, "requires")),
        "rpm-file-provides": _ok(render_file_provides(pkgs)),
        "rpm-V": verify,
        "kata-runtime-version": _ok("kata-runtime  : %s\n   commit   : %s\n   OCI specs: 1.1.0+dev\n"
                                    % (kata_v, SHIM_COMMIT)) if kata_installed else missing_bin,
        # kata 2.x's shim prints no "(Golang)" (DOMAIN 4.4)
        "shim-version": _ok('Kata Containers containerd shim%s: id: "io.containerd.kata.v2", version: %s, '
                            'commit: %s\n' % ("" if kata_v.startswith("2.") else " (Golang)", kata_v, SHIM_COMMIT))
        if kata_installed else missing_bin,
        "kata-monitor-version": _ok(MONITOR_BLOCK % (SHIM_COMMIT, goarch)) if kata_installed else missing_bin,
        "kata-env": _ok(kata_env_json(release, arch)) if kata_installed else missing_bin,
        "paths": _ok(paths),
        "crio-50-kata": _ok(CRIO_DROPIN) if kata_installed else
        RawResult(b"", b"cat: /etc/crio/crio.conf.d/50-kata: No such file or directory\n", 1),
        "crio-50-kata.conf": _ok(LEGACY_CRIO_CONF) if "/etc/crio/crio.conf.d/50-kata.conf" in present else
        RawResult(b"", b"cat: /etc/crio/crio.conf.d/50-kata.conf: No such file or directory\n", 1),
        "cpu-flags": _ok((CPU_FLAGS_NO_VIRT if scenario == "no-kvm" else CPU_FLAGS[arch]) + "\n"),
        "osbuilder-unit": _ok("ActiveState=active\nSubState=exited\nResult=success\nUnitFileState=enabled\n"
                              if kata_installed else
                              "ActiveState=inactive\nSubState=dead\nResult=success\nUnitFileState=\n"),
        "osbuilder-images": _ok(images) if kata_installed else
        RawResult(b"", b"find: '/var/cache/kata-containers': No such file or directory\n", 1),
        "base-rpmdb": (_ok(render_db_list(deployments, base_pkgs))
                       if any(d.get("base-checksum") for d in deployments) else
                       RawResult(b"", b"kata-doctor: no layered deployment (no base-checksum)\n", 3)) if base else
        RawResult(b"", b"error: Could not connect to rpm-ostreed: timed out\n", 1),
        "base-meta": RawResult(b"", b"cat: /usr/share/openshift/base/meta.json: No such file or directory\n", 1),
    }
    return raw


# ----------------------------------------------------------------------------- extensions repo

def _entry(name: str, flags: str, ver: str) -> str:
    if not flags:
        return "      <rpm:entry name=%s/>\n" % quoteattr(name)
    code = {"=": "EQ", "<": "LT", ">": "GT", "<=": "LE", ">=": "GE"}[flags]
    epoch, _, rest = ver.rpartition(":")
    v, _, rel = rest.partition("-")
    attrs = 'flags="%s" epoch="%s" ver=%s' % (code, epoch or "0", quoteattr(v))
    if rel:
        attrs += " rel=%s" % quoteattr(rel)
    return "      <rpm:entry name=%s %s/>\n" % (quoteattr(name), attrs)


def render_primary(pkgs: List[SimPkg]) -> bytes:
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n'
           '<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" '
           'packages="%d">\n' % len(pkgs)]
    for p in pkgs:
        pkgid = hashlib.sha256(p.nevra.encode()).hexdigest()
        out.append('<package type="rpm">\n  <name>%s</name>\n  <arch>%s</arch>\n'
                   '  <version epoch="%d" ver=%s rel=%s/>\n'
                   '  <checksum type="sha256" pkgid="YES">%s</checksum>\n'
                   '  <summary>%s</summary>\n  <description>%s package.</description>\n'
                   '  <packager>Red Hat, Inc. &lt;http://bugzilla.redhat.com/bugzilla&gt;</packager>\n'
                   '  <url></url>\n  <time file="1729500000" build="1729400000"/>\n'
                   '  <size package="1000" installed="4000" archive="4200"/>\n'
                   '  <location href="Packages/%s.rpm"/>\n  <format>\n'
                   '    <rpm:license>GPL-2.0-only</rpm:license>\n    <rpm:vendor>Red Hat, Inc.</rpm:vendor>\n'
                   '    <rpm:group>Unspecified</rpm:group>\n'
                   '    <rpm:buildhost>x86-64-01.build.eng.rdu2.redhat.com</rpm:buildhost>\n'
                   '    <rpm:sourcerpm>%s-%s-%s.src.rpm</rpm:sourcerpm>\n'
                   '    <rpm:header-range start="4504" end="30000"/>\n'
                   % (p.name, p.arch, p.epoch, quoteattr(p.version), quoteattr(p.release), pkgid, p.name, p.name,
                      p.nevra, p.name, p.version, p.release))
        out.append("    <rpm:provides>\n")
        out.extend(_entry(*d) for d in p.provides)
        out.append("    </rpm:provides>\n")
        if p.requires:
            out.append("    <rpm:requires>\n")
            for d in p.requires:
                line = _entry(*d)
                if d[0] == "/bin/sh":
                    line = line.replace("/>", ' pre="1"/>')
                out.append(line)
            out.append("    </rpm:requires>\n")
        out.extend("    <file>%s</file>\n" % f for f in p.files)
        out.append("  </format>\n</package>\n")
    out.append("</metadata>\n")
    return "".join(out).encode()


def make_extensions_repo(dirpath: str, release: str = "4.16", arch: str = "x86_64",
                         without: Iterable[str] = ()) -> Dict[str, object]:
    """Write ``<dirpath>/repodata/repomd.xml``, a gzip primary and ``<dirpath>/extensions.json``.

    The package set is the extension closure of a healthy node (``package_set(...)`` with ``in_repo``),
    minus ``without``. (On a real 4.19+ image the flat manifest sits one level up, at
    ``/usr/share/rpm-ostree/extensions.json``; here it sits inside ``dirpath`` for convenience.)
    Returns ``{"repomd": path, "primary": path, "extensions_json": path, "nevras": {name: nevra}}``.
    """
    drop = set(without)
    pkgs = [p for p in package_set(release, arch) if p.in_repo and p.name not in drop]
    primary = render_primary(pkgs)
    gz = gzip.compress(primary, mtime=0)
    gz_sha = hashlib.sha256(gz).hexdigest()
    repodata = os.path.join(dirpath, "repodata")
    os.makedirs(repodata, exist_ok=True)
    primary_name = "%s-primary.xml.gz" % gz_sha
    with open(os.path.join(repodata, primary_name), "wb") as fh:
        fh.write(gz)
    repomd = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<repomd xmlns="http://linux.duke.edu/metadata/repo" xmlns:rpm="http://linux.duke.edu/metadata/rpm">\n'
        '  <revision>1729527600</revision>\n'
        '  <data type="primary">\n'
        '    <checksum type="sha256">%s</checksum>\n'
        '    <open-checksum type="sha256">%s</open-checksum>\n'
        '    <location href="repodata/%s"/>\n'
        '    <timestamp>1729527600</timestamp>\n'
        '    <size>%d</size>\n'
        '    <open-size>%d</open-size>\n'
        '  </data>\n'
        '</repomd>\n' % (gz_sha, hashlib.sha256(primary).hexdigest(), primary_name, len(gz), len(primary)))
    with open(os.path.join(repodata, "repomd.xml"), "w") as fh:
        fh.write(repomd)
    manifest = {p.name: p.evra for p in pkgs}
    with open(os.path.join(dirpath, "extensions.json"), "w") as fh:
        json.dump(manifest, fh, indent=2, sort_keys=True)
    return {"repomd": os.path.join(repodata, "repomd.xml"), "primary": os.path.join(repodata, primary_name),
            "extensions_json": os.path.join(dirpath, "extensions.json"),
            "nevras": {p.name: p.nevra for p in pkgs}}
