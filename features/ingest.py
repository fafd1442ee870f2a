"""Ingestion: API v2 offers (validated by the schema, personal data dropped) into a flat frame,
and generated histories (offers, lifecycles, oracle) from JSON lines.

The offer frame holds the raw values an offer shows at publication, one column each; feature
steps (features.build) parse and derive from it. No contact, no free text, no post-publication
field (dateActualisation, offresManqueCandidats) is carried into it.
"""

import gzip
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pandas as pd
from rich.progress import Progress

from features.schema import Offer, OfferError, validate_offer

OFFER_COLUMNS = (
    "offer_id", "created_at", "rome_code", "place_label", "postal_code", "commune_code",
    "contract_type", "contract_label", "contract_nature", "experience_code", "experience_label",
    "qualification_code", "salary_label", "working_time_converted", "working_time_label",
    "work_study", "positions", "accessible_th", "adapted_company", "naf_division",
    "employer_size_label", "origin", "licence_required", "licence_desired", "diploma_levels",
    "diploma_required", "competences_count", "languages_required", "employer_key",
)


def offer_row(offer: Offer) -> tuple:
    """One validated offer as a row of the offer frame (OFFER_COLUMNS)."""
    place = offer.lieuTravail
    return (
        offer.id,
        offer.dateCreation,
        offer.romeCode,
        place.libelle,
        place.codePostal,
        place.commune,
        offer.typeContrat,
        offer.typeContratLibelle,
        offer.natureContrat,
        offer.experienceExige,
        offer.experienceLibelle,
        offer.qualificationCode,
        offer.salaire.libelle,
        offer.dureeTravailLibelleConverti,
        offer.dureeTravailLibelle,
        offer.alternance,
        offer.nombrePostes,
        offer.accessibleTH,
        offer.entreprise.entrepriseAdaptee,
        offer.secteurActivite,
        offer.trancheEffectifEtab,
        offer.origineOffre.origine,
        any(p.exigence == "E" for p in offer.permis),
        any(p.exigence != "E" for p in offer.permis),
        # The levels as text, "|"-joined: parsing belongs to the feature steps.
        "|".join(f.niveauLibelle for f in offer.formations if f.niveauLibelle) or None,
        any(f.exigence == "E" for f in offer.formations),
        len(offer.competences),
        sum(1 for language in offer.langues if language.exigence == "E"),
        offer.entreprise.pseudonym,  # the keyed pseudonym only, never the name (features.employer)
    )


def offers_frame(offers: Iterable[Offer]) -> pd.DataFrame:
    """The offer frame of validated offers, one row per offer, in order."""
    frame = pd.DataFrame.from_records([offer_row(o) for o in offers], columns=list(OFFER_COLUMNS))
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    return frame


def offers_frame_from_json(raws: Iterable[object]) -> pd.DataFrame:
    """Validate decoded API payloads and flatten them; an invalid one raises OfferError."""
    return offers_frame(validate_offer(raw, index) for index, raw in enumerate(raws))


def utc(moment) -> pd.Timestamp:
    """A timestamp in UTC; a naive one is taken as UTC."""
    moment = pd.Timestamp(moment)
    return moment.tz_localize("UTC") if moment.tzinfo is None else moment.tz_convert("UTC")


@dataclass
class History:
    """A history: offer frame, lifecycle (outcome, dates) and the oracle, aligned by row."""

    offers: pd.DataFrame
    lifecycle: pd.DataFrame
    oracle: pd.Series

    @property
    def extracted_at(self) -> pd.Timestamp:
        return self.lifecycle["extracted_at"].max()

    def __len__(self) -> int:
        return len(self.offers)

    def as_of(self, moment: pd.Timestamp) -> "History":
        """The history as it was known at `moment`: offers created before it, outcomes after it
        hidden (those offers are open), extracted at `moment`. Lets training replay the past and
        monitoring watch outcomes arrive."""
        moment = utc(moment)
        if moment > self.extracted_at:
            raise ValueError(f"as_of {moment} is after the extraction date {self.extracted_at}")
        keep = (self.offers["created_at"] < moment).to_numpy()
        lifecycle = self.lifecycle[keep].copy()
        later = lifecycle["outcome_at"].isna() | (lifecycle["outcome_at"] >= moment)
        lifecycle.loc[later, "outcome"] = "open"
        lifecycle.loc[later, "outcome_at"] = pd.NaT
        lifecycle["extracted_at"] = moment
        return History(offers=self.offers[keep].reset_index(drop=True),
                       lifecycle=lifecycle.reset_index(drop=True),
                       oracle=self.oracle[keep].reset_index(drop=True))

    def between(self, start: pd.Timestamp, end: pd.Timestamp) -> "History":
        """Offers created in [start, end), with their full lifecycle."""
        created = self.offers["created_at"]
        keep = ((created >= utc(start)) & (created < utc(end))).to_numpy()
        return History(offers=self.offers[keep].reset_index(drop=True),
                       lifecycle=self.lifecycle[keep].reset_index(drop=True),
                       oracle=self.oracle[keep].reset_index(drop=True))


def _open_lines(path: Path) -> Iterator[bytes]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as stream:
        yield from stream


def read_history(path: Path, progress: bool = True, limit: int | None = None,
                 columns: list[str] | tuple[str, ...] | None = None) -> History:
    """Read a history written by `hardtofill generate` (or a real export in the same shape), as
    JSON lines or as the Parquet folder of `hardtofill ingest` (then only the offer `columns`
    asked for, all by default, are read; offer_id and created_at always)."""
    from features.columnar import is_columnar, read_history_columnar

    path = Path(path)
    if is_columnar(path):
        return read_history_columnar(path, columns=columns, limit=limit)
    if not path.is_file():
        raise FileNotFoundError(f"offer history {path} not found (run `hardtofill generate`)")
    rows, lifecycles, oracle = [], [], []
    with Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task(f"Reading {path.name}", total=None)
        for index, line in enumerate(_open_lines(path)):
            if limit is not None and index >= limit:
                break
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError as error:
                raise ValueError(f"{path}: line {index + 1} is not JSON ({error})") from None
            if not isinstance(record, dict) or "offer" not in record or "lifecycle" not in record:
                raise ValueError(f"{path}: line {index + 1} lacks the 'offer' or 'lifecycle' field")
            try:
                rows.append(offer_row(validate_offer(record["offer"], index)))
            except OfferError as error:
                raise ValueError(f"{path}: line {index + 1}: {error}") from None
            life = record["lifecycle"]
            lifecycles.append((life.get("outcome"), life.get("outcome_date"), life.get("extracted_at")))
            oracle.append((record.get("oracle") or {}).get("p_hard_to_fill"))
            if index % 10_000 == 0:
                bar.advance(task, 10_000)
    offers = pd.DataFrame.from_records(rows, columns=list(OFFER_COLUMNS))
    offers["created_at"] = pd.to_datetime(offers["created_at"], utc=True)
    lifecycle = pd.DataFrame.from_records(lifecycles, columns=["outcome", "outcome_at", "extracted_at"])
    lifecycle["outcome_at"] = pd.to_datetime(lifecycle["outcome_at"], utc=True, format="ISO8601")
    lifecycle["extracted_at"] = pd.to_datetime(lifecycle["extracted_at"], utc=True, format="ISO8601")
    lifecycle.insert(0, "created_at", offers["created_at"])
    lifecycle.insert(0, "offer_id", offers["offer_id"])
    return History(offers=offers, lifecycle=lifecycle, oracle=pd.Series(oracle, name="oracle", dtype=float))
