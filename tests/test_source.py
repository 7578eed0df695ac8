"""Tests for laden.source: inputs -> Dataset of re-iterable Arrow batch streams."""

from __future__ import annotations

import decimal
import gzip
import json
import os
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest

from laden.errors import SourceError, UsageError
from laden.source import SUPPORTED_SUFFIXES, Dataset, TableSource, as_dataset, normalize_batch

ROWS = pa.table(
    {
        "id": pa.array([1, 2, 3, 4, 5], pa.int64()),
        "name": pa.array(["a", None, "c", "d", "é"], pa.string()),
        "price": pa.array([1.5, 2.0, None, 4.25, 5.0], pa.float64()),
    }
)


def read_all(source: TableSource, batch_size: int = 1000) -> pa.Table:
    batches = list(source.batches(batch_size))
    assert all(0 < b.num_rows <= batch_size for b in batches)
    return pa.Table.from_batches(batches, schema=source.schema())


def only(ds: Dataset) -> TableSource:
    assert len(ds) == 1
    return next(iter(ds.values()))


def write_csv(path: Path, text: str | bytes) -> Path:
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


# -- each input kind gives the same rows -----------------------------------------------------------


def _inputs(tmp_path: Path) -> dict[str, Any]:
    import pandas as pd
    import polars as pl

    pq.write_table(ROWS, tmp_path / "rows.parquet")
    feather.write_feather(ROWS, tmp_path / "rows.feather")
    with pa.OSFile(str(tmp_path / "rows.arrow"), "wb") as sink, pa.ipc.new_stream(sink, ROWS.schema) as w:
        w.write_table(ROWS, max_chunksize=2)
    (tmp_path / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS.to_pylist()))
    return {
        "table": ROWS,
        "batch": ROWS.combine_chunks().to_batches()[0],
        "reader": pa.RecordBatchReader.from_batches(ROWS.schema, ROWS.to_batches(max_chunksize=2)),
        "pandas": pd.DataFrame(ROWS.to_pydict()),
        "polars": pl.DataFrame(ROWS.to_pydict()),
        "pylist": ROWS.to_pylist(),
        "pyarrow dataset": pads.dataset(tmp_path / "rows.parquet"),
        "parquet": tmp_path / "rows.parquet",
        "feather": str(tmp_path / "rows.feather"),
        "ipc stream": tmp_path / "rows.arrow",
        "jsonl": tmp_path / "rows.jsonl",
    }


@pytest.mark.parametrize(
    "kind",
    [
        *["table", "batch", "reader", "pandas", "polars", "pylist", "pyarrow dataset"],
        *["parquet", "feather", "ipc stream", "jsonl"],
    ],
)
def test_each_input_kind_gives_same_rows(tmp_path: Path, kind: str) -> None:
    data = _inputs(tmp_path)[kind]
    source = as_dataset(data, table="rows")["rows"]
    assert source.name == "rows"
    table = normalize_table(read_all(source, batch_size=2))
    assert table.select(ROWS.column_names).cast(ROWS.schema).equals(ROWS)


def normalize_table(table: pa.Table) -> pa.Table:
    return pa.Table.from_batches([normalize_batch(b) for b in table.to_batches()])


def test_origins(tmp_path: Path) -> None:
    import pandas as pd

    path = write_csv(tmp_path / "items.csv", "a\n1\n")
    ds = as_dataset({"orders": pd.DataFrame({"a": [1]}), "users": [{"a": 1}], "items": path})
    assert list(ds) == ["orders", "users", "items"]
    assert [s.origin for s in ds.values()] == ["DataFrame 'orders'", "list of dicts 'users'", str(path)]


def test_file_path_names_table_by_stem(tmp_path: Path) -> None:
    pq.write_table(ROWS, tmp_path / "orders.parquet")
    with gzip.open(tmp_path / "items.csv.gz", "wt") as f:
        f.write("a,b\n1,2\n")
    assert list(as_dataset(tmp_path / "orders.parquet")) == ["orders"]
    ds = as_dataset([str(tmp_path / "orders.parquet"), tmp_path / "items.csv.gz"])
    assert list(ds) == ["orders", "items"]
    assert list(as_dataset(tmp_path / "orders.parquet", table="o")) == ["o"]


