"""The US place list shipped with laden: ZIP codes with their city, state, county and coordinates.

``data/places_us.csv.gz`` (3,819 rows, 50 states and DC) is derived from US Census Bureau
files only — works of the US federal government, in the public domain (17 U.S.C. 105):

* the 2025 Gazetteer of 2020 Census urban areas (name, land area, internal point);
* the 2021 Gazetteer of ZIP Code Tabulation Areas (ZCTA and its internal point);
* the 2010 ZCTA-to-county relationship file and the county Gazetteer (state, county).

Each row's ``postal_code``, ``latitude`` and ``longitude`` are one ZCTA row of the Census
Gazetteer; ``city`` and ``state`` name the principal city of the urban area the ZCTA lies in
(in a large metro, a suburb's ZIP carries the principal city's name); ``county`` is the ZCTA's
county; ``weight`` is the urban area's land area spread over its ZIPs, a size proxy (the
Gazetteer carries no population). ``data/build_places.py`` rebuilds the file and documents
every step; ``data/urban_areas_2025.psv`` is its urban-area input.
"""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

EARTH_RADIUS_KM = 6371.0088
_COLUMNS = {
    "postal_code": pa.string(),
    "city": pa.string(),
    "state": pa.string(),
    "county": pa.string(),
    "latitude": pa.float64(),
    "longitude": pa.float64(),
    "weight": pa.float64(),
    "urban_area": pa.string(),
}


@dataclass(frozen=True)
class Places:
    """The place list as Arrow columns plus numpy coordinates and weights."""

    table: pa.Table
    latitude: np.ndarray
    longitude: np.ndarray
    weight: np.ndarray

    def __len__(self) -> int:
        return int(self.table.num_rows)

    def column(self, name: str) -> pa.Array:
        column: pa.Array = self.table.column(name).combine_chunks()
        return column

    def draw(self, rng: np.random.Generator, n: int, *, weighted: bool = True) -> np.ndarray:
        """Row indices, by ``weight`` (urban size) or uniformly."""
        if not weighted:
            return rng.integers(0, len(self), n)
        cumulative = np.cumsum(self.weight / self.weight.sum())
        cumulative[-1] = 1.0
        index: np.ndarray = np.searchsorted(cumulative, rng.random(n), side="right").astype(np.int64)
        return index


@lru_cache(maxsize=1)
def us_places() -> Places:
    """The shipped US place list (read once per process)."""
    raw = resources.files("laden.generate").joinpath("data/places_us.csv.gz").read_bytes()
    table = pacsv.read_csv(
        io.BytesIO(gzip.decompress(raw)), convert_options=pacsv.ConvertOptions(column_types=_COLUMNS)
    )
    return Places(
        table,
        table.column("latitude").to_numpy(),
        table.column("longitude").to_numpy(),
        table.column("weight").to_numpy(),
    )


def haversine_km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    """Great-circle distance in km, broadcast over the arguments."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dlat, dlon = p2 - p1, np.radians(lon2) - np.radians(lon1)
    a = np.sin(dlat / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlon / 2) ** 2
    km: np.ndarray = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return km


def unit_vectors(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Points on the unit sphere, shape (n, 3): the chord between two is monotone in their distance."""
    p, q = np.radians(lat), np.radians(lon)
    return np.stack([np.cos(p) * np.cos(q), np.cos(p) * np.sin(q), np.sin(p)], axis=1)


def nearest(lat: np.ndarray, lon: np.ndarray, to_lat: np.ndarray, to_lon: np.ndarray) -> np.ndarray:
    """For each point, the index of the nearest of the ``to`` points (largest dot product of unit vectors)."""
    points, targets = unit_vectors(lat, lon), unit_vectors(to_lat, to_lon)
    out = np.empty(len(points), dtype=np.int64)
    chunk = max(1, (1 << 21) // max(1, len(targets)))  # bounded memory: at most 2M products at a time
    for start in range(0, len(points), chunk):
        out[start : start + chunk] = np.argmax(points[start : start + chunk] @ targets.T, axis=1)
    return out


@lru_cache(maxsize=4)
def neighbours(k: int, max_km: float) -> tuple[np.ndarray, np.ndarray]:
    """For every place, its ``k`` nearest places within ``max_km`` (itself first) as ``(index, km)``.

    Both arrays have shape (n, k); where a place has fewer than ``k`` neighbours that close, the
    rest of its row is the place itself (distance 0), so every entry is within ``max_km``.
    """
    places = us_places()
    n = len(places)
    lat, lon = places.latitude, places.longitude
    vectors = unit_vectors(lat, lon)
    threshold = np.cos(max_km / EARTH_RADIUS_KM)  # cosine of the largest angle allowed
    found_rows, found_cols, found_sim = [], [], []
    for start in range(0, n, 1024):
        rows = np.arange(start, min(start + 1024, n))
        similarity = vectors[rows] @ vectors.T  # cosine of the angle between the places
        similarity[rows - start, rows] = 2.0  # itself first, whatever shares its coordinates
        r, c = np.nonzero(similarity >= threshold)
        found_rows.append(r + start)
        found_cols.append(c)
        found_sim.append(similarity[r, c])
    row, col, sim = np.concatenate(found_rows), np.concatenate(found_cols), np.concatenate(found_sim)
    order = np.lexsort((-sim, row))  # by place, nearest first
    row, col = row[order], col[order]
    rank = np.arange(len(row)) - np.searchsorted(row, row)
    keep = rank < k
    index = np.repeat(np.arange(n)[:, None], k, axis=1)
    index[row[keep], rank[keep]] = col[keep]
    km = haversine_km(lat[:, None], lon[:, None], lat[index], lon[index])
    far = km > max_km  # rounding at the threshold
    return np.where(far, np.arange(n)[:, None], index), np.where(far, 0.0, km)
