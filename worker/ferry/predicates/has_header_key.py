"""HasHeaderKey: true when the record has at least one header called ``name``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from ferry.api.config import ConfigDef, ConfigType, Importance, non_empty
from ferry.api.records import R
from ferry.api.transform import Predicate


class HasHeaderKey(Predicate[R]):
    """Kafka Connect's ``HasHeaderKey``.

    Example::

        predicates=traced
        predicates.traced.type=org.apache.kafka.connect.transforms.predicates.HasHeaderKey
        predicates.traced.name=trace-id
    """

    config_def: ClassVar[ConfigDef] = ConfigDef().define(
        "name", ConfigType.STRING, importance=Importance.MEDIUM,
        doc="The header name.", validator=non_empty)

    def configure(self, config: Mapping[str, Any]) -> None:
        self._name: str = self.config_def.parse(config)["name"]

    def test(self, record: R) -> bool:
        name = self._name
        return any(key == name for key, _ in record.headers)
