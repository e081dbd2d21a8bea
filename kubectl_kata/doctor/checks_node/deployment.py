"""The node's rpm-ostree deployments against the pool: is the extension requested on the booted deployment
(``node.extension-requested``), is a deployment staged for the next reboot (``node.staged-deployment``), and is
the booted OS image the rendered osImageURL (``node.os-image``)."""
from __future__ import annotations

from typing import Optional, Tuple

from kubectl_kata.core.parse.rpm_ostree import image_digest, strip_transport
from kubectl_kata.doctor.checks_node.state import KATA_PACKAGE, CheckedNode
from kubectl_kata.doctor.findings import ERROR, INFO, OK, WARNING


def extension_requested(node: CheckedNode) -> None:
    cid = "node.extension-requested"
    if node.facts.rpm_ostree is None:
        return
    if node.booted is None:
        node.add(cid, ERROR, "rpm-ostree status lists no booted deployment",
                 "run `rpm-ostree status` on the node and open a case with its output",
                 deployments=[d.id for d in node.facts.rpm_ostree.deployments])
        return
    requested = KATA_PACKAGE in node.booted.requested_packages
    staged_has = [d.id for d in node.staged if KATA_PACKAGE in d.requested_packages]
    installed = node.kata_installed
    skipped = ["node.package-version", "node.closure-complete", "node.rpm-verify", "node.binary-version",
               "node.qemu-path", "node.initrd"]
    details = {"booted": node.booted.id, "requested_packages": list(node.booted.requested_packages),
               "installed": str(node.kata) if node.kata else None}
    progress = (" (%s)" % node.ctx.rollout) if node.ctx.rollout else ""
    if node.ctx.rollout_pending and node.ctx.extension_requested is True and not requested and not staged_has:
        details["skipped_checks"] = [] if installed else skipped
        node.add(cid, INFO, "pending: waiting for the rollout; the pool's target rendered config requests the "
                 "sandboxed-containers extension and this node has not been updated yet%s" % progress,
                 "follow the rollout with `kubectl kata status --watch`", pending=True, **details)
        return
    if node.ctx.rollout_pending and node.ctx.extension_requested is False and (requested or installed):
        node.add(cid, INFO, "pending: waiting for the rollout; the pool's target rendered config no longer "
                 "requests the extension and this node has not been updated yet%s" % progress,
                 "follow the rollout with `kubectl kata status --watch`", pending=True, **details)
        return
    if node.ctx.extension_requested is False:
        msg = "the pool's MachineConfigs do not request the sandboxed-containers extension"
        if not requested and not installed:
            msg += "; kata-containers is not installed (kata checks skipped)"
            details["skipped_checks"] = skipped
        node.add(cid, INFO, msg,
                 "enable it with `kubectl kata enable` if this node should run kata pods", **details)
        return
    pool = "the pool requests it, but " if node.ctx.extension_requested else ""
    if requested and installed is not False:
        node.add(cid, OK, "booted deployment requests kata-containers%s"
                 % ((" and %s is installed" % node.kata) if node.kata else ""), **details)
    elif requested:
        details["skipped_checks"] = skipped
        node.add(cid, ERROR, "booted deployment requests kata-containers but the rpm database does not have it",
                 "the extension was not applied (OCPBUGS-65645); check the node's "
                 "machineconfiguration.openshift.io/reason and re-trigger the MCO update", **details)
    elif staged_has:
        details["staged"] = staged_has
        details["skipped_checks"] = [] if installed else skipped
        node.add(cid, WARNING, "%skata-containers is only in the staged deployment; the node has not "
                 "rebooted into it yet" % pool,
                 "let the MCO drain and reboot the node (check PodDisruptionBudgets if it is stuck)", **details)
    elif installed:
        node.add(cid, WARNING, "%skata-containers %s is installed but not requested as a layered package "
                 "(part of the OS image or a local install)" % (pool, node.kata),
                 "check the pool's osImageURL and `rpm-ostree status` requested-local-packages", **details)
    else:
        details["skipped_checks"] = skipped if installed is False else []
        node.add(cid, ERROR, "%sthe booted deployment does not request kata-containers" % pool,
                 "check the pool's rendered MachineConfig has extensions: [sandboxed-containers] and the "
                 "node state is Done (`oc describe node %s`)" % node.name, **details)


