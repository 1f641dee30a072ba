"""Child processes of the benchmark and what they cost, read from /proc.

CPU is utime+stime of every live process in the worker's tree (plus what its reaped children
used, cutime+cstime); memory is the sum of VmRSS over the tree, and VmHWM (the kernel's own
peak) read just before the worker is stopped.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return kids
    for tid in tasks:
        try:
            text = Path(f"/proc/{pid}/task/{tid}/children").read_text()
        except OSError:
            continue
        kids.extend(int(p) for p in text.split())
    return kids


def tree(pid: int) -> list[int]:
    """``pid`` and all its descendants alive now."""
    seen, todo = [], [pid]
    while todo:
        current = todo.pop()
        seen.append(current)
        todo.extend(_children(current))
    return seen


def _cpu_seconds(pid: int) -> float:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    # Fields after the command name (which may contain spaces) start at field 3.
    fields = stat.rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(fields[i]) for i in (11, 12, 13, 14))
    return (utime + stime + cutime + cstime) / CLOCK_TICKS


def _status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass
class Sample:
    wall: float       # time.time()
    cpu: float        # seconds, whole tree
    rss_mb: float     # MB, whole tree


def sample(pid: int) -> Sample:
    pids = tree(pid)
    return Sample(time.time(), sum(_cpu_seconds(p) for p in pids),
                  sum(_status_kb(p, "VmRSS") for p in pids) / 1024)


def peak_rss_mb(pid: int) -> float:
    """Sum of each live process's VmHWM (its own peak RSS), in MB."""
    return sum(_status_kb(p, "VmHWM") for p in tree(pid)) / 1024


def cpu_at(samples: Sequence[Sample], wall: float) -> float:
    """CPU seconds of the tree at ``wall``, interpolated between samples."""
    if not samples:
        return 0.0
    if wall <= samples[0].wall:
        return samples[0].cpu
    for before, after in itertools.pairwise(samples):
        if before.wall <= wall <= after.wall:
            span = after.wall - before.wall
            frac = (wall - before.wall) / span if span > 0 else 1.0
            return before.cpu + frac * (after.cpu - before.cpu)
    return samples[-1].cpu


class Proc:
    """A worker process in its own session (so stopping it ends its whole tree)."""

    def __init__(self, name: str, argv: Sequence[str], log_path: Path,
                 env: Mapping[str, str] | None = None, cwd: Path | None = None) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "ab") as log:
            self.popen = subprocess.Popen(
                self.argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env={**os.environ, **env} if env else None, cwd=cwd, start_new_session=True)
        self.started = time.time()
        # py-spy writes its profile on SIGINT (SIGTERM kills it); Ferry stops on either.
        self.stop_signal = signal.SIGINT if "py-spy" in Path(self.argv[0]).name else signal.SIGTERM

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, grace: float = 20.0) -> float:
        """Signal the process group (SIGTERM), SIGKILL after ``grace``; seconds it took."""
        started = time.monotonic()
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, self.stop_signal)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=grace)
        # Whatever is left of the group (also children of an exited leader).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=10)
        return time.monotonic() - started
