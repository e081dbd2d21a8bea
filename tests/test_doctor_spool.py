"""The DaemonSet collector's spool (kubectl_kata.services.doctor.daemonset): each node's raw outputs on disk, what
stays in memory (item keys, ``uname-m``, the digest), parsing each distinct output set once with a bounded cache,
and the sink thread that takes finished nodes off the log-fetching threads."""
from __future__ import annotations

import os
import threading
import time

import pytest

from kubectl_kata.doctor.model import node_arches, raw_digest
from kubectl_kata.probe.backend import NodeProbeResult
from kubectl_kata.services.doctor import daemonset as ds
from tests import nodesim


def _raw(scenario="healthy", node="worker-0"):
    return dict(nodesim.make_node_raw(scenario, node=node))


def _res(node, raw):
    return NodeProbeResult(node=node, ok=True, raw=raw, error=None, reason="", stderr_tail="", duration_s=1.0,
                           command=["(API) GET pods/x/log"])


@pytest.fixture
def spool():
    s = ds.SpooledRecords()
    yield s
    s.close()


def test_keys_and_architecture_are_answered_without_reading_the_file(spool):
    raw = _raw()
    rec = ds.SpooledProbeRecord.from_probe(_res("worker-0", raw), spool=spool)
    path = rec.raw._path
    assert os.path.exists(path)
    os.unlink(path)                       # from here on, any read of the file fails
    assert rec.raw and len(rec.raw) == len(raw) and sorted(rec.raw) == sorted(raw) and "rpm-qa" in rec.raw
    assert node_arches({"worker-0": rec}) == {"worker-0": raw["uname-m"].stdout.decode().strip()}
    with pytest.raises(FileNotFoundError):
        rec.raw["rpm-qa"]                  # anything else is read back from disk, not kept


def test_outputs_round_trip_through_the_spool_byte_for_byte(spool):
    raw = _raw("version-skew", "worker-3")
    rec = ds.SpooledProbeRecord.from_probe(_res("worker-3", raw), spool=spool)
    assert dict(rec.raw.items()) == raw
    assert rec.raw.digest == raw_digest(raw)


def test_identical_outputs_are_parsed_once_and_the_cache_is_bounded(spool, monkeypatch):
    parsed = []
    real = ds.parse_facts

    def counting(raw):
        parsed.append(1)
        return real(raw)

    monkeypatch.setattr(ds, "parse_facts", counting)
    a = ds.SpooledProbeRecord.from_probe(_res("worker-0", _raw()), spool=spool)
    b = ds.SpooledProbeRecord.from_probe(_res("worker-1", _raw()), spool=spool)
    c = ds.SpooledProbeRecord.from_probe(_res("worker-2", _raw("no-kvm", "worker-2")), spool=spool)
    assert a.raw.digest == b.raw.digest != c.raw.digest
    fa, fb, fc = a.facts, b.facts, c.facts
    assert fa is fb and fa is not fc and len(parsed) == 2
    assert fa.arch and fa.installed("kata-containers")
    # more distinct output sets than the cache holds: the least recently used is dropped and parsed again
    monkeypatch.setattr(ds, "FACTS_CACHE", 2)
    d = ds.SpooledProbeRecord.from_probe(_res("worker-4", _raw("closure-missing", "worker-4")), spool=spool)
    assert d.facts is not None and len(parsed) == 3 and len(spool._facts) == 2
    assert a.facts is not fa and len(parsed) == 4


def test_an_unwritable_spool_keeps_the_node_in_memory(spool, tmp_path):
    records = {}
    handed = []
    raw = _raw()
    spool.close()                          # the spool's directory is gone: writing fails (as on a full disk)
    keep = ds._keeper(spool, records, lambda n, r: handed.append((n, r)))
    res = _res("worker-0", raw)
    keep(res)
    assert records["worker-0"].raw == raw and res.raw is None
    assert handed[0][0] == "worker-0" and handed[0][1].raw == raw


def test_sink_survives_a_failing_handler_and_drains_on_close():
    done = []

    def handle(item):
        if item == 2:
            raise RuntimeError("boom")
        time.sleep(0.01)
        done.append(item)

    sink = ds._Sink(handle, 2)
    for i in range(6):
        sink.put(i)
    sink.close()
    assert done == [0, 1, 3, 4, 5]
    sink.close()                           # closing twice is harmless


def test_sink_queue_is_bounded_so_fetchers_wait_instead_of_piling_up_outputs():
    gate = threading.Event()
    sink = ds._Sink(lambda item: gate.wait(), 2)
    for i in range(3):                     # one being handled, two queued
        sink.put(i)
    blocked = threading.Thread(target=sink.put, args=(3,), daemon=True)
    blocked.start()
    blocked.join(0.3)
    assert blocked.is_alive()              # the fourth waits for room
    gate.set()
    blocked.join(5)
    assert not blocked.is_alive()
    sink.close()
