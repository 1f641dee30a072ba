"""The node agent: registers a Node, binds pending pods to it, and runs them locally."""

from __future__ import annotations

import base64
import logging
import os
import sys
import threading
import time
import traceback
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlparse

from ferry_stack.nodeagent.cluster import ClusterData
from ferry_stack.nodeagent.container import now_rfc3339
from ferry_stack.nodeagent.kube import ApiError, Kube, api_client_from_kubeconfig, pod_path
from ferry_stack.nodeagent.node import HEARTBEAT_SECONDS, NodeRegistration, capacity
from ferry_stack.nodeagent.pod import PodWorker
from ferry_stack.nodeagent.podenv import EnvSources
from ferry_stack.nodeagent.podip import PodIPs, node_octet
from ferry_stack.nodeagent.settings import AgentSettings
from ferry_stack.nodeagent.volumes import VolumeData

JSON = dict[str, Any]
log = logging.getLogger("ferry.nodeagent")

# Host variables a container keeps; everything else comes from its spec, as in a container.
PASSTHROUGH_ENV = ("HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "TZ", "TMPDIR", "JAVA_HOME",
                   "FERRY_CACHE", "XDG_CACHE_HOME")
DEFAULT_SCHEDULER = "default-scheduler"
TERMINAL = ("Succeeded", "Failed")


def _kubeconfig_ca(kubeconfig: str) -> bytes:
    """The cluster CA from the kubeconfig (inline data or file), for in-cluster clients."""
    import yaml

    try:
        with open(kubeconfig) as handle:
            config = yaml.safe_load(handle) or {}
        cluster = (config.get("clusters") or [{}])[0].get("cluster") or {}
        if cluster.get("certificate-authority-data"):
            return base64.b64decode(cluster["certificate-authority-data"])
        if cluster.get("certificate-authority"):
            return Path(cluster["certificate-authority"]).read_bytes()
    except (OSError, ValueError, AttributeError, IndexError):
        pass
    return b""


