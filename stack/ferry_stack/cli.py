"""``ferry-stack up|down|env``: the whole test stack by hand (what the tests start themselves).

``up`` starts a Kafka broker, the Kubernetes control plane and the node agent, detached,
with their state under ``.stack/`` (or ``--workdir``); ``env`` prints the variables that
reach them (``eval $(ferry-stack env)``); ``down`` stops everything ``up`` started.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from ferry_stack.controlplane import ControlPlane
from ferry_stack.kafka import KafkaBroker, stop_detached
from ferry_stack.process import stop_group

NODE_NAME = "ferry-node"


def _paths(workdir: Path) -> dict[str, Path]:
    return {"kafka": workdir / "kafka", "kafka_state": workdir / "kafka.json",
            "plane": workdir / "controlplane", "agent": workdir / "nodeagent",
            "agent_state": workdir / "nodeagent.json", "env": workdir / "env"}


def up(workdir: Path, kube: bool) -> int:
    paths = _paths(workdir)
    if paths["kafka_state"].exists():
        print(f"ferry-stack: already up in {workdir} (ferry-stack down first)", file=sys.stderr)
        return 1
    workdir.mkdir(parents=True, exist_ok=True)
    broker = KafkaBroker(paths["kafka"]).start()
    broker.state().save(paths["kafka_state"])
    env = {"FERRY_BOOTSTRAP_SERVERS": broker.bootstrap_servers}
    print(f"ferry-stack: Kafka at {broker.bootstrap_servers}")
    if kube:
        from ferry_stack.nodeagent.service import start_node_agent_service

        plane = ControlPlane(paths["plane"]).start()
        env.update(plane.env)
        print(f"ferry-stack: Kubernetes API at {plane.server} (KUBECONFIG={plane.kubeconfig})")
        agent = start_node_agent_service(plane.kubeconfig, NODE_NAME, paths["agent"])
        paths["agent_state"].write_text(json.dumps({"pid": agent.pid}))
        print(f"ferry-stack: node agent running node {NODE_NAME}")
    paths["env"].write_text("".join(f"export {k}={v}\n" for k, v in env.items()))
    print(f"ferry-stack: up; eval $(ferry-stack env --workdir {workdir})")
    return 0


def down(workdir: Path) -> int:
    paths = _paths(workdir)
    if paths["agent_state"].exists():
        stop_group(int(json.loads(paths["agent_state"].read_text())["pid"]), grace=15)
        paths["agent_state"].unlink()
    if paths["plane"].exists():
        ControlPlane.stop_from_workdir(paths["plane"])
    stop_detached(paths["kafka_state"])
    shutil.rmtree(workdir, ignore_errors=True)
    print("ferry-stack: down")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ferry-stack", description=__doc__)
    parser.add_argument("command", choices=["up", "down", "env"])
    parser.add_argument("--workdir", type=Path, default=Path(".stack"))
    parser.add_argument("--no-kube", action="store_true",
                        help="only Kafka (no control plane, no node agent)")
    args = parser.parse_args(argv)
    workdir = args.workdir.resolve()
    if args.command == "up":
        return up(workdir, kube=not args.no_kube)
    if args.command == "down":
        return down(workdir)
    env_file = _paths(workdir)["env"]
    if not env_file.exists():
        print("ferry-stack: not up", file=sys.stderr)
        return 1
    print(env_file.read_text(), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
