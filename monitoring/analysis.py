"""One period, analysed: data drift against the champion's reference (Evidently), quality on
matured outcomes, fairness by group (fairlearn), adviser feedback, and the alerts; all in one
Evidently snapshot stamped with the period's start.

Pure on frames: where the scored offers, outcomes and feedback come from (the prediction store,
or a history replayed by the backfill) is the caller's business (monitoring.sources).
"""

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from features.spec import CATEGORICAL, NUMERIC
from monitoring.alerts import Alert, evaluate
from monitoring.config import MonitoringParams
from monitoring.fairness import ATTRIBUTES, fairness
from monitoring.feedback import disagreement
from monitoring.periods import Period
from monitoring.quality import quality

QUALITY_NAMES = ("roc_auc", "ece", "precision_at_capacity", "recall_at_capacity")


@dataclass
class PeriodData:
    """What was known about a period: offers scored in it (features, audit_* groups, probability,
    risk), those of them whose outcome had matured (plus `label`), and advisers' feedback."""

    period: Period
    current: pd.DataFrame
    matured: pd.DataFrame
    feedback: pd.DataFrame = field(default_factory=pd.DataFrame)
    source: str = "store"


@dataclass
class ModelInfo:
    """What monitoring needs of the champion: its reference sample, risk bands and card."""

    name: str
    version: str
    reference: pd.DataFrame  # features, audit_*, probability (and label)
    risk_bands: dict[str, float]
    promised: dict[str, float]
    # Occupation codes the model learned (its feature spec); empty: those of the reference sample.
    known_occupations: tuple[str, ...] = ()


@dataclass
class PeriodResult:
    summary: dict
    alerts: list[Alert]
    snapshot: object  # evidently Snapshot
    fairness_table: pd.DataFrame
    feedback_table: pd.DataFrame


def risk_band(probabilities, bands: dict[str, float]) -> np.ndarray:
    p = np.asarray(probabilities, float)
    return np.where(p >= bands["high"], "high", np.where(p >= bands["medium"], "medium", "low"))


def _number(value) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def drift_columns(frame: pd.DataFrame, params: MonitoringParams) -> tuple[list[str], list[str]]:
    from fnmatch import fnmatch

    def watched(column: str) -> bool:
        return column in frame.columns and not any(fnmatch(column, pattern) for pattern in params.drift.ignore)

    numeric = [c for c in NUMERIC if watched(c)]
    categorical = [c for c in CATEGORICAL if watched(c)]
    return numeric, categorical


def _drift_frame(frame: pd.DataFrame, numeric: list[str], categorical: list[str]) -> pd.DataFrame:
    out = frame[numeric + categorical + ["probability"]].copy()
    for column in numeric + ["probability"]:
        out[column] = pd.to_numeric(out[column], errors="coerce").astype(float)
    for column in categorical:
        # Evidently counts categories: missing becomes its own category instead of being dropped.
        out[column] = out[column].astype(object).where(out[column].notna(), "(missing)").astype(str)
    return out


def _drift_metrics(params: MonitoringParams, numeric, categorical):
    """Evidently's drift: the drifted-columns count (a dashboard line) with the preset's table of
    per-feature distributions (the HTML), and the drift of the predicted probability."""
    from evidently.metrics import DriftedColumnsCount, ValueDrift
    from evidently.presets import DataDriftPreset

    drift = params.drift

    class DriftTable(DataDriftPreset):
        # The preset without its per-column ValueDrift metrics: its table already holds every
        # column's score, and those metrics would compute the drift a second time.
        def generate_metrics(self, context):
            return [DriftedColumnsCount(columns=self.columns, drift_share=self.drift_share,
                                        num_method=self.num_method, num_threshold=self.num_threshold,
                                        cat_method=self.cat_method, cat_threshold=self.cat_threshold)]

    table = DriftTable(columns=numeric + categorical, drift_share=params.alerts.max_drift_share,
                       num_method=drift.numeric_method, num_threshold=drift.numeric_threshold,
                       cat_method=drift.categorical_method, cat_threshold=drift.categorical_threshold)
    probability = ValueDrift(column="probability", method=drift.numeric_method,
                             threshold=drift.probability_threshold)
    return table, probability


