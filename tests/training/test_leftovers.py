"""What a killed training leaves behind, and a copied store, through the real CLI on real SQLite
MLflow stores: a `hardtofill train` is killed (SIGKILL) while its run is open; the store is copied
elsewhere; the next `hardtofill train`, on the copy, ends the killed run as KILLED and says so, and
writes every artifact under its own HARDTOFILL_ARTIFACT_ROOT, not into the original store's folder;
`hardtofill strays` lists the versions without an alias and archives or deletes them on request."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

pytestmark = [pytest.mark.integration, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]


def store_env(root: Path, params: Path) -> dict[str, str]:
    from hardtofill.telemetry import TELEMETRY_OFF

    return {**os.environ, **TELEMETRY_OFF, "HARDTOFILL_TRACKING_URI": f"sqlite:///{root / 'mlflow.db'}",
            "HARDTOFILL_ARTIFACT_ROOT": str(root / "artifacts"), "HARDTOFILL_MODEL_NAME": "hardtofill",
            "HARDTOFILL_PARAMS_PATH": str(params), "HARDTOFILL_ACTOR": "tests", "OMP_NUM_THREADS": "1"}


def hardtofill(env: dict[str, str], *args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hardtofill", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=1200, **kwargs)


def files_under(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def client(root: Path):
    import mlflow

    return mlflow.MlflowClient(tracking_uri=f"sqlite:///{root / 'mlflow.db'}")


def kill_when_the_run_is_open(process: subprocess.Popen, root: Path) -> str:
    """SIGKILL the training as soon as its MLflow run exists (RUNNING); the run's id. The store is
    read with sqlite3 read-only: an MLflow client would try to create the tables the training is
    creating at the same moment."""
    import sqlite3

    while process.poll() is None:
        try:
            with sqlite3.connect(f"file:{root / 'mlflow.db'}?mode=ro", uri=True) as db:
                running = db.execute("SELECT run_uuid FROM runs WHERE status = 'RUNNING'").fetchall()
        except sqlite3.Error:
            running = []  # no store yet, or its tables being created
        if running:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            return running[0][0]
        time.sleep(0.05)
    pytest.fail(f"the training ended ({process.returncode}) before its run was seen open: "
                f"{process.stderr.read()[-2000:] if process.stderr else ''}")


@pytest.fixture(scope="module")
def leftovers(tmp_path_factory, small_history_path):
    from tests.stores import relaxed_params

    base = tmp_path_factory.mktemp("leftovers")
    params = relaxed_params(training={"num_boost_round": 40, "shap_rows": 300, "reference_rows": 500})
    params_path = base / "params.yaml"
    params_path.write_text(yaml.safe_dump(params.model_dump(mode="json")), encoding="utf-8")

    original, copy = base / "original", base / "copy"
    killed = subprocess.Popen([sys.executable, "-m", "hardtofill", "train", "--history", str(small_history_path),
                               "--quiet"], cwd=REPO, env=store_env(original, params_path),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    killed_run = kill_when_the_run_is_open(killed, original)
    assert client(original).get_run(killed_run).info.status == "RUNNING"  # killed midway, left open

    # The store copied elsewhere (its experiment still names the original artifact folder).
    copy.mkdir()
    shutil.copy(original / "mlflow.db", copy / "mlflow.db")
    before = files_under(original)
    env = store_env(copy, params_path)
    next_start = hardtofill(env, "train", "--history", str(small_history_path), "--quiet")
    assert next_start.returncode == 0, next_start.stderr[-3000:]
    return {"original": original, "copy": copy, "env": env, "killed_run": killed_run, "before": before,
            "next_start": next_start}


def test_the_next_training_ends_the_killed_run_as_killed_and_says_so(leftovers):
    said = " ".join(leftovers["next_start"].stderr.split())
    assert f"MLflow run {leftovers['killed_run']}" in said and "ended as KILLED" in said, said
    run = client(leftovers["copy"]).get_run(leftovers["killed_run"])
    assert run.info.status == "KILLED" and run.info.end_time is not None
    assert "gone" in run.data.tags["hardtofill.closed"]


def test_a_training_on_a_copied_store_writes_only_under_its_own_artifact_root(leftovers):
    from mlflow.utils.file_utils import local_file_uri_to_path

    copy_root = (leftovers["copy"] / "artifacts").resolve()
    mlflow_client = client(leftovers["copy"])
    version = mlflow_client.get_model_version_by_alias("hardtofill", "champion")
    run = mlflow_client.get_run(version.run_id)
    assert Path(local_file_uri_to_path(run.info.artifact_uri)).resolve().is_relative_to(copy_root)
    stored = mlflow_client.get_model_version_download_uri("hardtofill", version.version)
    if stored.startswith("models:/"):  # the logged model's id: where MLflow keeps it
        stored = mlflow_client.get_logged_model(stored.removeprefix("models:/").split("/")[0]).artifact_location
    assert Path(local_file_uri_to_path(stored)).resolve().is_relative_to(copy_root), stored
    assert "model_card.json" in {f.path for f in mlflow_client.list_artifacts(run.info.run_id)}
    assert files_under(leftovers["original"]) == leftovers["before"]  # nothing written into the original
    assert mlflow_client.get_experiment(run.info.experiment_id).name == f"hardtofill @ {copy_root}"
    assert "outside HARDTOFILL_ARTIFACT_ROOT" in leftovers["next_start"].stderr

    # And the champion loads from the copy, as serving would.
    from training.champion import load_champion

    uri = leftovers["env"]["HARDTOFILL_TRACKING_URI"]
    champion = load_champion("champion", model_name="hardtofill", tracking_uri=uri)
    assert champion.version == str(version.version)


def test_strays_lists_versions_without_an_alias_then_archives_or_deletes_them(leftovers, monkeypatch):
    mlflow_client = client(leftovers["copy"])
    champion = mlflow_client.get_model_version_by_alias("hardtofill", "champion")
    # A version left without an alias (as a training killed after registering leaves one). MLflow
    # resolves a `models:/m-...` source through the global tracking URI, so point it at the copy.
    import mlflow

    monkeypatch.setattr(mlflow.tracking._tracking_service.utils, "_tracking_uri", None)  # restored after
    mlflow.set_tracking_uri(f"sqlite:///{leftovers['copy'] / 'mlflow.db'}")
    stray = mlflow_client.create_model_version("hardtofill", champion.source, run_id=leftovers["killed_run"])
    env = leftovers["env"]
    versions = lambda: [str(v.version) for v in mlflow_client.search_model_versions("name = 'hardtofill'")]  # noqa: E731
    strays = set(versions()) - {str(champion.version)}

    listed = hardtofill(env, "strays")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert {line.split("\t")[0] for line in lines} == strays and str(stray.version) in strays
    mine = next(line for line in lines if line.startswith(f"{stray.version}\t"))
    assert "run KILLED" in mine and "did not finish" in mine
    assert not any(line.startswith(f"{champion.version}\t") for line in lines)

    assert hardtofill(env, "strays", "--archive").returncode == 0
    assert hardtofill(env, "strays").stdout == ""
    assert str(stray.version) in hardtofill(env, "strays", "--all").stdout
    refused = hardtofill(env, "strays", "--all", "--delete", input="n\n")
    assert refused.returncode != 0 and len(versions()) > 1
    deleted = hardtofill(env, "strays", "--all", "--delete", "--yes")
    assert deleted.returncode == 0, deleted.stderr
    assert versions() == [str(champion.version)]
    assert mlflow_client.get_run(leftovers["killed_run"]).info.run_id  # the run stays
