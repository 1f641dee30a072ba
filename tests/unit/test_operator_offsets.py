"""spec.offsets and status.sinkLag in the operator: the pure decisions and the status."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ferry import offsets_admin, protocol
from ferry_operator import offsets
from ferry_operator.model import ConnectorResource
from ferry_operator.status import Observed, build_status

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def body(state: str = "stopped", request: dict[str, Any] | None = None,
         config: dict[str, Any] | None = None, status: dict[str, Any] | None = None
         ) -> dict[str, Any]:
    spec: dict[str, Any] = {"class": "DataGen", "state": state,
                            "config": config or {"topic": "t"}}
    if request is not None:
        spec["offsets"] = request
    return {"metadata": {"name": "c", "namespace": "ns", "uid": "u", "generation": 2},
            "spec": spec, "status": status or {}}


RESET = {"id": "o1", "action": "reset"}
ALTER = {"id": "o2", "action": "alter",
         "offsets": [{"partition": {"task": 0}, "offset": {"seq": 41}}]}


def test_a_new_id_is_applied_once_and_only_while_stopped() -> None:
    stopped = ConnectorResource.from_body(body(request=RESET))
    assert offsets.decide(stopped, None) is offsets.Step.APPLY
    assert offsets.decide(stopped, "o0") is offsets.Step.APPLY
    assert offsets.decide(stopped, "o1") is offsets.Step.NONE
    assert offsets.decide(stopped, None, failed_id="o1") is offsets.Step.NONE
    running = ConnectorResource.from_body(body("running", RESET))
    assert offsets.decide(running, None) is offsets.Step.WAIT
    assert offsets.decide(ConnectorResource.from_body(body()), None) is offsets.Step.NONE


def test_alter_body_and_outcomes() -> None:
    request = ConnectorResource.from_body(body(request=ALTER)).offsets
    assert request is not None
    assert offsets.body(request) == {"offsets": ALTER["offsets"]}
    outcome, retry = offsets.failed(request, offsets_admin.NotStopped("task 0 is RUNNING"))
    assert retry and outcome.reason == "Stopping" and "task 0 is RUNNING" in outcome.message
    outcome, retry = offsets.failed(request, offsets_admin.OffsetsUnavailable("down"))
    assert retry and outcome.reason == "KafkaUnavailable"
    outcome, retry = offsets.failed(request, offsets_admin.InvalidOffsets("bad"))
    assert not retry and outcome.reason == "Invalid" and "set a new id" in outcome.message
    done = offsets.applied(request, "altered: 1 set")
    assert done.ok and done.reason == "Altered" and done.request_id == "o2"
    assert offsets.waiting(request, "running").reason == "WaitingForStop"


def test_sinks_by_the_topics_rule_and_lag_interval() -> None:
    assert offsets.is_sink(ConnectorResource.from_body(body(config={"topics": "a,b"})))
    assert not offsets.is_sink(ConnectorResource.from_body(body()))
    assert offsets.lag_due(None, 100.0, 30)
    assert not offsets.lag_due(80.0, 100.0, 30)
    assert offsets.lag_due(70.0, 100.0, 30)
    assert not offsets.lag_due(None, 100.0, 0)


def status_of(raw: dict[str, Any], **observed: Any) -> dict[str, Any]:
    units = protocol.ConnectorStatus(connector=protocol.UnitStatusRecord("STOPPED", "w"))
    return build_status(raw, ConnectorResource.from_body(raw),
                        Observed(units=units, **observed), NOW)


def test_status_records_the_id_and_the_offsets_condition() -> None:
    raw = body(request=RESET)
    request = ConnectorResource.from_body(raw).offsets
    assert request is not None
    pending = status_of(raw, offsets=offsets.failed(
        request, offsets_admin.NotStopped("task 0 is RUNNING"))[0])
    condition = next(c for c in pending["conditions"] if c["type"] == "Offsets")
    assert condition["status"] == "False" and condition["reason"] == "Stopping"
    assert "lastOffsetsId" not in pending
    assert next(c for c in pending["conditions"] if c["type"] == "Ready")["status"] == "True"

    done = status_of({**raw, "status": pending}, last_offsets_id="o1",
                     offsets=offsets.applied(request, "reset: 3 removed"))
    condition = next(c for c in done["conditions"] if c["type"] == "Offsets")
    assert done["lastOffsetsId"] == "o1"
    assert condition["status"] == "True" and condition["reason"] == "Reset"
    # After an operator restart: nothing in memory, the status keeps both.
    again = status_of({**raw, "status": done})
    assert again["lastOffsetsId"] == "o1"
    assert [c for c in again["conditions"] if c["type"] == "Offsets"] == [condition]


def test_sink_lag_only_for_sinks() -> None:
    sink = body("running", config={"topics": "a,b"})
    status = status_of(sink, sink_lag={"b": 2, "a": 0})
    assert status["sinkLag"] == {"a": 0, "b": 2}
    assert status_of({**sink, "status": status})["sinkLag"] == {"a": 0, "b": 2}
    source = body("running", status={"sinkLag": {"a": 1}})
    assert "sinkLag" not in status_of(source, sink_lag={"a": 1})
