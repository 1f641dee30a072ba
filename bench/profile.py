"""Where Ferry's time goes: a py-spy raw (collapsed) profile folded into runtime stages.

``python -m bench --profile 250 --systems ferry --cases ...`` records one per run; this module
attributes every sample to the deepest frame that names a stage (converter, transforms,
record construction, produce, offset tracking, consume, put, metrics, ...), so the shares say
which part of the per-record path to make faster. ``python -m bench.profile FILE RECORDS
[HZ]`` prints the same for a kept profile.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

# (stage, file pattern, function pattern): the first rule matching the deepest frame wins.
RULES: list[tuple[str, str, str]] = [
    ("metrics (prometheus_client)", r"prometheus_client", r""),
    ("logging", r"/logging/", r""),
    ("converter", r"ferry/converters/", r""),
    ("transforms", r"ferry/(transforms|predicates)/", r""),
    ("transforms", r"ferry/runtime/conversion\.py|chain", r"apply"),
    ("record construction", r"ferry/api/records\.py|<string>", r""),
    ("source connector poll (read, split, records)", r"ferry/connectors/file_source\.py", r""),
    ("sink connector put (format, write)", r"ferry/connectors/(file_sink|file)\.py", r""),
    ("offset tracking / commit", r"ferry/runtime/(offsets|source_runner)\.py",
     r"^(_track|commit_offsets|commit|_check_delivery_errors)$"),
    ("offset tracking / commit", r"ferry/runtime/sink_runner\.py", r"^commit_offsets$"),
    ("produce() call (librdkafka)", r"ferry/runtime/source_runner\.py", r"^_produce$"),
    ("per-record loop in _send", r"ferry/runtime/source_runner\.py", r"^_send$"),
    ("per-record loop in _deliver (incl. SinkRecord)", r"ferry/runtime/sink_runner\.py",
     r"^_deliver$"),
    ("consume() call (librdkafka)", r"ferry/runtime/sink_runner\.py", r"^iterate$"),
    ("put() dispatch", r"ferry/runtime/sink_runner\.py", r"^_put$"),
    ("producer.poll / flush (librdkafka)", r"ferry/runtime/source_runner\.py",
     r"^(iterate|iterate_paused)$"),
    ("task loop", r"ferry/runtime/task_runner\.py", r""),
]


_GENERATED = re.compile(r"<string>|dataclasses\.py")
# Time spent *on a line* of the runtime's loops (the call's own cost, a C call such as
# produce(), or a dataclass-generated __init__/__eq__/__hash__ it calls) goes by the line.
_LINE_FILES = re.compile(r"ferry/runtime/\w+_runner\.py|ferry/api/records\.py")
_LINE_RULES: list[tuple[str, str]] = [
    ("offset tracking / commit", r"TopicPartition\(|_track\(|pending\[|consumed\["),
    ("record construction", r"Record\(|\.replace\(|replace\("),
    ("converter", r"_conv\("),
    ("transforms", r"chain\.apply|\bapply\("),
    ("produce() call (librdkafka)", r"\bproduce\("),
    ("consume() call (librdkafka)", r"\.consume\("),
    ("metrics (prometheus_client)", r"\.inc\(|\.observe\("),
]
ROOTS = [Path(__file__).resolve().parents[1] / "worker"]
_SOURCES: dict[str, list[str]] = {}


def _split(frame: str) -> tuple[str, str, int]:
    match = re.match(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$", frame.strip())
    if not match:
        return frame, "", 0
    return match["func"].rsplit(".", 1)[-1], match["file"], int(match["line"] or 0)


def source_line(file: str, line: int) -> str:
    if not line or not file.endswith(".py"):
        return ""
    if file not in _SOURCES:
        _SOURCES[file] = []
        for root in ROOTS:
            path = root / file
            if path.is_file():
                _SOURCES[file] = path.read_text().splitlines()
                break
    lines = _SOURCES[file]
    return lines[line - 1].strip() if line <= len(lines) else ""


def _stage(frames: list[str]) -> str:
    for frame in reversed(frames):
        func, file, line = _split(frame)
        if _GENERATED.search(file) or func in ("<lambda>", "__create_fn__"):
            continue
        if _LINE_FILES.search(file):
            text = source_line(file, line)
            for stage, text_re in _LINE_RULES:
                if re.search(text_re, text):
                    return stage
        for stage, file_re, func_re in RULES:
            if re.search(file_re, file) and (not func_re or re.search(func_re, func)):
                return stage
    return "other (outside the task path)"


def parse(path: Path) -> tuple[Counter[str], Counter[str], int]:
    """Samples per stage, self samples per leaf frame, and the total, for task threads."""
    stages: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        # Only the task threads' work: the HTTP server and the idle main thread are not per
        # record (py-spy leaves out idle samples anyway).
        if not any("task_runner.py" in f or "_runner.py" in f for f in frames):
            continue
        n = int(count)
        total += n
        stages[_stage(frames)] += n
        leaves[frames[-1].strip()] += n
    return stages, leaves, total


def summarize_file(path: Path, records: int, rate: int = 0) -> str:
    stages, leaves, total = parse(path)
    if not total:
        return f"{path}: no task samples"
    lines = [f"profile {path.name}: {total} task-thread samples, {records:,} records"]
    hz = rate or _rate_from_name(path)
    for stage, n in stages.most_common():
        per = f", {n / hz / records * 1e6:6.2f} us/record" if hz else ""
        lines.append(f"  {100 * n / total:5.1f}%  {stage}{per}")
    lines.append("  top self frames:")
    for frame, n in leaves.most_common(12):
        _, file, line = _split(frame)
        text = source_line(file, line)
        code = f"  `{text[:70]}`" if text else ""
        lines.append(f"    {100 * n / total:5.1f}%  {frame[:90]}{code}")
    return "\n".join(lines)


def _rate_from_name(path: Path) -> int:
    match = re.search(r"-(\d+)hz", path.name)
    return int(match[1]) if match else 0


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    if len(args) < 2:
        print("usage: python -m bench.profile PROFILE.txt RECORDS [HZ]", file=sys.stderr)
        return 2
    print(summarize_file(Path(args[0]), int(args[1]), int(args[2]) if len(args) > 2 else 0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
