"""The client settings every system runs with, written once and translated per system.

Ferry and the raw loops use librdkafka (confluent-kafka); Kafka Connect uses the Java clients.
Each setting below is set *explicitly* on both sides so that neither runs on a default the
other lacks. The Java name and the librdkafka name are listed side by side.
"""

from __future__ import annotations

from dataclasses import dataclass

# (description, Java client key, librdkafka key, value)
PRODUCER: list[tuple[str, str, str, str]] = [
    ("acks", "acks", "acks", "all"),
    ("idempotence", "enable.idempotence", "enable.idempotence", "true"),
    ("linger", "linger.ms", "linger.ms", "5"),
    ("batch size (bytes)", "batch.size", "batch.size", "1000000"),
    ("compression", "compression.type", "compression.type", "none"),
    ("in-flight requests", "max.in.flight.requests.per.connection",
     "max.in.flight.requests.per.connection", "5"),
]
# Producer buffer: 64 MiB on both sides (different keys and units).
JAVA_BUFFER_MEMORY = str(64 * 1024 * 1024)
LIBRDKAFKA_QUEUE_KBYTES = str(64 * 1024)

CONSUMER: list[tuple[str, str, str, str]] = [
    ("offset reset", "auto.offset.reset", "auto.offset.reset", "earliest"),
    ("fetch min bytes", "fetch.min.bytes", "fetch.min.bytes", "1"),
    ("fetch max wait", "fetch.max.wait.ms", "fetch.wait.max.ms", "500"),
    ("partition fetch bytes", "max.partition.fetch.bytes", "max.partition.fetch.bytes",
     "1048576"),
    ("fetch max bytes", "fetch.max.bytes", "fetch.max.bytes", "52428800"),
]
# librdkafka only, no Java equivalent (the Java consumer fetches again as soon as its buffer
# drains): once a partition's local queue holds queued.min.messages, librdkafka postpones its
# next fetch by fetch.queue.backoff.ms, 1000 ms by default, which capped a consumer that keeps
# up at ~150k records/s. Ferry's worker defaults to 10 ms; the raw loop gets the same.
LIBRDKAFKA_CONSUMER_ONLY: dict[str, str] = {"fetch.queue.backoff.ms": "10"}
# Records per poll()/put(): Java max.poll.records, Ferry consumer.max.poll.records, raw consume(n).
MAX_POLL_RECORDS = 2000
# Records per source poll (FileStreamSource batch.size in both frameworks).
SOURCE_BATCH = 2000
# Offset commit interval in both frameworks.
OFFSET_FLUSH_INTERVAL_MS = 10000


def librdkafka_producer() -> dict[str, str]:
    conf = {rd: value for _, _, rd, value in PRODUCER}
    conf["queue.buffering.max.kbytes"] = LIBRDKAFKA_QUEUE_KBYTES
    return conf


def java_producer() -> dict[str, str]:
    conf = {java: value for _, java, _, value in PRODUCER}
    conf["buffer.memory"] = JAVA_BUFFER_MEMORY
    return conf


def librdkafka_consumer() -> dict[str, str]:
    return {**{rd: value for _, _, rd, value in CONSUMER}, **LIBRDKAFKA_CONSUMER_ONLY}


def java_consumer() -> dict[str, str]:
    conf = {java: value for _, java, _, value in CONSUMER}
    conf["max.poll.records"] = str(MAX_POLL_RECORDS)
    return conf


@dataclass(frozen=True)
class Converters:
    """Converter settings, in Kafka Connect's keys (Ferry accepts the same names)."""

    key: str
    value: str
    value_schemas: bool | None = None  # JsonConverter's schemas.enable

    def properties(self) -> dict[str, str]:
        props = {"key.converter": self.key, "value.converter": self.value}
        if self.value_schemas is not None:
            props["value.converter.schemas.enable"] = str(self.value_schemas).lower()
        return props


STRING = Converters("org.apache.kafka.connect.storage.StringConverter",
                    "org.apache.kafka.connect.storage.StringConverter")
JSON_SCHEMAS = Converters("org.apache.kafka.connect.storage.StringConverter",
                          "org.apache.kafka.connect.json.JsonConverter", value_schemas=True)


@dataclass(frozen=True)
class FailoverSettings:
    """Case 5 on both frameworks: the rate of each task and the group timings, set explicitly
    (Ferry: ``ferry worker --session-timeout-ms``, heartbeat a tenth of it, or the group's
    ``consumer.session.timeout.ms``/``consumer.heartbeat.interval.ms`` under KIP-848; Kafka
    Connect: the worker's ``session.timeout.ms`` and ``heartbeat.interval.ms``)."""

    workers: int = 3
    tasks: int = 6
    rate_per_task: int = 200        # records per second of each task
    value_bytes: int = 100          # "task:seq:payload" strings
    session_timeout_ms: int = 10000  # Kafka Connect's default, Ferry's default
    heartbeat_interval_ms: int = 1000
    steady_s: float = 2.0           # all tasks running before a signal
    observe_s: float = 2.0          # after every task runs again
    wait_s: float = 30.0            # beyond the session timeout, before giving up on recovery


FAILOVER = FailoverSettings()
# --quick: the same steps on a shorter session timeout and shorter waits.
FAILOVER_QUICK = FailoverSettings(session_timeout_ms=3000, heartbeat_interval_ms=500,
                                  steady_s=1.0, observe_s=1.5, wait_s=15.0)
