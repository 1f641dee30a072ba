"""Whether this worker can reach Kafka right now (for /readyz and /status), cached briefly."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any


class KafkaProbe:
    def __init__(self, admin_config: Mapping[str, Any], ttl: float = 5.0) -> None:
        self._config = dict(admin_config)
        self._ttl = ttl
        self._lock = threading.Lock()
        self._checked = 0.0
        self._result = (False, "not checked yet")
        self._admin: Any = None

    def __call__(self) -> tuple[bool, str]:
        with self._lock:
            if time.monotonic() - self._checked < self._ttl:
                return self._result
            self._result = self._check()
            self._checked = time.monotonic()
            return self._result

    def _check(self) -> tuple[bool, str]:
        from confluent_kafka.admin import AdminClient

        if self._admin is None:
            self._admin = AdminClient(self._config)
        try:
            metadata = self._admin.list_topics(timeout=3)
        except Exception as exc:  # noqa: BLE001 - any failure means unreachable
            return False, f"kafka unreachable: {exc}"
        if not metadata.brokers:
            return False, "kafka unreachable: no brokers in metadata"
        return True, f"kafka reachable ({len(metadata.brokers)} brokers)"
