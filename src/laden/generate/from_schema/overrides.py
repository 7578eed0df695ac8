"""Per-column overrides of the generated values: typed objects and their ``laden.yaml`` section.

.. code-block:: yaml

    generators:
      customers.email: {generator: email}                        # a realistic generator by name
      orders.status: {values: {new: 5, paid: 3, shipped: 2}}     # values with weights (or a list)
      orders.total: {range: [0, 500]}                            # numbers, dates or timestamps
      products.sku: {regex: "[A-Z]{3}-[0-9]{4}"}                 # text matching a pattern
      customers.note: {values: [a, b], nulls: 0.3}               # a share of NULLs (nullable columns)
      orders.customer_id: {fanout: zipf, skew: 1.2, nulls: 0.1}  # an FK column: children per parent

Each key is ``TABLE.COLUMN``. An entry takes at most one of ``generator``, ``values``,
``range``, ``regex``, plus ``nulls``; on a foreign-key column (any column of the key) only
``fanout`` (``uniform`` | ``zipf``), ``skew`` (the Zipf exponent, default 1) and ``nulls``.
Whether an override fits its column (type, CHECKs, uniqueness) is checked when the
generation is planned, with every other problem of the schema.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from laden.config import Reader
from laden.errors import UsageError
from laden.generate.from_schema.keys import Distribution
from laden.generate.from_schema.realism import Generator

__all__ = [
    "ColumnOverride",
    "Fanout",
    "Named",
    "Overrides",
    "Range",
    "Regex",
    "Rule",
    "Values",
    "read_overrides",
]

_KEYS = ["generator", "values", "range", "regex", "nulls", "fanout", "skew"]


@dataclass(frozen=True)
class Values:
    """Values drawn by weight (uniformly without weights)."""

    values: tuple[object, ...]
    weights: tuple[float, ...] = ()


@dataclass(frozen=True)
class Range:
    """Uniform values in ``[low, high]`` (numbers, dates, timestamps; strings in ISO form)."""

    low: object
    high: object


@dataclass(frozen=True)
class Regex:
    """Text matching ``pattern`` as a whole."""

    pattern: str


@dataclass(frozen=True)
class Named:
    """A realistic generator by name (``email``, ``price``, ``created_at``, ...)."""

    generator: Generator


Rule = Values | Range | Regex | Named


@dataclass(frozen=True)
class Fanout:
    """How a foreign key's children spread over its parents, and how many are NULL."""

    distribution: Distribution = Distribution.UNIFORM
    #: Zipf exponent (> 0): larger means a few parents get most children
    skew: float = 1.0
    #: share of rows whose (nullable) FK is NULL; None: laden's default (0, self-references 0.05)
    nulls: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.distribution, Distribution):
            raise UsageError(f"fanout distribution must be one of {', '.join(d.value for d in Distribution)}")
        if not self.skew > 0:
            raise UsageError(f"fanout skew must be a positive number, got {self.skew!r}")
        if self.nulls is not None and not 0.0 <= self.nulls <= 1.0:
            raise UsageError(f"fanout nulls must be a share between 0 and 1, got {self.nulls!r}")


@dataclass(frozen=True)
class ColumnOverride:
    table: str
    column: str
    rule: Rule | None = None
    #: share of NULLs (nullable columns only)
    nulls: float | None = None
    #: foreign-key columns only
    fanout: Fanout | None = None

    @property
    def key(self) -> str:
        return f"{self.table}.{self.column}"


@dataclass(frozen=True)
class Overrides:
    columns: tuple[ColumnOverride, ...] = ()

    def get(self, table: str, column: str) -> ColumnOverride | None:
        for item in self.columns:
            if item.table == table and item.column == column:
                return item
        low_t, low_c = table.lower(), column.lower()
        return next((o for o in self.columns if o.table.lower() == low_t and o.column.lower() == low_c), None)

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Overrides:
        """Overrides from a mapping shaped like the YAML section; every problem in one :class:`UsageError`."""
        reader = Reader("overrides", {}, os.environ)
        result = read_overrides(reader, (), data)
        if reader.problems or result is None:
            raise UsageError("invalid overrides:\n  " + "\n  ".join(reader.problems))
        return result


