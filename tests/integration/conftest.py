"""Session-wide real servers for the connector tests (PostgreSQL and an S3-compatible store)
and the clients of the internal topics that the distributed tests share.

Both start once per test session in a temp directory on free ports and are always stopped.
The S3 server is s3proxy from Maven Central (``ferry_stack.s3server``); PostgreSQL comes from
Debian's packages, installed on first use (``ferry_stack.postgres.ensure_postgres``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ferry import control
from ferry.status_reader import StatusReader
from ferry_stack.postgres import PostgresServer
from ferry_stack.s3server import S3Server


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    server = PostgresServer(tmp_path_factory.mktemp("postgres"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    server = S3Server(tmp_path_factory.mktemp("s3"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


# Distributed workers: the control-topic writer and a status reader, per module.
@pytest.fixture(scope="module")
def client(bootstrap: str) -> Iterator[control.ControlClient]:
    control.ensure_internal_topics({"bootstrap.servers": bootstrap})
    writer = control.ControlClient({"bootstrap.servers": bootstrap})
    yield writer
    writer.close()


@pytest.fixture(scope="module")
def statuses(bootstrap: str, client: control.ControlClient) -> Iterator[StatusReader]:
    reader = StatusReader({"bootstrap.servers": bootstrap}).start()
    assert reader.wait_caught_up(60)
    yield reader
    reader.stop()
