"""``node.collection``: did every probe output arrive and parse, and which checks could not run without it."""
from __future__ import annotations

from kubectl_kata.doctor.checks_node.state import CheckedNode, fmt_list
from kubectl_kata.doctor.findings import ERROR, INFO, OK, WARNING

# raw probe key -> checks that cannot run without it (for node.collection)
KEY_CHECKS = {
    "rpm-ostree-status": ("node.extension-requested", "node.staged-deployment", "node.unexpected-layered",
                          "node.os-image"),
    "rpm-qa": ("node.extension-requested", "node.package-version", "node.closure-complete", "node.binary-version",
               "node.rpm-verify", "node.qemu-path", "node.initrd"),
    "rpm-provides": ("node.closure-complete",),
    "rpm-requires": ("node.closure-complete",),
    "rpm-file-provides": ("node.closure-complete",),
    "rpm-V": ("node.rpm-verify",),
    "kata-runtime-version": ("node.binary-version",),
    "shim-version": ("node.binary-version",),
    "kata-monitor-version": ("node.binary-version",),
    "kata-env": ("node.qemu-path", "node.initrd"),
    "paths": ("node.binary-version", "node.qemu-path", "node.crio-dropin", "node.dev-kvm", "node.initrd",
              "node.legacy-leftovers"),
    "crio-50-kata": ("node.crio-dropin",),
    "crio-50-kata.conf": ("node.crio-dropin",),
    "cpu-flags": ("node.dev-kvm",),
    "osbuilder-unit": ("node.initrd",),
    "osbuilder-images": ("node.initrd",),
    "uname-r": ("node.initrd",),
}


def collection(node: CheckedNode) -> None:
    errors = node.facts.errors
    if "*" in errors:
        node.add("node.collection", ERROR, "no probe output for the node: %s" % errors["*"],
                 "check `oc debug node/%s -- chroot /host true` works, then re-run doctor" % node.name,
                 errors=dict(errors))
        return
    if errors:
        skipped = sorted({c for k in errors for c in KEY_CHECKS.get(k, ())})
        node.add("node.collection", WARNING,
                 "%d probe output(s) missing or unreadable: %s" % (len(errors), fmt_list(sorted(errors))),
                 "re-run `kubectl kata doctor` for this node with -v; a truncated collection usually means the "
                 "debug pod was killed or timed out (try a longer --timeout)",
                 errors=dict(errors), skipped_checks=skipped)
    elif node.facts.warnings:
        node.add("node.collection", INFO,
                 "%d probe output line(s) could not be parsed and were skipped" % len(node.facts.warnings),
                 "attach `kubectl kata doctor -o json` output to a bug report for kubectl-kata",
                 warnings=list(node.facts.warnings))
    else:
        node.add("node.collection", OK, "all probe outputs collected and parsed")
