"""DaemonSets for the fake API server: apps/v1 DaemonSets, a controller that runs one pod per matching node,
``pods/{name}/log`` and SelfSubjectAccessReview.

    from tests.fakeapi.daemonset import install_daemonsets
    ctl = install_daemonsets(fake_cluster, start_latency_s=0.2, log_latency_s=0.0)

What the controller does, modelled on kube-controller-manager ``pkg/controller/daemon`` and the scheduler:

* a node runs a pod of the DaemonSet when the template's ``nodeSelector`` matches its labels, its required node
  affinity matches (terms ORed, expressions ANDed; ``matchExpressions`` on labels with In/NotIn/Exists/DoesNotExist/
  Gt/Lt, ``matchFields`` on ``metadata.name``) and every ``NoSchedule``/``NoExecute`` taint is tolerated
  (``daemon/util``: the controller adds the not-ready/unreachable/disk/memory/pid-pressure/unschedulable tolerations
  itself; ``operator: Exists`` without a key tolerates everything);
* each pod is named ``<ds>-<5 chars>``, owned by the DaemonSet (``ownerReferences``, ``controller: true``), gets the
  template's labels plus ``controller-revision-hash`` / ``pod-template-generation``, and its required node affinity
  replaced by ``matchFields metadata.name In [<node>]`` (``ReplaceDaemonSetPodNodeNameNodeAffinity``); the
  scheduler then binds it (``spec.nodeName``);
* after ``start_latency_s`` the pod moves Pending -> Running (container running, not ready), then Ready once the
  node's collection has "finished" (the node's ``latency_s`` later), which is what the readiness probe of the
  plugin's pod reports; per-node ``behaviour`` from the same ``scenario.json`` as the fake ``oc``
  (tests/fakebin/README.md) decides otherwise:

  ==================  =====================================================================================
  ``ok``              Running, then Ready; log = the framed collection output + ``kata-doctor-exit rc=0``
  ``hang``/stubborn   Running, never Ready, empty log (the collection never ends)
  ``notready``        Pending, no container status (the kubelet never reports)
  ``imagepullbackoff`` Pending, waiting ``ImagePullBackOff`` ``Back-off pulling image "<image>"``
  ``errimagepull``    Pending, waiting ``ErrImagePull`` naming the image
  ``unschedulable``   Pending, ``PodScheduled=False`` ``Unschedulable`` with the scheduler's message
  ``remote-fail``     Ready; log = BEGIN + first half of the items + ``kata-doctor-exit rc=1``
  ``truncate``        Ready; log cut at 2/3 in the middle of a line
  ``noise``           Ready; the script's stderr lines interleaved (the container log merges both streams)
  ==================  =====================================================================================

* ``status.desiredNumberScheduled`` / ``currentNumberScheduled`` / ``numberReady`` / ``numberAvailable`` /
  ``numberUnavailable`` / ``updatedNumberScheduled`` / ``numberMisscheduled`` / ``observedGeneration`` are kept current
  (coalesced: at most one status write per ``status_interval_s``);
* a DaemonSet's pods are deleted when it goes (garbage collection by owner); a namespace's deletion marks it
  Terminating and removes its objects in the background (namespaces.py); no pod is created in a Terminating
  namespace (the apiserver's NamespaceLifecycle admission refuses it).

The pod log is what the plugin's container prints: the collection script's framed output for that node, built
from ``tests/nodesim`` through ``tests/fakebin/_fakecommon`` exactly as the fake ``oc`` prints it, with the nonce
read from the script in the ConfigMap the pod mounts (or from the container's arguments). A log GET of a container
that has not started answers 400 ``container "<c>" in pod "<p>" is waiting to start: <reason>``, as kubelet does.

SelfSubjectAccessReview (authorization.k8s.io/v1) answers ``allowed`` from ``policy(attributes) -> bool`` (default:
everything allowed) and the server's ``forbid(verb, plural)`` list, so a forbidden create is also denied in review.
"""
from __future__ import annotations

import copy
import heapq
import json
import os
import random
import threading
import time

from . import server as srv
from . import store as st
from .server import APIError, Resource

APPS = Resource("apps", "v1", "daemonsets", "daemonset", "DaemonSet", True, ["ds"], status=True,
                categories=["all"])
