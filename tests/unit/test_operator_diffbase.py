"""The operator's lean diff-base builds exactly the essence kopf's own storage builds."""

from __future__ import annotations

import copy
from typing import Any

import kopf

from ferry_operator.handlers import STORAGE_PREFIX, LeanDiffBaseStorage


def _storages() -> tuple[kopf.AnnotationsDiffBaseStorage, LeanDiffBaseStorage]:
    args: dict[str, Any] = {"prefix": STORAGE_PREFIX, "key": "last-handled-configuration",
                            "v1": False}
    return kopf.AnnotationsDiffBaseStorage(**args), LeanDiffBaseStorage(**args)


def connector_body() -> kopf.Body:
    return kopf.Body(raw_body())


def raw_body() -> dict[str, Any]:
    return {
        "apiVersion": "ferry.dev/v1alpha1", "kind": "Connector",
        "metadata": {
            "name": "orders", "namespace": "shop", "uid": "u-1", "generation": 3,
            "resourceVersion": "42", "finalizers": ["ferry.dev/finalizer"],
            "labels": {"team": "data"},
            "annotations": {
                "ferry.dev/restart": "failed",
                f"{STORAGE_PREFIX}/last-handled-configuration": '{"spec": {}}',
                "kubectl.kubernetes.io/last-applied-configuration": "{}",
                "other.example/note": "kept"},
            "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:spec": {}}}],
        },
        "spec": {"class": "FileStreamSource", "tasksMax": 2,
                 "config": {"file": "/data/in.txt", "topic": "lines"}},
        "status": {"state": "RUNNING", "tasks": [{"id": 0, "state": "RUNNING"}]},
    }


def test_same_essence_as_kopf() -> None:
    kopfs, lean = _storages()
    body = connector_body()
    assert lean.build(body=body) == kopfs.build(body=body)
    essence = lean.build(body=body)
    assert "status" not in essence and "managedFields" not in essence["metadata"]
    assert essence["metadata"]["annotations"] == {"ferry.dev/restart": "failed",
                                                  "other.example/note": "kept"}


def test_same_essence_without_labels_or_annotations() -> None:
    kopfs, lean = _storages()
    raw = raw_body()
    del raw["metadata"]["labels"], raw["metadata"]["annotations"]
    body = kopf.Body(raw)
    assert lean.build(body=body) == kopfs.build(body=body)


def test_essence_is_a_copy() -> None:
    _, lean = _storages()
    raw = raw_body()
    before = copy.deepcopy(raw)
    essence = lean.build(body=kopf.Body(raw))
    essence["spec"]["config"]["topic"] = "changed"
    essence["metadata"]["labels"]["team"] = "changed"
    assert raw == before


def test_extra_fields_fall_back_to_kopf() -> None:
    kopfs, lean = _storages()
    body = connector_body()
    assert (lean.build(body=body, extra_fields=["status.state"])
            == kopfs.build(body=body, extra_fields=["status.state"]))


def test_owner_marked_keys_match_kopf() -> None:
    """kopf names the key after the owner for a Deployment's ReplicaSets; so does the lean one."""
    kopfs, lean = _storages()
    raw = raw_body()
    raw["kind"] = "ReplicaSet"
    raw["metadata"]["ownerReferences"] = [{"kind": "Deployment", "name": "d", "uid": "u-2"}]
    raw["metadata"]["annotations"][
        f"{STORAGE_PREFIX}/last-handled-configuration-ofDRS"] = "{}"
    body = kopf.Body(raw)
    assert lean.build(body=body) == kopfs.build(body=body)
    assert "ownerReferences" not in lean.build(body=body)["metadata"]
