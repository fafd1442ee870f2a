"""A history's point-in-time features, one creation month at a time: the same rows as
features.build.history_features, without ever holding the whole history.

The market context of an offer created at t is the sum of the events (labels known, offers
opened, closed) before t, and the salaries shown before t's month. Split by month:
- state at the start of month m: per key, the sum of every event before m, folded from small
  per-(key, month) totals;
- events inside month m, from the offers of m and of earlier months (their labels and closings
  land later): a few per offer of one month;
- salaries shown before m: medians from per-(key, month, salary) counts.
So month m's features need its own offers, its events, and tables whose size depends on the
number of keys and months, not of offers. Each step is a pure function of a partition (or of
the small tables): run one after the other on one machine (training.partitioned) or as tasks
on a Dask cluster (training.distributed), with the same code (features.build, features.context).
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.context import (
    _MIN_TIME,
    LEVELS,
    SALARY_LEVELS,
    ContextParams,
    MarketContext,
    _employer_events,
    _events,
    _keys,
    level_events,
)
from features.labels import label_offers

DELTAS = ["d_labelled", "d_hard", "d_open"]
EVENT_COLUMNS = ["time", *DELTAS, "key"]  # as MarketContext.from_history orders them


def month_number(times_ns: np.ndarray) -> np.ndarray:
    """Months since 1970-01 of UTC nanosecond times."""
    return times_ns.astype("datetime64[ns]").astype("datetime64[M]").astype(np.int64)


def month_start_ns(number: int) -> int:
    return int(np.datetime64(int(number), "M").astype("datetime64[ns]").astype(np.int64))


@dataclass
class MonthEvents:
    """What one creation month contributes to the context: its events by the month they fall
    in, their per-(key, month) totals, and counts of the salaries it shows."""

    events: dict[int, dict[str, pd.DataFrame]]  # event month -> level -> key, time, d_*
    totals: dict[str, pd.DataFrame]  # level -> key, month, d_*
    salaries: dict[str, pd.DataFrame]  # level -> key, month, value, count


def month_events(parsed: pd.DataFrame, lifecycle: pd.DataFrame, params: ContextParams,
                 last_month: int) -> MonthEvents:
    """Events of one partition's offers (parsed offer frame and lifecycle, same rows); events
    after `last_month` are dropped (no offer is looked up then)."""
    parsed = parsed.reset_index(drop=True)
    labelled = label_offers(lifecycle.reset_index(drop=True))
    events, employer_events = _events(labelled, params), _employer_events(labelled)
    by_month: dict[int, dict[str, pd.DataFrame]] = {}
    totals = {}
    for level, columns in LEVELS.items():
        keyed = level_events(level, events, employer_events, _keys(parsed, columns).to_numpy())
        month = month_number(keyed["time"].to_numpy())
        keep = month <= last_month
        dated = keyed[keep].assign(month=month[keep])
        totals[level] = dated.groupby(["key", "month"], sort=True)[DELTAS].sum().reset_index()
        for number, piece in dated.groupby("month", sort=True):
            by_month.setdefault(int(number), {})[level] = piece[EVENT_COLUMNS]
    shown = parsed[parsed["salary_yearly_mid"].notna()]
    created_month = month_number(shown["created_at"].to_numpy(dtype="datetime64[ns]").astype(np.int64))
    salaries = {}
    for level, columns in SALARY_LEVELS.items():
        counted = pd.DataFrame({"key": _keys(shown, columns).to_numpy(), "month": created_month,
                                "value": shown["salary_yearly_mid"].to_numpy(float)})
        salaries[level] = counted.groupby(["key", "month", "value"], sort=True).size().rename("count").reset_index()
    return MonthEvents(events=by_month, totals=totals, salaries=salaries)


@dataclass
class ContextTables:
    """The small tables: per level, totals per (key, event month) and salary counts per
    (key, creation month, value), summed over every partition."""

    totals: dict[str, pd.DataFrame]
    salaries: dict[str, pd.DataFrame]
    params: ContextParams

    @classmethod
    def combine(cls, parts: list[MonthEvents], params: ContextParams) -> "ContextTables":
        totals = {level: pd.concat([p.totals[level] for p in parts], ignore_index=True)
                  .groupby(["key", "month"], sort=True)[DELTAS].sum().reset_index() for level in LEVELS}
        salaries = {level: pd.concat([p.salaries[level] for p in parts], ignore_index=True)
                    .groupby(["key", "month", "value"], sort=True)["count"].sum().reset_index()
                    for level in SALARY_LEVELS}
        return cls(totals=totals, salaries=salaries, params=params)

    def state_before(self, month: int) -> dict[str, pd.DataFrame]:
        """Per level, one event per key at the earliest time: the sum of events before `month`."""
        state = {}
        for level, totals in self.totals.items():
            summed = totals[totals["month"] < month].groupby("key", sort=True)[DELTAS].sum().reset_index()
            state[level] = summed.assign(time=_MIN_TIME)[EVENT_COLUMNS]
        return state

    def salaries_before(self, month: int) -> dict[str, pd.DataFrame]:
        """Per level, median and count of the salaries shown before `month`, as
        features.context._monthly_salaries has them for that month (key, month, median, count)."""
        tables = {}
        for level, counts in self.salaries.items():
            before = counts[counts["month"] < month]
            merged = before.groupby(["key", "value"], sort=True)["count"].sum().reset_index()
            tables[level] = _weighted_medians(merged).assign(month=month_start_ns(month))[
                ["key", "month", "median", "count"]]
        return tables

    def context_for(self, month: int, events: list[dict[str, pd.DataFrame]]) -> MarketContext:
        """The context that looks offers of `month` up exactly as the whole history's would:
        the state before the month plus the month's own events (from every partition)."""
        state = self.state_before(month)
        by_level = {}
        for level in LEVELS:
            pieces = [state[level]] + [e[level] for e in events if level in e]
            by_level[level] = _sorted_by_key_and_time(pd.concat(pieces, ignore_index=True))
        return MarketContext(events=by_level, salaries=self.salaries_before(month), params=self.params)

    def snapshot(self, as_of: pd.Timestamp, events: list[dict[str, pd.DataFrame]]) -> MarketContext:
        """What serving loads: the snapshot as of `as_of` (`events`: those of as_of's month). The
        salaries before as_of's month hold every key's latest median, as the history's do."""
        as_of = pd.Timestamp(as_of)
        return self.context_for(int(month_number(np.array([as_of.value]))[0]), events).snapshot(as_of)


