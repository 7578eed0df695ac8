"""What a backfill reads: a file dataset, a database table or query, or a laden generator.

A :class:`SourceSpec` is plain, picklable data: the coordinator plans with it and each worker
(a local process or a Dask worker) reopens it to read its window. Every source reads the
window column alone for planning and one window's rows for loading, as Arrow batches.

- Files: a directory, a glob or one file, local or object storage (``s3://...``), Parquet,
  CSV or JSON Lines, read with ``pyarrow.dataset`` (hive partitions ``key=value/`` become
  columns; a window's filter is pushed down to Parquet statistics).
- A database table or query on any supported engine: ``SELECT ... WHERE col >= ? AND col < ?``
  streamed with a server-side cursor (DuckDB: its Arrow reader), ``batch_size`` rows at a time.
- ``generate:retail?scale=0.1&seed=0``: a table of the retail generator, spooled once to
  Parquet under ``spool`` (a directory every worker can read), then read as files.
"""

from __future__ import annotations

import datetime as dt
import enum
import glob
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from laden.backfill.windows import Window
from laden.errors import SourceError, UsageError, aside, did_you_mean
from laden.urls import DatabaseURL, Engine

_FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".jsonl": "json", ".ndjson": "json"}


class SourceKind(str, enum.Enum):
    FILES = "files"
    DATABASE = "database"
    GENERATOR = "generator"


@dataclass(frozen=True)
class SourceSpec:
    kind: SourceKind
    #: files: path, directory, glob or URL; database: the connection URL (password included:
    #: never shown); generator: ``generate:NAME?scale=..&seed=..``
    location: str = field(repr=False)
    #: what messages and the manifest show (a masked URL for databases)
    name: str = ""
    table: str | None = None
    query: str | None = None
    spool: str | None = None

    def describe(self) -> str:
        if self.kind is SourceKind.DATABASE:
            what = f"table {self.table}" if self.table else f"query {self.query}"
            return f"{self.name} ({what})"
        if self.kind is SourceKind.GENERATOR:
            return f"{self.location} (table {self.table})"
        return self.location


def source_spec(
    source: str, *, table: str | None = None, query: str | None = None, spool: str | None = None, name: str = ""
) -> SourceSpec:
    """The spec of a backfill source as the command line gives it (``name``: the masked URL)."""
    if table is not None and query is not None:
        raise UsageError("give --source-table or --source-query, not both")
    if source.startswith("generate:"):
        return SourceSpec(SourceKind.GENERATOR, source, source, table, None, spool)
    if table is not None or query is not None:
        return SourceSpec(SourceKind.DATABASE, source, name or DatabaseURL.parse(source).masked(), table, query)
    return SourceSpec(SourceKind.FILES, source, source)


class Source:
    """An open source: its schema, its window column, one window's rows, a sample."""

    def __init__(self, spec: SourceSpec) -> None:
        self.spec = spec

    def schema(self) -> pa.Schema:
        raise NotImplementedError

    def column(self, name: str) -> Iterator[pa.Array]:
        raise NotImplementedError

    def window_field(self, name: str) -> pa.Field:
        """The window column's field, with the type its values compare as."""
        schema = self.schema()
        if name not in schema.names:
            raise UsageError(
                f"--window-by {name!r}: {self.spec.describe()} has no such column"
                f"{aside(did_you_mean(name, schema.names))}; its columns are {', '.join(schema.names)}"
            )
        return schema.field(name)

    def window(self, column: str, window: Window | None, batch_size: int) -> Iterator[pa.RecordBatch]:
        """The rows of one window (all rows when ``window`` is None)."""
        raise NotImplementedError

    def scan_note(self, column: str) -> str | None:
        """Why each window would read the whole source, when it would."""
        return None

    def close(self) -> None:
        pass


def open_source(spec: SourceSpec) -> Source:
    if spec.kind is SourceKind.DATABASE:
        return DatabaseSource(spec)
    if spec.kind is SourceKind.GENERATOR:
        return FileSource(spec, _spooled(spec))
    return FileSource(spec, spec.location)


# -- files ----------------------------------------------------------------------------------------


