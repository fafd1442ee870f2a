"""Reasons, advice and the scoring pipeline in process, with the champion trained on the small history."""

import copy
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
        return Scorer(load_champion(), ServingParams.load())
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
    prepared = scorer.features(sample_offers_raw[:50])
    matrix = scorer.core.matrix([p.features for p in prepared])
    contributions, probabilities = scorer.core.contributions(matrix)
    raw = scorer.champion.booster.predict(matrix, raw_score=True)
    np.testing.assert_allclose(contributions.sum(axis=1), raw, atol=1e-9)
    np.testing.assert_allclose(probabilities, scorer.champion.calibrator.transform(raw), atol=1e-12)


def _published(raw: dict, code: str, market: float) -> dict:
    """The offer as the recruiter would publish it after the change."""
    changed = copy.deepcopy(raw)
    if code in ("raise_salary_to_market", "show_market_salary"):
        changed["salaire"] = {**(raw.get("salaire") or {}), "libelle": f"Annuel de {round(market)} Euros sur 12 mois"}
    elif code == "accept_beginners":
        changed.update(experienceExige="D", experienceLibelle="Débutant accepté")
    elif code == "offer_permanent_contract":
        changed.update(typeContrat="CDI", typeContratLibelle="Contrat à durée indéterminée")
    elif code == "offer_fixed_term_contract":
        changed.update(typeContrat="CDD", typeContratLibelle="CDD - 12 Mois")
    elif code == "offer_full_time":
        changed.update(dureeTravailLibelle="35H Travail en journée", dureeTravailLibelleConverti="Temps plein")
    elif code == "offer_part_time":
        changed.update(dureeTravailLibelle="24H Travail en journée", dureeTravailLibelleConverti="Temps partiel")
    elif code == "licence_desired_not_required":
        changed["permis"] = [{**p, "exigence": "S"} if p.get("exigence") == "E" else p for p in raw["permis"]]
    return changed


def test_each_changed_feature_value_is_what_the_pipeline_sees_of_the_changed_offer(scorer, sample_offers_raw):
    """Advice changes feature values; the full pipeline on the offer rewritten by the recruiter
    gives exactly these values."""
    from features.build import build_features
    from features.ingest import offers_frame_from_json

    prepared = scorer.features(sample_offers_raw)
    changes = [(i, change) for i, item in enumerate(prepared)
               for change in candidate_changes(item.offer, item.features, item.features["salary_market"])]
    published = [_published(sample_offers_raw[i], change.code, prepared[i].features["salary_market"])
                 for i, change in changes]
    rebuilt = build_features(offers_frame_from_json(published), scorer.champion.context)
    seen = set()
    for (i, change), after in zip(changes, rebuilt.to_dict("records"), strict=True):
        seen.add(change.code)
        expected = {**prepared[i].features, **change.values}
        for name in scorer.names:
            a, b = expected[name], after[name]
            both_nan = isinstance(a, float) and math.isnan(a) and math.isnan(b)
            assert a == b or both_nan, (change.code, name, a, b)
    assert {"accept_beginners", "offer_permanent_contract", "licence_desired_not_required", "offer_full_time",
            "offer_fixed_term_contract", "offer_part_time", "raise_salary_to_market", "show_market_salary"} <= seen


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
    assert len({r["score_id"] for r in batch.results}) == 200
    assert [r.score_id for r in batch.records] == [r["score_id"] for r in batch.results]


def test_the_champion_is_injected_never_mutated_and_one_model_call_of_each_kind(trained_store_env,
                                                                                sample_offers_raw):
    from training.champion import load_champion

    champion = load_champion()
    model_text = champion.booster.model_to_string()
    before = (champion.booster, champion.calibrator.to_dict(), champion.context)
    scorer = Scorer(champion, ServingParams.load())
    calls = []
    contributions, raw = scorer.core.calls.contributions, scorer.core.calls.raw
    scorer.core.calls.contributions = lambda matrix: calls.append(("contrib", len(matrix))) or contributions(matrix)
    scorer.core.calls.raw = lambda matrix: calls.append(("raw", len(matrix))) or raw(matrix)
    scorer.score(sample_offers_raw[:5])
    assert (champion.booster, champion.calibrator.to_dict(), champion.context) == before
    assert champion.booster.model_to_string() == model_text
    # One TreeSHAP call for the 5 offers (probabilities from its sums), one call for all the advice.
    assert calls[0] == ("contrib", 5) and [kind for kind, _ in calls] == ["contrib", "raw"]


def test_booster_calls_give_lightgbm_predict_numbers_for_one_row_a_few_and_many(trained_store_env,
                                                                                sample_offers_raw):
    from serving.booster_calls import BoosterCalls
    from training.champion import load_champion

    champion = load_champion()
    scorer = Scorer(champion, ServingParams.load())
    matrix = scorer.core.matrix([p.features for p in scorer.features(sample_offers_raw[:100])])
    calls, booster = BoosterCalls(champion.booster, 1), champion.booster
    for rows in (matrix[:1], matrix[:3], matrix):  # single-row fast path, a few rows, a matrix
        np.testing.assert_array_equal(calls.raw(rows), booster.predict(rows, raw_score=True))
        np.testing.assert_array_equal(calls.contributions(rows), booster.predict(rows, pred_contrib=True))
    with pytest.raises(ValueError, match="features"):
        calls.contributions(matrix[:2, :-1])


def test_unknown_codes_are_scored_with_a_caveat(scorer, sample_offers_raw):
    known = dict(sample_offers_raw[0])
    unknown = {**known, "romeCode": "N9999"}
    contract = {**known, "typeContrat": "XYZ"}
    results = scorer.score([known, unknown, contract]).results
    assert results[0]["caveats"] == []
    assert results[1]["caveats"] == ["métier inconnu du modèle : score moins fiable"]
    assert results[2]["caveats"] == ["type de contrat inconnu du modèle : score moins fiable"]
    assert all(0 <= r["probability"] <= 1 for r in results)


