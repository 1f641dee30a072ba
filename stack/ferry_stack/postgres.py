"""A real PostgreSQL server for tests and benchmarks, from Debian's packages.

:func:`ensure_postgres` finds ``initdb``/``pg_ctl``/``postgres`` under
``/usr/lib/postgresql/<major>/bin`` and, when none is there, installs the ``postgresql``
package with ``apt-get`` (the machine runs as root, as CI does). :class:`PostgresServer`
makes a fresh cluster with ``initdb`` in a temp directory and runs it on a free loopback
port with ``fsync=off`` (a test server: durability across a machine crash is not tested).

PostgreSQL refuses to run as root. When the caller is root, the data directory is handed
to the ``postgres`` system user that the Debian package creates and every server command
runs through ``runuser -u postgres --``; otherwise the caller's own user runs it. Clients
connect over TCP as the superuser ``ferry`` with password ``ferry`` (``trust`` for
loopback connections, so the password is never checked; it is there for DSNs that need one).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import time
from pathlib import Path
from types import TracebackType

from ferry_stack.ports import free_port, wait_for_port
from ferry_stack.process import Service, ServiceError, run

SUPERUSER = "ferry"
DATABASE = "ferry"
_SYSTEM_USER = "postgres"


def find_postgres_bin() -> Path | None:
    """The newest ``/usr/lib/postgresql/<major>/bin`` holding ``initdb`` and ``pg_ctl``."""
    found = [Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")
             if (Path(p).parent / "pg_ctl").exists()]
    if not found:
        return None
    return max(found, key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)


def ensure_postgres(log_dir: Path | None = None) -> Path:
    """The bin directory of PostgreSQL's server programs, installed with apt when missing."""
    found = find_postgres_bin()
    if found is not None:
        return found
    if shutil.which("apt-get") is None:
        raise ServiceError("PostgreSQL is not installed and there is no apt-get to install it")
    log = (log_dir or Path("/tmp")) / "postgres-install.log"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run(["apt-get", "update"], log_path=log, env=env, timeout=900)
    run(["apt-get", "install", "-y", "--no-install-recommends", "postgresql"],
        log_path=log, env=env, timeout=1800)
    found = find_postgres_bin()
    if found is None:
        raise ServiceError(f"apt-get installed postgresql but no initdb was found; see {log}")
    return found


def _as_server_user() -> list[str]:
    """The argv prefix that runs a command as a user PostgreSQL accepts."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(_SYSTEM_USER)
    except KeyError:
        raise ServiceError(f"running as root and there is no {_SYSTEM_USER!r} user to run "
                           "PostgreSQL as (the Debian package creates it)") from None
    return ["runuser", "-u", _SYSTEM_USER, "--"]


class PostgresServer:
    """One PostgreSQL cluster on a free loopback port, its data under ``workdir``."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = 0
        self._service: Service | None = None

    @property
    def dsn(self) -> str:
        return self.dsn_for(DATABASE)

    def dsn_for(self, database: str) -> str:
        return (f"postgresql://{SUPERUSER}:ferry@127.0.0.1:{self.port}/{database}"
                "?connect_timeout=10")

    def start(self, timeout: float = 60.0) -> PostgresServer:
        bin_dir = ensure_postgres(self.workdir)
        prefix = _as_server_user()
        self.workdir.mkdir(parents=True, exist_ok=True)
        data = self.workdir / "data"
        sockets = self.workdir / "sockets"
        sockets.mkdir(exist_ok=True)
        if prefix:
            user = pwd.getpwnam(_SYSTEM_USER)
            for path in (self.workdir, sockets):
                os.chown(path, user.pw_uid, user.pw_gid)
            # Let the server user reach the workdir through tmp_path's private parents.
            for parent in self.workdir.parents:
                if str(parent).startswith(("/tmp/", "/var/tmp/")):
                    os.chmod(parent, os.stat(parent).st_mode | 0o011)
        if not (data / "PG_VERSION").exists():
            run([*prefix, str(bin_dir / "initdb"), "-D", str(data), "-U", SUPERUSER,
                 "--auth=trust", "-E", "UTF8", "--locale=C"],
                log_path=self.workdir / "initdb.log")
        self.port = free_port()
        argv = [*prefix, str(bin_dir / "postgres"), "-D", str(data), "-p", str(self.port),
                "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={sockets}",
                "-c", "fsync=off", "-c", "synchronous_commit=off",
                "-c", "full_page_writes=off", "-c", "max_connections=200"]
        self._service = Service("postgres", argv, self.workdir / "postgres.log").start()
        try:
            self._wait_ready(bin_dir, timeout)
            self._create_database(bin_dir, prefix)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, bin_dir: Path, timeout: float) -> None:
        assert self._service is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._service.check_alive()
            if wait_for_port("127.0.0.1", self.port, 1.0):
                ready = subprocess.run([str(bin_dir / "pg_isready"), "-h", "127.0.0.1",
                                        "-p", str(self.port)], capture_output=True, check=False)
                if ready.returncode == 0:
                    return
            time.sleep(0.2)
        raise ServiceError(f"PostgreSQL did not become ready in {timeout:.0f}s:\n"
                           f"{self._service.log_tail()}")

    def _create_database(self, bin_dir: Path, prefix: list[str]) -> None:
        exists = subprocess.run(
            [str(bin_dir / "psql"), "-h", "127.0.0.1", "-p", str(self.port),
             "-U", SUPERUSER, "-d", "postgres", "-tAc",
             f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'"],
            capture_output=True, text=True, check=False)
        if exists.stdout.strip() == "1":
            return
        run([str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(self.port),
             "-U", SUPERUSER, DATABASE], log_path=self.workdir / "createdb.log")

    def create_database(self, name: str) -> str:
        """A new empty database (for a test that wants its own); its DSN."""
        bin_dir = ensure_postgres(self.workdir)
        run([str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(self.port),
             "-U", SUPERUSER, name], log_path=self.workdir / "createdb.log")
        return self.dsn_for(name)

    def running(self) -> bool:
        return self._service is not None and self._service.running()

    def stop(self) -> None:
        """A fast shutdown (``pg_ctl stop -m fast`` ends sessions), then the group's SIGKILL."""
        if self._service is None:
            return
        if self._service.running():
            bin_dir = find_postgres_bin()
            if bin_dir is not None:
                subprocess.run([*_as_server_user(), str(bin_dir / "pg_ctl"), "stop", "-m", "fast",
                                "-w", "-t", "20", "-D", str(self.workdir / "data")],
                               capture_output=True, check=False, timeout=40)
        self._service.stop(grace=20)
        self._service = None

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
