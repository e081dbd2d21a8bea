"""What the cluster side knows about a node (:class:`NodeContext`), as the node checks receive it."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, FrozenSet, Mapping, Optional


@dataclass
class NodeContext:
    """What the cluster side knows about the node.

    release: OCP ``x.y`` (or ``x.y.z``) of the cluster; picks the QEMU path and the allow-list.
    os_image_url: the ``spec.osImageURL`` of the rendered MachineConfig the node is on (its currentConfig).
    current_image: the node's ``machineconfiguration.openshift.io/currentImage`` annotation, where the release
    sets it (the image the MCO recorded as applied).
    extension_requested: whether the pool's *target* rendered config (``spec.configuration.name``) requests
    ``sandboxed-containers`` (None = unknown).
    base_packages: names of base-OS packages, when known from the cluster side (else the node's own facts).
    allowed_packages: extra layered package names the admin accepts (never flagged).
    rendered_extensions / kernel_types: ``spec.extensions`` and ``spec.kernelType`` of the node's current and
    the pool's target rendered configs (None = unknown): what the MCO itself layers, never drift.
    rollout_pending: the node's currentConfig differs from the pool's target (the node waits or is updating);
    rollout: how far the pool's rollout is, e.g. "1 of 3 nodes updated to rendered-kata-oc-..." (for messages).
    """

    release: Optional[str] = None
    os_image_url: Optional[str] = None
    extension_requested: Optional[bool] = None
    base_packages: Optional[FrozenSet[str]] = None
    allowed_packages: FrozenSet[str] = field(default_factory=frozenset)
    current_image: Optional[str] = None
    rendered_extensions: Optional[FrozenSet[str]] = None
    kernel_types: Optional[FrozenSet[str]] = None
    rollout_pending: Optional[bool] = None
    rollout: str = ""

    @classmethod
    def coerce(cls, ctx: Any) -> "NodeContext":
        if ctx is None:
            return cls()
        if isinstance(ctx, cls):
            return ctx
        if isinstance(ctx, Mapping):
            base = ctx.get("base_packages")
            exts = ctx.get("rendered_extensions")
            kts = ctx.get("kernel_types")
            return cls(release=ctx.get("release"), os_image_url=ctx.get("os_image_url"),
                       extension_requested=ctx.get("extension_requested"),
                       base_packages=frozenset(base) if base is not None else None,
                       allowed_packages=frozenset(ctx.get("allowed_packages") or ()),
                       current_image=ctx.get("current_image"),
                       rendered_extensions=frozenset(exts) if exts is not None else None,
                       kernel_types=frozenset(kts) if kts is not None else None,
                       rollout_pending=ctx.get("rollout_pending"), rollout=str(ctx.get("rollout") or ""))
        raise TypeError("context must be a NodeContext or a mapping, got %s" % type(ctx).__name__)
