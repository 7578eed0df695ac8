"""Plan the generation for a reflected schema: every column's generator, and every problem up front.

:func:`plan_schema_generation` reads each table's types and CHECKs into domains, decides how
every foreign key picks parents (:class:`~.model.FkMode`) and how every unique key stays
unique (:mod:`.assign`), picks a generator for every other column (:mod:`.columns`), and
checks capacities across tables (a child column must hold its parent's key values). Every
problem found — by table and constraint — is raised at once as a :class:`GenerationError`,
before a single row is made.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from laden.errors import UsageError
from laden.generate.from_schema.assign import KeyAssigner
from laden.generate.from_schema.codecs import Codec, DigitsCodec, NumberCodec
from laden.generate.from_schema.columns import free_column, narrow
from laden.generate.from_schema.domain import (
    NUMERIC,
    TIMES,
    Domain,
    Order,
    column_domain,
    order_step,
    read_checks,
)
from laden.generate.from_schema.keys import MAX_ROWS, Distribution, Permutation, Spread, salt
from laden.generate.from_schema.model import (
    ColumnPlan,
    Encoding,
    FkColumn,
    FkMode,
    FkPlan,
    GenerationPlan,
    KeyColumn,
    Problem,
    Source,
    TableGeneration,
)
from laden.generate.from_schema.overrides import Fanout, Named, Overrides
from laden.generate.from_schema.realism import Generator, Output, guess, output_of
from laden.generate.locales import locale_data
from laden.generate.rng import check_seed
from laden.graph import Cycle, load_order
from laden.schema import ForeignKey, Schema, Table, TypeKind

__all__ = ["DEFAULT_ROWS", "FanoutSpec", "GenerationError", "RowsSpec", "plan_schema_generation"]

#: rows of a table the row spec does not name
DEFAULT_ROWS = 1000
#: share of roots (NULL parent) of a nullable self-reference when not configured
SELF_ROOTS = 0.05
RowsSpec = int | Mapping[str, int]
#: one fanout for every FK, or per FK: ``{"orders.customer_id": Fanout(...), "lineitem": Fanout(...)}``
FanoutSpec = Fanout | Mapping[str, Fanout] | None


class GenerationError(UsageError):
    """The schema (with the asked rows and overrides) cannot be generated; ``problems`` says where and why."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = tuple(problems)
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"cannot generate data for this schema ({count}):\n{lines}")


def plan_schema_generation(
    schema: Schema,
    rows: RowsSpec,
    *,
    seed: int = 0,
    locale: str = "en_US",
    overrides: Overrides | None = None,
    fanout: FanoutSpec = None,
) -> GenerationPlan:
    """Decide how every column of every table of ``schema`` is generated; raises :class:`GenerationError`."""
    check_seed(seed)
    locale_data(locale)
    counts = _counts(schema, rows)
    overrides = overrides or Overrides()
    problems: list[Problem] = []
    _unknown_overrides(schema, overrides, problems)
    order = load_order(list(schema.tables))
    referenced = _referenced(schema)
    ctx = _Context(schema, counts, overrides, fanout, seed, problems)
    tables = [ctx.table(schema.table(name) or Table(name, ()), referenced.get(name, set())) for name in order.tables]
    plan = GenerationPlan(tuple(tables), seed, locale, tuple(_notes(order.cycles)))
    _check_fk_values(plan, problems)
    _check_key_loops(plan, problems)
    if problems:
        raise GenerationError(problems)
    return plan


def _counts(schema: Schema, rows: RowsSpec) -> dict[str, int]:
    def valid(n: object, what: str) -> int:
        if isinstance(n, bool) or not isinstance(n, int) or n < 0 or n >= MAX_ROWS:
            raise UsageError(f"rows for {what} must be a whole number from 0 to {MAX_ROWS - 1:,}, got {n!r}")
        return n

    if isinstance(rows, int) or not isinstance(rows, Mapping):
        count = valid(rows, "every table")
        return {t.name: count for t in schema.tables}
    default = valid(rows.get("*", DEFAULT_ROWS), "'*'")
    out = {t.name: default for t in schema.tables}
    for name, n in rows.items():
        if name == "*":
            continue
        table = schema.table(name, fold_case=True)
        if table is None:
            raise UsageError(
                f"rows given for table {name!r}, which is not among the tables to generate ({', '.join(out)})"
            )
        out[table.name] = valid(n, repr(name))
    return out


