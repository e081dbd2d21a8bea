"""Simulated Machine Config Operator for the loopback fake API server.

Reproduces what a client of the real MCO observes (DOMAIN.md sections 1.1, 1.3, 1.4, 2.1-2.3, 3), changing
objects only through ``ObjectStore.update``/``create``/``delete`` so resourceVersions bump and watchers see every
step. Sources (openshift/machine-config-operator unless noted):

- render controller (``pkg/controller/render/render_controller.go``): selects the MachineConfigs matching the
  pool's ``spec.machineConfigSelector`` (an empty selector selects nothing), merges them sorted by name
  (``MergeMachineConfigs``: extensions and kernelArguments concatenated), names the result
  ``rendered-<pool>-<md5 of the merged spec>`` (``hash.go``), creates it with the
  ``generated-by-controller-version`` annotation and a controller ownerReference to the pool, and writes
  ``spec.configuration`` (name + source, rewritten even when the name is unchanged).  On failure it sets
  ``RenderDegraded=True`` ``Failed to render configuration for pool <p>: <err>`` and leaves the target alone.
  Since 4.16.z the render controller also validates extensions (commit 6a53bc91).  The merged spec takes
  ``osImageURL``/``baseOSExtensionsContainerImage`` from ControllerConfig ``machine-config-controller`` unless an MC
  sets them.  Seeded clusters: the first time a pool is seen, a ``spec.configuration`` whose rendered MC exists
  and whose ``source`` names exactly the MCs selected now is adopted as the render of those inputs (so starting
  the simulator on seeds.py objects, rendered with a different simplification, does not roll every node); any
  later change of the selected MCs renders with the merge below, and returning to the seeded inputs returns to
  the seeded name.
- pool membership (``pkg/helpers/helpers.go`` ``GetPoolsForNode`` + node controller ``getNodesForPool``): empty
  nodeSelector selects nothing; master beats custom beats worker; a node matched by two custom pools makes
  ``GetPoolsForNode`` fail with ``node <n> belongs to 2 custom roles, cannot proceed with this Node`` and the node
  is then counted by *no* pool (the real MCO only logs this; so do we, at ERROR on logger ``fakeapi.mco``, and
  the message is kept in ``SimulatedMCO.membership_errors()``).  Nothing is written to pool status because the
  real controller writes nothing there either.
- node controller (``pkg/controller/node/node_controller.go`` ``getAllCandidateMachines``/``maxUnavailable``):
  paused pools are not targeted; capacity = maxUnavailable (int or floor percent, min 1) - unavailable nodes -
  nodes failing on this target; ``desiredConfig`` is set on that many nodes (by name).
- daemon + drain controller (``pkg/daemon/update.go``, ``drain.go``, ``pkg/controller/drain``): state
  ``Working`` + ``desiredDrain=drain-<desiredConfig>`` -> cordon, ``lastAppliedDrain`` -> ``Rebooting`` with the
  node's Ready condition ``Unknown`` -> kubelet Ready again -> ``desiredDrain=uncordon-<desiredConfig>`` ->
  uncordon -> ``currentConfig``, ``state=Done``, ``reason=""``.  One transition per node per ``step_delay``.
  Extension failures: before 4.16 the daemon rejects unknown names (``invalid extensions found: [a b]``, before
  any drain, node stays schedulable); an extension whose RPM is absent for the node's architecture fails in
  rpm-ostree after the drain (``error running rpm-ostree update --install kata-containers: error: Packages
  not found: kata-containers: exit status 1``), the node stays cordoned -- and, being unavailable, keeps
  blocking its pool even after the MC is removed, as in the real node controller.  A failed node retries only
  when its desiredConfig changes; returning it to its currentConfig completes at once (state Done).
- pool status (``pkg/controller/node/status.go`` ``calculateStatus``): counters from node annotations,
  conditions through ``SetMachineConfigPoolCondition`` semantics (lastTransitionTime only moves when the
  status flips; an updated condition is moved to the end of the list), ``status.configuration`` copied from
  spec only once every node is updated; ``Degraded`` carries the NodeDegraded message (MCO main).  Pools without
  a rendered target yet get no status (the node controller waits: "Empty Current MachineConfig").
- owner garbage collection (kube-controller-manager, not the MCO): deleting a pool deletes the rendered
  MachineConfigs it owns, as the real cluster's garbage collector does.
"""
from __future__ import annotations

import copy
import hashlib
import json
import logging
import queue
import re
import threading
import time

from .store import AlreadyExists, Conflict, NotFound, now_rfc3339

log = logging.getLogger("fakeapi.mco")

MC_API = "machineconfiguration.openshift.io/v1"
PREFIX = "machineconfiguration.openshift.io/"
ANN_CURRENT = PREFIX + "currentConfig"
ANN_DESIRED = PREFIX + "desiredConfig"
ANN_STATE = PREFIX + "state"
ANN_REASON = PREFIX + "reason"
ANN_DESIRED_DRAIN = PREFIX + "desiredDrain"
ANN_LAST_DRAIN = PREFIX + "lastAppliedDrain"
ANN_GENERATED_BY = PREFIX + "generated-by-controller-version"
ROLE_LABEL = PREFIX + "role"
ARCH_LABEL = "kubernetes.io/arch"

