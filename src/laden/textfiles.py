"""CSV and JSON Lines files, streamed block by block, each row numbered.

Rows are numbered from 1, the first data row (a CSV header is not a data row; blank lines are
not rows). A row that cannot become a row of the table is not a reason to fail the whole file:

* a CSV row with more or fewer fields than the header (found by pyarrow's parser, which calls
  back for it and skips it);
* a value whose bytes are not UTF-8 (CSV is read as binary and checked batch by batch, one
  vectorised validation per column; JSON Lines strings are checked the same way).

Such rows come out as :class:`BadSourceRow` beside the good rows around them, in a
:class:`NumberedBatch`; the loader rejects them or fails naming them. Good data never runs
per-row Python: the per-row work is for bad rows only.

What cannot be isolated is an error for the whole file: a quote opened and never closed (the
rest of the file would be one value), a row larger than 1 GiB, malformed JSON, and a CSV row
with both the wrong number of fields and bytes that are not UTF-8 (pyarrow fails decoding its
text before it can hand the row over, and says so on stderr).
"""

from __future__ import annotations

import collections
import contextlib
import csv
import io
import os
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson

from laden.errors import SourceError
from laden.jsondepth import MAX_DEPTH, too_deep

__all__ = ["BadSourceRow", "NumberedBatch", "TextFile", "text_file"]

# CSV / JSON block size, grown (x4) when a row does not fit. pyarrow reads up to 32 blocks ahead
# on a background thread (whatever the consumer's speed), so this bounds memory: keep it small.
_BLOCK_SIZE = 1 << 20
_MAX_BLOCK_SIZE = 1 << 30
_REENCODE = "the file must be UTF-8: re-encode it (e.g. iconv -f latin1 -t utf-8)"
_UNCLOSED = (
    "a quoted value is never closed, so the rest of the file would be read as one value; add the missing "
    'closing " (or double a " inside a quoted value: "")'
)

RowNumbers = np.ndarray[Any, np.dtype[np.int64]]


@dataclass(frozen=True, slots=True)
class BadSourceRow:
    """A row of a file that cannot become a row of the table: why, and what it held."""

    #: 1-based data row of the file
    row: int
    #: the column at fault, when there is one
    column: str | None
    reason: str
    #: the row's values as far as they could be read (bytes that are not UTF-8 shown as ``\\xe9``)
    values: dict[str, Any] = field(default_factory=dict)
    #: the row as it stands in the file, when it could not be split into the table's columns
    text: str | None = None

    def describe(self, path: str) -> str:
        where = f"{path}: data row {self.row}" + (f", column {self.column!r}" if self.column else "")
        return f"{where}: {self.reason}"


@dataclass(frozen=True, slots=True)
class NumberedBatch:
    """Rows of a source with their 1-based source row numbers, and the bad rows among them.

    ``bad`` holds the rows that could not be read, numbered before ``rows[-1]`` (in the last
    batch of a source: all that remain), in row order; ``batch`` may be empty when only bad rows
    remain.
    """

    batch: pa.RecordBatch
    rows: RowNumbers
    bad: tuple[BadSourceRow, ...] = ()


class _BlockTooSmall(Exception):
    """A CSV / JSON row does not fit into one block; retry with a bigger block."""


