"""Case 5, failover: three workers run one connector's six sequence tasks; one is killed.

Each repetition starts a fresh cluster of three workers, waits until all six tasks produce,
then ``SIGKILL``s one worker that runs tasks (not the connector, when there is a choice),
waits until every task produces again, starts a replacement worker and waits until it has
tasks, then ``SIGTERM``s another such worker. Every task emits ``"task:seq:payload"`` at a
fixed rate (Ferry's DataGen with ``value.shape=string``; for Kafka Connect the
``dev.ferry.bench.SequenceSourceConnector`` of ``maven/sequence-source``), so the topic
itself tells when each task ran: a consumer in the harness reads every record with its
producer timestamp. Afterwards, per signal and per task, the task's outage is the longest
silence in its records that ends after the signal (silences under 0.5 s count as none), and
"every task running again" is the end of the last task's outage, from the signal. Each
task's sequence must have no gap over the whole run; duplicates (at-least-once replays from
the last committed offset) are counted.
"""

from __future__ import annotations

import contextlib
import os
import signal
import statistics
import threading
import time
import urllib.request
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bench import connect
from bench.procs import Proc, peak_rss_mb, sample
from bench.settings import (
    OFFSET_FLUSH_INTERVAL_MS,
    FailoverSettings,
    java_producer,
    librdkafka_producer,
)
from bench.systems import SYSTEMS, System, _ferry_bin, ferry_worker_available
from ferry_stack.ports import free_port

NOISE_S = 0.5        # a task silent for less than this was not interrupted
LIVE_S = 0.5         # "producing now": a record this recent
BIN_S = 0.25         # timeline resolution
SIGNALS = (("SIGKILL", signal.SIGKILL), ("SIGTERM", signal.SIGTERM))


@dataclass
class Cluster:
    """One repetition's connector and the names its workers use."""

    bootstrap: str
    topic: str
    name: str
    workdir: Path
    settings: FailoverSettings
    workers: dict[str, Proc] = field(default_factory=dict)   # worker key -> process
    stopped: set[str] = field(default_factory=set)            # signalled workers


class FailoverSystem(System):
    mode = "distributed"
    dedicated = True
    kind = ""        # "ferry" or "connect"
    # A repetition is a fresh three-worker cluster and two recoveries (~1-2 min): two
    # repetitions keep case 5 within ~10 minutes of `make bench`.
    max_reps = 2

    def setup(self, cluster: Cluster) -> None:
        """Before the first worker starts."""

    def start_worker(self, cluster: Cluster, index: int) -> tuple[str, Proc]:
        raise NotImplementedError

    def after_start(self, cluster: Cluster) -> None:
        """Once the first workers run (Kafka Connect: create the connector)."""

    def owners(self, cluster: Cluster) -> tuple[str | None, dict[int, str]]:
        """The worker running the connector and the worker of each task (by worker key)."""
        raise NotImplementedError

    def leader(self, cluster: Cluster) -> str | None:
        """The worker that computes assignments, if the framework has one."""
        return None

    def teardown(self, cluster: Cluster) -> None:
        """After every worker stopped: delete what the run created."""

    def settings_json(self, settings: FailoverSettings) -> dict[str, Any]:
        return {}


def _http_json(url: str, timeout: float = 2.0) -> Any:
    import json

    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


