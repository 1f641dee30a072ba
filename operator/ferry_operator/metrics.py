"""Prometheus metrics of the operator itself (the workers export their own)."""

from __future__ import annotations

from collections import Counter as Tally

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

REGISTRY = CollectorRegistry(auto_describe=True)

RECONCILES = Counter("ferry_operator_reconciles_total",
                     "Connector reconciles, by result (ok, retry, invalid, error).",
                     ["result"], registry=REGISTRY)
RECONCILE_FAILURES = Counter("ferry_operator_reconcile_failures_total",
                             "Reconciles that did not finish, by reason.", ["reason"],
                             registry=REGISTRY)
RECONCILE_SECONDS = Histogram("ferry_operator_reconcile_duration_seconds",
                              "Time to reconcile one Connector (objects and Kafka records).",
                              buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
                              registry=REGISTRY)
CONNECTORS = Gauge("ferry_operator_connectors", "Connectors by the state in their status.",
                   ["state"], registry=REGISTRY)
STATUS_PATCHES = Counter("ferry_operator_status_patches_total",
                         "Writes of a Connector's .status (only when it changed).",
                         registry=REGISTRY)
RESTARTS = Counter("ferry_operator_restarts_requested_total",
                   "Restart requests written, by source (spec, annotation, auto).", ["source"],
                   registry=REGISTRY)
OFFSETS = Counter("ferry_operator_offsets_changes_total",
                  "spec.offsets attempts, by action (alter, reset) and result (ok, retry, "
                  "invalid).", ["action", "result"], registry=REGISTRY)
DELETIONS = Counter("ferry_operator_deletions_total",
                    "Connectors cleaned up by the finalizer.", registry=REGISTRY)

STATES = ("UNASSIGNED", "RUNNING", "PAUSED", "STOPPED", "FAILED", "RESTARTING")


def set_connector_states(states: Tally[str]) -> None:
    for state in STATES:
        CONNECTORS.labels(state).set(states.get(state, 0))


def serve(port: int, host: str = "0.0.0.0") -> None:
    """Serve /metrics on ``port`` in a background thread (0 disables)."""
    if port:
        start_http_server(port, addr=host, registry=REGISTRY)
