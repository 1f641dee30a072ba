"""``python -m bench``: every case, every system, several repetitions, one local broker.

Writes ``bench/results/<date>.json``, PNG charts next to it and (full mode) regenerates the
results section of ``docs/benchmarks.md``. ``--quick`` runs every case once on small data.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench import report
from bench.cases import CASES, Case, by_id
from bench.data import line_file, payload_bytes, preload_topic
from bench.measure import RunResult, run_once
from bench.systems import SYSTEMS, RunSpec, System, by_name

ROOT = Path(__file__).resolve().parents[1]
# The systems of every case that names none; cases naming systems run their quick_systems.
QUICK_SYSTEMS = ["ferry", "connect", "raw"]


@contextlib.contextmanager
def broker(bootstrap: str | None, workdir: Path) -> Iterator[str]:
    if bootstrap:
        yield bootstrap
        return
    from ferry_stack.kafka import KafkaBroker
    from ferry_stack.process import ServiceError

    kafka = KafkaBroker(workdir / "kafka", heap="1g")
    try:
        kafka.start()
    except ServiceError:
        # ferry_stack formats storage with a random cluster id, which can start with "-"
        # and then reads as an option (1 time in 64): try once more with a fresh log dir.
        kafka = KafkaBroker(workdir / "kafka-retry", heap="1g")
        kafka.start()
    try:
        yield kafka.bootstrap_servers
    finally:
        kafka.stop()


_ADMINS: dict[str, Any] = {}


def _admin(bootstrap: str) -> Any:
    # Kept alive: a collected AdminClient fails its pending futures.
    from confluent_kafka.admin import AdminClient

    if bootstrap not in _ADMINS:
        _ADMINS[bootstrap] = AdminClient({"bootstrap.servers": bootstrap})
    return _ADMINS[bootstrap]


def create_topic(bootstrap: str, topic: str, partitions: int) -> None:
    from confluent_kafka.cimpl import NewTopic

    admin = _admin(bootstrap)
    for future in admin.create_topics([NewTopic(topic, partitions, 1)]).values():
        future.result(timeout=30)


def delete_topics(bootstrap: str, topics: list[str]) -> None:
    admin = _admin(bootstrap)
    existing = set(admin.list_topics(timeout=10).topics)
    doomed = [t for t in topics if t in existing]
    if not doomed:
        return
    for future in admin.delete_topics(doomed, operation_timeout=30).values():
        with contextlib.suppress(Exception):
            future.result(timeout=30)


def _log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def run_case(case: Case, systems: list[System], reps: int, records: int, bootstrap: str,
             workdir: Path, out: Path, quick: bool = False,
             failover_wait: float | None = None) -> list[RunResult]:
    if case.kind == "failover":
        from bench import failover
        from bench.settings import FAILOVER, FAILOVER_QUICK

        settings = failover.with_settings(FAILOVER_QUICK if quick else FAILOVER, failover_wait)
        clusters = [s for s in systems if isinstance(s, failover.FailoverSystem)]
        return list(failover.run_case(clusters, reps, bootstrap, workdir, settings,
                                      uuid.uuid4().hex[:6], _log))
    results: list[RunResult] = []
    nbytes = payload_bytes(case, records)
    tag = uuid.uuid4().hex[:6]
    sink_topic = f"bench-{case.id}-{tag}"
    input_file: Path | None = None
    if case.kind == "source":
        input_file = line_file(workdir, case.data, records)
    else:
        _log(f"{case.id}: preloading {records:,} records into {sink_topic}")
        create_topic(bootstrap, sink_topic, case.partitions)
        preload_topic(bootstrap, sink_topic, case, records, workdir)
    timeout = 90 + records / 3000
    try:
        for rep in range(reps):
            for system in systems:
                if system.max_reps and rep >= system.max_reps:
                    continue
                name = f"bench-{case.id}-{system.name}-{rep}-{tag}"
                rundir = workdir / "runs" / name
                rundir.mkdir(parents=True)
                if case.kind == "source":
                    assert input_file is not None
                    topic, path = name, input_file
                    create_topic(bootstrap, topic, case.partitions)
                else:
                    topic, path = sink_topic, rundir / "output.txt"
                spec = RunSpec(case, bootstrap, topic, path, name, rundir)
                _log(f"{case.id} rep {rep + 1}/{reps}: {system.name} ({records:,} records)")
                result = run_once(system, spec, rep, records, nbytes, timeout)
                if result.ok:
                    _log(f"  {result.records_per_s:,.0f} rec/s, {result.mb_per_s:.1f} MB/s, "
                         f"{result.cpu_s_per_m:.1f} CPU s/M, {result.peak_rss_mb:.0f} MB RSS, "
                         f"start-up {result.startup_s:.1f}s, seen {result.records_seen:,}")
                else:
                    _log(f"  FAILED: {result.error.splitlines()[0] if result.error else '?'}")
                results.append(result)
                if (rundir / "profile.txt").exists():
                    from bench.profile import summarize_file

                    kept = (out / "profiles" /
                            f"{case.id}-{system.name}-{rep}-{system.profile_rate}hz.txt")
                    kept.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy(rundir / "profile.txt", kept)
                    print(summarize_file(kept, result.records), flush=True)
                if case.kind == "source":
                    delete_topics(bootstrap, [topic])
                (rundir / "output.txt").unlink(missing_ok=True)
                time.sleep(1)
    finally:
        if case.kind == "sink":
            delete_topics(bootstrap, [sink_topic])
    return results


def _quick_names(cases: list[Case]) -> list[str]:
    names = list(QUICK_SYSTEMS)
    for case in cases:
        for name in case.quick_systems or case.systems:
            if name not in names:
                names.append(name)
    return names


def _operator_scale_counts(given: str | None, quick: bool, cases_chosen: bool,
                           profiling: bool) -> list[int]:
    """Case 6's Connector counts: as given, else 100 and 500 on a full run of every case."""
    if given is not None:
        return [int(c) for c in given.split(",") if c.strip() and int(c) > 0]
    if quick or cases_chosen or profiling:
        return []
    return [100, 500]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="every case once on small data (a smoke check, ~3-4 minutes)")
    parser.add_argument("--reps", type=int, default=None, help="repetitions (default 3; quick 1)")
    parser.add_argument("--cases", default="", help="comma-separated case ids (default all)")
    parser.add_argument("--systems", default="",
                        help=f"comma-separated systems (default all; quick {QUICK_SYSTEMS})")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every record count")
    parser.add_argument("--bootstrap-servers", default=None,
                        help="use this broker instead of starting one")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results",
                        help="where the JSON and charts go (default %(default)s)")
    parser.add_argument("--doc", type=Path, default=None,
                        help="Markdown file whose results section to regenerate "
                             "(default docs/benchmarks.md in full mode, none with --quick)")
    parser.add_argument("--no-doc", action="store_true")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--failover-wait", type=float, default=None, metavar="S",
                        help="case 5: how long past the session timeout to wait for every "
                             "task to run again (default 30; quick 15). Kafka Connect's "
                             "defaults hold a departed worker's tasks for 300 s: "
                             "--failover-wait 330 measures that")
    parser.add_argument("--operator-scale", default=None, metavar="COUNTS",
                        help="case 6: Connector counts to apply at once on the test control "
                             "plane (default 100,500 when every case runs in full mode; "
                             "'0' skips it; quick mode skips it unless given)")
    parser.add_argument("--profile", type=int, default=0, metavar="HZ",
                        help="run Ferry under py-spy at HZ samples/s; profiles are kept in "
                             "<out>/profiles/ and summarized (implies --no-doc)")
    args = parser.parse_args(argv)

    reps = args.reps or (1 if args.quick else 3)
    cases = by_id(args.cases.split(",")) if args.cases else list(CASES)
    explicit = bool(args.systems)
    names = args.systems.split(",") if args.systems else (
        _quick_names(cases) if args.quick else [s.name for s in SYSTEMS])
    systems = by_name(names)
    if args.profile:
        args.no_doc = True
        for system in systems:
            system.profile_rate = args.profile
    doc = None if args.no_doc else (args.doc or (None if args.quick else
                                                 ROOT / "docs" / "benchmarks.md"))
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="ferry-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    started = dt.datetime.now()
    stamp = started.strftime("%Y-%m-%d") + ("-quick" if args.quick else "")
    env = report.environment()
    env["load_avg_start"] = list(report.load_avg())

    available: list[System] = []
    skipped: list[dict[str, str]] = []
    for system in systems:
        ok, why = system.available()
        if ok:
            available.append(system)
        else:
            skipped.append({"system": system.name, "reason": why})
            _log(f"skipping system {system.name}: {why}")
    results: list[RunResult] = []
    operator_results: list[dict[str, Any]] = []
    try:
        with broker(args.bootstrap_servers, workdir) as bootstrap:
            _log(f"broker at {bootstrap}; work dir {workdir}")
            for case in cases:
                runnable = [s for s in available if s.supports(case)]
                if args.quick and not explicit:
                    wanted = case.quick_systems or case.systems or QUICK_SYSTEMS
                    runnable = [s for s in runnable if s.name in wanted]
                if case.requires or not runnable:
                    why = f"needs {case.requires}" if case.requires else "no system supports it"
                    skipped.append({"case": case.id, "reason": why})
                    _log(f"skipping case {case.id}: {why}")
                    continue
                records = case.records_for(args.quick, args.scale)
                results.extend(run_case(case, runnable, reps, records, bootstrap, workdir,
                                         args.out, args.quick, args.failover_wait))
            scale_counts = _operator_scale_counts(args.operator_scale, args.quick,
                                                  bool(args.cases), bool(args.profile))
            if scale_counts:
                from bench import operator_scale

                _log(f"case 6, operator scale: {scale_counts} Connectors")
                operator_results = operator_scale.run_operator_scale(
                    scale_counts, args.quick, bootstrap=bootstrap)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    env["load_avg_end"] = list(report.load_avg())
    env["duration_s"] = round((dt.datetime.now() - started).total_seconds(), 1)

    document = report.build(results, cases, systems, skipped, env, quick=args.quick,
                            reps=reps, scale=args.scale, started=started)
    document["operator_scale"] = operator_results
    args.out.mkdir(parents=True, exist_ok=True)
    json_path = args.out / f"{stamp}.json"
    json_path.write_text(json.dumps(document, indent=1))
    charts = report.charts(document, args.out, stamp)
    document["charts"] = [str(p) for p in charts]
    json_path.write_text(json.dumps(document, indent=1))
    _log(f"results: {json_path}")
    if doc is not None:
        report.update_doc(doc, document, json_path, charts)
        _log(f"updated {doc}")
    print(report.table(document))
    failed = [r for r in results if not r.ok]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
