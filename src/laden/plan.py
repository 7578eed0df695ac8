"""LoadPlan: what will happen to each table of one target, decided before any data moves.

The plan is pure data built from the dataset's Arrow schemas and the target's reflected
schema. It can be printed (``--dry-run``) and tested without a database. Every problem
that can be known up front — unknown column, missing NOT NULL column, upsert without a
key, a cycle the backend cannot load — is raised here, before the first row is written.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from laden.errors import SchemaMismatchError, UnsupportedError, UsageError, aside, did_you_mean
from laden.graph import Cycle, Edge, edges_of, load_order, topo_order
from laden.schema import Column, Schema, Table


class Strategy(str, enum.Enum):
    """How rows meet the rows already in a table."""

    #: insert; a key conflict is a bad row
    APPEND = "append"
    #: clear the dataset's tables (children first) and load them, in one transaction
    TRUNCATE_INSERT = "truncate_insert"
    #: insert or update on the primary key or the given keys, through a staging table
    UPSERT = "upsert"


class OnError(str, enum.Enum):
    """What a bad row does to the load."""

    #: roll the target back and name the first bad row
    FAIL = "fail"
    #: set bad rows aside in the rejects file, load the rest
    REJECT = "reject"


class CycleMethod(str, enum.Enum):
    """How rows of tables that reference each other get in."""

    #: FK checks deferred to commit (PostgreSQL DEFERRABLE constraints, SQLite defer_foreign_keys)
    DEFERRED = "deferred"
    #: session FK checks off while loading the cycle, then an integrity query (MariaDB/MySQL)
    CHECKS_OFF = "checks_off"
    #: a self-referencing table is inserted level by level from staging: parents, then their children
    LEVELS = "levels"
    #: insert with the FK columns NULL, then set them with one UPDATE per table
    TWO_PHASE = "two_phase"


_HOW = {
    CycleMethod.DEFERRED: "FK checks deferred to commit, then verified (deferred)",
    CycleMethod.CHECKS_OFF: "FK checks off while loading it, then verified before commit (checks_off)",
    CycleMethod.LEVELS: "rows inserted level by level, parents before children (levels)",
    CycleMethod.TWO_PHASE: "FK columns written NULL first, then set once all its rows are in (two_phase)",
}


@dataclass(frozen=True)
class NameLimit:
    """The longest table or column name an engine keeps (longer ones it refuses or cuts)."""

    engine: str
    length: int
    in_bytes: bool  # PostgreSQL counts UTF-8 bytes, MariaDB characters

    def explain(self, name: str) -> str:
        """A sentence when ``name`` is over the limit (so no table or column can have it), else ''."""
        size = len(name.encode("utf-8")) if self.in_bytes else len(name)
        if size <= self.length:
            return ""
        unit = "bytes" if self.in_bytes else "characters"
        return (
            f"; the name is {size} {unit} long and {self.engine} names are at most {self.length} {unit}, so shorten it"
        )


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do; the planner decides with nothing else."""

    cycle_methods: tuple[CycleMethod, ...]
    #: DEFERRED works for every FK (SQLite), not only those declared DEFERRABLE (PostgreSQL)
    defers_any_fk: bool = False
    #: identifiers compare case-insensitively
    fold_case: bool = True
    #: unquoted identifiers fold to lower case (PostgreSQL): ``CustomerID`` finds ``customerid``
    folds_to_lower: bool = False
    #: upsert keys must be exactly a unique key of the table (MySQL's ON DUPLICATE KEY)
    upsert_needs_unique_key: bool = False
    #: the merge statement fails on a key twice in its input instead of letting the last one win
    #: (where a unique index covers the keys: a new key twice is caught only by the index)
    merge_refuses_duplicates: bool = False
    #: the longest name the engine keeps; None: no practical limit (SQLite, DuckDB)
    name_limit: NameLimit | None = None

    def too_long(self, name: str) -> str:
        return self.name_limit.explain(name) if self.name_limit else ""


