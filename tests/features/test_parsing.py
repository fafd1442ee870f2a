import json
import math
import random
import re
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from features.geography import DEPARTMENT_REGION, region_from_name
from features.parsing import (
    EMPLOYER_SIZE_BANDS,
    Location,
    RomeCode,
    SalaryRange,
    parse_contract_months,
    parse_diploma_level,
    parse_employer_size,
    parse_experience_months,
    parse_location,
    parse_rome,
    parse_salary,
    parse_series,
    parse_weekly_hours,
    parse_working_time,
)

SAMPLE = Path("/work/shared/data/offres_api_v2_sample.json")


@pytest.fixture(scope="module")
def offers() -> list[dict]:
    if not SAMPLE.exists():
        pytest.skip(f"{SAMPLE} is not available")
    return json.loads(SAMPLE.read_text(encoding="utf-8"))


def distinct(offers: list[dict], field: str) -> set[str]:
    return {offer[field] for offer in offers if offer.get(field) is not None}


# --- salary ---------------------------------------------------------------------------------


def test_every_sample_salary_parses_to_plausible_yearly_bounds(offers):
    libelles = {(o.get("salaire") or {}).get("libelle") for o in offers} - {None}
    assert libelles
    for libelle in libelles:
        salary = parse_salary(libelle)
        assert salary is not None, libelle
        assert salary.yearly_low <= salary.yearly_high, libelle
        assert 5_000 <= salary.yearly_low and salary.yearly_high <= 500_000, (libelle, salary)


@pytest.mark.parametrize(
    ("libelle", "low", "high", "period"),
    [
        ("Mensuel de 1820.0 Euros sur 12.0 mois", 21840.0, 21840.0, "monthly"),
        ("Horaire de 11.88 Euros", 11.88 * 1820, 11.88 * 1820, "hourly"),
        ("Horaire de 11.88 Euros sur 0.0 mois", 11.88 * 1820, 11.88 * 1820, "hourly"),
        ("Horaire de 12.07 Euros sur 12.0 mois", 12.07 * 1820, 12.07 * 1820, "hourly"),
        ("Annuel de 21622.0 Euros à 25000.0 Euros sur 12.0 mois", 21622.0, 25000.0, "yearly"),
        ("Annuel de 45000,00 Euros à 50000,00 Euros", 45000.0, 50000.0, "yearly"),
        ("Mensuel de 1617,00 Euros à 1764,00 Euros", 1617.0 * 12, 1764.0 * 12, "monthly"),
        ("Mensuel de 1833.0 Euros à 2250.0 Euros sur 12.0 mois", 21996.0, 27000.0, "monthly"),
        ("Mensuel de 1801.80 Euros sur 13.0 mois", 1801.8 * 13, 1801.8 * 13, "monthly"),
        ("Mensuel de 1850.0 Euros à 2200.0 Euros sur 13.0 mois", 24050.0, 28600.0, "monthly"),
        # The employer picked the wrong period; the amount tells the right one.
        ("Mensuel de 11,88 Euros à 14,00 Euros", 11.88 * 1820, 14.0 * 1820, "hourly"),
        ("Mensuel de 21450,00 Euros à 21450,00 Euros", 21450.0, 21450.0, "yearly"),
        ("Autre de 1839,76 Euros à 1935,31 Euros", 1839.76 * 12, 1935.31 * 12, "monthly"),
        ("De 20000,00 Euros à 20000,00 Euros", 20000.0, 20000.0, "yearly"),
        ("Mensuel de 2000 Euros à 1800 Euros", 21600.0, 24000.0, "monthly"),
        ("Annuel de 45 000,00 Euros", 45000.0, 45000.0, "yearly"),
    ],
)
def test_salary_exact_values(libelle, low, high, period):
    salary = parse_salary(libelle)
    assert salary == SalaryRange(pytest.approx(low), pytest.approx(high), period)


@pytest.mark.parametrize(
    "libelle",
    [
        None,
        "",
        "Cachet de 150 Euros",
        "Hebdomadaire de 400 Euros",
        "Selon profil",
        "Mensuel",
        "Mensuel de Euros",
        "Mensuel de 0 Euros",
        "Annuel de 5000000 Euros",
        "Mensuel de 1e400 Euros",
        "Mensuel de " + "9" * 400 + " Euros",
    ],
)
def test_salary_not_understood(libelle):
    assert parse_salary(libelle) is None


