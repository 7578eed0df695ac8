"""A small SQL tokenizer and the parts of a DDL parser reflection needs.

SQLite's pragmas do not report foreign-key names, deferrability, CHECK constraints or
UNIQUE-constraint names, so they are read from the stored ``CREATE TABLE`` text.
DuckDB reports index keys only as rendered text, so they are read from ``CREATE INDEX``.
The parser only looks for constraint clauses; it does not validate SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field

_QUOTES = {'"': '"', "`": "`", "[": "]"}


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # "ident" (quoted), "word", "string", "number", "punct"
    value: str  # unquoted text; upper-cased for words is up to the caller
    start: int
    end: int

    def is_word(self, *words: str) -> bool:
        return self.kind == "word" and self.value.upper() in words

    def is_punct(self, char: str) -> bool:
        return self.kind == "punct" and self.value == char

    @property
    def name(self) -> str:
        """The identifier this token spells (quoted, bare or — as SQLite allows — a string)."""
        return self.value


def tokenize(sql: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch.isspace():
            i += 1
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end < 0 else end + 1
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            i = n if end < 0 else end + 2
        elif ch in _QUOTES or ch == "'":
            close = _QUOTES.get(ch, "'")
            value, end = _quoted(sql, i, close)
            tokens.append(Token("string" if ch == "'" else "ident", value, i, end))
            i = end
        elif ch.isalpha() or ch == "_" or ord(ch) > 127:
            end = i + 1
            while end < n and (sql[end].isalnum() or sql[end] in "_$" or ord(sql[end]) > 127):
                end += 1
            tokens.append(Token("word", sql[i:end], i, end))
            i = end
        elif ch.isdigit():
            end = i + 1
            while end < n and (sql[end].isalnum() or sql[end] == "."):
                end += 1
            tokens.append(Token("number", sql[i:end], i, end))
            i = end
        else:
            tokens.append(Token("punct", ch, i, i + 1))
            i += 1
    return tokens


def _quoted(sql: str, start: int, close: str) -> tuple[str, int]:
    """Value and end offset of a quoted token; a doubled ``close`` is an escaped one."""
    parts: list[str] = []
    i = start + 1
    while i < len(sql):
        end = sql.find(close, i)
        if end < 0:
            break
        parts.append(sql[i:end])
        if close != "]" and sql.startswith(close * 2, end):
            parts.append(close)
            i = end + 2
            continue
        return "".join(parts), end + 1
    return "".join(parts) + sql[i:], len(sql)


def matching_paren(tokens: list[Token], open_at: int) -> int:
    """Index of the ``)`` closing the ``(`` at ``open_at`` (or the last token)."""
    depth = 0
    for i in range(open_at, len(tokens)):
        if tokens[i].is_punct("("):
            depth += 1
        elif tokens[i].is_punct(")"):
            depth -= 1
            if depth == 0:
                return i
    return len(tokens) - 1


def split_top_level(tokens: list[Token]) -> list[list[Token]]:
    """Split a token list at commas that are not inside parentheses."""
    items: list[list[Token]] = [[]]
    depth = 0
    for tok in tokens:
        if tok.is_punct("("):
            depth += 1
        elif tok.is_punct(")"):
            depth -= 1
        elif tok.is_punct(",") and depth == 0:
            items.append([])
            continue
        items[-1].append(tok)
    return [item for item in items if item]


def paren_body(tokens: list[Token]) -> list[Token]:
    """Tokens inside the first top-level parenthesised group."""
    for i, tok in enumerate(tokens):
        if tok.is_punct("("):
            return tokens[i + 1 : matching_paren(tokens, i)]
    return []


@dataclass
class ParsedForeignKey:
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]
    name: str | None = None
    deferrable: bool = False
    initially_deferred: bool = False


@dataclass
class ParsedTable:
    foreign_keys: list[ParsedForeignKey] = field(default_factory=list)
    uniques: list[tuple[str | None, tuple[str, ...]]] = field(default_factory=list)
    checks: list[tuple[str | None, str]] = field(default_factory=list)


def parse_create_table(sql: str) -> ParsedTable:
    """Constraint clauses of a ``CREATE TABLE name (...)`` statement."""
    tokens = tokenize(sql)
    out = ParsedTable()
    body = paren_body(tokens)
    for item in split_top_level(body):
        if item[0].is_word("CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"):
            _parse_constraints(sql, item, 0, None, out)
        else:
            _parse_constraints(sql, item, 1, item[0].name, out)
    return out


def _names(tokens: list[Token]) -> tuple[str, ...]:
    """Column names of a ``(a, b DESC, c COLLATE x)`` list body: each item's first token."""
    return tuple(item[0].name for item in split_top_level(tokens))


def _parse_constraints(sql: str, toks: list[Token], i: int, column: str | None, out: ParsedTable) -> None:
    """Scan one column definition (``column`` set) or table constraint for constraint clauses."""
    name: str | None = None
    while i < len(toks):
        tok = toks[i]
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        if tok.is_word("CONSTRAINT") and nxt is not None:
            name, i = nxt.name, i + 2
            continue
        if tok.is_word("CHECK") and nxt is not None and nxt.is_punct("("):
            close = matching_paren(toks, i + 1)
            out.checks.append((name, sql[nxt.end : toks[close].start].strip()))
            name, i = None, close + 1
            continue
        if tok.is_word("UNIQUE"):
            if column is None and nxt is not None and nxt.is_punct("("):
                close = matching_paren(toks, i + 1)
                out.uniques.append((name, _names(toks[i + 2 : close])))
                i = close + 1
            else:
                out.uniques.append((name, (column,) if column else ()))
                i += 1
            name = None
            continue
        if tok.is_word("FOREIGN") and nxt is not None and nxt.is_word("KEY") and i + 2 < len(toks):
            close = matching_paren(toks, i + 2)
            cols = _names(toks[i + 3 : close])
            i = close + 1
            if i < len(toks) and toks[i].is_word("REFERENCES"):
                i = _parse_references(toks, i, cols, name, out)
            name = None
            continue
        if tok.is_word("REFERENCES") and column is not None:
            i = _parse_references(toks, i, (column,), name, out)
            name = None
            continue
        if tok.is_punct("("):
            i = matching_paren(toks, i) + 1
            continue
        if tok.is_word("PRIMARY", "NOT", "NULL", "DEFAULT", "COLLATE", "GENERATED", "AS"):
            name = None  # a CONSTRAINT name given to a clause we do not report
        i += 1


def _parse_references(toks: list[Token], i: int, cols: tuple[str, ...], name: str | None, out: ParsedTable) -> int:
    """Parse ``REFERENCES t [(cols)] [ON ...] [MATCH x] [[NOT] DEFERRABLE [INITIALLY ...]]``."""
    i += 1
    if i >= len(toks):
        return i
    ref_table, i = toks[i].name, i + 1
    if i + 1 < len(toks) and toks[i].is_punct(".") and toks[i + 1].kind in ("word", "ident"):
        ref_table, i = toks[i + 1].name, i + 2  # schema-qualified: keep the table name
    ref_cols: tuple[str, ...] = ()
    if i < len(toks) and toks[i].is_punct("("):
        close = matching_paren(toks, i)
        ref_cols, i = _names(toks[i + 1 : close]), close + 1
    fk = ParsedForeignKey(columns=cols, ref_table=ref_table, ref_columns=ref_cols, name=name)
    while i < len(toks):
        tok = toks[i]
        if tok.is_word("ON"):
            i += 3 if i + 2 < len(toks) and toks[i + 2].is_word("CASCADE", "RESTRICT") else 4
        elif tok.is_word("MATCH"):
            i += 2
        elif tok.is_word("NOT") and i + 1 < len(toks) and toks[i + 1].is_word("DEFERRABLE"):
            fk.deferrable, i = False, i + 2
        elif tok.is_word("DEFERRABLE"):
            fk.deferrable, i = True, i + 1
        elif tok.is_word("INITIALLY") and i + 1 < len(toks):
            fk.initially_deferred, i = toks[i + 1].is_word("DEFERRED"), i + 2
        else:
            break
    fk.initially_deferred = fk.initially_deferred and fk.deferrable
    out.foreign_keys.append(fk)
    return i


def index_columns(sql: str) -> list[tuple[Token, ...]] | None:
    """Key items of ``CREATE [UNIQUE] INDEX name ON table (key, ...)``, each as its tokens
    without a trailing ``ASC``/``DESC``; None when the text cannot be read."""
    tokens = tokenize(sql)
    on = next((i for i, t in enumerate(tokens) if t.is_word("ON")), None)
    if on is None:
        return None
    start = next((i for i in range(on, len(tokens)) if tokens[i].is_punct("(")), None)
    if start is None:
        return None
    items = split_top_level(tokens[start + 1 : matching_paren(tokens, start)])
    out: list[tuple[Token, ...]] = []
    for item in items:
        if len(item) > 1 and item[-1].is_word("ASC", "DESC"):
            item = item[:-1]
        out.append(tuple(item))
    return out


def strip_outer_parens(expression: str) -> str:
    """``(a > 0)`` -> ``a > 0``; ``(a) AND (b)`` and unbalanced text stay as they are."""
    text = expression.strip()
    tokens = tokenize(text)
    start, end = 0, len(text)
    while (
        len(tokens) > 1
        and tokens[0].is_punct("(")
        and tokens[-1].is_punct(")")
        and matching_paren(tokens, 0) == len(tokens) - 1
    ):
        start, end = tokens[0].end, tokens[-1].start
        tokens = tokens[1:-1]
    return text[start:end].strip()
