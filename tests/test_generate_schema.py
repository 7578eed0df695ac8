"""Synthetic data from any schema (laden.generate.from_schema): constraints, realism, determinism, errors.

Every schema is created with plain DDL, reflected by laden, generated and loaded with every
constraint enabled (``on_error='fail'``). The rows are then checked independently through the
raw drivers (tests/conftest.py): row counts, FK orphans, duplicate keys and every CHECK of the
DDL text, re-run as ``WHERE NOT (check)``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import laden
from helpers import ddl
from laden.errors import UsageError
from laden.generate.from_schema import (
    Distribution,
    Fanout,
    GenerationError,
    Generator,
    Overrides,
    generate_from_schema,
    plan_schema_generation,
    read_overrides,
    schema_dataset,
)
from laden.generate.from_schema.keys import Spread
from laden.generate.from_schema.realism import guess
from laden.generate.from_schema.regex import compile_pattern
from laden.generate.locales import locale_data
from laden.schema import CheckConstraint, Column, ForeignKey, Schema, Table, TypeKind, UniqueConstraint

TPCH = """
CREATE TABLE region (r_regionkey {int} PRIMARY KEY, r_name CHAR(25) NOT NULL, r_comment VARCHAR(152));
CREATE TABLE nation (n_nationkey {int} PRIMARY KEY, n_name CHAR(25) NOT NULL UNIQUE,
  n_regionkey {int} NOT NULL REFERENCES region (r_regionkey), n_comment VARCHAR(152));
CREATE TABLE part (p_partkey {bigint} PRIMARY KEY, p_name VARCHAR(55) NOT NULL, p_mfgr CHAR(25) NOT NULL,
  p_brand CHAR(10) NOT NULL, p_type VARCHAR(25) NOT NULL, p_size {int} NOT NULL CHECK (p_size BETWEEN 1 AND 50),
  p_container CHAR(10) NOT NULL CHECK (p_container IN ('SM CASE', 'SM BOX', 'MED BAG', 'LG JAR', 'WRAP PKG')),
  p_retailprice DECIMAL(15,2) NOT NULL CHECK (p_retailprice > 0), p_comment VARCHAR(23) NOT NULL);
CREATE TABLE supplier (s_suppkey {bigint} PRIMARY KEY, s_name CHAR(25) NOT NULL, s_address VARCHAR(40) NOT NULL,
  s_nationkey {int} NOT NULL REFERENCES nation (n_nationkey), s_phone CHAR(15) NOT NULL,
  s_acctbal DECIMAL(15,2) NOT NULL, s_comment VARCHAR(101) NOT NULL);
CREATE TABLE partsupp (ps_partkey {bigint} NOT NULL REFERENCES part (p_partkey),
  ps_suppkey {bigint} NOT NULL REFERENCES supplier (s_suppkey), ps_availqty {int} NOT NULL CHECK (ps_availqty >= 0),
  ps_supplycost DECIMAL(15,2) NOT NULL CHECK (ps_supplycost > 0), ps_comment VARCHAR(199) NOT NULL,
  PRIMARY KEY (ps_partkey, ps_suppkey));
CREATE TABLE customer (c_custkey {bigint} PRIMARY KEY, c_name VARCHAR(25) NOT NULL, c_address VARCHAR(40) NOT NULL,
  c_nationkey {int} NOT NULL REFERENCES nation (n_nationkey), c_phone CHAR(15) NOT NULL,
  c_acctbal DECIMAL(15,2) NOT NULL, c_email VARCHAR(60) NOT NULL UNIQUE,
  c_mktsegment CHAR(10) NOT NULL CHECK (c_mktsegment IN ('AUTOMOBILE', 'BUILDING', 'FURNITURE', 'HOUSEHOLD')),
  c_comment VARCHAR(117) NOT NULL);
CREATE TABLE orders (o_orderkey {bigint} PRIMARY KEY, o_custkey {bigint} NOT NULL REFERENCES customer (c_custkey),
  o_orderstatus CHAR(1) NOT NULL CHECK (o_orderstatus IN ('F', 'O', 'P')),
  o_totalprice DECIMAL(15,2) NOT NULL CHECK (o_totalprice >= 0), o_orderdate {date} NOT NULL,
  o_orderpriority CHAR(15) NOT NULL, o_clerk CHAR(15) NOT NULL, o_shippriority {int} NOT NULL,
  o_comment VARCHAR(79) NOT NULL, created_at {ts} NOT NULL, updated_at {ts} NOT NULL);
