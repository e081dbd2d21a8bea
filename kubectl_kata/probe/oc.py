"""``oc debug node/<n>`` backend.

Command (DOMAIN.md 6.1)::

    oc [--kubeconfig=K] [--context=C] [--cluster=..] [--user=..] [--as=..] [--as-group=..] debug node/<n> --to-namespace=<ns> [--image=<img>] \
        -- chroot /host sh -c '<collection script>'

* ``--to-namespace`` always: the caller pre-creates one privileged namespace for the whole run,
  so oc never creates (and must delete) a temporary ``openshift-debug-*`` namespace per node.
* No ``-q``: ``--quiet`` also silences ``warning: Container container-00 is unable to start due
  to an error: ...`` -- the only live sign of ImagePullBackOff/CreateContainerError (openshift/oc
  #764). oc's notices go to its stderr, which we capture apart from stdout; stdout carries the pod
  log and the framing ignores every line without this run's nonce anyway.
* Exit status: remote failure -> ``error: non-zero exit code from debug container`` and exit 1;
  older oc (< 4.14) could exit 0 for long commands, so completeness is judged by the END marker.
* Cleanup: oc deletes its debug pod when the command ends and when it receives SIGTERM/SIGINT
  (kubectl ``util/interrupt``); the runner stops oc with SIGTERM first and only then SIGKILL.
  A SIGKILLed oc cannot clean up -- the caller's namespace deletion is the final guarantee.
* Image pull: when oc reports a pull back-off and the container has produced no output for
  ``image_pull_grace_s`` seconds, the probe is stopped early with reason ``image-pull`` naming
  the image, instead of waiting for the whole per-node timeout on every node.
* Credentials: the caller's ``--kubeconfig`` / ``--context`` / ``--cluster`` / ``--user`` / ``--as`` /
  ``--as-group`` are passed on as oc global flags; never a token on argv.
"""
from __future__ import annotations

import re
import threading
import time
from typing import List, Mapping, Optional, Sequence, Tuple, Union

from kubectl_kata.probe.argv import command_as_run, kube_global_flags
from kubectl_kata.probe.backend import (
    REASON_CONTAINER_ERROR, REASON_IMAGE_PULL, REASON_NOT_ROOT, REASON_POD_FAILED, REASON_SCHEDULING,
    NodeProbeResult, ProbeBackend,
)
from kubectl_kata.probe.classify import build_result, classify_kube_stderr, one_line
from kubectl_kata.probe.process import run_command
from kubectl_kata.probe.script import DEFAULT_ITEM_TIMEOUT_S, build_script, new_nonce

__all__ = ["OcDebugBackend", "diagnose_oc_stderr", "simple_name"]

_NS_RE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_UNABLE_TO_START = re.compile(
    r"warning: Container (?P<container>\S+) is unable to start due to an error: (?P<msg>.*)")
_IMAGE_IN_MSG = re.compile(r'image "(?P<image>[^"]+)"')
_PULL_WORDS = ("pulling image", "ErrImagePull", "ImagePullBackOff", "pull access denied",
               "manifest unknown", "unauthorized: ", "InvalidImageName", "ErrImageNeverPull")


def simple_name(node: str) -> str:
    """oc's MakeSimpleName: lower-case, drop everything outside [-a-z0-9], trim '-', max 63."""
    s = re.sub(r"[^-a-z0-9]", "", node.lower()).strip("-")
    return s[:63]


def _image_pull_diag(text: str) -> Optional[Tuple[str, str]]:
    matches = list(_UNABLE_TO_START.finditer(text))
    if not matches:
        return None
    m = matches[-1]
    msg = m.group("msg").strip()
    if any(w in msg for w in _PULL_WORDS):
        im = _IMAGE_IN_MSG.search(msg)
        image = im.group("image") if im else "(unknown image)"
        return REASON_IMAGE_PULL, one_line(
            'the debug pod image "%s" cannot be pulled (%s); on disconnected clusters pass '
            "--image with a support-tools image from a reachable registry" % (image, msg))
    return REASON_CONTAINER_ERROR, one_line(
        "debug container %s cannot start: %s" % (m.group("container"), msg))


