"""The API resources the plugin touches: Kind -> (group, version, plural, namespaced). Pure data."""
from __future__ import annotations

from typing import NamedTuple, Optional


class Resource(NamedTuple):
    kind: str
    group: str
    version: str
    plural: str
    namespaced: bool

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        """`machineconfigs.machineconfiguration.openshift.io` as the API server names it in messages."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def path(self, name: Optional[str] = None, namespace: Optional[str] = None, subresource: Optional[str] = None) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        if name:
            base += f"/{name}"
            if subresource:
                base += f"/{subresource}"
        return base


MCO_GROUP = "machineconfiguration.openshift.io"
KATA_GROUP = "kataconfiguration.openshift.io"

RESOURCES = {
    r.kind: r
    for r in (
        Resource("Node", "", "v1", "nodes", False),
        Resource("Pod", "", "v1", "pods", True),
        Resource("Namespace", "", "v1", "namespaces", False),
        Resource("ConfigMap", "", "v1", "configmaps", True),
        Resource("Secret", "", "v1", "secrets", True),
        Resource("RuntimeClass", "node.k8s.io", "v1", "runtimeclasses", False),
        Resource("ClusterVersion", "config.openshift.io", "v1", "clusterversions", False),
        Resource("MachineConfig", MCO_GROUP, "v1", "machineconfigs", False),
        Resource("MachineConfigPool", MCO_GROUP, "v1", "machineconfigpools", False),
        Resource("ControllerConfig", MCO_GROUP, "v1", "controllerconfigs", False),
        Resource("KataConfig", KATA_GROUP, "v1", "kataconfigs", False),
        Resource("DaemonSet", "apps", "v1", "daemonsets", True),
        Resource("ServiceAccount", "", "v1", "serviceaccounts", True),
        Resource("RoleBinding", "rbac.authorization.k8s.io", "v1", "rolebindings", True),
        Resource("Event", "", "v1", "events", True),
    )
}


# Looked up by these keys (not by kind): the legacy v1alpha1 KataConfig and OLM objects (issue 11).
LEGACY_KATACONFIG = "KataConfig/v1alpha1"
RESOURCES[LEGACY_KATACONFIG] = Resource("KataConfig", KATA_GROUP, "v1alpha1", "kataconfigs", False)
RESOURCES["Subscription"] = Resource("Subscription", "operators.coreos.com", "v1alpha1", "subscriptions", True)
RESOURCES["ClusterServiceVersion"] = Resource("ClusterServiceVersion", "operators.coreos.com", "v1alpha1",
                                              "clusterserviceversions", True)


def resource(kind: str) -> Resource:
    return RESOURCES[kind]