class NodeAgent:
    """A kubelet and scheduler stand-in for one Node; ``start()``/``stop()`` or ``with``."""

    def __init__(self, kubeconfig: str | Path, node_name: str, workdir: str | Path, *,
                 settings: AgentSettings | None = None, pod_ip_octet: int | None = None,
                 labels: dict[str, str] | None = None) -> None:
        self.kubeconfig = str(kubeconfig)
        self.node_name = node_name
        self.settings = settings or AgentSettings(workdir=Path(workdir))
        self.settings.workdir = Path(workdir)
        if not self.settings.path_prefix:
            self.settings.path_prefix = [str(Path(sys.executable).parent)]
        if os.geteuid() != 0:
            self.settings.mount_namespaces = False
        self.api_client = api_client_from_kubeconfig(self.kubeconfig)
        self.kube = Kube(self.api_client)
        self.cluster = ClusterData(self.kube, _kubeconfig_ca(self.kubeconfig))
        self.volume_data: VolumeData = self.cluster
        self.node = NodeRegistration(self.kube, node_name, labels)
        self.ips = PodIPs(pod_ip_octet or node_octet(node_name))
        self._workers: dict[str, PodWorker] = {}
        self._finished: set[str] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._synced = threading.Event()
        self._threads: list[threading.Thread] = []

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self, timeout: float = 30.0) -> NodeAgent:
        self.settings.workdir.mkdir(parents=True, exist_ok=True)
        self.node.register()
        for target, name in ((self._heartbeat_loop, "heartbeat"), (self._watch_loop, "watch")):
            thread = threading.Thread(target=target, name=f"nodeagent-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        if not self._synced.wait(timeout):
            raise RuntimeError("node agent: first pod list did not finish")
        log.info("node agent %s up (pod IPs 127.%d.x.y)", self.node_name, self.ips.octet)
        return self

    def stop(self) -> None:
        """Stop every container (SIGTERM, then SIGKILL after shutdown_grace); leave pods be."""
        started = time.monotonic()
        self._stopping.set()
        with self._lock:
            workers = list(self._workers.values())
        for worker in workers:
            worker.shutdown()
        for worker in workers:
            worker.join(self.settings.shutdown_grace + 15)
        try:
            self.node.post_status(ready=False)
        except Exception as error:  # noqa: BLE001 - the control plane may already be gone
            log.info("could not mark node NotReady: %s", error)
        self.api_client.close()
        log.info("node agent %s stopped in %.1fs", self.node_name, time.monotonic() - started)

    def __enter__(self) -> NodeAgent:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- for tests -----------------------------------------------------------------------------

    def pod_dir(self, namespace: str, pod: str) -> Path:
        return self.settings.workdir / "pods" / f"{namespace}_{pod}"

    def logs(self, namespace: str, pod: str, container: str | None = None) -> str:
        """A container's output so far (the first container's when ``container`` is None)."""
        directory = self.pod_dir(namespace, pod)
        if container is None:
            found = sorted(directory.glob("*.log"))
            if not found:
                return ""
            path = found[0]
        else:
            path = directory / f"{container}.log"
        try:
            return path.read_text(errors="replace")
        except OSError:
            return ""

    def running_pods(self) -> list[str]:
        with self._lock:
            return sorted(f"{w.namespace}/{w.name}" for w in self._workers.values())

    # -- PodHost -------------------------------------------------------------------------------

    def env_sources(self, pod_ip: str) -> EnvSources:
        return EnvSources(secret=self.cluster.secret_strings,
                          config_map=self.cluster.config_map_strings,
                          pod_ip=pod_ip, allocatable=capacity())

    def base_env(self, pod: JSON, pod_ip: str) -> dict[str, str]:
        env = {k: os.environ[k] for k in PASSTHROUGH_ENV if k in os.environ}
        env["PATH"] = os.pathsep.join([*self.settings.path_prefix,
                                       os.environ.get("PATH", "/usr/bin:/bin")])
        env["HOSTNAME"] = str((pod.get("spec") or {}).get("hostname")
                              or pod["metadata"]["name"])
        # In-cluster clients find the API server here rather than at the `kubernetes`
        # Service's ClusterIP, which nothing routes on this machine.
        server = urlparse(self.kube.host)
        host, port = server.hostname or "127.0.0.1", str(server.port or 443)
        env.update({"KUBERNETES_SERVICE_HOST": host, "KUBERNETES_SERVICE_PORT": port,
                    "KUBERNETES_SERVICE_PORT_HTTPS": port,
                    "KUBERNETES_PORT": f"tcp://{host}:{port}"})
        env.update(self.settings.extra_env)
        return env

    def event(self, pod: JSON, kind: str, reason: str, message: str) -> None:
        """Record an Event on ``pod``; best effort, never raises."""
        meta = pod.get("metadata") or {}
        now = now_rfc3339()
        body = {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"generateName": f"{meta.get('name', 'pod')}.",
                         "namespace": meta.get("namespace", "default")},
            "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": meta.get("name"),
                               "namespace": meta.get("namespace"), "uid": meta.get("uid")},
            "reason": reason, "message": message[:1000], "type": kind,
            "source": {"component": "ferry-nodeagent", "host": self.node_name},
            "reportingComponent": "ferry-nodeagent", "reportingInstance": self.node_name,
            "firstTimestamp": now, "lastTimestamp": now, "count": 1,
        }
        log.info("%s %s/%s %s: %s", kind, meta.get("namespace"), meta.get("name"), reason,
                 message)
        try:
            self.kube.create(f"/api/v1/namespaces/{meta.get('namespace', 'default')}/events",
                             body)
        except Exception as error:  # noqa: BLE001 - events are best effort
            log.debug("event not recorded: %s", error)

    def worker_done(self, uid: str, pod_ip: str) -> None:
        with self._lock:
            self._workers.pop(uid, None)
            self._finished.add(uid)
        self.ips.release(pod_ip)

    # -- heartbeat -----------------------------------------------------------------------------

    def _heartbeat_loop(self) -> None:
        while not self._stopping.wait(HEARTBEAT_SECONDS):
            self.node.heartbeat()

    # -- watching pods -------------------------------------------------------------------------

    def _watch_loop(self) -> None:
        """List, then watch from the list's version; relist on 410 Gone or repeated errors."""
        version = ""
        errors = 0
        while not self._stopping.is_set():
            try:
                if not version:
                    version = self._relist()
                    self._synced.set()
                for event in self.kube.watch("/api/v1/pods", version):
                    if self._stopping.is_set():
                        return
                    obj = event.get("object") or {}
                    version = str((obj.get("metadata") or {}).get("resourceVersion") or version)
                    if event.get("type") != "BOOKMARK":
                        self._handle(str(event.get("type")), obj)
                errors = 0
            except ApiError as error:
                if error.status == 410:
                    version = ""
                    continue
                errors += 1
                log.warning("pod watch: %s", error)
            except Exception as error:  # noqa: BLE001 - resets, timeouts, API restarts
                if self._stopping.is_set():
                    return
                errors += 1
                log.warning("pod watch: %s: %s", type(error).__name__, error)
            if errors:
                if errors >= 3:
                    version = ""
                self._stopping.wait(min(5.0, 0.5 * errors))

    def _relist(self) -> str:
        listing = self.kube.get("/api/v1/pods")
        seen = set()
        for pod in listing.get("items") or []:
            seen.add(pod["metadata"]["uid"])
            self._handle("ADDED", pod)
        with self._lock:
            gone = [w for uid, w in self._workers.items() if uid not in seen]
        for worker in gone:
            worker.vanish()
        return str(listing["metadata"]["resourceVersion"])

    def _handle(self, kind: str, pod: JSON) -> None:
        try:
            meta, spec = pod["metadata"], pod.get("spec") or {}
            uid = str(meta["uid"])
            with self._lock:
                worker = self._workers.get(uid)
                finished = uid in self._finished
            if kind == "DELETED":
                if worker is not None:
                    worker.vanish()
                return
            node = spec.get("nodeName")
            if not node:
                self._schedule(pod)
            elif node == self.node_name and not finished:
                if worker is not None:
                    worker.update(pod)
                else:
                    self._adopt(pod)
        except Exception:  # noqa: BLE001 - a weird pod must never stop the watch
            log.error("pod event: %s", traceback.format_exc())

    # -- the scheduler part --------------------------------------------------------------------

    def _fits(self, pod: JSON) -> bool:
        spec = pod.get("spec") or {}
        if (spec.get("schedulerName") or DEFAULT_SCHEDULER) != DEFAULT_SCHEDULER:
            return False
        if pod["metadata"].get("deletionTimestamp"):
            return False
        if (pod.get("status") or {}).get("phase") in TERMINAL:
            return False
        selector = spec.get("nodeSelector") or {}
        return all(self.node.labels.get(k) == v for k, v in selector.items())

    def _schedule(self, pod: JSON) -> None:
        if not self._fits(pod):
            return
        meta = pod["metadata"]
        binding = {"apiVersion": "v1", "kind": "Binding",
                   "metadata": {"name": meta["name"], "namespace": meta["namespace"],
                                "uid": meta["uid"]},
                   "target": {"apiVersion": "v1", "kind": "Node", "name": self.node_name}}
        try:
            self.kube.create(pod_path(meta["namespace"], meta["name"], "binding"), binding)
        except ApiError as error:
            if error.status not in (404, 409):  # gone, or another node agent bound it first
                log.warning("binding %s/%s: %s", meta["namespace"], meta["name"], error)
            return
        self.event(pod, "Normal", "Scheduled",
                   f"Successfully assigned {meta['namespace']}/{meta['name']} to {self.node_name}")

    # -- the kubelet part ----------------------------------------------------------------------

    def _adopt(self, pod: JSON) -> None:
        meta = pod["metadata"]
        status = pod.get("status") or {}
        if status.get("phase") in TERMINAL:
            if meta.get("deletionTimestamp"):
                self._force_delete(pod)
            return  # a finished pod (e.g. from before an agent restart) is not run again
        if self._stopping.is_set():
            return
        worker = PodWorker(self, pod, self.ips.allocate(str(status.get("podIP") or "")))
        with self._lock:
            if self._stopping.is_set() or meta["uid"] in self._workers:
                self.ips.release(worker.pod_ip)
                return
            self._workers[meta["uid"]] = worker
        worker.start()

    def _force_delete(self, pod: JSON) -> None:
        meta = pod["metadata"]
        try:
            self.kube.delete(pod_path(meta["namespace"], meta["name"]),
                             {"gracePeriodSeconds": 0, "preconditions": {"uid": meta["uid"]}})
        except ApiError as error:
            if error.status not in (404, 409):
                log.warning("deleting %s/%s: %s", meta["namespace"], meta["name"], error)
