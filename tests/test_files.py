"""File and object-storage targets (laden.files).

Every format and compression is written to a local directory and to a real S3-compatible
server (moto, started on loopback by tests/s3server.py), then read back independently —
S3 objects through a plain boto3 client, files with pyarrow or the json module — and
compared with the source value for value: NULLs, unicode, decimal(38,9), timestamps with
and without a time zone, booleans, int64 extremes.
"""

from __future__ import annotations

import io
import json
import os
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import fsspec
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest
from fsspec.implementations.memory import MemoryFileSystem

from laden.config import Reader
from laden.errors import SourceError, UsageError
from laden.files import (
    Compression,
    CsvOptions,
    FileFormat,
    FileSpec,
    FileTarget,
    Layout,
    Quoting,
    file_spec_from_url,
    is_file_target,
    read_file_spec,
    writers,
)
from laden.plan import LoadOptions, Strategy
from laden.progress import CancelToken, EventKind, ProgressEvent
from laden.report import Report, Status, TargetReport
from laden.source import Dataset, TableSource, as_dataset

try:  # tests/ as a package ...
    from .s3server import s3_bucket, s3_client, s3_endpoint, s3_env  # fixtures, and the boto3 client
except ImportError:  # ... or as a rootdir-relative directory
    from s3server import s3_bucket, s3_client, s3_endpoint, s3_env  # noqa: F401

NAME = "exports"
PART = re.compile(r"part-[0-9a-f]{32}\.")

# -- data ------------------------------------------------------------------------------------------


# fmt: off
def sample() -> pa.Table:
    """Six rows of everything that must come back exactly."""
    d, day, at = Decimal, date, datetime
    amounts = [d("12345678901234567890123456789.123456789"), d("-0.000000001"), None, d("0E-9"),
               d("-99999999999999999999999999999.999999999"), d("0.000000120")]
    names = ["plain", None, "", 'quote " comma , semi ; tab \t back \\', "line\nbreak\r\nend", "Zürich — 東京 🚀"]
    days = [day(2024, 2, 29), None, day(1, 1, 1), day(9999, 12, 31), day(1970, 1, 1), day(2000, 1, 1)]
    ats = [at(2024, 2, 29, 12, 34, 56, 123456), None, at(1, 1, 1), at(9999, 12, 31, 23, 59, 59, 999999),
           at(1970, 1, 1), at(2000, 1, 1, 0, 0, 0, 1)]
    berlin_us = [1_711_846_800_000_000, 1_711_848_600_123_456, None, 0, 1_700_000_000_000_001, 946_684_799_999_999]
    utc_ns = [1_709_210_096_123_456_789, None, 0, -1, 9_223_372_036_854_775_000, 86_400_000_000_001]
    return pa.table({
        "id": pa.array([1, 2, 3, 4, 5, 6], pa.int64()),
        "big": pa.array([2**63 - 1, -(2**63), 0, None, 42, -1], pa.int64()),
        "name": pa.array(names),
        "amount": pa.array(amounts, pa.decimal128(38, 9)),
        "price": pa.array([d("12.50"), None, d("-0.01"), d(0), d("99999.99"), 1], pa.decimal128(10, 2)),
        "ratio": pa.array([0.1, None, 1e300, -0.0, 5e-324, -2.5], pa.float64()),
        "flag": pa.array([True, False, None, True, False, None]),
        "day": pa.array(days),
        "at": pa.array(ats, pa.timestamp("us")),
        "at_berlin": pa.array(berlin_us, pa.timestamp("us", tz="Europe/Berlin")),
        "at_ns_utc": pa.array(utc_ns, pa.timestamp("ns", tz="UTC")),
    })
# fmt: on


def orders() -> pa.Table:
    return pa.table({"order_id": pa.array(range(1, 8), pa.int64()), "customer_id": [1, 2, 3, 1, 2, 3, None]})


class FailingSource:
    """A test double: yields ``good`` batches of ``table``, then raises as a broken file would."""

    def __init__(self, table: pa.Table, good: int) -> None:
        self.table, self.good = table, good

    def batches(self, size: int) -> Iterator[pa.RecordBatch]:
        for i, batch in enumerate(self.table.to_batches(max_chunksize=size)):
            if i == self.good:
                raise SourceError("orders.csv: cannot read CSV: row 5 has 3 fields, expected 2")
            yield batch

    def source(self, name: str) -> TableSource:
        return TableSource(name, "test double", self.table.schema, self.batches)


# -- where the files go: a local directory or an S3 bucket ----------------------------------------


@dataclass
class Place:
    """A target root and a way to see everything around it, independently of laden."""

    url: str
    files: Callable[[], dict[str, bytes]]  # every file under the root, by path relative to it
    everything: Callable[[], list[str]]  # every path in the directory / bucket the root is in