class _Numbering:
    """Gives a file's rows their data row numbers, around the rows its parser set aside.

    pyarrow calls :meth:`skip` (from C++, possibly on its read-ahead thread) for each CSV row
    with the wrong number of fields, with the row's record number (header = 1): it only
    collects. A batch's rows are the next row numbers that were not set aside.
    """

    def __init__(self) -> None:
        self.next = 1
        self._reported: collections.deque[tuple[int, int, int, str]] = collections.deque()
        self._seen = 0  # a re-read (bigger blocks) reports the same rows again
        self._pending: list[BadSourceRow] = []

    def skip(self, row: Any) -> str:
        self._reported.append((row.number, row.expected_columns, row.actual_columns, row.text))
        return "skip"

    def _take(self) -> None:
        while self._reported:
            number, expected, actual, text = self._reported.popleft()
            if number - 1 > self._seen:
                self._seen = number - 1
                reason = f"expected {expected} fields, found {actual}"
                self._pending.append(BadSourceRow(number - 1, None, reason, {}, text))

    def number(self, n: int) -> tuple[RowNumbers, list[BadSourceRow]]:
        """Numbers for the next ``n`` good rows, and the bad rows numbered before the last of them."""
        self._take()
        start = self.next
        if not self._pending:
            rows = np.arange(start, start + n, dtype=np.int64)
        else:
            bad = np.array([b.row for b in self._pending], dtype=np.int64)
            candidates = np.arange(start, start + n + len(bad), dtype=np.int64)
            rows = candidates[~np.isin(candidates, bad)][:n]
        if n == 0:
            return rows, []
        last = int(rows[-1])
        self.next = last + 1
        k = next((i for i, b in enumerate(self._pending) if b.row > last), len(self._pending))
        done, self._pending = self._pending[:k], self._pending[k:]
        return rows, done

    def rest(self) -> list[BadSourceRow]:
        """At the end of the file: the bad rows after the last good one."""
        self._take()
        done, self._pending = self._pending, []
        return done


class _Tail:
    """A file-like view of a stream that keeps the last ``keep`` bytes read (and a bit more).

    pyarrow reads a compressed file once, through this; at the end its last bytes are at hand
    without decompressing the file again.
    """

    closed = False

    def __init__(self, stream: Any, keep: int) -> None:
        self._stream, self._keep = stream, keep
        self._chunks: collections.deque[bytes] = collections.deque()
        self._size = 0

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        data: bytes = self._stream.read(n)
        if data:
            self._chunks.append(data)
            self._size += len(data)
            while self._size - len(self._chunks[0]) >= self._keep:
                self._size -= len(self._chunks.popleft())
        return data

    def last(self, n: int) -> bytes | None:
        """The last ``n`` bytes read, or None when fewer were kept."""
        if n > self._size:
            return None
        return b"".join(self._chunks)[-n:] if n else b""


@dataclass
class _Open:
    reader: Any
    tail: _Tail | None


