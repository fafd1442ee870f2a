"""The market context of an offer, point in time.

For an offer created at time t, only what was known before t counts:
- labels known before t (`label_known_at < t`) within a recent window: the hard-to-fill rate
  of the occupation in the department, the region and the country, smoothed toward the wider
  level when counts are small;
- offers of the occupation open at t in the department and the region;
- the market salary of the occupation in the region: the median yearly salary shown by offers
  published before the start of t's month;
- the employer's history (its keyed pseudonym, features.employer): how many offers it published
  before t, and of those whose 30-day outcome had matured before t (created 30 days or more
  before t), how many were not filled within 30 days; no window, and an offer without an
  employer has no employer history. The employer level reuses the event table: `d_open` counts
  offers published (never closed), `d_labelled`/`d_hard` the matured outcomes.

The context is a table of dated events (a label becoming known, a label leaving the window, an
offer opening or closing). A value at t is the sum of the events before t, found by binary
search, so the whole history is scored in one vectorised pass. A snapshot as of a date folds
the events before that date into one state per key: serving looks offers up in it with the
same code, which is why batch and one-at-a-time features are identical.
"""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from features.frames import map_combinations

LEVELS: dict[str, tuple[str, ...]] = {
    "occupation_department": ("rome_code", "department"),
    "occupation_region": ("rome_code", "region"),
    "occupation": ("rome_code",),
    "national": (),
    "employer": ("employer_key",),
    "family": ("rome_subdomain",),
    "occupation_department_history": ("rome_code", "department"),
    "family_department": ("rome_subdomain", "department"),
}
EMPLOYER_LEVEL = "employer"
# Levels counting every matured outcome since the history's start, with no window, as the
# employer's: an occupation (or its family) in one department has a few offers a month, and
# the local tension they measure moves slowly, so six months of outcomes are too few.
HISTORY_LEVELS = frozenset({EMPLOYER_LEVEL, "occupation_department_history", "family_department"})
SALARY_LEVELS: dict[str, tuple[str, ...]] = {
    "occupation_region": ("rome_code", "region"),
    "occupation": ("rome_code",),
    "national": (),
}
CONTEXT_COLUMNS = (
    "ctx_hard_rate_occupation_department",
    "ctx_hard_rate_occupation_region",
    "ctx_hard_rate_national",
    "ctx_labelled_occupation_department",
    "ctx_open_occupation_department",
    "ctx_open_occupation_region",
    "ctx_employer_offers",
    "ctx_employer_matured",
    "ctx_employer_hard_rate",
    "ctx_hard_rate_occupation_department_history",
    "ctx_hard_rate_family_department",
    "salary_market",
)
MISSING_KEY = "?"  # context_key of a missing value
_NS = np.int64
_MIN_TIME = np.iinfo(np.int64).min


@dataclass(frozen=True)
class ContextParams:
    """The `context` section of params.yaml (meanings there; checked by hardtofill.params)."""

    window_days: int
    open_max_age_days: int
    smoothing: float
    prior_rate: float
    salary_min_offers: int
    employer_smoothing: float

    @classmethod
    def from_dict(cls, params: dict | None) -> "ContextParams":
        """From the section's values; keys not given (all, for None) are the project's params.yaml
        ones (checked there): no second set of defaults here."""
        from hardtofill.params import get_params

        return cls(**{**get_params().context.model_dump(), **(params or {})})


