"""PostgreSQL: COPY FROM STDIN with rows encoded column-wise by Arrow; MERGE / ON CONFLICT upserts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from laden import pgbinary
from laden.drivers import connect_postgres
from laden.encode import hex_strings, tab_separated
from laden.errors import ConnectError, MissingDriverError
from laden.plan import Capabilities, CycleMethod, NameLimit
from laden.schema import Column, ForeignKey, Table, TypeKind
from laden.targets.base import DataError, SqlBackend
from laden.urls import DatabaseURL, Engine

if TYPE_CHECKING:
    import psycopg


def pg_text(arr: pa.Array) -> pa.Array:
    """One cast column as PostgreSQL's text input (NULLs stay null). Only string columns still
    need COPY escaping afterwards; everything made here is already safe."""
    t = arr.type
    if pa.types.is_boolean(t):
        return pc.if_else(arr, "t", "f")
    if pa.types.is_binary(t):  # bytea hex input, its backslash already escaped for COPY's text format
        return pc.binary_join_element_wise("\\\\x", hex_strings(arr), "")
    if pa.types.is_string(t):
        return arr
    return pc.cast(arr, pa.string())


@dataclass(frozen=True)
class _Payload:
    binary: bool
    buffer: pa.Buffer


class PostgresBackend(SqlBackend):
    engine = Engine.POSTGRESQL
    caps = Capabilities(
        cycle_methods=(CycleMethod.DEFERRED, CycleMethod.LEVELS, CycleMethod.TWO_PHASE),
        merge_refuses_duplicates=True,
        fold_case=False,
        folds_to_lower=True,
        name_limit=NameLimit("PostgreSQL", 63, in_bytes=True),
    )
    placeholder = "%s"
    bulk_path = "COPY FROM STDIN (binary)"
    merge_skips_unchanged = True

    conn: psycopg.Connection[Any]

    def __init__(self, url: DatabaseURL, name: str | None = None, namespace: str | None = None) -> None:
        super().__init__(url, name, namespace)
        #: table -> whether its rows lie in the order of its first upsert key (see merge)
        self._key_order: dict[str, bool] = {}

    def connect(self) -> None:
        try:
            self.conn = connect_postgres(self.url, 10)
        except MissingDriverError:
            raise
        except Exception as exc:  # the driver's refusal (or the network's)
            raise ConnectError(
                f"cannot connect to {self.name}: {self.clean(str(exc).strip())}. Check host, port, user and password.",
                target=self.name,
            ) from exc
        # staging tables are temporary: keep a 1M-row stage in memory, not in 8 MB of local buffers
        self.execute("SET temp_buffers = '256MB'")

    def is_open(self) -> bool:
        return not self.conn.closed

    def _execute(self, sql: str, params: Sequence[Any]) -> int:
        with self.conn.cursor() as cur:
            cur.execute(sql.encode(), params or None)
            return cur.rowcount

    def _query(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        with self.conn.cursor() as cur:
            cur.execute(sql.encode(), params or None)
            return cur.fetchall()

    def is_data_error(self, exc: BaseException) -> bool:
        import psycopg

        # CardinalityViolation: a key twice in one merge, which the engine then sorts out row by row
        return isinstance(
            exc, psycopg.errors.DataError | psycopg.errors.IntegrityError | psycopg.errors.CardinalityViolation
        )

    def translate(self, exc: BaseException) -> Exception:
        import psycopg

        if isinstance(exc, psycopg.Error) and self.is_data_error(exc):
            diag = exc.diag
            message = (diag.message_primary or str(exc)).strip()
            if diag.message_detail:
                message += f" ({diag.message_detail.strip()})"
            return DataError(self.clean(message), diag.column_name)
        return super().translate(exc)

    def prepare(self, batch: pa.RecordBatch, columns: Sequence[Column]) -> object:
        binary = pgbinary.encode(batch, columns)
        if binary is not None:
            return _Payload(True, binary)
        # a column type without a binary encoder: the text format, encoded column-wise too
        text = tab_separated([pg_text(c) for c in batch.columns], [pa.types.is_string(c.type) for c in batch.columns])
        return _Payload(False, text)

    def write(self, table: str, columns: Sequence[Column], batch: pa.RecordBatch, payload: object = None) -> None:
        data = payload if isinstance(payload, _Payload) else self.prepare(batch, columns)
        assert isinstance(data, _Payload)
        names = self.cols([f.name for f in batch.schema])
        options = " (FORMAT binary)" if data.binary else ""
        try:
            with self.conn.cursor() as cur, cur.copy(f"COPY {table} ({names}) FROM STDIN{options}".encode()) as copy:
                if data.binary:
                    copy.write(pgbinary.HEADER)
                copy.write(memoryview(data.buffer))
                if data.binary:
                    copy.write(pgbinary.TRAILER)
        except Exception as exc:
            raise self.translate(exc) from exc

    def advance_sequences(self, table: Table, columns: Sequence[Column]) -> None:
        # a sequence does not see values given explicitly: without this, the application's next
        # INSERT takes an id the load already used. Forward only: a sequence already past is kept.
        name = self.qualified(table.name)
        for col in columns:
            if col.kind is not TypeKind.INTEGER:
                continue
            [(sequence,)] = self.query("SELECT pg_get_serial_sequence(%s, %s)", [name, col.name])
            if sequence is None:
                continue
            self.query(
                f"SELECT setval(%s::regclass, GREATEST(m, COALESCE(pg_sequence_last_value(%s::regclass), m)), true) "
                f"FROM (SELECT max({self.quote(col.name)}) AS m FROM {name}) t WHERE m IS NOT NULL",
                [sequence, sequence],
            )

    def staged(self, staging: str) -> None:
        # temporary tables get no autovacuum statistics: without them the planner takes a 1M-row
        # stage for 3,000 rows and merges by an index probe per row (5.6 s instead of 3.9 s). Its
        # size and the keys' distinctness are all the merge's plan needs: a 300-row sample
        # (statistics target 1) finds them in milliseconds instead of 0.12 s for 30,000 rows
        self.execute("SET LOCAL default_statistics_target = 1")
        self.execute(f"ANALYZE {staging}")
        self.execute("RESET default_statistics_target")

    def has_duplicates(self, staging: str, keys: Sequence[str]) -> bool:
        # one sort of bare keys: a 1M-row stage in 0.2-0.3 s, where grouping rows by key takes 0.75 s
        k = self.cols(keys) if len(keys) == 1 else f"({self.cols(keys)})"
        return bool(self.query(f"SELECT COUNT(*) > COUNT(DISTINCT {k}) FROM {staging} WHERE {self._known(keys)}")[0][0])

    def changed_sql(self, columns: Sequence[str]) -> str:
        # byte for byte, not by `=`: that takes 1.0 for 1.00 (numeric keeps the scale), -0.0 for
        # 0.0, 'A' for 'a' under a case-blind collation, and json has no `=` at all. The stage's
        # columns have the table's types, as the comparison of row images requires
        t = ", ".join(f"t.{self.quote(c)}" for c in columns)
        s = ", ".join(f"s.{self.quote(c)}" for c in columns)
        return f"NOT record_image_eq(ROW({t}), ROW({s}))"

    def merge(self, table: Table, staging: str, columns: Sequence[Column], keys: Sequence[str], where: str) -> int:
        """As the base, but on a table stored in key order (serial ids, times) as a merge join:
        the sorted stage and the primary key's index are then walked side by side, the table's
        pages in order. The planner's default, a hash of every key of the table probed in
        random memory order, is ~0.5 s slower for 1M rows; on a table not in key order (random
        UUIDs) the index walk would jump around the table, so there the planner chooses."""
        sql = self.merge_sql(table, staging, columns, keys, where)
        if not self._in_key_order(table, keys[0]):
            return self.execute(sql)
        self.execute("SET LOCAL enable_hashjoin = off")
        merged = self.execute(sql)
        self.execute("RESET enable_hashjoin")  # on failure the savepoint's rollback restores it
        return merged

    def _in_key_order(self, table: Table, column: str) -> bool:
        """The table's rows lie in ``column``'s order, as its statistics see it (no statistics: no)."""
        if table.name not in self._key_order:
            found = self.query(
                "SELECT abs(correlation) FROM pg_stats WHERE schemaname = COALESCE(%s, current_schema()) "
                "AND tablename = %s AND attname = %s ORDER BY inherited LIMIT 1",
                [self.namespace, table.name, column],
            )
            self._key_order[table.name] = bool(found) and found[0][0] is not None and found[0][0] >= 0.9
        return self._key_order[table.name]

    def begin(self) -> None:
        super().begin()
        # FKs declared INITIALLY DEFERRED are checked per statement too, so bad rows are found
        # where they are; only the FKs of a cycle are deferred, on purpose, while it loads
        self.execute("SET CONSTRAINTS ALL IMMEDIATE")
        # upserts sort the staged rows by key: in memory, not through temporary files
        self.execute("SET LOCAL work_mem = '256MB'")
        # one big statement per table: compiling it (JIT) costs ~0.2 s and saves nothing
        self.execute("SET LOCAL jit = off")

    def defer(self, fks: Sequence[ForeignKey]) -> None:
        self._constraints(fks, "DEFERRED")

    def undefer(self, fks: Sequence[ForeignKey]) -> None:
        self._constraints(fks, "IMMEDIATE")

    def _constraints(self, fks: Sequence[ForeignKey], mode: str) -> None:
        names = sorted({fk.name for fk in fks if fk.name})
        if names:
            self.execute("SET CONSTRAINTS " + ", ".join(self.qualified(n) for n in names) + f" {mode}")

    def fk_checks(self, enabled: bool) -> None:  # pragma: no cover - PostgreSQL never plans CHECKS_OFF
        raise DataError("PostgreSQL has no session switch for FK checks")
