"""Model export (laden.export, ``laden model``) against real databases of every engine.

A table with a rich set of types, NOT NULL and nullable columns, a decimal(12,2), a
varchar(10), CHECKs (``qty > 0``, an enum-like IN list, one with OR that no format can
state), an FK and a column name with a space is loaded with ``laden.load``; then

1. the JSON Schema validates every row read back (converted as ``laden query --json``
   prints rows) and rejects rows breaking each rule;
2. the Pydantic module imports, validates every row and refuses the bad ones;
3. the SQLAlchemy module creates an equivalent table in a fresh database of the engine;
4. PURE: exact text for a small table, and multiplicities per column;
5. user constraints merge into every format; bad ones give exact messages.

The constraint parser and the renderers are also tested without a database.
"""

from __future__ import annotations

import base64
import datetime as dt
import importlib.util
import itertools
import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import quote, urlsplit

import jsonschema
import pydantic
import pytest
import rfc3339_validator  # noqa: F401 - without it jsonschema silently skips date-time checks
import sqlalchemy as sa

import laden
from helpers import ddl
from laden.errors import UsageError
from laden.export import ModelFormat, model, parse_checks, parse_constraints, render
from laden.export.constraints import Between, Compare, Matches, Measure, NotNull, OneOf, Op, describe
from laden.schema import CheckConstraint, Column, ForeignKey, Schema, Table, TypeKind

K = TypeKind
UTC = dt.timezone.utc

ITEMS = """
CREATE TABLE parent (id {bigint} PRIMARY KEY, name {text});
CREATE TABLE items (
  id {bigint} PRIMARY KEY,
  parent_id {bigint} REFERENCES parent(id),
  qty {int} NOT NULL CHECK (qty > 0),
  status {vc10} NOT NULL CHECK (status IN ('new', 'paid')),
  price {dec} NOT NULL,
  note {vc10},
  ratio {float},
  active {bool},
  day {date},
  at_time {time},
  created {ts},
  stamped {tstz},
  doc {json},
  uid {uuid},
  payload {bytes},
  {q}unit price{q} {dec},
  CHECK (qty < 1000000 OR status = 'paid')
);
"""

ROWS: list[dict[str, Any]] = [
    {
        "id": 1,
        "parent_id": 1,
        "qty": 1,
        "status": "new",
        "price": Decimal("0.00"),
        "note": "plain",
        "ratio": 0.5,
        "active": True,
        "day": dt.date(2024, 1, 31),
        "at_time": dt.time(0, 0),
        "created": dt.datetime(2024, 1, 31, 23, 59, 59, 999999),
        "stamped": dt.datetime(2024, 6, 1, 12, 0, tzinfo=UTC),
        "doc": '{"a": [1, 2, {"b": null}], "ü": "✓"}',
        "uid": str(uuid.UUID(int=1)),
        "payload": b"\x00\xff",
        "unit price": Decimal("1.50"),
    },
    {
        "id": -9223372036854775808,
        "parent_id": None,
        "qty": 2147483647,
        "status": "paid",
        "price": Decimal("9999999999.99"),
        "note": "日本語テキスト✓ä",
        "ratio": -1.5e300,
        "active": False,
        "day": dt.date(1970, 1, 1),
        "at_time": dt.time(23, 59, 59, 500000),
        "created": dt.datetime(2000, 2, 29, 12, 0),
        "stamped": dt.datetime(2038, 1, 1, tzinfo=UTC),
        "doc": '[1, "x"]',
        "uid": "6f1d0c3e-6c5b-4f6e-9a53-1c2b3d4e5f60",
        "payload": b"",
        "unit price": Decimal("-0.01"),
    },
    {
        "id": 9223372036854775807,
        "parent_id": 2,
        "qty": 999999,
        "status": "new",
        "price": Decimal("-9999999999.99"),
        **dict.fromkeys(
            ["note", "ratio", "active", "day", "at_time", "created", "stamped", "doc", "uid", "payload", "unit price"]
        ),
    },
]

UNTRANSLATED = re.compile(r"qty.{0,4} < 1000000\)? or .{0,12}status.{0,12} = 'paid'", re.IGNORECASE)

