"""`hardtofill ingest`: JSON lines into a Parquet history partitioned by month, read back."""

import gzip
import json

import orjson
import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from features.columnar import MANIFEST, REJECTED, IngestError, ingest, partition_files
from features.generator.simulate import GeneratorConfig
from features.generator.write import write_history
from features.ingest import OFFER_COLUMNS, read_history
from hardtofill.cli import app
from tests.personal_data import files_under, leaked, personal_strings


@pytest.fixture(scope="module")
def lines_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("columnar") / "offers.jsonl.gz"
    write_history(GeneratorConfig(offers=6_000, months=5, seed=3), path, progress=False)
    return path


@pytest.fixture(scope="module")
def parquet_path(lines_path):
    out = lines_path.parent / "offers.parquet"
    ingest(lines_path, out, chunk_lines=1_000, progress=False)  # small chunks: several batches a month
    return out


def test_same_history_from_parquet_as_from_json_lines(lines_path, parquet_path):
    from_json = read_history(lines_path, progress=False)
    from_parquet = read_history(parquet_path, progress=False)
    pd.testing.assert_frame_equal(from_parquet.offers, from_json.offers, check_dtype=False)
    pd.testing.assert_frame_equal(from_parquet.lifecycle, from_json.lifecycle, check_dtype=False)
    pd.testing.assert_series_equal(from_parquet.oracle, from_json.oracle)
    assert from_parquet.extracted_at == from_json.extracted_at


def test_one_folder_per_creation_month(parquet_path):
    files = partition_files(parquet_path)
    months = sorted({f.parent.name for f in files})
    assert months == ["month=2023-01", "month=2023-02", "month=2023-03", "month=2023-04", "month=2023-05"]
    for file in files:
        created = pq.read_table(file, columns=["created_at"])["created_at"].to_pandas()
        assert (created.dt.strftime("%Y-%m") == file.parent.name.removeprefix("month=")).all()
    manifest = json.loads((parquet_path / MANIFEST).read_text())
    assert manifest["kept"] == 6_000 and manifest["rejected"] == 0


def test_only_the_columns_asked_for_are_read(parquet_path):
    history = read_history(parquet_path, progress=False, columns=["rome_code", "salary_label"])
    assert list(history.offers.columns) == ["offer_id", "created_at", "rome_code", "salary_label"]
    with pytest.raises(ValueError, match="nom"):
        read_history(parquet_path, progress=False, columns=["nom"])


def _bad_lines_file(tmp_path, sample_offers_raw):
    good = [{"offer": o, "lifecycle": {"outcome": "filled", "outcome_date": "2024-06-01T00:00:00Z",
                                       "extracted_at": "2024-07-01T00:00:00Z"}, "oracle": {"p_hard_to_fill": 0.4}}
            for o in sample_offers_raw[:6]]
    wrong_rome = dict(sample_offers_raw[6], romeCode="Z99")
    lines = [orjson.dumps(good[0]), b"{not json", orjson.dumps(good[1]), orjson.dumps({"offer": wrong_rome}),
             orjson.dumps(good[2]), b"[1, 2]", *(orjson.dumps(g) for g in good[3:]),
             *(orjson.dumps(o) for o in sample_offers_raw[7:30])]  # bare API offers: no lifecycle yet
    path = tmp_path / "export.jsonl.gz"
    with gzip.open(path, "wb") as stream:
        stream.write(b"\n".join(lines) + b"\n")
    return path


def test_bad_lines_are_reported_by_number_and_the_rest_kept(tmp_path, sample_offers_raw):
    source = _bad_lines_file(tmp_path, sample_offers_raw)
    out = tmp_path / "export.parquet"
    result = CliRunner().invoke(app, ["ingest", str(source), "--out", str(out), "--quiet"])
    assert result.exit_code == 1, result.output
    assert "line 2: not JSON" in result.output
    assert "line 4: offer #3" in result.output and "romeCode" in result.output
    assert "line 6: not a JSON object" in result.output
    assert "Ingested 29 of 32 lines" in result.output
    rejected = [json.loads(line) for line in (out / REJECTED).read_text().splitlines()]
    assert [r["line"] for r in rejected] == [2, 4, 6]
    history = read_history(out, progress=False)
    assert len(history) == 29
    assert history.lifecycle["outcome"].notna().sum() == 6  # bare offers have no outcome yet
    assert history.oracle.isna().sum() == 23


def test_no_personal_data_reaches_the_parquet_history(tmp_path, sample_offers_raw):
    secrets = personal_strings(sample_offers_raw)
    assert secrets, "the sample should carry contact data for this test to mean anything"
    source = tmp_path / "sample.jsonl"
    source.write_bytes(b"".join(orjson.dumps(o) + b"\n" for o in sample_offers_raw))
    report = ingest(source, tmp_path / "sample.parquet", progress=False)
    assert report.kept == len(sample_offers_raw)
    assert leaked(files_under(tmp_path / "sample.parquet"), secrets) == {}


def test_an_existing_history_is_kept_unless_replaced(tmp_path, lines_path, parquet_path):
    before = sorted(p.stat().st_mtime_ns for p in partition_files(parquet_path))
    with pytest.raises(IngestError, match="--replace"):
        ingest(lines_path, parquet_path, progress=False)
    assert sorted(p.stat().st_mtime_ns for p in partition_files(parquet_path)) == before
    result = CliRunner().invoke(app, ["ingest", str(tmp_path / "missing.jsonl"), "--quiet"])
    assert result.exit_code == 2 and "no such file" in result.output


def test_a_file_without_any_valid_line_writes_nothing(tmp_path):
    source = tmp_path / "junk.jsonl"
    source.write_bytes(b"junk\n{}\n")
    result = CliRunner().invoke(app, ["ingest", str(source), "--quiet"])
    assert result.exit_code == 2
    assert "no valid offer in 2 lines" in result.output and "line 1: not JSON" in result.output
    assert not (tmp_path / "junk.parquet").exists()


def test_offer_columns_only_the_published_fields(parquet_path):
    names = set(pq.read_schema(partition_files(parquet_path)[0]).names)
    assert names == set(OFFER_COLUMNS) | {"outcome", "outcome_at", "extracted_at", "oracle"}
