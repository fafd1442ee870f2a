"""Reasons in plain French from TreeSHAP contributions, and the four items of an individual
explanation of a public algorithm (CRPA art. R311-3-1-2).

Pure functions of one offer's features, its contributions (log-odds, from LightGBM's
`pred_contrib`) and the market salary median; nothing here touches the model.
"""

import math

import numpy as np

from features.spec import CATEGORICAL, FEATURE_BY_NAME
from serving.memo import BoundedMemo

RISK_LABELS = {"low": "faible", "medium": "moyen", "high": "élevé"}
EXPERIENCE = {"D": "débutant accepté", "S": "expérience souhaitée", "E": "expérience exigée"}
WORKING_TIME = {"full": "temps plein", "part": "temps partiel"}
CONTRACTS = {"CDI": "CDI", "CDD": "CDD", "MIS": "mission d'intérim", "SAI": "contrat saisonnier",
             "LIB": "profession libérale", "FRA": "franchise", "DDI": "CDD d'insertion",
             "DIN": "CDI intérimaire", "TTI": "contrat de travail temporaire d'insertion",
             "CCE": "profession commerciale", "REP": "reprise d'entreprise", "DDT": "CDD"}
QUALIFICATIONS = {"1": "manœuvre", "2": "ouvrier spécialisé", "3": "ouvrier qualifié (P1, P2)",
                  "4": "ouvrier qualifié (P3, P4, OHQ)", "5": "employé non qualifié", "6": "employé qualifié",
                  "7": "technicien", "8": "agent de maîtrise", "9": "cadre"}
MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
          "octobre", "novembre", "décembre")


def missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def euros(amount: float) -> str:
    """21840.0 -> '21 840 €' (narrow no-break space between thousands, as French typography)."""
    return f"{round(amount):,}".replace(",", "\u202f") + "\u00a0€"


def percent(share: float) -> str:
    return f"{round(100 * share)}\u00a0%"


def yes_no(value) -> str:
    return "oui" if value and not missing(value) and float(value) >= 0.5 else "non"


def salary_mid(features: dict) -> float | None:
    low, high = features.get("salary_yearly_low"), features.get("salary_yearly_high")
    if missing(low) or missing(high):
        return None
    return (float(low) + float(high)) / 2


# Categorical values an adviser reads as they are, in a short French phrase.
PLAIN_TEMPLATES = {
    "rome_subdomain": "famille de métiers {}",
    "rome_domain": "domaine professionnel {}",
    "naf_division": "secteur d'activité de l'employeur (NAF {})",
    "employer_size_band": "établissement de {} salariés",
    "region": "région {}",
    "department": "département {}",
}
# Numbers, rounded to whole units.
NUMBER_TEMPLATES = {
    "contract_months": "contrat de {:.0f} mois",
    "weekly_hours": "{:.0f} heures par semaine",
    "positions": "{:.0f} poste(s) à pourvoir",
    "diploma_level": "niveau de diplôme demandé : {:.0f}",
}


