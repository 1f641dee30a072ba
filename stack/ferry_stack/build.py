"""Fetch and build everything the test stack needs, once, into the cache.

``python -m ferry_stack.build`` (what ``make stack`` runs): Kafka's jars from Maven Central,
then etcd, kube-apiserver, kube-controller-manager and helm from Go modules, s3proxy from
Maven Central and PostgreSQL from Debian's packages. Everything
already in the cache is skipped, so a warm run takes a second.
"""

from __future__ import annotations

import sys
import time

from ferry_stack.kafka import ensure_kafka_jars, kafka_version
from ferry_stack.kube_build import HELM_VERSION, KUBE_VERSION, ensure_helm, ensure_kube_binaries
from ferry_stack.postgres import ensure_postgres
from ferry_stack.s3server import ensure_s3proxy


def main() -> int:
    steps = [
        (f"Kafka {kafka_version()} jars", ensure_kafka_jars),
        (f"Kubernetes {KUBE_VERSION} control plane", ensure_kube_binaries),
        (f"helm {HELM_VERSION}", ensure_helm),
        ("s3proxy (S3 server for the S3 sink tests)", ensure_s3proxy),
        ("PostgreSQL (Debian's packages)", ensure_postgres),
    ]
    for label, step in steps:
        started = time.monotonic()
        print(f"ferry-stack: {label} ...", flush=True)
        step()
        print(f"ferry-stack: {label} ready ({time.monotonic() - started:.0f}s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
