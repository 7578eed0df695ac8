"""Realistic values from a column's name and type: the generators and how a name picks one.

:func:`guess` reads a column name (``c_email``, ``firstName``, ``shipping_postal_code``,
``o_totalprice``) and its table's name (a ``name`` in ``customers`` is a person's, in
``suppliers`` a company's) and picks a :class:`Generator`; :func:`generate` makes the values
for one block of rows, calling :mod:`laden.generate.values` and :mod:`laden.generate.places`.

Columns of one row that belong together are drawn together: first name, last name, full
name, email and user name from one person; city, state, postal code and coordinates from one
real US place; ``created_at`` and ``updated_at`` as one pair with updated >= created.

Numbers come out in natural units (a price of 12.5 is 12.5), times as microseconds since
1970-01-01, text and booleans as Arrow arrays; :mod:`.coerce` fits them to the column.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from laden.generate import values as v
from laden.generate.from_schema.codecs import random_uuids
from laden.generate.from_schema.regex import strings_from_bytes
from laden.generate.locales import Weighted
from laden.generate.places import us_places
from laden.generate.rng import stream
from laden.schema import Column, TypeKind

__all__ = [
    "COUNTRY_NAMES",
    "FITS",
    "BlockContext",
    "Generator",
    "Output",
    "Params",
    "generate",
    "guess",
    "output_of",
    "words_of",
]

_DAY_US = 86_400_000_000
WINDOW = (dt.datetime(2015, 1, 1), dt.datetime(2025, 12, 31))


class Output(enum.Enum):
    """What a generator makes; :data:`FITS` says which column kinds take it."""

    TEXT = "text"
    NUMBER = "number"
    INSTANT = "instant"
    BOOL = "bool"
    UUID = "uuid"
    JSON = "json"
    BYTES = "bytes"


FITS = {
    Output.TEXT: (TypeKind.STRING,),
    Output.NUMBER: (TypeKind.INTEGER, TypeKind.DECIMAL, TypeKind.FLOAT),
    Output.INSTANT: (TypeKind.DATE, TypeKind.TIMESTAMP, TypeKind.TIMESTAMP_TZ, TypeKind.TIME),
    Output.BOOL: (TypeKind.BOOLEAN,),
    Output.UUID: (TypeKind.UUID, TypeKind.STRING),
    Output.JSON: (TypeKind.JSON, TypeKind.STRING),
    Output.BYTES: (TypeKind.BINARY,),
}


class Generator(str, enum.Enum):
    """A realistic generator; ``generator: NAME`` in an override picks one by name."""

    FIRST_NAME = "first_name"
    LAST_NAME = "last_name"
    FULL_NAME = "full_name"
    EMAIL = "email"
    USERNAME = "username"
    PHONE = "phone"
    STREET = "street"
    CITY = "city"
    STATE = "state"
    POSTAL_CODE = "postal_code"
    LATITUDE = "latitude"
    LONGITUDE = "longitude"
    COUNTRY = "country"
    URL = "url"
    COMPANY = "company"
    PRICE = "price"
    QUANTITY = "quantity"
    RATE = "rate"
    AGE = "age"
    YEAR = "year"
    NUMBER = "number"
    CREATED_AT = "created_at"
    UPDATED_AT = "updated_at"
    BIRTH_DATE = "birth_date"
    DATE = "date"
    TIMESTAMP = "timestamp"
    TIME = "time"
    TEXT = "text"
    TITLE = "title"
    CODE = "code"
    STATUS = "status"
    CATEGORY = "category"
    BOOLEAN = "boolean"
    UUID = "uuid"
    JSON = "json"
    BYTES = "bytes"


_TEXTS = {
    Generator.FIRST_NAME, Generator.LAST_NAME, Generator.FULL_NAME, Generator.EMAIL, Generator.USERNAME,
    Generator.PHONE, Generator.STREET, Generator.CITY, Generator.STATE, Generator.POSTAL_CODE, Generator.COUNTRY,
    Generator.URL, Generator.COMPANY, Generator.TEXT, Generator.TITLE, Generator.CODE, Generator.STATUS,
    Generator.CATEGORY,
}  # fmt: skip
_NUMBERS = {Generator.PRICE, Generator.QUANTITY, Generator.RATE, Generator.AGE, Generator.YEAR, Generator.NUMBER}
_NUMBERS |= {Generator.LATITUDE, Generator.LONGITUDE}
_INSTANTS = {
    Generator.CREATED_AT, Generator.UPDATED_AT, Generator.BIRTH_DATE, Generator.DATE, Generator.TIMESTAMP,
    Generator.TIME,
}  # fmt: skip
_OTHERS = {
    Generator.BOOLEAN: Output.BOOL,
    Generator.UUID: Output.UUID,
    Generator.JSON: Output.JSON,
    Generator.BYTES: Output.BYTES,
}


def output_of(gen: Generator) -> Output:
    if gen in _NUMBERS:
        return Output.NUMBER
    if gen in _INSTANTS:
        return Output.INSTANT
    return _OTHERS.get(gen, Output.TEXT)


# --------------------------------------------------------------------------- name -> generator

_PERSON_TABLES = re.compile(
    r"customer|client|user|person|people|employee|staff|member|author|contact|patient|student|teacher|driver|"
    r"passenger|guest|owner|buyer|seller|manager|worker|applicant|subscriber|player|account|profile|clerk|agent"
)
_COMPANY_TABLES = re.compile(
    r"supplier|vendor|compan|organi[sz]ation|merchant|manufacturer|publisher|partner|carrier|bank|brand|agency|"
    r"firm|store|shop|tenant|employer|business"
)
#: (pattern over the column's words joined by "_", generator, output); first match wins
_RULES: tuple[tuple[str, Generator], ...] = (
    (r"e_?mail", Generator.EMAIL),
    (r"(^|_)(first|given|fore)_?name", Generator.FIRST_NAME),
    (r"(^|_)(last|sur|family)_?name", Generator.LAST_NAME),
    (r"user_?name|login|handle|nick_?name|screen_?name", Generator.USERNAME),
    (r"full_?name|display_?name|contact_?name|person_?name", Generator.FULL_NAME),
    (r"phone|mobile|(^|_)fax($|_)|(^|_)tel($|_)|telephone|cell", Generator.PHONE),
    (r"(^|_)(street|address|addr|address_?line|line)(_?1)?($|_)", Generator.STREET),
    (r"(^|_)(city|town|municipality)($|_)", Generator.CITY),
    (r"(^|_)(state|province|region_?code)($|_)", Generator.STATE),
    (r"zip|postal|post_?code|postcode|(^|_)plz($|_)", Generator.POSTAL_CODE),
    (r"(^|_)lat(itude)?($|_)", Generator.LATITUDE),
    (r"(^|_)(lon|lng|long|longitude)($|_)", Generator.LONGITUDE),
    (r"country|nation", Generator.COUNTRY),
    (r"url|website|homepage|web_?site|(^|_)link($|_)|(^|_)uri($|_)|domain", Generator.URL),
    (r"company|employer|organi[sz]ation|vendor|supplier|manufacturer|mfgr|brand", Generator.COMPANY),
    (r"created|inserted|registered|signup|sign_up|opened", Generator.CREATED_AT),
    (r"updated|modified|changed|edited|last_?seen", Generator.UPDATED_AT),
    (r"birth|(^|_)dob($|_)|(^|_)born", Generator.BIRTH_DATE),
    (r"(^|_)age($|_)", Generator.AGE),
    (r"(^|_)year($|_)|yr($|_)", Generator.YEAR),
    (r"price|cost|amount|total|bal(ance)?($|_)|acctbal|salary|fee|revenue|wage|income|payment|paid|sum|budget",
     Generator.PRICE),
    (r"discount|tax|rate|pct|percent|ratio|share|margin", Generator.RATE),
    (r"qty|quantity|count|stock|units|avail|(^|_)num_|number_of|size|capacity|seats", Generator.QUANTITY),
    (r"status|state|stage|phase", Generator.STATUS),
    (r"priority|segment|mode|type|kind|category|class|flag|level|tier|group|instruct|method|channel|container",
     Generator.CATEGORY),
    (r"comment|description|(^|_)desc($|_)|note|remark|(^|_)bio($|_)|about|summary|body|text|message|content",
     Generator.TEXT),
    (r"uuid|guid", Generator.UUID),
    (r"sku|code|(^|_)ref($|_)|reference|serial|barcode|isbn|ean|upc|clerk|number|(^|_)no($|_)", Generator.CODE),
    (r"name|title|label|caption|headline", Generator.TITLE),
)  # fmt: skip
_BY_KIND = {
    TypeKind.INTEGER: Generator.NUMBER,
    TypeKind.DECIMAL: Generator.NUMBER,
    TypeKind.FLOAT: Generator.NUMBER,
    TypeKind.STRING: Generator.TITLE,
    TypeKind.BOOLEAN: Generator.BOOLEAN,
    TypeKind.DATE: Generator.DATE,
    TypeKind.TIMESTAMP: Generator.TIMESTAMP,
    TypeKind.TIMESTAMP_TZ: Generator.TIMESTAMP,
    TypeKind.TIME: Generator.TIME,
    TypeKind.UUID: Generator.UUID,
    TypeKind.JSON: Generator.JSON,
    TypeKind.BINARY: Generator.BYTES,
}


def words_of(name: str) -> list[str]:
    """``shipToPostalCode`` -> ``[ship, to, postal, code]``; a short leading prefix (``c_``, ``ps_``) is dropped."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    words = [w for w in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if w]
    if len(words) > 1 and len(words[0]) <= 2 and "_" in name:
        words = words[1:]
    return words


