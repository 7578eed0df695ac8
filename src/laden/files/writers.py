"""Format writers: Arrow batches in, one file's bytes out, streamed batch by batch.

* Parquet: :class:`pyarrow.parquet.ParquetWriter`; each batch is a row group, or batches are
  gathered into row groups of exactly ``row_group_size`` rows (the last one smaller).
* CSV: :class:`pyarrow.csv.CSVWriter` with the spec's header, delimiter, quoting and NULL
  marker. Decimals with more than 6 decimal places are written in plain notation as text
  (pyarrow would write ``-1E-9``), which the quoting style then treats as a string.
  Timestamps are pyarrow's ISO form (``2024-01-31 12:34:56.123456``, with a zone its
  local time and offset ``+0100`` or ``Z``): exact, every digit of the unit. A row where a
  local time would not give its instant back (an offset with seconds, a year past 9999: see
  :func:`laden.files.encode.utc_rows`) has its zoned timestamps written in UTC (``Z``).
* JSON Lines / JSON array: :mod:`laden.files.encode` builds the rows' text with Arrow
  kernels; no per-row Python. A JSON file is ``[`` + rows joined by ``,`` + ``]``.

Compression of text formats is a :class:`pyarrow.CompressedOutputStream` around the sink.
"""

from __future__ import annotations

import contextlib
import itertools
import uuid
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from laden.files.encode import csv_problem, json_objects, json_problem, plain_decimal, text_bytes, utc_rows
from laden.files.layout import Layout, check_relative, partition_segment
from laden.files.spec import Compression, CsvOptions, FileFormat, FileSpec, Quoting
from laden.files.store import OutputFile, Store
from laden.source import normalize_batch

__all__ = [
    "FormatWriter",
    "TableFiles",
    "new_writer",
    "output_schema",
    "partition_problem",
    "schema_problems",
    "split_partitions",
]

_QUOTING = {Quoting.NEEDED: "needed", Quoting.ALL: "all_valid", Quoting.NONE: "none"}
_PLAIN_DECIMAL_ABOVE_SCALE = 6


class FormatWriter(Protocol):
    def write(self, batch: pa.RecordBatch) -> None:
        """Append the rows of ``batch`` (of the schema the writer was made with)."""

    def close(self) -> None:
        """Finish the format (footer, closing bracket); the sink stays open."""


def output_schema(schema: pa.Schema, spec: FileSpec) -> tuple[pa.Schema, pa.Schema]:
    """``(source, files)``: the source schema with dictionary / view / large types folded (as
    :func:`laden.source.normalize_batch` folds batches), and the schema of the files: the same
    without the partition columns (they are in the path)."""
    empty = pa.RecordBatch.from_arrays([pa.nulls(0, f.type) for f in schema], schema=schema)
    normal = normalize_batch(empty).schema
    keep = [f for f in normal if f.name not in spec.partition_by]
    return normal, pa.schema(keep, metadata=normal.metadata)


def schema_problems(schema: pa.Schema, spec: FileSpec) -> list[str]:
    """``column 'x' (binary): why`` for every column the format cannot hold."""
    check = {FileFormat.CSV: csv_problem, FileFormat.JSONL: json_problem, FileFormat.JSON: json_problem}.get(
        spec.format
    )
    if check is None:
        return []
    return [f"column {f.name!r} ({f.type}): {problem}" for f in schema if (problem := check(f.type))]


def new_writer(spec: FileSpec, sink: pa.NativeFile, schema: pa.Schema) -> FormatWriter:
    """A writer of ``spec.format`` on ``sink`` (already compressed for text formats)."""
    if spec.format is FileFormat.PARQUET:
        return _ParquetWriter(sink, schema, spec.codec, spec.row_group_size)
    if spec.format is FileFormat.CSV:
        return _CsvWriter(sink, schema, spec.csv)
    return _JsonWriter(sink, array=spec.format is FileFormat.JSON)


class _ParquetWriter:
    def __init__(self, sink: pa.NativeFile, schema: pa.Schema, codec: Compression, row_group_size: int | None):
        self._schema = schema
        self._writer = pq.ParquetWriter(sink, schema, compression=codec.value)
        self._size = row_group_size
        self._pending: list[pa.RecordBatch] = []
        self._rows = 0

    def write(self, batch: pa.RecordBatch) -> None:
        if self._size is None:
            self._writer.write_batch(batch)
            return
        self._pending.append(batch)
        self._rows += batch.num_rows
        if self._rows >= self._size:
            self._flush(final=False)

    def _flush(self, final: bool) -> None:
        assert self._size is not None
        table = pa.Table.from_batches(self._pending, schema=self._schema)
        whole = table.num_rows if final else table.num_rows - table.num_rows % self._size
        if whole:
            self._writer.write_table(table.slice(0, whole), row_group_size=self._size)
        rest = table.slice(whole)
        self._pending, self._rows = rest.to_batches(), rest.num_rows

    def close(self) -> None:
        if self._pending:
            self._flush(final=True)
        self._writer.close()


