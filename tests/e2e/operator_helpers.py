"""Running the operator as a real process against the test stack, and reading what it did."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import yaml

from ferry_stack.nodeagent.kube import Kube
from ferry_stack.operator_run import (
    API,
    CRD_FILE,
    CRD_PATH,
    JSON,
    ROOT,
    OperatorProcess,
    apply_crd,
    connectors_path,
    eventually,
    get,
)

__all__ = ["API", "CRD_FILE", "CRD_PATH", "ROOT", "OperatorProcess", "apply_crd",
           "connectors_path", "eventually", "get"]


def connector(kube: Kube, namespace: str, name: str) -> JSON:
    found = get(kube, connectors_path(namespace, name))
    assert found is not None, f"connector {name} is gone"
    return found


def condition(obj: JSON, kind: str = "Ready") -> JSON:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return dict(cond)
    return {}


def ready(kube: Kube, namespace: str, name: str, **expect: Any) -> JSON | None:
    """The connector once Ready=True and every ``status.<key> == value`` holds."""
    obj = connector(kube, namespace, name)
    status = obj.get("status") or {}
    if condition(obj).get("status") != "True":
        return None
    if any(status.get(k) != v for k, v in expect.items()):
        return None
    return obj


def pods(kube: Kube, namespace: str, name: str, running: bool = True) -> list[JSON]:
    items = kube.get(f"/api/v1/namespaces/{namespace}/pods",
                     labelSelector=f"ferry.dev/connector={name}")["items"]
    if running:
        items = [p for p in items if p.get("status", {}).get("phase") == "Running"
                 and not p["metadata"].get("deletionTimestamp")]
    return list(items)


def workers_of(obj: JSON) -> dict[str, str]:
    """unit name -> worker, from a Connector's status."""
    status = obj.get("status") or {}
    units = {}
    if (status.get("connector") or {}).get("worker"):
        units["connector"] = status["connector"]["worker"]
    for task in status.get("tasks") or []:
        if task.get("worker"):
            units[f"task-{task['id']}"] = task["worker"]
    return units


def events(kube: Kube, namespace: str, name: str) -> list[JSON]:
    items = kube.get(f"/api/v1/namespaces/{namespace}/events",
                     fieldSelector=f"involvedObject.name={name}")["items"]
    return list(items)


def describe(kube: Kube, namespace: str, name: str, op: OperatorProcess) -> Callable[[], str]:
    def text() -> str:
        obj = get(kube, connectors_path(namespace, name))
        return (f"connector status: {yaml.safe_dump((obj or {}).get('status'))}\n"
                f"operator log:\n{op.tail()}")

    return text
