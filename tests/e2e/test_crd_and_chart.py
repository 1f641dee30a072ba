"""The Connector CRD, the Helm chart and the pure builders against the real API server.

The CRD's schema, defaults and CEL rules are checked by kube-apiserver itself; the chart is
linted and rendered by the real helm and every rendered object (and every object the
operator's builders emit) is accepted by a server-side dry run with strict field validation.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from ferry_operator import model
from ferry_stack.controlplane import ControlPlane
from ferry_stack.helm import helm
from ferry_stack.nodeagent.kube import ApiError, Kube
from ferry_stack.operator_run import eventually

pytestmark = pytest.mark.e2e

JSON = dict[str, Any]
ROOT = Path(__file__).resolve().parents[2]
CRD_FILE = ROOT / "crds" / "connectors.ferry.dev.yaml"
CHART = ROOT / "helm" / "ferry"
CONNECTORS = "/apis/ferry.dev/v1alpha1/namespaces/{ns}/connectors"
TABLE = "application/json;as=Table;g=meta.k8s.io;v=v1"

# Where a kind's objects are created, and whether it is namespaced.
COLLECTIONS: dict[str, tuple[str, bool]] = {
    "ServiceAccount": ("/api/v1", True),
    "Service": ("/api/v1", True),
    "ConfigMap": ("/api/v1", True),
    "Deployment": ("/apis/apps/v1", True),
    "StatefulSet": ("/apis/apps/v1", True),
    "Namespace": ("/api/v1", False),
    "Connector": ("/apis/ferry.dev/v1alpha1", True),
    "PodDisruptionBudget": ("/apis/policy/v1", True),
    "Role": ("/apis/rbac.authorization.k8s.io/v1", True),
    "RoleBinding": ("/apis/rbac.authorization.k8s.io/v1", True),
    "ClusterRole": ("/apis/rbac.authorization.k8s.io/v1", False),
    "ClusterRoleBinding": ("/apis/rbac.authorization.k8s.io/v1", False),
    "KopfPeering": ("/apis/kopf.dev/v1", True),
    "ClusterKopfPeering": ("/apis/kopf.dev/v1", False),
}


def send(kube: Kube, method: str, path: str, body: Any = None, accept: str = "application/json",
         content_type: str = "application/json", **query: str) -> tuple[int, JSON, str]:
    """One request with any Accept header: status, parsed body and the Warning header."""
    client = kube.api_client
    serialized = client.param_serialize(
        method, path, query_params=list(query.items()), body=body, auth_settings=["BearerToken"],
        header_params={"Accept": accept, "Content-Type": content_type})
    response = client.call_api(*serialized, _request_timeout=(5.0, 30.0))
    text = (response.read() or b"{}").decode()
    return int(response.status), json.loads(text), str(response.getheader("Warning") or "")


def dry_run_create(kube: Kube, obj: JSON, namespace: str) -> JSON:
    """Create ``obj`` with dryRun=All and strict field validation; fail with the server's words."""
    prefix, namespaced = COLLECTIONS[obj["kind"]]
    plural = obj["kind"].lower() + "s"
    where = obj.get("metadata", {}).get("namespace") or namespace
    path = f"{prefix}/namespaces/{where}/{plural}" if namespaced else f"{prefix}/{plural}"
    status, reply, warning = send(kube, "POST", path, obj, dryRun="All",
                                  fieldValidation="Strict")
    assert status == 201, f"{obj['kind']} {obj['metadata'].get('name')}: {status} {reply}"
    assert not warning, f"{obj['kind']} {obj['metadata'].get('name')}: warning {warning}"
    return reply


