"""Session-wide real services: one Kafka broker per test session, fresh log dir, always stopped."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from ferry_stack.kafka import KafkaBroker


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    broker = KafkaBroker(tmp_path_factory.mktemp("kafka"))
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def bootstrap(kafka: KafkaBroker) -> str:
    return kafka.bootstrap_servers


@pytest.fixture
def admin(bootstrap: str) -> AdminClient:
    return AdminClient({"bootstrap.servers": bootstrap})


@pytest.fixture
def unique() -> str:
    """A short unique suffix so tests sharing the broker never share topics or groups."""
    return uuid.uuid4().hex[:8]


def create_topic(admin: AdminClient, name: str, partitions: int = 1,
                 config: dict[str, str] | None = None) -> str:
    futures = admin.create_topics([NewTopic(name, partitions, 1, config=config or {})])
    for future in futures.values():
        future.result(timeout=30)
    return name
