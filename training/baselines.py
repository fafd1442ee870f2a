"""What the model must beat: an adviser's rule of thumb and a logistic regression."""

import numpy as np
import pandas as pd

from features.spec import CATEGORICAL, NUMERIC
from hardtofill.params import LogisticParams


def rate_baseline(train: pd.DataFrame, smoothing: float):
    """The historical hard-to-fill rate of the occupation in the region, learnt from the training
    months only, smoothed toward the occupation's rate, then the national one. Returns a
    function frame -> probabilities."""
    national = float(train["label"].mean())
    occupation = train.groupby("rome_code", dropna=False)["label"].agg(["sum", "count"])
    occupation_rate = (occupation["sum"] + smoothing * national) / (occupation["count"] + smoothing)
    local = train.groupby(["rome_code", "region"], dropna=False)["label"].agg(["sum", "count"])

    def predict(frame: pd.DataFrame) -> np.ndarray:
        prior = frame["rome_code"].map(occupation_rate).fillna(national).to_numpy(float)
        keys = pd.MultiIndex.from_frame(frame[["rome_code", "region"]])
        found = local.reindex(keys)
        hard, count = found["sum"].fillna(0).to_numpy(), found["count"].fillna(0).to_numpy()
        return (hard + smoothing * prior) / (count + smoothing)

    return predict


def logistic_pipeline(params: LogisticParams):
    """Logistic regression on the model's features: imputation, scaling, one-hot categories."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = make_pipeline(SimpleImputer(strategy="median", add_indicator=True,
                                          keep_empty_features=True), StandardScaler())
    categorical = make_pipeline(
        SimpleImputer(strategy="constant", fill_value="missing", keep_empty_features=True),
        OneHotEncoder(handle_unknown="infrequent_if_exist",
                      min_frequency=params.min_frequency))
    columns = ColumnTransformer([("numeric", numeric, list(NUMERIC)),
                                 ("categorical", categorical, list(CATEGORICAL))])
    return Pipeline([("prepare", columns),
                     ("logistic", LogisticRegression(C=params.C, max_iter=params.max_iter))])


def logistic_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Categories as plain strings (missing as NaN) for scikit-learn."""
    out = frame[list(NUMERIC) + list(CATEGORICAL)].copy()
    for name in CATEGORICAL:
        out[name] = out[name].astype(object).where(out[name].notna(), np.nan)
    return out


def fit_logistic(train: pd.DataFrame, params: LogisticParams, max_rows: int, seed: int = 0):
    """Fitted on a seeded sample of at most `max_rows` training offers (params.yaml
    training.baseline_max_rows says why)."""
    if len(train) > max_rows:
        train = train.sample(max_rows, random_state=seed)
    pipeline = logistic_pipeline(params)
    pipeline.fit(logistic_frame(train), train["label"].to_numpy(int))

    def predict(frame: pd.DataFrame) -> np.ndarray:
        return pipeline.predict_proba(logistic_frame(frame))[:, 1]

    return predict