def staged_deployment(node: CheckedNode) -> None:
    cid = "node.staged-deployment"
    rs = node.facts.rpm_ostree
    if rs is None:
        return
    if node.staged:
        d = node.staged[0]
        if node.ctx.rollout_pending:   # the pool's rollout is updating this node: the MCO staged it
            msg, hint = ("staged deployment %s pending: the MCO is updating this node to the pool's target and "
                         "reboots it next%s" % (d.version or d.id, (" (%s)" % node.ctx.rollout)
                                                if node.ctx.rollout else ""),
                         "let the MCO drain and reboot the node (check PodDisruptionBudgets if it is stuck)")
        else:
            msg, hint = ("staged deployment %s pending: the node will change at its next reboot"
                         % (d.version or d.id),
                         "if the MCO is updating the node, wait for it to reboot; otherwise inspect with "
                         "`rpm-ostree status` and drop a manual change with `rpm-ostree cleanup -p`")
        node.add(cid, WARNING, msg, hint,
                 staged=[{"id": s.id, "version": s.version, "requested_packages": s.requested_packages,
                          "image": s.image_reference} for s in node.staged])
    elif rs.transaction:
        node.add(cid, WARNING, "an rpm-ostree transaction is in progress: %s" % rs.transaction,
                 "wait for it to finish (`rpm-ostree status`), then re-run doctor", transaction=rs.transaction)
    else:
        node.add(cid, OK, "no staged deployment; nothing pending a reboot")


def os_image_verdict(node: CheckedNode) -> Tuple[str, str]:
    """("same" | "different" | "unknown", why). Compared as the MCO does: the booted deployment's
    container-image-reference (the pull spec rpm-ostree was given) against the rendered osImageURL. On a
    multi-arch payload the osImageURL digest names a manifest list while rpm-ostree's
    container-image-reference-digest is the per-arch manifest, so that digest only ever confirms a match."""
    b = node.booted
    want_url = node.ctx.os_image_url
    if b is None:
        return "unknown", "no booted deployment"
    if not want_url:
        return "unknown", "rendered osImageURL unknown"
    want = strip_transport(want_url)
    have_ref = b.image_reference
    want_digest = image_digest(want)
    ref_digest = image_digest(have_ref)
    if have_ref and have_ref == want:
        return "same", "booted pull spec is the rendered osImageURL"
    if want_digest and ref_digest and want_digest == ref_digest:
        return "same", "booted pull spec has the rendered osImageURL's digest"
    if want_digest and b.container_image_reference_digest == want_digest:
        return "same", "booted image manifest digest is the rendered osImageURL's"
    cur = node.ctx.current_image
    if cur and strip_transport(cur) == want:
        return "same", "the node's currentImage annotation is the rendered osImageURL"
    if not have_ref:
        return "unknown", "rpm-ostree reports no image reference for the booted deployment"
    if not want_digest or not ref_digest:
        return "unknown", "a tag-only pull spec cannot be compared by digest (%s vs %s)" % (have_ref, want)
    return "different", "booted %s, rendered %s" % (have_ref, want)


def image_matches(node: CheckedNode) -> Optional[bool]:
    """Does the booted OS image match the node's rendered osImageURL? None when it cannot be told."""
    verdict = os_image_verdict(node)
    return None if verdict[0] == "unknown" else verdict[0] == "same"


def os_image(node: CheckedNode) -> None:
    cid = "node.os-image"
    if node.booted is None:
        return
    have_ref = node.booted.image_reference
    want_url = node.ctx.os_image_url
    if not want_url:
        node.add(cid, INFO, "rendered osImageURL unknown; booted image %s not compared"
                 % (have_ref or node.booted.image_digest), "", booted=have_ref)
        return
    verdict, why = os_image_verdict(node)
    details = {"booted": have_ref, "booted_digest": node.booted.container_image_reference_digest,
               "rendered": want_url, "current_image": node.ctx.current_image, "why": why}
    if verdict == "same":
        node.add(cid, OK, "booted OS image matches the rendered osImageURL (%s)" % why, **details)
        return
    if verdict == "unknown":
        node.add(cid, INFO, "booted OS image not compared with the rendered osImageURL: %s" % why, "",
                 **details)
        return
    want = strip_transport(want_url)
    want_digest = image_digest(want)
    staged_match = [d.id for d in node.staged
                    if d.image_reference == want or (want_digest and image_digest(d.image_reference) == want_digest)
                    or (want_digest and d.container_image_reference_digest == want_digest)]
    if staged_match:
        node.add(cid, WARNING, "booted OS image %s differs from the rendered one; the staged deployment has it "
                 "(reboot pending)" % have_ref, "let the MCO reboot the node", staged=staged_match,
                 **details)
    elif node.ctx.rollout_pending:
        node.add(cid, INFO, "booted OS image %s is not yet the pool's: pending, waiting for the rollout%s"
                 % (have_ref, (" (" + node.ctx.rollout + ")") if node.ctx.rollout else ""),
                 "follow it with `kubectl kata status --watch`", **details)
    else:
        node.add(cid, ERROR, "booted OS image %s is not the rendered osImageURL %s" % (have_ref, want),
                 "check the node's machineconfiguration.openshift.io/state and reason; the MCO has not updated "
                 "this node's OS (`oc describe node %s`)" % node.name, **details)
