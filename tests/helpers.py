"""DDL spelled per engine, and small helpers for the conformance suite."""

from __future__ import annotations

import re
from typing import Any

TYPES: dict[str, dict[str, str]] = {
    "int": {"sqlite": "INTEGER", "duckdb": "INTEGER", "postgresql": "integer", "mysql": "INT"},
    "bigint": {"sqlite": "INTEGER", "duckdb": "BIGINT", "postgresql": "bigint", "mysql": "BIGINT"},
    "text": {"sqlite": "TEXT", "duckdb": "VARCHAR", "postgresql": "text", "mysql": "VARCHAR(255)"},
    "longtext": {"sqlite": "TEXT", "duckdb": "VARCHAR", "postgresql": "text", "mysql": "TEXT"},
    "vc10": {
        "sqlite": "VARCHAR(10)",
        "duckdb": "VARCHAR",
        "postgresql": "varchar(10)",
        "mysql": "VARCHAR(10)",
    },
    "dec": {
        "sqlite": "DECIMAL(12,2)",
        "duckdb": "DECIMAL(12,2)",
        "postgresql": "numeric(12,2)",
        "mysql": "DECIMAL(12,2)",
    },
    "float": {"sqlite": "REAL", "duckdb": "DOUBLE", "postgresql": "double precision", "mysql": "DOUBLE"},
    "bool": {"sqlite": "BOOLEAN", "duckdb": "BOOLEAN", "postgresql": "boolean", "mysql": "BOOLEAN"},
    "date": {"sqlite": "DATE", "duckdb": "DATE", "postgresql": "date", "mysql": "DATE"},
    "time": {"sqlite": "TIME", "duckdb": "TIME", "postgresql": "time", "mysql": "TIME(6)"},
    "ts": {"sqlite": "TIMESTAMP", "duckdb": "TIMESTAMP", "postgresql": "timestamp", "mysql": "DATETIME(6)"},
    "tstz": {
        "sqlite": "TIMESTAMP",
        "duckdb": "TIMESTAMPTZ",
        "postgresql": "timestamptz",
        "mysql": "TIMESTAMP(6) NULL",
    },
    "json": {"sqlite": "JSON", "duckdb": "JSON", "postgresql": "jsonb", "mysql": "JSON"},
    "uuid": {"sqlite": "UUID", "duckdb": "UUID", "postgresql": "uuid", "mysql": "UUID"},
    "bytes": {"sqlite": "BLOB", "duckdb": "BLOB", "postgresql": "bytea", "mysql": "BLOB"},
}

DEFERRABLE = {"sqlite": "DEFERRABLE INITIALLY DEFERRED", "postgresql": "DEFERRABLE INITIALLY IMMEDIATE"}


def ddl(engine: str, sql: str) -> str:
    """``{int}``-style placeholders -> the engine's type names; ``{deferrable}`` where it exists."""

    def sub(m: re.Match[str]) -> str:
        key = m.group(1)
        if key == "deferrable":
            return DEFERRABLE.get(engine, "")
        if key == "q":
            return "`" if engine == "mysql" else '"'
        return TYPES[key][engine]

    return re.sub(r"\{(\w+)\}", sub, sql)


SHOP = """
CREATE TABLE customers (id {bigint} PRIMARY KEY, name {text} NOT NULL, email {text} UNIQUE);
CREATE TABLE orders (id {bigint} PRIMARY KEY, customer_id {bigint} NOT NULL REFERENCES customers(id),
                     total {dec}, note {vc10});
CREATE TABLE order_items (order_id {bigint} NOT NULL REFERENCES orders(id), line_no {int} NOT NULL,
                          sku {text} NOT NULL, qty {int} NOT NULL CHECK (qty > 0),
                          PRIMARY KEY (order_id, line_no));
"""


def create_shop(db: Any) -> None:
    db.script(ddl(db.engine, SHOP))


def rows(db: Any, table: str, order: str = "1") -> list[tuple[Any, ...]]:
    q = db.quote(table)
    return [tuple(_norm(v) for v in r) for r in db.query(f"SELECT * FROM {q} ORDER BY {order}")]


def _norm(v: Any) -> Any:
    import decimal

    if isinstance(v, decimal.Decimal):
        return str(v)
    if isinstance(v, float) and v.is_integer():
        return v
    return v
