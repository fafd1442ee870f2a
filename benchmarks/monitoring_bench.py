"""Monitoring benchmark: one period's full report (Evidently drift on every watched feature and the
probability, quality, fairlearn fairness by group, feedback, alerts, HTML) for 100,000 current
offers against 100,000 reference offers. Aim: under a minute on 2 cores.

Offers come from a generated history (features built with its point-in-time context); the
oracle's probability stands in for the model's, so that no trained champion is needed."""

import time

from benchmarks.common import SCRATCH_DIR, measure, save_result

ROWS, QUICK_ROWS = 100_000, 20_000


def _frames(rows: int):
    import numpy as np

    from features.build import build_features, context_from_history
    from features.generator.simulate import GeneratorConfig
    from features.generator.write import write_history
    from features.ingest import read_history
    from features.labels import label_offers

    path = SCRATCH_DIR / f"monitoring_{rows}.jsonl.gz"
    if not path.is_file():
        SCRATCH_DIR.mkdir(parents=True, exist_ok=True)
        write_history(GeneratorConfig(offers=2 * rows, months=12, seed=5), path, progress=False)
    history = read_history(path, progress=False)
    features = build_features(history.offers, context_from_history(history.offers, history.lifecycle),
                              with_audit=True)
    probability = history.oracle.to_numpy()
    bands = {"high": float(np.quantile(probability, 0.8)), "medium": float(np.quantile(probability, 0.5))}
    frame = features.assign(offer_id=history.offers["offer_id"].to_numpy(),
                            created_at=history.offers["created_at"].to_numpy(), probability=probability,
                            label=label_offers(history.lifecycle)["label"].to_numpy())
    frame["risk"] = np.where(probability >= bands["high"], "high",
                             np.where(probability >= bands["medium"], "medium", "low"))
    frame = frame.sort_values("created_at").reset_index(drop=True)
    return frame.iloc[:rows].reset_index(drop=True), frame.iloc[rows:2 * rows].reset_index(drop=True), bands


def _report(rows: int) -> dict:
    import pandas as pd

    from monitoring.analysis import ModelInfo, PeriodData, analyse_period
    from monitoring.config import load_monitoring_params
    from monitoring.periods import Period

    reference, current, bands = _frames(rows)
    params = load_monitoring_params().model_copy(update={"reference_rows": rows})
    model = ModelInfo(name="benchmark", version="0", reference=reference, risk_bands=bands,
                      promised={"roc_auc": 0.8, "ece": 0.02})
    period = Period(start=pd.Timestamp("2023-07-01", tz="UTC"), end=pd.Timestamp("2024-01-01", tz="UTC"),
                    kind="month")
    matured = current[current["label"].notna()].reset_index(drop=True)
    start = time.perf_counter()
    result = analyse_period(PeriodData(period=period, current=current, matured=matured), model, params)
    analysed = time.perf_counter() - start
    html = SCRATCH_DIR / "monitoring_report.html"
    result.snapshot.save_html(str(html))
    drift_html = SCRATCH_DIR / "monitoring_drift_report.html"
    result.drift_snapshot.save_html(str(drift_html))
    total = time.perf_counter() - start
    return {"report_seconds": round(analysed, 2), "report_and_html_seconds": round(total, 2),
            "current_rows": len(current), "reference_rows": len(reference), "matured_rows": len(matured),
            "features_watched": len(result.summary["drift"]["scores"]),
            "html_mb": round((html.stat().st_size + drift_html.stat().st_size) / 1e6, 1)}


def main(quick: bool = False) -> dict:
    rows = QUICK_ROWS if quick else ROWS
    measured = measure(_report, rows)
    result = {**measured, "goal_seconds": 60, "meets_goal": measured["report_and_html_seconds"] < 60}
    save_result("monitoring_quick" if quick else "monitoring", result)
    return result


if __name__ == "__main__":
    import sys

    print(main(quick="--quick" in sys.argv))
