"""Draw offers month by month, with their lifecycle and their true probability (the oracle).

The true probability of "not filled within 30 days" is a logistic function of what the offer
shows when it is published (occupation, place, contract, experience, qualification, employer
size, salary against the market, season) plus the year's national tension. Fields that an
offer does not show have no effect of their own beyond "not shown": the oracle is the best score
possible from the offer as published, so the gap between the model and the oracle is the
model's own.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zlib import crc32

import numpy as np

from features.generator.figures import Figures, load_figures
from features.geography import REGION_DEPARTMENTS

DRIFT_SCENARIOS = ("tension_shock", "salary_shift", "new_occupations")
SHOCKED_DOMAIN = "F"  # construction: 50 to 72 days to fill between 2016 and 2018 (FIGURES §1)
TENSION_SHOCK_LOGIT = 1.2
TENSION_SHOCK_VOLUME = 1.6
SALARY_SHIFT = 1.12
LANGUAGES_SHARE = 0.035  # langues on 18 of the 519 real offers
NEW_OCCUPATION_SHARE = 0.15

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
QUALIFICATIONS = {  # code: (share, qualificationLibelle, salary factor)
    "1": (0.05, "Manoeuvre", 0.95), "2": (0.05, "Ouvrier spécialisé", 0.97),
    "3": (0.10, "Ouvrier qualifié (P1,P2)", 1.02), "4": (0.07, "Ouvrier qualifié (P3,P4,OHQ)", 1.08),
    "5": (0.12, "Employé non qualifié", 0.96), "6": (0.31, "Employé qualifié", 1.03),
    "7": (0.15, "Technicien", 1.25), "8": (0.05, "Agent de maîtrise", 1.35),
    "9": (0.10, "Cadre", 1.80),
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


class _Tables:
    """Lookup arrays derived once from the figures."""

    def __init__(self, figures: Figures):
        self.figures = figures
        self.codes = list(figures.occupations)
        self.new_codes = list(figures.new_occupations)
        all_occupations = {**figures.occupations, **figures.new_occupations}
        self.all_codes = self.codes + self.new_codes
        self.code_pct = np.array([all_occupations[c][0] for c in self.all_codes])
        self.code_label = [all_occupations[c][1] for c in self.all_codes]
        self.code_domain = [c[0] for c in self.all_codes]
        self.code_salary = np.array([
            figures.domains[c[0]].salary_factor * (0.95 + 0.35 * (crc32(c.encode()) % 1000) / 1000)
            for c in self.all_codes
        ])
        self.mean_code_logit = float(np.mean(_logit(self.code_pct[: len(self.codes)])))
        self.domains = list(figures.domains)
        self.regions = list(figures.regions)
        volumes = np.array([figures.regions[r][0] for r in self.regions], dtype=float)
        self.region_weight = volumes / volumes.sum()
        self.region_logit = _logit(np.array([figures.regions[r][1] for r in self.regions]))
        self.mean_region_logit = float(self.region_weight @ self.region_logit)
        self.region_seasonal = np.array([figures.regions[r][2] for r in self.regions]) / 100
        self.mean_seasonal = float(self.region_weight @ self.region_seasonal)
        self.region_salary = np.array([
            1.12 if r == "Île-de-France" else 0.95 if r in ("Mayotte", "Guyane") else 1.0
            for r in self.regions
        ])
        self.contracts = list(figures.contracts)
        shares = np.array(list(figures.contracts.values()))
        self.contract_p = shares / shares.sum()
        self.sizes = list(EMPLOYER_SIZES)
        self.size_p = np.array([EMPLOYER_SIZES[s][0] for s in self.sizes])
        self.quals = list(QUALIFICATIONS)
        self.qual_p = np.array([QUALIFICATIONS[q][0] for q in self.quals])
        self.qual_salary = np.array([QUALIFICATIONS[q][2] for q in self.quals])

    def codes_of_domain(self, domain: str) -> np.ndarray:
        return np.array([i for i, c in enumerate(self.codes) if c[0] == domain])

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

    # Occupation: domain by its weight, then a code of that domain.
    domain_weight = np.array([figures.domains[d].weight for d in tables.domains])
    if config.drifting("tension_shock", index):
        domain_weight[tables.domains.index(SHOCKED_DOMAIN)] *= TENSION_SHOCK_VOLUME
    domain_idx = _pick(rng, tables.domains, n, domain_weight / domain_weight.sum())
    code_idx = np.empty(n, dtype=int)
    for d, domain in enumerate(tables.domains):
        members = np.flatnonzero(domain_idx == d)
        code_idx[members] = rng.choice(tables.codes_of_domain(domain), size=members.size)
    if config.drifting("new_occupations", index):
        new = rng.random(n) < NEW_OCCUPATION_SHARE
        code_idx[new] = len(tables.codes) + rng.integers(0, len(tables.new_codes), new.sum())

    region_idx = _pick(rng, tables.regions, n, tables.region_weight)
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
    size_idx = _pick(rng, tables.sizes, n, tables.size_p)
    part_time = rng.random(n) < 0.15
    licence_kind = rng.choice(3, size=n, p=[0.70, 0.20, 0.10])  # B required, B desired, C required
    positions = rng.choice([1, 2, 3, 5, 10], size=n, p=[0.93, 0.04, 0.015, 0.01, 0.005])
    accessible = rng.random(n) < figures.accessible_th_share
    partner = rng.random(n) < figures.origin_partner_share
    adapted = rng.random(n) < 0.01
    alternance = rng.random(n) < 0.05

    # Salary: the market for the occupation, region and qualification, and what this offer pays.
    qual_factor = np.where(presence["qualification"], tables.qual_salary[qual_idx], 1.0)
    market = SMIC_YEARLY * tables.code_salary[code_idx] * tables.region_salary[region_idx] * qual_factor
    offered = market * np.exp(rng.normal(0.0, 0.12, n))
    if config.drifting("salary_shift", index):
        offered = offered * SALARY_SHIFT
    offered = np.maximum(offered, SMIC_YEARLY)
    salary_ratio = offered / market

    # The true log-odds of "not filled within 30 days".
    contract_names = np.array(tables.contracts)[contract_idx]
    short = contract_months < 6
    contract_key = np.select(
        [contract_names == "CDI", (contract_names == "CDD") & ~short, contract_names == "CDD",
         contract_names == "MIS"],
        ["CDI", "CDD_long", "CDD_short", "MIS"], "other")
    z = (figures.outcomes.intercept
         + effects.occupation_tension * (_logit(tables.code_pct[code_idx]) - tables.mean_code_logit)
         + effects.region_tension * (tables.region_logit[region_idx] - tables.mean_region_logit)
         + effects.year_tension * tables.year_effect(month_start.year)
         + np.vectorize(effects.contract.get)(contract_key)
         + np.vectorize(effects.experience.get)(experience)
         + np.where(experience == "D", 0.0, effects.experience_per_year * experience_years)
         + effects.positions_log * np.log(positions)
         + effects.accessible_th * accessible + effects.partner_origin * partner)
    z += np.where(presence["qualification"],
                  np.array([effects.qualification[q] for q in tables.quals])[qual_idx], 0.0)
    z += np.where(presence["employer_size"],
                  np.array([effects.employer_size[s] for s in tables.sizes])[size_idx], 0.0)
    z += np.where(presence["salary"], effects.salary_log_ratio * np.log(salary_ratio),
                  effects.salary_hidden)
    z += np.where(presence["licence"] & (licence_kind != 1), effects.licence_required, 0.0)
    if calendar_month in (6, 7, 8):
        seasonal_domain = np.isin(np.array(tables.code_domain)[code_idx], effects.summer_seasonal_domains)
        z += effects.summer + np.where(
            seasonal_domain,
            effects.summer_seasonal_extra * tables.region_seasonal[region_idx] / tables.mean_seasonal, 0.0)
    if calendar_month == 12:
        z += effects.december
    if config.drifting("tension_shock", index):
        z += np.where(domain_idx == tables.domains.index(SHOCKED_DOMAIN), TENSION_SHOCK_LOGIT, 0.0)
    p_hard = 1.0 / (1.0 + np.exp(-z))

    # Lifecycle: cancelled early (independent of difficulty, so the oracle is P(hard | labelled)),
    # otherwise hard or not, then abandoned, stale, or filled with a time to fill.
    outcomes = figures.outcomes
    cancelled = rng.random(n) < outcomes.cancelled_share
    hard = rng.random(n) < p_hard
    fate = rng.random(n)
    abandoned = hard & (fate < outcomes.abandoned_among_hard)
    stale = hard & ~abandoned & (fate < outcomes.abandoned_among_hard + outcomes.stale_among_hard)
    early_days = 30.0 * rng.beta(*outcomes.early_fill_beta, n)
    late_days = 30.0 + outcomes.late_fill_median_days * np.exp(rng.normal(0, outcomes.late_fill_sigma, n))
    days = np.select([cancelled, abandoned, stale, hard],
                     [rng.uniform(0.5, 30.0, n), rng.uniform(5.0, 150.0, n), np.inf, late_days],
                     np.maximum(early_days, 0.25))
    status = np.select([cancelled, abandoned, stale], ["cancelled", "abandoned", "open"], "filled")
    lacks = (~partner) & (rng.random(n) < np.where(hard, 0.22, 0.05))  # set after publication

    extracted = config.extracted_at
    records = []
    for i in range(n):
        code = tables.all_codes[code_idx[i]]
        region = tables.regions[region_idx[i]]
        departments = REGION_DEPARTMENTS[region]
        department = departments[int(rng.integers(len(departments)))]
        offer_id = "G" + np.base_repr(first_id + i, 36).rjust(6, "0")
        kind = tables.contracts[contract_idx[i]]
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
            "entreprise": {"nom": f"ENTREPRISE {offer_id[-4:]}", "entrepriseAdaptee": bool(adapted[i])},
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
            commune = (f"{department}{int(rng.integers(1, 400)):03d}"[-5:] if len(department) == 2
                       else f"{department}{int(rng.integers(1, 30)):02d}")
            postal = ("20" if department in ("2A", "2B") else department) + "000"
            offer["lieuTravail"].update({"codePostal": postal[:5], "commune": commune})
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
            offer["formations"] = [{"niveauLibelle": DIPLOMAS[i % len(DIPLOMAS)], "exigence": "ES"[i % 2]}]
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
            "oracle": {"p_hard_to_fill": round(float(p_hard[i]), 6)},
        })
    return records


def generate_history(config: GeneratorConfig, figures: Figures | None = None) -> Iterator[list[dict]]:
    """Yield one month of records at a time: a history of any size streams in bounded memory."""
    tables = _Tables(figures or load_figures())
    first_id = 0
    for index, count in enumerate(month_volumes(config)):
        yield generate_month(config, tables, index, count, first_id)
        first_id += count
