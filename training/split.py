"""The time split: warm-up months (market context only), training months, validation months
(early stopping and calibration), then the latest matured months as the test set."""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from hardtofill.params import TrainingParams


class SplitError(ValueError):
    """Too few months of matured labels for the split the parameters ask."""


@dataclass(frozen=True)
class TimeSplit:
    warmup: list[str]
    train: list[str]
    validation: list[str]
    test: list[str]

    def masks(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        """Boolean row masks over `frame` (created_at, matured) per part; unmatured rows are out."""
        month = month_of(frame["created_at"])
        usable = frame["matured"].to_numpy(bool)
        return {part: usable & month.isin(getattr(self, part)).to_numpy()
                for part in ("train", "validation", "test")}

    def as_dict(self) -> dict:
        return {"warmup": self.warmup, "train": self.train, "validation": self.validation,
                "test": self.test}


def month_of(created_at: pd.Series) -> pd.Series:
    """"YYYY-MM" of each UTC time, formatted once per distinct month (strftime per row was slow)."""
    months = pd.to_datetime(created_at, utc=True).dt.tz_localize(None).to_numpy(dtype="datetime64[M]")
    codes, distinct = pd.factorize(months)
    labels = np.datetime_as_string(np.asarray(distinct, dtype="datetime64[M]"), unit="M").astype(object)
    return pd.Series(labels[codes] if len(codes) else np.empty(0, dtype=object), index=created_at.index,
                     dtype=object)


def time_split(frame: pd.DataFrame, params: TrainingParams) -> TimeSplit:
    """Months ordered in time; only months where most offers have matured labels count."""
    month = month_of(frame["created_at"])
    share = frame["matured"].groupby(month).mean()
    months = sorted(share[share >= params.min_matured_share].index)
    warmup, valid, test = params.warmup_months, params.validation_months, params.test_months
    needed = warmup + valid + test + 1
    if len(months) < needed:
        raise SplitError(f"the history has {len(months)} months of matured labels; the split needs "
                         f"at least {needed} (warm-up {warmup} + training 1 + validation {valid} "
                         f"+ test {test}): use a longer history or a later --until")
    return TimeSplit(warmup=months[:warmup], train=months[warmup:len(months) - valid - test],
                     validation=months[len(months) - valid - test:len(months) - test],
                     test=months[len(months) - test:])
