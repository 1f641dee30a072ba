"""Both file connectors under one module, so ``ferry.connectors.file.FileStreamSourceConnector``
(the dotted form of Kafka Connect's ``org.apache.kafka.connect.file`` names) imports as written.
"""

from ferry.connectors.file_sink import FileStreamSinkConnector, FileStreamSinkTask
from ferry.connectors.file_source import FileStreamSourceConnector, FileStreamSourceTask

__all__ = [
    "FileStreamSinkConnector",
    "FileStreamSinkTask",
    "FileStreamSourceConnector",
    "FileStreamSourceTask",
]
