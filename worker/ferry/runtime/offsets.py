"""Source offset stores: in memory, in a local file (standalone mode), in ``ferry-offsets``.

All three keep every offset in memory (a connector's offsets are small) and persist on
``flush``; a store is used by one connector, its tasks share it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from ferry import kafka_log, protocol
from ferry.api.task import OffsetReader

log = logging.getLogger(__name__)

OffsetMap = dict[bytes, dict[str, Any] | None]


class OffsetStore(Protocol):
    """Where a connector's committed source offsets live."""

    def load(self) -> None:
        """Read the committed offsets (once; later calls return at once). Source runners call
        it on the task's own thread before the task starts, so a worker starting several
        tasks reads for all of them at the same time, not one after the other."""
        ...

    def get(self, source_partition: Mapping[str, Any]) -> dict[str, Any] | None: ...

    def commit(self, offsets: Mapping[bytes, dict[str, Any] | None]) -> None:
        """Durably store these offsets (keys from :func:`ferry.protocol.offset_key`)."""
        ...

    def close(self) -> None: ...


class StoreOffsetReader(OffsetReader):
    """The task-facing view of a store."""

    def __init__(self, store: OffsetStore) -> None:
        self._store = store

    def offset(self, source_partition: Mapping[str, Any]) -> dict[str, Any] | None:
        return self._store.get(source_partition)


class MemoryOffsetStore:
    def __init__(self, connector_id: str) -> None:
        self.connector_id = connector_id
        self._data: OffsetMap = {}
        self._lock = threading.Lock()

    def load(self) -> None:
        pass  # in memory (or read from a file at construction): nothing to read

    def get(self, source_partition: Mapping[str, Any]) -> dict[str, Any] | None:
        with self._lock:
            return self._data.get(protocol.offset_key(self.connector_id, source_partition))

    def commit(self, offsets: Mapping[bytes, dict[str, Any] | None]) -> None:
        with self._lock:
            self._data.update(offsets)

    def remember(self, offsets: Mapping[bytes, dict[str, Any] | None]) -> None:
        """Update the in-memory view only (offsets already written elsewhere, e.g. in a txn)."""
        with self._lock:
            self._data.update(offsets)

    def snapshot(self) -> OffsetMap:
        with self._lock:
            return dict(self._data)

    def close(self) -> None:
        pass


class FileOffsetStore(MemoryOffsetStore):
    """Offsets in a JSON file, replaced atomically (write, fsync, rename) on every commit."""

    def __init__(self, connector_id: str, path: Path) -> None:
        super().__init__(connector_id)
        self.path = path
        if path.exists():
            raw = json.loads(path.read_text() or "{}")
            for key, value in raw.get("offsets", {}).items():
                self._data[key.encode()] = value

    def commit(self, offsets: Mapping[bytes, dict[str, Any] | None]) -> None:
        super().commit(offsets)
        data = {k.decode(): v for k, v in self.snapshot().items() if v is not None}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "w") as handle:
            json.dump({"version": protocol.VERSION, "offsets": data}, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)
        with contextlib.suppress(OSError):
            dir_fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)


class KafkaOffsetStore(MemoryOffsetStore):
    """Offsets in the compacted ``ferry-offsets`` topic; read fully on :meth:`load`, written
    on commit."""

    def __init__(self, connector_id: str, client_config: Mapping[str, Any],
                 topic: str = protocol.DEFAULT_OFFSETS_TOPIC, read_timeout: float = 60.0) -> None:
        from confluent_kafka import Producer

        super().__init__(connector_id)
        self.topic = topic
        self._client_config = dict(client_config)
        self._producer = Producer({**self._client_config, "enable.idempotence": True,
                                   "linger.ms": 0})
        self._read_timeout = read_timeout
        self._loaded = False
        self._load_lock = threading.Lock()  # tasks of one connector may share a store

    def load(self) -> None:
        with self._load_lock:
            if not self._loaded:
                self._read_all(self._read_timeout)
                self._loaded = True

    def reload(self) -> None:
        """Read the topic again (after fencing a zombie, its last transaction is final)."""
        with self._load_lock:
            with self._lock:
                self._data.clear()
            self._read_all(self._read_timeout)
            self._loaded = True

    def _read_all(self, timeout: float) -> None:
        """Load this connector's latest offsets (the whole topic, read to its end)."""
        latest = kafka_log.read_compacted(self._client_config, self.topic, self._owns, timeout)
        for key, (_partition, value) in latest.items():
            self._apply(key, value)

    def _owns(self, key: bytes) -> bool:
        return protocol.offset_owner(key) == self.connector_id

    def _apply(self, key: bytes | None, value: bytes | None) -> None:
        if key is None:
            return
        try:
            connector_id, _ = protocol.parse_offset_key(key)
            if connector_id != self.connector_id:
                return
            self._data[key] = protocol.parse_offset_value(value)
        except protocol.ProtocolError as exc:
            log.warning("skipping unreadable record in %s: %s", self.topic, exc)

    def commit(self, offsets: Mapping[bytes, dict[str, Any] | None]) -> None:
        errors: list[str] = []

        def on_delivery(err: Any, _msg: Any) -> None:
            if err is not None:
                errors.append(str(err))

        for key, offset in offsets.items():
            self._producer.produce(self.topic, protocol.offset_value(offset), key,
                                   on_delivery=on_delivery)
        remaining = self._producer.flush(30)
        if remaining or errors:
            raise OSError(f"could not store offsets in {self.topic}: "
                          f"{errors[0] if errors else f'{remaining} not acknowledged'}")
        super().commit(offsets)

    def close(self) -> None:
        self._producer.flush(10)
