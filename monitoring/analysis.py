"""One period, analysed: data drift against the champion's reference (Evidently's per-column
ValueDrift, in the period's drift snapshot), quality on matured outcomes, fairness by group
(training.fairness, fairlearn), adviser feedback, and the alerts, computed in plain Python from
the values read back from the drift snapshot; then the period's snapshot carries every figure,
each threshold as an Evidently test, and the alerts. Both are stamped with the period's start.
Only Evidently's public API is used (tests/monitoring/test_evidently_contract.py).

Pure on frames: where the scored offers, outcomes and feedback come from (the prediction store,
or a history replayed by the backfill) is the caller's business (monitoring.sources).
"""

import math
from dataclasses import dataclass, field

import pandas as pd

from features.spec import CATEGORICAL, NUMERIC
from monitoring.alerts import Alert, evaluate
from monitoring.config import MonitoringParams
from monitoring.fairness import ATTRIBUTES, fairness
from monitoring.feedback import disagreement
from monitoring.periods import Period
from monitoring.quality import quality
from training.risk_bands import risk_band

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
    snapshot: object  # evidently Snapshot: every figure, thresholds as tests, the alerts
    fairness_table: pd.DataFrame
    feedback_table: pd.DataFrame
    drift_snapshot: object = None  # evidently Snapshot: ValueDrift by feature (None: drift not judged)


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


def drift_metrics(params: MonitoringParams, numeric: list[str], categorical: list[str]) -> list:
    """Evidently's per-column `ValueDrift` of every watched feature and of the predicted
    probability, each carrying its threshold as an Evidently test (failed = drifted)."""
    from evidently.metrics import ValueDrift
    from evidently.tests import lt, lte

    drift = params.drift
    metrics = [ValueDrift(column=c, method=drift.numeric_method, threshold=drift.numeric_threshold,
                          tests=[lt(drift.numeric_threshold)]) for c in numeric]
    metrics += [ValueDrift(column=c, method=drift.categorical_method, threshold=drift.categorical_threshold,
                           tests=[lt(drift.categorical_threshold)]) for c in categorical]
    metrics.append(ValueDrift(column="probability", method=drift.numeric_method, threshold=drift.probability_threshold,
                              tests=[lte(params.alerts.max_probability_drift)]))
    return metrics


def read_value_drift(snapshot) -> dict[str, dict]:
    """{column: {"score", "threshold", "method"}} of the snapshot's ValueDrift metrics, read from
    its public export (`Snapshot.dict()`)."""
    found = {}
    for metric in snapshot.dict()["metrics"]:
        config = metric.get("config") or {}
        if str(config.get("type", "")).endswith("ValueDrift"):
            found[config["column"]] = {"score": float(metric["value"]), "threshold": float(config["threshold"]),
                                       "method": config["method"]}
    return found


def drift_summary(values: dict[str, dict], columns: list[str]) -> dict:
    """Drifted features (score at or above the threshold, as Evidently decides), their share of
    the watched ones, and the probability's drift: the figures the alerts read."""
    missing = [c for c in [*columns, "probability"] if c not in values]
    if missing:
        raise RuntimeError(f"Evidently's snapshot has no ValueDrift for {missing}: has Evidently changed?")
    scores = {c: values[c]["score"] for c in columns}
    drifted = sorted((c for c in columns if values[c]["score"] >= values[c]["threshold"]), key=lambda c: -scores[c])
    return {"share": len(drifted) / len(columns) if columns else 0.0, "count": float(len(drifted)),
            "drifted": drifted, "scores": scores, "probability": values["probability"]["score"]}


