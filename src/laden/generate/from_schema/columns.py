"""Columns that are neither keys nor foreign keys: which generator, fitted to the column's domain.

An override narrows the domain first (:func:`narrow`): ``values`` become the column's list,
``range`` its bounds, ``regex`` its pattern — so a key column honours them too, and a value
outside the column's CHECKs is reported, never generated. Then :func:`free_column` picks the
source: the override's generator, the domain's list or pattern, or the generator the column's
name suggests (:func:`laden.generate.from_schema.realism.guess`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from laden.generate.from_schema.domain import NUMERIC, TIMES, Domain, to_units
from laden.generate.from_schema.model import FreeColumn, Source
from laden.generate.from_schema.overrides import ColumnOverride, Named, Range, Regex, Values
from laden.generate.from_schema.realism import FITS, Params, guess, output_of
from laden.generate.from_schema.regex import RegexError, compile_pattern
from laden.schema import TypeKind

__all__ = ["free_column", "narrow", "safe_value"]


def narrow(domain: Domain, override: ColumnOverride | None) -> tuple[Domain, list[str]]:
    """The domain with the override's values, range or pattern applied; problems when they do not fit."""
    if override is None or override.rule is None or isinstance(override.rule, Named):
        return domain, []
    rule = override.rule
    column = domain.column
    if isinstance(rule, Values):
        units = [to_units(x, column) for x in rule.values]
        bad = [repr(x) for x, u in zip(rule.values, units, strict=True) if u is None or not domain.admits(u)]
        if bad:
            return domain, [f"values {', '.join(bad)} do not fit {column.type}{_checks(domain)}"]
        return dataclasses.replace(domain, one_of=tuple(units)), []
    if isinstance(rule, Range):
        if column.kind not in NUMERIC and column.kind not in TIMES:
            return domain, [f"a range needs a number, date or time column; {column.name} is {column.type}"]
        low, high = to_units(rule.low, column), to_units(rule.high, column)
        if not _number(low) or not _number(high):
            return domain, [f"range [{rule.low}, {rule.high}] is not of {column.type}"]
        assert isinstance(low, int | float) and isinstance(high, int | float)
        if low > high:
            return domain, [f"range [{rule.low}, {rule.high}] is empty"]
        if not (domain.admits(low) and domain.admits(high)):
            return domain, [f"range [{rule.low}, {rule.high}] goes beyond {column.type}{_checks(domain)}"]
        return dataclasses.replace(domain, low=low, high=high), []
    assert isinstance(rule, Regex)
    if column.kind is not TypeKind.STRING:
        return domain, [f"a regex needs a text column; {column.name} is {column.type}"]
    if domain.pattern is not None:
        return domain, [f"its CHECK already demands the pattern {domain.pattern!r}"]
    try:
        pattern = compile_pattern(rule.pattern)
    except RegexError as exc:
        return domain, [f"regex {rule.pattern!r}: {exc}"]
    if domain.max_chars is not None and pattern.max_chars > domain.max_chars:
        longest = f"regex {rule.pattern!r} makes up to {pattern.max_chars} characters"
        return domain, [f"{longest}; {column.type} holds {domain.max_chars}"]
    return dataclasses.replace(domain, pattern=rule.pattern), []


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _checks(domain: Domain) -> str:
    return f" and its CHECKs ({'; '.join(domain.checks)})" if domain.checks else ""


def free_column(table: str, domain: Domain, override: ColumnOverride | None) -> tuple[FreeColumn | None, list[str]]:
    """How a free column's values are made; None (and problems) when laden cannot make them."""
    column = domain.column
    problems: list[str] = []
    nulls = 0.0
    if override is not None and override.nulls is not None:
        if not domain.nullable:
            problems.append(f"nulls: {column.name} is NOT NULL")
        nulls = override.nulls
    rule = override.rule if override is not None else None
    params = Params(max_chars=domain.max_chars)
    if isinstance(rule, Named):
        if column.kind not in FITS[output_of(rule.generator)]:
            return None, [f"generator {rule.generator.value} makes no {column.type} values"]
        if domain.one_of is not None or domain.pattern is not None:
            return None, [f"its CHECKs allow only {'listed values' if domain.one_of else 'a pattern'}; "
                          "use values: or regex: instead of a generator"]  # fmt: skip
        free = FreeColumn(Source.GENERATOR, rule.generator, params, nulls=nulls)
    elif domain.one_of is not None:
        weights = rule.weights if isinstance(rule, Values) else _enum_weights(len(domain.one_of))
        free = FreeColumn(Source.VALUES, values=domain.one_of, weights=tuple(weights), nulls=nulls)
    elif domain.pattern is not None:
        try:
            pattern = compile_pattern(domain.pattern)
        except RegexError as exc:
            return None, [f"pattern {domain.pattern!r}: {exc}"]
        if domain.max_chars is not None and pattern.max_chars > domain.max_chars:
            return None, [f"pattern {domain.pattern!r} makes up to {pattern.max_chars} characters; "
                          f"{column.type} holds {domain.max_chars}"]  # fmt: skip
        free = FreeColumn(Source.REGEX, pattern=pattern, nulls=nulls)
    elif isinstance(rule, Range):
        free = FreeColumn(Source.RANGE, low=domain.low, high=domain.high, nulls=nulls)
    else:
        gen = guess(table, column)
        if gen is None:
            return None, [f"laden cannot generate {column.type} values"]
        free = FreeColumn(Source.GENERATOR, gen, params, nulls=nulls)
    safe = safe_value(domain)
    if safe is None and not domain.nullable:
        problems.append(f"no value satisfies all of its constraints ({'; '.join(domain.checks) or column.type})")
    return dataclasses.replace(free, safe=safe), problems


def _enum_weights(count: int) -> list[float]:
    """Listed values (``status IN (...)``): the first most frequent, gently."""
    return [1.0 / (r + 1) ** 0.6 for r in range(count)]


def safe_value(domain: Domain) -> object:
    """A value that satisfies every constraint of the domain (what replaces a value that does not)."""
    if domain.one_of:
        return domain.one_of[0]
    kind = domain.kind
    if kind in NUMERIC or kind in TIMES:
        return _safe_number(domain)
    if kind is TypeKind.BOOLEAN:
        return next((b for b in (True, False) if domain.admits(b)), None)
    if kind is TypeKind.STRING:
        return _safe_text(domain)
    return None


def _safe_number(domain: Domain) -> object:
    low = domain.low if domain.low is not None else -(10**6)
    high = domain.high if domain.high is not None else 10**6
    if low > high:
        return None
    middle = min(max(0, low), high)
    candidates: Sequence[float | int] = [middle, low, high]
    if domain.kind is not TypeKind.FLOAT:
        step = 1
        candidates = [*candidates, *(int(low) + k * step for k in range(1, 64)), *(int(high) - k for k in range(1, 64))]
    for candidate in candidates:
        if domain.kind is not TypeKind.FLOAT:
            candidate = int(candidate)
        if low <= candidate <= high and domain.admits(candidate):
            return candidate
    return None


def _safe_text(domain: Domain) -> str | None:
    if domain.pattern is not None:
        try:
            pattern = compile_pattern(domain.pattern)
        except RegexError:
            return None
        draws = pattern.random(np.random.default_rng(0), 64).to_pylist()
        return next((s for s in draws if isinstance(s, str) and domain.admits(s)), None)
    shortest = max(domain.min_chars, domain.min_bytes, 1)
    for length in range(shortest, shortest + 8):
        for char in "x0a":
            if domain.admits(char * length):
                return char * length
    return None
