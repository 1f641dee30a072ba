"""The operator end to end: real API server, real Kafka, worker pods run by the node agent.

The operator runs as a process (``python -m ferry_operator``), exactly as in its pod; the
node agent runs each worker pod's ``ferry worker`` as a local process. Timings the issue asks
for are printed (run with ``-s`` to see them):

    .venv/bin/pytest tests/e2e/test_operator.py -s -k lifecycle
"""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ferry import control, protocol
from ferry.status_reader import StatusReader
from ferry_operator import kafka_side
from ferry_stack.nodeagent import NodeAgent
from ferry_stack.nodeagent.kube import ApiError, Kube
from tests.conftest import create_topic
from tests.e2e.conftest import running_node_agent
from tests.e2e.operator_helpers import (
    ROOT,
    OperatorProcess,
    apply_crd,
    condition,
    connector,
    connectors_path,
    describe,
    events,
    eventually,
    get,
    pods,
    ready,
    workers_of,
)
from tests.helpers import consume_all

pytestmark = pytest.mark.e2e

NODE = "ferry-operator-node"
JSON = dict[str, Any]
WORKER_ENV = [{"name": "PYTHONPATH", "value": str(ROOT)},
              {"name": "FERRY_SESSION_TIMEOUT_MS", "value": "6000"}]


@pytest.fixture(scope="module")
def node_agent(control_plane: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeAgent]:
    with running_node_agent(control_plane, tmp_path_factory.mktemp("opagent"), NODE) as agent:
        yield agent


@pytest.fixture(scope="module")
def namespace(kube: Kube, node_agent: NodeAgent) -> Iterator[str]:
    name = f"op-{uuid.uuid4().hex[:8]}"
    kube.create("/api/v1/namespaces", {"metadata": {"name": name}})
    eventually(lambda: get(kube, f"/api/v1/namespaces/{name}/serviceaccounts/default"),
               "the default service account")
    yield name
    kube.delete(f"/api/v1/namespaces/{name}")


@pytest.fixture(scope="module")
def operator(control_plane: Any, bootstrap: str, namespace: str, kube: Kube,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[OperatorProcess]:
    apply_crd(kube)
    process = OperatorProcess(control_plane.kubeconfig, bootstrap, namespace,
                              tmp_path_factory.mktemp("operator"),
                              FERRY_OPERATOR_AUTO_RESTART_BACKOFF_SECONDS="2",
                              FERRY_OPERATOR_AUTO_RESTART_MAX_BACKOFF_SECONDS="4",
                              FERRY_OPERATOR_SINK_LAG_SECONDS="2")
    process.start()
    try:
        eventually(process.healthy, "the operator's liveness endpoint", 60, process.tail)
        yield process
    finally:
        process.stop()
        print(f"\noperator log: {process.log}")


@pytest.fixture(scope="module")
def statuses(bootstrap: str, operator: OperatorProcess) -> Iterator[StatusReader]:
    control.ensure_internal_topics({"bootstrap.servers": bootstrap})
    reader = StatusReader({"bootstrap.servers": bootstrap}).start()
    try:
        assert reader.wait_caught_up(60)
        yield reader
    finally:
        reader.stop()


@pytest.fixture
def markers() -> Iterator[Path]:
    """A directory the worker pods see too: their /tmp is an emptyDir of their own."""
    path = Path(f"/var/tmp/ferry-e2e-{uuid.uuid4().hex[:8]}")
    path.mkdir()
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def manifest(name: str, config: JSON, class_name: str = "DataGen", tasks: int = 1,
             **spec: Any) -> JSON:
    return {"apiVersion": "ferry.dev/v1alpha1", "kind": "Connector",
            "metadata": {"name": name},
            "spec": {"class": class_name, "tasksMax": tasks, "config": config,
                     "env": WORKER_ENV, **spec}}


def datagen(topic: str, rate: int = 50) -> JSON:
    return {"topic": topic, "records.per.second": rate, "batch.size": 10, "key.shape": "task",
            "value.converter": "JsonConverter", "value.converter.schemas.enable": "false",
            "offset.flush.interval.ms": 300}


def create(kube: Kube, namespace: str, body: JSON) -> JSON:
    return kube.create(connectors_path(namespace), body)


def patch_spec(kube: Kube, namespace: str, name: str, spec: JSON) -> JSON:
    return kube.patch(connectors_path(namespace, name), {"spec": spec}, strategic=False)


def annotate(kube: Kube, namespace: str, name: str, annotations: JSON) -> None:
    kube.patch(connectors_path(namespace, name), {"metadata": {"annotations": annotations}},
               strategic=False)


def deployment(kube: Kube, namespace: str, name: str) -> JSON | None:
    return get(kube, f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}-workers")


def assert_gitops_clean(obj: JSON) -> None:
    """kopf's bookkeeping in operator.ferry.dev annotations only; the operator never owns spec."""
    annotations = obj["metadata"].get("annotations") or {}
    assert not [k for k in annotations if k.startswith("kopf.zalando.org/")], annotations
    assert "operator.ferry.dev/last-handled-configuration" in annotations
    assert "kopf" not in (obj.get("status") or {})
    assert obj["metadata"]["finalizers"] == ["ferry.dev/finalizer"]
    for entry in obj["metadata"].get("managedFields") or []:
        if "f:spec" in (entry.get("fieldsV1") or {}):
            assert entry["manager"] not in ("ferry-operator",) and \
                not entry["manager"].startswith("kopf"), entry
    assert any(e["manager"] == "ferry-operator" and e.get("subresource") == "status"
               for e in obj["metadata"]["managedFields"]), obj["metadata"]["managedFields"]


def topic_exists(bootstrap: str, topic: str) -> bool:
    from confluent_kafka.admin import AdminClient

    return topic in AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10).topics


