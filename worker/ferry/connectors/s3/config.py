"""The S3 sink's config keys (Kafka Connect's S3 sink names) and their parsed, typed form."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ferry.api import ConfigDef, ConfigType, Importance, Password
from ferry.api.config import Validator, at_least, non_empty, one_of
from ferry.connectors.s3.formats import format_kind
from ferry.connectors.s3.partitioners import joda_to_strftime, partitioner_kind

BUCKET = "s3.bucket.name"
REGION = "s3.region"
ENDPOINT = "store.url"
PATH_STYLE = "s3.path.style.access.enabled"
ACCESS_KEY_ID = "aws.access.key.id"
SECRET_ACCESS_KEY = "aws.secret.access.key"
SESSION_TOKEN = "aws.session.token"
PART_SIZE = "s3.part.size"
RETRIES = "s3.part.retries"
RETRY_BACKOFF_MS = "s3.retry.backoff.ms"
COMPRESSION = "s3.compression.type"
TOPICS_DIR = "topics.dir"
DIRECTORY_DELIM = "directory.delim"
FILE_DELIM = "file.delim"
ZERO_PAD = "filename.offset.zero.pad.width"
FORMAT = "format.class"
SEPARATOR = "format.bytearray.separator"
EXTENSION = "format.bytearray.extension"
FLUSH_SIZE = "flush.size"
ROTATE_INTERVAL_MS = "rotate.interval.ms"
ROTATE_SCHEDULE_MS = "rotate.schedule.interval.ms"
PARTITIONER = "partitioner.class"
PARTITION_FIELDS = "partition.field.name"
PATH_FORMAT = "path.format"
PARTITION_DURATION_MS = "partition.duration.ms"
TIMEZONE = "timezone"
LOCALE = "locale"
TIMESTAMP_EXTRACTOR = "timestamp.extractor"
TIMESTAMP_FIELD = "timestamp.field"
NULL_VALUES = "behavior.on.null.values"
STORAGE_CLASS = "storage.class"

_MIN_PART = 5 * 1024 * 1024


def _known(kind: str, lookup: Any) -> Validator:
    def check(name: str, value: Any) -> str | None:
        return None if lookup(str(value)) else f"unknown {kind} {value!r}"

    return check


def _path_format(name: str, value: Any) -> str | None:
    try:
        joda_to_strftime(str(value))
    except ValueError as exc:
        return str(exc)
    return None


def _timezone(name: str, value: Any) -> str | None:
    if not value:
        return None
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        return f"unknown time zone {value!r}"
    return None


CONFIG_DEF = (
    ConfigDef()
    .define(BUCKET, ConfigType.STRING, importance=Importance.HIGH, validator=non_empty,
            group="S3", doc="The bucket objects are written to (it must exist).")
    .define(REGION, ConfigType.STRING, "us-west-2", Importance.MEDIUM, group="S3",
            doc="The bucket's AWS region.")
    .define(ENDPOINT, ConfigType.STRING, "", Importance.MEDIUM, group="S3",
            doc="Endpoint override, for S3-compatible stores (MinIO, SeaweedFS, Ceph, "
                "s3proxy): http://host:port. Empty: AWS's endpoint for the region.")
    .define(PATH_STYLE, ConfigType.BOOLEAN, True, Importance.LOW, group="S3",
            doc="Path-style addressing (http://host/bucket/key) instead of virtual-host "
                "style (http://bucket.host/key); most S3-compatible stores need it.")
    .define(ACCESS_KEY_ID, ConfigType.PASSWORD, "", Importance.HIGH, group="S3",
            doc="Access key id; empty: boto3's default credential chain (environment, "
                "~/.aws, instance or pod identity). May be a ${env:...} or ${file:...} "
                "reference; never logged.")
    .define(SECRET_ACCESS_KEY, ConfigType.PASSWORD, "", Importance.HIGH, group="S3",
            doc="Secret access key, with aws.access.key.id. A reference such as "
                "${file:/etc/s3/creds.properties:secret} keeps it out of the config; never "
                "logged.")
    .define(SESSION_TOKEN, ConfigType.PASSWORD, "", Importance.LOW, group="S3",
            doc="Session token for temporary credentials; never logged.")
    .define(PART_SIZE, ConfigType.INT, 25 * 1024 * 1024, Importance.LOW,
            validator=at_least(_MIN_PART), group="S3",
            doc="Objects larger than this are uploaded in parts of this size (multipart "
                "upload); at least 5 MiB, S3's minimum part size.")
    .define(RETRIES, ConfigType.INT, 3, Importance.LOW, validator=at_least(0), group="S3",
            doc="Retries of one S3 request that was throttled (SlowDown, 503), failed "
                "with a 5xx or a connection error, with exponential backoff and jitter.")
    .define(RETRY_BACKOFF_MS, ConfigType.LONG, 200, Importance.LOW, validator=at_least(0),
            group="S3", doc="First retry backoff; it doubles on each retry (capped at 20 s).")
    .define(COMPRESSION, ConfigType.STRING, "none", Importance.LOW,
            validator=one_of("none", "gzip"), group="S3",
            doc="none, or gzip (the object gets .gz; still byte-identical on replay).")
    .define(TOPICS_DIR, ConfigType.STRING, "topics", Importance.HIGH, group="Storage",
            doc="Key prefix under which each topic gets its directory.")
    .define(DIRECTORY_DELIM, ConfigType.STRING, "/", Importance.LOW, validator=non_empty,
            group="Storage", doc="Delimiter between directories in object keys.")
    .define(FILE_DELIM, ConfigType.STRING, "+", Importance.LOW, validator=non_empty,
            group="Storage", doc="Delimiter between topic, partition and offset in names.")
    .define(ZERO_PAD, ConfigType.INT, 10, Importance.LOW, validator=at_least(1),
            group="Storage", doc="Width the start offset is zero-padded to, so names sort.")
    .define(FORMAT, ConfigType.STRING, "json", Importance.HIGH,
            validator=_known("format", format_kind), group="Format",
            doc="json (JSON lines) or bytearray (raw value bytes); Kafka Connect's "
                "io.confluent.connect.s3.format.json.JsonFormat and "
                "...bytearray.ByteArrayFormat are accepted.")
    .define(SEPARATOR, ConfigType.STRING, "\\n", Importance.LOW, group="Format",
            doc="bytearray: bytes written after each value (backslash escapes allowed).")
    .define(EXTENSION, ConfigType.STRING, ".bin", Importance.LOW, group="Format",
            doc="bytearray: the objects' file extension.")
    .define(FLUSH_SIZE, ConfigType.INT, importance=Importance.HIGH, validator=at_least(1),
            group="Rotation",
            doc="Records per object: an object is written once it holds this many.")
    .define(ROTATE_INTERVAL_MS, ConfigType.LONG, -1, Importance.MEDIUM, group="Rotation",
            doc="Write the open object when a record's time (timestamp.extractor) is this "
                "far past the object's first record; that record starts the next object. "
                "Deterministic, so replays still make the same objects. -1: off.")
    .define(ROTATE_SCHEDULE_MS, ConfigType.LONG, -1, Importance.MEDIUM, group="Rotation",
            doc="Write open objects at wall-clock boundaries of this interval, so a quiet "
                "partition still gets written. Wall-clock rotation depends on when records "
                "arrive: a replay after a crash may cut objects elsewhere (every record is "
                "still in exactly one object only if no object of the replayed range was "
                "written). -1: off.")
    .define(PARTITIONER, ConfigType.STRING, "default", Importance.HIGH,
            validator=_known("partitioner", partitioner_kind), group="Partitioner",
            doc="default (by Kafka partition), field (partition.field.name), time "
                "(path.format), daily or hourly; Kafka Connect's "
                "io.confluent.connect.storage.partitioner.* class names are accepted.")
    .define(PARTITION_FIELDS, ConfigType.LIST, [], Importance.MEDIUM, group="Partitioner",
            doc="field: the value fields whose values name the directories.")
    .define(PATH_FORMAT, ConfigType.STRING, "", Importance.MEDIUM, validator=_path_format,
            group="Partitioner",
            doc="time: Joda-Time directory pattern, e.g. 'year'=YYYY/'month'=MM/'day'=dd.")
    .define(PARTITION_DURATION_MS, ConfigType.LONG, -1, Importance.MEDIUM,
            group="Partitioner", doc="time: record times are floored to this duration.")
    .define(TIMEZONE, ConfigType.STRING, "UTC", Importance.MEDIUM, validator=_timezone,
            group="Partitioner", doc="time: the IANA time zone directories are named in.")
    .define(LOCALE, ConfigType.STRING, "", Importance.LOW, group="Partitioner",
            doc="Accepted for Kafka Connect compatibility; numeric patterns ignore it.")
    .define(TIMESTAMP_EXTRACTOR, ConfigType.STRING, "Record", Importance.MEDIUM,
            validator=one_of("Record", "RecordField", "Wallclock"), group="Partitioner",
            doc="Where a record's time comes from, for the time partitioner and "
                "rotate.interval.ms: Record (the Kafka timestamp), RecordField "
                "(timestamp.field), Wallclock. Kafka Connect defaults to Wallclock; Ferry to "
                "Record, which replays deterministically.")
    .define(TIMESTAMP_FIELD, ConfigType.STRING, "timestamp", Importance.LOW,
            group="Partitioner", doc="RecordField: the value field holding the time.")
    .define(NULL_VALUES, ConfigType.STRING, "fail", Importance.LOW,
            validator=one_of("fail", "ignore"), group="Format",
            doc="What a record with a null value (a tombstone) does: fail the task, or be "
                "skipped.")
    .define(STORAGE_CLASS, ConfigType.STRING, "io.confluent.connect.s3.storage.S3Storage",
            Importance.LOW, group="Storage",
            doc="Accepted for Kafka Connect compatibility; S3 is the only storage.")
)


@dataclass(frozen=True, slots=True)
class S3SinkConfig:
    """A task's parsed config."""

    bucket: str
    region: str
    endpoint: str
    path_style: bool
    access_key_id: str
    secret_access_key: str
    session_token: str
    part_size: int
    retries: int
    retry_backoff_ms: int
    compression: str
    topics_dir: str
    directory_delim: str
    file_delim: str
    zero_pad_width: int
    format: str
    separator: str
    extension: str
    flush_size: int
    rotate_interval_ms: int
    rotate_schedule_ms: int
    partitioner: str
    partition_fields: list[str]
    path_format: str
    partition_duration_ms: int
    timezone: str
    timestamp_extractor: str
    timestamp_field: str
    null_values: str

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> S3SinkConfig:
        v = CONFIG_DEF.parse(raw)
        return cls(
            bucket=v[BUCKET], region=v[REGION], endpoint=v[ENDPOINT], path_style=v[PATH_STYLE],
            access_key_id=_secret(v[ACCESS_KEY_ID]),
            secret_access_key=_secret(v[SECRET_ACCESS_KEY]),
            session_token=_secret(v[SESSION_TOKEN]), part_size=v[PART_SIZE],
            retries=v[RETRIES], retry_backoff_ms=v[RETRY_BACKOFF_MS],
            compression=v[COMPRESSION], topics_dir=v[TOPICS_DIR],
            directory_delim=v[DIRECTORY_DELIM], file_delim=v[FILE_DELIM],
            zero_pad_width=v[ZERO_PAD], format=v[FORMAT], separator=v[SEPARATOR],
            extension=v[EXTENSION], flush_size=v[FLUSH_SIZE],
            rotate_interval_ms=v[ROTATE_INTERVAL_MS], rotate_schedule_ms=v[ROTATE_SCHEDULE_MS],
            partitioner=v[PARTITIONER], partition_fields=v[PARTITION_FIELDS],
            path_format=v[PATH_FORMAT], partition_duration_ms=v[PARTITION_DURATION_MS],
            timezone=v[TIMEZONE], timestamp_extractor=v[TIMESTAMP_EXTRACTOR],
            timestamp_field=v[TIMESTAMP_FIELD], null_values=v[NULL_VALUES])

    def __repr__(self) -> str:  # never show credentials
        return f"S3SinkConfig(bucket={self.bucket!r}, endpoint={self.endpoint!r}, ...)"


def _secret(value: Any) -> str:
    return value.value if isinstance(value, Password) else str(value or "")
