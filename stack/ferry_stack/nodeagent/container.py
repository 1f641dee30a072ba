"""One container of one pod: its local process, restarts, probes and reported status."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ferry_stack.nodeagent.probes import Prober

JSON = dict[str, Any]


def now_rfc3339() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Backoff:
    """Kubelet's crash-loop back-off, with caps short enough for tests."""

    initial: float = 1.0
    cap: float = 10.0
    # A run this long resets the back-off, as kubelet does after 2x its cap.
    reset_after: float = 20.0

    def delay(self, crashes: int) -> float:
        return float(min(self.cap, self.initial * 2 ** max(0, crashes - 1)))


@dataclass
class Terminated:
    exit_code: int
    reason: str
    started_at: str
    finished_at: str
    container_id: str
    signal: int | None = None
    message: str = ""

    def to_json(self) -> JSON:
        body: JSON = {"exitCode": self.exit_code, "reason": self.reason,
                      "startedAt": self.started_at, "finishedAt": self.finished_at,
                      "containerID": self.container_id}
        if self.signal is not None:
            body["signal"] = self.signal
        if self.message:
            body["message"] = self.message
        return {"terminated": body}


class ContainerRunner:
    """The process behind one container, restarted per the pod's restartPolicy."""

    def __init__(self, spec: JSON, log_path: Path, backoff: Backoff, init: bool = False) -> None:
        self.spec = spec
        self.backoff = backoff
        self.name = str(spec.get("name", ""))
        self.log_path = log_path
        self.init = init
        self.proc: subprocess.Popen[bytes] | None = None
        self.waiting_reason = "ContainerCreating"
        self.waiting_message = ""
        self.terminated: Terminated | None = None
        self.last_state: Terminated | None = None
        self.restart_count = 0
        self.runs = 0
        self.crashes = 0
        self.next_start_at = 0.0
        self.started_at = ""
        self.started_mono = 0.0
        self.kill_deadline: float | None = None
        self.probers: dict[str, Prober] = {}
        self.env: dict[str, str] = {}
        self.cwd: str | None = None

    @property
    def running(self) -> bool:
        return self.proc is not None

    @property
    def container_id(self) -> str:
        return f"ferry://{self.proc.pid if self.proc else 0}"

    def start(self, argv: list[str], env: dict[str, str], cwd: str | None) -> None:
        """Start the process in its own session (so its group can be signalled as a whole)."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, env=env,
                                         start_new_session=True)
        if self.runs > 0:
            self.restart_count += 1
        self.runs += 1
        self.env, self.cwd = env, cwd
        self.started_at, self.started_mono = now_rfc3339(), time.monotonic()
        self.terminated = None
        self.kill_deadline = None
        self.probers = {kind: Prober(kind, self.spec[key], self.started_mono)
                        for kind, key in (("startup", "startupProbe"),
                                          ("readiness", "readinessProbe"),
                                          ("liveness", "livenessProbe"))
                        if self.spec.get(key)}

    def poll(self) -> Terminated | None:
        """If the process ended, record and return how; else None."""
        if self.proc is None:
            return None
        code = self.proc.poll()
        if code is None:
            return None
        container_id = self.container_id
        self.proc = None
        # Any process left in the group dies with its container, as in a real one.
        _kill_group(container_id, signal.SIGKILL)
        sig = -code if code < 0 else None
        exit_code = 128 + sig if sig is not None else code
        reason = "Completed" if exit_code == 0 else "Error"
        self.terminated = Terminated(exit_code, reason, self.started_at, now_rfc3339(),
                                     container_id, sig)
        self.probers = {}
        if time.monotonic() - self.started_mono >= self.backoff.reset_after:
            self.crashes = 0
        self.crashes += 1
        return self.terminated

    def schedule_restart(self, delay: float) -> None:
        """Keep the last run as lastState and wait ``delay`` seconds (CrashLoopBackOff)."""
        self.last_state = self.terminated
        self.terminated = None
        self.next_start_at = time.monotonic() + delay
        self.waiting_reason = "CrashLoopBackOff"
        self.waiting_message = (f"back-off {delay:.0f}s restarting failed container={self.name}")

    def signal(self, sig: int) -> None:
        if self.proc is not None:
            _kill_group(self.container_id, sig)

    @property
    def started(self) -> bool:
        startup = self.probers.get("startup")
        return self.running and (startup is None or startup.ok)

    @property
    def ready(self) -> bool:
        readiness = self.probers.get("readiness")
        return self.started and (readiness is None or readiness.ok)

    def state_json(self) -> JSON:
        # All three keys, the unused ones null, so a merging patch never leaves two states.
        state: JSON = {"waiting": None, "running": None, "terminated": None}
        if self.proc is not None:
            state["running"] = {"startedAt": self.started_at}
        elif self.terminated is not None:
            state.update(self.terminated.to_json())
        else:
            state["waiting"] = {"reason": self.waiting_reason,
                                "message": self.waiting_message or None}
        return state

    def status_json(self) -> JSON:
        status: JSON = {
            "name": self.name,
            "image": str(self.spec.get("image") or "ferry-nodeagent/none"),
            "imageID": "",
            "ready": self.ready,
            "started": self.started,
            "restartCount": self.restart_count,
            "state": self.state_json(),
            "lastState": ({"waiting": None, "running": None, **self.last_state.to_json()}
                          if self.last_state else {"terminated": None}),
        }
        if self.proc is not None or self.terminated is not None:
            status["containerID"] = (self.container_id if self.proc is not None
                                     else self.terminated.container_id if self.terminated
                                     else "")
        return status


def _kill_group(container_id: str, sig: int) -> None:
    pid = int(container_id.rsplit("/", 1)[-1] or 0)
    if pid > 0:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)
