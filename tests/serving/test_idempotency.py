"""The Idempotency-Key header of /feedback: parsing, and a real `bentoml serve`."""

import uuid

import httpx
import pytest

from serving.idempotency import InvalidIdempotencyKey, parse_idempotency_key
from serving.store import PredictionStore


def test_the_key_is_a_uuid_and_nothing_else():
    key = "8E03978E-40D5-43E8-BC93-6894A57F9324"
    assert parse_idempotency_key([]) is None
    assert parse_idempotency_key([key]) == key.lower()
    assert parse_idempotency_key([f'"{key}"']) == key.lower()  # the draft's structured-field string
    for bad in ("jean.dupont@example.fr", "+33 6 00 00 00 00", "", "x" * 10_000, key + "0", key[:-1],
                "8e03978e40d543e8bc936894a57f9324\n", "{" + key + "}"):
        with pytest.raises(InvalidIdempotencyKey) as refused:
            parse_idempotency_key([bad])
        assert "Idempotency-Key" in str(refused.value) and (not bad or bad not in str(refused.value))
    with pytest.raises(InvalidIdempotencyKey, match="une seule fois"):
        parse_idempotency_key([key, key])


def post(server, body: dict, api_key: str, key: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {api_key}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return httpx.post(f"{server.url}/feedback", json=body, headers=headers, timeout=60)


@pytest.mark.integration
def test_a_retried_feedback_is_stored_once_and_answered_the_same(server, api_key, store_url):
    store = PredictionStore(store_url)
    before_feedback, before_outcomes = len(store.feedback()), len(store.outcomes())
    key = str(uuid.uuid4())
    body = {"offer_id": "IDEM01", "action": "agreed", "outcome": "filled", "outcome_date": "2024-03-02"}
    first = post(server, body, api_key, key)
    again = post(server, body, api_key, key)
    assert first.status_code == again.status_code == 200, first.text
    assert first.json() == again.json() and first.json()["feedback_id"] is not None
    assert "idempotent-replayed" not in first.headers and again.headers["idempotent-replayed"] == "true"
    assert len(store.feedback()) == before_feedback + 1 and len(store.outcomes()) == before_outcomes + 1

    reused = post(server, {**body, "action": "disagreed"}, api_key, key)
    assert reused.status_code == 422 and reused.json()["fields"] == ["Idempotency-Key"]
    bad = post(server, body, api_key, "jean.dupont@example.fr")
    assert bad.status_code == 400 and "Idempotency-Key" in bad.json()["error"]
    assert "dupont" not in bad.text and "dupont" not in server.log_text()
    # no key: each request is a new one, as before
    plain = {"offer_id": "IDEM02", "action": "no_action"}
    assert post(server, plain, api_key).json()["feedback_id"] != post(server, plain, api_key).json()["feedback_id"]
    assert len(store.feedback()) == before_feedback + 3 and len(store.outcomes()) == before_outcomes + 1
    store.close()
