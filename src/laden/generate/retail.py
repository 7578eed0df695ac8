"""Retail master data: the tables, their keys, their size at a scale, and how a block of rows is made.

Tables, parents first (``geographies`` is the shipped place list; everything else is drawn):

====================  =========================================  ==============  ===============
table                 rows at scale ``s``                        scale 1         scale 0.01
====================  =========================================  ==============  ===============
geographies           3,819 (every ZIP of the place list)        3,819           3,819
distribution_centers  ``max(1, round(20 s))``                    20              1
stores                ``max(1, round(1,000 s))``                 1,000           10
trucks                25 per distribution center                 500             25
customers             ``max(1, round(1,000,000 s))``             1,000,000       10,000
products              ``max(200, round(50,000 s))``              50,000          500
dc_inventory          products x min(2, DCs) x 4 weekly dates    400,000         2,000
store_inventory       stores x min(products, 2,000) x 4 dates    8,000,000       20,000
====================  =========================================  ==============  ===============

Every count is linear in the scale once the floors are passed (products from scale 0.04);
scale 1 is about 9.5 million rows. Keys and relationships:

* a distribution center and a store each sit in a geography (by urban size); each store is
  served by its nearest distribution center; trucks belong to a distribution center;
* a customer's home geography is *near* their home store: one of the 8 geographies nearest to
  the store's geography and at most :data:`NEAR_KM` km from it (the store's own otherwise);
  loyalty cards (16 digits, Luhn-valid) and emails are unique;
* a product has a category, a brand, and cost and price as ``decimal(10,2)`` with price >= cost;
* ``dc_inventory``: each product at two distribution centers, ``store_inventory``: each store
  carries an assortment of products; both per weekly snapshot date.

Data depend only on (scale, seed, :data:`VERSION`): block ``b`` of a table draws from
``rng.stream(seed, table, b)`` and from the small :class:`Context` (sites of DCs and stores),
which every process recomputes from the seed.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache

import numpy as np
import pyarrow as pa

from laden.errors import UsageError
from laden.generate import values as v
from laden.generate.catalog import product_columns
from laden.generate.locales import Weighted
from laden.generate.places import nearest, neighbours, us_places
from laden.generate.rng import BLOCK_ROWS, check_seed, stream
from laden.schema import CheckConstraint, Column, ForeignKey, Schema, Table, TypeKind, UniqueConstraint

__all__ = ["NEAR_KM", "TABLES", "VERSION", "arrow_schema", "make_block", "retail_counts", "retail_schema"]

#: bump when the generated data change for the same scale and seed
VERSION = 1
#: a customer's home geography is at most this far from their home store's
NEAR_KM = 50.0
NEIGHBOURS = 8
SNAPSHOTS = 4
FIRST_SNAPSHOT = dt.date(2025, 1, 5)
TRUCKS_PER_DC = 25
ASSORTMENT = 2_000
TABLES = (
    "geographies", "distribution_centers", "stores", "trucks", "customers", "products", "dc_inventory",
    "store_inventory",
)  # fmt: skip


# -- schema ------------------------------------------------------------------------------------


def _id(name: str) -> Column:
    return Column(name, "bigint", TypeKind.INTEGER, nullable=False, int_bits=64)


def _int(name: str) -> Column:
    return Column(name, "integer", TypeKind.INTEGER, nullable=False, int_bits=32)


def _text(name: str, length: int, nullable: bool = False) -> Column:
    return Column(name, f"varchar({length})", TypeKind.STRING, nullable=nullable, max_length=length)


def _money(name: str, precision: int = 10, scale: int = 2) -> Column:
    kind = f"decimal({precision},{scale})"
    return Column(name, kind, TypeKind.DECIMAL, nullable=False, precision=precision, scale=scale)


def _date(name: str) -> Column:
    return Column(name, "date", TypeKind.DATE, nullable=False)


def _ts(name: str) -> Column:
    return Column(name, "timestamp", TypeKind.TIMESTAMP, nullable=False, time_precision=6)


def _float(name: str) -> Column:
    return Column(name, "double", TypeKind.FLOAT, nullable=False, float_bits=64)


def _fk(child: str, column: str, table: str, ref: str | None = None) -> ForeignKey:
    # named per child table: MySQL wants constraint names unique in the whole database
    return ForeignKey((column,), table, (ref or column,), name=f"fk_{child}_{column}")


@lru_cache(maxsize=1)
def retail_schema() -> Schema:
    """The retail tables with primary keys, foreign keys, unique keys and checks, parents first."""
    tables = (
        Table("geographies", (_id("geography_id"), _text("postal_code", 5), _text("city", 64), _text("state", 2),
              _text("county", 64), _float("latitude"), _float("longitude")), ("geography_id",)),
        Table("distribution_centers", (_id("dc_id"), _text("name", 100), _id("geography_id"),
              _text("street_address", 100), _date("opened_on"), _int("capacity_pallets")), ("dc_id",),
              (_fk("distribution_centers", "geography_id", "geographies"),)),
        Table("stores", (_id("store_id"), _text("name", 100), _text("store_format", 20), _id("geography_id"),
              _id("dc_id"), _text("street_address", 100), _text("phone", 20), _int("square_feet"),
              _date("opened_on")), ("store_id",),
              (_fk("stores", "geography_id", "geographies"), _fk("stores", "dc_id", "distribution_centers"))),
        Table("trucks", (_id("truck_id"), _id("dc_id"), _text("license_plate", 12), _text("make", 30),
              _int("model_year"), _int("capacity_kg"), _text("status", 12)), ("truck_id",),
              (_fk("trucks", "dc_id", "distribution_centers"),),
              (UniqueConstraint(("license_plate",), "uq_trucks_plate"),)),
        Table("customers", (_id("customer_id"), _text("first_name", 50), _text("last_name", 50),
              _text("email", 120), _text("phone", 20), _text("loyalty_card", 16), _text("street_address", 100),
              _id("geography_id"), _id("home_store_id"), _date("birth_date"), _ts("created_at"), _ts("updated_at")),
              ("customer_id",), (_fk("customers", "geography_id", "geographies"),
                                 _fk("customers", "home_store_id", "stores", "store_id")),
              (UniqueConstraint(("email",), "uq_customers_email"),
               UniqueConstraint(("loyalty_card",), "uq_customers_loyalty_card"))),
        Table("products", (_id("product_id"), _text("sku", 12), _text("name", 120), _text("category", 40),
              _text("brand", 40), _money("unit_cost"), _money("unit_price"), _money("weight_kg", 8, 3),
              _ts("created_at")), ("product_id",), (),
              (UniqueConstraint(("sku",), "uq_products_sku"),),
              checks=(CheckConstraint("unit_price >= unit_cost", "ck_products_price"),)),
        Table("dc_inventory", (_id("dc_id"), _id("product_id"), _date("snapshot_date"), _int("on_hand"),
              _int("on_order")), ("dc_id", "product_id", "snapshot_date"),
              (_fk("dc_inventory", "dc_id", "distribution_centers"), _fk("dc_inventory", "product_id", "products"))),
        Table("store_inventory", (_id("store_id"), _id("product_id"), _date("snapshot_date"), _int("on_hand"),
              _int("reorder_point")), ("store_id", "product_id", "snapshot_date"),
              (_fk("store_inventory", "store_id", "stores"), _fk("store_inventory", "product_id", "products"))),
    )  # fmt: skip
    return Schema(tables)


def _arrow_type(col: Column) -> pa.DataType:
    if col.kind is TypeKind.INTEGER:
        return pa.int64() if col.int_bits == 64 else pa.int32()
    if col.kind is TypeKind.DECIMAL:
        return pa.decimal128(col.precision or 10, col.scale or 0)
    if col.kind is TypeKind.FLOAT:
        return pa.float64()
    if col.kind is TypeKind.DATE:
        return pa.date32()
    if col.kind is TypeKind.TIMESTAMP:
        return pa.timestamp("us")
    return pa.string()


@cache
def arrow_schema(table: str) -> pa.Schema:
    """The Arrow schema of ``table``'s batches."""
    found = retail_schema().table(table)
    if found is None:
        raise UsageError(f"unknown retail table {table!r}; expected one of: {', '.join(TABLES)}")
    return pa.schema([pa.field(c.name, _arrow_type(c), nullable=c.nullable) for c in found.columns])


