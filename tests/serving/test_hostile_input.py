"""Hostile and careless requests against a real `bentoml serve`: never a server error, partial
batches (valid offers scored and stored, each invalid one named with every faulty field), bounds,
strict types, and nothing sent echoed into the log beyond a well-formed id."""

import copy
from collections import Counter

import httpx
import pytest

from serving.schemas import ROUTE_BODIES
from serving.store import PredictionStore

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROUTES = tuple(ROUTE_BODIES)


def post(server, path, body, key, **kwargs):
    return httpx.post(f"{server.url}{path}", json=body, headers={"Authorization": f"Bearer {key}"},
                      timeout=120, **kwargs)


def raw_post(server, path, content, key, content_type):
    return httpx.post(f"{server.url}{path}", content=content, timeout=120,
                      headers={"Authorization": f"Bearer {key}", "Content-Type": content_type})


def test_forms_and_pickles_get_415_not_500(server, api_key):
    for path in ROUTES:
        for content_type in ("multipart/form-data", "application/x-www-form-urlencoded",
                             "application/vnd.bentoml+pickle"):
            answer = raw_post(server, path, b"offers=1", api_key, content_type)
            assert answer.status_code == 415, (path, content_type, answer.text)
    assert "Traceback" not in server.log_text()


def test_a_partial_batch_scores_and_stores_every_valid_offer(server, api_key, store_url, sample_offers_raw):
    batch = copy.deepcopy(sample_offers_raw[20:30])
    batch[1]["dateCreation"] = "2300-01-01T00:00:00Z"
    batch[3]["dateCreation"] = "1600-06-01T00:00:00Z"
    batch[4].update(dateCreation="9999-12-31T23:59:59Z", nombrePostes="3", alternance="yes", romeCode="K23")
    batch[7] = {"id": "jean.dupont@example.fr"}
    before = PredictionStore(store_url).scores()
    answer = post(server, "/score", {"offers": batch}, api_key)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [r["index"] for r in body["results"]] == [0, 2, 5, 6, 8, 9]
    assert [r["offer_id"] for r in body["results"]] == [batch[i]["id"] for i in (0, 2, 5, 6, 8, 9)]
    refused = {r["index"]: r for r in body["refused"]}
    assert set(refused) == {1, 3, 4, 7}
    assert refused[1]["offer_id"] == batch[1]["id"] and refused[7]["offer_id"] is None
    assert [f["field"] for f in refused[1]["fields"]] == ["dateCreation"]
    assert "plage plausible" in refused[3]["fields"][0]["message"]
    assert {f["field"] for f in refused[4]["fields"]} == {"dateCreation", "nombrePostes", "alternance", "romeCode"}
    assert {"id", "dateCreation", "lieuTravail", "romeCode", "typeContrat", "experienceExige"} <= {
        f["field"] for f in refused[7]["fields"]}
    assert "offre n° 5" in refused[4]["error"]
    # Scores are stored by the service's writer thread; /latest waits for it (serving.score_writer).
    assert post(server, "/latest", {"limit": 1}, api_key).status_code == 200
    after = PredictionStore(store_url).scores()
    added = Counter(after["offer_id"]) - Counter(before["offer_id"])
    assert added == Counter(batch[i]["id"] for i in (0, 2, 5, 6, 8, 9)), "every valid offer stored, once"
    log = server.log_text()
    assert "dupont" not in log and "Traceback" not in log
    assert "200 on /score: 6 scored, 4 refused" in log


def test_nothing_valid_is_a_400_naming_each_offer(server, api_key, sample_offers_raw):
    batch = copy.deepcopy(sample_offers_raw[:2])
    batch[0]["dateCreation"] = "2300-01-01T00:00:00Z"
    batch[1]["typeContrat"] = "X-1"  # malformed (a well-formed unknown code is scored with a caveat)
    answer = post(server, "/score", {"offers": batch}, api_key)
    assert answer.status_code == 400
    assert [(r["index"], r["fields"][0]["field"]) for r in answer.json()["refused"]] == [
        (0, "dateCreation"), (1, "typeContrat")]
    explain = post(server, "/explain", {"offer": batch[0]}, api_key)
    assert explain.status_code == 400 and explain.json()["fields"][0]["field"] == "dateCreation"


def test_an_id_cannot_forge_log_lines_or_flood_them(server, api_key, sample_offers_raw):
    lines_before = len(server.log_text().splitlines())
    forged = copy.deepcopy(sample_offers_raw[0])
    forged["id"] = "184NQNL\n2026-01-01T00:00:00 INFO forged line " + "A" * 1_000_000
    answer = post(server, "/score", {"offers": [forged, sample_offers_raw[1]]}, api_key)
    assert answer.status_code == 200 and answer.json()["refused"][0]["offer_id"] is None
    assert len(answer.content) < 50_000  # the id is not echoed back either
    new_lines = server.log_text().splitlines()[lines_before:]
    assert not [line for line in new_lines if "forged" in line or len(line) > 2000]


def test_a_huge_body_gets_413_and_the_service_stays_up(server, api_key):
    answer = raw_post(server, "/score", b" " * 20_000_000, api_key, "application/json")
    assert answer.status_code == 413 and "trop volumineuse" in answer.json()["error"]
    assert httpx.get(f"{server.url}/readyz").status_code == 200


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/score", {"offers": [{}], "debug": True}, "debug"),
    ("/latest", {"limit": False}, "limit"),
    ("/feedback", {"offer_id": "184NQNL", "outcome": "filled", "outcome_date": 0}, "outcome_date"),
    ("/feedback", {"offer_id": "184NQNL", "outcome": "filled", "outcome_date": "0001-01-01"}, "outcome_date"),
    ("/feedback", {"offer_id": "jean.dupont@example.fr", "action": "agreed"}, "offer_id"),
    ("/feedback", {"offer_id": "184NQNL", "action": "agreed", "model_version": "Mme Dupont 0612345678"},
     "model_version"),
    ("/feedback", {"offer_id": "184NQNL", "action": "agreed", "model_version": "999999"}, "model_version"),
])
def test_bad_top_levels_are_400_naming_the_field(server, api_key, store_url, path, body, field):
    answer = post(server, path, body, api_key)
    assert answer.status_code == 400, answer.text
    assert field in [f["field"] for f in answer.json()["fields"]]
    assert "Dupont" not in PredictionStore(store_url).feedback().to_string()


def test_feedback_naming_the_served_version_is_stored(server, api_key, trained_store):
    version = str(trained_store.champion_version)
    answer = post(server, "/feedback", {"offer_id": "184NQNL", "action": "agreed", "model_version": version},
                  api_key)
    assert answer.status_code == 200 and answer.json()["feedback_id"] >= 1
    only_outcome = post(server, "/feedback", {"offer_id": "184NQNL", "outcome": "filled",
                                              "outcome_date": "2025-11-20"}, api_key)
    assert only_outcome.status_code == 200 and only_outcome.json()["feedback_id"] is None


def test_the_served_document_is_typed_and_secured(server):
    document = httpx.get(f"{server.url}/docs.json").json()
    offers = document["components"]["schemas"]["ScoreRequest"]["properties"]["offers"]
    assert offers["items"] == {"$ref": "#/components/schemas/Offer"}
    assert "bearerAuth" in document["components"]["securitySchemes"]
    assert {"400", "401", "413", "429", "503"} <= set(document["paths"]["/score"]["post"]["responses"])
    assert {"/healthz", "/readyz"} <= set(document["paths"])
