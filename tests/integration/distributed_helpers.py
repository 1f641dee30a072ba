"""Watching a distributed connector through its status topic, as the operator does."""

from __future__ import annotations

import time
from collections.abc import Callable

from ferry import protocol
from ferry.status_reader import StatusReader


def wait_status(reader: StatusReader, connector_id: str,
                predicate: Callable[[protocol.ConnectorStatus], bool], timeout: float = 60,
                what: str = "status", logs: Callable[[], str] = lambda: "") -> float:
    """Seconds until the folded status matches; AssertionError with the last status if not."""
    started = time.monotonic()
    last = None
    while time.monotonic() - started < timeout:
        last = reader.get(connector_id)
        if last is not None and predicate(last):
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}; last status: {last}\n{logs()}")


def all_running(tasks: int) -> Callable[[protocol.ConnectorStatus], bool]:
    def check(status: protocol.ConnectorStatus) -> bool:
        return (status.connector is not None and status.connector.state == "RUNNING"
                and sorted(status.tasks) == list(range(tasks))
                and all(t.state == "RUNNING" for t in status.tasks.values()))

    return check


def owners(status: protocol.ConnectorStatus) -> dict[int, str]:
    return {i: t.worker_id for i, t in status.tasks.items()}
