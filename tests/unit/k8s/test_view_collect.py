"""Collecting a snapshot from real parts: the embedded broker's file, the workers'
Prometheus multiprocess files written by real processes, a Redis that is not there."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from broker_bridge.config import Settings
from broker_bridge.publisher import Publisher
from broker_bridge.transport import sqlite
from k8s.dev.view import (
    MULTIPROC_ENV,
    NO_SUBSCRIPTIONS,
    SnapshotCollector,
    WatchedFunction,
    read_worker_counts,
    watched_functions,
)
from k8s.errors import MetricsUnavailable
from k8s.metrics import EmbeddedQueueStats, RedisQueueStats
from worker_runtime import function

_COUNT = textwrap.dedent(
    """
    import sys
    from worker_runtime.metrics import WorkerMetrics
    m = WorkerMetrics()
    for _ in range(int(sys.argv[1])):
        m.handled.labels(function="resize").inc()
    m.failed.labels(function="resize").inc(int(sys.argv[2]))
    m.dead_lettered.labels(function="mailer").inc()
    m.in_flight.labels(function="resize").set(1)
    """
)


def _count_in_a_process(directory: Path, handled: int, failed: int) -> None:
    env = {**os.environ, MULTIPROC_ENV: str(directory)}
    subprocess.run(
        [sys.executable, "-c", _COUNT, str(handled), str(failed)], env=env, check=True, timeout=120
    )


def test_worker_counts_are_summed_over_every_process_that_wrote_them(tmp_path):
    directory = tmp_path / "metrics"
    directory.mkdir()
    assert read_worker_counts(directory) == {}
    _count_in_a_process(directory, handled=3, failed=1)
    _count_in_a_process(directory, handled=4, failed=0)  # exited: its files still count
    counts = read_worker_counts(directory)
    assert counts is not None
    assert (counts["resize"].handled, counts["resize"].failed) == (7, 1)
    assert counts["mailer"].dead_lettered == 2
    assert counts["mailer"].handled == 0


def test_no_counter_directory_means_unknown_not_zero(tmp_path):
    assert read_worker_counts(tmp_path / "missing") is None


def _embedded(tmp_path: Path) -> str:
    sqlite.register()
    return f"sqlite://localhost/{tmp_path / 'broker.db'}"


def test_snapshot_of_the_embedded_broker(tmp_path, registry):
    url = _embedded(tmp_path)

    @function("resize", subscribe=[{"exact": {"type": "com.example.image"}}])
    def resize(event):
        return None

    @function("mailer")
    def mailer(event):
        return None

    counters = tmp_path / "metrics"
    counters.mkdir()
    _count_in_a_process(counters, handled=5, failed=0)
    with Publisher(url, settings=Settings(broker_url=url)) as publisher:
        publisher.publish_many(
            [{"type": "com.example.image", "source": "/t", "data": {"n": n}} for n in range(3)]
        )
        publisher.publish_to_function("resize", {"type": "x", "source": "/t"})
        publisher.publish_to_function("resize", {"type": "x", "source": "/t"})
    source = EmbeddedQueueStats(url)
    try:
        collector = SnapshotCollector(
            watched_functions(registry),
            source,
            url,
            counters_dir=counters,
            workers=lambda name: (2, 1) if name == "resize" else None,
        )
        snapshot = collector.collect(strict=True)
    finally:
        source.close()
    assert snapshot.source == "embedded"
    assert snapshot.sees_unacked is True
    assert (snapshot.bridge.ready, snapshot.bridge.unacked) == (3, 0)
    resize_row = snapshot.function("resize")
    assert resize_row is not None
    assert resize_row.subscriptions == "type = com.example.image"
    assert (resize_row.queue.ready, resize_row.workers, resize_row.busy) == (2, 2, 1)
    assert (resize_row.handled, resize_row.dead_letters) == (5, 0)
    mailer_row = snapshot.function("mailer")
    assert mailer_row is not None
    assert mailer_row.subscriptions == NO_SUBSCRIPTIONS
    assert mailer_row.workers is None  # the embedded broker does not count consumers
    assert mailer_row.handled == 0
    assert snapshot.depth == 5


def test_a_queue_that_cannot_be_read_is_a_problem_or_raises_when_strict(tmp_path):
    url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    source = RedisQueueStats(url, timeout=2.0)
    try:
        collector = SnapshotCollector([WatchedFunction("resize", "x")], source, url)
        snapshot = collector.collect()
        assert len(snapshot.problems) == 3  # the bridge's input, the queue, its dead letters
        assert all("cannot read queue" in problem for problem in snapshot.problems)
        assert snapshot.function("resize") is not None
        with pytest.raises(MetricsUnavailable, match=r"eventfn\.bridge"):
            collector.collect(strict=True)
    finally:
        source.close()


def test_set_functions_changes_the_rows_of_the_next_snapshot(tmp_path):
    url = _embedded(tmp_path)
    source = EmbeddedQueueStats(url)
    try:
        collector = SnapshotCollector([WatchedFunction("a", "x")], source, url)
        assert [row.name for row in collector.collect().functions] == ["a"]
        collector.set_functions([WatchedFunction("b", "y"), WatchedFunction("c", "z")])
        assert [row.name for row in collector.collect().functions] == ["b", "c"]
    finally:
        source.close()
