"""A typed view of a ``Connector`` resource, with the CRD's defaults applied.

Pure data: no external calls or any I/O. ``ConnectorResource.from_body(body)`` reads the
plain dict kopf (or the API) hands over. The CRD already rejects what its schema and CEL
rules can; this module applies the same defaults again (an object stored before a default
existed has none) and raises :class:`InvalidConnector`, never anything else, for what is still
wrong, so a caller can turn it into ``Ready=False`` with the message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

GROUP = "ferry.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
KIND = "Connector"
PLURAL = "connectors"

TARGET_STATES = ("running", "paused", "stopped")
OFFSETS_POLICIES = ("retain", "delete")
OFFSETS_ACTIONS = ("alter", "reset")
DEFAULT_METRICS_PORT = 8083


class InvalidConnector(ValueError):
    """The resource cannot be turned into workers; the message says what to fix."""


@dataclass(frozen=True)
class SecretKey:
    """One key of one Secret."""

    name: str
    key: str


@dataclass(frozen=True)
class KafkaTls:
    """TLS to the brokers: an optional CA bundle, an optional client certificate."""

    ca: SecretKey | None = None
    cert_secret: str | None = None
    cert_key: str = "tls.crt"
    key_key: str = "tls.key"


@dataclass(frozen=True)
class KafkaSasl:
    """SASL credentials, both from Secrets."""

    mechanism: str
    username: SecretKey
    password: SecretKey


@dataclass(frozen=True)
class KafkaConnection:
    """How the workers reach Kafka."""

    bootstrap_servers: str
    tls: KafkaTls | None = None
    sasl: KafkaSasl | None = None
    client_config: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SecretMount:
    """A Secret mounted read-only at ``/etc/ferry/secrets/<secret_name>/``."""

    secret_name: str
    optional: bool = False


@dataclass(frozen=True)
class PodOverrides:
    """``spec.template``: what a user may change in the worker pods."""

    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    node_selector: Mapping[str, str] = field(default_factory=dict)
    tolerations: tuple[Mapping[str, Any], ...] = ()
    affinity: Mapping[str, Any] | None = None
    service_account_name: str | None = None
    priority_class_name: str | None = None


@dataclass(frozen=True)
class AutoRestart:
    enabled: bool = True
    max_restarts: int = 5


@dataclass(frozen=True)
class RestartRequest:
    """``spec.restart``: a nonce; a new id asks for one restart."""

    id: str
    include_tasks: bool = False
    only_failed: bool = False


@dataclass(frozen=True)
class OffsetsRequest:
    """``spec.offsets``: a nonce; a new id asks for one alter or reset (KIP-875)."""

    id: str
    action: str
    offsets: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class ConnectorResource:
    """A Connector's metadata and spec, typed, with defaults applied."""

    name: str
    namespace: str
    uid: str
    generation: int
    class_name: str
    config: Mapping[str, str]
    tasks_max: int = 1
    state: str = "running"
    replicas: int = 1
    image: str | None = None
    image_pull_policy: str | None = None
    image_pull_secrets: tuple[str, ...] = ()
    resources: Mapping[str, Any] | None = None
    kafka: KafkaConnection | None = None
    secrets: tuple[SecretMount, ...] = ()
    env: tuple[Mapping[str, Any], ...] = ()
    template: PodOverrides = field(default_factory=PodOverrides)
    auto_restart: AutoRestart = field(default_factory=AutoRestart)
    offsets_policy_on_delete: str = "retain"
    metrics_port: int = DEFAULT_METRICS_PORT
    restart: RestartRequest | None = None
    offsets: OffsetsRequest | None = None

    @property
    def id(self) -> str:
        """``<namespace>/<name>``: the connector's id on the internal topics."""
        return f"{self.namespace}/{self.name}"

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> ConnectorResource:
        """Read a Connector resource (a dict); raise InvalidConnector for bad input."""
        meta = _mapping(body.get("metadata"), "metadata")
        spec = _mapping(body.get("spec"), "spec")
        name = _string(meta.get("name"), "metadata.name")
        if not name:
            raise InvalidConnector("metadata.name is required")
        config = _config(spec.get("config"))
        class_name = _string(spec.get("class"), "spec.class").strip()
        pasted_class = config.get("connector.class", "").strip()
        if class_name and pasted_class and class_name != pasted_class:
            raise InvalidConnector("config['connector.class'] disagrees with spec.class: "
                                   "set only one of them")
        class_name = class_name or pasted_class
        if not class_name:
            raise InvalidConnector("spec.class is required (or config['connector.class'])")
        tasks_max = _tasks_max(spec.get("tasksMax"), config.get("tasks.max"))
        template = _mapping(spec.get("template"), "spec.template")
        auto_restart = _mapping(spec.get("autoRestart"), "spec.autoRestart")
        return cls(
            name=name,
            namespace=_string(meta.get("namespace"), "metadata.namespace") or "default",
            uid=_string(meta.get("uid"), "metadata.uid"),
            generation=_integer(meta.get("generation"), "metadata.generation", 1),
            class_name=class_name,
            config=config,
            tasks_max=tasks_max,
            state=_choice(spec.get("state"), "spec.state", TARGET_STATES),
            replicas=_integer(spec.get("replicas"), "spec.replicas", 1, minimum=0),
            image=_string(spec.get("image"), "spec.image") or None,
            image_pull_policy=_string(spec.get("imagePullPolicy"), "spec.imagePullPolicy") or None,
            image_pull_secrets=tuple(
                _string(_mapping(s, "spec.imagePullSecrets[]").get("name"),
                        "spec.imagePullSecrets[].name")
                for s in _list(spec.get("imagePullSecrets"), "spec.imagePullSecrets")),
            resources=_mapping(spec.get("resources"), "spec.resources") or None,
            kafka=_kafka(spec.get("kafka")),
            secrets=_secrets(spec.get("secrets")),
            env=tuple(_mapping(e, "spec.env[]") for e in _list(spec.get("env"), "spec.env")),
            template=PodOverrides(
                labels=_string_map(template.get("labels"), "spec.template.labels"),
                annotations=_string_map(template.get("annotations"),
                                        "spec.template.annotations"),
                node_selector=_string_map(template.get("nodeSelector"),
                                          "spec.template.nodeSelector"),
                tolerations=tuple(_mapping(t, "spec.template.tolerations[]") for t in
                                  _list(template.get("tolerations"),
                                        "spec.template.tolerations")),
                affinity=_mapping(template.get("affinity"), "spec.template.affinity") or None,
                service_account_name=_string(template.get("serviceAccountName"),
                                             "spec.template.serviceAccountName") or None,
                priority_class_name=_string(template.get("priorityClassName"),
                                            "spec.template.priorityClassName") or None,
            ),
            auto_restart=AutoRestart(
                enabled=_boolean(auto_restart.get("enabled"), "spec.autoRestart.enabled", True),
                max_restarts=_integer(auto_restart.get("maxRestarts"),
                                      "spec.autoRestart.maxRestarts", 5, minimum=0),
            ),
            offsets_policy_on_delete=_choice(spec.get("offsetsPolicyOnDelete"),
                                             "spec.offsetsPolicyOnDelete", OFFSETS_POLICIES),
            metrics_port=_integer(spec.get("metricsPort"), "spec.metricsPort",
                                  DEFAULT_METRICS_PORT, minimum=1024, maximum=65535),
            restart=_restart(spec.get("restart")),
            offsets=_offsets(spec.get("offsets")),
        )


