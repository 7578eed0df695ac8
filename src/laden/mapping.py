"""Table mappings: one wide source into several normalized tables.

.. code-block:: python

    laden.load(extract, "shop", tables=["customers", "orders", "order_items"], table_mappings={
        "customers": {"columns": {"customer_id": "id", "customer_name": "name"}, "distinct_on": ["id"]},
        "orders": {"columns": {"order_id": "id", "customer_id": "customer_id"}, "distinct_on": ["id"]},
        "order_items": {"columns": {"order_id": "order_id", "line": "line_no"}, "constants": {"source": "import"}},
        "users": ["id", "name", "email"],       # short form: these source columns, same names
    })

Each mapped table reads the source again, batch by batch, takes its columns (renamed), adds
its constants and, with ``distinct_on``, keeps one row per key: the first (or, with
``keep: last``, the last). A repeat of a key with the same values is the denormalized copy
and is dropped; a repeat with *different* values is a bad row ("conflicting duplicate").

Memory: per table with ``distinct_on``, a dict of every key seen — a 16-byte hash of the key,
an 8-byte hash of the row's other mapped values and the kept row's number (about 120 bytes
per distinct key in CPython) — never the rows themselves. ``keep: last`` reads the source
once more first, to find each key's last row. Hashing is column-wise; Python touches each
distinct key of a batch once, not each row.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from laden.backfill.checksum import column_hash, mix
from laden.errors import SchemaMismatchError, UsageError, aside, did_you_mean
from laden.schema import Schema
from laden.source import BadSourceRow, Dataset, NumberedBatch, TableSource

_K1, _K2 = np.uint64(0x2545F4914F6CDD1D), np.uint64(0x9E3779B97F4A7C15)


class Keep(str, enum.Enum):
    FIRST = "first"
    LAST = "last"


@dataclass(frozen=True)
class TableMapping:
    """How one target table is cut from the source."""

    table: str
    #: (source column, target column), in the target's column order of the mapping
    columns: tuple[tuple[str, str], ...]
    #: target columns: one row per distinct value of them
    distinct_on: tuple[str, ...] = ()
    keep: Keep = Keep.FIRST
    #: (target column, value) added to every row
    constants: tuple[tuple[str, Any], ...] = ()

    @property
    def targets(self) -> tuple[str, ...]:
        return tuple(t for _, t in self.columns) + tuple(c for c, _ in self.constants)

    def describe(self) -> str:
        cols = ", ".join(s if s == t else f"{s} -> {t}" for s, t in self.columns)
        parts = [f"{self.table}: {cols}"]
        if self.constants:
            parts.append("constants " + ", ".join(f"{c} = {v!r}" for c, v in self.constants))
        if self.distinct_on:
            parts.append(f"one row per ({', '.join(self.distinct_on)}), keep {self.keep.value}")
        return "; ".join(parts)


def parse_mappings(spec: Mapping[str, Any], where: str = "table_mappings") -> dict[str, TableMapping]:
    """Mappings from Python or ``laden.yaml`` (long or short form); errors name the key path."""
    if not isinstance(spec, Mapping):
        raise UsageError(f"{where}: expected a mapping of table name to its mapping, got {type(spec).__name__}")
    _all_names(list(spec), where)
    return {table: _mapping(table, node, f"{where}.{table}") for table, node in spec.items()}


def _mapping(table: str, node: Any, path: str) -> TableMapping:
    if isinstance(node, TableMapping):
        return node
    if isinstance(node, list | tuple):
        cols = _names(node, path)
        return TableMapping(table, tuple((c, c) for c in cols))
    if not isinstance(node, Mapping):
        raise UsageError(f"{path}: expected a list of source columns or a mapping with columns, got {node!r}")
    unknown = sorted(set(node) - {"columns", "distinct_on", "keep", "constants"})
    if unknown:
        raise UsageError(f"{path}.{unknown[0]}: unknown key; expected columns, distinct_on, keep, constants")
    raw = node.get("columns")
    if isinstance(raw, list | tuple):
        columns = tuple((c, c) for c in _names(raw, f"{path}.columns"))
    elif isinstance(raw, Mapping) and raw:
        _all_names([*raw, *raw.values()], f"{path}.columns")
        columns = tuple((s, t) for s, t in raw.items())
    else:
        raise UsageError(f"{path}.columns: expected a mapping of source column to target column")
    targets = [t for _, t in columns]
    twice = sorted({t for t in targets if targets.count(t) > 1})
    if twice:
        raise UsageError(f"{path}.columns: target column {twice[0]!r} is filled from two source columns")
    constants = node.get("constants") or {}
    if not isinstance(constants, Mapping):
        raise UsageError(f"{path}.constants: expected a mapping of target column to value")
    _all_names(list(constants), f"{path}.constants")
    clash = sorted(set(constants) & set(targets))
    if clash:
        raise UsageError(f"{path}.constants: {clash[0]!r} is also mapped from a source column; keep one")
    distinct = _names(node.get("distinct_on") or [], f"{path}.distinct_on")
    try:
        keep = Keep(node.get("keep", "first"))
    except ValueError:
        raise UsageError(f"{path}.keep: expected first or last, got {node.get('keep')!r}") from None
    return TableMapping(table, columns, distinct, keep, tuple((str(c), v) for c, v in constants.items()))


def _all_names(values: list[Any], path: str) -> None:
    """Table and column names are text: YAML reads ``on``, ``no``, ``~`` and ``010`` as true, false, null and 8."""
    for v in values:
        if not isinstance(v, str) or not v:
            raise UsageError(
                f"{path}: {v!r} is not a name; put it in quotes (YAML reads on, no, ~, 010 as true, false, null, 8)"
            )


def _names(value: Any, path: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) and v for v in value):
        raise UsageError(f"{path}: expected a list of column names, got {value!r}")
    return tuple(value)


def check_mappings(mappings: Mapping[str, TableMapping], source: pa.Schema, origin: str) -> None:
    """What can be known from the source alone: every mapped source column exists, every
    ``distinct_on`` column is mapped."""
    for m in mappings.values():
        for s, _ in m.columns:
            if s not in source.names:
                raise UsageError(
                    f"table_mappings.{m.table}: source column {s!r} is not in {origin}"
                    f"{aside(did_you_mean(s, source.names))}; its columns are "
                    f"{', '.join(source.names)}"
                )
        for key in m.distinct_on:
            if key not in m.targets:
                raise UsageError(
                    f"table_mappings.{m.table}: distinct_on column {key!r} is not a mapped target column; "
                    f"the mapped columns are {', '.join(m.targets)}"
                )


def check_against(mappings: Mapping[str, TableMapping], schema: Schema, target: str) -> None:
    """Against the target's tables: each exists; each mapped column exists; no NOT NULL column
    without a default is left out; with ``distinct_on``, it holds the table's primary key."""
    for m in mappings.values():
        table = schema.table(m.table)
        if table is None:
            raise SchemaMismatchError(
                f"{target}: table_mappings.{m.table}: no table {m.table!r} in the target"
                f"{aside(did_you_mean(m.table, schema.table_names))}; "
                f"tables there: {', '.join(schema.table_names) or 'none'}",
                target=target,
                table=m.table,
            )
        for col in m.targets:
            if table.column(col) is None:
                raise SchemaMismatchError(
                    f"{target}: table_mappings.{m.table}: table {m.table!r} has no column {col!r}"
                    f"{aside(did_you_mean(col, table.column_names))}; its columns are "
                    f"{', '.join(table.column_names)}",
                    target=target,
                    table=m.table,
                )
        for c in table.columns:
            if not c.nullable and c.default is None and not c.generated and not c.computed and c.name not in m.targets:
                raise SchemaMismatchError(
                    f"{target}: table_mappings.{m.table}: column {c.name!r} is NOT NULL and has no default, but no "
                    "source column or constant is mapped to it; map one",
                    target=target,
                    table=m.table,
                )
        missing = [k for k in table.primary_key if k not in m.distinct_on]
        if m.distinct_on and missing:
            raise SchemaMismatchError(
                f"{target}: table_mappings.{m.table}: distinct_on ({', '.join(m.distinct_on)}) leaves out key column "
                f"{missing[0]!r} of the primary key ({', '.join(table.primary_key)}); add it",
                target=target,
                table=m.table,
            )