def read_overrides(reader: Reader, path: tuple[str, ...], value: Any) -> Overrides | None:
    """The ``generators:`` section of ``laden.yaml``; problems go to ``reader.problem``."""
    before = len(reader.problems)
    entries = reader.mapping(value, path)
    out: list[ColumnOverride] = []
    for key, item in entries.items():
        here = (*path, key)
        table, dot, column = key.rpartition(".")
        if not dot or not table or not column:
            reader.problem(here, "expected TABLE.COLUMN")
            continue
        found = _entry(reader, here, table, column, item)
        if found is not None:
            out.append(found)
    return None if len(reader.problems) > before else Overrides(tuple(out))


def _entry(reader: Reader, path: tuple[str, ...], table: str, column: str, value: Any) -> ColumnOverride | None:
    before = len(reader.problems)
    m = reader.mapping(value, path, _KEYS)
    if value is None or not m:
        reader.problem(path, "expected one of generator, values, range, regex, nulls, fanout")
        return None
    given = [k for k in ("generator", "values", "range", "regex") if k in m]
    if len(given) > 1:
        reader.problem(path, f"give one of generator, values, range, regex (got {', '.join(given)})")
    rule = _rule(reader, path, m, given[0]) if len(given) == 1 else None
    nulls = _share(reader, (*path, "nulls"), m.get("nulls"))
    fanout = None
    if "fanout" in m or "skew" in m:
        if given:
            reader.problem(path, "fanout and skew are for foreign-key columns, which take no generator, values, range "
                           "or regex")  # fmt: skip
        dist = reader.choice(m.get("fanout"), (*path, "fanout"), Distribution) or Distribution.UNIFORM
        skew = _positive(reader, (*path, "skew"), m.get("skew"))
        if len(reader.problems) == before:
            fanout = Fanout(dist, 1.0 if skew is None else skew, nulls)
    if len(reader.problems) > before:
        return None
    return ColumnOverride(table, column, rule, nulls, fanout)


def _rule(reader: Reader, path: tuple[str, ...], m: Mapping[str, Any], which: str) -> Rule | None:
    here = (*path, which)
    raw = m[which]
    if which == "generator":
        gen = reader.choice(raw, here, Generator)
        return Named(gen) if gen is not None else None
    if which == "regex":
        text = reader.string(raw, here, required=True)
        return Regex(text) if text else None
    if which == "range":
        if not isinstance(raw, list) or len(raw) != 2 or any(x is None or isinstance(x, dict | list) for x in raw):
            reader.problem(here, "expected [low, high]")
            return None
        return Range(reader.substitute(raw[0], here), reader.substitute(raw[1], here))
    return _values(reader, here, raw)


def _values(reader: Reader, path: tuple[str, ...], raw: Any) -> Values | None:
    if isinstance(raw, dict):
        if not raw:
            reader.problem(path, "expected at least one value")
            return None
        weights = []
        for key, weight in raw.items():
            number = _positive(reader, (*path, str(key)), weight)
            weights.append(number if number is not None else 1.0)
        return Values(tuple(raw), tuple(weights))
    if isinstance(raw, list) and raw and all(x is None or not isinstance(x, dict | list) for x in raw):
        return Values(tuple(reader.substitute(x, path) for x in raw))
    reader.problem(path, "expected a list of values or a mapping {value: weight}")
    return None


def _share(reader: Reader, path: tuple[str, ...], raw: Any) -> float | None:
    return _number(reader, path, raw, lambda n: 0.0 <= n <= 1.0, "a share between 0 and 1")


def _positive(reader: Reader, path: tuple[str, ...], raw: Any) -> float | None:
    return _number(reader, path, raw, lambda n: n > 0, "a positive number")


def _number(
    reader: Reader, path: tuple[str, ...], raw: Any, accept: Callable[[float], bool], expected: str
) -> float | None:
    """``raw`` as a number ``accept`` takes; None (and a problem reported) when it is not."""
    if raw is None:
        return None
    try:
        if isinstance(raw, bool):
            raise ValueError
        number = float(reader.substitute(raw, path))
    except (TypeError, ValueError):
        number = math.nan
    if not accept(number):
        reader.problem(path, f"expected {expected}, got {raw!r}")
        return None
    return number
