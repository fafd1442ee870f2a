"""Draw offers month by month, with their lifecycle and their true probability (the oracle).

Places and occupations come from the BMO survey's hiring projects per occupation x bassin
d'emploi (every ROME code of metiers_tension.csv, reference.py); each offer has a difficulty (its
fill hazard, lower when the difficulty is higher) made of what it shows when it is published
(occupation in its bassin, contract, requirements, qualification, employer size, salary against
the local market, season), of documented interactions (figures.yaml) and of its employer's own
tendency. Durations follow: a falling fill hazard, abandonment from day 30 with a rising hazard,
cancellation, so that "not filled within 30 days" follows from the durations. The oracle is
P(not filled within 30 days | the offer as published), exact: fields an offer does not show have
no effect of their own beyond "not shown", and the employer is shown (its name).
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zlib import crc32

import numpy as np
from scipy.special import ndtri

from features.generator.figures import Figures, load_figures
from features.generator.reference import ReferenceParams, default_reference_dir, occupation_cells

DRIFT_SCENARIOS = ("tension_shock", "salary_shift", "new_occupations", "rome4")
SHOCKED_DOMAIN = "F"  # construction: 50 to 72 days to fill between 2016 and 2018 (FIGURES §1)
TENSION_SHOCK_LOGIT = 1.5
TENSION_SHOCK_FLOW = 0.5  # a tighter market also brings half as many new applicants
TENSION_SHOCK_VOLUME = 1.6
SALARY_SHIFT = 1.12
LANGUAGES_SHARE = 0.035  # langues on 18 of the 519 real offers
NEW_OCCUPATION_SHARE = 0.15
# Communes: each bassin d'emploi of a department owns a block of this many synthetic INSEE codes
# (fewer when its department has many bassins), its offers concentrated on the first ones, its
# towns, with Zipf weights 1/rank^COMMUNE_ZIPF (real offers concentrate in towns).
COMMUNES_PER_BASSIN = 40
COMMUNE_ZIPF = 1.1
COMMUNES_PER_POSTCODE = 5  # neighbouring small communes share a postcode, as they share a post office

SMIC_YEARLY = 21_203.0  # gross minimum wage 2024, 11.65 €/h × 1820 h
MONTH_VOLUME = (0.95, 0.95, 1.05, 1.08, 1.05, 1.10, 1.00, 0.80, 1.10, 1.05, 0.95, 0.82)

EMPLOYER_SIZES = {  # band: (share, trancheEffectifEtab forms as the API spells them)
    "0-9": (0.35, ("0 salarié", "1 ou 2 salariés", "3 à 5 salariés", "6 à 9 salariés")),
    "10-49": (0.30, ("10 à 19 salariés", "20 à 49 salariés")),
    "50-99": (0.10, ("50 à 99 salariés",)),
    "100-249": (0.10, ("100 à 199 salariés", "200 à 249 salariés")),
    "250+": (0.15, ("250 à 499 salariés", "500 à 999 salariés", "1 000 à 1 999 salariés",
                    "2 000 à 4 999 salariés", "10 000 salariés et plus")),
}
LARGE_SIZES = ("100-249", "250+")
QUALIFICATIONS = {  # code: (share, qualificationLibelle, salary factor, skill group)
    "1": (0.05, "Manoeuvre", 0.95, "low"), "2": (0.05, "Ouvrier spécialisé", 0.97, "low"),
    "3": (0.10, "Ouvrier qualifié (P1,P2)", 1.02, "skilled"),
    "4": (0.07, "Ouvrier qualifié (P3,P4,OHQ)", 1.08, "skilled"),
    "5": (0.12, "Employé non qualifié", 0.96, "low"), "6": (0.31, "Employé qualifié", 1.03, "skilled"),
    "7": (0.15, "Technicien", 1.25, "technician"), "8": (0.05, "Agent de maîtrise", 1.35, "technician"),
    "9": (0.10, "Cadre", 1.80, "manager"),
}
DIPLOMAS = ("CAP, BEP et équivalents", "Bac ou équivalent", "Bac+2 ou équivalents",
            "Bac+3, Bac+4 ou équivalents", "Bac+5 et plus ou équivalents")
NAF_BY_DOMAIN = {"A": "01", "B": "32", "C": "64", "D": "47", "E": "73", "F": "43", "G": "56",
                 "H": "25", "I": "33", "J": "86", "K": "81", "L": "90", "M": "70", "N": "49"}
SURNAMES = ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand")


@dataclass(frozen=True)
class GeneratorConfig:
    offers: int
    months: int
    seed: int
    start: date = date(2023, 1, 1)
    drift: str | None = None
    drift_from: int | None = None  # month index (0-based) from which the drift applies
    reference_dir: Path | None = None  # default: HARDTOFILL_REFERENCE_DIR

    def __post_init__(self) -> None:
        if self.offers < 1:
            raise ValueError("--offers must be at least 1")
        if not 1 <= self.months <= 240:
            raise ValueError("--months must be between 1 and 240")
        if self.drift is not None and self.drift not in DRIFT_SCENARIOS:
            raise ValueError(f"--drift must be one of {', '.join(DRIFT_SCENARIOS)}, not {self.drift!r}")
        if self.drift is not None and not (self.drift_from is not None and 0 <= self.drift_from < self.months):
            raise ValueError(f"--drift-from must be a month index between 0 and {self.months - 1}")

    def month_start(self, index: int) -> datetime:
        year, month = divmod(self.start.month - 1 + index, 12)
        return datetime(self.start.year + year, month + 1, 1, tzinfo=UTC)

    @property
    def extracted_at(self) -> datetime:
        return self.month_start(self.months)

    def drifting(self, scenario: str, month_index: int) -> bool:
        return self.drift == scenario and month_index >= (self.drift_from or 0)


def _logit(pct: np.ndarray | float) -> np.ndarray | float:
    share = np.asarray(pct) / 100.0
    return np.log(share / (1 - share))


def month_volumes(config: GeneratorConfig) -> list[int]:
    """Offers per month: seasonal weights, rounded so that they add up to exactly N."""
    weights = np.array([MONTH_VOLUME[config.month_start(i).month - 1] for i in range(config.months)])
    exact = config.offers * weights / weights.sum()
    counts = np.floor(exact).astype(int)
    remainder = config.offers - counts.sum()
    counts[np.argsort(-(exact - counts), kind="stable")[:remainder]] += 1
    return counts.tolist()


def _hash_uniform(keys: np.ndarray, salt: int) -> np.ndarray:
    """A uniform number in [0, 1) per integer key (splitmix64): an employer's traits are the same
    in every month without keeping a table of employers."""
    with np.errstate(over="ignore"):
        z = keys.astype(np.uint64) + np.uint64((salt * 0x9E3779B97F4A7C15) % 2**64)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / float(2**53)


def rome4_code(code: str, taken: set[str]) -> str:
    """A ROME 4.0-style code for a v3 code: same letter and sub-domain, a free number from 30 up."""
    number = 30 + crc32(code.encode()) % 40
    while f"{code[:3]}{number:02d}" in taken:
        number = 30 + (number - 29) % 70
    return f"{code[:3]}{number:02d}"


class _Tables:
    """Lookup arrays derived once from the figures and the reference tables."""

    def __init__(self, figures: Figures, config: GeneratorConfig):
        from hardtofill.settings import get_settings

        self.figures = figures
        reference = ReferenceParams(**figures.reference.model_dump())
        cells = occupation_cells(Path(config.reference_dir or default_reference_dir()), reference,
                                 get_settings().data_dir / "reference_cache")
        self.codes = sorted(cells["rome_code"].unique())
        code_index = {c: i for i, c in enumerate(self.codes)}
        labels = cells.drop_duplicates("rome_code").set_index("rome_code")["rome_label"]
        self.new_codes = list(figures.new_occupations)
        self.all_codes = self.codes + self.new_codes
        self.code_label = [labels[c] for c in self.codes] + [figures.new_occupations[c][1] for c in self.new_codes]
        self.code_domain = np.array([c[0] for c in self.all_codes])
        self.code_salary = np.array([
            figures.domains[c[0]].salary_factor * (0.95 + 0.35 * (crc32(c.encode()) % 1000) / 1000)
            for c in self.all_codes
        ])
        self.new_code_logit = _logit(np.array([figures.new_occupations[c][0] for c in self.new_codes]))

        # Cells: ROME code x bassin, with its department, region, expected share of offers,
        # occupation-in-area difficulty (logit) and seasonal share of projects.
        self.cell_code = cells["rome_code"].map(code_index).to_numpy()
        self.cell_department = cells["department"].to_numpy()
        self.cell_region = cells["region"].to_numpy()
        self.cell_offers = cells["offers"].to_numpy()
        self.cell_logit = cells["difficult_logit"].to_numpy()
        self.cell_seasonal = cells["seasonal_share"].to_numpy()
        self.mean_cell_logit = float(self.cell_offers @ self.cell_logit)
        self.mean_seasonal = float(self.cell_offers @ self.cell_seasonal)
        self.cell_domain = self.code_domain[self.cell_code]
        self._place_communes(cells["bassin"].astype(str).to_numpy())
        # National logit of each code (offer-weighted over its bassins): the new codes of the
        # `new_occupations` scenario keep the bassin's deviation from it.
        weight_by_code = np.bincount(self.cell_code, self.cell_offers, len(self.codes))
        self.code_logit = np.bincount(self.cell_code, self.cell_offers * self.cell_logit, len(self.codes)) / \
            np.maximum(weight_by_code, 1e-12)

        # Employers: a pool per department x domain sized for about `offers_per_employer` offers
        # each over the history.
        self.departments = sorted(set(self.cell_department))
        department_index = {d: i for i, d in enumerate(self.departments)}
        self.domains = list(figures.domains)
        domain_index = {d: i for i, d in enumerate(self.domains)}
        self.cell_group = (np.array([department_index[d] for d in self.cell_department]) * len(self.domains)
                           + np.array([domain_index[d] for d in self.cell_domain]))
        group_share = np.bincount(self.cell_group, self.cell_offers, len(self.departments) * len(self.domains))
        self.group_pool = np.maximum(1, np.ceil(config.offers * group_share
                                                / figures.effects.offers_per_employer)).astype(np.int64)

        self.regions = list(figures.regions)
        self.region_salary = {r: 1.12 if r == "Île-de-France" else 0.95 if r in ("Mayotte", "Guyane") else 1.0
                              for r in self.regions}
        self.cell_region_salary = np.array([self.region_salary.get(r, 1.0) for r in self.cell_region])
        self.contracts = list(figures.contracts)
        shares = np.array(list(figures.contracts.values()))
        self.contract_p = shares / shares.sum()
        self.sizes = list(EMPLOYER_SIZES)
        self.size_cumulative = np.cumsum([EMPLOYER_SIZES[s][0] for s in self.sizes])
        self.quals = list(QUALIFICATIONS)
        self.qual_p = np.array([QUALIFICATIONS[q][0] for q in self.quals])
        self.qual_salary = np.array([QUALIFICATIONS[q][2] for q in self.quals])
        elasticity = figures.effects.salary_elasticity
        self.qual_elasticity = np.array([getattr(elasticity, QUALIFICATIONS[q][3]) for q in self.quals])
        self.profiles = {d: np.asarray(p) / np.mean(p) for d, p in figures.seasonality.profiles.items()}

        # ROME 4.0: which v3 codes migrate, and to which new code.
        rome4 = figures.rome4
        taken = set(self.all_codes)
        self.rome4_codes: dict[int, str] = {}
        for i, code in enumerate(self.codes):
            if crc32(b"rome4" + code.encode()) % 1000 < rome4.migrating_share * 1000:
                self.rome4_codes[i] = rome4_code(code, taken)
                taken.add(self.rome4_codes[i])

    def _place_communes(self, cell_bassin: np.ndarray) -> None:
        """Each bassin of a department gets its own block of INSEE commune numbers (bassins in
        code order), so that an offer's commune tells its bassin as a real one does."""
        self.cell_commune_first = np.zeros(len(cell_bassin), dtype=np.int64)
        self.cell_communes = np.zeros(len(cell_bassin), dtype=np.int64)
        for department in sorted(set(self.cell_department)):
            members = np.flatnonzero(self.cell_department == department)
            bassins, order = np.unique(cell_bassin[members], return_inverse=True)
            numbers = 999 if len(department) == 2 else 99  # 3 digits after 2 characters, 2 after 3
            block = max(1, min(COMMUNES_PER_BASSIN, numbers // len(bassins)))
            self.cell_commune_first[members] = 1 + order * block
            self.cell_communes[members] = block
        ranks = np.arange(1, COMMUNES_PER_BASSIN + 1)
        self.zipf_cumulative = {size: np.cumsum(ranks[:size] ** -COMMUNE_ZIPF) / np.sum(ranks[:size] ** -COMMUNE_ZIPF)
                                for size in set(self.cell_communes.tolist())}

    def communes(self, cell: np.ndarray, uniform: np.ndarray) -> np.ndarray:
        """The commune number (1-999) of offers in these cells: a town of their bassin, the main
        ones more often."""
        sizes = self.cell_communes[cell]
        rank = np.zeros(len(cell), dtype=np.int64)
        for size, cumulative in self.zipf_cumulative.items():
            chosen = sizes == size
            rank[chosen] = np.searchsorted(cumulative, uniform[chosen], side="right").clip(0, size - 1)
        return self.cell_commune_first[cell] + rank

    def cell_weights(self, calendar_month: int, shock_domain: str | None) -> np.ndarray:
        """Expected offers per cell this calendar month: seasonal projects follow their sector's
        profile, the others are spread evenly."""
        weights = self.cell_offers.copy()
        for domain, profile in self.profiles.items():
            members = self.cell_domain == domain
            seasonal = self.cell_seasonal[members]
            weights[members] *= 1 - seasonal + seasonal * profile[calendar_month - 1]
        if shock_domain is not None:
            weights[self.cell_domain == shock_domain] *= TENSION_SHOCK_VOLUME
        return weights / weights.sum()

    def year_effect(self, year: int) -> float:
        by_year = self.figures.national_difficult_pct_by_year
        known = sorted(by_year)
        nearest = min(known, key=lambda y: (abs(y - year), y))
        return float(_logit(by_year[nearest]) - _logit(by_year[2024]))


def _pick(rng: np.random.Generator, options: list | tuple, size: int, p=None) -> np.ndarray:
    return rng.choice(len(options), size=size, p=p)


def _contract_fields(kind: str, months: float, variant: int) -> tuple[str, str]:
    """(typeContratLibelle, natureContrat) as the API words them."""
    duration = f"{int(months * 30)} Jour(s)" if months < 1 else f"{int(months)} Mois"
    if kind == "CDI":
        return ("Contrat à durée indéterminée" if variant else "CDI"), "Contrat travail"
    if kind == "CDD":
        return (f"CDD - {duration}" if variant else f"Contrat à durée déterminée - {duration}"), "Contrat travail"
    if kind == "MIS":
        return (f"Mission intérimaire - {duration}" if variant else f"Intérim - {duration}"), "Contrat travail"
    if kind == "LIB":
        return "Profession libérale", "Emploi non salarié"
    if kind == "SAI":
        return f"Saisonnier - {duration}", "Contrat travail"
    if kind == "DDI":
        return f"CDD Insertion - {duration}", "Insertion par l'activ.éco."
    if kind == "DIN":
        return "CDI Intérimaire", "Contrat travail"
    return f"Travail temporaire insertion - {duration}", "Insertion par l'activ.éco."


def _salary_libelle(yearly: float, high_ratio: float, period: int, months_form: int, comma: bool) -> str:
    """Salary text in the API's words: Mensuel / Annuel / Horaire, ranges, 'sur N mois'."""
    def amount(value: float, decimals: int) -> str:
        text = f"{value:.{decimals}f}"
        return text.replace(".", ",") if comma else text

    if period == 0:  # monthly over 12 (or 13) months
        months = 13 if months_form == 2 else 12
        low, decimals, unit, suffix = yearly / months, 2 if comma else 1, "Mensuel", months
    elif period == 1:
        low, decimals, unit, suffix = yearly / 1820, 2, "Horaire", 12
    else:
        low, decimals, unit, suffix = round(yearly, -2), 2 if comma else 1, "Annuel", 12
    text = f"{unit} de {amount(low, decimals)} Euros"
    if high_ratio > 1.0:
        text += f" à {amount(low * high_ratio, decimals)} Euros"
    if months_form == 1 or (months_form == 2 and period == 0):
        text += f" sur {float(suffix):.1f} mois"
    return text


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def generate_month(config: GeneratorConfig, tables: _Tables, index: int, n: int, first_id: int) -> list[dict]:
    """The n offers created in month `index`, each with its lifecycle and oracle."""
    figures, effects = tables.figures, tables.figures.effects
    rng = np.random.default_rng([config.seed, index])
    month_start = config.month_start(index)
    seconds_in_month = (config.month_start(index + 1) - month_start).total_seconds()
    calendar_month = month_start.month

    # Place and occupation together, as the BMO hiring projects of the month's season spread them.
    shock = SHOCKED_DOMAIN if config.drifting("tension_shock", index) else None
    cell = rng.choice(len(tables.cell_offers), size=n, p=tables.cell_weights(calendar_month, shock))
    code_idx = tables.cell_code[cell]
    domain = tables.cell_domain[cell]
    area_logit = tables.cell_logit[cell]
    if config.drifting("new_occupations", index):
        new = rng.random(n) < NEW_OCCUPATION_SHARE
        new_idx = rng.integers(0, len(tables.new_codes), n)
        area_logit = np.where(new, tables.new_code_logit[new_idx] + area_logit - tables.code_logit[code_idx],
                              area_logit)
        code_idx = np.where(new, len(tables.codes) + new_idx, code_idx)
        domain = tables.code_domain[code_idx]
    published_code = [tables.all_codes[c] for c in code_idx]
    if config.drifting("rome4", index):
        # Same occupation, same tension, a code the model has never seen.
        renamed = np.random.default_rng([config.seed, index, 2]).random(n) < figures.rome4.new_code_share
        published_code = [tables.rome4_codes.get(c, code) if renamed[i] else code
                          for i, (c, code) in enumerate(zip(code_idx, published_code, strict=True))]

    created = [month_start + timedelta(seconds=float(s)) for s in rng.uniform(0, seconds_in_month, n)]
    contract_idx = _pick(rng, tables.contracts, n, tables.contract_p)
    contract_months = rng.choice([0.5, 1, 2, 3, 4, 6, 12, 18], size=n,
                                 p=[0.08, 0.22, 0.10, 0.18, 0.07, 0.20, 0.12, 0.03])
    experience = rng.choice(list(figures.experience), size=n, p=list(figures.experience.values()))
    experience_years = rng.choice([0.5, 1, 2, 3, 5], size=n, p=[0.15, 0.35, 0.30, 0.12, 0.08])
    presence = {field: rng.random(n) < share for field, share in figures.presence.items()}
    # Languages (18 of the 519 real offers) come from their own stream, added later: drawing them
    # from `rng` would have changed every offer generated after them for the same seed.
    languages = np.random.default_rng([config.seed, index, 1]).random(n) < LANGUAGES_SHARE
    qual_idx = _pick(rng, tables.quals, n, tables.qual_p)
    part_time = rng.random(n) < 0.15
    licence_kind = rng.choice(3, size=n, p=[0.70, 0.20, 0.10])  # B required, B desired, C required
    positions = rng.choice([1, 2, 3, 5, 10], size=n, p=[0.93, 0.04, 0.015, 0.01, 0.005])
    accessible = rng.random(n) < figures.accessible_th_share
    partner = rng.random(n) < figures.origin_partner_share
    adapted = rng.random(n) < 0.01
    alternance = rng.random(n) < 0.05

    # Seasonal projects: a non-CDI offer of a seasonal sector in its season is a seasonal contract.
    contract_names = np.array(tables.contracts)[contract_idx]
    profile = np.ones(n)
    for sector, months in tables.profiles.items():
        profile[domain == sector] = months[calendar_month - 1]
    seasonal = ((contract_names != "CDI") & (rng.random(n) < tables.cell_seasonal[cell] * profile
                                              * figures.seasonality.sai_publication))
    contract_names = np.where(seasonal, "SAI", contract_names)
    contract_months = np.where(seasonal, np.minimum(contract_months, 4), contract_months)

    # Employer: one of its department x domain pool, the first ones posting most; its size and its
    # own tendency are traits of the employer (hashed from its key), the same in every month.
    group = tables.cell_group[cell]
    employer_rank = np.floor(tables.group_pool[group] * rng.random(n) ** 2).astype(np.int64)
    employer_key = group.astype(np.int64) * (1 << 24) + employer_rank
    size_idx = np.searchsorted(tables.size_cumulative, _hash_uniform(employer_key, config.seed * 3 + 1)
                               * tables.size_cumulative[-1], side="right").clip(0, len(tables.sizes) - 1)
    employer_effect = effects.employer_sd * ndtri(
        np.clip(_hash_uniform(employer_key, config.seed * 3 + 2), 1e-9, 1 - 1e-9))
    employer_tag = _hash_uniform(employer_key, config.seed * 3 + 3)

    # Salary: the market for the occupation, region and qualification, and what this offer pays.
    qual_factor = np.where(presence["qualification"], tables.qual_salary[qual_idx], 1.0)
    market = SMIC_YEARLY * tables.code_salary[code_idx] * tables.cell_region_salary[cell] * qual_factor
    offered = market * np.exp(rng.normal(0.0, 0.12, n))
    if config.drifting("salary_shift", index):
        offered = offered * SALARY_SHIFT
    offered = np.maximum(offered, SMIC_YEARLY)
    salary_ratio = offered / market
    diploma_required = presence["formations"] & (np.arange(n) % 2 == 0)  # exigence "E" below

    # The difficulty: minus the log hazard ratio of filling, from what the offer shows.
    short = contract_months < 6
    contract_key = np.select(
        [contract_names == "CDI", (contract_names == "CDD") & ~short, contract_names == "CDD",
         contract_names == "MIS", contract_names == "SAI"],
        ["CDI", "CDD_long", "CDD_short", "MIS", "SAI"], "other")
    tension = area_logit - tables.mean_cell_logit
    size_names = np.array(tables.sizes)[size_idx]
    large = np.isin(size_names, LARGE_SIZES) & presence["employer_size"]
    requirements = (np.vectorize(effects.experience.get)(experience)
                    + np.where(experience == "D", 0.0, effects.experience_per_year * experience_years)
                    + effects.diploma_required * diploma_required)
    z = (figures.outcomes.intercept
         + effects.occupation_area_tension * tension
         + effects.year_tension * tables.year_effect(month_start.year)
         + np.vectorize(effects.contract.get)(contract_key)
         + requirements * np.maximum(0.0, 1.0 + effects.requirements_x_tension * tension)
         + effects.positions_log * np.log(positions)
         + effects.accessible_th * accessible + effects.partner_origin * partner
         + employer_effect)
    z += np.where(presence["qualification"],
                  np.array([effects.qualification[q] for q in tables.quals])[qual_idx], 0.0)
    z += np.where(presence["employer_size"],
                  np.array([effects.employer_size[s] for s in tables.sizes])[size_idx], 0.0)
    z += np.where(large & (contract_names == "CDI"), effects.size_contract["CDI"], 0.0)
    z += np.where(large & np.isin(contract_names, ["CDD", "MIS", "SAI"]), effects.size_contract["CDD"], 0.0)
    elasticity = np.where(presence["qualification"], tables.qual_elasticity[qual_idx],
                          effects.salary_elasticity.hidden)
    z += np.where(presence["salary"], elasticity * np.log(salary_ratio), effects.salary_hidden)
    z += np.where(presence["licence"] & (licence_kind != 1),
                  effects.licence_required * np.maximum(0.0, 1.0 + effects.requirements_x_tension * tension), 0.0)
    if calendar_month in (6, 7, 8):
        seasonal_domain = np.isin(domain, effects.summer_seasonal_domains) & ~seasonal
        z += effects.summer + np.where(
            seasonal_domain, effects.summer_seasonal_extra * tables.cell_seasonal[cell] / tables.mean_seasonal, 0.0)
    if calendar_month == 12:
        z += effects.december
    if config.drifting("tension_shock", index):
        z += np.where(domain == SHOCKED_DOMAIN, TENSION_SHOCK_LOGIT, 0.0)
    outcomes = figures.outcomes
    pool_30 = np.exp(-z)  # cumulative hazard of a hire from the initial pool at day 30
    flow_days = np.full(n, outcomes.flow_days)
    if config.drifting("tension_shock", index):
        flow_days = np.where(domain == SHOCKED_DOMAIN, outcomes.flow_days / TENSION_SHOCK_FLOW, flow_days)
    # Clipped so that the 6 decimals written stay strictly between 0 and 1.
    p_hard = np.clip(np.exp(-pool_30 - 30.0 / flow_days), 1e-6, 1 - 1e-6)

    # Lifecycle as competing risks. Cancelled early (need vanished, independent of difficulty, so
    # the oracle is P(hard | labelled)); otherwise the fill time (from the initial pool with a
    # falling hazard, or from the flow of new applicants) races the abandonment time (from day 30,
    # rising hazard, more in small firms and tight markets).
    cancelled = rng.random(n) < outcomes.cancelled_share
    fill_days = np.minimum(30.0 * (rng.exponential(1.0, n) / pool_30) ** (1.0 / outcomes.pool_shape),
                           rng.exponential(flow_days))
    abandon_rate = np.exp(outcomes.abandon_log_rate + outcomes.abandon_tension * tension
                          + np.array([outcomes.abandon_size[s] for s in tables.sizes])[size_idx])
    abandon_days = 30.0 + 90.0 * (rng.exponential(1.0, n) / abandon_rate) ** (1.0 / outcomes.abandon_shape)
    filled = fill_days <= np.minimum(abandon_days, outcomes.max_open_days)
    abandoned = ~filled & (abandon_days <= outcomes.max_open_days)
    days = np.select([cancelled, filled, abandoned],
                     [rng.uniform(0.5, 30.0, n), np.maximum(fill_days, 0.25), abandon_days], np.inf)
    status = np.select([cancelled, filled, abandoned], ["cancelled", "filled", "abandoned"], "open")
    hard = fill_days > 30.0
    lacks = (~partner) & (rng.random(n) < np.where(hard, 0.22, 0.05))  # set after publication
    # The commune, in the offer's bassin, from its own stream.
    commune_number = tables.communes(cell, np.random.default_rng([config.seed, index, 3]).random(n))

    extracted = config.extracted_at
    records = []
    for i in range(n):
        code = published_code[i]
        department = tables.cell_department[cell[i]]
        offer_id = "G" + np.base_repr(first_id + i, 36).rjust(6, "0")
        kind = str(contract_names[i])
        contract_label, nature = _contract_fields(kind, contract_months[i], i % 2)
        if alternance[i] and kind in ("CDD", "CDI"):
            nature = "Contrat apprentissage"
        exp = experience[i]
        years = experience_years[i]
        duration = f"{int(years * 12)} Mois" if years < 1 else f"{int(years)} An(s)"
        experience_label = {"D": "Débutant accepté", "E": f"Expérience exigée de {duration}",
                            "S": f"Expérience souhaitée de {duration}"}[exp]
        if exp != "D" and i % 7 == 0:
            experience_label = duration
        created_at = created[i]
        offer = {
            "id": offer_id,
            "intitule": f"{tables.code_label[code_idx[i]]} (H/F)",
            "description": f"Poste de {tables.code_label[code_idx[i]].lower()} à pourvoir.",
            "dateCreation": _iso(created_at),
            "dateActualisation": _iso(created_at + timedelta(days=float(min(days[i], 40.0)) * 0.5)),
            "lieuTravail": {"libelle": f"{department} - COMMUNE {department}"},
            "romeCode": code,
            "romeLibelle": tables.code_label[code_idx[i]],
            "appellationlibelle": tables.code_label[code_idx[i]],
            # A pseudonymous employer name, the same on every offer of that employer.
            "entreprise": {"nom": f"ENTREPRISE {int(employer_tag[i] * 2**32):08X}",
                           "entrepriseAdaptee": bool(adapted[i])},
            "typeContrat": kind,
            "typeContratLibelle": contract_label,
            "natureContrat": nature,
            "experienceExige": exp,
            "experienceLibelle": experience_label,
            "salaire": {},
            "alternance": bool(alternance[i]),
            "nombrePostes": int(positions[i]),
            "accessibleTH": bool(accessible[i]),
            "origineOffre": {"origine": "2" if partner[i] else "1",
                             "urlOrigine": f"https://candidat.francetravail.fr/offres/recherche/detail/{offer_id}"},
        }
        if presence["commune"][i]:
            # INSEE commune codes: 2-character departments take 3 digits, overseas (3) take 2.
            number = int(commune_number[i])
            digits = 3 if len(department) == 2 else 2
            commune = f"{department}{number:0{digits}d}"
            # The postcode of the commune's group of neighbours (the first commune's number).
            shared = 1 + (number - 1) // COMMUNES_PER_POSTCODE * COMMUNES_PER_POSTCODE
            if department in ("2A", "2B"):  # Corse-du-Sud's postcodes are 200xx-201xx, Haute-Corse's the rest
                shared = shared % 200 if department == "2A" else 200 + shared % 800
            postal = ("20" if department in ("2A", "2B") else department) + f"{shared:0{digits}d}"
            offer["lieuTravail"].update({"codePostal": postal, "commune": commune})
        if presence["salary"][i]:
            offer["salaire"]["libelle"] = _salary_libelle(
                float(offered[i]), float(1.0 if i % 2 else 1.0 + (i % 5) * 0.05),
                int(rng.choice(3, p=[0.6, 0.3, 0.1])), i % 3, bool(i % 4 == 0))
        if presence["working_time_label"][i]:
            hours = ("35H", "39H", "37H30", "36H")[i % 4] if not part_time[i] else ("24H", "20H", "28H")[i % 3]
            offer["dureeTravailLibelle"] = (f"{hours}\nTravail en journée" if i % 3
                                            else ("temps partiel\nTravail en journée" if part_time[i] else hours))
        if presence["working_time_converted"][i]:
            offer["dureeTravailLibelleConverti"] = "Temps partiel" if part_time[i] else "Temps plein"
        if presence["qualification"][i]:
            q = tables.quals[qual_idx[i]]
            offer["qualificationCode"], offer["qualificationLibelle"] = q, QUALIFICATIONS[q][1]
        if presence["employer_size"][i]:
            forms = EMPLOYER_SIZES[tables.sizes[size_idx[i]]][1]
            offer["trancheEffectifEtab"] = forms[i % len(forms)]
        if presence["naf"][i]:
            naf = NAF_BY_DOMAIN[code[0]]
            offer.update({"codeNAF": f"{naf}.{i % 9}{i % 3}Z", "secteurActivite": naf})
        if presence["licence"][i]:
            offer["permis"] = [
                {"libelle": "B - Véhicule léger", "exigence": "E"},
                {"libelle": "B - Véhicule léger", "exigence": "S"},
                {"libelle": "C - Poids lourd", "exigence": "E"},
            ][licence_kind[i]:licence_kind[i] + 1]
        if presence["competences"][i]:
            offer["competences"] = [{"code": f"{100000 + (i * 7 + k) % 30000}", "libelle": "Compétence du métier",
                                     "exigence": "S"} for k in range(1 + i % 4)]
        if presence["formations"][i]:
            offer["formations"] = [{"niveauLibelle": DIPLOMAS[i % len(DIPLOMAS)],
                                    "exigence": "E" if diploma_required[i] else "S"}]
        if languages[i]:
            offer["langues"] = [{"libelle": ("Anglais", "Français", "Espagnol", "Allemand")[i % 4],
                                 "exigence": "ES"[i % 2]}]
        if not partner[i]:
            offer["offresManqueCandidats"] = bool(lacks[i])
            if presence["contact"][i]:
                # Personal data as real payloads carry it, so that tests prove it is dropped.
                name = SURNAMES[i % len(SURNAMES)]
                phone = f"06{(first_id + i) * 7919 % 100_000_000:08d}"
                offer["contact"] = {"nom": f"ENTREPRISE {offer_id[-4:]} - M. X. {name}",
                                    "telephone": phone, "courriel": f"x.{name.lower()}@example.org",
                                    "coordonnees1": f"Tél : {phone}"}
                offer["agence"] = {"courriel": "agence@example.org"}
                offer["description"] += f" Contactez M. {name} au {phone}."

        closed_at = created_at + timedelta(days=float(days[i])) if np.isfinite(days[i]) else None
        if closed_at is None or closed_at > extracted:
            outcome, outcome_date = "open", None
        else:
            outcome, outcome_date = str(status[i]), _iso(closed_at)
        records.append({
            "offer": offer,
            "lifecycle": {"outcome": outcome, "outcome_date": outcome_date, "extracted_at": _iso(extracted)},
            # Kept strictly inside (0, 1) once rounded: a probability of exactly 0 or 1 is not a risk.
            "oracle": {"p_hard_to_fill": round(min(max(float(p_hard[i]), 1e-6), 1 - 1e-6), 6)},
        })
    return records


def generate_history(config: GeneratorConfig, figures: Figures | None = None) -> Iterator[list[dict]]:
    """Yield one month of records at a time: a history of any size streams in bounded memory."""
    tables = _Tables(figures or load_figures(), config)
    first_id = 0
    for index, count in enumerate(month_volumes(config)):
        yield generate_month(config, tables, index, count, first_id)
        first_id += count
