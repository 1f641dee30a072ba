"""Exceptions with intent: what failed, and whether trying again can help."""

from __future__ import annotations


class ConnectError(Exception):
    """Base of every error a connector, task, converter or transform raises on purpose."""


class RetriableError(ConnectError):
    """A transient failure (a timeout, a throttled call): the runtime retries with backoff."""


class DataError(ConnectError):
    """A record that cannot be converted or transformed; retrying it gives the same result."""


class ConfigError(ConnectError):
    """A configuration that failed validation, with one message per offending field."""

    def __init__(self, problems: dict[str, str] | str) -> None:
        self.problems: dict[str, str] = (
            {"": problems} if isinstance(problems, str) else dict(problems)
        )
        super().__init__(self.render())

    def render(self) -> str:
        return "; ".join(f"{k}: {v}" if k else v for k, v in self.problems.items())
