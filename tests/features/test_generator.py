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
from features.generator.reference import ReferenceDataMissing
from features.generator.simulate import GeneratorConfig, generate_history, month_volumes, rome4_code
from features.generator.write import write_history
from features.ingest import read_history
from features.labels import label_offers, matured
from hardtofill.cli import app
from hardtofill.settings import get_settings

REFERENCE = get_settings().reference_dir


@pytest.fixture(scope="module")
def history_path(tmp_path_factory):
    """Two years, as the default history, at a quarter of its size."""
    path = tmp_path_factory.mktemp("figures") / "history.jsonl.gz"
    write_history(GeneratorConfig(offers=80_000, months=24, seed=42), path, progress=False)
    return path


@pytest.fixture(scope="module")
def history(history_path):
    return read_history(history_path, progress=False)


@pytest.fixture(scope="module")
def employers(history_path):
    import orjson

    with gzip.open(history_path) as lines:
        return pd.Series([orjson.loads(line)["offer"]["entreprise"]["nom"] for line in lines])


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
    # Like for like: FIGURES §2 is a mean over ROME codes, so is the generated side.
    figures = load_figures()
    by_code = frame[frame["matured"]].groupby("rome_code")["label"].agg(["mean", "size"])
    by_code = by_code[by_code["size"] >= 10]
    rates = by_code.groupby(by_code.index.str[0])["mean"].mean()
    published = pd.Series({d: v.difficult_pct for d, v in figures.domains.items()})[rates.index]
    assert len(rates) >= 13
    assert spearmanr(rates, published).statistic >= 0.75


def test_every_occupation_of_the_reference_file_is_generated(frame):
    # Volumes follow BMO hiring projects: at 80,000 offers a handful of rare codes may not show.
    reference = set(pd.read_csv(REFERENCE / "metiers_tension.csv", dtype=str)["rome_code"])
    generated = set(frame["rome_code"])
    assert generated <= reference
    assert len(generated) >= 0.98 * len(reference)


def test_occupations_are_ordered_as_their_fap_tension(frame):
    reference = pd.read_csv(REFERENCE / "metiers_tension.csv").groupby("rome_code")["tension_pct"].mean()
    by_code = frame[frame["matured"]].groupby("rome_code")["label"].agg(["mean", "size"])
    by_code = by_code[by_code["size"] >= 30]
    assert spearmanr(by_code["mean"], reference[by_code.index]).statistic >= 0.5


def test_the_same_occupation_differs_by_area_as_the_bmo_survey_says():
    """Occupation-in-area tension: for one occupation, bassins the survey finds harder are harder."""
    from features.generator.reference import ReferenceParams, build_cells

    figures = load_figures()
    cells = build_cells(REFERENCE, ReferenceParams(**figures.reference.model_dump()))
    spread = cells.groupby("rome_code")["difficult_logit"].agg(["min", "max"])
    assert ((spread["max"] - spread["min"]) > 1.0).mean() > 0.5  # the area changes the tension
    assert cells["rome_code"].nunique() >= 490
    assert np.isclose(cells["offers"].sum(), 1.0)
    assert cells["difficult_logit"].notna().all() and cells["seasonal_share"].between(0, 1).all()


def test_oracle_auc_is_within_what_published_data_allow(frame):
    from sklearn.metrics import roc_auc_score

    labelled = frame[frame["matured"]]
    assert 0.65 <= roc_auc_score(labelled["label"], labelled["oracle"]) <= 0.80


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


def test_small_employers_abandon_more_though_they_are_faster(frame):
    # Éclairages n°54: abandoned for lack of candidates 5.8 % in very small firms, 2.3 % at 100+.
    seasoned = frame[frame["seasoned"]]
    abandoned = seasoned.groupby("employer_size_band")["outcome"].apply(lambda o: o.eq("abandoned").mean())
    assert abandoned["0-9"] > 1.8 * abandoned["250+"]
    filled = seasoned[seasoned["outcome"].eq("filled")].groupby("employer_size_band")["days"].median()
    assert filled["250+"] > filled["0-9"] + 5


