"""Pod volumes projected to files under the pod's directory, and each container's mounts.

Supported: secret, configMap, downwardAPI, projected (secret, configMap, downwardAPI,
serviceAccountToken), emptyDir, hostPath and persistentVolumeClaim (a directory kept per
claim, so a StatefulSet's data outlives its pods). Secret/ConfigMap/downward files are
rewritten on every projection, so a re-projection picks up changed data as kubelet does.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ferry_stack.nodeagent.podenv import (
    ConfigError,
    EnvSources,
    expand,
    field_value,
    resource_value,
)

JSON = dict[str, Any]
_DEFAULT_MODE = 0o644


class VolumeData(Protocol):
    """Where projected volumes get their data; None means the object does not exist."""

    def secret_data(self, namespace: str, name: str) -> dict[str, bytes] | None: ...

    def config_map_data(self, namespace: str, name: str) -> dict[str, bytes] | None: ...

    def service_account_token(self, pod: JSON, audience: str | None, expiration: int) -> str: ...


@dataclass(frozen=True)
class Mount:
    source: str
    target: str
    read_only: bool


Files = dict[str, tuple[bytes, int]]


def _keyed_files(kind: str, source: JSON, data: Mapping[str, bytes] | None,
                 default_mode: int) -> Files:
    """Files of a secret or configMap source: every key, or just ``items``."""
    name = source.get("secretName") or source.get("name")
    if data is None:
        if source.get("optional"):
            return {}
        raise ConfigError(f"{kind} {name!r} not found (volume)")
    items = source.get("items")
    if not items:
        return {key: (value, default_mode) for key, value in data.items()}
    files: Files = {}
    for item in items:
        key = str(item.get("key", ""))
        if key not in data:
            if source.get("optional"):
                continue
            raise ConfigError(f"{kind} {name!r} has no key {key!r} (volume)")
        files[str(item.get("path") or key)] = (data[key], int(item.get("mode") or default_mode))
    return files


def _downward_files(pod: JSON, source: JSON, env_sources: EnvSources, default_mode: int) -> Files:
    files: Files = {}
    for item in source.get("items") or []:
        if "fieldRef" in item:
            value = field_value(pod, str(item["fieldRef"].get("fieldPath", "")), env_sources)
        elif "resourceFieldRef" in item:
            value = resource_value(pod, item["resourceFieldRef"], "", env_sources)
        else:
            raise ConfigError(f"downwardAPI item {item.get('path')!r} has no fieldRef")
        files[str(item.get("path"))] = (value.encode(), int(item.get("mode") or default_mode))
    return files


def _projected_files(pod: JSON, volume: JSON, data: VolumeData, env_sources: EnvSources) -> Files:
    namespace = pod["metadata"]["namespace"]
    default_mode = int(volume.get("defaultMode") or _DEFAULT_MODE)
    files: Files = {}
    for source in volume.get("sources") or []:
        if "secret" in source:
            src = source["secret"]
            files.update(_keyed_files("secret", src, data.secret_data(namespace, src["name"]),
                                      default_mode))
        elif "configMap" in source:
            src = source["configMap"]
            files.update(_keyed_files("configmap", src,
                                      data.config_map_data(namespace, src["name"]),
                                      default_mode))
        elif "downwardAPI" in source:
            files.update(_downward_files(pod, source["downwardAPI"], env_sources, default_mode))
        elif "serviceAccountToken" in source:
            src = source["serviceAccountToken"]
            token = data.service_account_token(pod, src.get("audience"),
                                               int(src.get("expirationSeconds") or 3600))
            files[str(src.get("path") or "token")] = (token.encode(), default_mode)
        else:
            raise ConfigError(f"unsupported projected volume source {sorted(source)}")
    return files


def _write_files(directory: Path, files: Files) -> None:
    """Write ``files`` atomically (rename), and drop files that are no longer projected."""
    directory.mkdir(parents=True, exist_ok=True)
    wanted = set()
    for rel, (content, mode) in files.items():
        target = (directory / rel).resolve()
        if directory.resolve() not in target.parents:
            raise ConfigError(f"volume path {rel!r} escapes the volume")
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.with_name(f".{target.name}.tmp")
        temp.write_bytes(content)
        os.chmod(temp, mode)
        os.replace(temp, target)
        wanted.add(target)
    for path in sorted(directory.rglob("*"), reverse=True):
        if path.is_file() and path.resolve() not in wanted:
            path.unlink()


def _project_one(pod: JSON, volume: JSON, vol_dir: Path, pvc_root: Path, data: VolumeData,
                 env_sources: EnvSources) -> Path:
    namespace = pod["metadata"]["namespace"]
    if "emptyDir" in volume:
        vol_dir.mkdir(parents=True, exist_ok=True)
        return vol_dir
    if "hostPath" in volume:
        host = volume["hostPath"]
        path = Path(str(host.get("path", "")))
        if host.get("type") == "DirectoryOrCreate":
            path.mkdir(parents=True, exist_ok=True)
        elif host.get("type") == "FileOrCreate" and not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()
        elif not path.exists():
            raise ConfigError(f"hostPath {path} does not exist")
        return path
    if "persistentVolumeClaim" in volume:
        claim = volume["persistentVolumeClaim"].get("claimName", "")
        path = pvc_root / f"{namespace}_{claim}"
        path.mkdir(parents=True, exist_ok=True)
        return path
    files: Files
    if "secret" in volume:
        src = volume["secret"]
        mode = int(src.get("defaultMode") or _DEFAULT_MODE)
        files = _keyed_files("secret", src, data.secret_data(namespace, src.get("secretName", "")),
                             mode)
    elif "configMap" in volume:
        src = volume["configMap"]
        mode = int(src.get("defaultMode") or _DEFAULT_MODE)
        files = _keyed_files("configmap", src, data.config_map_data(namespace, src.get("name", "")),
                             mode)
    elif "downwardAPI" in volume:
        src = volume["downwardAPI"]
        files = _downward_files(pod, src, env_sources, int(src.get("defaultMode") or _DEFAULT_MODE))
    elif "projected" in volume:
        files = _projected_files(pod, volume["projected"], data, env_sources)
    else:
        kinds = sorted(k for k in volume if k != "name")
        raise ConfigError(f"volume {volume.get('name')!r}: unsupported type {kinds}")
    _write_files(vol_dir, files)
    return vol_dir


def project_volumes(pod: JSON, pod_dir: Path, pvc_root: Path, data: VolumeData,
                    env_sources: EnvSources) -> dict[str, Path]:
    """Project every volume of ``pod``; returns volume name -> host path."""
    paths: dict[str, Path] = {}
    for volume in (pod.get("spec") or {}).get("volumes") or []:
        name = str(volume.get("name", ""))
        paths[name] = _project_one(pod, volume, pod_dir / "volumes" / name, pvc_root, data,
                                   env_sources)
    return paths


def container_mounts(container: JSON, volumes: Mapping[str, Path],
                     env: Mapping[str, str]) -> list[Mount]:
    """The bind mounts one container needs, subPath and subPathExpr resolved."""
    mounts: list[Mount] = []
    for entry in container.get("volumeMounts") or []:
        name = str(entry.get("name", ""))
        if name not in volumes:
            raise ConfigError(f"volumeMount names unknown volume {name!r}")
        source = volumes[name]
        sub = entry.get("subPath") or ""
        if entry.get("subPathExpr"):
            sub = expand(str(entry["subPathExpr"]), env)
        if sub:
            source = source / sub
            if not source.exists():
                # kubelet creates a missing subPath as a directory.
                source.mkdir(parents=True, exist_ok=True)
        mounts.append(Mount(str(source), str(entry.get("mountPath", "")),
                            bool(entry.get("readOnly"))))
    return mounts
