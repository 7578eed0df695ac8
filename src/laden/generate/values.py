"""Vectorised value generators: ``(rng, n, ...) -> pyarrow.Array``, no per-row Python.

Every generator takes a ``numpy.random.Generator`` and a row count and returns an Arrow array
of ``n`` values; the same generator state gives the same values. Text is assembled with Arrow
compute kernels (``take`` from small pools, ``binary_join_element_wise``, ``utf8_lpad``);
numbers with numpy. Locale-dependent generators take ``locale`` (see
:mod:`laden.generate.locales`: ``en_US``, ``de_DE``).

========================  ============================================================
generator                 values
========================  ============================================================
:func:`people`            first / last names (with ASCII spellings) and sex, one draw
:func:`first_names`       given names weighted by frequency
:func:`last_names`        surnames weighted by frequency
:func:`full_names`        "First Last"
:func:`emails`            ``first.last42@example.com`` (RFC 2606 domains: never deliverable)
:func:`phone_numbers`     ``(212) 555-0134`` / ``030 5550134``
:func:`street_addresses`  ``1600 Maple St`` / ``Gartenstraße 12``
:func:`companies`         ``Miller & Sons``, ``Weber GmbH``
:func:`urls`              ``https://www.miller-sons.com``
:func:`countries`         the locale's country, sometimes a neighbour
:func:`amounts`           decimals (price, cost, amount) with an exact scale
:func:`integers`          integers in a range (quantities)
:func:`timestamps`        instants in a range; :func:`created_updated` pairs with updated >= created
:func:`dates`             dates in a range; :func:`birth_dates` adults' birth dates
:func:`digit_strings`     fixed-width numeric codes; :func:`luhn_digits` check digits
:func:`choice`            values from any small weighted list
========================  ============================================================

Places (city, state, postal code, coordinates that belong together) come from
:mod:`laden.generate.places`.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from laden.generate.locales import AddressOrder, Weighted, locale_data

__all__ = [
    "People", "Pool", "Weighted", "amounts", "birth_dates", "choice", "companies", "countries", "created_updated",
    "dates", "decimal_array", "digit_strings", "draw", "emails", "first_names", "full_names", "integers", "join_text",
    "last_names", "luhn_digits", "number_text", "people", "phone_numbers", "pool", "slugs", "street_addresses",
    "timestamps", "urls",
]  # fmt: skip

EMAIL_DOMAINS = Weighted(("example.com", "example.net", "example.org"), (6.0, 2.0, 2.0))
_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"})


def ascii_fold(text: str) -> str:
    """``Müller`` -> ``Mueller``, ``José`` -> ``Jose`` (for the small lists, not per row)."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD))
    return decomposed.encode("ascii", "ignore").decode("ascii")


@dataclass(frozen=True)
class Pool:
    """A weighted list ready for drawing: values, lower-case ASCII spellings, cumulative weights."""

    values: pa.StringArray
    ascii: pa.StringArray
    cumulative: np.ndarray

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.searchsorted(self.cumulative, rng.random(n), side="right").astype(np.int64)


@lru_cache(maxsize=256)
def pool(weighted: Weighted) -> Pool:
    weights = np.asarray(weighted.weights or [1.0] * len(weighted.values), dtype=np.float64)
    cumulative = np.cumsum(weights / weights.sum())
    cumulative[-1] = 1.0  # rounding must never leave a draw past the end
    folded = [ascii_fold(v).lower() for v in weighted.values]
    return Pool(pa.array(weighted.values, pa.string()), pa.array(folded, pa.string()), cumulative)


def draw(rng: np.random.Generator, n: int, weighted: Weighted) -> np.ndarray:
    """Indices into ``weighted.values``, drawn by weight."""
    return pool(weighted).draw(rng, n)


def choice(rng: np.random.Generator, n: int, values: Sequence[str], weights: Sequence[float] = ()) -> pa.Array:
    """``n`` values of a small list, by weight (uniform without weights)."""
    weighted = Weighted(tuple(values), tuple(float(w) for w in weights))
    p = pool(weighted)
    return p.values.take(p.draw(rng, n))


