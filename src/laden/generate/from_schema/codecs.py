"""Codecs: injective maps from ``k`` in ``[0, capacity)`` to values of a column's type and domain.

Key-like columns take ``codec.encode(k)`` where ``k`` is the row index (a primary key), the
row's rank among its siblings (a line number) or one digit of a mixed-radix decomposition of
the index (a composite key of plain columns). Distinct ``k``, distinct values — whatever the
collation: strings made here are digits or upper-case letters, so neither case- nor
accent-insensitive comparisons (MySQL) nor trailing-space padding (``CHAR(n)``) merge two.

:func:`from_units` turns numbers in a domain's units (see :mod:`.domain`) into the Arrow
array the loader expects for the column (:func:`laden.casting.arrow_type`).
"""

from __future__ import annotations

import datetime as dt
import string
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from laden.generate.from_schema.domain import Domain
from laden.generate.from_schema.keys import mix64
from laden.generate.from_schema.regex import Pattern, RegexError, compile_pattern, strings_from_bytes
from laden.generate.values import decimal_array
from laden.schema import TypeKind

__all__ = ["Codec", "from_units", "make_codec", "random_uuids"]

#: the most distinct values a codec promises (64-bit arithmetic stays exact below it)
BIG = 1 << 62
_DIGITS = string.digits.encode()
_BASE36 = (string.digits + string.ascii_uppercase).encode()
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_EPOCH_DAY = dt.date(1970, 1, 1)
_START = {
    TypeKind.DATE: (dt.date(2000, 1, 1) - _EPOCH_DAY).days,
    TypeKind.TIMESTAMP: 1_577_836_800_000_000,  # 2020-01-01
    TypeKind.TIMESTAMP_TZ: 1_577_836_800_000_000,
    TypeKind.TIME: 0,
}
_STEP = {TypeKind.DATE: 1, TypeKind.TIMESTAMP: 1_000_000, TypeKind.TIMESTAMP_TZ: 1_000_000, TypeKind.TIME: 1_000_000}


def from_units(units: np.ndarray, domain: Domain) -> pa.Array:
    """Numbers in the domain's units as the column's Arrow type."""
    kind, arrow = domain.kind, domain.arrow
    if kind is TypeKind.INTEGER:
        return pa.array(units.astype(np.int64, copy=False), pa.int64()).cast(arrow)
    if kind is TypeKind.DECIMAL:
        precision = arrow.precision if pa.types.is_decimal(arrow) else 38
        out = decimal_array(units.astype(np.int64, copy=False), min(precision, 38), domain.scale)
        return out if out.type == arrow else out.cast(arrow)
    if kind is TypeKind.FLOAT:
        return pa.array(units.astype(np.float64, copy=False), pa.float64()).cast(arrow, safe=False)
    if kind is TypeKind.DATE:
        return pa.array(units.astype(np.int32), pa.date32())
    if kind in (TypeKind.TIMESTAMP, TypeKind.TIMESTAMP_TZ):
        return pa.array(units.astype(np.int64, copy=False), arrow)
    if kind is TypeKind.TIME:
        return pa.array(units.astype(np.int64, copy=False), pa.time64("us"))
    raise TypeError(f"{kind.value} values are not numbers")


@dataclass(frozen=True)
class Codec:
    """``encode(k)`` for ``k`` in ``[0, capacity)``: distinct k, distinct values."""

    capacity: int
    domain: Domain

    def encode(self, k: np.ndarray) -> pa.Array:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True)
class NumberCodec(Codec):
    """``base + k * step`` in units: 1, 2, 3 ...; dates from 2000-01-01; timestamps by the second."""

    base: int = 0
    step: int = 1

    def encode(self, k: np.ndarray) -> pa.Array:
        return from_units(self.base + k.astype(np.int64) * self.step, self.domain)

    def describe(self) -> str:
        return f"{self.base} + k * {self.step} (units)"


@dataclass(frozen=True)
class FloatCodec(Codec):
    base: float = 1.0

    def encode(self, k: np.ndarray) -> pa.Array:
        return from_units(self.base + k.astype(np.float64), self.domain)

    def describe(self) -> str:
        return f"{self.base:g} + k"


