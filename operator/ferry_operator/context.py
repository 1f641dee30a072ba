"""The operator's process-wide state: settings, clients and what it remembers per connector.

One :class:`Operator` lives in kopf's memo for the whole run. Per connector it keeps a small
:class:`Entry`: the last reconcile's problem and generation, restart bookkeeping, the worker
Deployment's readiness and pods (from kopf's watches), the status last written, and the
asyncio event that wakes the connector's status loop. ``mark_dirty`` may be called from any
thread (the status readers call it from their Kafka threads).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from . import kafka_side, kube, metrics, offsets, restarts
from . import status as status_
from .model import settings

Logger = logging.Logger | logging.LoggerAdapter[Any]

# The longest a status write waits for a reconcile of the same connector (hundreds of
# Connectors applied at once queue for kopf's workers for tens of seconds).
RECONCILE_WAIT = 60.0


@dataclass(frozen=True)
class RuntimeSettings:
    """How the operator process itself runs (the chart's ``FERRY_OPERATOR_*`` variables)."""

    log_level: str = "INFO"
    health_port: int = 8080
    metrics_port: int = 9090
    host: str = "0.0.0.0"
    peering: str = ""  # empty: standalone
    priority: int = 0
    debounce: float = 0.5  # seconds between two status writes of one connector
    refresh: float = 5.0  # a status pass at least this often, even without news
    sink_lag: float = 30.0  # seconds between two measurements of status.sinkLag (0: off)
    offsets_retry: float = 3.0  # seconds between attempts of a spec.offsets still stopping
    # Handlers at once (kopf's thread pool) and API connections: a reconcile mostly waits
    # on the API server and Kafka, so 500 Connectors need more than kopf's few at a time.
    workers: int = 32
    backoff: restarts.Backoff = field(default_factory=restarts.Backoff)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> RuntimeSettings:
        def get(name: str, default: str) -> str:
            return environ.get(name, "").strip() or default

        defaults = cls()
        base = restarts.Backoff()
        return cls(
            log_level=get("FERRY_OPERATOR_LOG_LEVEL", defaults.log_level).upper(),
            health_port=int(get("FERRY_OPERATOR_HEALTH_PORT", str(defaults.health_port))),
            metrics_port=int(get("FERRY_OPERATOR_METRICS_PORT", str(defaults.metrics_port))),
            host=get("FERRY_OPERATOR_HOST", get("POD_IP", defaults.host)),
            peering=get("FERRY_OPERATOR_PEERING", ""),
            priority=int(get("FERRY_OPERATOR_PRIORITY", str(_random_priority()))),
            debounce=float(get("FERRY_OPERATOR_STATUS_DEBOUNCE_SECONDS",
                               str(defaults.debounce))),
            refresh=float(get("FERRY_OPERATOR_STATUS_REFRESH_SECONDS", str(defaults.refresh))),
            sink_lag=float(get("FERRY_OPERATOR_SINK_LAG_SECONDS", str(defaults.sink_lag))),
            offsets_retry=float(get("FERRY_OPERATOR_OFFSETS_RETRY_SECONDS",
                                    str(defaults.offsets_retry))),
            workers=int(get("FERRY_OPERATOR_WORKERS", str(defaults.workers))),
            backoff=restarts.Backoff(
                base=float(get("FERRY_OPERATOR_AUTO_RESTART_BACKOFF_SECONDS", str(base.base))),
                cap=float(get("FERRY_OPERATOR_AUTO_RESTART_MAX_BACKOFF_SECONDS",
                              str(base.cap))),
                reset_after=float(get("FERRY_OPERATOR_AUTO_RESTART_RESET_SECONDS",
                                      str(base.reset_after)))),
        )


def _random_priority() -> int:
    # Two replicas with the same priority would both think they may run; differ by default.
    return int.from_bytes(os.urandom(2), "big")


def operator_kafka_settings(environ: Mapping[str, str]) -> dict[str, str]:
    """librdkafka settings of the operator's own default cluster, from ``FERRY_KAFKA_<KEY>``."""
    prefix = "FERRY_KAFKA_"
    return {k[len(prefix):].lower().replace("_", "."): v for k, v in environ.items()
            if k.startswith(prefix) and len(k) > len(prefix)}


@dataclass
class Entry:
    """What the operator remembers about one connector (lost on restart, rebuilt on resume)."""

    problem: status_.Problem | None = None
    observed_generation: int | None = None
    last_restart_id: str | None = None
    auto: restarts.AutoRestartState | None = None
    gave_up: bool = False
    workers_ready: int = 0
    pods: dict[str, bool] | None = None  # pod name -> running
    last_written: dict[str, Any] | None = None
    last_state: str | None = None
    dirty: asyncio.Event | None = None
    reconciled_generation: int | None = None  # for the Reconciled event, once per generation
    last_offsets_id: str | None = None  # spec.offsets.id applied
    offsets: offsets.Outcome | None = None  # the last spec.offsets attempt, for the condition
    offsets_failed_id: str | None = None  # a spec.offsets.id that cannot be applied as it is
    sink_lag: dict[str, int] | None = None  # topic -> lag, last measured
    sink_lag_at: float | None = None  # time.monotonic() of that measurement
    # Whether the PodDisruptionBudget exists, as far as this operator knows (None: unknown),
    # so a single-worker Connector does not cost a DELETE (a 404) on every reconcile.
    pdb_present: bool | None = None
    # time.monotonic() when the running reconcile began (None: none runs), and when this
    # process first heard of the connector: the status loop waits for a running or a first
    # reconcile (up to RECONCILE_WAIT) rather than write a status it rewrites at once.
    reconciling_since: float | None = None
    first_seen: float = field(default_factory=time.monotonic)
    reconcile_ended: bool = False  # a reconcile (of any outcome) has ended in this process

    def reconcile_pending(self, now: float) -> float:
        """Seconds a status write should still wait for a reconcile (0: write now)."""
        if self.reconciling_since is not None:
            since = self.reconciling_since
        elif not self.reconcile_ended:
            since = self.first_seen
        else:
            return 0.0
        return max(0.0, RECONCILE_WAIT - (now - since))

    def live_workers(self) -> frozenset[str] | None:
        if self.pods is None:
            return None
        return frozenset(self.pods)


class Operator:
    def __init__(self, config: settings.OperatorSettings, runtime: RuntimeSettings,
                 api: kube.Kube, operator_kafka: Mapping[str, str]) -> None:
        self.settings = config
        self.runtime = runtime
        self.kube = api
        self.kafka = kafka_side.KafkaClusters(config, operator_kafka, self.mark_dirty)
        self.loop: asyncio.AbstractEventLoop | None = None
        self._entries: dict[str, Entry] = {}
        self._lock = threading.Lock()

    def entry(self, connector_id: str) -> Entry:
        with self._lock:
            return self._entries.setdefault(connector_id, Entry())

    def known(self, connector_id: str) -> Entry | None:
        with self._lock:
            return self._entries.get(connector_id)

    def forget(self, connector_id: str) -> None:
        with self._lock:
            gone = self._entries.pop(connector_id, None)
        if gone is not None and gone.last_state:
            self.publish_states()

    def publish_states(self) -> None:
        """Set the connectors-by-state gauge from the entries' last written states."""
        metrics.set_connector_states(Counter(e.last_state for e in self.entries().values()
                                             if e.last_state))

    def entries(self) -> dict[str, Entry]:
        with self._lock:
            return dict(self._entries)

    def mark_dirty(self, connector_id: str) -> None:
        """Wake the connector's status loop (thread-safe; unknown connectors are ignored)."""
        with self._lock:
            entry = self._entries.get(connector_id)
        if entry is None or entry.dirty is None or self.loop is None:
            return
        event = entry.dirty
        with contextlib.suppress(RuntimeError):  # a closed loop: the operator is stopping
            self.loop.call_soon_threadsafe(event.set)
