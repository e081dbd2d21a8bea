"""Kubernetes LabelSelector matching, kubectl selector-string parsing and MCO pool membership.

``matches`` follows apimachinery ``LabelSelectorAsSelector``: an empty selector ``{}`` matches every label
set, ``None`` matches nothing. Malformed selectors (unknown operator, ``In`` without values, ``Exists`` with
values) raise ``ValueError`` with a message naming the offending expression, as the API server would refuse
them.

``pools_for_node`` reproduces MCO ``GetPoolsForNode`` (pkg/helpers/helpers.go), including "master wins" and
the ``node <n> belongs to 2 custom roles`` error (DOMAIN 2.3).
"""
from __future__ import annotations

import re
from typing import Dict, List, Optional, Tuple

from .constants import MASTER_POOL, WORKER_POOL

_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")
_NAME_RE = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_PREFIX_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


class MultiplePoolsError(ValueError):
    """A node matches more than one custom pool (the MCO refuses to manage it)."""


def _labels(labels: Optional[dict]) -> Dict[str, str]:
    return labels if isinstance(labels, dict) else {}


def _check_expression(expr: object) -> Tuple[str, str, list]:
    if not isinstance(expr, dict):
        raise ValueError("matchExpressions entry must be a mapping, got %r" % (expr,))
    key, op, values = expr.get("key"), expr.get("operator"), expr.get("values")
    if not isinstance(key, str) or not key:
        raise ValueError("matchExpressions entry %r has no key" % (expr,))
    if op not in _OPERATORS:
        raise ValueError("matchExpressions entry for key %r has unsupported operator %r (use one of %s)"
                         % (key, op, ", ".join(_OPERATORS)))
    values = list(values or [])
    if op in ("In", "NotIn") and not values:
        raise ValueError("matchExpressions entry for key %r: operator %s needs at least one value" % (key, op))
    if op in ("Exists", "DoesNotExist") and values:
        raise ValueError("matchExpressions entry for key %r: operator %s takes no values" % (key, op))
    return key, op, values


def validate_selector(selector: Optional[dict]) -> None:
    """Raise ``ValueError`` if ``selector`` is not a well-formed LabelSelector (``None`` is allowed)."""
    if selector is None:
        return
    if not isinstance(selector, dict):
        raise ValueError("label selector must be a mapping, got %r" % (selector,))
    unknown = set(selector) - {"matchLabels", "matchExpressions"}
    if unknown:
        raise ValueError("label selector has unknown field(s): %s" % ", ".join(sorted(unknown)))
    ml = selector.get("matchLabels") or {}
    if not isinstance(ml, dict):
        raise ValueError("matchLabels must be a mapping, got %r" % (ml,))
    for k, v in ml.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise ValueError("matchLabels entries must be strings, got %r: %r" % (k, v))
    me = selector.get("matchExpressions") or []
    if not isinstance(me, list):
        raise ValueError("matchExpressions must be a list, got %r" % (me,))
    for expr in me:
        _check_expression(expr)


def is_empty(selector: Optional[dict]) -> bool:
    """True for ``{}`` / a selector with no requirements (matches everything). ``None`` is not empty."""
    return selector is not None and not (selector.get("matchLabels") or selector.get("matchExpressions"))


def matches(selector: Optional[dict], labels: Optional[dict]) -> bool:
    """Does LabelSelector ``selector`` select an object with ``labels``?"""
    if selector is None:
        return False
    validate_selector(selector)
    lab = _labels(labels)
    for k, v in (selector.get("matchLabels") or {}).items():
        if lab.get(k) != v:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = _check_expression(expr)
        present = key in lab
        if op == "In" and not (present and lab[key] in values):
            return False
        if op == "NotIn" and present and lab[key] in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
    return True


def matches_label_map(node_selector: Optional[dict], labels: Optional[dict]) -> bool:
    """A plain ``{key: value}`` map (RuntimeClass scheduling.nodeSelector, pod nodeSelector): all must equal."""
    lab = _labels(labels)
    return all(lab.get(k) == v for k, v in (node_selector or {}).items())


# --- kubectl selector strings ---------------------------------------------------------------------

def _validate_key(key: str, text: str) -> str:
    if not key:
        raise ValueError("invalid label selector %r: empty label key" % text)
    prefix, _, name = key.rpartition("/")
    if "/" in key and (not prefix or len(prefix) > 253 or not _PREFIX_RE.match(prefix)):
        raise ValueError("invalid label selector %r: key prefix %r must be a DNS subdomain" % (text, prefix))
    if not _NAME_RE.match(name):
        raise ValueError("invalid label selector %r: key %r: name part must be 1-63 characters of "
                         "[A-Za-z0-9-_.], starting and ending alphanumeric" % (text, key))
    return key


def _validate_value(value: str, text: str) -> str:
    if value and not _NAME_RE.match(value):
        raise ValueError("invalid label selector %r: value %r must be at most 63 characters of "
                         "[A-Za-z0-9-_.], starting and ending alphanumeric" % (text, value))
    return value


def _split_requirements(text: str) -> List[str]:
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
            if depth > 1:
                raise ValueError("invalid label selector %r: nested parentheses" % text)
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise ValueError("invalid label selector %r: unbalanced ')'" % text)
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    if depth:
        raise ValueError("invalid label selector %r: missing ')'" % text)
    parts.append("".join(cur))
    return parts