def guess(table: str, column: Column) -> Generator | None:
    """The generator a column's name and type suggest (None: laden has none for its type)."""
    joined = "_".join(words_of(column.name))
    if column.kind not in _BY_KIND:
        return None
    for pattern, gen in _RULES:
        if re.search(pattern, joined) and column.kind in FITS[output_of(gen)]:
            if gen is Generator.TITLE:
                return _name_in(table)
            if gen is Generator.CODE and column.kind is not TypeKind.STRING:
                break
            return gen
    return _BY_KIND.get(column.kind)


def _name_in(table: str) -> Generator:
    low = table.lower()
    if _PERSON_TABLES.search(low):
        return Generator.FULL_NAME
    if _COMPANY_TABLES.search(low):
        return Generator.COMPANY
    if re.search(r"countr|nation", low):
        return Generator.COUNTRY
    if re.search(r"city|cities|town", low):
        return Generator.CITY
    return Generator.TITLE


# --------------------------------------------------------------------------- making values

_ADJECTIVES = (
    "quick", "quiet", "bold", "bright", "silent", "careful", "final", "regular", "special", "express", "pending",
    "ironic", "even", "blue", "red", "green", "silver", "golden", "steel", "smooth", "rough", "light", "heavy",
    "small", "large", "classic", "modern", "rustic", "urban", "fresh", "warm", "cold", "simple", "premium",
    "durable", "compact", "elegant", "sturdy", "vintage", "handmade",
)  # fmt: skip
_NOUNS = (
    "package", "request", "account", "deposit", "order", "shipment", "invoice", "pallet", "crate", "bundle",
    "lamp", "chair", "table", "kettle", "jacket", "bottle", "basket", "garden", "river", "mountain", "valley",
    "harbor", "market", "bridge", "station", "window", "engine", "device", "widget", "gadget", "tool", "hammer",
    "blanket", "pillow", "mirror", "clock", "camera", "speaker", "monitor", "backpack",
)  # fmt: skip
_VERBS = (
    "arrives", "ships", "waits", "sleeps", "moves", "stays", "grows", "runs", "shines", "holds", "turns",
    "returns", "follows", "leads", "fits", "works", "lasts", "rests", "opens", "closes",
)  # fmt: skip
_FILLER = ("the", "a", "of", "and", "to", "with", "for", "about", "near", "after", "along", "across")
_STATUSES = Weighted(
    ("active", "pending", "shipped", "delivered", "cancelled", "returned", "inactive", "closed"),
    (30, 15, 15, 20, 5, 3, 7, 5),
)
_CATEGORIES = Weighted(
    ("Standard", "Premium", "Basic", "Express", "Economy", "Deluxe", "Classic", "Special"),
    (25, 15, 20, 10, 10, 5, 10, 5),
)
#: words of generated sentences; repeats weigh a word (nouns and fillers come up more often)
_TEXT_WORDS = _ADJECTIVES * 2 + _NOUNS * 2 + _VERBS + _FILLER * 4
#: for unique country names: distinct (also accent- and case-insensitively), then with the row number
COUNTRY_NAMES = (
    "United States", "Canada", "Mexico", "Brazil", "Argentina", "Chile", "Peru", "Colombia", "United Kingdom",
    "Ireland", "France", "Germany", "Spain", "Portugal", "Italy", "Netherlands", "Belgium", "Switzerland", "Austria",
    "Poland", "Czechia", "Hungary", "Romania", "Greece", "Turkey", "Sweden", "Norway", "Denmark", "Finland",
    "Iceland", "Ukraine", "Egypt", "Morocco", "Nigeria", "Kenya", "Ethiopia", "South Africa", "Ghana", "Israel",
    "Saudi Arabia", "United Arab Emirates", "India", "Pakistan", "Bangladesh", "China", "Japan", "South Korea",
    "Vietnam", "Thailand", "Malaysia", "Singapore", "Indonesia", "Philippines", "Australia", "New Zealand",
)  # fmt: skip


