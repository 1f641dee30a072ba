"""``python -m bench.fanout N -- ARGV...``: N copies of a command as one process tree.

Each copy gets ``{i}`` in its arguments replaced by its number (1..N); SIGTERM or SIGINT is
passed on to every copy, and the launcher exits once all have. The benchmark measures a
process tree, so N ``ferry worker`` processes (Ferry's way to use N cores: on Kubernetes,
``workers: N``) are measured as one system.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from typing import Any


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print("usage: python -m bench.fanout N -- ARGV...", file=sys.stderr)
        return 2
    count, command = int(argv[0]), argv[2:]
    children = [subprocess.Popen([a.replace("{i}", str(i)) for a in command])
                for i in range(1, count + 1)]

    def forward(signum: int, _frame: Any) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    codes = [child.wait() for child in children]
    return max(codes, key=abs)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
