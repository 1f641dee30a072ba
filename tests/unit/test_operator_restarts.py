"""Restart decisions: spec.restart nonce, annotations, automatic restarts with backoff."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ferry_operator import restarts
from ferry_operator.model import ConnectorResource
from ferry_operator.model.resource import AutoRestart
from ferry_operator.restarts import Action, AutoRestartState, Backoff

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def connector(**spec: Any) -> ConnectorResource:
    return ConnectorResource.from_body({
        "metadata": {"name": "c", "namespace": "ns", "uid": "u1"},
        "spec": {"class": "DataGen", "config": {"topic": "t"}, **spec}})


def test_declarative_restart_once_per_id() -> None:
    resource = connector(restart={"id": "2026-01-01", "includeTasks": True})
    first = restarts.declarative(resource, None)
    assert first is not None
    assert (first.include_tasks, first.only_failed, first.source) == (True, False, "spec")
    assert first.request_id == "spec:u1:2026-01-01", "stable: a repeated write restarts once"
    assert restarts.declarative(resource, "2026-01-01") is None
    assert restarts.declarative(connector(), None) is None


def test_restart_annotation_restarts_connector_and_tasks() -> None:
    asked = restarts.from_annotations({"ferry.dev/restart": "true", "other": "x"}, "42")
    assert asked.handled == ("ferry.dev/restart",) and not asked.errors
    (restart,) = asked.restarts
    assert (restart.include_tasks, restart.only_failed, restart.task) == (True, False, None)
    assert restart.request_id == "annotation:42"
    (failed,) = restarts.from_annotations({"ferry.dev/restart": "failed"}, "43").restarts
    assert failed.only_failed and failed.describe() == "failed units of the connector and tasks"


def test_restart_task_annotation() -> None:
    asked = restarts.from_annotations({"ferry.dev/restart-task": "2"}, "7")
    (restart,) = asked.restarts
    assert restart.task == 2 and not restart.include_tasks and restart.describe() == "task 2"
    bad = restarts.from_annotations({"ferry.dev/restart-task": "two"}, "8")
    assert bad.restarts == () and bad.handled == ("ferry.dev/restart-task",)
    assert "must be a task number" in bad.errors[0]
    assert restarts.from_annotations({}, "9") == restarts.AnnotationRequests((), (), ())


def test_backoff_doubles_and_caps() -> None:
    backoff = Backoff(base=5, cap=60)
    assert [backoff.delay(n) for n in range(6)] == [5, 10, 20, 40, 60, 60]


def test_auto_restart_waits_then_restarts_then_waits_longer() -> None:
    policy, backoff = AutoRestart(enabled=True, max_restarts=3), Backoff(base=5, cap=300)
    failed = T0
    waiting = restarts.auto_restart(policy, AutoRestartState(), failed, T0 + timedelta(seconds=2),
                                    backoff)
    assert waiting.action is Action.WAIT and waiting.wait == 3
    first = restarts.auto_restart(policy, AutoRestartState(), failed, T0 + timedelta(seconds=5),
                                  backoff)
    assert first.action is Action.RESTART
    assert first.state == AutoRestartState(1, T0 + timedelta(seconds=5))
    # Still FAILED from before the restart took effect: wait from the restart, twice as long.
    again = restarts.auto_restart(policy, first.state, failed, T0 + timedelta(seconds=9), backoff)
    assert again.action is Action.WAIT and again.wait == 6
    # Failed again right after the restart: 10 s after that failure.
    refailed = T0 + timedelta(seconds=6)
    second = restarts.auto_restart(policy, first.state, refailed, T0 + timedelta(seconds=16),
                                   backoff)
    assert second.action is Action.RESTART and second.state.count == 2


def test_auto_restart_gives_up_after_max_restarts() -> None:
    decision = restarts.auto_restart(AutoRestart(True, 2), AutoRestartState(2, T0), T0,
                                     T0 + timedelta(hours=1))
    assert decision.action is Action.GIVE_UP and decision.state.count == 2


def test_auto_restart_disabled() -> None:
    decision = restarts.auto_restart(AutoRestart(False, 5), AutoRestartState(), T0,
                                     T0 + timedelta(hours=1))
    assert decision.action is Action.NONE


def test_count_resets_after_running_for_a_while() -> None:
    state = AutoRestartState(3, T0)
    soon = restarts.auto_restart(AutoRestart(), state, None, T0 + timedelta(seconds=30))
    assert soon.action is Action.NONE and soon.state.count == 3
    later = restarts.auto_restart(AutoRestart(), state, None, T0 + timedelta(seconds=61))
    assert later.action is Action.RESET and later.state == AutoRestartState(0, T0)
