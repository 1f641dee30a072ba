"""A Connector's ``.status`` from what the operator observed: pure, no external calls or any I/O.

:func:`build_status` takes the resource, the folded unit statuses from ``ferry-status``, the
worker Deployment's readiness and the operator's own bookkeeping (the last reconcile's
problem, observed generation, restart and offsets ids, sink lag) and returns the whole status
object. ``Ready`` is
True only when the connector and every task reached the requested state (RUNNING for
running, PAUSED for paused, STOPPED for stopped); otherwise ``Ready`` is False and
``Degraded`` names what is wrong when it is a fault rather than progress. Conditions have the
shape of metav1.Condition and keep their ``lastTransitionTime`` while their status stays.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ferry import protocol

from . import kafka_side, offsets, restarts
from .model import resource, workers

JSON = dict[str, Any]

READY = "Ready"
DEGRADED = "Degraded"
MAX_TRACE = 8000
MAX_MESSAGE = 1000

WANTED = {"running": "RUNNING", "paused": "PAUSED", "stopped": "STOPPED"}

# Reasons that are faults (Degraded=True), not progress.
FAULTS = frozenset({"InvalidSpec", "ConfigInvalid", "ConnectorFailed", "TaskFailed",
                    "KafkaUnavailable", "ApplyFailed", "WorkerLost"})


@dataclass(frozen=True)
class Problem:
    """Why the last reconcile could not finish (InvalidSpec, KafkaUnavailable, ApplyFailed)."""

    reason: str
    message: str


@dataclass(frozen=True)
class Observed:
    """What the operator knows about a connector besides the resource itself."""

    units: protocol.ConnectorStatus | None = None
    workers_ready: int = 0
    live_workers: frozenset[str] | None = None  # pod names; None while unknown
    problem: Problem | None = None
    observed_generation: int | None = None  # the generation last reconciled, when known
    last_restart_id: str | None = None
    auto_restart: restarts.AutoRestartState | None = None
    auto_restart_gave_up: bool = False
    last_offsets_id: str | None = None
    offsets: offsets.Outcome | None = None  # the last spec.offsets attempt
    sink_lag: Mapping[str, int] | None = None  # topic -> lag; None: not measured (yet)


@dataclass(frozen=True)
class Verdict:
    ready: bool
    reason: str
    message: str


@dataclass
class _Units:
    connector: JSON | None = None
    tasks: list[JSON] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    # From the connector unit's record: how many tasks it published; tasks on older configs.
    expected_tasks: int | None = None
    stale: list[int] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.expected_tasks if self.expected_tasks is not None else len(self.tasks)


def timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_timestamp(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def first_line(trace: str | None) -> str:
    """The line that says what happened: a traceback's last line, else the first line."""
    lines = [line.strip() for line in (trace or "").strip().splitlines() if line.strip()]
    if not lines:
        return ""
    if lines[0].startswith("Traceback"):
        return lines[-1][:MAX_MESSAGE]
    return lines[0][:MAX_MESSAGE]


def build_status(body: Mapping[str, Any], connector: resource.ConnectorResource | None,
                 observed: Observed, now: datetime) -> JSON:
    """The complete ``.status`` to write (the caller patches only when it differs)."""
    previous = dict(body.get("status") or {})
    generation = observed.observed_generation
    if generation is None:
        generation = previous.get("observedGeneration")
    units = _units(observed.units, observed.live_workers)
    verdict = evaluate(connector, observed, units)
    status: JSON = {}
    if generation is not None:
        status["observedGeneration"] = int(generation)
    status["state"] = _state(connector, units)
    status["conditions"] = _conditions(previous.get("conditions") or [], verdict,
                                       status.get("observedGeneration"), now,
                                       observed.offsets)
    if units.connector is not None:
        status["connector"] = units.connector
    status["tasks"] = units.tasks
    running = sum(1 for t in units.tasks if t["state"] == "RUNNING")
    status.update(tasksRunning=running, tasksTotal=units.total,
                  tasksReady=f"{running}/{units.total}")
    desired = connector.replicas if connector is not None else \
        int(previous.get("workersDesired") or 0)
    status.update(workersReady=observed.workers_ready, workersDesired=desired,
                  workers=f"{observed.workers_ready}/{desired}")
    if connector is not None:
        status["selector"] = workers.selector(connector)
        status["topics"] = kafka_side.topics_in_use(connector.config)
    elif previous.get("selector"):
        status["selector"] = previous["selector"]
    auto = observed.auto_restart or auto_restart_state(previous)
    if auto.count or auto.last_time is not None:
        status["autoRestart"] = {"count": auto.count}
        if auto.last_time is not None:
            status["autoRestart"]["lastTime"] = timestamp(auto.last_time)
    last_restart = observed.last_restart_id or previous.get("lastRestartId")
    if last_restart:
        status["lastRestartId"] = last_restart
    last_offsets = observed.last_offsets_id or previous.get("lastOffsetsId")
    if last_offsets:
        status["lastOffsetsId"] = last_offsets
    sink = connector is not None and offsets.is_sink(connector)
    if sink and observed.sink_lag is not None:
        status["sinkLag"] = dict(sorted(observed.sink_lag.items()))
    elif (sink or connector is None) and "sinkLag" in previous:
        status["sinkLag"] = previous["sinkLag"]
    return status


