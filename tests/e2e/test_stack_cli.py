"""`ferry-stack up|env|down` starts the whole stack by hand and leaves nothing behind."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient

pytestmark = pytest.mark.e2e

STACK = str(Path(sys.executable).with_name("ferry-stack"))


def _processes_mentioning(text: str) -> list[str]:
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True)
    return [line for line in ps.stdout.splitlines() if text in line and "ps -eo" not in line]


def test_up_env_down(tmp_path: Path) -> None:
    workdir = tmp_path / "stack"
    try:
        up = subprocess.run([STACK, "up", "--workdir", str(workdir)], capture_output=True,
                            text=True, timeout=300)
        assert up.returncode == 0, up.stdout + up.stderr
        env = subprocess.run([STACK, "env", "--workdir", str(workdir)], capture_output=True,
                             text=True, check=True).stdout
        values = dict(line.removeprefix("export ").split("=", 1) for line in env.splitlines())
        assert Path(values["KUBECONFIG"]).exists()
        metadata = AdminClient({"bootstrap.servers": values["FERRY_BOOTSTRAP_SERVERS"]}
                               ).list_topics(timeout=10)
        assert len(metadata.brokers) == 1
        from kubernetes import client, config

        api = client.CoreV1Api(config.new_client_from_config(config_file=values["KUBECONFIG"]))
        nodes = api.list_node().items
        assert [n.metadata.name for n in nodes] == ["ferry-node"]
    finally:
        down = subprocess.run([STACK, "down", "--workdir", str(workdir)], capture_output=True,
                              text=True, timeout=120)
    assert down.returncode == 0, down.stdout + down.stderr
    assert _processes_mentioning(str(workdir)) == []
    assert not workdir.exists()
