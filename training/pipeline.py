"""`hardtofill train`: read the history, split by time, fit, calibrate, evaluate against the
baselines and the oracle, audit fairness, log everything to MLflow, register the model, and move
the aliases only at the very end: `candidate` always, `champion` when every gate passes.

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

from features.spec import FEATURE_NAMES, learn_categories, spec_dict, to_model_frame
from training.gates import GateResult

AIMS = {"min_lift_over_best_baseline": 0.03, "max_gap_to_oracle": 0.02, "max_ece": 0.02}


class TrainingError(RuntimeError):
    """Training cannot go on; the message says why in one line."""


@dataclass
class TrainingOutcome:
    run_id: str
    version: str
    promoted: bool
    metrics: dict[str, float]
    gates: list[GateResult] = field(default_factory=list)
    previous_champion: str | None = None
    timings: dict[str, float] = field(default_factory=dict)

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
        self._current, self._since = "start", time.perf_counter()

    def __enter__(self):
        self.progress.__enter__()
        self.task = self.progress.add_task("Training", total=self.total)
        return self

    def __exit__(self, *exc):
        return self.progress.__exit__(*exc)

    def step(self, description: str) -> None:
        now = time.perf_counter()
        self.timings[self._current] = round(self.timings.get(self._current, 0.0) + now - self._since, 2)
        self._current, self._since = description.split(":")[0].split(" on ")[0].split(" of ")[0], now
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


def risk_band_thresholds(probabilities: np.ndarray, params: dict) -> dict[str, float]:
    """Thresholds such that about `high_share` of validation offers are high risk and the next
    `medium_share` medium: the advisers' capacity decides, not a round number."""
    high_share, medium_share = params.get("high_share", 0.2), params.get("medium_share", 0.3)
    high = float(np.quantile(probabilities, 1 - high_share))
    medium = float(np.quantile(probabilities, 1 - high_share - medium_share))
    return {"medium": min(medium, high), "high": high}


def _flat_params(prefix: str, values: dict) -> dict[str, str]:
    return {f"{prefix}{k}": json.dumps(v) if isinstance(v, list | dict) else str(v) for k, v in values.items()}


def current_champion_auc(test: pd.DataFrame, tracking_uri: str, model_name: str):
    """Score the current champion on the new test months: (version, AUC, None), (None, None, None)
    when there is no usable champion, or (version, None, reason) when it cannot score these
    features (the feature set changed): then the non-regression gate fails and a person decides."""
    from lightgbm.basic import LightGBMError
    from sklearn.metrics import roc_auc_score

    from training.champion import ChampionUnavailable, load_champion

    try:
        champion = load_champion("champion", model_name=model_name, tracking_uri=tracking_uri)
    except ChampionUnavailable:
        return None, None, None
    try:
        raw = champion.booster.predict(champion.model_frame(test), raw_score=True)
    except (KeyError, ValueError, TypeError, LightGBMError) as error:  # e.g. another number of features
        return champion.version, None, str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
    return champion.version, float(roc_auc_score(test["label"].to_numpy(int), raw)), None


def train(history_path: Path | None = None, until: str | None = None, params: dict | None = None,
          progress: bool = True, scheduler: str | None = None) -> TrainingOutcome:
    """Train, evaluate, log and gate one model version (see the module docstring); with a Dask
    `scheduler` (or HARDTOFILL_DASK_SCHEDULER), features and fit run on that cluster."""
    from hardtofill.params import load_params
    from training.energy import measure_energy

    params = params if params is not None else load_params()
    with tempfile.TemporaryDirectory(prefix="hardtofill-train-") as scratch, Steps(progress, total=14) as steps:
        with measure_energy() as energy:
            evaluated = fit_and_evaluate(history_path, until, params, Path(scratch), steps, progress, scheduler)
        outcome = log_and_register(evaluated, energy, params, Path(scratch), steps)
        steps.step("done")
        outcome.timings = steps.timings
        return outcome


