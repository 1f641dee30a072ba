"""Connector and task states as this worker sees them, in Kafka Connect's vocabulary."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class State(StrEnum):
    UNASSIGNED = "UNASSIGNED"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    STOPPED = "STOPPED"
    FAILED = "FAILED"
    RESTARTING = "RESTARTING"


ALL_STATES = [s.value for s in State]


@dataclass
class UnitStatus:
    state: State
    worker_id: str
    trace: str | None = None
    generation: int = 0
    since: float = field(default_factory=time.time)
    config_hash: str = ""
    task_count: int | None = None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"state": self.state.value, "worker_id": self.worker_id}
        if self.trace:
            data["trace"] = self.trace
        return data


Listener = Callable[[str, int | None, UnitStatus], None]
"""Called with (connector id, task index or None for the connector, new status)."""


class StatusBoard:
    """Thread-safe states of one worker's connector and tasks, with change listeners."""

    def __init__(self, worker_id: str, scrub: Callable[[str], str] = lambda s: s) -> None:
        self.worker_id = worker_id
        self._scrub = scrub
        self._lock = threading.Lock()
        self.connectors: dict[str, UnitStatus] = {}
        self.tasks: dict[tuple[str, int], UnitStatus] = {}
        self.kinds: dict[str, str] = {}
        self.listeners: list[Listener] = []

    def set_connector(self, connector_id: str, state: State, trace: str | None = None,
                      generation: int = 0, task_count: int | None = None,
                      config_hash: str | None = None) -> None:
        """Record a connector state; task count and config hash carry over unless given."""
        with self._lock:
            previous = self.connectors.get(connector_id)
            if task_count is None and previous is not None:
                task_count = previous.task_count
            if config_hash is None:
                config_hash = previous.config_hash if previous is not None else ""
            status = UnitStatus(state, self.worker_id, self._clean(trace), generation,
                                config_hash=config_hash, task_count=task_count)
            self.connectors[connector_id] = status
        self._notify(connector_id, None, status)

    def set_task(self, connector_id: str, index: int, state: State, trace: str | None = None,
                 generation: int = 0, config_hash: str = "") -> None:
        status = UnitStatus(state, self.worker_id, self._clean(trace), generation,
                            config_hash=config_hash)
        with self._lock:
            self.tasks[(connector_id, index)] = status
        self._notify(connector_id, index, status)

    def remove_task(self, connector_id: str, index: int) -> None:
        with self._lock:
            self.tasks.pop((connector_id, index), None)

    def _clean(self, trace: str | None) -> str | None:
        return self._scrub(trace) if trace else trace

    def _notify(self, connector_id: str, index: int | None, status: UnitStatus) -> None:
        for listener in list(self.listeners):
            listener(connector_id, index, status)

    def connector_status(self, connector_id: str) -> dict[str, Any]:
        """The shape of Kafka Connect's ``GET /connectors/{name}/status``."""
        with self._lock:
            connector = self.connectors.get(connector_id)
            tasks = sorted((i, s) for (c, i), s in self.tasks.items() if c == connector_id)
        name = connector_id.split("/", 1)[-1]
        return {
            "name": name,
            "connector": (connector or UnitStatus(State.UNASSIGNED, self.worker_id)).as_dict(),
            "tasks": [{"id": i, **s.as_dict()} for i, s in tasks],
            "type": self.kinds.get(connector_id, "unknown"),
        }

    def all_running(self, connector_id: str) -> bool:
        with self._lock:
            connector = self.connectors.get(connector_id)
            tasks = [s for (c, _), s in self.tasks.items() if c == connector_id]
        return (connector is not None and connector.state is State.RUNNING
                and all(t.state is State.RUNNING for t in tasks))
