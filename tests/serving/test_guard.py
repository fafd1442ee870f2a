"""The request guard in front of BentoML (a plain ASGI app behind it, which records what reaches it):
413 before reading a large body, JSON only, strict top level, the body passed on unchanged (/score: its
offers handed over parsed once)."""

import json

import pytest
from starlette.testclient import TestClient

from serving.guard import EMPTY_SCORE_BODY, LARGE_BODY_BYTES, PARSED_OFFERS, RequestGuard
from serving.schemas import ROUTE_BODIES


class Recorder:
    """What the service behind the guard would receive."""

    def __init__(self):
        self.bodies: list[bytes] = []
        self.offers: list = []

    async def __call__(self, scope, receive, send):
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.bodies.append(body)
        self.offers.append(scope.get("state", {}).get(PARSED_OFFERS))
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok"})


@pytest.fixture
def guarded():
    recorder = Recorder()
    return recorder, TestClient(RequestGuard(recorder, max_body_bytes=10_000, max_batch=3))


def test_a_valid_body_passes_unchanged(guarded):
    recorder, client = guarded
    body = b'{"limit": 5}'
    assert client.post("/latest", content=body, headers={"content-type": "application/json"}).text == "ok"
    assert recorder.bodies == [body] and recorder.offers == [None]
    assert client.post("/feedback", json={"offer_id": "184NQNL", "action": "agreed"}).status_code == 200


def test_score_offers_are_parsed_once_and_handed_over(guarded):
    """/score: the offers the guard parsed go to the service in the request state, exactly as sent,
    and BentoML parses an empty list instead of the batch again; a large body the same way."""
    recorder, client = guarded
    offers = [{"id": "184NQNL", "intitule": "Maçon", "nombrePostes": 2}, 3]
    assert client.post("/score", content=json.dumps({"offers": offers}),
                       headers={"content-type": "application/json"}).text == "ok"
    assert recorder.bodies == [EMPTY_SCORE_BODY] and recorder.offers == [offers]
    large = [{"id": "184NQNL", "intitule": "x" * 1000}] * 3
    guard = RequestGuard(recorder, max_body_bytes=10 * LARGE_BODY_BYTES, max_batch=3)
    padded = json.dumps({"offers": large}) + " " * LARGE_BODY_BYTES  # parsed on a worker thread
    assert TestClient(guard).post("/score", content=padded, headers={"content-type": "application/json"}).text == "ok"
    assert recorder.offers[-1] == large


def test_a_large_body_gets_413_before_it_is_read(guarded):
    recorder, client = guarded
    answer = client.post("/score", content=b" " * 10_001, headers={"content-type": "application/json"})
    assert answer.status_code == 413 and answer.json()["limit_bytes"] == 10_000
    assert "trop volumineuse" in answer.json()["error"]

    def chunks():  # no Content-Length: counted while read, cut at the limit
        for _ in range(100):
            yield b" " * 1000

    answer = client.post("/feedback", content=chunks(), headers={"content-type": "application/json"})
    assert answer.status_code == 413
    too_many = client.post("/score", json={"offers": [{}] * 4})
    assert too_many.status_code == 413 and too_many.json()["limit"] == 3
    assert recorder.bodies == []


@pytest.mark.parametrize("content_type", ["multipart/form-data", "multipart/form-data; boundary=x",
                                          "application/x-www-form-urlencoded", "application/vnd.bentoml+pickle",
                                          "text/plain", ""])
