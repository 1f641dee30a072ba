"""Sink delivery against the real broker: commit only after flush, redeliver after a failure."""

from __future__ import annotations

import json
import time

import pytest
from confluent_kafka import Consumer
from confluent_kafka import TopicPartition as KafkaTP
from confluent_kafka.admin import AdminClient

from ferry.api import TopicPartition
from tests import plugins
from tests.conftest import create_topic
from tests.helpers import consume_all, produce_round_robin, wait_for
from tests.integration.runtime_helpers import start_connector, task_states

pytestmark = pytest.mark.integration

SINK = "tests.plugins.RecordingSinkConnector"


def _committed(bootstrap: str, group: str, topic: str, partitions: int = 1) -> list[int]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        result = consumer.committed([KafkaTP(topic, p) for p in range(partitions)], timeout=10)
        return [tp.offset for tp in result]
    finally:
        consumer.close()


def test_offsets_are_committed_only_after_flush(bootstrap: str, admin: AdminClient,
                                                unique: str) -> None:
    topic = create_topic(admin, f"sink-{unique}")
    produce_round_robin(bootstrap, topic, [f"v{i}".encode() for i in range(50)])
    probe = plugins.probe(unique)
    probe.fail_flushes = 10**6  # every flush fails: nothing may ever be committed
    runtime = start_connector(bootstrap, f"c-{unique}", {
        "connector.class": SINK, "probe": unique, "topics": topic,
        "offset.flush.interval.ms": "200"})
    try:
        wait_for(lambda: probe.flush_calls >= 3 and len(probe.put) >= 50, 30, "puts and flushes")
        assert _committed(bootstrap, f"ferry-sink.test.c-{unique}", topic) == [-1001]
        # Each failed flush rewound the partition: the records were delivered again.
        assert len(probe.put) > 50
        probe.fail_flushes = 0
        wait_for(lambda: _committed(bootstrap, f"ferry-sink.test.c-{unique}", topic) == [50],
                 30, "the commit after a good flush")
        assert probe.flushed[-1][TopicPartition(topic, 0)] == 50
    finally:
        runtime.stop()
    assert {r.value for r in probe.put} == {f"v{i}" for i in range(50)}
    assert TopicPartition(topic, 0) in probe.opened and TopicPartition(topic, 0) in probe.closed


def test_retriable_put_is_offered_again(bootstrap: str, admin: AdminClient, unique: str) -> None:
    topic = create_topic(admin, f"retry-{unique}")
    produce_round_robin(bootstrap, topic, [f"v{i}".encode() for i in range(20)])
    probe = plugins.probe(unique)
    probe.retriable_puts = 2
    runtime = start_connector(bootstrap, f"c-{unique}", {
        "connector.class": SINK, "probe": unique, "topics": topic})
    try:
        wait_for(lambda: len(probe.put) >= 20, 30, "the batch after two retriable failures")
        assert task_states(runtime) == ["RUNNING"]
    finally:
        runtime.stop()
    assert [r.value for r in probe.put] == [f"v{i}" for i in range(20)]


def test_poison_record_with_tolerance_none_fails_the_task(bootstrap: str, admin: AdminClient,
                                                          unique: str) -> None:
    topic = create_topic(admin, f"poison-{unique}")
    produce_round_robin(bootstrap, topic, [b'{"ok": 1}', b"{not json", b'{"ok": 2}'])
    runtime = start_connector(bootstrap, f"c-{unique}", {
        "connector.class": SINK, "probe": unique, "topics": topic,
        "value.converter": "JsonConverter", "value.converter.schemas.enable": "false"})
    try:
        wait_for(lambda: task_states(runtime) == ["FAILED"], 30, "the task to fail")
        task = runtime.status.connector_status(runtime.id)["tasks"][0]
        assert "VALUE_CONVERTER" in task["trace"]
        assert "Traceback" in task["trace"]
    finally:
        runtime.stop()
    assert _committed(bootstrap, f"ferry-sink.test.c-{unique}", topic) == [-1001]


