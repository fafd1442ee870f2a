"""Scoring a batch of offers with the champion: probability, risk band, reasons and advice.

The same pipeline as training (`features.build.build_features` with the champion's market
context snapshot); one TreeSHAP call (`champion.contributions`) per batch gives both the
probabilities and the reasons; advice re-scores changed copies of the offers in one more
(prediction only) call. Rows do not interact, so an offer gets the same answer alone or in a batch.
"""

import dataclasses
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from features.build import build_features
from features.ingest import offers_frame_from_json
from features.spec import FEATURE_NAMES
from serving import explain
from serving.advice import CHANGE_CODES, candidate_changes
from serving.records import AUDIT_FIELDS, ScoreRecord


@dataclass(frozen=True)
class ServingParams:
    max_batch: int = 1000  # offers per /score request; more gets 413
    top_reasons: int = 3  # reasons shown per offer
    advice_min_gain: float = 0.01  # a change is advised when it lowers the probability by this much
    lightgbm_threads: int = 1  # per request: the service runs two requests at once per worker
    advice_excluded: tuple[str, ...] = ()  # change codes never advised (a choice for the ethics review)

    @classmethod
    def load(cls) -> "ServingParams":
        from hardtofill.params import section

        values = section("serving")  # checked by hardtofill.params; a bad file stops the service
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"params.yaml serving: unknown keys {sorted(unknown)}")
        unknown_changes = set(values.get("advice_excluded") or ()) - set(CHANGE_CODES)
        if unknown_changes:
            raise ValueError(f"params.yaml serving.advice_excluded: unknown change codes {sorted(unknown_changes)}; "
                             f"known: {', '.join(CHANGE_CODES)}")
        values["advice_excluded"] = tuple(values.get("advice_excluded") or ())
        return cls(**values)


def notice(model_name: str, version: str) -> str:
    return (f"Score calculé par un algorithme (modèle {model_name}, version {version}). C'est un conseil, "
            "pas une décision : le conseiller décide de la suite à donner.")


class ThreadLimitedBooster:
    """The champion's booster with LightGBM's threads capped: a service worker runs several
    requests at once on two cores, so each prediction must not try to use them all."""

    def __init__(self, booster, threads: int):
        self._booster, self._threads = booster, threads

    def predict(self, data, **kwargs):
        kwargs.setdefault("num_threads", self._threads)
        return self._booster.predict(data, **kwargs)

    def __getattr__(self, name):
        return getattr(self._booster, name)


class SnapshotLookup:
    """The champion's market context, remembered by occupation and place.

    In a snapshot every event is dated before any offer, so what `lookup` returns for an offer
    depends on its occupation, department and region only: each combination is looked up once
    (a lookup scans every key of the context, ~20 ms even for one offer) and then read back.
    Anything else `build_features` asks of the context goes to the snapshot itself."""

    KEY = ("rome_code", "department", "region")
    SINCE = pd.Timestamp("2001-01-01", tz="UTC")  # the context's clock starts in 2000

    def __init__(self, context):
        self.context = context
        self._memo: dict[tuple, tuple] = {}
        self._columns: list[str] | None = None

    def __getattr__(self, name):
        return getattr(self.context, name)

    def lookup(self, parsed: pd.DataFrame) -> pd.DataFrame:
        columns = [parsed[c].astype(object).where(parsed[c].notna(), None) for c in self.KEY]
        keys = list(zip(*columns, strict=True))
        recent = (pd.to_datetime(parsed["created_at"], utc=True) >= self.SINCE).to_numpy()
        if not recent.all():
            return self.context.lookup(parsed)
        todo: dict[tuple, int] = {}
        for position, key in enumerate(keys):
            if key not in self._memo and key not in todo:
                todo[key] = position
        if todo:
            found = self.context.lookup(parsed.iloc[list(todo.values())])
            self._columns = list(found.columns)
            for key, values in zip(todo, found.itertuples(index=False, name=None), strict=True):
                self._memo[key] = values
        if self._columns is None:  # every key remembered by another thread's first call
            self._columns = list(self.context.lookup(parsed.iloc[:1]).columns)
        return pd.DataFrame([self._memo[key] for key in keys], columns=self._columns, index=parsed.index)


@dataclass
class ScoredBatch:
    results: list[dict]
    records: list[ScoreRecord]


