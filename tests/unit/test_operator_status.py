"""The status function: Ready for every target state, failures, lost workers, conditions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ferry import protocol
from ferry_operator import restarts
from ferry_operator.context import RECONCILE_WAIT, Entry
from ferry_operator.model import ConnectorResource
from ferry_operator.status import (
    Observed,
    Problem,
    build_status,
    failed_since,
    first_line,
    merge_patch,
)

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
TRACE = ("Traceback (most recent call last):\n  File \"x.py\", line 1, in start\n"
         "RuntimeError: task 0 told to fail by /var/tmp/fail-0\n")


def body(state: str = "running", tasks: int = 2, replicas: int = 1, generation: int = 3,
         status: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "gen", "namespace": "ns", "uid": "u1", "generation": generation},
            "spec": {"class": "DataGen", "tasksMax": tasks, "state": state, "replicas": replicas,
                     "config": {"topic": "t"}, **spec},
            "status": status or {}}


def unit(state: str, worker: str = "w-1", trace: str | None = None,
         time_ms: int = 0) -> protocol.UnitStatusRecord:
    return protocol.UnitStatusRecord(state=state, worker_id=worker, trace=trace, time_ms=time_ms)


def folded(connector: str | None, *tasks: str, worker: str = "w-1") -> protocol.ConnectorStatus:
    return protocol.ConnectorStatus(
        connector=unit(connector, worker) if connector else None,
        tasks={i: unit(s, worker, TRACE if s == "FAILED" else None) for i, s in enumerate(tasks)})


def status_of(raw: dict[str, Any], units: protocol.ConnectorStatus | None, **observed: Any
              ) -> dict[str, Any]:
    connector = ConnectorResource.from_body(raw)
    seen = Observed(units=units, workers_ready=observed.pop("workers_ready", 1), **observed)
    return build_status(raw, connector, seen, NOW)


def cond(status: dict[str, Any], kind: str = "Ready") -> dict[str, Any]:
    return next(c for c in status["conditions"] if c["type"] == kind)


@pytest.mark.parametrize("target,state", [("running", "RUNNING"), ("paused", "PAUSED"),
                                          ("stopped", "STOPPED")])
def test_ready_when_everything_reached_the_requested_state(target: str, state: str) -> None:
    status = status_of(body(target), folded(state, state, state), observed_generation=3)
    assert cond(status) == {"type": "Ready", "status": "True", "reason": state.capitalize(),
                            "message": cond(status)["message"], "observedGeneration": 3,
                            "lastTransitionTime": "2026-01-02T03:04:05Z"}
    assert cond(status, "Degraded")["status"] == "False"
    assert status["state"] == state
    assert status["observedGeneration"] == 3


@pytest.mark.parametrize("target,connector,tasks,reason", [
    ("running", "RUNNING", ("RUNNING", "PAUSED"), "TasksNotReady"),
    ("running", "PAUSED", ("RUNNING", "RUNNING"), "Progressing"),
    ("paused", "RUNNING", ("PAUSED", "PAUSED"), "Progressing"),
    ("paused", "PAUSED", ("PAUSED", "RUNNING"), "TasksNotReady"),
    ("stopped", "STOPPED", ("STOPPED", "RUNNING"), "Progressing"),
    ("running", "RUNNING", (), "NoTasks"),
    ("running", "UNASSIGNED", ("RUNNING",), "Unassigned"),
])
def test_not_ready_until_connector_and_every_task_arrive(target: str, connector: str,
                                                         tasks: tuple[str, ...],
                                                         reason: str) -> None:
    status = status_of(body(target), folded(connector, *tasks))
    assert cond(status)["status"] == "False"
    assert cond(status)["reason"] == reason
    assert cond(status, "Degraded")["status"] == "False", "progress, not a fault"


def test_stopped_without_any_unit_status_is_ready() -> None:
    status = status_of(body("stopped"), None)
    assert cond(status)["status"] == "True" and status["state"] == "STOPPED"


def test_a_failed_task_is_never_hidden() -> None:
    status = status_of(body(), folded("RUNNING", "RUNNING", "FAILED"))
    ready = cond(status)
    assert ready["status"] == "False" and ready["reason"] == "TaskFailed"
    assert ready["message"] == "task 1 failed: RuntimeError: task 0 told to fail by /var/tmp/fail-0"
    assert cond(status, "Degraded")["status"] == "True"
    assert cond(status, "Degraded")["reason"] == "TaskFailed"
    assert status["state"] == "FAILED"
    assert status["tasks"][1]["trace"] == TRACE
    assert "trace" not in status["tasks"][0]
    assert (status["tasksRunning"], status["tasksTotal"], status["tasksReady"]) == (1, 2, "1/2")


def test_invalid_configuration_reported_by_workers() -> None:
    units = protocol.ConnectorStatus(connector=unit(
        "FAILED", trace="invalid configuration: connector.class: no connector named 'Nope'"))
    status = status_of(body(), units)
    assert cond(status)["reason"] == "ConfigInvalid"
    assert "no connector named 'Nope'" in cond(status)["message"]


def test_problem_of_the_last_reconcile_comes_first() -> None:
    status = status_of(body(), folded("RUNNING", "RUNNING", "RUNNING"),
                       problem=Problem("KafkaUnavailable", "cannot create topics: timeout"))
    assert cond(status)["reason"] == "KafkaUnavailable"
    assert cond(status, "Degraded")["message"] == "cannot create topics: timeout"


def test_invalid_spec_without_a_resource() -> None:
    raw = body()
    status = build_status(raw, None, Observed(problem=Problem("InvalidSpec", "spec.x bad")), NOW)
    assert cond(status)["reason"] == "InvalidSpec" and status["state"] == "UNASSIGNED"


def test_units_on_a_worker_that_is_gone() -> None:
    units = folded("RUNNING", "RUNNING", "RUNNING", worker="w-dead")
    units.tasks[0] = unit("RUNNING", "w-live")
    status = status_of(body(), units, live_workers=frozenset({"w-live"}))
    assert cond(status)["reason"] == "WorkerLost"
    assert "connector, task 1" in cond(status)["message"]
    assert status["tasks"][1] == {"id": 1, "state": "UNASSIGNED"}
    assert status["tasks"][0]["worker"] == "w-live"
    # Unknown pods (no watch event yet): trust what the workers reported.
    assert cond(status_of(body(), units))["status"] == "True"


def test_workers_not_ready_and_no_workers() -> None:
    assert cond(status_of(body(), None, workers_ready=0))["reason"] == "WorkersNotReady"
    assert cond(status_of(body(replicas=0), None, workers_ready=0))["reason"] == "NoWorkers"


def test_counts_selector_topics_and_workers() -> None:
    raw = body(replicas=3, config={"topics": "a, b", "errors.deadletterqueue.topic.name": "dlq"})
    status = status_of(raw, folded("RUNNING", "RUNNING", "RUNNING"), workers_ready=2)
    assert status["workers"] == "2/3" and status["workersDesired"] == 3
    assert status["selector"] == "app.kubernetes.io/name=ferry-worker,ferry.dev/connector=gen"
    assert status["topics"] == ["a", "b", "dlq"]


def test_transition_time_changes_only_with_the_status() -> None:
    first = status_of(body(), folded("RUNNING", "RUNNING"), observed_generation=3)
    later = NOW + timedelta(minutes=5)
    raw = body(status=first)
    connector = ConnectorResource.from_body(raw)
    # Same status, another reason (more tasks): the time stays.
    same = build_status(raw, connector, Observed(units=folded("RUNNING", "RUNNING", "RUNNING"),
                                                 workers_ready=1), later)
    assert cond(same)["lastTransitionTime"] == cond(first)["lastTransitionTime"]
    assert same["observedGeneration"] == 3, "kept from the previous status when unknown"
    # A flip: a new time, for Ready and for Degraded.
    flipped = build_status(raw, connector, Observed(units=folded("RUNNING", "FAILED"),
                                                    workers_ready=1), later)
    assert cond(flipped)["lastTransitionTime"] == "2026-01-02T03:09:05Z"
    assert cond(flipped, "Degraded")["lastTransitionTime"] == "2026-01-02T03:09:05Z"


def test_restart_bookkeeping_is_carried() -> None:
    previous = {"lastRestartId": "r0", "autoRestart": {"count": 2,
                                                       "lastTime": "2026-01-01T00:00:00Z"},
                "lastOffsetsId": "o1"}
    status = status_of(body(status=previous), folded("RUNNING", "RUNNING"))
    assert status["lastRestartId"] == "r0" and status["lastOffsetsId"] == "o1"
    assert status["autoRestart"] == {"count": 2, "lastTime": "2026-01-01T00:00:00Z"}
    status = status_of(body(status=previous), folded("RUNNING", "RUNNING"),
                       last_restart_id="r1",
                       auto_restart=restarts.AutoRestartState(3, NOW))
    assert status["lastRestartId"] == "r1"
    assert status["autoRestart"] == {"count": 3, "lastTime": "2026-01-02T03:04:05Z"}


def test_gave_up_says_what_to_do() -> None:
    status = status_of(body(), folded("RUNNING", "FAILED"), auto_restart_gave_up=True)
    assert "auto-restart gave up after 5 restarts" in cond(status)["message"]


def test_failed_since_is_the_latest_failure() -> None:
    units = protocol.ConnectorStatus(connector=unit("RUNNING", time_ms=5_000),
                                     tasks={0: unit("FAILED", time_ms=1_000),
                                            1: unit("FAILED", time_ms=2_000)})
    assert failed_since(units) == datetime.fromtimestamp(2, UTC)
    assert failed_since(folded("RUNNING", "RUNNING")) is None
    assert failed_since(None) is None


def test_first_line() -> None:
    assert first_line(TRACE) == "RuntimeError: task 0 told to fail by /var/tmp/fail-0"
    assert first_line("invalid configuration: x\nmore") == "invalid configuration: x"
    assert first_line(None) == ""


def test_merge_patch_nulls_what_disappeared() -> None:
    old = {"a": 1, "connector": {"state": "FAILED", "trace": "x"}, "gone": True, "list": [1]}
    new = {"a": 1, "connector": {"state": "RUNNING"}, "list": [1, 2]}
    assert merge_patch(old, new) == {"connector": {"state": "RUNNING", "trace": None},
                                     "gone": None, "list": [1, 2]}
    assert merge_patch(new, new) == {}


def test_not_ready_until_every_published_task_has_reported() -> None:
    units = protocol.ConnectorStatus(
        connector=protocol.UnitStatusRecord("RUNNING", "w-1", task_count=2, config_hash="h2"),
        tasks={0: protocol.UnitStatusRecord("RUNNING", "w-1", config_hash="h2")})
    status = status_of(body(tasks=2), units)
    assert cond(status)["status"] == "False" and cond(status)["reason"] == "TasksNotReady"
    assert status["tasksReady"] == "1/2" and status["tasksTotal"] == 2


def test_tasks_on_the_previous_config_are_not_ready() -> None:
    units = protocol.ConnectorStatus(
        connector=protocol.UnitStatusRecord("RUNNING", "w-1", task_count=1, config_hash="new"),
        tasks={0: protocol.UnitStatusRecord("RUNNING", "w-1", config_hash="old"),
               1: protocol.UnitStatusRecord("RUNNING", "w-1", config_hash="old")})
    status = status_of(body(tasks=1), units)
    assert cond(status)["reason"] == "Progressing"
    assert "task 0 still run(s) the previous configuration" in cond(status)["message"]
    # Task 1 no longer exists for this config: it is not listed while its record goes away.
    assert [t["id"] for t in status["tasks"]] == [0]


def test_status_waits_for_a_running_or_first_reconcile() -> None:
    entry = Entry(first_seen=100.0)
    assert entry.reconcile_pending(101.0) == RECONCILE_WAIT - 1.0  # none has ended yet
    assert entry.reconcile_pending(100.0 + RECONCILE_WAIT + 1) == 0.0  # waited long enough
    entry.reconciling_since = 102.0
    assert entry.reconcile_pending(103.0) == RECONCILE_WAIT - 1.0
    entry.reconciling_since, entry.reconcile_ended = None, True
    assert entry.reconcile_pending(103.0) == 0.0  # ended: the status is written at once
    entry.reconciling_since = 200.0  # a later reconcile runs
    assert entry.reconcile_pending(230.0) == RECONCILE_WAIT - 30.0


def test_connectors_by_state_gauge_follows_entries() -> None:
    from ferry_operator import metrics
    from ferry_operator.context import Operator, RuntimeSettings
    from ferry_operator.model import OperatorSettings

    def gauge(state: str) -> float | None:
        return metrics.REGISTRY.get_sample_value("ferry_operator_connectors", {"state": state})

    no_api: Any = None  # the gauge needs no API server
    op = Operator(OperatorSettings(), RuntimeSettings(), api=no_api, operator_kafka={})
    op.entry("ns/a").last_state = "RUNNING"
    op.entry("ns/b").last_state = "RUNNING"
    op.entry("ns/c").last_state = "FAILED"
    op.publish_states()
    assert (gauge("RUNNING"), gauge("FAILED"), gauge("PAUSED")) == (2, 1, 0)
    op.forget("ns/a")
    assert (gauge("RUNNING"), gauge("FAILED")) == (1, 1)
