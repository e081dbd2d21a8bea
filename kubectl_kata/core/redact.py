"""Redaction of secrets in what kubectl-kata stores or shows. Pure (no I/O).

- :func:`redact_text`: bearer tokens, ``--token=``/``--password`` values and OpenShift ``sha256~`` tokens
  in free text (stderr tails, command lines);
- :func:`redact_object` / :func:`redact_facts`: cluster objects made safe to store in a support bundle,
  the way ``oc adm inspect`` does it.
"""
from __future__ import annotations

import base64
import json
import re
from typing import Any, Dict

__all__ = ["redact_text", "redact_object", "redact_facts"]

_SECRET_TEXT_RES = (
    (re.compile(r"(?i)(authorization:\s*bearer\s+)\S+"), r"\1<redacted>"),
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"), r"\1<redacted>"),
    (re.compile(r"(--(?:token|password)[= ])\S+"), r"\1<redacted>"),
    (re.compile(r"\bsha256~[A-Za-z0-9_-]{20,}"), "sha256~<redacted>"),
)


def redact_text(text: str) -> str:
    """Mask bearer tokens, ``--token=`` values and OpenShift ``sha256~`` tokens in free text."""
    for rx, repl in _SECRET_TEXT_RES:
        text = rx.sub(repl, text)
    return text


_KEEP_SECRET_KEYS = ("tls.crt", "ca.crt", "service-ca.crt")
_BLANK_ANNOTATIONS = ("openshift.io/token-secret.value", "kubectl.kubernetes.io/last-applied-configuration")


def redact_object(obj: Any) -> Any:
    """A copy safe to store: Secret data as ``oc adm inspect`` does it ("<n> bytes long" except certificates),
    MachineConfig file contents replaced by their size (00-worker carries the pull secret), secret-bearing
    annotations blanked, managedFields dropped."""
    if isinstance(obj, list):
        return [redact_object(o) for o in obj]
    if not isinstance(obj, dict):
        return obj
    out = json.loads(json.dumps(obj))
    meta = out.get("metadata")
    if isinstance(meta, dict):
        meta.pop("managedFields", None)
        ann = meta.get("annotations")
        if isinstance(ann, dict):
            for k in _BLANK_ANNOTATIONS:
                if k in ann:
                    ann[k] = ""
    if out.get("kind") == "Secret":
        for key in ("data", "stringData"):
            data = out.get(key)
            if isinstance(data, dict):
                for k, v in list(data.items()):
                    if k in _KEEP_SECRET_KEYS:
                        continue
                    n = len(base64.b64decode(v)) if key == "data" and isinstance(v, str) and _b64ok(v) else \
                        len(str(v).encode())
                    data[k] = "%d bytes long" % n
    if out.get("kind") == "MachineConfig":
        files = ((((out.get("spec") or {}).get("config") or {}).get("storage") or {}).get("files"))
        if isinstance(files, list):
            for f in files:
                if isinstance(f, dict) and isinstance(f.get("contents"), dict) and "source" in f["contents"]:
                    f["contents"]["source"] = "%d bytes long" % len(str(f["contents"]["source"]).encode())
    return out


def _b64ok(v: str) -> bool:
    try:
        base64.b64decode(v, validate=True)
        return True
    except ValueError:
        return False


def redact_facts(facts: Dict[str, Any]) -> Dict[str, Any]:
    """A JSON-clean copy of gathered cluster facts with every object passed through :func:`redact_object`."""
    out = {}
    for k, v in facts.items():
        out[k] = redact_object(v) if isinstance(v, (dict, list)) else v
    return json.loads(json.dumps(out))
