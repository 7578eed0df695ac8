"""Fit generated values to a column's domain, column-wise.

Numbers become units (rounded to the decimal scale), dates and times come from microseconds;
a value outside the domain's bounds is drawn again inside them (near the bound it broke, so
a ``CHECK (price <= 100)`` does not pile values up at 100). Text is cut to the column's length
and padded to its minimum; what still breaks a constraint (bytes, an excluded value) is
replaced by the column's safe value. Nothing here loops over rows.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from laden.generate.from_schema.domain import Domain
from laden.schema import TypeKind

__all__ = ["DAY_US", "fit_instants", "fit_numbers", "fit_text", "with_nulls"]

DAY_US = 86_400_000_000
#: how far from a broken bound a redrawn value may land (in whole units / days)
_SPAN = 1000
_LIMIT = 1 << 62


def _units_per_whole(domain: Domain) -> int:
    return 10**domain.scale if domain.kind is TypeKind.DECIMAL else 1


def fit_numbers(natural: np.ndarray, domain: Domain, rng: np.random.Generator, safe: object) -> np.ndarray:
    """Natural values (a price of 12.5) as the domain's units, inside its bounds (excluded ones -> ``safe``)."""
    if domain.kind is TypeKind.FLOAT:
        return _fit(natural.astype(np.float64, copy=False), domain, rng, float(_SPAN), safe)
    units = np.round(natural * _units_per_whole(domain)).astype(np.int64)
    return _fit(units, domain, rng, _SPAN * _units_per_whole(domain), safe)


def fit_instants(micros: np.ndarray, domain: Domain, rng: np.random.Generator, safe: object) -> np.ndarray:
    """Microseconds since 1970 as days (DATE), microseconds of the day (TIME) or microseconds, inside bounds."""
    kind = domain.kind
    if kind is TypeKind.DATE:
        return _fit(micros // DAY_US, domain, rng, 365, safe)
    if kind is TypeKind.TIME:
        return _fit(micros % DAY_US, domain, rng, DAY_US, safe)
    out = _fit(micros, domain, rng, 365 * DAY_US, safe)
    digits = domain.column.time_precision
    if digits is not None and digits < 6:  # what the column keeps: a redrawn value may carry more digits
        grain = 10 ** (6 - digits)
        out = out // grain * grain
    return out


def _fit(units: np.ndarray, domain: Domain, rng: np.random.Generator, span: float, safe: object) -> np.ndarray:
    low, high = domain.low, domain.high
    if not np.issubdtype(units.dtype, np.floating):  # bounds past int64 (DECIMAL(38)) cannot be reached anyway
        low = None if low is None or low < -_LIMIT else low
        high = None if high is None or high > _LIMIT else high
    if low is not None and high is not None and high - low <= 1000 * span:
        span = high - low  # a narrow range (a CHECK): redraw anywhere in it
    if high is not None:
        over = units > high
        if over.any():
            floor = high - span if low is None else max(low, high - span)
            units[over] = _uniform(rng, floor, high, int(over.sum()), units.dtype)
    if low is not None:
        under = units < low
        if under.any():
            ceiling = low + span if high is None else min(high, low + span)
            units[under] = _uniform(rng, low, ceiling, int(under.sum()), units.dtype)
    if domain.excluded:
        bad = np.isin(units, np.asarray([x for x in domain.excluded if isinstance(x, int | float)]))
        if bad.any():
            if not isinstance(safe, int | float):  # the plan makes sure a NOT NULL column has one
                raise ValueError(f"no value fits {domain.column.name}")
            units[bad] = safe
    return units


def _uniform(rng: np.random.Generator, low: float, high: float, n: int, dtype: np.dtype) -> np.ndarray:
    if np.issubdtype(dtype, np.floating):
        return rng.uniform(low, high, n)
    return rng.integers(int(low), int(high) + 1, n, dtype=np.int64)


def fit_text(values: pa.Array, domain: Domain, safe: object) -> pa.Array:
    """Text cut to the column's length, padded to its minimum; the rest that breaks a constraint -> ``safe``."""
    if domain.max_chars is not None:
        values = pc.utf8_slice_codeunits(values, 0, domain.max_chars)
    if domain.min_chars > 0:
        values = pc.utf8_rpad(values, width=domain.min_chars, padding="x")
    bad = None
    if domain.max_bytes is not None or domain.min_bytes:
        size = pc.binary_length(values)
        if domain.max_bytes is not None:
            bad = pc.greater(size, domain.max_bytes)
        if domain.min_bytes:
            short = pc.less(size, domain.min_bytes)
            bad = short if bad is None else pc.or_(bad, short)
    if domain.excluded:
        excluded = pc.is_in(values, value_set=pa.array([x for x in domain.excluded if isinstance(x, str)], pa.string()))
        bad = excluded if bad is None else pc.or_(bad, excluded)
    if bad is not None and pc.any(bad).as_py():
        values = pc.if_else(bad, pa.scalar(safe if isinstance(safe, str) else None, pa.string()), values)
    return values


def with_nulls(values: pa.Array, mask: np.ndarray | None) -> pa.Array:
    """``values`` with NULL where ``mask`` is True."""
    if mask is None or not mask.any():
        return values
    return pc.if_else(pa.array(mask), pa.scalar(None, values.type), values)