def _unknown_overrides(schema: Schema, overrides: Overrides, problems: list[Problem]) -> None:
    for item in overrides.columns:
        table = schema.table(item.table, fold_case=True)
        if table is None:
            problems.append(Problem(item.table, f"override {item.key}", "no such table in the schema"))
        elif table.column(item.column, fold_case=True) is None:
            columns = ", ".join(table.column_names)
            problems.append(Problem(table.name, f"override {item.key}", f"no such column (columns: {columns})"))


def _referenced(schema: Schema) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for t in schema.tables:
        for fk in t.foreign_keys:
            parent = schema.table(fk.ref_table)
            if parent is not None:
                out.setdefault(parent.name, set()).update(fk.ref_columns)
    return out


def _notes(cycles: tuple[Cycle, ...]) -> list[str]:
    return [f"{c.describe()}: loaded the way the target handles cycles" for c in cycles]


class _Context:
    def __init__(
        self,
        schema: Schema,
        counts: dict[str, int],
        overrides: Overrides,
        fanout: FanoutSpec,
        seed: int,
        problems: list[Problem],
    ) -> None:
        self.schema = schema
        self.counts = counts
        self.overrides = overrides
        self.fanout = fanout
        self.seed = seed
        self.problems = problems

    def problem(self, table: str, subject: str, reason: str) -> None:
        self.problems.append(Problem(table, subject, reason))

    # -- one table --------------------------------------------------------------------------------
    def table(self, table: Table, referenced: set[str]) -> TableGeneration:
        rows = self.counts[table.name]
        domains, orders = self._domains(table)
        fks = [self._fk_plan(table, fk, rows) for fk in table.foreign_keys]
        self._overlapping_fks(table)
        assigner = KeyAssigner(table, rows, domains, fks, self.seed)
        assigner.run(referenced)
        self.problems.extend(assigner.problems)
        fk_of = {
            c: (fi, f.fk.ref_columns[f.fk.columns.index(c)]) for fi, f in enumerate(assigner.fks) for c in f.fk.columns
        }
        columns: list[ColumnPlan] = []
        for col in table.columns:
            if col.computed or col.name not in domains:
                continue
            domain = domains[col.name]
            if col.name in assigner.encodings:
                key = self._realistic(table, domain, assigner.encodings[col.name], col.name in referenced)
                self._unused_override(table, col.name, key)
                columns.append(ColumnPlan(col.name, domain, key=key))
            elif col.name in fk_of:
                fi, ref = fk_of[col.name]
                columns.append(ColumnPlan(col.name, domain, fk=FkColumn(fi, ref)))
            else:
                plan = self._free(table, domain)
                if plan is not None:
                    columns.append(plan)
        kept = self._orders(table, orders + _lifecycle_orders(columns, orders), columns)
        return TableGeneration(table.name, table, rows, tuple(columns), tuple(assigner.fks), assigner.anchor, kept)

    def _domains(self, table: Table) -> tuple[dict[str, Domain], list[Order]]:
        constraints, orders, unread = read_checks(table)
        for expression, why in unread:
            self.problem(
                table.name,
                f"CHECK ({expression})",
                f"laden cannot read it ({why}); it can satisfy comparisons with constants, IN, BETWEEN, length() "
                "and comparisons of two columns",
            )
        domains: dict[str, Domain] = {}
        fk_columns = {c for fk in table.foreign_keys for c in fk.columns}
        for col in table.columns:
            if col.computed:
                continue
            if col.kind is TypeKind.OTHER:
                if not (col.nullable or col.has_default):
                    self.problem(table.name, f"column {col.name}", f"laden cannot generate {col.type} values")
                continue
            domain, problems = column_domain(col, constraints)
            override = self.overrides.get(table.name, col.name)
            more: list[str] = []
            if col.name not in fk_columns:  # an FK column takes its parent's keys (its override is refused later)
                domain, more = narrow(domain, override)
            if override is not None and override.fanout is not None and col.name not in fk_columns:
                self.problem(table.name, f"override {override.key}", "fanout is for foreign-key columns")
            for reason in problems + more:
                self.problem(table.name, f"column {col.name}", reason)
            domains[col.name] = domain
        return domains, orders

    def _realistic(self, table: Table, domain: Domain, key: KeyColumn, referenced: bool) -> KeyColumn:
        """A unique text column nobody references gets realistic values with the row number in them."""
        if key.encoding is not Encoding.INJECTIVE or domain.kind is not TypeKind.STRING or referenced:
            return key
        if domain.one_of is not None or domain.pattern is not None or domain.excluded or domain.max_bytes:
            return key
        override = self.overrides.get(table.name, domain.column.name)
        named = getattr(override.rule, "generator", None) if override is not None else None
        gen = named or guess(table.name, domain.column)
        if gen is None or output_of(gen) is not Output.TEXT:
            return key
        return dataclasses.replace(key, realistic=gen)

    def _unused_override(self, table: Table, column: str, key: KeyColumn) -> None:
        """A generator or NULL share asked for a key column that cannot take it."""
        override = self.overrides.get(table.name, column)
        if override is None:
            return
        if isinstance(override.rule, Named) and key.realistic is None:
            self.problem(
                table.name,
                f"override {override.key}",
                f"{column} is a key: its values follow the row number ({key.codec.describe()}); "
                "shape them with range:, values: or regex:",
            )
        if override.nulls:
            self.problem(table.name, f"override {override.key}", f"{column} is a key: it is never NULL")

    def _free(self, table: Table, domain: Domain) -> ColumnPlan | None:
        override = self.overrides.get(table.name, domain.column.name)
        free, problems = free_column(table.name, domain, override)
        for reason in problems:
            self.problem(table.name, f"column {domain.column.name}", reason)
        return ColumnPlan(domain.column.name, domain, free=free) if free is not None else None

    # -- foreign keys -------------------------------------------------------------------------------
    def _fanout(self, table: str, fk: ForeignKey) -> Fanout:
        found = Fanout()
        if isinstance(self.fanout, Fanout):
            found = self.fanout
        elif isinstance(self.fanout, Mapping):
            keys = [k for k in [f"{table}.{c}" for c in fk.columns] + [table] if k in self.fanout]
            found = self.fanout[keys[0]] if keys else found
        for col in fk.columns:
            override = self.overrides.get(table, col)
            if override is not None and override.fanout is not None:
                return override.fanout
            if override is not None and override.nulls is not None:  # nulls: alone on an FK column
                found = dataclasses.replace(found, nulls=override.nulls)
        return found

    def _fk_plan(self, table: Table, fk: ForeignKey, rows: int) -> FkPlan:
        subject = f"FOREIGN KEY {fk.describe(table.name)}"
        parent = self.schema.table(fk.ref_table)
        columns = [table.column(c) for c in fk.columns]
        nullable = all(c is not None and c.nullable for c in columns)
        for col in fk.columns:
            override = self.overrides.get(table.name, col)
            if override is not None and override.rule is not None:
                self.problem(table.name, f"override {override.key}", "a foreign-key column takes its parent's keys; "
                             "give fanout, skew or nulls")  # fmt: skip
        null_plan = FkPlan(fk, fk.ref_table, FkMode.NULL)
        parent_rows = self.counts.get(parent.name, 0) if parent is not None else 0
        if parent is None or parent_rows == 0:
            if not nullable and rows > 0:
                why = "is not in the schema being generated" if parent is None else "gets no rows"
                self.problem(table.name, subject, f"{fk.ref_table} {why}; {', '.join(fk.columns)} cannot be NULL")
            return null_plan
        missing = [c for c in fk.ref_columns if parent.column(c) is None]
        if missing:
            self.problem(table.name, subject, f"{parent.name} has no column {', '.join(missing)}")
            return null_plan
        fan = self._fanout(table.name, fk)
        self_ref = parent.name == table.name
        if fan.nulls and not nullable:
            self.problem(table.name, subject, "nulls: its columns are NOT NULL")
        nulls = fan.nulls if fan.nulls is not None else (SELF_ROOTS if self_ref and nullable else 0.0)
        key = salt(self.seed, table.name, "fk", *fk.columns)
        if self_ref:
            return self._self_plan(table, fk, nullable, nulls, key, parent_rows)
        spread = Spread(rows, parent_rows, fan.distribution, fan.skew) if rows else None
        perm = Permutation.keyed(parent_rows, key) if fan.distribution is Distribution.ZIPF else None
        return FkPlan(
            fk, parent.name, FkMode.RANDOM, spread, perm, nulls if nullable else 0.0, key, 1, False, parent_rows
        )

    def _self_plan(self, table: Table, fk: ForeignKey, nullable: bool, nulls: float, key: int, rows: int) -> FkPlan:
        loop = False
        if not nullable:
            if fk.deferrable:
                loop = True  # the first row references itself: fine once checks wait for the commit
            else:
                self.problem(
                    table.name,
                    f"FOREIGN KEY {fk.describe(table.name)}",
                    "a NOT NULL self-reference needs a first row that references itself, a loop the database "
                    f"refuses unless the FK is DEFERRABLE; make {', '.join(fk.columns)} nullable or the FK DEFERRABLE",
                )
        return FkPlan(fk, table.name, FkMode.SELF, None, None, nulls, key, 1, loop, rows)

    def _overlapping_fks(self, table: Table) -> None:
        seen: dict[str, ForeignKey] = {}
        for fk in table.foreign_keys:
            for col in fk.columns:
                other = seen.get(col)
                if other is not None and other.columns != fk.columns:
                    self.problem(
                        table.name,
                        f"FOREIGN KEY {fk.describe(table.name)}",
                        f"shares column {col} with {other.describe(table.name)}; laden cannot satisfy two foreign "
                        "keys through one column",
                    )
                seen[col] = fk

    # -- column orders (a <= b) --------------------------------------------------------------------
    def _orders(self, table: Table, orders: list[Order], columns: list[ColumnPlan]) -> tuple[Order, ...]:
        by_name = {c.name: c for c in columns}
        kept: list[Order] = []
        for order in orders:
            a, b = by_name.get(order.lesser), by_name.get(order.greater)
            subject = f"CHECK ({order.check})"
            if a is None or b is None or a.free is None or b.free is None:
                self.problem(table.name, subject, "laden can order two columns that are not keys or foreign keys only")
                continue
            kinds = {a.domain.kind, b.domain.kind}
            if len(kinds) != 1 or not kinds <= set(NUMERIC + TIMES):
                self.problem(table.name, subject, "laden can order two numbers or two dates/times of one type only")
                continue
            kept.append(order)
        ordered = _sorted_orders(kept)
        if ordered is None:
            self.problem(table.name, "CHECKs " + "; ".join(o.check for o in kept), "the column orders form a loop")
            return ()
        for order in ordered:
            _narrow_pair(columns, order)
        return tuple(ordered)


