"""The operator's pure builders: plain assertions on generated objects, no cluster."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ferry_operator import model
from ferry_operator.model import kafka_env, workers

JSON = dict[str, Any]
SETTINGS = model.OperatorSettings(worker_image="ferry-worker:test",
                                  default_bootstrap_servers="kafka:9092")


def body(**spec: Any) -> JSON:
    return {
        "apiVersion": "ferry.dev/v1alpha1",
        "kind": "Connector",
        "metadata": {"name": "orders", "namespace": "shop", "uid": "uid-1", "generation": 3},
        "spec": {"class": "DataGen", "config": {"topic": "orders"}, **spec},
    }


def connector(**spec: Any) -> model.ConnectorResource:
    return model.ConnectorResource.from_body(body(**spec))


def container(deployment: JSON) -> JSON:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return dict(containers[0])


def env_of(deployment: JSON) -> dict[str, JSON]:
    return {e["name"]: e for e in container(deployment)["env"]}


# --- the typed view -------------------------------------------------------------------------

def test_defaults_are_applied() -> None:
    c = model.ConnectorResource.from_body({"metadata": {"name": "x"}, "spec": {"class": "A"}})
    assert (c.namespace, c.tasks_max, c.state, c.replicas, c.metrics_port) == (
        "default", 1, "running", 1, 8083)
    assert c.auto_restart == model.resource.AutoRestart(enabled=True, max_restarts=5)
    assert c.offsets_policy_on_delete == "retain"
    assert c.kafka is None and c.restart is None and c.offsets is None
    assert c.id == "default/x"


def test_a_pasted_kafka_connect_config_is_read_as_it_is() -> None:
    c = model.ConnectorResource.from_body({"metadata": {"name": "src"}, "spec": {"config": {
        "connector.class": "org.apache.kafka.connect.file.FileStreamSourceConnector",
        "tasks.max": "3", "file": "/data/in.txt", "topic": "lines", "batch.size": 500,
        "fsync": False}}})
    assert c.class_name == "org.apache.kafka.connect.file.FileStreamSourceConnector"
    assert c.tasks_max == 3
    assert c.config["batch.size"] == "500"
    assert c.config["fsync"] == "false"


@pytest.mark.parametrize(("spec", "message"), [
    ({"class": None, "config": {"topic": "t"}}, "spec.class is required"),
    ({"class": "A", "config": {"connector.class": "B"}}, "disagrees with spec.class"),
    ({"tasksMax": 2, "config": {"tasks.max": "3"}}, "disagrees with spec.tasksMax"),
    ({"tasksMax": 0}, "spec.tasksMax must be at least 1"),
    ({"config": {"tasks.max": "many"}}, "must be an integer"),
    ({"state": "sleeping"}, "spec.state must be one of running, paused, stopped"),
    ({"replicas": -1}, "spec.replicas must be at least 0"),
    ({"replicas": "2"}, "spec.replicas must be an integer"),
    ({"config": {"nested": {"a": 1}}}, "must be a string or an integer"),
    ({"kafka": {"bootstrapServers": "k:9092", "sasl": {"mechanism": "PLAIN"}}},
     "needs both usernameSecret and passwordSecret"),
    ({"kafka": {}}, "bootstrapServers is required"),
    ({"restart": {"id": " "}}, "spec.restart.id must not be empty"),
    ({"offsets": {"id": "1", "action": "alter"}}, "needs a non-empty offsets list"),
    ({"secrets": [{"secretName": "db"}, {"secretName": "db"}]}, "lists 'db' twice"),
    ({"template": "nope"}, "spec.template must be an object"),
])
def test_bad_input_is_an_invalid_connector_with_a_message(spec: JSON, message: str) -> None:
    raw = body(**spec)
    if raw["spec"]["class"] is None:
        del raw["spec"]["class"]
    with pytest.raises(model.InvalidConnector, match=message):
        model.ConnectorResource.from_body(raw)


def test_no_spec_at_all_is_invalid_not_a_crash() -> None:
    with pytest.raises(model.InvalidConnector):
        model.ConnectorResource.from_body({"metadata": {"name": "x"}, "spec": None})
    with pytest.raises(model.InvalidConnector):
        model.ConnectorResource.from_body({"metadata": {}, "spec": {"class": "A"}})


# --- labels and names -----------------------------------------------------------------------

def test_labels_names_and_selector() -> None:
    c = connector()
    assert model.labels(c) == {
        "app.kubernetes.io/name": "ferry-worker",
        "app.kubernetes.io/instance": "orders",
        "app.kubernetes.io/component": "worker",
        "app.kubernetes.io/part-of": "ferry",
        "app.kubernetes.io/managed-by": "ferry-operator",
        "ferry.dev/connector": "orders",
    }
    assert model.object_name(c) == "orders-workers"
    assert model.selector(c) == "app.kubernetes.io/name=ferry-worker,ferry.dev/connector=orders"
    assert set(model.selector_labels(c).items()) <= set(model.labels(c).items())


def test_long_names_stay_within_63_characters_and_distinct() -> None:
    first = model.ConnectorResource.from_body(
        {"metadata": {"name": "a" * 70 + "x"}, "spec": {"class": "A"}})
    second = model.ConnectorResource.from_body(
        {"metadata": {"name": "a" * 70 + "y"}, "spec": {"class": "A"}})
    assert len(model.object_name(first)) <= 63
    assert model.object_name(first) != model.object_name(second)
    assert model.object_name(first).endswith("-workers")
    assert all(len(v) <= 63 for v in model.labels(first).values())


# --- the Deployment -------------------------------------------------------------------------

def test_deployment_shape_owner_and_selector() -> None:
    d = model.build_deployment(connector(replicas=3), SETTINGS)
    assert (d["apiVersion"], d["kind"]) == ("apps/v1", "Deployment")
    meta = d["metadata"]
    assert (meta["name"], meta["namespace"]) == ("orders-workers", "shop")
    assert meta["ownerReferences"] == [{
        "apiVersion": "ferry.dev/v1alpha1", "kind": "Connector", "name": "orders",
        "uid": "uid-1", "controller": True, "blockOwnerDeletion": True}]
    assert d["spec"]["replicas"] == 3
    assert d["spec"]["selector"] == {"matchLabels": model.selector_labels(connector())}
    pod_labels = d["spec"]["template"]["metadata"]["labels"]
    assert set(d["spec"]["selector"]["matchLabels"].items()) <= set(pod_labels.items())


def test_container_follows_the_worker_contract() -> None:
    d = model.build_deployment(connector(metricsPort=9000), SETTINGS)
    c = container(d)
    assert c["command"] == ["ferry", "worker"]
    assert c["image"] == "ferry-worker:test"
    assert c["ports"] == [{"name": "http", "containerPort": 9000, "protocol": "TCP"}]
    env = env_of(d)
    assert env["FERRY_CONNECTOR"]["value"] == "shop/orders"
    assert env["FERRY_BOOTSTRAP_SERVERS"]["value"] == "kafka:9092"
    assert env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert env["POD_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"
    assert env["POD_IP"]["valueFrom"]["fieldRef"]["fieldPath"] == "status.podIP"
    assert env["FERRY_WORKER_ID"]["value"] == "$(POD_NAME)"
    assert env["FERRY_HTTP_HOST"]["value"] == "$(POD_IP)"
    assert env["FERRY_HTTP_PORT"]["value"] == "9000"
    assert env["FERRY_CONFIGS_TOPIC"]["value"] == "ferry-configs"
    assert env["FERRY_OFFSETS_TOPIC"]["value"] == "ferry-offsets"
    assert env["FERRY_STATUS_TOPIC"]["value"] == "ferry-status"
    # $(VAR) only expands variables defined earlier in the list.
    names = [e["name"] for e in c["env"]]
    assert names.index("POD_NAME") < names.index("FERRY_WORKER_ID")
    assert names.index("POD_IP") < names.index("FERRY_HTTP_HOST")
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert c["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert d["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] == 60


def test_no_config_or_class_reaches_the_pod() -> None:
    d = model.build_deployment(connector(config={"topic": "orders", "secret.ish": "x"}),
                               SETTINGS)
    text = repr(d)
    assert "secret.ish" not in text and "DataGen" not in text


def test_restricted_security_context() -> None:
    d = model.build_deployment(connector(), SETTINGS)
    pod = d["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    assert pod["enableServiceLinks"] is False
    sc = container(d)["securityContext"]
    assert sc == {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                  "readOnlyRootFilesystem": True, "runAsNonRoot": True}
    assert {"name": "tmp", "mountPath": "/tmp"} in container(d)["volumeMounts"]
    assert {"name": "tmp", "emptyDir": {}} in pod["volumes"]


def test_prometheus_annotations_are_optional() -> None:
    on = model.build_deployment(connector(), SETTINGS)
    assert on["spec"]["template"]["metadata"]["annotations"] == {
        "prometheus.io/scrape": "true", "prometheus.io/port": "8083",
        "prometheus.io/path": "/metrics"}
    off = model.build_deployment(connector(), model.OperatorSettings(
        default_bootstrap_servers="k:9092", prometheus_annotations=False))
    assert "annotations" not in off["spec"]["template"]["metadata"]


def test_secrets_are_mounted_read_only_per_secret() -> None:
    d = model.build_deployment(connector(secrets=[{"secretName": "db"},
                                                  {"secretName": "api.keys", "optional": True}]),
                               SETTINGS)
    mounts = {m["mountPath"]: m for m in container(d)["volumeMounts"]}
    volumes = {v["name"]: v for v in d["spec"]["template"]["spec"]["volumes"]}
    for secret, optional in (("db", False), ("api.keys", True)):
        mount = mounts[f"/etc/ferry/secrets/{secret}"]
        assert mount["readOnly"] is True
        volume = volumes[mount["name"]]
        assert volume["secret"]["secretName"] == secret
        assert volume["secret"]["optional"] is optional
        assert len(mount["name"]) <= 63


def test_user_env_is_passed_as_it_is_after_ferrys_own() -> None:
    env = [{"name": "API_TOKEN", "valueFrom": {"secretKeyRef": {"name": "api", "key": "t"}}},
           {"name": "MODE", "value": "fast"}]
    d = model.build_deployment(connector(env=env), SETTINGS)
    assert container(d)["env"][-2:] == env


def test_kafka_tls_and_sasl_become_env_and_one_projected_volume() -> None:
    d = model.build_deployment(connector(kafka={
        "bootstrapServers": "kafka-0.kafka:9093,kafka-1.kafka:9093",
        "tls": {"caSecret": {"name": "kafka-ca", "key": "ca.pem"}, "certSecret": {"name": "me"}},
        "sasl": {"mechanism": "SCRAM-SHA-512",
                 "usernameSecret": {"name": "creds", "key": "user"},
                 "passwordSecret": {"name": "creds", "key": "password"}},
        "config": {"compression.type": "zstd", "linger.ms": 20},
    }), SETTINGS)
    env = env_of(d)
    assert env["FERRY_BOOTSTRAP_SERVERS"]["value"] == "kafka-0.kafka:9093,kafka-1.kafka:9093"
    assert env["FERRY_KAFKA_SECURITY_PROTOCOL"]["value"] == "SASL_SSL"
    assert env["FERRY_KAFKA_SASL_MECHANISM"]["value"] == "SCRAM-SHA-512"
    assert env["FERRY_KAFKA_SASL_USERNAME"]["valueFrom"] == {
        "secretKeyRef": {"name": "creds", "key": "user"}}
    assert env["FERRY_KAFKA_SASL_PASSWORD"]["valueFrom"] == {
        "secretKeyRef": {"name": "creds", "key": "password"}}
    assert env["FERRY_KAFKA_SSL_CA_LOCATION"]["value"] == "/etc/ferry/kafka-tls/ca.crt"
    assert env["FERRY_KAFKA_SSL_CERTIFICATE_LOCATION"]["value"] == "/etc/ferry/kafka-tls/tls.crt"
    assert env["FERRY_KAFKA_SSL_KEY_LOCATION"]["value"] == "/etc/ferry/kafka-tls/tls.key"
    assert env["FERRY_KAFKA_COMPRESSION_TYPE"]["value"] == "zstd"
    assert env["FERRY_KAFKA_LINGER_MS"]["value"] == "20"
    assert "value" not in env["FERRY_KAFKA_SASL_PASSWORD"]
    volume = next(v for v in d["spec"]["template"]["spec"]["volumes"] if v["name"] == "kafka-tls")
    assert volume["projected"]["sources"] == [
        {"secret": {"name": "kafka-ca", "items": [{"key": "ca.pem", "path": "ca.crt"}]}},
        {"secret": {"name": "me", "items": [{"key": "tls.crt", "path": "tls.crt"},
                                            {"key": "tls.key", "path": "tls.key"}]}}]
    assert {"name": "kafka-tls", "mountPath": "/etc/ferry/kafka-tls", "readOnly": True} in \
        container(d)["volumeMounts"]


def test_a_client_override_beats_a_derived_setting() -> None:
    d = model.build_deployment(connector(kafka={
        "bootstrapServers": "k:9092", "tls": {"caSecret": {"name": "ca"}},
        "config": {"security.protocol": "SSL"},
        "sasl": {"usernameSecret": {"name": "c", "key": "u"},
                 "passwordSecret": {"name": "c", "key": "p"}}}), SETTINGS)
    protocols = [e for e in container(d)["env"] if e["name"] == "FERRY_KAFKA_SECURITY_PROTOCOL"]
    assert protocols == [{"name": "FERRY_KAFKA_SECURITY_PROTOCOL", "value": "SSL"}]


def test_sasl_without_tls_is_sasl_plaintext_and_tls_alone_is_ssl() -> None:
    sasl = {"usernameSecret": {"name": "c", "key": "u"},
            "passwordSecret": {"name": "c", "key": "p"}}
    plain = connector(kafka={"bootstrapServers": "k:9092", "sasl": sasl})
    tls = connector(kafka={"bootstrapServers": "k:9092", "tls": {"caSecret": {"name": "ca"}}})
    assert env_of(model.build_deployment(plain, SETTINGS))[
        "FERRY_KAFKA_SECURITY_PROTOCOL"]["value"] == "SASL_PLAINTEXT"
    assert env_of(model.build_deployment(tls, SETTINGS))[
        "FERRY_KAFKA_SECURITY_PROTOCOL"]["value"] == "SSL"
    assert kafka_env.env_name("sasl.oauthbearer.client.id") == \
        "FERRY_KAFKA_SASL_OAUTHBEARER_CLIENT_ID"


def test_missing_kafka_is_an_invalid_connector() -> None:
    with pytest.raises(model.MissingKafka, match="bootstrapServers is required"):
        model.build_deployment(connector(), model.OperatorSettings())
    assert issubclass(model.MissingKafka, model.InvalidConnector)


def test_template_overrides() -> None:
    d = model.build_deployment(connector(template={
        "labels": {"team": "data"}, "annotations": {"owner": "me"},
        "nodeSelector": {"pool": "connect"},
        "tolerations": [{"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}],
        "affinity": {"nodeAffinity": {}}, "serviceAccountName": "s3-writer",
        "priorityClassName": "high"},
        imagePullSecrets=[{"name": "regcred"}], image="my/worker:1",
        imagePullPolicy="Always", resources={"limits": {"memory": "2Gi"}}), SETTINGS)
    template = d["spec"]["template"]
    pod = template["spec"]
    assert template["metadata"]["labels"]["team"] == "data"
    assert template["metadata"]["labels"]["ferry.dev/connector"] == "orders"
    assert template["metadata"]["annotations"]["owner"] == "me"
    assert pod["nodeSelector"] == {"pool": "connect"}
    assert pod["tolerations"][0]["key"] == "dedicated"
    assert pod["affinity"] == {"nodeAffinity": {}}
    assert pod["serviceAccountName"] == "s3-writer"
    assert "automountServiceAccountToken" not in pod
    assert pod["priorityClassName"] == "high"
    assert pod["imagePullSecrets"] == [{"name": "regcred"}]
    assert (container(d)["image"], container(d)["imagePullPolicy"]) == ("my/worker:1", "Always")
    assert container(d)["resources"] == {"limits": {"memory": "2Gi"}}


def test_pod_spec_hash_ignores_config_only_changes() -> None:
    base = body(tasksMax=2, config={"topic": "orders", "max.records": "10"})
    changed = copy.deepcopy(base)
    changed["spec"].update(tasksMax=5, state="paused", config={"topic": "other"},
                           restart={"id": "r1"}, autoRestart={"maxRestarts": 9},
                           offsetsPolicyOnDelete="delete")
    changed["metadata"]["generation"] = 4
    first = model.build_deployment(model.ConnectorResource.from_body(base), SETTINGS)
    second = model.build_deployment(model.ConnectorResource.from_body(changed), SETTINGS)
    assert first == second


@pytest.mark.parametrize("change", [
    {"image": "ferry-worker:other"},
    {"env": [{"name": "X", "value": "1"}]},
    {"secrets": [{"secretName": "db"}]},
    {"metricsPort": 9000},
    {"kafka": {"bootstrapServers": "other:9092"}},
    {"resources": {"limits": {"cpu": "1"}}},
    {"template": {"labels": {"team": "x"}}},
])
def test_pod_spec_hash_changes_with_the_pod(change: JSON) -> None:
    before = model.build_deployment(connector(), SETTINGS)
    after = model.build_deployment(connector(**change), SETTINGS)
    assert before["metadata"]["annotations"][model.POD_SPEC_HASH] != \
        after["metadata"]["annotations"][model.POD_SPEC_HASH]


def test_scaling_does_not_change_the_pod_spec_hash() -> None:
    one = model.build_deployment(connector(replicas=1), SETTINGS)
    three = model.build_deployment(connector(replicas=3), SETTINGS)
    assert one["metadata"]["annotations"] == three["metadata"]["annotations"]
    assert one["spec"]["template"] == three["spec"]["template"]


# --- Service and PodDisruptionBudget --------------------------------------------------------

def test_service_is_headless_over_the_http_port() -> None:
    s = model.build_service(connector(metricsPort=9100))
    assert (s["apiVersion"], s["kind"], s["metadata"]["name"]) == ("v1", "Service",
                                                                   "orders-workers")
    assert s["spec"]["clusterIP"] == "None"
    assert s["spec"]["selector"] == model.selector_labels(connector())
    assert s["spec"]["ports"] == [{"name": "http", "port": 9100, "targetPort": "http",
                                   "protocol": "TCP"}]
    assert s["metadata"]["ownerReferences"][0]["uid"] == "uid-1"


@pytest.mark.parametrize("replicas", [0, 1])
def test_no_pod_disruption_budget_for_one_worker(replicas: int) -> None:
    assert model.build_pod_disruption_budget(connector(replicas=replicas)) is None


def test_pod_disruption_budget_for_several_workers() -> None:
    pdb = model.build_pod_disruption_budget(connector(replicas=3))
    assert pdb is not None
    assert (pdb["apiVersion"], pdb["kind"]) == ("policy/v1", "PodDisruptionBudget")
    assert pdb["spec"]["maxUnavailable"] == 1
    assert pdb["spec"]["selector"] == {"matchLabels": model.selector_labels(connector())}
    assert pdb["metadata"]["ownerReferences"][0]["controller"] is True


# --- operator settings ----------------------------------------------------------------------

def test_settings_from_env() -> None:
    s = model.OperatorSettings.from_env({
        "FERRY_WORKER_IMAGE": "reg/ferry:2", "FERRY_DEFAULT_BOOTSTRAP_SERVERS": "k:9092",
        "FERRY_CONFIGS_TOPIC": "c", "FERRY_OFFSETS_TOPIC": "o", "FERRY_STATUS_TOPIC": "s",
        "FERRY_WATCH_NAMESPACES": "a, b,", "FERRY_WORKER_PROMETHEUS_ANNOTATIONS": "false",
        "FERRY_WORKER_RESOURCES": '{"requests": {"cpu": "1"}}'})
    assert (s.worker_image, s.default_bootstrap_servers) == ("reg/ferry:2", "k:9092")
    assert (s.configs_topic, s.offsets_topic, s.status_topic) == ("c", "o", "s")
    assert s.watch_namespaces == ("a", "b") and not s.cluster_wide
    assert s.prometheus_annotations is False
    assert s.worker_resources == {"requests": {"cpu": "1"}}
    defaults = model.OperatorSettings.from_env({})
    assert defaults == model.OperatorSettings() and defaults.cluster_wide
    with pytest.raises(model.settings.InvalidSettings):
        model.OperatorSettings.from_env({"FERRY_WORKER_RESOURCES": "[1"})


def test_worker_module_constants_match_the_contract() -> None:
    assert workers.COMMAND == ("ferry", "worker")
    assert workers.TERMINATION_GRACE_SECONDS >= 60