def test_cdi_is_harder_and_cdd_easier_in_large_establishments(frame):
    # DARES OFER 2005: a size x contract interaction.
    labelled = frame[frame["matured"] & frame["employer_size_band"].notna()]
    large = labelled["employer_size_band"].isin(["100-249", "250+"])
    rate = labelled.groupby([large, labelled["contract_type"]])["oracle"].mean()
    cdi_gap = rate[(True, "CDI")] - rate[(False, "CDI")]
    cdd_gap = rate[(True, "CDD")] - rate[(False, "CDD")]
    assert cdi_gap > cdd_gap + 0.05


def test_a_salary_above_the_market_helps_low_skilled_offers_more_than_managers(frame):
    shown = frame[frame["matured"] & frame["salary_yearly_mid"].notna()].copy()
    like = ["rome_code", "region", "qualification_code", "working_time"]
    median = shown.fillna({c: "?" for c in like}).groupby(like)["salary_yearly_mid"].transform("median")
    shown["high"] = shown["salary_yearly_mid"] / median > 1.08
    shown["low_pay"] = shown["salary_yearly_mid"] / median < 0.92

    def gain(codes):
        group = shown[shown["qualification_code"].isin(codes)]
        return group.loc[group["low_pay"], "oracle"].mean() - group.loc[group["high"], "oracle"].mean()
    assert gain(["1", "2", "5"]) > gain(["9"]) + 0.05


def test_requirements_hurt_more_where_the_market_is_tight(frame):
    labelled = frame[frame["matured"]].copy()
    tension = labelled.groupby(["rome_code", "department"])["oracle"].transform("mean")
    tight = tension > tension.median()
    required = labelled["experience_code"].eq("E")
    gap = labelled.groupby([tight, required])["oracle"].mean()
    assert gap[(True, True)] - gap[(True, False)] > gap[(False, True)] - gap[(False, False)] + 0.01


def test_an_employer_s_offers_share_a_tendency(employers, frame):
    labelled = frame.assign(employer=employers.to_numpy())[frame["matured"]]
    counts = labelled["employer"].value_counts()
    repeat = labelled[labelled["employer"].isin(counts[counts >= 5].index)]
    residual = repeat["oracle"] - repeat.groupby(["rome_code", "contract_type"])["oracle"].transform("mean")
    between = residual.groupby(repeat["employer"]).mean().std()
    assert between > 0.03
    assert counts.iloc[0] > 10 and len(counts) < len(labelled) / 2


def test_seasonal_sectors_recruit_in_season_with_seasonal_contracts(frame):
    agriculture = frame[frame["rome_domain"].eq("A")]
    by_month = agriculture.groupby("month").size() / frame.groupby("month").size()
    assert by_month[[4, 5, 6]].mean() > 1.5 * by_month[[11, 12, 1]].mean()
    seasonal = frame[frame["matured"]].groupby(frame["contract_type"].eq("SAI"))["label"].mean()
    assert seasonal[True] < seasonal[False]


def test_summer_is_harder_for_seasonal_hospitality(frame):
    hospitality = frame[frame["matured"] & frame["rome_domain"].eq("G")]
    summer = hospitality[hospitality["month"].isin([6, 7, 8])]["oracle"].mean()
    winter = hospitality[hospitality["month"].isin([1, 2, 11])]["oracle"].mean()
    assert summer > winter + 0.04


def test_missing_fields_are_as_frequent_as_in_real_payloads(frame):
    assert 0.37 <= frame["salary_label"].notna().mean() <= 0.43  # salary on about 40 %
    assert 0.47 <= frame["qualification_code"].notna().mean() <= 0.53  # qualification about 50 %
    assert 0.65 <= (frame["contract_type"] == "CDI").mean() <= 0.75  # CDI about 70 %


