"""Reasons, advice and the scoring pipeline in process, with the champion trained on the small history."""

import math

import numpy as np
import pytest

from serving.advice import candidate_changes
from serving.explain import describe, euros, factors, sentence
from serving.scoring import Scorer, ServingParams


@pytest.fixture(scope="module")
def scorer(trained_store):
    import os

    from hardtofill.settings import get_settings
    from training.champion import load_champion

    saved = {k: os.environ.get(k) for k in trained_store.env}
    os.environ.update(trained_store.env)
    get_settings.cache_clear()
    try:
        return Scorer(load_champion(), ServingParams())
    finally:
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
        get_settings.cache_clear()


def test_salary_sentence_gives_offer_and_market_median_in_euros():
    features = {"salary_yearly_low": 21_000.0, "salary_yearly_high": 23_000.0, "salary_vs_market": 0.8}
    text = sentence("salary_vs_market", 0.4, features, 27_500.0)
    assert text == ("Salaire offert 22\u202f000\u00a0€ brut par an, 20\u00a0% au-dessous de la médiane du "
                    "marché pour ce métier 27\u202f500\u00a0€ : augmente le risque.")
    assert describe("salary_vs_market", {"salary_yearly_low": math.nan, "salary_yearly_high": math.nan,
                                         "salary_vs_market": math.nan}, 27_500.0) == "aucun salaire affiché"
    assert euros(1234567.4) == "1\u202f234\u202f567\u00a0€"


def test_factors_are_ordered_by_absolute_contribution_and_skip_zeros():
    names = ["rome_code", "experience_code", "contract_type", "month"]
    rows = {"rome_code": "F1703", "experience_code": "E", "contract_type": "CDD", "month": 3.0}
    top = factors(names, np.array([0.1, -0.5, 0.0, 0.2]), rows, None, {"rome_label": "Maçon"}, top=3)
    assert [f["feature"] for f in top] == ["experience_code", "month", "rome_code"]
    assert top[0]["sentence"] == "Expérience exigée : diminue le risque."
    assert top[2]["sentence"] == "Métier F1703 (Maçon) : augmente le risque."
    assert top[1]["value"] == 3.0 and "mars" in top[1]["sentence"]


def test_contributions_add_up_to_the_models_raw_score(scorer, sample_offers_raw):
    _, features = scorer.features(sample_offers_raw[:50])
    contributions, probabilities = scorer.contributions(features)
    model_frame = scorer.champion.model_frame(features)
    raw = scorer.champion.booster.predict(model_frame, raw_score=True)
    np.testing.assert_allclose(contributions.sum(axis=1), raw, atol=1e-9)
    np.testing.assert_allclose(probabilities, scorer.champion.probabilities(features), atol=1e-9)


def test_each_change_is_what_the_pipeline_then_sees(scorer, sample_offers_raw):
    offers, features = scorer.features(sample_offers_raw)
    markets = scorer.market_salary(features, offers["created_at"])
    rows = features.to_dict("records")
    changes = [(i, change) for i, raw in enumerate(sample_offers_raw)
               for change in candidate_changes(raw, rows[i], markets[i])]
    _, changed = scorer.features([change.offer for _, change in changes])  # one pass, as the service does
    seen = set()
    for (i, change), (_, after) in zip(changes, changed.iterrows(), strict=True):
        seen.add(change.code)
        if change.code in ("raise_salary_to_market", "show_market_salary"):
            assert after["salary_yearly_low"] == pytest.approx(round(markets[i]))
            assert after["salary_vs_market"] == pytest.approx(1.0, abs=0.01)
        elif change.code == "accept_beginners":
            assert after["experience_code"] == "D" and after["experience_months"] == 0
        elif change.code == "offer_permanent_contract":
            assert after["contract_type"] == "CDI"
        elif change.code == "offer_full_time":
            assert after["working_time"] == "full"
        elif change.code == "licence_desired_not_required":
            assert after["licence_required"] == 0 and after["licence_desired"] == 1
        # Nothing else of the offer changes.
        untouched = ["rome_code", "department", "positions", "naf_division"]
        assert after[untouched].tolist() == features.iloc[i][untouched].tolist()
    assert {"accept_beginners", "offer_permanent_contract", "licence_desired_not_required",
            "offer_full_time", "raise_salary_to_market", "show_market_salary"} <= seen


def test_advice_only_keeps_changes_that_lower_the_probability(scorer, sample_offers_raw):
    batch = scorer.score(sample_offers_raw[:200])
    advised = [(r, a) for r in batch.results for a in r["recommendations"]]
    assert advised
    for result, advice in advised:
        assert advice["probability"] <= result["probability"] - scorer.params.advice_min_gain
    for record in batch.records:
        assert record.model_version == scorer.champion.version
        assert set(record.audit) == {"region", "employer_size_band", "sector", "contract_type", "accessible_th"}
        assert "intitule" not in record.features and "title" not in record.features


def test_lightgbm_threads_are_capped(scorer):
    calls = []
    booster = scorer.champion.booster

    class Spy:
        def predict(self, data, **kwargs):
            calls.append(kwargs)
            return np.zeros(len(data))

    original = booster._booster
    booster._booster = Spy()
    try:
        booster.predict([1, 2], raw_score=True)
    finally:
        booster._booster = original
    assert calls == [{"raw_score": True, "num_threads": 1}]


def test_excluded_changes_are_never_advised(trained_store_env, sample_offers_raw):
    from dataclasses import replace

    from serving.scoring import Scorer, ServingParams
    from training.champion import load_champion

    champion = load_champion()
    advised = {r["change"] for r in _advice(Scorer(champion).score(sample_offers_raw).results)}
    assert advised, "no advice at all on the real offers: nothing to exclude"
    excluded = tuple(sorted(advised))[:1]
    kept = Scorer(champion, replace(ServingParams(), advice_excluded=excluded)).score(sample_offers_raw)
    assert not {r["change"] for r in _advice(kept.results)} & set(excluded)


def test_an_unknown_excluded_change_is_refused_naming_it(tmp_path, monkeypatch):
    import pytest
    import yaml

    from hardtofill.settings import get_settings
    from serving.scoring import ServingParams

    raw = yaml.safe_load(open("params.yaml", encoding="utf-8"))  # a whole file: every key is required
    raw["serving"]["advice_excluded"] = ["lower_the_bar"]
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(raw), encoding="utf-8")
    monkeypatch.setenv("HARDTOFILL_PARAMS_PATH", str(params))
    get_settings.cache_clear()
    try:
        with pytest.raises(ValueError, match="advice_excluded.*lower_the_bar"):
            ServingParams.load()
    finally:
        get_settings.cache_clear()


def _advice(results):
    return [advice for result in results for advice in result["recommendations"]]