@dataclass(frozen=True)
class DigitsCodec(Codec):
    """Fixed-width text of k in base 10 (``000042``) or, when that is too long, base 36."""

    width: int = 1
    alphabet: bytes = _DIGITS

    def encode(self, k: np.ndarray) -> pa.Array:
        base = len(self.alphabet)
        table = np.frombuffer(self.alphabet, dtype=np.uint8)
        rest = k.astype(np.int64, copy=True)
        matrix = np.empty((len(k), self.width), dtype=np.uint8)
        for col in range(self.width - 1, -1, -1):
            matrix[:, col] = table[rest % base]
            rest //= base
        return strings_from_bytes(matrix)

    def describe(self) -> str:
        return f"{'digits' if len(self.alphabet) == 10 else 'base-36 text'} of width {self.width}"


@dataclass(frozen=True)
class ListCodec(Codec):
    """The k-th value of a list (an ``IN (...)`` check, booleans)."""

    values: tuple[object, ...] = ()

    def encode(self, k: np.ndarray) -> pa.Array:
        return pa.array(list(self.values), self.domain.arrow).take(pa.array(k.astype(np.int64)))

    def describe(self) -> str:
        return f"one of {len(self.values)} listed values"


@dataclass(frozen=True)
class PatternCodec(Codec):
    pattern: Pattern | None = None

    def encode(self, k: np.ndarray) -> pa.Array:
        assert self.pattern is not None
        return self.pattern.nth(k)

    def describe(self) -> str:
        return f"the k-th match of {self.pattern.source if self.pattern else ''!r}"


@dataclass(frozen=True)
class UuidCodec(Codec):
    """Version-4-shaped UUIDs; the last 62 bits are a bijection of k, so they never repeat."""

    key: int = 0

    def encode(self, k: np.ndarray) -> pa.Array:
        mask = np.uint64(BIG - 1)
        hi = (mix64(k, self.key) & ~np.uint64(0xF000)) | np.uint64(0x4000)
        lo = (k.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15 | 1)) & mask
        lo = ((lo ^ (lo >> np.uint64(29))) * np.uint64(0xBF58476D1CE4E5B9)) & mask
        lo = lo ^ np.uint64(self.key & (BIG - 1))  # a fixed xor keeps it a bijection
        return _uuid_text(hi, lo | np.uint64(1 << 63))

    def describe(self) -> str:
        return "UUIDs"


def _uuid_text(hi: np.ndarray, lo: np.ndarray) -> pa.Array:
    nibbles = np.empty((len(hi), 32), dtype=np.uint8)
    for i in range(16):
        shift = np.uint64(60 - 4 * i)
        nibbles[:, i] = ((hi >> shift) & np.uint64(15)).astype(np.uint8)
        nibbles[:, 16 + i] = ((lo >> shift) & np.uint64(15)).astype(np.uint8)
    text = _HEX[nibbles]
    dash = np.full((len(hi), 1), ord("-"), dtype=np.uint8)
    parts = [text[:, :8], dash, text[:, 8:12], dash, text[:, 12:16], dash, text[:, 16:20], dash, text[:, 20:]]
    return strings_from_bytes(np.hstack(parts))


def random_uuids(rng: np.random.Generator, n: int) -> pa.Array:
    """Random version-4 UUIDs as text."""
    hi = (rng.integers(0, 2**63, n, dtype=np.uint64) & ~np.uint64(0xF000)) | np.uint64(0x4000)
    lo = (rng.integers(0, 2**62, n, dtype=np.uint64)) | np.uint64(1 << 63)
    return _uuid_text(hi, lo)


@dataclass(frozen=True)
class BytesCodec(Codec):
    width: int = 8

    def encode(self, k: np.ndarray) -> pa.Array:
        raw = k.astype(">u8").view(np.uint8).reshape(len(k), 8)[:, 8 - self.width :]
        offsets = np.arange(len(k) + 1, dtype=np.int32) * self.width
        data = pa.py_buffer(np.ascontiguousarray(raw))
        return pa.Array.from_buffers(pa.binary(), len(k), [None, pa.py_buffer(offsets), data])

    def describe(self) -> str:
        return f"{self.width} bytes of k"


