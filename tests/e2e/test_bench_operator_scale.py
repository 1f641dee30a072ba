"""The operator-scale benchmark (case 6) still runs: a few Connectors, no speed thresholds.

``bench.operator_scale`` starts its own control plane (the session's Kafka is reused), an
operator, applies the Connectors at once and deletes them; every phase must have been
observed, and everything it made must be gone.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e


@pytest.mark.timeout(600)
def test_operator_scale_quick_measures_every_phase(bootstrap: str, control_plane: object) -> None:
    # control_plane: the binaries are built (or a cold build is timed) by the session fixture.
    from bench.operator_scale import markdown_table, run_operator_scale

    results = run_operator_scale([3], quick=True, bootstrap=bootstrap)
    assert [r["connectors"] for r in results] == [3]
    result = results[0]
    for phase in ("deployments_seconds", "statuses_seconds", "delete_seconds"):
        assert isinstance(result.get(phase), float), (phase, result)
    assert result["units_topics"] == 3 and result["units_topics_after_delete"] == 0, result
    assert result["peak_rss_mb"] > 0
    assert "| 3 |" in markdown_table(results)
