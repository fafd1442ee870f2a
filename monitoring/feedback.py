"""Adviser feedback: how often advisers disagreed with the score, by risk band."""

import pandas as pd

from training.risk_bands import RISK_BANDS as BANDS


def disagreement(feedback: pd.DataFrame) -> pd.DataFrame:
    """One row per band the adviser saw: feedback given, disagreements and their rate
    (rows without a band are counted under 'unknown')."""
    if feedback is None or feedback.empty:
        return pd.DataFrame({"band": list(BANDS), "feedback": 0.0, "disagreed": 0.0, "rate": float("nan")})
    band = feedback["risk"].fillna("unknown").astype(str)
    disagreed = (feedback["action"] == "disagreed").astype(float)
    table = pd.DataFrame({"band": band, "disagreed": disagreed}).groupby("band")["disagreed"].agg(
        feedback="size", disagreed="sum")
    table = table.reindex(sorted(set(BANDS) | set(table.index), key=lambda b: (b not in BANDS, b))).fillna(0.0)
    table["rate"] = table["disagreed"] / table["feedback"].where(table["feedback"] > 0)
    return table.astype(float).reset_index().rename(columns={"index": "band"})
