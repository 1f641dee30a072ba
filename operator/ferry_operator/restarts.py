"""When to ask the workers for a restart: declarative, imperative and automatic.

Pure decisions, no external calls or any I/O. A restart reaches the workers as one restart
record on ``ferry-configs`` (``ferry.control.ControlClient.request_restart``); the worker that
holds a unit compares the record's id with the last one it handled, so writing the same id
twice restarts once.

- ``spec.restart`` (GitOps): a new ``id`` is one request with its ``includeTasks`` and
  ``onlyFailed``; the request id is derived from the nonce, so an operator that crashes
  before recording ``status.lastRestartId`` and asks again restarts nothing twice.
- ``ferry.dev/restart`` (kubectl): restarts the connector and all its tasks; the value
  ``failed`` restarts only the failed ones. ``ferry.dev/restart-task: "<n>"`` restarts task n.
  Both annotations are removed once the request is written.
- Auto-restart of a failed connector or task: after an exponential backoff counted from the
  failure (``base``, doubling, capped), at most ``maxRestarts`` times; the count resets once
  everything has run for ``reset_after`` seconds since the last automatic restart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from .model import resource

RESTART_ANNOTATION = "ferry.dev/restart"
RESTART_TASK_ANNOTATION = "ferry.dev/restart-task"


@dataclass(frozen=True)
class Restart:
    """One restart request to write."""

    request_id: str
    include_tasks: bool = True
    only_failed: bool = False
    task: int | None = None
    source: str = "annotation"  # spec, annotation or auto

    def describe(self) -> str:
        if self.task is not None:
            return f"task {self.task}"
        what = "connector and tasks" if self.include_tasks else "connector"
        return f"failed units of the {what}" if self.only_failed else what


def declarative(connector: resource.ConnectorResource, last_handled: str | None) -> Restart | None:
    """The request ``spec.restart`` asks for, or None when its id was handled already."""
    request = connector.restart
    if request is None or request.id == last_handled:
        return None
    return Restart(request_id=f"spec:{connector.uid}:{request.id}",
                   include_tasks=request.include_tasks, only_failed=request.only_failed,
                   source="spec")


@dataclass(frozen=True)
class AnnotationRequests:
    restarts: tuple[Restart, ...]
    handled: tuple[str, ...]  # annotation keys to remove
    errors: tuple[str, ...]  # messages for a Warning event


def from_annotations(annotations: Mapping[str, str], resource_version: str) -> AnnotationRequests:
    """The restarts the imperative annotations ask for; each one is removed once handled."""
    restarts: list[Restart] = []
    handled: list[str] = []
    errors: list[str] = []
    if RESTART_ANNOTATION in annotations:
        value = str(annotations[RESTART_ANNOTATION]).strip().lower()
        restarts.append(Restart(request_id=f"annotation:{resource_version}",
                                include_tasks=True, only_failed=value == "failed"))
        handled.append(RESTART_ANNOTATION)
    if RESTART_TASK_ANNOTATION in annotations:
        raw = str(annotations[RESTART_TASK_ANNOTATION]).strip()
        handled.append(RESTART_TASK_ANNOTATION)
        if raw.isdigit():
            restarts.append(Restart(request_id=f"annotation-task:{resource_version}",
                                    include_tasks=False, task=int(raw)))
        else:
            errors.append(f"{RESTART_TASK_ANNOTATION} must be a task number (0, 1, ...), "
                          f"got {raw!r}; removed without a restart")
    return AnnotationRequests(tuple(restarts), tuple(handled), tuple(errors))


# Automatic restarts --------------------------------------------------------------------


@dataclass(frozen=True)
class Backoff:
    base: float = 5.0
    cap: float = 300.0
    reset_after: float = 60.0

    def delay(self, restarts_done: int) -> float:
        return float(min(self.base * 2 ** restarts_done, self.cap))


@dataclass(frozen=True)
class AutoRestartState:
    """What ``status.autoRestart`` records."""

    count: int = 0
    last_time: datetime | None = None


class Action(Enum):
    NONE = "none"
    WAIT = "wait"
    RESTART = "restart"
    GIVE_UP = "give-up"
    RESET = "reset"


@dataclass(frozen=True)
class AutoRestartDecision:
    action: Action
    state: AutoRestartState
    wait: float = 0.0  # seconds until the next restart is due (WAIT)


def auto_restart(policy: resource.AutoRestart, state: AutoRestartState,
                 failed_since: datetime | None, now: datetime,
                 backoff: Backoff = Backoff()) -> AutoRestartDecision:
    """What to do now; ``failed_since`` is when the latest failure was reported, if any."""
    if failed_since is None:
        if (state.count and state.last_time is not None
                and (now - state.last_time).total_seconds() >= backoff.reset_after):
            return AutoRestartDecision(Action.RESET, AutoRestartState(0, state.last_time))
        return AutoRestartDecision(Action.NONE, state)
    if not policy.enabled:
        return AutoRestartDecision(Action.NONE, state)
    if state.count >= policy.max_restarts:
        return AutoRestartDecision(Action.GIVE_UP, state)
    since = failed_since
    if state.last_time is not None and state.last_time > since:
        since = state.last_time  # the restart was asked for; wait for it to take effect
    due = backoff.delay(state.count) - (now - since).total_seconds()
    if due > 0:
        return AutoRestartDecision(Action.WAIT, state, due)
    return AutoRestartDecision(Action.RESTART, AutoRestartState(state.count + 1, now))
