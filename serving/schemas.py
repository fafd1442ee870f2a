"""What the API accepts and answers (pydantic, for the OpenAPI document and the request guard).

Each route has two views of its body: the typed one the OpenAPI document shows (offers as the
API v2 schema, `features.schema.Offer`) and the one `serving.guard` checks before BentoML reads
the body, where offers are taken loosely so that the service can check them one by one: a bad
offer in a batch is reported (index, id, every faulty field) while the others are scored.
Everything else is strict: unknown fields refused, no "3" for a number, no "yes" for a boolean.
"""

import re
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    StrictInt,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from features.schema import EARLIEST_DATE, Offer, OfferId
from serving.records import ACTIONS, REASON_CODES, RiskBand

MAX_LIMIT = 1000  # /latest rows at most (serving.max_batch bounds it further)
MODEL_VERSION_PATTERN = r"^[1-9][0-9]{0,5}$"  # MLflow model versions are numbers
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScoreRequest(Strict):
    offers: list[Offer] = Field(min_length=1, description="Offers as the API v2 returns them "
                                "(at most `serving.max_batch`; larger batches get 413).")


class ScoreOneRequest(Strict):
    offers: list[Offer] = Field(min_length=1, max_length=1, description="One offer as the API v2 returns it.")


class ExplainRequest(Strict):
    offer: Offer


class ScoreBody(Strict):
    """/score as the guard checks it: the offers themselves are checked by the service."""

    offers: list[Any] = Field(min_length=1)


class ScoreOneBody(Strict):
    """/score_one as the guard checks it (the guard then validates the offer itself)."""

    offers: list[Any] = Field(min_length=1, max_length=1)


class ExplainBody(Strict):
    offer: dict[str, Any]


class LatestRequest(Strict):
    limit: StrictInt = Field(50, ge=1, le=MAX_LIMIT, description="How many offers (latest score each).")


class FieldError(BaseModel):
    field: str = Field(description="The field's path, e.g. lieuTravail.codePostal or competences.2.code.")
    message: str = Field(description="What is wrong, in French.")


class RefusedOffer(BaseModel):
    index: int = Field(description="Position of the offer in the request (0 first); n° index+1 in the file.")
    offer_id: str | None = Field(description="The offer's id when it is well formed, else null.")
    error: str = Field(description="One sentence in French naming the offer and its faulty fields.")
    fields: list[FieldError] = Field(description="Every faulty field of the offer.")


class ErrorResponse(BaseModel):
    """Every 4xx/5xx answer of the API routes."""

    error: str = Field(description="What went wrong, in French, for the adviser.")
    fields: list[FieldError] | None = Field(None, description="Every faulty field of the request.")
    refused: list[RefusedOffer] | None = Field(None, description="Refused offers (all of them were).")
    limit: int | None = Field(None, description="The number of offers allowed per request (413).")
    limit_bytes: int | None = Field(None, description="The body size allowed, in bytes (413).")


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
    results: list[OfferScore] = Field(description="One per valid offer; `index` is its place in the request.")
    refused: list[RefusedOffer] = Field([], description="Invalid offers: not scored, each with every faulty field.")


class ScoreOneResponse(RootModel[list[ScoreResponse]]):
    """/score_one's answer: a list of one answer, as /score gives for that offer alone (adaptive
    batching merges concurrent requests' offers into one call and splits the answers back)."""


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


class FeedbackRequest(Strict):
    """An action (with an optional reason code) and/or an outcome. No free text is accepted:
    the offer id and the model version are checked by pattern (the version must also exist).
    A retried request can carry an `Idempotency-Key` header (the same key stores one row)."""

    # In the document too: an action, or an outcome with its date (a reason goes with an action).
    model_config = ConfigDict(extra="forbid", json_schema_extra={"anyOf": [
        {"required": ["action"], "properties": {"action": {"type": "string"}}},
        {"required": ["outcome", "outcome_date"], "not": {"required": ["reason_code"]},
         "properties": {"outcome": {"type": "string"}, "outcome_date": {"type": "string"}}},
    ]})

    offer_id: OfferId = Field(description="The offer's id as the API forms it (e.g. 184NQNL).")
    action: Literal[tuple(ACTIONS)] | None = None  # type: ignore[valid-type]
    reason_code: Literal[tuple(REASON_CODES)] | None = None  # type: ignore[valid-type]
    risk: RiskBand | None = Field(None, description="The band shown to the adviser when acting.")
    model_version: Annotated[str, StringConstraints(pattern=MODEL_VERSION_PATTERN)] | None = Field(
        None, description="The version of the model whose score the adviser saw (it must exist).")
    outcome: Literal["filled", "abandoned", "cancelled"] | None = None
    outcome_date: Annotated[date, WithJsonSchema({
        "type": "string", "description": "YYYY-MM-DD, from 2000-01-01 to today.",
        "pattern": r"^20[01][0-9]-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])$"})] | None = None

    @field_validator("outcome_date", mode="before")
    @classmethod
    def _iso_date(cls, value: object) -> object:
        # A number would be read as seconds since 1970 (0 -> 1970-01-01): only YYYY-MM-DD.
        if value is not None and not (isinstance(value, str) and _DATE.match(value)):
            raise PydanticCustomError("date_type", "date attendue, au format AAAA-MM-JJ")
        return value

    @field_validator("outcome_date")
    @classmethod
    def _plausible_date(cls, value: date | None) -> date | None:
        latest = (datetime.now(UTC) + timedelta(days=1)).date()
        if value is not None and not EARLIEST_DATE.date() <= value <= latest:
            raise PydanticCustomError("date_out_of_range", "date hors de la plage plausible ({earliest} à {latest})",
                                      {"earliest": EARLIEST_DATE.date().isoformat(), "latest": latest.isoformat()})
        return value

    @model_validator(mode="after")
    def _something_to_record(self) -> "FeedbackRequest":
        if self.action is None and self.outcome is None:
            raise PydanticCustomError("feedback_incomplete", "donnez une 'action' ou un 'outcome'")
        if self.outcome is not None and self.outcome_date is None:
            raise PydanticCustomError("feedback_incomplete",
                                      "un 'outcome' demande sa date 'outcome_date' (AAAA-MM-JJ)")
        if self.reason_code is not None and self.action is None:
            raise PydanticCustomError("feedback_incomplete", "un 'reason_code' accompagne une 'action'")
        return self


class FeedbackAnswer(BaseModel):
    offer_id: str
    feedback_id: int | None = Field(description="The stored action's id; null when only an outcome was sent.")
    outcome_recorded: bool
    model: ModelRef | None = None
    notice: str | None = None


# What the guard checks, route by route (offers are checked by the service).
ROUTE_BODIES: dict[str, type[BaseModel]] = {
    "/score": ScoreBody, "/score_one": ScoreOneBody, "/explain": ExplainBody, "/feedback": FeedbackRequest,
    "/latest": LatestRequest,
}
# What the OpenAPI document shows, route by route.
ROUTE_REQUESTS: dict[str, type[BaseModel]] = {
    "/score": ScoreRequest, "/score_one": ScoreOneRequest, "/explain": ExplainRequest, "/feedback": FeedbackRequest,
    "/latest": LatestRequest,
}