class TextFile(ABC):
    """A CSV or JSON Lines file read with pyarrow's block-wise streaming readers.

    A row larger than about two blocks makes pyarrow fail ("straddling object"); then the
    block size is grown and the file re-read, skipping the rows already yielded.
    """

    what = ""
    #: keep the last bytes of a compressed file while reading it (for :meth:`_check_end`)
    keeps_tail = False

    def __init__(self, path: str, fmt: str, compression: str | None) -> None:
        self.path, self.fmt, self.compression = path, fmt, compression
        self.block_size = _BLOCK_SIZE
        self._schema: pa.Schema | None = None

    # -- per format -------------------------------------------------------------------------
    @abstractmethod
    def _open(self, stream: Any, schema: pa.Schema | None, numbering: _Numbering | None) -> Any:
        """A streaming reader; with ``schema=None`` the reader used to discover the schema."""

    @abstractmethod
    def _hint(self, message: str, rows: int) -> str:
        """What to do about pyarrow's ``message`` (``rows``: data rows read before it)."""

    @abstractmethod
    def _final_schema(self, schema: pa.Schema) -> pa.Schema:
        """The schema the table gets from the one pyarrow inferred."""

    def _as_read(self, column: pa.Array) -> pa.Array:
        """A column as the table gets it (CSV: binary seen as string, once checked)."""
        return column

    def _check_end(self, end: _Open, last: pa.RecordBatch | None, row: int) -> None:  # noqa: B027 - optional hook
        """After the last batch: a chance to refuse a file whose end is not what it should be."""

    def _check_rest(self, rest: list[BadSourceRow]) -> None:  # noqa: B027 - optional hook
        """The bad rows after the last good one: a chance to refuse the file instead."""

    # -- reading ----------------------------------------------------------------------------
    @contextlib.contextmanager
    def _errors(self, rows: int) -> Iterator[None]:
        try:
            yield
        except (pa.ArrowException, OSError) as exc:
            message = str(exc)
            if "straddling object" in message:
                raise _BlockTooSmall(message) from exc
            if message.startswith("Empty") and rows == 0:
                needs = "at least one row" if self.fmt == "jsonl" else "a header line"
                raise SourceError(f"{self.path}: the file is empty; a {self.what} file needs {needs}") from exc
            raise SourceError(f"{self.path}: cannot read {self.what}: {self._hint(message, rows)}") from exc
        except UnicodeDecodeError as exc:  # pyarrow decoding column names
            names = "header line" if self.fmt != "jsonl" else "column names (keys)"
            raise SourceError(f"{self.path}: the {names} is not valid UTF-8 ({exc}); {_REENCODE}") from exc

    @contextlib.contextmanager
    def _reader(self, schema: pa.Schema | None, numbering: _Numbering | None) -> Iterator[_Open]:
        """An open reader; the caller must not keep other references to ``.reader``.

        pyarrow's readers read ahead on a background thread; destroying the reader waits for it.
        Closing the file first would let a late read hit a re-used file descriptor.
        """
        with self._errors(0):
            stream = pa.input_stream(self.path, compression=self.compression)
        # a row fits in about two blocks (else "straddling"): keeping three holds the last row whole
        keep = self.keeps_tail and self.compression is not None and schema is not None
        tail = _Tail(stream, 3 * self.block_size) if keep else None
        opened = _Open(None, tail)
        try:
            with self._errors(0):
                opened.reader = self._open(stream if tail is None else tail, schema, numbering)
            yield opened
        finally:
            opened.reader = None
            stream.close()

    def _grow(self) -> None:
        if self.block_size >= _MAX_BLOCK_SIZE:
            raise SourceError(f"{self.path}: a row is larger than {_MAX_BLOCK_SIZE >> 20} MiB")
        self.block_size *= 4

    def schema(self) -> pa.Schema:
        while self._schema is None:
            try:
                with self._reader(None, None) as opened, self._errors(0):
                    self._schema = self._final_schema(opened.reader.schema)
            except _BlockTooSmall:
                self._grow()
        return self._schema

    def batches(self, batch_size: int) -> Iterator[pa.RecordBatch]:
        """The good rows; the first bad row is a :class:`SourceError` naming file, row and reason."""
        for item in self.numbered(batch_size):
            if item.bad:
                raise SourceError(f"{item.bad[0].describe(self.path)}; {self._fix(item.bad[0])}")
            yield item.batch

    def _fix(self, bad: BadSourceRow) -> str:
        if bad.column is None:
            return "check the delimiter and quoting (every row needs one field per column)"
        return "load with on_error='reject' to set such rows aside"

    def numbered(self, _batch_size: int) -> Iterator[NumberedBatch]:
        schema, numbering, done = self.schema(), _Numbering(), 0
        while True:
            skip = done
            try:
                for batch in self._read(schema, numbering):
                    if skip >= batch.num_rows:
                        skip -= batch.num_rows
                        continue
                    batch, skip = batch.slice(skip), 0
                    done += batch.num_rows
                    rows, bad = numbering.number(batch.num_rows)
                    yield self._checked(batch, rows, bad)
                break
            except _BlockTooSmall:
                self._grow()
        rest = numbering.rest()
        if rest:
            self._check_rest(rest)
            empty = pa.RecordBatch.from_pylist([], schema=schema)
            yield NumberedBatch(empty, np.zeros(0, dtype=np.int64), tuple(rest))

    def _read(self, schema: pa.Schema, numbering: _Numbering) -> Iterator[pa.RecordBatch]:
        rows, last = 0, None
        with self._reader(schema, numbering) as opened:
            while True:
                with self._errors(rows):
                    batch = next(opened.reader, None)
                if batch is None:
                    self._check_end(opened, last, numbering.next - 1)
                    return
                rows += batch.num_rows
                last = batch if batch.num_rows else last
                yield batch

    def _checked(self, batch: pa.RecordBatch, rows: RowNumbers, bad: list[BadSourceRow]) -> NumberedBatch:
        """The batch as read, less the rows holding bytes that are not UTF-8 (one validation per column)."""
        names = batch.schema.names
        columns = [self._as_read(c) for c in batch.columns]
        invalid: dict[int, str] = {}
        for name, column in zip(names, columns, strict=True):
            if not _valid(column):
                for i in _invalid_rows(column, 0, len(column)):
                    invalid.setdefault(i, name)
        result = pa.RecordBatch.from_arrays(columns, names=names)
        if not invalid:
            return NumberedBatch(result, rows, tuple(bad))
        keep = np.ones(len(rows), dtype=bool)
        keep[list(invalid)] = False
        for i, name in invalid.items():
            reason = f"not valid UTF-8{_where_invalid(batch.column(name), i)}; {_REENCODE}"
            bad.append(BadSourceRow(int(rows[i]), name, reason, _row_values(batch, i)))
        bad.sort(key=lambda b: b.row)
        return NumberedBatch(result.filter(pa.array(keep)), rows[keep], tuple(bad))