def describe(name: str, features: dict, market: float | None, labels: dict | None = None) -> str:
    """The feature's value for this offer, as an adviser reads it (no verb, no direction)."""
    value = features.get(name)
    labels = labels or {}
    if name == "salary_vs_market":
        mid = salary_mid(features)
        if mid is None or missing(value):
            if mid is not None:
                return f"salaire offert {euros(mid)} brut par an (pas de médiane du marché connue)"
            return "aucun salaire affiché"
        reference = f"médiane du marché pour ce métier {euros(market)}" if not missing(market) else "marché"
        gap = float(value) - 1.0
        if abs(gap) < 0.02:
            return f"salaire offert {euros(mid)} brut par an, au niveau de la {reference}"
        side = "au-dessous" if gap < 0 else "au-dessus"
        return f"salaire offert {euros(mid)} brut par an, {percent(abs(gap))} {side} de la {reference}"
    if name == "salary_shown":
        return "salaire affiché" if yes_no(value) == "oui" else "aucun salaire affiché"
    if name in ("salary_yearly_low", "salary_yearly_high"):
        if missing(value):
            return "aucun salaire affiché"
        bound = "bas" if name.endswith("low") else "haut"
        return f"salaire offert ({bound} de la fourchette) {euros(float(value))} brut par an"
    if missing(value):
        return f"{FEATURE_BY_NAME[name].description} : non renseigné"
    if name == "rome_code":
        title = labels.get("rome_label")
        return f"métier {value}" + (f" ({title})" if title else "")
    if name == "experience_code":
        return EXPERIENCE.get(value, f"expérience demandée : {value}")
    if name == "experience_months":
        months = float(value)
        if months == 0:
            return "aucune expérience exigée"
        return f"expérience demandée : {months / 12:.1f} an(s)".replace(".", ",") if months >= 12 \
            else f"expérience demandée : {months:.0f} mois"
    if name == "contract_type":
        return f"contrat : {CONTRACTS.get(value, value)}"
    if name == "working_time":
        return WORKING_TIME.get(value, str(value))
    if name.startswith("ctx_hard_rate"):
        where = {"ctx_hard_rate_occupation_department": "ce métier dans le département",
                 "ctx_hard_rate_occupation_region": "ce métier dans la région",
                 "ctx_hard_rate_national": "toute la France",
                 "ctx_hard_rate_occupation_department_history": "ce métier dans le département",
                 "ctx_hard_rate_family_department": "cette famille de métiers dans le département"}[name]
        # The last two count every past offer (features.context HISTORY_LEVELS), not recent ones.
        when = "passées" if name.endswith(("_history", "_family_department")) else "récentes"
        return f"{percent(float(value))} des offres {when} pour {where} ont mis plus de 30 jours à être pourvues"
    if name.startswith("ctx_"):
        return f"{FEATURE_BY_NAME[name].description} : {float(value):.0f}"
    if name == "month":
        return f"publiée en {MONTHS[int(value) - 1]}"
    if name in ("licence_required", "licence_desired", "diploma_required", "languages_required",
                "accessible_th", "adapted_company", "work_study"):
        if name == "languages_required" and float(value) >= 1:
            return f"{float(value):.0f} langue(s) exigée(s)"
        return f"{FEATURE_BY_NAME[name].description} : {yes_no(value)}"
    if name == "qualification_code":
        return f"qualification demandée : {QUALIFICATIONS.get(str(value), value)}"
    if name in PLAIN_TEMPLATES:
        return PLAIN_TEMPLATES[name].format(value)
    if name in NUMBER_TEMPLATES:
        return NUMBER_TEMPLATES[name].format(float(value))
    if name == "origin":
        return "offre déposée à France Travail" if str(value) == "1" else "offre d'un site partenaire"
    if name in CATEGORICAL:
        return f"{FEATURE_BY_NAME[name].description} : {value}"
    return f"{FEATURE_BY_NAME[name].description} : {float(value):g}".replace(".", ",")


def sentence(name: str, contribution: float, features: dict, market: float | None,
             labels: dict | None = None) -> str:
    text = describe(name, features, market, labels)
    effect = "augmente le risque" if contribution > 0 else "diminue le risque"
    return f"{text[0].upper()}{text[1:]} : {effect}."


# What `describe` reads besides the feature's own value (salary sentences name the offer's salary
# and the market median; the occupation's, its label).
_SENTENCES = BoundedMemo(200_000)


def _sentence_key(name: str, increases: bool, features: dict, market, labels: dict | None) -> tuple:
    value = features.get(name)
    if name == "salary_vs_market":
        return name, increases, value, features.get("salary_yearly_low"), features.get("salary_yearly_high"), market
    if name == "rome_code":
        return name, increases, value, (labels or {}).get("rome_label")
    return name, increases, value


def cached_sentence(name: str, contribution: float, features: dict, market: float | None,
                    labels: dict | None = None) -> str:
    """`sentence`, memoised on everything it reads: the same value gives the same words, and
    values repeat a lot across offers (codes, months, the market's rates)."""
    key = _sentence_key(name, contribution > 0, features, market, labels)
    text = _SENTENCES.get(key)
    if text is None:
        text = _SENTENCES.remember(key, sentence(name, contribution, features, market, labels))
    return text


def json_value(value):
    """A feature value for JSON: None for missing, float for numbers, str for categories."""
    if missing(value):
        return None
    return value if isinstance(value, str) else float(value)