_SET_RE = re.compile(r"^(?P<key>\S+)\s+(?P<op>in|notin)\s*\((?P<values>[^()]*)\)$")


def parse_selector_string(text: str) -> dict:
    """Parse kubectl ``-l`` syntax into a LabelSelector dict.

    Supports ``k=v``, ``k==v``, ``k!=v``, ``k in (a,b)``, ``k notin (a,b)``, ``k`` and ``!k``. An empty string
    gives ``{}`` (everything). ``<``/``>`` (Gt/Lt) cannot be expressed as a LabelSelector and are refused.
    """
    if not isinstance(text, str):
        raise ValueError("label selector must be a string, got %r" % (text,))
    if not text.strip():
        return {}
    match_labels = {}  # type: Dict[str, str]
    exprs = []  # type: List[dict]
    for raw in _split_requirements(text):
        req = raw.strip()
        if not req:
            raise ValueError("invalid label selector %r: empty requirement (stray comma?)" % text)
        m = _SET_RE.match(req)
        if m:
            key = _validate_key(m.group("key"), text)
            # as in apimachinery's parser: "()" is the set {""} and empty list items are empty values
            values = [v.strip() for v in m.group("values").split(",")]
            for v in values:
                _validate_value(v, text)
            exprs.append({"key": key, "operator": "In" if m.group("op") == "in" else "NotIn",
                          "values": sorted(set(values))})
            continue
        if "(" in req or ")" in req:
            raise ValueError("invalid label selector %r: cannot parse %r (expected 'key in (a,b)')" % (text, req))
        if "<" in req or ">" in req:
            raise ValueError("invalid label selector %r: %r: '<' and '>' cannot be used in a LabelSelector"
                             % (text, req))
        if "!=" in req:
            key, _, value = req.partition("!=")
            key = _validate_key(key.strip(), text)
            exprs.append({"key": key, "operator": "NotIn", "values": [_validate_value(value.strip(), text)]})
            continue
        if "=" in req:
            sep = "==" if "==" in req else "="
            key, _, value = req.partition(sep)
            if "=" in value:
                raise ValueError("invalid label selector %r: %r has more than one '='" % (text, req))
            key, value = _validate_key(key.strip(), text), _validate_value(value.strip(), text)
            if key in match_labels and match_labels[key] != value:
                exprs.append({"key": key, "operator": "In", "values": [value]})
            else:
                match_labels[key] = value
            continue
        if req.startswith("!"):
            exprs.append({"key": _validate_key(req[1:].strip(), text), "operator": "DoesNotExist"})
            continue
        if " " in req or "\t" in req:
            raise ValueError("invalid label selector %r: cannot parse %r" % (text, req))
        exprs.append({"key": _validate_key(req, text), "operator": "Exists"})
    out = {}  # type: dict
    if match_labels:
        out["matchLabels"] = match_labels
    if exprs:
        out["matchExpressions"] = exprs
    return out


def format_selector(selector: Optional[dict]) -> str:
    """LabelSelector -> kubectl ``-l`` string (inverse of :func:`parse_selector_string`; ``None`` -> ``<none>``)."""
    if selector is None:
        return "<none>"
    validate_selector(selector)
    parts = ["%s=%s" % (k, v) for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        key, op, values = _check_expression(expr)
        if op == "In":
            parts.append("%s in (%s)" % (key, ",".join(values)))
        elif op == "NotIn":
            parts.append("%s notin (%s)" % (key, ",".join(values)))
        elif op == "Exists":
            parts.append(key)
        else:
            parts.append("!" + key)
    return ",".join(parts)


# --- MCO pool membership ----------------------------------------------------------------------------

def _pool_name(pool: dict) -> str:
    return ((pool or {}).get("metadata") or {}).get("name") or ""


def pool_selects_node(pool: dict, labels: Optional[dict]) -> bool:
    """MCO semantics: a pool with a nil or empty nodeSelector matches no node."""
    sel = ((pool or {}).get("spec") or {}).get("nodeSelector")
    if sel is None or is_empty(sel):
        return False
    return matches(sel, labels)


def pools_for_node(node_name: str, labels: Optional[dict], pools: List[dict]) -> List[str]:
    """Names of the pools the MCO would assign a node to, primary first (MCO ``GetPoolsForNode``).

    custom pool + worker -> ``[custom, "worker"]``; master matching -> ``["master"]`` even if a custom pool
    matches too; no match -> ``[]``. Two custom pools -> :class:`MultiplePoolsError` with the MCO's message.
    """
    matched = [_pool_name(p) for p in pools if pool_selects_node(p, labels)]
    custom = [n for n in matched if n not in (MASTER_POOL, WORKER_POOL)]
    if len(custom) > 1:
        raise MultiplePoolsError("node %s belongs to %d custom roles, cannot proceed with this Node (pools: %s)"
                                 % (node_name, len(custom), ", ".join(sorted(custom))))
    if MASTER_POOL in matched:
        return [MASTER_POOL]
    if custom:
        return custom + ([WORKER_POOL] if WORKER_POOL in matched else [])
    return [WORKER_POOL] if WORKER_POOL in matched else []


def primary_pool_for_node(node: dict, pools: List[dict]) -> Optional[str]:
    """The pool that manages ``node`` or ``None`` (no match, or conflicting custom pools)."""
    meta = (node or {}).get("metadata") or {}
    try:
        names = pools_for_node(meta.get("name") or "", meta.get("labels"), pools)
    except ValueError:
        return None
    return names[0] if names else None
