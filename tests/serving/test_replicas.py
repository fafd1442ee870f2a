"""Serving replicas: two `bentoml serve` instances share one PostgreSQL prediction store and one
MLflow registry; monitoring sees the scores of both, and a key revoked once is refused by both.
Also: the bento (bentofile.yaml) holds only what serving needs."""

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pandas as pd
import pytest

from serving.store import PredictionStore

pytestmark = [pytest.mark.integration, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]


def _score(server, offers, key):
    return httpx.post(f"{server.url}/score", json={"offers": offers}, headers={"Authorization": f"Bearer {key}"},
                      timeout=120)


def _monitored_offer_ids(store_url: str, expected: set[str]) -> set[str]:
    """Offer ids in the current month's period as monitoring reads the store (waiting a little
    for score writes that may be off the request's critical path)."""
    from monitoring.periods import Period
    from monitoring.sources import from_store

    now = pd.Timestamp.now(tz="UTC")
    period = Period(start=now.normalize().replace(day=1), end=now + pd.Timedelta(days=1), kind="month")
    seen: set[str] = set()
    for _ in range(50):
        store = PredictionStore(store_url)
        seen = {o for data in from_store(store, [period], now + pd.Timedelta(seconds=1))
                for o in data.current["offer_id"]}
        store.close()
        if expected <= seen:
            break
        time.sleep(0.2)
    return seen


def test_two_replicas_share_the_store_and_the_registry(server_factory, trained_store, postgres_url,
                                                        sample_offers_raw, tmp_path):
    from hardtofill.telemetry import TELEMETRY_OFF
    from serving.keys import hash_key, new_key

    key = new_key()
    PredictionStore(postgres_url).add_api_key("replicas", hash_key(key))
    first = server_factory(store_url=postgres_url)
    second = server_factory(store_url=postgres_url)
    from_first, from_second = sample_offers_raw[40:43], sample_offers_raw[43:46]
    answers = [_score(first, from_first, key), _score(second, from_second, key)]
    assert [a.status_code for a in answers] == [200, 200], [a.text[:300] for a in answers]
    versions = {a.json()["model"]["version"] for a in answers}
    assert versions == {str(trained_store.champion_version)}  # one registry, one champion

    ids = {o["id"] for o in from_first + from_second}
    assert ids <= _monitored_offer_ids(postgres_url, ids)

    env = {**TELEMETRY_OFF, "PATH": "/usr/bin:/bin", "HARDTOFILL_STORE_URL": postgres_url}
    revoked = subprocess.run([sys.executable, "-m", "hardtofill", "keys", "revoke", "replicas"], env=env,
                             capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert revoked.returncode == 0, revoked.stderr
    refused = [_score(first, from_first[:1], key).status_code, _score(second, from_first[:1], key).status_code]
    assert refused == [401, 401]


def test_the_bento_holds_only_what_serving_needs(tmp_path, trained_store, sample_offers_raw):
    import json

    from hardtofill.telemetry import TELEMETRY_OFF

    env = {**TELEMETRY_OFF, "PATH": "/usr/bin:/bin", "BENTOML_HOME": str(tmp_path / "bentoml")}
    built = subprocess.run([str(REPO / ".venv/bin/bentoml"), "build", "--output", "tag"], cwd=REPO, env=env,
                           capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr[-2000:]
    [bento] = [p for p in (tmp_path / "bentoml" / "bentos" / "hardtofill").iterdir() if p.name != "latest"]
    requirements = (bento / "env/python/requirements.txt").read_text().lower()
    for needed in ("bentoml==", "lightgbm==", "mlflow-skinny==", "psycopg", "sqlalchemy=="):
        assert needed in requirements
    for heavy in ("shap", "evidently", "playwright", "dask", "fairlearn", "codecarbon", "jupyter"):
        assert heavy not in requirements
    assert (bento / "env/docker/Dockerfile").is_file()
    source = bento / "src"
    assert not (source / "tests").exists() and not (source / "notebooks").exists()
    assert (source / "serving/migrations/versions").is_dir()  # the prediction store's migrations
    # The bento's source alone imports the service, loads the champion from the SQLite registry
    # and scores, with the left-out packages unimportable (tests/serving/bento_imports.py).
    offers = tmp_path / "offers.json"
    offers.write_text(json.dumps(sample_offers_raw[:3]), encoding="utf-8")
    imported = subprocess.run([sys.executable, str(Path(__file__).with_name("bento_imports.py")), str(source),
                               str(offers)], cwd=source, env={**env, **trained_store.env},
                              capture_output=True, text=True, timeout=300)
    assert imported.returncode == 0, imported.stderr[-3000:]
    outcome = json.loads(imported.stdout.strip().splitlines()[-1])
    assert outcome == {"version": str(trained_store.champion_version), "scored": 3}
