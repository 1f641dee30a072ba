"""The one writer of a Connector's ``.status``, and its automatic restarts.

Runs as a kopf daemon per Connector (so peering pauses it along with the handlers). It
sleeps until something about the connector changes (a ``ferry-status`` record, its
Deployment or pods, a reconcile) or ``refresh`` seconds pass, then builds the status with
:func:`ferry_operator.status.build_status` and patches ``.status`` only if it differs from
what it last wrote: at most once per ``debounce`` seconds per connector. While a reconcile
of the connector runs, or before the first one in this process has ended, the pass waits
for it (the reconcile wakes the loop as it ends; at most ``context.RECONCILE_WAIT``), so a
new Connector's first status already carries its ``observedGeneration``: one write, not two.
For sinks it also measures the consumer lag (``status.sinkLag``) every ``sink_lag`` seconds,
not per event.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import kopf

from ferry import offsets_admin

from . import kafka_side, kube, metrics, offsets, restarts
from . import status as status_
from .context import Entry, Logger, Operator
from .model import resource
from .reconcile import connector_id


async def run(op: Operator, body: Any, stopped: Any, logger: Logger) -> None:
    cid = connector_id(body)
    entry = op.entry(cid)
    entry.dirty = asyncio.Event()
    wake = op.runtime.refresh
    try:
        while not stopped:
            await _sleep(stopped, wake, entry.dirty)
            entry.dirty.clear()
            if stopped:
                break
            try:
                wake = await status_pass(op, body, entry, logger)
            except Exception:
                logger.exception("status pass failed")
                wake = op.runtime.refresh
            await _sleep(stopped, op.runtime.debounce)
    finally:
        entry.dirty = None


async def _sleep(stopped: Any, seconds: float, wake_on: asyncio.Event | None = None) -> None:
    """Sleep, or less when ``wake_on`` is set or kopf stops the daemon (the Connector is
    being deleted, the operator exits): a daemon that returns promptly is never cancelled."""
    waits = [asyncio.ensure_future(stopped.wait())]
    if wake_on is not None:
        waits.append(asyncio.ensure_future(wake_on.wait()))
    try:
        await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in waits:
            waiting.cancel()


async def status_pass(op: Operator, body: Any, entry: Entry, logger: Logger) -> float:
    """Write the status if it changed; seconds until the next pass is due at the latest."""
    waiting = entry.reconcile_pending(time.monotonic())
    if waiting:
        return waiting  # the reconcile wakes this loop when it ends, with what it did
    now = datetime.now(UTC)
    wake = op.runtime.refresh
    try:
        connector: resource.ConnectorResource | None = resource.ConnectorResource.from_body(body)
    except resource.InvalidConnector:
        connector = None
    cluster: kafka_side.KafkaCluster | None = None
    try:
        cluster = (op.kafka.for_connector(connector) if connector is not None
                   else op.kafka.default())
    except resource.InvalidConnector:
        cluster = None
    if cluster is not None and not cluster.caught_up:
        return 1.0  # a status from half the topic would flap; wait until it is read
    units = cluster.status(connector.id) if cluster is not None and connector else None
    if connector is not None and cluster is not None and entry.problem is None:
        wake = min(wake, await _auto_restart(op, body, connector, cluster, units, entry, now))
    if connector is not None and cluster is not None:
        await _measure_sink_lag(op, connector, cluster, entry, logger)
    observed = status_.Observed(
        units=units, workers_ready=entry.workers_ready, live_workers=entry.live_workers(),
        problem=entry.problem, observed_generation=entry.observed_generation,
        last_restart_id=entry.last_restart_id, auto_restart=entry.auto,
        auto_restart_gave_up=entry.gave_up, last_offsets_id=entry.last_offsets_id,
        offsets=entry.offsets, sink_lag=entry.sink_lag)
    current = dict(body.get("status") or {})
    previous = entry.last_written if entry.last_written is not None else current
    new = status_.build_status({"status": previous}, connector, observed, now)
    if new != entry.last_written and new != current:
        patch = status_.merge_patch(current if entry.last_written is None else previous, new)
        try:
            await asyncio.to_thread(op.kube.merge_patch, _status_path(body), {"status": patch})
        except kube.ApiError as exc:
            if exc.status != 404:
                logger.warning("cannot write the status: %s", exc.message)
            return 1.0
        metrics.STATUS_PATCHES.inc()
    entry.last_written = new
    _record_state(op, entry, body, new)
    return wake


async def _measure_sink_lag(op: Operator, connector: resource.ConnectorResource,
                            cluster: kafka_side.KafkaCluster, entry: Entry,
                            logger: Logger) -> None:
    """Refresh ``entry.sink_lag`` when it is due (sinks only; a failure keeps the last one)."""
    if not offsets.is_sink(connector):
        entry.sink_lag = entry.sink_lag_at = None
        return
    moment = time.monotonic()
    if not offsets.lag_due(entry.sink_lag_at, moment, op.runtime.sink_lag):
        return
    entry.sink_lag_at = moment
    try:
        entry.sink_lag = await asyncio.to_thread(cluster.sink_lag, connector)
    except offsets_admin.OffsetsError as exc:
        logger.warning("cannot measure the sink lag: %s", exc)
    except Exception:  # the lag is extra: it never keeps the status from being written
        logger.exception("measuring the sink lag failed")


async def _auto_restart(op: Operator, body: Any, connector: resource.ConnectorResource,
                        cluster: kafka_side.KafkaCluster, units: Any, entry: Entry,
                        now: datetime) -> float:
    state = entry.auto or status_.auto_restart_state(body.get("status") or {})
    decision = restarts.auto_restart(connector.auto_restart, state,
                                     status_.failed_since(units), now, op.runtime.backoff)
    wake = op.runtime.refresh
    if decision.action is restarts.Action.RESTART:
        request_id = f"auto:{connector.uid}:{decision.state.count}:{int(now.timestamp())}"
        try:
            await asyncio.to_thread(cluster.request_restart, connector.id, request_id, True,
                                    True)
        except kafka_side.KafkaUnavailable as exc:
            kopf.warn(body, reason="AutoRestartFailed", message=str(exc))
            return 5.0
        metrics.RESTARTS.labels("auto").inc()
        kopf.event(body, type="Normal", reason="AutoRestart",
                  message=f"restarting the failed units (automatic restart "
                          f"{decision.state.count} of {connector.auto_restart.max_restarts})")
    elif decision.action is restarts.Action.WAIT:
        wake = min(wake, decision.wait + 0.1)
    gave_up = decision.action is restarts.Action.GIVE_UP
    if gave_up and not entry.gave_up:
        kopf.warn(body, reason="AutoRestartGaveUp",
                  message=f"{connector.auto_restart.max_restarts} automatic restarts did not "
                          "help; fix the cause and annotate ferry.dev/restart=failed")
    entry.gave_up = gave_up
    entry.auto = decision.state
    return wake


def _record_state(op: Operator, entry: Entry, body: Any, new: dict[str, Any]) -> None:
    state = str(new.get("state") or "UNASSIGNED")
    if state != entry.last_state:
        if state == "FAILED":
            kopf.warn(body, reason="Failed", message=_ready_message(new))
        elif entry.last_state is not None:
            kopf.event(body, type="Normal", reason=state.capitalize(),
                       message=f"connector is {state}")
        entry.last_state = state
        op.publish_states()  # only on a change: counting every entry per pass is O(N²)


def _ready_message(status: dict[str, Any]) -> str:
    for condition in status.get("conditions") or []:
        if condition.get("type") == status_.READY:
            return str(condition.get("message") or "")
    return ""


def _status_path(body: Any) -> str:
    meta = body.get("metadata") or {}
    return (f"/apis/{resource.API_VERSION}/namespaces/{meta.get('namespace')}/"
            f"{resource.PLURAL}/{meta.get('name')}/status")
