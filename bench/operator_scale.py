"""Case 6, operator scale: N Connectors applied at once to the test control plane.

Starts a Kafka broker (``ferry_stack.kafka.KafkaBroker``) and the Kubernetes control plane
(``ferry_stack.controlplane.ControlPlane``: etcd, kube-apiserver, kube-controller-manager),
installs the Connector CRD, and for each count N:

1. makes a fresh namespace and starts the operator in it as a process (``OperatorProcess``,
   watching only that namespace), and waits until it is healthy;
2. applies N DataGen Connectors (1 task, 1 replica, distinct names) at once from a thread pool;
3. times, from the first apply, until every worker Deployment exists and until every
   Connector's ``.status.observedGeneration`` equals its ``metadata.generation`` (the
   operator writes ``observedGeneration`` only after the generation was written to Kafka and
   the worker objects were applied: ``reconcile.py``, ``status.py``);
4. measures the operator's CPU over a quiet window with all N Connectors in place (its status
   loops keep running);
5. deletes all N at once and times until every Connector is gone (the finalizer's Kafka
   clean-up done) and until garbage collection removed every Deployment.

There is no node agent: worker pods stay Pending (no scheduler, no kubelet), so the statuses
say ``UNASSIGNED`` / ``WorkersNotReady``. That measures the operator's own work (kopf's
handlers and daemons, the Kafka side, server-side apply, status patches) without 500 worker
processes competing for the machine's two cores.

The times come from watches (the client sees each ADDED/MODIFIED/DELETED event), not from
polling lists. The operator's CPU is utime+stime of its process tree from ``/proc`` and its
peak RSS the larger of the sampled sum of VmRSS and the sum of VmHWM just before it stops.

``python -m bench.operator_scale [--counts 100,500] [--quick] [--out PATH]`` writes
``bench/results/<date>-operator-scale.json`` (``-quick`` in quick mode) and prints a table.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import datetime
import functools
import json
import os
import platform
import shutil
import sys
import tempfile
import threading
import time
import urllib.error
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import urllib3.exceptions
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from bench import procs
from ferry import protocol
from ferry_stack.controlplane import ControlPlane
from ferry_stack.kafka import KafkaBroker
from ferry_stack.nodeagent.kube import ApiError, Kube, api_client_from_kubeconfig
from ferry_stack.operator_run import OperatorProcess, apply_crd, connectors_path, get

JSON = dict[str, Any]
RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_COUNTS = (100, 500)
QUICK_COUNTS = (5,)
CONFIGS_TOPIC = protocol.DEFAULT_CONFIGS_TOPIC
APPLY_THREADS = 16
SAMPLE_EVERY = 0.25
WATCH_CHUNK = 5  # seconds per watch call, so a stop is noticed soon

# The goal of the issue (measured, never asserted here).
GOAL_SECONDS = 60.0
GOAL_RSS_MB = 250.0


def say(message: str) -> None:
    print(f"operator-scale: {message}", file=sys.stderr, flush=True)


# -- watching the API server ---------------------------------------------------------------


@dataclass
class Seen:
    """When the client first saw each object, its reconciled status, and its deletion."""

    reconciled_when: Callable[[JSON], bool] | None = None
    first: dict[str, float] = field(default_factory=dict)
    reconciled: dict[str, float] = field(default_factory=dict)
    deleted: dict[str, float] = field(default_factory=dict)
    present: set[str] = field(default_factory=set)
    events: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def observe(self, kind: str, name: str, obj: JSON, now: float) -> None:
        with self.lock:
            self.events += 1
            if kind == "DELETED":
                self.present.discard(name)
                self.deleted.setdefault(name, now)
                return
            self.present.add(name)
            self.first.setdefault(name, now)
            if (self.reconciled_when is not None and name not in self.reconciled
                    and self.reconciled_when(obj)):
                self.reconciled[name] = now

    def relisted(self, names: set[str], now: float) -> None:
        """After a relist: what was present and is not listed any more was deleted."""
        with self.lock:
            for name in self.present - names:
                self.deleted.setdefault(name, now)
            self.present &= names

    def count(self, which: str, names: set[str]) -> int:
        with self.lock:
            table: Mapping[str, float] = getattr(self, which)
            return sum(1 for name in names if name in table)

    def last(self, which: str, names: set[str]) -> float | None:
        with self.lock:
            table: Mapping[str, float] = getattr(self, which)
            times = [table[name] for name in names if name in table]
        return max(times) if len(times) == len(names) and times else None

    def present_count(self, names: set[str]) -> int:
        with self.lock:
            return len(self.present & names)


class Watcher:
    """List, then watch one collection in a thread, feeding :class:`Seen`; relists on 410."""

    def __init__(self, kube: Kube, path: str, seen: Seen,
                 name_of: Callable[[JSON], str | None]) -> None:
        self.kube = kube
        self.path = path
        self.seen = seen
        self.name_of = name_of
        self.errors = 0
        self.synced = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"watch {path}", daemon=True)

    def start(self) -> Watcher:
        self._thread.start()
        if not self.synced.wait(30):
            raise RuntimeError(f"could not list {self.path}")
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(WATCH_CHUNK + 35)

    def _run(self) -> None:
        version: str | None = None
        while not self._stop.is_set():
            try:
                if version is None:
                    listing = self.kube.get(self.path)
                    now = time.monotonic()
                    names: set[str] = set()
                    for item in listing.get("items") or []:
                        name = self.name_of(item)
                        if name is not None:
                            names.add(name)
                            self.seen.observe("ADDED", name, item, now)
                    self.seen.relisted(names, now)
                    version = str(listing["metadata"]["resourceVersion"])
                    self.synced.set()
                for event in self.kube.watch(self.path, version, timeoutSeconds=WATCH_CHUNK):
                    now = time.monotonic()
                    obj = event.get("object") or {}
                    version = str((obj.get("metadata") or {}).get("resourceVersion") or version)
                    kind = str(event.get("type"))
                    if kind != "BOOKMARK":
                        name = self.name_of(obj)
                        if name is not None:
                            self.seen.observe(kind, name, obj, now)
                    if self._stop.is_set():
                        break
            except ApiError as exc:
                if exc.status == 410:
                    version = None
                else:
                    self.errors += 1
                    time.sleep(0.5)
            except (OSError, urllib3.exceptions.HTTPError, ValueError):
                self.errors += 1
                time.sleep(0.5)


def _connector_name(obj: JSON) -> str | None:
    name = (obj.get("metadata") or {}).get("name")
    return str(name) if name else None


def _owner_connector(obj: JSON) -> str | None:
    """The Connector a Deployment belongs to (its ownerReference)."""
    for owner in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if owner.get("kind") == "Connector":
            return str(owner.get("name"))
    return None


def _status_reconciled(obj: JSON) -> bool:
    generation = (obj.get("metadata") or {}).get("generation")
    observed = (obj.get("status") or {}).get("observedGeneration")
    return generation is not None and observed == generation


# -- the operator process ------------------------------------------------------------------


class Sampler:
    """Samples the operator's process tree (CPU, RSS) in a thread."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.samples: list[procs.Sample] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sampler", daemon=True)

    def start(self) -> Sampler:
        self.samples.append(procs.sample(self.pid))
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_EVERY):
            self.samples.append(procs.sample(self.pid))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def now(self) -> procs.Sample:
        current = procs.sample(self.pid)
        self.samples.append(current)
        return current

    def max_rss_mb(self) -> float:
        return max((s.rss_mb for s in self.samples), default=0.0)