class FileSource(Source):
    def __init__(self, spec: SourceSpec, location: str) -> None:
        super().__init__(spec)
        import pyarrow.dataset as pads  # here, not at import: it imports pandas (~0.2 s at every CLI start)

        files, fs, fmt = _files(location)
        self.format = fmt
        #: the columns hive partitioning (``key=value/``) adds: a filter on them skips whole files
        self.partitions = {p.partition("=")[0] for f in files for p in Path(f).parent.parts if "=" in p}
        try:
            self.dataset = pads.dataset(files, format=_format(fmt), partitioning="hive", filesystem=fs)
        except (pa.ArrowException, OSError) as exc:
            raise SourceError(f"{location}: cannot read as a {fmt} dataset: {exc}") from exc

    def schema(self) -> pa.Schema:
        return self.dataset.schema

    def column(self, name: str) -> Iterator[pa.Array]:
        for batch in self.dataset.to_batches(columns=[name], batch_size=1 << 20):
            yield batch.column(0)

    def scan_note(self, column: str) -> str | None:
        if self.format == "parquet" or column in self.partitions:
            return None
        return (
            f"{self.spec.describe()}: {self.format.upper()} files have no statistics to skip by, so every window "
            f"reads the whole dataset; Parquet sorted by {column!r} (or hive partitions by it) lets each window "
            "read its own rows only"
        )

    def window(self, column: str, window: Window | None, batch_size: int) -> Iterator[pa.RecordBatch]:
        import pyarrow.dataset as pads

        expr = None if window is None else _filter(pads.field(column), window)
        yield from self.dataset.to_batches(filter=expr, batch_size=batch_size)


def _filter(col: Any, window: Window) -> Any:
    if window.nulls:
        return col.is_null()
    return (col >= pa.scalar(window.start)) & (col < pa.scalar(window.end))


def _format(fmt: str) -> Any:
    import pyarrow.dataset as pads

    if fmt == "csv":  # laden's CSV convention: only an unquoted empty field is NULL
        options = pacsv.ConvertOptions(strings_can_be_null=True, quoted_strings_can_be_null=False, null_values=[""])
        return pads.CsvFileFormat(convert_options=options)
    return fmt


def _files(location: str) -> tuple[list[str] | str, Any, str]:
    """The files a location names, the filesystem (None: local), and their format."""
    if "://" in location and not location.startswith("file://"):
        import fsspec  # type: ignore[import-untyped, unused-ignore]

        fs, path = fsspec.core.url_to_fs(location)
        found = sorted(fs.glob(path) if glob.has_magic(path) else fs.find(path) if fs.isdir(path) else [path])
        from pyarrow.fs import FSSpecHandler, PyFileSystem

        arrow_fs: Any = PyFileSystem(FSSpecHandler(fs))
    else:
        path = location.removeprefix("file://")
        found = sorted(glob.glob(path, recursive=True) if glob.has_magic(path) else _walk(path))
        arrow_fs = None
    found = [f for f in found if not os.path.basename(f).startswith((".", "_"))]
    formats = {_FORMATS.get(Path(f.removesuffix(".gz")).suffix.lower()) for f in found}
    if not found:
        raise SourceError(f"{location}: no files found; give a file, a directory or a glob such as data/*.parquet")
    if len(formats) != 1 or None in formats:
        raise SourceError(
            f"{location}: a backfill reads one dataset of one format (.parquet, .csv, .jsonl); found "
            f"{', '.join(sorted({Path(f).suffix or '(none)' for f in found}))}"
        )
    return found, arrow_fs, formats.pop() or "parquet"


def _walk(path: str) -> list[str]:
    if os.path.isdir(path):
        return [str(p) for p in Path(path).rglob("*") if p.is_file()]
    if not os.path.exists(path):
        raise SourceError(f"{path}: no such file or directory")
    return [path]


def _spooled(spec: SourceSpec) -> str:
    """The generator's table written once to Parquet under ``spec.spool``; its directory."""
    from laden.generate import retail_dataset

    name, _, query = spec.location.removeprefix("generate:").partition("?")
    if name != "retail":
        raise UsageError(f"{spec.location}: unknown generator {name!r}; laden has: retail")
    params = dict(parse_qsl(query))
    unknown = sorted(set(params) - {"scale", "seed"})
    if unknown:
        raise UsageError(f"{spec.location}: unknown parameter {unknown[0]!r}; expected scale and seed")
    scale, seed = float(params.get("scale", "0.01")), int(params.get("seed", "0"))
    if spec.spool is None or spec.table is None:
        raise UsageError(f"{spec.location}: a generator source needs a table (--source-table) and a spool directory")
    out = Path(spec.spool) / f"{name}-{scale:g}-{seed}-{spec.table}"
    done = out / "_SUCCESS"
    if not done.exists():
        import pyarrow.parquet as pq

        out.mkdir(parents=True, exist_ok=True)
        with retail_dataset(scale, seed, workers=1) as data:
            if spec.table not in data.tables:
                raise UsageError(f"{spec.location}: no table {spec.table!r}; it makes {', '.join(data.tables)}")
            source = data.tables[spec.table]
            with pq.ParquetWriter(out / "part-0.parquet", source.schema()) as writer:
                for batch in source.batches(1 << 17):
                    writer.write_batch(batch)
        done.touch()
    return str(out / "part-0.parquet")


# -- databases ------------------------------------------------------------------------------------


