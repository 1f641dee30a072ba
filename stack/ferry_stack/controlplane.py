"""A real Kubernetes control plane on loopback: etcd, kube-apiserver and kube-controller-manager.

There is no scheduler and no kubelet: pods stay Pending until the test node agent
(``nodeagent.py``) binds and runs them. Certificates come from the ``openssl`` CLI.

``ControlPlane(workdir).start()`` leaves the processes running (each in its own session), and
writes their pids to ``workdir/controlplane.json``, so another process can stop them with
``ControlPlane.stop_from_workdir(workdir)``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from .kube_build import KubeBinaries, ensure_kube_binaries
from .ports import free_port, free_ports
from .process import Service, ServiceError

SERVICE_CIDR = "10.0.0.0/24"
SERVICE_IP = "10.0.0.1"  # the first address of SERVICE_CIDR: the `kubernetes` Service
STATE_FILE = "controlplane.json"
START_TIMEOUT = 120.0

# What Ferry's operator and tests need, and nothing that fights the node agent: no node
# lifecycle (it would taint and evict the agent's pods) and no scheduler (the agent binds pods).
CONTROLLERS = (
    "clusterrole-aggregation-controller",
    "cronjob-controller",
    "daemonset-controller",
    "deployment-controller",
    "disruption-controller",
    "endpoints-controller",
    "endpointslice-controller",
    "endpointslice-mirroring-controller",
    "garbage-collector-controller",
    "horizontal-pod-autoscaler-controller",
    "job-controller",
    "namespace-controller",
    "persistentvolume-protection-controller",
    "persistentvolumeclaim-protection-controller",
    "pod-garbage-collector-controller",
    "replicaset-controller",
    "replicationcontroller-controller",
    "resourcequota-controller",
    "root-ca-certificate-publisher-controller",
    "serviceaccount-controller",
    "serviceaccount-token-controller",
    "statefulset-controller",
    "ttl-after-finished-controller",
    "certificatesigningrequest-signing-controller",
    "certificatesigningrequest-approving-controller",
    "certificatesigningrequest-cleaner-controller",
)


@dataclass(frozen=True)
class ClientCert:
    cert: Path
    key: Path


class ControlPlane:
    """etcd + kube-apiserver + kube-controller-manager, all on free loopback ports."""

    def __init__(self, workdir: Path, binaries: KubeBinaries | None = None) -> None:
        self.workdir = workdir
        self.kubeconfig = workdir / "admin.kubeconfig"
        self.pki = workdir / "pki"
        self.ca_file = self.pki / "ca.crt"
        self.server = ""
        self.startup_seconds = 0.0
        self._binaries = binaries
        self._services: list[Service] = []
        self._admin: ClientCert | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> ControlPlane:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def env(self) -> dict[str, str]:
        """Environment for clients (kubectl, helm, the operator) of this control plane."""
        return {"KUBECONFIG": str(self.kubeconfig)}

    def start(self) -> ControlPlane:
        bins = self._binaries or ensure_kube_binaries()
        started = time.monotonic()
        self.workdir.mkdir(parents=True, exist_ok=True)
        if _running_services(self.workdir):
            raise ServiceError(f"a control plane is already running in {self.workdir}; "
                               "stop it first (ControlPlane.stop_from_workdir)")
        # A fresh cluster every start: old etcd data would name other ports and other keys.
        for stale in ("etcd", "pki", "apiserver", "controller-manager"):
            shutil.rmtree(self.workdir / stale, ignore_errors=True)
        try:
            etcd_url = self._start_etcd(bins)
            # Certificates are made while etcd starts.
            api_port = free_port()
            self.server = f"https://127.0.0.1:{api_port}"
            self._make_pki()
            self._wait(f"{etcd_url}/health", "etcd", self._services[-1], tls=False)
            apiserver = self._start_apiserver(bins, etcd_url, api_port)
            self._wait(f"{self.server}/readyz", "kube-apiserver", apiserver)
            kcm = self._start_controller_manager(bins)
            # The default ServiceAccount is made by controller-manager: proof that it works,
            # and pods are refused until it exists.
            self._wait(
                f"{self.server}/api/v1/namespaces/default/serviceaccounts/default",
                "kube-controller-manager",
                kcm,
            )
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - started
        return self

    def stop(self) -> None:
        """Stop every process, newest first; safe to call twice."""
        while self._services:
            self._services.pop().stop()
        (self.workdir / STATE_FILE).unlink(missing_ok=True)

    @classmethod
    def stop_from_workdir(cls, workdir: Path, grace: float = 10.0) -> None:
        """Stop a control plane that another process started in ``workdir``."""
        for pid, start_ticks in reversed(_running_services(workdir)):
            _stop_detached(pid, start_ticks, grace)
        (workdir / STATE_FILE).unlink(missing_ok=True)

    @classmethod
    def env_from_workdir(cls, workdir: Path) -> dict[str, str]:
        """The client environment of a control plane that another process started."""
        state = _read_state(workdir)
        if state is None:
            raise ServiceError(f"no control plane state in {workdir}")
        return {"KUBECONFIG": str(state["kubeconfig"])}

    # -- clients -----------------------------------------------------------------------------

    def issue_client_cert(
        self, name: str, common_name: str, organization: str | None
    ) -> ClientCert:
        """A client certificate signed by the cluster CA (e.g. for a node: system:node:X)."""
        subject = f"/CN={common_name}" + (f"/O={organization}" if organization else "")
        return self._issue(name, subject, "extendedKeyUsage=clientAuth\n")

    def write_kubeconfig(self, path: Path, cert: ClientCert, user: str = "user") -> Path:
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "ferry", "cluster": {
                "server": self.server, "certificate-authority": str(self.ca_file)}}],
            "users": [{"name": user, "user": {
                "client-certificate": str(cert.cert), "client-key": str(cert.key)}}],
            "contexts": [{"name": "ferry", "context": {"cluster": "ferry", "user": user}}],
            "current-context": "ferry",
        }
        # JSON is YAML, and keeps the standard library enough here.
        path.write_text(json.dumps(config, indent=2))
        return path

    # -- internals ---------------------------------------------------------------------------

    def _start_etcd(self, bins: KubeBinaries) -> str:
        client, peer = free_ports(2)
        url = f"http://127.0.0.1:{client}"
        peer_url = f"http://127.0.0.1:{peer}"
        self._spawn("etcd", [
            str(bins.etcd),
            "--name=ferry",
            f"--data-dir={self.workdir / 'etcd'}",
            f"--listen-client-urls={url}",
            f"--advertise-client-urls={url}",
            f"--listen-peer-urls={peer_url}",
            f"--initial-advertise-peer-urls={peer_url}",
            f"--initial-cluster=ferry={peer_url}",
            # Test data need not survive a power cut; fsync dominates etcd latency on CI disks.
            "--unsafe-no-fsync",
            "--log-level=warn",
        ])
        return url

    def _start_apiserver(self, bins: KubeBinaries, etcd_url: str, port: int) -> Service:
        pki = self.pki
        return self._spawn("kube-apiserver", [
            str(bins.kube_apiserver),
            f"--etcd-servers={etcd_url}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            # The endpoint reconciler refuses a loopback address; nothing in-cluster can reach
            # the `kubernetes` Service's IP here anyway (pods are local processes).
            "--endpoint-reconciler-type=none",
            f"--secure-port={port}",
            f"--cert-dir={self.workdir / 'apiserver'}",
            f"--tls-cert-file={pki / 'apiserver.crt'}",
            f"--tls-private-key-file={pki / 'apiserver.key'}",
            f"--client-ca-file={self.ca_file}",
            # Front-proxy (request header) auth: the aggregation layer, and delegated auth in
            # controller-manager, which otherwise logs a missing CA bundle forever.
            f"--requestheader-client-ca-file={self.ca_file}",
            "--requestheader-allowed-names=front-proxy-client",
            "--requestheader-username-headers=X-Remote-User",
            "--requestheader-group-headers=X-Remote-Group",
            "--requestheader-extra-headers-prefix=X-Remote-Extra-",
            f"--proxy-client-cert-file={pki / 'front-proxy-client.crt'}",
            f"--proxy-client-key-file={pki / 'front-proxy-client.key'}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--authorization-mode=Node,RBAC",
            "--enable-admission-plugins=NamespaceLifecycle,ServiceAccount,DefaultTolerationSeconds",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={pki / 'sa.pub'}",
            f"--service-account-signing-key-file={pki / 'sa.key'}",
            "--allow-privileged=true",
            "--profiling=false",
            "--v=1",
        ])

    def _start_controller_manager(self, bins: KubeBinaries) -> Service:
        pki = self.pki
        cert = self.issue_client_cert("controller-manager", "system:kube-controller-manager", None)
        kubeconfig = self.write_kubeconfig(self.workdir / "controller-manager.kubeconfig", cert,
                                           "system:kube-controller-manager")
        return self._spawn("kube-controller-manager", [
            str(bins.kube_controller_manager),
            f"--kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            "--bind-address=127.0.0.1",
            f"--secure-port={free_port()}",
            f"--cert-dir={self.workdir / 'controller-manager'}",
            f"--controllers={','.join(CONTROLLERS)}",
            "--use-service-account-credentials=true",
            f"--service-account-private-key-file={pki / 'sa.key'}",
            f"--root-ca-file={self.ca_file}",
            f"--cluster-signing-cert-file={self.ca_file}",
            f"--cluster-signing-key-file={pki / 'ca.key'}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--cluster-name=ferry",
            "--leader-elect=false",
            "--profiling=false",
            "--v=1",
        ])

    def _spawn(self, name: str, argv: list[str]) -> Service:
        service = Service(name, argv, self.workdir / "logs" / f"{name}.log", cwd=self.workdir)
        self._services.append(service.start())
        self._write_state()
        return service

    def _write_state(self) -> None:
        services = []
        for service in self._services:
            pid = service.pid
            if pid is not None:
                services.append({"name": service.name, "pid": pid,
                                 "start_ticks": _start_ticks(pid)})
        state = {"server": self.server, "kubeconfig": str(self.kubeconfig), "services": services}
        tmp = self.workdir / f".{STATE_FILE}.tmp"
        tmp.write_text(json.dumps(state, indent=2))
        os.replace(tmp, self.workdir / STATE_FILE)

    def _make_pki(self) -> None:
        self.pki.mkdir(parents=True, exist_ok=True)
        ca_key = self.pki / "ca.key"
        _genkey(ca_key)
        _openssl("req", "-x509", "-new", "-key", str(ca_key), "-sha256", "-days", "3650",
                 "-subj", "/CN=ferry-test-ca", "-out", str(self.ca_file))
        sans = ",".join([
            "IP:127.0.0.1", f"IP:{SERVICE_IP}", "DNS:localhost", "DNS:kubernetes",
            "DNS:kubernetes.default", "DNS:kubernetes.default.svc",
            "DNS:kubernetes.default.svc.cluster.local",
        ])
        self._issue("apiserver", "/CN=kube-apiserver",
                    f"subjectAltName={sans}\nextendedKeyUsage=serverAuth\n")
        self.issue_client_cert("front-proxy-client", "front-proxy-client", None)
        self._admin = self.issue_client_cert("admin", "ferry-admin", "system:masters")
        self.write_kubeconfig(self.kubeconfig, self._admin, "ferry-admin")
        sa_key = self.pki / "sa.key"
        _genkey(sa_key)
        _openssl("pkey", "-in", str(sa_key), "-pubout", "-out", str(self.pki / "sa.pub"))

    def _issue(self, name: str, subject: str, extensions: str) -> ClientCert:
        key, csr = self.pki / f"{name}.key", self.pki / f"{name}.csr"
        cert, ext = self.pki / f"{name}.crt", self.pki / f"{name}.ext"
        _genkey(key)
        _openssl("req", "-new", "-key", str(key), "-subj", subject, "-out", str(csr))
        ext.write_text("keyUsage=critical,digitalSignature,keyEncipherment\n" + extensions)
        _openssl("x509", "-req", "-in", str(csr), "-CA", str(self.ca_file),
                 "-CAkey", str(self.pki / "ca.key"), "-CAcreateserial", "-days", "3650",
                 "-sha256", "-extfile", str(ext), "-out", str(cert))
        return ClientCert(cert=cert, key=key)

    def _wait(self, url: str, what: str, service: Service, tls: bool = True) -> None:
        context = None
        if tls:
            assert self._admin is not None
            context = ssl.create_default_context(cafile=str(self.ca_file))
            context.load_cert_chain(str(self._admin.cert), str(self._admin.key))
        deadline = time.monotonic() + START_TIMEOUT
        last = "no answer"
        while time.monotonic() < deadline:
            service.check_alive()
            try:
                with urllib.request.urlopen(url, timeout=5, context=context) as response:
                    if response.status == 200:
                        return
                    last = f"HTTP {response.status}"
            except urllib.error.HTTPError as err:
                last = f"HTTP {err.code}: {err.read()[:500]!r}"
            except (OSError, ssl.SSLError) as err:
                last = str(err)
            time.sleep(0.1)
        raise ServiceError(f"{what} not ready after {START_TIMEOUT:.0f}s at {url} ({last}); "
                           f"last log lines:\n{service.log_tail()}")


def _genkey(path: Path) -> None:
    # EC P-256: made in milliseconds, where RSA keys would add up to a noticeable start delay.
    _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-out", str(path))


def _openssl(*args: str) -> None:
    result = subprocess.run(["openssl", *args], capture_output=True, text=True, check=False,
                            stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        raise ServiceError(f"openssl {args[0]} failed: {result.stderr.strip()}")


def _read_state(workdir: Path) -> dict[str, Any] | None:
    try:
        state: dict[str, Any] = json.loads((workdir / STATE_FILE).read_text())
    except FileNotFoundError:
        return None
    return state


def _running_services(workdir: Path) -> list[tuple[int, int]]:
    """(pid, start ticks) of the services in the state file that still run, oldest first."""
    state = _read_state(workdir)
    if state is None:
        return []
    services = [(int(s["pid"]), int(s["start_ticks"])) for s in state["services"]]
    return [(pid, ticks) for pid, ticks in services if _alive(pid, ticks)]


def _start_ticks(pid: int) -> int:
    """The process's start time in clock ticks since boot: tells a reused pid from ours."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return -1
    # Field 22, counted after the parenthesised command name (which may contain spaces).
    return int(stat.rsplit(")", 1)[1].split()[19])


def _alive(pid: int, start_ticks: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    fields = stat.rsplit(")", 1)[1].split()
    return fields[0] != "Z" and int(fields[19]) == start_ticks


def _stop_detached(pid: int, start_ticks: int, grace: float) -> None:
    if not _alive(pid, start_ticks):
        return
    # Service started each child as the leader of its own process group.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and _alive(pid, start_ticks):
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    # Reap it if it is our own child (stopped from the process that started it).
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
