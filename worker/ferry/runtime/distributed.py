"""Distributed mode: stateless workers that share one connector's units through Kafka.

Every worker of a connector reads the connector's desired state from ``ferry-configs`` and
joins the consumer group ``ferry.<ns>.<name>`` on the units topic ``ferry-tasks.<ns>.<name>``,
whose partition 0 is the connector and partition i is task i-1. Kafka's group coordinator
decides who runs what, notices dead workers and rebalances incrementally (cooperative-sticky,
or the broker-side KIP-848 protocol). The worker holding the connector unit runs the
Connector and publishes task configs back into ``ferry-configs``; a worker holding a task
unit runs that task with the task config computed from the current connector config.

All decisions happen on the main thread in :meth:`DistributedWorker.reconcile`, which
compares what should run (from the config log and the assignment) with what runs.
"""

from __future__ import annotations

import logging
import queue
import signal
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from types import FrameType
from typing import Any

from ferry import control, protocol
from ferry.api.errors import ConfigError
from ferry.kafka_log import TopicFollower
from ferry.runtime.connector_config import ConnectorSpec, TargetState
from ferry.runtime.connector_runtime import ConnectorRuntime
from ferry.runtime.http_server import WorkerHttpServer
from ferry.runtime.kafka_probe import KafkaProbe
from ferry.runtime.offsets import KafkaOffsetStore, MemoryOffsetStore, OffsetStore
from ferry.runtime.secrets import SCRUBBER
from ferry.runtime.status import State, StatusBoard
from ferry.runtime.status_publisher import StatusPublisher
from ferry.runtime.task_runner import TaskHandle
from ferry.runtime.worker_config import WorkerConfig

log = logging.getLogger(__name__)

CONNECTOR_UNIT = 0


@dataclass
class GroupSettings:
    """How the worker takes part in the units group."""

    protocol: str = "classic"  # or "consumer" (KIP-848)
    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 1_000
    static_membership: bool = False
    revoke_grace_s: float = 20.0


@dataclass
class RunningTask:
    runner: TaskHandle
    config_hash: str
    task_config: dict[str, Any]


