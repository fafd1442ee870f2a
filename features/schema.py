"""An offer exactly as the public "Offres d'emploi v2" API returns it.

Field names are the API's. Unknown extra fields are tolerated and ignored. Personal data stops
here: `contact`, `agence`, the employer's name, description and logo, and every free-text
comment are not fields of these models, so validation drops them and nothing after ingestion
can see them. The employer's SIRET or name is only read to make its keyed pseudonym
(features.employer), the one employer identifier kept.

Every declared field is bounded (hostile or careless input): texts by length, codes whose value
reaches the features or the store by pattern (no room for a name, a phone or an e-mail), numbers
by range, lists by length, dates to a plausible range (pandas cannot hold year 2300), and
booleans and integers strictly typed ("yes" is not a boolean, "3" is not a number of posts).
"""

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictBool,
    StrictInt,
    StringConstraints,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

CONTRACT_TYPES = ("CDI", "CDD", "MIS", "SAI", "LIB", "DDI", "DIN", "TTI", "CCE", "FRA", "REP", "DDT")
EXPERIENCE_CODES = ("D", "E", "S")
QUALIFICATION_CODES = frozenset(str(level) for level in range(1, 10))
_CONTRACT_CODE = re.compile(r"[A-Z]{3}")
# An offer id as the API forms it: 7 upper-case letters or digits (e.g. 184NQNL, 2345678), up to 9
# to leave room; at least one digit, so that neither a name nor a 10-digit phone number passes.
OFFER_ID_PATTERN = r"^[0-9A-Z]*[0-9][0-9A-Z]*$"
OFFER_ID_LENGTH = (7, 9)
EARLIEST_DATE = datetime(2000, 1, 1, tzinfo=UTC)  # the market context's clock starts in 2000
FUTURE_DAYS = 366  # an offer created more than a year ahead is an input error

Text = Annotated[str, StringConstraints(max_length=300)]
LongText = Annotated[str, StringConstraints(max_length=2000)]
OfferId = Annotated[str, StringConstraints(min_length=OFFER_ID_LENGTH[0], max_length=OFFER_ID_LENGTH[1],
                                           pattern=OFFER_ID_PATTERN)]
MAX_ITEMS = 100  # per list (formations, competences...): real offers carry at most ~20
# A missing list is a new empty one (a factory: pydantic deep-copies a `[]` default for every
# offer), documented as `[]` all the same.
EMPTY_LIST = {"json_schema_extra": {"default": []}}
# How the OpenAPI document describes a publication moment (the range cannot be written in JSON Schema).
Moment = Annotated[datetime, WithJsonSchema({
    "type": "string", "format": "date-time",
    "description": "ISO 8601 date and time, from 2000-01-01 to a year from now (e.g. 2025-11-20T10:12:00.000Z)"})]


def _codes(codes, nullable: bool = False) -> dict:
    return {"json_schema_extra": {"enum": [*codes, *([None] if nullable else [])]}}


def plausible_moment(value: datetime) -> datetime:
    """A publication moment between 2000 and a year from now (a naive one is taken as UTC)."""
    moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    latest = datetime.now(UTC) + timedelta(days=FUTURE_DAYS)
    if not EARLIEST_DATE <= moment <= latest:
        raise PydanticCustomError(
            "date_out_of_range", "date hors de la plage plausible ({earliest} à {latest})",
            {"earliest": EARLIEST_DATE.date().isoformat(), "latest": latest.date().isoformat()})
    return value


class ApiModel(BaseModel):
    # extra="ignore": tolerate the API's evolutions, and drop what we do not declare (personal data).
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class LieuTravail(ApiModel):
    libelle: Text | None = None
    latitude: float | None = Field(None, ge=-90, le=90, allow_inf_nan=False)
    longitude: float | None = Field(None, ge=-180, le=180, allow_inf_nan=False)
    codePostal: str | None = Field(None, pattern=r"^[0-9][0-9AB][0-9]{3}$")
    commune: str | None = Field(None, pattern=r"^[0-9][0-9AB][0-9]{3}$")  # INSEE code


class Entreprise(ApiModel):
    # Only whether it is an "entreprise adaptée" as a field: the name may be a person's name (sole
    # traders). The employer's SIRET or name is read once, here, and kept only as its keyed
    # pseudonym (features.employer), a private attribute: not a field, not in the OpenAPI schema.
    entrepriseAdaptee: StrictBool | None = None
    _pseudonym: str | None = PrivateAttr(None)

    @model_validator(mode="wrap")
    @classmethod
    def _pseudonymise(cls, data: object, handler) -> "Entreprise":
        entreprise = handler(data)
        if isinstance(data, dict):
            from features.employer import employer_pseudonym

            # Set in the private store directly (as `entreprise._pseudonym = ...` does, without
            # BaseModel.__setattr__'s checks: this runs for every offer validated).
            entreprise.__pydantic_private__["_pseudonym"] = employer_pseudonym(data.get("siret"), data.get("nom"))
        return entreprise

    @property
    def pseudonym(self) -> str | None:
        """The employer's pseudonym (HMAC of its SIRET or name), None when the offer names nobody."""
        return self._pseudonym


class Salaire(ApiModel):
    libelle: Text | None = None
    complement1: Text | None = None
    complement2: Text | None = None


class Exigence(ApiModel):
    libelle: Text | None = None
    exigence: str | None = Field(None, pattern=r"^[A-Z]{1,2}$")


class Formation(ApiModel):
    codeFormation: str | None = Field(None, pattern=r"^[0-9A-Z]{1,10}$")
    domaineLibelle: Text | None = None
    niveauLibelle: Text | None = None
    exigence: str | None = Field(None, pattern=r"^[A-Z]{1,2}$")