def auto_restart_state(status: Mapping[str, Any]) -> restarts.AutoRestartState:
    """What a previous status recorded about automatic restarts."""
    recorded = status.get("autoRestart") or {}
    return restarts.AutoRestartState(int(recorded.get("count") or 0),
                                     parse_timestamp(recorded.get("lastTime")))


def failed_since(units: protocol.ConnectorStatus | None) -> datetime | None:
    """When the latest failure of the connector or a task was reported; None if none failed."""
    if units is None:
        return None
    records = [units.connector] if units.connector is not None else []
    records.extend(units.tasks.values())
    times = [r.time_ms for r in records if r.state == "FAILED"]
    if not times:
        return None
    return datetime.fromtimestamp(max(times) / 1000, UTC)


def evaluate(connector: resource.ConnectorResource | None, observed: Observed,
             units: _Units) -> Verdict:
    """Ready or not, and why, in order of what a user must fix first."""
    if observed.problem is not None:
        return Verdict(False, observed.problem.reason, observed.problem.message)
    if connector is None:
        return Verdict(False, "InvalidSpec", "the resource cannot be read")
    unit = units.connector
    if unit is not None and unit["state"] == "FAILED":
        message = first_line(unit.get("trace")) or "the connector failed"
        if "invalid configuration" in (unit.get("trace") or ""):
            return Verdict(False, "ConfigInvalid", message)
        return Verdict(False, "ConnectorFailed", f"connector failed: {message}"
                       + _gave_up(observed, connector))
    failed = [t for t in units.tasks if t["state"] == "FAILED"]
    if failed:
        task = failed[0]
        more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
        return Verdict(False, "TaskFailed", f"task {task['id']} failed{more}: "
                       f"{first_line(task.get('trace')) or 'no trace'}"
                       + _gave_up(observed, connector))
    if units.lost:
        return Verdict(False, "WorkerLost", f"{', '.join(units.lost)} ran on a worker that is "
                       "gone; waiting for Kafka to reassign")
    wanted = WANTED[connector.state]
    if connector.replicas == 0 and wanted != "STOPPED":
        return Verdict(False, "NoWorkers", "spec.replicas is 0: no worker runs the connector")
    if unit is None or unit["state"] in ("UNASSIGNED", "RESTARTING"):
        if observed.workers_ready == 0 and connector.replicas > 0:
            return Verdict(False, "WorkersNotReady",
                           f"0/{connector.replicas} worker pods ready")
        if unit is None and wanted == "STOPPED":
            return Verdict(True, "Stopped", "the connector is stopped")
        return Verdict(False, "Unassigned", "waiting for a worker to run the connector")
    if unit["state"] != wanted:
        return Verdict(False, "Progressing",
                       f"connector is {unit['state']}, {wanted} requested")
    behind = [t for t in units.tasks if t["state"] != wanted]
    if wanted == "STOPPED":
        if behind:
            return Verdict(False, "Progressing", f"{len(behind)} tasks still stopping")
        return Verdict(True, "Stopped", "the connector and its tasks are stopped")
    if not units.tasks:
        return Verdict(False, "NoTasks", f"connector is {wanted} but has no tasks (yet)")
    if units.expected_tasks is not None and len(units.tasks) < units.expected_tasks:
        return Verdict(False, "TasksNotReady", f"{len(units.tasks)}/{units.expected_tasks} "
                       "tasks have reported; waiting for the rest")
    if units.stale:
        listed = ", ".join(f"task {i}" for i in units.stale[:3])
        return Verdict(False, "Progressing", f"{listed} still run(s) the previous configuration")
    if behind:
        listed = ", ".join(f"task {t['id']} is {t['state']}" for t in behind[:3])
        return Verdict(False, "TasksNotReady", f"{len(units.tasks) - len(behind)}/"
                       f"{len(units.tasks)} tasks {wanted}; {listed}")
    return Verdict(True, wanted.capitalize(),
                   f"connector and {len(units.tasks)} tasks {wanted}")


