"""``upgrade --check --to-version V | --to-image PULLSPEC``: will the target release still carry kata?

Reads (nothing is written, no pod started):

1. the cluster once: version, pools, nodes, MachineConfigs, the ``machine-config-osimageurl`` ConfigMap and the
   pull secret (for ``oc image extract``; kept in memory and in a 0600 file in a private temp dir only);
2. the target's extensions image with ``oc adm release info <release> --image-for=<tag>``: the tag per DOMAIN
   1.5 (``machine-os-content`` for 4.11 and older, ``rhel-coreos-8-extensions`` for 4.12,
   ``rhel-coreos-extensions`` later); ``--to-version`` names the release image
   ``quay.io/openshift-release-dev/ocp-release:<V>-<arch>`` (``-multi`` when the cluster's nodes have several
   architectures); ``--to-image`` is asked for its version first (``--output=jsonpath={.metadata.version}``);
3. the repo metadata of the target's and of the current extensions image, per architecture of the kata nodes,
   exactly as doctor reads it (doctor.expected.extract_from_release).

Exit codes as doctor: 0 fine, 1 a problem in the target, 3 could not check (one line naming the cause).
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from typing import Dict, List, Optional

from ..core import support
from ..core import target_check as tc
from ..core.constants import EXTENSION, MC_NAME, WORKER_POOL
from ..core.objects import mc_extensions, mc_role
from ..core.preflight import find, node_arch
from ..core.selectors import primary_pool_for_node
from ..errors import KataError
from ..status import ExitStatus
from .doctor.expectation import read_pull_secret

__all__ = ["TargetCheckRequest", "CheckFailed", "check_target"]

RELEASE_REPO = "quay.io/openshift-release-dev/ocp-release"
OSIMAGEURL_CM = ("machine-config-osimageurl", "openshift-machine-config-operator")
GOARCH_TO_UNAME = {"amd64": "x86_64", "arm64": "aarch64", "s390x": "s390x", "ppc64le": "ppc64le"}


class CheckFailed(KataError):
    """The target could not be checked (exit 3, as doctor's 'could not run')."""

    exit_status = ExitStatus.CLUSTER_ERROR


@dataclass
class TargetCheckRequest:
    to_version: Optional[str] = None
    to_image: Optional[str] = None
    output: str = "table"


def _kata_pools(facts: dict) -> List[str]:
    """Pools kata runs on: the role of the extension MachineConfig (ours or the operator's); else every pool
    whose target rendered config requests the extension."""
    mc = find(facts.get("mcs") or [], MC_NAME)
    if mc is not None and EXTENSION in mc_extensions(mc) and mc_role(mc):
        return [mc_role(mc)]
    out = []
    for p in facts.get("pools") or []:
        target = (((p.get("spec") or {}).get("configuration") or {}).get("name"))
        rendered = find(facts.get("mcs") or [], target) if target else None
        if rendered is not None and EXTENSION in mc_extensions(rendered):
            out.append((p.get("metadata") or {}).get("name"))
    return out


def _arch_nodes(facts: dict, pools: List[str]) -> Dict[str, List[str]]:
    out: Dict[str, List[str]] = {}
    all_pools = facts.get("pools") or []
    for n in facts.get("nodes") or []:
        if primary_pool_for_node(n, all_pools) in pools:
            arch = GOARCH_TO_UNAME.get(node_arch(n), node_arch(n))
            out.setdefault(arch, []).append((n.get("metadata") or {}).get("name"))
    return out


def _run_oc(env, oc_path: str, argv: List[str], timeout: float = 120.0):
    from ..probe.process import run_command

    return run_command([oc_path] + argv, timeout_s=timeout, env=env.environ, grace_s=5.0)


def _oc_error(out, what: str) -> str:
    if getattr(out, "start_error", None):
        return "cannot run oc: %s" % out.start_error
    if getattr(out, "stopped", False):
        return "%s took too long" % what
    err = out.stderr.decode("utf-8", "replace").strip().splitlines()
    line = next((ln for ln in reversed(err) if ln.lower().startswith("error")), err[-1] if err else "")
    return "%s failed: %s" % (what, line or "exit status %s" % out.rc)


def _release_for_version(version: str, arches: List[str]) -> str:
    arch = arches[0] if len(set(arches)) == 1 else "multi"
    return "%s:%s-%s" % (RELEASE_REPO, support.format_version(version), arch)


def _tags_for(version: Optional[str]) -> List[str]:
    if version:
        return list(support.extensions_image_source(version).tags[:1])
    return ["rhel-coreos-extensions", "rhel-coreos-8-extensions", "machine-os-content"]


def check_target(env, conn, req: TargetCheckRequest) -> dict:
    from ..doctor import expected as ex
    from ..probe.argv import conn_global_flags
    from .cluster_facts import gather, open_cluster, require_openshift

    if req.to_version:
        try:
            support.parse_ocp_version(req.to_version)
        except ValueError as exc:
            raise CheckFailed("unknown target version: %s" % exc) from None
    cluster = open_cluster(conn, env)
    facts = gather(cluster, with_pods=False)
    require_openshift(facts)
    pools = _kata_pools(facts)
    note = None
    if not pools:
        pools = [WORKER_POOL]
        note = "kata is not enabled on any pool: the worker pool's nodes are checked"
    arch_nodes = _arch_nodes(facts, pools)
    if not arch_nodes:
        raise CheckFailed("no node in pool(s) %s: nothing to check" % ", ".join(pools))
    oc_path = shutil.which("oc", path=env.environ.get("PATH", os.defpath))
    if oc_path is None:
        raise CheckFailed("oc is not on PATH (needed for `oc adm release info` and `oc image extract`)")
    flags = conn_global_flags(conn)

    # 1. the target's extensions image
    version = req.to_version
    release = req.to_image or _release_for_version(version, sorted(arch_nodes))
    if req.to_image:
        out = _run_oc(env, oc_path, flags + ["adm", "release", "info", release,
                                             "--output=jsonpath={.metadata.version}"])
        if out.rc != 0 or getattr(out, "start_error", None):
            raise CheckFailed(_oc_error(out, "oc adm release info %s" % release))
        version = out.stdout.decode("utf-8", "replace").strip() or None
    tag, image, last_err = None, None, None
    for t in _tags_for(version):
        out = _run_oc(env, oc_path, flags + ["adm", "release", "info", release, "--image-for=" + t])
        if out.rc == 0 and out.stdout.strip():
            tag, image = t, out.stdout.decode("utf-8", "replace").strip()
            break
        last_err = _oc_error(out, "oc adm release info %s --image-for=%s" % (release, t))
        if "no image tag" not in last_err:
            break
    if image is None:
        raise CheckFailed(last_err or "the release %s names no extensions image" % release)
    old_layout = tag == "machine-os-content"
    target_info = {"image": image, "repo_path": "/extensions/" if old_layout else "/usr/share/rpm-ostree/",
                   "found_in": "oc adm release info --image-for=%s" % tag}

    secret = read_pull_secret(cluster)

    def run(argv, timeout):
        return _run_oc(env, oc_path, list(argv[1:]), timeout)

    arches = sorted(arch_nodes)
    try:
        target = ex.extract_from_release(target_info, arches, oc_path="oc", pull_secret=secret, run=run,
                                         global_flags=flags, version=version)
    except ex.ExpectationError as exc:
        secret = None
        raise CheckFailed(str(exc)) from None

    # 2. what the nodes get today (for the version changes); failing here is only a warning
    current, current_note, current_image = None, None, None
    cm = cluster.get("ConfigMap", OSIMAGEURL_CM[0], OSIMAGEURL_CM[1])
    pool_obj = find(facts.get("pools") or [], pools[0])
    target_name = (((pool_obj or {}).get("spec") or {}).get("configuration") or {}).get("name")
    rendered = find(facts.get("mcs") or [], target_name) if target_name else None
    info = ex.locate_extensions_image(cm, rendered, facts.get("version"))
    if info is None:
        current_note = "the current release's extensions image is not named in the cluster"
    else:
        current_image = info["image"]
        try:
            cur = ex.extract_from_release(info, arches, oc_path="oc", pull_secret=secret, run=run,
                                          global_flags=flags, version=facts.get("version"))
            current = cur.packages
        except ex.ExpectationError as exc:
            current_note = str(exc)
    secret = None

    doc = tc.compare(current, target.packages, target.missing, arch_nodes, version, current_note)
    doc["target"] = {"version": version, "release": release, "tag": tag, "extensionsImage": image}
    doc["current"] = {"version": facts.get("version"), "extensionsImage": current_image}
    doc["pools"] = pools
    doc["notes"] = ([note] if note else []) + list(target.notes)
    return doc
