"""Row expressions for validation rules, evaluated column-wise with pyarrow.compute.

    amount >= 0 and currency in ('EUR', 'USD')
    not (status = 'void' or total is null)
    qty * price between 0 and 10000

The grammar is a small SQL subset: ``or``, ``and``, ``not``; ``= == != <> < <= > >=``;
``is [not] null``; ``[not] in (...)``; ``[not] between a and b``; ``+ - * / %``; numbers,
'strings' ('' inside), ``true``/``false``/``null``, column names (plain or "quoted"), and
parentheses. It is parsed, never evaluated as Python or SQL. Logic is SQL's: a row passes
only when the expression is true (NULL fails).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from laden.errors import UsageError

Evaluator = Callable[[pa.Table], Any]
_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+)|'(?P<str>(?:[^']|'')*)'|\"(?P<qid>(?:[^\"]|\"\")+)\""
    r"|(?P<word>[A-Za-z_][A-Za-z_0-9]*)|(?P<op><=|>=|<>|!=|==|[=<>+\-*/%(),]))"
)
_KEYWORDS = {"and", "or", "not", "in", "is", "null", "between", "true", "false"}
_COMPARE = {"=": "equal", "==": "equal", "!=": "not_equal", "<>": "not_equal", "<": "less", "<=": "less_equal",
            ">": "greater", ">=": "greater_equal"}  # fmt: skip
_ARITH = {"+": "add_checked", "-": "subtract_checked", "*": "multiply_checked", "/": "divide", "%": "_mod"}


@dataclass(frozen=True)
class _Tok:
    kind: str  # num, str, id, kw, op, end
    text: str
    value: Any
    pos: int


def _tokens(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            return [*out, _Tok("end", "", None, pos)]
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise UsageError(f"expression {text!r}: unexpected {text[pos]!r} at position {pos + 1}")
        start = m.start(m.lastgroup or 0)
        if m.group("num") is not None:
            num = m.group("num")
            value: Any = float(num) if any(c in num for c in ".eE") else int(num)
            out.append(_Tok("num", num, value, start))
        elif m.group("str") is not None:
            out.append(_Tok("str", m.group(0).strip(), m.group("str").replace("''", "'"), start))
        elif m.group("qid") is not None:
            out.append(_Tok("id", m.group(0).strip(), m.group("qid").replace('""', '"'), start))
        elif m.group("word") is not None:
            word = m.group("word")
            kind = "kw" if word.lower() in _KEYWORDS else "id"
            out.append(_Tok(kind, word, word.lower() if kind == "kw" else word, start))
        else:
            out.append(_Tok("op", m.group("op"), m.group("op"), start))
        pos = m.end()


class _Parser:
    def __init__(self, text: str, columns: list[str]) -> None:
        self.text, self.columns = text, columns
        self.toks, self.i = _tokens(text), 0

    def fail(self, what: str) -> UsageError:
        tok = self.toks[self.i]
        found = "the end" if tok.kind == "end" else repr(tok.text)
        return UsageError(f"expression {self.text!r}: expected {what} at position {tok.pos + 1}, found {found}")

    def peek(self, *values: str) -> bool:
        tok = self.toks[self.i]
        return tok.kind in ("kw", "op") and tok.value in values

    def take(self, *values: str) -> str | None:
        if self.peek(*values):
            self.i += 1
            return str(self.toks[self.i - 1].value)
        return None

    def expect(self, value: str) -> None:
        if self.take(value) is None:
            raise self.fail(repr(value))

    def parse(self) -> Evaluator:
        ev = self.or_()
        if self.toks[self.i].kind != "end":
            raise self.fail("an operator or the end")
        return ev

    def or_(self) -> Evaluator:
        ev = self.and_()
        while self.take("or"):
            ev = _binary(pc.or_kleene, ev, self.and_())
        return ev

    def and_(self) -> Evaluator:
        ev = self.not_()
        while self.take("and"):
            ev = _binary(pc.and_kleene, ev, self.not_())
        return ev

    def not_(self) -> Evaluator:
        if self.take("not"):
            inner = self.not_()
            return lambda t: pc.invert(inner(t))
        return self.compare()

    def compare(self) -> Evaluator:
        left = self.sum_()
        op = self.take(*_COMPARE)
        if op:
            return _binary(getattr(pc, _COMPARE[op]), left, self.sum_())
        if self.take("is"):
            negate = self.take("not") is not None
            self.expect("null")
            return (lambda t: pc.is_valid(left(t))) if negate else (lambda t: pc.is_null(left(t)))
        negate = self.take("not") is not None
        if self.take("in"):
            return self.in_list(left, negate)
        if self.take("between"):
            low = self.sum_()
            self.expect("and")
            high = self.sum_()
            ev = _binary(pc.and_kleene, _binary(pc.greater_equal, left, low), _binary(pc.less_equal, left, high))
            return (lambda t: pc.invert(ev(t))) if negate else ev
        if negate:
            raise self.fail("'in' or 'between' after 'not'")
        return left

    def in_list(self, left: Evaluator, negate: bool) -> Evaluator:
        self.expect("(")
        values = [self.literal()]
        while self.take(","):
            values.append(self.literal())
        self.expect(")")

        def member(t: pa.Table) -> Any:
            array = left(t)
            found = pc.is_in(array, value_set=pa.array(values).cast(array.type))
            found = pc.if_else(pc.is_null(array), pa.scalar(None, pa.bool_()), found)  # NULL in (...) is NULL
            return pc.invert(found) if negate else found

        return member

    def literal(self) -> Any:
        tok = self.toks[self.i]
        sign = -1 if tok.kind == "op" and tok.value == "-" else 1
        if sign == -1:
            self.i += 1
            tok = self.toks[self.i]
        if tok.kind in ("num", "str") and (sign == 1 or tok.kind == "num"):
            self.i += 1
            return tok.value * sign if tok.kind == "num" else tok.value
        if tok.kind == "kw" and tok.value in ("true", "false"):
            self.i += 1
            return tok.value == "true"
        raise self.fail("a number or a 'string'")

    def sum_(self) -> Evaluator:
        ev = self.product()
        while (op := self.take("+", "-")) is not None:
            ev = _binary(_arith(op), ev, self.product())
        return ev

    def product(self) -> Evaluator:
        ev = self.unary()
        while (op := self.take("*", "/", "%")) is not None:
            ev = _binary(_arith(op), ev, self.unary())
        return ev

    def unary(self) -> Evaluator:
        if self.take("-"):
            inner = self.unary()
            return lambda t: pc.negate_checked(inner(t))
        return self.atom()

    def atom(self) -> Evaluator:
        tok = self.toks[self.i]
        if self.take("("):
            ev = self.or_()
            self.expect(")")
            return ev
        if tok.kind in ("num", "str") or (tok.kind == "kw" and tok.value in ("true", "false", "null")):
            self.i += 1
            value = None if tok.value == "null" else tok.value == "true" if tok.kind == "kw" else tok.value
            return lambda t: pa.scalar(value)
        if tok.kind == "id":
            if tok.value not in self.columns:
                raise UsageError(
                    f"expression {self.text!r}: unknown column {tok.value!r}; the columns are {', '.join(self.columns)}"
                )
            self.i += 1
            name = tok.value
            return lambda t: t.column(name)
        raise self.fail("a column, a value or '('")


def _arith(op: str) -> Callable[[Any, Any], Any]:
    if op == "%":
        return lambda a, b: pc.subtract(a, pc.multiply(pc.floor(pc.divide(pc.cast(a, pa.float64()), b)), b))
    return getattr(pc, _ARITH[op])  # type: ignore[no-any-return]


def _binary(fn: Callable[[Any, Any], Any], left: Evaluator, right: Evaluator) -> Evaluator:
    return lambda t: fn(left(t), right(t))


def compile_expression(text: str, columns: list[str]) -> Evaluator:
    """``text`` parsed into a function from a table to one boolean (or NULL) per row."""
    return _Parser(text, columns).parse()


def passes(evaluator: Evaluator, table: pa.Table, text: str) -> Any:
    """A boolean numpy array: True where the expression is true for the row."""
    try:
        result = evaluator(table)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        raise UsageError(f"expression {text!r} cannot be evaluated on these columns: {exc}") from exc
    if isinstance(result, pa.Scalar):
        result = pa.array([result.as_py()] * table.num_rows, pa.bool_())
    if not pa.types.is_boolean(result.type):
        raise UsageError(f"expression {text!r} is a {result.type}, not a condition; compare it with something")
    return result.fill_null(False).to_numpy(zero_copy_only=False)
