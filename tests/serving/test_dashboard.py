"""The adviser's page in a real headless Chromium (Debian's), driven by Playwright, against the
real service: load the real offers, see them by risk with reasons, record an action, find it stored."""

import json

import pytest

from serving.store import PredictionStore

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, locale="fr-FR")
    page = context.new_page()
    page.set_default_timeout(60_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{server.url}/dashboard")
    yield page
    context.close()
    assert not errors, errors


def use_key(page, key):
    page.get_by_test_id("api-key").fill(key)
    page.get_by_test_id("save-key").click()
    assert "enregistrée" in page.get_by_test_id("key-state").inner_text()


def test_adviser_scores_the_real_offers_sees_risk_and_reasons_and_records_an_action(
        page, api_key, sample_offers_raw, tmp_path, store_url, trained_store):
    from playwright.sync_api import expect

    # The page asks for the model card when it opens.
    expect(page.get_by_test_id("model")).to_contain_text(f"version {trained_store.champion_version}")
    expect(page.get_by_test_id("notice")).to_contain_text("conseiller décide")
    use_key(page, api_key)
    assert api_key not in page.content()  # the key is not written back into the page
    upload = tmp_path / "offres.json"
    upload.write_text(json.dumps({"resultats": sample_offers_raw}), encoding="utf-8")
    page.get_by_test_id("offers-file").set_input_files(str(upload))
    page.get_by_text("519 offre(s) évaluée(s).").wait_for()

    offers = page.get_by_test_id("offer")
    assert offers.count() == 519
    assert "519 offre(s)" in page.get_by_test_id("summary").inner_text()
    shown = [float(p.replace("%", "").strip()) for p in page.get_by_test_id("probability").all_inner_texts()]
    assert shown == sorted(shown, reverse=True)  # riskiest first
    first = offers.first
    assert first.get_by_test_id("band").inner_text().lower().startswith("risque ")
    reasons = first.get_by_test_id("factors").locator("li").all_inner_texts()
    assert reasons and all(r.endswith("risque.") for r in reasons)
    assert first.get_by_test_id("advice").locator("li").count() >= 1  # advice, or a line saying there is none
    assert page.get_by_text("si c'est fait").count() >= 1  # some real offers get advice with a new probability
    assert "conseiller décide" in page.get_by_test_id("notice").inner_text()

    offer_id = first.get_by_test_id("offer-id").inner_text()
    first.get_by_test_id("action").select_option("disagreed")
    first.get_by_test_id("reason").select_option("recruiter_known_fast")
    first.get_by_test_id("record").click()
    first.get_by_text("Enregistré ✓").wait_for()
    stored = PredictionStore(store_url).feedback()
    mine = stored[(stored["offer_id"] == offer_id) & (stored["action"] == "disagreed")]
    assert len(mine) == 1
    assert mine.iloc[0]["reason_code"] == "recruiter_known_fast" and mine.iloc[0]["client"] == "tests"
    assert mine.iloc[0]["model_version"] == str(trained_store.champion_version)
    assert mine.iloc[0]["risk"] in ("low", "medium", "high")
    with page.expect_response(lambda r: r.url.endswith("/feedback")) as again:
        first.get_by_test_id("record").click()  # sent again (a double click, a retry): stored once
    assert again.value.status == 200 and again.value.headers.get("idempotent-replayed") == "true"
    stored = PredictionStore(store_url).feedback()
    assert len(stored[(stored["offer_id"] == offer_id) & (stored["action"] == "disagreed")]) == 1


def test_latest_offers_bad_json_and_a_wrong_key(page, api_key):
    use_key(page, "htf_wrong")
    page.get_by_test_id("offers-json").fill('[{"id": "X"}]')
    page.get_by_test_id("score-button").click()
    page.get_by_text("Clé d'API refusée").wait_for()
    use_key(page, api_key)
    page.get_by_test_id("offers-json").fill("{pas du json")
    page.get_by_test_id("score-button").click()
    page.get_by_text("JSON illisible").wait_for()
    page.get_by_test_id("offers-json").fill('[{"id": "X"}]')
    page.get_by_test_id("score-button").click()
    page.get_by_text("Offre n° 1 du fichier (id invalide)").wait_for()  # named, with every faulty field
    assert "romeCode : champ obligatoire manquant" in page.get_by_test_id("refused").inner_text()
    page.get_by_test_id("latest-button").click()
    page.get_by_text("dernière(s) offre(s) évaluée(s)").wait_for()
    assert page.get_by_test_id("offer").count() >= 1
    assert page.get_by_test_id("factors").first.locator("li").count() >= 1


def test_a_file_with_some_bad_offers_shows_the_valid_ones_and_lists_the_refused_by_position(
        page, api_key, sample_offers_raw, tmp_path):
    import copy

    use_key(page, api_key)
    offers = copy.deepcopy(sample_offers_raw) + copy.deepcopy(sample_offers_raw)  # 1,038: two requests
    offers[2]["dateCreation"] = "2300-01-01T00:00:00Z"
    offers[5].update(nombrePostes="3", alternance="yes")
    offers[1001]["romeCode"] = "<img src=x onerror=alert(1)>"  # in the second request: position 1002
    upload = tmp_path / "offres.json"
    upload.write_text(json.dumps(offers), encoding="utf-8")
    page.get_by_test_id("offers-file").set_input_files(str(upload))
    page.get_by_text("offre(s) évaluée(s), 3 refusée(s)").wait_for(timeout=600_000)  # 1,038 offers
    total = len(offers)
    assert page.get_by_test_id("offer").count() == total - 3
    refused = page.get_by_test_id("refused").locator(":scope > li")
    assert refused.count() == 3
    texts = refused.all_inner_texts()
    assert texts[0].startswith(f"Offre n° 3 du fichier (id {offers[2]['id']})") and "dateCreation" in texts[0]
    assert texts[1].startswith("Offre n° 6 du fichier") and "nombrePostes" in texts[1] and "alternance" in texts[1]
    assert texts[2].startswith("Offre n° 1002 du fichier") and "romeCode" in texts[2]
    assert page.locator("#refused img").count() == 0  # shown as text, never as HTML
