"""pytest fixture ``fake_oc``: the fake ``oc``/``kubectl`` of this directory first on PATH.

Usage::

    def test_x(fake_oc):
        fake_oc.configure(nodes={"w1": {}, "w2": {"behaviour": "hang"}})
        ...                       # run code that calls `oc` / `kubectl`
        assert fake_oc.live_pods() == []
        assert fake_oc.count("oc", "debug") == 2

See README.md here for the scenario format and the recorded events.
"""
import json
import os

import pytest

FAKEBIN = os.path.dirname(os.path.abspath(__file__))


class FakeOc:
    def __init__(self, scenario_dir, state_dir):
        self.scenario_dir = str(scenario_dir)
        self.state_dir = str(state_dir)
        self.configure()

    def configure(self, nodes=None, default=None, release=None, images=None, strict_nodes=False, releases=None):
        data = {"nodes": nodes or {}, "default": default or {}, "release": release or {},
                "images": images or {}, "strict_nodes": bool(strict_nodes)}
        if releases:
            data["releases"] = releases
        with open(os.path.join(self.scenario_dir, "scenario.json"), "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2)

    def _read(self, name):
        path = os.path.join(self.state_dir, name)
        if not os.path.exists(path):
            return []
        with open(path, encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]

    def events(self, kind=None):
        return [e for e in self._read("events.jsonl") if kind is None or e["event"] == kind]

    def invocations(self, tool=None, verb=None):
        out = []
        for inv in self._read("invocations.jsonl"):
            if tool is not None and inv["tool"] != tool:
                continue
            if verb is not None and verb not in inv["argv"][1:]:
                continue
            out.append(inv)
        return out

    def count(self, tool, verb):
        return len(self.invocations(tool, verb))

    def live_pods(self):
        """(namespace, pod) created by a fake and never deleted."""
        created = [(e["namespace"], e["pod"]) for e in self.events("pod-create")]
        deleted = {(e["namespace"], e["pod"]) for e in self.events("pod-delete")}
        return [p for p in created if p not in deleted]


@pytest.fixture
def fake_oc(tmp_path, monkeypatch):
    scen = tmp_path / "fake-oc-scenario"
    state = tmp_path / "fake-oc-state"
    scen.mkdir()
    state.mkdir()
    monkeypatch.setenv("PATH", FAKEBIN + os.pathsep + os.environ.get("PATH", ""))
    monkeypatch.setenv("FAKE_OC_SCENARIO_DIR", str(scen))
    monkeypatch.setenv("FAKE_OC_STATE_DIR", str(state))
    return FakeOc(scen, state)
