"""Compose must-gathers in the real layout from the node scenarios of tests/nodesim.py and the seeded cluster
objects of tests/fakeapi (the same data the doctor tests use).

Layout sources (see tests/fixtures/mustgather/README.md):
- openshift/oc ``pkg/cli/admin/mustgather/mustgather.go``: ``must-gather.local.<random int>/`` holding
  ``must-gather.logs``, ``timestamp``, ``event-filter.html`` and one directory per image named from the image ID
  with every run of non-alphanumerics replaced by ``-``; each holds ``gather.logs`` and the pod's ``/must-gather``.
- openshift/oc ``pkg/cli/admin/inspect``: ``cluster-scoped-resources/<group>/<plural>/<name>.yaml`` (``core`` for
  the core group), Lists such as ``config.openshift.io/clusterversions.yaml`` and
  ``namespaces/<ns>/core/configmaps.yaml``; objects as YAML with sorted keys.
- openshift/enhancements ``enhancements/oc/must-gather.md`` (the default must-gather follows the
  clusteroperators' relatedObjects: pools, every MachineConfig, the MCO namespace).
- openshift/sandboxed-containers-operator ``must-gather/collection-scripts/``: ``gather`` (``oc adm inspect
  nodes``), ``gather_crds``, ``gather_nodes`` (``nodes/<node>/version`` = ``rpm -qa | egrep
  '(kata-containers|qemu)' | sort``, ``<node>_logs_crio``/``_logs_kubelet``, ``skipped_nodes.txt``),
  ``gather_sandboxed_containers_logs`` (``sandboxed-containers/kataconfig_description``,
  ``sandboxed-containers/mcps/<pool>_description``).
Journal lines, describe texts and the image digests are illustrative, not from a real cluster.

    python3 -m tests.mustgather_sim            # rewrites tests/fixtures/mustgather/
"""
from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import sys
import tarfile
from typing import Dict, Iterable, Optional

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from kubectl_kata.core.parse.rpmdb import parse_rpm_qa  # noqa: E402
from tests import nodesim  # noqa: E402
from tests.fakeapi.seeds import seed  # noqa: E402
from tests.fakeapi.store import ObjectStore  # noqa: E402

FIXTURES = os.path.join(ROOT, "tests", "fixtures", "mustgather")
VERSION_RE = re.compile(r"(kata-containers|qemu)")
DEFAULT_IMAGE = "quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:" + hashlib.sha256(b"must-gather").hexdigest()
OSC_IMAGE = ("registry.redhat.io/openshift-sandboxed-containers/osc-must-gather-rhel9@sha256:"
             + hashlib.sha256(b"osc-must-gather").hexdigest())
STAMP = "2026-11-26 12:31:07.201349551 +0000 UTC m=+0.051393471"


def image_dir(image: str) -> str:
    """oc's directory name for an image: each run of non-alphanumerics becomes '-'."""
    return re.sub(r"[^A-Za-z0-9]+", "-", image)


def seeded_store(workers: int = 3, operator: bool = True, ocp: str = "4.16.3") -> ObjectStore:
    store = ObjectStore()
    seed(store, ocp_version=ocp, workers=workers, operator=operator)
    return store


class _NoAliasDumper(yaml.SafeDumper):
    """oc (Go's sigs.k8s.io/yaml) never writes anchors/aliases; PyYAML would for shared sub-objects."""

    def ignore_aliases(self, data):
        return True


def _dump(path: str, obj) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fh:
        yaml.dump(obj, fh, Dumper=_NoAliasDumper, sort_keys=True, default_flow_style=False)


def version_text(scenario: Optional[str], node: str, release: str = "4.16") -> str:
    """``rpm -qa | egrep '(kata-containers|qemu)' | sort`` on a node in ``scenario`` (None: no kata/qemu)."""
    if scenario is None:
        return ""
    raw = nodesim.make_node_raw(scenario, node=node, release=release)
    lines = ["%s-%s-%s.%s" % (p.name, p.version, p.release, p.arch) for p in parse_rpm_qa(raw["rpm-qa"][0])]
    return "".join(line + "\n" for line in sorted(line for line in lines if VERSION_RE.search(line)))


