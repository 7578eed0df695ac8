"""An order-independent content checksum of Arrow batches, computed column-wise.

Each row hashes to 64 bits (every column's value hash mixed with its position); the checksum
is the row count and the sum of the row hashes modulo 2**64, so it does not depend on batch
boundaries or row order, and two windows' checksums add up to their union's. Values hash by
their Arrow representation: integers, floats (bit pattern), dates and timestamps (count of
their unit) directly; strings and binaries by a polynomial hash of their bytes; decimals and
other types through their text form. It is an audit checksum, not a cryptographic one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

ALGORITHM = "laden-rowsum64-v1"
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_NULL = np.uint64(0x9E3779B97F4A7C15)
_P = np.uint64(0x100000001B3)
_POWERS = np.cumprod(np.full(4096, _P, dtype=np.uint64), dtype=np.uint64)


def mix(x: Any) -> Any:
    """splitmix64's finaliser: every input bit affects every output bit."""
    x = x ^ (x >> np.uint64(30))
    x = x * _M1
    x = x ^ (x >> np.uint64(27))
    x = x * _M2
    return x ^ (x >> np.uint64(31))


def _bytes_hash(array: pa.Array) -> Any:
    """Per value: sum of (byte + 1) * P**(position mod 4096), then the length folded in."""
    array = array.cast(pa.large_binary())
    n = len(array)
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int64)[array.offset : array.offset + n + 1]
    data_buffer = array.buffers()[2]
    base = int(offsets[0])
    lengths = np.diff(offsets)
    out = lengths.astype(np.uint64) * _NULL
    total = int(offsets[-1]) - base
    if total:
        data = np.frombuffer(data_buffer, dtype=np.uint8)[base : base + total].astype(np.uint64)
        starts = offsets[:-1] - base
        pos = np.arange(total, dtype=np.int64) - np.repeat(starts, lengths)
        contrib = (data + np.uint64(1)) * _POWERS[pos % len(_POWERS)]
        nonempty = lengths > 0
        out[nonempty] += np.add.reduceat(contrib, starts[nonempty])
    return out


def column_hash(array: pa.Array) -> Any:
    """One well-mixed 64-bit hash per value (uint64 numpy array); NULL has a hash of its own."""
    t = array.type
    if pa.types.is_dictionary(t):
        array, t = array.cast(t.value_type), t.value_type
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_binary(t) or pa.types.is_large_binary(t):
        values = _bytes_hash(array.fill_null(b"" if "binary" in str(t) else ""))
    elif pa.types.is_boolean(t):
        values = array.fill_null(False).to_numpy(zero_copy_only=False).astype(np.uint64) + np.uint64(1)
    elif pa.types.is_floating(t):
        values = array.cast(pa.float64()).fill_null(0.0).to_numpy(zero_copy_only=False).view(np.uint64)
    elif pa.types.is_integer(t) or pa.types.is_temporal(t):
        if pa.types.is_integer(t):
            as_int = array.cast(pa.int64())
        else:  # dates, times, timestamps, durations: their count of units
            as_int = array.view(pa.int32() if t.bit_width == 32 else pa.int64()).cast(pa.int64())
        values = as_int.fill_null(0).to_numpy(zero_copy_only=False).view(np.uint64)
    elif pa.types.is_decimal(t):
        values = _bytes_hash(pc.cast(array, pa.string()).fill_null(""))
    else:  # nested and rare types: their text (row by row; never on a backfill's usual columns)
        values = _bytes_hash(pa.array([None if v is None else repr(v) for v in array.to_pylist()], pa.string()))
    values = mix(values)
    if array.null_count:
        valid = array.is_valid().to_numpy(zero_copy_only=False)
        values = np.where(valid, values, _NULL)
    return values


@dataclass
class Checksum:
    """Accumulates batches; ``str()`` is the value written to the manifest."""

    rows: int = 0
    total: int = 0

    def add(self, batch: pa.RecordBatch | pa.Table) -> None:
        if not batch.num_rows:
            return
        names = sorted(batch.schema.names)  # column order does not matter; names do
        row = np.zeros(batch.num_rows, dtype=np.uint64)
        for i, name in enumerate(names):
            column = batch.column(batch.schema.get_field_index(name))
            if isinstance(column, pa.ChunkedArray):
                column = column.combine_chunks()
            salt = np.uint64(_name_hash(name) + i)
            row = mix(row ^ (column_hash(column) + salt))
        self.rows += batch.num_rows
        self.total = (self.total + int(row.sum(dtype=np.uint64))) % (1 << 64)

    def __str__(self) -> str:
        return f"{self.rows}:{self.total:016x}"


def _name_hash(name: str) -> int:
    return int(_bytes_hash(pa.array([name]))[0])