def test_only_json_reaches_the_service(guarded, content_type):
    recorder, client = guarded
    for path in ROUTE_BODIES:
        answer = client.post(path, content=b'{"limit": 1}', headers={"content-type": content_type})
        assert answer.status_code == 415 and "application/json" in answer.json()["error"]
    assert recorder.bodies == []


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/score", {"offers": [{}], "debug": True}, "debug"),
    ("/score", {"offres": [{}]}, "offers"),
    ("/score", {"offers": []}, "offers"),
    ("/score", {"offers": "184NQNL"}, "offers"),
    ("/score_one", {"offers": [{}, {}]}, "offers"),
    ("/explain", {"offer": [1]}, "offer"),
    ("/latest", {"limit": False}, "limit"),
    ("/latest", {"limit": "10"}, "limit"),
    ("/latest", {"limit": 10**6}, "limit"),
    ("/feedback", {"offer_id": "jean.dupont@example.fr", "action": "agreed"}, "offer_id"),
    ("/feedback", {"offer_id": "184NQNL", "outcome": "filled", "outcome_date": 0}, "outcome_date"),
])
def test_a_bad_top_level_is_refused_in_french_naming_the_field(guarded, path, body, field):
    recorder, client = guarded
    answer = client.post(path, json=body)
    assert answer.status_code == 400
    assert field in [f["field"] for f in answer.json()["fields"]]
    assert answer.json()["error"].startswith("requête refusée")
    assert "dupont" not in answer.text
    assert recorder.bodies == []


@pytest.mark.parametrize("body", [b"{not json", b"", b'{"limit": NaN}', b"[" * 4000 + b"]" * 4000,
                                  b"\xff\xfe", b"[1, 2]", b'{"limit": "\\ud800"}'])
def test_what_is_not_a_json_object_is_a_400(guarded, body):
    recorder, client = guarded
    answer = client.post("/latest", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 400 and answer.json()["error"]
    assert recorder.bodies == []


def test_score_ones_offer_is_refused_by_the_guard_with_every_faulty_field(guarded, sample_offers_raw):
    """/score_one's offer is batched with other requests' by BentoML: an invalid one is refused
    before, with the 400 /score gives, and nothing reaches the service."""
    recorder, client = guarded
    offer = {**sample_offers_raw[0], "romeCode": "K23", "nombrePostes": "3"}
    answer = client.post("/score_one", json={"offers": [offer]})
    assert answer.status_code == 400
    assert [f["field"] for f in answer.json()["fields"]] == ["romeCode", "nombrePostes"]
    assert answer.json()["refused"][0]["index"] == 0 and answer.json()["refused"][0]["offer_id"] == offer["id"]
    assert recorder.bodies == []
    assert client.post("/score_one", json={"offers": [sample_offers_raw[0]]}).status_code == 200
    assert len(recorder.bodies) == 1


def test_other_methods_get_405_with_allow(guarded):
    _, client = guarded
    answer = client.get("/score")
    assert answer.status_code == 405 and answer.headers["allow"] == "POST"


def test_unknown_keys_are_not_echoed_into_the_log(guarded, caplog):
    _, client = guarded
    with caplog.at_level("INFO", logger="bentoml.hardtofill"):
        client.post("/latest", json={"limit": 1, "jean.dupont@example.fr\nforged": 1})
    assert "dupont" not in caplog.text and "forged" not in caplog.text
    assert "400 on /latest" in caplog.text


def test_the_openapi_document_is_typed_and_secured():
    from serving.openapi import complete

    document = complete({"openapi": "3.0.2", "paths": {"/healthz": {"get": {}}}, "components": {"schemas": {}}},
                        max_batch=1000)
    schemas = document["components"]["schemas"]
    assert document["openapi"] == "3.1.0" and "/healthz" in document["paths"]
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    offers = schemas["ScoreRequest"]["properties"]["offers"]
    assert offers["items"] == {"$ref": "#/components/schemas/Offer"} and offers["maxItems"] == 1000
    assert schemas["Offer"]["properties"]["id"]["pattern"] and schemas["ScoreRequest"]["additionalProperties"] is False
    assert schemas["ErrorResponse"]["properties"]["fields"]["anyOf"][0]["type"] == "array"
    feedback_id = schemas["FeedbackAnswer"]["properties"]["feedback_id"]
    assert {"type": "null"} in feedback_id["anyOf"]
    assert schemas["ScoreOneResponse"]["items"] == {"$ref": "#/components/schemas/ScoreResponse"}
    for path in ROUTE_BODIES:
        operation = document["paths"][path]["post"]
        assert operation["security"] == [{"bearerAuth": []}]
        assert {"200", "400", "401", "413", "415", "429", "503"} <= set(operation["responses"])
    assert json.dumps(document)  # serialisable as served
