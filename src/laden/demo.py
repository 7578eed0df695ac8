"""``laden demo``: a small shop with foreign keys, loaded into an embedded SQLite file.

The dataset is built deterministically with numpy and Arrow (no network, no files) and
handed to :func:`laden.load` children-first on purpose: laden sorts it parents-first,
including the self-referencing ``categories`` table.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import numpy as np
import pyarrow as pa

from laden.api import load
from laden.progress import ProgressCallback
from laden.report import Report

SCHEMA = """
CREATE TABLE IF NOT EXISTS categories (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    parent_id INTEGER REFERENCES categories(id)
);
CREATE TABLE IF NOT EXISTS customers (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    signed_up TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS products (
    sku TEXT PRIMARY KEY,
    category_id INTEGER NOT NULL REFERENCES categories(id),
    price DECIMAL(10, 2) NOT NULL CHECK (price >= 0)
);
CREATE TABLE IF NOT EXISTS orders (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    ordered_at TIMESTAMP NOT NULL,
    paid BOOLEAN NOT NULL
);
CREATE TABLE IF NOT EXISTS order_items (
    order_id INTEGER NOT NULL REFERENCES orders(id),
    line_no INTEGER NOT NULL,
    sku TEXT NOT NULL REFERENCES products(sku),
    qty INTEGER NOT NULL CHECK (qty > 0),
    PRIMARY KEY (order_id, line_no)
);
"""

_FIRST = ["Ada", "Björn", "Chen", "Dolores", "Émile", "Farah", "Gus", "Hana", "Ivo", "Jun"]
_LAST = ["Lovelace", "Ek", "Wei", "Park", "Zola", "Haddad", "Grissom", "Sato", "Andrić", "Kim"]


def dataset(seed: int = 7, customers: int = 50, orders: int = 200) -> dict[str, pa.Table]:
    """The demo shop, children first (laden puts it in order)."""
    rng = np.random.default_rng(seed)
    cat_ids = np.arange(1, 9)
    categories = pa.table(
        {
            # children listed before their parents on purpose
            "id": cat_ids[::-1],
            "name": ["Kettles", "Toasters", "Sofas", "Chairs", "Kitchen", "Living room", "Home", "Garden"],
            "parent_id": pa.array([5, 5, 6, 6, 7, 7, None, None], pa.int64()),
        }
    )
    cust_ids = np.arange(1, customers + 1)
    names = [f"{_FIRST[i % 10]} {_LAST[(i * 7) % 10]}" for i in range(customers)]
    customers_t = pa.table(
        {
            "id": cust_ids,
            "name": names,
            "email": [f"customer{i}@example.com" for i in cust_ids],
            "signed_up": pa.array(
                np.datetime64("2024-01-01") + rng.integers(0, 365 * 24 * 3600, customers).astype("timedelta64[s]")
            ),
        }
    )
    skus = [f"SKU-{i:04d}" for i in range(1, 21)]
    products = pa.table(
        {
            "sku": skus,
            "category_id": rng.choice(np.array([8, 7, 6, 5, 4, 3]), 20),
            "price": pa.array([f"{p:.2f}" for p in rng.uniform(2, 500, 20)]).cast(pa.decimal128(10, 2)),
        }
    )
    order_ids = np.arange(1, orders + 1)
    orders_t = pa.table(
        {
            "id": order_ids,
            "customer_id": rng.integers(1, customers + 1, orders),
            "ordered_at": pa.array(
                np.datetime64("2025-01-01") + rng.integers(0, 300 * 24 * 3600, orders).astype("timedelta64[s]")
            ),
            "paid": rng.random(orders) < 0.9,
        }
    )
    lines = rng.integers(1, 5, orders)
    items = pa.table(
        {
            "order_id": np.repeat(order_ids, lines),
            "line_no": np.concatenate([np.arange(1, n + 1) for n in lines]),
            "sku": pa.array(np.array(skus)[rng.integers(0, 20, int(lines.sum()))]),
            "qty": rng.integers(1, 6, int(lines.sum())),
        }
    )
    return {
        "order_items": items,
        "orders": orders_t,
        "products": products,
        "customers": customers_t,
        "categories": categories,
    }


def run(path: str = "laden-demo.db", progress: ProgressCallback | None = None, **kwargs: Any) -> Report:
    """Create the demo schema in the SQLite file ``path`` (if needed) and load the shop into it."""
    con = sqlite3.connect(path)
    try:
        con.executescript(SCHEMA)
    finally:
        con.close()
    url = "sqlite:///" + path
    return load(dataset(), url, strategy="truncate_insert", progress=progress, **kwargs)
