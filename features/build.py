"""build_features(offers, context): the one function training and serving both call.

Each step is a pure function frame -> frame. Only what is known when an offer is published feeds
the model; the audit attributes used to measure fairness are derived here too, but are kept
beside the features (see `audit_groups`), not among them unless the design card lists them.
"""

import logging

import numpy as np
import pandas as pd

from features.context import MarketContext
from features.frames import map_combinations
from features.parsing import (
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
from features.spec import AUDIT_COLUMNS, FEATURES

log = logging.getLogger(__name__)


def parse_offer_fields(offers: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
    """Parse the API's free text into typed columns; unparsed strings become missing and are
    counted in `frame.attrs["unparsed"]` (field -> count), never an exception."""
    frame = offers.copy()
    unparsed: dict[str, int] = {}

    salary, unparsed["salary_label"] = parse_series(frame["salary_label"], parse_salary)
    frame["salary_yearly_low"] = salary.map(lambda s: s.yearly_low if s else np.nan).astype(float)
    frame["salary_yearly_high"] = salary.map(lambda s: s.yearly_high if s else np.nan).astype(float)
    frame["salary_yearly_mid"] = (frame["salary_yearly_low"] + frame["salary_yearly_high"]) / 2
    frame["salary_period"] = salary.map(lambda s: s.period if s else None)

    hours, unparsed["working_time_label"] = parse_series(frame["working_time_label"], parse_weekly_hours)
    frame["weekly_hours"] = hours.astype(float)
    frame["working_time"] = map_combinations(frame, ["working_time_converted", "working_time_label"],
                                        parse_working_time)

    experience, unparsed["experience_label"] = parse_series(frame["experience_label"],
                                                            parse_experience_months)
    frame["experience_months"] = experience.astype(float)
    frame.loc[frame["experience_code"].eq("D") & frame["experience_months"].isna(),
              "experience_months"] = 0.0

    contract, unparsed["contract_label"] = parse_series(frame["contract_label"], parse_contract_months)
    frame["contract_months"] = contract.astype(float)

    location = map_combinations(
        frame, ["place_label", "postal_code", "commune_code"],
        lambda label, postal, commune: parse_location(
            {"libelle": label, "codePostal": postal, "commune": commune}),
    )
    frame["department"] = location.map(lambda loc: loc.department if loc else None)
    frame["region"] = location.map(lambda loc: loc.region if loc else None)
    unparsed["place"] = int(frame["region"].isna().sum())

    rome, unparsed["rome_code"] = parse_series(frame["rome_code"], parse_rome)
    frame["rome_domain"] = rome.map(lambda r: r.domain if r else None)
    frame["rome_subdomain"] = rome.map(lambda r: r.subdomain if r else None)

    size, unparsed["employer_size_label"] = parse_series(frame["employer_size_label"], parse_employer_size)
    frame["employer_size_band"] = size

    diploma, unparsed["diploma_levels"] = parse_series(
        frame["diploma_levels"],
        lambda text: parse_diploma_level([{"niveauLibelle": level} for level in text.split("|")]))
    frame["diploma_level"] = diploma.astype(float)

    frame["month"] = frame["created_at"].dt.month.astype(float)
    frame["salary_shown"] = frame["salary_yearly_mid"].notna()
    frame.attrs["unparsed"] = {k: int(v) for k, v in unparsed.items() if v}
    if frame.attrs["unparsed"]:
        log.info("unparsed values (set to missing): %s", frame.attrs["unparsed"])
    return frame


def _without_attrs(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """A shallow copy without `attrs`, and the attrs: pandas deep-copies a frame's attrs into the
    result of every operation, which made most of the cost of scoring one offer."""
    bare = frame.copy(deep=False)
    bare.attrs = {}
    return bare, dict(frame.attrs)


def add_market_context(parsed: pd.DataFrame, context: MarketContext) -> pd.DataFrame:
    """Join the point-in-time market context and compare the salary with the market."""
    parsed, attrs = _without_attrs(parsed)
    frame = parsed.join(context.lookup(parsed))
    frame["salary_vs_market"] = frame["salary_yearly_mid"] / frame["salary_market"]
    frame.attrs = attrs  # a join does not carry the unparsed counts
    return frame


def _categorical_values(values: pd.Series) -> np.ndarray:
    array = values.to_numpy(dtype=object, copy=True)
    array[pd.isna(array)] = None
    return array


def _numeric_values(values: pd.Series) -> np.ndarray:
    try:
        return values.to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError):  # text that is not a number: missing, as the parsers do
        return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def select_features(frame: pd.DataFrame) -> pd.DataFrame:
    """The model's inputs, in the specification's order and types (categories as strings)."""
    frame, attrs = _without_attrs(frame)
    columns = {feature.name: (_categorical_values(frame[feature.name]) if feature.kind == "categorical"
                              else _numeric_values(frame[feature.name])) for feature in FEATURES}
    selected = pd.DataFrame(columns, index=frame.index)
    selected.attrs = attrs
    return selected


def audit_groups(frame: pd.DataFrame) -> pd.DataFrame:
    """Attributes of offers used to audit fairness (never protected grounds of people)."""
    groups = pd.DataFrame({
        "region": frame["region"],
        "employer_size_band": frame["employer_size_band"],
        "sector": frame["rome_domain"],
        "contract_type": frame["contract_type"],
        "accessible_th": frame["accessible_th"].map({True: "yes", False: "no"}),
    }, index=frame.index)
    return groups[list(AUDIT_COLUMNS)].astype(object).where(groups.notna(), "unknown")


def build_features(offers: pd.DataFrame, context: MarketContext, params: dict | None = None,
                   with_audit: bool = False) -> pd.DataFrame:
    """Offer frame (features.ingest) -> model inputs, the same for training and serving.

    `context` is either the history's point-in-time context (each offer seen as of its own
    creation) or a snapshot (every offer seen as of the snapshot's date). With `with_audit`,
    the audit group columns are appended after the features (prefixed `audit_`).
    """
    return _features_from_parsed(parse_offer_fields(offers, params), context, with_audit)


def _features_from_parsed(parsed: pd.DataFrame, context: MarketContext, with_audit: bool) -> pd.DataFrame:
    parsed, attrs = _without_attrs(parsed)
    parsed = add_market_context(parsed, context)
    features = select_features(parsed)
    if with_audit:
        features = features.join(audit_groups(parsed).add_prefix("audit_"))
    features.attrs = attrs
    return features


def context_from_history(offers: pd.DataFrame, lifecycle: pd.DataFrame,
                         params: dict | None = None) -> MarketContext:
    """The point-in-time market context of a history (offer frame and lifecycle, same rows)."""
    from features.labels import label_offers

    return _context_from_parsed(parse_offer_fields(offers), label_offers(lifecycle), params)


def _context_from_parsed(parsed: pd.DataFrame, labelled: pd.DataFrame, params: dict | None) -> MarketContext:
    from features.context import ContextParams

    return MarketContext.from_history(parsed, labelled, ContextParams.from_dict(params))


def history_features(offers: pd.DataFrame, labelled: pd.DataFrame, context_params: dict | None = None,
                     with_audit: bool = False) -> tuple[pd.DataFrame, MarketContext]:
    """A history's features, each offer as of its own creation, and its point-in-time context,
    the offers' fields parsed once for both: the same rows as `build_features(offers,
    context_from_history(...))`, at two thirds of the cost. `labelled`: features.labels.label_offers
    of the history's lifecycle."""
    parsed = parse_offer_fields(offers)
    context = _context_from_parsed(parsed, labelled, context_params)
    return _features_from_parsed(parsed, context, with_audit), context
