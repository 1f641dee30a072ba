"""``spec.offsets`` (KIP-875, declarative) and ``status.sinkLag``: the pure decisions.

No external calls or any I/O. A new ``spec.offsets.id`` is one alter or reset, done through
:class:`ferry.offsets_admin.OffsetsAdmin` once the connector is stopped; the handled id is
recorded in ``status.lastOffsetsId``. What happened is the ``Offsets`` condition:

- True, ``Altered`` or ``Reset``: the request with this id was applied.
- False, ``WaitingForStop``: spec.state is not stopped (the connector was resumed before the
  request was handled); set it to stopped to apply it.
- False, ``Stopping``: the units or the sink's consumer group are still on their way out;
  retried every few seconds.
- False, ``KafkaUnavailable``: Kafka could not be reached; retried.
- False, ``Invalid``: the request cannot be applied (offsets that do not fit this
  connector); not retried until ``spec.offsets`` gets a new id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from ferry import offsets_admin

from .model import resource

CONDITION = "Offsets"


class Step(Enum):
    NONE = "none"  # nothing new to do
    WAIT = "wait"  # a new request, but the connector is not to be stopped
    APPLY = "apply"


@dataclass(frozen=True)
class Outcome:
    """What the last offsets request came to, for the ``Offsets`` condition."""

    ok: bool
    reason: str
    message: str
    request_id: str = ""


def decide(connector: resource.ConnectorResource, last_handled: str | None,
           failed_id: str | None = None) -> Step:
    """What to do about ``spec.offsets`` now."""
    request = connector.offsets
    if request is None or request.id == last_handled or request.id == failed_id:
        return Step.NONE
    if connector.state != "stopped":
        return Step.WAIT
    return Step.APPLY


def body(request: resource.OffsetsRequest) -> dict[str, Any]:
    """The KIP-875 PATCH body of an alter request."""
    return {"offsets": [dict(entry) for entry in request.offsets]}


def waiting(request: resource.OffsetsRequest, state: str) -> Outcome:
    return Outcome(False, "WaitingForStop",
                   f"spec.offsets {request.id!r} ({request.action}) waits: spec.state is "
                   f"{state}; set spec.state: stopped to apply it", request.id)


def failed(request: resource.OffsetsRequest, error: Exception) -> tuple[Outcome, bool]:
    """The outcome of a failed attempt and whether to retry it (transient)."""
    if isinstance(error, offsets_admin.NotStopped):
        return Outcome(False, "Stopping", f"spec.offsets {request.id!r} waits for the "
                       f"connector to stop: {error}", request.id), True
    if isinstance(error, offsets_admin.OffsetsUnavailable | offsets_admin.UnknownConnector):
        return Outcome(False, "KafkaUnavailable", f"spec.offsets {request.id!r} "
                       f"({request.action}) not applied yet: {error}", request.id), True
    return Outcome(False, "Invalid", f"spec.offsets {request.id!r} ({request.action}) "
                   f"cannot be applied: {error}; fix spec.offsets and set a new id",
                   request.id), False


def applied(request: resource.OffsetsRequest, summary: str) -> Outcome:
    reason = "Reset" if request.action == "reset" else "Altered"
    return Outcome(True, reason, f"spec.offsets {request.id!r}: {summary}", request.id)


def is_sink(connector: resource.ConnectorResource) -> bool:
    """Whether the connector is a sink, by Kafka Connect's rule (topics or topics.regex)."""
    config: Mapping[str, Any] = {**connector.config, "connector.class": connector.class_name}
    return offsets_admin.connector_kind(config) == offsets_admin.SINK


def lag_due(last_refresh: float | None, now: float, interval: float) -> bool:
    """Whether ``status.sinkLag`` should be measured again (``interval`` 0: never)."""
    if interval <= 0:
        return False
    return last_refresh is None or now - last_refresh >= interval
