"""Frame helpers shared by the feature steps."""

import numpy as np
import pandas as pd

SMALL_FRAME = 64  # rows


def combination_codes(frame: pd.DataFrame, columns: list[str] | tuple[str, ...]) -> tuple[np.ndarray, list[tuple]]:
    """(code of each row's combination of the columns' values, the distinct combinations in code
    order, missing values as None): offers repeat a lot, so functions run once per combination."""
    columns = list(columns)
    if len(frame) <= SMALL_FRAME:  # below it, grouping costs more than calling the function on each row
        rows = frame[columns].astype(object).itertuples(index=False, name=None)
        return np.arange(len(frame)), [tuple(None if pd.isna(v) else v for v in row) for row in rows]
    # One integer key from per-column codes: much faster than factorizing a MultiIndex.
    key = np.zeros(len(frame), dtype=np.int64)
    for column in columns:
        codes, uniques = pd.factorize(frame[column], use_na_sentinel=True)
        key = key * (len(uniques) + 1) + (codes + 1)
    codes, _ = pd.factorize(key)
    first = pd.Series(np.arange(len(codes))).groupby(codes).first().to_numpy()
    firsts = frame[columns].iloc[first]
    # Missing values to None in one vectorised step (pd.isna per value was most of the cost).
    rows = firsts.astype(object).where(firsts.notna().to_numpy(), None)
    return codes, list(rows.itertuples(index=False, name=None))


def map_combinations(frame: pd.DataFrame, columns: list[str] | tuple[str, ...], function) -> pd.Series:
    """`function(*values)` once per distinct combination of the columns' values, missing values
    passed as None; one object Series aligned with the frame."""
    codes, combinations = combination_codes(frame, columns)
    lookup = np.empty(len(combinations), dtype=object)
    lookup[:] = [function(*values) for values in combinations]
    return pd.Series(lookup[codes] if len(codes) else np.empty(0, dtype=object), index=frame.index)
