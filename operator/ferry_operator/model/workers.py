"""A Connector's worker group as Kubernetes objects: Deployment, Service, PodDisruptionBudget.

Pure functions: no external calls or any I/O. Each ``build_*`` returns the desired object as
a plain dict (camelCase, ready for server-side apply), or None when the object should not
exist. Only what belongs in a pod goes into the Deployment: the connector's class, config,
tasksMax and target state reach the workers through Kafka (``ferry-configs``), so changing
them never restarts a pod. ``POD_SPEC_HASH`` on the Deployment is a digest of the pod
template, so a caller can tell at a glance whether the pods themselves must change.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from . import kafka_env, resource, settings

JSON = dict[str, Any]

WORKER_NAME = "ferry-worker"
CONTAINER = "worker"
COMMAND = ("ferry", "worker")
PORT_NAME = "http"
SECRETS_DIR = "/etc/ferry/secrets"
TERMINATION_GRACE_SECONDS = 60  # the worker stops its tasks and commits within 30 s
RUN_AS = 10001  # the images' non-root user and group

CONNECTOR_LABEL = "ferry.dev/connector"
POD_SPEC_HASH = "ferry.dev/pod-spec-hash"
MAX_NAME = 63


class MissingKafka(resource.InvalidConnector):
    """Neither the Connector nor the operator says where Kafka is."""


def object_name(connector: resource.ConnectorResource, suffix: str = "workers") -> str:
    """``<name>-workers``, shortened with a digest when it would pass 63 characters."""
    name = f"{connector.name}-{suffix}"
    if len(name) <= MAX_NAME:
        return name
    digest = hashlib.sha256(connector.name.encode()).hexdigest()[:8]
    keep = MAX_NAME - len(suffix) - len(digest) - 2
    return f"{connector.name[:keep].rstrip('-')}-{digest}-{suffix}"


def selector_labels(connector: resource.ConnectorResource) -> dict[str, str]:
    """The labels that select a connector's worker pods (immutable once the Deployment exists)."""
    return {"app.kubernetes.io/name": WORKER_NAME, CONNECTOR_LABEL: _label_value(connector)}


def selector(connector: resource.ConnectorResource) -> str:
    """The selector as a string, for ``status.selector`` (scale subresource, HPA)."""
    return ",".join(f"{k}={v}" for k, v in sorted(selector_labels(connector).items()))


def labels(connector: resource.ConnectorResource) -> dict[str, str]:
    """The labels of everything Ferry makes for a connector."""
    return {
        "app.kubernetes.io/name": WORKER_NAME,
        "app.kubernetes.io/instance": _label_value(connector),
        "app.kubernetes.io/component": "worker",
        "app.kubernetes.io/part-of": "ferry",
        "app.kubernetes.io/managed-by": "ferry-operator",
        CONNECTOR_LABEL: _label_value(connector),
    }


def owner_reference(connector: resource.ConnectorResource) -> JSON:
    return {"apiVersion": resource.API_VERSION, "kind": resource.KIND, "name": connector.name,
            "uid": connector.uid, "controller": True, "blockOwnerDeletion": True}


def metadata(connector: resource.ConnectorResource, name: str) -> JSON:
    return {"name": name, "namespace": connector.namespace, "labels": labels(connector),
            "ownerReferences": [owner_reference(connector)]}


def build_deployment(connector: resource.ConnectorResource,
                     config: settings.OperatorSettings) -> JSON:
    """The worker Deployment. Raises MissingKafka when no bootstrap servers are known."""
    template = pod_template(connector, config)
    meta = metadata(connector, object_name(connector))
    meta["annotations"] = {POD_SPEC_HASH: pod_spec_hash(template)}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta,
        "spec": {
            "replicas": connector.replicas,
            "selector": {"matchLabels": selector_labels(connector)},
            "revisionHistoryLimit": 5,
            # Surge first: a new worker joins the group before an old one leaves it.
            "strategy": {"type": "RollingUpdate",
                         "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": template,
        },
    }