def _decimal(value: float, comma: bool) -> str:
    text = repr(value)
    return text.replace(".", ",") if comma else text


MONTHS = st.sampled_from([None, "0", "0.0", "12", "12.0", "13", "13.0", "14", "1", "6.5", "24"])
PERIOD_RANGES = {
    "Mensuel": ("monthly", 200.0, 14_999.0),
    "Annuel": ("yearly", 3_000.0, 999_999.0),
    "Horaire": ("hourly", 5.0, 499.0),
}


@st.composite
def salary_libelles(draw):
    word = draw(st.sampled_from(sorted(PERIOD_RANGES)))
    period, low, high = PERIOD_RANGES[word]
    amounts = st.floats(min_value=low, max_value=high, allow_nan=False, allow_infinity=False)
    first = draw(amounts)
    second = draw(st.none() | amounts)
    months = draw(MONTHS)
    comma = draw(st.booleans())
    text = f"{word} de {_decimal(first, comma)} Euros"
    if second is not None:
        text += f" à {_decimal(second, comma)} Euros"
    if months is not None:
        text += f" sur {months} mois"
    second = first if second is None else second
    if period == "hourly":
        factor = 1820.0
    elif period == "monthly":
        count = float(months) if months is not None else 0.0
        factor = count if count >= 1 else 12.0
    else:
        factor = 1.0
    return text, period, min(first, second) * factor, max(first, second) * factor


@given(salary_libelles())
def test_salary_recovers_generated_amounts(case):
    text, period, low, high = case
    salary = parse_salary(text)
    assert salary is not None, text
    assert salary.period == period
    assert math.isclose(salary.yearly_low, low, rel_tol=1e-6)
    assert math.isclose(salary.yearly_high, high, rel_tol=1e-6)


# --- working time, experience, contract -----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "hours"),
    [
        ("35H\nTravail en journée", 35.0),
        ("37H50\nTravail en journée", 37 + 50 / 60),
        ("36H25\nTravail en journée", 36 + 25 / 60),
        ("35 H  Travail en journée", 35.0),
        ("15 H", 15.0),
        ("39H", 39.0),
        ("temps partiel\nTravail en journée", None),
        ("Temps plein", None),
        ("0H", None),
        ("81H", None),
        (None, None),
    ],
)
def test_weekly_hours(text, hours):
    assert parse_weekly_hours(text) == (pytest.approx(hours) if hours is not None else None)


def test_every_sample_hours_libelle_starting_with_digits_parses(offers):
    libelles = {t for t in distinct(offers, "dureeTravailLibelle") if re.match(r"\d", t)}
    assert libelles
    for libelle in libelles:
        assert parse_weekly_hours(libelle) is not None, libelle


@pytest.mark.parametrize(
    ("converti", "libelle", "expected"),
    [
        ("Temps plein", "temps partiel\nTravail en journée", "full"),
        ("Temps partiel", "35H\nTravail en journée", "part"),
        (None, "temps partiel\nTravail le samedi", "part"),
        (None, "Temps plein", "full"),
        (None, "35H\nTravail en journée", "full"),
        (None, "39H", "full"),
        (None, "28 H  Travail en journée", "part"),
        ("Autre", "15 H", "part"),
        (None, "Travail en journée", None),
        (None, None, None),
    ],
)
def test_working_time(converti, libelle, expected):
    assert parse_working_time(converti, libelle) == expected


def test_every_sample_offer_with_hours_has_a_working_time(offers):
    for offer in offers:
        converti, libelle = (
            offer.get("dureeTravailLibelleConverti"),
            offer.get("dureeTravailLibelle"),
        )
        if converti or libelle:
            assert parse_working_time(converti, libelle) in {"full", "part"}, (converti, libelle)


@pytest.mark.parametrize(
    ("libelle", "months"),
    [
        ("Débutant accepté", 0.0),
        ("Débutant accepté - commercial/qualité ou agro aliment", 0.0),
        ("Débutant accepté (Débutant)", 0.0),
        ("Expérience exigée de 2 An(s)", 24.0),
        ("Expérience souhaitée de 6 Mois", 6.0),
        ("1 An(s)", 12.0),
        ("12 Mois", 12.0),
        ("2 An(s) - ou débutant motivé", 24.0),
        ("6 Mois - En collecte de déchets/Nettoyage", 6.0),
        ("15 Jour(s)", 0.5),
        ("Expérience exigée", None),
        (None, None),
    ],
)
def test_experience_months(libelle, months):
    assert parse_experience_months(libelle) == months