class TableOrder(str, enum.Enum):
    """The order tables load in."""

    FK = "fk"  # parents first (cycles broken as the backend can)
    GIVEN = "given"  # the dataset's order; FK errors are bad rows as they come (respect_fk_order: false)


class Finish(str, enum.Enum):
    """How a load's transaction ends."""

    COMMIT = "commit"
    #: a trial: everything is written and checked, then rolled back (backfill estimates)
    ROLLBACK = "rollback"


@dataclass(frozen=True)
class RowRange:
    """Rows whose ``column`` lies in ``[start, end)`` (or, with ``nulls``, is NULL): a backfill
    window. A load with ``LoadOptions.replace`` deletes them from each of its tables first, in
    the load's own transaction, so rerunning a window replaces exactly that window's rows."""

    column: str
    start: Any = None
    end: Any = None
    nulls: bool = False

    def describe(self) -> str:
        if self.nulls:
            return f"{self.column} IS NULL"
        return f"{self.start!s} <= {self.column} < {self.end!s}"


@dataclass(frozen=True)
class LoadOptions:
    strategy: Strategy = Strategy.APPEND
    keys: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    batch_size: int = 100_000
    on_error: OnError = OnError.FAIL
    rejects_path: str | None = None
    max_rejects: int | None = None
    cascade: bool = False
    #: delete these rows from the dataset's tables before loading (backfill windows)
    replace: RowRange | None = None
    finish: Finish = Finish.COMMIT
    order: TableOrder = TableOrder.FK

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise UsageError(f"batch_size must be at least 1 (got {self.batch_size})")
        if self.max_rejects is not None and self.max_rejects < 0:
            raise UsageError(f"max_rejects must be 0 or more (got {self.max_rejects})")


@dataclass(frozen=True)
class ColumnMap:
    source: str
    target: Column


@dataclass(frozen=True)
class TablePlan:
    #: the dataset's name for the table
    name: str
    table: Table
    columns: tuple[ColumnMap, ...]
    #: upsert keys (target column names); the primary key unless given
    keys: tuple[str, ...] = ()
    #: the cycle this table belongs to and how it is loaded, if any
    cycle_method: CycleMethod | None = None
    #: TWO_PHASE: FK columns written as NULL first and set after the cycle's tables are in
    deferred_columns: tuple[str, ...] = ()
    #: rows in the source, when it knows without reading (Parquet, Arrow); for --dry-run
    source_rows: int | None = None

    @property
    def target_columns(self) -> tuple[Column, ...]:
        return tuple(c.target for c in self.columns)


