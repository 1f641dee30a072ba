"""RegexRouter: rename the topic when the whole topic name matches a regular expression.

Kafka Connect's ``RegexRouter``: ``regex`` must match the entire topic (Java's
``matches()``), and ``replacement`` may refer to groups as ``$1`` or ``${name}``, with ``\\$``
for a literal dollar sign. Sink records keep their original topic for offset commits.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

from ferry.api.config import ConfigDef, ConfigType, Importance
from ferry.api.errors import ConfigError
from ferry.api.records import R
from ferry.api.transform import Transformation
from ferry.transforms._support import java_regex

_CACHE_LIMIT = 1024


def java_replacement(replacement: str, groups: int) -> str:
    """Turn a Java ``Matcher.replaceAll`` replacement into a Python ``match.expand`` template."""
    out: list[str] = []
    i = 0
    while i < len(replacement):
        char = replacement[i]
        if char == "\\":
            if i + 1 >= len(replacement):
                raise ValueError("character to be escaped is missing")
            literal = replacement[i + 1]
            out.append("\\\\" if literal == "\\" else literal)
            i += 2
        elif char == "$":
            if replacement.startswith("{", i + 1):
                end = replacement.find("}", i + 2)
                if end < 0:
                    raise ValueError("named capturing group is missing trailing '}'")
                out.append(f"\\g<{replacement[i + 2:end]}>")
                i = end + 1
                continue
            # Java reads digits greedily while the number stays a valid group.
            j = i + 1
            if j >= len(replacement) or not replacement[j].isdigit():
                raise ValueError("Illegal group reference")
            number = int(replacement[j])
            j += 1
            while j < len(replacement) and replacement[j].isdigit() \
                    and number * 10 + int(replacement[j]) <= groups:
                number = number * 10 + int(replacement[j])
                j += 1
            if number > groups:
                raise ValueError(f"No group {number}")
            out.append(f"\\g<{number}>")
            i = j
        else:
            out.append(char)
            i += 1
    return "".join(out)


class RegexRouter(Transformation[R]):
    """Route records to a topic derived from their topic name.

    Example (``orders-v1`` becomes ``orders``)::

        transforms=route
        transforms.route.type=org.apache.kafka.connect.transforms.RegexRouter
        transforms.route.regex=(.*)-v[0-9]+
        transforms.route.replacement=$1
    """

    config_def: ClassVar[ConfigDef] = (
        ConfigDef()
        .define("regex", ConfigType.STRING, importance=Importance.HIGH,
                doc="Regular expression to use for matching.")
        .define("replacement", ConfigType.STRING, importance=Importance.HIGH,
                doc="Replacement string.")
    )

    def configure(self, config: Mapping[str, Any]) -> None:
        values = self.config_def.parse(config)
        try:
            self._regex = java_regex(values["regex"])
        except re.error as exc:
            raise ConfigError({"regex": f"not a valid regular expression: {exc}"}) from None
        try:
            self._template = java_replacement(values["replacement"], self._regex.groups)
        except ValueError as exc:
            raise ConfigError({"replacement": str(exc)}) from None
        # Topics are few: remember each one's route instead of matching every record.
        self._routes: dict[str, str] = {}

    def apply(self, record: R) -> R | None:
        topic = record.topic
        routed = self._routes.get(topic)
        if routed is None:
            match = self._regex.fullmatch(topic)
            routed = match.expand(self._template) if match else topic
            if len(self._routes) >= _CACHE_LIMIT:
                self._routes.clear()
            self._routes[topic] = routed
        return record if routed == topic else record.replace(topic=routed)