def mapped_dataset(source: TableSource, mappings: Mapping[str, TableMapping], tables: Sequence[str] = ()) -> Dataset:
    """The mapped tables as a dataset, in ``tables`` order (default: the mappings' order)."""
    order = list(tables) or list(mappings)
    unknown = [t for t in order if t not in mappings]
    if unknown:
        raise UsageError(f"tables: {unknown[0]!r} has no entry in table_mappings ({', '.join(mappings)})")
    check_mappings(mappings, source.schema(), source.origin)
    return Dataset([_mapped_source(source, mappings[t]) for t in order])


def _mapped_source(source: TableSource, m: TableMapping) -> TableSource:
    schema = _schema(source.schema(), m)

    def numbered(batch_size: int) -> Iterator[NumberedBatch]:
        return _Distinct(source, m, schema).run(batch_size)

    def batches(batch_size: int) -> Iterator[pa.RecordBatch]:
        for item in numbered(batch_size):
            if item.bad:
                raise UsageError(f"{source.origin}: data row {item.bad[0].row}: {item.bad[0].reason}")
            if item.batch.num_rows:
                yield item.batch

    origin = f"{source.origin} (mapped to {m.table})"
    mapped = TableSource(m.table, origin, schema, batches, replayable=source.replayable, numbered=numbered,
                         path=source.path)  # fmt: skip
    mapped.mapping = m
    return mapped


