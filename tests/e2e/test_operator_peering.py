"""Two operator replicas with kopf peering: one is active, the standby takes over when it stops.

The chart's peering resources (``helm/ferry/crds/kopf-peerings.yaml`` and a KopfPeering in
the watched namespace) on the real API server; both operators run as processes with the
same peering name and different priorities. No worker pods are needed: the Deployment that
reconciling a Connector creates shows which operator handled it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from ferry_stack.nodeagent.kube import ApiError, Kube
from tests.e2e.operator_helpers import (
    ROOT,
    OperatorProcess,
    apply_crd,
    connectors_path,
    eventually,
    get,
)

pytestmark = pytest.mark.e2e

PEERING_CRDS = ROOT / "helm" / "ferry" / "crds" / "kopf-peerings.yaml"
PEERING = "ferry"
RESUMED = "Resuming operations after the pause"
HANDLED = " kopf.objects: "  # kopf's logger for everything done to an object
JSON = dict[str, Any]


def apply_peering_crds(kube: Kube) -> None:
    for crd in yaml.safe_load_all(PEERING_CRDS.read_text()):
        path = f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{crd['metadata']['name']}"
        kube.request("PATCH", path, body=crd,
                     query={"fieldManager": "ferry-tests", "force": "true"},
                     content_type="application/apply-patch+yaml")
    eventually(lambda: _served(kube), "KopfPeering to be served", 30)


def _served(kube: Kube) -> bool:
    try:
        kube.get("/apis/kopf.dev/v1/kopfpeerings")
        return True
    except ApiError:
        return False


@pytest.fixture
def namespace(kube: Kube) -> Iterator[str]:
    name = f"peer-{uuid.uuid4().hex[:8]}"
    kube.create("/api/v1/namespaces", {"metadata": {"name": name}})
    yield name
    kube.delete(f"/api/v1/namespaces/{name}")


def start_operator(control_plane: Any, bootstrap: str, namespace: str, workdir: Path,
                   priority: int) -> OperatorProcess:
    process = OperatorProcess(control_plane.kubeconfig, bootstrap, namespace, workdir,
                              FERRY_OPERATOR_PEERING=PEERING,
                              FERRY_OPERATOR_PRIORITY=str(priority))
    process.start()
    eventually(process.healthy, f"operator (priority {priority}) liveness", 60, process.tail)
    return process


def connector(name: str) -> JSON:
    return {"apiVersion": "ferry.dev/v1alpha1", "kind": "Connector", "metadata": {"name": name},
            "spec": {"class": "DataGen", "tasksMax": 1, "config": {"topic": f"t-{name}"}}}


def peers(kube: Kube, namespace: str) -> JSON:
    """kopf's peers (identity -> priority, lastseen, lifetime) in the KopfPeering's status."""
    found = get(kube, f"/apis/kopf.dev/v1/namespaces/{namespace}/kopfpeerings/{PEERING}")
    return dict((found or {}).get("status") or {})


def deployment(kube: Kube, namespace: str, name: str) -> JSON | None:
    return get(kube, f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}-workers")


def test_standby_replica_takes_over_when_the_active_one_stops(
        kube: Kube, control_plane: Any, bootstrap: str, namespace: str,
        tmp_path: Path) -> None:
    apply_crd(kube)
    apply_peering_crds(kube)
    kube.create(f"/apis/kopf.dev/v1/namespaces/{namespace}/kopfpeerings",
                {"apiVersion": "kopf.dev/v1", "kind": "KopfPeering",
                 "metadata": {"name": PEERING}})
    (tmp_path / "active").mkdir()
    (tmp_path / "standby").mkdir()
    active = start_operator(control_plane, bootstrap, namespace, tmp_path / "active", 200)
    standby = start_operator(control_plane, bootstrap, namespace, tmp_path / "standby", 100)
    try:
        def logs() -> str:
            return f"active:\n{active.tail()}\nstandby:\n{standby.tail()}"

        # kopf starts paused and resumes once the KopfPeering shows no peer above it: the
        # active one resumes, the standby (which sees the active one) stays paused.
        eventually(lambda: RESUMED in active.log.read_text(), "the active one to resume", 60,
                   logs)
        eventually(lambda: len(peers(kube, namespace)) == 2, "both peers in the KopfPeering",
                   30, logs)
        kube.create(connectors_path(namespace), connector("first"))
        eventually(lambda: deployment(kube, namespace, "first"), "the first Deployment", 60,
                   logs)
        eventually(lambda: HANDLED in active.log.read_text(), "the active one's log", 10, logs)
        standby_log = standby.log.read_text()
        assert RESUMED not in standby_log and HANDLED not in standby_log, \
            "the standby handled a Connector while the active one ran"

        active.stop()  # SIGTERM: kopf removes itself from the KopfPeering on the way out
        eventually(lambda: RESUMED in standby.log.read_text(),
                   "the standby to resume", 60, logs)
        kube.create(connectors_path(namespace), connector("second"))
        eventually(lambda: deployment(kube, namespace, "second"),
                   "the second Deployment, made by the former standby", 60, logs)
        # The former standby also owns the first one now: deleting it runs the finalizer.
        for name in ("first", "second"):
            kube.delete(connectors_path(namespace, name))
        for name in ("first", "second"):
            eventually(lambda n=name: get(kube, connectors_path(namespace, n)) is None,
                       f"{name} deleted through the finalizer", 60, logs)
    finally:
        active.stop()
        standby.stop()
