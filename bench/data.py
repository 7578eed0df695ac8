"""Deterministic benchmark data: the 8-column table of issue 3, as Parquet (and CSV).

Rows are generated in chunks of ``CHUNK`` rows, chunk ``k`` from the seed ``(SEED, k)``,
so a smaller file is a prefix of a larger one: every row count loads the same rows.
Files are cached by row count in the cache directory and reused across runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from bench.loaders import write_mysql_csv

SEED = 20240603
CHUNK = 1_000_000
FORMAT = "v1"  # bump when the generator changes, so stale cached files are not reused
ALPHABET = np.frombuffer(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", dtype=np.uint8)
TS_START_US = 1_577_836_800_000_000  # 2020-01-01
TS_SPAN_US = 5 * 365 * 86_400 * 1_000_000

SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("a", pa.int64()),
        ("s1", pa.string()),
        ("s2", pa.string()),
        ("f", pa.float64()),
        ("ts", pa.timestamp("us")),
        ("b", pa.bool_()),
        ("i", pa.int32()),
    ]
)
COLUMNS = tuple(SCHEMA.names)


def _strings(rng: np.random.Generator, n: int) -> pa.Array:
    """n random alphanumeric strings of 5..12 characters, built straight into Arrow buffers."""
    lengths = rng.integers(5, 13, size=n, dtype=np.int32)
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    chars = ALPHABET[rng.integers(0, len(ALPHABET), size=int(offsets[-1]), dtype=np.uint8)]
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(chars.tobytes()))


def make_chunk(first_id: int, n: int, seed: tuple[int, ...]) -> pa.Table:
    rng = np.random.default_rng(seed)
    ts = TS_START_US + rng.integers(0, TS_SPAN_US, size=n, dtype=np.int64)
    columns = [
        pa.array(np.arange(first_id, first_id + n, dtype=np.int64)),
        pa.array(rng.integers(-(2**62), 2**62, size=n, dtype=np.int64)),
        _strings(rng, n),
        _strings(rng, n),
        pa.array(rng.standard_normal(n) * 1e6),
        pa.array(ts, type=pa.timestamp("us")),
        pa.array(rng.random(n) < 0.5),
        pa.array(rng.integers(-(2**31), 2**31, size=n, dtype=np.int32)),
    ]
    return pa.Table.from_arrays(columns, schema=SCHEMA)


def _chunks(rows: int, seed: int) -> Iterator[pa.Table]:
    for k, start in enumerate(range(0, rows, CHUNK)):
        table = make_chunk(start, CHUNK, (seed, k))
        yield table.slice(0, min(CHUNK, rows - start))


def _write(path: Path, chunks: Iterator[pa.Table]) -> Path:
    tmp = path.with_suffix(".tmp")
    with pq.ParquetWriter(tmp, SCHEMA) as writer:
        for chunk in chunks:
            writer.write_table(chunk)
    tmp.replace(path)
    return path


def dataset(cache: Path, rows: int) -> Path:
    """bench-{rows}.parquet: ids 0..rows-1, generated once and cached."""
    path = cache / f"bench-{FORMAT}-{rows}.parquet"
    if not path.exists():
        cache.mkdir(parents=True, exist_ok=True)
        _write(path, _chunks(rows, SEED))
    return path


def dataset_csv(cache: Path, rows: int) -> Path:
    """The same rows as CSV, written the way the MariaDB raw path writes it."""
    path = cache / f"bench-{FORMAT}-{rows}.csv"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        write_mysql_csv(str(dataset(cache, rows)), str(tmp))
        tmp.replace(path)
    return path


def upsert_dataset(cache: Path, rows: int) -> Path:
    """upsert-{rows}.parquet: `rows` rows for a table holding ids 0..rows-1.

    Half are existing ids (every even id, with new values), half new ids (rows, rows+1, ...),
    in a shuffled order. Upserting it leaves ``upsert_final_rows(rows)`` rows (1.5 × rows).
    """
    path = cache / f"upsert-{FORMAT}-{rows}.parquet"
    if path.exists():
        return path
    cache.mkdir(parents=True, exist_ok=True)
    existing = np.arange(0, rows, 2, dtype=np.int64)
    new = np.arange(rows, rows + (rows - len(existing)), dtype=np.int64)
    ids = np.concatenate([existing, new])
    np.random.default_rng((SEED, 1_000_000)).shuffle(ids)
    table = make_chunk(0, rows, (SEED, 2_000_000)).set_column(0, "id", pa.array(ids))
    return _write(path, iter([table]))


def upsert_final_rows(rows: int) -> int:
    return rows + (rows - len(range(0, rows, 2)))