def _narrow_pair(columns: list[ColumnPlan], order: Order) -> None:
    """lesser <= greater - unit and greater >= lesser + unit: then raising ``greater`` always fits."""
    ia = next(i for i, c in enumerate(columns) if c.name == order.lesser)
    ib = next(i for i, c in enumerate(columns) if c.name == order.greater)
    a, b = columns[ia].domain, columns[ib].domain
    unit = order_step(b, order.strict)
    if b.high is not None:
        high = b.high - unit
        columns[ia] = dataclasses.replace(
            columns[ia], domain=dataclasses.replace(a, high=high if a.high is None else min(a.high, high))
        )
    if a.low is not None:
        low = a.low + unit
        columns[ib] = dataclasses.replace(
            columns[ib], domain=dataclasses.replace(b, low=low if b.low is None else max(b.low, low))
        )


def _lifecycle_orders(columns: list[ColumnPlan], declared: list[Order]) -> list[Order]:
    """``updated_at >= created_at`` even where bounds redraw one of them (unless a CHECK already says it)."""
    made = {c.free.generator: c for c in columns if c.free is not None and c.free.source is Source.GENERATOR}
    created, updated = made.get(Generator.CREATED_AT), made.get(Generator.UPDATED_AT)
    if created is None or updated is None or created.domain.kind is not updated.domain.kind:
        return []
    if any({o.lesser, o.greater} == {created.name, updated.name} for o in declared):
        return []
    return [Order(created.name, updated.name, False, f"{updated.name} >= {created.name} (realism)")]


