"""The ``ferry`` command: run connectors, validate configs, list plugins, manage offsets."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ferry import __version__

if TYPE_CHECKING:
    from ferry.offsets_admin import Kind


def _client_settings(pairs: Sequence[str]) -> dict[str, str]:
    settings: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"ferry: --kafka-config expects key=value, got {pair!r}")
        settings[key.strip()] = value.strip()
    return settings


def cmd_run(args: argparse.Namespace) -> int:
    from ferry.api.errors import ConfigError
    from ferry.runtime.connector_config import load_connector_file
    from ferry.runtime.logging_context import configure_logging
    from ferry.runtime.secrets import SCRUBBER
    from ferry.runtime.standalone import Standalone
    from ferry.runtime.worker_config import WorkerConfig

    configure_logging(args.log_format, args.log_level, SCRUBBER)
    try:
        specs = [load_connector_file(Path(p)) for p in args.connector]
    except (ConfigError, OSError) as exc:
        print(f"ferry run: {exc}", file=sys.stderr)
        return 2
    worker = WorkerConfig(bootstrap_servers=args.bootstrap_servers,
                          client=_client_settings(args.kafka_config))
    if args.worker_id:
        worker.worker_id = args.worker_id
    offsets_file = None if args.offsets_topic else Path(args.offsets_file)
    if args.offsets_topic:
        worker.offsets_topic = args.offsets_topic
    standalone = Standalone(specs, worker, offsets_file, args.http_host, args.http_port,
                            args.shutdown_timeout)
    return standalone.run()


def kafka_settings_from_env(environ: Mapping[str, str]) -> dict[str, str]:
    """librdkafka settings from ``FERRY_KAFKA_<KEY>`` (``SASL_USERNAME`` -> ``sasl.username``)."""
    prefix = "FERRY_KAFKA_"
    return {k[len(prefix):].lower().replace("_", "."): v for k, v in environ.items()
            if k.startswith(prefix) and len(k) > len(prefix)}


def cmd_worker(args: argparse.Namespace) -> int:
    from ferry.runtime.distributed import DistributedWorker, GroupSettings
    from ferry.runtime.logging_context import configure_logging
    from ferry.runtime.secrets import SCRUBBER
    from ferry.runtime.worker_config import WorkerConfig

    configure_logging(args.log_format, args.log_level, SCRUBBER)
    if not args.connector:
        print("ferry worker: --connector (or FERRY_CONNECTOR) is required", file=sys.stderr)
        return 2
    worker = WorkerConfig(
        bootstrap_servers=args.bootstrap_servers,
        client={**kafka_settings_from_env(os.environ), **_client_settings(args.kafka_config)},
        configs_topic=args.configs_topic, offsets_topic=args.offsets_topic,
        status_topic=args.status_topic)
    if args.worker_id:
        worker.worker_id = args.worker_id
    group = GroupSettings(protocol=args.group_protocol,
                          session_timeout_ms=args.session_timeout_ms,
                          heartbeat_interval_ms=max(100, args.session_timeout_ms // 10),
                          static_membership=args.static_membership)
    try:
        distributed = DistributedWorker(args.connector, worker, group, args.http_host,
                                        args.http_port, args.shutdown_timeout)
    except ValueError as exc:
        print(f"ferry worker: {exc}", file=sys.stderr)
        return 2
    return distributed.run()


def cmd_validate(args: argparse.Namespace) -> int:
    from ferry.api.errors import ConfigError
    from ferry.runtime.connector_config import load_connector_file
    from ferry.runtime.connector_runtime import validate

    failed = False
    for path in args.connector:
        try:
            spec = load_connector_file(Path(path))
        except (ConfigError, OSError) as exc:
            print(f"{path}: {exc}")
            failed = True
            continue
        _, problems = validate(spec)
        if not problems:
            print(f"{path}: {spec.id} is valid ({spec.class_name})")
            continue
        failed = True
        print(f"{path}: {spec.id} has {len(problems)} problem(s):")
        for key, message in problems.items():
            print(f"  {key or '(config)'}: {message}")
    return 1 if failed else 0


def cmd_plugins(args: argparse.Namespace) -> int:
    from ferry.runtime.plugins import installed_plugins

    plugins = sorted(installed_plugins(), key=lambda p: (p.kind.value, p.name))
    width = max((len(p.name) for p in plugins), default=10)
    print(f"{'KIND':<17} {'NAME':<{width}} {'VERSION':<8} {'ORIGIN':<10} CLASS")
    for p in plugins:
        print(f"{p.kind.value:<17} {p.name:<{width}} {p.version:<8} {p.origin:<10} {p.class_path}")
    return 0


def _plugin_kind(class_name: str) -> Kind | None:
    """Source or sink from the installed plugins; None when the class is not installed here."""
    from ferry.api.connector import SinkConnector, SourceConnector
    from ferry.runtime.plugins import PluginKind, resolve

    try:
        cls = resolve(PluginKind.CONNECTOR, class_name)
    except Exception:  # noqa: BLE001 - not installed here: fall back to the config rule
        return None
    if issubclass(cls, SinkConnector):
        return "sink"
    return "source" if issubclass(cls, SourceConnector) else None


def cmd_offsets(args: argparse.Namespace) -> int:
    """``ferry offsets list|alter|reset <ns/name>``: KIP-875 for a distributed connector."""
    from ferry import offsets_admin

    admin = offsets_admin.OffsetsAdmin(
        {"bootstrap.servers": args.bootstrap_servers, **kafka_settings_from_env(os.environ),
         **_client_settings(args.kafka_config)},
        configs_topic=args.configs_topic, offsets_topic=args.offsets_topic,
        status_topic=args.status_topic, resolve_kind=_plugin_kind)
    where = f"ferry offsets {args.action}"
    try:
        if args.action == "list":
            print(json.dumps(admin.list_offsets(args.connector).to_json(), indent=2))
            return 0
        if args.action == "alter":
            try:
                text = (sys.stdin.read() if args.file in ("", "-")
                        else Path(args.file).read_text())
                body = json.loads(text)
            except (OSError, ValueError) as exc:
                print(f"{where}: cannot read the offsets JSON: {exc}", file=sys.stderr)
                return 2
            print(admin.alter(args.connector, body))
            return 0
        print(admin.reset(args.connector))
        return 0
    except offsets_admin.OffsetsUnavailable as exc:
        print(f"{where}: {exc}", file=sys.stderr)
        return 3
    except (offsets_admin.OffsetsError, ValueError) as exc:  # ProtocolError: a bad id
        print(f"{where}: {exc}", file=sys.stderr)
        return 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ferry", description=__doc__)
    parser.add_argument("--version", action="version", version=f"ferry {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run connectors in this process (standalone mode)")
    run.add_argument("connector", nargs="+",
                     help="Connector YAML, Kafka Connect JSON or .properties file(s)")
    run.add_argument("--bootstrap-servers", "-b", default="127.0.0.1:9092")
    run.add_argument("--kafka-config", "-X", action="append", default=[], metavar="KEY=VALUE",
                     help="librdkafka setting for every client (repeatable)")
    run.add_argument("--offsets-file", default="ferry.offsets.json",
                     help="where source offsets are kept (default %(default)s)")
    run.add_argument("--offsets-topic", default="",
                     help="keep source offsets in this Kafka topic instead of a file")
    run.add_argument("--http-host", default="127.0.0.1")
    run.add_argument("--http-port", type=int, default=8083)
    run.add_argument("--worker-id", default="")
    run.add_argument("--shutdown-timeout", type=float, default=30.0)
    run.add_argument("--log-format", choices=["text", "json"], default="text")
    run.add_argument("--log-level", default="INFO")
    run.set_defaults(func=cmd_run)

    validate = sub.add_parser("validate", help="check connector configs, one message per field")
    validate.add_argument("connector", nargs="+")
    validate.set_defaults(func=cmd_validate)

    env = os.environ.get
    worker = sub.add_parser("worker", help="run as one of a connector's distributed workers")
    worker.add_argument("--connector", default=env("FERRY_CONNECTOR", ""),
                        help="<namespace>/<name> (env FERRY_CONNECTOR)")
    worker.add_argument("--bootstrap-servers", "-b",
                        default=env("FERRY_BOOTSTRAP_SERVERS", "127.0.0.1:9092"))
    worker.add_argument("--kafka-config", "-X", action="append", default=[],
                        metavar="KEY=VALUE",
                        help="librdkafka setting (repeatable; also env FERRY_KAFKA_<KEY>)")
    worker.add_argument("--worker-id", default=env("FERRY_WORKER_ID", ""))
    worker.add_argument("--http-host", default=env("FERRY_HTTP_HOST", "127.0.0.1"))
    worker.add_argument("--http-port", type=int, default=int(env("FERRY_HTTP_PORT", "8083")))
    worker.add_argument("--configs-topic", default=env("FERRY_CONFIGS_TOPIC", "ferry-configs"))
    worker.add_argument("--offsets-topic", default=env("FERRY_OFFSETS_TOPIC", "ferry-offsets"))
    worker.add_argument("--status-topic", default=env("FERRY_STATUS_TOPIC", "ferry-status"))
    worker.add_argument("--group-protocol", choices=["classic", "consumer"],
                        default=env("FERRY_GROUP_PROTOCOL", "classic"),
                        help="classic (cooperative-sticky) or consumer (KIP-848)")
    worker.add_argument("--session-timeout-ms", type=int,
                        default=int(env("FERRY_SESSION_TIMEOUT_MS", "10000")))
    worker.add_argument("--static-membership", action="store_true",
                        default=env("FERRY_STATIC_MEMBERSHIP", "") == "true",
                        help="keep units across a quick restart (but SIGTERM no longer "
                             "hands them over at once)")
    worker.add_argument("--shutdown-timeout", type=float, default=30.0)
    worker.add_argument("--log-format", choices=["text", "json"],
                        default=env("FERRY_LOG_FORMAT", "text"))
    worker.add_argument("--log-level", default=env("FERRY_LOG_LEVEL", "INFO"))
    worker.set_defaults(func=cmd_worker)

    offsets = sub.add_parser(
        "offsets", help="list, alter or reset a connector's offsets (KIP-875)",
        description="Kafka Connect's offsets API for a distributed connector: list prints "
                    "the GET /connectors/<name>/offsets JSON (plus the sink lag); alter takes "
                    "the PATCH body; alter and reset need the connector stopped. Exit codes: "
                    "1 refused (unknown, not stopped, invalid offsets), 2 unreadable input, "
                    "3 Kafka unreachable.")
    actions = offsets.add_subparsers(dest="action", required=True)
    for action, text in (("list", "print the offsets as JSON"),
                         ("alter", "set or remove the offsets of some partitions"),
                         ("reset", "forget every offset of the connector")):
        command = actions.add_parser(action, help=text)
        command.add_argument("connector", help="<namespace>/<name>")
        if action == "alter":
            command.add_argument("--file", "-f", default="-",
                                 help='{"offsets": [...]} JSON file; - or omitted: stdin')
        command.add_argument("--bootstrap-servers", "-b",
                             default=env("FERRY_BOOTSTRAP_SERVERS", "127.0.0.1:9092"))
        command.add_argument("--kafka-config", "-X", action="append", default=[],
                             metavar="KEY=VALUE",
                             help="librdkafka setting (repeatable; also env FERRY_KAFKA_<KEY>)")
        command.add_argument("--configs-topic",
                             default=env("FERRY_CONFIGS_TOPIC", "ferry-configs"))
        command.add_argument("--offsets-topic",
                             default=env("FERRY_OFFSETS_TOPIC", "ferry-offsets"))
        command.add_argument("--status-topic", default=env("FERRY_STATUS_TOPIC", "ferry-status"))
        command.set_defaults(func=cmd_offsets)

    plugins = sub.add_parser("plugins", help="list installed connectors, converters, transforms")
    plugins.set_defaults(func=cmd_plugins)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
