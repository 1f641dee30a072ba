"""The worker's Kafka connection as container env and volumes.

Pure functions: no external calls or any I/O. librdkafka settings reach the worker as
``FERRY_KAFKA_<KEY>`` (the key upper-cased, ``.`` → ``_``); SASL credentials come from
``secretKeyRef``, so their values never appear in the Deployment; TLS material is one
projected volume at :data:`TLS_DIR`.
"""

from __future__ import annotations

from typing import Any

from . import resource

TLS_DIR = "/etc/ferry/kafka-tls"
TLS_VOLUME = "kafka-tls"
# Group-readable: the pod's fsGroup owns the files, the worker runs without root.
SECRET_FILE_MODE = 0o440

JSON = dict[str, Any]


def env_name(librdkafka_key: str) -> str:
    """``sasl.mechanism`` → ``FERRY_KAFKA_SASL_MECHANISM``."""
    return "FERRY_KAFKA_" + librdkafka_key.upper().replace(".", "_")


def security_protocol(kafka: resource.KafkaConnection) -> str | None:
    """SSL, SASL_PLAINTEXT or SASL_SSL from what is configured; None for plaintext."""
    if kafka.sasl is not None:
        return "SASL_SSL" if kafka.tls is not None else "SASL_PLAINTEXT"
    return "SSL" if kafka.tls is not None else None


def kafka_env(kafka: resource.KafkaConnection) -> list[JSON]:
    """Env entries for TLS, SASL and the client overrides (an override beats a derived value)."""
    derived: dict[str, JSON] = {}
    protocol = security_protocol(kafka)
    if protocol is not None:
        derived["security.protocol"] = {"value": protocol}
    if kafka.tls is not None:
        if kafka.tls.ca is not None:
            derived["ssl.ca.location"] = {"value": f"{TLS_DIR}/ca.crt"}
        if kafka.tls.cert_secret is not None:
            derived["ssl.certificate.location"] = {"value": f"{TLS_DIR}/tls.crt"}
            derived["ssl.key.location"] = {"value": f"{TLS_DIR}/tls.key"}
    if kafka.sasl is not None:
        derived["sasl.mechanism"] = {"value": kafka.sasl.mechanism}
        derived["sasl.username"] = _secret_ref(kafka.sasl.username)
        derived["sasl.password"] = _secret_ref(kafka.sasl.password)
    env = [{"name": env_name(key), **source} for key, source in derived.items()
           if key not in kafka.client_config]
    env.extend({"name": env_name(key), "value": value}
               for key, value in sorted(kafka.client_config.items()))
    return env


def tls_volume(kafka: resource.KafkaConnection | None) -> JSON | None:
    """One projected volume with ca.crt, tls.crt and tls.key; None without TLS Secrets."""
    tls = kafka.tls if kafka is not None else None
    if tls is None or (tls.ca is None and tls.cert_secret is None):
        return None
    sources: list[JSON] = []
    if tls.ca is not None:
        sources.append({"secret": {"name": tls.ca.name,
                                   "items": [{"key": tls.ca.key, "path": "ca.crt"}]}})
    if tls.cert_secret is not None:
        sources.append({"secret": {"name": tls.cert_secret,
                                   "items": [{"key": tls.cert_key, "path": "tls.crt"},
                                             {"key": tls.key_key, "path": "tls.key"}]}})
    return {"name": TLS_VOLUME,
            "projected": {"sources": sources, "defaultMode": SECRET_FILE_MODE}}


def _secret_ref(ref: resource.SecretKey) -> JSON:
    return {"valueFrom": {"secretKeyRef": {"name": ref.name, "key": ref.key}}}
