"""Advice for the recruiter: changes to what the recruiter controls, expressed as the feature
values the changed offer would have. Each changed value comes from the same rule that reads the
published offer (features.derive) applied to the field as the recruiter would rewrite it, so the
model sees exactly what the pipeline would build from the changed offer, without rebuilding it.

Only salary, experience asked, contract type, working time and licence are changed; the caller
scores every candidate of a request in one call and keeps those that lower the probability.
"""

from dataclasses import dataclass, field
from functools import lru_cache

from features import derive
from features.schema import Offer
from serving.explain import CONTRACTS, euros, missing, salary_mid

# Contracts a CDI can sensibly replace (not franchise, liberal profession, business takeover...).
SHORT_CONTRACTS = ("CDD", "MIS", "SAI", "DDT")


@dataclass(frozen=True)
class Change:
    code: str
    sentence: str  # in French, addressed to the adviser who relays it
    values: dict = field(default_factory=dict)  # feature name -> value after the change


@lru_cache(maxsize=64)
def _rule(function, *fields) -> tuple:
    # The rewritten fields are a few constants: each read once by its rule, not for every offer.
    return function(*fields)


def _salary_values(market: float) -> dict:
    return dict(_market_salary_values(market))


@lru_cache(maxsize=16_384)
def _market_salary_values(market: float) -> dict:
    # "Annuel de N Euros sur 12 mois" is how the API writes a yearly salary: read back by the salary rule
    # (once per market median: they repeat across offers of a place).
    low, high, mid, _, shown = derive.salary(f"Annuel de {round(market)} Euros sur 12 mois")
    return {"salary_yearly_low": low, "salary_yearly_high": high, "salary_shown": float(shown),
            "salary_vs_market": mid / market}


def salary_change(features: dict, market: float | None) -> Change | None:
    if missing(market) or not market:
        return None
    mid = salary_mid(features)
    if mid is None:
        return Change("show_market_salary",
                      f"Afficher un salaire au niveau du marché pour ce métier : {euros(market)} brut par an.",
                      _salary_values(market))
    if mid < 0.98 * market:
        return Change("raise_salary_to_market",
                      f"Relever le salaire de {euros(mid)} à {euros(market)} brut par an "
                      "(médiane du marché pour ce métier).", _salary_values(market))
    return None


def experience_change(offer: Offer) -> Change | None:
    if offer.experienceExige not in ("E", "S"):
        return None
    asked = "expérience exigée" if offer.experienceExige == "E" else "expérience souhaitée"
    detail = offer.experienceLibelle
    if isinstance(detail, str) and detail.strip() and "xpérience" not in detail:
        asked += f", {detail.strip()}"  # "3 An(s)" alone does not say it is required
    elif isinstance(detail, str) and detail.strip():
        asked = detail.strip()
    (months,) = _rule(derive.experience, "D", "Débutant accepté")
    return Change("accept_beginners", f"Accepter les débutants (au lieu de : {asked}).",
                  {"experience_code": "D", "experience_months": months})


def contract_changes(offer: Offer) -> list[Change]:
    if offer.alternance:
        return []  # a work-study contract is what it is
    contract = offer.typeContrat
    if contract in SHORT_CONTRACTS:
        current = offer.typeContratLibelle or CONTRACTS.get(contract, contract)
        (months,) = _rule(derive.contract, "Contrat à durée indéterminée")
        return [Change("offer_permanent_contract", f"Proposer un CDI plutôt que : {current}.",
                       {"contract_type": "CDI", "contract_months": months})]
    if contract == "CDI":
        # Lowers job quality: excluded by default (serving.advice_excluded), an ethics review's call.
        (months,) = _rule(derive.contract, "CDD - 12 Mois")
        return [Change("offer_fixed_term_contract", "Proposer un CDD de 12 mois plutôt qu'un CDI.",
                       {"contract_type": "CDD", "contract_months": months})]
    return []


def _working_time_values(converted: str, label: str) -> dict:
    (time,) = _rule(derive.working_time, converted, label)
    (hours,) = _rule(derive.weekly_hours, label)
    return {"working_time": time, "weekly_hours": hours}


def working_time_changes(features: dict) -> list[Change]:
    if features.get("working_time") == "part":
        return [Change("offer_full_time", "Proposer un temps plein (35 heures par semaine).",
                       _working_time_values("Temps plein", "35H Travail en journée"))]
    if features.get("working_time") == "full":
        # Lowers job quality: excluded by default (serving.advice_excluded), an ethics review's call.
        return [Change("offer_part_time", "Proposer un temps partiel (24 heures par semaine).",
                       _working_time_values("Temps partiel", "24H Travail en journée"))]
    return []


def licence_change(offer: Offer) -> Change | None:
    required = [p for p in offer.permis if p.exigence == "E"]
    if not required:
        return None
    names = ", ".join(str(p.libelle or "permis") for p in required)
    # Every required licence becomes desired: none required, at least one desired (features.ingest).
    return Change("licence_desired_not_required", f"Rendre le permis souhaité plutôt qu'exigé ({names}).",
                  {"licence_required": 0.0, "licence_desired": 1.0})


# Every change the service may advise, by code (params.yaml `serving.advice_excluded` lists codes).
CHANGE_CODES = ("raise_salary_to_market", "show_market_salary", "accept_beginners", "offer_permanent_contract",
                "offer_fixed_term_contract", "offer_full_time", "offer_part_time", "licence_desired_not_required")
# Changes that lower job quality (a CDD instead of a CDI, part time instead of full time): never
# advised unless the ethics review switches them on in params.yaml.
LOWER_JOB_QUALITY = ("offer_fixed_term_contract", "offer_part_time")


def candidate_changes(offer: Offer, features: dict, market: float | None) -> list[Change]:
    """Every change that applies to this offer (not yet known to lower its risk)."""
    found = [salary_change(features, market), experience_change(offer), *contract_changes(offer),
             *working_time_changes(features), licence_change(offer)]
    return [change for change in found if change is not None]