def join_text(*parts: pa.Array | str) -> pa.Array:
    """Concatenate arrays (and scalars) element-wise."""
    return pc.binary_join_element_wise(*parts, "")


def number_text(values: np.ndarray, width: int = 0) -> pa.Array:
    """Integers as text, left-padded with zeros to ``width``."""
    text = pc.cast(pa.array(values, pa.int64()), pa.string())
    return pc.utf8_lpad(text, width=width, padding="0") if width else text


# -- people ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class People:
    """Names drawn together so emails and initials match them."""

    first: pa.Array
    last: pa.Array
    first_ascii: pa.Array
    last_ascii: pa.Array
    female: np.ndarray


@lru_cache(maxsize=8)
def _given(locale: str, female_share: float) -> tuple[Weighted, int]:
    data = locale_data(locale)
    f, m = data.female_first, data.male_first
    fw = np.asarray(f.weights or [1.0] * len(f.values), dtype=np.float64)
    mw = np.asarray(m.weights or [1.0] * len(m.values), dtype=np.float64)
    weights = np.concatenate([fw / fw.sum() * female_share, mw / mw.sum() * (1.0 - female_share)])
    return Weighted(f.values + m.values, tuple(weights.tolist())), len(f.values)


def people(rng: np.random.Generator, n: int, locale: str = "en_US", *, female_share: float = 0.51) -> People:
    """First and last names by frequency; one draw decides the sex and the first name."""
    given, females = _given(locale, female_share)
    gp, lp = pool(given), pool(locale_data(locale).last)
    gi, li = gp.draw(rng, n), lp.draw(rng, n)
    return People(gp.values.take(gi), lp.values.take(li), gp.ascii.take(gi), lp.ascii.take(li), gi < females)


def first_names(rng: np.random.Generator, n: int, locale: str = "en_US") -> pa.Array:
    given, _ = _given(locale, 0.51)
    p = pool(given)
    return p.values.take(p.draw(rng, n))


def last_names(rng: np.random.Generator, n: int, locale: str = "en_US") -> pa.Array:
    p = pool(locale_data(locale).last)
    return p.values.take(p.draw(rng, n))


def full_names(rng: np.random.Generator, n: int, locale: str = "en_US") -> pa.Array:
    who = people(rng, n, locale)
    return pc.binary_join_element_wise(who.first, who.last, " ")


def emails(
    rng: np.random.Generator,
    n: int,
    who: People | None = None,
    *,
    unique: np.ndarray | None = None,
    locale: str = "en_US",
) -> pa.Array:
    """``first.last@``, ``flast@``, ``first_last@``, ``firstlast@`` + a number, at an RFC 2606 domain.

    With ``unique`` (distinct non-negative integers, e.g. row ids) the number is that integer,
    so the emails are distinct; otherwise a random two-digit number or none.
    """
    who = who or people(rng, n, locale)
    style = rng.integers(0, 4, n)
    initial = pc.utf8_slice_codeunits(who.first_ascii, 0, 1)
    head = pc.if_else(pa.array(style == 1), initial, who.first_ascii)
    sep = pa.array(["."] * 1 + ["", "_", ""], pa.string()).take(pa.array(style))
    if unique is None:
        numbers = rng.integers(10, 100, n)
        suffix = pc.if_else(pa.array(rng.random(n) < 0.5), number_text(numbers), "")
    else:
        suffix = number_text(np.asarray(unique, dtype=np.int64))
    domain = choice(rng, n, EMAIL_DOMAINS.values, EMAIL_DOMAINS.weights)
    return join_text(head, sep, who.last_ascii, suffix, "@", domain)


