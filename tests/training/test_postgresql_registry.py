"""The MLflow tracking store and registry on a real PostgreSQL server, by URL: training logs,
registers and promotes there, and the champion loads back by alias."""

import json

import numpy as np

from tests.stores import train_champion


def test_training_promotes_a_champion_in_a_postgresql_registry(postgres_url, small_history_path, tmp_path,
                                                               monkeypatch, sample_offers_raw):
    import psycopg

    from features.build import build_features
    from features.ingest import offers_frame_from_json
    from hardtofill.settings import get_settings
    from training.champion import load_champion

    with psycopg.connect(postgres_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as db:
        db.execute("CREATE DATABASE mlflow_registry")
    tracking_uri = postgres_url.rsplit("/", 1)[0] + "/mlflow_registry"

    env, outcome = train_champion(tmp_path, small_history_path, tracking_uri=tracking_uri)
    assert env["HARDTOFILL_TRACKING_URI"].startswith("postgresql+psycopg://")

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        champion = load_champion()
    finally:
        get_settings.cache_clear()
    assert champion.version == outcome.version and champion.run_id == outcome.run_id
    features = build_features(offers_frame_from_json(sample_offers_raw[:20]), champion.context)
    probabilities = champion.probabilities(features)
    assert np.all((probabilities > 0) & (probabilities < 1))

    # With a database registry, the audit log of alias moves is kept beside the artifacts.
    moves = [json.loads(line) for line in (tmp_path / "artifacts" / "alias_audit.jsonl").read_text().splitlines()]
    assert moves[-1]["to"] == outcome.version and moves[-1]["alias"] == "champion"