def fit_and_evaluate(history_path, until, params: dict, scratch: Path, steps: Steps, progress: bool,
                     scheduler: str | None = None) -> dict:
    """Everything that costs energy: features, fit, calibration, baselines, evaluation, fairness,
    explanations, gates, plots and tables (written into `scratch`)."""
    from hardtofill.settings import get_settings
    from training.data import ensure_default_history, training_data
    from training.split import SplitError, time_split

    settings = get_settings()
    training = params.get("training", {})
    path = Path(history_path or settings.history_path)
    steps.note(f"Reading {path}")
    ensure_default_history(path, settings.history_path, progress=progress)
    if not path.exists():
        raise TrainingError(f"offer history {path} not found (run `hardtofill generate --out {path}`)")
    from training.model import raw_scores

    scheduler = scheduler or settings.dask_scheduler
    if scheduler:  # the same features and model on a Dask cluster, then the same path below
        steps.step(f"Building features of the offers of {path.name} on the cluster {scheduler}")
        from training.distributed import ClusterError, fit_on_cluster

        try:
            fitted = fit_on_cluster(path, until, params, scheduler, steps.note)
        except (ClusterError, SplitError, ValueError) as error:
            raise TrainingError(str(error).splitlines()[0]) from None
        steps.step(f"Fitted LightGBM on the cluster on {fitted.train_count:,} offers")
        data, split, categories, booster = fitted.data, fitted.split, fitted.categories, fitted.booster
        identity, train_count = data.identity, fitted.train_count
        train_rows, valid_rows, test_rows = fitted.train_rows, fitted.valid_rows, fitted.test_rows
        train_x, valid_x, test_x = (to_model_frame(f, categories) for f in (train_rows, valid_rows, test_rows))
        y_train, y_valid, y_test = (f["label"].to_numpy(int) for f in (train_rows, valid_rows, test_rows))
    else:
        steps.step(f"Building features of the offers of {path.name}")
        try:
            data = training_data(path, until, params, steps.note)
        except ValueError as error:
            raise TrainingError(str(error).splitlines()[0]) from None
        identity = data.identity
        frame = data.frame
        try:
            split = time_split(frame, training)
        except SplitError as error:
            raise TrainingError(str(error)) from None
        masks = split.masks(frame)
        train_rows, valid_rows, test_rows = (frame[masks[p]] for p in ("train", "validation", "test"))
        categories = learn_categories(train_rows)
        train_x, valid_x, test_x = (to_model_frame(f, categories) for f in (train_rows, valid_rows, test_rows))
        y_train, y_valid, y_test = (f["label"].to_numpy(int) for f in (train_rows, valid_rows, test_rows))

        steps.step(f"Fitting LightGBM on {len(train_rows):,} offers ({split.train[0]} to {split.train[-1]})")
        from training.model import fit_lightgbm

        booster = fit_lightgbm(train_x, y_train, valid_x, y_valid, training, steps.lightgbm_callback())
        # Keep only the trees early stopping chose, so that the logged model is what was evaluated.
        booster = _trimmed(booster)
        train_count = len(train_rows)
    raw_valid, raw_test = raw_scores(booster, valid_x), raw_scores(booster, test_x)

    steps.step("Calibrating on the validation months")
    from training.calibration import choose_calibrator

    calibration_params = params.get("calibration", {})
    calibrator, calibration_scores = choose_calibrator(
        raw_valid, y_valid, calibration_params.get("methods", ["isotonic", "sigmoid"]), seed=training.get("seed", 42))
    p_valid, p_test = calibrator.transform(raw_valid), calibrator.transform(raw_test)
    bands = risk_band_thresholds(p_valid, params.get("risk_bands", {}))

    steps.step("Baselines: occupation x region rate, logistic regression")
    from training.baselines import fit_logistic, rate_baseline

    baseline_rate = rate_baseline(train_rows, training.get("baseline_rate", {}).get("smoothing", 20.0))(test_rows)
    logistic = fit_logistic(train_rows, training.get("logistic", {}))(test_rows)
    oracle = test_rows["oracle"].to_numpy(float)

    steps.step("Evaluating on the test months")
    from training.metrics import classification_metrics, prefixed

    bins = calibration_params.get("ece_bins", 10)
    top = params.get("risk_bands", {}).get("high_share", 0.2)
    metrics = {
        **prefixed(classification_metrics(y_test, p_test, top, bins), "test_"),
        **prefixed(classification_metrics(y_valid, p_valid, top, bins), "validation_"),
        **prefixed(classification_metrics(y_test, baseline_rate, top, bins), "baseline_rate_test_"),
        **prefixed(classification_metrics(y_test, logistic, top, bins), "logistic_test_"),
        **prefixed(classification_metrics(y_test, oracle, top, bins), "oracle_test_"),
    }
    evaluation = pd.DataFrame([
        {"model": name, **{k.removeprefix(prefix): v for k, v in metrics.items() if k.startswith(prefix)}}
        for name, prefix in (("model", "test_"), ("logistic", "logistic_test_"),
                             ("baseline_rate", "baseline_rate_test_"), ("oracle", "oracle_test_"))])
    best_baseline = max(metrics["baseline_rate_test_roc_auc"], metrics["logistic_test_roc_auc"])
    metrics["test_auc_lift_over_best_baseline"] = metrics["test_roc_auc"] - best_baseline
    metrics["test_auc_gap_to_oracle"] = metrics["oracle_test_roc_auc"] - metrics["test_roc_auc"]
    metrics["trees"] = float(booster.num_trees())
    metrics.update({f"calibration_brier_{k}": v for k, v in calibration_scores.items()})

    steps.step("Fairness audit")
    from training.fairness import fairness_audit, fairness_metrics

    fairness_params = params.get("fairness", {})
    audited = test_rows.assign(probability=p_test, flagged=p_test >= bands["high"])
    fairness_table, fairness_summary = fairness_audit(audited, fairness_params, bins)
    metrics.update(fairness_metrics(fairness_summary))

    steps.step("Gates: quality, fairness, non-regression against the champion")
    from training.gates import fairness_gates, non_regression_gate, quality_gates
    from training.registry import setup_mlflow

    gates_params = params.get("gates", {})
    experiment_id = setup_mlflow(settings.tracking_uri, settings.artifact_root)
    champion_version, champion_auc, incomparable = current_champion_auc(test_rows, settings.tracking_uri,
                                                                        settings.model_name)
    if champion_auc is not None:
        metrics["champion_test_roc_auc"] = champion_auc
    gates = quality_gates(metrics, gates_params)
    if gates_params.get("fairness", True):
        gates += fairness_gates(fairness_summary, fairness_params)
    gates += non_regression_gate(metrics["test_roc_auc"], champion_auc, champion_version, gates_params)
    if incomparable:
        gates.append(GateResult("non_regression.comparable", False, float("nan"), float("nan"),
                                f"non_regression.comparable: champion v{champion_version} cannot score the new "
                                f"features ({incomparable}); promote by hand after review"))

    steps.step("Explanations (SHAP) and plots")
    from training.plots import evaluation_plots, fairness_plot, shap_plots

    sample = test_x.sample(min(training.get("shap_rows", 2000), len(test_x)), random_state=training.get("seed", 42))
    contributions = booster.predict(sample, pred_contrib=True)
    plots = scratch / "plots"
    evaluation_plots(y_test, {"model": p_test, "logistic": logistic, "baseline_rate": baseline_rate,
                              "oracle": oracle}, plots, bins)
    _, importance = shap_plots(contributions, sample, plots, training.get("dependence_plots", 3))
    fairness_plot(fairness_table, plots)
    gain = pd.DataFrame({"feature": booster.feature_name(), "gain": booster.feature_importance("gain"),
                         "splits": booster.feature_importance("split")})
    importance.merge(gain, on="feature").to_csv(scratch / "importance.csv", index=False)
    evaluation.to_csv(scratch / "evaluation_table.csv", index=False)
    fairness_table.to_csv(scratch / "fairness_table.csv", index=False)
    _write_json(scratch / "feature_spec.json", spec_dict(categories))
    _write_json(scratch / "calibration.json", calibrator.to_dict())
    _write_json(scratch / "risk_bands.json", bands)
    _write_json(scratch / "split.json", split.as_dict())
    _write_json(scratch / "gates.json", [g.as_dict() for g in gates])
    data.context.snapshot(data.extracted_at).save(scratch / "context")
    _reference(test_rows, p_test, bands, training).to_parquet(scratch / "reference.parquet", index=False)
    return {
        "settings": settings, "experiment_id": experiment_id, "identity": identity, "split": split,
        "booster": booster, "train_x": train_x, "calibrator": calibrator, "calibration_scores": calibration_scores,
        "bands": bands, "metrics": metrics, "importance": importance, "gates": gates,
        "fairness_summary": fairness_summary, "champion_version": champion_version,
        "rows": {"train": train_count, "validation": len(valid_rows), "test": len(test_rows)},
    }


