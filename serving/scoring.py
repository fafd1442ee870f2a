"""Scoring offers with the champion: probability, risk band, reasons, advice and the record stored.

`ScoringCore` is the one scoring core, used by the service and by monitoring's backfill: the
champion is injected and never mutated; features become a float matrix with categories encoded
by the champion's own category lists (the codes LightGBM learned: a pandas frame with other
categories would be silently re-coded, LightGBM issue 5162), and one TreeSHAP call gives both the
probabilities and the reasons. `Scorer` is the service's per-offer path: no pandas per call
(features.offer_path), the snapshot read from dictionaries built once at load, and the advice of
all offers of a request scored in one more call on a matrix of changed feature values.
"""

import operator
import os
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from features.offer_path import AUDIT_KEYS, offer_features, offer_values
from features.schema import Offer, validate_offer
from features.snapshot import SnapshotIndex
from features.spec import CATEGORICAL, FEATURE_NAMES
from serving import explain
from serving.advice import CHANGE_CODES, Change, candidate_changes
from serving.booster_calls import SMALL_CALL_ROWS, BoosterCalls
from serving.memo import BoundedMemo
from serving.records import AUDIT_FIELDS, ScoreRecord, built_score
from serving.validation import RefusedOffer, parse_offers
from training.calibration import Calibrator

# Well-formed codes the model never saw: scored, with a caveat an adviser understands.
UNKNOWN_CAVEATS = {
    "rome_code": "métier inconnu du modèle : score moins fiable",
    "contract_type": "type de contrat inconnu du modèle : score moins fiable",
}


@dataclass(frozen=True)
class ServingParams:
    """params.yaml's `serving` section (hardtofill.params.ServingSection), its one definition:
    no default here, so that a value can only come from the file (or a test's explicit choice)."""

    max_batch: int  # offers per /score request; more gets 413
    top_reasons: int  # reasons shown per offer
    advice_min_gain: float  # a change is advised when it lowers the probability by this much
    lightgbm_threads: int  # per LightGBM call on a batch; single rows always use one
    batch_chunk: int  # offers per step of a large batch's pipeline (score_request)
    advice_excluded: tuple[str, ...]  # change codes never advised (ethics review)

    @classmethod
    def load(cls) -> "ServingParams":
        from hardtofill.params import get_params

        values = get_params().serving.model_dump()  # checked by hardtofill.params; a bad file stops the service
        unknown_changes = set(values["advice_excluded"]) - set(CHANGE_CODES)
        if unknown_changes:
            raise ValueError(f"params.yaml serving.advice_excluded: unknown change codes "
                             f"{sorted(unknown_changes)}; known: {', '.join(CHANGE_CODES)}")
        values["advice_excluded"] = tuple(values["advice_excluded"])
        return cls(**values)


def notice(model_name: str, version: str) -> str:
    return (f"Score calculé par un algorithme (modèle {model_name}, version {version}). C'est un conseil, "
            "pas une décision : le conseiller décide de la suite à donner.")


