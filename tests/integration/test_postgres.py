"""PostgresSource and PostgresSink against a real PostgreSQL and a real broker.

Each source mode runs over a table that keeps changing; a source and a sink killed with
SIGKILL in the middle resume without gaps, and the sink's table ends equal to the source's.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from confluent_kafka.admin import AdminClient

from ferry_stack.postgres import PostgresServer
from tests.conftest import create_topic
from tests.helpers import FerryProcess, consume_all, wait_for, write_connector

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "connectors"
ROWS = 300


def make_table(dsn: str, name: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {name} (id serial PRIMARY KEY, v integer NOT NULL, "
                     "price numeric(10, 2), tags text[], doc jsonb, "
                     "updated_at timestamptz NOT NULL DEFAULT clock_timestamp())")


def keep_changing(dsn: str, name: str, updates: bool) -> threading.Thread:
    """Insert ROWS rows over ~3 s; with ``updates``, also bump earlier rows' v."""
    def run() -> None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            for i in range(ROWS):
                conn.execute(f"INSERT INTO {name} (v, price, tags, doc) VALUES "
                             "(0, %s, %s, %s)", (f"{i}.25", ["a", str(i)],
                                                 json.dumps({"i": i})))
                if updates and i % 3 == 0 and i:
                    conn.execute(f"UPDATE {name} SET v = v + 1, "
                                 "updated_at = clock_timestamp() WHERE id = %s", (i // 2,))
                time.sleep(0.01)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def table_rows(dsn: str, name: str) -> dict[int, int]:
    with psycopg.connect(dsn) as conn:
        return dict(conn.execute(f"SELECT id, v FROM {name}").fetchall())  # type: ignore[arg-type]


def source_config(postgres: PostgresServer, mode: str, table: str) -> dict[str, Any]:
    config: dict[str, Any] = {
        "connection.url": postgres.dsn, "mode": mode, "table.whitelist": table,
        "topic.prefix": "pg-", "poll.interval.ms": 200, "batch.max.rows": 50,
        "incrementing.column.name": "id", "timestamp.column.name": "updated_at",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "key.converter": "org.apache.kafka.connect.json.JsonConverter",
        "offset.flush.interval.ms": 300}
    return config


def latest(bootstrap: str, topic: str, done: Callable[[dict[int, dict[str, Any]]], bool],
           timeout: float = 90) -> dict[int, dict[str, Any]]:
    """The last value per id in the topic, once ``done`` holds for it."""
    deadline = time.monotonic() + timeout
    seen: dict[int, dict[str, Any]] = {}
    while time.monotonic() < deadline:
        seen = {}
        for message in consume_all(bootstrap, topic, idle=1.5, timeout=20):
            value = json.loads(message.value())["payload"]
            seen[value["id"]] = value
        if done(seen):
            return seen
        time.sleep(1)
    raise AssertionError(f"topic {topic} never complete; {len(seen)} ids")


@pytest.mark.parametrize("mode", ["bulk", "incrementing", "timestamp",
                                  "timestamp+incrementing"])
def test_each_mode_over_a_changing_table(tmp_path: Path, bootstrap: str, admin: AdminClient,
                                         postgres: PostgresServer, unique: str,
                                         mode: str) -> None:
    table = f"t_{mode.replace('+', '_')}_{unique}"
    make_table(postgres.dsn, table)
    create_topic(admin, f"pg-{table}")
    updates = mode != "incrementing"  # an incrementing source sees new rows only
    path = write_connector(tmp_path / "source.yaml", f"src-{unique}", "PostgresSource",
                           source_config(postgres, mode, table))
    with FerryProcess([path], bootstrap, tmp_path) as ferry:
        writer = keep_changing(postgres.dsn, table, updates)
        writer.join(60)
        expected = table_rows(postgres.dsn, table)
        seen = latest(bootstrap, f"pg-{table}",
                      lambda s: {i: v["v"] for i, v in s.items()} ==
                      (expected if updates else {i: 0 for i in expected}))
        ferry.check_alive()
    sample = seen[1]
    assert sample["price"] is not None and sample["tags"] == ["a", "0"]
    assert json.loads(sample["doc"]) == {"i": 0}


def test_killed_source_and_sink_resume_and_the_replica_equals_the_table(
        tmp_path: Path, bootstrap: str, admin: AdminClient, postgres: PostgresServer,
        unique: str) -> None:
    dsn = postgres.create_database(f"shop_{unique}")
    make_table(dsn, "orders")
    create_topic(admin, f"shop{unique}.orders")
    files = []
    for example in ("postgres-source.yaml", "postgres-sink.yaml"):
        resource = yaml.safe_load((EXAMPLES / example).read_text())
        config = resource["spec"]["config"]
        config.update({"poll.interval.ms": 200, "batch.max.rows": 40,
                       "offset.flush.interval.ms": 300, "topic.prefix": f"shop{unique}."})
        if "topics" in config:  # the sink: a SIGKILLed member's partitions move on in 6 s
            config.update({"topics": f"shop{unique}.orders",
                           "consumer.override.session.timeout.ms": 6000,
                           "consumer.override.heartbeat.interval.ms": 1000})
        resource["metadata"]["name"] += unique
        path = tmp_path / example
        path.write_text(yaml.safe_dump(resource))
        files.append(path)
    env = {"PG_URL": dsn.split("?")[0].replace("ferry:ferry@", ""), "PG_PASSWORD": "ferry"}
    writer = keep_changing(dsn, "orders", updates=True)
    for _ in range(3):
        ferry = FerryProcess(files, bootstrap, tmp_path, env=env).start()
        try:
            time.sleep(4)
            ferry.check_alive()
        finally:
            ferry.kill()
    writer.join(60)
    expected = table_rows(dsn, "orders")
    with FerryProcess(files, bootstrap, tmp_path, env=env) as ferry:
        def caught_up() -> bool:
            ferry.check_alive()
            try:
                return table_rows(dsn, "orders_replica") == expected
            except psycopg.Error:
                return False

        wait_for(caught_up, timeout=90, what=f"the replica to equal the table\n{ferry.log()}")
    ids = {json.loads(m.value())["payload"]["id"]
           for m in consume_all(bootstrap, f"shop{unique}.orders", idle=2)}
    assert ids == set(expected), "the source skipped rows across the kills"
    # jsonb travels as its text and timestamps as Kafka Connect's milliseconds.
    columns = ("id, v, price, tags, doc::text, "
               "date_trunc('milliseconds', updated_at) AS updated_at")
    with psycopg.connect(dsn) as conn:
        source = conn.execute(f"SELECT {columns} FROM orders ORDER BY id").fetchall()
        replica = conn.execute(f"SELECT {columns} FROM orders_replica ORDER BY id").fetchall()
    assert len(source) == ROWS
    assert replica == source
