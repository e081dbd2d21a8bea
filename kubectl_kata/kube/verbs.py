"""The object verbs of `Cluster` (get, list, create, replace, modify, patch, delete, watch, discovery).

They turn kinds and names into REST paths and resolve OutcomeUnknown (a write sent but not answered) by reading the
object back. They use only what the request path in client.py provides: `self.request`, `self._log`, `self.server`.
"""
from __future__ import annotations

import copy
import json
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from ..errors import ClusterError, Conflict, NotFound
from .failures import OutcomeUnknown, WatchExpired, translate_status
from .resources import resource

FIELD_MANAGER = "kubectl-kata"

PATCH_TYPES = {
    "merge": "application/merge-patch+json",
    "json": "application/json-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "apply": "application/apply-patch+yaml",
}


class ObjectVerbs:
    """Mixin for Cluster: all methods take and return plain dicts."""

    def get(self, kind: str, name: str, namespace: Optional[str] = None) -> Optional[dict]:
        r = resource(kind)
        try:
            return self.request("GET", r.path(name, namespace), what=f"{r.qualified} {name}")
        except NotFound:
            return None

    def list(self, kind: str, namespace: Optional[str] = None, label_selector: Optional[str] = None,
             field_selector: Optional[str] = None) -> dict:
        r = resource(kind)
        query = []
        if label_selector:
            query.append(("labelSelector", label_selector))
        if field_selector:
            query.append(("fieldSelector", field_selector))
        data = self.request("GET", r.path(namespace=namespace), query, what=r.qualified)
        data.setdefault("items", [])
        for item in data["items"]:  # lists omit kind/apiVersion on items
            item.setdefault("kind", kind)
            item.setdefault("apiVersion", r.api_version)
        return data

    def items(self, kind: str, **kw) -> List[dict]:
        return self.list(kind, **kw)["items"]

    def create(self, obj: dict, dry_run: bool = False) -> dict:
        """Create; 409 AlreadyExists raises Conflict (reason "AlreadyExists"). See create_or_get."""
        r = resource(obj["kind"])
        ns = obj.get("metadata", {}).get("namespace")
        name = obj.get("metadata", {}).get("name", "")
        query = [("fieldManager", FIELD_MANAGER)] + ([("dryRun", "All")] if dry_run else [])
        what = f"{r.qualified} {name}"
        try:
            return self.request("POST", r.path(namespace=ns), query, body=obj, what=what)
        except OutcomeUnknown as unknown:
            if dry_run:  # nothing is stored on a dry run: asking again is harmless
                return self._once_more(unknown, "POST", r.path(namespace=ns), query, body=obj, what=what)
            live = self.get(obj["kind"], name, ns)
            if live is None:
                self._log(f"create {what}: no answer, and it is not there: creating it again")
                return self._once_more(unknown, "POST", r.path(namespace=ns), query, body=obj, what=what)
            if contains(live, obj):
                self._log(f"create {what}: no answer, but it is there as sent")
                return live
            raise Conflict(f"conflict: {what} already exists", code=409, reason="AlreadyExists",
                           hint="someone else created it meanwhile; run the command again") from None

    def create_or_get(self, obj: dict, dry_run: bool = False) -> Tuple[dict, bool]:
        """Create `obj`, or -- when it already exists (409 AlreadyExists) -- return the existing object.

        Returns (object, created). The caller decides whether an existing object is acceptable (is it ours,
        does it match?); nothing is overwritten here.
        """
        kind = obj["kind"]
        name = obj.get("metadata", {}).get("name", "")
        ns = obj.get("metadata", {}).get("namespace")
        for _ in range(2):
            try:
                return self.create(obj, dry_run=dry_run), True
            except Conflict as exc:
                if exc.reason != "AlreadyExists":
                    raise
            live = self.get(kind, name, ns)
            if live is not None:
                self._log(f"create {kind} {name}: it already exists (resourceVersion "
                          f"{live.get('metadata', {}).get('resourceVersion')}); using it")
                return live, False
            # deleted between our create and our read: create once more
        raise Conflict(f"conflict: {resource(kind).qualified} {name} keeps appearing and disappearing", code=409,
                       reason="AlreadyExists", hint="something else creates and deletes it; run the command again")

    def replace(self, obj: dict, dry_run: bool = False) -> dict:
        """PUT `obj` (its metadata.resourceVersion makes it conditional: 409 Conflict when it changed)."""
        r = resource(obj["kind"])
        md = obj.get("metadata", {})
        query = [("fieldManager", FIELD_MANAGER)] + ([("dryRun", "All")] if dry_run else [])
        what = f"{r.qualified} {md.get('name', '')}"
        path = r.path(md["name"], md.get("namespace"))
        try:
            return self.request("PUT", path, query, body=obj, what=what)
        except OutcomeUnknown as unknown:
            live = self.get(obj["kind"], md["name"], md.get("namespace"))
            if live is not None and contains(live, obj, ignore_metadata=("resourceVersion",)):
                return live
            raise unknown.error from None

    def modify(self, kind: str, name: str, change: Callable[[dict], Optional[dict]],
               namespace: Optional[str] = None, dry_run: bool = False) -> Tuple[Optional[dict], bool]:
        """Read-modify-write with optimistic concurrency. `change(obj)` returns the new object, or None when
        the intended change no longer applies (already done, or the object is not what we expected).

        On 409 Conflict (someone changed it between our read and our write) the object is read again and
        `change` applied once more. Returns (object, written); (None, False) when the object does not exist.
        """
        for attempt in (1, 2):
            live = self.get(kind, name, namespace)
            if live is None:
                return None, False
            wanted = change(copy.deepcopy(live))
            if wanted is None:
                return live, False
            wanted.setdefault("metadata", {})["resourceVersion"] = live["metadata"].get("resourceVersion")
            try:
                return self.replace(wanted, dry_run=dry_run), True
            except Conflict as exc:
                if exc.reason == "AlreadyExists" or attempt == 2:
                    raise
                self._log(f"update {kind} {name}: changed meanwhile (409 Conflict); reading it again")
        raise AssertionError("unreachable")

    def patch(self, kind: str, name: str, patch: Any, patch_type: str = "merge", namespace: Optional[str] = None,
              dry_run: bool = False, subresource: Optional[str] = None) -> dict:
        r = resource(kind)
        query = [("fieldManager", FIELD_MANAGER)] + ([("dryRun", "All")] if dry_run else [])
        path = r.path(name, namespace, subresource)
        what = f"{r.qualified} {name}"
        try:
            return self.request("PATCH", path, query, body=patch, content_type=PATCH_TYPES[patch_type], what=what)
        except OutcomeUnknown as unknown:
            if dry_run or patch_type != "merge":
                raise unknown.error from None
            live = self.get(kind, name, namespace)
            if live is None:
                raise unknown.error from None
            if merge_patched(live, patch) == live:
                self._log(f"patch {what}: no answer, but the change is there")
                return live
            # a merge patch gives the same result however often it is applied: sending it again is safe
            self._log(f"patch {what}: no answer, and the change is not there: sending it again")
            return self._once_more(unknown, "PATCH", path, query, body=patch,
                                   content_type=PATCH_TYPES[patch_type], what=what)

    def patch_if(self, kind: str, name: str, patch: dict, still_applies: Callable[[dict], bool],
                 namespace: Optional[str] = None, dry_run: bool = False) -> Tuple[Optional[dict], bool]:
        """Merge-patch `name` only while `still_applies(live object)`; the patch carries the resourceVersion
        that was checked, so a concurrent change gives 409 Conflict -- then re-read and re-apply once.

        Returns (object, patched); (None, False) when the object does not exist.
        """
        for attempt in (1, 2):
            live = self.get(kind, name, namespace)
            if live is None:
                return None, False
            if not still_applies(live):
                return live, False
            guarded = copy.deepcopy(patch)
            guarded.setdefault("metadata", {})["resourceVersion"] = live["metadata"].get("resourceVersion")
            try:
                return self.patch(kind, name, guarded, namespace=namespace, dry_run=dry_run), True
            except Conflict:
                if attempt == 2:
                    raise
                self._log(f"patch {kind} {name}: changed meanwhile (409 Conflict); reading it again")
        raise AssertionError("unreachable")

    def delete(self, kind: str, name: str, namespace: Optional[str] = None, dry_run: bool = False,
               uid: Optional[str] = None, resource_version: Optional[str] = None) -> bool:
        """Delete; False when it was already gone. Preconditions make sure we delete what we inspected."""
        r = resource(kind)
        body: Dict[str, Any] = {"kind": "DeleteOptions", "apiVersion": "v1"}
        pre = {}
        if uid:
            pre["uid"] = uid
        if resource_version:
            pre["resourceVersion"] = resource_version
        if pre:
            body["preconditions"] = pre
        query = [("dryRun", "All")] if dry_run else []
        what = f"{r.qualified} {name}"
        try:
            self.request("DELETE", r.path(name, namespace), query, body=body, what=what)
            return True
        except NotFound:
            return False
        except OutcomeUnknown as unknown:
            live = self.get(kind, name, namespace)
            meta = (live or {}).get("metadata") or {}
            if live is None or (uid and meta.get("uid") != uid) or meta.get("deletionTimestamp"):
                if not dry_run:
                    self._log(f"delete {what}: no answer, but it is gone (or going)")
                    return True
            self._log(f"delete {what}: no answer, and it is still there: asking again")
            try:
                self._once_more(unknown, "DELETE", r.path(name, namespace), query, body=body, what=what)
                return True
            except NotFound:
                return False

    def _once_more(self, unknown: OutcomeUnknown, method: str, path: str, query, **kw):
        """Send a mutating request a second time after reading back showed it is needed; no third time."""
        try:
            return self.request(method, path, query, **kw)
        except OutcomeUnknown as again:
            raise again.error from None

    def served(self, group: str, version: str = "v1") -> bool:
        """Does the API server serve this group/version (discovery)?"""
        try:
            self.request("GET", f"/apis/{group}/{version}", what=f"API group {group}/{version}")
            return True
        except NotFound:
            return False

    def server_version(self) -> dict:
        return self.request("GET", "/version", what="server version")

    def watch(self, kind: str, resource_version: Optional[str], namespace: Optional[str] = None,
              name: Optional[str] = None, label_selector: Optional[str] = None,
              timeout_seconds: int = 60) -> Iterator[Tuple[str, dict]]:
        """Yield (type, object) events until the server closes the watch (after timeout_seconds).

        Raises WatchExpired on 410 so the caller can relist. BOOKMARK events are swallowed.
        """
        r = resource(kind)
        query: List[Tuple[str, Any]] = [("watch", "true"), ("timeoutSeconds", int(timeout_seconds)),
                                         ("allowWatchBookmarks", "true")]
        if resource_version:
            query.append(("resourceVersion", resource_version))
        if name:
            query.append(("fieldSelector", f"metadata.name={name}"))
        if label_selector:
            query.append(("labelSelector", label_selector))
        try:
            resp = self.request("GET", r.path(namespace=namespace), query, what=f"watch {r.qualified}",
                                stream=True, timeout=(30, timeout_seconds + 30))
        except ClusterError as exc:
            if exc.code == 410:
                raise WatchExpired(exc.message) from None
            raise
        try:
            for line in _iter_lines(resp):
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                etype, obj = event.get("type"), event.get("object") or {}
                if etype == "ERROR":
                    if obj.get("code") == 410:
                        raise WatchExpired(obj.get("message", "resource version too old"))
                    raise translate_status(obj.get("code") or 500, json.dumps(obj), "WATCH", r.qualified, self.server)
                if etype == "BOOKMARK":
                    continue
                obj.setdefault("kind", kind)
                yield etype, obj
        except Exception as exc:
            import urllib3.exceptions as u3

            if isinstance(exc, (u3.ReadTimeoutError, u3.ProtocolError)):
                return  # the stream ended; the caller re-watches from its last resourceVersion
            raise
        finally:
            resp.release_conn()


def contains(live: Any, sent: Any, ignore_metadata: Tuple[str, ...] = ()) -> bool:
    """Does the live object hold everything we sent? Maps: every key sent is there with a matching value
    (the server may add defaults and its own metadata); other values: equal. metadata: labels,
    annotations and name only (besides `ignore_metadata`, nothing else in it is ours)."""
    if isinstance(sent, dict) and isinstance(live, dict):
        for key, value in sent.items():
            if key == "metadata" and isinstance(value, dict):
                mine = {k: v for k, v in value.items() if k in ("name", "namespace", "labels", "annotations")
                        and k not in ignore_metadata}
                if not contains(live.get("metadata") or {}, mine):
                    return False
            elif key == "status":
                continue
            elif key not in live or not contains(live[key], value):
                return False
        return True
    return live == sent


def merge_patched(obj: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch applied to a copy of `obj` (to tell whether a patch is already in place)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(obj) if isinstance(obj, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patched(out.get(key), value)
    return out


def _iter_lines(resp) -> Iterator[bytes]:
    pending = b""
    for chunk in resp.stream(4096, decode_content=True):
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            if line.strip():
                yield line
    if pending.strip():
        yield pending
