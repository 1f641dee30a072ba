"""Running a connector in the test process (for tests that look inside the tasks)."""

from __future__ import annotations

from typing import Any

from ferry.runtime.connector_config import ConnectorSpec
from ferry.runtime.connector_runtime import ConnectorRuntime
from ferry.runtime.offsets import MemoryOffsetStore
from ferry.runtime.status import StatusBoard
from ferry.runtime.worker_config import WorkerConfig


def start_connector(bootstrap: str, name: str, config: dict[str, Any]) -> ConnectorRuntime:
    spec = ConnectorSpec(namespace="test", name=name, config=config)
    runtime = ConnectorRuntime(spec, WorkerConfig(bootstrap_servers=bootstrap, worker_id="test"),
                               MemoryOffsetStore(spec.id), StatusBoard("test"))
    runtime.start()
    return runtime


def task_states(runtime: ConnectorRuntime) -> list[str]:
    return [t["state"] for t in runtime.status.connector_status(runtime.id)["tasks"]]
