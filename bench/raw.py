"""The upper bound: plain confluent-kafka loops doing a case's work with no framework.

``python -m bench.raw source --file F --topic T [--json]`` produces every line of F as fast
as it can (the same producer settings as Ferry and Kafka Connect) and then waits to be
stopped; ``python -m bench.raw sink --topic T --file F --group G [--tasks N] [--json]``
consumes the topic and appends each value as a line (``--tasks N``: N consumer processes in
one group, appending to the same file with O_APPEND). ``--json`` does what case 3's
converter and transforms do, by hand with orjson (the library Ferry's JsonConverter reads with).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from typing import Any

import orjson

from bench.settings import MAX_POLL_RECORDS, librdkafka_consumer, librdkafka_producer

_STOP = False


def _on_term(_signum: int, _frame: Any) -> None:
    global _STOP
    _STOP = True


def _source(args: argparse.Namespace) -> int:
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": args.bootstrap, **librdkafka_producer()})
    produce, poll = producer.produce, producer.poll
    topic = args.topic
    schema = json.dumps({"type": "struct", "optional": False, "fields": [
        {"field": "text", "type": "string", "optional": False},
        {"field": "topic", "type": "string", "optional": True},
        {"field": "origin", "type": "string", "optional": True}]}, separators=(",", ":"))
    head, dumps = ('{"schema":' + schema + ',"payload":').encode(), orjson.dumps
    rest = b""
    with open(args.file, "rb") as handle:
        while not _STOP:
            chunk = handle.read(1 << 20)
            if not chunk:
                break
            lines = (rest + chunk).split(b"\n")
            rest = lines.pop()
            for line in lines:
                value: bytes = line
                if args.json:
                    payload = {"text": line.decode(), "topic": topic, "origin": "ferry-bench"}
                    value = head + dumps(payload) + b"}"
                while True:
                    try:
                        produce(topic, value)
                        break
                    except BufferError:
                        poll(0.05)
    producer.flush(60)
    while not _STOP:
        time.sleep(0.1)
    return 0


def _sink_task(args: argparse.Namespace) -> int:
    from confluent_kafka import Consumer

    consumer = Consumer({"bootstrap.servers": args.bootstrap, "group.id": args.group,
                         "enable.auto.commit": True, **librdkafka_consumer()})
    consumer.subscribe([args.topic])
    fd = os.open(args.file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    loads, dumps, newline = orjson.loads, orjson.dumps, orjson.OPT_APPEND_NEWLINE
    try:
        while not _STOP:
            messages = consumer.consume(MAX_POLL_RECORDS, timeout=0.5)
            if not messages:
                continue
            if args.json:
                # Appended as they come: orjson's buffers kept in a list cost ~4 us each.
                out = bytearray()
                for m in messages:
                    if m.error():
                        continue
                    payload = loads(m.value() or b"null")["payload"]
                    payload["kafka_topic"] = m.topic()
                    payload["kafka_partition"] = m.partition()
                    payload["kafka_offset"] = m.offset()
                    del payload["secret"]
                    payload["user"] = payload.pop("name")
                    out += dumps(payload, option=newline)
                if out:
                    os.write(fd, out)
                continue
            lines = [m.value() or b"" for m in messages if not m.error()]
            if lines:
                lines.append(b"")
                os.write(fd, b"\n".join(lines))
    finally:
        os.close(fd)
        consumer.close()
    return 0


def _sink(args: argparse.Namespace) -> int:
    if args.tasks <= 1:
        return _sink_task(args)
    argv = [sys.executable, "-m", "bench.raw", "sink", "--bootstrap", args.bootstrap,
            "--topic", args.topic, "--file", args.file, "--group", args.group, "--tasks", "1"]
    if args.json:
        argv.append("--json")
    children = [subprocess.Popen(argv) for _ in range(args.tasks)]
    while not _STOP and all(c.poll() is None for c in children):
        time.sleep(0.1)
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    return max(c.wait() for c in children)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.raw", description=__doc__)
    parser.add_argument("mode", choices=["source", "sink"])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--file", required=True)
    parser.add_argument("--group", default="bench-raw")
    parser.add_argument("--tasks", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _on_term)
    signal.signal(signal.SIGINT, _on_term)
    return _source(args) if args.mode == "source" else _sink(args)


if __name__ == "__main__":
    sys.exit(main())