STATE_DONE = "Done"
STATE_WORKING = "Working"
STATE_REBOOTING = "Rebooting"
STATE_DEGRADED = "Degraded"
STATE_UNRECONCILABLE = "Unreconcilable"

# The MCO commit DOMAIN.md pins; the real annotation carries the controller's build version/hash.
CONTROLLER_VERSION = "7ff337a4ffac8e7562692181178ede61e4b2eec5"

UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable"


# --------------------------------------------------------------------------- release facts (DOMAIN 1.1, 1.2)
def parse_version(version) -> tuple:
    """'4.16.3' / '4.16' / '4.16.0-0.nightly-…' / (4, 16) -> (4, 16)."""
    if isinstance(version, tuple):
        return (int(version[0]), int(version[1]))
    m = re.match(r"^\s*v?(\d+)\.(\d+)", str(version))
    if not m:
        raise ValueError("not an OpenShift version: %r" % (version,))
    return (int(m.group(1)), int(m.group(2)))


def supported_extensions(version) -> dict:
    """The MCO allow-list (extension name -> RPM packages) of a release, DOMAIN 1.1."""
    v = parse_version(version)
    if v[0] >= 5:
        v = (4, 99)
    exts = {"usbguard": ["usbguard"], "kernel-devel": ["kernel-devel", "kernel-headers"]}
    if v >= (4, 8):
        exts["sandboxed-containers"] = ["kata-containers"]
    if v >= (4, 11):
        exts["kerberos"] = ["krb5-workstation", "libkadm5"]
    if v >= (4, 14):
        exts["wasm"] = ["crun-wasm"]
        exts["ipsec"] = ["NetworkManager-libreswan", "libreswan"]
    if v >= (4, 18):
        exts["sysstat"] = ["sysstat"]
    if v >= (4, 19):
        exts["two-node-ha"] = ["pacemaker", "pcs", "fence-agents-all"]
    if v >= (4, 22):
        del exts["wasm"]
    if v >= (4, 23):
        exts["ipsec"] = ["NetworkManager-libreswan", "libreswan", "openvswitch3.5-ipsec"]
    return exts


def kata_supported_archs(version) -> set:
    """Node architectures (kubernetes.io/arch) whose extensions repo ships kata-containers, DOMAIN 1.2."""
    v = parse_version(version)
    archs = set()
    if v >= (4, 8):
        archs.add("amd64")
    if v >= (4, 14):
        archs.add("s390x")
    return archs


def invalid_extensions(extensions, version) -> list:
    allowed = supported_extensions(version)
    return [e for e in (extensions or []) if e not in allowed]


def go_list(items) -> str:
    """Go's %v of a []string: ``[a b]``."""
    return "[" + " ".join(items) + "]"


def go_quote(s: str) -> str:
    """Go's %q for the printable strings the MCD reports."""
    return json.dumps(s, ensure_ascii=False)


# --------------------------------------------------------------------------- label selectors
def selector_matches(selector, labels) -> bool:
    """metav1.LabelSelector semantics; a nil or empty selector matches nothing (MCO rule for pools)."""
    if not selector:
        return False
    labels = labels or {}
    match_labels = selector.get("matchLabels") or {}
    exprs = selector.get("matchExpressions") or []
    if not match_labels and not exprs:
        return False
    for k, v in match_labels.items():
        if labels.get(k) != (v if v is not None else ""):
            return False
    for e in exprs:
        key, op, values = e.get("key"), e.get("operator"), e.get("values") or []
        if op == "In":
            if key not in labels or labels[key] not in values:
                return False
        elif op == "NotIn":
            if key in labels and labels[key] in values:
                return False
        elif op == "Exists":
            if key not in labels:
                return False
        elif op == "DoesNotExist":
            if key in labels:
                return False
        else:
            return False  # invalid operator: LabelSelectorAsSelector fails, the pool selects nothing
    return True


def selector_string(selector) -> str:
    """labels.Selector.String() of a LabelSelector (for the render error message)."""
    parts = []
    for k, v in sorted((selector or {}).get("matchLabels", {}).items()):
        parts.append("%s=%s" % (k, v))
    for e in (selector or {}).get("matchExpressions") or []:
        op, key = e.get("operator"), e.get("key")
        vals = ",".join(sorted(e.get("values") or []))
        if op == "In":
            parts.append("%s in (%s)" % (key, vals))
        elif op == "NotIn":
            parts.append("%s notin (%s)" % (key, vals))
        elif op == "Exists":
            parts.append(key)
        elif op == "DoesNotExist":
            parts.append("!" + key)
    return ",".join(parts)


# --------------------------------------------------------------------------- rendering (pure)
def _merge_config(base, other):
    if isinstance(base, dict) and isinstance(other, dict):
        out = dict(base)
        for k, v in other.items():
            out[k] = _merge_config(base[k], v) if k in base else copy.deepcopy(v)
        return out
    if isinstance(base, list) and isinstance(other, list):
        return base + copy.deepcopy(other)
    return copy.deepcopy(other)


