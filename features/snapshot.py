"""The champion's market context snapshot as dictionaries, built once when the model is loaded.

`MarketContext.lookup` answers any offer at any date by binary search over dated events: right
for training, but each call factorizes every key of the context (about 20 ms for one offer). In
a snapshot every event is dated before any served offer, so the context of an offer depends on
its occupation and place only: one dict read per level. The columns are then combined by the
same function as the history's lookup (`features.context.context_columns`).
"""

from datetime import UTC, datetime
from functools import lru_cache

import numpy as np

from features.context import LEVELS, SALARY_LEVELS, MarketContext, context_columns, context_key

PLACE = ("rome_code", "department", "region", "employer_key", "rome_subdomain")
# The context's clock: events of a snapshot count for offers created after 2000-01-01 (ms resolution).
CLOCK_START = datetime(2000, 1, 1, 0, 0, 0, 1000, tzinfo=UTC)
_ZERO = (0.0, 0.0, 0.0)


class SnapshotIndex:
    def __init__(self, context: MarketContext):
        if context.as_of is None:
            raise ValueError("SnapshotIndex needs a snapshot (MarketContext.snapshot), not a history's context")
        self.params = context.params
        self.as_of = context.as_of
        self._counts: dict[str, dict[str, tuple]] = {}
        for level, frame in context.events.items():
            state = frame.groupby("key", sort=False)[["d_labelled", "d_hard", "d_open"]].sum()
            rounded = np.round(state.to_numpy(dtype=float), 6)
            self._counts[level] = dict(zip(state.index.tolist(), map(tuple, rounded.tolist()), strict=True))
        self._salaries: dict[str, dict[str, float]] = {}
        for level, frame in context.salaries.items():
            kept = frame[frame["count"] >= self.params.salary_min_offers]
            self._salaries[level] = dict(zip(kept["key"].tolist(), kept["median"].astype(float).tolist(),
                                             strict=True))
        self._place = lru_cache(maxsize=65_536)(self._place_values)
        self._context = lru_cache(maxsize=65_536)(self._context_values)

    def _place_values(self, rome_code, department, region, employer_key=None,
                      rome_subdomain=None) -> tuple[dict[str, tuple], float]:
        values = {"rome_code": rome_code, "department": department, "region": region, "employer_key": employer_key,
                  "rome_subdomain": rome_subdomain}
        counts = {level: self._counts[level].get(context_key(*(values[c] for c in columns)), _ZERO)
                  for level, columns in LEVELS.items()}
        market = np.nan
        for level, columns in SALARY_LEVELS.items():  # narrowest first; wider levels fill gaps
            market = self._salaries[level].get(context_key(*(values[c] for c in columns)), np.nan)
            if not np.isnan(market):
                break
        return counts, market

    def lookup(self, places: list[tuple], created: list[datetime]) -> dict[str, np.ndarray]:
        """Context columns (features.context.CONTEXT_COLUMNS) for offers given as
        PLACE values and their creation times, one row per offer."""
        n = len(places)
        counts = {level: np.empty((n, 3)) for level in LEVELS}
        market = np.empty(n)
        for row, (place, moment) in enumerate(zip(places, created, strict=True)):
            found, market[row] = self._place(*place)
            if (moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)) < CLOCK_START:
                found = dict.fromkeys(LEVELS, _ZERO)  # before the context's clock: nothing known
            for level in LEVELS:
                counts[level][row] = found[level]
        return context_columns(counts, market, self.params)

    def _context_values(self, place: tuple, before_clock: bool) -> dict[str, float]:
        columns = self.lookup([place], [datetime(1999, 1, 1, tzinfo=UTC) if before_clock else CLOCK_START])
        return {name: float(values[0]) for name, values in columns.items()}

    def context(self, place: tuple, created: datetime) -> dict[str, float]:
        """One offer's context columns, as `lookup` gives them: computed once per place (a
        snapshot's context depends on the place and on being before the clock's start only)."""
        before = (created if created.tzinfo is not None else created.replace(tzinfo=UTC)) < CLOCK_START
        return self._context(place, before)

    def market_salary(self, place: tuple) -> float:
        return self._place(*place)[1]
