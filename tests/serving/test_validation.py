"""Hostile and careless input, checked without a server: every field bounded, strict types,
plausible dates, ids that cannot carry personal data, French messages naming every faulty field."""

import copy

import pytest
from pydantic import ValidationError

from serving.schemas import FeedbackRequest, LatestRequest
from serving.validation import check_offer, field_path, parse_offers, problems

EMAIL, PHONE, NAME = "jean.dupont@example.fr", "+33 6 00 00 00 00", "Mme Dupont 0612345678"


def test_every_real_offer_passes_the_bounds(sample_offers_raw):
    valid, _, refused = parse_offers(sample_offers_raw)
    assert refused == [] and valid == list(range(519))


def test_generated_offers_pass_the_bounds(small_history_path):
    import gzip

    import orjson

    with gzip.open(small_history_path, "rb") as stream:
        offers = [orjson.loads(line)["offer"] for _, line in zip(range(3000), stream, strict=False)]
    assert parse_offers(offers)[2] == []


@pytest.mark.parametrize(("field", "value", "words"), [
    ("dateCreation", "2300-01-01T00:00:00Z", "plage plausible"),
    ("dateCreation", "1600-01-01T00:00:00Z", "plage plausible"),
    ("dateCreation", "9999-12-31T23:59:59Z", "plage plausible"),
    ("dateCreation", 0, "plage plausible"),
    ("dateCreation", "hier", "date"),
    ("nombrePostes", "3", "entier"),
    ("nombrePostes", 3.5, "entier"),
    ("nombrePostes", 10**9, "au plus 1000"),
    ("alternance", "yes", "booléen"),
    ("accessibleTH", 1, "booléen"),
    ("id", "184NQNL\n2026-01-01 INFO forged line", "format invalide"),
    ("id", "X" * 1_000_000, "format invalide"),
    ("id", EMAIL, "format invalide"),
    ("id", "0612345678", "format invalide"),
    ("id", "DUPONTE", "format invalide"),
    ("id", "184NQ\x00L", "format invalide"),
    ("intitule", "x" * 301, "trop long"),
    ("typeContrat", EMAIL, "type de contrat mal formé"),
    ("secteurActivite", NAME, "format invalide"),
    ("codeNAF", PHONE, "format invalide"),
    ("romeCode", None, "texte"),
    ("competences", [{"code": "1"}] * 101, "au plus 100"),
    ("lieuTravail", "Paris", "objet JSON"),
])
def test_a_bad_field_is_refused_in_french_naming_it(sample_offers_raw, field, value, words):
    offer = copy.deepcopy(sample_offers_raw[0])
    offer[field] = value
    refused = check_offer(offer, 4)
    assert refused is not None and refused.index == 4
    assert [p.field for p in refused.fields] == [field]
    assert words in refused.fields[0].message
    assert refused.offer_id == (None if field == "id" else offer["id"])
    assert "offre n° 5" in refused.message and field in refused.message
    for echoed in (EMAIL, PHONE, NAME, "forged", "\x00"):
        assert echoed not in refused.message and echoed not in refused.log_text()


@pytest.mark.parametrize(("place", "value"), [
    (("lieuTravail", "codePostal"), EMAIL), (("lieuTravail", "commune"), PHONE),
    (("lieuTravail", "latitude"), 1000.0), (("origineOffre", "origine"), NAME),
    (("entreprise", "entrepriseAdaptee"), "oui"), (("salaire", "libelle"), "€" * 400),
])
def test_nested_fields_are_bounded_too(sample_offers_raw, place, value):
    offer = copy.deepcopy(sample_offers_raw[1])
    offer.setdefault(place[0], {})[place[1]] = value
    refused = check_offer(offer, 0)
    assert refused is not None and [p.field for p in refused.fields] == [".".join(place)]


def test_every_faulty_field_is_reported_not_only_the_first(sample_offers_raw):
    offer = copy.deepcopy(sample_offers_raw[2])
    offer.update(romeCode="K23", typeContrat="X-1", nombrePostes="3", alternance="yes")
    offer["lieuTravail"]["codePostal"] = "jean"
    del offer["dateCreation"]
    refused = check_offer(offer, 0)
    assert {p.field for p in refused.fields} == {"romeCode", "typeContrat", "nombrePostes", "alternance",
                                                 "lieuTravail.codePostal", "dateCreation"}
    assert "champ obligatoire manquant" in refused.message


def test_a_batch_keeps_its_valid_offers_and_names_the_invalid_ones(sample_offers_raw):
    batch = copy.deepcopy(sample_offers_raw[:6])
    batch[1]["dateCreation"] = "2300-01-01T00:00:00Z"
    batch[4] = "not an offer"
    valid, _, refused = parse_offers(batch)
    assert valid == [0, 2, 3, 5]
    assert [(r.index, r.offer_id) for r in refused] == [(1, batch[1]["id"]), (4, None)]
    assert refused[1].fields[0].message.startswith("doit être un objet JSON")


@pytest.mark.parametrize(("change", "field"), [
    ({"outcome": "filled", "outcome_date": 0}, "outcome_date"),
    ({"outcome": "filled", "outcome_date": "0001-01-01"}, "outcome_date"),
    ({"outcome": "filled", "outcome_date": "2300-01-01"}, "outcome_date"),
    ({"outcome": "filled", "outcome_date": "2025-11-20T00:00:00"}, "outcome_date"),
    ({"offer_id": EMAIL}, "offer_id"),
    ({"offer_id": PHONE}, "offer_id"),
    ({"model_version": NAME}, "model_version"),
    ({"model_version": "1\n"}, "model_version"),
    ({"comment": "appeler M. Dupont"}, "comment"),
    ({"action": "yes"}, "action"),
])
def test_feedback_takes_no_free_text_and_no_implausible_date(change, field):
    body = {"offer_id": "184NQNL", "action": "agreed", **change}
    with pytest.raises(ValidationError) as caught:
        FeedbackRequest.model_validate_json(__import__("json").dumps(body))
    found = problems(caught.value)
    assert [p.field for p in found] == [field]
    assert all(secret not in p.message for p in found for secret in (EMAIL, PHONE, NAME, "Dupont"))


def test_feedback_accepts_what_the_dashboard_sends():
    ok = FeedbackRequest.model_validate({"offer_id": "184NQNL", "action": "disagreed", "risk": "high",
                                         "model_version": "3", "outcome": "filled", "outcome_date": "2025-11-20"})
    assert ok.outcome_date.isoformat() == "2025-11-20"


@pytest.mark.parametrize("limit", [False, "10", 0, 10_001, 1.5])
def test_latest_limit_is_a_strict_bounded_integer(limit):
    with pytest.raises(ValidationError):
        LatestRequest.model_validate({"limit": limit})
    assert LatestRequest.model_validate({}).limit == 50


def test_a_key_the_client_invented_is_not_echoed():
    assert field_path(("jean@example.fr",)) == "(champ inconnu)"
    assert field_path(("line\nforged",)) == "(champ inconnu)"
    assert field_path(("competences", 3, "code")) == "competences.3.code"
    assert field_path(("x" * 41,)) == "(champ inconnu)"
