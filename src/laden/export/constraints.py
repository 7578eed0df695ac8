"""A small typed AST for column constraints, and parsers into it.

Two sources speak it:

* **user constraints** (``laden model --constraint``): one string each, e.g. ``qty > 0``,
  ``price between 0 and 1000``, ``status in ('new', 'paid')``, ``ticker matches '^[A-Z]{1,5}$'``,
  ``not_null(note)``, ``length(code) <= 10``; several may be joined with ``and``.
  :func:`parse_constraint` raises :class:`~laden.errors.UsageError` on anything else.
* **database CHECK constraints** (``Table.checks[].expression``), spelled differently by each
  engine: PostgreSQL's ``(status)::text = ANY ((ARRAY['a'::character varying])::text[])``,
  MariaDB's ``\\`qty\\` > 0``, SQLite's and DuckDB's text close to the original.
  :func:`parse_checks` never raises: a check it does not understand is returned with
  ``unparsed`` set, so every output can keep it as a comment.

Text is tokenized (never evaluated). Semantics follow SQL: a constraint on a NULL value
holds; ``matches`` searches (like PostgreSQL ``~``, MySQL ``REGEXP``, JSON Schema
``pattern``), so anchor the pattern with ``^...$`` to match whole values.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import NoReturn

from laden.errors import UsageError
from laden.schema import Column, Table, TypeKind

__all__ = [
    "ACCEPTED",
    "Between",
    "Compare",
    "Constraint",
    "Matches",
    "Measure",
    "NotNull",
    "OneOf",
    "Op",
    "Scalar",
    "TableCheck",
    "describe",
    "merge",
    "parse_checks",
    "parse_constraint",
    "parse_constraints",
    "validate",
]

#: literal values: integers, exact decimals (never floats) and strings
Scalar = int | Decimal | str

ACCEPTED = (
    "col > 0 (also >=, <, <=, =, !=), col between 1 and 9, col in ('a', 'b'), "
    "col matches '^[A-Z]+$', not_null(col), length(col) <= 10 (also char_length); "
    "join several with 'and'; quote strings with '...' and odd column names with \"...\""
)


class Op(enum.Enum):
    GT = ">"
    GE = ">="
    LT = "<"
    LE = "<="
    EQ = "="
    NE = "!="

    def flipped(self) -> Op:
        """The operator with its operands swapped (``0 < qty`` is ``qty > 0``)."""
        return _FLIP.get(self, self)


_FLIP = {Op.GT: Op.LT, Op.LT: Op.GT, Op.GE: Op.LE, Op.LE: Op.GE}


class Measure(enum.Enum):
    """What a comparison measures: the value itself, or its length in characters / bytes."""

    VALUE = "value"
    CHARS = "chars"
    BYTES = "bytes"


@dataclass(frozen=True, slots=True)
class Compare:
    column: str
    op: Op
    value: Scalar
    measure: Measure = Measure.VALUE


@dataclass(frozen=True, slots=True)
class Between:
    column: str
    low: Scalar
    high: Scalar
    measure: Measure = Measure.VALUE


@dataclass(frozen=True, slots=True)
class OneOf:
    """``col IN (...)``: an enum-like check."""

    column: str
    values: tuple[Scalar, ...]


@dataclass(frozen=True, slots=True)
class Matches:
    """``col`` contains a match of ``pattern`` (anchor it for a whole-value match)."""

    column: str
    pattern: str


@dataclass(frozen=True, slots=True)
class NotNull:
    column: str


Constraint = Compare | Between | OneOf | Matches | NotNull


@dataclass(frozen=True, slots=True)
class TableCheck:
    """A database CHECK constraint and what could be read from it.

    ``constraints`` hold the conjuncts that were understood (each one implied by the
    check). ``unparsed`` is None when they say everything the check says; otherwise it
    is the reason, and the check's ``expression`` must be kept as a comment. ``implied``
    marks checks the column type already says (MariaDB's ``json_valid(col)`` on JSON).
    """

    expression: str
    name: str | None
    constraints: tuple[Constraint, ...]
    unparsed: str | None = None
    implied: bool = False


# --------------------------------------------------------------------------- describe


def _sql_literal(value: Scalar) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return str(value)


def _quote_name(name: str) -> str:
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        return name
    return '"' + name.replace('"', '""') + '"'


def describe(constraint: Constraint) -> str:
    """The constraint in the user syntax, e.g. ``length(code) <= 10`` (for comments and messages)."""
    col = _quote_name(constraint.column)
    if isinstance(constraint, Compare | Between):
        subject = {Measure.VALUE: col, Measure.CHARS: f"length({col})", Measure.BYTES: f"octet_length({col})"}[
            constraint.measure
        ]
        if isinstance(constraint, Compare):
            return f"{subject} {constraint.op.value} {_sql_literal(constraint.value)}"
        return f"{subject} between {_sql_literal(constraint.low)} and {_sql_literal(constraint.high)}"
    if isinstance(constraint, OneOf):
        return f"{col} in ({', '.join(_sql_literal(v) for v in constraint.values)})"
    if isinstance(constraint, Matches):
        return f"{col} matches {_sql_literal(constraint.pattern)}"
    return f"not_null({col})"


# --------------------------------------------------------------------------- tokenizer


class _Unparsable(Exception):
    """The text is not in the accepted grammar (message says where)."""


class _Invalid(Exception):
    """The text parses but does not fit the table (unknown column, wrong type)."""


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str  # "word", "ident" (quoted), "string", "number", "op", "end"
    value: str
    pos: int

    def word(self, *words: str) -> bool:
        return self.kind == "word" and self.value.lower() in words

    def op(self, *ops: str) -> bool:
        return self.kind == "op" and self.value in ops


_OPS2 = (">=", "<=", "<>", "!=", "==", "::")
_OPS1 = "()[],=<>~-+.*/"
_COMPARE = {">": Op.GT, ">=": Op.GE, "<": Op.LT, "<=": Op.LE, "=": Op.EQ, "==": Op.EQ, "!=": Op.NE, "<>": Op.NE}
_NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_BACKSLASH = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "b": "\b", "Z": "\x1a"}


def _tokenize(text: str, backslash_escapes: bool) -> list[_Tok]:
    tokens: list[_Tok] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "'\"`":
            value, end = _quoted(text, i, backslash_escapes and ch == "'")
            tokens.append(_Tok("string" if ch == "'" else "ident", value, i))
            i = end
        elif ch.isalpha() or ch == "_":
            end = i + 1
            while end < n and (text[end].isalnum() or text[end] in "_$"):
                end += 1
            tokens.append(_Tok("word", text[i:end], i))
            i = end
        elif ch.isdigit() or (ch == "." and i + 1 < n and text[i + 1].isdigit()):
            match = _NUMBER.match(text, i)
            assert match is not None
            tokens.append(_Tok("number", match.group(), i))
            i = match.end()
        elif text.startswith(_OPS2, i):
            tokens.append(_Tok("op", text[i : i + 2], i))
            i += 2
        elif ch in _OPS1:
            tokens.append(_Tok("op", ch, i))
            i += 1
        else:
            raise _Unparsable(f"unexpected {ch!r} at position {i + 1}")
    tokens.append(_Tok("end", "", n))
    return tokens


def _quoted(text: str, start: int, backslash_escapes: bool) -> tuple[str, int]:
    """Value and end offset of a quoted token; a doubled quote (or ``\\'`` in MySQL) escapes it."""
    quote, out, i = text[start], [], start + 1
    while i < len(text):
        ch = text[i]
        if backslash_escapes and ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            out.append(_BACKSLASH.get(nxt, nxt))
            i += 2
        elif ch == quote:
            if text.startswith(quote * 2, i):
                out.append(quote)
                i += 2
            else:
                return "".join(out), i + 1
        else:
            out.append(ch)
            i += 1
    raise _Unparsable(f"unterminated {quote}...{quote} starting at position {start + 1}")


def _split(tokens: list[_Tok], keyword: str) -> list[list[_Tok]]:
    """Split at top-level ``keyword`` (``and`` / ``or``); the ``and`` of ``between .. and`` stays."""
    parts: list[list[_Tok]] = [[]]
    depth, between = 0, 0
    for tok in tokens:
        if tok.op("(", "["):
            depth += 1
        elif tok.op(")", "]"):
            depth -= 1
        elif depth == 0 and tok.word("between"):
            between += 1
        elif depth == 0 and tok.word(keyword):
            if keyword == "and" and between:
                between -= 1
            else:
                parts.append([])
                continue
        parts[-1].append(tok)
    return parts


def _wrapped(tokens: list[_Tok]) -> bool:
    """True when the whole token list is one parenthesised group."""
    if len(tokens) < 2 or not tokens[0].op("(") or not tokens[-1].op(")"):
        return False
    depth = 0
    for i, tok in enumerate(tokens):
        if tok.op("(", "["):
            depth += 1
        elif tok.op(")", "]"):
            depth -= 1
            if depth == 0 and i < len(tokens) - 1:
                return False
    return True


# --------------------------------------------------------------------------- operands


@dataclass(frozen=True, slots=True)
class _Col:
    name: str
    measure: Measure = Measure.VALUE


@dataclass(frozen=True, slots=True)
class _Lit:
    value: Scalar


@dataclass(frozen=True, slots=True)
class _Arr:
    values: tuple[Scalar, ...]


_Operand = _Col | _Lit | _Arr

_LENGTHS = {
    "char_length": Measure.CHARS,
    "character_length": Measure.CHARS,
    "length": Measure.CHARS,
    "len": Measure.CHARS,
    "octet_length": Measure.BYTES,
    "strlen": Measure.BYTES,
}
_REGEX_FUNCS = ("regexp_matches", "regexp_like", "regexp_full_match", "regexp")
_REGEX_OPS = ("~", "regexp", "rlike", "matches")
_KEYWORDS = frozenset(
    [
        *("and", "or", "not", "is", "null", "in", "between", "any", "some"),
        *("array", "cast", "as", "true", "false", *_REGEX_OPS),
    ]
)
_NUMERIC_TYPES = frozenset(
    [
        *("smallint", "integer", "int", "int2", "int4", "int8", "bigint", "hugeint", "tinyint", "numeric"),
        *("decimal", "real", "float", "float4", "float8", "double", "double precision"),
    ]
)
_TEXT_TYPES = frozenset(["text", "varchar", "character varying", "char", "character", "bpchar", "string", "name"])

Resolver = Callable[[str, bool], str]


class _Parser:
    """Parses one conjunct (a token list without top-level AND/OR) into one constraint."""

    def __init__(self, tokens: list[_Tok], resolve: Resolver, length_in_bytes: bool) -> None:
        self.toks = [*tokens, _Tok("end", "", tokens[-1].pos + len(tokens[-1].value) if tokens else 0)]
        self.i = 0
        self.resolve = resolve
        self.length_in_bytes = length_in_bytes

    # -- token helpers

    @property
    def tok(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def expect_op(self, op: str) -> None:
        if not self.tok.op(op):
            self.fail(f"expected {op!r}")
        self.i += 1

    def fail(self, what: str) -> NoReturn:
        tok = self.tok
        found = "the end" if tok.kind == "end" else repr(tok.value)
        raise _Unparsable(f"{what} at position {tok.pos + 1}, found {found}")

    # -- grammar

    def constraint(self) -> Constraint:
        result = self._constraint()
        if self.tok.kind != "end":
            self.fail("expected the end of the constraint")
        return result

    def _constraint(self) -> Constraint:
        tok = self.tok
        nxt = self.toks[self.i + 1]
        if tok.word("not_null") and nxt.op("("):
            self.i += 2
            column = self._column_only()
            self.expect_op(")")
            return NotNull(column)
        if tok.word(*_REGEX_FUNCS) and nxt.op("("):
            return self._regex_function()
        left = self.operand()
        if self.tok.word("is"):
            self.i += 1
            if not (self.tok.word("not") and self.toks[self.i + 1].word("null")):
                self.fail("only IS NOT NULL is supported")
            self.i += 2
            return NotNull(self._column_of(left, "IS NOT NULL"))
        if self.tok.word("between"):
            self.i += 1
            low = self._literal_of(self.operand())
            if not self.tok.word("and"):
                self.fail("expected AND")
            self.i += 1
            high = self._literal_of(self.operand())
            return self._between(left, low, high)
        if self.tok.word("in"):
            self.i += 1
            values = self._list()
            return OneOf(self._column_of(left, "IN"), values)
        if self.tok.word(*_REGEX_OPS) or self.tok.op("~"):
            self.i += 1
            pattern = self._literal_of(self.operand())
            return self._matches(left, pattern)
        if self.tok.kind == "op" and self.tok.value in _COMPARE:
            op = _COMPARE[self.take().value]
            if self.tok.word("any", "some"):
                return self._any(left, op)
            return self._compare(left, op, self.operand())
        self.fail("expected a comparison, BETWEEN, IN, MATCHES or IS NOT NULL")

    def operand(self) -> _Operand:
        value = self._primary()
        while self.tok.op("::"):
            self.i += 1
            value = _cast(value, self._type_name())
        return value

    def _primary(self) -> _Operand:
        tok = self.tok
        if tok.op("("):
            self.i += 1
            inner = self.operand()
            self.expect_op(")")
            return inner
        if tok.op("-", "+") and self.toks[self.i + 1].kind == "number":
            self.i += 1
            number = _number(self.take().value)
            return _Lit(-number if tok.value == "-" else number)
        if tok.kind == "number":
            self.i += 1
            return _Lit(_number(tok.value))
        if tok.kind == "string":
            self.i += 1
            return _Lit(tok.value)
        if tok.word("cast") and self.toks[self.i + 1].op("("):
            self.i += 2
            inner = self.operand()
            if not self.tok.word("as"):
                self.fail("expected AS")
            self.i += 1
            type_name = self._type_name()
            self.expect_op(")")
            return _cast(inner, type_name)
        if tok.word("array") and self.toks[self.i + 1].op("["):
            self.i += 2
            values = self._items("]")
            return _Arr(values)
        if tok.kind == "word" and tok.value.lower() in _LENGTHS and self.toks[self.i + 1].op("("):
            self.i += 2
            column = self._column_only()
            self.expect_op(")")
            measure = _LENGTHS[tok.value.lower()]
            if tok.value.lower() == "length" and self.length_in_bytes:
                measure = Measure.BYTES
            return _Col(column, measure)
        if tok.kind == "ident" or (tok.kind == "word" and tok.value.lower() not in _KEYWORDS):
            self.i += 1
            if self.tok.op("("):
                raise _Unparsable(f"unsupported function {tok.value}() at position {tok.pos + 1}")
            return _Col(self.resolve(tok.value, tok.kind == "ident"))
        self.fail("expected a column or a literal")

    def _type_name(self) -> str:
        words: list[str] = []
        while self.tok.kind in ("word", "ident") and (not words or self.tok.value.lower() not in _KEYWORDS):
            words.append(self.take().value.lower())
        if not words:
            self.fail("expected a type name")
        if self.tok.op("("):  # varchar(10), numeric(12, 2): the arguments do not matter here
            while not self.tok.op(")") and self.tok.kind != "end":
                self.i += 1
            self.expect_op(")")
        name = " ".join(words)
        while self.tok.op("[") and self.toks[self.i + 1].op("]"):
            self.i += 2
            name += "[]"
        return name

    def _column_only(self) -> str:
        value = self.operand()
        if not isinstance(value, _Col) or value.measure is not Measure.VALUE:
            raise _Unparsable("expected a column name")
        return value.name

    def _items(self, close: str) -> tuple[Scalar, ...]:
        values: list[Scalar] = []
        while True:
            values.append(self._literal_of(self.operand()))
            if self.tok.op(","):
                self.i += 1
                continue
            self.expect_op(close)
            return tuple(values)

    def _list(self) -> tuple[Scalar, ...]:
        self.expect_op("(")
        return self._items(")")

    def _any(self, left: _Operand, op: Op) -> Constraint:
        self.i += 1
        self.expect_op("(")
        array = self.operand()
        self.expect_op(")")
        if op is not Op.EQ:
            raise _Unparsable("only = ANY (...) is supported")
        if isinstance(array, _Lit) and isinstance(array.value, str):
            array = _Arr(_pg_array(array.value))
        if not isinstance(array, _Arr):
            raise _Unparsable("expected an array after ANY")
        return OneOf(self._column_of(left, "= ANY"), array.values)

    def _regex_function(self) -> Constraint:
        name = self.take().value.lower()
        self.i += 1
        subject = self.operand()
        self.expect_op(",")
        pattern = self._literal_of(self.operand())
        self.expect_op(")")
        if name == "regexp_full_match" and isinstance(pattern, str):
            pattern = f"^(?:{pattern})$"
        return self._matches(subject, pattern)

    # -- building constraints

    def _column_of(self, operand: _Operand, what: str) -> str:
        if not isinstance(operand, _Col) or operand.measure is not Measure.VALUE:
            raise _Unparsable(f"{what} needs a column on its left")
        return operand.name

    def _literal_of(self, operand: _Operand) -> Scalar:
        if not isinstance(operand, _Lit):
            raise _Unparsable("expected a literal value (a number or a quoted string)")
        return operand.value

    def _compare(self, left: _Operand, op: Op, right: _Operand) -> Constraint:
        if isinstance(left, _Lit) and isinstance(right, _Col):
            left, right, op = right, left, op.flipped()
        if isinstance(left, _Col) and isinstance(right, _Lit):
            return Compare(left.name, op, right.value, left.measure)
        raise _Unparsable("a comparison needs a column on one side and a literal on the other")

    def _between(self, left: _Operand, low: Scalar, high: Scalar) -> Constraint:
        if not isinstance(left, _Col):
            raise _Unparsable("BETWEEN needs a column on its left")
        return Between(left.name, low, high, left.measure)

    def _matches(self, subject: _Operand, pattern: Scalar) -> Constraint:
        if not isinstance(pattern, str):
            raise _Unparsable("a pattern must be a quoted string")
        return Matches(self._column_of(subject, "a pattern match"), pattern)


def _number(text: str) -> int | Decimal:
    if re.fullmatch(r"\d+", text):
        return int(text)
    return Decimal(text)


def _cast(value: _Operand, type_name: str) -> _Operand:
    """Apply a cast that changes nothing we care about; refuse the others."""
    base = type_name.removesuffix("[]")
    if type_name.endswith("[]"):
        if isinstance(value, _Arr | _Lit) and (base in _TEXT_TYPES or base in _NUMERIC_TYPES):
            return value
    elif base in _TEXT_TYPES:
        if isinstance(value, _Col) or (isinstance(value, _Lit) and isinstance(value.value, str)):
            return value
    elif base in _NUMERIC_TYPES:
        if isinstance(value, _Col):
            return value
        if isinstance(value, _Lit):
            if not isinstance(value.value, str):
                return value
            text = value.value.strip()  # PostgreSQL spells negative numbers '-3'::integer
            try:
                number = _number(text.lstrip("+-"))
            except (InvalidOperation, ValueError):
                raise _Unparsable(f"{value.value!r} is not a number") from None
            return _Lit(-number if text.startswith("-") else number)
    raise _Unparsable(f"unsupported cast to {type_name}")


def _pg_array(text: str) -> tuple[Scalar, ...]:
    """The elements of a PostgreSQL array literal ``{a,"b c"}`` (strings only)."""
    body = text.strip()
    if not (body.startswith("{") and body.endswith("}")):
        raise _Unparsable("expected an array literal")
    items = re.findall(r'"((?:[^"\\]|\\.)*)"|([^,{}]+)', body[1:-1])
    return tuple(re.sub(r"\\(.)", r"\1", quoted) if quoted else bare.strip() for quoted, bare in items)


# --------------------------------------------------------------------------- validation


_NUMERIC_KINDS = (TypeKind.INTEGER, TypeKind.DECIMAL, TypeKind.FLOAT)


def _kind_name(column: Column) -> str:
    """``an integer column (INTEGER)``."""
    kind = str(column.kind.value).replace("_", " ")
    return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind} column ({column.type})"


def _check_fits(constraint: Constraint, table: Table) -> None:
    """Raise _Invalid when the constraint does not fit its column's type."""
    column = table.column(constraint.column)
    if column is None:  # resolved names always exist; AST built by hand may not
        raise _Invalid(f"unknown column {constraint.column!r} in table {table.name!r}")
    if isinstance(constraint, NotNull):
        return
    if isinstance(constraint, Matches):
        if column.kind is not TypeKind.STRING:
            raise _Invalid(f"matches needs a string column; {column.name!r} is {_kind_name(column)}")
        try:
            re.compile(constraint.pattern)
        except re.error as exc:
            raise _Invalid(f"bad regular expression {constraint.pattern!r}: {exc}") from None
        return
    if isinstance(constraint, OneOf):
        values: tuple[Scalar, ...] = constraint.values
        measure = Measure.VALUE
    elif isinstance(constraint, Between):
        values, measure = (constraint.low, constraint.high), constraint.measure
    else:
        values, measure = (constraint.value,), constraint.measure
    if measure is not Measure.VALUE:
        allowed = (TypeKind.STRING,) if measure is Measure.CHARS else (TypeKind.STRING, TypeKind.BINARY)
        if column.kind not in allowed:
            raise _Invalid(f"length() needs a string column; {column.name!r} is {_kind_name(column)}")
        if not all(isinstance(v, int) for v in values):
            raise _Invalid("a length compares with a whole number")
        return
    if column.kind in _NUMERIC_KINDS:
        if not all(isinstance(v, int | Decimal) for v in values):
            raise _Invalid(f"{column.name!r} is {_kind_name(column)}: compare it with a number, not a string")
    elif column.kind is TypeKind.STRING:
        if not all(isinstance(v, str) for v in values):
            raise _Invalid(f"{column.name!r} is {_kind_name(column)}: compare it with a quoted string")
    else:
        raise _Invalid(f"comparisons on {column.name!r} ({_kind_name(column)}) are not supported")


def _resolver(table: Table, on_unknown: Callable[[str], Exception]) -> Resolver:
    def resolve(name: str, quoted: bool) -> str:
        column = table.column(name, fold_case=not quoted)
        if column is None:
            raise on_unknown(name)
        return column.name

    return resolve


def _parse(
    text: str, table: Table, *, backslash_escapes: bool, length_in_bytes: bool, unknown: Callable[[str], Exception]
) -> list[Constraint]:
    """All conjuncts of ``text``; raises _Unparsable / _Invalid on the first problem."""
    tokens = _tokenize(text, backslash_escapes)[:-1]
    return _conjuncts(tokens, _resolver(table, unknown), table, length_in_bytes)


def _conjuncts(tokens: list[_Tok], resolve: Resolver, table: Table, length_in_bytes: bool) -> list[Constraint]:
    if not tokens:
        raise _Unparsable("empty constraint")
    if len(_split(tokens, "or")) > 1:
        raise _Unparsable("OR is not supported")
    out: list[Constraint] = []
    for part in _split(tokens, "and"):
        if not part:
            raise _Unparsable("AND needs a constraint on both sides")
        if _wrapped(part):
            out.extend(_conjuncts(part[1:-1], resolve, table, length_in_bytes))
            continue
        constraint = _Parser(part, resolve, length_in_bytes).constraint()
        _check_fits(constraint, table)
        out.append(constraint)
    return out


# --------------------------------------------------------------------------- public parsers


def parse_constraints(text: str, table: Table) -> tuple[Constraint, ...]:
    """Parse one user constraint string (conjuncts joined by ``and``) against ``table``.

    Raises :class:`UsageError` quoting the text when it cannot be parsed, names an unknown
    column, or does not fit the column's type.
    """

    def unknown(name: str) -> Exception:
        columns = ", ".join(table.column_names)
        return _Invalid(f"unknown column {name!r} in table {table.name!r} (columns: {columns})")

    try:
        return tuple(_parse(text, table, backslash_escapes=False, length_in_bytes=False, unknown=unknown))
    except _Unparsable as exc:
        raise UsageError(f"cannot parse constraint {text!r}: {exc}; accepted: {ACCEPTED}") from None
    except _Invalid as exc:
        raise UsageError(f"constraint {text!r}: {exc}") from None


def validate(constraint: Constraint, table: Table) -> None:
    """Raise :class:`UsageError` when a constraint (e.g. one built in code) names an unknown
    column of ``table`` or does not fit its column's type."""
    try:
        _check_fits(constraint, table)
    except _Invalid as exc:
        raise UsageError(f"constraint {describe(constraint)!r}: {exc}") from None


def parse_constraint(text: str, table: Table) -> Constraint:
    """Parse exactly one user constraint (no ``and``); see :func:`parse_constraints`."""
    parsed = parse_constraints(text, table)
    if len(parsed) != 1:
        raise UsageError(f"constraint {text!r} holds {len(parsed)} constraints; pass them one by one")
    return parsed[0]


def parse_checks(table: Table, engine: str | None = None) -> tuple[TableCheck, ...]:
    """Read every CHECK of ``table`` into the AST where possible; never raises.

    ``engine`` ("postgresql", "mysql", "sqlite", "duckdb" or None) picks the spelling:
    MySQL/MariaDB strings take backslash escapes and their ``length()`` counts bytes. When
    None it is guessed from the text (backticks mean MySQL).
    """

    def unknown(name: str) -> Exception:
        return _Unparsable(f"unknown column {name!r}")

    out: list[TableCheck] = []
    for check in table.checks:
        text = check.expression
        mysql = engine == "mysql" or (engine is None and "`" in text)
        if _json_valid(text, table):
            out.append(TableCheck(text, check.name, (), None, implied=True))
            continue
        try:
            parsed = _parse(text, table, backslash_escapes=mysql, length_in_bytes=mysql, unknown=unknown)
            out.append(TableCheck(text, check.name, tuple(parsed)))
        except (_Unparsable, _Invalid) as exc:
            out.append(TableCheck(text, check.name, _partial(text, table, mysql), str(exc)))
    return tuple(out)


def _partial(text: str, table: Table, mysql: bool) -> tuple[Constraint, ...]:
    """The top-level conjuncts of a check that can be read on their own (each is implied)."""
    try:
        tokens = _tokenize(text, mysql)[:-1]
    except _Unparsable:
        return ()
    if len(_split(tokens, "or")) > 1:
        return ()

    def unknown(name: str) -> Exception:
        return _Unparsable(name)

    out: list[Constraint] = []
    for part in _split(tokens, "and"):
        try:
            out.extend(_conjuncts(part, _resolver(table, unknown), table, mysql))
        except (_Unparsable, _Invalid):
            continue
    return tuple(out)


def _json_valid(text: str, table: Table) -> bool:
    match = re.fullmatch(r"\s*json_valid\(\s*[`\"]?([^`\"()]+)[`\"]?\s*\)\s*", text, re.IGNORECASE)
    if not match:
        return False
    column = table.column(match.group(1))
    return column is not None and column.kind is TypeKind.JSON


def merge(database: Sequence[TableCheck], user: Sequence[Constraint]) -> tuple[Constraint, ...]:
    """Every understood constraint: the database's first, then the user's (duplicates dropped)."""
    out: list[Constraint] = []
    for item in [c for check in database for c in check.constraints] + list(user):
        if item not in out:
            out.append(item)
    return tuple(out)
