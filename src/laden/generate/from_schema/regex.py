"""Strings that match a regular expression, made column-wise: random ones, or the k-th one (unique keys).

The pattern is parsed by Python's own regex parser into a small tree: literal text, character
sets, sequences, repetitions and alternatives (anchors are ignored: every value matches whole).
Making ``n`` values builds an ``(n, width)`` byte matrix per node — a zero byte marks "no
character here" — and turns it into one Arrow string array; nothing loops over rows.

Character sets are ASCII (``.`` is ``[A-Za-z0-9]``, ``\\w`` is ``[A-Za-z0-9_]``, ``\\s`` a
space); an unbounded repetition (``*``, ``+``, ``{n,}``) stops at ``n + 8``. Back-references,
look-arounds and non-ASCII sets are refused with a reason.
"""

from __future__ import annotations

import importlib
import string
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

__all__ = ["Pattern", "RegexError", "compile_pattern", "strings_from_bytes"]

_UNBOUNDED_EXTRA = 8
_DOT = (string.ascii_letters + string.digits).encode()
_WORD = (string.ascii_letters + string.digits + "_").encode()
_PRINTABLE = bytes(range(32, 127))


class RegexError(ValueError):
    """The pattern cannot be generated from (the message says why)."""


def _parser() -> Any:
    try:
        return importlib.import_module("re._parser")
    except ImportError:  # Python 3.10
        return importlib.import_module("sre_parse")


def _constants() -> Any:
    try:
        return importlib.import_module("re._constants")
    except ImportError:  # Python 3.10
        return importlib.import_module("sre_constants")


# --------------------------------------------------------------------------- the tree


@dataclass(frozen=True)
class _Chars:
    table: bytes  # one byte per allowed character


@dataclass(frozen=True)
class _Lit:
    text: str


@dataclass(frozen=True)
class _Seq:
    items: tuple[_Node, ...]


@dataclass(frozen=True)
class _Repeat:
    node: _Node
    low: int
    high: int


@dataclass(frozen=True)
class _Alt:
    options: tuple[_Node, ...]


_Node = _Chars | _Lit | _Seq | _Repeat | _Alt


def _width(node: _Node) -> int:
    """Bytes the node takes at most."""
    if isinstance(node, _Chars):
        return 1
    if isinstance(node, _Lit):
        return len(node.text.encode())
    if isinstance(node, _Seq):
        return sum(_width(n) for n in node.items)
    if isinstance(node, _Repeat):
        return node.high * _width(node.node)
    return max(_width(n) for n in node.options)


def _chars(node: _Node, longest: bool) -> int:
    """Characters the node takes at least / at most."""
    if isinstance(node, _Chars):
        return 1
    if isinstance(node, _Lit):
        return len(node.text)
    if isinstance(node, _Seq):
        return sum(_chars(n, longest) for n in node.items)
    if isinstance(node, _Repeat):
        return (node.high if longest else node.low) * _chars(node.node, longest)
    pick = max if longest else min
    return pick(_chars(n, longest) for n in node.options)


# --------------------------------------------------------------------------- parsing


def _char_set(items: list[tuple[Any, Any]], c: Any) -> bytes:
    allowed: set[int] = set()
    negate = False
    for op, arg in items:
        if op is c.NEGATE:
            negate = True
        elif op is c.LITERAL:
            allowed.add(arg)
        elif op is c.RANGE:
            allowed.update(range(arg[0], arg[1] + 1))
        elif op is c.CATEGORY:
            allowed.update(_category(arg, c))
        else:
            raise RegexError(f"unsupported element {op} in a character set")
    if any(ch > 126 for ch in allowed):
        raise RegexError("character sets must be ASCII")
    chosen = set(_PRINTABLE) - allowed if negate else allowed
    chosen.discard(0)
    if not chosen:
        raise RegexError("a character set allows no character")
    return bytes(sorted(chosen))


def _category(arg: Any, c: Any) -> set[int]:
    table = {
        c.CATEGORY_DIGIT: set(string.digits.encode()),
        c.CATEGORY_WORD: set(_WORD),
        c.CATEGORY_SPACE: {32},
        c.CATEGORY_NOT_DIGIT: set(_PRINTABLE) - set(string.digits.encode()),
        c.CATEGORY_NOT_WORD: set(_PRINTABLE) - set(_WORD),
        c.CATEGORY_NOT_SPACE: set(_PRINTABLE) - {32},
    }
    if arg not in table:
        raise RegexError(f"unsupported class {arg}")
    return table[arg]


