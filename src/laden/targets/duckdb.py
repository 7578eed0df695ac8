"""DuckDB: INSERT ... SELECT from a registered Arrow batch (DuckDB scans Arrow memory directly).

A DuckDB transaction cannot survive an error and has no savepoints, so bad rows are
found *before* writing, with set-based queries over the registered batch: key conflicts
(within the batch and with the table), missing FK parents and CHECK violations. NOT NULL,
type and length problems were already caught while casting.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from laden.casting import BadValue
from laden.encode import int64_array
from laden.errors import ConnectError, MissingDriverError, UnsupportedError
from laden.plan import Capabilities, CycleMethod, TablePlan
from laden.schema import Column, ForeignKey, Schema, Table
from laden.targets.base import ROW, DataError, Isolation, SqlBackend
from laden.urls import Engine

_names = itertools.count(1)
_IDX = "__laden_i"


class DuckDBBackend(SqlBackend):
    engine = Engine.DUCKDB
    caps = Capabilities(cycle_methods=(CycleMethod.LEVELS, CycleMethod.TWO_PHASE), fold_case=True)
    isolation = Isolation.PRECHECK
    bulk_path = "Arrow scan INSERT"
    merge_skips_unchanged = True
    begin_sql = "BEGIN TRANSACTION"

    def connect(self) -> None:
        try:
            import duckdb
        except ImportError as exc:
            raise MissingDriverError("DuckDB targets need duckdb: pip install 'laden[duckdb]'") from exc
        try:
            self.conn = duckdb.connect(self.url.path or ":memory:")
        except duckdb.Error as exc:
            raise ConnectError(f"cannot open {self.name}: {exc}", target=self.name) from exc
        self.schema: Schema | None = None
        self.cleared: set[str] = set()

    def _execute(self, sql: str, params: Sequence[Any]) -> int:
        cur = self.conn.execute(sql, list(params) if params else None)
        try:
            row = cur.fetchone()
        except Exception:  # statements without a result set
            return -1
        return int(row[0]) if row and isinstance(row[0], int) else -1

    def _query(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        return list(self.conn.execute(sql, list(params) if params else None).fetchall())

    def is_data_error(self, exc: BaseException) -> bool:
        import duckdb

        return isinstance(exc, duckdb.ConstraintException | duckdb.ConversionException | duckdb.OutOfRangeException)

    def reflect(self, tables: Sequence[str] | None = None, row_counts: Any = None) -> Schema:
        self.schema = super().reflect(tables) if row_counts is None else super().reflect(tables, row_counts)
        return self.schema

    def write(self, table: str, columns: Sequence[Column], batch: pa.RecordBatch, payload: object = None) -> None:
        view = f"laden_batch_{next(_names)}"
        self.conn.register(view, pa.Table.from_batches([batch]))
        try:
            names = self.cols(batch.schema.names)
            self.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM {self.quote(view)}")
        finally:
            self._unregister(view)

    def rollback(self) -> None:
        super().rollback()
        self.cleared.clear()

    def _unregister(self, view: str) -> None:
        """Drop a registered batch; after a failed statement the aborted transaction refuses even this,
        and that refusal must not hide the real error."""
        import duckdb

        with contextlib.suppress(duckdb.Error):  # the view goes with the connection anyway
            self.conn.unregister(view)

    def clear(self, table: str) -> int:
        # DuckDB refuses to delete parent rows whose children were deleted in the same transaction.
        if self.schema is not None:
            for other in self.schema.tables:
                if other.name in self.cleared and any(fk.ref_table == table for fk in other.foreign_keys):
                    raise UnsupportedError(
                        f"{self.name}: truncate_insert cannot clear {table!r} after its child {other.name!r} in one "
                        "DuckDB transaction (a DuckDB foreign-key limitation). Use strategy 'upsert' or 'append', "
                        "or clear the tables yourself first.",
                        target=self.name,
                        table=table,
                    )
        deleted = self.execute(f"DELETE FROM {self.qualified(table)}")
        if deleted:
            self.cleared.add(table)
        return deleted

    # -- bad rows, found before writing ---------------------------------------------------------
    def checked_write(
        self, table: Table, target: str, columns: Sequence[Column], batch: pa.RecordBatch
    ) -> list[BadValue]:
        """Register the batch once, find the rows the table would refuse, insert the others."""
        view = self.quote(f"laden_batch_{next(_names)}")
        data = pa.Table.from_batches([batch]).append_column(_IDX, int64_array(np.arange(batch.num_rows)))
        self.conn.register(view[1:-1], data)
        try:
            bad = self._violations(table, view, _IDX, {c.name for c in columns}, check_keys=True)
            names = self.cols(batch.schema.names)
            skip = f" WHERE {self.quote(_IDX)} NOT IN ({', '.join(str(b.index) for b in bad)})" if bad else ""
            if len(bad) < batch.num_rows:
                self.execute(f"INSERT INTO {target} ({names}) SELECT {names} FROM {view}{skip}")
            return bad
        finally:
            self._unregister(view[1:-1])

    def precheck_staged(self, plan: TablePlan, staging: str, *, check_keys: bool) -> list[BadValue]:
        return self._violations(plan.table, staging, ROW, {c.name for c in plan.target_columns}, check_keys=check_keys)

    def _violations(self, table: Table, rel: str, idx: str, present: set[str], *, check_keys: bool) -> list[BadValue]:
        """Rows the database would refuse: missing FK parents and CHECK failures first, then key
        conflicts among the rows that remain (a row already refused does not take its key)."""
        found: dict[int, BadValue] = {}
        i = self.quote(idx)
        for fk in table.foreign_keys:
            if set(fk.columns) <= present:
                for n in self._orphans_in(rel, i, table, fk):
                    found.setdefault(
                        n, BadValue(n, fk.columns[0], f"no row in {fk.ref_table!r} for {fk.describe(table.name)}")
                    )
        for check in table.checks:
            for n in self._failing_check(rel, i, table, present, check.expression):
                found.setdefault(n, BadValue(n, None, f"violates CHECK {check.expression}"))
        if check_keys:
            for key in table.unique_keys():
                if set(key) <= present:
                    why = f"duplicate key ({', '.join(key)}): already in {table.name!r} or earlier in the source"
                    for n in self._key_conflicts(rel, i, table, key, sorted(found)):
                        found.setdefault(n, BadValue(n, key[0], why))
        return sorted(found.values(), key=lambda b: b.index)

    def _key_conflicts(self, rel: str, i: str, table: Table, key: Sequence[str], refused: list[int]) -> list[int]:
        """Rows whose key is already in the table, or repeats an earlier row's; the cheap queries first."""
        notnull = " AND ".join(f"b.{self.quote(c)} IS NOT NULL" for c in key)
        skip = f" AND b.{i} NOT IN ({', '.join(str(n) for n in refused)})" if refused else ""
        rows = f"{rel} b WHERE {notnull}{skip}"
        same = " AND ".join(f"x.{self.quote(c)} = b.{self.quote(c)}" for c in key)
        sql = f"SELECT b.{i} FROM {rows} AND EXISTS (SELECT 1 FROM {self.qualified(table.name)} x WHERE {same})"
        found = {int(n) for (n,) in self.query(sql)}
        k = self.cols(key, "b.")
        if self.query(f"SELECT COUNT(*) FROM (SELECT 1 FROM {rows} GROUP BY {k} HAVING COUNT(*) > 1) d")[0][0]:
            repeats = (
                f"SELECT {i} FROM (SELECT b.{i} AS {i}, ROW_NUMBER() OVER (PARTITION BY {k} ORDER BY b.{i}) AS rn "
                f"FROM {rows}) d WHERE rn > 1"
            )
            found.update(int(n) for (n,) in self.query(repeats))
        return sorted(found)

    def _failing_check(self, rel: str, i: str, table: Table, present: set[str], expression: str) -> list[int]:
        cols = ", ".join(
            f"b.{self.quote(c.name)}" if c.name in present else f"CAST(NULL AS {c.type}) AS {self.quote(c.name)}"
            for c in table.columns
        )
        sql = f"SELECT {i} FROM (SELECT b.{i}, {cols} FROM {rel} b) WHERE NOT COALESCE(({expression}), TRUE)"
        return [int(n) for (n,) in self.query(sql)]

    def _orphans_in(self, rel: str, i: str, table: Table, fk: ForeignKey) -> list[int]:
        p = self.qualified(fk.ref_table)
        on = " AND ".join(
            f"p.{self.quote(r)} = b.{self.quote(c)}" for c, r in zip(fk.columns, fk.ref_columns, strict=True)
        )
        notnull = " AND ".join(f"b.{self.quote(c)} IS NOT NULL" for c in fk.columns)
        same = ""
        if fk.ref_table == table.name:  # a self-reference may find its parent in the same batch
            on2 = " AND ".join(
                f"s.{self.quote(r)} = b.{self.quote(c)}" for c, r in zip(fk.columns, fk.ref_columns, strict=True)
            )
            same = f" AND NOT EXISTS (SELECT 1 FROM {rel} s WHERE {on2})"
        sql = f"SELECT b.{i} FROM {rel} b WHERE {notnull} AND NOT EXISTS (SELECT 1 FROM {p} p WHERE {on}){same}"
        return [int(n) for (n,) in self.query(sql)]

    # -- SQL spellings --------------------------------------------------------------------------
    def defer(self, fks: Sequence[ForeignKey]) -> None:  # pragma: no cover - DuckDB never plans DEFERRED
        raise DataError("DuckDB cannot defer FK checks")

    def fk_checks(self, enabled: bool) -> None:  # pragma: no cover - DuckDB never plans CHECKS_OFF
        raise DataError("DuckDB cannot switch FK checks off")
