"""Loopback fake Kubernetes/OpenShift API server for tests (FakeCluster is added in this package)."""
from .store import AlreadyExists, Conflict, Gone, Invalid, NotFound, ObjectStore, StoreError  # noqa: F401
