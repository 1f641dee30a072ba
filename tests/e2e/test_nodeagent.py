"""The node agent runs real pods from the real control plane as local processes."""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from ferry_stack.nodeagent import NodeAgent, start_node_agent_service
from ferry_stack.nodeagent.kube import ApiError, Kube
from ferry_stack.operator_run import eventually
from tests.e2e.conftest import running_node_agent

pytestmark = pytest.mark.e2e

T = TypeVar("T")
NODE = "ferry-test-node"
JSON = dict[str, Any]


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


@pytest.fixture(scope="module")
def node_agent(control_plane: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeAgent]:
    with running_node_agent(control_plane, tmp_path_factory.mktemp("nodeagent"), NODE) as agent:
        yield agent


@pytest.fixture
def namespace(kube: Kube, node_agent: NodeAgent) -> Iterator[str]:
    name = f"agent-{uuid.uuid4().hex[:8]}"
    kube.create("/api/v1/namespaces", {"metadata": {"name": name}})
    # The ServiceAccount admission plugin rejects pods until `default` exists.
    eventually(lambda: _exists(kube, f"/api/v1/namespaces/{name}/serviceaccounts/default"),
               "the default service account")
    yield name
    kube.delete(f"/api/v1/namespaces/{name}")


def _exists(kube: Kube, path: str) -> bool:
    try:
        kube.get(path)
        return True
    except ApiError as error:
        if error.status == 404:
            return False
        raise


def get_pod(kube: Kube, namespace: str, name: str) -> JSON | None:
    try:
        return kube.get(f"/api/v1/namespaces/{namespace}/pods/{name}")
    except ApiError as error:
        if error.status == 404:
            return None
        raise


def condition(pod: JSON | None, kind: str) -> bool:
    conditions = ((pod or {}).get("status") or {}).get("conditions") or []
    return any(c["type"] == kind and c["status"] == "True" for c in conditions)


def container_status(pod: JSON | None) -> JSON:
    statuses = ((pod or {}).get("status") or {}).get("containerStatuses") or [{}]
    return dict(statuses[0])


def text_of(path: Path) -> str | None:
    """The file's stripped text once it exists and is not empty."""
    try:
        return path.read_text().strip() or None
    except OSError:
        return None


def pod_when(kube: Kube, namespace: str, name: str, test: Callable[[JSON], bool]) -> JSON | None:
    pod = get_pod(kube, namespace, name)
    return pod if pod is not None and test(pod) else None


def make_pod(kube: Kube, namespace: str, name: str, container: JSON, **spec: Any) -> None:
    container = {"name": "main", "image": "ignored", **container}
    kube.create(f"/api/v1/namespaces/{namespace}/pods",
                {"metadata": {"name": name}, "spec": {"containers": [container], **spec}})


APP = r"""
import http.server, json, os, signal, sys
out = os.environ["OUT_DIR"]

def on_term(*_):
    open(os.path.join(out, "sigterm"), "w").close()
    sys.exit(0)

signal.signal(signal.SIGTERM, on_term)
info = {"env": dict(os.environ), "pid": os.getpid(), "cwd": os.getcwd(), "argv": sys.argv,
        "secret_file": open("/etc/ferry-test/secret/password").read(),
        "labels_file": open("/etc/ferry-test/podinfo/labels").read()}
with open(os.path.join(out, "env.tmp"), "w") as f:
    json.dump(info, f)
os.replace(os.path.join(out, "env.tmp"), os.path.join(out, "env.json"))

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if os.path.exists(os.path.join(out, "ready")) else 503)
        self.end_headers()
    def log_message(self, *args):
        pass

print("serving on", os.environ["POD_IP"], flush=True)
http.server.HTTPServer((os.environ["POD_IP"], 8080), Handler).serve_forever()
"""