def top_orders(contributions: np.ndarray, top: int) -> list[list[int]]:
    """For each row of contributions, the positions of its `top` largest |contribution| (above
    1e-9), largest first: the order `factors` gives, for a whole batch in one sort."""
    if len(contributions) == 1:  # one offer (the adviser's usual call): a Python sort is cheaper
        row = [abs(value) for value in np.asarray(contributions, dtype=float)[0].tolist()]
        order = sorted(range(len(row)), key=lambda i: -row[i])[:top]  # stable, as argsort's
        return [[i for i in order if row[i] > 1e-9]]
    magnitudes = np.abs(np.asarray(contributions, dtype=float))
    orders = np.argsort(-magnitudes, axis=1, kind="stable")[:, :top]
    kept = np.take_along_axis(magnitudes, orders, axis=1) > 1e-9
    return [[i for i, keep in zip(row, keeps, strict=True) if keep]
            for row, keeps in zip(orders.tolist(), kept.tolist(), strict=True)]


def factors(names: list[str], contributions, features: dict, market: float | None,
            labels: dict | None = None, top: int | None = None, order: list[int] | None = None) -> list[dict]:
    """Features by decreasing |contribution| (the `top` first, or the positions `order` gives),
    each with its value, its contribution (log-odds) and a French sentence."""
    if order is None:
        magnitudes = np.abs(np.asarray(contributions, dtype=float))
        order = np.argsort(-magnitudes, kind="stable").tolist()  # the order sorted() gave, faster
        if top is not None:
            order = [i for i in order[:top] if magnitudes[i] > 1e-9]
    return [{
        "feature": names[i],
        "label": FEATURE_BY_NAME[names[i]].description,
        "value": json_value(features.get(names[i])),
        "contribution": float(contributions[i]),
        "sentence": cached_sentence(names[i], float(contributions[i]), features, market, labels),
    } for i in order]


def crpa_items(*, model_name: str, version: str, probability: float, risk: str,
               risk_bands: dict, top_factors: list[dict], base_rate: float, context_as_of,
               calibration: str, trees: int, recommendations: list[dict]) -> dict[str, str]:
    """The four items CRPA art. R311-3-1-2 asks an administration to give, on request, about an
    individual decision taken on the basis of an algorithmic processing, filled for this offer."""
    weights = "; ".join(f"{f['sentence'][:-1]} (poids {f['contribution']:+.2f})".replace(".", ",")
                        for f in top_factors)
    as_of = f" arrêté au {context_as_of:%d/%m/%Y}" if context_as_of is not None else ""
    advice = (f" Le traitement a aussi simulé {len(recommendations)} modification(s) de l'offre par le "
              "recruteur qui réduiraient ce risque." if recommendations else "")
    return {
        "degre_et_mode_de_contribution": (
            "Le traitement estime le risque que l'offre ne soit pas pourvue dans les 30 jours. Ce score "
            "est une aide pour le conseiller France Travail : il ne décide rien. Le conseiller choisit "
            "seul la suite à donner (prioriser l'offre, contacter le recruteur, lui transmettre des "
            "conseils, ou ne rien faire) et peut contester le score."),
        "donnees_traitees_et_sources": (
            "Les informations de l'offre telles que publiées (API « Offres d'emploi v2 » de France Travail) : "
            "métier (code ROME), lieu de travail, type et durée du contrat, temps de travail, expérience, "
            "qualification, diplômes, permis et langues demandés, salaire affiché, nombre de postes, taille "
            "et secteur de l'employeur, origine de l'offre, mois de publication ; et le contexte du marché "
            f"calculé sur les offres passées{as_of} (part d'offres difficiles à pourvoir, offres ouvertes, "
            "salaire médian du métier). Ni les coordonnées, ni le nom de l'employeur, ni le texte libre de "
            "l'offre ne sont utilisés."),
        "parametres_et_ponderation": (
            f"Taux de base (offre moyenne) : {percent(base_rate)}. Pour cette offre, la probabilité est de "
            f"{percent(probability)}, risque {RISK_LABELS[risk]} (seuils : moyen à partir de "
            f"{percent(risk_bands['medium'])}, élevé à partir de {percent(risk_bands['high'])}). Les "
            f"éléments qui pèsent le plus, avec leur poids sur l'échelle du score (log-odds) : {weights}."),
        "operations_effectuees": (
            "Les champs de l'offre sont lus et convertis (salaire ramené à un montant annuel brut, durées en "
            "mois, lieu en département et région), comparés au marché du métier ; un modèle de gradient "
            f"boosting ({model_name}, version {version}, {trees} arbres LightGBM) calcule un score, converti "
            f"en probabilité par une calibration ({calibration}) puis classé en niveau de risque. La part de "
            f"chaque élément dans le score est calculée exactement (TreeSHAP).{advice}"),
    }
