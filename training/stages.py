"""Training as stages with typed inputs and results, each testable alone:

    data -> fit -> evaluate -> audit -> explain -> (training.pipeline) log and promote

`data` reads the history and builds the point-in-time features and the time split; `fit` grows
the LightGBM model on the training months and calibrates it and sets the risk bands on the
validation months; `evaluate` scores the model, the baselines and the oracle on the test months;
`audit` measures fairness by group and applies every gate; `explain` computes the SHAP values
and the global importance. `write_artifacts` puts the tables, plots and the registry contract's
files (training.contract) in a folder for the run.

On a Dask cluster (`hardtofill train --scheduler`), `load_data_on_cluster` stands for `data` and
the LightGBM part of `fit` (training.distributed), then `calibrate` ends the fit stage; the
stages after it are the same.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from features.context import MarketContext
from features.spec import FEATURE_NAMES, learn_categories, spec_dict, to_model_frame
from hardtofill.params import Params, TrainingParams
from training import contract
from training.gates import GateResult
from training.risk_bands import band_thresholds, risk_band
from training.split import TimeSplit

PARTS = ("train", "validation", "test")


class TrainingError(RuntimeError):
    """Training cannot go on; the message says why in one line."""


# ---- data ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Data:
    """The labelled offers of each part of the time split, as rows (features, audit_*, offer_id,
    created_at, label, oracle) and as the model's matrices, with the categories learnt on the
    training months, the dataset's identity and the market context at the end of the data."""

    split: TimeSplit
    rows: dict[str, pd.DataFrame]
    x: dict[str, pd.DataFrame]
    y: dict[str, np.ndarray]
    categories: dict[str, list[str]]
    identity: dict
    context: MarketContext  # snapshot at the extraction date: what serving uses
    # Training offers when rows["train"] is only a sample of them (Dask: the baselines' sample).
    train_count: int | None = None

    def counts(self) -> dict[str, int]:
        counts = {part: len(self.rows[part]) for part in PARTS}
        if self.train_count is not None:
            counts["train"] = self.train_count
        return counts


def _existing_history(path: Path, default_path: Path, progress: bool) -> Path:
    """The history at `path`, generated (and ingested) first when it is the missing default one."""
    from features.generator.reference import ReferenceDataMissing
    from training.data import ensure_default_history

    try:
        ensure_default_history(path, default_path, progress=progress)
    except ReferenceDataMissing as error:  # a fresh machine without ../shared beside the repository
        raise TrainingError(str(error)) from None
    if not path.exists():
        raise TrainingError(f"offer history {path} not found (run `hardtofill generate --out {path}`)")
    return path


def load_data(history_path: Path, until: str | None, params: Params, default_path: Path,
              progress: bool = False, on_read=None, note=None) -> Data:
    """Read the history (generated first when it is the missing default one), as known at
    `until`, label it, build the features and split it by time. A Parquet folder (`hardtofill
    ingest`), or JSON lines of more than training.data.IN_MEMORY_MAX_OFFERS offers, is read one
    month at a time, in bounded memory (training.partitioned); smaller JSON lines or a single
    Parquet file all at once. `on_read(offers)` once the offers are counted, `note(text)` for
    progress within the month-by-month reading."""
    from training.data import history_size, training_data
    from training.split import SplitError, time_split

    path = _existing_history(Path(history_path), Path(default_path), progress)
    try:
        offers = history_size(path)
        if on_read is not None:
            on_read(offers)
        prepared = training_data(path, until, params.context, note or (lambda _: None), offers=offers)
    except ValueError as error:
        raise TrainingError(str(error).splitlines()[0]) from None
    frame = prepared.frame
    try:
        split = time_split(frame, params.training)
    except SplitError as error:
        raise TrainingError(str(error)) from None
    masks = split.masks(frame)
    rows = {part: frame[masks[part]] for part in PARTS}
    # The parts are copies: the whole history's frame goes before the model matrices are built.
    prepared.frame = frame = None
    categories = learn_categories(rows["train"])
    return Data(split=split, rows=rows, x={p: to_model_frame(rows[p], categories) for p in PARTS},
                y={p: rows[p]["label"].to_numpy(int) for p in PARTS}, categories=categories,
                identity=prepared.identity, context=prepared.context.snapshot(prepared.extracted_at))


