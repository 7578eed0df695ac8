"""The generation plan as data: what makes every column of every table, printable, no rows yet.

A :class:`GenerationPlan` is built by :func:`laden.generate.from_schema.plan_schema_generation`
and run by :mod:`.batches`. Each column is exactly one of:

* a **key** (:class:`KeyColumn`): a pure function of the row index through a codec — the
  index itself (:attr:`Encoding.INJECTIVE`), the row's rank among its siblings under the
  table's anchor FK (:attr:`Encoding.RANK`), one digit of a mixed-radix split of the index
  over a composite key (:attr:`Encoding.DIGIT`), or the index modulo the codec's capacity
  (:attr:`Encoding.CYCLIC`, for referenced columns that need not be unique);
* a **foreign-key column** (:class:`FkColumn`): the parent's key value at a parent index the
  :class:`FkPlan` computes from the child's row index;
* a **free column** (:class:`FreeColumn`): drawn from the block's random stream.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import pyarrow as pa

from laden.generate.from_schema.codecs import Codec
from laden.generate.from_schema.domain import Domain, Order
from laden.generate.from_schema.keys import Distribution, Permutation, Spread
from laden.generate.from_schema.realism import Generator, Params
from laden.generate.from_schema.regex import Pattern
from laden.schema import ForeignKey, Table

__all__ = [
    "ColumnPlan",
    "Encoding",
    "FkColumn",
    "FkMode",
    "FkPlan",
    "FreeColumn",
    "GenerationPlan",
    "KeyColumn",
    "Problem",
    "Source",
    "TableGeneration",
]


class Encoding(str, enum.Enum):
    """How a key column's value follows from the row index ``i``."""

    #: ``codec(i)``: distinct in every row
    INJECTIVE = "injective"
    #: ``codec(rank)``: distinct among the rows sharing the anchor FK's parent (line numbers)
    RANK = "rank"
    #: ``codec((i // divisor) % radix)``: one digit of ``i`` over a composite key's columns
    DIGIT = "digit"
    #: ``codec(i % capacity)``: repeats; for referenced columns that are not unique
    CYCLIC = "cyclic"


class FkMode(str, enum.Enum):
    """How a foreign key picks the parent row of child row ``i``."""

    #: a parent drawn per row (by hash of ``i``), following the fan-out distribution
    RANDOM = "random"
    #: the children of each parent are consecutive rows (the anchor of a composite key)
    CONTIGUOUS = "contiguous"
    #: every child its own parent (the FK is a unique key by itself)
    ONE_TO_ONE = "one_to_one"
    #: distinct parents among the siblings of one anchor parent (``(part, supplier)`` pairs)
    SPREAD = "spread"
    #: an earlier row of the same table; the first row (and a share of others) are roots
    SELF = "self"
    #: always NULL (the parent table is not generated, or has no rows)
    NULL = "null"


class Source(str, enum.Enum):
    """Where a free column's values come from."""

    GENERATOR = "generator"
    VALUES = "values"
    RANGE = "range"
    REGEX = "regex"
    NULL = "null"


@dataclass(frozen=True)
class KeyColumn:
    encoding: Encoding
    codec: Codec
    divisor: int = 1
    radix: int = 0
    #: realistic text with the row number in it (email, user name, ...), ``codec`` as the fallback
    #: for rows whose realistic value does not fit; not a pure function of the index
    realistic: Generator | None = None


@dataclass(frozen=True)
class FkPlan:
    fk: ForeignKey
    parent: str
    mode: FkMode
    #: RANDOM, CONTIGUOUS: how children spread over parents
    spread: Spread | None = None
    #: scatters slots over parent rows (identity for uniform contiguous layouts)
    permutation: Permutation | None = None
    #: share of NULL rows (nullable FKs)
    nulls: float = 0.0
    #: hash key of this FK's draws
    key: int = 0
    #: SPREAD: step between siblings' parents, coprime with the parent's row count
    step: int = 1
    #: SELF with NOT NULL deferrable FK: the first row references itself
    self_loop: bool = False
    parent_rows: int = 0

    def describe(self, table: str) -> str:
        how = {
            FkMode.RANDOM: "random parent",
            FkMode.CONTIGUOUS: "children of a parent in consecutive rows",
            FkMode.ONE_TO_ONE: "one child per parent",
            FkMode.SPREAD: "distinct parents among siblings",
            FkMode.SELF: "an earlier row (roots NULL)" if not self.self_loop else "an earlier row (root: itself)",
            FkMode.NULL: "always NULL",
        }[self.mode]
        if self.spread is not None and self.spread.distribution is Distribution.ZIPF:
            how += f", zipf {self.spread.skew:g}"
        if self.nulls:
            how += f", {self.nulls:.0%} NULL"
        return f"{self.fk.describe(table)}: {how}"


