"""Loopback fake Kubernetes/OpenShift API server for tests.

    with FakeCluster(ocp_version="4.16.3", workers=3) as fc:
        kubeconfig = fc.write_kubeconfig(tmp_path / "kubeconfig")
        ...   # the real kubernetes client / kubectl talk to fc.url over HTTP(S)

See server.py (REST semantics), store.py (object store), seeds.py (cluster contents), fixtures.py (pytest fixtures).
"""
from __future__ import annotations

import atexit
import base64
import os
import shutil
import subprocess
import tempfile
import threading

import yaml

from .seeds import PULL_SECRET_AUTH, PULL_SECRET_PASSWORD, ocp_facts, seed  # noqa: F401
from .server import APIServer
from .store import AlreadyExists, Conflict, Gone, Invalid, NotFound, ObjectStore, StoreError  # noqa: F401

DEFAULT_TOKEN = "sha256~fake-token-for-loopback-tests-only"

_tls_lock = threading.Lock()
_tls_dir: str | None = None


def _tls_material() -> tuple:
    """Throwaway CA + server certificate for 127.0.0.1/localhost, generated once per process with openssl."""
    global _tls_dir
    with _tls_lock:
        if _tls_dir is None:
            d = tempfile.mkdtemp(prefix="fakeapi-tls-")
            ext = os.path.join(d, "ext.cnf")
            with open(ext, "w") as fh:
                fh.write("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
                         "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n")

            def run(*args):
                subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)

            run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=fakeapi-test-ca",
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
            run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
            run("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", "server.crt", "-days", "2", "-extfile", "ext.cnf")
            os.unlink(os.path.join(d, "ca.key"))
            atexit.register(shutil.rmtree, d, True)
            _tls_dir = d
    return (os.path.join(_tls_dir, "server.crt"), os.path.join(_tls_dir, "server.key"),
            os.path.join(_tls_dir, "ca.crt"))


class FakeCluster:
    """A seeded object store + API server (+ optional simulated MCO)."""

    def __init__(self, ocp_version: str = "4.16.3", masters: int = 3, workers: int = 3, arch: str = "amd64",
                 worker_arches: list | None = None, converged: bool = False, openshift: bool = True,
                 operator: bool = False, kata_pods: int = 0, tls: bool = True, mco: bool = True,
                 token: str = DEFAULT_TOKEN, user: str = "kube:admin", node_names: str = "simple",
                 bookmark_interval: float = 5.0, legacy: str | None = None, olm: bool = False):
        self.ocp_version = ocp_version
        self.openshift = openshift
        self.tls = tls
        self.token = token
        self.store = ObjectStore()
        self.seeded = seed(self.store, ocp_version=ocp_version, masters=masters, workers=workers, arch=arch,
                           worker_arches=worker_arches, converged=converged, openshift=openshift,
                           operator=operator, kata_pods=kata_pods, node_names=node_names, legacy=legacy,
                           olm=olm)
        facts = ocp_facts(ocp_version)
        k8s = "v" + facts["kube_version"] if not openshift else facts["kubelet_version"]
        self._tls_files = _tls_material() if tls else None
        self.api = APIServer(self.store, token=token, user=user, openshift=openshift,
                             operator=operator and openshift, k8s_version=k8s,
                             tls_files=self._tls_files[:2] if tls else None, bookmark_interval=bookmark_interval)
        self.api.legacy = legacy if openshift else None
        self.api.olm = olm and operator and openshift
        self._want_mco = mco and openshift
        self.mco = None
        self.url: str | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> "FakeCluster":
        self.url = self.api.start()
        if self._want_mco:
            from .mco import SimulatedMCO  # written separately; imported lazily
            self.mco = SimulatedMCO(self.store, self.ocp_version)
            self.mco.start()
        return self

    def stop(self) -> None:
        if self.mco is not None:
            self.mco.stop()
            self.mco = None
        self.api.stop()
        self.store.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ------------------------------------------------------------------ client config
    @property
    def ca_file(self) -> str | None:
        return self._tls_files[2] if self._tls_files else None

    def kubeconfig_dict(self, context: str = "fake", namespace: str = "default") -> dict:
        cluster = {"server": self.url}
        if self.tls:
            with open(self.ca_file, "rb") as fh:
                cluster["certificate-authority-data"] = base64.b64encode(fh.read()).decode()
        return {
            "apiVersion": "v1", "kind": "Config", "preferences": {}, "current-context": context,
            "clusters": [{"name": context, "cluster": cluster}],
            "users": [{"name": context, "user": {"token": self.token}}],
            "contexts": [{"name": context, "context": {"cluster": context, "user": context,
                                                       "namespace": namespace}}],
        }

    def write_kubeconfig(self, path, context: str = "fake", namespace: str = "default"):
        with open(path, "w") as fh:
            yaml.safe_dump(self.kubeconfig_dict(context, namespace), fh, sort_keys=False)
        os.chmod(path, 0o600)
        return path

    def secret_values(self) -> list:
        """Strings that must never appear in plugin output or logs: the bearer token and the pull-secret
        credentials (raw, base64 auth, and the encoded .dockerconfigjson)."""
        out = [self.token, PULL_SECRET_PASSWORD, PULL_SECRET_AUTH]
        ps = self.store.get("Secret", "pull-secret", "openshift-config")
        if ps:
            out.extend(ps.get("data", {}).values())
        return out

    # ------------------------------------------------------------------ observation / fault injection
    @property
    def requests(self) -> list:
        return self.api.requests

    def reset_requests(self) -> None:
        self.api.reset_requests()

    def fail_next(self, method: str, path_regex: str, code: int, times: int | None = 1, message: str | None = None,
                  headers: dict | None = None, reason: str | None = None, query: dict | None = None):
        """Next ``times`` matching requests (None: all, until clear_faults) answer ``code`` with a Status body
        and ``headers`` (e.g. ``{"Retry-After": "1"}``); ``query`` narrows the match (``{"watch": "true"}``)."""
        self.api.fail_next(method, path_regex, code, times, message, headers=headers, reason=reason, query=query)

    def drop_next(self, method: str, path_regex: str, times: int | None = 1, after: bool = False):
        """Close the connection without an answer; ``after=True`` carries the request out first."""
        self.api.drop_next(method, path_regex, times, after)

    def delay(self, method: str, path_regex: str, seconds: float, times: int | None = None):
        self.api.delay(method, path_regex, seconds, times)

    def forbid(self, verb: str, plural: str) -> None:
        self.api.forbid(verb, plural)

    def allow(self, verb: str, plural: str) -> None:
        self.api.allow(verb, plural)

    def clear_faults(self) -> None:
        self.api.clear_faults()

    def compact(self) -> None:
        self.store.compact()

    def install_operator(self, installed: bool = True) -> None:
        """Serve (or stop serving) the kataconfiguration.openshift.io group."""
        self.api.operator = installed

    def boot_release_os_image(self, release: str = "4.16") -> None:
        """Make the release's OS image (ControllerConfig ``baseOSContainerImage``) the one the simulated nodes boot
        (tests/nodesim), as in a healthy pool, so node.os-image can pass."""
        from tests import nodesim

        cc = self.store.get("ControllerConfig", "machine-config-controller")
        cc["spec"]["baseOSContainerImage"] = nodesim.os_image_url(release)
        self.store.update(cc)
