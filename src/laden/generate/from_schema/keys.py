"""Key math: every key-like value is a pure function of the row index.

A child computes the key of parent row ``p`` without reading the parent's rows, so tables
are generated independently, batch by batch, in any order, with bounded memory:

* :func:`mix64` / :func:`uniform` — counter-based hashing: a keyed, reproducible "random"
  number per row index (no state, no dependency on block or batch boundaries);
* :class:`Permutation` — an affine bijection of ``[0, n)``, to scatter parents;
* :class:`Spread` — how ``children`` rows spread over ``parents``: uniformly or Zipf-like.
  Two uses: a *random* parent per child (:meth:`Spread.draw`), and a *contiguous* layout
  (:meth:`Spread.slot` / :meth:`Spread.start`) where the children of one parent are
  consecutive rows, so a child's rank among its siblings (:meth:`Spread.rank`) is known —
  that is what makes ``(order_id, line_no)`` or ``(part_id, supplier_id)`` unique.
"""

from __future__ import annotations

import enum
import math
import zlib
from dataclasses import dataclass

import numpy as np

__all__ = ["MAX_ROWS", "Distribution", "Permutation", "Spread", "coprime_step", "mix64", "salt", "uniform"]

_GOLDEN = 0x9E3779B97F4A7C15
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
#: the most rows a table may have (parent indexes are multiplied in 64-bit arithmetic)
MAX_ROWS = 1 << 32


class Distribution(str, enum.Enum):
    """How many children each parent gets."""

    #: every parent about the same number
    UNIFORM = "uniform"
    #: a few parents get many, most get few (truncated power law of exponent ``skew``)
    ZIPF = "zipf"


def salt(seed: int, *names: str) -> int:
    """A 64-bit key for hashing, from the seed and names (table, purpose): stable across processes."""
    words = [zlib.crc32(n.encode("utf-8")) for n in names]
    return int(np.random.SeedSequence(entropy=seed, spawn_key=tuple(words)).generate_state(1, np.uint64)[0])


def mix64(x: np.ndarray, key: int) -> np.ndarray:
    """SplitMix64's finaliser of ``x + key``: a bijection of 64-bit words, vectorised."""
    z = x.astype(np.uint64, copy=False) + np.uint64((key + _GOLDEN) & 0xFFFFFFFFFFFFFFFF)
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    out: np.ndarray = z ^ (z >> np.uint64(31))
    return out


def uniform(index: np.ndarray, key: int) -> np.ndarray:
    """A float in [0, 1) per index, reproducible from (index, key) alone."""
    out: np.ndarray = (mix64(index, key) >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))
    return out


def coprime_step(n: int, near: float) -> int:
    """A step in [1, n) coprime with ``n``, close to ``near * n`` (1 when n <= 2)."""
    if n <= 2:
        return 1
    step = max(1, min(n - 1, int(near * n)))
    while math.gcd(step, n) != 1:
        step = step + 1 if step + 1 < n else 1
    return step


@dataclass(frozen=True)
class Permutation:
    """``p = (a * q + b) mod n``: a bijection of ``[0, n)`` (``a`` coprime with ``n``)."""

    n: int
    a: int = 1
    b: int = 0

    @classmethod
    def keyed(cls, n: int, key: int) -> Permutation:
        if n <= 1:
            return cls(max(n, 1))
        return cls(n, coprime_step(n, 0.3819660112501051 + (key % 1000) / 10_000), (key >> 20) % n)

    def __call__(self, q: np.ndarray) -> np.ndarray:
        if self.a == 1 and self.b == 0:
            return q
        out: np.ndarray = ((q.astype(np.uint64) * np.uint64(self.a) + np.uint64(self.b)) % np.uint64(self.n)).astype(
            np.int64
        )
        return out


@dataclass(frozen=True)
class Spread:
    """How ``children`` rows spread over ``parents`` rows (both > 0)."""

    children: int
    parents: int
    distribution: Distribution = Distribution.UNIFORM
    #: Zipf exponent (> 0); 1.0 is classic Zipf
    skew: float = 1.0

    # -- the continuous share of children below slot q: G(0) = 0, G(parents) = 1 -------------
    def _share(self, q: np.ndarray) -> np.ndarray:
        n, s = self.parents, self.skew
        x = q.astype(np.float64) + 1.0
        if abs(s - 1.0) < 1e-9:
            out: np.ndarray = np.log(x) / math.log(n + 1.0)
        else:
            out = (x ** (1.0 - s) - 1.0) / ((n + 1.0) ** (1.0 - s) - 1.0)
        return out

    def _inverse(self, t: np.ndarray) -> np.ndarray:
        """The continuous slot of share ``t`` (inverse of :meth:`_share`)."""
        n, s = self.parents, self.skew
        if abs(s - 1.0) < 1e-9:
            x = np.exp(t * math.log(n + 1.0))
        else:
            x = (t * ((n + 1.0) ** (1.0 - s) - 1.0) + 1.0) ** (1.0 / (1.0 - s))
        out: np.ndarray = x - 1.0
        return out

    # -- random parent per child ---------------------------------------------------------------
    def draw(self, u: np.ndarray) -> np.ndarray:
        """A slot in [0, parents) per uniform draw ``u``, following the distribution."""
        if self.distribution is Distribution.UNIFORM:
            slot = (u * self.parents).astype(np.int64)
        else:
            slot = np.floor(self._inverse(u)).astype(np.int64)
        out: np.ndarray = np.clip(slot, 0, self.parents - 1)
        return out

    # -- contiguous layout: children of slot q are rows start(q) .. start(q + 1) - 1 ------------
    def start(self, q: np.ndarray) -> np.ndarray:
        """The first child row of slot ``q`` (q in [0, parents]; start(parents) = children)."""
        q = q.astype(np.int64, copy=False)
        if self.distribution is Distribution.UNIFORM:
            out: np.ndarray = (q * self.children) // self.parents  # exact: sizes are < 2**32
            return out
        raw = np.floor(self._share(q) * self.children).astype(np.int64)
        return np.where(q >= self.parents, self.children, np.minimum(raw, self.children))

    def slot(self, i: np.ndarray) -> np.ndarray:
        """The slot of child row ``i``: the q with start(q) <= i < start(q + 1)."""
        i = i.astype(np.int64, copy=False)
        if self.distribution is Distribution.UNIFORM:
            out: np.ndarray = ((i + 1) * self.parents - 1) // self.children
            return out
        q = np.floor(self._inverse((i + 0.5) / self.children)).astype(np.int64)
        q = np.clip(q, 0, self.parents - 1)
        for _ in range(64):  # floating point puts the guess off by one at worst; settle it exactly
            low = self.start(q) > i
            high = self.start(q + 1) <= i
            if not (low.any() or high.any()):
                break
            q = np.clip(q - low + high, 0, self.parents - 1)
        return np.asarray(q, dtype=np.int64)

    def rank(self, i: np.ndarray, q: np.ndarray | None = None) -> np.ndarray:
        """Position of child ``i`` among the children of its slot (0-based)."""
        q = self.slot(i) if q is None else q
        out: np.ndarray = i.astype(np.int64, copy=False) - self.start(q)
        return out

    def most_children(self) -> int:
        """The largest number of children one slot gets in the contiguous layout."""
        if self.distribution is Distribution.UNIFORM:
            return -(-self.children // self.parents)
        head = np.arange(min(self.parents, 4096) + 1, dtype=np.int64)
        starts = self.start(head)
        return int(np.diff(starts).max(initial=0))
