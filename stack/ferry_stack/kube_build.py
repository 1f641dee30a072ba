"""Builds etcd, kube-apiserver, kube-controller-manager and helm from Go modules into the cache.

The Go wrapper modules in ``stack/go/`` pin the same versions as the constants here (checked at
build time), and their go.sum files pin every dependency. A binary that exists in the cache is
never rebuilt; builds write to a temporary name and rename, so a killed build leaves no half
binary, and a lock file keeps two processes from building the same thing at once.

``python -m ferry_stack.kube_build`` builds everything (a cold build takes a long time on 2 cores).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import re
import shutil
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from .cache import cache_dir
from .process import ServiceError, run

# The one place the versions are pinned; stack/go/*/go.mod must require the same.
KUBE_VERSION = "v1.37.2"
ETCD_VERSION = "v3.7.3"
HELM_VERSION = "v3.22.0"

GO_ROOT = Path(__file__).resolve().parent.parent / "go"
# Go modules build for hours, not seconds, when something is wrong: fail after this.
BUILD_TIMEOUT = 3 * 3600.0


@dataclass(frozen=True)
class KubeBinaries:
    etcd: Path
    kube_apiserver: Path
    kube_controller_manager: Path


def kube_bin_dir() -> Path:
    return cache_dir(f"kube-{KUBE_VERSION}", "bin")


def etcd_bin_dir() -> Path:
    return cache_dir(f"etcd-{ETCD_VERSION}", "bin")


def helm_bin_dir() -> Path:
    return cache_dir(f"helm-{HELM_VERSION}", "bin")


def cached_kube_binaries() -> KubeBinaries:
    """Where the binaries are (or will be) in the cache; nothing is built."""
    kube = kube_bin_dir()
    return KubeBinaries(
        etcd=etcd_bin_dir() / "etcd",
        kube_apiserver=kube / "kube-apiserver",
        kube_controller_manager=kube / "kube-controller-manager",
    )


def kube_binaries_cached() -> bool:
    bins = cached_kube_binaries()
    return all(p.is_file() for p in (bins.etcd, bins.kube_apiserver, bins.kube_controller_manager))


def ensure_kube_binaries() -> KubeBinaries:
    """Build (once) and return etcd, kube-apiserver and kube-controller-manager."""
    bins = cached_kube_binaries()
    kube = (GO_ROOT / "kube", "k8s.io/kubernetes", KUBE_VERSION)
    # One after another: two parallel Kubernetes links need more memory than CI likes.
    _go_build(kube, "./cmd/kube-apiserver", bins.kube_apiserver, _kube_ldflags())
    _go_build(kube, "./cmd/kube-controller-manager", bins.kube_controller_manager,
              _kube_ldflags())
    etcd = (GO_ROOT / "etcd", "go.etcd.io/etcd/server/v3", ETCD_VERSION)
    _go_build(etcd, "./cmd/etcd", bins.etcd, "-s -w")
    return bins


def ensure_helm() -> Path:
    """Build (once) and return helm, installed from its own module so its go.sum pins the deps."""
    out = helm_bin_dir() / "helm"
    if out.is_file():
        return out
    pkg = "helm.sh/helm/v3/internal/version"
    ldflags = f"-s -w -X {pkg}.version={HELM_VERSION} -X {pkg}.gitTreeState=clean"
    with _build_lock(out):
        if out.is_file():
            return out
        # go install names its output after the package, so install into a private dir and move.
        tmp_bin = out.parent / f".install-{os.getpid()}"
        shutil.rmtree(tmp_bin, ignore_errors=True)
        try:
            started = time.monotonic()
            run(
                ["go", "install", "-trimpath", "-ldflags", ldflags,
                 f"helm.sh/helm/v3/cmd/helm@{HELM_VERSION}"],
                out.parent.parent / "build.log",
                cwd=out.parent,
                env={**_go_env(), "GOBIN": str(tmp_bin)},
                timeout=BUILD_TIMEOUT,
            )
            os.replace(tmp_bin / "helm", out)
            _report(out, time.monotonic() - started)
        finally:
            shutil.rmtree(tmp_bin, ignore_errors=True)
    return out


def _kube_ldflags() -> str:
    # Without these /version says v0.0.0 and the API server's compatibility version is wrong.
    match = re.fullmatch(r"v(\d+)\.(\d+)\.\d+", KUBE_VERSION)
    if match is None:
        raise ValueError(f"KUBE_VERSION {KUBE_VERSION!r} is not vMAJOR.MINOR.PATCH")
    major, minor = match.groups()
    flags = ["-s", "-w"]
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [
            f"-X {pkg}.gitVersion={KUBE_VERSION}",
            f"-X {pkg}.gitMajor={major}",
            f"-X {pkg}.gitMinor={minor}",
            f"-X {pkg}.gitTreeState=clean",
        ]
    return " ".join(flags)


def _go_build(pin: tuple[Path, str, str], package: str, out: Path, ldflags: str) -> None:
    """Build ``package`` of the wrapper module ``pin[0]``, which must require ``pin[1:]``."""
    if out.is_file():
        return
    module_dir, module, version = pin
    with _build_lock(out):
        if out.is_file():  # another process built it while we waited
            return
        _check_pinned(module_dir / "go.mod", module, version)
        tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
        try:
            started = time.monotonic()
            run(
                ["go", "build", "-trimpath", "-ldflags", ldflags, "-o", str(tmp), package],
                out.parent.parent / "build.log",
                cwd=module_dir,
                env=_go_env(),
                timeout=BUILD_TIMEOUT,
            )
            os.replace(tmp, out)
            _report(out, time.monotonic() - started)
        finally:
            tmp.unlink(missing_ok=True)


def _go_env() -> dict[str, str]:
    if shutil.which("go") is None:
        raise ServiceError("the go command is not on PATH; it is needed to build the kube stack")
    env = dict(os.environ)
    # GOTOOLCHAIN=local: fail loudly rather than fetch another Go behind our back.
    env.setdefault("GOTOOLCHAIN", "local")
    # The wrapper modules live inside the project's git tree; VCS stamping would need git.
    env["GOFLAGS"] = (env.get("GOFLAGS", "") + " -buildvcs=false").strip()
    return env


def _check_pinned(go_mod: Path, module: str, version: str) -> None:
    text = go_mod.read_text()
    if not re.search(rf"^\s*(?:require\s+)?{re.escape(module)}\s+{re.escape(version)}\b", text,
                     re.MULTILINE):
        raise ServiceError(f"{go_mod} does not require {module} {version}; keep them in step")


@contextlib.contextmanager
def _build_lock(out: Path) -> Iterator[None]:
    lock_path = out.parent / f".{out.name}.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _report(out: Path, seconds: float) -> None:
    print(f"ferry_stack.kube_build: built {out} in {seconds:.0f}s", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ferry_stack.kube_build",
        description="Build etcd, kube-apiserver, kube-controller-manager and helm into the cache.",
    )
    parser.add_argument("--only", choices=("kube", "helm"), help="build only one part")
    args = parser.parse_args(argv)
    if args.only in (None, "kube"):
        bins = ensure_kube_binaries()
        for path in (bins.etcd, bins.kube_apiserver, bins.kube_controller_manager):
            print(path)
    if args.only in (None, "helm"):
        print(ensure_helm())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