def test_every_sample_experience_parses(offers):
    libelles = distinct(offers, "experienceLibelle") - {"Expérience exigée"}
    assert libelles
    for libelle in libelles:
        assert parse_experience_months(libelle) is not None, libelle


@pytest.mark.parametrize(
    ("libelle", "months"),
    [
        ("CDD - 6 Mois", 6.0),
        ("Mission intérimaire - 15 Jour(s)", 0.5),
        ("Intérim - 18 Mois", 18.0),
        ("Contrat à durée déterminée - 12 Mois", 12.0),
        ("CDD - 2 An(s)", 24.0),
        ("CDI", None),
        ("Contrat à durée indéterminée", None),
        ("Profession libérale", None),
        ("Mission intérimaire - 0 Mois", None),
        (None, None),
    ],
)
def test_contract_months(libelle, months):
    expected = None if months is None else pytest.approx(months)
    assert parse_contract_months(libelle) == expected


def test_every_sample_fixed_term_contract_has_a_length(offers):
    for libelle in distinct(offers, "typeContratLibelle"):
        if re.search(r"- [1-9]\d* (Mois|Jour|An)", libelle):
            assert parse_contract_months(libelle) > 0, libelle


# --- location -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lieu", "department", "region"),
    [
        ({"libelle": "30 - NIMES"}, "30", "Occitanie"),
        ({"libelle": "974 - ST PAUL"}, "974", "La Réunion"),
        ({"libelle": "2A - AJACCIO"}, "2A", "Corse"),
        ({"libelle": "2B - BASTIA"}, "2B", "Corse"),
        ({"libelle": "75 - Paris 15e Arrondissement"}, "75", "Île-de-France"),
        ({"libelle": "69", "commune": "69123"}, "69", "Auvergne-Rhône-Alpes"),
        ({"libelle": "Hauts-de-France"}, None, "Hauts-de-France"),
        ({"libelle": "Ile-de-France"}, None, "Île-de-France"),
        ({"libelle": "France"}, None, None),
        ({"libelle": "977 - Saint Barthélémy"}, None, None),
        ({"libelle": "Luxembourg (Frontalier)"}, None, None),
        ({}, None, None),
        ({"libelle": "France", "commune": "97113"}, "971", "Guadeloupe"),
        ({"libelle": "France", "commune": "2A004"}, "2A", "Corse"),
        ({"libelle": "France", "commune": "30189"}, "30", "Occitanie"),
        ({"libelle": "France", "codePostal": "97190"}, "971", "Guadeloupe"),
        ({"codePostal": "20000"}, "2A", "Corse"),
        ({"codePostal": "20167"}, "2A", "Corse"),
        ({"codePostal": "20200"}, "2B", "Corse"),
        ({"codePostal": "20600"}, "2B", "Corse"),
        ({"codePostal": "30000"}, "30", "Occitanie"),
        ({"codePostal": "97500"}, None, None),
        ({"libelle": "20 - AJACCIO", "codePostal": "20090"}, "2A", "Corse"),
        ({"libelle": None, "commune": 30189, "codePostal": ["30000"]}, None, None),
    ],
)
def test_location(lieu, department, region):
    assert parse_location(lieu) == Location(department, region)


@pytest.mark.parametrize("lieu", [None, "30 - NIMES", ["30 - NIMES"], 30])
def test_location_needs_a_mapping(lieu):
    assert parse_location(lieu) is None


def test_every_sample_location(offers):
    for offer in offers:
        lieu = offer["lieuTravail"]
        location = parse_location(lieu)
        assert isinstance(location, Location), lieu
        libelle = lieu.get("libelle", "")
        prefix = re.match(r"(97[1-6]|2[AB]|\d\d)( - |$)", libelle)
        if prefix:
            assert location.department == prefix[1], lieu
        elif libelle == "France" and not (lieu.get("commune") or lieu.get("codePostal")):
            assert location == Location(None, None)
        elif region_from_name(libelle):
            assert location.region == region_from_name(libelle), lieu
        if location.department is not None:
            assert location.region == DEPARTMENT_REGION[location.department]


