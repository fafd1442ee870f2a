"""The BentoML service advisers' dashboards call: score, explain, feedback, latest scores, model
card, and the dashboard page itself.

    bentoml serve serving.service:HardToFill --host 127.0.0.1 --port 3000   (or `hardtofill serve`)

At start-up it loads the champion (`training.champion.load_champion`); without one, or with
broken artifacts, it stays up but not ready (`/readyz` answers 503, the log says why in one line,
data endpoints answer 503): it never serves a model that was not promoted. Data endpoints need
`Authorization: Bearer KEY` (serving.access). Before BentoML reads a body, serving.guard bounds
its size (413), takes JSON only (415) and checks its top level strictly (400); offers are then
checked one by one here, so that a bad offer in a batch is reported (index, id, every faulty
field, in French) while the others are scored. Log lines carry no input but a well-formed id.
"""

import logging
from pathlib import Path
from typing import Any

import bentoml
import orjson
from bentoml.exceptions import ServiceUnavailable
from fastapi import FastAPI
from fastapi.responses import FileResponse, JSONResponse, Response

from hardtofill.settings import get_settings
from serving import readiness
from serving.access import ApiKeyMiddleware, install_client_error_filter
from serving.collector import settle_after_loading
from serving.docs_page import LocalDocsPage
from serving.guard import RequestGuard
from serving.schemas import ExplainResponse, FeedbackAnswer, FeedbackRequest, LatestResponse, ScoreResponse

log = logging.getLogger("bentoml.hardtofill")
HERE = Path(__file__).parent

# GET routes (dashboard page, model card) live in a FastAPI app mounted on the service; BentoML's
# own routes (its API docs at /, /docs.json, /metrics, /healthz, /readyz) take precedence.
web = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
IN_FLIGHT_PER_WORKER = 8  # requests a worker takes at once (2 running, the rest queued): more get 429
# /score_one's adaptive batching: offers merged at most, and the wait BentoML may add to gather them
# (it answers 503 to a request it predicts would miss it). Measured: docs/serving.md.
BATCHED_OFFERS, BATCH_LATENCY_MS = 64, 500
ASSETS = {"dashboard.js": "text/javascript", "dashboard.css": "text/css"}


@web.get("/dashboard", include_in_schema=False)
def dashboard_page():
    return FileResponse(HERE / "dashboard.html", media_type="text/html; charset=utf-8",
                        headers={"Cache-Control": "no-cache"})


@web.get("/dashboard/{asset}", include_in_schema=False)
def dashboard_asset(asset: str):
    if asset == "codes.json":
        from serving.records import ACTIONS, REASON_CODES

        return {"actions": ACTIONS, "reasons": REASON_CODES}
    if asset not in ASSETS:
        return JSONResponse({"error": f"no asset {asset!r}"}, status_code=404)
    return FileResponse(HERE / asset, media_type=f"{ASSETS[asset]}; charset=utf-8",
                        headers={"Cache-Control": "no-cache"})


def error(status: int, message: str, ctx: bentoml.Context | None = None, **extra) -> JSONResponse:
    if ctx is not None:
        # BentoML copies the context's status onto whatever response an API method returns.
        ctx.response.status_code = status
    return JSONResponse({"error": message, **extra}, status_code=status)


