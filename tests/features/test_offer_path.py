"""The per-offer path (serving) and the vectorised path (training, build_features) give identical
features and identical probabilities: on the real API sample and on a generated history, with the
champion's snapshot context."""

import gzip
import math

import numpy as np
import orjson
import pytest

from features.build import build_features
from features.ingest import offers_frame
from features.offer_path import offer_features, offer_values
from features.schema import validate_offer
from features.snapshot import SnapshotIndex
from features.spec import CATEGORICAL, FEATURE_NAMES


@pytest.fixture(scope="module")
def champion(trained_store):
    import os

    from hardtofill.settings import get_settings
    from training.champion import load_champion

    saved = {k: os.environ.get(k) for k in trained_store.env}
    os.environ.update(trained_store.env)
    get_settings.cache_clear()
    try:
        return load_champion()
    finally:
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
        get_settings.cache_clear()


@pytest.fixture(scope="module")
def generated_raws(small_history_path):
    """4,000 offers of the generated history, spread over its months, as API payloads."""
    with gzip.open(small_history_path, "rb") as stream:
        records = [orjson.loads(line)["offer"] for index, line in enumerate(stream) if index % 10 == 0]
    return records[:4000]


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def _compare(raws, champion):
    from serving.scoring import ScoringCore

    offers = [validate_offer(raw, i) for i, raw in enumerate(raws)]
    vectorised = build_features(offers_frame(offers), champion.context, with_audit=True)
    rows = offer_features([offer_values(o) for o in offers], SnapshotIndex(champion.context))
    columns = [*FEATURE_NAMES, *[c for c in vectorised.columns if c.startswith("audit_")]]
    for name in columns:
        expected = vectorised[name].tolist()
        got = [row[name] for row in rows]
        if name not in CATEGORICAL and not name.startswith("audit_"):
            expected = [float(v) for v in expected]
        differing = [i for i, (a, b) in enumerate(zip(expected, got, strict=True)) if not _same(a, b)]
        assert not differing, f"{name}: offer {differing[0]}: {expected[differing[0]]!r} vs {got[differing[0]]!r}"
    core = ScoringCore(champion)
    matrix = core.matrix(rows)
    np.testing.assert_array_equal(matrix, core.matrix_from_frame(vectorised))
    # The numpy matrix with the spec's codes and the pandas frame with categories: same model outputs.
    np.testing.assert_array_equal(core.probabilities(matrix), champion.probabilities(vectorised))
    contributions, probabilities = core.contributions(matrix)
    np.testing.assert_allclose(contributions, champion.contributions(vectorised), rtol=0, atol=1e-12)
    np.testing.assert_allclose(probabilities, champion.probabilities(vectorised), rtol=0, atol=1e-12)
    return rows


def test_real_offers_same_features_and_probabilities_both_ways(sample_offers_raw, champion):
    rows = _compare(sample_offers_raw, champion)
    assert len(rows) == 519


def test_generated_offers_same_features_and_probabilities_both_ways(generated_raws, champion):
    rows = _compare(generated_raws, champion)
    assert len({row["rome_code"] for row in rows}) > 20


def test_unknown_codes_and_offers_before_the_context_clock_agree_too(sample_offers_raw, champion):
    raws = []
    for i, raw in enumerate(sample_offers_raw[:40]):
        changed = dict(raw)
        if i % 4 == 0:
            changed["romeCode"] = "N9999"  # well formed, never seen
        if i % 4 == 1:
            changed["dateCreation"] = "1999-06-01T10:00:00Z"
        if i % 4 == 2:
            changed["dateCreation"] = "2024-03-01T23:30:00-02:00"  # another month in UTC
        raws.append(changed)
    _compare(raws, champion)


def test_category_codes_are_the_models_own(champion):
    """LightGBM issue 5162: the codes in the matrix are the positions in the model's category lists."""
    learned = champion.booster.pandas_categorical
    assert learned == [champion.categories[name] for name in CATEGORICAL]
