"""The service against a real `bentoml serve` on a free local port, with the trained champion."""

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from serving.store import PredictionStore

pytestmark = [pytest.mark.integration, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]
NOTICE_WORDS = ("algorithme", "conseil", "conseiller décide")


def post(server, path, body, key=None, timeout=120):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.post(f"{server.url}{path}", json=body, headers=headers, timeout=timeout)


@pytest.fixture(scope="module")
def all_scored(server, api_key, sample_offers_raw):
    response = post(server, "/score", {"offers": sample_offers_raw}, api_key)
    assert response.status_code == 200, response.text
    return response.json()


def test_all_real_offers_scored_with_reasons_advice_notice_and_version(all_scored, sample_offers_raw,
                                                                       trained_store, store_url, server, api_key):
    answer = all_scored
    assert answer["model"] == {"name": "hardtofill", "version": str(trained_store.champion_version)}
    assert all(word in answer["notice"] for word in NOTICE_WORDS)
    results = answer["results"]
    assert [r["offer_id"] for r in results] == [o["id"] for o in sample_offers_raw]
    assert len(results) == 519
    for result in results:
        assert 0.0 <= result["probability"] <= 1.0
        assert result["risk"] in ("low", "medium", "high")
        assert 1 <= len(result["factors"]) <= 3
        for factor in result["factors"]:
            assert factor["sentence"].endswith("risque.") and factor["contribution"] != 0
        for advice in result["recommendations"]:
            assert advice["probability"] < result["probability"] - 0.009
            assert advice["change"] and advice["sentence"]
    with_advice = [r for r in results if r["recommendations"]]
    assert len(with_advice) >= 50, "advice applies to many real offers (experience, contract, salary...)"
    # Every score is stored with its version, features and audit groups (by the writer thread,
    # just after the answer: /latest waits for it).
    assert post(server, "/latest", {"limit": 1}, api_key).status_code == 200
    stored = PredictionStore(store_url).scores()
    mine = stored[stored["offer_id"].isin([o["id"] for o in sample_offers_raw])]
    assert len(mine) >= 519
    assert set(mine["model_version"]) == {str(trained_store.champion_version)}
    assert mine["audit_region"].notna().all() and (mine["audit_region"] != "").all()
    assert mine["rome_code"].notna().mean() > 0.99


def test_same_offer_alone_or_in_a_batch_gets_the_same_answer(server, api_key, all_scored, sample_offers_raw):
    for index in (0, 137, 518):
        alone = post(server, "/score", {"offers": [sample_offers_raw[index]]}, api_key).json()["results"][0]
        batched = dict(all_scored["results"][index])
        assert alone.pop("index") == 0 and batched.pop("index") == index
        assert alone.pop("score_id") != batched.pop("score_id")  # two scores, each stored
        assert alone == batched


def test_score_one_answers_concurrent_clients_each_with_its_own_offer(server, api_key, store_url, all_scored,
                                                                     sample_offers_raw):
    """Eight clients sending one offer each to /score_one at once (BentoML may merge their offers
    into one call): each gets, in a list of one, the answer /score gives for its offer, stored."""
    from concurrent.futures import ThreadPoolExecutor

    picked = list(range(0, 519, 13))[:40]

    def one(index):
        return index, post(server, "/score_one", {"offers": [sample_offers_raw[index]]}, api_key)

    assert post(server, "/latest", {"limit": 1}, api_key).status_code == 200  # earlier scores stored first
    before = len(PredictionStore(store_url).scores())
    with ThreadPoolExecutor(max_workers=8) as clients:
        answers = list(clients.map(one, picked))
    for index, answer in answers:
        assert answer.status_code == 200, answer.text
        (body,) = answer.json()
        assert all(word in body["notice"] for word in NOTICE_WORDS) and body["refused"] == []
        (result,) = body["results"]
        batched = dict(all_scored["results"][index])
        assert result.pop("index") == 0 and batched.pop("index") == index
        assert result.pop("score_id") != batched.pop("score_id")
        assert result == batched
    assert post(server, "/latest", {"limit": 1}, api_key).status_code == 200  # the writer has stored them
    assert len(PredictionStore(store_url).scores()) == before + len(picked)


def test_salary_reason_names_the_market_median(all_scored):
    salary_sentences = [f["sentence"] for r in all_scored["results"] for f in r["factors"]
                        if f["feature"] == "salary_vs_market" and f["value"] is not None]
    if salary_sentences:  # the trained model may rank salary out of the top three everywhere
        assert any("médiane du marché" in s and "€" in s for s in salary_sentences)