def _journal(node: str, unit: str) -> str:
    if unit == "crio":
        return ("Nov 26 08:52:39.118822 %s systemd[1]: Starting Container Runtime Interface for OCI (CRI-O)...\n"
                "Nov 26 08:52:39.305141 %s crio[2187]: time=\"2026-11-26 08:52:39.305030341Z\" level=info "
                "msg=\"Starting CRI-O, version: 1.29.9-3.rhaos4.16.git9c1dc4b.el9, git: unknown(clean)\"\n"
                "Nov 26 08:52:39.512407 %s systemd[1]: Started Container Runtime Interface for OCI (CRI-O).\n"
                % (node, node, node))
    return ("Nov 26 08:52:40.001311 %s systemd[1]: Starting Kubernetes Kubelet...\n"
            "Nov 26 08:52:41.274420 %s kubenswrapper[2301]: I1126 08:52:41.274380    2301 server.go:487] "
            "\"Kubelet version\" kubeletVersion=\"v1.29.8+f10c92d\"\n" % (node, node))


def _describe_kataconfig(kc: Optional[dict]) -> str:
    if kc is None:
        return ""
    conds = (kc.get("status") or {}).get("conditions") or []
    lines = ["Name:         %s" % kc["metadata"]["name"], "Namespace:    ", "Labels:       <none>",
             "Annotations:  <none>", "API Version:  kataconfiguration.openshift.io/v1", "Kind:         KataConfig",
             "Spec:", "  Check Node Eligibility:  false", "  Enable Peer Pods:        false",
             "  Log Level:               info", "Status:", "  Conditions:"]
    for c in conds:
        lines += ["    Last Transition Time:  %s" % c.get("lastTransitionTime"), "    Message:",
                  "    Reason:", "    Status:                %s" % c.get("status"),
                  "    Type:                  %s" % c.get("type")]
    lines.append("Events:  <none>")
    return "\n".join(lines) + "\n"


def _describe_mcp(pool: dict) -> str:
    st = pool.get("status") or {}
    return ("Name:         %s\nNamespace:    \nAPI Version:  machineconfiguration.openshift.io/v1\n"
            "Kind:         MachineConfigPool\nStatus:\n  Configuration:\n    Name:  %s\n  Machine Count:  %s\n"
            "  Ready Machine Count:  %s\n  Updated Machine Count:  %s\nEvents:  <none>\n"
            % (pool["metadata"]["name"], (st.get("configuration") or {}).get("name"), st.get("machineCount"),
               st.get("readyMachineCount"), st.get("updatedMachineCount")))


def write_default(root: str, store: ObjectStore, *, runtimeclasses: bool = False) -> str:
    """The default must-gather's image directory (only what doctor reads, plus its gather.logs)."""
    d = os.path.join(root, image_dir(DEFAULT_IMAGE))
    csr = os.path.join(d, "cluster-scoped-resources")
    for obj in store.list("Node"):
        _dump(os.path.join(csr, "core", "nodes", obj["metadata"]["name"] + ".yaml"), obj)
    for kind, plural in (("MachineConfigPool", "machineconfigpools"), ("MachineConfig", "machineconfigs")):
        for obj in store.list(kind):
            _dump(os.path.join(csr, "machineconfiguration.openshift.io", plural, obj["metadata"]["name"] + ".yaml"),
                  obj)
    _dump(os.path.join(csr, "config.openshift.io", "clusterversions.yaml"),
          {"apiVersion": "config.openshift.io/v1", "kind": "ClusterVersionList", "metadata": {"resourceVersion": ""},
           "items": store.list("ClusterVersion")})
    if runtimeclasses:
        for obj in store.list("RuntimeClass"):
            _dump(os.path.join(csr, "node.k8s.io", "runtimeclasses", obj["metadata"]["name"] + ".yaml"), obj)
    ns = "openshift-machine-config-operator"
    _dump(os.path.join(d, "namespaces", ns, ns + ".yaml"), store.get("Namespace", ns))
    _dump(os.path.join(d, "namespaces", ns, "core", "configmaps.yaml"),
          {"apiVersion": "v1", "kind": "ConfigMapList", "metadata": {"resourceVersion": ""},
           "items": store.list("ConfigMap", ns)})
    with open(os.path.join(d, "gather.logs"), "w") as fh:
        fh.write("Gathering data for ns/openshift-machine-config-operator...\n")
    return d


