"""The generated history reproduces the published figures (FIGURES.md) within stated tolerances."""

import gzip
import hashlib

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr
from typer.testing import CliRunner

from features.build import parse_offer_fields
from features.generator.figures import load_figures
from features.generator.simulate import GeneratorConfig, generate_history, month_volumes
from features.generator.write import write_history
from features.ingest import read_history
from features.labels import label_offers, matured
from hardtofill.cli import app


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    """Two years, as the default history, at a quarter of its size."""
    path = tmp_path_factory.mktemp("figures") / "history.jsonl.gz"
    write_history(GeneratorConfig(offers=80_000, months=24, seed=42), path, progress=False)
    return read_history(path, progress=False)


@pytest.fixture(scope="module")
def frame(history):
    parsed = parse_offer_fields(history.offers)
    labelled = label_offers(history.lifecycle)
    parsed["label"] = labelled["label"]
    parsed["outcome"] = labelled["outcome"]
    parsed["days"] = (labelled["outcome_at"] - labelled["created_at"]).dt.total_seconds() / 86400
    parsed["oracle"] = history.oracle
    parsed["matured"] = matured(parsed, history.extracted_at)
    # Closed-offer figures are measured on offers old enough for their outcome to be seen.
    parsed["seasoned"] = parsed["created_at"] < history.extracted_at - pd.Timedelta(days=180)
    return parsed


def test_median_days_to_fill_among_filled_offers_is_45_to_47(frame):
    filled = frame[frame["seasoned"] & frame["outcome"].eq("filled")]
    assert 45.0 <= filled["days"].median() <= 47.0


def test_outcome_shares_match_2022_2023(frame):
    shares = frame.loc[frame["seasoned"], "outcome"].value_counts(normalize=True)
    assert 0.80 <= shares["filled"] <= 0.86  # about 83 %
    assert 0.058 <= shares["abandoned"] <= 0.075  # 6-7 %
    assert 0.03 <= shares["cancelled"] <= 0.04  # 3-4 %


def test_55_to_65_percent_of_labelled_offers_take_more_than_30_days(frame):
    rate = frame.loc[frame["matured"], "label"].mean()
    assert 0.55 <= rate <= 0.65


def test_the_oracle_is_the_probability_of_the_label(frame):
    labelled = frame[frame["matured"]]
    bins = pd.cut(labelled["oracle"], [0, 0.3, 0.5, 0.7, 0.9, 1.0])
    observed = labelled.groupby(bins, observed=True).agg(rate=("label", "mean"), p=("oracle", "mean"))
    assert np.abs(observed["rate"] - observed["p"]).max() < 0.03


def test_domains_are_ordered_as_the_bmo_figures_order_them(frame):
    figures = load_figures()
    rates = frame[frame["matured"]].groupby("rome_domain")["label"].mean()
    published = pd.Series({d: v.difficult_pct for d, v in figures.domains.items()})
    rho = spearmanr(rates[published.index], published).statistic
    assert rho >= 0.85


def test_regions_are_ordered_as_the_bmo_figures_order_them(frame):
    figures = load_figures()
    labelled = frame[frame["matured"]]
    counts = labelled["region"].value_counts()
    regions = counts[counts >= 800].index
    rates = labelled.groupby("region")["label"].mean()[regions]
    published = pd.Series({r: figures.regions[r][1] for r in regions})
    assert len(regions) >= 10
    assert spearmanr(rates, published).statistic >= 0.7


def test_salary_below_the_market_raises_the_risk(frame):
    # Compare like with like: the market depends on the occupation, region and qualification.
    shown = frame[frame["matured"] & frame["salary_yearly_mid"].notna()].copy()
    like = ["rome_code", "region", "qualification_code", "working_time"]
    median = shown.fillna({c: "?" for c in like}).groupby(like)["salary_yearly_mid"].transform("median")
    ratio = shown["salary_yearly_mid"] / median
    assert shown.loc[ratio < 0.92, "oracle"].mean() > shown.loc[ratio > 1.08, "oracle"].mean() + 0.04


def test_cdi_is_slower_than_short_contracts(frame):
    seasoned = frame[frame["seasoned"] & frame["outcome"].eq("filled")]
    cdi = seasoned[seasoned["contract_type"].eq("CDI")]["days"].median()
    short = seasoned[seasoned["contract_type"].isin(["CDD", "MIS"]) & (seasoned["contract_months"] < 6)]
    assert cdi > short["days"].median() + 3


def test_large_employers_are_slower(frame):
    labelled = frame[frame["matured"]]
    rates = labelled.groupby("employer_size_band")["label"].mean()
    assert rates["250+"] > rates["0-9"] + 0.05


