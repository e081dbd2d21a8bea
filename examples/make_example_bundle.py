#!/usr/bin/env python3
"""Regenerate examples/bundle-drifted-node/: a doctor support bundle of a 3-node pool with one drifted node.

    python3 examples/make_example_bundle.py            # from the repository root

How: starts the loopback fake API server of tests/fakeapi (OpenShift 4.16.3, 3 workers), runs
`kubectl kata enable`, then `kubectl kata doctor --bundle` with the fake `oc` of tests/fakebin on PATH. The node
outputs come from tests/nodesim.py (derived from the reference samples listed there): worker-0 and worker-2 are
healthy, worker-1 runs an older qemu-kvm z-stream than the release's extensions repo ("version-skew"). The bundle
is unpacked into examples/bundle-drifted-node/ so it can be read on GitHub and re-analysed with

    kubectl kata doctor --from examples/bundle-drifted-node
"""
import json
import os
import shutil
import sys
import tarfile
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tests.clirunner import run_cli  # noqa: E402
from tests.enabled import enabled_cluster  # noqa: E402

OUT = os.path.join(ROOT, "examples", "bundle-drifted-node")


def main() -> int:
    tmp = tempfile.mkdtemp(prefix="kata-example-")
    try:
        fc = enabled_cluster(os.path.join(tmp, "kubeconfig"))
    except RuntimeError as exc:
        sys.stderr.write("%s\n" % exc)
        return 1
    kc = fc.kc
    try:
        ext = fc.ext_image
        scen, state = os.path.join(tmp, "scen"), os.path.join(tmp, "state")
        os.mkdir(scen)
        os.mkdir(state)
        with open(os.path.join(scen, "scenario.json"), "w") as fh:
            json.dump({"nodes": {"worker-1": {"scenario": "version-skew"}}, "default": {}, "release": {},
                       "images": {ext: {"release": "4.16", "arch": "x86_64"}}}, fh)
        env = {"PATH": os.path.join(ROOT, "tests", "fakebin") + os.pathsep + os.environ.get("PATH", ""),
               "FAKE_OC_SCENARIO_DIR": scen, "FAKE_OC_STATE_DIR": state}
        bundle = os.path.join(tmp, "bundle.tar.gz")
        res = run_cli(["doctor", "--bundle", bundle], kubeconfig=kc, environ=env)
        sys.stdout.write(res.stdout)
        if res.exit_code != 1:
            sys.stderr.write(res.stderr)
            return 1
        shutil.rmtree(OUT, ignore_errors=True)
        with tarfile.open(bundle) as tar:
            tar.extractall(tmp, filter="data") if hasattr(tarfile, "data_filter") else tar.extractall(tmp)
        shutil.move(os.path.join(tmp, "kata-doctor-bundle"), OUT)
        print("wrote %s" % OUT)
        return 0
    finally:
        fc.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
