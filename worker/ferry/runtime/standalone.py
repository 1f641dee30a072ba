"""Standalone mode: one process runs the given connectors and all their tasks.

Source offsets live in a local file (or in ``ferry-offsets`` when asked); no coordination
with other processes. This is how a user tries a connector before deploying it.
"""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from types import FrameType

from confluent_kafka import KafkaException

from ferry import control
from ferry.api.errors import ConfigError
from ferry.runtime.connector_config import ConnectorSpec
from ferry.runtime.connector_runtime import ConnectorRuntime
from ferry.runtime.http_server import WorkerHttpServer
from ferry.runtime.kafka_probe import KafkaProbe
from ferry.runtime.offsets import FileOffsetStore, KafkaOffsetStore, OffsetStore
from ferry.runtime.secrets import SCRUBBER
from ferry.runtime.status import State, StatusBoard
from ferry.runtime.worker_config import WorkerConfig

log = logging.getLogger(__name__)


class Standalone:
    def __init__(self, specs: list[ConnectorSpec], worker: WorkerConfig,
                 offsets_file: Path | None, http_host: str = "127.0.0.1", http_port: int = 0,
                 shutdown_timeout: float = 30.0) -> None:
        self.specs = specs
        self.worker = worker
        self.offsets_file = offsets_file
        self.shutdown_timeout = shutdown_timeout
        self.status = StatusBoard(worker.worker_id, SCRUBBER)
        self.runtimes: list[ConnectorRuntime] = []
        self.stop_event = threading.Event()
        self.kafka = KafkaProbe(worker.admin_config())
        self.http = WorkerHttpServer(http_host, http_port, self._status, self._healthy,
                                     self._ready)

    def _offsets(self, spec: ConnectorSpec) -> OffsetStore:
        # Exactly-once commits a source's offsets in its transaction, to the offsets topic:
        # that is where it must resume from, whatever the offsets file says.
        exactly_once = str(spec.config.get("exactly.once.support", "")).lower() == "required"
        if self.offsets_file is not None and not exactly_once:
            return FileOffsetStore(spec.id, self.offsets_file)
        if exactly_once and self.offsets_file is not None:
            log.info("%s: exactly.once.support=required keeps its offsets in %s, not in %s",
                     spec.id, self.worker.offsets_topic, self.offsets_file)
        # Compacted, as in distributed mode, not whatever a broker's auto-creation makes.
        try:
            control.ensure_offsets_topic(self.worker.admin_config(), self.worker.offsets_topic)
        except KafkaException as exc:
            log.warning("cannot make sure %s exists (the offsets commit retries): %s",
                        self.worker.offsets_topic, exc.args[0] if exc.args else exc)
        return KafkaOffsetStore(spec.id, self.worker.base(), self.worker.offsets_topic)

    def _status(self) -> object:
        # One connector: Kafka Connect's shape as it is; several: a list of them.
        statuses = [self.status.connector_status(spec.id) for spec in self.specs]
        return statuses[0] if len(statuses) == 1 else statuses

    def _healthy(self) -> tuple[bool, str]:
        return (not self.stop_event.is_set(), "ok" if not self.stop_event.is_set() else "stopping")

    def _ready(self) -> tuple[bool, str]:
        reachable, reason = self.kafka()
        if not reachable:
            return False, reason
        for runtime in self.runtimes:
            status = self.status.connector_status(runtime.id)
            states = [status["connector"]["state"]] + [t["state"] for t in status["tasks"]]
            if State.FAILED.value in states:
                return False, f"{runtime.id}: a unit failed"
        return bool(self.runtimes), "ready" if self.runtimes else "starting"

    def run(self, install_signals: bool = True) -> int:
        """Run until SIGTERM/SIGINT; 0 on a clean stop, 1 when a connector failed to start."""
        if install_signals:
            signal.signal(signal.SIGTERM, self._on_signal)
            signal.signal(signal.SIGINT, self._on_signal)
        self.http.start()
        log.info("worker %s: http on port %d", self.worker.worker_id, self.http.port)
        code = 0
        try:
            for spec in self.specs:
                runtime = ConnectorRuntime(spec, self.worker, self._offsets(spec), self.status)
                self.runtimes.append(runtime)
                try:
                    runtime.start()
                except ConfigError as exc:
                    log.error("connector %s: invalid configuration: %s", spec.id, exc)
                    code = 1
                except Exception:
                    log.exception("connector %s failed to start", spec.id)
                    code = 1
            while not self.stop_event.wait(0.2):
                for runtime in self.runtimes:
                    if runtime.reconfigure_requested.is_set():
                        runtime.reconfigure()
        finally:
            self.shutdown()
        return code

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        log.info("received %s: stopping", signal.Signals(signum).name)
        self.stop_event.set()

    def shutdown(self) -> None:
        self.stop_event.set()
        for runtime in self.runtimes:
            stuck = runtime.stop(self.shutdown_timeout)
            if stuck:
                log.error("connector %s: tasks still running at shutdown: %s", runtime.id, stuck)
        self.http.stop()
