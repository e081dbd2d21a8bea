"""In-memory object store of the loopback fake Kubernetes API server.

Models the parts of etcd + the apiserver registry that clients observe:
one global, monotonically increasing resourceVersion (string of an int), uid /
creationTimestamp / generation bookkeeping, optimistic concurrency (Conflict on a
stale resourceVersion), finalizers (delete sets deletionTimestamp while finalizers
remain), an event history for watches that can be compacted (older versions then
raise Gone, which the server turns into 410 Expired), and change subscribers that
are called in order from a dispatcher thread, outside the lock.

Objects are plain dicts shaped like the JSON the real API returns. Every read
returns a deep copy; callers may mutate what they get.
"""
from __future__ import annotations

import copy
import datetime
import queue
import random
import string
import threading
import uuid

# Kind -> namespaced?  Unknown kinds are cluster-scoped unless a namespace is given.
NAMESPACED_KINDS = {
    "Pod": True,
    "ConfigMap": True,
    "Secret": True,
    "Node": False,
    "Namespace": False,
    "RuntimeClass": False,
    "ClusterVersion": False,
    "MachineConfig": False,
    "MachineConfigPool": False,
    "ControllerConfig": False,
    "KataConfig": False,
    "DaemonSet": True,
    "Subscription": True,
    "ClusterServiceVersion": True,
}


def is_namespaced(kind: str) -> bool:
    return NAMESPACED_KINDS.get(kind, False)


def now_rfc3339() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class StoreError(Exception):
    """Base of the store's API errors. ``kind``/``name`` identify the object."""

    reason = "InternalError"
    code = 500

    def __init__(self, kind: str, name: str, namespace: str | None = None, message: str = ""):
        self.kind = kind
        self.name = name
        self.namespace = namespace
        self.message = message or self.reason
        super().__init__(self.message)


class NotFound(StoreError):
    reason = "NotFound"
    code = 404


class AlreadyExists(StoreError):
    reason = "AlreadyExists"
    code = 409


class Conflict(StoreError):
    reason = "Conflict"
    code = 409


class Invalid(StoreError):
    """``causes`` is a list of {"reason", "message", "field"} like metav1.StatusCause."""

    reason = "Invalid"
    code = 422

    def __init__(self, kind: str, name: str, namespace: str | None = None, message: str = "",
                 causes: list | None = None):
        super().__init__(kind, name, namespace, message)
        self.causes = list(causes or [])


class Gone(StoreError):
    """Requested resourceVersion is older than the retained history."""

    reason = "Expired"
    code = 410

    def __init__(self, requested: int, oldest: int):
        self.requested = requested
        self.oldest = oldest
        super().__init__("", "", None, "too old resource version: %d (%d)" % (requested, oldest))


def _meta(obj: dict) -> dict:
    md = obj.get("metadata")
    if not isinstance(md, dict):
        md = {}
        obj["metadata"] = md
    return md


def _body_without_meta_status(obj: dict) -> dict:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