def apply_crd(kube: Kube, crd: JSON) -> None:
    name = crd["metadata"]["name"]
    path = f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}"
    try:
        current = kube.get(path)
        crd = {**crd, "metadata": {**crd["metadata"],
                                   "resourceVersion": current["metadata"]["resourceVersion"]}}
        kube.request("PUT", path, body=crd)
    except ApiError as error:
        if error.status != 404:
            raise
        kube.create("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)

    def established() -> bool:
        conditions = kube.get(path).get("status", {}).get("conditions") or []
        return any(c["type"] == "Established" and c["status"] == "True" for c in conditions)

    eventually(established, f"{name} to be Established")


@pytest.fixture(scope="module")
def kube(kube_client: Any) -> Kube:
    return Kube(kube_client)


@pytest.fixture(scope="module")
def crd(kube: Kube) -> Iterator[JSON]:
    definition = yaml.safe_load(CRD_FILE.read_text())
    apply_crd(kube, definition)
    # Established, then the discovery of the new version settles for a moment.
    eventually(lambda: _served(kube), "the connectors resource to be served")
    yield definition
    kube.delete(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"
                f"{definition['metadata']['name']}")


def _served(kube: Kube) -> bool:
    try:
        kube.get(CONNECTORS.format(ns="default"))
        return True
    except ApiError:
        return False


@pytest.fixture(scope="module")
def chart_cluster(kube: Kube, crd: JSON) -> Iterator[None]:
    """kopf's peering CRDs and the namespaces the rendered chart refers to."""
    peerings = list(yaml.safe_load_all((CHART / "crds" / "kopf-peerings.yaml").read_text()))
    for definition in peerings:
        apply_crd(kube, definition)
    namespaces = ("ferry-system", "team-a", "team-b", "kafka")
    for name in namespaces:
        kube.create("/api/v1/namespaces", {"metadata": {"name": name}})
    yield
    for name in namespaces:
        kube.delete(f"/api/v1/namespaces/{name}")
    for definition in peerings:
        kube.delete(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"
                    f"{definition['metadata']['name']}")


@pytest.fixture
def namespace(kube: Kube) -> Iterator[str]:
    name = f"crd-{uuid.uuid4().hex[:8]}"
    kube.create("/api/v1/namespaces", {"metadata": {"name": name}})
    yield name
    kube.delete(f"/api/v1/namespaces/{name}")


def connector(name: str, **spec: Any) -> JSON:
    return {"apiVersion": "ferry.dev/v1alpha1", "kind": "Connector",
            "metadata": {"name": name}, "spec": spec}


def rejection(kube: Kube, namespace: str, body: JSON) -> str:
    with pytest.raises(ApiError) as rejected:
        kube.create(CONNECTORS.format(ns=namespace), body)
    assert rejected.value.status == 422, rejected.value.body
    return str(json.loads(rejected.value.body)["message"])


# --- the CRD --------------------------------------------------------------------------------

def test_crd_is_structural_with_a_description_on_every_field(crd: JSON) -> None:
    version = crd["spec"]["versions"][0]
    missing: list[str] = []

    def walk(schema: JSON, path: str) -> None:
        if path not in ("", ".metadata") and not schema.get("description"):
            missing.append(path or "<root>")
        for key, sub in (schema.get("properties") or {}).items():
            walk(sub, f"{path}.{key}")
        if isinstance(schema.get("items"), dict):
            walk(schema["items"], f"{path}[]")
        if isinstance(schema.get("additionalProperties"), dict):
            walk(schema["additionalProperties"], f"{path}{{}}")

    walk(version["schema"]["openAPIV3Schema"], "")
    assert missing == []
    assert crd["spec"]["names"]["shortNames"] == ["fcon", "ferryconnector"]


def test_a_valid_connector_is_accepted_with_defaults(kube: Kube, crd: JSON,
                                                     namespace: str) -> None:
    created = kube.create(CONNECTORS.format(ns=namespace), connector(
        "datagen", **{"class": "DataGen", "config": {"topic": "t", "batch.size": 100},
                      "kafka": {"bootstrapServers": "kafka-0.kafka:9092, kafka-1.kafka:9092",
                                "sasl": {"usernameSecret": {"name": "k", "key": "user"},
                                         "passwordSecret": {"name": "k", "key": "pw"}},
                                "tls": {"caSecret": {"name": "ca"}}},
                      "restart": {"id": "first"}}))
    spec = created["spec"]
    assert spec["state"] == "running"
    assert spec["replicas"] == 1
    assert spec["metricsPort"] == 8083
    assert spec["offsetsPolicyOnDelete"] == "retain"
    assert spec["autoRestart"] == {"enabled": True, "maxRestarts": 5}
    assert spec["restart"] == {"id": "first", "includeTasks": False, "onlyFailed": False}
    assert spec["kafka"]["sasl"]["mechanism"] == "SCRAM-SHA-512"
    assert spec["kafka"]["tls"]["caSecret"]["key"] == "ca.crt"
    assert spec["config"]["batch.size"] == 100
    # The stored object reads back as the operator's typed view.
    typed = model.ConnectorResource.from_body(created)
    assert (typed.class_name, typed.tasks_max, typed.config["batch.size"]) == ("DataGen", 1, "100")


def test_a_pasted_kafka_connect_config_is_accepted(kube: Kube, crd: JSON, namespace: str) -> None:
    created = kube.create(CONNECTORS.format(ns=namespace), connector("pasted", config={
        "connector.class": "org.apache.kafka.connect.file.FileStreamSourceConnector",
        "tasks.max": "1", "file": "/tmp/in.txt", "topic": "connect-test"}))
    assert "class" not in created["spec"]
    assert model.ConnectorResource.from_body(created).tasks_max == 1


@pytest.mark.parametrize(("name", "spec", "message"), [
    ("no-class", {"config": {"topic": "t"}}, "spec.class is required"),
    ("blank-class", {"class": " "}, "spec.class must not be blank"),
    ("tasks-zero", {"class": "DataGen", "tasksMax": 0},
     "spec.tasksMax in body should be greater than or equal to 1"),
    ("sleeping", {"class": "DataGen", "state": "sleeping"},
     'spec.state: Unsupported value: "sleeping"'),
    ("sasl-alone", {"class": "DataGen", "kafka": {"bootstrapServers": "k:9092",
                                                  "sasl": {"mechanism": "PLAIN"}}},
     "kafka.sasl needs both usernameSecret and passwordSecret"),
    ("no-port", {"class": "DataGen", "kafka": {"bootstrapServers": "kafka"}},
     "kafka.bootstrapServers must be a comma-separated list of host:port"),
    ("url", {"class": "DataGen", "kafka": {"bootstrapServers": "http://k:9092/path"}},
     "kafka.bootstrapServers must be a comma-separated list of host:port"),
    ("two-classes", {"class": "DataGen", "config": {"connector.class": "FileStreamSink"}},
     "config['connector.class'] disagrees with spec.class"),
    ("two-maxes", {"class": "DataGen", "tasksMax": 2, "config": {"tasks.max": "3"}},
     "config['tasks.max'] disagrees with spec.tasksMax"),
    ("nested", {"class": "DataGen", "config": {"a": {"b": "c"}}}, "spec.config.a"),
    ("restart-blank", {"class": "DataGen", "restart": {"id": ""}},
     "spec.restart.id must not be empty"),
    ("offsets-running", {"class": "DataGen", "offsets": {"id": "1", "action": "reset"}},
     "needs spec.state: stopped"),
    ("alter-nothing", {"class": "DataGen", "state": "stopped",
                       "offsets": {"id": "1", "action": "alter"}},
     "alter needs a non-empty offsets list"),
    ("password-in-config", {"class": "DataGen", "kafka": {"bootstrapServers": "k:9092",
                                                          "config": {"sasl.password": "x"}}},
     "kafka.config must not set bootstrap.servers or credentials"),
    ("reserved-env", {"class": "DataGen", "env": [{"name": "FERRY_CONNECTOR", "value": "x"}]},
     "env must not set the variables Ferry sets"),
    ("own-labels", {"class": "DataGen", "template": {"labels": {"ferry.dev/connector": "x"}}},
     "template.labels must not set"),
    ("port-80", {"class": "DataGen", "metricsPort": 80}, "spec.metricsPort"),
    ("a" * 56, {"class": "DataGen"}, "metadata.name must be a DNS-1035 label"),
])
def test_invalid_connectors_are_rejected(kube: Kube, crd: JSON, namespace: str, name: str,
                                         spec: JSON, message: str) -> None:
    assert message in rejection(kube, namespace, connector(name, **spec))


def test_offsets_nonce_survives_a_resume_but_a_new_one_needs_stopped(
        kube: Kube, crd: JSON, namespace: str) -> None:
    path = CONNECTORS.format(ns=namespace) + "/src"
    kube.create(CONNECTORS.format(ns=namespace), connector(
        "src", **{"class": "DataGen", "state": "stopped",
                  "offsets": {"id": "1", "action": "alter", "offsets": [
                      {"partition": {"task": 0}, "offset": {"seq": 10}},
                      {"partition": {"task": 1}, "offset": None}]}}))
    resumed = kube.patch(path, {"spec": {"state": "running"}}, strategic=False)
    assert resumed["spec"]["offsets"]["offsets"][1]["offset"] is None
    with pytest.raises(ApiError) as rejected:
        kube.patch(path, {"spec": {"offsets": {"id": "2"}}}, strategic=False)
    assert rejected.value.status == 422
    assert "needs spec.state: stopped" in rejected.value.body


def test_scale_subresource(kube: Kube, crd: JSON, namespace: str) -> None:
    base = CONNECTORS.format(ns=namespace) + "/scaled"
    kube.create(CONNECTORS.format(ns=namespace), connector("scaled", **{"class": "DataGen"}))
    typed = model.ConnectorResource.from_body(kube.get(base))
    kube.patch(base + "/status", {"status": {"selector": model.selector(typed),
                                             "workersReady": 1}}, strategic=False)
    scale = kube.get(base + "/scale")
    assert (scale["kind"], scale["spec"]["replicas"]) == ("Scale", 1)
    assert scale["status"] == {"replicas": 1, "selector": model.selector(typed)}
    scale["spec"]["replicas"] = 3
    kube.request("PUT", base + "/scale", body=scale)
    assert kube.get(base)["spec"]["replicas"] == 3
    # The operator's status writes never touch the spec (and so never bump the generation).
    before = kube.get(base)["metadata"]["generation"]
    kube.patch(base + "/status", {"status": {"workersReady": 3}}, strategic=False)
    assert kube.get(base)["metadata"]["generation"] == before


def test_printer_columns_as_served(kube: Kube, crd: JSON, namespace: str) -> None:
    base = CONNECTORS.format(ns=namespace)
    kube.create(base, connector("shown", **{"class": "FileStreamSink", "tasksMax": 3}))
    kube.patch(base + "/shown/status", {"status": {
        "state": "RUNNING", "tasksRunning": 2, "tasksTotal": 3, "tasksReady": "2/3",
        "workersReady": 1, "workersDesired": 1, "workers": "1/1",
        "conditions": [{"type": "Ready", "status": "False", "reason": "TaskFailed",
                        "message": "task 2 FAILED", "lastTransitionTime": "2025-01-01T00:00:00Z",
                        "observedGeneration": 1}]}}, strategic=False)
    status, table, _ = send(kube, "GET", base, accept=TABLE)
    assert status == 200 and table["kind"] == "Table"
    columns = [c["name"] for c in table["columnDefinitions"]]
    assert columns == ["Name", "State", "Tasks", "Workers", "Class", "Age"]
    row = next(r["cells"] for r in table["rows"] if r["cells"][0] == "shown")
    assert row[1:5] == ["RUNNING", "2/3", "1/1", "FileStreamSink"]


# --- the builders ---------------------------------------------------------------------------

def test_builder_output_is_accepted_by_the_api_server(kube: Kube, crd: JSON,
                                                      namespace: str) -> None:
    stored = kube.create(CONNECTORS.format(ns=namespace), connector("built", **{
        "class": "DataGen", "replicas": 3, "tasksMax": 4, "config": {"topic": "t"},
        "kafka": {"bootstrapServers": "kafka:9093",
                  "tls": {"caSecret": {"name": "ca"}, "certSecret": {"name": "me"}},
                  "sasl": {"usernameSecret": {"name": "c", "key": "u"},
                           "passwordSecret": {"name": "c", "key": "p"}},
                  "config": {"linger.ms": 20}},
        "secrets": [{"secretName": "db"}, {"secretName": "api.keys", "optional": True}],
        "env": [{"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "t", "key": "k"}}},
                {"name": "LIMIT", "valueFrom": {"resourceFieldRef": {
                    "resource": "limits.memory", "divisor": "1Mi"}}}],
        "resources": {"requests": {"cpu": "100m", "memory": 128}},
        "template": {"labels": {"team": "data"}, "annotations": {"a": "b"},
                     "nodeSelector": {"kubernetes.io/os": "linux"},
                     "tolerations": [{"key": "dedicated", "operator": "Exists"}],
                     "affinity": {"podAntiAffinity": {
                         "preferredDuringSchedulingIgnoredDuringExecution": [{
                             "weight": 1, "podAffinityTerm": {
                                 "topologyKey": "kubernetes.io/hostname",
                                 "labelSelector": {"matchLabels": {"team": "data"}}}}]}},
                     "serviceAccountName": "default"}}))
    typed = model.ConnectorResource.from_body(stored)
    settings = model.OperatorSettings(worker_image="ferry-worker:e2e")
    objects = [model.build_deployment(typed, settings), model.build_service(typed),
               model.build_pod_disruption_budget(typed)]
    for obj in objects:
        assert obj is not None
        reply = dry_run_create(kube, obj, namespace)
        assert reply["metadata"]["ownerReferences"][0]["uid"] == stored["metadata"]["uid"]


# --- the examples ---------------------------------------------------------------------------

@pytest.mark.parametrize("example", sorted((ROOT / "examples" / "connectors").glob("*.yaml")),
                         ids=lambda p: p.stem)
def test_example_connectors_are_accepted(kube: Kube, crd: JSON, namespace: str,
                                         example: Path) -> None:
    for doc in yaml.safe_load_all(example.read_text()):
        doc["metadata"]["namespace"] = namespace
        stored = dry_run_create(kube, doc, namespace)
        typed = model.ConnectorResource.from_body(stored)
        assert typed.class_name
        dry_run_create(kube, model.build_deployment(typed, model.OperatorSettings()), namespace)


def test_example_kafka_is_accepted(kube: Kube, chart_cluster: None) -> None:
    docs = list(yaml.safe_load_all((ROOT / "examples" / "kafka-single-node.yaml").read_text()))
    assert [d["kind"] for d in docs] == ["Namespace", "Service", "StatefulSet"]
    for doc in docs[1:]:  # the namespace exists already (made by the fixture)
        dry_run_create(kube, doc, "kafka")


# --- the chart ------------------------------------------------------------------------------

def test_chart_crd_is_identical_to_crds() -> None:
    assert (CHART / "crds" / CRD_FILE.name).read_bytes() == CRD_FILE.read_bytes()


def test_helm_lint_is_clean(tmp_path: Path) -> None:
    for flags in ([], ["--set", "watchNamespaces={a,b},peering.enabled=true,operator.replicas=2"],
                  ["--set", "serviceMonitor.enabled=true,podMonitor.enabled=true,"
                            "grafanaDashboard.enabled=true"]):
        out = helm("lint", "--strict", str(CHART), *flags, home=tmp_path).stdout
        assert "1 chart(s) linted, 0 chart(s) failed" in out
        assert "[WARNING]" not in out and "[ERROR]" not in out


def render(tmp_path: Path, *flags: str) -> list[JSON]:
    out = helm("template", "ferry", str(CHART), "--namespace", "ferry-system", *flags,
               home=tmp_path).stdout
    return [d for d in yaml.safe_load_all(out) if d]


@pytest.mark.parametrize("flags", [
    (),
    ("--set", "peering.enabled=true,operator.replicas=2,kafka.bootstrapServers=kafka:9092"),
    ("--set", "grafanaDashboard.enabled=true"),
    ("--set", "peering.enabled=true,rbac.create=true"),
    ("--set", "serviceAccount.create=false,rbac.create=false"),
], ids=["defaults", "peering", "dashboard", "peering-rbac", "bring-your-own-account"])
def test_helm_template_is_accepted_cluster_wide(kube: Kube, chart_cluster: None, tmp_path: Path,
                                                flags: tuple[str, ...]) -> None:
    docs = render(tmp_path, *flags)
    kinds = {d["kind"] for d in docs}
    assert {"Deployment", "Service"} <= kinds
    for doc in docs:
        dry_run_create(kube, doc, "ferry-system")
    if "rbac.create=false" not in " ".join(flags):
        assert {"ClusterRole", "ClusterRoleBinding"} <= kinds and "Role" not in kinds


def test_helm_template_per_namespace_rbac(kube: Kube, chart_cluster: None,
                                         tmp_path: Path) -> None:
    docs = render(tmp_path, "--set", "watchNamespaces={team-a,team-b},peering.enabled=true")
    roles = sorted((d["kind"], d["metadata"].get("namespace", "")) for d in docs
                   if d["kind"] in ("Role", "RoleBinding", "KopfPeering"))
    assert roles == [(kind, ns) for kind in ("KopfPeering", "Role", "RoleBinding")
                     for ns in ("team-a", "team-b")]
    # Cluster-wide, only the read-only CRD discovery remains.
    cluster_roles = [d for d in docs if d["kind"] == "ClusterRole"]
    assert [r["rules"] for r in cluster_roles] == [[{
        "apiGroups": ["apiextensions.k8s.io"], "resources": ["customresourcedefinitions"],
        "verbs": ["get", "list", "watch"]}]]
    for doc in docs:
        dry_run_create(kube, doc, "ferry-system")
    operator = next(d for d in docs if d["kind"] == "Deployment")
    env = {e["name"]: e.get("value") for e in operator["spec"]["template"]["spec"]
           ["containers"][0]["env"]}
    assert env["FERRY_WATCH_NAMESPACES"] == "team-a,team-b"
    assert env["FERRY_OPERATOR_PEERING"] == "ferry"


def test_rbac_is_least_privilege(tmp_path: Path) -> None:
    docs = render(tmp_path)
    rules = [r for d in docs if d["kind"] == "ClusterRole" for r in d["rules"]]
    resources = {res for r in rules for res in r["resources"]}
    assert "secrets" not in resources and "*" not in resources
    assert not any("*" in r["verbs"] for r in rules)
    by_resource = {res: set(r["verbs"]) for r in rules for res in r["resources"]}
    assert by_resource["connectors"] == {"get", "list", "watch", "patch"}
    assert by_resource["connectors/status"] == {"get", "patch"}
    assert by_resource["pods"] == {"get", "list", "watch"}
    assert {"create", "patch", "delete"} <= by_resource["deployments"]


def test_operator_deployment_settings_reach_the_model(tmp_path: Path) -> None:
    docs = render(tmp_path, "--set", "worker.image.repository=reg/worker,"
                                     "kafka.bootstrapServers=kafka:9092",
                  "--set-string", "worker.image.tag=7")
    operator = next(d for d in docs if d["kind"] == "Deployment")
    container = operator["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["ferry-operator"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    env = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    settings = model.OperatorSettings.from_env(env)
    assert settings.worker_image == "reg/worker:7"
    assert settings.default_bootstrap_servers == "kafka:9092"
    assert settings.cluster_wide
    assert settings.worker_resources == {"requests": {"cpu": "250m", "memory": "256Mi"},
                                         "limits": {"memory": "1Gi"}}
    assert operator["spec"]["strategy"]["type"] == "Recreate"


def test_monitoring_objects_render_when_enabled(tmp_path: Path) -> None:
    assert not {"ServiceMonitor", "PodMonitor"} & {d["kind"] for d in render(tmp_path)}
    docs = render(tmp_path, "--set", "serviceMonitor.enabled=true,podMonitor.enabled=true,"
                                     "grafanaDashboard.enabled=true")
    by_kind = {d["kind"]: d for d in docs}
    assert by_kind["ServiceMonitor"]["apiVersion"] == "monitoring.coreos.com/v1"
    assert by_kind["ServiceMonitor"]["spec"]["endpoints"][0]["port"] == "metrics"
    pod_monitor = by_kind["PodMonitor"]
    assert pod_monitor["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] == \
        "ferry-worker"
    assert pod_monitor["spec"]["namespaceSelector"] == {"any": True}
    assert pod_monitor["spec"]["podMetricsEndpoints"][0]["port"] == "http"
    dashboard = next(d for d in docs if d["kind"] == "ConfigMap")
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    board = json.loads(dashboard["data"]["ferry-workers.json"])
    exprs = " ".join(t["expr"] for p in board["panels"] for t in p["targets"])
    for metric in ("ferry_source_records_written_total", "ferry_sink_records_put_total",
                   "ferry_records_failed_total", "ferry_dead_letter_records_total",
                   "ferry_operation_duration_seconds_bucket", "ferry_task_state"):
        assert metric in exprs


def test_chart_refuses_what_would_break(tmp_path: Path) -> None:
    many = helm("template", "ferry", str(CHART), "--set", "operator.replicas=2",
                home=tmp_path, check=False)
    assert many.returncode != 0 and "needs peering.enabled=true" in many.stderr
    typo = helm("template", "ferry", str(CHART), "--set", "watchNamespace=a",
                home=tmp_path, check=False)
    assert typo.returncode != 0 and "watchNamespace" in typo.stderr
    bad = helm("template", "ferry", str(CHART), "--set", "kafka.bootstrapServers=kafka",
               home=tmp_path, check=False)
    assert bad.returncode != 0 and "bootstrapServers" in bad.stderr


def test_helm_talks_to_the_cluster(control_plane: ControlPlane, tmp_path: Path) -> None:
    # helm's own view of the API server (server-side validation through helm itself).
    out = helm("template", "ferry", str(CHART), "--validate", "--namespace", "default",
               home=tmp_path, kubeconfig=control_plane.kubeconfig, check=False)
    assert out.returncode == 0, out.stderr

