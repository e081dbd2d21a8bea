"""A started fake cluster with kata enabled by the real CLI: the set-up the doctor tests and examples share."""
from __future__ import annotations

from tests.clirunner import run_cli
from tests.fakeapi import FakeCluster

EXTENSIONS_IMAGE_CM = ("machine-config-osimageurl", "openshift-machine-config-operator")


def enabled_cluster(kubeconfig_path, workers: int = 3, release: str = "4.16") -> FakeCluster:
    """OCP 4.16.3 with ``workers`` workers, the nodes booting the release OS image, kata enabled on `worker` by
    `kubectl kata enable`. ``fc.kc`` is the kubeconfig written to ``kubeconfig_path`` (a str), ``fc.ext_image``
    the release's extensions image. Raises RuntimeError (after stopping the cluster) when enable fails."""
    fc = FakeCluster(workers=workers).start()
    try:
        kc = str(fc.write_kubeconfig(kubeconfig_path))
        fc.boot_release_os_image(release)
        res = run_cli(["enable", "--timeout", "60s"], kubeconfig=kc)
        if res.exit_code != 0:
            raise RuntimeError("enable failed (%d): %s" % (res.exit_code, res.stderr))
    except BaseException:
        fc.stop()
        raise
    fc.kc = kc
    fc.ext_image = fc.store.get("ConfigMap", *EXTENSIONS_IMAGE_CM)["data"]["baseOSExtensionsContainerImage"]
    return fc
