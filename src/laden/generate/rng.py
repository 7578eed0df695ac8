"""Deterministic random streams: one numpy ``Generator`` per (seed, table, block).

Every table is generated in blocks of :data:`BLOCK_ROWS` rows. Block ``b`` of table ``t`` draws
from its own PCG64 stream, seeded by ``SeedSequence(seed, spawn_key=(crc32(t), b))``, and from
nothing else: a block comes out the same whichever process makes it and in whatever order, so
the data depend on the scale, the seed and the version of laden only — never on the number of
worker processes or on the batch size a target asks for.
"""

from __future__ import annotations

import zlib

import numpy as np

from laden.errors import UsageError

#: rows per generation block (part of the output's identity: changing it changes the data)
BLOCK_ROWS = 1 << 16


def check_seed(seed: object) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise UsageError(f"seed must be a non-negative integer, got {seed!r}")
    return seed


def table_key(table: str) -> int:
    """A stable 32-bit key for a table name (Python's ``hash`` changes between processes)."""
    return zlib.crc32(table.encode("utf-8"))


def stream(seed: int, table: str, block: int = 0) -> np.random.Generator:
    """The generator of block ``block`` of ``table``."""
    sequence = np.random.SeedSequence(entropy=check_seed(seed), spawn_key=(table_key(table), block))
    return np.random.Generator(np.random.PCG64(sequence))


def blocks(rows: int) -> int:
    """How many blocks ``rows`` rows take."""
    return -(-rows // BLOCK_ROWS)
