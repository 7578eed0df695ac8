"""Validation rules for a backfill's sample, from ``laden.yaml``:

.. code-block:: yaml

    validation:
      events:                       # the target table
        sample: 10000               # rows drawn from the source (seeded)
        seed: 0
        threshold: 0.99             # below this score, `backfill run` refuses to start
        rules:
          - not_null: [id, amount]
          - unique: [id]
          - range: {column: amount, min: 0, max: 1000000}
          - regex: {column: email, pattern: "^[^@]+@[^@.]+\\\\."}
          - allowed_values: {column: currency, values: [EUR, USD]}
          - fk_exists: {column: customer_id, table: customers, references: id}
          - expression: "amount >= 0 and currency in ('EUR','USD')"

Each rule marks every sampled row pass or fail; the report gives per rule the pass rate and
a few failing rows, and the score is the share of sampled rows that pass every rule.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from laden.backfill.expr import compile_expression, passes
from laden.errors import UsageError

#: (table, column, distinct values) -> the values that exist in the target
Lookup = Callable[[str, str, list[Any]], set[Any]]
_EXAMPLES = 5


@dataclass(frozen=True)
class Rule:
    kind: str
    columns: tuple[str, ...] = ()
    low: Any = None
    high: Any = None
    pattern: str = ""
    values: tuple[Any, ...] = ()
    table: str = ""
    references: str = ""
    expression: str = ""

    def describe(self) -> str:
        cols = ", ".join(self.columns)
        return {
            "not_null": f"not_null({cols})",
            "unique": f"unique({cols})",
            "range": f"range({cols}: {self.low} .. {self.high})",
            "regex": f"regex({cols} ~ {self.pattern})",
            "allowed_values": f"allowed_values({cols} in {list(self.values)})",
            "fk_exists": f"fk_exists({cols} -> {self.table}.{self.references})",
            "expression": f"expression({self.expression})",
        }[self.kind]

    def check(self, sample: pa.Table, lookup: Lookup | None) -> Any:
        """One boolean per sampled row: True where the row passes."""
        missing = [c for c in self.columns if c not in sample.column_names]
        if missing:
            raise UsageError(
                f"rule {self.describe()}: the source has no column {missing[0]!r}; its columns are "
                f"{', '.join(sample.column_names)}"
            )
        if self.kind == "expression":
            return passes(compile_expression(self.expression, sample.column_names), sample, self.expression)
        if self.kind == "not_null":
            ok = np.ones(sample.num_rows, dtype=bool)
            for c in self.columns:
                ok &= sample.column(c).is_valid().to_numpy(zero_copy_only=False)
            return ok
        if self.kind == "unique":
            return _unique(sample, self.columns)
        column = sample.column(self.columns[0])
        valid = column.is_valid().to_numpy(zero_copy_only=False)
        if self.kind == "fk_exists":
            if lookup is None:
                raise UsageError(f"rule {self.describe()} needs the target to look the values up")
            distinct = [v for v in pc.unique(column).to_pylist() if v is not None]
            found = lookup(self.table, self.references, distinct)
            known = pa.array(sorted(found, key=repr) if found else [], type=column.type)
            return ~valid | pc.is_in(column, value_set=known).to_numpy(zero_copy_only=False)  # NULL: no reference
        if self.kind == "range":
            ok = valid.copy()
            if self.low is not None:
                ok &= pc.greater_equal(column, pa.scalar(self.low)).fill_null(False).to_numpy(zero_copy_only=False)
            if self.high is not None:
                ok &= pc.less_equal(column, pa.scalar(self.high)).fill_null(False).to_numpy(zero_copy_only=False)
            return ok
        if self.kind == "regex":
            text = column if pa.types.is_string(column.type) else pc.cast(column, pa.string())
            return pc.match_substring_regex(text, self.pattern).fill_null(False).to_numpy(zero_copy_only=False)
        value_set = pa.array(list(self.values)).cast(column.type)
        return pc.is_in(column, value_set=value_set).fill_null(False).to_numpy(zero_copy_only=False) & valid


def _unique(sample: pa.Table, columns: Sequence[str]) -> Any:
    keys = sample.select(list(columns)).append_column("__row", pa.array(np.arange(sample.num_rows)))
    counts = keys.group_by(list(columns), use_threads=False).aggregate([("__row", "count")])
    dup = counts.filter(pc.greater(counts.column("__row_count"), 1)).drop_columns(["__row_count"])
    if not dup.num_rows:
        return np.ones(sample.num_rows, dtype=bool)
    flagged = keys.join(
        dup.append_column("__dup", pa.array([True] * dup.num_rows)), list(columns), join_type="left outer"
    )
    bad_rows = flagged.filter(pc.is_valid(flagged.column("__dup"))).column("__row").to_numpy()
    ok = np.ones(sample.num_rows, dtype=bool)
    ok[bad_rows] = False
    return ok


@dataclass(frozen=True)
class Validation:
    """The rules for one target table."""

    table: str
    rules: tuple[Rule, ...]
    sample: int = 10_000
    seed: int = 0
    threshold: float = 1.0


@dataclass
class RuleResult:
    rule: str
    passed: int
    total: int
    failing: list[dict[str, Any]] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.passed / self.total if self.total else 1.0

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "passed": self.passed, "total": self.total, "pass_rate": self.rate,
                "failing": self.failing}  # fmt: skip


@dataclass
class ValidationReport:
    table: str
    rows: int
    threshold: float
    rules: list[RuleResult]
    passing_rows: int

    @property
    def score(self) -> float:
        return self.passing_rows / self.rows if self.rows else 1.0

    @property
    def ok(self) -> bool:
        return self.score >= self.threshold

    def to_dict(self) -> dict[str, Any]:
        return {"table": self.table, "sample_rows": self.rows, "score": self.score, "threshold": self.threshold,
                "ok": self.ok, "rules": [r.to_dict() for r in self.rules]}  # fmt: skip

    def describe(self) -> str:
        lines = [f"validation of {self.table!r} on a sample of {self.rows:,} rows"]
        for r in self.rules:
            lines.append(f"  {r.rate:8.2%}  {r.rule}  ({r.passed:,}/{r.total:,})")
            lines.extend(f"            failing: {row}" for row in r.failing)
        verdict = "ok" if self.ok else "below the threshold: `backfill run` will refuse to start"
        lines.append(f"score {self.score:.2%} (threshold {self.threshold:.2%}): {verdict}")
        return "\n".join(lines)


def validate_sample(validation: Validation, sample: pa.Table, lookup: Lookup | None) -> ValidationReport:
    all_ok = np.ones(sample.num_rows, dtype=bool)
    results = []
    for rule in validation.rules:
        ok = np.asarray(rule.check(sample, lookup), dtype=bool)
        all_ok &= ok
        failing = np.flatnonzero(~ok)[:_EXAMPLES]
        rows = sample.take(pa.array(failing, pa.int64())).to_pylist() if len(failing) else []
        results.append(RuleResult(rule.describe(), int(ok.sum()), sample.num_rows, [_plain(r) for r in rows]))
    return ValidationReport(validation.table, sample.num_rows, validation.threshold, results, int(all_ok.sum()))


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v if isinstance(v, int | float | str | bool | type(None)) else str(v) for k, v in row.items()}


# -- from laden.yaml ------------------------------------------------------------------------------

_SETTINGS = {
    "range": {"column", "min", "max"},
    "regex": {"column", "pattern"},
    "allowed_values": {"column", "values"},
    "fk_exists": {"column", "table", "references"},
}
_RULE_KEYS = ("not_null", "unique", "range", "regex", "allowed_values", "fk_exists", "expression")


def parse_validation(table: str, node: Mapping[str, Any], where: str = "validation") -> Validation:
    """One table's entry of ``validation:`` (``where``: the key path errors name)."""
    path = f"{where}.{table}"
    unknown = sorted(set(node) - {"sample", "seed", "threshold", "rules"})
    if unknown:
        raise UsageError(f"{path}.{unknown[0]}: unknown key; expected sample, seed, threshold, rules")
    rules = node.get("rules") or []
    if not isinstance(rules, list) or not rules:
        raise UsageError(f"{path}.rules: expected a list of rules ({', '.join(_RULE_KEYS)})")
    sample, seed = _int(node.get("sample", 10_000), f"{path}.sample", 1), _int(node.get("seed", 0), f"{path}.seed", 0)
    threshold = node.get("threshold", 1.0)
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 <= threshold <= 1:
        raise UsageError(f"{path}.threshold: expected a number from 0 to 1, got {threshold!r}")
    parsed = tuple(_rule(r, f"{path}.rules[{i}]") for i, r in enumerate(rules))
    return Validation(table, parsed, sample, seed, float(threshold))


