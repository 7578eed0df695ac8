"""Timing whole processes: spawn, wait, wall time and peak RSS; alternation and medians."""

from __future__ import annotations

import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ProcessRun:
    seconds: float
    max_rss_kib: int
    returncode: int
    output: str  # the tail of stdout + stderr


SPAWN_PY = str(Path(__file__).with_name("spawn.py"))


def run_process(argv: list[str], cwd: Path, env: dict[str, str], timeout: float) -> ProcessRun:
    """Run `argv` to completion through bench/spawn.py: wall time from spawn to exit and
    the command's own peak RSS. It runs in its own process group, killed whole on timeout
    or Ctrl-C."""
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryFile() as out:
        result_file = Path(tmp) / "result"
        wrapped = [sys.executable, "-S", SPAWN_PY, str(result_file), *argv]
        proc = subprocess.Popen(
            wrapped,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        timer = threading.Timer(timeout, _kill_group, (proc,))
        timer.start()
        try:
            returncode = proc.wait()
        except BaseException:  # Ctrl-C / SIGTERM: do not leave the command running
            _kill_group(proc)
            proc.wait()
            raise
        finally:
            timer.cancel()
        out.seek(0)
        output = out.read()[-3000:].decode(errors="replace")
        try:
            seconds, rss = result_file.read_text().split()
        except (OSError, ValueError):
            return ProcessRun(
                0.0, 0, returncode or -1, output or "no result from bench/spawn.py (killed after --timeout?)"
            )
    return ProcessRun(float(seconds), int(rss), returncode, output)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


@dataclass
class Job:
    """One thing to time: a command, what to do before each run, and how to check it."""

    name: str
    engine: str
    role: str  # "laden", "raw", "raw-alt", "peer" (or a scenario's own label)
    rows: int  # rows the command loads: the numerator of rows/s
    argv: list[str]
    setup: Callable[[], None]
    count: Callable[[], int]  # rows found in the target after a run
    expected: int  # rows that must be there
    note: str = ""


@dataclass
class Result:
    name: str
    engine: str
    role: str
    rows: int
    note: str = ""
    status: str = "ok"  # "ok", "failed", "n/a"
    reason: str = ""
    seconds: list[float] = field(default_factory=list)
    rss_kib: list[int] = field(default_factory=list)

    @classmethod
    def of(cls, job: Job) -> Result:
        return cls(job.name, job.engine, job.role, job.rows, job.note)

    @property
    def ok(self) -> bool:
        return self.status == "ok" and bool(self.seconds)

    @property
    def median_seconds(self) -> float | None:
        return statistics.median(self.seconds) if self.ok else None

    @property
    def rows_per_second(self) -> float | None:
        median = self.median_seconds
        return self.rows / median if median else None

    @property
    def peak_rss_mib(self) -> float | None:
        return max(self.rss_kib) / 1024 if self.rss_kib else None

    def fail(self, reason: str) -> None:
        self.status, self.reason = "failed", reason
        self.seconds.clear()

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "engine": self.engine,
            "role": self.role,
            "rows": self.rows,
            "note": self.note,
            "status": self.status,
            "reason": self.reason,
            "seconds": self.seconds,
            "median_seconds": self.median_seconds,
            "rows_per_second": self.rows_per_second,
            "peak_rss_mib": self.peak_rss_mib,
        }


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else "(no output)"


@dataclass
class Runner:
    cwd: Path
    env: dict[str, str]
    timeout: float = 1800.0
    log: Any = sys.stderr

    def attempt(self, job: Job, result: Result, label: str) -> None:
        """Set up, run and verify one job; record the time, or mark the result failed."""
        job.setup()
        run = run_process(job.argv, self.cwd, self.env, self.timeout)
        if run.returncode != 0:
            result.fail(f"exit code {run.returncode}: {_last_line(run.output)}")
        else:
            try:
                found = job.count()
            except Exception as e:  # the table may be gone or unreadable: the contender failed
                found = -1
                result.fail(f"row count failed: {e}")
            if found >= 0 and found != job.expected:
                result.fail(f"{found} rows in the target, expected {job.expected}")
        if result.status == "ok":
            result.rss_kib.append(run.max_rss_kib)
            if label != "warm-up":
                result.seconds.append(run.seconds)
        state = f"{run.seconds:7.2f} s" if result.status == "ok" else f"FAILED ({result.reason})"
        print(f"  [{job.engine}] {label:>9}  {job.name:<34} {state}", file=self.log, flush=True)

    def measure(self, jobs: list[Job], repeat: int, warmup: bool = True) -> list[Result]:
        """Warm every job up once (untimed), then `repeat` rounds, alternating jobs and
        rotating their order each round; a job that fails once is failed and not retried."""
        results = [Result.of(job) for job in jobs]
        pairs = list(zip(jobs, results, strict=True))
        if warmup:
            for job, result in pairs:
                self.attempt(job, result, "warm-up")
        for r in range(repeat):
            shift = r % len(pairs)
            for job, result in pairs[shift:] + pairs[:shift]:
                if result.status == "ok":
                    self.attempt(job, result, f"{r + 1}/{repeat}")
        return results


def child_env() -> dict[str, str]:
    """The same environment for every contender: no telemetry, UTC."""
    env = dict(os.environ)
    env.update({"TZ": "UTC", "RUNTIME__DLTHUB_TELEMETRY": "false"})
    return env
