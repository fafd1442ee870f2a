"""Where the periods' data come from: the prediction store (live), or a generated history
replayed as if the service had scored it (the backfill). Both give monitoring.analysis.PeriodData."""

from collections.abc import Iterator
from dataclasses import asdict

import numpy as np
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
    past = _past_context(history, champion.context, periods)
    for period in periods:
        in_period = history.between(period.start, period.end)
        if len(in_period):
            current = _score(core, in_period.offers, past, champion.context.as_of)
            known_at = min(period.end + HORIZON, history.extracted_at)
            # Only the period's offers are replayed as of then: their outcomes are all we read.
            matured_rows = with_labels(current, in_period.as_of(known_at).lifecycle, known_at)
        else:
            current = pd.DataFrame(columns=["offer_id", "created_at", "probability", "risk"])
            matured_rows = current.assign(label=pd.Series(dtype=float))
        yield PeriodData(period=period, current=current, matured=matured_rows, feedback=pd.DataFrame(),
                         source="backfill")


def _past_context(history: History, snapshot, periods: list[Period]):
    """The history's point-in-time context as the champion knew it (until its snapshot's date),
    for offers published before that date; None when no period starts before it.

    The snapshot holds everything known at its date: for an earlier offer, that includes the
    offers published after it and its own 30-day outcome (the employer's history counts them:
    a train/serve skew, and a leak of the label, that training never had). Such offers are seen
    as training saw them, each as of its own publication."""
    from features.build import context_from_history

    as_of = snapshot.as_of
    if as_of is None or not periods or periods[0].start >= as_of:
        return None
    known = history.as_of(min(as_of, history.extracted_at))
    return context_from_history(known.offers, known.lifecycle, asdict(snapshot.params))


def _score(core, offers: pd.DataFrame, past, as_of) -> pd.DataFrame:
    """Offers published before `as_of` scored with the point-in-time context `past`, later ones
    with the champion's snapshot (as the service, loaded at `as_of`, would have); original order."""
    early = (offers["created_at"] < as_of).to_numpy() if past is not None else np.zeros(len(offers), bool)
    if not early.any():
        return core.score_frame(offers)
    if early.all():
        return core.score_frame(offers, context=past)
    positions = np.concatenate([np.flatnonzero(early), np.flatnonzero(~early)])
    parts = [core.score_frame(offers[early].reset_index(drop=True), context=past),
             core.score_frame(offers[~early].reset_index(drop=True))]
    scored = pd.concat(parts, ignore_index=True)
    return scored.iloc[np.argsort(positions, kind="stable")].reset_index(drop=True)


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