def _keys(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.Series:
    """"value|value" keys of the columns ("?" when missing), joined once per distinct combination
    (string concatenation over every row was the slowest step of the context)."""
    if not columns:
        return pd.Series("", index=frame.index)
    return map_combinations(frame, columns, context_key)


def context_key(*values) -> str:
    """The key of one combination of values in the context's tables."""
    return "|".join(MISSING_KEY if v is None or v != v else str(v) for v in values)


def _time(values: pd.Series) -> np.ndarray:
    return values.to_numpy(dtype="datetime64[ns]").astype(_NS)


def _events(labelled: pd.DataFrame, params: ContextParams) -> pd.DataFrame:
    """Dated deltas of (labelled, hard, open) counts, one row per event, without keys."""
    window = pd.Timedelta(days=params.window_days).value
    max_age = pd.Timedelta(days=params.open_max_age_days).value
    has_label = labelled["label"].notna().to_numpy()
    label = labelled["label"].fillna(0).to_numpy()
    known = _time(labelled["label_known_at"])
    created = _time(labelled["created_at"])
    closed = _time(labelled["outcome_at"])
    closed = np.where(labelled["outcome_at"].isna().to_numpy(), created + max_age,
                      np.minimum(closed, created + max_age))
    rows = np.arange(len(labelled))
    parts = [
        (rows[has_label], known[has_label], 1.0, label[has_label], 0.0),
        (rows[has_label], known[has_label] + window, -1.0, -label[has_label], 0.0),
        (rows, created, 0.0, 0.0, 1.0),
        (rows, closed, 0.0, 0.0, -1.0),
    ]
    frames = [
        pd.DataFrame({"row": r, "time": t, "d_labelled": dl, "d_hard": dh, "d_open": do})
        for r, t, dl, dh, do in parts
    ]
    return pd.concat(frames, ignore_index=True)


def _employer_events(labelled: pd.DataFrame) -> pd.DataFrame:
    """The employer level's dated deltas: an offer counts as published from its creation, and its
    30-day outcome once matured, at creation + 30 days (the horizon: every label is decided by
    then). Not when the outcome was first known: a quick fill known at day 5 would otherwise
    count before the slow offers created with it, and bias the recent history toward "filled"."""
    from features.labels import HORIZON

    has_label = labelled["label"].notna().to_numpy()
    label = labelled["label"].fillna(0).to_numpy()
    created = _time(labelled["created_at"])
    rows = np.arange(len(labelled))
    parts = [(rows[has_label], created[has_label] + HORIZON.value, 1.0, label[has_label], 0.0),
             (rows, created, 0.0, 0.0, 1.0)]
    return pd.concat([pd.DataFrame({"row": r, "time": t, "d_labelled": dl, "d_hard": dh, "d_open": do})
                      for r, t, dl, dh, do in parts], ignore_index=True)


def level_events(level: str, events: pd.DataFrame, employer_events: pd.DataFrame, keys: np.ndarray) -> pd.DataFrame:
    """One level's events with their keys (row dropped): the levels of HISTORY_LEVELS have the
    employer's events (no window), and the employer level none for offers without an employer
    (they are not one big employer)."""
    chosen = employer_events if level in HISTORY_LEVELS else events
    keyed = chosen.assign(key=keys[chosen["row"].to_numpy()]).drop(columns="row")
    if level == EMPLOYER_LEVEL:
        keyed = keyed[keyed["key"] != MISSING_KEY]
    return keyed


@dataclass
class MarketContext:
    """Events per level and shown salaries; `as_of` is set on snapshots."""

    events: dict[str, pd.DataFrame]  # level -> key, time (ns), d_labelled, d_hard, d_open
    salaries: dict[str, pd.DataFrame]  # level -> key, month (ns, or MIN for a snapshot), median, count
    params: ContextParams = field(default_factory=lambda: ContextParams.from_dict(None))
    as_of: pd.Timestamp | None = None

    # ---- building -------------------------------------------------------------------------
    @classmethod
    def from_history(cls, parsed: pd.DataFrame, labelled: pd.DataFrame,
                     params: ContextParams | None = None) -> "MarketContext":
        """`parsed`: parsed offer frame (rome_code, department, region, created_at,
        salary_yearly_mid); `labelled`: its lifecycle with label and label_known_at, same rows."""
        params = params or ContextParams.from_dict(None)
        events = _events(labelled.reset_index(drop=True), params)
        employer_events = _employer_events(labelled.reset_index(drop=True))
        places = parsed.reset_index(drop=True)
        by_level = {}
        for level, columns in LEVELS.items():
            keyed = level_events(level, events, employer_events, _keys(places, columns).to_numpy())
            by_level[level] = keyed.sort_values(["key", "time"], kind="stable", ignore_index=True)
        return cls(events=by_level, salaries=_monthly_salaries(places, params), params=params)

    def snapshot(self, as_of: pd.Timestamp) -> "MarketContext":
        """The state known just before `as_of`, one row per key: what serving loads."""
        as_of = pd.Timestamp(as_of)
        cutoff = as_of.value
        events = {}
        for level, frame in self.events.items():
            before = frame[frame["time"] < cutoff]
            state = before.groupby("key", sort=True)[["d_labelled", "d_hard", "d_open"]].sum()
            events[level] = state.reset_index().assign(time=_MIN_TIME)[frame.columns]
        month = _month_start(pd.Series([as_of])).iloc[0]
        salaries = {}
        for level, frame in self.salaries.items():
            valid = frame[frame["month"] <= month.value]
            latest = valid.sort_values("month").groupby("key", sort=True).tail(1)
            salaries[level] = latest.assign(month=_MIN_TIME).sort_values("key", ignore_index=True)
        return MarketContext(events=events, salaries=salaries, params=self.params, as_of=as_of)

    # ---- querying -------------------------------------------------------------------------
    def lookup(self, parsed: pd.DataFrame) -> pd.DataFrame:
        """Context columns for offers (rome_code, department, region, created_at), same index."""
        times = _time(parsed["created_at"])
        if "employer_key" not in parsed.columns:  # offers given without their employer: none known
            parsed = parsed.assign(employer_key=None)
        counts = {level: self._counts(level, _keys(parsed, columns).to_numpy(), times)
                  for level, columns in LEVELS.items()}
        return pd.DataFrame(context_columns(counts, self._salary_market(parsed), self.params), index=parsed.index)

    def _counts(self, level: str, keys: np.ndarray, times: np.ndarray) -> np.ndarray:
        """Sum of (labelled, hard, open) deltas with the same key and a time before each query."""
        events = self.events[level]
        event_keys = events["key"].to_numpy()
        codes, _ = pd.factorize(np.concatenate([event_keys, keys]), sort=True)
        event_codes, query_codes = codes[: len(event_keys)], codes[len(event_keys):]
        # One sortable int64 per (key, time): events are sorted by (key, time) and
        # factorize(sort=True) keeps that key order, so a binary search finds, for each query,
        # the events of its key strictly before its time.
        event_pairs = _composite(event_codes, events["time"].to_numpy())
        upto = np.searchsorted(event_pairs, _composite(query_codes, times), side="left")
        start = np.searchsorted(event_pairs, _composite(query_codes, None), side="left")
        deltas = events[["d_labelled", "d_hard", "d_open"]].to_numpy()
        cumulative = np.vstack([np.zeros((1, 3)), np.cumsum(deltas, axis=0)])
        return np.round(cumulative[upto] - cumulative[start], 6)

    def _salary_market(self, parsed: pd.DataFrame) -> np.ndarray:
        """Median shown salary of the occupation in the region, before the offer's month."""
        months = _month_start(parsed["created_at"]).to_numpy(dtype="datetime64[ns]").astype(_NS)
        market = np.full(len(parsed), np.nan)
        for level, columns in SALARY_LEVELS.items():  # narrowest first; wider levels fill gaps
            table = self.salaries[level]
            table = table[table["count"] >= self.params.salary_min_offers]
            keys = _keys(parsed, columns)
            query = pd.DataFrame({"key": keys.to_numpy(),
                                  "month": months if self.as_of is None else _MIN_TIME})
            found = query.merge(table, on=["key", "month"], how="left")["median"].to_numpy()
            market = np.where(np.isnan(market), found, market)
        return market

    # ---- persistence (an MLflow artifact for serving) -------------------------------------
    def save(self, directory: Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        for level, frame in self.events.items():
            frame.to_parquet(directory / f"events_{level}.parquet", index=False)
        for level, frame in self.salaries.items():
            frame.to_parquet(directory / f"salaries_{level}.parquet", index=False)
        meta = {**self.params.__dict__, "as_of": self.as_of.isoformat() if self.as_of is not None else None}
        (directory / "context.json").write_text(pd.Series(meta).to_json(), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> "MarketContext":
        import json

        directory = Path(directory)
        meta_path = directory / "context.json"
        if not meta_path.is_file():
            raise FileNotFoundError(f"market context {directory} has no context.json")
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        as_of = pd.Timestamp(meta.pop("as_of")) if meta.get("as_of") else None
        meta.pop("as_of", None)
        events = {level: _read_events(directory / f"events_{level}.parquet") for level in LEVELS}
        salaries = {level: pd.read_parquet(directory / f"salaries_{level}.parquet")
                    for level in SALARY_LEVELS}
        return cls(events=events, salaries=salaries, params=ContextParams(**meta), as_of=as_of)


def _read_events(path: Path) -> pd.DataFrame:
    """A level's events; none for a level added after the context was saved (the employer level
    of a champion trained before it: every offer then has no employer history)."""
    if path.is_file():
        return pd.read_parquet(path)
    return pd.DataFrame({"key": pd.Series(dtype=object), "time": pd.Series(dtype="int64"),
                         **{c: pd.Series(dtype=float) for c in ("d_labelled", "d_hard", "d_open")}})


_EPOCH_MS = 946_684_800_000  # 2000-01-01: times are milliseconds since then
_TIME_BITS = 41  # about 70 years of milliseconds


def _composite(codes: np.ndarray, times_ns: np.ndarray | None) -> np.ndarray:
    if times_ns is None:
        ms = np.zeros(len(codes), dtype=_NS)
    else:
        ms = np.clip(times_ns // 1_000_000 - _EPOCH_MS, 0, (1 << _TIME_BITS) - 1)
    return (codes.astype(_NS) << _TIME_BITS) | ms


def context_columns(counts: dict[str, np.ndarray], salary_market: np.ndarray,
                    params: ContextParams) -> dict[str, np.ndarray]:
    """The context's columns from each level's (labelled, hard, open) counts, one row per offer:
    the one definition used by `MarketContext.lookup` and the serving index (features.snapshot)."""
    national = _smoothed(counts["national"], params.prior_rate, params.smoothing)
    occupation = _smoothed(counts["occupation"], national, params.smoothing)
    region = _smoothed(counts["occupation_region"], occupation, params.smoothing)
    department = _smoothed(counts["occupation_department"], region, params.smoothing)
    # Every matured outcome of the occupation, and of its family, in the department (HISTORY_LEVELS).
    family = _smoothed(counts["family"], national, params.smoothing)
    return {
        "ctx_hard_rate_occupation_department": department,
        "ctx_hard_rate_occupation_region": region,
        "ctx_hard_rate_national": national,
        "ctx_labelled_occupation_department": counts["occupation_department"][:, 0],
        "ctx_open_occupation_department": counts["occupation_department"][:, 2],
        "ctx_open_occupation_region": counts["occupation_region"][:, 2],
        "ctx_employer_offers": counts["employer"][:, 2],
        "ctx_employer_matured": counts["employer"][:, 0],
        # Toward the occupation's rate in the department: an employer without history is neutral.
        "ctx_employer_hard_rate": _smoothed(counts["employer"], department, params.employer_smoothing),
        "ctx_hard_rate_occupation_department_history": _smoothed(
            counts["occupation_department_history"], region, params.smoothing),
        "ctx_hard_rate_family_department": _smoothed(counts["family_department"], family, params.smoothing),
        "salary_market": salary_market,
    }


def _smoothed(counts: np.ndarray, prior: np.ndarray | float, smoothing: float) -> np.ndarray:
    labelled, hard = counts[:, 0], counts[:, 1]
    return (hard + smoothing * prior) / (labelled + smoothing)


def _month_start(times: pd.Series) -> pd.Series:
    naive = times.dt.tz_convert("UTC").dt.tz_localize(None)
    return naive.dt.to_period("M").dt.to_timestamp().dt.tz_localize("UTC")


def _monthly_salaries(parsed: pd.DataFrame, params: ContextParams) -> dict[str, pd.DataFrame]:
    """Per level and month start M: median and count of salaries shown by offers created before M."""
    shown = parsed[parsed["salary_yearly_mid"].notna()]
    month_of_offer = _month_start(parsed["created_at"])
    months = pd.date_range(month_of_offer.min(), month_of_offer.max() + pd.offsets.MonthBegin(1),
                           freq="MS", tz="UTC") if len(parsed) else []
    tables = {}
    for level, columns in SALARY_LEVELS.items():
        keys = _keys(shown, columns)
        pieces = []
        for month in months:
            before = shown["created_at"] < month
            if not before.any():
                continue
            grouped = shown.loc[before, "salary_yearly_mid"].groupby(keys[before])
            pieces.append(pd.DataFrame({"median": grouped.median(), "count": grouped.size()})
                          .rename_axis("key").reset_index().assign(month=month.value))
        columns_out = ["key", "month", "median", "count"]
        tables[level] = (pd.concat(pieces, ignore_index=True)[columns_out] if pieces
                         else pd.DataFrame({c: pd.Series(dtype=t) for c, t in
                                            zip(columns_out, [object, "int64", float, "int64"], strict=True)}))
    return tables
