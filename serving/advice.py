"""Advice for the recruiter: changes to what the recruiter controls, each applied to the offer as
the API would publish it, so that the changed offer goes through exactly the same pipeline
(validation, parsing, market context, model) as the original.

Only salary, experience asked, contract type, working time and licence are changed; the caller
re-scores every candidate and keeps those that lower the probability.
"""

import copy
from dataclasses import dataclass

from serving.explain import CONTRACTS, euros, missing, salary_mid

# Contracts a CDI can sensibly replace (not franchise, liberal profession, business takeover...).
SHORT_CONTRACTS = ("CDD", "MIS", "SAI", "DDT")


@dataclass(frozen=True)
class Change:
    code: str
    sentence: str  # in French, addressed to the adviser who relays it
    offer: dict  # the changed API payload


def _with(raw: dict, **fields) -> dict:
    changed = copy.deepcopy(raw)
    changed.update(fields)
    return changed


def salary_change(raw: dict, features: dict, market: float | None) -> Change | None:
    if missing(market):
        return None
    mid = salary_mid(features)
    salary = dict(raw.get("salaire") or {})
    # "Annuel de N Euros sur 12 mois" is how the API writes a yearly salary; the parser reads it back.
    salary["libelle"] = f"Annuel de {round(market)} Euros sur 12 mois"
    if mid is None:
        return Change("show_market_salary",
                      f"Afficher un salaire au niveau du marché pour ce métier : {euros(market)} brut par an.",
                      _with(raw, salaire=salary))
    if mid < 0.98 * market:
        return Change("raise_salary_to_market",
                      f"Relever le salaire de {euros(mid)} à {euros(market)} brut par an "
                      "(médiane du marché pour ce métier).",
                      _with(raw, salaire=salary))
    return None


def experience_change(raw: dict) -> Change | None:
    if raw.get("experienceExige") not in ("E", "S"):
        return None
    asked = "expérience exigée" if raw["experienceExige"] == "E" else "expérience souhaitée"
    detail = raw.get("experienceLibelle")
    if isinstance(detail, str) and detail.strip() and "xpérience" not in detail:
        asked += f", {detail.strip()}"  # "3 An(s)" alone does not say it is required
    elif isinstance(detail, str) and detail.strip():
        asked = detail.strip()
    return Change("accept_beginners", f"Accepter les débutants (au lieu de : {asked}).",
                  _with(raw, experienceExige="D", experienceLibelle="Débutant accepté"))


def contract_changes(raw: dict) -> list[Change]:
    if raw.get("alternance"):
        return []  # a work-study contract is what it is
    contract = raw.get("typeContrat")
    if contract in SHORT_CONTRACTS:
        current = raw.get("typeContratLibelle") or CONTRACTS.get(contract, contract)
        return [Change("offer_permanent_contract", f"Proposer un CDI plutôt que : {current}.",
                       _with(raw, typeContrat="CDI", typeContratLibelle="Contrat à durée indéterminée"))]
    if contract == "CDI":
        # The model may find that a fixed-term contract is filled faster in some trades.
        return [Change("offer_fixed_term_contract", "Proposer un CDD de 12 mois plutôt qu'un CDI.",
                       _with(raw, typeContrat="CDD", typeContratLibelle="CDD - 12 Mois"))]
    return []


def working_time_change(features: dict, raw: dict) -> Change | None:
    if features.get("working_time") != "part":
        return None
    return Change("offer_full_time", "Proposer un temps plein (35 heures par semaine).",
                  _with(raw, dureeTravailLibelle="35H Travail en journée",
                        dureeTravailLibelleConverti="Temps plein"))


def licence_change(raw: dict) -> Change | None:
    licences = raw.get("permis") or []
    required = [p for p in licences if isinstance(p, dict) and p.get("exigence") == "E"]
    if not required:
        return None
    names = ", ".join(str(p.get("libelle") or "permis") for p in required)
    relaxed = [{**p, "exigence": "S"} if p in required else p for p in licences]
    return Change("licence_desired_not_required", f"Rendre le permis souhaité plutôt qu'exigé ({names}).",
                  _with(raw, permis=relaxed))


# Every change the service may advise, by code (params.yaml `serving.advice_excluded` lists codes).
CHANGE_CODES = ("raise_salary_to_market", "show_market_salary", "accept_beginners", "offer_permanent_contract",
                "offer_fixed_term_contract", "offer_full_time", "licence_desired_not_required")


def candidate_changes(raw: dict, features: dict, market: float | None) -> list[Change]:
    """Every change that applies to this offer (not yet known to lower its risk)."""
    found = [salary_change(raw, features, market), experience_change(raw), *contract_changes(raw),
             working_time_change(features, raw), licence_change(raw)]
    return [change for change in found if change is not None]