def _sorted_orders(orders: list[Order]) -> list[Order] | None:
    """Orders so that a column is raised only after every column it must exceed is final."""
    pending = list(orders)
    out: list[Order] = []
    while pending:
        ready = [o for o in pending if not any(p.greater == o.lesser for p in pending)]
        if not ready:
            return None
        out.extend(ready)
        pending = [o for o in pending if o not in ready]
    return out


# --------------------------------------------------------------------------- across tables


def _value_codec(plan: GenerationPlan, table: str, column: str, depth: int = 0) -> tuple[Codec, int] | None:
    """The codec that finally makes ``table.column``'s values and how many of them appear."""
    try:
        t = plan.table(table)
        col = t.column(column)
    except (KeyError, StopIteration):
        return None
    if col.key is not None:
        used = t.rows if col.key.encoding is Encoding.INJECTIVE else col.key.codec.capacity
        return col.key.codec, min(used, col.key.codec.capacity)
    if col.fk is not None and depth < 32:
        fk = t.fks[col.fk.fk]
        if fk.mode is not FkMode.NULL:
            return _value_codec(plan, fk.parent, col.fk.ref_column, depth + 1)
    return None


def _check_fk_values(plan: GenerationPlan, problems: list[Problem]) -> None:
    """A child column must hold every value the parent's key takes (type width, CHECKs, length)."""
    for t in plan.tables:
        for col in t.columns:
            if col.fk is None or t.fks[col.fk.fk].mode is FkMode.NULL:
                continue
            found = _value_codec(plan, t.fks[col.fk.fk].parent, col.fk.ref_column)
            if found is None:
                continue
            codec, used = found
            why = _misfit(codec, used, col.domain)
            if why:
                fk = t.fks[col.fk.fk]
                problems.append(
                    Problem(t.name, f"column {col.name}", f"cannot hold {fk.parent}.{col.fk.ref_column}: {why}")
                )


