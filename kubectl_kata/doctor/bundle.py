"""Support bundles: ``doctor --bundle PATH`` writes one, ``doctor --from PATH`` re-analyses it offline.

Layout (a ``.tar.gz`` whose members sit under one top directory ``kata-doctor-bundle/``; ``--from`` also
accepts that directory unpacked, or the directory's contents at the root)::

    manifest.json                 plugin version, creation time, via, scope, commands run (secrets redacted),
                                  per-node {ok, reason, error}, layout version
    report.json                   the report printed with -o json
    cluster/facts.json            the cluster objects doctor used (nodes, pools, MachineConfigs,
                                  RuntimeClasses, KataConfigs, osimageurl ConfigMap, version); Secrets
                                  redacted like `oc adm inspect`, MachineConfig file contents replaced by
                                  "<n> bytes long" (00-worker carries the pull secret)
    expected/expectation.json     the expected package set used (kind DoctorExpectation; also valid for
                                  --expected)
    nodes/<node>/probe.json       probe outcome: ok, reason, error, notes, stderr tail, redacted command,
                                  duration, and {key: rc} of every collected item
    nodes/<node>/raw/<key>.stdout the node command's stdout, verbatim (bytes as collected)
    nodes/<node>/raw/<key>.stderr its stderr, verbatim (only when not empty)

Never in a bundle: the pull secret, the kubeconfig, bearer tokens, private keys.

Reading is defensive: member names must be relative, without ``..`` and inside the top directory; only
regular files and directories are accepted (no links, devices or FIFOs); every member is capped at
``MAX_MEMBER_BYTES``, the whole bundle at ``MAX_TOTAL_BYTES`` (decompressed) and ``MAX_MEMBERS`` entries.
Members are read into memory, never extracted to disk. Any violation is a ``BundleError`` (exit 2).
"""
from __future__ import annotations

import datetime
import io
import json
import os
import re
import tarfile
import tempfile
import threading
from typing import Any, Dict, Optional

from kubectl_kata import __version__
from kubectl_kata.core.nodefacts import RawResult
from kubectl_kata.core.redact import redact_facts
from kubectl_kata.doctor.archive import DIR, FILE, LINK, Entry, dir_entries, tar_entries
from kubectl_kata.doctor.expected import Expectation, ExpectationError
from kubectl_kata.doctor.model import Collected, ProbeRecord
from kubectl_kata.errors import BundleError

__all__ = ["write_bundle", "BundleWriter", "read_bundle", "load_members", "TOP", "LAYOUT_VERSION", "MAX_MEMBER_BYTES",
           "MAX_TOTAL_BYTES", "MAX_MEMBERS"]

TOP = "kata-doctor-bundle"
LAYOUT_VERSION = 1
MAX_MEMBER_BYTES = 64 * 1024 * 1024
MAX_TOTAL_BYTES = 1024 * 1024 * 1024
MAX_MEMBERS = 200_000
_SAFE_PART = re.compile(r"^[A-Za-z0-9_.:@+-]{1,255}$")


def _json(data: Any) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def _safe_part(part: str, what: str) -> str:
    if part in (".", "..") or not _SAFE_PART.match(part):
        raise BundleError("refusing %s %r in a bundle path" % (what, part))
    return part


def node_members(node: str, rec: ProbeRecord) -> Dict[str, bytes]:
    """Relative path -> content of one node's files (``nodes/<node>/...``); names checked first."""
    _safe_part(node, "node name")
    for key in (rec.raw or {}):
        _safe_part(key, "item key")
    files: Dict[str, bytes] = {}
    items = {}
    for key, res in sorted((rec.raw or {}).items()):
        items[key] = res.rc
        files["nodes/%s/raw/%s.stdout" % (node, key)] = bytes(res.stdout)
        if res.stderr:
            files["nodes/%s/raw/%s.stderr" % (node, key)] = bytes(res.stderr)
    files["nodes/%s/probe.json" % node] = _json({
        "node": node, "ok": rec.ok, "reason": rec.reason, "error": rec.error, "notes": rec.notes,
        "stderrTail": rec.stderr_tail, "command": rec.command, "durationSeconds": rec.duration_s,
        "items": items if rec.raw is not None else None})
    return files


