"""The benchmark harness still runs: `python -m bench --quick` on tiny data, no speed thresholds.

It runs every case the harness can run today against the session's broker, with every system
of the quick mode (Ferry standalone, Kafka Connect standalone from Maven Central, the raw
confluent-kafka loop; case 4 on both frameworks' exactly-once systems, case 5 on three Ferry
workers), and checks that the results JSON names each of them with a positive throughput and
every record delivered, and for case 5 both recoveries measured with no sequence gap.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(600)
def test_quick_bench_runs_every_case_and_system(tmp_path: Path, bootstrap: str) -> None:
    # Imported here: `bench` is a top-level directory, not one of ruff's source roots.
    from bench.cases import CASES
    from bench.run import QUICK_SYSTEMS

    out = tmp_path / "results"
    argv = [sys.executable, "-m", "bench", "--quick", "--scale", "0.25",
            "--bootstrap-servers", bootstrap, "--out", str(out), "--no-doc",
            "--workdir", str(tmp_path / "work")]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=580,
                          check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]

    [result_file] = out.glob("*-quick.json")
    document = json.loads(result_file.read_text())
    assert document["mode"] == "quick"
    runnable = [c.id for c in CASES if not c.requires]
    assert [c["id"] for c in document["cases"]] == [c.id for c in CASES]
    assert {s["case"] for s in document["skipped"] if "case" in s} == {
        c.id for c in CASES if c.requires}
    summary = {(row["case"], row["system"]): row for row in document["summary"]}
    systems = {c.id: c.quick_systems or c.systems or tuple(QUICK_SYSTEMS) for c in CASES}
    for case in runnable:
        for system in systems[case]:
            row = summary.get((case, system))
            assert row is not None, f"{case}/{system} missing from {result_file}"
            assert row["ok"] == row["runs"] == 1, f"{case}/{system} failed"
            assert row["records_per_s"] > 0 and row["mb_per_s"] > 0
            assert row["cpu_s_per_m"] >= 0 and row["peak_rss_mb"] > 0
    for run in document["runs"]:
        assert run["records_seen"] >= run["records"], f"{run['case']}/{run['system']} lost data"
        if run["case"] == "failover":
            assert not run["extra"]["gaps"]
            assert [p["signal"] for p in run["extra"]["phases"]] == ["SIGKILL", "SIGTERM"]
            assert all(p["all_running_s"] is not None for p in run["extra"]["phases"])
    charts = [Path(p) for p in document["charts"]]
    if "charts_skipped" not in document:  # matplotlib is optional (the bench extra)
        assert charts and all(p.exists() and p.stat().st_size > 0 for p in charts)