def _int(value: Any, path: str, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise UsageError(f"{path}: expected a whole number of at least {least}, got {value!r}")
    return value


def _rule(node: Any, path: str) -> Rule:
    if not isinstance(node, Mapping) or len(node) != 1 or next(iter(node)) not in _RULE_KEYS:
        raise UsageError(f"{path}: expected one of {', '.join(_RULE_KEYS)} with its settings, got {node!r}")
    kind, body = next(iter(node.items()))
    if kind in ("not_null", "unique"):
        cols = [body] if isinstance(body, str) else body
        if not isinstance(cols, list) or not cols or not all(isinstance(c, str) and c for c in cols):
            raise UsageError(f"{path}.{kind}: expected a column name or a list of them")
        return Rule(kind, tuple(cols))
    if kind == "expression":
        if not isinstance(body, str) or not body.strip():
            raise UsageError(f"{path}.expression: expected the expression as text")
        compile_expression(body, _ColumnsAnything())  # syntax errors now, column names against the data later
        return Rule(kind, (), expression=body)
    allowed = _SETTINGS[kind]
    if not isinstance(body, Mapping) or "column" not in body or set(body) - allowed:
        raise UsageError(f"{path}.{kind}: expected a mapping with keys {', '.join(sorted(allowed))}, got {body!r}")
    column = (str(body["column"]),)
    if kind == "range":
        if body.get("min") is None and body.get("max") is None:
            raise UsageError(f"{path}.range: give min, max or both")
        return Rule(kind, column, low=body.get("min"), high=body.get("max"))
    if kind == "regex":
        try:
            re.compile(str(body.get("pattern", "")))
        except re.error as exc:
            raise UsageError(f"{path}.regex.pattern: not a valid regular expression: {exc}") from exc
        return Rule(kind, column, pattern=str(body.get("pattern", "")))
    if kind == "allowed_values":
        values = body.get("values")
        if not isinstance(values, list) or not values:
            raise UsageError(f"{path}.allowed_values.values: expected a list of values")
        return Rule(kind, column, values=tuple(values))
    if not body.get("table") or not body.get("references"):
        raise UsageError(f"{path}.fk_exists: give table and references (the referenced column)")
    return Rule(kind, column, table=str(body["table"]), references=str(body["references"]))


class _ColumnsAnything(list[str]):
    """Accepts every column name: checks an expression's syntax before the data is known."""

    def __contains__(self, item: object) -> bool:
        return True