class DatabaseSource(Source):
    def __init__(self, spec: SourceSpec) -> None:
        super().__init__(spec)
        self.url = DatabaseURL.parse(spec.location)
        self.conn: Any = _connect(self.url)
        q = self._quote
        self.relation = q(spec.table) if spec.table else f"({spec.query})"
        self._schema: pa.Schema | None = None
        self._fields: dict[str, pa.Field] = {}

    def scan_note(self, column: str) -> str | None:
        """A source table without an index that starts with the window column: each window's
        query reads all of it (DuckDB skips row groups by their min/max; a query is not looked into)."""
        from laden.targets import backend_for

        if self.spec.table is None or self.url.engine is Engine.DUCKDB:
            return None
        backend = backend_for(self.spec.location, name=self.spec.name)
        backend.connect()
        try:
            table = backend.reflect([self.spec.table]).table(self.spec.table, fold_case=backend.caps.fold_case)
        finally:
            backend.close()
        if table is None or table.leads_an_index(column):
            return None
        return (
            f"{self.spec.describe()}: no index of table {table.name!r} starts with {column!r}, so each window's "
            f"query reads the whole table; an index on {table.name} ({column}) makes it a range read"
        )

    def _quote(self, name: str) -> str:
        if self.url.engine is Engine.MYSQL:
            return "`" + name.replace("`", "``") + "`"
        return '"' + name.replace('"', '""') + '"'

    def _param(self) -> str:
        return "?" if self.url.engine in (Engine.SQLITE, Engine.DUCKDB) else "%s"

    def _rows(self, sql: str, params: list[Any], batch_size: int) -> Iterator[pa.RecordBatch]:
        try:
            yield from self._fetch(sql, params, batch_size)
        except _driver_errors(self.url.engine) as exc:
            raise SourceError(f"{self.spec.describe()}: cannot read: {exc}") from exc

    def _fetch(self, sql: str, params: list[Any], batch_size: int) -> Iterator[pa.RecordBatch]:
        if self.url.engine is Engine.DUCKDB:
            result = self.conn.execute(sql, params)
            reader = getattr(result, "to_arrow_reader", None) or result.fetch_record_batch  # DuckDB 2 / 1
            yield from reader(batch_size)
            return
        if self.url.engine is Engine.POSTGRESQL:
            cur = self.conn.cursor(name="laden_backfill")
        elif self.url.engine is Engine.MYSQL:
            import pymysql.cursors

            cur = self.conn.cursor(pymysql.cursors.SSCursor)
        else:
            cur = self.conn.cursor()
        try:
            cur.execute(sql, params)
            names = [d[0] for d in cur.description]
            types: dict[str, pa.DataType] = {}
            while rows := cur.fetchmany(batch_size):
                yield _batch(names, rows, types)
        finally:
            cur.close()
            if self.url.engine is Engine.POSTGRESQL:
                self.conn.rollback()

    def schema(self) -> pa.Schema:
        if self._schema is None:
            first = next(self._rows(f"SELECT * FROM {self.relation} w LIMIT 1000", [], 1000), None)
            if first is None:
                raise SourceError(f"{self.spec.describe()}: the source has no rows")
            self._schema = first.schema
        return self._schema

    def window_field(self, name: str) -> pa.Field:
        if name not in self._fields:
            self._fields[name] = self._window_field(name)
        return self._fields[name]

    def _window_field(self, name: str) -> pa.Field:
        found = super().window_field(name)
        if self.url.engine is not Engine.SQLITE or not pa.types.is_string(found.type):
            return found
        sample = next(self.column(name, typed=False), pa.array([], pa.string()))
        for t in (pa.date32(), pa.timestamp("us")):  # SQLite keeps dates and times as ISO text
            try:
                sample.cast(t)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                continue
            return found.with_type(t)
        first = next((v for v in sample.to_pylist() if v is not None), None)
        if first is not None and _reads_as_time(first):
            self._times(sample, name)  # times, but not all of them: says which value is not
        return found

    def column(self, name: str, *, typed: bool = True) -> Iterator[pa.Array]:
        want = self.window_field(name).type if typed else None
        for batch in self._rows(f"SELECT {self._quote(name)} FROM {self.relation} w", [], 1 << 16):
            values = batch.column(0)
            if want is not None and pa.types.is_timestamp(want) and pa.types.is_string(values.type):
                yield self._times(values, name)
            else:
                yield values if want is None else values.cast(want)

    def window(self, column: str, window: Window | None, batch_size: int) -> Iterator[pa.RecordBatch]:
        sql, params = f"SELECT * FROM {self.relation} w", []
        if window is not None and window.nulls:
            sql += f" WHERE {self._quote(column)} IS NULL"
        elif window is not None:
            p = self._param()
            sql += f" WHERE {self._quote(column)} >= {p} AND {self._quote(column)} < {p}"
            params = [self._bound(window.start), self._bound(window.end)]
        if window is None or window.nulls or self.url.engine is not Engine.SQLITE:
            yield from self._rows(sql, params, batch_size)
            return
        start, end = window.start, window.end
        if not (isinstance(start, dt.datetime) and isinstance(end, dt.datetime)):
            yield from self._rows(sql, params, batch_size)
            return
        yield from self._text_times(sql, column, start.replace(tzinfo=None), end.replace(tzinfo=None), batch_size)

    def _text_times(
        self, sql: str, column: str, start: dt.datetime, end: dt.datetime, batch_size: int
    ) -> Iterator[pa.RecordBatch]:
        """One window of SQLite text times (see :meth:`window_field`). As text, '2024-01-05 00:00:00'
        sorts before '2024-01-05 00:00:00.000000' and after '2024-01-05T...': the query takes a
        superset (the days around the window, which an index on the column serves, and the hours
        with the date and time separated alike), and the rows are kept by their time value, the
        way the windows were planned."""
        c = self._quote(column)
        hours = f"substr({c}, 1, 10) || ' ' || substr({c}, 12)"
        sql += f" AND {hours} >= {self._param()} AND {hours} < {self._param()}"
        last_day = end.date() if end.time() == dt.time() else end.date() + dt.timedelta(days=1)
        first_hour = start.strftime("%Y-%m-%d") if start.time() == dt.time() else start.strftime("%Y-%m-%d %H")
        after_hour = (end + dt.timedelta(hours=0 if end.minute == end.second == end.microsecond == 0 else 1)).strftime(
            "%Y-%m-%d %H"
        )
        params = [start.date().isoformat(), last_day.isoformat(), first_hour, after_hour]
        low, high = pa.scalar(start, pa.timestamp("us")), pa.scalar(end, pa.timestamp("us"))
        for batch in self._rows(sql, params, batch_size):
            values = self._times(batch.column(batch.schema.get_field_index(column)), column)
            keep = pc.and_(pc.greater_equal(values, low), pc.less(values, high))
            yield batch.filter(pc.fill_null(keep, False))

    def _times(self, text: pa.Array, column: str) -> pa.Array:
        try:
            return text.cast(pa.timestamp("us"))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            bad = next(v for v in text.to_pylist() if v is not None and not _reads_as_time(v))
            raise SourceError(
                f"{self.spec.describe()}: column {column!r} holds {bad!r}, which is not a time without an offset "
                "(YYYY-MM-DD[ HH:MM[:SS[.ffffff]]]); windows by time need every value to read as one"
            ) from None

    def _bound(self, value: Any) -> Any:
        """A bound as the driver compares it with the column: SQLite keeps dates as ISO text (and
        times too, which :meth:`_text_times` reads)."""
        if self.url.engine is Engine.SQLITE and isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value.isoformat()
        return value

    def close(self) -> None:
        self.conn.close()


