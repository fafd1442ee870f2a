"""The per-offer path: validated offers -> the model's inputs without pandas, for serving.

The same rules (features.derive), the same context combination (features.context.context_columns
through features.snapshot.SnapshotIndex) and the same selection rules as `build_features` with a
snapshot context; tests/features/test_offer_path.py proves the features are identical.
"""

import math

import numpy as np

from features.derive import AUDIT_RULE, derive_offer
from features.ingest import OFFER_COLUMNS, offer_row
from features.schema import Offer
from features.snapshot import PLACE, SnapshotIndex
from features.spec import AUDIT_COLUMNS, FEATURES

CONTEXT_FEATURES = ("ctx_hard_rate_occupation_department", "ctx_hard_rate_occupation_region",
                    "ctx_hard_rate_national", "ctx_labelled_occupation_department",
                    "ctx_open_occupation_department", "ctx_open_occupation_region",
                    "ctx_employer_offers", "ctx_employer_matured", "ctx_employer_hard_rate")


def offer_values(offer: Offer) -> dict:
    """An offer's raw values, as one row of the offer frame (features.ingest.OFFER_COLUMNS)."""
    return dict(zip(OFFER_COLUMNS, offer_row(offer), strict=True))


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _numeric(value) -> float:
    if _missing(value):
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):  # text that is not a number: missing, as build_features does
        return math.nan


SELECTORS = tuple((f.name, _numeric if f.kind == "numeric" else (lambda v: None if _missing(v) else v))
                  for f in FEATURES)


def offer_features(values: list[dict], index: SnapshotIndex) -> list[dict]:
    """For each offer's raw values: its derived values, context, features (FEATURE_NAMES, numeric
    as float, categorical as given or None), `audit_*` groups and `salary_market`, one dict each."""
    derived = [derive_offer(dict(v)) for v in values]
    context = index.lookup([tuple(d[c] for c in PLACE) for d in derived], [d["created_at"] for d in derived])
    mids = np.array([d["salary_yearly_mid"] for d in derived], dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = mids / context["salary_market"]
    rows = []
    for i, d in enumerate(derived):
        for name in CONTEXT_FEATURES:
            d[name] = float(context[name][i])
        d["salary_market"] = float(context["salary_market"][i])
        d["salary_vs_market"] = float(ratios[i])
        row = {name: select(d[name]) for name, select in SELECTORS}
        row.update(zip(AUDIT_RULE.names, AUDIT_RULE.function(*[d[c] for c in AUDIT_RULE.inputs]), strict=True))
        row["salary_market"] = d["salary_market"]
        rows.append(row)
    return rows


AUDIT_KEYS = tuple(f"audit_{name}" for name in AUDIT_COLUMNS)