def operator_metrics(operator: OperatorProcess) -> dict[str, float]:
    """The operator's own counters (``/metrics``), summed over labels; {} when unreachable."""
    wanted = ("ferry_operator_reconciles_total", "ferry_operator_reconcile_failures_total",
              "ferry_operator_reconcile_duration_seconds_sum",
              "ferry_operator_reconcile_duration_seconds_count",
              "ferry_operator_status_patches_total", "ferry_operator_deletions_total")
    try:
        text = operator.metrics()
    except (OSError, urllib.error.URLError):
        return {}
    values: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name_labels, _, value = line.rpartition(" ")
        name = name_labels.split("{", 1)[0]
        if name in wanted:
            with contextlib.suppress(ValueError):
                values[name] = values.get(name, 0.0) + float(value)
    return values


def apiserver_requests(kube: Kube) -> dict[str, float]:
    """The API server's ``apiserver_request_total``, as ``"VERB resource[/sub]"`` -> count.

    Taken before and after a phase, the difference says which requests (the operator's, the
    controller-manager's and the bench client's together) the API server's CPU went to.
    """
    try:
        text = kube.text("/metrics")
    except (ApiError, OSError, urllib3.exceptions.HTTPError):
        return {}
    counts: dict[str, float] = {}
    for line in text.splitlines():
        if not line.startswith("apiserver_request_total{"):
            continue
        labels_text, _, value = line[len("apiserver_request_total{"):].rpartition("} ")
        labels = dict(pair.split("=", 1) for pair in labels_text.split(",") if "=" in pair)
        labels = {key: raw.strip('"') for key, raw in labels.items()}
        sub = f"/{labels['subresource']}" if labels.get("subresource") else ""
        key = f"{labels.get('verb', '?')} {labels.get('resource', '?')}{sub}"
        with contextlib.suppress(ValueError):
            counts[key] = counts.get(key, 0.0) + float(value)
    return counts


