"""SQLite through the ADBC driver: Arrow batches bound straight to prepared INSERTs, FKs enforced.

SQLite stores what it is given, so values are brought to SQLite's own conventions first:
dates and times as ISO-8601 text, decimals as exact text (the column's affinity then
decides), booleans as 0/1. NaN cannot be stored (SQLite turns it into NULL), so it is a
bad row rather than a silent NULL.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from laden.errors import ConnectError, MissingDriverError
from laden.plan import Capabilities, CycleMethod
from laden.schema import Column, ForeignKey, Table
from laden.targets.base import DataError, SqlBackend
from laden.urls import Engine

_DATA_MARKERS = ("constraint failed", "datatype mismatch", "too big", "mismatch")


def sqlite_values(arr: pa.Array) -> pa.Array:
    t = arr.type
    if pa.types.is_decimal(t) or pa.types.is_temporal(t):
        return pc.cast(arr, pa.string())
    if pa.types.is_floating(t) and pc.any(pc.is_nan(arr)).as_py():
        raise DataError("SQLite cannot store NaN (it would become NULL)")
    return arr


class SQLiteBackend(SqlBackend):
    engine = Engine.SQLITE
    caps = Capabilities(cycle_methods=(CycleMethod.DEFERRED,), defers_any_fk=True, fold_case=True)
    bulk_path = "ADBC bulk ingest"
    begin_sql = "BEGIN IMMEDIATE"  # take the write lock at the start, not halfway through

    def connect(self) -> None:
        try:
            import adbc_driver_sqlite.dbapi as dbapi
        except ImportError as exc:  # pragma: no cover - a core dependency
            raise MissingDriverError("SQLite targets need adbc-driver-sqlite: pip install laden") from exc
        path = self.url.path or ":memory:"
        if path != ":memory:" and not os.path.isdir(os.path.dirname(os.path.abspath(path))):
            raise ConnectError(
                f"cannot open {self.name}: directory {os.path.dirname(path)!r} does not exist",
                target=self.name,
            )
        try:
            self.conn = dbapi.connect(path if path == ":memory:" else os.path.abspath(path), autocommit=True)
        except Exception as exc:
            raise ConnectError(f"cannot open {self.name}: {exc}", target=self.name) from exc
        self.execute("PRAGMA foreign_keys = ON")
        self.execute("PRAGMA busy_timeout = 10000")

    def _execute(self, sql: str, params: Sequence[Any]) -> int:
        cur = self.conn.cursor()
        try:
            cur.execute(sql, tuple(params) if params else None)
            return int(cur.rowcount)
        finally:
            cur.close()

    def _query(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        cur = self.conn.cursor()
        try:
            cur.execute(sql, tuple(params) if params else None)
            return list(cur.fetchall())
        finally:
            cur.close()

    def is_data_error(self, exc: BaseException) -> bool:
        text = str(exc).lower()
        return any(m in text for m in _DATA_MARKERS)

    def translate(self, exc: BaseException) -> Exception:
        if self.is_data_error(exc) and not isinstance(exc, DataError):
            first = str(exc).split("\n")[0]
            return DataError(self.clean(first.replace("INTERNAL: failed to execute: ", "")))
        return super().translate(exc)

    def write(self, table: str, columns: Sequence[Column], batch: pa.RecordBatch) -> None:
        arrays = [sqlite_values(a) for a in batch.columns]
        data = pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)
        cur = self.conn.cursor()
        try:
            cur.adbc_ingest(self._bare(table), data, mode="append", **self._ingest_target(table))
        except Exception as exc:
            raise self.translate(exc) from exc
        finally:
            cur.close()

    def _bare(self, table: str) -> str:
        """adbc_ingest quotes the name itself: give it the raw name back."""
        name = table.rsplit('"."', 1)[-1] if '"."' in table else table
        return name[1:-1].replace('""', '"')

    def _ingest_target(self, table: str) -> dict[str, Any]:
        if table in self.staging_tables:
            return {"temporary": True}
        return {"db_schema_name": self.namespace} if self.namespace else {}

    def merge(self, table: Table, staging: str, columns: Sequence[Column], keys: Sequence[str], where: str) -> int:
        names = [c.name for c in columns]
        rest = [n for n in names if n not in keys]
        t = self.qualified(table.name)
        if set(keys) in [set(k) for k in table.unique_keys()]:
            action = (
                ("DO UPDATE SET " + ", ".join(f"{self.quote(c)} = excluded.{self.quote(c)}" for c in rest))
                if rest
                else "DO NOTHING"
            )
            return self.execute(
                f"INSERT INTO {t} ({self.cols(names)}) SELECT {self.cols(names)} FROM {staging} "
                f"WHERE {where} ON CONFLICT ({self.cols(keys)}) {action}"
            )
        # no unique index on the keys: update the matches, then insert the rest
        on = " AND ".join(f"{t}.{self.quote(k)} = s.{self.quote(k)}" for k in keys)
        updated = 0
        if rest:
            sets = ", ".join(f"{self.quote(c)} = s.{self.quote(c)}" for c in rest)
            updated = self.execute(f"UPDATE {t} SET {sets} FROM (SELECT * FROM {staging} WHERE {where}) s WHERE {on}")
        exists = " AND ".join(f"x.{self.quote(k)} = s.{self.quote(k)}" for k in keys)
        inserted = self.execute(
            f"INSERT INTO {t} ({self.cols(names)}) SELECT {self.cols(names, 's.')} FROM {staging} s "
            f"WHERE {where} "
            f"AND NOT EXISTS (SELECT 1 FROM {t} x WHERE {exists})"
        )
        return updated + inserted

    def defer(self, fks: Sequence[ForeignKey]) -> None:
        self.execute("PRAGMA defer_foreign_keys = ON")  # every FK: SQLite has no per-FK switch

    def undefer(self, fks: Sequence[ForeignKey]) -> None:
        self.execute("PRAGMA defer_foreign_keys = OFF")

    def fk_checks(self, enabled: bool) -> None:  # pragma: no cover - SQLite never plans CHECKS_OFF
        raise DataError("SQLite cannot switch FK checks inside a transaction")
