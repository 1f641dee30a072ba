"""Connector → Kubernetes objects: pure builders, no external calls or any I/O.

``resource`` reads a Connector into a typed view with defaults applied, ``settings`` holds
the operator-level defaults, ``workers`` builds the Deployment, Service and
PodDisruptionBudget of a connector's worker group, ``kafka_env`` its Kafka connection.
"""

from __future__ import annotations

from .kafka_env import env_name as kafka_env_name
from .resource import API_VERSION, GROUP, KIND, PLURAL, VERSION, ConnectorResource, InvalidConnector
from .settings import OperatorSettings
from .workers import (
    POD_SPEC_HASH,
    MissingKafka,
    build_deployment,
    build_pod_disruption_budget,
    build_service,
    labels,
    object_name,
    selector,
    selector_labels,
)

__all__ = [
    "API_VERSION",
    "GROUP",
    "KIND",
    "PLURAL",
    "POD_SPEC_HASH",
    "VERSION",
    "ConnectorResource",
    "InvalidConnector",
    "MissingKafka",
    "OperatorSettings",
    "build_deployment",
    "build_pod_disruption_budget",
    "build_service",
    "kafka_env_name",
    "labels",
    "object_name",
    "selector",
    "selector_labels",
]
