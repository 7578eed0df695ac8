"""SQLite through the ADBC driver: Arrow batches bound straight to prepared INSERTs, FKs enforced.

Values are brought to SQLite's own conventions: dates and times as ISO-8601 text,
decimals as exact text, booleans as 0/1. A column's *affinity* (from its declared type)
then converts what it can, so values it would change are bad rows instead: NaN (stored as
NULL), decimals with more than 15 significant digits into a numeric column (stored as an
8-byte float), and numeric-looking text such as ``00123`` into a column whose declared type
does not give TEXT affinity (stored as the number 123).
"""

from __future__ import annotations

import contextlib
import datetime
import decimal
import os
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from laden.casting import BadValue
from laden.encode import one_value_array
from laden.errors import ConnectError, MissingDriverError
from laden.plan import Capabilities, CycleMethod
from laden.schema import Column, ForeignKey, Table, TypeKind
from laden.targets.base import DataError, SqlBackend
from laden.urls import Engine

_DATA_MARKERS = ("constraint failed", "datatype mismatch", "too big", "mismatch")
#: what the ADBC driver puts before SQLite's message: "INTEGRITY: failed to execute query: ",
#: "INTERNAL: failed to execute: ", "IO: [SQLite] Failed to step query: "
_DRIVER_WORDS = re.compile(r"^[A-Z_]+: (?:\[SQLite\] )?(?:failed to execute(?: query)?|failed to step query): ", re.I)


_NUMBER = r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$"
_SIGNIFICANT = 15
_SIGNIFICANT_SCALAR = one_value_array(_SIGNIFICANT)[0]  # a Python int given to a kernel would import pandas


def affinity(declared: str) -> str:
    """SQLite's column affinity rules (section 3.1 of its datatype documentation)."""
    t = declared.upper()
    if "INT" in t:
        return "INTEGER"
    if any(x in t for x in ("CHAR", "CLOB", "TEXT")):
        return "TEXT"
    if "BLOB" in t or not t:
        return "BLOB"
    if any(x in t for x in ("REAL", "FLOA", "DOUB")):
        return "REAL"
    return "NUMERIC"


def significant_digits(arr: pa.Array) -> pa.Array:
    """Per decimal: its digits from the first non-zero one to the last one of the integer part or the
    last non-zero one of the fraction. ``100000.0000000000`` has 6, ``0.0000001230`` 3: at most 15 of
    them round-trip through SQLite's REAL (and an integer of 15 digits stays below 2**53)."""
    text = pc.replace_substring_regex(pc.cast(arr, pa.string()), r"E.*$", "")  # "-1.230E-7": the mantissa
    text = pc.replace_substring_regex(text, r"^([^.]*\.\d*?)0+$", r"\1")  # trailing zeros of the fraction
    text = pc.replace_substring_regex(text, r"[-.]", "")
    return pc.utf8_length(pc.replace_substring_regex(text, r"^0+", ""))


def sqlite_values(arr: pa.Array) -> pa.Array:
    t = arr.type
    if pa.types.is_decimal(t) or pa.types.is_temporal(t):
        return pc.cast(arr, pa.string())
    return arr


def _refused(arr: pa.Array, col: Column) -> tuple[pa.Array, str] | None:
    """(a mask of the values SQLite would not keep, NULL where the value is NULL; the reason)"""
    t, aff = arr.type, affinity(col.type)
    if pa.types.is_floating(t):
        return pc.is_nan(arr), "SQLite cannot store NaN (it would become NULL)"
    if pa.types.is_decimal(t) and aff in ("INTEGER", "REAL", "NUMERIC"):
        digits = significant_digits(arr)
        return (
            pc.greater(digits, _SIGNIFICANT_SCALAR),
            f"SQLite keeps {_SIGNIFICANT} significant digits in a {col.type} column (it stores a float); "
            "declare the column TEXT to keep decimals exact",
        )
    if pa.types.is_string(t) and aff != "TEXT" and col.kind in (TypeKind.STRING, TypeKind.UUID, TypeKind.OTHER):
        return (
            pc.match_substring_regex(arr, _NUMBER),
            f"SQLite's {aff} affinity of {col.type!r} would store this text as a number; declare the column TEXT",
        )
    return None


