"""What values a column admits: its type's range, its length, and the CHECKs on it.

A :class:`Domain` holds numbers in *units*: integers as they are, decimals in units of
``10**-scale``, dates in days since 1970-01-01, timestamps in microseconds since then, times
in microseconds of the day, floats as floats. Strings carry length bounds (characters and,
for MySQL's ``length()``, bytes), an ``IN`` list, excluded values and a pattern.

CHECKs are read by :func:`laden.export.constraints.parse_checks`. Two more forms are read
here, because realistic schemas use them: comparisons of date and timestamp columns with
literals (``o_orderdate >= '1992-01-01'::date``), and comparisons of two columns of the same
table (``updated_at >= created_at``, ``receipt_date > ship_date``), returned as :class:`Order`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation

import pyarrow as pa

from laden.casting import arrow_type
from laden.export.constraints import (
    Between,
    Constraint,
    Matches,
    Measure,
    NotNull,
    OneOf,
    Op,
    Scalar,
    TableCheck,
    describe,
    parse_checks,
)
from laden.schema import CheckConstraint, Column, Table, TypeKind

__all__ = [
    "NUMERIC",
    "TIMES",
    "Domain",
    "Order",
    "column_domain",
    "order_step",
    "read_checks",
    "to_units",
    "unit_of",
]

Number = int | float
#: kinds whose domain is an interval of numbers
NUMERIC = (TypeKind.INTEGER, TypeKind.DECIMAL, TypeKind.FLOAT)
TIMES = (TypeKind.DATE, TypeKind.TIMESTAMP, TypeKind.TIMESTAMP_TZ, TypeKind.TIME)
_EPOCH = dt.datetime(1970, 1, 1)
_EPOCH_DAY = dt.date(1970, 1, 1)
_DAY_US = 86_400_000_000
_TIME_LIMITS = {
    TypeKind.DATE: ((dt.date(1000, 1, 1) - _EPOCH_DAY).days, (dt.date(9999, 12, 31) - _EPOCH_DAY).days),
    TypeKind.TIMESTAMP: (-30_610_224_000_000_000, 253_402_300_799_000_000),  # 1000-01-01 .. 9999-12-31
    # MySQL's TIMESTAMP ends in 2038; no engine minds the narrower range
    TypeKind.TIMESTAMP_TZ: (86_400_000_000, 2_147_385_600_000_000),
    TypeKind.TIME: (0, _DAY_US - 1),
}


@dataclass(frozen=True)
class Order:
    """``lesser < greater`` (``strict``) or ``lesser <= greater``: two columns of one table."""

    lesser: str
    greater: str
    strict: bool
    check: str


@dataclass(frozen=True)
class Domain:
    column: Column
    arrow: pa.DataType
    nullable: bool
    #: inclusive bounds in units (NUMERIC and TIMES kinds); None: unbounded that way
    low: Number | None = None
    high: Number | None = None
    #: the only values allowed (units, strings or booleans); None: no list
    one_of: tuple[object, ...] | None = None
    excluded: tuple[object, ...] = ()
    min_chars: int = 0
    max_chars: int | None = None
    max_bytes: int | None = None
    min_bytes: int = 0
    pattern: str | None = None
    #: decimal scale (units are 10**-scale); 0 for other kinds
    scale: int = 0
    #: the CHECKs that shaped it (for messages)
    checks: tuple[str, ...] = field(default=())

    @property
    def kind(self) -> TypeKind:
        return self.column.kind

    def admits(self, value: object) -> bool:
        """Whether one value (in units / a string) satisfies every bound of the domain."""
        if self.one_of is not None and value not in self.one_of:
            return False
        if value in self.excluded:
            return False
        if isinstance(value, int | float) and not isinstance(value, bool):
            if self.low is not None and value < self.low:
                return False
            if self.high is not None and value > self.high:
                return False
        if isinstance(value, str):
            chars, size = len(value), len(value.encode())
            if chars < self.min_chars or (self.max_chars is not None and chars > self.max_chars):
                return False
            if size < self.min_bytes or (self.max_bytes is not None and size > self.max_bytes):
                return False
            if self.pattern is not None and re.search(self.pattern, value) is None:
                return False
        return True

    def span(self) -> int | None:
        """How many integral units lie in [low, high] (None when unbounded or a float)."""
        if self.low is None or self.high is None or self.kind is TypeKind.FLOAT:
            return None
        return max(0, int(self.high) - int(self.low) + 1)


def order_step(domain: Domain, strict: bool) -> float:
    """How far above ``lesser`` a ``greater`` must be: 0, or one unit (a whole second for times)."""
    if not strict:
        return 0
    if domain.kind is TypeKind.FLOAT:
        return 1e-9
    return 1_000_000 if domain.kind in (TypeKind.TIMESTAMP, TypeKind.TIMESTAMP_TZ, TypeKind.TIME) else 1


def unit_of(column: Column) -> int:
    """The decimal scale of a column (0 for non-decimals; unbounded numerics get 2)."""
    if column.kind is not TypeKind.DECIMAL:
        return 0
    return column.scale if column.scale is not None else (0 if column.precision else 2)


def _type_bounds(column: Column) -> tuple[Number | None, Number | None]:
    kind = column.kind
    if kind is TypeKind.INTEGER:
        bits = column.int_bits or 64
        if column.unsigned:
            return 0, 2**bits - 1
        return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    if kind is TypeKind.DECIMAL:
        digits = column.precision or 18
        return -(10**digits - 1), 10**digits - 1
    if kind is TypeKind.FLOAT:
        return (-3.0e38, 3.0e38) if column.float_bits == 32 else (-1.0e300, 1.0e300)
    if kind in _TIME_LIMITS:
        return _TIME_LIMITS[kind]
    return None, None


def to_units(value: object, column: Column) -> Number | str | bool | None:
    """A literal (int, Decimal, str, date, datetime, bool) in the column's units; None if it does not fit."""
    kind = column.kind
    try:
        if kind is TypeKind.INTEGER:
            number = Decimal(str(value))
            return int(number) if number == number.to_integral_value() else None
        if kind is TypeKind.DECIMAL:
            units = Decimal(str(value)).scaleb(unit_of(column))
            return int(units) if units == units.to_integral_value() else None
        if kind is TypeKind.FLOAT:
            return float(str(value))
        if kind in TIMES:
            return _time_units(value, kind)
        if kind is TypeKind.BOOLEAN:
            return value if isinstance(value, bool) else None
    except (InvalidOperation, ValueError, TypeError):
        return None
    return value if isinstance(value, str) else str(value)


