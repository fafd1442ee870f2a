"""Scoring real offers keeps none of their contact details: not in the answer, the prediction
store or the service's log (checked on the stored bytes)."""

from pathlib import Path

import pytest

from tests.personal_data import leaked, personal_strings


@pytest.mark.integration
def test_scoring_real_offers_keeps_no_contact_in_the_store_or_the_log(server, api_key, store_url,
                                                                       sample_offers_raw):
    import httpx

    secrets = personal_strings(sample_offers_raw)
    assert len(secrets) >= 20, "the sample should carry contact details for this test to mean anything"
    response = httpx.post(f"{server.url}/score", json={"offers": sample_offers_raw},
                          headers={"Authorization": f"Bearer {api_key}"}, timeout=120)
    assert response.status_code == 200
    # Nor in the answer: it goes to a dashboard that may log it.
    assert not [s for s in secrets if s in response.text]
    store_file = Path(store_url.removeprefix("sqlite:///"))
    assert store_file.stat().st_size > 0
    assert leaked([store_file, server.log_path], secrets) == {}