def load_data_on_cluster(history_path: Path, until: str | None, params: Params, default_path: Path,
                         scheduler: str, progress: bool = False, note=None) -> tuple[Data, object]:
    """The data stage and LightGBM's fit on the Dask cluster at `scheduler` (training.distributed):
    the features per month partition on the workers, the model fitted where the rows are. The
    Data holds the validation and test months and a sample of the training months (baselines);
    `train_count` the training offers. The booster keeps only the trees early stopping chose."""
    from training.distributed import ClusterError, fit_on_cluster
    from training.split import SplitError

    path = _existing_history(Path(history_path), Path(default_path), progress)
    try:
        cluster = fit_on_cluster(path, until, params, scheduler, note or (lambda _: None))
    except (ClusterError, SplitError, ValueError) as error:
        raise TrainingError(str(error).splitlines()[0]) from None
    rows = {"train": cluster.train_rows, "validation": cluster.valid_rows, "test": cluster.test_rows}
    prepared, categories = cluster.data, cluster.categories
    data = Data(split=cluster.split, rows=rows, x={p: to_model_frame(rows[p], categories) for p in PARTS},
                y={p: rows[p]["label"].to_numpy(int) for p in PARTS}, categories=categories,
                identity=prepared.identity, context=prepared.context.snapshot(prepared.extracted_at),
                train_count=cluster.train_count)
    return data, cluster.booster


# ---- fit -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Fitted:
    booster: object  # lightgbm.Booster with only the trees early stopping chose
    calibrator: object  # training.calibration.Calibrator
    calibration_scores: dict[str, float]  # out-of-fold Brier score of each method
    bands: dict[str, float]  # risk band thresholds (training.risk_bands)
    probability: dict[str, np.ndarray]  # calibrated, on the validation and test months


def fit(data: Data, params: Params, progress=None) -> Fitted:
    """LightGBM on the training months (early stopping on the validation months), then `calibrate`."""
    from training.model import fit_lightgbm

    booster = fit_lightgbm(data.x["train"], data.y["train"], data.x["validation"], data.y["validation"],
                           params.training, progress)
    # Keep only the trees early stopping chose, so that the logged model is what was evaluated.
    return calibrate(data, _trimmed(booster), params)


def calibrate(data: Data, booster, params: Params) -> Fitted:
    """Calibration and risk bands on the validation months, for a booster fitted here or on a
    Dask cluster."""
    from training.calibration import choose_calibrator
    from training.model import raw_scores

    raw = {part: raw_scores(booster, data.x[part]) for part in ("validation", "test")}
    calibrator, scores = choose_calibrator(raw["validation"], data.y["validation"], params.calibration.methods,
                                           seed=params.training.seed)
    probability = {part: calibrator.transform(raw[part]) for part in raw}
    bands = band_thresholds(probability["validation"], params.risk_bands.high_share, params.risk_bands.medium_share)
    return Fitted(booster=booster, calibrator=calibrator, calibration_scores=scores, bands=bands,
                  probability=probability)


def _trimmed(booster):
    """A booster holding only the best iteration's trees (early stopping may have grown more)."""
    import lightgbm as lgb

    best = booster.best_iteration or booster.current_iteration()
    return lgb.Booster(model_str=booster.model_to_string(num_iteration=best))


# ---- evaluate ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Evaluation:
    metrics: dict[str, float]  # MLflow metric names: test_*, validation_*, <baseline>_test_*, ...
    table: pd.DataFrame  # one row per model on the test months
    test_scores: dict[str, np.ndarray]  # model, logistic, baseline_rate, oracle


