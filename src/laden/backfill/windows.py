"""Windows: half-open ``[start, end)`` ranges of one column that cover a source exactly.

A window size (``--window``) is one of

- ``100000rows`` (also ``250krows``, ``1Mrows``): about that many rows per window; the bounds
  are quantiles of a seeded sample of the column, the counts are exact;
- a plain number (``1000``, ``0.5``): a numeric step, windows aligned on multiples of it;
- a time interval ``30s``, ``15min``, ``6h``, ``1d``, ``1w``, ``1mo``, ``1y``: windows aligned
  on UTC calendar boundaries (weeks start on Monday, months on the 1st).

Windows are contiguous from the first bound at or below the column's minimum to the first
bound above its maximum (empty windows inside the range are kept, so a rerun of the range
also clears rows the source no longer has); rows whose column is NULL form a window of
their own. Planning reads only the window column, batch by batch: memory is bounded by the
number of windows (and a 200,000-value sample for row windows), not by the source.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from laden.errors import UsageError

Bound = int | float | decimal.Decimal | dt.date | dt.datetime
_SAMPLE = 200_000
_UNITS_US = {"s": 1_000_000, "min": 60_000_000, "h": 3_600_000_000, "d": 86_400_000_000, "w": 7 * 86_400_000_000}
_MONDAY_US = 4 * 86_400_000_000  # 1970-01-01 was a Thursday; 1970-01-05 a Monday


class WindowKind(str, enum.Enum):
    ROWS = "rows"
    STEP = "step"
    INTERVAL = "interval"


@dataclass(frozen=True)
class WindowSpec:
    """A parsed ``--window`` value."""

    kind: WindowKind
    rows: int = 0
    step: int | float | decimal.Decimal = 0
    count: int = 0  # INTERVAL: this many units
    unit: str = ""  # INTERVAL: s, min, h, d, w, mo, y

    @classmethod
    def parse(cls, text: str) -> WindowSpec:
        t = text.strip()
        m = re.fullmatch(r"(\d+)([kM]?)rows", t)
        if m:
            n = int(m.group(1)) * {"": 1, "k": 1_000, "M": 1_000_000}[m.group(2)]
            if n < 1:
                raise UsageError(f"--window {text!r}: a window needs at least 1 row")
            return cls(WindowKind.ROWS, rows=n)
        m = re.fullmatch(r"(\d+)(s|min|h|d|w|mo|y)", t)
        if m:
            if int(m.group(1)) < 1:
                raise UsageError(f"--window {text!r}: an interval must be at least 1 {m.group(2)}")
            return cls(WindowKind.INTERVAL, count=int(m.group(1)), unit=m.group(2))
        if re.fullmatch(r"\d+", t) and int(t) > 0:
            return cls(WindowKind.STEP, step=int(t))
        if re.fullmatch(r"\d*\.\d+", t) and decimal.Decimal(t) > 0:
            return cls(WindowKind.STEP, step=decimal.Decimal(t))
        hint = "; write minutes as min and months as mo" if re.fullmatch(r"\d+m", t) else ""
        raise UsageError(
            f"--window {text!r}: expected a row count (100000rows, 250krows, 1Mrows), a numeric step (1000, 0.5) "
            f"or a time interval (30s, 15min, 6h, 1d, 1w, 1mo, 1y){hint}"
        )

    def __str__(self) -> str:
        if self.kind is WindowKind.ROWS:
            return f"{self.rows}rows"
        if self.kind is WindowKind.STEP:
            return str(self.step)
        return f"{self.count}{self.unit}"


@dataclass(frozen=True)
class Window:
    """Rows with ``start <= column < end``; ``nulls``: the rows whose column is NULL instead."""

    index: int
    start: Bound | None
    end: Bound | None
    rows: int
    nulls: bool = False

    def describe(self) -> str:
        return "NULL" if self.nulls else f"[{_text(self.start)}, {_text(self.end)})"

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "start": _json(self.start), "end": _json(self.end), "rows": self.rows,
                "nulls": self.nulls}  # fmt: skip


def _text(v: Bound | None) -> str:
    return "NULL" if v is None else v.isoformat() if isinstance(v, dt.date) else str(v)


def _json(v: Bound | None) -> Any:
    if v is None or isinstance(v, int | float):
        return v
    return str(v) if isinstance(v, decimal.Decimal) else v.isoformat()


# -- the window column as numbers -----------------------------------------------------------------


@dataclass(frozen=True)
class _Axis:
    """How a column's values map to numbers that order like them (int64 where exact)."""

    type: pa.DataType

    @classmethod
    def of(cls, field: pa.Field) -> _Axis:
        t = field.type
        if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
            return cls(t)
        if pa.types.is_date(t) or pa.types.is_timestamp(t):
            return cls(t)
        raise UsageError(
            f"--window-by {field.name!r}: a window column must be a number, a date or a timestamp, not {t}; "
            "pick another column, or convert it in the source"
        )

    @property
    def temporal(self) -> bool:
        return bool(pa.types.is_date(self.type) or pa.types.is_timestamp(self.type))

    def numbers(self, values: pa.Array) -> Any:
        """Non-null values as int64 microseconds (dates, timestamps), int64 or float64."""
        values = values.filter(pc.is_valid(values))
        if pa.types.is_timestamp(self.type):
            return values.cast(pa.timestamp("us", self.type.tz)).cast(pa.int64()).to_numpy(zero_copy_only=False)
        if pa.types.is_date(self.type):
            days = values.cast(pa.date32()).cast(pa.int32()).to_numpy(zero_copy_only=False)
            return days.astype(np.int64) * _UNITS_US["d"]
        if pa.types.is_integer(self.type):
            return values.cast(pa.int64()).to_numpy(zero_copy_only=False)
        return values.cast(pa.float64()).to_numpy(zero_copy_only=False)

    def value(self, number: int | float) -> Bound:
        """A number of :meth:`numbers` back as a bound of the column's kind."""
        if pa.types.is_timestamp(self.type):
            tz = dt.timezone.utc if self.type.tz else None
            return dt.datetime(1970, 1, 1, tzinfo=tz) + dt.timedelta(microseconds=int(number))
        if pa.types.is_date(self.type):
            return dt.date(1970, 1, 1) + dt.timedelta(days=int(number) // _UNITS_US["d"])
        if pa.types.is_integer(self.type):
            return int(number)
        if pa.types.is_decimal(self.type):
            return decimal.Decimal(repr(float(number)))
        return float(number)


# -- planning -------------------------------------------------------------------------------------


def plan_windows(spec: WindowSpec, field: pa.Field, columns: Any, *, seed: int = 0) -> list[Window]:
    """The windows covering a column; ``columns()`` returns a fresh iterator of its arrays (a pass)."""
    axis = _Axis.of(field)
    if spec.kind is WindowKind.INTERVAL and not axis.temporal:
        raise UsageError(
            f"--window {spec}: a time interval needs a date or timestamp column; {field.name!r} is {field.type}"
        )
    if spec.kind is WindowKind.STEP and axis.temporal:
        raise UsageError(
            f"--window {spec}: {field.name!r} is a {field.type} column; give a time interval (1d, 6h, 1mo) or a row "
            "count (100000rows)"
        )
    if spec.kind is WindowKind.STEP and not (pa.types.is_integer(axis.type) or isinstance(spec.step, int)):
        spec = dataclasses.replace(spec, step=float(spec.step))
    nulls, low, high, total = _extent(axis, columns())
    windows: list[Window] = []
    if total:
        bounds = _bounds(spec, axis, low, high, columns, total, seed)
        counts = _counts(axis, columns(), bounds)
        windows = [
            Window(i, axis.value(lo) if not isinstance(lo, _Exact) else lo.value, _end(axis, hi), int(n))
            for i, (lo, hi, n) in enumerate(zip(bounds[:-1], bounds[1:], counts, strict=True))
        ]
    if nulls:
        windows.append(Window(len(windows), None, None, nulls, nulls=True))
    return windows


@dataclass(frozen=True)
class _Exact:
    """A bound that must keep its exact value (a decimal step) rather than go through float."""

    number: float
    value: Bound


def _end(axis: _Axis, hi: Any) -> Bound:
    return hi.value if isinstance(hi, _Exact) else axis.value(hi)


def _extent(axis: _Axis, arrays: Iterable[pa.Array]) -> tuple[int, Any, Any, int]:
    nulls, total, low, high = 0, 0, None, None
    for array in arrays:
        nulls += array.null_count
        numbers = axis.numbers(array)
        if len(numbers):
            total += len(numbers)
            lo, hi = numbers.min(), numbers.max()
            low = lo if low is None else min(low, lo)
            high = hi if high is None else max(high, hi)
    return nulls, low, high, total


def _after(axis: _Axis, high: Any) -> Any:
    """The smallest number above ``high`` in the column's own resolution."""
    if pa.types.is_date(axis.type):
        return high + _UNITS_US["d"]
    if isinstance(high, np.floating | float):
        return float(np.nextafter(high, np.inf))
    return int(high) + 1


def _bounds(spec: WindowSpec, axis: _Axis, low: Any, high: Any, columns: Any, total: int, seed: int) -> list[Any]:
    if spec.kind is WindowKind.ROWS:
        sample = np.sort(_sample(axis, columns(), total, seed))
        ranks = [int(k * spec.rows * len(sample) / total) for k in range(1, -(-total // spec.rows))]
        inner = sorted({q for q in sample[[r for r in ranks if r < len(sample)]].tolist() if low < q <= high})
        return [low, *inner, _after(axis, high)]
    if spec.kind is WindowKind.STEP:
        step = spec.step
        if isinstance(step, decimal.Decimal):
            first = (decimal.Decimal(repr(float(low))) // step) * step
            out: list[Any] = []
            b = first
            while not out or float(out[-1].value) <= float(high):
                out.append(_Exact(float(b), b))
                b += step
            return out
        first_n = low // step * step
        n = int((high - first_n) // step) + 2
        return [first_n + i * step for i in range(n)]
    if spec.unit in ("mo", "y"):
        months = spec.count * (12 if spec.unit == "y" else 1)
        lo_m = _month_index(low) // months * months
        n = (_month_index(high) - lo_m) // months + 2
        return [_month_start(lo_m + i * months) for i in range(n)]
    step_us = spec.count * _UNITS_US[spec.unit]
    origin = _MONDAY_US if spec.unit == "w" else 0
    first_us = (int(low) - origin) // step_us * step_us + origin
    n = (int(high) - first_us) // step_us + 2
    return [first_us + i * step_us for i in range(n)]


def _month_index(us: Any) -> int:
    d = dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=int(us))
    return (d.year - 1970) * 12 + d.month - 1


def _month_start(index: int) -> int:
    d = dt.datetime(1970 + index // 12, index % 12 + 1, 1)
    return int((d - dt.datetime(1970, 1, 1)) // dt.timedelta(microseconds=1))


def _sample(axis: _Axis, arrays: Iterable[pa.Array], total: int, seed: int) -> np.ndarray[Any, Any]:
    rng = np.random.default_rng(seed)
    keep = min(1.0, _SAMPLE / total)
    parts = [n[rng.random(len(n)) < keep] if keep < 1 else n for n in (axis.numbers(a) for a in arrays)]
    sample = np.concatenate(parts) if parts else np.empty(0)
    return sample if len(sample) else np.concatenate([axis.numbers(a) for a in arrays])


def _counts(axis: _Axis, arrays: Iterator[pa.Array], bounds: list[Any]) -> list[int]:
    edges = np.array([b.number if isinstance(b, _Exact) else b for b in bounds])
    counts = np.zeros(len(bounds) - 1, dtype=np.int64)
    for array in arrays:
        numbers = axis.numbers(array)
        if len(numbers):
            idx = np.searchsorted(edges, numbers, side="right") - 1
            counts += np.bincount(idx, minlength=len(counts))[: len(counts)]
    return counts.tolist()