CREATE TABLE lineitem (l_orderkey {bigint} NOT NULL REFERENCES orders (o_orderkey), l_partkey {bigint} NOT NULL,
  l_suppkey {bigint} NOT NULL, l_linenumber {int} NOT NULL CHECK (l_linenumber BETWEEN 1 AND 7),
  l_quantity DECIMAL(15,2) NOT NULL CHECK (l_quantity BETWEEN 1 AND 50), l_extendedprice DECIMAL(15,2) NOT NULL,
  l_discount DECIMAL(15,2) NOT NULL CHECK (l_discount BETWEEN 0 AND 0.10),
  l_tax DECIMAL(15,2) NOT NULL CHECK (l_tax >= 0 AND l_tax <= 0.08),
  l_returnflag CHAR(1) NOT NULL CHECK (l_returnflag IN ('A', 'N', 'R')), l_linestatus CHAR(1) NOT NULL,
  l_shipdate {date} NOT NULL, l_commitdate {date} NOT NULL, l_receiptdate {date} NOT NULL,
  l_shipinstruct CHAR(25) NOT NULL, l_shipmode CHAR(10) NOT NULL,
  l_comment VARCHAR(44) NOT NULL CHECK (length(l_comment) >= 5),
  PRIMARY KEY (l_orderkey, l_linenumber), CHECK (l_receiptdate >= l_shipdate),
  FOREIGN KEY (l_partkey, l_suppkey) REFERENCES partsupp (ps_partkey, ps_suppkey));
"""
TPCH_ROWS = {
    "region": 5, "nation": 25, "part": 400, "supplier": 50, "partsupp": 1600, "customer": 300, "orders": 3000,
    "lineitem": 12000,
}  # fmt: skip
TPCH_FKS = [
    ("nation", "n_regionkey", "region", "r_regionkey"),
    ("supplier", "s_nationkey", "nation", "n_nationkey"),
    ("partsupp", "ps_partkey", "part", "p_partkey"),
    ("partsupp", "ps_suppkey", "supplier", "s_suppkey"),
    ("customer", "c_nationkey", "nation", "n_nationkey"),
    ("orders", "o_custkey", "customer", "c_custkey"),
    ("lineitem", "l_orderkey", "orders", "o_orderkey"),
    ("lineitem", "l_partkey,l_suppkey", "partsupp", "ps_partkey,ps_suppkey"),
]
TPCH_KEYS = [
    ("region", "r_regionkey"), ("nation", "n_nationkey"), ("nation", "n_name"), ("part", "p_partkey"),
    ("supplier", "s_suppkey"), ("partsupp", "ps_partkey,ps_suppkey"), ("customer", "c_custkey"),
    ("customer", "c_email"), ("orders", "o_orderkey"), ("lineitem", "l_orderkey,l_linenumber"),
]  # fmt: skip

# departments <-> employees: departments.manager_id is the nullable side (DEFERRABLE where the engine has it);
# employees.manager_id is a self-reference
CYCLE = """
CREATE TABLE departments (id {int} PRIMARY KEY, name VARCHAR(60) NOT NULL UNIQUE,
  budget {dec} CHECK (budget >= 0), manager_id {int} {manager_fk},
  created_at {ts} NOT NULL, updated_at {ts} NOT NULL, CHECK (updated_at >= created_at));
CREATE TABLE employees (id {int} PRIMARY KEY, department_id {int} NOT NULL REFERENCES departments (id),
  manager_id {int} REFERENCES employees (id), first_name VARCHAR(40) NOT NULL, last_name VARCHAR(40) NOT NULL,
  email VARCHAR(80) NOT NULL UNIQUE, hired_on {date} NOT NULL CHECK (hired_on >= '2000-01-01'),
  reviewed_on {date} NOT NULL, salary {dec} NOT NULL CHECK (salary BETWEEN 1000 AND 250000),
  status VARCHAR(10) NOT NULL CHECK (status IN ('active', 'on_leave', 'left')),
  CHECK (reviewed_on > hired_on));
"""
CYCLE_ROWS = {"departments": 40, "employees": 2500}
CYCLE_FKS = [
    ("departments", "manager_id", "employees", "id"),
    ("employees", "department_id", "departments", "id"),
    ("employees", "manager_id", "employees", "id"),
]
CYCLE_KEYS = [("departments", "id"), ("departments", "name"), ("employees", "id"), ("employees", "email")]

COMPOSITE = """
CREATE TABLE warehouses (region_code VARCHAR(4) NOT NULL, warehouse_no {int} NOT NULL, name VARCHAR(60) NOT NULL,
  city VARCHAR(60), state CHAR(2), postal_code VARCHAR(10), PRIMARY KEY (region_code, warehouse_no));
CREATE TABLE bins (region_code VARCHAR(4) NOT NULL, warehouse_no {int} NOT NULL,
  bin_no {int} NOT NULL CHECK (bin_no BETWEEN 1 AND 500), label VARCHAR(12) NOT NULL UNIQUE,
  capacity {int} NOT NULL CHECK (capacity BETWEEN 10 AND 500), PRIMARY KEY (region_code, warehouse_no, bin_no),
  FOREIGN KEY (region_code, warehouse_no) REFERENCES warehouses (region_code, warehouse_no));
