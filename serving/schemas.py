"""What the API answers (pydantic, for the OpenAPI document) and the feedback it accepts.

Offers come in loosely (a list of JSON objects) and are validated by `features.schema`, so that a
bad offer is refused with its index and field rather than a generic body error.
"""

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from serving.records import ACTIONS, REASON_CODES, RiskBand


class ModelRef(BaseModel):
    name: str
    version: str


class Factor(BaseModel):
    feature: str
    label: str = Field(description="What the feature is, in French.")
    value: str | float | None
    contribution: float = Field(description="TreeSHAP contribution to the raw score (log-odds).")
    sentence: str = Field(description="The reason in plain French.")


class Recommendation(BaseModel):
    change: str = Field(description="Code of the change (e.g. raise_salary_to_market).")
    sentence: str
    probability: float = Field(description="The probability if the recruiter made this change.")
    risk: RiskBand
    gain: float = Field(description="How much lower the probability would be.")


class OfferScore(BaseModel):
    index: int
    score_id: str | None = Field(None, description="This score's id in the prediction store.")
    offer_id: str
    title: str | None = None
    probability: float = Field(ge=0, le=1, description="Calibrated probability of not being filled in 30 days.")
    risk: RiskBand
    risk_label: str
    factors: list[Factor]
    recommendations: list[Recommendation]
    caveats: list[str] = Field([], description="Why this score is less reliable, in French (e.g. an "
                                               "occupation code the model never saw).")


class ScoreResponse(BaseModel):
    model: ModelRef
    notice: str
    results: list[OfferScore]


class ExplainResponse(OfferScore):
    model: ModelRef
    notice: str
    base_value: float = Field(description="The model's base value (log-odds): the average offer.")
    base_rate: float = Field(description="The base value as a calibrated probability.")
    raw_score: float = Field(description="base_value + sum of all contributions.")
    contributions: list[Factor]
    crpa: dict[str, str] = Field(description="The four items of CRPA art. R311-3-1-2 for this offer.")


class StoredScore(BaseModel):
    offer_id: str
    scored_at: str
    model_version: str
    probability: float
    risk: RiskBand
    risk_label: str
    factors: list[Factor]


class LatestResponse(BaseModel):
    model: ModelRef
    notice: str
    results: list[StoredScore]


class FeedbackRequest(BaseModel):
    """An action (with an optional reason code) and/or an outcome. No free text is accepted."""

    model_config = ConfigDict(extra="forbid")

    offer_id: str = Field(min_length=1, max_length=64)
    action: Literal[tuple(ACTIONS)] | None = None  # type: ignore[valid-type]
    reason_code: Literal[tuple(REASON_CODES)] | None = None  # type: ignore[valid-type]
    risk: RiskBand | None = Field(None, description="The band shown to the adviser when acting.")
    model_version: str | None = Field(None, max_length=32)
    outcome: Literal["filled", "abandoned", "cancelled"] | None = None
    outcome_date: date | None = None

    @model_validator(mode="after")
    def _something_to_record(self) -> "FeedbackRequest":
        if self.action is None and self.outcome is None:
            raise ValueError("give an 'action' or an 'outcome'")
        if self.outcome is not None and self.outcome_date is None:
            raise ValueError("an 'outcome' needs its 'outcome_date' (YYYY-MM-DD)")
        if self.reason_code is not None and self.action is None:
            raise ValueError("a 'reason_code' goes with an 'action'")
        return self


class FeedbackAnswer(BaseModel):
    offer_id: str
    feedback_id: int | None
    outcome_recorded: bool
    model: ModelRef | None = None
    notice: str | None = None
