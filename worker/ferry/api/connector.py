"""Connectors: the plugin class that configures a job and splits it into task configs.

Lifecycle, all on the worker thread that holds the connector unit::

    connector = MyConnector()
    connector.initialize(context)
    connector.start(config)            # once, with the resolved config
    connector.task_configs(max_tasks)  # whenever the runtime needs task configs
    connector.stop()                   # once, before the instance is dropped

Only :meth:`Connector.task_class` and :meth:`Connector.task_configs` must be written;
``validate`` derives from ``config_def``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from ferry.api.config import ConfigDef

if TYPE_CHECKING:
    from ferry.api.task import SinkTask, SourceTask, Task


class ConnectorContext:
    """What a connector may ask of the runtime. The runtime passes a live implementation."""

    def request_task_reconfiguration(self) -> None:
        """Ask the runtime to call ``task_configs`` again and restart tasks if they changed."""

    def raise_error(self, error: Exception) -> None:
        """Fail the connector from a background thread of its own, with this error's trace."""


class Connector(ABC):
    """Base of source and sink connectors."""

    config_def: ClassVar[ConfigDef] = ConfigDef()
    version: ClassVar[str] = "0.1.0"

    def __init__(self) -> None:
        self.context: ConnectorContext = ConnectorContext()

    def initialize(self, context: ConnectorContext) -> None:
        self.context = context

    def start(self, config: Mapping[str, Any]) -> None:  # noqa: B027 - optional hook
        """Receive the connector's config (secrets resolved) before any other call."""

    @classmethod
    @abstractmethod
    def task_class(cls) -> type[Task]:
        """The task class that runs this connector's work."""

    @abstractmethod
    def task_configs(self, max_tasks: int) -> list[dict[str, Any]]:
        """At most ``max_tasks`` configs, one per task to run."""

    def stop(self) -> None:  # noqa: B027 - optional hook
        """Release resources; the instance is not used again."""

    @classmethod
    def validate(cls, config: Mapping[str, Any]) -> dict[str, str]:
        """One message per invalid key; empty when the config is valid."""
        return cls.config_def.validate(config)


class SourceConnector(Connector):
    """A connector whose tasks read from an external system into Kafka.

    ``exactly_once_support`` says whether its tasks can run with exactly-once delivery
    (their offsets fully determine what they emit next).
    """

    exactly_once_support: ClassVar[bool] = False

    @classmethod
    @abstractmethod
    def task_class(cls) -> type[SourceTask]:
        """The source task class."""


class SinkConnector(Connector):
    """A connector whose tasks write records from Kafka into an external system."""

    @classmethod
    @abstractmethod
    def task_class(cls) -> type[SinkTask]:
        """The sink task class."""