@dataclass(frozen=True)
class JsonCodec(Codec):
    def encode(self, k: np.ndarray) -> pa.Array:
        import pyarrow.compute as pc

        text = pc.cast(pa.array(k.astype(np.int64)), pa.string())
        return pc.binary_join_element_wise('{"id": ', text, "}", "")

    def describe(self) -> str:
        return 'JSON {"id": k}'


# --------------------------------------------------------------------------- choosing a codec


def make_codec(domain: Domain, needed: int, key: int = 0) -> Codec | str:
    """A codec of the domain with room for ``needed`` distinct values, or why there is none."""
    kind = domain.kind
    if domain.one_of is not None:
        codec: Codec = ListCodec(len(domain.one_of), domain, values=domain.one_of)
    elif kind is TypeKind.BOOLEAN:
        codec = ListCodec(2, domain, values=(False, True))
    elif kind is TypeKind.STRING:
        return _string_codec(domain, needed)
    elif kind in (TypeKind.INTEGER, TypeKind.DECIMAL) or kind in _START:
        return _number_codec(domain, needed)
    elif kind is TypeKind.FLOAT:
        low = float(domain.low if domain.low is not None else -(2.0**53))
        high = float(domain.high if domain.high is not None else 2.0**53)
        base = max(low, min(1.0, high))
        codec = FloatCodec(int(min(max(high - base + 1, 0), 2**53)), domain, base=base)
    elif kind is TypeKind.UUID:
        codec = UuidCodec(BIG, domain, key=key)
    elif kind is TypeKind.BINARY:
        width = min(8, domain.max_bytes or 8)
        codec = BytesCodec(min(BIG, 256**width), domain, width=width)
    elif kind is TypeKind.JSON:
        codec = JsonCodec(BIG, domain)
    else:
        return f"laden cannot make distinct {domain.column.type} values"
    return codec if codec.capacity >= needed else _too_small(codec, needed)


def _too_small(codec: Codec, needed: int) -> str:
    domain = codec.domain
    shape = f"{domain.column.type} with {'; '.join(domain.checks)}" if domain.checks else domain.column.type
    return f"{shape} allows only {codec.capacity:,} distinct values here, {needed:,} needed"


def _number_codec(domain: Domain, needed: int) -> Codec | str:
    kind = domain.kind
    unit = 10**domain.scale if kind is TypeKind.DECIMAL else 1
    low = int(domain.low) if domain.low is not None else -BIG
    high = int(domain.high) if domain.high is not None else BIG
    start = _START.get(kind, unit)
    base = max(low, min(start, high))
    step = _STEP.get(kind, unit)
    if base + (needed - 1) * step > high:
        base = low
    if base + (needed - 1) * step > high and step > 1:
        step = 1
    capacity = max(0, (high - base) // step + 1)
    codec = NumberCodec(min(capacity, BIG), domain, base=base, step=step)
    taken = [x for x in domain.excluded if isinstance(x, int) and base <= x < base + needed * step]
    if taken:
        return f"a key cannot skip the excluded value(s) {', '.join(map(str, taken))}"
    return codec if codec.capacity >= needed else _too_small(codec, needed)


def _string_codec(domain: Domain, needed: int) -> Codec | str:
    if domain.pattern is not None:
        try:
            pattern = compile_pattern(domain.pattern)
        except RegexError as exc:
            return f"pattern {domain.pattern!r}: {exc}"
        capacity = pattern.capacity()
        if capacity is None:
            return f"pattern {domain.pattern!r} varies in shape: distinct values need a fixed-width pattern"
        codec: Codec = PatternCodec(min(capacity, BIG), domain, pattern=pattern)
        return codec if codec.capacity >= needed else _too_small(codec, needed)
    longest = min(x for x in (domain.max_chars, domain.max_bytes, 24) if x is not None)
    shortest = max(domain.min_chars, domain.min_bytes, 1)
    digits = max(shortest, len(str(max(needed - 1, 0))))
    if digits <= longest:
        return DigitsCodec(10**digits, domain, width=digits)
    width = shortest
    while 36**width < needed and width < longest:
        width += 1
    codec = DigitsCodec(min(36**width, BIG), domain, width=width, alphabet=_BASE36)
    return codec if codec.capacity >= needed and width <= longest else _too_small(codec, needed)
