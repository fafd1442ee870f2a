"""Where the periods' data come from: the prediction store (live), or a generated history
replayed as if the service had scored it (the backfill). Both give monitoring.analysis.PeriodData."""

from collections.abc import Iterator

import pandas as pd

from features.ingest import History, utc
from features.labels import HORIZON
from monitoring.analysis import PeriodData
from monitoring.periods import Period


def with_labels(current: pd.DataFrame, lifecycle: pd.DataFrame, known_at: pd.Timestamp) -> pd.DataFrame:
    """The scored offers whose outcome had matured at `known_at` (created 30 days or more
    before, and labelled), with their `label`. `lifecycle`: offer_id, created_at, outcome,
    outcome_at as known then (later outcomes hidden)."""
    from features.labels import label_offers, matured

    life = lifecycle.assign(extracted_at=known_at)
    labelled = label_offers(life)
    labelled = labelled[matured(labelled, known_at)]
    labels = labelled.drop_duplicates("offer_id", keep="last").set_index("offer_id")["label"]
    merged = current.join(labels, on="offer_id", how="inner")
    return merged.reset_index(drop=True)


def backfill(history: History, champion, periods: list[Period]) -> Iterator[PeriodData]:
    """Each period's offers scored by the champion as they were published (the service's scoring
    core, serving.scoring.ScoringCore), and their outcomes as known 30 days (features.labels.HORIZON)
    after the period's end (or at the history's extraction, if earlier), when every offer of the
    period has had the time to mature."""
    from serving.scoring import ScoringCore

    core = ScoringCore(champion)
    for period in periods:
        in_period = history.between(period.start, period.end)
        if len(in_period):
            current = core.score_frame(in_period.offers)
            known_at = min(period.end + HORIZON, history.extracted_at)
            # Only the period's offers are replayed as of then: their outcomes are all we read.
            matured_rows = with_labels(current, in_period.as_of(known_at).lifecycle, known_at)
        else:
            current = pd.DataFrame(columns=["offer_id", "created_at", "probability", "risk"])
            matured_rows = current.assign(label=pd.Series(dtype=float))
        yield PeriodData(period=period, current=current, matured=matured_rows, feedback=pd.DataFrame(),
                         source="backfill")


def store_lifecycle(scores: pd.DataFrame, outcomes: pd.DataFrame) -> pd.DataFrame:
    """Lifecycle of scored offers from the store's recorded outcomes (none recorded: open)."""
    created = scores["offer_created_at"].fillna(scores["scored_at"])
    life = pd.DataFrame({"offer_id": scores["offer_id"].to_numpy(), "created_at": created.to_numpy()})
    recorded = outcomes.set_index("offer_id")
    life["outcome"] = life["offer_id"].map(recorded["outcome"]).fillna("open")
    life["outcome_at"] = pd.to_datetime(life["offer_id"].map(recorded["outcome_date"]), utc=True)
    life["created_at"] = pd.to_datetime(life["created_at"], utc=True)
    return life


def from_store(store, periods: list[Period], now: pd.Timestamp) -> Iterator[PeriodData]:
    """Each period's scores from the prediction store (an offer scored twice counts once, its
    latest score), outcomes as recorded by `now`, and advisers' feedback given in the period."""
    now = utc(now)
    outcomes = store.outcomes()
    outcomes = outcomes[outcomes["recorded_at"] <= now]
    for period in periods:
        scores = store.scores(period.start, period.end)
        if scores.empty:
            continue  # no traffic in that period: nothing to report
        scores = scores.drop_duplicates("offer_id", keep="last").reset_index(drop=True)
        current = scores.assign(created_at=scores["offer_created_at"].fillna(scores["scored_at"]))
        lifecycle = store_lifecycle(scores, outcomes)
        matured_rows = with_labels(current, lifecycle, now) if len(current) \
            else current.assign(label=pd.Series(dtype=float))
        yield PeriodData(period=period, current=current, matured=matured_rows,
                         feedback=store.feedback(period.start, period.end), source="store")
