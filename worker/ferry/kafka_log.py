"""Compacted internal topics: following one from its beginning in a background thread
(:class:`TopicFollower`), reading one to its end once (:func:`read_compacted`), and writing
records that must be acknowledged (:func:`produce_acknowledged`).

The follower serves workers (``ferry-configs``) and the operator's status reader
(``ferry-status``); the one-shot read and write serve offsets management and clean-up.
Reads use ``read_committed`` so aborted transactional writes are never seen.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

log = logging.getLogger(__name__)

RecordHandler = Callable[[bytes | None, bytes | None], None]


def consume_available(consumer: Any, max_messages: int, timeout: float) -> list[Any]:
    """What the consumer has, up to ``max_messages``, as soon as there is anything (waiting at
    most ``timeout`` for a first message): Kafka Connect's ``poll`` semantics.

    ``Consumer.consume(n, timeout)`` alone returns only once it holds ``n`` messages or the
    timeout passed, so a quiet topic costs the whole timeout per call.
    """
    messages: list[Any] = consumer.consume(max_messages, timeout=0)
    if messages:
        return messages
    messages = consumer.consume(1, timeout=timeout)
    if messages and max_messages > 1:
        messages.extend(consumer.consume(max_messages - 1, timeout=0))
    return messages


class TopicFollower:
    def __init__(self, client_config: Mapping[str, Any], topic: str, on_record: RecordHandler,
                 name: str = "") -> None:
        self.topic = topic
        self._config = dict(client_config)
        self._on_record = on_record
        self._stop = threading.Event()
        self._caught_up = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name or f"follow-{topic}",
                                        daemon=True)
        self.error: str | None = None

    def start(self) -> TopicFollower:
        self._thread.start()
        return self

    def wait_caught_up(self, timeout: float) -> bool:
        """True once every record present at start has been handled."""
        return self._caught_up.wait(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

        consumer = Consumer({**self._config, "group.id": f"ferry-follower-{self.topic}",
                             "enable.auto.commit": False, "isolation.level": "read_committed",
                             "enable.partition.eof": True})
        try:
            partitions = self._partitions(consumer)
            consumer.assign([TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in partitions])
            at_end: set[int] = set()
            while not self._stop.is_set():
                for message in consume_available(consumer, 1000, timeout=0.2):
                    error = message.error()
                    if error is not None:
                        if error.code() == error._PARTITION_EOF:
                            at_end.add(message.partition() or 0)
                        else:
                            self.error = str(error)
                            log.warning("reading %s: %s", self.topic, error)
                        continue
                    self.error = None
                    try:
                        self._on_record(message.key(), message.value())
                    except Exception:
                        log.exception("could not apply a record of %s", self.topic)
                if not self._caught_up.is_set() and at_end >= set(partitions):
                    self._caught_up.set()
        finally:
            consumer.close()

    def _partitions(self, consumer: Any) -> list[int]:
        while not self._stop.is_set():
            try:
                metadata = consumer.list_topics(self.topic, timeout=5)
                topic = metadata.topics.get(self.topic)
                if topic is not None and topic.error is None and topic.partitions:
                    return sorted(topic.partitions)
                self.error = f"topic {self.topic} not found"
            except Exception as exc:  # noqa: BLE001 - Kafka unreachable: keep trying
                self.error = str(exc)
            time.sleep(1)
        return []


class CompactedTopicError(RuntimeError):
    """A compacted topic could not be read to its end, or a write was not acknowledged."""


Latest = dict[bytes, tuple[int, bytes | None]]


def read_compacted(client_config: Mapping[str, Any], topic: str,
                   wanted: Callable[[bytes], bool] = lambda _key: True,
                   timeout: float = 30, missing_ok: bool = True) -> Latest:
    """The latest value (and its partition) of each wanted key, reading the topic to its end.

    One pass with a throw-away assignment (no group offsets): the end is what the topic
    held when the read began. ``read_committed``, so aborted transactional writes are not
    seen; a partition whose last offsets were compacted away ends at its EOF. Retriable
    broker errors (a topic just created, a leader moving) are retried until ``timeout``.
    """
    from confluent_kafka import KafkaError, KafkaException

    # Errors of a topic just created or of a leader moving; librdkafka does not flag the
    # ones get_watermark_offsets raises as retriable.
    transient = {KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.LEADER_NOT_AVAILABLE,
                 KafkaError.REQUEST_TIMED_OUT, KafkaError._TIMED_OUT, KafkaError._TRANSPORT,
                 KafkaError.UNKNOWN_TOPIC_OR_PART}
    deadline = time.monotonic() + timeout
    while True:
        try:
            return _read_once(client_config, topic, wanted, timeout, missing_ok)
        except KafkaException as exc:
            error = exc.args[0] if exc.args else None
            retriable = isinstance(error, KafkaError) and (
                error.retriable() or error.code() in transient)
            if not retriable or time.monotonic() > deadline:
                raise CompactedTopicError(f"cannot read {topic}: {error or exc}") from exc
            log.info("reading %s: %s (retrying)", topic, error)
            time.sleep(0.5)


def _read_once(client_config: Mapping[str, Any], topic: str, wanted: Callable[[bytes], bool],
               timeout: float, missing_ok: bool) -> Latest:
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    consumer = Consumer({**client_config, "group.id": "ferry-compacted-scan",
                         "enable.auto.commit": False, "enable.partition.eof": True,
                         "isolation.level": "read_committed"})
    latest: Latest = {}
    try:
        metadata = consumer.list_topics(topic, timeout=timeout).topics.get(topic)
        if metadata is None or metadata.error is not None:
            if missing_ok:
                return latest
            raise CompactedTopicError(f"topic {topic} is not available: "
                                      f"{metadata.error if metadata else 'missing'}")
        ends: dict[int, int] = {}
        for partition in metadata.partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition),
                                                       timeout=timeout)
            if high > low:
                ends[partition] = high
        if not ends:
            return latest
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in ends])
        deadline = time.monotonic() + 2 * timeout
        while ends and time.monotonic() < deadline:
            for message in consume_available(consumer, 1000, timeout=0.5):
                partition = message.partition() or 0
                error, key, offset = message.error(), message.key(), message.offset()
                if error is None and key is not None and wanted(key):
                    latest[key] = (partition, message.value())
                eof = error is not None and error.code() == error._PARTITION_EOF
                if eof or (error is None and offset is not None
                           and offset + 1 >= ends.get(partition, 0)):
                    ends.pop(partition, None)
        if ends:
            raise CompactedTopicError(f"could not read {topic} to its end within "
                                      f"{2 * timeout:.0f}s")
        return latest
    finally:
        consumer.close()


def acknowledging_producer(client_config: Mapping[str, Any]) -> Any:
    """An idempotent producer for :func:`produce_acknowledged` (reusable, thread-safe)."""
    from confluent_kafka import Producer

    return Producer({**client_config, "enable.idempotence": True, "linger.ms": 5})


def produce_acknowledged(client_config: Mapping[str, Any], topic: str,
                         records: Sequence[tuple[bytes, bytes | None, int | None]],
                         timeout: float = 30, producer: Any = None) -> None:
    """Write ``(key, value, partition or None)`` records (a None value is a tombstone) and
    wait until the broker acknowledged every one; raises :class:`CompactedTopicError`.

    ``producer``: one from :func:`acknowledging_producer` to reuse; by default a new one.
    """
    if not records:
        return
    producer = producer or acknowledging_producer(client_config)
    errors: list[str] = []

    def delivered(err: Any, _msg: Any) -> None:
        if err is not None:
            errors.append(str(err))

    for key, value, partition in records:
        if partition is None:
            producer.produce(topic, value, key, on_delivery=delivered)
        else:
            producer.produce(topic, value, key, partition=partition, on_delivery=delivered)
    if producer.flush(timeout) or errors:
        raise CompactedTopicError(f"writes to {topic} not acknowledged: "
                                  f"{errors[0] if errors else 'timeout'}")
