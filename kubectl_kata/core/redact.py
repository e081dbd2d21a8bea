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


# scheme://user[:password]@host -- proxy URLs (cluster Proxy httpProxy/httpsProxy, ControllerConfig spec.proxy,
# Environment=HTTPS_PROXY=... lines MCO templates put into systemd units)
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/@\s\"']+@")


# what redaction leaves in place of a value; redacting it again keeps it (collect() redacts the facts and the
# bundle writer redacts them again: a second pass must not replace the size by the length of "<n> bytes long")
_SIZED = re.compile(r"[0-9]+ bytes long")


def _size(v: Any) -> str:
    if isinstance(v, str) and _SIZED.fullmatch(v):
        return v
    return "%d bytes long" % len(v.encode("utf-8") if isinstance(v, str) else json.dumps(v).encode("utf-8"))


def _redact_ignition(cfg: Any) -> None:
    """Ignition config of a MachineConfig (``spec.config``), in place: every place that can carry a secret."""
    if not isinstance(cfg, dict):
        return
    passwd = cfg.get("passwd")
    for user in (passwd.get("users") if isinstance(passwd, dict) else None) or []:
        if not isinstance(user, dict):
            continue
        if user.get("passwordHash"):
            user["passwordHash"] = _size(user["passwordHash"])
        keys = user.get("sshAuthorizedKeys")
        if isinstance(keys, list):
            user["sshAuthorizedKeys"] = [_size(k) for k in keys]
    storage = cfg.get("storage")
    for f in (storage.get("files") if isinstance(storage, dict) else None) or []:
        if not isinstance(f, dict):
            continue
        if isinstance(f.get("contents"), dict) and "source" in f["contents"]:
            f["contents"]["source"] = _size(f["contents"]["source"])
        for ap in f.get("append") or []:
            if isinstance(ap, dict) and "source" in ap:
                ap["source"] = _size(ap["source"])
    systemd = cfg.get("systemd")
    for unit in (systemd.get("units") if isinstance(systemd, dict) else None) or []:
        if not isinstance(unit, dict):
            continue
        if "contents" in unit and unit["contents"]:
            unit["contents"] = _size(unit["contents"])
        for drop in unit.get("dropins") or []:
            if isinstance(drop, dict) and drop.get("contents"):
                drop["contents"] = _size(drop["contents"])


def _strip_userinfo(v: Any) -> Any:
    if isinstance(v, str):
        return _URL_USERINFO.sub(r"\1<redacted>@", v) if "@" in v else v
    if isinstance(v, list):
        return [_strip_userinfo(x) for x in v]
    if isinstance(v, dict):
        return {k: _strip_userinfo(x) for k, x in v.items()}
    return v


def redact_object(obj: Any) -> Any:
    """A copy safe to store: Secret data as ``oc adm inspect`` does it ("<n> bytes long" except certificates);
    in MachineConfigs (anything with an Ignition ``spec.config``) password hashes, SSH keys, file contents and
    appends, systemd unit contents and drop-ins replaced by their size (00-worker carries the pull secret, MCO
    templates put proxy credentials into units); user info of every ``scheme://user:pass@`` URL (cluster Proxy
    httpProxy/httpsProxy, ControllerConfig proxy) removed; secret-bearing annotations (last-applied-configuration)
    blanked; managedFields dropped. Lists (``items``) are redacted item by item."""
    if isinstance(obj, list):
        return [redact_object(o) for o in obj]
    if not isinstance(obj, dict):
        return obj
    out = json.loads(json.dumps(obj))
    if isinstance(out.get("items"), list):
        out["items"] = [redact_object(i) for i in out["items"]]
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
                    if k in _KEEP_SECRET_KEYS or (isinstance(v, str) and _SIZED.fullmatch(v)):
                        continue
                    n = len(base64.b64decode(v)) if key == "data" and isinstance(v, str) and _b64ok(v) else \
                        len(str(v).encode())
                    data[k] = "%d bytes long" % n
    spec = out.get("spec")
    if isinstance(spec, dict) and isinstance(spec.get("config"), dict):
        _redact_ignition(spec["config"])
    return _strip_userinfo(out)


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
