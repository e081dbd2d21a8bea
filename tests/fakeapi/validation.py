"""Request-body validation of the fake API server, shaped like kube-apiserver's.

Custom resources (MachineConfig, MachineConfigPool, ControllerConfig, KataConfig) are checked with
jsonschema Draft 7 against ``spec.versions[0].schema.openAPIV3Schema`` of the vendored CRDs in ``crds/``
(copies of shared/reference/crds). ``nullable: true`` is translated to "also allow null" first and
``x-kubernetes-*`` keywords are dropped (CEL rules are not evaluated), as DOMAIN.md §10 prescribes.
Every kind also gets the apiserver's object-meta checks (name required, DNS-1123 subdomain / label).

Failures become :class:`store.Invalid` with causes and a message like the real one::

    MachineConfig.machineconfiguration.openshift.io "x" is invalid: spec.extensions: Invalid value:
    "string": spec.extensions in body must be of type array: "string"
"""
from __future__ import annotations

import functools
import json
import os
import re

import jsonschema
import yaml

from .store import Invalid

CRD_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "crds")

CRD_FILES = {
    "MachineConfig": "machineconfigs.crd.yaml",
    "MachineConfigPool": "machineconfigpools-SelfManagedHA.crd.yaml",
    "ControllerConfig": "controllerconfigs-Default.crd.yaml",
    "KataConfig": "kataconfig-crd.osc-devel.yaml",
}

DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
                 "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
                 "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start "
             "and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
             "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')")

# kinds whose names must be DNS labels rather than subdomains
LABEL_NAMED_KINDS = {"Namespace"}


@functools.lru_cache(maxsize=None)
def load_crd(kind: str) -> dict:
    with open(os.path.join(CRD_DIR, CRD_FILES[kind])) as fh:
        docs = [d for d in yaml.safe_load_all(fh) if d]
    return docs[0]


def crd_version(kind: str) -> dict:
    return load_crd(kind)["spec"]["versions"][0]