def _requests_delta(before: Mapping[str, float], after: Mapping[str, float]
                    ) -> dict[str, int]:
    """Requests per kind made between two scrapes, largest first (watches left out)."""
    delta = {key: int(after[key] - before.get(key, 0.0)) for key in after
             if not key.startswith("WATCH")}
    return dict(sorted(((k, v) for k, v in delta.items() if v > 0),
                       key=lambda item: -item[1]))


PY_SPY = Path(sys.executable).parent / "py-spy"


class Profiler:
    """``py-spy record`` attached to the operator for one phase (raw collapsed stacks).

    With ``--idle``: the operator's handlers mostly wait (on Kafka, on the API server), and
    where a handler thread waits is where a reconcile's wall time goes.
    """

    def __init__(self, pid: int, out: Path, rate: int = 25) -> None:
        self.out = out
        self.proc = procs.Proc("py-spy", [str(PY_SPY), "record", "--pid", str(pid), "--format",
                                          "raw", "--rate", str(rate), "--nonblocking", "--idle",
                                          "--threads", "--output", str(out)],
                               out.with_suffix(".log"))

    def stop(self) -> Path:
        self.proc.stop(grace=30)
        return self.out


def profile_summary(path: Path, top: int = 25, within: str = "") -> list[tuple[str, float]]:
    """Share of samples in which each function is on the stack (inclusive), largest first.

    Only frames of Ferry, kopf, the kubernetes client, urllib3, confluent_kafka and json/ssl
    are named; a stack counts once per function however deep it recurses. With ``within``,
    only the stacks with a frame containing it count (``"_reconcile ("``: the handler threads
    in a reconcile), so the shares are of that function's time.
    """
    keep = ("ferry_operator/", "ferry/", "kopf/", "kubernetes/", "urllib3/", "confluent_kafka",
            "/json/", "/ssl.py", "/logging/", "/asyncio/", "aiohttp/", "prometheus_client")
    inclusive: dict[str, int] = {}
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        if within and within not in stack:
            continue
        total += count
        named: set[str] = set()
        for frame in stack.split(";"):
            if any(k in frame for k in keep):
                func, _, where = frame.partition(" (")
                file = where.rstrip(")").rsplit(":", 1)[0]
                short = "/".join(file.split("/")[-2:])
                named.add(f"{func} ({short})")
        for name in named:
            inclusive[name] = inclusive.get(name, 0) + count
    if not total:
        return []
    ranked = sorted(inclusive.items(), key=lambda kv: -kv[1])[:top]
    return [(name, round(100 * n / total, 1)) for name, n in ranked]


# -- Kafka ---------------------------------------------------------------------------------


