"""One CreateTopics request for the topics that concurrent callers want at about the same time.

The operator reconciles up to ``FERRY_OPERATOR_WORKERS`` Connectors at once, and each new one
needs its units topic. Kafka pays per CreateTopics request far more than per topic in it
(every request is its own metadata commit, delta and publish on the broker): 500 topics of
two partitions, one request each from 32 threads, cost a KRaft broker 21 CPU s and 19 s;
in requests of 32 topics, 7 CPU s and 1.3 s. So a caller joins the batch being gathered;
the first one of a batch waits ``linger`` seconds for others, sends it, and hands every
caller its own topic's outcome.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.cimpl import NewTopic

LINGER_S = 0.02
REQUEST_TIMEOUT_S = 30.0


class BatchedTopicCreator:
    """``create(topic)`` from any thread; topics asked for together go in one request."""

    def __init__(self, admin: Any, linger: float = LINGER_S, max_batch: int = 200) -> None:
        self._admin = admin
        self._linger = linger
        self._max_batch = max_batch
        self._lock = threading.Lock()
        self._pending: dict[str, tuple[NewTopic, list[Future[bool]]]] = {}
        self._gathering = False
        self.requests_sent = 0  # CreateTopics requests made (for tests and benchmarks)

    def create(self, topic: NewTopic, timeout: float = REQUEST_TIMEOUT_S) -> bool:
        """Create ``topic``: True if this call created it, False if it existed already.

        Raises ``KafkaException`` for anything else (bad settings, no controller), for this
        topic only: the others of the batch are unaffected.
        """
        future: Future[bool] = Future()
        with self._lock:
            _, waiters = self._pending.setdefault(topic.topic, (topic, []))
            waiters.append(future)
            lead = not self._gathering
            self._gathering = True
        if lead:
            time.sleep(self._linger)
            self._send_gathered()
        return future.result(timeout + self._linger)

    def _send_gathered(self) -> None:
        with self._lock:
            batch, self._pending = self._pending, {}
            self._gathering = False  # later callers gather the next batch meanwhile
        items = list(batch.values())
        for start in range(0, len(items), self._max_batch):
            self._send(items[start:start + self._max_batch])

    def _send(self, items: list[tuple[NewTopic, list[Future[bool]]]]) -> None:
        self.requests_sent += 1
        failed: Exception | None = None
        try:
            futures = self._admin.create_topics([topic for topic, _ in items],
                                                operation_timeout=REQUEST_TIMEOUT_S,
                                                request_timeout=REQUEST_TIMEOUT_S)
        except (KafkaException, ValueError, TypeError) as exc:  # the request as a whole
            futures, failed = {}, exc
        for topic, waiters in items:
            try:
                if failed is not None:
                    raise failed
                outcome = topic_created(futures[topic.topic])
            except Exception as exc:  # noqa: BLE001 - each caller raises its own
                for waiter in waiters:
                    waiter.set_exception(exc)
            else:
                for waiter in waiters:
                    waiter.set_result(outcome)


def topic_created(future: Future[None], timeout: float = REQUEST_TIMEOUT_S) -> bool:
    """The outcome of one topic of a CreateTopics request: True created, False it existed
    already (someone else made it first); raises ``KafkaException`` for anything else."""
    try:
        future.result(timeout=timeout)
    except KafkaException as exc:
        if exc.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS:
            return False
        raise
    return True