class FerryCluster(FailoverSystem):
    kind = "ferry"

    def __init__(self, group_protocol: str = "classic") -> None:
        self.group_protocol = group_protocol
        if group_protocol == "consumer":
            self.name = "ferry-3w-kip848"
            self.label = "Ferry, 3 workers, KIP-848 (group.protocol=consumer)"
        else:
            self.name = "ferry-3w"
            self.label = "Ferry, 3 workers, cooperative-sticky (classic protocol)"
        self._ports: dict[str, int] = {}

    def available(self) -> tuple[bool, str]:
        return ferry_worker_available()

    def connector_id(self, cluster: Cluster) -> str:
        return f"bench/{cluster.name}"

    def connector_config(self, cluster: Cluster) -> dict[str, str]:
        s = cluster.settings
        return {
            "connector.class": "DataGen", "topic": cluster.topic,
            "records.per.second": str(s.rate_per_task), "value.shape": "string",
            "value.size": str(s.value_bytes),
            "key.converter": "org.apache.kafka.connect.storage.StringConverter",
            "value.converter": "org.apache.kafka.connect.storage.StringConverter",
            "offset.flush.interval.ms": str(OFFSET_FLUSH_INTERVAL_MS),
            **{f"producer.override.{k}": v for k, v in librdkafka_producer().items()},
        }

    def setup(self, cluster: Cluster) -> None:
        from ferry import control, protocol

        client = {"bootstrap.servers": cluster.bootstrap}
        control.ensure_internal_topics(client)
        if self.group_protocol == "consumer":
            # KIP-848: the session timeout is the group's (broker-side), not the member's.
            s = cluster.settings
            _set_group_config(cluster.bootstrap, protocol.units_group(self.connector_id(cluster)),
                              {"consumer.session.timeout.ms": str(s.session_timeout_ms),
                               "consumer.heartbeat.interval.ms": str(s.heartbeat_interval_ms)})
        writer = control.ControlClient(client)
        try:
            writer.put_connector(self.connector_id(cluster), self.connector_config(cluster),
                                 tasks_max=cluster.settings.tasks)
        finally:
            writer.close()

    def start_worker(self, cluster: Cluster, index: int) -> tuple[str, Proc]:
        key = f"{cluster.name}-w{index}"
        port = free_port()
        self._ports[key] = port
        argv = [_ferry_bin(), "worker", "--connector", self.connector_id(cluster),
                "--bootstrap-servers", cluster.bootstrap, "--worker-id", key,
                "--http-port", str(port), "--group-protocol", self.group_protocol,
                "--session-timeout-ms", str(cluster.settings.session_timeout_ms)]
        workdir = cluster.workdir / key
        workdir.mkdir(parents=True, exist_ok=True)
        return key, Proc(self.name, argv, workdir / "worker.log", cwd=workdir)

    def owners(self, cluster: Cluster) -> tuple[str | None, dict[int, str]]:
        connector: str | None = None
        tasks: dict[int, str] = {}
        for key, proc in cluster.workers.items():
            if key in cluster.stopped or not proc.alive():
                continue
            try:
                status = _http_json(f"http://127.0.0.1:{self._ports[key]}/status")
            except (OSError, ValueError):
                continue
            running = {t["id"] for t in status.get("tasks", []) if t.get("state") == "RUNNING"}
            for unit in status.get("worker", {}).get("units", []):
                if unit == 0:
                    connector = key
                elif unit - 1 in running:
                    tasks[unit - 1] = key
        return connector, tasks

    def teardown(self, cluster: Cluster) -> None:
        from ferry import control, protocol

        writer = control.ControlClient({"bootstrap.servers": cluster.bootstrap})
        try:
            writer.delete_connector(self.connector_id(cluster))
        finally:
            writer.close()
        from bench.run import delete_topics

        delete_topics(cluster.bootstrap, [protocol.units_topic(self.connector_id(cluster))])

    def settings_json(self, settings: FailoverSettings) -> dict[str, Any]:
        if self.group_protocol == "consumer":
            return {"group.protocol": "consumer",
                    "group config consumer.session.timeout.ms": settings.session_timeout_ms,
                    "group config consumer.heartbeat.interval.ms":
                        settings.heartbeat_interval_ms}
        return {"group.protocol": "classic (cooperative-sticky)",
                "session.timeout.ms": settings.session_timeout_ms,
                "heartbeat.interval.ms": max(100, settings.session_timeout_ms // 10)}


def _set_group_config(bootstrap: str, group: str, values: dict[str, str]) -> None:
    from confluent_kafka.admin._config import AlterConfigOpType, ConfigEntry, ConfigResource
    from confluent_kafka.admin._resource import ResourceType

    from bench.run import _admin

    resource = ConfigResource(ResourceType.GROUP, group, incremental_configs=[
        ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET)
        for k, v in values.items()])
    for future in _admin(bootstrap).incremental_alter_configs([resource]).values():
        future.result(timeout=30)


class ConnectCluster(FailoverSystem):
    kind = "connect"

    def __init__(self, delay0: bool) -> None:
        self.delay0 = delay0
        if delay0:
            self.name = "connect-3w-delay0"
            self.label = "Kafka Connect, 3 workers, scheduled.rebalance.max.delay.ms=0"
        else:
            self.name = "connect-3w-defaults"
            self.label = "Kafka Connect, 3 workers, defaults (scheduled.rebalance.max.delay.ms" \
                         "=300000)"
            # Every repetition waits out the same 300 s hold (or the harness's limit).
            self.max_reps = 1
        self._urls: dict[str, str] = {}

    def available(self) -> tuple[bool, str]:
        connect.ensure_connect_jars()
        connect.ensure_sequence_source()
        return True, ""

    def worker_props(self, cluster: Cluster, port: int) -> dict[str, str]:
        s = cluster.settings
        props = {
            "bootstrap.servers": cluster.bootstrap,
            "listeners": f"http://127.0.0.1:{port}",
            "plugin.discovery": "service_load",
            "group.id": f"cluster-{cluster.name}",
            "config.storage.topic": f"{cluster.name}-configs",
            "offset.storage.topic": f"{cluster.name}-offsets",
            "status.storage.topic": f"{cluster.name}-status",
            "config.storage.replication.factor": "1",
            "offset.storage.replication.factor": "1",
            "status.storage.replication.factor": "1",
            "key.converter": "org.apache.kafka.connect.storage.StringConverter",
            "value.converter": "org.apache.kafka.connect.storage.StringConverter",
            "offset.flush.interval.ms": str(OFFSET_FLUSH_INTERVAL_MS),
            "session.timeout.ms": str(s.session_timeout_ms),
            "heartbeat.interval.ms": str(s.heartbeat_interval_ms),
            **{f"producer.{k}": v for k, v in java_producer().items()},
        }
        if self.delay0:
            props["scheduled.rebalance.max.delay.ms"] = "0"
        return props

    def start_worker(self, cluster: Cluster, index: int) -> tuple[str, Proc]:
        port = free_port()
        key = f"127.0.0.1:{port}"   # Kafka Connect's worker_id
        self._urls[key] = f"http://{key}"
        workdir = cluster.workdir / f"w{index}"
        workdir.mkdir(parents=True, exist_ok=True)
        props = connect.write_properties(workdir / "worker.properties",
                                         self.worker_props(cluster, port))
        argv = connect.java_command("org.apache.kafka.connect.cli.ConnectDistributed", workdir,
                                    str(props), classpath=(connect.ensure_sequence_source(),))
        return key, Proc(self.name, argv, workdir / "worker.log", cwd=workdir)

    def after_start(self, cluster: Cluster) -> None:
        s = cluster.settings
        key, proc = next(iter(cluster.workers.items()))
        config = {"name": cluster.name, "connector.class": connect.SEQUENCE_CONNECTOR,
                  "tasks.max": str(s.tasks), "topic": cluster.topic,
                  "records.per.second": str(s.rate_per_task), "value.size": str(s.value_bytes)}
        connect.create_connector(self._urls[key], config, proc.alive)

    def owners(self, cluster: Cluster) -> tuple[str | None, dict[int, str]]:
        for key, proc in cluster.workers.items():
            if key in cluster.stopped or not proc.alive():
                continue
            try:
                code, status = connect.rest("GET", f"{self._urls[key]}/connectors/"
                                            f"{cluster.name}/status", timeout=2)
            except OSError:
                continue
            if code != 200 or not isinstance(status, dict):
                continue
            connector = status.get("connector", {})
            tasks = {int(t["id"]): t["worker_id"] for t in status.get("tasks", [])
                     if t.get("state") == "RUNNING"}
            owner = connector.get("worker_id") if connector.get("state") == "RUNNING" else None
            # The status topic lags: a task last seen on a stopped worker is not running.
            live = {k for k, p in cluster.workers.items()
                    if k not in cluster.stopped and p.alive()}
            return (owner if owner in live else None,
                    {t: w for t, w in tasks.items() if w in live})
        return None, {}

    def leader(self, cluster: Cluster) -> str | None:
        # The last "Joined group ... leaderUrl='http://host:port/'" any live worker logged.
        import re

        latest: tuple[str, str] | None = None
        for key, proc in cluster.workers.items():
            if key in cluster.stopped or not proc.alive():
                continue
            log = proc.log_path.with_name("connect.log")
            try:
                text = log.read_text(errors="replace")
            except OSError:
                continue
            for match in re.finditer(r"^\[([^\]]+)\].*Joined group at generation.*?"
                                     r"leaderUrl='http://([^/']+)/'", text, re.M):
                if latest is None or match.group(1) > latest[0]:
                    latest = (match.group(1), match.group(2))
        return latest[1] if latest else None

    def teardown(self, cluster: Cluster) -> None:
        from bench.run import delete_topics

        delete_topics(cluster.bootstrap, [f"{cluster.name}-{t}"
                                          for t in ("configs", "offsets", "status")])

    def settings_json(self, settings: FailoverSettings) -> dict[str, Any]:
        return {"session.timeout.ms": settings.session_timeout_ms,
                "heartbeat.interval.ms": settings.heartbeat_interval_ms,
                "scheduled.rebalance.max.delay.ms": 0 if self.delay0 else "300000 (default)"}


FAILOVER_SYSTEMS: list[System] = [FerryCluster("classic"), FerryCluster("consumer"),
                                  ConnectCluster(delay0=True), ConnectCluster(delay0=False)]
SYSTEMS.extend(s for s in FAILOVER_SYSTEMS if s.name not in {x.name for x in SYSTEMS})


# The topic, read as it is written --------------------------------------------------------

class Tail:
    """Reads the topic from the start in a thread: every task's (timestamp s, seq)."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

        self._consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-tail",
                                   "enable.auto.commit": False, "fetch.wait.max.ms": 50})
        self._consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        self._topic = topic
        self._bootstrap = bootstrap
        self.records: dict[int, list[tuple[float, int]]] = defaultdict(list)
        self.count = 0
        self.position = 0
        self.malformed = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-tail", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for message in self._consumer.consume(5000, timeout=0.1):
                if message.error() is not None:
                    continue
                value = message.value() or b""
                parts = value.split(b":", 2)
                try:
                    task, seq = int(parts[0]), int(parts[1])
                except (ValueError, IndexError):
                    self.malformed += 1
                    continue
                with self._lock:
                    self.records[task].append((message.timestamp()[1] / 1000, seq))
                    self.count += 1
                    self.position = (message.offset() or 0) + 1

    def latest(self) -> dict[int, float]:
        with self._lock:
            return {t: r[-1][0] for t, r in self.records.items() if r}

    def drain(self, timeout: float = 30) -> None:
        """Wait until everything in the topic now has been read."""
        from confluent_kafka import Consumer, TopicPartition

        # Another client: this one's consume() runs in the thread.
        probe = Consumer({"bootstrap.servers": self._bootstrap, "group.id": "bench-tail-end"})
        try:
            _, high = probe.get_watermark_offsets(TopicPartition(self._topic, 0), timeout=10,
                                                  cached=False)
        finally:
            probe.close()
        deadline = time.monotonic() + timeout
        while self.position < high and time.monotonic() < deadline:
            time.sleep(0.1)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._consumer.close()


# One repetition ----------------------------------------------------------------------------

@dataclass
class Phase:
    signal: str
    t0: float                        # wall time of the signal
    victim: str
    victim_tasks: list[int]
    victim_had_connector: bool
    victim_was_leader: bool = False
    end: float = 0.0                 # the analysis window ends here
    live_recovered_s: float | None = None   # when the harness saw every task producing


class FailoverRun:
    def __init__(self, system: FailoverSystem, cluster: Cluster, log: Any) -> None:
        self.system = system
        self.cluster = cluster
        self.log = log
        self.tail = Tail(cluster.bootstrap, cluster.topic)
        self.cpu: dict[str, float] = {}
        self.rss: dict[str, float] = {}
        self.index = 0

    def _sample(self) -> None:
        for key, proc in self.cluster.workers.items():
            if proc.alive():
                current = sample(proc.pid)
                self.cpu[key] = max(self.cpu.get(key, 0.0), current.cpu)
                self.rss[key] = max(self.rss.get(key, 0.0), current.rss_mb,
                                    peak_rss_mb(proc.pid))

    def _add_worker(self) -> None:
        key, proc = self.system.start_worker(self.cluster, self.index)
        self.index += 1
        self.cluster.workers[key] = proc

    def _live(self) -> list[str]:
        return [k for k, p in self.cluster.workers.items()
                if k not in self.cluster.stopped and p.alive()]

    def _check_alive(self) -> None:
        dead = [k for k, p in self.cluster.workers.items()
                if k not in self.cluster.stopped and not p.alive()]
        if dead:
            raise RuntimeError(f"worker {dead[0]} exited:\n"
                               f"{self.cluster.workers[dead[0]].log_tail()}")

    def _producing(self, since: float) -> bool:
        """Every task produced a record after ``since`` and within the last LIVE_S."""
        latest = self.tail.latest()
        now = time.time()
        return len(latest) == self.cluster.settings.tasks and all(
            ts >= since and ts >= now - LIVE_S for ts in latest.values())

    def wait_balanced(self, timeout: float, since: float) -> bool:
        """Every task running on a live worker, every live worker with a task, producing."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            self._sample()
            _, tasks = self.system.owners(self.cluster)
            live = set(self._live())
            if (len(tasks) == self.cluster.settings.tasks and set(tasks.values()) == live
                    and self._producing(since)):
                return True
            time.sleep(0.2)
        return False

    def victim(self) -> tuple[str, list[int], bool, bool]:
        """A worker running tasks; not the connector's nor Kafka Connect's group leader when
        there is a choice (a new leader knows no earlier assignment and reassigns a dead
        worker's tasks at once, whatever scheduled.rebalance.max.delay.ms says)."""
        connector, tasks = self.system.owners(self.cluster)
        leader = self.system.leader(self.cluster)
        by_worker: dict[str, list[int]] = defaultdict(list)
        for task, worker in sorted(tasks.items()):
            by_worker[worker].append(task)
        candidates = sorted(by_worker, key=lambda w: (w == leader, w == connector,
                                                       -len(by_worker[w]), min(by_worker[w])))
        if not candidates:
            raise RuntimeError("no worker runs a task")
        chosen = candidates[0]
        return chosen, by_worker[chosen], chosen == connector, chosen == leader

    def signal_phase(self, name: str, signum: int) -> Phase:
        s = self.cluster.settings
        key, tasks, had_connector, was_leader = self.victim()
        proc = self.cluster.workers[key]
        self._sample()
        phase = Phase(name, time.time(), key, tasks, had_connector, was_leader)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signum)
        self.cluster.stopped.add(key)
        self.log(f"  {name} {key} (tasks {tasks}{', connector' if had_connector else ''}"
                 f"{', group leader' if was_leader else ''})")
        limit = s.session_timeout_ms / 1000 + s.wait_s
        while time.time() - phase.t0 < limit:
            self._check_alive()
            self._sample()
            # Past the old owner's last records (SIGTERM stops its tasks within ~1 s).
            if time.time() - phase.t0 > 1.5 and self._producing(phase.t0):
                phase.live_recovered_s = time.time() - phase.t0
                break
            time.sleep(0.1)
        if phase.live_recovered_s is None:
            self.log(f"  not every task produced again within {limit:.0f}s")
        else:
            self.log(f"  every task producing again after ~{phase.live_recovered_s:.1f}s")
        time.sleep(s.observe_s)
        phase.end = time.time()
        return phase

    def run(self) -> tuple[list[Phase], float, float]:
        """Start, SIGKILL, replace, SIGTERM. (phases, time of the first record, start-up s)."""
        s = self.cluster.settings
        started = time.time()
        self.system.setup(self.cluster)
        for _ in range(s.workers):
            self._add_worker()
        self.system.after_start(self.cluster)
        if not self.wait_balanced(120, started):
            raise RuntimeError(f"the {s.workers} workers never ran all {s.tasks} tasks:\n"
                               + self.logs())
        startup = time.time() - started
        time.sleep(s.steady_s)
        phases = [self.signal_phase(*SIGNALS[0])]
        replaced = time.time()
        self._add_worker()
        if not self.wait_balanced(60 + s.session_timeout_ms / 1000, replaced):
            self.log("  the replacement worker got no task within the limit; going on")
        time.sleep(s.steady_s)
        phases.append(self.signal_phase(*SIGNALS[1]))
        return phases, started, startup

    def logs(self) -> str:
        return "\n".join(f"== {k}\n{p.log_tail(15)}" for k, p in self.cluster.workers.items())

    def stop(self) -> float:
        self._sample()
        took = 0.0
        for key, proc in self.cluster.workers.items():
            if key not in self.cluster.stopped:
                took = max(took, proc.stop())
        for key in self.cluster.stopped:
            self.cluster.workers[key].stop(grace=10)
        return took


