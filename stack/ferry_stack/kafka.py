"""A real Apache Kafka 4.x broker (KRaft, one node as broker and controller) for tests and demos.

The jars come from Maven Central through a small Maven project (``maven/kafka/pom.xml``),
copied once into the cache; the broker runs on the machine's JDK with a fresh log dir and
free loopback ports each time.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from ferry_stack.cache import cache_dir
from ferry_stack.ports import free_ports, wait_for_port
from ferry_stack.process import Service, ServiceError, run, stop_group

POM_DIR = Path(__file__).parent / "maven" / "kafka"


def kafka_version() -> str:
    text = (POM_DIR / "pom.xml").read_text()
    return text.split("<kafka.version>", 1)[1].split("</kafka.version>", 1)[0]


def ensure_kafka_jars() -> Path:
    """The directory holding the broker's classpath, fetched from Maven Central on first use."""
    version = kafka_version()
    libs = cache_dir(f"kafka-{version}") / "libs"
    marker = libs / ".complete"
    if marker.exists():
        return libs
    staging = libs.with_name("libs.partial")
    shutil.rmtree(staging, ignore_errors=True)
    run(
        ["mvn", "-B", "-q", "-f", str(POM_DIR / "pom.xml"), "dependency:copy-dependencies",
         f"-DoutputDirectory={staging}", "-DincludeScope=runtime"],
        log_path=libs.parent / "fetch.log",
    )
    shutil.rmtree(libs, ignore_errors=True)
    staging.rename(libs)
    marker.touch()
    return libs


def java_bin() -> str:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    found = shutil.which("java")
    if not found:
        raise ServiceError("no java on PATH: Kafka needs a JDK 17 or newer")
    return found


_LOG4J2 = """\
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = {log}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.state.name = state.change.logger
logger.state.level = WARN
"""


@dataclass
class BrokerState:
    """What ``ferry-stack down`` needs to stop a broker started by another process."""

    pid: int
    bootstrap_servers: str

    def save(self, path: Path) -> None:
        path.write_text(json.dumps({"pid": self.pid, "bootstrap_servers": self.bootstrap_servers}))

    @classmethod
    def load(cls, path: Path) -> BrokerState:
        data = json.loads(path.read_text())
        return cls(pid=int(data["pid"]), bootstrap_servers=str(data["bootstrap_servers"]))


class KafkaBroker:
    """One KRaft broker+controller on free loopback ports, its data under ``workdir``."""

    def __init__(self, workdir: Path, heap: str = "1g",
                 extra_properties: dict[str, str] | None = None) -> None:
        self.workdir = workdir
        self.heap = heap
        self.extra_properties = extra_properties or {}
        self.port = 0
        self.controller_port = 0
        self._service: Service | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "logs" / "server.log"

    def start(self, timeout: float = 90.0) -> KafkaBroker:
        libs = ensure_kafka_jars()
        self.workdir.mkdir(parents=True, exist_ok=True)
        if not self.port:
            self.port, self.controller_port = free_ports(2)
        config = self._write_config()
        classpath = f"{libs}/*"
        java = java_bin()
        log4j = self.workdir / "log4j2.properties"
        log4j.write_text(_LOG4J2.format(log=self.log_path))
        jvm = [java, "-Xms256m", f"-Xmx{self.heap}", "-XX:+UseG1GC",
               f"-Dlog4j2.configurationFile={log4j}", "-cp", classpath]
        data_dir = self.workdir / "data"
        if not (data_dir / "meta.properties").exists():
            cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
            # --cluster-id=: a random id may start with "-", which would read as an option.
            run([*jvm, "kafka.tools.StorageTool", "format", "--standalone",
                 f"--cluster-id={cluster_id}", "-c", str(config)],
                log_path=self.workdir / "format.log")
        self._service = Service("kafka", [*jvm, "kafka.Kafka", str(config)],
                                self.workdir / "stdout.log").start()
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _write_config(self) -> Path:
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "controller.quorum.bootstrap.servers": f"127.0.0.1:{self.controller_port}",
            "log.dirs": str(self.workdir / "data"),
            "num.partitions": "1",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "10",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "10",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            # Tests create every topic they use; a typo should fail, not create a topic.
            "auto.create.topics.enable": "false",
            "group.initial.rebalance.delay.ms": "0",
            # Let tests use short consumer-group session timeouts for failover.
            "group.min.session.timeout.ms": "1000",
            "group.consumer.min.session.timeout.ms": "1000",
            "group.consumer.min.heartbeat.interval.ms": "500",
            "log.retention.check.interval.ms": "60000",
            "log.cleaner.backoff.ms": "1000",
        }
        props.update(self.extra_properties)
        path = self.workdir / "server.properties"
        path.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
        return path

    def _wait_ready(self, timeout: float) -> None:
        from confluent_kafka.admin import AdminClient

        deadline = time.monotonic() + timeout
        assert self._service is not None
        while time.monotonic() < deadline:
            self._service.check_alive()
            if wait_for_port("127.0.0.1", self.port, 1.0):
                break
        admin = AdminClient({"bootstrap.servers": self.bootstrap_servers})
        while time.monotonic() < deadline:
            self._service.check_alive()
            try:
                metadata = admin.list_topics(timeout=2)
                if metadata.brokers:
                    return
            except Exception:  # noqa: BLE001 - the broker is still starting
                time.sleep(0.2)
        raise ServiceError(
            f"Kafka did not become ready in {timeout:.0f}s:\n{self._service.log_tail()}")

    @property
    def pid(self) -> int | None:
        return self._service.pid if self._service else None

    def running(self) -> bool:
        return self._service is not None and self._service.running()

    def stop(self, grace: float = 20.0) -> None:
        """Stop the broker (controlled shutdown on SIGTERM, SIGKILL after ``grace``)."""
        if self._service is not None:
            self._service.stop(grace=grace)
            self._service = None

    def kill(self) -> None:
        """SIGKILL the broker, as a crash would (for failure tests)."""
        if self._service is not None:
            self._service.stop(grace=0)
            self._service = None

    def state(self) -> BrokerState:
        assert self.pid is not None
        return BrokerState(pid=self.pid, bootstrap_servers=self.bootstrap_servers)

    def __enter__(self) -> KafkaBroker:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def stop_detached(state_file: Path) -> None:
    """Stop a broker started by another process (``ferry-stack up``)."""
    if state_file.exists():
        stop_group(BrokerState.load(state_file).pid, grace=20)
        state_file.unlink()