def phone_numbers(rng: np.random.Generator, n: int, locale: str = "en_US") -> pa.Array:
    """Numbers in the locale's national format; US exchanges avoid N11 and 555."""
    data = locale_data(locale)
    area = pool(data.phone_areas)
    areas = area.values.take(area.draw(rng, n))
    digits = data.phone_local_digits
    if data.phone_local_split:
        rest = digits - data.phone_local_split
        exchange = rng.integers(200, 1000, n)
        exchange = np.where((exchange % 100 == 11) | (exchange == 555), exchange + 1, exchange)
        line = rng.integers(0, 10**rest, n)
        local = join_text(number_text(exchange, data.phone_local_split), "-", number_text(line, rest))
    else:
        local = number_text(rng.integers(2 * 10 ** (digits - 1), 10**digits, n))
    head, _, tail = data.phone_format.partition("{area}")
    before, _, after = tail.partition("{local}")
    return join_text(head, areas, before, local, after)


def street_addresses(rng: np.random.Generator, n: int, locale: str = "en_US") -> pa.Array:
    """House number (mostly small, sometimes 4-5 digits) and a street of the locale."""
    data = locale_data(locale)
    number = number_text(np.floor(10 ** rng.uniform(0.0, 4.2, n)).astype(np.int64) + 1)
    street = pool(data.streets)
    name = street.values.take(street.draw(rng, n))
    if data.address_order is AddressOrder.NUMBER_LAST:
        return pc.binary_join_element_wise(name, number, " ")
    kind = pool(data.street_types)
    return pc.binary_join_element_wise(number, name, kind.values.take(kind.draw(rng, n)), " ")


def companies(rng: np.random.Generator, n: int, locale: str = "en_US") -> pa.Array:
    """``Miller Inc.``, ``Garcia & Lee LLC``, ``Weber GmbH``."""
    data = locale_data(locale)
    last = pool(data.last)
    first, second = last.values.take(last.draw(rng, n)), last.values.take(last.draw(rng, n))
    pair = pc.if_else(pa.array(rng.random(n) < 0.25), join_text(first, " & ", second), first)
    suffix = pool(data.company_suffixes)
    return pc.binary_join_element_wise(pair, suffix.values.take(suffix.draw(rng, n)), " ")


def slugs(text: pa.Array) -> pa.Array:
    """Lower-case ASCII slugs: ``Müller & Sons Inc.`` -> ``mueller-sons-inc``."""
    out = pc.utf8_lower(text)
    for char, repl in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss"), ("é", "e")):
        out = pc.replace_substring(out, char, repl)
    out = pc.replace_substring_regex(out, r"[^a-z0-9]+", "-")
    return pc.utf8_trim(out, "-")


def urls(rng: np.random.Generator, n: int, names: pa.Array | None = None, locale: str = "en_US") -> pa.Array:
    """``https://www.<slug>.<tld>`` of ``names`` (default: fresh company names)."""
    names = names if names is not None else companies(rng, n, locale)
    tlds = ("com", "net", "org") if locale == "en_US" else ("de", "com")
    tld = choice(rng, n, tlds, (6, 2, 1)[: len(tlds)])
    return join_text("https://www.", slugs(names), ".", tld)


def countries(rng: np.random.Generator, n: int, locale: str = "en_US", *, home_share: float = 0.9) -> pa.Array:
    """Mostly the locale's country, the rest spread over a few others (English / German names)."""
    data = locale_data(locale)
    abroad = {
        "en_US": ("Canada", "Mexico", "United Kingdom", "Germany", "France", "Japan", "India", "Brazil"),
        "de_DE": ("Österreich", "Schweiz", "Frankreich", "Niederlande", "Polen", "Italien", "Spanien"),
    }[data.code]
    weights = (home_share, *([(1.0 - home_share) / len(abroad)] * len(abroad)))
    return choice(rng, n, (data.country, *abroad), weights)


# -- numbers and times -------------------------------------------------------------------------


def decimal_array(units: np.ndarray, precision: int, scale: int) -> pa.Array:
    """A ``decimal128(precision, scale)`` array of ``units / 10**scale`` (``units``: int64), exactly."""
    units = np.ascontiguousarray(units, dtype=np.int64)
    words = np.empty((len(units), 2), dtype=np.int64)
    words[:, 0] = units
    words[:, 1] = units >> 63  # sign extension: two's complement 128-bit, little-endian
    return pa.Array.from_buffers(pa.decimal128(precision, scale), len(units), [None, pa.py_buffer(words)])