class Competence(ApiModel):
    code: str | None = Field(None, pattern=r"^[0-9A-Z]{1,10}$")
    libelle: Text | None = None
    exigence: str | None = Field(None, pattern=r"^[A-Z]{1,2}$")


class OrigineOffre(ApiModel):
    origine: str | None = Field(None, pattern=r"^[0-9]{1,2}$")


class Offer(ApiModel):
    id: OfferId
    intitule: Text | None = None
    dateCreation: Moment
    dateActualisation: Moment | None = None  # set after publication: never a feature
    lieuTravail: LieuTravail
    romeCode: str = Field(pattern=r"^[A-N]\d{4}$")
    romeLibelle: Text | None = None
    appellationlibelle: Text | None = None
    entreprise: Entreprise = Entreprise()
    typeContrat: str = Field(**_codes(CONTRACT_TYPES))
    typeContratLibelle: Text | None = None
    natureContrat: Text | None = None
    experienceExige: str = Field(**_codes(EXPERIENCE_CODES))
    experienceLibelle: Text | None = None
    formations: list[Formation] = Field(default_factory=list, max_length=MAX_ITEMS, **EMPTY_LIST)
    langues: list[Exigence] = Field(default_factory=list, max_length=MAX_ITEMS, **EMPTY_LIST)
    permis: list[Exigence] = Field(default_factory=list, max_length=MAX_ITEMS, **EMPTY_LIST)
    competences: list[Competence] = Field(default_factory=list, max_length=MAX_ITEMS, **EMPTY_LIST)
    salaire: Salaire = Salaire()
    dureeTravailLibelle: Text | None = None
    dureeTravailLibelleConverti: Text | None = None
    alternance: StrictBool | None = None
    nombrePostes: StrictInt = Field(1, ge=1, le=1000)
    accessibleTH: StrictBool | None = None
    deplacementCode: str | None = Field(None, pattern=r"^[0-9]{1,2}$")
    qualificationCode: str | None = Field(None, **_codes([str(level) for level in range(1, 10)], nullable=True))
    qualificationLibelle: Text | None = None
    codeNAF: str | None = Field(None, pattern=r"^[0-9]{2}\.[0-9]{2}[A-Z]$")
    secteurActivite: str | None = Field(None, pattern=r"^[0-9]{2}$")
    secteurActiviteLibelle: Text | None = None
    trancheEffectifEtab: Text | None = None
    origineOffre: OrigineOffre = OrigineOffre()
    offresManqueCandidats: StrictBool | None = None  # set after publication: never a feature

    # dateActualisation is dropped at ingestion (never a feature, never stored): only its type matters.
    @field_validator("dateCreation")
    @classmethod
    def _plausible(cls, value: datetime) -> datetime:
        return plausible_moment(value)

    @field_validator("typeContrat")
    @classmethod
    def _known_contract(cls, value: str) -> str:
        # A well-formed code the model never saw (the API adds some) is scored, with a caveat.
        if value not in CONTRACT_TYPES and not _CONTRACT_CODE.fullmatch(value):
            raise PydanticCustomError("malformed_code", "type de contrat mal formé : trois lettres majuscules, "
                                      "par exemple {expected}", {"expected": ", ".join(CONTRACT_TYPES)})
        return value

    @field_validator("experienceExige")
    @classmethod
    def _known_experience(cls, value: str) -> str:
        if value not in EXPERIENCE_CODES:
            raise PydanticCustomError("unknown_code", "code d'expérience inconnu ; attendu : {expected}",
                                      {"expected": "D, E ou S"})
        return value

    @field_validator("qualificationCode")
    @classmethod
    def _known_qualification(cls, value: str | None) -> str | None:
        if value is not None and value not in QUALIFICATION_CODES:
            raise PydanticCustomError("unknown_code", "code de qualification inconnu ; attendu : {expected}",
                                      {"expected": "1 à 9"})
        return value

    @field_validator("formations", "langues", "permis", "competences", mode="before")
    @classmethod
    def _null_list(cls, value: object) -> object:
        return [] if value is None else value


class OfferError(ValueError):
    """An offer refused at ingestion; the message names the offer (index and id) and the field."""

    def __init__(self, index: int, offer_id: str | None, errors: list[dict]):
        self.index = index
        self.offer_id = offer_id
        self.errors = errors
        super().__init__(describe_offer_error(index, offer_id, errors))


def describe_offer_error(index: int, offer_id: str | None, errors: list[dict]) -> str:
    where = f"offer #{index}" + (f" (id {offer_id})" if offer_id else "")
    problems = "; ".join(
        f"field '{'.'.join(str(part) for part in error['loc']) or '(offer)'}': {error['msg']}"
        for error in errors
    )
    return f"{where}: {problems}"


def _clean_errors(error: ValidationError) -> list[dict]:
    # Keep the location and message only: the input value may carry personal data.
    return [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in error.errors()]


def validate_offer(raw: object, index: int = 0) -> Offer:
    """One offer from its decoded JSON; raises OfferError naming the offer and the field."""
    try:
        return Offer.model_validate(raw)
    except ValidationError as error:
        offer_id = raw.get("id") if isinstance(raw, dict) else None
        raise OfferError(index, offer_id if isinstance(offer_id, str) else None, _clean_errors(error)) from None


def validate_offers(raws: Iterable[object]) -> list[Offer]:
    """All offers, or an OfferError for the first invalid one."""
    return [validate_offer(raw, index) for index, raw in enumerate(raws)]
