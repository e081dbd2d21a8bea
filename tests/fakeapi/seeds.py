"""Seed objects for the fake API server: a realistic, schema-valid OpenShift (or plain Kubernetes) cluster.

Derived from (see shared/reference/PROVENANCE.md and DOMAIN.md §2, §3):
- MachineConfig shape: samples/machineconfig-50-enable-sandboxed-containers-extension.capture-ocp4.9.yaml
- MachineConfigPool shape/counters: samples/mco-fixture-machineconfigpool.yaml, oc-get-mcp-kata-oc.capture-ocp4.9.txt
  (condition messages per release from DOMAIN.md §3)
- osimageurl ConfigMap per release: samples/mco-osimageurl-configmap.by-release.yaml
- RuntimeClass kata: samples/runtimeclass-kata.capture-ocp4.9.yaml; KataConfig: samples/kataconfig-sample.osc-devel.yaml
- Node/Pod/ClusterVersion field sets follow the Kubernetes/OpenShift API types (everything the kubernetes 35.0.0
  client marks required is present).
Digests, UIDs, names of cloud resources and the pull-secret credentials are fake (deterministic, clearly marked).
"""
from __future__ import annotations

import base64
import datetime
import hashlib
import json

from . import validation
from .store import ObjectStore

MC_GROUP = "machineconfiguration.openshift.io"
MC_API = MC_GROUP + "/v1"
ANN = MC_GROUP + "/"

# The fake pull secret's credentials.  Tests elsewhere assert that these strings never appear in plugin output.
PULL_SECRET_USER = "fake-pull-user"
PULL_SECRET_PASSWORD = "FAKEPULLSECRETdoNotLeak0123456789abcdef"
PULL_SECRET_AUTH = base64.b64encode(("%s:%s" % (PULL_SECRET_USER, PULL_SECRET_PASSWORD)).encode()).decode()

ARCH_UNAME = {"amd64": "x86_64", "arm64": "aarch64", "s390x": "s390x", "ppc64le": "ppc64le"}


def fake_digest(*parts) -> str:
    return hashlib.sha256(":".join(str(p) for p in parts).encode()).hexdigest()


def art_pullspec(*parts) -> str:
    return "quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:" + fake_digest(*parts)


def _minor(ocp_version: str) -> int:
    return int(ocp_version.split(".")[1])


def ocp_facts(ocp_version: str) -> dict:
    """Release facts: Kubernetes version, RHCOS build string, RHEL, kernel, CRI-O, Ignition version."""
    minor = _minor(ocp_version)
    patch = int((ocp_version.split(".") + ["0"])[2].split("-")[0] or 0)
    kube = "1.%d.%d" % (minor + 13, 6 + patch % 4)
    if minor <= 10:
        rhel, codename, kernel = "8.4", "Ootpa", "4.18.0-305.72.1.el8_4"
    elif minor <= 12:
        rhel, codename, kernel = "8.6", "Ootpa", "4.18.0-372.%d.1.el8_6" % (40 + patch)
    elif minor <= 15:
        rhel, codename, kernel = "9.2", "Plow", "5.14.0-284.%d.1.el9_2" % (30 + patch)
    elif minor <= 18:
        rhel, codename, kernel = "9.4", "Plow", "5.14.0-427.%d.1.el9_4" % (20 + patch)
    else:
        rhel, codename, kernel = "9.6", "Plow", "5.14.0-570.%d.1.el9_6" % (10 + patch)
    build = "4%d.%s.202406251923-0" % (minor, rhel.replace(".", ""))
    return {
        "minor": minor,
        "kube_version": kube,
        "kubelet_version": "v%s+%s" % (kube, fake_digest("kubelet", ocp_version)[:7]),
        "rhel": rhel,
        "os_image": "Red Hat Enterprise Linux CoreOS %s (%s)" % (build, codename),
        "kernel": kernel,
        "crio": "cri-o://1.%d.%d-3.rhaos4.%d.git%s.el%s" % (minor + 13, 6 + patch % 4, minor,
                                                            fake_digest("crio", ocp_version)[:7], rhel[0]),
        "ignition": "3.4.0" if minor >= 14 else "3.2.0",
        "controller_version": fake_digest("mco", ocp_version)[:40],
        "release_image": "quay.io/openshift-release-dev/ocp-release@sha256:" + fake_digest("release", ocp_version),
        "os_image_url": art_pullspec("rhel-coreos", ocp_version) if minor >= 12
        else art_pullspec("machine-os-content", ocp_version),
        "extensions_image": art_pullspec("rhel-coreos-extensions", ocp_version) if minor >= 12 else None,
    }