@given(st.sampled_from(sorted(DEPARTMENT_REGION)), st.text(max_size=30))
def test_department_libelles_round_trip(department, city):
    location = parse_location({"libelle": f"{department} - {city}"})
    assert location == Location(department, DEPARTMENT_REGION[department])


# --- ROME, employer size, diploma -----------------------------------------------------------


def test_every_sample_rome_code_parses(offers):
    for code in distinct(offers, "romeCode"):
        assert parse_rome(code) == RomeCode(code[0], code[:3])


@given(st.from_regex(r"[A-N][0-9]{4}", fullmatch=True))
def test_rome_codes_round_trip(code):
    assert parse_rome(code) == RomeCode(code[0], code[:3])


@pytest.mark.parametrize("code", [None, "", "O1234", "k2305", "K230", "K23055", "KK305", "K2305x"])
def test_rome_not_understood(code):
    assert parse_rome(code) is None


@pytest.mark.parametrize(
    ("tranche", "band"),
    [
        ("0 salarié", "0-9"),
        ("1 ou 2 salariés", "0-9"),
        ("3 à 5 salariés", "0-9"),
        ("6 à 9 salariés", "0-9"),
        ("10 à 19 salariés", "10-49"),
        ("20 à 49 salariés", "10-49"),
        ("50 à 99 salariés", "50-99"),
        ("100 à 199 salariés", "100-249"),
        ("200 à 249 salariés", "100-249"),
        ("250 à 499 salariés", "250+"),
        ("500 à 999 salariés", "250+"),
        ("1 000 à 1 999 salariés", "250+"),
        ("2 000 à 4 999 salariés", "250+"),
        ("5 000 à 9 999 salariés", "250+"),
        ("10 000 salariés et plus", "250+"),
        ("Non renseigné", None),
        ("12 à 15 pommes", None),
        (None, None),
    ],
)
def test_employer_size(tranche, band):
    assert parse_employer_size(tranche) == band


def test_employer_size_bands_are_ordered():
    assert EMPLOYER_SIZE_BANDS == ("0-9", "10-49", "50-99", "100-249", "250+")


@pytest.mark.parametrize(
    ("levels", "expected"),
    [
        (["Aucune formation scolaire"], 0),
        (["Primaire à 4ème"], 1),
        (["4ème achevée"], 1),
        (["3ème achevée ou Brevet"], 2),
        (["CAP, BEP et équivalents"], 3),
        (["Bac ou équivalent"], 4),
        (["Bac+2 ou équivalents"], 5),
        (["Bac+3, Bac+4 ou équivalents"], 6),
        (["Bac+5 et plus ou équivalents"], 7),
        (["Bac+2 ou équivalents", "CAP, BEP et équivalents"], 5),
        (["CAP, BEP et équivalents", "Permis B"], 3),
        (["Permis B"], None),
        ([], None),
    ],
)
def test_diploma_level(levels, expected):
    assert parse_diploma_level([{"niveauLibelle": level} for level in levels]) == expected


@pytest.mark.parametrize("formations", [None, "Bac", [None, "Bac", 3, {"exigence": "E"}]])
def test_diploma_level_of_malformed_formations(formations):
    assert parse_diploma_level(formations) is None


def test_every_sample_diploma_parses(offers):
    for offer in offers:
        if offer.get("formations"):
            assert parse_diploma_level(offer["formations"]) is not None, offer["formations"]


# --- robustness -----------------------------------------------------------------------------

TEXT_PARSERS = {
    parse_salary: SalaryRange,
    parse_weekly_hours: float,
    parse_experience_months: float,
    parse_contract_months: float,
    parse_rome: RomeCode,
    parse_employer_size: str,
}


@given(st.text())
def test_no_text_parser_raises(text):
    for parser, kind in TEXT_PARSERS.items():
        result = parser(text)
        assert result is None or isinstance(result, kind), (parser.__name__, text, result)
        if isinstance(result, float):
            assert math.isfinite(result)
    salary = parse_salary(text)
    if salary is not None:
        assert salary.period in {"monthly", "yearly", "hourly"}
        assert 0 < salary.yearly_low <= salary.yearly_high < math.inf
    assert parse_employer_size(text) in {None, *EMPLOYER_SIZE_BANDS}
    assert parse_working_time(text, text) in {None, "full", "part"}
    assert parse_working_time(None, text) in {None, "full", "part"}


