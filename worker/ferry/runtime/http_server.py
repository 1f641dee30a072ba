"""The worker's HTTP endpoints: /metrics, /healthz, /readyz and /status.

``/status`` has the shape of Kafka Connect's ``GET /connectors/{name}/status`` for each
connector this worker runs. A small stdlib server in a daemon thread: these endpoints
are for probes and scrapes, not for traffic.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ferry.runtime.metrics import METRICS

log = logging.getLogger(__name__)

Check = Callable[[], tuple[bool, str]]


class WorkerHttpServer:
    def __init__(self, host: str, port: int, status: Callable[[], Any],
                 healthy: Check, ready: Check) -> None:
        self._status = status
        self._healthy = healthy
        self._ready = ready
        handler = self._handler()
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="http",
                                        daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> WorkerHttpServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0].rstrip("/") or "/"
                if path == "/metrics":
                    self._send(200, generate_latest(METRICS), CONTENT_TYPE_LATEST)
                elif path == "/healthz":
                    self._check(server._healthy)
                elif path == "/readyz":
                    self._check(server._ready)
                elif path == "/status":
                    body = json.dumps(server._status(), indent=2).encode()
                    self._send(200, body, "application/json")
                else:
                    self._send(404, b"not found\n", "text/plain")

            def _check(self, check: Check) -> None:
                ok, reason = check()
                self._send(200 if ok else 503, (reason + "\n").encode(), "text/plain")

            def _send(self, code: int, body: bytes, content_type: str) -> None:
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("http: " + format, *args)

        return Handler
