"""The market context is point in time, and serving's snapshot gives the same rows as training."""

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

from features.build import build_features, context_from_history, parse_offer_fields
from features.context import MarketContext
from features.ingest import utc
from features.labels import label_offers

CUTOFF = utc("2023-09-01")


@pytest.fixture(scope="module")
def history(small_history):
    return small_history


def test_changing_outcomes_after_d_does_not_move_features_of_offers_created_before_d(history):
    before = (history.offers["created_at"] < CUTOFF).to_numpy()
    original = build_features(history.offers, context_from_history(history.offers, history.lifecycle))

    # Rewrite every outcome dated on or after d: other status, other (later) dates.
    changed = history.lifecycle.copy()
    later = (changed["outcome_at"] >= CUTOFF).to_numpy()
    assert later.sum() > 1000
    rng = np.random.default_rng(0)
    changed.loc[later, "outcome"] = rng.choice(["filled", "abandoned", "cancelled"], later.sum())
    changed.loc[later, "outcome_at"] = changed.loc[later, "outcome_at"] + pd.to_timedelta(
        rng.integers(1, 90, later.sum()), unit="D")
    still_open = changed["outcome"].eq("open") & (changed["created_at"] < CUTOFF)
    changed.loc[still_open, "outcome"] = "filled"
    changed.loc[still_open, "outcome_at"] = CUTOFF + pd.Timedelta(days=3)
    rewritten = build_features(history.offers, context_from_history(history.offers, changed))

    context_columns = [c for c in original.columns if c.startswith("ctx_")]
    pdt.assert_frame_equal(original.loc[before], rewritten.loc[before])
    # ...whereas offers created later do see the change: the test can fail.
    after = ~before
    assert not original.loc[after, context_columns].equals(rewritten.loc[after, context_columns])


def test_labels_known_after_an_offer_was_created_do_not_count_for_it(history):
    labelled = label_offers(history.lifecycle)
    context = context_from_history(history.offers, history.lifecycle, {"smoothing": 0.0})
    parsed = parse_offer_fields(history.offers)
    row = parsed[parsed["created_at"] > utc("2023-10-01")].iloc[0]
    looked_up = context.lookup(parsed.loc[[row.name]])
    same_occupation = (parsed["rome_code"] == row["rome_code"]) & (parsed["region"] == row["region"])
    window = pd.Timedelta(days=180)
    known = labelled["label_known_at"]
    counted = same_occupation & (known < row["created_at"]) & (known + window >= row["created_at"])
    expected_rate = labelled.loc[counted, "label"].mean()
    assert looked_up["ctx_hard_rate_occupation_region"].iloc[0] == pytest.approx(expected_rate)


def test_batch_over_the_history_equals_one_at_a_time_against_snapshots(history, tmp_path):
    context = context_from_history(history.offers, history.lifecycle)
    batch = build_features(history.offers, context)
    picks = history.offers.sample(25, random_state=3).index
    for index in picks:
        one = history.offers.loc[[index]]
        snapshot = context.snapshot(one["created_at"].iloc[0])
        snapshot.save(tmp_path / "snapshot")  # as serving gets it: through the artifact files
        served = build_features(one, MarketContext.load(tmp_path / "snapshot"))
        pdt.assert_frame_equal(served, batch.loc[[index]], check_exact=False, rtol=1e-12)


def test_small_groups_are_smoothed_toward_the_wider_level(history):
    context = context_from_history(history.offers, history.lifecycle)
    parsed = parse_offer_fields(history.offers.head(3)).assign(
        rome_code="Z9999", created_at=utc("2024-01-15"))
    looked_up = context.lookup(parsed)
    # An occupation never seen has the national rate at every level and no counts.
    assert (looked_up["ctx_labelled_occupation_department"] == 0).all()
    pdt.assert_series_equal(looked_up["ctx_hard_rate_occupation_department"],
                            looked_up["ctx_hard_rate_national"], check_names=False)
    assert looked_up["ctx_hard_rate_national"].between(0.4, 0.8).all()


def test_market_salary_uses_only_offers_published_before_the_month(history):
    context = context_from_history(history.offers, history.lifecycle)
    parsed = parse_offer_fields(history.offers)
    first_month = parsed["created_at"] < utc("2023-02-01")
    looked_up = context.lookup(parsed[first_month])
    assert looked_up["salary_market"].isna().all()  # nothing was published before
    later = context.lookup(parsed[parsed["created_at"] >= utc("2023-06-01")])
    assert later["salary_market"].notna().mean() > 0.99


@pytest.mark.parametrize("columns, rate", [
    (("rome_code", "department"), "ctx_hard_rate_occupation_department_history"),
    (("rome_subdomain", "department"), "ctx_hard_rate_family_department"),
])
def test_whole_history_rates_count_only_outcomes_matured_before_the_offer(history, columns, rate):
    """The occupation's and its family's rates in the department over the whole history: an
    outcome counts once its 30 days have passed before the offer's creation, never the offer's
    own nor a later one (smoothing off, so the rate is the plain share)."""
    labelled = label_offers(history.lifecycle)
    context = context_from_history(history.offers, history.lifecycle, {"smoothing": 0.0})
    parsed = parse_offer_fields(history.offers)
    late = parsed[parsed["created_at"] > utc("2023-10-01")]
    busiest = late.groupby(list(columns)).size().idxmax()
    row = late[(late[list(columns)] == busiest).all(axis=1)].iloc[0]
    same = (parsed[list(columns)] == busiest).all(axis=1)
    matured_before = labelled["created_at"] + pd.Timedelta(days=30) < row["created_at"]
    counted = same & matured_before & labelled["label"].notna()
    assert not counted[row.name] and counted.sum() >= 10
    # No window: outcomes older than the six months of the recent rates count too...
    assert (counted & (labelled["label_known_at"] + pd.Timedelta(days=180) < row["created_at"])).any()
    # ...and outcomes of the same place not matured yet exist, so counting them would change the rate.
    assert (same & ~matured_before & labelled["label"].notna()).sum() > 0
    looked_up = context.lookup(parsed.loc[[row.name]])
    assert looked_up[rate].iloc[0] == pytest.approx(labelled.loc[counted, "label"].mean())
