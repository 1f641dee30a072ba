"""Folding ``ferry-status`` into the current status of every connector (used by the operator).

A background thread follows the topic; :meth:`StatusReader.get` returns a snapshot, and
listeners hear which connector changed.
"""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from ferry import protocol
from ferry.kafka_log import TopicFollower

log = logging.getLogger(__name__)


class StatusReader:
    def __init__(self, client_config: Mapping[str, Any],
                 topic: str = protocol.DEFAULT_STATUS_TOPIC) -> None:
        self._lock = threading.Lock()
        self._statuses: dict[str, protocol.ConnectorStatus] = {}
        self.listeners: list[Callable[[str], None]] = []
        self._follower = TopicFollower(client_config, topic, self._apply, name="status-reader")

    def start(self) -> StatusReader:
        self._follower.start()
        return self

    def wait_caught_up(self, timeout: float) -> bool:
        return self._follower.wait_caught_up(timeout)

    def stop(self) -> None:
        self._follower.stop()

    def _apply(self, key: bytes | None, value: bytes | None) -> None:
        try:
            with self._lock:
                changed = protocol.fold_status(self._statuses, key, value)
        except protocol.ProtocolError as exc:
            log.warning("skipping unreadable status record: %s", exc)
            return
        if changed:
            for listener in list(self.listeners):
                listener(changed)

    def get(self, connector_id: str) -> protocol.ConnectorStatus | None:
        with self._lock:
            status = self._statuses.get(connector_id)
            return copy.deepcopy(status) if status is not None else None

    def all(self) -> dict[str, protocol.ConnectorStatus]:
        with self._lock:
            return copy.deepcopy(self._statuses)