def _reads_as_time(value: object) -> bool:
    try:
        pa.array([value]).cast(pa.timestamp("us"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    return True


def _driver_errors(engine: Engine) -> tuple[type[BaseException], ...]:
    """The errors a source's driver raises for a failed statement."""
    if engine is Engine.POSTGRESQL:
        import psycopg

        return (psycopg.Error,)
    if engine is Engine.MYSQL:
        import pymysql

        return (pymysql.Error,)
    if engine is Engine.DUCKDB:
        import duckdb

        return (duckdb.Error,)
    import sqlite3

    return (sqlite3.Error,)


def _connect(url: DatabaseURL) -> Any:
    from laden.drivers import connect_mysql, connect_postgres

    if url.engine is Engine.POSTGRESQL:
        conn = connect_postgres(url, 10)
        conn.autocommit = False  # a server-side cursor lives in a transaction (read only, rolled back)
        return conn
    if url.engine is Engine.MYSQL:
        return connect_mysql(url, 10)
    if url.engine is Engine.DUCKDB:
        import duckdb

        return duckdb.connect(url.path or ":memory:", read_only=True)
    import sqlite3

    # the load reads ahead on its own thread, one thread at a time
    return sqlite3.connect(f"file:{url.path}?mode=ro", uri=True, check_same_thread=False)


def _batch(names: list[str], rows: list[tuple[Any, ...]], types: dict[str, pa.DataType]) -> pa.RecordBatch:
    """Rows from a DB-API cursor as a batch; a column's type is kept from the first batch that
    had a value in it, so batches agree."""
    arrays = []
    for name, values in zip(names, zip(*rows, strict=True), strict=True):
        array = pa.array(values, type=types.get(name), from_pandas=False)
        if name not in types and not pa.types.is_null(array.type):
            types[name] = array.type
        arrays.append(array)
    return pa.RecordBatch.from_arrays(arrays, names=names)