def _gave_up(observed: Observed, connector: resource.ConnectorResource) -> str:
    if not observed.auto_restart_gave_up:
        return ""
    return (f"; auto-restart gave up after {connector.auto_restart.max_restarts} restarts: "
            "fix the cause, then restart (annotate ferry.dev/restart=failed)")


def _units(folded: protocol.ConnectorStatus | None, live: frozenset[str] | None) -> _Units:
    units = _Units()
    if folded is None:
        return units
    current_hash = ""
    if folded.connector is not None:
        units.connector = _unit(folded.connector, live, "connector", units.lost)
        units.expected_tasks = folded.connector.task_count
        current_hash = folded.connector.config_hash
    for index in sorted(folded.tasks):
        if units.expected_tasks is not None and index >= units.expected_tasks:
            continue  # a task the connector no longer has; its record is being removed
        record = folded.tasks[index]
        task = _unit(record, live, f"task {index}", units.lost)
        units.tasks.append({"id": index, **task})
        if current_hash and record.config_hash and record.config_hash != current_hash:
            units.stale.append(index)
    return units


def _unit(record: protocol.UnitStatusRecord, live: frozenset[str] | None, name: str,
          lost: list[str]) -> JSON:
    state = record.state
    if state in ("RUNNING", "PAUSED") and live is not None and record.worker_id not in live:
        lost.append(name)
        return {"state": "UNASSIGNED"}
    unit: JSON = {"state": state}
    if record.worker_id:
        unit["worker"] = record.worker_id
    if record.trace and state == "FAILED":
        unit["trace"] = record.trace[-MAX_TRACE:]
    return unit


def _state(connector: resource.ConnectorResource | None, units: _Units) -> str:
    if units.connector is not None and units.connector["state"] == "FAILED":
        return "FAILED"
    if any(t["state"] == "FAILED" for t in units.tasks):
        return "FAILED"
    if units.connector is None:
        if connector is not None and connector.state == "stopped":
            return "STOPPED"
        return "UNASSIGNED"
    return str(units.connector["state"])


def _conditions(previous: list[Any], verdict: Verdict, generation: int | None,
                now: datetime, offsets_outcome: offsets.Outcome | None = None) -> list[JSON]:
    degraded = verdict.reason in FAULTS
    wanted = [
        (READY, verdict.ready, verdict.reason, verdict.message),
        (DEGRADED, degraded, verdict.reason if degraded else "AsExpected",
         verdict.message if degraded else ""),
    ]
    before = {c.get("type"): c for c in previous if isinstance(c, Mapping)}
    if offsets_outcome is not None:
        wanted.append((offsets.CONDITION, offsets_outcome.ok, offsets_outcome.reason,
                       offsets_outcome.message))
    conditions: list[JSON] = []
    for kind, flag, reason, message in wanted:
        value = "True" if flag else "False"
        old = before.get(kind) or {}
        since = old.get("lastTransitionTime") if old.get("status") == value else None
        condition: JSON = {"type": kind, "status": value, "reason": reason,
                           "message": message[:MAX_MESSAGE],
                           "lastTransitionTime": since or timestamp(now)}
        if generation is not None:
            condition["observedGeneration"] = int(generation)
        conditions.append(condition)
    kept = before.get(offsets.CONDITION)
    if offsets_outcome is None and kept is not None:
        conditions.append(dict(kept))  # from before an operator restart
    return conditions


def merge_patch(old: Mapping[str, Any], new: Mapping[str, Any]) -> JSON:
    """The JSON merge patch (RFC 7386) from ``old`` to ``new``: removed keys become null."""
    patch: JSON = {}
    for key in old:
        if key not in new:
            patch[key] = None
    for key, value in new.items():
        before = old.get(key)
        if isinstance(value, Mapping) and isinstance(before, Mapping):
            nested = merge_patch(before, value)
            if nested:
                patch[key] = nested
        elif value != before or key not in old:
            patch[key] = value
    return patch