def offsets_of(bootstrap: str, connector_id: str) -> dict[bytes, bytes | None]:
    latest = kafka_side.read_compacted({"bootstrap.servers": bootstrap},
                                       protocol.DEFAULT_OFFSETS_TOPIC)
    return {k: v for k, (_p, v) in latest.items()
            if protocol.parse_offset_key(k)[0] == connector_id and v is not None}


def test_connector_lifecycle(kube: Kube, namespace: str, operator: OperatorProcess,
                             statuses: StatusReader, bootstrap: str, admin: Any,
                             node_agent: NodeAgent) -> None:
    name, cid = "gen", f"{namespace}/gen"
    topic = create_topic(admin, f"op-gen-{uuid.uuid4().hex[:6]}", 3)
    info = describe(kube, namespace, name, operator)
    started = time.monotonic()
    create(kube, namespace, manifest(name, datagen(topic), tasks=2))

    made = eventually(lambda: deployment(kube, namespace, name), "the worker Deployment", 30,
                      info)
    owner = made["metadata"]["ownerReferences"][0]
    assert owner["kind"] == "Connector" and owner["name"] == name and owner["controller"]
    eventually(lambda: get(kube, f"/api/v1/namespaces/{namespace}/services/{name}-workers"),
               "the Service", 10)
    assert get(kube, f"/apis/policy/v1/namespaces/{namespace}/poddisruptionbudgets/"
                     f"{name}-workers") is None  # one worker: no PDB
    obj = eventually(lambda: ready(kube, namespace, name, state="RUNNING", tasksReady="2/2"),
                     "RUNNING with 2/2 tasks", 90, info)
    to_running = time.monotonic() - started
    print(f"\napply -> RUNNING and Ready: {to_running:.1f}s")
    status = eventually(lambda: ready(kube, namespace, name, workers="1/1"), "the pod ready",
                        30, info)["status"]
    assert status["observedGeneration"] == obj["metadata"]["generation"]
    assert status["topics"] == [topic]
    assert status["selector"] == f"app.kubernetes.io/name=ferry-worker,ferry.dev/connector={name}"
    assert condition(obj, "Degraded")["status"] == "False"
    assert_gitops_clean(connector(kube, namespace, name))
    assert len(consume_all(bootstrap, topic, expected=20, timeout=30)) >= 20, "data flows"
    assert "ferry_operator_status_patches_total" in operator.metrics()

    # A config change travels through Kafka: same pods, tasks on the new generation.
    uids = {p["metadata"]["uid"] for p in pods(kube, namespace, name)}
    changed = patch_spec(kube, namespace, name, {"config": {"records.per.second": 80}})
    generation = changed["metadata"]["generation"]

    def on_generation() -> bool:
        folded = statuses.get(cid)
        return folded is not None and len(folded.tasks) == 2 and all(
            t.state == "RUNNING" and t.generation == generation for t in folded.tasks.values())

    eventually(on_generation, f"tasks on generation {generation}", 60, info)
    obj = eventually(lambda: ready(kube, namespace, name, observedGeneration=generation,
                                   tasksReady="2/2"), "Ready on the new generation", 30, info)
    assert {p["metadata"]["uid"] for p in pods(kube, namespace, name)} == uids

    # Scale through the scale subresource: three workers, the three units spread.
    kube.patch(connectors_path(namespace, name, "scale"), {"spec": {"replicas": 3}},
               strategic=False)
    eventually(lambda: len(pods(kube, namespace, name)) == 3, "three worker pods", 60, info)
    obj = eventually(lambda: (o := ready(kube, namespace, name, workers="3/3")) and
                     len(set(workers_of(o).values())) == 3 and o, "units on three workers",
                     90, info)
    assert get(kube, f"/apis/policy/v1/namespaces/{namespace}/poddisruptionbudgets/"
                     f"{name}-workers") is not None

    # Delete the pod running task 0: its units move, then the new pod takes a share.
    victim = workers_of(obj)["task-0"]
    killed = time.monotonic()
    kube.delete(f"/api/v1/namespaces/{namespace}/pods/{victim}")

    def moved() -> JSON | None:
        current = ready(kube, namespace, name, tasksReady="2/2")
        return current if current and victim not in workers_of(current).values() else None

    eventually(moved, "tasks running elsewhere", 60, info)
    to_moved = time.monotonic() - killed
    eventually(lambda: (o := ready(kube, namespace, name, workers="3/3")) and
               len(set(workers_of(o).values())) == 3, "the new pod's share", 90, info)
    to_spread = time.monotonic() - killed
    print(f"pod delete -> status shows tasks elsewhere: {to_moved:.1f}s; "
          f"-> three workers again: {to_spread:.1f}s")

    # More tasks.
    patch_spec(kube, namespace, name, {"tasksMax": 3})
    eventually(lambda: ready(kube, namespace, name, tasksReady="3/3", tasksTotal=3),
               "three tasks", 60, info)

    # Pause, resume, stop, run again.
    for target, state in (("paused", "PAUSED"), ("running", "RUNNING"), ("stopped", "STOPPED"),
                          ("running", "RUNNING")):
        patch_spec(kube, namespace, name, {"state": target})
        obj = eventually(lambda s=state: ready(kube, namespace, name, state=s),  # type: ignore[misc]
                         f"{state} and Ready", 60, info)
        assert condition(obj)["reason"] == state.capitalize()
    eventually(lambda: ready(kube, namespace, name, tasksReady="3/3"), "tasks back", 60, info)

    # The imperative restart annotation: handled, then removed.
    annotate(kube, namespace, name, {"ferry.dev/restart": "true"})
    eventually(lambda: "ferry.dev/restart" not in
               (connector(kube, namespace, name)["metadata"].get("annotations") or {}),
               "the annotation removed", 30, info)
    eventually(lambda: any(e["reason"] == "RestartRequested"
                           for e in events(kube, namespace, name)), "a RestartRequested event")
    eventually(lambda: any("restart request annotation:" in node_agent.logs(namespace, p)
                           for p in {w for w in workers_of(connector(kube, namespace, name))
                                     .values()}),
               "a worker handling the restart", 30, info)
    # The declarative one: recorded in status.
    patch_spec(kube, namespace, name, {"restart": {"id": "r1", "includeTasks": True}})
    eventually(lambda: ready(kube, namespace, name, lastRestartId="r1", tasksReady="3/3"),
               "lastRestartId r1", 60, info)

    # Delete: the finalizer cleans Kafka; garbage collection takes the workers.
    assert offsets_of(bootstrap, cid), "DataGen committed source offsets"
    kube.delete(connectors_path(namespace, name))
    eventually(lambda: get(kube, connectors_path(namespace, name)) is None,
               "the Connector gone", 60, info)
    eventually(lambda: deployment(kube, namespace, name) is None, "the Deployment gone", 60)
    eventually(lambda: not pods(kube, namespace, name, running=False), "the pods gone", 90)
    assert not topic_exists(bootstrap, protocol.units_topic(cid))
    assert offsets_of(bootstrap, cid), "offsetsPolicyOnDelete retain keeps source offsets"
    eventually(lambda: statuses.get(cid) is None, "status records tombstoned", 20,
               lambda: str(statuses.get(cid)))


