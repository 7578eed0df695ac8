"""Generate the retail tables in parallel, stream them as a :class:`~laden.source.Dataset`, load them.

:func:`retail_dataset` gives one replayable :class:`~laden.source.TableSource` per table. Reading
a table makes its blocks (:data:`laden.generate.rng.BLOCK_ROWS` rows each) in this process or in
a pool of worker processes: blocks are submitted in order, at most ``2 x workers`` at a time,
and yielded in order — memory holds a handful of blocks whatever the scale, and the rows are
the same for any number of workers (a block depends on (scale, seed, table, block) only).
Reading a table again (a second target) makes it again.

:func:`generate_retail` creates the tables in the database targets (``create=True``) and hands
the dataset to :func:`laden.api.distribute`: same engine, strategies and report as ``laden load``.
"""

from __future__ import annotations

import multiprocessing
import os
import weakref
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from functools import partial
from typing import Any

import pyarrow as pa

from laden.errors import UsageError
from laden.generate import rng
from laden.generate.retail import TABLES, arrow_schema, check_scale, context, make_block, retail_counts
from laden.progress import CancelToken, ProgressCallback
from laden.report import Report
from laden.source import Dataset, TableSource

__all__ = ["BlockRunner", "generate_retail", "retail_dataset"]


def _warm(scale: float, seed: int) -> None:
    """Worker start-up: compute the shared context (and the neighbour table) once per process."""
    from laden.generate.places import neighbours
    from laden.generate.retail import NEAR_KM, NEIGHBOURS

    context(scale, seed)
    neighbours(NEIGHBOURS, NEAR_KM)


def _block(table: str, scale: float, seed: int, block: int) -> pa.RecordBatch:
    return make_block(table, scale, seed, block)


def default_workers() -> int:
    """One process per core but one (the reader, which encodes and writes, needs a core), at most 8."""
    return max(1, min((os.cpu_count() or 1) - 1, 8))


def _start_method() -> str:
    # forkserver: workers forked from a fresh server process (cheap, and safe: unlike fork, nothing of
    # the parent's Arrow / driver threads is copied); spawn where it does not exist (macOS, Windows)
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


class BlockRunner:
    """Makes the blocks of a table, in order, inline or in worker processes (created on first need)."""

    def __init__(self, scale: float, seed: int, workers: int | None = None) -> None:
        if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
            raise UsageError(f"workers must be a positive integer, got {workers!r}")
        self.scale = check_scale(scale)
        self.seed = rng.check_seed(seed)
        self.workers = workers or default_workers()
        #: blocks handed to the pool so far (all tables): observability for tests
        self.submitted = 0
        self._pool: ProcessPoolExecutor | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None

    def blocks(self, table: str) -> Iterator[pa.RecordBatch]:
        count = rng.blocks(retail_counts(self.scale)[table])
        if self.workers == 1 or count == 1:
            for block in range(count):
                yield make_block(table, self.scale, self.seed, block)
            return
        pool = self._executor()
        pending: deque[Future[pa.RecordBatch]] = deque()
        submitted = 0
        try:
            while submitted < count or pending:
                while submitted < count and len(pending) < 2 * self.workers:
                    pending.append(pool.submit(_block, table, self.scale, self.seed, submitted))
                    submitted += 1
                    self.submitted += 1
                yield pending.popleft().result()
        finally:  # the reader stopped early (error, cancel): drop what is still queued
            for future in pending:
                future.cancel()

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self.workers,
                mp_context=multiprocessing.get_context(_start_method()),
                initializer=_warm,
                initargs=(self.scale, self.seed),
            )
            self._finalizer = weakref.finalize(self, self._pool.shutdown, wait=False, cancel_futures=True)
        return self._pool

    def close(self) -> None:
        """Stop the worker processes (idempotent)."""
        if self._finalizer is not None:
            self._finalizer()
        self._pool = None
        self._finalizer = None


class GeneratedDataset(Dataset):
    """A :class:`Dataset` whose :meth:`close` also stops the generator's worker processes."""

    def __init__(self, tables: Sequence[TableSource], runner: BlockRunner) -> None:
        super().__init__(tables)
        self.runner = runner

    def close(self) -> None:
        self.runner.close()
        super().close()


def _concat(batches: list[pa.RecordBatch]) -> pa.RecordBatch:
    if len(batches) == 1:
        return batches[0]
    if hasattr(pa, "concat_batches"):  # pyarrow >= 19
        return pa.concat_batches(batches)
    return pa.Table.from_batches(batches).combine_chunks().to_batches()[0]  # pragma: no cover


def _regroup(blocks: Iterator[pa.RecordBatch], size: int) -> Iterator[pa.RecordBatch]:
    """Batches of exactly ``size`` rows (the last may be shorter) from the stream of blocks."""
    held: list[pa.RecordBatch] = []
    rows = 0
    for block in blocks:
        held.append(block)
        rows += block.num_rows
        while rows >= size:
            whole = _concat(held)
            yield whole.slice(0, size)
            rest = whole.slice(size)
            held, rows = ([rest] if rest.num_rows else []), rest.num_rows
    if rows:
        yield _concat(held)


def _batches(runner: BlockRunner, table: str, batch_size: int, _size: int) -> Iterator[pa.RecordBatch]:
    return _regroup(runner.blocks(table), batch_size)


def retail_dataset(
    scale: float, seed: int = 0, *, workers: int | None = None, batch_size: int = 100_000
) -> GeneratedDataset:
    """The retail tables at ``scale`` as a Dataset of replayable, streamed sources (parents first).

    ``workers``: processes making blocks (default: the CPU count less one, at most 8; 1 = this
    process only, no pool). ``batch_size``: rows per batch the sources yield (never more than a reader asks for).
    Use it as a context manager, or call ``close()``, to stop the worker processes.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise UsageError(f"batch_size must be a positive integer, got {batch_size!r}")
    runner = BlockRunner(scale, seed, workers)
    counts = retail_counts(runner.scale)
    sources = [
        TableSource(
            table,
            f"retail generator: {table} (scale {runner.scale:g}, seed {runner.seed})",
            arrow_schema(table),
            partial(_batches, runner, table, batch_size),
            rows=counts[table],
        )
        for table in TABLES
    ]
    return GeneratedDataset(sources, runner)


def generate_retail(
    scale: float,
    seed: int = 0,
    targets: Sequence[str] = (),
    *,
    create: bool = False,
    workers: int | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    config: Any = None,
    **options: Any,
) -> Report:
    """Generate the retail tables and load them into every target (URLs, paths or names): one report.

    ``create``: first create the tables (with keys) in each database target where they are
    missing — see :func:`laden.generate.ddl.create_tables` — file targets need nothing.
    ``options`` go to :func:`laden.api.distribute` (``strategy``, ``batch_size``, ``on_error``,
    ``file_format``, ``compression``, ...).
    """
    from laden import api
    from laden.config import TargetKind
    from laden.generate.ddl import create_tables
    from laden.generate.retail import retail_schema

    if isinstance(targets, str):
        targets = [targets]
    if not targets:
        raise UsageError("no target given")
    resolved = api.resolve_all(targets, config)
    dataset = retail_dataset(scale, seed, workers=workers, batch_size=options.get("batch_size") or 100_000)
    with dataset:
        if create:
            for target in resolved:
                if target.kind is TargetKind.DATABASE:
                    create_tables(target.url, retail_schema(), namespace=target.namespace)
        return api.distribute(dataset, targets, progress=progress, cancel=cancel, config=config, **options)
