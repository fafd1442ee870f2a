"""What the prediction store keeps: scores, advisers' feedback, outcomes (pydantic records).

No contact details and no free text: an adviser's action and reason are codes from fixed lists,
so nothing personal can slip into the store through a comment box.
"""

from datetime import UTC, date, datetime
from typing import Literal
from uuid import uuid4

from pydantic import BaseModel, ConfigDict, Field, field_validator

from features.spec import AUDIT_COLUMNS

RiskBand = Literal["low", "medium", "high"]

# What an adviser did about an offer, with the French label the dashboard shows.
ACTIONS: dict[str, str] = {
    "prioritised": "Offre priorisée",
    "contacted_recruiter": "Recruteur contacté",
    "advice_given": "Conseils transmis au recruteur",
    "agreed": "D'accord avec le score",
    "disagreed": "Pas d'accord avec le score",
    "no_action": "Aucune action",
}
# Why an adviser disagrees (or what they know that the model does not): a code, never free text.
REASON_CODES: dict[str, str] = {
    "already_filled": "Le poste est déjà pourvu",
    "candidates_identified": "Des candidats sont déjà identifiés",
    "recruiter_known_fast": "Recruteur connu pour recruter vite",
    "recruiter_known_slow": "Recruteur connu pour recruter lentement",
    "local_market_easier": "Marché local plus facile que le score ne le dit",
    "local_market_harder": "Marché local plus difficile que le score ne le dit",
    "offer_changed": "L'offre a été modifiée depuis",
    "data_error": "Erreur dans les données de l'offre",
    "other": "Autre raison",
}
OUTCOMES = ("filled", "abandoned", "cancelled")
AUDIT_FIELDS = AUDIT_COLUMNS  # the audit attributes build_features derives (features.spec)


# A score's id: made where the score is made (a UUID by default), stored unique, so that the same
# score written twice (a retry, a journal replayed) is stored once. Letters, digits, '_', '-' only.
SCORE_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"


def new_score_id() -> str:
    return uuid4().hex


def now_utc() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """Naive datetimes are taken as UTC; aware ones are converted to UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScoreRecord(Record):
    score_id: str = Field(default_factory=new_score_id, pattern=SCORE_ID_PATTERN)
    offer_id: str = Field(min_length=1, max_length=64)
    scored_at: datetime = Field(default_factory=now_utc)
    offer_created_at: datetime | None = None
    model_name: str
    model_version: str
    probability: float = Field(ge=0.0, le=1.0)
    risk: RiskBand
    # The model's inputs as served (categorical as strings, numeric as floats, missing as None).
    features: dict[str, str | float | None]
    # The audit group attributes of the offer (keys: AUDIT_FIELDS).
    audit: dict[str, str]

    @field_validator("scored_at", "offer_created_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else as_utc(value)


_SCORE_FIELDS = tuple(ScoreRecord.model_fields)
_new_object_attribute = object.__setattr__


def built_score(values: dict) -> ScoreRecord:
    """A ScoreRecord from every field's value as the scorer builds them (right types, nothing
    missing): what `ScoreRecord.model_construct` makes, without its per-field loop over aliases
    and defaults (a thousand records per batch). tests/serving/test_scoring.py checks the records
    equal validated ones."""
    if values.keys() != _FIELD_SET:
        raise ValueError(f"a score record needs exactly the fields {', '.join(_SCORE_FIELDS)}")
    record = ScoreRecord.__new__(ScoreRecord)
    _new_object_attribute(record, "__dict__", values)
    _new_object_attribute(record, "__pydantic_fields_set__", set(_SCORE_FIELDS))
    _new_object_attribute(record, "__pydantic_extra__", None)
    _new_object_attribute(record, "__pydantic_private__", None)
    return record


_FIELD_SET = ScoreRecord.model_fields.keys()


class FeedbackRecord(Record):
    offer_id: str = Field(min_length=1, max_length=64)
    action: Literal[tuple(ACTIONS)]  # type: ignore[valid-type]
    reason_code: Literal[tuple(REASON_CODES)] | None = None  # type: ignore[valid-type]
    client: str = Field("unknown", max_length=64, description="The API key's name, not a person.")
    model_version: str | None = None
    risk: RiskBand | None = Field(None, description="The band the adviser saw when acting.")
    recorded_at: datetime = Field(default_factory=now_utc)

    @field_validator("recorded_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return as_utc(value)


class OutcomeRecord(Record):
    offer_id: str = Field(min_length=1, max_length=64)
    outcome: Literal["filled", "abandoned", "cancelled"]
    outcome_date: date
    recorded_at: datetime = Field(default_factory=now_utc)

    @field_validator("recorded_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return as_utc(value)
