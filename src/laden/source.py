"""Inputs of a load: everything becomes a :class:`Dataset` of :class:`TableSource` streams.

A :class:`TableSource` is a re-iterable stream of ``pyarrow.RecordBatch``; a :class:`Dataset`
is an ordered mapping ``table name -> TableSource``. :func:`as_dataset` turns files,
directories, DataFrames, Arrow objects and lists of dicts into one. Files are streamed, never
read whole. Arrow types are passed through untouched; :func:`normalize_batch` is the one place
that folds dictionary / view / large variants into plain ``string`` and ``binary``.

File formats (chosen by suffix):

* ``.parquet`` / ``.pq``: streamed with ``ParquetFile.iter_batches``.
* ``.csv`` / ``.tsv``: every column is ``string``; an unquoted empty field is NULL, a quoted
  empty field ``""`` is the empty string (PostgreSQL's convention). Quoted fields may span lines.
* ``.jsonl`` / ``.ndjson``: column types are inferred from the first 4 MiB of the file
  and then fixed (JSON strings that look like timestamps and all-null columns stay ``string``;
  nested objects and arrays become structs and lists). A later value that does not fit that
  schema (``1.5`` in an integer column, a key first seen later) is a :class:`SourceError`.
* ``.arrow`` / ``.feather`` / ``.ipc``: Arrow IPC file or stream format.

CSV and JSON Lines files may be compressed (``.gz``, ``.bz2``, ``.zst``, ``.lz4``). They are
read by :mod:`laden.textfiles`: a CSV row with the wrong number of fields, or a value that is
not UTF-8, is a bad row numbered among the others (:meth:`TableSource.numbered`), not the end
of the file.
"""

from __future__ import annotations

import contextlib
import copy
import os
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import partial
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from laden.errors import SourceError, UsageError
from laden.textfiles import BadSourceRow, NumberedBatch, text_file

__all__ = ["BadSourceRow", "Dataset", "NumberedBatch", "TableSource", "as_dataset", "normalize_batch"]

_FORMATS = {
    ".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl",
    ".ndjson": "jsonl", ".arrow": "ipc", ".feather": "ipc", ".ipc": "ipc",
}  # fmt: skip
_COMPRESSIONS = {".gz": "gzip", ".bz2": "bz2", ".zst": "zstd", ".lz4": "lz4"}
_TEXT_FORMATS = ("csv", "tsv", "jsonl")
SUPPORTED_SUFFIXES = (
    ", ".join(_FORMATS) + " (.csv, .tsv, .jsonl and .ndjson may be compressed: " + ", ".join(_COMPRESSIONS) + ")"
)
_Batches = Callable[[int], Iterable[Any]]
_Numbered = Callable[[int], Iterable[NumberedBatch]]


class TableSource:
    """One table of a :class:`Dataset`: a named, re-iterable stream of record batches.

    ``schema`` is a :class:`pyarrow.Schema` or a function returning it (called once, lazily).
    ``batches(batch_size)`` must start from the first row on every call, unless
    ``replayable`` is False (one-shot inputs; see :meth:`Dataset.spooled`). A source that can
    find rows it cannot read (CSV, JSON Lines) also gives ``numbered``: the rows with their
    source row numbers and the bad rows among them (see :meth:`numbered`); ``path`` is the
    file it reads, if any.
    """

    def __init__(
        self,
        name: str,
        origin: str,
        schema: Any,
        batches: _Batches,
        *,
        replayable: bool = True,
        rows: int | Callable[[], int | None] | None = None,
        numbered: _Numbered | None = None,
        path: str | None = None,
    ) -> None:
        self.name = name
        self._rows = rows
        self.origin = origin
        self.path = path
        #: the ``laden.mapping.TableMapping`` that cut this table from a wide source, if any
        self.mapping: Any = None
        self.replayable = replayable
        self._schema = None if callable(schema) else schema
        self._schema_fn: Callable[[], Any] | None = schema if callable(schema) else None
        self._batches = batches
        self._numbered = numbered
        self._consumed = False

    def __repr__(self) -> str:
        return f"TableSource({self.name!r}, origin={self.origin!r}, replayable={self.replayable})"

    def schema(self) -> pa.Schema:
        """The Arrow schema of the batches (reads at most a file's header / metadata)."""
        if self._schema is None:
            assert self._schema_fn is not None
            self._schema = self._schema_fn()
        return self._schema

    def rows(self) -> int | None:
        """How many rows the source holds, when it knows without reading them (Parquet, Arrow), else None."""
        if callable(self._rows):
            self._rows = self._rows()
        return self._rows

    def batches(self, batch_size: int) -> Iterator[pa.RecordBatch]:
        """Yield the rows in batches of at most ``batch_size`` rows (never empty batches).

        A row the source cannot read (a CSV row with the wrong number of fields, bytes that are
        not UTF-8) is a :class:`SourceError` naming file, row and reason.
        """
        self._start(batch_size)
        return _rechunk(self._batches(batch_size), batch_size)

    def numbered(self, batch_size: int) -> Iterator[NumberedBatch]:
        """Like :meth:`batches`, with each row's source row number (1 = the first) and, instead of
        an error, the rows that could not be read, each with its row number and reason."""
        self._start(batch_size)
        if self._numbered is None:
            return _numbered(_rechunk(self._batches(batch_size), batch_size))
        return _rechunk_numbered(self._numbered(batch_size), batch_size)

    def _start(self, batch_size: int) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise UsageError(f"batch_size must be a positive integer, got {batch_size!r}")
        if not self.replayable:
            if self._consumed:
                raise SourceError(
                    f"{self.origin} is a one-shot stream and was already read; "
                    "use Dataset.spooled() to read it more than once"
                )
            self._consumed = True

    def renamed(self, name: str) -> TableSource:
        """A copy of this source loading into table ``name``."""
        other = copy.copy(self)
        other.name = name
        return other


