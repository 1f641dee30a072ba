"""One timed run: start a system, watch its output until every record is there, stop it.

The clock starts at the first record, not at process start, so JVM and Python start-up,
connector start, the producer's first metadata fetch and the consumer group join are left
out: it starts at the first poll (every 10 ms until then) that sees a record (the topic's end
offsets for sources, the output file's line count for sinks), and only the records that
arrive after that poll count. It stops when all N are there (polled every 50 ms).

For a transactional system (case 4's exactly-once runs) the end offsets also count one commit
marker per transaction (at most one per 2,000 records), so the window closes up to 0.05%
early; what it delivered is then counted exactly, with ``read_committed``, after the stop.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.procs import Sample, cpu_at, peak_rss_mb, sample
from bench.systems import RunSpec, System

POLL = 0.05
FIRST_POLL = 0.01


class SourceWatcher:
    """Counts the records in a topic (sum of end offsets) and finds the first one's time."""

    def __init__(self, bootstrap: str, topic: str, partitions: int) -> None:
        from confluent_kafka import Consumer, TopicPartition

        self.topic = topic
        self._consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-watch",
                                   "enable.auto.commit": False})
        self._partitions = [TopicPartition(topic, p) for p in range(partitions)]
        self._last = 0

    def count(self) -> int:
        from confluent_kafka import KafkaException

        total = 0
        for tp in self._partitions:
            try:
                _, high = self._consumer.get_watermark_offsets(tp, timeout=5, cached=False)
            except KafkaException:
                # A new topic's leader may not be known yet; try again on the next poll.
                return self._last
            total += max(high, 0)
        self._last = total
        return total

    def close(self) -> None:
        self._consumer.close()


def committed_count(bootstrap: str, topic: str, partitions: int, timeout: float = 120) -> int:
    """Records a ``read_committed`` consumer reads from the start to the current end."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-count",
                         "enable.auto.commit": False, "isolation.level": "read_committed",
                         "enable.partition.eof": True})
    try:
        tps = [TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)]
        consumer.assign(tps)
        count, at_end = 0, set[int]()
        deadline = time.monotonic() + timeout
        while len(at_end) < partitions and time.monotonic() < deadline:
            for message in consumer.consume(10000, timeout=0.5):
                error = message.error()
                if error is None:
                    count += 1
                elif error.code() == KafkaError._PARTITION_EOF:
                    at_end.add(message.partition() or 0)
        return count
    finally:
        consumer.close()


class SinkWatcher:
    """Counts the lines appended to the output file so far."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._lines = 0

    def count(self) -> int:
        if self._fd is None:
            try:
                self._fd = os.open(self.path, os.O_RDONLY)
            except FileNotFoundError:
                return 0
        while True:
            chunk = os.read(self._fd, 8 << 20)
            if not chunk:
                return self._lines
            self._lines += chunk.count(b"\n")

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)


@dataclass
class RunResult:
    case: str
    system: str
    rep: int
    records: int
    bytes: int
    ok: bool = False
    error: str = ""
    records_seen: int = 0
    startup_s: float = 0.0      # process start -> first record
    elapsed_s: float = 0.0      # first record -> all N records
    records_per_s: float = 0.0
    mb_per_s: float = 0.0
    cpu_s: float = 0.0          # CPU of the worker tree during elapsed_s
    cpu_total_s: float = 0.0    # CPU from process start to the last record (with start-up)
    cpu_s_per_m: float = 0.0    # cpu_s per million records
    peak_rss_mb: float = 0.0
    stop_s: float = 0.0
    load_avg: float = 0.0       # 1-minute load average when the run started
    timeline: list[list[float]] = field(default_factory=list)  # [t, records, cpu]
    extra: dict[str, Any] = field(default_factory=dict)  # case-specific (failover phases)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def run_once(system: System, spec: RunSpec, rep: int, records: int, nbytes: int,
             timeout: float) -> RunResult:
    result = RunResult(spec.case.id, system.name, rep, records, nbytes,
                       load_avg=os.getloadavg()[0])
    watcher: SourceWatcher | SinkWatcher
    if spec.case.kind == "source":
        watcher = SourceWatcher(spec.bootstrap, spec.topic, spec.case.partitions)
    else:
        watcher = SinkWatcher(spec.path)
    samples: list[Sample] = []
    counts: list[int] = []
    proc = None
    try:
        proc = system.start(spec)
        deadline = time.monotonic() + timeout
        first_seen: float | None = None   # first poll that saw a record
        first_count = 0                   # records already there at that poll
        last_empty = proc.started         # last poll that saw none
        done = 0.0
        peak = 0.0
        while True:
            current = sample(proc.pid)
            count = watcher.count()
            samples.append(current)
            counts.append(count)
            peak = max(peak, current.rss_mb)
            if not count:
                last_empty = current.wall
            elif first_seen is None:
                first_seen, first_count = current.wall, count
            if count >= records:
                done = time.time()
                break
            if not proc.alive():
                raise RuntimeError(f"{system.name} exited early:\n{proc.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out after {timeout:.0f}s with {count}/{records} "
                                   f"records:\n{proc.log_tail()}")
            # Fine-grained until the first record, so the window's start is precise.
            time.sleep(POLL if first_seen else FIRST_POLL)
        peak = max(peak, peak_rss_mb(proc.pid))
        last = sample(proc.pid)
        samples.append(last)
        counts.append(count)
        measured = records
        if first_seen is not None and first_count < records:
            # Count only what arrived after the first poll that saw a record.
            first, measured = first_seen, records - first_count
        else:
            first = last_empty             # everything appeared at once: an upper bound
        result.elapsed_s = max(done - first, 1e-3)
        result.startup_s = first - proc.started
        result.cpu_s = last.cpu - cpu_at(samples, first)
        result.cpu_total_s = last.cpu
        result.records_per_s = measured / result.elapsed_s
        result.mb_per_s = nbytes * measured / records / result.elapsed_s / 1e6
        result.cpu_s_per_m = result.cpu_s / measured * 1e6
        result.peak_rss_mb = peak
        result.timeline = [[round(s.wall - proc.started, 3), c, round(s.cpu, 3)]
                           for s, c in zip(samples, counts, strict=True)]
        result.ok = True
    except Exception as exc:  # noqa: BLE001 - recorded as a failed run, the bench goes on
        result.error = str(exc)[-4000:]
    finally:
        if proc is not None:
            result.stop_s = proc.stop()
        try:
            # A little later, to see duplicates or records still in flight.
            result.records_seen = watcher.count()
            if system.transactional and isinstance(watcher, SourceWatcher):
                result.extra["end_offsets"] = result.records_seen
                result.records_seen = committed_count(spec.bootstrap, spec.topic,
                                                      spec.case.partitions)
        finally:
            watcher.close()
    return result