@dataclass
class BlockContext:
    """One block of one table: row indexes, its random streams, and groups drawn once."""

    seed: int
    table: str
    block: int
    index: np.ndarray
    locale: str = "en_US"
    cache: dict[str, object] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.index)

    def rng(self, name: str) -> np.random.Generator:
        """The stream of ``name`` (a column or a group) in this block: independent of every other."""
        return stream(self.seed, f"{self.table}\x00{name}", self.block)

    def once(self, name: str, make: Callable[[], object]) -> object:
        if name not in self.cache:
            self.cache[name] = make()
        return self.cache[name]


@dataclass(frozen=True)
class Params:
    """What shapes a generator's output for one column."""

    #: emails and user names carry the row number, so no two rows share one
    unique: bool = False
    #: most characters the column holds (text length is chosen to fit)
    max_chars: int | None = None


def _people(ctx: BlockContext) -> v.People:
    return ctx.once("people", lambda: v.people(ctx.rng("\x01people"), ctx.n, ctx.locale))  # type: ignore[return-value]


def _place(ctx: BlockContext) -> np.ndarray:
    return ctx.once("place", lambda: us_places().draw(ctx.rng("\x01place"), ctx.n))  # type: ignore[return-value]


def _lifecycle(ctx: BlockContext) -> tuple[np.ndarray, np.ndarray]:
    def make() -> tuple[np.ndarray, np.ndarray]:
        created, updated = v.created_updated(ctx.rng("\x01lifecycle"), ctx.n, *WINDOW)
        return _micros(created), _micros(updated)

    return ctx.once("lifecycle", make)  # type: ignore[return-value]