class Dataset(Mapping[str, TableSource]):
    """An ordered mapping ``table name -> TableSource``; a context manager (see :meth:`close`)."""

    def __init__(self, tables: Iterable[TableSource]) -> None:
        self.tables: dict[str, TableSource] = {}
        for source in tables:
            if source.name in self.tables:
                first = self.tables[source.name].origin
                raise SourceError(
                    f"two inputs map to table {source.name!r}: {first} and {source.origin}; "
                    "rename one of them or pass a mapping {table: input}"
                )
            self.tables[source.name] = source
        self._closers: list[Callable[[], None]] = []

    def __getitem__(self, name: str) -> TableSource:
        return self.tables[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.tables)

    def __len__(self) -> int:
        return len(self.tables)

    def __repr__(self) -> str:
        return f"Dataset({list(self.tables.values())!r})"

    def __enter__(self) -> Dataset:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def spooled(self, directory: str | None = None) -> Dataset:
        """A Dataset whose one-shot sources are replayable.

        The first read of a one-shot source copies its batches into temporary Arrow IPC files
        (in ``directory`` or the system temp dir) while yielding them; later reads replay the
        files. :meth:`close` on the returned Dataset removes them.
        """
        if all(src.replayable for src in self.values()):
            return Dataset(self.values())
        spool = tempfile.TemporaryDirectory(prefix="laden-spool-", dir=directory, ignore_cleanup_errors=True)
        tables = [src if src.replayable else _Spool(src, spool.name, i).source() for i, src in enumerate(self.values())]
        result = Dataset(tables)
        result._closers.append(spool.cleanup)
        return result

    def close(self) -> None:
        """Remove temporary spool files (if any). Idempotent."""
        while self._closers:
            self._closers.pop()()


def as_dataset(data: object, *, table: str | None = None) -> Dataset:
    """Turn ``data`` into a :class:`Dataset`.

    ``data`` is a Dataset (returned as is), a mapping ``{table: input}``, a file or directory
    path, a list of paths (the CLI's arguments), or a single input with ``table=``: a pandas or
    polars DataFrame, a pyarrow Table / RecordBatch / RecordBatchReader / dataset, a list of
    dicts, or a :class:`TableSource`. Files are named by their stem (``items.csv.gz`` ->
    ``items``); a directory gives one table per supported file in it, sorted by name.
    """
    if isinstance(data, Dataset):
        if table is not None:
            raise UsageError("table= cannot be used with a Dataset")
        return data
    if table is not None:
        return Dataset([_single(data, _check_name(table))])
    if isinstance(data, Mapping):
        if not data:
            raise UsageError("nothing to load: the mapping of tables is empty")
        return Dataset([_single(value, _check_name(key)) for key, value in data.items()])
    if _is_path(data):
        return Dataset(_path_sources(data))
    if isinstance(data, (list, tuple)) and data and all(_is_path(p) for p in data):
        return Dataset([src for path in data for src in _path_sources(path)])
    raise UsageError(
        f"cannot tell the table name for {_describe(data)}: pass table='name' or a mapping {{'name': data}}"
    )


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not name:
        raise UsageError(f"a table name must be a non-empty string, got {name!r}")
    return name


