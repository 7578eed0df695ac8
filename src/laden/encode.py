"""Column-wise text encoders for the databases' bulk paths.

PostgreSQL's ``COPY ... FROM STDIN`` (text format) and MySQL's ``LOAD DATA`` default
format are the same: fields separated by tabs, rows by newlines, ``\\N`` for NULL and
backslash escapes for ``\\``, tab, newline and carriage return. :func:`tab_separated`
builds that buffer with Arrow kernels only: each column becomes a string array, the
columns are joined element-wise, and the result's data buffer *is* the payload.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_HEX = np.array([f"{i:02x}".encode() for i in range(256)], dtype="S2").view(np.uint8).reshape(256, 2)
_ESCAPES = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"))
_NEEDS_ESCAPE = r"[\\\t\n\r]"
_SPECIAL = np.array([9, 10, 13, 92], dtype=np.uint8)

#: turns one prepared column into its text form (nulls stay null)
Formatter = Callable[[pa.Array], pa.Array]


def arrow_scalar(value: str | bytes, kind: pa.DataType | None = None) -> pa.Scalar:
    """A string (``str``) or binary (``bytes``) Arrow scalar built from buffers, of type ``kind``
    (default ``string`` / ``binary``; the large variants too). A kernel given a Python value
    converts it, and pyarrow's first conversion imports pandas (~0.25 s of every load): the bulk
    paths pass scalars made here instead."""
    return one_value_array(value, kind)[0]


def one_value_array(value: object, kind: pa.DataType | None = None) -> pa.Array:
    """A one-element Arrow array of ``value`` (None, bool, int, float, str, bytes) built from
    buffers (see :func:`arrow_scalar`); other values are converted by Arrow."""
    if value is None:
        return pa.nulls(1)
    if isinstance(value, bool | int) and -(2**63) <= value < 2**63:
        return int64_array(np.array([int(value)]))
    if isinstance(value, float):
        return pa.Array.from_buffers(pa.float64(), 1, [None, pa.py_buffer(np.array([value], dtype=np.float64))])
    if not isinstance(value, str | bytes):
        return pa.array([value])
    data = value.encode() if isinstance(value, str) else value
    kind = kind or (pa.string() if isinstance(value, str) else pa.binary())
    wide = pa.types.is_large_string(kind) or pa.types.is_large_binary(kind)
    offsets = pa.py_buffer(np.array([0, len(data)], dtype=np.int64 if wide else np.int32))
    return pa.Array.from_buffers(kind, 1, [None, offsets, pa.py_buffer(data)])


def int64_array(values: np.ndarray) -> pa.Array:
    """An int64 Arrow array over a numpy array (row numbers): ``pa.array`` would import pandas, see
    :func:`arrow_scalar`."""
    data = np.ascontiguousarray(values, dtype=np.int64)
    return pa.Array.from_buffers(pa.int64(), len(data), [None, pa.py_buffer(data)])


def valid_mask(a: pa.Array) -> np.ndarray | None:
    """Which values are set (None: no NULLs), unpacked from the validity bitmap with numpy: Arrow's
    ``to_numpy`` of a boolean array goes through its pandas conversion and imports pandas."""
    if a.null_count == 0:
        return None
    bits = np.frombuffer(a.buffers()[0], np.uint8)
    return np.unpackbits(bits, bitorder="little")[a.offset : a.offset + len(a)].astype(bool)


_TAB, _NEWLINE, _NOTHING = arrow_scalar("\t"), arrow_scalar("\n"), arrow_scalar("")


def hex_strings(a: pa.Array) -> pa.Array:
    """Binary -> lowercase hex string, vectorised through a 256-entry lookup table."""
    a = pc.cast(a, pa.binary())
    offsets = np.frombuffer(a.buffers()[1], dtype=np.int32, count=len(a) + 1, offset=a.offset * 4)
    data_buf = a.buffers()[2]
    start, end = int(offsets[0]), int(offsets[-1])
    data = np.frombuffer(data_buf, dtype=np.uint8)[start:end] if data_buf is not None else np.zeros(0, np.uint8)
    hexed = _HEX[data].reshape(-1)
    new_offsets = ((offsets - start) * 2).astype(np.int32)
    validity = pc.is_valid(a).buffers()[1] if a.null_count else None
    return pa.Array.from_buffers(
        pa.string(),
        len(a),
        [validity, pa.py_buffer(new_offsets), pa.py_buffer(hexed)],
        null_count=a.null_count,
    )


def _has_special_bytes(s: pa.Array) -> bool:
    """Any backslash, tab, newline or carriage return in the column? One pass over its bytes."""
    if pa.types.is_large_string(s.type) or s.offset:
        return bool(pc.any(pc.fill_null(pc.match_substring_regex(s, _NEEDS_ESCAPE), False)).as_py())
    data = s.buffers()[2]
    if data is None:
        return False
    offsets = np.frombuffer(s.buffers()[1], dtype=np.int32, count=len(s) + 1)
    raw = np.frombuffer(data, dtype=np.uint8)[offsets[0] : offsets[-1]]
    return bool(np.isin(raw, _SPECIAL).any())


def escape_text(s: pa.Array) -> pa.Array:
    """Backslash-escape a string column for the tab-separated text format."""
    if not pa.types.is_string(s.type) and not pa.types.is_large_string(s.type):
        return s
    if not _has_special_bytes(s):
        return s
    for old, new in _ESCAPES:
        s = pc.replace_substring(s, old, new)
    return s


def tab_separated(columns: Sequence[pa.Array], raw: Sequence[bool] | None = None, null: str = "\\N") -> pa.Buffer:
    """One buffer of tab-separated, newline-terminated rows; ``columns`` are already text.

    ``raw[i]`` says column i was text in the source (strings, JSON): only those can hold a
    character that needs escaping; numbers, dates and hex never do.
    """
    texts = [escape_text(c) if raw is None or raw[i] else c for i, c in enumerate(columns)]
    rows = pc.binary_join_element_wise(*texts, _TAB, null_handling="replace", null_replacement=null)
    lines = pc.binary_join_element_wise(rows, _NOTHING, _NEWLINE)
    if isinstance(lines, pa.ChunkedArray):
        lines = lines.combine_chunks()
    return _data_buffer(lines)


def _data_buffer(a: pa.Array) -> pa.Buffer:
    if pa.types.is_large_string(a.type):
        offsets = np.frombuffer(a.buffers()[1], dtype=np.int64, count=len(a) + 1, offset=a.offset * 8)
    else:
        offsets = np.frombuffer(a.buffers()[1], dtype=np.int32, count=len(a) + 1, offset=a.offset * 4)
    data = a.buffers()[2]
    if data is None:
        return pa.py_buffer(b"")
    return data.slice(int(offsets[0]), int(offsets[-1] - offsets[0]))


def sql_literals(a: pa.Array, kind: str) -> pa.Array:
    """SQL literal text for MySQL's multi-row INSERT fallback: NULL, numbers, 'quoted', X'hex'."""
    if kind == "binary":
        h = hex_strings(a)
        text = pc.binary_join_element_wise("X'", h, "'", "")
    elif kind == "text":
        s = pc.replace_substring(pc.replace_substring(a, "\\", "\\\\"), "'", "\\'")
        text = pc.binary_join_element_wise("'", s, "'", "")
    else:
        text = a
    return pc.fill_null(text, "NULL")


def rows_as_tuples(columns: Sequence[pa.Array]) -> pa.Array:
    """``(v1,v2,...)`` per row, from literal columns."""
    inner = pc.binary_join_element_wise(*columns, ",") if len(columns) > 1 else columns[0]
    return pc.binary_join_element_wise("(", inner, ")", "")


def join_rows(rows: pa.Array, sep: str = ",") -> str:
    """All strings of ``rows`` joined by ``sep``, through one buffer."""
    with_sep = pc.binary_join_element_wise(rows, "", sep)
    text: str = _data_buffer(with_sep).to_pybytes().decode("utf-8")
    return text[: -len(sep)] if text else text
