"""Running the node agent as its own process (a ``Service``), as the stack and CI do."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from ferry_stack.process import Service, ServiceError


def node_agent_service(kubeconfig: Path, node_name: str, workdir: Path,
                       log_path: Path | None = None) -> Service:
    """A not yet started Service running ``python -m ferry_stack.nodeagent``."""
    argv = [sys.executable, "-m", "ferry_stack.nodeagent", "--kubeconfig", str(kubeconfig),
            "--node-name", node_name, "--workdir", str(workdir)]
    return Service(f"nodeagent-{node_name}", argv, log_path or workdir / "nodeagent.log")


def wait_node_ready(kubeconfig: Path, node_name: str, service: Service | None = None,
                    timeout: float = 60.0) -> None:
    """Wait until the Node reports Ready=True (the agent has registered and synced)."""
    from ferry_stack.nodeagent.kube import ApiError, Kube, api_client_from_kubeconfig

    client = api_client_from_kubeconfig(str(kubeconfig))
    kube = Kube(client)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if service is not None:
                service.check_alive()
            try:
                node = kube.get(f"/api/v1/nodes/{node_name}")
                conditions = (node.get("status") or {}).get("conditions") or []
                if any(c.get("type") == "Ready" and c.get("status") == "True"
                       for c in conditions):
                    return
            except ApiError:
                pass
            time.sleep(0.2)
    finally:
        client.close()
    tail = service.log_tail() if service is not None else ""
    raise ServiceError(f"node {node_name} not Ready after {timeout:.0f}s\n{tail}")


def start_node_agent_service(kubeconfig: Path, node_name: str, workdir: Path,
                             log_path: Path | None = None, timeout: float = 60.0) -> Service:
    """Start the agent process and wait for its Node to be Ready; stop it with ``.stop()``."""
    service = node_agent_service(kubeconfig, node_name, workdir, log_path).start()
    try:
        wait_node_ready(kubeconfig, node_name, service, timeout)
    except BaseException:
        service.stop()
        raise
    return service