class ObjectStore:
    """Thread-safe object store. See module docstring."""

    def __init__(self, max_history: int | None = None):
        self.lock = threading.RLock()
        self._cond = threading.Condition(self.lock)
        self._objects: dict[tuple, dict] = {}          # (kind, namespace|None, name) -> obj
        self._rv = 0
        self._history: list[tuple[int, str, dict]] = []  # (rv, type, obj snapshot)
        self._compacted_rv = 0                          # versions < this are gone
        self._max_history = max_history
        self._subscribers: list = []
        self._queue: queue.Queue = queue.Queue()
        self._dispatcher: threading.Thread | None = None
        self._closed = False

    # ------------------------------------------------------------------ helpers
    def _key(self, kind: str, name: str, namespace: str | None) -> tuple:
        if is_namespaced(kind):
            return (kind, namespace or "default", name)
        return (kind, namespace or None, name)

    def _next_rv(self) -> int:
        self._rv += 1
        return self._rv

    def _record(self, rv: int, event_type: str, obj: dict, private: bool = False) -> None:
        # ``private``: ``obj`` is a copy nobody else holds (a deleted object), so the history may keep it as is
        snap = obj if private else copy.deepcopy(obj)
        self._history.append((rv, event_type, snap))
        if self._max_history is not None and len(self._history) > self._max_history:
            drop = len(self._history) - self._max_history
            self._compacted_rv = self._history[drop - 1][0]
            del self._history[:drop]
        if self._subscribers:
            self._queue.put((event_type, copy.deepcopy(obj)))
        self._cond.notify_all()

    # ------------------------------------------------------------------ reads
    @property
    def resource_version(self) -> str:
        with self.lock:
            return str(self._rv)

    def get(self, kind: str, name: str, namespace: str | None = None) -> dict | None:
        with self.lock:
            obj = self._objects.get(self._key(kind, name, namespace))
            return copy.deepcopy(obj) if obj is not None else None

    def list(self, kind: str, namespace: str | None = None) -> list[dict]:
        with self.lock:
            out = [copy.deepcopy(o) for (k, ns, _), o in self._objects.items()
                   if k == kind and (namespace is None or ns == namespace)]
        out.sort(key=lambda o: (o["metadata"].get("namespace") or "", o["metadata"]["name"]))
        return out

    def kinds(self) -> set:
        with self.lock:
            return {k for (k, _, _) in self._objects}

    # ------------------------------------------------------------------ writes
    def create(self, obj: dict, preserve_timestamp: bool = False) -> dict:
        """Store a new object. ``preserve_timestamp`` keeps a given creationTimestamp (for seeding)."""
        obj = copy.deepcopy(obj)
        kind = obj.get("kind")
        md = _meta(obj)
        if not kind:
            raise Invalid("", md.get("name", ""), md.get("namespace"), "kind must be set")
        with self.lock:
            if not md.get("name") and md.get("generateName"):
                while True:
                    cand = md["generateName"] + "".join(
                        random.choice(string.ascii_lowercase + string.digits) for _ in range(5))
                    if self._key(kind, cand, md.get("namespace")) not in self._objects:
                        md["name"] = cand
                        break
            name = md.get("name")
            if not name:
                raise Invalid(kind, "", md.get("namespace"),
                              "metadata.name: Required value: name or generateName is required",
                              [{"reason": "FieldValueRequired", "message": "Required value: name or generateName is required",
                                "field": "metadata.name"}])
            if is_namespaced(kind):
                md["namespace"] = md.get("namespace") or "default"
            else:
                md.pop("namespace", None)
            key = self._key(kind, name, md.get("namespace"))
            if key in self._objects:
                raise AlreadyExists(kind, name, md.get("namespace"))
            rv = self._next_rv()
            md["uid"] = str(uuid.uuid4())
            if not (preserve_timestamp and md.get("creationTimestamp")):
                md["creationTimestamp"] = now_rfc3339()
            md["resourceVersion"] = str(rv)
            md["generation"] = 1
            md.pop("deletionTimestamp", None)
            self._objects[key] = obj
            self._record(rv, "ADDED", obj)
            return copy.deepcopy(obj)

    def update(self, obj: dict) -> dict:
        obj = copy.deepcopy(obj)
        kind = obj.get("kind")
        md = _meta(obj)
        name = md.get("name", "")
        with self.lock:
            key = self._key(kind, name, md.get("namespace"))
            old = self._objects.get(key)
            if old is None:
                raise NotFound(kind, name, md.get("namespace"))
            omd = old["metadata"]
            want_rv = md.get("resourceVersion")
            if want_rv not in (None, "") and str(want_rv) != omd["resourceVersion"]:
                raise Conflict(kind, name, md.get("namespace"))
            # immutable / server-owned metadata
            for f in ("uid", "creationTimestamp", "namespace", "deletionTimestamp"):
                if f in omd:
                    md[f] = omd[f]
                else:
                    md.pop(f, None)
            gen = omd.get("generation", 1)
            if _body_without_meta_status(old) != _body_without_meta_status(obj):
                gen += 1
            md["generation"] = gen
            if omd.get("deletionTimestamp") and not md.get("finalizers") and not (
                    kind == "Namespace" and (obj.get("spec") or {}).get("finalizers")):
                # last finalizer removed: the object goes away now (a Terminating namespace waits for its
                # controller to empty it and to remove spec.finalizers: namespaces.py)
                rv = self._next_rv()
                md["resourceVersion"] = str(rv)
                del self._objects[key]
                self._record(rv, "DELETED", obj)
                return copy.deepcopy(obj)
            if old == {**obj, "metadata": {**md, "resourceVersion": omd["resourceVersion"]}}:
                # no-op update: real apiserver does not bump resourceVersion
                return copy.deepcopy(old)
            rv = self._next_rv()
            md["resourceVersion"] = str(rv)
            self._objects[key] = obj
            self._record(rv, "MODIFIED", obj)
            return copy.deepcopy(obj)

    def update_deleting(self, obj: dict) -> dict:
        """Write ``obj`` as is, ``metadata.deletionTimestamp`` included (the namespace registry marking a namespace
        Terminating, and its controller's finalize): a MODIFIED event, never a deletion."""
        obj = copy.deepcopy(obj)
        md = _meta(obj)
        with self.lock:
            key = self._key(obj.get("kind"), md.get("name", ""), md.get("namespace"))
            old = self._objects.get(key)
            if old is None:
                raise NotFound(obj.get("kind"), md.get("name", ""), md.get("namespace"))
            for f in ("uid", "creationTimestamp"):
                md[f] = old["metadata"][f]
            rv = self._next_rv()
            md["resourceVersion"] = str(rv)
            self._objects[key] = obj
            self._record(rv, "MODIFIED", obj)
            return copy.deepcopy(obj)

    def names(self, kind: str, namespace: str | None = None) -> list:
        """Names of the ``kind`` objects (in ``namespace``), sorted, without copying the objects."""
        with self.lock:
            return sorted(n for (k, ns, n) in self._objects if k == kind and (namespace is None or ns == namespace))

    def delete(self, kind: str, name: str, namespace: str | None = None) -> dict:
        with self.lock:
            key = self._key(kind, name, namespace)
            old = self._objects.get(key)
            if old is None:
                raise NotFound(kind, name, namespace)
            obj = copy.deepcopy(old)
            md = obj["metadata"]
            if md.get("finalizers"):
                if not md.get("deletionTimestamp"):
                    md["deletionTimestamp"] = now_rfc3339()
                    md["deletionGracePeriodSeconds"] = 0
                    rv = self._next_rv()
                    md["resourceVersion"] = str(rv)
                    self._objects[key] = obj
                    self._record(rv, "MODIFIED", obj)
                return copy.deepcopy(obj)
            rv = self._next_rv()
            md["resourceVersion"] = str(rv)
            del self._objects[key]
            self._record(rv, "DELETED", obj, private=True)
            return copy.deepcopy(obj)

    # ------------------------------------------------------------------ watch support
    def history_since(self, kind: str | None, resource_version) -> list:
        """Events with resourceVersion > ``resource_version`` (for ``kind``, or all kinds if None).

        Raises Gone when ``resource_version`` predates the retained history.
        """
        rv = int(resource_version)
        with self.lock:
            if rv < self._compacted_rv:
                raise Gone(rv, self._compacted_rv)
            # the history is in resourceVersion order: start at the first newer event (a watch asks after every
            # change, so scanning from the start would make N changes cost N^2)
            lo, hi = 0, len(self._history)
            while lo < hi:
                mid = (lo + hi) // 2
                if self._history[mid][0] <= rv:
                    lo = mid + 1
                else:
                    hi = mid
            return [(t, copy.deepcopy(o)) for (erv, t, o) in self._history[lo:]
                    if kind is None or o.get("kind") == kind]

    def wait_for_change(self, resource_version, timeout: float) -> bool:
        """Block until the global resourceVersion exceeds ``resource_version`` or timeout."""
        rv = int(resource_version)
        with self._cond:
            return self._cond.wait_for(lambda: self._rv > rv or self._closed, timeout)

    def compact(self) -> None:
        with self.lock:
            self._history.clear()
            self._compacted_rv = self._rv
            self._cond.notify_all()

    @property
    def compacted_resource_version(self) -> int:
        with self.lock:
            return self._compacted_rv

    # ------------------------------------------------------------------ subscribers
    def subscribe(self, fn) -> None:
        """Call ``fn(event_type, obj)`` after each change, in order, from a dispatcher thread."""
        with self.lock:
            self._subscribers.append(fn)
            if self._dispatcher is None:
                self._dispatcher = threading.Thread(target=self._dispatch, name="fakeapi-store-dispatch",
                                                    daemon=True)
                self._dispatcher.start()

    def unsubscribe(self, fn) -> None:
        with self.lock:
            if fn in self._subscribers:
                self._subscribers.remove(fn)

    def _dispatch(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                event_type, obj = item
                with self.lock:
                    subs = list(self._subscribers)
                for fn in subs:
                    try:
                        fn(event_type, copy.deepcopy(obj))
                    except Exception:  # a broken subscriber must not stop the others
                        import traceback
                        traceback.print_exc()
            finally:
                self._queue.task_done()

    def flush(self) -> None:
        """Wait until every queued event has been delivered (do not call from a subscriber)."""
        if self._dispatcher is not None and threading.current_thread() is not self._dispatcher:
            self._queue.join()

    def close(self) -> None:
        with self.lock:
            self._closed = True
            self._cond.notify_all()
            disp = self._dispatcher
            self._dispatcher = None
        if disp is not None:
            self._queue.put(None)
            disp.join(timeout=5)

