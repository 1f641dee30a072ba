"""The real Kubernetes control plane, started once per test session.

Nothing here skips: when the binaries cannot be built or the control plane does not start,
every test that needs it fails with the build or start log.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ferry_stack.controlplane import ControlPlane
from ferry_stack.kube_build import ensure_kube_binaries, kube_binaries_cached

# A cold build of kube-apiserver, kube-controller-manager and etcd on 2 cores.
COLD_BUILD_TIMEOUT = 3600


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The first test to use the control plane pays for a cold build; give it the time
    # (run `python -m ferry_stack.kube_build` beforehand to keep the usual timeout).
    if kube_binaries_cached():
        return
    for item in items:
        if "control_plane" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.timeout(COLD_BUILD_TIMEOUT))
            return


@pytest.fixture(scope="session")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    binaries = ensure_kube_binaries()
    plane = ControlPlane(tmp_path_factory.mktemp("controlplane"), binaries)
    started = time.monotonic()
    with plane:
        print(f"\ncontrol plane up at {plane.server} in {time.monotonic() - started:.1f}s")
        yield plane


@contextlib.contextmanager
def running_node_agent(control_plane: ControlPlane, workdir: Path, node: str) -> Iterator[Any]:
    """A node agent on ``node`` for the duration of the block (always stopped)."""
    from ferry_stack.nodeagent import NodeAgent

    agent = NodeAgent(control_plane.kubeconfig, node, workdir)
    agent.start()
    try:
        yield agent
    finally:
        agent.stop()


@pytest.fixture(scope="session")
def kube(kube_client: Any) -> Any:
    """JSON requests against the API server (``ferry_stack.nodeagent.kube.Kube``)."""
    from ferry_stack.nodeagent.kube import Kube

    return Kube(kube_client)


@pytest.fixture(scope="session")
def kube_client(control_plane: ControlPlane) -> Iterator[Any]:
    """A ``kubernetes.client.ApiClient`` logged in as cluster admin."""
    from kubernetes import config

    client = config.new_client_from_config(config_file=str(control_plane.kubeconfig))
    try:
        yield client
    finally:
        client.close()
