from __future__ import annotations

import io
import json
import logging

from ferry.runtime.logging_context import ContextFilter, JsonFormatter, task_context


def test_json_log_lines_carry_connector_and_task() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("ferry.test.json")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        with task_context("shop/orders", 2):
            logger.warning("moved %d records", 5)
        logger.warning("outside")
    finally:
        logger.removeHandler(handler)
    inside, outside = (json.loads(line) for line in stream.getvalue().splitlines())
    assert inside["message"] == "moved 5 records"
    assert (inside["connector"], inside["task"], inside["level"]) == ("shop/orders", "2",
                                                                       "WARNING")
    assert inside["ts"].endswith("Z")
    assert (outside["connector"], outside["task"]) == ("", "")
