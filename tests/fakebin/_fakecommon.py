"""Shared plumbing of the fake ``oc`` and ``kubectl`` executables (see README.md here).

Not executable on purpose: it is imported by tests/fakebin/oc and tests/fakebin/kubectl only.
Output shapes are copied from the real tools (DOMAIN.md 6.1 / 6.2, openshift/oc
``pkg/cli/debug/debug.go``, kubectl ``pkg/cmd/debug``); the framed block is encoded here
independently of ``kubectl_kata.probe.framing`` so the parser is checked against a second writer.
"""
import base64
import fcntl
import json
import os
import random
import re
import signal
import sys
import time

HERE = os.path.dirname(os.path.realpath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(HERE))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

DEFAULT_NODE = {
    "scenario": "healthy",
    "arch": "x86_64",
    "release": "4.16",
    "latency_s": 0.0,
    "behaviour": "ok",
}
DEFAULT_SUPPORT_IMAGE = "registry.redhat.io/rhel9/support-tools"


# --------------------------------------------------------------------------- state dir

def state_dir():
    d = os.environ.get("FAKE_OC_STATE_DIR")
    if d:
        os.makedirs(d, exist_ok=True)
    return d


def _append(name, obj):
    d = state_dir()
    if not d:
        return
    path = os.path.join(d, name)
    line = (json.dumps(obj, sort_keys=True) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, line)
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def redact(argv):
    out, hide = [], False
    for a in argv:
        if hide:
            out.append("<redacted>")
            hide = False
            continue
        flag, eq, _ = a.partition("=")
        if flag in ("--token", "--password"):
            if eq:
                out.append(flag + "=<redacted>")
            else:
                out.append(a)
                hide = True
            continue
        out.append(a)
    return out


def record_invocation(tool, argv):
    _append("invocations.jsonl", {"tool": tool, "argv": redact(argv), "pid": os.getpid(),
                                  "t": time.time()})


def record_event(kind, **data):
    data.update({"event": kind, "pid": os.getpid(), "t": time.time()})
    _append("events.jsonl", data)


# --------------------------------------------------------------------------- scenario

def load_scenario():
    """``$FAKE_OC_SCENARIO_DIR/scenario.json`` (see README.md); defaults when unset."""
    d = os.environ.get("FAKE_OC_SCENARIO_DIR")
    data = {}
    if d:
        path = os.path.join(d, "scenario.json")
        if os.path.exists(path):
            with open(path, encoding="utf-8") as fh:
                data = json.load(fh)
    data.setdefault("nodes", {})
    data.setdefault("default", {})
    data.setdefault("release", {})
    data.setdefault("images", {})
    return data


def node_spec(scenario, node):
    """The spec for ``node`` or None when the node does not exist (``strict_nodes``)."""
    nodes = scenario["nodes"]
    if node not in nodes and scenario.get("strict_nodes"):
        return None
    spec = dict(DEFAULT_NODE)
    spec.update(scenario["default"])
    spec.update(nodes.get(node, {}))
    return spec


# --------------------------------------------------------------------------- names

def suffix5():
    # k8s utilrand alphabet (no vowels, no confusable digits)
    return "".join(random.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))


def simple_name(node):
    return re.sub(r"[^-a-z0-9]", "", node.lower()).strip("-")[:63]


# --------------------------------------------------------------------------- node data

def node_raw(spec, node):
    """dict key -> (stdout bytes, stderr bytes, rc), from tests/nodesim.make_node_raw."""
    from tests.nodesim import make_node_raw  # noqa: E402  (repo root is on sys.path)
    raw = make_node_raw(spec.get("scenario", "healthy"), node=node, arch=spec.get("arch", "x86_64"),
                        release=str(spec.get("release", "4.16")))
    return {k: (bytes(v[0]), bytes(v[1]), int(v[2])) for k, v in raw.items()}


def framed_lines(nonce, raw):
    """The collection script's stdout for ``raw``, as a list of byte lines (with newlines)."""
    m = ("@@KATA-%s" % nonce).encode("ascii")
    lines = [m + b" BEGIN v1\n"]
    for key, (out, err, rc) in raw.items():
        lines.append(b"%s ITEM %s rc=%d out=%s err=%s\n" % (
            m, key.encode("ascii"), rc, base64.b64encode(out), base64.b64encode(err)))
    lines.append(m + b" END\n")
    return lines


def nonce_from_script(script):
    mt = re.search(r"M='@@KATA-([A-Za-z0-9]{8,64})'", script)
    return mt.group(1) if mt else None


def write_out(data):
    try:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    except BrokenPipeError:
        pass


def write_err(text):
    try:
        sys.stderr.write(text)
        sys.stderr.flush()
    except BrokenPipeError:
        pass


def sleep_interruptible(seconds):
    end = time.monotonic() + seconds
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(left, 0.05))


def on_terminate(handler):
    """Run ``handler(signum)`` on SIGTERM/SIGINT/SIGHUP (kubectl util/interrupt's signal set)."""
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda s, f: handler(s))