def _describe(data: object) -> str:
    kind = type(data)
    return f"an input of type {kind.__module__}.{kind.__qualname__}"


def _is_path(data: object) -> bool:
    return isinstance(data, (str, os.PathLike))


def _single(data: object, name: str) -> TableSource:
    if isinstance(data, TableSource):
        return data.renamed(name)
    if _is_path(data):
        path = _fspath(data)
        if os.path.isdir(path):
            raise SourceError(f"{path} is a directory; it gives one table per file, so pass it without a table name")
        return _file_source(path, name)
    if isinstance(data, (list, tuple)):
        return _pylist_source(data, name)
    source = _arrow_source(data, name) or _dataframe_source(data, name)
    if source is None:
        raise UsageError(
            f"unsupported input for table {name!r}: {_describe(data)}; expected a file path, a pandas or "
            "polars DataFrame, a pyarrow Table / RecordBatch / RecordBatchReader / dataset or a list of "
            "dicts (wrap an iterator of batches in pyarrow.RecordBatchReader.from_batches)"
        )
    return source


def _fspath(path: object) -> str:
    result = os.fspath(path)  # type: ignore[call-overload]
    if not isinstance(result, str):
        raise UsageError(f"paths must be str or os.PathLike[str], got {path!r}")
    return result


# -- in-memory inputs ------------------------------------------------------------------------------


def _table_source(table: pa.Table, name: str, origin: str) -> TableSource:
    return TableSource(
        name, origin, table.schema, lambda size: table.to_batches(max_chunksize=size), rows=table.num_rows
    )


def _arrow_source(data: object, name: str) -> TableSource | None:
    if isinstance(data, pa.Table):
        return _table_source(data, name, f"Arrow table {name!r}")
    if isinstance(data, pa.RecordBatch):
        return _table_source(pa.Table.from_batches([data]), name, f"Arrow record batch {name!r}")
    if isinstance(data, pa.RecordBatchReader):
        origin = f"Arrow stream {name!r}"
        return TableSource(name, origin, data.schema, lambda _size: _guarded(lambda: data, origin), replayable=False)
    padataset = sys.modules.get("pyarrow.dataset")
    if padataset is not None and isinstance(data, padataset.Dataset):
        origin = f"Arrow dataset {name!r}"
        return TableSource(
            name, origin, data.schema, lambda size: _guarded(lambda: data.to_batches(batch_size=size), origin)
        )
    return None


def _dataframe_source(data: object, name: str) -> TableSource | None:
    module = type(data).__module__.split(".")[0]
    if type(data).__name__ != "DataFrame" or module not in ("pandas", "polars"):
        return None
    origin = f"DataFrame {name!r}"
    with _arrow_errors(origin, "convert"):
        pandas = module == "pandas"
        table = pa.Table.from_pandas(data, preserve_index=False) if pandas else data.to_arrow()  # type: ignore[attr-defined]
    return _table_source(table, name, origin)


def _pylist_source(rows: list[Any] | tuple[Any, ...], name: str) -> TableSource:
    origin = f"list of dicts {name!r}"
    if not rows:
        raise SourceError(f"{origin} is empty: the table has no rows and no columns to load")
    if not all(isinstance(row, Mapping) for row in rows):
        raise UsageError(f"{origin}: every element must be a dict (column name -> value)")
    with _arrow_errors(origin, "convert"):
        # pa.array infers one struct type from all dicts (union of keys, missing keys -> null);
        # Table.from_pylist would only look at the first dict's keys.
        table = pa.Table.from_struct_array(pa.array(rows))
    return _table_source(table, name, origin)


# -- files -----------------------------------------------------------------------------------------


def _path_sources(path_like: object) -> list[TableSource]:
    path = _fspath(path_like)
    if not os.path.isdir(path):
        return [_file_source(path, None)]
    names = sorted(e.name for e in os.scandir(path) if e.is_file() and not e.name.startswith("."))
    sources = [_file_source(os.path.join(path, n), None) for n in names if _file_kind(n) is not None]
    if not sources:
        raise SourceError(f"{path}: no supported files in this directory; supported suffixes: {SUPPORTED_SUFFIXES}")
    return sources


