"""The foreign-key graph of a dataset: load order and cycles.

Only FKs between tables of the dataset order the load; an FK to a table outside the
dataset needs its parent rows to exist already, which the database checks.

Cycles are strongly connected components (Tarjan) with more than one table, or one
table that references itself. The load order is a topological order of the
condensation (Kahn), stable with respect to the order the user gave.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from laden.schema import ForeignKey, Table


@dataclass(frozen=True, slots=True)
class Edge:
    """``child`` references ``parent`` through ``fk``."""

    child: str
    parent: str
    fk: ForeignKey


@dataclass(frozen=True, slots=True)
class Cycle:
    """Tables that reference each other (or one self-referencing table) and the FKs that close the loop."""

    tables: tuple[str, ...]
    edges: tuple[Edge, ...]

    def describe(self) -> str:
        fks = "; ".join(e.fk.describe(e.child) for e in self.edges)
        if len(self.tables) == 1:
            return f"self-reference {fks}"
        return f"cycle {' <-> '.join(self.tables)} via {fks}"


@dataclass(frozen=True, slots=True)
class Order:
    #: tables in load order (parents first); tables of one cycle stay adjacent
    tables: tuple[str, ...]
    cycles: tuple[Cycle, ...]

    def clear_order(self) -> tuple[str, ...]:
        """Children first: the order to delete from the tables."""
        return tuple(reversed(self.tables))


def edges_of(tables: Sequence[Table]) -> list[Edge]:
    names = {t.name for t in tables}
    return [
        Edge(child=t.name, parent=fk.ref_table, fk=fk) for t in tables for fk in t.foreign_keys if fk.ref_table in names
    ]


def _strongly_connected(names: Sequence[str], edges: Sequence[Edge]) -> list[list[str]]:
    """Tarjan's algorithm, iterative. Components come out children-before-parents-agnostic."""
    adjacency: dict[str, list[str]] = {n: [] for n in names}
    for e in edges:
        adjacency[e.child].append(e.parent)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for root in names:
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            recurse = False
            for j in range(i, len(adjacency[node])):
                nxt = adjacency[node][j]
                if nxt not in index:
                    work.append((node, j + 1))
                    work.append((nxt, 0))
                    recurse = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if recurse:
                continue
            if low[node] == index[node]:
                comp: list[str] = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == node:
                        break
                components.append(comp)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return components


def load_order(tables: Sequence[Table]) -> Order:
    """Parents first. ``tables`` is the user's order, used to break ties."""
    names = [t.name for t in tables]
    position = {n: i for i, n in enumerate(names)}
    edges = edges_of(tables)
    components = _strongly_connected(names, edges)
    comp_of: dict[str, int] = {}
    for ci, comp in enumerate(components):
        comp.sort(key=position.__getitem__)
        for n in comp:
            comp_of[n] = ci
    # Kahn over the condensation: a component is ready when all its parent components are loaded.
    parents: dict[int, set[int]] = {ci: set() for ci in range(len(components))}
    for e in edges:
        a, b = comp_of[e.child], comp_of[e.parent]
        if a != b:
            parents[a].add(b)
    done: set[int] = set()
    ordered: list[str] = []
    pending = sorted(range(len(components)), key=lambda ci: position[components[ci][0]])
    while pending:
        for ci in pending:
            if parents[ci] <= done:
                break
        else:  # pragma: no cover - impossible for a condensation (it is acyclic)
            raise AssertionError("condensation has a cycle")
        pending.remove(ci)
        done.add(ci)
        ordered.extend(_order_within(components[ci], edges))
    cycles = []
    for comp in components:
        members = set(comp)
        inner = tuple(e for e in edges if e.child in members and e.parent in members)
        if len(comp) > 1 or inner:
            cycles.append(Cycle(tables=tuple(sorted(comp, key=ordered.index)), edges=inner))
    cycles.sort(key=lambda c: ordered.index(c.tables[0]))
    return Order(tables=tuple(ordered), cycles=tuple(cycles))


def _order_within(comp: list[str], edges: Sequence[Edge]) -> list[str]:
    """Inside a cycle there is no true order; load the table referenced most by the others first."""
    if len(comp) == 1:
        return comp
    members = set(comp)
    refs = {n: 0 for n in comp}
    for e in edges:
        if e.child in members and e.parent in members and e.child != e.parent:
            refs[e.parent] += 1
    return sorted(comp, key=lambda n: -refs[n])


def topo_order(names: Sequence[str], edges: Sequence[Edge]) -> list[str] | None:
    """Parents first over ``edges`` restricted to ``names`` (self-loops count); None when cyclic."""
    members = set(names)
    parents: dict[str, set[str]] = {n: set() for n in names}
    for e in edges:
        if e.child in members and e.parent in members:
            parents[e.child].add(e.parent)
    out: list[str] = []
    done: set[str] = set()
    pending = list(names)
    while pending:
        ready = next((n for n in pending if parents[n] <= done), None)
        if ready is None:
            return None
        pending.remove(ready)
        done.add(ready)
        out.append(ready)
    return out
