"""Readiness, liveness and startup probes: httpGet, tcpSocket and exec, kubelet's timing.

Probes target the pod's own loopback address (status.podIP); named ports resolve through the
container's ``ports``. exec probes run on the host with the container's environment but
outside its mount namespace.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import subprocess
from collections.abc import Mapping
from typing import Any

JSON = dict[str, Any]


def resolve_port(port: Any, container: JSON) -> int:
    """A probe's port: a number, or the name of one of the container's ports."""
    if isinstance(port, int):
        return port
    if isinstance(port, str) and port.isdigit():
        return int(port)
    for declared in container.get("ports") or []:
        if declared.get("name") == port:
            return int(declared["containerPort"])
    raise ValueError(f"probe port {port!r} names no container port")


def _http_get(action: JSON, pod_ip: str, container: JSON, timeout: float) -> bool:
    host = str(action.get("host") or pod_ip)
    port = resolve_port(action.get("port"), container)
    headers = {str(h.get("name")): str(h.get("value")) for h in action.get("httpHeaders") or []}
    headers.setdefault("User-Agent", "kube-probe/ferry-nodeagent")
    connection: http.client.HTTPConnection
    if str(action.get("scheme", "HTTP")).upper() == "HTTPS":
        # Like kubelet, HTTPS probes do not verify the certificate.
        context = ssl._create_unverified_context()
        connection = http.client.HTTPSConnection(host, port, timeout=timeout, context=context)
    else:
        connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request("GET", str(action.get("path") or "/"), headers=headers)
        status = connection.getresponse().status
    finally:
        connection.close()
    return 200 <= status < 400


def _tcp(action: JSON, pod_ip: str, container: JSON, timeout: float) -> bool:
    host = str(action.get("host") or pod_ip)
    with socket.create_connection((host, resolve_port(action.get("port"), container)),
                                  timeout=timeout):
        return True


def _exec(action: JSON, env: Mapping[str, str], cwd: str | None, timeout: float) -> bool:
    result = subprocess.run([str(a) for a in action.get("command") or []], env=dict(env),
                            cwd=cwd, timeout=timeout, capture_output=True, check=False,
                            stdin=subprocess.DEVNULL)
    return result.returncode == 0


def run_probe(spec: JSON, pod_ip: str, container: JSON, env: Mapping[str, str],
              cwd: str | None) -> bool:
    """One probe attempt; any error (refused, timeout, bad port) is a failure."""
    timeout = float(spec.get("timeoutSeconds") or 1)
    try:
        if "httpGet" in spec:
            return _http_get(spec["httpGet"], pod_ip, container, timeout)
        if "tcpSocket" in spec:
            return _tcp(spec["tcpSocket"], pod_ip, container, timeout)
        if "exec" in spec:
            return _exec(spec["exec"], env, cwd, timeout)
    except (OSError, ValueError, http.client.HTTPException, subprocess.TimeoutExpired):
        return False
    # grpc and unknown handlers are not implemented: treat them as passing rather than
    # blocking the pod forever; the agent logs a warning event once.
    return True


class Prober:
    """Schedules one probe of one container run and keeps kubelet's thresholds."""

    def __init__(self, kind: str, spec: JSON, started: float) -> None:
        self.kind = kind
        self.spec = spec
        self.period = max(1.0, float(spec.get("periodSeconds") or 10))
        self.success_threshold = int(spec.get("successThreshold") or 1)
        self.failure_threshold = int(spec.get("failureThreshold") or 3)
        self.next_at = started + float(spec.get("initialDelaySeconds") or 0)
        # Kubelet's initial results: liveness passes until it fails; readiness and startup
        # fail until they pass.
        self.ok = kind == "liveness"
        self._successes = 0
        self._failures = 0

    @property
    def failed(self) -> bool:
        """Failed ``failureThreshold`` times in a row (liveness/startup: restart it)."""
        return self._failures >= self.failure_threshold

    def due(self, now: float) -> bool:
        return now >= self.next_at

    def record(self, success: bool, now: float) -> bool:
        """Count one result; returns True when ``ok`` changed."""
        self.next_at = now + self.period
        before = self.ok
        if success:
            self._successes += 1
            self._failures = 0
            if self._successes >= self.success_threshold:
                self.ok = True
        else:
            self._failures += 1
            self._successes = 0
            if self._failures >= self.failure_threshold:
                self.ok = False
        return before != self.ok
