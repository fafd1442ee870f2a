"""The per-offer path: validated offers -> the model's inputs without pandas, for serving.

The same rules (features.derive), the same context combination (features.context.context_columns
through features.snapshot.SnapshotIndex) and the same selection rules as `build_features` with a
snapshot context; tests/features/test_offer_path.py proves the features are identical.
"""

import math

from features.derive import AUDIT_RULE, derive_offer
from features.ingest import OFFER_COLUMNS, offer_row
from features.schema import Offer
from features.snapshot import PLACE, SnapshotIndex
from features.spec import AUDIT_COLUMNS, FEATURES


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


# Each feature's name and kind, in the spec's order: a number becomes a float (missing or text
# that is not a number: NaN, as build_features does), a category stays as given (missing: None).
NUMERIC = frozenset(f.name for f in FEATURES if f.kind == "numeric")
NAMES = tuple(f.name for f in FEATURES)
KINDS = tuple((name, name in NUMERIC) for name in NAMES)


def _ratio(mid: float, market: float) -> float:
    """mid / market with numpy's float64 semantics (x/0 is inf or nan, not an exception)."""
    if market == 0:
        return math.nan if mid == 0 or mid != mid else math.copysign(math.inf, mid)
    return mid / market


def offer_features(values: list[dict], index: SnapshotIndex) -> list[dict]:
    """For each offer's raw values: its derived values, context, features (FEATURE_NAMES, numeric
    as float, categorical as given or None), `audit_*` groups and `salary_market`, one dict each."""
    rows = []
    audit_function, audit_inputs, audit_names = AUDIT_RULE.function, AUDIT_RULE.inputs, AUDIT_RULE.names
    for raw in values:
        d = derive_offer(dict(raw))
        context = index.context(tuple(d[c] for c in PLACE), d["created_at"])
        d.update(context)
        d["salary_vs_market"] = _ratio(float(d["salary_yearly_mid"]), context["salary_market"])
        row = {}
        for name, numeric in KINDS:  # inlined (one call per feature cost more than the rest)
            value = d[name]
            kind = type(value)
            if numeric:
                row[name] = value if kind is float else _numeric(value)
            else:
                row[name] = value if kind is str else (None if _missing(value) else value)
        row.update(zip(audit_names, audit_function(*[d[c] for c in audit_inputs]), strict=True))
        row["salary_market"] = context["salary_market"]
        rows.append(row)
    return rows


AUDIT_KEYS = tuple(f"audit_{name}" for name in AUDIT_COLUMNS)
