"""`hardtofill train`: the stages of training.stages (data, fit, evaluate, audit, explain), then
log everything to MLflow, register the model, and move the aliases only at the very end:
`candidate` always, `champion` when every gate passes (training.contract).

A run that fails or is killed before the end never touches `champion`.
"""

import json
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from features.spec import AUDIT_COLUMNS
from hardtofill.params import Params
from hardtofill.resources import peak_rss_mb
from training import contract
from training.gates import GateResult
from training.stages import Audit, ChampionComparison, Data, Evaluation, Explanation, Fitted, TrainingError

__all__ = ["AIMS", "Trained", "TrainingError", "TrainingOutcome", "log_and_promote", "run_stages", "train"]

AIMS = {"min_lift_over_best_baseline": 0.03, "max_gap_to_oracle": 0.02, "max_ece": 0.02}


@dataclass
class TrainingOutcome:
    run_id: str
    version: str
    promoted: bool
    metrics: dict[str, float]
    gates: list[GateResult] = field(default_factory=list)
    previous_champion: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    # The process's memory high-water mark (MB) at the end of each step: where the peak is reached.
    peaks_mb: dict[str, float] = field(default_factory=dict)
    cpu_seconds: dict[str, float] = field(default_factory=dict)  # per step

    @property
    def failed_gates(self) -> list[GateResult]:
        return [g for g in self.gates if not g.passed]


class Steps:
    """Progress shown while it runs: one line per step, the current one with a spinner."""

    def __init__(self, enabled: bool, total: int):
        from rich.console import Console
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.console = Console(stderr=True)
        self.progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                 TimeElapsedColumn(), console=self.console, disable=not enabled)
        self.total = total
        self.task = None
        self.timings: dict[str, float] = {}  # seconds per step, for benchmarks and profiling
        self.peaks_mb: dict[str, float] = {}  # memory high-water mark after each step
        self.cpu_seconds: dict[str, float] = {}  # CPU time per step: what a loaded machine does not inflate
        self._current, self._since, self._cpu_since = "start", time.perf_counter(), time.process_time()

    def __enter__(self):
        self.progress.__enter__()
        self.task = self.progress.add_task("Training", total=self.total)
        return self

    def __exit__(self, *exc):
        return self.progress.__exit__(*exc)

    def step(self, description: str) -> None:
        now = time.perf_counter()
        self.timings[self._current] = round(self.timings.get(self._current, 0.0) + now - self._since, 2)
        self.peaks_mb[self._current] = round(peak_rss_mb(), 1)
        cpu = time.process_time()
        self.cpu_seconds[self._current] = round(self.cpu_seconds.get(self._current, 0.0) + cpu - self._cpu_since, 2)
        self._current = description.split(":")[0].split(" on ")[0].split(" of ")[0]
        self._since, self._cpu_since = now, cpu
        self.progress.update(self.task, description=description)
        self.progress.advance(self.task)

    def note(self, description: str) -> None:
        self.progress.update(self.task, description=description)

    def lightgbm_callback(self):
        def callback(env) -> None:
            if env.iteration % 10 == 0:
                self.note(f"Fitting LightGBM: tree {env.iteration + 1}")
        return callback


def git_commit() -> str:
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                                cwd=Path(__file__).resolve().parent).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True, timeout=5, cwd=Path(__file__).resolve().parent).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (commit + ("-dirty" if dirty else "")) if commit else "unknown"


def _flat_params(prefix: str, values: dict) -> dict[str, str]:
    return {f"{prefix}{k}": json.dumps(v) if isinstance(v, list | dict) else str(v) for k, v in values.items()}


def current_champion_auc(test: pd.DataFrame, tracking_uri: str, model_name: str) -> ChampionComparison:
    """Score the current champion on the new test months: no version when there is no usable
    champion, or the reason it cannot score these features (the feature set changed): then the
    non-regression gate fails and a person decides."""
    from lightgbm.basic import LightGBMError
    from sklearn.metrics import roc_auc_score

    from training.champion import ChampionUnavailable, load_champion

    try:
        champion = load_champion(contract.CHAMPION, model_name=model_name, tracking_uri=tracking_uri)
    except ChampionUnavailable:
        return ChampionComparison()
    try:
        raw = champion.booster.predict(champion.model_frame(test), raw_score=True)
    except (KeyError, ValueError, TypeError, LightGBMError) as error:  # e.g. another number of features
        reason = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        return ChampionComparison(version=champion.version, incomparable=reason)
    return ChampionComparison(version=champion.version,
                              roc_auc=float(roc_auc_score(test["label"].to_numpy(int), raw)))


