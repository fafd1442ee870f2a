"""Training data built month by month from Parquet equal those built from the whole history."""

import pandas as pd
import pytest

from features.columnar import ingest
from features.generator.simulate import GeneratorConfig
from features.generator.write import write_history
from hardtofill.params import load_params
from training.data import load_history, prepare, training_data


@pytest.fixture(scope="module")
def histories(tmp_path_factory):
    folder = tmp_path_factory.mktemp("partitioned")
    lines = folder / "offers.jsonl.gz"
    write_history(GeneratorConfig(offers=8_000, months=9, seed=11), lines, progress=False)
    ingest(lines, folder / "offers.parquet", progress=False)
    return lines, folder / "offers.parquet"


def _assert_same_snapshot(whole, by_month):
    left, right = whole.context.snapshot(whole.extracted_at), by_month.context.snapshot(by_month.extracted_at)
    for level in left.events:
        pd.testing.assert_frame_equal(left.events[level], right.events[level], check_dtype=False)
    for level in left.salaries:
        pd.testing.assert_frame_equal(left.salaries[level].reset_index(drop=True),
                                      right.salaries[level].reset_index(drop=True), check_dtype=False)


@pytest.mark.parametrize("until", [None, "2023-07-12"])
def test_month_by_month_features_and_context_equal_the_whole_history_s(histories, until):
    lines, parquet = histories
    params = load_params()
    whole = prepare(load_history(lines, until, progress=False), params.context, {})
    by_month = training_data(parquet, until, params.context)
    assert by_month.frame["label"].notna().sum() > 1000  # enough labelled offers for the check to mean something
    pd.testing.assert_frame_equal(whole.frame, by_month.frame, check_dtype=False)
    assert whole.extracted_at == by_month.extracted_at
    _assert_same_snapshot(whole, by_month)
    assert by_month.identity["dataset_offers"] == len(whole.frame)


def test_until_after_the_extraction_is_refused(histories):
    with pytest.raises(ValueError, match="after the extraction date"):
        training_data(histories[1], "2031-01-01", load_params().context)


def test_large_json_lines_are_trained_on_month_by_month_with_the_same_rows(histories, monkeypatch):
    """Above IN_MEMORY_MAX_OFFERS, JSON lines go through a temporary Parquet history (bounded
    memory): the same rows and context as reading them at once, the JSON file's identity."""
    import training.data
    from training.data import file_sha256

    lines, _ = histories
    params = load_params()
    whole = prepare(load_history(lines, None, progress=False), params.context, {})
    monkeypatch.setattr(training.data, "IN_MEMORY_MAX_OFFERS", 1_000)
    notes = []
    by_month = training_data(lines, None, params.context, notes.append)
    assert any("temporary Parquet history" in note for note in notes)  # the bounded path was taken
    pd.testing.assert_frame_equal(whole.frame, by_month.frame, check_dtype=False)
    _assert_same_snapshot(whole, by_month)
    assert by_month.identity["dataset_path"] == str(lines)
    assert by_month.identity["dataset_sha256"] == file_sha256(lines)


def test_large_json_lines_with_a_bad_line_are_refused_naming_it(histories, monkeypatch, tmp_path):
    import gzip

    import training.data

    lines, _ = histories
    with gzip.open(lines, "rb") as stream:
        records = stream.read().splitlines()
    broken = tmp_path / "broken.jsonl"
    broken.write_bytes(b"\n".join(records[:1500] + [b'{"offer": {"id": "X"}'] + records[1500:3000]) + b"\n")
    monkeypatch.setattr(training.data, "IN_MEMORY_MAX_OFFERS", 1_000)
    with pytest.raises(ValueError, match=r"line 1501: not JSON"):
        training_data(broken, None, load_params().context)


def test_an_outcome_before_its_offer_s_creation_month_is_refused(histories, tmp_path):
    """One pass is exact only if every event falls at or after its offer's creation: a history
    where an outcome precedes it is refused, naming the file, not trained on silently."""
    import gzip
    import json

    lines, _ = histories
    with gzip.open(lines, "rb") as stream:
        records = [json.loads(line) for line in stream.read().splitlines()[:3000]]
    late = records[-1]  # the last offer: created in a later month than the first ones
    late["lifecycle"].update(outcome="filled", outcome_date=records[0]["offer"]["dateCreation"])
    broken = tmp_path / "broken.jsonl"
    broken.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    ingest(broken, tmp_path / "broken.parquet", progress=False)
    with pytest.raises(ValueError, match="precedes its creation month"):
        training_data(tmp_path / "broken.parquet", None, load_params().context)