def test_explain_gives_all_contributions_base_rate_and_the_crpa_items(server, api_key, all_scored,
                                                                      sample_offers_raw):
    response = post(server, "/explain", {"offer": sample_offers_raw[3]}, api_key)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["model"] == all_scored["model"] and "conseiller décide" in answer["notice"]
    assert answer["probability"] == pytest.approx(all_scored["results"][3]["probability"], abs=1e-12)
    from features.spec import FEATURE_NAMES

    contributions = answer["contributions"]
    assert sorted(c["feature"] for c in contributions) == sorted(FEATURE_NAMES)  # every feature, once
    assert answer["base_value"] + sum(c["contribution"] for c in contributions) == pytest.approx(
        answer["raw_score"], abs=1e-9)
    assert 0 < answer["base_rate"] < 1
    assert set(answer["crpa"]) == {"degre_et_mode_de_contribution", "donnees_traitees_et_sources",
                                   "parametres_et_ponderation", "operations_effectuees"}
    assert f"{round(100 * answer['probability'])}\u00a0%" in answer["crpa"]["parametres_et_ponderation"]
    assert contributions[0]["sentence"][:-1] in answer["crpa"]["parametres_et_ponderation"]


def test_keys_create_revoke_and_open_health_endpoints(server, store_url, sample_offers_raw):
    body = {"offers": sample_offers_raw[:1]}
    assert post(server, "/score", body).status_code == 401
    assert post(server, "/score", body, "htf_not-a-key").status_code == 401
    assert httpx.post(f"{server.url}/score", json=body, headers={"Authorization": "Basic abc"}).status_code == 401
    env = {**os.environ, "HARDTOFILL_STORE_URL": store_url}
    created = subprocess.run([sys.executable, "-m", "hardtofill", "keys", "create", "agence-test"], env=env,
                             capture_output=True, text=True, cwd=REPO)
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("htf_") and " " not in key
    assert key not in PredictionStore(store_url).api_keys().to_string()
    assert post(server, "/score", body, key).status_code == 200
    feedback = post(server, "/feedback", {"offer_id": sample_offers_raw[0]["id"], "action": "prioritised"}, key)
    assert feedback.status_code == 200
    revoked = subprocess.run([sys.executable, "-m", "hardtofill", "keys", "revoke", "agence-test"], env=env,
                             capture_output=True, text=True, cwd=REPO)
    assert revoked.returncode == 0, revoked.stderr
    assert post(server, "/score", body, key).status_code == 401
    assert key not in server.log_text()
    stored = PredictionStore(store_url).feedback()
    assert "agence-test" in set(stored["client"])  # the key's name, not a person
    for path in ("/healthz", "/readyz", "/metrics", "/docs.json", "/model_card", "/dashboard"):
        assert httpx.get(f"{server.url}{path}").status_code == 200, path


def test_errors_name_the_offer_and_field_are_one_log_line_and_store_nothing(server, api_key, store_url,
                                                                           sample_offers_raw):
    before = len(PredictionStore(store_url).scores())
    offers = [dict(o) for o in sample_offers_raw[:5]]
    offers[3]["romeCode"] = "not a code"
    response = post(server, "/score", {"offers": offers}, api_key)
    assert response.status_code == 200  # a partial batch: the four others are scored (and stored)
    assert [r["index"] for r in response.json()["results"]] == [0, 1, 2, 4]
    refused = response.json()["refused"]
    assert [(r["index"], r["offer_id"]) for r in refused] == [(3, offers[3]["id"])]
    assert [f["field"] for f in refused[0]["fields"]] == ["romeCode"]
    assert "offre n° 4" in refused[0]["error"] and "romeCode" in refused[0]["error"]
    before += 4
    missing = dict(sample_offers_raw[0])
    del missing["typeContrat"]
    response = post(server, "/explain", {"offer": missing}, api_key)
    assert response.status_code == 400 and "typeContrat" in response.json()["error"]
    too_many = post(server, "/score", {"offers": sample_offers_raw * 2}, api_key)
    assert too_many.status_code == 413 and too_many.json()["limit"] == 1000 and "1000" in too_many.json()["error"]
    assert post(server, "/score", {"offers": []}, api_key).status_code == 400
    assert post(server, "/score", {"offres": sample_offers_raw[:1]}, api_key).status_code == 400
    not_json = httpx.post(f"{server.url}/score", content=b"{not json", timeout=30,
                          headers={"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"})
    assert not_json.status_code == 400
    comment = post(server, "/feedback", {"offer_id": "184NQNL", "action": "disagreed", "comment": "appeler M. Dupont"},
                   api_key)
    assert comment.status_code == 400 and "comment" in comment.text
    free_reason = post(server, "/feedback", {"offer_id": "184NQNL", "action": "disagreed", "reason_code": "il ment"},
                       api_key)
    assert free_reason.status_code == 400 and "reason_code" in free_reason.text
    no_date = post(server, "/feedback", {"offer_id": "184NQNL", "outcome": "filled"}, api_key)
    assert no_date.status_code == 400 and "outcome_date" in no_date.text
    assert len(PredictionStore(store_url).scores()) == before
    assert "Dupont" not in PredictionStore(store_url).feedback().to_string()
    log = server.log_text()
    assert "Traceback" not in log
    assert "1 refused #3 (id " in log and "400 on /feedback: comment" in log
    assert "Dupont" not in log