def merge_machine_configs(mcs, controller_config=None) -> dict:
    """MergeMachineConfigs: MCs sorted by name; extensions/kernelArguments concatenated; last osImageURL,
    kernelType and extensions image win; fips if any; Ignition sections merged (lists appended)."""
    cc_spec = (controller_config or {}).get("spec") or {}
    merged = {
        "config": {},
        "extensions": [],
        "fips": False,
        "kernelArguments": None,
        "kernelType": "",
        "osImageURL": cc_spec.get("baseOSContainerImage") or cc_spec.get("osImageURL") or "",
    }
    if cc_spec.get("baseOSExtensionsContainerImage"):
        merged["baseOSExtensionsContainerImage"] = cc_spec["baseOSExtensionsContainerImage"]
    for mc in sorted(mcs, key=lambda m: m["metadata"]["name"]):
        spec = mc.get("spec") or {}
        if isinstance(spec.get("config"), dict):
            merged["config"] = _merge_config(merged["config"], spec["config"])
        merged["extensions"].extend(spec.get("extensions") or [])
        if spec.get("kernelArguments"):
            merged["kernelArguments"] = (merged["kernelArguments"] or []) + list(spec["kernelArguments"])
        if spec.get("fips"):
            merged["fips"] = True
        for f in ("kernelType", "osImageURL", "baseOSExtensionsContainerImage"):
            if spec.get(f):
                merged[f] = spec[f]
    return merged


def rendered_name(pool_name: str, merged_spec: dict) -> str:
    canon = json.dumps(merged_spec, sort_keys=True, separators=(",", ":"))
    return "rendered-%s-%s" % (pool_name, hashlib.md5(canon.encode("utf-8")).hexdigest())


def machine_configs_for_pool(pool: dict, mcs) -> list:
    sel = (pool.get("spec") or {}).get("machineConfigSelector")
    return [mc for mc in mcs
            if not mc["metadata"]["name"].startswith("rendered-")
            and selector_matches(sel, mc["metadata"].get("labels"))]


def render_pool(pool: dict, mcs, version, controller_config=None):
    """Render one pool. Returns (rendered MachineConfig dict, configuration dict) or raises RenderError."""
    name = pool["metadata"]["name"]
    selected = sorted(machine_configs_for_pool(pool, mcs), key=lambda m: m["metadata"]["name"])
    if not selected:
        raise RenderError("no MachineConfigs found matching selector %s"
                          % selector_string((pool.get("spec") or {}).get("machineConfigSelector")))
    merged = merge_machine_configs(selected, controller_config)
    if parse_version(version) >= (4, 16):
        bad = invalid_extensions(merged["extensions"], version)
        if bad:
            raise RenderError("invalid extensions found: %s" % go_list(bad))
    rname = rendered_name(name, merged)
    owner = {"apiVersion": MC_API, "kind": "MachineConfigPool", "name": name,
             "controller": True, "blockOwnerDeletion": True}
    if pool["metadata"].get("uid"):
        owner["uid"] = pool["metadata"]["uid"]
    rendered = {
        "apiVersion": MC_API,
        "kind": "MachineConfig",
        "metadata": {
            "name": rname,
            "annotations": {ANN_GENERATED_BY: CONTROLLER_VERSION},
            "ownerReferences": [owner],
        },
        "spec": merged,
    }
    configuration = {
        "name": rname,
        "source": [{"apiVersion": MC_API, "kind": "MachineConfig", "name": mc["metadata"]["name"]}
                   for mc in selected],
    }
    return rendered, configuration


class RenderError(Exception):
    pass


