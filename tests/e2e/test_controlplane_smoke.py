"""The control plane is the real thing: versions, CRD validation, GC, controllers, helm."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException

from ferry_stack.controlplane import ControlPlane
from ferry_stack.helm import HELM_VERSION, helm
from ferry_stack.kube_build import KUBE_VERSION
from ferry_stack.operator_run import eventually

pytestmark = pytest.mark.e2e


@pytest.fixture
def namespace(kube_client: Any) -> Iterator[str]:
    name = f"smoke-{uuid.uuid4().hex[:8]}"
    core = client.CoreV1Api(kube_client)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name
    core.delete_namespace(name)


def test_version_is_pinned(kube_client: Any) -> None:
    info = client.VersionApi(kube_client).get_code()
    assert info.git_version == KUBE_VERSION
    assert (info.major, info.minor) == tuple(KUBE_VERSION[1:].split(".")[:2])


def test_crd_schema_is_enforced(kube_client: Any, namespace: str) -> None:
    ext = client.ApiextensionsV1Api(kube_client)
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.smoke.ferry.dev"},
        "spec": {
            "group": "smoke.ferry.dev",
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
            "versions": [{
                "name": "v1", "served": True, "storage": True,
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "required": ["spec"],
                    "properties": {"spec": {
                        "type": "object",
                        "required": ["replicas"],
                        "properties": {"replicas": {"type": "integer", "minimum": 1}},
                    }},
                }},
            }],
        },
    }
    ext.create_custom_resource_definition(crd)
    try:
        def established() -> bool:
            status = ext.read_custom_resource_definition("widgets.smoke.ferry.dev").status
            return any(c.type == "Established" and c.status == "True"
                       for c in (status.conditions or []))

        eventually(established, "the CRD to be established")
        custom = client.CustomObjectsApi(kube_client)

        def widget(name: str, replicas: int) -> dict[str, Any]:
            return {"apiVersion": "smoke.ferry.dev/v1", "kind": "Widget",
                    "metadata": {"name": name}, "spec": {"replicas": replicas}}

        with pytest.raises(ApiException) as rejected:
            custom.create_namespaced_custom_object(
                "smoke.ferry.dev", "v1", namespace, "widgets", widget("bad", 0))
        assert rejected.value.status == 422
        assert "spec.replicas" in rejected.value.body
        assert "should be greater than or equal to 1" in rejected.value.body

        created = custom.create_namespaced_custom_object(
            "smoke.ferry.dev", "v1", namespace, "widgets", widget("good", 3))
        assert created["spec"]["replicas"] == 3
    finally:
        ext.delete_custom_resource_definition("widgets.smoke.ferry.dev")


def test_owner_references_cascade(kube_client: Any, namespace: str) -> None:
    core = client.CoreV1Api(kube_client)
    owner = core.create_namespaced_config_map(
        namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="owner")))
    ref = client.V1OwnerReference(api_version="v1", kind="ConfigMap", name="owner",
                                  uid=owner.metadata.uid)
    core.create_namespaced_config_map(namespace, client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name="dependent", owner_references=[ref])))
    core.delete_namespaced_config_map("owner", namespace)

    def dependent_gone() -> bool:
        try:
            core.read_namespaced_config_map("dependent", namespace)
        except ApiException as err:
            return err.status == 404
        return False

    eventually(dependent_gone, "the garbage collector to delete the dependent")


def test_deployment_gets_replicaset_and_pending_pod(kube_client: Any, namespace: str) -> None:
    apps = client.AppsV1Api(kube_client)
    core = client.CoreV1Api(kube_client)
    labels = {"app": "smoke"}
    deployment = apps.create_namespaced_deployment(namespace, client.V1Deployment(
        metadata=client.V1ObjectMeta(name="smoke"),
        spec=client.V1DeploymentSpec(
            replicas=1,
            selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels),
                spec=client.V1PodSpec(containers=[client.V1Container(
                    name="main", image="ferry.invalid/smoke:0", command=["sleep", "3600"])]),
            ),
        ),
    ))

    def replicaset() -> Any:
        for rs in apps.list_namespaced_replica_set(namespace).items:
            if any(o.uid == deployment.metadata.uid for o in rs.metadata.owner_references or []):
                return rs
        return None

    rs = eventually(replicaset, "the deployment controller to create a ReplicaSet")

    def pod() -> Any:
        for p in core.list_namespaced_pod(namespace).items:
            if any(o.uid == rs.metadata.uid for o in p.metadata.owner_references or []):
                return p
        return None

    created = eventually(pod, "the replicaset controller to create a Pod")
    # No scheduler and no node agent here: the pod waits, unbound.
    assert created.status.phase == "Pending"
    assert not created.spec.node_name
    # ServiceAccount admission ran: the pod got the namespace's default account and its token.
    assert created.spec.service_account_name == "default"
    assert any(v.name.startswith("kube-api-access-") for v in created.spec.volumes or [])

    def root_ca_published() -> bool:
        # That token volume mounts this ConfigMap, which controller-manager publishes.
        names = [c.metadata.name for c in core.list_namespaced_config_map(namespace).items]
        return "kube-root-ca.crt" in names

    eventually(root_ca_published, "controller-manager to publish kube-root-ca.crt")


def test_helm_version_is_pinned() -> None:
    out = helm("version", "--template", "{{ .Version }}").stdout.strip()
    assert out == HELM_VERSION


def test_helm_lint_and_template(tmp_path: Path, kube_client: Any,
                                control_plane: ControlPlane, namespace: str) -> None:
    chart = tmp_path / "smoke"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text(
        "apiVersion: v2\nname: smoke\nversion: 0.1.0\ndescription: Ferry's smoke chart\n")
    (chart / "values.yaml").write_text("greeting: hello\n")
    (chart / "templates" / "configmap.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cfg\n"
        "data:\n  greeting: {{ .Values.greeting | quote }}\n")
    home = tmp_path / "helm-home"

    lint = helm("lint", str(chart), home=home)
    assert "1 chart(s) linted, 0 chart(s) failed" in lint.stdout

    rendered = helm("template", "rel", str(chart), "--set", "greeting=hi", home=home).stdout
    docs = [d for d in yaml.safe_load_all(rendered) if d]
    assert [(d["kind"], d["metadata"]["name"], d["data"]) for d in docs] == [
        ("ConfigMap", "rel-cfg", {"greeting": "hi"})]
    # The real API server accepts what helm rendered (server-side dry run: nothing is stored).
    accepted = client.CoreV1Api(kube_client).create_namespaced_config_map(
        namespace, docs[0], dry_run="All")
    assert accepted.metadata.name == "rel-cfg"

    # helm itself talks to the API server with the admin kubeconfig.
    listed = helm("list", "-n", namespace, "-o", "json", home=home,
                  kubeconfig=control_plane.kubeconfig)
    assert json.loads(listed.stdout) == []


def test_detached_start_and_stop_from_workdir(tmp_path: Path,
                                              control_plane: ControlPlane) -> None:
    """`ferry-stack up` starts in one process and `down` stops from another."""
    import subprocess
    import sys

    workdir = tmp_path / "detached"
    script = ("import sys; from pathlib import Path; from ferry_stack.controlplane import "
              "ControlPlane; print(ControlPlane(Path(sys.argv[1])).start().server)")
    up = subprocess.run([sys.executable, "-c", script, str(workdir)], capture_output=True,
                        text=True, timeout=300, check=False)
    state_path = workdir / "controlplane.json"
    try:
        assert up.returncode == 0, up.stderr
        state = json.loads(state_path.read_text())
        assert state["server"] == up.stdout.strip()
        pids = [s["pid"] for s in state["services"]]
        assert len(pids) == 3
        # The starter has exited; the control plane still answers.
        kubeconfig = Path(ControlPlane.env_from_workdir(workdir)["KUBECONFIG"])
        with _client_for(kubeconfig) as api_client:
            assert client.VersionApi(api_client).get_code().git_version == KUBE_VERSION
    finally:
        ControlPlane.stop_from_workdir(workdir)
    assert not state_path.exists()
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or _zombie(pid)


def _client_for(kubeconfig: Path) -> Any:
    from kubernetes import config

    return config.new_client_from_config(config_file=str(kubeconfig))


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True