class DistributedWorker:
    def __init__(self, connector_id: str, worker: WorkerConfig, group: GroupSettings,
                 http_host: str = "127.0.0.1", http_port: int = 8083,
                 shutdown_timeout: float = 30.0) -> None:
        protocol.split_id(connector_id)
        self.connector_id = connector_id
        self.worker = worker
        self.group = group
        self.shutdown_timeout = shutdown_timeout
        self.status = StatusBoard(worker.worker_id, SCRUBBER)
        self.stop_event = threading.Event()
        self._events: queue.Queue[tuple[str, Any]] = queue.Queue()
        # Desired state, from ferry-configs.
        self.record: protocol.ConnectorRecord | None = None
        self.task_configs: protocol.TaskConfigsRecord | None = None
        self.restart: protocol.RestartRecord | None = None
        # What this worker owns and runs.
        self.owned: set[int] = set()
        self.runtime: ConnectorRuntime | None = None
        self.runtime_hash = ""
        self.runtime_error: str | None = None
        self.connector_running = False
        self.tasks: dict[int, RunningTask] = {}
        self._handled_restart: str | None = None
        self._units_partitions = 0
        self._consumer: Any = None
        self._follower: TopicFollower | None = None
        self._publisher: StatusPublisher | None = None
        self._last_loop = time.monotonic()
        self._joined = False
        self.kafka = KafkaProbe(worker.admin_config())
        self.http = WorkerHttpServer(http_host, http_port, self._status, self._healthy,
                                     self._ready)

    # HTTP --------------------------------------------------------------------------------

    def _status(self) -> object:
        reachable, reason = self.kafka()
        return {**self.status.connector_status(self.connector_id),
                "worker": {"id": self.worker.worker_id, "units": sorted(self.owned),
                           "kafka": reason, "kafka_reachable": reachable}}

    def _healthy(self) -> tuple[bool, str]:
        stalled = time.monotonic() - self._last_loop
        if stalled > 60:
            return False, f"main loop stalled for {stalled:.0f}s"
        return True, "ok"

    def _ready(self) -> tuple[bool, str]:
        reachable, reason = self.kafka()
        if not reachable:
            return False, reason
        if not self._joined:
            return False, "not yet in the units group"
        return True, "ready"

    # Lifecycle ---------------------------------------------------------------------------

    def run(self, install_signals: bool = True) -> int:
        if install_signals:
            signal.signal(signal.SIGTERM, self._on_signal)
            signal.signal(signal.SIGINT, self._on_signal)
        self.http.start()
        log.info("worker %s for %s: http on port %d", self.worker.worker_id, self.connector_id,
                 self.http.port)
        try:
            self._wait_for_kafka()
            if self.stop_event.is_set():
                return 0
            self._publisher = StatusPublisher(self.worker.base(), self.worker.status_topic)
            self._publisher.attach(self.status)
            self._follower = TopicFollower(self.worker.base(), self.worker.configs_topic,
                                           self._on_config_record).start()
            while not self._follower.wait_caught_up(1) and not self.stop_event.is_set():
                log.info("reading %s ...", self.worker.configs_topic)
            self._drain_events()
            self._join_group()
            while not self.stop_event.is_set():
                self._last_loop = time.monotonic()
                self._consumer.consume(1, timeout=0.2)  # serves heartbeats and rebalances
                self._drain_events()
                self.reconcile()
        finally:
            self.shutdown()
        return 0

    def _wait_for_kafka(self) -> None:
        while not self.stop_event.is_set():
            try:
                control.ensure_internal_topics(self.worker.base(),
                                               configs_topic=self.worker.configs_topic,
                                               offsets_topic=self.worker.offsets_topic,
                                               status_topic=self.worker.status_topic)
                return
            except Exception as exc:  # noqa: BLE001 - unreachable Kafka: report and retry
                log.warning("cannot reach Kafka at %s (retrying): %s",
                            self.worker.bootstrap_servers, exc)
                self.stop_event.wait(2)

    def _join_group(self) -> None:
        from confluent_kafka import Consumer

        config: dict[str, Any] = {
            **self.worker.base(),
            "group.id": protocol.units_group(self.connector_id),
            "enable.auto.commit": False,
            "auto.offset.reset": "latest",
            # A grown units topic must be noticed quickly: that is how tasks are added.
            "topic.metadata.refresh.interval.ms": 2000,
            "client.id": f"ferry-worker-{self.worker.worker_id}",
        }
        if self.group.protocol == "consumer":
            config["group.protocol"] = "consumer"
        else:
            config.update({"partition.assignment.strategy": "cooperative-sticky",
                           "session.timeout.ms": self.group.session_timeout_ms,
                           "heartbeat.interval.ms": self.group.heartbeat_interval_ms})
        if self.group.static_membership:
            config["group.instance.id"] = self.worker.worker_id
        self._consumer = Consumer(config)
        if self.record is not None:
            self._ensure_units(self.record.tasks_max + 1)
        self._consumer.subscribe([protocol.units_topic(self.connector_id)],
                                 on_assign=self._on_assign, on_revoke=self._on_revoke,
                                 on_lost=self._on_lost)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        log.info("received %s: leaving the group and stopping", signal.Signals(signum).name)
        self.stop_event.set()

    def shutdown(self) -> None:
        self.stop_event.set()
        if self._consumer is not None:
            # Leaving the group revokes our units (on_revoke stops them) and hands them over.
            try:
                self._consumer.close()
                log.info("left the units group")
            except Exception:
                log.exception("closing the units consumer")
            self._consumer = None
        self._stop_everything(unassigned=True)
        if self._follower is not None:
            self._follower.stop()
        if self._publisher is not None:
            self._publisher.flush()
        self.http.stop()

    # Config log --------------------------------------------------------------------------

    def _on_config_record(self, key: bytes | None, value: bytes | None) -> None:
        if key is None:
            return
        try:
            kind, connector_id, _ = protocol.parse_key(key)
        except protocol.ProtocolError:
            return
        if connector_id != self.connector_id:
            return
        try:
            if kind == "connector":
                self._events.put(("connector", protocol.ConnectorRecord.decode(value)
                                  if value is not None else None))
            elif kind == "tasks":
                self._events.put(("tasks", protocol.TaskConfigsRecord.decode(value)
                                  if value is not None else None))
            elif kind == "restart" and value is not None:
                self._events.put(("restart", protocol.RestartRecord.decode(value)))
        except protocol.ProtocolError as exc:
            log.error("unreadable %s record for %s: %s", kind, connector_id, exc)

    def _drain_events(self) -> None:
        while True:
            try:
                kind, record = self._events.get_nowait()
            except queue.Empty:
                return
            if kind == "connector":
                self.record = record
            elif kind == "tasks":
                self.task_configs = record
            elif kind == "restart":
                if self._handled_restart is None and not self._joined:
                    # Requests from before this worker started were for the units as they
                    # were then; these units start fresh anyway.
                    self._handled_restart = record.id
                self.restart = record

    # Group membership --------------------------------------------------------------------

    def _on_assign(self, consumer: Any, partitions: list[Any]) -> None:
        self._joined = True
        added = {p.partition for p in partitions}
        if added:
            log.info("assigned units %s", sorted(added))
        self.owned |= added
        self.reconcile()

    def _on_revoke(self, consumer: Any, partitions: list[Any]) -> None:
        revoked = {p.partition for p in partitions}
        if revoked:
            log.info("revoked units %s", sorted(revoked))
        self.owned -= revoked
        self._stop_units(revoked, unassigned=True)

    def _on_lost(self, consumer: Any, partitions: list[Any]) -> None:
        lost = {p.partition for p in partitions}
        log.warning("lost units %s (they may already run elsewhere)", sorted(lost))
        self.owned -= lost
        self._stop_units(lost, unassigned=False)

    def _ensure_units(self, units: int) -> None:
        if units <= self._units_partitions:
            return
        self._units_partitions = control.ensure_units_topic(self.worker.base(),
                                                            self.connector_id, units)

    # Reconciliation ----------------------------------------------------------------------

    def reconcile(self) -> None:
        """Make what runs here match the desired state and this worker's units."""
        record = self.record
        if record is None or record.target_state == "stopped":
            # Deleted: report each task UNASSIGNED once it stopped (its last offsets are
            # written by then), which tells the operator it may now delete the offsets.
            self._stop_everything(unassigned=record is None)
            current = self.status.connectors.get(self.connector_id)
            if record is not None and CONNECTOR_UNIT in self.owned and (
                    current is None or current.state is not State.STOPPED):
                self.status.set_connector(self.connector_id, State.STOPPED,
                                          generation=record.generation)
            return
        self._prepare(record)
        if self.runtime is None:
            return
        if CONNECTOR_UNIT in self.owned:
            self._run_connector_unit(record)
        self._handle_restart()
        for unit in sorted(self.owned - {CONNECTOR_UNIT}):
            self._run_task_unit(unit - 1, record)
        for index in [i for i in self.tasks if i + 1 not in self.owned]:
            self._stop_task(index)
        self._apply_target_state(record)

    def _prepare(self, record: protocol.ConnectorRecord) -> None:
        """Validate the current connector config once per config (not per target state)."""
        if record.config_hash == self.runtime_hash:
            return
        if self.connector_running:
            self._stop_connector()
        for index in list(self.tasks):
            self._stop_task(index, restarting=True)
        self.runtime_hash = record.config_hash
        namespace, name = protocol.split_id(self.connector_id)
        spec = ConnectorSpec(namespace=namespace, name=name,
                             config={**record.config, "tasks.max": str(record.tasks_max)},
                             state=TargetState(record.target_state),
                             generation=record.generation)
        runtime = ConnectorRuntime(spec, self.worker, MemoryOffsetStore(self.connector_id),
                                   self.status)
        try:
            runtime.prepare()
        except ConfigError as exc:
            self.runtime, self.runtime_error = None, str(exc)
            log.error("connector %s: invalid configuration: %s", self.connector_id, exc)
            return
        self.runtime, self.runtime_error = runtime, None

    def _run_connector_unit(self, record: protocol.ConnectorRecord) -> None:
        assert self.runtime is not None
        runtime = self.runtime
        runtime.spec.state = TargetState(record.target_state)
        runtime.spec.generation = record.generation
        if not self.connector_running:
            try:
                configs = runtime.start_connector()
            except Exception:
                log.exception("connector %s failed to start", self.connector_id)
                self.connector_running = True  # failed, reported; a restart request retries
                return
            self.connector_running = True
            self._publish_task_configs(record, configs)
        elif runtime.reconfigure_requested.is_set():
            runtime.reconfigure_requested.clear()
            if runtime.connector is not None:
                configs = runtime.connector.task_configs(record.tasks_max)
                self._publish_task_configs(record, configs)
        else:
            return
        # Readers (the operator) learn how many tasks to expect, and for which config.
        current = self.status.connectors.get(self.connector_id)
        if current is not None and current.state in (State.RUNNING, State.PAUSED):
            self.status.set_connector(self.connector_id, current.state,
                                      generation=record.generation, task_count=len(configs),
                                      config_hash=record.config_hash)

    def _publish_task_configs(self, record: protocol.ConnectorRecord,
                              configs: list[dict[str, Any]]) -> None:
        current = self.task_configs
        if (current is not None and current.config_hash == record.config_hash
                and current.configs == configs):
            return
        self._ensure_units(len(configs) + 1)
        published = protocol.TaskConfigsRecord(record.generation, configs, record.config_hash)
        writer = control.ControlClient(self.worker.base(), self.worker.configs_topic)
        try:
            writer._write(protocol.tasks_key(self.connector_id), published.encode())
        finally:
            writer.close()
        previous = len(current.configs) if current else 0
        if self._publisher is not None:
            for index in range(len(configs), previous):
                self._publisher.remove(self.connector_id, index)
        log.info("connector %s: published %d task configs (generation %d)", self.connector_id,
                 len(configs), record.generation)
        self.task_configs = published

    def _run_task_unit(self, index: int, record: protocol.ConnectorRecord) -> None:
        assert self.runtime is not None
        configs = self.task_configs
        if configs is None or configs.config_hash != record.config_hash:
            return  # the connector unit has not computed configs for this config yet
        if index >= len(configs.configs):
            if index in self.tasks:
                self._stop_task(index)
            return
        wanted = configs.configs[index]
        running = self.tasks.get(index)
        if running is not None and running.config_hash == record.config_hash \
                and running.task_config == wanted:
            return
        if running is not None:
            self._stop_task(index, restarting=True)
        self._start_task(index, wanted, record)

    def _start_task(self, index: int, task_config: dict[str, Any],
                    record: protocol.ConnectorRecord) -> None:
        assert self.runtime is not None
        self.runtime.spec.generation = record.generation
        offsets: OffsetStore | None = None
        if self.runtime.config is not None and not self.runtime.config.is_sink:
            offsets = KafkaOffsetStore(self.connector_id, self.worker.base(),
                                       self.worker.offsets_topic)
        runner = self.runtime.build_task(index, task_config, offsets)
        runner.config_hash = record.config_hash
        runner.start(paused=record.target_state == "paused")
        self.tasks[index] = RunningTask(runner, record.config_hash, dict(task_config))
        log.info("started task %d of %s", index, self.connector_id)

    def _stop_task(self, index: int, restarting: bool = False,
                   unassigned: bool = False) -> None:
        running = self.tasks.pop(index, None)
        if running is None:
            return
        if restarting:
            self.status.set_task(self.connector_id, index, State.RESTARTING,
                                 config_hash=running.config_hash)
        running.runner.stop()
        if not running.runner.join(self.group.revoke_grace_s):
            log.error("task %d of %s did not stop within %.0fs", index, self.connector_id,
                      self.group.revoke_grace_s)
        if unassigned:
            self.status.set_task(self.connector_id, index, State.UNASSIGNED)

    def _signal_stop(self, indexes: Iterable[int]) -> None:
        """Ask these tasks to stop all at once, so they flush and commit in parallel: the
        units are handed over (a revoke, a leave) only once every one of them stopped."""
        for index in indexes:
            running = self.tasks.get(index)
            if running is not None:
                running.runner.stop()

    def _stop_connector(self, unassigned: bool = False) -> None:
        if self.runtime is not None:
            self.runtime.stop_connector()
        self.connector_running = False
        if unassigned:
            self.status.set_connector(self.connector_id, State.UNASSIGNED)

    def _stop_units(self, units: set[int], unassigned: bool = False) -> None:
        """Stop these units (tasks commit first); report them UNASSIGNED when asked."""
        self._signal_stop(unit - 1 for unit in units if unit != CONNECTOR_UNIT)
        for unit in sorted(units, reverse=True):
            if unit == CONNECTOR_UNIT:
                if self.connector_running:
                    self._stop_connector(unassigned=unassigned)
            elif unit - 1 in self.tasks:
                self._stop_task(unit - 1, unassigned=unassigned)

    def _stop_everything(self, unassigned: bool = False) -> None:
        self._signal_stop(list(self.tasks))
        for index in list(self.tasks):
            self._stop_task(index, unassigned=unassigned)
        if self.connector_running:
            self._stop_connector(unassigned=unassigned)

    def _apply_target_state(self, record: protocol.ConnectorRecord) -> None:
        paused = record.target_state == "paused"
        for running in self.tasks.values():
            (running.runner.pause if paused else running.runner.resume)()
        if CONNECTOR_UNIT in self.owned and self.connector_running and self.runtime:
            current = self.status.connectors.get(self.connector_id)
            wanted = State.PAUSED if paused else State.RUNNING
            if current is not None and current.state in (State.RUNNING, State.PAUSED) \
                    and current.state is not wanted:
                self.status.set_connector(self.connector_id, wanted,
                                          generation=record.generation)

    def _handle_restart(self) -> None:
        request = self.restart
        if request is None or request.id == self._handled_restart:
            return
        self._handled_restart = request.id
        log.info("restart request %s (tasks: %s, only failed: %s, task: %s)", request.id,
                 request.include_tasks, request.only_failed, request.task)
        if request.task is None and CONNECTOR_UNIT in self.owned:
            current = self.status.connectors.get(self.connector_id)
            failed = current is not None and current.state is State.FAILED
            if not request.only_failed or failed:
                self.status.set_connector(self.connector_id, State.RESTARTING)
                self._stop_connector()  # reconcile starts it again
                if self.record is not None:
                    self._run_connector_unit(self.record)
        for index in list(self.tasks):
            selected = request.task == index or (request.task is None and request.include_tasks)
            failed = self.tasks[index].runner.failure is not None
            if selected and (not request.only_failed or failed):
                self._stop_task(index, restarting=True)  # reconcile starts it again
