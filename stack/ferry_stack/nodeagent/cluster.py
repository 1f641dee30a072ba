"""What pods read from the API: Secrets, ConfigMaps and service-account tokens."""

from __future__ import annotations

import base64
from typing import Any

from ferry_stack.nodeagent.kube import ApiError, Kube

JSON = dict[str, Any]
ROOT_CA = "kube-root-ca.crt"


class ClusterData:
    """Live reads (no cache): a container start sees the Secret as it is now."""

    def __init__(self, kube: Kube, root_ca: bytes = b"") -> None:
        self.kube = kube
        # The control plane's CA, standing in for the kube-root-ca.crt ConfigMap until the
        # controller-manager has published it (pods may start before that).
        self.root_ca = root_ca

    def _get(self, path: str) -> JSON | None:
        try:
            return self.kube.get(path)
        except ApiError as error:
            if error.status == 404:
                return None
            raise

    def secret_data(self, namespace: str, name: str) -> dict[str, bytes] | None:
        secret = self._get(f"/api/v1/namespaces/{namespace}/secrets/{name}")
        if secret is None:
            return None
        data = {k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()}
        data.update({k: str(v).encode() for k, v in (secret.get("stringData") or {}).items()})
        return data

    def config_map_data(self, namespace: str, name: str) -> dict[str, bytes] | None:
        config_map = self._get(f"/api/v1/namespaces/{namespace}/configmaps/{name}")
        if config_map is None:
            if name == ROOT_CA and self.root_ca:
                return {"ca.crt": self.root_ca}
            return None
        data = {k: str(v).encode() for k, v in (config_map.get("data") or {}).items()}
        data.update({k: base64.b64decode(v)
                     for k, v in (config_map.get("binaryData") or {}).items()})
        return data

    def secret_strings(self, namespace: str, name: str) -> dict[str, str] | None:
        data = self.secret_data(namespace, name)
        return None if data is None else {k: v.decode(errors="replace") for k, v in data.items()}

    def config_map_strings(self, namespace: str, name: str) -> dict[str, str] | None:
        data = self.config_map_data(namespace, name)
        return None if data is None else {k: v.decode(errors="replace") for k, v in data.items()}

    def service_account_token(self, pod: JSON, audience: str | None, expiration: int) -> str:
        """A bound token from the TokenRequest API, as kubelet mounts for in-cluster clients."""
        meta, spec = pod["metadata"], pod.get("spec") or {}
        account = spec.get("serviceAccountName") or "default"
        request: JSON = {
            "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
            "spec": {"expirationSeconds": max(600, expiration),
                     "boundObjectRef": {"apiVersion": "v1", "kind": "Pod",
                                        "name": meta["name"], "uid": meta["uid"]}},
        }
        if audience:
            request["spec"]["audiences"] = [audience]
        answer = self.kube.create(
            f"/api/v1/namespaces/{meta['namespace']}/serviceaccounts/{account}/token", request)
        return str(answer["status"]["token"])
