"""Live monitoring reads the prediction store: scores the service stored, outcomes and advisers'
feedback recorded later. A real SQLite store, the real command."""

import json

import pandas as pd
from typer.testing import CliRunner


def test_monitor_reads_the_store_and_reports_the_period(drift_histories, monitoring_env):
    from features.ingest import read_history
    from hardtofill.cli import app
    from hardtofill.settings import get_settings
    from serving.records import AUDIT_FIELDS, FeedbackRecord, OutcomeRecord, ScoreRecord
    from serving.scoring import ScoringCore
    from serving.store import PredictionStore
    from training.champion import load_champion

    champion = load_champion()
    history = read_history(drift_histories["none"], progress=False)
    month = history.between(pd.Timestamp("2023-07-01", tz="UTC"), pd.Timestamp("2023-08-01", tz="UTC"))
    scored = ScoringCore(champion).score_frame(month.offers)
    store = PredictionStore(get_settings().store_url)
    features = [f["name"] for f in champion.spec["features"]]
    store.record_scores([
        ScoreRecord(offer_id=row["offer_id"], scored_at=row["created_at"], offer_created_at=row["created_at"],
                    model_name=champion.model_name, model_version=champion.version,
                    probability=row["probability"], risk=row["risk"],
                    features={name: (None if pd.isna(row[name]) else row[name]) for name in features},
                    audit={name: str(row[f"audit_{name}"]) for name in AUDIT_FIELDS})
        for row in scored.to_dict(orient="records")])
    for life in month.lifecycle[month.lifecycle["outcome"] != "open"].itertuples():
        store.record_outcome(OutcomeRecord(offer_id=life.offer_id, outcome=life.outcome,
                                           outcome_date=life.outcome_at.date(), recorded_at=life.outcome_at))
    high = scored[scored["risk"] == "high"]["offer_id"].head(10)
    for index, offer_id in enumerate(high):
        store.record_feedback(FeedbackRecord(offer_id=offer_id, action="disagreed" if index < 4 else "agreed",
                                             risk="high", recorded_at=pd.Timestamp("2023-07-20", tz="UTC")))
    store.close()

    result = CliRunner().invoke(app, ["monitor", "--from", "2023-07", "--no-progress"])
    assert result.exit_code in (0, 3), result.output
    summary = json.loads((monitoring_env / "reports" / "live" / "summary.json").read_text("utf-8"))
    assert [p["period"] for p in summary["periods"]] == ["2023-07"]  # months without traffic are skipped
    july = summary["periods"][0]
    assert july["offers"] == len(scored) and july["source"] == "store"
    assert july["quality"]["judged"] and july["quality"]["matured_offers"] > 0.9 * len(scored)
    assert july["drift"]["judged"] and july["drift"]["drifted"] == []  # the reference's neighbour month
    high_band = next(row for row in july["feedback"] if row["band"] == "high")
    assert high_band["feedback"] == 10 and high_band["rate"] == 0.4
    assert (monitoring_env / "reports" / "live" / "report_2023-07.html").is_file()


def test_monitor_without_scores_says_so(monitoring_env):
    from hardtofill.cli import app

    result = CliRunner().invoke(app, ["monitor", "--from", "2023-07", "--no-progress"])
    assert result.exit_code == 2 and "no scored offer in the prediction store" in result.output