def test_communes_lie_in_their_bassin_and_offers_gather_in_its_towns(frame):
    """Each bassin of a department owns its own communes, so the commune tells the bassin."""
    from features.generator.simulate import _Tables
    from features.parsing import parse_location

    tables = _Tables(load_figures(), GeneratorConfig(offers=1_000, months=1, seed=1))
    blocks = pd.DataFrame({"department": tables.cell_department, "first": tables.cell_commune_first,
                           "size": tables.cell_communes}).drop_duplicates()
    for department, ranges in blocks.groupby("department"):
        ranges = ranges.sort_values("first")
        assert (ranges["first"].to_numpy()[1:] >= (ranges["first"] + ranges["size"]).to_numpy()[:-1]).all()
        assert (ranges["first"] + ranges["size"] - 1).max() <= (999 if len(department) == 2 else 99)
    drawn = tables.communes(np.arange(len(blocks)).repeat(50) % len(tables.cell_communes),
                            np.random.default_rng(0).random(50 * len(blocks)))
    cells = np.arange(len(blocks)).repeat(50) % len(tables.cell_communes)
    assert ((drawn >= tables.cell_commune_first[cells])
            & (drawn < tables.cell_commune_first[cells] + tables.cell_communes[cells])).all()

    shown = frame[frame["commune_code"].notna()]
    assert 0.85 <= len(shown) / len(frame) <= 0.91
    # The commune and the postcode are in the offer's department.
    for commune, postcode, department in shown[["commune_code", "postal_code", "department"]].head(2_000).itertuples(
            index=False):
        assert parse_location({"commune": commune}).department == department
        assert parse_location({"codePostal": postcode}).department == department
    # Offers gather in towns: the busiest tenth of communes has more than half of the offers.
    counts = shown["commune_code"].value_counts()
    assert counts.head(len(counts) // 10).sum() > 0.5 * len(shown)


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
    for scenario in ("tension_shock", "salary_shift", "new_occupations", "rome4"):
        path = folder / f"{scenario}.jsonl.gz"
        write_history(GeneratorConfig(offers=12_000, months=6, seed=3, drift=scenario, drift_from=3),
                      path, progress=False)
        result[scenario] = read_history(path, progress=False)
    return result


def test_tension_shock_raises_the_difficulty_of_construction_from_month_k(drift_histories):
    before, after, _, _ = _oracle_by(drift_histories["tension_shock"], "2023-04-01",
                                     lambda p: p["rome_domain"].eq("F"))
    # Hires from the flow of new applicants cap the probability (about 0.86), hence +0.08, not more.
    assert after > before + 0.08


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


def test_rome4_codes_replace_v3_codes_of_the_same_sub_domain_from_month_k(drift_histories):
    offers = drift_histories["rome4"].offers
    reference = set(pd.read_csv(REFERENCE / "metiers_tension.csv", dtype=str)["rome_code"])
    unseen = ~offers["rome_code"].isin(reference)
    after = offers["created_at"] >= pd.Timestamp("2023-04-01", tz="UTC")
    assert not unseen[~after].any()
    assert 0.15 <= unseen[after].mean() <= 0.35  # 24 % of live offers carried ROME 4.0 codes
    new_codes = offers.loc[unseen, "rome_code"]
    assert new_codes.str.fullmatch(r"[A-N]\d{4}").all() and (new_codes.str[3:].astype(int) >= 30).all()
    # Same occupation, same difficulty: the oracle does not move with the code.
    oracle = drift_histories["rome4"].oracle
    assert abs(oracle[after & unseen].mean() - oracle[after & ~unseen].mean()) < 0.05


def test_rome4_code_keeps_the_sub_domain_and_avoids_taken_codes():
    code = rome4_code("M1805", {"M1805"})
    assert code[:3] == "M18" and int(code[3:]) >= 30
    assert rome4_code("M1805", {code}) != code


def test_a_missing_reference_folder_is_named_in_the_error(tmp_path):
    from features.generator.reference import ReferenceParams, occupation_cells

    with pytest.raises(ReferenceDataMissing, match="metiers_tension.csv"):
        occupation_cells(tmp_path, ReferenceParams(5, 20, 50))


def test_generate_without_the_reference_tables_names_them_and_exits_2(tmp_path, monkeypatch):
    monkeypatch.setenv("HARDTOFILL_REFERENCE_DIR", str(tmp_path / "nowhere"))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["generate", "--out", str(tmp_path / "h.jsonl"), "--offers", "10"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "metiers_tension.csv" in result.output and "HARDTOFILL_REFERENCE_DIR" in result.output
    assert not (tmp_path / "h.jsonl").exists()


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