def write_operator(root: str, store: ObjectStore, scenarios: Dict[str, Optional[str]], *,
                   skipped: Iterable[str] = (), no_version: Iterable[str] = (), release: str = "4.16") -> str:
    """The sandboxed containers operator's must-gather image directory."""
    d = os.path.join(root, image_dir(OSC_IMAGE))
    csr = os.path.join(d, "cluster-scoped-resources")
    for obj in store.list("Node"):
        _dump(os.path.join(csr, "core", "nodes", obj["metadata"]["name"] + ".yaml"), obj)
    nodes_dir = os.path.join(d, "nodes")
    os.makedirs(nodes_dir, exist_ok=True)
    skipped = list(skipped)
    if skipped:
        with open(os.path.join(nodes_dir, "skipped_nodes.txt"), "w") as fh:
            for n in skipped:
                fh.write("Failed to collect node-gather data from node %s due to pod scheduling failure.\n" % n)
    for obj in store.list("Node"):
        name = obj["metadata"]["name"]
        nd = os.path.join(nodes_dir, name)
        os.makedirs(nd, exist_ok=True)
        for unit in ("kubelet", "crio"):
            with open(os.path.join(nd, "%s_logs_%s" % (name, unit)), "w") as fh:
                fh.write(_journal(name, unit))
        if name in no_version:
            continue
        with open(os.path.join(nd, "version"), "w") as fh:
            fh.write(version_text(scenarios.get(name), name, release))
    osc = os.path.join(d, "sandboxed-containers")
    os.makedirs(os.path.join(osc, "mcps"), exist_ok=True)
    kcs = store.list("KataConfig")
    with open(os.path.join(osc, "kataconfig_description"), "w") as fh:
        fh.write("".join(_describe_kataconfig(kc) for kc in kcs))
    for pool in store.list("MachineConfigPool"):
        if pool["metadata"]["name"] in ("master", "worker"):
            with open(os.path.join(osc, "mcps", pool["metadata"]["name"] + "_description"), "w") as fh:
                fh.write(_describe_mcp(pool))
    with open(os.path.join(d, "gather.logs"), "w") as fh:
        fh.write("Inspecting resource nodes...\nWaiting for node-gather-daemonset to be ready\n")
    return d


def write_mustgather(dest: str, store: ObjectStore, scenarios: Dict[str, Optional[str]], *, default: bool = True,
                     operator: bool = True, run_id: str = "5550001", **kw) -> str:
    """``dest/must-gather.local.<run_id>/`` with the chosen image directories; returns its path."""
    root = os.path.join(dest, "must-gather.local." + run_id)
    os.makedirs(root, exist_ok=True)
    images = []
    if default:
        write_default(root, store, runtimeclasses=kw.pop("runtimeclasses", False))
        images.append(DEFAULT_IMAGE)
    if operator:
        write_operator(root, store, scenarios, **kw)
        images.append(OSC_IMAGE)
    with open(os.path.join(root, "timestamp"), "w") as fh:
        fh.write("%s\n%s\n" % (STAMP, STAMP))
    with open(os.path.join(root, "must-gather.logs"), "w") as fh:
        fh.write("".join("[must-gather      ] OUT Using must-gather plug-in image: %s\n" % i for i in images))
    with open(os.path.join(root, "event-filter.html"), "w") as fh:
        fh.write("<html><body>events</body></html>\n")
    return root