def deployment(out_dir: Path) -> JSON:
    def field(path: str) -> JSON:
        return {"valueFrom": {"fieldRef": {"fieldPath": path}}}

    env = [
        {"name": "OUT_DIR", "value": str(out_dir)},
        {"name": "POD_NAME", **field("metadata.name")},
        {"name": "POD_NAMESPACE", **field("metadata.namespace")},
        {"name": "POD_UID", **field("metadata.uid")},
        {"name": "APP_LABEL", **field("metadata.labels['app']")},
        {"name": "POD_IP", **field("status.podIP")},
        {"name": "NODE_NAME", **field("spec.nodeName")},
        {"name": "SA_NAME", **field("spec.serviceAccountName")},
        {"name": "MEM_MI", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory",
                                                              "divisor": "1Mi"}}},
        {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "password"}}},
        {"name": "LEVEL", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "level"}}},
        {"name": "GREETING", "value": "hello-$(POD_NAME)"},
    ]
    container = {
        "name": "app", "image": "ferry:ignored", "command": ["python", "-c", APP],
        "args": ["$(GREETING)", "$$(GREETING)"], "env": env,
        "envFrom": [{"secretRef": {"name": "creds"}, "prefix": "S_"},
                    {"configMapRef": {"name": "settings"}}],
        "workingDir": str(out_dir),
        "resources": {"limits": {"memory": "64Mi"}},
        "ports": [{"name": "http", "containerPort": 8080}],
        "readinessProbe": {"httpGet": {"path": "/ready", "port": "http"},
                           "periodSeconds": 1, "failureThreshold": 1},
        "volumeMounts": [{"name": "creds", "mountPath": "/etc/ferry-test/secret",
                          "readOnly": True},
                         {"name": "podinfo", "mountPath": "/etc/ferry-test/podinfo"}],
    }
    volumes = [{"name": "creds", "secret": {"secretName": "creds"}},
               {"name": "podinfo", "downwardAPI": {"items": [
                   {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}}]
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [container], "volumes": volumes,
                                       "terminationGracePeriodSeconds": 10}}},
    }


def test_deployment_runs_a_local_process(kube: Kube, node_agent: NodeAgent, namespace: str,
                                         tmp_path: Path) -> None:
    ns = f"/api/v1/namespaces/{namespace}"
    kube.create(f"{ns}/secrets", {"metadata": {"name": "creds"},
                                  "stringData": {"password": "s3cret", "user": "ferry"}})
    kube.create(f"{ns}/configmaps", {"metadata": {"name": "settings"},
                                     "data": {"level": "debug", "MODE": "test"}})
    kube.create(f"/apis/apps/v1/namespaces/{namespace}/deployments", deployment(tmp_path))

    env_file = tmp_path / "env.json"
    eventually(env_file.exists, "the container's process to write its env", 90)
    info = json.loads(env_file.read_text())
    env = info["env"]
    pods = kube.get(f"{ns}/pods", labelSelector="app=web")["items"]
    assert len(pods) == 1
    pod = pods[0]
    owner = pod["metadata"]["ownerReferences"][0]
    assert owner["kind"] == "ReplicaSet"
    replica_set = kube.get(f"/apis/apps/v1/namespaces/{namespace}/replicasets/{owner['name']}")
    assert replica_set["metadata"]["ownerReferences"][0]["kind"] == "Deployment"
    assert pod["spec"]["nodeName"] == NODE

    name = pod["metadata"]["name"]
    assert env["POD_NAME"] == name
    assert env["POD_NAMESPACE"] == namespace
    assert env["POD_UID"] == pod["metadata"]["uid"]
    assert env["APP_LABEL"] == "web"
    assert env["NODE_NAME"] == NODE
    assert env["SA_NAME"] == "default"
    assert env["MEM_MI"] == "64"
    assert env["PASSWORD"] == "s3cret" and env["S_user"] == "ferry"
    assert env["LEVEL"] == "debug" and env["MODE"] == "test"
    assert env["GREETING"] == f"hello-{name}"
    assert info["argv"][1:] == [f"hello-{name}", "$(GREETING)"]
    assert info["cwd"] == str(tmp_path)
    assert info["secret_file"] == "s3cret"
    assert info["labels_file"].startswith('app="web"')
    pod_ip = env["POD_IP"]
    assert pod_ip.startswith("127.") and pod_ip != "127.0.0.1"
    assert alive(info["pid"])
    assert "serving on" in eventually(lambda: node_agent.logs(namespace, name), "app log")
    # The secret's mount point exists only in the container's mount namespace.
    assert not Path("/etc/ferry-test").exists()

    running = eventually(lambda: pod_when(kube, namespace, name,
                                          lambda p: p["status"].get("phase") == "Running"),
                         "phase Running")
    assert running["status"]["podIP"] == pod_ip
    assert running["status"]["podIPs"] == [{"ip": pod_ip}]
    assert container_status(running)["state"].get("running")
    # Readiness waits for the probe: the app answers 503 until the `ready` file exists.
    time.sleep(2)
    assert not condition(get_pod(kube, namespace, name), "Ready")
    (tmp_path / "ready").touch()
    eventually(lambda: condition(get_pod(kube, namespace, name), "Ready"), "Ready", 20)
    assert container_status(get_pod(kube, namespace, name))["ready"] is True

    kube.delete(f"/apis/apps/v1/namespaces/{namespace}/deployments/web",
                {"propagationPolicy": "Background"})
    eventually(lambda: (tmp_path / "sigterm").exists(), "SIGTERM to reach the app", 60)
    eventually(lambda: not alive(info["pid"]), "the process to end", 20)
    eventually(lambda: get_pod(kube, namespace, name) is None, "the pod to be gone", 30)


