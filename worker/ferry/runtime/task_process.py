"""A sink task in a process of its own, for connectors with ``task.isolation=process``.

The tasks of one worker are threads, and threads share one interpreter lock: four sink
tasks of one process go no faster than one (docs/benchmarks.md). In a child process a task
has a core to itself. Sink tasks only: their progress is the consumer group's committed
offsets, so the child needs nothing from this process but its config, and builds the very
same :class:`~ferry.runtime.sink_runner.SinkTaskRunner` a thread would run.

Parent and child talk over one pipe:

* parent to child: ``"pause"``, ``"resume"``, ``"stop"``. A closed pipe means stop too (the
  parent is gone), so a child never outlives its worker by more than a commit.
* child to parent: ``("status", state, trace, generation, config_hash)`` on every state
  change, ``("metrics", families)`` every second and at the end, and ``("end",)``.

SIGINT stops the child's task the way "stop" does, with its last commit: a Ctrl-C reaches the
whole process group. SIGTERM keeps its default and ends the child at once: Kubernetes sends
it to the worker alone (which then stops its tasks over the pipe), and ``multiprocessing``
sends it to a child still running when the worker exits (a task stuck past the shutdown
timeout), which must not hold the worker's exit. What a child ended that way had not
committed is delivered again.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import signal
import threading
import traceback
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from typing import Any

from ferry.runtime.connector_config import ConnectorSpec
from ferry.runtime.metrics import METRICS, ferry_families
from ferry.runtime.status import State, StatusBoard, UnitStatus
from ferry.runtime.worker_config import WorkerConfig

log = logging.getLogger(__name__)

ISOLATION_KEY = "task.isolation"
_METRICS_INTERVAL_S = 1.0


@dataclass(frozen=True)
class TaskRecipe:
    """Everything a child needs to build its task: plain data, sent over the pipe."""

    spec: ConnectorSpec
    worker: WorkerConfig
    index: int
    task_config: dict[str, Any]
    generation: int
    config_hash: str = ""
    paused: bool = False
    log_format: str = "text"
    log_level: str = "INFO"


class ProcessTaskRunner:
    """Runs one task in a child process; the same lifecycle calls as a thread's runner."""

    def __init__(self, recipe: TaskRecipe, status: StatusBoard) -> None:
        self.recipe = recipe
        self.connector_id = recipe.spec.id
        self.index = recipe.index
        self.generation = recipe.generation
        self.status = status
        self.config_hash = recipe.config_hash
        self.failure: BaseException | None = None
        self._process: Any = None
        self._conn: Connection | None = None
        self._reader: threading.Thread | None = None
        self._channel: _Channel

    @property
    def name(self) -> str:
        return f"{self.connector_id}-{self.index}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self, paused: bool = False) -> None:
        # spawn, not fork: this process has librdkafka and HTTP threads a fork would copy
        # mid-flight.
        context = multiprocessing.get_context("spawn")
        mine, theirs = context.Pipe()
        recipe = replace(self.recipe, paused=paused, config_hash=self.config_hash)
        self._process = context.Process(target=child_main, args=(recipe, theirs),
                                        name=f"ferry-task-{self.name}", daemon=True)
        self._process.start()
        theirs.close()
        self._conn, self._channel = mine, _Channel(mine)
        self._reader = threading.Thread(target=self._read, name=f"{self.name}-pipe",
                                        daemon=True)
        self._reader.start()
        log.info("task %s runs in process %d", self.name, self._process.pid)

    def pause(self) -> None:
        self._command("pause")

    def resume(self) -> None:
        self._command("resume")

    def stop(self) -> None:
        self._command("stop")

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the child to end; True when it did."""
        if self._reader is None:
            return True
        self._reader.join(timeout)
        return not self._reader.is_alive()

    def _command(self, word: str) -> None:
        # Sent to a child that is gone, it is dropped: _read reports how the child ended.
        if self._conn is not None:
            self._channel.send(word)

    def _read(self) -> None:
        assert self._conn is not None
        ended = False
        try:
            while not ended:
                try:
                    message = self._conn.recv()
                except (EOFError, OSError):
                    break
                ended = self._handle(message)
        finally:
            self._process.join(5 if ended else None)
            if not ended:
                self._report_crash(self._process.exitcode)
            self._conn.close()

    def _handle(self, message: tuple[Any, ...]) -> bool:
        kind = message[0]
        if kind == "status":
            _, state, trace, generation, config_hash = message
            if state == State.FAILED.value:
                self.failure = RuntimeError((trace or "task failed").strip().splitlines()[-1])
            self.status.set_task(self.connector_id, self.index, State(state), trace, generation,
                                 config_hash)
        elif kind == "metrics":
            METRICS.report(self.name, message[1])
        return bool(kind == "end")

    def _report_crash(self, exitcode: int | None) -> None:
        how = (f"killed by signal {-exitcode}" if exitcode is not None and exitcode < 0
               else f"exit code {exitcode}")
        trace = f"the task's process {self.pid} ended without stopping its task ({how})"
        log.error("task %s: %s", self.name, trace)
        self.failure = RuntimeError(trace)
        self.status.set_task(self.connector_id, self.index, State.FAILED, trace,
                             self.generation, self.config_hash)


# The child --------------------------------------------------------------------------------

def child_main(recipe: TaskRecipe, conn: Connection) -> None:
    """The task process: build the task as a thread runner, obey the pipe, report back."""
    from ferry.runtime.connector_runtime import ConnectorRuntime
    from ferry.runtime.logging_context import configure_logging, task_context
    from ferry.runtime.offsets import MemoryOffsetStore
    from ferry.runtime.secrets import SCRUBBER

    stop_asked = threading.Event()
    built: list[Any] = []

    def on_signal(_signum: int, _frame: Any) -> None:
        stop_asked.set()
        for runner in built:
            runner.stop()

    signal.signal(signal.SIGINT, on_signal)
    configure_logging(recipe.log_format, recipe.log_level, SCRUBBER)
    channel = _Channel(conn)
    board = StatusBoard(recipe.worker.worker_id, SCRUBBER)

    def forward(_connector: str, index: int | None, status: UnitStatus) -> None:
        if index == recipe.index:
            channel.send(("status", status.state.value, status.trace, status.generation,
                          status.config_hash))
            # With it, the metrics (ferry_task_state among them) at once, not up to 1 s later.
            channel.send(("metrics", ferry_families()))

    board.listeners.append(forward)
    # The child runs its task as a thread: the key says "thread" here, or it would recurse.
    spec = replace(recipe.spec, config={**recipe.spec.config, ISOLATION_KEY: "thread"},
                   generation=recipe.generation)
    runtime = ConnectorRuntime(spec, recipe.worker, MemoryOffsetStore(spec.id), board)
    try:
        with task_context(spec.id, recipe.index):
            runtime.prepare()
            runner = runtime.build_task(recipe.index, recipe.task_config)
    except Exception as exc:  # noqa: BLE001 - reported as the task's failure
        log.error("task %s-%d could not be built: %s", spec.id, recipe.index, exc)
        board.set_task(spec.id, recipe.index, State.FAILED, traceback.format_exc(),
                       recipe.generation, recipe.config_hash)
        channel.send(("end",))
        return
    runner.config_hash = recipe.config_hash
    built.append(runner)
    runner.start(paused=recipe.paused)
    while not runner.join(0):
        command = channel.receive(_METRICS_INTERVAL_S)
        if command == "pause":
            runner.pause()
        elif command == "resume":
            runner.resume()
        if command == "stop" or stop_asked.is_set():
            runner.stop()
            runner.join()
        channel.send(("metrics", ferry_families()))
    channel.send(("metrics", ferry_families()))
    channel.send(("end",))


class _Channel:
    """One end of the pipe: sends from any thread, and a message to a process that is gone
    is dropped (the reader side notices the closed pipe). For the child, that means stop."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._lock = threading.Lock()

    def send(self, message: object) -> None:
        with self._lock, contextlib.suppress(OSError):
            self._conn.send(message)

    def receive(self, timeout: float) -> str | None:
        try:
            if not self._conn.poll(timeout):
                return None
            return str(self._conn.recv())
        except (EOFError, OSError):
            return "stop"
