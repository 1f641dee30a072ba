"""``python -m ferry_stack.nodeagent --kubeconfig K --node-name N --workdir D``."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from pathlib import Path
from types import FrameType

from ferry_stack.nodeagent.agent import NodeAgent
from ferry_stack.nodeagent.settings import AgentSettings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ferry_stack.nodeagent",
                                     description="Ferry's test node agent (kubelet stand-in).")
    parser.add_argument("--kubeconfig", required=True, type=Path)
    parser.add_argument("--node-name", default="ferry-node")
    parser.add_argument("--workdir", required=True, type=Path)
    parser.add_argument("--pod-ip-octet", type=int, default=None,
                        help="pods get 127.<octet>.x.y (default: derived from the node name)")
    parser.add_argument("--max-grace", type=float, default=30.0,
                        help="cap on terminationGracePeriodSeconds")
    parser.add_argument("--shutdown-grace", type=float, default=5.0,
                        help="seconds between SIGTERM and SIGKILL of containers on exit")
    parser.add_argument("--no-mount-namespaces", action="store_true",
                        help="do not isolate volumeMounts in private mount namespaces")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(threadName)s %(message)s")
    settings = AgentSettings(workdir=args.workdir, max_grace=args.max_grace,
                             shutdown_grace=args.shutdown_grace,
                             mount_namespaces=not args.no_mount_namespaces)
    agent = NodeAgent(args.kubeconfig, args.node_name, args.workdir, settings=settings,
                      pod_ip_octet=args.pod_ip_octet)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    agent.start()
    try:
        stop.wait()
    finally:
        agent.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
