"""build_features: no leakage from fields published later, real offers go through, features typed."""

import copy

import numpy as np
import pandas as pd
import pytest

from features.build import build_features, context_from_history
from features.ingest import offers_frame_from_json, utc
from features.spec import CATEGORICAL, FEATURE_NAMES, FORBIDDEN_INPUTS, NUMERIC


@pytest.fixture(scope="module")
def snapshot(small_history):
    context = context_from_history(small_history.offers, small_history.lifecycle)
    return context.snapshot(utc("2024-01-15"))


def test_fields_updated_after_publication_do_not_change_the_features(sample_offers_raw, snapshot):
    original = build_features(offers_frame_from_json(sample_offers_raw), snapshot)
    later = copy.deepcopy(sample_offers_raw)
    for offer in later:
        offer["dateActualisation"] = "2031-06-30T08:00:00.000Z"
        offer["offresManqueCandidats"] = not offer.get("offresManqueCandidats", False)
        offer["contact"] = {"nom": "Quelqu'un", "courriel": "x@example.org", "telephone": "0102030405"}
        offer["description"] = "Texte libre réécrit plus tard."
    pd.testing.assert_frame_equal(original, build_features(offers_frame_from_json(later), snapshot))


def test_no_forbidden_input_is_a_feature():
    assert not set(FORBIDDEN_INPUTS) & set(FEATURE_NAMES)
    assert not any(name.startswith(("audit_", "label", "outcome", "oracle")) for name in FEATURE_NAMES)


def test_every_real_offer_gets_one_typed_row(sample_offers_raw, snapshot):
    features = build_features(offers_frame_from_json(sample_offers_raw), snapshot, with_audit=True)
    assert len(features) == len(sample_offers_raw)
    assert list(features.columns[: len(FEATURE_NAMES)]) == list(FEATURE_NAMES)
    for name in NUMERIC:
        assert features[name].dtype == float, name
    for name in CATEGORICAL:
        assert features[name].map(lambda v: v is None or isinstance(v, str)).all(), name
    # Real offers carry a place and an occupation: the parsers must understand nearly all of them.
    assert features["region"].notna().mean() > 0.95
    assert features["rome_domain"].notna().all()
    assert features.filter(like="audit_").notna().all().all()


def test_unparsed_strings_become_missing_and_are_counted(sample_offers_raw, snapshot):
    odd = copy.deepcopy(sample_offers_raw[:5])
    odd[0]["salaire"] = {"libelle": "Selon profil et expérience, à négocier"}
    odd[1]["dureeTravailLibelle"] = "horaires variables selon planning"
    features = build_features(offers_frame_from_json(odd), snapshot)
    assert np.isnan(features.loc[0, "salary_yearly_low"]) and features.loc[0, "salary_shown"] == 0.0
    assert np.isnan(features.loc[1, "weekly_hours"])
    assert features.attrs["unparsed"]["salary_label"] >= 1
    assert features.attrs["unparsed"]["working_time_label"] >= 1


def test_the_same_offer_gets_the_same_features_whatever_its_id_or_title(sample_offers_raw, snapshot):
    twin = copy.deepcopy(sample_offers_raw[0])
    twin["id"], twin["intitule"] = "ZZZ9999", "Un tout autre intitulé"
    features = build_features(offers_frame_from_json([sample_offers_raw[0], twin]), snapshot)
    pd.testing.assert_series_equal(features.iloc[0], features.iloc[1], check_names=False)


def test_history_features_parse_once_and_give_the_same_rows_as_build_features(small_history):
    from features.build import history_features
    from features.labels import label_offers

    offers = small_history.offers.iloc[:8000]
    lifecycle = small_history.lifecycle.iloc[:8000]
    expected = build_features(offers, context_from_history(offers, lifecycle), with_audit=True)
    features, context = history_features(offers, label_offers(lifecycle), with_audit=True)
    pd.testing.assert_frame_equal(features, expected)
    assert features.attrs == expected.attrs
    pd.testing.assert_frame_equal(context.lookup(features.assign(created_at=offers["created_at"])),
                                  context_from_history(offers, lifecycle).lookup(
                                      features.assign(created_at=offers["created_at"])))
