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


# --- e-mails, phones and names sent through every field of every route ---------------------------

PERSONAL = ("jeanne.martinpii@example.fr", "+33 6 11 22 33 44", "0611223344", "Jeanne MARTINPII")


def _leaf_paths(model, prefix=()) -> list[tuple]:
    """Every field of the offer schema, nested ones and list items included (index 0)."""
    import types
    import typing

    from pydantic import BaseModel

    paths = []
    for name, field in model.model_fields.items():
        inner = field.annotation
        if typing.get_origin(inner) in (typing.Union, types.UnionType):  # X | None
            inner = next(a for a in typing.get_args(inner) if a is not type(None))
        if typing.get_origin(inner) is list:
            item = typing.get_args(inner)[0]
            if isinstance(item, type) and issubclass(item, BaseModel):
                paths += _leaf_paths(item, (*prefix, name, 0))
                continue
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            paths += _leaf_paths(inner, (*prefix, name))
            continue
        paths.append((*prefix, name))
    return paths


def _with(offer: dict, path: tuple, value) -> dict:
    import copy

    offer = copy.deepcopy(offer)
    node = offer
    for position, part in enumerate(path[:-1]):
        if isinstance(part, int):
            while len(node) <= part:
                node.append({})
        elif not isinstance(node.get(part), (dict, list)):
            node[part] = [] if isinstance(path[position + 1], int) else {}
        node = node[part]
    node[path[-1]] = value
    return offer


@pytest.mark.integration
def test_personal_data_sent_through_every_field_is_found_nowhere(server, api_key, store_url, trained_store,
                                                                 sample_offers_raw):
    import httpx

    from features.schema import Offer
    from tests.personal_data import files_under

    headers = {"Authorization": f"Bearer {api_key}"}
    base = {k: v for k, v in sample_offers_raw[5].items() if k not in ("contact", "agence", "description")}
    offers = []
    for path in _leaf_paths(Offer):
        for value in PERSONAL:
            offers.append(_with(base, path, value))
    for value in PERSONAL:  # fields the schema does not know, and keys
        offers.append({**base, "commentaire": value, value: value, "contact": {"nom": value, "courriel": value}})
    answer = httpx.post(f"{server.url}/score", json={"offers": offers}, headers=headers, timeout=300)
    assert answer.status_code == 200, answer.text[:500]
    body = answer.json()
    assert len(body["results"]) + len(body["refused"]) == len(offers)
    statuses = [answer.status_code]
    for value in PERSONAL:
        requests = [
            ("/score", {"offers": [base], value: value}),
            ("/explain", {"offer": _with(base, ("romeLibelle",), value)}),
            ("/latest", {"limit": value}),
            ("/latest", {"limit": 5, "commentaire": value}),
        ]
        for field in ("offer_id", "action", "reason_code", "risk", "model_version", "outcome", "outcome_date",
                      "commentaire"):
            requests.append(("/feedback", {"offer_id": base["id"], "action": "agreed", field: value}))
        requests.append(("/feedback", {"offer_id": base["id"], "outcome": "filled", "outcome_date": value}))
        for route, request in requests:
            statuses.append(httpx.post(f"{server.url}{route}", json=request, headers=headers, timeout=120).status_code)
    assert all(status < 500 for status in statuses)
    store_file = Path(store_url.removeprefix("sqlite:///"))
    mlflow_files = files_under(Path(trained_store.artifact_root),
                               Path(trained_store.tracking_uri.removeprefix("sqlite:///")).parent)
    found = leaked([store_file, server.log_path, *mlflow_files], set(PERSONAL))
    print(f"personal data sent: {len(offers)} offers and {len(statuses) - 1} requests; found: {found}")
    assert found == {}