def _read_drift(context, table, probability) -> dict:
    """Per-feature drift scores from the preset's drift table (computed once: Evidently caches
    it by fingerprint, and the preset's HTML reuses it) and the probability's drift."""
    from evidently.core.report import _default_input_data_generator
    from evidently.legacy.metrics import DataDriftTable

    legacy = DataDriftTable(columns=table.columns, num_stattest=table.num_method, cat_stattest=table.cat_method,
                            num_stattest_threshold=table.num_threshold, cat_stattest_threshold=table.cat_threshold)
    result, _ = context.get_legacy_metric(legacy, _default_input_data_generator, None)
    scores = {name: float(column.drift_score) for name, column in result.drift_by_columns.items()}
    drifted = sorted((name for name, column in result.drift_by_columns.items() if column.drift_detected),
                     key=lambda name: -scores[name])
    return {"share": float(result.share_of_drifted_columns), "count": float(result.number_of_drifted_columns),
            "drifted": drifted, "scores": scores,
            "probability": float(context.calculate_metric(probability.to_calculation()).value)}


def _alert_rows(alerts: list[Alert]) -> list[list]:
    return [[a.kind, a.name, f"{a.value:.3f}", f"{a.threshold:.3f}", a.message, a.action] for a in alerts] \
        or [["", "none", "", "", "no threshold crossed", ""]]


ALERT_HEADER = ["kind", "name", "value", "threshold", "what it means", "what to do"]


def unseen_occupations(current: pd.DataFrame, known: set[str], top: int = 10) -> dict:
    """Scored offers whose occupation code the model never saw (e.g. ROME 4.0 codes): it scores
    them from their domain, place and the rest of the offer only."""
    codes = current["rome_code"].dropna().astype(str) if "rome_code" in current else pd.Series(dtype=str)
    unseen = codes[~codes.isin(known)]
    counts = unseen.value_counts()
    return {"share": float(len(unseen) / len(current)) if len(current) else None, "offers": int(len(unseen)),
            "codes": int(counts.size), "top": {str(k): int(v) for k, v in counts.head(top).items()}}


def _value_metrics(summary: dict, fairness_table: pd.DataFrame, feedback_table: pd.DataFrame):
    """Our own figures as Evidently metrics: one line each on the dashboard, tables in the HTML."""
    from monitoring.evidently_values import MonitoringValue

    def value(name, number, attribute="", group="", title="", header=None, rows=None):
        number = _number(number)
        if number is not None:
            metrics.append(MonitoringValue(name=name, attribute=attribute, group=group).carrying(
                number, title=title, header=header, rows=rows))

    def fmt(x):
        return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else (
            f"{x:.3f}" if isinstance(x, float) else str(x))

    metrics: list = []
    drift = summary["drift"]
    value("offers_scored", summary["offers"])
    value("high_risk_share", drift["high_risk_share"], title="Share of offers flagged high risk")
    unseen = summary["unseen_occupations"]
    value("unseen_occupation_share", unseen["share"],
          title=f"Offers with an occupation code the model never saw: {unseen['offers']} ({unseen['codes']} codes)",
          header=["code", "offers"], rows=[[code, str(n)] for code, n in unseen["top"].items()])
    value("reference_high_risk_share", drift["reference_high_risk_share"],
          title="Share flagged high risk in the reference")
    q, promised = summary["quality"], summary["promised"]
    value("matured_offers", q.get("matured_offers"), title="Offers with a matured outcome")
    rows = [[name, fmt(q.get(name)), fmt(promised.get(name))] for name in QUALITY_NAMES]
    value("observed_rate", q.get("observed_rate"), title="Quality on matured outcomes (vs the model card)",
          header=["metric", "this period", "model card (test)"], rows=rows)
    for name in QUALITY_NAMES:
        value(name, q.get(name))
        value(f"promised_{name}", promised.get(name))
    for attribute, gaps in summary["fairness"].items():
        table = fairness_table[fairness_table["attribute"] == attribute]
        value("equalized_odds_difference", gaps["equalized_odds_difference"], attribute=attribute,
              title=f"Fairness by {attribute}: equalized odds difference {fmt(gaps['equalized_odds_difference'])}, "
                    f"largest calibration gap {fmt(gaps['calibration_gap'])} ({gaps['calibration_gap_group']})",
              header=["group", "offers", "share flagged high", "matured", "TPR", "FPR", "mean probability",
                      "observed rate", "calibration gap", "small group"],
              rows=[[r.group, f"{r.offers:.0f}", fmt(r.share_flagged), f"{r.matured:.0f}", fmt(r.tpr), fmt(r.fpr),
                     fmt(r.mean_probability), fmt(r.observed_rate), fmt(r.calibration_gap),
                     "yes" if r.small else ""] for r in table.itertuples()])
        value("calibration_gap", gaps["calibration_gap"], attribute=attribute)
        value("share_flagged_difference", gaps["share_flagged_difference"], attribute=attribute)
        for r in table[~table["small"]].itertuples():
            for name in ("share_flagged", "tpr", "fpr", "calibration_gap"):
                value(f"group_{name}", getattr(r, name), attribute=attribute, group=str(r.group))
    value("feedback", float(feedback_table["feedback"].sum()), title="Adviser feedback: disagreement by band",
          header=["band seen", "feedback", "disagreed", "rate"],
          rows=[[r.band, f"{r.feedback:.0f}", f"{r.disagreed:.0f}", fmt(r.rate)] for r in feedback_table.itertuples()])
    for r in feedback_table.itertuples():
        value("disagreement_rate", r.rate, group=str(r.band))
    return metrics


