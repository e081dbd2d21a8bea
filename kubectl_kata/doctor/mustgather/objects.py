"""Cluster objects out of a must-gather's YAML: parsed with ``yaml.safe_load`` semantics (the C loader when
available), one object or the items of a List, each made safe to print or bundle by
:func:`kubectl_kata.core.redact.redact_object` (the rules ``doctor --bundle`` applies to live objects). Pure."""
from __future__ import annotations

from typing import Any, List, Set

from kubectl_kata.core.redact import redact_object
from kubectl_kata.errors import BundleError

__all__ = ["load_yaml", "load_objects"]

_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_LOADER = None


def _yaml_loader():
    """A safe loader that leaves timestamps as the strings the API serves (``oc`` quotes them; a hand-made file may
    not), so every object is plain JSON data like a live one."""
    global _LOADER
    if _LOADER is None:
        import yaml

        base = getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader

        class _Loader(base):  # type: ignore[misc, valid-type]
            pass

        _Loader.yaml_implicit_resolvers = {
            ch: [(tag, rx) for tag, rx in resolvers if tag != _TIMESTAMP]
            for ch, resolvers in base.yaml_implicit_resolvers.items()}
        _LOADER = _Loader
    return _LOADER


def _no_shared(obj: Any) -> None:
    """Refuse documents whose containers are shared (YAML anchors/aliases): ``oc adm inspect`` never writes
    them, and a few aliases can expand to gigabytes once the objects are copied (billion laughs)."""
    seen: Set[int] = set()
    stack = [obj]
    while stack:
        o = stack.pop()
        if isinstance(o, (dict, list)):
            if id(o) in seen:
                raise ValueError("YAML aliases are not accepted")
            seen.add(id(o))
            stack.extend(o.values() if isinstance(o, dict) else o)


def load_yaml(data: bytes, name: str) -> Any:
    import yaml

    try:
        doc = yaml.load(data, Loader=_yaml_loader())   # noqa: S506 - a SafeLoader (C or Python)
        _no_shared(doc)
        return doc
    except (yaml.YAMLError, ValueError, RecursionError, UnicodeDecodeError) as exc:
        raise BundleError("must-gather file %s is not valid YAML: %s" % (name, str(exc).splitlines()[0][:160])) \
            from None


def _objects(doc: Any) -> List[dict]:
    """One object, or the items of a List."""
    if not isinstance(doc, dict):
        return []
    if isinstance(doc.get("items"), list) and str(doc.get("kind") or "").endswith("List"):
        return [o for o in doc["items"] if isinstance(o, dict)]
    return [doc] if doc.get("metadata") else []


def load_objects(data: bytes, name: str) -> List[dict]:
    """The objects a must-gather file holds, redacted: MachineConfig contents (00-worker carries the pull secret),
    SSH keys and password hashes, Secret data, proxy credentials in URLs, managedFields and secret-bearing
    annotations never reach a report or a bundle."""
    out = []
    for obj in _objects(load_yaml(data, name)):
        try:
            out.append(redact_object(obj))
        except (TypeError, ValueError, RecursionError) as exc:
            # e.g. an explicit !!binary or !!set: not data an API server serves, and not something a bundle can hold
            raise BundleError("must-gather file %s holds a value that is not JSON data: %s"
                              % (name, str(exc).splitlines()[0][:160])) from None
    return out
