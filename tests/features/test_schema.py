"""The API v2 offer schema: real payloads accepted, invalid ones refused clearly, personal data dropped."""

import copy
import re

import pytest

from features.build import build_features, context_from_history, parse_offer_fields
from features.ingest import offers_frame_from_json
from features.schema import Offer, OfferError, validate_offer, validate_offers


def test_every_real_offer_is_accepted_as_it_is(sample_offers_raw):
    offers = validate_offers(sample_offers_raw)
    assert len(offers) == 519
    assert {o.id for o in offers} == {raw["id"] for raw in sample_offers_raw}


def test_unknown_extra_fields_are_tolerated(sample_offers_raw):
    raw = copy.deepcopy(sample_offers_raw[0])
    raw["champInconnu"] = {"nouveau": 1}
    raw["lieuTravail"]["nouveauChamp"] = "x"
    assert validate_offer(raw).id == raw["id"]


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda o: o.update(romeCode="K23"), "romeCode"),
        (lambda o: o.pop("dateCreation"), "dateCreation"),
        (lambda o: o.update(typeContrat="cdi 2"), "typeContrat"),
        (lambda o: o.update(nombrePostes=0), "nombrePostes"),
        (lambda o: o.update(experienceExige="Q"), "experienceExige"),
        (lambda o: o.update(lieuTravail="Paris"), "lieuTravail"),
    ],
)
def test_an_invalid_offer_is_refused_naming_the_offer_and_the_field(sample_offers_raw, mutate, field):
    batch = copy.deepcopy(sample_offers_raw[:3])
    mutate(batch[2])
    with pytest.raises(OfferError) as caught:
        validate_offers(batch)
    message = str(caught.value)
    assert message.startswith(f"offer #2 (id {batch[2]['id']})")
    assert f"field '{field}" in message


def test_personal_data_is_not_a_field_of_the_schema():
    for forbidden in ("contact", "agence", "description", "offresManqueCandidats_personal"):
        assert forbidden not in Offer.model_fields or forbidden == "offresManqueCandidats"
    assert "nom" not in Offer.model_fields["entreprise"].annotation.model_fields


def _personal_strings(sample_offers_raw) -> set[str]:
    """Phone numbers, e-mail addresses and contact names that the sample carries."""
    found = set()
    for raw in sample_offers_raw:
        for block in (raw.get("contact") or {}, raw.get("agence") or {}):
            for key, value in block.items():
                if key in ("telephone", "courriel", "nom") and isinstance(value, str):
                    found.add(value)
        found.update(re.findall(r"\b0\d{9}\b", raw.get("description", "")))
        found.update(re.findall(r"[\w.+-]+@[\w-]+\.[\w.]+", raw.get("description", "")))
    return found


def _frame_strings(frame) -> set[str]:
    values = set(frame.columns.astype(str))
    for column in frame.columns:
        values.update(str(v) for v in frame[column].dropna().unique())
    return values


def test_no_phone_email_or_contact_name_reaches_any_frame(sample_offers_raw, small_history):
    personal = _personal_strings(sample_offers_raw)
    assert any("@" in p for p in personal) and any(p.isdigit() for p in personal), personal
    offers = offers_frame_from_json(sample_offers_raw)
    parsed = parse_offer_fields(offers)
    context = context_from_history(small_history.offers, small_history.lifecycle)
    features = build_features(offers, context.snapshot(small_history.extracted_at), with_audit=True)
    for frame in (offers, parsed, features):
        text = " ".join(_frame_strings(frame))
        leaked = [p for p in personal if p in text]
        assert not leaked, f"personal data reached a frame: {leaked[:3]}"


def test_generated_contacts_never_reach_the_history_frames(small_history_path, small_history):
    import gzip

    import orjson

    phones = set()
    with gzip.open(small_history_path, "rb") as stream:
        for line in stream:
            contact = orjson.loads(line)["offer"].get("contact")
            if contact:
                phones.add(contact["telephone"])
            if len(phones) > 200:
                break
    assert phones, "the generator should carry contacts, as real payloads do"
    text = " ".join(_frame_strings(small_history.offers.head(50_000)))
    assert not [p for p in phones if p in text]


def test_a_well_formed_contract_code_never_seen_is_accepted(sample_offers_raw):
    raw = copy.deepcopy(sample_offers_raw[0])
    raw["typeContrat"] = "XYZ"
    assert validate_offer(raw).typeContrat == "XYZ"
