"""Ferry's main job on the embedded default: a file in, a Kafka topic, the same file out.

``python -m ferry_stack.demo`` (``make demo``) starts a local Kafka broker unless
``--bootstrap-servers`` names one, runs ``ferry run examples/file-source.yaml
examples/file-sink.yaml``, and checks that every line arrived once and in order.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from ferry_stack.kafka import KafkaBroker
from ferry_stack.ports import free_port

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@contextlib.contextmanager
def _kafka(bootstrap: str | None, workdir: Path) -> Iterator[str]:
    if bootstrap:
        yield bootstrap
        return
    print("demo: starting a local Kafka broker ...", flush=True)
    with KafkaBroker(workdir / "kafka") as broker:
        print(f"demo: Kafka is up at {broker.bootstrap_servers}", flush=True)
        yield broker.bootstrap_servers


def _count_lines(path: Path) -> int:
    if not path.exists():
        return 0
    with open(path, "rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ferry-demo", description=__doc__)
    parser.add_argument("--bootstrap-servers", default=None,
                        help="use this Kafka instead of starting one")
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="ferry-demo-"))
    ferry = shutil.which("ferry") or str(Path(sys.executable).with_name("ferry"))
    try:
        with _kafka(args.bootstrap_servers, workdir) as bootstrap:
            source_input = workdir / "input.txt"
            with open(source_input, "w") as handle:
                for i in range(args.lines):
                    handle.write(f"demo line {i:08d}: the quick brown fox jumps over the dog\n")
            port = free_port()
            argv_run = [ferry, "run", str(EXAMPLES / "file-source.yaml"),
                        str(EXAMPLES / "file-sink.yaml"), "--bootstrap-servers", bootstrap,
                        "--http-port", str(port), "--offsets-file", "offsets.json"]
            print("demo: $ " + " ".join(argv_run[1:]), flush=True)
            started = time.monotonic()
            log = open(workdir / "ferry.log", "wb")  # noqa: SIM115 - the child's stdout
            proc = subprocess.Popen(argv_run, cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
            try:
                output = workdir / "output.txt"
                deadline = time.monotonic() + 300
                while _count_lines(output) < args.lines:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        print((workdir / "ferry.log").read_text()[-3000:], file=sys.stderr)
                        print("demo: FAILED: ferry stopped or timed out", file=sys.stderr)
                        return 1
                    time.sleep(0.2)
                elapsed = time.monotonic() - started
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=5) as r:
                    status = json.loads(r.read())
            finally:
                proc.send_signal(signal.SIGTERM)
                proc.wait(60)
                log.close()
            same = source_input.read_bytes() == output.read_bytes()
            print(json.dumps(status, indent=2))
            print(f"demo: {args.lines} lines, file -> topic ferry-demo-lines -> file, "
                  f"in {elapsed:.1f}s ({args.lines / elapsed:,.0f} lines/s end to end, "
                  f"including startup); output identical to input: {same}", flush=True)
            return 0 if same and proc.returncode == 0 else 1
    finally:
        if args.keep:
            print(f"demo: work directory kept at {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
