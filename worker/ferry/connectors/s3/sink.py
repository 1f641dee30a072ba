"""S3Sink: the connector and its task. See ``ferry.connectors.s3`` for the whole story."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from ferry.api import (
    ConfigDef,
    ConfigError,
    RetriableError,
    SinkConnector,
    SinkRecord,
    SinkTask,
    TopicPartition,
)
from ferry.connectors.s3.config import CONFIG_DEF, S3SinkConfig
from ferry.connectors.s3.formats import build_format
from ferry.connectors.s3.naming import Naming
from ferry.connectors.s3.partitioners import build_partitioner, timestamp_extractor
from ferry.connectors.s3.storage import S3Store
from ferry.connectors.s3.writer import Layout, ObjectStore, PartitionWriter

log = logging.getLogger(__name__)


def build_layout(config: S3SinkConfig) -> Layout:
    """The naming, partitioning, format and rotation rules of a config; ValueError if bad."""
    return Layout(
        naming=Naming(config.topics_dir, config.directory_delim, config.file_delim,
                      config.zero_pad_width),
        partitioner=build_partitioner(
            config.partitioner, fields=config.partition_fields, path_format=config.path_format,
            duration_ms=config.partition_duration_ms, timezone=config.timezone,
            delim=config.directory_delim),
        format=build_format(config.format, compression=config.compression,
                            separator=config.separator, extension=config.extension),
        timestamp=timestamp_extractor(config.timestamp_extractor, config.timestamp_field),
        flush_size=config.flush_size,
        rotate_interval_ms=config.rotate_interval_ms,
        rotate_schedule_ms=config.rotate_schedule_ms,
        skip_null_values=config.null_values == "ignore",
    )


class S3SinkTask(SinkTask):
    """Writes each topic-partition's records as deterministic objects.

    ``open`` lists a partition's objects to resume right after the last complete group
    (``context.rewind`` on the first batch); ``put`` buffers and writes complete groups;
    ``pre_commit`` returns, per partition, the first offset not yet in a written object, so
    Kafka commits only what S3 holds; ``close`` drops unwritten buffers (the partition's next
    owner reads them again from the committed offset).
    """

    def __init__(self, store: ObjectStore | None = None) -> None:
        super().__init__()
        self._store_override = store
        self.writers: dict[TopicPartition, PartitionWriter] = {}
        self._pending_rewind: dict[TopicPartition, int] = {}

    def start(self, config: Mapping[str, Any]) -> None:
        parsed = S3SinkConfig.parse(config)
        try:
            self.layout = build_layout(parsed)
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
        if self._store_override is not None:
            self.store: ObjectStore = self._store_override
        else:
            s3 = S3Store(parsed)
            s3.check_bucket()
            self.store = s3
        log.info("S3 sink writing to bucket %s%s", parsed.bucket,
                 f" at {parsed.endpoint}" if parsed.endpoint else "")

    def open(self, partitions: Sequence[TopicPartition]) -> None:
        for tp in partitions:
            writer = PartitionWriter(tp, self.layout, self.store)
            resume = writer.recover()
            self.writers[tp] = writer
            if resume is not None:
                log.info("S3 sink: %s resumes at offset %d (objects already written)", tp,
                         resume)
                self._pending_rewind[tp] = resume

    def put(self, records: Sequence[SinkRecord]) -> None:
        if self._pending_rewind and records:
            self._rewind_once(records)
        writers = self.writers
        for writer in writers.values():
            writer.checkpoint()
        wrote = False
        try:
            for record in records:
                tp = TopicPartition(record.original_topic, record.original_partition)
                found = writers.get(tp)
                if found is None:  # not opened (should not happen): recover now
                    self.open([tp])
                    found = writers[tp]
                    found.checkpoint()
                wrote = found.write(record) or wrote
        except RetriableError:
            for writer in writers.values():
                writer.rollback()  # the runner offers this batch again
            raise
        if wrote:
            self.context.request_commit()

    def _rewind_once(self, records: Sequence[SinkRecord]) -> None:
        first: dict[TopicPartition, int] = {}
        for record in records:
            first.setdefault(TopicPartition(record.original_topic, record.original_partition),
                             record.offset)
        seek = {}
        for tp, offset in first.items():
            resume = self._pending_rewind.pop(tp, None)
            if resume is not None and offset < resume:
                seek[tp] = resume
        if seek:
            # Records below the resume offset are skipped by the writers either way; the
            # seek only saves reading them.
            self.context.rewind(seek)

    def pre_commit(self, offsets: Mapping[TopicPartition, int]) -> Mapping[TopicPartition, int]:
        for writer in self.writers.values():
            try:
                writer.rotate_if_due()
            except RetriableError as exc:
                log.warning("S3 sink: scheduled write of %s failed, will retry: %s",
                            writer.tp, exc)
        return {tp: self.writers[tp].committable(offset) for tp, offset in offsets.items()
                if tp in self.writers}

    def close(self, partitions: Sequence[TopicPartition]) -> None:
        for tp in partitions:
            self.writers.pop(tp, None)
            self._pending_rewind.pop(tp, None)

    def stop(self) -> None:
        self.writers.clear()


class S3SinkConnector(SinkConnector):
    """Writes topics to S3 (or any S3-compatible store) as JSON-lines or raw-bytes objects.

    Example::

        name: orders-to-s3
        connector.class: S3Sink      # or io.confluent.connect.s3.S3SinkConnector
        topics: orders
        s3.bucket.name: archive
        s3.region: eu-west-1
        aws.access.key.id: ${env:AWS_ACCESS_KEY_ID}
        aws.secret.access.key: ${file:/etc/s3/credentials.properties:secret}
        flush.size: 10000
        rotate.interval.ms: 600000
    """

    config_def: ClassVar[ConfigDef] = CONFIG_DEF

    @classmethod
    def task_class(cls) -> type[SinkTask]:
        return S3SinkTask

    @classmethod
    def validate(cls, config: Mapping[str, Any]) -> dict[str, str]:
        problems = CONFIG_DEF.validate(config)
        if problems:
            return problems
        try:
            build_layout(S3SinkConfig.parse(config))
        except ValueError as exc:
            return {"partitioner.class": str(exc)}
        return {}

    def start(self, config: Mapping[str, Any]) -> None:
        problems = self.validate(config)
        if problems:
            raise ConfigError(problems)
        self._config = dict(config)

    def task_configs(self, max_tasks: int) -> list[dict[str, Any]]:
        return [dict(self._config) for _ in range(max_tasks)]