CREATE TABLE carriers (id {int} PRIMARY KEY, code CHAR(3) NOT NULL, country CHAR(2) NOT NULL,
  name VARCHAR(60) NOT NULL, UNIQUE (country, code));
CREATE TABLE stock (id {bigint} PRIMARY KEY, region_code VARCHAR(4) NOT NULL, warehouse_no {int} NOT NULL,
  bin_no {int} NOT NULL, sku VARCHAR(12) NOT NULL, qty {int} NOT NULL CHECK (qty >= 0),
  carrier_country CHAR(2), carrier_code CHAR(3), UNIQUE (region_code, warehouse_no, bin_no, sku),
  FOREIGN KEY (region_code, warehouse_no, bin_no) REFERENCES bins (region_code, warehouse_no, bin_no),
  FOREIGN KEY (carrier_country, carrier_code) REFERENCES carriers (country, code));
CREATE TABLE categories (id {int} PRIMARY KEY, parent_id {int} REFERENCES categories (id),
  name VARCHAR(40) NOT NULL, UNIQUE (parent_id, name));
"""
COMPOSITE_ROWS = {"warehouses": 40, "bins": 3000, "carriers": 30, "stock": 12000, "categories": 1500}
COMPOSITE_FKS = [
    ("bins", "region_code,warehouse_no", "warehouses", "region_code,warehouse_no"),
    ("stock", "region_code,warehouse_no,bin_no", "bins", "region_code,warehouse_no,bin_no"),
    ("stock", "carrier_country,carrier_code", "carriers", "country,code"),
    ("categories", "parent_id", "categories", "id"),
]
COMPOSITE_KEYS = [
    ("warehouses", "region_code,warehouse_no"), ("bins", "region_code,warehouse_no,bin_no"), ("bins", "label"),
    ("carriers", "id"), ("carriers", "country,code"), ("stock", "id"),
    ("stock", "region_code,warehouse_no,bin_no,sku"), ("categories", "id"),
]  # fmt: skip
EMAIL = re.compile(r"^[a-z]+[._]?[a-z]+\d*@example\.(com|net|org)$")


# -- independent checks through the raw drivers -------------------------------------------------------


def _checks_of(text: str) -> list[tuple[str, str]]:
    """(table, expression) of every CHECK in the DDL text, found by balancing parentheses."""
    out = []
    for statement in text.split(";"):
        match = re.search(r"CREATE TABLE (\w+)", statement)
        if not match:
            continue
        for found in re.finditer(r"CHECK \(", statement):
            depth, i = 1, found.end()
            while depth:
                depth += {"(": 1, ")": -1}.get(statement[i], 0)
                i += 1
            out.append((match.group(1), statement[found.end() : i - 1]))
    return out


def _verify(
    db: Any, text: str, rows: dict[str, int], fks: Sequence[tuple[str, ...]], keys: Sequence[tuple[str, str]]
) -> None:
    q = db.quote
    for table, count in rows.items():
        assert db.count(table) == count, table
    for child, cols, parent, refs in fks:
        on = " AND ".join(f"p.{q(r)} = c.{q(c)}" for c, r in zip(cols.split(","), refs.split(","), strict=True))
        present = " AND ".join(f"c.{q(c)} IS NOT NULL" for c in cols.split(","))
        orphans = db.query(
            f"SELECT COUNT(*) FROM {q(child)} c WHERE {present} AND NOT EXISTS (SELECT 1 FROM {q(parent)} p WHERE {on})"
        )[0][0]
        assert orphans == 0, (child, cols)
    for table, cols in keys:
        names = ", ".join(q(c) for c in cols.split(","))
        not_null = " AND ".join(f"{q(c)} IS NOT NULL" for c in cols.split(","))
        dupes = db.query(f"SELECT {names} FROM {q(table)} WHERE {not_null} GROUP BY {names} HAVING COUNT(*) > 1")
        assert dupes == [], (table, cols, dupes[:3])
    for table, check in _checks_of(text):
        bad = db.query(f"SELECT COUNT(*) FROM {q(table)} WHERE NOT ({check})")[0][0]
        assert bad == 0, (table, check)


def _create(db: Any, text: str) -> None:
    db.script(ddl(db.engine, text))


def _load(url: str, rows: dict[str, int], **kwargs: Any) -> laden.Report:
    report = generate_from_schema(url, rows=rows, seed=11, on_error="fail", **kwargs)
    assert report.ok, report
    for table in report.targets[0].tables:
        assert (table.rows_loaded, table.rows_rejected) == (rows[table.table], 0), table
    return report


def _names(engine: str, values: Sequence[Any]) -> list[str]:
    return [str(v).rstrip() for v in values]  # CHAR(n) comes back padded on some engines


# -- loading into every engine ----------------------------------------------------------------------


def test_tpch_shaped_schema_loads_into_every_engine(engine: str, target_url: str, make_db: Any) -> None:
    db = make_db(target_url)
    _create(db, TPCH)
    _load(target_url, TPCH_ROWS)
    _verify(db, TPCH, TPCH_ROWS, TPCH_FKS, TPCH_KEYS)
    people = locale_data("en_US")
    firsts = set(people.female_first.values) | set(people.male_first.values)
    names = _names(engine, [r[0] for r in db.query("SELECT c_name FROM customer")])
    assert all(n.split(" ")[0] in firsts and n.split(" ", 1)[1] in people.last.values for n in names if len(n) < 25)
    emails = [r[0] for r in db.query("SELECT c_email FROM customer")]
    assert all(EMAIL.match(e) for e in emails), [e for e in emails if not EMAIL.match(e)][:3]
    stamps = db.query("SELECT created_at, updated_at FROM orders")
    assert all(u >= c for c, u in stamps) and any(u > c for c, u in stamps)
    per_order = db.query(
        "SELECT l_orderkey, COUNT(*), MIN(l_linenumber), MAX(l_linenumber) FROM lineitem GROUP BY l_orderkey"
    )
    assert {(n, lo, hi) for _, n, lo, hi in per_order} == {(4, 1, 4)}  # 12,000 lines over 3,000 orders, uniform
    phones = _names(engine, [r[0] for r in db.query("SELECT c_phone FROM customer")])
    assert all(re.fullmatch(r"\(\d{3}\) \d{3}-\d{4}", p) for p in phones)


def test_two_table_cycle_and_a_self_reference(engine: str, target_url: str, make_db: Any) -> None:
    if engine == "duckdb":
        pytest.skip("DuckDB cannot declare a cycle between two tables (no ALTER TABLE ... ADD FOREIGN KEY)")
    db = make_db(target_url)
    inline = "REFERENCES employees (id)" if engine == "sqlite" else ""  # SQLite may name a later table
    _create(db, CYCLE.replace("{manager_fk}", inline))
    if engine != "sqlite":
        db.execute(ddl(engine, "ALTER TABLE departments ADD CONSTRAINT dept_manager FOREIGN KEY (manager_id) "
                               "REFERENCES employees (id) {deferrable}"))  # fmt: skip
    report = _load(target_url, CYCLE_ROWS)
    assert any("cycle departments <-> employees" in n for n in report.targets[0].notes)
    _verify(db, CYCLE, CYCLE_ROWS, CYCLE_FKS, CYCLE_KEYS)
    roots = db.query("SELECT COUNT(*) FROM employees WHERE manager_id IS NULL")[0][0]
    assert 1 <= roots < CYCLE_ROWS["employees"] * 0.1  # the first row and about 5% more
    later = db.query("SELECT COUNT(*) FROM employees WHERE manager_id >= id")[0][0]
    assert later == 0  # a manager is always an earlier row: loadable level by level
    assert all(EMAIL.match(e) for (e,) in db.query("SELECT email FROM employees"))


def test_composite_keys_and_a_self_reference(engine: str, target_url: str, make_db: Any) -> None:
    db = make_db(target_url)
    _create(db, COMPOSITE)
    _load(target_url, COMPOSITE_ROWS)
    _verify(db, COMPOSITE, COMPOSITE_ROWS, COMPOSITE_FKS, COMPOSITE_KEYS)
    per_warehouse = db.query(
        "SELECT region_code, warehouse_no, COUNT(*), MAX(bin_no) FROM bins GROUP BY region_code, warehouse_no"
    )
    assert len(per_warehouse) == 40 and {(n, top) for *_, n, top in per_warehouse} == {(75, 75)}
    regions = {r[0] for r in db.query("SELECT region_code FROM warehouses")}
    assert 1 < len(regions) < 40  # a mixed-radix split: several warehouses per region


# -- determinism ---------------------------------------------------------------------------------------


def _col(name: str, kind: TypeKind, type_: str = "", *, nullable: bool = True, **kw: Any) -> Column:
    return Column(name, type_ or kind.value, kind, nullable=nullable, **kw)


def _int(name: str, **kw: Any) -> Column:
    return _col(name, TypeKind.INTEGER, "integer", int_bits=32, **kw)


def _text(name: str, length: int | None = None, **kw: Any) -> Column:
    return _col(name, TypeKind.STRING, f"varchar({length})" if length else "text", max_length=length, **kw)


def _shop() -> Schema:
    customers = Table(
        "customers",
        (_int("id", nullable=False), _text("email", 80, nullable=False), _text("first_name", 40),
         _text("last_name", 40), _col("created_at", TypeKind.TIMESTAMP), _col("updated_at", TypeKind.TIMESTAMP),
         _text("status", 10, nullable=False), _text("sku", 12), _col("total", TypeKind.DECIMAL, "numeric(10,2)",
         precision=10, scale=2), _text("note", 40)),
        primary_key=("id",),
        unique_constraints=(UniqueConstraint(("email",)),),
        checks=(CheckConstraint("status IN ('new', 'paid', 'shipped')"),),
    )  # fmt: skip
    orders = Table(
        "orders",
        (_int("id", nullable=False), _int("customer_id"), _int("parent_id"), _col("placed", TypeKind.DATE)),
        primary_key=("id",),
        foreign_keys=(ForeignKey(("customer_id",), "customers", ("id",)),
                      ForeignKey(("parent_id",), "orders", ("id",))),
    )  # fmt: skip
    return Schema((customers, orders))


def _tables(plan: Any, batch_size: int) -> dict[str, pa.Table]:
    with schema_dataset(plan, batch_size=batch_size) as ds:
        return {name: pa.Table.from_batches(list(src.batches(batch_size)), src.schema()) for name, src in ds.items()}


def test_same_seed_gives_identical_tables_for_any_batch_size() -> None:
    rows = {"customers": 70_000, "orders": 1_000}  # more than one generation block (65,536 rows)
    one = _tables(plan_schema_generation(_shop(), rows, seed=4), 100_000)
    two = _tables(plan_schema_generation(_shop(), rows, seed=4), 7_777)
    other = _tables(plan_schema_generation(_shop(), rows, seed=5), 100_000)
    for name in rows:
        assert one[name].num_rows == rows[name]
        assert one[name].equals(two[name]), name
    assert not one["customers"].column("email").equals(other["customers"].column("email"))
    assert one["customers"].column("id").equals(other["customers"].column("id"))  # keys are the row index


def test_sources_are_replayable_and_count_their_rows() -> None:
    plan = plan_schema_generation(_shop(), {"customers": 10, "orders": 0}, seed=1)
    ds = schema_dataset(plan)
    assert list(ds) == ["customers", "orders"]  # parents first
    first = list(ds["customers"].batches(4))
    assert [b.num_rows for b in first] == [4, 4, 2]
    assert pa.Table.from_batches(first).equals(pa.Table.from_batches(list(ds["customers"].batches(4))))
    assert ds["customers"].rows() == 10 and list(ds["orders"].batches(10)) == []


# -- overrides and fan-out ------------------------------------------------------------------------------


def test_overrides_apply_values_range_regex_and_generator() -> None:
    overrides = Overrides.parse({
        "customers.status": {"values": {"new": 8, "paid": 1, "shipped": 1}},
        "customers.total": {"range": [5, 20]},
        "customers.sku": {"regex": "[A-Z]{3}-[0-9]{4}"},
        "customers.note": {"generator": "company", "nulls": 0.5},
        "orders.placed": {"range": ["2021-01-01", "2021-01-31"]},
        "orders.customer_id": {"nulls": 0.3},
    })  # fmt: skip
    plan = plan_schema_generation(_shop(), {"customers": 20_000, "orders": 5_000}, seed=2, overrides=overrides)
    tables = _tables(plan, 100_000)
    c = tables["customers"]
    shares = {
        k: v / c.num_rows
        for k, v in zip(*np.unique(c.column("status").to_numpy(zero_copy_only=False), return_counts=True), strict=True)
    }
    assert set(shares) == {"new", "paid", "shipped"} and 0.77 < shares["new"] < 0.83
    totals = c.column("total").to_pylist()
    assert min(totals) >= 5 and max(totals) <= 20 and len(set(totals)) > 100
    assert all(re.fullmatch(r"[A-Z]{3}-[0-9]{4}", s) for s in c.column("sku").to_pylist())
    notes = c.column("note")
    assert 0.47 < notes.null_count / c.num_rows < 0.53
    suffixes = set(locale_data("en_US").company_suffixes.values)
    assert all(any(n.endswith(s) for s in suffixes) for n in notes.drop_null().to_pylist())
    placed = tables["orders"].column("placed").to_pylist()
    assert min(placed) >= dt.date(2021, 1, 1) and max(placed) <= dt.date(2021, 1, 31)
    assert 0.27 < tables["orders"].column("customer_id").null_count / 5_000 < 0.33


def test_overrides_from_laden_yaml_report_every_problem_with_its_line() -> None:
    text = """
