"""Log records carry the connector and task they come from; JSON or text output."""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import sys
import time
from collections.abc import Callable, Iterator

_connector: contextvars.ContextVar[str] = contextvars.ContextVar("connector", default="")
_task: contextvars.ContextVar[str] = contextvars.ContextVar("task", default="")
# The last configure_logging() arguments, for task processes to log the same way.
_settings: tuple[str, str] = ("text", "INFO")


@contextlib.contextmanager
def task_context(connector_id: str, index: int | None) -> Iterator[None]:
    tokens = (_connector.set(connector_id), _task.set("" if index is None else str(index)))
    try:
        yield
    finally:
        _connector.reset(tokens[0])
        _task.reset(tokens[1])


class ContextFilter(logging.Filter):
    """Adds ``connector`` and ``task`` to every record and scrubs secret values from it."""

    def __init__(self, scrub: Callable[[str], str] = lambda s: s) -> None:
        super().__init__()
        self.scrub = scrub

    def filter(self, record: logging.LogRecord) -> bool:
        record.connector = _connector.get()
        record.task = _task.get()
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        cleaned = self.scrub(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        if record.exc_text:
            record.exc_text = self.scrub(record.exc_text)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "connector": getattr(record, "connector", ""),
            "task": getattr(record, "task", ""),
        }
        if record.exc_text:
            data["exception"] = record.exc_text
        return json.dumps(data)


TEXT_FORMAT = "%(asctime)s %(levelname)s [%(connector)s%(task_sep)s%(task)s] %(name)s: %(message)s"


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        record.task_sep = "#" if getattr(record, "task", "") else ""
        return super().format(record)


def configure_logging(fmt: str = "text", level: str = "INFO",
                      scrub: Callable[[str], str] = lambda s: s) -> ContextFilter:
    """Set up the root logger; returns the filter so its scrubber can be updated later."""
    global _settings
    _settings = (fmt, level)
    handler = logging.StreamHandler(sys.stderr)
    context = ContextFilter(scrub)
    handler.addFilter(context)
    handler.setFormatter(JsonFormatter() if fmt == "json" else _TextFormatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    return context


def logging_settings() -> tuple[str, str]:
    """The (format, level) the process was configured with."""
    return _settings