def _file_kind(path: str) -> tuple[str, str | None, str] | None:
    """``(format, compression, stem)`` of a file name, or None when the suffix is unknown."""
    name = os.path.basename(path)
    compression = None
    for suffix, codec in _COMPRESSIONS.items():
        if name.lower().endswith(suffix):
            compression, name = codec, name[: -len(suffix)]
            break
    for suffix, fmt in _FORMATS.items():
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            if compression is not None and fmt not in _TEXT_FORMATS:
                return None
            return fmt, compression, name[: -len(suffix)]
    return None


def _file_source(path: str, name: str | None) -> TableSource:
    if not os.path.exists(path):
        raise SourceError(f"{path}: no such file or directory; supported suffixes: {SUPPORTED_SUFFIXES}")
    kind = _file_kind(path)
    if kind is None:
        raise SourceError(f"{path}: unknown file type; supported suffixes: {SUPPORTED_SUFFIXES}")
    fmt, compression, stem = kind
    name = name or stem
    if fmt == "parquet":
        return TableSource(
            name, path, lambda: _parquet_schema(path), partial(_parquet_batches, path), rows=lambda: _parquet_rows(path)
        )
    if fmt == "ipc":
        return TableSource(name, path, lambda: _open_ipc(path).schema, lambda _size: _ipc_batches(path))
    reader = text_file(path, fmt, compression)
    return TableSource(name, path, reader.schema, reader.batches, numbered=reader.numbered, path=path)


@contextlib.contextmanager
def _arrow_errors(origin: str, action: str = "read", hint: str = "") -> Iterator[None]:
    """Turn pyarrow / OS errors raised in the block into :class:`SourceError`."""
    try:
        yield
    except (pa.ArrowException, OSError) as exc:
        raise SourceError(f"{origin}: cannot {action}: {exc}{hint}") from exc


def _guarded(make: Callable[[], Iterable[Any]], origin: str) -> Iterator[pa.RecordBatch]:
    """Iterate ``make()``, converting read errors; the consumer's own errors pass through."""
    with _arrow_errors(origin):
        iterator = iter(make())
    while True:
        with _arrow_errors(origin):
            batch = next(iterator, None)
        if batch is None:
            return
        yield batch


def _parquet_schema(path: str) -> pa.Schema:
    with _arrow_errors(path), pq.ParquetFile(path) as parquet:
        return parquet.schema_arrow


def _parquet_rows(path: str) -> int | None:
    try:
        with pq.ParquetFile(path) as parquet:
            return int(parquet.metadata.num_rows)
    except (OSError, pa.ArrowException):
        return None  # reading will say what is wrong


def _parquet_batches(path: str, batch_size: int) -> Iterator[pa.RecordBatch]:
    with _arrow_errors(path):
        # pre_buffer=True (the default) makes iter_batches cache every row group of the file
        # up front; off, memory stays bounded by one row group's pages (read through 1 MiB buffers).
        parquet = pq.ParquetFile(path, pre_buffer=False, buffer_size=1 << 20)
    with parquet:
        yield from _guarded(lambda: parquet.iter_batches(batch_size=batch_size), path)


def _open_ipc(path: str) -> Any:
    """An IPC file reader (``ARROW1`` magic) or stream reader on a memory map of ``path``."""
    with _arrow_errors(path):
        source = pa.memory_map(path)
        magic = source.read(6)
        source.seek(0)
        if magic == b"ARROW1":
            return pa.ipc.open_file(source)
        return pa.ipc.open_stream(source)


def _ipc_batches(path: str) -> Iterator[pa.RecordBatch]:
    reader = _open_ipc(path)
    if isinstance(reader, pa.ipc.RecordBatchFileReader):
        return _guarded(lambda: map(reader.get_batch, range(reader.num_record_batches)), path)
    return _guarded(lambda: reader, path)


# -- spooling one-shot sources ---------------------------------------------------------------------