def test_dataset_is_returned_as_is() -> None:
    ds = as_dataset(ROWS, table="t")
    assert as_dataset(ds) is ds
    assert isinstance(ds, Dataset) and ds.tables["t"] is ds["t"]


def test_batch_size_respected() -> None:
    big = pa.table({"x": pa.array(range(10_005))})
    batches = list(as_dataset(big, table="t")["t"].batches(1000))
    assert [b.num_rows for b in batches] == [1000] * 10 + [5]


def test_zero_row_batches_skipped() -> None:
    schema = pa.schema([("x", pa.int64())])
    table = pa.Table.from_batches([pa.record_batch([pa.array([], pa.int64())], schema=schema)] * 3, schema)
    assert list(as_dataset(table, table="t")["t"].batches(10)) == []


def test_bad_batch_size() -> None:
    with pytest.raises(UsageError, match="batch_size"):
        as_dataset(ROWS, table="t")["t"].batches(0)


def test_file_source_reiterable(tmp_path: Path) -> None:
    write_csv(tmp_path / "t.csv", "a,b\n" + "".join(f"{i},x{i}\n" for i in range(100)))
    source = only(as_dataset(tmp_path / "t.csv"))
    first, second = read_all(source, 7), read_all(source, 30)
    assert first.num_rows == 100 and first.equals(second)


# -- one-shot sources and spooling ---------------------------------------------------------------


def _reader() -> pa.RecordBatchReader:
    return pa.RecordBatchReader.from_batches(ROWS.schema, ROWS.to_batches(max_chunksize=2))


def test_reader_is_one_shot() -> None:
    source = as_dataset(_reader(), table="t")["t"]
    assert source.replayable is False
    assert read_all(source).equals(ROWS)
    with pytest.raises(SourceError, match=r"one-shot stream and was already read; use Dataset\.spooled\(\)"):
        source.batches(10)


def test_spooled_makes_reader_replayable(tmp_path: Path) -> None:
    ds = as_dataset({"t": _reader(), "u": ROWS})
    spooled = ds.spooled(str(tmp_path))
    assert spooled["t"].replayable and spooled["u"] is ds["u"]
    assert read_all(spooled["t"], 3).equals(ROWS)
    assert list(tmp_path.iterdir())  # a spool directory was created
    assert read_all(spooled["t"], 1).equals(ROWS)
    assert read_all(spooled["t"], 100).equals(ROWS)
    spooled.close()
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(SourceError, match="closed"):
        list(spooled["t"].batches(10))


def test_spool_resumes_after_early_stop(tmp_path: Path) -> None:
    with as_dataset(_reader(), table="t").spooled(str(tmp_path)) as ds:
        first = ds["t"].batches(1)
        assert next(first).num_rows == 1
        first.close()  # stop after one row
        assert read_all(ds["t"]).equals(ROWS)
        assert read_all(ds["t"]).equals(ROWS)
    assert list(tmp_path.iterdir()) == []


def test_spool_failure_is_not_replayed_as_complete(tmp_path: Path) -> None:
    def failing() -> Any:
        yield ROWS.to_batches(max_chunksize=2)[0]
        raise pa.ArrowInvalid("boom")

    reader = pa.RecordBatchReader.from_batches(ROWS.schema, failing())
    with as_dataset(reader, table="t").spooled(str(tmp_path)) as ds:
        with pytest.raises(SourceError, match="boom"):
            list(ds["t"].batches(10))
        with pytest.raises(SourceError, match=r"failed while being read: .*boom"):
            list(ds["t"].batches(10))


def test_spooled_without_one_shot_sources(tmp_path: Path) -> None:
    ds = as_dataset(ROWS, table="t").spooled(str(tmp_path))
    assert ds["t"].replayable and list(tmp_path.iterdir()) == []


# -- directories and lists of paths ---------------------------------------------------------------


def test_directory_tables_by_stem_sorted(tmp_path: Path) -> None:
    write_csv(tmp_path / "b.csv", "x\n1\n")
    pq.write_table(ROWS, tmp_path / "a.parquet")
    (tmp_path / "c.jsonl").write_text('{"y": 1}\n')
    (tmp_path / "README.md").write_text("not data")
    (tmp_path / "sub").mkdir()
    write_csv(tmp_path / "sub" / "d.csv", "x\n1\n")
    ds = as_dataset(tmp_path)
    assert list(ds) == ["a", "b", "c"]
    assert read_all(ds["a"]).equals(ROWS)