def _schema(source: pa.Schema, m: TableMapping) -> pa.Schema:
    fields = [source.field(s).with_name(t) for s, t in m.columns]
    fields += [pa.field(c, _constant(v, 1).type) for c, v in m.constants]
    return pa.schema(fields)


def _constant(value: Any, n: int) -> pa.Array:
    return pa.array([value]).take(pa.array(np.zeros(n, dtype=np.int64)))


def _project(batch: pa.RecordBatch, m: TableMapping, schema: pa.Schema) -> pa.RecordBatch:
    arrays = [batch.column(batch.schema.get_field_index(s)) for s, _ in m.columns]
    arrays += [_constant(v, batch.num_rows) for _, v in m.constants]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _hash(batch: pa.RecordBatch, names: Sequence[str], salt: np.uint64) -> Any:
    h = np.full(batch.num_rows, salt, dtype=np.uint64)
    for i, name in enumerate(names):
        h = mix(h ^ (column_hash(batch.column(batch.schema.get_field_index(name))) + np.uint64(i + 1)))
    return h


class _Distinct:
    """One pass of a mapped table: project, and keep one row per key (see the module docstring)."""

    def __init__(self, source: TableSource, m: TableMapping, schema: pa.Schema) -> None:
        self.source, self.m, self.schema = source, m, schema
        self.values = [t for _, t in m.columns if t not in m.distinct_on]
        #: key (16 bytes) -> (hash of the kept row's values, its row number)
        self.kept: dict[bytes, tuple[int, int]] = {}

    def run(self, batch_size: int) -> Iterator[NumberedBatch]:
        if self.m.distinct_on and self.m.keep is Keep.LAST:
            self._find_last(batch_size)
        carry: list[BadSourceRow] = []
        for item in self.source.numbered(batch_size):
            batch = _project(item.batch, self.m, self.schema)
            keep, bad = self._choose(batch, item.rows) if self.m.distinct_on and batch.num_rows else (None, [])
            if keep is not None:
                batch, rows = batch.filter(pa.array(keep)), item.rows[keep]
            else:
                rows = item.rows
            pending = sorted([*carry, *item.bad, *bad], key=lambda b: b.row)
            last = int(rows[-1]) if len(rows) else None
            now = [b for b in pending if last is not None and b.row < last]
            carry = [b for b in pending if b not in now]
            if batch.num_rows or now:
                yield NumberedBatch(batch, rows, tuple(now))
        if carry:
            yield NumberedBatch(_empty(self.schema), np.empty(0, dtype=np.int64), tuple(carry))

    def _keys(self, batch: pa.RecordBatch) -> Any:
        k1 = _hash(batch, self.m.distinct_on, _K1)
        k2 = _hash(batch, self.m.distinct_on, _K2)
        return np.stack([k1, k2], axis=1).copy().view(np.dtype((np.void, 16))).ravel()

    def _find_last(self, batch_size: int) -> None:
        for item in self.source.numbered(batch_size):
            batch = _project(item.batch, self.m, self.schema)
            if not batch.num_rows:
                continue
            keys, vals = self._keys(batch), _hash(batch, self.values, _K1)
            uniq, last_idx = _last_of_each(keys)
            for key, i in zip(uniq.tolist(), last_idx.tolist(), strict=True):
                self.kept[key] = (int(vals[i]), int(item.rows[i]))

    def _choose(self, batch: pa.RecordBatch, rows: Any) -> tuple[Any, list[BadSourceRow]]:
        """Which rows stay; the conflicting duplicates as bad rows."""
        keys, vals = self._keys(batch), _hash(batch, self.values, _K1)
        uniq, first_idx, inverse = np.unique(keys, return_index=True, return_inverse=True)
        kept_val = np.empty(len(uniq), dtype=np.uint64)
        kept_row = np.empty(len(uniq), dtype=np.int64)
        for u, (key, i) in enumerate(zip(uniq.tolist(), first_idx.tolist(), strict=True)):
            found = self.kept.get(key)
            if found is None:  # keep: first, and a new key: its first row here is the one
                found = (int(vals[i]), int(rows[i]))
                self.kept[key] = found
            kept_val[u], kept_row[u] = found
        is_kept = rows == kept_row[inverse]
        conflict = ~is_kept & (vals != kept_val[inverse])
        bad = [self._conflict(batch, int(i), int(rows[i]), int(kept_row[inverse[i]])) for i in np.flatnonzero(conflict)]
        return is_kept, bad

    def _conflict(self, batch: pa.RecordBatch, i: int, row: int, kept: int) -> BadSourceRow:
        values = batch.slice(i, 1).to_pylist()[0]
        key = ", ".join(f"{k} = {values[k]!r}" for k in self.m.distinct_on)
        which = "first" if self.m.keep is Keep.FIRST else "last"
        return BadSourceRow(
            row,
            None,
            f"conflicting duplicate for table {self.m.table!r}: {key} is also in row {kept} (the {which}, kept) "
            f"with other values in ({', '.join(self.values)})",
            values,
        )


