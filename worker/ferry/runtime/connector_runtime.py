"""Running one connector and all of its tasks in this process.

Used by standalone mode (``ferry run``) as it is, and by distributed workers for the units
they are assigned. It validates the config, resolves secrets in memory, starts the
Connector, asks it for task configs and runs one task thread per config.
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ferry import protocol
from ferry.api.config import ConfigDef
from ferry.api.connector import Connector, ConnectorContext, SinkConnector, SourceConnector
from ferry.api.errors import ConfigError
from ferry.runtime import connector_config as cc
from ferry.runtime.conversion import build_chain, build_converters
from ferry.runtime.dead_letter import DeadLetterReporter
from ferry.runtime.errors import ErrorPolicy, FailureReporter
from ferry.runtime.logging_context import logging_settings
from ferry.runtime.offsets import OffsetStore
from ferry.runtime.plugins import PluginKind, resolve
from ferry.runtime.secrets import SCRUBBER
from ferry.runtime.sink_runner import SinkTaskRunner
from ferry.runtime.source_runner import SourceTaskRunner
from ferry.runtime.status import State, StatusBoard
from ferry.runtime.task_process import ISOLATION_KEY, ProcessTaskRunner, TaskRecipe
from ferry.runtime.task_runner import TaskHandle
from ferry.runtime.topics import TopicCreator
from ferry.runtime.worker_config import WorkerConfig

log = logging.getLogger(__name__)


@dataclass
class ValidatedConfig:
    connector_class: type[Connector]
    resolved: dict[str, Any]
    common: dict[str, Any]

    @property
    def is_sink(self) -> bool:
        return issubclass(self.connector_class, SinkConnector)


def _resolve_secrets(raw: Mapping[str, Any]) -> dict[str, Any]:
    from ferry import providers

    resolved = providers.resolve(raw)
    SCRUBBER.add(str(resolved[k]) for k in providers.mentions_secret(raw) if k in resolved)
    return resolved


def validate(spec: cc.ConnectorSpec) -> tuple[ValidatedConfig | None, dict[str, str]]:
    """The checked config, or one message per problem (never a secret value)."""
    problems: dict[str, str] = {}
    try:
        resolved = _resolve_secrets(spec.config)
    except ConfigError as exc:
        return None, exc.problems
    common, common_problems = _parse(cc.COMMON, resolved)
    problems.update(common_problems)
    if "connector.class" in common_problems:
        return None, problems
    try:
        connector_class = resolve(PluginKind.CONNECTOR, str(resolved["connector.class"]))
    except ConfigError as exc:
        problems["connector.class"] = exc.render()
        return None, problems
    problems.update(connector_class.validate(resolved))
    if issubclass(connector_class, SinkConnector):
        problems.update(_problems(lambda: cc.sink_topics(resolved)))
    elif issubclass(connector_class, SourceConnector):
        problems.update(_parse(cc.SOURCE, resolved)[1])
        if common.get(ISOLATION_KEY) == "process":
            problems[ISOLATION_KEY] = ("'process' is for sink connectors: a source task's "
                                       "offsets are kept by its worker process")
    if not common_problems:
        problems.update(_problems(lambda: build_converters(common | resolved)))
        problems.update(_problems(lambda: build_chain(resolved)))
    if problems:
        return None, problems
    return ValidatedConfig(connector_class, resolved, common), {}


def _parse(definition: ConfigDef, raw: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    try:
        return definition.parse(raw), {}
    except ConfigError as exc:
        return {}, exc.problems


def _problems(check: Any) -> dict[str, str]:
    try:
        check()
    except ConfigError as exc:
        return exc.problems
    return {}


class _Context(ConnectorContext):
    def __init__(self, runtime: ConnectorRuntime) -> None:
        self._runtime = runtime

    def request_task_reconfiguration(self) -> None:
        self._runtime.reconfigure_requested.set()

    def raise_error(self, error: Exception) -> None:
        self._runtime.fail_connector(error)


class ConnectorRuntime:
    """One connector and its tasks, in this process."""

    def __init__(self, spec: cc.ConnectorSpec, worker: WorkerConfig, offsets: OffsetStore,
                 status: StatusBoard) -> None:
        self.spec = spec
        self.worker = worker
        self.offsets = offsets
        self.status = status
        self.connector: Connector | None = None
        self.config: ValidatedConfig | None = None
        self.tasks: list[TaskHandle] = []
        self.task_configs: list[dict[str, Any]] = []
        self.reconfigure_requested = threading.Event()

    @property
    def id(self) -> str:
        return self.spec.id

    def start(self) -> None:
        """Validate, start the connector and its tasks; a bad config fails the connector."""
        self.prepare()
        self.task_configs = self.start_connector()
        self._start_tasks()

    def prepare(self) -> ValidatedConfig:
        """Validate the config and resolve its secrets; ConfigError (and FAILED) when bad."""
        config, problems = validate(self.spec)
        if config is None:
            error = ConfigError(problems)
            self.status.set_connector(self.id, State.FAILED, f"invalid configuration: {error}",
                                      self.spec.generation)
            raise error
        self.config = config
        self.status.kinds[self.id] = "sink" if config.is_sink else "source"
        if (config.common["exactly.once.support"] == "required" and not config.is_sink
                and not getattr(config.connector_class, "exactly_once_support", False)):
            error = ConfigError({"exactly.once.support": (
                f"{config.connector_class.__name__} does not support exactly-once delivery")})
            self.status.set_connector(self.id, State.FAILED, str(error), self.spec.generation)
            raise error
        return config

    def start_connector(self) -> list[dict[str, Any]]:
        """Start the Connector instance; its task configs. Fails the connector on error."""
        assert self.config is not None, "prepare() first"
        try:
            connector = self.config.connector_class()
            connector.initialize(_Context(self))
            connector.start(self.config.resolved)
            self.connector = connector
            configs = connector.task_configs(int(self.config.common["tasks.max"]))
        except Exception as exc:
            self.fail_connector(exc)
            raise
        state = State.PAUSED if self.spec.state is cc.TargetState.PAUSED else State.RUNNING
        self.status.set_connector(self.id, state, generation=self.spec.generation)
        return configs

    def stop_connector(self) -> None:
        if self.connector is not None:
            try:
                self.connector.stop()
            except Exception:
                log.exception("connector %s: stop() raised", self.id)
            self.connector = None

    def _start_tasks(self) -> None:
        paused = self.spec.state is cc.TargetState.PAUSED
        for index, task_config in enumerate(self.task_configs):
            runner = self.build_task(index, task_config)
            self.tasks.append(runner)
            runner.start(paused=paused)

    def build_task(self, index: int, task_config: Mapping[str, Any],
                   offsets: OffsetStore | None = None) -> TaskHandle:
        """A runner for one task config (not started)."""
        assert self.config is not None
        config = self.config
        if config.is_sink and config.common[ISOLATION_KEY] == "process":
            log_format, log_level = logging_settings()
            return ProcessTaskRunner(TaskRecipe(
                spec=self.spec, worker=self.worker, index=index, task_config=dict(task_config),
                generation=self.spec.generation, log_format=log_format, log_level=log_level),
                self.status)
        merged = config.common | config.resolved
        converters = build_converters(merged)
        chain = build_chain(config.resolved)
        task = config.connector_class.task_class()()
        flush_ms = int(config.common["offset.flush.interval.ms"])
        if config.is_sink:
            topics, regex = cc.sink_topics(config.resolved)
            sink_values = cc.SINK.parse(config.resolved)
            dead_letter = self._dead_letter(index)
            reporters: list[FailureReporter] = [dead_letter] if dead_letter else []
            group = f"ferry-sink.{self.spec.namespace}.{self.spec.name}"
            return SinkTaskRunner(
                connector_id=self.id, index=index, task=task,  # type: ignore[arg-type]
                task_config=task_config, converters=converters, chain=chain,
                consumer_config=self.worker.consumer_config(config.resolved, group),
                topics=topics, topics_regex=regex,
                policy=ErrorPolicy.from_config(config.common, reporters),
                flush_interval_ms=flush_ms, max_batch=int(sink_values["consumer.max.poll.records"]),
                status=self.status, dead_letter=dead_letter, generation=self.spec.generation)
        runner_class: type[SourceTaskRunner] = SourceTaskRunner
        producer_config = self.worker.producer_config(config.resolved)
        if config.common["exactly.once.support"] == "required":
            from ferry.runtime.transactional_source import TransactionalSourceTaskRunner

            runner_class = TransactionalSourceTaskRunner
            producer_config["transactional.id"] = protocol.transactional_id(self.id, index)
        return runner_class(
            connector_id=self.id, index=index, task=task,  # type: ignore[arg-type]
            task_config=task_config, converters=converters, chain=chain,
            producer_config=producer_config,
            offsets=offsets or self.offsets,
            topics=TopicCreator(self.worker.admin_config(config.resolved), config.resolved,
                                self.worker.topic_creation_enable),
            policy=ErrorPolicy.from_config(config.common), flush_interval_ms=flush_ms,
            status=self.status, generation=self.spec.generation)

    def _dead_letter(self, index: int) -> DeadLetterReporter | None:
        assert self.config is not None
        common = self.config.common
        topic = str(common["errors.deadletterqueue.topic.name"])
        if not topic or common["errors.tolerance"] != "all":
            return None
        replication = int(common["errors.deadletterqueue.topic.replication.factor"])
        self._ensure_dead_letter_topic(topic, replication)
        return DeadLetterReporter(topic, self.worker.producer_config(self.config.resolved),
                                  self.spec.name, index,
                                  bool(common["errors.deadletterqueue.context.headers.enable"]))

    def _ensure_dead_letter_topic(self, topic: str, replication: int) -> None:
        creator = TopicCreator(self.worker.admin_config(), {
            "topic.creation.default.partitions": 1,
            "topic.creation.default.replication.factor": replication,
        })
        creator.ensure(topic)

    # Target state ------------------------------------------------------------------------

    def pause(self) -> None:
        self.spec.state = cc.TargetState.PAUSED
        for task in self.tasks:
            task.pause()
        self.status.set_connector(self.id, State.PAUSED, generation=self.spec.generation)

    def resume(self) -> None:
        self.spec.state = cc.TargetState.RUNNING
        for task in self.tasks:
            task.resume()
        self.status.set_connector(self.id, State.RUNNING, generation=self.spec.generation)

    def stop_tasks(self, timeout: float = 30.0) -> list[str]:
        """Stop every task (they commit first); the names of tasks that did not end in time."""
        for task in self.tasks:
            task.stop()
        stuck = [t.name for t in self.tasks if not t.join(timeout)]
        if stuck:
            log.warning("connector %s: tasks did not stop within %.0fs: %s", self.id, timeout,
                        ", ".join(stuck))
        self.tasks = []
        return stuck

    def stop(self, timeout: float = 30.0) -> list[str]:
        stuck = self.stop_tasks(timeout)
        self.stop_connector()
        self.status.set_connector(self.id, State.STOPPED, generation=self.spec.generation)
        self.offsets.close()
        return stuck

    def reconfigure(self) -> bool:
        """Ask the connector for task configs again; restart the tasks if they changed."""
        self.reconfigure_requested.clear()
        if self.connector is None or self.config is None:
            return False
        configs = self.connector.task_configs(int(self.config.common["tasks.max"]))
        if configs == self.task_configs:
            return False
        log.info("connector %s: task configs changed, restarting %d tasks", self.id, len(configs))
        self.stop_tasks()
        self.task_configs = configs
        self._start_tasks()
        return True

    def restart_task(self, index: int) -> None:
        for position, task in enumerate(self.tasks):
            if task.index == index:
                self.status.set_task(self.id, index, State.RESTARTING)
                task.stop()
                task.join(30)
                runner = self.build_task(index, self.task_configs[index])
                self.tasks[position] = runner
                runner.start(paused=self.spec.state is cc.TargetState.PAUSED)

    def fail_connector(self, error: BaseException) -> None:
        trace = "".join(traceback.format_exception(error))
        log.error("connector %s failed: %s", self.id, error)
        self.status.set_connector(self.id, State.FAILED, trace, self.spec.generation)