@dataclass(frozen=True)
class LoadPlan:
    target: str
    engine: str
    options: LoadOptions
    #: load order, parents first
    tables: tuple[TablePlan, ...]
    #: tables to clear before loading (truncate_insert), children first
    clear: tuple[str, ...] = ()
    cycles: tuple[Cycle, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def strategy(self) -> Strategy:
        return self.options.strategy

    def describe(self) -> str:
        head = f"{self.target}: {self.strategy.value}, on_error={self.options.on_error.value}"
        lines = [head + " (dry run: nothing written)"]
        if self.clear:
            lines.append(f"  clear (children first): {', '.join(self.clear)}")
        for i, tp in enumerate(self.tables, 1):
            cols = ", ".join(
                c.target.name if c.source == c.target.name else f"{c.source}->{c.target.name}" for c in tp.columns
            )
            extra = f" keys=({', '.join(tp.keys)})" if self.strategy is Strategy.UPSERT else ""
            if tp.cycle_method:
                extra += f" cycle={tp.cycle_method.value}"
            if tp.deferred_columns:
                extra += f" set-later=({', '.join(tp.deferred_columns)})"
            lines.append(f"  {i}. {tp.table.name} [{cols}]{extra}")
            rows = [f"{tp.source_rows:,} rows in the source"] if tp.source_rows is not None else []
            if tp.table.row_count is not None:
                rows.append(f"{tp.table.row_count:,} in the table now")
            if rows:
                lines.append(f"     {', '.join(rows)}")
        lines.extend(f"  note: {n}" for n in self.notes)
        return "\n".join(lines)


def build_plan(
    sources: Mapping[str, pa.Schema],
    schema: Schema,
    options: LoadOptions,
    caps: Capabilities,
    *,
    target: str,
    engine: str,
) -> LoadPlan:
    """Match the dataset to the target's tables and decide order, keys and cycle handling."""
    tables = {name: _find_table(name, schema, caps, target) for name in sources}
    by_target = {t.name: n for n, t in tables.items()}
    if len(by_target) != len(tables):
        raise UsageError(f"two dataset tables map to the same target table in {target}: {sorted(tables)}")
    for key_table in options.keys:
        if key_table not in tables and key_table not in by_target:
            raise UsageError(f"--key given for table {key_table!r}, which is not in the dataset")
    columns_of = {name: match_columns(sources[name], table, caps, target=target) for name, table in tables.items()}
    everything = tables
    # an FK whose columns the source does not fill constrains nothing this load writes
    tables = {name: _written_fks(table, columns_of[name]) for name, table in tables.items()}
    order = load_order(list(tables.values()))
    by_table = {t.name: t for t in tables.values()}
    cycle_plans = {c.tables: _cycle_method(c, by_table, options, caps, target) for c in order.cycles}
    plans = []
    for tname in _with_cycles_ordered(order.tables, order.cycles, cycle_plans):
        name = by_target[tname]
        table = tables[name]
        cycle = next((c for c in order.cycles if tname in c.tables), None)
        method, deferred = (None, ()) if cycle is None else cycle_plans[cycle.tables]
        columns = columns_of[name]
        keys = _keys(name, table, options, caps, target)
        missing = [k for k in keys if k not in {c.target.name for c in columns}]
        if options.strategy is Strategy.UPSERT and missing:
            raise UsageError(
                f"{target}: upsert into {table.name!r} matches rows on ({', '.join(keys)}) but the source has no "
                f"column {', '.join(missing)}; add it to the source or give other keys"
            )
        broken = tuple(sorted({c for e in deferred if e.child == tname for c in e.fk.columns}))
        plans.append(TablePlan(name, table, columns, keys, method, broken))
    if options.order is TableOrder.GIVEN:
        given = list(sources)
        plans.sort(key=lambda tp: given.index(tp.name))
    clear: tuple[str, ...] = ()
    notes = [f"{c.describe()}: {_HOW[cycle_plans[c.tables][0]]}" for c in order.cycles]
    if options.strategy is Strategy.TRUNCATE_INSERT:
        broken_edges = [e for _, broken in cycle_plans.values() for e in broken]
        kept = [e for e in edges_of(list(everything.values())) if e not in broken_edges]
        parents_first = topo_order([tp.table.name for tp in plans], kept)
        children_first = (
            tuple(reversed(parents_first))
            if parents_first is not None
            else load_order(list(everything.values())).clear_order()
        )
        clear, more = _clear_order(children_first, schema, options, target)
        notes.extend(more)
    return LoadPlan(target, engine, options, tuple(plans), clear, order.cycles, tuple(notes))


def _find_table(name: str, schema: Schema, caps: Capabilities, target: str) -> Table:
    table = schema.table(name, fold_case=caps.fold_case)
    if table is None and caps.folds_to_lower:
        table = schema.table(name.lower())
    if table is None:
        raise SchemaMismatchError(
            f"table {name!r} does not exist in {target}"
            f"{caps.too_long(name) or aside(did_you_mean(name, schema.table_names)) + '; create it first'} "
            f"(tables there: {', '.join(schema.table_names) or 'none'})",
            target=target,
            table=name,
        )
    return table


def _written_fks(table: Table, columns: Sequence[ColumnMap]) -> Table:
    written = {c.target.name for c in columns}
    return dataclasses.replace(table, foreign_keys=tuple(fk for fk in table.foreign_keys if set(fk.columns) <= written))


def _unknown_column(name: str, table: Table, caps: Capabilities, target: str) -> SchemaMismatchError:
    too_long = caps.too_long(name)
    hint = "" if too_long else did_you_mean(name, table.column_names)
    return SchemaMismatchError(
        f"{target}: table {table.name!r} has no column {name!r} (source column{'; ' + hint if hint else ''})"
        f"{too_long}; its columns are {', '.join(table.column_names)}. Rename or drop the source column.",
        target=target,
        table=table.name,
    )


def match_columns(source: pa.Schema, table: Table, caps: Capabilities, *, target: str) -> tuple[ColumnMap, ...]:
    """Source columns to target columns by name; unknown or missing required columns are errors."""
    maps: list[ColumnMap] = []
    used: set[str] = set()
    for name in source.names:
        col = table.column(name)
        if col is None and caps.folds_to_lower:
            col = table.column(name.lower())
        if col is None and caps.fold_case:
            matches = [c for c in table.columns if c.name.lower() == name.lower()]
            col = matches[0] if len(matches) == 1 else None
        if col is None:
            raise _unknown_column(name, table, caps, target)
        if col.computed:
            raise SchemaMismatchError(
                f"{target}: column {col.name!r} of table {table.name!r} is computed by the database "
                "(GENERATED ALWAYS); drop it from the source",
                target=target,
                table=table.name,
            )
        if col.name in used:
            raise SchemaMismatchError(
                f"{target}: two source columns map to column {col.name!r} of table {table.name!r}",
                target=target,
                table=table.name,
            )
        used.add(col.name)
        maps.append(ColumnMap(name, col))
    missing = [c.name for c in table.columns if c.name not in used and not c.nullable and not c.has_default]
    if missing:
        raise SchemaMismatchError(
            f"{target}: table {table.name!r} needs column(s) {', '.join(missing)} (NOT NULL, no default) "
            "but the source has none; add them to the source or give them a default",
            target=target,
            table=table.name,
        )
    return tuple(maps)


def _keys(name: str, table: Table, options: LoadOptions, caps: Capabilities, target: str) -> tuple[str, ...]:
    given = options.keys.get(name) or options.keys.get(table.name)
    if options.strategy is not Strategy.UPSERT:
        return tuple(given or table.primary_key)
    if not given:
        if not table.primary_key:
            raise UsageError(
                f"{target}: upsert into {table.name!r} needs keys: the table has no primary key; "
                f"give them with keys={{{table.name!r}: [...]}} (CLI: --key {table.name}=COL[,COL])"
            )
        return table.primary_key
    keys = []
    for k in given:
        col = table.column(k, fold_case=caps.fold_case)
        if col is None:
            raise UsageError(f"{target}: key column {k!r} is not a column of {table.name!r}")
        keys.append(col.name)
    if caps.upsert_needs_unique_key and set(keys) not in [set(u) for u in table.unique_keys()]:
        raise UnsupportedError(
            f"{target}: upsert into {table.name!r} on ({', '.join(keys)}) needs a PRIMARY KEY or UNIQUE index "
            f"on exactly those columns on this engine; unique keys there: "
            f"{'; '.join('(' + ', '.join(u) + ')' for u in table.unique_keys()) or 'none'}",
            target=target,
            table=table.name,
        )
    return tuple(keys)


def _with_cycles_ordered(
    order: Sequence[str],
    cycles: Sequence[Cycle],
    plans: Mapping[tuple[str, ...], tuple[CycleMethod, tuple[Edge, ...]]],
) -> list[str]:
    """Within a two-phase cycle, tables load in the order the FKs that stay enforced demand."""
    out = list(order)
    for cycle in cycles:
        _, broken = plans[cycle.tables]
        if not broken:
            continue
        inner = topo_order(cycle.tables, [e for e in cycle.edges if e not in broken]) or list(cycle.tables)
        slots = sorted(out.index(t) for t in cycle.tables)
        for slot, name in zip(slots, inner, strict=True):
            out[slot] = name
    return out


def _cycle_method(
    cycle: Cycle, tables: Mapping[str, Table], options: LoadOptions, caps: Capabilities, target: str
) -> tuple[CycleMethod, tuple[Edge, ...]]:
    reasons = []
    for method in caps.cycle_methods:
        if method is CycleMethod.DEFERRED:
            if caps.defers_any_fk or all(e.fk.deferrable for e in cycle.edges):
                return method, ()
            reasons.append("its FKs are not DEFERRABLE")
        elif method is CycleMethod.CHECKS_OFF:
            return method, ()
        elif method is CycleMethod.LEVELS:
            if len(cycle.tables) == 1 and len(cycle.edges) == 1:
                return method, ()
            reasons.append("it spans several tables")
        elif method is CycleMethod.TWO_PHASE:
            broken, why = _two_phase_edges(cycle, tables, options)
            if broken:
                return method, broken
            reasons.append(why)
    fks = "; ".join(e.fk.describe(e.child) for e in cycle.edges)
    raise UnsupportedError(
        f"{target}: cannot load the cycle {' <-> '.join(cycle.tables)} ({fks}): {'; '.join(reasons)}. "
        "Make one FK DEFERRABLE, or make one FK column nullable (laden then inserts NULL and sets it after), "
        "or drop the FK for the load and add it back afterwards.",
        target=target,
    )


def _two_phase_edges(cycle: Cycle, tables: Mapping[str, Table], options: LoadOptions) -> tuple[tuple[Edge, ...], str]:
    """The FKs to write as NULL first: every FK of the cycle whose columns are nullable.

    What is left must be acyclic, and each table with a broken FK needs a primary key so
    the second phase can find its rows again.
    """
    if options.strategy is Strategy.UPSERT:
        return (), "a two-phase load (NULL first, set after) cannot be combined with upsert"
    broken: list[Edge] = []
    why = []
    for e in cycle.edges:
        child = tables[e.child]
        cols = [child.column(c) for c in e.fk.columns]
        if not all(c is not None and c.nullable for c in cols):
            why.append(f"{e.fk.describe(e.child)} is NOT NULL")
        elif not child.primary_key:
            why.append(f"{e.child} has no primary key")
        else:
            broken.append(e)
    kept = [e for e in cycle.edges if e not in broken]
    if not broken or topo_order(cycle.tables, kept) is None:
        return (), "; ".join(why) or "no FK of the cycle can be set later"
    return tuple(broken), ""


def _clear_order(
    order: Sequence[str], schema: Schema, options: LoadOptions, target: str
) -> tuple[tuple[str, ...], list[str]]:
    inside = set(order)
    outside: dict[str, list[str]] = {}
    for t in schema.tables:
        if t.name in inside:
            continue
        for fk in t.foreign_keys:
            if fk.ref_table in inside:
                outside.setdefault(t.name, []).append(fk.describe(t.name))
    if not outside:
        return tuple(order), []
    if not options.cascade:
        refs = "; ".join(f for fks in outside.values() for f in fks)
        raise UnsupportedError(
            f"{target}: truncate_insert would clear tables referenced from outside the dataset ({refs}); "
            "add those tables to the dataset, or pass cascade=True (CLI: --cascade) to clear them too",
            target=target,
        )
    extra = _referencing_closure(set(outside), inside, schema)
    sub = load_order([t for t in schema.tables if t.name in extra]).clear_order()
    return tuple(sub) + tuple(order), [f"cascade: also cleared {', '.join(sub)}"]


def _referencing_closure(start: set[str], inside: set[str], schema: Schema) -> set[str]:
    found = set(start)
    changed = True
    while changed:
        changed = False
        for t in schema.tables:
            if t.name in found or t.name in inside:
                continue
            if any(fk.ref_table in found for fk in t.foreign_keys):
                found.add(t.name)
                changed = True
    return found