def evaluate(data: Data, fitted: Fitted, params: Params) -> Evaluation:
    """The model against the adviser's rule of thumb, the logistic regression and the oracle,
    on the test months; the same metrics on the validation months."""
    from training.baselines import fit_logistic, rate_baseline
    from training.metrics import classification_metrics, prefixed

    train, test, y_test = data.rows["train"], data.rows["test"], data.y["test"]
    scores = {"model": fitted.probability["test"],
              "logistic": fit_logistic(train, params.training.logistic, params.training.baseline_max_rows,
                                       params.training.seed)(test),
              "baseline_rate": rate_baseline(train, params.training.baseline_rate.smoothing)(test),
              "oracle": test["oracle"].to_numpy(float)}
    bins, top = params.calibration.ece_bins, params.risk_bands.high_share
    metrics = {
        **prefixed(classification_metrics(y_test, scores["model"], top, bins), "test_"),
        **prefixed(classification_metrics(data.y["validation"], fitted.probability["validation"], top, bins),
                   "validation_"),
        **prefixed(classification_metrics(y_test, scores["baseline_rate"], top, bins), "baseline_rate_test_"),
        **prefixed(classification_metrics(y_test, scores["logistic"], top, bins), "logistic_test_"),
        **prefixed(classification_metrics(y_test, scores["oracle"], top, bins), "oracle_test_"),
    }
    table = pd.DataFrame([
        {"model": name, **{k.removeprefix(prefix): v for k, v in metrics.items() if k.startswith(prefix)}}
        for name, prefix in (("model", "test_"), ("logistic", "logistic_test_"),
                             ("baseline_rate", "baseline_rate_test_"), ("oracle", "oracle_test_"))])
    best_baseline = max(metrics["baseline_rate_test_roc_auc"], metrics["logistic_test_roc_auc"])
    metrics["test_auc_lift_over_best_baseline"] = metrics["test_roc_auc"] - best_baseline
    metrics["test_auc_gap_to_oracle"] = metrics["oracle_test_roc_auc"] - metrics["test_roc_auc"]
    metrics["trees"] = float(fitted.booster.num_trees())
    metrics.update({f"calibration_brier_{k}": v for k, v in fitted.calibration_scores.items()})
    return Evaluation(metrics=metrics, table=table, test_scores=scores)


# ---- audit ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ChampionComparison:
    """The current champion scored on the new test months (training.pipeline.current_champion_auc)."""

    version: str | None = None  # None: no champion yet
    roc_auc: float | None = None
    incomparable: str | None = None  # why it cannot score the new features


@dataclass(frozen=True)
class Audit:
    table: pd.DataFrame  # training.fairness.TABLE_COLUMNS
    summary: dict[str, dict]  # gaps per attribute (training.fairness.GAP_NAMES)
    gates: list[GateResult]
    metrics: dict[str, float]  # fairness_* and champion_test_roc_auc
    champion: ChampionComparison = field(default_factory=ChampionComparison)

    @property
    def passed(self) -> bool:
        return all(g.passed for g in self.gates)


def audit(data: Data, fitted: Fitted, evaluation: Evaluation, params: Params,
          champion: ChampionComparison | None = None) -> Audit:
    """Fairness by group on the test months, then every gate: quality, fairness, non-regression."""
    from training.fairness import fairness, fairness_metrics
    from training.gates import fairness_gates, non_regression_gate, quality_gates

    champion = champion or ChampionComparison()
    probability = fitted.probability["test"]
    audited = data.rows["test"].assign(probability=probability, risk=risk_band(probability, fitted.bands))
    table, summary = fairness(audited, audited, params.fairness.min_group_size, params.calibration.ece_bins)
    metrics = fairness_metrics(summary)
    if champion.roc_auc is not None:
        metrics["champion_test_roc_auc"] = champion.roc_auc
    gates = quality_gates(evaluation.metrics, params.gates)
    if params.gates.fairness:
        gates += fairness_gates(summary, params.fairness)
    gates += non_regression_gate(evaluation.metrics["test_roc_auc"], champion.roc_auc, champion.version,
                                 params.gates)
    if champion.incomparable:
        gates.append(GateResult("non_regression.comparable", False, float("nan"), float("nan"),
                                f"non_regression.comparable: champion v{champion.version} cannot score the new "
                                f"features ({champion.incomparable}); promote by hand after review"))
    return Audit(table=table, summary=summary, gates=gates, metrics=metrics, champion=champion)