# -- counts ------------------------------------------------------------------------------------


def check_scale(scale: object) -> float:
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not math.isfinite(scale) or scale <= 0:
        raise UsageError(f"scale must be a positive number, got {scale!r}")
    if scale > 1000:
        raise UsageError(f"scale {scale} is too large (at most 1000: about 9.5 billion rows)")
    return float(scale)


def retail_counts(scale: float) -> dict[str, int]:
    """Rows per table at ``scale`` (see the module docstring's table)."""
    s = check_scale(scale)
    dcs = max(1, round(20 * s))
    stores = max(1, round(1_000 * s))
    products = max(200, round(50_000 * s))
    return {
        "geographies": len(us_places()),
        "distribution_centers": dcs,
        "stores": stores,
        "trucks": TRUCKS_PER_DC * dcs,
        "customers": max(1, round(1_000_000 * s)),
        "products": products,
        "dc_inventory": products * min(2, dcs) * SNAPSHOTS,
        "store_inventory": stores * min(products, ASSORTMENT) * SNAPSHOTS,
    }


# -- the shared context ------------------------------------------------------------------------


@dataclass(frozen=True)
class Context:
    """What several tables need: counts and the sites of distribution centers and stores (0-based)."""

    scale: float
    seed: int
    counts: dict[str, int]
    dc_geo: np.ndarray
    store_geo: np.ndarray
    store_dc: np.ndarray
    store_offset: np.ndarray