def test_failing_task_is_restarted_automatically(kube: Kube, namespace: str,
                                                 operator: OperatorProcess,
                                                 statuses: StatusReader, bootstrap: str,
                                                 admin: Any, markers: Path) -> None:
    name, cid = "flaky", f"{namespace}/flaky"
    topic = create_topic(admin, f"op-flaky-{uuid.uuid4().hex[:6]}")
    marker = markers / "fail-0"
    marker.touch()
    info = describe(kube, namespace, name, operator)
    create(kube, namespace, manifest(name, {"topic": topic, "fail.dir": str(markers)},
                                     "tests.plugins.FlakySourceConnector",
                                     autoRestart={"enabled": True, "maxRestarts": 20},
                                     offsetsPolicyOnDelete="delete"))

    def failed() -> JSON | None:
        obj = connector(kube, namespace, name)
        cond = condition(obj)
        return obj if cond.get("reason") == "TaskFailed" else None

    obj = eventually(failed, "Ready=False, TaskFailed", 90, info)
    cond = condition(obj)
    assert cond["status"] == "False" and "told to fail" in cond["message"], cond
    assert obj["status"]["state"] == "FAILED"
    assert condition(obj, "Degraded")["status"] == "True"
    assert "Traceback" in obj["status"]["tasks"][0]["trace"]
    eventually(lambda: (connector(kube, namespace, name)["status"].get("autoRestart") or {})
               .get("count", 0) >= 1, "an automatic restart", 30, info)
    marker.unlink()
    obj = eventually(lambda: ready(kube, namespace, name, tasksReady="1/1"),
                     "auto-restart brings the task back", 60, info)
    assert obj["status"]["autoRestart"]["count"] >= 1 and obj["status"]["autoRestart"]["lastTime"]
    assert any(e["reason"] == "AutoRestart" for e in events(kube, namespace, name))

    eventually(lambda: offsets_of(bootstrap, cid), "source offsets committed", 30)
    kube.delete(connectors_path(namespace, name))
    eventually(lambda: get(kube, connectors_path(namespace, name)) is None, "deleted", 60, info)
    assert not offsets_of(bootstrap, cid), "offsetsPolicyOnDelete delete removes offsets"