def analyse_period(data: PeriodData, model: ModelInfo, params: MonitoringParams) -> PeriodResult:
    """Everything about one period, and its Evidently snapshot (timestamp: the period's start)."""
    from evidently import DataDefinition, Dataset, Report

    from monitoring.evidently_values import MonitoringValue

    current, matured = data.current, data.matured
    reference = model.reference
    numeric, categorical = drift_columns(reference, params)
    reference_high = float((risk_band(reference["probability"], model.risk_bands) == "high").mean())
    judged_drift = len(current) >= params.min_current_offers
    summary: dict = {
        "period": data.period.label, "start": data.period.start.isoformat(), "end": data.period.end.isoformat(),
        "source": data.source, "model": {"name": model.name, "version": model.version},
        "offers": int(len(current)),
        "drift": {"judged": judged_drift, "share": None, "count": None, "drifted": [], "scores": {},
                  "probability": None, "reference_high_risk_share": reference_high,
                  "high_risk_share": float((current["risk"] == "high").mean()) if len(current) else None},
        "promised": dict(model.promised),
        "unseen_occupations": unseen_occupations(
            current, set(model.known_occupations) or set(reference.get("rome_code", pd.Series(dtype=str)).dropna())),
    }
    q = quality(matured["label"].to_numpy(float), matured["probability"].to_numpy(float),
                params.capacity_share, params.ece_bins) if len(matured) else {"matured_offers": 0.0}
    summary["quality"] = {k: _number(v) for k, v in q.items()}
    summary["quality"]["judged"] = (len(matured) >= params.min_matured_offers
                                    and summary["quality"].get("roc_auc") is not None)
    fairness_table, gaps = fairness(current, matured, params.min_group_size, ATTRIBUTES)
    summary["fairness"] = {a: {k: (v if isinstance(v, str) or v is None else _number(v)) for k, v in g.items()}
                           for a, g in gaps.items()}
    feedback_table = disagreement(data.feedback)
    summary["feedback"] = feedback_table.astype(object).where(feedback_table.notna(), None).to_dict(orient="records")

    definition = DataDefinition(numerical_columns=numeric + ["probability"], categorical_columns=categorical)
    reference_frame = _drift_frame(reference, numeric, categorical)
    alerts_metric = MonitoringValue(name="alerts")
    drift_share = MonitoringValue(name="drift_share")
    probability_drift = MonitoringValue(name="probability_drift")
    alerts: list[Alert] = []
    tail: list = []
    if judged_drift:
        table, probability = _drift_metrics(params, numeric, categorical)
        tail = [table, probability]

    def judge(context) -> None:
        if judged_drift:
            summary["drift"].update(_read_drift(context, table, probability))
            drift_share.carrying(summary["drift"]["share"], title="Share of drifted features")
            probability_drift.carrying(summary["drift"]["probability"], title="Drift of the predicted probability")
        alerts.extend(evaluate(summary, params.alerts))
        summary["alerts"] = [a.model_dump() for a in alerts]
        alerts_metric.carrying(len(alerts), title=f"{data.period.label}: {len(alerts)} alert(s)",
                               header=ALERT_HEADER, rows=_alert_rows(alerts))

    head = [alerts_metric.before(judge)] + ([drift_share, probability_drift] if judged_drift else [])
    report = Report(head + _value_metrics(summary, fairness_table, feedback_table) + tail,
                    metadata={"period": data.period.label, "source": data.source, "model_version": model.version},
                    tags=["hardtofill", data.period.kind])
    # Without enough scored offers, drift is not judged and the reference stands in as "current"
    # so that the period's other figures still land in the workspace.
    shown = _drift_frame(current, numeric, categorical) if judged_drift else reference_frame.head(1)
    snapshot = report.run(Dataset.from_pandas(shown, data_definition=definition),
                          Dataset.from_pandas(reference_frame, data_definition=definition),
                          timestamp=data.period.start.to_pydatetime().replace(tzinfo=None),
                          name=f"hardtofill {data.period.label}")
    return PeriodResult(summary=summary, alerts=alerts, snapshot=snapshot, fairness_table=fairness_table,
                        feedback_table=feedback_table)
