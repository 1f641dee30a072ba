"""One loopback address per pod: 127.<octet>.<x>.<y>.

Linux routes all of 127.0.0.0/8 to ``lo``, so a process may bind any of those addresses
without configuration. Pods that bind their POD_IP therefore never collide on ports, while
host services (Kafka, the API server) stay on 127.0.0.1. A process binding 0.0.0.0 still
takes the port on every address and collides with other pods.
"""

from __future__ import annotations

import threading
import zlib


def node_octet(node_name: str) -> int:
    """The second octet for a node's pods: stable per name, never 0 (127.0.0.x is the host's)."""
    return 1 + zlib.crc32(node_name.encode()) % 254


class PodIPs:
    """Hands out addresses in order, never two live pods the same one."""

    def __init__(self, octet: int) -> None:
        if not 1 <= octet <= 255:
            raise ValueError("the pod IP octet must be in 1..255")
        self.octet = octet
        self._next = 0
        self._used: set[str] = set()
        self._lock = threading.Lock()

    def _address(self, index: int) -> str:
        return f"127.{self.octet}.{index // 254 % 256}.{index % 254 + 1}"

    def owns(self, ip: str) -> bool:
        return ip.startswith(f"127.{self.octet}.")

    def allocate(self, preferred: str = "") -> str:
        """A free address; ``preferred`` (a restarted agent's old pod IP) if it is free."""
        with self._lock:
            if preferred and self.owns(preferred) and preferred not in self._used:
                self._used.add(preferred)
                return preferred
            for _ in range(254 * 256):
                ip = self._address(self._next)
                self._next = (self._next + 1) % (254 * 256)
                if ip not in self._used:
                    self._used.add(ip)
                    return ip
        raise RuntimeError("no free pod IP left")

    def release(self, ip: str) -> None:
        with self._lock:
            self._used.discard(ip)
