"""Training, promotion, monitoring and serving parameters: one YAML file (params.yaml), one
pydantic model.

Every section is typed and every key is required: a misspelt, missing or out-of-range key stops
the command with the file, the key and what is expected, instead of a default quietly standing in
(a gate that defaulted to "anything passes" would promote any model). The file is read once per
process (`get_params`); commands pass the typed sections down.
"""

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

Share = Annotated[float, Field(gt=0, lt=1)]
Positive = Annotated[float, Field(gt=0)]
NonNegative = Annotated[float, Field(ge=0)]
Count = Annotated[int, Field(ge=1)]


class ParamsError(ValueError):
    """The parameter file is missing or malformed; the message names the file and the key."""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---- features ------------------------------------------------------------------------------------
class ContextSection(Section):
    """features.context: the point-in-time market context."""

    window_days: Count
    open_max_age_days: Count
    smoothing: NonNegative
    prior_rate: Share
    salary_min_offers: Count
    employer_smoothing: NonNegative


# ---- training ------------------------------------------------------------------------------------
class LightGBMParams(Section):
    """Passed to LightGBM as they are; a parameter not listed here is refused (add it here)."""

    objective: Literal["binary"]
    learning_rate: Positive
    num_leaves: Annotated[int, Field(ge=2)]
    min_data_in_leaf: Count
    max_cat_to_onehot: Count
    min_data_per_group: Count
    cat_smooth: NonNegative
    cat_l2: NonNegative
    max_cat_threshold: Count
    feature_fraction: Annotated[float, Field(gt=0, le=1)]
    lambda_l2: NonNegative
    monotone_constraints_method: Literal["basic", "intermediate", "advanced"]


class LogisticParams(Section):
    C: Positive
    max_iter: Count
    min_frequency: Count


class BaselineRateParams(Section):
    smoothing: NonNegative


class TrainingParams(Section):
    warmup_months: Annotated[int, Field(ge=0)]
    validation_months: Count
    test_months: Count
    min_matured_share: Share
    seed: int
    num_threads: Count
    num_boost_round: Count
    early_stopping_rounds: Count
    lightgbm: LightGBMParams
    feature_penalty: dict[str, Annotated[float, Field(ge=0)]]
    monotone: dict[str, Literal[-1, 0, 1]]
    logistic: LogisticParams
    baseline_rate: BaselineRateParams
    baseline_max_rows: Annotated[int, Field(ge=1000)]
    reference_rows: Annotated[int, Field(ge=100)]
    shap_rows: Annotated[int, Field(ge=100)]
    dependence_plots: Annotated[int, Field(ge=0)]

    @field_validator("feature_penalty", "monotone")
    @classmethod
    def _known_features(cls, value: dict) -> dict:
        from features.spec import FEATURE_NAMES

        unknown = sorted(set(value) - set(FEATURE_NAMES))
        if unknown:
            raise ValueError(f"unknown features {unknown}; expected names of features.spec.FEATURES")
        return value


class CalibrationParams(Section):
    methods: Annotated[list[Literal["isotonic", "sigmoid"]], Field(min_length=1)]
    ece_bins: Annotated[int, Field(ge=2)]


class RiskBandShares(Section):
    """Advisers' capacity: the riskiest `high_share` of offers are high risk, the next
    `medium_share` medium (thresholds set on the validation months: training.risk_bands)."""

    high_share: Share
    medium_share: Share

    @model_validator(mode="after")
    def _below_one(self) -> "RiskBandShares":
        if self.high_share + self.medium_share >= 1:
            raise ValueError("high_share + medium_share must be below 1 (some offers are low risk)")
        return self


class QualityGates(Section):
    min_test_roc_auc: float
    max_test_ece: float
    min_lift_over_rate_baseline: float
    min_lift_over_logistic: float


class NonRegressionGate(Section):
    max_auc_drop: NonNegative


class GatesParams(Section):
    quality: QualityGates
    non_regression: NonRegressionGate
    fairness: bool  # apply the thresholds of the fairness section


class FairnessParams(Section):
    """Thresholds of the training audit; the audited attributes are features.spec.AUDIT_COLUMNS."""

    min_group_size: Count
    max_equalized_odds_difference: NonNegative
    max_calibration_gap: NonNegative


