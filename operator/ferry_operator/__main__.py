"""``ferry-operator`` (or ``python -m ferry_operator``): run the operator until SIGTERM.

Reads its settings from the environment (the Helm chart sets them): the model's
``OperatorSettings.from_env`` (worker image, default Kafka, internal topics, watched
namespaces) and :class:`ferry_operator.context.RuntimeSettings` (log level, health and
metrics ports, peering). Serves kopf's liveness probe on ``/healthz`` at the health port and
Prometheus metrics on ``/metrics`` at the metrics port.
"""

from __future__ import annotations

import logging
import os
import sys

from .model.settings import InvalidSettings, OperatorSettings


def main() -> int:
    import kopf

    from . import context, handlers, kube, metrics

    try:
        config = OperatorSettings.from_env(os.environ)
        runtime = context.RuntimeSettings.from_env(os.environ)
    except (InvalidSettings, ValueError) as exc:
        print(f"ferry-operator: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=runtime.log_level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("kafka").setLevel(logging.WARNING)
    operator = context.Operator(config, runtime, kube.Kube(kube.api_client(runtime.workers)),
                                context.operator_kafka_settings(os.environ))
    metrics.serve(runtime.metrics_port, runtime.host)
    memo = kopf.Memo(operator=operator)
    assert handlers.FINALIZER  # the import registers the handlers
    peering = runtime.peering
    kopf.run(
        standalone=not peering,
        peering_name=peering or None,
        priority=runtime.priority,
        clusterwide=config.cluster_wide,
        namespaces=list(config.watch_namespaces),
        liveness_endpoint=(f"http://{runtime.host}:{runtime.health_port}/healthz"
                           if runtime.health_port else None),
        memo=memo,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