# Analysis ----------------------------------------------------------------------------------

def task_outage(records: list[tuple[float, int]], t0: float, end: float) -> float | None:
    """Seconds from ``t0`` until the task's longest silence (after t0) ended; 0 if none."""
    times = sorted(ts for ts, _ in records if t0 - 2 <= ts <= end)
    if not times or times[-1] < end - NOISE_S:
        return None          # silent at the end of the window: not running again
    best_gap, resumed = 0.0, 0.0
    previous = min(times[0], t0)
    for ts in times:
        if ts > t0 and ts - previous > best_gap:
            best_gap, resumed = ts - previous, ts - t0
        previous = ts
    return resumed if best_gap >= NOISE_S else 0.0


def sequence_check(records: dict[int, list[tuple[float, int]]], tasks: int
                   ) -> tuple[list[str], int]:
    """Problems (gaps, missing tasks) and the number of duplicate records."""
    problems: list[str] = []
    duplicates = 0
    for task in range(tasks):
        seqs = [seq for _, seq in records.get(task, [])]
        if not seqs:
            problems.append(f"task {task} produced nothing")
            continue
        distinct = set(seqs)
        duplicates += len(seqs) - len(distinct)
        missing = max(distinct) + 1 - len(distinct)
        if min(distinct) != 0 or missing:
            problems.append(f"task {task}: {missing} sequence numbers missing "
                            f"(first {min(distinct)}, last {max(distinct)})")
    return problems, duplicates