def test_crashing_container_is_restarted(kube: Kube, node_agent: NodeAgent,
                                         namespace: str) -> None:
    make_pod(kube, namespace, "crash",
             {"command": ["python", "-c", "print('boom', flush=True); raise SystemExit(3)"]})

    def restarted() -> JSON | None:
        status = container_status(get_pod(kube, namespace, "crash"))
        return status if status.get("restartCount", 0) >= 2 else None

    status = eventually(restarted, "two restarts", 40)
    assert status["lastState"]["terminated"]["exitCode"] == 3
    assert status["lastState"]["terminated"]["reason"] == "Error"
    assert node_agent.logs(namespace, "crash").count("boom") >= 2
    pod = get_pod(kube, namespace, "crash")
    assert pod is not None and pod["status"]["phase"] == "Running"


def test_restart_policies_end_in_succeeded_or_failed(kube: Kube, node_agent: NodeAgent,
                                                      namespace: str) -> None:
    make_pod(kube, namespace, "ok", {"command": ["true"]}, restartPolicy="Never")
    make_pod(kube, namespace, "bad", {"command": ["sh", "-c", "exit 4"]}, restartPolicy="Never")
    make_pod(kube, namespace, "retry",
             {"command": ["sh", "-c", "test -e $(POD_DIR)/again && exit 0; touch "
                          "$(POD_DIR)/again; exit 1"],
              "env": [{"name": "POD_DIR", "value": str(node_agent.pod_dir(namespace, "retry"))}]},
             restartPolicy="OnFailure")

    def phase(name: str) -> str:
        return str(((get_pod(kube, namespace, name) or {}).get("status") or {}).get("phase"))

    eventually(lambda: phase("ok") == "Succeeded", "ok Succeeded", 30)
    eventually(lambda: phase("bad") == "Failed", "bad Failed", 30)
    eventually(lambda: phase("retry") == "Succeeded", "retry Succeeded", 30)
    bad = container_status(get_pod(kube, namespace, "bad"))
    assert bad["state"]["terminated"]["exitCode"] == 4 and bad["restartCount"] == 0
    retry = container_status(get_pod(kube, namespace, "retry"))
    assert retry["restartCount"] == 1 and retry["state"]["terminated"]["exitCode"] == 0


def test_liveness_failure_restarts_the_container(kube: Kube, node_agent: NodeAgent,
                                                 namespace: str) -> None:
    make_pod(kube, namespace, "unlive", {
        "command": ["sleep", "300"],
        "livenessProbe": {"tcpSocket": {"port": 9}, "periodSeconds": 1, "failureThreshold": 2},
    }, terminationGracePeriodSeconds=1)
    eventually(lambda: container_status(get_pod(kube, namespace, "unlive"))
               .get("restartCount", 0) >= 1, "a liveness restart", 40)


