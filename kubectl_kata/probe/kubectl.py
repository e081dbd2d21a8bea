"""``kubectl debug node/<n>`` backend (clusters without ``oc``).

``kubectl debug node/N`` without ``--attach`` only creates the pod (DOMAIN.md 6.2): it prints
``Creating debugging pod node-debugger-<node>-<5> with container debugger on node <n>.`` to
stdout and never deletes the pod. With ``--attach`` the output goes through an attach stream
that can race with a fast container and still leaves the pod behind. The scheme used here:

1. create, detached: ``kubectl debug node/N --profile=sysadmin --image=IMG -n NS
   -- chroot /host sh -c '<script>'`` and read the pod/container name from stdout;
2. poll ``kubectl get pod P -n NS -o json`` until the container runs or ends; a waiting reason
   of ErrImagePull/ImagePullBackOff that lasts ``image_pull_grace_s`` stops the probe early and
   names the image; other waiting reasons (CreateContainerError...) are reported at the deadline;
3. ``kubectl logs -f pod/P -c debugger -n NS`` (returns when the container ends);
4. one more ``get pod`` for the container's exit code (kubectl logs never reports it);
5. **always** (``finally``, also on timeout and Ctrl-C): ``kubectl delete pod P -n NS
   --ignore-not-found --wait=false``. If the create step was interrupted before the name was
   known, pods are looked up by ``app.kubernetes.io/managed-by=kubectl-debug`` and
   ``spec.nodeName`` in the run's own namespace and deleted. Deletion is not cancellable and has
   its own short timeout; a failure is reported in ``notes`` (the caller's namespace deletion is
   the final guarantee).
"""
from __future__ import annotations

import json
import re
import threading
import time
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from kubectl_kata.probe.argv import command_as_run, kube_global_flags
from kubectl_kata.probe.backend import (
    REASON_CANCELLED, REASON_CONTAINER_ERROR, REASON_IMAGE_PULL, REASON_POD_FAILED, REASON_SCHEDULING,
    REASON_TIMEOUT, REASON_TOOL_MISSING, NodeProbeResult, ProbeBackend,
)
from kubectl_kata.probe.classify import build_result, classify_kube_stderr, last_error_line, one_line, stderr_tail
from kubectl_kata.probe.process import ProcOutcome, run_command
from kubectl_kata.probe.script import DEFAULT_ITEM_TIMEOUT_S, build_script, new_nonce

__all__ = ["KubectlDebugBackend"]

_NS_RE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_CREATED_RE = re.compile(r"Creating debugging pod (?P<pod>\S+) with container (?P<container>\S+) on node")
_PULL_REASONS = ("ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull")
_STUCK_REASONS = ("CreateContainerConfigError", "CreateContainerError", "RunContainerError")
DELETE_TIMEOUT_S = 30.0
MANAGED_BY_SELECTOR = "app.kubernetes.io/managed-by=kubectl-debug"


def _container_state(pod: Mapping[str, Any], container: str) -> Tuple[str, Dict[str, Any], str]:
    """(phase, state dict of ``container``, image) from a pod object."""
    status = pod.get("status") or {}
    phase = str(status.get("phase") or "")
    for cs in status.get("containerStatuses") or []:
        if isinstance(cs, dict) and cs.get("name") == container:
            return phase, dict(cs.get("state") or {}), str(cs.get("image") or "")
    image = ""
    for c in (pod.get("spec") or {}).get("containers") or []:
        if isinstance(c, dict) and c.get("name") == container:
            image = str(c.get("image") or "")
    return phase, {}, image


def _unschedulable(pod: Mapping[str, Any]) -> Optional[str]:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if isinstance(cond, dict) and cond.get("type") == "PodScheduled" and cond.get("status") == "False":
            return str(cond.get("message") or cond.get("reason") or "not scheduled")
    return None


