"""Results as text for people and as JSON-ready dicts for scripts."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from laden.graph import load_order
from laden.plan import LoadPlan
from laden.schema import Schema

if TYPE_CHECKING:
    from laden.check import ConfigCheck
    from laden.queries import QueryResult


# -- inspect ------------------------------------------------------------------------------------------


def schema_text(schema: Schema) -> str:
    lines = []
    for t in schema.tables:
        count = "" if t.row_count is None else f"  ({t.row_count:,} rows)"
        lines.append(f"{t.name}{count}")
        for c in t.columns:
            flags = [] if c.nullable else ["NOT NULL"]
            if c.name in t.primary_key:
                flags.append("PK")
            if c.computed:
                flags.append("COMPUTED")
            elif c.generated:
                flags.append("GENERATED")
            if c.default is not None:
                flags.append(f"DEFAULT {c.default}")
            lines.append(f"  {c.name:<24} {c.type:<28} {' '.join(flags)}".rstrip())
        if len(t.primary_key) > 1:
            lines.append(f"  PRIMARY KEY ({', '.join(t.primary_key)})")
        for fk in t.foreign_keys:
            lines.append(f"  FK {fk.describe(t.name)}" + (" DEFERRABLE" if fk.deferrable else ""))
        for u in t.unique_constraints:
            lines.append(f"  UNIQUE ({', '.join(u.columns)})")
        for i in t.indexes:
            lines.append(f"  {'UNIQUE ' if i.unique else ''}INDEX {i.name} ({', '.join(i.columns)})")
        for ch in t.checks:
            lines.append(f"  CHECK {ch.expression}")
    lines.append("")
    lines.extend(_order_lines(schema))
    return "\n".join(lines)


def _order_lines(schema: Schema) -> list[str]:
    order = load_order(list(schema.tables))
    lines = ["load order (parents first): " + (", ".join(order.tables) or "no tables")]
    lines.extend(f"  {c.describe()}" for c in order.cycles)
    return lines


def schema_dict(schema: Schema) -> dict[str, Any]:
    out = asdict(schema)
    for t in out["tables"]:
        for c in t["columns"]:
            c["kind"] = c["kind"].value
    order = load_order(list(schema.tables))
    out["load_order"] = list(order.tables)
    out["cycles"] = [
        {"tables": list(c.tables), "foreign_keys": [e.fk.describe(e.child) for e in c.edges], "text": c.describe()}
        for c in order.cycles
    ]
    return out


# -- load --dry-run ---------------------------------------------------------------------------------------


def plan_dict(plan: LoadPlan) -> dict[str, Any]:
    return {
        "target": plan.target,
        "engine": plan.engine,
        "strategy": plan.strategy.value,
        "on_error": plan.options.on_error.value,
        "batch_size": plan.options.batch_size,
        "clear": list(plan.clear),
        "tables": [
            {
                "table": tp.table.name,
                "source": tp.name,
                "columns": {c.source: c.target.name for c in tp.columns},
                "keys": list(tp.keys),
                "cycle_method": tp.cycle_method.value if tp.cycle_method else None,
                "set_later": list(tp.deferred_columns),
                "rows_in_source": tp.source_rows,
                "rows_in_target": tp.table.row_count,
            }
            for tp in plan.tables
        ],
        "cycles": [c.describe() for c in plan.cycles],
        "notes": list(plan.notes),
    }


# -- query ---------------------------------------------------------------------------------------------------


def query_text(result: QueryResult) -> str:
    """A plain aligned table, then the row count and time."""
    data = result.to_dict()
    header = [str(c) for c in data["columns"]]
    body = [["NULL" if v is None else str(v) for v in row] for row in data["rows"]]
    widths = [max([len(h), *(len(r[i]) for r in body)]) for i, h in enumerate(header)]
    lines = []
    if header:
        lines.append("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip())
        lines.append("  ".join("-" * w for w in widths))
        lines.extend("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in body)
    more = " (more rows not fetched: --limit)" if result.truncated else ""
    noun = "row" if result.row_count == 1 else "rows"
    lines.append(f"({result.row_count:,} {noun}{more}, {result.execution_time_ms:.1f} ms)")
    return "\n".join(lines)


# -- config check ---------------------------------------------------------------------------------------------


def config_check_text(result: ConfigCheck) -> str:
    lines = [f"config: {result.path or '(none found)'}"]
    if result.problems:
        lines.append("invalid:")
        lines.extend(f"  {p}" for p in result.problems)
        return "\n".join(lines)
    for title, results in (("datasources", result.datasources), ("targets", result.targets)):
        lines.append(f"{title}:")
        if not results:
            lines.append("  (none)")
        for r in results:
            if r.details.get("enabled") is False:
                lines.append(f"  {r.target}: disabled (not checked)")
            elif r.valid:
                lines.append(f"  {r.target}: ok")
            else:
                lines.append(f"  {r.target}: FAILED")
                lines.extend(f"    {e}" for e in r.errors)
    lines.append("all valid and reachable" if result.valid else "some checks failed")
    return "\n".join(lines)