def tar_gz(src_dir: str, dest: str) -> str:
    with tarfile.open(dest, "w:gz") as tar:
        tar.add(src_dir, arcname=os.path.basename(src_dir))
    return dest


# --------------------------------------------------------------------------- hostile archives

def _tar_with(dest: str, members) -> str:
    """members: (TarInfo, bytes or None)."""
    with tarfile.open(dest, "w:gz") as tar:
        for ti, data in members:
            tar.addfile(ti, io.BytesIO(data) if data is not None else None)
    return dest


def _file(name: str, data: bytes) -> tuple:
    ti = tarfile.TarInfo(name)
    ti.size, ti.mode, ti.mtime = len(data), 0o644, 1764160000
    return ti, data


def _node_yaml() -> bytes:
    return yaml.safe_dump({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "worker-0"}}).encode()


def hostile(dest_dir: str) -> Dict[str, str]:
    """Archives a must-gather reader must refuse: traversal, a symlink, a device, an oversized member."""
    os.makedirs(dest_dir, exist_ok=True)
    mg = "must-gather.local.6660001/img/"
    out = {}
    out["traversal"] = _tar_with(os.path.join(dest_dir, "traversal.tar.gz"), [
        _file(mg + "cluster-scoped-resources/core/nodes/worker-0.yaml", _node_yaml()),
        _file(mg + "../../../../tmp/kata-evil", b"owned\n")])
    link = tarfile.TarInfo(mg + "nodes/worker-0/version")
    link.type, link.linkname, link.mtime = tarfile.SYMTYPE, "/etc/shadow", 1764160000
    out["symlink"] = _tar_with(os.path.join(dest_dir, "symlink.tar.gz"), [
        _file(mg + "cluster-scoped-resources/core/nodes/worker-0.yaml", _node_yaml()), (link, None)])
    dev = tarfile.TarInfo(mg + "cluster-scoped-resources/core/nodes/worker-1.yaml")
    dev.type, dev.devmajor, dev.devminor, dev.mtime = tarfile.CHRTYPE, 1, 3, 1764160000
    out["device"] = _tar_with(os.path.join(dest_dir, "device.tar.gz"), [
        _file(mg + "cluster-scoped-resources/core/nodes/worker-0.yaml", _node_yaml()), (dev, None)])
    big = 33 * 1024 * 1024   # over the 32 MiB per-file limit; zeros compress to ~33 KiB
    out["oversized"] = _tar_with(os.path.join(dest_dir, "oversized.tar.gz"), [
        _file(mg + "cluster-scoped-resources/core/nodes/worker-0.yaml", _node_yaml()),
        _file(mg + "nodes/worker-0/version", b"\0" * big)])
    return out


# --------------------------------------------------------------------------- the committed fixtures

SCENARIOS = {"worker-0": "healthy", "worker-1": "version-skew", "worker-2": "healthy"}


def main() -> int:
    for sub in ("operator-only", "default-only", "merged", "no-kata", "hostile"):
        shutil.rmtree(os.path.join(FIXTURES, sub), ignore_errors=True)
    kata = seeded_store(operator=True)
    write_mustgather(os.path.join(FIXTURES, "operator-only"), kata, SCENARIOS, default=False, run_id="5550001")
    write_mustgather(os.path.join(FIXTURES, "default-only"), kata, SCENARIOS, operator=False, run_id="5550002")
    write_mustgather(os.path.join(FIXTURES, "merged"), kata, SCENARIOS, run_id="5550003", runtimeclasses=True)
    write_mustgather(os.path.join(FIXTURES, "no-kata"), seeded_store(operator=False), {}, run_id="5550004",
                     runtimeclasses=True)
    hostile(os.path.join(FIXTURES, "hostile"))
    print("wrote %s" % FIXTURES)
    return 0


if __name__ == "__main__":
    sys.exit(main())
