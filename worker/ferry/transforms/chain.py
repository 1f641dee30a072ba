"""TransformationChain: a connector's ``transforms`` applied in order, each behind an optional
predicate, exactly as Kafka Connect configures them::

    transforms=dropTombstones,route
    transforms.dropTombstones.type=org.apache.kafka.connect.transforms.Filter
    transforms.dropTombstones.predicate=isTombstone
    transforms.route.type=RegexRouter
    transforms.route.regex=(.*)-raw
    transforms.route.replacement=$1
    transforms.route.predicate=isOrders
    transforms.route.negate=true
    predicates=isTombstone,isOrders
    predicates.isTombstone.type=RecordIsTombstone
    predicates.isOrders.type=TopicNameMatches
    predicates.isOrders.pattern=orders-.*

Plugin classes come from a ``resolve(kind, name)`` callable (``kind`` is ``"transform"`` or
``"predicate"``), so the chain does not depend on how plugins are found. Every problem is
reported at once, one message per key, in a single :class:`ConfigError`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ferry.api.config import ConfigType, parse_value, subset
from ferry.api.errors import ConfigError
from ferry.api.records import R
from ferry.api.transform import Predicate, Transformation
from ferry.transforms._support import SideTransform, fused_side_transforms

Resolver = Callable[[str, str], type[Any]]

# Keys the chain reads itself; the rest of ``transforms.<alias>.`` goes to the transform.
_CHAIN_KEYS = ("type", "predicate", "negate")


@dataclass(frozen=True, slots=True)
class Stage:
    alias: str
    transform: Transformation[Any]
    predicate: Predicate[Any] | None = None
    negate: bool = False


class TransformationChain:
    """Applies each stage whose predicate (if any) holds, XOR ``negate``; None drops."""

    def __init__(self, stages: list[Stage]) -> None:
        self.stages = tuple(stages)
        self._all_plain = all(s.predicate is None for s in stages)
        transforms = [s.transform for s in stages]
        # Without predicates, runs of built-in transforms on one side fuse into one step.
        self._plain = _fused(transforms) if self._all_plain else ()
        self._applies = tuple(_fused([t])[0] for t in transforms)

    @classmethod
    def from_config(cls, config: Mapping[str, Any], resolve: Resolver) -> TransformationChain:
        problems: dict[str, str] = {}
        predicates = _build_predicates(config, resolve, problems)
        stages = []
        for alias in _aliases(config, "transforms", problems):
            stage = _build_stage(config, alias, resolve, predicates, problems)
            if stage is not None:
                stages.append(stage)
        if problems:
            raise ConfigError(problems)
        return cls(stages)

    def apply(self, record: R) -> R | None:
        """The record after every applicable transform, or None once one drops it."""
        if self._all_plain:
            current: R | None = record
            for apply in self._plain:
                current = apply(current)
                if current is None:
                    return None
            return current
        for stage, apply_stage in zip(self.stages, self._applies, strict=True):
            if stage.predicate is not None and stage.predicate.test(record) == stage.negate:
                continue
            result = apply_stage(record)
            if result is None:
                return None
            record = result
        return record

    def close(self) -> None:
        for stage in self.stages:
            stage.transform.close()
        # One predicate may guard several transforms; close it once.
        shared = {id(s.predicate): s.predicate for s in self.stages if s.predicate is not None}
        for predicate in shared.values():
            predicate.close()


def _fused(transforms: list[Transformation[Any]]) -> tuple[Callable[[Any], Any], ...]:
    """The ``apply`` of each transform, where consecutive built-in transforms of the same
    side become one function that copies the record once (the same result, fewer copies)."""
    applies: list[Callable[[Any], Any]] = []
    run: list[SideTransform[Any]] = []
    for transform in transforms:
        if run and not (isinstance(transform, SideTransform) and transform.on_key == run[0].on_key):
            applies.append(fused_side_transforms(run))
            run = []
        if isinstance(transform, SideTransform):
            run.append(transform)
        else:
            applies.append(transform.apply)
    if run:
        applies.append(fused_side_transforms(run))
    return tuple(applies)


def _aliases(config: Mapping[str, Any], key: str, problems: dict[str, str]) -> list[str]:
    aliases = parse_value(ConfigType.LIST, config.get(key) or [])
    if len(set(aliases)) != len(aliases):
        problems[key] = f"duplicate alias in {', '.join(aliases)}"
    return list(dict.fromkeys(aliases))


def _plugin_config(config: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    return {k: v for k, v in subset(config, prefix).items() if k not in _CHAIN_KEYS}


def _instantiate(kind: str, base: type, config: Mapping[str, Any], prefix: str,
                 resolve: Resolver, problems: dict[str, str]) -> Any:
    """Resolve ``<prefix>type``, create and configure it; None (and problems) on failure."""
    type_key = prefix + "type"
    name = config.get(type_key)
    if name is None or not str(name).strip():
        problems[type_key] = "required"
        return None
    try:
        cls = resolve(kind, str(name).strip())
    except (ConfigError, LookupError, ImportError):
        cls = None
    if cls is None:
        problems[type_key] = f"unknown {kind} {str(name).strip()!r}"
        return None
    if not (isinstance(cls, type) and issubclass(cls, base)):
        problems[type_key] = f"{str(name).strip()!r} is not a {kind}"
        return None
    plugin: Any = cls()
    try:
        plugin.configure(_plugin_config(config, prefix))
    except ConfigError as exc:
        for key, message in exc.problems.items():
            problems[prefix + key if key else prefix.rstrip(".")] = message
        return None
    except (ValueError, TypeError) as exc:
        problems[prefix.rstrip(".")] = str(exc)
        return None
    return plugin


def _build_predicates(config: Mapping[str, Any], resolve: Resolver,
                      problems: dict[str, str]) -> dict[str, Predicate[Any] | None]:
    built: dict[str, Predicate[Any] | None] = {}
    for alias in _aliases(config, "predicates", problems):
        built[alias] = _instantiate("predicate", Predicate, config, f"predicates.{alias}.",
                                    resolve, problems)
    return built


def _build_stage(config: Mapping[str, Any], alias: str, resolve: Resolver,
                 predicates: Mapping[str, Predicate[Any] | None],
                 problems: dict[str, str]) -> Stage | None:
    prefix = f"transforms.{alias}."
    transform = _instantiate("transform", Transformation, config, prefix, resolve, problems)
    predicate_alias = config.get(prefix + "predicate")
    predicate = None
    if predicate_alias is not None and str(predicate_alias).strip():
        predicate_alias = str(predicate_alias).strip()
        if predicate_alias not in predicates:
            problems[prefix + "predicate"] = (
                f"predicate {predicate_alias!r} is not listed in 'predicates'")
        predicate = predicates.get(predicate_alias)
    negate = False
    if prefix + "negate" in config:
        try:
            negate = parse_value(ConfigType.BOOLEAN, config[prefix + "negate"])
        except ValueError as exc:
            problems[prefix + "negate"] = str(exc)
    if transform is None or (predicate_alias and predicate is None):
        return None
    return Stage(alias, transform, predicate, negate)
