"""pytest plugin: fixtures that start loopback fake API servers (registered in tests/conftest.py)."""
from __future__ import annotations

import pytest

from . import FakeCluster


@pytest.fixture
def make_fake_cluster():
    """Factory: ``make_fake_cluster(**FakeCluster kwargs)`` -> started FakeCluster; all stopped at teardown."""
    started = []

    def factory(**kw) -> FakeCluster:
        fc = FakeCluster(**kw)
        fc.start()
        started.append(fc)
        return fc

    yield factory
    for fc in reversed(started):
        fc.stop()


@pytest.fixture
def fake_cluster(make_fake_cluster) -> FakeCluster:
    """A started OCP 4.16 fake cluster (3 masters, 3 workers) over HTTPS with the simulated MCO running."""
    return make_fake_cluster()


@pytest.fixture
def fake_kubeconfig(fake_cluster, tmp_path) -> str:
    """Path of a kubeconfig (context ``fake``, namespace ``default``) pointing at ``fake_cluster``."""
    return str(fake_cluster.write_kubeconfig(tmp_path / "kubeconfig"))