def failed_checks(snapshot) -> set[str]:
    """The names of the snapshot's failed threshold tests, named as the alerts are
    (kind-less: `drift_share`, `calibration_gap:sector`, ...)."""
    failed = set()
    for test in snapshot.dict()["tests"]:
        if str(test["status"]).upper().endswith("FAIL"):
            params = test["metric_config"]["params"]
            if str(params.get("type", "")).endswith("MonitoringValue"):
                failed.add(params["name"] + (f":{params['attribute']}" if params.get("attribute") else ""))
    return failed


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
    """Everything about one period, and its Evidently snapshots (timestamp: the period's start):
    Evidently computes the drift by feature, the alerts are computed from the figures afterwards,
    and the period's report carries every figure with its threshold as an Evidently test."""
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
    fairness_table, gaps = fairness(current, matured, params.min_group_size, params.ece_bins, ATTRIBUTES)
    summary["fairness"] = {a: {k: (v if isinstance(v, str) or v is None else _number(v)) for k, v in g.items()}
                           for a, g in gaps.items()}
    feedback_table = disagreement(data.feedback)
    summary["feedback"] = feedback_table.astype(object).where(feedback_table.notna(), None).to_dict(orient="records")

    timestamp = data.period.start.to_pydatetime().replace(tzinfo=None)
    drift_snapshot = None
    if judged_drift:
        # 1. Evidently computes the drift; its values are read back from the snapshot.
        definition = DataDefinition(numerical_columns=numeric + ["probability"], categorical_columns=categorical)
        drift_snapshot = Report(drift_metrics(params, numeric, categorical),
                                metadata={"period": data.period.label, "source": data.source,
                                          "model_version": model.version, "part": "drift"},
                                tags=["hardtofill", data.period.kind, "drift"]).run(
            Dataset.from_pandas(_drift_frame(current, numeric, categorical), data_definition=definition),
            Dataset.from_pandas(_drift_frame(reference, numeric, categorical), data_definition=definition),
            timestamp=timestamp, name=f"hardtofill {data.period.label}: drift by feature")
        summary["drift"].update(drift_summary(read_value_drift(drift_snapshot), numeric + categorical))
    # 2. The alerts, in plain Python, from the figures.
    alerts = evaluate(summary, params.alerts)
    summary["alerts"] = [a.model_dump() for a in alerts]
    # 3. The period's report: every figure (thresholds as Evidently tests) and the alerts.
    title = f"{data.period.label}: {len(alerts)} alert(s)"
    metrics = [MonitoringValue(name="alerts").carrying(len(alerts), title=title, header=ALERT_HEADER,
                                                        rows=_alert_rows(alerts))]
    metrics += _checked_metrics(summary, params)
    metrics += _value_metrics(summary, fairness_table, feedback_table)
    snapshot = Report(metrics, metadata={"period": data.period.label, "source": data.source,
                                         "model_version": model.version, "part": "summary"},
                      tags=["hardtofill", data.period.kind]).run(
        _no_data(), None, timestamp=timestamp, name=f"hardtofill {data.period.label}")
    summary["evidently_failed_tests"] = sorted(failed_checks(snapshot))
    return PeriodResult(summary=summary, alerts=alerts, snapshot=snapshot, fairness_table=fairness_table,
                        feedback_table=feedback_table, drift_snapshot=drift_snapshot)


def _no_data():
    """The summary report computes nothing from rows: one placeholder row stands in."""
    from evidently import Dataset

    return Dataset.from_pandas(pd.DataFrame({"period": [0]}))


def _checked_metrics(summary: dict, params: MonitoringParams) -> list:
    """The figures the alerts judge, each with its threshold as an Evidently test (`lte`: a value
    above it fails, as `monitoring.alerts` alerts), when judged."""
    from evidently.tests import lte

    from monitoring.evidently_values import MonitoringValue

    thresholds, checked = params.alerts, []

    def check(name, value, threshold, title="", attribute=""):
        value = _number(value)
        if value is not None:
            checked.append(MonitoringValue(name=name, attribute=attribute, tests=[lte(threshold)])
                           .carrying(value, title=title))

    drift, quality = summary["drift"], summary["quality"]
    if drift["judged"]:
        check("drift_share", drift["share"], thresholds.max_drift_share, "Share of drifted features")
        check("probability_drift", drift["probability"], thresholds.max_probability_drift,
              "Drift of the predicted probability")
        check("high_risk_share_change", abs(drift["high_risk_share"] - drift["reference_high_risk_share"]),
              thresholds.max_high_risk_share_change, "Change of the share flagged high risk")
        rows = [[c, f"{score:.3f}", "yes" if c in drift["drifted"] else ""]
                for c, score in sorted(drift["scores"].items(), key=lambda item: -item[1])]
        checked.append(MonitoringValue(name="drift_count").carrying(
            drift["count"], title="Drift by feature (details: the period's drift report)",
            header=["feature", "drift score", "drifted"], rows=rows))
    promised_auc = summary["promised"].get("roc_auc")
    if quality.get("judged"):
        if promised_auc is not None:
            check("auc_drop", promised_auc - quality["roc_auc"], thresholds.max_auc_drop)
        check("calibration_error", quality.get("ece"), thresholds.max_ece)
    for attribute, gaps in summary["fairness"].items():
        check("equalized_odds_difference", gaps["equalized_odds_difference"],
              thresholds.max_equalized_odds_difference, attribute=attribute)
        check("calibration_gap", gaps["calibration_gap"], thresholds.max_calibration_gap, attribute=attribute)
    return checked