def _inputs_fingerprint(selected, controller_config) -> str:
    cc_spec = (controller_config or {}).get("spec") or {}
    blob = json.dumps({"mcs": [[m["metadata"]["name"], m.get("spec")] for m in selected],
                       "cc": [cc_spec.get(k) for k in ("osImageURL", "baseOSContainerImage",
                                                       "baseOSExtensionsContainerImage")]},
                      sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- pool membership (pure)
def pools_for_node(node: dict, pools) -> tuple:
    """GetPoolsForNode -> (primary pool name or None, error message or None)."""
    labels = node["metadata"].get("labels") or {}
    master = worker = None
    custom = []
    for p in pools:
        if p["metadata"].get("deletionTimestamp"):
            continue
        if not selector_matches((p.get("spec") or {}).get("nodeSelector"), labels):
            continue
        pname = p["metadata"]["name"]
        if pname == "master":
            master = pname
        elif pname == "worker":
            worker = pname
        else:
            custom.append(pname)
    if len(custom) > 1:
        return None, "node %s belongs to %d custom roles, cannot proceed with this Node" % (
            node["metadata"]["name"], len(custom))
    if len(custom) == 1:
        return (master or custom[0]), None
    if master:
        return master, None
    return worker, None


def pool_membership(nodes, pools) -> tuple:
    """-> ({pool name: [node dicts]}, {node name: error})."""
    members = {p["metadata"]["name"]: [] for p in pools}
    errors = {}
    for n in nodes:
        primary, err = pools_for_node(n, pools)
        if err:
            errors[n["metadata"]["name"]] = err
        elif primary:
            members[primary].append(n)
    return members, errors


# --------------------------------------------------------------------------- node predicates (pure)
def _ann(node):
    return node["metadata"].get("annotations") or {}


def _conditions(node):
    return (node.get("status") or {}).get("conditions") or []


def node_ready(node) -> bool:
    """LayeredNodeState.IsNodeReady."""
    for c in _conditions(node):
        if c.get("type") == "Ready" and c.get("status") != "True":
            return False
        if c.get("type") in ("DiskPressure", "NetworkUnavailable") and c.get("status") != "False":
            return False
    return not (node.get("spec") or {}).get("unschedulable", False)


def node_done(node) -> bool:
    a = _ann(node)
    return bool(a.get(ANN_CURRENT)) and a.get(ANN_CURRENT) == a.get(ANN_DESIRED) and a.get(ANN_STATE) == STATE_DONE


def node_failing(node) -> bool:
    return _ann(node).get(ANN_STATE) in (STATE_DEGRADED, STATE_UNRECONCILABLE)


def node_updated(node, target) -> bool:
    return node_done(node) and _ann(node).get(ANN_DESIRED) == target


def node_unavailable(node) -> bool:
    """IsUnavailableForUpdate."""
    if not node_ready(node):
        return True
    if node_done(node):
        return False
    return not node_failing(node)


def max_unavailable(pool, node_count: int) -> int:
    raw = (pool.get("spec") or {}).get("maxUnavailable")
    if raw is None:
        val = 1
    elif isinstance(raw, str) and raw.strip().endswith("%"):
        try:
            val = int(node_count * int(raw.strip()[:-1]) // 100)
        except ValueError:
            val = 1
    else:
        try:
            val = int(raw)
        except (TypeError, ValueError):
            val = 1
    return val if val > 0 else 1


# --------------------------------------------------------------------------- pool status (pure)
def _set_condition(conditions: list, ctype: str, status: str, reason: str, message: str, now: str) -> list:
    """apihelpers.SetMachineConfigPoolCondition."""
    cur = next((c for c in conditions if c.get("type") == ctype), None)
    if cur is not None and cur.get("status") == status and cur.get("reason", "") == reason \
            and cur.get("message", "") == message:
        return conditions
    ltt = cur.get("lastTransitionTime") if (cur is not None and cur.get("status") == status) else now
    new = {"type": ctype, "status": status, "lastTransitionTime": ltt, "reason": reason, "message": message}
    return [c for c in conditions if c.get("type") != ctype] + [new]


def condition(pool, ctype):
    for c in (pool.get("status") or {}).get("conditions") or []:
        if c.get("type") == ctype:
            return c
    return None


def calculate_status(pool: dict, nodes, version, now: str | None = None) -> dict:
    """calculateStatus for a pool and its member nodes; returns the new status dict."""
    now = now or now_rfc3339()
    spec = pool.get("spec") or {}
    old = pool.get("status") or {}
    target = (spec.get("configuration") or {}).get("name", "")
    line = ("MachineConfig %s" % target) if parse_version(version) >= (4, 14) else target
    updated = [n for n in nodes if node_updated(n, target)]
    ready = [n for n in updated if node_ready(n)]
    unavailable = [n for n in nodes if node_unavailable(n)]
    degraded = [n for n in nodes if _ann(n).get(ANN_DESIRED) and node_failing(n)]
    status = {k: copy.deepcopy(v) for k, v in old.items()
              if k not in ("observedGeneration", "machineCount", "updatedMachineCount", "readyMachineCount",
                           "unavailableMachineCount", "degradedMachineCount", "conditions", "configuration")}
    status.update({
        "observedGeneration": pool["metadata"].get("generation", 1),
        "machineCount": len(nodes),
        "updatedMachineCount": len(updated),
        "readyMachineCount": len(ready),
        "unavailableMachineCount": len(unavailable),
        "degradedMachineCount": len(degraded),
    })
    configuration = copy.deepcopy(old.get("configuration") or {})
    conds = copy.deepcopy(old.get("conditions") or [])
    all_updated = len(updated) == len(nodes) and len(ready) == len(nodes) and not unavailable
    if all_updated:
        conds = _set_condition(conds, "Updated", "True", "", "All nodes are updated with %s" % line, now)
        conds = _set_condition(conds, "Updating", "False", "", "", now)
        configuration = copy.deepcopy(spec.get("configuration") or {})
    else:
        conds = _set_condition(conds, "Updated", "False", "", "", now)
        if spec.get("paused"):
            conds = _set_condition(conds, "Updating", "False", "", "Pool is paused; will not update to %s" % line,
                                   now)
        else:
            conds = _set_condition(conds, "Updating", "True", "", "All nodes are updating to %s" % line, now)
    node_degraded_msg = ""
    if degraded:
        reasons = ["Node %s is reporting: %s" % (n["metadata"]["name"], go_quote(_ann(n)[ANN_REASON]))
                   for n in degraded if _ann(n).get(ANN_REASON)]
        node_degraded_msg = ", ".join(reasons)
        conds = _set_condition(conds, "NodeDegraded", "True",
                               "%d nodes are reporting degraded status on sync" % len(degraded),
                               node_degraded_msg, now)
    else:
        conds = _set_condition(conds, "NodeDegraded", "False", "", "", now)
    render_degraded = any(c.get("type") == "RenderDegraded" and c.get("status") == "True" for c in conds)
    if degraded or render_degraded:
        conds = _set_condition(conds, "Degraded", "True", "", node_degraded_msg, now)
    else:
        conds = _set_condition(conds, "Degraded", "False", "", "", now)
    status["configuration"] = configuration
    status["conditions"] = conds
    return status


# --------------------------------------------------------------------------- the simulator
class SimulatedMCO:
    """Background MCO. ``start()``/``stop()``; ``wait_idle(timeout)``; test hooks ``degrade_node`` and
    ``recover_node``; ``membership_errors()``."""

    def __init__(self, store, ocp_version: str, step_delay: float = 0.02, render_delay: float = 0.05):
        self.store = store
        self.ocp_version = str(ocp_version)
        self.version = parse_version(ocp_version)
        self.step_delay = float(step_delay)
        self.render_delay = float(render_delay)
        self._q: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._state_lock = threading.Lock()
        self._render_due: float | None = None
        self._next_at: dict = {}          # node name -> monotonic time of its next allowed transition
        self._wake_at: float | None = None
        self._busy = True
        self._hook_pending: dict = {}     # node -> reason, applied when the node is next worked on
        self._sticky: dict = {}           # node -> reason, degraded by the hook: stays degraded
        self._failed_for: dict = {}       # node -> desiredConfig its last failure happened on
        self._membership_errors: dict = {}
        self._rendered_cache: dict = {}   # rendered name -> spec (survives garbage collection)
        self._subscribed = False
        self._seen_generation: dict = {}  # pool name -> metadata.generation last seen in an event
        self._seen_pools: set = set()     # pools the render controller has looked at
        self._adopted: dict = {}          # pool -> {inputs fingerprint: rendered name found at first sight}
        self.errors: list = []            # unexpected exceptions inside the loop (tests assert it stays empty)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> "SimulatedMCO":
        if self._thread is not None:
            return self
        self._stop.clear()
        self._q = queue.Queue()
        if not self._subscribed:
            self.store.subscribe(self._on_event)
            self._subscribed = True
        with self._state_lock:
            self._render_due = time.monotonic()  # informers deliver every pool/MC at startup
            self._busy = True
        self._thread = threading.Thread(target=self._run, name="fakeapi-mco", daemon=True)
        self._thread.start()
        self._q.put(("WAKE", None))
        return self

    def stop(self, timeout: float = 2.0) -> None:
        if self._subscribed and hasattr(self.store, "unsubscribe"):
            self.store.unsubscribe(self._on_event)
            self._subscribed = False
        self._stop.set()
        self._q.put(None)
        t, self._thread = self._thread, None
        if t is not None:
            t.join(timeout)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _on_event(self, event_type, obj) -> None:
        if not self._stop.is_set():
            self._q.put((event_type, obj))

    # ------------------------------------------------------------------ test hooks / introspection
    def degrade_node(self, name: str, reason: str) -> None:
        """Next time ``name`` is worked on (at once if it is mid-update) it goes Degraded with ``reason``
        and stays there until ``recover_node``."""
        with self._state_lock:
            self._hook_pending[name] = reason
            self._next_at.pop(name, None)
            self._busy = True
        self._q.put(("WAKE", None))

    def recover_node(self, name: str) -> None:
        """Clear a ``degrade_node`` hook; the daemon retries its update."""
        with self._state_lock:
            self._hook_pending.pop(name, None)
            self._sticky.pop(name, None)
            self._failed_for.pop(name, None)
            self._busy = True
        self._q.put(("WAKE", None))

    def membership_errors(self) -> dict:
        """{node name: 'node <n> belongs to 2 custom roles, cannot proceed with this Node'}."""
        with self._state_lock:
            return dict(self._membership_errors)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """True once no event is queued, no render is pending and no node can make progress without
        outside input (a node held by a paused pool or stuck Degraded counts as idle)."""
        deadline = time.monotonic() + timeout
        stable = 0
        while time.monotonic() < deadline:
            if hasattr(self.store, "flush"):
                self.store.flush()
            with self._q.all_tasks_done:
                queued = self._q.unfinished_tasks
            with self._state_lock:
                busy = self._busy or self._render_due is not None
            if not queued and not busy:
                stable += 1
                if stable >= 2:
                    return True
            else:
                stable = 0
            time.sleep(min(0.01, max(self.step_delay / 2, 0.001)))
        return False

    # ------------------------------------------------------------------ loop
    def _run(self) -> None:
        while not self._stop.is_set():
            with self._state_lock:
                due = [t for t in (self._render_due, self._wake_at) if t is not None]
            timeout = max(0.0, min(due) - time.monotonic()) if due else 0.5
            items = []
            try:
                items.append(self._q.get(timeout=timeout))
                while True:
                    items.append(self._q.get_nowait())
            except queue.Empty:
                pass
            try:
                if any(i is None for i in items) or self._stop.is_set():
                    return
                for ev in items:
                    self._note_event(ev)
                self._reconcile()
            except Exception as e:  # keep the controller alive like a real controller would requeue
                log.exception("simulated MCO reconcile failed")
                self.errors.append(repr(e))
            finally:
                for _ in items:
                    self._q.task_done()

    def _note_event(self, ev) -> None:
        etype, obj = ev
        if obj is None:
            return
        kind = obj.get("kind")
        if kind in ("MachineConfig", "MachineConfigPool", "ControllerConfig"):
            # A change of an input (an MC, a ControllerConfig, a pool's spec) restarts the render delay so
            # the race window after it is always at least render_delay long; pool status writes (our own,
            # mostly) only make sure a render is pending.
            changed_input = kind != "MachineConfigPool" or etype != "MODIFIED"
            if kind == "MachineConfigPool":
                name, gen = obj["metadata"]["name"], obj["metadata"].get("generation")
                changed_input = changed_input or self._seen_generation.get(name) != gen
                self._seen_generation[name] = gen
            with self._state_lock:
                if changed_input or self._render_due is None:
                    self._render_due = time.monotonic() + self.render_delay
        if kind == "MachineConfigPool" and etype == "DELETED":
            name = obj["metadata"]["name"]
            self._seen_pools.discard(name)
            self._adopted.pop(name, None)
            self._seen_generation.pop(name, None)
            self._collect_garbage(obj)

    def _collect_garbage(self, pool) -> None:
        uid = pool["metadata"].get("uid")
        name = pool["metadata"]["name"]
        for mc in self.store.list("MachineConfig"):
            for ref in mc["metadata"].get("ownerReferences") or []:
                if ref.get("kind") == "MachineConfigPool" and ref.get("name") == name \
                        and (not uid or not ref.get("uid") or ref.get("uid") == uid):
                    self._rendered_cache[mc["metadata"]["name"]] = copy.deepcopy(mc.get("spec") or {})
                    try:
                        self.store.delete("MachineConfig", mc["metadata"]["name"])
                    except NotFound:
                        pass
                    break

    def _reconcile(self) -> None:
        now = time.monotonic()
        with self._state_lock:
            render = self._render_due is not None and now >= self._render_due
            if render:
                self._render_due = None
        if render:
            self._render_all()
        wake = []
        busy = False
        with self.store.lock:
            pools = self.store.list("MachineConfigPool")
            nodes = self.store.list("Node")
            members, errors = pool_membership(nodes, pools)
            self._report_membership(errors)
            for pool in pools:
                b, w = self._node_controller(pool, members[pool["metadata"]["name"]], now)
                busy |= b
                wake += w
            nodes_by_name = {n["metadata"]["name"]: n for n in self.store.list("Node")}
            for pool in pools:
                target = ((pool.get("spec") or {}).get("configuration") or {}).get("name")
                for n in members[pool["metadata"]["name"]]:
                    node = nodes_by_name.get(n["metadata"]["name"])
                    if node is None:
                        continue
                    b, w = self._daemon(node, pool, target, now)
                    busy |= b
                    wake += w
            self._sync_statuses()
        with self._state_lock:
            self._busy = busy
            self._wake_at = min(wake) if wake else None

    def _report_membership(self, errors) -> None:
        with self._state_lock:
            new = {k: v for k, v in errors.items() if self._membership_errors.get(k) != v}
            self._membership_errors = dict(errors)
        for msg in new.values():
            log.error("error finding pools for node: %s", msg)

    # ------------------------------------------------------------------ render controller
    def _render_all(self) -> None:
        with self.store.lock:
            mcs = self.store.list("MachineConfig")
            cc = self.store.get("ControllerConfig", "machine-config-controller")
            for pool in self.store.list("MachineConfigPool"):
                if pool["metadata"].get("deletionTimestamp"):
                    continue
                pname = pool["metadata"]["name"]
                selected = sorted(machine_configs_for_pool(pool, mcs), key=lambda m: m["metadata"]["name"])
                fp = _inputs_fingerprint(selected, cc)
                adopted = self._adopted.setdefault(pname, {})
                if pname not in self._seen_pools:
                    # First sight of a pool (startup, or a new pool): a target rendered by whoever seeded the
                    # cluster is accepted as long as it was rendered from exactly the MCs selected now.
                    self._seen_pools.add(pname)
                    conf = (pool.get("spec") or {}).get("configuration") or {}
                    if conf.get("name") and any(m["metadata"]["name"] == conf["name"] for m in mcs) and \
                            [s.get("name") for s in conf.get("source") or []] == \
                            [m["metadata"]["name"] for m in selected]:
                        adopted[fp] = conf["name"]
                if selected and adopted.get(fp) and any(m["metadata"]["name"] == adopted[fp] for m in mcs):
                    configuration = {"name": adopted[fp],
                                     "source": [{"apiVersion": MC_API, "kind": "MachineConfig",
                                                 "name": m["metadata"]["name"]} for m in selected]}
                else:
                    try:
                        rendered, configuration = render_pool(pool, mcs, self.version, cc)
                    except RenderError as e:
                        self._set_render_degraded(pool, str(e))
                        continue
                    self._rendered_cache[rendered["metadata"]["name"]] = copy.deepcopy(rendered["spec"])
                    if not any(m["metadata"]["name"] == rendered["metadata"]["name"] for m in mcs):
                        try:
                            mcs.append(self.store.create(rendered))
                        except AlreadyExists:
                            pass
                new = copy.deepcopy(pool)
                new.setdefault("spec", {})["configuration"] = configuration
                st = new.setdefault("status", {})
                rd = condition(new, "RenderDegraded")
                if rd is None or rd.get("status") != "False":
                    st["conditions"] = _set_condition(st.get("conditions") or [], "RenderDegraded", "False", "", "",
                                                      now_rfc3339())
                if new != pool:
                    self._write(new)

    def _set_render_degraded(self, pool, err: str) -> None:
        new = copy.deepcopy(pool)
        st = new.setdefault("status", {})
        st["conditions"] = _set_condition(
            st.get("conditions") or [], "RenderDegraded", "True", "",
            "Failed to render configuration for pool %s: %s" % (pool["metadata"]["name"], err), now_rfc3339())
        if new != pool:
            self._write(new)

    # ------------------------------------------------------------------ node controller
    def _node_controller(self, pool, nodes, now) -> tuple:
        spec = pool.get("spec") or {}
        target = (spec.get("configuration") or {}).get("name")
        if not target or spec.get("paused") or pool["metadata"].get("deletionTimestamp"):
            return False, []
        maxu = max_unavailable(pool, len(nodes))
        unavailable = sum(1 for n in nodes if node_unavailable(n))
        if unavailable >= maxu:
            return False, []
        capacity = maxu - unavailable
        failing_this = 0
        candidates = []
        for n in nodes:
            if _ann(n).get(ANN_DESIRED) == target:
                if node_failing(n):
                    failing_this += 1
                continue
            if _ann(n).get(ANN_STATE) in (STATE_WORKING, STATE_REBOOTING) or not node_ready(n):
                continue  # mid-update or unscheduled nodes are not candidates (node_controller.go)
            candidates.append(n)
        if failing_this >= capacity or not candidates:
            return False, []
        capacity -= failing_this
        busy, wake = False, []
        for n in sorted(candidates, key=lambda x: x["metadata"]["name"])[:capacity]:
            name = n["metadata"]["name"]
            ready_at = self._next_at.get(name, 0.0)
            busy = True
            if now < ready_at:
                wake.append(ready_at)
                continue
            new = copy.deepcopy(n)
            new["metadata"].setdefault("annotations", {})[ANN_DESIRED] = target
            if self._write(new):
                self._stepped(name, now, wake)
        return busy, wake

    def _stepped(self, name, now, wake) -> None:
        self._next_at[name] = now + self.step_delay
        wake.append(now + self.step_delay)

    # ------------------------------------------------------------------ daemon + drain controller
    def _daemon(self, node, pool, target, now) -> tuple:
        """One transition of the node's MCD (or the drain controller acting for it)."""
        name = node["metadata"]["name"]
        a = _ann(node)
        cur, des, state = a.get(ANN_CURRENT, ""), a.get(ANN_DESIRED, ""), a.get(ANN_STATE, "")
        with self._state_lock:
            hook = self._hook_pending.get(name)
            sticky = name in self._sticky
        if sticky:
            return False, []
        action = None
        if hook is not None and (des and des != cur or state in (STATE_WORKING, STATE_REBOOTING)):
            action = ("hook", hook)
        elif state in (STATE_DEGRADED, STATE_UNRECONCILABLE):
            if des and des == cur:
                action = ("finish", None)
            elif des and self._failed_for.get(name) != des:
                action = ("start", None)
        elif not des and not cur:
            if not target:
                return False, []
            action = ("adopt", None)  # firstboot: the MCS-served config is the pool target
        elif not des:
            return False, []
        elif des == cur:
            if state != STATE_DONE or (node.get("spec") or {}).get("unschedulable") and \
                    a.get(ANN_LAST_DRAIN, "").startswith("drain-"):
                action = ("finish", None)
        elif state in (STATE_DONE, ""):
            action = ("start", None)
        elif state == STATE_WORKING:
            if a.get(ANN_DESIRED_DRAIN) != "drain-" + des:
                action = ("request-drain", None)
            elif a.get(ANN_LAST_DRAIN) != "drain-" + des:
                action = ("drain", None)
            else:
                action = ("apply", None)
        elif state == STATE_REBOOTING:
            if not _ready_condition_true(node):
                action = ("kubelet-ready", None)
            elif a.get(ANN_DESIRED_DRAIN) != "uncordon-" + des:
                action = ("request-uncordon", None)
            elif a.get(ANN_LAST_DRAIN) != "uncordon-" + des:
                action = ("uncordon", None)
            else:
                action = ("finish", None)
        if action is None:
            return False, []
        ready_at = self._next_at.get(name, 0.0)
        if now < ready_at:
            return True, [ready_at]
        wake = []
        new = copy.deepcopy(node)
        ann = new["metadata"].setdefault("annotations", {})
        kind, arg = action
        if kind == "adopt":
            ann[ANN_CURRENT] = ann[ANN_DESIRED] = target
            ann[ANN_STATE] = STATE_DONE
            ann[ANN_REASON] = ""
        elif kind == "hook":
            with self._state_lock:
                self._hook_pending.pop(name, None)
                self._sticky[name] = arg
            self._degrade(new, arg)
        elif kind == "start":
            err = self._validate_on_node(des)
            if err:
                self._degrade(new, err)
            else:
                ann[ANN_STATE] = STATE_WORKING
                ann[ANN_REASON] = ""
                ann[ANN_DESIRED_DRAIN] = "drain-" + des
        elif kind == "request-drain":
            ann[ANN_DESIRED_DRAIN] = "drain-" + des
        elif kind == "drain":
            _cordon(new, True)
            ann[ANN_LAST_DRAIN] = ann[ANN_DESIRED_DRAIN]
        elif kind == "apply":
            err = self._apply_os_changes(new, cur, des)
            if err:
                self._degrade(new, err)
            else:
                ann[ANN_STATE] = STATE_REBOOTING
                _set_ready(new, "Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status.")
        elif kind == "kubelet-ready":
            _set_ready(new, "True", "KubeletReady", "kubelet is posting ready status")
        elif kind == "request-uncordon":
            ann[ANN_DESIRED_DRAIN] = "uncordon-" + des
        elif kind == "uncordon":
            _cordon(new, False)
            ann[ANN_LAST_DRAIN] = ann[ANN_DESIRED_DRAIN]
        elif kind == "finish":
            ann[ANN_CURRENT] = des
            ann[ANN_STATE] = STATE_DONE
            ann[ANN_REASON] = ""
            if (new.get("spec") or {}).get("unschedulable"):
                ann[ANN_DESIRED_DRAIN] = ann[ANN_LAST_DRAIN] = "uncordon-" + des
                _cordon(new, False)
            if not _ready_condition_true(new):
                _set_ready(new, "True", "KubeletReady", "kubelet is posting ready status")
            self._failed_for.pop(name, None)
        if self._write(new):
            self._stepped(name, now, wake)
        return True, wake

    def _degrade(self, node, reason) -> None:
        ann = node["metadata"].setdefault("annotations", {})
        ann[ANN_STATE] = STATE_DEGRADED
        ann[ANN_REASON] = reason
        self._failed_for[node["metadata"]["name"]] = ann.get(ANN_DESIRED, "")
        if not _ready_condition_true(node):
            _set_ready(node, "True", "KubeletReady", "kubelet is posting ready status")

    def _rendered_spec(self, name):
        if not name:
            return {}
        mc = self.store.get("MachineConfig", name)
        if mc is not None:
            return mc.get("spec") or {}
        return self._rendered_cache.get(name)

    def _validate_on_node(self, des):
        spec = self._rendered_spec(des)
        if spec is None:
            return 'machineconfig.machineconfiguration.openshift.io "%s" not found' % des
        if self.version < (4, 16):
            bad = invalid_extensions(spec.get("extensions"), self.version)
            if bad:
                return "invalid extensions found: %s" % go_list(bad)
        return None

    def _apply_os_changes(self, node, cur, des):
        """generateExtensionsArgs + rpm-ostree: fail when a package is absent for the node's arch."""
        new_spec = self._rendered_spec(des) or {}
        old_spec = self._rendered_spec(cur) or {}
        allowed = supported_extensions(self.version)
        old_exts = set(old_spec.get("extensions") or [])
        args, seen = [], set()
        for ext in new_spec.get("extensions") or []:
            if ext in old_exts or ext in seen:
                continue
            seen.add(ext)
            for pkg in allowed.get(ext, []):
                args += ["--install", pkg]
        arch = (node["metadata"].get("labels") or {}).get(ARCH_LABEL, "amd64")
        if "sandboxed-containers" in seen and arch not in kata_supported_archs(self.version):
            return ("error running rpm-ostree update %s: error: Packages not found: kata-containers: exit status 1"
                    % " ".join(args))
        return None

    # ------------------------------------------------------------------ status
    def _sync_statuses(self) -> None:
        pools = self.store.list("MachineConfigPool")
        members, _ = pool_membership(self.store.list("Node"), pools)
        for pool in pools:
            if not ((pool.get("spec") or {}).get("configuration") or {}).get("name"):
                continue  # the node controller waits for the render controller ("Empty Current MachineConfig")
            status = calculate_status(pool, members[pool["metadata"]["name"]], self.version)
            if status != (pool.get("status") or {}):
                new = copy.deepcopy(pool)
                new["status"] = status
                self._write(new)

    # ------------------------------------------------------------------ writes
    def _write(self, obj) -> bool:
        try:
            self.store.update(obj)
            return True
        except (Conflict, NotFound):
            # someone else wrote in between: the resulting event triggers another pass
            with self._state_lock:
                self._busy = True
            self._q.put(("WAKE", None))
            return False


def _ready_condition_true(node) -> bool:
    for c in _conditions(node):
        if c.get("type") == "Ready":
            return c.get("status") == "True"
    return True


def _set_ready(node, status, reason, message) -> None:
    now = now_rfc3339()
    conds = node.setdefault("status", {}).setdefault("conditions", [])
    for c in conds:
        if c.get("type") == "Ready":
            if c.get("status") != status:
                c["lastTransitionTime"] = now
            c.update({"status": status, "reason": reason, "message": message, "lastHeartbeatTime": now})
            return
    conds.append({"type": "Ready", "status": status, "reason": reason, "message": message,
                  "lastHeartbeatTime": now, "lastTransitionTime": now})


def _cordon(node, on: bool) -> None:
    spec = node.setdefault("spec", {})
    taints = [t for t in spec.get("taints") or [] if t.get("key") != UNSCHEDULABLE_TAINT]
    if on:
        spec["unschedulable"] = True
        taints.append({"key": UNSCHEDULABLE_TAINT, "effect": "NoSchedule", "timeAdded": now_rfc3339()})
    else:
        spec.pop("unschedulable", None)
    if taints:
        spec["taints"] = taints
    else:
        spec.pop("taints", None)
