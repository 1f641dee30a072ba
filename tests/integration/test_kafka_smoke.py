"""The broker the suite runs against is a real Kafka 4 broker."""

from __future__ import annotations

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient

from ferry_stack.kafka import kafka_version
from tests.conftest import create_topic

pytestmark = pytest.mark.integration


def test_produce_and_consume_round_trip(bootstrap: str, admin: AdminClient, unique: str) -> None:
    topic = create_topic(admin, f"smoke-{unique}", partitions=3)
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    sent = {f"key-{i}".encode(): f"value-{i}".encode() for i in range(100)}
    for key, value in sent.items():
        producer.produce(topic, value, key)
    assert producer.flush(30) == 0

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"g-{unique}",
                         "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    received: dict[bytes, bytes] = {}
    try:
        for _ in range(60):
            for message in consumer.consume(100, timeout=0.5):
                assert message.error() is None
                received[message.key()] = message.value()
            if len(received) == len(sent):
                break
    finally:
        consumer.close()
    assert received == sent


def test_broker_reports_pinned_kafka_4_version(admin: AdminClient) -> None:
    # The cluster's feature levels exist only on KRaft brokers; the version comes from the POM.
    assert kafka_version().startswith("4.")
    metadata = admin.list_topics(timeout=10)
    assert len(metadata.brokers) == 1
    described = admin.describe_cluster().result(timeout=10)
    assert described.cluster_id