@bentoml.asgi_app(web, path="/")
@bentoml.service(
    name="hardtofill",
    # Chosen by measurement (benchmarks/RESULTS.md, docs/serving.md): one worker by default
    # (HARDTOFILL_WORKERS=2 uses both cores for many clients), two request threads, each request's
    # LightGBM call on one thread (serving.lightgbm_threads); beyond IN_FLIGHT_PER_WORKER requests in
    # flight in a worker, BentoML answers 429 at once instead of queueing for hundreds of ms. BentoML
    # divides max_concurrency between the workers, and a client's keep-alive connection stays on one
    # worker: with 8 for the service, two workers let in 4 each and refused most of 8 clients' requests.
    workers=get_settings().workers,
    threads=2,
    traffic={"timeout": 300, "max_concurrency": IN_FLIGHT_PER_WORKER * get_settings().workers},
)
class HardToFill:
    def __init__(self) -> None:
        from serving.score_writer import ScoreWriter, journal_dir
        from serving.scoring import Scorer, ServingParams
        from serving.store import PredictionStore
        from serving.versions import KnownVersions
        from training.champion import ChampionUnavailable, load_champion

        install_client_error_filter()
        settings = get_settings()
        self.params = ServingParams.load()
        self.store = PredictionStore(settings.store_url)
        # Scores are journaled before the answer and stored by a writer thread (serving.score_writer).
        self.writer = ScoreWriter(self.store, journal_dir(settings.store_url, settings.journal_dir)).start()
        self.versions = KnownVersions(settings.model_name, settings.tracking_uri)
        self.scorer = None
        self.unavailable: str | None = None
        try:
            self.scorer = Scorer(load_champion(), self.params)
        except ChampionUnavailable as reason:
            self.unavailable = str(reason)
        except Exception as reason:  # a corrupt model file must not take the whole service down
            first = str(reason).strip().splitlines()[0] if str(reason).strip() else ""
            self.unavailable = f"champion could not be loaded: {type(reason).__name__}: {first}"
        readiness.record(self.unavailable)  # the guard answers /score_one's 503 itself
        # The champion's long-lived objects out of the collector's sight, young collections rarer.
        settle_after_loading()
        if self.scorer is None:
            log.error("not ready, no model served: %s", self.unavailable)
        else:
            log.info("serving model %s version %s", self.scorer.champion.model_name, self.scorer.champion.version)

    @bentoml.on_shutdown
    def _flush_scores(self) -> None:
        """Store every answered score before the worker exits."""
        self.writer.close()

    def __is_ready__(self) -> bool:
        return self.scorer is not None

    def _unready(self, ctx: bentoml.Context | None = None) -> JSONResponse:
        return error(503, f"aucun modèle servi : {self.unavailable}", ctx)

    @staticmethod
    def _client(ctx: bentoml.Context) -> str:
        return str(getattr(ctx.request.state, "api_client", "unknown"))

    def _refuse_offers(self, path: str, refused: list, ctx: bentoml.Context) -> JSONResponse:
        from serving.validation import refusal

        log.info("400 on %s: offers refused %s", path, "; ".join(r.log_text() for r in refused[:5]))
        message, extra = refusal(refused)
        return error(400, message, ctx, **extra)

    @bentoml.api
    def score(self, offers: list[Any], ctx: bentoml.Context) -> ScoreResponse:
        """Score up to `serving.max_batch` offers (API v2 shape): probability, risk band, reasons,
        advice. Every score is stored with the model version, the features and the audit groups.
        Invalid offers are listed in `refused` (index, id, every faulty field); the others are scored."""
        from serving.guard import PARSED_OFFERS

        if self.scorer is None:
            return self._unready(ctx)
        # Over HTTP the guard has parsed the body and hands the offers over (BentoML then parses
        # an empty list, not the batch a second time).
        offers = getattr(ctx.request.state, PARSED_OFFERS, offers)
        limit = self.params.max_batch
        if len(offers) > limit:  # the guard says so first; kept for callers inside the process
            return error(413, f"trop d'offres : {len(offers)} reçues, {limit} au plus par requête", ctx,
                         limit=limit)
        if not offers:
            return error(400, "'offers' est vide : envoyez au moins une offre", ctx)
        scored = self.scorer.score_request(offers)  # each offer validated once, there
        refused = scored.refused
        if not scored.results:
            return self._refuse_offers("/score", refused, ctx)
        self.writer.submit(scored.records)  # journaled now, stored by the writer thread
        if refused:
            log.info("200 on /score: %d scored, %d refused %s", len(scored.results), len(refused),
                     "; ".join(r.log_text() for r in refused[:5]))
        # Serialised here (orjson) rather than validated again into ScoreResponse: the results are
        # built by the scorer in that shape (tests/serving check the answers against the schema).
        return Response(orjson.dumps({"model": self.scorer.model, "notice": self.scorer.notice,
                                      "results": scored.results, "refused": [r.as_dict() for r in refused]},
                                     option=orjson.OPT_SERIALIZE_NUMPY),
                        media_type="application/json")

    @bentoml.api(batchable=True, max_batch_size=BATCHED_OFFERS, max_latency_ms=BATCH_LATENCY_MS)
    def score_one(self, offers: list[Any]) -> list[dict]:
        """One offer per request, answered as /score answers it (in a list of one), for many
        clients each sending one offer: BentoML's adaptive batching merges the offers of requests
        arriving together into one call here (one model call each for reasons and advice) and
        splits the answers back. The guard has refused an invalid offer already (400)."""
        if self.scorer is None:  # over HTTP the guard has answered 503 already
            raise ServiceUnavailable(f"aucun modèle servi : {self.unavailable}")
        scored = self.scorer.score_request(offers)  # validated again: callers inside the process
        self.writer.submit(scored.records)  # journaled now, stored by the writer thread
        answers = [{"model": self.scorer.model, "notice": self.scorer.notice, "results": [], "refused": []}
                   for _ in offers]
        for result in scored.results:  # each request holds one offer: its index there is 0
            answers[result["index"]]["results"].append({**result, "index": 0})
        for refused in scored.refused:
            answers[refused.index]["refused"].append({**refused.as_dict(), "index": 0})
        return answers

    @bentoml.api
    def explain(self, offer: dict[str, Any], ctx: bentoml.Context) -> ExplainResponse:
        """One offer: every contribution, the base rate, and the four items of an individual
        explanation of a public algorithm (CRPA R311-3-1-2)."""
        from serving.validation import check_offer

        if self.scorer is None:
            return self._unready(ctx)
        problem = check_offer(offer, 0)
        if problem is not None:
            return self._refuse_offers("/explain", [problem], ctx)
        result, _ = self.scorer.explain(offer)
        return ExplainResponse(model=self.scorer.model, notice=self.scorer.notice, **result)

    @bentoml.api
    def feedback(self, request: FeedbackRequest, /, ctx: bentoml.Context) -> FeedbackAnswer:
        """An adviser's action on an offer (a code, with an optional reason code: never free
        text), and/or its outcome (filled, abandoned, cancelled) with the date. The body is the
        request itself; an unknown field (a comment, say) is refused, not stored."""
        from serving.idempotency import HEADER, InvalidIdempotencyKey, parse_idempotency_key
        from serving.records import FeedbackRecord, OutcomeRecord
        from serving.store import IdempotencyKeyReused, request_fingerprint
        from serving.versions import RegistryUnavailable

        try:  # a retry carrying the same key is answered from the store, not stored again
            key = parse_idempotency_key(ctx.request.headers.getlist(HEADER))
        except InvalidIdempotencyKey as problem:
            log.info("400 on /feedback: invalid %s header", HEADER)
            return error(400, str(problem), ctx, fields=[{"field": HEADER, "message": str(problem)}])
        if request.model_version is not None:
            try:
                known = self.versions.exists(request.model_version)
            except RegistryUnavailable as reason:
                log.error("503 on /feedback: %s", reason)
                return error(503, "registre des modèles injoignable : réessayez plus tard", ctx)
            if not known:
                log.info("400 on /feedback: unknown model_version")
                return error(400, "'model_version' : version de modèle inconnue du registre", ctx,
                             fields=[{"field": "model_version", "message": "version de modèle inconnue du registre"}])
        client = self._client(ctx)
        feedback = None if request.action is None else FeedbackRecord(
            offer_id=request.offer_id, action=request.action, reason_code=request.reason_code,
            client=client, risk=request.risk,
            model_version=request.model_version or (self.scorer.champion.version if self.scorer else None))
        outcome = None if request.outcome is None else OutcomeRecord(
            offer_id=request.offer_id, outcome=request.outcome, outcome_date=request.outcome_date)
        try:
            receipt = self.store.record_feedback_request(
                feedback, outcome, client=client, idempotency_key=key,
                fingerprint=request_fingerprint(request.model_dump(mode="json")))
        except IdempotencyKeyReused:
            log.info("422 on /feedback: %s reused for another body", HEADER)
            return error(422, f"en-tête {HEADER} déjà utilisé pour un autre retour : générez une nouvelle clé "
                         "pour chaque retour", ctx,
                         fields=[{"field": HEADER, "message": "clé déjà utilisée pour un autre retour"}])
        if receipt.replayed:
            ctx.response.headers["Idempotent-Replayed"] = "true"
        answer: dict[str, Any] = {"offer_id": request.offer_id, "feedback_id": receipt.feedback_id,
                                  "outcome_recorded": receipt.outcome_recorded}
        if self.scorer is not None:
            answer.update(model=self.scorer.model, notice=self.scorer.notice)
        return FeedbackAnswer(**answer)

    @bentoml.api
    def latest(self, ctx: bentoml.Context, limit: int = 50) -> LatestResponse:
        """The latest scored offers (one row per offer, its latest score), riskiest first, with
        their reasons recomputed from the stored features (advice needs the offer itself)."""
        if self.scorer is None:
            return self._unready(ctx)
        self.writer.flush(timeout=5.0)  # the scores already answered are among the latest
        limit = min(limit, self.params.max_batch)  # 1 to 1000, checked by the guard
        stored = self.store.scores(limit=limit * 5)
        stored = stored.drop_duplicates("offer_id", keep="last").tail(limit)
        version = self.scorer.champion.version
        current = stored[stored["model_version"] == version]
        reasons = dict(zip(current.index, self.scorer.explain_stored(current), strict=True))
        from serving.explain import RISK_LABELS

        results = [{
            "offer_id": row.offer_id, "scored_at": row.scored_at.isoformat(),
            "model_version": row.model_version, "probability": float(row.probability), "risk": row.risk,
            "risk_label": RISK_LABELS.get(row.risk, row.risk), "factors": reasons.get(index, []),
        } for index, row in stored.iterrows()]
        results.sort(key=lambda r: -r["probability"])
        return LatestResponse(model=self.scorer.model, notice=self.scorer.notice, results=results)

    @web.get("/model_card")
    def model_card(self):
        """The champion's model card (open: what the algorithm is, not data about offers)."""
        if self.scorer is None:
            return self._unready()
        champion = self.scorer.champion
        return {"model": self.scorer.model, "notice": self.scorer.notice, "risk_bands": champion.risk_bands,
                "card": champion.card}


HardToFill.add_asgi_middleware(ApiKeyMiddleware)  # 401 before anything is read
HardToFill.add_asgi_middleware(RequestGuard)  # then size, media type and top level
HardToFill.add_asgi_middleware(LocalDocsPage)  # our page at /, not BentoML's (Google Tag Manager)
