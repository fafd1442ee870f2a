"""build_features(offers, context): the one function training and serving both call.

Each step is a pure function frame -> frame. Only what is known when an offer is published feeds
the model; the audit attributes used to measure fairness are derived here too, but are kept
beside the features (see `audit_groups`), not among them unless the design card lists them.
"""

import logging

import numpy as np
import pandas as pd

from features.context import MarketContext
from features.derive import AUDIT_RULE, apply_rule, derive_frame
from features.spec import AUDIT_COLUMNS, FEATURES

log = logging.getLogger(__name__)


def parse_offer_fields(offers: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
    """Parse the API's free text into typed columns (the rules of features.derive); unparsed strings
    become missing and are counted in `frame.attrs["unparsed"]` (field -> count), never an exception."""
    frame, unparsed = derive_frame(offers)
    frame.attrs["unparsed"] = unparsed
    if unparsed:
        log.info("unparsed values (set to missing): %s", unparsed)
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
    columns, _ = apply_rule(frame, AUDIT_RULE)
    return pd.DataFrame({name: columns[f"audit_{name}"] for name in AUDIT_COLUMNS}, index=frame.index)


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
