"""Shared fixtures: small generated histories, written once per test session."""

import pytest

from hardtofill.telemetry import switch_off_telemetry

switch_off_telemetry()

SMALL = {"offers": 40_000, "months": 14, "seed": 7}


@pytest.fixture(scope="session")
def small_history_path(tmp_path_factory):
    """A small history: 40,000 offers over 14 months (2023-01 to 2024-02)."""
    from features.generator.simulate import GeneratorConfig
    from features.generator.write import write_history

    path = tmp_path_factory.mktemp("history") / "offers.jsonl.gz"
    write_history(GeneratorConfig(**SMALL), path, progress=False)
    return path


@pytest.fixture(scope="session")
def small_history(small_history_path):
    from features.ingest import read_history

    return read_history(small_history_path, progress=False)


@pytest.fixture(scope="session")
def sample_offers_raw():
    """The 519 real offers of the public API sample (../shared/data), as decoded JSON."""
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "offres_api_v2_sample.json"
    if not path.is_file():
        pytest.fail(f"real API sample not found at {path}: clone the project beside ../shared")
    return json.loads(path.read_text(encoding="utf-8"))