def _time_units(value: object, kind: TypeKind) -> int | None:
    if kind is TypeKind.DATE:
        day = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value).strip()[:10])
        return (day - _EPOCH_DAY).days
    if kind is TypeKind.TIME:
        t = value if isinstance(value, dt.time) else dt.time.fromisoformat(str(value).strip())
        return ((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000 + t.microsecond
    when = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value).strip())
    if when.tzinfo is not None:
        when = when.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return (when - _EPOCH) // dt.timedelta(microseconds=1)


# --------------------------------------------------------------------------- reading CHECKs

_CASTS = re.compile(
    r"::\s*(?:date|time(?:stamp)?(?:\s*\(\d\))?(?:\s+with(?:out)?\s+time\s+zone)?|timestamptz)\b", re.IGNORECASE
)
_CAST_CALL = re.compile(
    r"\bCAST\s*\(\s*('(?:[^']|'')*')\s+AS\s+(?:DATE|TIME(?:STAMP)?(?:\s+WITH(?:OUT)?\s+TIME\s+ZONE)?|TIMESTAMPTZ)\s*\)",
    re.IGNORECASE,
)
_IDENT = r"(?:\"(?:[^\"]|\"\")+\"|`(?:[^`]|``)+`|\[[^\]]+\]|[A-Za-z_][A-Za-z0-9_$]*)"
_PAIR = re.compile(rf"^\s*({_IDENT})\s*(<=|>=|<|>)\s*({_IDENT})\s*$")
_AND = re.compile(r"\s+AND\s+", re.IGNORECASE)


def _unwrap(text: str) -> str:
    text = text.strip()
    while text.startswith("(") and text.endswith(")"):
        depth = 0
        for i, ch in enumerate(text):
            depth += ch == "("
            depth -= ch == ")"
            if depth == 0 and i < len(text) - 1:
                return text
        text = text[1:-1].strip()
    return text


def _ident(text: str) -> str:
    if text[0] in '"`[':
        return text[1:-1].replace(text[0] * 2, text[0]) if text[0] != "[" else text[1:-1]
    return text


