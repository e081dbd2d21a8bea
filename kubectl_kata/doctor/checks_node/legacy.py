"""What the kata-operator of OCP 4.6/4.7 left behind: its packages, payload files and CRI-O config.

``node.legacy-leftovers`` reports the files; the packages and the old CRI-O config file are also judged by
``node.unexpected-layered`` and ``node.crio-dropin``, which import the names from here.
"""
from __future__ import annotations

from kubectl_kata.doctor.checks_node.state import CheckedNode, fmt_list
from kubectl_kata.doctor.findings import OK, WARNING

# kata-operator (OCP 4.6/4.7) payload packages and what kata-containers Conflicts with (DOMAIN 4.5, 5)
LEGACY_PACKAGES = ("kata-runtime", "kata-osbuilder", "kata-agent", "kata-shim", "kata-proxy", "kata-ksm-throttler")

LEGACY_FILES = (
    ("/etc/yum.repos.d/packages.repo", "kata-operator payload repo file"),
    ("/opt/kata-install", "kata-operator payload directory"),
    ("/usr/local/kata", "kata-operator unpacked payload"),
    ("/etc/systemd/system/kata-osbuilder-generate.service", "kata-operator 'Hacky service' unit override"),
)

LEGACY_CRIO_CONF = "/etc/crio/crio.conf.d/50-kata.conf"


def legacy_leftovers(node: CheckedNode) -> None:
    cid = "node.legacy-leftovers"
    if node.missing("paths"):
        return
    found = [(p, what) for p, what in LEGACY_FILES if node.facts.path_present(p)]
    if found:
        node.add(cid, WARNING, "legacy kata-operator leftovers on the node: %s" % fmt_list(p for p, _ in found),
                 "remove them on the node (`rm -rf %s`) and delete MC 50-kata-crio-dropin if present"
                 % " ".join(p for p, _ in found), files=[{"path": p, "what": w} for p, w in found])
    else:
        node.add(cid, OK, "no legacy kata-operator leftovers")