def test_duplicate_stems_error(tmp_path: Path) -> None:
    write_csv(tmp_path / "orders.csv", "x\n1\n")
    pq.write_table(ROWS, tmp_path / "orders.parquet")
    with pytest.raises(SourceError) as info:
        as_dataset(str(tmp_path))
    message = str(info.value)
    assert "'orders'" in message
    assert str(tmp_path / "orders.csv") in message and str(tmp_path / "orders.parquet") in message


def test_duplicate_names_in_path_list(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    write_csv(tmp_path / "t.csv", "a\n1\n")
    write_csv(tmp_path / "x" / "t.csv", "a\n1\n")
    with pytest.raises(SourceError, match="two inputs map to table 't'"):
        as_dataset([tmp_path / "t.csv", tmp_path / "x"])


def test_unknown_suffix_error(tmp_path: Path) -> None:
    path = tmp_path / "data.xlsx"
    path.write_bytes(b"x")
    with pytest.raises(SourceError) as info:
        as_dataset(path)
    assert str(info.value) == (
        f"{path}: unknown file type; supported suffixes: .parquet, .pq, .csv, .tsv, .jsonl, .ndjson, "
        ".arrow, .feather, .ipc (.csv, .tsv, .jsonl and .ndjson may be compressed: .gz, .bz2, .zst, .lz4)"
    )
    assert SUPPORTED_SUFFIXES in str(info.value)


def test_missing_path_error(tmp_path: Path) -> None:
    path = tmp_path / "nope.csv"
    with pytest.raises(SourceError) as info:
        as_dataset(path)
    assert str(info.value) == f"{path}: no such file or directory; supported suffixes: {SUPPORTED_SUFFIXES}"


def test_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot tell the table name"):
        as_dataset(ROWS)
    with pytest.raises(UsageError, match="unsupported input for table 't'"):
        as_dataset(iter(ROWS.to_batches()), table="t")
    with pytest.raises(UsageError, match="empty"):
        as_dataset({})
    with pytest.raises(SourceError, match="is a directory"):
        as_dataset(tmp_path, table="t")


# -- CSV -------------------------------------------------------------------------------------------


def test_csv_null_vs_empty_string(tmp_path: Path) -> None:
    write_csv(tmp_path / "t.csv", 'a,b,c\n1,,""\n,"",x\n')
    table = read_all(only(as_dataset(tmp_path / "t.csv")))
    assert table.to_pydict() == {"a": ["1", None], "b": [None, ""], "c": ["", "x"]}


def test_csv_all_columns_string(tmp_path: Path) -> None:
    write_csv(tmp_path / "t.csv", "i,f,d,b\n1,1.5,2024-01-01,true\n")
    source = only(as_dataset(tmp_path / "t.csv"))
    assert source.schema() == pa.schema([(n, pa.string()) for n in "ifdb"])
    assert read_all(source).to_pylist() == [{"i": "1", "f": "1.5", "d": "2024-01-01", "b": "true"}]


def test_csv_bom_crlf_unicode_header(tmp_path: Path) -> None:
    text = '\ufeffid,"na,me",prix (€),"say ""hi"""\r\n1,a,2,x\r\n2,"b\r\nc",,y\r\n'
    write_csv(tmp_path / "t.csv", text)
    table = read_all(only(as_dataset(tmp_path / "t.csv")))
    assert table.column_names == ["id", "na,me", "prix (€)", 'say "hi"']
    assert table.to_pydict() == {
        "id": ["1", "2"],
        "na,me": ["a", "b\r\nc"],
        "prix (€)": ["2", None],
        'say "hi"': ["x", "y"],
    }


def test_tsv(tmp_path: Path) -> None:
    write_csv(tmp_path / "t.tsv", "a\tb c\n1\t2,3\n")
    assert read_all(only(as_dataset(tmp_path / "t.tsv"))).to_pydict() == {"a": ["1"], "b c": ["2,3"]}


def test_csv_gz(tmp_path: Path) -> None:
    with gzip.open(tmp_path / "items.csv.gz", "wb") as f:
        f.write(b"\xef\xbb\xbfa,b\n" + b"".join(b"%d,x\n" % i for i in range(50_000)))
    source = as_dataset(tmp_path / "items.csv.gz")["items"]
    table = read_all(source, 10_000)
    assert table.num_rows == 50_000 and table.column_names == ["a", "b"]
    assert table["a"][49_999].as_py() == "49999"


def test_csv_header_only(tmp_path: Path) -> None:
    write_csv(tmp_path / "t.csv", "a,b\n")
    source = only(as_dataset(tmp_path / "t.csv"))
    assert source.schema() == pa.schema([("a", pa.string()), ("b", pa.string())])
    assert list(source.batches(10)) == []


def test_csv_empty_file(tmp_path: Path) -> None:
    write_csv(tmp_path / "t.csv", "")
    with pytest.raises(SourceError, match=r"t\.csv: the file is empty; a CSV file needs a header line"):
        only(as_dataset(tmp_path / "t.csv")).schema()


def test_csv_large_field(tmp_path: Path) -> None:
    big = "x" * 20_000_000
    rows = "".join(f"{i},y\n" for i in range(100_000))
    write_csv(tmp_path / "t.csv", f'a,b\n{rows}1,{big}\n2,"{big}"\n3,z\n')
    source = only(as_dataset(tmp_path / "t.csv"))
    batches = list(source.batches(30_000))
    assert all(b.num_rows <= 30_000 for b in batches)
    table = pa.Table.from_batches(batches)
    assert table.num_rows == 100_003
    assert table["a"].to_pylist()[-4:] == ["99999", "1", "2", "3"]
    assert table["b"][100_000].as_py() == big and table["b"][100_001].as_py() == big
    assert read_all(source, 1_000_000).equals(table.combine_chunks())


def test_csv_ragged_row(tmp_path: Path) -> None:
    write_csv(tmp_path / "bad.csv", "a,b\n" + "1,2\n" * 1000 + "3,4,5\n")
    source = only(as_dataset(tmp_path / "bad.csv"))
    with pytest.raises(SourceError) as info:
        list(source.batches(100))
    assert str(info.value) == (
        f"{tmp_path / 'bad.csv'}: data row 1001: expected 2 fields, found 3; check the delimiter and quoting "
        "(every row needs one field per column)"
    )


def test_csv_ragged_rows_numbered(tmp_path: Path) -> None:
    # rows 2 and 5 have the wrong number of fields; row 3 spans two lines; blank lines are not rows
    write_csv(tmp_path / "bad.csv", 'a,b\n1,x\n2\n3,"y\nz"\n\n4,w\n5,v,u\n')
    items = list(only(as_dataset(tmp_path / "bad.csv")).numbered(2))
    assert [(i.batch.to_pydict(), i.rows.tolist(), [(b.row, b.reason, b.text) for b in i.bad]) for i in items] == [
        ({"a": ["1", "3"], "b": ["x", "y\nz"]}, [1, 3], [(2, "expected 2 fields, found 1", "2")]),
        ({"a": ["4"], "b": ["w"]}, [4], []),
        ({"a": [], "b": []}, [], [(5, "expected 2 fields, found 3", "5,v,u")]),
    ]


def test_csv_bad_rows_around_a_row_bigger_than_a_block(tmp_path: Path) -> None:
    # the 3 MiB row makes the reader grow its blocks and read the file again: row 2 is reported twice
    big = "v" * (3 << 20)
    write_csv(tmp_path / "t.csv", f'a,b\n1,x\n2\n3,"{big}"\n4,y,z\n5,w\n')
    items = list(only(as_dataset(tmp_path / "t.csv")).numbered(10))
    assert [r for i in items for r in i.rows.tolist()] == [1, 3, 5]
    assert [(b.row, b.reason) for i in items for b in i.bad] == [
        (2, "expected 2 fields, found 1"),
        (4, "expected 2 fields, found 3"),
    ]
    assert pa.Table.from_batches([i.batch for i in items])["b"].to_pylist() == ["x", big, "w"]


def test_numbered_slices_carry_the_bad_rows_before_them(tmp_path: Path) -> None:
    rows = [f"{i},x" if i not in (3, 8) else f"{i}" for i in range(1, 11)]
    write_csv(tmp_path / "t.csv", "a,b\n" + "\n".join(rows) + "\n10,y,z\n")
    items = list(only(as_dataset(tmp_path / "t.csv")).numbered(3))
    assert [(i.rows.tolist(), [b.row for b in i.bad]) for i in items] == [
        ([1, 2, 4], [3]),
        ([5, 6, 7], []),
        ([9, 10], [8]),
        ([], [11]),  # after the last good row
    ]


def test_csv_invalid_utf8(tmp_path: Path) -> None:
    write_csv(tmp_path / "latin.csv", b"a,b\n1,caf\xe9\n")
    with pytest.raises(SourceError) as info:
        list(only(as_dataset(tmp_path / "latin.csv")).batches(10))
    assert str(info.value) == (
        f"{tmp_path / 'latin.csv'}: data row 1, column 'b': not valid UTF-8 (byte 0xE9 after 'caf'); the file must "
        "be UTF-8: re-encode it (e.g. iconv -f latin1 -t utf-8); load with on_error='reject' to set such rows aside"
    )


def test_csv_invalid_utf8_rows_set_aside(tmp_path: Path) -> None:
    write_csv(tmp_path / "latin.csv", b"a,b\n1,ok\n2,caf\xe9\n\xff,\xfe\n4,fine\n")
    (item,) = list(only(as_dataset(tmp_path / "latin.csv")).numbered(10))
    assert item.batch.to_pydict() == {"a": ["1", "4"], "b": ["ok", "fine"]}
    assert item.rows.tolist() == [1, 4]
    assert [(b.row, b.column, b.values) for b in item.bad] == [
        (2, "b", {"a": "2", "b": "caf\\xe9"}),
        (3, "a", {"a": "\\xff", "b": "\\xfe"}),
    ]


def test_csv_header_not_utf8(tmp_path: Path) -> None:
    write_csv(tmp_path / "h.csv", b"id,caf\xe9\n1,a\n")
    with pytest.raises(SourceError, match=r"h\.csv: the header line is not valid UTF-8 \(.*\); the file must be UTF-8"):
        only(as_dataset(tmp_path / "h.csv")).schema()


def test_csv_duplicate_header(tmp_path: Path) -> None:
    write_csv(tmp_path / "t.csv", "a,b,a\n1,2,3\n")
    with pytest.raises(SourceError, match="duplicate column names: a"):
        only(as_dataset(tmp_path / "t.csv")).schema()


# -- Parquet, IPC, JSON Lines ----------------------------------------------------------------------


def test_parquet_streamed_row_groups(tmp_path: Path) -> None:
    table = pa.table({"x": pa.array(range(10_000)), "s": pa.array([str(i) for i in range(10_000)])})
    pq.write_table(table, tmp_path / "t.parquet", row_group_size=3000)
    assert pq.ParquetFile(tmp_path / "t.parquet").num_row_groups == 4
    source = only(as_dataset(tmp_path / "t.parquet"))
    batches = list(source.batches(700))
    assert max(b.num_rows for b in batches) == 700
    assert pa.Table.from_batches(batches).equals(table)
    assert read_all(source, 700).equals(table)


def test_parquet_memory_bounded(tmp_path: Path) -> None:
    path = tmp_path / "big.parquet"
    schema = pa.schema([("id", pa.int64()), ("noise", pa.binary(32))])
    with pq.ParquetWriter(path, schema) as writer:
        for start in range(0, 2_000_000, 100_000):
            ids = pa.array(range(start, start + 100_000), pa.int64())
            noise = pa.FixedSizeBinaryArray.from_buffers(
                pa.binary(32), 100_000, [None, pa.py_buffer(os.urandom(32 * 100_000))]
            )
            writer.write_table(pa.table([ids, noise], schema=schema))
    # Incompressible: the file and the fully materialised table both take about 80 MB.
    assert path.stat().st_size > 64 << 20
    baseline = pa.total_allocated_bytes()
    peak, rows = 0, 0
    for batch in only(as_dataset(path)).batches(10_000):
        assert batch.num_rows <= 10_000
        rows += batch.num_rows
        peak = max(peak, pa.total_allocated_bytes() - baseline)
    assert rows == 2_000_000
    assert peak < 64 << 20


def test_csv_read_ahead_is_bounded(tmp_path: Path) -> None:
    # pyarrow's CSV reader reads up to 32 blocks ahead on a background thread, however slow the
    # consumer: the block size must keep that small. (Pausing only gives the thread time to run.)
    path = tmp_path / "big.csv"
    path.write_bytes(b"a,b,c\n" + b"12345,some text here,2.5\n" * 4_000_000)  # 100 MB
    baseline = pa.total_allocated_bytes()
    peak, rows = 0, 0
    for i, batch in enumerate(only(as_dataset(path)).batches(50_000)):
        if i == 1:
            time.sleep(0.5)
        rows += batch.num_rows
        peak = max(peak, pa.total_allocated_bytes() - baseline)
    assert rows == 4_000_000
    assert peak < 64 << 20


def test_arrow_ipc_file_and_stream(tmp_path: Path) -> None:
    with pa.OSFile(str(tmp_path / "f.arrow"), "wb") as sink, pa.ipc.new_file(sink, ROWS.schema) as w:
        w.write_table(ROWS, max_chunksize=2)
    with pa.OSFile(str(tmp_path / "s.ipc"), "wb") as sink, pa.ipc.new_stream(sink, ROWS.schema) as w:
        w.write_table(ROWS, max_chunksize=2)
    for name in ("f", "s"):
        source = as_dataset(tmp_path)[name]
        assert source.schema() == ROWS.schema
        assert read_all(source, 1).equals(ROWS) and read_all(source).equals(ROWS)


def test_jsonl_missing_keys_and_nested(tmp_path: Path) -> None:
    lines = [
        {"a": 1, "b": "x", "n": {"k": 1}, "l": [1, 2], "t": "2024-01-01T00:00:00"},
        {"a": 2},
        {"b": "y", "n": None, "l": []},
    ]
    (tmp_path / "t.ndjson").write_text("\n".join(json.dumps(r) for r in lines) + "\n")
    source = only(as_dataset(tmp_path / "t.ndjson"))
    assert source.schema().field("t").type == pa.string()  # not inferred as a timestamp
    assert pa.types.is_struct(source.schema().field("n").type)
    assert read_all(source).to_pylist() == [
        {"a": 1, "b": "x", "n": {"k": 1}, "l": [1, 2], "t": "2024-01-01T00:00:00"},
        {"a": 2, "b": None, "n": None, "l": None, "t": None},
        {"a": None, "b": "y", "n": None, "l": [], "t": None},
    ]


def test_jsonl_compressed_and_large_row(tmp_path: Path) -> None:
    big = "x" * 10_000_000  # larger than the blocks: the reader must grow them
    with gzip.open(tmp_path / "t.jsonl.gz", "wt") as f:
        f.write('{"a": 1, "s": "small"}\n' + json.dumps({"a": 2, "s": big}) + "\n")
    table = read_all(only(as_dataset(tmp_path / "t.jsonl.gz")))
    assert table["a"].to_pylist() == [1, 2] and table["s"][1].as_py() == big


def test_jsonl_type_conflict_names_file_and_row(tmp_path: Path) -> None:
    lines = [json.dumps({"a": i, "pad": "p" * 100}) for i in range(100_000)] + ['{"a": 1.5, "pad": ""}']
    (tmp_path / "t.jsonl").write_text("\n".join(lines) + "\n")
    pattern = r"t\.jsonl: cannot read JSON Lines: .*1\.5.*inferred from its first"
    with pytest.raises(SourceError, match=pattern):
        list(only(as_dataset(tmp_path / "t.jsonl")).batches(10_000))
    (tmp_path / "u.jsonl").write_text("\n".join(lines[:100_000]) + '\n{"a": 2,,}\n')
    with pytest.raises(SourceError, match=r"u\.jsonl: .*in data row 100001"):
        list(only(as_dataset(tmp_path / "u.jsonl")).batches(10_000))


# -- in-memory inputs -----------------------------------------------------------------------------


def test_list_of_dicts_missing_keys() -> None:
    rows = [{"a": 1}, {"b": "x"}, {"a": 3, "b": "z"}]
    table = read_all(as_dataset(rows, table="t")["t"])
    assert table.to_pydict() == {"a": [1, None, 3], "b": [None, "x", "z"]}


def test_empty_list_of_dicts() -> None:
    message = "list of dicts 'users' is empty: the table has no rows and no columns"
    with pytest.raises(SourceError, match=message):
        as_dataset({"users": []})


def test_pandas_and_polars() -> None:
    import pandas as pd
    import polars as pl

    pdf = pd.DataFrame({"a": [1, 2], "s": ["x", None]}, index=[10, 20])
    table = normalize_table(read_all(as_dataset(pdf, table="p")["p"]))
    assert table.column_names == ["a", "s"] and table.to_pydict() == {"a": [1, 2], "s": ["x", None]}
    pldf = pl.DataFrame({"a": [1, 2], "s": ["x", None]})
    assert normalize_table(read_all(as_dataset({"q": pldf})["q"])).to_pydict() == table.to_pydict()


def test_pandas_bad_column() -> None:
    import pandas as pd

    with pytest.raises(SourceError, match="DataFrame 'orders': cannot convert"):
        as_dataset({"orders": pd.DataFrame({"a": [1, "x", decimal.Decimal(1)]})})


# -- edge types and normalize_batch ---------------------------------------------------------------


def _edge_batch() -> pa.RecordBatch:
    words = ["a", None, "b", "a"]
    return pa.record_batch(
        {
            "view": pa.array(words, pa.string_view()),
            "large": pa.array(words, pa.large_string()),
            "dict": pa.array(words).dictionary_encode(),
            "dict_view": pa.DictionaryArray.from_arrays(
                pa.array([0, None, 1, 0], pa.int32()), pa.array(["a", "b"], pa.string_view())
            ),
            "lbin": pa.array([b"x", None, b"y", b"x"], pa.large_binary()),
            "lists": pa.array([["a"], None, [], ["b", None]], pa.list_(pa.large_string())),
            "dec": pa.array([decimal.Decimal("1.10"), None, decimal.Decimal("-2.5"), 0], pa.decimal128(9, 2)),
            "dec256": pa.array([1, 2, 3, 4], pa.decimal256(40, 0)),
            "ts": pa.array([0, 1, None, 3], pa.timestamp("us", tz="Europe/Paris")),
        }
    )


def test_edge_types_pass_through(tmp_path: Path) -> None:
    batch = _edge_batch()
    assert read_all(as_dataset(batch, table="t")["t"]).equals(pa.Table.from_batches([batch]))
    with pa.OSFile(str(tmp_path / "edge.arrow"), "wb") as sink, pa.ipc.new_file(sink, batch.schema) as w:
        w.write_batch(batch)
    source = only(as_dataset(tmp_path / "edge.arrow"))
    assert source.schema() == batch.schema
    assert read_all(source).equals(pa.Table.from_batches([batch]))


def test_normalize_batch() -> None:
    batch = _edge_batch()
    out = normalize_batch(batch)
    words = ["a", None, "b", "a"]
    for name in ("view", "large", "dict", "dict_view"):
        assert out.schema.field(name).type == pa.string()
        assert out.column(name).to_pylist() == words
    assert out.schema.field("lbin").type == pa.binary()
    assert out.schema.field("lists").type == pa.list_(pa.string())
    assert out.column("lists").to_pylist() == [["a"], None, [], ["b", None]]
    for name in ("dec", "dec256", "ts"):
        assert out.column(name).equals(batch.column(name))
    assert normalize_batch(out) is out


def test_normalize_keeps_metadata_and_nullability() -> None:
    schema = pa.schema([pa.field("s", pa.large_string(), nullable=False)], metadata={b"k": b"v"})
    batch = pa.record_batch([pa.array(["x"], pa.large_string())], schema=schema)
    out = normalize_batch(batch)
    assert out.schema.field("s").nullable is False and out.schema.metadata == {b"k": b"v"}


def test_table_source_rename_and_repr() -> None:
    source = as_dataset(ROWS, table="a")["a"]
    ds = as_dataset({"b": source})
    assert ds["b"].name == "b" and source.name == "a"
    assert "origin=" in repr(ds["b"])
    assert os.fspath(Path("x")) == "x"