OPTIONAL_TEXT = st.none() | st.text()


@given(
    st.fixed_dictionaries(
        {}, optional={key: OPTIONAL_TEXT for key in ("libelle", "codePostal", "commune")}
    )
)
def test_location_never_raises(lieu):
    location = parse_location(lieu)
    assert isinstance(location, Location)
    if location.department is not None:
        assert location.region == DEPARTMENT_REGION[location.department]


@given(st.lists(st.fixed_dictionaries({}, optional={"niveauLibelle": OPTIONAL_TEXT})))
def test_diploma_level_never_raises(formations):
    assert parse_diploma_level(formations) in {None, *range(8)}


@pytest.mark.parametrize("value", [float("nan"), 12, 3.5, b"35H", ["35H"], {"a": 1}])
def test_non_string_values_give_none(value):
    for parser in TEXT_PARSERS:
        assert parser(value) is None
    assert parse_working_time(value, value) is None
    assert parse_location({"libelle": value, "commune": value, "codePostal": value}) == Location(
        None, None
    )


# --- parse_series ---------------------------------------------------------------------------


def test_parse_series_counts_unparsed():
    values = pd.Series(
        ["CDD - 6 Mois", "CDI", None, "CDD - 6 Mois", float("nan"), "Intérim - 15 Jour(s)", "CDI"],
        index=[10, 11, 12, 13, 14, 15, 16],
        name="typeContratLibelle",
    )
    parsed, unparsed = parse_series(values, parse_contract_months)
    assert unparsed == 2  # the two "CDI"; missing inputs are not counted
    assert parsed.index.equals(values.index)
    assert parsed.name == "typeContratLibelle"
    assert parsed.tolist() == [6.0, None, None, 6.0, None, 0.5, None]


def test_parse_series_keeps_structured_results_and_handles_unhashable_values():
    salaries, unparsed = parse_series(
        pd.Series(["Horaire de 11.88 Euros", "Cachet de 150 Euros"]), parse_salary
    )
    assert isinstance(salaries[0], SalaryRange) and salaries[1] is None and unparsed == 1
    lieux = pd.Series([{"libelle": "30 - NIMES"}, None, "not a mapping"])
    locations, unparsed = parse_series(lieux, parse_location)
    assert locations.tolist() == [Location("30", "Occitanie"), None, None]
    assert unparsed == 1


def test_parse_series_of_nothing():
    parsed, unparsed = parse_series(pd.Series([], dtype=object), parse_salary)
    assert parsed.empty and unparsed == 0
    parsed, unparsed = parse_series(pd.Series([None, None]), parse_salary)
    assert parsed.tolist() == [None, None] and unparsed == 0


def test_parse_series_on_sample_salaries(offers):
    values = pd.Series([(o.get("salaire") or {}).get("libelle") for o in offers])
    parsed, unparsed = parse_series(values, parse_salary)
    assert unparsed == 0
    assert parsed.notna().sum() == values.notna().sum()


def test_parse_series_parses_each_distinct_value_once_on_a_million_rows():
    # What keeps a national history cheap is that a million offers carry a few thousand distinct
    # salary texts: the parser must run once per distinct text, not once per offer (the speed
    # itself is measured by `make bench`, not asserted here).
    rng = random.Random(0)
    distinct_libelles = [
        f"Mensuel de {rng.uniform(1500, 4000):.2f} Euros à {rng.uniform(4000, 6000):.2f} Euros"
        f" sur {rng.choice(['12.0', '13', '0.0'])} mois"
        for _ in range(10_000)
    ] + [f"Horaire de {rng.uniform(11, 30):.2f} Euros" for _ in range(10_000)]
    values = pd.Series(rng.choices([*distinct_libelles, None, "Cachet de 150 Euros"], k=1_000_000))
    calls = []

    def counting_parser(value):
        calls.append(value)
        return parse_salary(value)

    parsed, unparsed = parse_series(values, counting_parser)
    assert len(calls) == values.nunique() and len(set(calls)) == len(calls)
    assert unparsed == (values == "Cachet de 150 Euros").sum()
    assert parsed.notna().sum() == values.notna().sum() - unparsed
