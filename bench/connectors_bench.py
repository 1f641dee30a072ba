"""Throughput of the S3 and PostgreSQL connectors against their raw client loops.

Runs each connector's task in process, with no Kafka in between, so the number is the
connector's own cost over its client library's. The baselines:

- S3 sink: ``put_object`` of the same objects in a plain loop.
- PostgreSQL sink: ``executemany`` of the same upserts, and ``COPY`` into an empty table.
- PostgreSQL source: ``SELECT`` + ``fetchall`` of the same rows.

Servers: s3proxy and PostgreSQL from ``ferry_stack`` (started here, always stopped).
``python bench/connectors_bench.py [--records N]`` prints one Markdown table.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3
import psycopg
from botocore.config import Config

from ferry.api import SinkRecord, SinkTaskContext, SourceTaskContext, TopicPartition
from ferry.connectors.postgres.sink import PostgresSinkTask
from ferry.connectors.postgres.source import PostgresSourceTask
from ferry.connectors.s3.sink import S3SinkTask
from ferry_stack.postgres import PostgresServer
from ferry_stack.s3server import S3Server

TP = TopicPartition("bench", 0)


def records(n: int) -> list[SinkRecord]:
    return [SinkRecord(topic="bench", partition=0, offset=i, key={"id": i},
                       value={"id": i, "name": f"customer-{i}", "amount": i * 3,
                              "note": "x" * 120}) for i in range(n)]


def timed(fn: Any) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def bench_s3(s3: S3Server, batch: list[SinkRecord], flush: int) -> tuple[float, float]:
    client = boto3.client("s3", config=Config(s3={"addressing_style": "path"},
                                              request_checksum_calculation="when_required",
                                              response_checksum_validation="when_required"),
                          **s3.client_kwargs())
    client.create_bucket(Bucket="bench")
    task = S3SinkTask()
    task.initialize(SinkTaskContext())
    task.start({**s3.connector_config("bench"), "flush.size": flush, "topics.dir": "ferry"})
    task.open([TP])

    def connector() -> None:
        for i in range(0, len(batch), 500):
            task.put(batch[i:i + 500])
        task.pre_commit({TP: len(batch)})

    def raw() -> None:
        for start in range(0, len(batch), flush):
            body = b"".join(json.dumps(r.value, separators=(",", ":")).encode() + b"\n"
                            for r in batch[start:start + flush])
            client.put_object(Bucket="bench", Key=f"raw/{start:010d}.json", Body=body)

    return timed(connector), timed(raw)


def bench_pg_sink(pg: PostgresServer, batch: list[SinkRecord]) -> tuple[float, float, float]:
    with psycopg.connect(pg.dsn, autocommit=True) as conn:
        for t in ("sink_ferry", "sink_raw", "sink_copy"):
            conn.execute(f"DROP TABLE IF EXISTS {t}")
            conn.execute(f"CREATE TABLE {t} (id bigint PRIMARY KEY, name text, amount bigint, "
                         "note text)")
    task = PostgresSinkTask()
    task.initialize(SinkTaskContext())
    task.start({"connection.url": pg.dsn, "insert.mode": "upsert", "pk.mode": "record_key",
                "table.name.format": "sink_ferry"})

    def connector() -> None:
        for i in range(0, len(batch), 500):
            task.put(batch[i:i + 500])
        task.flush({TP: len(batch)})

    rows = [(r.value["id"], r.value["name"], r.value["amount"], r.value["note"]) for r in batch]

    def raw() -> None:
        with psycopg.connect(pg.dsn) as conn, conn.cursor() as cur:
            cur.executemany("INSERT INTO sink_raw (id, name, amount, note) VALUES "
                            "(%s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET name = "
                            "EXCLUDED.name, amount = EXCLUDED.amount, note = EXCLUDED.note",
                            rows)

    def copy() -> None:
        with psycopg.connect(pg.dsn) as conn, conn.cursor() as cur, \
                cur.copy("COPY sink_copy (id, name, amount, note) FROM STDIN") as out:
            for row in rows:
                out.write_row(row)

    result = timed(connector), timed(raw), timed(copy)
    task.stop()
    return result


def bench_pg_source(pg: PostgresServer, n: int) -> tuple[float, float]:
    task = PostgresSourceTask()
    task.initialize(SourceTaskContext())
    task.start({"connection.url": pg.dsn, "mode": "incrementing",
                "incrementing.column.name": "id", "topic.prefix": "b.",
                "batch.max.rows": 1000, "ferry.postgres.tables": "public.sink_raw",
                "poll.interval.ms": 100000})

    def connector() -> None:
        got = 0
        while got < n:
            got += len(task.poll())

    def raw() -> None:
        with psycopg.connect(pg.dsn) as conn:
            last = -1
            while True:
                rows = conn.execute("SELECT * FROM sink_raw WHERE id > %s ORDER BY id "
                                    "LIMIT 1000", (last,)).fetchall()
                if not rows:
                    return
                last = rows[-1][0]

    result = timed(connector), timed(raw)
    task.stop()
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--flush-size", type=int, default=5000)
    args = parser.parse_args()
    n = args.records
    batch = records(n)
    with tempfile.TemporaryDirectory() as tmp, S3Server(Path(tmp) / "s3") as s3, \
            PostgresServer(Path(tmp) / "pg") as pg:
        s3_ferry, s3_raw = bench_s3(s3, batch, args.flush_size)
        sink_ferry, sink_raw, sink_copy = bench_pg_sink(pg, batch)
        src_ferry, src_raw = bench_pg_source(pg, n)
    print(f"| connector ({n} records of ~180 B) | Ferry rec/s | raw client rec/s | ratio |")
    print("| --- | ---: | ---: | ---: |")
    for name, ours, theirs in (
            (f"S3Sink (json, flush.size {args.flush_size}) vs put_object loop", s3_ferry,
             s3_raw),
            ("PostgresSink (upsert) vs executemany upsert", sink_ferry, sink_raw),
            ("PostgresSink (upsert) vs COPY", sink_ferry, sink_copy),
            ("PostgresSource (incrementing) vs SELECT loop", src_ferry, src_raw)):
        print(f"| {name} | {n / ours:,.0f} | {n / theirs:,.0f} | {theirs / ours:.2f} |")


if __name__ == "__main__":
    main()
