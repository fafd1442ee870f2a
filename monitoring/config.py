"""Monitoring parameters: the `monitoring` section of params.yaml (typed in hardtofill.params)."""

from pathlib import Path

from hardtofill.params import AlertThresholds, DriftParams, MonitoringParams, ParamsError

MonitoringParamsError = ParamsError  # kept for callers that catch it by this name

__all__ = ["AlertThresholds", "DriftParams", "MonitoringParams", "MonitoringParamsError", "load_monitoring_params"]


def load_monitoring_params(path: Path | None = None) -> MonitoringParams:
    """The monitoring section; the whole file is checked, so that a bad key anywhere is named."""
    from hardtofill.params import get_params, load_params

    return (load_params(path) if path is not None else get_params()).monitoring