@dataclass(frozen=True)
class Trained:
    """What the stages produced, for logging and promotion."""

    data: Data
    fitted: Fitted
    evaluation: Evaluation
    audit: Audit
    explanation: Explanation
    experiment_id: str

    @property
    def metrics(self) -> dict[str, float]:
        return {**self.evaluation.metrics, **self.audit.metrics}


def train(history_path: Path | None = None, until: str | None = None, params: Params | None = None,
          progress: bool = True, scheduler: str | None = None) -> TrainingOutcome:
    """Train, evaluate, log and gate one model version (see the module docstring); with a Dask
    `scheduler` (or HARDTOFILL_DASK_SCHEDULER), the data and fit stages run on that cluster."""
    from hardtofill.params import get_params
    from training.energy import measure_energy

    params = params if params is not None else get_params()
    with tempfile.TemporaryDirectory(prefix="hardtofill-train-") as scratch, Steps(progress, total=10) as steps:
        with measure_energy() as energy:
            trained = run_stages(history_path, until, params, Path(scratch), steps, progress, scheduler)
        outcome = log_and_promote(trained, energy, params, Path(scratch), steps)
        steps.step("done")
        outcome.timings, outcome.peaks_mb, outcome.cpu_seconds = steps.timings, steps.peaks_mb, steps.cpu_seconds
        return outcome


def run_stages(history_path, until, params: Params, scratch: Path, steps: Steps, progress: bool,
               scheduler: str | None = None) -> Trained:
    """Everything that costs energy: the stages, and the run's files written into `scratch`."""
    from hardtofill.settings import get_settings
    from training import stages
    from training.registry import setup_mlflow

    settings = get_settings()
    path = Path(history_path or settings.history_path)
    steps.note(f"Reading {path}")
    scheduler = scheduler or settings.dask_scheduler
    if scheduler:  # the same stages, data and fit on a Dask cluster (training.distributed)
        steps.step(f"Building features of the offers of {path.name} on the cluster {scheduler}")
        data, booster = stages.load_data_on_cluster(path, until, params, settings.history_path, scheduler,
                                                    progress=progress, note=steps.note)
        steps.step(f"Fitted LightGBM on the cluster on {data.counts()['train']:,} offers, "
                   "calibrating on the validation months")
        fitted = stages.calibrate(data, booster, params)
    else:
        data = stages.load_data(path, until, params, settings.history_path, progress=progress,
                                on_read=lambda n: steps.step(f"Building features of {n:,} offers"), note=steps.note)
        train_months = data.split.train
        steps.step(f"Fitting LightGBM on {data.counts()['train']:,} offers ({train_months[0]} to "
                   f"{train_months[-1]}), calibrating on the validation months")
        fitted = stages.fit(data, params, steps.lightgbm_callback())
    steps.step("Evaluating on the test months against the baselines and the oracle")
    evaluation = stages.evaluate(data, fitted, params)
    steps.step("Fairness audit and gates: quality, fairness, non-regression against the champion")
    experiment_id = setup_mlflow(settings.tracking_uri, settings.artifact_root)
    champion = current_champion_auc(data.rows["test"], settings.tracking_uri, settings.model_name)
    audited = stages.audit(data, fitted, evaluation, params, champion)
    steps.step("Explanations (SHAP) and plots")
    explanation = stages.explain(data, fitted, params.training, scratch / contract.PLOTS)
    from training.interactions import interaction_analysis  # documented interactions, advice direction

    evaluation.metrics.update(interaction_analysis(
        fitted.booster, fitted.calibrator, explanation.sample, explanation.contributions, scratch / contract.PLOTS,
        advice_x=data.x["test"]))
    stages.write_artifacts(scratch, data, fitted, evaluation, audited, explanation, params)
    return Trained(data=data, fitted=fitted, evaluation=evaluation, audit=audited, explanation=explanation,
                   experiment_id=experiment_id)


