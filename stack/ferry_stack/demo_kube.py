"""Ferry's main job, the Kubernetes way, on an embedded default: ``make demo``.

Starts a local Kafka broker, the Kubernetes control plane and the node agent (unless
``--bootstrap-servers`` names a Kafka), installs the Connector CRD, runs the operator, and
applies two Connectors: a DataGen source (two tasks over two worker pods) and a
FileStreamSink archiving the topic into a file. Prints what ``kubectl get connectors``
shows, checks that every generated record reached the archive exactly as generated, then
deletes the Connectors (their Deployments go by garbage collection) and stops everything.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ferry_stack.controlplane import ControlPlane
from ferry_stack.kafka import KafkaBroker
from ferry_stack.nodeagent import NodeAgent
from ferry_stack.nodeagent.kube import Kube, api_client_from_kubeconfig
from ferry_stack.operator_run import OperatorProcess, apply_crd, connectors_path, eventually, get

NAMESPACE = "ferry-demo"
TOPIC = "ferry-demo-generated"
RECORDS_PER_TASK = 5000


def say(message: str) -> None:
    print(f"demo: {message}", flush=True)


@contextlib.contextmanager
def kafka(bootstrap: str | None, workdir: Path) -> Iterator[str]:
    if bootstrap:
        yield bootstrap
        return
    say("starting a local Kafka broker ...")
    with KafkaBroker(workdir / "kafka") as broker:
        say(f"Kafka is up at {broker.bootstrap_servers}")
        yield broker.bootstrap_servers


@contextlib.contextmanager
def cluster(workdir: Path) -> Iterator[Path]:
    say("starting the Kubernetes control plane (etcd, kube-apiserver, controller-manager) ...")
    with ControlPlane(workdir / "controlplane") as plane:
        say(f"Kubernetes API at {plane.server}; starting the node agent ...")
        agent = NodeAgent(plane.kubeconfig, "ferry-demo-node", workdir / "node").start()
        try:
            yield plane.kubeconfig
        finally:
            agent.stop()


def connectors(archive: Path) -> list[dict[str, Any]]:
    def resource(name: str, cls: str, tasks: int, replicas: int,
                 config: dict[str, Any]) -> dict[str, Any]:
        return {"apiVersion": "ferry.dev/v1alpha1", "kind": "Connector",
                "metadata": {"name": name, "namespace": NAMESPACE},
                "spec": {"class": cls, "tasksMax": tasks, "replicas": replicas,
                         "config": config}}

    return [
        resource("generator", "DataGen", 2, 2, {
            "topic": TOPIC, "max.records": RECORDS_PER_TASK, "records.per.second": 2000,
            "value.shape": "string", "value.size": 40, "key.shape": "task",
            "topic.creation.default.partitions": 4,
            "topic.creation.default.replication.factor": 1,
            "offset.flush.interval.ms": 1000}),
        resource("archive", "FileStreamSink", 1, 1, {
            "topics": TOPIC, "file": str(archive), "offset.flush.interval.ms": 1000}),
    ]


def get_connectors(kube: Kube) -> str:
    """What ``kubectl get connectors`` prints (the CRD's printer columns)."""
    items = kube.get(connectors_path(NAMESPACE))["items"]
    rows = [("NAME", "STATE", "TASKS", "WORKERS", "CLASS", "READY")]
    for item in items:
        status = item.get("status") or {}
        ready = next((c["status"] for c in status.get("conditions") or []
                      if c["type"] == "Ready"), "")
        rows.append((item["metadata"]["name"], str(status.get("state", "")),
                     str(status.get("tasksReady", "")), str(status.get("workers", "")),
                     item["spec"]["class"], ready))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True))
                     for r in rows)


def ready(kube: Kube, name: str) -> bool:
    obj = get(kube, connectors_path(NAMESPACE, name)) or {}
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (obj.get("status") or {}).get("conditions") or [])


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def run(bootstrap: str | None, workdir: Path) -> int:
    archive = workdir / "archive.txt"
    with kafka(bootstrap, workdir) as servers, cluster(workdir) as kubeconfig:
        kube = Kube(api_client_from_kubeconfig(str(kubeconfig)))
        apply_crd(kube)
        kube.create("/api/v1/namespaces", {"metadata": {"name": NAMESPACE}})
        eventually(lambda: get(kube, f"/api/v1/namespaces/{NAMESPACE}/serviceaccounts/default"),
                   "the namespace's default service account")
        operator = OperatorProcess(kubeconfig, servers, NAMESPACE, workdir).start()
        try:
            eventually(operator.healthy, "the operator to start", 60, operator.tail)
            say("operator running; kubectl apply -f generator.yaml -f archive.yaml")
            started = time.monotonic()
            for body in connectors(archive):
                kube.create(connectors_path(NAMESPACE), body)
            eventually(lambda: ready(kube, "generator") and ready(kube, "archive"),
                       "both connectors Ready", 180, lambda: get_connectors(kube))
            say(f"both Connectors RUNNING and Ready {time.monotonic() - started:.1f}s after "
                "apply; kubectl get connectors -n ferry-demo:")
            print(get_connectors(kube), flush=True)
            total = 2 * RECORDS_PER_TASK
            eventually(lambda: len(lines(archive)) >= total, f"{total} archived records", 180,
                       lambda: f"{len(lines(archive))} so far\n{get_connectors(kube)}")
            archived = lines(archive)
            expected = {(task, seq) for task in range(2) for seq in range(RECORDS_PER_TASK)}
            seen = {(int(t), int(s)) for t, s, *_ in (line.split(":", 2) for line in archived)}
            say(f"{len(archived)} records generated by 2 worker pods, archived by a third; "
                f"every one present: {seen == expected}")
            for name in ("generator", "archive"):
                kube.delete(connectors_path(NAMESPACE, name))
            eventually(lambda: not kube.get(f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments"
                                            )["items"], "the worker Deployments to go", 90)
            say("Connectors deleted; their Deployments and pods are gone")
            return 0 if seen == expected else 1
        finally:
            operator.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ferry-demo", description=__doc__)
    parser.add_argument("--bootstrap-servers", default=None,
                        help="use this Kafka instead of starting one")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    # Not under /tmp: worker pods get an emptyDir there, and the archive must be visible.
    base = Path.cwd() / ".stack"
    base.mkdir(exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="demo-", dir=base))
    try:
        return run(args.bootstrap_servers, workdir)
    finally:
        if args.keep:
            say(f"work directory kept at {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