def _sorted_by_key_and_time(events: pd.DataFrame) -> pd.DataFrame:
    """sort_values(["key", "time"], kind="stable"), with the string keys compared once each
    (factorize) and integers sorted after: sorting the strings row by row was the slow part."""
    codes, _ = pd.factorize(events["key"].to_numpy(), sort=True)
    order = np.lexsort((events["time"].to_numpy(), codes))  # stable, last key first
    return events.take(order).reset_index(drop=True)


def _weighted_medians(counts: pd.DataFrame) -> pd.DataFrame:
    """Per key, the median and number of values given as (key, value, count) sorted by key then
    value: the middle value, or the mean of the two middle ones, as pandas' median."""
    if counts.empty:
        return pd.DataFrame({"key": pd.Series(dtype=object), "median": pd.Series(dtype=float),
                             "count": pd.Series(dtype=np.int64)})
    keys, first = np.unique(counts["key"].to_numpy(), return_index=True)
    order = np.argsort(first)
    keys, first = keys[order], first[order]
    cumulative = np.cumsum(counts["count"].to_numpy())
    before = np.concatenate([[0], cumulative])[first]  # values before each key's first row
    totals = np.append(before[1:], cumulative[-1]) - before
    values = counts["value"].to_numpy(float)
    lower = values[np.searchsorted(cumulative, before + (totals - 1) // 2, side="right")]
    upper = values[np.searchsorted(cumulative, before + totals // 2, side="right")]
    return pd.DataFrame({"key": keys, "median": (lower + upper) / 2, "count": totals.astype(np.int64)})
