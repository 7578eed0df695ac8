"""The planner without a database: FK order, cycles, methods, column matching."""

from __future__ import annotations

import pyarrow as pa
import pytest

from laden.errors import SchemaMismatchError, UnsupportedError, UsageError
from laden.graph import load_order
from laden.plan import Capabilities, CycleMethod, LoadOptions, Strategy, build_plan
from laden.schema import Column, ForeignKey, Schema, Table, TypeKind


def table(name: str, *fks: tuple[str, str], pk: str = "id", nullable_fk: bool = True) -> Table:
    cols = [Column(pk, "bigint", TypeKind.INTEGER, nullable=False)]
    cols += [Column(c, "bigint", TypeKind.INTEGER, nullable=nullable_fk) for c, _ in fks]
    return Table(
        name,
        tuple(cols),
        primary_key=(pk,),
        foreign_keys=tuple(ForeignKey((c,), parent, (pk,), name=f"{name}_{c}") for c, parent in fks),
    )


def test_order_is_parents_first_and_stable() -> None:
    tables = [table("items", ("order_id", "orders")), table("orders", ("cust_id", "customers")), table("customers")]
    order = load_order(tables)
    assert order.tables == ("customers", "orders", "items")
    assert order.clear_order() == ("items", "orders", "customers")
    assert order.cycles == ()
    independent = load_order([table("b"), table("a"), table("c")])
    assert independent.tables == ("b", "a", "c")


def test_cycles_and_self_references_are_found() -> None:
    tables = [
        table("a", ("b_id", "b")),
        table("b", ("c_id", "c")),
        table("c", ("a_id", "a")),
        table("d", ("a_id", "a")),
        table("e", ("boss", "e")),
    ]
    order = load_order(tables)
    assert [set(c.tables) for c in order.cycles] == [{"a", "b", "c"}, {"e"}]
    assert order.tables.index("d") > max(order.tables.index(t) for t in "abc")
    assert order.cycles[1].describe() == "self-reference e(boss) -> e(id)"


def caps(*methods: CycleMethod, **kw: bool) -> Capabilities:
    return Capabilities(cycle_methods=methods, **kw)


def plan(tables: list[Table], sources: dict[str, list[str]], c: Capabilities, **opts: object):  # type: ignore[no-untyped-def]
    schemas = {n: pa.schema([(col, pa.int64()) for col in cols]) for n, cols in sources.items()}
    return build_plan(schemas, Schema(tuple(tables)), LoadOptions(**opts), c, target="t", engine="x")  # type: ignore[arg-type]


def test_two_phase_orders_by_the_fk_that_stays_enforced() -> None:
    a = table("a", ("b_id", "b"), nullable_fk=True)
    b = table("b", ("a_id", "a"), nullable_fk=False)
    p = plan([a, b], {"b": ["id", "a_id"], "a": ["id", "b_id"]}, caps(CycleMethod.TWO_PHASE))
    assert [t.name for t in p.tables] == ["a", "b"]
    assert p.tables[0].deferred_columns == ("b_id",) and p.tables[1].deferred_columns == ()
    assert "2. b" in p.describe() and "set-later=(b_id)" in p.describe()


def test_unloadable_cycle_names_tables_and_fks() -> None:
    a = table("a", ("b_id", "b"), nullable_fk=False)
    b = table("b", ("a_id", "a"), nullable_fk=False)
    with pytest.raises(UnsupportedError) as err:
        plan([a, b], {"a": ["id", "b_id"], "b": ["id", "a_id"]}, caps(CycleMethod.DEFERRED, CycleMethod.TWO_PHASE))
    message = str(err.value)
    assert "cannot load the cycle a <-> b" in message
    assert "its FKs are not DEFERRABLE" in message and "a(b_id) -> b(id) is NOT NULL" in message


def test_levels_only_for_self_references_and_deferred_for_any_fk_on_sqlite() -> None:
    e = table("e", ("boss", "e"))
    p = plan([e], {"e": ["id", "boss"]}, caps(CycleMethod.LEVELS))
    assert p.tables[0].cycle_method is CycleMethod.LEVELS
    p = plan([e], {"e": ["id", "boss"]}, caps(CycleMethod.DEFERRED, defers_any_fk=True))
    assert p.tables[0].cycle_method is CycleMethod.DEFERRED


def test_column_matching_and_key_errors() -> None:
    t = Table(
        "t",
        (
            Column("id", "bigint", TypeKind.INTEGER, nullable=False),
            Column("name", "text", TypeKind.STRING, nullable=False),
            Column("ts", "timestamp", TypeKind.TIMESTAMP, nullable=False, default="now()"),
        ),
        primary_key=("id",),
    )
    pg = caps(folds_to_lower=True, fold_case=False)
    p = plan([t], {"t": ["ID", "Name"]}, pg)
    assert [(c.source, c.target.name) for c in p.tables[0].columns] == [("ID", "id"), ("Name", "name")]
    with pytest.raises(SchemaMismatchError, match="needs column\\(s\\) name \\(NOT NULL, no default\\)"):
        plan([t], {"t": ["id"]}, pg)
    with pytest.raises(UsageError, match="'nope' is not a column of 't'"):
        plan([t], {"t": ["id", "name"]}, pg, strategy=Strategy.UPSERT, keys={"t": ("nope",)})
    with pytest.raises(UsageError, match="--key given for table 'x'"):
        plan([t], {"t": ["id", "name"]}, pg, keys={"x": ("id",)})
    with pytest.raises(UnsupportedError, match="needs a PRIMARY KEY or UNIQUE index on exactly those columns"):
        plan(
            [t],
            {"t": ["id", "name"]},
            caps(upsert_needs_unique_key=True),
            strategy=Strategy.UPSERT,
            keys={"t": ("name",)},
        )