class _Spool:
    """Tees a one-shot source into IPC stream segments while it is read; replays them later.

    If a read stops early, the next read replays the segments and then resumes the original
    stream where it stopped, so no row is lost or repeated.
    """

    def __init__(self, source: TableSource, directory: str, index: int) -> None:
        self._source, self._dir, self._index = source, directory, index
        self._segments: list[str] = []
        self._upstream: Iterator[pa.RecordBatch] | None = None
        self._done = False
        self._busy = False
        self._error: BaseException | None = None

    def source(self) -> TableSource:
        src = self._source
        return TableSource(src.name, src.origin, src.schema, self._batches, rows=src.rows)

    def _batches(self, batch_size: int) -> Iterator[pa.RecordBatch]:
        if not os.path.isdir(self._dir):
            raise SourceError(f"{self._source.origin}: the spooled Dataset was closed")
        if self._error is not None:
            raise SourceError(f"{self._source.origin} failed while being read: {self._error}") from self._error
        for path in list(self._segments):
            with pa.OSFile(path) as file:
                yield from pa.ipc.open_stream(file)
        if not self._done:
            yield from self._pull(batch_size)

    def _pull(self, batch_size: int) -> Iterator[pa.RecordBatch]:
        if self._busy:
            raise UsageError(f"{self._source.origin}: a one-shot source cannot be read by two readers at once")
        self._busy = True
        try:
            if self._upstream is None:
                self._upstream = self._source.batches(batch_size)
            path = os.path.join(self._dir, f"{self._index}.{len(self._segments)}.arrows")
            self._segments.append(path)
            with pa.OSFile(path, "wb") as sink, pa.ipc.new_stream(sink, self._source.schema()) as writer:
                for batch in self._upstream:
                    writer.write_batch(batch)  # written before it is yielded: nothing lost on early exit
                    yield batch
            self._done = True
        except GeneratorExit:
            raise
        except BaseException as exc:
            self._error = exc
            raise
        finally:
            self._busy = False


# -- batches ---------------------------------------------------------------------------------------


def _rechunk(batches: Iterable[pa.RecordBatch], batch_size: int) -> Iterator[pa.RecordBatch]:
    """Slice batches larger than ``batch_size`` (zero-copy) and drop empty ones."""
    for batch in batches:
        rows = batch.num_rows
        if rows <= batch_size:
            if rows:
                yield batch
            continue
        for start in range(0, rows, batch_size):
            yield batch.slice(start, batch_size)


def _numbered(batches: Iterable[pa.RecordBatch]) -> Iterator[NumberedBatch]:
    """Number the rows of a source that reads every row: 1, 2, 3, ..."""
    start = 1
    for batch in batches:
        yield NumberedBatch(batch, np.arange(start, start + batch.num_rows, dtype=np.int64))
        start += batch.num_rows


def _rechunk_numbered(items: Iterable[NumberedBatch], batch_size: int) -> Iterator[NumberedBatch]:
    """:func:`_rechunk` for numbered batches: each bad row goes with the slice it precedes."""
    for item in items:
        rows = item.batch.num_rows
        if rows <= batch_size:
            if rows or item.bad:
                yield item
            continue
        bad = list(item.bad)
        for start in range(0, rows, batch_size):
            numbers = item.rows[start : start + batch_size]
            last = start + batch_size >= rows
            k = len(bad) if last else next((i for i, b in enumerate(bad) if b.row > numbers[-1]), len(bad))
            yield NumberedBatch(item.batch.slice(start, batch_size), numbers, tuple(bad[:k]))
            bad = bad[k:]


def _normal_type(t: pa.DataType) -> pa.DataType:
    if pa.types.is_dictionary(t):
        return _normal_type(t.value_type)
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return pa.string()
    if pa.types.is_large_binary(t) or pa.types.is_binary_view(t):
        return pa.binary()
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        field = t.value_field.with_type(_normal_type(t.value_type))
        return pa.list_(field) if pa.types.is_list(t) else pa.large_list(field)
    if pa.types.is_struct(t):
        return pa.struct([field.with_type(_normal_type(field.type)) for field in t])
    return t


def _normal_array(array: pa.Array, target: pa.DataType) -> pa.Array:
    if pa.types.is_dictionary(array.type):
        # Decode after normalising the (small) dictionary: take() has no string_view kernel.
        return _normal_array(array.dictionary, target).take(array.indices)
    return array.cast(target)


def normalize_batch(batch: pa.RecordBatch) -> pa.RecordBatch:
    """``batch`` with dictionary columns decoded, ``large_string`` / ``string_view`` as ``string``
    and ``large_binary`` / ``binary_view`` as ``binary`` (also inside lists and structs).

    Columns that need no change are passed through as is; an unchanged batch is returned itself.
    """
    fields = [field.with_type(_normal_type(field.type)) for field in batch.schema]
    if all(new.type == old.type for new, old in zip(fields, batch.schema, strict=True)):
        return batch
    arrays = []
    for field, column in zip(fields, batch.columns, strict=True):
        with _arrow_errors(f"column {field.name!r}", f"convert {column.type} to {field.type}"):
            arrays.append(column if column.type == field.type else _normal_array(column, field.type))
    return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields, metadata=batch.schema.metadata))