def _valid(column: pa.Array) -> bool:
    try:
        column.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def _invalid_rows(column: pa.Array, lo: int, hi: int) -> list[int]:
    """Rows of ``column[lo:hi]`` that fail validation, found by halving (only for bad batches)."""
    if hi - lo > 1 and _valid(column.slice(lo, hi - lo)):
        return []
    if hi - lo == 1:
        return [] if _valid(column.slice(lo, 1)) else [lo]
    mid = (lo + hi) // 2
    return _invalid_rows(column, lo, mid) + _invalid_rows(column, mid, hi)


def _raw(column: pa.Array, i: int) -> bytes | None:
    """The bytes of row ``i`` of a string or binary column (None: null, or another type)."""
    if pa.types.is_string(column.type):
        column = column.view(pa.binary())
    value: bytes | None = column[i].as_py() if pa.types.is_binary(column.type) else None
    return value


def _where_invalid(column: pa.Array, i: int) -> str:
    raw = _raw(column, i)
    if raw is None:
        return ""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[max(0, exc.start - 20) : exc.start].decode("utf-8", "backslashreplace")
        return f" (byte 0x{raw[exc.start]:02X} after {before!r})"
    return ""


def _row_values(batch: pa.RecordBatch, i: int) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, column in zip(batch.schema.names, batch.columns, strict=True):
        raw = _raw(column, i)
        if raw is not None:
            values[name] = raw.decode("utf-8", "backslashreplace")
            continue
        try:
            values[name] = column[i].as_py()
        except UnicodeDecodeError:
            values[name] = "<not valid UTF-8>"
    return values


class _CsvFile(TextFile):
    what = "CSV"
    keeps_tail = True

    def _open(self, stream: Any, schema: pa.Schema | None, numbering: _Numbering | None) -> Any:
        read = pacsv.ReadOptions(block_size=self.block_size, use_threads=False)  # threads: no row numbers
        skip = numbering.skip if numbering is not None else _skip
        parse = pacsv.ParseOptions(delimiter=self._delimiter, newlines_in_values=True, invalid_row_handler=skip)
        if schema is None:
            return pacsv.open_csv(stream, read_options=read, parse_options=parse)
        convert = pacsv.ConvertOptions(
            column_types={name: pa.binary() for name in schema.names},  # UTF-8 checked per batch
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
            null_values=[""],
        )
        return pacsv.open_csv(stream, read_options=read, parse_options=parse, convert_options=convert)

    @property
    def _delimiter(self) -> str:
        return "\t" if self.fmt == "tsv" else ","

    def _as_read(self, column: pa.Array) -> pa.Array:
        return column.view(pa.string())

    def _check_end(self, end: _Open, last: pa.RecordBatch | None, row: int) -> None:
        """A quote opened and never closed makes pyarrow read the rest of the file as one value.

        Then that value runs to the very end of the file, right after an opening quote: compare
        the file's last bytes with the last row's last value (quotes doubled, as in the file).
        A compressed file's last bytes were kept while it was read.
        """
        if last is None:
            return
        value = last.column(last.num_columns - 1)[last.num_rows - 1].as_py()
        if not value:
            return
        raw = b'"' + value.replace(b'"', b'""')
        if end.tail is not None:
            tail = end.tail.last(len(raw))
        else:
            with open(self.path, "rb") as f:
                f.seek(max(0, os.path.getsize(self.path) - len(raw)))
                tail = f.read()
        if tail == raw:
            raise SourceError(f"{self.path}: data row {row}, column {last.schema.names[-1]!r}: {_UNCLOSED}")

    def _check_rest(self, rest: list[BadSourceRow]) -> None:
        """A row with the wrong number of fields that ends inside a quoted value ended with the file:
        a quote opened there was never closed, and the rest of the file is in that row."""
        last = rest[-1]
        if last.text is None:
            return
        try:
            list(csv.reader(io.StringIO(last.text, newline=""), delimiter=self._delimiter, strict=True))
        except csv.Error as exc:
            if "unexpected end of data" not in str(exc):
                return
            fields = next(csv.reader(io.StringIO(last.text, newline=""), delimiter=self._delimiter), [""])
            names = self.schema().names
            column = f", column {names[len(fields) - 1]!r}" if len(fields) <= len(names) else ""
            raise SourceError(f"{self.path}: data row {last.row}{column}: {_UNCLOSED}") from None

    def _final_schema(self, schema: pa.Schema) -> pa.Schema:
        names = schema.names
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise SourceError(f"{self.path}: the header has duplicate column names: {', '.join(duplicates)}")
        return pa.schema([pa.field(name, pa.string()) for name in names])

    def _hint(self, message: str, rows: int) -> str:
        # pyarrow counts records with the header as #1: say data rows, as everywhere else
        message, found = re.subn(r"Row #(\d+)", lambda m: f"data row {int(m.group(1)) - 1}", message)
        where = f" (after data row {rows})" if rows and not found else ""
        if "Expected" in message and "columns" in message:
            return f"{message}{where}; check the delimiter and quoting (every row needs one field per column)"
        return f"{message}{where}"