def amounts(
    rng: np.random.Generator,
    n: int,
    low: float,
    high: float,
    *,
    median: float | None = None,
    sigma: float = 0.8,
    scale: int = 2,
    precision: int = 12,
) -> pa.Array:
    """Log-normal amounts around ``median`` (default: geometric mean of the range), clipped to [low, high]."""
    centre = median if median is not None else float(np.sqrt(max(low, 0.01) * high))
    values = np.clip(rng.lognormal(np.log(centre), sigma, n), low, high)
    return decimal_array(np.round(values * 10**scale).astype(np.int64), precision, scale)


def integers(rng: np.random.Generator, n: int, low: int, high: int, *, kind: pa.DataType | None = None) -> pa.Array:
    """Uniform integers in [low, high] (``int64`` unless ``kind`` says otherwise)."""
    return pa.array(rng.integers(low, high + 1, n), kind or pa.int64())


_EPOCH = dt.datetime(1970, 1, 1)


def _micros(when: dt.datetime) -> int:
    return (when.replace(tzinfo=None) - _EPOCH) // dt.timedelta(microseconds=1)


def timestamps(rng: np.random.Generator, n: int, start: dt.datetime, end: dt.datetime) -> pa.Array:
    """Uniform instants in [start, end), whole seconds, ``timestamp[us]`` (no time zone)."""
    lo, seconds = _micros(start), max(1, (_micros(end) - _micros(start)) // 1_000_000)
    return pa.array(lo + rng.integers(0, seconds, n) * 1_000_000, pa.timestamp("us"))


def created_updated(
    rng: np.random.Generator, n: int, start: dt.datetime, end: dt.datetime, *, updated_share: float = 0.6
) -> tuple[pa.Array, pa.Array]:
    """``(created_at, updated_at)``: updated >= created, equal for rows never updated, never past ``end``."""
    lo, hi = _micros(start), _micros(end)
    created = lo + rng.integers(0, max(1, (hi - lo) // 1_000_000), n) * 1_000_000
    gap = np.round(rng.exponential(90 * 86_400, n)) * 1_000_000
    updated = np.where(rng.random(n) < updated_share, np.minimum(created + gap, hi - 1_000_000), created)
    updated = np.maximum(updated, created)
    return pa.array(created, pa.timestamp("us")), pa.array(updated.astype(np.int64), pa.timestamp("us"))


_EPOCH_DAY = dt.date(1970, 1, 1)


def dates(rng: np.random.Generator, n: int, start: dt.date, end: dt.date) -> pa.Array:
    """Uniform dates in [start, end]."""
    lo, hi = (start - _EPOCH_DAY).days, (end - _EPOCH_DAY).days
    return pa.array(rng.integers(lo, hi + 1, n).astype(np.int32), pa.date32())


def birth_dates(
    rng: np.random.Generator, n: int, *, min_age: int = 18, max_age: int = 90, today: dt.date = dt.date(2025, 1, 1)
) -> pa.Array:
    """Birth dates of people aged ``min_age``..``max_age`` on ``today``, more young than old."""
    age_days = (min_age + (max_age - min_age) * rng.beta(1.6, 2.4, n)) * 365.2425
    days = (today - _EPOCH_DAY).days - np.floor(age_days).astype(np.int64)
    return pa.array(days.astype(np.int32), pa.date32())


def digit_strings(rng: np.random.Generator, n: int, width: int) -> pa.Array:
    """Random fixed-width numeric codes (leading zeros kept)."""
    return number_text(rng.integers(0, 10**width, n), width)


def luhn_digits(body: np.ndarray, width: int) -> np.ndarray:
    """The Luhn check digit of each ``width``-digit number in ``body`` (int64)."""
    body = np.asarray(body, dtype=np.int64)
    total = np.zeros(len(body), dtype=np.int64)
    rest = body.copy()
    for position in range(width):  # over digit positions (<= 18), not rows
        digit = rest % 10
        rest //= 10
        if position % 2 == 0:  # the rightmost body digit is doubled
            digit = digit * 2
            digit = np.where(digit > 9, digit - 9, digit)
        total += digit
    return (10 - total % 10) % 10