class SQLiteBackend(SqlBackend):
    engine = Engine.SQLITE
    caps = Capabilities(cycle_methods=(CycleMethod.DEFERRED,), defers_any_fk=True, fold_case=True)
    bulk_path = "ADBC bulk ingest"
    begin_sql = "BEGIN IMMEDIATE"  # take the write lock at the start, not halfway through

    def connect(self) -> None:
        # ADBC's own objects rather than its DB-API module: that imports pyarrow.dataset, which
        # imports pandas (0.3 s of every load into SQLite)
        try:
            import adbc_driver_sqlite
            from adbc_driver_manager import AdbcConnection
        except ImportError as exc:  # pragma: no cover - a core dependency
            raise MissingDriverError("SQLite targets need adbc-driver-sqlite: pip install laden") from exc
        path = self.url.path or ":memory:"
        if path != ":memory:" and not os.path.isdir(os.path.dirname(os.path.abspath(path))):
            raise ConnectError(
                f"cannot open {self.name}: directory {os.path.dirname(path)!r} does not exist",
                target=self.name,
            )
        database = None
        try:
            database = adbc_driver_sqlite.connect(path if path == ":memory:" else os.path.abspath(path))
            self._database, self.conn = database, AdbcConnection(database)  # autocommit: laden says BEGIN, COMMIT
            self.execute("PRAGMA foreign_keys = ON")
            self.execute("PRAGMA busy_timeout = 10000")
        except Exception as exc:
            with contextlib.suppress(Exception):
                if getattr(self, "conn", None) is not None:
                    self.conn.close()
            if database is not None:
                with contextlib.suppress(Exception):
                    database.close()
            raise ConnectError(f"cannot open {self.name}: {exc}", target=self.name) from exc

    def close(self) -> None:
        try:
            self.conn.close()
        finally:
            self._database.close()

    def _run(
        self,
        sql: str | None,
        params: Sequence[Any],
        *,
        ingest: dict[str, str] | None = None,
        data: pa.RecordBatch | None = None,
        rows: bool = False,
    ) -> Any:
        """One statement: ``sql`` with ``params`` (one row of them: with more, the driver would reset
        the statement between rows and lose an earlier row's error), or an ingest of ``data``. The
        SQLite driver cannot cancel a statement: Ctrl-C is a KeyboardInterrupt once it ends (the
        DB-API module waited as long, then reported NOT_IMPLEMENTED)."""
        from adbc_driver_manager import AdbcStatement

        statement = AdbcStatement(self.conn)
        try:
            result = self._statement(statement, sql, params, ingest, data, rows)
        except BaseException:
            with contextlib.suppress(Exception):  # the statement's own error is the one to report
                statement.close()
            raise
        statement.close()
        return result

    @staticmethod
    def _statement(
        statement: Any,
        sql: str | None,
        params: Sequence[Any],
        ingest: dict[str, str] | None,
        data: pa.RecordBatch | None,
        rows: bool,
    ) -> Any:
        if ingest is not None:
            statement.set_options(**ingest)
        if sql is not None:
            statement.set_sql_query(sql)
        if data is not None:
            statement.bind(data)
        elif params:
            arrays = [one_value_array(p) for p in params]
            statement.bind(pa.RecordBatch.from_arrays(arrays, names=[str(i) for i in range(len(arrays))]))
        if not rows:
            return statement.execute_update()
        handle, _ = statement.execute_query()
        return pa.RecordBatchReader.from_stream(handle).read_all()

    def _execute(self, sql: str, params: Sequence[Any]) -> int:
        return int(self._run(sql, params))

    def _query(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        table = self._run(sql, params, rows=True)
        return list(zip(*(c.to_pylist() for c in table.columns), strict=True))

    def is_data_error(self, exc: BaseException) -> bool:
        text = str(exc).lower()
        return any(m in text for m in _DATA_MARKERS)

    def translate(self, exc: BaseException) -> Exception:
        if self.is_data_error(exc) and not isinstance(exc, DataError):
            first = _DRIVER_WORDS.sub("", str(exc).split("\n")[0])  # SQLite's own words only
            return DataError(self.clean(first))
        return super().translate(exc)

    def refuse(self, columns: Sequence[Column], batch: pa.RecordBatch) -> list[BadValue]:
        found: list[BadValue] = []
        for arr, col in zip(batch.columns, columns, strict=True):
            refused = _refused(arr, col)
            if refused is None:
                continue
            mask, why = refused
            if pc.any(mask).as_py():  # NULLs skipped: the mask is filled only when needed
                rows = np.flatnonzero(pc.fill_null(mask, False).to_numpy(zero_copy_only=False))
                found.extend(BadValue(int(i), col.name, why) for i in rows)
        return found

    def prepare(self, batch: pa.RecordBatch, columns: Sequence[Column]) -> object:
        return pa.RecordBatch.from_arrays([sqlite_values(a) for a in batch.columns], names=batch.schema.names)

    def write(self, table: str, columns: Sequence[Column], batch: pa.RecordBatch, payload: object = None) -> None:
        data = payload if isinstance(payload, pa.RecordBatch) else self.prepare(batch, columns)
        namespace, name = self.raw_names[table]  # the driver quotes the bare name itself
        ingest = {"adbc.ingest.target_table": name, "adbc.ingest.mode": "adbc.ingest.mode.append"}
        if table in self.staging_tables:
            ingest["adbc.ingest.temporary"] = "true"
        if namespace:
            ingest["adbc.ingest.target_db_schema"] = namespace
        try:
            self._run(None, (), ingest=ingest, data=data)
        except Exception as exc:
            raise self.translate(exc) from exc

    def merge(self, table: Table, staging: str, columns: Sequence[Column], keys: Sequence[str], where: str) -> int:
        """Rows already as staged are left alone (see :meth:`changed`): re-running an upsert rewrites nothing."""
        names = [c.name for c in columns]
        rest = [c for c in columns if c.name not in keys]
        t = self.qualified(table.name)
        if set(keys) in [set(k) for k in table.unique_keys()]:
            action = (
                "DO UPDATE SET "
                + ", ".join(f"{self.quote(c.name)} = excluded.{self.quote(c.name)}" for c in rest)
                + f" WHERE {self.changed(rest, t, 'excluded')}"
                if rest
                else "DO NOTHING"
            )
            return self.execute(
                f"INSERT INTO {t} ({self.cols(names)}) SELECT {self.cols(names)} FROM {staging} "
                f"WHERE {where} ORDER BY {self.cols(keys)} ON CONFLICT ({self.cols(keys)}) {action}"
            )
        # no unique index on the keys: update the matches, then insert the rest
        on = " AND ".join(f"{t}.{self.quote(k)} = s.{self.quote(k)}" for k in keys)
        updated = 0
        if rest:
            sets = ", ".join(f"{self.quote(c.name)} = s.{self.quote(c.name)}" for c in rest)
            updated = self.execute(
                f"UPDATE {t} SET {sets} FROM (SELECT * FROM {staging} WHERE {where}) s "
                f"WHERE {on} AND {self.changed(rest, t, 's')}"
            )
        exists = " AND ".join(f"x.{self.quote(k)} = s.{self.quote(k)}" for k in keys)
        inserted = self.execute(
            f"INSERT INTO {t} ({self.cols(names)}) SELECT {self.cols(names, 's.')} FROM {staging} s "
            f"WHERE {where} "
            f"AND NOT EXISTS (SELECT 1 FROM {t} x WHERE {exists})"
        )
        return updated + inserted

    def changed(self, columns: Sequence[Column], t: str, s: str) -> str:
        """That row ``t`` differs from row ``s`` in ``columns`` as stored: compared byte for byte
        whatever the column's collation ('A' and 'a' differ under NOCASE) and by storage class
        (1 and '1' differ). Where the staged value would only become equal through the column's
        affinity (1.0 into NUMERIC), the row is written: never the reverse. (-0.0 and 0.0 compare
        equal, but SQLite keeps the sign only in a column without affinity, which laden gives
        text and bytes, never numbers: see :func:`_refused`.)"""
        terms = [
            f"{t}.{q} IS NOT {s}.{q} COLLATE BINARY OR typeof({t}.{q}) <> typeof({s}.{q})"
            for q in (self.quote(c.name) for c in columns)
        ]
        return "(" + " OR ".join(terms) + ")"

    def bound(self, value: Any, column: Column) -> Any:
        """SQLite keeps times as ISO text (UTC wall time) and has no exact decimals."""
        value = super().bound(value, column)
        if isinstance(value, datetime.datetime):
            return value.strftime("%Y-%m-%d %H:%M:%S.%f")
        if isinstance(value, datetime.date):
            return value.isoformat()
        return float(value) if isinstance(value, decimal.Decimal) else value

    def defer(self, fks: Sequence[ForeignKey]) -> None:
        self.execute("PRAGMA defer_foreign_keys = ON")  # every FK: SQLite has no per-FK switch

    def undefer(self, fks: Sequence[ForeignKey]) -> None:
        self.execute("PRAGMA defer_foreign_keys = OFF")

    def fk_checks(self, enabled: bool) -> None:  # pragma: no cover - SQLite never plans CHECKS_OFF
        raise DataError("SQLite cannot switch FK checks inside a transaction")