class KubectlDebugBackend(ProbeBackend):
    """create detached -> wait -> logs -> exit code -> delete (always); see the module docstring."""

    name = "kubectl"

    def __init__(
        self,
        namespace: str,
        image: str,
        *,
        kubectl_path: str = "kubectl",
        kubeconfig: Optional[str] = None,
        context: Optional[str] = None,
        item_timeout_s: int = DEFAULT_ITEM_TIMEOUT_S,
        image_pull_grace_s: Optional[float] = 45.0,
        poll_interval_s: float = 1.0,
        env: Optional[Mapping[str, str]] = None,
        cluster: Optional[str] = None,
        user: Optional[str] = None,
        as_user: Optional[str] = None,
        as_groups: Sequence[str] = (),
    ) -> None:
        if not isinstance(namespace, str) or not _NS_RE.match(namespace):
            raise ValueError("invalid namespace name %r" % (namespace,))
        if not image or not isinstance(image, str) or image.startswith("-") or any(c.isspace() for c in image):
            raise ValueError("kubectl debug node needs an image (--image); got %r" % (image,))
        self.namespace = namespace
        self.image = image
        self.kubectl_path = kubectl_path
        # the caller's connection flags, built once (never a token)
        self._global_flags = kube_global_flags(kubeconfig, context, cluster, user, as_user, list(as_groups))
        self.item_timeout_s = item_timeout_s
        self.image_pull_grace_s = image_pull_grace_s
        self.poll_interval_s = poll_interval_s
        self.env = env

    # -- argv builders ------------------------------------------------------------------
    def _base(self) -> List[str]:
        # the caller's connection flags on every kubectl call (create, get, logs, delete); never a token
        return [self.kubectl_path] + self._global_flags

    def create_command(self, node: str, script: str) -> List[str]:
        return self._base() + ["debug", "node/" + node, "--profile=sysadmin", "--image=" + self.image,
                               "-n", self.namespace, "--", "chroot", "/host", "sh", "-c", script]

    def _get_pod(self, pod: str) -> List[str]:
        return self._base() + ["get", "pod", pod, "-n", self.namespace, "-o", "json"]

    def _logs(self, pod: str, container: str) -> List[str]:
        return self._base() + ["logs", "-f", "pod/" + pod, "-c", container, "-n", self.namespace]

    def _delete(self, pods: List[str]) -> List[str]:
        return self._base() + ["delete", "pod"] + pods + ["-n", self.namespace, "--ignore-not-found",
                                                          "--wait=false"]

    def _find(self, node: str) -> List[str]:
        return self._base() + ["get", "pods", "-n", self.namespace, "-l", MANAGED_BY_SELECTOR,
                               "--field-selector", "spec.nodeName=" + node, "-o", "name"]

    # -- probe --------------------------------------------------------------------------
    def probe(self, node: str, *, timeout_s: float, cancel_event: threading.Event,
              grace_s: float) -> NodeProbeResult:
        track: Dict[str, Any] = {"pod": None, "attempted": False}
        cleanup_notes: List[str] = []
        try:
            result = self._probe(node, timeout_s, cancel_event, grace_s, track)
        finally:
            self._cleanup(node, track["pod"], track["attempted"], cleanup_notes, grace_s)
        result.notes.extend(cleanup_notes)
        return result

    def _probe(self, node: str, timeout_s: float, cancel_event: threading.Event, grace_s: float,
               track: Dict[str, Any]) -> NodeProbeResult:
        start = time.monotonic()
        deadline = start + timeout_s
        nonce = new_nonce()
        script = build_script(nonce, item_timeout_s=self.item_timeout_s)
        create_argv = self.create_command(node, script)
        command = command_as_run(create_argv, script)
        pod: Optional[str] = None
        create_attempted = False
        notes: List[str] = []

        def left() -> float:
            return max(0.0, deadline - time.monotonic())

        def run(argv: List[str]) -> ProcOutcome:
            return run_command(argv, timeout_s=left(), cancel_event=cancel_event, grace_s=grace_s,
                               env=self.env)

        def fail(reason: str, error: str, out: Optional[ProcOutcome] = None) -> NodeProbeResult:
            return NodeProbeResult(node=node, ok=False, raw=None, error=one_line(error), reason=reason,
                                   stderr_tail=stderr_tail(out.stderr) if out else "",
                                   duration_s=time.monotonic() - start, command=command, notes=notes)

        def stopped(out: ProcOutcome, what: str, diag: Optional[Tuple[str, str]] = None) -> NodeProbeResult:
            if out.cancelled or cancel_event.is_set():
                return fail(REASON_CANCELLED, "cancelled after %.0fs (%s)"
                            % (time.monotonic() - start, what), out)
            if diag:
                return fail(diag[0], "no result within %gs: %s" % (timeout_s, diag[1]), out)
            return fail(REASON_TIMEOUT, "no result within %gs (%s)" % (timeout_s, what), out)

        try:
            create_attempted = True
            out = run(create_argv)
            if out.start_error:
                create_attempted = False
                return fail(REASON_TOOL_MISSING, "cannot run %s" % out.start_error)
            m = _CREATED_RE.search(out.stdout.decode("utf-8", "replace"))
            if m:
                pod = m.group("pod")
            if out.stopped:
                return stopped(out, "creating the debug pod")
            err_text = out.stderr.decode("utf-8", "replace")
            if out.rc != 0 or not m:
                diag = classify_kube_stderr(err_text)
                if diag:
                    return fail(diag[0], diag[1], out)
                return fail(REASON_POD_FAILED, "kubectl debug failed: %s"
                            % (last_error_line(err_text) or err_text.strip() or "no pod name printed"), out)
            container = m.group("container").rstrip(".")

            # wait for the container to start (or end)
            pull_seen: Optional[float] = None
            last_diag: Optional[Tuple[str, str]] = None
            while True:
                if cancel_event.is_set():
                    return fail(REASON_CANCELLED, "cancelled after %.0fs (debug pod never started)"
                                % (time.monotonic() - start))
                if left() <= 0:
                    return stopped(ProcOutcome([], b"", b"", 0, 0.0, timed_out=True),
                                   "debug pod never started", last_diag)
                g = run(self._get_pod(pod))
                if g.stopped:
                    return stopped(g, "debug pod never started", last_diag)
                try:
                    obj = json.loads(g.stdout.decode("utf-8", "replace")) if g.rc == 0 else None
                except ValueError:
                    obj = None
                if obj is None:
                    diag = classify_kube_stderr(g.stderr.decode("utf-8", "replace"))
                    if diag:
                        return fail(diag[0], diag[1], g)
                    if g.rc != 0 and b"NotFound" in g.stderr:
                        return fail(REASON_POD_FAILED, 'debug pod "%s" disappeared before it ran' % pod, g)
                else:
                    phase, cstate, image = _container_state(obj, container)
                    if phase in ("Succeeded", "Failed") or "running" in cstate or "terminated" in cstate:
                        break
                    waiting = cstate.get("waiting") or {}
                    reason = str(waiting.get("reason") or "")
                    msg = str(waiting.get("message") or reason)
                    if reason in _PULL_REASONS:
                        last_diag = (REASON_IMAGE_PULL, one_line(
                            'the debug pod image "%s" cannot be pulled (%s: %s); on disconnected clusters '
                            "pass --image with a support-tools image from a reachable registry"
                            % (image or self.image, reason, msg)))
                        if pull_seen is None:
                            pull_seen = time.monotonic()
                        if self.image_pull_grace_s is not None and \
                                time.monotonic() - pull_seen >= self.image_pull_grace_s:
                            return fail(last_diag[0], last_diag[1])
                    elif reason in _STUCK_REASONS:
                        last_diag = (REASON_CONTAINER_ERROR, one_line(
                            "debug container %s cannot start: %s: %s" % (container, reason, msg)))
                    else:
                        unsched = _unschedulable(obj)
                        if unsched:
                            last_diag = (REASON_SCHEDULING, one_line("debug pod not scheduled: " + unsched))
                cancel_event.wait(min(self.poll_interval_s, left()))

            logs = run(self._logs(pod, container))
            remote_rc: Optional[int] = None
            if not logs.stopped:
                g = run(self._get_pod(pod))
                try:
                    obj = json.loads(g.stdout.decode("utf-8", "replace")) if g.rc == 0 else None
                except ValueError:
                    obj = None
                if obj is not None:
                    term = _container_state(obj, container)[1].get("terminated") or {}
                    if "exitCode" in term:
                        try:
                            remote_rc = int(term["exitCode"])
                        except (TypeError, ValueError):
                            remote_rc = None
            result = build_result(
                node, logs, nonce=nonce, command=command, diagnose=classify_kube_stderr,
                timeout_s=timeout_s, duration_s=time.monotonic() - start,
                remote_rc=remote_rc if remote_rc else None, notes=notes)
            return result
        finally:
            track["pod"] = pod
            track["attempted"] = create_attempted

    def _cleanup(self, node: str, pod: Optional[str], create_attempted: bool, notes: List[str],
                 grace_s: float) -> None:
        if not create_attempted:
            return
        pods = [pod] if pod else []
        if not pods:
            found = run_command(self._find(node), timeout_s=DELETE_TIMEOUT_S, grace_s=grace_s, env=self.env)
            for line in found.stdout.decode("utf-8", "replace").splitlines():
                line = line.strip()
                if line.startswith("pod/"):
                    pods.append(line[len("pod/"):])
            if found.rc != 0 or found.stopped or found.start_error:
                notes.append("could not look up debug pods on node %s in namespace %s; the namespace "
                             "cleanup removes them" % (node, self.namespace))
        if not pods:
            return
        d = run_command(self._delete(pods), timeout_s=DELETE_TIMEOUT_S, grace_s=grace_s, env=self.env)
        if d.rc != 0 or d.stopped or d.start_error:
            notes.append("could not delete debug pod(s) %s in namespace %s (%s); the namespace cleanup "
                         "removes them" % (", ".join(pods), self.namespace,
                                           one_line(d.stderr.decode("utf-8", "replace")) or d.start_error
                                           or "timed out"))
