"""The systems under test, each turning a case's connector config into running processes.

Every system gets the same connector config (Kafka Connect keys), the same client settings
(``bench.settings``) and the same number of tasks; what differs is only how it is started.
A system that does not exist yet (Ferry's distributed worker) reports itself unavailable and
its runs are recorded as skipped, so it plugs in by implementing ``start``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import connect
from bench.cases import Case
from bench.procs import Proc
from bench.settings import (
    MAX_POLL_RECORDS,
    OFFSET_FLUSH_INTERVAL_MS,
    java_consumer,
    java_producer,
    librdkafka_consumer,
    librdkafka_producer,
)
from ferry_stack.ports import free_port

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class RunSpec:
    case: Case
    bootstrap: str
    topic: str
    path: Path          # the input file (sources) or output file (sinks)
    name: str           # unique connector name (fresh consumer group per run)
    workdir: Path       # this run's scratch directory


class System:
    name = ""
    label = ""
    mode = "standalone"
    # Runs only the cases that name it in ``Case.systems`` (the exactly-once and failover
    # variants); other systems run every case that names no systems, and those naming them.
    dedicated = False
    # Its records are written in transactions (the watcher counts committed records).
    transactional = False
    # At most this many repetitions (0: as many as asked).
    max_reps = 0
    # Set by `python -m bench --profile`: Ferry runs under `py-spy record` (CPU numbers then
    # include py-spy's own sampling; use such runs for the profile, not for the table).
    profile_rate = 0

    def available(self) -> tuple[bool, str]:
        return True, ""

    def supports(self, case: Case) -> bool:
        if case.requires:
            return False
        if case.systems:
            return self.name in case.systems
        return not self.dedicated

    def start(self, run: RunSpec) -> Proc:
        raise NotImplementedError


def ferry_worker_available() -> tuple[bool, str]:
    """Whether this checkout's ``ferry`` has the ``worker`` command (distributed mode)."""
    out = subprocess.run([_ferry_bin(), "worker", "--help"], capture_output=True, check=False)
    if out.returncode != 0:
        return False, "`ferry worker` does not exist in this checkout"
    return True, ""


def _ferry_bin() -> str:
    found = Path(sys.executable).with_name("ferry")
    return str(found) if found.exists() else (shutil.which("ferry") or "ferry")


class FerryStandalone(System):
    name = "ferry"
    label = "Ferry standalone"

    def connector_config(self, run: RunSpec) -> dict[str, str]:
        config = run.case.connector_config(run.name, run.topic, str(run.path))
        config["offset.flush.interval.ms"] = str(OFFSET_FLUSH_INTERVAL_MS)
        if run.case.kind == "source":
            config.update({f"producer.override.{k}": v for k, v in librdkafka_producer().items()})
        else:
            config.update({f"consumer.override.{k}": v for k, v in librdkafka_consumer().items()})
            config["consumer.max.poll.records"] = str(MAX_POLL_RECORDS)
            # Kafka Connect's FileStreamSink flushes to the OS only; match it.
            config["fsync"] = "false"
        return config

    def start(self, run: RunSpec) -> Proc:
        config = self.connector_config(run)
        path = run.workdir / "connector.json"
        path.write_text(json.dumps({"name": run.name,
                                    "config": {k: v for k, v in config.items() if k != "name"}},
                                   indent=2))
        argv = [_ferry_bin(), "run", str(path), "--bootstrap-servers", run.bootstrap,
                "--http-port", str(free_port()), "--offsets-file",
                str(run.workdir / "offsets.json"), "--worker-id", run.name]
        return Proc(self.name, self.profiled(argv, run), run.workdir / "worker.log",
                    cwd=run.workdir)

    def profiled(self, argv: list[str], run: RunSpec) -> list[str]:
        if not self.profile_rate:
            return argv
        spy = Path(sys.executable).with_name("py-spy")
        return [str(spy if spy.exists() else "py-spy"), "record", "--format", "raw",
                "--rate", str(self.profile_rate), "--threads", "--nonblocking",
                "-o", str(run.workdir / "profile.txt"), "--", *argv]


