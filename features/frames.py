"""Frame helpers shared by the feature steps."""

import numpy as np
import pandas as pd

SMALL_FRAME = 64  # rows: below it, grouping costs more than calling the function on each row


def map_combinations(frame: pd.DataFrame, columns: list[str] | tuple[str, ...], function) -> pd.Series:
    """`function(*values)` once per distinct combination of the columns' values (offers repeat
    a lot), missing values passed as None; one object Series aligned with the frame."""
    columns = list(columns)
    if len(frame) <= SMALL_FRAME:
        rows = frame[columns].astype(object).itertuples(index=False, name=None)
        mapped = np.empty(len(frame), dtype=object)
        mapped[:] = [function(*(None if pd.isna(v) else v for v in row)) for row in rows]
        return pd.Series(mapped, index=frame.index)
    # One integer key from per-column codes: much faster than factorizing a MultiIndex.
    key = np.zeros(len(frame), dtype=np.int64)
    for column in columns:
        codes, uniques = pd.factorize(frame[column], use_na_sentinel=True)
        key = key * (len(uniques) + 1) + (codes + 1)
    codes, _ = pd.factorize(key)
    first = pd.Series(np.arange(len(codes))).groupby(codes).first().to_numpy()
    rows = frame[columns].iloc[first].astype(object).itertuples(index=False, name=None)
    lookup = np.empty(len(first), dtype=object)
    lookup[:] = [function(*(None if pd.isna(v) else v for v in row)) for row in rows]
    return pd.Series(lookup[codes] if len(codes) else np.empty(0, dtype=object), index=frame.index)