datasources: {}
generators:
  customers.status: {values: [new, paid]}
  customers.total: {range: [1]}
  nodot: {regex: x}
  orders.customer_id: {fanout: sideways}
"""
    import yaml

    from laden.config import Reader, _line_map

    data = yaml.safe_load(text)
    reader = Reader("laden.yaml", _line_map(yaml.compose(text)), {})
    assert read_overrides(reader, ("generators",), data["generators"]) is None
    assert reader.problems == [
        "laden.yaml:5: generators.customers.total.range: expected [low, high]",
        "laden.yaml:6: generators.nodot: expected TABLE.COLUMN",
        "laden.yaml:7: generators.orders.customer_id.fanout: expected one of uniform, zipf, got 'sideways'",
    ]
    good = yaml.safe_load("customers.status: {values: {new: 3, paid: 1}}\norders.customer_id: {fanout: zipf, skew: 2}")
    parsed = read_overrides(Reader("laden.yaml", {}, {}), ("generators",), good)
    assert parsed == Overrides.parse(good)
    assert parsed is not None and parsed.get("orders", "customer_id").fanout == Fanout(Distribution.ZIPF, 2.0)  # type: ignore[union-attr]


def test_zipf_fanout_skews_children_and_nullable_fks_take_a_null_share() -> None:
    fanout = {"orders.customer_id": Fanout(Distribution.ZIPF, skew=1.2, nulls=0.2)}
    plan = plan_schema_generation(_shop(), {"customers": 1_000, "orders": 50_000}, seed=3, fanout=fanout)
    orders = _tables(plan, 100_000)["orders"]
    owners = orders.column("customer_id")
    assert 0.18 < owners.null_count / orders.num_rows < 0.22
    counts = np.sort(np.unique(owners.drop_null().to_numpy(), return_counts=True)[1])[::-1]
    assert counts[0] > 20 * np.median(counts)  # a few customers have most orders
    parents = orders.column("parent_id").to_numpy(zero_copy_only=False)
    ids = orders.column("id").to_numpy()
    assert np.all(np.isnan(parents) | (parents < ids))  # self-reference: an earlier row or a root


def test_spread_layout_is_exact_for_uniform_and_zipf() -> None:
    for spread in (Spread(1000, 37), Spread(37, 1000), Spread(5000, 300, Distribution.ZIPF, 1.0)):
        i = np.arange(spread.children)
        slot = spread.slot(i)
        assert np.all(np.diff(slot) >= 0) and slot.min() >= 0 and slot.max() < spread.parents
        rank = spread.rank(i, slot)
        assert np.all((rank >= 0) & (rank < spread.most_children()))
        assert np.all(spread.start(slot) <= i) and np.all(i < spread.start(slot + 1))


# -- what cannot be generated ----------------------------------------------------------------------------


def _impossible() -> Schema:
    part = Table("part", (_int("id", nullable=False),), primary_key=("id",))
    supplier = Table("supplier", (_int("id", nullable=False),), primary_key=("id",))
    partsupp = Table(
        "partsupp",
        (_int("part_id", nullable=False), _int("supplier_id", nullable=False), _text("tag", 10), _int("level"),
         _text("word", 5)),
        primary_key=("part_id", "supplier_id"),
        foreign_keys=(ForeignKey(("part_id",), "part", ("id",)), ForeignKey(("supplier_id",), "supplier", ("id",))),
        unique_constraints=(UniqueConstraint(("tag",)),),
        checks=(CheckConstraint("tag ~ '^[a-z]+$'"), CheckConstraint("level * 2 > 10"),
                CheckConstraint("word IN ('apple', 'pear') AND length(word) < 4")),
    )  # fmt: skip
    codes = Table("codes", (_text("code", 2, nullable=False),), unique_constraints=(UniqueConstraint(("code",)),))
    staff = Table(
        "staff",
        (_int("id", nullable=False), _int("boss_id", nullable=False)),
        primary_key=("id",),
        foreign_keys=(ForeignKey(("boss_id",), "staff", ("id",)),),
    )
    return Schema((part, supplier, partsupp, codes, staff))


def test_unsatisfiable_schema_lists_every_problem_before_generating() -> None:
    rows = {"part": 10, "supplier": 10, "partsupp": 500, "codes": 5000, "staff": 5}
    with pytest.raises(GenerationError) as info:
        plan_schema_generation(_impossible(), rows)
    assert str(info.value) == (
        "cannot generate data for this schema (6 problems):\n"
        "  partsupp: CHECK (level * 2 > 10): laden cannot read it (expected a comparison, BETWEEN, IN, MATCHES or IS "
        "NOT NULL at position 7, found '*'); it can satisfy comparisons with constants, IN, BETWEEN, length() and "
        "comparisons of two columns\n"
        "  partsupp: column word: no value of its IN list fits the other constraints\n"
        "  partsupp: PRIMARY KEY (part_id, supplier_id): up to 50 rows share one part row, but supplier has only 10 "
        "rows to pair with each; at most 100 rows fit\n"
        "  partsupp: UNIQUE (tag): cannot make 500 rows distinct: tag: pattern '^[a-z]+$' varies in shape: distinct "
        "values need a fixed-width pattern\n"
        "  codes: UNIQUE (code): cannot make 5,000 rows distinct: code: varchar(2) allows only 1,296 distinct values "
        "here, 5,000 needed\n"
        "  staff: FOREIGN KEY staff(boss_id) -> staff(id): a NOT NULL self-reference needs a first row that "
        "references itself, a loop the database refuses unless the FK is DEFERRABLE; make boss_id nullable or "
        "the FK DEFERRABLE"
    )
    assert isinstance(info.value, UsageError) and len(info.value.problems) == 6
    assert info.value.problems[4].table == "codes" and info.value.problems[4].subject == "UNIQUE (code)"


def test_override_problems_are_reported_with_the_schema_problems() -> None:
    overrides = Overrides.parse({
        "customers.status": {"values": ["new", "lost"]},
        "customers.total": {"regex": "[0-9]+"},
        "customers.email": {"fanout": "zipf"},
        "customers.nope": {"generator": "email"},
        "orders.customer_id": {"range": [1, 5]},
        "orders.placed": {"generator": "email"},
    })  # fmt: skip
    with pytest.raises(GenerationError) as info:
        plan_schema_generation(_shop(), 100, overrides=overrides)
    assert [str(p) for p in info.value.problems] == [
        "customers: override customers.nope: no such column (columns: id, email, first_name, last_name, "
        "created_at, updated_at, status, sku, total, note)",
        "customers: override customers.email: fanout is for foreign-key columns",
        "customers: column status: values 'lost' do not fit varchar(10) and its CHECKs (status in ('new', 'paid', "
        "'shipped'))",
        "customers: column total: a regex needs a text column; total is numeric(10,2)",
        "orders: override orders.customer_id: a foreign-key column takes its parent's keys; give fanout, skew or nulls",
        "orders: column placed: generator email makes no date values",
    ]
    with pytest.raises(UsageError, match="rows given for table 'nope'"):
        plan_schema_generation(_shop(), {"nope": 3})
    with pytest.raises(
        UsageError, match=r"invalid overrides:\n  overrides: customers.email.generator: expected one of"
    ):
        Overrides.parse({"customers.email": {"generator": "postcard"}})


# -- realism and primitives ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "column", "kind", "expected"),
    [
        ("customer", "c_email", TypeKind.STRING, Generator.EMAIL),
        ("users", "firstName", TypeKind.STRING, Generator.FIRST_NAME),
        ("customer", "c_name", TypeKind.STRING, Generator.FULL_NAME),
        ("supplier", "s_name", TypeKind.STRING, Generator.COMPANY),
        ("shipments", "ship_to_postal_code", TypeKind.STRING, Generator.POSTAL_CODE),
        ("orders", "o_totalprice", TypeKind.DECIMAL, Generator.PRICE),
        ("lineitem", "l_quantity", TypeKind.DECIMAL, Generator.QUANTITY),
        ("orders", "updated_at", TypeKind.TIMESTAMP, Generator.UPDATED_AT),
        ("people", "date_of_birth", TypeKind.DATE, Generator.BIRTH_DATE),
        ("orders", "status", TypeKind.STRING, Generator.STATUS),
        ("accounts", "website", TypeKind.STRING, Generator.URL),
        ("orders", "o_shippriority", TypeKind.INTEGER, Generator.NUMBER),
    ],
)
def test_column_names_pick_realistic_generators(table: str, column: str, kind: TypeKind, expected: Generator) -> None:
    assert guess(table, Column(column, kind.value, kind)) is expected


def test_regex_values_match_and_enumerate_distinct() -> None:
    pattern = compile_pattern(r"^[A-Z]{2}\d{3}(-[a-c]{1,2})?$")
    values = pattern.random(np.random.default_rng(0), 2000).to_pylist()
    assert all(re.fullmatch(r"[A-Z]{2}\d{3}(-[a-c]{1,2})?", v) for v in values)
    fixed = compile_pattern("[A-Z]{2}-[0-9]{3}")
    assert fixed.capacity() == 676_000
    nth = fixed.nth(np.arange(0, 676_000, 997))
    assert len(set(nth.to_pylist())) == len(nth) and pc.all(pc.match_substring_regex(nth, r"^[A-Z]{2}-\d{3}$")).as_py()


DEVICES = """
CREATE TABLE devices (id {uuid} PRIMARY KEY, serial VARCHAR(8) NOT NULL UNIQUE{serial_check}, active {bool} NOT NULL,
  opens_at {time}, seen_at {tstz}, score {float} NOT NULL CHECK (score >= 0 AND score <= 1), meta {json},
  payload {bytes}, price {dec} NOT NULL CHECK (price <> 0),
  kind VARCHAR(5) NOT NULL CHECK (kind <> 'x' AND length(kind) = 5));
