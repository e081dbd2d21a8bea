"""Namespace deletion as a real cluster does it: the DELETE answers at once, the content goes in the background.

Modelled on kube-apiserver ``pkg/registry/core/namespace/storage`` (Delete) and kube-controller-manager
``pkg/controller/namespace/deletion`` (NamespacedResourcesDeleter):

* ``DELETE /api/v1/namespaces/<ns>`` of a namespace whose ``spec.finalizers`` is not empty (every namespace has
  ``kubernetes``) sets ``metadata.deletionTimestamp`` and ``status.phase: Terminating`` and answers 200 with that
  object (a MODIFIED watch event); a second DELETE answers the same object again;
* the namespace controller then deletes every namespaced object in it, a chunk at a time (garbage collection of
  owned objects, e.g. a DaemonSet's pods, goes on as usual), sets the ``NamespaceContentRemaining``-style
  conditions, removes the ``kubernetes`` finalizer (``/finalize``, MODIFIED) and deletes the namespace (DELETED);
* meanwhile creating anything in the namespace is refused by the NamespaceLifecycle admission plugin:
  403 ``<plural> "<name>" is forbidden: unable to create new content in namespace <ns> because it is being
  terminated`` (cause ``NamespaceTerminating``).

``APIServer.namespaces.wait_idle()`` waits until every namespace being deleted is gone (tests that assert that
nothing is left behind).
"""
from __future__ import annotations

import threading
import time

from . import store as st

CHUNK = 200                 # objects deleted per store-lock acquisition (the store lock is not held for seconds)


def terminating(ns_obj) -> bool:
    return bool(ns_obj and (ns_obj.get("metadata") or {}).get("deletionTimestamp"))


def terminating_message(plural: str, name: str, ns: str) -> str:
    return ('%s "%s" is forbidden: unable to create new content in namespace %s because it is being terminated'
            % (plural, name, ns))


class NamespaceController:
    def __init__(self, api) -> None:
        self.api = api
        self.store = api.store
        self._cond = threading.Condition()
        self._queue: list = []
        self._busy = 0
        self._thread = None

    # ---------------------------------------------------------------- registry side (called by the DELETE)
    def mark(self, name: str) -> dict:
        """Mark ``name`` Terminating (under the store lock, by the DELETE handler) and queue its deletion.
        Returns the object the DELETE answers with."""
        store = self.store
        with store.lock:
            obj = store.get("Namespace", name)
            if obj is None:
                raise st.NotFound("Namespace", name)
            md = obj["metadata"]
            if not md.get("deletionTimestamp"):
                md["deletionTimestamp"] = st.now_rfc3339()
                md["deletionGracePeriodSeconds"] = 0
                obj.setdefault("status", {})["phase"] = "Terminating"
                obj = store.update_deleting(obj)
        with self._cond:
            if name not in self._queue:
                self._queue.append(name)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="fakeapi-namespace-controller",
                                                daemon=True)
                self._thread.start()
            self._cond.notify_all()
        return obj

    # ---------------------------------------------------------------- controller side
    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue:
                    if getattr(self.store, "_closed", False):
                        return
                    self._cond.wait(0.5)
                name = self._queue.pop(0)
                self._busy += 1
            try:
                self._delete_content(name)
            except Exception:  # noqa: BLE001 - a fake bug must be visible, not fatal
                import traceback
                traceback.print_exc()
            finally:
                with self._cond:
                    self._busy -= 1
                    self._cond.notify_all()

    def _delete_content(self, name: str) -> None:
        store = self.store
        kinds = [r.kind for r in self.api.resources() if r.namespaced]
        for kind in kinds:
            while True:
                with store.lock:
                    if store.get("Namespace", name) is None:
                        return
                    items = store.names(kind, name)[:CHUNK]
                    for item in items:
                        try:
                            store.delete(kind, item, name)
                        except st.NotFound:
                            pass
                if len(items) < CHUNK:
                    break
                time.sleep(0)           # let the API server answer between chunks
        with store.lock:
            obj = store.get("Namespace", name)
            if obj is None:
                return
            left = [k for k in kinds if store.names(k, name)]
            if left:                    # created meanwhile by a controller: go round again
                with self._cond:
                    self._queue.append(name)
                return
            now = st.now_rfc3339()
            obj.setdefault("status", {})["conditions"] = [
                {"type": "NamespaceDeletionDiscoveryFailure", "status": "False", "reason": "ResourcesDiscovered",
                 "message": "All resources successfully discovered", "lastTransitionTime": now},
                {"type": "NamespaceDeletionGroupVersionParsingFailure", "status": "False",
                 "reason": "ParsedGroupVersions", "message": "All legacy kube types successfully parsed",
                 "lastTransitionTime": now},
                {"type": "NamespaceDeletionContentFailure", "status": "False", "reason": "ContentDeleted",
                 "message": "All content successfully deleted, may be waiting on finalization",
                 "lastTransitionTime": now},
                {"type": "NamespaceContentRemaining", "status": "False", "reason": "ContentRemoved",
                 "message": "All content successfully removed", "lastTransitionTime": now},
                {"type": "NamespaceFinalizersRemaining", "status": "False", "reason": "ContentHasNoFinalizers",
                 "message": "All content-preserving finalizers finished", "lastTransitionTime": now}]
            obj["spec"] = dict(obj.get("spec") or {}, finalizers=[])       # PUT .../finalize
            store.update_deleting(obj)
            try:
                store.delete("Namespace", name)
            except st.NotFound:
                pass

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Until no namespace deletion is queued or running; True when idle."""
        end = time.monotonic() + timeout
        with self._cond:
            while self._queue or self._busy:
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.1))
        return True