def test_lower_job_quality_changes_are_not_advised_by_default(scorer, sample_offers_raw):
    assert set(ServingParams.load().advice_excluded) == {"offer_fixed_term_contract", "offer_part_time"}
    advised = {r["change"] for r in _advice(scorer.score(sample_offers_raw).results)}
    assert not advised & {"offer_fixed_term_contract", "offer_part_time"}


def test_excluded_changes_are_never_advised(trained_store_env, sample_offers_raw):
    from dataclasses import replace

    from serving.scoring import Scorer, ServingParams
    from training.champion import load_champion

    champion = load_champion()
    advised = {r["change"] for r in _advice(Scorer(champion).score(sample_offers_raw).results)}
    assert advised, "no advice at all on the real offers: nothing to exclude"
    excluded = tuple(sorted(advised))[:1]
    kept = Scorer(champion, replace(ServingParams.load(), advice_excluded=excluded)).score(sample_offers_raw)
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


def test_serving_params_come_from_params_yaml_only():
    import pytest
    import yaml

    with pytest.raises(TypeError):
        ServingParams()  # no default in code: params.yaml is the one definition
    raw = yaml.safe_load(open("params.yaml", encoding="utf-8"))["serving"]
    loaded = ServingParams.load()
    assert {**raw, "advice_excluded": tuple(raw["advice_excluded"])} == loaded.__dict__


def test_top_orders_of_a_batch_are_each_rows_factors_order():
    from serving.explain import top_orders

    rows = np.array([[0.1, -0.5, 0.0, 0.2], [0.0, 0.0, 0.0, 0.0], [0.3, -0.3, 1e-12, 0.1]])
    names = ["salary_shown", "positions", "weekly_hours", "contract_months"]
    orders = top_orders(rows, 3)
    assert orders == [[1, 3, 0], [], [0, 1, 3]]
    for row, order in zip(rows, orders, strict=True):
        assert [f["feature"] for f in factors(names, row, {}, None, top=3)] == [names[i] for i in order]
        assert top_orders(row.reshape(1, -1), 3) == [order]  # one offer alone: the same order


def test_a_batchs_reasons_and_records_are_those_of_each_offer_alone(scorer, sample_offers_raw):
    """The batch path's shortcuts (memoised sentences, records built without validation) give what
    the plain path gives: every offer of a batch has the reasons and the record it has alone,
    sentences as `sentence` writes them, records that validate as ScoreRecord unchanged."""
    from serving.records import ScoreRecord

    raws = sample_offers_raw[:120]
    batch = scorer.score(raws)
    for raw, result, record in zip(raws[::7], batch.results[::7], batch.records[::7], strict=True):
        alone = scorer.score([raw])
        drop = ("index", "score_id")
        assert {k: v for k, v in result.items() if k not in drop} == \
            {k: v for k, v in alone.results[0].items() if k not in drop}
        prepared = scorer.features([raw])[0]
        features = prepared.features
        for factor in result["factors"]:
            labels = {"rome_label": raw.get("romeLibelle")} if raw.get("romeLibelle") else {}
            assert factor["sentence"] == sentence(factor["feature"], factor["contribution"], features,
                                                  features["salary_market"], labels)
        assert ScoreRecord.model_validate(record.model_dump()) == record
        assert record.score_id == result["score_id"] and len(set(r.score_id for r in batch.records)) == len(raws)


def test_a_pipelined_request_answers_as_one_chunk_and_keeps_each_offers_place(scorer, sample_offers_raw):
    """score_request in chunks of 100 (each chunk's LightGBM calls on the model thread, beside the
    next chunk's validation) gives the answers of one chunk: same offers, same places in the
    request, same scores, reasons, advice and records; the invalid offers refused wherever they are."""
    from dataclasses import replace

    raws = copy.deepcopy(sample_offers_raw)
    raws.insert(0, {**raws[0], "romeCode": "K22"})
    raws.insert(150, {k: v for k, v in raws[150].items() if k != "id"})
    raws.append({**raws[10], "nombrePostes": "trois", "typeContrat": "cdi"})
    one_chunk = Scorer(scorer.champion, replace(scorer.params, batch_chunk=len(raws)))
    chunked = Scorer(scorer.champion, replace(scorer.params, batch_chunk=100))
    whole, pipelined = one_chunk.score_request(raws), chunked.score_request(raws)

    assert [r.as_dict() for r in pipelined.refused] == [r.as_dict() for r in whole.refused]
    assert [r.index for r in pipelined.refused] == [0, 150, len(raws) - 1]
    assert [p.field for p in pipelined.refused[2].fields] == ["typeContrat", "nombrePostes"]
    assert [r["index"] for r in pipelined.results] == [i for i in range(len(raws)) if i not in (0, 150, len(raws) - 1)]
    assert all(r["offer_id"] == raws[r["index"]]["id"] for r in pipelined.results)
    drop = ("score_id",)
    assert [{k: v for k, v in r.items() if k not in drop} for r in pipelined.results] == \
        [{k: v for k, v in r.items() if k not in drop} for r in whole.results]
    assert any(r["recommendations"] for r in pipelined.results)
    stored = [r.model_dump(exclude={"score_id", "scored_at"}) for r in pipelined.records]
    assert stored == [r.model_dump(exclude={"score_id", "scored_at"}) for r in whole.records]
    assert [r.score_id for r in pipelined.records] == [r["score_id"] for r in pipelined.results]