# ---- monitoring ----------------------------------------------------------------------------------
class DriftParams(Section):
    numeric_method: str  # an Evidently drift method name; Evidently refuses an unknown one
    numeric_threshold: Positive
    categorical_method: str
    categorical_threshold: Positive
    probability_threshold: Positive
    ignore: list[str]


class AlertThresholds(Section):
    max_drift_share: Annotated[float, Field(ge=0, le=1)]
    max_probability_drift: Positive
    max_high_risk_share_change: Annotated[float, Field(gt=0, le=1)]
    max_auc_drop: NonNegative
    max_ece: NonNegative
    max_equalized_odds_difference: NonNegative
    max_calibration_gap: NonNegative
    max_unseen_occupation_share: Share  # offers whose occupation code the model never saw (ROME 4.0)


class MonitoringParams(Section):
    period: Literal["month", "week"]
    capacity_share: Share
    ece_bins: Annotated[int, Field(ge=2)]
    min_current_offers: Count
    min_matured_offers: Count
    min_group_size: Count
    reference_rows: Annotated[int, Field(ge=100)]
    drift: DriftParams
    alerts: AlertThresholds


# ---- serving -------------------------------------------------------------------------------------
class ServingSection(Section):
    max_batch: Count
    top_reasons: Count
    advice_min_gain: NonNegative
    lightgbm_threads: Count
    batch_chunk: Count
    advice_excluded: list[str]


class Params(Section):
    context: ContextSection
    training: TrainingParams
    calibration: CalibrationParams
    risk_bands: RiskBandShares
    gates: GatesParams
    fairness: FairnessParams
    monitoring: MonitoringParams
    serving: ServingSection


# ---- loading -------------------------------------------------------------------------------------
def _expected(model: type[BaseModel], loc: tuple) -> str:
    """What the field at `loc` expects, from its annotation (for 'missing' and 'unknown key')."""
    current: object = model
    for part in loc:
        if isinstance(current, type) and issubclass(current, BaseModel) and part in current.model_fields:
            current = current.model_fields[part].annotation
        else:
            return ""
    if isinstance(current, type) and issubclass(current, BaseModel):
        return "a section with " + ", ".join(current.model_fields)
    return str(current).replace("typing.", "").replace("Annotated[", "").replace("<class '", "").replace("'>", "")


def _describe(error: dict) -> str:
    loc = tuple(error["loc"])
    key = ".".join(str(part) for part in loc) or "(top level)"
    if error["type"] == "missing":
        return f"{key}: missing; expected {_expected(Params, loc)}"
    if error["type"] == "extra_forbidden":
        parent = _expected(Params, loc[:-1]) if loc[:-1] else "a section with " + ", ".join(Params.model_fields)
        return f"{key}: unknown key; expected {parent.replace('a section with ', 'one of ')}"
    return f"{key}: {error['msg']} (got {error.get('input')!r})"


def parse_params(raw: object, source: str = "params.yaml") -> Params:
    try:
        return Params.model_validate(raw)
    except ValidationError as error:
        problems = [_describe(e) for e in error.errors(include_url=False)]
        raise ParamsError(f"parameter file {source}: " + "; ".join(problems)) from None


def load_params(path: Path | str | None = None) -> Params:
    """Read and check the parameter file (HARDTOFILL_PARAMS_PATH by default)."""
    from hardtofill.settings import get_settings

    path = Path(path or get_settings().params_path)
    if not path.is_file():
        raise ParamsError(f"parameter file {path} not found (set HARDTOFILL_PARAMS_PATH)")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ParamsError(f"parameter file {path} is not valid YAML: {error}") from error
    if not isinstance(raw, dict):
        raise ParamsError(f"parameter file {path} must hold a mapping of sections")
    return parse_params(raw, str(path))


@lru_cache(maxsize=4)
def _cached(path: Path, modified_ns: int) -> Params:
    return load_params(path)


def get_params() -> Params:
    """The parameters of this process, read once (again only if the file changed)."""
    from hardtofill.settings import get_settings

    path = Path(get_settings().params_path).resolve()
    try:
        modified = path.stat().st_mtime_ns
    except OSError:
        return load_params(path)  # raises the clear "not found"
    return _cached(path, modified)


def section(name: str, path: Path | None = None) -> dict:
    """One section as a plain dict (for notebooks and callers that log it)."""
    params = load_params(path) if path is not None else get_params()
    if name not in Params.model_fields:
        raise ParamsError(f"parameter file has no section '{name}'")
    return getattr(params, name).model_dump()