SERVICE_ACCOUNTS = Resource("", "v1", "serviceaccounts", "serviceaccount", "ServiceAccount", True, ["sa"])
ROLE_BINDINGS = Resource("rbac.authorization.k8s.io", "v1", "rolebindings", "rolebinding", "RoleBinding", True)
EVENTS = Resource("", "v1", "events", "event", "Event", True, ["ev"])
EXTRA = [APPS, SERVICE_ACCOUNTS, ROLE_BINDINGS, EVENTS]
for _r in EXTRA:
    st.NAMESPACED_KINDS[_r.kind] = True

# the field selectors the apiserver accepts on core/v1 events (pkg/registry/core/event/strategy.go ToSelectableFields)
for _field in ("involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
               "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath"):
    srv.FIELD_GETTERS.setdefault(_field, lambda o, _k=_field.split(".", 1)[1]: str(
        (o.get("involvedObject") or {}).get(_k) or ""))
srv.FIELD_GETTERS.setdefault("reason", lambda o: o.get("reason") or "")
srv.FIELD_GETTERS.setdefault("reportingComponent", lambda o: o.get("reportingComponent") or "")
srv.FIELD_GETTERS.setdefault("source", lambda o: (o.get("source") or {}).get("component") or "")
srv.FIELDS_BY_KIND.setdefault("Event", {
    "metadata.name", "metadata.namespace", "involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
    "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath",
    "reason", "reportingComponent", "source", "type"})

# what the scheduler-facing admission says when a node's behaviour is "pod-refused" and its spec names no `refusal`
# (an SCC denial as OpenShift words it; the pod name is the DaemonSet's generateName prefix)
DEFAULT_REFUSAL = ('pods "{prefix}" is forbidden: unable to validate against any security context constraint: '
                   '[provider "anyuid": Forbidden: not usable by user or serviceaccount, provider "privileged": '
                   'Forbidden: not usable by user or serviceaccount]')

SSAR_PATH = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"

# tolerations the DaemonSet controller adds to every daemon pod (pkg/controller/daemon/util AddOrUpdateDaemonPodTolerations)
DEFAULT_TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
]
SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"     # k8s utilrand


# --------------------------------------------------------------------------- scheduling predicates

def tolerates(tolerations, taint) -> bool:
    for t in tolerations or []:
        effect = t.get("effect") or ""
        if effect and effect != taint.get("effect"):
            continue
        op = t.get("operator") or "Equal"
        key = t.get("key") or ""
        if op == "Exists" and not key:
            return True
        if key != taint.get("key"):
            continue
        if op == "Exists" or (t.get("value") or "") == (taint.get("value") or ""):
            return True
    return False


def _expr_match(expr, value_of) -> bool:
    key, op, vals = expr.get("key"), expr.get("operator"), list(expr.get("values") or [])
    present, value = value_of(key)
    if op == "In":
        return present and value in vals
    if op == "NotIn":
        return not present or value not in vals
    if op == "Exists":
        return present
    if op == "DoesNotExist":
        return not present
    if op in ("Gt", "Lt") and present and vals:
        try:
            a, b = int(value), int(vals[0])
        except ValueError:
            return False
        return a > b if op == "Gt" else a < b
    return False