def diagnose_oc_stderr(text: str) -> Optional[Tuple[str, str]]:
    """Classify oc debug's stderr into ``(reason, one-line message)``; None when nothing known."""
    if "can't debug nodes without running as the root user" in text:
        return REASON_NOT_ROOT, "oc refuses to debug nodes without running as the root user"
    if "debug pod could not be scheduled" in text:
        line = next((ln.strip() for ln in text.splitlines() if "could not be scheduled" in ln), "")
        return REASON_SCHEDULING, one_line(line)
    # the pull warning quotes registry errors ("no such host", "unauthorized: ...") that must
    # not be mistaken for trouble talking to the API server
    api_text = "\n".join(ln for ln in text.splitlines() if not _UNABLE_TO_START.search(ln))
    api = classify_kube_stderr(api_text)
    if api:
        return api
    m = re.search(r'unable to create the debug pod "([^"]+)"', text)
    if m:
        return REASON_POD_FAILED, 'debug pod "%s" disappeared before it ran (deleted or evicted)' % m.group(1)
    return _image_pull_diag(text)


class OcDebugBackend(ProbeBackend):
    """One ``oc debug node/<n>`` per node; see the module docstring for the decisions."""

    name = "oc"

    def __init__(
        self,
        namespace: str,
        *,
        oc_path: str = "oc",
        image: Optional[str] = None,
        kubeconfig: Optional[str] = None,
        context: Optional[str] = None,
        item_timeout_s: int = DEFAULT_ITEM_TIMEOUT_S,
        image_pull_grace_s: Optional[float] = 45.0,
        env: Optional[Mapping[str, str]] = None,
        cluster: Optional[str] = None,
        user: Optional[str] = None,
        as_user: Optional[str] = None,
        as_groups: Sequence[str] = (),
    ) -> None:
        if not isinstance(namespace, str) or not _NS_RE.match(namespace):
            raise ValueError("invalid namespace name %r" % (namespace,))
        if image is not None and (not image or image.startswith("-") or any(c.isspace() for c in image)):
            raise ValueError("invalid image reference %r" % (image,))
        self.namespace = namespace
        self.oc_path = oc_path
        self.image = image
        # the caller's connection flags, built once (never a token)
        self._global_flags = kube_global_flags(kubeconfig, context, cluster, user, as_user, list(as_groups))
        self.item_timeout_s = item_timeout_s
        self.image_pull_grace_s = image_pull_grace_s
        self.env = env

    def global_flags(self) -> List[str]:
        return list(self._global_flags)

    def command(self, node: str, script: str) -> List[str]:
        argv = [self.oc_path] + self.global_flags()
        argv += ["debug", "node/" + node, "--to-namespace=" + self.namespace]
        if self.image:
            argv.append("--image=" + self.image)
        argv += ["--", "chroot", "/host", "sh", "-c", script]
        return argv

    def _pull_watch(self):
        """runner watch: abort once a pull back-off has lasted ``image_pull_grace_s`` with no output yet
        (asks to be called again when the grace ends, so the runner needs no polling)."""
        grace = self.image_pull_grace_s
        first_seen: List[float] = []

        def watch(stdout_len: int, stderr: bytes, elapsed: float) -> Union[bool, float]:
            if grace is None or stdout_len > 0:
                return False
            diag = _image_pull_diag(stderr.decode("utf-8", "replace"))
            if not diag or diag[0] != REASON_IMAGE_PULL:
                return False
            if not first_seen:
                first_seen.append(time.monotonic())
            left = grace - (time.monotonic() - first_seen[0])
            return True if left <= 0 else left

        return watch

    def probe(self, node: str, *, timeout_s: float, cancel_event: threading.Event,
              grace_s: float) -> NodeProbeResult:
        nonce = new_nonce()
        script = build_script(nonce, item_timeout_s=self.item_timeout_s)
        argv = self.command(node, script)
        outcome = run_command(argv, timeout_s=timeout_s, cancel_event=cancel_event, grace_s=grace_s,
                              watch=self._pull_watch(), env=self.env)
        notes: List[str] = []
        err_text = outcome.stderr.decode("utf-8", "replace")
        m = re.search(r'error: unable to delete the debug pod "([^"]+)"', err_text)
        if m:
            notes.append('oc could not delete its debug pod "%s" in namespace "%s"; the namespace '
                         "cleanup removes it" % (m.group(1), self.namespace))
        return build_result(node, outcome, nonce=nonce, command=command_as_run(argv, script),
                            diagnose=diagnose_oc_stderr, timeout_s=timeout_s, notes=notes)
