"""Prometheus metrics of a worker. Tasks bind their labels once and count per batch."""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.metrics_core import Metric

_LABELS = ("connector", "task")
_LATENCY = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
_BATCH = (1, 10, 50, 100, 500, 1000, 2000, 5000, 10000)

SOURCE_POLLED = Counter("ferry_source_records_polled", "Records returned by a source task's poll.",
                        _LABELS)
SOURCE_WRITTEN = Counter("ferry_source_records_written",
                         "Source records handed to the producer after transforms.", _LABELS)
SINK_READ = Counter("ferry_sink_records_read", "Records consumed from Kafka by a sink task.",
                    _LABELS)
SINK_PUT = Counter("ferry_sink_records_put", "Records handed to a sink task's put.", _LABELS)
RECORDS_FAILED = Counter("ferry_records_failed",
                         "Records that failed a stage after retries (tolerated or not).",
                         (*_LABELS, "stage"))
DEAD_LETTER = Counter("ferry_dead_letter_records", "Records written to the dead letter topic.",
                      _LABELS)
FILTERED = Counter("ferry_records_filtered", "Records dropped by a transform.", _LABELS)
BATCH_SIZE = Histogram("ferry_batch_size_records", "Records per poll or put batch.",
                       (*_LABELS, "operation"), buckets=_BATCH)
LATENCY = Histogram("ferry_operation_duration_seconds",
                    "Duration of poll, put, flush and offset commit calls.",
                    (*_LABELS, "operation"), buckets=_LATENCY)
COMMIT_FAILURES = Counter("ferry_offset_commit_failures", "Offset commits that failed.", _LABELS)
TASK_STATE = Gauge("ferry_task_state", "1 for the state a task is in, 0 for the others.",
                   (*_LABELS, "state"))
CONNECTOR_STATE = Gauge("ferry_connector_state", "1 for the state a connector is in.",
                        ("connector", "state"))


@dataclass
class TaskMetrics:
    """The children of every metric for one task, looked up once."""

    connector: str
    task: str

    def __post_init__(self) -> None:
        labels = (self.connector, self.task)
        self.source_polled = SOURCE_POLLED.labels(*labels)
        self.source_written = SOURCE_WRITTEN.labels(*labels)
        self.sink_read = SINK_READ.labels(*labels)
        self.sink_put = SINK_PUT.labels(*labels)
        self.dead_letter = DEAD_LETTER.labels(*labels)
        self.filtered = FILTERED.labels(*labels)
        self.commit_failures = COMMIT_FAILURES.labels(*labels)
        self.poll_batch = BATCH_SIZE.labels(*labels, "poll")
        self.put_batch = BATCH_SIZE.labels(*labels, "put")
        self.poll_time = LATENCY.labels(*labels, "poll")
        self.put_time = LATENCY.labels(*labels, "put")
        self.flush_time = LATENCY.labels(*labels, "flush")
        self.commit_time = LATENCY.labels(*labels, "commit")

    def failed(self, stage: str) -> Any:
        return RECORDS_FAILED.labels(self.connector, self.task, stage)

    def state(self, state: str, all_states: list[str]) -> None:
        for name in all_states:
            TASK_STATE.labels(self.connector, self.task, name).set(1 if name == state else 0)


class MergedRegistry:
    """This process's metrics plus the ones task processes report, as one scrape.

    A task in a process of its own (``task.isolation=process``) counts in its own registry
    and sends its ``ferry_*`` families over; each scrape merges their samples into this
    process's families of the same name, so ``/metrics`` has one family per name, as the
    exposition format requires.
    """

    def __init__(self, local: Any = REGISTRY) -> None:
        self._local = local
        self._lock = threading.Lock()
        self._reported: dict[str, list[Metric]] = {}

    def report(self, source: str, families: list[Metric]) -> None:
        """The latest families of one task process (replacing what it sent before)."""
        with self._lock:
            self._reported[source] = families

    def collect(self) -> Iterator[Metric]:
        merged = {family.name: family for family in self._local.collect()}
        with self._lock:
            reported = [f for families in self._reported.values() for f in families]
        for family in reported:
            mine = merged.get(family.name)
            if mine is None:
                # A copy: the next report's samples are added to it, not to this snapshot.
                mine = merged[family.name] = copy.copy(family)
                mine.samples = list(family.samples)
            elif mine.type == family.type:
                mine.samples.extend(family.samples)
        yield from merged.values()


def ferry_families(registry: Any = REGISTRY) -> list[Metric]:
    """This process's ``ferry_*`` families (what a task process reports)."""
    families: Iterable[Metric] = registry.collect()
    return [f for f in families if f.name.startswith("ferry_") and f.samples]


METRICS = MergedRegistry()
"""What ``/metrics`` serves."""
