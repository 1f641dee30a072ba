"""How a worker reaches Kafka: bootstrap servers, client settings, internal topic names."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ferry import protocol
from ferry.api.config import subset


@dataclass
class WorkerConfig:
    bootstrap_servers: str
    # librdkafka settings for every client (security.protocol, sasl.*, ssl.*, ...).
    client: dict[str, Any] = field(default_factory=dict)
    producer: dict[str, Any] = field(default_factory=dict)
    consumer: dict[str, Any] = field(default_factory=dict)
    worker_id: str = field(default_factory=lambda: os.environ.get("POD_NAME")
                           or socket.gethostname())
    offsets_topic: str = protocol.DEFAULT_OFFSETS_TOPIC
    configs_topic: str = protocol.DEFAULT_CONFIGS_TOPIC
    status_topic: str = protocol.DEFAULT_STATUS_TOPIC
    topic_creation_enable: bool = True

    def base(self) -> dict[str, Any]:
        return {"bootstrap.servers": self.bootstrap_servers, **self.client}

    def producer_config(self, connector_config: Mapping[str, Any]) -> dict[str, Any]:
        """Producer settings: Kafka Connect's safe defaults, worker's, then the connector's."""
        return {
            **self.base(),
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 5,
            "batch.size": 1_000_000,
            "queue.buffering.max.kbytes": 65536,
            "queue.buffering.max.messages": 500_000,
            **self.producer,
            **subset(connector_config, "producer.override."),
        }

    def consumer_config(self, connector_config: Mapping[str, Any], group_id: str) -> dict[str, Any]:
        return {
            **self.base(),
            "group.id": group_id,
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": "earliest",
            "partition.assignment.strategy": "cooperative-sticky",
            "fetch.min.bytes": 1,
            "queued.min.messages": 100_000,
            # Once a partition's queue holds queued.min.messages, librdkafka waits this long
            # before fetching it again; its default (1000 ms) starves a task that keeps up.
            "fetch.queue.backoff.ms": 10,
            # The worker group's timings (Kafka Connect's sink consumers keep the Java
            # defaults, 45 s / 3 s): a dead task's partitions move within 10 s, and members
            # notice a rebalance within a second. The shorter session also bounds a librdkafka
            # bug (confluentinc/librdkafka#5569) that can leave a classic group waiting the
            # full session timeout for a member id the client abandoned while joining.
            "session.timeout.ms": 10_000,
            "heartbeat.interval.ms": 1_000,
            **self.consumer,
            **subset(connector_config, "consumer.override."),
        }

    def admin_config(self, connector_config: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return {**self.base(), **subset(connector_config or {}, "admin.override.")}
