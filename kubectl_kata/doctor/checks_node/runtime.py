"""What kata needs at run time on the node: its binaries report the RPM's version (``node.binary-version``),
the release's QEMU (``node.qemu-path``), CRI-O's kata runtime drop-in (``node.crio-dropin``), ``/dev/kvm``
(``node.dev-kvm``) and the guest kernel/initrd built by kata-osbuilder-generate (``node.initrd``)."""
from __future__ import annotations

from typing import Optional

from kubectl_kata.core.parse.nodefiles import KATA_TABLE
from kubectl_kata.core.rpm import rpmvercmp
from kubectl_kata.core.support import qemu_binary_for
from kubectl_kata.doctor.checks_node.legacy import LEGACY_CRIO_CONF
from kubectl_kata.doctor.checks_node.state import CheckedNode, fmt_list
from kubectl_kata.doctor.findings import ERROR, INFO, OK, WARNING

SHIM_PATH = "/usr/bin/containerd-shim-kata-v2"
DEFAULT_KERNEL = "/var/cache/kata-containers/vmlinuz.container"
DEFAULT_INITRD = "/var/cache/kata-containers/kata-containers-initrd.img"
OSBUILDER_DIR = "/var/cache/kata-containers/osbuilder-images/"
CRIO_DROPIN = "/etc/crio/crio.conf.d/50-kata"


def binary_version(node: CheckedNode) -> None:
    cid = "node.binary-version"
    if not node.kata:
        return
    f = node.facts
    rpm_ver = node.kata.version
    problems = []
    reported = {}
    for key, path, value in (("kata-runtime-version", "/usr/bin/kata-runtime", f.runtime_version),
                             ("shim-version", SHIM_PATH, f.shim_version),
                             ("kata-monitor-version", "/usr/bin/kata-monitor", f.monitor_version)):
        if node.missing(key):
            continue
        if f.path_present(path) is False:
            problems.append((path, "missing"))
            continue
        if key in f.binary_errors:
            problems.append((path, "does not report a version (%s)" % f.binary_errors[key]))
            continue
        if value is None:
            continue
        reported[path] = value.version
        # kata-monitor has its own version number (e.g. 0.3.0); only runtime and shim carry kata's
        if key != "kata-monitor-version" and rpmvercmp(value.version, rpm_ver) != 0:
            problems.append((path, "reports %s but the kata-containers RPM is %s" % (value.version, rpm_ver)))
    for path, why in problems:
        node.add(cid, ERROR, "%s %s" % (path, why),
                 "remove hand-copied kata binaries and re-apply the extension; if the RPM file itself changed "
                 "see node.rpm-verify", path=path, rpm_version=rpm_ver, reported=reported)
    if not problems and reported:
        node.add(cid, OK, "kata binaries present and report %s (RPM %s)" % (
            fmt_list(sorted(set(v for p, v in reported.items() if not p.endswith("kata-monitor")))), rpm_ver),
            reported=reported, rpm_version=rpm_ver)


def qemu_path(node: CheckedNode) -> None:
    cid = "node.qemu-path"
    if not node.kata or node.missing("paths"):
        return
    env_path = node.facts.kata_env.hypervisor_path if node.facts.kata_env else None
    if node.release_mm is None:
        found = [p for p in ("/usr/libexec/qemu-kvm", "/usr/libexec/qemu-kiwi")
                 if node.facts.path_present(p)]
        node.add(cid, INFO, "cluster release unknown; QEMU found at %s, not checked against the release"
                 % (fmt_list(found) or "no known path"),
                 "pass the cluster version so doctor can check the QEMU path", found=found, kata_uses=env_path)
        return
    want = qemu_binary_for(node.release_mm)
    details = {"expected": want, "kata_uses": env_path, "release": "%d.%d" % node.release_mm}
    ok = True
    if node.facts.path_present(want) is False:
        ok = False
        node.add(cid, ERROR, "QEMU binary %s for OCP %d.%d is missing" % ((want,) + node.release_mm),
                 "the extension's QEMU package is not installed: re-apply the extension (see "
                 "node.closure-complete)", **details)
    if env_path and env_path != want:
        ok = False
        node.add(cid, ERROR, "kata is configured to use %s, expected %s on OCP %d.%d"
                 % ((env_path, want) + node.release_mm),
                 "remove the hypervisor path override from /etc/kata-containers/configuration.toml "
                 "(or its config.d drop-ins)", **details)
    if ok:
        node.add(cid, OK, "QEMU binary %s present%s" % (want, " and used by kata" if env_path else ""),
                 **details)


