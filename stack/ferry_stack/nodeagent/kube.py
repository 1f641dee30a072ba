"""A thin JSON-in, JSON-out layer over the kubernetes client's ApiClient.

The agent works on plain dicts shaped like the manifests (camelCase), not on the generated
models: field paths of the downward API (``metadata.labels['x']``) then apply directly, odd
objects never fail model validation, and a Binding's Status reply needs no special case.
The client still does the TLS, auth and connection pooling.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from kubernetes import client, config
from kubernetes.watch.watch import iter_resp_lines as _untyped_iter_resp_lines

JSON = dict[str, Any]
# The client ships no types; these are its documented signatures.
iter_resp_lines: Callable[[Any], Iterator[str]] = _untyped_iter_resp_lines
_load_kube_config: Callable[..., None] = config.load_kube_config

# A watch asks the server to end it after this long; the read timeout is longer so a
# silently dead connection is noticed too.
WATCH_SECONDS = 60
_WATCH_TIMEOUT = (5.0, WATCH_SECONDS + 30.0)
_CALL_TIMEOUT = (5.0, 30.0)


class ApiError(RuntimeError):
    """The API server answered with a non-2xx status."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"HTTP {status}: {body[:500]}")
        self.status = status
        self.body = body


def api_client_from_kubeconfig(kubeconfig: str) -> Any:
    """A fresh ApiClient for ``kubeconfig``, with a pool big enough for the agent's threads."""
    configuration = client.Configuration()
    _load_kube_config(config_file=kubeconfig, client_configuration=configuration)
    configuration.connection_pool_maxsize = 32
    return client.ApiClient(configuration)


class Kube:
    """JSON requests against one API server."""

    def __init__(self, api_client: Any) -> None:
        self.api_client = api_client

    @property
    def host(self) -> str:
        return str(self.api_client.configuration.host)

    def _send(self, method: str, path: str, query: Mapping[str, Any] | None,
              body: Any, content_type: str, timeout: tuple[float, float],
              accept: str = "application/json") -> Any:
        params: Sequence[tuple[str, Any]] = list((query or {}).items())
        headers = {"Accept": accept, "Content-Type": content_type}
        serialized = self.api_client.param_serialize(
            method, path, query_params=params, header_params=headers, body=body,
            auth_settings=["BearerToken"],
        )
        return self.api_client.call_api(*serialized, _request_timeout=timeout)

    def request(self, method: str, path: str, body: Any = None,
                query: Mapping[str, Any] | None = None,
                content_type: str = "application/json") -> JSON:
        response = self._send(method, path, query, body, content_type, _CALL_TIMEOUT)
        data = response.read() or b"{}"
        text = data.decode("utf-8", errors="replace")
        if not 200 <= response.status <= 299:
            raise ApiError(int(response.status), text)
        parsed = json.loads(text)
        return parsed if isinstance(parsed, dict) else {"items": parsed}

    def get(self, path: str, **query: Any) -> JSON:
        return self.request("GET", path, query=query)

    def text(self, path: str) -> str:
        """A GET whose answer is text, not JSON (``/metrics``)."""
        response = self._send("GET", path, None, None, "application/json", _CALL_TIMEOUT,
                              accept="text/plain")
        text = (response.read() or b"").decode("utf-8", errors="replace")
        if not 200 <= response.status <= 299:
            raise ApiError(int(response.status), text)
        return text

    def create(self, path: str, body: JSON) -> JSON:
        return self.request("POST", path, body=body)

    def patch(self, path: str, body: JSON, strategic: bool = True) -> JSON:
        content_type = ("application/strategic-merge-patch+json" if strategic
                        else "application/merge-patch+json")
        return self.request("PATCH", path, body=body, content_type=content_type)

    def delete(self, path: str, body: JSON | None = None) -> JSON:
        return self.request("DELETE", path, body=body)

    def watch(self, path: str, resource_version: str, **query: Any) -> Iterator[JSON]:
        """Events of one watch call; raises ApiError on an HTTP or in-stream error (410 too)."""
        params = {"watch": "true", "resourceVersion": resource_version,
                  "allowWatchBookmarks": "true", "timeoutSeconds": WATCH_SECONDS, **query}
        response = self._send("GET", path, params, None, "application/json", _WATCH_TIMEOUT)
        raw = response.response
        try:
            if not 200 <= response.status <= 299:
                raise ApiError(int(response.status), response.read().decode(errors="replace"))
            for line in iter_resp_lines(raw):
                if not line:
                    continue
                event = json.loads(line)
                if event.get("type") == "ERROR":
                    status = event.get("object") or {}
                    raise ApiError(int(status.get("code", 500)), json.dumps(status))
                yield event
        finally:
            raw.close()
            raw.release_conn()


def pod_path(namespace: str, name: str = "", sub: str = "") -> str:
    path = f"/api/v1/namespaces/{namespace}/pods"
    if name:
        path += f"/{name}"
    if sub:
        path += f"/{sub}"
    return path
