"""The Node object and its heartbeat (a Lease in kube-node-lease plus the Ready condition)."""

from __future__ import annotations

import datetime as dt
import logging
import os
import platform
from typing import Any

from ferry_stack.nodeagent.kube import ApiError, Kube

JSON = dict[str, Any]
log = logging.getLogger("ferry.nodeagent")

LEASE_SECONDS = 40
# Kubelet renews its lease every 10s (a quarter of its duration); so do we.
HEARTBEAT_SECONDS = 10.0
MAX_PODS = "110"


def _micro_now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _memory_ki() -> str:
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return f"{line.split()[1]}Ki"
    except OSError:
        pass
    return "8Gi"


def capacity() -> dict[str, str]:
    return {"cpu": str(os.cpu_count() or 1), "memory": _memory_ki(), "pods": MAX_PODS,
            "ephemeral-storage": "100Gi"}


def _arch() -> str:
    machine = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


class NodeRegistration:
    """Creates the Node, keeps it Ready, and marks it NotReady when the agent stops."""

    def __init__(self, kube: Kube, name: str, labels: dict[str, str] | None = None) -> None:
        self.kube = kube
        self.name = name
        self.labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                       "kubernetes.io/arch": _arch(), "ferry.dev/node-agent": "true",
                       **(labels or {})}
        self.uid = ""
        self._version = ""
        # type -> (status, lastTransitionTime): transitions keep their time across beats.
        self._transitions: dict[str, tuple[str, str]] = {}

    def register(self) -> None:
        try:
            self._version = str(self.kube.get("/version").get("gitVersion", ""))
        except ApiError:
            self._version = "v0.0.0"
        body: JSON = {"apiVersion": "v1", "kind": "Node",
                      "metadata": {"name": self.name, "labels": self.labels}, "spec": {}}
        try:
            node = self.kube.create("/api/v1/nodes", body)
        except ApiError as error:
            if error.status != 409:
                raise
            node = self.kube.patch(f"/api/v1/nodes/{self.name}",
                                   {"metadata": {"labels": self.labels}})
        self.uid = str(node["metadata"]["uid"])
        self.post_status(ready=True)
        self.renew_lease()

    def _since(self, kind: str, status: str, now: str) -> str:
        previous = self._transitions.get(kind)
        if previous is None or previous[0] != status:
            self._transitions[kind] = (status, now)
        return self._transitions[kind][1]

    def _conditions(self, ready: bool) -> list[JSON]:
        now = _now()
        healthy = [("MemoryPressure", "KubeletHasSufficientMemory"),
                   ("DiskPressure", "KubeletHasNoDiskPressure"),
                   ("PIDPressure", "KubeletHasSufficientPID")]
        conditions = [{"type": kind, "status": "False", "reason": reason,
                       "lastHeartbeatTime": now,
                       "lastTransitionTime": self._since(kind, "False", now),
                       "message": "ferry node agent"} for kind, reason in healthy]
        conditions.append({
            "type": "Ready", "status": "True" if ready else "False",
            "reason": "KubeletReady" if ready else "NodeAgentStopped",
            "message": "ferry node agent is posting ready status" if ready
            else "ferry node agent stopped",
            "lastHeartbeatTime": now,
            "lastTransitionTime": self._since("Ready", str(ready), now)})
        return conditions

    def post_status(self, ready: bool) -> None:
        resources = capacity()
        status = {
            "capacity": resources, "allocatable": resources,
            "conditions": self._conditions(ready),
            "addresses": [{"type": "InternalIP", "address": "127.0.0.1"},
                          {"type": "Hostname", "address": self.name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 0}},
            "nodeInfo": {
                "machineID": self.uid, "systemUUID": self.uid, "bootID": self.uid,
                "kernelVersion": platform.release(), "osImage": "ferry node agent",
                "containerRuntimeVersion": "ferry-nodeagent://local-process",
                "kubeletVersion": self._version, "kubeProxyVersion": self._version,
                "operatingSystem": "linux", "architecture": _arch(),
            },
        }
        self.kube.patch(f"/api/v1/nodes/{self.name}/status", {"status": status})

    def renew_lease(self) -> None:
        path = f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{self.name}"
        spec = {"holderIdentity": self.name, "leaseDurationSeconds": LEASE_SECONDS,
                "renewTime": _micro_now()}
        try:
            self.kube.patch(path, {"spec": spec}, strategic=False)
        except ApiError as error:
            if error.status != 404:
                raise
            owner = {"apiVersion": "v1", "kind": "Node", "name": self.name, "uid": self.uid}
            self.kube.create(path.rsplit("/", 1)[0], {
                "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": self.name, "namespace": "kube-node-lease",
                             "ownerReferences": [owner]},
                "spec": spec})

    def heartbeat(self) -> None:
        """One beat; errors are logged, the next beat tries again."""
        try:
            self.renew_lease()
            self.post_status(ready=True)
        except Exception as error:  # noqa: BLE001 - the control plane may be restarting
            log.warning("node heartbeat failed: %s", error)
