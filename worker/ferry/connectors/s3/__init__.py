"""S3Sink: Kafka topics to S3 objects, exactly once through deterministic objects.

Needs the ``s3`` extra (boto3): ``pip install 'ferry-connect[s3]'``; importing this package
without it raises an ImportError that says so. Its keys are those of Kafka Connect's S3 sink
(``io.confluent.connect.s3.S3SinkConnector``), so its configs work as they are.

Modules: ``config`` (keys), ``naming`` (object names), ``partitioners``, ``formats``,
``writer`` (groups, rotation, recovery), ``storage`` (boto3, retries, multipart), ``sink``.
"""

from __future__ import annotations

try:
    import boto3  # noqa: F401
except ImportError as _missing:  # pragma: no cover - exercised in a venv without boto3
    raise ImportError("the S3 connector needs boto3, which is not installed: "
                      "pip install 'ferry-connect[s3]'", name=_missing.name) from _missing

from ferry.connectors.s3.sink import S3SinkConnector, S3SinkTask

__all__ = ["S3SinkConnector", "S3SinkTask"]
