"""Pure parsers for the free-text fields of the "Offres d'emploi v2" API.

Every parser takes one raw API value and returns a typed value, or None when it does not
understand it (a missing value). None of them ever raises, whatever the input: the payloads are
written by thousands of employers and advisers, and one odd string must not stop a batch.
`parse_series` applies a parser to a whole column and counts what it could not read.
"""

import math
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from features.geography import DEPARTMENT_REGION, region_from_name, region_of_department

__all__ = [
    "EMPLOYER_SIZE_BANDS",
    "HOURS_PER_YEAR",
    "Location",
    "RomeCode",
    "SalaryRange",
    "parse_contract_months",
    "parse_diploma_level",
    "parse_employer_size",
    "parse_experience_months",
    "parse_location",
    "parse_rome",
    "parse_salary",
    "parse_series",
    "parse_weekly_hours",
    "parse_working_time",
]

HOURS_PER_YEAR = 35 * 52  # full-time equivalent of an hourly wage
EMPLOYER_SIZE_BANDS = ("0-9", "10-49", "50-99", "100-249", "250+")


@dataclass(frozen=True, slots=True)
class SalaryRange:
    yearly_low: float
    yearly_high: float
    period: str  # the period the amounts were read in: "monthly", "yearly" or "hourly"


@dataclass(frozen=True, slots=True)
class Location:
    department: str | None
    region: str | None


@dataclass(frozen=True, slots=True)
class RomeCode:
    domain: str
    subdomain: str


# A number as employers type it: "1801.80", "1617,00", "45 000,00" (space-grouped thousands).
_NUMBER = r"[0-9]{1,3}(?:[ \u00a0\u202f][0-9]{3})+(?:[.,][0-9]+)?|[0-9]+(?:[.,][0-9]+)?"
_EUROS = r"(?:\s*(?:euros?|€))?"
_SALARY = re.compile(
    rf"\s*(?:(?P<period>[^\W\d_]+)\s+)?de\s+(?P<low>{_NUMBER}){_EUROS}"
    rf"(?:\s+(?:à|a|-)\s+(?P<high>{_NUMBER}){_EUROS})?"
    rf"(?:\s+sur\s+(?P<months>{_NUMBER})\s*mois)?\s*",
    re.IGNORECASE,
)
_SALARY_PERIODS = {"mensuel": "monthly", "annuel": "yearly", "horaire": "hourly", "autre": None}
# Amounts a declared period can plausibly hold; outside them the employer picked the wrong
# period ("Mensuel de 11,88 Euros" is an hourly wage), so the period is read from the amount.
_PLAUSIBLE = {"hourly": (5.0, 500.0), "monthly": (200.0, 15_000.0), "yearly": (3_000.0, 1e6)}
_INFERRED = (("hourly", 5.0, 200.0), ("monthly", 200.0, 10_000.0), ("yearly", 10_000.0, 1e6))

_HOURS = re.compile(
    r"\s*([0-9]{1,3})(?:[.,]([0-9]+))?\s*h(?:([0-5][0-9])(?![0-9]))?", re.IGNORECASE
)
_FULL_TIME = re.compile(r"temps\s+plein", re.IGNORECASE)
_PART_TIME = re.compile(r"temps\s+partiel", re.IGNORECASE)

_DURATION = re.compile(
    r"(?<![0-9.,])([0-9]+(?:[.,][0-9]+)?)\s*(ans?|mois|jours?|semaines?)\b", re.IGNORECASE
)
# Keyed by the unit's first two letters; a month counts 30 days, as the API's own "31 Jour(s)".
_UNIT_MONTHS = {"an": 12.0, "mo": 1.0, "jo": 1 / 30, "se": 7 / 30}
_BEGINNER = re.compile(r"\s*d[ée]butant", re.IGNORECASE)

_LIBELLE_DEPARTMENT = re.compile(r"\s*(97[1-6]|2[AB]|[0-9]{2})(?:\s*-|\s*$)", re.IGNORECASE)
# Overseas codes have 3-digit departments and 2 digits after; the others 2 then 3.
_COMMUNE = re.compile(r"\s*(?:(97[1-6])[0-9]{2}|(2[AB]|[0-9]{2})[0-9]{3})\s*", re.IGNORECASE)
_POSTCODE = re.compile(r"\s*(?:(97[1-6])[0-9]{2}|(20)([0-9])[0-9]{2}|([0-9]{2})[0-9]{3})\s*")

_ROME = re.compile(r"[A-N][0-9]{4}")