def test_summer_is_harder_for_seasonal_hospitality(frame):
    hospitality = frame[frame["matured"] & frame["rome_domain"].eq("G")]
    summer = hospitality[hospitality["month"].isin([6, 7, 8])]["oracle"].mean()
    winter = hospitality[hospitality["month"].isin([1, 2, 11])]["oracle"].mean()
    assert summer > winter + 0.04


def test_missing_fields_are_as_frequent_as_in_real_payloads(frame):
    assert 0.37 <= frame["salary_label"].notna().mean() <= 0.43  # salary on about 40 %
    assert 0.47 <= frame["qualification_code"].notna().mean() <= 0.53  # qualification about 50 %
    assert 0.65 <= (frame["contract_type"] == "CDI").mean() <= 0.75  # CDI about 70 %


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_same_seed_same_bytes_and_another_seed_differs(tmp_path):
    config = GeneratorConfig(offers=3_000, months=3, seed=11)
    write_history(config, tmp_path / "a.jsonl.gz", progress=False)
    write_history(config, tmp_path / "b.jsonl.gz", progress=False)
    write_history(GeneratorConfig(offers=3_000, months=3, seed=12), tmp_path / "c.jsonl.gz", progress=False)
    assert _digest(tmp_path / "a.jsonl.gz") == _digest(tmp_path / "b.jsonl.gz")
    assert _digest(tmp_path / "a.jsonl.gz") != _digest(tmp_path / "c.jsonl.gz")


def test_plain_json_lines_when_the_path_does_not_end_in_gz(tmp_path):
    write_history(GeneratorConfig(offers=500, months=2, seed=1), tmp_path / "h.jsonl", progress=False)
    lines = (tmp_path / "h.jsonl").read_bytes().splitlines()
    assert len(lines) == 500 and lines[0].startswith(b'{"offer":')
    with pytest.raises(gzip.BadGzipFile):
        gzip.open(tmp_path / "h.jsonl").read()


def test_it_streams_one_month_at_a_time():
    config = GeneratorConfig(offers=1_000_000, months=24, seed=5)
    months = generate_history(config)
    first = next(months)  # only one month exists in memory, not a million offers
    assert len(first) == month_volumes(config)[0] < 60_000
    assert sum(month_volumes(config)) == 1_000_000


def _oracle_by(history, start_month: str, mask_fn):
    parsed = parse_offer_fields(history.offers)
    after = parsed["created_at"] >= pd.Timestamp(start_month, tz="UTC")
    mask = mask_fn(parsed)
    return history.oracle[mask & ~after].mean(), history.oracle[mask & after].mean(), parsed, after


@pytest.fixture(scope="module")
def drift_histories(tmp_path_factory):
    folder = tmp_path_factory.mktemp("drift")
    result = {}
    for scenario in ("tension_shock", "salary_shift", "new_occupations"):
        path = folder / f"{scenario}.jsonl.gz"
        write_history(GeneratorConfig(offers=12_000, months=6, seed=3, drift=scenario, drift_from=3),
                      path, progress=False)
        result[scenario] = read_history(path, progress=False)
    return result


def test_tension_shock_raises_the_difficulty_of_construction_from_month_k(drift_histories):
    before, after, _, _ = _oracle_by(drift_histories["tension_shock"], "2023-04-01",
                                     lambda p: p["rome_domain"].eq("F"))
    assert after > before + 0.15


def test_salary_shift_raises_offered_salaries_from_month_k(drift_histories):
    parsed = parse_offer_fields(drift_histories["salary_shift"].offers)
    after = parsed["created_at"] >= pd.Timestamp("2023-04-01", tz="UTC")
    ratio = parsed.loc[after, "salary_yearly_mid"].median() / parsed.loc[~after, "salary_yearly_mid"].median()
    assert 1.07 <= ratio <= 1.2


def test_new_occupation_codes_appear_only_from_month_k(drift_histories):
    figures = load_figures()
    offers = drift_histories["new_occupations"].offers
    new = offers["rome_code"].isin(list(figures.new_occupations))
    after = offers["created_at"] >= pd.Timestamp("2023-04-01", tz="UTC")
    assert not new[~after].any()
    assert 0.10 <= new[after].mean() <= 0.20


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--offers", "0"], "--offers"),
        (["--drift", "meteor"], "--drift"),
        (["--drift", "salary_shift", "--drift-from", "40", "--months", "12"], "--drift-from"),
        (["--start", "someday"], "--start"),
    ],
)
def test_bad_generate_arguments_get_a_clear_message_and_a_non_zero_exit(tmp_path, arguments, message):
    result = CliRunner().invoke(app, ["generate", "--out", str(tmp_path / "h.jsonl"), *arguments])
    assert result.exit_code != 0
    assert message in result.output
    assert not (tmp_path / "h.jsonl").exists()