def test_invalid_resources(kube: Kube, namespace: str, operator: OperatorProcess) -> None:
    for spec, words in (({"tasksMax": 0}, "tasksMax"),
                        ({"config": {"connector.class": "Other", "topic": "t"}}, "disagrees")):
        body = manifest("bad", {"topic": "t"})
        body["spec"].update(spec)
        with pytest.raises(ApiError) as rejected:
            create(kube, namespace, body)
        assert rejected.value.status == 422 and words in rejected.value.body

    info = describe(kube, namespace, "unknown", operator)
    create(kube, namespace, manifest("unknown", {"topic": "t"}, "com.example.NoSuchConnector"))
    obj = eventually(lambda: (o := connector(kube, namespace, "unknown")) and
                     condition(o).get("reason") == "ConfigInvalid" and o,
                     "Ready=False, ConfigInvalid", 90, info)
    assert "com.example.NoSuchConnector" in condition(obj)["message"], condition(obj)
    kube.delete(connectors_path(namespace, "unknown"))
    eventually(lambda: get(kube, connectors_path(namespace, "unknown")) is None, "deleted", 60)


def test_operator_restart_converges(kube: Kube, namespace: str, operator: OperatorProcess,
                                    admin: Any, node_agent: NodeAgent) -> None:
    name = "survivor"
    topic = create_topic(admin, f"op-surv-{uuid.uuid4().hex[:6]}")
    info = describe(kube, namespace, name, operator)
    create(kube, namespace, manifest(name, datagen(topic)))
    time.sleep(0.3)
    operator.stop(kill=True)  # in the middle of the first reconcile, or just after
    operator.start()
    eventually(lambda: ready(kube, namespace, name, tasksReady="1/1"), "Ready", 90, info)

    # While the operator is down: a config change and a restart annotation.
    operator.stop(kill=True)
    changed = patch_spec(kube, namespace, name, {"config": {"records.per.second": 20}})
    annotate(kube, namespace, name, {"ferry.dev/restart-task": "0"})
    operator.start()
    eventually(lambda: ready(kube, namespace, name,
                             observedGeneration=changed["metadata"]["generation"]),
               "the new generation observed", 60, info)
    eventually(lambda: "ferry.dev/restart-task" not in
               (connector(kube, namespace, name)["metadata"].get("annotations") or {}),
               "the annotation handled after the restart", 30, info)
    deployments = kube.get(f"/apis/apps/v1/namespaces/{namespace}/deployments",
                           labelSelector=f"ferry.dev/connector={name}")["items"]
    assert len(deployments) == 1
    replica_sets = kube.get(f"/apis/apps/v1/namespaces/{namespace}/replicasets",
                            labelSelector=f"ferry.dev/connector={name}")["items"]
    assert len(replica_sets) == 1, "no pod template change, so no rollout"
    assert len(pods(kube, namespace, name)) == 1
    kube.delete(connectors_path(namespace, name))
    eventually(lambda: get(kube, connectors_path(namespace, name)) is None, "deleted", 60, info)


