"""Locale data for :mod:`laden.generate.values`: names, streets, phone and company conventions.

A locale is a :class:`LocaleData` of small weighted lists. ``en_US`` names are the US Census
Bureau's frequency files (public domain, see :mod:`laden.generate.locales.en_US`); the other
lists were written for laden, weighted by rank (``1 / rank``) where no public frequencies exist.
Add a locale by adding a module with a ``DATA`` object and naming it in :data:`LOCALES`.
"""

from __future__ import annotations

import enum
import importlib
from dataclasses import dataclass, field
from functools import cache
from typing import Literal

from laden.errors import UsageError

#: every locale laden knows
LOCALES = ("en_US", "de_DE")
Locale = Literal["en_US", "de_DE"]


class AddressOrder(enum.Enum):
    """Where the house number goes."""

    NUMBER_FIRST = "number_first"  #: "1600 Maple St"
    NUMBER_LAST = "number_last"  #: "Gartenstraße 12"


@dataclass(frozen=True)
class Weighted:
    """Values and their (unnormalised) weights."""

    values: tuple[str, ...]
    weights: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if not self.values or (self.weights and len(self.weights) != len(self.values)):
            raise ValueError("a weighted list needs values and as many weights")


def by_rank(values: tuple[str, ...]) -> Weighted:
    """Zipf weights: the value of rank r weighs 1 / r."""
    return Weighted(values, tuple(1.0 / (r + 1) for r in range(len(values))))


@dataclass(frozen=True)
class LocaleData:
    code: str
    female_first: Weighted
    male_first: Weighted
    last: Weighted
    streets: Weighted
    street_types: Weighted
    address_order: AddressOrder
    #: phone area codes (without trunk prefix) and how a number is spelled: "{area}" and "{local}"
    phone_areas: Weighted
    phone_format: str
    phone_local_digits: int
    #: a dash after this many local digits ("555-0123"); 0 = none
    phone_local_split: int
    company_suffixes: Weighted
    country: str
    country_code: str
    #: where the lists come from
    sources: tuple[str, ...] = field(default=())


def locale_data(code: str) -> LocaleData:
    """The data of locale ``code`` (``en_US``, ``de_DE``)."""
    if code not in LOCALES:
        raise UsageError(f"unknown locale {code!r}; expected one of: {', '.join(LOCALES)}")
    return _load(code)


@cache
def _load(code: str) -> LocaleData:
    module = importlib.import_module(f"laden.generate.locales.{code}")
    data: LocaleData = module.DATA
    return data