def build_service(connector: resource.ConnectorResource) -> JSON:
    """A headless Service over the workers' http port: per-pod metrics, /status, DNS names."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(connector, object_name(connector)),
        "spec": {
            "clusterIP": "None",
            "selector": selector_labels(connector),
            # A worker that is not ready is exactly the one whose metrics are wanted.
            "publishNotReadyAddresses": True,
            "ports": [{"name": PORT_NAME, "port": connector.metrics_port,
                       "targetPort": PORT_NAME, "protocol": "TCP"}],
        },
    }


def build_pod_disruption_budget(connector: resource.ConnectorResource) -> JSON | None:
    """At most one worker voluntarily down at a time; None for a single worker."""
    if connector.replicas <= 1:
        return None
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": metadata(connector, object_name(connector)),
        "spec": {
            "maxUnavailable": 1,
            "selector": {"matchLabels": selector_labels(connector)},
            # A crash-looping worker must not block a node drain.
            "unhealthyPodEvictionPolicy": "AlwaysAllow",
        },
    }


def pod_spec_hash(template: JSON) -> str:
    canonical = json.dumps(template, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def pod_template(connector: resource.ConnectorResource,
                 config: settings.OperatorSettings) -> JSON:
    overrides = connector.template
    annotations = dict(overrides.annotations)
    if config.prometheus_annotations:
        annotations.update({"prometheus.io/scrape": "true",
                            "prometheus.io/port": str(connector.metrics_port),
                            "prometheus.io/path": "/metrics"})
    pod_meta: JSON = {"labels": {**overrides.labels, **labels(connector)}}
    if annotations:
        pod_meta["annotations"] = annotations
    spec: JSON = {
        "containers": [_container(connector, config)],
        "volumes": _volumes(connector),
        "terminationGracePeriodSeconds": TERMINATION_GRACE_SECONDS,
        "enableServiceLinks": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUN_AS,
            "runAsGroup": RUN_AS,
            "fsGroup": RUN_AS,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "topologySpreadConstraints": [{
            "maxSkew": 1,
            "topologyKey": "kubernetes.io/hostname",
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": selector_labels(connector)},
        }],
    }
    if overrides.service_account_name:
        spec["serviceAccountName"] = overrides.service_account_name
    else:
        # Workers never call the Kubernetes API; without an account of their own, no token.
        spec["automountServiceAccountToken"] = False
    if overrides.priority_class_name:
        spec["priorityClassName"] = overrides.priority_class_name
    if overrides.node_selector:
        spec["nodeSelector"] = dict(overrides.node_selector)
    if overrides.tolerations:
        spec["tolerations"] = [dict(t) for t in overrides.tolerations]
    if overrides.affinity:
        spec["affinity"] = dict(overrides.affinity)
    if connector.image_pull_secrets:
        spec["imagePullSecrets"] = [{"name": n} for n in connector.image_pull_secrets]
    return {"metadata": pod_meta, "spec": spec}


def worker_env(connector: resource.ConnectorResource,
               config: settings.OperatorSettings) -> list[JSON]:
    """The worker's environment: identity, HTTP, Kafka, internal topics, then the user's."""
    kafka = connector.kafka
    if kafka is None:
        if not config.default_bootstrap_servers:
            raise MissingKafka("spec.kafka.bootstrapServers is required: this operator has no "
                               "default Kafka (FERRY_DEFAULT_BOOTSTRAP_SERVERS)")
        kafka = resource.KafkaConnection(bootstrap_servers=config.default_bootstrap_servers)

    def field_ref(path: str) -> JSON:
        return {"valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": path}}}

    env: list[JSON] = [
        {"name": "POD_NAME", **field_ref("metadata.name")},
        {"name": "POD_NAMESPACE", **field_ref("metadata.namespace")},
        {"name": "POD_IP", **field_ref("status.podIP")},
        {"name": "FERRY_CONNECTOR", "value": connector.id},
        {"name": "FERRY_WORKER_ID", "value": "$(POD_NAME)"},
        {"name": "FERRY_HTTP_HOST", "value": "$(POD_IP)"},
        {"name": "FERRY_HTTP_PORT", "value": str(connector.metrics_port)},
        {"name": "FERRY_BOOTSTRAP_SERVERS", "value": kafka.bootstrap_servers},
        {"name": "FERRY_CONFIGS_TOPIC", "value": config.configs_topic},
        {"name": "FERRY_OFFSETS_TOPIC", "value": config.offsets_topic},
        {"name": "FERRY_STATUS_TOPIC", "value": config.status_topic},
    ]
    env.extend(kafka_env.kafka_env(kafka))
    own = {e["name"] for e in env}
    env.extend(dict(e) for e in connector.env if e.get("name") not in own)
    return env


def _container(connector: resource.ConnectorResource,
               config: settings.OperatorSettings) -> JSON:
    def probe(path: str, period: int, failures: int, timeout: int) -> JSON:
        return {"httpGet": {"path": path, "port": PORT_NAME}, "periodSeconds": period,
                "failureThreshold": failures, "timeoutSeconds": timeout}

    mounts: list[JSON] = [{"name": "tmp", "mountPath": "/tmp"}]
    if kafka_env.tls_volume(connector.kafka) is not None:
        mounts.append({"name": kafka_env.TLS_VOLUME, "mountPath": kafka_env.TLS_DIR,
                       "readOnly": True})
    mounts.extend({"name": _secret_volume_name(s.secret_name),
                   "mountPath": f"{SECRETS_DIR}/{s.secret_name}", "readOnly": True}
                  for s in connector.secrets)
    return {
        "name": CONTAINER,
        "image": connector.image or config.worker_image,
        "imagePullPolicy": connector.image_pull_policy or config.worker_image_pull_policy,
        "command": list(COMMAND),
        "ports": [{"name": PORT_NAME, "containerPort": connector.metrics_port,
                   "protocol": "TCP"}],
        "env": worker_env(connector, config),
        "resources": dict(connector.resources or config.worker_resources),
        # Up to three minutes to start (plugins import, Kafka is reached), then liveness.
        "startupProbe": probe("/healthz", period=2, failures=90, timeout=2),
        "livenessProbe": probe("/healthz", period=10, failures=3, timeout=5),
        "readinessProbe": probe("/readyz", period=5, failures=2, timeout=3),
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
        },
        "volumeMounts": mounts,
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }


def _volumes(connector: resource.ConnectorResource) -> list[JSON]:
    volumes: list[JSON] = [{"name": "tmp", "emptyDir": {}}]
    tls = kafka_env.tls_volume(connector.kafka)
    if tls is not None:
        volumes.append(tls)
    volumes.extend({"name": _secret_volume_name(s.secret_name),
                    "secret": {"secretName": s.secret_name, "optional": s.optional,
                               "defaultMode": kafka_env.SECRET_FILE_MODE}}
                   for s in connector.secrets)
    return volumes


def _secret_volume_name(secret_name: str) -> str:
    # Secret names may hold dots and run to 253 characters; volume names are DNS labels.
    return "secret-" + hashlib.sha256(secret_name.encode()).hexdigest()[:12]


def _label_value(connector: resource.ConnectorResource) -> str:
    # The CRD keeps names within 55 characters; an older object may be longer.
    if len(connector.name) <= MAX_NAME:
        return connector.name
    return connector.name[:54].rstrip("-.") + "-" + \
        hashlib.sha256(connector.name.encode()).hexdigest()[:8]