class ScoringCore:
    """The champion as matrices: encoding, TreeSHAP contributions, calibrated probabilities, bands."""

    def __init__(self, champion, threads: int = 1):
        self.champion = champion
        self.threads = threads
        self.calls = BoosterCalls(champion.booster, threads)
        self.names = list(FEATURE_NAMES)
        self.categories = {name: list(champion.categories[name]) for name in CATEGORICAL}
        _check_category_codes(champion.booster, self.categories)
        self.known = {name: frozenset(values) for name, values in self.categories.items()}
        self._categorical = [(position, {value: float(code) for code, value in enumerate(self.categories[name])})
                             for position, name in enumerate(self.names) if name in CATEGORICAL]
        self._codes = {self.names[position]: mapping for position, mapping in self._categorical}
        self._values = operator.itemgetter(*self.names)  # a row's values in the model's order, in C
        self.position = {name: position for position, name in enumerate(self.names)}
        calibrator = champion.calibrator
        # Its own calibrator with arrays (not lists converted at every call); the champion's is untouched.
        self.calibrator = Calibrator(calibrator.method, x=np.asarray(calibrator.x, float),
                                     y=np.asarray(calibrator.y, float), slope=calibrator.slope,
                                     intercept=calibrator.intercept)
        self.high, self.medium = float(champion.risk_bands["high"]), float(champion.risk_bands["medium"])
        context = champion.context
        self.index = SnapshotIndex(context) if context.as_of is not None else None

    # --- matrices -----------------------------------------------------------------------------
    def matrix(self, rows: list[dict]) -> np.ndarray:
        """Feature rows (dicts, numbers as float) -> float64 matrix; categories by code, unknown or
        missing as NaN. One list per row: the cheapest way from Python values to a matrix."""
        values, categorical = self._values, self._categorical
        table = []
        for row in rows:
            line = list(values(row))
            for position, codes in categorical:
                line[position] = codes.get(line[position], np.nan)
            table.append(line)
        return np.array(table, dtype=np.float64).reshape(len(rows), len(self.names))

    def encode(self, name: str, value) -> float:
        """One feature value as the matrix holds it."""
        codes = self._codes.get(name)
        if codes is not None:
            return codes.get(value, np.nan)
        return np.nan if value is None else float(value)  # as numpy reads None in a float matrix

    def matrix_from_frame(self, features: pd.DataFrame) -> np.ndarray:
        """The same matrix from a features frame (build_features or the store)."""
        matrix = np.empty((len(features), len(self.names)), dtype=np.float64)
        for position, name in enumerate(self.names):
            if name in CATEGORICAL:
                codes = pd.Categorical(features[name], categories=self.categories[name]).codes
                matrix[:, position] = np.where(codes < 0, np.nan, codes)
            else:
                matrix[:, position] = pd.to_numeric(features[name], errors="coerce").to_numpy(
                    dtype=np.float64, na_value=np.nan)
        return matrix

    # --- the model ----------------------------------------------------------------------------
    def contributions(self, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(TreeSHAP contributions with the base value last, calibrated probabilities): one call."""
        if not len(matrix):
            return np.empty((0, len(self.names) + 1)), np.empty(0)
        contributions = self.calls.contributions(matrix)
        # The raw score is the contributions' sum (base value included): no second model call.
        return contributions, self.calibrator.transform(contributions.sum(axis=1))

    def probabilities(self, matrix: np.ndarray) -> np.ndarray:
        if not len(matrix):
            return np.empty(0)
        return self.calibrator.transform(self.calls.raw(matrix))

    def risk(self, probabilities: np.ndarray) -> list[str]:
        return ["high" if p >= self.high else "medium" if p >= self.medium else "low"
                for p in np.asarray(probabilities, float).tolist()]

    # --- monitoring's backfill ----------------------------------------------------------------
    def score_frame(self, offers: pd.DataFrame, context=None) -> pd.DataFrame:
        """Offer frame -> the rows the service would have stored: features, audit_* groups,
        offer_id, created_at, probability, risk (the vectorised path, for whole periods).
        `context`: the market context to read (default: the champion's snapshot)."""
        from features.build import build_features

        features = build_features(offers, self.champion.context if context is None else context, with_audit=True)
        probabilities = self.probabilities(self.matrix_from_frame(features))
        return features.assign(offer_id=offers["offer_id"].to_numpy(), created_at=offers["created_at"].to_numpy(),
                               probability=probabilities, risk=self.risk(probabilities))


def _check_category_codes(booster, categories: dict[str, list[str]]) -> None:
    """The model's own category lists must be the spec's: the matrix uses the spec's codes."""
    learned = getattr(booster, "pandas_categorical", None)
    if learned is None:
        return  # trained from a matrix: the spec's codes are the only ones there are
    expected = [categories[name] for name in CATEGORICAL]
    if [list(map(str, values)) for values in learned] != expected:
        raise ValueError("the model's category lists differ from its feature_spec.json: category codes "
                         "would not match training's (LightGBM issue 5162)")


@dataclass
class ScoredBatch:
    results: list[dict]  # the valid offers', `index` their place in the request
    records: list[ScoreRecord]
    refused: list[RefusedOffer] = field(default_factory=list)


@dataclass
class Prepared:
    """An offer ready to score: validated, its features built."""

    offer: Offer
    features: dict


@dataclass
class _Started:
    """A chunk of offers whose LightGBM calls are under way (futures)."""

    prepared: list[Prepared]
    positions: list[int]  # each offer's place in the request
    contributions: Future  # (contributions, probabilities)
    candidates: list[tuple[int, Change]]
    advice: Future  # the candidates' probabilities


def _done(function, *args) -> Future:
    """`function(*args)` run now, as a finished future."""
    future: Future = Future()
    future.set_result(function(*args))
    return future


class Scorer:
    """The service's scoring: features per offer, the core's matrices, reasons, advice, records."""

    def __init__(self, champion, params: ServingParams | None = None):
        self.params = params if params is not None else ServingParams.load()  # params.yaml, never code defaults
        self.core = ScoringCore(champion, self.params.lightgbm_threads)
        if self.core.index is None:
            raise ValueError("the champion's market context is not a snapshot: serving needs one")
        self.champion = champion
        self.names = self.core.names
        self.model = {"name": champion.model_name, "version": champion.version}
        self.notice = notice(champion.model_name, champion.version)
        self._excluded = frozenset(self.params.advice_excluded)
        self._encodings = BoundedMemo(65_536)  # change values -> [(column, encoded value)]
        # One thread for the LightGBM calls of large batches (started at the first one).
        self._model_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hardtofill-model")

    # --- the pipeline -------------------------------------------------------------------------
    def prepare(self, offers: list[Offer]) -> list[Prepared]:
        rows = offer_features([offer_values(offer) for offer in offers], self.core.index)
        return [Prepared(offer, row) for offer, row in zip(offers, rows, strict=True)]

    def features(self, raws: list) -> list[Prepared]:
        """Validated offers with their features; raises OfferError naming the index and field."""
        return self.prepare([validate_offer(raw, index) for index, raw in enumerate(raws)])

    def caveats(self, features: dict) -> list[str]:
        return [text for name, text in UNKNOWN_CAVEATS.items()
                if features[name] is not None and features[name] not in self.core.known[name]]

    def advice(self, prepared: list[Prepared], probabilities: np.ndarray, matrix: np.ndarray) -> list[list[dict]]:
        """For each offer, the changes that lower its probability, best first (one model call on
        the offers' matrix rows with the changed values), in one step: the scoring path splits it
        around the model thread (`_start`, `_finish`); the bench times it whole."""
        candidates, changed = self._candidates(prepared, matrix)
        new = self.core.probabilities(changed) if candidates else np.empty(0)
        return self._advised(len(prepared), candidates, new, probabilities)

    def _candidates(self, prepared: list[Prepared], matrix: np.ndarray) -> tuple[list[tuple[int, Change]], np.ndarray]:
        """Every change that applies to each offer (not excluded) and the matrix of the offers'
        rows with each change's values, one row per candidate."""
        candidates = [(i, change) for i, item in enumerate(prepared)
                      for change in candidate_changes(item.offer, item.features, item.features["salary_market"])
                      if change.code not in self._excluded]
        changed = matrix[[i for i, _ in candidates]]  # a copy: one row per candidate
        for row, (_, change) in enumerate(candidates):
            for column, value in self._encoded(change.values):
                changed[row, column] = value
        return candidates, changed

    def _advised(self, count: int, candidates: list[tuple[int, Change]], new: np.ndarray,
                 probabilities: np.ndarray) -> list[list[dict]]:
        """The candidates that lower their offer's probability by serving.advice_min_gain, best first."""
        advised: list[list[dict]] = [[] for _ in range(count)]
        if not candidates:
            return advised
        bands = self.core.risk(new)
        for (i, change), p, band in zip(candidates, new.tolist(), bands, strict=True):
            gain = float(probabilities[i]) - p
            if gain >= self.params.advice_min_gain:
                advised[i].append({"change": change.code, "sentence": change.sentence, "probability": p,
                                   "risk": band, "gain": gain})
        for items in advised:
            items.sort(key=lambda item: -item["gain"])
        return advised

    def _encoded(self, values: dict) -> list[tuple[int, float]]:
        """A change's values as (matrix column, encoded value): a value that is not a model input
        changes nothing. Memoised: changes repeat (a CDI, beginners accepted, a market salary)."""
        key = tuple(values.items())
        encoded = self._encodings.get(key)
        if encoded is None:
            position, encode = self.core.position, self.core.encode
            encoded = self._encodings.remember(key, [(position[name], encode(name, value))
                                                     for name, value in values.items() if name in position])
        return encoded

    # --- answers ---------------------------------------------------------------------------
    def _start(self, prepared: list[Prepared], positions: list[int]) -> "_Started":
        """The chunk's matrices and its two LightGBM calls (TreeSHAP, the advice's raw scores):
        on the model thread for many rows, so that they run (GIL released) while the next
        chunk's offers are validated; inline for a few (a thread hop would cost more)."""
        matrix = self.core.matrix([p.features for p in prepared])
        candidates, changed = self._candidates(prepared, matrix)
        run = self._model_thread.submit if len(prepared) > SMALL_CALL_ROWS else _done
        return _Started(prepared, positions, run(self.core.contributions, matrix), candidates,
                        run(self.core.probabilities, changed))

    def _finish(self, started: "_Started", results: list[dict], records: list[ScoreRecord]) -> np.ndarray:
        """The chunk's answers and records, appended; returns its contributions."""
        prepared = started.prepared
        contributions, probabilities = started.contributions.result()
        bands = self.core.risk(probabilities)
        advice = self._advised(len(prepared), started.candidates, started.advice.result(), probabilities)
        scored_at = datetime.now(UTC)
        orders = explain.top_orders(contributions[:, :-1], self.params.top_reasons)
        names, model_name, version = self.names, self.model["name"], self.model["version"]
        factors, caveats, labels_of = explain.factors, self.caveats, _labels
        risk_labels = explain.RISK_LABELS
        for i, (item, position, probability, band, score_id) in enumerate(zip(
                prepared, started.positions, probabilities.tolist(), bands, _score_ids(len(prepared)), strict=True)):
            features, offer = item.features, item.offer
            labels = labels_of(offer)
            results.append({
                "index": position,
                "score_id": score_id,
                "offer_id": offer.id,
                "title": labels.get("title"),
                "probability": probability,
                "risk": band,
                "risk_label": risk_labels[band],
                "factors": factors(names, contributions[i], features, features["salary_market"], labels,
                                   order=orders[i]),
                "recommendations": advice[i],
                "caveats": caveats(features),
            })
            records.append(built_score({
                "score_id": score_id, "offer_id": offer.id, "scored_at": scored_at,
                "offer_created_at": _utc(offer.dateCreation), "model_name": model_name,
                "model_version": version, "probability": probability, "risk": band,
                # JSON has no NaN: a missing number is stored as null (v != v only for NaN).
                "features": {name: (None if (v := features[name]) != v else v) for name in names},
                "audit": {name: str(features[key]) for name, key in _AUDIT_PAIRS}}))
        return contributions

    def _analyse(self, prepared: list[Prepared]) -> tuple[list[dict], list[ScoreRecord], np.ndarray]:
        results: list[dict] = []
        records: list[ScoreRecord] = []
        contributions = self._finish(self._start(prepared, list(range(len(prepared)))), results, records)
        return results, records, contributions

    def score(self, raws: list) -> ScoredBatch:
        results, records, _ = self._analyse(self.features(raws))
        return ScoredBatch(results=results, records=records)

    def score_request(self, raws: list) -> ScoredBatch:
        """A request's offers as /score answers them: each validated once, the valid ones scored
        (their `index` is their place in the request), the invalid ones refused with every faulty
        field. A large batch goes in chunks of `serving.batch_chunk` offers, pipelined: a chunk's
        LightGBM calls run on the model thread while the next chunk is validated and its features
        built, then its answers are made; both cores work on one batch."""
        results: list[dict] = []
        records: list[ScoreRecord] = []
        refused: list[RefusedOffer] = []
        pending = None
        step = self.params.batch_chunk
        for start in range(0, len(raws), step):
            positions, offers, bad = parse_offers(raws[start:start + step], start)
            refused.extend(bad)
            started = self._start(self.prepare(offers), positions) if offers else None
            if pending is not None:
                self._finish(pending, results, records)
            pending = started
        if pending is not None:
            self._finish(pending, results, records)
        return ScoredBatch(results=results, records=records, refused=refused)

    def explain(self, raw: dict) -> tuple[dict, ScoreRecord]:
        """One offer: its score, all contributions, the base rate and the CRPA items."""
        prepared = self.features([raw])
        results, records, contributions = self._analyse(prepared)
        result, record, contributions = results[0], records[0], contributions[0]
        features = prepared[0].features
        base = float(contributions[-1])
        base_rate = float(self.core.calibrator.transform(np.array([base]))[0])
        booster = self.champion.booster
        trees = int(booster.num_trees()) if hasattr(booster, "num_trees") else 0
        result.update({
            "base_value": base,
            "base_rate": base_rate,
            "raw_score": float(contributions.sum()),
            "contributions": explain.factors(self.names, contributions[:-1], features, features["salary_market"],
                                             _labels(prepared[0].offer)),
            "crpa": explain.crpa_items(
                model_name=self.champion.model_name, version=self.champion.version,
                probability=result["probability"], risk=result["risk"], risk_bands=self.champion.risk_bands,
                top_factors=result["factors"], base_rate=base_rate, context_as_of=self.champion.context.as_of,
                calibration=self.champion.calibrator.method, trees=trees,
                recommendations=result["recommendations"]),
        })
        return result, record

    def explain_stored(self, stored: pd.DataFrame) -> list[list[dict]]:
        """Reasons for stored scores (features as served): the dashboard's list of latest offers."""
        if stored.empty:
            return []
        features = stored[self.names]
        contributions, _ = self.core.contributions(self.core.matrix_from_frame(features))
        rows = [dict(zip(self.names, values, strict=True)) for values in features.itertuples(index=False, name=None)]
        markets = [self.core.index.market_salary((r["rome_code"], r["department"], r["region"])) for r in rows]
        return [explain.factors(self.names, contributions[i, :-1], rows[i], markets[i], top=self.params.top_reasons)
                for i in range(len(rows))]


_AUDIT_PAIRS = tuple(zip(AUDIT_FIELDS, AUDIT_KEYS, strict=True))


def _score_ids(count: int) -> list[str]:
    """`count` random UUIDs (version 4) as 32 hex digits, from one read of the system's random
    source (uuid.uuid4 reads it once per id)."""
    random = os.urandom(16 * count)
    return [uuid.UUID(bytes=random[start:start + 16], version=4).hex for start in range(0, 16 * count, 16)]


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _labels(offer: Offer) -> dict:
    """Readable labels the API gives beside codes (job title, occupation name): shown, never stored."""
    labels = {}
    if offer.romeLibelle:
        labels["rome_label"] = offer.romeLibelle
    if offer.intitule:
        labels["title"] = offer.intitule[:120]
    return labels
