"""Reporting periods: calendar months or ISO weeks (Monday to Monday), in UTC."""

from dataclasses import dataclass

import pandas as pd

from features.ingest import utc


@dataclass(frozen=True)
class Period:
    start: pd.Timestamp
    end: pd.Timestamp  # exclusive
    kind: str

    @property
    def label(self) -> str:
        if self.kind == "week":
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        return self.start.strftime("%Y-%m")


def period_start(moment, kind: str) -> pd.Timestamp:
    moment = utc(moment).normalize()
    if kind == "week":
        return moment - pd.Timedelta(days=moment.weekday())
    return moment.replace(day=1)


def next_start(start: pd.Timestamp, kind: str) -> pd.Timestamp:
    return start + (pd.Timedelta(days=7) if kind == "week" else pd.DateOffset(months=1))


def periods_between(first, last, kind: str = "month") -> list[Period]:
    """Every whole period from the one holding `first` to the last one ending by `last`."""
    if kind not in ("month", "week"):
        raise ValueError(f"period must be 'month' or 'week', not {kind!r}")
    start, last = period_start(first, kind), utc(last)
    found = []
    while (end := next_start(start, kind)) <= last:
        found.append(Period(start=start, end=end, kind=kind))
        start = end
    return found


def parse_month(text: str) -> pd.Timestamp:
    """`YYYY-MM` (or a full date) as the first day of that month, UTC."""
    try:
        return utc(pd.Timestamp(text if len(text) > 7 else f"{text}-01")).replace(day=1).normalize()
    except (ValueError, TypeError):
        raise ValueError(f"--from: {text!r} is not a month (YYYY-MM)") from None