FACTS_MEMBER = "cluster/facts.json"


def _facts_member(facts: Dict[str, Any]) -> bytes:
    # redacted again at write time: a bundle re-written from --from or a must-gather gets the same rules
    return _json(redact_facts(facts))


def _run_members(col: Collected, doc, with_facts: bool = True) -> Dict[str, bytes]:
    """The files that need the whole run: cluster facts (unless already written), expectation, report and
    manifest."""
    nodes_manifest = {node: {"ok": rec.ok, "reason": rec.reason, "error": rec.error}
                      for node, rec in sorted(col.probes.items())}
    files = {FACTS_MEMBER: _facts_member(col.facts)} if with_facts else {}
    files.update({
        "expected/expectation.json": _json(col.expectation.to_dict()),
        "report.json": _json(doc),
        "manifest.json": _json({
            "apiVersion": "kata.kubectl.io/v1", "kind": "DoctorBundle", "layoutVersion": LAYOUT_VERSION,
            "pluginVersion": __version__,
            "createdAt": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "via": col.via, "viaReason": getattr(col, "via_reason", None), "scope": col.scope,
            "commands": col.commands, "nodes": nodes_manifest,
        }),
    })
    return files


def bundle_members(col: Collected, doc) -> Dict[str, bytes]:
    """Relative path -> content of every bundle file (without the top directory)."""
    files: Dict[str, bytes] = {}
    for node, rec in sorted(col.probes.items()):
        files.update(node_members(node, rec))
    files.update(_run_members(col, doc))
    return files


class BundleWriter:
    """A bundle written while doctor runs: ``add_node`` as each node's probe finishes (thread-safe; it
    is called from the probe workers, so compressing the raw outputs overlaps the other nodes'
    collection), then ``finish(col, doc)`` adds what is still missing and the run-wide files and
    renames the temp file into place. ``abort()`` (or any failure in ``finish``) removes the temp
    file: a bundle is either complete or absent."""

    def __init__(self, path: str) -> None:
        target = os.path.abspath(path)
        if os.path.isdir(target):
            target = os.path.join(target, "kata-doctor-bundle.tar.gz")
        self.target = target
        fd, self.tmp = tempfile.mkstemp(prefix=".kata-doctor-", suffix=".tar.gz",
                                        dir=os.path.dirname(target) or ".")
        self._raw = os.fdopen(fd, "wb")
        # gzip -6 (the gzip CLI default): within 10% of -9's size at about half the CPU
        self._tar = tarfile.open(fileobj=self._raw, mode="w:gz", format=tarfile.PAX_FORMAT, compresslevel=6)
        self._now = int(datetime.datetime.now().timestamp())
        self._dirs = {""}
        self._nodes = set()
        self._lock = threading.Lock()
        self._failed: Optional[BaseException] = None
        self._closed = False
        self._facts_written: Optional[Dict[str, Any]] = None
        self._add_dir("")

    def _add_dir(self, sub: str) -> None:
        ti = tarfile.TarInfo(TOP + ("/" + sub if sub else ""))
        ti.type, ti.mode, ti.mtime = tarfile.DIRTYPE, 0o755, self._now
        self._tar.addfile(ti)

    def _add(self, name: str, data: bytes) -> None:
        # directory entries for the top-level directories only: tar creates the per-node ones on
        # extraction, and two extra headers per node would push one node's files past gzip's 32 KiB
        # window, so consecutive (mostly identical) nodes would no longer compress against each other
        top = name.split("/")[0] if "/" in name else ""
        if top not in self._dirs:
            self._dirs.add(top)
            self._add_dir(top)
        ti = tarfile.TarInfo("%s/%s" % (TOP, name))
        ti.size, ti.mode, ti.mtime = len(data), 0o644, self._now
        self._tar.addfile(ti, io.BytesIO(data))

    def add_node(self, node: str, rec: ProbeRecord) -> None:
        files = node_members(node, rec)
        with self._lock:
            if self._closed or self._failed is not None or node in self._nodes:
                return
            self._nodes.add(node)
            try:
                for name in sorted(files):
                    self._add(name, files[name])
            except BaseException as exc:
                self._failed = exc
                raise

    def add_facts(self, facts: Dict[str, Any]) -> None:
        """Write ``cluster/facts.json`` now (the collection calls this while the nodes are still being probed);
        ``finish`` writes it only if the run's facts are not this very object."""
        data = _facts_member(facts)
        with self._lock:
            if self._closed or self._failed is not None or self._facts_written is not None:
                return
            try:
                self._add(FACTS_MEMBER, data)
            except BaseException as exc:
                self._failed = exc
                raise
            self._facts_written = facts

    def finish(self, col: Collected, doc) -> str:
        try:
            with self._lock:
                if self._failed is not None:
                    raise self._failed
                pending = {n: r for n, r in col.probes.items() if n not in self._nodes}
            for node, rec in sorted(pending.items()):
                self.add_node(node, rec)
            with self._lock:
                written = self._facts_written
            if written is not None and written is not col.facts:
                raise RuntimeError("the bundle's cluster facts were written from other facts than the run's")
            run_files = _run_members(col, doc, with_facts=written is None)
            with self._lock:
                for name in sorted(run_files):
                    self._add(name, run_files[name])
                self._closed = True
                self._tar.close()
                self._raw.close()
            os.chmod(self.tmp, 0o600)
            os.replace(self.tmp, self.target)
        except BaseException:
            self.abort()
            raise
        return self.target

    def abort(self) -> None:
        with self._lock:
            self._closed = True
            for closer in (self._tar.close, self._raw.close):
                try:
                    closer()
                except (OSError, ValueError, tarfile.TarError):
                    pass
        try:
            os.unlink(self.tmp)
        except OSError:
            pass