def node_matches_affinity(pod_spec: dict, node: dict) -> bool:
    labels = node["metadata"].get("labels") or {}
    for k, v in (pod_spec.get("nodeSelector") or {}).items():
        if labels.get(k) != v:
            return False
    req = (((pod_spec.get("affinity") or {}).get("nodeAffinity") or {})
           .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    terms = req.get("nodeSelectorTerms")
    if not terms:
        return True

    def label(key):
        return (key in labels), labels.get(key)

    def field(key):
        if key == "metadata.name":
            return True, node["metadata"]["name"]
        return False, None

    for term in terms:
        exprs, fields = term.get("matchExpressions") or [], term.get("matchFields") or []
        if not exprs and not fields:
            continue            # an empty term matches nothing
        if all(_expr_match(e, label) for e in exprs) and all(_expr_match(f, field) for f in fields):
            return True
    return False


def should_run(pod_spec: dict, node: dict) -> bool:
    """pkg/controller/daemon NodeShouldRunDaemonPod: affinity/selector and NoSchedule/NoExecute taints."""
    if not node_matches_affinity(pod_spec, node):
        return False
    tolerations = list(pod_spec.get("tolerations") or []) + DEFAULT_TOLERATIONS
    for taint in (node.get("spec") or {}).get("taints") or []:
        if taint.get("effect") in ("NoSchedule", "NoExecute") and not tolerates(tolerations, taint):
            return False
    return True


# --------------------------------------------------------------------------- controller

def _suffix() -> str:
    return "".join(random.choice(SUFFIX_ALPHABET) for _ in range(5))


def _now() -> str:
    return st.now_rfc3339()


class DaemonSetController:
    def __init__(self, api, *, start_latency_s: float = 0.0, log_latency_s: float = 0.0,
                 scenario_dir: str | None = None, policy=None, status_interval_s: float = 0.2):
        self.api = api
        self.store = api.store
        self.start_latency_s = start_latency_s
        self.log_latency_s = log_latency_s
        self.scenario_dir = scenario_dir
        self.policy = policy
        self.status_interval_s = status_interval_s
        self.reviews: list = []            # every SelfSubjectAccessReview's resourceAttributes
        self._lock = threading.Lock()
        self._heap: list = []
        self._seq = 0
        self._wake = threading.Condition(self._lock)
        self._dirty: set = set()           # (ns, ds) whose status needs a write
        self._wanted: dict = {}            # (ns, ds) -> nodes that should run its pod (from the last reconcile)
        self._index: dict = {}             # (ns, ds) -> {pod name: (node, ready)}, kept from pod events
        self._generations: dict = {}       # DaemonSet uid -> generation reconciled
        self._born: dict = {}              # DaemonSet uid -> when it was first reconciled (monotonic)
        self._stop = False
        self._scen_cache: dict = {}
        self._nonce_cache: dict = {}
        self._log_cache: dict = {}         # (nonce, behaviour, spec) -> log bytes, or None: the data names the node
        self._thread = threading.Thread(target=self._loop, name="fakeapi-daemonsets", daemon=True)

    # -------------------------------------------------------------- wiring
    def install(self) -> "DaemonSetController":
        api = self.api
        for r in EXTRA:
            if r not in api.extra_resources:
                api.extra_resources.append(r)
        api.route_hooks.append(self._route)
        api.object_hooks.append(self._validate)
        self.store.subscribe(self._on_event)
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._lock:
            self._stop = True
            self._wake.notify_all()
        self.store.unsubscribe(self._on_event)

    # -------------------------------------------------------------- scenario
    def _scenario(self) -> dict:
        d = self.scenario_dir or os.environ.get("FAKE_OC_SCENARIO_DIR")
        path = os.path.join(d, "scenario.json") if d else None
        data: dict = {}
        if path and os.path.exists(path):
            mtime = os.stat(path).st_mtime_ns
            cached = self._scen_cache.get(path)
            if cached and cached[0] == mtime:
                return cached[1]
            with open(path, encoding="utf-8") as fh:
                data = json.load(fh)
            for k in ("nodes", "default", "release", "images"):
                data.setdefault(k, {})
            self._scen_cache[path] = (mtime, data)
            return data
        return {"nodes": {}, "default": {}, "release": {}, "images": {}}

    def node_spec(self, node: str) -> dict:
        from tests.fakebin import _fakecommon as fc

        return fc.node_spec(self._scenario(), node) or dict(fc.DEFAULT_NODE)

    # -------------------------------------------------------------- timers
    def _at(self, delay: float, fn, *args) -> None:
        with self._lock:
            self._seq += 1
            heapq.heappush(self._heap, (time.monotonic() + max(0.0, delay), self._seq, fn, args))
            self._wake.notify_all()

    def _loop(self) -> None:
        next_status = time.monotonic()
        while True:
            with self._lock:
                if self._stop:
                    return
                now = time.monotonic()
                due = []
                while self._heap and self._heap[0][0] <= now:
                    due.append(heapq.heappop(self._heap))
                wait = 0.05
                if self._heap:
                    wait = min(wait, max(0.0, self._heap[0][0] - now))
            for _, _, fn, args in due:
                try:
                    fn(*args)
                except st.NotFound:
                    pass
                except Exception:  # noqa: BLE001 - a fake bug must be visible, not fatal
                    import traceback
                    traceback.print_exc()
            if time.monotonic() >= next_status:
                self._flush_status()
                next_status = time.monotonic() + self.status_interval_s
            if not due:
                with self._lock:
                    if not self._stop:
                        self._wake.wait(wait)

    # -------------------------------------------------------------- events
    def _on_event(self, etype: str, obj: dict) -> None:
        kind = obj.get("kind")
        if kind == "DaemonSet":
            md = obj["metadata"]
            if etype == "DELETED":
                self._generations.pop(md["uid"], None)
                self._born.pop(md["uid"], None)
                with self._lock:
                    self._wanted.pop((md["namespace"], md["name"]), None)
                self._collect_garbage(md["namespace"], md["uid"])
            elif self._generations.get(md["uid"]) != md.get("generation"):    # a status write changes nothing
                self._generations[md["uid"]] = md.get("generation")
                self._born.setdefault(md["uid"], time.monotonic())
                self._reconcile(md["namespace"], md["name"])
        elif kind == "Node":
            for ds in self.store.list("DaemonSet"):
                self._reconcile(ds["metadata"]["namespace"], ds["metadata"]["name"])
        elif kind == "Pod":
            for ref in obj["metadata"].get("ownerReferences") or []:
                if ref.get("kind") == "DaemonSet":
                    key = (obj["metadata"]["namespace"], ref.get("name"))
                    ready = any(c.get("type") == "Ready" and c.get("status") == "True"
                                for c in (obj.get("status") or {}).get("conditions") or [])
                    with self._lock:
                        pods = self._index.setdefault(key, {})
                        if etype == "DELETED":
                            pods.pop(obj["metadata"]["name"], None)
                        else:
                            pods[obj["metadata"]["name"]] = (self._pod_node(obj), ready)
                        self._dirty.add(key)

    def _owned_pods(self, ns: str, uid: str) -> list:
        return [p for p in self.store.list("Pod", ns)
                if any(r.get("uid") == uid for r in p["metadata"].get("ownerReferences") or [])]

    def _collect_garbage(self, ns: str, uid: str) -> None:
        for p in self._owned_pods(ns, uid):
            try:
                self.store.delete("Pod", p["metadata"]["name"], ns)
            except st.NotFound:
                pass

    def _reconcile(self, ns: str, name: str) -> None:
        ds = self.store.get("DaemonSet", name, ns)
        if ds is None or ds["metadata"].get("deletionTimestamp"):
            return
        tmpl = (ds.get("spec") or {}).get("template") or {}
        spec = tmpl.get("spec") or {}
        nodes = self.store.list("Node")
        wanted = {n["metadata"]["name"]: n for n in nodes if should_run(spec, n)}
        have = {}
        for p in self._owned_pods(ns, ds["metadata"]["uid"]):
            node = self._pod_node(p)
            if node in wanted and node not in have:
                have[node] = p
            else:                                   # misscheduled or duplicate: the controller deletes it
                try:
                    self.store.delete("Pod", p["metadata"]["name"], ns)
                except st.NotFound:
                    pass
        for node in sorted(wanted):
            if node not in have:
                self._create_pod(ds, node)
        with self._lock:
            self._wanted[(ns, name)] = set(wanted)
            self._dirty.add((ns, name))

    @staticmethod
    def _pod_node(pod: dict) -> str | None:
        spec = pod.get("spec") or {}
        if spec.get("nodeName"):
            return spec["nodeName"]
        for term in (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                     .get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms") or []:
            for f in term.get("matchFields") or []:
                if f.get("key") == "metadata.name" and f.get("values"):
                    return f["values"][0]
        return None

    def _create_pod(self, ds: dict, node: str) -> None:
        md = ds["metadata"]
        tmpl = copy.deepcopy((ds.get("spec") or {}).get("template") or {})
        spec = tmpl.get("spec") or {}
        labels = dict((tmpl.get("metadata") or {}).get("labels") or {})
        labels.update({"controller-revision-hash": "%x" % (abs(hash(md["uid"])) % (16 ** 10)),
                       "pod-template-generation": str(md.get("generation", 1))})
        aff = spec.setdefault("affinity", {}).setdefault("nodeAffinity", {})
        aff["requiredDuringSchedulingIgnoredDuringExecution"] = {"nodeSelectorTerms": [
            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}]}
        spec["tolerations"] = list(spec.get("tolerations") or []) + [
            t for t in DEFAULT_TOLERATIONS if t not in (spec.get("tolerations") or [])]
        spec.setdefault("restartPolicy", "Always")
        spec.setdefault("serviceAccountName", "default")
        behaviour = self.node_spec(node).get("behaviour", "ok")
        if behaviour == "pod-refused":
            # admission refuses the pod: no pod, and the controller's event recorder reports it on the DaemonSet
            # (pkg/controller/controller_utils.go createPods: Warning FailedCreate "Error creating: %v")
            refusal = self.node_spec(node).get("refusal") or DEFAULT_REFUSAL
            self._failed_create(ds, "Error creating: " + refusal.replace("{prefix}", md["name"] + "-"))
            return
        if behaviour != "unschedulable":
            spec["nodeName"] = node
        pod = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": "%s-%s" % (md["name"], _suffix()), "namespace": md["namespace"],
                            "labels": labels, "annotations": dict((tmpl.get("metadata") or {}).get("annotations")
                                                                  or {}),
                            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": md["name"],
                                                 "uid": md["uid"], "controller": True,
                                                 "blockOwnerDeletion": True}]},
               "spec": spec,
               "status": {"phase": "Pending", "qosClass": "BestEffort"}}
        if behaviour == "unschedulable":
            total = len(self.store.list("Node"))
            pod["status"]["conditions"] = [{
                "type": "PodScheduled", "status": "False", "reason": "Unschedulable", "lastTransitionTime": _now(),
                "message": "0/%d nodes are available: 1 Insufficient memory, %d node(s) didn't match Pod's node "
                           "affinity/selector. preemption: 0/%d nodes are available: 1 No preemption victims found "
                           "for incoming pod, %d Preemption is not helpful for scheduling."
                           % (total, total - 1, total, total - 1)}]
        while True:                 # generateName: a clash of the 5-character suffix is retried, as the apiserver does
            try:
                with self.store.lock:
                    ns_obj = self.store.get("Namespace", md["namespace"])
                    if ns_obj is None or ns_obj["metadata"].get("deletionTimestamp"):
                        return      # refused by NamespaceLifecycle admission (namespaces.py): no pod
                    created = self.store.create(pod)
                break
            except st.AlreadyExists:
                pod["metadata"]["name"] = "%s-%s" % (md["name"], _suffix())
            except st.NotFound:
                return
        if behaviour not in ("unschedulable", "notready"):
            # the kubelets start their pods in parallel: S after the DaemonSet appeared, however long it took
            # this (single-threaded) controller to create every pod
            due = self._born.setdefault(md["uid"], time.monotonic()) + self.start_latency_s - time.monotonic()
            self._at(due, self._start, md["namespace"], created["metadata"]["name"], node)

    def _failed_create(self, ds: dict, message: str) -> None:
        """A Warning event on the DaemonSet, aggregated as client-go's event recorder does (same reason and message:
        ``count`` and ``lastTimestamp`` go up)."""
        md = ds["metadata"]
        ns = md["namespace"]
        with self.store.lock:
            ns_obj = self.store.get("Namespace", ns)
            if ns_obj is None or ns_obj["metadata"].get("deletionTimestamp"):
                return
            for ev in self.store.list("Event", ns):
                inv = ev.get("involvedObject") or {}
                if inv.get("uid") == md["uid"] and ev.get("reason") == "FailedCreate" and ev.get("message") == message:
                    ev["count"] = int(ev.get("count") or 1) + 1
                    ev["lastTimestamp"] = _now()
                    self.store.update(ev)
                    return
            now = _now()
            self.store.create({
                "apiVersion": "v1", "kind": "Event",
                "metadata": {"name": "%s.%x" % (md["name"], random.getrandbits(64)), "namespace": ns},
                "involvedObject": {"kind": "DaemonSet", "namespace": ns, "name": md["name"], "uid": md["uid"],
                                   "apiVersion": "apps/v1", "resourceVersion": md.get("resourceVersion", "")},
                "reason": "FailedCreate", "message": message, "type": "Warning", "count": 1,
                "source": {"component": "daemonset-controller"}, "reportingComponent": "daemonset-controller",
                "reportingInstance": "", "firstTimestamp": now, "lastTimestamp": now, "eventTime": None})

    # -------------------------------------------------------------- pod lifecycle
    def _containers(self, pod):
        return [c for c in (pod.get("spec") or {}).get("containers") or []]

    def _set_status(self, ns, name, fn) -> None:
        with self.store.lock:
            pod = self.store.get("Pod", name, ns)
            if pod is None or pod["metadata"].get("deletionTimestamp"):
                return
            fn(pod)
            self.store.update(pod)

    def _start(self, ns, name, node) -> None:
        spec = self.node_spec(node)
        behaviour = spec.get("behaviour", "ok")
        now = _now()

        def waiting(pod, reason, message):
            pod["status"].update({"phase": "Pending", "hostIP": "10.0.0.1", "startTime": now, "conditions": [
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": now},
                {"type": "Initialized", "status": "True", "lastTransitionTime": now},
                {"type": "Ready", "status": "False", "reason": "ContainersNotReady", "lastTransitionTime": now},
                {"type": "ContainersReady", "status": "False", "reason": "ContainersNotReady",
                 "lastTransitionTime": now}]})
            pod["status"]["containerStatuses"] = [
                {"name": c["name"], "image": c.get("image", ""), "imageID": "", "ready": False, "restartCount": 0,
                 "started": False, "state": {"waiting": {"reason": reason, "message": message}}}
                for c in self._containers(pod)]

        if behaviour in ("imagepullbackoff", "errimagepull"):
            def pull(pod):
                image = (self._containers(pod) or [{}])[0].get("image", "")
                if behaviour == "imagepullbackoff":
                    waiting(pod, "ImagePullBackOff", 'Back-off pulling image "%s"' % image)
                else:
                    waiting(pod, "ErrImagePull", 'initializing source docker://%s: reading manifest in %s: '
                                                 'manifest unknown' % (image, image.rsplit(":", 1)[0]))
            self._set_status(ns, name, pull)
            return

        def running(ready):
            def fn(pod):
                pod["status"].update({"phase": "Running", "hostIP": "10.0.0.1", "podIP": "10.128.0.%d"
                                      % random.randint(2, 250), "startTime": pod["status"].get("startTime") or now})
                st_ready = "True" if ready else "False"
                pod["status"]["conditions"] = [
                    {"type": "PodReadyToStartContainers", "status": "True", "lastTransitionTime": now},
                    {"type": "Initialized", "status": "True", "lastTransitionTime": now},
                    {"type": "Ready", "status": st_ready, "lastTransitionTime": now},
                    {"type": "ContainersReady", "status": st_ready, "lastTransitionTime": now},
                    {"type": "PodScheduled", "status": "True", "lastTransitionTime": now}]
                pod["status"]["containerStatuses"] = [
                    {"name": c["name"], "image": c.get("image", ""), "imageID": c.get("image", "") + "@sha256:"
                     + "0" * 64, "containerID": "cri-o://" + "%064x" % random.getrandbits(256), "ready": ready,
                     "started": True, "restartCount": 0, "state": {"running": {"startedAt": now}}}
                    for c in self._containers(pod)]
            return fn

        finishes = behaviour not in ("hang", "stubborn")
        latency = float(spec.get("latency_s", 0) or 0)
        if finishes and latency <= 0:
            self._set_status(ns, name, running(True))
            return
        self._set_status(ns, name, running(False))
        if finishes:
            self._at(latency, self._set_status, ns, name, running(True))

    # -------------------------------------------------------------- status
    def _flush_status(self) -> None:
        # counted from the pod index kept from events: no list of every node and pod per status write
        with self._lock:
            dirty, self._dirty = self._dirty, set()
            snap = {k: (set(self._wanted.get(k) or ()), dict(self._index.get(k) or {})) for k in dirty}
        for (ns, name), (wanted, pods) in snap.items():
            with self.store.lock:
                ds = self.store.get("DaemonSet", name, ns)
                if ds is None:
                    continue
                on = [(n, r) for (n, r) in pods.values() if n in wanted]
                ready = len([1 for (_, r) in on if r])
                status = {"desiredNumberScheduled": len(wanted), "currentNumberScheduled": len(on),
                          "numberMisscheduled": len(pods) - len(on), "numberReady": ready,
                          "numberAvailable": ready, "updatedNumberScheduled": len(on),
                          "observedGeneration": ds["metadata"].get("generation", 1)}
                if len(wanted) - ready:
                    status["numberUnavailable"] = len(wanted) - ready
                if ds.get("status") != status:
                    ds["status"] = status
                    self.store.update(ds)

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Until no pod transition is pending and the status is written (tests)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.store.flush()
            with self._lock:
                idle = not self._heap and not self._dirty
            if idle:
                return
            time.sleep(0.02)

    # -------------------------------------------------------------- validation (apps/v1 registry strategy)
    def _validate(self, res, obj) -> None:
        if res.kind != "DaemonSet":
            return
        name = obj["metadata"].get("name", "")
        spec = obj.get("spec") or {}
        tmpl = spec.get("template") or {}
        causes = []
        sel = (spec.get("selector") or {}).get("matchLabels") or {}
        labels = (tmpl.get("metadata") or {}).get("labels") or {}
        if not spec.get("selector"):
            causes.append(("spec.selector", "Required value"))
        elif any(labels.get(k) != v for k, v in sel.items()):
            causes.append(("spec.template.metadata.labels", "Invalid value: %s: `selector` does not match "
                                                            "template `labels`" % json.dumps(labels)))
        pspec = tmpl.get("spec") or {}
        if not pspec.get("containers"):
            causes.append(("spec.template.spec.containers", "Required value"))
        if pspec.get("restartPolicy", "Always") != "Always":
            causes.append(("spec.template.spec.restartPolicy", 'Unsupported value: "%s": supported values: '
                                                               '"Always"' % pspec.get("restartPolicy")))
        vols = {v.get("name") for v in pspec.get("volumes") or []}
        for i, c in enumerate(pspec.get("containers") or []):
            if not c.get("image"):
                causes.append(("spec.template.spec.containers[%d].image" % i, "Required value"))
            for j, m in enumerate(c.get("volumeMounts") or []):
                if m.get("name") not in vols:
                    causes.append(("spec.template.spec.containers[%d].volumeMounts[%d].name" % (i, j),
                                   'Not found: "%s"' % m.get("name")))
        if causes:
            msg = 'DaemonSet.apps "%s" is invalid: %s' % (name, ", ".join("%s: %s" % c for c in causes))
            raise st.Invalid("DaemonSet", name, obj["metadata"].get("namespace"), msg,
                             [{"reason": "FieldValueInvalid", "message": m, "field": f} for f, m in causes])

    # -------------------------------------------------------------- routes: pods/log, SSAR
    def _route(self, handler, method, path, query, raw) -> bool:
        segs = [s for s in path.split("/") if s]
        if method == "GET" and len(segs) == 7 and segs[:3] == ["api", "v1", "namespaces"] and segs[4] == "pods" \
                and segs[6] == "log":
            if self.api._is_forbidden("get", "pods/log"):
                handler._forbidden(srv.CORE[2], "get", segs[5], segs[3], "log")
            self._serve_log(handler, segs[3], segs[5], query)
            return True
        if path == SSAR_PATH:
            if method != "POST":
                raise APIError(405, "the server does not allow this method on the requested resource")
            body = handler._parse_body(raw) or {}
            attrs = dict(((body.get("spec") or {}).get("resourceAttributes")) or {})
            self.reviews.append(attrs)
            verb, resource = attrs.get("verb", ""), attrs.get("resource", "")
            allowed = not self.api._is_forbidden(verb, resource)
            if allowed and self.policy is not None:
                allowed = bool(self.policy(attrs))
            status = {"allowed": allowed}
            if not allowed:
                status["denied"] = False
                status["reason"] = ""
            else:
                status["reason"] = 'RBAC: allowed by ClusterRoleBinding "cluster-admins" of ClusterRole ' \
                                   '"cluster-admin" to Group "system:cluster-admins"'
            out = {"kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
                   "metadata": {"creationTimestamp": None}, "spec": body.get("spec") or {}, "status": status}
            handler._send_json(201, out)
            return True
        return False

    def _nonce(self, pod: dict) -> str | None:
        from tests.fakebin import _fakecommon as fc

        ns = pod["metadata"]["namespace"]
        for v in (pod.get("spec") or {}).get("volumes") or []:
            cm = (v.get("configMap") or {}).get("name")
            if not cm:
                continue
            key = (ns, cm)
            if key not in self._nonce_cache:
                obj = self.store.get("ConfigMap", cm, ns) or {}
                nonce = None
                for text in (obj.get("data") or {}).values():
                    nonce = nonce or fc.nonce_from_script(text)
                self._nonce_cache[key] = nonce
            if self._nonce_cache[key]:
                return self._nonce_cache[key]
        for c in self._containers(pod):
            for text in list(c.get("args") or []) + list(c.get("command") or []):
                nonce = fc.nonce_from_script(text)
                if nonce:
                    return nonce
        return None

    def _serve_log(self, handler, ns, name, query) -> None:
        from tests.fakebin import _fakecommon as fc

        pod = self.store.get("Pod", name, ns)
        if pod is None:
            handler._not_found(srv.CORE[2], name)
        containers = self._containers(pod)
        cname = query.get("container") or (containers[0]["name"] if len(containers) == 1 else None)
        if cname is None:
            raise APIError(400, "a container name must be specified for pod %s, choose one of: %s"
                           % (name, [c["name"] for c in containers]))
        if cname not in [c["name"] for c in containers]:
            raise APIError(400, "container %s is not valid for pod %s" % (cname, name))
        cs = next((c for c in (pod.get("status") or {}).get("containerStatuses") or [] if c.get("name") == cname),
                  None)
        state = (cs or {}).get("state") or {}
        if "running" not in state and "terminated" not in state:
            reason = ((state.get("waiting") or {}).get("reason")) or "ContainerCreating"
            raise APIError(400, 'container "%s" in pod "%s" is waiting to start: %s' % (cname, name, reason),
                           "BadRequest")
        if self.log_latency_s:
            time.sleep(self.log_latency_s)
        node = self._pod_node(pod)
        spec = self.node_spec(node)
        behaviour = spec.get("behaviour", "ok")
        ready = bool(cs.get("ready"))
        data = b""
        nonce = self._nonce(pod)
        if ready and nonce:
            data = self._log_bytes(spec, node, nonce, behaviour)
        handler.send_response(200)
        handler.send_header("Content-Type", "text/plain")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
        handler._entry["status"] = 200

    def _log_bytes(self, spec, node, nonce, behaviour) -> bytes:
        """The container's log for ``node``. Generating a node's outputs costs the (single-process) fake ~2 ms of
        CPU, which at thousands of log GETs a second is the fake's bottleneck, not the plugin's: when the node
        data of a scenario spec does not depend on the node's name (checked once per spec on two names), the
        log is built once per spec and nonce and served to every node of that spec, byte for byte the same."""
        from tests.fakebin import _fakecommon as fc

        key = (nonce, behaviour, json.dumps(spec, sort_keys=True, default=str))
        with self._lock:
            cached = self._log_cache.get(key)
        if cached is not None:
            return cached
        data = self._render_log(fc.framed_lines(nonce, fc.node_raw(spec, node)), behaviour)
        if key not in self._log_cache:
            same = fc.node_raw(spec, "fakeapi-probe-a") == fc.node_raw(spec, "fakeapi-probe-b") \
                == fc.node_raw(spec, node)
            with self._lock:
                self._log_cache[key] = data if same else None
                if len(self._log_cache) > 256:
                    self._log_cache.clear()
        return data

    @staticmethod
    def _render_log(lines, behaviour) -> bytes:
        if behaviour == "remote-fail":
            data = b"".join(lines[: 1 + (len(lines) - 2) // 2]) + b"kata-doctor-exit rc=1\n"
        elif behaviour == "truncate":
            body = b"".join(lines[:-1])
            data = body[: len(body) * 2 // 3]
        elif behaviour == "noise":
            out = [b"sh: line 1: warning: setlocale: LC_ALL: cannot change locale\n"]
            for ln in lines:
                out.append(ln)
                out.append(b"error: rpmdb: BDB0113 Thread/process 1234/0 failed\n")
            data = b"".join(out) + b"kata-doctor-exit rc=0\n"
        else:
            data = b"".join(lines) + b"kata-doctor-exit rc=0\n"
        return data


def _ds_row(o):
    spec = o.get("spec") or {}
    status = o.get("status") or {}
    pspec = (spec.get("template") or {}).get("spec") or {}
    sel = ",".join("%s=%s" % kv for kv in sorted((pspec.get("nodeSelector") or {}).items())) or "<none>"
    containers = pspec.get("containers") or []
    match = ",".join("%s=%s" % kv for kv in sorted(((spec.get("selector") or {}).get("matchLabels") or {}).items()))
    return [o["metadata"]["name"], status.get("desiredNumberScheduled", 0), status.get("currentNumberScheduled", 0),
            status.get("numberReady", 0), status.get("updatedNumberScheduled", 0), status.get("numberAvailable", 0),
            sel, srv.age(o["metadata"].get("creationTimestamp")), ",".join(c.get("name", "") for c in containers),
            ",".join(c.get("image", "") for c in containers), match or "<none>"]


# `kubectl get ds` columns (pkg/printers/internalversion printDaemonSet)
srv.BUILTIN_TABLES.setdefault("DaemonSet", (
    [srv._col("Name", fmt="name"), srv._col("Desired", "integer"), srv._col("Current", "integer"),
     srv._col("Ready", "integer"), srv._col("Up-to-date", "integer"), srv._col("Available", "integer"),
     srv._col("Node Selector"), srv._col("Age"), srv._col("Containers", priority=1),
     srv._col("Images", priority=1), srv._col("Selector", priority=1)], _ds_row))


def install_daemonsets(cluster, **kw) -> DaemonSetController:
    """Serve DaemonSets (+ pods/log, SelfSubjectAccessReview) on a FakeCluster or APIServer and start the controller."""
    api = getattr(cluster, "api", cluster)
    ctl = DaemonSetController(api, **kw).install()
    if hasattr(cluster, "api"):
        cluster.daemonsets = ctl
    return ctl