@lru_cache(maxsize=4)
def context(scale: float, seed: int) -> Context:
    counts = retail_counts(scale)
    places = us_places()
    rng = stream(check_seed(seed), "_sites")
    dcs, stores = counts["distribution_centers"], counts["stores"]
    p = places.weight / places.weight.sum()
    dc_geo = rng.choice(len(places), size=dcs, replace=dcs > len(places), p=p).astype(np.int64)
    store_geo = places.draw(rng, stores)
    # nearest DC per geography (at most 3,819 of them), then per store: cheap at any scale
    geo_dc = nearest(places.latitude, places.longitude, places.latitude[dc_geo], places.longitude[dc_geo])
    store_dc = geo_dc[store_geo]
    store_offset = rng.integers(0, counts["products"], stores)
    return Context(scale, seed, counts, dc_geo, store_geo, store_dc, store_offset)


# -- blocks ------------------------------------------------------------------------------------


def make_block(table: str, scale: float, seed: int, block: int) -> pa.RecordBatch:
    """Rows ``[block * BLOCK_ROWS, ...)`` of ``table``, the same in every process."""
    ctx = context(check_scale(scale), check_seed(seed))
    rows = ctx.counts[table]
    lo = block * BLOCK_ROWS
    hi = min(rows, lo + BLOCK_ROWS)
    if block < 0 or lo >= rows:
        raise UsageError(f"{table} has no block {block} at scale {scale}")
    columns = _MAKERS[table](ctx, stream(seed, table, block), lo, hi)
    return pa.RecordBatch.from_arrays(columns, schema=arrow_schema(table))


def _ids(lo: int, hi: int) -> np.ndarray:
    return np.arange(lo + 1, hi + 1, dtype=np.int64)


def _geographies(ctx: Context, rng: np.random.Generator, lo: int, hi: int) -> list[pa.Array]:
    t = us_places().table.slice(lo, hi - lo)
    names = ("postal_code", "city", "state", "county", "latitude", "longitude")
    return [pa.array(_ids(lo, hi)), *(t.column(n).combine_chunks() for n in names)]


def _city(geo: np.ndarray) -> pa.Array:
    return us_places().column("city").take(pa.array(geo))


def _distribution_centers(ctx: Context, rng: np.random.Generator, lo: int, hi: int) -> list[pa.Array]:
    n, geo = hi - lo, ctx.dc_geo[lo:hi]
    return [
        pa.array(_ids(lo, hi)),
        v.join_text(_city(geo), " Distribution Center ", v.number_text(_ids(lo, hi))),
        pa.array(geo + 1),
        v.street_addresses(rng, n),
        v.dates(rng, n, dt.date(1995, 1, 1), dt.date(2022, 12, 31)),
        pa.array(np.round(rng.uniform(20_000, 120_000, n), -2).astype(np.int32)),
    ]


_FORMATS = ("supercenter", "neighborhood", "express")


def _stores(ctx: Context, rng: np.random.Generator, lo: int, hi: int) -> list[pa.Array]:
    n, geo = hi - lo, ctx.store_geo[lo:hi]
    kind = v.draw(rng, n, Weighted(_FORMATS, (3.0, 5.0, 2.0)))
    feet = np.array([180_000, 45_000, 12_000])[kind] * rng.uniform(0.7, 1.3, n)
    ids = _ids(lo, hi)
    return [
        pa.array(ids),
        v.join_text(_city(geo), " #", v.number_text(ids)),
        pa.array(_FORMATS).take(pa.array(kind)),
        pa.array(geo + 1),
        pa.array(ctx.store_dc[lo:hi] + 1),
        v.street_addresses(rng, n),
        v.phone_numbers(rng, n),
        pa.array(np.round(feet, -2).astype(np.int32)),
        v.dates(rng, n, dt.date(1990, 1, 1), dt.date(2024, 12, 31)),
    ]