def _skip(_row: Any) -> str:
    return "skip"


class _JsonFile(TextFile):
    what = "JSON Lines"

    def _open(self, stream: Any, schema: pa.Schema | None, numbering: _Numbering | None) -> Any:
        if schema is None:  # infer the column types from a bigger first block
            line = too_deep(self.path, self.compression)
            if line is not None:
                raise SourceError(
                    f"{self.path}: line {line}: objects and arrays are nested more than {MAX_DEPTH} deep; "
                    "flatten the data or store the deep part as a JSON string"
                )
            return pajson.open_json(stream, read_options=pajson.ReadOptions(block_size=4 * self.block_size))
        read = pajson.ReadOptions(block_size=self.block_size, use_threads=False)
        parse = pajson.ParseOptions(explicit_schema=schema, unexpected_field_behavior="error")
        return pajson.open_json(stream, read_options=read, parse_options=parse)

    def _final_schema(self, schema: pa.Schema) -> pa.Schema:
        try:
            schema.names  # noqa: B018 - a key that is not UTF-8 fails here, once
        except UnicodeDecodeError as exc:
            raise SourceError(f"{self.path}: a key is not valid UTF-8 ({exc}); re-encode the file as UTF-8") from exc
        return pa.schema([field.with_type(_json_type(field.type)) for field in schema])

    def _hint(self, message: str, rows: int) -> str:
        # pyarrow counts rows from the start of the failing block: make the number absolute.
        message = re.sub(r"in row (\d+)", lambda m: f"in data row {rows + int(m.group(1)) + 1}", message)
        if not re.search(r"changed from|unexpected field|Failed to convert", message):  # not JSON at all
            return f"{message}; every line must hold one complete JSON object"
        return (
            f"{message}; the column types of a JSON Lines file are inferred from its first "
            f"{(4 * self.block_size) >> 20} MiB and later values must fit them (same keys, same types): "
            "put representative rows first or convert the file to Parquet"
        )


def _json_type(t: pa.DataType) -> pa.DataType:
    """The type inferred for JSON, with timestamps (JSON has none) and all-null types as string."""
    if pa.types.is_null(t) or pa.types.is_timestamp(t):
        return pa.string()
    if pa.types.is_list(t):
        return pa.list_(t.value_field.with_type(_json_type(t.value_type)))
    if pa.types.is_struct(t):
        return pa.struct([field.with_type(_json_type(field.type)) for field in t])
    return t


def text_file(path: str, fmt: str, compression: str | None) -> TextFile:
    """The reader of a ``csv`` / ``tsv`` / ``jsonl`` file."""
    return _JsonFile(path, fmt, compression) if fmt == "jsonl" else _CsvFile(path, fmt, compression)