def _micros(arr: pa.Array) -> np.ndarray:
    return np.asarray(arr.cast(pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)


def _words(rng: np.random.Generator, n: int, words: pa.Array, low: int, high: int) -> pa.Array:
    """``low``..``high`` words per row, uniformly from ``words``, joined by spaces (one take, one join)."""
    counts = rng.integers(low, high + 1, n)
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    drawn = words.take(pa.array(rng.integers(0, len(words), int(offsets[-1]))))
    return pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets), drawn), " ")


def _text(ctx: BlockContext, column: str, params: Params) -> pa.Array:
    room = params.max_chars or 120
    high = int(min(18, max(2, room // 7)))
    return pc.utf8_capitalize(_words(ctx.rng(column), ctx.n, _text_words(), max(1, high // 3), high))


@lru_cache(maxsize=1)
def _text_words() -> pa.Array:
    return pa.array(_TEXT_WORDS, pa.string())


def _title(ctx: BlockContext, column: str, params: Params) -> pa.Array:
    rng = ctx.rng(column)
    adjective, noun = v.choice(rng, ctx.n, _ADJECTIVES), v.choice(rng, ctx.n, _NOUNS)
    return pc.utf8_title(pc.binary_join_element_wise(adjective, noun, " "))


def _code(ctx: BlockContext, column: str, params: Params) -> pa.Array:
    rng = ctx.rng(column)
    letters = np.frombuffer(b"ABCDEFGHJKLMNPQRSTUVWXYZ", dtype=np.uint8)
    head = letters[rng.integers(0, len(letters), (ctx.n, 3))]
    tail = (rng.integers(0, 10, (ctx.n, 5)) + ord("0")).astype(np.uint8)
    dash = np.full((ctx.n, 1), ord("-"), dtype=np.uint8)
    return strings_from_bytes(np.hstack([head, dash, tail]))


def _unique_suffix(ctx: BlockContext, base: pa.Array, params: Params, names: pa.Array | None = None) -> pa.Array:
    """``base-<row number>``, the base cut so the whole fits: distinct per row whatever the base.

    With ``names`` (distinct values, e.g. country names), row ``i`` takes ``names[i]`` while they last.
    """
    suffix = pc.cast(pa.array(ctx.index + 1), pa.string())
    if params.max_chars is not None:
        room = params.max_chars - 1 - len(str(int(ctx.index[-1]) + 1))
        base = pc.utf8_slice_codeunits(base, 0, max(room, 0))
    out = pc.binary_join_element_wise(base, "-", suffix, "")
    if names is not None and ctx.index[0] < len(names):
        first = ctx.index < len(names)
        own = names.take(pa.array(np.minimum(ctx.index, len(names) - 1)))
        if params.max_chars is not None:
            first &= np.asarray(pc.utf8_length(own).to_numpy(zero_copy_only=False)) <= params.max_chars
        out = pc.if_else(pa.array(first), own, out)
    return out


def _text_value(gen: Generator, ctx: BlockContext, column: str, params: Params) -> pa.Array:
    if gen in (Generator.FIRST_NAME, Generator.LAST_NAME, Generator.FULL_NAME, Generator.USERNAME):
        who = _people(ctx)
        if gen is Generator.FIRST_NAME:
            return who.first
        if gen is Generator.LAST_NAME:
            return who.last
        if gen is Generator.FULL_NAME:
            return pc.binary_join_element_wise(who.first, who.last, " ")
        name = pc.binary_join_element_wise(who.first_ascii, who.last_ascii, ".")
        if params.unique:
            return pc.binary_join_element_wise(name, pc.cast(pa.array(ctx.index + 1), pa.string()), "")
        return pc.binary_join_element_wise(
            name, pc.cast(pa.array(ctx.rng(column).integers(1, 100, ctx.n)), pa.string()), ""
        )
    if gen is Generator.EMAIL:
        unique = ctx.index + 1 if params.unique else None
        return v.emails(ctx.rng(column), ctx.n, _people(ctx), unique=unique, locale=ctx.locale)
    if gen in (Generator.CITY, Generator.STATE, Generator.POSTAL_CODE):
        return us_places().column(gen.value).take(pa.array(_place(ctx)))
    simple: dict[Generator, Callable[[], pa.Array]] = {
        Generator.PHONE: lambda: v.phone_numbers(ctx.rng(column), ctx.n, ctx.locale),
        Generator.STREET: lambda: v.street_addresses(ctx.rng(column), ctx.n, ctx.locale),
        Generator.COUNTRY: lambda: v.countries(ctx.rng(column), ctx.n, ctx.locale),
        Generator.COMPANY: lambda: v.companies(ctx.rng(column), ctx.n, ctx.locale),
        Generator.URL: lambda: v.urls(ctx.rng(column), ctx.n, locale=ctx.locale),
        Generator.STATUS: lambda: v.choice(ctx.rng(column), ctx.n, _STATUSES.values, _STATUSES.weights),
        Generator.CATEGORY: lambda: v.choice(ctx.rng(column), ctx.n, _CATEGORIES.values, _CATEGORIES.weights),
        Generator.TEXT: lambda: _text(ctx, column, params),
        Generator.CODE: lambda: _code(ctx, column, params),
    }
    out = simple[gen]() if gen in simple else _title(ctx, column, params)
    if not params.unique:
        return out
    names = pa.array(COUNTRY_NAMES, pa.string()) if gen is Generator.COUNTRY else None
    return _unique_suffix(ctx, out, params, names)


def _number(gen: Generator, ctx: BlockContext, column: str) -> np.ndarray:
    n = ctx.n
    if gen in (Generator.LATITUDE, Generator.LONGITUDE):
        places = us_places()
        coords = places.latitude if gen is Generator.LATITUDE else places.longitude
        out: np.ndarray = coords[_place(ctx)]
        return out
    rng = ctx.rng(column)
    if gen is Generator.PRICE:
        return np.round(rng.lognormal(np.log(40.0), 1.1, n), 2)
    if gen is Generator.QUANTITY:
        return np.floor(rng.lognormal(np.log(6.0), 0.9, n)) + 1
    if gen is Generator.RATE:
        return np.round(rng.uniform(0.0, 0.1, n), 2)
    if gen is Generator.AGE:
        return rng.integers(18, 91, n).astype(np.float64)
    if gen is Generator.YEAR:
        return rng.integers(1990, 2026, n).astype(np.float64)
    return np.round(rng.uniform(0.0, 1000.0, n), 2)


def _instant(gen: Generator, ctx: BlockContext, column: str) -> np.ndarray:
    if gen in (Generator.CREATED_AT, Generator.UPDATED_AT):
        created, updated = _lifecycle(ctx)
        return created if gen is Generator.CREATED_AT else updated
    rng = ctx.rng(column)
    if gen is Generator.BIRTH_DATE:
        days = v.birth_dates(rng, ctx.n).cast(pa.int32()).to_numpy(zero_copy_only=False).astype(np.int64)
        out: np.ndarray = days * _DAY_US
        return out
    if gen is Generator.TIME:
        return rng.integers(0, _DAY_US // 1_000_000, ctx.n) * 1_000_000
    return _micros(v.timestamps(rng, ctx.n, *WINDOW))


def generate(gen: Generator, ctx: BlockContext, column: str, params: Params) -> pa.Array | np.ndarray:
    """One block of ``gen``'s values for ``column``: text/bool arrays, natural numbers, or microseconds."""
    output = output_of(gen)
    if output is Output.TEXT:
        return _text_value(gen, ctx, column, params)
    if output is Output.NUMBER:
        return _number(gen, ctx, column)
    if output is Output.INSTANT:
        return _instant(gen, ctx, column)
    rng = ctx.rng(column)
    if output is Output.BOOL:
        return pa.array(rng.random(ctx.n) < 0.7)
    if output is Output.UUID:
        return random_uuids(rng, ctx.n)
    if output is Output.JSON:
        keys = pc.cast(pa.array(rng.integers(1, 1000, ctx.n)), pa.string())
        return pc.binary_join_element_wise('{"score": ', keys, "}", "")
    sizes = rng.integers(4, 17, ctx.n)
    offsets = np.zeros(ctx.n + 1, dtype=np.int32)
    np.cumsum(sizes, out=offsets[1:])
    data = rng.integers(0, 256, int(offsets[-1]), dtype=np.uint8)
    return pa.Array.from_buffers(pa.binary(), ctx.n, [None, pa.py_buffer(offsets), pa.py_buffer(data)])
