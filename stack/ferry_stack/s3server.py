"""A real S3-compatible server for tests and benchmarks: s3proxy, from Maven Central.

`s3proxy <https://github.com/gaul/s3proxy>`_ implements the S3 REST API (SigV2 and SigV4,
path-style and virtual-host addressing, multipart uploads, listings with continuation
tokens) over Apache jclouds blob stores; here it serves its ``filesystem`` store, so objects
are plain files under a temp directory. Its jar and runtime classpath are fetched once with
Maven (``dependency:copy-dependencies`` of a two-line POM written into the cache) and run on
the machine's JDK, like the Kafka broker.

Why s3proxy and not SeaweedFS or MinIO built from Go modules: MinIO's server is AGPL, and
SeaweedFS's ``weed`` pulls several hundred modules whose cold build on two cores takes far
longer than the s3proxy fetch (about a minute cold, a second warm); s3proxy is a real HTTP
server speaking the wire protocol boto3 speaks to AWS, not an in-process emulator.

Usage::

    with S3Server(tmp_path) as s3:
        boto3.client("s3", **s3.client_kwargs()).create_bucket(Bucket="b")
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from ferry_stack.cache import cache_dir
from ferry_stack.kafka import java_bin
from ferry_stack.ports import free_port, wait_for_port
from ferry_stack.process import Service, ServiceError, run

S3PROXY_VERSION = "2.6.0"
ACCESS_KEY = "ferry-access"
SECRET_KEY = "ferry-secret-key"
REGION = "us-east-1"

_POM = """\
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.ferry.stack</groupId>
  <artifactId>s3proxy-server</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.gaul</groupId>
      <artifactId>s3proxy</artifactId>
      <version>{version}</version>
    </dependency>
  </dependencies>
</project>
"""


def ensure_s3proxy() -> Path:
    """The directory holding s3proxy's classpath, fetched from Maven Central on first use."""
    root = cache_dir(f"s3proxy-{S3PROXY_VERSION}")
    libs = root / "libs"
    marker = libs / ".complete"
    if marker.exists():
        return libs
    pom = root / "pom.xml"
    pom.write_text(_POM.format(version=S3PROXY_VERSION))
    staging = root / "libs.partial"
    shutil.rmtree(staging, ignore_errors=True)
    run(["mvn", "-B", "-q", "-f", str(pom), "dependency:copy-dependencies",
         f"-DoutputDirectory={staging}", "-DincludeScope=runtime"],
        log_path=root / "fetch.log")
    shutil.rmtree(libs, ignore_errors=True)
    staging.rename(libs)
    marker.touch()
    return libs


class S3Server:
    """s3proxy on a free loopback port, its objects under ``workdir/blobs``."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = 0
        self._service: Service | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client_kwargs(self) -> dict[str, Any]:
        """Arguments for ``boto3.client("s3", **kwargs)`` that reach this server."""
        return {"endpoint_url": self.endpoint, "aws_access_key_id": ACCESS_KEY,
                "aws_secret_access_key": SECRET_KEY, "region_name": REGION}

    def connector_config(self, bucket: str) -> dict[str, str]:
        """The S3 sink keys that point a connector at this server."""
        return {"s3.bucket.name": bucket, "store.url": self.endpoint, "s3.region": REGION,
                "aws.access.key.id": ACCESS_KEY, "aws.secret.access.key": SECRET_KEY,
                "s3.path.style.access.enabled": "true"}

    def start(self, timeout: float = 60.0) -> S3Server:
        libs = ensure_s3proxy()
        blobs = self.workdir / "blobs"
        blobs.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        props = self.workdir / "s3proxy.properties"
        props.write_text("".join(f"{k}={v}\n" for k, v in {
            "s3proxy.endpoint": self.endpoint,
            "s3proxy.authorization": "aws-v2-or-v4",
            "s3proxy.identity": ACCESS_KEY,
            "s3proxy.credential": SECRET_KEY,
            "jclouds.provider": "filesystem",
            "jclouds.filesystem.basedir": str(blobs),
        }.items()))
        argv = [java_bin(), "-Xmx512m", "-cp", f"{libs}/*", "org.gaul.s3proxy.Main",
                "--properties", str(props)]
        self._service = Service("s3proxy", argv, self.workdir / "s3proxy.log").start()
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, timeout: float) -> None:
        import urllib.error
        import urllib.request

        assert self._service is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._service.check_alive()
            if not wait_for_port("127.0.0.1", self.port, 1.0):
                continue
            try:
                urllib.request.urlopen(self.endpoint, timeout=2).close()
                return
            except urllib.error.HTTPError:
                return  # 403 for an anonymous request: the server answers
            except OSError:
                time.sleep(0.2)
        raise ServiceError(f"s3proxy did not answer in {timeout:.0f}s:\n"
                           f"{self._service.log_tail()}")

    def running(self) -> bool:
        return self._service is not None and self._service.running()

    def stop(self) -> None:
        if self._service is not None:
            self._service.stop(grace=10)
            self._service = None

    def __enter__(self) -> S3Server:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
