"""Running the Ferry operator as a real process against a control plane (tests and demo)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml

from ferry_stack.nodeagent.kube import ApiError, Kube
from ferry_stack.ports import free_port

T = TypeVar("T")
JSON = dict[str, Any]
ROOT = Path(__file__).resolve().parents[2]  # the repository (an editable install)
CRD_FILE = ROOT / "crds" / "connectors.ferry.dev.yaml"
CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
API = "/apis/ferry.dev/v1alpha1"


def eventually(probe: Callable[[], T | None], what: str, timeout: float = 60,
               detail: Callable[[], str] = lambda: "") -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}\n{detail()}")


def apply_crd(kube: Kube) -> None:
    """Install the CRD (after another module's deletion of it has finished) until served."""
    crd = yaml.safe_load(CRD_FILE.read_text())
    path = f"{CRD_PATH}/{crd['metadata']['name']}"
    eventually(lambda: not ((get(kube, path) or {}).get("metadata") or {})
               .get("deletionTimestamp"), "an earlier deletion of the CRD to finish", 60)
    kube.request("PATCH", path, body=crd,
                 query={"fieldManager": "ferry-tests", "force": "true"},
                 content_type="application/apply-patch+yaml")

    def established() -> bool:
        got = get(kube, path) or {}
        return not got.get("metadata", {}).get("deletionTimestamp") and any(
            c["type"] == "Established" and c["status"] == "True"
            for c in (got.get("status") or {}).get("conditions") or [])

    def served() -> bool:
        try:
            kube.get(f"{API}/connectors")
            return True
        except ApiError:
            return False

    eventually(established, "the CRD to be established", 30)
    eventually(served, "connectors to be served", 30)


class OperatorProcess:
    """``python -m ferry_operator`` with a kubeconfig; restartable, always stopped."""

    def __init__(self, kubeconfig: Path, bootstrap: str, namespace: str, workdir: Path,
                 **extra_env: str) -> None:
        self.log = workdir / "operator.log"
        self.metrics_port = free_port()
        self.health_port = free_port()
        self.env = {
            **os.environ,
            "KUBECONFIG": str(kubeconfig),
            "FERRY_DEFAULT_BOOTSTRAP_SERVERS": bootstrap,
            "FERRY_WATCH_NAMESPACES": namespace,
            "FERRY_OPERATOR_HOST": "127.0.0.1",
            "FERRY_OPERATOR_HEALTH_PORT": str(self.health_port),
            "FERRY_OPERATOR_METRICS_PORT": str(self.metrics_port),
            "FERRY_OPERATOR_LOG_LEVEL": "INFO",
            "FERRY_WORKER_IMAGE": "ferry:test",
            "PYTHONPATH": str(ROOT),
            **extra_env,
        }
        self.env.pop("KUBERNETES_SERVICE_HOST", None)
        self.process: subprocess.Popen[bytes] | None = None
        self.started = 0

    def start(self) -> OperatorProcess:
        with self.log.open("ab") as log:
            log.write(f"\n==== start {self.started} ====\n".encode())
            self.process = subprocess.Popen([sys.executable, "-m", "ferry_operator"],
                                            env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        self.started += 1
        return self

    def healthy(self) -> bool:
        import urllib.request

        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.health_port}/healthz",
                                        timeout=2) as answer:
                return bool(answer.status == 200)
        except OSError:
            return False

    def metrics(self) -> str:
        import urllib.request

        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics",
                                    timeout=5) as answer:
            return str(answer.read().decode())

    def stop(self, kill: bool = False) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)

    def tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""




def connectors_path(namespace: str, name: str = "", sub: str = "") -> str:
    path = f"{API}/namespaces/{namespace}/connectors"
    if name:
        path += f"/{name}"
    if sub:
        path += f"/{sub}"
    return path


def get(kube: Kube, path: str) -> JSON | None:
    try:
        return kube.get(path)
    except ApiError as error:
        if error.status == 404:
            return None
        raise
