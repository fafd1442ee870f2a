"""The label: an offer is hard to fill when it is not filled within 30 days of its creation.

Rules (../shared/DESIGN.md), from the offer's lifecycle at the extraction date:
- filled after day 30, abandoned at any time, still open at day 30 or later: positive (1);
- filled by day 30: negative (0);
- cancelled by day 30, or still open and younger than 30 days: unknown (right-censored);
- cancelled after day 30: positive, since by then it was not filled within 30 days (the design
  card is silent on this case; this follows from the definition).
`label_known_at` is when the label became known: the filling or abandonment date within the
first 30 days, otherwise day 30. Market context may only use labels known before a date.
"""

import numpy as np
import pandas as pd

# The one definition of the horizon: training, serving texts and monitoring all import it.
HORIZON_DAYS = 30
HORIZON = pd.Timedelta(days=HORIZON_DAYS)
OUTCOMES = ("filled", "abandoned", "cancelled", "open")


def label_offers(lifecycle: pd.DataFrame) -> pd.DataFrame:
    """Add `label` (1.0, 0.0 or NaN) and `label_known_at` to a frame with created_at, outcome,
    outcome_at and extracted_at (UTC timestamps)."""
    horizon = HORIZON
    created = pd.to_datetime(lifecycle["created_at"], utc=True)
    closed = pd.to_datetime(lifecycle["outcome_at"], utc=True)
    outcome = lifecycle["outcome"]
    unknown_outcomes = set(outcome.dropna().unique()) - set(OUTCOMES)
    if unknown_outcomes or outcome.isna().any():
        raise ValueError(f"lifecycle.outcome: unknown values {sorted(map(str, unknown_outcomes)) or ['null']}")
    delay = closed - created
    within = delay <= horizon
    age = pd.to_datetime(lifecycle["extracted_at"], utc=True) - created
    label = np.select(
        [
            (outcome == "filled") & within,
            outcome == "filled",
            outcome == "abandoned",
            (outcome == "cancelled") & within,
            outcome == "cancelled",
            (outcome == "open") & (age >= horizon),
        ],
        [0.0, 1.0, 1.0, np.nan, 1.0, 1.0],
        default=np.nan,
    )
    day_horizon = created + horizon
    known_at = day_horizon.where(~(within & outcome.isin(["filled", "abandoned"])), closed)
    known_at = known_at.where(~np.isnan(label))
    return lifecycle.assign(label=label, label_known_at=known_at)


def matured(frame: pd.DataFrame, extracted_at: pd.Timestamp) -> pd.Series:
    """Offers whose label can be trusted for training: created 30 days or more before the
    extraction, so that young offers filled quickly do not bias the labels toward 0."""
    return (frame["created_at"] <= extracted_at - HORIZON) & frame["label"].notna()
