"""An offer exactly as the public "Offres d'emploi v2" API returns it.

Field names are the API's. Unknown extra fields are tolerated and ignored. Personal data stops
here: `contact`, `agence`, the employer's name, description and logo, and every free-text
comment are not fields of these models, so validation drops them and nothing after ingestion
can see them.
"""

import re
from collections.abc import Iterable
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

CONTRACT_TYPES = ("CDI", "CDD", "MIS", "SAI", "LIB", "DDI", "DIN", "TTI", "CCE", "FRA", "REP", "DDT")
EXPERIENCE_CODES = ("D", "E", "S")
_CONTRACT_CODE = re.compile(r"[A-Z]{3}")


class ApiModel(BaseModel):
    # extra="ignore": tolerate the API's evolutions, and drop what we do not declare (personal data).
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class LieuTravail(ApiModel):
    libelle: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    codePostal: str | None = None
    commune: str | None = None


class Entreprise(ApiModel):
    # Only whether it is an "entreprise adaptée": the name may be a person's name (sole traders).
    entrepriseAdaptee: bool | None = None


class Salaire(ApiModel):
    libelle: str | None = None
    complement1: str | None = None
    complement2: str | None = None


class Exigence(ApiModel):
    libelle: str | None = None
    exigence: str | None = None


class Formation(ApiModel):
    codeFormation: str | None = None
    domaineLibelle: str | None = None
    niveauLibelle: str | None = None
    exigence: str | None = None


class Competence(ApiModel):
    code: str | None = None
    libelle: str | None = None
    exigence: str | None = None


class OrigineOffre(ApiModel):
    origine: str | None = None


class Offer(ApiModel):
    id: str = Field(min_length=1, max_length=32)
    intitule: str | None = None
    dateCreation: datetime
    dateActualisation: datetime | None = None  # set after publication: never a feature
    lieuTravail: LieuTravail
    romeCode: str = Field(pattern=r"^[A-N]\d{4}$")
    romeLibelle: str | None = None
    appellationlibelle: str | None = None
    entreprise: Entreprise = Entreprise()
    typeContrat: str
    typeContratLibelle: str | None = None
    natureContrat: str | None = None
    experienceExige: str
    experienceLibelle: str | None = None
    formations: list[Formation] = []
    langues: list[Exigence] = []
    permis: list[Exigence] = []
    competences: list[Competence] = []
    salaire: Salaire = Salaire()
    dureeTravailLibelle: str | None = None
    dureeTravailLibelleConverti: str | None = None
    alternance: bool | None = None
    nombrePostes: int = Field(1, ge=1, le=1000)
    accessibleTH: bool | None = None
    deplacementCode: str | None = None
    qualificationCode: str | None = None
    qualificationLibelle: str | None = None
    codeNAF: str | None = None
    secteurActivite: str | None = None
    secteurActiviteLibelle: str | None = None
    trancheEffectifEtab: str | None = None
    origineOffre: OrigineOffre = OrigineOffre()
    offresManqueCandidats: bool | None = None  # set after publication: never a feature

    @field_validator("typeContrat")
    @classmethod
    def _known_contract(cls, value: str) -> str:
        # A well-formed code the model never saw (the API adds some) is scored, with a caveat.
        if value not in CONTRACT_TYPES and not _CONTRACT_CODE.fullmatch(value):
            raise ValueError(f"malformed contract type {value!r}: three capital letters, e.g. {CONTRACT_TYPES}")
        return value

    @field_validator("experienceExige")
    @classmethod
    def _known_experience(cls, value: str) -> str:
        if value not in EXPERIENCE_CODES:
            raise ValueError(f"unknown experience code {value!r}, expected D, E or S")
        return value

    @field_validator("qualificationCode")
    @classmethod
    def _known_qualification(cls, value: str | None) -> str | None:
        if value is not None and value not in {str(level) for level in range(1, 10)}:
            raise ValueError(f"unknown qualification code {value!r}, expected 1 to 9")
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
