#!/usr/bin/env python3
"""Regenerate the offline examples of the README's `doctor --from` / `doctor diff` sections:

- examples/bundle-after-update/: a second `doctor --bundle` of the example cluster of
  examples/bundle-drifted-node (OpenShift 4.16.3, 3 workers, kata enabled by `kubectl kata enable`) after an
  update: the MCO re-applied the extension on worker-1 (its qemu-kvm z-stream is the release's again) and
  worker-2 has a staged deployment waiting for its reboot;
- examples/must-gather-drifted-node/: the must-gather a customer would send of the same cluster before the
  update (`oc adm must-gather --image=<default> --image=<the operator's must-gather image>`), in the real layout
  (see tests/fixtures/mustgather/README.md for the public sources it follows).

    python3 examples/make_offline_examples.py          # from the repository root

Same machinery as examples/make_example_bundle.py: the loopback fake API server of tests/fakeapi, the fake `oc`
of tests/fakebin, node outputs from tests/nodesim.py; the must-gather is written by tests/mustgather_sim.py from
the fake cluster's objects. Cluster objects and digests are fake.
"""
import json
import os
import shutil
import sys
import tarfile
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tests import mustgather_sim  # noqa: E402
from tests.clirunner import run_cli  # noqa: E402
from tests.enabled import enabled_cluster  # noqa: E402

AFTER = os.path.join(ROOT, "examples", "bundle-after-update")
MUSTGATHER = os.path.join(ROOT, "examples", "must-gather-drifted-node")
BEFORE_SCENARIOS = {"worker-0": "healthy", "worker-1": "version-skew", "worker-2": "healthy"}
AFTER_SCENARIOS = {"worker-0": "healthy", "worker-1": "healthy", "worker-2": "staged-pending"}


def main() -> int:
    tmp = tempfile.mkdtemp(prefix="kata-example-")
    try:
        fc = enabled_cluster(os.path.join(tmp, "kubeconfig"))
    except RuntimeError as exc:
        sys.stderr.write("%s\n" % exc)
        return 1
    kc = fc.kc
    try:
        # the must-gather of the cluster as it was (worker-1 drifted)
        shutil.rmtree(MUSTGATHER, ignore_errors=True)
        mustgather_sim.write_mustgather(MUSTGATHER, fc.store, BEFORE_SCENARIOS, run_id="8013482101",
                                        runtimeclasses=True)
        # the bundle after the update
        ext = fc.ext_image
        scen, state = os.path.join(tmp, "scen"), os.path.join(tmp, "state")
        os.mkdir(scen)
        os.mkdir(state)
        with open(os.path.join(scen, "scenario.json"), "w") as fh:
            json.dump({"nodes": {n: {"scenario": s} for n, s in AFTER_SCENARIOS.items() if s != "healthy"},
                       "default": {}, "release": {}, "images": {ext: {"release": "4.16", "arch": "x86_64"}}}, fh)
        env = {"PATH": os.path.join(ROOT, "tests", "fakebin") + os.pathsep + os.environ.get("PATH", ""),
               "FAKE_OC_SCENARIO_DIR": scen, "FAKE_OC_STATE_DIR": state}
        bundle = os.path.join(tmp, "bundle.tar.gz")
        res = run_cli(["doctor", "--bundle", bundle], kubeconfig=kc, environ=env)
        sys.stdout.write(res.stdout)
        if res.exit_code != 1:
            sys.stderr.write(res.stderr)
            return 1
        shutil.rmtree(AFTER, ignore_errors=True)
        with tarfile.open(bundle) as tar:
            tar.extractall(tmp, filter="data") if hasattr(tarfile, "data_filter") else tar.extractall(tmp)
        shutil.move(os.path.join(tmp, "kata-doctor-bundle"), AFTER)
        print("wrote %s and %s" % (AFTER, MUSTGATHER))
        return 0
    finally:
        fc.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
