"""Issue 7.1: ``kill -9`` of a running ``laden load``.

The real CLI loads 1M rows (``truncate_insert`` of a full 1M-row table, or an ``upsert`` of 1M
rows into a 1M-row table, half of the keys new) and is SIGKILLed at 10 moments drawn from
``random.Random("kill9/<engine>/<strategy>")``, uniform over start-up to past the commit
(0 .. 1.1 x the duration of an uninterrupted run, measured first). After each kill — once the
server has let go of the killed client's session — the table's checksum (count, sums; computed
on the server) equals the state before the run or the completed result, nothing in between; the
database holds no relation it did not hold before (no staging table), the child's TMPDIR is
empty and a SQLite/DuckDB file has nothing beside it. Then the same load runs again, completes,
and the table equals the source with no duplicate keys.

A failure message names the seed, the kill and its moment, so a run can be replayed.
"""

from __future__ import annotations

import fnmatch
import random
import time
from pathlib import Path
from typing import Any

import pytest
from _kill9 import (
    Checksum,
    Run,
    Sources,
    TempFileLeftover,
    create,
    duplicates,
    file_leftovers,
    inventory,
    reset,
    run_load,
    table_checksum,
    version_checksum,
    wait_until_alone,
    write_sources,
)

KILLS = 10
#: kill moments are uniform over [0, SPAN x the duration of an uninterrupted run]
SPAN = 1.1

#: laden's MariaDB backend writes each LOAD DATA LOCAL batch to a named file in $TMPDIR
#: (``laden-*.tsv``, tempfile.mkstemp) and unlinks it in a ``finally`` that SIGKILL never reaches:
#: every kill during a LOAD DATA leaves one behind. While this is True the random kills set such
#: files aside (and count them) instead of failing, and test_kill9_during_load_data_leaves_no_temp_file
#: is an expected failure; set it to False once the backend no longer names the file.
KNOWN_TSV_LEFTOVER = False


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> Sources:
    """The 1M-row Parquet files, written once for the module."""
    return write_sources(tmp_path_factory.mktemp("kill9-data"))


class Scenario:
    """One target, one strategy: what each run loads, the states before and after it, the checks."""

    def __init__(self, db: Any, strategy: str, sources: Sources, workdir: Path, *, fill: bool = True) -> None:
        self.db, self.engine, self.strategy, self.sources = db, db.engine, strategy, sources
        self.workdir = workdir
        self.tmpdir = workdir / "tmp"  # the child's TMPDIR
        self.tmpdir.mkdir()
        create(db)
        if fill:
            reset(db, 0)
        assert db.tables() == {"kv"}
        self.baseline = inventory(db)
        self.current = 0  # truncate_insert: the version kv holds
        self.upserted = False  # upsert: kv holds the completed result, not the base table
        self.known_leftovers = 0
        self.waited = 0.0  # seconds the last settle() waited for the server

    def next_load(self) -> tuple[Path, Checksum, Checksum]:
        """(source, checksum before, checksum completed) of the next run."""
        if self.strategy == "truncate_insert":
            ver = 2 if self.current == 1 else 1  # always the version kv does not hold
            return self.sources.full[ver], version_checksum(self.current), version_checksum(ver)
        if self.upserted:
            reset(self.db, 0)  # back to the base table, so half of the upsert's keys are new again
            self.upserted = False
        return self.sources.upsert, self.sources.upsert_before, self.sources.upsert_after

    def run(self, source: Path, kill_after: float | None = None) -> Run:
        return run_load(source, self.db.url, self.strategy, self.workdir, self.tmpdir, kill_after=kill_after)

    def settle(self, run: Run, source: Path, before: Checksum, after: Checksum, where: str) -> str:
        """After a run: wait for the server, check kv is before or after and nothing is left over.
        Returns "before" or "completed"; a completed run's result becomes the next before-state."""
        assert run.killed or run.returncode == 0, f"the load failed by itself ({where}; {run.tail()})"
        self.waited = wait_until_alone(self.db)
        state = table_checksum(self.db)  # on SQLite / DuckDB this reopens the file: the engine recovers
        where = f"{where}; {run.tail()}"
        assert state in (before, after), f"kv is neither before {before} nor completed {after}: {state} ({where})"
        if run.returncode == 0:
            assert state == after, f"the load reported success but kv is not the completed state ({where})"
        self.check_clean(where, final=run.returncode == 0)
        if state == before:
            return "before"
        if self.strategy == "truncate_insert":
            self.current = next(v for v, p in self.sources.full.items() if p == source)
        else:
            self.upserted = True
        return "completed"

    def check_clean(self, where: str, *, final: bool = False) -> None:
        """No relation the database did not hold before, no file left in TMPDIR or beside the database
        file (after a kill, a SQLite journal that is not hot may stay; after a completed run, nothing)."""
        assert inventory(self.db) == self.baseline, f"a relation appeared or vanished ({where})"
        left = sorted(p.name for p in self.tmpdir.iterdir())
        if self.engine == "mysql" and KNOWN_TSV_LEFTOVER:
            known = [n for n in left if fnmatch.fnmatch(n, "laden-*.tsv")]
            for n in known:
                (self.tmpdir / n).unlink()
            left = [n for n in left if n not in known]
            self.known_leftovers += len(known)
        if left:
            raise TempFileLeftover(f"temporary files left in the child's TMPDIR: {left} ({where})")
        # A hot SQLite journal or a DuckDB WAL after the kill is the engine's own recovery, not a
        # leftover of laden's: the checksum query reopened the file, which rolled a hot journal back /
        # replayed and checkpointed the WAL, and both are gone then. But SQLite leaves a journal whose
        # process was killed before the journal's header was synced (magic still zero: not hot, a
        # reader ignores it), and DuckDB a WAL whose last commit was torn by the kill (replay stops
        # there, the data is the state before; reopening and even CHECKPOINT keep the file), until
        # the next write transaction reuses and deletes it. So after a kill that one file may stay;
        # after a run that completed, nothing may.
        beside = file_leftovers(self.db)
        if not final and self.engine in _RECOVERY_FILE:
            beside = [n for n in beside if n != Path(self.db.path).name + _RECOVERY_FILE[self.engine]]
        assert beside == [], f"files left beside the database ({where})"