def ts(base: datetime.datetime, minutes: float = 0) -> str:
    return (base + datetime.timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


# ----------------------------------------------------------------------------------------- MCO helpers


def merge_machine_configs(mcs: list, os_image_url: str, extensions_image: str | None, ignition: str) -> dict:
    """Rendered spec of a pool from its MachineConfigs (MCO MergeMachineConfigs, simplified): MCs in name order;
    extensions and kernelArguments concatenated (extensions de-duplicated), fips OR-ed, last non-empty
    kernelType/osImageURL wins, otherwise the release's OS image."""
    mcs = sorted(mcs, key=lambda m: m["metadata"]["name"])
    extensions, kargs, fips, ktype, osimg = [], [], False, "default", ""
    files, units = [], []
    for mc in mcs:
        spec = mc.get("spec") or {}
        for e in spec.get("extensions") or []:
            if e not in extensions:
                extensions.append(e)
        kargs.extend(spec.get("kernelArguments") or [])
        fips = fips or bool(spec.get("fips"))
        if spec.get("kernelType"):
            ktype = spec["kernelType"]
        if spec.get("osImageURL"):
            osimg = spec["osImageURL"]
        cfg = spec.get("config") or {}
        files.extend((cfg.get("storage") or {}).get("files") or [])
        units.extend((cfg.get("systemd") or {}).get("units") or [])
    out = {
        "config": {"ignition": {"version": ignition}, "storage": {"files": files}, "systemd": {"units": units}},
        "extensions": extensions,
        "fips": fips,
        "kernelArguments": kargs,
        "kernelType": ktype,
        "osImageURL": osimg or os_image_url,
    }
    if extensions_image:
        out["baseOSExtensionsContainerImage"] = extensions_image
    return out


def rendered_name(pool: str, spec: dict) -> str:
    """``rendered-<pool>-<md5 hex of the merged spec>`` (MCO pkg/controller/render/hash.go, simplified)."""
    blob = json.dumps(spec, sort_keys=True, separators=(",", ":")).encode()
    return "rendered-%s-%s" % (pool, hashlib.md5(blob).hexdigest())


def selects(selector: dict | None, labels: dict | None) -> bool:
    """metav1.LabelSelector match (matchLabels + matchExpressions)."""
    if selector is None:
        return False
    labels = labels or {}
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, vals = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in vals:
            return False
        if op == "NotIn" and key in labels and labels[key] in vals:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def pool_conditions(pool: str, rendered: str, minor: int, when: str, updated: bool = True,
                    updating: bool = False) -> list:
    """Conditions of a settled (or updating) pool with the release-specific message text (DOMAIN.md §3)."""
    with_mc = "MachineConfig " if minor >= 14 else ""
    conds = [
        {"lastTransitionTime": when, "message": "", "reason": "", "status": "False", "type": "RenderDegraded"},
        {"lastTransitionTime": when, "message": "", "reason": "", "status": "False", "type": "NodeDegraded"},
        {"lastTransitionTime": when, "message": "", "reason": "", "status": "False", "type": "Degraded"},
        {"lastTransitionTime": when,
         "message": "All nodes are updated with %s%s" % (with_mc, rendered) if updated else "",
         "reason": "", "status": "True" if updated else "False", "type": "Updated"},
        {"lastTransitionTime": when,
         "message": "All nodes are updating to %s%s" % (with_mc, rendered) if updating else "",
         "reason": "", "status": "True" if updating else "False", "type": "Updating"},
    ]
    if minor >= 16:
        conds.insert(0, {"lastTransitionTime": when, "message": "", "reason": "", "status": "False",
                         "type": "PinnedImageSetsDegraded"})
    return conds


# ----------------------------------------------------------------------------------------- builders


def _node(name, role, arch, idx, facts, base, openshift, rendered, converged, ip):
    labels = {
        "beta.kubernetes.io/arch": arch,
        "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": arch,
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
    }
    if role == "master":
        labels["node-role.kubernetes.io/control-plane"] = ""
        if openshift:
            labels["node-role.kubernetes.io/master"] = ""
        if converged and openshift:
            labels["node-role.kubernetes.io/worker"] = ""
    else:
        labels["node-role.kubernetes.io/worker"] = ""
    annotations = {"volumes.kubernetes.io/controller-managed-attach-detach": "true"}
    if openshift:
        labels["node.openshift.io/os_id"] = "rhcos"
        drain = "uncordon-" + fake_digest("drain", rendered)[:32]
        annotations.update({
            ANN + "controlPlaneTopology": "HighlyAvailable",
            ANN + "currentConfig": rendered,
            ANN + "desiredConfig": rendered,
            ANN + "desiredDrain": drain,
            ANN + "lastAppliedDrain": drain,
            ANN + "lastSyncedControllerConfigResourceVersion": "1",
            ANN + "reason": "",
            ANN + "state": "Done",
        })
        os_image, kernel, runtime = facts["os_image"], facts["kernel"], facts["crio"]
        kubelet = facts["kubelet_version"]
    else:
        os_image, kernel = "Ubuntu 22.04.4 LTS", "5.15.0-113-generic"
        runtime, kubelet = "containerd://1.7.18", "v" + facts["kube_version"]
    uname = ARCH_UNAME.get(arch, arch)
    created = ts(base, 2 if role == "master" else 25 + idx)
    cond_time = ts(base, 30 + idx)
    heartbeat = ts(base, 200)
    cpu, mem = ("8", "32408092Ki") if role == "master" else ("16", "65247212Ki")
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": labels, "annotations": annotations, "creationTimestamp": created},
        "spec": {"providerID": "aws:///us-east-1a/i-0%s" % fake_digest("instance", name)[:16]}
        | ({"taints": [{"effect": "NoSchedule", "key": "node-role.kubernetes.io/master"}]}
           if role == "master" and not converged else {}),
        "status": {
            "addresses": [{"address": ip, "type": "InternalIP"}, {"address": name, "type": "Hostname"},
                          {"address": name, "type": "InternalDNS"}],
            "allocatable": {"cpu": "%dm" % (int(cpu) * 1000 - 500), "ephemeral-storage": "114396791822",
                            "hugepages-1Gi": "0", "hugepages-2Mi": "0", "memory": "31257116Ki"
                            if role == "master" else "64096236Ki", "pods": "250"},
            "capacity": {"cpu": cpu, "ephemeral-storage": "125238252Ki", "hugepages-1Gi": "0",
                         "hugepages-2Mi": "0", "memory": mem, "pods": "250"},
            "conditions": [
                {"lastHeartbeatTime": heartbeat, "lastTransitionTime": cond_time,
                 "message": "kubelet has sufficient memory available", "reason": "KubeletHasSufficientMemory",
                 "status": "False", "type": "MemoryPressure"},
                {"lastHeartbeatTime": heartbeat, "lastTransitionTime": cond_time,
                 "message": "kubelet has no disk pressure", "reason": "KubeletHasNoDiskPressure",
                 "status": "False", "type": "DiskPressure"},
                {"lastHeartbeatTime": heartbeat, "lastTransitionTime": cond_time,
                 "message": "kubelet has sufficient PID available", "reason": "KubeletHasSufficientPID",
                 "status": "False", "type": "PIDPressure"},
                {"lastHeartbeatTime": heartbeat, "lastTransitionTime": cond_time,
                 "message": "kubelet is posting ready status", "reason": "KubeletReady",
                 "status": "True", "type": "Ready"},
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "images": [],
            "nodeInfo": {
                "architecture": arch,
                "bootID": "%s-%s-%s-%s-%s" % tuple(fake_digest("boot", name)[i:j] for i, j in
                                                   ((0, 8), (8, 12), (12, 16), (16, 20), (20, 32))),
                "containerRuntimeVersion": runtime,
                "kernelVersion": "%s.%s" % (kernel, uname) if openshift else kernel,
                "kubeProxyVersion": kubelet,
                "kubeletVersion": kubelet,
                "machineID": fake_digest("machine", name)[:32],
                "operatingSystem": "linux",
                "osImage": os_image,
                "systemUUID": "ec2%s-%s-%s-%s-%s" % tuple(fake_digest("uuid", name)[i:j] for i, j in
                                                          ((0, 5), (5, 9), (9, 13), (13, 17), (17, 29))),
            },
        },
    }


def _namespace(name, base, labels=None, annotations=None):
    lab = {"kubernetes.io/metadata.name": name}
    lab.update(labels or {})
    md = {"name": name, "labels": lab, "creationTimestamp": ts(base)}
    if annotations:
        md["annotations"] = dict(annotations)
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": md,
            "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}


def _mc(name, role, facts, base, spec_extra=None, generated=True, owner=None, labels=None):
    md = {"name": name, "labels": {ANN + "role": role}, "creationTimestamp": ts(base, 5)}
    if labels:
        md["labels"].update(labels)
    if generated:
        md["annotations"] = {ANN + "generated-by-controller-version": facts["controller_version"]}
    if owner:
        md["ownerReferences"] = [owner]
    spec = {"config": {"ignition": {"version": facts["ignition"]}}, "extensions": [], "fips": False,
            "kernelArguments": None, "kernelType": "", "osImageURL": ""}
    spec.update(spec_extra or {})
    return {"apiVersion": MC_API, "kind": "MachineConfig", "metadata": md, "spec": spec}


def base_machine_configs(facts: dict, base, cc_owner: dict | None) -> list:
    out = []
    for role in ("master", "worker"):
        out.append(_mc("00-%s" % role, role, facts, base, {"config": {
            "ignition": {"version": facts["ignition"]},
            "storage": {"files": [{"contents": {"source": "data:,%s" % role}, "mode": 420, "overwrite": True,
                                   "path": "/etc/kubernetes/kubelet-ca.crt"}]},
            "systemd": {"units": [{"enabled": True, "name": "kubelet.service"}]}}}, owner=cc_owner))
        out.append(_mc("01-%s-container-runtime" % role, role, facts, base, {"config": {
            "ignition": {"version": facts["ignition"]},
            "storage": {"files": [{"contents": {"source": "data:,crio"}, "mode": 420, "overwrite": True,
                                   "path": "/etc/crio/crio.conf.d/00-default"}]}}}, owner=cc_owner))
        out.append(_mc("01-%s-kubelet" % role, role, facts, base, {"config": {
            "ignition": {"version": facts["ignition"]},
            "systemd": {"units": [{"enabled": True, "name": "kubelet.service"}]}}}, owner=cc_owner))
        out.append(_mc("99-%s-generated-registries" % role, role, facts, base))
        ssh = _mc("99-%s-ssh" % role, role, facts, base, generated=False)
        ssh["spec"]["config"]["passwd"] = {"users": [{"name": "core", "sshAuthorizedKeys": [
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTestsOnly0000000000000000000 fake@example.com"]}]}
        out.append(ssh)
    return out


def _pool(name, facts, base, rendered, source, machine_count, conds):
    labels = {ANN + "mco-built-in": "", "pools.operator.machineconfiguration.openshift.io/%s" % name: ""}
    if name == "master":
        labels["operator.machineconfiguration.openshift.io/required-for-upgrade"] = ""
    conf = {"name": rendered, "source": source}
    return {
        "apiVersion": MC_API,
        "kind": "MachineConfigPool",
        "metadata": {"name": name, "labels": labels, "creationTimestamp": ts(base, 3)},
        "spec": {
            "configuration": conf,
            "machineConfigSelector": {"matchLabels": {ANN + "role": name}},
            "nodeSelector": {"matchLabels": {"node-role.kubernetes.io/%s" % name: ""}},
            "paused": False,
        },
        "status": {
            "conditions": conds,
            "configuration": conf,
            "degradedMachineCount": 0,
            "machineCount": machine_count,
            "observedGeneration": 2,
            "readyMachineCount": machine_count,
            "unavailableMachineCount": 0,
            "updatedMachineCount": machine_count,
        },
    }


def osimageurl_configmap(ocp_version: str, facts: dict, base) -> dict:
    data = {"releaseVersion": ocp_version, "osImageURL": facts["os_image_url"]}
    if facts["minor"] >= 12:
        data["baseOSContainerImage"] = facts["os_image_url"]
        data["baseOSExtensionsContainerImage"] = facts["extensions_image"]
        if facts["minor"] >= 13:
            data["osImageURL"] = ""
        else:
            data["osImageURL"] = art_pullspec("machine-os-content", ocp_version)
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "machine-config-osimageurl", "namespace": "openshift-machine-config-operator",
                         "creationTimestamp": ts(base, 1),
                         "annotations": {"include.release.openshift.io/ibm-cloud-managed": "true",
                                         "include.release.openshift.io/self-managed-high-availability": "true",
                                         "include.release.openshift.io/single-node-developer": "true"}},
            "data": data}


def _controller_config(ocp_version, facts, base):
    ca = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nRkFLRSBDQSBGT1IgVEVTVFM=\n-----END CERTIFICATE-----\n").decode()
    return {
        "apiVersion": MC_API, "kind": "ControllerConfig",
        "metadata": {"name": "machine-config-controller", "creationTimestamp": ts(base, 1),
                     "annotations": {ANN + "generated-by-controller-version": facts["controller_version"]}},
        "spec": {
            "additionalTrustBundle": None,
            "baseOSContainerImage": facts["os_image_url"] if facts["minor"] >= 12 else "",
            "baseOSExtensionsContainerImage": facts["extensions_image"] or "",
            "cloudProviderCAData": None,
            "cloudProviderConfig": "",
            "clusterDNSIP": "172.30.0.10",
            "dns": None,
            "images": {"machineConfigOperator": art_pullspec("machine-config-operator", ocp_version),
                       "infraImageKey": art_pullspec("pod", ocp_version),
                       "keepalivedKey": art_pullspec("keepalived-ipfailover", ocp_version)},
            "infra": None,
            "ipFamilies": "IPv4",
            "kubeAPIServerServingCAData": ca,
            "network": None,
            "osImageURL": facts["os_image_url"] if facts["minor"] < 13 else "",
            "platform": "aws",
            "proxy": None,
            "pullSecret": {"name": "pull-secret", "namespace": "openshift-config"},
            "releaseImage": facts["release_image"],
            "rootCAData": ca,
        },
        "status": {"observedGeneration": 1, "conditions": [
            {"lastTransitionTime": ts(base, 2), "message": "", "reason": "", "status": "True",
             "type": "TemplateControllerCompleted"},
            {"lastTransitionTime": ts(base, 2), "message": "", "reason": "", "status": "False",
             "type": "TemplateControllerRunning"},
            {"lastTransitionTime": ts(base, 2), "message": "", "reason": "", "status": "False",
             "type": "TemplateControllerFailing"}]},
    }


def _cluster_version(ocp_version, facts, base):
    when = ts(base, 60)
    return {
        "apiVersion": "config.openshift.io/v1", "kind": "ClusterVersion",
        "metadata": {"name": "version", "creationTimestamp": ts(base)},
        "spec": {"channel": "stable-4.%d" % facts["minor"], "clusterID": "%s-%s-%s-%s-%s" % tuple(
            fake_digest("cluster", ocp_version)[i:j] for i, j in ((0, 8), (8, 12), (12, 16), (16, 20), (20, 32)))},
        "status": {
            "availableUpdates": None,
            "conditions": [
                {"lastTransitionTime": when, "status": "True", "type": "RetrievedUpdates"},
                {"lastTransitionTime": when, "message": "Done applying %s" % ocp_version, "status": "True",
                 "type": "Available"},
                {"lastTransitionTime": when, "status": "False", "type": "Failing"},
                {"lastTransitionTime": when, "message": "Cluster version is %s" % ocp_version, "status": "False",
                 "type": "Progressing"},
            ],
            "desired": {"image": facts["release_image"], "version": ocp_version,
                        "channels": ["candidate-4.%d" % facts["minor"], "fast-4.%d" % facts["minor"],
                                     "stable-4.%d" % facts["minor"]]},
            "history": [{"completionTime": when, "image": facts["release_image"], "startedTime": ts(base),
                         "state": "Completed", "verified": False, "version": ocp_version}],
            "observedGeneration": 1,
            "versionHash": base64.urlsafe_b64encode(bytes.fromhex(fake_digest("vh", ocp_version)[:16])).decode(),
        },
    }


def _pull_secret(base):
    auths = {"auths": {reg: {"auth": PULL_SECRET_AUTH, "email": "fake-user@example.com"}
                       for reg in ("cloud.openshift.com", "quay.io", "registry.connect.redhat.com",
                                   "registry.redhat.io")}}
    return {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
            "metadata": {"name": "pull-secret", "namespace": "openshift-config", "creationTimestamp": ts(base)},
            "data": {".dockerconfigjson": base64.b64encode(json.dumps(auths).encode()).decode()}}


def _kata_pod(i, node, ns, base):
    name = "kata-demo-%d" % i
    started = ts(base, 150 + i)
    cid = "cri-o://" + fake_digest("container", name)
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": {"app": "kata-demo"}, "creationTimestamp": started},
        "spec": {
            "containers": [{"name": "app", "image": "registry.access.redhat.com/ubi9/ubi-minimal:latest",
                            "command": ["sleep", "infinity"], "imagePullPolicy": "Always",
                            "resources": {}, "terminationMessagePath": "/dev/termination-log",
                            "terminationMessagePolicy": "File"}],
            "nodeName": node,
            "overhead": {"cpu": "250m", "memory": "350Mi"},
            "restartPolicy": "Always",
            "runtimeClassName": "kata",
            "schedulerName": "default-scheduler",
            "terminationGracePeriodSeconds": 30,
        },
        "status": {
            "conditions": [{"lastProbeTime": None, "lastTransitionTime": started, "status": "True", "type": t}
                           for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")],
            "containerStatuses": [{"containerID": cid, "image": "registry.access.redhat.com/ubi9/ubi-minimal:latest",
                                   "imageID": "registry.access.redhat.com/ubi9/ubi-minimal@sha256:"
                                   + fake_digest("ubi", name), "lastState": {}, "name": "app", "ready": True,
                                   "restartCount": 0, "started": True, "state": {"running": {"startedAt": started}}}],
            "hostIP": "10.0.2.%d" % (10 + i % 200),
            "phase": "Running",
            "podIP": "10.128.2.%d" % (10 + i % 200),
            "qosClass": "BestEffort",
            "startTime": started,
        },
    }


# ----------------------------------------------------------------------------------------- legacy kata-operator
# The OCP 4.6/4.7 RPM-payload install (DOMAIN.md §5). Shapes from openshift/sandboxed-containers-operator
# release-4.6 @ 3e884187 pkg/controller/kataconfig/openshift_reconciler.go (newMCForCR, processDaemonsetForCR,
# setRuntimeClass, finalizer "finalizer.kataconfiguration.openshift.io") and release-4.7 (namespace
# kata-operator-system, API v1, RuntimeClass "kata" with overhead 250m/160Mi); the dropin content is
# samples/legacy-crio-50-kata.conf.osc-release-4.6.toml, the unit samples/legacy-kata-operator-node.capture-ocp4.5.txt.

LEGACY_KATACONFIG = "example-kataconfig"
LEGACY_FINALIZER = "finalizer.kataconfiguration.openshift.io"
LEGACY_DROPIN = ('\n[crio.runtime]\n  manage_ns_lifecycle = true\n\n[crio.runtime.runtimes.kata]\n'
                 '  runtime_path = "/usr/bin/containerd-shim-kata-v2"\n  runtime_type = "vm"\n'
                 '  runtime_root = "/run/vc"\n  \n[crio.runtime.runtimes.runc]\n  runtime_path = ""\n'
                 '  runtime_type = "oci"\n  runtime_root = "/run/runc"\n')
LEGACY_UNIT = ("\n[Unit]\nDescription=Hacky service to enable kata-osbuilder-generate.service\n"
               "ConditionPathExists=/usr/lib/systemd/system/kata-osbuilder-generate.service\n[Service]\n"
               "Type=oneshot\nExecStart=/usr/libexec/kata-containers/osbuilder/kata-osbuilder.sh\n"
               "ExecRestart=/usr/libexec/kata-containers/osbuilder/kata-osbuilder.sh\n[Install]\n"
               "WantedBy=multi-user.target\n")


def legacy_namespace(era: str) -> str:
    return "kata-operator" if era == "4.6" else "kata-operator-system"


def legacy_crio_dropin_mc(facts: dict, base, role: str = "worker") -> dict:
    """MachineConfig 50-kata-crio-dropin (Ignition 2.2.0) as newMCForCR wrote it."""
    mc = _mc("50-kata-crio-dropin", role, facts, base, generated=False, labels={"app": LEGACY_KATACONFIG})
    mc["spec"]["config"] = {
        "ignition": {"version": "2.2.0"},
        "storage": {"files": [{"contents": {"source": "data:text/plain;charset=utf-8;base64,"
                                            + base64.b64encode(LEGACY_DROPIN.encode()).decode()},
                               "filesystem": "root", "mode": 420, "path": "/etc/crio/crio.conf.d/50-kata.conf"}]},
        "systemd": {"units": [{"contents": LEGACY_UNIT, "enabled": True,
                               "name": "kata-osbuilder-generate.service"}]}}
    return mc


def legacy_objects(era: str, base, worker_nodes: list) -> list:
    """Cluster objects of a legacy install besides its MachineConfig (namespace, KataConfig, DaemonSet,
    payload ConfigMap/Secret, RuntimeClass), in creation order."""
    ns = legacy_namespace(era)
    api = "kataconfiguration.openshift.io/" + ("v1alpha1" if era == "4.6" else "v1")
    kc_uid = "00000000-1e6a-4cc0-0000-%012d" % (46 if era == "4.6" else 47)
    owner = [{"apiVersion": api, "kind": "KataConfig", "name": LEGACY_KATACONFIG, "uid": kc_uid,
              "controller": True, "blockOwnerDeletion": True}]
    selector = {"node-role.kubernetes.io/worker": ""}
    kc = {"apiVersion": api, "kind": "KataConfig",
          "metadata": {"name": LEGACY_KATACONFIG, "uid": kc_uid, "creationTimestamp": ts(base, 60),
                       "finalizers": [LEGACY_FINALIZER]},
          "spec": {"kataConfigPoolSelector": {"matchLabels": dict(selector)}}}
    ds_name = "kata-operator-daemon-install"
    ds = {"apiVersion": "apps/v1", "kind": "DaemonSet",
          "metadata": {"name": ds_name, "namespace": ns, "creationTimestamp": ts(base, 61),
                       "ownerReferences": owner},
          "spec": {"selector": {"matchLabels": {"name": ds_name}},
                   "template": {"metadata": {"labels": {"name": ds_name}},
                                "spec": {"serviceAccountName": "kata-operator", "nodeSelector": dict(selector),
                                         "hostNetwork": True, "hostPID": True,
                                         "containers": [{"name": "kata-install-pod",
                                                         "image": "quay.io/isolatedcontainers/kata-operator-daemon:v1.0",
                                                         "securityContext": {"privileged": True, "runAsUser": 0},
                                                         "volumeMounts": [{"name": "hostroot", "mountPath": "/host"}]}],
                                         "volumes": [{"name": "hostroot", "hostPath": {"path": "/"}}]}}},
          "status": {"currentNumberScheduled": len(worker_nodes), "desiredNumberScheduled": len(worker_nodes),
                     "numberMisscheduled": 0, "numberReady": len(worker_nodes)}}
    cm = {"apiVersion": "v1", "kind": "ConfigMap",
          "metadata": {"name": "payload-config", "namespace": ns, "creationTimestamp": ts(base, 59)},
          "data": {"daemonImage": "quay.io/isolatedcontainers/kata-operator-daemon:v1.0",
                   "payloadImage": "quay.io/isolatedcontainers/kata-operator-payload:%s.0" % era}}
    secret = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
              "metadata": {"name": "payload-secret", "namespace": ns, "creationTimestamp": ts(base, 59)}}
    rc_name = "kata-oc" if era == "4.6" else "kata"
    rc = {"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass", "handler": rc_name,
          "metadata": {"name": rc_name, "creationTimestamp": ts(base, 90), "ownerReferences": owner},
          "scheduling": {"nodeSelector": dict(selector)}}
    if era != "4.6":
        rc["overhead"] = {"podFixed": {"cpu": "250m", "memory": "160Mi"}}
    return [_namespace(ns, base), cm, secret, kc, ds, rc]


def osc_olm_objects(base, version: str = "1.7.0") -> list:
    """Subscription + ClusterServiceVersion of an OLM-installed operator in its namespace (OSC docs' Subscription
    `sandboxed-containers-operator`, channel stable, catalog redhat-operators; operators.coreos.com/v1alpha1)."""
    ns = "openshift-sandboxed-containers-operator"
    csv = "sandboxed-containers-operator.v%s" % version
    return [
        {"apiVersion": "operators.coreos.com/v1alpha1", "kind": "Subscription",
         "metadata": {"name": "sandboxed-containers-operator", "namespace": ns, "creationTimestamp": ts(base, 90)},
         "spec": {"channel": "stable", "installPlanApproval": "Automatic", "name": "sandboxed-containers-operator",
                  "source": "redhat-operators", "sourceNamespace": "openshift-marketplace", "startingCSV": csv},
         "status": {"currentCSV": csv, "installedCSV": csv, "state": "AtLatestKnown"}},
        {"apiVersion": "operators.coreos.com/v1alpha1", "kind": "ClusterServiceVersion",
         "metadata": {"name": csv, "namespace": ns, "creationTimestamp": ts(base, 91)},
         "spec": {"displayName": "OpenShift sandboxed containers Operator", "version": version},
         "status": {"phase": "Succeeded", "reason": "InstallSucceeded"}},
    ]


def seed(store: ObjectStore, *, ocp_version: str = "4.16.3", masters: int = 3, workers: int = 3,
         arch: str = "amd64", worker_arches: list | None = None, converged: bool = False, openshift: bool = True,
         operator: bool = False, kata_pods: int = 0, node_names: str = "simple",
         age_minutes: float = 223, legacy: str | None = None, olm: bool = False) -> dict:
    """Populate ``store`` and return facts about what was created (node names, rendered configs...).

    ``legacy="4.6"|"4.7"`` adds a legacy kata-operator install (legacy_objects, legacy_crio_dropin_mc);
    ``olm`` adds the operator's Subscription and ClusterServiceVersion (with ``operator``)."""
    facts = ocp_facts(ocp_version)
    base = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0) - datetime.timedelta(
        minutes=age_minutes)
    if converged:
        workers = 0
    worker_arches = list(worker_arches or [arch] * workers)
    if len(worker_arches) < workers:
        worker_arches += [arch] * (workers - len(worker_arches))

    def add(obj):
        # seeds must be what a real apiserver would have accepted: defaulted and schema-valid
        validation.apply_defaults(obj)
        validation.validate(obj, obj["apiVersion"].rpartition("/")[0])
        return store.create(obj, preserve_timestamp=True)

    # namespaces
    if openshift:
        priv = {"pod-security.kubernetes.io/audit": "privileged", "pod-security.kubernetes.io/enforce": "privileged",
                "pod-security.kubernetes.io/warn": "privileged"}
        scc = {"openshift.io/sa.scc.mcs": "s0:c1,c0", "openshift.io/sa.scc.supplemental-groups": "1000000000/10000",
               "openshift.io/sa.scc.uid-range": "1000000000/10000"}
        for ns in ("default", "kube-node-lease", "kube-public", "kube-system", "openshift"):
            add(_namespace(ns, base, annotations=scc))
        add(_namespace("openshift-config", base, dict(priv, **{"openshift.io/run-level": ""}),
                       dict(scc, **{"openshift.io/node-selector": ""})))
        add(_namespace("openshift-config-managed", base, dict(priv, **{"openshift.io/run-level": ""}),
                       dict(scc, **{"openshift.io/node-selector": ""})))
        add(_namespace("openshift-machine-config-operator", base,
                       dict(priv, **{"openshift.io/cluster-monitoring": "true", "openshift.io/run-level": "",
                                     "security.openshift.io/scc.podSecurityLabelSync": "false"}),
                       dict(scc, **{"openshift.io/node-selector": "", "workload.openshift.io/allowed": "management"})))
    else:
        for ns in ("default", "kube-node-lease", "kube-public", "kube-system"):
            add(_namespace(ns, base))

    # MCO objects (needed for the rendered names the nodes carry)
    rendered = {}
    created_mcs = []
    pools = ["master", "worker"]
    cc = None
    if openshift:
        cc = add(_controller_config(ocp_version, facts, base))
        cc_owner = {"apiVersion": MC_API, "kind": "ControllerConfig", "name": cc["metadata"]["name"],
                    "uid": cc["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}
        mcs = base_machine_configs(facts, base, cc_owner)
        if operator:
            mcs.append(_mc("50-enable-sandboxed-containers-extension", "worker", facts, base,
                           {"extensions": ["sandboxed-containers"], "config": {
                               "ignition": {"config": {"replace": {"verification": {}}}, "proxy": {},
                                            "security": {"tls": {}}, "timeouts": {}, "version": "3.2.0"},
                               "passwd": {}, "storage": {}, "systemd": {}}},
                           generated=False, labels={"app": "example-kataconfig"}))
        if legacy:
            mcs.append(legacy_crio_dropin_mc(facts, base))
        for mc in mcs:
            created_mcs.append(add(mc))
        for pool in pools:
            members = [m for m in created_mcs if m["metadata"]["labels"].get(ANN + "role") == pool]
            spec = merge_machine_configs(members, facts["os_image_url"], facts["extensions_image"], facts["ignition"])
            rendered[pool] = (rendered_name(pool, spec), spec, members)

    # nodes
    nodes = []
    for i in range(masters):
        name = "master-%d" % i if node_names == "simple" else "ip-10-0-1-%d.ec2.internal" % (20 + i)
        nodes.append(add(_node(name, "master", arch, i, facts, base, openshift,
                               rendered.get("master", ("",))[0], converged, "10.0.1.%d" % (20 + i))))
    for i in range(workers):
        name = "worker-%d" % i if node_names == "simple" else "ip-10-0-2-%d.ec2.internal" % (30 + i)
        nodes.append(add(_node(name, "worker", worker_arches[i], i, facts, base, openshift,
                               rendered.get("worker", ("",))[0], converged, "10.0.2.%d" % (30 + i))))

    if openshift:
        counts = {"master": masters, "worker": workers}
        for pool in pools:
            rname, spec, members = rendered[pool]
            source = [{"apiVersion": MC_API, "kind": "MachineConfig", "name": m["metadata"]["name"]}
                      for m in sorted(members, key=lambda m: m["metadata"]["name"])]
            p = add(_pool(pool, facts, base, rname, source, counts[pool],
                          pool_conditions(pool, rname, facts["minor"], ts(base, 40))))
            add({"apiVersion": MC_API, "kind": "MachineConfig",
                 "metadata": {"name": rname, "creationTimestamp": ts(base, 6),
                              "annotations": {ANN + "generated-by-controller-version": facts["controller_version"],
                                              ANN + "release-image-version": ocp_version},
                              "ownerReferences": [{"apiVersion": MC_API, "kind": "MachineConfigPool", "name": pool,
                                                   "uid": p["metadata"]["uid"], "controller": True,
                                                   "blockOwnerDeletion": True}]},
                 "spec": spec})
        add(_cluster_version(ocp_version, facts, base))
        add(osimageurl_configmap(ocp_version, facts, base))
        add(_pull_secret(base))

    if operator and openshift:
        add(_namespace("openshift-sandboxed-containers-operator", base,
                       {"openshift.io/cluster-monitoring": "true"}))
        kc = add({"apiVersion": "kataconfiguration.openshift.io/v1", "kind": "KataConfig",
                  "metadata": {"name": "example-kataconfig", "creationTimestamp": ts(base, 100),
                               "finalizers": ["kataconfiguration.openshift.io/finalizer"]},
                  "spec": {"checkNodeEligibility": False, "enablePeerPods": False, "logLevel": "info"},
                  "status": {"conditions": [{"lastTransitionTime": ts(base, 140), "message": "", "reason": "",
                                             "status": "False", "type": "InProgress"}],
                             "kataNodes": {"installed": ["worker-%d" % i for i in range(workers)]
                                           if node_names == "simple" else
                                           ["ip-10-0-2-%d.ec2.internal" % (30 + i) for i in range(workers)],
                                           "nodeCount": workers, "readyNodeCount": workers},
                             "runtimeClasses": ["kata"], "waitingForMcoToStart": False}})
        rc_owner = [{"apiVersion": "kataconfiguration.openshift.io/v1", "kind": "KataConfig",
                     "name": kc["metadata"]["name"], "uid": kc["metadata"]["uid"], "controller": True,
                     "blockOwnerDeletion": True}]
    else:
        rc_owner = None
    if operator or kata_pods:
        rc = {"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass", "handler": "kata",
              "metadata": {"name": "kata", "creationTimestamp": ts(base, 140)},
              "overhead": {"podFixed": {"cpu": "250m", "memory": "350Mi"}},
              "scheduling": {"nodeSelector": {"node-role.kubernetes.io/worker": ""}}}
        if rc_owner:
            rc["metadata"]["ownerReferences"] = rc_owner
        add(rc)
    worker_nodes = [n["metadata"]["name"] for n in nodes
                    if "node-role.kubernetes.io/worker" in n["metadata"]["labels"]]
    if legacy and openshift:
        for obj in legacy_objects(legacy, base, worker_nodes):
            add(obj)
    if olm and operator and openshift:
        for obj in osc_olm_objects(base):
            add(obj)
    if kata_pods:
        add(_namespace("kata-workloads", base))
        for i in range(kata_pods):
            add(_kata_pod(i, worker_nodes[i % len(worker_nodes)] if worker_nodes else nodes[0]["metadata"]["name"],
                          "kata-workloads", base))
    return {"facts": facts, "nodes": [n["metadata"]["name"] for n in nodes],
            "rendered": {p: r[0] for p, r in rendered.items()}, "controller_config": cc}