def configs_end_offset(bootstrap: str) -> int:
    """Records ever written to ``ferry-configs`` (its end offsets), 0 before it exists."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "ferry-bench-scale",
                         "enable.auto.commit": False})
    try:
        topic = consumer.list_topics(CONFIGS_TOPIC, timeout=30).topics.get(CONFIGS_TOPIC)
        if topic is None or topic.error is not None:
            return 0
        total = 0
        for partition in topic.partitions:
            _low, high = consumer.get_watermark_offsets(
                TopicPartition(CONFIGS_TOPIC, partition), timeout=30)
            total += int(high)
        return total
    finally:
        consumer.close()


def units_topics(bootstrap: str, namespace: str) -> int:
    """How many units topics (``ferry-tasks.<ns>.<name>``) of the namespace exist."""
    prefix = protocol.units_topic(f"{namespace}/x")[:-1]
    admin = AdminClient({"bootstrap.servers": bootstrap})
    names = admin.list_topics(timeout=30).topics
    return sum(1 for name in names if name.startswith(prefix))


# -- one count -----------------------------------------------------------------------------


def connector_body(namespace: str, name: str) -> JSON:
    return {
        "apiVersion": "ferry.dev/v1alpha1", "kind": "Connector",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"class": "DataGen", "tasksMax": 1, "replicas": 1, "config": {
            "topic": f"scale-{name}", "records.per.second": "1", "value.shape": "string",
            "value.size": 16}},
    }


def _wait(done: Callable[[], bool], timeout: float, what: str) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if done():
            return True
        time.sleep(0.1)
    say(f"timed out after {timeout:.0f}s waiting for {what}")
    return done()


def _parallel(calls: Sequence[Callable[[], Any]]) -> list[str]:
    """Run the calls from a thread pool, all submitted at once; the errors."""
    errors: list[str] = []
    with concurrent.futures.ThreadPoolExecutor(APPLY_THREADS) as pool:
        for future in [pool.submit(call) for call in calls]:
            try:
                future.result()
            except (ApiError, OSError, urllib3.exceptions.HTTPError) as exc:
                errors.append(str(exc)[:300])
    return errors


def _since(start: float, end: float | None) -> float | None:
    return round(end - start, 2) if end is not None else None


def stack_cpu(pids: Mapping[str, int]) -> dict[str, float]:
    """CPU seconds so far of each stack process (and this benchmark process, ``client``)."""
    cpu = {name: procs.sample(pid).cpu for name, pid in pids.items()}
    cpu["client"] = time.process_time()
    return cpu


def _cpu_delta(before: Mapping[str, float], after: Mapping[str, float]) -> dict[str, float]:
    return {name: round(after[name] - before[name], 2) for name in before if name in after}


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def run_count(kube: Kube, kubeconfig: Path, bootstrap: str, workdir: Path, count: int,
              quick: bool, timeout: float, profile_dir: Path | None = None,
              stack_pids: Mapping[str, int] | None = None) -> JSON:
    """Apply ``count`` Connectors at once with a fresh operator; what was measured."""
    namespace = f"scale-{count}-{uuid.uuid4().hex[:6]}"
    names = {f"gen-{i:04d}" for i in range(count)}
    result: JSON = {"connectors": count, "namespace": namespace, "load_at_start": _load(),
                    "started": datetime.datetime.now().isoformat(timespec="seconds")}
    kube.create("/api/v1/namespaces", {"metadata": {"name": namespace}})
    _wait(lambda: get(kube, f"/api/v1/namespaces/{namespace}/serviceaccounts/default")
          is not None, 60, "the namespace's default service account")

    opdir = workdir / f"operator-{count}"
    opdir.mkdir(parents=True, exist_ok=True)
    operator = OperatorProcess(kubeconfig, bootstrap, namespace, opdir).start()
    watchers: list[Watcher] = []
    sampler: Sampler | None = None
    profiler: Profiler | None = None
    try:
        started = time.monotonic()
        if not _wait(operator.healthy, 90, "the operator to be healthy"):
            raise RuntimeError(f"the operator did not start:\n{operator.tail()}")
        result["operator_startup_seconds"] = round(time.monotonic() - started, 2)
        assert operator.process is not None
        sampler = Sampler(operator.process.pid).start()
        time.sleep(2.0)  # let its status reader catch up and its start-up CPU settle
        idle = sampler.now()

        connectors, deployments = Seen(_status_reconciled), Seen()
        watchers.append(Watcher(kube, connectors_path(namespace), connectors,
                                _connector_name).start())
        watchers.append(Watcher(kube, f"/apis/apps/v1/namespaces/{namespace}/deployments",
                                deployments, _owner_connector).start())
        configs_before = configs_end_offset(bootstrap)

        # -- apply --------------------------------------------------------------------------
        say(f"{count}: applying {count} Connectors in {namespace}")
        if profile_dir is not None:
            profiler = Profiler(operator.process.pid, profile_dir / f"operator-{count}-apply.txt")
            time.sleep(1.0)  # py-spy attaches
        pids = dict(stack_pids or {})
        stack_before = stack_cpu(pids)
        requests_before = apiserver_requests(kube)
        before = sampler.now()
        t0 = time.monotonic()
        path = connectors_path(namespace)
        errors = _parallel([functools.partial(kube.create, path, connector_body(namespace, n))
                            for n in sorted(names)])
        result["apply_seconds"] = round(time.monotonic() - t0, 2)
        result["apply_errors"] = errors[:5]
        _wait(lambda: deployments.count("first", names) == count, timeout,
              f"{count} Deployments")
        _wait(lambda: connectors.count("reconciled", names) == count, timeout,
              f"{count} reconciled statuses")
        after = sampler.now()
        result["stack_cpu_seconds_reconcile"] = _cpu_delta(stack_before, stack_cpu(pids))
        result["apiserver_requests_reconcile"] = _requests_delta(requests_before,
                                                                 apiserver_requests(kube))
        if profiler is not None:
            result["profile_apply"] = str(profiler.stop())
            profiler = None
        result["deployments_seconds"] = _since(t0, deployments.last("first", names))
        result["statuses_seconds"] = _since(t0, connectors.last("reconciled", names))
        result["deployments_created"] = deployments.count("first", names)
        result["statuses_written"] = connectors.count("reconciled", names)
        result["reconciled_all"] = result["statuses_written"] == count
        result["cpu_seconds_reconcile"] = round(after.cpu - before.cpu, 2)
        result["units_topics"] = units_topics(bootstrap, namespace)
        result["configs_records_written"] = configs_end_offset(bootstrap) - configs_before
        result["rss_mb_after_reconcile"] = round(after.rss_mb, 1)
        result["metrics_after_reconcile"] = operator_metrics(operator)
        result["load_after_reconcile"] = _load()
        # Before the apply, for reference: the idle operator's CPU over the same clock.
        result["cpu_seconds_before_apply"] = round(before.cpu - idle.cpu, 2)

        # -- steady state: N connectors in place, nothing changing -------------------------
        quiet = 5.0 if quick else 20.0
        steady_start = sampler.now()
        time.sleep(quiet)
        steady_end = sampler.now()
        result["steady_window_seconds"] = quiet
        result["steady_cpu_percent"] = round(
            100 * (steady_end.cpu - steady_start.cpu) / (steady_end.wall - steady_start.wall), 1)
        patches = operator_metrics(operator).get("ferry_operator_status_patches_total")
        before_patches = result["metrics_after_reconcile"].get(
            "ferry_operator_status_patches_total")
        if patches is not None and before_patches is not None:
            result["steady_status_patches"] = patches - before_patches

        # -- delete -------------------------------------------------------------------------
        say(f"{count}: deleting them")
        configs_before = configs_end_offset(bootstrap)
        if profile_dir is not None:
            profiler = Profiler(operator.process.pid, profile_dir / f"operator-{count}-delete.txt")
            time.sleep(1.0)
        stack_before = stack_cpu(pids)
        requests_before = apiserver_requests(kube)
        before = sampler.now()
        t1 = time.monotonic()
        errors = _parallel([functools.partial(kube.delete, connectors_path(namespace, n))
                            for n in sorted(names)])
        result["delete_request_seconds"] = round(time.monotonic() - t1, 2)
        result["delete_errors"] = errors[:5]
        _wait(lambda: connectors.count("deleted", names) == count, timeout,
              f"{count} Connectors to go")
        _wait(lambda: deployments.count("deleted", names) == count, timeout,
              f"{count} Deployments to go")
        after = sampler.now()
        result["stack_cpu_seconds_delete"] = _cpu_delta(stack_before, stack_cpu(pids))
        result["apiserver_requests_delete"] = _requests_delta(requests_before,
                                                              apiserver_requests(kube))
        if profiler is not None:
            result["profile_delete"] = str(profiler.stop())
            profiler = None
        result["delete_seconds"] = _since(t1, connectors.last("deleted", names))
        result["deployments_gone_seconds"] = _since(t1, deployments.last("deleted", names))
        result["deleted_all"] = connectors.count("deleted", names) == count
        result["cpu_seconds_delete"] = round(after.cpu - before.cpu, 2)
        result["units_topics_after_delete"] = units_topics(bootstrap, namespace)
        result["configs_records_written_on_delete"] = (configs_end_offset(bootstrap)
                                                       - configs_before)
        result["metrics_end"] = operator_metrics(operator)

        # -- the operator's totals ----------------------------------------------------------
        hwm = procs.peak_rss_mb(operator.process.pid)
        result["peak_rss_mb"] = round(max(hwm, sampler.max_rss_mb()), 1)
        result["peak_rss_mb_sampled"] = round(sampler.max_rss_mb(), 1)
        result["cpu_seconds_total"] = round(after.cpu, 2)
        result["watch_errors"] = sum(w.errors for w in watchers)
        result["load_at_end"] = _load()
        result["goal"] = {
            "reconciled_within_60s": (result["statuses_seconds"] is not None
                                      and result["statuses_seconds"] <= GOAL_SECONDS),
            "rss_under_250mb": result["peak_rss_mb"] < GOAL_RSS_MB}
        warnings = [line for line in operator.tail(2000).splitlines()
                    if " WARNING " in line or " ERROR " in line]
        result["operator_warnings"] = len(warnings)
        result["operator_warning_examples"] = warnings[:3]
    finally:
        if profiler is not None:
            profiler.stop()
        if sampler is not None:
            sampler.stop()
        operator.stop()
        for watcher in watchers:
            watcher.stop()
        with contextlib.suppress(ApiError, OSError, urllib3.exceptions.HTTPError):
            kube.delete(f"/api/v1/namespaces/{namespace}")
    return result


# -- the whole case ------------------------------------------------------------------------


@contextlib.contextmanager
def _stack(workdir: Path, bootstrap: str | None
           ) -> Iterator[tuple[str, Path, dict[str, int]]]:
    """Kafka (unless given) and the control plane; their bootstrap, kubeconfig and pids."""
    pids: dict[str, int] = {}
    with contextlib.ExitStack() as stack:
        if bootstrap is None:
            say("starting Kafka ...")
            broker = stack.enter_context(KafkaBroker(workdir / "kafka"))
            bootstrap = broker.bootstrap_servers
            if broker.pid is not None:
                pids["kafka"] = broker.pid
        say("starting the control plane (etcd, kube-apiserver, kube-controller-manager) ...")
        plane = stack.enter_context(ControlPlane(workdir / "controlplane"))
        with contextlib.suppress(OSError, ValueError, KeyError):
            state = json.loads((plane.workdir / "controlplane.json").read_text())
            pids.update({str(s["name"]): int(s["pid"]) for s in state["services"]})
        say(f"Kafka at {bootstrap}, Kubernetes API at {plane.server}")
        yield bootstrap, plane.kubeconfig, pids


def run_operator_scale(counts: Sequence[int] = DEFAULT_COUNTS, quick: bool = False,
                       bootstrap: str | None = None, timeout: float | None = None,
                       keep: bool = False, profile_dir: Path | None = None) -> list[JSON]:
    """Case 6 for each count, on one Kafka (started unless ``bootstrap``) and control plane.

    Every count gets a fresh namespace and operator process; the control plane and Kafka are
    shared. Never raises for a slow operator: a phase that times out leaves its time None.
    With ``profile_dir``, py-spy records the operator during the apply and the delete phase
    (which slows it down: profile runs are for finding hot spots, not for the numbers).
    """
    if quick:
        counts = counts or QUICK_COUNTS
    wait = timeout if timeout is not None else (60.0 if quick else 300.0)
    workdir = Path(tempfile.mkdtemp(prefix="ferry-operator-scale-"))
    results: list[JSON] = []
    try:
        with _stack(workdir, bootstrap) as (servers, kubeconfig, pids):
            kube = Kube(api_client_from_kubeconfig(str(kubeconfig)))
            try:
                apply_crd(kube)
                for count in counts:
                    result = run_count(kube, kubeconfig, servers, workdir, count, quick, wait,
                                       profile_dir, pids)
                    say(f"{count}: " + json.dumps({k: v for k, v in result.items()
                                                    if not isinstance(v, (dict, list))}))
                    results.append(result)
            finally:
                kube.api_client.close()
    finally:
        if keep:
            say(f"work directory kept at {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return results


def _cell(value: Any, digits: int = 1) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def markdown_table(results: Sequence[Mapping[str, Any]]) -> str:
    """One row per count: the issue's measurements (times from the first apply)."""
    header = ("| Connectors | apply s | all Deployments s | all statuses s | delete s "
              "(finalizers done) | Deployments gone s | peak RSS MB | CPU s reconcile | "
              "CPU s delete | idle CPU % (N in place) | kube-apiserver CPU s reconcile | "
              "units topics | load (1 min) |")
    rows = [header, "|" + "---:|" * 13]
    for r in results:
        rows.append("| " + " | ".join([
            str(r.get("connectors")),
            _cell(r.get("apply_seconds")),
            _cell(r.get("deployments_seconds")),
            _cell(r.get("statuses_seconds")),
            _cell(r.get("delete_seconds")),
            _cell(r.get("deployments_gone_seconds")),
            _cell(r.get("peak_rss_mb"), 0),
            _cell(r.get("cpu_seconds_reconcile")),
            _cell(r.get("cpu_seconds_delete")),
            _cell(r.get("steady_cpu_percent")),
            _cell((r.get("stack_cpu_seconds_reconcile") or {}).get("kube-apiserver")),
            f"{r.get('units_topics')} → {r.get('units_topics_after_delete')}",
            _cell((r.get("load_at_start") or [None])[0], 2),
        ]) + " |")
    return "\n".join(rows)