def timeline(records: dict[int, list[tuple[float, int]]], t0: float, start: float,
             end: float) -> list[list[float]]:
    """[seconds since t0, records/s of all tasks] in BIN_S bins over [start, end]."""
    bins = int((end - start) / BIN_S) + 1
    counts = [0] * bins
    for rows in records.values():
        for ts, _ in rows:
            i = int((ts - start) / BIN_S)
            if 0 <= i < bins:
                counts[i] += 1
    return [[round(start - t0 + i * BIN_S, 3), c / BIN_S] for i, c in enumerate(counts)]


def goal_s(signal_name: str, settings: FailoverSettings) -> float:
    """The issue's goal: SIGKILL within the session timeout + 2 s, SIGTERM within 2 s."""
    return (settings.session_timeout_ms / 1000 if signal_name == "SIGKILL" else 0.0) + 2.0


def run_failover(system: FailoverSystem, bootstrap: str, name: str, workdir: Path,
                 settings: FailoverSettings, rep: int, log: Any) -> Any:
    """One repetition; a RunResult whose ``extra`` holds the phases."""
    from bench.measure import RunResult
    from bench.run import create_topic, delete_topics

    topic = name
    create_topic(bootstrap, topic, 1)
    cluster = Cluster(bootstrap, topic, name, workdir, settings)
    result = RunResult("failover", system.name, rep, 0, 0, load_avg=os.getloadavg()[0])
    runner: FailoverRun | None = None
    phases: list[Phase] = []
    first = 0.0
    try:
        runner = FailoverRun(system, cluster, log)
        phases, first, result.startup_s = runner.run()
    except Exception as exc:  # noqa: BLE001 - recorded as a failed run, the bench goes on
        result.error = str(exc)[-4000:]
        if runner is not None:
            result.error += "\n" + runner.logs()[-3000:]
    finally:
        if runner is not None:
            result.stop_s = runner.stop()
            runner.tail.drain()
            runner.tail.close()
        with contextlib.suppress(Exception):
            system.teardown(cluster)
        delete_topics(bootstrap, [topic])
    if runner is None:
        return result
    records = runner.tail.records
    total = runner.tail.count
    problems, duplicates = sequence_check(records, settings.tasks)
    last = max((r[-1][0] for r in records.values() if r), default=first)
    stamps = [r[0][0] for r in records.values() if r]
    begin = min(stamps) if stamps else first
    result.records = result.records_seen = total
    result.bytes = total * settings.value_bytes
    result.elapsed_s = max(last - begin, 1e-3)
    result.records_per_s = total / result.elapsed_s
    result.mb_per_s = result.bytes / result.elapsed_s / 1e6
    result.cpu_s = result.cpu_total_s = sum(runner.cpu.values())
    result.cpu_s_per_m = result.cpu_s / total * 1e6 if total else 0.0
    result.peak_rss_mb = max(runner.rss.values(), default=0.0)   # one worker process
    phase_json = []
    for i, phase in enumerate(phases):
        per_task = {task: task_outage(rows, phase.t0, phase.end)
                    for task, rows in sorted(records.items())}
        values = list(per_task.values())
        every = (None if any(v is None for v in values) or len(values) < settings.tasks
                 else max(v for v in values if v is not None))
        victims = [per_task.get(t) for t in phase.victim_tasks]
        phase_json.append({
            "signal": phase.signal, "victim": phase.victim, "victim_tasks": phase.victim_tasks,
            "victim_had_connector": phase.victim_had_connector,
            "victim_was_leader": phase.victim_was_leader,
            "all_running_s": every, "victim_tasks_s": (None if None in victims else
                                                       max((v or 0.0) for v in victims)),
            "per_task_s": {str(k): v for k, v in per_task.items()},
            "window_s": round(phase.end - phase.t0, 2), "goal_s": goal_s(phase.signal, settings),
            "timeline": timeline(records, phase.t0, phase.t0 - 5,
                                 phases[i + 1].t0 - 0.5 if i + 1 < len(phases) else phase.end),
        })
    result.extra = {"phases": phase_json, "duplicates": duplicates, "gaps": problems,
                    "malformed": runner.tail.malformed, "settings": {
                        "workers": settings.workers, "tasks": settings.tasks,
                        "rate_per_task": settings.rate_per_task,
                        "value_bytes": settings.value_bytes,
                        "offset.flush.interval.ms": OFFSET_FLUSH_INTERVAL_MS,
                        **system.settings_json(settings)}}
    if not result.error:
        if problems:
            result.error = "sequence gaps: " + "; ".join(problems)
        elif len(phases) != len(SIGNALS):
            result.error = "not every signal was measured"
        else:
            result.ok = True
    return result


