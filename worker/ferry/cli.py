"""The ``ferry`` command: run connectors, validate configs, list plugins."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from ferry import __version__


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

    plugins = sub.add_parser("plugins", help="list installed connectors, converters, transforms")
    plugins.set_defaults(func=cmd_plugins)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
