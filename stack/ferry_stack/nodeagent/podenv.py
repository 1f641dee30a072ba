"""Container environment the way kubelet builds it: envFrom, env, valueFrom, $(VAR).

The sources (Secrets, ConfigMaps, the pod's own fields) come in through ``EnvSources`` so
this module stays pure and unit-testable.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from kubernetes.utils.quantity import parse_quantity as _untyped_parse_quantity

JSON = dict[str, Any]
Lookup = Callable[[str, str], "Mapping[str, str] | None"]
# The client ships no types; this is its documented signature.
parse_quantity: Callable[[str], Decimal] = _untyped_parse_quantity


class ConfigError(Exception):
    """The pod cannot be started as written (missing Secret key, bad field path, ...).

    Kubelet reports this as CreateContainerConfigError and retries; so do we.
    """


@dataclass
class EnvSources:
    """What env resolution may read. Lookups return decoded data or None if absent."""

    secret: Lookup
    config_map: Lookup
    pod_ip: str
    host_ip: str = "127.0.0.1"
    allocatable: Mapping[str, str] = field(default_factory=dict)


def expand(text: str, mapping: Mapping[str, str]) -> str:
    """Kubelet's ``$(VAR)`` expansion: ``$$`` is a literal ``$``, unknown names stay as written."""
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char != "$" or i + 1 >= len(text):
            out.append(char)
            i += 1
            continue
        nxt = text[i + 1]
        if nxt == "$":
            out.append("$")
            i += 2
        elif nxt == "(":
            close = text.find(")", i + 2)
            if close == -1:
                out.append("$(")
                i += 2
            else:
                name = text[i + 2:close]
                out.append(mapping.get(name, f"$({name})"))
                i = close + 1
        else:
            out.append("$" + nxt)
            i += 2
    return "".join(out)


_SUBSCRIPT = re.compile(r"^(metadata\.(?:labels|annotations))\['(.+)'\]$")


def field_value(pod: JSON, path: str, sources: EnvSources) -> str:
    """The value of a downward-API ``fieldRef.fieldPath`` for ``pod``."""
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    subscript = _SUBSCRIPT.match(path)
    if subscript:
        which = subscript.group(1).split(".")[1]
        return str((meta.get(which) or {}).get(subscript.group(2), ""))
    simple: dict[str, Callable[[], str]] = {
        "metadata.name": lambda: str(meta.get("name", "")),
        "metadata.namespace": lambda: str(meta.get("namespace", "")),
        "metadata.uid": lambda: str(meta.get("uid", "")),
        "metadata.labels": lambda: _format_map(meta.get("labels") or {}),
        "metadata.annotations": lambda: _format_map(meta.get("annotations") or {}),
        "spec.nodeName": lambda: str(spec.get("nodeName", "")),
        "spec.serviceAccountName": lambda: str(spec.get("serviceAccountName", "")),
        "status.podIP": lambda: sources.pod_ip,
        "status.podIPs": lambda: sources.pod_ip,
        "status.hostIP": lambda: sources.host_ip,
        "status.hostIPs": lambda: sources.host_ip,
    }
    if path not in simple:
        raise ConfigError(f"unsupported fieldRef.fieldPath {path!r}")
    return simple[path]()


def _format_map(values: Mapping[str, Any]) -> str:
    # The downward API's file format for whole label/annotation maps: key="value" lines.
    return "\n".join(f'{key}="{values[key]}"' for key in sorted(values))


def resource_value(pod: JSON, ref: JSON, default_container: str, sources: EnvSources) -> str:
    """A ``resourceFieldRef`` value, with node allocatable standing in for an unset limit."""
    name = ref.get("containerName") or default_container
    container = next((c for c in _all_containers(pod) if c.get("name") == name), None)
    if container is None:
        raise ConfigError(f"resourceFieldRef names unknown container {name!r}")
    resource = str(ref.get("resource", ""))
    kind, _, res_name = resource.partition(".")
    if kind not in ("limits", "requests") or not res_name:
        raise ConfigError(f"unsupported resourceFieldRef.resource {resource!r}")
    resources = container.get("resources") or {}
    raw = (resources.get(kind) or {}).get(res_name)
    if raw is None and kind == "requests":
        raw = (resources.get("limits") or {}).get(res_name)
    if raw is None:
        raw = sources.allocatable.get(res_name, "0") if kind == "limits" else "0"
    divisor = parse_quantity(str(ref.get("divisor") or "1"))
    if divisor == 0:
        raise ConfigError("resourceFieldRef.divisor must not be 0")
    value: Decimal = parse_quantity(str(raw)) / divisor
    return str(math.ceil(value))