def _local_place(tmp_path: Path) -> Place:
    root = tmp_path / "out"

    def files() -> dict[str, bytes]:
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}

    return Place(f"{root}/", files, lambda: sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")))


def _s3_place(endpoint: str, bucket: str) -> Place:
    client = s3_client(endpoint)

    def keys() -> list[str]:
        found: list[str] = []
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            found.extend(obj["Key"] for obj in page.get("Contents", []))
        return sorted(found)

    def files() -> dict[str, bytes]:
        return {
            k.removeprefix("exports/"): client.get_object(Bucket=bucket, Key=k)["Body"].read()
            for k in keys()
            if k.startswith("exports/")
        }

    return Place(f"s3://{bucket}/exports/", files, keys)


@pytest.fixture(params=["local", "s3"])
def place(request: pytest.FixtureRequest, tmp_path: Path) -> Place:
    if request.param == "local":
        return _local_place(tmp_path)
    return _s3_place(request.getfixturevalue("s3_env"), request.getfixturevalue("s3_bucket"))


def no_temporary_files(place: Place) -> None:
    left = [p for p in place.everything() if ".laden-staging" in p]
    assert left == [], f"temporary files left behind: {left}"


# -- reading back ----------------------------------------------------------------------------------

_TEXT_TYPES = (pa.types.is_decimal, pa.types.is_timestamp, pa.types.is_date)


def _from_json_rows(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    """JSON values -> Arrow: decimals, timestamps and dates arrive as strings and are cast (exactly)."""
    as_text = pa.schema([f.with_type(pa.string()) if any(t(f.type) for t in _TEXT_TYPES) else f for f in schema])
    return pa.Table.from_pylist(rows, schema=as_text).cast(schema)


def read_back(data: bytes, spec: FileSpec, schema: pa.Schema) -> pa.Table:
    if spec.format is FileFormat.PARQUET:
        return pq.read_table(pa.BufferReader(data))
    if spec.codec is not Compression.NONE:
        data = pa.input_stream(pa.BufferReader(data), compression=spec.codec.value).read()
    if spec.format is FileFormat.CSV:
        return pacsv.read_csv(
            io.BytesIO(data),
            parse_options=pacsv.ParseOptions(delimiter=spec.csv.delimiter, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={f.name: f.type for f in schema},
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
                null_values=[spec.csv.null],
            ),
        )
    text = data.decode("utf-8")
    if spec.format is FileFormat.JSON:
        return _from_json_rows(json.loads(text), schema)
    assert text == "" or text.endswith("\n")
    return _from_json_rows([json.loads(line) for line in text.split("\n")[:-1]], schema)


def assert_same(got: pa.Table, expected: pa.Table) -> None:
    assert got.schema.names == expected.schema.names
    for name in expected.schema.names:
        a, b = got.column(name).combine_chunks(), expected.column(name).combine_chunks()
        assert a.type == b.type, name
        assert a.equals(b), f"{name}: {a} != {b}"


def load(
    spec: FileSpec,
    data: Any,
    strategy: Strategy = Strategy.APPEND,
    *,
    batch_size: int = 4,
    load_id: str = "load1",
    **kwargs: Any,
) -> TargetReport:
    dataset = data if isinstance(data, Dataset) else as_dataset(data)
    options = LoadOptions(strategy=strategy, batch_size=batch_size)
    return FileTarget(spec, name=NAME).load(dataset, options, load_id, **kwargs)


# -- every format and compression, locally and on S3 -----------------------------------------------

FORMATS = [
    ("parquet", "snappy"), ("parquet", "zstd"), ("parquet", "gzip"), ("parquet", "none"),
    ("csv", "none"), ("csv", "gzip"), ("csv", "zstd"),
    ("jsonl", "none"), ("jsonl", "gzip"), ("jsonl", "zstd"),
    ("json", "none"), ("json", "gzip"), ("json", "zstd"),
]  # fmt: skip


@pytest.mark.parametrize(("fmt", "codec"), FORMATS, ids=[f"{f}-{c}" for f, c in FORMATS])
def test_every_value_comes_back(place: Place, fmt: str, codec: str) -> None:
    spec = file_spec_from_url(place.url, format=fmt, compression=codec)
    report = load(spec, {"customers": sample(), "orders": orders()})
    assert report.ok, report.error
    assert [(t.table, t.rows_read, t.rows_loaded, t.status) for t in report.tables] == [
        ("customers", 6, 6, Status.OK),
        ("orders", 7, 7, Status.OK),
    ]
    ext = {"none": fmt, "gzip": f"{fmt}.gz", "zstd": f"{fmt}.zst"}[codec] if fmt != "parquet" else "parquet"
    files = place.files()
    assert sorted(files) == [f"customers.{ext}", f"orders.{ext}"]
    assert_same(read_back(files[f"customers.{ext}"], spec, sample().schema), sample())
    assert_same(read_back(files[f"orders.{ext}"], spec, orders().schema), orders())
    if fmt == "parquet":
        assert pq.ParquetFile(pa.BufferReader(files["orders.parquet"])).metadata.row_group(0).column(0).compression == (
            codec.upper() if codec != "none" else "UNCOMPRESSED"
        )
    no_temporary_files(place)


def test_text_forms_are_exact_and_plain(tmp_path: Path) -> None:
    """What the files say, byte for byte: decimals in plain notation, RFC 3339 in JSON."""
    table = sample().select(["id", "amount", "at", "at_berlin", "name"]).slice(0, 2)
    load(file_spec_from_url(f"{tmp_path}/", format="jsonl"), {"t": table})
    assert (tmp_path / "t.jsonl").read_text(encoding="utf-8") == (
        '{"id":1,"amount":"12345678901234567890123456789.123456789","at":"2024-02-29T12:34:56.123456",'
        '"at_berlin":"2024-03-31T03:00:00.000000+02:00","name":"plain"}\n'
        '{"id":2,"amount":"-0.000000001","at":null,"at_berlin":"2024-03-31T03:30:00.123456+02:00","name":null}\n'
    )
    load(file_spec_from_url(f"{tmp_path}/", format="csv"), {"t": table})
    assert (tmp_path / "t.csv").read_text(encoding="utf-8") == (
        "id,amount,at,at_berlin,name\n"
        '1,"12345678901234567890123456789.123456789",2024-02-29 12:34:56.123456,'
        '2024-03-31 03:00:00.000000+0200,"plain"\n'
        '2,"-0.000000001",,2024-03-31 03:30:00.123456+0200,\n'
    )


def test_json_file_is_one_valid_array_across_batches(tmp_path: Path) -> None:
    data = {"many": orders(), "empty": orders().slice(0, 0)}
    report = load(file_spec_from_url(f"{tmp_path}/", format="json"), data, batch_size=2)
    assert report.ok, report.error
    assert json.loads((tmp_path / "many.json").read_text()) == orders().to_pylist()
    assert json.loads((tmp_path / "empty.json").read_text()) == []


def test_empty_tables_still_get_a_file(tmp_path: Path) -> None:
    empty = sample().slice(0, 0)
    for fmt in ("parquet", "csv", "jsonl"):
        assert load(file_spec_from_url(f"{tmp_path}/", format=fmt), {"e": empty}).ok
    assert pq.read_table(tmp_path / "e.parquet").schema.equals(empty.schema)
    assert (tmp_path / "e.csv").read_text() == "id,big,name,amount,price,ratio,flag,day,at,at_berlin,at_ns_utc\n"
    assert (tmp_path / "e.jsonl").read_bytes() == b""


def test_memory_filesystem_round_trip() -> None:
    root = f"memory://laden-test-{uuid.uuid4().hex}/out"
    spec = FileSpec(root, FileFormat.CSV, Compression.GZIP)
    assert load(spec, {"customers": sample()}).ok
    fs = fsspec.filesystem("memory")
    data = fs.cat(f"{root.removeprefix('memory://')}/customers.csv.gz")
    assert_same(read_back(data, spec, sample().schema), sample())


# -- strategies and layouts -------------------------------------------------------------------------


def test_append_adds_one_part_file_per_load(place: Place) -> None:
    spec = file_spec_from_url(place.url + "{table}/part-{part}.{ext}", format="parquet")
    assert spec.layout is Layout.PARTS
    table = sample()
    assert load(spec, {"customers": table.slice(0, 4)}, load_id="first").ok
    assert load(spec, {"customers": table.slice(4)}, load_id="second").ok
    files = place.files()
    assert len(files) == 2
    assert all(re.fullmatch(r"customers/part-[0-9a-f]{32}\.parquet", p) for p in files)
    union = pa.concat_tables(pq.read_table(pa.BufferReader(b)) for b in files.values()).sort_by("id")
    assert_same(union, table)
    no_temporary_files(place)


def test_truncate_insert_replaces_every_part(place: Place) -> None:
    spec = file_spec_from_url(place.url + "{table}/part-{part}.{ext}", format="jsonl", compression="gzip")
    for i in range(2):
        assert load(spec, {"orders": orders()}, load_id=f"append{i}").ok
    assert len(place.files()) == 2
    newer = orders().slice(2, 3)
    report = load(spec, {"orders": newer}, Strategy.TRUNCATE_INSERT)
    assert report.ok, report.error
    assert report.notes == [
        f"1 jsonl, gzip file(s) published under {place.url.rstrip('/')} once every table was written",
        "truncate_insert: removed 2 old file(s) of 'orders'",
    ]
    files = place.files()
    assert len(files) == 1
    assert_same(read_back(next(iter(files.values())), spec, newer.schema), newer)
    no_temporary_files(place)


def test_truncate_insert_replaces_a_single_file(place: Place) -> None:
    spec = file_spec_from_url(place.url, format="csv")
    assert load(spec, {"orders": orders()}).ok
    assert load(spec, {"orders": orders().slice(5)}, Strategy.TRUNCATE_INSERT).ok
    files = place.files()
    assert list(files) == ["orders.csv"]
    assert_same(read_back(files["orders.csv"], spec, orders().schema), orders().slice(5))
    no_temporary_files(place)


def test_truncate_insert_leaves_other_files_alone(tmp_path: Path) -> None:
    spec = file_spec_from_url(f"{tmp_path}/{{table}}/part-{{part}}.{{ext}}")
    assert load(spec, {"t": orders()}).ok
    (tmp_path / "t" / "README.txt").write_text("mine")
    (tmp_path / "t" / "part-00000-spark.snappy.parquet").write_text("theirs")
    assert load(spec, {"t": orders()}, Strategy.TRUNCATE_INSERT).ok
    names = sorted(p.name for p in (tmp_path / "t").iterdir())
    assert names[:2] == ["README.txt", "part-00000-spark.snappy.parquet"] and len(names) == 3


def test_append_to_an_existing_single_file_is_refused(place: Place) -> None:
    spec = file_spec_from_url(place.url, format="parquet")
    assert load(spec, {"orders": orders()}).ok
    before = place.files()
    report = load(spec, {"customers": sample(), "orders": orders()})
    assert report.status is Status.FAILED
    assert report.error == (
        f"exports: table 'orders': {place.url}orders.parquet exists and append cannot add rows to a single file; "
        "use strategy truncate_insert to replace it, or a path_template with {part} "
        "(e.g. '{table}/part-{part}.{ext}') so that every load adds a file. Nothing was written."
    )
    assert place.files() == before
    no_temporary_files(place)


def test_upsert_is_refused(place: Place) -> None:
    report = load(file_spec_from_url(place.url), {"orders": orders()}, Strategy.UPSERT)
    assert report.status is Status.FAILED
    assert report.error == (
        "exports: upsert is not supported for file targets (files have no keys to match rows on); "
        "use strategy append (adds files) or truncate_insert (replaces the table's files)"
    )
    assert place.files() == {}


def test_parquet_row_groups(tmp_path: Path) -> None:
    spec = FileSpec(str(tmp_path), row_group_size=3)
    assert load(spec, {"t": orders().append_column("x", pa.array(range(7)))}, batch_size=2).ok
    meta = pq.ParquetFile(tmp_path / "t.parquet").metadata
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [3, 3, 1]
    default = FileSpec(str(tmp_path / "d"))
    assert load(default, {"t": orders()}, batch_size=2).ok
    assert pq.ParquetFile(tmp_path / "d" / "t.parquet").metadata.num_row_groups == 4


def test_csv_options(tmp_path: Path) -> None:
    table = pa.table({"id": [1, 2, 3], "name": ["a;b", None, ""], "ok": [True, None, False]})
    options = CsvOptions(header=True, delimiter=";", quoting=Quoting.ALL, null="\\N")
    spec = FileSpec(str(tmp_path), FileFormat.CSV, csv=options)
    assert load(spec, {"t": table}).ok
    assert (tmp_path / "t.csv").read_text() == '"id";"name";"ok"\n"1";"a;b";"true"\n"2";\\N;\\N\n"3";"";"false"\n'
    spec = FileSpec(str(tmp_path / "n"), FileFormat.CSV, csv=CsvOptions(header=False, quoting=Quoting.NONE))
    assert load(spec, {"t": table.slice(1)}).ok
    assert (tmp_path / "n" / "t.csv").read_text() == "2,,\n3,,false\n"
    report = load(spec, {"t": pa.table({"id": [1], "name": ["x,y"], "ok": [True]})}, Strategy.TRUNCATE_INSERT)
    assert report.status is Status.FAILED
    assert report.error is not None and report.error.startswith("exports: table 't': ")
    assert report.error.endswith(
        "Nothing was published; a value holds the delimiter, a quote or a line break: use csv quote 'needed'."
    )
    assert (tmp_path / "n" / "t.csv").read_text() == "2,,\n3,,false\n"


# -- hive partitions ---------------------------------------------------------------------------------


def events() -> pa.Table:
    return pa.table({
        "id": pa.array(range(1, 9), pa.int64()),
        "country": ["DE", "FR", None, "a/b", "..", "DE", "", "FR"],
        "year": pa.array([2024, 2024, 2023, 2023, 2024, 2023, 2024, 2024], pa.int64()),
        "amount": pa.array([Decimal(i) / 100 for i in range(8)], pa.decimal128(38, 9)),
    })  # fmt: skip


def _hive_spec(url: str) -> FileSpec:
    spec, problems = config_spec({"url": url, "partition_by": ["country", "year"]}, dict(os.environ))
    assert problems == [] and spec is not None
    return spec


def _read_hive(files: dict[str, bytes], tmp_path: Path, table: str) -> pa.Table:
    copy = tmp_path / "copy"
    for path, data in files.items():
        (copy / path).parent.mkdir(parents=True, exist_ok=True)
        (copy / path).write_bytes(data)
    partitioning = pads.HivePartitioning.discover(infer_dictionary=False)
    got = pads.dataset(copy / table, format="parquet", partitioning=partitioning).to_table().sort_by("id")
    return got.select(["id", "country", "year", "amount"]).cast(events().schema)


def test_partitioned_layout_is_readable_as_a_hive_dataset(place: Place, tmp_path: Path) -> None:
    spec = _hive_spec(place.url)
    assert spec.layout is Layout.HIVE
    report = load(spec, {"events": events()}, batch_size=3)
    assert report.ok, report.error
    files = place.files()
    assert sorted(p.rpartition("/")[0] for p in files) == sorted([
        "events/country=DE/year=2024", "events/country=FR/year=2024", "events/country=a%2Fb/year=2023",
        "events/country=__HIVE_DEFAULT_PARTITION__/year=2023", "events/country=../year=2024",
        "events/country=DE/year=2023", "events/country=/year=2024",
    ])  # fmt: skip  # one file per partition value: its writer stays open across batches
    assert all(PART.match(p.rpartition("/")[2]) for p in files)
    assert_same(_read_hive(files, tmp_path, "events"), events())
    no_temporary_files(place)


def test_partitioned_truncate_insert_replaces_every_partition(tmp_path: Path) -> None:
    spec = _hive_spec(f"{tmp_path}/out/")
    assert load(spec, {"events": events()}).ok
    assert load(spec, {"events": events()}).ok  # append: a second part file per partition
    newer = events().filter(pa.array([c == "DE" for c in events().column("country").to_pylist()]))
    report = load(spec, {"events": newer}, Strategy.TRUNCATE_INSERT)
    assert report.ok, report.error
    files = {p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*") if p.is_file()}
    assert sorted(f.rpartition("/")[0] for f in files) == ["events/country=DE/year=2023", "events/country=DE/year=2024"]
    assert sorted(p.name for p in (tmp_path / "out" / "events").iterdir()) == ["country=DE"]  # empty dirs pruned
    data = {f: (tmp_path / "out" / f).read_bytes() for f in files}
    assert_same(_read_hive(data, tmp_path, "events"), newer)


def test_partition_files_past_the_open_limit_get_new_parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writers, "MAX_OPEN_FILES", 2)
    spec = _hive_spec(f"{tmp_path}/out/")
    assert load(spec, {"events": events()}, batch_size=2).ok  # 7 partitions, at most 2 files open
    files = {p.relative_to(tmp_path / "out").as_posix(): p.read_bytes() for p in (tmp_path / "out").rglob("*.parquet")}
    assert len(files) > 7 and len({f.rpartition("/")[0] for f in files}) == 7
    assert_same(_read_hive(files, tmp_path, "events"), events())


def test_partition_column_must_exist_and_be_simple(tmp_path: Path) -> None:
    spec = _hive_spec(f"{tmp_path}/out/")
    report = load(spec, {"orders": orders()})
    assert report.error == (
        "exports: table 'orders' cannot be partitioned by 'country': the table has no such column "
        "(partition_by applies to every table of the target). Nothing was written."
    )
    floats = events().set_column(2, "year", pa.array([1.5] * 8))
    report = load(spec, {"events": floats})
    assert report.error == (
        "exports: table 'events' cannot be partitioned by 'year': partition by text, integer, boolean, date, "
        "timestamp or decimal columns. Nothing was written."
    )
    assert not (tmp_path / "out").exists()


# -- failures change nothing --------------------------------------------------------------------------


def test_failure_mid_table_changes_nothing(place: Place) -> None:
    spec = file_spec_from_url(place.url, format="parquet")
    assert load(spec, {"customers": sample(), "orders": orders()}, Strategy.TRUNCATE_INSERT).ok
    before = place.files()
    broken = Dataset([TableSource("customers", "t", sample().schema, lambda n: sample().slice(3).to_batches(n)),
                      FailingSource(orders(), good=2).source("orders")])  # fmt: skip
    report = load(spec, broken, Strategy.TRUNCATE_INSERT, batch_size=2, load_id="load2")
    assert report.status is Status.FAILED
    assert report.error == (
        "exports: table 'orders': orders.csv: cannot read CSV: row 5 has 3 fields, expected 2. "
        "Nothing was published; fix the input and load again."
    )
    assert [(t.table, t.status, t.rows_read, t.rows_loaded, t.error) for t in report.tables] == [
        ("customers", Status.FAILED, 3, 0, "not published: another table of this target failed"),
        ("orders", Status.FAILED, 4, 0, report.error),
    ]
    assert any("nothing was published" in n for n in report.notes)
    assert place.files() == before  # byte for byte
    no_temporary_files(place)


def test_a_failed_load_removes_the_directories_it_created(tmp_path: Path) -> None:
    spec = file_spec_from_url(f"{tmp_path}/new/deeper/", format="csv")
    report = load(spec, Dataset([FailingSource(orders(), good=1).source("orders")]), batch_size=2)
    assert report.status is Status.FAILED
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("when", ["mid-table", "before-publish"])
def test_cancel_changes_nothing(place: Place, when: str) -> None:
    spec = file_spec_from_url(place.url + "{table}/part-{part}.{ext}", format="csv", compression="zstd")
    assert load(spec, {"customers": sample(), "orders": orders()}).ok
    before = place.files()
    token = CancelToken()
    seen: list[ProgressEvent] = []

    def progress(event: ProgressEvent) -> None:
        seen.append(event)
        if event.table == "orders" and event.kind is (
            EventKind.ROWS_WRITTEN if when == "mid-table" else EventKind.TABLE_FINISHED
        ):
            token.cancel()

    data = {"customers": sample(), "orders": orders()}
    report = load(spec, data, Strategy.TRUNCATE_INSERT, batch_size=2, load_id="c1", progress=progress, cancel=token)
    assert report.status is Status.CANCELLED
    assert report.error == "exports: load c1 cancelled; nothing was published"
    assert {t.status for t in report.tables} == {Status.CANCELLED}
    assert seen[-1].kind is EventKind.LOAD_FINISHED and seen[-1].status == "cancelled"
    assert place.files() == before
    no_temporary_files(place)


class FlakyFS(MemoryFileSystem):
    """A test double: an in-memory filesystem whose rename into ``fail`` paths is refused."""

    protocol = "flakymem"
    fail: ClassVar[Callable[[str], bool]] = staticmethod(lambda path: False)  # type: ignore[assignment]

    @classmethod
    def _strip_protocol(cls, path: str) -> str:
        return super()._strip_protocol(path.removeprefix("flakymem://"))

    def mv(self, path1: str, path2: str, *args: Any, **kwargs: Any) -> None:
        if type(self).fail(path2):
            raise PermissionError(f"injected: renaming onto {path2} refused")
        super().mv(path1, path2, *args, **kwargs)


@pytest.fixture
def flaky() -> Iterator[tuple[str, type[FlakyFS]]]:
    fsspec.register_implementation("flakymem", FlakyFS, clobber=True)
    root = f"laden-flaky-{uuid.uuid4().hex}"
    yield root, FlakyFS
    FlakyFS.fail = staticmethod(lambda path: False)  # type: ignore[assignment]
    MemoryFileSystem().rm(f"/{root}", recursive=True)


def _memory_files(root: str) -> dict[str, bytes]:
    fs = MemoryFileSystem()
    return {p.removeprefix(f"/{root}/"): fs.cat(p) for p in fs.find(f"/{root}")}


@pytest.mark.parametrize("template", ["{table}.{ext}", "{table}/part-{part}.{ext}"])
def test_failed_publish_puts_everything_back(flaky: tuple[str, type[FlakyFS]], template: str) -> None:
    root, fs = flaky
    spec = FileSpec(f"flakymem://{root}", FileFormat.JSONL, path_template=template)
    assert load(spec, {"a": orders(), "b": orders()}).ok
    before = _memory_files(root)
    fs.fail = staticmethod(lambda path: "/b" in path and ".laden-staging" not in path)  # type: ignore[assignment]
    report = load(spec, {"a": orders().slice(3), "b": orders().slice(3)}, Strategy.TRUNCATE_INSERT)
    assert report.status is Status.FAILED
    assert report.error is not None
    assert report.error.startswith(f"exports: publishing table 'b' failed: cannot publish flakymem://{root}/b")
    assert report.error.endswith(" refused; the 1 file(s) already published were put back: nothing was published.")
    assert _memory_files(root) == before
    assert [t.status for t in report.tables] == [Status.FAILED, Status.FAILED]


# -- safety -------------------------------------------------------------------------------------------


BAD_TABLE_NAMES = [
    ("../x", "it contains '/'"), ("/etc/x", "it contains '/'"), ("%2e%2e", "it contains the %-escape '%2e'"),
    ("%2e%2e/x", "it contains '/'"), ("..", "it is '..'"), ("a\\b", "it contains '\\\\'"),
    (".hidden", "it starts with '.' (a hidden file, which dataset readers skip)"),
    ("bell\x07", "it contains a control character"),
]  # fmt: skip


@pytest.mark.parametrize(("table", "reason"), BAD_TABLE_NAMES)
def test_table_names_cannot_leave_the_root(place: Place, table: str, reason: str) -> None:
    report = load(file_spec_from_url(place.url), {"fine": orders(), table: orders()})
    assert report.status is Status.FAILED
    assert (
        report.error
        == f"exports: table {table!r} cannot name a file: {reason}; load it under another name. Nothing was written."
    )
    assert report.table(table).status is Status.FAILED
    assert place.everything() == []


BAD_TEMPLATES = [
    ("{table}/../../x", "it contains a '..' path segment"), ("../{table}.{ext}", "it contains a '..' path segment"),
    ("/etc/{table}", "it is an absolute path"), ("%2e%2e/{table}.{ext}", "it contains the %-escape '%2e'"),
    ("a/%2F/{table}", "it contains the %-escape '%2F'"),
    ("s3://other/{table}", "it contains ':' (a URL or drive letter)"),
    ("C:\\{table}", "it contains '\\\\'"), ("./{table}", "it contains a '.' path segment"),
    ("a//{table}", "it contains '//'"), ("{table}/", "it ends with '/' (it must name a file)"),
    (".hidden/{table}", "a path segment starts with '.' (hidden files are skipped by dataset readers)"),
    ("{table.__class__}", "unknown placeholder {table.__class__}"), ("{home}/{table}", "unknown placeholder {home}"),
    ("{table!r}.csv", "placeholder {table} cannot have a format spec or conversion"),
    ("{table:>10}", "placeholder {table} cannot have a format spec or conversion"),
    ("data.{ext}", "it does not contain {table}, so every table would write the same file"),
    ("{table}/{partition}/x.{ext}", "it uses {partition} but partition_by names no column"),
]  # fmt: skip


@pytest.mark.parametrize(("template", "reason"), BAD_TEMPLATES)
def test_templates_cannot_leave_the_root(tmp_path: Path, template: str, reason: str) -> None:
    with pytest.raises(UsageError) as caught:
        FileSpec(str(tmp_path), path_template=template)
    assert str(caught.value) == (
        f"path_template {template!r}: {reason}; a template is a relative path under the root made of {{table}} "
        "(required), {ext}, {part} and {partition}, e.g. '{table}.{ext}' or '{table}/part-{part}.{ext}'"
    )
    assert list(tmp_path.iterdir()) == []


def test_a_template_in_the_url_is_checked_too(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"^path_template '\{table\}/\.\./\.\./x\.csv': it contains a '\.\.' path"):
        file_spec_from_url(f"{tmp_path}/out/{{table}}/../../x.csv")


def test_partitioned_templates_need_their_placeholders(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"with partition_by it needs \{partition\}"):
        FileSpec(str(tmp_path), partition_by=("c",), path_template="{table}/part-{part}.{ext}")
    with pytest.raises(UsageError, match=r"\{partition\} must be a whole directory"):
        FileSpec(str(tmp_path), partition_by=("c",), path_template="{table}-{partition}/{part}.{ext}")
    with pytest.raises(UsageError, match=r"^partition_by column '\.\.' cannot name a directory: it is '\.\.'"):
        FileSpec(str(tmp_path), partition_by=("..",))


# -- types a format cannot hold -----------------------------------------------------------------------


def test_columns_a_format_cannot_hold_are_refused_before_writing(tmp_path: Path) -> None:
    blobs = pa.table({"id": [1], "data": pa.array([b"\x00\xff"]), "tags": pa.array([["a"]])})
    report = load(file_spec_from_url(f"{tmp_path}/out/", format="csv"), {"blobs": blobs})
    assert report.error == (
        "exports: table 'blobs' cannot be written as csv: column 'data' (binary): binary values have no text form "
        "here: write Parquet, or cast the column to text (hex, base64) first; column 'tags' (list<item: string>): "
        "CSV holds no nested values (lists, structs, maps): write JSON Lines or Parquet. Nothing was written."
    )
    assert not (tmp_path / "out").exists()
    nested = pa.table(
        {"tags": pa.array([["a", None], None, []]), "s": pa.array([{"x": 1.5, "y": "é"}, None, {"x": None, "y": ""}])}
    )
    assert load(file_spec_from_url(f"{tmp_path}/j/", format="jsonl"), {"n": nested}).ok
    assert (tmp_path / "j" / "n.jsonl").read_text(encoding="utf-8").splitlines() == [
        '{"tags":["a",null],"s":{"x":1.5,"y":"é"}}',
        '{"tags":null,"s":null}',
        '{"tags":[],"s":{"x":null,"y":""}}',
    ]
    assert load(file_spec_from_url(f"{tmp_path}/p/"), {"blobs": blobs}).ok  # Parquet holds anything


def test_nan_cannot_go_to_json(tmp_path: Path) -> None:
    spec = file_spec_from_url(f"{tmp_path}/", format="json")
    assert load(spec, {"m": pa.table({"x": [1.0, 2.0]})}, Strategy.TRUNCATE_INSERT).ok
    before = (tmp_path / "m.json").read_bytes()
    report = load(spec, {"m": pa.table({"x": [1.0, 2.0, float("nan")]})}, Strategy.TRUNCATE_INSERT, batch_size=2)
    assert report.error == (
        "exports: table 'm', row 3, column 'x': JSON has no NaN or infinity. "
        "Nothing was published; write Parquet, or replace the value in the source."
    )
    assert (tmp_path / "m.json").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json"]


# -- progress, secrets, errors ------------------------------------------------------------------------


def test_progress_events(tmp_path: Path) -> None:
    seen: list[ProgressEvent] = []
    report = load(file_spec_from_url(f"{tmp_path}/"), {"a": orders(), "b": orders().slice(0, 2)}, progress=seen.append)
    assert report.ok
    assert [(e.kind.value, e.table, e.rows, e.total, e.status) for e in seen] == [
        ("load_started", None, 0, None, None),
        ("table_started", "a", 0, 7, None),
        ("rows_written", "a", 4, 7, None),
        ("rows_written", "a", 7, 7, None),
        ("table_finished", "a", 7, 7, "ok"),
        ("table_started", "b", 0, 2, None),
        ("rows_written", "b", 2, 2, None),
        ("table_finished", "b", 2, 2, "ok"),
        ("load_finished", None, 0, None, "ok"),
    ]
    assert {e.target for e in seen} == {NAME} and {e.load_id for e in seen} == {"load1"}


def test_secrets_never_show(s3_env: str, s3_bucket: str) -> None:
    secret = "Sup3r-s3cret/with+chars"
    mapping = {
        "type": "file",
        "url": "s3://no-such-bucket-laden/x/",
        "format": "csv",
        "storage_options": {"key": "AKIDEXAMPLE", "secret": secret, "client_kwargs": {"endpoint_url": s3_env}},
    }
    spec = read_file_spec(Reader("laden.yaml", {}, {}), ("targets", NAME), mapping)
    assert spec is not None
    assert secret in spec.secrets() and "AKIDEXAMPLE" in spec.secrets()
    assert secret not in repr(spec) and secret not in repr(FileTarget(spec, name=NAME))
    report = load(spec, {"orders": orders()})
    assert report.status is Status.FAILED
    assert report.error is not None and report.error.startswith(
        "exports: table 'orders': cannot write s3://no-such-bucket-laden/x/.laden-staging-load1-"
    )
    assert report.error.endswith(
        "Nothing was published; check that the location exists and is writable "
        "(for object storage: bucket and credentials)."
    )
    text = Report("load1", [report]).to_json()
    assert secret not in text and "AKIDEXAMPLE" not in text


def test_credentials_from_the_environment(s3_env: str, s3_bucket: str) -> None:
    spec = file_spec_from_url(f"s3://{s3_bucket}/data/{{table}}.jsonl")
    assert spec.storage_options == {"client_kwargs": {"endpoint_url": s3_env, "region_name": "us-east-1"}}
    assert spec.secrets() == ()
    assert load(spec, {"orders": orders()}).ok
    body = s3_client(s3_env).get_object(Bucket=s3_bucket, Key="data/orders.jsonl")["Body"].read()
    assert_same(read_back(body, spec, orders().schema), orders())


def test_missing_driver_names_the_install_command(tmp_path: Path) -> None:
    report = load(FileSpec("gs://bucket/x"), {"orders": orders()})
    assert report.status is Status.FAILED
    assert report.error is not None and report.error.startswith("exports: gs://bucket/x: gs:// needs an fsspec driver")
    assert report.error.endswith("; install it: pip install gcsfs")


# -- specs from a URL and from laden.yaml ---------------------------------------------------------------


FILE_TARGETS = [
    ("s3://bucket/exports/", True), ("S3://bucket", True), ("gs://b/p", True), ("az://c/p", True),
    ("memory://x", True), ("file:///tmp/out", True), ("out/", True), ("./out", True), (".", True),
    ("C:\\data\\out", True), ("postgresql://u@h/db", False), ("sqlite:///x.db", False),
    ("https://api.example.com/v1", False), ("warehouse", False),
]  # fmt: skip


@pytest.mark.parametrize(("spec", "expected"), FILE_TARGETS)
def test_is_file_target(spec: str, expected: bool) -> None:
    assert is_file_target(spec) is expected


def test_an_existing_directory_is_a_file_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert not is_file_target("exports")
    (tmp_path / "exports").mkdir()
    assert is_file_target("exports")


# fmt: off
def test_spec_from_url() -> None:
    spec = file_spec_from_url("out/")
    assert (spec.root, spec.format, spec.codec, spec.template_text, spec.extension, spec.layout) == (
        "out/", FileFormat.PARQUET, Compression.SNAPPY, "{table}.{ext}", "parquet", Layout.SINGLE)
    spec = file_spec_from_url("out/{table}.csv.gz")
    assert (spec.root, spec.format, spec.codec, spec.extension) == ("out", FileFormat.CSV, Compression.GZIP, "csv.gz")
    spec = file_spec_from_url("s3://b/x/{table}/part-{part}.jsonl.zst", compression="zstd")
    assert (spec.root, spec.format, spec.codec, spec.layout) == (
        "s3://b/x", FileFormat.JSONL, Compression.ZSTD, Layout.PARTS)
    spec = file_spec_from_url("file:///tmp/my%20dir/", format="json", compression="gzip")
    assert (spec.root, spec.extension) == ("/tmp/my dir/", "json.gz")
    assert file_spec_from_url("out/{table}.{ext}", format="csv").format is FileFormat.CSV


URL_PROBLEMS = [
    ("out/{table}.csv", {"format": "parquet"},
     "format 'parquet' does not match the file name '{table}.csv'; change one of them, or use {ext} in the template"),
    ("out/{table}.csv", {"compression": "gzip"},
     "compression 'gzip' does not match the file name '{table}.csv' (it would need to end in '.gz'); "
     "change one of them, or use {ext} in the template"),
    ("out/", {"format": "xml"}, "format 'xml': expected one of csv, jsonl, json, parquet"),
    ("out/", {"format": "csv", "compression": "snappy"},
     "compression 'snappy' does not apply to csv files; use one of none, gzip, zstd"),
    ("out/orders.csv", {},
     "out/orders.csv looks like a file, but a file target is a directory with one file per table: "
     "give a template such as out/{table}.csv, or end the directory with '/'"),
    ("postgresql://u:pw@h/db", {},
     "postgresql://u:***@h/db is not a file location; use a directory or one of s3://, s3a://, gs://, gcs://, "
     "az://, abfs://, abfss://, memory://, file://"),
    ("s3://{table}/x.csv", {}, "s3://{table}/x.csv: the bucket or container cannot be templated; put {table} after it"),
]
# fmt: on


@pytest.mark.parametrize(("url", "kwargs", "message"), URL_PROBLEMS)
def test_spec_from_url_problems(url: str, kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError) as caught:
        file_spec_from_url(url, **kwargs)
    assert str(caught.value) == message


def test_s3_endpoint_and_region_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://generic:1")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://s3-only:2")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    monkeypatch.delenv("AWS_REGION", raising=False)
    spec = file_spec_from_url("s3://b/x/")
    assert spec.storage_options == {
        "client_kwargs": {"endpoint_url": "http://s3-only:2", "region_name": "eu-central-1"}
    }
    assert file_spec_from_url("gs://b/x/").storage_options == {}


def config_spec(mapping: dict[str, Any], environ: dict[str, str] | None = None) -> tuple[FileSpec | None, list[str]]:
    reader = Reader("laden.yaml", {}, environ or {})
    return read_file_spec(reader, ("targets", NAME), {"type": "file", **mapping}), reader.problems


def test_spec_from_config() -> None:
    spec, problems = config_spec(
        {
            "url": "s3://${BUCKET}/exports/",
            "format": "csv",
            "compression": "zstd",
            "path_template": "{table}/part-{part}.{ext}",
            "csv": {"header": "no", "delimiter": "\t", "quote": "all", "null": "NULL"},
            "storage_options": {"secret": "${S3_SECRET}", "client_kwargs": {"endpoint_url": "http://minio:9000"}},
            "strategy": "truncate_insert",
            "batch_size": 10,
            "description": "handled by the caller",
        },
        {"BUCKET": "bkt", "S3_SECRET": "zz-secret-zz"},
    )
    assert problems == [] and spec is not None
    assert (spec.root, spec.format, spec.codec, spec.layout) == ("s3://bkt/exports/", FileFormat.CSV, Compression.ZSTD,
                                                                 Layout.PARTS)  # fmt: skip
    assert spec.csv == CsvOptions(header=False, delimiter="\t", quoting=Quoting.ALL, null="NULL")
    assert spec.storage_options["secret"] == "zz-secret-zz"
    assert spec.storage_options["client_kwargs"] == {"endpoint_url": "http://minio:9000"}  # not the environment's
    assert "zz-secret-zz" not in repr(spec)


# fmt: off
def test_config_problems_are_all_reported() -> None:
    where = "laden.yaml: targets.exports"
    assert config_spec({"url": "out/", "path": "also/", "format": "xml", "csv": {"delimiter": "ab", "quote": "x"},
                        "row_group_size": 0, "keys": {"t": ["id"]}}) == (None, [
        f"{where}.keys: unknown key; expected one of: type, url, path, format, compression, path_template, "
        "partition_by, csv, row_group_size, storage_options, strategy, batch_size, on_error, max_rejects, tables, "
        "description",
        f"{where}: a file target needs exactly one of url (s3://bucket/prefix/, ...) or path (a directory)",
        f"{where}.format: expected one of csv, jsonl, json, parquet, got 'xml'",
        f"{where}.csv.quote: expected one of needed, all, none, got 'x'",
        f"{where}.csv.delimiter: csv delimiter 'ab': expected one character other than '\"' and line breaks",
        f"{where}.row_group_size: expected a number >= 1, got 0",
    ])
    assert config_spec({"path": "out/", "format": "csv", "compression": "snappy", "path_template": "../{table}"}) == (
        None, [f"{where}.compression: compression 'snappy' does not apply to csv files; use one of none, gzip, zstd"])
    assert config_spec({"path": "out/", "path_template": "../{table}"}) == (None, [
        f"{where}.path_template: path_template '../{{table}}': it contains a '..' path segment; a template is a "
        "relative path under the root made of {table} (required), {ext}, {part} and {partition}, "
        "e.g. '{table}.{ext}' or '{table}/part-{part}.{ext}'"])
# fmt: on