# ---- explain -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Explanation:
    importance: pd.DataFrame  # feature, mean_abs_shap (test sample), gain, splits
    sample: pd.DataFrame  # the test rows explained (model matrix)
    contributions: np.ndarray  # TreeSHAP, one column per feature plus the base value


def explain(data: Data, fitted: Fitted, params: TrainingParams, plots: Path) -> Explanation:
    """TreeSHAP on a seeded test sample: beeswarm and dependence plots into `plots`, importance."""
    from training.plots import shap_plots

    test_x = data.x["test"]
    sample = test_x.sample(min(params.shap_rows, len(test_x)), random_state=params.seed)
    contributions = fitted.booster.predict(sample, pred_contrib=True)
    _, importance = shap_plots(contributions, sample, plots, params.dependence_plots)
    gain = pd.DataFrame({"feature": fitted.booster.feature_name(), "gain": fitted.booster.feature_importance("gain"),
                         "splits": fitted.booster.feature_importance("split")})
    return Explanation(importance=importance.merge(gain, on="feature"), sample=sample, contributions=contributions)


# ---- artifacts -----------------------------------------------------------------------------------
def write_artifacts(folder: Path, data: Data, fitted: Fitted, evaluation: Evaluation, audited: Audit,
                    explanation: Explanation, params: Params) -> None:
    """Plots, tables and the registry contract's files (training.contract), into `folder`."""
    from training.plots import evaluation_plots, fairness_plot

    plots = folder / contract.PLOTS
    evaluation_plots(data.y["test"], evaluation.test_scores, plots, params.calibration.ece_bins)
    fairness_plot(audited.table, plots)
    explanation.importance.to_csv(folder / contract.IMPORTANCE, index=False)
    evaluation.table.to_csv(folder / contract.EVALUATION_TABLE, index=False)
    audited.table.to_csv(folder / contract.FAIRNESS_TABLE, index=False)
    write_json(folder / contract.FEATURE_SPEC, spec_dict(data.categories))
    write_json(folder / contract.CALIBRATION, fitted.calibrator.to_dict())
    write_json(folder / contract.RISK_BANDS, fitted.bands)
    write_json(folder / contract.SPLIT, data.split.as_dict())
    write_json(folder / contract.GATES, [g.as_dict() for g in audited.gates])
    data.context.save(folder / contract.CONTEXT)
    reference(data.rows["test"], fitted.probability["test"], fitted.bands, params.training).to_parquet(
        folder / contract.REFERENCE, index=False)


def reference(test_rows: pd.DataFrame, probability: np.ndarray, bands: dict, training: TrainingParams) -> pd.DataFrame:
    """A sample of the test months for monitoring: features, audit groups, created_at,
    probability, risk band and label."""
    columns = list(FEATURE_NAMES) + [c for c in test_rows.columns if c.startswith("audit_")]
    sample = test_rows[["offer_id", "created_at"] + columns + ["label"]].assign(probability=probability)
    sample["risk"] = risk_band(probability, bands)
    rows = min(training.reference_rows, len(sample))
    return sample.sample(rows, random_state=training.seed).sort_values("created_at", ignore_index=True)


def write_json(path: Path, data) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=_json_default), encoding="utf-8")


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
