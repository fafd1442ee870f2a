"""Monitoring parameters: the `monitoring` section of params.yaml, checked by pydantic."""

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DriftParams(Strict):
    numeric_method: str = "wasserstein"
    numeric_threshold: float = Field(0.2, gt=0)
    categorical_method: str = "jensenshannon"
    categorical_threshold: float = Field(0.2, gt=0)
    probability_threshold: float = Field(0.1, gt=0)
    ignore: list[str] = ["month", "ctx_*"]


class AlertThresholds(Strict):
    max_drift_share: float = Field(0.05, ge=0, le=1)
    max_probability_drift: float = Field(0.1, gt=0)
    max_high_risk_share_change: float = Field(0.05, gt=0, le=1)
    max_auc_drop: float = Field(0.03, ge=0)
    max_ece: float = Field(0.05, ge=0)
    max_equalized_odds_difference: float = Field(0.6, ge=0)
    max_calibration_gap: float = Field(0.15, ge=0)
    max_unseen_occupation_share: float = Field(0.05, ge=0, le=1)


class MonitoringParams(Strict):
    period: Literal["month", "week"] = "month"
    capacity_share: float = Field(0.2, gt=0, lt=1)
    horizon_days: int = Field(30, ge=1)
    ece_bins: int = Field(10, ge=2)
    min_current_offers: int = Field(200, ge=1)
    min_matured_offers: int = Field(500, ge=1)
    min_group_size: int = Field(200, ge=1)
    reference_rows: int = Field(20_000, ge=100)
    drift: DriftParams = DriftParams()
    alerts: AlertThresholds = AlertThresholds()


class MonitoringParamsError(ValueError):
    """The monitoring section is malformed; the message names the key and the problem."""


def load_monitoring_params(path: Path | None = None) -> MonitoringParams:
    from hardtofill.params import load_params

    raw = load_params(path).get("monitoring") or {}
    try:
        return MonitoringParams.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise MonitoringParamsError(f"params.yaml monitoring.{where}: {first['msg']}") from None
