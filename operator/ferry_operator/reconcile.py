"""Orchestration of one Connector: the body of the create, update, resume and delete handlers.

Everything here is idempotent, so kopf may call it again at any time (a retry, an operator
restart, a changed annotation): read the resource, build the desired objects with the model,
write the Kafka side, apply the objects, handle restart and offsets requests. It never
writes ``.spec`` nor ``.status`` (the status loop writes status, in one place): it records
what happened in the connector's :class:`~ferry_operator.context.Entry` and wakes the loop.
Errors become
kopf's ``TemporaryError`` (transient: Kafka or the API server) or ``PermanentError``
(the resource itself is wrong; nothing changes until it does), with a Warning event and the
reason in ``Ready``.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Mapping
from typing import Any

import kopf

from ferry import offsets_admin

from . import apply as apply_
from . import kafka_side, kube, metrics, offsets, restarts
from .context import Entry, Logger, Operator
from .model import resource, workers
from .status import Problem

KAFKA_RETRY = 10.0
API_RETRY = 5.0


def connector_id(body: Mapping[str, Any]) -> str:
    meta = body.get("metadata") or {}
    return f"{meta.get('namespace') or 'default'}/{meta.get('name')}"


def reconcile(op: Operator, body: Any, logger: Logger, created: bool = False) -> None:
    """Make the workers, Kafka records and restart requests match the Connector.

    ``created``: kopf's first handling of the resource. At generation 1 no PDB can exist
    then (had an earlier attempt, a crashed operator, made one, the same spec still wants
    it), and the units topic is most likely new. The status loop waits for this to end
    (``Entry.reconcile_pending``).
    """
    started = time.monotonic()
    entry = op.entry(connector_id(body))
    new = created and (body.get("metadata") or {}).get("generation") == 1
    if new and entry.pdb_present is None:
        entry.pdb_present = False
    entry.reconciling_since = started
    try:
        _reconcile(op, body, entry, logger, new)
    except kopf.TemporaryError:
        metrics.RECONCILES.labels("retry").inc()
        raise
    except kopf.PermanentError:
        metrics.RECONCILES.labels("invalid").inc()
        raise
    except Exception as exc:
        metrics.RECONCILES.labels("error").inc()
        _fail(op, body, entry, "ReconcileError", f"unexpected error: {exc}")
        logger.exception("reconcile failed")
        raise kopf.TemporaryError(str(exc), delay=API_RETRY) from exc
    else:
        metrics.RECONCILES.labels("ok").inc()
    finally:
        metrics.RECONCILE_SECONDS.observe(time.monotonic() - started)
        entry.reconciling_since = None
        entry.reconcile_ended = True
        op.mark_dirty(connector_id(body))


def _reconcile(op: Operator, body: Any, entry: Entry, logger: Logger, new: bool) -> None:
    try:
        connector = resource.ConnectorResource.from_body(body)
        desired = [workers.build_deployment(connector, op.settings),
                   workers.build_service(connector)]
        pdb = workers.build_pod_disruption_budget(connector)
        cluster = op.kafka.for_connector(connector)
    except resource.InvalidConnector as exc:
        _fail(op, body, entry, "InvalidSpec", str(exc))
        raise kopf.PermanentError(str(exc)) from exc

    try:
        cluster.ensure_topics(connector, new)
        written = cluster.write_connector(connector)
    except kafka_side.KafkaUnavailable as exc:
        _fail(op, body, entry, "KafkaUnavailable", str(exc))
        raise kopf.TemporaryError(str(exc), delay=KAFKA_RETRY) from exc
    if written:
        logger.info("wrote generation %d (%s, %d tasks max) to %s", connector.generation,
                    connector.state, connector.tasks_max, op.settings.configs_topic)

    name = workers.object_name(connector)
    refs = [apply_.ObjectRef.of(obj) for obj in desired]
    refs.append(apply_.ObjectRef("PodDisruptionBudget", connector.namespace, name))
    try:
        for ref, obj in zip(refs, [*desired, pdb], strict=True):
            if obj is None and ref.kind == "PodDisruptionBudget" and entry.pdb_present is False:
                continue  # known absent: no DELETE to make sure
            apply_.apply(op.kube, ref, obj, op.settings.field_manager)
        entry.pdb_present = pdb is not None
    except kube.ApiError as exc:
        message = f"cannot apply the worker objects: {exc.message}"
        _fail(op, body, entry, "ApplyFailed", message)
        if exc.transient:
            raise kopf.TemporaryError(message, delay=API_RETRY) from exc
        raise kopf.PermanentError(message) from exc

    handle_restarts(op, body, connector, cluster, entry)
    entry.problem = None
    entry.observed_generation = connector.generation
    if entry.reconciled_generation != connector.generation:
        entry.reconciled_generation = connector.generation
        kopf.event(body, type="Normal", reason="Reconciled",
                  message=f"generation {connector.generation}: {connector.state}, "
                          f"{connector.tasks_max} tasks max, {connector.replicas} workers")
    handle_offsets(op, body, connector, cluster, entry, logger)


def _fail(op: Operator, body: Any, entry: Entry, reason: str, message: str) -> None:
    metrics.RECONCILE_FAILURES.labels(reason).inc()
    changed = entry.problem != Problem(reason, message)
    entry.problem = Problem(reason, message)
    if changed:
        kopf.warn(body, reason=reason, message=message)


def handle_restarts(op: Operator, body: Any, connector: resource.ConnectorResource,
                    cluster: kafka_side.KafkaCluster, entry: Entry) -> None:
    """Write what ``spec.restart`` and the restart annotations ask for; remove the latter."""
    status = body.get("status") or {}
    last = entry.last_restart_id or status.get("lastRestartId")
    wanted = restarts.declarative(connector, last)
    meta = body.get("metadata") or {}
    asked = restarts.from_annotations(meta.get("annotations") or {},
                                      str(meta.get("resourceVersion", "")))
    requests = ([wanted] if wanted is not None else []) + list(asked.restarts)
    for request in requests:
        try:
            cluster.request_restart(connector.id, request.request_id, request.include_tasks,
                                    request.only_failed, request.task)
        except kafka_side.KafkaUnavailable as exc:
            _fail(op, body, entry, "KafkaUnavailable", str(exc))
            raise kopf.TemporaryError(str(exc), delay=KAFKA_RETRY) from exc
        metrics.RESTARTS.labels(request.source).inc()
        kopf.event(body, type="Normal", reason="RestartRequested",
                  message=f"restart of the {request.describe()} requested "
                          f"({'spec.restart' if request.source == 'spec' else 'annotation'})")
    if wanted is not None and connector.restart is not None:
        entry.last_restart_id = connector.restart.id
    for error in asked.errors:
        kopf.warn(body, reason="InvalidAnnotation", message=error)
    if asked.handled:
        try:
            op.kube.merge_patch(_connector_path(connector),
                                {"metadata": {"annotations": dict.fromkeys(asked.handled)}})
        except kube.ApiError as exc:
            # The restart was written; a second one with the same id is a no-op for workers.
            raise kopf.TemporaryError(f"cannot remove the restart annotations: {exc.message}",
                                      delay=API_RETRY) from exc


def handle_offsets(op: Operator, body: Any, connector: resource.ConnectorResource,
                   cluster: kafka_side.KafkaCluster, entry: Entry, logger: Logger) -> None:
    """Apply a new ``spec.offsets`` (alter or reset) once the connector is stopped.

    The id is recorded only when the change was made. While the units are still stopping
    or Kafka is unreachable the reconcile is retried; a request that cannot be applied as
    it is waits for a new id.
    """
    request = connector.offsets
    last = entry.last_offsets_id or (body.get("status") or {}).get("lastOffsetsId")
    step = offsets.decide(connector, last, entry.offsets_failed_id)
    if request is None or step is offsets.Step.NONE:
        return
    if step is offsets.Step.WAIT:
        _offsets_outcome(body, entry, offsets.waiting(request, connector.state))
        return
    try:
        summary = cluster.change_offsets(connector.id, request.action,
                                         offsets.body(request))
    except offsets_admin.OffsetsError as exc:
        outcome, retry = offsets.failed(request, exc)
        _offsets_outcome(body, entry, outcome)
        metrics.OFFSETS.labels(request.action, "retry" if retry else "invalid").inc()
        if retry:
            delay = op.runtime.offsets_retry if outcome.reason == "Stopping" else KAFKA_RETRY
            raise kopf.TemporaryError(outcome.message, delay=delay) from exc
        entry.offsets_failed_id = request.id
        return
    logger.info("%s", summary)
    entry.last_offsets_id = request.id
    entry.offsets_failed_id = None
    metrics.OFFSETS.labels(request.action, "ok").inc()
    _offsets_outcome(body, entry, offsets.applied(request, summary))


def _offsets_outcome(body: Any, entry: Entry, outcome: offsets.Outcome) -> None:
    """Remember the outcome for the status; an event once per distinct outcome."""
    if entry.offsets == outcome:
        return
    entry.offsets = outcome
    if outcome.ok:
        kopf.event(body, type="Normal", reason=f"Offsets{outcome.reason}",
                   message=outcome.message)
    elif outcome.reason in ("WaitingForStop", "Stopping"):
        kopf.event(body, type="Normal", reason="OffsetsPending", message=outcome.message)
    else:
        kopf.warn(body, reason="OffsetsFailed", message=outcome.message)


def _connector_path(connector: resource.ConnectorResource) -> str:
    return (f"/apis/{resource.API_VERSION}/namespaces/{connector.namespace}/"
            f"{resource.PLURAL}/{connector.name}")


TASK_STOP_WAIT_S = 60.0


def _deleting_for(body: Any) -> float:
    """Seconds since the resource was marked for deletion (0 if unknown)."""
    stamp = (body.get("metadata") or {}).get("deletionTimestamp")
    if not stamp:
        return 0.0
    try:
        since = datetime.datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    except ValueError:
        return 0.0
    return (datetime.datetime.now(datetime.UTC) - since).total_seconds()


def delete(op: Operator, body: Any, logger: Logger) -> None:
    """The finalizer: remove what Kafka holds; the Deployment goes by garbage collection."""
    cid = connector_id(body)
    try:
        connector: resource.ConnectorResource | None = resource.ConnectorResource.from_body(body)
    except resource.InvalidConnector:
        connector = None  # still clean up what the name owns, keeping offsets
    try:
        cluster = (op.kafka.for_connector(connector) if connector is not None
                   else op.kafka.default())
    except resource.InvalidConnector:
        cluster = None
    if cluster is None:
        logger.warning("no Kafka known for %s: nothing to clean up in Kafka", cid)
    else:
        delete_offsets = connector is not None and connector.offsets_policy_on_delete == "delete"
        try:
            done = cluster.delete_connector(
                cid, delete_offsets, connector.tasks_max if connector else 0,
                # Workers that died without reporting must not hold the deletion forever.
                wait_for_tasks=_deleting_for(body) < TASK_STOP_WAIT_S)
        except kafka_side.KafkaUnavailable as exc:
            kopf.warn(body, reason="CleanupPending", message=str(exc))
            raise kopf.TemporaryError(str(exc), delay=3) from exc
        logger.info("deleted %s: %s", cid, "; ".join(done))
        kopf.event(body, type="Normal", reason="Deleted", message="; ".join(done))
    metrics.DELETIONS.inc()
    op.forget(cid)