def test_poison_record_with_tolerance_all_goes_to_dead_letter_topic(
        bootstrap: str, admin: AdminClient, unique: str) -> None:
    topic = create_topic(admin, f"poison-{unique}", partitions=2)
    dlq = f"dlq-{unique}"
    good = [json.dumps({"n": i}).encode() for i in range(10)]
    produce_round_robin(bootstrap, topic, [*good[:5], b"{not json", *good[5:]], partitions=1)
    probe = plugins.probe(unique)
    runtime = start_connector(bootstrap, f"c-{unique}", {
        "connector.class": SINK, "probe": unique, "topics": topic,
        "value.converter": "JsonConverter", "value.converter.schemas.enable": "false",
        "errors.tolerance": "all", "errors.deadletterqueue.topic.name": dlq,
        "errors.deadletterqueue.topic.replication.factor": "1",
        "errors.deadletterqueue.context.headers.enable": "true",
        "errors.log.enable": "true", "offset.flush.interval.ms": "200"})
    try:
        wait_for(lambda: len(probe.put) >= 10, 30, "the good records")
        assert task_states(runtime) == ["RUNNING"]
        dead = consume_all(bootstrap, dlq, expected=1, timeout=30)
        wait_for(lambda: _committed(bootstrap, f"ferry-sink.test.c-{unique}", topic, 2)[0] == 11,
                 30, "the commit past the poison record")
    finally:
        runtime.stop()
    assert [r.value for r in probe.put] == [{"n": i} for i in range(10)]
    assert len(dead) == 1 and dead[0].value() == b"{not json"
    headers = {k: v.decode() for k, v in dead[0].headers()}
    assert headers["__connect.errors.topic"] == topic
    assert headers["__connect.errors.partition"] == "0"
    assert headers["__connect.errors.offset"] == "5"
    assert headers["__connect.errors.stage"] == "VALUE_CONVERTER"
    assert headers["__connect.errors.connector.name"] == f"c-{unique}"
    assert headers["__connect.errors.task.id"] == "0"
    assert headers["__connect.errors.exception.message"]
    assert "Traceback" in headers["__connect.errors.exception.stacktrace"]


def test_a_record_a_transform_rejects_goes_to_the_dead_letter_topic_alone(
        bootstrap: str, admin: AdminClient, unique: str) -> None:
    # The batch converts on the fast path; the transform then fails on one record only.
    topic = create_topic(admin, f"untransformable-{unique}")
    dlq = f"dlq-{unique}"
    good = [json.dumps({"n": i}).encode() for i in range(6)]
    produce_round_robin(bootstrap, topic, [*good[:3], b"[1, 2]", *good[3:]])
    probe = plugins.probe(unique)
    runtime = start_connector(bootstrap, f"c-{unique}", {
        "connector.class": SINK, "probe": unique, "topics": topic,
        "value.converter": "JsonConverter", "value.converter.schemas.enable": "false",
        "transforms": "origin", "transforms.origin.type": "InsertField$Value",
        "transforms.origin.static.field": "origin", "transforms.origin.static.value": "ferry",
        "errors.tolerance": "all", "errors.deadletterqueue.topic.name": dlq,
        "errors.deadletterqueue.topic.replication.factor": "1",
        "errors.deadletterqueue.context.headers.enable": "true"})
    try:
        wait_for(lambda: len(probe.put) >= 6, 30, "the good records")
        dead = consume_all(bootstrap, dlq, expected=1, timeout=30)
        assert task_states(runtime) == ["RUNNING"]
    finally:
        runtime.stop()
    assert [r.value for r in probe.put] == [{"n": i, "origin": "ferry"} for i in range(6)]
    assert [r.offset for r in probe.put] == [0, 1, 2, 4, 5, 6]
    assert len(dead) == 1 and dead[0].value() == b"[1, 2]"
    headers = {k: v.decode() for k, v in dead[0].headers()}
    assert headers["__connect.errors.stage"] == "TRANSFORMATION"
    assert headers["__connect.errors.offset"] == "3"


def test_a_sink_paused_before_its_partitions_arrive_skips_nothing(
        bootstrap: str, admin: AdminClient, unique: str) -> None:
    # The partitions are assigned while the task is paused: they must stay paused (no put),
    # and after the resume every record arrives, once, in order.
    topic = create_topic(admin, f"paused-{unique}", partitions=2)
    values = [f"v{i}".encode() for i in range(40)]
    produce_round_robin(bootstrap, topic, values, partitions=2)
    probe = plugins.probe(unique)
    runtime = start_connector(bootstrap, f"c-{unique}", {
        "connector.class": SINK, "probe": unique, "topics": topic})
    runtime.pause()
    try:
        wait_for(lambda: task_states(runtime) == ["PAUSED"], 30, "the task to pause")
        wait_for(lambda: len(probe.opened) == 2, 30, "the partitions while paused")
        time.sleep(3)  # records would have come by now
        assert probe.put == []
        runtime.resume()
        wait_for(lambda: len(probe.put) >= 40, 30, "every record after the resume")
        time.sleep(1)
    finally:
        runtime.stop()
    by_partition = {p: [r.value for r in probe.put if r.partition == p] for p in (0, 1)}
    assert by_partition == {0: [f"v{i}" for i in range(0, 40, 2)],
                            1: [f"v{i}" for i in range(1, 40, 2)]}
