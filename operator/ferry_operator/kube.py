"""A small JSON-in, JSON-out client for the few Kubernetes calls the operator makes itself.

kopf watches the Connectors, Deployments and pods; this client does the writes kopf does not:
server-side apply of the worker objects, deletes, status and annotation patches. It works on
plain dicts shaped like the manifests (what the builders in :mod:`ferry_operator.model` return)
over the ``kubernetes`` package's ApiClient, which brings TLS, auth (in-cluster or kubeconfig)
and connection pooling. Calls block: async callers run them with ``asyncio.to_thread``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

JSON = dict[str, Any]
_TIMEOUT = (5.0, 30.0)

APPLY = "application/apply-patch+yaml"  # JSON is YAML: the body is sent as JSON
MERGE = "application/merge-patch+json"


class ApiError(RuntimeError):
    """The API server answered with a non-2xx status."""

    def __init__(self, status: int, body: str) -> None:
        self.status = status
        self.body = body
        super().__init__(f"HTTP {status}: {self.message}")

    @property
    def message(self) -> str:
        """The server's own message when the body is a Status object."""
        try:
            parsed = json.loads(self.body)
        except ValueError:
            return self.body[:500]
        if isinstance(parsed, dict) and parsed.get("message"):
            return str(parsed["message"])
        return self.body[:500]

    @property
    def transient(self) -> bool:
        """Worth retrying as it is: conflicts, throttling, server-side and timeout errors."""
        return self.status in (0, 408, 409, 425, 429) or self.status >= 500


def api_client(pool_size: int = 16) -> Any:
    """An ApiClient from the in-cluster service account, else from the kubeconfig."""
    from kubernetes import client, config

    configuration = client.Configuration()
    load: Callable[..., None] = (
        config.load_incluster_config
        if os.environ.get("KUBERNETES_SERVICE_HOST") and not os.environ.get("KUBECONFIG")
        else config.load_kube_config)
    load(client_configuration=configuration)
    configuration.connection_pool_maxsize = pool_size
    return client.ApiClient(configuration)


class Kube:
    """JSON requests against one API server."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def request(self, method: str, path: str, body: Any = None,
                query: Mapping[str, Any] | None = None,
                content_type: str = "application/json") -> JSON:
        params: Sequence[tuple[str, Any]] = list((query or {}).items())
        serialized = self.client.param_serialize(
            method, path, query_params=params, body=body, auth_settings=["BearerToken"],
            header_params={"Accept": "application/json", "Content-Type": content_type})
        try:
            response = self.client.call_api(*serialized, _request_timeout=_TIMEOUT)
            data = response.read() or b"{}"
        except OSError as exc:  # urllib3 errors are OSErrors: the server is unreachable
            raise ApiError(0, str(exc)) from exc
        except Exception as exc:
            if type(exc).__module__.startswith("urllib3"):
                raise ApiError(0, str(exc)) from exc
            raise
        text = data.decode("utf-8", errors="replace")
        if not 200 <= response.status <= 299:
            raise ApiError(int(response.status), text)
        parsed = json.loads(text)
        return parsed if isinstance(parsed, dict) else {"items": parsed}

    def get(self, path: str, **query: Any) -> JSON | None:
        """The object, or None when it does not exist."""
        try:
            return self.request("GET", path, query=query)
        except ApiError as error:
            if error.status == 404:
                return None
            raise

    def apply(self, path: str, body: JSON, field_manager: str) -> JSON:
        """Server-side apply, taking over conflicting fields (the operator owns these objects)."""
        return self.request("PATCH", path, body=body, content_type=APPLY,
                            query={"fieldManager": field_manager, "force": "true"})

    def merge_patch(self, path: str, body: JSON, field_manager: str = "ferry-operator") -> JSON:
        return self.request("PATCH", path, body=body, content_type=MERGE,
                            query={"fieldManager": field_manager})

    def delete(self, path: str) -> bool:
        """Delete in the background; False when it was already gone."""
        try:
            self.request("DELETE", path, body={"propagationPolicy": "Background"})
            return True
        except ApiError as error:
            if error.status == 404:
                return False
            raise
