"""The employer context: a keyed pseudonym only, and strictly earlier, matured outcomes only."""

import json

import pandas as pd
import pytest

from features.build import build_features, context_from_history
from features.employer import employer_secret
from features.ingest import offers_frame_from_json, utc
from features.schema import Offer, validate_offer
from hardtofill.settings import get_settings

NAME = "BOULANGERIE DUPONT JEAN"


@pytest.fixture
def employer_key(monkeypatch):
    def use(key: str) -> None:
        monkeypatch.setenv("HARDTOFILL_EMPLOYER_KEY", key)
        get_settings.cache_clear()
        employer_secret.cache_clear()

    use("test-key-1")
    yield use
    monkeypatch.delenv("HARDTOFILL_EMPLOYER_KEY")
    get_settings.cache_clear()
    employer_secret.cache_clear()


def _raw(offer_id: str, created: str, name: str | None = NAME, siret: str | None = None) -> dict:
    entreprise = {"entrepriseAdaptee": False}
    if name is not None:
        entreprise["nom"] = name
    if siret is not None:
        entreprise["siret"] = siret
    return {"id": offer_id, "dateCreation": created, "lieuTravail": {"libelle": "75 - PARIS 11"},
            "romeCode": "D1106", "typeContrat": "CDI", "experienceExige": "D", "entreprise": entreprise}


def test_the_employer_is_kept_as_a_keyed_pseudonym_never_its_name(employer_key):
    offer = validate_offer(_raw("1000001", "2024-01-01T10:00:00Z"))
    frame = offers_frame_from_json([_raw("1000001", "2024-01-01T10:00:00Z")])
    pseudonym = frame["employer_key"].iloc[0]
    assert len(pseudonym) == 20 and NAME.lower() not in pseudonym.lower()
    assert NAME not in json.dumps(offer.model_dump(mode="json")) and NAME not in frame.to_csv()
    assert "nom" not in Offer.model_json_schema()["$defs"]["Entreprise"]["properties"]
    # The same employer (case and spaces aside) has the same pseudonym; another key, another one.
    again = offers_frame_from_json([_raw("1000002", "2024-01-02T10:00:00Z", name="  boulangerie  dupont jean")])
    assert again["employer_key"].iloc[0] == pseudonym
    employer_key("test-key-2")
    assert offers_frame_from_json([_raw("1000001", "2024-01-01T10:00:00Z")])["employer_key"].iloc[0] != pseudonym
    # A SIRET, when given, identifies the establishment rather than the name; no name, no employer.
    with_siret = offers_frame_from_json([_raw("1000003", "2024-01-01T10:00:00Z", siret="12345678900011")])
    assert with_siret["employer_key"].iloc[0] != offers_frame_from_json(
        [_raw("1000001", "2024-01-01T10:00:00Z")])["employer_key"].iloc[0]
    assert offers_frame_from_json([_raw("1000004", "2024-01-01T10:00:00Z", name=None)])["employer_key"].isna().all()


def _history(first_outcome: tuple[str, str]):
    """One employer: A (1 January), B (20 January: A's 30 days not over), C (15 February); and an
    offer of nobody (no name) in between, which must not count as the employer's."""
    raws = [_raw("100000A", "2024-01-01T09:00:00Z"), _raw("100000B", "2024-01-20T09:00:00Z"),
            _raw("100000N", "2024-01-25T09:00:00Z", name=None), _raw("100000C", "2024-02-15T09:00:00Z")]
    offers = offers_frame_from_json(raws)
    outcome, at = first_outcome
    lifecycle = pd.DataFrame({
        "offer_id": offers["offer_id"], "created_at": offers["created_at"],
        "outcome": [outcome, "filled", "filled", "open"],
        "outcome_at": pd.to_datetime([at, "2024-03-20", "2024-01-27", None], utc=True),
        "extracted_at": utc("2024-06-01")})
    return offers, lifecycle


def test_employer_history_counts_only_earlier_offers_and_outcomes_matured_before_publication(employer_key):
    # A filled on day 4 (known then) or abandoned on day 9: both known before B's publication, but
    # neither 30-day outcome had matured (A's 30 days end on 31 January): B must not see it.
    filled_offers, filled = _history(("filled", "2024-01-05"))
    _, abandoned = _history(("abandoned", "2024-01-10"))
    quick = build_features(filled_offers, context_from_history(filled_offers, filled), with_audit=False)
    slow = build_features(filled_offers, context_from_history(filled_offers, abandoned), with_audit=False)
    columns = ["ctx_employer_offers", "ctx_employer_matured", "ctx_employer_hard_rate"]
    a, b, n, c = range(4)
    assert quick.loc[a, ["ctx_employer_offers", "ctx_employer_matured"]].tolist() == [0.0, 0.0]
    assert quick.loc[b, ["ctx_employer_offers", "ctx_employer_matured"]].tolist() == [1.0, 0.0]
    # B's employer history is the same in both worlds: nothing of A's outcome, so B's employer rate
    # is the market's own (which, being the market's, may count A's outcome once it is known).
    pd.testing.assert_series_equal(quick.loc[b, columns[:2]], slow.loc[b, columns[:2]])
    for world in (quick, slow):
        market = world.loc[b, "ctx_hard_rate_occupation_department"]
        assert world.loc[b, "ctx_employer_hard_rate"] == pytest.approx(market)
    # The offer without an employer has no employer history, and is nobody's history.
    assert quick.loc[n, ["ctx_employer_offers", "ctx_employer_matured"]].tolist() == [0.0, 0.0]
    # C comes after A matured: A's outcome counts, and moves C's employer rate (the test can fail).
    assert quick.loc[c, ["ctx_employer_offers", "ctx_employer_matured"]].tolist() == [2.0, 1.0]
    excess = {name: world.loc[c, "ctx_employer_hard_rate"] - world.loc[c, "ctx_hard_rate_occupation_department"]
              for name, world in (("quick", quick), ("slow", slow))}
    assert excess["slow"] > 0 > excess["quick"]
    # Without history the employer's rate is the market's: the occupation's in the department.
    assert quick.loc[a, "ctx_employer_hard_rate"] == pytest.approx(quick.loc[a, "ctx_hard_rate_occupation_department"])
