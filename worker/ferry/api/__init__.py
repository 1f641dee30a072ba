"""The connector API: everything a plugin author imports, and nothing of the runtime.

A minimal source connector::

    from ferry.api import SourceConnector, SourceTask, SourceRecord

    class CounterTask(SourceTask):
        def start(self, config):
            self.topic = config["topic"]
            self.next = (self.context.offset_reader.offset({"counter": 0}) or {}).get("n", 0)

        def poll(self):
            n, self.next = self.next, self.next + 1
            return [SourceRecord(source_partition={"counter": 0}, source_offset={"n": n + 1},
                                 topic=self.topic, value=str(n))]

    class CounterConnector(SourceConnector):
        @classmethod
        def task_class(cls):
            return CounterTask

        def start(self, config):
            self.config = dict(config)

        def task_configs(self, max_tasks):
            return [self.config]
"""

from ferry.api import schema
from ferry.api.config import (
    NO_DEFAULT,
    ConfigDef,
    ConfigKey,
    ConfigType,
    Importance,
    Password,
    at_least,
    between,
    non_empty,
    one_of,
)
from ferry.api.connector import Connector, ConnectorContext, SinkConnector, SourceConnector
from ferry.api.converter import Converter, HeaderConverter, SchemaAndValue
from ferry.api.errors import ConfigError, ConnectError, DataError, RetriableError
from ferry.api.records import (
    ConnectRecord,
    Header,
    Headers,
    SinkRecord,
    SinkRecordBatch,
    SourceRecord,
    SourceRecordBatch,
    TopicPartition,
)
from ferry.api.schema import Field, Schema, Type
from ferry.api.task import (
    OffsetReader,
    RecordMetadata,
    SinkTask,
    SinkTaskContext,
    SourceTask,
    SourceTaskContext,
    Task,
)
from ferry.api.transform import Predicate, Transformation

__all__ = [
    "NO_DEFAULT",
    "ConfigDef",
    "ConfigError",
    "ConfigKey",
    "ConfigType",
    "ConnectError",
    "ConnectRecord",
    "Connector",
    "ConnectorContext",
    "Converter",
    "DataError",
    "Field",
    "Header",
    "HeaderConverter",
    "Headers",
    "Importance",
    "OffsetReader",
    "Password",
    "Predicate",
    "RecordMetadata",
    "RetriableError",
    "Schema",
    "SchemaAndValue",
    "SinkConnector",
    "SinkRecord",
    "SinkRecordBatch",
    "SinkTask",
    "SinkTaskContext",
    "SourceConnector",
    "SourceRecord",
    "SourceRecordBatch",
    "SourceTask",
    "SourceTaskContext",
    "Task",
    "TopicPartition",
    "Transformation",
    "Type",
    "at_least",
    "between",
    "non_empty",
    "one_of",
    "schema",
]
