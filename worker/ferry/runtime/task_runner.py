"""The one template every task runs in: start, iterate, close, with states and a thread.

Subclasses (source and sink runners) fill in ``start_task``, ``iterate`` and ``close_task``;
this class owns the thread, target state (running, paused, stopped) and failure reporting.
"""

from __future__ import annotations

import logging
import threading
import traceback
from abc import ABC, abstractmethod
from typing import Protocol

from ferry.runtime.errors import TaskFailed
from ferry.runtime.logging_context import task_context
from ferry.runtime.metrics import TaskMetrics
from ferry.runtime.status import ALL_STATES, State, StatusBoard

log = logging.getLogger(__name__)


class TaskHandle(Protocol):
    """What a worker holds of a running task: a :class:`TaskRunner` (a thread) or a
    :class:`~ferry.runtime.task_process.ProcessTaskRunner` (a child process)."""

    connector_id: str
    index: int
    config_hash: str
    failure: BaseException | None

    @property
    def name(self) -> str: ...

    def start(self, paused: bool = False) -> None: ...

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    def stop(self) -> None: ...

    def join(self, timeout: float | None = None) -> bool: ...


class TaskRunner(ABC):
    def __init__(self, connector_id: str, index: int, status: StatusBoard,
                 generation: int = 0) -> None:
        self.connector_id = connector_id
        self.index = index
        self.status = status
        self.generation = generation
        # The connector config this task runs (set by distributed workers; reported).
        self.config_hash = ""
        self.metrics = TaskMetrics(connector_id, str(index))
        self._stopping = threading.Event()
        self._resumed = threading.Event()
        self._resumed.set()
        self._thread: threading.Thread | None = None
        self.failure: TaskFailed | BaseException | None = None

    @property
    def name(self) -> str:
        return f"{self.connector_id}-{self.index}"

    # Hooks -------------------------------------------------------------------------------

    @abstractmethod
    def start_task(self) -> None:
        """Create clients and start the plugin task."""

    @abstractmethod
    def iterate(self) -> None:
        """One turn of the loop: poll and produce, or consume and put; commit when due."""

    @abstractmethod
    def close_task(self, failed: bool) -> None:
        """Commit what is safe to commit, stop the plugin task, close clients."""

    def on_pause(self) -> None:  # noqa: B027 - optional hook
        """Called on the task thread when it enters the paused state."""

    def on_resume(self) -> None:  # noqa: B027 - optional hook
        """Called on the task thread when it leaves the paused state."""

    def wake(self) -> None:  # noqa: B027 - optional hook
        """Called from another thread on stop, to interrupt a blocking call."""

    # Lifecycle ---------------------------------------------------------------------------

    def start(self, paused: bool = False) -> None:
        if paused:
            self._resumed.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def pause(self) -> None:
        self._resumed.clear()

    def resume(self) -> None:
        self._resumed.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def stop(self) -> None:
        """Ask the task to stop; :meth:`join` waits for it."""
        self._stopping.set()
        self._resumed.set()
        self.wake()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the task thread; True when it ended."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _set_state(self, state: State, trace: str | None = None) -> None:
        self.status.set_task(self.connector_id, self.index, state, trace, self.generation,
                             self.config_hash)
        self.metrics.state(state.value, ALL_STATES)

    def _run(self) -> None:
        with task_context(self.connector_id, self.index):
            failed = False
            try:
                self.start_task()
                self._loop()
            except TaskFailed as exc:
                failed = True
                self._fail(exc, exc.trace)
            except Exception as exc:  # noqa: BLE001 - any plugin failure fails the task
                failed = True
                self._fail(exc, traceback.format_exc())
            finally:
                self._close(failed)

    def _loop(self) -> None:
        self._set_state(State.RUNNING if self._resumed.is_set() else State.PAUSED)
        paused = not self._resumed.is_set()
        if paused:
            self.on_pause()
        while not self.stopping:
            if not self._resumed.is_set():
                if not paused:
                    paused = True
                    self.on_pause()
                    self._set_state(State.PAUSED)
                self._resumed.wait(0.5)
                if self.stopping:
                    break
                # A paused sink still needs its consumer polled to stay in the group.
                self.iterate_paused()
                continue
            if paused:
                paused = False
                self.on_resume()
                self._set_state(State.RUNNING)
            self.iterate()

    def iterate_paused(self) -> None:  # noqa: B027 - optional hook
        """A turn of the loop while paused (keep group membership alive)."""

    def _fail(self, exc: BaseException, trace: str) -> None:
        self.failure = exc
        log.error("task %s failed: %s", self.name, exc)
        self._set_state(State.FAILED, trace)

    def _close(self, failed: bool) -> None:
        try:
            self.close_task(failed)
        except Exception as exc:
            log.exception("task %s: error while stopping", self.name)
            if not failed:
                self._fail(exc, traceback.format_exc())
                return
        if not failed:
            self._set_state(State.STOPPED)
