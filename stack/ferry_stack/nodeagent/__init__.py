"""The test node agent: Ferry's stand-in for kubelet and kube-scheduler on one machine.

It registers a Node, binds pending pods to it, and runs each container's command as a local
process (images are ignored) with kubelet's env, volumes, probes, restarts and status. See
docs/test-stack.md ("The node agent") for what it does and does not do.
"""

from __future__ import annotations

from ferry_stack.nodeagent.agent import NodeAgent
from ferry_stack.nodeagent.service import (
    node_agent_service,
    start_node_agent_service,
    wait_node_ready,
)
from ferry_stack.nodeagent.settings import AgentSettings

__all__ = ["AgentSettings", "NodeAgent", "node_agent_service", "start_node_agent_service",
           "wait_node_ready"]