def translate_schema(node):
    """openAPIV3Schema -> Draft 7: nullable -> also null; drop x-kubernetes-* keywords."""
    if isinstance(node, list):
        return [translate_schema(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for k, v in node.items():
        if k.startswith("x-kubernetes-") or k == "nullable":
            continue
        if k in ("properties", "patternProperties", "definitions"):
            out[k] = {pk: translate_schema(pv) for pk, pv in v.items()}
        elif k in ("items", "additionalProperties", "not") and isinstance(v, (dict, list)):
            out[k] = translate_schema(v)
        elif k in ("allOf", "anyOf", "oneOf"):
            out[k] = [translate_schema(x) for x in v]
        else:
            out[k] = v
    if node.get("nullable") is True:
        t = out.get("type")
        if isinstance(t, str):
            out["type"] = [t, "null"]
        elif isinstance(t, list) and "null" not in t:
            out["type"] = t + ["null"]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = list(out["enum"]) + [None]
    return out


@functools.lru_cache(maxsize=None)
def validator_for(kind: str) -> jsonschema.Draft7Validator:
    schema = translate_schema(crd_version(kind)["schema"]["openAPIV3Schema"])
    return jsonschema.Draft7Validator(schema)


def _json_type(v) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def _field_path(path) -> str:
    out = ""
    for p in path:
        if isinstance(p, int):
            out += "[%d]" % p
        else:
            out += ("." if out else "") + str(p)
    return out


def _go_value(v) -> str:
    return json.dumps(v, separators=(",", ":")) if not isinstance(v, str) else json.dumps(v)


def _cause(err: jsonschema.ValidationError) -> dict:
    field = _field_path(err.absolute_path)
    v = err.validator
    if v == "required":
        missing = re.match(r"'([^']*)' is a required property", err.message)
        name = missing.group(1) if missing else "?"
        return {"reason": "FieldValueRequired", "message": "Required value",
                "field": (field + "." if field else "") + name}
    if v == "type":
        typ = err.validator_value if isinstance(err.validator_value, str) else [
            t for t in err.validator_value if t != "null"][0]
        got = _json_type(err.instance)
        return {"reason": "FieldValueInvalid",
                "message": 'Invalid value: "%s": %s in body must be of type %s: "%s"' % (got, field, typ, got),
                "field": field}
    if v == "enum":
        supported = ", ".join(_go_value(x) for x in err.validator_value if x is not None)
        return {"reason": "FieldValueNotSupported",
                "message": "Unsupported value: %s: supported values: %s" % (_go_value(err.instance), supported),
                "field": field}
    if v == "pattern":
        return {"reason": "FieldValueInvalid",
                "message": "Invalid value: %s: %s in body should match '%s'" % (
                    _go_value(err.instance), field, err.validator_value), "field": field}
    if v in ("minimum", "maximum"):
        word = "greater" if v == "minimum" else "less"
        return {"reason": "FieldValueInvalid",
                "message": "Invalid value: %s: %s in body should be %s than or equal to %s" % (
                    _go_value(err.instance), field, word, err.validator_value), "field": field}
    if v in ("minLength", "maxLength", "minItems", "maxItems"):
        return {"reason": "FieldValueInvalid" if "Length" in v else "FieldValueTooMany",
                "message": "Invalid value: %s: %s in body %s" % (_go_value(err.instance), field, err.message),
                "field": field}
    return {"reason": "FieldValueInvalid",
            "message": "Invalid value: %s: %s" % (_go_value(err.instance), err.message), "field": field}


def meta_causes(obj: dict) -> list:
    causes = []
    md = obj.get("metadata") or {}
    name = md.get("name")
    kind = obj.get("kind", "")
    if not name and not md.get("generateName"):
        causes.append({"reason": "FieldValueRequired", "field": "metadata.name",
                       "message": "Required value: name or generateName is required"})
    elif name:
        if kind in LABEL_NAMED_KINDS:
            ok, msg, limit = DNS1123_LABEL.match(name), LABEL_MSG, 63
        else:
            ok, msg, limit = DNS1123_SUBDOMAIN.match(name), SUBDOMAIN_MSG, 253
        if len(name) > limit:
            causes.append({"reason": "FieldValueInvalid", "field": "metadata.name",
                           "message": "Invalid value: %s: must be no more than %d characters" % (
                               json.dumps(name), limit)})
        elif not ok:
            causes.append({"reason": "FieldValueInvalid", "field": "metadata.name",
                           "message": "Invalid value: %s: %s" % (json.dumps(name), msg)})
    for key in ("labels", "annotations"):
        val = md.get(key)
        if val is not None and not (isinstance(val, dict) and all(isinstance(x, str) for x in val.values())):
            causes.append({"reason": "FieldValueInvalid", "field": "metadata." + key,
                           "message": "Invalid value: %s: %s values must be strings" % (_go_value(val), key)})
    return causes


def schema_causes(obj: dict) -> list:
    kind = obj.get("kind")
    if kind not in CRD_FILES:
        return []
    body = {k: v for k, v in obj.items() if k != "metadata"}
    errs = sorted(validator_for(kind).iter_errors(body), key=lambda e: (list(e.absolute_path), e.validator))
    return [_cause(e) for e in errs]


def qualified_kind(kind: str, group: str) -> str:
    return "%s.%s" % (kind, group) if group else kind


def invalid_message(kind: str, group: str, name: str, causes: list) -> str:
    parts = ["%s: %s" % (c["field"], c["message"]) if c.get("field") else c["message"] for c in causes]
    detail = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    return '%s "%s" is invalid: %s' % (qualified_kind(kind, group), name, detail)


def validate(obj: dict, group: str = "") -> None:
    """Raise store.Invalid (with ``causes`` and the real message) when ``obj`` is not acceptable."""
    causes = meta_causes(obj) + schema_causes(obj)
    if causes:
        kind = obj.get("kind", "")
        name = (obj.get("metadata") or {}).get("name") or ""
        raise Invalid(kind, name, (obj.get("metadata") or {}).get("namespace"),
                      invalid_message(kind, group, name, causes), causes)


def _apply_defaults(schema: dict, value):
    """Structural defaulting like the apiserver: fill absent properties that declare ``default``."""
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        for key, sub in props.items():
            if key not in value and "default" in sub:
                value[key] = json.loads(json.dumps(sub["default"]))
            if key in value:
                _apply_defaults(sub, value[key])
        addl = schema.get("additionalProperties")
        if isinstance(addl, dict):
            for key in value:
                if key not in props:
                    _apply_defaults(addl, value[key])
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            _apply_defaults(schema["items"], item)
    return value


def apply_defaults(obj: dict) -> dict:
    """Fill CRD schema defaults into ``obj`` in place (custom kinds only) and return it."""
    kind = obj.get("kind")
    if kind in CRD_FILES:
        schema = crd_version(kind)["schema"]["openAPIV3Schema"]
        for key, sub in (schema.get("properties") or {}).items():
            if key in ("metadata", "apiVersion", "kind"):
                continue
            if key in obj:
                _apply_defaults(sub, obj[key])
    return obj