ARTIFACT_FILES = ("evaluation_table.csv", "fairness_table.csv", "importance.csv", "feature_spec.json",
                  "calibration.json", "risk_bands.json", "split.json", "gates.json", "reference.parquet")


def log_and_register(ev: dict, energy, params: dict, scratch: Path, steps: Steps) -> TrainingOutcome:
    """One MLflow run with everything, the model registered natively, the card; then the aliases."""
    import lightgbm
    import mlflow
    import sklearn
    from mlflow.models import infer_signature

    from training.card import build_card, card_markdown
    from training.model import lightgbm_params, raw_scores
    from training.registry import audit_log_path, move_alias

    settings, training, split, booster = ev["settings"], params.get("training", {}), ev["split"], ev["booster"]
    metrics, gates, bands, identity = ev["metrics"], ev["gates"], ev["bands"], ev["identity"]
    fairness_params = params.get("fairness", {})
    steps.step("Logging the run to MLflow")
    commit = git_commit()
    with mlflow.start_run(experiment_id=ev["experiment_id"],
                          run_name=f"train-{datetime.now(UTC):%Y%m%d-%H%M%S}") as run:
        mlflow.set_tags({"mlflow.source.git.commit": commit, "git_commit": commit,
                         "dataset_sha256": identity["dataset_sha256"]})
        mlflow.log_params({
            **_flat_params("lgb_", lightgbm_params(training)),
            **_flat_params("", identity),
            "split_warmup": ",".join(split.warmup), "split_train": f"{split.train[0]}..{split.train[-1]}",
            "split_validation": ",".join(split.validation), "split_test": ",".join(split.test),
            **{f"{part}_rows": n for part, n in ev["rows"].items()},
            "calibration_method": ev["calibrator"].method, "trees": booster.num_trees(),
            "risk_band_medium": round(bands["medium"], 6), "risk_band_high": round(bands["high"], 6),
            "git_commit": commit,
        })
        mlflow.log_metrics({k: float(v) for k, v in {**metrics, **energy.as_metrics()}.items() if np.isfinite(v)})
        mlflow.log_artifacts(str(scratch / "plots"), "plots")
        for name in ARTIFACT_FILES:
            mlflow.log_artifact(str(scratch / name))
        mlflow.log_artifacts(str(scratch / "context"), "context")

        steps.step(f"Registering the model '{settings.model_name}'")
        head = ev["train_x"].head(200)
        signature = infer_signature(head, raw_scores(booster, head))
        requirements = [f"lightgbm=={lightgbm.__version__}", f"pandas=={pd.__version__}",
                        f"numpy=={np.__version__}", f"scikit-learn=={sklearn.__version__}"]
        info = mlflow.lightgbm.log_model(booster, name="model", registered_model_name=settings.model_name,
                                         signature=signature, pip_requirements=requirements)
        version = str(info.registered_model_version)

        steps.step("Writing the model card")
        card = build_card({
            "model_name": settings.model_name, "version": version, "run_id": run.info.run_id,
            "trained_at": datetime.now(UTC).isoformat(timespec="seconds"), "git_commit": commit,
            "trees": booster.num_trees(), "lightgbm_params": lightgbm_params(training),
            "calibration": ev["calibrator"].to_dict() | {"brier_out_of_fold": ev["calibration_scores"]},
            "metrics": metrics, "aims": AIMS, "importance": ev["importance"], "split": split.as_dict(),
            "risk_bands": bands,
            "risk_band_shares": {"high_share": 0.2, "medium_share": 0.3} | params.get("risk_bands", {}),
            "fairness_attributes": fairness_params.get("attributes", []),
            "fairness_summary": ev["fairness_summary"],
            "fairness_thresholds": {k: fairness_params.get(k) for k in
                                    ("max_equalized_odds_difference", "max_calibration_gap", "min_group_size")},
            "train_rows": ev["rows"]["train"], "dataset": identity,
            "energy": {**energy.as_metrics(), "method": energy.method},
            "gates": [g.as_dict() for g in gates],
        })
        _write_json(scratch / "model_card.json", card)
        (scratch / "model_card.md").write_text(card_markdown(card), encoding="utf-8")
        mlflow.log_artifact(str(scratch / "model_card.json"))
        mlflow.log_artifact(str(scratch / "model_card.md"))

    # Only now, with every artifact logged and the run finished, move the aliases.
    steps.step("Moving aliases")
    client = mlflow.MlflowClient()
    client.set_registered_model_alias(settings.model_name, "candidate", version)
    promoted = not [g for g in gates if not g.passed]
    if promoted:
        move_alias(client, settings.model_name, "champion", version, "training run passed every gate",
                   audit_log_path(settings.tracking_uri, settings.artifact_root), action="train")
    return TrainingOutcome(run_id=run.info.run_id, version=version, promoted=promoted, metrics=metrics,
                           gates=gates, previous_champion=ev["champion_version"])


def _trimmed(booster):
    """A booster holding only the best iteration's trees (early stopping may have grown more)."""
    import lightgbm as lgb

    best = booster.best_iteration or booster.current_iteration()
    return lgb.Booster(model_str=booster.model_to_string(num_iteration=best))


def _reference(test_rows: pd.DataFrame, probability: np.ndarray, bands: dict, training: dict) -> pd.DataFrame:
    """A sample of the test months for monitoring: features, audit groups, created_at,
    probability, risk band and label."""
    columns = list(FEATURE_NAMES) + [c for c in test_rows.columns if c.startswith("audit_")]
    reference = test_rows[["offer_id", "created_at"] + columns + ["label"]].assign(probability=probability)
    reference["risk"] = np.where(probability >= bands["high"], "high",
                                 np.where(probability >= bands["medium"], "medium", "low"))
    rows = min(training.get("reference_rows", 5000), len(reference))
    return reference.sample(rows, random_state=training.get("seed", 42)).sort_values("created_at",
                                                                                      ignore_index=True)


def _write_json(path: Path, data) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=_json_default), encoding="utf-8")


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