#: (change to a valid row, reason): each must be refused by the JSON Schema; the ones
#: marked True by the Pydantic model too (Pydantic coerces the others on purpose)
BAD_ROWS: list[tuple[dict[str, Any], str, bool]] = [
    ({"qty": 0}, "CHECK qty > 0", True),
    ({"qty": None}, "qty NOT NULL", True),
    ({"id": 2**63}, "bigint range", True),
    ({"status": "lost"}, "CHECK status IN (...)", True),
    ({"price": "1.234"}, "decimal scale", True),
    ({"price": "12345678901.00"}, "decimal precision", True),
    ({"price": 1.5}, "decimals are strings", False),
    ({"uid": "not-a-uuid"}, "uuid", True),
    ({"day": "2024-02-30"}, "date", True),
    ({"created": "2024-01-31 23:59:59"}, "ISO 8601 timestamp", False),
    ({"payload": "***"}, "base64", True),
    ({"extra": 1}, "unknown column", True),
]


# --------------------------------------------------------------------------- helpers


def bad_rows(table: Table, *, pydantic_too: bool = False) -> list[dict[str, Any]]:
    """The changes in BAD_ROWS, plus those that depend on how the engine reflects the table."""
    bad = [change for change, _, strict in BAD_ROWS if strict or not pydantic_too]
    if table.column("note").max_length == 10:  # type: ignore[union-attr]  # SQLite, DuckDB: unbounded
        bad.append({"note": "x" * 11})
    if table.column("qty").int_bits == 32:  # type: ignore[union-attr]  # SQLite: 64 bits
        bad.append({"qty": 2**31})
    if table.column("stamped").kind is K.TIMESTAMP_TZ:  # type: ignore[union-attr]  # SQLite: no time zone
        bad.append({"stamped": "2024-06-01T12:00:00"})  # an instant needs an offset
    return bad


def engine_of(url: str) -> str:
    scheme = url.partition("://")[0].split("+")[0]
    return {"postgres": "postgresql", "mariadb": "mysql"}.get(scheme, scheme)


def create_items(db: Any) -> Table:
    db.script(ddl(db.engine, ITEMS))
    report = laden.load({"parent": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}], "items": ROWS}, db.url)
    report.raise_for_status()
    table = laden.inspect(db.url).table("items")
    assert table is not None
    return table


def json_value(value: Any, column: Column) -> Any:
    """A value read back by the raw driver, as ``laden query --json`` prints it (decimals as
    strings, ISO 8601 dates and times, base64 bytes, UUIDs as strings). Where a driver gives
    the stored form instead of the type (SQLite text dates, 0/1 booleans, floats for
    decimals; pymysql timedelta for TIME, naive datetimes for TIMESTAMP), the column's
    kind says what it is."""
    if value is None:
        return None
    kind = column.kind
    if kind is K.BOOLEAN:
        return bool(value)
    if kind is K.DECIMAL:
        return str(value if isinstance(value, Decimal) else Decimal(str(value)))
    if kind is K.DATE:
        return value.isoformat() if isinstance(value, dt.date) else dt.date.fromisoformat(value).isoformat()
    if kind is K.TIME:
        if isinstance(value, dt.timedelta):  # pymysql: TIME as a duration since midnight
            value = (dt.datetime.min + value).time()
        return (value if isinstance(value, dt.time) else dt.time.fromisoformat(value)).isoformat()
    if kind in (K.TIMESTAMP, K.TIMESTAMP_TZ):
        stamp = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)
        if kind is K.TIMESTAMP_TZ and stamp.tzinfo is None:  # MySQL TIMESTAMP: an instant, read naive
            stamp = stamp.replace(tzinfo=UTC)
        return stamp.isoformat()
    if kind is K.UUID:
        return str(uuid.UUID(bytes=value) if isinstance(value, bytes) else uuid.UUID(str(value)))
    if kind is K.BINARY:
        return base64.b64encode(bytes(value)).decode("ascii")
    if kind is K.JSON:
        return json.loads(value) if isinstance(value, str) else value
    return value


def read_rows(db: Any, table: Table) -> list[dict[str, Any]]:
    """Every row of ``table`` as a JSON-ready dict (column name -> value), by id."""
    rows = db.query(f"SELECT * FROM {db.quote(table.name)} ORDER BY id")
    return [{c.name: json_value(v, c) for c, v in zip(table.columns, row, strict=True)} for row in rows]