#: the engine's own file that a kill may leave until the next write transaction (see check_clean)
_RECOVERY_FILE = {"sqlite": "-journal", "duckdb": ".wal"}


@pytest.mark.parametrize("strategy", ["truncate_insert", "upsert"])
def test_kill9(
    engine: str,
    strategy: str,
    target_url: str,
    make_db: Any,
    sources: Sources,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    started = time.monotonic()
    sc = Scenario(make_db(target_url), strategy, sources, tmp_path_factory.mktemp(f"kill9-{engine}-{strategy}"))
    seed = f"kill9/{engine}/{strategy}"
    rng = random.Random(seed)
    fractions = [rng.uniform(0.0, SPAN) for _ in range(KILLS)]

    # one uninterrupted run: how long the whole life of the process is
    source, before, after = sc.next_load()
    timing = sc.run(source)
    assert timing.returncode == 0, timing.tail()
    assert sc.settle(timing, source, before, after, f"seed {seed!r}, timing run") == "completed"
    duration = timing.seconds

    outcomes = []
    for i, fraction in enumerate(fractions, 1):
        source, before, after = sc.next_load()
        moment = fraction * duration
        run = sc.run(source, kill_after=moment)
        where = f"seed {seed!r}, kill {i}/{KILLS} at {moment:.2f}s = {fraction:.3f} x {duration:.2f}s"
        outcome = sc.settle(run, source, before, after, where)
        outcomes.append(f"{fraction:.2f}:{outcome}" + (f" (server {sc.waited:.1f}s)" if sc.waited > 0.5 else ""))

    # the same load again: it completes and kv equals the source, with no duplicate keys
    rerun = sc.run(source)
    where = f"seed {seed!r}, rerun after the kills {outcomes}"
    assert rerun.returncode == 0, f"{where}: {rerun.tail()}"
    assert sc.settle(rerun, source, before, after, where) == "completed"
    assert duplicates(sc.db) == 0, where

    print(
        f"\nkill9 {engine}/{strategy}: uninterrupted {duration:.2f}s, kills (fraction of it: state) {outcomes}, "
        f"known tsv leftovers {sc.known_leftovers}, {time.monotonic() - started:.1f}s in all"
    )


@pytest.mark.xfail(
    KNOWN_TSV_LEFTOVER,
    raises=TempFileLeftover,
    strict=True,
    reason="MariaDB backend: the LOAD DATA LOCAL batch file is a named tempfile.mkstemp file in TMPDIR, "
    "unlinked in a finally that SIGKILL skips",
)
def test_kill9_during_load_data_leaves_no_temp_file(
    mysql_url: str, make_db: Any, sources: Sources, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Not a random moment: SIGKILL while the server runs one of laden's LOAD DATA LOCAL statements
    (the client is then streaming a batch to it), which the random kills hit only by chance."""
    db = make_db(mysql_url)
    sc = Scenario(db, "truncate_insert", sources, tmp_path_factory.mktemp("kill9-load-data"), fill=False)
    watcher = make_db(mysql_url)  # polls the server while the child runs

    def loading() -> bool:
        rows = watcher.query(
            "SELECT id FROM information_schema.processlist WHERE db = DATABASE() AND id <> CONNECTION_ID() "
            "AND info LIKE 'LOAD DATA LOCAL INFILE%'"
        )
        return bool(rows)

    source, _, _ = sc.next_load()
    run = run_load(source, mysql_url, "truncate_insert", sc.workdir, sc.tmpdir, kill_when=loading)
    watcher.close()
    assert run.killed, f"the load ended before a LOAD DATA was seen: {run.tail()}"
    wait_until_alone(db)
    assert table_checksum(db) == (0, 0, 0, 0)  # kv was empty
    assert inventory(db) == sc.baseline
    left = sorted(p.name for p in sc.tmpdir.iterdir())
    if left:
        raise TempFileLeftover(f"temporary files left in the child's TMPDIR: {left}")