def crio_dropin(node: CheckedNode) -> None:
    cid = "node.crio-dropin"
    f = node.facts
    legacy_present = f.crio_dropin_legacy is not None or f.path_present(LEGACY_CRIO_CONF) is True
    main = f.crio_dropin
    tables = (main.kata_tables if main else 0) + (f.crio_dropin_legacy.kata_tables if f.crio_dropin_legacy else 0)
    problem = False
    if legacy_present:
        problem = True
        node.add(cid, ERROR, "legacy %s present: CRI-O reads %d [%s] table(s)" % (LEGACY_CRIO_CONF, tables, KATA_TABLE),
                 "delete MachineConfig 50-kata-crio-dropin if it exists, remove %s on the node and restart "
                 "crio" % LEGACY_CRIO_CONF, path=LEGACY_CRIO_CONF, kata_tables=tables)
    if node.kata and not node.missing("crio-50-kata"):
        if main is None:
            problem = True
            node.add(cid, ERROR, "CRI-O drop-in %s is missing" % CRIO_DROPIN,
                     "the kata-containers RPM ships it: check `rpm -V kata-containers` and re-apply the extension",
                     path=CRIO_DROPIN)
        elif main.kata_tables == 0:
            problem = True
            node.add(cid, ERROR, "%s does not declare [%s]" % (CRIO_DROPIN, KATA_TABLE),
                     "restore the file shipped by the kata-containers RPM (see node.rpm-verify)",
                     path=CRIO_DROPIN, tables=main.tables)
        else:
            rp = main.values.get(KATA_TABLE, {}).get("runtime_path")
            if rp != SHIM_PATH:
                problem = True
                node.add(cid, ERROR, "%s sets runtime_path=%s, expected %s" % (CRIO_DROPIN, rp, SHIM_PATH),
                         "restore the file shipped by the kata-containers RPM", path=CRIO_DROPIN,
                         runtime_path=rp)
    if not problem and main is not None:
        node.add(cid, OK, "CRI-O drop-in %s declares the kata runtime (%s)" % (CRIO_DROPIN, SHIM_PATH))


def dev_kvm(node: CheckedNode) -> None:
    cid = "node.dev-kvm"
    f = node.facts
    kvm = f.path_present("/dev/kvm")
    if kvm is None:
        return
    arch = f.arch or ""
    wanted = {"x86_64": ("vmx", "svm"), "s390x": ("sie",)}.get(arch)
    flag_ok: Optional[bool] = None
    if wanted and f.cpu_flags is not None:
        flag_ok = any(w in f.cpu_flags for w in wanted)
    details = {"dev_kvm": kvm, "arch": arch, "virt_flags": list(wanted or ()), "cpu_has_flag": flag_ok}
    if not kvm and flag_ok is False:
        node.add(cid, ERROR, "no /dev/kvm and the CPU does not expose %s: this node cannot run kata VMs"
                 % "/".join(wanted or ()),
                 "use bare-metal nodes or enable nested virtualization on the hypervisor; otherwise use "
                 "peer pods (kata-remote)", **details)
    elif not kvm:
        node.add(cid, ERROR, "/dev/kvm is missing", "load the kvm module (`modprobe kvm_intel` / `kvm_amd`) and "
                 "check virtualization is enabled in the firmware", **details)
    elif flag_ok is False:
        node.add(cid, WARNING, "/dev/kvm exists but the CPU flags lack %s" % "/".join(wanted or ()),
                 "check the hypervisor exposes virtualization extensions to this node", **details)
    else:
        node.add(cid, OK, "/dev/kvm present%s" % (" and CPU exposes %s" % "/".join(wanted) if flag_ok else ""),
                 **details)


def initrd(node: CheckedNode) -> None:
    cid = "node.initrd"
    f = node.facts
    if not node.kata:
        return
    unit = f.osbuilder_unit
    env = f.kata_env
    kernel_path = (env.kernel_path if env and env.kernel_path else DEFAULT_KERNEL)
    initrd_path = (env.initrd_path if env and env.initrd_path else DEFAULT_INITRD)
    images = f.osbuilder_images or []
    hint = ("run `systemctl restart kata-osbuilder-generate.service` on the node and check "
            "`journalctl -u kata-osbuilder-generate`")
    problem = False
    if unit is not None:
        active, result = unit.get("ActiveState", ""), unit.get("Result", "")
        if active == "failed" or (result and result != "success"):
            problem = True
            node.add(cid, ERROR, "kata-osbuilder-generate.service failed (ActiveState=%s, Result=%s)"
                     % (active, result), hint, unit=unit)
        elif active == "activating":
            problem = True
            node.add(cid, WARNING, "kata-osbuilder-generate.service is still building the guest image",
                     "wait a minute and re-run doctor", unit=unit)
    missing = []
    for path in (kernel_path, initrd_path):
        present = f.path_present(path)
        if present is None and f.osbuilder_images is not None:
            present = path in images
        if present is False:
            missing.append(path)
    if missing and not problem:
        problem = True
        node.add(cid, ERROR, "guest kernel/initrd missing: %s" % fmt_list(missing), hint, missing=missing, unit=unit)
    built = sorted({p[len(OSBUILDER_DIR):].split("/", 1)[0] for p in images
                    if p.startswith(OSBUILDER_DIR) and len(p) > len(OSBUILDER_DIR)})
    if not problem and f.kernel and built and f.kernel not in built:
        problem = True
        node.add(cid, WARNING, "guest initrd built for kernel %s but the node runs %s" % (fmt_list(built), f.kernel),
                 hint, built_for=built, running=f.kernel)
    if not problem and (unit is not None or images):
        node.add(cid, OK, "guest kernel and initrd built for %s" % (f.kernel or "the running kernel"),
                 built_for=built, kernel=kernel_path, initrd=initrd_path)