def run_case(systems: list[FailoverSystem], reps: int, bootstrap: str, workdir: Path,
             settings: FailoverSettings, tag: str, log: Any) -> list[Any]:
    results = []
    for rep in range(reps):
        for system in systems:
            if system.max_reps and rep >= system.max_reps:
                continue
            name = f"bench-failover-{system.name}-{rep}-{tag}"
            rundir = workdir / "runs" / name
            rundir.mkdir(parents=True)
            log(f"failover rep {rep + 1}/{reps}: {system.name} ({settings.workers} workers, "
                f"{settings.tasks} tasks at {settings.rate_per_task}/s each, session timeout "
                f"{settings.session_timeout_ms} ms)")
            result = run_failover(system, bootstrap, name, rundir, settings, rep, log)
            if result.ok:
                summary = ", ".join(
                    f"{p['signal']} {_fmt_s(p['all_running_s'])}" for p in result.extra["phases"])
                log(f"  {summary}; {result.records:,} records, {result.extra['duplicates']} "
                    f"duplicates, no gap; {result.cpu_s_per_m:.0f} CPU s/M, "
                    f"{result.peak_rss_mb:.0f} MB RSS per worker")
            else:
                log(f"  FAILED: {result.error.splitlines()[0] if result.error else '?'}")
            results.append(result)
            time.sleep(1)
    return results