def config_value(value: Any) -> str:
    """A config value as Kafka Connect sees it: a string (YAML ints and bools stringified)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    raise TypeError(type(value).__name__)


def _config(raw: Any) -> dict[str, str]:
    result: dict[str, str] = {}
    for key, value in _mapping(raw, "spec.config").items():
        try:
            result[str(key)] = config_value(value)
        except TypeError:
            raise InvalidConnector(f"spec.config[{key!r}] must be a string or an integer, "
                                   f"not {type(value).__name__}") from None
    return result


def _tasks_max(spec_value: Any, config_value_: str | None) -> int:
    tasks_max = None if spec_value is None else _integer(spec_value, "spec.tasksMax", 1, minimum=1)
    if config_value_ is not None:
        try:
            pasted = int(config_value_)
        except ValueError:
            raise InvalidConnector(f"config['tasks.max'] must be an integer, "
                                   f"got {config_value_!r}") from None
        if pasted < 1:
            raise InvalidConnector("config['tasks.max'] must be at least 1")
        if tasks_max is not None and tasks_max != pasted:
            raise InvalidConnector("config['tasks.max'] disagrees with spec.tasksMax: "
                                   "set only one of them")
        return pasted
    return tasks_max or 1


def _kafka(raw: Any) -> KafkaConnection | None:
    if raw is None:
        return None
    kafka = _mapping(raw, "spec.kafka")
    servers = _string(kafka.get("bootstrapServers"), "spec.kafka.bootstrapServers").strip()
    if not servers:
        raise InvalidConnector("spec.kafka.bootstrapServers is required")
    tls = None
    if kafka.get("tls") is not None:
        raw_tls = _mapping(kafka.get("tls"), "spec.kafka.tls")
        ca = raw_tls.get("caSecret")
        cert = _mapping(raw_tls.get("certSecret"), "spec.kafka.tls.certSecret")
        tls = KafkaTls(
            ca=_secret_key(ca, "spec.kafka.tls.caSecret", "ca.crt") if ca is not None else None,
            cert_secret=_string(cert.get("name"), "spec.kafka.tls.certSecret.name") or None,
            cert_key=_string(cert.get("certKey"), "spec.kafka.tls.certSecret.certKey")
            or "tls.crt",
            key_key=_string(cert.get("keyKey"), "spec.kafka.tls.certSecret.keyKey") or "tls.key",
        )
    sasl = None
    if kafka.get("sasl") is not None:
        raw_sasl = _mapping(kafka.get("sasl"), "spec.kafka.sasl")
        if raw_sasl.get("usernameSecret") is None or raw_sasl.get("passwordSecret") is None:
            raise InvalidConnector("kafka.sasl needs both usernameSecret and passwordSecret")
        sasl = KafkaSasl(
            mechanism=_string(raw_sasl.get("mechanism"), "spec.kafka.sasl.mechanism")
            or "SCRAM-SHA-512",
            username=_secret_key(raw_sasl["usernameSecret"], "spec.kafka.sasl.usernameSecret"),
            password=_secret_key(raw_sasl["passwordSecret"], "spec.kafka.sasl.passwordSecret"),
        )
    client_config: dict[str, str] = {}
    for key, value in _mapping(kafka.get("config"), "spec.kafka.config").items():
        try:
            client_config[str(key)] = config_value(value)
        except TypeError:
            raise InvalidConnector(f"spec.kafka.config[{key!r}] must be a scalar") from None
    return KafkaConnection(bootstrap_servers=servers, tls=tls, sasl=sasl,
                           client_config=client_config)


def _secret_key(raw: Any, where: str, default_key: str = "") -> SecretKey:
    ref = _mapping(raw, where)
    name = _string(ref.get("name"), f"{where}.name")
    key = _string(ref.get("key"), f"{where}.key") or default_key
    if not name or not key:
        raise InvalidConnector(f"{where} needs a name and a key")
    return SecretKey(name=name, key=key)


def _secrets(raw: Any) -> tuple[SecretMount, ...]:
    mounts: list[SecretMount] = []
    seen: set[str] = set()
    for item in _list(raw, "spec.secrets"):
        entry = _mapping(item, "spec.secrets[]")
        name = _string(entry.get("secretName"), "spec.secrets[].secretName")
        if not name or "/" in name or name in {".", ".."}:
            raise InvalidConnector(f"spec.secrets[].secretName {name!r} is not a Secret name")
        if name in seen:
            raise InvalidConnector(f"spec.secrets lists {name!r} twice")
        seen.add(name)
        mounts.append(SecretMount(name, _boolean(entry.get("optional"),
                                                 "spec.secrets[].optional", False)))
    return tuple(mounts)


def _restart(raw: Any) -> RestartRequest | None:
    if raw is None:
        return None
    restart = _mapping(raw, "spec.restart")
    nonce = _string(restart.get("id"), "spec.restart.id").strip()
    if not nonce:
        raise InvalidConnector("spec.restart.id must not be empty")
    return RestartRequest(
        id=nonce,
        include_tasks=_boolean(restart.get("includeTasks"), "spec.restart.includeTasks", False),
        only_failed=_boolean(restart.get("onlyFailed"), "spec.restart.onlyFailed", False),
    )


def _offsets(raw: Any) -> OffsetsRequest | None:
    if raw is None:
        return None
    offsets = _mapping(raw, "spec.offsets")
    nonce = _string(offsets.get("id"), "spec.offsets.id").strip()
    if not nonce:
        raise InvalidConnector("spec.offsets.id must not be empty")
    action = _string(offsets.get("action"), "spec.offsets.action")
    if action not in OFFSETS_ACTIONS:
        raise InvalidConnector(f"spec.offsets.action must be alter or reset, got {action!r}")
    entries = tuple(_mapping(o, "spec.offsets.offsets[]")
                    for o in _list(offsets.get("offsets"), "spec.offsets.offsets"))
    if action == "alter" and not entries:
        raise InvalidConnector("spec.offsets.action alter needs a non-empty offsets list")
    return OffsetsRequest(id=nonce, action=action, offsets=entries)


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidConnector(f"{where} must be an object, not {type(value).__name__}")
    return dict(value)


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        raise InvalidConnector(f"{where} must be a list, not {type(value).__name__}")
    return list(value)


def _string(value: Any, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidConnector(f"{where} must be a string, not {type(value).__name__}")
    return value


def _string_map(value: Any, where: str) -> dict[str, str]:
    return {str(k): _string(v, f"{where}[{k!r}]") for k, v in _mapping(value, where).items()}


def _integer(value: Any, where: str, default: int, minimum: int | None = None,
             maximum: int | None = None) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidConnector(f"{where} must be an integer, not {type(value).__name__}")
    if minimum is not None and value < minimum:
        raise InvalidConnector(f"{where} must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise InvalidConnector(f"{where} must be at most {maximum}, got {value}")
    return value


def _boolean(value: Any, where: str, default: bool) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        raise InvalidConnector(f"{where} must be true or false, not {type(value).__name__}")
    return value


def _choice(value: Any, where: str, choices: tuple[str, ...]) -> str:
    text = _string(value, where) or choices[0]
    if text not in choices:
        raise InvalidConnector(f"{where} must be one of {', '.join(choices)}; got {text!r}")
    return text