class FerryDistributed(FerryStandalone):
    """One ``ferry worker`` (distributed mode): the connector's desired state is written to
    ``ferry-configs`` first, as the operator does, then the worker joins the units group.

    ``eos``: the connector runs with ``exactly.once.support=required`` (one transaction per
    poll batch, records and offsets together; Ferry's standalone mode keeps offsets in a file,
    outside the transaction, so case 4 runs distributed)."""

    name = "ferry-distributed"
    label = "Ferry distributed (1 worker)"
    mode = "distributed"

    def __init__(self, eos: bool = False) -> None:
        self.eos = eos
        if eos:
            self.name, self.label = "ferry-distributed-eos", "Ferry distributed, exactly-once"
            self.dedicated = self.transactional = True

    def connector_config(self, run: RunSpec) -> dict[str, str]:
        config = super().connector_config(run)
        if self.eos:
            config["exactly.once.support"] = "required"
        return config

    def available(self) -> tuple[bool, str]:
        return ferry_worker_available()

    def start(self, run: RunSpec) -> Proc:
        return Proc(self.name, self.profiled(self.worker_argv(run), run),
                    run.workdir / "worker.log", cwd=run.workdir)

    def put(self, run: RunSpec, target_state: str = "running") -> str:
        """Write the connector's desired state to ``ferry-configs`` (what the operator does)."""
        from ferry import control

        client_config = {"bootstrap.servers": run.bootstrap}
        control.ensure_internal_topics(client_config)
        connector_id = f"bench/{run.name}"
        config = {k: v for k, v in self.connector_config(run).items() if k != "name"}
        writer = control.ControlClient(client_config)
        try:
            writer.put_connector(connector_id, config, tasks_max=run.case.tasks,
                                 target_state=target_state)
        finally:
            writer.close()
        return connector_id

    def worker_argv(self, run: RunSpec, worker_id: str = "", http_port: int | None = None,
                    target_state: str = "running") -> list[str]:
        """Write the connector to ``ferry-configs``; the ``ferry worker`` command line
        (``http_port`` None: a free port picked now; 0: the worker asks the OS for one)."""
        connector_id = self.put(run, target_state)
        return [_ferry_bin(), "worker", "--connector", connector_id, "--bootstrap-servers",
                run.bootstrap, "--worker-id", worker_id or f"{run.name}-w1",
                "--http-port", str(free_port() if http_port is None else http_port)]


class FerryWorkerPerTask(FerryDistributed):
    """As many ``ferry worker`` processes as the case has tasks, for one connector: how
    Ferry uses more than one core (on Kubernetes, ``workers: N``), since the tasks of one
    worker are threads sharing one interpreter lock. Measured as one process tree
    (``bench.fanout``): CPU and RSS are the sum over the workers."""

    name = "ferry-distributed-nw"
    label = "Ferry distributed, one worker per task"
    # The multi-task case only; the 1-task cases would run the same as ferry-distributed.
    cases = ("sink-4tasks",)

    def supports(self, case: Case) -> bool:
        return case.id in self.cases

    def paused_workers(self, run: RunSpec) -> Proc:
        """The worker processes, started with the connector paused."""
        # "{i}": bench.fanout numbers the workers; each asks the OS for an HTTP port.
        argv = self.worker_argv(run, worker_id=f"{run.name}-w{{i}}", http_port=0,
                                target_state="paused")
        return Proc(self.name, [sys.executable, "-m", "bench.fanout", str(run.case.tasks), "--",
                                *argv], run.workdir / "worker.log", cwd=ROOT,
                    env={"PYTHONPATH": str(ROOT)})

    def start(self, run: RunSpec) -> Proc:
        # The connector starts paused and runs once each task is up and the sink group is
        # stable: the rebalances while the tasks join are start-up, not throughput.
        proc = self.paused_workers(run)
        try:
            _wait_spread(run, f"bench/{run.name}", run.case.tasks, proc)
            self.put(run, target_state="running")
        except BaseException:
            proc.stop()
            raise
        return proc


