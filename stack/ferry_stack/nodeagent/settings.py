"""The agent's tunables, and what a pod worker needs from the agent."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ferry_stack.nodeagent.container import Backoff
from ferry_stack.nodeagent.kube import Kube
from ferry_stack.nodeagent.podenv import EnvSources
from ferry_stack.nodeagent.volumes import VolumeData

JSON = dict[str, Any]


@dataclass
class AgentSettings:
    workdir: Path
    # Pod deletion waits at most this long between SIGTERM and SIGKILL, whatever the pod asks.
    max_grace: float = 30.0
    # On agent shutdown every container gets this long after SIGTERM (Service.stop waits 10s).
    shutdown_grace: float = 5.0
    backoff: Backoff = field(default_factory=Backoff)
    # How often a pod worker looks at its processes and probes.
    tick: float = 0.2
    # Secret/ConfigMap volumes are re-projected this often, like kubelet's sync.
    volume_refresh: float = 10.0
    # Private mount namespaces for volumeMounts; needs root and unshare(1).
    mount_namespaces: bool = True
    # Directories put first on every container's PATH (the venv's bin by default).
    path_prefix: list[str] = field(default_factory=list)
    # Extra environment every container gets below its own env (e.g. test settings).
    extra_env: dict[str, str] = field(default_factory=dict)


class PodHost(Protocol):
    """The agent as seen by one pod worker."""

    kube: Kube
    node_name: str
    settings: AgentSettings
    volume_data: VolumeData

    def env_sources(self, pod_ip: str) -> EnvSources: ...

    def base_env(self, pod: JSON, pod_ip: str) -> dict[str, str]: ...

    def event(self, pod: JSON, kind: str, reason: str, message: str) -> None: ...

    def worker_done(self, uid: str, pod_ip: str) -> None: ...
