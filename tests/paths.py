"""Where the shared reference material lives: `../shared` beside the checkout (as CI lays it out),
falling back to /work/shared on the developers' machines."""
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_CANDIDATES = [os.path.join(os.path.dirname(ROOT), "shared"), "/work/shared"]
SHARED = next((p for p in _CANDIDATES if os.path.isdir(os.path.join(p, "reference"))), _CANDIDATES[0])
SAMPLES = os.path.join(SHARED, "reference", "samples") + os.sep
CRDS = os.path.join(SHARED, "reference", "crds")
