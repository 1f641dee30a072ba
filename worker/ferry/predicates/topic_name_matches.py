"""TopicNameMatches: true when the whole topic name matches ``pattern``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

from ferry.api.config import ConfigDef, ConfigType, Importance
from ferry.api.errors import ConfigError
from ferry.api.records import R
from ferry.api.transform import Predicate
from ferry.transforms._support import java_regex

_CACHE_LIMIT = 1024


class TopicNameMatches(Predicate[R]):
    """Kafka Connect's ``TopicNameMatches`` (Java ``matches()``: the entire name).

    Example::

        predicates=isOrders
        predicates.isOrders.type=org.apache.kafka.connect.transforms.predicates.TopicNameMatches
        predicates.isOrders.pattern=orders-.*
    """

    config_def: ClassVar[ConfigDef] = ConfigDef().define(
        "pattern", ConfigType.STRING, importance=Importance.MEDIUM,
        doc="A Java regular expression for matching against the name of a record's topic.")

    def configure(self, config: Mapping[str, Any]) -> None:
        pattern = self.config_def.parse(config)["pattern"]
        try:
            self._pattern = java_regex(pattern)
        except re.error as exc:
            raise ConfigError({"pattern": f"not a valid regular expression: {exc}"}) from None
        # Topics are few: remember each one's answer.
        self._answers: dict[str, bool] = {}

    def test(self, record: R) -> bool:
        answer = self._answers.get(record.topic)
        if answer is None:
            answer = self._pattern.fullmatch(record.topic) is not None
            if len(self._answers) >= _CACHE_LIMIT:
                self._answers.clear()
            self._answers[record.topic] = answer
        return answer
