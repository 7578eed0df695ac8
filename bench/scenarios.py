"""The three benchmarks as lists of jobs: append (everyone), upsert and memory (laden)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench import data
from bench.contenders import RAW_UPSERT, Contender, for_engine
from bench.runner import Job, Result, Runner, run_process
from bench.targets import Target


@dataclass(frozen=True)
class Sizes:
    rows: int
    peer_rows: int


def _source(contender: Contender, cache: Path, rows: int) -> Path:
    return data.dataset_csv(cache, rows) if contender.source == "csv" else data.dataset(cache, rows)


def append_jobs(
    engine: str, target: Target, cache: Path, sizes: Sizes, *, peers: bool = True
) -> tuple[list[Job], list[Result]]:
    """One job per runnable contender on `engine` (laden and the raw paths only unless `peers`);
    the others as n/a results."""
    jobs: list[Job] = []
    unavailable: list[Result] = []
    for c in for_engine(engine):
        if not peers and c.role == "peer":
            continue
        rows = min(sizes.peer_rows, sizes.rows) if c.small else sizes.rows
        note = f"on {rows:,} rows (--peer-rows)" if c.small and rows != sizes.rows else ""
        reason = c.missing()
        if reason:
            unavailable.append(Result(c.name, engine, c.role, rows, note, status="n/a", reason=reason))
            continue
        command = c.command(_source(c, cache, rows), target.url)
        jobs.append(Job(c.name, engine, c.role, rows, command, target.reset, target.count, rows, note))
    return jobs, unavailable


def _prefill(runner: Runner, target: Target, cache: Path, rows: int) -> Callable[[], None]:
    """A setup that leaves the table holding ids 0..rows-1, loaded by the raw path (untimed)."""
    raw = for_engine(target.engine, "raw")[0]
    command = raw.command(data.dataset(cache, rows), target.url)

    def setup() -> None:
        target.reset()
        run = run_process(command, runner.cwd, runner.env, runner.timeout)
        found = target.count()
        if run.returncode != 0 or found != rows:
            raise RuntimeError(f"prefill of {target.engine} failed ({found} rows): {run.output[-500:]}")
        target.settle()

    return setup


def upsert_jobs(runner: Runner, target: Target, cache: Path, rows: int) -> list[Job]:
    """laden append into the empty table vs laden upsert of half-new rows into a full one; where
    the engine has a hand-written raw upsert (RAW_UPSERT), the raw append and it beside them."""
    laden = for_engine(target.engine, "laden")[0]
    source, changes = data.dataset(cache, rows), data.upsert_dataset(cache, rows)
    final = data.upsert_final_rows(rows)
    note = f"into {rows:,} rows; half new keys -> {final:,}"
    prefill = _prefill(runner, target, cache, rows)
    jobs = [
        Job(
            "laden append",
            target.engine,
            "append",
            rows,
            laden.command(source, target.url),
            target.reset,
            target.count,
            rows,
        ),
        Job(
            "laden upsert",
            target.engine,
            "upsert",
            rows,
            laden.command(changes, target.url, "--strategy", "upsert"),
            prefill,
            target.count,
            final,
            note,
        ),
    ]
    for raw in (c for c in RAW_UPSERT if c.engine == target.engine and c.missing() is None):
        append = for_engine(target.engine, "raw")[0]
        jobs.append(
            Job(
                "raw append",
                target.engine,
                "raw append",
                rows,
                append.command(source, target.url),
                target.reset,
                target.count,
                rows,
                append.name,
            )
        )
        jobs.append(
            Job(
                "raw upsert",
                target.engine,
                "raw upsert",
                rows,
                raw.command(changes, target.url),
                prefill,
                target.count,
                final,
                raw.name,
            )
        )
    return jobs


MEMORY_ENGINES = ("sqlite", "postgresql")


def memory_jobs(target: Target, cache: Path, row_counts: list[int]) -> list[Job]:
    laden = for_engine(target.engine, "laden")[0]
    return [
        Job(
            f"laden append {rows:,} rows",
            target.engine,
            "memory",
            rows,
            laden.command(data.dataset(cache, rows), target.url),
            target.reset,
            target.count,
            rows,
        )
        for rows in row_counts
    ]