def log_and_promote(trained: Trained, energy, params: Params, scratch: Path, steps: Steps) -> TrainingOutcome:
    """One MLflow run with everything, the model registered natively, the card; then the aliases."""
    import lightgbm
    import mlflow
    import sklearn
    from mlflow.models import infer_signature

    from hardtofill.settings import get_settings
    from training.card import build_card, card_markdown
    from training.model import lightgbm_params, raw_scores
    from training.registry import audit_log_path, move_alias
    from training.stages import write_json

    settings, training = get_settings(), params.training
    data, fitted, audited = trained.data, trained.fitted, trained.audit
    split, booster, bands, identity = data.split, fitted.booster, fitted.bands, data.identity
    metrics, gates = trained.metrics, audited.gates
    fairness_params = params.fairness
    steps.step("Logging the run to MLflow")
    commit = git_commit()
    from training.leftovers import process_tags

    # Tagged with its process, so that the next training can tell it was killed (training.leftovers).
    with mlflow.start_run(experiment_id=trained.experiment_id, tags=process_tags(),
                          run_name=f"train-{datetime.now(UTC):%Y%m%d-%H%M%S}") as run:
        mlflow.set_tags({"mlflow.source.git.commit": commit, "git_commit": commit,
                         "dataset_sha256": identity["dataset_sha256"]})
        mlflow.log_params({
            **_flat_params("lgb_", lightgbm_params(training)),
            **_flat_params("", identity),
            "split_warmup": ",".join(split.warmup), "split_train": f"{split.train[0]}..{split.train[-1]}",
            "split_validation": ",".join(split.validation), "split_test": ",".join(split.test),
            **{f"{part}_rows": n for part, n in data.counts().items()},
            "calibration_method": fitted.calibrator.method, "trees": booster.num_trees(),
            "risk_band_medium": round(bands["medium"], 6), "risk_band_high": round(bands["high"], 6),
            "git_commit": commit,
        })
        mlflow.log_metrics({k: float(v) for k, v in {**metrics, **energy.as_metrics()}.items() if np.isfinite(v)})
        mlflow.log_artifacts(str(scratch / contract.PLOTS), contract.PLOTS)
        for name in (*contract.RUN_TABLES, contract.FEATURE_SPEC, contract.CALIBRATION, contract.RISK_BANDS,
                     contract.REFERENCE):
            mlflow.log_artifact(str(scratch / name))
        mlflow.log_artifacts(str(scratch / contract.CONTEXT), contract.CONTEXT)

        steps.step(f"Registering the model '{settings.model_name}'")
        head = data.x["train"].head(200)
        signature = infer_signature(head, raw_scores(booster, head))
        requirements = [f"lightgbm=={lightgbm.__version__}", f"pandas=={pd.__version__}",
                        f"numpy=={np.__version__}", f"scikit-learn=={sklearn.__version__}"]
        info = mlflow.lightgbm.log_model(booster, name=contract.MODEL, registered_model_name=settings.model_name,
                                         signature=signature, pip_requirements=requirements)
        version = str(info.registered_model_version)

        steps.step("Writing the model card")
        card = build_card({
            "model_name": settings.model_name, "version": version, "run_id": run.info.run_id,
            "trained_at": datetime.now(UTC).isoformat(timespec="seconds"), "git_commit": commit,
            "trees": booster.num_trees(), "lightgbm_params": lightgbm_params(training),
            "calibration": fitted.calibrator.to_dict() | {"brier_out_of_fold": fitted.calibration_scores},
            "metrics": metrics, "aims": AIMS, "importance": trained.explanation.importance, "split": split.as_dict(),
            "risk_bands": bands, "risk_band_shares": params.risk_bands.model_dump(),
            "fairness_attributes": list(AUDIT_COLUMNS),
            "fairness_summary": audited.summary,
            "fairness_thresholds": {k: getattr(fairness_params, k) for k in
                                    ("max_equalized_odds_difference", "max_calibration_gap", "min_group_size")},
            "train_rows": data.counts()["train"], "dataset": identity,
            "energy": {**energy.as_metrics(), "method": energy.method},
            "gates": [g.as_dict() for g in gates],
        })
        write_json(scratch / contract.MODEL_CARD, card)
        (scratch / contract.MODEL_CARD_MD).write_text(card_markdown(card), encoding="utf-8")
        mlflow.log_artifact(str(scratch / contract.MODEL_CARD))
        mlflow.log_artifact(str(scratch / contract.MODEL_CARD_MD))

    # Only now, with every artifact logged and the run finished, move the aliases.
    steps.step("Moving aliases")
    client = mlflow.MlflowClient()
    client.set_registered_model_alias(settings.model_name, contract.CANDIDATE, version)
    promoted = audited.passed
    if promoted:
        move_alias(client, settings.model_name, contract.CHAMPION, version, "training run passed every gate",
                   audit_log_path(settings.tracking_uri, settings.artifact_root), action="train")
    return TrainingOutcome(run_id=run.info.run_id, version=version, promoted=promoted, metrics=metrics,
                           gates=gates, previous_champion=audited.champion.version)