class Scorer:
    def __init__(self, champion, params: ServingParams | None = None):
        self.params = params or ServingParams()
        if not isinstance(champion.booster, ThreadLimitedBooster):
            # A copy with the capped booster: the caller's champion is left as it was loaded.
            champion = dataclasses.replace(
                champion, booster=ThreadLimitedBooster(champion.booster, self.params.lightgbm_threads))
        self.champion = champion
        self.names = list(FEATURE_NAMES)
        context = champion.context
        self.context = SnapshotLookup(context) if context.as_of is not None else context

    @property
    def model(self) -> dict:
        return {"name": self.champion.model_name, "version": self.champion.version}

    @property
    def notice(self) -> str:
        return notice(self.champion.model_name, self.champion.version)

    # --- the pipeline -----------------------------------------------------------------------
    def features(self, raws: list) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(offer frame, features with audit columns); raises OfferError naming index and field."""
        offers = offers_frame_from_json(raws)
        return offers, build_features(offers, self.context, with_audit=True)

    def market_salary(self, features: pd.DataFrame, created_at: pd.Series) -> np.ndarray:
        """The market's median yearly salary for each offer's occupation and region."""
        query = features[list(SnapshotLookup.KEY)].assign(created_at=created_at.to_numpy())
        return self.context.lookup(query)["salary_market"].to_numpy(dtype=float)

    def contributions(self, features: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(contributions with the base value last, calibrated probabilities)."""
        contributions = np.asarray(self.champion.contributions(features[self.names]))
        probabilities = self.champion.probabilities_from_raw(contributions.sum(axis=1))
        return contributions, np.asarray(probabilities, float)

    def risk(self, probabilities: np.ndarray) -> list[str]:
        return [str(band) for band in self.champion.risk_band(probabilities)]

    def advice(self, raws: list[dict], rows: list[dict], markets: np.ndarray,
               probabilities: np.ndarray) -> list[list[dict]]:
        """For each offer, the changes that lower its probability, best first."""
        candidates = [(i, change) for i, raw in enumerate(raws)
                      for change in candidate_changes(raw, rows[i], markets[i])
                      if change.code not in self.params.advice_excluded]
        advised: list[list[dict]] = [[] for _ in raws]
        if not candidates:
            return advised
        _, changed = self.features([change.offer for _, change in candidates])
        new = np.asarray(self.champion.probabilities(changed[self.names]), float)
        bands = self.risk(new)
        for (i, change), p, band in zip(candidates, new, bands, strict=True):
            if probabilities[i] - p >= self.params.advice_min_gain:
                advised[i].append({"change": change.code, "sentence": change.sentence,
                                   "probability": float(p), "risk": band,
                                   "gain": float(probabilities[i] - p)})
        for items in advised:
            items.sort(key=lambda item: -item["gain"])
        return advised

    # --- answers ----------------------------------------------------------------------------
    def _analyse(self, raws: list[dict]) -> dict:
        offers, features = self.features(raws)
        rows = _rows(features)
        markets = self.market_salary(features, offers["created_at"])
        contributions, probabilities = self.contributions(features)
        bands = self.risk(probabilities)
        advice = self.advice(raws, rows, markets, probabilities)
        results, records = [], []
        for i, raw in enumerate(raws):
            labels = _labels(raw)
            results.append({
                "index": i,
                "offer_id": str(offers["offer_id"].iat[i]),
                "title": labels.get("title"),
                "probability": float(probabilities[i]),
                "risk": bands[i],
                "risk_label": explain.RISK_LABELS[bands[i]],
                "factors": explain.factors(self.names, contributions[i, :-1], rows[i], markets[i], labels,
                                           top=self.params.top_reasons),
                "recommendations": advice[i],
            })
            records.append(self.record(offers, features, rows, i, probabilities[i], bands[i]))
        return {"results": results, "records": records, "rows": rows, "markets": markets,
                "contributions": contributions}

    def score(self, raws: list[dict]) -> ScoredBatch:
        analysis = self._analyse(raws)
        return ScoredBatch(results=analysis["results"], records=analysis["records"])

    def record(self, offers, features, rows, i, probability, band) -> ScoreRecord:
        audit = {name: str(features[f"audit_{name}"].iat[i]) for name in AUDIT_FIELDS}
        return ScoreRecord(
            offer_id=str(offers["offer_id"].iat[i]), offer_created_at=offers["created_at"].iat[i].to_pydatetime(),
            model_name=self.champion.model_name, model_version=self.champion.version,
            probability=float(probability), risk=band,
            features={name: explain.json_value(rows[i][name]) for name in self.names}, audit=audit)

    def explain(self, raw: dict) -> tuple[dict, ScoreRecord]:
        """One offer: its score, all contributions, the base rate and the CRPA items."""
        analysis = self._analyse([raw])
        result, record = analysis["results"][0], analysis["records"][0]
        contributions = analysis["contributions"][0]
        base = float(contributions[-1])
        base_rate = float(self.champion.probabilities_from_raw(np.array([base]))[0])
        booster = self.champion.booster
        trees = int(booster.num_trees()) if hasattr(booster, "num_trees") else 0
        result.update({
            "base_value": base,
            "base_rate": base_rate,
            "raw_score": float(contributions.sum()),
            "contributions": explain.factors(self.names, contributions[:-1], analysis["rows"][0],
                                             analysis["markets"][0], _labels(raw)),
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
        features = stored[self.names].copy()
        created = pd.to_datetime(stored["offer_created_at"], utc=True).fillna(pd.Timestamp.now(tz="UTC"))
        markets = self.market_salary(features, created)
        contributions, _ = self.contributions(features)
        rows = _rows(features)
        return [explain.factors(self.names, contributions[i, :-1], rows[i], markets[i],
                                top=self.params.top_reasons) for i in range(len(rows))]


def _rows(features: pd.DataFrame) -> list[dict]:
    columns = list(features.columns)
    return [dict(zip(columns, values, strict=True)) for values in features.itertuples(index=False, name=None)]


def _labels(raw: dict) -> dict:
    """Readable labels the API gives beside codes (job title, occupation name): shown, never stored."""
    labels = {}
    if isinstance(raw, dict):
        if isinstance(raw.get("romeLibelle"), str):
            labels["rome_label"] = raw["romeLibelle"]
        if isinstance(raw.get("intitule"), str):
            labels["title"] = raw["intitule"][:120]
    return labels