def write_bundle(path: str, col: Collected, doc) -> str:
    """Write the bundle as ``.tar.gz`` (atomically: temp file then rename). Returns the path written."""
    return BundleWriter(path).finish(col, doc)


# --------------------------------------------------------------------------- reading

def _strip_top(members: Dict[str, bytes]) -> Dict[str, bytes]:
    if "manifest.json" in members:
        return members
    tops = {n.split("/", 1)[0] for n in members}
    if len(tops) == 1:
        tops.pop()
        stripped = {n.split("/", 1)[1]: v for n, v in members.items() if "/" in n}
        if "manifest.json" in stripped:
            return stripped
    raise BundleError("not a kubectl-kata doctor bundle: manifest.json not found")


def _take(e: Entry, total: int, unpacked: str) -> int:
    """The bytes read so far once ``e`` is read too; ``BundleError`` past a member's or the bundle's cap."""
    if e.size > MAX_MEMBER_BYTES:
        raise BundleError("bundle member %r is %d bytes, more than the %d-byte limit"
                          % (e.name, e.size, MAX_MEMBER_BYTES))
    total += e.size
    if total > MAX_TOTAL_BYTES:
        raise BundleError("bundle is larger than %d bytes%s" % (MAX_TOTAL_BYTES, unpacked))
    return total


def _from_tar(path: str) -> Dict[str, bytes]:
    members: Dict[str, bytes] = {}
    total = 0
    count = 0
    for e in tar_entries(path, "bundle", stream=False):
        count += 1
        if count > MAX_MEMBERS:
            raise BundleError("bundle has more than %d members" % MAX_MEMBERS)
        if e.kind == DIR:
            continue
        if e.kind != FILE:
            raise BundleError("refusing %s %r in bundle (only regular files are accepted)" % (e.kind, e.name))
        total = _take(e, total, " unpacked")
        members["/".join(e.parts)] = e.read(MAX_MEMBER_BYTES)
    return members