def _convert(parsed: Any, c: Any) -> _Node:
    items: list[_Node] = []
    for op, arg in parsed:
        if op is c.LITERAL:
            if arg == 0:
                raise RegexError("a NUL character cannot be generated")
            items.append(_Lit(chr(arg)))
        elif op is c.NOT_LITERAL:
            items.append(_Chars(bytes(b for b in _PRINTABLE if b != arg)))
        elif op is c.ANY:
            items.append(_Chars(_DOT))
        elif op is c.IN:
            items.append(_Chars(_char_set(list(arg), c)))
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT):
            low, high, sub = arg
            high = low + _UNBOUNDED_EXTRA if high is c.MAXREPEAT else high
            items.append(_Repeat(_convert(sub, c), int(low), int(high)))
        elif op is c.SUBPATTERN:
            items.append(_convert(arg[-1], c))
        elif op is c.BRANCH:
            items.append(_Alt(tuple(_convert(alt, c) for alt in arg[1])))
        elif op is c.AT:
            continue  # anchors: every generated value is a whole match
        else:
            raise RegexError(f"unsupported regular expression element {str(op).lower()}")
    return items[0] if len(items) == 1 else _Seq(tuple(items))


# --------------------------------------------------------------------------- making values


def _matrix(node: _Node, rng: np.random.Generator, n: int) -> np.ndarray:
    """(n, width) uint8: the node's bytes per row, zero where a row has fewer."""
    if isinstance(node, _Chars):
        table = np.frombuffer(node.table, dtype=np.uint8)
        return table[rng.integers(0, len(table), n)].reshape(n, 1)
    if isinstance(node, _Lit):
        return np.broadcast_to(np.frombuffer(node.text.encode(), dtype=np.uint8), (n, _width(node)))
    if isinstance(node, _Seq):
        return np.hstack([_matrix(item, rng, n) for item in node.items]) if node.items else np.zeros((n, 0), np.uint8)
    if isinstance(node, _Repeat):
        if node.high == 0:
            return np.zeros((n, 0), np.uint8)
        copies = [_matrix(node.node, rng, n) for _ in range(node.high)]
        count = rng.integers(node.low, node.high + 1, n)
        width = copies[0].shape[1]
        out = np.hstack(copies).copy()
        keep = np.repeat(np.arange(node.high)[None, :] < count[:, None], width, axis=1)
        out[~keep] = 0
        return out
    width = _width(node)
    pick = rng.integers(0, len(node.options), n)
    out = np.zeros((n, width), np.uint8)
    for k, option in enumerate(node.options):
        part = _matrix(option, rng, n)
        rows = pick == k
        out[rows, : part.shape[1]] = part[rows]
    return out


def strings_from_bytes(matrix: np.ndarray) -> pa.Array:
    """One string per row of the byte matrix, zero bytes dropped (row-major order is kept)."""
    n = matrix.shape[0]
    present = matrix != 0
    lengths = present.sum(axis=1, dtype=np.int64)
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    data = np.ascontiguousarray(matrix[present])
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data)])


@dataclass(frozen=True)
class Pattern:
    """A compiled pattern: ``random(rng, n)`` values, or ``nth(k)`` (distinct k, distinct values)."""

    source: str
    node: _Node

    @property
    def min_chars(self) -> int:
        return _chars(self.node, longest=False)

    @property
    def max_chars(self) -> int:
        return _chars(self.node, longest=True)

    def random(self, rng: np.random.Generator, n: int) -> pa.Array:
        return strings_from_bytes(_matrix(self.node, rng, n))

    # -- enumeration (fixed-shape patterns only) ----------------------------------------------
    def _positions(self) -> list[bytes] | None:
        """One entry per generated character (its allowed bytes), or None when the shape varies."""
        out: list[bytes] = []

        def walk(node: _Node) -> bool:
            if isinstance(node, _Chars):
                out.append(node.table)
            elif isinstance(node, _Lit):
                out.extend(bytes([b]) for b in node.text.encode())
            elif isinstance(node, _Seq):
                return all(walk(item) for item in node.items)
            elif isinstance(node, _Repeat):
                return node.low == node.high and all(walk(node.node) for _ in range(node.low))
            else:
                return False
            return True

        return out if walk(self.node) else None

    def capacity(self) -> int | None:
        """How many distinct values :meth:`nth` can make; None when the pattern's shape varies."""
        positions = self._positions()
        if positions is None:
            return None
        return int(np.prod([len(p) for p in positions], dtype=object)) if positions else 1

    def nth(self, k: np.ndarray) -> pa.Array:
        """The k-th value in mixed radix over the positions, last position fastest."""
        positions = self._positions()
        assert positions is not None
        rest = k.astype(np.int64, copy=True)
        matrix = np.empty((len(k), len(positions)), dtype=np.uint8)
        for col in range(len(positions) - 1, -1, -1):
            table = np.frombuffer(positions[col], dtype=np.uint8)
            matrix[:, col] = table[rest % len(table)]
            rest //= len(table)
        return strings_from_bytes(matrix)


def compile_pattern(pattern: str) -> Pattern:
    """Parse ``pattern``; raises :class:`RegexError` for what cannot be generated."""
    try:
        parsed = _parser().parse(pattern)
    except Exception as exc:  # re.error and friends
        raise RegexError(f"not a valid regular expression: {exc}") from None
    return Pattern(pattern, _convert(parsed, _constants()))
