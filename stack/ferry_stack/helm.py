"""helm, built from its Go module into the cache, run with its state kept out of ``$HOME``."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

from .cache import cache_dir
from .kube_build import HELM_VERSION, ensure_helm
from .process import ServiceError

__all__ = ["HELM_VERSION", "ensure_helm", "helm"]


def helm(
    *args: str,
    kubeconfig: Path | None = None,
    home: Path | None = None,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """Run ``helm ARGS``; raise with its output when it fails and ``check`` is set.

    ``home`` holds helm's cache, config and data (default: a dir in Ferry's cache), so a
    developer's own repositories and plugins never change what tests see.
    """
    binary = ensure_helm()
    state = home or cache_dir(f"helm-{HELM_VERSION}", "home")
    full_env = {
        **os.environ,
        "HELM_CACHE_HOME": str(state / "cache"),
        "HELM_CONFIG_HOME": str(state / "config"),
        "HELM_DATA_HOME": str(state / "data"),
        **(env or {}),
    }
    if kubeconfig is not None:
        full_env["KUBECONFIG"] = str(kubeconfig)
    result = subprocess.run([str(binary), *args], capture_output=True, text=True, cwd=cwd,
                            env=full_env, timeout=timeout, check=False,
                            stdin=subprocess.DEVNULL)
    if check and result.returncode != 0:
        raise ServiceError(f"helm {' '.join(args)} failed with exit code {result.returncode}:\n"
                           f"{result.stdout}{result.stderr}")
    return result
