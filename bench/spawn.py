"""Run a command and write its wall time and peak RSS to a file (a tiny ``/usr/bin/time``).

    python -S bench/spawn.py RESULT_FILE COMMAND [ARG ...]

Why not wait4() in the harness itself: Linux carries the parent's memory high-water mark
into a child's ``ru_maxrss`` across exec (vfork or fork), so a child of the harness, which
holds generated data and pyarrow, would report at least the harness's own peak. This small
process (stdlib only, started with -S) spawns the command instead, so the figure is the
command's own. The clock runs from spawn to exit; this wrapper's start-up is not in it.
Exit code: the command's (128 + signal number if it was killed).
"""

from __future__ import annotations

import os
import sys
import time


def main(argv: list[str]) -> int:
    result_file, command = argv[0], argv[1:]
    start = time.perf_counter()
    pid = os.posix_spawnp(command[0], command, os.environ)
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - start
    # ru_maxrss is KiB on Linux, bytes on macOS
    rss_kib = usage.ru_maxrss // 1024 if sys.platform == "darwin" else usage.ru_maxrss
    with open(result_file, "w", encoding="ascii") as f:
        f.write(f"{seconds:.6f} {rss_kib}\n")
    code = os.waitstatus_to_exitcode(status)
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
