"""Reflected database schema: small immutable dataclasses.

A target's schema is reflected once per load (see :mod:`laden.reflect`) into these
objects. Everything downstream — column matching, casting, FK ordering, merge keys —
reads them and nothing else, so the planner can be tested without a database.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class TypeKind(enum.Enum):
    """The family of a column's type, as laden casts to it."""

    INTEGER = "integer"
    DECIMAL = "decimal"
    FLOAT = "float"
    STRING = "string"
    BOOLEAN = "boolean"
    DATE = "date"
    TIME = "time"
    TIMESTAMP = "timestamp"  # without time zone
    TIMESTAMP_TZ = "timestamp_tz"  # with time zone (stored as an instant)
    JSON = "json"
    UUID = "uuid"
    BINARY = "binary"
    OTHER = "other"  # anything else: sent as text, the database parses it


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a table.

    ``type`` is the engine's own spelling (``bigint``, ``varchar(20)``); ``kind`` and the
    detail fields are what laden needs to cast Arrow data to it.
    """

    name: str
    type: str
    kind: TypeKind
    nullable: bool = True
    default: str | None = None
    #: identity / serial / autoincrement: the database fills it when absent
    generated: bool = False
    #: computed by the database from other columns (GENERATED ALWAYS AS ...): never written;
    #: PostgreSQL ``GENERATED ALWAYS AS IDENTITY`` counts too, since it refuses given values
    computed: bool = False
    #: characters for strings, bytes for binary; None when unbounded
    max_length: int | None = None
    #: decimal precision and scale
    precision: int | None = None
    scale: int | None = None
    #: integer width in bits (8, 16, 24, 32, 64) and signedness
    int_bits: int | None = None
    unsigned: bool = False
    #: float width in bits (32 or 64)
    float_bits: int | None = None
    #: fractional-second digits for time and timestamps (0..9), None = engine default
    time_precision: int | None = None

    @property
    def has_default(self) -> bool:
        return self.default is not None or self.generated


@dataclass(frozen=True, slots=True)
class ForeignKey:
    """A (possibly composite) foreign key from ``columns`` to ``ref_table.ref_columns``."""

    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]
    name: str | None = None
    deferrable: bool = False
    initially_deferred: bool = False

    def describe(self, table: str) -> str:
        return f"{table}({', '.join(self.columns)}) -> {self.ref_table}({', '.join(self.ref_columns)})"


@dataclass(frozen=True, slots=True)
class UniqueConstraint:
    columns: tuple[str, ...]
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Index:
    name: str
    columns: tuple[str, ...]
    unique: bool = False


@dataclass(frozen=True, slots=True)
class CheckConstraint:
    expression: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    unique_constraints: tuple[UniqueConstraint, ...] = ()
    indexes: tuple[Index, ...] = ()
    checks: tuple[CheckConstraint, ...] = ()
    row_count: int | None = None
    #: PostgreSQL schema / MySQL database the table lives in; None = the default one
    namespace: str | None = None

    def column(self, name: str, *, fold_case: bool = False) -> Column | None:
        for col in self.columns:
            if col.name == name:
                return col
        if fold_case:
            low = name.lower()
            for col in self.columns:
                if col.name.lower() == low:
                    return col
        return None

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def key_named(self, name: str) -> tuple[str, ...]:
        """The columns of the unique key or index called ``name`` (MySQL calls the PK ``PRIMARY``); () if none."""
        if name == "PRIMARY" and self.primary_key:
            return self.primary_key
        named = [(u.name, u.columns) for u in self.unique_constraints] + [(i.name, i.columns) for i in self.indexes]
        return next((cols for n, cols in named if n == name), ())

    def leads_an_index(self, column: str) -> bool:
        """Whether some index (the primary key's, a unique constraint's or a plain one) starts with
        ``column`` (case aside): a range of it is then read through the index, not by a scan."""
        keys = [self.primary_key, *(u.columns for u in self.unique_constraints), *(i.columns for i in self.indexes)]
        return column.lower() in {k[0].lower() for k in keys if k}

    def unique_keys(self) -> tuple[tuple[str, ...], ...]:
        """Every column set the database guarantees unique: PK, unique constraints, unique indexes."""
        keys: list[tuple[str, ...]] = []
        if self.primary_key:
            keys.append(self.primary_key)
        keys.extend(u.columns for u in self.unique_constraints)
        keys.extend(i.columns for i in self.indexes if i.unique)
        out: list[tuple[str, ...]] = []
        for key in keys:
            if key and key not in out:
                out.append(key)
        return tuple(out)


@dataclass(frozen=True, slots=True)
class Schema:
    """All tables of one namespace of a target."""

    tables: tuple[Table, ...] = field(default_factory=tuple)

    def table(self, name: str, *, fold_case: bool = False) -> Table | None:
        for t in self.tables:
            if t.name == name:
                return t
        if fold_case:
            low = name.lower()
            for t in self.tables:
                if t.name.lower() == low:
                    return t
        return None

    @property
    def table_names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tables)