def test_model_card_and_openapi(server, all_scored):
    card = httpx.get(f"{server.url}/model_card").json()
    assert card["model"] == all_scored["model"] and card["card"] and set(card["risk_bands"]) == {"medium", "high"}
    paths = httpx.get(f"{server.url}/docs.json").json()["paths"]
    assert {"/score", "/explain", "/feedback", "/latest"} <= set(paths)


def test_feedback_and_outcomes_survive_a_restart(server_factory, sample_offers_raw, tmp_path):
    from serving.keys import hash_key, new_key

    url = f"sqlite:///{tmp_path / 'restart.db'}"
    key = new_key()
    PredictionStore(url).add_api_key("restart", hash_key(key))
    first = server_factory(store_url=url)
    offer_id = sample_offers_raw[10]["id"]
    scored = post(first, "/score", {"offers": [sample_offers_raw[10]]}, key).json()["results"][0]
    answer = post(first, "/feedback", {"offer_id": offer_id, "action": "disagreed",
                                       "reason_code": "candidates_identified", "risk": scored["risk"]}, key)
    assert answer.status_code == 200 and answer.json()["feedback_id"] >= 1
    outcome = post(first, "/feedback", {"offer_id": offer_id, "outcome": "filled", "outcome_date": "2025-11-20"}, key)
    assert outcome.status_code == 200 and outcome.json()["outcome_recorded"] is True
    first.stop()
    second = server_factory(store_url=url)
    latest = post(second, "/latest", {"limit": 10}, key)
    assert latest.status_code == 200 and latest.json()["results"][0]["offer_id"] == offer_id
    assert latest.json()["results"][0]["factors"]
    store = PredictionStore(url)
    feedback = store.feedback()
    assert feedback[["offer_id", "action", "reason_code", "client", "risk"]].values.tolist() == [
        [offer_id, "disagreed", "candidates_identified", "restart", scored["risk"]]]
    assert store.outcomes()[["offer_id", "outcome"]].values.tolist() == [[offer_id, "filled"]]
    second.stop()


def test_not_ready_without_a_champion(server_factory, tmp_path, sample_offers_raw):
    from serving.keys import hash_key, new_key

    url = f"sqlite:///{tmp_path / 'empty_store.db'}"
    key = new_key()
    PredictionStore(url).add_api_key("nochampion", hash_key(key))
    empty = {"HARDTOFILL_TRACKING_URI": f"sqlite:///{tmp_path / 'empty_mlflow.db'}",
             "HARDTOFILL_ARTIFACT_ROOT": str(tmp_path / "artifacts")}
    server = server_factory(store_url=url, env=empty, ready=False)
    assert httpx.get(f"{server.url}/healthz").status_code == 200
    assert httpx.get(f"{server.url}/readyz").status_code == 503
    response = post(server, "/score", {"offers": sample_offers_raw[:1]}, key)
    assert response.status_code == 503 and "champion" in response.json()["error"]
    response = post(server, "/score_one", {"offers": sample_offers_raw[:1]}, key)
    assert response.status_code == 503 and "champion" in response.json()["error"]
    assert httpx.get(f"{server.url}/model_card").status_code == 503
    reasons = [line for line in server.log_text().splitlines() if "not ready, no model served" in line]
    assert len(reasons) >= 1 and "alias 'champion'" in reasons[0]
    assert "Traceback" not in server.log_text()
    assert PredictionStore(url).scores().empty
    server.stop()


def test_dashboard_codes_match_the_store_records(server):
    from serving.records import ACTIONS, REASON_CODES

    codes = httpx.get(f"{server.url}/dashboard/codes.json").json()
    assert codes == {"actions": ACTIONS, "reasons": REASON_CODES}
    page = httpx.get(f"{server.url}/dashboard").text
    assert "htf_" not in page.replace('placeholder="htf_…"', "")  # no key in the page


def test_hardtofill_serve_creates_a_local_key_once_and_says_where_things_are(trained_store, tmp_path,
                                                                              sample_offers_raw):
    import signal
    import time

    from tests.serving.conftest import free_port, server_env

    port = free_port()
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    env = {**server_env(tmp_path, url, trained_store.env), "HARDTOFILL_PORT": str(port)}
    out, err = open(tmp_path / "out", "wb"), open(tmp_path / "err", "wb")
    process = subprocess.Popen([sys.executable, "-m", "hardtofill", "serve", "--no-train"], cwd=REPO, env=env,
                               stdout=out, stderr=err, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, (tmp_path / "err").read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "err").read_text()
            time.sleep(0.3)
        key = (tmp_path / "out").read_text().strip().splitlines()[0]
        assert key.startswith("htf_")
        said = " ".join((tmp_path / "err").read_text().split())
        for where in ("/dashboard", "/docs.json", "/metrics", f"127.0.0.1:{port}"):
            assert where in said
        answer = httpx.post(f"http://127.0.0.1:{port}/score", json={"offers": sample_offers_raw[:2]},
                            headers={"Authorization": f"Bearer {key}"}, timeout=60)
        assert answer.status_code == 200
        assert list(PredictionStore(url).active_key_hashes()) == ["local"]
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        out.close()
        err.close()
