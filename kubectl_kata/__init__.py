"""kubectl-kata: manage and diagnose OpenShift sandboxed containers through the RHCOS extension."""

__version__ = "0.1.0"