_SPACES = re.compile(r"[ \u00a0\u202f]")
_FIRST_INTEGER = re.compile(r"[^0-9]*([0-9]+(?:[ \u00a0\u202f][0-9]{3})*)(?![0-9])")
_EMPLOYEES = re.compile(r"salari", re.IGNORECASE)
_SIZE_FLOORS = ((250, "250+"), (100, "100-249"), (50, "50-99"), (10, "10-49"), (0, "0-9"))

# Checked in order on accent-free lowercase text: "bac+2" before "bac".
_DIPLOMA_LEVELS = (
    (re.compile(r"bac\s*\+\s*(?:[5-9]|1[0-9])"), 7),
    (re.compile(r"bac\s*\+\s*[34]"), 6),
    (re.compile(r"bac\s*\+\s*[12]"), 5),
    (re.compile(r"\bbac\b"), 4),
    (re.compile(r"\b(?:cap|bep)\b"), 3),
    (re.compile(r"3\s*eme|brevet"), 2),
    (re.compile(r"primaire|4\s*eme"), 1),
    (re.compile(r"aucune"), 0),
)


def _number(text: str | None) -> float | None:
    """A French-typed number as a finite float, None when absent or not finite."""
    if text is None:
        return None
    value = float(_SPACES.sub("", text).replace(",", "."))
    return value if math.isfinite(value) else None


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def _salary_period(declared: str | None, amount: float) -> str | None:
    """The period the amount is in: the declared one if plausible, else read from the amount."""
    if declared is not None:
        low, high = _PLAUSIBLE[declared]
        if low <= amount < high:
            return declared
    for period, low, high in _INFERRED:
        if low <= amount < high:
            return period
    return None


def _yearly_factor(period: str, months: float | None) -> float:
    if period == "hourly":
        return float(HOURS_PER_YEAR)
    if period == "monthly":
        # "sur 0.0 mois" and missing counts mean the usual 12 salaries.
        return months if months is not None and 1 <= months <= 24 else 12.0
    return 1.0


def parse_salary(libelle: str | None) -> SalaryRange | None:
    """Yearly gross euros from `salaire.libelle`, e.g. "Mensuel de 1833.0 Euros sur 12.0 mois"."""
    if not isinstance(libelle, str):
        return None
    match = _SALARY.fullmatch(libelle)
    if match is None:
        return None
    word = (match["period"] or "autre").lower()
    if word not in _SALARY_PERIODS:
        return None  # "Cachet de ...": a per-performance fee has no yearly equivalent
    low, high, months = _number(match["low"]), _number(match["high"]), _number(match["months"])
    if low is None:
        return None
    high = low if high is None else high
    low, high = min(low, high), max(low, high)
    period = _salary_period(_SALARY_PERIODS[word], low)
    if period is None:
        return None
    factor = _yearly_factor(period, months)
    return SalaryRange(low * factor, high * factor, period)


def parse_weekly_hours(text: str | None) -> float | None:
    """Weekly hours from `dureeTravailLibelle`: "37H50\\nTravail en journée" gives 37.83."""
    if not isinstance(text, str):
        return None
    match = _HOURS.match(text)
    if match is None:
        return None
    hours = float(f"{match[1]}.{match[2] or 0}")
    if match[3]:
        hours += int(match[3]) / 60
    return hours if 0 < hours <= 80 else None


def parse_working_time(converti: str | None, libelle: str | None) -> str | None:
    """Full or part time ("full", "part") from `dureeTravailLibelleConverti`, else the libelle."""
    for text in (converti, libelle):
        if isinstance(text, str):
            if _PART_TIME.search(text):
                return "part"
            if _FULL_TIME.search(text):
                return "full"
    hours = parse_weekly_hours(libelle)
    if hours is None:
        return None
    return "full" if hours >= 35 else "part"


def _duration_months(text: str) -> float | None:
    match = _DURATION.search(text)
    if match is None:
        return None
    amount = _number(match[1])
    return None if amount is None else amount * _UNIT_MONTHS[match[2][:2].lower()]


def parse_experience_months(libelle: str | None) -> float | None:
    """Months of experience asked in `experienceLibelle`; 0 for "Débutant accepté"."""
    if not isinstance(libelle, str):
        return None
    if _BEGINNER.match(libelle):
        return 0.0
    return _duration_months(libelle)


def parse_contract_months(libelle: str | None) -> float | None:
    """Length in months from `typeContratLibelle` ("CDD - 6 Mois"); None when open-ended."""
    if not isinstance(libelle, str):
        return None
    months = _duration_months(libelle)
    return months if months else None  # "Mission intérimaire - 0 Mois" says no length


