"""Run a :class:`~.model.GenerationPlan`: blocks of rows per table, streamed as a :class:`Dataset`.

Every table is made in blocks of :data:`laden.generate.rng.BLOCK_ROWS` rows. Key and
foreign-key columns are pure functions of the row index (:class:`KeyValues`): a child
computes its parents' keys without their rows. Free columns draw from the block's own
streams (one per column or group of columns), so a block depends on (plan, block number)
only — the same rows for any batch size, any reading order, any number of readers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import pyarrow as pa

from laden.errors import UsageError
from laden.generate.from_schema.codecs import from_units
from laden.generate.from_schema.coerce import DAY_US, fit_instants, fit_numbers, fit_text, with_nulls
from laden.generate.from_schema.domain import NUMERIC, TIMES, Order, order_step
from laden.generate.from_schema.keys import mix64, uniform
from laden.generate.from_schema.model import (
    ColumnPlan,
    Encoding,
    FkMode,
    FreeColumn,
    GenerationPlan,
    Source,
    TableGeneration,
)
from laden.generate.from_schema.realism import BlockContext, Params, generate
from laden.generate.locales import Weighted
from laden.generate.rng import BLOCK_ROWS
from laden.generate.values import pool
from laden.schema import TypeKind
from laden.source import Dataset, TableSource

__all__ = ["KeyValues", "TableMaker", "schema_dataset"]

_NULL_KEY = 0x5BD1E9955BD1E995
Cache = dict[tuple[str, int], tuple[np.ndarray, np.ndarray | None]]


class KeyValues:
    """Key and foreign-key columns of any table at any row indexes."""

    def __init__(self, plan: GenerationPlan) -> None:
        self.plan = plan
        self.tables = {t.name: t for t in plan.tables}

    def parent_index(self, t: TableGeneration, fi: int, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """The parent row of each child row ``idx`` through FK ``fi``, and which are NULL."""
        f = t.fks[fi]
        nulls = uniform(idx, f.key ^ _NULL_KEY) < f.nulls if f.nulls > 0 else None
        if f.mode is FkMode.RANDOM:
            assert f.spread is not None
            parent = f.spread.draw(uniform(idx, f.key))
        elif f.mode is FkMode.CONTIGUOUS:
            assert f.spread is not None
            parent = f.spread.slot(idx)
        elif f.mode is FkMode.ONE_TO_ONE:
            parent = idx
        elif f.mode is FkMode.SPREAD:
            anchor = t.fks[t.anchor if t.anchor is not None else 0].spread
            assert anchor is not None
            slot = anchor.slot(idx)
            rank = (idx - anchor.start(slot)).astype(np.uint64)
            n = np.uint64(f.parent_rows)
            parent = ((mix64(slot, f.key) % n + rank * np.uint64(f.step)) % n).astype(np.int64)
        else:  # SELF: an earlier row; the first row is a root (or itself)
            parent = np.floor(uniform(idx, f.key) * idx).astype(np.int64)
            root = idx == 0
            if not f.self_loop:
                nulls = root if nulls is None else nulls | root
        if f.permutation is not None:
            parent = f.permutation(parent)
        return parent, nulls

    def column(self, t: TableGeneration, name: str, idx: np.ndarray, cache: Cache | None = None) -> pa.Array:
        col = t.column(name)
        if col.key is not None:
            key = col.key
            if key.encoding is Encoding.INJECTIVE:
                k = idx
            elif key.encoding is Encoding.RANK:
                anchor = t.fks[t.anchor if t.anchor is not None else 0].spread
                assert anchor is not None
                k = idx - anchor.start(anchor.slot(idx))
            elif key.encoding is Encoding.DIGIT:
                k = (idx // key.divisor) % key.radix
            else:
                k = idx % key.codec.capacity
            return key.codec.encode(k)
        assert col.fk is not None, f"{t.name}.{name} is not a key column"
        f = t.fks[col.fk.fk]
        if f.mode is FkMode.NULL:
            return pa.nulls(len(idx), col.arrow)
        found = cache.get((t.name, col.fk.fk)) if cache is not None else None
        if found is None:
            found = self.parent_index(t, col.fk.fk, idx)
            if cache is not None:
                cache[(t.name, col.fk.fk)] = found
        parent, nulls = found
        values = self.column(self.tables[f.parent], col.fk.ref_column, parent)
        if values.type != col.arrow:
            values = values.cast(col.arrow)
        return with_nulls(values, nulls)


class TableMaker:
    """Makes the blocks of one table."""

    def __init__(self, plan: GenerationPlan, table: TableGeneration, keys: KeyValues | None = None) -> None:
        self.plan = plan
        self.table = table
        self.keys = keys or KeyValues(plan)
        self.schema = table.schema

    @property
    def block_count(self) -> int:
        return -(-self.table.rows // BLOCK_ROWS)

    def blocks(self) -> Iterator[pa.RecordBatch]:
        for b in range(self.block_count):
            yield self.block(b)

    def block(self, b: int) -> pa.RecordBatch:
        start = b * BLOCK_ROWS
        idx = np.arange(start, min(start + BLOCK_ROWS, self.table.rows), dtype=np.int64)
        ctx = BlockContext(self.plan.seed, self.table.name, b, idx, self.plan.locale)
        cache: Cache = {}
        units: dict[str, np.ndarray] = {}
        arrays: dict[str, pa.Array] = {}
        for col in self.table.columns:
            if col.key is not None and col.key.realistic is not None:
                arrays[col.name] = self._realistic_key(col, ctx)
            elif col.key is not None or col.fk is not None:
                arrays[col.name] = self.keys.column(self.table, col.name, idx, cache)
            elif col.free is not None:
                made = self._free(col, col.free, ctx)
                if isinstance(made, np.ndarray):
                    units[col.name] = made
                else:
                    arrays[col.name] = made
        for order in self.table.orders:
            _raise(units, order, self.table, ctx)
        for name, values in units.items():
            arrays[name] = from_units(values, self.table.column(name).domain)
        for col in self.table.columns:
            if col.free is not None and col.free.nulls > 0:
                arrays[col.name] = with_nulls(
                    arrays[col.name], ctx.rng(f"{col.name}\x00nulls").random(ctx.n) < col.free.nulls
                )
        return pa.RecordBatch.from_arrays([arrays[c.name] for c in self.table.columns], schema=self.schema)

    def _realistic_key(self, col: ColumnPlan, ctx: BlockContext) -> pa.Array:
        """Realistic text with the row number in it; the codec's value where that does not fit."""
        import pyarrow.compute as pc

        assert col.key is not None and col.key.realistic is not None
        params = Params(unique=True, max_chars=col.domain.max_chars)
        made = generate(col.key.realistic, ctx, col.name, params)
        assert isinstance(made, pa.Array)
        length = pc.utf8_length(made)
        bad = pc.less(length, max(col.domain.min_chars, col.domain.min_bytes, 1))
        if col.domain.max_chars is not None:
            bad = pc.or_(bad, pc.greater(length, col.domain.max_chars))
        if pc.any(bad).as_py():
            made = pc.if_else(bad, col.key.codec.encode(ctx.index), made)
        return made

    def _free(self, col: ColumnPlan, free: FreeColumn, ctx: BlockContext) -> pa.Array | np.ndarray:
        domain, kind = col.domain, col.domain.kind
        rng = ctx.rng(col.name)
        if free.source is Source.VALUES:
            picks = pool(Weighted(tuple(map(str, free.values)), free.weights)).draw(rng, ctx.n)
            if kind in NUMERIC or kind in TIMES:
                return np.asarray(free.values)[picks]
            return pa.array(list(free.values), domain.arrow).take(pa.array(picks))
        if free.source is Source.RANGE:
            assert free.low is not None and free.high is not None
            if kind is TypeKind.FLOAT:
                return rng.uniform(float(free.low), float(free.high), ctx.n)
            grain = 1_000_000 if kind in (TypeKind.TIMESTAMP, TypeKind.TIMESTAMP_TZ, TypeKind.TIME) else 1
            low, high = -(-int(free.low) // grain), int(free.high) // grain
            if low > high:
                return np.full(ctx.n, int(free.low), dtype=np.int64)
            return rng.integers(low, high + 1, ctx.n) * grain
        if free.source is Source.REGEX:
            assert free.pattern is not None
            return fit_text(free.pattern.random(rng, ctx.n), domain, free.safe)
        if free.source is Source.NULL or free.generator is None:
            return pa.nulls(ctx.n, domain.arrow)
        made = generate(free.generator, ctx, col.name, free.params)
        if isinstance(made, np.ndarray):
            if kind in NUMERIC:
                return fit_numbers(made, domain, rng, free.safe)
            return fit_instants(made, domain, rng, free.safe)
        if kind is TypeKind.STRING:
            return fit_text(made, domain, free.safe)
        return made if made.type == domain.arrow else made.cast(domain.arrow)


def _raise(units: dict[str, np.ndarray], order: Order, table: TableGeneration, ctx: BlockContext) -> None:
    """Make ``greater`` at least ``lesser`` (+ a unit when strict), a small gap above it where it was not."""
    lesser, greater = units.get(order.lesser), units.get(order.greater)
    if lesser is None or greater is None:
        return
    domain = table.column(order.greater).domain
    float_kind = domain.kind is TypeKind.FLOAT
    floor = lesser + order_step(domain, order.strict)
    bad = greater < floor
    if not bad.any():
        return
    rng = ctx.rng(f"{order.lesser}\x00{order.greater}")
    if domain.kind is TypeKind.DATE:
        gap_max = 30
    elif domain.kind in (TypeKind.TIMESTAMP, TypeKind.TIMESTAMP_TZ, TypeKind.TIME):
        gap_max = 30 * DAY_US if domain.kind is not TypeKind.TIME else 3_600_000_000
    else:
        gap_max = 10 * (10**domain.scale if domain.kind is TypeKind.DECIMAL else 1)
    count = int(bad.sum())
    gap: np.ndarray
    if float_kind:
        gap = rng.uniform(0, gap_max, count)
    elif domain.kind in TIMES and domain.kind is not TypeKind.DATE:
        gap = rng.integers(0, gap_max // 1_000_000 + 1, count) * 1_000_000  # whole seconds
    else:
        gap = rng.integers(0, gap_max + 1, count)
    raised = floor[bad] + gap
    if domain.high is not None:
        raised = np.minimum(raised, domain.high)
    greater[bad] = raised


def schema_dataset(plan: GenerationPlan, *, batch_size: int = 100_000) -> Dataset:
    """The planned tables as a :class:`Dataset` of replayable, streamed sources in FK order (parents first)."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise UsageError(f"batch_size must be a positive integer, got {batch_size!r}")
    keys = KeyValues(plan)
    sources = []
    for t in plan.tables:
        maker = TableMaker(plan, t, keys)
        origin = f"schema generator: {t.name} ({t.rows:,} rows, seed {plan.seed})"
        sources.append(TableSource(t.name, origin, maker.schema, _reader(maker, batch_size), rows=t.rows))
    return Dataset(sources)


def _reader(maker: TableMaker, batch_size: int) -> Callable[[int], Iterator[pa.RecordBatch]]:
    def read(_size: int) -> Iterator[pa.RecordBatch]:
        return _regroup(maker.blocks(), batch_size)

    return read


def _regroup(blocks: Iterator[pa.RecordBatch], size: int) -> Iterator[pa.RecordBatch]:
    """Batches of exactly ``size`` rows (the last may be shorter) from the stream of blocks."""
    held: list[pa.RecordBatch] = []
    rows = 0
    for block in blocks:
        held.append(block)
        rows += block.num_rows
        while rows >= size:
            whole = held[0] if len(held) == 1 else pa.concat_batches(held)
            yield whole.slice(0, size)
            rest = whole.slice(size)
            held, rows = ([rest] if rest.num_rows else []), rest.num_rows
    if rows:
        yield held[0] if len(held) == 1 else pa.concat_batches(held)