class _CsvWriter:
    def __init__(self, sink: pa.NativeFile, schema: pa.Schema, options: CsvOptions) -> None:
        self._plain = [
            i for i, f in enumerate(schema) if pa.types.is_decimal(f.type) and f.type.scale > _PLAIN_DECIMAL_ABOVE_SCALE
        ]
        out = schema
        for i in self._plain:
            out = out.set(i, out.field(i).with_type(pa.string()))
        self._schema = out
        self._zoned = [i for i, f in enumerate(out) if pa.types.is_timestamp(f.type) and f.type.tz is not None]
        plain_names = not any(c in name for name in schema.names for c in (options.delimiter, '"', "\n", "\r"))
        self._options = {
            "delimiter": options.delimiter,
            "null_string": options.null,
            "quoting_style": _QUOTING[options.quoting],
            "quoting_header": _header_quoting(options.quoting, plain_names),
        }
        write = pacsv.WriteOptions(include_header=options.header, **self._options)
        self._sink = sink
        self._writer = pacsv.CSVWriter(sink, out, write_options=write)
        self._utc: tuple[pa.Schema, pacsv.CSVWriter] | None = None

    def write(self, batch: pa.RecordBatch) -> None:
        if self._plain:
            columns = list(batch.columns)
            for i in self._plain:
                columns[i] = plain_decimal(columns[i])
            batch = pa.RecordBatch.from_arrays(columns, schema=self._schema)
        masks = [m for i in self._zoned if (m := utc_rows(batch.column(i))) is not None]
        if not masks:
            self._writer.write_batch(batch)
            return
        # rows whose local form would lose the instant go through a second writer on the same sink
        # whose zoned columns are UTC (no header; pyarrow writes each batch through at once)
        utc = np.logical_or.reduce(masks)
        edges = [0, *(np.flatnonzero(np.diff(utc.astype(np.int8))) + 1).tolist(), len(utc)]
        for start, stop in itertools.pairwise(edges):
            part = batch.slice(start, stop - start)
            if utc[start]:
                self._write_utc(part)
            else:
                self._writer.write_batch(part)

    def _write_utc(self, part: pa.RecordBatch) -> None:
        if self._utc is None:
            schema = self._schema
            for i in self._zoned:
                schema = schema.set(i, schema.field(i).with_type(pa.timestamp(schema.field(i).type.unit, "UTC")))
            options = pacsv.WriteOptions(include_header=False, **self._options)
            self._utc = schema, pacsv.CSVWriter(self._sink, schema, write_options=options)
        schema, writer = self._utc
        columns = [c.cast(f.type) for c, f in zip(part.columns, schema, strict=True)]
        writer.write_batch(pa.RecordBatch.from_arrays(columns, schema=schema))

    def close(self) -> None:
        if self._utc is not None:
            self._utc[1].close()
        self._writer.close()


def _header_quoting(quoting: Quoting, plain_names: bool) -> str:
    """pyarrow's "needed" quotes every header name: with quoting "needed", quote them only when one needs it."""
    if quoting is Quoting.NONE or (quoting is Quoting.NEEDED and plain_names):
        return "none"
    return "needed"


class _JsonWriter:
    def __init__(self, sink: pa.NativeFile, *, array: bool) -> None:
        self._sink, self._array, self._rows = sink, array, 0
        if array:
            sink.write(b"[")

    def write(self, batch: pa.RecordBatch) -> None:
        objects = json_objects(batch)
        if not self._array:
            self._sink.write(text_bytes(objects, "\n"))
        else:  # "[" row (",\n" row)* "\n]": no separator after the last row, across batches
            self._sink.write(b",\n" if self._rows else b"\n")
            data = text_bytes(objects, ",\n")
            self._sink.write(data.slice(0, data.size - 2))
        self._rows += batch.num_rows

    def close(self) -> None:
        if self._array:
            self._sink.write(b"\n]\n" if self._rows else b"]\n")


# -- the files of one table ------------------------------------------------------------------------

#: open partition files per table; past this the least recently written one is finished, and
#: its partition gets a new part file if more of its rows come (bounds memory and descriptors)
MAX_OPEN_FILES = 64