@dataclass(frozen=True)
class FkColumn:
    fk: int
    ref_column: str


@dataclass(frozen=True)
class FreeColumn:
    source: Source
    generator: Generator | None = None
    params: Params = field(default_factory=Params)
    values: tuple[object, ...] = ()
    weights: tuple[float, ...] = ()
    low: float | int | None = None
    high: float | int | None = None
    pattern: Pattern | None = None
    nulls: float = 0.0
    #: what replaces a generated value that breaks a constraint (None: NULL)
    safe: object = None

    def describe(self) -> str:
        if self.source is Source.GENERATOR and self.generator is not None:
            text = self.generator.value
        elif self.source is Source.VALUES:
            text = f"one of {len(self.values)} values"
        elif self.source is Source.RANGE:
            text = f"uniform in [{self.low}, {self.high}] (units)"
        elif self.source is Source.REGEX and self.pattern is not None:
            text = f"matching {self.pattern.source!r}"
        else:
            text = "NULL"
        return text + (f", {self.nulls:.0%} NULL" if self.nulls else "")


@dataclass(frozen=True)
class ColumnPlan:
    name: str
    domain: Domain
    key: KeyColumn | None = None
    fk: FkColumn | None = None
    free: FreeColumn | None = None

    @property
    def arrow(self) -> pa.DataType:
        return self.domain.arrow

    def describe(self, fks: tuple[FkPlan, ...]) -> str:
        if self.key is not None:
            what = f"key, {self.key.encoding.value}: {self.key.codec.describe()}"
            if self.key.realistic is not None:
                what = f"{self.key.realistic.value} with the row number (unique)"
            return what
        if self.fk is not None:
            return f"{fks[self.fk.fk].parent}.{self.fk.ref_column}"
        return self.free.describe() if self.free is not None else "?"


@dataclass(frozen=True)
class TableGeneration:
    name: str
    table: Table
    rows: int
    columns: tuple[ColumnPlan, ...]
    fks: tuple[FkPlan, ...] = ()
    #: the FK whose children are laid out contiguously (its index in ``fks``)
    anchor: int | None = None
    orders: tuple[Order, ...] = ()

    @property
    def schema(self) -> pa.Schema:
        return pa.schema([pa.field(c.name, c.arrow, nullable=True) for c in self.columns])

    def column(self, name: str) -> ColumnPlan:
        return next(c for c in self.columns if c.name == name)


@dataclass(frozen=True)
class GenerationPlan:
    """Tables in FK order (parents first), each with its row count and column plans."""

    tables: tuple[TableGeneration, ...]
    seed: int = 0
    locale: str = "en_US"
    notes: tuple[str, ...] = ()

    def table(self, name: str) -> TableGeneration:
        for t in self.tables:
            if t.name == name:
                return t
        raise KeyError(name)

    @property
    def rows(self) -> dict[str, int]:
        return {t.name: t.rows for t in self.tables}

    def describe(self) -> str:
        lines = [f"generate {sum(t.rows for t in self.tables):,} rows, seed {self.seed}, locale {self.locale}"]
        for i, t in enumerate(self.tables, 1):
            lines.append(f"  {i}. {t.name}: {t.rows:,} rows")
            lines.extend(f"       {c.name}: {c.describe(t.fks)}" for c in t.columns)
            lines.extend(f"       fk {f.describe(t.name)}" for f in t.fks)
            lines.extend(f"       check {o.check}: {o.greater} raised where needed" for o in t.orders)
        lines.extend(f"  note: {n}" for n in self.notes)
        return "\n".join(lines)


@dataclass(frozen=True)
class Problem:
    """Something the schema (with the asked row counts and overrides) does not allow: where and why."""

    table: str
    subject: str
    reason: str

    def __str__(self) -> str:
        return f"{self.table}: {self.subject}: {self.reason}"
