"""Doctor findings: the unit of every diagnosis, and the table of node check ids.

A :class:`Finding` is one line for a human (``message``), one line an admin can act on or paste
into a support case (``hint``), and structured ``details`` for ``-o json``. Check ids are stable
(scripts match on them); severities order ``error > warning > info > ok``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional

__all__ = ["Finding", "SEVERITIES", "severity_rank", "worst_severity", "sort_findings", "NODE_CHECKS",
           "NODE_CHECK_IDS", "ERROR", "WARNING", "INFO", "OK"]

ERROR = "error"
WARNING = "warning"
INFO = "info"
OK = "ok"
SEVERITIES = (ERROR, WARNING, INFO, OK)   # most to least severe
_RANK = {s: i for i, s in enumerate(reversed(SEVERITIES))}   # ok=0 ... error=3


def severity_rank(severity: str) -> int:
    """0 for ok up to 3 for error; unknown severities raise ValueError."""
    try:
        return _RANK[severity]
    except KeyError:
        raise ValueError("unknown severity %r (expected one of %s)" % (severity, ", ".join(SEVERITIES))) from None


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


@dataclass(frozen=True)
class Finding:
    check_id: str
    severity: str
    subject: str              # node name, or "cluster"
    message: str
    hint: str = ""
    details: Dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        severity_rank(self.severity)
        object.__setattr__(self, "message", _one_line(self.message))
        object.__setattr__(self, "hint", _one_line(self.hint))

    @property
    def rank(self) -> int:
        return severity_rank(self.severity)

    @property
    def is_problem(self) -> bool:
        return self.severity in (ERROR, WARNING)

    def to_dict(self) -> Dict[str, Any]:
        return {"checkId": self.check_id, "severity": self.severity, "subject": self.subject,
                "message": self.message, "hint": self.hint, "details": self.details}


def worst_severity(findings: Iterable[Finding]) -> Optional[str]:
    worst = None
    for f in findings:
        if worst is None or f.rank > severity_rank(worst):
            worst = f.severity
    return worst


def sort_findings(findings: Iterable[Finding]) -> List[Finding]:
    """Most severe first, then subject, then check id (stable for equal keys)."""
    return sorted(findings, key=lambda f: (-f.rank, f.subject, f.check_id))


# (id, worst severity it can raise, what it checks, typical remediation). The README copies this table.
NODE_CHECKS = (
    ("node.collection", "warning",
     "every probe command ran and its output parsed; lists the checks that could not run",
     "re-run `kubectl kata doctor --node <node> -v`; check `oc debug node/<node>` works (image pull, node Ready)"),
    ("node.extension-requested", "error",
     "the booted rpm-ostree deployment requests kata-containers (not just the staged one) and rpm has it, "
     "when the pool's target rendered config requests it; a node still on the previous config is `pending: "
     "waiting for the rollout` (info, with the pool's progress)",
     "check the pool's rendered MachineConfig has `extensions: [sandboxed-containers]` and the node "
     "reached Done"),
    ("node.staged-deployment", "warning",
     "no staged rpm-ostree deployment or running transaction (= no pending reboot)",
     "let the MCO finish (node state Done); a manual change: `rpm-ostree cleanup -p` on the node"),
    ("node.package-version", "error",
     "installed NEVRA of kata-containers and every closure package equals the expected (rpmvercmp); a rich "
     "`or` requirement met by another alternative (`(virtiofsd or qemu-virtiofsd)` by qemu-virtiofsd) is "
     "fine",
     "one hint per cause (`details.cause`): an override or layered/local package -> `rpm-ostree override "
     "reset <pkg>` / `uninstall` (error); node still on the previous rendered config -> wait for the "
     "rollout (warning); staged deployment -> reboot (warning); booted OS image not the release's -> the "
     "MCO brings the packages with the OS update (warning); nothing explains it -> compare with a healthy "
     "node, no reset advice (error)"),
    ("node.closure-complete", "error",
     "every Requires of kata-containers and its dependencies is satisfied in the rpmdb (rich deps included)",
     "re-apply the extension (MCO) so rpm-ostree resolves the closure from the release's extensions repo"),
    ("node.unexpected-layered", "error",
     "no layered packages or base overrides besides what the node's rendered configs ask for (their "
     "`extensions`, and the `realtime`/`64k-pages` kernel switch); legacy kata-runtime/kata-osbuilder, "
     "manual installs",
     "`rpm-ostree uninstall <pkg>` (or `rpm-ostree uninstall --all` for the legacy kata-operator) then "
     "reboot"),
    ("node.rpm-verify", "error",
     "`rpm -V` of kata-containers and QEMU is clean (config files under /etc only reported as info)",
     "restore the files: re-deploy the OS image (`rpm-ostree reset` is not enough for /etc); open a case with the rpm -V output"),
    ("node.binary-version", "error",
     "kata binaries exist and report the kata-containers RPM version",
     "remove hand-copied binaries (/usr/local/bin, /opt) and reinstall the extension"),
    ("node.qemu-path", "error",
     "the QEMU binary for the release exists (qemu-kiwi 4.8-4.10, qemu-kvm later) and kata uses it",
     "re-apply the extension; check /etc/kata-containers/configuration.toml does not override the hypervisor path"),
    ("node.crio-dropin", "error",
     "CRI-O drop-in /etc/crio/crio.conf.d/50-kata exists, declares the kata runtime; no legacy 50-kata.conf",
     "remove /etc/crio/crio.conf.d/50-kata.conf (and MC 50-kata-crio-dropin) so only the RPM's 50-kata remains"),
    ("node.dev-kvm", "error",
     "/dev/kvm exists and the CPU exposes hardware virtualization (vmx/svm, sie on s390x)",
     "run kata on bare metal or enable nested virtualization for the VM; use peer pods otherwise"),
    ("node.initrd", "error",
     "kata-osbuilder-generate.service succeeded and the guest kernel/initrd exist for the running kernel",
     "`systemctl restart kata-osbuilder-generate.service` on the node and check its journal"),
    ("node.os-image", "error",
     "the booted OS image is the node's rendered osImageURL, compared as the MCO does: by pull spec (on "
     "multi-arch payloads the osImageURL digest names a manifest list while rpm-ostree records the "
     "per-arch digest, which only ever confirms a match) or the node's `currentImage` annotation; a "
     "tag-only pull spec is reported as not compared (info)",
     "wait for the MCO to update the node; if stuck, check the node's "
     "machineconfiguration.openshift.io/reason"),
    ("node.legacy-leftovers", "warning",
     "no files left by the OCP 4.6/4.7 kata-operator (packages.repo, /opt/kata-install, /usr/local/kata, hacky unit)",
     "delete the leftover files and MC 50-kata-crio-dropin; see `kubectl kata upgrade --help`"),
)

NODE_CHECK_IDS = tuple(row[0] for row in NODE_CHECKS)
