"""Training keeps no contact detail of the history in MLflow (database and artifacts, as stored)."""

from pathlib import Path

from tests.personal_data import files_under, leaked, personal_strings


def test_training_keeps_no_contact_in_mlflow(trained_store, small_history_path, tmp_path):
    import gzip
    import json

    with gzip.open(small_history_path, "rt", encoding="utf-8") as lines:
        offers = [json.loads(line)["offer"] for _, line in zip(range(5000), lines, strict=False)]
    secrets = personal_strings(offers)
    assert len(secrets) >= 100, "generated offers should carry contacts for this test to mean anything"
    database = Path(trained_store.tracking_uri.removeprefix("sqlite:///"))
    artifacts = files_under(Path(trained_store.artifact_root))
    assert len(artifacts) > 10
    control = tmp_path / "control.txt"  # the search finds a contact where there is one
    control.write_text(f"x;{sorted(secrets)[0]};y", encoding="utf-8")
    assert leaked([control], secrets)
    assert leaked([database, *artifacts], secrets) == {}