def _pair(text: str, table: Table, check: str) -> Order | None:
    match = _PAIR.match(_unwrap(_CASTS.sub("", text)))
    if not match:
        return None
    left, op, right = table.column(_ident(match.group(1)), fold_case=True), match.group(2), match.group(3)
    right_col = table.column(_ident(right), fold_case=True)
    if left is None or right_col is None or left.name == right_col.name:
        return None
    if op in ("<", "<="):
        return Order(left.name, right_col.name, op == "<", check)
    return Order(right_col.name, left.name, op == ">", check)


def _shadow(table: Table) -> Table:
    """The table with date and time columns seen as strings, so their literals parse."""
    columns = tuple(dataclasses.replace(c, kind=TypeKind.STRING) if c.kind in TIMES else c for c in table.columns)
    checks = tuple(CheckConstraint(_CAST_CALL.sub(r"\1", _CASTS.sub("", c.expression)), c.name) for c in table.checks)
    return dataclasses.replace(table, columns=columns, checks=checks)


def _conjuncts(check: TableCheck, table: Table) -> tuple[list[Constraint], list[Order]] | None:
    """Every conjunct of a check the parser did not fully read, if each is a constraint or an order."""
    whole = _pair(check.expression, table, check.expression)
    if whole is not None:
        return [], [whole]
    if re.search(r"\bbetween\b|\bor\b", check.expression, re.IGNORECASE):
        return None
    constraints: list[Constraint] = []
    orders: list[Order] = []
    for part in _AND.split(_unwrap(check.expression)):
        order = _pair(part, table, check.expression)
        if order is not None:
            orders.append(order)
            continue
        single = parse_checks(dataclasses.replace(table, checks=(CheckConstraint(_unwrap(part)),)))[0]
        if single.unparsed is not None:
            return None
        constraints.extend(single.constraints)
    return constraints, orders


def read_checks(table: Table) -> tuple[list[Constraint], list[Order], list[tuple[str, str]]]:
    """Constraints and column orders of every CHECK of ``table``, and (check, reason) for those it cannot read."""
    has_times = any(c.kind in TIMES for c in table.columns)
    source = _shadow(table) if has_times else table
    constraints: list[Constraint] = []
    orders: list[Order] = []
    unread: list[tuple[str, str]] = []
    for original, check in zip(table.checks, parse_checks(source), strict=True):
        if check.implied:
            continue
        if check.unparsed is None:
            constraints.extend(check.constraints)
            continue
        parts = _conjuncts(check, source)
        if parts is None:
            unread.append((original.expression, check.unparsed))
        else:
            constraints.extend(parts[0])
            orders.extend(parts[1])
    return constraints, orders, unread


# --------------------------------------------------------------------------- building a domain


def column_domain(column: Column, constraints: Sequence[Constraint]) -> tuple[Domain, list[str]]:
    """The domain of ``column`` under ``constraints`` (those on other columns are ignored), and problems."""
    low, high = _type_bounds(column)
    state = _State(column, low, high)
    for c in constraints:
        if c.column == column.name:
            state.apply(c)
    return state.finish()


