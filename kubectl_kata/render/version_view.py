"""`version -o table`: the plugin's version, and the cluster's when it was asked and answered."""
from __future__ import annotations


def render_version(data: dict) -> str:
    lines = [f"kubectl-kata: {data['kubectlKata']}"]
    if "openshift" in data:
        lines.append(f"OpenShift:    {data['openshift'] or 'unknown (no ClusterVersion)'}")
    if "kubernetes" in data:
        lines.append(f"Kubernetes:   {data['kubernetes']}")
    return "\n".join(lines)