def _known_department(code: str) -> str | None:
    code = code.upper()
    return code if code in DEPARTMENT_REGION else None


def _libelle_department(libelle: Any) -> str | None:
    """From a libelle such as "30 - NIMES", "2A - AJACCIO", "974 - ST PAUL" or a bare "69"."""
    match = _LIBELLE_DEPARTMENT.match(libelle) if isinstance(libelle, str) else None
    return _known_department(match[1]) if match else None


def _commune_department(commune: Any) -> str | None:
    """From an INSEE commune code: "97113", "2A004", "30189"."""
    match = _COMMUNE.fullmatch(commune) if isinstance(commune, str) else None
    return _known_department(match[1] or match[2]) if match else None


def _postcode_department(postcode: Any) -> str | None:
    match = _POSTCODE.fullmatch(postcode) if isinstance(postcode, str) else None
    if match is None:
        return None
    if match[2]:  # Corsica: 200xx-201xx is Corse-du-Sud, the rest Haute-Corse
        return "2A" if match[3] in "01" else "2B"
    return _known_department(match[1] or match[4])


def parse_location(lieu: Mapping | None) -> Location | None:
    """Department and region of a `lieuTravail`, from its libelle, commune or postcode."""
    if not isinstance(lieu, Mapping):
        return None
    libelle = lieu.get("libelle")
    department = (
        _libelle_department(libelle)
        or _commune_department(lieu.get("commune"))
        or _postcode_department(lieu.get("codePostal"))
    )
    if department is not None:
        return Location(department, region_of_department(department))
    region = region_from_name(libelle) if isinstance(libelle, str) else None
    return Location(None, region)


def parse_rome(code: str | None) -> RomeCode | None:
    """Domain and subdomain of a ROME code: "K2305" gives ("K", "K23")."""
    if not isinstance(code, str) or not _ROME.fullmatch(code):
        return None
    return RomeCode(code[0], code[:3])


def parse_employer_size(tranche: str | None) -> str | None:
    """Band of EMPLOYER_SIZE_BANDS for `trancheEffectifEtab`, from the range's lower bound."""
    if not isinstance(tranche, str):
        return None
    match = _FIRST_INTEGER.match(tranche)
    if match is None or not _EMPLOYEES.search(tranche):
        return None
    floor = int(_SPACES.sub("", match[1]))
    return next(band for minimum, band in _SIZE_FLOORS if floor >= minimum)


def _diploma_level(libelle: Any) -> int | None:
    if not isinstance(libelle, str):
        return None
    folded = _fold(libelle)
    return next((level for pattern, level in _DIPLOMA_LEVELS if pattern.search(folded)), None)


def parse_diploma_level(formations: list | None) -> int | None:
    """Highest level asked in `formations[*].niveauLibelle`: 0 (none) to 7 (Bac+5 and more)."""
    if not isinstance(formations, list | tuple):
        return None
    levels = [
        level
        for formation in formations
        if isinstance(formation, Mapping)
        and (level := _diploma_level(formation.get("niveauLibelle"))) is not None
    ]
    return max(levels, default=None)


def _object_array(items: list[Any]) -> np.ndarray:
    # Filled one by one: numpy would unpack tuple-like results into a second dimension.
    array = np.empty(len(items), dtype=object)
    for position, item in enumerate(items):
        array[position] = item
    return array


def parse_series(values: pd.Series, parser: Callable[[Any], Any]) -> tuple[pd.Series, int]:
    """`parser` over the non-null values of a column, each distinct value parsed once.

    Returns the results (same index, object dtype, None where missing or not understood) and
    how many non-null values the parser did not understand.
    """
    present = values.notna().to_numpy()
    kept = values[present]
    try:
        codes, uniques = pd.factorize(kept, use_na_sentinel=False)
    except TypeError:  # unhashable values (dicts, lists): parse each one
        parsed = _object_array([parser(value) for value in kept])
        unparsed = sum(result is None for result in parsed)
    else:
        parsed_uniques = _object_array([parser(value) for value in uniques])
        parsed = parsed_uniques[codes]
        failed = np.fromiter((result is None for result in parsed_uniques), bool, len(uniques))
        unparsed = np.count_nonzero(failed[codes])
    out = np.full(len(values), None, dtype=object)
    out[present] = parsed
    return pd.Series(out, index=values.index, name=values.name, dtype=object), int(unparsed)
