"""The LightGBM model: native categoricals, monotone salary, early stopping, deterministic."""

import numpy as np
import pandas as pd

from features.spec import FEATURE_NAMES
from hardtofill.params import TrainingParams


def lightgbm_params(params: TrainingParams) -> dict:
    """LightGBM's parameters from the `training` section: fixed seed and threads, deterministic,
    and monotone constraints in the features' order (feature names checked by TrainingParams)."""
    monotone, penalty = params.monotone, params.feature_penalty
    return {
        **params.lightgbm.model_dump(),
        "seed": params.seed,
        "num_threads": params.num_threads,
        "deterministic": True,
        "force_col_wise": True,
        "verbosity": -1,
        "monotone_constraints": [int(monotone.get(name, 0)) for name in FEATURE_NAMES],
        "feature_contri": [float(penalty.get(name, 1.0)) for name in FEATURE_NAMES],
    }


def fit_lightgbm(train_x: pd.DataFrame, train_y: np.ndarray, valid_x: pd.DataFrame,
                 valid_y: np.ndarray, params: TrainingParams, progress=None):
    """Fit on the training months, stop early on the validation months' log loss."""
    import lightgbm as lgb

    train_set = lgb.Dataset(train_x, label=train_y, categorical_feature="auto", free_raw_data=False)
    valid_set = lgb.Dataset(valid_x, label=valid_y, reference=train_set)
    callbacks = [lgb.early_stopping(params.early_stopping_rounds, verbose=False)]
    if progress is not None:
        callbacks.append(progress)
    booster = lgb.train({**lightgbm_params(params), "metric": "binary_logloss"}, train_set,
                        num_boost_round=params.num_boost_round,
                        valid_sets=[valid_set], valid_names=["validation"], callbacks=callbacks)
    return booster


def raw_scores(booster, model_x: pd.DataFrame) -> np.ndarray:
    return booster.predict(model_x, raw_score=True, num_iteration=booster.best_iteration or None)
