"""Container launcher: set up volume mounts, change directory, exec the command.

Run by the node agent as ``python -I -S launch.py SPEC.json``, usually inside
``unshare --mount --propagation private``, so the bind mounts it makes exist only in this
container's private mount namespace and never on the host. Standard library only: it is run
as a script, without importing the agent or the kubernetes client, to start fast.

Mount targets that do not exist (``/etc/ferry/config``) are made inside an overlay of their
deepest existing ancestor (``/etc``) whose upper layer is a tmpfs: the directory appears in
this namespace only. Only a missing top-level directory (``/data``) cannot be made that way
(an overlay of ``/`` would hide /proc, /dev, ...); it is created on the host and its path is
appended to the spec's ``host_dirs_log`` so the agent removes it when the pod is gone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any


def _run(*argv: str, fds: tuple[int, ...] = ()) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, check=False, pass_fds=fds)
    if result.returncode != 0:
        raise OSError(f"{' '.join(argv)}: {result.stderr.strip() or result.returncode}")


def _pin(path: str) -> int:
    """An O_PATH descriptor: /proc/self/fd/N still names ``path`` after an overlay hides it."""
    fd = os.open(path, os.O_PATH)
    os.set_inheritable(fd, True)
    return fd


def _bind(fd: int, target: str) -> None:
    # -c: mount(8) must not canonicalize the magic link back into the (shadowed) path.
    _run("mount", "-c", "--bind", f"/proc/self/fd/{fd}", target, fds=(fd,))


def _inside(child: str, parent: str) -> bool:
    return child == parent or child.startswith(parent.rstrip("/") + "/")


def _deepest_existing(path: str) -> str:
    while not os.path.lexists(path):
        path = os.path.dirname(path)
    return path


def _minimal(roots: set[str]) -> list[str]:
    """Drop roots inside other roots: one overlay on /etc also covers /etc/ssl."""
    return sorted(r for r in roots if not any(r != o and _inside(r, o) for o in roots))


def _submounts(root: str) -> list[str]:
    """Mount points strictly below ``root`` (an overlay of root would hide them)."""
    points: set[str] = set()
    with open("/proc/self/mountinfo") as mountinfo:
        for line in mountinfo:
            point = line.split()[4].replace("\\040", " ")
            if point != root and _inside(point, root):
                points.add(point)
    return sorted(points, key=lambda p: p.count("/"))


def _scratch(preferred: str, roots: list[str]) -> str:
    """A tmpfs for the overlays' upper layers, mounted where no overlay will cover it."""
    for candidate in (preferred, "/dev/shm", "/mnt", "/srv", "/var/tmp"):
        if os.path.isdir(candidate) and not any(_inside(candidate, r) for r in roots):
            _run("mount", "-t", "tmpfs", "ferry-scratch", candidate)
            return candidate
    raise OSError("no directory for the overlay scratch space outside the overlaid paths")


def _overlay(root: str, layer: str) -> None:
    """Overlay ``root`` with a writable tmpfs layer, keeping the mounts below it visible."""
    kept = [(point, _pin(point)) for point in _submounts(root)]
    upper, work = os.path.join(layer, "upper"), os.path.join(layer, "work")
    os.makedirs(upper)
    os.makedirs(work)
    _run("mount", "-t", "overlay", "ferry-overlay", "-o",
         f"lowerdir={root},upperdir={upper},workdir={work}", root)
    for point, fd in kept:
        _bind(fd, point)


def _overlay_roots(roots: list[str], scratch: str) -> set[str]:
    """Overlay each root; returns the roots whose mount points must be made on the host."""
    if not roots:
        return set()
    try:
        space = _scratch(scratch, roots)
    except OSError as error:
        print(f"ferry launch: {error}; creating mount points on the host", file=sys.stderr)
        return set(roots)
    fallback: set[str] = set()
    for index, root in enumerate(roots):
        try:
            _overlay(root, os.path.join(space, str(index)))
        except OSError as error:
            print(f"ferry launch: overlay on {root} failed ({error}); "
                  "creating mount points on the host", file=sys.stderr)
            fallback.add(root)
    return fallback


def _make_target(target: str, is_dir: bool, host_paths: set[str], host_log: str) -> None:
    """Create the mount point; log what had to be created on the host itself."""
    if os.path.lexists(target):
        return
    missing: list[str] = []
    probe = target
    while not os.path.lexists(probe):
        missing.append(probe)
        probe = os.path.dirname(probe)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    if is_dir:
        os.mkdir(target)
    else:
        with open(target, "a"):
            pass
    if probe in host_paths:
        host_paths.update(missing)
        with open(host_log, "a") as log:
            log.writelines(path + "\n" for path in missing)


def setup_mounts(mounts: list[dict[str, Any]], scratch: str, host_log: str) -> None:
    resolved = [(m, os.path.realpath(m["target"])) for m in mounts]
    # Pin the sources first: an overlay of an ancestor would otherwise shadow their paths.
    pinned = [(m, target, _pin(m["source"]), os.path.isdir(m["source"]))
              for m, target in resolved]
    missing = {_deepest_existing(target) for _, target in resolved if not os.path.lexists(target)}
    # "/" itself is never overlaid (see the module doc); other roots are, outermost only.
    host_roots = _overlay_roots(_minimal(missing - {"/"}), scratch) | (missing & {"/"})
    for mount, target, fd, is_dir in sorted(pinned, key=lambda item: item[1].count("/")):
        _make_target(target, is_dir, host_roots, host_log)
        _bind(fd, target)
        if mount.get("readOnly"):
            _run("mount", "-o", "remount,bind,ro", target)
        os.close(fd)


def main() -> int:
    with open(sys.argv[1]) as handle:
        spec = json.load(handle)
    try:
        if spec.get("mounts"):
            setup_mounts(spec["mounts"], spec["scratch"], spec["host_dirs_log"])
        cwd = spec.get("cwd")
        if cwd:
            os.makedirs(cwd, exist_ok=True)
            os.chdir(cwd)
    except OSError as error:
        print(f"ferry launch: {error}", file=sys.stderr)
        return 128
    argv = spec["argv"]
    try:
        os.execvp(argv[0], argv)
    except OSError as error:
        print(f"ferry launch: cannot run {argv[0]!r}: {error}", file=sys.stderr)
        return 127 if isinstance(error, FileNotFoundError) else 126
    return 0  # not reached: exec replaced the process


if __name__ == "__main__":
    sys.exit(main())
