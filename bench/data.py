"""The data a case reads: line files for sources, preloaded topics for sinks.

Lines are ASCII (so byte and character offsets agree in both frameworks), each unique:
``<10-digit index> <filler>\\n``, exactly 100 or 1024 bytes. Sink topics hold the same lines
(cases 2) or JsonConverter envelopes of a five-field struct (case 3), ~100 payload bytes each.
"""

from __future__ import annotations

import json
import string
from collections.abc import Iterator
from pathlib import Path

from bench.cases import Case
from bench.settings import librdkafka_producer

LINE_BYTES = {"lines100": 100, "lines1k": 1024}

SINK_SCHEMA = {"type": "struct", "optional": False, "name": "bench.User", "fields": [
    {"field": "id", "type": "int64", "optional": False},
    {"field": "name", "type": "string", "optional": False},
    {"field": "email", "type": "string", "optional": False},
    {"field": "secret", "type": "string", "optional": True},
    {"field": "note", "type": "string", "optional": True}]}


def _filler(width: int) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(alphabet[(i * 7) % len(alphabet)] for i in range(width))


def line_file(workdir: Path, data: str, records: int) -> Path:
    """A file of ``records`` lines of the case's size (written once per size and count)."""
    size = LINE_BYTES[data]
    path = workdir / "data" / f"{data}-{records}.txt"
    if path.exists() and path.stat().st_size == size * records:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    filler = _filler(size - 12)
    tmp = path.with_suffix(".partial")
    with open(tmp, "w", encoding="ascii") as handle:
        step = 100_000
        for start in range(0, records, step):
            handle.write("".join(f"{i:010d} {filler}\n"
                                 for i in range(start, min(records, start + step))))
    tmp.rename(path)
    return path


def json_values(records: int) -> Iterator[bytes]:
    schema = json.dumps(SINK_SCHEMA, separators=(",", ":"))
    head = '{"schema":' + schema + ',"payload":'
    note = _filler(40)
    for i in range(records):
        payload = (f'{{"id":{i},"name":"user-{i:08d}","email":"user-{i:08d}@example.com",'
                   f'"secret":"s3cr3t-{i % 997:03d}","note":"{note}"}}')
        yield (head + payload + "}").encode()


def payload_bytes(case: Case, records: int) -> int:
    """Bytes of data a case moves (MB/s is computed from this): line bytes, or value bytes."""
    if case.data in LINE_BYTES:
        return LINE_BYTES[case.data] * records
    return sum(len(v) for v in json_values(records))


def preload_topic(bootstrap: str, topic: str, case: Case, records: int,
                  workdir: Path) -> None:
    """Write a sink case's input into ``topic``, round-robin over its partitions."""
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap, **librdkafka_producer()})
    parts = case.partitions

    def send(i: int, value: bytes) -> None:
        while True:
            try:
                producer.produce(topic, value, partition=i % parts)
                return
            except BufferError:
                producer.poll(0.05)

    if case.data in LINE_BYTES:
        path = line_file(workdir, case.data, records)
        i = 0
        with open(path, "rb") as handle:
            for line in handle:
                send(i, line[:-1])
                i += 1
    else:
        for i, value in enumerate(json_values(records)):
            send(i, value)
    if producer.flush(120):
        raise RuntimeError(f"preloading {topic}: records not acknowledged")
