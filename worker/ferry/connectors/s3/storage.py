"""The S3 side of the sink: boto3 calls with retries, multipart uploads, listings.

Every request goes through :meth:`S3Store._call`, which retries throttling (``SlowDown``,
``503``), other 5xx answers and connection errors with exponential backoff and full jitter
(``s3.part.retries``, ``s3.retry.backoff.ms``); botocore's own retries are switched off so
this is the only policy. When the retries run out, :class:`StoreUnavailable` (a
``RetriableError``) tells the task to offer the batch again later; other failures (a missing
bucket, a denied request) raise :class:`~ferry.api.ConnectError` and fail the task.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, HTTPClientError

from ferry.api import ConnectError, RetriableError
from ferry.connectors.s3.config import S3SinkConfig

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

log = logging.getLogger(__name__)
T = TypeVar("T")

_THROTTLING = {"SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded",
               "RequestTimeout", "RequestTimeTooSkewed", "InternalError", "ServiceUnavailable",
               "TooManyRequestsException", "503", "500", "502", "504"}
_MAX_BACKOFF_S = 20.0


class StoreUnavailable(RetriableError):
    """S3 kept failing with retriable errors; the batch is offered again later."""


def is_retriable(exc: BaseException) -> bool:
    """Whether trying the same request again can succeed."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        return str(error.get("Code", "")) in _THROTTLING or status >= 500 or status == 429
    return isinstance(exc, ConnectionError | HTTPClientError)


def backoff_s(attempt: int, base_ms: int, rand: Callable[[], float] = random.random) -> float:
    """Full-jitter exponential backoff before retry ``attempt`` (1, 2, ...)."""
    ceiling = min(_MAX_BACKOFF_S, base_ms / 1000 * (2 ** (attempt - 1)))
    return float(ceiling * rand())


def make_client(config: S3SinkConfig) -> S3Client:
    botocore_config = Config(
        region_name=config.region,
        s3={"addressing_style": "path" if config.path_style else "virtual"},
        retries={"max_attempts": 1, "mode": "standard"},  # our own policy retries
        # Many S3-compatible stores reject the trailing CRC checksums newer SDKs send.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        connect_timeout=10, read_timeout=60, max_pool_connections=4,
    )
    kwargs: dict[str, Any] = {"config": botocore_config}
    if config.endpoint:
        kwargs["endpoint_url"] = config.endpoint
    if config.access_key_id:
        kwargs["aws_access_key_id"] = config.access_key_id
        kwargs["aws_secret_access_key"] = config.secret_access_key
        if config.session_token:
            kwargs["aws_session_token"] = config.session_token
    return boto3.session.Session().client("s3", **kwargs)


class S3Store:
    """The object store the sink writes to (see ``writer.ObjectStore``)."""

    def __init__(self, config: S3SinkConfig, client: Any = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        # The client is typed Any: boto3 stubs are a dev extra, not a runtime need.
        self.bucket = config.bucket
        self.part_size = config.part_size
        self.retries = config.retries
        self.backoff_ms = config.retry_backoff_ms
        self.client: Any = client if client is not None else make_client(config)
        self._sleep = sleep

    def _call(self, what: str, fn: Callable[..., T], **kwargs: Any) -> T:
        attempt = 0
        while True:
            try:
                return fn(**kwargs)
            except (ClientError, BotoCoreError) as exc:
                if not is_retriable(exc):
                    raise ConnectError(f"S3 {what} failed: {exc}") from exc
                attempt += 1
                if attempt > self.retries:
                    raise StoreUnavailable(f"S3 {what} failed {attempt} times; last: "
                                           f"{exc}") from exc
                delay = backoff_s(attempt, self.backoff_ms)
                log.warning("S3 %s failed (%s); retry %d/%d in %.2fs", what, exc, attempt,
                            self.retries, delay)
                self._sleep(delay)

    def check_bucket(self) -> None:
        self._call(f"head bucket {self.bucket}", self.client.head_bucket, Bucket=self.bucket)

    def put(self, key: str, data: bytes, metadata: Mapping[str, str]) -> None:
        """Write one whole object (multipart when larger than ``s3.part.size``)."""
        if len(data) <= self.part_size:
            self._call(f"put {key}", self.client.put_object, Bucket=self.bucket, Key=key,
                       Body=data, Metadata=dict(metadata))
            return
        self._multipart(key, data, metadata)

    def _multipart(self, key: str, data: bytes, metadata: Mapping[str, str]) -> None:
        started = self._call(f"start multipart {key}", self.client.create_multipart_upload,
                             Bucket=self.bucket, Key=key, Metadata=dict(metadata))
        upload_id = started["UploadId"]
        try:
            parts = []
            view = memoryview(data)
            for number, begin in enumerate(range(0, len(data), self.part_size), start=1):
                chunk = bytes(view[begin:begin + self.part_size])
                answer = self._call(f"upload part {number} of {key}", self.client.upload_part,
                                    Bucket=self.bucket, Key=key, UploadId=upload_id,
                                    PartNumber=number, Body=chunk)
                parts.append({"ETag": answer["ETag"], "PartNumber": number})
            self._call(f"complete multipart {key}", self.client.complete_multipart_upload,
                       Bucket=self.bucket, Key=key, UploadId=upload_id,
                       MultipartUpload={"Parts": parts})
        except BaseException:
            try:
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=key,
                                                   UploadId=upload_id)
            except Exception:  # noqa: BLE001 - the original error matters more
                log.warning("could not abort multipart upload of %s", key)
            raise

    def keys(self, prefix: str) -> Iterator[str]:
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix}
            if token:
                kwargs["ContinuationToken"] = token
            page = self._call(f"list {prefix}", self.client.list_objects_v2, **kwargs)
            for item in page.get("Contents", []):
                yield str(item["Key"])
            if not page.get("IsTruncated"):
                return
            token = page.get("NextContinuationToken")

    def metadata(self, key: str) -> dict[str, str] | None:
        try:
            head = self._call(f"head {key}", self.client.head_object, Bucket=self.bucket,
                              Key=key)
        except ConnectError as exc:
            cause = exc.__cause__
            if isinstance(cause, ClientError) and cause.response.get("Error", {}).get(
                    "Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return {str(k).lower(): str(v) for k, v in head.get("Metadata", {}).items()}