def test_sigkill_after_grace_period(kube: Kube, node_agent: NodeAgent, namespace: str,
                                    tmp_path: Path) -> None:
    script = ("import os, signal, time\n"
              "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
              f"open({str(tmp_path / 'pid')!r}, 'w').write(str(os.getpid()))\n"
              "while True: time.sleep(1)\n")
    make_pod(kube, namespace, "stubborn", {"command": ["python", "-c", script]},
             terminationGracePeriodSeconds=3)
    pid = int(eventually(lambda: text_of(tmp_path / "pid"), "the pid file", 60))
    eventually(lambda: pod_when(kube, namespace, "stubborn",
                                lambda p: "running" in container_status(p)["state"]),
               "Running status", 20)
    started = time.monotonic()
    kube.delete(f"/api/v1/namespaces/{namespace}/pods/stubborn")
    time.sleep(1.5)
    assert alive(pid), "SIGTERM is ignored, so the process lives until the grace period ends"
    eventually(lambda: not alive(pid), "SIGKILL", 20)
    eventually(lambda: get_pod(kube, namespace, "stubborn") is None, "the pod to be gone", 20)
    elapsed = time.monotonic() - started
    assert 2.5 <= elapsed < 15, elapsed


def test_pods_bind_the_same_port_on_their_own_ip(kube: Kube, node_agent: NodeAgent,
                                                 namespace: str) -> None:
    server = {"command": ["python", "-m", "http.server", "8080", "--bind", "$(POD_IP)"],
              "env": [{"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}],
              "readinessProbe": {"httpGet": {"path": "/", "port": 8080}, "periodSeconds": 1}}
    for name in ("one", "two"):
        make_pod(kube, namespace, name, server)
    ips = []
    for name in ("one", "two"):
        pod = eventually(lambda n=name: pod_when(kube, namespace, n,  # type: ignore[misc]
                                                 lambda p: condition(p, "Ready")),
                         f"{name} Ready", 60)
        ips.append(pod["status"]["podIP"])
    assert ips[0] != ips[1]
    for ip in ips:
        with urllib.request.urlopen(f"http://{ip}:8080/", timeout=5) as answer:
            assert answer.status == 200


def test_node_is_registered_with_a_heartbeat(kube: Kube, node_agent: NodeAgent) -> None:
    node = kube.get(f"/api/v1/nodes/{NODE}")
    assert condition(node, "Ready")
    assert {"cpu", "memory", "pods"} <= set(node["status"]["allocatable"])
    assert {"type": "InternalIP", "address": "127.0.0.1"} in node["status"]["addresses"]
    lease = kube.get(f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{NODE}")
    assert lease["spec"]["holderIdentity"] == NODE and lease["spec"]["renewTime"]


def test_agent_as_a_process_stops_its_containers(control_plane: Any, kube: Kube,
                                                 namespace: str, tmp_path: Path) -> None:
    node = "ferry-test-node-svc"
    service = start_node_agent_service(control_plane.kubeconfig, node, tmp_path / "agent")
    try:
        pid_file = tmp_path / "pid"
        make_pod(kube, namespace, "pinned",
                 # $$ is kubelet's escape for a literal $
                 {"command": ["sh", "-c", f"echo $$$$ > {pid_file}; exec sleep 300"]},
                 nodeSelector={"kubernetes.io/hostname": node})
        pid = int(eventually(lambda: text_of(pid_file), "the pod on the second node", 60))
        assert (get_pod(kube, namespace, "pinned") or {})["spec"]["nodeName"] == node
        assert alive(pid)
    finally:
        service.stop()
    assert not alive(pid)
    kube.delete(f"/api/v1/nodes/{node}")


def test_weird_pods_are_reported_not_fatal(kube: Kube, node_agent: NodeAgent,
                                           namespace: str) -> None:
    make_pod(kube, namespace, "nocommand", {})
    make_pod(kube, namespace, "nosecret", {
        "command": ["true"],
        "env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "absent", "key": "k"}}}]})
    make_pod(kube, namespace, "badvolume", {"command": ["true"]},
             volumes=[{"name": "v", "iscsi": {"targetPortal": "127.0.0.1:3260",
                                              "iqn": "iqn.2001-04.com.example:x", "lun": 0}}])
    for name in ("nocommand", "nosecret"):
        status = eventually(lambda n=name: pod_when(  # type: ignore[misc]
            kube, namespace, n, lambda p: container_status(p).get("state", {})
            .get("waiting", {}).get("reason") == "CreateContainerConfigError"),
            f"{name} CreateContainerConfigError", 30)
        assert status["status"]["phase"] == "Pending"
    eventually(lambda: pod_when(kube, namespace, "badvolume", lambda p: "unsupported" in
                                container_status(p).get("state", {}).get("waiting", {})
                                .get("message", "")), "badvolume reported", 30)
    # The agent carries on: a normal pod still runs.
    make_pod(kube, namespace, "fine", {"command": ["true"]}, restartPolicy="Never")
    eventually(lambda: pod_when(kube, namespace, "fine",
                                lambda p: p["status"].get("phase") == "Succeeded"), "fine", 30)


def test_in_cluster_client_reaches_the_api(kube: Kube, node_agent: NodeAgent,
                                           namespace: str) -> None:
    script = ("from kubernetes import client, config\n"
              "config.load_incluster_config()\n"
              "print('version', client.VersionApi().get_code().git_version)\n")
    make_pod(kube, namespace, "incluster", {"command": ["python", "-c", script]},
             restartPolicy="Never")
    pod = eventually(lambda: pod_when(kube, namespace, "incluster", lambda p: p["status"].get(
        "phase") in ("Succeeded", "Failed")), "incluster to finish", 60)
    log = node_agent.logs(namespace, "incluster")
    assert pod["status"]["phase"] == "Succeeded", log
    assert "version v1." in log


def test_subpath_and_top_level_mounts_leave_the_host_clean(kube: Kube, node_agent: NodeAgent,
                                                           namespace: str) -> None:
    kube.create(f"/api/v1/namespaces/{namespace}/configmaps",
                {"metadata": {"name": "conf"}, "data": {"app.conf": "answer=42\n"}})
    top = Path("/ferry-nodeagent-test-top")
    script = f"cat /etc/ferry-test-sub/app.conf; echo written > {top}/out; cat {top}/out"
    make_pod(kube, namespace, "mounts", {
        "command": ["sh", "-c", script],
        "volumeMounts": [{"name": "conf", "mountPath": "/etc/ferry-test-sub/app.conf",
                          "subPath": "app.conf"},
                         {"name": "scratch", "mountPath": str(top)}],
    }, restartPolicy="Never",
       volumes=[{"name": "conf", "configMap": {"name": "conf"}},
                {"name": "scratch", "emptyDir": {}}])
    pod = eventually(lambda: pod_when(kube, namespace, "mounts", lambda p: p["status"].get(
        "phase") in ("Succeeded", "Failed")), "the pod to finish", 30)
    log = node_agent.logs(namespace, "mounts")
    assert pod["status"]["phase"] == "Succeeded", log
    assert log.split() == ["answer=42", "written"]
    assert not Path("/etc/ferry-test-sub").exists()
    kube.delete(f"/api/v1/namespaces/{namespace}/pods/mounts")
    eventually(lambda: get_pod(kube, namespace, "mounts") is None, "the pod to be gone", 20)
    # The top-level mount point had to be made on the host; it goes with the pod.
    eventually(lambda: not top.exists(), "the top-level mount point to be removed", 10)


def test_killed_agent_leaves_no_container_behind(control_plane: Any, kube: Kube,
                                                 namespace: str, tmp_path: Path) -> None:
    node = "ferry-test-node-killed"
    service = start_node_agent_service(control_plane.kubeconfig, node, tmp_path / "agent")
    try:
        pid_file = tmp_path / "pid"
        make_pod(kube, namespace, "orphan",
                 {"command": ["sh", "-c", f"echo $$$$ > {pid_file}; exec sleep 300"]},
                 nodeSelector={"kubernetes.io/hostname": node})
        pid = int(eventually(lambda: text_of(pid_file), "the pod on the third node", 60))
        assert service.pid is not None
        os.kill(service.pid, signal.SIGKILL)
        # PR_SET_PDEATHSIG: the kernel kills the container when the agent dies.
        eventually(lambda: not alive(pid), "the container to die with its agent", 10)
    finally:
        service.stop()
    kube.delete(f"/api/v1/nodes/{node}")