class FerryTaskProcesses(FerryWorkerPerTask):
    """One ``ferry worker`` whose connector has ``task.isolation=process``: each sink task
    in a child process of that worker, so the tasks do not share an interpreter lock.
    Started paused and resumed once the tasks are up, as ``ferry-distributed-nw``; CPU and
    RSS are the worker's whole process tree."""

    name = "ferry-distributed-proc"
    label = "Ferry distributed, 1 worker, task.isolation=process"

    def connector_config(self, run: RunSpec) -> dict[str, str]:
        return {**super().connector_config(run), "task.isolation": "process"}

    def paused_workers(self, run: RunSpec) -> Proc:
        argv = self.worker_argv(run, target_state="paused")
        return Proc(self.name, self.profiled(argv, run), run.workdir / "worker.log",
                    cwd=run.workdir)


class FerryTaskThreads(FerryTaskProcesses):
    """``ferry-distributed-proc``'s twin with the tasks as threads (``task.isolation=thread``),
    started the same way: what the processes gain, in one run."""

    name = "ferry-distributed-threads"
    label = "Ferry distributed, 1 worker, threads, paused start"

    def connector_config(self, run: RunSpec) -> dict[str, str]:
        return {**super().connector_config(run), "task.isolation": "thread"}


def _wait_spread(run: RunSpec, connector_id: str, tasks: int, proc: Proc,
                 timeout: float = 90.0) -> None:
    """Until ``tasks`` tasks report PAUSED and the sink group is stable with as many members.

    (Which worker runs which task is up to the units group's assignor, which balances unit
    counts: with the connector's own unit, one worker may run two tasks.)"""
    import time

    from confluent_kafka.admin import AdminClient

    from ferry import protocol
    from ferry.status_reader import StatusReader

    client: dict[str, Any] = {"bootstrap.servers": run.bootstrap}
    reader = StatusReader(client).start()
    admin = AdminClient(client)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and proc.alive():
            status = reader.get(connector_id)
            paused = [t for t in status.tasks.values() if t.state == "PAUSED"] if status else []
            if len(paused) >= tasks:
                group = protocol.sink_group(connector_id)
                described = admin.describe_consumer_groups([group])[group].result(10)
                if str(described.state).endswith("STABLE") and len(described.members) == tasks:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"{connector_id}: not {tasks} paused tasks in a stable sink group "
                           f"within {timeout:.0f}s: {reader.get(connector_id)}")
    finally:
        reader.stop()


def _connect_worker_props(run: RunSpec) -> dict[str, str]:
    port = free_port()
    props = {
        "bootstrap.servers": run.bootstrap,
        "listeners": f"http://127.0.0.1:{port}",
        # Kafka Connect's own advice at start-up ("All plugins have ServiceLoader manifests"):
        # skips a ~3 s reflection scan; start-up is not measured, it only shortens the run.
        "plugin.discovery": "service_load",
        **run.case.converters.properties(),
        "offset.flush.interval.ms": str(OFFSET_FLUSH_INTERVAL_MS),
        **{f"producer.{k}": v for k, v in java_producer().items()},
        **{f"consumer.{k}": v for k, v in java_consumer().items()},
    }
    return props


class ConnectStandalone(System):
    name = "connect"
    label = "Kafka Connect standalone"

    def available(self) -> tuple[bool, str]:
        connect.ensure_connect_jars()
        return True, ""

    def start(self, run: RunSpec) -> Proc:
        props = _connect_worker_props(run)
        props["offset.storage.file.filename"] = str(run.workdir / "connect.offsets")
        worker = connect.write_properties(run.workdir / "worker.properties", props)
        connector = connect.write_properties(
            run.workdir / "connector.properties",
            run.case.connector_config(run.name, run.topic, str(run.path)))
        argv = connect.java_command("org.apache.kafka.connect.cli.ConnectStandalone",
                                    run.workdir, str(worker), str(connector))
        return Proc(self.name, argv, run.workdir / "worker.log", cwd=run.workdir)