class _State:
    def __init__(self, column: Column, low: Number | None, high: Number | None) -> None:
        self.column = column
        self.low, self.high = low, high
        self.nullable = column.nullable
        self.one_of: list[object] | None = None
        self.excluded: list[object] = []
        self.min_chars, self.max_chars = 0, column.max_length if column.kind is TypeKind.STRING else None
        self.min_bytes, self.max_bytes = 0, None if column.kind is TypeKind.STRING else column.max_length
        self.pattern: str | None = None
        self.problems: list[str] = []
        self.checks: list[str] = []

    def apply(self, c: Constraint) -> None:
        self.checks.append(describe(c))
        if isinstance(c, NotNull):
            self.nullable = False
        elif isinstance(c, Matches):
            if self.pattern is not None and self.pattern != c.pattern:
                self.problems.append(f"two patterns ({self.pattern!r}, {c.pattern!r}): laden can honour one")
            self.pattern = c.pattern
        elif isinstance(c, OneOf):
            values: list[object] = [v for v in (to_units(x, self.column) for x in c.values) if v is not None]
            self.one_of = values if self.one_of is None else [v for v in self.one_of if v in values]
        elif isinstance(c, Between):
            self._compare(Op.GE, c.low, c.measure)
            self._compare(Op.LE, c.high, c.measure)
        else:
            self._compare(c.op, c.value, c.measure)

    def _compare(self, op: Op, value: Scalar, measure: Measure) -> None:
        if measure is not Measure.VALUE:
            self._length(op, int(value), measure)
            return
        kind = self.column.kind
        if op is Op.NE:
            units = to_units(value, self.column)
            if units is not None:
                self.excluded.append(units)
            return
        if op is Op.EQ:
            units = to_units(value, self.column)
            self.one_of = [units] if units is not None else []
            return
        if kind not in NUMERIC and kind not in TIMES:
            self.problems.append(f"cannot order {kind.value} values ({self.column.name} {op.value} {value!r})")
            return
        self._bound(op, value)

    def _bound(self, op: Op, value: Scalar) -> None:
        column = self.column
        if column.kind is TypeKind.FLOAT:
            number = float(value)
            if op in (Op.GT, Op.GE):
                self._raise_low(math.nextafter(number, math.inf) if op is Op.GT else number)
            else:
                self._lower_high(math.nextafter(number, -math.inf) if op is Op.LT else number)
            return
        try:
            if column.kind in TIMES:
                units = to_units(value, column)
                if not isinstance(units, int) or isinstance(units, bool):
                    raise InvalidOperation
                exact = Decimal(units)
            else:
                exact = Decimal(str(value)).scaleb(unit_of(column))
        except InvalidOperation:
            self.problems.append(f"{value!r} is not a {column.kind.value} value")
            return
        if op is Op.GT:
            self._raise_low(int(exact.to_integral_value(rounding=ROUND_FLOOR)) + 1)
        elif op is Op.GE:
            self._raise_low(int(exact.to_integral_value(rounding=ROUND_CEILING)))
        elif op is Op.LT:
            self._lower_high(int(exact.to_integral_value(rounding=ROUND_CEILING)) - 1)
        else:
            self._lower_high(int(exact.to_integral_value(rounding=ROUND_FLOOR)))

    def _raise_low(self, value: Number) -> None:
        self.low = value if self.low is None else max(self.low, value)

    def _lower_high(self, value: Number) -> None:
        self.high = value if self.high is None else min(self.high, value)

    def _length(self, op: Op, value: int, measure: Measure) -> None:
        chars = measure is Measure.CHARS
        lo, hi = (self.min_chars, self.max_chars) if chars else (self.min_bytes, self.max_bytes)
        if op in (Op.GT, Op.GE, Op.EQ):
            lo = max(lo, value + (op is Op.GT))
        if op in (Op.LT, Op.LE, Op.EQ):
            bound = value - (op is Op.LT)
            hi = bound if hi is None else min(hi, bound)
        if op is Op.NE:
            self.problems.append(f"cannot honour a length that must differ from {value}")
        if chars:
            self.min_chars, self.max_chars = lo, hi
        else:
            self.min_bytes, self.max_bytes = lo, hi

    def finish(self) -> tuple[Domain, list[str]]:
        kind = self.column.kind
        one_of = None if self.one_of is None else tuple(dict.fromkeys(self.one_of))
        domain = Domain(
            column=self.column,
            arrow=arrow_type(self.column),
            nullable=self.nullable,
            low=self.low,
            high=self.high,
            one_of=one_of,
            excluded=tuple(self.excluded),
            min_chars=self.min_chars,
            max_chars=self.max_chars,
            max_bytes=self.max_bytes,
            min_bytes=self.min_bytes,
            pattern=self.pattern,
            scale=unit_of(self.column),
            checks=tuple(self.checks),
        )
        if one_of is not None:
            domain = dataclasses.replace(domain, one_of=tuple(v for v in one_of if domain.admits(v)))
            if not domain.one_of:
                self.problems.append("no value of its IN list fits the other constraints")
        elif (kind in NUMERIC or kind in TIMES) and _empty(domain.low, domain.high):
            self.problems.append(f"no {kind.value} value fits (empty range)")
        if domain.max_chars is not None and domain.min_chars > domain.max_chars:
            self.problems.append(f"no length fits: at least {domain.min_chars} and at most {domain.max_chars}")
        return domain, self.problems


def _empty(low: Number | None, high: Number | None) -> bool:
    return low is not None and high is not None and low > high
