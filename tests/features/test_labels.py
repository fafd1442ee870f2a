"""One test per labelling rule of DESIGN.md, with dated examples."""

import pandas as pd
import pytest

from features.labels import label_offers, matured

EXTRACTED = pd.Timestamp("2024-06-01", tz="UTC")


def label_of(created: str, outcome: str, outcome_at: str | None, extracted=EXTRACTED):
    frame = pd.DataFrame({
        "created_at": [pd.Timestamp(created, tz="UTC")],
        "outcome": [outcome],
        "outcome_at": [pd.Timestamp(outcome_at, tz="UTC") if outcome_at else pd.NaT],
        "extracted_at": [extracted],
    })
    row = label_offers(frame).iloc[0]
    return row["label"], row["label_known_at"]


def test_filled_by_day_30_is_negative_known_when_filled():
    label, known = label_of("2024-01-01", "filled", "2024-01-20")
    assert label == 0.0
    assert known == pd.Timestamp("2024-01-20", tz="UTC")


def test_filled_exactly_on_day_30_is_negative():
    label, _ = label_of("2024-01-01", "filled", "2024-01-31")
    assert label == 0.0


def test_filled_after_day_30_is_positive_known_on_day_30():
    label, known = label_of("2024-01-01", "filled", "2024-02-15")
    assert label == 1.0
    assert known == pd.Timestamp("2024-01-31", tz="UTC")


@pytest.mark.parametrize("abandoned_at", ["2024-01-10", "2024-03-10"])
def test_abandoned_at_any_time_is_positive(abandoned_at):
    label, known = label_of("2024-01-01", "abandoned", abandoned_at)
    assert label == 1.0
    assert known == min(pd.Timestamp(abandoned_at, tz="UTC"), pd.Timestamp("2024-01-31", tz="UTC"))


def test_cancelled_by_day_30_is_unknown():
    label, known = label_of("2024-01-01", "cancelled", "2024-01-25")
    assert pd.isna(label) and pd.isna(known)


def test_cancelled_after_day_30_is_positive_since_not_filled_within_30_days():
    label, _ = label_of("2024-01-01", "cancelled", "2024-02-20")
    assert label == 1.0


def test_open_at_day_30_or_later_is_positive():
    label, known = label_of("2024-04-01", "open", None)
    assert label == 1.0
    assert known == pd.Timestamp("2024-05-01", tz="UTC")


def test_open_and_younger_than_30_days_is_unknown():
    label, _ = label_of("2024-05-15", "open", None)
    assert pd.isna(label)


def test_unknown_outcome_is_refused_with_the_field_named():
    with pytest.raises(ValueError, match="lifecycle.outcome"):
        label_of("2024-01-01", "sold", "2024-01-02")


def test_training_window_ends_30_days_before_extraction():
    frame = pd.DataFrame({
        "created_at": pd.to_datetime(["2024-04-15", "2024-05-10"], utc=True),
        "outcome": ["filled", "filled"],
        "outcome_at": pd.to_datetime(["2024-04-20", "2024-05-12"], utc=True),
        "extracted_at": [EXTRACTED, EXTRACTED],
    })
    labelled = label_offers(frame)
    # The second is labelled (filled in 2 days) but too young: keeping it would bias toward 0.
    assert labelled["label"].tolist() == [0.0, 0.0]
    assert matured(labelled, EXTRACTED).tolist() == [True, False]