def partition_problem(t: pa.DataType) -> str | None:
    """Why a column of type ``t`` cannot be a ``partition_by`` column, or None."""
    ok = (pa.types.is_string, pa.types.is_integer, pa.types.is_boolean, pa.types.is_date, pa.types.is_timestamp)
    if any(check(t) for check in ok) or pa.types.is_decimal(t):
        return None
    return "partition by text, integer, boolean, date, timestamp or decimal columns"


def _partition_text(array: pa.Array) -> pa.Array:
    if pa.types.is_decimal(array.type):
        return plain_decimal(array)
    return array.cast(pa.string())


def split_partitions(
    batch: pa.RecordBatch, columns: tuple[str, ...]
) -> Iterator[tuple[tuple[str | None, ...], pa.RecordBatch]]:
    """The rows of ``batch`` grouped by the text of their partition values (NULL: None).

    Vectorised: each column is dictionary-encoded, the code tuples are grouped with numpy,
    and the batch is reordered once with ``take``; Python sees one key per group only.
    """
    codes, dictionaries = [], []
    for name in columns:
        encoded = pc.dictionary_encode(_partition_text(batch.column(name)), null_encoding="encode")
        codes.append(encoded.indices.to_numpy(zero_copy_only=False))
        dictionaries.append(encoded.dictionary.to_pylist())
    stacked = np.stack(codes, axis=1)
    groups, inverse = np.unique(stacked, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    if len(groups) == 1:
        yield tuple(d[i] for d, i in zip(dictionaries, groups[0], strict=True)), batch
        return
    order = np.argsort(inverse, kind="stable")
    ends = np.cumsum(np.bincount(inverse, minlength=len(groups)))
    ordered = batch.take(pa.array(order))
    start = 0
    for group, end in zip(groups, ends, strict=True):
        yield tuple(d[i] for d, i in zip(dictionaries, group, strict=True)), ordered.slice(start, int(end) - start)
        start = int(end)


@dataclass
class _Open:
    file: OutputFile
    writer: FormatWriter


@dataclass
class TableFiles:
    """Writes one table into the staging area: one file, or one per partition (Hive layout).

    ``files`` lists ``(staged path, final path)`` of every file written, relative to the root.
    """

    store: Store
    spec: FileSpec
    table: str
    schema: pa.Schema
    staging: str
    files: list[tuple[str, str]] = field(default_factory=list)
    _open: OrderedDict[str, _Open] = field(default_factory=OrderedDict)

    def write(self, batch: pa.RecordBatch) -> None:
        """Write a batch of the table (all columns; partition columns are dropped here)."""
        if self.spec.layout is not Layout.HIVE:
            self._file("").writer.write(batch)
            return
        names = self.schema.names
        for key, rows in split_partitions(batch, self.spec.partition_by):
            directory = "/".join(partition_segment(c, v) for c, v in zip(self.spec.partition_by, key, strict=True))
            self._file(directory).writer.write(rows.select(names))

    def _file(self, partition: str) -> _Open:
        found = self._open.get(partition)
        if found is not None:
            self._open.move_to_end(partition)
            return found
        if len(self._open) >= MAX_OPEN_FILES:
            _, oldest = self._open.popitem(last=False)
            _finish(oldest)
        part = uuid.uuid4().hex if self.spec.layout is not Layout.SINGLE else ""
        final = check_relative(self.spec.template.render(self.table, self.spec.extension, part, partition))
        staged = f"{self.staging}/{final}"
        file = self.store.open(staged)
        self.files.append((staged, final))
        try:
            opened = _Open(file, new_writer(self.spec, file.stream, self.schema))
        except BaseException:
            file.abort()
            raise
        self._open[partition] = opened
        return opened

    def close(self) -> None:
        """Finish every open file. A table without rows still gets its file, except in the Hive layout."""
        if not self.files and self.spec.layout is not Layout.HIVE:
            self._file("")
        while self._open:
            _, opened = self._open.popitem(last=False)
            _finish(opened)

    def abort(self) -> None:
        """Close what is open, ignoring errors (the staging area is removed afterwards)."""
        while self._open:
            _, opened = self._open.popitem(last=False)
            with contextlib.suppress(Exception):
                opened.writer.close()  # else pyarrow's finaliser writes a footer to a closed stream
            opened.file.abort()


def _finish(opened: _Open) -> None:
    try:
        opened.writer.close()
    except BaseException:
        opened.file.abort()
        raise
    opened.file.close()
