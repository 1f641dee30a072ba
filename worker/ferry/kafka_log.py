"""Following a compacted internal topic from its beginning, in a background thread.

Used by workers (``ferry-configs``) and by the operator's status reader (``ferry-status``).
Reads with ``read_committed`` so aborted transactional writes are never seen, and tells
when it has caught up with what the topic held at start.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

log = logging.getLogger(__name__)

RecordHandler = Callable[[bytes | None, bytes | None], None]


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
                for message in consumer.consume(1000, timeout=0.2):
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
