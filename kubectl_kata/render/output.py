"""Pure formatting helpers: data in, text out. No I/O, no cluster."""
from __future__ import annotations

import json
from typing import Any, Iterable, List, Sequence


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False)


def to_yaml(data: Any) -> str:
    import yaml

    class _Dumper(yaml.SafeDumper):
        pass

    def _str(dumper, value):
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    _Dumper.add_representer(str, _str)
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True).rstrip("\n")


def to_yaml_stream(docs: Iterable[Any]) -> str:
    return "\n---\n".join(to_yaml(d) for d in docs)


def table(headers: Sequence[str], rows: List[Sequence[Any]]) -> str:
    """kubectl-style table: upper-case headers, space-separated, no borders."""
    from tabulate import tabulate

    if not rows:
        return "  ".join(h.upper() for h in headers)
    return tabulate([["" if c is None else c for c in r] for r in rows], headers=[h.upper() for h in headers],
                    tablefmt="plain", disable_numparse=True)


def render(data: Any, output: str) -> str:
    if output == "json":
        return to_json(data)
    if output == "yaml":
        return to_yaml(data)
    raise ValueError(f"unsupported output {output}")


def age(seconds: float) -> str:
    """kubectl's human-readable age (duration.HumanDuration, simplified)."""
    s = int(max(0, seconds))
    if s < 120:
        return f"{s}s"
    m = s // 60
    if m < 10:
        return f"{m}m{s % 60}s" if s % 60 else f"{m}m"
    if m < 180:
        return f"{m}m"
    h = m // 60
    if h < 48:
        return f"{h}h{m % 60}m" if h < 8 and m % 60 else f"{h}h"
    d = h // 24
    return f"{d}d{h % 24}h" if d < 8 and h % 24 else f"{d}d"