def _from_dir(root: str) -> Dict[str, bytes]:
    members: Dict[str, bytes] = {}
    total = 0
    base = os.path.realpath(root)
    for e in dir_entries(root, "bundle"):
        if e.kind == LINK:
            real = os.path.realpath(e.path)
            if not (real == base or real.startswith(base + os.sep)):
                raise BundleError("refusing link %r in bundle: it points outside the bundle" % e.name)
            raise BundleError("refusing link %r in bundle (only regular files are accepted)" % e.name)
        if e.kind == DIR:
            continue
        if e.kind != FILE:
            raise BundleError("refusing special file %r in bundle" % e.name)
        total = _take(e, total, "")
        if len(members) >= MAX_MEMBERS:
            raise BundleError("bundle has more than %d members" % MAX_MEMBERS)
        members["/".join(e.parts)] = e.read(MAX_MEMBER_BYTES)
    return members


def load_members(path: str) -> Dict[str, bytes]:
    if not os.path.exists(path):
        raise BundleError("bundle %s does not exist" % path)
    members = _from_dir(path) if os.path.isdir(path) else _from_tar(path)
    return _strip_top(members)


def _load_json(members: Dict[str, bytes], name: str) -> Any:
    if name not in members:
        raise BundleError("bundle is missing %s" % name)
    try:
        return json.loads(members[name].decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BundleError("bundle file %s is not valid JSON" % name) from None


_JSON_TYPES = ((dict, "an object"), (list, "a list"), (str, "a string"), (bool, "a boolean"),
               ((int, float), "a number"), (type(None), "null"))


def _kind_of(v: Any) -> str:
    for t, name in _JSON_TYPES:
        if isinstance(v, t):
            return name
    return type(v).__name__


def _want(v: Any, types, file: str, field: str, what: str, optional: bool = True) -> None:
    """One line naming the bundle file and the field when ``v`` does not have the type the analysis reads."""
    if v is None and optional:
        return
    if isinstance(v, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
        ok = False
    else:
        ok = isinstance(v, types)
    if not ok:
        raise BundleError("bundle file %s: field %s is %s, expected %s" % (file, field, _kind_of(v), what))


_OBJECT_MAPS = (("metadata",), ("metadata", "labels"), ("metadata", "annotations"), ("spec",), ("status",),
                ("spec", "configuration"), ("status", "configuration"), ("spec", "machineConfigSelector"),
                ("spec", "nodeSelector"), ("spec", "config"), ("scheduling",), ("scheduling", "nodeSelector"),
                ("data",))
_OBJECT_LISTS = (("spec", "extensions"), ("status", "conditions"), ("spec", "configuration", "source"))


def _check_object(obj: Any, file: str, where: str) -> None:
    _want(obj, dict, file, where, "an object", optional=False)
    for path in _OBJECT_MAPS + _OBJECT_LISTS:
        cur = obj
        for i, key in enumerate(path):
            if not isinstance(cur, dict):
                break
            cur = cur.get(key)
            if cur is None:
                break
            last = i == len(path) - 1
            if last and path in _OBJECT_LISTS:
                _want(cur, list, file, "%s.%s" % (where, ".".join(path)), "a list")
            else:
                _want(cur, dict, file, "%s.%s" % (where, ".".join(path[:i + 1])), "an object")
    name = (obj.get("metadata") or {}).get("name")
    _want(name, str, file, "%s.metadata.name" % where, "a string")


def _check_facts(facts: Any) -> None:
    f = "cluster/facts.json"
    _want(facts, dict, f, "(top level)", "an object", optional=False)
    _want(facts.get("version"), str, f, "version", "a string")
    for key in ("nodes", "pools", "mcs", "runtimeclasses", "kataconfigs"):
        items = facts.get(key)
        _want(items, list, f, key, "a list")
        for i, obj in enumerate(items or []):
            _check_object(obj, f, "%s[%d]" % (key, i))
    if facts.get("osimageurl") is not None:
        _check_object(facts["osimageurl"], f, "osimageurl")


def _check_probe(p: Any, pj: str) -> None:
    _want(p, dict, pj, "(top level)", "an object", optional=False)
    _want(p.get("ok"), bool, pj, "ok", "a boolean")
    for key in ("reason", "error", "stderrTail", "node"):
        _want(p.get(key), str, pj, key, "a string")
    for key in ("notes", "command"):
        _want(p.get(key), list, pj, key, "a list of strings")
        for i, v in enumerate(p.get(key) or []):
            _want(v, str, pj, "%s[%d]" % (key, i), "a string", optional=False)
    _want(p.get("durationSeconds"), (int, float), pj, "durationSeconds", "a number")
    _want(p.get("items"), dict, pj, "items", "an object")


def read_bundle(path: str) -> Collected:
    """The :class:`~kubectl_kata.doctor.model.Collected` a bundle holds, rebuilt for re-analysis."""
    members = load_members(path)
    manifest = _load_json(members, "manifest.json")
    if not isinstance(manifest, dict) or manifest.get("kind") != "DoctorBundle":
        raise BundleError("not a kubectl-kata doctor bundle: manifest.json has no kind DoctorBundle")
    if manifest.get("layoutVersion") != LAYOUT_VERSION:
        raise BundleError("bundle layout version %r is not supported (this plugin reads %d)"
                          % (manifest.get("layoutVersion"), LAYOUT_VERSION))
    facts = _load_json(members, "cluster/facts.json")
    _check_facts(facts)
    scope = manifest.get("scope")
    _want(scope, dict, "manifest.json", "scope", "an object", optional=False)
    _want(scope.get("nodes"), list, "manifest.json", "scope.nodes", "a list of node names", optional=False)
    for key in ("pool", "selector"):
        _want(scope.get(key), str, "manifest.json", "scope.%s" % key, "a string")
    _want(manifest.get("commands"), list, "manifest.json", "commands", "a list")
    try:
        expectation = Expectation.from_dict(_load_json(members, "expected/expectation.json"),
                                            "bundle file expected/expectation.json")
    except ExpectationError as exc:
        raise BundleError(str(exc)) from None
    scope = manifest.get("scope") or {}
    if not isinstance(facts, dict) or not isinstance(scope, dict) or not isinstance(scope.get("nodes"), list):
        raise BundleError("bundle manifest/facts are malformed")
    probes: Dict[str, ProbeRecord] = {}
    for node in scope["nodes"]:
        if not isinstance(node, str):
            raise BundleError("bundle scope lists a non-string node")
        _safe_part(node, "node name")
        pj = "nodes/%s/probe.json" % node
        if pj not in members:
            continue
        p = _load_json(members, pj)
        _check_probe(p, pj)
        raw: Optional[Dict[str, RawResult]] = None
        items = p.get("items")
        if isinstance(items, dict):
            raw = {}
            for key, rc in items.items():
                _safe_part(key, "item key")
                if not isinstance(rc, int) or isinstance(rc, bool):
                    raise BundleError("%s: rc of %s is not an integer" % (pj, key))
                out = members.get("nodes/%s/raw/%s.stdout" % (node, key))
                if out is None:
                    raise BundleError("bundle is missing nodes/%s/raw/%s.stdout" % (node, key))
                raw[key] = RawResult(out, members.get("nodes/%s/raw/%s.stderr" % (node, key), b""), rc)
        probes[node] = ProbeRecord(
            node=node, ok=bool(p.get("ok")), reason=str(p.get("reason") or ""),
            error=p.get("error") if isinstance(p.get("error"), str) else None, raw=raw,
            notes=[str(n) for n in p.get("notes") or []], stderr_tail=str(p.get("stderrTail") or ""),
            command=[str(c) for c in p.get("command") or []], duration_s=float(p.get("durationSeconds") or 0.0))
    commands = manifest.get("commands") if isinstance(manifest.get("commands"), list) else []
    return Collected(facts=facts, scope={"pool": scope.get("pool"), "nodes": list(scope["nodes"]),
                                         "selector": scope.get("selector")},
                     probes=probes, expectation=expectation, via=manifest.get("via"), commands=commands,
                     via_reason=manifest.get("viaReason") if isinstance(manifest.get("viaReason"), str) else None)

