"""Synthetic retail data (laden.generate): determinism, keys, realism, loading into every engine.

Generated data are checked independently of the generator: Parquet files are read with
pyarrow and queried with DuckDB (joins for every foreign key, GROUP BY for every unique key,
haversine distances), the shipped place list is read straight from its gzip'd CSV, databases
are read back through their raw drivers (tests/conftest.py).
"""

from __future__ import annotations

import gzip
import io
import re
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from laden.errors import UsageError
from laden.generate import create_tables, generate_retail, retail_counts, retail_dataset, retail_schema
from laden.generate import run as generate_run
from laden.generate import values as v
from laden.generate.rng import BLOCK_ROWS, stream

SMALL = 0.01  # 36k rows: 10,000 customers, 20,000 store inventory rows
PLACES = Path(__file__).resolve().parents[1] / "src/laden/generate/data/places_us.csv.gz"
STATES = {
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS",
    "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC",
    "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY",
}  # fmt: skip


def _parquet_dir(tmp: Path, scale: float, seed: int, workers: int) -> Path:
    out = tmp / f"s{scale}-seed{seed}-w{workers}"
    report = generate_retail(scale, seed, [str(out)], workers=workers)
    assert report.ok, report
    return out


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The retail tables at scale 0.01, seed 3, as Parquet files (one per table)."""
    return _parquet_dir(tmp_path_factory.mktemp("retail"), SMALL, 3, 1)


@pytest.fixture(scope="module")
def duck(small: Path) -> Iterator[object]:
    import duckdb

    con = duckdb.connect()
    for table in retail_counts(SMALL):
        con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{small / (table + '.parquet')}')")
    con.register("places", _read_places())
    yield con
    con.close()


def _read_places() -> pa.Table:
    """The shipped place list, read straight from its file (postal codes keep their leading zeros)."""
    options = pacsv.ConvertOptions(column_types={"postal_code": pa.string()})
    return pacsv.read_csv(io.BytesIO(gzip.decompress(PLACES.read_bytes())), convert_options=options)


def _one(con: object, sql: str) -> object:
    return con.execute(sql).fetchone()[0]  # type: ignore[attr-defined]


# -- determinism -----------------------------------------------------------------------------------


def test_same_seed_gives_byte_identical_parquet_whatever_the_worker_count(tmp_path: Path) -> None:
    scale = 0.07  # 70,000 customers and 560,000 store inventory rows: several blocks, so the pool runs
    one, two = _parquet_dir(tmp_path, scale, 11, 1), _parquet_dir(tmp_path, scale, 11, 2)
    other = _parquet_dir(tmp_path, scale, 12, 1)
    assert retail_counts(scale)["store_inventory"] > 4 * BLOCK_ROWS
    for table in retail_counts(scale):
        name = table + ".parquet"
        assert (one / name).read_bytes() == (two / name).read_bytes(), table
        if table != "geographies":  # the place list itself is the same for every seed
            assert not pq.read_table(one / name).equals(pq.read_table(other / name)), table


def test_batch_size_does_not_change_the_data() -> None:
    with retail_dataset(SMALL, 5, workers=1, batch_size=777) as a, retail_dataset(SMALL, 5, workers=1) as b:
        for table in ("customers", "store_inventory"):
            small_batches = list(a[table].batches(1_000))
            assert max(x.num_rows for x in small_batches) <= 777
            assert pa.Table.from_batches(small_batches).equals(pa.Table.from_batches(b[table].batches(100_000)))


def test_sources_are_replayable_and_count_their_rows() -> None:
    with retail_dataset(SMALL, 2, workers=1) as ds:
        assert list(ds) == list(retail_counts(SMALL))  # parents first
        for table, rows in retail_counts(SMALL).items():
            assert ds[table].rows() == rows
            first = pa.Table.from_batches(ds[table].batches(50_000))
            assert first.num_rows == rows
            assert first.equals(pa.Table.from_batches(ds[table].batches(50_000)))


def test_streams_are_independent_per_table_and_block() -> None:
    a, b, c = stream(1, "customers", 0), stream(1, "customers", 1), stream(1, "products", 0)
    draws = [g.integers(0, 2**62, 4).tolist() for g in (a, b, c)]
    assert len({tuple(d) for d in draws}) == 3
    assert stream(1, "customers", 1).integers(0, 2**62, 4).tolist() == draws[1]


# -- memory: blocks are made on demand --------------------------------------------------------------


def test_a_huge_scale_makes_only_the_blocks_read() -> None:
    made: list[tuple[str, int]] = []
    real = generate_run.make_block

    def spy(table: str, scale: float, seed: int, block: int) -> pa.RecordBatch:
        made.append((table, block))
        return real(table, scale, seed, block)

    with mock.patch.object(generate_run, "make_block", spy), retail_dataset(100, 1, workers=1, batch_size=10_000) as ds:
        assert ds["customers"].rows() == 100_000_000
        batches = ds["customers"].batches(10_000)
        first = next(batches)
        assert first.num_rows == 10_000
        assert made == [("customers", 0)]
        next(batches)
        assert made == [("customers", 0)]  # still slicing the first block
        batches.close()


def test_the_worker_pool_keeps_a_bounded_number_of_blocks_in_flight() -> None:
    runner = generate_run.BlockRunner(100, 1, workers=2)
    try:
        blocks = runner.blocks("store_inventory")  # 800 million rows
        assert next(blocks).num_rows == BLOCK_ROWS
        assert runner.submitted <= 2 * runner.workers + 1
        blocks.close()
    finally:
        runner.close()


# -- keys, relationships and realism (checked with DuckDB over the Parquet files) ----------------------


def test_counts_match_the_documented_table(duck: object) -> None:
    for table, rows in retail_counts(SMALL).items():
        assert _one(duck, f"SELECT count(*) FROM {table}") == rows, table
    counts = retail_counts(1)
    assert counts["customers"] == 1_000_000 and counts["stores"] == 1_000 and counts["products"] == 50_000
    assert retail_counts(2)["store_inventory"] == 2 * counts["store_inventory"]  # proportional
    with pytest.raises(UsageError):
        retail_counts(0)


def test_every_primary_and_unique_key_is_unique(duck: object) -> None:
    for table in retail_schema().tables:
        for key in [table.primary_key, *(u.columns for u in table.unique_constraints)]:
            cols = ", ".join(key)
            dupes = _one(
                duck, f"SELECT count(*) FROM (SELECT {cols} FROM {table.name} GROUP BY {cols} HAVING count(*) > 1)"
            )
            assert dupes == 0, (table.name, key)


def test_every_foreign_key_finds_its_parent(duck: object) -> None:
    checked = 0
    for table in retail_schema().tables:
        for fk in table.foreign_keys:
            (col,), (ref,) = fk.columns, fk.ref_columns
            orphans = _one(
                duck, f"SELECT count(*) FROM {table.name} c WHERE NOT EXISTS "
                f"(SELECT 1 FROM {fk.ref_table} p WHERE p.{ref} = c.{col})",
            )  # fmt: skip
            assert orphans == 0, fk.describe(table.name)
            checked += 1
    assert checked == 10


def test_geographies_are_rows_of_the_shipped_place_list(duck: object) -> None:
    unmatched = _one(
        duck, "SELECT count(*) FROM geographies g WHERE NOT EXISTS (SELECT 1 FROM places p WHERE "
        "p.postal_code = g.postal_code AND p.latitude = g.latitude AND p.longitude = g.longitude "
        "AND p.city = g.city AND p.state = g.state)",
    )  # fmt: skip
    assert unmatched == 0
    assert _one(duck, "SELECT count(DISTINCT state) FROM geographies") == 51


def test_customers_live_near_their_home_store(duck: object) -> None:
    # "near": the customer's geography is within 50 km (great circle) of the home store's geography
    far = _one(
        duck,
        """
        SELECT max(2 * 6371.0088 * asin(sqrt(
                 pow(sin(radians(h.latitude - s.latitude) / 2), 2)
               + cos(radians(s.latitude)) * cos(radians(h.latitude))
                 * pow(sin(radians(h.longitude - s.longitude) / 2), 2))))
        FROM customers c
        JOIN geographies h ON h.geography_id = c.geography_id
        JOIN stores st ON st.store_id = c.home_store_id
        JOIN geographies s ON s.geography_id = st.geography_id
        """,
    )
    assert far <= 50.0
    moved = _one(duck, "SELECT avg(CASE WHEN c.geography_id <> st.geography_id THEN 1 ELSE 0 END) FROM customers c "
                       "JOIN stores st ON st.store_id = c.home_store_id")  # fmt: skip
    assert moved > 0.5  # most customers do not live in the store's own ZIP


def test_prices_costs_and_decimals(small: Path, duck: object) -> None:
    schema = pq.read_schema(small / "products.parquet")
    assert schema.field("unit_cost").type == pa.decimal128(10, 2)
    assert schema.field("unit_price").type == pa.decimal128(10, 2)
    assert _one(duck, "SELECT count(*) FROM products WHERE unit_price < unit_cost OR unit_cost <= 0") == 0
    assert _one(duck, "SELECT count(DISTINCT category) FROM products") >= 10
    assert _one(duck, "SELECT count(DISTINCT brand) FROM products") >= 20
    cents = pq.read_table(small / "products.parquet", columns=["unit_price"]).column(0).to_pylist()
    assert all(p == p.quantize(p.__class__("0.01")) for p in cents)


def test_customers_look_real(small: Path, duck: object) -> None:
    t = pq.read_table(small / "customers.parquet").slice(0, 2_000).to_pydict()
    assert all(re.fullmatch(r"\(\d{3}\) \d{3}-\d{4}", p) for p in t["phone"])
    assert all(re.fullmatch(r"[a-z][a-z._]*\d+@example\.(com|net|org)", e) for e in t["email"])
    assert all(re.fullmatch(r"7\d{15}", c) and _luhn_ok(c) for c in t["loyalty_card"])
    assert all(u >= c for c, u in zip(t["created_at"], t["updated_at"], strict=True))
    assert "Smith" in set(t["last_name"]) and len(set(t["first_name"])) > 200
    assert _one(duck, "SELECT count(*) FROM customers WHERE birth_date > DATE '2007-01-01'") == 0


def _luhn_ok(number: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def test_the_place_list_is_real_and_consistent() -> None:
    places = _read_places()
    rows = places.to_pydict()
    assert places.num_rows == 3_819 and PLACES.stat().st_size < 1_000_000
    assert set(rows["state"]) == STATES
    assert len(set(rows["postal_code"])) == places.num_rows
    assert all(re.fullmatch(r"\d{5}", z) for z in rows["postal_code"])
    lat, lon = np.array(rows["latitude"]), np.array(rows["longitude"])
    assert ((lat > 18) & (lat < 72) & (lon > -180) & (lon < -65)).all()
    city = dict(zip(rows["postal_code"], zip(rows["city"], rows["state"], strict=True), strict=True))
    assert city["10002"] == ("New York", "NY") and city["77007"] == ("Houston", "TX")


# -- value primitives --------------------------------------------------------------------------------


@pytest.mark.parametrize("locale", ["en_US", "de_DE"])
def test_value_primitives(locale: str) -> None:
    rng = np.random.default_rng(9)
    n = 500
    who = v.people(rng, n, locale)
    generated = [
        who.first, who.last, v.full_names(rng, n, locale), v.emails(rng, n, who), v.phone_numbers(rng, n, locale),
        v.street_addresses(rng, n, locale), v.companies(rng, n, locale), v.urls(rng, n, locale=locale),
        v.countries(rng, n, locale),
    ]  # fmt: skip
    assert all(isinstance(a, pa.Array) and len(a) == n and a.null_count == 0 for a in generated)
    assert all(re.fullmatch(r"[a-z0-9._]+@example\.(com|net|org)", e) for e in generated[3].to_pylist())
    assert all(re.fullmatch(r"https://www\.[a-z0-9-]+\.[a-z]+", u) for u in generated[7].to_pylist())
    if locale == "de_DE":
        assert all(re.fullmatch(r"0\d{2,3} \d{7}", p) for p in generated[4].to_pylist())
        assert re.search(r"\d$", generated[5][0].as_py())  # Gartenstraße 12
    assert v.emails(rng, 3, unique=np.array([5, 6, 7]), locale=locale).to_pylist()[0].split("@")[0].endswith("5")


def test_numeric_and_time_primitives() -> None:
    import datetime as dt

    rng = np.random.default_rng(4)
    money = v.amounts(rng, 1_000, 1, 500, scale=2)
    assert money.type == pa.decimal128(12, 2)
    assert min(money.to_pylist()) >= 1 and max(money.to_pylist()) <= 500
    assert [str(x) for x in v.decimal_array(np.array([-150, 12_345]), 10, 2).to_pylist()] == ["-1.50", "123.45"]
    created, updated = v.created_updated(rng, 1_000, dt.datetime(2020, 1, 1), dt.datetime(2021, 1, 1))
    assert all(u >= c for c, u in zip(created.to_pylist(), updated.to_pylist(), strict=True))
    born = v.birth_dates(rng, 1_000, min_age=18, max_age=90, today=dt.date(2025, 1, 1)).to_pylist()
    assert min(born) >= dt.date(1934, 12, 1) and max(born) <= dt.date(2007, 1, 1)
    assert v.luhn_digits(np.array([7_992_739_871]), 10).tolist() == [3]
    assert v.integers(rng, 100, 1, 3).to_pylist() != [] and set(v.integers(rng, 100, 1, 3).to_pylist()) <= {1, 2, 3}
    with pytest.raises(UsageError, match="locale"):
        v.phone_numbers(rng, 1, "xx_XX")


# -- databases: create, load, read back ------------------------------------------------------------------


def test_generate_into_every_engine(engine: str, target_url: str, make_db: object) -> None:
    report = generate_retail(SMALL, 1, [target_url], create=True, workers=1)
    assert report.ok, report
    [target] = report.targets
    assert all(t.rows_rejected == 0 and t.rows_loaded == t.rows_read for t in target.tables)
    db = make_db(target_url)  # type: ignore[operator]
    for table, rows in retail_counts(SMALL).items():
        assert db.count(table) == rows, table
    price = db.query("SELECT min(unit_price - unit_cost) FROM products")[0][0]
    assert float(price) >= 0
    # a second --create keeps the tables (same shape) and creates nothing
    assert create_tables(target_url, retail_schema()) == []


def test_create_refuses_a_table_of_another_shape(sqlite_url: str, make_db: object) -> None:
    db = make_db(sqlite_url)  # type: ignore[operator]
    db.execute("CREATE TABLE stores (store_id INTEGER PRIMARY KEY, label TEXT)")
    with pytest.raises(UsageError, match=r"stores.*another shape"):
        create_tables(sqlite_url, retail_schema())
    assert db.tables() == {"stores"}  # nothing created before the refusal


def test_hybrid_run_gives_the_same_rows_in_the_database_and_the_files(duckdb_url: str, tmp_path: Path) -> None:
    import duckdb

    out = tmp_path / "files"
    report = generate_retail(SMALL, 8, [duckdb_url, str(out)], create=True, workers=1)
    assert report.ok, report
    path = duckdb_url.partition(":///")[2]
    con = duckdb.connect(path, read_only=True)
    try:
        for table in retail_counts(SMALL):
            parquet = f"read_parquet('{out / (table + '.parquet')}')"
            for a, b in ((table, parquet), (parquet, table)):
                assert con.execute(
                    f"SELECT count(*) FROM (SELECT * FROM {a} EXCEPT ALL SELECT * FROM {b})"
                ).fetchone() == (0,), table
    finally:
        con.close()
