"""The product catalog of the retail generator: categories, brands, names, cost and price.

Categories carry a median unit cost (log-normal spread) and a markup range; a product's price
is its cost times the markup, rounded up to end in 9 cents, never below the cost. Brand names
are invented for laden (they name no real company); item words are ordinary English.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from laden.generate import values as v
from laden.generate.locales import Weighted

__all__ = ["BRANDS", "CATEGORIES", "Category", "product_columns"]


@dataclass(frozen=True)
class Category:
    name: str
    weight: float
    cost_median: float
    sigma: float
    markup: tuple[float, float]
    weight_kg: float
    items: tuple[str, ...]


CATEGORIES = (
    Category(
        "Grocery",
        14,
        2.4,
        0.5,
        (1.2, 1.8),
        0.6,
        (
            "Pasta",
            "Rice",
            "Cereal",
            "Coffee",
            "Tea",
            "Flour",
            "Olive Oil",
            "Peanut Butter",
            "Soup",
            "Tomato Sauce",
            "Honey",
            "Oatmeal",
        ),
    ),
    Category(
        "Produce",
        8,
        1.4,
        0.5,
        (1.4, 2.4),
        0.8,
        ("Apples", "Bananas", "Carrots", "Spinach", "Potatoes", "Onions", "Grapes", "Avocados", "Lemons", "Tomatoes"),
    ),
    Category(
        "Dairy",
        7,
        2.2,
        0.4,
        (1.2, 1.7),
        1.0,
        ("Milk", "Yogurt", "Butter", "Cheddar", "Cream Cheese", "Eggs", "Sour Cream", "Mozzarella"),
    ),
    Category(
        "Frozen",
        6,
        3.1,
        0.5,
        (1.3, 1.9),
        0.9,
        ("Pizza", "Ice Cream", "Peas", "Waffles", "Fish Fillets", "Berries", "Dumplings"),
    ),
    Category(
        "Beverages",
        8,
        2.0,
        0.6,
        (1.3, 2.0),
        1.5,
        ("Sparkling Water", "Orange Juice", "Cola", "Iced Tea", "Lemonade", "Cold Brew", "Sports Drink"),
    ),
    Category(
        "Snacks",
        8,
        2.1,
        0.5,
        (1.4, 2.1),
        0.3,
        ("Potato Chips", "Pretzels", "Trail Mix", "Crackers", "Granola Bars", "Popcorn", "Cookies"),
    ),
    Category(
        "Household",
        7,
        4.2,
        0.6,
        (1.3, 2.0),
        1.8,
        ("Dish Soap", "Laundry Detergent", "Paper Towels", "Trash Bags", "Sponges", "Glass Cleaner"),
    ),
    Category(
        "Personal Care",
        6,
        4.5,
        0.6,
        (1.5, 2.4),
        0.4,
        ("Shampoo", "Toothpaste", "Body Wash", "Deodorant", "Lotion", "Razors"),
    ),
    Category(
        "Health",
        4,
        6.0,
        0.6,
        (1.4, 2.2),
        0.2,
        ("Pain Reliever", "Vitamin C", "Bandages", "Allergy Relief", "Multivitamin"),
    ),
    Category("Baby", 3, 9.0, 0.6, (1.3, 1.8), 1.2, ("Diapers", "Baby Wipes", "Baby Formula", "Baby Shampoo")),
    Category("Pet", 4, 8.0, 0.8, (1.3, 1.9), 3.0, ("Dog Food", "Cat Food", "Cat Litter", "Dog Treats", "Chew Toy")),
    Category(
        "Electronics",
        5,
        45.0,
        1.0,
        (1.1, 1.45),
        1.1,
        ("Headphones", "Phone Charger", "Bluetooth Speaker", "HDMI Cable", "Smart Plug", "Power Bank", "Webcam"),
    ),
    Category(
        "Home & Kitchen",
        6,
        14.0,
        0.8,
        (1.5, 2.3),
        1.6,
        ("Skillet", "Towel Set", "Storage Bins", "Knife Set", "Cutting Board", "Throw Pillow", "Table Lamp"),
    ),
    Category(
        "Apparel", 5, 9.0, 0.7, (1.8, 2.8), 0.4, ("T-Shirt", "Socks", "Hoodie", "Jeans", "Rain Jacket", "Sneakers")
    ),
    Category(
        "Toys", 3, 11.0, 0.8, (1.5, 2.2), 0.7, ("Building Blocks", "Puzzle", "Board Game", "Plush Bear", "Art Kit")
    ),
    Category(
        "Sporting Goods",
        3,
        18.0,
        0.9,
        (1.4, 2.0),
        2.0,
        ("Yoga Mat", "Water Bottle", "Camping Chair", "Basketball", "Dumbbells"),
    ),
    Category(
        "Garden",
        2,
        12.0,
        0.9,
        (1.5, 2.2),
        3.5,
        ("Potting Soil", "Garden Hose", "Seed Mix", "Pruning Shears", "Planter"),
    ),
    Category(
        "Office",
        1,
        4.0,
        0.7,
        (1.5, 2.3),
        0.5,
        ("Notebooks", "Ballpoint Pens", "Printer Paper", "Sticky Notes", "Stapler"),
    ),
)
BRANDS = (
    "Harbor Lane", "Maple & Pine", "Blue Ridge Farms", "Golden Acre", "Northbrook", "Silver Creek", "Redwood Home",
    "Summit Outdoor", "Brightline", "Cedar Grove", "Prairie Gold", "Oak Hollow", "Riverbend", "Clearwater",
    "Stonegate", "Willow Creek", "Sunrise Kitchen", "Ironwood", "Evergreen Naturals", "Coastal Breeze",
    "Lakeside", "Pioneer Valley", "Crestview", "Meadowlark", "Highland Provisions", "Kinfolk Goods", "Fernwood",
    "Bayside", "Aspen Trail", "Copper Kettle", "Everyday Value", "Little Sprout", "Trailhead", "Good Measure",
)  # fmt: skip
ADJECTIVES = (
    "Classic", "Organic", "Original", "Family Size", "Premium", "Lite", "Everyday", "Deluxe", "Natural", "Extra",
    "Signature", "Simple", "Ultra", "Fresh", "Select",
)  # fmt: skip

_CATEGORY_WEIGHTS = Weighted(tuple(c.name for c in CATEGORIES), tuple(c.weight for c in CATEGORIES))
_ITEMS = tuple(item for c in CATEGORIES for item in c.items)
_ITEM_START = np.cumsum([0] + [len(c.items) for c in CATEGORIES])[:-1]
_ITEM_COUNT = np.array([len(c.items) for c in CATEGORIES])
_MEDIAN = np.array([c.cost_median for c in CATEGORIES])
_SIGMA = np.array([c.sigma for c in CATEGORIES])
_MARKUP = np.array([c.markup for c in CATEGORIES])
_KG = np.array([c.weight_kg for c in CATEGORIES])


def product_columns(rng: np.random.Generator, lo: int, hi: int) -> list[pa.Array]:
    """product_id, sku, name, category, brand, unit_cost, unit_price, weight_kg, created_at of rows [lo, hi)."""
    n = hi - lo
    ids = np.arange(lo + 1, hi + 1, dtype=np.int64)
    cat = v.draw(rng, n, _CATEGORY_WEIGHTS)
    item = _ITEM_START[cat] + np.floor(rng.random(n) * _ITEM_COUNT[cat]).astype(np.int64)
    brand = pa.array(BRANDS).take(pa.array(rng.integers(0, len(BRANDS), n)))
    adjective = pa.array(ADJECTIVES).take(pa.array(rng.integers(0, len(ADJECTIVES), n)))
    name = v.join_text(brand, " ", adjective, " ", pa.array(_ITEMS).take(pa.array(item)))
    cost = np.maximum(1, np.round(rng.lognormal(np.log(_MEDIAN[cat]), _SIGMA[cat]) * 100)).astype(np.int64)
    raw = cost * rng.uniform(_MARKUP[cat, 0], _MARKUP[cat, 1])
    price = np.maximum(cost, (np.ceil(raw / 10) * 10 - 1).astype(np.int64))  # ends in 9 cents, never below cost
    grams = np.maximum(1, np.round(rng.lognormal(np.log(_KG[cat] * 1000), 0.5))).astype(np.int64)
    sku = v.join_text("SKU", v.number_text((ids * 7_777_777 + 12_345) % 100_000_000, 8))  # a bijection: unique
    created = v.timestamps(rng, n, dt.datetime(2018, 1, 1), dt.datetime(2025, 1, 1))
    return [
        pa.array(ids),
        sku,
        name,
        pa.array(_CATEGORY_WEIGHTS.values).take(pa.array(cat)),
        brand,
        v.decimal_array(cost, 10, 2),
        v.decimal_array(price, 10, 2),
        v.decimal_array(grams, 8, 3),
        created,
    ]
