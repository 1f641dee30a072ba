"""One pod on this node: a thread that runs its containers and reports its status.

The worker polls (every ``settings.tick``) rather than reacting to process events: a few
pods per test make that cheap, and one loop keeps restarts, probes, deletion and status in
one place without locks between them.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from ferry_stack.nodeagent.container import ContainerRunner, now_rfc3339
from ferry_stack.nodeagent.kube import ApiError, pod_path
from ferry_stack.nodeagent.podenv import ConfigError, container_argv, container_env
from ferry_stack.nodeagent.probes import run_probe
from ferry_stack.nodeagent.settings import PodHost
from ferry_stack.nodeagent.volumes import Mount, container_mounts, project_volumes

JSON = dict[str, Any]
log = logging.getLogger("ferry.nodeagent")

LAUNCHER = Path(__file__).with_name("launch.py")
# A pod whose object vanished from the API gets this long between SIGTERM and SIGKILL.
VANISHED_GRACE = 2.0
# Status is re-sent this often even when unchanged, in case a patch was lost.
STATUS_RESEND = 60.0
CONFIG_RETRY = 2.0


def restarts(policy: str, exit_code: int) -> bool:
    return policy == "Always" or (policy == "OnFailure" and exit_code != 0)


def is_sidecar(runner: ContainerRunner) -> bool:
    return runner.init and runner.spec.get("restartPolicy") == "Always"


class PodWorker:
    """Runs one pod until it is deleted, vanishes, or the agent shuts down."""

    def __init__(self, host: PodHost, pod: JSON, pod_ip: str) -> None:
        self.host = host
        self.pod = pod
        self.pod_ip = pod_ip
        meta = pod["metadata"]
        self.namespace, self.name, self.uid = meta["namespace"], meta["name"], meta["uid"]
        self.pod_dir = host.settings.workdir / "pods" / f"{self.namespace}_{self.name}"
        spec = pod.get("spec") or {}
        self.policy = str(spec.get("restartPolicy") or "Always")
        backoff = host.settings.backoff
        self.inits = [ContainerRunner(c, self._log_path(c), backoff, init=True)
                      for c in spec.get("initContainers") or []]
        self.mains = [ContainerRunner(c, self._log_path(c), backoff)
                      for c in spec.get("containers") or []]
        self.init_index = 0
        self.volumes: dict[str, Path] | None = None
        self.volumes_at = 0.0
        self.start_time = now_rfc3339()
        self.conditions: dict[str, tuple[str, str]] = {}
        self.last_status: JSON | None = None
        self.last_publish = 0.0
        self.warned: set[str] = set()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._vanished = False
        self._shutdown = False
        self.thread = threading.Thread(target=self._run, daemon=True,
                                       name=f"pod-{self.namespace}/{self.name}")

    def _log_path(self, container: JSON) -> Path:
        return self.pod_dir / f"{container.get('name')}.log"

    # -- called from other threads ----------------------------------------------------------

    def start(self) -> None:
        self.thread.start()

    def update(self, pod: JSON) -> None:
        with self._lock:
            self.pod = pod
        self._wake.set()

    def vanish(self) -> None:
        self._vanished = True
        self._wake.set()

    def shutdown(self) -> None:
        self._shutdown = True
        self._wake.set()

    def join(self, timeout: float) -> None:
        self.thread.join(timeout)

    # -- the loop ---------------------------------------------------------------------------

    def _run(self) -> None:
        self.pod_dir.mkdir(parents=True, exist_ok=True)
        try:
            while not self._step():
                self._wake.wait(self.host.settings.tick)
                self._wake.clear()
        finally:
            self._stop_all(0)
            self._cleanup()
            self.host.worker_done(self.uid, self.pod_ip)

    def _step(self) -> bool:
        """One pass; True once the worker is finished."""
        with self._lock:
            pod = self.pod
        try:
            if self._vanished:
                self._stop_all(VANISHED_GRACE)
                return True
            if self._shutdown:
                self._stop_all(self.host.settings.shutdown_grace)
                return True
            if pod["metadata"].get("deletionTimestamp"):
                self._delete(pod)
                return True
            self._tick(pod)
            self._publish(pod)
        except Exception as error:  # noqa: BLE001 - a weird pod must not stop the agent
            log.error("pod %s/%s: %s", self.namespace, self.name, traceback.format_exc())
            self._warn_once(pod, "NodeAgentError", f"{type(error).__name__}: {error}")
            time.sleep(1.0)
        return False

    def _warn_once(self, pod: JSON, reason: str, message: str) -> None:
        key = f"{reason}:{message}"
        if key not in self.warned:
            self.warned.add(key)
            self.host.event(pod, "Warning", reason, message)

    # -- running containers -----------------------------------------------------------------

    def _tick(self, pod: JSON) -> None:
        now = time.monotonic()
        if self.volumes is None or now - self.volumes_at >= self.host.settings.volume_refresh:
            self._project(pod, now)
        if self.volumes is None or not self._init_phase(pod, now):
            return
        if self._phase() in ("Succeeded", "Failed"):
            # Sidecars end with the pod's regular containers.
            for runner in self.inits:
                runner.signal(signal.SIGTERM)
            return
        for runner in self.mains:
            self._drive(runner, pod, now, self.policy)

    def _project(self, pod: JSON, now: float) -> None:
        try:
            self.volumes = project_volumes(pod, self.pod_dir, self.host.settings.workdir / "pvc",
                                           self.host.volume_data,
                                           self.host.env_sources(self.pod_ip))
            self.volumes_at = now
        except (ConfigError, OSError, ApiError) as error:
            self.volumes_at = now - self.host.settings.volume_refresh + CONFIG_RETRY
            if self.volumes is None:
                for runner in self.inits + self.mains:
                    runner.waiting_message = f"volumes: {error}"
            self._warn_once(pod, "FailedMount", str(error))

    def _init_phase(self, pod: JSON, now: float) -> bool:
        """Drive init containers in order; True once all are done (sidecars started)."""
        init_policy = "Never" if self.policy == "Never" else "OnFailure"
        for runner in self.inits[:self.init_index]:
            if is_sidecar(runner):
                self._drive(runner, pod, now, "Always")
        while self.init_index < len(self.inits):
            runner = self.inits[self.init_index]
            sidecar = is_sidecar(runner)
            self._drive(runner, pod, now, "Always" if sidecar else init_policy)
            done = runner.started if sidecar else (
                runner.terminated is not None and runner.terminated.exit_code == 0)
            if not done:
                return False
            self.init_index += 1
        return True

    def _drive(self, runner: ContainerRunner, pod: JSON, now: float, policy: str) -> None:
        exited = runner.poll()
        if exited is not None and restarts(policy, exited.exit_code):
            delay = self.host.settings.backoff.delay(runner.crashes)
            runner.schedule_restart(delay)
            self.host.event(pod, "Warning" if exited.exit_code else "Normal", "BackOff",
                            f"container {runner.name} exited with {exited.exit_code}; "
                            f"{runner.waiting_message}")
        if runner.running:
            self._probe(runner, pod, now)
            if runner.kill_deadline is not None and now >= runner.kill_deadline:
                runner.signal(signal.SIGKILL)
        elif runner.terminated is None and now >= runner.next_start_at:
            self._start(runner, pod)

    def _start(self, runner: ContainerRunner, pod: JSON) -> None:
        assert self.volumes is not None
        try:
            env = container_env(pod, runner.spec, self.host.env_sources(self.pod_ip),
                                self.host.base_env(pod, self.pod_ip))
            argv = container_argv(runner.spec, env)
            mounts = container_mounts(runner.spec, self.volumes, env)
        except (ConfigError, ApiError, OSError) as error:
            runner.waiting_reason = "CreateContainerConfigError"
            runner.waiting_message = str(error)
            runner.next_start_at = time.monotonic() + CONFIG_RETRY
            self._warn_once(pod, "Failed", f"container {runner.name}: {error}")
            return
        cwd = str(runner.spec.get("workingDir") or self.pod_dir)
        runner.start(self._launch_argv(runner, pod, argv, mounts, cwd), env, cwd)
        self.host.event(pod, "Normal", "Started", f"Started container {runner.name} "
                        f"(pid {runner.proc.pid if runner.proc else '?'}, ip {self.pod_ip})")

    def _launch_argv(self, runner: ContainerRunner, pod: JSON, argv: list[str],
                     mounts: list[Mount], cwd: str) -> list[str]:
        """The command line that sets up mounts and execs ``argv`` (see launch.py)."""
        settings = self.host.settings
        private = bool(mounts) and settings.mount_namespaces
        if mounts and not private:
            self._warn_once(pod, "MountsNotIsolated",
                            "mount namespaces are off: volumeMounts are not mounted; "
                            f"volumes are under {self.pod_dir / 'volumes'}")
        scratch = self.pod_dir / ".mnt" / runner.name
        scratch.mkdir(parents=True, exist_ok=True)
        spec_path = self.pod_dir / ".launch" / f"{runner.name}.json"
        spec_path.parent.mkdir(parents=True, exist_ok=True)
        spec_path.write_text(json.dumps({
            "argv": argv, "cwd": cwd, "scratch": str(scratch),
            "host_dirs_log": str(self.pod_dir / ".host-dirs"),
            "mounts": [{"source": m.source, "target": m.target, "readOnly": m.read_only}
                       for m in [*mounts, *_passthrough(mounts)]] if private else [],
        }))
        prefix: list[str] = []
        if shutil.which("setpriv"):
            # Containers die with the agent even if it is SIGKILLed.
            prefix += ["setpriv", "--pdeathsig", "KILL"]
        if private:
            prefix += ["unshare", "--mount", "--propagation", "private"]
        return [*prefix, sys.executable, "-I", "-S", str(LAUNCHER), str(spec_path)]

    def _probe(self, runner: ContainerRunner, pod: JSON, now: float) -> None:
        startup = runner.probers.get("startup")
        for kind, prober in list(runner.probers.items()):
            if kind != "startup" and startup is not None and not startup.ok:
                continue
            if (kind == "startup" and prober.ok) or not prober.due(now):
                continue
            ok = run_probe(prober.spec, self.pod_ip, runner.spec, runner.env, runner.cwd)
            changed = prober.record(ok, time.monotonic())
            if changed and not ok:
                self.host.event(pod, "Warning", "Unhealthy",
                                f"{kind.capitalize()} probe failed for container {runner.name}")
            if kind in ("liveness", "startup") and prober.failed:
                self._kill_unhealthy(runner, pod, kind, now)
                return

    def _kill_unhealthy(self, runner: ContainerRunner, pod: JSON, kind: str, now: float) -> None:
        self.host.event(pod, "Normal", "Killing",
                        f"Container {runner.name} failed {kind} probe, will be restarted")
        runner.signal(signal.SIGTERM)
        runner.kill_deadline = now + self._grace(pod)
        runner.probers = {}

    # -- stopping -----------------------------------------------------------------------------

    def _grace(self, pod: JSON) -> float:
        meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
        grace = meta.get("deletionGracePeriodSeconds")
        if grace is None:
            grace = spec.get("terminationGracePeriodSeconds", 30)
        return float(min(self.host.settings.max_grace, max(0, int(grace))))

    def _stop_all(self, grace: float) -> None:
        """SIGTERM every running container's group, SIGKILL what is left after ``grace``."""
        running = [r for r in self.inits + self.mains if r.running]
        for runner in running:
            runner.signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(
                r.proc is not None and r.proc.poll() is None for r in running):
            time.sleep(0.05)
        for runner in running:
            runner.signal(signal.SIGKILL)
            if runner.proc is not None:
                runner.proc.wait(timeout=10)
            runner.poll()

    def _delete(self, pod: JSON) -> None:
        """Graceful deletion: stop, report, then remove the object for good (kubelet's job)."""
        if any(r.running for r in self.inits + self.mains):
            self.host.event(pod, "Normal", "Killing", "Stopping containers")
        self._stop_all(self._grace(pod))
        self._publish(pod, force=True)
        try:
            self.host.kube.delete(pod_path(self.namespace, self.name),
                                  {"gracePeriodSeconds": 0, "preconditions": {"uid": self.uid}})
        except ApiError as error:
            if error.status not in (404, 409):
                log.warning("deleting pod %s/%s: %s", self.namespace, self.name, error)

    def _cleanup(self) -> None:
        """Remove projected volumes and host mount points; keep the logs for tests."""
        shutil.rmtree(self.pod_dir / "volumes", ignore_errors=True)
        shutil.rmtree(self.pod_dir / ".mnt", ignore_errors=True)
        host_dirs = self.pod_dir / ".host-dirs"
        if host_dirs.exists():
            paths = sorted(set(host_dirs.read_text().split()), key=len, reverse=True)
            for path in map(Path, paths):
                with contextlib.suppress(OSError):
                    path.rmdir() if path.is_dir() else path.unlink()
            host_dirs.unlink()

    # -- status -------------------------------------------------------------------------------

    def _phase(self) -> str:
        for runner in self.inits:
            if (not is_sidecar(runner) and runner.terminated is not None
                    and runner.terminated.exit_code != 0):
                return "Failed"
        if self.init_index < len(self.inits):
            return "Pending"
        if any(r.running for r in self.mains):
            return "Running"
        finals = [r.terminated for r in self.mains]
        if finals and all(t is not None for t in finals):
            return "Succeeded" if all(t is not None and t.exit_code == 0 for t in finals) \
                else "Failed"
        if any(r.runs > 0 for r in self.mains):
            return "Running"
        return "Pending"

    def _condition(self, kind: str, ok: bool, reason: str = "", message: str = "") -> JSON:
        status = "True" if ok else "False"
        previous = self.conditions.get(kind)
        if previous is None or previous[0] != status:
            self.conditions[kind] = (status, now_rfc3339())
        # Conditions are merged by type: null clears a reason or message of an earlier patch.
        return {"type": kind, "status": status, "lastProbeTime": None,
                "lastTransitionTime": self.conditions[kind][1],
                "reason": reason if reason and not ok else None,
                "message": message if message and not ok else None}

    def _status(self) -> JSON:
        phase = self._phase()
        initialized = self.init_index >= len(self.inits)
        unready = [r.name for r in self.mains if not r.ready]
        ready = initialized and not unready and phase == "Running"
        why = "PodCompleted" if phase in ("Succeeded", "Failed") else "ContainersNotReady"
        message = f"containers with unready status: [{' '.join(unready)}]" if unready else ""
        status: JSON = {
            "phase": phase,
            "hostIP": "127.0.0.1", "hostIPs": [{"ip": "127.0.0.1"}],
            "podIP": self.pod_ip, "podIPs": [{"ip": self.pod_ip}],
            "startTime": self.start_time,
            "conditions": [
                self._condition("PodReadyToStartContainers", self.volumes is not None),
                self._condition("Initialized", initialized, "ContainersNotInitialized"),
                self._condition("ContainersReady", ready, why, message),
                self._condition("Ready", ready, why, message),
                self._condition("PodScheduled", True),
            ],
            "containerStatuses": [r.status_json() for r in self.mains],
        }
        if self.inits:
            status["initContainerStatuses"] = [r.status_json() for r in self.inits]
        return status

    def _publish(self, pod: JSON, force: bool = False) -> None:
        status = self._status()
        now = time.monotonic()
        if not force and status == self.last_status and now - self.last_publish < STATUS_RESEND:
            return
        try:
            self.host.kube.patch(pod_path(self.namespace, self.name, "status"),
                                 {"metadata": {"uid": self.uid}, "status": status})
        except ApiError as error:
            if error.status in (404, 409):
                # Gone, or replaced by a pod of the same name: this worker's pod is over.
                self._vanished = True
            else:
                log.warning("status of %s/%s: %s", self.namespace, self.name, error)
            return
        self.last_status, self.last_publish = status, now


def _software_paths() -> set[str]:
    """Where the commands pods run live on this host: the venv and the repository."""
    repository = Path(__file__).resolve().parents[3]
    return {os.path.realpath(sys.prefix), str(repository)}


def _passthrough(mounts: list[Mount]) -> list[Mount]:
    """Binds that keep the host's software visible under a volume mounted over an ancestor.

    The pods' images are this host: a Deployment that mounts an emptyDir at /tmp (as the
    restricted worker pods do) must not hide a checkout or venv that lives under /tmp; they
    stay writable, as on the host (the demo archives into the checkout).
    """
    def inside(child: str, parent: str) -> bool:
        return child == parent or child.startswith(parent.rstrip("/") + "/")

    targets = [os.path.realpath(m.target) for m in mounts]
    return [Mount(path, path, False) for path in sorted(_software_paths())
            if any(inside(path, t) and path != t for t in targets)]
