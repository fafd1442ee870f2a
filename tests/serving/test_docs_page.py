"""Nothing but the service: the pages an adviser opens (the API documentation at /, the dashboard)
fetch nothing from anywhere but 127.0.0.1, in a real Chromium against the real service; every
request the pages make (scripts, styles, images, fonts, API calls, frames) is recorded."""

from pathlib import Path
from urllib.parse import urlsplit

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def recorded(browser):
    """A fresh browser context; every request any of its pages makes, and console errors."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, locale="fr-FR")
    requests: list[str] = []
    errors: list[str] = []
    context.on("request", lambda request: requests.append(request.url))
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page, requests, errors
    context.close()


def off_machine(urls: list[str]) -> list[str]:
    return [u for u in urls if urlsplit(u).scheme not in ("data", "blob", "about")
            and urlsplit(u).hostname != "127.0.0.1"]


def test_the_recorder_sees_bentoml_s_own_page_call_google_tag_manager(recorded):
    # The control: BentoML's page, as it ships, is caught fetching Google Tag Manager.
    import _bentoml_impl.server

    page, requests, _ = recorded
    page.set_content((Path(_bentoml_impl.server.__file__).parent / "main-openapi.html").read_text("utf-8"))
    page.wait_for_load_state("load")
    assert any("googletagmanager.com" in url for url in off_machine(requests)), requests


def test_the_api_documentation_page_fetches_nothing_from_elsewhere(recorded, server):
    page, requests, errors = recorded
    page.goto(f"{server.url}/")
    # Swagger UI rendered from the service's own document: the routes are listed.
    page.locator(".opblock-summary-path", has_text="/score").first.wait_for()
    page.locator(".opblock-summary-path", has_text="/feedback").first.click()  # open a route, as a reader would
    page.wait_for_load_state("networkidle")
    assert "googletagmanager" not in page.content()
    assert f"{server.url}/docs.json" in requests
    assert off_machine(requests) == []
    assert errors == []  # among them, anything the page's Content-Security-Policy refused


def test_the_dashboard_fetches_nothing_from_elsewhere(recorded, server, api_key):
    page, requests, errors = recorded
    page.goto(f"{server.url}/dashboard")
    page.get_by_test_id("model").filter(has_text="version").wait_for()
    page.get_by_test_id("api-key").fill(api_key)
    page.get_by_test_id("save-key").click()
    page.get_by_test_id("latest-button").click()
    page.get_by_test_id("status").filter(has_text="évaluée").wait_for()
    page.wait_for_load_state("networkidle")
    assert any(url.startswith(f"{server.url}/latest") for url in requests), requests
    assert off_machine(requests) == []
    assert errors == []
