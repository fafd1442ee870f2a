"""The feature specification: the model's inputs, their kinds, and what a recruiter controls.

Saved with each model (MLflow artifact `feature_spec.json`) so that serving builds exactly the
columns, in the order and with the categories, the model learned.
"""

from dataclasses import asdict, dataclass
from typing import Literal

import pandas as pd


@dataclass(frozen=True)
class Feature:
    name: str
    kind: Literal["categorical", "numeric"]
    description: str  # in French, as advisers read it
    recruiter_controls: bool = False


FEATURES: tuple[Feature, ...] = (
    Feature("rome_code", "categorical", "le métier (code ROME)"),
    Feature("rome_domain", "categorical", "le domaine professionnel"),
    Feature("rome_subdomain", "categorical", "la famille de métiers"),
    Feature("department", "categorical", "le département du lieu de travail"),
    Feature("region", "categorical", "la région du lieu de travail"),
    Feature("contract_type", "categorical", "le type de contrat", recruiter_controls=True),
    Feature("contract_months", "numeric", "la durée du contrat (mois)", recruiter_controls=True),
    Feature("working_time", "categorical", "le temps de travail", recruiter_controls=True),
    Feature("weekly_hours", "numeric", "la durée hebdomadaire (heures)", recruiter_controls=True),
    Feature("experience_code", "categorical", "l'expérience demandée", recruiter_controls=True),
    Feature("experience_months", "numeric", "l'expérience demandée (mois)", recruiter_controls=True),
    Feature("qualification_code", "categorical", "la qualification demandée"),
    Feature("diploma_level", "numeric", "le niveau de diplôme demandé"),
    Feature("diploma_required", "numeric", "un diplôme exigé"),
    Feature("licence_required", "numeric", "un permis exigé", recruiter_controls=True),
    Feature("licence_desired", "numeric", "un permis souhaité"),
    Feature("languages_required", "numeric", "des langues exigées"),
    Feature("competences_count", "numeric", "le nombre de compétences listées"),
    Feature("salary_shown", "numeric", "un salaire affiché", recruiter_controls=True),
    Feature("salary_yearly_low", "numeric", "le salaire annuel brut offert (bas)", recruiter_controls=True),
    Feature("salary_yearly_high", "numeric", "le salaire annuel brut offert (haut)", recruiter_controls=True),
    Feature("salary_vs_market", "numeric", "le salaire offert rapporté au marché du métier dans la région",
            recruiter_controls=True),
    Feature("positions", "numeric", "le nombre de postes"),
    Feature("employer_size_band", "categorical", "la taille de l'établissement"),
    Feature("naf_division", "categorical", "le secteur d'activité de l'employeur"),
    Feature("origin", "categorical", "l'origine de l'offre (France Travail ou partenaire)"),
    Feature("accessible_th", "numeric", "une offre ouverte aux travailleurs handicapés"),
    Feature("adapted_company", "numeric", "une entreprise adaptée"),
    Feature("work_study", "numeric", "une offre en alternance"),
    Feature("month", "numeric", "le mois de publication"),
    Feature("ctx_hard_rate_occupation_department", "numeric",
            "la part récente d'offres difficiles à pourvoir pour ce métier dans le département"),
    Feature("ctx_hard_rate_occupation_region", "numeric",
            "la part récente d'offres difficiles à pourvoir pour ce métier dans la région"),
    Feature("ctx_hard_rate_national", "numeric", "la part récente d'offres difficiles à pourvoir en France"),
    Feature("ctx_labelled_occupation_department", "numeric",
            "le nombre d'offres récentes de ce métier dans le département"),
    Feature("ctx_open_occupation_department", "numeric",
            "le nombre d'offres ouvertes de ce métier dans le département"),
    Feature("ctx_open_occupation_region", "numeric", "le nombre d'offres ouvertes de ce métier dans la région"),
    # The employer's own history (its pseudonym only, features.employer), strictly before the offer.
    Feature("ctx_employer_offers", "numeric", "le nombre d'offres déjà publiées par cet employeur"),
    Feature("ctx_employer_matured", "numeric",
            "le nombre d'offres de cet employeur dont le résultat à 30 jours était connu"),
    Feature("ctx_employer_hard_rate", "numeric",
            "la part des offres passées de cet employeur non pourvues en 30 jours"),
    # Every matured outcome since the history's start, no window (features.context HISTORY_LEVELS).
    Feature("ctx_hard_rate_occupation_department_history", "numeric",
            "la part des offres de ce métier dans le département non pourvues en 30 jours, depuis le début "
            "de l'historique"),
    Feature("ctx_hard_rate_family_department", "numeric",
            "la part des offres de cette famille de métiers dans le département non pourvues en 30 jours, "
            "depuis le début de l'historique"),
)
FEATURE_NAMES = tuple(f.name for f in FEATURES)
CATEGORICAL = tuple(f.name for f in FEATURES if f.kind == "categorical")
NUMERIC = tuple(f.name for f in FEATURES if f.kind == "numeric")
RECRUITER_CONTROLS = tuple(f.name for f in FEATURES if f.recruiter_controls)
FEATURE_BY_NAME = {f.name: f for f in FEATURES}
AUDIT_COLUMNS = ("region", "employer_size_band", "sector", "contract_type", "accessible_th")
# Fields an offer may carry that must never feed the model (published later, or personal).
FORBIDDEN_INPUTS = ("dateActualisation", "offresManqueCandidats", "contact", "agence", "description",
                    "outcome", "label", "oracle")


def to_model_frame(features: pd.DataFrame, categories: dict[str, list[str]]) -> pd.DataFrame:
    """Cast categorical columns to the model's categories (unknown values become missing),
    as LightGBM needs the same category codes at serving as in training."""
    frame = features[list(FEATURE_NAMES)].copy()
    for name in CATEGORICAL:
        frame[name] = pd.Categorical(frame[name], categories=categories[name])
    return frame


def learn_categories(features: pd.DataFrame) -> dict[str, list[str]]:
    """Categories seen in training, sorted so that the same data give the same codes."""
    return {name: sorted(features[name].dropna().astype(str).unique().tolist()) for name in CATEGORICAL}


def spec_dict(categories: dict[str, list[str]]) -> dict:
    return {"features": [asdict(f) for f in FEATURES], "categories": categories}
