"""Data checks on a generated history and on the features built from it: schema, ranges,
allowed categories, label rate bands. What training would silently learn from if it broke."""

import numpy as np
import pandas as pd
import pytest

from features.build import build_features, context_from_history
from features.geography import DEPARTMENT_REGION, REGION_DEPARTMENTS
from features.ingest import OFFER_COLUMNS
from features.labels import OUTCOMES, label_offers, matured
from features.parsing import EMPLOYER_SIZE_BANDS
from features.schema import CONTRACT_TYPES, EXPERIENCE_CODES
from features.spec import FEATURE_NAMES


@pytest.fixture(scope="module")
def features(small_history):
    context = context_from_history(small_history.offers, small_history.lifecycle)
    return build_features(small_history.offers, context, with_audit=True)


@pytest.fixture(scope="module")
def labelled(small_history):
    frame = label_offers(small_history.lifecycle)
    frame["matured"] = matured(frame, small_history.extracted_at)
    return frame


# Schema ---------------------------------------------------------------------------------------

def test_the_offer_frame_has_the_ingestion_columns_and_unique_ids(small_history):
    assert tuple(small_history.offers.columns) == OFFER_COLUMNS
    assert small_history.offers["offer_id"].is_unique
    assert small_history.offers["created_at"].dt.tz is not None


def test_lifecycles_are_aligned_with_offers_and_dated_after_creation(small_history):
    lifecycle = small_history.lifecycle
    assert (lifecycle["offer_id"] == small_history.offers["offer_id"]).all()
    closed = lifecycle[lifecycle["outcome"] != "open"]
    assert closed["outcome_at"].notna().all()
    assert (closed["outcome_at"] >= closed["created_at"]).all()
    assert (closed["outcome_at"] <= small_history.extracted_at).all()
    assert lifecycle.loc[lifecycle["outcome"] == "open", "outcome_at"].isna().all()
    assert (small_history.offers["created_at"] <= small_history.extracted_at).all()


def test_the_features_are_the_specification_in_order(features):
    assert list(features.columns) == [*FEATURE_NAMES, *(c for c in features.columns if c.startswith("audit_"))]


# Ranges ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("column", "low", "high"), [
    ("salary_yearly_low", 12_000, 150_000),
    ("salary_yearly_high", 12_000, 200_000),
    ("salary_vs_market", 0.3, 4.0),
    ("weekly_hours", 1, 60),
    ("experience_months", 0, 240),
    ("contract_months", 0, 60),
    ("positions", 1, 50),
    ("diploma_level", 0, 8),
    ("month", 1, 12),
    ("ctx_hard_rate_occupation_department", 0, 1),
    ("ctx_hard_rate_occupation_region", 0, 1),
    ("ctx_hard_rate_national", 0, 1),
    ("ctx_open_occupation_department", 0, 1e6),
])
def test_numeric_features_stay_in_plausible_ranges(features, column, low, high):
    values = features[column].dropna()
    assert len(values) > 0, f"{column} is always missing"
    assert values.between(low, high).all(), f"{column} outside [{low}, {high}]: {values.min()}..{values.max()}"


@pytest.mark.parametrize("column", ["salary_shown", "licence_required", "accessible_th", "work_study",
                                    "diploma_required", "languages_required", "adapted_company"])
def test_flags_are_zero_or_one(features, column):
    assert set(features[column].dropna().unique()) <= {0.0, 1.0}


def test_salary_low_never_exceeds_salary_high(features):
    both = features[["salary_yearly_low", "salary_yearly_high"]].dropna()
    assert (both["salary_yearly_low"] <= both["salary_yearly_high"]).all()


def test_the_oracle_is_a_probability(small_history):
    assert small_history.oracle.between(0, 1, inclusive="neither").all()


# Categories -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("column", "allowed"), [
    ("contract_type", set(CONTRACT_TYPES)),
    ("experience_code", set(EXPERIENCE_CODES)),
    ("region", set(REGION_DEPARTMENTS)),
    ("department", set(DEPARTMENT_REGION)),
    ("rome_domain", set("ABCDEFGHIJKLMN")),
    ("employer_size_band", set(EMPLOYER_SIZE_BANDS)),
    ("working_time", {"full", "part"}),
])
def test_categorical_features_take_allowed_values(features, column, allowed):
    seen = set(features[column].dropna().unique())
    assert seen, f"{column} is always missing"
    assert seen <= allowed, f"{column}: unexpected {sorted(seen - allowed)}"


def test_department_and_region_agree(features):
    placed = features.dropna(subset=["department"])
    assert (placed["department"].map(DEPARTMENT_REGION) == placed["region"]).all()


def test_rome_code_domain_and_subdomain_agree(features):
    coded = features.dropna(subset=["rome_code"])
    assert (coded["rome_code"].str[0] == coded["rome_domain"]).all()
    assert (coded["rome_code"].str[:3] == coded["rome_subdomain"]).all()


def test_outcomes_are_known_values(small_history):
    assert set(small_history.lifecycle["outcome"].unique()) <= set(OUTCOMES)


# Label rate bands -----------------------------------------------------------------------------

def test_label_rate_among_matured_offers_is_in_the_published_band(labelled):
    # FIGURES.md: "roughly 55-65 %" for a 45-47-day median. This small history is mostly 2023, the
    # slowest year (median 47 days), so its rate sits at the top of that range: one point of slack.
    assert 0.55 <= labelled.loc[labelled["matured"], "label"].mean() <= 0.66


def test_every_month_label_rate_stays_in_a_plausible_band(labelled):
    ripe = labelled[labelled["matured"]]
    monthly = ripe.groupby(ripe["created_at"].dt.strftime("%Y-%m"))["label"].agg(["mean", "size"])
    monthly = monthly[monthly["size"] >= 500]
    assert len(monthly) >= 10
    assert monthly["mean"].between(0.45, 0.75).all(), monthly


def test_young_offers_are_not_matured_and_old_open_ones_are_positive(labelled, small_history):
    young = labelled["created_at"] > small_history.extracted_at - pd.Timedelta(days=30)
    assert not labelled.loc[young, "matured"].any()
    old_open = labelled["outcome"].eq("open") & ~young
    assert (labelled.loc[old_open, "label"] == 1).all()


@pytest.mark.parametrize(("column", "low", "high"), [
    ("salary_label", 0.35, 0.45),         # salary shown on about 40 % of real payloads
    ("qualification_code", 0.45, 0.55),   # qualification on about half
    ("rome_code", 0.99, 1.0),
])
def test_fields_are_present_as_often_as_in_real_payloads(small_history, column, low, high):
    assert low <= small_history.offers[column].notna().mean() <= high


def test_no_feature_is_entirely_missing_or_constant(features):
    for name in FEATURE_NAMES:
        values = features[name].dropna()
        assert values.nunique() >= 2 or name == "ctx_hard_rate_national" and len(values), name
        assert not np.all(pd.isna(features[name])), name
