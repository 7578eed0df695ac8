"""de_DE: common German given names, surnames and street names, German phone numbers.

Written for laden from commonly published rank lists (the most frequent German surnames,
given names of the 1960s-1990s, the most frequent street names); weights are 1 / rank, not
measured frequencies. Lists of common names are facts, not creative works.
"""

from __future__ import annotations

from laden.generate.locales import AddressOrder, LocaleData, Weighted, by_rank

_FEMALE = (
    "Sabine", "Susanne", "Petra", "Claudia", "Andrea", "Nicole", "Stefanie", "Julia", "Katrin", "Anja", "Sandra",
    "Martina", "Monika", "Birgit", "Christina", "Melanie", "Daniela", "Anna", "Laura", "Lena", "Sarah", "Katharina",
    "Maria", "Ursula", "Karin", "Renate", "Gabriele", "Heike", "Silke", "Tanja", "Jana", "Lisa", "Hannah", "Lea",
    "Sophie", "Johanna", "Marie", "Franziska", "Kerstin", "Ute", "Ingrid", "Brigitte", "Helga", "Elke", "Nina",
    "Jessica", "Vanessa", "Carina", "Miriam", "Simone", "Yvonne", "Bettina", "Doris", "Angelika", "Elisabeth",
)  # fmt: skip
_MALE = (
    "Thomas", "Michael", "Andreas", "Stefan", "Peter", "Frank", "Markus", "Christian", "Martin", "Klaus", "Jürgen",
    "Wolfgang", "Daniel", "Alexander", "Sebastian", "Tobias", "Jan", "Matthias", "Florian", "Dirk", "Uwe", "Bernd",
    "Jörg", "Ralf", "Sven", "Torsten", "Oliver", "Lukas", "Maximilian", "Felix", "Jonas", "Leon", "Paul", "David",
    "Tim", "Philipp", "Niklas", "Dieter", "Hans", "Helmut", "Werner", "Manfred", "Karl", "Heinz", "Günter", "Rainer",
    "Holger", "Carsten", "Marco", "Dennis", "Patrick", "Kevin", "Simon", "Benjamin", "Moritz",
)  # fmt: skip
_LAST = (
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann",
    "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder", "Neumann", "Schwarz", "Zimmermann",
    "Braun", "Krüger", "Hofmann", "Hartmann", "Lange", "Schmitt", "Werner", "Schmitz", "Krause", "Meier",
    "Lehmann", "Schmid", "Schulze", "Maier", "Köhler", "Herrmann", "König", "Walter", "Mayer", "Huber", "Kaiser",
    "Fuchs", "Peters", "Lang", "Scholz", "Möller", "Weiß", "Jung", "Hahn", "Schubert", "Vogel", "Friedrich",
    "Keller", "Günther", "Frank", "Berger", "Winkler", "Roth", "Beck", "Lorenz", "Baumann", "Franke", "Albrecht",
    "Schuster", "Simon", "Ludwig", "Böhm", "Winter", "Kraus", "Martin", "Schumacher", "Krämer", "Vogt", "Stein",
    "Jäger", "Otto", "Sommer", "Groß", "Seidel", "Heinrich", "Brandt", "Haas", "Schreiber", "Graf", "Schulte",
    "Dietrich", "Ziegler", "Kuhn", "Kühn", "Pohl", "Engel", "Horn", "Busch", "Bergmann", "Thomas", "Voigt",
    "Sauer", "Arnold", "Wolff", "Pfeiffer",
)  # fmt: skip
_STREETS = (
    "Hauptstraße", "Schulstraße", "Gartenstraße", "Bahnhofstraße", "Dorfstraße", "Bergstraße", "Birkenweg",
    "Lindenstraße", "Kirchstraße", "Waldstraße", "Ringstraße", "Schillerstraße", "Goethestraße", "Wiesenweg",
    "Jahnstraße", "Amselweg", "Buchenweg", "Feldstraße", "Mühlenweg", "Rosenstraße", "Blumenstraße",
    "Friedhofstraße", "Lerchenweg", "Eichendorffstraße", "Mozartstraße", "Finkenweg", "Sonnenstraße",
    "Meisenweg", "Tulpenweg", "Ahornweg", "Drosselweg", "Kiefernweg", "Poststraße", "Marktplatz", "Parkstraße",
    "Talstraße", "Industriestraße", "Raiffeisenstraße", "Am Sportplatz", "Beethovenstraße",
)  # fmt: skip
# Area codes (without the trunk 0) of large German cities.
_AREAS = (
    "30", "40", "89", "221", "69", "711", "211", "231", "201", "341", "421", "351", "511", "911", "203",
    "228", "521", "621", "721", "611", "241", "345", "381", "431", "451", "461", "531", "541", "551", "561",
)  # fmt: skip

DATA = LocaleData(
    code="de_DE",
    female_first=by_rank(_FEMALE),
    male_first=by_rank(_MALE),
    last=by_rank(_LAST),
    streets=by_rank(_STREETS),
    street_types=Weighted(("",)),
    address_order=AddressOrder.NUMBER_LAST,
    phone_areas=by_rank(_AREAS),
    phone_format="0{area} {local}",
    phone_local_digits=7,
    phone_local_split=0,
    company_suffixes=Weighted(("GmbH", "AG", "KG", "GmbH & Co. KG", "e.K."), (50, 10, 15, 15, 10)),
    country="Deutschland",
    country_code="DE",
    sources=("common German names and street names by rank, written for laden",),
)