_CASTS_TO = {TypeKind.INTEGER: (TypeKind.DECIMAL, TypeKind.FLOAT, TypeKind.STRING)}


def _misfit(codec: Codec, used: int, child: Domain) -> str | None:
    parent = codec.domain.kind
    if child.kind is not parent and child.kind not in _CASTS_TO.get(parent, ()):
        return f"it is {codec.domain.column.type}, this column {child.column.type}"
    if isinstance(codec, NumberCodec) and child.kind is codec.domain.kind and child.kind in NUMERIC + TIMES:
        low, high = codec.base, codec.base + (used - 1) * codec.step
        if child.scale != codec.domain.scale:
            return None
        if (child.low is not None and low < child.low) or (child.high is not None and high > child.high):
            return (
                f"its values run from {low} to {high} (units), {child.column.type}{_checks(child)} does not allow that"
            )
    too_long = child.max_chars is not None and isinstance(codec, DigitsCodec) and codec.width > child.max_chars
    if too_long and isinstance(codec, DigitsCodec) and child.kind is TypeKind.STRING:
        return f"its values are {codec.width} characters long, {child.column.type} holds {child.max_chars}"
    return None


def _checks(domain: Domain) -> str:
    return f" with {'; '.join(domain.checks)}" if domain.checks else ""


def _check_key_loops(plan: GenerationPlan, problems: list[Problem]) -> None:
    """FK columns whose parent key is itself derived from this column would never resolve."""
    edges: dict[tuple[str, str], tuple[str, str]] = {}
    for t in plan.tables:
        for col in t.columns:
            if col.fk is not None and t.fks[col.fk.fk].mode is not FkMode.NULL:
                edges[(t.name, col.name)] = (t.fks[col.fk.fk].parent, col.fk.ref_column)
    for start in edges:
        seen = {start}
        node = edges.get(start)
        while node is not None:
            if node in seen:
                if node == start:
                    problems.append(Problem(start[0], f"column {start[1]}", "its foreign key leads back to itself"))
                break
            seen.add(node)
            node = edges.get(node)