def python_row(row: dict[str, Any], table: Table) -> dict[str, Any]:
    """The JSON row back as Python values (Decimal, date, datetime, UUID, bytes)."""
    parse: dict[TypeKind, Callable[[Any], Any]] = {
        K.DECIMAL: Decimal,
        K.DATE: dt.date.fromisoformat,
        K.TIME: dt.time.fromisoformat,
        K.TIMESTAMP: dt.datetime.fromisoformat,
        K.TIMESTAMP_TZ: dt.datetime.fromisoformat,
        K.UUID: uuid.UUID,
        K.BINARY: base64.b64decode,
    }
    out = {}
    for column in table.columns:
        value = row[column.name]
        out[column.name] = value if value is None or column.kind not in parse else parse[column.kind](value)
    return out


_modules = itertools.count(1)


def import_text(text: str, directory: Path) -> ModuleType:
    """Write ``text`` as a module and import it (a fresh module name each time)."""
    name = f"laden_model_{next(_modules)}"
    path = directory / f"{name}.py"
    path.write_text(text, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    return module


def sa_url(url: str) -> str:
    driver = {"postgresql": "postgresql+psycopg", "mysql": "mysql+pymysql"}.get(engine_of(url), engine_of(url))
    return driver + "://" + url.partition("://")[2]


_copies = itertools.count(1)


@pytest.fixture
def copy_url(engine: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A second fresh, empty database of ``engine``: the SQLAlchemy model is created there."""
    if engine in ("sqlite", "duckdb"):
        yield f"{engine}:///" + quote(str(tmp_path / f"copy.{'db' if engine == 'sqlite' else 'duckdb'}"))
        return
    server = request.getfixturevalue("postgres_server_url" if engine == "postgresql" else "mysql_server_url")
    name = f"laden_m{os.getpid()}_{next(_copies)}"
    admin = sa.create_engine(sa_url(server), isolation_level="AUTOCOMMIT")
    quoted = f'"{name}"' if engine == "postgresql" else f"`{name}`"
    with admin.connect() as con:
        con.execute(sa.text(f"CREATE DATABASE {quoted}"))
    try:
        yield urlsplit(server)._replace(path="/" + name).geturl()
    finally:
        with admin.connect() as con:
            force = " WITH (FORCE)" if engine == "postgresql" else ""
            con.execute(sa.text(f"DROP DATABASE IF EXISTS {quoted}{force}"))
        admin.dispose()


def validator(schema: dict[str, Any]) -> Any:
    cls = jsonschema.Draft202012Validator
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


# --------------------------------------------------------------------------- 1. JSON Schema


def test_json_schema_validates_every_row_and_rejects_each_violation(db: Any, engine: str) -> None:
    table = create_items(db)
    schema = json.loads(model(db.url, "items", format="jsonschema"))
    check = validator(schema)
    rows = read_rows(db, table)
    assert len(rows) == len(ROWS)
    for row in rows:
        errors = [e.message for e in check.iter_errors(row)]
        assert not errors, (row, errors)

    props = schema["properties"]
    assert schema["required"] == list(table.column_names)
    assert props["qty"]["type"] == "integer" and props["qty"]["minimum"] == 1
    assert props["status"]["enum"] == ["new", "paid"]
    assert props["price"] == {
        "type": "string",
        "pattern": r"^-?[0-9]{1,10}(\.[0-9]{1,2})?$",
        "x-sql-type": table.column("price").type,  # type: ignore[union-attr]
    }
    assert props["note"]["type"] == ["string", "null"]
    assert props["parent_id"]["x-references"] == "parent.id"
    assert props["uid"]["format"] == "uuid" and props["day"]["format"] == "date"
    assert UNTRANSLATED.search(schema["$comment"]), schema["$comment"]
    bounded = engine in ("postgresql", "mysql")  # SQLite and DuckDB keep no varchar length
    assert props["note"].get("maxLength") == (10 if bounded else None)

    good = next(r for r in rows if r["id"] == 1)
    for change in bad_rows(table):
        assert not check.is_valid({**good, **change}), change
    assert not check.is_valid({k: v for k, v in good.items() if k != "note"}), "a column may not be missing"


# --------------------------------------------------------------------------- 2. Pydantic


def test_pydantic_module_validates_every_row_and_refuses_bad_ones(db: Any, engine: str, tmp_path: Path) -> None:
    table = create_items(db)
    text = model(db.url, "items", format=ModelFormat.PYDANTIC)
    module = import_text(text, tmp_path)
    items = module.Items
    assert issubclass(items, pydantic.BaseModel)
    rows = read_rows(db, table)
    for row in rows:
        parsed = items.model_validate_json(json.dumps(row))
        assert parsed.unit_price == (None if row["unit price"] is None else Decimal(row["unit price"]))
        again = items.model_validate(python_row(row, table))
        assert again == parsed
    assert items.model_fields["unit_price"].alias == "unit price"
    assert "Optional" in text and "_pd.Field(max_digits=12, decimal_places=2)" in text
    assert '_t.Literal["new", "paid"]' in text
    assert UNTRANSLATED.search(items.__doc__), items.__doc__

    good = next(r for r in rows if r["id"] == 1)
    for change in bad_rows(table, pydantic_too=True):
        with pytest.raises(pydantic.ValidationError):
            items.model_validate_json(json.dumps({**good, **change}))
    with pytest.raises(pydantic.ValidationError):
        items.model_validate_json(json.dumps({k: v for k, v in good.items() if k != "note"}))


# --------------------------------------------------------------------------- 3. SQLAlchemy


def _shape(table: Table) -> dict[str, Any]:
    columns = [
        (c.name, c.kind, c.nullable, c.max_length, c.precision, c.scale, c.int_bits, c.unsigned, c.float_bits)
        for c in table.columns
    ]
    return {
        "columns": columns,
        "primary_key": table.primary_key,
        "foreign_keys": sorted((fk.columns, fk.ref_table, fk.ref_columns) for fk in table.foreign_keys),
        "unique": sorted(u.columns for u in table.unique_constraints),
        "checks": len(table.checks),
    }


def test_sqlalchemy_module_recreates_an_equivalent_table(db: Any, engine: str, copy_url: str, tmp_path: Path) -> None:
    original = create_items(db)
    text = model(db.url, "items", format="sqlalchemy")
    module = import_text(text, tmp_path)
    assert module.Items.__table__.name == "items"
    assert '_orm.mapped_column("unit price", _sa.Numeric(12, 2)' in text
    assert UNTRANSLATED.search(text), text

    # as a user would: a fresh interpreter imports the module and creates the tables (DuckDB's
    # bindings also complain at exit when SQLAlchemy and laden used DuckDB in one process)
    path = tmp_path / "items_orm.py"
    path.write_text(text, encoding="utf-8")
    create = (
        "import importlib.util, sys, sqlalchemy\n"
        "spec = importlib.util.spec_from_file_location('items_orm', sys.argv[1])\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
        "engine = sqlalchemy.create_engine(sys.argv[2])\n"
        "module.Base.metadata.create_all(engine)\n"
        "engine.dispose()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", create, str(path), sa_url(copy_url)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    copy = laden.inspect(copy_url)
    assert set(copy.table_names) == {"items", "parent"}  # the referenced table as a stub
    items = copy.table("items")
    assert items is not None
    assert _shape(items) == _shape(original)
    time_precision = {c.name: c.time_precision for c in original.columns}
    assert {c.name: c.time_precision for c in items.columns} == time_precision

    # the copy enforces the same rules: a valid row loads, a row breaking a check does not
    valid = laden.load({"parent": [{"id": 1}], "items": [ROWS[0]]}, copy_url)
    valid.raise_for_status()
    broken = laden.load({"items": [{**ROWS[0], "id": 5, "qty": 0}]}, copy_url)
    assert not broken.ok


# --------------------------------------------------------------------------- 4. PURE

ORDERS = """
CREATE TABLE parent (id {bigint} PRIMARY KEY);
CREATE TABLE orders (
  id {bigint} PRIMARY KEY,
  parent_id {bigint} NOT NULL REFERENCES parent(id),
  qty {int} NOT NULL CHECK (qty > 0),
  status {longtext} CHECK (status IN ('new', 'paid')),
  total {dec},
  placed {date} NOT NULL,
  note {longtext}
);
"""

ORDERS_PURE = """\
###Pure
// generated by laden from table 'orders'

Class {meta::pure::profiles::doc.doc = 'table orders'} model::Orders
[
  qty_positive: $this.qty > 0,
  status_in: $this.status->isEmpty() || $this.status->toOne()->in(['new', 'paid'])
]
{
  {meta::pure::profiles::doc.doc = 'primary key'} id: Integer[1];
  {meta::pure::profiles::doc.doc = 'references model::Parent.id'} parent_id: Integer[1];
  qty: Integer[1];
  status: String[0..1];
  {meta::pure::profiles::doc.doc = 'decimal(12,2)'} total: Decimal[0..1];
  placed: StrictDate[1];
  note: String[0..1];
}
"""


def test_pure_class_exact_text(db: Any) -> None:
    db.script(ddl(db.engine, ORDERS))
    assert model(db.url, "orders", format="pure") == ORDERS_PURE


def test_pure_multiplicities_follow_nullability(db: Any) -> None:
    table = create_items(db)
    text = model(db.url, "items", format="pure")
    props = dict(re.findall(r"^  (?:\{[^}]*\} )?(\w+): \w+(\[[^\]]+\]);$", text, re.MULTILINE))
    assert props.pop("unit_price") == "[0..1]"
    expected = {c.name: "[0..1]" if c.nullable else "[1]" for c in table.columns if c.name != "unit price"}
    assert props == expected
    assert "{meta::pure::profiles::doc.doc = 'column unit price; decimal(12,2)'} unit_price: Decimal[0..1];" in text
    assert "  qty_positive: $this.qty > 0,\n" in text
    assert "status_in: $this.status->in(['new', 'paid'])" in text
    assert re.search(r"^// not translated: CHECK \(.*\)$", text, re.MULTILINE)
    assert UNTRANSLATED.search(text)


# --------------------------------------------------------------------------- 5. user constraints

USER = ["qty <= 500000", "note matches '^[a-z]+$'", "not_null(ratio)", "length(status) >= 3"]


def test_user_constraints_merge_into_every_format(db: Any, tmp_path: Path) -> None:
    table = create_items(db)
    good = next(r for r in read_rows(db, table) if r["id"] == 1)

    schema = json.loads(model(db.url, "items", format="jsonschema", constraints=USER))
    props = schema["properties"]
    assert props["qty"]["minimum"] == 1 and props["qty"]["maximum"] == 500000
    assert props["note"]["pattern"] == "^[a-z]+$"
    assert props["ratio"]["type"] == "number"
    assert props["status"]["minLength"] == 3
    check = validator(schema)
    assert check.is_valid(good)
    bad = [{"qty": 500001}, {"note": "Plain"}, {"ratio": None}]
    for change in bad:
        assert not check.is_valid({**good, **change}), change

    items = import_text(model(db.url, "items", format="pydantic", constraints=USER), tmp_path).Items
    items.model_validate_json(json.dumps(good))
    for change in bad:
        with pytest.raises(pydantic.ValidationError):
            items.model_validate_json(json.dumps({**good, **change}))

    text = model(db.url, "items", format="sqlalchemy", constraints=USER)
    assert '.regexp_match("^[a-z]+$")' in text and "<= 500000" in text and "char_length" in text
    sa_table = import_text(text, tmp_path).Items.__table__
    assert sa_table.c.ratio.nullable is False
    checks = [c for c in sa_table.constraints if isinstance(c, sa.CheckConstraint)]
    database_checks = [c for c in table.checks if not c.expression.lower().startswith("json_valid")]
    assert len(checks) == len(database_checks) + 3

    pure = model(db.url, "items", format="pure", constraints=USER)
    lines = pure.splitlines()
    assert "  qty_le_500000: $this.qty <= 500000," in lines
    assert "  note_pattern: $this.note->isEmpty() || $this.note->toOne()->matches('^[a-z]+$')" in lines
    assert "  status_length_ge_3: $this.status->length() >= 3," in lines
    assert "  ratio: Float[1];\n" in pure


def test_bad_constraints_and_names_give_exact_errors(sqlite_url: str, make_db: Any) -> None:
    db = make_db(sqlite_url)
    db.script(ddl("sqlite", "CREATE TABLE items (id {bigint} PRIMARY KEY, qty {int}, status {text});"))
    accepted = (
        "accepted: col > 0 (also >=, <, <=, =, !=), col between 1 and 9, col in ('a', 'b'), "
        "col matches '^[A-Z]+$', not_null(col), length(col) <= 10 (also char_length); join several with 'and'; "
        "quote strings with '...' and odd column names with \"...\""
    )
    cases = {
        "qty >> 0": (
            f"cannot parse constraint 'qty >> 0': expected a column or a literal at position 6, found '>'; {accepted}"
        ),
        "qty > 'x": f"cannot parse constraint \"qty > 'x\": unterminated '...' starting at position 7; {accepted}",
        "qty > 0 or qty < -1": f"cannot parse constraint 'qty > 0 or qty < -1': OR is not supported; {accepted}",
        "lower(status) = 'a'": (
            f"cannot parse constraint \"lower(status) = 'a'\": unsupported function lower() at position 1; {accepted}"
        ),
        "nope > 1": "constraint 'nope > 1': unknown column 'nope' in table 'items' (columns: id, qty, status)",
        "status > 3": "constraint 'status > 3': 'status' is a string column (TEXT): compare it with a quoted string",
        "qty matches 'a'": (
            "constraint \"qty matches 'a'\": matches needs a string column; 'qty' is an integer column (INTEGER)"
        ),
        "status matches '('": (
            "constraint \"status matches '('\": "
            "bad regular expression '(': missing ), unterminated subpattern at position 0"
        ),
    }
    for text, message in cases.items():
        with pytest.raises(UsageError) as info:
            model(db.url, "items", format="pure", constraints=[text])
        assert str(info.value) == message
    with pytest.raises(UsageError) as info:
        model(db.url, "nope", format="pure")
    assert str(info.value) == "unknown table 'nope'; the target's tables: items"
    with pytest.raises(UsageError) as info:
        model(db.url, "items", format="yaml")
    assert str(info.value) == "unknown model format 'yaml'; expected one of: jsonschema, pydantic, sqlalchemy, pure"
    assert model(db.url, "ITEMS", format="pure").startswith("###Pure")  # table names fold like the engine's


# --------------------------------------------------------------------------- without a database


def _table(*checks: str, columns: tuple[Column, ...] | None = None) -> Table:
    cols = columns or (
        Column("qty", "integer", K.INTEGER, nullable=False, int_bits=32),
        Column("big", "integer", K.INTEGER, int_bits=32),
        Column("status", "varchar(10)", K.STRING, max_length=10),
        Column("price", "numeric(12,2)", K.DECIMAL, precision=12, scale=2),
        Column("code", "text", K.STRING),
        Column("w", "double precision", K.FLOAT, float_bits=64),
        Column("d", "date", K.DATE),
        Column("unit price", "integer", K.INTEGER, int_bits=32),
    )
    return Table("t", cols, primary_key=("qty",), checks=tuple(CheckConstraint(c) for c in checks))


@pytest.mark.parametrize(
    ("engine", "expression", "expected"),
    [
        ("postgresql", "qty > 0", ["qty > 0"]),
        ("postgresql", "(qty >= '-3'::integer) AND (qty < 10)", ["qty >= -3", "qty < 10"]),
        ("postgresql", "(price >= (0)::numeric) AND (price <= (1000)::numeric)", ["price >= 0", "price <= 1000"]),
        (
            "postgresql",
            "(status)::text = ANY ((ARRAY['new'::character varying, 'paid'::character varying])::text[])",
            ["status in ('new', 'paid')"],
        ),
        ("postgresql", "status = ANY ('{new,\"pa id\"}'::text[])", ["status in ('new', 'pa id')"]),
        ("postgresql", "w <> (1.5)::double precision", ["w != 1.5"]),
        ("postgresql", "code ~ '^[A-Z]+$'", ["code matches '^[A-Z]+$'"]),
        ("postgresql", "length(code) <= 5", ["length(code) <= 5"]),
        ("mysql", "`status` in ('new','pa\\'id')", ["status in ('new', 'pa''id')"]),
        ("mysql", "`price` between 0 and 1000", ["price between 0 and 1000"]),
        ("mysql", "octet_length(`code`) <= 5", ["octet_length(code) <= 5"]),
        ("mysql", "length(`code`) <= 5", ["octet_length(code) <= 5"]),
        ("mysql", "`big` is not null", ["not_null(big)"]),
        ("mysql", "`code` regexp '^a\\\\d'", ["code matches '^a\\d'"]),
        ("sqlite", "status IN ('new','paid')", ["status in ('new', 'paid')"]),
        ("sqlite", '"unit price" > 3 AND 10 >= "unit price"', ['"unit price" > 3', '"unit price" <= 10']),
        ("duckdb", "(qty >= -3) AND (qty < 10)", ["qty >= -3", "qty < 10"]),
        ("duckdb", "regexp_full_match(code, '[a-z]+')", ["code matches '^(?:[a-z]+)$'"]),
        (
            "duckdb",
            "status IN ('a', 'b') AND length(status) BETWEEN 1 AND 3",
            ["status in ('a', 'b')", "length(status) between 1 and 3"],
        ),
    ],
)
def test_database_checks_are_read_in_every_spelling(engine: str, expression: str, expected: list[str]) -> None:
    [check] = parse_checks(_table(expression), engine)
    assert check.unparsed is None, check.unparsed
    assert [describe(c) for c in check.constraints] == expected


@pytest.mark.parametrize(
    ("expression", "understood"),
    [
        ("qty < big", []),
        ("qty > 0 OR qty < -5", []),
        ("d > '2020-01-01'::date", []),
        ("qty > 0 AND (code ~~ 'x%')", ["qty > 0"]),
        ("upper(code) = code", []),
    ],
)
def test_checks_that_cannot_be_read_are_kept(expression: str, understood: list[str]) -> None:
    [check] = parse_checks(_table(expression))
    assert check.unparsed
    assert [describe(c) for c in check.constraints] == understood
    schema = Schema((_table(expression),))
    for fmt in ModelFormat:
        assert expression in render(schema, "t", fmt).replace('\\"', '"'), fmt


def test_user_constraint_ast() -> None:
    table = _table()
    assert parse_constraints("qty > 0", table) == (Compare("qty", Op.GT, 0),)
    assert parse_constraints("0 < QTY and qty <= 9.5", table) == (
        Compare("qty", Op.GT, 0),
        Compare("qty", Op.LE, Decimal("9.5")),
    )
    assert parse_constraints("price between -1 and 2.50", table) == (Between("price", -1, Decimal("2.50")),)
    assert parse_constraints("status in ('a', 'it''s')", table) == (OneOf("status", ("a", "it's")),)
    assert parse_constraints("code matches '^\\d+$'", table) == (Matches("code", "^\\d+$"),)
    assert parse_constraints("not_null(code)", table) == (NotNull("code"),)
    assert parse_constraints("char_length(code) < 4", table) == (Compare("code", Op.LT, 4, Measure.CHARS),)
    assert parse_constraints('"unit price" != 3', table) == (Compare("unit price", Op.NE, 3),)


def test_odd_column_names_get_aliases_in_python_and_keep_their_names(tmp_path: Path) -> None:
    columns = (
        Column("id", "bigint", K.INTEGER, nullable=False, int_bits=64),
        Column("unit price", "integer", K.INTEGER, int_bits=32),
        Column("class", "text", K.STRING),
        Column("_hidden", "text", K.STRING),
        Column("2nd", "text", K.STRING),
        Column("model_name", "text", K.STRING),
        Column("metadata", "text", K.STRING),
        Column("Grüße", "text", K.STRING),
    )
    schema = Schema((Table("odd table", columns, primary_key=("id",)),))
    row = {c.name: None for c in columns} | {"id": 1, "unit price": 2, "Grüße": "hi"}
    pyd = import_text(render(schema, "odd table", "pydantic"), tmp_path).OddTable
    parsed = pyd.model_validate(row)
    assert parsed.model_dump(by_alias=True) == row
    assert {n: f.alias or n for n, f in pyd.model_fields.items()} == {
        "id": "id",
        "unit_price": "unit price",
        "class_": "class",
        "hidden": "_hidden",
        "c_2nd": "2nd",
        "model_name_": "model_name",
        "metadata_": "metadata",
        "Grüße": "Grüße",
    }
    orm = import_text(render(schema, "odd table", "sqlalchemy"), tmp_path).OddTable
    assert [c.name for c in orm.__table__.columns] == [c.name for c in columns]
    assert list(json.loads(render(schema, "odd table", "jsonschema"))["properties"]) == [c.name for c in columns]
    pure = render(schema, "odd table", "pure")
    assert "Class {meta::pure::profiles::doc.doc = 'table odd table'} model::OddTable" in pure
    assert "{meta::pure::profiles::doc.doc = 'column Grüße'} Grusse: String[0..1];" in pure
    assert "{meta::pure::profiles::doc.doc = 'column unit price'} unit_price: Integer[0..1];" in pure


def test_render_refuses_constraints_on_unknown_columns() -> None:
    schema = Schema((_table(),))
    with pytest.raises(UsageError) as info:
        render(schema, "t", "pure", [Compare("nope", Op.GT, 0)])
    assert str(info.value) == "constraint 'nope > 0': unknown column 'nope' in table 't'"
    with pytest.raises(UsageError) as info:
        render(schema, "t", "pure", [Matches("qty", "^1")])
    message = "constraint \"qty matches '^1'\": matches needs a string column; 'qty' is an integer column (integer)"
    assert str(info.value) == message


def test_fk_to_a_composite_key_and_without_primary_key(tmp_path: Path) -> None:
    parent = Table(
        "parent",
        (Column("a", "integer", K.INTEGER, nullable=False, int_bits=32), Column("b", "text", K.STRING, nullable=False)),
        primary_key=("a", "b"),
    )
    child = Table(
        "child",
        (Column("x", "integer", K.INTEGER, int_bits=32), Column("y", "text", K.STRING)),
        foreign_keys=(ForeignKey(("x", "y"), "parent", ("a", "b"), name="child_fk"),),
    )
    schema = Schema((child, parent))
    module = import_text(render(schema, "child", "sqlalchemy"), tmp_path)
    engine = sa.create_engine("sqlite://")
    module.Base.metadata.create_all(engine)
    inspector = sa.inspect(engine)
    assert inspector.get_foreign_keys("child")[0]["referred_columns"] == ["a", "b"]
    assert inspector.get_pk_constraint("parent")["constrained_columns"] == ["a", "b"]
    engine.dispose()
    pure = render(schema, "child", "pure")
    assert "references model::Parent.a" in pure and "references model::Parent.b" in pure


def test_rules_field_cannot_state_become_validators(tmp_path: Path) -> None:
    columns = (
        Column("id", "integer", K.INTEGER, nullable=False, int_bits=32),
        Column("price", "numeric(6,2)", K.DECIMAL, precision=6, scale=2),
        Column("w", "real", K.FLOAT, float_bits=32),
        Column("code", "varchar(8)", K.STRING, max_length=8),
        Column("never", "text", K.STRING),
    )
    checks = (
        "price IN (1.50, 2.25)",
        "w <> 0.5",
        "code ~ '^[a-z]' AND code ~ '[0-9]$'",
        "octet_length(code) <= 6",
        "never IN ('a') AND never = 'b'",
    )
    schema = Schema((Table("rules", columns, primary_key=("id",), checks=tuple(CheckConstraint(c) for c in checks)),))
    rules = import_text(render(schema, "rules", "pydantic", engine="postgresql"), tmp_path).Rules
    good = {"id": 1, "price": "2.25", "w": 1.0, "code": "ab12", "never": None}
    rules.model_validate(good)
    bad = [{"price": "2.20"}, {"w": 0.5}, {"code": "Ab12"}, {"code": "abc"}, {"code": "abcdé1"}, {"never": "a"}]
    for change in bad:
        with pytest.raises(pydantic.ValidationError):
            rules.model_validate({**good, **change})
    check = validator(json.loads(render(schema, "rules", "jsonschema", engine="postgresql")))
    assert check.is_valid({**good, "price": "2.20"})  # decimals are strings: IN lists are a $comment
    for change in [{"w": 0.5}, {"code": "Ab12"}, {"code": "abc"}, {"never": "a"}]:
        assert not check.is_valid({**good, **change}), change
    pure = render(schema, "rules", "pure", engine="postgresql")
    assert "// not translated: octet_length(code) <= 6" in pure
    assert "  price_in: $this.price->isEmpty() || $this.price->toOne()->in([1.50d, 2.25d])," in pure.splitlines()