def _all_containers(pod: JSON) -> list[JSON]:
    spec = pod.get("spec") or {}
    return list(spec.get("initContainers") or []) + list(spec.get("containers") or [])


def _lookup(sources: EnvSources, kind: str, namespace: str,
            name: str) -> Mapping[str, str] | None:
    lookup = sources.secret if kind == "secret" else sources.config_map
    return lookup(namespace, name)


def _env_from(pod: JSON, container: JSON, sources: EnvSources) -> dict[str, str]:
    namespace = pod["metadata"]["namespace"]
    env: dict[str, str] = {}
    for entry in container.get("envFrom") or []:
        prefix = str(entry.get("prefix") or "")
        for kind, key in (("secret", "secretRef"), ("configmap", "configMapRef")):
            ref = entry.get(key)
            if ref is None:
                continue
            data = _lookup(sources, kind, namespace, str(ref.get("name", "")))
            if data is None:
                if ref.get("optional"):
                    continue
                raise ConfigError(f"{kind} {ref.get('name')!r} not found (envFrom)")
            env.update({prefix + k: v for k, v in data.items()})
    return env


def _value_from(pod: JSON, container: JSON, source: JSON, sources: EnvSources) -> str | None:
    namespace = pod["metadata"]["namespace"]
    for kind, key in (("secret", "secretKeyRef"), ("configmap", "configMapKeyRef")):
        ref = source.get(key)
        if ref is None:
            continue
        data = _lookup(sources, kind, namespace, str(ref.get("name", "")))
        if data is not None and ref.get("key") in data:
            return data[str(ref["key"])]
        if ref.get("optional"):
            return None
        raise ConfigError(f"{kind} {ref.get('name')!r} has no key {ref.get('key')!r}")
    if "fieldRef" in source:
        return field_value(pod, str(source["fieldRef"].get("fieldPath", "")), sources)
    if "resourceFieldRef" in source:
        return resource_value(pod, source["resourceFieldRef"], str(container.get("name")),
                              sources)
    raise ConfigError(f"unsupported valueFrom {sorted(source)}")


def container_env(pod: JSON, container: JSON, sources: EnvSources,
                  base: Mapping[str, str]) -> dict[str, str]:
    """The full environment of ``container``: ``base`` < envFrom < env, values expanded."""
    env = dict(base)
    env.update(_env_from(pod, container, sources))
    for entry in container.get("env") or []:
        name = str(entry.get("name", ""))
        if "valueFrom" in entry:
            value = _value_from(pod, container, entry["valueFrom"] or {}, sources)
            if value is None:
                continue
            env[name] = value
        else:
            env[name] = expand(str(entry.get("value", "")), env)
    return env


def container_argv(container: JSON, env: Mapping[str, str]) -> list[str]:
    """command + args with $(VAR) expanded; with no command, args alone (the image is ignored)."""
    argv = [expand(str(a), env) for a in (container.get("command") or [])]
    argv += [expand(str(a), env) for a in (container.get("args") or [])]
    if not argv:
        raise ConfigError("container has no command or args: the node agent ignores images, "
                          "so it needs the command to run")
    return argv


def decode_secret(secret: JSON) -> dict[str, str]:
    data = {k: base64.b64decode(v).decode("utf-8", errors="replace")
            for k, v in (secret.get("data") or {}).items()}
    data.update({k: str(v) for k, v in (secret.get("stringData") or {}).items()})
    return data


def decode_config_map(config_map: JSON) -> dict[str, str]:
    data = {k: str(v) for k, v in (config_map.get("data") or {}).items()}
    data.update({k: base64.b64decode(v).decode("utf-8", errors="replace")
                 for k, v in (config_map.get("binaryData") or {}).items()})
    return data