CREATE TABLE readings (device_id {uuid} NOT NULL REFERENCES devices (id), seq {int} NOT NULL, value {float},
  PRIMARY KEY (device_id, seq));
"""
_PATTERN = {
    "postgresql": " CHECK (serial ~ '^[A-Z]{3}-[0-9]{4}$')",
    "mysql": " CHECK (serial REGEXP '^[A-Z]{3}-[0-9]{4}$')",
    "duckdb": " CHECK (regexp_full_match(serial, '[A-Z]{3}-[0-9]{4}'))",
    "sqlite": "",  # no regular expressions in SQLite
}


def test_every_column_type_and_a_pattern_check(engine: str, target_url: str, make_db: Any) -> None:
    db = make_db(target_url)
    db.script(ddl(engine, DEVICES.replace("{serial_check}", "@")).replace("@", _PATTERN[engine]))
    rows = {"devices": 500, "readings": 5000}
    _load(target_url, rows)
    checks = [(t, c) for t, c in _checks_of(DEVICES) if "serial" not in c]
    for table, check in checks:
        assert db.query(f"SELECT COUNT(*) FROM {table} WHERE NOT ({check})")[0][0] == 0, check
    serials = [r[0] for r in db.query("SELECT serial FROM devices")]
    assert len(set(serials)) == 500
    if engine != "sqlite":
        assert all(re.fullmatch(r"[A-Z]{3}-[0-9]{4}", s) for s in serials)
    assert db.query("SELECT COUNT(DISTINCT device_id) FROM readings")[0][0] == 500


def test_identity_columns_key_overrides_and_locales() -> None:
    identity = Column("id", "integer", TypeKind.INTEGER, nullable=False, generated=True, computed=True)
    tickets = Table("tickets", (identity, _text("title", 40)), primary_key=("id",))
    plan = plan_schema_generation(Schema((tickets,)), 5)
    assert _tables(plan, 10)["tickets"].column_names == ["title"]  # the database numbers the rows itself
    notes = Table("notes", (_int("ticket_id"),), foreign_keys=(ForeignKey(("ticket_id",), "tickets", ("id",)),))
    overrides = Overrides.parse({"customers.id": {"generator": "price"}, "customers.email": {"nulls": 0.1}})
    with pytest.raises(GenerationError) as info:
        plan_schema_generation(Schema((tickets, notes, *_shop().tables)), 5, overrides=overrides)
    assert [str(p) for p in info.value.problems] == [
        "tickets: column id: is filled by the database (GENERATED ALWAYS) but referenced by a foreign key: the rows "
        "that reference it cannot know its values; make it GENERATED BY DEFAULT",
        "customers: override customers.id: id is a key: its values follow the row number (1 + k * 1 (units)); "
        "shape them with range:, values: or regex:",
        "customers: override customers.email: email is a key: it is never NULL",
    ]
    german = _tables(plan_schema_generation(_shop(), {"customers": 300, "orders": 0}, locale="de_DE"), 1000)
    names = locale_data("de_DE")
    firsts = set(names.female_first.values) | set(names.male_first.values)
    assert set(german["customers"].column("first_name").to_pylist()) <= firsts
    assert all(EMAIL.match(e) for e in german["customers"].column("email").to_pylist())


def test_not_null_deferrable_self_reference_starts_at_a_row_referencing_itself(
    engine: str, target_url: str, make_db: Any
) -> None:
    if engine in ("mysql", "duckdb"):
        pytest.skip(f"{engine} has no DEFERRABLE foreign keys")
    db = make_db(target_url)
    _create(db, "CREATE TABLE staff (id {int} PRIMARY KEY, boss_id {int} NOT NULL REFERENCES staff (id) {deferrable});")
    _load(target_url, {"staff": 300})
    assert db.query("SELECT COUNT(*) FROM staff WHERE boss_id = id")[0][0] == 1
    assert (
        db.query("SELECT COUNT(*) FROM staff s WHERE NOT EXISTS (SELECT 1 FROM staff b WHERE b.id = s.boss_id)")[0][0]
        == 0
    )


def test_generate_into_files_and_only_some_tables(sqlite_url: str, tmp_path: Any, make_db: Any) -> None:
    import pyarrow.parquet as pq

    db = make_db(sqlite_url)
    db.script(
        "CREATE TABLE a (id INTEGER PRIMARY KEY, name TEXT NOT NULL);"
        "CREATE TABLE b (id INTEGER PRIMARY KEY, a_id INTEGER REFERENCES a (id), email TEXT);"
        "CREATE TABLE c (id INTEGER PRIMARY KEY, a_id INTEGER NOT NULL REFERENCES a (id));"
    )
    out = tmp_path / "out"
    report = generate_from_schema(sqlite_url, [str(out)], rows=50, tables=["b"], seed=1)
    assert report.ok, report
    b = pq.read_table(out / "b.parquet")
    assert b.num_rows == 50 and b.column("a_id").null_count == 50  # its parent is not generated: NULL
    assert all(EMAIL.match(e) for e in b.column("email").to_pylist())
    assert db.count("b") == 0  # the source is only read
    with pytest.raises(GenerationError, match=r"c: FOREIGN KEY c\(a_id\) -> a\(id\): a is not in the schema"):
        generate_from_schema(sqlite_url, rows=5, tables=["c"])