_MAKES = Weighted(("Freightliner", "International", "Kenworth", "Peterbilt", "Volvo", "Mack", "Isuzu"))
_STATUS = Weighted(("active", "maintenance", "retired"), (90.0, 8.0, 2.0))


def _trucks(ctx: Context, rng: np.random.Generator, lo: int, hi: int) -> list[pa.Array]:
    n, ids = hi - lo, _ids(lo, hi)
    plate = v.join_text("TR", v.number_text((ids * 7_919 + 1_234) % 10_000_000, 7))  # a bijection: unique plates
    return [
        pa.array(ids),
        pa.array((ids - 1) // TRUCKS_PER_DC + 1),
        plate,
        v.choice(rng, n, _MAKES.values),
        pa.array(rng.integers(2008, 2026, n).astype(np.int32)),
        pa.array((rng.choice(np.array([9_000, 12_000, 15_000, 20_000]), n)).astype(np.int32)),
        v.choice(rng, n, _STATUS.values, _STATUS.weights),
    ]


def _customers(ctx: Context, rng: np.random.Generator, lo: int, hi: int) -> list[pa.Array]:
    n, ids = hi - lo, _ids(lo, hi)
    store = rng.integers(0, ctx.counts["stores"], n)
    near, _ = neighbours(NEIGHBOURS, NEAR_KM)
    geo = near[ctx.store_geo[store], rng.integers(0, NEIGHBOURS, n)]
    who = v.people(rng, n)
    body = (ids * 982_451_653 + 31_415_926_535) % 10**14  # a bijection on ids < 10**14: unique cards
    card = v.join_text("7", v.number_text(body, 14), v.number_text(v.luhn_digits(body + 7 * 10**14, 15)))
    created, updated = v.created_updated(rng, n, dt.datetime(2015, 1, 1), dt.datetime(2025, 1, 1))
    return [
        pa.array(ids),
        who.first,
        who.last,
        v.emails(rng, n, who, unique=ids),
        v.phone_numbers(rng, n),
        card,
        v.street_addresses(rng, n),
        pa.array(geo + 1),
        pa.array(store + 1),
        v.birth_dates(rng, n),
        created,
        updated,
    ]


def _inventory_rows(lo: int, hi: int, per_date: int) -> tuple[np.ndarray, np.ndarray]:
    r = np.arange(lo, hi, dtype=np.int64)
    return r // per_date, r % per_date


def _snapshot(date_index: np.ndarray) -> pa.Array:
    first = (FIRST_SNAPSHOT - dt.date(1970, 1, 1)).days
    return pa.array((first + 7 * date_index).astype(np.int32), pa.date32())


def _dc_inventory(ctx: Context, rng: np.random.Generator, lo: int, hi: int) -> list[pa.Array]:
    dcs = ctx.counts["distribution_centers"]
    k = min(2, dcs)
    date_index, rest = _inventory_rows(lo, hi, ctx.counts["products"] * k)
    product, slot = rest // k, rest % k
    dc = (product + slot * max(1, dcs // 2)) % dcs
    on_hand = rng.negative_binomial(3, 3 / (3 + 400.0), hi - lo)
    return [
        pa.array(dc + 1),
        pa.array(product + 1),
        _snapshot(date_index),
        pa.array(on_hand.astype(np.int32)),
        pa.array((rng.random(hi - lo) < 0.3) * rng.integers(50, 800, hi - lo), pa.int32()),
    ]


def _store_inventory(ctx: Context, rng: np.random.Generator, lo: int, hi: int) -> list[pa.Array]:
    products = ctx.counts["products"]
    width = min(products, ASSORTMENT)
    date_index, rest = _inventory_rows(lo, hi, ctx.counts["stores"] * width)
    store, slot = rest // width, rest % width
    product = (ctx.store_offset[store] + slot) % products
    reorder = rng.integers(4, 40, hi - lo)
    return [
        pa.array(store + 1),
        pa.array(product + 1),
        _snapshot(date_index),
        pa.array(rng.poisson(reorder * 2.2).astype(np.int32)),
        pa.array(reorder.astype(np.int32)),
    ]


_MAKERS: dict[str, Callable[[Context, np.random.Generator, int, int], list[pa.Array]]] = {
    "geographies": _geographies,
    "distribution_centers": _distribution_centers,
    "stores": _stores,
    "trucks": _trucks,
    "customers": _customers,
    "products": lambda ctx, rng, lo, hi: product_columns(rng, lo, hi),
    "dc_inventory": _dc_inventory,
    "store_inventory": _store_inventory,
}