def _last_of_each(keys: Any) -> tuple[Any, Any]:
    reversed_keys = keys[::-1]
    uniq, idx = np.unique(reversed_keys, return_index=True)
    return uniq, len(keys) - 1 - idx


def _empty(schema: pa.Schema) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays([pa.array([], f.type) for f in schema], schema=schema)


def for_target(
    ds: Dataset,
    mappings: Mapping[str, TableMapping],
    tables: Sequence[str],
    target: Any,
) -> Dataset:
    """``ds`` (one wide table) cut into the mapped tables for ``target`` (a ``ResolvedTarget``),
    checked against the target's tables first when it is a database. No mappings: ``ds``."""
    if not mappings:
        return ds
    if len(ds.tables) != 1:
        raise UsageError(
            f"table_mappings cut one wide source into tables, but the data has {len(ds.tables)} tables "
            f"({', '.join(ds.tables)}); give one DataFrame, table or file"
        )
    [source] = ds.tables.values()
    mapped = mapped_dataset(source, mappings, tables)
    from laden.config import TargetKind

    if target.kind is TargetKind.DATABASE:
        from laden.targets import backend_for

        backend = backend_for(target.url, name=target.name, namespace=target.namespace)
        backend.connect()
        try:
            schema = backend.reflect(list(mapped.tables))
        finally:
            backend.close()
        check_against({t: mappings[t] for t in mapped.tables}, schema, backend.name)
    return mapped
