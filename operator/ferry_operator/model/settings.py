"""Operator-level settings: what every Connector's workers share unless their spec says otherwise.

Pure data: no external calls or any I/O. :meth:`OperatorSettings.from_env` reads a mapping
(pass ``os.environ``); the Helm chart sets these variables on the operator's Deployment:

- ``FERRY_WORKER_IMAGE``: the worker image when ``spec.image`` is unset
  (default ``DEFAULT_WORKER_IMAGE``); ``FERRY_WORKER_IMAGE_PULL_POLICY`` (``IfNotPresent``).
- ``FERRY_WORKER_RESOURCES``: JSON ResourceRequirements when ``spec.resources`` is unset
  (requests cpu 250m, memory 256Mi; limit memory 1Gi).
- ``FERRY_WORKER_PROMETHEUS_ANNOTATIONS``: ``true`` (default) adds ``prometheus.io/*``
  annotations to worker pods.
- ``FERRY_DEFAULT_BOOTSTRAP_SERVERS``: Kafka for Connectors without ``spec.kafka`` (none).
- ``FERRY_CONFIGS_TOPIC``, ``FERRY_OFFSETS_TOPIC``, ``FERRY_STATUS_TOPIC``: internal topic
  names (``ferry.protocol``'s defaults).
- ``FERRY_WATCH_NAMESPACES``: comma-separated namespaces to watch; empty (default) for all.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ferry import protocol

DEFAULT_WORKER_IMAGE = "ghcr.io/ferry-dev/ferry-worker:0.1.0"
FIELD_MANAGER = "ferry-operator"


def _default_resources() -> dict[str, Any]:
    return {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}}


class InvalidSettings(ValueError):
    """An operator setting (environment variable) that cannot be used."""


@dataclass(frozen=True)
class OperatorSettings:
    worker_image: str = DEFAULT_WORKER_IMAGE
    worker_image_pull_policy: str = "IfNotPresent"
    worker_resources: Mapping[str, Any] = field(default_factory=_default_resources)
    prometheus_annotations: bool = True
    default_bootstrap_servers: str | None = None
    configs_topic: str = protocol.DEFAULT_CONFIGS_TOPIC
    offsets_topic: str = protocol.DEFAULT_OFFSETS_TOPIC
    status_topic: str = protocol.DEFAULT_STATUS_TOPIC
    watch_namespaces: tuple[str, ...] = ()
    field_manager: str = FIELD_MANAGER

    @property
    def cluster_wide(self) -> bool:
        return not self.watch_namespaces

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> OperatorSettings:
        def get(name: str) -> str | None:
            value = environ.get(name, "").strip()
            return value or None

        defaults = cls()
        resources: Mapping[str, Any] = defaults.worker_resources
        raw_resources = get("FERRY_WORKER_RESOURCES")
        if raw_resources is not None:
            try:
                parsed = json.loads(raw_resources)
            except ValueError as exc:
                raise InvalidSettings(f"FERRY_WORKER_RESOURCES is not JSON: {exc}") from None
            if not isinstance(parsed, dict):
                raise InvalidSettings("FERRY_WORKER_RESOURCES must be a JSON object")
            resources = parsed
        annotations = (get("FERRY_WORKER_PROMETHEUS_ANNOTATIONS") or "true").lower()
        if annotations not in {"true", "false"}:
            raise InvalidSettings("FERRY_WORKER_PROMETHEUS_ANNOTATIONS must be true or false")
        namespaces = tuple(n.strip() for n in (get("FERRY_WATCH_NAMESPACES") or "").split(",")
                           if n.strip())
        return cls(
            worker_image=get("FERRY_WORKER_IMAGE") or defaults.worker_image,
            worker_image_pull_policy=get("FERRY_WORKER_IMAGE_PULL_POLICY")
            or defaults.worker_image_pull_policy,
            worker_resources=resources,
            prometheus_annotations=annotations == "true",
            default_bootstrap_servers=get("FERRY_DEFAULT_BOOTSTRAP_SERVERS"),
            configs_topic=get("FERRY_CONFIGS_TOPIC") or defaults.configs_topic,
            offsets_topic=get("FERRY_OFFSETS_TOPIC") or defaults.offsets_topic,
            status_topic=get("FERRY_STATUS_TOPIC") or defaults.status_topic,
            watch_namespaces=namespaces,
        )
