"""MariaDB / MySQL: LOAD DATA LOCAL INFILE of Arrow-encoded text, multi-row INSERT when the server forbids it.

With ``LOCAL``, the server turns data errors into warnings and skips or mangles the row
(it cannot stop the client mid-file). So every LOAD DATA is followed by a warning check:
any warning, or fewer rows than sent, makes the batch a refused batch, which the engine
then isolates row by row — nothing is silently truncated or dropped. Sessions run in
strict SQL mode and UTC.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from laden.casting import BadValue
from laden.drivers import connect_mysql
from laden.encode import arrow_scalar, hex_strings, join_rows, rows_as_tuples, sql_literals, tab_separated
from laden.errors import ConnectError, MissingDriverError
from laden.plan import Capabilities, CycleMethod, NameLimit
from laden.schema import Column, ForeignKey, Table
from laden.targets.base import DataError, SqlBackend
from laden.urls import Engine

# server error codes that mean "this row's data is wrong" rather than "the connection/statement is"
_DATA_ERRORS = {
    1048,
    1062,
    1169,
    1216,
    1217,
    1264,
    1265,
    1292,
    1366,
    1367,
    1406,
    1411,
    1451,
    1452,
    1690,
    3819,
    4025,
    1586,
    1557,
    3140,
}
_LOCAL_REFUSED = {1148, 2068, 3948, 4166}
_STATEMENT_BYTES = 4 * 1024 * 1024
_ONE, _ZERO = arrow_scalar("1"), arrow_scalar("0")


def mysql_text(arr: pa.Array) -> pa.Array:
    t = arr.type
    if pa.types.is_boolean(t):
        return pc.if_else(arr, _ONE, _ZERO)
    if pa.types.is_binary(t):
        return hex_strings(arr)
    if pa.types.is_timestamp(t) and t.tz is not None:
        return pc.cast(pc.cast(arr, pa.timestamp(t.unit)), pa.string())  # the session runs in UTC
    if pa.types.is_string(t):
        return arr
    return pc.cast(arr, pa.string())


class MySQLBackend(SqlBackend):
    engine = Engine.MYSQL
    caps = Capabilities(
        cycle_methods=(CycleMethod.CHECKS_OFF,),
        fold_case=True,
        upsert_needs_unique_key=True,
        name_limit=NameLimit("MariaDB", 64, in_bytes=False),
    )
    quote_char = "`"
    placeholder = "%s"
    bulk_path = "LOAD DATA LOCAL INFILE"
    begin_sql = "START TRANSACTION"

    def connect(self) -> None:
        self.use_insert = False
        try:
            self.conn = connect_mysql(self.url, 10, local_infile=True)
        except MissingDriverError:
            raise
        except Exception as exc:  # the driver's refusal (or the network's)
            raise ConnectError(
                f"cannot connect to {self.name}: {self.clean(str(exc))}. Check host, port, user and password.",
                target=self.name,
            ) from exc
        # LOCAL INFILE lets the server ask for any client file: allow it only while our own LOAD DATA runs
        self.conn._local_infile = False

    def is_open(self) -> bool:
        return bool(self.conn.open)

    def _execute(self, sql: str, params: Sequence[Any]) -> int:
        with self.conn.cursor() as cur:
            return int(cur.execute(sql, tuple(params) if params else None))

    def _query(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        with self.conn.cursor() as cur:
            cur.execute(sql, tuple(params) if params else None)
            return list(cur.fetchall())

    def is_data_error(self, exc: BaseException) -> bool:
        import pymysql

        if isinstance(exc, pymysql.err.IntegrityError | pymysql.err.DataError):
            return True
        return isinstance(exc, pymysql.Error) and bool(exc.args) and exc.args[0] in _DATA_ERRORS

    def describe_error(self, exc: BaseException) -> str:
        import pymysql

        if isinstance(exc, pymysql.Error) and len(exc.args) > 1:
            return f"{exc.args[1]} (error {exc.args[0]})"
        return super().describe_error(exc)

    def drop_staging(self, staging: str) -> None:
        self.execute(f"DROP TEMPORARY TABLE {staging}")  # plain DROP TABLE would commit implicitly

    def bigint_null(self) -> str:
        return "CAST(NULL AS SIGNED)"

    def refuse(self, columns: Sequence[Column], batch: pa.RecordBatch) -> list[BadValue]:
        found: list[BadValue] = []
        for arr, col in zip(batch.columns, columns, strict=True):
            if not pa.types.is_floating(arr.type):
                continue
            finite = pc.is_finite(arr)
            if pc.all(finite).as_py() is False:  # NULLs skipped: the mask is filled only when needed
                finite = pc.fill_null(finite, True)
                for i in np.flatnonzero(~np.asarray(finite.to_numpy(zero_copy_only=False))):
                    found.append(BadValue(int(i), col.name, f"MySQL cannot store {arr[int(i)].as_py()} in {col.type}"))
        return found

    # -- bulk write ---------------------------------------------------------------------------
    def write(self, table: str, columns: Sequence[Column], batch: pa.RecordBatch, payload: object = None) -> None:
        if not self.use_insert:
            try:
                self._load_data(table, columns, batch, payload)
                return
            except _LocalRefused as refused:
                self.use_insert = True
                self.notes.append(
                    f"the server refuses LOAD DATA LOCAL INFILE ({refused}); loaded with multi-row INSERT, "
                    "which is slower: set local_infile=ON on the server for bulk speed"
                )
        self._insert(table, batch)

    def prepare(self, batch: pa.RecordBatch, columns: Sequence[Column]) -> object:
        return tab_separated(
            [mysql_text(c) for c in batch.columns], [pa.types.is_string(c.type) for c in batch.columns]
        )

    def _load_data(self, table: str, columns: Sequence[Column], batch: pa.RecordBatch, payload: object) -> None:
        import pymysql

        if not isinstance(payload, pa.Buffer):
            payload = self.prepare(batch, columns)
        assert isinstance(payload, pa.Buffer)
        targets, sets = [], []
        for i, (f, col) in enumerate(zip(batch.schema, columns, strict=True)):
            if pa.types.is_binary(f.type):
                targets.append(f"@b{i}")
                sets.append(f"{self.quote(f.name)} = UNHEX(@b{i})")
            elif col.type.lower().startswith("bit"):  # text '1' would be the byte 0x31
                targets.append(f"@b{i}")
                sets.append(f"{self.quote(f.name)} = CAST(@b{i} AS UNSIGNED)")
            else:
                targets.append(self.quote(f.name))
        with _batch_file(payload) as path:
            sql = (
                f"LOAD DATA LOCAL INFILE %s INTO TABLE {table} CHARACTER SET utf8mb4 "
                f"FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' ({', '.join(targets)})"
                + (f" SET {', '.join(sets)}" if sets else "")
            )
            with self.conn.cursor() as cur:
                self.conn._local_infile = True
                try:
                    loaded = cur.execute(sql, (path,))
                except pymysql.Error as exc:
                    if exc.args and exc.args[0] in _LOCAL_REFUSED:
                        raise _LocalRefused(str(exc.args[-1])) from exc
                    raise self.translate(exc) from exc
                finally:
                    self.conn._local_infile = False
                warnings = self.conn.show_warnings() if cur.warning_count else ()
        if warnings:
            level, code, message = warnings[0][:3]
            raise DataError(self.clean(f"{message} ({level} {code})"))
        if loaded != batch.num_rows:
            raise DataError(f"the server took {loaded} of {batch.num_rows} rows")

    def _insert(self, table: str, batch: pa.RecordBatch) -> None:
        literals = []
        for f, arr in zip(batch.schema, batch.columns, strict=True):
            t = f.type
            if pa.types.is_binary(t):
                literals.append(sql_literals(arr, "binary"))
            elif pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t) or pa.types.is_boolean(t):
                literals.append(sql_literals(mysql_text(arr), "number"))
            else:
                literals.append(sql_literals(mysql_text(arr), "text"))
        rows = rows_as_tuples(literals)
        head = f"INSERT INTO {table} ({self.cols(batch.schema.names)}) VALUES "
        sizes = pc.binary_length(rows).to_numpy(zero_copy_only=False)
        start, acc = 0, 0
        for i, size in enumerate(sizes):
            if acc and acc + size > _STATEMENT_BYTES:
                self.execute(head + join_rows(rows.slice(start, i - start)))
                start, acc = i, 0
            acc += int(size) + 1
        if start < len(sizes):
            self.execute(head + join_rows(rows.slice(start)))

    # -- SQL spellings --------------------------------------------------------------------------
    def merge(self, table: Table, staging: str, columns: Sequence[Column], keys: Sequence[str], where: str) -> int:
        names = [c.name for c in columns]
        rest = [n for n in names if n not in keys] or list(keys[:1])
        updates = ", ".join(f"{self.quote(c)} = VALUES({self.quote(c)})" for c in rest)
        return self.execute(
            f"INSERT INTO {self.qualified(table.name)} ({self.cols(names)}) SELECT {self.cols(names)} "
            f"FROM {staging} WHERE {where} ORDER BY {self.cols(keys)} ON DUPLICATE KEY UPDATE {updates}"
        )

    def update_from_staging(self, table: Table, staging: str, set_columns: Sequence[str]) -> int:
        t = self.qualified(table.name)
        sets = ", ".join(f"t.{self.quote(c)} = s.{self.quote(c)}" for c in set_columns)
        on = " AND ".join(f"t.{self.quote(k)} = s.{self.quote(k)}" for k in table.primary_key)
        return self.execute(f"UPDATE {t} t JOIN {staging} s ON {on} SET {sets}")

    def defer(self, fks: Sequence[ForeignKey]) -> None:  # pragma: no cover - MySQL never plans DEFERRED
        raise DataError("MySQL cannot defer FK checks")

    def fk_checks(self, enabled: bool) -> None:
        self.execute(f"SET SESSION foreign_key_checks = {1 if enabled else 0}")


class _LocalRefused(Exception):
    pass


@contextlib.contextmanager
def _batch_file(payload: pa.Buffer) -> Iterator[str]:
    """A file holding ``payload`` for LOAD DATA LOCAL INFILE, as a path pymysql can open.

    Where there is /dev/fd, the file never has a name (tempfile.TemporaryFile: O_TMPFILE, or
    unlinked at once), so a process killed mid-load — SIGKILL runs no ``finally`` — leaves nothing
    in the temp directory. Elsewhere, a named file removed afterwards."""
    if os.path.isdir("/dev/fd"):
        with tempfile.TemporaryFile(prefix="laden-", suffix=".tsv") as fh:
            fh.write(memoryview(payload))
            fh.flush()
            fh.seek(0)  # where opening /dev/fd/N duplicates the descriptor (macOS), reading starts here
            yield f"/dev/fd/{fh.fileno()}"
        return
    fd, path = tempfile.mkstemp(prefix="laden-", suffix=".tsv")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(memoryview(payload))
        yield path
    finally:
        os.unlink(path)