def machine() -> JSON:
    return {"cpus": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version(), "load_average": _load()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.operator_scale", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--counts", default=None,
                        help="comma-separated Connector counts (default 100,500; quick: 5)")
    parser.add_argument("--quick", action="store_true", help="5 Connectors, short waits")
    parser.add_argument("--out", type=Path, default=None,
                        help="result JSON (default bench/results/<date>-operator-scale.json)")
    parser.add_argument("--timeout", type=float, default=None,
                        help="seconds to wait for each phase (default 300; quick: 60)")
    parser.add_argument("--bootstrap-servers", default=None,
                        help="use this Kafka instead of starting one")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--profile", type=Path, default=None, metavar="DIR",
                        help="py-spy the operator during apply and delete into DIR (slower)")
    args = parser.parse_args(argv)
    if args.profile is not None:
        if not PY_SPY.exists():
            parser.error(f"--profile needs {PY_SPY} (pip install -e '.[bench]')")
        args.profile.mkdir(parents=True, exist_ok=True)
    counts: Sequence[int] = (tuple(int(c) for c in args.counts.split(",") if c.strip())
                             if args.counts else (QUICK_COUNTS if args.quick else DEFAULT_COUNTS))
    began = time.monotonic()
    started = datetime.datetime.now().isoformat(timespec="seconds")
    info = machine()
    results = run_operator_scale(counts, args.quick, args.bootstrap_servers, args.timeout,
                                 args.keep, args.profile)
    today = datetime.date.today().isoformat()
    out: Path = args.out or RESULTS / (f"{today}-operator-scale"
                                       f"{'-quick' if args.quick else ''}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    document = {"case": "operator-scale", "quick": args.quick, "counts": list(counts),
                "started": started, "took_seconds": round(time.monotonic() - began, 1),
                "machine": {**info, "load_average_at_end": _load()},
                "goal": {"reconciled_within_seconds": GOAL_SECONDS, "rss_mb": GOAL_RSS_MB},
                "results": results}
    out.write_text(json.dumps(document, indent=2) + "\n")
    print(markdown_table(results))
    for result in results:
        for phase in ("reconcile", "delete"):
            requests = result.get(f"apiserver_requests_{phase}") or {}
            if requests:
                top = ", ".join(f"{key} {count}" for key, count in list(requests.items())[:12])
                print(f"\nAPI requests, {result['connectors']} Connectors, {phase}: {top}")
    for result in results:
        for phase, within in (("apply", "_reconcile ("), ("delete", "delete (")):
            if result.get(f"profile_{phase}"):
                print(f"\npy-spy, {result['connectors']} Connectors, {phase}: % of the "
                      f"samples in {within.strip(' (')} with the function on the stack:")
                for name, share in profile_summary(Path(result[f"profile_{phase}"]),
                                                   within=within):
                    print(f"  {share:5.1f}%  {name}")
    print(f"\n{len(results)} count(s) in {document['took_seconds']}s; raw data: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