def test_sink_offsets_through_the_resource(kube: Kube, namespace: str,
                                           operator: OperatorProcess, bootstrap: str,
                                           admin: Any, markers: Path) -> None:
    """spec.offsets alter and reset (KIP-875) with status.lastOffsetsId; status.sinkLag."""
    from confluent_kafka import Producer

    name = "ledger"
    topic = create_topic(admin, f"op-ledger-{uuid.uuid4().hex[:6]}")
    producer = Producer({"bootstrap.servers": bootstrap})
    for _ in range(30):
        producer.produce(topic, b"x")
    assert producer.flush(30) == 0
    info = describe(kube, namespace, name, operator)
    create(kube, namespace, manifest(name, {"topics": topic, "ledger.dir": str(markers),
                                            "offset.flush.interval.ms": 200},
                                     "tests.plugins.LedgerSinkConnector"))
    eventually(lambda: ready(kube, namespace, name, state="RUNNING", sinkLag={topic: 0}),
               "RUNNING with sinkLag 0", 90, info)

    # A new offsets id needs spec.state stopped (the CRD's rule, as in KIP-875).
    rewind = {"id": "rewind", "action": "alter", "offsets": [
        {"partition": {"kafka_topic": topic, "kafka_partition": 0},
         "offset": {"kafka_offset": 10}}]}
    with pytest.raises(ApiError) as refused:
        patch_spec(kube, namespace, name, {"offsets": rewind})
    assert refused.value.status == 422 and "spec.state: stopped" in refused.value.body

    # Stop and alter in one change: applied once the sink's tasks have left the group.
    patch_spec(kube, namespace, name, {"state": "stopped", "offsets": rewind})

    def offsets_done(request_id: str, reason: str, lag: int) -> JSON | None:
        obj = ready(kube, namespace, name, state="STOPPED", lastOffsetsId=request_id,
                    sinkLag={topic: lag})
        return obj if obj and condition(obj, "Offsets").get("reason") == reason else None

    obj = eventually(lambda: offsets_done("rewind", "Altered", 20), "the alter applied", 90,
                     info)
    assert condition(obj, "Offsets")["status"] == "True"
    assert any(e["reason"] == "OffsetsAltered" for e in events(kube, namespace, name))

    patch_spec(kube, namespace, name, {"offsets": {"id": "forget", "action": "reset",
                                                   "offsets": None}})
    eventually(lambda: offsets_done("forget", "Reset", 30), "the reset applied", 60, info)

    patch_spec(kube, namespace, name, {"state": "running"})
    eventually(lambda: ready(kube, namespace, name, state="RUNNING", sinkLag={topic: 0}),
               "consumed again from the beginning", 90, info)
    firsts = sum(path.read_text().count("rec 0 0\n") for path in markers.glob("*.ledger"))
    assert firsts >= 2, "offset 0 delivered again after the reset"
    kube.delete(connectors_path(namespace, name))
    eventually(lambda: get(kube, connectors_path(namespace, name)) is None, "deleted", 60, info)