class ConnectDistributed(System):
    """One ``ConnectDistributed`` worker. ``eos``: the worker runs with
    ``exactly.once.source.support=enabled`` and the connector with
    ``exactly.once.support=required`` (FileStreamSource declares it for a named file),
    transaction boundary ``poll`` (the default), as Ferry's."""

    name = "connect-distributed"
    label = "Kafka Connect distributed (1 worker)"
    mode = "distributed"

    def __init__(self, extra: dict[str, str] | None = None, eos: bool = False) -> None:
        self.extra = extra or {}
        self.eos = eos
        if eos:
            self.name = "connect-distributed-eos"
            self.label = "Kafka Connect distributed, exactly-once"
            self.dedicated = self.transactional = True
            self.extra = {**self.extra, "exactly.once.source.support": "enabled"}

    def available(self) -> tuple[bool, str]:
        connect.ensure_connect_jars()
        return True, ""

    def start(self, run: RunSpec) -> Proc:
        props = _connect_worker_props(run)
        props.update({
            "group.id": f"cluster-{run.name}",  # not connect-<name>: the sink's group
            "config.storage.topic": f"{run.name}-configs",
            "offset.storage.topic": f"{run.name}-offsets",
            "status.storage.topic": f"{run.name}-status",
            "config.storage.replication.factor": "1",
            "offset.storage.replication.factor": "1",
            "status.storage.replication.factor": "1",
            **self.extra,
        })
        worker = connect.write_properties(run.workdir / "worker.properties", props)
        argv = connect.java_command("org.apache.kafka.connect.cli.ConnectDistributed",
                                    run.workdir, str(worker))
        proc = Proc(self.name, argv, run.workdir / "worker.log", cwd=run.workdir)
        config = run.case.connector_config(run.name, run.topic, str(run.path))
        if self.eos:
            config["exactly.once.support"] = "required"
        try:
            connect.create_connector(props["listeners"], config, proc.alive)
        except BaseException:
            proc.stop(grace=5)
            raise
        return proc


class Raw(System):
    name = "raw"
    label = "raw confluent-kafka loop"

    def start(self, run: RunSpec) -> Proc:
        argv = [sys.executable, "-m", "bench.raw", run.case.kind, "--bootstrap", run.bootstrap,
                "--topic", run.topic, "--file", str(run.path), "--group", run.name,
                "--tasks", str(run.case.tasks)]
        if run.case.converters.value_schemas:
            argv.append("--json")
        return Proc(self.name, argv, run.workdir / "worker.log", cwd=ROOT,
                    env={"PYTHONPATH": str(ROOT)})


# The reference each Ferry system is compared with.
REFERENCE = {"ferry": "connect", "ferry-distributed": "connect-distributed",
             "ferry-distributed-proc": "connect-distributed",
             "ferry-distributed-threads": "connect-distributed",
             "ferry-distributed-nw": "connect-distributed",
             "ferry-distributed-eos": "connect-distributed-eos"}
# Case 4: each exactly-once system and its at-least-once twin.
EOS_TWIN = {"ferry-distributed-eos": "ferry-distributed",
            "connect-distributed-eos": "connect-distributed"}


def by_name(names: list[str]) -> list[System]:
    known = {s.name: s for s in SYSTEMS}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(f"bench: unknown system(s) {unknown}; known: {sorted(known)}")
    return [known[n] for n in names]


SYSTEMS: list[System] = [FerryStandalone(), FerryDistributed(), FerryWorkerPerTask(),
                         FerryTaskProcesses(), FerryTaskThreads(),
                         ConnectStandalone(), ConnectDistributed(), Raw(),
                         FerryDistributed(eos=True),
                         ConnectDistributed(eos=True)]

# Case 5's clusters add themselves to SYSTEMS (a plain import: works in either import order).
import bench.failover  # noqa: E402, F401