def _fmt_s(value: float | None) -> str:
    return "not within the window" if value is None else f"{value:.1f}s"


def summarize(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (system, signal): medians over the repetitions (a censored run counts as +inf)."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    meta: dict[str, dict[str, Any]] = {}
    for run in runs:
        if run.get("case") != "failover" or not run.get("extra"):
            continue
        meta[run["system"]] = run["extra"]
        for phase in run["extra"].get("phases", []):
            groups[(run["system"], phase["signal"])].append(
                {**phase, "duplicates": run["extra"]["duplicates"],
                 "gaps": run["extra"]["gaps"], "ok": run["ok"]})
    rows = []
    for (system, sig), phases in groups.items():
        values = [p["all_running_s"] for p in phases]
        measured = sorted(v for v in values if v is not None)
        censored = len(values) - len(measured)
        keyed = sorted(measured) + [float("inf")] * censored
        median = statistics.median(keyed) if keyed else None
        window = max((p["window_s"] for p in phases if p["all_running_s"] is None),
                     default=min(p["window_s"] for p in phases))
        rows.append({
            "system": system, "signal": sig, "runs": len(phases),
            "all_running_s": None if median is None or median == float("inf") else median,
            "all_running_min": measured[0] if measured else None,
            "all_running_max": measured[-1] if measured and not censored else None,
            "censored": censored, "window_s": window, "goal_s": phases[0]["goal_s"],
            "measured": measured,
            "leader_victims": sum(1 for p in phases if p.get("victim_was_leader")),
            "victim_tasks": [len(p["victim_tasks"]) for p in phases],
            "duplicates": statistics.median(p["duplicates"] for p in phases),
            "gaps": sum(len(p["gaps"]) for p in phases),
            "settings": meta[system].get("settings", {}),
        })
    return rows


def with_settings(settings: FailoverSettings, wait_s: float | None) -> FailoverSettings:
    return settings if wait_s is None else replace(settings, wait_s=wait_s)
