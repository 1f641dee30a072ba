"""/metrics merges what task processes report into one family per name."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from ferry.runtime.metrics import MergedRegistry, ferry_families


def _child(task: str, put: int) -> CollectorRegistry:
    """A task process's registry: its own counters, as the worker's would be."""
    registry = CollectorRegistry()
    Counter("ferry_sink_records_put", "put", ("connector", "task"),
            registry=registry).labels("ns/c", task).inc(put)
    Gauge("ferry_child_only", "only in children", ("task",), registry=registry).labels(task).set(1)
    Counter("python_other", "not Ferry's", registry=registry).inc()
    return registry


def _parsed(registry: MergedRegistry) -> dict[str, list[tuple[dict[str, str], float]]]:
    text = generate_latest(registry).decode()  # type: ignore[arg-type]
    families = list(text_string_to_metric_families(text))
    names = [f.name for f in families]
    assert len(names) == len(set(names)), f"a family twice: {names}"
    return {f.name: [(s.labels, s.value) for s in f.samples if s.name.endswith(("_total", "only"))]
            for f in families}


def test_reported_samples_join_the_family_of_the_same_name() -> None:
    local = CollectorRegistry()
    Counter("ferry_sink_records_put", "put", ("connector", "task"),
            registry=local).labels("ns/c", "0").inc(5)
    merged = MergedRegistry(local)
    merged.report("ns/c-1", ferry_families(_child("1", 7)))
    merged.report("ns/c-2", ferry_families(_child("2", 11)))

    families = _parsed(merged)
    put = {labels["task"]: value for labels, value in families["ferry_sink_records_put"]}
    assert put == {"0": 5.0, "1": 7.0, "2": 11.0}
    assert sorted(labels["task"] for labels, _ in families["ferry_child_only"]) == ["1", "2"]
    assert "python_other" not in families


def test_a_new_report_replaces_the_old_and_scrapes_do_not_pile_up() -> None:
    merged = MergedRegistry(CollectorRegistry())
    merged.report("ns/c-1", ferry_families(_child("1", 7)))
    _parsed(merged)
    merged.report("ns/c-1", ferry_families(_child("1", 9)))
    for _ in range(3):
        families = _parsed(merged)
    assert families["ferry_sink_records_put"] == [({"connector": "ns/c", "task": "1"}, 9.0)]
    assert families["ferry_child_only"] == [({"task": "1"}, 1.0)]
