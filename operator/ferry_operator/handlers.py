"""kopf handlers: thin entry points into reconcile, status_loop and the watches they need.

Importing this module registers the handlers in kopf's default registry. kopf's own
bookkeeping is configured for GitOps in :func:`configure` (see docs/operator.md): progress
and diff-base in ``operator.ferry.dev/*`` annotations, nothing under ``.status``, the
finalizer ``ferry.dev/finalizer``.
"""

from __future__ import annotations

import logging
from typing import Any, cast

import kopf

from . import reconcile, status_loop
from .context import Logger, Operator
from .model import resource, workers

GROUP, VERSION, PLURAL = resource.GROUP, resource.VERSION, resource.PLURAL
STORAGE_PREFIX = "operator.ferry.dev"
FINALIZER = "ferry.dev/finalizer"
MANAGED = {"app.kubernetes.io/managed-by": "ferry-operator"}


class LeanDiffBaseStorage(kopf.AnnotationsDiffBaseStorage):
    """kopf's annotation diff-base, built without deep-copying what it throws away.

    kopf builds a Connector's essence (spec, labels, annotations) on every watch event by
    deep-copying the whole body, managedFields and status included, and then deleting most
    of it: with hundreds of Connectors that copy was a tenth of the operator's CPU. The
    essence is the same (``tests/unit/test_operator_diffbase.py`` compares the two).
    """

    def build(self, *, body: Any, extra_fields: Any = None) -> Any:
        if extra_fields:
            return super().build(body=body, extra_fields=extra_fields)
        meta = body.get("metadata") or {}
        slim = {key: value for key, value in body.items() if key not in ("metadata", "status")}
        # ownerReferences and kind name the storage key (kopf's ReplicaSet special case).
        slim["metadata"] = {key: meta[key] for key in ("labels", "annotations",
                                                       "ownerReferences") if key in meta}
        return super().build(body=kopf.Body(cast(kopf.RawBody, slim)))


def configure(settings: kopf.OperatorSettings, workers: int = 8) -> None:
    # Annotations, not status: the CRD's status schema is structural (kopf's status.kopf
    # would be pruned) and Argo CD/Flux only diff fields that are in the Git manifest.
    # A prefix of its own, not ferry.dev: kopf leaves every annotation under its storage
    # prefix out of the diff, and ferry.dev/restart must count as a change.
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(
        prefix=STORAGE_PREFIX, v1=False)
    settings.persistence.diffbase_storage = LeanDiffBaseStorage(
        prefix=STORAGE_PREFIX, key="last-handled-configuration", v1=False)
    settings.persistence.finalizer = FINALIZER
    # Warnings only from kopf's own logs; Normal events are posted explicitly (kopf.event).
    settings.posting.level = logging.WARNING
    settings.execution.max_workers = workers
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    settings.networking.request_timeout = 60
    settings.batching.error_delays = (1, 2, 5, 10, 30)


@kopf.on.startup()
async def startup(settings: kopf.OperatorSettings, memo: Any, logger: Logger,
                  **_: Any) -> None:
    import asyncio

    op: Operator = memo.operator
    configure(settings, op.runtime.workers)
    op.loop = asyncio.get_running_loop()
    default = await asyncio.to_thread(op.kafka.default)
    logger.info("ferry-operator started; default Kafka: %s",
                default.config["bootstrap.servers"] if default else "none")


@kopf.on.cleanup()
async def cleanup(memo: Any, **_: Any) -> None:
    import asyncio

    await asyncio.to_thread(memo.operator.kafka.stop)


@kopf.on.resume(GROUP, VERSION, PLURAL)
@kopf.on.create(GROUP, VERSION, PLURAL)
@kopf.on.update(GROUP, VERSION, PLURAL)
def apply_connector(body: kopf.Body, memo: Any, logger: Logger, reason: Any = None,
                    **_: Any) -> None:
    reconcile.reconcile(memo.operator, body, logger, created=reason == kopf.Reason.CREATE)


@kopf.on.delete(GROUP, VERSION, PLURAL)
def delete_connector(body: kopf.Body, memo: Any, logger: Logger, **_: Any) -> None:
    reconcile.delete(memo.operator, body, logger)


@kopf.daemon(GROUP, VERSION, PLURAL, cancellation_timeout=3.0)
async def track_status(body: kopf.Body, memo: Any, stopped: kopf.DaemonStopped,
                       logger: Logger, **_: Any) -> None:
    await status_loop.run(memo.operator, body, stopped, logger)


@kopf.on.event("apps", "v1", "deployments", labels=MANAGED)
async def deployment_event(event: Any, body: kopf.Body, memo: Any, **_: Any) -> None:
    cid = _owner(body)
    if cid is None:
        return
    op: Operator = memo.operator
    gone = event.get("type") == "DELETED"
    entry = op.known(cid) if gone else op.entry(cid)
    if entry is None:  # the connector was deleted before its workers
        return
    entry.workers_ready = 0 if gone else int((body.get("status") or {}).get("readyReplicas") or 0)
    op.mark_dirty(cid)


@kopf.on.event("", "v1", "pods", labels=MANAGED)
async def pod_event(event: Any, body: kopf.Body, memo: Any, **_: Any) -> None:
    meta = body.get("metadata") or {}
    connector = (meta.get("labels") or {}).get(workers.CONNECTOR_LABEL)
    if not connector:
        return
    cid = f"{meta.get('namespace')}/{connector}"
    op: Operator = memo.operator
    gone = event.get("type") == "DELETED"
    entry = op.known(cid) if gone else op.entry(cid)
    if entry is None:
        return
    pods = dict(entry.pods or {})
    if gone:
        pods.pop(str(meta.get("name")), None)
    else:
        pods[str(meta.get("name"))] = (body.get("status") or {}).get("phase") == "Running"
    entry.pods = pods
    op.mark_dirty(cid)


def _owner(body: kopf.Body) -> str | None:
    meta = body.get("metadata") or {}
    for owner in meta.get("ownerReferences") or []:
        if owner.get("kind") == resource.KIND and owner.get("apiVersion") == resource.API_VERSION:
            return f"{meta.get('namespace')}/{owner.get('name')}"
    return None
