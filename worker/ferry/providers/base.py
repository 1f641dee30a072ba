"""The config provider contract: look keys up at a path, fail without revealing values."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Set

from ferry.api.errors import ConnectError


class ProviderError(ConnectError):
    """A lookup that failed (unreadable file, bad path). The message never holds a value."""


class ConfigProvider(ABC):
    """Resolves ``${name:path:key}`` references, in the model of Kafka's ``ConfigProvider``.

    One instance serves every reference to its name; ``configure`` receives the
    ``config.providers.<name>.param.*`` settings once, before any ``get``.
    """

    def configure(self, params: Mapping[str, str]) -> None:  # noqa: B027 - optional hook
        """Receive the provider's parameters."""

    @abstractmethod
    def get(self, path: str, keys: Set[str]) -> dict[str, str]:
        """The values of those ``keys`` found at ``path`` ("" when the reference has none).

        Leave a key out when it does not exist; raise ProviderError when the path itself
        cannot be read. Messages name paths and keys, never values.
        """
