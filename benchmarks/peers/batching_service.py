"""BentoML's adaptive batching, measured: the service's scoring (validation, features, reasons,
advice, journaled store) behind two endpoints of one server, `/score` one request at a time and
`/score_batched` with `batchable=True` (concurrent requests' offers merged into one call).

The public `/score` cannot be batchable itself: BentoML splits a batch's answer as a list, and
`/score` answers an object (model, notice, results, refused). Both endpoints here answer the
results list, with the same work, so that the difference is the batching alone.

    bentoml serve benchmarks.peers.batching_service:Batching --host 127.0.0.1 --port PORT
"""

from typing import Any

import bentoml

MAX_BATCH_SIZE = 64  # offers merged at most
MAX_LATENCY_MS = 500  # BentoML refuses (503) a request it predicts would wait longer; it adapts the wait below


@bentoml.service(name="hardtofill_batching", workers=1, threads=2, traffic={"timeout": 300})
class Batching:
    def __init__(self) -> None:
        from hardtofill.settings import get_settings
        from serving.score_writer import ScoreWriter, journal_dir
        from serving.scoring import Scorer, ServingParams
        from serving.store import PredictionStore
        from training.champion import load_champion

        settings = get_settings()
        self.store = PredictionStore(settings.store_url)
        self.writer = ScoreWriter(self.store, journal_dir(settings.store_url, settings.journal_dir)).start()
        self.scorer = Scorer(load_champion(), ServingParams.load())
        from serving.collector import settle_after_loading

        settle_after_loading()  # as the service does

    @bentoml.on_shutdown
    def _flush_scores(self) -> None:
        self.writer.close()

    def _score(self, offers: list[Any]) -> list[dict]:
        scored = self.scorer.score_request(offers)
        self.writer.submit(scored.records)
        return scored.results

    @bentoml.api
    def score(self, offers: list[Any]) -> list[dict]:
        return self._score(offers)

    @bentoml.api(batchable=True, max_batch_size=MAX_BATCH_SIZE, max_latency_ms=MAX_LATENCY_MS)
    def score_batched(self, offers: list[Any]) -> list[dict]:
        return self._score(offers)
