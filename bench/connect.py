"""Apache Kafka Connect, the reference: its jars from Maven Central, run on the machine's JDK.

``ensure_connect_jars`` copies ``connect-runtime``, ``connect-file``, ``connect-json``,
``connect-transforms`` and a log4j2 binding (``maven/connect/pom.xml``, the broker's Kafka
version) into the cache once, like ``ferry_stack.kafka.ensure_kafka_jars``;
``ensure_sequence_source`` builds the failover case's source connector
(``maven/sequence-source``) into the cache once. Workers run with the JVM options Kafka's own
``connect-*.sh`` scripts use.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from ferry_stack.cache import cache_dir
from ferry_stack.kafka import java_bin, kafka_version
from ferry_stack.process import run

POM = Path(__file__).parent / "maven" / "connect" / "pom.xml"
SEQUENCE_SOURCE = Path(__file__).parent / "maven" / "sequence-source"
SEQUENCE_CONNECTOR = "dev.ferry.bench.SequenceSourceConnector"

# kafka-run-class.sh's KAFKA_JVM_PERFORMANCE_OPTS and connect-*.sh's KAFKA_HEAP_OPTS.
JVM_OPTS = ["-Xms256M", "-Xmx2G", "-server", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
            "-XX:InitiatingHeapOccupancyPercent=35", "-XX:+ExplicitGCInvokesConcurrent",
            "-Djava.awt.headless=true"]

_LOG4J2 = """\
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = {log}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %X{{connector.context}}%m (%c:%L)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
"""


def connect_version() -> str:
    text = POM.read_text()
    return text.split("<kafka.version>", 1)[1].split("</kafka.version>", 1)[0]


def ensure_connect_jars() -> Path:
    """The Kafka Connect classpath directory, fetched from Maven Central on first use."""
    version = connect_version()
    if version != kafka_version():
        raise RuntimeError(f"bench/maven/connect/pom.xml has Kafka {version}, the broker "
                           f"{kafka_version()}: keep them the same")
    libs = cache_dir(f"connect-{version}") / "libs"
    marker = libs / ".complete"
    if marker.exists():
        return libs
    staging = libs.with_name("libs.partial")
    shutil.rmtree(staging, ignore_errors=True)
    run(["mvn", "-B", "-q", "-f", str(POM), "dependency:copy-dependencies",
         f"-DoutputDirectory={staging}", "-DincludeScope=runtime"],
        log_path=libs.parent / "fetch.log")
    shutil.rmtree(libs, ignore_errors=True)
    staging.rename(libs)
    marker.touch()
    return libs


def ensure_sequence_source() -> Path:
    """The jar of ``maven/sequence-source`` (JDK 17), built into the cache per source hash."""
    sources = sorted(p for p in SEQUENCE_SOURCE.rglob("*") if p.is_file()
                     and "target" not in p.relative_to(SEQUENCE_SOURCE).parts)
    digest = hashlib.sha256()
    for path in sources:
        digest.update(str(path.relative_to(SEQUENCE_SOURCE)).encode() + b"\0" + path.read_bytes())
    home = cache_dir(f"connect-{connect_version()}") / f"sequence-source-{digest.hexdigest()[:12]}"
    jar = home / "sequence-source.jar"
    if jar.exists():
        return jar
    build = home / "build"
    shutil.rmtree(build, ignore_errors=True)
    run(["mvn", "-B", "-q", "-f", str(SEQUENCE_SOURCE / "pom.xml"), "package",
         f"-Dferry.build.dir={build}"], log_path=home / "build.log")
    shutil.copy(build / "sequence-source.jar", jar.with_suffix(".partial"))
    jar.with_suffix(".partial").rename(jar)
    return jar


def java_version() -> str:
    out = subprocess.run([java_bin(), "-version"], capture_output=True, text=True, check=False)
    first = (out.stderr or out.stdout).splitlines()
    return first[0].strip() if first else "unknown"


def write_properties(path: Path, props: dict[str, str]) -> Path:
    # Backslashes would be escapes in .properties; the paths here never contain them.
    path.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
    return path


def java_command(main_class: str, workdir: Path, *args: str,
                 classpath: tuple[Path, ...] = ()) -> list[str]:
    libs = ensure_connect_jars()
    log4j = workdir / "log4j2.properties"
    log4j.write_text(_LOG4J2.format(log=workdir / "connect.log"))
    cp = ":".join([f"{libs}/*", *map(str, classpath)])
    return [java_bin(), *JVM_OPTS, f"-Dlog4j2.configurationFile={log4j}",
            "-cp", cp, main_class, *args]


def rest(method: str, url: str, body: Any = None, timeout: float = 10) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            return exc.code, json.loads(raw)
        except ValueError:
            return exc.code, raw.decode(errors="replace")


def create_connector(base_url: str, config: dict[str, str], alive: Any,
                     timeout: float = 120) -> None:
    """POST a connector, retrying while the worker is still joining its group."""
    name = config["name"]
    body = {"name": name, "config": {k: v for k, v in config.items() if k != "name"}}
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        if not alive():
            raise RuntimeError("Kafka Connect exited before the connector was created")
        try:
            code, last = rest("POST", f"{base_url}/connectors", body)
        except OSError as exc:  # REST not listening yet
            last = exc
            time.sleep(0.2)
            continue
        if code in (200, 201):
            return
        if code == 409 and "already exists" in str(last):
            return
        if code == 400:  # invalid config; 404/409/5xx: REST or group not ready yet
            raise RuntimeError(f"Kafka Connect refused connector {name}: {last}")
        time.sleep(0.3)
    raise RuntimeError(f"could not create connector {name} via REST: {last}")
