"""Helpers shared by integration tests: run ``ferry`` as a real process, read topics."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from confluent_kafka import Consumer, Producer

from ferry_stack.ports import free_port

FERRY = str(Path(sys.executable).with_name("ferry"))


def write_connector(path: Path, name: str, cls: str, config: dict[str, Any],
                    tasks_max: int = 1, state: str = "running") -> Path:
    """Write a Connector resource, the same YAML a user would kubectl apply."""
    resource = {
        "apiVersion": "ferry.dev/v1alpha1", "kind": "Connector",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"class": cls, "tasksMax": tasks_max, "state": state, "config": config},
    }
    path.write_text(yaml.safe_dump(resource))
    return path


class FerryProcess:
    """``ferry run`` in a child process with its own HTTP port and log file."""

    def __init__(self, connectors: list[Path], bootstrap: str, workdir: Path,
                 extra_args: list[str] | None = None, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.log_path = workdir / f"ferry-{self.port}.log"
        self.argv = [FERRY, "run", *map(str, connectors), "--bootstrap-servers", bootstrap,
                     "--offsets-file", str(workdir / "offsets.json"),
                     "--http-port", str(self.port), *(extra_args or [])]
        # The child imports test plugins by dotted path (tests.plugins.*) from the repo root.
        root = str(Path(__file__).resolve().parents[1])
        self.env = {**os.environ, "PYTHONPATH": root, **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> FerryProcess:
        log = open(self.log_path, "ab")  # noqa: SIM115 - owned by the child for its lifetime
        self.proc = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT,
                                     env=self.env, start_new_session=True)
        log.close()
        return self

    def status(self) -> Any:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/status", timeout=5) as r:
            return json.loads(r.read())

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def wait_status(self, predicate: Callable[[Any], bool], timeout: float = 60) -> Any:
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                last = self.status()
                if predicate(last):
                    return last
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"status never matched; last: {last}\nlog:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def check_alive(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError(f"ferry exited with {self.proc.returncode}:\n{self.log()[-5000:]}")

    def terminate(self, timeout: float = 40) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def __enter__(self) -> FerryProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.kill()


def produce_round_robin(bootstrap: str, topic: str, values: list[bytes],
                        partitions: int = 1) -> None:
    """Write the values in order, value i to partition i % partitions; all acknowledged."""
    producer = Producer({"bootstrap.servers": bootstrap})
    for i, value in enumerate(values):
        producer.produce(topic, value, partition=i % partitions)
    assert producer.flush(30) == 0


def consume_all(bootstrap: str, topic: str, expected: int | None = None, timeout: float = 60,
                idle: float = 3.0, isolation: str = "read_uncommitted") -> list[Any]:
    """Every message of a topic from the beginning: until ``expected`` arrived, or idle."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"reader-{time.time_ns()}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False,
                         "isolation.level": isolation})
    consumer.subscribe([topic])
    messages: list[Any] = []
    deadline = time.monotonic() + timeout
    last_seen = time.monotonic()
    try:
        while time.monotonic() < deadline:
            batch = consumer.consume(10000, timeout=0.5)
            for message in batch:
                if message.error() is None:
                    messages.append(message)
            if batch:
                last_seen = time.monotonic()
            if expected is not None and len(messages) >= expected:
                break
            if expected is None and messages and time.monotonic() - last_seen > idle:
                break
    finally:
        consumer.close()
    return messages


def wait_for(predicate: Callable[[], bool], timeout: float = 60, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def line_count(path: Path) -> int:
    if not path.exists():
        return 0
    with open(path, "rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))


class WorkerProcess:
    """``ferry worker`` in a child process: one of a connector's distributed workers."""

    def __init__(self, connector_id: str, bootstrap: str, workdir: Path, worker_id: str,
                 extra_args: list[str] | None = None) -> None:
        self.worker_id = worker_id
        self.port = free_port()
        self.log_path = workdir / f"worker-{worker_id}.log"
        self.argv = [FERRY, "worker", "--connector", connector_id, "--bootstrap-servers",
                     bootstrap, "--worker-id", worker_id, "--http-port", str(self.port),
                     "--session-timeout-ms", "6000", *(extra_args or [])]
        root = str(Path(__file__).resolve().parents[1])
        self.env = {**os.environ, "PYTHONPATH": root, "FERRY_TEST_WORKER": worker_id}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> WorkerProcess:
        log = open(self.log_path, "ab")  # noqa: SIM115 - owned by the child
        self.proc = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT,
                                     env=self.env, start_new_session=True)
        log.close()
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def terminate(self, timeout: float = 40) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        if self.alive():
            assert self.proc is not None
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


class WorkerGroup:
    """Several workers of one connector; always killed at the end."""

    def __init__(self, connector_id: str, bootstrap: str, workdir: Path,
                 extra_args: list[str] | None = None) -> None:
        self.connector_id = connector_id
        self.bootstrap = bootstrap
        self.workdir = workdir
        self.extra_args = extra_args or []
        self.workers: dict[str, WorkerProcess] = {}

    def add(self, worker_id: str) -> WorkerProcess:
        worker = WorkerProcess(self.connector_id, self.bootstrap, self.workdir, worker_id,
                               self.extra_args).start()
        self.workers[worker_id] = worker
        return worker

    def logs(self) -> str:
        return "\n".join(f"== {w.worker_id}\n{w.log()[-4000:]}" for w in self.workers.values())

    def __enter__(self) -> WorkerGroup:
        return self

    def __exit__(self, *exc: object) -> None:
        for worker in self.workers.values():
            worker.kill()
